"""The national template as its tables are filled in: budget execution given as 全年预算数 /
全年执行数 (the rate derived), and over-completion marking that never marks down a
lower-is-better row that met its target (an error rate of 0 against ≤ 2%)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import SCENARIOS, SYSTEMS, one_error_line

from perfsim.cli import main
from perfsim.errors import InputError
from perfsim.kernel.measurement import with_overcompletion
from perfsim.kernel.scoring import make_rule
from perfsim.model.indicators import BLANK, VALUE, load_indicator_system
from perfsim.model.portfolio import load_portfolio
from perfsim.model.scenario import load_scenario
from perfsim.run.year import run_year

# --- over-completion and lower-is-better rows ----------------------------------------------

TWO_ROWS = """\
code: two_rows
name: {zh: 两行示例, en: Two rows}
total: 100
overcompletion: {threshold: 0.2, rate: 1.0}
indicators:
  - code: QTY
    name: {zh: 完成率, en: Completion rate}
    points: 80
    unit: "%"
    target: 100
    rule: {kind: proportional}
  - code: ERR
    name: {zh: 差错率, en: Error rate}
    points: 20
    unit: "%"
    target: 2
    direction: lower
    rule: {kind: proportional}
"""


@pytest.fixture()
def two_rows(tmp_path) -> Path:
    path = tmp_path / "two_rows.yaml"
    path.write_text(TWO_ROWS, encoding="utf-8")
    return path


def test_zero_against_at_most_two_percent_earns_full_points(two_rows):
    # over-completion on for the whole system; the ≤ 2% row: 0, 1 and 2 have met the target
    # → 20 each; 2.5 misses it → 20 × 2 / 2.5 = 16; 4 → 20 × 2 / 4 = 10 (the template rule)
    system = load_indicator_system(two_rows)
    err = system.indicator("ERR").rule
    np.testing.assert_allclose(err.earned(np.array([0.0, 1.0, 2.0, 2.5, 4.0])),
                               [20.0, 20.0, 20.0, 16.0, 10.0])
    # the higher-is-better row is still marked down: 150 is 0.3 beyond the threshold → 56
    qty = system.indicator("QTY").rule
    np.testing.assert_allclose(qty.earned(np.array([100.0, 120.0, 150.0])), [80.0, 80.0, 56.0])


def test_the_two_row_case_scores_full_marks_with_an_error_rate_of_zero(two_rows, tmp_path):
    # P1: QTY 100 → 80, ERR 0 against ≤ 2% → 20: 100 (the marking took it to 84: 80 + 4)
    # P2: QTY 150 → 80 × (1 − 0.3) = 56, ERR 3 → 20 × 2 / 3 = 13.33: 69.33
    (tmp_path / "p.csv").write_text("project_id,department,budget,QTY,ERR\n"
                                    "P1,D,100000,100,0\nP2,D,100000,150,3\n", encoding="utf-8")
    (tmp_path / "s.yaml").write_text(
        f"name: two_rows\nseed: 0\nindicator_system: {two_rows}\n"
        f"portfolio: {{file: {tmp_path / 'p.csv'}}}\n"
        "grading: {labels: national, cutoffs: [90, 80, 60]}\n"
        "linkage: {rule: liupanshui, ratio: 0.15, pool: treasury}\n", encoding="utf-8")
    y = run_year(load_scenario(tmp_path / "s.yaml"))
    assert y.allocations["score"].tolist() == pytest.approx([100.0, 69.33], abs=0.005)
    assert y.allocations["grade_zh"].tolist()[0] == "优"


def test_the_simulations_overcompletion_setting_passes_lower_is_better_leaves_by():
    cost = make_rule("proportional", target=500, direction="lower", points=5)
    marked = with_overcompletion(cost, threshold=0.2, rate=2.0)
    assert "overcompletion" not in marked.params
    # 0, 300 (40% under) and 500 met the target: 5; 625 over it: 5 × 500 / 625 = 4
    np.testing.assert_allclose(marked.earned(np.array([0.0, 300.0, 500.0, 625.0])),
                               [5.0, 5.0, 5.0, 4.0])


def test_a_leafs_own_overcompletion_on_a_lower_is_better_leaf_is_refused(tmp_path, capsys):
    text = TWO_ROWS.replace("overcompletion: {threshold: 0.2, rate: 1.0}\n", "").replace(
        "direction: lower\n    rule: {kind: proportional}",
        "direction: lower\n    rule: {kind: proportional, overcompletion: {threshold: 0.2}}")
    path = tmp_path / "own.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_indicator_system(path)
    assert info.value.field == "rule.overcompletion"
    assert main(["validate", str(path)]) == 2
    line = one_error_line(capsys)
    assert "ERR" in line and "overcompletion" in line
    assert "越低越好" in line and "higher-is-better" in line


# --- budget execution as 全年预算数 / 全年执行数 --------------------------------------------

EXEC_SYSTEM = """\
code: exec_demo
name: {zh: 执行示例, en: Execution demo}
total: 100
indicators:
  - code: QTY
    name: {zh: 完成率, en: Completion rate}
    points: 90
    unit: "%"
    target: 100
    rule: {kind: proportional}
  - code: EXEC
    name: {zh: 预算执行率, en: Budget execution rate}
    points: 10
    unit: "%"
    target: 100
    rule: {kind: execution_rate, floor: 0}
