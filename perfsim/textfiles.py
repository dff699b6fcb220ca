"""Text files from people's spreadsheets: UTF-8 or the GB18030/GBK that Chinese Excel writes.

Excel and WPS on a Chinese Windows save "CSV (逗号分隔)" in the system code page, GBK (which
GB18030 contains); "CSV UTF-8" carries a byte-order mark. Every CSV perfsim reads from a user
(portfolios, department flags, observed scores, AHP matrices, data for estimation) goes through
:func:`read_text`: UTF-8 (with or without the mark) first, then GB18030; anything else is
refused with the advice to save it as CSV UTF-8. The encoding read is returned so that the
output can say it.
"""

from __future__ import annotations

import csv
import io
from os import PathLike
from pathlib import Path
from typing import Any

import pandas as pd

from perfsim.errors import InputError

UTF8 = "UTF-8"
GB18030 = "GB18030"
#: (Python codec, the name said to people), in the order tried
ENCODINGS = (("utf-8-sig", UTF8), ("gb18030", GB18030))


def decode(data: bytes, source: str | PathLike[str]) -> tuple[str, str]:
    """``data`` as text and the name of the encoding that read it (:data:`ENCODINGS`, in
    order); bytes that are neither UTF-8 nor GB18030 raise :class:`InputError` naming
    ``source``."""
    for codec, name in ENCODINGS:
        try:
            return data.decode(codec), name
        except UnicodeDecodeError:
            continue
    raise InputError(source, problem="not UTF-8 or GB18030 text: in Excel, save it as "
                                     "'CSV UTF-8 (逗号分隔)'")


def read_text(path: str | PathLike[str]) -> tuple[str, str]:
    """The text of the file at ``path`` and the name of its encoding (:func:`decode`)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(path, problem="file not found") from None
    except OSError as exc:
        raise InputError(path, problem=f"cannot read ({exc.strerror})") from None
    return decode(data, path)


def read_csv(path: str | PathLike[str], **options: Any) -> tuple[pd.DataFrame, str]:
    """A CSV file as :func:`pandas.read_csv` reads it with ``options``, decoded by
    :func:`read_text`; and the name of the encoding read."""
    text, encoding = read_text(path)
    return pd.read_csv(io.StringIO(text), **options), encoding


def read_csv_rows(path: str | PathLike[str], **options: Any
                  ) -> tuple[pd.DataFrame, str, list[int]]:
    """:func:`read_csv`, the file decoded once, with each data row's row number as a
    spreadsheet shows the CSV (:func:`sheet_rows`)."""
    text, encoding = read_text(path)
    df = pd.read_csv(io.StringIO(text), **options)
    return df, encoding, sheet_rows(text, len(df))


def sheet_rows(text: str, n: int) -> list[int]:
    """Each data row's row number as a spreadsheet shows the CSV ``text`` (one row per
    record; the first non-empty record is the header), for the ``n`` rows
    :func:`pandas.read_csv` read: empty lines, which pandas skips, keep their number. By
    position (2, 3, …: the header row 1) when the records do not match those ``n`` rows."""
    try:
        numbers = [k for k, record in enumerate(csv.reader(io.StringIO(text)), start=1)
                   if record]
    except csv.Error:
        numbers = []
    return numbers[1:] if len(numbers) == n + 1 else list(range(2, n + 2))


def encoding_note(encoding: str) -> str:
    """What a command says about a file read as ``encoding`` (empty for UTF-8)."""
    if encoding == UTF8:
        return ""
    return (f"按 {encoding} (GBK) 编码读取 read as {encoding} (GBK), the encoding Chinese "
            "Excel saves CSV in")


#: The first bytes of a workbook: an .xlsx (a zip archive) and an .xls (a compound file).
ZIP_SIGNATURE = b"PK\x03\x04"
CFB_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

#: What finance systems export under an .xls name that is no workbook (Excel and WPS open
#: them, perfsim does not): the start of the file (after a BOM and blanks, lower case) → kind.
_EXPORTS = ((b"<!doctype html", "web"), (b"<html", "web"), (b"<table", "web"),
            (b"mime-version", "mht"))


def export_kind(data: bytes) -> str | None:
    """What a file named as a workbook holds when it is none and Excel and WPS open it:
    ``web`` a web page, ``xml`` an XML Spreadsheet 2003, ``mht`` a single-file web page,
    ``text`` a CSV or other text (UTF-8 or GBK); None otherwise (a workbook, or bytes that
    are nothing readable)."""
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    for start, kind in _EXPORTS:
        if head.startswith(start):
            return kind
    if head.startswith(b"<"):   # XML: a spreadsheet by its namespace, else nothing readable
        return "xml" if b"office:spreadsheet" in data[:4096].lower() else None
    if head and b"\0" not in head:
        for encoding in ("utf-8", "gbk"):
            try:
                data[:4096].decode(encoding)
            except UnicodeDecodeError as err:
                if err.start < 4090:   # not a character cut at the end of the sample
                    continue
            return "text"
    return None


def export_problem(kind: str) -> str:
    """The one-line problem of an export of ``kind`` (:func:`export_kind`) named as a
    workbook: what it is and what to do (save it as .xlsx in Excel or WPS)."""
    what = {"web": "a web page", "xml": "an XML Spreadsheet 2003 file",
            "mht": "a single-file web page (.mht)", "text": "a text file"}[kind]
    zh = {"web": "网页文件", "xml": "XML 电子表格", "mht": "单个网页文件", "text": "文本文件"}[kind]
    return (f"{what} with an Excel name, not a workbook ({zh}): open it in Excel or WPS, save "
            "it as .xlsx (另存为 .xlsx) and import again")


def refuse_export(path: str | PathLike[str]) -> None:
    """Refuse, in one line, a file named as an .xlsx workbook that is an export Excel opens
    and perfsim does not (:func:`export_kind`); a workbook (or unreadable bytes, left to the
    workbook reader to name) passes."""
    try:
        with open(path, "rb") as f:
            head = f.read(4096)
    except OSError:
        return
    if head.startswith((ZIP_SIGNATURE, CFB_SIGNATURE)):
        return
    kind = export_kind(head)
    if kind is not None:
        raise InputError(path, problem=export_problem(kind))
