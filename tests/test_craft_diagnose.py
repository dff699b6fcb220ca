"""Redundancy diagnostics (perfsim.kernel.diagnostics, perfsim.analyse.diagnose, `perfsim
diagnose`): Cronbach's alpha against its covariance-matrix formula in exact fractions, PCA
against numpy's SVD, correlations against numpy/scipy, flags on a constructed portfolio."""

from __future__ import annotations

import csv
import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats

from perfsim.analyse.diagnose import diagnose
from perfsim.cli import main
from perfsim.errors import InputError
from perfsim.kernel import diagnostics as dg
from perfsim.model.indicators import system_from_dict
from perfsim.model.portfolio import portfolio_from_frame

DATA = Path(__file__).resolve().parent / "data"


def test_cronbach_alpha_against_covariance_formula_in_fractions():
    # 4 respondents × 3 items; α = k/(k−1) · (1 − trace(C) / sum(C)) with C the sample
    # covariance matrix, computed here in exact fractions.
    X = [[1, 2, 3], [2, 3, 3], [3, 5, 4], [4, 4, 6]]
    m, k = 4, 3
    means = [Fraction(sum(r[j] for r in X), m) for j in range(k)]
    C = [[sum((Fraction(r[a]) - means[a]) * (r[b] - means[b]) for r in X) / (m - 1)
          for b in range(k)] for a in range(k)]
    trace = sum(C[j][j] for j in range(k))
    total = sum(sum(row) for row in C)
    want = Fraction(k, k - 1) * (1 - trace / total)
    assert dg.cronbach_alpha(np.array(X, float)) == pytest.approx(float(want), rel=1e-12)
    # by hand: item variances 5/3, 5/3, 2 (sum 16/3); totals 6, 8, 12, 14 → variance 40/3;
    # α = 3/2 · (1 − (16/3)/(40/3)) = 3/2 · 3/5 = 9/10
    assert want == Fraction(9, 10)


def test_cronbach_alpha_degenerate_cases():
    assert np.isnan(dg.cronbach_alpha(np.ones((5, 1))))
    assert np.isnan(dg.cronbach_alpha(np.array([[1.0, 2.0], [2.0, 1.0]])))  # constant sum


def test_pca_variance_against_svd():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(50, 4)) @ rng.normal(size=(4, 4))
    lam, share = dg.pca_variance(X)
    z = (X - X.mean(0)) / X.std(0, ddof=1)
    s = np.linalg.svd(z, compute_uv=False)
    np.testing.assert_allclose(lam, s ** 2 / (50 - 1), rtol=1e-10)
    np.testing.assert_allclose(share, s ** 2 / (s ** 2).sum(), rtol=1e-10)


def test_pca_hand_case_two_columns():
    # two columns with correlation r: eigenvalues 1 + r and 1 − r
    x = np.array([1.0, 2.0, 3.0, 4.0])
    y = np.array([2.0, 1.0, 4.0, 3.0])  # r = 0.6 (Σ dx dy = 3, Σ dx² = Σ dy² = 5)
    lam, share = dg.pca_variance(np.column_stack([x, y]))
    np.testing.assert_allclose(lam, [1.6, 0.4])
    np.testing.assert_allclose(share, [0.8, 0.2])


def test_correlations_match_numpy_and_scipy():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(30, 5))
    X[:, 2] = np.round(X[:, 2])  # ties for Spearman
    np.testing.assert_allclose(dg.correlation(X), np.corrcoef(X, rowvar=False), atol=1e-12)
    np.testing.assert_allclose(dg.correlation(X, "spearman"), stats.spearmanr(X).statistic,
                               atol=1e-12)


SYSTEM = """
code: diag
name: {zh: 诊断, en: Diagnostics test}
total: 100
indicators:
  - code: G
    name: {zh: 一组, en: Group G}
    points: 60
    children:
      - {code: G.a, name: {zh: 甲, en: a}, points: 20, unit: "%", target: 200,
         direction: higher, rule: {kind: proportional}}
      - {code: G.b, name: {zh: 乙, en: b}, points: 20, unit: "%", target: 400,
         direction: higher, rule: {kind: proportional}}
      - {code: G.c, name: {zh: 丙, en: c}, points: 20, unit: "%", target: 200,
         direction: higher, rule: {kind: proportional}}
  - code: H
    name: {zh: 二组, en: Group H}
    points: 40
    children:
      - {code: H.a, name: {zh: 丁, en: d}, points: 30, unit: "%", target: 200,
         direction: higher, rule: {kind: proportional}}
      - {code: H.b, name: {zh: 戊, en: e}, points: 10, unit: "%", target: 200,
         direction: lower, rule: {kind: proportional}}
"""


@pytest.fixture()
def constructed():
    system = system_from_dict(yaml.safe_load(SYSTEM))
    rng = np.random.default_rng(9)
    a = rng.uniform(20, 180, 40)
    frame = pd.DataFrame({
        "project_id": [f"P{i}" for i in range(40)], "department": ["D"] * 40,
        "budget": 100.0, "G.a": a,
        "G.b": 2 * a,                     # attainment a/200 = 2a/400: the same column, r = 1
        "G.c": 200 - a,                   # the opposite of G.a: r = −1
        "H.a": rng.uniform(20, 180, 40), "H.b": rng.uniform(200, 400, 40)})
    return system, portfolio_from_frame(frame, system, source="constructed.csv")


