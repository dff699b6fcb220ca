"""The year kernel: score → grade → link, on arrays shaped (rows, projects).

Rows are replications of the Monte Carlo, parameter samples of a sensitivity analysis, or the
single row of a one-year run; every path calls :func:`evaluate_year`, so a rule lives in
exactly one place. Per-row design values are optional: ``cutoffs`` (rows, grades − 1) and a
multiplier ``table`` (rows, grades). The result is a :class:`YearOutcome`, from which every
metric of :mod:`perfsim.kernel.metrics` is computed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from perfsim.errors import InputError
from perfsim.kernel.evaluation import Costs, Monitoring, ProcessScores
from perfsim.kernel.grading import Grading
from perfsim.kernel.linkage import STATUSES, Linkage, LinkageResult, row_value

#: The money channels of a year, in order: every yuan of a project's budget (``gross``) goes
#: down exactly one of them — ``budget = kept + cut + cancelled + postponed + recovered +
#: recovered_unrectified`` for every project, row and year (:attr:`YearOutcome.money_gap`).
#: Each is (name, Chinese heading, English heading); every table and writer lists them from
#: here. Money *added* (``rewarded``: multipliers above 1 and a redistributed pool) is no
#: channel of this year's budget: ``next_budget = kept + rewarded``.
CHANNELS: tuple[tuple[str, str, str], ...] = (
    ("kept", "保留", "kept"),
    ("cut", "压减", "cut"),
    ("cancelled", "取消", "cancelled"),
    ("postponed", "暂缓", "postponed"),
    ("recovered", "监控收回", "recovered by monitoring"),
    ("recovered_unrectified", "未整改收回", "recovered, not rectified"),
)
CHANNEL_NAMES: tuple[str, ...] = tuple(c[0] for c in CHANNELS)


@dataclass(frozen=True, eq=False)
class CycleState:
    """What the evaluation cycle carries from one year to the next, per row: the years in a
    row each project has scored below the zero-performance line and has been left
    unrectified after feedback (rows, projects), the blacklisted budget years still to
    come for each unit (rows, departments) and the units blacklisted for the budgets just
    decided (rows, departments), whose new projects' requests are cut alike."""

    zero_run: np.ndarray | None = None
    blacklist_left: np.ndarray | None = None
    unrectified_run: np.ndarray | None = None
    listed: np.ndarray | None = None