"""


@pytest.fixture()
def exec_system(tmp_path) -> Path:
    path = tmp_path / "exec.yaml"
    path.write_text(EXEC_SYSTEM, encoding="utf-8")
    return path


def _portfolio(tmp_path: Path, header: str, *rows: str) -> Path:
    path = tmp_path / "p.csv"
    path.write_text("\n".join((header, *rows)) + "\n", encoding="utf-8")
    return path


def test_the_rate_is_derived_from_the_amounts(tmp_path, exec_system):
    # P1 1,500,000 of 2,000,000 → 75% → 7.5 points; P2 2,400,000 of 2,000,000 → 120%, capped
    # → 10; P3 0 of 800,000 → 0%; P4 gives neither amount and there is no rate column: a
    # blank rate, 0 points (missing: zero); QTY 100 → 90 everywhere
    system = load_indicator_system(exec_system)
    pf = load_portfolio(_portfolio(tmp_path, "project_id,department,budget,QTY,budget_full,"
                                   "executed", "P1,D,2000000,100,2000000,1500000",
                                   "P2,D,2000000,100,2000000,2400000",
                                   "P3,D,800000,100,800000,0", "P4,D,1,100,,"), system)
    np.testing.assert_allclose(pf.table["EXEC"], [75.0, 120.0, 0.0, np.nan])
    np.testing.assert_allclose(system.score(pf.measurements()), [97.5, 100.0, 90.0, 90.0])
    assert pf.status["EXEC"].tolist() == [VALUE, VALUE, VALUE, BLANK]


def test_chinese_headings_in_wan_yuan(tmp_path, exec_system):
    # 全年预算数（万元） 200 and 全年执行数（万元） 150.5: 1,505,000 of 2,000,000 yuan → 75.25%
    system = load_indicator_system(exec_system)
    pf = load_portfolio(_portfolio(tmp_path, "项目编号,部门,预算,QTY,全年预算数（万元）,"
                                   "全年执行数（万元）", "P1,D,2000000,100,200,150.5"), system)
    assert pf.table["budget_full"].tolist() == [2_000_000.0]
    assert pf.table["executed"].tolist() == [1_505_000.0]
    assert pf.table["EXEC"].tolist() == pytest.approx([75.25])
    assert system.score(pf.measurements()).tolist() == pytest.approx([97.53], abs=0.005)


def test_a_rate_that_agrees_to_the_fen_is_accepted(tmp_path, exec_system):
    # 85% of 1,000,000 is 850,000; 850,000.01 is a fen off: accepted; a row without amounts
    # keeps its rate (60 → 6 points)
    system = load_indicator_system(exec_system)
    pf = load_portfolio(_portfolio(tmp_path, "project_id,department,budget,QTY,EXEC,"
                                   "budget_full,executed", "P1,D,1,100,85,1000000,850000",
                                   "P2,D,1,100,85,1000000,850000.01", "P3,D,1,100,60,,"),
                        system)
    np.testing.assert_allclose(pf.table["EXEC"], [85.0, 85.000001, 60.0])
    np.testing.assert_allclose(system.score(pf.measurements()), [98.5, 98.5, 96.0])


def test_a_rate_that_disagrees_beyond_a_fen_is_refused(tmp_path, exec_system, capsys):
    # 85% of 1,000,000 is 850,000; 850,000.02 is two fen off
    path = _portfolio(tmp_path, "project_id,department,budget,QTY,预算执行率,budget_full,"
                      "executed", "P1,D,1,100,85,1000000,850000", "P2,D,1,100,85,1000000,"
                      "850000.02")
    assert main(["validate", str(path), "--system", str(exec_system)]) == 2
    line = one_error_line(capsys)
    assert str(path) in line and "row 3" in line and "预算执行率" in line and "= 85" in line
    assert "超过一分钱" in line and "more than a fen" in line and "0.02 yuan" in line


@pytest.mark.parametrize("rows, where, field, words", [
    # nothing budgeted, 5,000 executed
    (("P1,D,1,100,0,5000",), "row 2", "budget_full", ("全年预算数为 0", "no full-year budget",
                                                      "5,000.00")),
    # one amount without the other
    (("P1,D,1,100,100,100", "P2,D,1,100,,100"), "row 3", "budget_full",
     ("为空", "blank beside 全年执行数 executed")),
    (("P1,D,1,100,-1,0",), "row 2", "budget_full", ("必须 ≥ 0", "must be >= 0")),
    (("P1,D,1,100,100,lots",), "row 2", "executed", ("有限", "must be a finite number")),
])
def test_amounts_refused_with_one_line(tmp_path, exec_system, capsys, rows, where, field,
                                       words):
    path = _portfolio(tmp_path, "project_id,department,budget,QTY,budget_full,executed", *rows)
    assert main(["validate", str(path), "--system", str(exec_system)]) == 2
    line = one_error_line(capsys)
    assert str(path) in line and where in line and f"'{field}'" in line
    for word in words:
        assert word in line


def test_a_marked_rate_beside_amounts_is_refused(tmp_path, exec_system):
    path = _portfolio(tmp_path, "project_id,department,budget,QTY,EXEC,budget_full,executed",
                      "P1,D,1,100,n/a,100,50")
    with pytest.raises(InputError) as info:
        load_portfolio(path, load_indicator_system(exec_system))
    assert (info.value.where, info.value.field) == ("row 2", "EXEC")
    assert "已标记" in str(info.value)


def test_amounts_need_both_columns_and_an_execution_leaf(tmp_path, exec_system, two_rows):
    path = _portfolio(tmp_path, "project_id,department,budget,QTY,EXEC,全年预算数",
                      "P1,D,1,100,85,100")
    with pytest.raises(InputError) as info:
        load_portfolio(path, load_indicator_system(exec_system))
    assert info.value.field == "全年预算数" and "全年执行数 executed" in str(info.value)
    path = _portfolio(tmp_path, "project_id,department,budget,QTY,ERR,budget_full,executed",
                      "P1,D,1,100,0,100,50")
    with pytest.raises(InputError) as info:
        load_portfolio(path, load_indicator_system(two_rows))
    assert info.value.field == "budget_full" and "execution-rate leaf" in str(info.value)


def test_the_bundled_example_derives_its_rates_from_the_amounts():
    # NT-1 4,250,000 / 5,000,000 = 85%; NT-2 2,000,000 / 2,500,000 = 80%; NT-3 540,000 /
    # 1,200,000 = 45% → 8.5, 8 and 4.5 of the 10 points; linkage still moves the budget column
    sc = load_scenario(SCENARIOS / "national_template_example.yaml")
    np.testing.assert_allclose(sc.portfolio.table["EXEC"], [85.0, 80.0, 45.0])
    rule = sc.system.indicator("EXEC").rule
    np.testing.assert_allclose(rule.earned(sc.portfolio.table["EXEC"].to_numpy()),
                               [8.5, 8.0, 4.5])
    assert sc.portfolio.budget.tolist() == [5_000_000, 2_400_000, 1_200_000]


# --- the template workbook ------------------------------------------------------------------

def test_the_national_template_offers_the_amounts(tmp_path):
    from openpyxl import load_workbook

    path = tmp_path / "national.xlsx"
    system_path = SYSTEMS / "national_project_self_eval.yaml"
    assert main(["template", "portfolio", "--system", str(system_path), "--out",
                 str(path)]) == 0
    wb = load_workbook(path)
    ws = wb["项目 projects"]
    header = [c.value for c in ws[1]]
    k = header.index("EXEC")
    assert header[k + 1:k + 3] == ["budget_full", "executed"]
    notes = {r[0].value: r for r in wb["说明 notes"].iter_rows(min_row=2) if r[0].value}
    assert notes["budget_full"][1].value == "全年预算数（元）"
    assert notes["executed"][1].value == "全年执行数（元）"
    for code in ("budget_full", "executed"):
        note = notes[code][3].value
        assert "万元" in note and "yuan" in note and "executed / budget_full" in note
    # the example row: 1,000,000 executed of 1,000,000 beside a rate of 100; with the rate
    # cell cleared, the rate is derived from the amounts: 100 again
    system = load_indicator_system(system_path)
    assert load_portfolio(path, system).table["EXEC"].tolist() == [100.0]
    ws.cell(row=2, column=k + 1).value = None
    ws.cell(row=2, column=k + 3).value = 900_000
    wb.save(tmp_path / "filled.xlsx")
    pf = load_portfolio(tmp_path / "filled.xlsx", system)
    assert pf.table["EXEC"].tolist() == pytest.approx([90.0])
    assert float(system.score(pf.measurements())[0]) == pytest.approx(99.0)


def test_a_template_without_an_execution_leaf_offers_no_amounts(tmp_path):
    path = tmp_path / "wenzhou.xlsx"
    assert main(["template", "portfolio", "--system", str(SYSTEMS / "wenzhou_2013.yaml"),
                 "--out", str(path)]) == 0
    from openpyxl import load_workbook

    header = [c.value for c in load_workbook(path)["项目 projects"][1]]
    assert "budget_full" not in header and "executed" not in header
