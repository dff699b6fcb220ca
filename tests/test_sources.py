"""The bundled source scenarios run their sources' defining rules from the file, with no
`--set`: Zhucheng's monitoring, Weifang's 22 + 7 evaluations and its year-end clearing (the
first of its two alternatives), Wenzhou's 申报管理 heading, adjustment row and re-check gap
rule on the department's score; Liupanshui says what is fitted, and the money rated 中 moves
with what is not; the pre-evaluation's assumed rejections against the doubtful 217 million;
Fujian in the source table of docs/tasks/cycle.md. Each changed behaviour is computed here by
hand."""

from __future__ import annotations

import csv
import json
import re

import numpy as np
import pandas as pd
import pytest
from conftest import DATASETS, SCENARIOS, one_error_line
from docs_pages import page

import perfsim
from perfsim.cli import main
from perfsim.errors import InputError
from perfsim.kernel.evaluation import Costs
from perfsim.run.assumptions import generator_sweep

WENZHOU_CSV = DATASETS / "portfolios" / "wenzhou_2013_departments.csv"


def published(key: str) -> float:
    with open(DATASETS / "calibration" / "published_figures.csv", encoding="utf-8") as f:
        return next(float(r["value"]) for r in csv.DictReader(f) if r["key"] == key)


# --- Zhucheng: the two checkpoints from the file -----------------------------------------------

def test_zhucheng_monitors_at_its_two_checkpoints_without_set():
    sc = perfsim.load(SCENARIOS / "zhucheng_2022.yaml")
    assert sc.has_simulation
    assert sc.settings.checkpoints == ((0.5, 0.3), (0.75, 0.5))   # Jan-Jun, Jan-Sep
    alloc = sc.run_year().allocations
    on_schedule = sc.simulate(replications=1, years=1, noise=False).replications.iloc[0]
    # on schedule (the default pace) and noise off, every project has executed 50% by the
    # end of June and 75% by September: above both minimums, nothing is recovered
    assert on_schedule["recovered"] == 0
    row = sc.set({"simulation.monitoring.pace": "performance"}).simulate(
        replications=1, years=1, noise=False).replications.iloc[0]
    # pace tied to performance, noise off: a project executes score / 100 of its budget
    # over the year, so by the end
    # of June 0.5 × p and of September 0.75 × p; below 30% (June) its idle funds
    # budget × (0.5 − 0.5 p) are recovered, else below 50% (September) budget × (0.75 − 0.75 p)
    p = alloc["score"].to_numpy() / 100
    b = alloc["budget"].to_numpy()
    june = 0.5 * p < 0.3
    september = ~june & (0.75 * p < 0.5)
    by_hand = (b * (0.5 - 0.5 * p))[june].sum() + (b * (0.75 - 0.75 * p))[september].sum()
    assert june.sum() + september.sum() > 0
    assert row["recovered"] == pytest.approx(by_hand, rel=1e-12)


def test_zhucheng_runs_the_monte_carlo_from_the_command_line_and_one_year_on_request(
        tmp_path, capsys):
    path = SCENARIOS / "zhucheng_2022.yaml"
    assert main(["run", str(path), "--replications", "8", "--out", str(tmp_path / "mc")]) == 0
    summary = json.loads((tmp_path / "mc" / "summary.json").read_text())
    assert len(summary["metrics"]["recovered"]) == 3                 # the file's 3 years
    assert summary["metrics"]["recovered"][0]["mean"] > 0            # monitoring recovered
    assert main(["run", str(path), "--one-year", "--out", str(tmp_path / "one")]) == 0
    assert (tmp_path / "one" / "allocations.csv").exists()
    capsys.readouterr()
    assert main(["run", str(path), "--one-year", "--years", "2",
                 "--out", str(tmp_path / "bad")]) == 2
    line = one_error_line(capsys)
    assert "--one-year" in line and "--years" in line


# --- Weifang: 22 self + 7 intermediary = 29 evaluations; clearing OR cut -----------------------

def test_an_intermediary_evaluation_stands_in_for_the_self_evaluation():
    # one row, five projects: two checked by an intermediary (code 1), one by finance (0)
    evaluated = np.ones((1, 5), dtype=bool)
    checked = np.array([[False, True, True, True, False]])
    evaluator = np.array([[-1, 1, 0, 1, -1]], dtype=np.int8)
    kw = dict(self_yuan=2000.0, recheck_yuan=10000.0, intermediary_yuan=30000.0,
              self_days=2.0, recheck_days=3.0, intermediary_days=4.0)
    both = Costs(**kw).of(evaluated, checked, evaluator)
    instead = Costs(**kw, instead_of_self=True).of(evaluated, checked, evaluator)
    # every project self-evaluates: 5 × 2,000 + 10,000 + 2 × 30,000
    assert both["total"][0] == 5 * 2000 + 10000 + 2 * 30000
    # the intermediaries' two stand in: 3 × 2,000 + 10,000 + 2 × 30,000 (days 3×2 + 3 + 2×4)
    assert instead["self"][0] == 3 * 2000
    assert instead["total"][0] == 3 * 2000 + 10000 + 2 * 30000
    assert instead["days"][0] == 3 * 2 + 3 + 2 * 4


