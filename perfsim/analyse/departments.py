"""Departments on one page each: their projects' grades, the money they gain or lose, and
their strongest and weakest indicators against the portfolio.

A department's standing on an indicator is the mean attainment of its projects on that leaf
(the share of the leaf's points earned, after the system's treatment of blank and
not-applicable cells) minus the portfolio's mean, in percentage points of the leaf's points:
+12 means its projects earn 12% more of that leaf's points than the average project. The
strongest indicator is the one with the largest difference, the weakest the smallest. A
portfolio of ready scores has no indicators: the profile then holds grades and money only.
A portfolio of imported tables, whose projects each have their own leaves, is compared at the
level the leaves share: the share of each level-1 group's (一级指标) points its projects earn.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from perfsim.errors import InputError
from perfsim.model.imported import ImportedPortfolio
from perfsim.model.scenario import Scenario
from perfsim.run.year import YearResult


@dataclass(frozen=True)
class Profiles:
    """``summary``: one row per department (projects, projects by grade, budget, next budget,
    net change, strongest and weakest indicator); ``indicators``: department × indicator
    (department mean, portfolio mean, difference in percentage points), empty for ready
    scores."""

    summary: pd.DataFrame
    indicators: pd.DataFrame


def department_profiles(scenario: Scenario, year: YearResult,
                        departments: Sequence[str] | None = None) -> Profiles:
    """The profiles of ``departments`` (default: all, in the ledger's order) from one year
    of ``scenario`` (:meth:`perfsim.run.study.Scenario.run_year`)."""
    alloc = year.allocations
    known = pd.unique(alloc["department"].astype(str))
    chosen = list(known) if departments is None else [str(d) for d in departments]
    missing = [d for d in chosen if d not in set(known)]
    if missing:
        raise InputError(scenario.source, field="departments", value=missing[0],
                         problem="no such department in the portfolio")
    dep = alloc["department"].astype(str)
    codes = list(year.by_grade["grade"])   # the label set's, then not_evaluated if any
    counts = pd.crosstab(dep, alloc["grade"]).reindex(columns=codes, fill_value=0)
    money = alloc.assign(department=dep).groupby("department")[["budget", "next_budget"]].sum()
    summary = pd.DataFrame({"department": chosen})
    summary["projects"] = dep.value_counts().reindex(chosen).to_numpy()
    for code in codes:
        summary[f"count_{code}"] = counts[code].reindex(chosen).to_numpy()
    summary["budget"] = money["budget"].reindex(chosen).to_numpy()
    summary["next_budget"] = money["next_budget"].reindex(chosen).to_numpy()
    summary["net"] = summary["next_budget"] - summary["budget"]

    indicators = pd.DataFrame(columns=["department", "code", "name", "department_mean",
                                       "portfolio_mean", "difference_pp"])
    frame = None
    if isinstance(scenario.portfolio, ImportedPortfolio):   # the framework's level 1
        frame = scenario.portfolio.shares("level1")

        def name_of(c: str) -> str:
            return c

        def label(c: str) -> str:
            return c
    elif not scenario.portfolio.has_scores and scenario.system is not None:
        attainment, _ = scenario.observed()
        system = scenario.system
        frame = pd.DataFrame(attainment, columns=list(system.codes))
        name_of = system.name_of

        def label(c: str) -> str:
            return f"{c} {system.name_of(c)}"
    if frame is not None:
        codes = list(frame.columns)
        frame["department"] = scenario.portfolio.departments.astype(str)
        means = frame.groupby("department")[codes].mean().reindex(chosen)
        overall = frame[codes].mean()
        diff = (means - overall) * 100.0
        long = diff.stack().rename("difference_pp").reset_index()   # a group none has: out
        long.columns = ["department", "code", "difference_pp"]
        long["department_mean"] = means.stack().to_numpy()
        long["portfolio_mean"] = overall.reindex(long["code"]).to_numpy()
        long["name"] = [name_of(c) for c in long["code"]]
        indicators = long[["department", "code", "name", "department_mean", "portfolio_mean",
                           "difference_pp"]]
        order = np.nan_to_num(diff.to_numpy(), nan=-np.inf)
        best = np.asarray(codes)[np.argmax(order, axis=1)]
        order = np.nan_to_num(diff.to_numpy(), nan=np.inf)
        worst = np.asarray(codes)[np.argmin(order, axis=1)]
        summary["strongest"] = [label(c) for c in best]
        summary["weakest"] = [label(c) for c in worst]
    return Profiles(summary, indicators.reset_index(drop=True))


def most_affected(year: YearResult, top: int) -> list[str]:
    """The ``top`` departments losing most money next year (ties in the ledger's order)."""
    if isinstance(top, bool) or not isinstance(top, int | np.integer) or top < 1:
        raise InputError(field="top", value=top, problem="must be a whole number >= 1")
    net = year.allocations.assign(
        department=year.allocations["department"].astype(str),
        net=year.allocations["next_budget"] - year.allocations["budget"],
    ).groupby("department", sort=False)["net"].sum()
    return list(net.sort_values(kind="stable").index[:top])
