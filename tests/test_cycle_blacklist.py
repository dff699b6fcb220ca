"""Blacklisting of units for N years after a rule is broken, and cancellation of recurring
projects with k years of zero performance (Wenzhou [P7]) — in the kernel and across the
Monte Carlo's years."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import perfsim
from perfsim.kernel.grading import Grading
from perfsim.kernel.linkage import linkage_from_dict
from perfsim.kernel.year import CycleState, evaluate_year

KEEP = {"rule": "grade_table", "multipliers": {"excellent": 1, "good": 1, "fair": 1, "poor": 1}}


def test_a_blacklist_lasts_its_years_after_the_breach():
    # units 0 and 1; unit 0 breaks the rule (差, not rectified) in the first call only
    link = linkage_from_dict({**KEEP, "rectification": {"probability": 0},
                              "blacklist": {"after": ["unrectified"], "years": 2,
                                            "cut": 0.5}})
    units = np.array([0, 0, 1])
    budget = np.array([100.0, 200.0, 400.0])
    breach = np.array([[50.0, 95.0, 95.0]])
    clean = np.array([[95.0, 95.0, 95.0]])
    first = evaluate_year(breach, budget, Grading(), link, units=units)
    assert first.next_budget.tolist() == [[50.0, 100.0, 400.0]]   # both unit-0 projects
    assert first.after.blacklist_left.tolist() == [[1, 0]]
    second = evaluate_year(clean, budget, Grading(), link, units=units, state=first.after)
    assert second.next_budget.tolist() == [[50.0, 100.0, 400.0]]  # the second year
    assert second.units_blacklisted.tolist() == [1.0]
    third = evaluate_year(clean, budget, Grading(), link, units=units, state=second.after)
    assert third.next_budget.tolist() == [[100.0, 200.0, 400.0]]  # over
    assert third.units_blacklisted.tolist() == [0.0]


@pytest.mark.parametrize("after, listed", [(["poor"], [True, False]),
                                           (["precondition"], [False, True]),
                                           (["poor", "precondition"], [True, True])])
def test_what_breaks_the_rule_is_configurable(after, listed):
    link = linkage_from_dict({**KEEP, "preconditions": [{"flag": "audited",
                                                          "consequence": "cut",
                                                          "share": 0.0}],
                              "blacklist": {"after": after, "years": 1}})
    units = np.array([0, 1])
    o = evaluate_year(np.array([[50.0, 95.0]]), np.array([100.0, 100.0]), Grading(), link,
                      flags={"audited": np.array([True, False])}, units=units)
    assert o.blacklisted[0].tolist() == listed
    assert o.next_budget[0].tolist() == [0.0 if b else 100.0 for b in listed]


def scenario(tmp_path, linkage: str, scores, deps, budgets):
    pd.DataFrame({"project_id": [f"P{i + 1}" for i in range(len(scores))], "department": deps,
                  "budget": budgets, "score": scores}).to_csv(tmp_path / "pf.csv", index=False)
    (tmp_path / "sc.yaml").write_text(
        "name: bl\nseed: 1\nportfolio: {file: pf.csv}\n"
        f"linkage:\n  rule: grade_table\n  multipliers: {{excellent: 1, good: 1, fair: 1, "
        f"poor: 1}}\n{linkage}", encoding="utf-8")
    return perfsim.load(tmp_path / "sc.yaml")


def test_the_monte_carlo_carries_the_blacklist_across_years(tmp_path):
    # noise off: P1 (unit A) is 差 every year and never rectifies → A blacklisted each year,
    # its budgets cut by 20% a year: A holds 300 → 240 → 192; B keeps 500
    sc = scenario(tmp_path, "  rectification: {probability: 0}\n  blacklist: {years: 3, "
                  "cut: 0.2}\n", [50.0, 95.0, 95.0], ["A", "A", "B"], [100.0, 200.0, 500.0])
    reps = sc.simulate(replications=1, years=3, noise=False).replications
    assert reps["budget_total"].tolist() == pytest.approx([800.0, 740.0, 692.0], abs=1e-9)
    assert reps["units_blacklisted"].tolist() == [1.0, 1.0, 1.0]
    one = sc.run_year()
    assert one.summary["evaluation_cycle"]["blacklisted_units"] == ["A"]
    assert one.metrics["next_total"] == reps["next_total"].iloc[0]


def test_chronic_zero_performance_is_cancelled_after_its_years(tmp_path):
    # P2 scores 20 (below 30) every year: cancelled when it is below for the 2nd year in a row
    sc = scenario(tmp_path, "  zero_performance: {below: 30, years: 2}\n",
                  [95.0, 20.0, 45.0], ["A", "A", "B"], [100.0, 200.0, 400.0])
    assert sc.run_year().metrics["cancelled_total"] == 0.0   # one year: no history yet
    reps = sc.simulate(replications=1, years=3, noise=False).replications
    assert reps["cancelled_total"].tolist() == [0.0, 200.0, 0.0]
    assert reps["projects"].tolist() == [3, 3, 2]
    # with one year, the first year already cancels it, in every path
    one = sc.set({"linkage": {**KEEP, "zero_performance": {"below": 30, "years": 1}}})
    assert one.run_year().metrics["cancelled_total"] == 200.0
    # the line is a registry parameter: below 50 the 45-point project is zero too
    assert one.set({"linkage.zero_performance.below": 50.0}).run_year().metrics[
        "cancelled_total"] == 600.0


def test_the_zero_run_resets_when_a_project_recovers():
    link = linkage_from_dict({**KEEP, "zero_performance": {"below": 30, "years": 2}})
    budget = np.array([100.0])
    o1 = evaluate_year(np.array([[10.0]]), budget, Grading(), link)
    o2 = evaluate_year(np.array([[40.0]]), budget, Grading(), link, state=o1.after)
    o3 = evaluate_year(np.array([[10.0]]), budget, Grading(), link, state=o2.after)
    assert [o.cancelled[0, 0] for o in (o1, o2, o3)] == [0.0, 0.0, 0.0]
    o4 = evaluate_year(np.array([[10.0]]), budget, Grading(), link, state=o3.after)
    assert o4.cancelled[0, 0] == 100.0
    assert CycleState().zero_run is None


def test_the_whole_cycle_is_the_same_whatever_the_chunking_and_engine(tmp_path):
    # rectification draws, blacklists, zero-performance runs and postponements carried over
    # four noisy years: identical by block, however the replications are chunked or run
    pd.DataFrame({"project_id": [f"P{i + 1}" for i in range(8)],
                  "department": ["A", "A", "B", "B", "C", "C", "D", "D"],
                  "budget": [100.0, 200.0, 300.0, 400.0, 500.0, 600.0, 700.0, 800.0],
                  "score": [95.0, 58.0, 35.0, 85.0, 62.0, 25.0, 91.0, 75.0],
                  "pre_evaluated": ["yes"] * 7 + ["no"]}).to_csv(tmp_path / "pf.csv",
                                                                  index=False)
    (tmp_path / "sc.yaml").write_text("""name: whole
