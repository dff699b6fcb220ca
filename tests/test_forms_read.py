"""Reading self-evaluation workbooks: every layout variant gives the same table; money in yuan
exactly to the fen; bad files give one clear line each and do not stop a folder."""

from __future__ import annotations

import re
import shutil
import zipfile
from pathlib import Path

import openpyxl
import openpyxl.styles
import pytest
from forms_tables import CLEAN_LEAVES, CLEAN_TOTAL, Table, clean_table, workbook

from perfsim.errors import InputError
from perfsim.forms.read import (
    MAX_COLUMNS,
    MAX_ROWS,
    Source,
    TaskRow,
    cell_name,
    read_paths,
    read_source,
)

DATA = Path(__file__).resolve().parent / "data" / "forms"

#: What the clean table holds, written by hand from tests/forms_tables.py.
NAMES = [leaf[2] for leaf in CLEAN_LEAVES]
TARGETS = [leaf[3] for leaf in CLEAN_LEAVES]
POINTS = [20.0, 20.0, 10.0, 10.0, 20.0, 10.0]
SCORES = [20.0, 18.95, 10.0, 9.6, 16.0, 10.0]
LEVEL1 = ["产出指标"] * 4 + ["效益指标", "满意度指标"]
LEVEL2 = ["数量指标", "质量指标", "时效指标", "成本指标", "社会效益指标", "服务对象满意度指标"]

VARIANTS = {
    "default": {},
    "shifted two columns": {"shift": 2},
    "extra title rows": {"title_rows": 3},
    "unmerged, repeated levels": {"merged": False},
    "unmerged, levels on the first row only": {"merged": False, "blank_levels": True},
    "no 偏差原因 column": {"reason": False},
    "rate as a number": {"rate": "number"},
    "rate as text": {"rate": "text"},
    "money in 元": {"money": "元", "funds": (1_000_000, 1_200_000, 900_000)},
    "no placeholder rows": {"placeholders": False},
    "department-overall": {"form": "department"},
    "a heading of two rows": {"two_row_heading": True},
    "a heading of two rows, no 偏差原因 column": {"two_row_heading": True, "reason": False},
}


def check_clean(t, form: str = "project") -> None:
    assert t.form == form
    assert [leaf.level3 for leaf in t.leaves] == NAMES
    assert [leaf.level1 for leaf in t.leaves] == LEVEL1
    assert [leaf.level2 for leaf in t.leaves] == LEVEL2
    assert [leaf.target for leaf in t.leaves] == TARGETS
    assert [leaf.points for leaf in t.leaves] == POINTS
    assert [leaf.score for leaf in t.leaves] == SCORES
    assert t.funds["total"] == {"budget_initial": 1_000_000.0, "budget_full": 1_200_000.0,
                                "executed": 900_000.0}
    assert (t.exec_points, t.exec_score, t.rate) == (10.0, 7.5, 0.75)
    assert (t.total_score, t.total_points) == (CLEAN_TOTAL, 100.0)
    assert t.department == "县农业农村局"


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_layout_variant_reads_the_same_table(tmp_path, variant):
    layout = VARIANTS[variant]
    path = workbook(tmp_path / "t.xlsx", clean_table(**layout))
    (t,) = read_source(Source(str(path), path=path))
    check_clean(t, layout.get("form", "project"))
    assert t.money_unit == layout.get("money", "万元")
    if layout.get("form") == "department":
        # headings 任务名称 · 主要内容 on the label's row 7, the one task on row 8
        assert t.tasks == [TaskRow(8, "农田建设", "新建高标准农田")]
        assert set(t.funds) == {"total", "basic", "project"}
    else:
        assert (t.project, t.unit) == ("农田水利设施建设", "县水利工作站")


def test_the_templates_numbering_and_points_in_the_level_labels_are_read_past(tmp_path):
    # the MoF template as bureaus fill it in: 指标1：… before each 三级指标, the template's
    # empty slot 指标2： left in, the points written after the 一级 and 二级指标
    points = {"产出指标": 60, "效益指标": 30, "满意度指标": 10}
    numbered = []
    for k, (l1, l2, l3, *rest) in enumerate(CLEAN_LEAVES):
        l1, l2 = f"{l1}（{points[l1]}分）", f"{l2}(20分)"
        numbered.append((l1, l2, f"指标1：{l3}", *rest))
        if k == 0:
            numbered.append((l1, l2, "指标2：", None, None, None, None))
    path = workbook(tmp_path / "t.xlsx", clean_table(leaves=numbered, merged=False))
    (t,) = read_source(Source(str(path), path=path))
    check_clean(t)
    assert [leaf.row for leaf in t.leaves] == [12, *range(14, 19)]   # row 13: the empty slot


