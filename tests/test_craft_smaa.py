"""SMAA-2 (perfsim.kernel.smaa): rank acceptability and central weights against the exact
answer on 3 projects × 2 indicators (one weight w in [0, 1]: each rank is held on a union of
w-intervals whose ends are the crossing points of the score lines), uniform and bounded;
reproducibility whatever the chunk; one-line errors."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from perfsim.errors import InputError
from perfsim.kernel import bod as kb
from perfsim.kernel import smaa as ks

Y = np.array([[0.9, 0.2], [0.3, 0.8], [0.6, 0.55]])


def exact(Y, lo=0.0, hi=1.0):
    """Rank acceptability and first-rank central weights for w uniform on [lo, hi], where w is
    the weight of indicator 1: cut [lo, hi] at every crossing w_ik = (b_k − b_i) /
    ((a_i − b_i) − (a_k − b_k)), rank the units at each piece's midpoint, add up lengths."""
    a, b = Y[:, 0], Y[:, 1]
    m = len(Y)
    cuts = {lo, hi}
    for i, k in itertools.combinations(range(m), 2):
        den = (a[i] - b[i]) - (a[k] - b[k])
        if den != 0:
            w = (b[k] - b[i]) / den
            if lo < w < hi:
                cuts.add(w)
    cuts = sorted(cuts)
    acc = np.zeros((m, m))
    central = np.zeros((m, 2))
    for u, v in itertools.pairwise(cuts):
        mid = (u + v) / 2
        score = mid * a + (1 - mid) * b
        order = np.argsort(-score)
        for r, i in enumerate(order):
            acc[i, r] += (v - u) / (hi - lo)
        best = order[0]
        central[best] += (v - u) * np.array([mid, 1 - mid])  # ∫ w dw over the piece
    first = acc[:, 0] * (hi - lo)
    with np.errstate(invalid="ignore", divide="ignore"):
        central = np.where(first[:, None] > 0, central / first[:, None], np.nan)
    return acc, central


def test_exact_reference_by_hand():
    # scores u1 = .2 + .7 w, u2 = .8 − .5 w, u3 = .55 + .05 w; crossings u2 = u3 at
    # w = .25/.55 = 5/11, u1 = u2 at 1/2, u1 = u3 at .35/.65 = 7/13. Unit 2 leads on
    # [0, 5/11], unit 3 on [5/11, 7/13] (e.g. w = .52: .564, .54, .576), unit 1 on [7/13, 1].
    acc, central = exact(Y)
    np.testing.assert_allclose(acc[:, 0], [6 / 13, 5 / 11, 7 / 13 - 5 / 11])
    np.testing.assert_allclose(central[1], [5 / 22, 17 / 22])
    np.testing.assert_allclose(central[0], [(7 / 13 + 1) / 2, (1 - 7 / 13) / 2])
    np.testing.assert_allclose(acc.sum(axis=0), 1.0)
    np.testing.assert_allclose(acc.sum(axis=1), 1.0)


def _within_mc_error(got, want, draws):
    se = np.sqrt(np.clip(want * (1 - want), 1e-12, None) / draws)
    assert np.all(np.abs(got - want) <= 4.5 * se + 1e-12), (got, want)


def test_uniform_weights_match_exact_acceptability():
    draws = 200_000
    r = ks.smaa(Y, draws, np.random.default_rng(2026))
    acc, central = exact(Y)
    _within_mc_error(r.acceptability, acc, draws)
    # central weights: the midpoints of each unit's first-rank interval(s)
    np.testing.assert_allclose(r.central_weights, central, atol=0.005)
    np.testing.assert_allclose(r.expected_rank, acc @ [1, 2, 3], atol=0.02)


def test_bounded_weights_match_exact_acceptability():
    # share of indicator 1 in [0.3, 0.8] (so indicator 2 in [0.2, 0.7])
    b = kb.Bounds(np.array([0.3, 0.2]), np.array([0.8, 0.7]), np.zeros(2, dtype=np.int64),
                  np.zeros(1), np.ones(1), ("I1", "I2"), ("all",))
    draws = 100_000
    r = ks.smaa(Y, draws, 7, b)
    assert r.weights[:, 0].min() >= 0.3 and r.weights[:, 0].max() <= 0.8
    acc, _ = exact(Y, 0.3, 0.8)
    _within_mc_error(r.acceptability, acc, draws)
    assert acc[2, 0] > 0  # unit 3 leads on part of [0.3, 0.8]


