"""Composite-indicator methods (perfsim.kernel.composite, the Box-Cox treatment), each checked
against an independent computation: scipy's own functions, the papers' formulas written out
with plain loops, or a hand-computed case."""

from __future__ import annotations

import copy
import dataclasses
import math

import numpy as np
import pytest
from scipy import stats

from perfsim.errors import InputError
from perfsim.kernel.composite.aggregate import AGGREGATORS
from perfsim.kernel.composite.aggregate.harmonic import harmonic
from perfsim.kernel.composite.aggregate.mean_min import mean_min
from perfsim.kernel.composite.aggregate.mpi import mpi
from perfsim.kernel.composite.aggregate.owa import owa
from perfsim.kernel.composite.aggregate.power_mean import power_mean
from perfsim.kernel.composite.measure import CompositeMeasure
from perfsim.kernel.composite.normalise.ampi import ampi
from perfsim.kernel.composite.normalise.distance import distance
from perfsim.kernel.composite.normalise.goalposts import goalposts
from perfsim.kernel.composite.normalise.minmax import minmax
from perfsim.kernel.composite.normalise.percentile import percentile
from perfsim.kernel.composite.normalise.rank import rank
from perfsim.kernel.composite.normalise.zscore import zscore
from perfsim.kernel.evaluation import Measure
from perfsim.kernel.treatment import log_transform, treat
from perfsim.model.indicators import system_from_dict

RNG = np.random.default_rng(20261207)
X = RNG.uniform(0.2, 1.0, (9, 4))
X[3, 1] = X[5, 1]          # a tie, for the ranks
W = np.array([0.1, 0.2, 0.3, 0.4])


# --- normalisations -------------------------------------------------------------------------

def test_minmax_is_the_share_of_the_column_range():
    got = minmax(X, low=10.0, high=20.0)
    for j in range(X.shape[1]):
        col = X[:, j]
        expect = [10.0 + 10.0 * (v - min(col)) / (max(col) - min(col)) for v in col]
        np.testing.assert_allclose(got[:, j], expect, rtol=1e-12)


@pytest.mark.parametrize("ddof", [0, 1])
def test_zscore_is_scipys_zscore_rescaled(ddof):
    got = zscore(X, mean=100.0, sd=10.0, ddof=ddof)
    np.testing.assert_allclose(got, 100.0 + 10.0 * stats.zscore(X, axis=0, ddof=ddof),
                               rtol=1e-12)


def test_rank_is_scipys_average_rank_scaled_to_0_1():
    n = X.shape[0]
    expect = (stats.rankdata(X, method="average", axis=0) - 1.0) / (n - 1.0)
    np.testing.assert_allclose(rank(X), expect, rtol=1e-12)
    assert rank(X)[3, 1] == rank(X)[5, 1]          # the tie shares its rank
    np.testing.assert_allclose(rank(X, reference=X), expect, rtol=1e-12)  # the other branch


def test_rank_over_replications_ranks_each_row_alone():
    stack = np.stack([X, X[::-1] * 2.0])
    got = rank(stack)
    np.testing.assert_allclose(got[0], rank(X))
    np.testing.assert_allclose(got[1], rank(X[::-1]))


def test_percentile_is_scipys_weak_percentile_of_score():
    got = percentile(X)
    for j in range(X.shape[1]):
        expect = [stats.percentileofscore(X[:, j], v, kind="weak") / 100.0 for v in X[:, j]]
        np.testing.assert_allclose(got[:, j], expect, rtol=1e-12)
    np.testing.assert_allclose(percentile(X, reference=X), got, rtol=1e-12)  # other branch


def test_goalposts_hand_computed():
    x = np.array([[0.5, 0.95], [0.7, 0.2], [1.0, 0.6]])
    got = goalposts(x, low=0.6, high=0.9)
    expect = [[0.0, 1.0], [1 / 3, 0.0], [1.0, 0.0]]
    np.testing.assert_allclose(got, expect, rtol=1e-12)


