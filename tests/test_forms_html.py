"""Self-evaluation tables exported as a web page under an .xls name (Excel and WPS open them as
a sheet): laid out as Excel lays them out, and read as the same table the workbook holds."""

from __future__ import annotations

import html
from pathlib import Path

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


def as_html(book: Path, encoding: str = "gbk") -> bytes:
    """The first sheet of ``book`` as a finance system exports it: one <table>, a merged
    range as one cell with rowspan/colspan, numbers as their text (a %-formatted one as a
    percentage), declared in ``encoding``."""
    ws = openpyxl.load_workbook(book).worksheets[0]
    spans, covered = {}, set()
    for rng in ws.merged_cells.ranges:
        spans[rng.min_row, rng.min_col] = (rng.max_row - rng.min_row + 1,
                                           rng.max_col - rng.min_col + 1)
        covered |= {(r, c) for r in range(rng.min_row, rng.max_row + 1)
                    for c in range(rng.min_col, rng.max_col + 1)} - {(rng.min_row, rng.min_col)}
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


@pytest.mark.parametrize("variant", [v for v in VARIANTS if v != "department-overall"])
def test_a_web_page_named_xls_reads_as_the_workbook(tmp_path, variant):
    layout = VARIANTS[variant]
    book = workbook(tmp_path / "t.xlsx", clean_table(**layout))
    page = tmp_path / "导出.xls"
    page.write_bytes(as_html(book))
    (t,) = read_source(Source(str(page), path=page))
    check_clean(t)
    (w,) = read_source(Source(str(book), path=book))
    # the same cells as Excel shows them: each leaf's row and cells, the totals' cells
    assert [(leaf.row, leaf.cells) for leaf in t.leaves] == [(leaf.row, leaf.cells)
                                                            for leaf in w.leaves]
    assert t.cells == w.cells and t.sheet == "导出"
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
