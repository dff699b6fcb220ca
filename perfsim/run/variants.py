"""Small studies the notebooks call: the engine run over a few named variants, tidy tables out.

Each function loops over the handful of variants only (never over projects or replications) and
returns pandas DataFrames with money in yuan, shares in [0, 1] and scores in points.

A **variant** is a mapping with any of the keys ``grading`` and ``linkage`` (blocks written as in
a scenario file, see :func:`perfsim.grading.grading_from_dict` and
:func:`perfsim.linkage.linkage_from_dict`) and, for the Monte Carlo studies, ``settings``
(fields of :class:`perfsim.simulate.Settings`); what a variant leaves out is the scenario's.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import pandas as pd

from perfsim.errors import InputError
from perfsim.kernel.grading import grading_from_dict
from perfsim.kernel.linkage import linkage_from_dict
from perfsim.kernel.metrics import interval
from perfsim.model.scenario import Scenario
from perfsim.model.settings import Settings
from perfsim.run.simulate import simulate, with_settings
from perfsim.run.year import YearResult, run_year

VARIANT_KEYS = ("grading", "linkage", "settings")
DEFAULT_METRICS = ("misgrading", "wrong_cuts", "savings")
MONEY = ("budget", "kept", "cut", "cancelled", "rewarded", "next_budget")


def vary(scenario: Scenario, variant: Mapping[str, Any] | None, name: str = "variant"
         ) -> Scenario:
    """The scenario with a variant's ``grading`` and ``linkage`` blocks applied."""
    variant = dict(variant or {})
    for key in variant:
        if key not in VARIANT_KEYS:
            raise InputError(where=f"variant {name}", field=key,
                             problem=f"unknown key (allowed: {', '.join(VARIANT_KEYS)})")
    grading, linkage = scenario.grading, scenario.linkage
    try:
        if "grading" in variant:
            grading = grading_from_dict(variant["grading"])
        if "linkage" in variant:
            linkage = linkage_from_dict(variant["linkage"], grading.labels)
        elif grading.labels != scenario.grading.labels:
            raise InputError(field="grading.labels",
                             problem="new grade labels need a linkage block for them")
    except InputError as err:
        raise _within(err, name) from None
    return scenario.replace(grading=grading, linkage=linkage)


def _within(err: InputError, name: str) -> InputError:
    """The error placed inside variant ``name`` (its own place kept after it)."""
    where = f"variant {name}" + (f", {err.where}" if err.where else "")
    if err.has_value:
        return InputError(err.source, where, err.field, err.value, err.problem)
    return InputError(err.source, where, err.field, problem=err.problem)


@dataclass(frozen=True)
class YearVariants:
    """One year under several variants: ``by_grade`` (variant × grade: projects, share of
    projects, yuan budget, kept, cut, cancelled, rewarded, next budget), ``totals`` (one row per
    variant, plus ``savings`` = budget − next budget and ``precondition_failures``) and the
    full :class:`~perfsim.engine.YearResult` of each variant."""

    by_grade: pd.DataFrame
    totals: pd.DataFrame
    results: Mapping[str, YearResult]


def year_variants(scenario: Scenario, variants: Mapping[str, Mapping[str, Any] | None]
                  ) -> YearVariants:
    """Score, grade and link one year of the scenario's portfolio under each variant."""
    if not variants:
        raise InputError(field="variants", problem="give at least one variant")
    tables, totals, results = [], [], {}
    for name, variant in variants.items():
        if variant and "settings" in variant:
            raise InputError(where=f"variant {name}", field="settings",
                             problem="one year has no simulation settings; use mc_variants")
        result = run_year(vary(scenario, variant, str(name)))
        results[str(name)] = result
        bg = result.by_grade.copy()
        bg.insert(0, "variant", str(name))
        n = bg["projects"].sum()
        bg.insert(4, "share", bg["projects"] / n if n else 0.0)
        tables.append(bg)
        tot = result.summary["totals_yuan"]
        totals.append({"variant": str(name), "projects": int(n),
                       **{k: float(tot[k]) for k in MONEY}, "savings": float(tot["savings"]),
                       "precondition_failures": int(result.summary["precondition_failures"])})
    return YearVariants(pd.concat(tables, ignore_index=True), pd.DataFrame(totals), results)


def _settings(settings: Settings, changes: Mapping[str, Any] | None, name: str) -> Settings:
    if not changes:
        return settings
    known = {f.name for f in fields(Settings)}
    for key in changes:
        if key not in known:
            raise InputError(where=f"variant {name}", field=f"settings.{key}",
                             problem=f"unknown setting (known: {', '.join(sorted(known))})")
    try:
        return with_settings(settings, **dict(changes))
    except InputError as err:
        raise _within(err, name) from None


