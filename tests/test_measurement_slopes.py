"""Measurement space with noise on: how a leaf's measured value follows its latent attainment.

When a project's latent attainment on a leaf moves by Δ (a share of the leaf), its measured
value moves by the rule's slope × Δ and the rule scores it: for rules whose score is linear
in the value the attainment moves by exactly Δ, for the others in the same direction — the
reciprocal of a lower-is-better ratio, the threshold's cliff, the deduction's whole steps —
and a graded leaf takes the level nearest to its latent attainment (a tie to the better
level). Checked by hand through :meth:`perfsim.kernel.measurement.LeafSpace.attain`, on
noisy draws of Δ."""

from __future__ import annotations

import numpy as np
import pytest

from perfsim.kernel.measurement import LeafSpace
from perfsim.kernel.scoring import make_rule


def attained(rule, value: float, change) -> tuple[float, np.ndarray]:
    """The leaf's attainment at the measured ``value`` and when its latent attainment moves
    by each ``change``."""
    v = np.array([[value]])
    base = rule.attainment(v)
    space = LeafSpace(rules=(rule,), value=v, base=base, measured=np.ones((1, 1), dtype=bool))
    d = np.asarray(change, dtype=float)
    return float(base[0, 0]), space.attain((base[0, 0] + d)[:, None, None])[:, 0, 0]


NOISE = np.random.default_rng(21).normal(0.0, 0.1, 200).clip(-0.25, 0.25)


@pytest.mark.parametrize(("rule", "value", "base"), [
    (make_rule("proportional", target=100, points=10), 50.0, 0.5),          # 50 of 100 items
    (make_rule("linear", {"floor": 50}, target=100, points=10), 75.0, 0.5),  # half way up
    (make_rule("execution_rate", {"floor": 0.1}, target=0.9, points=10), 0.45, 0.5),
    (make_rule("ratio", {"scale": 100}, points=10), 50.0, 0.5),              # a score of 50
    (make_rule("share", points=10), 0.3, 0.7),                               # 30% failing
    (make_rule("assessed", points=10), 5.0, 0.5),                            # 5 of 10 points
], ids=["proportional", "linear", "execution_rate", "ratio", "share", "assessed"])
def test_a_linear_rules_attainment_moves_by_the_latent_change(rule, value, base):
    b, got = attained(rule, value, NOISE)
    assert b == pytest.approx(base)
    np.testing.assert_allclose(got, base + NOISE, rtol=0, atol=1e-12)


def test_a_lower_is_better_ratio_follows_the_cost_down():
    # unit cost 60 yuan against a target of 40: 40 / 60; the latent change Δ moves the cost
    # by −40 Δ yuan (the target per whole leaf), and the ratio follows 40 / (60 − 40 Δ)
    rule = make_rule("proportional", target=40, direction="lower", points=10)
    b, got = attained(rule, 60.0, NOISE)
    assert b == pytest.approx(40 / 60)
    np.testing.assert_allclose(got, 40 / (60 - 40 * NOISE), rtol=1e-12)


@pytest.mark.parametrize(("rule", "value", "changes", "expected"), [
    # at least 50 items, 45 delivered; 50 items per whole leaf: met from Δ = 0.1 on
    (make_rule("threshold", target=50, points=10), 45.0, [-0.1, 0.0, 0.05, 0.1, 0.2],
     [0, 0, 0, 1, 1]),
    # at most 10 complaints, 12 received; 10 per whole leaf, fewer as Δ rises: met from 0.2
    (make_rule("threshold", {"op": "<="}, target=10, points=10), 12.0, [-0.1, 0.0, 0.1, 0.3],
     [0, 0, 0, 1]),
    # 2 points off per 5 days late (20 points): the whole leaf is 50 days; 10 days late now
    (make_rule("deduct", {"per": 2, "step": 5}, points=20), 10.0, [-0.2, -0.1, 0.0, 0.1, 0.2],
     [0.6, 0.7, 0.8, 0.9, 1.0]),
    # all or nothing from 3 units, 2 delivered; 3 units per whole leaf
    (make_rule("all_or_nothing", {"min": 3}, points=10), 2.0, [0.0, 0.3, 0.34, 0.5],
     [0, 0, 1, 1]),
], ids=["threshold_at_least", "threshold_at_most", "deduct", "all_or_nothing"])
def test_stepped_rules_follow_the_latent_change_by_hand(rule, value, changes, expected):
    _, got = attained(rule, value, changes)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)


def test_a_graded_leaf_takes_the_level_nearest_its_latent_attainment():
    # levels 1.0 / 0.5 / 0.0; the project measured at the middle level (0.5)
    rule = make_rule("graded", {"levels": {"done": 1.0, "half": 0.5, "none": 0.0}}, points=10)
    latent = np.array([-0.1, 0.0, 0.2, 0.25, 0.3, 0.5, 0.74, 0.75, 0.76, 1.0, 1.2]) - 0.5
    b, got = attained(rule, 1.0, latent)
    assert b == 0.5
    # 0.25 and 0.75 lie half way: the better level
    np.testing.assert_array_equal(got, [0, 0, 0, 0.5, 0.5, 0.5, 0.5, 1, 1, 1, 1])


def test_a_graded_leaf_under_noise_is_the_nearest_level_counted_independently():
    rule = make_rule("graded", points=10)    # achieved / mostly / partly / not: 1, .8, .6, 0
    coef = np.array([1.0, 0.8, 0.6, 0.0])
    _, got = attained(rule, 2.0, NOISE * 3)   # measured "partly" (0.6), latent 0.6 + Δ
    latent = 0.6 + NOISE * 3
    distance = np.abs(latent[:, None] - coef[None, :])
    nearest = coef[np.argmin(distance, axis=1)]   # the first (better) level on a tie
    np.testing.assert_array_equal(got, nearest)
    assert len(set(got)) >= 3   # the noise moves it across levels
