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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize

from perfsim.errors import InputError
from perfsim.kernel import metrics
from perfsim.kernel.grading import Grading
from perfsim.kernel.metrics import Metric
from perfsim.model.params import (
    Parameter,
    apply_parameter,
    check_bounds,
    group_shares,
    parameter,
)
from perfsim.model.scenario import Scenario
from perfsim.model.settings import Settings
from perfsim.run.simulate import scenario_settings, simulate
from perfsim.run.year import run_year

#: Targets of weight calibration: a CSV (project_id plus score or grade).
WEIGHT_TARGETS = ("observed_scores", "observed_grades")


def metric(scenario: Scenario, name: str, where: str | None = None) -> Metric:
    """A target metric from the registry (:mod:`perfsim.kernel.metrics`); unknown names list
    the valid ones, old names are refused with the new one."""
    if name in WEIGHT_TARGETS:
        return Metric(name, "", "observed data for weights", lambda o: o.score[:, 0])
    try:
        return metrics.lookup(scenario.grading.labels, name)
    except InputError as err:
        raise err.at(where=where) from None


# --- evaluating a scenario at a parameter value ----------------------------------------------

def deterministic_metrics(scenario: Scenario) -> dict[str, float]:
    """Every deterministic metric of one :func:`~perfsim.run.year.run_year`."""
    return run_year(scenario).metrics


def evaluate_at(scenario: Scenario, param: Parameter | str, value: Any, *,
                monte_carlo: bool = False, year: int = 1
                ) -> dict[str, tuple[float, float, float]]:
    """Every metric with ``param`` set to ``value`` — what the solvers evaluate: (mean, p05,
    p95) over the Monte Carlo's replications in ``year`` (the scenario's simulation
    settings), or the one-year value three times."""
    if isinstance(param, str):
        param = parameter(scenario, param)
    sc = apply_parameter(scenario, param, value)
    if monte_carlo:
        return monte_carlo_metrics(sc, year)
    return {k: (v, v, v) for k, v in deterministic_metrics(sc).items()}


def monte_carlo_metrics(scenario: Scenario, year: int = 1
                        ) -> dict[str, tuple[float, float, float]]:
    """Mean, 5% and 95% over the replications of every metric in ``year`` (the scenario's
    simulation settings)."""
    reps = simulate(scenario, progress=False).replications
    reps = reps.loc[reps["year"] == year]
    return {name: metrics.interval(reps[name].to_numpy(dtype=float))
            for name in metrics.registry(scenario.grading.labels)}


# --- results ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Calibration:
    """The answer to an inverse problem.

    ``value`` is the solution (a number, or a tuple for vector parameters, with the per-grade or
    per-group values in ``details``); ``achieved`` the metric values there (Monte Carlo: the
    means over replications) and ``band`` their 5–95% ranges over replications (Monte Carlo
    only). ``feasible`` is False when the target is out of reach within the bounds; then
    ``value`` is where the closest attainable value is reached and ``binding`` names the bound
    (or order constraint) that stops the solution.
    """

    parameter: str
    value: float | tuple[float, ...]
    targets: dict[str, Any]
    achieved: dict[str, float]
    feasible: bool
    bounds: tuple[float, float]
    mode: str
    method: str
    evaluations: int
    binding: tuple[str, ...] = ()
    band: dict[str, tuple[float, float]] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    message: str = ""

    def as_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["band"] = {k: list(v) for k, v in self.band.items()}
        d["value"] = list(self.value) if isinstance(self.value, tuple) else self.value
        d["bounds"] = list(self.bounds)
        d["binding"] = list(self.binding)
        return d

    def table(self) -> pd.DataFrame:
        """One row per target: metric, target, achieved, gap, p05, p95."""
        rows = []
        for name, target in self.targets.items():
            got = self.achieved.get(name, math.nan)
            band = self.band.get(name, (math.nan, math.nan))
            num = isinstance(target, int | float)
            rows.append({"metric": name, "target": target, "achieved": got,
                         "gap": got - target if num else math.nan,
                         "p05": band[0], "p95": band[1]})
        return pd.DataFrame(rows)


# --- the scalar solver -----------------------------------------------------------------------

