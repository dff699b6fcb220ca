"""Deduction rules: points deducted per step of days late, errors or instances, and in
proportion to the share of items in breach.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from perfsim.errors import InputError
from perfsim.kernel.scoring.base import Rule, _num


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

    @property
    def value_direction(self) -> str:
        return "lower"

    @property
    def slope(self) -> float | np.ndarray:
        """−step × points / per: the units (days late, errors) that cost the whole leaf."""
        return -float(self.params.get("step", 1.0)) * self.points / float(self.params["per"])

    def slope_move(self) -> tuple[float | None, float | None, bool] | None:
        """Never below 0."""
        return (0.0, None, False)

    def measured_value(self, base: np.ndarray, change: np.ndarray) -> np.ndarray:
        """``base + slope × change``, never below 0 (the rule then deducts whole steps)."""
        return self._along_slope(base, change)


class Share(Rule):
    """Deduct in proportion to the share of items in breach: attainment = 1 − share."""

    kind = "share"
    reads_points = False

    def attainment(self, values, aux=None):
        return np.clip(1.0 - np.asarray(values, dtype=float), 0.0, 1.0)

    def invert(self, attainment):
        return 1.0 - np.clip(attainment, 0, 1)

    @property
    def value_direction(self) -> str:
        return "lower"

    @property
    def slope(self) -> float | np.ndarray:
        return -1.0

    def slope_move(self) -> tuple[float | None, float | None, bool] | None:
        """Kept in [0, 1]."""
        return (0.0, 1.0, False)

    def measured_value(self, base: np.ndarray, change: np.ndarray) -> np.ndarray:
        """``base − change``, kept in [0, 1]."""
        return self._along_slope(base, change)
