"""What calibration solves with: the scenario's metrics at a parameter value (one year, or
the Monte Carlo's mean and band), the result of a calibration, and the scalar root finder.
Used by :mod:`perfsim.run.calibrate` (scalars), :mod:`perfsim.run.cutoffs` and
:mod:`perfsim.run.fit_weights`."""


from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize

from perfsim import numbers
from perfsim.errors import InputError
from perfsim.kernel import metrics
from perfsim.kernel.metrics import Metric
from perfsim.model.params import (
    Parameter,
    apply_parameter,
    parameter,
)
from perfsim.model.scenario import Scenario
from perfsim.run.simulate import simulate
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


@dataclass
class Context:
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


# --- small helpers -----------------------------------------------------------------------------

def fmt_value(v: Any) -> str:
    """Large amounts (yuan) with thousands separators, the rest with six decimals; never
    scientific notation (:mod:`perfsim.numbers`)."""
    if isinstance(v, str):
        return v
    if v != v:
        return ""
    return numbers.yuan(v, decimals=0) if abs(v) >= 1e4 else numbers.number(float(v), 6)