def test_weifang_evaluates_29_projects_22_by_the_units_and_7_by_intermediaries():
    sc = perfsim.load(SCENARIOS / "weifang.yaml")
    mc = sc.simulate(replications=16)
    reps = mc.replications
    # 7 of 29 by intermediaries, 22 by the units: 22 + 7 = 29 evaluations, not 29 + 7
    assert mc.sample["checked"].sum() == 7
    assert (reps["evaluation_cost_self"] / 2000 == 22).all()
    assert (reps["evaluation_cost_recheck"] / 30000 == 7).all()
    assert (reps["evaluation_cost_self"] / 2000 + reps["evaluation_cost_recheck"] / 30000
            == 29).all()


def test_weifang_runs_one_of_its_two_alternatives_the_clearing():
    sc = perfsim.load(SCENARIOS / "weifang.yaml")
    assert sc.settings.year_end_clearing and sc.settings.target_minimum == 0.6
    # the cut next year is off: every grade keeps its budget
    assert dict(sc.spec["linkage"]["multipliers"]) == {
        "excellent": 1, "good": 1, "fair": 1, "poor": 1}


# --- Wenzhou: the 申报管理 heading, the adjustment row, the gap rule on the department -------

def test_wenzhou_submission_management_is_one_heading_of_3_plus_7(wenzhou):
    assert {g.code: g.name_zh for g in wenzhou.groups}["TGT.SUB"] == "申报管理"
    under = {leaf.code: leaf.points for leaf in wenzhou.indicators if "TGT.SUB" in leaf.path}
    assert under == {"TGT.TIME": 3, "TGT.MGT": 7}
    assert sum(under.values()) == 10
    quality = sum(leaf.points for leaf in wenzhou.indicators if "TGT.QUAL" in leaf.path)
    assert quality == 20                                  # 30 = 10 + 20
    assert "申报时间" not in {g.name_zh for g in wenzhou.groups} | {
        leaf.name_zh for leaf in wenzhou.indicators}


def test_wenzhou_adjustment_deducts_every_return(wenzhou):
    rule = wenzhou.indicator("TGT.MGT").rule
    # first submission passes: 7; one return: 6; three: 4; eight: 0 (floored)
    assert rule.earned(np.array([0.0, 1.0, 3.0, 8.0])).tolist() == [7.0, 6.0, 4.0, 0.0]
    text = (DATASETS / "indicator_systems" / "wenzhou_2013.yaml").read_text(encoding="utf-8")
    assert "each return beyond the first" not in text


def _wenzhou_with(tmp_path, changes: dict[tuple[str, str], str]) -> perfsim.Scenario:
    table = pd.read_csv(WENZHOU_CSV, dtype=str, keep_default_na=False)
    for (pid, code), value in changes.items():
        table.loc[table["project_id"] == pid, code] = value
    table.to_csv(tmp_path / "departments.csv", index=False)
    text = (SCENARIOS / "wenzhou_2013.yaml").read_text(encoding="utf-8")
    system = (DATASETS / "indicator_systems" / "wenzhou_2013.yaml").as_posix()
    text = text.replace("../indicator_systems/wenzhou_2013.yaml", system)
    text = text.replace("../portfolios/wenzhou_2013_departments.csv", "departments.csv")
    (tmp_path / "wenzhou.yaml").write_text(text, encoding="utf-8")
    return perfsim.load(tmp_path / "wenzhou.yaml")


def test_still_failing_the_review_at_yixia_scores_0_on_the_adjustment_item(tmp_path):
    # 甲 (104.44 by hand, tests/test_bundled_cases.py) had 1 return: 6 of 7 points; a
    # project still failing the formal review at 一下 loses the item: 104.44 − 6 = 98.44
    sc = _wenzhou_with(tmp_path, {("WZ01", "TGT.MGT"): "一下未通过"})
    alloc = sc.run_year().allocations.set_index("project_id")
    assert alloc.loc["WZ01", "score"] == pytest.approx(98.44, abs=0.005)