def test_an_indicator_called_by_its_number_alone_keeps_it(tmp_path):
    rows = [(*CLEAN_LEAVES[0][:2], "指标1", *CLEAN_LEAVES[0][3:]), *CLEAN_LEAVES[1:]]
    path = workbook(tmp_path / "t.xlsx", clean_table(leaves=rows))
    (t,) = read_source(Source(str(path), path=path))
    assert [leaf.level3 for leaf in t.leaves] == ["指标1", *NAMES[1:]]


def test_cells_are_named_as_the_spreadsheet_shows_them(tmp_path):
    # default layout: title row 1, facts rows 2-3, funds header row 4 (total on row 5, the
    # score in column H), the indicator header on row 11, leaves from row 12 in columns D-H
    path = workbook(tmp_path / "t.xlsx", clean_table())
    (t,) = read_source(Source(str(path), path=path))
    assert t.cells["exec_score"] == "H5"
    assert [leaf.row for leaf in t.leaves] == list(range(12, 18))
    assert t.leaves[1].cells["score"] == "H13" and t.leaves[1].cells["target"] == "E13"
    assert cell_name(0, 26) == "AA1"


def test_two_tables_on_one_sheet_and_a_sheet_without_a_table(tmp_path):
    wb_path = workbook(tmp_path / "t.xlsx",
                       [clean_table(), clean_table(project="乡村道路", shift=1)],
                       Table(leaves=list(CLEAN_LEAVES), total=CLEAN_TOTAL, project="第三张"))
    wb = openpyxl.load_workbook(wb_path)
    notes = wb.create_sheet("说明")  # names the form in a sentence: not a title
    notes.append(["填表说明"])
    notes.append(["1.本工作簿每个工作表填报一个项目的《项目支出绩效自评表》。"])
    wb.save(wb_path)
    tables = read_source(Source(str(wb_path), path=wb_path))
    assert [(t.sheet, t.project) for t in tables] == [
        ("Sheet1", "农田水利设施建设"), ("Sheet1", "乡村道路"), ("Sheet2", "第三张")]
    for t in tables:
        check_clean(t)


def test_money_in_wan_yuan_is_exact_to_the_fen(tmp_path):
    # 12.345678 万元 = 123,456.78 元; 1.2345675 万元 = 12,345.675 元 → 12,345.68 (half up)
    path = workbook(tmp_path / "t.xlsx", clean_table(funds=(12.345678, 1.2345675, 0.9)))
    (t,) = read_source(Source(str(path), path=path))
    assert t.funds["total"] == {"budget_initial": 123_456.78, "budget_full": 12_345.68,
                                "executed": 9_000.0}


#: A department table's 基本支出/项目支出 lines and 年度主要任务 block, written by hand (万元):
#: 年初预算数, 全年预算数, 全年执行数 of each line; task, content, 预算数, 执行数, 完成情况.
LINES = {"基本支出": (30, 40.5, 35.25), "项目支出": (70, 79.5, "")}
TASKS = [("农田建设", "新建高标准农田，配套  灌溉设施", 60.12, 55.3, "基本完成"),
         ("……", "", None, None, None),
         ("农技培训", "培训农民 2,000 人次", 19.8765, "", "已完成")]


def test_a_department_tables_spending_lines_and_tasks_in_yuan(tmp_path):
    path = workbook(tmp_path / "t.xlsx", clean_table(form="department", lines=LINES,
                                                     tasks=TASKS))
    (t,) = read_source(Source(str(path), path=path))
    # 万元 × 10,000, to the fen: 40.5 → 405,000.00; a blank cell stays blank (None), never 0
    assert t.funds["basic"] == {"budget_initial": 300_000.0, "budget_full": 405_000.0,
                                "executed": 352_500.0}
    assert t.funds["project"] == {"budget_initial": 700_000.0, "budget_full": 795_000.0,
                                  "executed": None}
    # rows: title 1, 部门名称 2, funds 3-6, the block's headings 7, tasks 8-10 (9 a
    # placeholder); text as written (spaces inside kept as one), 19.8765 万元 → 198,765.00
    assert t.tasks == [TaskRow(8, "农田建设", "新建高标准农田，配套 灌溉设施", 601_200.0, 553_000.0,
                               "基本完成"),
                       TaskRow(10, "农技培训", "培训农民 2,000 人次", 198_765.0, None, "已完成")]


