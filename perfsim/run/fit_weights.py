"""Indicator weights that reproduce observed scores or grades (scipy.optimize SLSQP within
bounds, adding up to the system's total); see :mod:`perfsim.run.calibrate`."""


from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize

from perfsim.errors import InputError
from perfsim.model.observed import read_observed
from perfsim.model.params import (
    Parameter,
    check_bounds,
    group_shares,
    parameter,
)
from perfsim.model.scenario import Scenario
from perfsim.run.solve import Calibration

# --- weights ----------------------------------------------------------------------------------

def _observed(scenario: Scenario, obs: Any, column: str) -> np.ndarray:
    """Observed values in portfolio order (:func:`perfsim.model.observed.read_observed`)."""
    return read_observed(scenario.portfolio.ids, obs, column, scenario.total)


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
    if system.aggregation != "weighted_sum" or system.within is not None:
        raise InputError(system.path, field="aggregation", value=system.aggregation,
                         problem="weights can be fitted for weighted_sum aggregation (every "
                                 "group arithmetic) only")
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
            sub = Parameter(f"weights.{code}", "weight", (0.0, total), "points", "",
                            total=total)
            lo[codes.index(code)], hi[codes.index(code)] = check_bounds(sub, pair)
        return lo, hi
    a, b = check_bounds(param, bounds)
    return np.full(len(codes), a), np.full(len(codes), b)


