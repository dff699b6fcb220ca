"""``perfsim import``: what it writes (three CSVs, the review workbook and page), what it
prints, formula-looking text written escaped, and bad input as one line with exit 2."""

from __future__ import annotations

import openpyxl
import pandas as pd
from conftest import one_error_line
from forms_tables import Table, clean_table, workbook
from test_forms_score import PLANTED

from perfsim.cli import main
from perfsim.forms import vocabulary as V
from perfsim.io import read_marker
from perfsim.present.review import by_department


def test_import_writes_four_csvs_a_workbook_and_a_page(tmp_path, capsys):
    folder = tmp_path / "in"
    workbook(folder / "水利.xlsx", clean_table())
    layout, _ = PLANTED["grade_changes"]
    workbook(folder / "道路.xlsx", Table(**layout, project="乡村道路", department="县交通局",
                                        funds=(400, 600, 450)))
    out = tmp_path / "out"
    assert main(["import", str(folder), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"wrote {out}" in printed
    assert "2 files, 2 tables, 12 leaves, 2 findings" in printed
    assert read_marker(out)["kind"] == "import"
    for name, cols in (("projects", V.PROJECT_COLUMNS), ("leaves", V.LEAF_COLUMNS),
                       ("tasks", V.TASK_COLUMNS), ("findings", V.FINDING_COLUMNS)):
        raw = (out / f"{name}.csv").read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf")  # utf-8-sig: Excel opens it in Chinese
        assert tuple(pd.read_csv(out / f"{name}.csv", encoding="utf-8-sig").columns) == cols
    projects = pd.read_csv(out / "projects.csv", encoding="utf-8-sig")
    assert projects["budget_full"].tolist() == [1_200_000.0, 6_000_000.0]
    assert projects["recomputed_total"].tolist() == [92.05, 88.05]
    found = pd.read_csv(out / "findings.csv", encoding="utf-8-sig")
    assert set(found["kind"]) == {"score_mismatch", "grade_changes"}
    assert set(found["project"]) == {"乡村道路"}
    wb = openpyxl.load_workbook(out / "review.xlsx")
    assert wb.sheetnames[0] == "复核发现 findings"
    assert wb["复核发现 findings"]["D1"].value == "类别 kind"
    page = (out / "review.html").read_text(encoding="utf-8")
    assert "<script" not in page and "http" not in page
    assert "县交通局" in page and "6,000,000.00" in page


def test_findings_are_sorted_by_money_at_stake_and_counted_by_department(tmp_path):
    folder = tmp_path / "in"
    small, _ = PLANTED["total_mismatch"]
    big, _ = PLANTED["actual_blank"]
    workbook(folder / "a.xlsx", Table(**small, department="甲局", funds=(10, 20, 15)))
    workbook(folder / "b.xlsx", Table(**big, department="乙局", funds=(500, 800, 600)))
    workbook(folder / "c.xlsx", clean_table(department="甲局"))
    out = tmp_path / "out"
    assert main(["import", str(folder), "--out", str(out)]) == 0
    found = pd.read_csv(out / "findings.csv", encoding="utf-8-sig")
    assert found["department"].tolist() == ["乙局", "甲局"]  # 800 万元 before 20 万元
    projects = pd.read_csv(out / "projects.csv", encoding="utf-8-sig")
    counts = by_department(found, projects).set_index("department")
    assert counts.loc["甲局", "tables"] == 2 and counts.loc["甲局", "total_mismatch"] == 1
    assert counts.loc["乙局", "actual_blank"] == 1 and counts.loc["乙局", "findings"] == 1


def test_text_that_looks_like_a_formula_is_written_escaped(tmp_path):
    path = workbook(tmp_path / "in.xlsx", clean_table(project="=HYPERLINK(\"x\")",
                                                      department="+县局", unit="@单位"))
    out = tmp_path / "out"
    assert main(["import", str(path), "--out", str(out)]) == 0
    text = (out / "projects.csv").read_text(encoding="utf-8-sig")
    assert "'=HYPERLINK" in text and "'+县局" in text and "'@单位" in text
    ws = openpyxl.load_workbook(out / "review.xlsx")["项目 tables"]
    (cell,) = [c for c in ws[2] if c.value == "=HYPERLINK(\"x\")"]  # as typed, but text
    assert cell.data_type == "s" and cell.quotePrefix
    assert all(c.data_type != "f" for c in ws[2])


def test_one_bad_file_is_reported_and_the_rest_imported(tmp_path, capsys):
    folder = tmp_path / "in"
    workbook(folder / "a.xlsx", clean_table())
    (folder / "b.xlsx").write_bytes(b"garbage")
    out = tmp_path / "out"
    assert main(["import", str(folder), "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert "b.xlsx" in captured.err and captured.err.count("\n") == 1
    assert "1 files not imported" in captured.out
    found = pd.read_csv(out / "findings.csv", encoding="utf-8-sig")
    assert found["kind"].tolist() == [V.FILE_FINDING[0]]
    assert main(["import", str(folder), "--out", str(tmp_path / "out2"), "--strict"]) == 2
    assert "b.xlsx" in one_error_line(capsys)
    assert not (tmp_path / "out2").exists()


def test_bad_input_is_one_line_with_exit_2(tmp_path, capsys):
    path = tmp_path / "budget.xlsx"
    wb = openpyxl.Workbook()
    wb.active.append(["项目", "金额"])
    wb.save(path)
    assert main(["import", str(path), "--out", str(tmp_path / "out")]) == 2
    line = one_error_line(capsys)
    assert str(path) in line and "不是绩效自评表" in line
    assert main(["import", str(tmp_path / "missing.xlsx"), "--out", str(tmp_path / "o")]) == 2
    assert "missing.xlsx" in one_error_line(capsys)
    levels = tmp_path / "levels.yaml"
    levels.write_text("levels: {好: 2}\n", encoding="utf-8")
    good = workbook(tmp_path / "t.xlsx", clean_table())
    assert main(["import", str(good), "--out", str(tmp_path / "o"), "--levels",
                 str(levels)]) == 2
    assert "levels.好" in one_error_line(capsys)


def test_when_no_file_imports_the_first_reason_is_said_once(tmp_path, capsys):
    folder = tmp_path / "in"
    for name in ("a.xlsx", "b.xlsx"):
        path = workbook(folder / name, clean_table())
        wb = openpyxl.load_workbook(path)
        wb.active["H20"] = "=SUM(H5,H12:H17)"
        wb.save(path)
    assert main(["import", str(folder / "a.xlsx"), "--out", str(tmp_path / "o1")]) == 2
    line = one_error_line(capsys)
    assert line.count("H20") == 2 and line.count(" / ") == 1   # Chinese once, English once
    assert line.count("a.xlsx") == 1
    assert main(["import", str(folder), "--out", str(tmp_path / "o2")]) == 2
    line = one_error_line(capsys)
    assert line.count("H20") == 2 and line.count("a.xlsx") == 1
    assert line.endswith("(另有 1 个文件未导入 and 1 more files not imported)")
    assert not (tmp_path / "o1").exists() and not (tmp_path / "o2").exists()


def test_a_csv_is_sent_to_perfsim_run(tmp_path, capsys):
    path = tmp_path / "portfolio.csv"
    path.write_text("project_id,department,budget,score\nP1,财政局,1000,88\n", encoding="utf-8")
    assert main(["import", str(path), "--out", str(tmp_path / "out")]) == 2
    line = one_error_line(capsys)
    assert line.startswith(f"perfsim: error: {path}: CSV 文件不是自评表工作簿")
    zh, _, en = line.partition(" / ")
    assert "perfsim run" in zh and "perfsim validate" in zh
    assert "perfsim run" in en and "perfsim validate" in en and "flat portfolio CSV" in en
    assert not (tmp_path / "out").exists()


def test_department_tables_write_their_tasks_and_spending_lines(tmp_path, capsys):
    folder = tmp_path / "in"
    workbook(folder / "a_水利.xlsx", clean_table())
    workbook(folder / "b_部门.xlsx", clean_table(
        form="department", department="县林业局",
        lines={"基本支出": (30, 40.5, 35.25), "项目支出": (70, 79.5, "")},
        tasks=[("造林绿化", "完成造林 1.2 万亩", 60.12, 55.3, "基本完成"),
               ("森林防火", "", "", 12, "")]))
    out = tmp_path / "out"
    assert main(["import", str(folder), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "tasks.csv" in printed and "2 tasks" in printed
    projects = pd.read_csv(out / "projects.csv", encoding="utf-8-sig", dtype=str,
                           keep_default_na=False)
    spend = ["basic_budget_full", "basic_executed", "project_spending_budget_full",
             "project_spending_executed"]
    by_form = projects.set_index("form")[spend]
    assert by_form.loc["project"].tolist() == ["", "", "", ""]      # no such lines: blank
    assert [float(v) if v else None for v in by_form.loc["department"]] == [
        405_000.0, 352_500.0, 795_000.0, None]                        # 万元 × 10,000; blank
    tasks = pd.read_csv(out / "tasks.csv", encoding="utf-8-sig", dtype=str,
                        keep_default_na=False)
    assert tuple(tasks.columns) == V.TASK_COLUMNS
    assert tasks[["project_id", "department", "row", "task", "content", "budget", "executed",
                  "status"]].values.tolist() == [
        ["b_部门.xlsx:Sheet1", "县林业局", "8", "造林绿化", "完成造林 1.2 万亩", "601200.0",
         "553000.0", "基本完成"],
        ["b_部门.xlsx:Sheet1", "县林业局", "9", "森林防火", "", "", "120000.0", ""]]
    ws = openpyxl.load_workbook(out / "review.xlsx")["年度主要任务 tasks"]
    rows = list(ws.values)
    assert rows[0][:9] == ("项目编号 project_id", "文件 file", "工作表 sheet",
                           "部门 department", "行 row", "任务名称 task", "主要内容 content",
                           "预算数（元） budget", "执行数（元） executed")
    assert [r[5] for r in rows[1:]] == ["造林绿化", "森林防火"]
    assert rows[1][7] == 601_200 and ws["H2"].number_format == "#,##0.00"


def test_levels_option_changes_the_recomputed_score(tmp_path):
    levels = tmp_path / "levels.yaml"
    levels.write_text("levels: {有效提升: 1.0, 基本达成: 0.5}\n", encoding="utf-8")
    path = workbook(tmp_path / "t.xlsx", clean_table())
    out = tmp_path / "out"
    assert main(["import", str(path), "--out", str(out), "--levels", str(levels)]) == 0
    leaves = pd.read_csv(out / "leaves.csv", encoding="utf-8-sig")
    assert leaves["recomputed_score"].tolist()[4] == 10.0  # 0.5 × 20 instead of 0.8 × 20


def test_an_existing_folder_that_is_not_perfsims_is_refused(tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep", encoding="utf-8")
    path = workbook(tmp_path / "t.xlsx", clean_table())
    assert main(["import", str(path), "--out", str(out)]) == 2
    assert "not a perfsim output directory" in one_error_line(capsys)
    assert (out / "notes.txt").read_text(encoding="utf-8") == "keep"