def test_task_amounts_in_yuan_keep_their_fen(tmp_path):
    path = workbook(tmp_path / "t.xlsx", clean_table(
        form="department", money="元", funds=(1_000_000, 1_200_000, 900_000),
        tasks=[("农田建设", "新建高标准农田", 601_200.455, "553,000.5", "基本完成")]))
    (t,) = read_source(Source(str(path), path=path))
    assert (t.tasks[0].budget, t.tasks[0].executed) == (601_200.46, 553_000.5)


def test_a_goal_that_mentions_the_tasks_is_not_a_tasks_block(tmp_path):
    # no title, and the 年度总体目标 text says 年度主要任务: still a project table, no tasks
    path = workbook(tmp_path / "t.xlsx", clean_table())
    wb = openpyxl.load_workbook(path)
    ws = wb.active
    ws.unmerge_cells("A1:I1")
    ws["A1"] = None
    (goal,) = [c for row in ws.iter_rows() for c in row if c.value == "完成年度建设任务"]
    goal.value = "已按计划完成年度主要任务，资金拨付及时"
    wb.save(path)
    (t,) = read_source(Source(str(path), path=path))
    assert (t.form, t.tasks, t.project) == ("project", [], "农田水利设施建设")


def test_an_xls_workbook(tmp_path):
    # tests/data/forms/selfeval_clean.xls: the clean table shifted one column with two title
    # rows, saved as .xls (Excel 97-2003) by LibreOffice
    (t,) = read_paths([DATA / "selfeval_clean.xls"], progress=False).tables
    check_clean(t)


def test_a_folder_recursively_and_a_zip(tmp_path):
    folder = tmp_path / "in"
    workbook(folder / "a.xlsx", clean_table(project="甲"))
    workbook(folder / "sub" / "b.xlsx", clean_table(project="乙"))
    (folder / "sub" / "~$b.xlsx").write_bytes(b"lock file of an open workbook")
    (folder / "notes.txt").write_text("not a workbook", encoding="utf-8")
    (folder / "Thumbs.db").write_bytes(b"thumbnails")
    (folder / ".DS_Store").write_bytes(b"folder settings")
    archive = tmp_path / "tables.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(folder / "a.xlsx", "县/丙.xlsx")
        zf.writestr("县/丁.pdf", b"%PDF-1.4 the table printed")
    got = read_paths([folder, archive], progress=False)
    assert [t.project for t in got.tables] == ["甲", "乙", "甲"]
    assert got.tables[2].file == f"{archive}/县/丙.xlsx"
    assert got.failed == [] and got.files == 3
    # the files that are no workbook are counted, not read; the system's own are not counted
    assert [o.name for o in got.others] == [str(folder / "notes.txt"), f"{archive}/县/丁.pdf"]
    assert "2 other files not read (.txt 1, .pdf 1)" in got.others_line()


