"""Read self-evaluation workbooks (项目支出/部门整体支出绩效自评表) as bureaus fill them.

**Files.** ``.xlsx``/``.xlsm`` through openpyxl (read-only: a table of ~80 cells loads in about
4 ms, and the cell's number format tells a %-formatted rate from a plain number); ``.xls``
through xlrd (the maintained reader of the old binary format; it keeps number formats too).
A folder is read recursively, a ``.zip`` member by member. Before a file is expanded its sizes
are checked (:data:`MAX_FILE_BYTES`, :data:`MAX_UNZIPPED_BYTES`, :data:`MAX_RATIO`), so a zip
bomb is refused unopened; encrypted, corrupt, WPS ``.et`` and Apple ``.numbers`` files, formulas
without saved values and sheets of more than :data:`MAX_ROWS` rows are each one clear line.

**Tables.** Blocks are found by their Chinese labels and the shape around them, never by cell
addresses: a table starts at its title (项目支出绩效自评表 / 部门整体支出绩效自评表), so one
sheet may hold several; the header facts are the cells right of 项目名称, 主管部门, 实施单位; the
funds block is the row holding 全年预算数 and 全年执行数 and the rows below it named 年度资金总额,
当年财政拨款, 基本支出 …, its money unit read from its label (项目资金（万元）/（元）); the
indicator block is the row holding 一级指标, 二级指标 and 三级指标, whatever column it starts
in, with or without 偏差原因分析及改进措施. Levels 1 and 2 are carried down their rows (merged or
not); placeholder rows ("……", "/", blank) are skipped; the 总分 row closes the block. A
department table's 年度主要任务 block is its label as a heading (not a sentence that names it)
and one line per task under 任务名称 · 主要内容 · 预算数 · 执行数 · 完成情况.

Money is converted to yuan exactly to the fen (× 10,000 for 万元, rounded half up to 0.01).
"""

from __future__ import annotations

import io
import math
import os
import re
import sys
import zipfile
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from perfsim import textfiles
from perfsim.errors import InputError
from perfsim.forms import vocabulary as V
from perfsim.forms.htmltables import html_rows
from perfsim.forms.targets import clean, plain
from perfsim.forms.xmltables import Refused, xml_sheets
from perfsim.kernel.scoring import round_half_up

#: Files a folder is searched for (the others are counted, :class:`Other`, not read); .et and
#: .numbers are listed so that each is reported with what to do.
SUFFIXES = (".xlsx", ".xlsm", ".xls", ".zip", ".et", ".ett", ".numbers")
MAX_FILE_BYTES = 50 * 2**20          # one workbook as stored
MAX_UNZIPPED_BYTES = 200 * 2**20     # one workbook or one .zip, expanded
MAX_RATIO = 200                      # expanded ÷ compressed, for any member above 1 MiB
MAX_MEMBERS = 20_000                 # files in one .zip
MAX_ROWS = 2_000                     # non-empty rows of one sheet
MAX_COLUMNS = 256                    # columns of one sheet (an .xls sheet's most)
_GAP_ROWS = 1_000                    # empty rows after which the rest of a sheet is not read

#: Text tables given to the importer: a flat portfolio, which ``perfsim run`` reads.
TEXT_SUFFIXES = (".csv",)
CSV_HINT = ("a CSV file is not a self-evaluation workbook (expected .xlsx or .xls): a flat "
            "portfolio CSV is run with `perfsim run` (a scenario's portfolio: {file: PATH}) "
            "or checked with `perfsim validate PATH`")

EXPECTED = ("expected a self-evaluation table (绩效自评表) in the MoF layout: a sheet with the "
            "headers 一级指标 · 二级指标 · 三级指标 · 年度指标值 · 实际完成值 · 分值 · 得分")


# --------------------------------------------------------------------------------------------
# What a table holds
# --------------------------------------------------------------------------------------------

@dataclass
class LeafRow:
    """One third-level indicator as written: its sheet row (1-based), levels, target and
    actual cells (raw values, ``*_percent`` when the cell is a %-formatted number), points and
    printed score (None when blank; ``*_text`` keeps what was written) and cell addresses."""

    row: int
    level1: str
    level2: str
    level3: str
    target: Any
    actual: Any
    points: float | None
    score: float | None
    reason: str = ""
    target_percent: bool = False
    actual_percent: bool = False
    points_text: str = ""
    score_text: str = ""
    cells: dict[str, str] = field(default_factory=dict)


@dataclass
class TaskRow:
    """One line of a department table's 年度主要任务 block: its sheet row (1-based), the task's
    name (任务名称) and content (主要内容), its 预算数 and 执行数 in yuan (None when blank or
    when the block has no such column) and its 完成情况 as written."""

    row: int
    name: str
    content: str = ""
    budget: float | None = None
    executed: float | None = None
    status: str = ""