@dataclass(frozen=True)
class ScalarSolution:
    x: float
    value: float
    feasible: bool
    binding: str | None  # "lower" | "upper" | None
    evaluations: int
    method: str
    exact: bool = False  # the value meets the target (not just the closer side of a jump)


def solve_scalar(fn: Callable[[float], float], target: float, lo: float, hi: float, *,
                 grid: int = 9, xtol: float | None = None) -> ScalarSolution:
    """Solve ``fn(x) = target`` for x in [lo, hi].

    The ends are evaluated first; if they bracket the target, :func:`scipy.optimize.brentq`
    refines the root. Otherwise — or when that root turns out to be a jump of a discontinuous
    function rather than a solution — ``grid`` interior points are searched for sign changes,
    each bracket is refined, and the best solution is kept. A function that jumps across the
    target (a finite portfolio moves in steps) gives the closer side of the jump, reported with
    ``exact = False``. With no sign change anywhere the target is infeasible: the result holds
    the closest attainable value and where it is reached; ``binding`` says which bound binds
    when that is an end (an interior closest point, possible for non-monotone functions, is
    refined with :func:`scipy.optimize.minimize_scalar` on the neighbouring grid cells).
    """
    cache: dict[float, float] = {}

    def f(x: float) -> float:
        x = float(x)
        if x not in cache:
            cache[x] = float(fn(x))
        return cache[x]

    tol = xtol if xtol is not None else max(1e-12, 1e-9 * (hi - lo))
    # a value this close to the target meets it (rounding: 0.2 × 4e6 may be 799,999.9999999)
    ftol = 1e-9 * max(1.0, abs(target))

    def root(a: float, b: float) -> float:
        if abs(f(a) - target) <= ftol:
            return a
        if abs(f(b) - target) <= ftol:
            return b
        x = optimize.brentq(lambda t: f(t) - target, a, b, xtol=tol,
                            rtol=4 * np.finfo(float).eps, maxiter=200)
        # at a jump across the target take the side that comes closer
        for y in (max(a, x - 2 * tol), min(b, x + 2 * tol)):
            if abs(f(y) - target) < abs(f(x) - target):
                x = y
        return x

    def solution(x: float, method: str) -> ScalarSolution:
        return ScalarSolution(x, f(x), True, None, len(cache), method,
                              abs(f(x) - target) <= max(ftol, 1e-6 * abs(target)))

    def bracket(d1: float, d2: float) -> bool:
        return d1 * d2 <= 0 or min(abs(d1), abs(d2)) <= ftol

    if bracket(f(lo) - target, f(hi) - target):
        sol = solution(root(lo, hi), "brentq")
        if sol.exact:
            return sol
    xs = np.linspace(lo, hi, grid + 2)
    ds = np.array([f(x) - target for x in xs])
    found = [solution(root(float(xs[i]), float(xs[i + 1])), "brentq")
             for i in range(len(xs) - 1) if bracket(ds[i], ds[i + 1])]
    if found:
        best_sol = min(found, key=lambda s: abs(s.value - target))
        return dataclasses.replace(best_sol, evaluations=len(cache))
    best = int(np.argmin(np.abs(ds)))
    if best in (0, len(xs) - 1):
        x = float(xs[best])
        return ScalarSolution(x, f(x), False, "lower" if best == 0 else "upper", len(cache),
                              "grid")
    res = optimize.minimize_scalar(lambda t: abs(f(t) - target),
                                   bounds=(float(xs[best - 1]), float(xs[best + 1])),
                                   method="bounded", options={"xatol": tol})
    x = float(res.x) if abs(f(res.x) - target) < abs(ds[best]) else float(xs[best])
    return ScalarSolution(x, f(x), False, None, len(cache), "minimize_scalar")


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
    lo, hi = check_bounds(param, bounds)
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
    ctx = _Context(scenario, param, mc, year)
    if param.kind == "cutoffs" or (param.kind == "cutoff" and all(
            n.startswith("share_") for n in targets)):
        return _calibrate_cutoffs(ctx, targets, (lo, hi), xtol)
    if len(targets) != 1:
        raise InputError(field="target", value=list(targets),
                         problem=f"{param.path} is one number: give one target")
    name, target = next(iter(targets.items()))
    return _calibrate_scalar(ctx, name, float(target), (lo, hi), xtol)


