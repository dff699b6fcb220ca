"""The year kernel: score → grade → link, on arrays shaped (rows, projects).

Rows are replications of the Monte Carlo, parameter samples of a sensitivity analysis, or the
single row of a one-year run; every path calls :func:`evaluate_year`, so a rule lives in
exactly one place. Per-row design values are optional: ``cutoffs`` (rows, grades − 1) and a
multiplier ``table`` (rows, grades). The result is a :class:`YearOutcome`, from which every
metric of :mod:`perfsim.kernel.metrics` is computed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from perfsim.kernel.grading import Grading
from perfsim.kernel.linkage import Linkage, LinkageResult


@dataclass(frozen=True, eq=False)
class YearOutcome:
    """One year for (rows, projects). Money in yuan; projects that are not active (cancelled
    in an earlier year, entrants not yet in) hold no money and take no grade quota.

    ``gross`` is the budget before monitoring recoveries; the linkage rule acts on
    ``gross − recovered`` (``link.budget``). ``true_score``/``true_grade`` exist in the Monte
    Carlo, where the truth is known; ``honest`` is the same year evaluated without inflation
    (for the inflation payoff), ``inflation_points`` the points it added per row.
    """

    score: np.ndarray
    grade: np.ndarray
    link: LinkageResult
    gross: np.ndarray
    recovered: np.ndarray
    active: np.ndarray
    true_score: np.ndarray | None = None
    true_grade: np.ndarray | None = None
    honest: YearOutcome | None = None
    inflation_points: np.ndarray | None = None
    n_grades: int = 4

    @property
    def poor(self) -> int:
        """Index of the lowest grade (差)."""
        return self.n_grades - 1

    @property
    def good(self) -> int:
        """Grade indices up to this one count as good (优 and 良)."""
        return min(1, self.n_grades - 1)

    @property
    def multiplier(self) -> np.ndarray:
        return self.link.multiplier

    @property
    def next_budget(self) -> np.ndarray:
        return np.where(self.active, self.link.next_budget, 0.0)

    @property
    def kept(self) -> np.ndarray:
        return np.where(self.active, self.link.kept, 0.0)

    @property
    def cut(self) -> np.ndarray:
        return np.where(self.active, self.link.cut, 0.0)

    @property
    def cancelled(self) -> np.ndarray:
        return np.where(self.active, self.link.cancelled, 0.0)

    @property
    def rewarded(self) -> np.ndarray:
        return np.where(self.active, self.link.rewarded, 0.0)

    @property
    def lost(self) -> np.ndarray:
        """Yuan cut or cancelled per project."""
        return self.cut + self.cancelled


def escalated(poor: np.ndarray, poor_run: np.ndarray | None, escalation_years: int
              ) -> np.ndarray | None:
    """Projects cancelled whatever the linkage rule because they are graded 差 for the
    ``escalation_years``-th year in a row (``poor_run``: the years in a row so far; 0 = off)."""
    if not escalation_years:
        return None
    run = 0 if poor_run is None else poor_run
    return poor & (run + 1 >= escalation_years)


def evaluate_year(score: np.ndarray, budget: np.ndarray, grading: Grading, linkage: Linkage,
                  *, flags: Mapping[str, np.ndarray] | None = None,
                  active: np.ndarray | None = None, cutoffs: np.ndarray | None = None,
                  table: np.ndarray | None = None, true_score: np.ndarray | None = None,
                  recovered: np.ndarray | None = None, poor_run: np.ndarray | None = None,
                  escalation_years: int = 0) -> YearOutcome:
    """Grade ``score`` (rows, projects) and link ``budget`` (projects,) or (rows, projects).

    ``active`` marks the projects in the portfolio this year; ``recovered`` (yuan) is taken
    from the budget before the linkage rule (dual monitoring); ``poor_run`` and
    ``escalation_years`` cancel projects graded 差 for that many years in a row;
    ``true_score`` is graded the same way for the decision-quality metrics.
    """
    score = np.atleast_2d(np.asarray(score, dtype=float))
    if active is None:
        active = np.ones(score.shape, dtype=bool)
    gross = np.where(active, np.broadcast_to(np.asarray(budget, dtype=float), score.shape), 0.0)
    recovered = np.zeros(score.shape) if recovered is None else np.asarray(recovered, float)
    grade = grading.grade(score, cutoffs, active)
    true_grade = None if true_score is None else grading.grade(true_score, cutoffs, active)
    cancel = ~active
    poor = escalated(grade == len(grading.labels) - 1, poor_run, escalation_years)
    if poor is not None:
        cancel = cancel | poor
    link = linkage.apply(gross - recovered, score, grade, flags, cancel=cancel, table=table)
    return YearOutcome(score=score, grade=grade, link=link, gross=gross, recovered=recovered,
                       active=active, true_score=true_score, true_grade=true_grade,
                       n_grades=len(grading.labels))
