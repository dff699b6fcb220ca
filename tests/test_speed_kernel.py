"""The measurement-space kernel's fast paths against plain, independent computations."""

import numpy as np
import pytest

from perfsim.kernel.scoring import Graded

LEVELS = [
    {"achieved": 1.0, "mostly": 0.8, "partly": 0.6, "not": 0.0},
    {"a": 1.0, "b": 0.7, "c": 0.0},
    {"a": 1.0, "b": 0.8, "c": 0.8, "d": 0.3, "e": 0.0},
    {"a": 0.9, "b": 0.1},
    {"a": 1.0, "b": 1.0 / 3.0, "c": 0.1},
]


def _boundaries(coef: np.ndarray) -> np.ndarray:
    """Attainments at, around and between the levels: every coefficient, every midpoint
    and the floats next to them, the ends and beyond."""
    pts = [*coef, *((coef[:-1] + coef[1:]) / 2.0), -1.0, 2.0, -1e6, 1e6, 1e-300]
    out = []
    for p in pts:
        x = float(p)
        lo = hi = x
        for _ in range(3):
            lo, hi = np.nextafter(lo, -np.inf), np.nextafter(hi, np.inf)
            out += [lo, hi]
        out.append(x)
    return np.array(out)


@pytest.mark.parametrize("levels", LEVELS)
def test_nearest_level_is_the_closest_coefficient_better_on_a_tie(levels):
    rule = Graded(params={"levels": levels})
    coef = np.array(list(levels.values()))
    rng = np.random.default_rng(7)
    a = np.concatenate([_boundaries(coef), rng.normal(0.6, 0.5, 20_000), [np.nan]])
    # the plain way: the distance to every level, the first (better) level on a tie;
    # NaN distances everywhere pick the first level, the best
    with np.errstate(invalid="ignore"):
        dist = np.abs(a[:, None] - coef[None, :])
    want = coef[np.argmin(np.where(np.isnan(dist), 0.0, dist), axis=1)]
    got = rule.nearest(a)
    assert np.array_equal(got, want)
    # the attainment the level the rule's own inverse picks earns
    assert np.array_equal(rule.attainment(rule.invert(a)), want)
    # beyond every level: the best level above, the worst below
    assert rule.nearest(np.array([np.inf, -np.inf])).tolist() == [coef[0], coef[-1]]


def test_nearest_keeps_the_shape():
    rule = Graded()
    a = np.linspace(-0.2, 1.2, 24).reshape(2, 3, 4)
    assert rule.nearest(a).shape == (2, 3, 4)
    assert rule.nearest(a)[0, 0, 0] == 0.0 and rule.nearest(a)[-1, -1, -1] == 1.0


def _plain_ranks(x):
    """Average ranks the plain way: scipy's rankdata along each row."""
    from scipy.stats import rankdata
    return np.apply_along_axis(lambda r: rankdata(r, method="average"), -1, x)


@pytest.mark.parametrize("grid", [True, False])
def test_ranks_on_and_off_the_grid_are_scipys_average_ranks(grid):
    from perfsim.kernel.metrics import _grid_sort, ranks
    rng = np.random.default_rng(3)
    x = rng.uniform(40, 100, (6, 500))
    x = np.round(x * 4) / 4 if grid else x          # quarter points: many ties
    x[:, :3] = [55.5, 55.5, 100.0]                  # ties for sure
    assert (_grid_sort(x) is not None) == grid
    assert np.array_equal(ranks(x), _plain_ranks(x))
    neg = np.round(rng.normal(0, 30, (3, 200)), 2)  # gap penalties can go below 0
    assert _grid_sort(neg) is not None
    assert np.array_equal(ranks(neg), _plain_ranks(neg))


def test_spearman_on_grid_scores_matches_scipy_over_the_active_projects():
    from scipy.stats import spearmanr

    from perfsim.kernel.metrics import spearman
    rng = np.random.default_rng(4)
    x = np.round(rng.uniform(50, 100, (4, 300)), 2)
    y = np.round(x + rng.normal(0, 5, x.shape), 1)
    active = rng.random(x.shape) < 0.8
    got = spearman(x, y, active)
    want = [spearmanr(x[k, active[k]], y[k, active[k]]).statistic for k in range(4)]
    assert np.allclose(got, want, rtol=0, atol=1e-12)
