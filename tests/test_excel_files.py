"""Files as Chinese Excel writes them: GBK/GB18030 CSVs, Chinese column headings, percent-formatted
cells; and the filled-cells notice on the page as on the command line."""

from __future__ import annotations

import shutil

import openpyxl
import pandas as pd
import pytest
import yaml
from conftest import DATA, one_error_line

import perfsim
from perfsim.app import compute
from perfsim.app.whatif import WhatIf
from perfsim.cli import main
from perfsim.errors import InputError
from perfsim.kernel.weighting import ahp_matrix_from_csv
from perfsim.model.indicators import NOT_APPLICABLE, load_indicator_system
from perfsim.model.portfolio import COLUMN_ZH, load_portfolio
from perfsim.present.template import portfolio_template

CODES = "project_id,name,department,budget,score\n"
ROWS = ("P1,道路养护,交通局,1000000,95\nP2,学校改造,教育局,2000000,72.5\n"
        "P3,林地补助,林业局,500000,58\n")
ZH = "项目编号,项目名称,主管部门,预算（元）,得分\n"


def _scenario(tmp_path, portfolio: str, more: str = "") -> str:
    path = tmp_path / "s.yaml"
    path.write_text(f"name: s\nseed: 1\nportfolio: {{file: {portfolio}}}\n"
                    "grading: {labels: national, cutoffs: [90, 80, 60]}\n"
                    "linkage: {rule: liupanshui, ratio: 0.15, pool: treasury}\n" + more,
                    encoding="utf-8")
    return str(path)


# --- GBK / GB18030 -----------------------------------------------------------------------------

def test_a_gbk_csv_with_chinese_headings_reads_as_the_utf8_one_with_codes(tmp_path):
    (tmp_path / "utf8.csv").write_text(CODES + ROWS, encoding="utf-8")
    (tmp_path / "gbk.csv").write_text(ZH + ROWS, encoding="gb18030")
    (tmp_path / "bom.csv").write_text(ZH + ROWS, encoding="utf-8-sig")
    plain = load_portfolio(tmp_path / "utf8.csv")
    for name in ("gbk.csv", "bom.csv"):
        pf = load_portfolio(tmp_path / name)
        pd.testing.assert_frame_equal(pf.table, plain.table)
    assert plain.notes == () and load_portfolio(tmp_path / "bom.csv").notes == ()
    gbk = load_portfolio(tmp_path / "gbk.csv")
    assert len(gbk.notes) == 1 and "GB18030" in gbk.notes[0] and "GB18030" in str(gbk)
    assert gbk.table["department"].tolist() == ["交通局", "教育局", "林业局"]


