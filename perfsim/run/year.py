"""The engine: measure → score → grade → link → allocate.

:func:`allocate` is the pure, vectorised core (arrays in, arrays out). :func:`run_year` applies
it to a :class:`~perfsim.scenario.Scenario` and returns tidy tables: one row per project, a
ledger by department and grade, and a summary.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from perfsim.errors import InputError
from perfsim.kernel import metrics
from perfsim.kernel.linkage import GATE, STATUSES
from perfsim.kernel.year import CHANNEL_NAMES, YearOutcome
from perfsim.model.scenario import Scenario
from perfsim.run.step import observed_year

#: The money columns of the allocations, ledger and grade tables: the budget, the channels
#: it goes down (:data:`perfsim.kernel.year.CHANNELS`: budget = their sum), the money added
#: (``rewarded``) and next year's budget (= kept + rewarded).
MONEY = ("budget", *CHANNEL_NAMES, "rewarded", "next_budget")
#: the grade column of a project not evaluated this year (a coverage or cross-year rule)
NOT_EVALUATED = ("not_evaluated", "未评价")


@dataclass(frozen=True)
class YearResult:
    """The outcome of one year: per-project allocations, ledger and summary; ``outcome`` is
    the kernel's (one row) and ``metrics`` the registry's deterministic metrics; ``cells``
    lists the portfolio cells that held no value and how each was filled (row, project, code,
    treatment, points)."""

    allocations: pd.DataFrame
    ledger: pd.DataFrame
    by_grade: pd.DataFrame
    summary: dict[str, Any]
    outcome: YearOutcome
    metrics: dict[str, float]
    cells: pd.DataFrame | None = None


def evaluate(scenario: Scenario) -> YearOutcome:
    """The kernel's outcome (one row) of the scenario's portfolio this year."""
    return observed_year(scenario)


def year_metrics(scenario: Scenario, outcome: YearOutcome) -> dict[str, float]:
    """Every deterministic registry metric of a one-row outcome."""
    labels = scenario.grading.labels
    names = [n for n, m in metrics.registry(labels).items() if not m.monte_carlo]
    return {k: float(v[0]) for k, v in metrics.compute(outcome, names, labels).items()}


def run_year(scenario: Scenario) -> YearResult:
    """Score, grade and link one year of the scenario's portfolio."""
    pf = scenario.portfolio
    o = evaluate(scenario)
    res = o.link
    labels = scenario.grading.labels
    codes, zh = grade_names(scenario, o)
    grade = np.where(o.graded[0], o.grade[0], len(labels.codes))   # the last: not evaluated
    alloc = pd.DataFrame({
        "project_id": pf.ids,
        "department": pf.departments,
        "score": o.score[0],
        "grade": np.asarray(codes, dtype=object)[grade],
        "grade_zh": np.asarray(zh, dtype=object)[grade],
        "budget": pf.budget,
        "multiplier": res.multiplier[0],
        "reward": res.reward[0],
        "next_budget": o.next_budget[0],
        "change": o.next_budget[0] - pf.budget,
        "status": np.asarray(STATUSES, dtype=object)[o.status[0]],
        "precondition_failed": res.precondition_failed[0],
        **{name: o.channel(name)[0] for name in CHANNEL_NAMES},
        "rewarded": o.rewarded[0],
    })
    if o.evaluated is not None:   # the coverage rule: who self-evaluated
        alloc["evaluated"] = o.evaluated[0]
    if "true_score" in pf.table.columns:
        alloc.insert(3, "true_score", pf.table["true_score"].to_numpy())
    if o.feedback is not None:   # the evaluation cycle's columns, where the rules exist
        alloc["feedback"] = o.feedback[0]
        alloc["rectified"] = o.rectified[0]
    if res.gate is not None:   # the pre-evaluation of next year's request
        alloc["expected_score"] = o.expected[0]
        alloc["pre_evaluation"] = np.where(res.gate[0] >= 0, np.asarray(GATE, dtype=object)[
            res.gate[0]], "")
        alloc["pre_evaluation_saved"] = res.gate_saved[0]
    if o.blacklisted is not None:
        alloc["blacklisted"] = o.blacklisted[0]
    if res.postponed is not None or res.cut_failed is not None or o.blacklisted is not None:
        none = np.zeros(len(alloc), dtype=bool)

        def mask(x: np.ndarray | None) -> np.ndarray:
            return none if x is None else x[0]

        alloc["sanction"] = np.select(
            [res.precondition_failed[0], mask(res.postponed), mask(o.blacklisted),
             mask(res.cut_failed)], ["no_budget", "postpone", "blacklist", "cut"], default="")
    ledger = ledger_table(alloc, codes)
    by_grade = grade_table(alloc, codes, zh)
    values = year_metrics(scenario, o)
    cells = scenario.filled_cells()
    summary = summarise(scenario, alloc, by_grade, values)
    summary["filled_cells"] = {"count": int(len(cells)), "by_treatment": {
        str(k): int(v) for k, v in cells.groupby("treatment", sort=True).size().items()}}
    return YearResult(alloc, ledger, by_grade, summary, o, values, cells)


