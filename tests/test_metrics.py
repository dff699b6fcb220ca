"""Decision-quality and distribution metrics, one value per replication (row), with inactive
projects masked out. Expected values are computed by hand or with scipy."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import spearmanr

from perfsim.kernel import metrics

ALL4 = np.ones((1, 4), dtype=bool)


def test_share_over_active_projects():
    mask = np.array([[True, True, False, True], [True, False, False, False]])
    active = np.array([[True, True, True, False], [False, False, False, False]])
    out = metrics.share(mask, active)
    # row 0: masked and active = 2 of 3 active; row 1: no active project → NaN
    assert out[0] == pytest.approx(2 / 3)
    assert math.isnan(out[1])


# --- Gini ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("amounts", "expected"), [
    ([1, 1, 1, 1], 0.0),
    # sorted ascending x = 0, 0, 0, 1; Σ (2i − n − 1) x_i / (n Σx) = (2·4 − 5)·1 / (4·1) = 0.75
    ([0, 0, 0, 1], 0.75),
    ([1, 0, 0, 0], 0.75),      # order does not matter
    # (−3·1 − 1·2 + 1·3 + 3·4) / (4·10) = 10 / 40 = 0.25
    ([4, 2, 3, 1], 0.25),
])
def test_gini_hand_values(amounts, expected):
    out = metrics.gini(np.array([amounts], dtype=float), ALL4)
    assert out[0] == pytest.approx(expected, abs=1e-12)


def test_gini_ignores_excluded_projects_row_by_row():
    amount = np.array([[1.0, 999.0, 1.0, 1.0, 1.0],
                       [0.0, 5.0, 0.0, 0.0, 1.0]])
    include = np.array([[True, False, True, True, True],     # four equal amounts → 0
                        [True, False, True, True, True]])    # 0, 0, 0, 1 → 0.75
    np.testing.assert_allclose(metrics.gini(amount, include), [0.0, 0.75], atol=1e-12)


def test_gini_undefined_without_money_or_projects():
    out = metrics.gini(np.array([[0.0, 0.0], [3.0, 4.0]]),
                       np.array([[True, True], [False, False]]))
    assert math.isnan(out[0]) and math.isnan(out[1])


# --- top-10% share --------------------------------------------------------------------------


def test_top_share_hand_values():
    amount = np.array([[10.0] + [1.0] * 9 + [50.0] * 5,     # the 50s are excluded
                       [10.0, 8.0] + [1.0] * 13])
    include = np.array([[True] * 10 + [False] * 5, [True] * 15])
    out = metrics.top_share(amount, include)
    # row 0: 10 projects, top 10% = 1 project: 10 / 19
    # row 1: 15 projects, ceil(1.5) = 2 projects: (10 + 8) / 31
    np.testing.assert_allclose(out, [10 / 19, 18 / 31])


def test_top_share_masks_excluded_and_takes_at_least_one():
    amount = np.array([[5.0, 100.0, 3.0, 2.0]])
    include = np.array([[True, False, True, True]])
    # 3 included, ceil(0.3) = 1 project: 5 / (5 + 3 + 2) = 0.5; the excluded 100 is ignored
    assert metrics.top_share(amount, include)[0] == pytest.approx(0.5)
    # top 50% of 3 → ceil(1.5) = 2: (5 + 3) / 10
    assert metrics.top_share(amount, include, top=0.5)[0] == pytest.approx(0.8)


def test_top_share_undefined_without_money():
    assert math.isnan(metrics.top_share(np.zeros((1, 3)), np.ones((1, 3), bool))[0])


# --- Spearman rank stability ----------------------------------------------------------------


def test_spearman_equals_scipy_on_each_row():
    rng = np.random.default_rng(11)
    x = rng.normal(size=(4, 30))
    y = x + rng.normal(scale=0.7, size=(4, 30))
    x[2, :10] = 1.0                 # ties (average ranks)
    y[3] = np.round(y[3])           # many ties
    out = metrics.spearman(x, y, np.ones_like(x, dtype=bool))
    for r in range(4):
        assert out[r] == pytest.approx(spearmanr(x[r], y[r]).statistic, abs=1e-12)


@pytest.mark.parametrize("ties", [False, True])
def test_ranks_are_scipys_average_ranks(ties):
    from scipy.stats import rankdata

    x = np.random.default_rng(13).normal(size=(5, 40))
    if ties:
        x = np.round(x * 2)
    np.testing.assert_array_equal(metrics.ranks(x), rankdata(x, axis=-1))


def test_spearman_over_active_projects_only():
    rng = np.random.default_rng(12)
    x = rng.normal(size=(3, 25))
    y = 0.5 * x + rng.normal(size=(3, 25))
    active = rng.random((3, 25)) < 0.6
    out = metrics.spearman(x, y, active)
    for r in range(3):
        a = active[r]
        assert out[r] == pytest.approx(spearmanr(x[r, a], y[r, a]).statistic, abs=1e-12)


def test_spearman_hand_value_and_undefined_cases():
    # ranks (1, 2, 3) against (1, 3, 2): 1 − 6 Σd² / (n(n²−1)) = 1 − 6·2 / 24 = 0.5
    out = metrics.spearman(np.array([[1.0, 2.0, 3.0]]), np.array([[10.0, 30.0, 20.0]]),
                           np.ones((1, 3), bool))
    assert out[0] == pytest.approx(0.5)
    const = metrics.spearman(np.array([[1.0, 1.0, 1.0]]), np.array([[1.0, 2.0, 3.0]]),
                             np.ones((1, 3), bool))
    assert math.isnan(const[0])     # no spread in x: undefined


# --- volatility -----------------------------------------------------------------------------


def test_volatility_hand_value():
    budget = np.array([[100.0, 200.0, 0.0, 50.0]])
    nxt = np.array([[110.0, 100.0, 5.0, 80.0]])
    active = np.array([[True, True, True, False]])
    # |110 − 100| / 100 = 0.1 and |100 − 200| / 200 = 0.5; the zero budget and the inactive
    # project are left out: mean 0.3
    assert metrics.volatility(budget, nxt, active)[0] == pytest.approx(0.3)


def test_volatility_undefined_without_active_budgets():
    out = metrics.volatility(np.array([[0.0, 10.0]]), np.array([[1.0, 5.0]]),
                             np.array([[True, False]]))
    assert math.isnan(out[0])


# --- intervals for the summary ---------------------------------------------------------------


def test_interval_mean_and_percentiles():
    mean, lo, hi = metrics.interval(np.arange(101.0))
    assert (mean, lo, hi) == pytest.approx((50.0, 5.0, 95.0))
    # NaN (a metric undefined in some replications) is ignored
    mean, lo, hi = metrics.interval(np.array([np.nan, *np.arange(101.0)]))
    assert (mean, lo, hi) == pytest.approx((50.0, 5.0, 95.0))


def test_interval_of_nothing_is_nan():
    assert all(math.isnan(v) for v in metrics.interval(np.array([np.nan, np.nan])))


def test_the_distribution_metrics_from_one_ascending_sort_equal_their_own_sorts():
    """The registry's top 10% share reads next year's budgets sorted once, as the Gini
    coefficient sorts them (ascending, the excluded after them as +inf): it equals, to the
    bit, the top share from its own descending sort, ties and empty rows included."""
    rng = np.random.default_rng(7)
    amount = np.round(rng.lognormal(14, 1.2, (40, 301)), 2)
    amount[:, ::7] = amount[:, 1:2]            # ties
    include = rng.random(amount.shape) < 0.8
    include[3] = False                         # a row with nothing held
    include[4] = False
    include[4, 5] = True                       # one project
    asc = np.sort(np.where(include, amount, np.inf), axis=-1)
    n = include.sum(axis=-1, keepdims=True)
    for top in (0.1, 0.5, 1.0):
        np.testing.assert_array_equal(metrics.top_share_ascending(asc, n, top),
                                      metrics.top_share(amount, include, top))
    assert np.isnan(metrics.top_share_ascending(asc, n)[3])
    assert metrics.top_share_ascending(asc, n)[4] == 1.0
