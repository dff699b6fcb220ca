"""Self-evaluation tables that a finance system exported as a web page under an ``.xls`` name
(Excel and WPS open such a file as a sheet): the page's tables laid out on a grid as Excel
lays them out — a cell spanning rows or columns (``rowspan``, ``colspan``) holds its text in
its first row and column and leaves the rest empty, as a merged cell does — with each line of
text outside the tables (a title above the table) on a row of its own.

The page is parsed by the standard library's :class:`html.parser.HTMLParser`; its encoding is
the one the page declares (``<meta charset=…>``), else UTF-8, else GB18030. Sizes are bounded
by the caller (:func:`perfsim.forms.read.read_source`): spans are clipped to the table's rows
and to ``max_columns`` + 1 columns, so that no span makes a large grid out of a small file.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

#: elements whose end closes a line of text outside the tables
_BLOCKS = {"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li", "caption", "title"}
_CHARSET = re.compile(rb"""charset\s*=\s*["']?([A-Za-z0-9_\-]+)""", re.I)


def decode(data: bytes) -> str:
    """The page's text: a byte-order mark's encoding, the declared one, UTF-8 or GB18030."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    declared = _CHARSET.search(data[:4096])
    names = [declared.group(1).decode("ascii").lower()] if declared else []
    for name in [*names, "utf-8", "gb18030"]:
        if name in ("gb2312", "gbk"):
            name = "gb18030"   # the superset Chinese Windows writes
        try:
            return data.decode(name)
        except (LookupError, UnicodeDecodeError):
            continue
    return data.decode("gb18030", errors="replace")


class _Tables(HTMLParser):
    """Rows of the page in order: a table's rows as lists of (text, rowspan, colspan), a line
    of text outside the tables as one cell."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        # table rows, lines of text, and None where a table ends (spans stay in their table)
        self.items: list[list[tuple[str, int, int]] | str | None] = []
        self.depth = 0            # tables open (a table inside a cell flows into the cell)
        self.row: list[tuple[str, int, int]] | None = None
        self.cell: list[str] | None = None
        self.span = (1, 1)
        self.line: list[str] = []
        self.skip = 0             # inside <script> or <style>

    @staticmethod
    def _int(value: str | None) -> int:
        try:
            return max(1, int(str(value).strip()))
        except ValueError:
            return 1

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self.skip += 1
        elif tag == "table":
            self.depth += 1
            if self.depth == 1:
                self._end_line()
        elif self.depth != 1:
            if tag == "br":
                (self.cell if self.cell is not None else self.line).append("\n")
        elif tag == "tr":
            self._end_row()
            self.row = []
        elif tag in ("td", "th"):
            self._end_cell()
            if self.row is None:
                self.row = []
            a = dict(attrs)
            self.cell, self.span = [], (self._int(a.get("rowspan")), self._int(a.get("colspan")))
        elif tag == "br" and self.cell is not None:
            self.cell.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self.skip = max(0, self.skip - 1)
        elif tag == "table":
            if self.depth == 1:
                self._end_row()
                self.items.append(None)
            self.depth = max(0, self.depth - 1)
        elif self.depth == 1 and tag in ("td", "th"):
            self._end_cell()
        elif self.depth == 1 and tag == "tr":
            self._end_row()
        elif self.depth == 0 and tag in _BLOCKS:
            self._end_line()

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        if self.depth >= 1 and self.cell is not None:
            self.cell.append(data)
        elif self.depth == 0:
            self.line.append(data)

    def _end_cell(self) -> None:
        if self.cell is not None and self.row is not None:
            self.row.append(("".join(self.cell).strip(), *self.span))
        self.cell = None

    def _end_row(self) -> None:
        self._end_cell()
        if self.row is not None:
            self.items.append(self.row)
        self.row = None

    def _end_line(self) -> None:
        text = "".join(self.line).strip()
        if text:
            self.items.append(text)
        self.line = []

    def close(self) -> None:
        super().close()
        self._end_row()
        self._end_line()


def html_rows(data: bytes, max_columns: int) -> list[list[str | None]]:
    """The page's rows as one sheet's (0-based rows and columns, None where empty): a table's
    cells placed as Excel places them (spans left empty after their first cell), a line of
    text outside the tables in the first column of a row of its own."""
    parser = _Tables()
    parser.feed(decode(data))
    parser.close()
    out: list[list[str | None]] = []
    items = parser.items
    k = 0
    while k < len(items):
        if not isinstance(items[k], list):   # a line of text, or the end of a table
            if items[k] is not None:
                out.append([items[k]])
            k += 1
            continue
        table = []   # one table: its run of rows
        while k < len(items) and isinstance(items[k], list):
            table.append(items[k])
            k += 1
        out.extend(_laid_out(table, max_columns))
    return out


def _laid_out(table: list[list[tuple[str, int, int]]], max_columns: int
              ) -> list[list[str | None]]:
    """A table's rows of (text, rowspan, colspan) on a grid; spans clipped to the table's rows
    and to ``max_columns`` + 1 columns (a wider cell is then seen, and named, by the
    caller)."""
    taken: set[tuple[int, int]] = set()
    rows: list[list[str | None]] = [[] for _ in table]
    for r, cells in enumerate(table):
        c = 0
        for text, down, across in cells:
            while (r, c) in taken:
                c += 1
            if c > max_columns:
                c = max_columns + 1   # past the limit: the caller refuses the sheet
            down = min(down, len(table) - r)
            across = max(1, min(across, max_columns + 1 - c))
            row = rows[r]
            row.extend([None] * (c + 1 - len(row)))
            row[c] = text or None
            for dr in range(down):
                for dc in range(across):
                    taken.add((r + dr, c + dc))
            c += across
    return rows
