"""The registry of scoring rules by kind, and the one way to build a validated rule."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from perfsim.errors import InputError
from perfsim.kernel.scoring.assessed import Assessed
from perfsim.kernel.scoring.base import Rule
from perfsim.kernel.scoring.bonus import Bonus
from perfsim.kernel.scoring.deduct import Deduct, Share
from perfsim.kernel.scoring.graded import Graded
from perfsim.kernel.scoring.proportional import ExecutionRate, Linear, Proportional
from perfsim.kernel.scoring.ratio import GradePoints, RatioOfScore
from perfsim.kernel.scoring.recheck import Recheck
from perfsim.kernel.scoring.threshold import AllOrNothing, Threshold

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