def mc_variants(scenario: Scenario, settings: Settings,
                variants: Mapping[str, Mapping[str, Any] | None], *,
                metrics: Sequence[str] = DEFAULT_METRICS, engine: str = "numpy",
                workers: int | None = None) -> pd.DataFrame:
    """Monte Carlo of the evaluation process under each variant (same seed, so the variants
    share their random draws). One row per variant × year × metric: ``mean``, ``p05``,
    ``p95`` over replications, NaN ignored. Metrics are the columns of
    :attr:`perfsim.simulate.MonteCarloResult.replications` (shares, yuan, points or counts:
    ``active`` projects, ``n_<grade>``; see :mod:`perfsim.run.simulate`)."""
    if not variants:
        raise InputError(field="variants", problem="give at least one variant")
    rows = []
    for name, variant in variants.items():
        variant = dict(variant or {})
        sc = vary(scenario, {k: v for k, v in variant.items() if k != "settings"}, str(name))
        s = _settings(settings, variant.get("settings"), str(name))
        mc = simulate(sc, s, engine=engine, workers=workers, progress=False)
        reps = mc.replications
        known = [c for c in reps.columns if c not in ("replication", "year")]
        for metric in metrics:
            if metric not in known:
                raise InputError(field="metrics", value=metric,
                                 problem=f"unknown metric (known: {', '.join(known)})")
            for y, values in reps.groupby("year", sort=True)[metric]:
                mean, lo, hi = interval(values.to_numpy(dtype=float))
                rows.append({"variant": str(name), "year": int(y), "metric": metric,
                             "mean": mean, "p05": lo, "p95": hi})
    return pd.DataFrame(rows)


def settings_grid(scenario: Scenario, settings: Settings, grid: Mapping[str, Sequence[Any]], *,
                  policies: Mapping[str, Mapping[str, Any]] | None = None,
                  metrics: Sequence[str] = DEFAULT_METRICS, engine: str = "numpy",
                  workers: int | None = None) -> pd.DataFrame:
    """:func:`mc_variants` over every combination of settings values in ``grid`` (field →
    values); the grid's fields lead the table as columns, in the grid's order. With
    ``policies`` (name → settings changes applied before the grid values), the grid is run
    under each policy and a leading ``policy`` column names it."""
    if not grid:
        raise InputError(field="grid", problem="give at least one setting to vary")
    keys = list(grid)
    combos = [dict(zip(keys, values, strict=True))
              for values in itertools.product(*(list(grid[k]) for k in keys))]
    pols = dict(policies) if policies else {"": {}}
    if not pols:
        raise InputError(field="policies", problem="give at least one policy")
    variants, lead_rows = {}, []
    for pname, changes in pols.items():
        for combo in combos:
            clash = set(changes or {}) & set(combo)
            if clash:
                raise InputError(where=f"policy {pname}", field=sorted(clash)[0],
                                 problem="is varied by the grid; leave it out of the policy")
            key = str(len(variants))
            variants[key] = {"settings": {**dict(changes or {}), **combo}}
            lead_rows.append({**({"policy": str(pname)} if policies else {}), **combo})
    table = mc_variants(scenario, settings, variants, metrics=metrics, engine=engine,
                        workers=workers)
    columns = (["policy"] if policies else []) + keys
    lead = pd.DataFrame([lead_rows[int(v)] for v in table["variant"]], columns=columns)
    return pd.concat([lead, table.drop(columns="variant")], axis=1)


def bunching(scores: np.ndarray, cutoffs: Sequence[float], width: float = 2.0) -> pd.DataFrame:
    """Projects just below and just at-or-above each cutoff: ``below`` counts scores in
    [cutoff − width, cutoff), ``above`` in [cutoff, cutoff + width) (points). ``ratio`` =
    above / below: well above 1 means scores pile up just over the line (manipulation or
    lenient rounding); about 1 means a smooth distribution."""
    s = np.asarray(scores, dtype=float)
    if not width > 0:
        raise InputError(field="width", value=width, problem="must be > 0 points")
    rows = []
    for c in cutoffs:
        below = int(((s >= c - width) & (s < c)).sum())
        above = int(((s >= c) & (s < c + width)).sum())
        rows.append({"cutoff": float(c), "width": float(width), "below": below, "above": above,
                     "ratio": above / below if below else float("nan")})
    return pd.DataFrame(rows)


def department_losses(result: YearResult, top: int | None = 15) -> pd.DataFrame:
    """Who loses money: one row per department with its projects, budget, cut, cancelled,
    ``lost`` (cut + cancelled), ``rewarded`` and ``share_lost`` (lost / budget), largest loss
    first (ties: department name); the ``top`` departments, or all with ``top=None``."""
    led = result.ledger
    g = led.groupby("department", sort=True)[["projects", "budget", "cut", "cancelled",
                                              "rewarded", "next_budget"]].sum()
    g["lost"] = g["cut"] + g["cancelled"]
    with np.errstate(invalid="ignore", divide="ignore"):
        g["share_lost"] = np.where(g["budget"] > 0, g["lost"] / g["budget"], 0.0)
    out = g.reset_index().sort_values(["lost", "department"], ascending=[False, True],
                                      kind="stable").reset_index(drop=True)
    return out if top is None else out.head(int(top))