seed: 4
portfolio: {file: pf.csv}
linkage:
  rule: grade_table
  multipliers: {excellent: 1.0, good: 1.0, fair: 0.9, poor: 0.8}
  preconditions: [{flag: pre_evaluated, consequence: postpone}]
  rectification: {grades: [fair, poor], probability: 0.5, unrectified: {poor: 0.3},
                  recover: 0.2, effect: 0.05}
  blacklist: {after: [unrectified], years: 2, cut: 0.3}
  zero_performance: {below: 30, years: 2}
""", encoding="utf-8")
    sc = perfsim.load(tmp_path / "sc.yaml")
    a = sc.simulate(replications=70, years=4, chunk=32, engine="numpy").replications
    b = sc.simulate(replications=70, years=4, chunk=96, engine="numpy").replications
    c = sc.simulate(replications=70, years=4, chunk=32, engine="processes",
                    workers=2).replications
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(a, c)
    # the rules are all at work somewhere in the run
    for name in ("count_unrectified", "recovered_unrectified", "units_blacklisted",
                 "postponed_total", "cancelled_total"):
        assert a[name].max() > 0, name


@pytest.mark.parametrize("cut", [1.0, 0.5])
def test_a_blacklisted_units_new_projects_are_cut_alike(tmp_path, cut):
    # one unit: P1 is 差 every year (noise off), so unit A is blacklisted each year and every
    # budget it holds is cut by `cut`. New projects (entry rate 1: two a year, copies of
    # P1/P2 with their budgets) requested in a blacklisted year are cut alike: with cut 1 none
    # ever enters; with 0.5 they enter with half their request.
    sc = scenario(tmp_path, f"  blacklist: {{after: [poor], years: 1, cut: {cut:g}}}\n",
                  [50.0, 95.0], ["A", "A"], [100.0, 300.0])
    sc = sc.set(**{"simulation.dynamics.entry_rate": 1.0})
    reps = sc.simulate(replications=1, years=2, noise=False).replications
    year2 = reps[reps["year"] == 2].iloc[0]
    if cut == 1.0:
        assert year2["projects"] == 0 and year2["budget_total"] == 0
    else:
        # the portfolio's two at half (200), plus two entrants at half their requests
        entrants = year2["budget_total"] - 0.5 * 400.0
        assert year2["projects"] == 4
        assert entrants in {0.5 * (a + b) for a in (100.0, 300.0) for b in (100.0, 300.0)}