def test_the_run_says_which_encoding_it_read(capsys, tmp_path):
    (tmp_path / "gbk.csv").write_text(ZH + ROWS, encoding="gb18030")
    assert main(["run", _scenario(tmp_path, "gbk.csv"), "--out", str(tmp_path / "o")]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.endswith("gbk.csv: 按 GB18030 (GBK) 编码读取 read as GB18030 (GBK), the "
                          "encoding Chinese Excel saves CSV in")


def test_bytes_neither_utf8_nor_gb18030_are_refused_with_save_as_utf8(capsys, tmp_path):
    # 0xFF never occurs in UTF-8 or in GB18030
    (tmp_path / "odd.csv").write_bytes(CODES.encode() + b"P1,\xff\xff,1000,90\n")
    with pytest.raises(InputError) as err:
        load_portfolio(tmp_path / "odd.csv")
    assert "另存为" in str(err.value) and "CSV UTF-8" in str(err.value)
    assert main(["validate", str(tmp_path / "odd.csv")]) == 2
    assert "另存为" in one_error_line(capsys)


def test_every_csv_a_user_gives_may_be_gbk(tmp_path):
    # department flags with Chinese department names
    deps = "department,self_evaluated\n林业局,否\n教育局,是\n"
    (tmp_path / "p.csv").write_text(CODES + ROWS, encoding="utf-8")
    link = ("linkage:\n  rule: grade_table\n  multipliers: {excellent: 1, good: 1, fair: 1, "
            "poor: 0}\n  preconditions: [self_evaluated]\ndepartment_flags: {file: d.csv}\n")
    budgets = {}
    for enc in ("utf-8", "gb18030"):
        (tmp_path / "d.csv").write_text(deps, encoding=enc)
        text = open(_scenario(tmp_path, "p.csv"), encoding="utf-8").read()
        text = text.replace("linkage: {rule: liupanshui, ratio: 0.15, pool: treasury}\n", link)
        (tmp_path / "s.yaml").write_text(text, encoding="utf-8")
        budgets[enc] = perfsim.load(tmp_path / "s.yaml").run_year().allocations[
            "next_budget"].tolist()
    assert budgets["gb18030"] == budgets["utf-8"] == [1000000.0, 2000000.0, 0.0]
    # an AHP matrix whose first cell is Chinese
    matrix = "指标,A,B\nA,1,3\nB,1/3,1\n"
    (tmp_path / "m.csv").write_text(matrix, encoding="gb18030")
    codes, a = ahp_matrix_from_csv(tmp_path / "m.csv")
    assert codes == ["A", "B"] and a.tolist() == [[1.0, 3.0], [1 / 3, 1.0]]


# --- Chinese headings --------------------------------------------------------------------------

def test_chinese_headings_are_the_declared_aliases(tmp_path):
    assert COLUMN_ZH["project_id"][0] == "项目编号" and "主管部门" in COLUMN_ZH["department"]
    (tmp_path / "a.csv").write_text("项目编号,部门,预算,得分\nP1,D,10,90\n", encoding="utf-8")
    (tmp_path / "b.csv").write_text("项目编号 project_id,部门 department,本年预算 budget,"
                                    "得分 score\nP1,D,10,90\n", encoding="utf-8")
    (tmp_path / "c.csv").write_text("project_id,department,budget,score\nP1,D,10,90\n",
                                    encoding="utf-8")
    want = load_portfolio(tmp_path / "c.csv").table
    for name in ("a.csv", "b.csv"):
        pd.testing.assert_frame_equal(load_portfolio(tmp_path / name).table, want)


def test_two_headings_for_one_column_are_refused(tmp_path):
    (tmp_path / "p.csv").write_text("project_id,部门,department,budget,score\nP1,D,D,10,90\n",
                                    encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_portfolio(tmp_path / "p.csv")
    assert err.value.field == "部门" and "two headings name the column 'department'" in str(
        err.value) and "两个表头" in str(err.value)


def test_the_templates_own_chinese_headings_read_back(tmp_path):
    system = load_indicator_system(DATA / "tiny_system.yaml")
    path = portfolio_template(system, tmp_path / "template.xlsx")
    wb = openpyxl.load_workbook(path)
    notes = {r[0].value: r[1].value for r in wb["说明 notes"].iter_rows(min_row=2)
             if r[0].value and r[1].value}
    for cell in wb["项目 projects"][1]:
        cell.value = notes[cell.value]  # the heading as the notes sheet names it in Chinese
    assert wb["项目 projects"]["A1"].value == "项目编号"
    wb.save(tmp_path / "zh.xlsx")
    pd.testing.assert_frame_equal(load_portfolio(tmp_path / "zh.xlsx", system).table,
                                  load_portfolio(path, system).table)


# --- percent-formatted cells -------------------------------------------------------------------

def _workbook(path, rows, percent=()) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    for r in rows:
        ws.append(r)
    for address in percent:
        ws[address].number_format = "0%"
    wb.save(path)


def test_a_percent_score_is_read_as_the_points_it_shows(capsys, tmp_path):
    head = ["project_id", "department", "budget", "score"]
    _workbook(tmp_path / "pct.xlsx", [head, ["P1", "D", 100, 0.98], ["P2", "D", 100, 0.5],
                                      ["P3", "D", 100, 85]], percent=["D2", "D3"])
    _workbook(tmp_path / "pts.xlsx", [head, ["P1", "D", 100, 98], ["P2", "D", 100, 50],
                                      ["P3", "D", 100, 85]])
    pct = load_portfolio(tmp_path / "pct.xlsx")
    assert pct.scores.tolist() == [98.0, 50.0, 85.0]
    pd.testing.assert_frame_equal(pct.table, load_portfolio(tmp_path / "pts.xlsx").table)
    assert pct.notes == ("2 个百分比格式的单元格按显示的数读取 percent-formatted cells read as "
                         "the number shown (e.g. D2 98% → 98)",)
    # 98% read as 0.98 would have been 差 and cancelled: now 优 and kept
    alloc = perfsim.load(_scenario(tmp_path, "pct.xlsx")).run_year().allocations
    assert alloc["grade"].tolist() == ["excellent", "poor", "good"]
    assert main(["run", _scenario(tmp_path, "pct.xlsx"), "--out", str(tmp_path / "o")]) == 0
    assert "pct.xlsx: 2 个百分比格式的单元格" in capsys.readouterr().out.splitlines()[0]


def test_percent_cells_follow_the_leafs_unit_or_are_refused_with_the_address(tmp_path):
    system = load_indicator_system(DATA / "tiny_system.yaml")
    table = pd.read_csv(DATA / "tiny_measured.csv", dtype=object)
    rows = [list(table.columns), *table.astype(object).values.tolist()]
    rows = [[int(v) if isinstance(v, str) and v.isdigit() else v for v in r] for r in rows]
    plain = load_portfolio(DATA / "tiny_measured.csv", system).table
    # A.1.1 is in percent (unit "%"): 80% shown is 80
    col = rows[0].index("A.1.1")
    letter = openpyxl.utils.get_column_letter(col + 1)
    pct = [r[:] for r in rows]
    pct[2][col] = pct[2][col] / 100
    _workbook(tmp_path / "leaf.xlsx", pct, percent=[f"{letter}3"])
    pd.testing.assert_frame_equal(load_portfolio(tmp_path / "leaf.xlsx", system).table, plain)
    # A.1.2 counts days late: a percent there cannot be meant
    col = rows[0].index("A.1.2")
    letter = openpyxl.utils.get_column_letter(col + 1)
    days = [r[:] for r in rows]
    days[3][col] = 0.3
    _workbook(tmp_path / "days.xlsx", days, percent=[f"{letter}4"])
    with pytest.raises(InputError) as err:
        load_portfolio(tmp_path / "days.xlsx", system)
    assert err.value.where == f"cell {letter}4" and err.value.field == "A.1.2"
    assert str(err.value).startswith(f"{tmp_path / 'days.xlsx'}: 单元格 cell {letter}4: ")
    assert "formatted as a percent (30%)" in str(err.value)
    # and a budget shown as a percent
    head = ["project_id", "department", "budget", "score"]
    _workbook(tmp_path / "b.xlsx", [head, ["P1", "D", 100, 90], ["P2", "D", 0.5, 80]],
              percent=["C3"])
    with pytest.raises(InputError, match="单元格 cell C3: 字段 field 'budget'"):
        load_portfolio(tmp_path / "b.xlsx")
    # a percent in a column perfsim does not know: refused as an unknown column
    _workbook(tmp_path / "u.xlsx", [[*head, "rate"], ["P1", "D", 100, 90, 0.5]], percent=["E2"])
    with pytest.raises(InputError, match="unknown column") as err:
        load_portfolio(tmp_path / "u.xlsx")
    assert err.value.field == "rate"


def test_n_a_in_a_workbook_means_not_applicable_as_in_a_csv(tmp_path):
    doc = yaml.safe_load((DATA / "tiny_system.yaml").read_text(encoding="utf-8"))
    leaf = doc["indicators"][1]
    assert leaf["code"] == "B"
    leaf["not_applicable"] = "average"
    (tmp_path / "sys.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False),
                                     encoding="utf-8")
    system = load_indicator_system(tmp_path / "sys.yaml")
    table = pd.read_csv(DATA / "tiny_measured.csv", dtype=str)
    table.loc[1, "B"] = "n/a"
    table.to_csv(tmp_path / "p.csv", index=False)
    table.to_excel(tmp_path / "p.xlsx", index=False)
    a = load_portfolio(tmp_path / "p.csv", system)
    b = load_portfolio(tmp_path / "p.xlsx", system)
    assert a.status["B"].tolist() == b.status["B"].tolist()
    assert a.status["B"][1] == NOT_APPLICABLE


def test_scores_that_look_like_shares_are_refused_with_a_hint(capsys, tmp_path):
    (tmp_path / "p.csv").write_text(CODES + "P1,a,交通局,100,0.98\nP2,b,教育局,100,0.62\n",
                                    encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_portfolio(tmp_path / "p.csv")
    text = str(err.value)
    assert err.value.where == "row 2" and err.value.field == "score" and err.value.value == 0.98
    assert "得分看起来是百分比" in text and "looks like shares, not points" in text
    assert "give points, e.g. 98" in text
    # whole points 0 and 1 are points, not shares
    (tmp_path / "q.csv").write_text(CODES + "P1,a,交通局,100,0\nP2,b,教育局,100,1\n",
                                    encoding="utf-8")
    assert load_portfolio(tmp_path / "q.csv").scores.tolist() == [0.0, 1.0]


# --- the filled-cells notice -------------------------------------------------------------------

def test_the_page_shows_the_filled_cells_notice_the_command_line_prints(capsys, tmp_path):
    shutil.copy(DATA / "tiny_system.yaml", tmp_path / "sys.yaml")
    table = pd.read_csv(DATA / "tiny_measured.csv", dtype=str)
    table.loc[1, "B"] = ""
    table.to_csv(tmp_path / "p.csv", index=False)
    scenario = _scenario(tmp_path, "p.csv", "indicator_system: sys.yaml\n")
    assert main(["run", scenario, "--out", str(tmp_path / "o")]) == 0
    printed = [ln for ln in capsys.readouterr().out.splitlines() if "cells.csv" in ln
               and "空单元格" in ln]
    assert len(printed) == 1 and printed[0].startswith("1 个空单元格已按规则填补")
    page = WhatIf(scenario)
    assert page.error.value == ""
    assert f"<p class='perfsim-notice'>{printed[0]}</p>" in page.status.value
    # a plain portfolio shows no notice, and a failed upload leaves no stale file name
    page = WhatIf(DATA / "tiny_scenario.yaml")
    assert "perfsim-notice" not in page.status.value and "tiny" in page.status.value
    page._open(lambda: compute.load_upload("bad.csv", b"project_id\n"), "bad.csv")
    assert "tiny" not in page.status.value and "bad.csv" in page.status.value
    assert "bad.csv" in page.error.value


def test_an_uploaded_gbk_csv_is_read_and_the_status_says_so():
    page = WhatIf()
    page._open(lambda: compute.load_upload("预算.csv", (ZH + ROWS).encode("gb18030")), "预算.csv")
    assert page.error.value == ""
    assert ("<p class='perfsim-notice'>预算.csv: 按 GB18030 (GBK) 编码读取 read as GB18030 "
            "(GBK)") in page.status.value
    assert "perfsim-app-" not in page.status.value  # the name as uploaded, not the temp copy
