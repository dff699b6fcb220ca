"""Blank, n/a and 未申报 cells in the statistics on raw values (objective weights, treatment,
diagnose), each by its leaf's missing-value policy: ``impute`` cells take the department median
and are used (and said), the other cells without a value are left out (and counted), a refusing
policy names the portfolio file and the row as the spreadsheet shows it.

References are independent: entropy, CRITIC and PCA recomputed here with numpy/pandas/scipy
over each column's own values, medians by pandas groupby, skewness and kurtosis by pandas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import one_error_line
from scipy import stats

from perfsim.analyse.diagnose import diagnose, format_diagnosis
from perfsim.cli import main
from perfsim.errors import InputError
from perfsim.kernel import treatment as tr
from perfsim.kernel import weighting as wt
from perfsim.model.indicators import system_from_dict
from perfsim.model.portfolio import portfolio_from_frame
from perfsim.model.weights import apply_weighting, cell_counts, project_data, weights_frame

# --------------------------------------------------------------------------------------------
# Independent references
# --------------------------------------------------------------------------------------------


def _ref_minmax(df: pd.DataFrame, dirs) -> pd.DataFrame:
    out = (df - df.min()) / (df.max() - df.min())   # pandas skips NaN in min and max
    for c, d in zip(df.columns, dirs, strict=True):
        if d in ("lower", "cost"):
            out[c] = 1.0 - out[c]
    return out


def _ref_entropy(X: np.ndarray, dirs) -> np.ndarray:
    y = _ref_minmax(pd.DataFrame(X), dirs)
    d = []
    for c in y.columns:
        v = y[c].dropna().to_numpy()
        d.append(1.0 - stats.entropy(v) / np.log(v.size))   # scipy normalises v to p
    d = np.array(d)
    return d / d.sum()


def _ref_critic(X: np.ndarray, dirs) -> np.ndarray:
    y = _ref_minmax(pd.DataFrame(X), dirs)
    c = y.std() * (1.0 - y.corr()).sum()              # pairwise complete, ddof = 1
    return (c / c.sum()).to_numpy()


def _ref_pca(X: np.ndarray, dirs, kept=0.85) -> np.ndarray:
    signs = np.array([-1.0 if d in ("lower", "cost") else 1.0 for d in dirs])
    R = pd.DataFrame(X * signs).corr().to_numpy()
    lam, vec = np.linalg.eigh(R)
    lam, vec = lam[::-1].clip(0), vec[:, ::-1]
    share = lam / lam.sum()
    k = int(np.argmax(np.cumsum(share) >= kept - 1e-12)) + 1
    w = np.abs(vec[:, :k]) @ share[:k]
    return w / w.sum()


def _matrix(seed=3, m=14, n=4):
    rng = np.random.default_rng(seed)
    X = rng.gamma(2.0, 10.0, size=(m, n)) + rng.normal(0, 5, size=(m, 1))
    X[[2, 9], 0] = np.nan
    X[[5], 2] = np.nan
    X[[0, 5, 11], 3] = np.nan
    return X, ["higher", "lower", "higher", "lower"]


# --------------------------------------------------------------------------------------------
# Kernel: missing cells (NaN) are left out of each statistic
# --------------------------------------------------------------------------------------------


def test_entropy_hand_case_over_the_values_a_column_has():
    # column 1: 0, 1, 3 (blank in row 2) → min-max 0, 1/3, 1; p = 0, 1/4, 3/4;
    # e = −(1/4 ln 1/4 + 3/4 ln 3/4) / ln 3; column 2: 0, 2, 2, 2 → p = 0, 1/3, 1/3, 1/3;
    # e = ln 3 / ln 4
    X = np.array([[0.0, 0.0], [np.nan, 2.0], [1.0, 2.0], [3.0, 2.0]])
    e1 = -(0.25 * np.log(0.25) + 0.75 * np.log(0.75)) / np.log(3)
    e2 = np.log(3) / np.log(4)
    want = np.array([1 - e1, 1 - e2]) / (2 - e1 - e2)
    np.testing.assert_allclose(wt.entropy_weights(X, ["higher", "higher"]), want, rtol=1e-12)


@pytest.mark.parametrize(("func", "ref"), [(wt.entropy_weights, _ref_entropy),
                                           (wt.critic_weights, _ref_critic),
                                           (wt.pca_weights, _ref_pca)])
def test_objective_methods_with_blanks_match_references(func, ref):
    X, dirs = _matrix()
    np.testing.assert_allclose(func(X, dirs), ref(X, dirs), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("func", [wt.entropy_weights, wt.critic_weights, wt.pca_weights])
def test_a_project_missing_everywhere_is_as_if_absent(func):
    X, dirs = _matrix(5)
    X[:, :] = np.where(np.isnan(X), 7.0, X)
    X[4, :] = np.nan
    np.testing.assert_allclose(func(X, dirs), func(np.delete(X, 4, axis=0), dirs), rtol=1e-10)


def test_too_few_values_and_inf_are_refused_naming_the_row():
    X, dirs = _matrix()
    sparse = X.copy()
    sparse[1:, 1] = np.nan
    for func in (wt.entropy_weights, wt.critic_weights, wt.pca_weights):
        with pytest.raises(InputError, match="fewer than 2 projects have a value") as err:
            func(sparse, dirs, codes=list("abcd"))
        assert "有数值的项目少于 2 个" in str(err.value) and err.value.field == "b"
    bad = np.where(np.isnan(X), 1.0, X)
    bad[3, 2] = np.inf
    rows = list(range(10, 10 + X.shape[0]))       # the caller's own row numbers
    for func in (wt.entropy_weights, wt.critic_weights, wt.pca_weights):
        with pytest.raises(InputError, match=r"row 13\b") as err:
            func(bad, dirs, codes=list("abcd"), rows=rows)
        assert err.value.field == "c"
    with pytest.raises(InputError, match=r"row 13\b"):
        tr.treat(bad, {"method": "none"}, list("abcd"), rows)


def test_critic_pair_sharing_too_few_projects_is_named():
    X = np.array([[1.0, np.nan], [2.0, np.nan], [3.0, 1.0], [4.0, 5.0], [np.nan, 2.0]])
    with pytest.raises(InputError, match="fewer than 3 projects have a value in both") as err:
        wt.critic_weights(X, ["higher", "higher"], codes=["a", "b"])
    assert err.value.field == "a × b" and err.value.value == 2
    assert "两项都有数值的项目少于 3 个" in str(err.value)


def test_treatment_leaves_blanks_out_and_keeps_them_blank():
    rng = np.random.default_rng(8)
    col = np.exp(rng.normal(0, 1.5, 40))
    col[[3, 17, 30]] = np.nan
    values = col[~np.isnan(col)]
    out = tr.treat(col[:, None], {"method": "winsorise", "lower": 0.1, "upper": 0.9}, ["x"])
    y = out.X[:, 0]
    assert np.isnan(y[[3, 17, 30]]).all()
    lo, hi = np.quantile(values, [0.1, 0.9])
    np.testing.assert_allclose(y[~np.isnan(col)], np.clip(values, lo, hi))
    rec = out.columns[0]
    assert rec.n_low == int((values < lo).sum()) and rec.n_high == int((values > hi).sum())
    assert rec.skew_before == pytest.approx(pd.Series(values).skew(), rel=1e-10)
    # auto and log over the values: the same as on the column without its blanks
    for method in ("auto", "log"):
        got = tr.treat(col[:, None], {"method": method}, ["x"]).X[:, 0]
        ref = tr.treat(values[:, None], {"method": method}, ["x"]).X[:, 0]
        assert np.isnan(got[[3, 17, 30]]).all()
        np.testing.assert_allclose(got[~np.isnan(col)], ref)


# --------------------------------------------------------------------------------------------
# A portfolio: impute, zero, n/a, 未申报 and error policies
# --------------------------------------------------------------------------------------------

SYSTEM = """
code: gaps
name: {zh: 缺失, en: Gaps}
total: 100
indicators:
  - code: G
    name: {zh: 一组, en: Group G}
    children:
      - {code: G.c1, name: {zh: 甲, en: c1}, points: 20, unit: "%", target: 100,
         direction: higher, rule: {kind: proportional}}
      - {code: G.c2, name: {zh: 乙, en: c2}, points: 20, unit: "%", target: 100,
         direction: lower, rule: {kind: proportional}}
      - {code: G.c3, name: {zh: 丙, en: c3}, points: 20, unit: "%", target: 100,
         direction: higher, rule: {kind: proportional}, missing: MISSING}
  - code: H
    name: {zh: 二组, en: Group H}
    children:
      - {code: H.h1, name: {zh: 丁, en: h1}, points: 25, unit: "%", target: 100,
         direction: higher, rule: {kind: proportional}, not_applicable: average}
      - {code: H.h2, name: {zh: 戊, en: h2}, points: 15, unit: "%", target: 100,
         direction: higher, rule: {kind: proportional}}
