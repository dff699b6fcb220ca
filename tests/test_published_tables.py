"""Published tables scored exactly as printed: rounding of leaves and totals, assessed items,
not-applicable items, blank cells under each missing-value policy (every filled cell listed),
not-submitted cells, and the readings of ambiguous rules as parameters. Every expected number
is worked out by hand in the comments."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

import perfsim
from perfsim.errors import InputError
from perfsim.kernel.evaluation import Measure
from perfsim.model.indicators import load_indicator_system, system_from_dict
from perfsim.model.portfolio import load_portfolio
from perfsim.model.scenario import load_scenario
from perfsim.run.year import run_year

# --- rounding as published ------------------------------------------------------------------

#: ten assessed leaves of 10 points whose printed scores add up to 80.00; the binary sum is
#: 79.99999999999999
EIGHTY = [6.02, 6.31, 8.75, 6.4, 7.43, 9.9, 9.81, 8.62, 7.71, 9.05]


def ten_leaves(rounding) -> dict:
    doc = {"code": "table", "name": "ten assessed items", "total": 100,
           "indicators": [{"code": f"L{k}", "name": f"item {k}", "points": 10,
                           "rule": {"kind": "assessed"}} for k in range(10)]}
    if rounding != "default":
        doc["rounding"] = rounding
    return doc


def write_table(folder: Path, rows: list[list[float]], rounding="default") -> Path:
    (folder / "system.yaml").write_text(yaml.safe_dump(ten_leaves(rounding), allow_unicode=True),
                                        encoding="utf-8")
    lines = ["project_id,department,budget," + ",".join(f"L{k}" for k in range(10))]
    lines += [f"P{i + 1},D1,100," + ",".join(str(v) for v in row) for i, row in enumerate(rows)]
    (folder / "portfolio.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "scenario.yaml").write_text(
        "name: table\nindicator_system: system.yaml\nportfolio: {file: portfolio.csv}\n"
        "linkage: {rule: liupanshui, ratio: 0.15}\n", encoding="utf-8")
    return folder / "scenario.yaml"


def test_a_table_printed_80_00_is_graded_good_on_every_path(tmp_path):
    assert sum(EIGHTY) < 80  # the binary sum that used to be graded 中
    # 89.99 printed: 良; 89.995 (unrounded leaves) prints 90.00: 优; 59.995 prints 60.00: 中
    rows = [EIGHTY, [9.0] * 9 + [8.99], [9.0] * 9 + [8.995], [6.0] * 9 + [5.995]]
    sc = perfsim.load(write_table(tmp_path, rows))
    assert sc.system.total_decimals == 2 and sc.system.leaf_decimals is None  # the default
    y = sc.run_year()
    assert y.allocations["score"].tolist() == [80.0, 89.99, 90.0, 60.0]
    assert y.allocations["grade_zh"].tolist() == ["良", "良", "优", "中"]
    assert sc.scores().tolist() == [80.0, 89.99, 90.0, 60.0]
    mc = sc.simulate(replications=1, years=1, noise=False)  # the Monte Carlo's year 1
    assert mc.replications.loc[0, "count_good"] == 2 and mc.replications.loc[0, "savings"] == (
        y.metrics["savings"])


def test_without_rounding_the_binary_sum_is_graded_as_before(tmp_path):
    sc = load_scenario(write_table(tmp_path, [EIGHTY], rounding=None))
    assert sc.scores()[0] < 80 and run_year(sc).allocations["grade_zh"].tolist() == ["中"]


def test_leaf_rounding_comes_before_the_total():
    # three leaves of 1 point at 0.12345 each: leaves printed 0.12 → total 0.36; rounding only
    # the total gives 0.37035 → 0.37; no rounding 0.37035
    a = np.full((1, 3), 0.12345)
    kw = {"points": np.ones(3), "span": np.ones(3)}
    assert Measure(**kw, leaf_decimals=2, total_decimals=2).score(a)[0] == 0.36
    assert Measure(**kw, total_decimals=2).score(a)[0] == 0.37
    assert Measure(**kw).score(a)[0] == pytest.approx(0.37035)
    # whole points (some tables): 0.37035 → 0; leaves 2.5 + 2.5 → 3 + 3 = 6 (halves go up)
    assert Measure(**kw, total_decimals=0).score(a)[0] == 0.0
    half = Measure(points=np.array([5.0, 5.0]), span=np.ones(2), leaf_decimals=0)
    assert half.score(np.full((1, 2), 0.5))[0] == 6.0


@pytest.mark.parametrize("rounding, problem", [
    ({"leaf": -1}, "rounding.leaf"), ({"total": 2.5}, "rounding.total"),
    ({"totals": 2}, "rounding.totals"), (2, "rounding")])
def test_rounding_is_checked(rounding, problem):
    with pytest.raises(InputError) as info:
        system_from_dict(ten_leaves(rounding), source="t.yaml")
    assert info.value.field == problem and "t.yaml" in str(info.value)


# --- assessed items ---------------------------------------------------------------------------

def test_an_assessors_9_of_10_scores_9_and_out_of_range_points_are_refused(tmp_path):
    sc = load_scenario(write_table(tmp_path, [[9.0] * 10]))
    assert sc.scores()[0] == 90.0  # ten items of 10, each assessed 9
    write_table(tmp_path, [[9.0] * 9 + [10.5]])
    with pytest.raises(InputError) as info:
        load_scenario(tmp_path / "scenario.yaml")
    msg = str(info.value)
    assert "row 2" in msg and "'L9' = 10.5" in msg and "[0, 10]" in msg


def test_a_band_label_checks_the_points(tmp_path, national):
    header = ",".join(["project_id", "department", "budget", *national.codes,
                       "BEN.SOC.2.band"])
    full = {"OUT.QTY.1": 100, "OUT.QTY.2": 10000, "OUT.QUAL.1": 100, "OUT.QUAL.2": 100,
            "OUT.TIME.1": 100, "OUT.TIME.2": 100, "OUT.COST.1": 100, "OUT.COST.2": 500,
            "BEN.ECO.1": 500, "BEN.SOC.1": 95, "BEN.SOC.2": 3.5, "BEN.ECOL.1": 95,
            "BEN.SUST.1": 3.5, "BEN.SUST.2": 5, "SAT": 90, "EXEC": 100}

    def row(pid, soc, band):
        return ",".join([pid, "D1", "100", *(str(soc if c == "BEN.SOC.2" else full[c])
                                              for c in national.codes), band])

    path = tmp_path / "p.csv"
    # 部分达成并具有一定效果 is 80–60% of 3.5 points: [2.1, 2.8]; 2.5 fits, no band fits too
    path.write_text("\n".join([header, row("A", 2.5, "部分达成并具有一定效果"),
                               row("B", 3.2, "")]) + "\n", encoding="utf-8")
    pf = load_portfolio(path, national)
    assert national.score(pf.measurements()).tolist() == [99.0, 99.7]
    path.write_text("\n".join([header, row("A", 2.5, "部分达成并具有一定效果"),
                               row("B", 3.2, "未达成且效果较差")]) + "\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_portfolio(path, national)
    msg = str(info.value)  # 60–0% of 3.5: [0, 2.1]
    assert "row 3" in msg and "'BEN.SOC.2' = 3.2" in msg and "[0, 2.1]" in msg


# --- blank, not applicable and not submitted cells --------------------------------------------

SYSTEM = """
code: cells
name: a table with blanks
total: 100
rounding: {{leaf: 2, total: 2}}
missing: {policy}
impute: {impute}
indicators:
  - {{code: A, name: completion, points: 40, target: 100, rule: proportional}}
  - {{code: B, name: quality, points: 30, target: 100, rule: proportional}}
  - {{code: C, name: assessed quality, points: 20, rule: assessed}}
  - {{code: D, name: days late, points: 10, rule: {{kind: deduct, per: 1, step: 5}},
     not_applicable: {na}}}