def test_distance_to_target_hand_computed():
    x = np.array([[0.2], [0.5], [0.8], [1.0]])
    # (x - 0.2) / (0.8 - 0.2), capped at 1
    np.testing.assert_allclose(distance(x, target=0.8)[:, 0], [0.0, 0.5, 1.0, 1.0])


def test_constant_columns_do_not_divide_by_zero():
    x = np.full((4, 2), 0.7)
    assert np.all(minmax(x) == 0.5) and np.all(zscore(x) == 1.0) and np.all(ampi(x) == 1.0)
    assert np.all(rank(x) == 0.5) and np.all(distance(x, target=0.7) == 1.0)


# --- Box-Cox ---------------------------------------------------------------------------------

SKEWED = np.column_stack([RNG.lognormal(0.0, 1.0, 40), -RNG.lognormal(0.0, 0.8, 40)])


@pytest.mark.parametrize("lam", [-0.5, 0.5, 2.0])
def test_boxcox_with_a_given_lambda_is_scipys_boxcox_of_the_shifted_column(lam):
    out = treat(SKEWED[:, :1], {"method": "boxcox", "lambda": lam})
    u = SKEWED[:, 0] - SKEWED[:, 0].min() + 1.0
    np.testing.assert_allclose(out.X[:, 0], stats.boxcox(u, lmbda=lam), rtol=1e-12)
    assert out.columns[0].applied == f"boxcox (lambda {lam:.4g})"


def test_boxcox_fitted_lambda_is_scipys_maximum_likelihood():
    out = treat(SKEWED[:, :1], {"method": "boxcox"})
    u = SKEWED[:, 0] - SKEWED[:, 0].min() + 1.0
    y, lam = stats.boxcox(u)
    np.testing.assert_allclose(out.X[:, 0], y, rtol=1e-6)
    assert out.columns[0].applied == f"boxcox (lambda {lam:.4g})"
    assert abs(out.columns[0].skew_after) < abs(out.columns[0].skew_before)


def test_boxcox_of_a_negatively_skewed_column_mirrors_it_and_keeps_the_order():
    out = treat(SKEWED[:, 1:], {"method": "boxcox", "lambda": 0.5})
    u = SKEWED[:, 1].max() - SKEWED[:, 1] + 1.0
    np.testing.assert_allclose(out.X[:, 0], -stats.boxcox(u, lmbda=0.5), rtol=1e-12)
    assert np.all(np.diff(out.X[np.argsort(SKEWED[:, 1]), 0]) > 0)


def test_boxcox_with_lambda_0_is_the_log_treatment():
    out = treat(SKEWED, {"method": "boxcox", "lambda": 0})
    for j in range(2):
        np.testing.assert_allclose(out.X[:, j], log_transform(SKEWED[:, j]), rtol=1e-12)


def test_a_bad_lambda_is_a_one_line_error():
    with pytest.raises(InputError, match="lambda") as info:
        treat(SKEWED, {"method": "boxcox", "lambda": "big"})
    assert "\n" not in str(info.value) and "Box-Cox" in str(info.value)


# --- aggregations ------------------------------------------------------------------------------

@pytest.mark.parametrize("p", [-3.0, -1.0, 0.5, 2.0, 3.0])
def test_power_mean_is_scipys_pmean(p):
    np.testing.assert_allclose(power_mean(X, W, p=p),
                               [stats.pmean(row, p, weights=W) for row in X], rtol=1e-12)


def test_power_mean_limits_and_harmonic_and_geometric_are_scipys():
    np.testing.assert_allclose(power_mean(X, W, p=0.0), stats.gmean(X, axis=1, weights=W))
    np.testing.assert_allclose(power_mean(X, W, p=-math.inf), X.min(axis=1))
    np.testing.assert_allclose(harmonic(X, W), stats.hmean(X, axis=1, weights=W), rtol=1e-12)
    np.testing.assert_allclose(AGGREGATORS["geometric"](X, W),
                               stats.gmean(X, axis=1, weights=W), rtol=1e-12)
    zero = X.copy()
    zero[0, 2] = 0.0
    assert harmonic(zero, W)[0] == 0.0 and power_mean(zero, W, p=-1.0)[0] == 0.0


