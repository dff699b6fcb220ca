"""Met-or-not rules: full points when a target (or a minimum) is met, else none."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from perfsim.errors import InputError
from perfsim.kernel.scoring.base import Rule, _num


class Threshold(Rule):
    """Full points when the target is met (>=, <= or ==, within ``tolerance``), else 0."""

    kind = "threshold"
    needs_target = True
    reads_points = False
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

    @property
    def value_direction(self) -> str:
        """By the comparison: ``>=`` higher, ``<=`` lower, ``==`` equal."""
        return {">=": "higher", "<=": "lower"}.get(self.op, "equal")

    @property
    def slope(self) -> float | np.ndarray:
        """|target| (at least 1), negative for ``<=``."""
        scale = np.maximum(np.abs(np.asarray(self.target, dtype=float)), 1.0)
        return -scale if self.op == "<=" else scale

    def slope_move(self) -> tuple[float | None, float | None, bool] | None:
        """``==`` moves towards the target, not along the slope."""
        return None if self.op == "==" else (None, None, False)

    def measured_value(self, base: np.ndarray, change: np.ndarray) -> np.ndarray:
        """``base + slope × change`` (a project at the target falls off the cliff with any
        shortfall); ``==``: the distance to the target shrinks by max(|target|, 1) × change."""
        if self.op == "==":
            return self._toward_target(base, change)
        return self._along_slope(base, change)


class AllOrNothing(Rule):
    """Full points when the measured value is at least ``min`` (default 1, i.e. "yes"), else 0."""

    kind = "all_or_nothing"
    reads_points = False
    allowed_params = ("min",)

    def validate(self):
        _num(self.params, "min", 1.0)

    def attainment(self, values, aux=None):
        return (np.asarray(values, dtype=float) >= float(self.params.get("min", 1.0))).astype(float)

    def invert(self, attainment):
        m = float(self.params.get("min", 1.0))
        return np.where(np.asarray(attainment) >= 0.5, m, min(m - 1.0, 0.0))

    @property
    def value_direction(self) -> str:
        return "higher"

    @property
    def slope(self) -> float | np.ndarray:
        """The minimum (at least 1)."""
        return max(abs(float(self.params.get("min", 1.0))), 1.0)

    def slope_move(self) -> tuple[float | None, float | None, bool] | None:
        return (None, None, False)

    def measured_value(self, base: np.ndarray, change: np.ndarray) -> np.ndarray:
        return self._along_slope(base, change)
