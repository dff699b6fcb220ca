"""The robustness kernels against independent computations: hand-solved linear programmes for
the BoD variants (own-share restrictions, undesirable indicators), brute-force enumeration of
the peer sets for order-m, the formulas of Lahdelma & Salminen (2001) for SMAA-2's holistic
acceptability and confidence factors, exact probabilities for value noise and indicator
exclusion, and a one-dimensional root for the optimised weights."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import integrate, optimize

from perfsim.errors import InputError
from perfsim.kernel import smaa as ks
from perfsim.kernel import smaa2 as ks2
from perfsim.kernel.bod import Bounds, bod
from perfsim.kernel.bod_directional import bod_directional
from perfsim.kernel.bod_orderm import bod_order_m, expansion_factors
from perfsim.kernel.bod_shares import bod_own_shares
from perfsim.kernel.weighting import compute_weights
from perfsim.kernel.weighting.optimised import importance_shares, optimised_weights


def _bounds(lower, upper):
    n = len(lower)
    return Bounds(np.asarray(lower, float), np.asarray(upper, float), np.zeros(n, np.int64),
                  np.zeros(1), np.ones(1), tuple(f"#{j + 1}" for j in range(n)), ("all",))


# --- BoD with bounds on each unit's own shares ------------------------------------------------

def test_own_share_bounds_by_hand():
    # A = (1, .5), B = (.5, 1), C = (.4, .4); each indicator owes 40-60% of a unit's score.
    # A: with T = w1 + .5 w2 and share s = w1 / T, B's constraint is T (2 - 1.5 s) <= 1, so
    # the best is s = .6: T = 1 / 1.1 = 10/11 (A's own constraint T <= 1 is slack). B by
    # symmetry. C: w1 = w2 = 2/3 meets both peers with equality, share .5: .8 * 2/3 = 8/15.
    Y = np.array([[1.0, 0.5], [0.5, 1.0], [0.4, 0.4]])
    r = bod_own_shares(Y, _bounds([0.4, 0.4], [0.6, 0.6]))
    assert r.scores == pytest.approx([10 / 11, 10 / 11, 8 / 15], abs=1e-9)
    # A's weights: w1 = .6 T, w2 = .8 T, shares 3/7 and 4/7
    assert r.weights[0] == pytest.approx([3 / 7, 4 / 7], abs=1e-7)


def test_own_share_bounds_that_bind_nothing_give_the_plain_bod():
    Y = np.random.default_rng(5).random((40, 4))
    free = bod_own_shares(Y, _bounds([0, 0, 0, 0], [1, 1, 1, 1]))
    assert free.scores == pytest.approx(bod(Y).scores, abs=1e-9)


def test_a_zero_value_under_a_positive_lower_bound_scores_zero():
    Y = np.array([[1.0, 0.0], [0.5, 1.0]])
    r = bod_own_shares(Y, _bounds([0.1, 0.1], [1, 1]))
    assert r.scores[0] == pytest.approx(0.0, abs=1e-12)
    assert r.scores[1] == pytest.approx(1.0, abs=1e-9)


# --- directional BoD with undesirable indicators ----------------------------------------------

def test_directional_bod_by_hand():
    # (desirable y, undesirable u): A = (2, 1), B = (1, 1), C = (2, 2).
    # B: only A has a better y/u ratio; λ_A = t gives u = t = 1 - β and y = 2t >= 1 + β, so
    # β = 1/3, score 2/3. A: t = 1 - β and 2t >= 2 + 2β force β = 0. C: u = a + b + 2c = 2 - 2β,
    # y - u = a >= 4β and Σλ <= 1 give c >= 1 - 2β, a + b <= 2β, so β = 0 (score 1).
    Y = np.array([[2.0, 1.0], [1.0, 1.0], [2.0, 2.0]])
    assert bod_directional(Y, [False, True]) == pytest.approx([1.0, 2 / 3, 1.0], abs=1e-9)


def test_without_undesirable_indicators_it_is_the_output_expansion_of_the_plain_bod():
    # max β with Σλ y_k >= (1 + β) y_i, Σλ <= 1 is 1 / BoD - 1 by LP duality (capped at β = 1)
    Y = np.random.default_rng(8).random((30, 3))
    expected = np.clip(2.0 - 1.0 / bod(Y).scores, 0.0, 1.0)
    assert bod_directional(Y, [False] * 3) == pytest.approx(expected, abs=1e-8)


def test_directional_bod_is_the_full_programme_solved_unit_by_unit():
    # the envelopment programme over every peer, one linprog per unit, written out here
    rng = np.random.default_rng(12)
    Y = rng.random((25, 5)) + 0.05
    bad = np.array([False, False, False, True, True])
    g, b = Y[:, ~bad], Y[:, bad]
    want = []
    for i in range(len(Y)):
        c = np.r_[np.zeros(len(Y)), -1.0]
        A_ub = np.vstack([np.hstack([-g.T, g[i][:, None]]), np.r_[np.ones(len(Y)), 0.0]])
        A_eq = np.hstack([b.T, b[i][:, None]])
        res = optimize.linprog(c, A_ub=A_ub, b_ub=np.r_[-g[i], 1.0], A_eq=A_eq, b_eq=b[i],
                               bounds=[(0, None)] * len(Y) + [(0, 1)], method="highs")
        want.append(1 - res.x[-1])
    got = bod_directional(Y, bad)
    assert got == pytest.approx(want, abs=1e-8)
    assert (got < 1 - 1e-6).sum() > 5   # the peers matter: not everyone is on the frontier


def test_directional_flags_must_match_the_indicators():
    with pytest.raises(InputError, match="give one flag for each of the 2 indicators"):
        bod_directional(np.ones((3, 2)), [True])


# --- order-m BoD ------------------------------------------------------------------------------

def _theta_2d(yi, peers):
    """max θ with θ y_i inside the convex hull of the peers and 0 (free disposal): in two
    dimensions an optimum uses at most two peers; on the segment between two peers
    min_j (t a_j + (1 - t) b_j) / y_ij is concave, so its maximum is at an end or where the
    two ratios cross."""
    best = 0.0
    pts = [np.asarray(p, float) for p in peers]
    for a, b in itertools.product(pts, repeat=2):
        ts = [0.0, 1.0]
        da, db = a / yi, b / yi
        denom = (da[0] - db[0]) - (da[1] - db[1])
        if denom != 0:
            t = (db[1] - db[0]) / denom
            if 0 <= t <= 1:
                ts.append(t)
        for t in ts:
            best = max(best, float(np.min(t * da + (1 - t) * db)))
    return best


def test_expansion_factors_match_the_two_dimensional_geometry():
    rng = np.random.default_rng(4)
    Y = rng.random((6, 2)) + 0.05
    units = rng.integers(0, 6, size=40)
    peers = rng.integers(0, 6, size=(40, 3))
    got = expansion_factors(Y, units, peers)
    want = [_theta_2d(Y[i], Y[p]) for i, p in zip(units, peers, strict=True)]
    assert got == pytest.approx(want, abs=1e-8)


def test_order_m_against_brute_force_enumeration_of_the_peer_sets():
    # n = 3 units, m = 2: the 9 ordered peer draws are equally likely; λ_m = their mean θ
    Y = np.array([[1.0, 0.2], [0.3, 0.9], [0.6, 0.6]])
    exact = np.array([np.mean([_theta_2d(Y[i], Y[list(R)])
                               for R in itertools.product(range(3), repeat=2)])
                      for i in range(3)])
    draws = 4000
    r = bod_order_m(Y, m=2, draws=draws, rng=11)
    # Monte Carlo: within 4 standard errors of the exact expectation
    sd = np.array([np.std([_theta_2d(Y[i], Y[list(R)])
                           for R in itertools.product(range(3), repeat=2)])
                   for i in range(3)])
    assert np.all(np.abs(r.expansion - exact) <= 4 * sd / np.sqrt(draws) + 1e-12)
    assert r.scores == pytest.approx(1 / r.expansion)
    assert r.scores[2] > 1.0  # C beats A and B alone: beyond the order-2 frontier


def test_order_m_with_many_peers_is_the_full_bod():
    # m = 300 draws among 5 units miss one with probability < 5 × 0.8^300: every draw holds
    # every unit, so θ is the full model's 1 / BoD score
    Y = np.random.default_rng(2).random((5, 3))
    r = bod_order_m(Y, m=300, draws=3, rng=1)
    assert r.scores == pytest.approx(bod(Y).scores, abs=1e-8)


def test_order_m_same_seed_same_numbers():
    Y = np.random.default_rng(3).random((8, 2))
    a = bod_order_m(Y, m=3, draws=20, rng=5)
    b = bod_order_m(Y, m=3, draws=20, rng=5)
    assert np.array_equal(a.scores, b.scores)


@pytest.mark.parametrize("kwargs", [{"m": 0}, {"draws": 0}, {"m": 2.5}])
def test_order_m_refuses_bad_settings(kwargs):
    with pytest.raises(InputError, match="must be a whole number >= 1"):
        bod_order_m(np.ones((3, 2)), **kwargs)


# --- SMAA: value noise, indicator exclusion, rank intervals ------------------------------------

def _p_first(a, b, noise):
    """P(a (1 + u) > b (1 + v)), u, v independent uniform on [-noise, noise]: integrated."""
    def inner(v):
        lo = max(-noise, b * (1 + v) / a - 1)
        return max(0.0, noise - lo) / (2 * noise)
    return integrate.quad(lambda v: inner(v) / (2 * noise), -noise, noise, limit=200)[0]


def test_value_noise_gives_the_exact_probability_of_first_rank():
    Y = np.array([[1.0], [0.9]])
    draws = 20_000
    r = ks.smaa(Y, draws, 7, noise=0.2)
    p = _p_first(1.0, 0.9, 0.2)
    assert 0.5 < p < 1
    assert abs(r.acceptability[0, 0] - p) <= 4 * np.sqrt(p * (1 - p) / draws)
    assert r.acceptability[1, 1] == pytest.approx(r.acceptability[0, 0])


def test_value_noise_is_chunk_free():
    Y = np.random.default_rng(1).random((6, 3))
    a = ks.smaa(Y, 700, 9, noise=0.1, exclude=0.3, chunk=13)
    b = ks.smaa(Y, 700, 9, noise=0.1, exclude=0.3)
    assert np.array_equal(a.acceptability, b.acceptability)


def test_without_noise_or_exclusion_the_draws_are_unchanged():
    Y = np.random.default_rng(1).random((6, 3))
    plain = ks.smaa(Y, 500, 4)
    weights = ks.sample_weights(3, 500, 4)
    assert np.array_equal(plain.weights, weights)


def test_exclusion_of_one_of_two_indicators_gives_half_and_half():
    # exclude = 1: every draw drops one of the two indicators (each with probability 1/2) and
    # gives the other all the weight: A = (1, .2) is first without indicator 2, B without 1
    Y = np.array([[1.0, 0.2], [0.5, 0.6]])
    draws = 20_000
    r = ks.smaa(Y, draws, 3, exclude=1.0)
    assert set(np.unique(np.round(r.weights, 12))) <= {0.0, 1.0}
    assert abs(r.acceptability[0, 0] - 0.5) <= 4 * np.sqrt(0.25 / draws)


def test_excluded_weights_rescale_the_rest_in_proportion():
    W = np.array([[0.2, 0.3, 0.5]] * 400)
    out = ks.excluded_weights(W, 1.0, np.random.default_rng(0))
    for row in out:
        j = int(np.flatnonzero(row == 0)[0])
        rest = np.delete(W[0], j)
        assert np.delete(row, j) == pytest.approx(rest / rest.sum())


def test_rank_quantiles_from_the_acceptability_by_hand():
    acc = np.array([[0.10, 0.50, 0.40], [0.90, 0.04, 0.06], [0.0, 0.45, 0.55]])
    # unit 1: cumulative .10, .60, 1 → q=.05: rank 1, q=.5: rank 2, q=.95: rank 3;
    # unit 2: .90, .94, 1 → 1, 1, 3; unit 3: 0, .45, 1 → 2, 3, 3
    assert ks.rank_quantiles(acc, [0.05, 0.5, 0.95]).tolist() == [[1, 2, 3], [1, 1, 3],
                                                                   [2, 3, 3]]


# --- SMAA-2: holistic acceptability and confidence factors ------------------------------------

def test_meta_weights_by_hand():
    assert ks2.meta_weights("linear", 3) == pytest.approx([1.0, 0.5, 0.0])
    assert ks2.meta_weights("inverse", 3) == pytest.approx([1.0, 1 / 2, 1 / 3])
    # centroid: (1 + 1/2 + 1/3, 1/2 + 1/3, 1/3) / (11/6)
    assert ks2.meta_weights("centroid", 3) == pytest.approx([1.0, 5 / 11, 2 / 11])


def test_holistic_acceptability_is_the_meta_weighted_sum():
    acc = np.array([[0.6, 0.3, 0.1], [0.4, 0.4, 0.2], [0.0, 0.3, 0.7]])
    got = ks2.holistic_acceptability(acc, "linear")
    assert got == pytest.approx([0.6 + 0.15, 0.4 + 0.2, 0.15])


def test_meta_weights_must_fall_from_one():
    with pytest.raises(InputError, match="non-increasing"):
        ks2.meta_weights([1.0, 0.2, 0.5], 3)


def test_confidence_factors_without_noise_say_whether_the_central_weights_win():
    Y = np.array([[1.0, 0.0], [0.0, 1.0], [0.4, 0.4]])
    central = np.array([[0.9, 0.1], [0.2, 0.8], [np.nan, np.nan]])
    got = ks2.confidence_factors(Y, central)
    assert got[:2].tolist() == [1.0, 1.0] and np.isnan(got[2])
    # weights that favour the other unit: not first
    assert ks2.confidence_factors(Y, np.array([[0.1, 0.9], [0.9, 0.1], [0.5, 0.5]]))[
        :2].tolist() == [0.0, 0.0]


def test_confidence_factor_with_value_noise_is_the_exact_probability():
    Y = np.array([[1.0], [0.9]])
    draws = 20_000
    got = ks2.confidence_factors(Y, np.ones((2, 1)), noise=0.2, draws=draws, rng=5)
    p = _p_first(1.0, 0.9, 0.2)
    assert abs(got[0] - p) <= 4 * np.sqrt(p * (1 - p) / draws)
    assert abs(got[1] - (1 - p)) <= 4 * np.sqrt(p * (1 - p) / draws)


# --- optimised weights ------------------------------------------------------------------------

def test_optimised_weights_equalise_the_correlations_two_indicators():
    # two normalised columns with covariance C: corr(x1, I) = (C w)_1 / (s1 sd(I)); equal
    # importance means (C w)_1 / s1 = (C w)_2 / s2, one root in w1 found by brentq
    rng = np.random.default_rng(6)
    a = rng.normal(size=300)
    X = np.column_stack([a + 0.5 * rng.normal(size=300), rng.normal(size=300) * 3])
    y = (X - X.min(axis=0)) / np.ptp(X, axis=0)
    C = np.cov(y, rowvar=False)
    s = np.sqrt(np.diag(C))

    def gap(w1):
        cw = C @ np.array([w1, 1 - w1])
        return cw[0] / s[0] - cw[1] / s[1]

    w1 = optimize.brentq(gap, 1e-9, 1 - 1e-9)
    got = optimised_weights(X, ["higher", "higher"])
    assert got == pytest.approx([w1, 1 - w1], abs=1e-4)
    assert importance_shares(y, got) == pytest.approx([0.5, 0.5], abs=1e-5)


def test_optimised_weights_hit_an_unequal_target_with_independent_columns():
    # independent columns: corr(x_j, I) ∝ w_j s_j, so shares t need w_j ∝ t_j / s_j
    rng = np.random.default_rng(7)
    X = rng.normal(size=(4000, 3)) * [1.0, 2.0, 0.5]
    X -= X.mean(axis=0)
    q, _ = np.linalg.qr(X)  # exactly uncorrelated columns with chosen spreads
    X = q * np.array([1.0, 2.0, 0.5]) * 60
    y = (X - X.min(axis=0)) / np.ptp(X, axis=0)
    s = y.std(axis=0)
    t = np.array([0.5, 0.3, 0.2])
    w = (t / s) / (t / s).sum()
    got = optimised_weights(X, ["higher"] * 3, target=[5, 3, 2])
    assert got == pytest.approx(w, abs=1e-4)


def test_optimised_is_a_weighting_method_by_name():
    X = np.random.default_rng(1).random((30, 3))
    assert compute_weights("optimised", X=X, directions=["higher", "lower", "higher"]) == (
        pytest.approx(optimised_weights(X, ["higher", "lower", "higher"])))


def test_optimised_target_must_fit_the_indicators():
    with pytest.raises(InputError, match="must be 3 numbers >= 0, not all 0"):
        optimised_weights(np.random.default_rng(1).random((10, 3)), ["higher"] * 3,
                          target=[1, 2])


def test_confidence_within_the_best_two_by_hand():
    # three units on one indicator, values as given: under any weights the ranks are 1, 2, 3;
    # within the best 2 the first two count, the third does not
    Y = np.array([[0.9], [0.8], [0.1]])
    got = ks2.confidence_factors(Y, np.ones((3, 1)), best=2)
    assert got.tolist() == [1.0, 1.0, 0.0]


def test_optimised_weights_read_the_projects_with_every_value():
    # a project with a missing cell and its other values inside each column's range changes
    # neither the normalisation nor the correlations: the weights are those without it
    X = np.random.default_rng(9).random((40, 3))
    inner = np.r_[np.median(X[:, 0]), np.nan, np.median(X[:, 2])]
    with_gap = np.vstack([X, inner])
    assert optimised_weights(with_gap, ["higher"] * 3) == pytest.approx(
        optimised_weights(X, ["higher"] * 3), abs=1e-6)
    few = np.full((5, 2), np.nan)
    few[:, 0] = [1, 2, 3, 4, 5]
    few[:2, 1] = [1, 2]
    with pytest.raises(InputError, match="fewer than 3 projects have a value on every"):
        optimised_weights(few, ["higher", "higher"])
