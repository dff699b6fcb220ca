"""Strategic units: how much each unit inflates its self-score when it weighs the money a
better grade brings against the chance of a spot check and its penalty.

A unit reporting its project's honest score ``s`` may add ``δ`` points (a value of a grid,
0 first). Unchecked, the project is graded on ``s + δ`` (plus any
``simulation.spot_check.unchecked_bonus``); checked (probability ``p``, the
re-check share drawn at random), the re-check finds the honest score ``s`` and the re-check
rules of the scenario's ``simulation.spot_check`` block give the graded score
(:func:`perfsim.kernel.evaluation.recheck_scores`: the re-check replaces the self-score, the
gap rule, the ``inflation_penalty`` when the self-score exceeds the re-check by more than
``gap``). The money follows the scenario's grading and linkage rule, through the one year
kernel on observed scores (:func:`perfsim.run.step.observed_year`, the one-year run's
evaluation cycle and its draws included), with each grid value as a row.

With ``a(δ)`` the money gained unchecked and ``b(δ)`` the money gained (a loss: b ≤ 0)
checked, both against honesty, the expected gain is ``(1 − p)·a(δ) + p·b(δ)``; the unit
chooses the δ that maximises it, the smallest δ on a tie. Gains equal within
:data:`GAIN_RTOL` of the money at stake plus :data:`GAIN_ATOL` yuan are ties (sums of
millions of yuan carry rounding errors of a fraction of a fen): a unit inflates only when
its expected gain beats the expected loss ``(1 − p)·a(δ) > p·|b(δ)|`` by more than
``GAIN_ATOL + GAIN_RTOL·((1 − p)·|a(δ)| + p·|b(δ)|)``, so at a gain of zero — the
break-even itself — it reports honestly. The gain is linear in p, so each unit's
**break-even check share** is closed-form: ``max over δ with a(δ) > 0 of a / (a − b)``
(1 when a check costs nothing: b = 0; 0 when inflating never pays; a(δ) > 0 beyond the same
tolerance). From it on the unit reports honestly. The portfolio's break-even is the
largest below 1: units at 1 — a 差 project has nothing left to lose, and without a penalty
nobody has — are counted apart, as only checking everyone deters them.

The choice itself is the kernel's (:func:`perfsim.kernel.strategy.respond`), the one the Monte
Carlo's responding units make each year (``simulation.self_evaluation.strategy:
best_response``, :func:`perfsim.run.step.claims_of`).

Each row moves every project by the same δ, so a unit's money is exact for rules whose
money depends on the project's own grade (cutoffs, multipliers, floors, caps, the treasury
pool); with quotas or redistribution it is the money when everyone moves alike. Re-check
noise is left out (the re-check finds the honest score on average).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from perfsim.errors import InputError
from perfsim.kernel.evaluation import recheck_scores
from perfsim.kernel.strategy import GAIN_ATOL as GAIN_ATOL
from perfsim.kernel.strategy import GAIN_RTOL as GAIN_RTOL
from perfsim.kernel.strategy import respond, stake
from perfsim.model.params import apply_changes
from perfsim.model.scenario import Scenario
from perfsim.run.step import observed_year

#: the inflation a unit may choose by default: 0 to 30 points by half points
GRID = tuple(np.round(np.arange(0.0, 30.25, 0.5), 2))


@dataclass(frozen=True)
class Gains:
    """Money gained by inflating, per grid value (rows) and project (columns), yuan:
    ``unchecked`` (a) and ``checked`` (b), against the honest report."""

    grid: np.ndarray
    unchecked: np.ndarray
    checked: np.ndarray

    def expected(self, p: float) -> np.ndarray:
        """The expected gain (grid, projects) at check share ``p``."""
        return (1.0 - p) * self.unchecked + p * self.checked

    def choice(self, p: float) -> np.ndarray:
        """Each unit's chosen inflation (points) at check share ``p``: the smallest grid
        value whose expected gain is within the tolerance (:data:`GAIN_RTOL`,
        :data:`GAIN_ATOL`) of the largest, so a unit inflates only when its gain beats the
        expected penalty by more than the tolerance and honesty (0) wins a tie."""
        return self.grid[self.pick(p)]

    def pick(self, p: float) -> np.ndarray:
        """The row of the grid each unit chooses at check share ``p`` (:meth:`choice`)."""
        return respond(self.unchecked, self.checked, p)

    def tolerance(self, p: float) -> np.ndarray:
        """The tolerance of each expected gain (grid, projects) at check share ``p``, yuan."""
        return stake(self.unchecked, self.checked, p)

    def break_even(self) -> np.ndarray:
        """Each unit's break-even check share (see the module): from it on, honesty pays."""
        a, b = self.unchecked, self.checked
        pays = a > self.tolerance(0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            p = np.where(pays, np.where(b < 0, a / (a - b), 1.0), 0.0)
        return p.max(axis=0)


def inflation_grid(most: float, step: float = 0.5) -> np.ndarray:
    """The inflation a unit may choose: 0 to ``most`` points by ``step``."""
    if not (np.isfinite(most) and most > 0 and np.isfinite(step) and 0 < step <= most):
        raise InputError(where="strategy", field="max_inflation", value=most,
                         problem=f"must be > 0 points and at least the step ({step})")
    return np.round(np.arange(0.0, most + step / 2, step), 10)


def _grid(grid: Sequence[float]) -> np.ndarray:
    g = np.asarray(grid, dtype=float)
    if g.ndim != 1 or g.size < 2 or g[0] != 0 or np.any(np.diff(g) <= 0) \
            or not np.all(np.isfinite(g)):
        raise InputError(where="strategy", field="grid", value=list(np.asarray(grid)),
                         problem="must rise from 0 in at least two finite steps")
    return g


def gains(scenario: Scenario, grid: Sequence[float] = GRID) -> Gains:
    """Money gained by inflating each project's honest score (the portfolio's scores) by
    each grid value, unchecked and checked, under the scenario's rules."""
    g = _grid(grid)
    s = scenario.settings
    honest = np.asarray(scenario.scores(), dtype=float)
    claimed = honest[None, :] + g[:, None]
    rows = np.broadcast_to(honest, claimed.shape)
    rules = dict(replace=s.recheck_replaces, gap_rule=s.gap_rule and s.gap_on == "project",
                 gap=s.gap, per=s.gap_per,
                 step=s.gap_step, gap_mode=s.gap_mode, inflation_penalty=s.inflation_penalty,
                 unchecked_bonus=s.unchecked_bonus)
    graded = recheck_scores(claimed, rows, np.ones(claimed.shape, dtype=bool), **rules)
    unchecked = recheck_scores(claimed, rows, np.zeros(claimed.shape, dtype=bool), **rules)

    def money(scores: np.ndarray) -> np.ndarray:
        return observed_year(scenario, scores).next_budget

    m_unchecked, m_checked = money(unchecked), money(graded)
    # against the honest report in each case (grid value 0): unchecked it may earn a bonus
    return Gains(g, m_unchecked - m_unchecked[0], m_checked - m_checked[0])


def strategic_inflation(scenario: Scenario, check_shares: Sequence[float],
                        grid: Sequence[float] = GRID) -> pd.DataFrame:
    """For each check share: the units' mean chosen inflation (points), the share of units
    that inflate, and the expected money they gain in all (yuan)."""
    shares = np.asarray(check_shares, dtype=float)
    if shares.ndim != 1 or not shares.size or np.any((shares < 0) | (shares > 1)):
        raise InputError(where="strategy", field="check_shares", value=list(shares),
                         problem="must be shares in [0, 1]")
    gn = gains(scenario, grid)
    rows: list[dict[str, Any]] = []
    for p in shares:
        expected = gn.expected(float(p))
        pick = gn.pick(float(p))
        chosen = gn.grid[pick]
        gained = expected[pick, np.arange(expected.shape[1])]
        rows.append({"check_share": float(p), "mean_inflation": float(chosen.mean()),
                     "share_inflating": float((chosen > 0).mean()),
                     "expected_gain": float(gained.sum())})
    return pd.DataFrame(rows)


def claimed_scores(scenario: Scenario, check_share: float, grid: Sequence[float] = GRID
                   ) -> pd.DataFrame:
    """What strategic units report at ``check_share``: per project its honest score, the
    inflation it chooses (:meth:`Gains.choice`) and the self-score it claims — the scores
    whose bunching at the grade lines :func:`perfsim.analyse.bunching.bunching` measures."""
    p = float(check_share)
    if not 0 <= p <= 1:
        raise InputError(where="strategy", field="check_share", value=check_share,
                         problem="must be a share in [0, 1]")
    chosen = gains(scenario, grid).choice(p)
    honest = np.asarray(scenario.scores(), dtype=float)
    pf = scenario.portfolio
    return pd.DataFrame({"project_id": pf.ids, "department": pf.departments,
                         "budget": pf.budget, "honest_score": honest, "inflation": chosen,
                         "claimed_score": honest + chosen})


def summarise_break_even(p: np.ndarray) -> dict[str, float]:
    """A portfolio's units' break-even shares in three figures: ``break_even_share``, the check
    share from which every unit a penalty can deter reports honestly (the largest break-even
    below 1; 1 when inflation pays and no unit can be deterred short of checking everyone,
    0 when it never pays); ``share_tempted``, the units for which inflating pays without
    checks; ``share_undeterred``, those only checking everyone deters (a 差 project has
    nothing left to lose; without a penalty no one has)."""
    deterrable = p[(p > 0) & (p < 1)]
    tempted = float((p > 0).mean()) if p.size else 0.0
    top = float(deterrable.max()) if deterrable.size else (1.0 if tempted else 0.0)
    return {"break_even_share": top, "share_tempted": tempted,
            "share_undeterred": float((p >= 1).mean()) if p.size else 0.0}


def break_even_share(scenario: Scenario, grid: Sequence[float] = GRID) -> float:
    """The check share from which every unit a penalty can deter reports honestly
    (:func:`summarise_break_even`)."""
    return summarise_break_even(gains(scenario, grid).break_even())["break_even_share"]


def break_even_by_penalty(scenario: Scenario, penalties: Sequence[float],
                          grid: Sequence[float] = GRID) -> pd.DataFrame:
    """For each value of ``simulation.spot_check.inflation_penalty`` (points): the break-even
    check share, the share of units tempted and the share only full checks deter
    (:func:`summarise_break_even`)."""
    out = []
    for pen in penalties:
        sc = apply_changes(scenario, {"simulation.spot_check.inflation_penalty": float(pen)})
        out.append({"inflation_penalty": float(pen),
                    **summarise_break_even(gains(sc, grid).break_even())})
    return pd.DataFrame(out)


@dataclass(frozen=True)
class BunchingFit:
    """The strategic units' inflation that reproduces an observed pile at a grade line:
    ``max_inflation`` (points a unit may add), the projects it lifts over the line
    (``crossed``) against the observed excess (``target``), the implied
    ``simulation.self_evaluation.inflation_mean`` and ``by_department`` (attainment units: the
    mean chosen inflation over the system's total), ``interval``, the ``max_inflation`` that
    the ends of the excess's bootstrap interval give, and ``departments``, the same per
    department with an observed excess."""

    max_inflation: float
    crossed: int
    target: float
    interval: tuple[float, float]   # max_inflation at the excess's bootstrap interval
    inflation_mean: float
    by_department: dict[str, float]
    departments: pd.DataFrame


def fit_bunching(scenario: Scenario, observed: Any, cutoff: float = 80.0,
                 check_share: float = 0.0, most: float = 20.0, step: float = 0.5
                 ) -> BunchingFit:
    """Calibrate the inflation of strategic units to the excess mass that
    :func:`perfsim.analyse.bunching.bunching` found at ``cutoff`` in observed self-scores
    (``observed``, its result).

    Exogenous inflation (``inflation_mean`` added to every self-score) shifts the score
    distribution without piling it at a line; the pile comes from units choosing to cross it.
    So the calibration is of the strategic units' reach: the smallest ``max_inflation`` (on
    the grid 0, ``step``, ..., ``most`` points) at which at least as many honest scores below
    the line are lifted onto or over it as the observed excess, facing ``check_share`` checks
    and the scenario's re-check rules — for the portfolio, and for each department with an
    observed excess (its own reach). The chosen inflation then gives the ``inflation_mean``
    and ``by_department`` of the scenario's ``simulation.self_evaluation`` block."""
    table = observed.table.set_index("cutoff")
    if float(cutoff) not in table.index:
        raise InputError(where="fit_bunching", field="cutoff", value=cutoff,
                         problem=f"not a cutoff of the bunching estimate "
                                 f"({', '.join(f'{c:g}' for c in table.index)})")
    target = float(table.loc[float(cutoff), "excess"])
    grid = inflation_grid(most, step)
    gn = gains(scenario, grid)
    honest = np.asarray(scenario.scores(), dtype=float)
    below = honest < cutoff
    # the choice (Gains.choice) when at most grid[k] points may be added, for every k
    chosen = np.stack([grid[respond(gn.unchecked[:k + 1], gn.checked[:k + 1],
                                    float(check_share))]
                       for k in range(grid.size)])                          # (k, projects)
    crossed = below[None] & (honest[None] + chosen >= cutoff)
    total = float(getattr(scenario, "total", 100.0))

    def reach(mask: np.ndarray, goal: float) -> int:
        counts = crossed[:, mask].sum(axis=1)
        hit = np.nonzero(counts >= goal)[0]
        return int(hit[0]) if hit.size else grid.size - 1

    everyone = np.ones(honest.size, dtype=bool)
    k = reach(everyone, target)
    low, high = (table.loc[float(cutoff), c] for c in ("excess_low", "excess_high"))
    interval = tuple(float(grid[reach(everyone, v)]) if np.isfinite(v) else float("nan")
                     for v in (low, high))
    rows = []
    deps = np.asarray(scenario.portfolio.departments).astype(str)
    if observed.departments is not None:
        d = observed.departments[observed.departments["cutoff"] == float(cutoff)]
        for dep, goal in zip(d["department"], d["excess"], strict=True):
            if goal < 0.5:
                continue
            mask = deps == str(dep)
            kd = reach(mask, goal)
            rows.append({"department": str(dep), "target": float(goal),
                         "crossed": int(crossed[kd, mask].sum()),
                         "max_inflation": float(grid[kd]),
                         "inflation": float(chosen[kd, mask].mean() / total)})
    departments = pd.DataFrame(rows, columns=["department", "target", "crossed",
                                              "max_inflation", "inflation"])
    return BunchingFit(float(grid[k]), int(crossed[k].sum()), target, interval,
                       float(chosen[k].mean() / total),
                       {r["department"]: r["inflation"] for r in rows}, departments)


def grade_money(scenario: Scenario) -> np.ndarray:
    """What each project keeps at each grade, as a share of its budget (projects, grades):
    next year's budget when every project scores the lowest score of that grade (the lowest
    grade: just under the lowest line), through the one year kernel on observed scores
    (:func:`perfsim.run.step.observed_year`). The money a responding unit weighs in the Monte
    Carlo: its budget that year times the share at the grade its claim earns — exact for
    rules whose money follows the project's own grade, the money when everyone moves alike
    with quotas or redistribution."""
    cut = scenario.grading.cutoffs
    if cut is None:
        raise InputError(scenario.source, "simulation", "self_evaluation.strategy",
                         "best_response", "best_response needs grading cutoffs (the lines "
                                          "a unit can reach)")
    lowest = [float(c) for c in cut] + [max(float(cut[-1]) - 0.01, 0.0)]
    pf = scenario.portfolio
    scores = np.repeat(np.asarray(lowest)[:, None], pf.n_projects, axis=1)
    kept = observed_year(scenario, scores).next_budget                  # (grades, projects)
    budget = np.asarray(pf.budget, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(budget > 0, kept / np.where(budget > 0, budget, 1.0), 0.0).T
