"""Self-evaluation tables that finance systems export under an .xls name and Excel and WPS open
as a workbook — a web page, an XML Spreadsheet 2003 — laid out as Excel lays them out and read
as the same table the workbook holds, cell for cell; bad ones refused in one line."""

from __future__ import annotations

import datetime as dt
import html
from pathlib import Path
from xml.sax.saxutils import escape

import openpyxl
import pytest
from forms_tables import clean_table, workbook
from test_forms_read import VARIANTS, check_clean

from perfsim.errors import InputError
from perfsim.forms.htmltables import decode, html_rows
from perfsim.forms.read import MAX_COLUMNS, Source, read_paths, read_source
from perfsim.forms.review import findings
from perfsim.forms.score import score_table
from perfsim.forms.targets import load_levels


def _merged(ws) -> tuple[dict, set]:
    """A sheet's merged ranges: (first row, first column) → (rows, columns) spanned, and the
    cells they cover after their first."""
    spans, covered = {}, set()
    for rng in ws.merged_cells.ranges:
        spans[rng.min_row, rng.min_col] = (rng.max_row - rng.min_row + 1,
                                           rng.max_col - rng.min_col + 1)
        covered |= {(r, c) for r in range(rng.min_row, rng.max_row + 1)
                    for c in range(rng.min_col, rng.max_col + 1)}
        covered.discard((rng.min_row, rng.min_col))
    return spans, covered


def as_html(book: Path, encoding: str = "gbk") -> bytes:
    """The first sheet of ``book`` as a finance system exports it: one <table>, a merged
    range as one cell with rowspan/colspan, numbers as their text (a %-formatted one as a
    percentage), declared in ``encoding``."""
    ws = openpyxl.load_workbook(book).worksheets[0]
    spans, covered = _merged(ws)
    rows = []
    for r in range(1, ws.max_row + 1):
        cells = []
        for c in range(1, ws.max_column + 1):
            if (r, c) in covered:
                continue
            v = ws.cell(r, c).value
            if isinstance(v, float) and "%" in ws.cell(r, c).number_format:
                v = f"{v * 100:g}%"
            down, across = spans.get((r, c), (1, 1))
            attrs = (f' rowspan="{down}"' if down > 1 else "") + (
                f" colspan={across}" if across > 1 else "")
            cells.append(f"<td{attrs}>{'' if v is None else html.escape(str(v))}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    page = (f'<html><head><meta http-equiv="Content-Type" content="text/html; charset='
            f'{encoding}"><style>td {{ border: 1px solid }}</style></head><body>'
            f'<table border="1">{"".join(rows)}</table></body></html>')
    return page.encode(encoding)


def as_spreadsheet_ml(book: Path) -> bytes:
    """Every sheet of ``book`` as Excel's XML Spreadsheet 2003: a cell's ss:Index where it
    does not follow the one before, a merged range as its first cell with ss:MergeAcross and
    ss:MergeDown (the cells it covers not written), a %-formatted number in a Percent style."""
    out = ['<?xml version="1.0"?>\n<?mso-application progid="Excel.Sheet"?>\n'
           '<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet" '
           'xmlns:ss="urn:schemas-microsoft-com:office:spreadsheet">'
           '<Styles><Style ss:ID="pct"><NumberFormat ss:Format="Percent"/></Style></Styles>']
    for ws in openpyxl.load_workbook(book).worksheets:
        spans, covered = _merged(ws)
        out.append(f'<Worksheet ss:Name="{escape(ws.title)}"><Table>')
        for r in range(1, ws.max_row + 1):
            out.append(f'<Row ss:Index="{r}">')
            last = 0
            for c in range(1, ws.max_column + 1):
                cell = ws.cell(r, c)
                if (r, c) in covered or (cell.value is None and (r, c) not in spans):
                    continue
                attrs = f' ss:Index="{c}"' if c != last + 1 else ""
                down, across = (n - 1 for n in spans.get((r, c), (1, 1)))
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