"""

M = 14
BLANK_C3 = (3, 8, 11)          # positions: spreadsheet rows 5, 10 and 13


def _system(missing="impute"):
    return system_from_dict(yaml.safe_load(SYSTEM.replace("MISSING", missing)),
                            source="gaps.yaml")


def _frame() -> pd.DataFrame:
    rng = np.random.default_rng(26)
    f = pd.DataFrame({
        "project_id": [f"P{i:02d}" for i in range(M)],
        "department": ["D1", "D2"] * (M // 2), "budget": 1000.0,
        "G.c1": rng.uniform(40, 100, M).round(1), "G.c2": rng.uniform(60, 120, M).round(1),
        "G.c3": np.exp(rng.normal(4, 0.5, M)).round(1),
        "H.h1": rng.uniform(30, 100, M).round(1), "H.h2": rng.uniform(50, 100, M).round(1),
    }).astype(object)
    for i in BLANK_C3:
        f.loc[i, "G.c3"] = ""
    f.loc[1, "H.h1"] = "n/a"
    f.loc[6, "H.h2"] = ""            # missing: zero (the default)
    f.loc[9, "H.h2"] = "未申报"
    return f


def _num(f: pd.DataFrame, code: str) -> pd.Series:
    return pd.to_numeric(f[code], errors="coerce")


def _imputed_c3(f: pd.DataFrame) -> pd.Series:
    """G.c3 with each blank filled by its department's median (pandas groupby)."""
    c3 = _num(f, "G.c3")
    return c3.fillna(c3.groupby(f["department"]).transform("median"))


