"""perfsim.kernel.weighting: reference values, pymcdm cross-checks, errors and properties."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pymcdm import weights as pymcdm_weights  # a dev dependency: missing is a failure, not a skip

from perfsim.errors import InputError
from perfsim.kernel import weighting as wt

# Deterministic, quick property tests: no example database, fixed derivation of examples.
PROPS = settings(max_examples=40, deadline=None, derandomize=True, database=None)

SEEDS = [0, 1, 2, 3, 7, 42, 2024]


def _random_matrix(seed: int, m: int, n: int) -> tuple[np.ndarray, list[str]]:
    """A (m, n) decision matrix with columns on different scales and random directions."""
    rng = np.random.default_rng(seed)
    scales = rng.uniform(0.5, 1000.0, n)
    X = rng.lognormal(0.0, 0.7, (m, n)) * scales + rng.normal(0.0, 1.0, (m, n))
    dirs = list(rng.choice(["benefit", "cost"], n))
    return X, dirs


# --------------------------------------------------------------------------------------------
# Cross-checks against pymcdm
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_entropy_matches_pymcdm_on_same_normalised_input(seed):
    # pymcdm.weights.entropy_weights sum-normalises the matrix it is given and needs every value
    # > 0. Our entropy_weights min-max normalises first and then runs entropy_weights_normalised;
    # the apples-to-apples comparison is therefore that second step against pymcdm, both fed the
    # same strictly positive (already direction-adjusted) matrix Y.
    rng = np.random.default_rng(seed)
    m, n = int(rng.integers(3, 30)), int(rng.integers(2, 9))
    Y = rng.uniform(0.01, 5.0, (m, n)) ** rng.uniform(0.5, 3.0, n)
    ours = wt.entropy_weights_normalised(Y)
    ref = pymcdm_weights.entropy_weights(Y)
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-12)


@pytest.mark.parametrize("seed", SEEDS[:4])
def test_entropy_pipeline_is_minmax_then_entropy_with_0_log_0_as_limit(seed):
    # Full pipeline on raw X with mixed directions. Min-max puts a 0 in every column, which
    # pymcdm rejects (it requires x > 0); our convention 0·ln 0 = 0 is the limit of p ln p, so
    # pymcdm on Y + eps must approach our weights as eps -> 0.
    X, dirs = _random_matrix(seed, 12, 5)
    ours = wt.entropy_weights(X, dirs)
    Y = wt.minmax_normalise(X, dirs)
    assert (Y == 0).sum() >= 5  # the worst project of each column
    np.testing.assert_allclose(ours, wt.entropy_weights_normalised(Y), rtol=0, atol=1e-15)
    gaps = [np.abs(pymcdm_weights.entropy_weights(Y + eps) - ours).max()
            for eps in (1e-4, 1e-7, 1e-11)]
    assert gaps[0] > gaps[1] > gaps[2]
    assert gaps[2] < 1e-8


def test_minmax_normalise_convention():
    X = np.array([[1.0, 10.0], [3.0, 30.0], [2.0, 20.0]])
    Y = wt.minmax_normalise(X, ["benefit", "cost"])
    np.testing.assert_array_equal(Y, [[0.0, 1.0], [1.0, 0.0], [0.5, 0.5]])


@pytest.mark.parametrize("seed", SEEDS)
def test_critic_matches_pymcdm(seed):
    # pymcdm.weights.critic_weights min-max normalises every column as a benefit (profit)
    # column, then uses std with ddof=1 and Pearson r. Feeding it X with the cost columns
    # negated gives exactly our direction-adjusted min-max matrix, so the inputs are the same.
    rng = np.random.default_rng(seed)
    X, dirs = _random_matrix(seed, int(rng.integers(3, 30)), int(rng.integers(2, 9)))
    signs = np.where(np.array(dirs) == "benefit", 1.0, -1.0)
    ours = wt.critic_weights(X, dirs)
    np.testing.assert_allclose(ours, pymcdm_weights.critic_weights(X * signs), rtol=0, atol=1e-12)
    # and the same when pymcdm is handed our normalised matrix (its min-max is then the identity)
    Y = wt.minmax_normalise(X, dirs)
    np.testing.assert_allclose(ours, pymcdm_weights.critic_weights(Y), rtol=0, atol=1e-12)


def test_critic_depends_on_direction_through_correlation():
    X, _ = _random_matrix(5, 20, 4)
    a = wt.critic_weights(X, ["benefit"] * 4)
    b = wt.critic_weights(X, ["benefit", "benefit", "benefit", "cost"])
    assert not np.allclose(a, b)


# --------------------------------------------------------------------------------------------
# AHP
# --------------------------------------------------------------------------------------------

# Saaty, T. L. (2008) "Decision making with the analytic hierarchy process", International
# Journal of Services Sciences 1(1), 83-98, Table 2: "Which drink is consumed more in the U.S.?"
# Order: coffee, wine, tea, beer, sodas, milk, water. Published derived scale (3 decimals) and a
# consistency ratio of 0.022 with Saaty's random index (RI(7) = 1.32).
DRINKS = np.array([
    [1, 9, 5, 2, 1, 1, 1 / 2],
    [1 / 9, 1, 1 / 3, 1 / 9, 1 / 9, 1 / 9, 1 / 9],
    [1 / 5, 3, 1, 1 / 3, 1 / 4, 1 / 3, 1 / 9],
    [1 / 2, 9, 3, 1, 1 / 2, 1, 1 / 3],
    [1, 9, 4, 2, 1, 2, 1 / 2],
    [1, 9, 3, 1, 1 / 2, 1, 1 / 3],
    [2, 9, 9, 3, 2, 3, 1],
])
DRINKS_PUBLISHED = [0.177, 0.019, 0.042, 0.116, 0.190, 0.129, 0.327]


def test_ahp_saaty_drinks_example():
    res = wt.ahp_weights(DRINKS)
    np.testing.assert_array_equal(np.round(res.weights, 3), DRINKS_PUBLISHED)
    assert round(res.cr, 3) == 0.022
    assert res.ri == 1.32
    # λmax checked independently: the eigen-equation holds and power iteration agrees
    np.testing.assert_allclose(DRINKS @ res.weights, res.lambda_max * res.weights, atol=1e-12)
    v = np.ones(7)
    for _ in range(200):
        v = DRINKS @ v
        v /= v.sum()
    lam_power = float((DRINKS @ v).sum())  # v sums to 1, so 1ᵀAv = λ
    assert res.lambda_max == pytest.approx(lam_power, abs=1e-10)
    np.testing.assert_allclose(res.weights, v, atol=1e-12)
    assert res.ci == pytest.approx((res.lambda_max - 7) / 6, abs=1e-15)
    assert res.cr == pytest.approx(res.ci / 1.32, abs=1e-15)


def test_ahp_3x3_closed_form():
    # For n = 3 the principal eigenvector of a reciprocal matrix equals the normalised row
    # geometric means, and λmax = 1 + r + 1/r with r = (a13 / (a12 a23))^(1/3).
    a12, a13, a23 = 1 / 3, 1 / 2, 3.0
    A = np.array([[1, a12, a13], [1 / a12, 1, a23], [1 / a13, 1 / a23, 1]])
    res = wt.ahp_weights(A)
    r = (a13 / (a12 * a23)) ** (1 / 3)
    lam = 1 + r + 1 / r
    g = np.prod(A, axis=1) ** (1 / 3)
    np.testing.assert_allclose(res.weights, g / g.sum(), rtol=0, atol=1e-12)
    assert res.lambda_max == pytest.approx(lam, abs=1e-12)
    assert res.ci == pytest.approx((lam - 3) / 2, abs=1e-12)
    assert res.cr == pytest.approx((lam - 3) / 2 / 0.58, abs=1e-12)
    np.testing.assert_allclose(res.weights, [0.1571, 0.5936, 0.2493], atol=5e-5)


@pytest.mark.parametrize("w", [[0.5, 0.3, 0.2], [0.1, 0.2, 0.3, 0.4], [0.05, 0.4, 0.15, 0.1, 0.3],
                               list(np.arange(1, 16) / 120.0)])
def test_ahp_consistent_matrix_returns_its_weights(w):
    w = np.asarray(w)
    res = wt.ahp_weights(np.outer(w, 1 / w))
    np.testing.assert_allclose(res.weights, w, rtol=0, atol=1e-12)
    assert res.lambda_max == pytest.approx(len(w), abs=1e-9)
    assert res.ci == pytest.approx(0.0, abs=1e-9)
    assert res.cr == pytest.approx(0.0, abs=1e-9)


def test_ahp_small_matrices_have_cr_zero():
    assert wt.ahp_weights([[1.0]]).weights.tolist() == [1.0]
    res = wt.ahp_weights([[1, 4], [0.25, 1]])
    np.testing.assert_allclose(res.weights, [0.8, 0.2], atol=1e-12)
    assert res.cr == 0.0 and res.ci == 0.0 and res.ri == 0.0


def test_ahp_inconsistent_matrix_rejected_with_its_cr():
    A = np.array([[1, 9, 1 / 9], [1 / 9, 1, 9], [9, 1 / 9, 1]])  # a cycle: 1 > 2 > 3 > 1
    cr = wt.ahp_weights(A, cr_limit=None).cr
    assert cr > 0.1
    with pytest.raises(InputError) as err:
        wt.ahp_weights(A)
    msg = str(err.value)
    assert err.value.field == "CR" and err.value.value == round(cr, 4)
    assert f"field 'CR' = {round(cr, 4)}" in msg and "revise the comparisons" in msg
    # a looser limit accepts the drinks matrix but a stricter one rejects it
    wt.ahp_weights(DRINKS, cr_limit=0.03)
    with pytest.raises(InputError, match="CR"):
        wt.ahp_weights(DRINKS, cr_limit=0.02)


@pytest.mark.parametrize("matrix, fragment", [
    (np.ones((2, 3)), "square"),
    (np.ones(3), "square"),
    (np.array([[1, 0], [0, 1]]), "> 0"),
    (np.array([[1, -2], [-0.5, 1]]), "> 0"),
    (np.array([[1, np.nan], [1, 1]]), "> 0"),
    (np.array([[2, 1], [1, 1]]), "diagonal"),
    (np.ones((16, 16)), "at most 15"),
])
def test_ahp_rejects_malformed_matrices(matrix, fragment):
    with pytest.raises(InputError, match=fragment):
        wt.ahp_weights(matrix)


def test_ahp_rejects_non_reciprocal_naming_the_cell():
    A = np.array([[1, 3, 5], [1 / 3, 1, 2], [1 / 5, 1 / 3, 1]])  # a23 * a32 = 2/3
    with pytest.raises(InputError) as err:
        wt.ahp_weights(A, codes=["X1", "X2", "X3"])
    msg = str(err.value)
    assert "row X2, column X3" in msg and "= 2" in msg and "reciprocal" in msg
    with pytest.raises(InputError, match="row #2, column #3"):
        wt.ahp_weights(A)


def test_ahp_matrix_from_csv(tmp_path):
    path = tmp_path / "ahp.csv"
    path.write_text("code,A,B,C\nA,1,3,5\nB,1/3,1,2\nC,0.2,1/2,1\n", encoding="utf-8")
    codes, A = wt.ahp_matrix_from_csv(path)
    assert codes == ["A", "B", "C"]
    np.testing.assert_allclose(A, [[1, 3, 5], [1 / 3, 1, 2], [0.2, 0.5, 1]])
    assert wt.ahp_weights(A).weights.argmax() == 0


@pytest.mark.parametrize("text, fragments", [
    ("code,A,B\nA,1,x\nB,1,1\n", ["row A, column B", "'x'", "not a number"]),
    ("code,A,B\nA,1,3\nB,1/2,1\n", ["row A, column B", "reciprocal"]),
    ("code,A,B\nB,1,3\nA,1/3,1\n", ["row 2", "'B'", "header's order"]),
    ("code,A,B,C\nA,1,3,1\nB,1/3,1,1\n", ["square"]),
    ("code,A,B\nA,1,-3\nB,-1/3,1\n", ["row A, column B", "-3"]),
])
def test_ahp_matrix_from_csv_errors_name_file_codes_and_value(tmp_path, text, fragments):
    path = tmp_path / "bad.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as err:
        wt.ahp_matrix_from_csv(path)
    msg = str(err.value)
    assert msg.startswith(str(path))
    for fragment in fragments:
        assert fragment in msg


# --------------------------------------------------------------------------------------------
# PCA, simple methods, combination
# --------------------------------------------------------------------------------------------


def test_pca_weights_follow_the_documented_convention():
    X, dirs = _random_matrix(11, 40, 5)
    z = X * np.where(np.array(dirs) == "benefit", 1.0, -1.0)
    R = np.corrcoef(z, rowvar=False)
    lam, V = np.linalg.eigh(R)
    lam, V = lam[::-1], V[:, ::-1]
    share = lam / lam.sum()
    k = int(np.argmax(np.cumsum(share) >= 0.85)) + 1
    expected = np.abs(V[:, :k]) @ share[:k]
    np.testing.assert_allclose(wt.pca_weights(X, dirs), expected / expected.sum(), atol=1e-12)
    # keeping every component uses the whole spectrum; directions do not change the weights
    full = np.abs(V) @ share
    np.testing.assert_allclose(wt.pca_weights(X, dirs, 1.0), full / full.sum(), atol=1e-12)
    np.testing.assert_allclose(wt.pca_weights(X, ["cost"] * 5), wt.pca_weights(X, dirs),
                               atol=1e-12)


def test_simple_methods():
    np.testing.assert_array_equal(wt.equal_weights(4), [0.25] * 4)
    np.testing.assert_allclose(wt.expert_weights([50, 30, 10, 10]), [0.5, 0.3, 0.1, 0.1])
    np.testing.assert_allclose(wt.to_points([0.5, 0.3, 0.1, 0.1]), [50, 30, 10, 10])
    np.testing.assert_allclose(wt.to_points([1, 1], total=110), [55, 55])
    batch = wt.normalise(np.array([[1.0, 3.0], [2.0, 2.0]]))
    np.testing.assert_allclose(batch, [[0.25, 0.75], [0.5, 0.5]])


@pytest.mark.parametrize("w, fragment", [
    ([1.0, -1.0], ">= 0"),
    ([1.0, np.nan], "finite"),
    ([1.0, np.inf], "finite"),
    ([0.0, 0.0], "must be > 0"),
    ([], "at least one"),
    ([[1.0, 1.0], [0.0, 0.0]], "row 2"),
])
def test_normalise_rejects_bad_weights(w, fragment):
    with pytest.raises(InputError, match=fragment):
        wt.normalise(w)


def test_bad_simple_arguments():
    for bad in (0, -1, 2.5, True):
        with pytest.raises(InputError, match="n"):
            wt.equal_weights(bad)
    with pytest.raises(InputError, match="total"):
        wt.to_points([1, 2], total=0)


def test_combined_weights():
    s, o = np.array([0.6, 0.3, 0.1]), np.array([0.2, 0.2, 0.6])
    np.testing.assert_allclose(wt.combined_weights(s, o, 0.25), 0.25 * s + 0.75 * o)
    np.testing.assert_allclose(wt.combined_weights(s, o, 1.0), s)
    np.testing.assert_allclose(wt.combined_weights([60, 30, 10], o, 0.0), o)
    np.testing.assert_allclose(wt.combined_weights(s, o, method="multiplicative"),
                               s * o / (s * o).sum())
    with pytest.raises(InputError, match="length"):
        wt.combined_weights(s, o[:2])
    with pytest.raises(InputError, match="multiplicative"):
        wt.combined_weights([1, 0], [0, 1], method="multiplicative")
    with pytest.raises(InputError, match="method"):
        wt.combined_weights(s, o, method="geometric")


@pytest.mark.parametrize("alpha", [-0.1, 1.5, float("nan"), float("inf")])
def test_alpha_outside_unit_interval_rejected(alpha):
    with pytest.raises(InputError) as err:
        wt.combined_weights([0.5, 0.5], [0.2, 0.8], alpha)
    assert err.value.field == "alpha"
    assert "field 'alpha'" in str(err.value)
    X, dirs = _random_matrix(1, 6, 2)
    with pytest.raises(InputError, match="alpha"):
        wt.compute_weights("combined", points=[1, 1], X=X, directions=dirs, alpha=alpha)


# --------------------------------------------------------------------------------------------
# Degenerate and bad decision matrices
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("func", [wt.entropy_weights, wt.critic_weights, wt.pca_weights])
def test_zero_variance_column_rejected(func):
    X, dirs = _random_matrix(3, 8, 4)
    X[:, 2] = 7.5
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning (division by zero) on the way
        with pytest.raises(InputError) as err:
            func(X, dirs, codes=["C1", "C2", "C3", "C4"])
    msg = str(err.value)
    assert "field 'C3' = 7.5" in msg and "degenerate" in msg and "zero variance" in msg
    with pytest.raises(InputError, match="'#3'"):
        func(X, dirs)


@pytest.mark.parametrize("func", [wt.entropy_weights, wt.critic_weights, wt.pca_weights])
def test_bad_decision_matrices_rejected(func):
    X, dirs = _random_matrix(4, 6, 3)
    with pytest.raises(InputError, match="2-D"):
        func(X[0], dirs)
    with pytest.raises(InputError, match="at least 2 projects"):
        func(X[:1], dirs)
    with pytest.raises(InputError, match="one direction for each"):
        func(X, dirs[:2])
    with pytest.raises(InputError, match="not one string"):
        func(X, "benefit")
    with pytest.raises(InputError, match="target"):
        func(X, ["higher", "equal", "lower"])
    bad = X.copy()
    bad[2, 1] = np.inf   # NaN is a missing value (left out); ±inf is refused
    with pytest.raises(InputError, match="project row 3"):
        func(bad, dirs)
    bad[2, 1], bad[3, 1] = 1e308, -1e308
    with pytest.raises(InputError, match="overflows"):
        func(bad, dirs)


def test_direction_synonyms():
    X, _ = _random_matrix(9, 10, 3)
    ref = wt.entropy_weights(X, ["benefit", "cost", "benefit"])
    np.testing.assert_array_equal(wt.entropy_weights(X, ["higher", "lower", " Higher "]), ref)
    np.testing.assert_array_equal(wt.entropy_weights(X, ["正向", "逆向", "benefit"]), ref)


def test_entropy_normalised_degenerate_inputs():
    with pytest.raises(InputError, match="evenly"):
        wt.entropy_weights_normalised(np.ones((4, 3)))
    with pytest.raises(InputError, match="all zero"):
        wt.entropy_weights_normalised(np.array([[0.0, 1.0], [0.0, 2.0]]))
    with pytest.raises(InputError, match=">= 0"):
        wt.entropy_weights_normalised(np.array([[-1.0, 1.0], [1.0, 2.0]]))


def test_two_projects_give_equal_entropy_weights():
    # with m = 2 every min-max column is (0, 1): entropy 0, divergence 1 for all indicators
    X = np.array([[1.0, 5.0, 9.0], [2.0, 3.0, 10.0]])
    np.testing.assert_allclose(wt.entropy_weights(X, ["benefit"] * 3), [1 / 3] * 3)


# --------------------------------------------------------------------------------------------
# Dispatcher
# --------------------------------------------------------------------------------------------


def test_compute_weights_dispatch():
    X, dirs = _random_matrix(8, 15, 4)
    pts = [40, 30, 20, 10]
    np.testing.assert_allclose(wt.compute_weights("expert", points=pts), wt.expert_weights(pts))
    np.testing.assert_allclose(wt.compute_weights("equal", X=X), [0.25] * 4)
    np.testing.assert_allclose(wt.compute_weights("equal", codes=list("abc")), [1 / 3] * 3)
    np.testing.assert_allclose(wt.compute_weights("ahp", matrix=DRINKS),
                               wt.ahp_weights(DRINKS).weights)
    np.testing.assert_allclose(wt.compute_weights("entropy", X=X, directions=dirs),
                               wt.entropy_weights(X, dirs))
    np.testing.assert_allclose(wt.compute_weights("critic", X=X, directions=dirs),
                               wt.critic_weights(X, dirs))
    np.testing.assert_allclose(wt.compute_weights("pca", X=X, directions=dirs, variance_kept=0.6),
                               wt.pca_weights(X, dirs, 0.6))
    got = wt.compute_weights("combined", points=pts, X=X, directions=dirs, alpha=0.3,
                             objective="critic")
    np.testing.assert_allclose(got, 0.3 * wt.expert_weights(pts)
                               + 0.7 * wt.critic_weights(X, dirs))
    got = wt.compute_weights("combined", matrix=np.outer(pts, 1 / np.array(pts)), X=X,
                             directions=dirs, subjective="ahp", combine="multiplicative")
    e = wt.expert_weights(pts) * wt.entropy_weights(X, dirs)
    np.testing.assert_allclose(got, e / e.sum())


def test_compute_weights_errors():
    with pytest.raises(InputError) as err:
        wt.compute_weights("topsis", points=[1, 2])
    assert all(name in str(err.value) for name in wt.METHODS)
    with pytest.raises(InputError, match="needs points"):
        wt.compute_weights("expert")
    with pytest.raises(InputError, match="needs matrix"):
        wt.compute_weights("ahp", points=[1, 2])
    with pytest.raises(InputError, match="needs X and directions"):
        wt.compute_weights("critic")
    with pytest.raises(InputError, match="needs directions"):
        wt.compute_weights("entropy", X=np.eye(3))
    with pytest.raises(InputError, match="number of indicators"):
        wt.compute_weights("equal")
    with pytest.raises(InputError, match="objective"):
        wt.compute_weights("combined", points=[1, 1], X=np.eye(2), directions=["higher"] * 2,
                           objective="ahp")


# --------------------------------------------------------------------------------------------
# Properties (hypothesis)
# --------------------------------------------------------------------------------------------


@st.composite
def decision_problems(draw, min_n=1):
    """A random decision matrix (continuous values, so no ties), a permutation and a total."""
    seed = draw(st.integers(0, 2**32 - 1))
    m = draw(st.integers(3, 25))
    n = draw(st.integers(min_n, 7))
    perm = draw(st.permutations(range(n)))
    total = draw(st.floats(1.0, 1000.0))
    X, dirs = _random_matrix(seed, m, n)
    return X, dirs, np.array(perm), total


def _check_shares(w, n, total):
    assert w.shape == (n,) and w.dtype == np.float64
    assert np.all(np.isfinite(w)) and np.all(w >= 0)
    assert w.sum() == pytest.approx(1.0, abs=1e-12)
    assert wt.to_points(w, total).sum() == pytest.approx(total, rel=1e-12)


@pytest.mark.parametrize("method", ["entropy", "critic", "pca"])
@PROPS
@given(problem=decision_problems())
def test_objective_methods_are_shares_and_permutation_equivariant(method, problem):
    X, dirs, perm, total = problem
    func = {"entropy": wt.entropy_weights, "critic": wt.critic_weights,
            "pca": wt.pca_weights}[method]
    w = func(X, dirs)
    _check_shares(w, X.shape[1], total)
    w_perm = func(X[:, perm], [dirs[j] for j in perm])
    np.testing.assert_allclose(w_perm, w[perm], rtol=0, atol=1e-9)


@PROPS
@given(points=st.lists(st.floats(0.0, 100.0), min_size=1, max_size=12)
       .filter(lambda p: sum(p) > 0.01), data=st.data())
def test_expert_and_equal_are_shares_and_permutation_equivariant(points, data):
    n = len(points)
    perm = np.array(data.draw(st.permutations(range(n))))
    total = data.draw(st.floats(1.0, 1000.0))
    w = wt.expert_weights(points)
    _check_shares(w, n, total)
    np.testing.assert_allclose(wt.expert_weights(np.asarray(points)[perm]), w[perm], atol=1e-15)
    e = wt.equal_weights(n)
    _check_shares(e, n, total)
    np.testing.assert_array_equal(wt.compute_weights("equal", points=points)[perm], e)


@PROPS
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 12), noise=st.floats(0.0, 0.5),
       data=st.data())
def test_ahp_is_shares_and_permutation_equivariant(seed, n, noise, data):
    rng = np.random.default_rng(seed)
    w0 = rng.dirichlet(np.ones(n))
    A = np.outer(w0, 1 / w0)
    upper = np.triu(rng.lognormal(0.0, noise, (n, n)), k=1)
    factor = np.where(upper > 0, upper, 1.0)
    A = A * factor / factor.T  # perturbed but still reciprocal
    perm = np.array(data.draw(st.permutations(range(n))))
    total = data.draw(st.floats(1.0, 1000.0))
    res = wt.ahp_weights(A, cr_limit=None)
    _check_shares(res.weights, n, total)
    assert res.lambda_max >= n - 1e-9 and res.cr >= 0
    res_perm = wt.ahp_weights(A[np.ix_(perm, perm)], cr_limit=None)
    np.testing.assert_allclose(res_perm.weights, res.weights[perm], rtol=0, atol=1e-9)
    assert res_perm.cr == pytest.approx(res.cr, abs=1e-9)


@PROPS
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 8), alpha=st.floats(0.0, 1.0),
       method=st.sampled_from(["additive", "multiplicative"]))
def test_combined_is_shares(seed, n, alpha, method):
    rng = np.random.default_rng(seed)
    s, o = rng.uniform(0.01, 1, n), rng.uniform(0.01, 1, n)
    w = wt.combined_weights(s, o, alpha, method)
    _check_shares(w, n, 100.0)
    lo = np.minimum(s / s.sum(), o / o.sum())
    hi = np.maximum(s / s.sum(), o / o.sum())
    if method == "additive":  # between the two inputs, indicator by indicator
        assert np.all(w >= lo - 1e-12) and np.all(w <= hi + 1e-12)


@PROPS
@given(seed=st.integers(0, 2**32 - 1), base=st.lists(st.floats(0.0, 10.0), min_size=1,
       max_size=10).filter(lambda b: sum(b) > 0.01), concentration=st.floats(0.5, 1e4),
       pct=st.floats(0.0, 0.99), draws=st.integers(0, 50))
def test_random_weights_rows_are_shares_and_reproducible(seed, base, concentration, pct, draws):
    k = len(base)
    for func, param in ((wt.dirichlet_weights, concentration), (wt.perturb_weights, pct)):
        a = func(base, param, draws, np.random.default_rng(seed))
        b = func(base, param, draws, np.random.default_rng(seed))
        assert a.shape == (draws, k)
        np.testing.assert_array_equal(a, b)
        assert np.all(np.isfinite(a)) and np.all(a >= 0)
        np.testing.assert_allclose(a.sum(axis=1), 1.0, atol=1e-12)
        # indicators with base weight 0 stay at 0
        assert np.all(a[:, np.asarray(base) == 0] == 0)


def test_random_weights_behave():
    base = np.array([0.5, 0.3, 0.2])
    rng = np.random.default_rng(0)
    d = wt.dirichlet_weights(base, 2000.0, 4000, rng)
    np.testing.assert_allclose(d.mean(axis=0), base, atol=2e-3)
    p = wt.perturb_weights(base, 0.2, 4000, np.random.default_rng(1))
    raw_ratio = p / base  # before renormalising each factor is in [0.8, 1.2]
    assert np.all(raw_ratio.max(axis=1) / raw_ratio.min(axis=1) <= 1.2 / 0.8 + 1e-12)
    np.testing.assert_array_equal(wt.perturb_weights(base, 0.0, 3, rng), np.tile(base, (3, 1)))
    assert not np.array_equal(wt.perturb_weights(base, 0.2, 3, np.random.default_rng(1)),
                              wt.perturb_weights(base, 0.2, 3, np.random.default_rng(2)))
    np.testing.assert_array_equal(wt.dirichlet_weights(base, 10, 5, 123),
                                  wt.dirichlet_weights(base, 10, 5, np.random.default_rng(123)))


@pytest.mark.parametrize("call, field", [
    (lambda: wt.dirichlet_weights([1, 1], 0.0, 3, np.random.default_rng(0)), "concentration"),
    (lambda: wt.dirichlet_weights([1, 1], -1.0, 3, np.random.default_rng(0)), "concentration"),
    (lambda: wt.perturb_weights([1, 1], 1.0, 3, np.random.default_rng(0)), "pct"),
    (lambda: wt.perturb_weights([1, 1], -0.1, 3, np.random.default_rng(0)), "pct"),
    (lambda: wt.perturb_weights([1, 1], 0.1, -3, np.random.default_rng(0)), "n"),
    (lambda: wt.perturb_weights([1, 1], 0.1, 3, "seed"), "rng"),
])
def test_random_weights_validate(call, field):
    with pytest.raises(InputError) as err:
        call()
    assert err.value.field == field
