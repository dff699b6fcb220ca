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