def test_wenzhou_gap_rule_lands_on_the_department_score_and_moves_no_money(tmp_path):
    # 戊 (108.10, the advanced unit): self 90, re-check 80 — a gap of 10 is not above 10.
    # Self 100: gap 20 → −1 per 5 points of the whole gap = −4 → 104.10, below 甲's 104.44:
    # 甲 becomes the advanced unit; no budget moves
    sc = _wenzhou_with(tmp_path, {("WZ05", "EVAL.RCK.self"): "100"})
    year = sc.run_year()
    alloc = year.allocations.set_index("project_id")
    assert alloc.loc["WZ05", "score"] == pytest.approx(108.10 - 4, abs=0.005)
    assert alloc.loc[alloc["grade_zh"] == "先进单位"].index.tolist() == ["WZ01"]
    assert (alloc["next_budget"] == alloc["budget"]).all()
    deps = perfsim.run.year.department_results(year, 0.2).set_index("department")
    assert deps.loc["示例部门戊", "score"] == pytest.approx(104.10, abs=0.005)
    assert deps.loc["示例部门甲", "advanced"] and not deps.loc["示例部门戊", "advanced"]


def test_the_project_score_variant_keeps_another_name():
    from perfsim.model.constraints import CONSTRAINTS
    meaning = CONSTRAINTS["simulation.spot_check.gap_rule"].description
    assert "project-score" in meaning and "department" in meaning


# --- Liupanshui: fitted by construction; what the data cannot pin ------------------------------

@pytest.fixture(scope="module")
def liupanshui():
    return perfsim.load(SCENARIOS / "liupanshui_2022.yaml")


def test_the_sweep_at_the_files_own_assumptions_is_the_files_run(liupanshui):
    table = generator_sweep(liupanshui, {"budget_sigma": [1.2],
                                         "budget_score_correlation": [0.3]})
    alloc = liupanshui.run_year().allocations
    fair = alloc.loc[alloc["grade"] == "fair", "budget"]
    row = table.iloc[0]
    assert row["money_fair"] == pytest.approx(fair.sum(), rel=1e-12)
    assert row["count_fair"] == len(fair)
    # the Liupanshui rule: 15% of the money rated 中 is cut
    assert row["cut_total"] == pytest.approx(0.15 * fair.sum(), rel=1e-12)


def test_the_money_rated_fair_moves_with_the_correlation_the_data_cannot_pin(liupanshui):
    table = generator_sweep(liupanshui, {"budget_score_correlation": [0.0, 0.3, 0.6]})
    assert (table["solved"] == liupanshui.portfolio.calibration["value"]).all()   # held
    money = table["money_fair"].tolist()
    # larger projects performing better take money out of 中 at the same mean performance
    assert money[0] > money[1] > money[2]
    assert money[0] > 2 * money[2]


def test_refitting_brings_the_cut_back_to_128_million_by_construction(liupanshui):
    table = generator_sweep(liupanshui, {"budget_score_correlation": [0.0, 0.6]}, refit=True)
    # the fit: 128 million / 0.15 of the 22.536 billion rated 中, as closely as the
    # portfolio's steps allow (one project's budget is up to a few per cent of it)
    target = published("liupanshui_2022_fair_cut") / published("liupanshui_2022_fair_ratio")
    share = table["money_fair"] / published("liupanshui_2021_funds_evaluated")
    assert share.tolist() == pytest.approx([target / 22.536e9] * 2, rel=0.02)
    assert table["solved"].iloc[0] > table["solved"].iloc[1]   # a different fit each time
    assert table["count_fair"].iloc[0] != table["count_fair"].iloc[1]


def test_a_sweep_names_what_it_cannot_vary(liupanshui):
    with pytest.raises(InputError) as err:
        generator_sweep(liupanshui, {"total_budget": [1e9]})
    assert "portfolio.generate.total_budget" in str(err.value)
    with pytest.raises(InputError) as err:
        generator_sweep(perfsim.load(SCENARIOS / "wenzhou_2013.yaml"), {"budget_sigma": [1]})
    assert "portfolio" in str(err.value)


def test_liupanshui_says_what_is_published_fitted_and_by_construction():
    text = " ".join((SCENARIOS / "liupanshui_2022.yaml").read_text(encoding="utf-8").split())
    for words in ("Published", "Derived", "Fitted", "BY CONSTRUCTION", "Assumed"):
        assert words in text, words
    readme = " ".join(page("concepts.md").split())
    assert "by construction" in readme and "Nothing pins the money rated 中" not in readme


# --- the pre-evaluation: the 73 assumed rejections against the doubtful 217 million -----------