@dataclass
class FormTable:
    """One self-evaluation table. Money in yuan; the execution rate a share (0.75 for 75%)."""

    file: str
    sheet: str
    form: str                                  # project | department
    title: str = ""
    project: str = ""
    department: str = ""
    unit: str = ""
    money_unit: str = "万元"
    money_unit_written: bool = True            # False: no unit on the funds block (万元 read)
    funds: dict[str, dict[str, float | None]] = field(default_factory=dict)
    rate: float | None = None                  # the printed execution rate, a share
    rate_text: str = ""
    exec_points: float | None = None
    exec_score: float | None = None
    tasks: list[TaskRow] = field(default_factory=list)
    leaves: list[LeafRow] = field(default_factory=list)
    total_score: float | None = None
    total_points: float | None = None
    cells: dict[str, str] = field(default_factory=dict)

    def money(self, column: str, row: str = "total") -> float | None:
        """A funds cell in yuan: ``column`` budget_initial | budget_full | executed."""
        return self.funds.get(row, {}).get(column)


@dataclass
class Grid:
    """A sheet's cells: values by (row, column), 0-based, and the %-formatted number cells."""

    name: str
    rows: list[list[Any]]
    percent: set[tuple[int, int]] = field(default_factory=set)

    def __post_init__(self) -> None:
        self._texts = [["" if v is None else clean(v) for v in row] for row in self.rows]

    def value(self, r: int, c: int) -> Any:
        row = self.rows[r]
        return row[c] if 0 <= c < len(row) else None

    def text(self, r: int, c: int) -> str:
        """The cell's text, cleaned (:func:`perfsim.forms.targets.clean`); "" when empty."""
        row = self._texts[r]
        return row[c] if 0 <= c < len(row) else ""


def column_letter(c: int) -> str:
    """Excel's column name of the 0-based column ``c`` (0 → A, 26 → AA)."""
    out = ""
    c += 1
    while c:
        c, rem = divmod(c - 1, 26)
        out = chr(65 + rem) + out
    return out


def cell_name(r: int, c: int) -> str:
    """Excel's address of the 0-based cell (r, c): (11, 6) → G12."""
    return f"{column_letter(c)}{r + 1}"


# --------------------------------------------------------------------------------------------
# Files: folders, zips, checks before expanding
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Source:
    """A workbook to read: its name as shown (``folder/a.xlsx``, ``b.zip/c.xlsx``), its bytes
    or its path."""

    name: str
    path: Path | None = None
    data: bytes | None = None

    @property
    def suffix(self) -> str:
        return os.path.splitext(self.name)[1].lower()


@dataclass(frozen=True)
class Other:
    """A file found in a folder or a .zip that is not a workbook (a PDF of a table, a Word
    version, supporting material): not read, counted, so that a table submitted only as a
    PDF does not drop out of the import unsaid."""

    name: str

    @property
    def suffix(self) -> str:
        return os.path.splitext(self.name)[1].lower() or "(none)"


def _unseen(base: str) -> bool:
    """A file no one put there as content: hidden, a lock file of an open workbook, the
    system's thumbnails and folder settings."""
    return base.startswith((".", "~$")) or base.lower() in ("thumbs.db", "desktop.ini")


def sources(paths: Iterable[str | Path]) -> Iterator[Source | InputError | Other]:
    """Every workbook under ``paths`` (files, folders read recursively, .zip files), or the
    error that stops one of them from being listed (a missing path, a zip that is refused);
    the other files found in the folders and archives as :class:`Other`."""
    for p in paths:
        p = Path(p)
        if p.is_dir():
            for f in sorted(p.rglob("*")):
                if not f.is_file() or _unseen(f.name):
                    continue
                if f.suffix.lower() in SUFFIXES:
                    yield from _file_sources(f, str(f))
                else:
                    yield Other(str(f))
        elif p.exists():
            yield from _file_sources(p, str(p))
        else:
            yield InputError(p, problem="file not found (文件不存在)")


def _file_sources(path: Path, name: str) -> Iterator[Source | InputError | Other]:
    if path.suffix.lower() != ".zip":
        yield Source(name, path=path)
        return
    try:
        members = _zip_members(path, name)
    except InputError as err:
        yield err
        return
    yield from members


def _zip_name(info: zipfile.ZipInfo) -> str:
    """A member's name; archives made on Chinese Windows store GBK names without the UTF-8
    flag, which Python reads as cp437."""
    if info.flag_bits & 0x800:
        return info.filename
    try:
        return info.filename.encode("cp437").decode("gbk")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return info.filename


def _check_zip(zf: zipfile.ZipFile, name: str, what: str) -> list[zipfile.ZipInfo]:
    infos = zf.infolist()
    if len(infos) > MAX_MEMBERS:
        raise InputError(name, problem=f"{what} holds {len(infos):,} files, more than "
                                       f"{MAX_MEMBERS:,} (压缩包文件过多): not imported")
    total = sum(i.file_size for i in infos)
    if total > MAX_UNZIPPED_BYTES:
        raise InputError(name, problem=f"{what} expands to {total / 2**20:,.0f} MiB, more than "
                                       f"{MAX_UNZIPPED_BYTES // 2**20} MiB (解压后过大，疑似压缩"
                                       "炸弹): not expanded")
    for i in infos:
        if i.file_size > 2**20 and i.file_size > MAX_RATIO * max(i.compress_size, 1):
            raise InputError(name, problem=f"{what} member {_zip_name(i)!r} expands "
                                           f"{i.file_size / max(i.compress_size, 1):,.0f} "
                                           "times (压缩比异常，疑似压缩炸弹): not expanded")
    return infos


