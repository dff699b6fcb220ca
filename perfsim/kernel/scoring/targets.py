"""Measurement space at the rule level: a leaf's measured value when its latent attainment
moves, the slope in measured units per unit of attainment, and a rule scoring against each
project's own target.
"""

from __future__ import annotations

import copy

import numpy as np

from perfsim.errors import InputError
from perfsim.kernel.scoring.base import Rule

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
