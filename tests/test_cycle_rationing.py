"""Rationing the re-checks (the evaluation cycle): a bureau's staff-days for re-checks, a share
of the funds the checks must cover, and the third party blacklisted after it forfeits its
quality deposit — by hand on the kernel, through the Monte Carlo, chunk-proof, and as registry
parameters of the sensitivity analysis."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import tiny_measured_scenario, tiny_scores_scenario

import perfsim
from perfsim.errors import InputError
from perfsim.kernel.evaluation import assign_evaluators, check_count, select_for_check
from perfsim.model.params import parameters
from perfsim.model.settings import settings_from_dict
from perfsim.run.sensitivity import evaluate_samples


def pick(budget, share=0.0, selection="largest_budget", key=None, active=None, **options):
    """select_for_check on rows of budgets (self-scores all 70)."""
    budget = np.atleast_2d(np.asarray(budget, dtype=float))
    active = np.ones(budget.shape, dtype=bool) if active is None else np.atleast_2d(active)
    key = np.zeros(budget.shape) if key is None else np.atleast_2d(key)
    return select_for_check(share, selection, active, key, np.where(active, budget, 0.0),
                            np.full(budget.shape, 70.0), **options)


# --- a share of the funds ---------------------------------------------------------------------

def test_a_funds_share_takes_the_shortest_run_of_largest_budgets_that_covers_it():
    # budgets 50, 30, 20 (100 in all): 60% needs 50 + 30; 50% is met by 50 alone
    assert pick([50, 30, 20], funds_share=0.6)[0].tolist() == [True, True, False]
    assert pick([50, 30, 20], funds_share=0.5)[0].tolist() == [True, False, False]
    assert pick([50, 30, 20], funds_share=1.0)[0].tolist() == [True, True, True]
    # one value per row (a sensitivity sample)
    two = pick([[50, 30, 20], [50, 30, 20]], funds_share=np.array([0.6, 0.5]))
    assert two.sum(axis=1).tolist() == [2, 1]


def test_a_funds_share_follows_the_selection_order_and_skips_inactive_projects():
    # random order by key: 30 (0.9), then 20 (0.5), then 50 (0.1); 40% of 100 needs 30 + 20
    key = [0.1, 0.9, 0.5]
    assert pick([50, 30, 20], selection="random", key=key,
                funds_share=0.4)[0].tolist() == [False, True, True]
    assert pick([50, 30, 20], selection="random", key=key,
                funds_share=0.3)[0].tolist() == [False, True, False]
    # an inactive project of 1,000 is neither counted in the funds nor checked
    out = pick([50, 30, 1000, 20], active=[True, True, False, True], funds_share=0.6)
    assert out[0].tolist() == [True, True, False, False]


def test_a_funds_share_and_a_share_of_projects_both_hold():
    # a third of three projects is one check, 60% of the funds needs two: two
    assert pick([50, 30, 20], share=1 / 3, funds_share=0.6).sum() == 2
    # all of them by count, half the funds by money: three
    assert pick([50, 30, 20], share=1.0, funds_share=0.5).sum() == 3


# --- a budget of staff-days -------------------------------------------------------------------

def test_ten_staff_days_at_three_a_check_pay_for_three_checks():
    budget = np.arange(10.0, 0.0, -1.0)            # 10, 9, ..., 1
    # the share asks for half of ten projects (five), the days pay for three: the three
    # largest
    out = pick(budget, share=0.5, days_budget=10.0, check_days=3.0)
    assert out[0].tolist() == [True] * 3 + [False] * 7
    # a days budget alone: as many checks as it pays for, never more than the projects
    assert pick(budget, days_budget=10.0, check_days=3.0).sum() == 3
    assert pick(budget, days_budget=100.0, check_days=3.0).sum() == 10
    # the days cap a funds share too (three of the four it would take for 60%: 10+9+8 of 55)
    assert pick(budget, funds_share=0.6, days_budget=10.0, check_days=3.0).sum() == 3
    # per row: 10 days in the first, no cap (0) in the second
    rows = pick(np.vstack([budget, budget]), share=0.5, days_budget=np.array([10.0, 0.0]),
                check_days=3.0)
    assert rows.sum(axis=1).tolist() == [3, 5]


def test_the_count_of_checks_by_hand():
    n = np.array([[10], [10], [10], [4]])
    # share 0.5 → 5; 0.5 with 7 days at 2 → 3; days alone 7 at 2 → 3; share 0.3 of 4 → 1
    out = check_count(n, np.array([0.5, 0.5, 0.0, 0.3]), np.array([0.0, 7.0, 7.0, 0.0]), 2.0)
    assert out[:, 0].tolist() == [5, 3, 3, 1]
    # 0.6 staff-days at 0.2 a check: three checks (not two by a rounding error)
    assert check_count(np.array([[10]]), 0.0, 0.6, 0.2)[0, 0] == 3
    # nothing asked and no budget: no checks
    assert check_count(np.array([[10]]), 0.0)[0, 0] == 0


# --- the third party barred -------------------------------------------------------------------

def test_a_barred_third_partys_checks_go_to_finance_not_to_intermediaries():
    # budgets 10, 50, 5, 30, 20, 40, all but the fifth checked; 40 and more: a third party,
    # two thirds of the other three checks to intermediaries (30, 10). Barred, the 50 and the
    # 40 go to the finance re-check and the intermediaries keep the same two.
    budget = np.array([[10.0, 50.0, 5.0, 30.0, 20.0, 40.0]] * 2)
    checked = np.array([[True, True, True, True, False, True]] * 2)
    out = assign_evaluators(checked, budget, 2 / 3, 40.0, barred=np.array([False, True]))
    assert out[0].tolist() == [1, 2, 0, 1, -1, 2]
    assert out[1].tolist() == [1, 0, 0, 1, -1, 0]


BLACKLIST = {"simulation.spot_check.share": 1.0,
             "simulation.cost.recheck": 100.0,
             "simulation.evaluators.third_party_min_budget": 2500.0,
             "simulation.evaluators.third_party_noise": 0.0,
             "simulation.evaluators.third_party_bias": 0.1,
             "simulation.evaluators.third_party_cost": 1000.0,
             "simulation.evaluators.deposit": 0.2,
             "simulation.evaluators.deposit_tolerance": 5.0,
             "simulation.evaluators.blacklist_years": 2}


@pytest.fixture
def tiny(tmp_path):
    # five projects of 1,000, 2,000, 4,000, 3,000 and 500 yuan scored 95, 70, 50, 85, 65
    return perfsim.load(tiny_scores_scenario(tmp_path, "rationing", seed=11))


def test_a_forfeit_bars_the_third_party_for_the_next_two_years(tiny):
    # every project re-checked; those of 2,500 yuan and more (4,000 and 3,000) by a third
    # party that reads 10 points too high (tolerance 5): each of its checks forfeits the
    # deposit, so it is barred in years 2-3, back in year 4, barred in 5-6, back in 7
    reps = tiny.set(BLACKLIST).simulate(replications=3, years=7, noise=False).replications
    for _, row in reps.groupby("replication"):
        assert row["third_party_barred"].tolist() == [0, 1, 1, 0, 1, 1, 0]
        forfeited = row["deposits_forfeited"].to_numpy()
        free = row["third_party_barred"].to_numpy() == 0
        assert np.all(forfeited[free] >= 1) and np.all(forfeited[~free] == 0)
        # the cost by hand: a forfeited check costs 1,000 × (1 − 0.2), every other check —
        # all of them in a barred year — the finance price of 100
        n = row["projects"].to_numpy()
        assert row["evaluation_cost_recheck"].tolist() == pytest.approx(
            (800.0 * forfeited + 100.0 * (n - forfeited)).tolist())
    # year 1 by hand: 4,000 and 3,000 forfeited, three finance checks
    first = reps[reps["year"] == 1]
    assert (first["deposits_forfeited"] == 2).all()
    assert (first["evaluation_cost_recheck"] == 2 * 800.0 + 3 * 100.0).all()


def test_without_a_blacklist_the_third_party_keeps_checking(tiny):
    reps = tiny.set({**BLACKLIST, "simulation.evaluators.blacklist_years": 0}).simulate(
        replications=2, years=4, noise=False).replications
    assert (reps["third_party_barred"] == 0).all() and (reps["deposits_forfeited"] >= 1).all()


def test_with_noise_the_barred_years_are_the_two_after_each_forfeit(tiny):
    # a noisy third party that errs now and then: barred in year t exactly when it
    # forfeited a deposit in year t − 1 or t − 2 (it cannot forfeit while barred)
    reps = tiny.set({**BLACKLIST, "simulation.evaluators.third_party_noise": 0.06,
                     "simulation.evaluators.third_party_bias": 0.0}).simulate(
        replications=64, years=6).replications
    seen = 0
    for _, row in reps.groupby("replication"):
        lost = row["deposits_forfeited"].to_numpy() > 0
        barred = row["third_party_barred"].to_numpy()
        expected = [int(lost[max(t - 2, 0):t].any()) for t in range(len(lost))]
        assert barred.tolist() == expected
        seen += int(lost.any() and not lost.all())
    assert seen > 0 and reps["third_party_barred"].between(0, 1).all()
    assert 0 < reps["third_party_barred"].mean() < 1


# --- through the Monte Carlo ------------------------------------------------------------------

@pytest.mark.parametrize("measured", [False, True], ids=["scores", "measured"])
def test_the_funds_share_is_covered_in_every_replication_and_year(tmp_path, measured):
    path = tiny_measured_scenario(tmp_path) if measured else tiny_scores_scenario(tmp_path)
    sc = perfsim.load(path).set({"simulation.spot_check.funds_share": 0.6,
                                 "simulation.spot_check.selection": "random",
                                 "simulation.dynamics.entry_rate": 0.4})
    reps = sc.simulate(replications=40, years=4).replications
    assert (reps["recheck_coverage"] >= 0.6 - 1e-12).all()
    assert (reps["recheck_coverage"] < 1).any()        # not simply everything checked


def test_the_staff_days_spent_stay_within_the_budget(tiny):
    # 7 staff-days at 2 a re-check pay for 3 checks; the share asks for 80% of the projects
    reps = tiny.set({"simulation.spot_check.share": 0.8,
                     "simulation.spot_check.days_budget": 7.0,
                     "simulation.cost.recheck_days": 2.0,
                     "simulation.dynamics.entry_rate": 0.4}).simulate(
        replications=40, years=3).replications
    assert (reps["evaluation_days"] <= 7.0).all()
    n = reps["projects"].to_numpy()
    assert reps["evaluation_days"].tolist() == (2.0 * np.minimum(np.rint(0.8 * n), 3)).tolist()


RATIONED = {"simulation.spot_check.share": 0.2, "simulation.spot_check.funds_share": 0.7,
            "simulation.spot_check.days_budget": 9.0, "simulation.cost.recheck_days": 2.0,
            "simulation.cost.recheck": 100.0,
            "simulation.evaluators.third_party_min_budget": 2500.0,
            "simulation.evaluators.third_party_noise": 0.06,
            "simulation.evaluators.third_party_cost": 1000.0,
            "simulation.evaluators.deposit": 0.2,
            "simulation.evaluators.deposit_tolerance": 5.0,
            "simulation.evaluators.blacklist_years": 1,
            "simulation.dynamics.entry_rate": 0.4}


def assert_same(a, b) -> None:
    pd.testing.assert_frame_equal(a.replications, b.replications, check_exact=True)
    pd.testing.assert_frame_equal(a.projects, b.projects, check_exact=True)
    assert json.dumps(a.summary["metrics"]) == json.dumps(b.summary["metrics"])


@pytest.mark.parametrize("days", [9.0, 0.0], ids=["days", "funds"])
def test_rationing_and_the_blacklist_give_the_same_numbers_whatever_the_chunk(tiny, days):
    # 100 replications = blocks of 32, 32, 32, 4: chunks of 1, 2 and 4 blocks
    sc = tiny.set({**RATIONED, "simulation.spot_check.days_budget": days})
    runs = [sc.simulate(replications=100, years=4, chunk=c) for c in (32, 64, 100)]
    assert_same(runs[0], runs[1])
    assert_same(runs[0], runs[2])
    reps = runs[0].replications
    assert reps["third_party_barred"].any() and reps["deposits_forfeited"].any()


# --- registry parameters and errors -----------------------------------------------------------

def test_the_sensitivity_rations_each_sample_by_its_own_days_and_funds(tiny):
    # a days budget per sample: share 1 of five projects, 2 days a check → 0 days: 5 checks
    # (no cap), 4 days: 2 checks, at 100 yuan each
    sc = tiny.set({"simulation.spot_check.share": 1.0, "simulation.cost.recheck": 100.0,
                   "simulation.cost.recheck_days": 2.0,
                   "simulation.spot_check.selection": "largest_budget"})
    y = evaluate_samples(sc, ["simulation.spot_check.days_budget"], np.array([[0.0], [4.0]]),
                         metrics=["evaluation_cost_recheck"])
    assert y[:, 0].tolist() == [500.0, 200.0]
    # a funds share per sample, no share of projects: half of 10,500 yuan needs 4,000 + 3,000
    sc = sc.set({"simulation.spot_check.share": 0.0})
    y = evaluate_samples(sc, ["simulation.spot_check.funds_share"], np.array([[0.0], [0.5]]),
                         metrics=["evaluation_cost_recheck", "recheck_coverage"])
    assert y[0].tolist() == [0.0, 0.0]
    assert y[1].tolist() == [200.0, 7000.0 / 10500.0]


def test_a_sampled_days_budget_needs_the_days_of_a_re_check(tiny):
    with pytest.raises(InputError, match="recheck_days") as err:
        evaluate_samples(tiny, ["simulation.spot_check.days_budget"], np.array([[10.0]]),
                         metrics=["evaluation_cost"])
    assert "\n" not in str(err.value)


def test_both_are_registry_parameters_with_their_ranges(tiny):
    known = parameters(tiny)
    assert known["simulation.spot_check.funds_share"].valid == (0.0, 1.0)
    assert known["simulation.spot_check.days_budget"].valid == (0.0, 1e6)
    assert known["simulation.spot_check.days_budget"].unit == "staff-days"
    with pytest.raises(InputError, match="days_budget"):
        tiny.set({"simulation.spot_check.days_budget": 2e6})


@pytest.mark.parametrize(("block", "fragment"), [
    ({"spot_check": {"days_budget": 10}}, "recheck_days"),
    ({"spot_check": {"days_budget": -1}, "cost": {"recheck_days": 2}},
     "spot_check.days_budget"),
    ({"spot_check": {"funds_share": 1.5}}, "spot_check.funds_share"),
    ({"spot_check": {"funds_share": 0.5, "selection": "mix",
                     "mix": {"random": 1.0}}}, "spot_check.funds_share"),
    ({"evaluators": {"blacklist_years": -1}}, "evaluators.blacklist_years"),
    ({"evaluators": {"blacklist_years": 1.5}}, "evaluators.blacklist_years"),
])
def test_bad_rationing_settings_are_one_line_errors(block, fragment):
    with pytest.raises(InputError, match=fragment) as err:
        settings_from_dict(block)
    assert "\n" not in str(err.value)