def _zip_members(path: Path, name: str) -> list[Source | Other]:
    try:
        if path.stat().st_size > MAX_UNZIPPED_BYTES:
            raise InputError(name, problem="larger than "
                             f"{MAX_UNZIPPED_BYTES // 2**20} MiB (文件过大): not imported")
        with zipfile.ZipFile(path) as zf:
            infos = _check_zip(zf, name, "the archive")
            out = []
            for info in infos:
                member = _zip_name(info)
                base = member.rsplit("/", 1)[-1]
                if info.is_dir() or _unseen(base) or member.startswith("__MACOSX/"):
                    continue
                if os.path.splitext(base)[1].lower() not in SUFFIXES:
                    out.append(Other(f"{name}/{member}"))
                    continue
                if os.path.splitext(base)[1].lower() == ".zip":
                    out.append(Source(f"{name}/{member}", data=b""))  # reported when read
                    continue
                out.append(Source(f"{name}/{member}", data=zf.read(info)))
            return out
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, RuntimeError,
            EOFError, OSError) as exc:
        if isinstance(exc, RuntimeError) and "encrypted" in str(exc):
            raise InputError(name, problem="the archive is encrypted (压缩包已加密): extract "
                                           "it first") from None
        raise InputError(name, problem=f"not a readable .zip archive (压缩包损坏): "
                                       f"{exc}") from None


_ENCRYPTED = "EncryptedPackage".encode("utf-16-le")
#: A formula cell without a saved value: no <v>, an empty <v/>, or an empty <v></v> on a cell
#: that is not text (on a text cell, t="str", <v></v> is a saved empty text).
_NO_CACHE = re.compile(rb"<c r=\"([A-Z]+[0-9]+)\"(?P<attrs>[^>]*)>(?:<f[^>]*/>|<f[^>]*>[^<]*</f>)"
                       rb"(?P<v><v\s*/>|<v></v>)?</c>")


def read_source(src: Source) -> list[FormTable]:
    """The tables of one workbook; an :class:`InputError` naming the file (in Chinese and
    English) when it cannot be read or holds no self-evaluation table."""
    name, suffix = src.name, src.suffix
    if suffix in (".et", ".ett"):
        raise InputError(name, problem="a WPS .et file cannot be read (WPS 表格格式无法读取): "
                                       "save it as .xlsx in WPS (另存为 .xlsx) and import again")
    if suffix == ".numbers":
        raise InputError(name, problem="an Apple Numbers file cannot be read (Numbers 格式无法"
                                       "读取): export it as .xlsx and import again")
    if suffix == ".zip":
        raise InputError(name, problem="an archive inside an archive is not opened (压缩包内的"
                                       "压缩包不予展开): extract it first")
    try:
        size = len(src.data) if src.data is not None else src.path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise InputError(name, problem=f"{size / 2**20:,.0f} MiB, larger than "
                                           f"{MAX_FILE_BYTES // 2**20} MiB (文件过大): a "
                                           "self-evaluation workbook is far smaller")
        data = src.data if src.data is not None else src.path.read_bytes()
    except OSError as exc:
        raise InputError(name, problem=f"cannot read ({exc.strerror})") from None
    if data.startswith(textfiles.CFB_SIGNATURE):
        if _ENCRYPTED in data:
            raise InputError(name, problem="the workbook is encrypted (文件已加密): remove the "
                                           "password in Excel or WPS and import again")
        grids = _xls_grids(data, name)
    elif data.startswith(textfiles.ZIP_SIGNATURE):
        grids = _xlsx_grids(data, name)
    elif suffix in TEXT_SUFFIXES:
        raise InputError(name, problem=CSV_HINT)
    elif (kind := textfiles.export_kind(data)) == "web":   # a web page named .xls: read
        grids = _html_grids(data, name)
    elif kind == "xml":   # an XML Spreadsheet 2003 named .xls: read
        grids = _xml_grids(data, name)
    elif kind is not None:   # other exports Excel opens: named, with what to do
        raise InputError(name, problem=textfiles.export_problem(kind))
    else:
        raise InputError(name, problem="not an Excel workbook or corrupt (文件损坏或不是 Excel "
                                       "工作簿): expected .xlsx or .xls")
    tables: list[FormTable] = []
    for grid in grids:
        tables.extend(find_tables(grid, name))
    if not tables:
        raise InputError(name, problem=f"not a self-evaluation table (不是绩效自评表): {EXPECTED}")
    return tables


def _xlsx_grids(data: bytes, name: str) -> list[Grid]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            _check_zip(zf, name, "the workbook")
    except zipfile.BadZipFile:
        raise InputError(name, problem="corrupt workbook (文件损坏): not a readable .xlsx"
                         ) from None
    import openpyxl

    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except InputError:
        raise
    except Exception as exc:  # openpyxl raises many kinds on damaged files
        raise InputError(name, problem=f"corrupt workbook (文件损坏): {exc.__class__.__name__}"
                         ) from None
    try:
        grids = []
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            for ws in wb.worksheets:
                if not hasattr(ws, "iter_rows"):  # a chart sheet
                    continue
                _no_formula_without_value(zf, ws, name)
                grids.append(_openpyxl_grid(ws, name))
        return grids
    finally:
        wb.close()


