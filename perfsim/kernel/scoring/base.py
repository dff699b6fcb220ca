"""The base of every scoring rule: :class:`Rule` (a leaf's measured values → attainment,
the share in [0, 1] of its points), the directions a leaf may have and the parameter check
the rules share.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
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
