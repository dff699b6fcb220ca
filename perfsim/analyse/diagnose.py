"""Redundancy diagnostics of an indicator system on a portfolio (COINr's correlation and
Cronbach tables): which indicators measure the same thing, which pull against each other, and
which carry more or less of the total than their points say.

:func:`diagnose` reads one value per project and non-bonus leaf — by default the leaf's
**attainment** (the share of its points earned, the value the system aggregates; higher =
better), or with ``data='raw'`` the raw measurement oriented so that higher = better (cost
leaves negated; target-is-best leaves use their attainment, as the objective weights do) — and
returns a :class:`Diagnosis` of tidy tables:

``correlations``
    one row per pair of leaves: ``a, b, group_a, group_b, scope`` (``within`` one level-1 group
    or ``between`` two), ``r`` (Pearson, or Spearman with ``method='spearman'``), ``redundant``
    (|r| > ``redundant``, default 0.9: the two leaves say nearly the same thing) and
    ``contrary`` (r < ``contrary``, default −0.4: with every column oriented higher = better, a
    project good on one is bad on the other).
``group_correlations``
    one row per pair of level-1 groups: the correlation of their scores (points earned in the
    group).
``groups``
    per level-1 group: ``n_leaves``, ``cronbach_alpha`` (of its leaves' values; NaN for one
    leaf), ``pc1_share`` (variance explained by the first principal component of its leaves'
    correlation matrix) and ``n_eigen_gt_1`` (Kaiser's count of components worth keeping).
``pca``
    per group and component: ``eigenvalue``, ``share``, ``cumulative``.
``indicators``
    per leaf: ``nominal_share`` (its points / the total of non-bonus points), ``r_total`` (its
    correlation with the total score, Σ points × attainment), ``r_group`` (with its group's
    score), ``effective_share`` = r_total² / Σ r_total² (each leaf's share of the "main effect"
    Corr²(x_j, total), Paruolo, Saisana & Saltelli 2013) and ``ratio`` = effective / nominal
    (above 1: the leaf drives the ranking more than its points suggest); ``skew`` and
    ``kurtosis`` (bias-corrected, excess) of the leaf's raw measurement (attainment for
    target-is-best leaves) and ``skewed``: COINr's rule |skew| > 2 and kurtosis > 3.5, the
    leaves a ``treatment: auto`` would winsorise before objective weighting.

``indicators`` also gives ``n_values`` (projects with a measurement: blank, n/a and 未申报 cells
have none; their attainment is what the system's rules make of them), ``n_imputed`` and
``imputed_value`` (blank cells of a ``missing: impute`` leaf, which take the median the system
imputes with: :func:`perfsim.model.weights.cell_counts`), ``n_left_out`` (the other cells
without a value) and ``constant`` (no spread over the projects).

Blank cells: the raw values follow each leaf's missing-value policy (imputed cells are used as
values, the others left out; ``missing: error`` is refused naming the spreadsheet row); every
statistic reads the projects where the columns concerned have a value —
correlations pairwise over the rows both columns hold, alpha from the pairwise covariances,
skewness and kurtosis over the column's own values (:mod:`perfsim.kernel.diagnostics`,
:func:`perfsim.kernel.treatment.skew_kurtosis`). Constant columns (and columns sharing fewer
than 3 projects with another) have no correlation, skew or kurtosis (NaN, never 0) and are
never flagged; a constant column's effective share is 0 (it moves no project).

Imported portfolios (each project with its own third-level leaves, :mod:`perfsim.model.imported`)
are diagnosed at the level the leaves share, the 二级指标 (:func:`shared_level`): one column per
heading (产出指标/数量指标, ...; the execution item 预算执行 is one of its own) holding the share
of the heading's points the project earns (NaN where it has no leaf under it), the heading's
points being the mean a project holds there; skewness and kurtosis are of these shares. Both
paths call one core, :func:`diagnose_arrays` (arrays in, tables out).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from perfsim.analyse.robust import system_and_portfolio
from perfsim.errors import InputError
from perfsim.kernel import diagnostics as dg
from perfsim.kernel import treatment as tr
from perfsim.model.imported import EXECUTION, ImportedPortfolio, load_imported
from perfsim.model.indicators import IndicatorSystem
from perfsim.model.portfolio import Portfolio
from perfsim.model.scenario import load_scenario
from perfsim.model.weights import cell_counts, project_data

__all__ = ["SHARED_LEVEL", "Diagnosis", "SharedLevel", "diagnose", "diagnose_arrays",
           "format_diagnosis", "shared_level"]

#: The ``level`` of a diagnosis of an imported portfolio.
SHARED_LEVEL = "二级指标"

DATA = ("attainment", "raw")
METHODS = ("pearson", "spearman")
TABLES = ("indicators", "groups", "pca", "correlations", "group_correlations")


@dataclass(frozen=True)
class Diagnosis:
    """Tables of :func:`diagnose` (see the module docstring) and the settings used; for an
    imported portfolio also the ``level`` diagnosed (:data:`SHARED_LEVEL`; ``"leaf"``
    otherwise), the leaves aggregated (``n_leaves``, ``n_distinct``) and the (projects ×
    headings) table read (``values``, written as ``shared_level.csv``)."""

    system: str
    data: str
    method: str
    redundant: float
    contrary: float
    n_projects: int
    indicators: pd.DataFrame
    groups: pd.DataFrame
    pca: pd.DataFrame
    correlations: pd.DataFrame
    group_correlations: pd.DataFrame
    level: str = "leaf"
    n_leaves: int | None = None
    n_distinct: int | None = None
    values: pd.DataFrame | None = None

    @property
    def flags(self) -> pd.DataFrame:
        """The pairs flagged redundant or contrary."""
        c = self.correlations
        return c[c["redundant"] | c["contrary"]].reset_index(drop=True)

    def tables(self) -> dict[str, pd.DataFrame]:
        return {name: getattr(self, name) for name in TABLES}

    @property
    def constant(self) -> list[str]:
        """The columns with no spread over the projects (no correlation, skew or kurtosis)."""
        ind = self.indicators
        return [str(c) for c in ind.loc[ind["constant"], "code"]]

    def as_dict(self) -> dict[str, Any]:
        extra = {} if self.level == "leaf" else {
            "level": self.level, "n_leaves": self.n_leaves, "n_distinct": self.n_distinct,
            "values": self.values.to_dict(orient="records")}
        return {"system": self.system, "data": self.data, "method": self.method,
                "redundant": self.redundant, "contrary": self.contrary,
                "n_projects": self.n_projects, **extra,
                **{k: v.to_dict(orient="records") for k, v in self.tables().items()}}


def _check(data: Any, method: Any, redundant: Any, contrary: Any) -> None:
    if data not in DATA:
        raise InputError(where="diagnose", field="data", value=data,
                         problem=f"choose one of {', '.join(DATA)}")
    if method not in METHODS:
        raise InputError(where="diagnose", field="method", value=method,
                         problem=f"choose one of {', '.join(METHODS)}")
    if isinstance(redundant, bool) or not isinstance(redundant, int | float) or not (
            0 < redundant <= 1):
        raise InputError(where="diagnose", field="redundant", value=redundant,
                         problem="must be a correlation in (0, 1], e.g. 0.9")
    if isinstance(contrary, bool) or not isinstance(contrary, int | float) or not (
            -1 <= contrary < 0):
        raise InputError(where="diagnose", field="contrary", value=contrary,
                         problem="must be a correlation in [-1, 0), e.g. -0.4")


def _load(system: Any, portfolio: Portfolio | None) -> tuple[Any, Portfolio | None]:
    """A path: an imported folder, or a scenario file; else the scenario/system as given."""
    if isinstance(system, str | PathLike):
        if Path(system).is_dir():
            return None, load_imported(system)
        return load_scenario(system), portfolio
    return system, portfolio


def diagnose(system: Any, portfolio: Portfolio | None = None, *, data: str = "attainment",
             method: str = "pearson", redundant: float = 0.9,
             contrary: float = -0.4) -> Diagnosis:
    """Redundancy diagnostics of ``system`` on ``portfolio`` (see the module docstring).

    ``system`` is an :class:`IndicatorSystem`, or a scenario (``perfsim.load(...)``, a model
    scenario or a scenario file's path) whose system and portfolio are used. The portfolio must
    hold indicator measurements (at least 3 projects). An imported portfolio (a scenario's
    ``portfolio: {imported: DIR}``, an :class:`ImportedPortfolio`, or the folder's path) is
    diagnosed at the level its projects' own leaves share (:func:`shared_level`). Bad options
    raise a one-line :class:`InputError`.
    """
    _check(data, method, redundant, contrary)
    system, portfolio = _load(system, portfolio)
    if portfolio is None and not isinstance(system, IndicatorSystem):
        portfolio = getattr(system, "portfolio", None)
    if isinstance(portfolio, ImportedPortfolio):
        return _diagnose_imported(portfolio, data, method, redundant, contrary)
    system, portfolio = system_and_portfolio(system, portfolio, where="diagnose")
    d = project_data(system, portfolio, system.path)
    _enough(d.attainment.shape[0], portfolio)
    signs = np.where(np.array(d.directions) == "lower", -1.0, 1.0)
    points = np.asarray(system.points, dtype=float)
    counts = cell_counts(system, portfolio, _data=d)
    return diagnose_arrays(
        d.attainment if data == "attainment" else d.X * signs, d.X, d.attainment * points,
        points, list(system.codes), [leaf.level1 for leaf in system.indicators],
        names_zh=[i.name_zh for i in system.indicators],
        names_en=[i.name_en for i in system.indicators], name=system.code, data=data,
        method=method, redundant=redundant, contrary=contrary,
        extra={c: counts[c].to_numpy() for c in
               ("n_values", "n_imputed", "imputed_value", "n_left_out")})


def _enough(n_proj: int, portfolio: Portfolio | None) -> None:
    if n_proj < 3:
        raise InputError(portfolio.source if portfolio else None, "diagnose", "projects",
                         n_proj, "needs at least 3 projects")


@dataclass(frozen=True)
class SharedLevel:
    """An imported portfolio at the level its projects' leaves share (二级指标): ``shares``
    (projects × headings, index ``project_id``: the share of the heading's points the project
    earns, :meth:`ImportedPortfolio.shares`; NaN where the project has no leaf under it),
    ``held`` (the points each project's leaves under each heading carry, 0 where none),
    ``level1`` (each heading's 一级指标), ``n_leaves`` (leaf cells aggregated per heading, all
    projects) and ``n_distinct`` (distinct leaves: 一级/二级/三级 names). The execution item
    (预算执行), which has no 二级指标, is a heading of its own (one leaf per project that has
    it); any other leaf without a 二级指标 has no shared heading and is left out."""

    shares: pd.DataFrame
    held: pd.DataFrame
    level1: list[str]
    n_leaves: pd.Series
    n_distinct: int


def shared_level(portfolio: ImportedPortfolio) -> SharedLevel:
    """The (projects × 二级指标) table of an imported portfolio (see :class:`SharedLevel`)."""
    c = portfolio.cells
    mask = np.asarray(c.mask)
    heading = np.where(np.asarray(c.level2) != "", c.level2, c.level1).astype(str)
    shares = portfolio.shares("level2")
    if (heading[mask] == EXECUTION).any():   # the execution item: its own heading
        shares[EXECUTION] = portfolio.shares("level1")[EXECUTION].to_numpy()
    P = mask.shape[0]
    leaves = pd.DataFrame({"project": np.repeat(np.arange(P), mask.shape[1])[mask.ravel()],
                           "heading": heading[mask], "level1": np.asarray(c.level1)[mask],
                           "level3": np.asarray(c.level3)[mask],
                           "points": np.asarray(c.points, dtype=float)[mask]})
    leaves = leaves[leaves["heading"].isin(shares.columns)]
    # each heading's 一级指标 (the commonest, should tables disagree); headings in the order
    # of their 一级指标, each group's in the order first met
    level1 = leaves.groupby("heading", sort=False)["level1"].agg(lambda s: s.mode().iloc[0])
    first1 = {g: k for k, g in enumerate(pd.unique(leaves["level1"]))}
    shares = shares[sorted(shares.columns, key=lambda h: first1[level1[h]])]
    held = leaves.pivot_table(index="project", columns="heading", values="points",
                              aggfunc="sum", fill_value=0.0)
    held = held.reindex(index=range(P), columns=shares.columns, fill_value=0.0)
    ids = pd.Index(portfolio.table["project_id"].astype(str), name="project_id")
    shares.index = held.index = ids
    held.columns.name = None
    n_leaves = leaves.groupby("heading", sort=False).size().reindex(shares.columns)
    n_distinct = int(len(leaves.drop_duplicates(["level1", "heading", "level3"])))
    return SharedLevel(shares, held, [str(level1[h]) for h in shares.columns], n_leaves,
                       n_distinct)


def _diagnose_imported(portfolio: ImportedPortfolio, data: str, method: str, redundant: float,
                       contrary: float) -> Diagnosis:
    if data != "attainment":
        raise InputError(portfolio.source, "diagnose", "data", data,
                         "an imported folder is diagnosed on attainment at the level its "
                         "projects' leaves share; their raw measurements (in units of their "
                         "own) cannot be added up")
    _enough(portfolio.n_projects, portfolio)
    lv = shared_level(portfolio)
    X = lv.shares.to_numpy(dtype=float)
    held = lv.held.to_numpy(dtype=float)
    codes = [str(h) for h in lv.shares.columns]
    return diagnose_arrays(
        X, X, np.where(held > 0, np.nan_to_num(X) * held, 0.0), held.mean(axis=0), codes,
        lv.level1, names_zh=codes, names_en=[""] * len(codes), name=portfolio.source or "",
        data=data, method=method, redundant=redundant, contrary=contrary,
        level=SHARED_LEVEL, n_leaves=int(lv.n_leaves.sum()), n_distinct=lv.n_distinct,
        extra={"n_projects": (held > 0).sum(axis=0), "n_leaves": lv.n_leaves.to_numpy()},
        table=lv.shares.reset_index())


def diagnose_arrays(values: np.ndarray, raw: np.ndarray, earned: np.ndarray,
                    points: np.ndarray, codes: Sequence[str], groups: Sequence[str], *,
                    names_zh: Sequence[str], names_en: Sequence[str], name: str,
                    data: str = "attainment", method: str = "pearson", redundant: float = 0.9,
                    contrary: float = -0.4, level: str = "leaf", n_leaves: int | None = None,
                    n_distinct: int | None = None, extra: dict[str, Any] | None = None,
                    table: pd.DataFrame | None = None) -> Diagnosis:
    """The diagnostic core, arrays in and tables out (both :func:`diagnose` paths call it).

    ``values`` (projects m, columns k): what correlations, alpha and PCA read (higher = better);
    ``raw``: what skewness and kurtosis read; ``earned``: the points each project earns in
    each column (a project's total and group scores are its sums); ``points`` (k,): each
    column's nominal points; ``groups``: each column's level-1 group. NaN cells (blank,
    not-applicable or absent) are left out pairwise (:mod:`perfsim.kernel.diagnostics`) and
    earn nothing. ``level``, ``n_leaves``, ``n_distinct`` and ``table`` (the values as a table)
    describe where the columns come from; ``extra`` adds columns to ``indicators``.
    """
    X = np.asarray(values, dtype=float)
    n_proj = X.shape[0]
    codes, groups = [str(c) for c in codes], [str(g) for g in groups]
    points = np.asarray(points, dtype=float)
    earned = np.nan_to_num(np.asarray(earned, dtype=float))
    r = dg.correlation(X, method)
    iu, ju = np.triu_indices(len(codes), k=1)
    rv = r[iu, ju]
    ga, gb = np.array(groups)[iu], np.array(groups)[ju]
    with np.errstate(invalid="ignore"):
        corr = pd.DataFrame({
            "a": np.array(codes)[iu], "b": np.array(codes)[ju], "group_a": ga, "group_b": gb,
            "scope": np.where(ga == gb, "within", "between"), "r": rv,
            "redundant": np.abs(rv) > redundant, "contrary": rv < contrary})

    members = {g: np.flatnonzero(np.array(groups) == g) for g in dict.fromkeys(groups)}
    total = earned.sum(axis=1)
    g_scores = np.column_stack([earned[:, cols].sum(axis=1) for cols in members.values()])
    gcodes = list(members)
    rg = dg.correlation(g_scores, method)
    gi, gj = np.triu_indices(len(gcodes), k=1)
    group_corr = pd.DataFrame({"a": np.array(gcodes)[gi], "b": np.array(gcodes)[gj],
                               "r": rg[gi, gj]})

    rows, pca_rows = [], []
    for g, cols in members.items():
        lam, share = dg.pca_variance(X[:, cols])
        rows.append({"group": g, "n_leaves": int(cols.size),
                     "cronbach_alpha": dg.cronbach_alpha(X[:, cols]),
                     "pc1_share": float(share[0]) if share.size > 1 else math.nan,
                     "n_eigen_gt_1": int((lam > 1).sum())})
        cum = np.cumsum(share)
        for c in range(lam.size):
            pca_rows.append({"group": g, "component": c + 1, "eigenvalue": float(lam[c]),
                             "share": float(share[c]), "cumulative": float(cum[c])})

    with_total = dg.correlation(np.column_stack([X, total]), method)[:-1, -1]
    g_index = {g: k for k, g in enumerate(gcodes)}
    r_group = np.array([dg.correlation(np.column_stack([X[:, j], g_scores[:, g_index[g]]]),
                                       method)[0, 1] for j, g in enumerate(groups)])
    constant = dg.constant_columns(X)
    # a constant column moves no project: its share of the main effect is 0, not unknown
    sq = np.where(constant, 0.0, with_total ** 2)
    known = np.isfinite(sq)
    denom = sq[known].sum()
    eff = np.where(known, sq, np.nan) / denom if denom > 0 else np.full(sq.shape, math.nan)
    nominal = points / points.sum() if points.sum() > 0 else np.full(points.shape, math.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(nominal > 0, eff / np.where(nominal > 0, nominal, 1.0), np.nan)
    indicators = pd.DataFrame({
        "code": codes, "group": groups, "name_zh": list(names_zh), "name_en": list(names_en),
        "points": points, "n_values": np.isfinite(np.asarray(raw, dtype=float)).sum(axis=0),
        "constant": constant,
        "nominal_share": nominal, "r_total": with_total, "r_group": r_group,
        "effective_share": eff, "ratio": ratio})
    for col, v in (extra or {}).items():
        indicators[col] = np.asarray(v)
    sk, ku = tr.skew_kurtosis(raw)
    indicators["skew"] = sk
    indicators["kurtosis"] = ku
    with np.errstate(invalid="ignore"):
        indicators["skewed"] = (np.abs(sk) > tr.DEFAULTS["skew"]) & (
            ku > tr.DEFAULTS["kurtosis"])
    return Diagnosis(name, data, method, float(redundant), float(contrary), n_proj,
                     indicators, pd.DataFrame(rows), pd.DataFrame(pca_rows), corr, group_corr,
                     level=level, n_leaves=n_leaves, n_distinct=n_distinct, values=table)


def _fmt(df: pd.DataFrame) -> str:
    return df.to_string(index=False, float_format=lambda v: f"{v:.3f}", na_rep="–")


def format_diagnosis(d: Diagnosis, top: int = 10) -> str:
    """Plain-text tables: indicators, groups, flagged pairs (all) and the ``top`` strongest
    within-group correlations; the columns without spread are named."""
    corr = d.correlations
    within = corr[corr["scope"] == "within"].reindex(
        corr[corr["scope"] == "within"]["r"].abs().sort_values(ascending=False).index)
    flags = d.flags
    what = "leaves" if d.level == "leaf" else "headings"
    head = (f"{d.system}: diagnostics of {d.n_projects} projects ({d.data} values, {d.method} "
            f"correlations; redundant |r| > {d.redundant:g}, contrary r < {d.contrary:g})")
    parts = [head]
    if d.level != "leaf":
        parts.append(
            f"在{d.level}层面诊断 diagnostics at the {d.level} (level-2 heading) level, the level "
            f"the projects' own leaves share: {d.n_leaves} leaves ({d.n_distinct} distinct) "
            f"aggregated into {len(d.indicators)} headings; each value is the share of the "
            "heading's points the project earns (blank where it has no leaf under it), points "
            "are the mean a project holds")
    blanks = d.indicators[d.indicators["n_values"] < d.n_projects]
    if len(blanks) and d.level == "leaf":
        how = ("each pair is correlated over the projects where both have a value"
               if d.data == "raw" else "their attainment is as the system scores such cells")
        one = "leaf" if len(blanks) == 1 else "leaves"
        parts.append(f"{len(blanks)} {one} with blank, n/a or 未申报 cells (n_values: the "
                     f"projects with a measurement): {how}; skew and kurtosis are over the "
                     "values each leaf has")
        ind = d.indicators
        if "n_imputed" in ind.columns:
            imp = ind[ind["n_imputed"] > 0]
            said = "; ".join(f"{r.code} {r.n_imputed} imputed with {r.imputed_value}"
                             for r in imp.itertuples(index=False))
            parts.append(f"缺失值 missing cells: {int(ind['n_imputed'].sum())} imputed "
                         f"(missing: impute, used as values{': ' + said if said else ''}), "
                         f"{int(ind['n_left_out'].sum())} left out")
    if d.constant:
        parts.append(f"无差异 constant {what} (the same value for every project: no "
                     f"correlation, skew or kurtosis, shown –): {', '.join(d.constant)}")
    parts += [
        "", f"{what} (effective share = r_total² / Σ r_total²; ratio = effective / nominal)",
        _fmt(d.indicators.drop(columns=["name_en"] if d.level == "leaf"
                               else ["name_zh", "name_en"])),
        "", "level-1 groups", _fmt(d.groups),
        "", "correlations between level-1 group scores", _fmt(d.group_correlations),
        "", f"flagged pairs: {len(flags)}",
    ]
    if len(flags):
        parts.append(_fmt(flags))
    parts += ["", f"strongest within-group correlations (top {top})",
              _fmt(within.head(top))]
    return "\n".join(parts)