def test_owa_yager_1988_example():
    # Yager (1988): W = (0.2, 0.3, 0.1, 0.4), arguments (0.6, 1, 0.3, 0.5): ordered
    # (1, 0.6, 0.5, 0.3), OWA = 0.2 + 0.18 + 0.05 + 0.12 = 0.55
    x = np.array([0.6, 1.0, 0.3, 0.5])
    assert owa(x, np.full(4, 0.25), weights=[0.2, 0.3, 0.1, 0.4]) == pytest.approx(0.55)


def test_owa_by_orness_hand_computed():
    # orness 1/3: Q(r) = r^2; two equal importances: v = (1/4, 3/4) on (largest, smallest)
    x = np.array([[0.2, 0.8]])
    assert owa(x, np.array([0.5, 0.5]), orness=1 / 3)[0] == pytest.approx(0.25 * 0.8
                                                                         + 0.75 * 0.2)
    # orness 0.5 is the weighted mean; 0 and 1 are the minimum and the maximum
    np.testing.assert_allclose(owa(X, W, orness=0.5), X @ W, rtol=1e-12)
    np.testing.assert_allclose(owa(X, W, orness=0.0), X.min(axis=1))
    np.testing.assert_allclose(owa(X, W, orness=1.0), X.max(axis=1))


def test_mean_min_hand_computed():
    x = np.array([[0.9, 0.5]])
    w = np.array([0.5, 0.5])
    # M = 0.7, m = 0.5: 0.7 - 0.5 * (sqrt(0.2^2 + 0.1^2) - 0.1)
    assert mean_min(x, w, alpha=0.5, beta=0.1)[0] == pytest.approx(
        0.7 - 0.5 * (math.sqrt(0.05) - 0.1))
    np.testing.assert_allclose(mean_min(X, W, alpha=0.0), X @ W)
    np.testing.assert_allclose(mean_min(X, W, alpha=1.0, beta=0.0), X.min(axis=1))


def _mpi_by_the_paper(raw: np.ndarray) -> list[float]:
    """Mazziotta & Pareto (2016), written out: z_ij = 100 + 10 (x_ij - M_j) / S_j with the
    population S_j; MPI_i = M_zi - S_zi * cv_zi, cv = S/M, over the unit's indicators."""
    n, m = raw.shape
    z = [[0.0] * m for _ in range(n)]
    for j in range(m):
        col = [raw[i][j] for i in range(n)]
        mj = sum(col) / n
        sj = math.sqrt(sum((v - mj) ** 2 for v in col) / n)
        for i in range(n):
            z[i][j] = 100 + 10 * (raw[i][j] - mj) / sj
    out = []
    for row in z:
        mz = sum(row) / m
        sz = math.sqrt(sum((v - mz) ** 2 for v in row) / m)
        out.append(mz - sz * (sz / mz))
    return out


def _ampi_by_the_paper(raw: np.ndarray) -> list[float]:
    """AMPI: r = 70 + 60 (x - Min)/(Max - Min), goalposts Min/Max = Ref -/+ Delta around the
    mean Ref, Delta = (Sup - Inf)/2; AMPI = M_r - S_r cv_r."""
    n, m = raw.shape
    r = [[0.0] * m for _ in range(n)]
    for j in range(m):
        col = [raw[i][j] for i in range(n)]
        ref = sum(col) / n
        delta = (max(col) - min(col)) / 2
        lo, hi = ref - delta, ref + delta
        for i in range(n):
            r[i][j] = 70 + 60 * (raw[i][j] - lo) / (hi - lo)
    out = []
    for row in r:
        mr = sum(row) / m
        sr = math.sqrt(sum((v - mr) ** 2 for v in row) / m)
        out.append(mr - sr * sr / mr)
    return out


