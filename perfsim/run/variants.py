"""Variants: a scenario run under a few named changes, tidy tables out.

A **change** is a mapping of YAML paths to values — the same paths everywhere in perfsim
(:func:`perfsim.model.params.apply_changes`): ``linkage.ratio``, ``grading.cutoffs.excellent``,
``simulation.spot_check.share``, whole ``grading`` or ``linkage`` blocks written as in a
scenario file. :func:`vary` runs a grid of values and returns one row per variant (the
researcher's ``perfsim.vary``); :func:`year_variants`, :func:`mc_variants` and
:func:`settings_grid` are what the notebooks call. Each loops over the handful of variants
only (never over projects or replications); money in yuan, shares in [0, 1], scores in
points, metrics named as in :mod:`perfsim.kernel.metrics`.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from perfsim.errors import InputError
from perfsim.kernel import metrics as mx
from perfsim.kernel.grading import LabelSet
from perfsim.kernel.year import CHANNEL_NAMES
from perfsim.model.indicators import VALUE, Measurements
from perfsim.model.params import apply_changes
from perfsim.model.scenario import Scenario
from perfsim.run.simulate import MonteCarloResult, scenario_settings, simulate
from perfsim.run.year import MONEY, YearResult, run_year

DEFAULT_METRICS = ("misgrading", "wrong_cuts", "savings")


def changed(scenario: Scenario, changes: Mapping[str, Any] | None, name: str = "variant"
            ) -> Scenario:
    """The scenario with a variant's changes applied; errors are placed in the variant."""
    changes = dict(changes or {})
    if "settings" in changes:
        raise InputError(where=f"variant {name}", field="settings",
                         problem="renamed: give simulation settings by their paths, e.g. "
                                 "simulation.self_evaluation.noise")
    try:
        return apply_changes(scenario, changes)
    except InputError as err:
        raise _within(err, name) from None


def _within(err: InputError, name: str) -> InputError:
    """The error placed inside variant ``name`` (its own place kept after it)."""
    where = f"variant {name}" + (f", {err.where}" if err.where else "")
    if err.has_value:
        return InputError(err.source, where, err.field, err.value, err.problem)
    return InputError(err.source, where, err.field, problem=err.problem)


def _metrics(scenario: Scenario, names: Sequence[str], monte_carlo: bool) -> list[str]:
    for n in names:
        mx.lookup(scenario.grading.labels, n, monte_carlo=monte_carlo)
    return list(names)


