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

Constant columns have no correlation (NaN) and are never flagged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from perfsim.analyse.robust import system_and_portfolio
from perfsim.errors import InputError
from perfsim.kernel import diagnostics as dg
from perfsim.kernel import treatment as tr
from perfsim.model.portfolio import Portfolio
from perfsim.model.weighting_spec import level1_members
from perfsim.model.weights import project_data

__all__ = ["Diagnosis", "diagnose", "format_diagnosis"]

DATA = ("attainment", "raw")
METHODS = ("pearson", "spearman")
TABLES = ("indicators", "groups", "pca", "correlations", "group_correlations")


@dataclass(frozen=True)
class Diagnosis:
    """Tables of :func:`diagnose` (see the module docstring) and the settings used."""

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

    @property
    def flags(self) -> pd.DataFrame:
        """The pairs flagged redundant or contrary."""
        c = self.correlations
        return c[c["redundant"] | c["contrary"]].reset_index(drop=True)

    def tables(self) -> dict[str, pd.DataFrame]:
        return {name: getattr(self, name) for name in TABLES}

    def as_dict(self) -> dict[str, Any]:
        return {"system": self.system, "data": self.data, "method": self.method,
                "redundant": self.redundant, "contrary": self.contrary,
                "n_projects": self.n_projects,
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


def diagnose(system: Any, portfolio: Portfolio | None = None, *, data: str = "attainment",
             method: str = "pearson", redundant: float = 0.9,
             contrary: float = -0.4) -> Diagnosis:
    """Redundancy diagnostics of ``system`` on ``portfolio`` (see the module docstring).

    ``system`` is an :class:`IndicatorSystem`, or a scenario (``perfsim.load(...)`` or a model
    scenario) whose system and portfolio are used. The portfolio must hold indicator
    measurements (at least 3 projects). Bad options raise a one-line :class:`InputError`.
    """
    _check(data, method, redundant, contrary)
    system, portfolio = system_and_portfolio(system, portfolio, where="diagnose")
    d = project_data(system, portfolio, system.path)
    n_proj = d.attainment.shape[0]
    if n_proj < 3:
        raise InputError(portfolio.source if portfolio else None, "diagnose", "projects",
                         n_proj, "needs at least 3 projects")
    signs = np.where(np.array(d.directions) == "lower", -1.0, 1.0)
    X = d.attainment if data == "attainment" else d.X * signs
    codes = list(system.codes)
    groups = [leaf.level1 for leaf in system.indicators]
    points = np.asarray(system.points, dtype=float)
    members = level1_members(system)

    r = dg.correlation(X, method)
    iu, ju = np.triu_indices(len(codes), k=1)
    rv = r[iu, ju]
    ga, gb = np.array(groups)[iu], np.array(groups)[ju]
    with np.errstate(invalid="ignore"):
        corr = pd.DataFrame({
            "a": np.array(codes)[iu], "b": np.array(codes)[ju], "group_a": ga, "group_b": gb,
            "scope": np.where(ga == gb, "within", "between"), "r": rv,
            "redundant": np.abs(rv) > redundant, "contrary": rv < contrary})

    earned = d.attainment * points  # points earned per leaf
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
    sq = np.where(np.isfinite(with_total), with_total ** 2, 0.0)
    eff = sq / sq.sum() if sq.sum() > 0 else np.full(sq.shape, math.nan)
    nominal = points / points.sum()
    indicators = pd.DataFrame({
        "code": codes, "group": groups, "name_zh": [i.name_zh for i in system.indicators],
        "name_en": [i.name_en for i in system.indicators], "points": points,
        "nominal_share": nominal, "r_total": with_total, "r_group": r_group,
        "effective_share": eff, "ratio": eff / nominal})
    sk, ku = tr.skew_kurtosis(d.X) if n_proj >= 4 else (np.full(len(codes), np.nan),) * 2
    indicators["skew"] = sk
    indicators["kurtosis"] = ku
    indicators["skewed"] = (np.abs(sk) > tr.DEFAULTS["skew"]) & (ku > tr.DEFAULTS["kurtosis"])
    return Diagnosis(system.code, data, method, float(redundant), float(contrary), n_proj,
                     indicators, pd.DataFrame(rows), pd.DataFrame(pca_rows), corr, group_corr)


def _fmt(df: pd.DataFrame) -> str:
    return df.to_string(index=False, float_format=lambda v: f"{v:.3f}", na_rep="–")


def format_diagnosis(d: Diagnosis, top: int = 10) -> str:
    """Plain-text tables: indicators, groups, flagged pairs (all) and the ``top`` strongest
    within-group correlations."""
    corr = d.correlations
    within = corr[corr["scope"] == "within"].reindex(
        corr[corr["scope"] == "within"]["r"].abs().sort_values(ascending=False).index)
    flags = d.flags
    parts = [
        f"{d.system}: diagnostics of {d.n_projects} projects ({d.data} values, {d.method} "
        f"correlations; redundant |r| > {d.redundant:g}, contrary r < {d.contrary:g})",
        "", "indicators (effective share = r_total² / Σ r_total²; ratio = effective / nominal)",
        _fmt(d.indicators.drop(columns=["name_en"])),
        "", "level-1 groups", _fmt(d.groups),
        "", "correlations between level-1 group scores", _fmt(d.group_correlations),
        "", f"flagged pairs: {len(flags)}",
    ]
    if len(flags):
        parts.append(_fmt(flags))
    parts += ["", f"strongest within-group correlations (top {top})",
              _fmt(within.head(top))]
    return "\n".join(parts)
