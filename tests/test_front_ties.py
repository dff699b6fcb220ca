"""Ties on the Pareto front of check designs and in the strategic units' choice: outcomes
equal within the documented tolerance are ties, so a design no better anywhere and costlier
is never on the front, and a unit at its exact break-even reports honestly."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import DATASETS, tiny_scores_scenario

import perfsim
from perfsim.run import strategy
from perfsim.run.checks import ATOL, OUTCOMES, RTOL, optimise_checks, pareto

# ---------------------------------------------------------------- the Pareto front


def test_a_costlier_design_whose_payoff_is_lower_by_a_rounding_error_is_not_on_the_front():
    # payoff (yuan per point), wrong cuts (yuan), cost (yuan): B gains 1e-9 of A's payoff
    # (5.6 millionths of a yuan) and costs 600,000 yuan more
    payoff = 5616.0
    v = np.array([[payoff, 2.9e6, 0.0],
                  [payoff * (1 - 1e-9), 2.9e6, 600_000.0]])
    assert pareto(v).tolist() == [True, False]
    # compared exactly, B's millionths of a yuan would keep it on the front
    assert pareto(v, rtol=0.0, atol=0.0).tolist() == [True, True]


def test_the_relative_tolerance_alone_ties_large_values():
    # 1e-9 of 5 billion is 5 yuan: far above the absolute fen, within the relative 1e-8
    big = 5e9
    v = np.array([[big, 1.0, 0.0], [big * (1 - 1e-9), 1.0, 3000.0]])
    assert pareto(v, rtol=RTOL, atol=0.0).tolist() == [True, False]
    # a real difference (1e-6 of it, 5,000 yuan) is not a tie: both are on the front
    w = np.array([[big, 1.0, 0.0], [big * (1 - 1e-6), 1.0, 3000.0]])
    assert pareto(w).tolist() == [True, True]


def test_a_small_front_by_hand():
    v = np.array([
        [100.0, 0.0, 0.0],              # A: no checks; nothing is cheaper
        [50.0, 10.0, 3000.0],           # B: halves the payoff for 3,000
        [50.0 - 1e-9, 10.0, 6000.0],    # C: B's outcomes up to a rounding error, dearer
        [0.0, 20.0, 6000.0],            # D: payoff gone, 20 of wrong cuts
        [0.0, 20.0 - 1e-9, 9000.0],     # E: D's outcomes up to a rounding error, dearer
        [60.0, 5.0, 3000.0],            # F: B's cost, fewer wrong cuts, more payoff
        [60.0, 5.0 + 0.5, 3000.0],      # G: F but 0.5 yuan more wrong cuts (beyond a fen)
    ])
    # A, B, D and F: each is best on some trade-off; C is dominated by B, E by D, G by F
    assert pareto(v).tolist() == [True, True, False, True, False, True, False]
    # compared exactly, C's and E's rounding errors would count as better payoff, wrong cuts
    assert pareto(v, rtol=0.0, atol=0.0).tolist() == [True, True, True, True, True, True, False]


def test_ties_on_every_outcome_keep_both_designs():
    v = np.array([[10.0, 5.0, 3000.0], [10.0 + 1e-12, 5.0 - 1e-12, 3000.0]])
    assert pareto(v).tolist() == [True, True]


def dominates(j: np.ndarray, i: np.ndarray) -> bool:
    """Does design j dominate design i, the tolerance ``ATOL + RTOL·max(|x|, |y|)``
    applied outcome by outcome (written out here apart from the vectorised search)?"""
    worse = better = False
    for x, y in zip(j, i, strict=True):
        tol = ATOL + RTOL * max(abs(x), abs(y))
        if x > y + tol:
            worse = True
        if x < y - tol:
            better = True
    return better and not worse


def test_no_design_on_a_searched_front_is_dominated_and_each_one_off_it_is(tmp_path):
    path = tiny_scores_scenario(tmp_path, "tiny_inflating", extra=(
        "simulation:\n  self_evaluation: {noise: 0.02, inflation_mean: 0.05}\n"
        "  spot_check: {gap: 2}\n"))
    res = optimise_checks(perfsim.load(path), budget=8, staff_days_per_check=2,
                          shares=[0.0, 0.4, 0.8], penalties=(0.0, 5.0, 10.0),
                          replications=8)
    t = res.table
    v = t[list(OUTCOMES)].to_numpy(dtype=float)
    for i in range(len(v)):
        beaten = any(dominates(v[j], v[i]) for j in range(len(v)) if j != i)
        assert bool(t["pareto"].iloc[i]) is not beaten, t.iloc[i].to_dict()
    assert res.settings["pareto_rtol"] == RTOL and res.settings["pareto_atol"] == ATOL


def test_the_liupanshui_design_that_only_adds_cost_and_wrong_cuts_is_off_the_front():
    # perfsim optimise-checks liupanshui_2022.yaml --budget 2000 --days-per-check 4
    # --replications 16 with 3% inflation, noise 0.02 and a 2-point gap: checking the 300
    # highest self-scores with a 10-point penalty removes no payoff of inflation (the same as
    # no checks up to rounding errors of the replications' mean) at 900,000 yuan and more
    # wrong cuts, so no check at all dominates it
    sc = perfsim.load(DATASETS / "scenarios" / "liupanshui_2022.yaml")
    sc = sc.set({"simulation.self_evaluation.inflation_mean": 0.03,
                 "simulation.self_evaluation.noise": 0.02, "simulation.spot_check.gap": 2})
    share = 300 / sc.portfolio.n_projects
    res = optimise_checks(sc, 2000, staff_days_per_check=4, replications=16,
                          shares=[0.0, share], selections=("highest_score",),
                          penalties=(10.0,))
    none, checked = (res.table.iloc[i] for i in (0, 1))
    assert checked["checks"] == 300 and checked["evaluation_cost_recheck"] > 0
    assert checked["wrong_cuts"] > none["wrong_cuts"]
    assert checked["payoff_above_zero"] == pytest.approx(none["payoff_above_zero"], rel=1e-12)
    assert res.table["pareto"].tolist() == [True, False]


# ------------------------------------------------------------ strategic units' ties


SPOT = "simulation:\n  spot_check: {inflation_penalty: 12.0, gap: 0.0}\n"


def test_at_the_exact_break_even_a_unit_reports_honestly(tmp_path):
    # P2 70 中 (2,000 yuan): +10 points to 良 saves the 15% cut, a = 300; found, 12 points
    # off make it 58, 差, cancelled: b = -1,700. Break-even 300 / 2,000 = 0.15, where the
    # expected gain 0.85 x 300 - 0.15 x 1,700 is zero: a tie, so P2 stays honest. P5 65 中
    # (500): a = 75, b = -425, the same 0.15. P3 50 差 (b = 0) still gains 0.85 x 4,000.
    gn = strategy.gains(perfsim.load(tiny_scores_scenario(tmp_path, extra=SPOT)))
    assert gn.choice(0.15).tolist() == [0.0, 0.0, 30.0, 0.0, 0.0]
    # at each unit's own break-even, as the closed form computes it, it does not inflate
    be = gn.break_even()
    for unit in (1, 4):
        assert gn.choice(float(be[unit]))[unit] == 0.0


def test_a_gain_beyond_the_tolerance_still_inflates(tmp_path):
    gn = strategy.gains(perfsim.load(tiny_scores_scenario(tmp_path, extra=SPOT)))
    # at 14.95%: P2 gains 300 - 2,000 x 0.1495 = 1 yuan, P5 75 - 500 x 0.1495 = 0.25 yuan,
    # both far above a fen: they inflate (P2 to 80 with 10 points, P5 with 15)
    assert gn.choice(0.1495).tolist() == [0.0, 10.0, 30.0, 0.0, 15.0]
    assert gn.expected(0.1495)[list(gn.grid).index(10.0), 1] == pytest.approx(1.0)


def test_the_tie_rule_is_the_documented_tolerance(tmp_path):
    gn = strategy.gains(perfsim.load(tiny_scores_scenario(tmp_path, extra=SPOT)))
    ten = list(gn.grid).index(10.0)
    # the check share at which P2's expected gain from 10 points is just inside and just
    # outside its tolerance: (1 - p)·300 - p·1,700 = tol(p), tol = ATOL + RTOL·((1 - p)·300
    # + p·1,700); solve 300 - 2,000 p = ATOL + RTOL·(300 + 1,400 p) for p
    p_edge = (300 - ATOL - RTOL * 300) / (2000 + RTOL * 1400)
    inside, outside = p_edge + 1e-9, p_edge - 1e-9
    assert gn.expected(inside)[ten, 1] > 0            # positive, yet a tie
    assert gn.choice(inside)[1] == 0.0
    assert gn.choice(outside)[1] == 10.0


def test_strategic_inflation_at_the_break_even_counts_no_deterred_unit(tmp_path):
    sc = perfsim.load(tiny_scores_scenario(tmp_path, extra=SPOT))
    t = strategy.strategic_inflation(sc, [0.15])
    # only P3 (差, nothing to lose) inflates, by 30 points: 1 of 5 units, 6 points on average;
    # 30 points lift it to 80, 良, keeping all 4,000 yuan a 差 loses; found it loses nothing
    # more: its expected gain is 0.85 x 4,000 (P2 and P5 gain nothing: they stay honest)
    assert t["share_inflating"].iloc[0] == pytest.approx(0.2)
    assert t["mean_inflation"].iloc[0] == pytest.approx(6.0)
    assert t["expected_gain"].iloc[0] == pytest.approx(0.85 * 4000)


def test_large_budgets_at_the_break_even_do_not_inflate_on_rounding_errors(tmp_path):
    # three 中 projects of millions of yuan (budgets of the Liupanshui portfolio), a 20-point
    # penalty on any inflation found: +δ to 80 saves the 15% cut, a = 0.15·B; found, the
    # honest score less 20 is 差 and cancelled, b = -0.85·B. Break-even 0.15 / (0.15 + 0.85)
    # = 0.15 for each, where the expected gain is zero; sums of millions leave it at a few
    # 1e-10 yuan either side, which is no gain
    (tmp_path / "large.csv").write_text(
        "project_id,department,name,budget,score\n"
        "P1,D1,A,6327266.8,73.52\nP2,D1,B,13349298.0,71.54\nP3,D2,C,11391454.78,78.8\n",
        encoding="utf-8")
    (tmp_path / "large.yaml").write_text(
        f"name: large\nseed: 1\nportfolio: {{file: {tmp_path}/large.csv}}\n"
        "grading: {labels: national, cutoffs: [90, 80, 60]}\n"
        "linkage: {rule: liupanshui, ratio: 0.15, pool: treasury}\n"
        "simulation:\n  spot_check: {inflation_penalty: 20.0, gap: 0.0}\n", encoding="utf-8")
    gn = strategy.gains(perfsim.load(tmp_path / "large.yaml"))
    budget = np.array([6327266.8, 13349298.0, 11391454.78])
    first = [list(gn.grid).index(d) for d in (6.5, 8.5, 1.5)]   # the half points up to 80
    assert gn.unchecked[first, [0, 1, 2]] == pytest.approx(0.15 * budget)
    assert gn.checked[first, [0, 1, 2]] == pytest.approx(-0.85 * budget)
    assert gn.break_even() == pytest.approx([0.15] * 3)
    assert gn.choice(0.149).tolist() == [6.5, 8.5, 1.5]
    assert gn.choice(0.15).tolist() == [0.0, 0.0, 0.0]
    t = strategy.strategic_inflation(perfsim.load(tmp_path / "large.yaml"), [0.15])
    assert t["share_inflating"].iloc[0] == 0.0
    assert abs(t["expected_gain"].iloc[0]) < 0.01


def test_the_readme_break_even_on_liupanshui_holds_from_exactly_15_percent():
    # docs/tasks/audit.md, strategic units: a 20-point penalty on any inflation found deters
    # every unit but the 差 projects from exactly 15% on — a found 中 becomes 差 and loses 85%
    # where the lie saved 15%: 0.15 / (0.15 + 0.85); just below it every tempted unit still inflates
    sc = perfsim.load(DATASETS / "scenarios" / "liupanshui_2022.yaml").set(
        {"simulation.spot_check.gap": 0.0, "simulation.spot_check.inflation_penalty": 20.0})
    t = strategy.break_even_by_penalty(sc, [20.0])
    assert t["break_even_share"].iloc[0] == pytest.approx(0.15 / (0.15 + 0.85), rel=1e-12)
    honest = np.asarray(sc.scores(), dtype=float)
    # tempted: 中 (60 to 80) and 差 within the grid's 30 points of a better grade; under the
    # Liupanshui rule 优 and 良 keep the same money, so nothing tempts them
    poor = int(((honest >= 30) & (honest < 60)).sum())
    tempted = int(((honest >= 30) & (honest < 80)).sum())
    t = strategy.strategic_inflation(sc, [0.1499, 0.15])
    inflating = np.rint(t["share_inflating"] * honest.size).astype(int).tolist()
    assert inflating == [tempted, poor]
    assert 0 < poor < tempted
