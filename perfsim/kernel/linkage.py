"""Budget linkage (结果应用): how grades and scores move next year's money.

A :class:`Linkage` turns each project's grade or score into a **multiplier** of its budget:
next year's base budget is ``budget × multiplier``. A multiplier of 0 is a cancellation.
Then, in this order:

1. **rectification** (整改) — projects graded in the feedback grades (default: the lowest) are
   told to rectify; those that did not (``unrectified``) take the rectification block's own
   multipliers (e.g. 差 and rectified → 0.7, 差 and not rectified → 0, cancelled);
2. **floor and cap** — multipliers of projects that are not cancelled are clipped to
   [floor, cap] (a floor of 0.8 means nobody loses more than 20% unless cancelled); then
   the projects not evaluated this year (a coverage or deferred cross-year rule) take
   multiplier 1 — coverage wins: with ``cap: 0.9`` a project that was not evaluated keeps its
   whole budget;
3. **preconditions** — a yes/no flag per project (a portfolio column such as ``has_targets``
   or ``self_evaluated``, or a department-level flag) that fails has its consequence whatever
   the grade: ``no_budget`` (multiplier 0, the default), ``cut`` (multiplier × (1 − share)) or
   ``postpone`` (no money next year, the project is not cancelled); a **blacklisted** unit's
   projects are cut by the blacklist's share (1 = no budget);
4. **pre-evaluation** (事前绩效评估) — next year's request of each project still funded passes
   a gate on its expected performance (a noisy score): below ``reject_below`` points it is
   rejected (multiplier 0), below ``postpone_below`` postponed, below ``reduce_below``
   reduced by the ``reduce`` share, else funded as requested;
5. **savings pool** — the money taken away (Σ budget − Σ budget × multiplier) is either
   returned to the treasury (``pool: treasury``, default) or redistributed to the projects in
   the recipient grades (default: the best grade of the label set, 优 in the national set) in
   proportion to their budgets (``pool: redistribute``), which keeps the total unchanged. The
   recipients are the projects of those grades that were evaluated this year, keep a
   positive multiplier after steps 1–4 (not cancelled, rejected or postponed) and fail no
   precondition (whatever its consequence, a cut included) and are not blacklisted; each
   takes a share in proportion to the budget the rule acts on (this year's, after monitoring
   recoveries and the unrectified recovery), not to its multiplied budget. With no eligible
   recipient the pool goes to the treasury. A negative pool (a rule that gives
   more than it takes) is never redistributed. Recipients are checked against the label set
   only when the pool is redistributed, so any label set works with a treasury pool.

All functions take arrays shaped (..., projects) and never loop over projects.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from perfsim.errors import InputError
from perfsim.kernel.grading import NATIONAL, LabelSet

LIUPANSHUI_RATIO_RANGE = (0.10, 0.20)
POOLS = ("treasury", "redistribute")
#: what happened to a project's money (``recovered``: the rule kept it whole, a recovery
#: took part of it; :attr:`perfsim.kernel.year.YearOutcome.status`)
STATUSES = ("kept", "cut", "cancelled", "rewarded", "postponed", "recovered")
CONSEQUENCES = ("no_budget", "cut", "postpone")
BREACHES = ("unrectified", "precondition", "poor")
#: the pre-evaluation's decisions, in order of severity
GATE = ("fund", "reduce", "postpone", "reject")


@dataclass(frozen=True)
class GradeTable:
    """Grade → multiplier, aligned with a label set (best grade first)."""

    multipliers: tuple[float, ...]

    def __call__(self, score: np.ndarray, grade: np.ndarray) -> np.ndarray:
        return np.take(np.asarray(self.multipliers, dtype=float), grade)

    @property
    def monotone(self) -> bool:
        m = self.multipliers
        return all(a >= b for a, b in zip(m, m[1:], strict=False))


@dataclass(frozen=True)
class ScoreCurve:
    """Score → multiplier, piecewise linear through ``(scores[i], multipliers[i])``, flat
    beyond the end points."""

    scores: tuple[float, ...]
    multipliers: tuple[float, ...]

    def __call__(self, score: np.ndarray, grade: np.ndarray) -> np.ndarray:
        return np.interp(score, self.scores, self.multipliers)

    @property
    def monotone(self) -> bool:
        m = self.multipliers
        return all(a <= b for a, b in zip(m, m[1:], strict=False))


@dataclass(frozen=True)
class LinkageResult:
    """Per-project outcome arrays, all shaped like the scores (..., projects), yuan."""

    multiplier: np.ndarray
    next_budget: np.ndarray
    reward: np.ndarray
    precondition_failed: np.ndarray
    budget: np.ndarray
    postponed: np.ndarray | None = None   # no money next year, not cancelled (None: nobody)
    cut_failed: np.ndarray | None = None  # failed a precondition whose consequence is a cut
    #: the pre-evaluation's decision per project (index into :data:`GATE`, −1 where nothing
    #: is requested: cancelled by the rule; None: no gate)
    gate: np.ndarray | None = None
    gate_saved: np.ndarray | None = None  # yuan the gate took off (reduced and rejected)

    @property
    def status(self) -> np.ndarray:
        """Index into :data:`STATUSES` per project, from the rule alone (never
        ``recovered``: the recoveries before the rule are the year's,
        :attr:`perfsim.kernel.year.YearOutcome.status`)."""
        m, r = self.multiplier, self.reward
        later = False if self.postponed is None else self.postponed
        return np.select([later & (m == 0), m == 0, (m > 1) | (r > 0), m < 1], [4, 2, 3, 1],
                         default=0).astype(np.int8)

    @property
    def kept(self) -> np.ndarray:
        return self.budget * np.minimum(self.multiplier, 1.0)

    @property
    def cut(self) -> np.ndarray:
        m = self.multiplier
        return np.where(m > 0, self.budget * np.clip(1.0 - m, 0.0, None), 0.0)

    @property
    def cancelled(self) -> np.ndarray:
        gone = self.multiplier == 0
        if self.postponed is not None:
            gone = gone & ~self.postponed
        return np.where(gone, self.budget, 0.0)

    @property
    def postponed_money(self) -> np.ndarray:
        """Budget of postponed projects (yuan): no money next year, the project stays."""
        if self.postponed is None:
            return np.zeros(self.multiplier.shape)
        return np.where(self.postponed & (self.multiplier == 0), self.budget, 0.0)

    @property
    def rewarded(self) -> np.ndarray:
        return self.budget * np.clip(self.multiplier - 1.0, 0.0, None) + self.reward


@dataclass(frozen=True)
class Rectification:
    """Rectification (整改): projects graded in ``grades`` (codes) receive feedback and
    rectify within the deadline with ``probability`` (a share in [0, 1]), or with a
    probability per grade (``by_grade``, code → share: rectifying may depend on how badly a
    project performed); a portfolio column ``rectified`` says it for the observed year. A
    project fed back and not rectified takes the ``unrectified`` multiplier of its grade
    (grades not listed keep the rule's), and the ``recover`` share of its remaining budget is
    recovered this year (Zhucheng [E4]); one left unrectified ``cancel_after`` times in a row
    is cancelled ("reduce, up to cancellation", Jinan [P9]; 0 = never). In the Monte Carlo a
    rectified project's latent performance rises by ``effect`` (attainment)."""

    grades: tuple[str, ...]
    probability: float = 0.0
    unrectified: Mapping[str, float] = field(default_factory=dict)
    recover: float = 0.0
    effect: float = 0.0
    cancel_after: int = 0
    by_grade: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Blacklist:
    """A unit (department) that breaks a rule — ``after``: a project fed back and not
    rectified, a failed precondition, or a project graded 差 — is blacklisted for the budgets
    decided in that year and the ``years − 1`` following ones: every project of the unit is
    cut by ``cut`` (1 = no budget)."""

    after: tuple[str, ...] = ("unrectified",)
    years: int = 1
    cut: float = 1.0


@dataclass(frozen=True)
class ZeroPerformance:
    """Chronic zero performance (Wenzhou [P7]): a recurring project scoring below ``below``
    points for ``years`` years in a row is cancelled."""

    below: float
    years: int = 1


@dataclass(frozen=True)
class PreEvaluation:
    """The pre-evaluation gate (事前绩效评估; Liupanshui [E2], county rules [P6]: "low expected
    performance → postpone"): each request's expected-performance score — the project's
    latent score plus normal noise of sd ``noise`` points — decides it: below
    ``reject_below`` rejected, below ``postpone_below`` postponed (no money next year, not
    cancelled), below ``reduce_below`` reduced by the ``reduce`` share, else funded as asked.
    A threshold of None leaves that consequence out."""

    noise: float = 0.0
    reject_below: float | None = None
    postpone_below: float | None = None
    reduce_below: float | None = None
    reduce: float = 0.0

    def decide(self, expected: np.ndarray, rows: Mapping[str, np.ndarray] | None = None
               ) -> np.ndarray:
        """Index into :data:`GATE` per request (the most severe threshold it is below)."""
        code = np.zeros(np.shape(expected), dtype=np.int8)
        for k, key in ((1, "reduce_below"), (2, "postpone_below"), (3, "reject_below")):
            line = getattr(self, key)
            if line is not None:
                below = expected < row_value(rows, f"pre_evaluation.{key}", line)
                code = np.where(below, np.int8(k), code)
        return code

    def judge(self, expected: np.ndarray, request: np.ndarray,
              rows: Mapping[str, np.ndarray] | None = None
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Requests (yuan, or multipliers of a budget) through the gate: the decision codes
        (:meth:`decide`), the requests after it (0 when postponed or rejected) and what it
        saved (reductions and rejections; a postponed request is not saved)."""
        code = self.decide(expected, rows)
        cut = row_value(rows, "pre_evaluation.reduce", self.reduce)
        after = np.where(code >= 2, 0.0, np.where(code == 1, request * (1.0 - cut), request))
        return code, after, np.where(code == 2, 0.0, request - after)


@dataclass(frozen=True)
class Coverage:
    """Which projects are self-evaluated, and so graded and linked (Xinjian district [S2]:
    every project of 1,000,000 yuan or more must self-evaluate, and each department's
    self-evaluated funds must reach 60% of its project funds). Every project of at least
    ``min_budget`` yuan is evaluated; then, within each unit (``by: department``) or over the
    whole portfolio (``by: portfolio``), remaining projects are added — the largest first
    (``fill: largest``), or those the unit expects to perform best (``fill: best``: a unit
    showing its good side, which S2's rule leaves open); ties to the project listed first —
    until the evaluated funds reach ``funds_share`` of the funds. The other projects are not
    graded: the grade moves none of their money."""

    min_budget: float = math.inf
    funds_share: float = 0.0
    by: str = "department"
    fill: str = "largest"

    def evaluated(self, budget: np.ndarray, active: np.ndarray | None = None,
                  units: np.ndarray | None = None,
                  rows: Mapping[str, np.ndarray] | None = None,
                  performance: np.ndarray | None = None) -> np.ndarray:
        """The projects self-evaluated this year, (rows, projects) bool, from their budgets
        (rows, projects) in yuan; ``active`` marks the projects in the portfolio, ``units``
        each project's unit index ((projects,) or per row), ``rows`` per-row values of
        ``coverage.min_budget`` and ``coverage.funds_share``, ``performance`` what the unit
        expects of each project (points; ``fill: best`` adds the highest first)."""
        b = np.atleast_2d(np.asarray(budget, dtype=float))
        live = (np.ones(b.shape, dtype=bool) if active is None
                else np.broadcast_to(np.asarray(active, dtype=bool), b.shape))
        b = np.where(live, b, 0.0)
        least = row_value(rows, "coverage.min_budget", self.min_budget)
        share = row_value(rows, "coverage.funds_share", self.funds_share)
        must = live & (b >= least)
        if not np.any(np.asarray(share) > 0):
            return must
        if self.by == "department":
            if units is None:
                raise InputError(where="linkage", field="coverage.by", value=self.by,
                                 problem="a share of each department's funds needs each "
                                         "project's department: run it through perfsim.run")
            u = np.broadcast_to(np.asarray(units, dtype=np.intp), b.shape)
        else:
            u = np.zeros(b.shape, dtype=np.intp)
        R, P = b.shape
        if self.fill == "best" and performance is None:
            raise InputError(where="linkage", field="coverage.fill", value=self.fill,
                             problem="needs each project's expected performance: run it "
                                     "through perfsim.run")
        key = b if self.fill == "largest" else np.broadcast_to(
            np.asarray(performance, dtype=float), b.shape)
        # each row's projects by unit, then the first to add (stable: listing order)
        order = np.lexsort((-key, u), axis=-1)
        bs, us = np.take_along_axis(b, order, -1), np.take_along_axis(u, order, -1)
        ms = np.take_along_axis(must, order, -1)
        n_units = int(u.max(initial=-1)) + 1
        cell = np.arange(R)[:, None] * n_units + us
        funds = np.bincount(cell.ravel(), weights=bs.ravel(), minlength=R * n_units)
        given = np.bincount(cell.ravel(), weights=np.where(ms, bs, 0.0).ravel(),
                            minlength=R * n_units)
        short = (np.asarray(share) * funds.reshape(R, n_units)
                 - given.reshape(R, n_units)).ravel()[cell]   # each project's unit's gap
        rest = np.where(ms | (bs <= 0), 0.0, bs)
        before = np.cumsum(rest, axis=-1) - rest            # the unit's larger ones before it
        start = np.zeros(b.shape, dtype=bool)
        start[:, 0] = True
        start[:, 1:] = us[:, 1:] != us[:, :-1]
        base = np.maximum.accumulate(np.where(start, before, -np.inf), axis=-1)
        pick = ms | ((rest > 0) & (before - base < short - 1e-9))
        out = np.empty_like(pick)
        np.put_along_axis(out, order, pick, axis=-1)
        return out


@dataclass(frozen=True)
class CrossYear:
    """Cross-year projects (跨年项目; the county rules [P6]: a stage evaluation each year and an
    overall one at completion, or, for projects whose benefits show late, the overall
    evaluation deferred; the people's congress [S8]: annual evaluation misjudges long
    projects). ``evaluation``:

    - ``annual`` — judged each year against the whole project's targets: before its last
      year only ``1 − lag`` of a project's results show, so what the evaluations measure is
      that share of its performance;
    - ``by_stage`` — judged against the stage's interim targets: the evaluations measure its
      performance as it is;
    - ``deferred`` — not graded before its last year (its budget moves with no grade).

    ``lag`` (a share) acts in the Monte Carlo, where the true performance is known."""

    evaluation: str = "by_stage"
    lag: float = 0.0

    def due(self, years_left: np.ndarray) -> np.ndarray | None:
        """The projects graded this year: with deferred evaluation those in their last year;
        None (every project) otherwise."""
        if self.evaluation != "deferred":
            return None
        return np.asarray(years_left) <= 1

    def shown(self, years_left: np.ndarray, rows: Mapping[str, np.ndarray] | None = None
              ) -> np.ndarray | None:
        """The share of each project's performance its evaluations see this year: ``1 −
        lag`` for a project judged annually before its last year, else 1; None when every
        project shows all of it."""
        lag = row_value(rows, "cross_year.lag", self.lag)
        if self.evaluation != "annual" or not np.any(np.asarray(lag) > 0):
            return None
        return np.where(np.asarray(years_left) > 1, 1.0 - lag, 1.0)


def row_value(rows: Mapping[str, np.ndarray] | None, name: str, default: float
              ) -> float | np.ndarray:
    """A linkage value that may differ per kernel row: ``rows[name]`` (rows,) shaped
    (rows, 1) to broadcast over projects, else the policy's own ``default``."""
    if rows is None or name not in rows:
        return default
    v = np.asarray(rows[name], dtype=float)
    return v.reshape(v.shape + (1,))


@dataclass(frozen=True)
class Linkage:
    """A budget-linkage policy. Build it with :func:`linkage_from_dict` or
    :func:`liupanshui`; copy it with ``dataclasses.replace`` to vary one field."""

    rule: GradeTable | ScoreCurve
    labels: LabelSet = NATIONAL
    floor: float | None = None
    cap: float | None = None
    pool: str = "treasury"
    recipients: tuple[str, ...] = ()  # empty: the best grade of the label set
    preconditions: tuple[str, ...] = ()
    name: str = "custom"
    params: Mapping[str, Any] = field(default_factory=dict, compare=False)
    #: per precondition (aligned): (consequence, share) — ``no_budget`` when empty
    consequences: tuple[tuple[str, float], ...] = ()
    rectification: Rectification | None = None
    blacklist: Blacklist | None = None
    zero_performance: ZeroPerformance | None = None
    pre_evaluation: PreEvaluation | None = None
    coverage: Coverage | None = None
    cross_year: CrossYear | None = None

    def __post_init__(self) -> None:
        if self.pool not in POOLS:
            raise InputError(where="linkage", field="pool", value=self.pool,
                             problem=f"must be one of {', '.join(POOLS)}")
        for key in ("floor", "cap"):
            v = getattr(self, key)
            if v is not None and (not math.isfinite(v) or v < 0):
                raise InputError(where="linkage", field=key, value=v,
                                 problem="must be a finite number >= 0")
        if self.floor is not None and self.cap is not None and self.floor > self.cap:
            raise InputError(where="linkage", field="floor", value=self.floor,
                             problem=f"is above the cap {self.cap:g}")
        if self.pool == "redistribute":
            for code in self.recipients:
                try:
                    self.labels.index(code)
                except InputError as err:
                    raise err.at(where="linkage", field="recipients") from None
        if self.consequences and len(self.consequences) != len(self.preconditions):
            raise InputError(where="linkage", field="preconditions",
                             value=list(self.preconditions),
                             problem="needs one consequence per precondition")
        if self.rectification is not None:
            for code in (*self.rectification.grades, *self.rectification.unrectified):
                try:
                    self.labels.index(code)
                except InputError as err:
                    raise err.at(where="linkage", field="rectification") from None
        if isinstance(self.rule, GradeTable) and len(self.rule.multipliers) != len(self.labels):
            raise InputError(where="linkage", field="multipliers",
                             value=list(self.rule.multipliers),
                             problem=f"need one per grade ({len(self.labels)})")

    def evaluated(self, budget: np.ndarray, active: np.ndarray | None = None,
                  units: np.ndarray | None = None,
                  rows: Mapping[str, np.ndarray] | None = None,
                  years_left: np.ndarray | None = None,
                  performance: np.ndarray | None = None) -> np.ndarray | None:
        """The projects evaluated and graded this year: those the coverage rule has
        self-evaluated (:meth:`Coverage.evaluated`; ``performance``: what each unit expects
        of its projects, in points) and, where cross-year projects' overall evaluation is
        deferred, only those in their last year (``years_left``: each project's years to
        completion, this one included); None without either rule (every project)."""
        mask = None
        if self.coverage is not None:
            mask = self.coverage.evaluated(budget, active, units, rows, performance)
        due = (None if self.cross_year is None or years_left is None
               else self.cross_year.due(years_left))
        if due is not None:
            shape = np.shape(np.atleast_2d(budget))
            due = np.broadcast_to(due, shape)
            if active is not None:
                due = due & np.broadcast_to(np.asarray(active, dtype=bool), shape)
            mask = due if mask is None else mask & due
        return mask

    @property
    def monotone(self) -> bool:
        """True when a better score never gets a lower multiplier (before the pool)."""
        return self.rule.monotone

    @property
    def recipient_grades(self) -> tuple[str, ...]:
        """The grades that share a redistributed pool (default: the best grade)."""
        return self.recipients or self.labels.codes[:1]

    def multiplier(self, score: np.ndarray, grade: np.ndarray,
                   flags_ok: np.ndarray | bool = True, table: np.ndarray | None = None,
                   unrectified: np.ndarray | None = None,
                   rows: Mapping[str, np.ndarray] | None = None,
                   exempt: np.ndarray | None = None) -> np.ndarray:
        """Multipliers after rectification, floor, cap, the not-evaluated exemption and
        no-budget preconditions, in that order (before the pool). ``table`` (replications,
        grades) overrides a grade table per replication; ``unrectified`` marks projects fed
        back and not rectified; ``rows`` holds values that differ per row
        (:func:`row_value`); ``exempt`` marks projects not evaluated (:class:`Coverage`),
        whose grade moves none of their money (multiplier 1, whatever the floor and cap)."""
        if table is not None:
            m = np.take_along_axis(np.asarray(table, dtype=float),
                                   np.asarray(grade, dtype=np.intp), axis=-1)
        else:
            m = np.asarray(self.rule(np.asarray(score, float), np.asarray(grade)), dtype=float)
        shape = np.broadcast_shapes(np.shape(score), np.shape(grade))
        if m.shape != shape:
            m = np.broadcast_to(m, shape).copy()
        rect = self.rectification
        if unrectified is not None and rect is not None and rect.unrectified:
            for code, v in rect.unrectified.items():   # a loop over grades, not projects
                alt = row_value(rows, f"rectification.unrectified.{code}", v)
                m = np.where(unrectified & (grade == self.labels.index(code)), alt, m)
        if self.floor is not None or self.cap is not None:
            clipped = np.clip(m, self.floor if self.floor is not None else -np.inf,
                              self.cap if self.cap is not None else np.inf)
            m = np.where(m > 0, clipped, m)
        if exempt is not None:   # after the floor and cap: a cap of 0.9 does not cut them
            m = np.where(exempt, 1.0, m)
        return m if flags_ok is True else np.where(flags_ok, m, 0.0)

    def apply(self, budget: np.ndarray, score: np.ndarray, grade: np.ndarray,
              flags: Mapping[str, np.ndarray] | None = None, *,
              cancel: np.ndarray | None = None, table: np.ndarray | None = None,
              unrectified: np.ndarray | None = None, blacklisted: np.ndarray | None = None,
              rows: Mapping[str, np.ndarray] | None = None,
              expected: np.ndarray | None = None,
              exempt: np.ndarray | None = None) -> LinkageResult:
        """Apply the policy. ``budget`` (projects,) or (..., projects) in yuan; ``flags`` maps
        precondition names to boolean arrays (True = satisfied); ``cancel`` marks projects
        cancelled whatever their grade (e.g. repeated poor grades); ``table`` overrides a grade
        table per replication; ``unrectified`` marks projects fed back and not rectified,
        ``blacklisted`` the projects of blacklisted units; ``rows`` holds linkage values
        that differ per row (:func:`row_value`); ``expected`` is each request's
        expected-performance score for the pre-evaluation gate (None: no gate); ``exempt``
        marks the projects not evaluated (:class:`Coverage`): the rule leaves their budget
        as it is and they share no pool, while preconditions, blacklists and the
        pre-evaluation still apply."""
        budget = np.asarray(budget, dtype=float)
        ok: np.ndarray | bool = True
        failed_any: np.ndarray | bool = False   # any precondition failed or blacklisted
        cut_any: np.ndarray | bool = False      # a precondition with a cut failed
        scale: np.ndarray | None = None
        later: np.ndarray | bool = False
        for k, name in enumerate(self.preconditions):
            if flags is None or name not in flags:
                raise InputError(where="linkage", field="preconditions", value=name,
                                 problem="the portfolio has no such column and no department "
                                         "flag of that name")
            fail = ~np.asarray(flags[name], dtype=bool)
            failed_any = failed_any | fail
            kind, share = self.consequences[k] if self.consequences else ("no_budget", 1.0)
            if kind == "no_budget":
                ok = ok & ~fail
            elif kind == "cut":
                cut = row_value(rows, f"preconditions.{name}.share", share)
                part = np.where(fail, 1.0 - cut, 1.0)
                scale = part if scale is None else scale * part
                cut_any = cut_any | fail
            else:
                later = later | fail
        if blacklisted is not None and self.blacklist is not None:
            cut = row_value(rows, "blacklist.cut", self.blacklist.cut)
            part = np.where(blacklisted, 1.0 - cut, 1.0)
            scale = part if scale is None else scale * part
            failed_any = failed_any | blacklisted
        if cancel is not None:
            ok = ok & ~np.asarray(cancel, dtype=bool)
        m = self.multiplier(score, grade, ok, table, unrectified, rows, exempt)
        postponed = None
        if later is not False:
            postponed = np.broadcast_to(later, m.shape) & (m > 0)
            m = np.where(postponed, 0.0, m)
        if scale is not None:
            m = m * scale
        b = np.broadcast_to(budget, m.shape)
        gate = gate_saved = None
        pre = self.pre_evaluation
        if pre is not None and expected is not None:
            gate, after, saved = pre.judge(expected, m, rows)
            gate = np.where(m > 0, gate, np.int8(-1)).astype(np.int8)   # −1: nothing asked
            gate_saved = b * saved
            later_gate = gate == 2
            postponed = later_gate if postponed is None else postponed | later_gate
            m = after
        base = b * m
        reward = np.broadcast_to(0.0, base.shape)   # nothing redistributed: no array needed
        good = np.asarray(ok, dtype=bool) & ~np.asarray(failed_any, dtype=bool)
        if self.pool == "redistribute":
            codes = [self.labels.index(c) for c in self.recipient_grades]
            eligible = np.isin(grade, codes) & (m > 0) & good
            if exempt is not None:
                eligible &= ~exempt
            weight = np.where(eligible, b, 0.0)
            wsum = weight.sum(axis=-1, keepdims=True)
            pool = np.clip(b.sum(axis=-1, keepdims=True) - base.sum(axis=-1, keepdims=True),
                           0.0, None)
            with np.errstate(invalid="ignore", divide="ignore"):
                reward = np.where(wsum > 0, pool * weight / wsum, 0.0)
        failed = (np.broadcast_to(False, m.shape) if ok is True
                  else ~np.broadcast_to(np.asarray(ok, bool), m.shape))
        cut_failed = None
        if cut_any is not False:
            cut_failed = np.broadcast_to(cut_any, m.shape) & ~failed
        return LinkageResult(multiplier=m, next_budget=base + reward if self.pool ==
                             "redistribute" else base, reward=reward,
                             precondition_failed=failed, budget=b, postponed=postponed,
                             cut_failed=cut_failed, gate=gate, gate_saved=gate_saved)


def check_ratio(ratio: Any, where: str = "linkage", field: str = "ratio") -> float:
    """The Liupanshui 中 cut, which must lie in [10%, 20%] ("according to the situation")."""
    low, high = LIUPANSHUI_RATIO_RANGE
    if isinstance(ratio, bool) or not isinstance(ratio, int | float | np.floating) or not (
            low - 1e-12 <= ratio <= high + 1e-12):
        raise InputError(where=where, field=field, value=ratio,
                         problem=f"the Liupanshui rule cuts 中 by {low:.0%} to {high:.0%}")
    return float(ratio)


def liupanshui_multipliers(ratio: float | np.ndarray) -> np.ndarray:
    """Multipliers 优 良 中 差 of the Liupanshui rule, (4,) or per row (rows, 4):
    1, 1, 1 − ratio, 0."""
    r = np.asarray(ratio, dtype=float)
    one = np.ones(r.shape)
    return np.stack([one, one, 1.0 - r, np.zeros(r.shape)], axis=-1)


def liupanshui(ratio: float = 0.15, labels: LabelSet = NATIONAL, **kwargs: Any) -> Linkage:
    """Liupanshui 2022 [E2]: 优 and 良 funding guaranteed; 中 cut by ``ratio`` (which must lie
    in [10%, 20%], "according to the situation"); 差 cancelled. Any label set of four grades
    takes the rule by position (优 良 合格 不合格: 合格 cut, 不合格 cancelled)."""
    ratio = check_ratio(ratio)
    if len(labels) != 4:
        raise InputError(where="linkage", field="rule", value="liupanshui",
                         problem=f"needs four grades (kept, kept, cut, cancelled), the label "
                                 f"set has {len(labels)} ({', '.join(labels.codes)}); use "
                                 "grade_table")
    return Linkage(GradeTable(tuple(float(m) for m in liupanshui_multipliers(ratio))),
                   labels=labels, name="liupanshui", params={"ratio": ratio}, **kwargs)


_COMMON = {"floor", "cap", "pool", "recipients", "preconditions", "rectification", "blacklist",
           "zero_performance", "pre_evaluation", "coverage", "cross_year"}
_RULE_KEYS = {
    "liupanshui": {"ratio"},
    "grade_table": {"multipliers"},
    "score_curve": {"points"},
}


def linkage_from_dict(spec: Mapping[str, Any] | None, labels: LabelSet = NATIONAL) -> Linkage:
    """Build a policy from a scenario's ``linkage:`` block::

        linkage:
          rule: liupanshui            # liupanshui | grade_table | score_curve
          ratio: 0.15                 # liupanshui: cut for 中, in [0.10, 0.20]
          # grade_table: multipliers: {excellent: 1.1, good: 1.0, fair: 0.85, poor: 0}
          # score_curve: points: [[0, 0], [60, 0.8], [80, 1.0], [100, 1.1]]
          floor: 0.5                  # optional, multiplier floor for non-cancelled projects
          cap: 1.2                    # optional, multiplier cap
          pool: treasury              # treasury | redistribute
          recipients: [excellent]     # grades sharing a redistributed pool (default: the best)
          preconditions:              # yes/no portfolio columns or department flags
            - has_targets             # failing → no budget (the default consequence)
            - {flag: cost_calculated, consequence: cut, share: 0.3}   # or postpone
          rectification:              # 整改 after feedback
            grades: [poor]            # fed back after these grades (default: the lowest)
            probability: 0.5          # rectified within the deadline (or {fair: 0.9, poor: 0.5})
            unrectified: {poor: 0}    # multiplier when not rectified (default: the rule's)
            cancel_after: 0           # cancelled when unrectified this many times in a row
            recover: 0.0              # share of the budget recovered when not rectified
            effect: 0.0               # Monte Carlo: latent performance gain after rectifying
          blacklist: {after: [unrectified], years: 2, cut: 1.0}   # a unit's projects cut
          zero_performance: {below: 30, years: 3}   # cancelled after k years below 30 points
          pre_evaluation:             # 事前绩效评估 of next year's requests
            noise: 5                  # sd (points) of the expected score around the latent one
            reject_below: 60          # expected score below 60 → rejected
            postpone_below: 65        # ... below 65 → postponed
            reduce_below: 75          # ... below 75 → reduced by the share below
            reduce: 0.3
          coverage:                   # who self-evaluates (the rest are not graded)
            min_budget: 1000000       # every project this large
            funds_share: 0.6          # and each department's largest until 60% of its funds
            by: department            # or portfolio
            fill: largest             # or best: each unit adds the projects it expects best
          cross_year:                 # projects with a years_left column above 1
            evaluation: by_stage      # annual | by_stage | deferred
            lag: 0.3                  # Monte Carlo: results hidden before completion
    """
    spec = dict(spec or {"rule": "liupanshui"})
    rule = spec.get("rule", "liupanshui")
    if rule not in _RULE_KEYS:
        raise InputError(where="linkage", field="rule", value=rule,
                         problem=f"unknown rule (known: {', '.join(_RULE_KEYS)})")
    allowed = _COMMON | _RULE_KEYS[rule] | {"rule"}
    for key in spec:
        if key not in allowed:
            raise InputError(where="linkage", field=key,
                             problem=f"unknown key for rule {rule} "
                                     f"(allowed: {', '.join(sorted(allowed))})")
    common: dict[str, Any] = {}
    for key in ("floor", "cap"):
        if spec.get(key) is not None:
            common[key] = _number(spec[key], key)
    if "pool" in spec:
        common["pool"] = spec["pool"]
    if "recipients" in spec:
        common["recipients"] = tuple(_str_list(spec["recipients"], "recipients"))
    if "preconditions" in spec:
        common["preconditions"], common["consequences"] = _preconditions(spec["preconditions"])
    if spec.get("rectification") is not None:
        common["rectification"] = _rectification(spec["rectification"], labels)
    if spec.get("blacklist") is not None:
        common["blacklist"] = _blacklist(spec["blacklist"])
    if spec.get("zero_performance") is not None:
        common["zero_performance"] = _zero_performance(spec["zero_performance"])
    if spec.get("pre_evaluation") is not None:
        common["pre_evaluation"] = _pre_evaluation(spec["pre_evaluation"])
    if spec.get("coverage") is not None:
        common["coverage"] = _coverage(spec["coverage"])
    if spec.get("cross_year") is not None:
        common["cross_year"] = _cross_year(spec["cross_year"])
    if rule == "liupanshui":
        return liupanshui(spec.get("ratio", 0.15), labels, **common)
    if rule == "grade_table":
        table = spec.get("multipliers")
        if not isinstance(table, Mapping):
            raise InputError(where="linkage", field="multipliers", value=table,
                             problem="must map every grade code to a multiplier")
        mults = []
        for code in labels.codes:
            zh = labels.zh[labels.codes.index(code)]
            value = table.get(code, table.get(zh))
            if value is None:
                raise InputError(where="linkage", field=f"multipliers.{code}",
                                 problem="missing: give a multiplier for every grade")
            mults.append(_number(value, f"multipliers.{code}"))
        for key in table:
            try:
                labels.index(str(key))
            except InputError:
                raise InputError(where="linkage", field="multipliers", value=key,
                                 problem=f"unknown grade (known: {', '.join(labels.codes)})"
                                 ) from None
        return Linkage(GradeTable(tuple(mults)), labels=labels, name="grade_table", **common)
    pts = spec.get("points")
    if (not isinstance(pts, Sequence) or len(pts) < 2 or not all(
            isinstance(p, Sequence) and len(p) == 2 for p in pts)):
        raise InputError(where="linkage", field="points", value=pts,
                         problem="must be a list of at least two [score, multiplier] pairs")
    xs = [_number(p[0], "points") for p in pts]
    ys = [_number(p[1], "points") for p in pts]
    if any(a >= b for a, b in zip(xs, xs[1:], strict=False)):
        raise InputError(where="linkage", field="points", value=xs,
                         problem="scores must be strictly increasing")
    return Linkage(ScoreCurve(tuple(xs), tuple(ys)), labels=labels, name="score_curve", **common)


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InputError(where="linkage", field=name, value=value,
                         problem="must be a finite number")
    if value < 0:
        raise InputError(where="linkage", field=name, value=value, problem="must be >= 0")
    return float(value)


def _str_list(value: Any, name: str) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, Sequence) and all(isinstance(v, str) for v in value):
        return list(value)
    raise InputError(where="linkage", field=name, value=value, problem="must be a list of names")


def _block(value: Any, name: str, allowed: set[str]) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InputError(where="linkage", field=name, value=value, problem="must be a mapping")
    for key in value:
        if key not in allowed:
            raise InputError(where="linkage", field=f"{name}.{key}",
                             problem=f"unknown key (allowed: {', '.join(sorted(allowed))})")
    return value


def _share(value: Any, name: str) -> float:
    v = _number(value, name)
    if v > 1:
        raise InputError(where="linkage", field=name, value=value,
                         problem="must be a share in [0, 1]")
    return v


def _years(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InputError(where="linkage", field=name, value=value,
                         problem="must be a whole number >= 1")
    return int(value)


def _preconditions(value: Any) -> tuple[tuple[str, ...], tuple[tuple[str, float], ...]]:
    """``[has_targets, {flag: X, consequence: cut, share: 0.3}, ...]`` → names and their
    (consequence, share)."""
    items = [value] if isinstance(value, str | Mapping) else value
    if not isinstance(items, Sequence):
        raise InputError(where="linkage", field="preconditions", value=value,
                         problem="must be a list of flag names or {flag, consequence, share}")
    names, cons = [], []
    for k, item in enumerate(items):
        where = f"preconditions[{k}]"
        if isinstance(item, str):
            names.append(item)
            cons.append(("no_budget", 1.0))
            continue
        item = _block(item, where, {"flag", "consequence", "share"})
        flag = item.get("flag")
        if not isinstance(flag, str) or not flag.strip():
            raise InputError(where="linkage", field=f"{where}.flag", value=flag,
                             problem="must name a yes/no column or department flag")
        kind = item.get("consequence", "no_budget")
        if kind not in CONSEQUENCES:
            raise InputError(where="linkage", field=f"{where}.consequence", value=kind,
                             problem=f"must be one of {', '.join(CONSEQUENCES)}")
        if kind == "cut" and "share" not in item:
            raise InputError(where="linkage", field=f"{where}.share",
                             problem="missing: a cut needs the share taken, in [0, 1]")
        if kind != "cut" and "share" in item:
            raise InputError(where="linkage", field=f"{where}.share", value=item["share"],
                             problem=f"only a cut takes a share ({kind} takes all)")
        names.append(flag.strip())
        cons.append((kind, _share(item["share"], f"{where}.share") if kind == "cut" else 1.0))
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise InputError(where="linkage", field="preconditions", value=dup,
                         problem="named twice")
    return tuple(names), tuple(cons)


def _fed_back(values: Mapping[Any, Any], field: str, labels: LabelSet, codes: Sequence[str],
              convert: Callable[[Any, str], float]) -> dict[str, float]:
    """A mapping of grades (code or label) to numbers, each grade one that is fed back
    (``codes``), converted by ``convert`` (which names ``field.<grade>`` in its errors)."""
    out = {}
    for g, v in values.items():
        try:
            code = labels.codes[labels.index(str(g))]
        except InputError as err:
            raise err.at(where="linkage", field=field) from None
        if code not in codes:
            raise InputError(where="linkage", field=f"{field}.{g}",
                             problem=f"grade {code} is not fed back (grades: {', '.join(codes)})")
        out[code] = convert(v, f"{field}.{g}")
    return out


def _rectification(value: Any, labels: LabelSet) -> Rectification:
    spec = _block(value, "rectification",
                  {"grades", "probability", "unrectified", "recover", "effect", "cancel_after"})
    grades = tuple(_str_list(spec.get("grades", [labels.codes[-1]]), "rectification.grades"))
    codes = []
    for g in grades:
        try:
            codes.append(labels.codes[labels.index(g)])
        except InputError as err:
            raise err.at(where="linkage", field="rectification.grades") from None
    unrect = spec.get("unrectified", {})
    if not isinstance(unrect, Mapping):
        raise InputError(where="linkage", field="rectification.unrectified", value=unrect,
                         problem="must map grade codes to multipliers")
    mults = _fed_back(unrect, "rectification.unrectified", labels, codes, _number)
    prob = spec.get("probability", 0.0)
    by_grade: dict[str, float] = {}
    if isinstance(prob, Mapping):
        by_grade = _fed_back(prob, "rectification.probability", labels, codes, _share)
        missing = [c for c in codes if c not in by_grade]
        if missing:
            raise InputError(where="linkage", field=f"rectification.probability.{missing[0]}",
                             problem="missing: give a probability for every grade fed back")
        prob = 0.0
    return Rectification(
        grades=tuple(codes), by_grade=by_grade,
        probability=_share(prob, "rectification.probability"),
        unrectified=mults,
        recover=_share(spec.get("recover", 0.0), "rectification.recover"),
        effect=_share(spec.get("effect", 0.0), "rectification.effect"),
        cancel_after=(0 if spec.get("cancel_after", 0) == 0 else
                      _years(spec["cancel_after"], "rectification.cancel_after")))


def _blacklist(value: Any) -> Blacklist:
    spec = _block(value, "blacklist", {"after", "years", "cut"})
    after = tuple(_str_list(spec.get("after", ["unrectified"]), "blacklist.after"))
    for a in after:
        if a not in BREACHES:
            raise InputError(where="linkage", field="blacklist.after", value=a,
                             problem=f"must be among {', '.join(BREACHES)}")
    return Blacklist(after=after, years=_years(spec.get("years", 1), "blacklist.years"),
                     cut=_share(spec.get("cut", 1.0), "blacklist.cut"))


def _zero_performance(value: Any) -> ZeroPerformance:
    spec = _block(value, "zero_performance", {"below", "years"})
    if "below" not in spec:
        raise InputError(where="linkage", field="zero_performance.below",
                         problem="missing: the score (points) below which performance is zero")
    return ZeroPerformance(below=_number(spec["below"], "zero_performance.below"),
                           years=_years(spec.get("years", 1), "zero_performance.years"))


def _pre_evaluation(value: Any) -> PreEvaluation:
    spec = _block(value, "pre_evaluation",
                  {"noise", "reject_below", "postpone_below", "reduce_below", "reduce"})
    lines = {k: (None if spec.get(k) is None else _number(spec[k], f"pre_evaluation.{k}"))
             for k in ("reject_below", "postpone_below", "reduce_below")}
    if all(v is None for v in lines.values()):
        raise InputError(where="linkage", field="pre_evaluation",
                         problem="needs a threshold: reject_below, postpone_below or "
                                 "reduce_below (points of the expected score)")
    given = [(k, v) for k, v in lines.items() if v is not None]
    for (k1, v1), (k2, v2) in zip(given, given[1:], strict=False):
        if v1 > v2:
            raise InputError(where="linkage", field=f"pre_evaluation.{k1}", value=v1,
                             problem=f"is above {k2} ({v2:g}): the thresholds rise from "
                                     "reject to postpone to reduce")
    if lines["reduce_below"] is not None and "reduce" not in spec:
        raise InputError(where="linkage", field="pre_evaluation.reduce",
                         problem="missing: reduce_below needs the share reduced, in [0, 1]")
    if "reduce" in spec and lines["reduce_below"] is None:
        raise InputError(where="linkage", field="pre_evaluation.reduce", value=spec["reduce"],
                         problem="a share reduced needs reduce_below")
    return PreEvaluation(noise=_number(spec.get("noise", 0.0), "pre_evaluation.noise"),
                         reduce=_share(spec.get("reduce", 0.0), "pre_evaluation.reduce"),
                         **lines)


COVERAGE_BY = ("department", "portfolio")
COVERAGE_FILL = ("largest", "best")


def _coverage(value: Any) -> Coverage:
    spec = _block(value, "coverage", {"min_budget", "funds_share", "by", "fill"})
    if "min_budget" not in spec and "funds_share" not in spec:
        raise InputError(where="linkage", field="coverage",
                         problem="needs min_budget (yuan) or funds_share (of the funds)")
    by = spec.get("by", "department")
    if by not in COVERAGE_BY:
        raise InputError(where="linkage", field="coverage.by", value=by,
                         problem=f"must be one of {', '.join(COVERAGE_BY)}")
    fill = spec.get("fill", "largest")
    if fill not in COVERAGE_FILL:
        raise InputError(where="linkage", field="coverage.fill", value=fill,
                         problem=f"must be one of {', '.join(COVERAGE_FILL)}")
    return Coverage(min_budget=(math.inf if spec.get("min_budget") is None else
                                _number(spec["min_budget"], "coverage.min_budget")),
                    funds_share=_share(spec.get("funds_share", 0.0), "coverage.funds_share"),
                    by=by, fill=fill)


CROSS_YEAR = ("annual", "by_stage", "deferred")


def _cross_year(value: Any) -> CrossYear:
    spec = _block(value, "cross_year", {"evaluation", "lag"})
    how = spec.get("evaluation", "by_stage")
    if how not in CROSS_YEAR:
        raise InputError(where="linkage", field="cross_year.evaluation", value=how,
                         problem=f"must be one of {', '.join(CROSS_YEAR)}")
    return CrossYear(evaluation=how, lag=_share(spec.get("lag", 0.0), "cross_year.lag"))
