"""Self-evaluation tables exported as an XML Spreadsheet 2003 under an .xls name (Excel and WPS
open them as a workbook): read as the same table the workbook holds, cell for cell."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from xml.sax.saxutils import escape

import openpyxl
import pytest
from forms_tables import clean_table, workbook
from test_forms_read import VARIANTS, check_clean

from perfsim.errors import InputError
from perfsim.forms.read import Source, read_paths, read_source
from perfsim.forms.review import findings
from perfsim.forms.score import score_table
from perfsim.forms.targets import load_levels


def as_spreadsheet_ml(book: Path) -> bytes:
    """Every sheet of ``book`` as Excel's XML Spreadsheet 2003: a cell's ss:Index where it
    does not follow the one before, a merged range as its first cell with ss:MergeAcross and
    ss:MergeDown (the cells it covers not written), a %-formatted number in a Percent style."""
    out = ['<?xml version="1.0"?>\n<?mso-application progid="Excel.Sheet"?>\n'
           '<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet" '
           'xmlns:ss="urn:schemas-microsoft-com:office:spreadsheet">'
           '<Styles><Style ss:ID="pct"><NumberFormat ss:Format="Percent"/></Style></Styles>']
    for ws in openpyxl.load_workbook(book).worksheets:
        spans, covered = {}, set()
        for rng in ws.merged_cells.ranges:
            spans[rng.min_row, rng.min_col] = (rng.max_row - rng.min_row,
                                               rng.max_col - rng.min_col)
            covered |= {(r, c) for r in range(rng.min_row, rng.max_row + 1)
                        for c in range(rng.min_col, rng.max_col + 1)}
            covered.discard((rng.min_row, rng.min_col))
        out.append(f'<Worksheet ss:Name="{escape(ws.title)}"><Table>')
        for r in range(1, ws.max_row + 1):
            out.append(f'<Row ss:Index="{r}">')
            last = 0
            for c in range(1, ws.max_column + 1):
                cell = ws.cell(r, c)
                if (r, c) in covered or (cell.value is None and (r, c) not in spans):
                    continue
                attrs = f' ss:Index="{c}"' if c != last + 1 else ""
                down, across = spans.get((r, c), (0, 0))
                attrs += (f' ss:MergeAcross="{across}"' if across else "") + (
                    f' ss:MergeDown="{down}"' if down else "")
                v = cell.value
                if isinstance(v, bool) or v is None:
                    data = ""
                elif isinstance(v, int | float):
                    if "%" in cell.number_format:
                        attrs += ' ss:StyleID="pct"'
                    data = f'<Data ss:Type="Number">{v!r}</Data>'
                elif isinstance(v, dt.datetime):
                    data = f'<Data ss:Type="DateTime">{v.isoformat()}</Data>'
                else:
                    data = f'<Data ss:Type="String">{escape(str(v))}</Data>'
                out.append(f"<Cell{attrs}>{data}</Cell>")
                last = c + across
            out.append("</Row>")
        out.append("</Table></Worksheet>")
    out.append("</Workbook>")
    return "".join(out).encode("utf-8")


@pytest.mark.parametrize("variant", VARIANTS)
def test_an_xml_spreadsheet_named_xls_reads_as_the_workbook(tmp_path, variant):
    layout = VARIANTS[variant]
    book = workbook(tmp_path / "t.xlsx", clean_table(**layout))
    exported = tmp_path / "导出.xls"
    exported.write_bytes(as_spreadsheet_ml(book))
    (t,) = read_source(Source(str(exported), path=exported))
    check_clean(t, layout.get("form", "project"))
    (w,) = read_source(Source(str(book), path=book))
    assert [(leaf.row, leaf.cells) for leaf in t.leaves] == [(leaf.row, leaf.cells)
                                                            for leaf in w.leaves]
    assert t.cells == w.cells and t.sheet == w.sheet and t.rate == w.rate
    assert findings(score_table(t, load_levels())) == []


@pytest.mark.parametrize("body, says", [
    (b'<!DOCTYPE x [<!ENTITY a "aaaa">]><Workbook xmlns="urn:schemas-microsoft-com:office:'
     b'spreadsheet"/>', "文档类型声明"),
    (b'<?xml version="1.0"?><Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet">'
     b"<Worksheet>", "XML 格式错误"),
    (b'<?xml version="1.0"?><Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet" '
     b'xmlns:ss="urn:schemas-microsoft-com:office:spreadsheet"><Worksheet ss:Name="S">'
     b'<Table><Row ss:Index="2"><Cell ss:Index="300"><Data ss:Type="String">x</Data></Cell>'
     b"</Row></Table></Worksheet></Workbook>", "sheet 'S' cell KN2"),
    (b'<?xml version="1.0"?><Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet" '
     b'xmlns:ss="urn:schemas-microsoft-com:office:spreadsheet"><Worksheet ss:Name="S">'
     b'<Table><Row ss:Index="900000000"/></Table></Worksheet></Workbook>', "行数超过"),
])
def test_a_bad_xml_spreadsheet_is_one_line(tmp_path, body, says):
    path = tmp_path / "bad.xls"
    path.write_bytes(body)
    with pytest.raises(InputError) as err:
        read_paths([path], strict=True, progress=False)
    line = str(err.value)
    assert says in line and "\n" not in line and str(path) in line, line
