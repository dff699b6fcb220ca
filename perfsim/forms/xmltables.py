"""Self-evaluation tables that a system exported as an XML Spreadsheet 2003 (Excel's
SpreadsheetML, ``<?mso-application progid="Excel.Sheet"?>``) under an ``.xls`` name: each
worksheet's cells where Excel places them (``ss:Index`` of rows and cells, a merged cell's
``ss:MergeAcross`` columns left empty after it), numbers as numbers, dates as dates, and the
cells whose style formats a number as a percentage.

Parsed by the standard library's :mod:`xml.etree.ElementTree`; a document type declaration
(the way an XML file defines entities) is refused before parsing. Sizes are bounded by the
caller (:func:`perfsim.forms.read.read_source`): a cell placed past ``max_columns`` or a row
past ``max_rows`` stops the reading (the caller names it).
"""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

SS = "{urn:schemas-microsoft-com:office:spreadsheet}"
_DECLARATION = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.I)


class Refused(ValueError):
    """What the caller turns into its one line: ``reason`` ``dtd`` (a document type
    declaration), ``xml`` (not well-formed), ``wide`` (a filled cell past the columns) or
    ``long`` (rows past the limit); ``sheet`` and the 0-based ``cell`` where known."""

    def __init__(self, reason: str, sheet: str = "", cell: tuple[int, int] = (0, 0)) -> None:
        super().__init__(reason)
        self.reason, self.sheet, self.cell = reason, sheet, cell


@dataclass
class Sheet:
    """One worksheet: its name, rows (0-based, None where empty) and the %-formatted cells."""

    name: str
    rows: list[list[Any]] = field(default_factory=list)
    percent: set[tuple[int, int]] = field(default_factory=set)


def _int(value: str | None, default: int) -> int:
    try:
        return int(str(value).strip())
    except ValueError:
        return default


def _value(data: ET.Element) -> Any:
    kind = data.get(f"{SS}Type", "String")
    text = "".join(data.itertext())
    if kind == "Number":
        try:
            return float(text)
        except ValueError:
            return text
    if kind == "DateTime":
        try:
            return dt.datetime.fromisoformat(text.strip()[:19])
        except ValueError:
            return text
    if kind == "Boolean":
        return text.strip() in ("1", "true", "TRUE")
    if kind == "Error":
        return None
    return text if text.strip() else None


def xml_sheets(data: bytes, max_rows: int, max_columns: int) -> list[Sheet]:
    """The worksheets of an XML Spreadsheet 2003 document (see the module's text)."""
    if _DECLARATION.search(data):
        raise Refused("dtd")
    try:
        root = ET.fromstring(data)
    except ET.ParseError:
        raise Refused("xml") from None
    percent_styles = {
        s.get(f"{SS}ID") for s in root.iter(f"{SS}Style")
        if any("%" in f or f.lower() == "percent"
               for f in (n.get(f"{SS}Format", "") for n in s.iter(f"{SS}NumberFormat")))}
    sheets = []
    for ws in root.iter(f"{SS}Worksheet"):
        sheet = Sheet(ws.get(f"{SS}Name", f"Sheet{len(sheets) + 1}"))
        table = ws.find(f"{SS}Table")
        r = -1
        for row in ([] if table is None else table.iter(f"{SS}Row")):
            r = _int(row.get(f"{SS}Index"), r + 2) - 1
            if r >= 10 * max_rows or r < 0:
                raise Refused("long", sheet.name)
            while len(sheet.rows) <= r:
                sheet.rows.append([])
            values = sheet.rows[r]
            c = -1
            for cell in row.iter(f"{SS}Cell"):
                c = _int(cell.get(f"{SS}Index"), c + 2) - 1
                data_el = cell.find(f"{SS}Data")
                value = None if data_el is None else _value(data_el)
                if c < 0 or (c >= max_columns and value is not None):
                    raise Refused("wide", sheet.name, (r, max(c, 0)))
                if c < max_columns:
                    values.extend([None] * (c + 1 - len(values)))
                    values[c] = value
                    if isinstance(value, float) and cell.get(f"{SS}StyleID") in percent_styles:
                        sheet.percent.add((r, c))
                c += max(0, _int(cell.get(f"{SS}MergeAcross"), 0))
        sheets.append(sheet)
    return sheets
