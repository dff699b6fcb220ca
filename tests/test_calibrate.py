"""Calibration (perfsim.run.calibrate): known ratios, cutoffs and weights recovered;
infeasible targets reported with the binding bound; registry errors that list what is valid."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import SCENARIOS

from perfsim import cli
from perfsim.errors import InputError
from perfsim.kernel import metrics
from perfsim.kernel.grading import Grading
from perfsim.kernel.linkage import liupanshui
from perfsim.model.indicators import system_from_dict
from perfsim.model.params import parameters
from perfsim.model.portfolio import generate_portfolio, portfolio_from_frame
from perfsim.model.scenario import Scenario, load_scenario
from perfsim.model.settings import settings_from_dict
from perfsim.run.calibrate import (
    calibrate,
    deterministic_metrics,
    fit_weights,
    parse_targets,
    solve_scalar,
)
from perfsim.run.simulate import simulate
from perfsim.run.year import run_year

LIUPANSHUI = SCENARIOS / "liupanshui_2022.yaml"


def score_scenario(scores, budgets, ratio=0.15, cutoffs=(90, 80, 60)) -> Scenario:
    df = pd.DataFrame({"project_id": [f"P{i + 1}" for i in range(len(scores))],
                       "department": ["D1"] * len(scores), "budget": budgets, "score": scores})
    return Scenario(name="constructed", portfolio=portfolio_from_frame(df),
                    grading=Grading(cutoffs=tuple(cutoffs)), linkage=liupanshui(ratio), seed=3)


# five projects: 优 95 (1.0m), 良 85 (2.0m), 中 70 (3.0m) and 65 (1.0m), 差 50 (0.5m)
# → 中 holds 4,000,000 yuan; the rule cuts ratio × 4.0m and cancels the 0.5m of 差
FIVE = dict(scores=[95, 85, 70, 65, 50], budgets=[1e6, 2e6, 3e6, 1e6, 5e5])


# --- linkage ratio ------------------------------------------------------------------------------

def liupanshui_fair_money(sc: Scenario) -> float:
    """Yuan held by the projects scored 60 ≤ score < 80 (中), read off the portfolio table."""
    t = sc.portfolio.table
    return float(t.loc[(t["score"] >= 60) & (t["score"] < 80), "budget"].sum())


def test_liupanshui_ratio_for_128_million_is_15_percent():
    sc = load_scenario(LIUPANSHUI)
    # nothing pins the 中 money: the generator's score distribution was calibrated to the
    # published share rated 中 (853,333,333.33 of 22,536,000,000 yuan), the budgets are the
    # generator's own, and the ratio is then solved from the cut
    assert "grade_budgets" not in sc.spec["portfolio"]["generate"]
    assert sc.portfolio.calibration["solve"] == "performance_mean"
    fair = liupanshui_fair_money(sc)
    assert fair != pytest.approx(853_333_333.33, abs=1.0)  # close, but not pinned to the cent
    assert fair == pytest.approx(853_333_333.33, rel=0.05)
    res = calibrate(sc, "linkage.ratio", {"cut_total": 128_000_000})
    assert res.feasible and res.mode == "deterministic" and res.method == "brentq"
    assert abs(res.value - 0.15) < 0.005          # within half a percentage point of 15%
    assert res.value == pytest.approx(128_000_000 / fair, rel=1e-9)  # the cut's own ratio
    assert res.achieved["cut_total"] == pytest.approx(128_000_000, abs=1.0)


@pytest.mark.parametrize("ratio", [0.10, 0.13, 0.17, 0.20])
def test_known_ratio_recovered_from_the_cut(ratio):
    sc = score_scenario(**FIVE)
    res = calibrate(sc, "linkage.ratio", {"cut_total": ratio * 4e6})
    assert res.feasible
    assert res.value == pytest.approx(ratio, abs=1e-9)


def test_known_ratio_recovered_from_savings():
    # savings = 0.17 × 4.0m cut + 0.5m cancelled = 1,180,000
    res = calibrate(score_scenario(**FIVE), "linkage.ratio", {"savings": 1_180_000})
    assert res.value == pytest.approx(0.17, abs=1e-9)
    assert res.achieved["savings"] == pytest.approx(1_180_000, abs=1e-3)


def test_infeasible_savings_above_what_20_percent_gives():
    # at most 0.20 × 4.0m = 800,000 can be cut
    res = calibrate(score_scenario(**FIVE), "linkage.ratio", {"cut_total": 1_000_000})
    assert not res.feasible
    assert res.value == pytest.approx(0.20)
    assert res.achieved["cut_total"] == pytest.approx(800_000)
    assert res.binding == ("upper bound of linkage.ratio = 0.2",)
    assert "800,000" in res.message and "upper bound" in res.message


def test_infeasible_target_below_the_lower_bound():
    # at least 0.10 × 4.0m = 400,000 is cut
    res = calibrate(score_scenario(**FIVE), "linkage.ratio", {"cut_total": 100_000})
    assert not res.feasible and res.value == pytest.approx(0.10)
    assert res.achieved["cut_total"] == pytest.approx(400_000)
    assert res.binding == ("lower bound of linkage.ratio = 0.1",)


def test_user_bounds_narrow_the_search():
    # 0.17 × 4.0m = 680,000 is out of [0.10, 0.15]: the upper bound 0.15 binds at 600,000
    res = calibrate(score_scenario(**FIVE), "linkage.ratio", {"cut_total": 680_000},
                    bounds=(0.10, 0.15))
    assert not res.feasible and res.value == pytest.approx(0.15)
    assert res.achieved["cut_total"] == pytest.approx(600_000)


# --- the scalar solver -------------------------------------------------------------------------

def test_solver_finds_a_root_of_a_non_monotone_function_inside():
    # (x - 0.5)^2 on [0, 1] reaches 0.01 at x = 0.4 and 0.6; the ends give 0.25 (no bracket)
    sol = solve_scalar(lambda x: (x - 0.5) ** 2, 0.01, 0.0, 1.0)
    assert sol.feasible and min(abs(sol.x - 0.4), abs(sol.x - 0.6)) < 1e-8


def test_solver_reports_an_interior_closest_point():
    # (x - 0.5)^2 + 1 never reaches 0.5; the closest value 1.0 is at x = 0.5, inside
    sol = solve_scalar(lambda x: (x - 0.5) ** 2 + 1.0, 0.5, 0.0, 1.0)
    assert not sol.feasible and sol.binding is None
    assert sol.x == pytest.approx(0.5, abs=1e-4) and sol.value == pytest.approx(1.0, abs=1e-8)


def test_a_jump_is_not_taken_for_a_root():
    # grade-table rule: a 中 multiplier of 0 cancels (cut 0), any m in (0, 1) cuts (1 − m) × 4.0m;
    # 3.0m is cut at m = 0.25 — not at the jump just above 0
    from perfsim.kernel.linkage import linkage_from_dict

    sc = score_scenario(**FIVE).replace(linkage=linkage_from_dict(
        {"rule": "grade_table", "multipliers": {"excellent": 1.1, "good": 1.0, "fair": 0.85,
                                                "poor": 0.0}}))
    res = calibrate(sc, "linkage.multipliers.fair", {"cut_total": 3_000_000})
    assert res.feasible and res.value == pytest.approx(0.25, abs=1e-9)


def test_a_step_function_gives_the_closer_side_of_the_jump():
    # 中 cutoff c: c in (65, 70] cuts 0.15 × 3.0m = 450,000; c in (50, 65] cuts 0.15 × 4.0m =
    # 600,000. 500,000 lies in the jump at 65: the closer side is 450,000, just above 65
    res = calibrate(score_scenario(**FIVE), "grading.cutoffs.fair", {"cut_total": 500_000})
    assert res.feasible and res.value == pytest.approx(65.0, abs=1e-6) and res.value > 65.0
    assert res.achieved["cut_total"] == pytest.approx(450_000)
    assert "jumps across" in res.message


# --- cutoffs -------------------------------------------------------------------------------------

def hundred(cutoffs=(90, 80, 60)) -> Scenario:
    # scores 1, 2, ..., 100, one project each
    return score_scenario(list(range(1, 101)), [1e4] * 100, cutoffs=cutoffs)


def test_cutoffs_for_at_most_20_percent_excellent_and_5_percent_poor():
    res = calibrate(hundred(), "grading.cutoffs", {"share_excellent": 0.2, "share_poor": 0.05})
    # 优: at most 20 projects -> 81..100, cutoff midway between 80 and 81; 差: at most 5 -> 1..5,
    # cutoff midway between 5 and 6; the 良 cutoff 80 no target fixes stays
    assert res.feasible and res.method == "quantile"
    assert res.value == pytest.approx((80.5, 80.0, 5.5))
    assert res.achieved == pytest.approx({"share_excellent": 0.20, "share_good": 0.01,
                                          "share_fair": 0.74, "share_poor": 0.05})


def test_cutoffs_for_a_full_distribution():
    res = calibrate(hundred(), "grading.cutoffs", {"share_excellent": 0.1, "share_good": 0.3,
                                                   "share_fair": 0.5, "share_poor": 0.1})
    # top down: 优 91..100 (>= 90.5), 良 61..90 (>= 60.5), 中 11..60 (>= 10.5), 差 1..10
    assert res.value == pytest.approx((90.5, 60.5, 10.5))
    assert res.achieved == pytest.approx({"share_excellent": 0.1, "share_good": 0.3,
                                          "share_fair": 0.5, "share_poor": 0.1})


def test_known_cutoffs_recovered_from_the_grade_shares():
    known = (88.0, 75.0, 62.0)
    sc = hundred(cutoffs=known)
    truth = sc.grading.grade(sc.scores())
    shares = {f"share_{c}": float(np.mean(truth == k)) for k, c in
              enumerate(sc.grading.labels.codes)}
    res = calibrate(hundred(), "grading.cutoffs", shares)
    # integer scores: any cutoff in (87, 88] grades like 88; the quantile puts it at 87.5
    assert res.value == pytest.approx((87.5, 74.5, 61.5))
    assert np.array_equal(Grading(cutoffs=res.value).grade(sc.scores()), truth)


def test_one_cutoff_with_its_neighbours_fixed():
    res = calibrate(hundred(), "grading.cutoffs.good", {"share_good": 0.25})
    # 良 = [c, 90): at most 25 projects -> 65..89, cutoff 64.5
    assert res.value == pytest.approx(64.5)
    assert res.achieved["share_good"] == pytest.approx(0.25)


def test_ties_make_a_share_unattainable_and_the_bound_binds():
    # 30 projects score 100 and the others 1..70: no cutoff <= 100 leaves at most 20% 优
    sc = score_scenario([100] * 30 + list(range(1, 71)), [1e4] * 100)
    res = calibrate(sc, "grading.cutoffs.excellent", {"share_excellent": 0.2})
    assert not res.feasible
    assert res.value == pytest.approx(100.0)
    assert res.achieved["share_excellent"] == pytest.approx(0.30)
    assert res.binding and "upper bound 100" in res.binding[0]


def test_cutoff_for_a_money_target_by_root_finding():
    # lowering the 中 cutoff moves 差 projects into 中: with cutoff c in (50, 65] the 50-point
    # project (0.5m) is cancelled; below 50 it is cut by 15% instead -> savings 0.6m + 0.075m
    sc = score_scenario(**FIVE)
    res = calibrate(sc, "grading.cutoffs.fair", {"savings": 0.15 * 4.5e6})
    assert res.feasible
    assert res.value <= 50.0
    assert res.achieved["savings"] == pytest.approx(675_000)


# --- Monte Carlo -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def small_mc() -> Scenario:
    pf = generate_portfolio(None, seed=11, n_projects=300, n_departments=20,
                            total_budget=3e8, performance_mean=0.8, performance_sd=0.08)
    return Scenario(name="small", portfolio=pf, linkage=liupanshui(0.15), seed=5)


def test_monte_carlo_target_met_in_expectation(small_mc):
    settings = settings_from_dict(None, replications=64)
    at_016 = simulate(small_mc.replace(linkage=liupanshui(0.16)), settings,
                      progress=False).replications
    target = float(at_016["cut_total"].mean())
    res = calibrate(small_mc, "linkage.ratio", {"cut_total": target}, replications=64)
    assert res.mode.startswith("monte_carlo") and res.feasible
    # common random numbers: the mean cut is linear in the ratio, so 0.16 comes back exactly
    assert res.value == pytest.approx(0.16, abs=1e-9)
    lo, hi = res.band["cut_total"]
    assert lo < res.achieved["cut_total"] < hi
    # fresh replications (another seed) at the solution: the mean is on target within 4 SE
    fresh = simulate(small_mc.replace(seed=99, linkage=liupanshui(res.value)),
                     settings_from_dict(None, replications=256), progress=False).replications
    se = fresh["cut_total"].std() / np.sqrt(len(fresh))
    assert abs(fresh["cut_total"].mean() - target) < 4 * se


def test_monte_carlo_metric_selects_monte_carlo_and_infeasible_is_reported(small_mc):
    # misgrading cannot exceed 1: the closest attainable is at a bound
    res = calibrate(small_mc, "simulation.self_evaluation.noise", {"misgrading": 1.5},
                    replications=32)
    assert res.mode.startswith("monte_carlo")
    assert not res.feasible and res.binding
    assert res.achieved["misgrading"] < 1.0


def test_monte_carlo_cutoff_for_an_expected_share(small_mc):
    res = calibrate(small_mc, "grading.cutoffs.excellent", {"share_excellent": 0.1},
                    replications=32)
    assert res.method == "brentq" and res.feasible
    # expected shares move in steps of 1 / (32 × 300)
    assert abs(res.achieved["share_excellent"] - 0.1) <= 1 / (32 * 300) + 1e-12
    assert res.band["share_excellent"][0] <= 0.1 <= res.band["share_excellent"][1]


# --- weights ------------------------------------------------------------------------------------

def weight_system():
    leaf = lambda code: {"code": code, "name": {"zh": code, "en": code}, "points": 10,  # noqa: E731
                         "target": 100, "rule": {"kind": "proportional"}}
    groups = []
    for g, pts in (("A", 40), ("B", 40), ("C", 20)):
        groups.append({"code": g, "name": {"zh": g, "en": g}, "points": pts,
                       "children": [dict(leaf(f"{g}.1"), points=pts * 0.75),
                                    dict(leaf(f"{g}.2"), points=pts * 0.25)]})
    return system_from_dict({"code": "w", "name": {"zh": "w", "en": "w"}, "total": 100,
                             "indicators": groups})


@pytest.fixture(scope="module")
def weighted():
    system = weight_system()
    rng = np.random.default_rng(4)
    n = 400
    df = pd.DataFrame({"project_id": [f"P{i}" for i in range(n)], "department": "D",
                       "budget": 1e6})
    for code in system.codes:
        df[code] = rng.uniform(30, 100, n).round(3)
    pf = portfolio_from_frame(df, system)
    sc = Scenario(name="weights", portfolio=pf, system=system, seed=1,
                  grading=Grading(cutoffs=(85, 75, 60)), linkage=liupanshui(0.15))
    A = system.attainment(pf.measurements())
    share = np.array([0.75, 0.25] * 3)
    groups = system.level1_index
    X = np.zeros((n, 3))
    np.add.at(X.T, groups, (A * share).T)
    return sc, X


def test_weights_recovered_from_observed_scores(weighted):
    sc, X = weighted
    truth = np.array([55.0, 25.0, 20.0])            # the file says 40 / 40 / 20
    observed = pd.Series(X @ truth, index=sc.portfolio.ids)
    res = calibrate(sc, "weights", {"observed_scores": observed})
    assert res.feasible and res.method == "SLSQP"
    assert res.value == pytest.approx(tuple(truth), abs=1e-4)
    assert sum(res.value) == pytest.approx(100.0)
    assert res.achieved["observed_scores"] < 1e-4   # RMSE, points


def test_weights_from_scores_respect_bounds_and_report_the_binding_one(weighted):
    sc, X = weighted
    observed = X @ np.array([55.0, 25.0, 20.0])
    res = fit_weights(sc, "weights", "observed_scores", observed, bounds=(0.0, 50.0))
    assert max(res.value) <= 50.0 + 1e-9 and sum(res.value) == pytest.approx(100.0)
    assert res.value[0] == pytest.approx(50.0, abs=1e-6)
    assert "upper bound of weights.A = 50" in res.binding


def test_weights_reproduce_observed_grades(weighted, tmp_path):
    sc, X = weighted
    truth = np.array([55.0, 25.0, 20.0])
    grades = sc.grading.codes_of(sc.grading.grade(X @ truth))
    path = tmp_path / "observed.csv"
    pd.DataFrame({"project_id": sc.portfolio.ids, "grade": grades}).to_csv(path, index=False)
    res = calibrate(sc, "weights", {"observed_grades": str(path)})
    assert res.achieved["observed_grades"] == 1.0     # every grade reproduced
    assert sum(res.value) == pytest.approx(100.0)
    # 400 graded projects leave little room: the weights come within half a point of the truth
    assert np.max(np.abs(np.array(res.value) - truth)) < 0.5


def test_fitted_weights_score_like_the_system(weighted):
    sc, X = weighted
    res = calibrate(sc, "weights", {"observed_scores": X @ np.array([30.0, 30.0, 40.0])})
    from perfsim.model.params import apply_parameter, parameter
    changed = apply_parameter(sc, parameter(sc, "weights"), res.value)
    # the system prints totals to two decimals: the fitted scores, rounded
    np.testing.assert_allclose(changed.scores(), X @ np.array(res.value), atol=0.005 + 1e-9)
    np.testing.assert_array_equal(changed.scores(), np.round(changed.scores(), 2))


# --- registry and errors ------------------------------------------------------------------------

def test_registry_lists_paths_and_metrics():
    sc = load_scenario(LIUPANSHUI)
    paths = parameters(sc)
    assert {"linkage.ratio", "grading.cutoffs", "grading.cutoffs.excellent",
            "simulation.spot_check.share"} <= set(paths)
    assert "weights" not in paths       # a score-only portfolio has no weights to fit
    assert paths["linkage.ratio"].valid == (0.10, 0.20)
    names = metrics.registry(sc.grading.labels)
    assert {"cut_total", "savings", "cancelled_total", "share_excellent", "share_poor",
            "misgrading", "wrong_cuts"} <= set(names)
    assert not names["cut_total"].monte_carlo and names["misgrading"].monte_carlo


def test_deterministic_metrics_agree_with_run_year():
    sc = score_scenario(**FIVE)
    m = deterministic_metrics(sc)
    s = run_year(sc).summary["totals_yuan"]
    assert m["cut_total"] == s["cut"] == pytest.approx(600_000)
    assert m["savings"] == pytest.approx(1_100_000)
    assert m["share_fair"] == pytest.approx(0.4)


def test_unknown_parameter_lists_the_valid_ones():
    with pytest.raises(InputError) as exc:
        calibrate(score_scenario(**FIVE), "linkage.rate", {"cut_total": 1})
    msg = str(exc.value)
    assert "linkage.rate" in msg and "valid:" in msg and "linkage.ratio" in msg
    assert "grading.cutoffs.excellent" in msg and "\n" not in msg


def test_unknown_metric_lists_the_valid_ones():
    with pytest.raises(InputError) as exc:
        calibrate(score_scenario(**FIVE), "linkage.ratio", {"cuts": 1})
    msg = str(exc.value)
    assert "cuts" in msg and "cut_total" in msg and "share_poor" in msg and "misgrading" in msg


@pytest.mark.parametrize("bounds, problem", [((0.2, 0.1), "low < high"),
                                             ((0.15, 0.15), "low < high"),
                                             ((0.05, 0.2), "bounds: 字段 field 'linkage.ratio' "
                                                           "= 0.05: 必须在 [0.1, 0.2] 内 / "
                                                           "must be a number in"),
                                             (("a", 0.2), "bounds: 字段 field 'linkage.ratio' "
                                                          "= 'a': 必须在 [0.1, 0.2] 内 / "
                                                          "must be a number in"),
                                             ((0.1,), "two finite numbers")])
def test_bad_bounds(bounds, problem):
    with pytest.raises(InputError) as exc:
        calibrate(score_scenario(**FIVE), "linkage.ratio", {"cut_total": 5e5}, bounds=bounds)
    assert problem in str(exc.value) and "[0.1, 0.2]" in str(exc.value)


def test_cutoffs_take_share_targets_only():
    with pytest.raises(InputError, match="share_excellent"):
        calibrate(hundred(), "grading.cutoffs", {"cut_total": 1.0})


def test_weights_need_observed_data():
    with pytest.raises(InputError, match="observed_scores"):
        calibrate(score_scenario(**FIVE), "linkage.ratio", {"observed_scores": "x.csv"})


def test_parse_targets():
    assert parse_targets(["cut_total=128,000,000", "share_poor=0.05"]) == {
        "cut_total": 128e6, "share_poor": 0.05}
    for bad in (["cut_total"], ["cut_total=abc"], ["=3"], ["a=1", "a=2"]):
        with pytest.raises(InputError):
            parse_targets(bad)


# --- command line -------------------------------------------------------------------------------

def run_cli(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_solves_the_liupanshui_ratio(capsys):
    code, out, err = run_cli(capsys, "calibrate", str(LIUPANSHUI), "--solve", "linkage.ratio",
                             "--target", "cut_total=128000000")
    assert code == 0 and err == ""
    ratio = float(out.split("solution: linkage.ratio = ")[1].split()[0])
    assert ratio == pytest.approx(0.15, abs=0.005) and "128,000,000" in out  # 15% ± 0.5 points


def test_cli_json_reports_an_infeasible_target(capsys):
    import json

    code, out, _ = run_cli(capsys, "calibrate", str(LIUPANSHUI), "--solve", "linkage.ratio",
                           "--target", "cut_total=200000000", "--json")
    doc = json.loads(out)
    assert code == 0 and doc["feasible"] is False and doc["value"] == pytest.approx(0.2)
    # at most 0.20 × the 中 money (about 853 million): about 170.7 million
    fair = liupanshui_fair_money(load_scenario(LIUPANSHUI))
    assert doc["achieved"]["cut_total"] == pytest.approx(0.2 * fair, abs=0.01)
    assert doc["binding"] == ["upper bound of linkage.ratio = 0.2"]


@pytest.mark.parametrize("argv, words", [
    (["--solve", "linkage.rate", "--target", "cut_total=1"],
     ["'--solve' = 'linkage.rate'", "valid:", "linkage.ratio", "grading.cutoffs"]),
    (["--solve", "linkage.ratio", "--target", "cuts=1"],
     ["'--target' = 'cuts'", "valid:", "cut_total", "share_excellent"]),
    (["--solve", "linkage.ratio", "--target", "cut_total=1", "--bounds", "0.2", "0.1"],
     ["'--bounds'", "low < high", "[0.1, 0.2]"]),
    (["--solve", "linkage.ratio", "--target", "cut_total=1", "--bounds", "x", "0.1"],
     ["'--bounds'", "two numbers"]),
    (["--solve", "linkage.ratio", "--target", "cut_total"], ["METRIC=VALUE"]),
])
def test_cli_bad_input_is_one_line(capsys, argv, words):
    code, out, err = run_cli(capsys, "calibrate", str(LIUPANSHUI), *argv)
    assert code == 2 and out == ""
    assert err.startswith("perfsim: error: ") and err.count("\n") == 1
    assert "Traceback" not in err
    for w in words:
        assert w in err