def test_mpi_is_the_papers_formula():
    eq = np.full(X.shape[1], 1 / X.shape[1])
    got = 100 * mpi(zscore(X), eq)
    np.testing.assert_allclose(got, _mpi_by_the_paper(X), rtol=1e-12)
    assert np.all(got <= 100 * (zscore(X) @ eq) + 1e-12)   # the penalty never adds


def test_ampi_is_the_papers_formula():
    eq = np.full(X.shape[1], 1 / X.shape[1])
    np.testing.assert_allclose(100 * mpi(ampi(X), eq), _ampi_by_the_paper(X), rtol=1e-12)


# --- the indicator system: keys, hierarchy, the national default --------------------------------

def _leaf(code: str, points: float) -> dict:
    return {"code": code, "name": code, "points": points, "target": 1.0,
            "rule": {"kind": "proportional"}}


FLAT = {"code": "flat", "name": "flat", "total": 100,
        "indicators": [_leaf(f"L{k}", 25) for k in range(4)]}

#: four levels: A = {A1 = {A1a = {a1, a2}, a3}, a4}, B = {b1, b2}
DEEP = {"code": "deep", "name": "deep", "total": 100, "indicators": [
    {"code": "A", "name": "A", "children": [
        {"code": "A1", "name": "A1", "children": [
            {"code": "A1a", "name": "A1a", "children": [_leaf("a1", 10), _leaf("a2", 30)]},
            _leaf("a3", 20)]},
        _leaf("a4", 10)]},
    {"code": "B", "name": "B", "children": [_leaf("b1", 10), _leaf("b2", 20)]}]}


def test_the_system_file_makes_mpi_and_ampi_in_points():
    mpi_sys = system_from_dict({**FLAT, "normalisation": "zscore", "aggregation": "mpi",
                                "rounding": None})
    np.testing.assert_allclose(mpi_sys.measure().score(X), _mpi_by_the_paper(X), rtol=1e-12)
    ampi_sys = system_from_dict({**FLAT, "normalisation": "ampi", "aggregation": "mpi",
                                 "rounding": None})
    np.testing.assert_allclose(ampi_sys.measure().score(X), _ampi_by_the_paper(X), rtol=1e-12)


def test_a_deep_hierarchy_aggregates_each_level_its_own_way():
    doc = {**DEEP, "rounding": None, "aggregation": "power_mean",
           "level_aggregation": {3: "min", 2: "harmonic", 1: "geometric"},
           "group_aggregation": {"B": "owa"}, "composite": {"power_mean": {"p": 2},
                                                            "owa": {"orness": 0.25}}}
    system = system_from_dict(doc)
    assert system.is_composite and max(leaf.level for leaf in system.indicators) == 4
    a = RNG.uniform(0.3, 1.0, (7, 6))          # a1 a2 a3 a4 b1 b2
    got = system.measure().score(a)
    for row, score in zip(a, got, strict=True):
        a1, a2, a3, a4, b1, b2 = row
        a1a = min(a1, a2)                                   # level 3: min
        a1_ = 1 / (40 / 60 / a1a + 20 / 60 / a3)            # level 2: harmonic, points 40, 20
        big = a1_ ** (60 / 70) * a4 ** (10 / 70)            # level 1: geometric, 60, 10
        # B: OWA with orness 1/4, Q(r) = r^3 over the importances (1/3, 2/3), largest first
        hi, lo, w_hi = (b1, b2, 1 / 3) if b1 >= b2 else (b2, b1, 2 / 3)
        b = w_hi ** 3 * hi + (1 - w_hi ** 3) * lo
        total = (0.7 * big ** 2 + 0.3 * b ** 2) ** 0.5      # the total: power mean p = 2
        assert score == pytest.approx(100 * total, rel=1e-12)


def test_the_national_default_is_untouched_and_the_composite_path_agrees_with_it(national):
    assert not national.is_composite and type(national.measure()) is Measure
    a = RNG.uniform(0.0, 1.0, (5, len(national.indicators)))
    identity = dataclasses.replace(national, normalisation="goalposts")  # goalposts 0..1
    assert isinstance(identity.measure(), CompositeMeasure)
    leafless = dataclasses.replace(national, leaf_decimals=None)
    np.testing.assert_allclose(identity.measure().score(a),
                               np.round(a @ leafless.points, 2), atol=0.011)


