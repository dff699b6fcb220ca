"""The bunching estimator: exact on a flat density with a known pile, and it recovers a pile
of known size on a smooth density within its bootstrap interval (issue: inferring inflation
from bunching)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import SCENARIOS

import perfsim
from perfsim.analyse.bunching import bunching
from perfsim.errors import InputError
from perfsim.run import strategy


def flat_with_pile(moved: int, per_bin: int = 20, departments: int = 4):
    """Scores spread evenly over [40, 100): ``per_bin`` in each 1-point bin, split evenly over
    the departments; then ``moved`` scores of department D1 from [77, 80) put in [80, 82)."""
    scores, deps = [], []
    for b in range(40, 100):
        for k in range(per_bin):
            scores.append(b + (k + 0.5) / per_bin)
            deps.append(f"D{k % departments + 1}")
    scores, deps = np.array(scores), np.array(deps, dtype=object)
    candidates = np.nonzero((scores >= 77) & (scores < 80) & (deps == "D1"))[0][:moved]
    scores[candidates] = 80.0 + np.linspace(0.1, 1.9, moved)
    return scores, deps


def test_flat_density_gives_the_moved_projects_exactly():
    scores, deps = flat_with_pile(moved=9)
    est = bunching(scores, cutoffs=[80], departments=deps, degree=1, draws=0)
    row = est.table.iloc[0]
    # the counterfactual is the flat 20 per bin: 9 projects left [77, 80) for [80, 82)
    assert row["excess"] == pytest.approx(9.0, abs=1e-9)
    assert row["missing"] == pytest.approx(9.0, abs=1e-9)
    assert row["excess_share"] == pytest.approx(9 / 1200)
    # 20 projects per point at the cutoff: the bunchers moved 9 / 20 points on average
    assert row["b_points"] == pytest.approx(9 / 20)
    dep = est.departments.set_index("department")
    # D1 holds a quarter of the projects: expected 10 of the 40 counterfactual in the window,
    # observed 10 + 9; the others are exactly as expected
    assert dep.loc["D1", "excess"] == pytest.approx(9.0)
    assert dep.loc[["D2", "D3", "D4"], "excess"].abs().max() == pytest.approx(0.0, abs=1e-9)
    assert est.bins["counterfactual"].to_numpy() == pytest.approx(np.full(60, 20.0))


def test_no_pile_no_excess_on_a_flat_density():
    scores, _ = flat_with_pile(moved=0)
    est = bunching(scores, cutoffs=[90, 80, 60], degree=1, draws=0)
    assert np.abs(est.table[["excess", "missing"]].to_numpy()).max() < 1e-9
    assert est.table["cutoff"].tolist() == [90, 80, 60]


def test_a_known_pile_on_a_smooth_density_is_recovered_within_its_interval():
    rng = np.random.default_rng(11)
    scores = rng.normal(80, 8, 40_000)
    scores = scores[(scores >= 45) & (scores < 100)]
    # projects truly in [87, 90) claim 90 with probability 0.4: a pile of known size
    near = np.nonzero((scores >= 87) & (scores < 90))[0]
    movers = near[rng.random(near.size) < 0.4]
    scores[movers] = rng.uniform(90, 92, movers.size)
    est = bunching(scores, cutoffs=[90, 80, 60], draws=200, seed=3)
    t = est.table.set_index("cutoff")
    assert t.loc[90, "excess_low"] <= movers.size <= t.loc[90, "excess_high"]
    assert t.loc[90, "missing_low"] <= movers.size <= t.loc[90, "missing_high"]
    # nobody moved at 80 or 60: their intervals hold zero
    for c in (80, 60):
        assert t.loc[c, "excess_low"] <= 0 <= t.loc[c, "excess_high"], c
    # the estimate is not trivially wide: the pile is told apart from no pile
    assert t.loc[90, "excess_low"] > 0.5 * movers.size


def test_same_seed_same_intervals():
    scores, _ = flat_with_pile(moved=12)
    noisy = scores + np.random.default_rng(0).normal(0, 0.01, scores.size)
    a = bunching(noisy, cutoffs=[80], draws=50, seed=5).table
    b = bunching(noisy, cutoffs=[80], draws=50, seed=5).table
    assert a.equals(b)


@pytest.mark.parametrize(("kwargs", "fragment"), [
    ({"width": 0}, "field 'width'"),
    ({"below": 2.5}, "whole number of bins"),
    ({"degree": 0}, "field 'degree'"),
    ({"draws": -1}, "field 'draws'"),
    ({"cutoffs": [41]}, "window does not fit"),
    ({"cutoffs": []}, "at least one"),
])
def test_bad_settings_are_one_line_errors(kwargs, fragment):
    scores, _ = flat_with_pile(moved=0)
    with pytest.raises(InputError, match=fragment) as err:
        bunching(scores, **{"cutoffs": [80], **kwargs})
    assert "\n" not in str(err.value)


def test_too_few_scores_is_refused():
    with pytest.raises(InputError, match="at least 20"):
        bunching(np.arange(10.0))


def test_strategic_units_pile_up_at_80_and_the_estimator_counts_them():
    """On the Liupanshui scenario, units that may add up to 3 points, facing 10% checks and a
    20-point penalty on any inflation found, lift 中 projects just below 80 onto the line; the
    excess mass at 80 holds the number of projects that crossed it, and 90 and 60 (where
    nothing crosses: 优 and 良 are paid alike, 差 projects cannot reach 60) hold zero."""
    sc = perfsim.load(SCENARIOS / "liupanshui_2022.yaml").set({
        "simulation.spot_check.gap": 0.0, "simulation.spot_check.inflation_penalty": 20.0})
    c = strategy.claimed_scores(sc, 0.1, grid=np.arange(0.0, 3.5, 0.5))
    crossed = int(((c["honest_score"] < 80) & (c["claimed_score"] >= 80)).sum())
    assert crossed > 30
    est = bunching(c["claimed_score"], departments=c["department"], low=50, high=99,
                   draws=200, seed=1)
    t = est.table.set_index("cutoff")
    assert t.loc[80, "excess_low"] <= crossed <= t.loc[80, "excess_high"]
    for cut in (90, 60):
        assert t.loc[cut, "excess_low"] <= 0 <= t.loc[cut, "excess_high"], cut


def test_the_strategic_reach_behind_a_pile_is_recovered_within_its_interval():
    """Units that may add up to 3 points pile scores at 80; fitting the strategic units'
    reach to the estimated pile recovers the 3 points within the reach that the ends of the
    excess's 95% interval give, and the implied inflation_mean is the chosen inflation's."""
    sc = perfsim.load(SCENARIOS / "liupanshui_2022.yaml").set({
        "simulation.spot_check.gap": 0.0, "simulation.spot_check.inflation_penalty": 20.0})
    c = strategy.claimed_scores(sc, 0.1, grid=strategy.inflation_grid(3.0))
    est = bunching(c["claimed_score"], departments=c["department"], low=50, high=99,
                   draws=200, seed=1)
    fit = strategy.fit_bunching(sc, est, cutoff=80, check_share=0.1)
    assert fit.interval[0] <= 3.0 <= fit.interval[1]
    assert fit.crossed >= fit.target
    again = strategy.claimed_scores(sc, 0.1, grid=strategy.inflation_grid(fit.max_inflation))
    assert fit.inflation_mean == pytest.approx(again["inflation"].mean() / 100)
    assert set(fit.by_department) == set(fit.departments["department"])
    with pytest.raises(InputError, match="not a cutoff"):
        strategy.fit_bunching(sc, est, cutoff=70)
