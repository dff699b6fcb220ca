"""The cheapest check design that makes honesty pay: spot-check designs searched for the
Pareto front of inflation payoff, wrong cuts and evaluation cost.

A design is a check share (``simulation.spot_check.share``), a selection
(``simulation.spot_check.selection``: random, largest budget, highest self-score, near the cut
lines) and a penalty for inflation found (``simulation.spot_check.inflation_penalty``). Each
design is one Monte Carlo of the evaluation process (:func:`perfsim.run.variants.settings_grid`)
with the scenario's seed, so every design meets the same random draws (common random
numbers) and differences between designs come from the designs alone.

The search is exhaustive over a grid: the selection is discrete, and the share and penalty
grids are what a bureau can choose between (shares up to what the budget of staff-days
affords: ``checks × staff_days_per_check ≤ budget``). Each design's cost is the registry's
``evaluation_cost_recheck`` with the scenario's re-check priced at ``yuan_per_check``
(``simulation.cost.recheck``): its checks (the share of the portfolio's projects, rounded as
the Monte Carlo rounds it) times that price. The front is the set of designs that no other
design beats on all three outcomes at once — lower inflation payoff (yuan gained per inflated
point, counted from zero up: once honesty pays, a harsher design buys nothing more), lower
wrong cuts (yuan cut from projects that truly deserve 优 or 良) and lower cost. Outcomes
equal within a tolerance are ties (:data:`RTOL` of the larger plus :data:`ATOL` yuan: the
means of replications carry rounding errors far below a fen), so a design no better than
another on any outcome beyond the tolerance and worse beyond it on one is dominated and
never on the front. Without checks the selection and the penalty change nothing, so the
designs at share 0 are one.

The units' response (``response``): ``fixed`` units inflate as the scenario's
``simulation.self_evaluation.inflation_mean`` says whatever the design; ``best`` units respond
to each design (``simulation.self_evaluation.strategy: best_response``, the units' choice of
:mod:`perfsim.kernel.strategy`), so each design is judged in equilibrium — at the inflation
it leaves — and a design that deters everyone has no payoff left (0, not a missing value).
Each design reports its inflation (points), payoff, wrong cuts, cost and the share of the
units that inflate (``inflating_share``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from perfsim.errors import InputError
from perfsim.kernel.evaluation import SELECTIONS
from perfsim.model.params import apply_changes
from perfsim.model.scenario import Scenario
from perfsim.run.variants import policy_table, settings_grid

SHARE = "simulation.spot_check.share"
SELECTION = "simulation.spot_check.selection"
PENALTY = "simulation.spot_check.inflation_penalty"
#: the outcomes the front minimises: the payoff of inflation (none below zero: once honesty
#: pays, a harsher design buys nothing more), wrong cuts and cost
OUTCOMES = ("payoff_above_zero", "wrong_cuts", "evaluation_cost_recheck")
#: how the units respond to a design: a fixed inflation, or each unit's best response
RESPONSES = ("fixed", "best")
STRATEGY = "simulation.self_evaluation.strategy"


@dataclass(frozen=True)
class CheckDesigns:
    """Every design searched (``table``: one row per design with its outcomes, cost and
    ``pareto`` flag) and the settings of the search."""

    table: pd.DataFrame
    settings: dict[str, Any]

    @property
    def front(self) -> pd.DataFrame:
        """The Pareto-optimal designs, cheapest first."""
        return self.table[self.table["pareto"]].sort_values(
            ["evaluation_cost_recheck", "inflation_payoff"], ignore_index=True)


#: outcomes within ``ATOL`` yuan plus ``RTOL`` of the larger magnitude are ties on the front
RTOL, ATOL = 1e-8, 0.01


def pareto(values: np.ndarray, rtol: float = RTOL, atol: float = ATOL) -> np.ndarray:
    """Which rows of ``values`` (rows, objectives; lower is better) no other row dominates:
    row j dominates row i when it is nowhere larger beyond the tolerance and smaller beyond
    it on one objective, the tolerance of two values being ``atol + rtol·max(|x|, |y|)``
    (values within it tie; ``rtol = atol = 0``: exact comparison)."""
    v = np.asarray(values, dtype=float)
    vj, vi = v[:, None, :], v[None, :, :]                # [j, i, objective]
    tol = atol + rtol * np.maximum(np.abs(vj), np.abs(vi))
    le = (vj <= vi + tol).all(axis=2)     # le[j, i]: j no larger than i beyond the tolerance
    lt = (vj < vi - tol).any(axis=2)      # lt[j, i]: j smaller than i beyond it somewhere
    dominated = (le & lt).any(axis=0)
    return ~dominated


def _positive(name: str, value: Any) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = float("nan")
    if not (np.isfinite(v) and v > 0):
        raise InputError(where="optimise-checks", field=name, value=value,
                         problem="must be a number > 0")
    return v


#: what a re-check costs when the scenario's ``simulation.cost`` block does not say
DAYS_PER_CHECK, YUAN_PER_CHECK = 2.0, 3000.0


def optimise_checks(scenario: Scenario, budget: float, *,
                    staff_days_per_check: float | None = None,
                    yuan_per_check: float | None = None, shares: int | Sequence[float] = 6,
                    selections: Sequence[str] | None = None,
                    penalties: Sequence[float] = (0.0, 5.0, 10.0, 20.0),
                    replications: int = 64, years: int = 1,
                    response: str | None = None) -> CheckDesigns:
    """Search check designs within a ``budget`` of staff-days for the Pareto front of
    inflation payoff, wrong cuts and cost. ``shares`` is a count of evenly spaced shares from
    0 to the most the budget affords, or the shares themselves (each within what it
    affords). ``selections`` default to every selection, ``risk`` and ``mix`` only where the
    scenario's ``simulation.spot_check`` block gives their weights. ``response``: ``fixed``
    (the scenario's units must inflate: ``simulation.self_evaluation.inflation_mean`` or
    ``by_department``, the payoff of inflation is what the checks are to remove) or ``best``
    (each unit responds to each design); default ``best`` when the scenario's
    ``simulation.self_evaluation.strategy`` is ``best_response``, else ``fixed``."""
    scenario = respond_as(scenario, response)
    s = scenario.settings
    if selections is None:  # risk and mix only where the scenario gives their weights
        selections = [x for x in SELECTIONS if x not in ("risk", "mix")
                      or (x == "risk" and s.check_risk_departments)
                      or (x == "mix" and s.check_mix)]
    if staff_days_per_check is None:
        staff_days_per_check = s.days_recheck or DAYS_PER_CHECK
    if yuan_per_check is None:
        yuan_per_check = s.cost_recheck or YUAN_PER_CHECK
    budget = _positive("budget", budget)
    days = _positive("staff_days_per_check", staff_days_per_check)
    yuan = _positive("yuan_per_check", yuan_per_check)
    if s.self_strategy == "none" and s.inflation_mean == 0 and not any(
            s.inflation_by_department.values()):
        raise InputError(where="optimise-checks", field="simulation.self_evaluation."
                         "inflation_mean", value=0, problem="nobody inflates: set it (or "
                         "by_department) so that there is a payoff for checks to remove")
    n = scenario.portfolio.n_projects
    most = min(1.0, np.floor(budget / days) / n)
    if isinstance(shares, int | np.integer):
        if shares < 2:
            raise InputError(where="optimise-checks", field="shares", value=int(shares),
                             problem="give at least 2 shares")
        grid = np.linspace(0.0, most, int(shares))
    else:
        grid = np.asarray(shares, dtype=float)
        if grid.ndim != 1 or not grid.size:
            raise InputError(where="optimise-checks", field="shares",
                             problem="give at least one share")
        bad = grid[(grid < 0) | (grid > most + 1e-12) | ~np.isfinite(grid)]
        if bad.size:
            raise InputError(where="optimise-checks", field="shares", value=float(bad[0]),
                             problem=f"must lie in [0, {most:.4f}]: the budget of "
                                     f"{budget:g} staff-days affords {most:.2%} of the "
                                     f"{n:,} projects")
    for sel in selections:
        if sel not in SELECTIONS:
            raise InputError(where="optimise-checks", field="selections", value=sel,
                             problem=f"unknown selection (known: {', '.join(SELECTIONS)})")
    pens = [float(p) for p in penalties]
    if not pens or any(not np.isfinite(p) or p < 0 for p in pens):
        raise InputError(where="optimise-checks", field="penalties", value=pens,
                         problem="must be points >= 0")

    # the re-checks priced as the registry's evaluation_cost_recheck metric prices them
    priced = apply_changes(scenario, {"simulation.cost.recheck": yuan,
                                      "simulation.cost.recheck_days": days})
    long = settings_grid(priced, {SHARE: [float(g) for g in grid],
                                  SELECTION: list(selections), PENALTY: pens},
                         metrics=("inflation_points", "inflating_share", "inflation_payoff",
                                  "wrong_cuts", "savings", "misgrading",
                                  "evaluation_cost_recheck"),
                         replications=replications, years=years)
    keys = [SHARE, SELECTION, PENALTY]
    # dropna=False: a metric that is NaN in every design (no unit inflates, so no payoff per
    # inflated point) keeps its column
    wide = long.pivot_table(index=keys, columns="metric", values="mean", sort=False,
                            aggfunc="mean", dropna=False).reset_index()
    wide.columns.name = None
    # without checks the selection and the penalty change nothing: one design, not many
    none = wide[SHARE].to_numpy(dtype=float) == 0
    wide = wide[~none | ~pd.Series(none).duplicated().to_numpy()].reset_index(drop=True)
    checks = np.rint(wide[SHARE].to_numpy(dtype=float) * n)
    wide["checks"] = checks.astype(np.int64)
    wide["staff_days"] = checks * days
    # nobody inflating leaves no payoff (the per-point payoff has no points to divide by)
    wide["payoff_above_zero"] = wide["inflation_payoff"].fillna(0.0).clip(lower=0.0)
    wide["pareto"] = pareto(wide[list(OUTCOMES)].to_numpy(dtype=float))
    settings = {"budget_staff_days": budget, "staff_days_per_check": days,
                "yuan_per_check": yuan, "replications": replications, "years": years,
                "seed": scenario.seed, "projects": n, "most_share": most,
                "pareto_rtol": RTOL, "pareto_atol": ATOL,
                "response": "best" if s.self_strategy == "best_response" else "fixed"}
    return CheckDesigns(wide, settings)


#: the columns of :func:`compare_fronts`: each front design and what it leaves
FRONT_COLUMNS = (SHARE, SELECTION, PENALTY, "evaluation_cost_recheck", "inflation_points",
                 "inflating_share", "inflation_payoff", "wrong_cuts")


def responding_designs(scenario: Scenario, budget_staff_days: float,
                       **options: Any) -> CheckDesigns | None:
    """:func:`optimise_checks` with units that respond (``response="best"``), or None when
    ``scenario``'s grading has no cutoffs: a unit that responds reaches for a line, and a
    grading by ranks or quotas has none it can see."""
    if scenario.grading.cutoffs is None:
        return None
    return optimise_checks(scenario, budget_staff_days, response="best", **options)


def compare_fronts(fixed: CheckDesigns, responding: CheckDesigns | None) -> pd.DataFrame:
    """The fixed-inflation front and the responding front, stacked (a leading ``response``
    column), in :data:`FRONT_COLUMNS`; without a responding search (:func:`responding_designs`
    gave None) the fixed front alone, with the reason in a ``note`` column."""
    fronts = {"fixed 固定虚报": fixed.front}
    if responding is not None:
        fronts["responding 单位应对"] = responding.front
    table = policy_table({k: v[list(FRONT_COLUMNS)] for k, v in fronts.items()},
                         name="response")
    if responding is None:
        table["note"] = ("units respond only to grading cutoffs: this scenario grades by "
                         "ranks or quotas")
    return table


def respond_as(scenario: Scenario, response: str | None) -> Scenario:
    """``scenario`` with its units responding as ``response`` says: ``best`` sets
    ``simulation.self_evaluation.strategy: best_response`` (and the fixed inflation to 0:
    the units choose theirs), ``fixed`` sets ``none`` (the scenario's fixed inflation);
    None keeps the scenario's own."""
    if response is None:
        return scenario
    if response not in RESPONSES:
        raise InputError(where="optimise-checks", field="response", value=response,
                         problem="must be fixed or best")
    s = scenario.settings
    if response == "fixed":
        return apply_changes(scenario, {STRATEGY: "none"})
    changes: dict[str, Any] = {"simulation.self_evaluation.inflation_mean": 0.0,
                               "simulation.self_evaluation.inflation_sd": 0.0}
    changes.update({f"simulation.self_evaluation.by_department.{d}": 0.0
                    for d in s.inflation_by_department})
    return apply_changes(apply_changes(scenario, changes), {STRATEGY: "best_response"})
