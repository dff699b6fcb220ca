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
    everyone: bool = False   # every project active: the money needs no masking

    def _held(self, x: np.ndarray) -> np.ndarray:
        return x if self.everyone else np.where(self.active, x, 0.0)

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
        return self._held(self.link.next_budget)

    @property
    def kept(self) -> np.ndarray:
        return self._held(self.link.kept)

    @property
    def cut(self) -> np.ndarray:
        return self._held(self.link.cut)

    @property
    def cancelled(self) -> np.ndarray:
        return self._held(self.link.cancelled)

    @property
    def rewarded(self) -> np.ndarray:
        return self._held(self.link.rewarded)

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
    budget = np.broadcast_to(np.asarray(budget, dtype=float), score.shape)
    everyone = active is None
    if everyone:  # every project in: no masking needed
        active = np.broadcast_to(True, score.shape)
        gross, cancel = budget, None
    else:
        gross, cancel = np.where(active, budget, 0.0), ~active
    grade = grading.grade(score, cutoffs, None if everyone else active)
    true_grade = (None if true_score is None
                  else grading.grade(true_score, cutoffs, None if everyone else active))
    poor = escalated(grade == len(grading.labels) - 1, poor_run, escalation_years)
    if poor is not None:
        cancel = poor if cancel is None else cancel | poor
    linked = gross if recovered is None else gross - recovered
    link = linkage.apply(linked, score, grade, flags, cancel=cancel, table=table)
    return YearOutcome(score=score, grade=grade, link=link, gross=gross,
                       recovered=(np.broadcast_to(0.0, score.shape) if recovered is None
                                  else np.asarray(recovered, dtype=float)),
                       active=active, true_score=true_score, true_grade=true_grade,
                       n_grades=len(grading.labels), everyone=everyone)