def test_every_level_arithmetic_is_the_weighted_sum_in_a_deep_system():
    system = system_from_dict({**DEEP, "rounding": None, "normalisation": "goalposts"})
    a = RNG.uniform(0.0, 1.0, (6, 6))
    np.testing.assert_allclose(system.measure().score(a), a @ system.points, rtol=1e-12)


@pytest.mark.parametrize("change, field, words", [
    ({"normalisation": "logit"}, "normalisation", "must be one of none, minmax"),
    ({"level_aggregation": {7: "min"}}, "level_aggregation.7", "whole number in 1..5"),
    ({"level_aggregation": {1: "median"}}, "level_aggregation.1", "must be one of arithmetic"),
    ({"composite": {"mean_min": {"alpha": 2}}}, "composite.mean_min.alpha", "[0, 1]"),
    ({"composite": {"power_mean": {"q": 1}}}, "composite.power_mean.q", "unknown key"),
    ({"composite": {"harmonic": {"p": 1}}}, "composite.harmonic", "without parameters"),
    ({"normalisation": {"method": "goalposts", "low": 0.9, "high": 0.5}},
     "normalisation.goalposts.high", "must be above low"),
    ({"group_aggregation": {"A1a": "median"}}, "group_aggregation.A1a", "must be one of"),
])
def test_bad_composite_keys_are_one_line_errors(change, field, words):
    doc = copy.deepcopy(DEEP)
    doc.update(change)
    with pytest.raises(InputError) as info:
        system_from_dict(doc, source="deep.yaml")
    msg = str(info.value)
    assert info.value.field == field and words in msg and "\n" not in msg
    assert msg.startswith("deep.yaml") and any("\u4e00" <= c <= "\u9fff" for c in msg)


# --- the researcher's object, variants and sensitivity factors --------------------------------

@pytest.fixture(scope="module")
def sc():
    from perfsim.kernel.grading import Grading
    from perfsim.kernel.linkage import liupanshui
    from perfsim.model.indicators import load_indicator_system
    from perfsim.model.portfolio import DATASETS, generate_portfolio
    from perfsim.run.study import Scenario

    system = load_indicator_system(DATASETS / "indicator_systems" /
                                   "national_project_self_eval.yaml")
    pf = generate_portfolio(system, seed=3, n_projects=60, n_departments=6)
    return Scenario(name="composite", portfolio=pf, system=system, seed=8,
                    linkage=liupanshui(0.15), grading=Grading())


def test_set_makes_the_choices_the_system_file_makes(sc):
    made = sc.set({"normalisation": "minmax", "level_aggregation.2": "geometric",
                   "aggregation": "power_mean", "composite.power_mean.p": -1})
    by_hand = system_from_dict({**dict(_national_doc()), "normalisation": "minmax",
                                "level_aggregation": {2: "geometric"},
                                "aggregation": "power_mean",
                                "composite": {"power_mean": {"p": -1}}})
    a = RNG.uniform(0.0, 1.0, (8, len(sc.system.indicators)))
    np.testing.assert_array_equal(made.system.measure().score(a), by_hand.measure().score(a))
    assert not np.array_equal(made.system.measure().score(a), sc.system.measure().score(a))


def _national_doc():
    from perfsim.io import read_yaml
    from perfsim.model.portfolio import DATASETS
    return read_yaml(DATASETS / "indicator_systems" / "national_project_self_eval.yaml")