def test_a_folder_of_pdfs_says_what_it_found(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("甲.pdf", "乙.pdf", "丙.docx"):
        (folder / name).write_bytes(b"printed")
    with pytest.raises(InputError) as err:
        read_paths([folder], progress=False)
    line = str(err.value)
    assert "no workbook found" in line and "3 other files not read (.pdf 2, .docx 1)" in line
    assert "\n" not in line


# --- bad input: one line each, Chinese and English ------------------------------------------

def one_failure(path: Path) -> str:
    got = read_paths([path], progress=False)
    assert got.tables == []
    ((file, message),) = got.failed
    assert file == str(path) and "\n" not in message
    with pytest.raises(InputError) as err:
        read_paths([path], strict=True, progress=False)
    assert str(err.value) == message
    return message


def test_a_workbook_that_is_not_a_table(tmp_path):
    path = tmp_path / "budget.xlsx"
    wb = openpyxl.Workbook()
    wb.active.append(["项目", "金额"])
    wb.active.append(["办公费", 1200])
    wb.save(path)
    message = one_failure(path)
    assert "不是绩效自评表" in message and "not a self-evaluation table" in message
    assert "一级指标" in message


def test_a_table_without_its_score_column(tmp_path):
    path = workbook(tmp_path / "t.xlsx", clean_table())
    wb = openpyxl.load_workbook(path)
    wb.active["H11"] = "备注"  # the 得分 heading
    wb.save(path)
    message = one_failure(path)
    assert "row 11" in message and "得分" in message


def test_encrypted_corrupt_and_foreign_formats(tmp_path):
    cases = {
        # an encrypted Office file is a compound file holding an EncryptedPackage stream
        "locked.xlsx": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504
                        + "EncryptedPackage".encode("utf-16-le"), "已加密"),
        "broken.xlsx": (b"PK\x03\x04" + b"\x17" * 200, "文件损坏"),
        "text.xlsx": (b"project,score\n", "文本文件改用 Excel 文件名"),
        "gbk.xls": ("项目名称,得分\n".encode("gbk"), "文本文件改用 Excel 文件名"),
        "noise.xlsx": (bytes(range(256)) * 4, "不是 Excel"),
        # what finance systems export under an .xls name, which Excel and WPS open: a web
        # page is read as a sheet (tests/test_forms_html.py), here one without a table
        "export.xls": (b"\xef\xbb\xbf<html><body><table><tr><td>x</td></tr></table>",
                       "不是绩效自评表"),
        "page.xls": (b"  <!DOCTYPE html>\n<html>", "不是绩效自评表"),
        "xml.xls": (b'<?xml version="1.0"?>\n<?mso-application progid="Excel.Sheet"?>\n'
                    b'<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet">',
                    "XML 格式错误"),   # read (tests/test_forms_xml.py): cut short here
        "other.xlsx": (b'<?xml version="1.0"?><svg/>', "不是 Excel"),
        "saved.xls": (b"MIME-Version: 1.0\r\nContent-Type: multipart/related",
                      "单个网页文件 (.mht)"),
        "wps.et": (b"\xd0\xcf\x11\xe0", "WPS"),
        "mac.numbers": (b"PK\x03\x04", "Numbers"),
        "broken.xls": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\1" * 600, "文件损坏"),
    }
    for name, (data, says) in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        message = one_failure(path)
        assert says in message, (name, message)
        if says.endswith("改用 Excel 文件名") or says.startswith("单个网页文件"):
            assert "另存为 .xlsx" in message and "save it as .xlsx" in message


def test_a_formula_without_a_saved_value(tmp_path):
    path = workbook(tmp_path / "t.xlsx", clean_table())
    wb = openpyxl.load_workbook(path)
    wb.active["H20"] = "=SUM(H5,H12:H17)"  # openpyxl saves no cached value
    wb.save(path)
    message = one_failure(path)
    assert "H20" in message and "公式没有缓存值" in message and "formula" in message


def test_a_formula_without_a_saved_value_is_placed_on_the_sheet_tab_the_user_sees(tmp_path):
    path = workbook(tmp_path / "t.xlsx", clean_table())
    wb = openpyxl.load_workbook(path)
    wb.create_sheet("说明", 0)["A1"] = "填表说明"   # the table's sheet is the second part
    wb.worksheets[1].title = "附件2 项目自评"
    wb.worksheets[1]["H20"] = "=SUM(H5,H12:H17)"
    wb.save(path)
    message = one_failure(path)
    zh, _, en = message.partition(" / ")
    assert "工作表 '附件2 项目自评' 单元格 H20" in zh
    assert "sheet '附件2 项目自评' cell H20" in en
    assert "sheet2" not in message


def test_a_ten_thousand_row_sheet(tmp_path):
    path = tmp_path / "long.xlsx"
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("明细")
    for k in range(10_000):
        ws.append([k, "支出明细", 12.5])
    wb.save(path)
    message = one_failure(path)
    assert f"{MAX_ROWS:,}" in message and "明细" in message and "行数" in message