#: each export as a function of the workbook, and the sheet name Excel shows for it
EXPORTS = {"web page": (lambda book: as_html(book), lambda w: "导出"),
           "XML Spreadsheet 2003": (lambda book: as_spreadsheet_ml(book), lambda w: w.sheet)}


@pytest.mark.parametrize("export", EXPORTS)
@pytest.mark.parametrize("variant", VARIANTS)
def test_an_export_named_xls_reads_as_the_workbook(tmp_path, variant, export):
    layout = VARIANTS[variant]
    make, sheet = EXPORTS[export]
    book = workbook(tmp_path / "t.xlsx", clean_table(**layout))
    exported = tmp_path / "导出.xls"
    exported.write_bytes(make(book))
    (t,) = read_source(Source(str(exported), path=exported))
    check_clean(t, layout.get("form", "project"))
    (w,) = read_source(Source(str(book), path=book))
    # the same cells as Excel shows them: each leaf's row and cells, the totals' cells
    assert [(leaf.row, leaf.cells) for leaf in t.leaves] == [(leaf.row, leaf.cells)
                                                            for leaf in w.leaves]
    assert t.cells == w.cells and t.sheet == sheet(w) and t.rate == w.rate
    assert findings(score_table(t, load_levels())) == []


def test_a_department_table_as_a_web_page_in_utf8(tmp_path):
    book = workbook(tmp_path / "d.xlsx", clean_table(**VARIANTS["department-overall"]))
    page = tmp_path / "d.xls"
    page.write_bytes(b"\xef\xbb\xbf" + as_html(book, "utf-8"))
    (t,) = read_paths([page], progress=False).tables
    check_clean(t, "department")


def test_spans_lines_of_text_scripts_and_nested_tables_are_laid_out_as_excel_does():
    page = ("<html><head><title>导出</title><script>var x = '<td>no</td>';</script></head>"
            "<body><h3>项目支出绩效自评表</h3><p>单位：万元</p>"
            "<table><tr><td rowspan=2 colspan=2>A</td><td>B</td></tr>"
            "<tr><td>C<br>D</td></tr>"
            "<tr><td>E</td><td><table><tr><td>in</td><td>side</td></tr></table></td>"
            "<td>&nbsp;</td></tr></table><p>填报人：</p></body></html>").encode()
    assert html_rows(page, MAX_COLUMNS) == [
        ["导出"], ["项目支出绩效自评表"], ["单位：万元"],
        ["A", None, "B"],
        [None, None, "C\nD"],    # the span's rows and columns left empty, as a merged cell
        ["E", "inside", None],   # a table in a cell flows into the cell; &nbsp; is blank
        ["填报人："]]


def test_two_tables_one_below_the_other_keep_their_spans_to_themselves():
    page = (b"<table><tr><td rowspan=5>A</td><td>B</td></tr></table>"
            b"<table><tr><td>C</td><td>D</td></tr></table>")
    assert html_rows(page, MAX_COLUMNS) == [["A", "B"], ["C", "D"]]


def test_the_declared_encoding_then_utf8_then_gb18030():
    text = "项目支出绩效自评表"
    assert decode(f'<meta charset="gb2312">{text}'.encode("gbk")).endswith(text)
    assert decode(text.encode("gb18030")) == text      # nothing declared, not UTF-8
    assert decode(b"\xef\xbb\xbf" + text.encode("utf-8")) == text


def test_a_span_cannot_make_a_large_grid_and_a_far_cell_is_named(tmp_path):
    huge = ("<table><tr><td rowspan=100000000 colspan=100000000>项目支出绩效自评表</td>"
            "<td>x</td></tr><tr><td>y</td></tr></table>").encode()
    rows = html_rows(huge, MAX_COLUMNS)
    assert len(rows) == 2 and max(len(r) for r in rows) <= MAX_COLUMNS + 2
    page = tmp_path / "wide.xls"
    page.write_bytes(huge)
    with pytest.raises(InputError) as err:
        read_paths([page], strict=True, progress=False)
    line = str(err.value)
    assert "cell IX1" in line and "超出 256 列" in line and "\n" not in line


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