"""
# P1 D1: A 100 → 40, B 90 → 27, C 18, D 0 days → 10                       = 95
# P2 D1: A 80 → 32, B blank, C 15, D 7 days → 1 complete period → 9
# P3 D1: A 90 → 36, B 60 → 18, C 12, D n/a
# P4 D2: A blank, B 100 → 30, C 20, D 12 days → 2 periods → 8
# P5 D2: A 70 → 28, B 50 → 15, C 10, D 3 days → 10                        = 63
PORTFOLIO = """project_id,department,budget,A,B,C,D
P1,D1,100,100,90,18,0
P2,D1,100,80,,15,7
P3,D1,100,90,60,12,n/a
P4,D2,100,,100,20,12
P5,D2,100,70,50,10,3
"""


def cells_scenario(folder: Path, policy: str, na: str = "average",
                   impute: str = "department") -> Path:
    (folder / "system.yaml").write_text(SYSTEM.format(policy=policy, na=na, impute=impute),
                                        encoding="utf-8")
    (folder / "portfolio.csv").write_text(PORTFOLIO, encoding="utf-8")
    (folder / "scenario.yaml").write_text(
        "name: cells\nindicator_system: system.yaml\nportfolio: {file: portfolio.csv}\n",
        encoding="utf-8")
    return folder / "scenario.yaml"


def listed(result) -> list[tuple]:
    return [tuple(r) for r in result.cells[["row", "project_id", "code", "cell", "treatment",
                                            "points"]].itertuples(index=False)]


# D (得本项平均分): the average of the four departments that have the item,
# (10 + 9 + 8 + 10) / 4 = 9.25 → P3 = 36 + 18 + 12 + 9.25 = 75.25 under every policy


def test_blanks_score_zero_by_default_and_are_listed(tmp_path):
    # zero (未填报不得分): P2 = 32 + 0 + 15 + 9 = 56; P4 = 0 + 30 + 20 + 8 = 58
    y = run_year(load_scenario(cells_scenario(tmp_path, "zero")))
    assert y.allocations["score"].tolist() == [95.0, 56.0, 75.25, 58.0, 63.0]
    assert listed(y) == [(3, "P2", "B", "blank", "zero", 0.0),
                         (4, "P3", "D", "not applicable", "average of the others", 9.25),
                         (5, "P4", "A", "blank", "zero", 0.0)]
    assert y.summary["filled_cells"] == {"count": 3, "by_treatment": {
        "average of the others": 1, "zero": 2}}


def test_blanks_excluded_rescale_the_rest(tmp_path):
    # exclude: P2 earns 32 + 15 + 9 = 56 of the other 70 points → 56 × 100/70 = 80.00 (良);
    # P4 earns 30 + 20 + 8 = 58 of 60 → 96.666… → 96.67
    y = run_year(load_scenario(cells_scenario(tmp_path, "exclude")))
    assert y.allocations["score"].tolist() == [95.0, 80.0, 75.25, 96.67, 63.0]
    assert y.allocations["grade_zh"].tolist()[:2] == ["优", "良"]
    # the excluded leaf carries the project's share of the rest: B 30 × 0.8 = 24 for P2,
    # A 40 × 58/60 = 38.67 for P4
    assert listed(y)[0] == (3, "P2", "B", "blank", "exclude: the rest rescaled", 24.0)
    assert listed(y)[2] == (5, "P4", "A", "blank", "exclude: the rest rescaled", 38.67)


def test_blanks_imputed_from_the_department_or_the_portfolio(tmp_path):
    # department median: P2's B from D1's 90 and 60 → 75 → 22.5: P2 = 32 + 22.5 + 15 + 9
    # = 78.5; P4's A from D2's only value, 70 → 28: P4 = 28 + 30 + 20 + 8 = 86
    y = run_year(load_scenario(cells_scenario(tmp_path, "impute")))
    assert y.allocations["score"].tolist() == [95.0, 78.5, 75.25, 86.0, 63.0]
    assert listed(y)[0] == (3, "P2", "B", "blank", "impute: department median", 22.5)
    # portfolio median: B of 90, 60, 100, 50 → 75 → 22.5 (P2 = 78.5 again); A of 100, 80, 90,
    # 70 → 85 → 34: P4 = 34 + 30 + 20 + 8 = 92
    y = run_year(load_scenario(cells_scenario(tmp_path, "impute", impute="portfolio")))
    assert y.allocations["score"].tolist() == [95.0, 78.5, 75.25, 92.0, 63.0]
    assert listed(y)[2] == (5, "P4", "A", "blank", "impute: portfolio median", 34.0)


def test_blanks_are_refused_under_error_with_the_row_and_code(tmp_path):
    with pytest.raises(InputError) as info:
        load_scenario(cells_scenario(tmp_path, "error"))
    msg = str(info.value)
    assert "portfolio.csv: 第 3 行 row 3: 字段 field 'B'" in msg and "missing value" in msg


def test_not_applicable_excluded_or_full(tmp_path):
    # exclude: P3 earns 36 + 18 + 12 = 66 of 90 → 73.33; full: 66 + 10 = 76
    y = run_year(load_scenario(cells_scenario(tmp_path, "zero", na="exclude")))
    assert y.allocations["score"][2] == 73.33
    y = run_year(load_scenario(cells_scenario(tmp_path, "zero", na="full")))
    assert y.allocations["score"][2] == 76.0
    assert listed(y)[1] == (4, "P3", "D", "not applicable", "full points", 10.0)


def test_not_applicable_on_an_item_that_always_applies_is_refused(tmp_path):
    path = cells_scenario(tmp_path, "zero")
    (tmp_path / "portfolio.csv").write_text(PORTFOLIO.replace("P5,D2,100,70", "P5,D2,100,不适用"),
                                            encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_scenario(path)
    msg = str(info.value)
    assert "第 6 行 row 6: 字段 field 'A' = '不适用'" in msg and "not_applicable" in msg


def test_not_submitted_scores_zero_whatever_the_policy(tmp_path):
    # 未申报的不得分: P5's D (3 days late, 10 points) marked 未申报 → 0: P5 = 28 + 15 + 10 = 53;
    # the average for P3 is now over 10, 9, 8 → 9 → P3 = 75
    path = cells_scenario(tmp_path, "impute")
    (tmp_path / "portfolio.csv").write_text(PORTFOLIO.replace("10,3\n", "10,未申报\n"),
                                            encoding="utf-8")
    y = run_year(load_scenario(path))
    assert y.allocations["score"].tolist()[2:] == [75.0, 86.0, 53.0]
    assert listed(y)[-1] == (6, "P5", "D", "not submitted", "not submitted: 0", 0.0)


def test_the_cells_are_written_beside_the_results(tmp_path):
    from perfsim.present.report import write_year

    out = write_year(run_year(load_scenario(cells_scenario(tmp_path, "zero"))),
                     tmp_path / "out")
    text = (out / "cells.csv").read_text(encoding="utf-8-sig").splitlines()
    assert text[0] == "row,project_id,department,code,cell,treatment,points"
    assert text[1] == "3,P2,D1,B,blank,zero,0.00" and len(text) == 4


# --- readings as parameters -------------------------------------------------------------------

def test_wenzhou_readings_as_parameters(wenzhou):
    # "每逾期5天扣1分": complete periods (4 days late costs nothing) or started ones (−1)
    time = wenzhou.indicator("TGT.TIME").rule
    assert time.params["periods"] == "complete" and time.earned(np.array([4.0]))[0] == 3.0
    doc = yaml.safe_load(Path(wenzhou.path).read_text(encoding="utf-8"))
    doc["indicators"][0]["children"][0]["children"][0]["rule"]["periods"] = "started"  # 申报管理
    doc["indicators"][3]["children"][0]["rule"]["gap_mode"] = "excess"
    other = system_from_dict(doc)
    assert other.indicator("TGT.TIME").rule.earned(np.array([4.0]))[0] == 2.0
    # "复核分与自评分差距大于10分以上的，每差五分扣1分": self 95, re-check 78 (gap 17):
    # whole 7 × 0.78 − 3 = 2.46; excess 5.46 − 1 = 4.46
    aux = {"self": np.array([95.0])}
    assert wenzhou.indicator("EVAL.RCK").rule.earned(np.array([78.0]), aux)[0] == (
        pytest.approx(2.46))
    assert other.indicator("EVAL.RCK").rule.earned(np.array([78.0]), aux)[0] == (
        pytest.approx(4.46))


def test_not_submitted_marks_are_a_system_setting(tmp_path):
    doc = yaml.safe_load(SYSTEM.format(policy="zero", na="average", impute="department"))
    doc["missing_submission"] = ["未报"]
    (tmp_path / "system.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True),
                                          encoding="utf-8")
    system = load_indicator_system(tmp_path / "system.yaml")
    (tmp_path / "p.csv").write_text(PORTFOLIO.replace("10,3\n", "10,未报\n"), encoding="utf-8")
    assert load_portfolio(tmp_path / "p.csv", system).status["D"].tolist() == [0, 0, 2, 0, 3]
    (tmp_path / "p.csv").write_text(PORTFOLIO.replace("10,3\n", "10,未申报\n"), encoding="utf-8")
    with pytest.raises(InputError, match="第 6 行 row 6: 字段 field 'D' = '未申报': "
                                         "必须是有限的数 / must be a finite number"):
        load_portfolio(tmp_path / "p.csv", system)


@pytest.mark.parametrize("key, value, field", [
    ("missing", "skip", "missing"), ("impute", "mean", "impute"),
    ("missing_submission", [1], "missing_submission"), ("overcompletion", 0.2,
                                                        "overcompletion")])
def test_system_settings_are_checked(key, value, field):
    doc = yaml.safe_load(SYSTEM.format(policy="zero", na="average", impute="department"))
    doc[key] = value
    with pytest.raises(InputError) as info:
        system_from_dict(doc, source="s.yaml")
    assert info.value.field == field


def test_a_leaf_policy_overrides_the_systems(tmp_path):
    doc = yaml.safe_load(SYSTEM.format(policy="zero", na="average", impute="department"))
    doc["indicators"][1]["missing"] = "error"
    (tmp_path / "system.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    system = load_indicator_system(tmp_path / "system.yaml")
    assert [i.missing for i in system.indicators] == ["zero", "error", "zero", "zero"]
    (tmp_path / "p.csv").write_text(PORTFOLIO, encoding="utf-8")
    with pytest.raises(InputError, match="第 3 行 row 3: 字段 field 'B'"):
        load_portfolio(tmp_path / "p.csv", system)


def test_an_excel_system_carries_rounding_and_cell_policies(tmp_path):
    import pandas as pd

    from perfsim.model.indicators import EXCEL_COLUMNS

    rows = [dict.fromkeys(EXCEL_COLUMNS) for _ in range(2)]
    rows[0].update(code="A", points=60, target=100, rule="proportional", missing="error")
    rows[1].update(code="D", points=40, rule="deduct", params='{"per": 1, "step": 5}',
                   not_applicable="full")
    meta = [("code", "x"), ("total", 100), ("rounding_leaf", 1), ("rounding_total", "none"),
            ("missing", "impute"), ("impute", "portfolio")]
    path = tmp_path / "x.xlsx"
    with pd.ExcelWriter(path, engine="openpyxl") as xl:
        pd.DataFrame(rows, columns=list(EXCEL_COLUMNS)).to_excel(xl, sheet_name="indicators",
                                                                  index=False)
        pd.DataFrame(meta, columns=["key", "value"]).to_excel(xl, sheet_name="system",
                                                              index=False)
    system = load_indicator_system(path)
    assert (system.leaf_decimals, system.total_decimals, system.impute) == (1, None, "portfolio")
    assert [(i.missing, i.not_applicable) for i in system.indicators] == [
        ("error", None), ("impute", "full")]
    # A 99.99 → 59.994 → 60.0 (one decimal); D 4 days → 40: the total as computed, 100.0
    m = {"A": np.array([99.99]), "D": np.array([4.0])}
    assert system.score(m)[0] == 100.0