@pytest.fixture()
def gaps():
    system = _system()
    return system, portfolio_from_frame(_frame(), system, source="gaps.csv")


def test_impute_fills_with_the_department_median_and_counts(gaps):
    system, pf = gaps
    f = _frame()
    want = _imputed_c3(f)
    d = project_data(system, pf, None)
    np.testing.assert_allclose(d.X[:, 2], want.to_numpy())
    counts = cell_counts(system, pf).set_index("code")
    assert counts.loc["G.c3", "n_imputed"] == 3 and counts.loc["G.c3", "n_left_out"] == 0
    assert counts.loc["G.c3", "n_values"] == M - 3 and counts.loc["G.c3", "n_used"] == M
    shown = {float(v) for v in counts.loc["G.c3", "imputed_value"].split(", ")}
    assert shown == set(want.iloc[list(BLANK_C3)].round(6))
    assert counts.loc["G.c3", "imputed_from"] == "department median"
    # n/a, a blank under missing: zero and 未申报 hold no measurement: left out
    assert counts.loc["H.h1", "n_left_out"] == 1 and counts.loc["H.h1", "n_imputed"] == 0
    assert counts.loc["H.h2", "n_left_out"] == 2 and counts.loc["H.h2", "n_used"] == M - 2
    assert np.isnan(d.X[[6, 9], 4]).all() and np.isnan(d.X[1, 3])


@pytest.mark.parametrize(("method", "ref"), [("entropy", _ref_entropy),
                                             ("critic", _ref_critic), ("pca", _ref_pca)])
def test_leaf_weights_under_impute_use_the_imputed_values(gaps, method, ref):
    system, pf = gaps
    f = _frame()
    out = weights_frame(apply_weighting(system, {"leaves": {"method": method}}, pf), "leaves")
    pts = out.set_index("code")["points"]
    G = np.column_stack([_num(f, "G.c1"), _num(f, "G.c2"), _imputed_c3(f)])
    H = np.column_stack([_num(f, "H.h1"), _num(f, "H.h2")])   # n/a and blanks left out
    np.testing.assert_allclose(pts[["G.c1", "G.c2", "G.c3"]], 60 * ref(G, ["higher", "lower",
                                                                            "higher"]))
    np.testing.assert_allclose(pts[["H.h1", "H.h2"]], 40 * ref(H, ["higher", "higher"]))


def test_cli_weights_says_what_it_imputed_and_counts_cells(tmp_path, capsys):
    (tmp_path / "gaps.yaml").write_text(SYSTEM.replace("MISSING", "impute"), encoding="utf-8")
    _frame().to_csv(tmp_path / "gaps.csv", index=False)
    code = main(["weights", "--method", "entropy", "--level", "leaves",
                 "--system", str(tmp_path / "gaps.yaml"),
                 "--portfolio", str(tmp_path / "gaps.csv")])
    out = capsys.readouterr()
    assert code == 0 and out.err == ""
    lines = out.out.splitlines()
    head = next(t for t in lines if t.startswith("code"))
    assert head.split()[3:6] == ["used", "imputed", "left"]
    c3 = next(t for t in lines if t.startswith("G.c3 ")).split()
    h2 = next(t for t in lines if t.startswith("H.h2 ")).split()
    assert c3[3:6] == [str(M), "3", "0"] and h2[3:6] == [str(M - 2), "0", "2"]
    said = next(t for t in lines if t.startswith("已插补 imputed G.c3"))
    want = _imputed_c3(_frame()).iloc[list(BLANK_C3)]
    assert "3 blank cell(s)" in said and "department median" in said
    for v in want:
        assert f"{v:.6g}" in said
    assert any(t.startswith("未计入 left out: 3 cell(s)") for t in lines)


