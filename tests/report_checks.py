"""Checks of rendered reports: every table cell in the unit its column declares.

A test helper (not package code). The tables are read from HTML as a reader sees them — the
outputs of an executed notebook, which the HTML report embeds as they are — and each column's
unit is taken from its heading, the way perfsim's formatter writes it
(:mod:`perfsim.numbers`): money headings end in ``(元)``, ``(万元)`` or ``(亿元)`` (one unit per
table), money per point in ``(元/分)``; a share, count or rank column is named like one
(``share_excellent``, ``count_poor``, ``rank``) or declared so in perfsim's registries (a
metric's unit, a YAML path's unit) or in the notebook's own ``nb.show(..., shares=[...],
units={...})`` call; in a long table (a ``metric`` column) the value columns (``mean``,
``p05``, ...) take the unit of their row's metric, named in the metric cell
(``savings (万元)``).

:func:`table_problems` lists what is wrong with one table; :func:`notebook_problems` with
every table an executed notebook shows; :func:`page_problems` with the text of a page.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import nbformat

from perfsim import numbers
from perfsim.notebooks.helpers import declared_units

#: the money units a heading may name, and money per something
MONEY_UNITS = ("元", "万元", "亿元")
RATE_UNITS = ("元/分", "元/元")
HEADING_UNIT = re.compile(r"\((元|万元|亿元|元/分|元/元)\)\s*$")
#: the columns of a long table (one row per metric, named in its ``metric`` column) that hold
#: the row's metric's values, so its unit: a Monte Carlo's mean and interval, the one-year
#: value, a target, what was achieved and the gap between them, Morris's effects
VALUE_COLUMNS = frozenset({
    "one_year", "no_noise", "monte_carlo", "mean", "median", "p05", "p95", "5%", "95%", "sd",
    "std", "min", "max", "target", "achieved", "gap", "mu", "mu_star", "mu_star_conf", "sigma",
})
#: a number grouped by thousands (1,234,567), with an optional sign
_GROUPED = r"-?\d{1,3}(?:,\d{3})*"
PATTERNS = {
    "money": re.compile(rf"{_GROUPED}\.\d\d"),       # 1,234.50: two decimals, separators
    "rate": re.compile(rf"{_GROUPED}\.\d\d"),
    "share": re.compile(rf"{_GROUPED}(?:\.\d+)?%"),  # 15.0%
    "count": re.compile(_GROUPED),                  # 3,468
    "p": re.compile(r"<0\.0001|[01]\.\d{4}"),
}
#: what a missing or infinite value shows
SPECIAL = {"—", "∞", "-∞"}
#: cells no formatted table ever shows: a raw missing value or an object's repr
RAW = {"nan", "NaN", "None", "<NA>", "NaT", "inf", "-inf"}
#: text no report shows: an object's repr, papermill's parameters cell
REPRS = ("PosixPath(", "WindowsPath(", "<Figure", "<Axes", "<matplotlib", "# Parameters",
         " object at 0x", "Text(0.5", "dtype: ")
#: a number in scientific notation
SCIENTIFIC = re.compile(r"\b\d+(?:\.\d+)?[eE][+-]\d+\b")
#: any number-like text (to tell a number column shown as text from a text column)
NUMBERISH = re.compile(r"^-?[\d,]*\.?\d+(?:[eE][+-]?\d+)?%?$")


# --- reading tables from HTML -------------------------------------------------------------------

@dataclass
class Table:
    """A table as shown: its header rows and body rows (colspans and rowspans spread out),
    and how many leading body cells are the index (``<th>`` in the body)."""
    header: list[list[str]] = field(default_factory=list)
    body: list[list[str]] = field(default_factory=list)
    index_levels: int = 0
    css: str = ""

    def headings(self) -> list[list[str]]:
        """Each column's heading texts, top to bottom (an index column: the index name)."""
        width = max([len(r) for r in self.header + self.body] or [0])
        out = []
        for j in range(width):
            texts = [r[j] if j < len(r) else "" for r in self.header]
            if j < self.index_levels and len(self.header) > 1:
                texts = texts[-1:]  # the index names' row (the first holds the columns' name)
            out.append(texts)
        return out


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[Table] = []
        self._rows: list[tuple[str, list[tuple[str, str, int, int]]]] = []
        self._section = "tbody"
        self._cell: list[str] | None = None
        self._cell_tag = ""
        self._span = (1, 1)
        self._depth = 0
        self._css = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "table":
            self._depth += 1
            if self._depth == 1:
                self._rows, self._section, self._css = [], "tbody", a.get("class") or ""
        elif self._depth != 1:
            return
        elif tag in ("thead", "tbody"):
            self._section = tag
        elif tag == "tr":
            self._rows.append((self._section, []))
        elif tag in ("th", "td"):
            self._cell, self._cell_tag = [], tag
            self._span = (int(a.get("colspan") or 1), int(a.get("rowspan") or 1))
        elif tag == "br" and self._cell is not None:
            self._cell.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            if self._depth == 1:
                self.tables.append(_grid(self._rows, self._css))
            self._depth -= 1
        elif self._depth == 1 and tag in ("th", "td") and self._cell is not None:
            if not self._rows:
                self._rows.append((self._section, []))
            text = " ".join("".join(self._cell).split())
            self._rows[-1][1].append((self._cell_tag, text, *self._span))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def _grid(rows: list[tuple[str, list[tuple[str, str, int, int]]]], css: str) -> Table:
    """Spread colspans and rowspans (pandas sparsifies a MultiIndex) into a full grid."""
    table = Table(css=css)
    pending: dict[tuple[int, int], tuple[str, str]] = {}  # (row, col) → a rowspan's cell
    grids: list[tuple[str, list[tuple[str, str]]]] = []
    for i, (section, cells) in enumerate(rows):
        line: list[tuple[str, str]] = []
        queue = list(cells)
        j = 0
        while queue or (i, j) in pending:
            if (i, j) in pending:
                line.append(pending.pop((i, j)))
                j += 1
                continue
            tag, text, colspan, rowspan = queue.pop(0)
            for k in range(colspan):
                line.append((tag, text))
                for r in range(1, rowspan):
                    pending[(i + r, j + k)] = (tag, text)
            j += colspan
        grids.append((section, line))
    table.header = [[t for _, t in line] for s, line in grids if s == "thead"]
    body = [line for s, line in grids if s != "thead"]
    table.body = [[t for _, t in line] for line in body]
    if body:
        table.index_levels = next((k for k, (tag, _) in enumerate(body[0]) if tag != "th"),
                                  len(body[0]))
    return table


