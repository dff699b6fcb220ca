"""Inputs that used to end in an internal error, a misleading line or a table of blanks are now
one bilingual line each (issue 23): ``perfsim: error: ...``, Chinese first with English
alongside, naming the file, the row as a spreadsheet shows it (the header is row 1), the field
and the value; exit status 2; no traceback."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pandas as pd
import pytest
from conftest import DATA, caught, one_error_line, tiny_scores_scenario

from perfsim.analyse.estimate import budget_change_model
from perfsim.cli import main

CJK = re.compile(r"[\u4e00-\u9fff]")
ROOT = Path(__file__).resolve().parents[1]


def refused(capsys, argv: list[str]) -> str:
    """Run ``perfsim ARGV``: it must exit 2 with one line; the line."""
    assert main(argv) == 2
    line = one_error_line(capsys)
    # the problem itself in Chinese before its English, not only the frame (行 row, 字段 field)
    assert " / " in line, line
    assert CJK.search(line.split(" / ")[0].rsplit(": ", 1)[-1]), line
    return line


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# --- perfsim estimate ------------------------------------------------------------------------

HEADER = "score,grade,budget,next_budget\n"


@pytest.mark.parametrize(("rows", "field"), [
    ("", None),                                                      # no rows at all
    ("90,not_evaluated,100,100\n80,未评价,100,90\n", "grade"),        # nobody evaluated
    ("95,excellent,0,100\n70,fair,0,90\n85,good,0,80\n", "budget"),   # every budget 0
])
def test_budget_change_with_nothing_to_fit(tmp_path, capsys, rows, field):
    csv = write(tmp_path / "alloc.csv", HEADER + rows)
    line = refused(capsys, ["estimate", "budget-change", str(csv)])
    assert str(csv) in line
    if field:
        assert f"字段 field '{field}'" in line


@pytest.mark.parametrize(("cell", "shown", "words"), [
    ("", None, "缺少数值"),                       # a blank cell
    ("nan", None, "缺少数值"),                    # pandas reads NaN
    ("1e308", "1e+308", "过大"),                   # absurd: no budget is that large
    ("inf", "inf", "有限"),
    ("lots", "'lots'", "数字"),
])
def test_budget_change_refuses_a_bad_cell_with_its_row(tmp_path, capsys, cell, shown, words):
    body = ("95,excellent,100,110\n70,fair,100,90\n85,good,100,100\n"
            f"60,poor,{cell},80\n90,excellent,100,105\n")
    csv = write(tmp_path / "alloc.csv", HEADER + body)
    line = refused(capsys, ["estimate", "budget-change", str(csv)])
    # the 4th data row is row 5 of the spreadsheet (the header is row 1)
    where = f"{csv}: 第 5 行 row 5: 字段 field 'budget'"
    assert line.startswith("perfsim: error: " + where), line
    if shown is not None:
        assert f"'budget' = {shown}:" in line
    assert words in line


def test_grades_with_a_blank_score_or_grade(tmp_path, capsys):
    body = "30,20,excellent\n12,,poor\n25,15,good\n20,12,fair\n"
    csv = write(tmp_path / "g.csv", "OUT,BEN,grade\n" + body)
    line = refused(capsys, ["estimate", "grades", str(csv), "--scores", "OUT,BEN"])
    assert f"{csv}: 第 3 行 row 3: 字段 field 'BEN'" in line
    csv = write(tmp_path / "g.csv", "OUT,BEN,grade\n30,20,excellent\n12,10,\n25,15,good\n")
    line = refused(capsys, ["estimate", "grades", str(csv), "--scores", "OUT,BEN"])
    assert f"{csv}: 第 3 行 row 3: 字段 field 'grade'" in line


def test_inflation_with_an_infinite_score_or_no_department(tmp_path, capsys):
    csv = write(tmp_path / "r.csv",
                "department,self_score,recheck_score\nA,90,85\nB,-inf,80\nB,70,60\n")
    line = refused(capsys, ["estimate", "inflation", str(csv)])
    assert "第 3 行 row 3: 字段 field 'self_score' = -inf" in line
    csv = write(tmp_path / "r.csv",
                "department,self_score,recheck_score\nA,90,85\nB,80,80\n,70,60\n")
    line = refused(capsys, ["estimate", "inflation", str(csv)])
    assert "第 4 行 row 4: 字段 field 'department'" in line


def test_grades_on_a_score_the_same_for_all(tmp_path, capsys):
    csv = write(tmp_path / "g.csv", "OUT,grade\n3,poor\n3,good\n3,good\n3,excellent\n3,poor\n")
    line = refused(capsys, ["estimate", "grades", str(csv), "--scores", "OUT"])
    assert "字段 field 'OUT' = 3" in line


def test_inflation_with_the_same_gap_everywhere(tmp_path, capsys):
    """Four projects each re-checked at their own score: no gap varies, so there is no
    department variance to estimate (it used to print a table of blanks)."""
    csv = write(tmp_path / "r.csv", "department,self_score,recheck_score\n"
                "A,90,90\nA,80,80\nB,70,70\nB,75,75\n")
    line = refused(capsys, ["estimate", "inflation", str(csv)])
    assert "'self_score - recheck_score' = 0" in line


def test_budget_change_with_no_more_rows_than_terms(tmp_path, capsys):
    # const, score and one grade dummy: three terms, two rows
    csv = write(tmp_path / "a.csv", HEADER + "95,excellent,100,110\n70,fair,100,90\n")
    line = refused(capsys, ["estimate", "budget-change", str(csv)])
    assert "'rows' = 2" in line


def test_budget_change_with_one_score_for_all(tmp_path, capsys):
    body = "".join(f"80,{g},100,{n}\n" for g, n in
                   [("good", 110), ("good", 90), ("fair", 100), ("fair", 80), ("good", 105)])
    csv = write(tmp_path / "a.csv", HEADER + body)
    line = refused(capsys, ["estimate", "budget-change", str(csv)])
    assert "字段 field 'score' = 80" in line


def test_budget_change_the_same_for_all_is_fitted_exactly_without_warnings(tmp_path, capsys):
    """Every budget up 10 %: the intercept is 0.10 and the score's effect 0, by hand; no
    warning (an undefined R²) on the way."""
    body = "80,good,100,110\n70,good,200,220\n60,fair,100,110\n90,fair,50,55\n95,good,10,11\n"
    csv = write(tmp_path / "a.csv", HEADER + body)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert main(["estimate", "budget-change", str(csv), "--json"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    table = {row["term"]: row for row in json.loads(out)["table"]}
    assert table["const"]["estimate"] == pytest.approx(0.10, abs=1e-12)
    assert table["score"]["estimate"] == pytest.approx(0.0, abs=1e-12)


def test_the_rows_left_out_are_the_ones_the_rule_leaves_out():
    """Not evaluated and zero-budget projects are left out, the rest fitted (counted by
    hand: 8 rows, 1 not evaluated, 1 with budget 0 → 6; changes next / budget − 1)."""
    data = pd.DataFrame({
        "score": [95, 70, 85, 60, 90, 80, 75, 88],
        "budget": [100, 100, 0, 100, 200, 100, 50, 400],
        "grade": ["excellent", "fair", "good", "not_evaluated", "excellent", "good", "fair",
                  "good"],
        "next_budget": [110, 90, 50, 100, 230, 100, 45, 420]})
    est = budget_change_model(data)
    assert est.n_obs == 6
    assert est.result.model.endog.tolist() == pytest.approx([0.10, -0.10, 0.15, 0.0, -0.10,
                                                             0.05])


# --- the other commands ----------------------------------------------------------------------

def test_smaa_with_a_negative_seed(capsys):
    scenario = ROOT / "datasets" / "scenarios" / "weighting_comparison.yaml"
    line = refused(capsys, ["robust", "smaa", str(scenario), "--seed", "-1"])
    assert "--seed" in line and "-1" in line


@pytest.mark.parametrize(("option", "name"), [("--yuan-per-check", "simulation.cost.recheck"),
                                              ("--days-per-check", "recheck_days")])
def test_optimise_checks_names_the_option_given(tmp_path, capsys, option, name):
    path = tiny_scores_scenario(tmp_path, "tiny_inflating", extra=(
        "simulation:\n  self_evaluation: {noise: 0.02, inflation_mean: 0.05}\n"))
    line = refused(capsys, ["optimise-checks", str(path), "--budget", "10", option, "1e308",
                            "--out", str(tmp_path / "o")])
    assert f"字段 field '{option}' = 1e+308" in line
    assert name not in line
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("kind", ["portfolio", "selfeval"])
def test_template_out_under_a_file(tmp_path, capsys, kind):
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    out = tmp_path / "notes.txt" / ("t.xlsx" if kind == "portfolio" else "books")
    extra = ["--projects", "2"] if kind == "selfeval" else []
    line = refused(capsys, ["template", kind, "--out", str(out), *extra])
    assert str(out) in line and "--out" in line
    assert (tmp_path / "notes.txt").read_text(encoding="utf-8") == "mine"


def test_template_out_in_a_missing_folder(tmp_path, capsys):
    out = tmp_path / "nowhere" / "t.xlsx"
    line = refused(capsys, ["template", "portfolio", "--out", str(out)])
    assert str(out) in line
    assert not (tmp_path / "nowhere").exists()


def test_calibrate_refuses_a_target_out_of_any_reach(capsys):
    line = refused(capsys, ["calibrate", str(DATA / "tiny_scenario.yaml"), "--solve",
                            "linkage.ratio", "--target", "cut_total=1e308"])
    assert "字段 field '--target'" in line and "cut_total" in line


def test_calibrate_a_large_but_finite_target_without_warnings(capsys):
    """An unreachable target within the limit is reported as infeasible, and no Python
    warning (an overflow in the solver) is raised on the way."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert main(["calibrate", str(DATA / "tiny_scenario.yaml"), "--solve",
                     "linkage.ratio", "--target", "cut_total=1e15"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert "infeasible" in out