def _no_formula_without_value(zf: zipfile.ZipFile, ws: Any, name: str) -> None:
    """Refuse a sheet with a formula whose value was never saved (a workbook written by a
    program, not saved by Excel or WPS): openpyxl reads such a cell as blank, which would
    pass for a blank 得分 or 执行率. The sheet is named as its tab shows it."""
    path = getattr(ws, "_worksheet_path", None)
    if path is None or path not in zf.NameToInfo:
        return
    m = next((m for m in _NO_CACHE.finditer(zf.read(path))
              if m["v"] != b"<v></v>" or b't="str"' not in m["attrs"]), None)
    if m:
        raise InputError(name, problem=f"sheet {ws.title!r} cell {m.group(1).decode()} "
                         "holds a formula without a saved value (公式没有缓存值): open and "
                         "save the workbook in Excel or WPS, then import again")


def _too_long(name: str, sheet: str) -> InputError:
    return InputError(name, f"sheet {sheet!r}",
                      problem=f"more than {MAX_ROWS:,} filled rows (工作表行数超过 "
                              f"{MAX_ROWS:,}): a self-evaluation table fills one or two pages; "
                              "remove the rows that are not the table")


def _too_wide(row: Sequence[Any], name: str, sheet: str) -> None:
    """Refuse a row with a filled cell past :data:`MAX_COLUMNS`, naming the cell."""
    far = next((cell for cell in row[MAX_COLUMNS:] if getattr(cell, "value", None) is not None),
               None)
    if far is not None:
        raise _past_columns(name, sheet, far.coordinate)


def _past_columns(name: str, sheet: str, cell: str) -> InputError:
    return InputError(name, problem=f"sheet {sheet!r} cell {cell} lies past column "
                      f"{column_letter(MAX_COLUMNS - 1)} (超出 {MAX_COLUMNS} 列): a "
                      "self-evaluation table is narrower; delete what is beyond the table "
                      "and import again")


def _bounded(name: str, sheet: str, rows: list[list[Any]],
             percent: set[tuple[int, int]] | None = None) -> Grid:
    """A sheet read from an export as a :class:`Grid`, within the bounds a workbook's sheet
    is held to: no more than :data:`MAX_ROWS` filled rows, no filled cell past
    :data:`MAX_COLUMNS` (named)."""
    if sum(1 for row in rows if any(v is not None for v in row)) > MAX_ROWS:
        raise _too_long(name, sheet)
    for r, row in enumerate(rows):
        far = next((c for c in range(MAX_COLUMNS, len(row)) if row[c] is not None), None)
        if far is not None:
            raise _past_columns(name, sheet, cell_name(r, far))
    return Grid(sheet, rows, percent or set())


def _html_grids(data: bytes, name: str) -> list[Grid]:
    """A web page a system exported under an Excel name (:mod:`perfsim.forms.htmltables`),
    as the one sheet Excel shows it on, named after the file as Excel names it."""
    sheet = os.path.splitext(os.path.basename(name))[0]
    return [_bounded(name, sheet, html_rows(data, MAX_COLUMNS))]


def _xml_grids(data: bytes, name: str) -> list[Grid]:
    """An XML Spreadsheet 2003 a system exported under an Excel name
    (:mod:`perfsim.forms.xmltables`): its worksheets as Excel shows them."""
    try:
        sheets = xml_sheets(data, MAX_ROWS, MAX_COLUMNS)
    except Refused as why:
        if why.reason == "dtd":
            raise InputError(name, problem="the XML declares a document type (文档类型声明), "
                                           "which perfsim does not read: open it in Excel or "
                                           "WPS, save it as .xlsx (另存为 .xlsx) and import "
                                           "again") from None
        if why.reason == "wide":
            raise _past_columns(name, why.sheet, cell_name(*why.cell)) from None
        if why.reason == "long":
            raise _too_long(name, why.sheet) from None
        raise InputError(name, problem="not well-formed XML (XML 格式错误): open it in Excel or "
                                       "WPS, save it as .xlsx (另存为 .xlsx) and import "
                                       "again") from None
    return [_bounded(name, sheet.name, sheet.rows, sheet.percent) for sheet in sheets]


def _openpyxl_grid(ws: Any, name: str) -> Grid:
    """A worksheet's cells as they are in the file: its used range (the dimension a program
    wrote, which may be short of the cells, or run to column XFD for one stray cell) is not
    trusted — every filled cell is read, no row padded to it."""
    rows: list[list[Any]] = []
    percent: set[tuple[int, int]] = set()
    filled = gap = 0
    ws.reset_dimensions()
    for r, row in enumerate(ws.iter_rows()):
        values = []
        any_value = False
        if len(row) > MAX_COLUMNS:   # empty (styled) cells past it are dropped
            _too_wide(row, name, ws.title)
            row = row[:MAX_COLUMNS]
        for c, cell in enumerate(row):
            v = getattr(cell, "value", None)
            if v is not None:
                any_value = True
                if isinstance(v, int | float) and "%" in (cell.number_format or ""):
                    percent.add((r, c))
            values.append(v)
        rows.append(values)
        if any_value:
            filled += 1
            gap = 0
            if filled > MAX_ROWS:
                raise _too_long(name, ws.title)
        else:
            gap += 1
            if gap > _GAP_ROWS:
                break
    return Grid(ws.title, rows, percent)


