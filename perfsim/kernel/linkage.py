"""Budget linkage (结果应用): how grades and scores move next year's money.

A :class:`Linkage` turns each project's grade or score into a **multiplier** of its budget:
next year's base budget is ``budget × multiplier``. A multiplier of 0 is a cancellation.
Then, in this order:

1. **preconditions** — a project failing one (no performance targets, no self-evaluation) gets
   multiplier 0 whatever its grade;
2. **floor and cap** — multipliers of projects that are not cancelled are clipped to
   [floor, cap] (a floor of 0.8 means nobody loses more than 20% unless cancelled);
3. **savings pool** — the money taken away (Σ budget − Σ budget × multiplier) is either
   returned to the treasury (``pool: treasury``, default) or redistributed to the projects in
   the recipient grades (default: the best grade of the label set, 优 in the national set) in
   proportion to their budgets (``pool: redistribute``), which keeps the total unchanged. With
   no eligible recipient the pool goes to the treasury. A negative pool (a rule that gives
   more than it takes) is never redistributed. Recipients are checked against the label set
   only when the pool is redistributed, so any label set works with a treasury pool.

All functions take arrays shaped (..., projects) and never loop over projects.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from perfsim.errors import InputError
from perfsim.kernel.grading import NATIONAL, LabelSet

LIUPANSHUI_RATIO_RANGE = (0.10, 0.20)
POOLS = ("treasury", "redistribute")
STATUSES = ("kept", "cut", "cancelled", "rewarded")


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

    @property
    def status(self) -> np.ndarray:
        """Index into :data:`STATUSES` per project."""
        m, r = self.multiplier, self.reward
        return np.select([m == 0, (m > 1) | (r > 0), m < 1], [2, 3, 1], default=0).astype(
            np.int8)

    @property
    def kept(self) -> np.ndarray:
        return self.budget * np.minimum(self.multiplier, 1.0)

    @property
    def cut(self) -> np.ndarray:
        m = self.multiplier
        return np.where(m > 0, self.budget * np.clip(1.0 - m, 0.0, None), 0.0)

    @property
    def cancelled(self) -> np.ndarray:
        return np.where(self.multiplier == 0, self.budget, 0.0)

    @property
    def rewarded(self) -> np.ndarray:
        return self.budget * np.clip(self.multiplier - 1.0, 0.0, None) + self.reward


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
        if isinstance(self.rule, GradeTable) and len(self.rule.multipliers) != len(self.labels):
            raise InputError(where="linkage", field="multipliers",
                             value=list(self.rule.multipliers),
                             problem=f"need one per grade ({len(self.labels)})")

    @property
    def monotone(self) -> bool:
        """True when a better score never gets a lower multiplier (before the pool)."""
        return self.rule.monotone

    @property
    def recipient_grades(self) -> tuple[str, ...]:
        """The grades that share a redistributed pool (default: the best grade)."""
        return self.recipients or self.labels.codes[:1]

    def multiplier(self, score: np.ndarray, grade: np.ndarray,
                   flags_ok: np.ndarray | bool = True, table: np.ndarray | None = None
                   ) -> np.ndarray:
        """Multipliers after preconditions, floor and cap (before the pool). ``table``
        (replications, grades) overrides a grade table per replication."""
        if table is not None:
            m = np.take_along_axis(np.asarray(table, dtype=float),
                                   np.asarray(grade, dtype=np.intp), axis=-1)
        else:
            m = np.asarray(self.rule(np.asarray(score, float), np.asarray(grade)), dtype=float)
        shape = np.broadcast_shapes(np.shape(score), np.shape(grade))
        if m.shape != shape:
            m = np.broadcast_to(m, shape).copy()
        if self.floor is not None or self.cap is not None:
            clipped = np.clip(m, self.floor if self.floor is not None else -np.inf,
                              self.cap if self.cap is not None else np.inf)
            m = np.where(m > 0, clipped, m)
        return m if flags_ok is True else np.where(flags_ok, m, 0.0)

    def apply(self, budget: np.ndarray, score: np.ndarray, grade: np.ndarray,
              flags: Mapping[str, np.ndarray] | None = None, *,
              cancel: np.ndarray | None = None, table: np.ndarray | None = None
              ) -> LinkageResult:
        """Apply the policy. ``budget`` (projects,) or (..., projects) in yuan; ``flags`` maps
        precondition names to boolean arrays (True = satisfied); ``cancel`` marks projects
        cancelled whatever their grade (e.g. repeated poor grades); ``table`` overrides a grade
        table per replication."""
        budget = np.asarray(budget, dtype=float)
        ok: np.ndarray | bool = True
        for name in self.preconditions:
            if flags is None or name not in flags:
                raise InputError(where="linkage", field="preconditions", value=name,
                                 problem="the portfolio has no such column")
            ok = ok & np.asarray(flags[name], dtype=bool)
        if cancel is not None:
            ok = ok & ~np.asarray(cancel, dtype=bool)
        m = self.multiplier(score, grade, ok, table)
        b = np.broadcast_to(budget, m.shape)
        base = b * m
        reward = np.broadcast_to(0.0, base.shape)   # nothing redistributed: no array needed
        if self.pool == "redistribute":
            codes = [self.labels.index(c) for c in self.recipient_grades]
            eligible = np.isin(grade, codes) & (m > 0) & np.asarray(ok, dtype=bool)
            weight = np.where(eligible, b, 0.0)
            wsum = weight.sum(axis=-1, keepdims=True)
            pool = np.clip(b.sum(axis=-1, keepdims=True) - base.sum(axis=-1, keepdims=True),
                           0.0, None)
            with np.errstate(invalid="ignore", divide="ignore"):
                reward = np.where(wsum > 0, pool * weight / wsum, 0.0)
        failed = (np.broadcast_to(False, m.shape) if ok is True
                  else ~np.broadcast_to(np.asarray(ok, bool), m.shape))
        return LinkageResult(multiplier=m, next_budget=base + reward if self.pool ==
                             "redistribute" else base, reward=reward,
                             precondition_failed=failed, budget=b)


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


_COMMON = {"floor", "cap", "pool", "recipients", "preconditions"}
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
          preconditions: [has_targets, self_evaluated]   # boolean portfolio columns
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
        common["preconditions"] = tuple(_str_list(spec["preconditions"], "preconditions"))
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
