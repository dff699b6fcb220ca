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


# --- the fast paths give the numbers of the plain ones, to the bit -----------------------------

def _kef(n: int = 150, seed: int = 2):
    from perfsim.kernel.linkage import liupanshui
    from perfsim.model.indicators import load_indicator_system
    from perfsim.model.portfolio import DATASETS, generate_portfolio
    from perfsim.model.scenario import Scenario
    system = load_indicator_system(DATASETS / "indicator_systems" /
                                   "key_evaluation_framework.yaml")
    pf = generate_portfolio(system, seed=seed, n_projects=n, n_departments=12)
    return Scenario(name="kef", portfolio=pf, system=system, seed=4, linkage=liupanshui(0.15))


@pytest.fixture(scope="module")
def kef():
    return _kef()


def test_samples_sharing_their_scores_give_what_each_sample_gives_alone(kef):
    """A Saltelli design repeats the rest of a sample with only the ratio or a cutoff
    changed: those samples share one run of the evaluation process. Evaluated one sample at
    a time (chunk 1: nothing to share) the numbers are the same to the bit."""
    from SALib.sample import sobol as saltelli

    from perfsim.model.settings import settings_from_dict
    from perfsim.run.sensitivity import evaluate_samples
    names = ["linkage.ratio", "grading.cutoffs.excellent", "grading.cutoffs.fair",
             "simulation.spot_check.share", "simulation.self_evaluation.inflation_mean",
             "simulation.self_evaluation.noise"]
    bounds = [[0.10, 0.20], [85, 95], [55, 70], [0.0, 0.5], [0.0, 0.1], [0.01, 0.1]]
    X = saltelli.sample({"num_vars": 6, "names": names, "bounds": bounds}, 4,
                        calc_second_order=False, seed=1)
    settings = settings_from_dict({"spot_check": {"selection": "highest_score",
                                                  "gap_rule": True},
                                   "self_evaluation": {"inflation_sd": 0.02},
                                   "performance": {"space": "measurement"}})
    metrics = ["savings", "misgrading", "wrong_cuts", "rank_stability", "gini",
               "share_excellent"]
    shared = evaluate_samples(kef, names, X, 3, metrics=metrics, settings=settings,
                              replications=2, chunk=len(X))
    alone = evaluate_samples(kef, names, X, 3, metrics=metrics, settings=settings,
                             replications=2, chunk=1)
    assert np.array_equal(shared, alone)
    # the truth computed once for all samples: against every sample computing its own (a
    # sampled leaf dispersion, held at the settings' value, moves the truth: nothing shared)
    spread = np.full((len(X), 1), settings.leaf_dispersion)
    own = evaluate_samples(kef, [*names, "simulation.performance.leaf_dispersion"],
                           np.hstack([X, spread]), 3, metrics=metrics, settings=settings,
                           replications=2, chunk=len(X))
    assert np.array_equal(shared, own)
    # only the ratio and the cutoffs sampled: every sample shares one process
    post = evaluate_samples(kef, names[:3], X[:, :3], 3, metrics=metrics, settings=settings,
                            chunk=len(X))
    one = evaluate_samples(kef, names[:3], X[:, :3], 3, metrics=metrics, settings=settings,
                           chunk=1)
    assert np.array_equal(post, one)
    assert np.ptp(post[:, metrics.index("savings")]) > 0     # the ratio still acts


def test_a_space_mapped_to_slots_scores_as_one_built_on_the_slots(kef):
    """:meth:`LeafSpace.map` maps only the groups' columns; a space built directly on the
    mapped arrays finds its own groups: the attainments agree to the bit, rows and cells."""
    from perfsim.kernel.measurement import LeafSpace
    from perfsim.model.settings import settings_from_dict
    from perfsim.run.simulate import build_inputs
    from perfsim.run.step import slot_values
    inputs = build_inputs(kef, settings_from_dict({"performance": {"space": "measurement"}}))
    space = inputs.space
    rng = np.random.default_rng(5)
    P, I = space.value.shape  # noqa: E741
    pick = rng.integers(0, P, (3, 7))

    def fn(v):
        return slot_values(v, pick)

    mapped = space.map(fn)
    built = LeafSpace(rules=space.rules, value=fn(space.value), base=fn(space.base),
                      measured=fn(space.measured), leaf_decimals=space.leaf_decimals)
    latent = rng.normal(0.8, 0.3, (3, P + 7, I))
    assert np.array_equal(mapped.attain(latent[1:3], slice(1, 3)),
                          built.attain(latent[1:3], slice(1, 3)))
    cells = (np.array([0, 2, 2, 1]), np.array([4, 0, P + 3, P + 6]))
    assert np.array_equal(mapped.attain(latent[cells], cells, True),
                          built.attain(latent[cells], cells, True))
    # and with every cell clipped where the latent attainment is out of [0, 1] but the
    # rule scores it: the rules act (no cell is merely clipped)
    assert not np.array_equal(mapped.attain(latent), np.clip(latent, 0, 1))