def _xls_grids(data: bytes, name: str) -> list[Grid]:
    import xlrd

    try:
        book = xlrd.open_workbook(file_contents=data, formatting_info=True, on_demand=True)
    except Exception as exc:  # xlrd raises XLRDError, struct errors, … on damaged files
        text = str(exc)
        if "encrypt" in text.lower():
            raise InputError(name, problem="the workbook is encrypted (文件已加密): remove the "
                                           "password in Excel or WPS and import again") from None
        raise InputError(name, problem=f"corrupt or not an .xls workbook (文件损坏): {text}"
                         ) from None
    grids = []
    try:
        for k in range(book.nsheets):
            sh = book.sheet_by_index(k)
            if sh.nrows > MAX_ROWS and sum(
                    1 for r in range(sh.nrows) if any(v not in ("", None)
                                                      for v in sh.row_values(r))) > MAX_ROWS:
                raise _too_long(name, sh.name)
            rows, percent = [], set()
            for r in range(sh.nrows):
                values = []
                for c in range(sh.ncols):
                    cell = sh.cell(r, c)
                    v = cell.value
                    if cell.ctype == xlrd.XL_CELL_EMPTY or cell.ctype == xlrd.XL_CELL_BLANK:
                        v = None
                    elif cell.ctype == xlrd.XL_CELL_NUMBER:
                        fmt = book.format_map.get(book.xf_list[cell.xf_index].format_key)
                        if fmt is not None and "%" in fmt.format_str:
                            percent.add((r, c))
                    elif cell.ctype == xlrd.XL_CELL_DATE:
                        v = xlrd.xldate.xldate_as_datetime(v, book.datemode)
                    elif cell.ctype == xlrd.XL_CELL_BOOLEAN:
                        v = bool(v)
                    elif cell.ctype == xlrd.XL_CELL_ERROR:
                        v = None
                    values.append(v)
                rows.append(values)
            grids.append(Grid(sh.name, rows, percent))
            book.unload_sheet(k)
    finally:
        book.release_resources()
    return grids


# --------------------------------------------------------------------------------------------
# Tables on a sheet
# --------------------------------------------------------------------------------------------

def _is(text: str, label: str) -> bool:
    """``text`` is the heading ``label``, perhaps with a unit or note in brackets after it."""
    return text == label or (text.startswith(label) and text[len(label):][:1] in "（(:：")


def _find(grid: Grid, r: int, label: str, exact: bool = True) -> int | None:
    for c in range(len(grid.rows[r])):
        t = grid.text(r, c)
        if (_is(t, label) if exact else label in t):
            return c
    return None


def _is_title(text: str) -> bool:
    """A table's title (2023年度项目支出绩效自评表, 项目支出绩效自评表（2023年度）), not a sentence
    that names the form (本工作簿每个工作表填报一个《项目支出绩效自评表》。)."""
    return len(text) <= 40 and not re.search(r"[《》。，,；;]|^\d+[.、]", text)


def _segments(grid: Grid) -> list[tuple[int, int, str]]:
    """(first row, end row, title) of each table on the sheet: a table starts at its title;
    a sheet without titles is one segment."""
    starts = []
    titles = [t for forms in V.TITLES.values() for t in forms]
    for r in range(len(grid.rows)):
        for c in range(min(len(grid.rows[r]), 30)):
            t = grid.text(r, c)
            if t and any(title in t for title in titles) and _is_title(t):
                starts.append((r, t))
                break
    if not starts:
        return [(0, len(grid.rows), "")]
    ends = [r for r, _ in starts[1:]] + [len(grid.rows)]
    return [(r, end, t) for (r, t), end in zip(starts, ends, strict=True)]


def find_tables(grid: Grid, file: str) -> list[FormTable]:
    """Every self-evaluation table on one sheet (none when the sheet holds no indicator
    block); an :class:`InputError` for a table whose indicator block lacks a column."""
    out = []
    for start, end, title in _segments(grid):
        header = _indicator_header(grid, start, end)
        if header is None:
            if title:
                raise InputError(file, f"sheet {grid.name!r} row {start + 1}",
                                 problem=f"a table titled {title!r} without its indicator block "
                                         f"(缺少绩效指标表头): {EXPECTED}")
            continue
        out.append(_read_table(grid, file, start, end, title, header))
    return out


def _indicator_header(grid: Grid, start: int, end: int) -> int | None:
    for r in range(start, end):
        if all(_find(grid, r, label) is not None for label in V.LEVEL_LABELS):
            return r
    return None


def _number(v: Any) -> tuple[float | None, str]:
    """A number cell or text ("10", "10分", "1,200.50") → (value, text as written);
    (None, text) when blank or not a number."""
    if isinstance(v, bool):
        return None, str(v)
    if isinstance(v, int | float):
        return (float(v), plain(v)) if math.isfinite(v) else (None, str(v))
    text = clean(v)
    if text in V.PLACEHOLDERS:
        return None, text
    m = re.fullmatch(r"([-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?)(?:分|元|万元)?", text)
    if m:
        return float(m.group(1).replace(",", "")), text
    return None, text