def test_with_more_indicators_against_brute_force_ranks():
    # 4 units × 3 indicators: acceptability from the same draws ranked by a plain loop
    rng = np.random.default_rng(3)
    Yb = rng.uniform(size=(4, 3))
    r = ks.smaa(Yb, 5000, 11)
    counts = np.zeros((4, 4))
    for w in r.weights:
        s = Yb @ w
        for pos, i in enumerate(sorted(range(4), key=lambda i: -s[i])):
            counts[i, pos] += 1
    np.testing.assert_array_equal(r.acceptability, counts / 5000)
    assert np.allclose(r.weights.sum(axis=1), 1)


def test_same_seed_same_numbers_whatever_the_chunk():
    rng = np.random.default_rng(0)
    Yb = rng.uniform(size=(30, 5))
    a = ks.smaa(Yb, 3000, 42, chunk=7)
    b = ks.smaa(Yb, 3000, 42)
    np.testing.assert_array_equal(a.acceptability, b.acceptability)
    np.testing.assert_array_equal(a.central_weights, b.central_weights)


@pytest.mark.parametrize("kwargs, needle", [
    ({"draws": 0}, "'draws' = 0"),
    ({"chunk": 0}, "'chunk' = 0"),
    ({"bounds": kb.Bounds(np.array([0.7, 0.5]), np.ones(2), np.zeros(2, dtype=np.int64),
                          np.zeros(1), np.ones(1), ("I1", "I2"), ("all",))},
     "indicator I1: 字段 field 'lower' = 0.7"),
    ({"bounds": kb.Bounds(np.array([0.5, 0.5]), np.array([0.5, 0.5]),
                          np.zeros(2, dtype=np.int64), np.zeros(1), np.ones(1), ("I1", "I2"),
                          ("all",))}, "no room to vary"),
])
def test_bad_options_one_line(kwargs, needle):
    with pytest.raises(InputError) as exc:
        ks.smaa(Y, **{"draws": 100, "rng": 1, **kwargs})
    assert needle in str(exc.value) and "\n" not in str(exc.value)


def test_narrow_bounds_use_hit_and_run_and_match_grid_integration():
    # shares s1 in [0.5, 0.6], s2 in [0.1, 0.3] (s3 = 1 − s1 − s2 in [0.1, 0.4]): 4% of the
    # simplex, below the 5% at which rejection is used, so hit-and-run samples it. The exact
    # acceptability is an integral over that rectangle, done here on a 400 × 400 midpoint grid.
    b = kb.Bounds(np.array([0.5, 0.1, 0.0]), np.array([0.6, 0.3, 1.0]),
                  np.zeros(3, dtype=np.int64), np.zeros(1), np.ones(1), ("I1", "I2", "I3"),
                  ("all",))
    Yb = np.array([[0.9, 0.1, 0.5], [0.5, 0.9, 0.2], [0.6, 0.5, 0.9], [0.7, 0.4, 0.6]])
    r = ks.smaa(Yb, 40_000, 3, b)
    assert r.weights[:, 0].min() >= 0.5 - 1e-9 and r.weights[:, 0].max() <= 0.6 + 1e-9
    assert r.weights[:, 1].min() >= 0.1 - 1e-9 and r.weights[:, 1].max() <= 0.3 + 1e-9
    g1 = 0.5 + (np.arange(400) + 0.5) / 400 * 0.1
    g2 = 0.1 + (np.arange(400) + 0.5) / 400 * 0.2
    s1, s2 = (a.ravel() for a in np.meshgrid(g1, g2))
    S = np.column_stack([s1, s2, 1 - s1 - s2])
    order = np.argsort(-(S @ Yb.T), axis=1, kind="stable")
    want = np.zeros((4, 4))
    for pos in range(4):
        want[:, pos] = np.bincount(order[:, pos], minlength=4) / len(S)
    np.testing.assert_allclose(r.acceptability, want, atol=0.02)
    # the weights' mean is the rectangle's centre (0.55, 0.2, 0.25)
    np.testing.assert_allclose(r.weights.mean(axis=0), [0.55, 0.2, 0.25], atol=0.005)


def test_hit_and_run_with_a_group_spanning_every_indicator():
    # one group holding all three indicators with bounds [0, 1]: constant on Σ s = 1, so it
    # must not disturb the sampler; narrow leaf bounds force hit-and-run
    b = kb.Bounds(np.array([0.5, 0.1, 0.0]), np.array([0.6, 0.3, 1.0]),
                  np.zeros(3, dtype=np.int64), np.array([0.0]), np.array([1.0]),
                  ("I1", "I2", "I3"), ("all",))
    W = ks.sample_weights(3, 20_000, 4, b)
    np.testing.assert_allclose(W.sum(axis=1), 1.0)
    np.testing.assert_allclose(W.mean(axis=0), [0.55, 0.2, 0.25], atol=0.005)
    # uniform on the rectangle: s1 has variance 0.1² / 12
    assert W[:, 0].var() == pytest.approx(0.01 / 12, rel=0.1)
