"""Rules in proportion to a target: the template's proportional rule (with the MoF
over-completion markdown), the linear rule between a floor and the target, and the budget
execution rate.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import numpy as np

from perfsim.errors import InputError
from perfsim.kernel.scoring.base import Rule, _num, _ratio, fits


class Proportional(Rule):
    """The template rule: points × min(actual / target, 1); lower-is-better:
    min(target / actual, 1); equal: 1 − |actual − target| / |target|, floored at 0.

    ``overcompletion`` (off unless given) marks down large over-completion against a target
    set too low (the MoF template's 按照偏离度适度调减分值): with the deviation
    d = actual / target − 1 beyond ``threshold``, the attainment is 1 − ``rate`` ×
    (d − ``threshold``), never below ``floor``. E.g. threshold 0.2, rate 1, floor 0: 150% of
    the target earns 70% of the points. It marks down higher-is-better leaves only: a
    lower-is-better leaf at or under its target (an error rate of 0 against ≤ 2%) has met it
    and keeps full points, so a system-wide setting passes such leaves by and a leaf's own
    setting on one is refused."""

    kind = "proportional"
    needs_target = True
    reads_points = False
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
        if self.direction != "higher" or self.target == 0:
            raise InputError(field="overcompletion", value=over,
                             problem="needs a higher-is-better leaf with a non-zero target (a "
                                     "lower-is-better leaf at or under its target has met it: "
                                     "never marked down)")

    def attainment(self, values, aux=None):
        v = np.asarray(values, dtype=float)
        a = self._share(v)
        over = self.params.get("overcompletion")
        if over is None or self.direction != "higher":
            return a   # a lower-is-better leaf at or under its target has met it
        dev = _ratio(v, self.target) - 1.0
        beyond = np.clip(np.nan_to_num(dev, nan=0.0) - float(over["threshold"]), 0.0, None)
        marked = np.maximum(1.0 - float(over.get("rate", 1.0)) * beyond,
                            float(over.get("floor", 0.0)))
        return np.where(beyond > 0, np.minimum(a, marked), a)

    def _share(self, v: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """actual ÷ target (lower: target ÷ actual, 1 at or under the target; equal:
        1 − |actual − target| ÷ |target|) in [0, 1], NaN as 0; into ``out`` (which may be
        ``v``) when given, pass by pass."""
        t = self.target
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.direction == "higher":
                a = np.divide(v, t, out=out)
            elif self.direction == "lower":
                met = v <= t
                a = np.divide(t, v, out=out)
                np.copyto(a, 1.0, where=met)
            else:
                a = 1.0 - np.abs(v - t) / abs(t)
        # ±inf to 1 and 0 by the clip, as nan_to_num then the clip would
        a.clip(0.0, 1.0, out=a)
        nan = np.isnan(a)
        if nan.any():
            a[nan] = 0.0
        return a

    def attain_measured(self, v: np.ndarray, scorer: Rule | None = None) -> np.ndarray:
        """:meth:`Rule.attain_measured`, the measured value scored in its own memory."""
        rule = self if scorer is None else scorer
        if (self.direction == "equal" or not isinstance(rule, Proportional)
                or rule.params.get("overcompletion") is not None):
            return super().attain_measured(v, scorer)
        return rule._share(v, out=_own(v, rule.target))

    def invert(self, attainment):
        a = np.clip(np.asarray(attainment, dtype=float), 1e-9, 1.0)
        t = self.target
        if self.direction == "higher":
            return a * t
        if self.direction == "lower":
            return t / a
        return t * (2.0 - a) if t >= 0 else t * a

    @property
    def value_direction(self) -> str:
        """As the leaf says: higher, lower, or equal (the target is best)."""
        return self.direction

    @property
    def slope(self) -> float | np.ndarray:
        """The target (lower-is-better: −target)."""
        t = np.asarray(self.target, dtype=float)
        return -t if self.direction == "lower" else t

    def slope_move(self) -> tuple[float | None, float | None, bool] | None:
        """An exact target (``equal``) moves towards it, not along the slope."""
        return None if self.direction == "equal" else (None, None, False)

    def measured_value(self, base: np.ndarray, change: np.ndarray) -> np.ndarray:
        """``base + slope × change``; an exact target (``equal``): the distance to it shrinks
        by |target| × change."""
        if self.direction == "equal":
            return self._toward_target(base, change)
        return self._along_slope(base, change)

    def check_targets(self, targets: np.ndarray) -> None:
        if np.any(targets == 0):
            raise InputError(field="target", value=0, problem="must be non-zero")

    def with_overcompletion(self, over: Mapping[str, float]) -> Rule:
        if "overcompletion" in self.params or self.direction != "higher" or not self.target:
            return self
        return type(self)(params={**self.params, "overcompletion": dict(over)},
                          target=self.target, direction=self.direction, points=self.points)


class Linear(Rule):
    """0 points at ``floor``, full points at the target, linear in between (either direction)."""

    kind = "linear"
    needs_target = True
    reads_points = False
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

    @property
    def value_direction(self) -> str:
        """Towards the target from the floor: higher when the target lies above the floor."""
        return "higher" if self.target > self.params["floor"] else "lower"

    @property
    def slope(self) -> float | np.ndarray:
        """target − floor."""
        return np.asarray(self.target, dtype=float) - float(self.params["floor"])

    def slope_move(self) -> tuple[float | None, float | None, bool] | None:
        return (None, None, False)

    def measured_value(self, base: np.ndarray, change: np.ndarray) -> np.ndarray:
        return self._along_slope(base, change)

    def check_targets(self, targets: np.ndarray) -> None:
        if np.any(targets == float(self.params["floor"])):
            raise InputError(field="target", value=self.params["floor"],
                             problem="must differ from the floor")


class ExecutionRate(Rule):
    """Budget execution rate: points × min(executed / target, 1), zero below ``floor``."""

    kind = "execution_rate"
    needs_target = True
    reads_points = False
    allowed_params = ("floor",)

    def validate(self):
        if self.target <= 0:
            raise InputError(field="target", value=self.target, problem="must be > 0")
        _num(self.params, "floor", 0.0, low=0)

    def attainment(self, values, aux=None):
        return self._share(np.asarray(values, dtype=float))

    def _share(self, v: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """executed ÷ target in [0, 1], 0 below the floor; into ``out`` (which may be ``v``)
        when given."""
        below = v < float(self.params.get("floor", 0.0))
        a = np.divide(v, self.target, out=out)
        a.clip(0.0, 1.0, out=a)
        np.copyto(a, 0.0, where=below)
        return a

    def attain_measured(self, v: np.ndarray, scorer: Rule | None = None) -> np.ndarray:
        """:meth:`Rule.attain_measured`, the measured value scored in its own memory."""
        rule = self if scorer is None else scorer
        if not isinstance(rule, ExecutionRate):
            return super().attain_measured(v, scorer)
        return rule._share(v, out=_own(v, rule.target))

    def invert(self, attainment):
        return np.clip(attainment, 0, 1) * self.target

    @property
    def value_direction(self) -> str:
        """Higher: more of the budget executed never earns less (whatever the leaf says)."""
        return "higher"

    @property
    def slope(self) -> float | np.ndarray:
        """The target."""
        return np.asarray(self.target, dtype=float)

    def slope_move(self) -> tuple[float | None, float | None, bool] | None:
        return (None, None, False)

    def measured_value(self, base: np.ndarray, change: np.ndarray) -> np.ndarray:
        return self._along_slope(base, change)

    def check_targets(self, targets: np.ndarray) -> None:
        if np.any(targets == 0):
            raise InputError(field="target", value=0, problem="must be non-zero")


def _own(v: np.ndarray, target: float | np.ndarray) -> np.ndarray | None:
    """``v`` (a measured value in its own memory) where a rule's result against ``target``
    fits in it; None (a new array) otherwise."""
    return v if fits(v.shape, np.shape(target)) else None