def read_tables(html: str) -> list[Table]:
    """Every (outermost) table of an HTML text."""
    parser = _Parser()
    parser.feed(html)
    parser.close()
    return parser.tables


# --- what each column declares ----------------------------------------------------------------

def show_declarations(source: str) -> dict[str, str | None]:
    """Column → kind from the ``shares=``, ``counts=``, ``money=`` and ``units=`` arguments of
    the ``show`` calls in a cell's source (literal names only)."""
    kinds: dict[str, str | None] = {}
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return kinds
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and getattr(node.func, "attr",
                                                       getattr(node.func, "id", "")) == "show"):
            continue
        for kw in node.keywords:
            if kw.arg in ("shares", "counts", "money") and isinstance(kw.value, ast.List
                                                                      | ast.Tuple):
                kind = {"shares": "share", "counts": "count", "money": "money"}[kw.arg]
                for elt in kw.value.elts:
                    if isinstance(elt, ast.Constant) and isinstance(elt.value, str):
                        kinds[elt.value] = kind
            elif kw.arg == "units" and isinstance(kw.value, ast.Dict):
                for k, v in zip(kw.value.keys, kw.value.values, strict=True):
                    if isinstance(k, ast.Constant) and isinstance(v, ast.Constant):
                        kinds[str(k.value)] = numbers.unit_kind(v.value)
    return kinds


def english_name(heading: str) -> str:
    """The column's name in perfsim's tables, from a heading written Chinese first:
    ``本年预算 budget (万元)`` → ``budget``, ``优 项目数 count_excellent`` → ``count_excellent``."""
    text = HEADING_UNIT.sub("", heading).strip()
    return text.split()[-1] if text.split() else ""


def name_kind(name: str, declared: Mapping[str, str | None]) -> str | None:
    """A column's kind from its name: the notebook's own declaration, then the registries'
    unit (a metric, a YAML path), then the naming convention of perfsim's tables."""
    if name in declared:
        return declared[name]
    registry = declared_units([name])
    if name in registry:
        return numbers.unit_kind(registry[name])
    return numbers.column_kind(name)


def heading_kind(texts: Iterable[str], declared: Mapping[str, str | None]
                 ) -> tuple[str | None, str | None, str]:
    """(kind, money unit, name) of a column from its heading texts, innermost level first: a
    unit in the heading decides; otherwise the name of the innermost level that has one."""
    texts = [t for t in texts if t]
    for text in reversed(texts):
        m = HEADING_UNIT.search(text)
        if m:
            unit = m.group(1)
            return ("money" if unit in MONEY_UNITS else "rate"), unit, english_name(text)
    for text in reversed(texts):
        name = english_name(text)
        kind = name_kind(name, declared)
        if kind is not None:
            return kind, None, name
    return None, None, english_name(texts[-1]) if texts else ""


# --- the checks ---------------------------------------------------------------------------------

