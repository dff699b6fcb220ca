"""Coverage rules (Xinjian district [S2]): who self-evaluates, and so who is graded and linked.

Every project of at least ``min_budget`` yuan self-evaluates; then each department (or the
whole portfolio) adds its largest remaining projects until its self-evaluated funds reach
``funds_share`` of its funds. The rest are not graded: no grade moves their money. Checked by
hand on small portfolios, through the one-year run, the Monte Carlo, the sensitivity analysis
and the bundled ``xinjian.yaml``; and the re-checks' price per yuan of misgrading avoided.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import SCENARIOS

import perfsim
from perfsim.cli import main
from perfsim.errors import InputError
from perfsim.kernel import metrics
from perfsim.kernel.evaluation import Costs
from perfsim.kernel.grading import Grading
from perfsim.kernel.linkage import Coverage, LinkageResult, linkage_from_dict
from perfsim.kernel.year import YearOutcome
from perfsim.model.params import apply_changes, parameters
from perfsim.model.portfolio import portfolio_from_frame
from perfsim.model.scenario import Scenario
from perfsim.model.weighting_spec import parse_weighting
from perfsim.model.weights import apply_weighting
from perfsim.run.compare import compare_schemes
from perfsim.run.sensitivity import evaluate_samples
from perfsim.run.year import department_results, run_year

BUDGETS = np.array([1_500_000, 300_000, 200_000, 100_000, 900_000, 800_000, 50_000.0])
UNITS = np.array([0, 0, 0, 0, 1, 1, 1])


def test_the_million_line_and_each_departments_sixty_percent_by_hand():
    # D0: 2.1 M, the 1.5 M project alone is 71% -> nothing added.
    # D1: 1.75 M, nothing above the line; 60% = 1.05 M: 0.9 M (short), then 0.8 M -> 1.7 M.
    got = Coverage(min_budget=1_000_000, funds_share=0.6).evaluated(BUDGETS[None], None, UNITS)
    assert got.tolist() == [[True, False, False, False, True, True, False]]
    # over the whole portfolio: 3.85 M, half = 1.925 M: 1.5 M, then 0.9 M -> 2.4 M
    whole = Coverage(funds_share=0.5, by="portfolio").evaluated(BUDGETS[None])
    assert whole.tolist() == [[True, False, False, False, True, False, False]]
    # the line alone, and ties to the project listed first
    assert Coverage(min_budget=800_000).evaluated(BUDGETS[None])[0].tolist() == [
        True, False, False, False, True, True, False]
    tie = Coverage(funds_share=0.5, by="portfolio").evaluated(np.array([[5.0, 5.0, 5.0, 5.0]]))
    assert tie.tolist() == [[True, True, False, False]]


def test_coverage_per_row_and_for_active_projects_only():
    # row 1: the 1.5 M project is not in the portfolio, so D0 needs 60% of 0.6 M = 0.36 M:
    # 0.3 M (short), then 0.2 M
    active = np.ones((2, 7), dtype=bool)
    active[1, 0] = False
    got = Coverage(min_budget=1_000_000, funds_share=0.6).evaluated(
        np.broadcast_to(BUDGETS, (2, 7)), active, UNITS)
    assert got[1].tolist() == [False, True, True, False, True, True, False]
    # a per-row line (a sensitivity sample): 250,000 takes the 0.3 M project at once
    rows = {"coverage.min_budget": np.array([1e6, 2.5e5]), "coverage.funds_share":
            np.array([0.0, 0.0])}
    got = Coverage(min_budget=1e6, funds_share=0.6).evaluated(
        np.broadcast_to(BUDGETS, (2, 7)), None, UNITS, rows)
    assert got.tolist() == [[True, False, False, False, False, False, False],
                            [True, True, False, False, True, True, False]]


def test_bad_coverage_blocks_are_one_line():
    with pytest.raises(InputError, match="coverage.funds_share.*share in"):
        linkage_from_dict({"rule": "liupanshui", "coverage": {"funds_share": 1.5}})
    with pytest.raises(InputError, match="coverage.by.*department, portfolio"):
        linkage_from_dict({"rule": "liupanshui", "coverage": {"funds_share": 0.5,
                                                              "by": "unit"}})
    with pytest.raises(InputError, match="needs min_budget"):
        linkage_from_dict({"rule": "liupanshui", "coverage": {}})


def _scores_scenario(tmp_path, extra: str = "", quotas: str = "") -> Scenario:
    (tmp_path / "p.csv").write_text(
        "project_id,department,budget,score\n"
        "P1,D1,2000000,70\n"     # 中, above the line: cut 15%
        "P2,D1,400000,50\n"      # 差, small: not evaluated, keeps its budget
        "P3,D2,1200000,95\n"     # 优
        "P4,D2,300000,92\n"      # 优 by its score, but not evaluated
        "P5,D2,900000,55\n",     # 差, small, but D2 needs 60% of 2.4 M = 1.44 M: added
        encoding="utf-8")
    (tmp_path / "s.yaml").write_text(
        "name: covered\nseed: 3\nportfolio: {file: p.csv}\n"
        f"grading: {{labels: national, cutoffs: [90, 80, 60]{quotas}}}\n"
        "linkage:\n  rule: liupanshui\n  ratio: 0.15\n"
        "  coverage: {min_budget: 1000000, funds_share: 0.6}\n" + extra, encoding="utf-8")
    return perfsim.load(tmp_path / "s.yaml")


def test_projects_left_out_keep_their_budget_and_take_no_grade(tmp_path):
    year = _scores_scenario(tmp_path).run_year()
    a = year.allocations.set_index("project_id")
    assert a["evaluated"].tolist() == [True, False, True, False, True]
    assert a["next_budget"].tolist() == [1_700_000, 400_000, 1_200_000, 300_000, 0]
    assert a["grade"].tolist() == ["fair", "not_evaluated", "excellent", "not_evaluated",
                                   "poor"]
    assert a.loc["P2", "grade_zh"] == "未评价"
    m = year.metrics
    assert (m["count_excellent"], m["count_fair"], m["count_poor"]) == (1, 1, 1)
    assert m["share_poor"] == pytest.approx(1 / 3)
    assert m["count_self_evaluated"] == 3
    assert m["self_evaluation_coverage"] == pytest.approx(4.1e6 / 4.8e6)
    assert m["savings"] == pytest.approx(300_000 + 900_000)
    # the grade table lists the projects left out, and the ledger still reconciles
    g = year.by_grade.set_index("grade")
    assert g.loc["not_evaluated", "projects"] == 2
    assert g.loc["not_evaluated", "budget"] == 700_000
    assert year.ledger["next_budget"].sum() == a["next_budget"].sum()
    seen = year.summary["evaluation_cycle"]["evaluated"]
    assert (seen["projects"], seen["not_evaluated"]) == (3, 2)
    assert seen["funds_share"] == pytest.approx(4.1 / 4.8)
    assert seen["coverage"]["min_budget"] == 1_000_000


def test_projects_left_out_take_no_quota_place(tmp_path):
    # a quota of 50% 优 among the three evaluated: floor(1.5) = 1 place, P3's; P4 (92 points)
    # is not evaluated, so it neither takes the place nor counts towards the quota
    year = _scores_scenario(tmp_path, quotas=", quotas: {excellent: 0.5}").run_year()
    assert year.metrics["count_excellent"] == 1
    a = year.allocations.set_index("project_id")
    assert a.loc["P3", "grade"] == "excellent"


def test_departments_are_scored_on_the_projects_that_self_evaluated(tmp_path):
    d = department_results(_scores_scenario(tmp_path).run_year()).set_index("department")
    assert d.loc["D1", "score"] == pytest.approx(70)        # P1 only
    assert d.loc["D2", "score"] == pytest.approx((1.2e6 * 95 + 0.9e6 * 55) / 2.1e6)


def test_the_monte_carlo_never_moves_money_the_grade_did_not_decide(tmp_path):
    sc = _scores_scenario(tmp_path, extra=(
        "simulation:\n  replications: 64\n  years: 3\n  chunk: 16\n"
        "  self_evaluation: {noise: 0.05, inflation_mean: 0.02}\n"
        "  spot_check: {share: 0.5, noise: 0.02}\n"
        "  cost: {self_evaluation: 2000, recheck: 30000}\n"))
    r = sc.simulate().replications
    y1 = r[r["year"] == 1]
    # years 1: P2 and P4 (0.7 M) are never graded; the other three always are
    assert (y1["count_self_evaluated"] == 3).all()
    assert np.allclose(y1["self_evaluation_coverage"], 4.1e6 / 4.8e6)
    # the money cut or cancelled can only come from the 4.1 M graded
    assert (y1["cut_total"] + y1["cancelled_total"] <= 4.1e6 + 1e-6).all()
    # self-evaluations are paid for the graded projects only; re-checks only among them
    assert np.array_equal(r["evaluation_cost_self"], 2000 * r["count_self_evaluated"])
    assert (r["recheck_coverage"] <= r["self_evaluation_coverage"] + 1e-12).all()
    graded = sum(r[f"count_{c}"] for c in ("excellent", "good", "fair", "poor"))
    assert np.array_equal(graded, r["count_self_evaluated"])
    # chunking does not change the numbers
    again = sc.simulate(chunk=64).replications
    pd.testing.assert_frame_equal(r, again)


def test_coverage_values_are_registry_parameters(tmp_path):
    sc = _scores_scenario(tmp_path)
    assert {"linkage.coverage.min_budget", "linkage.coverage.funds_share"} <= set(
        parameters(sc))
    # a line above every budget: each department adds its largest until 60%:
    # D1 (2.4 M): P1 2 M; D2 (2.4 M): P3 1.2 M, then P5 0.9 M
    low = apply_changes(sc, {"linkage.coverage.min_budget": 2_500_000}).run_year()
    assert low.allocations["evaluated"].tolist() == [True, False, True, False, True]
    # the million line alone: P1 and P3
    none = apply_changes(sc, {"linkage.coverage.funds_share": 0.0,
                              "linkage.coverage.min_budget": 1_000_000}).run_year()
    assert none.allocations["evaluated"].tolist() == [True, False, True, False, False]


def test_sensitivity_samples_the_coverage_line(tmp_path):
    sc = _scores_scenario(tmp_path)
    out = evaluate_samples(sc, ["linkage.coverage.funds_share"], np.array([[0.0], [0.6]]),
                           metrics=["count_self_evaluated"], replications=2)
    # funds share 0: the million line alone (P1, P3); 0.6: P5 joins
    assert out[:, 0].tolist() == [2.0, 3.0]


def test_xinjian_scenario_from_the_file():
    sc = perfsim.load(SCENARIOS / "xinjian.yaml")
    a = sc.run_year().allocations
    budget, covered = a["budget"].to_numpy(), a["evaluated"].to_numpy()
    assert covered[budget >= 1_000_000].all()            # every project of a million or more
    assert (~covered).any()                               # and many small ones left out
    for _, d in a.groupby("department"):
        b, c = d["budget"].to_numpy(), d["evaluated"].to_numpy()
        assert b[c].sum() >= 0.6 * b.sum()                # each department's 60%
        # and no more than needed: without its smallest added project the department falls
        # short (projects added are never smaller than one left out)
        added = c & (b < 1_000_000)
        if added.any():
            assert b[c].sum() - b[added].min() < 0.6 * b.sum()
            assert b[added].min() >= b[~c].max(initial=0)
    out = a[~covered]
    assert (out["next_budget"] == out["budget"]).all()   # no grade moved their money


def test_the_command_line_runs_xinjian_both_ways(tmp_path):
    path = SCENARIOS / "xinjian.yaml"
    assert main(["validate", str(path)]) == 0
    assert main(["run", str(path), "--out", str(tmp_path / "one")]) == 0
    assert main(["run", str(path), "--replications", "8", "--years", "2",
                 "--out", str(tmp_path / "mc")]) == 0


def _outcome(grade, self_grade, true_grade, gross, checked) -> YearOutcome:
    grade, gross = np.array([grade]), np.array([gross], dtype=float)
    link = LinkageResult(multiplier=np.ones(grade.shape), next_budget=gross,
                         reward=np.zeros(grade.shape),
                         precondition_failed=np.zeros(grade.shape, bool), budget=gross)
    return YearOutcome(score=np.zeros(grade.shape), grade=grade, link=link, gross=gross,
                       recovered=np.zeros(grade.shape), active=np.ones(grade.shape, bool),
                       true_score=np.zeros(grade.shape), true_grade=np.array([true_grade]),
                       self_grade=np.array([self_grade]), checked=np.array([checked]),
                       costs=Costs(recheck_yuan=10_000.0))


def test_the_price_of_a_yuan_of_misgrading_avoided_by_hand():
    # four projects: the self-evaluations misgrade P1 (100) and P2 (300); the re-checks of P1
    # and P3 put P1 right and P3 (50) wrong: misgraded 400 → 350, avoided 50, two re-checks
    # at 10,000 yuan: 400 yuan per yuan avoided
    o = _outcome(grade=[1, 0, 3, 2], self_grade=[0, 0, 2, 2], true_grade=[1, 1, 2, 2],
                 gross=[100, 300, 50, 70], checked=[True, False, True, False])
    labels = Grading().labels
    m = metrics.compute(o, ["misgraded_money", "misgraded_avoided",
                            "cost_per_misgraded_yuan_avoided"], labels)
    assert m["misgraded_money"].tolist() == [350.0]
    assert m["misgraded_avoided"].tolist() == [50.0]
    assert m["cost_per_misgraded_yuan_avoided"].tolist() == [400.0]
    # re-checks that avoid nothing have no price per yuan avoided
    same = _outcome(grade=[1, 1], self_grade=[1, 1], true_grade=[1, 1], gross=[1, 1],
                    checked=[True, False])
    assert np.isnan(metrics.compute(same, ["cost_per_misgraded_yuan_avoided"], labels)[
        "cost_per_misgraded_yuan_avoided"][0])


def test_scheme_comparison_runs_the_evaluation_cycle_as_the_one_year_run(tmp_path):
    """Rectification with a probability strictly between 0 and 1 and a blacklist: each
    scheme's allocation is the one-year run of the scenario weighted that way (the same
    seeded rectification draw for every scheme)."""
    (tmp_path / "sys.yaml").write_text(
        "code: hand\nname: hand\ntotal: 100\nindicators:\n"
        "  - {code: G1, name: g1, points: 70, target: 100, rule: {kind: proportional}}\n"
        "  - {code: G2, name: g2, points: 30, target: 100, rule: {kind: proportional}}\n",
        encoding="utf-8")
    rng = np.random.default_rng(5)
    n = 40
    frame = pd.DataFrame({"project_id": [f"P{i}" for i in range(n)],
                          "department": [f"D{i % 6}" for i in range(n)],
                          "budget": rng.integers(1, 50, n) * 100_000.0,
                          "G1": rng.uniform(30, 100, n).round(1),
                          "G2": rng.uniform(30, 100, n).round(1)})
    frame.to_csv(tmp_path / "p.csv", index=False)
    (tmp_path / "s.yaml").write_text(
        "name: cycle_schemes\nseed: 11\nindicator_system: sys.yaml\nportfolio: {file: p.csv}\n"
        "grading: {labels: national, cutoffs: [90, 80, 60]}\n"
        "linkage:\n  rule: grade_table\n"
        "  multipliers: {excellent: 1, good: 1, fair: 0.9, poor: 0.7}\n"
        "  rectification: {grades: [fair, poor], probability: 0.5,"
        " unrectified: {fair: 0.6, poor: 0}}\n"
        "  blacklist: {after: [unrectified], years: 1, cut: 0.5}\n", encoding="utf-8")
    sc = perfsim.load(tmp_path / "s.yaml")
    schemes = {"expert": {}, "equal": {"groups": "equal"}}
    cmp = compare_schemes(sc, schemes)
    for name, spec in schemes.items():
        system = apply_weighting(sc.system, parse_weighting(spec).resolve(sc.system),
                                 sc.portfolio)
        alone = sc.replace(system=system).run_year().allocations
        mine = cmp.projects[cmp.projects["scheme"] == name]
        assert mine["next_budget"].tolist() == alone["next_budget"].tolist(), name
    # the draw matters: some projects rectified and some did not
    rect = sc.run_year().allocations
    assert rect.loc[rect["feedback"], "rectified"].nunique() == 2


def test_a_scenario_without_a_coverage_rule_grades_everyone(tmp_path):
    frame = pd.DataFrame({"project_id": ["A", "B"], "department": ["D", "D"],
                          "budget": [10.0, 20.0], "score": [85.0, 65.0]})
    pf = portfolio_from_frame(frame)
    sc = Scenario(name="all", portfolio=pf, grading=Grading(),
                  linkage=linkage_from_dict({"rule": "liupanshui"}))
    year = run_year(sc)
    assert "evaluated" not in year.allocations.columns
    assert year.metrics["count_self_evaluated"] == 2
    assert year.metrics["self_evaluation_coverage"] == 1.0


def test_department_reports_count_the_projects_left_out(tmp_path):
    from perfsim.analyse.departments import department_profiles
    sc = perfsim.load(SCENARIOS / "xinjian.yaml")
    year = run_year(sc)
    profiles = department_profiles(sc, year)
    left_out = int((~year.allocations["evaluated"]).sum())
    assert profiles.summary["count_not_evaluated"].sum() == left_out
    graded = sum(profiles.summary[f"count_{c}"].sum() for c in sc.grading.labels.codes)
    assert graded + left_out == sc.portfolio.n_projects
    assert main(["report", "departments", str(SCENARIOS / "xinjian.yaml"), "--top", "2",
                 "--out", str(tmp_path / "rep")]) == 0
    assert len(list((tmp_path / "rep" / "pages").glob("*.png"))) == 2


def test_the_budget_change_model_leaves_out_the_projects_not_graded(tmp_path):
    from perfsim.analyse.estimate import budget_change_model
    alloc = run_year(perfsim.load(SCENARIOS / "xinjian.yaml")).allocations
    fit = budget_change_model(alloc)
    assert fit.n_obs == int(alloc["evaluated"].sum())


def test_calibration_finds_the_funds_share_that_covers_a_target(tmp_path):
    from perfsim.run.calibrate import calibrate
    # the small portfolio: D1 2.4 M (P1 2 M, P2 0.4 M), D2 2.4 M (P3 1.2 M, P5 0.9 M, P4 0.3 M)
    # with no size line, a funds share just above 1.2/2.4 = 0.5 makes D2 add P5 after P3;
    # P1 alone is 83% of D1: the whole portfolio covers (2 + 1.2 + 0.9) / 4.8 = 85.4%
    sc = apply_changes(_scores_scenario(tmp_path), {"linkage.coverage.min_budget": 1e12})
    solved = calibrate(sc, "linkage.coverage.funds_share", {"self_evaluation_coverage": 0.85},
                       bounds=(0.1, 0.9))
    covered = apply_changes(sc, {"linkage.coverage.funds_share": solved.value}).run_year()
    assert covered.metrics["self_evaluation_coverage"] == pytest.approx(4.1e6 / 4.8e6)
    assert 0.5 - 1e-3 <= solved.value <= 0.5 + 1e-3


def test_units_adding_the_projects_they_expect_best_by_hand():
    perf = np.array([[50.0, 90.0, 70.0, 95.0]])
    budget = np.array([[4.0, 3.0, 2.0, 1.0]])
    # half of 10: the best first — P4 (1), P2 (3, 4 so far), P3 (2, 6): P1 is left out
    best = Coverage(funds_share=0.5, by="portfolio", fill="best").evaluated(
        budget, performance=perf)
    assert best.tolist() == [[False, True, True, True]]
    largest = Coverage(funds_share=0.5, by="portfolio").evaluated(budget, performance=perf)
    assert largest.tolist() == [[True, True, False, False]]
    with pytest.raises(InputError, match="coverage.fill.*largest, best"):
        linkage_from_dict({"rule": "liupanshui", "coverage": {"funds_share": 0.5,
                                                              "fill": "worst"}})


def test_a_department_showing_its_good_side_keeps_its_poor_project_out(tmp_path):
    # D2 must cover 60% of 2.4 M = 1.44 M: P3 (1.2 M) must self-evaluate; 0.24 M to go. By
    # size it adds P5 (0.9 M, 55 points: 差, cancelled); showing its good side it adds P4
    # (0.3 M, 92 points) instead, and P5 keeps its 900,000 ungraded.
    sc = _scores_scenario(tmp_path)
    best = apply_changes(sc, {"linkage": {
        "rule": "liupanshui", "ratio": 0.15,
        "coverage": {"min_budget": 1000000, "funds_share": 0.6, "fill": "best"}}})
    a = run_year(best).allocations.set_index("project_id")
    assert a["evaluated"].tolist() == [True, False, True, True, False]
    assert a.loc["P5", "next_budget"] == 900_000
    assert run_year(best).metrics["savings"] == pytest.approx(300_000)
    # the noise-free Monte Carlo's first year makes the same choice from the latent scores
    row = best.simulate(replications=1, years=1, noise=False).replications.iloc[0]
    assert row["savings"] == run_year(best).metrics["savings"]
    assert row["count_self_evaluated"] == 3


def test_the_workbooks_name_the_projects_not_evaluated_in_both_languages(tmp_path):
    import openpyxl
    path = str(SCENARIOS / "xinjian.yaml")
    assert main(["run", path, "--xlsx", "--out", str(tmp_path / "run")]) == 0
    book = openpyxl.load_workbook(tmp_path / "run" / "allocation.xlsx")
    projects, grades = book["项目 projects"], book["等级汇总 grades"]
    assert "纳入评价 evaluated" in [c.value for c in projects[1]]
    assert "未评价 not_evaluated" in [row[0] for row in grades.iter_rows(values_only=True)]
    assert main(["report", "departments", path, "--top", "2",
                 "--out", str(tmp_path / "rep")]) == 0
    sheet = openpyxl.load_workbook(tmp_path / "rep" / "departments.xlsx").worksheets[0]
    assert "未评价 项目数 not evaluated" in [c.value for c in sheet[1]]
