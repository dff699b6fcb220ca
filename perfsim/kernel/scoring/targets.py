"""Rules scoring against each project's own target (measurement space: targets a project sets
itself). What a rule does when its leaf's latent attainment moves is the rule's own
(:attr:`~perfsim.kernel.scoring.base.Rule.slope`,
:meth:`~perfsim.kernel.scoring.base.Rule.measured_value`)."""

from __future__ import annotations

import copy

import numpy as np

from perfsim.errors import InputError
from perfsim.kernel.scoring.base import Rule
from perfsim.kernel.scoring.registry import RULES

#: Rule kinds whose target a project may have set for itself (see :func:`with_targets`): the
#: rules that score against a target.
TARGETED = tuple(kind for kind, cls in RULES.items() if cls.needs_target)


def with_targets(rule: Rule, targets: np.ndarray) -> Rule:
    """The same rule scoring against each project's own target (an array broadcasting
    against the measured values, e.g. (projects,)), e.g. targets a project set itself. Only
    the :data:`TARGETED` kinds; targets must be finite and what the rule can score against
    (proportional, execution rate: non-zero; linear: not the floor)."""
    if not rule.needs_target:
        raise InputError(field="rule.kind", value=rule.kind,
                         problem=f"has no target to set (kinds with one: {', '.join(TARGETED)})")
    t = np.asarray(targets, dtype=float)
    if not np.all(np.isfinite(t)):
        raise InputError(field="target", value="not finite", problem="must be finite")
    rule.check_targets(t)
    out = copy.copy(rule)
    object.__setattr__(out, "target", t)  # validated above; the rule's formulas broadcast
    return out