@dataclass
class _Context:
    scenario: Scenario
    param: Parameter
    mc: bool
    year: int
    evaluations: int = 0

    def evaluate(self, value: Any, scenario: Scenario | None = None
                 ) -> dict[str, tuple[float, float, float]]:
        """Metrics at a parameter value: (mean, p05, p95); deterministic values repeat."""
        self.evaluations += 1
        return evaluate_at(scenario or self.scenario, self.param, value,
                           monte_carlo=self.mc, year=self.year)

    @property
    def mode(self) -> str:
        return (f"monte_carlo ({self.scenario.settings.replications} replications, year "
                f"{self.year})"
                if self.mc else "deterministic")


def _calibrate_scalar(ctx: _Context, name: str, target: float, bounds: tuple[float, float],
                      xtol: float | None) -> Calibration:
    param = ctx.param
    lo, hi = bounds
    if param.kind == "cutoff":  # keep the cutoffs strictly descending
        lo, hi = _between_neighbours(ctx.scenario.grading.cutoffs, param.index, lo, hi)
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
    got = _fmt(at[name][0])
    if sol.feasible and sol.exact:
        message = f"{name} = {got} at {param.path} = {sol.x:.6g}"
    elif sol.feasible:
        message = (f"{name} jumps across {_fmt(target)} at {param.path} = {sol.x:.6g} (the "
                   f"metric moves in steps); the closest value is {got}")
    elif binding:
        message = (f"infeasible: {name} = {_fmt(target)} is out of reach within [{lo:g}, "
                   f"{hi:g}]; the closest attainable is {got} at {param.path} = {sol.x:.6g} "
                   f"(the {binding[0]} binds)")
    else:
        message = (f"infeasible: no value of {param.path} in [{lo:g}, {hi:g}] gives {name} = "
                   f"{_fmt(target)}; the closest attainable is {got} at {sol.x:.6g} (an "
                   "interior point: the metric is not monotone)")
    return Calibration(
        parameter=param.path, value=float(sol.x), targets={name: target},
        achieved={name: at[name][0]}, feasible=sol.feasible, bounds=(lo, hi), mode=ctx.mode,
        method=sol.method, evaluations=ctx.evaluations, binding=binding,
        band={name: (at[name][1], at[name][2])} if ctx.mc else {}, message=message,
        details={"all_metrics": {k: v[0] for k, v in at.items()}})


def _between_neighbours(cutoffs: Sequence[float], k: int, lo: float, hi: float,
                        gap: float = 0.01) -> tuple[float, float]:
    if k > 0:
        hi = min(hi, cutoffs[k - 1] - gap)
    if k < len(cutoffs) - 1:
        lo = max(lo, cutoffs[k + 1] + gap)
    if lo > hi:
        raise InputError(field="bounds", value=[lo, hi],
                         problem="leave no room between the neighbouring cutoffs")
    return lo, hi


# --- cutoffs for a grade distribution ---------------------------------------------------------

def _cutoff_plan(labels: Sequence[str], shares: Mapping[str, float], free: Sequence[int],
                 scalar: bool) -> list[tuple[int, str, float]]:
    """Which cutoffs the shares fix, in solving order: (boundary k, side, share). Boundary k is
    the lowest score of grade k. ``above``: the share of grade k (just above the boundary) is
    the target, with cutoff k−1 already known; ``below``: the share of grade k+1 is the target,
    with cutoff k+1 known. Boundaries fixed from the top are solved top down, then those fixed
    from the bottom bottom up."""
    G = len(labels)
    t = {labels.index(code): v for code, v in shares.items()}
    above: list[tuple[int, str, float]] = []
    below: list[tuple[int, str, float]] = []
    for k in free:
        if scalar:  # one cutoff, its neighbours fixed: the grade just above or just below
            if k in t:
                above.append((k, "above", t[k]))
            elif k + 1 in t:
                below.append((k, "below", t[k + 1]))
        elif all(j in t for j in range(k + 1)):
            above.append((k, "above", t[k]))
        elif all(j in t for j in range(k + 1, G)):
            below.append((k, "below", t[k + 1]))
    return sorted(above) + sorted(below, reverse=True)


