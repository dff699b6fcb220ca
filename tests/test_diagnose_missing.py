"""Diagnostics on portfolios with blank, n/a and 未申报 cells and with constant leaves: skewness
and kurtosis over the values a leaf has (scipy's nan_policy='omit' as the reference, and a
hand case), correlations, alpha and PCA over each pair's complete rows (pandas' pairwise
statistics and per-pair numpy as references), effective shares that do not zero a leaf for
its blanks, constant leaves reported as such, and no Python warnings on the way."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats

from perfsim.analyse.diagnose import diagnose, format_diagnosis
from perfsim.cli import main
from perfsim.kernel import diagnostics as dg
from perfsim.kernel import treatment as tr
from perfsim.model.indicators import system_from_dict
from perfsim.model.portfolio import portfolio_from_frame

# --------------------------------------------------------------------------------------------
# Kernel: skewness and kurtosis over the finite values
# --------------------------------------------------------------------------------------------


def test_skew_kurtosis_hand_case_ignores_blanks():
    # 0, 0, 0, 3: n = 4, mean 3/4, m2 = 27/16, m3 = 81/32, m4 = 1701/256;
    # g1 = m3 / m2^1.5 = 2/√3, G1 = g1 · √(4·3) / 2 = 2;
    # g2 = m4 / m2² − 3 = 7/3 − 3 = −2/3, G2 = ((5)(−2/3) + 6) · 3 / (2 · 1) = 4
    x = np.array([[0.0], [np.nan], [0.0], [0.0], [np.nan], [3.0]])
    s, k = tr.skew_kurtosis(x)
    assert s[0] == pytest.approx(2.0, rel=1e-12)
    assert k[0] == pytest.approx(4.0, rel=1e-12)
    # the same values shifted and scaled (units do not matter)
    s2, k2 = tr.skew_kurtosis(np.array([[5.0], [5.0], [np.nan], [5.0], [11.0]]))
    assert (s2[0], k2[0]) == pytest.approx((2.0, 4.0), rel=1e-12)


def test_skew_kurtosis_matches_scipy_nan_policy_omit():
    rng = np.random.default_rng(26)
    X = np.exp(rng.normal(0, 1.2, size=(40, 5)))
    for j, n_blank in enumerate([0, 1, 7, 20, 35]):
        X[rng.choice(40, n_blank, replace=False), j] = np.nan
    s, k = tr.skew_kurtosis(X)
    for j in range(5):
        col = X[:, j]
        np.testing.assert_allclose(s[j], stats.skew(col, bias=False, nan_policy="omit"),
                                   rtol=1e-10)
        np.testing.assert_allclose(k[j], stats.kurtosis(col, bias=False, nan_policy="omit"),
                                   rtol=1e-10)


def test_skew_kurtosis_constant_or_too_few_values_is_nan_not_zero():
    X = np.array([[4.0, 1.0, 1.0, np.nan],
                  [4.0, np.nan, 2.0, np.nan],
                  [4.0, 3.0, 7.0, np.nan],
                  [np.nan, np.nan, np.nan, np.nan]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s, k = tr.skew_kurtosis(X)
    assert np.isnan(s[0]) and np.isnan(k[0])      # constant
    assert np.isnan(s[1]) and np.isnan(k[1])      # two values
    assert np.isnan(s[3]) and np.isnan(k[3])      # none
    # three values: skewness defined, the bias-corrected kurtosis (n − 3 = 0) is not;
    # 1, 2, 7: mean 10/3, deviations −7/3, −4/3, 11/3: m2 = 186/27 = 62/9, m3 = 924/81 =
    # 308/27; G1 = m3 / m2^1.5 · √(3·2) / (3 − 2)
    assert s[2] == pytest.approx((308 / 27) / (62 / 9) ** 1.5 * np.sqrt(6), rel=1e-12)
    assert s[2] == pytest.approx(stats.skew([1.0, 2.0, 7.0], bias=False), rel=1e-12)
    assert np.isnan(k[2])


def test_a_constant_column_is_never_treated_and_records_nan():
    X = np.column_stack([np.full(8, 3.0), np.r_[np.ones(7), 50.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = tr.treat(X, {"method": "auto"}, codes=["flat", "tail"])
    flat, tail = out.columns
    assert flat.applied == "none" and np.isnan(flat.skew_before) and not flat.still_skewed
    np.testing.assert_array_equal(out.X[:, 0], 3.0)
    assert tail.applied != "none"   # seven 1s and a 50: skewed, so the rule acts on it


# --------------------------------------------------------------------------------------------
# Kernel: pairwise correlations, covariances, alpha and PCA
# --------------------------------------------------------------------------------------------


def test_correlation_hand_case_uses_the_rows_both_columns_have():
    # rows 1–4: r = 0.6 (Σ dx dy = 3, Σ dx² = Σ dy² = 5); row 5 has no x, row 6 no y
    x = [1.0, 2.0, 3.0, 4.0, np.nan, 9.0]
    y = [2.0, 1.0, 4.0, 3.0, 100.0, np.nan]
    r = dg.correlation(np.column_stack([x, y]))
    assert r[0, 1] == pytest.approx(0.6, rel=1e-12) and r[1, 0] == r[0, 1]
    # Spearman: ranks 1..4 and 2,1,4,3 over the same rows: 1 − 6·4/(4·15) = 0.6
    assert dg.correlation(np.column_stack([x, y]), "spearman")[0, 1] == pytest.approx(0.6)


def _with_blanks(seed=7, m=30, k=5):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(m, k)) @ rng.normal(size=(k, k))
    X[:, 3] = np.round(X[:, 3])   # ties for Spearman
    for j, n in enumerate([0, 3, 6, 2, 9]):
        X[rng.choice(m, n, replace=False), j] = np.nan
    return X


def test_pairwise_correlation_against_numpy_and_scipy_per_pair():
    X = _with_blanks()
    P, S = dg.correlation(X), dg.correlation(X, "spearman")
    for i in range(5):
        for j in range(5):
            if i == j:
                continue
            rows = np.isfinite(X[:, i]) & np.isfinite(X[:, j])
            a, b = X[rows, i], X[rows, j]
            assert P[i, j] == pytest.approx(np.corrcoef(a, b)[0, 1], abs=1e-12)
            assert S[i, j] == pytest.approx(stats.spearmanr(a, b).statistic, abs=1e-12)


def test_pairwise_covariance_alpha_and_pca_against_pandas():
    X = _with_blanks(11)
    df = pd.DataFrame(X)
    np.testing.assert_allclose(dg.covariance(X), df.cov().to_numpy(), atol=1e-12)
    C = df.cov().to_numpy()
    want = 5 / 4 * (1 - np.trace(C) / C.sum())
    assert dg.cronbach_alpha(X) == pytest.approx(want, rel=1e-12)
    lam, share = dg.pca_variance(X)
    ref = np.sort(np.clip(np.linalg.eigvalsh(df.corr().to_numpy()), 0, None))[::-1]
    np.testing.assert_allclose(lam, ref, atol=1e-12)
    np.testing.assert_allclose(share, ref / ref.sum(), atol=1e-12)


def test_constant_and_sparse_columns_have_no_correlation():
    X = np.array([[1.0, 5.0, 1.0, 2.0],
                  [2.0, 5.0, np.nan, 4.0],
                  [3.0, 5.0, np.nan, 5.0],
                  [4.0, 5.0, 2.0, 9.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = dg.correlation(X)
        rs = dg.correlation(X, "spearman")
        lam, _ = dg.pca_variance(X)
    for m in (r, rs):
        assert np.isnan(m[1, [0, 2, 3]]).all()   # constant
        assert np.isnan(m[2, [0, 3]]).all()      # two rows shared: no correlation
        assert np.isfinite(m[0, 3])
    assert lam.size == 2                          # the constant and sparse columns left out


# --------------------------------------------------------------------------------------------
# diagnose on a portfolio with blank, n/a and 未申报 cells and a constant leaf
# --------------------------------------------------------------------------------------------

SYSTEM = """
code: blanks
name: {zh: 空白, en: Blanks}
total: 100
indicators:
  - code: G
    name: {zh: 一组, en: Group G}
    children:
      - {code: G.a, name: {zh: 甲, en: a}, points: 20, unit: "%", target: 200,
         direction: higher, rule: {kind: proportional}, not_applicable: exclude}
      - {code: G.b, name: {zh: 乙, en: b}, points: 20, unit: "%", target: 400,
         direction: higher, rule: {kind: proportional}}
      - {code: G.c, name: {zh: 丙, en: c}, points: 20, unit: "%", target: 200,
         direction: higher, rule: {kind: proportional}}
  - code: H
    name: {zh: 二组, en: Group H}
    children:
      - {code: H.a, name: {zh: 丁, en: d}, points: 30, unit: "%", target: 200,
         direction: higher, rule: {kind: proportional}}
      - {code: H.b, name: {zh: 戊, en: e}, points: 10, unit: "%", target: 200,
         direction: lower, rule: {kind: proportional}}
