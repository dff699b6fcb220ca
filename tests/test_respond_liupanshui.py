"""Units that respond on Liupanshui: the acceptance figures and the bunching estimator
checked against what the model's units did.

The truth behind a pile is counted from the simulation's own record (each project's honest
self-score and the self-score its unit reported, ``MonteCarloResult.sample``), apart from
the estimator (:func:`perfsim.analyse.bunching.bunching`), which sees the reported scores
only. Liupanshui keeps 优 and 良 alike, so no unit gains by reaching 90: its pile is zero.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import SCENARIOS

import perfsim
from perfsim.analyse.bunching import bunching
from perfsim.run.checks import optimise_checks

LIUPANSHUI = SCENARIOS / "liupanshui_2022.yaml"
BEST = {"simulation.self_evaluation.strategy": "best_response"}
#: a reach of 3 points: the bunching window below the line (3 points) holds every mover
REACH = 3.0


@pytest.fixture(scope="module")
def liupanshui():
    return perfsim.load(LIUPANSHUI)


def _run(sc, share, penalty, **more):
    return sc.set({**BEST, "simulation.spot_check.share": share,
                   "simulation.spot_check.inflation_penalty": penalty, **more}
                  ).simulate(replications=8, years=1)


def _lifted(sample, line):
    h, c = sample["honest_self_score"].to_numpy(), sample["self_score"].to_numpy()
    return int(((h < line) & (c >= line)).sum())


def _pile(sample, line, seed=0):
    est = bunching(sample["self_score"].to_numpy(), (90, 80), below=3, above=2, draws=200,
                   seed=seed)
    return est.table.set_index("cutoff").loc[float(line)]


@pytest.fixture(scope="module")
def by_penalty(liupanshui):
    return {pen: _run(liupanshui, 0.3, pen) for pen in (0.0, 20.0)}


@pytest.fixture(scope="module")
def by_share(liupanshui):
    return {share: _run(liupanshui, share, 20.0) for share in (0.05, 0.5)}


def test_a_heavier_penalty_lowers_the_share_inflating_and_the_pile_at_80(by_penalty):
    low, high = by_penalty[0.0], by_penalty[20.0]
    assert high.replications["inflating_share"].mean() < \
        low.replications["inflating_share"].mean()
    # the same draws (common random numbers): the units the penalty deters leave the pile
    assert high.replications["lifted_good"].mean() < low.replications["lifted_good"].mean()
    assert _lifted(high.sample, 80) < _lifted(low.sample, 80)
    assert _pile(high.sample, 80)["excess"] < _pile(low.sample, 80)["excess"]


def test_more_checks_lower_the_share_inflating_and_the_pile_at_80(by_share):
    few, many = by_share[0.05], by_share[0.5]
    assert many.replications["inflating_share"].mean() < \
        few.replications["inflating_share"].mean()
    assert many.replications["lifted_good"].mean() < few.replications["lifted_good"].mean()
    assert _lifted(many.sample, 80) < _lifted(few.sample, 80)
    assert _pile(many.sample, 80)["excess"] < _pile(few.sample, 80)["excess"]


def test_no_unit_climbs_to_90_where_the_rule_cuts_nothing(liupanshui, by_penalty):
    for mc in by_penalty.values():
        assert _lifted(mc.sample, 90) == 0 and _lifted(mc.sample, 80) > 0
        assert (mc.replications["lifted_excellent"] == 0).all()
        # the registry's pile at 80 is the record's count (replication 1)
        assert mc.replications["lifted_good"].iloc[0] == _lifted(mc.sample, 80)
    # within a reach the estimator's window holds (beyond it the hole below 80 bends the
    # counterfactual: docs/tasks/audit.md, bunching) the pile at 90 is zero within its interval
    mc = _run(liupanshui, 0.3, 20.0, **{"simulation.self_evaluation.max_inflation": REACH})
    assert _lifted(mc.sample, 90) == 0 and _lifted(mc.sample, 80) > 0
    row = _pile(mc.sample, 90)
    assert row["excess_low"] <= 0 <= row["excess_high"]


def _recovered(seed):
    sc = perfsim.load(LIUPANSHUI, seed=seed).set({
        **BEST, "simulation.self_evaluation.max_inflation": REACH,
        "simulation.spot_check.share": 0.3, "simulation.spot_check.inflation_penalty": 20})
    sample = sc.simulate(replications=1, years=1).sample
    h, c = sample["honest_self_score"].to_numpy(), sample["self_score"].to_numpy()
    lifted = (h < 80) & (c >= 80)
    truth_pile, truth_reach = int(lifted.sum()), float((c - h)[lifted].max())
    row = _pile(sample, 80, seed)
    return (row["excess_low"] <= truth_pile <= row["excess_high"],
            row["b_points_low"] <= truth_reach <= row["b_points_high"], truth_reach)


def test_the_estimator_recovers_the_pile_and_the_reach_the_units_chose():
    for seed in (2022, 2023):      # the scenario's own seed and the next
        pile, reach, truth_reach = _recovered(seed)
        assert pile and reach
        assert REACH - 0.5 < truth_reach <= REACH     # the farthest mover came from the edge


@pytest.mark.slow
def test_the_95_percent_intervals_cover_the_truth_in_85_to_100_percent_of_seeds():
    found = np.array([_recovered(seed)[:2] for seed in range(1, 21)])
    pile, reach = found.mean(axis=0)
    assert 0.85 <= pile <= 1.0, pile
    assert 0.85 <= reach <= 1.0, reach


def test_the_responding_and_fixed_fronts_differ(liupanshui):
    sc = liupanshui.set({"simulation.self_evaluation.inflation_mean": 0.03})
    kw = dict(shares=3, penalties=(0.0, 20.0), replications=4,
              selections=("random", "near_cutoffs"))
    fixed = optimise_checks(sc, 2000, response="fixed", **kw)
    best = optimise_checks(sc, 2000, response="best", **kw)
    assert fixed.settings["response"] == "fixed" and best.settings["response"] == "best"
    keys = ["simulation.spot_check.share", "simulation.spot_check.selection",
            "simulation.spot_check.inflation_penalty"]
    on_fixed = set(map(tuple, fixed.front[keys].to_numpy().tolist()))
    on_best = set(map(tuple, best.front[keys].to_numpy().tolist()))
    assert on_fixed != on_best
    # fixed units inflate whatever the design; responding ones stop where checks deter them
    assert fixed.table["inflating_share"].nunique() == 1
    assert best.table["inflating_share"].min() < best.table["inflating_share"].max()