def _columns(grid: Grid, r: int, labels: dict[str, str], loose: Sequence[str] = ()
             ) -> dict[str, int]:
    cols: dict[str, int] = {}
    for c in range(len(grid.rows[r])):
        t = grid.text(r, c)
        for label, name in labels.items():
            if name in cols:
                continue
            if _is(t, label) or (label in loose and label[:4] in t):
                cols[name] = c
    return cols


def _read_table(grid: Grid, file: str, start: int, end: int, title: str, header: int
                ) -> FormTable:
    form = "department" if any(t in title for t in V.TITLES["department"]) else "project"
    if not title and any(_tasks_label(grid, r) is not None for r in range(start, header)):
        form = "department"
    table = FormTable(file=file, sheet=grid.name, form=form, title=title)
    _read_facts(grid, table, start, header)
    _read_funds(grid, table, start, header)
    _read_tasks(grid, table, start, header)
    _read_indicators(grid, table, header, end)
    return table


def _read_facts(grid: Grid, table: FormTable, start: int, header: int) -> None:
    seen: set[str] = set()
    for r in range(start, header):
        row = grid.rows[r]
        for c in range(len(row)):
            t = grid.text(r, c)
            if not t:
                continue
            for label, name in V.FACTS.items():
                if name in seen or not t.startswith(label):
                    continue
                rest = t[len(label):].lstrip(":：")
                if rest:
                    value = rest
                else:
                    value = next((grid.text(r, k) for k in range(c + 1, len(row))
                                  if grid.text(r, k)), "")
                if value and not any(value.startswith(lb) for lb in V.FACTS):
                    setattr(table, name, value)
                    seen.add(name)


def _money_unit(grid: Grid, start: int, head: int, first_col: int) -> str | None:
    """The funds block's unit as its labels write it (万元 or 元); None where none does."""
    texts = [grid.text(head, c) for c in range(len(grid.rows[head]))]
    texts += [grid.text(r, c) for r in range(start, head) for c in range(len(grid.rows[r]))]
    for t in texts:
        if V.FUNDS_LABEL in t or "单位" in t or "预算数" in t or "执行数" in t:
            if "万元" in t:
                return "万元"
            if re.search(r"[（(:：]元[）)]?|单位[:：]?元", t):
                return "元"
    return None


def _rate(v: Any, percent: bool, budget: float | None, executed: float | None
          ) -> float | None:
    """The printed execution rate as a share: a %-formatted number as it is, text "75.00%"
    ÷ 100, a plain number as a share or a percentage, whichever is nearer the rate the funds
    give (executed ÷ budget), else a percentage above 1.5."""
    if isinstance(v, int | float) and not isinstance(v, bool):
        x = float(v)
        if percent:
            return x
        if budget and executed is not None:
            real = executed / budget
            return x if abs(x - real) <= abs(x / 100 - real) else x / 100
        return x / 100 if x > 1.5 else x
    text = clean(v)
    m = re.fullmatch(r"(\d+(?:\.\d+)?)[%％]", text)
    if m:
        return float(m.group(1)) / 100
    number, _ = _number(v)
    return None if number is None else _rate(number, False, budget, executed)


def _read_funds(grid: Grid, table: FormTable, start: int, header: int) -> None:
    head = next((r for r in range(start, header)
                 if _find(grid, r, "全年预算数") is not None
                 and _find(grid, r, "全年执行数") is not None), None)
    if head is None:
        return
    cols = _columns(grid, head, V.FUNDS_COLUMNS)
    first = min(cols.values())
    unit = _money_unit(grid, start, head, first)
    table.money_unit = unit or "万元"     # the MoF layout's unit, listed as assumed
    table.money_unit_written = unit is not None
    table.cells["funds"] = cell_name(head, cols.get("budget_full", first))
    factor = 1e4 if table.money_unit == "万元" else 1.0
    names = sorted(V.FUNDS_ROWS.items(), key=lambda kv: -len(kv[0]))
    for r in range(head + 1, header):
        label = " ".join(grid.text(r, c) for c in range(first))
        if any(stop in label for stop in (V.TASKS_LABEL, V.GOAL_LABEL, V.BLOCK_LABEL)):
            break
        key = next((name for word, name in names if word in label), None)
        if key is None:
            if table.funds or not any(grid.text(r, c) for c in cols.values()):
                continue
            key = "total"  # the first line of figures, unnamed
        if key in table.funds:
            continue
        line: dict[str, float | None] = {}
        for col in ("budget_initial", "budget_full", "executed"):
            if col in cols:
                v, _ = _number(grid.value(r, cols[col]))
                line[col] = None if v is None else float(round_half_up(v * factor, 2))
        table.funds[key] = line
        if key == "total":
            if "points" in cols:
                table.exec_points, _ = _number(grid.value(r, cols["points"]))
                table.cells["exec_points"] = cell_name(r, cols["points"])
            if "score" in cols:
                table.exec_score, _ = _number(grid.value(r, cols["score"]))
                table.cells["exec_score"] = cell_name(r, cols["score"])
            if "rate" in cols:
                c = cols["rate"]
                table.rate_text = grid.text(r, c)
                table.rate = _rate(grid.value(r, c), (r, c) in grid.percent,
                                   line.get("budget_full"), line.get("executed"))
                table.cells["rate"] = cell_name(r, c)