def test_a_stray_cell_at_the_last_column_is_named_not_read_into_a_huge_grid(tmp_path):
    path = workbook(tmp_path / "t.xlsx", clean_table())
    wb = openpyxl.load_workbook(path)
    wb.active.title = "附件2"
    wb.active["XFD3"] = "x"   # the sheet's used range runs to 16,384 columns
    wb.save(path)
    message = one_failure(path)
    zh, _, en = message.partition(" / ")
    assert "工作表 '附件2' 单元格 XFD3" in zh and "IV" in zh
    assert "cell XFD3" in en and str(MAX_COLUMNS) in en
    wb = openpyxl.load_workbook(path)
    del wb.active["XFD3"]
    wb.active["IV3"] = "x"   # within the bound: read, the table as it was
    for r in range(1, 41):   # and empty cells styled out to XFD: not read into the grid
        wb.active.cell(r, 16384).fill = openpyxl.styles.PatternFill("solid", fgColor="FFFF00")
    wb.save(path)
    (table,) = read_paths([path], progress=False).tables
    check_clean(table, "project")


def test_a_used_range_short_of_the_cells_loses_none_of_them(tmp_path):
    path = workbook(tmp_path / "t.xlsx", clean_table())
    (whole,) = read_paths([path], progress=False).tables
    with zipfile.ZipFile(path) as zf:   # as some programs write it: the dimension says A1:C5
        parts = {i.filename: zf.read(i) for i in zf.infolist()}
    sheet = parts["xl/worksheets/sheet1.xml"]
    assert b"<dimension ref=" in sheet
    parts["xl/worksheets/sheet1.xml"] = re.sub(rb'<dimension ref="[^"]+"',
                                               b'<dimension ref="A1:C5"', sheet)
    short = tmp_path / "short.xlsx"
    with zipfile.ZipFile(short, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    (table,) = read_paths([short], progress=False).tables
    check_clean(whole, "project")
    check_clean(table, "project")


def test_zip_bombs_are_refused_before_expanding(tmp_path):
    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a.xlsx", b"\0" * (4 * 2**20))  # 4 MiB of zeros: ~4 KiB compressed
    message = one_failure(archive)
    assert "压缩炸弹" in message and "a.xlsx" in message
    book = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(book, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/worksheets/sheet1.xml", b" " * (4 * 2**20))
    assert "压缩炸弹" in one_failure(book)


def test_one_bad_file_in_a_folder_is_listed_and_the_rest_read(tmp_path):
    folder = tmp_path / "in"
    workbook(folder / "a.xlsx", clean_table())
    shutil.copy(folder / "a.xlsx", folder / "c.xlsx")
    (folder / "b.xlsx").write_bytes(b"not a workbook")
    got = read_paths([folder], progress=False)
    assert len(got.tables) == 2
    assert [f for f, _ in got.failed] == [str(folder / "b.xlsx")]
    with pytest.raises(InputError, match="b.xlsx"):
        read_paths([folder], strict=True, progress=False)


def test_formulas_with_saved_values_are_read(tmp_path):
    # tests/data/forms/selfeval_formulas.xlsx: the clean table whose 总分 is =SUM(H5,H12:H17)
    # and whose I12 is =IF(1=0,"x","") (a saved empty text), saved by LibreOffice
    (t,) = read_paths([DATA / "selfeval_formulas.xlsx"], progress=False).tables
    check_clean(t)


def test_an_archive_inside_an_archive_and_an_empty_folder(tmp_path):
    inner = tmp_path / "inner.zip"
    with zipfile.ZipFile(inner, "w") as zf:
        zf.write(workbook(tmp_path / "a.xlsx", clean_table()), "a.xlsx")
    outer = tmp_path / "outer.zip"
    with zipfile.ZipFile(outer, "w") as zf:
        zf.write(inner, "inner.zip")
        zf.write(tmp_path / "a.xlsx", "b.xlsx")
    got = read_paths([outer], progress=False)
    assert len(got.tables) == 1
    ((file, message),) = got.failed
    assert file == f"{outer}/inner.zip" and "压缩包内的压缩包" in message
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="no workbook found"):
        read_paths([empty], progress=False)


def test_the_progress_bar_does_not_change_what_is_read(tmp_path, capsys):
    folder = tmp_path / "in"
    for k in range(3):
        workbook(folder / f"{k}.xlsx", clean_table(project=f"项目{k}"))
    shown = read_paths([folder], progress=True)
    assert "perfsim import" in capsys.readouterr().err
    assert [t.project for t in shown.tables] == [
        t.project for t in read_paths([folder], progress=False).tables]