def grade_names(scenario: Scenario, outcome: YearOutcome
                ) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The grade codes and Chinese labels a year's tables list: the label set's, and
    :data:`NOT_EVALUATED` after them where a coverage rule left projects out."""
    labels = scenario.grading.labels
    if outcome.evaluated is None:
        return labels.codes, labels.zh
    return (*labels.codes, NOT_EVALUATED[0]), (*labels.zh, NOT_EVALUATED[1])


def ledger_table(alloc: pd.DataFrame, grade_order: tuple[str, ...]) -> pd.DataFrame:
    """Money by department and grade (yuan): the :data:`MONEY` columns — budget, its
    channels, rewarded, next budget — and net (next budget − budget)."""
    cat = pd.Categorical(alloc["grade"], categories=list(grade_order), ordered=True)
    g = alloc.assign(grade=cat).groupby(["department", "grade"], observed=True, sort=True)
    out = g[list(MONEY)].sum()
    out.insert(0, "projects", g.size())
    out["net"] = out["next_budget"] - out["budget"]
    return out.reset_index()


def grade_table(alloc: pd.DataFrame, codes: tuple[str, ...], zh: tuple[str, ...]
                ) -> pd.DataFrame:
    """Counts and money by grade, every grade listed (zeros where none)."""
    g = alloc.groupby("grade", sort=False)
    out = g[list(MONEY)].sum().reindex(list(codes), fill_value=0.0)
    out.insert(0, "projects", g.size().reindex(list(codes), fill_value=0).astype(int))
    out.insert(0, "grade_zh", list(zh))
    out.index.name = "grade"
    return out.reset_index()


def summarise(scenario: Scenario, alloc: pd.DataFrame, by_grade: pd.DataFrame,
              values: dict[str, float]) -> dict[str, Any]:
    totals = {k: float(alloc[k].sum()) for k in MONEY}
    totals["savings"] = totals["budget"] - totals["next_budget"]
    link = scenario.linkage
    return {
        "scenario": scenario.name,
        "seed": scenario.seed,
        "source": scenario.source,
        "projects": int(len(alloc)),
        "departments": int(alloc["department"].nunique()),
        "indicator_system": scenario.system.code if scenario.system else None,
        "grading": {"labels": scenario.grading.labels.name,
                    "cutoffs": list(scenario.grading.cutoffs or []),
                    "quotas": dict(scenario.grading.quotas)},
        "linkage": {"rule": link.name, **dict(link.params), "pool": link.pool,
                    "floor": link.floor, "cap": link.cap,
                    "preconditions": list(link.preconditions)},
        **({"evaluation_cycle": cycle_summary(scenario, alloc, values)}
           if {"feedback", "blacklisted", "evaluated"} & set(alloc.columns)
           or postpones(link) else {}),
        "totals_yuan": totals,
        "by_grade": by_grade.to_dict(orient="records"),
        "precondition_failures": int(alloc["precondition_failed"].sum()),
        "metrics": values,
    }


def postpones(link: Any) -> bool:
    """Whether the linkage policy has a rule that may postpone a project (a precondition
    whose consequence is ``postpone``, or a pre-evaluation)."""
    return (any(kind == "postpone" for kind, _ in link.consequences)
            or link.pre_evaluation is not None)


def cycle_summary(scenario: Scenario, alloc: pd.DataFrame, values: dict[str, float]
                  ) -> dict[str, Any]:
    """The evaluation cycle of one year in people's terms: who was fed back and rectified,
    what was recovered and postponed, which units were blacklisted."""
    out: dict[str, Any] = {}
    link = scenario.linkage
    if "feedback" in alloc.columns:
        rect = link.rectification
        out["rectification"] = {
            "grades": list(rect.grades), "probability": rect.probability,
            "decided_by": ("the portfolio's rectified column" if "rectified" in
                           scenario.portfolio.table.columns else
                           f"a seeded draw (stream rectification of seed {scenario.seed})"),
            "fed_back": int(alloc["feedback"].sum()),
            "rectified": int(alloc["rectified"].sum()),
            "recovered_unrectified": float(alloc["recovered_unrectified"].sum())}
    if postpones(link):
        out["postponed_total"] = float(alloc["postponed"].sum())
    if "blacklisted" in alloc.columns:
        out["blacklisted_units"] = sorted(map(str, alloc.loc[alloc["blacklisted"],
                                                              "department"].unique()))
    if "evaluated" in alloc.columns:   # coverage or deferred cross-year evaluation
        seen = int(values["count_self_evaluated"])
        out["evaluated"] = {
            "projects": seen, "not_evaluated": int(values["projects"]) - seen,
            "funds_share": values["self_evaluation_coverage"],
            "coverage": (None if link.coverage is None else dataclasses.asdict(link.coverage)),
            "cross_year": (None if link.cross_year is None
                           else dataclasses.asdict(link.cross_year))}
    return out


def department_results(year: YearResult, advanced_share: float = 0.2) -> pd.DataFrame:
    """Department-overall results from project results (部门整体): one row per department —
    projects, how many were ``evaluated`` and ``not_evaluated`` this year (a coverage rule,
    deferred cross-year evaluation, a unit's refusal to self-evaluate), budget, next budget
    and change, ``score`` (the budget-weighted mean of its evaluated projects' scores,
    :func:`perfsim.kernel.metrics.unit_scores`) and the unweighted ``mean_score`` over the
    same projects (NaN for a department with none evaluated), ``rank`` (1 = the highest
    score; ties share the best rank) and ``advanced`` (先进单位: the top ``advanced_share``
    of departments, :func:`perfsim.kernel.metrics.top_units` — Wenzhou names the top 20%).
    Sorted by rank.
    A portfolio whose rows are departments scored on their own table (Wenzhou's) gives each
    department its own score."""
    if (isinstance(advanced_share, bool) or not isinstance(advanced_share, int | float)
            or not 0 < advanced_share <= 1):
        raise InputError(field="advanced_share", value=advanced_share,
                         problem="must be a share in (0, 1]")
    alloc = year.allocations
    units, names = pd.factorize(alloc["department"].astype(str), sort=True)
    n = len(names)
    budget = alloc["budget"].to_numpy(dtype=float)
    score = alloc["score"].to_numpy(dtype=float)
    seen = (np.ones(len(alloc), dtype=bool) if "evaluated" not in alloc.columns
            else alloc["evaluated"].to_numpy(dtype=bool))   # the projects graded this year
    graded = None if "evaluated" not in alloc.columns else seen[None]
    weighted = metrics.unit_scores(score[None], budget, units, n, graded)[0]
    count = np.bincount(units, minlength=n)
    evaluated = np.bincount(units, weights=seen, minlength=n).astype(int)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.bincount(units, weights=np.where(seen, score, 0.0), minlength=n) / evaluated
    out = pd.DataFrame({
        "department": names,
        "projects": count,
        "evaluated": evaluated,
        "not_evaluated": count - evaluated,
        "budget": np.bincount(units, weights=budget, minlength=n),
        "next_budget": np.bincount(units, weights=alloc["next_budget"].to_numpy(float),
                                   minlength=n),
        "score": weighted,
        "mean_score": np.where(evaluated > 0, mean, np.nan),
    })
    out["change"] = out["next_budget"] - out["budget"]
    out["rank"] = out["score"].rank(ascending=False, method="min").astype("Int64")
    out["advanced"] = metrics.top_units(weighted[None], float(advanced_share))[0]
    return out.sort_values(["rank", "department"], kind="stable").reset_index(drop=True)