def test_diagnose_flags_redundant_and_contrary_pairs(constructed):
    system, pf = constructed
    d = diagnose(system, pf)
    flags = {(r.a, r.b): (r.redundant, r.contrary) for r in d.flags.itertuples()}
    assert flags[("G.a", "G.b")] == (True, False)
    assert flags[("G.a", "G.c")] == (True, True)   # |r| = 1 and r = −1 < −0.4
    assert flags[("G.b", "G.c")] == (True, True)
    assert all(p[0].startswith("G") for p in flags)  # H.a and H.b are independent draws
    att = system.attainment(pf.measurements())
    # Cronbach's alpha of G's three attainment columns from the kernel formula's other route
    C = np.cov(att[:, :3], rowvar=False)
    want = 1.5 * (1 - np.trace(C) / C.sum())
    g = d.groups.set_index("group")
    assert g.loc["G", "cronbach_alpha"] == pytest.approx(want, rel=1e-12)
    # effective weight: correlation of each leaf with Σ points × attainment
    total = att @ system.points
    r = [np.corrcoef(att[:, j], total)[0, 1] for j in range(5)]
    ind = d.indicators.set_index("code")
    np.testing.assert_allclose(ind["r_total"], r, rtol=1e-12)
    np.testing.assert_allclose(ind["effective_share"], np.square(r) / np.square(r).sum())
    np.testing.assert_allclose(ind["nominal_share"], [0.2, 0.2, 0.2, 0.3, 0.1])
    # between groups: G and H scores
    gc = d.group_correlations.iloc[0]
    g_score = att[:, :3] @ system.points[:3]
    h_score = att[:, 3:] @ system.points[3:]
    assert gc["r"] == pytest.approx(np.corrcoef(g_score, h_score)[0, 1], rel=1e-12)


def test_diagnose_raw_orients_cost_columns(constructed):
    system, pf = constructed
    raw = diagnose(system, pf, data="raw", method="spearman")
    meas = pf.measurements()
    pair = raw.correlations.set_index(["a", "b"]).loc[("H.a", "H.b"), "r"]
    want = stats.spearmanr(meas["H.a"], -np.asarray(meas["H.b"])).statistic
    assert pair == pytest.approx(want, rel=1e-12)


@pytest.mark.parametrize("kw, needle", [
    ({"data": "scores"}, "'data' = 'scores'"), ({"method": "kendall"}, "'method' = 'kendall'"),
    ({"redundant": 1.5}, "'redundant' = 1.5"), ({"contrary": 0.2}, "'contrary' = 0.2"),
])
def test_bad_options_are_one_line(constructed, kw, needle):
    system, pf = constructed
    with pytest.raises(InputError) as exc:
        diagnose(system, pf, **kw)
    assert needle in str(exc.value) and "\n" not in str(exc.value)


def test_cli_diagnose_system_portfolio(tmp_path, capsys):
    out = tmp_path / "diag"
    code = main(["diagnose", str(DATA / "tiny_system.yaml"), str(DATA / "tiny_measured.csv"),
                 "--out", str(out)])
    text = capsys.readouterr().out
    assert code == 0 and "level-1 groups" in text and "flagged pairs" in text
    names = sorted(p.name for p in out.glob("*.csv"))
    assert names == ["correlations.csv", "group_correlations.csv", "groups.csv",
                     "indicators.csv", "pca.csv"]
    raw = (out / "indicators.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # a BOM, as every perfsim CSV
    with open(out / "indicators.csv", encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["code"] for r in rows] == ["A.1.1", "A.1.2", "A.2", "B", "C"]
    assert main(["diagnose", str(DATA / "tiny_system.yaml"), str(DATA / "tiny_measured.csv"),
                 "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["system"] == "tiny" and len(doc["indicators"]) == 5


def test_cli_diagnose_bad_option_exit_2(capsys):
    code = main(["diagnose", str(DATA / "tiny_system.yaml"), str(DATA / "tiny_measured.csv"),
                 "--contrary", "0.5"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "'--contrary' = 0.5" in err


def test_cli_diagnose_ready_scores_is_one_line(capsys):
    code = main(["diagnose", str(DATA / "tiny_system.yaml"), str(DATA / "tiny_scores.csv")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert "tiny_scores.csv" in err and "need indicator measurements" in err
    root = Path(__file__).resolve().parent.parent
    assert main(["diagnose", str(root / "datasets" / "scenarios" / "liupanshui_2022.yaml")]) == 2
    assert "no indicator system" in capsys.readouterr().err


def test_diagnose_flags_skewed_leaves(constructed):
    system, pf = constructed
    frame = pf.table.copy()
    frame["H.b"] = 200 + np.exp(np.random.default_rng(2).normal(0, 1.5, len(frame))) * 10
    pf2 = portfolio_from_frame(frame[["project_id", "department", "budget", "G.a", "G.b", "G.c",
                                      "H.a", "H.b"]], system, source="skewed.csv")
    d = diagnose(system, pf2).indicators.set_index("code")
    x = np.asarray(pf2.measurements()["H.b"], float)
    assert d.loc["H.b", "skew"] == pytest.approx(stats.skew(x, bias=False))
    assert d.loc["H.b", "kurtosis"] == pytest.approx(stats.kurtosis(x, bias=False))
    assert bool(d.loc["H.b", "skewed"]) and not d.drop("H.b")["skewed"].any()
