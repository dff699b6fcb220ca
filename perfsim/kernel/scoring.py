"""Leaf scoring rules and aggregation to a total score.

Every rule turns measured values into an **attainment**: the share in [0, 1] of the leaf's points
that the project earns. Rules are vectorised: ``values`` may have any shape (replications ×
projects, or projects). The points a leaf earns are ``attainment * points``; the total score is
``attainment @ points`` (arrays shaped (..., indicators)), so changing weights (see
:mod:`perfsim.kernel.weighting`) rescales leaves without re-running the rules.

Deduction rules work in points (e.g. −1 point per 5 days late): their attainment is
``max(points − deduction, 0) / points`` at the points written in the indicator file.

Each rule also has ``invert(attainment)``: a measured value that earns (about) that attainment.
The synthetic portfolio generator uses it to write realistic raw measurements, and
``check(values, aux)``: the cells a rule refuses (an assessor's points outside [0, max] or
outside the band), which the portfolio loader reports by row.

Published tables round leaf points and totals (四舍五入, usually to two decimals):
:func:`round_half_up` is the one rounding step, applied where scores are computed
(:class:`perfsim.kernel.evaluation.Measure`).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from perfsim.errors import InputError

DIRECTIONS = ("higher", "lower", "equal")


def _num(params: Mapping[str, Any], key: str, default: Any = None, *, required: bool = False,
         low: float | None = None, high: float | None = None, strict_low: bool = False) -> float:
    if key not in params or params[key] is None:
        if required:
            raise InputError(field=key, problem="required parameter is missing")
        return default
    value = params[key]
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InputError(field=key, value=value, problem="must be a finite number")
    if low is not None and (value <= low if strict_low else value < low):
        raise InputError(field=key, value=value,
                         problem=f"must be {'>' if strict_low else '>='} {low:g}")
    if high is not None and value > high:
        raise InputError(field=key, value=value, problem=f"must be <= {high:g}")
    return float(value)


#: Readings of "差距大于10分以上的，每差五分扣1分": steps of the whole difference, or of the
#: difference beyond the gap.
GAP_MODES = ("whole", "excess")


@dataclass(frozen=True)
class Rule:
    """Base class of scoring rules. Subclasses set ``kind`` and implement ``attainment``."""

    kind: ClassVar[str] = ""
    needs_target: ClassVar[bool] = False
    params: Mapping[str, Any] = field(default_factory=dict)
    target: float | None = None
    direction: str = "higher"
    points: float = 1.0
    aux_inputs: ClassVar[tuple[str, ...]] = ()

    def __post_init__(self) -> None:
        if self.direction not in DIRECTIONS:
            raise InputError(field="direction", value=self.direction,
                             problem=f"must be one of {', '.join(DIRECTIONS)}")
        if self.needs_target:
            if self.target is None:
                raise InputError(field="target", problem=f"rule '{self.kind}' needs a target")
            if not math.isfinite(self.target):
                raise InputError(field="target", value=self.target, problem="must be finite")
        known = set(self.allowed_params)
        for key in self.params:
            if key not in known:
                allowed = ", ".join(sorted(known)) or "none"
                raise InputError(field=key, value=self.params[key],
                                 problem=f"unknown parameter for rule '{self.kind}' "
                                         f"(allowed: {allowed})")
        self.validate()

    allowed_params: ClassVar[tuple[str, ...]] = ()

    def validate(self) -> None:
        """Check parameters; raise :class:`InputError` naming the field."""

    def attainment(self, values: np.ndarray, aux: Mapping[str, np.ndarray] | None = None
                   ) -> np.ndarray:
        raise NotImplementedError

    def invert(self, attainment: np.ndarray) -> np.ndarray:
        """A measured value earning about ``attainment`` (used by the synthetic generator)."""
        raise NotImplementedError

    def earned(self, values: np.ndarray, aux: Mapping[str, np.ndarray] | None = None
               ) -> np.ndarray:
        """Points earned (attainment × points)."""
        return self.attainment(values, aux) * self.points

    def check(self, values: np.ndarray, aux: Mapping[str, np.ndarray] | None = None
              ) -> tuple[np.ndarray, str] | None:
        """Cells this rule refuses: a boolean mask over ``values`` and the problem, or None
        when every value is acceptable (most rules accept any number)."""
        return None

    @property
    def aux_labels(self) -> Mapping[str, tuple[str, ...]]:
        """Auxiliary inputs given as labels (e.g. an assessed item's band), by input name."""
        return {}

    @property
    def is_bonus(self) -> bool:
        return False

    @property
    def labels(self) -> tuple[str, ...] | None:
        """Qualitative labels a measured value may be given as (graded rules only)."""
        return None


def _ratio(num: np.ndarray, den: np.ndarray | float) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.true_divide(num, den)


class Proportional(Rule):
    """The template rule: points × min(actual / target, 1); lower-is-better:
    min(target / actual, 1); equal: 1 − |actual − target| / |target|, floored at 0.

    ``overcompletion`` (off unless given) marks down large over-completion against a target
    set too low (the MoF template's 按照偏离度适度调减分值): with the deviation
    d = actual / target − 1 (lower-is-better: 1 − actual / target) beyond ``threshold``, the
    attainment is 1 − ``rate`` × (d − ``threshold``), never below ``floor``. E.g. threshold 0.2,
    rate 1, floor 0: 150% of the target earns 70% of the points."""

    kind = "proportional"
    needs_target = True
    allowed_params = ("overcompletion",)
    OVERCOMPLETION_KEYS: ClassVar[tuple[str, ...]] = ("threshold", "rate", "floor")

    def validate(self) -> None:
        if self.target == 0 and self.direction != "lower":
            raise InputError(field="target", value=0, problem="must be non-zero for a "
                             "proportional rule")
        over = self.params.get("overcompletion")
        if over is None:
            return
        if not isinstance(over, Mapping) or "threshold" not in over:
            raise InputError(field="overcompletion", value=over,
                             problem="must be {threshold: T, rate: R, floor: F} (rate and floor "
                                     "optional)")
        for key in over:
            if key not in self.OVERCOMPLETION_KEYS:
                raise InputError(field=f"overcompletion.{key}", value=over[key],
                                 problem="unknown key (allowed: threshold, rate, floor)")
        for key, default, high in (("threshold", None, None), ("rate", 1.0, None),
                                   ("floor", 0.0, 1.0)):
            try:
                _num(over, key, default, low=0, high=high, required=key == "threshold")
            except InputError as err:
                raise err.at(field=f"overcompletion.{key}") from None
        if self.direction == "equal" or self.target == 0:
            raise InputError(field="overcompletion", value=over,
                             problem="needs a higher- or lower-is-better leaf with a non-zero "
                                     "target")

    def attainment(self, values, aux=None):
        v = np.asarray(values, dtype=float)
        t = self.target
        if self.direction == "higher":
            a = _ratio(v, t)
        elif self.direction == "lower":
            a = np.where(v <= t, 1.0, _ratio(t, v))
        else:
            a = 1.0 - np.abs(v - t) / abs(t)
        a = np.clip(np.nan_to_num(a, nan=0.0, posinf=1.0, neginf=0.0), 0.0, 1.0)
        over = self.params.get("overcompletion")
        if over is None:
            return a
        dev = _ratio(v, t) - 1.0 if self.direction == "higher" else 1.0 - _ratio(v, t)
        beyond = np.clip(np.nan_to_num(dev, nan=0.0) - float(over["threshold"]), 0.0, None)
        marked = np.maximum(1.0 - float(over.get("rate", 1.0)) * beyond,
                            float(over.get("floor", 0.0)))
        return np.where(beyond > 0, np.minimum(a, marked), a)

    def invert(self, attainment):
        a = np.clip(np.asarray(attainment, dtype=float), 1e-9, 1.0)
        t = self.target
        if self.direction == "higher":
            return a * t
        if self.direction == "lower":
            return t / a
        return t * (2.0 - a) if t >= 0 else t * a


class Threshold(Rule):
    """Full points when the target is met (>=, <= or ==, within ``tolerance``), else 0."""

    kind = "threshold"
    needs_target = True
    allowed_params = ("op", "tolerance")
    _OPS: ClassVar[dict[str, str]] = {"higher": ">=", "lower": "<=", "equal": "=="}

    @property
    def op(self) -> str:
        return self.params.get("op", self._OPS[self.direction])

    def validate(self):
        if self.op not in (">=", "<=", "=="):
            raise InputError(field="op", value=self.op, problem="must be one of >=, <=, ==")
        _num(self.params, "tolerance", 0.0, low=0)

    def attainment(self, values, aux=None):
        v = np.asarray(values, dtype=float)
        tol = _num(self.params, "tolerance", 0.0)
        if self.op == ">=":
            met = v >= self.target - tol
        elif self.op == "<=":
            met = v <= self.target + tol
        else:
            met = np.abs(v - self.target) <= tol
        return met.astype(float)

    def invert(self, attainment):
        met = np.asarray(attainment) >= 0.5
        gap = max(abs(self.target) * 0.1, 1.0) + _num(self.params, "tolerance", 0.0)
        miss = self.target + (gap if self.op == "<=" else -gap)
        return np.where(met, self.target, miss)


class Linear(Rule):
    """0 points at ``floor``, full points at the target, linear in between (either direction)."""

    kind = "linear"
    needs_target = True
    allowed_params = ("floor",)

    def validate(self):
        floor = _num(self.params, "floor", required=True)
        if floor == self.target:
            raise InputError(field="floor", value=floor, problem="must differ from the target")

    def attainment(self, values, aux=None):
        floor = self.params["floor"]
        return np.clip((np.asarray(values, dtype=float) - floor) / (self.target - floor), 0, 1)

    def invert(self, attainment):
        floor = self.params["floor"]
        return floor + np.clip(attainment, 0, 1) * (self.target - floor)


class Deduct(Rule):
    """Deduct ``per`` points for every ``step`` units (days late, errors, instances) beyond an
    ``allowance``, floored at 0. ``periods``: ``complete`` counts complete steps only (the
    default: "每逾期5天扣1分" read as 4 days late costing nothing), ``started`` counts a started
    step as whole (4 days late costs 1), ``pro_rata`` deducts in proportion (4 days → 0.8)."""

    kind = "deduct"
    allowed_params = ("per", "step", "periods", "allowance")
    PERIODS: ClassVar[tuple[str, ...]] = ("complete", "started", "pro_rata")

    def __post_init__(self) -> None:
        if "rounding" in self.params:
            raise InputError(field="rounding", value=self.params["rounding"],
                             problem="renamed: use periods (complete | started | pro_rata; "
                                     "floor = complete, ceil = started, exact = pro_rata)")
        super().__post_init__()

    @property
    def periods(self) -> str:
        return str(self.params.get("periods", "complete"))

    def validate(self):
        _num(self.params, "per", required=True, low=0, strict_low=True)
        _num(self.params, "step", 1.0, low=0, strict_low=True)
        _num(self.params, "allowance", 0.0, low=0)
        if self.params.get("periods", "complete") not in self.PERIODS:
            raise InputError(field="periods", value=self.params["periods"],
                             problem=f"must be one of {', '.join(self.PERIODS)}")

    def deduction(self, values: np.ndarray) -> np.ndarray:
        per = float(self.params["per"])
        step = float(self.params.get("step", 1.0))
        allowance = float(self.params.get("allowance", 0.0))
        units = np.maximum(np.asarray(values, dtype=float) - allowance, 0.0) / step
        if self.periods == "complete":
            units = np.floor(units + 1e-9)
        elif self.periods == "started":
            units = np.ceil(units - 1e-9)
        return per * units

    def attainment(self, values, aux=None):
        return np.clip(1.0 - self.deduction(values) / self.points, 0.0, 1.0)

    def invert(self, attainment):
        per = float(self.params["per"])
        step = float(self.params.get("step", 1.0))
        allowance = float(self.params.get("allowance", 0.0))
        steps = np.ceil((1.0 - np.clip(attainment, 0, 1)) * self.points / per - 1e-9)
        return np.where(steps > 0, allowance + steps * step, 0.0)


class Share(Rule):
    """Deduct in proportion to the share of items in breach: attainment = 1 − share."""

    kind = "share"

    def attainment(self, values, aux=None):
        return np.clip(1.0 - np.asarray(values, dtype=float), 0.0, 1.0)

    def invert(self, attainment):
        return 1.0 - np.clip(attainment, 0, 1)


class AllOrNothing(Rule):
    """Full points when the measured value is at least ``min`` (default 1, i.e. "yes"), else 0."""

    kind = "all_or_nothing"
    allowed_params = ("min",)

    def validate(self):
        _num(self.params, "min", 1.0)

    def attainment(self, values, aux=None):
        return (np.asarray(values, dtype=float) >= float(self.params.get("min", 1.0))).astype(float)

    def invert(self, attainment):
        m = float(self.params.get("min", 1.0))
        return np.where(np.asarray(attainment) >= 0.5, m, min(m - 1.0, 0.0))


class Graded(Rule):
    """Qualitative levels, best first, each with a coefficient of the points
    (e.g. achieved / mostly / partly / not → 1.0 / 0.8 / 0.6 / 0). The measured value is the
    level's position (0 = best); files may give the label instead."""

    kind = "graded"
    allowed_params = ("levels",)
    DEFAULT_LEVELS: ClassVar[dict[str, float]] = {
        "achieved": 1.0, "mostly": 0.8, "partly": 0.6, "not": 0.0}

    @property
    def levels(self) -> dict[str, float]:
        return dict(self.params.get("levels") or self.DEFAULT_LEVELS)

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(str(k) for k in self.levels)

    @property
    def coefficients(self) -> np.ndarray:
        return np.array(list(self.levels.values()), dtype=float)

    def validate(self):
        levels = self.params.get("levels", self.DEFAULT_LEVELS)
        if not isinstance(levels, Mapping) or len(levels) < 2:
            raise InputError(field="levels", value=levels,
                             problem="must map at least two labels to coefficients, best first")
        previous = math.inf
        for label, coef in levels.items():
            try:
                c = _num({str(label): coef}, str(label), low=0, high=1)
            except InputError as err:
                raise InputError(field=f"levels.{label}", value=coef,
                                 problem=err.problem) from None
            if c > previous:
                raise InputError(field=f"levels.{label}", value=coef,
                                 problem="coefficients must not increase down the list")
            previous = c

    def attainment(self, values, aux=None):
        coef = self.coefficients
        idx = np.asarray(values, dtype=float)
        ok = (idx >= 0) & (idx <= len(coef) - 1) & (idx == np.round(idx))
        safe = np.where(ok, idx, 0).astype(np.intp)
        return np.where(ok, coef[safe], 0.0)

    def invert(self, attainment):
        """The level whose coefficient is nearest each attainment, the better level on a
        tie (of equal coefficients, the first)."""
        up, down, closer = self._around(attainment)
        coef = self.coefficients
        new = np.ones(coef.size, dtype=bool)
        new[1:] = coef[1:] != coef[:-1]
        first = np.maximum.accumulate(np.where(new, np.arange(coef.size), 0))
        return first[np.where(closer, down, up)].astype(float)

    def nearest(self, attainment) -> np.ndarray:
        """The coefficient of the nearest level (:meth:`invert`) to each attainment: the
        attainment that level scores, ``attainment(invert(a))`` without the level."""
        up, down, closer = self._around(attainment)
        coef = self.coefficients
        return np.where(closer, coef[down], coef[up])

    def _around(self, attainment) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The two levels around each attainment — the last whose coefficient is at or
        above it and the first below it (the same at either end) — and where the lower one
        is strictly closer. The coefficients never increase down the list, so the nearest
        level is one of the two: a loop over the few levels counts those at or above, no
        array of distances to every level."""
        coef = self.coefficients
        a = np.asarray(attainment, dtype=float)
        above = np.zeros(a.shape, dtype=np.intp)     # levels with coefficient >= a
        for c in coef:
            above += a <= c
        up = np.maximum(above - 1, 0)
        down = np.minimum(above, coef.size - 1)
        return up, down, np.abs(a - coef[down]) < np.abs(a - coef[up])


class RatioOfScore(Rule):
    """Proportional to another score: points × min(value / scale, 1). E.g. a self-evaluation
    score of 90 earns 9 of 10 points."""

    kind = "ratio"
    allowed_params = ("scale",)

    def validate(self):
        _num(self.params, "scale", 100.0, low=0, strict_low=True)

    @property
    def scale(self) -> float:
        return float(self.params.get("scale", 100.0))

    def attainment(self, values, aux=None):
        return np.clip(np.asarray(values, dtype=float) / self.scale, 0.0, 1.0)

    def invert(self, attainment):
        return np.clip(attainment, 0, 1) * self.scale


class Assessed(Rule):
    """An item scored at the assessor's discretion (酌情扣分, 定性指标): the measured value is the
    points awarded, within [0, points]. ``bands`` (optional, best first) map a band label to
    [low, high] shares of the points, e.g. the MoF template's three bands {全部或基本达成:
    [0.8, 1.0], 部分达成: [0.6, 0.8], 未达成: [0, 0.6]}; a portfolio may give the band in the
    column ``<code>.band``, and the points must then lie within it (bounds included)."""

    kind = "assessed"
    allowed_params = ("bands",)
    aux_inputs = ("band",)

    @property
    def bands(self) -> dict[str, tuple[float, float]]:
        return {str(k): (float(v[0]), float(v[1]))
                for k, v in (self.params.get("bands") or {}).items()}

    @property
    def aux_labels(self) -> Mapping[str, tuple[str, ...]]:
        return {"band": tuple(self.bands)} if self.bands else {}

    def validate(self):
        bands = self.params.get("bands")
        if bands is None:
            return
        if not isinstance(bands, Mapping) or not bands:
            raise InputError(field="bands", value=bands,
                             problem="must map band labels to [low, high] shares of the points")
        for label, bounds in bands.items():
            ok = (isinstance(bounds, Sequence) and not isinstance(bounds, str)
                  and len(bounds) == 2 and all(isinstance(x, int | float)
                                               and not isinstance(x, bool) for x in bounds))
            if not ok or not 0 <= bounds[0] <= bounds[1] <= 1:
                raise InputError(field=f"bands.{label}", value=bounds,
                                 problem="must be [low, high] shares with 0 <= low <= high <= 1")

    def attainment(self, values, aux=None):
        return np.clip(np.asarray(values, dtype=float) / self.points, 0.0, 1.0)

    def check(self, values, aux=None):
        v = np.asarray(values, dtype=float)
        tol = 1e-9 * max(self.points, 1.0)
        bad = (v < -tol) | (v > self.points + tol)
        if bad.any():
            return bad, f"assessed points must lie in [0, {self.points:g}]"
        band = None if aux is None else aux.get("band")
        if band is None or not self.bands:
            return None
        idx = np.asarray(band, dtype=float)
        given = np.isfinite(idx)
        bounds = np.array(list(self.bands.values())) * self.points
        k = np.where(given, idx, 0).astype(np.intp)
        low, high = bounds[k, 0], bounds[k, 1]
        bad = given & ((v < low - tol) | (v > high + tol))
        if not bad.any():
            return None
        i = int(np.flatnonzero(bad)[0])
        label = list(self.bands)[k[i]]
        return bad, f"outside the band {label}: must lie in [{low[i]:g}, {high[i]:g}] points"

    def invert(self, attainment):
        return np.clip(attainment, 0, 1) * self.points


class GradePoints(Rule):
    """Result grade to points: the measured value is an evaluation score; it is graded with
    ``cutoffs`` (descending, left-closed) and each grade earns full points, points in proportion
    to the score (score / scale), or zero. Default: 优 full, 良/合格 proportional, 不合格 0."""

    kind = "grade_points"
    allowed_params = ("cutoffs", "modes", "scale")
    MODES: ClassVar[tuple[str, ...]] = ("full", "proportional", "zero")

    @property
    def cutoffs(self) -> np.ndarray:
        return np.asarray(self.params.get("cutoffs", [90, 80, 60]), dtype=float)

    @property
    def modes(self) -> list[str]:
        return list(self.params.get("modes", ["full", "proportional", "proportional", "zero"]))

    def validate(self):
        cutoffs = self.params.get("cutoffs", [90, 80, 60])
        if (not isinstance(cutoffs, list | tuple) or not cutoffs
                or not all(isinstance(c, int | float) and not isinstance(c, bool)
                           for c in cutoffs)
                or any(a <= b for a, b in zip(cutoffs, cutoffs[1:], strict=False))):
            raise InputError(field="cutoffs", value=cutoffs,
                             problem="must be a list of strictly descending numbers")
        modes = self.modes
        if len(modes) != len(cutoffs) + 1:
            raise InputError(field="modes", value=modes,
                             problem=f"needs {len(cutoffs) + 1} entries, one per grade")
        for m in modes:
            if m not in self.MODES:
                raise InputError(field="modes", value=m,
                                 problem=f"each mode must be one of {', '.join(self.MODES)}")
        _num(self.params, "scale", 100.0, low=0, strict_low=True)

    def attainment(self, values, aux=None):
        v = np.asarray(values, dtype=float)
        scale = float(self.params.get("scale", 100.0))
        grade = len(self.cutoffs) - np.searchsorted(self.cutoffs[::-1], v, side="right")
        by_mode = {"full": np.ones_like(v), "proportional": np.clip(v / scale, 0, 1),
                   "zero": np.zeros_like(v)}
        out = np.zeros_like(v)
        for g, mode in enumerate(self.modes):
            out = np.where(grade == g, by_mode[mode], out)
        return out

    def invert(self, attainment):
        return np.clip(attainment, 0, 1) * float(self.params.get("scale", 100.0))


class ExecutionRate(Rule):
    """Budget execution rate: points × min(executed / target, 1), zero below ``floor``."""

    kind = "execution_rate"
    needs_target = True
    allowed_params = ("floor",)

    def validate(self):
        if self.target <= 0:
            raise InputError(field="target", value=self.target, problem="must be > 0")
        _num(self.params, "floor", 0.0, low=0)

    def attainment(self, values, aux=None):
        v = np.asarray(values, dtype=float)
        floor = float(self.params.get("floor", 0.0))
        return np.where(v < floor, 0.0, np.clip(v / self.target, 0.0, 1.0))

    def invert(self, attainment):
        return np.clip(attainment, 0, 1) * self.target


class Bonus(Rule):
    """Bonus points: ``per`` points per unit (extra evaluations done), capped at the leaf's
    points; the indicator system caps the sum of all bonus leaves."""

    kind = "bonus"
    allowed_params = ("per",)

    def validate(self):
        _num(self.params, "per", required=True, low=0, strict_low=True)

    @property
    def is_bonus(self) -> bool:
        return True

    def attainment(self, values, aux=None):
        earned = float(self.params["per"]) * np.maximum(np.asarray(values, dtype=float), 0.0)
        return np.minimum(earned, self.points) / self.points

    def invert(self, attainment):
        return np.floor(np.clip(attainment, 0, 1) * self.points / float(self.params["per"]))


class Recheck(Rule):
    """Finance re-check (Wenzhou 2013): points × re-check score / scale; when the re-check and
    the self-score differ by more than ``gap`` points, deduct ``per`` points for every complete
    ``step`` points, floored at 0. "差距大于10分以上的，每差五分扣1分" has two readings
    (``gap_mode``): ``whole`` counts steps of the whole difference (17 → −3, the default),
    ``excess`` steps of the difference beyond the gap (17 → −1). The measured value is the
    re-check score; the self-score comes from the column ``<code>.self``."""

    kind = "recheck"
    allowed_params = ("scale", "gap", "per", "step", "gap_mode")
    aux_inputs = ("self",)
    GAP_MODES: ClassVar[tuple[str, ...]] = GAP_MODES

    def validate(self):
        _num(self.params, "scale", 100.0, low=0, strict_low=True)
        _num(self.params, "gap", 10.0, low=0)
        _num(self.params, "per", 1.0, low=0)
        _num(self.params, "step", 5.0, low=0, strict_low=True)
        if self.params.get("gap_mode", "whole") not in self.GAP_MODES:
            raise InputError(field="gap_mode", value=self.params["gap_mode"],
                             problem=f"must be one of {', '.join(self.GAP_MODES)}")

    def penalty(self, recheck: np.ndarray, self_score: np.ndarray) -> np.ndarray:
        return gap_penalty(recheck, self_score, gap=float(self.params.get("gap", 10.0)),
                           per=float(self.params.get("per", 1.0)),
                           step=float(self.params.get("step", 5.0)),
                           mode=str(self.params.get("gap_mode", "whole")))

    def attainment(self, values, aux=None):
        v = np.asarray(values, dtype=float)
        scale = float(self.params.get("scale", 100.0))
        base = np.clip(v / scale, 0, 1) * self.points
        self_score = v if aux is None or "self" not in aux else np.asarray(aux["self"], float)
        return np.clip(base - self.penalty(v, self_score), 0, None) / self.points

    def invert(self, attainment):
        return np.clip(attainment, 0, 1) * float(self.params.get("scale", 100.0))


def gap_penalty(recheck: np.ndarray, self_score: np.ndarray, *, gap: float = 10.0,
                per: float = 1.0, step: float = 5.0, mode: str = "whole") -> np.ndarray:
    """Points lost under the Wenzhou re-check gap rule: if |self − re-check| > ``gap``, lose
    ``per`` points for every complete ``step`` points of the whole difference (``mode``
    ``whole``: 12 → 2, 17 → 3, 10 → 0) or of the difference beyond the gap (``excess``:
    12 → 0, 17 → 1)."""
    diff = np.abs(np.asarray(self_score, dtype=float) - np.asarray(recheck, dtype=float))
    counted = diff - gap if mode == "excess" else diff
    return np.where(diff > gap, per * np.floor(counted / step + 1e-9), 0.0)


RULES: dict[str, type[Rule]] = {
    cls.kind: cls
    for cls in (Proportional, Threshold, Linear, Deduct, Share, AllOrNothing, Graded,
                RatioOfScore, Assessed, GradePoints, ExecutionRate, Bonus, Recheck)
}


def make_rule(kind: str, params: Mapping[str, Any] | None = None, *, target: float | None = None,
              direction: str = "higher", points: float = 1.0) -> Rule:
    """Build a validated rule; unknown kinds or parameters raise :class:`InputError`."""
    if kind not in RULES:
        raise InputError(field="rule.kind", value=kind,
                         problem=f"unknown rule kind (known: {', '.join(RULES)})")
    return RULES[kind](params=dict(params or {}), target=target, direction=direction,
                       points=points)


# --- rounding as published -----------------------------------------------------------------

def round_half_up(x: np.ndarray | float, decimals: int | None) -> np.ndarray | float:
    """Round as printed tables do (四舍五入: halves away from zero) to ``decimals`` places;
    ``None`` leaves the value as it is. Binary sums a hair off a decimal value round as that
    value would: 79.99999999999999 → 80.0, 89.995 (stored as 89.99499…) → 90.0, 59.995 → 60.0.
    """
    if decimals is None:
        return x
    f = 10.0 ** int(decimals)
    v = np.asarray(x, dtype=float)
    out = np.asarray(np.abs(v) * f)  # one array worked in place: the Monte Carlo rounds many
    out += 0.5 + 1e-6
    np.floor(out, out=out)
    out /= f
    np.copysign(out, v, out=out)
    return out if np.ndim(out) else float(out)


# --- aggregation --------------------------------------------------------------------------

AGGREGATIONS = ("weighted_sum", "geometric", "weakest_link", "ordinal_average")
#: How the leaves of one level-1 group make the group's attainment share (COINr lets each
#: group aggregate its own way): the points-weighted ``arithmetic`` mean (the national
#: practice), the points-weighted ``geometric`` mean (a weak leaf is not made up by a strong
#: one), or the ``min`` (the group is as good as its weakest leaf).
WITHIN = ("arithmetic", "geometric", "min")
#: ``ordinal_average`` (PEFA M2 style): lower bounds of the ordinal grades A, B, C on a level-1
#: group's attainment share (left-closed, like the national bands 90/80/60); below C is D.
ORDINAL_CUTOFFS = (0.9, 0.8, 0.6)
#: ``ordinal_average``: the ordinal score of A, B, C, D.
ORDINAL_SCORES = (4.0, 3.0, 2.0, 1.0)


def bonus_total(attainments: Sequence[np.ndarray], points: Sequence[float], cap: float,
                leaf_decimals: int | None = None) -> np.ndarray | float:
    """Bonus points of a project: each bonus leaf's points earned (attainment × its points,
    rounded as leaf points are printed), summed, capped at the system's ``cap``."""
    earned: np.ndarray | float = 0.0
    for a, p in zip(attainments, points, strict=True):
        earned = earned + round_half_up(a * p, leaf_decimals)
    return np.minimum(earned, cap)


