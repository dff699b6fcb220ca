"""Bonus points per unit (extra evaluations done), capped at the leaf's points."""

from __future__ import annotations

import numpy as np

from perfsim.kernel.scoring.base import Rule, _num


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

    @property
    def value_direction(self) -> str:
        return "higher"

    @property
    def slope(self) -> float | np.ndarray:
        """points / per: the units (extra evaluations) that earn the whole leaf."""
        return self.points / float(self.params["per"])

    def slope_move(self) -> tuple[float | None, float | None, bool] | None:
        """Whole units, never below 0."""
        return (0.0, None, True)

    def measured_value(self, base: np.ndarray, change: np.ndarray) -> np.ndarray:
        """``base + slope × change`` in whole units, never below 0."""
        return self._along_slope(base, change)