def _calibrate_cutoffs(ctx: _Context, targets: Mapping[str, float],
                       bounds: tuple[float, float], xtol: float | None) -> Calibration:
    sc = ctx.scenario
    labels = sc.grading.labels.codes
    base = list(sc.grading.cutoffs)
    K = len(base)
    param = ctx.param
    shares: dict[str, float] = {}
    for name, v in targets.items():
        if not name.startswith("share_"):
            raise InputError(field="metric", value=name,
                             problem="grade cutoffs take share targets (valid: "
                                     f"{', '.join('share_' + c for c in labels)})")
        if not 0 <= v <= 1:
            raise InputError(field=f"target {name}", value=v, problem="must be a share in [0, 1]")
        shares[name[len("share_"):]] = float(v)
    if len(shares) == len(labels) and abs(sum(shares.values()) - 1) > 1e-6:
        raise InputError(field="target", value=shares,
                         problem="shares of every grade must add up to 1")
    scalar = param.kind == "cutoff"
    if scalar and len(shares) != 1:
        raise InputError(field="target", value=list(targets),
                         problem=f"{param.path} is one number: give one target")
    plan = _cutoff_plan(labels, shares, [param.index] if scalar else list(range(K)), scalar)
    if not plan:
        if scalar:
            k = param.index
            raise InputError(field="metric", value=next(iter(targets)),
                             problem=f"{param.path} moves only share_{labels[k]} and "
                                     f"share_{labels[k + 1]}: give one of them")
        raise InputError(field="target", value=list(targets),
                         problem="these shares fix no cutoff: give the shares of all grades "
                                 "above a cutoff (e.g. share_excellent) or of all below it "
                                 "(e.g. share_poor)")
    lo, hi = bounds
    cut = list(base)
    binding: list[str] = []
    score = None if ctx.mc else np.sort(np.asarray(sc.scores(), dtype=float))
    for k, side, share in plan:
        a, b = lo, hi
        if k > 0:
            b = min(b, cut[k - 1] - 0.01)
        if k < K - 1:
            a = max(a, cut[k + 1] + 0.01)
        if ctx.mc:
            c, hit = _mc_boundary(ctx, cut, k, side, share, a, b, xtol)
        else:
            c, hit = _quantile_boundary(score, cut, k, side, share, a, b)
        cut[k] = c
        if hit is not None:
            end = a if hit == "lower" else b
            what = (f"{hit} bound {end:g}" if end in (lo, hi) else
                    f"order: it must stay {'above' if hit == 'lower' else 'below'} "
                    f"grading.cutoffs.{labels[k + 1] if hit == 'lower' else labels[k - 1]}")
            binding.append(f"grading.cutoffs.{labels[k]} = {c:g} ({what})")
    if any(x <= y for x, y in zip(cut, cut[1:], strict=False)):
        raise InputError(field="target", value=dict(targets),
                         problem="the solved cutoffs are not strictly descending; give shares "
                                 "that leave every grade room")
    ctx.param = Parameter("grading.cutoffs", "cutoffs", param.valid, "points", "", size=K)
    try:
        at = ctx.evaluate(tuple(cut))
    finally:
        ctx.param = param
    achieved = {f"share_{c}": at[f"share_{c}"][0] for c in labels}
    value: float | tuple[float, ...] = (float(cut[param.index]) if scalar else
                                        tuple(float(c) for c in cut))
    shown = ", ".join(f"{c} ≥ {v:.6g}" for c, v in zip(labels, cut, strict=False))
    got = ", ".join(f"{c} {achieved[f'share_{c}']:.2%}" for c in labels)
    message = (f"cutoffs {shown}; shares {got}" if not binding else
               f"target not attainable: cutoffs {shown}; shares {got}; binding: "
               f"{'; '.join(binding)}")
    return Calibration(
        parameter=param.path, value=value, targets=dict(targets), achieved=achieved,
        feasible=not binding, bounds=(lo, hi), mode=ctx.mode,
        method="brentq" if ctx.mc else "quantile", evaluations=ctx.evaluations,
        binding=tuple(binding),
        band={f"share_{c}": (at[f"share_{c}"][1], at[f"share_{c}"][2]) for c in labels}
        if ctx.mc else {}, message=message,
        details={"cutoffs": {c: float(v) for c, v in zip(labels, cut, strict=False)}})


