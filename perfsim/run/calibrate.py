"""Calibration: inverse problems solved with :mod:`scipy.optimize`.

Given a scenario, find the value of one design parameter that yields a target outcome:

- **a linkage ratio for a savings target** — "which 中 cut ratio saves exactly 128 million?"
  One scalar parameter, one target metric: :func:`solve_scalar` brackets a root of
  ``metric(x) − target`` on the parameter's bounds and refines it with
  :func:`scipy.optimize.brentq`. When the ends of the bounds do not bracket the target, a grid
  of interior points is searched for a sign change (functions need not be monotone); when
  there is none the target is **infeasible**, and the result — not an exception — reports the
  closest attainable value, where it is reached and, when that is an end of the bounds, the
  bound that binds (refined with :func:`scipy.optimize.minimize_scalar` if the closest point
  is interior). A metric that moves in steps (grades of a finite portfolio) may jump across
  the target: the closer side of the jump is returned and the message says so.
- **grade cutoffs for a target grade distribution** ("at most 20% 优, at most 5% 差"). Each
  cutoff is solved as a *quantile problem*: the lower bound of a grade is placed between two
  adjacent distinct scores so that the grade holds as many projects as the target allows and
  never more (a finite portfolio with ties rarely allows an exact share). The shares of the
  grades above a cutoff (or all grades below it) fix that cutoff; boundaries fixed from the top
  are solved top down, those fixed from the bottom bottom up, each counting the projects the
  already-solved neighbour admits, so every grade holds at most its target. Cutoffs that no
  target fixes keep their values; the cutoffs stay strictly descending (a solved cutoff that
  would cross a fixed neighbour stops 0.01 points short of it, and the order is reported as
  the binding constraint). In Monte Carlo mode the grade's *expected* share over the
  replications (quotas aside) is set equal to the target with :func:`solve_scalar` instead.
- **indicator weights that reproduce observed scores or grades** — the points of each level-1
  group (or of each leaf, ``weights.leaves``) within bounds, adding up to the system's total:
  :func:`scipy.optimize.minimize` (SLSQP) minimises the squared score error, or for observed
  grades the squared distance of each score outside its grade's band (narrowed by a margin of
  0.01 points per 100, so that a solution on the edge still grades right) plus a small pull
  towards the file's points, which picks one solution when many reproduce the grades.
  Level-1 group points are shared among the group's leaves in the file's proportions.

**Modes.** Deterministic metrics come from :func:`perfsim.engine.run_year` on the scenario's
portfolio. Monte Carlo metrics are the means over replications of
:func:`perfsim.simulate.simulate` (year 1 unless ``year`` is given); every evaluation reuses
the scenario seed — common random numbers — so the mean is a deterministic, step-free (for
linkage parameters) function of the parameter, and the target is met *in expectation*; the
5–95% band of the outcome over the replications at the solution is reported. A metric that
only the Monte Carlo has (misgrading, wrong cuts, ...), a ``simulation.*`` parameter, or
``replications`` given selects Monte Carlo mode.

**Registries.** :func:`perfsim.model.params.parameters` lists the solvable parameter paths of
a scenario and :mod:`perfsim.kernel.metrics` the target metrics; an unknown path or metric,
or bounds in the wrong order or outside the parameter's valid range, raise
:class:`~perfsim.errors.InputError` with a one-line message that lists what is valid.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

from perfsim.errors import InputError
from perfsim.model.params import (
    check_bounds,
    parameter,
)
from perfsim.model.scenario import Scenario
from perfsim.model.settings import Settings
from perfsim.run.cutoffs import between_neighbours, calibrate_cutoffs
from perfsim.run.fit_weights import fit_weights
from perfsim.run.simulate import scenario_settings
from perfsim.run.solve import (
    WEIGHT_TARGETS,
    Calibration,
    Context,
    deterministic_metrics,
    evaluate_at,
    fmt_value,
    metric,
    monte_carlo_metrics,
    solve_scalar,
)

__all__ = ["Calibration", "calibrate", "deterministic_metrics", "evaluate_at", "fit_weights",
           "format_calibration", "metric", "monte_carlo_metrics", "parse_targets",
           "solve_scalar"]


#: The largest magnitude of a target: no metric (yuan, points, a share, a count) comes near it,
#: and the solver's differences overflow beyond it; a larger target is a typing error.
TARGET_LIMIT = 1e15


# --- calibrate() ------------------------------------------------------------------------------

def parse_targets(items: Sequence[str]) -> dict[str, Any]:
    """``["cut_total=128000000", ...]`` → ``{"cut_total": 128000000.0}`` (values of the
    weight targets ``observed_scores`` / ``observed_grades`` stay file paths)."""
    out: dict[str, Any] = {}
    for item in items:
        name, sep, value = str(item).partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not name or not value:
            raise InputError(field="--target", value=item, problem="must be METRIC=VALUE, "
                             "e.g. cut_total=128000000")
        if name in out:
            raise InputError(field="--target", value=item, problem=f"{name} given twice")
        if name in WEIGHT_TARGETS:
            out[name] = value
            continue
        try:
            out[name] = float(value.replace(",", "").replace("_", ""))
        except ValueError:
            raise InputError(field="--target", value=item,
                             problem="the value must be a number") from None
        if not math.isfinite(out[name]):
            raise InputError(field="--target", value=item, problem="the value must be finite")
    return out


def calibrate(scenario: Scenario, parameter_path: str, targets: Mapping[str, Any], *,
              bounds: Sequence[float] | None = None, replications: int | None = None,
              settings: Settings | None = None, year: int = 1, xtol: float | None = None
              ) -> Calibration:
    """Find the value of ``parameter_path`` that meets ``targets`` (metric → value).

    - scalar parameters (``linkage.ratio``, ``grading.cutoffs.<grade>``, ``weights.<code>``,
      ``simulation.*``, ...) take one target, solved by :func:`solve_scalar` — except a
      ``share_<grade>`` target on a cutoff, which is a quantile problem;
    - ``grading.cutoffs`` takes ``share_<grade>`` targets (see the module notes);
    - ``weights`` / ``weights.leaves`` take ``observed_scores`` or ``observed_grades``
      (a CSV path, a pandas Series indexed by project id, or an array in portfolio order).

    ``bounds`` default to the parameter's valid range. Monte Carlo mode (see the module notes)
    uses ``settings`` (default: the scenario's ``simulation:`` block) with ``replications``.
    """
    if not targets:
        raise InputError(field="target", problem="give at least one METRIC=VALUE target")
    param = parameter(scenario, parameter_path)
    lo, hi = check_bounds(param, bounds, scenario=scenario)
    targets = dict(targets)
    if param.kind in ("weights", "leaf_weights"):
        bad = [t for t in targets if t not in WEIGHT_TARGETS]
        if bad or len(targets) != 1:
            raise InputError(field="metric", value=(bad or list(targets))[0] if bad else
                             list(targets),
                             problem=f"{param.path} is fitted to one of "
                                     f"{', '.join(WEIGHT_TARGETS)} (a CSV of project_id and "
                                     "score or grade)")
        name, obs = next(iter(targets.items()))
        return fit_weights(scenario, param, name, obs, (lo, hi))
    specs = {}
    for name in targets:
        if name in WEIGHT_TARGETS:
            raise InputError(field="metric", value=name,
                             problem="observed scores or grades calibrate weights only "
                                     "(--solve weights or weights.leaves)")
        specs[name] = metric(scenario, name)
        if not isinstance(targets[name], int | float) or isinstance(targets[name], bool):
            raise InputError(field=f"target {name}", value=targets[name],
                             problem="must be a number")
        if not math.isfinite(targets[name]) or abs(targets[name]) > TARGET_LIMIT:
            raise InputError(field="target", value=f"{name}={targets[name]:g}",
                             problem=f"out of any reach: a target must lie within "
                                     f"±{TARGET_LIMIT:g} (yuan, points, shares or counts)")
    mc = (replications is not None or settings is not None or param.kind == "simulation"
          or any(m.monte_carlo for m in specs.values()))
    if mc:
        if settings is None:
            settings = scenario_settings(scenario, replications=replications)
        if replications is not None:
            settings = dataclasses.replace(settings, replications=int(replications))
        if not 1 <= year <= settings.years:
            raise InputError(field="year", value=year,
                             problem=f"must lie in [1, {settings.years}] (simulated years)")
    if mc:
        scenario = scenario.replace(settings=settings)
    ctx = Context(scenario, param, mc, year)
    if param.kind == "cutoffs" or (param.kind == "cutoff" and all(
            n.startswith("share_") for n in targets)):
        return calibrate_cutoffs(ctx, targets, (lo, hi), xtol)
    if len(targets) != 1:
        raise InputError(field="target", value=list(targets),
                         problem=f"{param.path} is one number: give one target")
    name, target = next(iter(targets.items()))
    return _calibrate_scalar(ctx, name, float(target), (lo, hi), xtol)


def _calibrate_scalar(ctx: Context, name: str, target: float, bounds: tuple[float, float],
                      xtol: float | None) -> Calibration:
    param = ctx.param
    lo, hi = bounds
    if param.kind == "cutoff":  # keep the cutoffs strictly descending
        lo, hi = between_neighbours(ctx.scenario.grading.cutoffs, param.index, lo, hi)
    seen: dict[float, dict[str, tuple[float, float, float]]] = {}

    def fn(x: float) -> float:
        seen[x] = ctx.evaluate(x)
        return seen[x][name][0]

    sol = solve_scalar(fn, target, lo, hi, xtol=xtol)
    at = seen.get(sol.x) or ctx.evaluate(sol.x)
    binding = ()
    if sol.binding:
        b = lo if sol.binding == "lower" else hi
        binding = (f"{sol.binding} bound of {param.path} = {b:g}",)
    got = fmt_value(at[name][0])
    if sol.feasible and sol.exact:
        message = f"{name} = {got} at {param.path} = {sol.x:.6g}"
    elif sol.feasible:
        message = (f"{name} jumps across {fmt_value(target)} at {param.path} = {sol.x:.6g} (the "
                   f"metric moves in steps); the closest value is {got}")
    elif binding:
        message = (f"infeasible: {name} = {fmt_value(target)} is out of reach within [{lo:g}, "
                   f"{hi:g}]; the closest attainable is {got} at {param.path} = {sol.x:.6g} "
                   f"(the {binding[0]} binds)")
    else:
        message = (f"infeasible: no value of {param.path} in [{lo:g}, {hi:g}] gives {name} = "
                   f"{fmt_value(target)}; the closest attainable is {got} at {sol.x:.6g} (an "
                   "interior point: the metric is not monotone)")
    return Calibration(
        parameter=param.path, value=float(sol.x), targets={name: target},
        achieved={name: at[name][0]}, feasible=sol.feasible, bounds=(lo, hi), mode=ctx.mode,
        method=sol.method, evaluations=ctx.evaluations, binding=binding,
        band={name: (at[name][1], at[name][2])} if ctx.mc else {}, message=message,
        details={"all_metrics": {k: v[0] for k, v in at.items()}})


def format_calibration(c: Calibration) -> str:
    """A readable report of a calibration."""
    lines = [f"calibrate {c.parameter}: {c.mode}, {c.method}, {c.evaluations} evaluations, "
             f"bounds [{c.bounds[0]:g}, {c.bounds[1]:g}]"]
    if isinstance(c.value, tuple):
        items = c.details.get("cutoffs") or c.details.get("weights") or {}
        lines.append("solution:")
        lines += [f"  {c.parameter}.{k} = {v:.6g}" if c.parameter != "weights.leaves" else
                  f"  {k} = {v:.6g}" for k, v in items.items()]
    else:
        lines.append(f"solution: {c.parameter} = {c.value:.6g}")
    t = c.table()
    if c.band:
        t["5-95% band"] = [f"[{fmt_value(a)}, {fmt_value(b)}]" for a, b in zip(t["p05"], t["p95"],
                                                                    strict=True)]
    t = t.drop(columns=["p05", "p95"])
    for col in ("target", "achieved", "gap"):
        t[col] = [fmt_value(v) for v in t[col]]
    lines += ["  " + ln for ln in t.to_string(index=False).splitlines()]
    lines.append(("ok: " if c.feasible else "") + c.message)
    return "\n".join(lines)