def group_shares(attainment: np.ndarray, points: np.ndarray, groups: np.ndarray,
                 within: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Each level-1 group's attainment share (..., groups) and its points (groups,): its
    leaves aggregated by ``within`` (one :data:`WITHIN` index per group; default: all
    ``arithmetic``, the points-weighted mean)."""
    a = np.asarray(attainment, dtype=float)
    pts = np.asarray(points, dtype=float)
    n_groups = int(groups.max()) + 1
    member = np.zeros((pts.size, n_groups))
    member[np.arange(pts.size), groups] = pts
    group_max = member.sum(axis=0)
    share = (a @ member) / group_max
    if within is None or not np.any(within):
        return share, group_max
    within = np.asarray(within)
    if np.any(within == 1):  # geometric: exp(Σ p_i log a_i / Σ p_i) within the group
        with np.errstate(divide="ignore"):
            logs = np.log(np.clip(a, 0.0, None)) @ member
        share = np.where(within == 1, np.exp(logs / group_max), share)
    if np.any(within == 2):  # min: the weakest leaf of the group
        for g in np.nonzero(within == 2)[0]:   # a loop over groups (a handful), not projects
            share[..., g] = a[..., groups == g].min(axis=-1)
    return share, group_max


def total_score(attainment: np.ndarray, points: np.ndarray, *, groups: np.ndarray | None = None,
                method: str = "weighted_sum", total: float | None = None,
                within: np.ndarray | None = None) -> np.ndarray:
    """Aggregate leaf attainments (..., indicators) to a total score in points.

    ``points`` (indicators,) are the leaf points; ``groups`` (indicators,) the level-1 group
    index of each leaf (needed for ``geometric`` and ``weakest_link``).

    - ``weighted_sum``: Σ attainment × points (the national practice).
    - ``geometric``: total × Π_g s_g^(w_g), where s_g is group g's attainment share and
      w_g its share of the total points.
    - ``weakest_link``: total × min_g s_g — the weakest level-1 dimension decides.
    - ``ordinal_average`` (PEFA M2 style): each group's share s_g becomes an ordinal grade score
      o_g by :data:`ORDINAL_CUTOFFS` (A = 4 if s_g ≥ 0.9, B = 3 if ≥ 0.8, C = 2 if ≥ 0.6, else
      D = 1; left-closed, with a 1e-9 tolerance for rounding); the average ō = Σ_g w_g o_g is
      weighted by the groups' shares of the points w_g (equal group points give PEFA's simple
      average) and mapped linearly back to points: total × (ō − 1) / (4 − 1), so all-A earns
      the total and all-D earns 0.

    ``within`` (one :data:`WITHIN` index per level-1 group) aggregates each group's leaves
    its own way first (:func:`group_shares`); with ``weighted_sum`` the total is then
    Σ_g s_g × the group's points (the plain weighted sum when every group is arithmetic).
    """
    a = np.asarray(attainment, dtype=float)
    pts = np.asarray(points, dtype=float)
    plain = within is None or not np.any(within)
    if method == "weighted_sum" and plain:
        return a @ pts
    if method not in AGGREGATIONS:
        raise InputError(field="aggregation", value=method,
                         problem=f"must be one of {', '.join(AGGREGATIONS)}")
    if groups is None:
        raise InputError(field="aggregation", value=method, problem="needs level-1 groups")
    total = float(pts.sum()) if total is None else total
    share, group_max = group_shares(a, pts, groups, within)
    if method == "weighted_sum":
        return share @ group_max
    if method == "geometric":
        w = group_max / group_max.sum()
        with np.errstate(divide="ignore"):
            return total * np.exp(np.log(np.clip(share, 0, 1)) @ w)
    if method == "ordinal_average":
        scores = np.asarray(ORDINAL_SCORES)
        reached = np.searchsorted(np.asarray(ORDINAL_CUTOFFS)[::-1], share + 1e-9, side="right")
        ordinal = scores[::-1][reached]  # cutoffs reached: 0 -> D ... 3 -> A
        mean = ordinal @ (group_max / group_max.sum())
        return total * (mean - scores.min()) / (scores.max() - scores.min())
    return total * share.min(axis=-1)


# --- measurement space --------------------------------------------------------------------

#: Rule kinds whose target a project may have set for itself (see :func:`with_targets`).
TARGETED = ("proportional", "threshold", "linear", "execution_rate")


def measure_slope(rule: Rule) -> float | np.ndarray:
    """Measured units per unit of latent attainment of a leaf: how far a project's measured
    value moves when its latent performance moves by 1 (the whole leaf), signed so that a
    rise is better. Proportional and execution rate: the target (lower-is-better: −target);
    threshold: |target| (at least 1), negative for ``<=``; linear: target − floor; deduct:
    −step × points / per (units that cost the whole leaf); share: −1; all-or-nothing: the
    minimum (at least 1); ratio, grade points and re-check: the scale; assessed: the points;
    bonus: points / per (units that earn the whole leaf). A rule holding one target per
    leaf (:func:`with_targets`) gives one slope per leaf."""
    p, kind = rule.params, rule.kind
    t = 0.0 if rule.target is None else np.asarray(rule.target, dtype=float)
    if kind in ("proportional", "execution_rate"):
        return -t if rule.direction == "lower" else t
    if kind == "threshold":
        scale = np.maximum(np.abs(t), 1.0)
        return -scale if rule.op == "<=" else scale
    if kind == "linear":
        return t - float(p["floor"])
    if kind == "deduct":
        return -float(p.get("step", 1.0)) * rule.points / float(p["per"])
    if kind == "share":
        return -1.0
    if kind == "all_or_nothing":
        return max(abs(float(p.get("min", 1.0))), 1.0)
    if kind in ("ratio", "grade_points", "recheck"):
        return float(p.get("scale", 100.0))
    if kind == "assessed":
        return rule.points
    if kind == "bonus":
        return rule.points / float(p["per"])
    return 1.0  # graded: levels, see measured_value


def measured_value(rule: Rule, base: np.ndarray, change: np.ndarray) -> np.ndarray:
    """The measured value of a project whose latent attainment on this leaf moved by
    ``change`` from the one its measured value ``base`` shows (both in the leaf's unit and
    shape). Where ``change`` is 0 the value is ``base`` itself, so the rule scores the
    portfolio's own value.

    - most rules: ``base + slope × change`` (:func:`measure_slope`), kept in the rule's
      domain (days late, errors >= 0; extra evaluations whole and >= 0; shares in [0, 1]);
    - an exact target (``equal`` direction, threshold ``==``): the distance to the target
      shrinks by |target| × change, on the side the project is (never past the target);
    - graded levels: the level nearest to the attainment ``base`` earns plus ``change``.
    The rule then scores the value as it scores any measurement: the threshold's cliff, the
    deduction's whole steps and every cap act."""
    b = np.asarray(base, dtype=float)
    d = np.asarray(change, dtype=float)
    kind = rule.kind
    exact = (kind == "proportional" and rule.direction == "equal") or (
        kind == "threshold" and rule.op == "==")
    if kind == "graded":
        v = rule.invert(rule.attainment(b) + d)
    elif exact:
        t = np.asarray(rule.target, dtype=float)
        side = np.where(b >= t, 1.0, -1.0)
        v = t + side * np.maximum(np.abs(b - t) - np.maximum(np.abs(t), 1.0) * d, 0.0)
    else:
        v = b + measure_slope(rule) * d
        if kind == "deduct":
            v = np.maximum(v, 0.0)
        elif kind == "bonus":   # extra evaluations done: whole units
            v = np.maximum(np.rint(v), 0.0)
        elif kind == "share":
            v = np.clip(v, 0.0, 1.0)
    return np.where(d == 0, b, v)


def with_targets(rule: Rule, targets: np.ndarray) -> Rule:
    """The same rule scoring against each project's own target (an array broadcasting
    against the measured values, e.g. (projects,)), e.g. targets a project set itself. Only
    the :data:`TARGETED` kinds; targets must be finite and (proportional, execution rate)
    non-zero."""
    if rule.kind not in TARGETED:
        raise InputError(field="rule.kind", value=rule.kind,
                         problem=f"has no target to set (kinds with one: {', '.join(TARGETED)})")
    t = np.asarray(targets, dtype=float)
    if not np.all(np.isfinite(t)):
        raise InputError(field="target", value="not finite", problem="must be finite")
    if rule.kind in ("proportional", "execution_rate") and np.any(t == 0):
        raise InputError(field="target", value=0, problem="must be non-zero")
    if rule.kind == "linear" and np.any(t == float(rule.params["floor"])):
        raise InputError(field="target", value=rule.params["floor"],
                         problem="must differ from the floor")
    out = copy.copy(rule)
    object.__setattr__(out, "target", t)  # validated above; the rule's formulas broadcast
    return out