def _quantile_boundary(s: np.ndarray, cut: Sequence[float], k: int, side: str, share: float,
                       a: float, b: float) -> tuple[float, str | None]:
    """Cutoff k as a quantile of the sorted scores ``s``: the grade next to it holds at most
    ``floor(share × n)`` projects, as many as that allows. Candidates are the midpoints between
    adjacent distinct scores; every cutoff in (the lower score, the higher score] admits the
    same projects, so a midpoint outside [a, b] moves to the bound when the bound still lies in
    its interval, and only otherwise is the bound binding (returned as the binding side)."""
    n = s.size
    u = np.unique(s)
    cand = np.concatenate([[-np.inf], (u[:-1] + u[1:]) / 2, [np.inf]])
    lower = np.concatenate([[-np.inf], u])   # cand[i] admits the same as any c in
    upper = np.concatenate([u, [np.inf]])    # (lower[i], upper[i]]
    below = np.searchsorted(s, cand, side="left")  # projects scoring < c
    own = math.floor(share * n + 1e-9)
    if side == "above":  # grade k = [c, cut[k-1]): at most `own` projects
        allowed = own + (n - int(np.searchsorted(s, cut[k - 1], side="left")) if k > 0 else 0)
        i = int(np.argmax(n - below <= allowed))  # the smallest such cutoff
    else:  # grade k+1 = [cut[k+1], c)
        allowed = own + (int(np.searchsorted(s, cut[k + 1], side="left"))
                         if k + 1 < len(cut) else 0)
        ok = below <= allowed
        i = len(ok) - 1 - int(np.argmax(ok[::-1]))  # the largest such cutoff
    c = float(cand[i])
    if c < a:
        return a, (None if a <= upper[i] else "lower")
    if c > b:
        return b, (None if b > lower[i] else "upper")
    return c, None


def _mc_boundary(ctx: _Context, cut: Sequence[float], k: int, side: str, share: float,
                 a: float, b: float, xtol: float | None) -> tuple[float, str | None]:
    """Monte Carlo: cutoff k such that the expected share of the grade next to it (over the
    replications, quotas ignored) equals the target; :func:`solve_scalar` on [a, b]."""
    sc = ctx.scenario
    labels = sc.grading.labels.codes
    plain = sc.replace(grading=Grading(sc.grading.labels, tuple(cut), {}))
    code = labels[k] if side == "above" else labels[k + 1]
    full = Parameter("grading.cutoffs", "cutoffs", ctx.param.valid, "points", "",
                     size=len(cut))

    def expected(c: float) -> float:
        # cutoffs on the far side are pushed aside to keep the order; they do not move the
        # share of this grade
        trial = [max(v, c + 0.01 * (k - j)) if j < k else min(v, c - 0.01 * (j - k))
                 for j, v in enumerate(cut)]
        trial[k] = c
        saved, ctx.param = ctx.param, full
        try:
            return ctx.evaluate(tuple(trial), plain)[f"share_{code}"][0]
        finally:
            ctx.param = saved

    sol = solve_scalar(expected, share, a, b, xtol=xtol if xtol is not None else 1e-6)
    return float(sol.x), (None if sol.feasible else (sol.binding or "upper"))


# --- weights ----------------------------------------------------------------------------------

def _observed(scenario: Scenario, obs: Any, column: str) -> np.ndarray:
    """Observed values in portfolio order from a CSV path, a Series by project id or an
    array."""
    ids = scenario.portfolio.ids.astype(str)
    if isinstance(obs, str | Path):
        path = Path(obs)
        if not path.exists():
            raise InputError(path, problem="file not found")
        df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        for col in ("project_id", column):
            if col not in df.columns:
                raise InputError(path, field=col, problem="required column missing "
                                 f"(need project_id and {column})")
        obs = pd.Series(df[column].to_numpy(), index=df["project_id"].str.strip(),
                        name=str(path))
    if isinstance(obs, pd.Series):
        src = str(obs.name or "<observed>")
        missing = [i for i in ids if i not in obs.index]
        if missing:
            raise InputError(src, field="project_id", value=missing[0],
                             problem=f"no observed {column} for this project "
                                     f"({len(missing)} missing)")
        return obs.reindex(ids).to_numpy()
    arr = np.asarray(obs)
    if arr.shape != ids.shape:
        raise InputError(field=f"observed {column}", value=arr.shape,
                         problem=f"need one value per project ({ids.size})")
    return arr