def test_discrete_factors_are_the_one_year_runs_with_those_choices(sc):
    from perfsim.run.sensitivity import evaluate_samples
    from perfsim.run.year import run_year

    quiet = sc.settings.without_noise()
    names = ["savings", "rewarded_total", *(f"count_{c}" for c in sc.grading.labels.codes)]
    choices = {"normalisation": ["none", "goalposts", "minmax"],
               "level_aggregation.1": ["arithmetic", "harmonic"],
               "composite.goalposts.low": [0.0, 0.5]}
    X = np.array([[0.9, 0.9, 0.1], [0.5, 0.2, 0.9], [0.1, 0.7, 0.9]])
    y = evaluate_samples(sc, list(choices), X, metrics=names, settings=quiet, choices=choices)
    expect = [("minmax", "harmonic", 0.0), ("goalposts", "arithmetic", 0.5),
              ("none", "harmonic", 0.5)]
    for row, (norm, level, low) in zip(y, expect, strict=True):
        system = dataclasses.replace(sc.system, normalisation=norm,
                                     level_aggregation={1: level},
                                     composite={"goalposts": {"low": low}})
        year = run_year(sc.replace(system=system)).metrics
        assert row.tolist() == [year[m] for m in names]


def test_bad_choices_are_one_line_errors(sc):
    for change, words in (({"normalisation": "logit"}, "choose one of none, minmax"),
                          ({"level_aggregation.3": "median"}, "choose one of arithmetic"),
                          ({"composite.owa.orness": 1.5}, "must lie in [0, 1]")):
        with pytest.raises(InputError) as info:
            sc.set(change)
        assert words in str(info.value) and "\n" not in str(info.value)


def test_cli_validate_names_the_bad_key_in_one_line(tmp_path, capsys):
    import yaml
    from conftest import one_error_line

    from perfsim import cli

    path = tmp_path / "deep.yaml"
    path.write_text(yaml.safe_dump({**DEEP, "level_aggregation": {2: "median"}}),
                    encoding="utf-8")
    assert cli.main(["validate", str(path)]) == 2
    line = one_error_line(capsys)
    assert "deep.yaml" in line and "level_aggregation.2" in line and "'median'" in line
    assert "必须是以下之一" in line


def test_re_checked_projects_score_alone_only_under_an_absolute_normalisation():
    a = RNG.uniform(0.0, 1.0, (2, 5, 4))            # (replications, projects, leaves)
    rows = (np.array([0, 1]), np.array([3, 1]))
    absolute = system_from_dict({**FLAT, "normalisation": {"method": "goalposts",
                                                           "low": 0.4}})
    m = absolute.measure()
    np.testing.assert_array_equal(m.score_rows(a[rows], rows), m.score(a)[rows])
    relative = system_from_dict({**FLAT, "normalisation": "rank"}).measure()
    with pytest.raises(InputError, match="re-check") as info:
        relative.score_rows(a[rows], rows)
    assert "\n" not in str(info.value) and "normalisation" in str(info.value)


def test_weights_are_not_fitted_for_a_composite_system(sc):
    from perfsim.run.fit_weights import fit_weights

    composite = sc.set({"normalisation": "goalposts"})
    assert composite.system.within is not None
    with pytest.raises(InputError, match="weighted_sum"):
        fit_weights(composite, "weights", "scores", composite.scores())


def test_owa_order_weights_must_match_each_groups_children():
    ok = system_from_dict({**DEEP, "group_aggregation": {"B": "owa", "A1a": "owa"},
                           "composite": {"owa": {"weights": [0.7, 0.3]}}, "rounding": None})
    a = RNG.uniform(0.0, 1.0, (3, 6))
    b = ok.composite_spec().groups(a, ok.points)[0][:, 1]      # level-1 group B
    np.testing.assert_allclose(b, 0.7 * a[:, 4:].max(axis=1) + 0.3 * a[:, 4:].min(axis=1))
    with pytest.raises(InputError) as info:   # A1 has two children (A1a, a3), A three leaves
        system_from_dict({**DEEP, "level_aggregation": {2: "owa"},
                          "composite": {"owa": {"weights": [0.5, 0.3, 0.2]}}},
                         source="deep.yaml")
    assert info.value.field == "composite.owa.weights" and "indicator A1" in str(info.value)
    assert "needs one order weight per child (2)" in str(info.value)