def _grid(grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    if not grid:
        raise InputError(field="grid", problem="give at least one parameter to vary")
    keys = list(grid)
    for k in keys:
        if isinstance(grid[k], str) or not isinstance(grid[k], Sequence):
            raise InputError(field=k, value=grid[k], problem="give a list of values")
    return [dict(zip(keys, values, strict=True))
            for values in itertools.product(*(list(grid[k]) for k in keys))]


def vary(scenario: Scenario, grid: Mapping[str, Sequence[Any]], *,
         metrics: Sequence[str] | None = None, replications: int | None = None,
         years: int | None = None, year: int = 1) -> pd.DataFrame:
    """The scenario over every combination of the values in ``grid`` (path → values): one
    row per variant, the grid's paths first, then the metrics. Deterministic (one year of
    the portfolio, every deterministic metric by default) unless ``replications`` is given or
    a ``simulation.`` path is varied: then the Monte Carlo mean of each metric in ``year``
    (default metrics: savings, misgrading, wrong cuts), with every variant on the same random
    numbers."""
    combos = _grid(grid)
    mc = replications is not None or years is not None or any(
        k.startswith("simulation.") for k in grid)
    labels = scenario.grading.labels
    if metrics is None:
        metrics = DEFAULT_METRICS if mc else [
            n for n, m in mx.registry(labels).items() if not m.monte_carlo]
    names = _metrics(scenario, metrics, mc)
    rows = []
    for k, combo in enumerate(combos):
        sc = changed(scenario, combo, str(k + 1))
        if mc:
            s = scenario_settings(sc, replications=replications, years=years)
            reps = simulate(sc, s, progress=False).replications
            reps = reps.loc[reps["year"] == year]
            values = {n: float(np.nanmean(reps[n].to_numpy(dtype=float))) for n in names}
        else:
            values = {n: run_year(sc).metrics[n] for n in names}
        rows.append({**combo, **values})
    return pd.DataFrame(rows)


def one_year_and_monte_carlo(year: YearResult, mc: MonteCarloResult,
                             metrics: Sequence[str], labels: LabelSet) -> pd.DataFrame:
    """The same metrics side by side: the one-year run (``one_year``) and the Monte Carlo's
    year 1 (``mean``, ``p05``, ``p95`` over replications), with each metric's unit and
    meaning from the registry."""
    reps = mc.replications.loc[mc.replications["year"] == 1]
    rows = []
    for name in metrics:
        m = mx.lookup(labels, name, monte_carlo=False)
        mean, lo, hi = mx.interval(reps[name].to_numpy(dtype=float))
        rows.append({"metric": name, "unit": m.unit, "meaning": m.meaning,
                     "one_year": year.metrics[name], "mean": mean, "p05": lo, "p95": hi})
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class YearVariants:
    """One year under several variants: ``by_grade`` (variant × grade: projects, share of
    projects, yuan budget, kept, cut, cancelled, rewarded, next budget), ``totals`` (one row per
    variant, plus ``savings`` = budget − next budget and ``precondition_failures``) and the
    full :class:`~perfsim.run.year.YearResult` of each variant."""

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
        if any(str(k).startswith("simulation.") for k in (variant or {})):
            raise InputError(where=f"variant {name}", field="simulation",
                             problem="one year has no simulation settings; use mc_variants")
        result = run_year(changed(scenario, variant, str(name)))
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


def mc_variants(scenario: Scenario, variants: Mapping[str, Mapping[str, Any] | None], *,
                metrics: Sequence[str] = DEFAULT_METRICS, replications: int | None = None,
                years: int | None = None, engine: str = "auto", workers: int | None = None
                ) -> pd.DataFrame:
    """Monte Carlo of the evaluation process under each variant, starting from the
    scenario's own simulation settings (``replications`` and ``years`` override them; same
    seed, so the variants share their random draws). One row per variant × year × metric:
    ``mean``, ``p05``, ``p95`` over replications, NaN ignored."""
    if not variants:
        raise InputError(field="variants", problem="give at least one variant")
    names = _metrics(scenario, metrics, True)
    rows = []
    for name, variant in variants.items():
        sc = changed(scenario, variant, str(name))
        s = scenario_settings(sc, replications=replications, years=years)
        reps = simulate(sc, s, engine=engine, workers=workers, progress=False).replications
        for metric in names:
            for y, values in reps.groupby("year", sort=True)[metric]:
                mean, lo, hi = mx.interval(values.to_numpy(dtype=float))
                rows.append({"variant": str(name), "year": int(y), "metric": metric,
                             "mean": mean, "p05": lo, "p95": hi})
    return pd.DataFrame(rows)


def settings_grid(scenario: Scenario, grid: Mapping[str, Sequence[Any]], *,
                  policies: Mapping[str, Mapping[str, Any]] | None = None,
                  metrics: Sequence[str] = DEFAULT_METRICS, replications: int | None = None,
                  years: int | None = None, engine: str = "auto",
                  workers: int | None = None) -> pd.DataFrame:
    """:func:`mc_variants` over every combination of the values in ``grid`` (path →
    values); the grid's paths lead the table as columns, in the grid's order. With
    ``policies`` (name → changes applied with the grid values), the grid is run under each
    policy and a leading ``policy`` column names it."""
    combos = _grid(grid)
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
            variants[key] = {**dict(changes or {}), **combo}
            lead_rows.append({**({"policy": str(pname)} if policies else {}), **combo})
    table = mc_variants(scenario, variants, metrics=metrics, replications=replications,
                        years=years, engine=engine, workers=workers)
    columns = (["policy"] if policies else []) + list(grid)
    lead = pd.DataFrame([lead_rows[int(v)] for v in table["variant"]], columns=columns)
    return pd.concat([lead, table.drop(columns="variant")], axis=1)


def line_counts(scores: np.ndarray, cutoffs: Sequence[float], width: float = 2.0
                ) -> pd.DataFrame:
    """Projects just below and just at-or-above each cutoff: ``below`` counts scores in
    [cutoff − width, cutoff), ``above`` in [cutoff, cutoff + width) (points). ``ratio`` =
    above / below: well above 1 means scores pile up just over the line (manipulation or
    lenient rounding); about 1 means a smooth distribution. A first look; the bunching
    estimator (:func:`perfsim.analyse.bunching.bunching`) measures the excess mass against a
    fitted density, with intervals."""
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


def policy_table(tables: Mapping[str, pd.DataFrame], name: str = "policy") -> pd.DataFrame:
    """Tables of the same columns, one per policy, stacked with a leading ``name`` column
    holding each table's key, in the order given."""
    if not tables:
        raise InputError(field="tables", problem="give at least one table")
    return pd.concat([t.assign(**{name: key})[[name, *t.columns]] for key, t in tables.items()],
                     ignore_index=True)


def department_losses(result: YearResult, top: int | None = 15) -> pd.DataFrame:
    """Who loses money: one row per department with its projects, budget, every money
    channel (:data:`perfsim.kernel.year.CHANNELS`), ``lost`` (all but kept: cut, cancelled,
    postponed and recovered — budget − kept), ``rewarded``, next budget and ``share_lost``
    (lost / budget), largest loss first (ties: department name); the ``top`` departments,
    or all with ``top=None``."""
    led = result.ledger
    g = led.groupby("department", sort=True)[["projects", *MONEY]].sum()
    g["lost"] = g[[c for c in CHANNEL_NAMES if c != "kept"]].sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        g["share_lost"] = np.where(g["budget"] > 0, g["lost"] / g["budget"], 0.0)
    out = g.reset_index().sort_values(["lost", "department"], ascending=[False, True],
                                      kind="stable").reset_index(drop=True)
    return out if top is None else out.head(int(top))


def audit_premium(scenario: Scenario, recheck: Sequence[float], *, check: str,
                  replaces: str | None = None, project: str | None = None) -> pd.DataFrame:
    """The points a unit earns by not being checked (the Fujian case: "省财政未对我厅进行抽查或
    再评价，该项得2分"). One project of the scenario's portfolio (``project``, default the first)
    is scored as it stands — its ``check`` item unchecked — and as if checked at each score in
    ``recheck``: the ``check`` item then holds the re-check score and, with ``replaces``, the
    re-check score also replaces the self-evaluation score in that item. Both are scored by
    the indicator system (rounding as published). One row per re-check score: ``recheck``,
    ``checked`` and ``unchecked`` (total points) and ``premium`` = unchecked − checked, the
    extra points earned by not being audited."""
    system, pf = scenario.system, scenario.portfolio
    if system is None or pf.has_scores:
        raise InputError(scenario.source, field="portfolio",
                         problem="the audit premium needs indicator measurements")
    for code in (check, replaces):
        if code is not None:
            system.indicator(code)  # an unknown code is an InputError naming it
    ids = list(pf.ids)
    if project is not None and project not in ids:
        raise InputError(pf.source, field="project", value=project, problem="no such project")
    k = 0 if project is None else ids.index(project)
    r = np.asarray(recheck, dtype=float)
    meas = pf.measurements()
    one = {c: v[k:k + 1] for c, v in meas.items()}
    status = {c: v[k:k + 1] for c, v in meas.status.items()}
    unchecked = float(system.score(Measurements(one, status, pf.departments[k:k + 1]))[0])
    rows = {c: np.repeat(v, r.size) for c, v in one.items()}
    st = {c: np.repeat(v, r.size) for c, v in status.items()}
    for code in (check, replaces):
        if code is not None:
            rows[code] = r
            st[code] = np.full(r.size, VALUE, dtype=np.int8)
    checked = np.asarray(system.score(Measurements(rows, st, np.repeat(pf.departments[k],
                                                                        r.size))), dtype=float)
    return pd.DataFrame({"recheck": r, "checked": checked, "unchecked": unchecked,
                         "premium": unchecked - checked})