def fit_weights(scenario: Scenario, param: Parameter | str, target: str, observed: Any,
                bounds: tuple[float, float] | Mapping[str, Sequence[float]] | None = None
                ) -> Calibration:
    """Points per level-1 group (``weights``) or per leaf (``weights.leaves``), within bounds
    and adding up to the system total, that best reproduce ``observed`` scores (least
    squares) or grades (squared distance outside each grade's score band), by
    :func:`scipy.optimize.minimize` (SLSQP). ``bounds`` is one (low, high) pair for every
    weight, or a mapping code → (low, high)."""
    if isinstance(param, str):
        param = parameter(scenario, param)
    system = scenario.system
    if system.aggregation != "weighted_sum":
        raise InputError(system.path, field="aggregation", value=system.aggregation,
                         problem="weights can be fitted for weighted_sum aggregation only")
    meas = scenario.portfolio.measurements()
    A = np.asarray(system.attainment(meas), dtype=float)  # (P, I)
    bonus = np.asarray(system.bonus_points(meas), dtype=float) * np.ones(A.shape[0])
    base = system.points
    if param.kind == "leaf_weights":
        codes = list(system.codes)
        X = A
        w0 = base
    else:
        codes = list(system.level1_codes)
        groups = system.level1_index
        share = group_shares(base, groups, len(codes))
        X = np.zeros((A.shape[0], len(codes)))
        np.add.at(X.T, groups, (A * share).T)  # a group's attainment, as a share of its points
        w0 = np.bincount(groups, weights=base, minlength=len(codes))
    total = float(system.total)
    lower, upper = _weight_bounds(param, codes, bounds, total)
    if lower.sum() > total + 1e-9 or upper.sum() < total - 1e-9:
        raise InputError(field="bounds", value=[float(lower.sum()), float(upper.sum())],
                         problem=f"the weights' bounds cannot add up to the total {total:g} "
                                 "(sum of lows must be <= total <= sum of highs)")
    if target == "observed_scores":
        y = np.asarray(pd.to_numeric(pd.Series(_observed(scenario, observed, "score")),
                                     errors="coerce"), dtype=float) - bonus
        if not np.all(np.isfinite(y)):
            raise InputError(field="observed score", problem="must be numbers")
        n = len(y)

        def loss(w: np.ndarray) -> float:
            r = X @ w - y
            return float(r @ r) / n

        def grad(w: np.ndarray) -> np.ndarray:
            return 2.0 * X.T @ (X @ w - y) / n
    else:
        if scenario.grading.cutoffs is None:
            raise InputError(field="grading.cutoffs",
                             problem="fitting weights to grades needs grade cutoffs")
        labels = scenario.grading.labels
        raw = _observed(scenario, observed, "grade")
        try:
            g = np.array([labels.index(str(v).strip()) for v in raw])
        except InputError as err:
            raise err.at(where="observed grades") from None
        c = np.asarray(scenario.grading.cutoffs)
        low_b = np.concatenate([c, [-np.inf]])[g] - bonus   # score >= lower bound of grade
        up_b = np.concatenate([[np.inf], c])[g] - bonus     # score < upper bound
        margin = 1e-4 * total  # 0.01 points: the optimum may sit a hair inside the margin
        n = len(g)
        lam = 1e-6

        def loss(w: np.ndarray) -> float:
            s = X @ w
            below = np.clip(low_b + margin - s, 0, None)
            above = np.clip(s - (up_b - margin), 0, None)
            return float(below @ below + above @ above) / n + lam * float(
                (w - w0) @ (w - w0)) / total

        def grad(w: np.ndarray) -> np.ndarray:
            s = X @ w
            below = np.clip(low_b + margin - s, 0, None)
            above = np.clip(s - (up_b - margin), 0, None)
            return 2.0 * X.T @ (above - below) / n + 2 * lam * (w - w0) / total

    start = np.clip(w0 * total / w0.sum() if w0.sum() > 0 else np.full(len(codes), total /
                    len(codes)), lower, upper)
    res = optimize.minimize(loss, start, jac=grad, method="SLSQP",
                            bounds=list(zip(lower, upper, strict=True)),
                            constraints=[{"type": "eq", "fun": lambda w: w.sum() - total,
                                          "jac": lambda w: np.ones_like(w)}],
                            options={"maxiter": 500, "ftol": 1e-14})
    w = np.clip(res.x, lower, upper)
    w = w + (total - w.sum()) / len(w) if abs(w.sum() - total) > 1e-9 else w
    fitted = X @ w + bonus
    tol = 1e-6 * max(total, 1.0)
    binding = tuple(
        [f"lower bound of weights.{c} = {lo:g}" for c, v, lo in zip(codes, w, lower,
                                                                     strict=True)
         if v <= lo + tol and lo > 0] +
        [f"upper bound of weights.{c} = {hi:g}" for c, v, hi in zip(codes, w, upper,
                                                                     strict=True)
         if v >= hi - tol and hi < total])
    details: dict[str, Any] = {"weights": {c: float(v) for c, v in zip(codes, w, strict=True)},
                               "optimizer": {"success": bool(res.success),
                                             "message": str(res.message),
                                             "iterations": int(res.nit)}}
    if target == "observed_scores":
        rmse = float(np.sqrt(np.mean((fitted - (y + bonus)) ** 2)))
        achieved = {"observed_scores": rmse}
        details["rmse_points"] = rmse
        message = f"RMSE {rmse:.4g} points over {n} projects"
    else:
        got = scenario.grading.grade(fitted)
        rate = float(np.mean(got == g))
        achieved = {"observed_grades": rate}
        details["grades_reproduced"] = rate
        message = f"{rate:.2%} of {n} observed grades reproduced"
    shown = ", ".join(f"{c} {v:.4g}" for c, v in zip(codes, w, strict=True))
    return Calibration(
        parameter=param.path, value=tuple(float(v) for v in w), targets={target: str(
            observed) if isinstance(observed, str | Path) else "<data>"},
        achieved=achieved, feasible=bool(res.success), bounds=(float(lower.min()),
                                                               float(upper.max())),
        mode="deterministic", method="SLSQP", evaluations=int(res.nfev), binding=binding,
        details=details, message=f"{param.path}: {shown}; {message}")