def _task_columns(grid: Grid, r: int, after: int) -> dict[str, int]:
    """The 年度主要任务 block's columns on its heading row (right of the block's label)."""
    cols: dict[str, int] = {}
    for c in range(after + 1, len(grid.rows[r])):
        t = grid.text(r, c)
        for word, name in V.TASK_HEADINGS.items():
            if name not in cols and word in t:
                cols[name] = c
    return cols if "name" in cols else {}


def _task_unit(grid: Grid, r: int, cols: dict[str, int], table: FormTable) -> str:
    """The money unit of the block's amounts: written in their heading (预算数（万元）), else
    the funds block's."""
    for name in ("budget", "executed"):
        if name in cols:
            t = grid.text(r, cols[name])
            if "万元" in t:
                return "万元"
            if re.search(r"[（(:：]元[）)]?", t):
                return "元"
    return table.money_unit


def _written(v: Any) -> str:
    """A text cell as written (runs of spaces and line breaks as one space, ends trimmed);
    a number as :func:`~perfsim.forms.targets.plain` writes it."""
    if v is None:
        return ""
    if isinstance(v, int | float) and not isinstance(v, bool):
        return plain(v)
    return re.sub(r"\s+", " ", str(v)).strip()


def _tasks_label(grid: Grid, r: int) -> int | None:
    """The column of the 年度主要任务 block's label on row ``r`` (a heading such as 年度主要任务
    or 年度主要任务完成情况, not a sentence that mentions the tasks), or None."""
    for c in range(len(grid.rows[r])):
        t = grid.text(r, c)
        if t.startswith(V.TASKS_LABEL) and len(t) <= 16 and not re.search(r"[，,。；;]", t):
            return c
    return None


def _task_line(grid: Grid, r: int, cols: dict[str, int], factor: float) -> TaskRow | None:
    """Row ``r`` of a 年度主要任务 block with headings, amounts × ``factor`` to yuan rounded
    half up to the fen; None for a placeholder row."""
    texts = {k: _written(grid.value(r, cols[k])) if k in cols else ""
             for k in ("name", "content", "status")}
    texts = {k: "" if t in V.PLACEHOLDERS else t for k, t in texts.items()}
    money: dict[str, float | None] = {}
    for k in ("budget", "executed"):
        v = _number(grid.value(r, cols[k]))[0] if k in cols else None
        money[k] = None if v is None else float(round_half_up(v * factor, 2))
    if not (texts["name"] or texts["content"]) and all(v is None for v in money.values()):
        return None
    return TaskRow(r + 1, texts["name"], texts["content"], money["budget"], money["executed"],
                   texts["status"])


def _read_tasks(grid: Grid, table: FormTable, start: int, header: int) -> None:
    """The 年度主要任务 block: a heading row (任务名称 · 主要内容 · 预算数 · 执行数 · 完成情况,
    on the label's row or the next) and one line per task until 年度总体目标 or the indicator
    block; without headings, a line's first text is the task and the rest its content."""
    at = next((r for r in range(start, header) if _tasks_label(grid, r) is not None), None)
    if at is None:
        return
    label_col = _tasks_label(grid, at)
    first, cols = at + 1, _task_columns(grid, at, label_col)
    if not cols and at + 1 < header:
        cols = _task_columns(grid, at + 1, label_col)
        first = at + 2 if cols else at + 1
    head = first - 1
    factor = 1e4 if _task_unit(grid, head, cols, table) == "万元" else 1.0
    if not cols and any(grid.text(at, c) and grid.text(at, c) not in V.PLACEHOLDERS
                        for c in range(label_col + 1, len(grid.rows[at]))):
        first = at  # no headings: the label's own row holds the first task
    for r in range(first, header):
        if _find(grid, r, V.GOAL_LABEL, exact=False) is not None:
            break
        if cols:
            line = _task_line(grid, r, cols, factor)
            if line is not None:
                table.tasks.append(line)
            continue
        texts = [_written(grid.value(r, c)) for c in range(label_col + 1, len(grid.rows[r]))]
        texts = [t for t in texts if t and t not in V.PLACEHOLDERS]
        if texts:
            table.tasks.append(TaskRow(r + 1, texts[0], "：".join(texts[1:])))


def _indicator_columns(grid: Grid, r: int) -> dict[str, int]:
    """The indicator block's headings on row ``r``: exact, or loosely (指标值, 实际完成)."""
    cols = _columns(grid, r, V.INDICATOR_COLUMNS, loose=("偏差原因分析及改进措施",))
    for name, word in V.LOOSE_COLUMNS.items():
        c = _find(grid, r, word, exact=False)
        if name not in cols and c is not None:
            cols[name] = c
    return cols


def _without_points(label: str) -> str:
    """A 一级 or 二级指标 without the points written after it (产出指标（50分） → 产出指标)."""
    return re.sub(V.POINTS_NOTE, "", label) or label