@dataclass(frozen=True, eq=False)
class YearOutcome:
    """One year for (rows, projects). Money in yuan; projects that are not active (cancelled
    in an earlier year, entrants not yet in) hold no money and take no grade quota.

    ``gross`` is the budget before monitoring recoveries; the linkage rule acts on
    ``gross − recovered`` (``link.budget``). ``true_score``/``true_grade`` exist in the Monte
    Carlo, where the truth is known; ``honest`` is the same year evaluated without inflation
    (for the inflation payoff), ``inflation_points`` the points it added per row. Each money
    channel held to the active projects (``next_budget``, ``cut``, …) is computed on its first
    reading and kept (the metrics read them many times); never write into one.
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
    feedback: np.ndarray | None = None     # told to rectify (None: no rectification rule)
    rectified: np.ndarray | None = None    # fed back and rectified within the deadline
    recovered_unrectified: np.ndarray | None = None  # yuan recovered for not rectifying
    blacklisted: np.ndarray | None = None  # projects of blacklisted units (None: no rule)
    units_blacklisted: np.ndarray | None = None  # (rows,) units blacklisted this year
    after: CycleState | None = None        # the state the next year starts from
    checked: np.ndarray | None = None      # re-checked (spot checks; None: not simulated)
    costs: Costs | None = None             # what evaluation costs per evaluator type
    evaluator: np.ndarray | None = None    # who re-checked (EVALUATORS codes; None: finance)
    expected: np.ndarray | None = None     # pre-evaluation's expected score (None: no gate)
    monitoring: Monitoring | None = None   # dual monitoring with targets (None: not run)
    units: np.ndarray | None = None        # each project's unit index (None: not given)
    entry_gate: np.ndarray | None = None   # new requests judged on entry (GATE index; −1: none)
    entry_saved: np.ndarray | None = None  # yuan the gate took off them
    third_party_barred: np.ndarray | None = None  # (rows,) blacklisted this year (None: off)
    evaluated: np.ndarray | None = None    # self-evaluated and graded (None: every project)
    self_grade: np.ndarray | None = None   # the grade the self-scores alone give (the MC)
    scores: ProcessScores | None = None    # the evaluation process's scores (None: not run)
    soft_targets: np.ndarray | None = None  # projects with soft targets (measurement space)

    @property
    def graded(self) -> np.ndarray:
        """Projects in the portfolio that were evaluated and graded this year."""
        return self.active if self.evaluated is None else self.active & self.evaluated

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

    @cached_property
    def next_budget(self) -> np.ndarray:
        return self._held(self.link.next_budget)

    @cached_property
    def held_next_ascending(self) -> tuple[np.ndarray, np.ndarray]:
        """Next year's budgets of the projects that hold money next year (active, more than
        0), ascending per row with +inf after them, and how many per row (rows, 1): the
        distribution metrics (the Gini coefficient, the top 10% share) sort them once."""
        held = self.active & (self.next_budget > 0)
        return (np.sort(np.where(held, self.next_budget, np.inf), axis=-1),
                held.sum(axis=-1, keepdims=True))

    @cached_property
    def kept(self) -> np.ndarray:
        return self._held(self.link.kept)

    @cached_property
    def cut(self) -> np.ndarray:
        return self._held(self.link.cut)

    @cached_property
    def cancelled(self) -> np.ndarray:
        return self._held(self.link.cancelled)

    @cached_property
    def rewarded(self) -> np.ndarray:
        return self._held(self.link.rewarded)

    @cached_property
    def postponed(self) -> np.ndarray:
        """Yuan of postponed projects (no money next year; the project is not cancelled)."""
        return self._held(self.link.postponed_money)

    @cached_property
    def lost(self) -> np.ndarray:
        """Yuan cut or cancelled per project."""
        return self.cut + self.cancelled

    @property
    def recovered_by_monitoring(self) -> np.ndarray:
        """Yuan recovered by monitoring before the rule (channel ``recovered``)."""
        return self._held(np.broadcast_to(self.recovered, self.score.shape))

    @property
    def recovered_not_rectified(self) -> np.ndarray:
        """Yuan recovered from projects fed back and not rectified (channel
        ``recovered_unrectified``; zeros without a recovery rule)."""
        if self.recovered_unrectified is None:
            return np.zeros(self.score.shape)
        return self._held(self.recovered_unrectified)

    def channel(self, name: str) -> np.ndarray:
        """One money channel (:data:`CHANNELS`), yuan per project (rows, projects)."""
        if name == "recovered":
            return self.recovered_by_monitoring
        if name == "recovered_unrectified":
            return self.recovered_not_rectified
        if name not in CHANNEL_NAMES:
            raise KeyError(name)
        return getattr(self, name)

    @property
    def money_gap(self) -> np.ndarray:
        """``budget − Σ channels`` per project (rows, projects), yuan: zero up to rounding
        noise, for every rule — the money identity."""
        gap = np.array(self._held(self.gross), dtype=float)
        for name in CHANNEL_NAMES:
            gap = gap - self.channel(name)
        return gap

    @property
    def status(self) -> np.ndarray:
        """Index into :data:`perfsim.kernel.linkage.STATUSES` per project: the linkage's
        status, except that a project the rule kept whole but that lost money to a recovery
        (monitoring, or not rectifying) is ``recovered`` — never ``kept``."""
        s = self.link.status
        taken = (self.recovered_by_monitoring + self.recovered_not_rectified) > 0
        kept = STATUSES.index("kept")
        return np.where((s == kept) & taken, np.int8(STATUSES.index("recovered")),
                        s).astype(np.int8)


def escalated(poor: np.ndarray, poor_run: np.ndarray | None, escalation_years: int
              ) -> np.ndarray | None:
    """Projects cancelled whatever the linkage rule because they are graded 差 for the
    ``escalation_years``-th year in a row (``poor_run``: the years in a row so far; 0 = off)."""
    if not escalation_years:
        return None
    run = 0 if poor_run is None else poor_run
    return poor & (run + 1 >= escalation_years)


def rectify(feedback: np.ndarray, probability: float | np.ndarray,
            draw: np.ndarray | None = None, observed: np.ndarray | None = None) -> np.ndarray:
    """Which projects fed back rectified within the deadline: where the data say it
    (``observed``, True = rectified), else those whose uniform ``draw`` in [0, 1) lies below
    ``probability`` (scalar or per row (rows, 1)) — so probability 1 rectifies every one and
    0 none, with or without a draw."""
    if observed is not None:
        return feedback & np.asarray(observed, dtype=bool)
    p = np.asarray(probability, dtype=float)
    told = feedback if p.shape == feedback.shape else True
    if np.all(np.where(told, p, 1.0) >= 1.0):
        return feedback.copy()
    if np.all(np.where(told, p, 0.0) <= 0.0):
        return np.zeros(feedback.shape, dtype=bool)
    if draw is None:
        raise InputError(where="linkage", field="rectification.probability",
                         value=float(p.flat[0]), problem="a probability between 0 and 1 needs "
                         "the year's random draw (run it through perfsim.run) or a portfolio "
                         "column 'rectified'")
    return feedback & (np.asarray(draw, dtype=float) < p)


def blacklisted_entrants(state: CycleState, units: np.ndarray) -> np.ndarray | None:
    """Which new projects (``units``: their unit indices, (rows, entrants)) belong to a unit
    blacklisted for the budgets decided last year, which took in their requests; None when
    no unit was."""
    if state.listed is None or not np.any(state.listed):
        return None
    return np.take_along_axis(state.listed, np.asarray(units, dtype=np.intp), axis=-1)


def unit_counts(mask: np.ndarray, units: np.ndarray, n_units: int) -> np.ndarray:
    """Per row, how many projects of each unit are marked: (rows, projects) → (rows, units);
    ``units`` (projects,) or per row (rows, projects)."""
    R = mask.shape[0]
    idx = np.broadcast_to(np.arange(R)[:, None] * n_units + units, mask.shape)[mask]
    return np.bincount(idx, minlength=R * n_units).reshape(R, n_units)


def evaluate_year(score: np.ndarray, budget: np.ndarray, grading: Grading, linkage: Linkage,
                  *, flags: Mapping[str, np.ndarray] | None = None,
                  active: np.ndarray | None = None, cutoffs: np.ndarray | None = None,
                  table: np.ndarray | None = None, true_score: np.ndarray | None = None,
                  recovered: np.ndarray | None = None, poor_run: np.ndarray | None = None,
                  escalation_years: int = 0, rectify_draw: np.ndarray | None = None,
                  units: np.ndarray | None = None, state: CycleState | None = None,
                  rows: Mapping[str, np.ndarray] | None = None,
                  checked: np.ndarray | None = None, costs: Costs | None = None,
                  evaluator: np.ndarray | None = None, pre_draw: np.ndarray | None = None,
                  monitoring: Monitoring | None = None,
                  entry_gate: np.ndarray | None = None, entry_saved: np.ndarray | None = None,
                  evaluated: np.ndarray | None = None, self_score: np.ndarray | None = None,
                  years_left: np.ndarray | None = None,
                  gated: np.ndarray | None = None) -> YearOutcome:
    """Grade ``score`` (rows, projects) and link ``budget`` (projects,) or (rows, projects).

    ``active`` marks the projects in the portfolio this year; ``recovered`` (yuan) is taken
    from the budget before the linkage rule (dual monitoring); ``poor_run`` and
    ``escalation_years`` cancel projects graded 差 for that many years in a row;
    ``true_score`` is graded the same way for the decision-quality metrics.

    The evaluation cycle of the linkage policy: projects in its rectification grades are fed
    back and rectify (:func:`rectify`; ``rectify_draw`` uniforms (rows, projects), or the
    ``rectified`` flag where the portfolio says it); the unrectified lose the recovered share
    of their budget before the rule and take its unrectified multipliers; a project below
    the zero-performance line for its years in a row is cancelled; a unit (``units``: each
    project's unit index) that breaks a blacklist rule has all its projects cut. ``state``
    carries the runs and the blacklist from the previous year (None: a first year), ``rows``
    the linkage values that differ per row (:func:`perfsim.kernel.linkage.row_value`).
    ``checked`` (the projects re-checked by the evaluation process), ``evaluator`` (who
    re-checked each, :data:`perfsim.kernel.evaluation.EVALUATORS`) and ``costs`` give the
    evaluation cost metrics.

    The pre-evaluation gate of the linkage policy judges next year's requests by an expected
    score: the latent score (``true_score`` where known, else ``score``) plus the gate's noise
    × ``pre_draw`` (standard normals (rows, projects)). ``monitoring`` (dual monitoring with
    targets, :func:`perfsim.kernel.evaluation.monitor`) gives the yuan recovered before the
    rule when ``recovered`` is None, and the projects it requires to rectify join the
    rectification's feedback. ``entry_gate``/``entry_saved``: the gate's decisions on the
    new projects' requests as they entered this year (the Monte Carlo), counted in the
    pre-evaluation metrics. ``gated`` (rows, projects) marks the continuing projects whose
    request the gate has already judged (the Monte Carlo's default,
    ``simulation.dynamics.pre_evaluation: entry``): their request passes as the rule leaves
    it, with no decision (−1) and nothing saved; None: every request is judged.

    A project whose ``self_evaluated`` flag says no (its own column, or its unit's refusal
    in ``department_flags``) is not evaluated either: it has no self-evaluation to grade,
    whatever consequence a precondition on that flag then has for its money.

    The coverage rule of the linkage policy (:class:`perfsim.kernel.linkage.Coverage`)
    decides which projects self-evaluate this year from their budgets (and, where units add
    the projects they expect best, from ``score``), and its cross-year
    rule, with deferred evaluation, which projects are due (``years_left``: each project's
    years to completion), unless ``evaluated`` says it (the Monte Carlo decides it before the
    evaluation process, with the same rules):
    the others take no grade quota, are not fed back, counted poor or zero-performing, and
    keep their budget through the rule. ``self_score`` (the self-evaluations before any
    re-check) is graded too, for the decision-quality metrics of the re-checks.
    """
    score = np.atleast_2d(np.asarray(score, dtype=float))
    budget = np.broadcast_to(np.asarray(budget, dtype=float), score.shape)
    everyone = active is None
    if everyone:  # every project in: no masking needed
        active = np.broadcast_to(True, score.shape)
        gross, cancel = budget, None
    else:
        gross, cancel = np.where(active, budget, 0.0), ~active
    if evaluated is None:
        evaluated = linkage.evaluated(gross, None if everyone else active, units, rows,
                                      years_left, score)
    done = None if flags is None else flags.get("self_evaluated")
    if done is not None and not np.all(done):   # a unit that refused to self-evaluate
        done = np.broadcast_to(np.asarray(done, dtype=bool), score.shape)
        evaluated = done if evaluated is None else evaluated & done
    graded = (None if everyone else active) if evaluated is None else active & evaluated
    grade = grading.grade(score, cutoffs, graded)
    true_grade = (None if true_score is None else grading.grade(true_score, cutoffs, graded))
    self_grade = (None if self_score is None else grading.grade(self_score, cutoffs, graded))
    is_poor = grade == len(grading.labels) - 1
    if evaluated is not None:
        is_poor &= evaluated
    poor = escalated(is_poor, poor_run, escalation_years)
    if poor is not None:
        cancel = poor if cancel is None else cancel | poor
    if recovered is None and monitoring is not None:
        recovered = monitoring.recovered
    linked = gross if recovered is None else gross - recovered
    state = state or CycleState()
    feedback = rectified = unrectified = taken = unrectified_run = None
    rect = linkage.rectification
    if rect is not None:
        codes = [grading.labels.index(c) for c in rect.grades]
        feedback = np.isin(grade, codes) & (active if graded is None else graded)
        if monitoring is not None and monitoring.feedback is not None:
            feedback = feedback | (monitoring.feedback & active)
        if rect.by_grade:   # a probability per grade fed back
            prob: float | np.ndarray = np.zeros(score.shape)
            for code, v in rect.by_grade.items():
                prob = np.where(grade == grading.labels.index(code),
                                row_value(rows, f"rectification.probability.{code}", v), prob)
        else:
            prob = row_value(rows, "rectification.probability", rect.probability)
        rectified = rectify(feedback, prob, rectify_draw,
                            None if flags is None else flags.get("rectified"))
        unrectified = feedback & ~rectified
        if rect.cancel_after:
            run = 0 if state.unrectified_run is None else state.unrectified_run
            again = unrectified & (run + 1 >= rect.cancel_after)
            cancel = again if cancel is None else cancel | again
            unrectified_run = np.where(unrectified, run + 1, 0).astype(np.int16)
        share = row_value(rows, "rectification.recover", rect.recover)
        if np.any(np.asarray(share) > 0):
            taken = np.where(unrectified, share * linked, 0.0)
            linked = linked - taken
    zero_run = None
    zp = linkage.zero_performance
    if zp is not None:
        below = (score < row_value(rows, "zero_performance.below", zp.below)) & (
            active if graded is None else graded)
        run = 0 if state.zero_run is None else state.zero_run
        chronic = below & (run + 1 >= zp.years)
        cancel = chronic if cancel is None else cancel | chronic
        zero_run = np.where(below, run + 1, 0).astype(np.int16)
    blacklisted = n_listed = left = listed = None
    bl = linkage.blacklist
    if bl is not None and units is None:
        raise InputError(where="linkage", field="blacklist", problem="a blacklist needs each "
                         "project's unit (department): run it through perfsim.run")
    if bl is not None:
        units = np.asarray(units, dtype=np.intp)
        n_units = int(units.max(initial=-1)) + 1
        breach = np.zeros(score.shape, dtype=bool)
        if "unrectified" in bl.after and unrectified is not None:
            breach |= unrectified
        if "poor" in bl.after:
            breach |= is_poor & active
        if "precondition" in bl.after:
            for name in linkage.preconditions:
                if flags is not None and name in flags:
                    breach |= ~np.asarray(flags[name], dtype=bool) & active
        broke = unit_counts(breach, units, n_units) > 0
        before = (np.zeros(broke.shape, dtype=np.int16) if state.blacklist_left is None
                  else state.blacklist_left)
        listed = broke | (before > 0)
        blacklisted = (listed[:, units] if units.ndim == 1 else
                       np.take_along_axis(listed, units, axis=-1)) & active
        n_listed = listed.sum(axis=-1).astype(float)
        left = np.where(broke, bl.years - 1, np.maximum(before - 1, 0)).astype(np.int16)
    expected = None
    pre = linkage.pre_evaluation
    if pre is not None:
        sd = row_value(rows, "pre_evaluation.noise", pre.noise)
        latent = score if true_score is None else true_score
        if pre_draw is None and np.any(np.asarray(sd) > 0):
            raise InputError(where="linkage", field="pre_evaluation.noise", value=pre.noise,
                             problem="a noisy expected score needs the year's random draw "
                                     "(run it through perfsim.run)")
        expected = latent if pre_draw is None else latent + sd * np.asarray(pre_draw, float)
    judged = expected
    once = expected is not None and gated is not None and bool(np.any(gated))
    if once:   # a request judged before passes as it is
        judged = np.where(gated, np.inf, expected)
    link = linkage.apply(linked, score, grade, flags, cancel=cancel, table=table,
                         unrectified=unrectified, blacklisted=blacklisted, rows=rows,
                         expected=judged, exempt=None if evaluated is None else ~evaluated)
    if once and link.gate is not None:
        link = dataclasses.replace(link, gate=np.where(gated, np.int8(-1), link.gate).astype(
            np.int8))
    return YearOutcome(score=score, grade=grade, link=link, gross=gross,
                       recovered=(np.broadcast_to(0.0, score.shape) if recovered is None
                                  else np.asarray(recovered, dtype=float)),
                       active=active, true_score=true_score, true_grade=true_grade,
                       n_grades=len(grading.labels), everyone=everyone, feedback=feedback,
                       rectified=rectified, recovered_unrectified=taken,
                       blacklisted=blacklisted, units_blacklisted=n_listed,
                       after=CycleState(zero_run=zero_run, blacklist_left=left,
                                        unrectified_run=unrectified_run, listed=listed),
                       checked=checked, costs=costs, evaluator=evaluator, expected=expected,
                       monitoring=monitoring, units=units, entry_gate=entry_gate,
                       entry_saved=entry_saved, evaluated=evaluated, self_grade=self_grade)