"""

M = 16


def _frame():
    rng = np.random.default_rng(26)
    a = rng.uniform(20, 180, M).round(1)
    h = np.exp(rng.normal(3.5, 0.9, M)).round(1)          # a long right tail: skewed
    frame = pd.DataFrame({
        "project_id": [f"P{i}" for i in range(M)], "department": "D", "budget": 100.0,
        "G.a": a, "G.b": (400 - a + rng.normal(0, 20, M)).round(1),
        "G.c": 150.0,                                       # the same for every project
        "H.a": h, "H.b": rng.uniform(200, 400, M).round(1)}).astype(object)
    frame.loc[2, "G.a"] = ""          # blank
    frame.loc[5, "G.a"] = "n/a"       # not applicable
    frame.loc[9, "H.a"] = "未申报"     # not submitted
    frame.loc[12, "H.a"] = ""
    return frame


@pytest.fixture()
def blanks():
    system = system_from_dict(yaml.safe_load(SYSTEM))
    return system, portfolio_from_frame(_frame(), system, source="blanks.csv")


def _raw(frame: pd.DataFrame, code: str) -> np.ndarray:
    return pd.to_numeric(frame[code], errors="coerce").to_numpy(dtype=float)


def test_skew_and_kurtosis_of_a_leaf_with_blanks_are_over_its_values(blanks):
    system, pf = blanks
    frame = _frame()
    ind = diagnose(system, pf).indicators.set_index("code")
    h = _raw(frame, "H.a")
    assert np.isnan(h).sum() == 2
    want_s = stats.skew(h, bias=False, nan_policy="omit")
    want_k = stats.kurtosis(h, bias=False, nan_policy="omit")
    assert ind.loc["H.a", "skew"] == pytest.approx(want_s, rel=1e-10)
    assert ind.loc["H.a", "kurtosis"] == pytest.approx(want_k, rel=1e-10)
    assert bool(ind.loc["H.a", "skewed"]) == bool(abs(want_s) > 2 and want_k > 3.5)
    assert ind.loc["H.a", "n_values"] == M - 2 and ind.loc["G.a", "n_values"] == M - 2
    assert ind.loc["G.b", "n_values"] == M


def test_raw_effective_shares_over_the_rows_each_leaf_has(blanks):
    system, pf = blanks
    frame = _frame()
    d = diagnose(system, pf, data="raw")
    ind = d.indicators.set_index("code")
    # independent: the total from the system's own attainment, each raw column oriented
    # (H.b is a cost leaf) and correlated with it by pandas over the rows it has
    att = system.attainment(pf.measurements())
    total = pd.Series(att @ system.points)
    raw = pd.DataFrame({c: _raw(frame, c) for c in system.codes})
    raw["H.b"] = -raw["H.b"]
    r = raw.apply(lambda col: col.corr(total))
    for c in ("G.a", "G.b", "H.a", "H.b"):
        assert ind.loc[c, "r_total"] == pytest.approx(r[c], rel=1e-10)
    sq = r.drop("G.c") ** 2
    for c in sq.index:
        assert ind.loc[c, "effective_share"] == pytest.approx(sq[c] / sq.sum(), rel=1e-10)
    assert ind.loc["G.a", "effective_share"] > 0 and ind.loc["H.a", "effective_share"] > 0
    assert ind.loc["G.c", "effective_share"] == 0   # a constant leaf moves no project
    pair = d.correlations.set_index(["a", "b"]).loc[("G.a", "H.a"), "r"]
    assert pair == pytest.approx(raw["G.a"].corr(raw["H.a"]), rel=1e-10)


def test_a_constant_leaf_is_reported_and_no_warning_is_raised(blanks):
    system, pf = blanks
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        for data in ("attainment", "raw"):
            for method in ("pearson", "spearman"):
                d = diagnose(system, pf, data=data, method=method)
                text = format_diagnosis(d)
    assert [str(w.message) for w in seen] == []
    ind = d.indicators.set_index("code")
    assert d.constant == ["G.c"] and bool(ind.loc["G.c", "constant"])
    assert np.isnan(ind.loc["G.c", "skew"]) and np.isnan(ind.loc["G.c", "kurtosis"])
    assert not ind.loc["G.c", "skewed"]
    line = next(t for t in text.splitlines() if t.startswith("无差异 constant leaves"))
    assert line.endswith(": G.c")


def test_cli_diagnose_blank_cells_and_constant_leaf_without_warnings(tmp_path, capsys):
    (tmp_path / "system.yaml").write_text(SYSTEM, encoding="utf-8")
    frame = _frame()
    frame.to_csv(tmp_path / "pf.csv", index=False)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        code = main(["diagnose", str(tmp_path / "system.yaml"), str(tmp_path / "pf.csv"),
                     "--data", "raw"])
        out = capsys.readouterr()
        assert main(["diagnose", str(tmp_path / "system.yaml"), str(tmp_path / "pf.csv"),
                     "--json"]) == 0
        doc = json.loads(capsys.readouterr().out)
    assert code == 0 and out.err == "" and [str(w.message) for w in seen] == []
    assert "2 leaves with blank, n/a or 未申报 cells" in out.out
    assert "G.c" in next(t for t in out.out.splitlines() if t.startswith("无差异"))
    rows = {r["code"]: r for r in doc["indicators"]}
    h = _raw(frame, "H.a")
    assert rows["H.a"]["skew"] == pytest.approx(stats.skew(h, bias=False, nan_policy="omit"))
    assert rows["G.c"]["skew"] is None and rows["G.c"]["constant"] is True