def _weight_bounds(param: Parameter, codes: Sequence[str], bounds: Any, total: float
                   ) -> tuple[np.ndarray, np.ndarray]:
    lo = np.zeros(len(codes))
    hi = np.full(len(codes), total)
    if bounds is None:
        return lo, hi
    if isinstance(bounds, Mapping):
        for code, pair in bounds.items():
            if code not in codes:
                raise InputError(field="bounds", value=code,
                                 problem=f"unknown weight (valid: {', '.join(codes)})")
            sub = Parameter(f"weights.{code}", "weight", (0.0, total), "points", "")
            lo[codes.index(code)], hi[codes.index(code)] = check_bounds(sub, pair)
        return lo, hi
    a, b = check_bounds(param, bounds)
    return np.full(len(codes), a), np.full(len(codes), b)


# --- small helpers -----------------------------------------------------------------------------

def _fmt(v: Any) -> str:
    """Large amounts (yuan) with thousands separators, the rest with 6 significant digits."""
    if isinstance(v, str):
        return v
    if v != v:
        return ""
    return f"{v:,.0f}" if abs(v) >= 1e4 else f"{v:.6g}"


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
        t["5-95% band"] = [f"[{_fmt(a)}, {_fmt(b)}]" for a, b in zip(t["p05"], t["p95"],
                                                                    strict=True)]
    t = t.drop(columns=["p05", "p95"])
    for col in ("target", "achieved", "gap"):
        t[col] = [_fmt(v) for v in t[col]]
    lines += ["  " + ln for ln in t.to_string(index=False).splitlines()]
    lines.append(("ok: " if c.feasible else "") + c.message)
    return "\n".join(lines)