@pytest.mark.parametrize("direction", ["higher", "lower"])
def test_proportional_in_its_own_memory_is_the_rules_composition(direction):
    """The fast :meth:`Proportional.attain_latent` against the base rule's: the measured
    value (:meth:`measured_value`) scored by :meth:`attainment`, against per-leaf targets
    and the projects' own, with non-finite latent attainments among them."""
    from perfsim.kernel.scoring import ExecutionRate, Proportional, Rule
    rng = np.random.default_rng(8)
    t = np.array([2.0, 50.0, 0.5])
    rule = Proportional(target=1.0, direction=direction)
    object.__setattr__(rule, "target", t)
    value = rng.uniform(0, 80, (40, 3))
    base = rng.uniform(0, 1, (40, 3))
    latent = rng.normal(0.7, 0.5, (5, 40, 3))
    latent[0, 0] = [np.nan, np.inf, -np.inf]
    latent[1, 1] = base[1]                     # no change: the portfolio's own value
    own = Proportional(target=1.0, direction=direction)
    object.__setattr__(own, "target", rng.uniform(0.1, 60, (40, 3)))
    for scorer in (None, own):
        with np.errstate(invalid="ignore"):
            want = Rule.attain_latent(rule, value, base, latent, scorer)
        assert np.array_equal(rule.attain_latent(value, base, latent, scorer), want,
                              equal_nan=True)
    ex = ExecutionRate(target=0.9, params={"floor": 0.3})
    assert np.array_equal(ex.attain_latent(value / 80, base, latent),
                          Rule.attain_latent(ex, value / 80, base, latent), equal_nan=True)


def test_units_that_respond_are_not_given_scores_chosen_under_other_cutoffs(kef):
    """Units that respond choose their claims from the lines they can reach: samples that
    differ only in a cutoff must not share scores (as samples of units that do not respond
    do). Evaluated together or one at a time the numbers are the same to the bit, and the
    share of units inflating moves with the 良 line."""
    from perfsim.model.settings import settings_from_dict
    from perfsim.run.sensitivity import evaluate_samples
    names = ["linkage.ratio", "grading.cutoffs.good"]
    X = np.array([[0.15, 77.0], [0.15, 83.0]])
    settings = settings_from_dict({"self_evaluation": {"strategy": "best_response",
                                                       "inflation_mean": 0.0},
                                   "spot_check": {"share": 0.1, "inflation_penalty": 5.0}})
    metrics = ["inflating_share", "savings", "share_fair"]
    together = evaluate_samples(kef, names, X, 3, metrics=metrics, settings=settings,
                                replications=2, chunk=len(X))
    alone = evaluate_samples(kef, names, X, 3, metrics=metrics, settings=settings,
                             replications=2, chunk=1)
    assert np.array_equal(together, alone)
    assert together[0, 0] != together[1, 0]


@pytest.mark.parametrize("seed", range(6))
def test_ranks_counted_on_the_grid_are_the_sorts_and_scipys(seed):
    """Scores of 0-100 points on the 0.01 grid are ranked by counting: the same numbers as
    the sort (left out: +inf entries, by position when no finite value ties) and, where every
    value is finite, as scipy's average ranks."""
    from scipy.stats import rankdata

    from perfsim.kernel import metrics as M
    rng = np.random.default_rng(seed)
    n = 3468
    x = np.round(rng.random((5, n)) * 100, 2) if seed % 2 else np.stack(
        [rng.choice(10001, n, replace=False) / 100.0 for _ in range(5)])   # ties, or none
    assert M._grid_ranks(x) is not None                          # counted, not sorted
    assert np.array_equal(M.ranks(x), rankdata(x, axis=-1))
    left_out = np.where(rng.random(x.shape) < 0.2, np.inf, x)
    counted = M._grid_ranks(left_out)
    order, xs, finite = M._grid_sort(left_out)
    sorted_ranks = np.empty(x.shape)
    if np.any((xs[:, 1:] == xs[:, :-1]) & finite[:, 1:]):   # ties: every group averaged
        sorted_ranks = np.apply_along_axis(rankdata, 1, left_out)
    else:   # the sorted position
        np.put_along_axis(sorted_ranks, order, np.arange(1.0, n + 1.0)[None, :], axis=1)
    assert np.array_equal(counted, sorted_ranks)