# --------------------------------------------------------------------------------------------
# A refusing policy: the portfolio file and the row as the spreadsheet shows it
# --------------------------------------------------------------------------------------------


def test_refusal_names_the_spreadsheet_row_in_the_weights_path():
    # a portfolio read under the impute system, weighed under its error twin
    pf = portfolio_from_frame(_frame(), _system(), source="gaps.csv")
    with pytest.raises(InputError) as err:
        apply_weighting(_system("error"), {"leaves": {"method": "entropy"}}, pf)
    e = err.value
    assert e.source == "gaps.csv" and e.field == "G.c3"
    assert e.where.endswith(f"row {BLANK_C3[0] + 2}")      # header row 1, P00 on row 2
    assert "第 5 行 row 5" in str(e) and "缺少数值" in str(e)


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_cli_refusal_names_the_spreadsheet_row(tmp_path, capsys, suffix):
    (tmp_path / "gaps.yaml").write_text(SYSTEM.replace("MISSING", "error"), encoding="utf-8")
    f = _frame()
    path = tmp_path / f"gaps{suffix}"
    if suffix == ".csv":
        f.to_csv(path, index=False)
    else:
        f.replace("", None).to_excel(path, index=False)
    # the row the spreadsheet shows, read from the file itself
    if suffix == ".csv":
        lines = path.read_text(encoding="utf-8").splitlines()
        row = next(k for k, t in enumerate(lines, start=1) if t.startswith("P03,"))
    else:
        from openpyxl import load_workbook
        ws = load_workbook(path).worksheets[0]
        row = next(c.row for c in ws["A"] if c.value == "P03")
    assert row == 5
    code = main(["weights", "--method", "entropy", "--level", "leaves",
                 "--system", str(tmp_path / "gaps.yaml"), "--portfolio", str(path)])
    line = one_error_line(capsys)
    assert code == 2
    assert f"{path}: 第 {row} 行 row {row}: 字段 field 'G.c3'" in line
    assert "缺少数值" in line and "missing value" in line


# --------------------------------------------------------------------------------------------
# diagnose
# --------------------------------------------------------------------------------------------


def test_diagnose_skew_kurtosis_over_the_non_missing_values_as_pandas():
    system = _system("zero")
    f = _frame()
    pf = portfolio_from_frame(f, system, source="gaps.csv")
    ind = diagnose(system, pf, data="raw").indicators.set_index("code")
    for code in system.codes:
        v = _num(f, code).dropna()                   # pandas: bias-corrected, excess kurtosis
        assert ind.loc[code, "skew"] == pytest.approx(v.skew(), rel=1e-10)
        assert ind.loc[code, "kurtosis"] == pytest.approx(v.kurt(), rel=1e-10)
        assert ind.loc[code, "n_values"] == v.size
        assert ind.loc[code, "n_left_out"] == M - v.size
        assert ind.loc[code, "n_imputed"] == 0


def test_diagnose_under_impute_uses_and_reports_the_imputed_values(gaps):
    system, pf = gaps
    d = diagnose(system, pf, data="raw")
    ind = d.indicators.set_index("code")
    filled = _imputed_c3(_frame())
    assert ind.loc["G.c3", "skew"] == pytest.approx(filled.skew(), rel=1e-10)
    assert ind.loc["G.c3", "kurtosis"] == pytest.approx(filled.kurt(), rel=1e-10)
    assert ind.loc["G.c3", "n_values"] == M - 3 and ind.loc["G.c3", "n_imputed"] == 3
    assert ind.loc["G.c3", "n_left_out"] == 0
    pair = d.correlations.set_index(["a", "b"]).loc[("G.c1", "G.c3"), "r"]
    assert pair == pytest.approx(_num(_frame(), "G.c1").corr(filled), rel=1e-10)
    text = format_diagnosis(d)
    line = next(t for t in text.splitlines() if t.startswith("缺失值 missing cells"))
    assert "3 imputed" in line and "G.c3 3 imputed with" in line and "3 left out" in line