def cell_problem(text: str, kind: str | None) -> str | None:
    """Why a cell is not shown in its column's kind, or None."""
    if text in RAW:
        return "a raw value, not formatted"
    if any(r in text for r in REPRS):
        return "an object's repr"
    if SCIENTIFIC.search(text):
        return "scientific notation"
    if kind is None or text in SPECIAL:
        return None
    if kind in PATTERNS and not PATTERNS[kind].fullmatch(text):
        return f"not a {kind}"
    return None


def table_problems(table: Table, declared: Mapping[str, str | None] | None = None,
                   where: str = "") -> list[str]:
    """What is wrong with one shown table: a cell not in its column's unit (or, in a long
    table's value columns, its row's metric's unit), money in more than one unit, 百万元."""
    declared = dict(declared or {})
    problems: list[str] = []
    headings = table.headings()
    columns = [heading_kind(texts, declared) for texts in headings]
    names = [name for _, _, name in columns]
    metric_at = names.index("metric") if "metric" in names else None
    money_units: set[str] = set()
    for texts in headings:
        if any("百万元" in t for t in texts):
            problems.append(f"{where}: heading {texts} in 百万元")
    rows_by_column: dict[int, list[str]] = {}
    for row in table.body:
        for j, text in enumerate(row):
            rows_by_column.setdefault(j, []).append(text)
    for j, (kind, unit, name) in enumerate(columns):
        cells = rows_by_column.get(j, [])
        by_row = metric_at is not None and j != metric_at and (
            name in VALUE_COLUMNS)
        if not by_row and kind is not None and kind in PATTERNS and cells and not any(
                NUMBERISH.match(c) for c in cells if c not in SPECIAL):
            kind = None  # a column of text that happens to carry a number's name
        if kind == "money" and not by_row:
            if unit is None:
                problems.append(f"{where}: money column {' / '.join(headings[j])!r} names "
                                "no unit in its heading")
            else:
                money_units.add(unit)
        for i, text in enumerate(cells):
            cell_kind = kind
            if by_row:
                assert metric_at is not None
                metric = table.body[i][metric_at]
                m = HEADING_UNIT.search(metric)
                if m:
                    cell_kind = "money" if m.group(1) in MONEY_UNITS else "rate"
                    if cell_kind == "money":
                        money_units.add(m.group(1))
                else:
                    cell_kind = name_kind(english_name(metric), declared)
                    if cell_kind == "money":  # money with no unit named on its row
                        problems.append(f"{where}: row {i + 1} metric {metric!r} is money "
                                        "with no unit named")
            why = cell_problem(text, cell_kind)
            if why:
                problems.append(f"{where}: row {i + 1} column {' / '.join(headings[j])!r} "
                                f"value {text!r}: {why}")
    if len(money_units) > 1:
        problems.append(f"{where}: money in more than one unit {sorted(money_units)}")
    return problems


@dataclass
class Shown:
    """The tables an executed notebook shows, with where each is and its cell's
    declarations."""
    where: str
    html: str
    declared: dict[str, str | None]
    tags: list[str]


def shown_tables(executed: Path) -> list[Shown]:
    """Every HTML output of an executed notebook that holds a table."""
    nb = nbformat.read(executed, as_version=4)
    out = []
    for n, cell in enumerate(nb.cells, start=1):
        if cell.cell_type != "code":
            continue
        declared = show_declarations(cell.source)
        for o in cell.get("outputs", []):
            html = o.get("data", {}).get("text/html", "")
            html = "".join(html) if isinstance(html, list) else html
            if "<table" in html:
                out.append(Shown(f"{executed.name} cell {n}", html, declared,
                                 list(cell.metadata.get("tags", []))))
    return out


def notebook_problems(executed: Path) -> tuple[int, list[str]]:
    """(tables checked, problems) over every table an executed notebook shows."""
    problems: list[str] = []
    checked = 0
    for shown in shown_tables(executed):
        for k, table in enumerate(read_tables(shown.html), start=1):
            checked += 1
            problems += table_problems(table, shown.declared, f"{shown.where} table {k}")
    return checked, problems


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        self._skip += tag in ("style", "script")

    def handle_endtag(self, tag: str) -> None:
        self._skip -= tag in ("style", "script")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def page_text(html: str) -> str:
    """The text a reader sees on an HTML page (no styles, scripts or tags)."""
    parser = _Text()
    parser.feed(html)
    parser.close()
    return "".join(parser.parts)


def page_problems(html: str, where: str = "") -> list[str]:
    """Reprs and papermill's parameters cell anywhere in a page's text."""
    text = page_text(html)
    return [f"{where}: shows {r!r}" for r in REPRS if r in text]


def table_key(table: Table) -> tuple:
    """A table's cells, to find the same table in two places."""
    return tuple(map(tuple, table.header)), tuple(map(tuple, table.body))