# --- python -m perfsim.cli -------------------------------------------------------------------

def test_python_m_perfsim_cli_refuses_in_one_line(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "perfsim.cli", "estimate", "budget-change",
                           str(tmp_path / "none.csv")], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("perfsim: error: "), proc.stderr
    assert "找不到文件" in lines[0]


@pytest.mark.skipif(not Path("/proc/self/status").exists(),
                    reason="reads /proc to see when the handler is installed")
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_python_m_perfsim_cli_takes_interrupts_while_loading(sig):
    """As the perfsim command does: the handler is in place before the commands load, so an
    interrupt at once is one line and exit status 130, not a traceback."""
    proc = subprocess.Popen([sys.executable, "-m", "perfsim.cli", "--help"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while signal.SIGTERM not in caught(proc.pid):
            assert proc.poll() is None and time.monotonic() < deadline, proc.poll()
            time.sleep(0.002)
        assert proc.poll() is None
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert (proc.returncode, err) == (130, "perfsim: interrupted\n")


#: What finance systems export under an Excel name: what each is called in the line
EXPORTS = {
    "web": (b"<html><body><table><tr><td>project_id</td></tr></table></body></html>",
            "网页文件", "a web page"),
    "xml": (b'<?xml version="1.0"?><Workbook xmlns="urn:schemas-microsoft-com:office:'
            b'spreadsheet"></Workbook>', "XML 电子表格 2003", "an XML Spreadsheet 2003 file"),
    "text": ("project_id,部门,budget,score\n".encode("gbk"), "文本文件", "a text file"),
}


@pytest.mark.parametrize("export", EXPORTS)
@pytest.mark.parametrize("command", ["validate", "run", "system"])
def test_an_export_named_xlsx_says_to_save_it_as_xlsx(tmp_path, capsys, export, command):
    data, zh, en = EXPORTS[export]
    book = tmp_path / "portfolio.xlsx"
    book.write_bytes(data)
    if command == "validate":
        argv = ["validate", str(book)]
    else:
        system = "key_evaluation_framework.yaml" if command == "run" else book.name
        if command == "run":
            (tmp_path / system).write_bytes(
                (ROOT / "datasets" / "indicator_systems" / system).read_bytes())
        scenario = write(tmp_path / "s.yaml", f"name: s\nportfolio: {{file: {book.name}}}\n"
                                                f"indicator_system: {system}\n")
        argv = ["run", str(scenario), "--out", str(tmp_path / "out")]
    line = refused(capsys, argv)
    assert str(book) in line and zh in line.split(" / ")[0] and en in line
    assert "另存为 .xlsx" in line and "save it as .xlsx" in line