def test_cli_diagnose_counts_cells(tmp_path, capsys):
    (tmp_path / "gaps.yaml").write_text(SYSTEM.replace("MISSING", "impute"), encoding="utf-8")
    _frame().to_csv(tmp_path / "gaps.csv", index=False)
    assert main(["diagnose", str(tmp_path / "gaps.yaml"), str(tmp_path / "gaps.csv"),
                 "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr()
    assert out.err == "" and "缺失值 missing cells: 3 imputed" in out.out
    table = pd.read_csv(tmp_path / "out" / "indicators.csv").set_index("code")
    assert table.loc["G.c3", "n_imputed"] == 3 and table.loc["H.h2", "n_left_out"] == 2
    assert table["n_values"].add(table["n_imputed"]).add(table["n_left_out"]).eq(M).all()


def test_treatment_on_blanks_within_the_weighting(gaps):
    system, pf = gaps
    spec = {"leaves": {"method": "entropy", "treatment": {"method": "winsorise"}}}
    out = weights_frame(apply_weighting(system, spec, pf), "leaves").set_index("code")
    f = _frame()
    H = np.column_stack([_num(f, "H.h1"), _num(f, "H.h2")])
    lo, hi = np.nanquantile(H, 0.05, axis=0), np.nanquantile(H, 0.95, axis=0)
    want = 40 * _ref_entropy(np.clip(H, lo, hi), ["higher", "higher"])
    np.testing.assert_allclose(out.loc[["H.h1", "H.h2"], "points"], want)


@pytest.mark.parametrize("method", ["bod", "smaa"])
def test_cli_robust_counts_the_cells_without_a_value(tmp_path, capsys, method):
    (tmp_path / "gaps.yaml").write_text(SYSTEM.replace("MISSING", "impute"), encoding="utf-8")
    _frame().to_csv(tmp_path / "gaps.csv", index=False)
    assert main(["robust", method, str(tmp_path / "gaps.yaml"), str(tmp_path / "gaps.csv"),
                 "--draws", "200"]) == 0
    out = capsys.readouterr()
    line = next(t for t in out.out.splitlines() if t.startswith("缺失值 missing cells"))
    # 3 blanks of G.c3 (impute), 1 n/a of H.h1 (average), H.h2: 1 blank (zero), 1 未申报
    assert f"6 of {M * 5} cells hold no value" in line
    for part in ("3 impute: department median", "1 average of the others", "1 zero",
                 "1 not submitted: 0"):
        assert part in line


def test_many_department_medians_are_shown_as_a_count_and_a_range():
    f = _frame()
    f["department"] = [f"D{i % 4}" for i in range(M)]
    f["G.c3"] = _num(f, "G.c3").astype(object)
    for i in range(4):
        f.loc[i, "G.c3"] = ""
    system = _system()
    pf = portfolio_from_frame(f, system, source="gaps.csv")
    blank = _num(f, "G.c3").isna()                  # positions 0-3 and the fixture's 8, 11
    want = _imputed_c3(f)[blank]
    assert want.nunique() == 4                       # one median per department
    got = cell_counts(system, pf).set_index("code").loc["G.c3"]
    assert got["n_imputed"] == blank.sum() == 6
    assert got["imputed_value"] == f"4 values from {want.min():.6g} to {want.max():.6g}"


def test_cli_weights_groups_tier_counts_the_scored_cells(tmp_path, capsys):
    (tmp_path / "gaps.yaml").write_text(SYSTEM.replace("MISSING", "impute"), encoding="utf-8")
    _frame().to_csv(tmp_path / "gaps.csv", index=False)
    assert main(["weights", "--method", "critic", "--system", str(tmp_path / "gaps.yaml"),
                 "--portfolio", str(tmp_path / "gaps.csv")]) == 0
    lines = capsys.readouterr().out.splitlines()
    line = next(t for t in lines if t.startswith("缺失值 missing cells"))
    assert line.startswith("缺失值 missing cells: 6 cell(s) hold no value")
    assert "3 impute: department median" in line and "1 not submitted: 0" in line


def test_bod_and_smaa_refuse_an_unresolved_cell_naming_the_callers_row():
    from perfsim.kernel.bod import bod
    from perfsim.kernel.smaa import smaa
    Y = np.array([[0.5, 1.0], [1.0, 0.2], [np.nan, 0.7]])
    with pytest.raises(InputError, match=r"row 4\b") as err:
        bod(Y, rows=[2, 3, 4])
    assert "第 4 行" in str(err.value)
    with pytest.raises(InputError, match=r"row 4\b"):
        smaa(Y, draws=10, rng=0, rows=[2, 3, 4])