def test_the_assumed_rejections_hold_more_than_the_doubtful_217_million():
    sc = perfsim.load(SCENARIOS / "liupanshui_2022_pre_evaluation.yaml")
    year = sc.run_year()
    a = year.allocations
    rejected = a.loc[a["pre_evaluation"] == "reject", "budget"]
    reduced = a.loc[a["pre_evaluation"] == "reduce", "budget"]
    assert (len(rejected), len(reduced)) == (73, 22)
    assert rejected.sum() > published("liupanshui_2022_preeval_reduced")   # 217 million
    # the gate saves the rejected requests and 30% of the reduced ones
    assert year.metrics["pre_evaluation_saved"] == pytest.approx(
        rejected.sum() + 0.3 * reduced.sum(), rel=1e-12)
    text = " ".join((SCENARIOS / "liupanshui_2022_pre_evaluation.yaml")
                    .read_text(encoding="utf-8").split())
    assert f"{rejected.sum() / 1e6:.1f} million" in text and "217 million" in text


# --- the source table (docs/tasks/cycle.md) -------------------------------------------------------

def test_every_source_scenario_has_a_row_in_the_readme_source_table():
    readme = page("tasks/cycle.md")
    table = readme[readme.index("**Source systems as bundled scenarios**"):]
    end = table.find("\n\n", table.index("| source |"))
    table = table if end < 0 else table[:end]  # the table may end the page
    rows = re.findall(r"^\| [^|]+ \| `([a-z0-9_]+)\.yaml` \|", table, flags=re.M)
    for name in ("zhucheng_2022", "weifang", "wenzhou_2013", "liupanshui_2022",
                 "liupanshui_2022_pre_evaluation", "fujian_housing"):
        assert name in rows, name


# --- the gap rule on the department's score in the Monte Carlo ---------------------------------

def test_unit_gap_points_by_hand():
    from perfsim.kernel.metrics import unit_gap_points
    # unit 0: projects of 1 and 3 yuan, both checked: self (90 + 3 × 98) / 4 = 96 against
    # re-check (80 + 3 × 80) / 4 = 80, a gap of 16 > 10: −1 per whole 5 points = −3
    # (excess: (16 − 10) / 5 → −1); unit 1: only the 75-vs-80 project checked, gap 5: 0
    args = (np.array([[90.0, 98.0, 80.0, 70.0]]), np.array([[80.0, 80.0, 75.0, 60.0]]),
            np.array([[True, True, True, False]]), np.array([1.0, 3.0, 2.0, 2.0]),
            np.array([0, 0, 1, 1]), 2)
    assert unit_gap_points(*args).tolist() == [[3.0, 0.0]]
    assert unit_gap_points(*args, mode="excess").tolist() == [[1.0, 0.0]]
    # a unit with nothing checked loses nothing
    assert unit_gap_points(*args[:2], np.zeros((1, 4), dtype=bool), *args[3:]).tolist() == [
        [0.0, 0.0]]


def _gap_scenario(tmp_path, rule: str) -> perfsim.Scenario:
    gap = {"off": "gap_rule: false", "project": "gap_rule: true, gap_on: project",
           "department": "gap_rule: true, gap_on: department"}[rule]
    path = tmp_path / f"gap_{rule}.yaml"
    path.write_text(
        f"name: gap_{rule}\nseed: 5\n"
        "portfolio: {generate: {n_projects: 200, n_departments: 10, total_budget: 1.0e+9,"
        " performance_mean: 0.8, performance_sd: 0.08}}\n"
        "grading: {labels: national, cutoffs: [90, 80, 60]}\n"
        "linkage: {rule: liupanshui, ratio: 0.15, pool: treasury}\n"
        "simulation:\n  replications: 8\n"
        "  self_evaluation: {inflation_mean: 0.12, inflation_sd: 0.04}\n"
        f"  spot_check: {{share: 0.5, {gap}}}\n", encoding="utf-8")
    return perfsim.load(path)


def test_the_gap_rule_on_the_department_moves_no_project_score_but_the_ranking(tmp_path):
    runs = {rule: _gap_scenario(tmp_path, rule).simulate().replications
            for rule in ("off", "project", "department")}
    money = ["savings", "cut_total", "next_total", "count_excellent", "count_good",
             "count_fair", "count_poor"]
    # on the department: every project's graded score as without the rule, to the yuan
    pd.testing.assert_frame_equal(runs["department"][money], runs["off"][money])
    # on the project (the project-score gap deduction): inflated projects lose points
    assert not runs["project"][money].equals(runs["off"][money])
    # the departments' scores, and so their ranking, change with the rule on the department
    assert not np.allclose(runs["department"]["department_rank_stability"],
                           runs["off"]["department_rank_stability"])


def test_gap_on_is_one_of_two_places(tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text((SCENARIOS / "weifang.yaml").read_text(encoding="utf-8")
                    .replace("    selection: random\n",
                             "    selection: random\n    gap_on: ministry\n"), encoding="utf-8")
    assert main(["validate", str(path)]) == 2
    line = one_error_line(capsys)
    assert "simulation.spot_check.gap_on" in line and "ministry" in line