def _read_indicators(grid: Grid, table: FormTable, header: int, end: int) -> None:
    cols = _indicator_columns(grid, header)
    if header > 0:   # a heading of two rows: 绩效指标 above 一级 · 二级 · 三级指标, the other
        # headings merged down over both (their text in the upper row)
        for name, c in _indicator_columns(grid, header - 1).items():
            if name not in cols and c not in cols.values():
                cols[name] = c
    missing = [label for label, name in V.INDICATOR_COLUMNS.items()
               if name not in cols and name != "reason"]
    if missing:
        raise InputError(table.file, f"sheet {grid.name!r} row {header + 1}",
                         problem=f"the indicator block has no column {' · '.join(missing)} "
                                 f"(缺少列): {EXPECTED}")
    level1 = level2 = ""
    for r in range(header + 1, end):
        if r >= len(grid.rows):
            break
        left = [grid.text(r, c) for c in range(0, cols["level3"] + 1)]
        if any(t in V.TOTAL_WORDS for t in left):
            table.total_points, _ = _number(grid.value(r, cols["points"]))
            table.total_score, _ = _number(grid.value(r, cols["score"]))
            table.cells["total_points"] = cell_name(r, cols["points"])
            table.cells["total"] = cell_name(r, cols["score"])
            break
        first = next((t for t in left if t), "")
        if first.startswith(V.NOTE_STARTS):
            break
        t1, t2 = (_without_points(grid.text(r, cols[k])) for k in ("level1", "level2"))
        if t1 not in V.PLACEHOLDERS:
            level1 = t1
            level2 = ""
        if t2 not in V.PLACEHOLDERS:
            level2 = t2
        name = grid.text(r, cols["level3"])
        values = {k: grid.value(r, cols[k]) for k in ("target", "actual", "points", "score")}
        points, points_text = _number(values["points"])
        score, score_text = _number(values["score"])
        bare = re.sub(V.TEMPLATE_NUMBER, "", name)
        if bare != name:   # 指标1：新增灌溉面积 → 新增灌溉面积; 指标2： alone → the empty slot
            filled = points_text or score_text or any(
                clean(values[k]) not in V.PLACEHOLDERS for k in ("target", "actual"))
            name = bare or (name if filled else "")
        if name in V.PLACEHOLDERS and points is None and score is None and clean(
                values["target"]) in V.PLACEHOLDERS:
            continue  # a placeholder row
        if name in V.PLACEHOLDERS and not points_text and not score_text:
            continue
        table.leaves.append(LeafRow(
            row=r + 1, level1=level1, level2=level2, level3=name,
            target=values["target"], actual=values["actual"], points=points, score=score,
            reason=grid.text(r, cols["reason"]) if "reason" in cols else "",
            target_percent=(r, cols["target"]) in grid.percent,
            actual_percent=(r, cols["actual"]) in grid.percent,
            points_text=points_text, score_text=score_text,
            cells={k: cell_name(r, cols[k]) for k in ("level3", "target", "actual", "points",
                                                      "score")}))


# --------------------------------------------------------------------------------------------
# Many files
# --------------------------------------------------------------------------------------------

@dataclass
class Imported:
    """What a set of paths held: the tables read, and the files that could not be (file,
    the one-line reason)."""

    tables: list[FormTable] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    files: int = 0
    #: the errors behind ``failed``, in its order
    errors: list[InputError] = field(default_factory=list)
    #: the other files found in the folders and archives, not read (:class:`Other`)
    others: list[Other] = field(default_factory=list)

    def others_line(self) -> str:
        """:func:`others_line` of :attr:`others`."""
        return others_line(self.others)


def others_line(others: Sequence[Other]) -> str:
    """The other files found, in one bilingual phrase, by suffix (most first); "" when none."""
    if not others:
        return ""
    counts = Counter(o.suffix for o in others)
    kinds = ", ".join(f"{k} {n}" for k, n in counts.most_common())
    return (f"另有 {len(others)} 个非工作簿文件未读取 {len(others)} other files not read "
            f"({kinds}): perfsim reads the tables' workbooks (.xlsx, .xls, .zip); a table kept "
            "only as a PDF or Word file needs its workbook")


def read_paths(paths: Sequence[str | Path], *, strict: bool = False,
               progress: bool | None = None) -> Imported:
    """Read every workbook under ``paths``. A file that cannot be read is listed in
    ``failed`` and the rest are read; with ``strict`` the first such file raises its
    :class:`InputError`. ``progress`` shows a bar over the files (default: on a terminal,
    when a folder or archive is read)."""
    found: list[Source | InputError] = []
    out = Imported()
    for item in sources(paths):
        (out.others if isinstance(item, Other) else found).append(item)
    if progress is None:
        progress = (sys.stderr.isatty() and not os.environ.get("CI")
                    and (len(found) > 1 or any(Path(p).is_dir() for p in paths)))
    items: Iterable[Source | InputError] = found
    if progress:
        from tqdm.auto import tqdm

        items = tqdm(found, desc="perfsim import", unit="file")
    for item in items:
        try:
            if isinstance(item, InputError):
                raise item
            out.files += 1
            out.tables.extend(read_source(item))
        except InputError as err:
            if strict:
                raise
            out.failed.append((err.source or "", str(err)))
            out.errors.append(err)
    if not out.tables and not out.failed:
        err = InputError(", ".join(str(p) for p in paths),
                         problem="no workbook found (未找到工作簿): expected .xlsx or .xls "
                                 "files, a folder of them or a .zip")
        raise err.noting(f"({out.others_line()})") if out.others else err
    return out
