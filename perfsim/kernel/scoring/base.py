"""The base of every scoring rule: :class:`Rule` (a leaf's measured values → attainment,
the share in [0, 1] of its points), the directions a leaf may have and the parameter check
the rules share.

A rule owns its behaviour. Besides scoring (``attainment``) and its inverse (``invert``) every
rule class declares, itself, what measurement space and the objective weighting methods need
of it (:data:`OWN`): which way a raw measured value raises the score
(:attr:`Rule.value_direction`), the measured units per unit of latent attainment
(:attr:`Rule.slope`) and the measured value when the latent attainment moves
(:meth:`Rule.measured_value`). A class with a ``kind`` that leaves one of them to the base
fails when it is created (at import), not later with a silent default.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from perfsim.errors import InputError

DIRECTIONS = ("higher", "lower", "equal")
#: What every rule class with a ``kind`` must define itself (checked when the class is made).
OWN = ("attainment", "invert", "value_direction", "slope", "measured_value")


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
    """Base class of scoring rules. Subclasses set ``kind`` and define every name in
    :data:`OWN`; a class without a ``kind`` is a family's base and may leave them open."""

    kind: ClassVar[str] = ""
    needs_target: ClassVar[bool] = False
    params: Mapping[str, Any] = field(default_factory=dict)
    target: float | None = None
    direction: str = "higher"
    points: float = 1.0
    aux_inputs: ClassVar[tuple[str, ...]] = ()
    #: the rule reads its leaf's points (a deduction in points, an assessor's points): leaves
    #: of different points score apart. True unless the rule says it does not (safe default).
    reads_points: ClassVar[bool] = True
    #: :meth:`attain_latent` scores the latent attainment alone, reading neither the measured
    #: value nor the attainment it earns (measurement space then gathers neither)
    latent_only: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not cls.kind:
            return
        missing = [name for name in OWN if getattr(cls, name) is getattr(Rule, name)]
        if missing:
            raise TypeError(f"scoring rule {cls.__name__} (kind '{cls.kind}') must define "
                            f"{', '.join(missing)} itself")

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

    # --- what measurement space and the objective weighting methods ask of a rule ------------

    @property
    def value_direction(self) -> str:
        """Which way a raw measured value raises the score: ``'higher'`` (a higher value
        never earns less), ``'lower'`` (a lower value never earns less) or ``'equal'`` (a
        value nearer the target never earns less)."""
        raise NotImplementedError

    @property
    def slope(self) -> float | np.ndarray:
        """Measured units per unit of latent attainment of the leaf: how far a project's
        measured value moves when its latent performance moves by 1 (the whole leaf), signed
        so that a rise is better (one per leaf for a rule holding one target per leaf)."""
        raise NotImplementedError

    def measured_value(self, base: np.ndarray, change: np.ndarray) -> np.ndarray:
        """The measured value of a project whose latent attainment on this leaf moved by
        ``change`` (attainment units) from the one its measured value ``base`` shows (both in
        the leaf's unit and shape). Where ``change`` is 0 the value is ``base`` itself, so the
        rule scores the portfolio's own value."""
        raise NotImplementedError

    def attain_latent(self, value: np.ndarray, base: np.ndarray, latent: np.ndarray,
                      scorer: Rule | None = None) -> np.ndarray:
        """Attainments (shares in [0, 1]) of a leaf whose measured value ``value`` earns
        ``base`` when its latent attainment is ``latent``: the value moved by the change
        (:meth:`measured_value`), scored by ``scorer`` (this rule against the projects' own
        targets) or by this rule."""
        return self.attain_measured(self.measured_value(value, latent - base), scorer)

    def attain_measured(self, v: np.ndarray, scorer: Rule | None = None) -> np.ndarray:
        """Attainments of measured values ``v`` moved by :meth:`measured_value` (a new array
        this step may score in its own memory), scored by ``scorer`` or by this rule: the
        second half of :meth:`attain_latent`."""
        return (self if scorer is None else scorer).attainment(v)

    def slope_move(self) -> tuple[float | None, float | None, bool] | None:
        """How :meth:`measured_value` moves a value when it moves it along the slope
        (:func:`along_slope`): the bounds it keeps it in (low, high; None: none) and whether it
        rounds to whole units; None where the value moves otherwise (measurement space then
        scores the leaf by :meth:`attain_latent` alone)."""
        return None

    @property
    def group_key(self) -> tuple[Any, ...]:
        """What the rule scores with apart from its target: leaves with equal keys are scored
        in one call in measurement space."""
        return (self.kind, self.direction, repr(sorted(self.params.items())),
                self.points if self.reads_points else None)

    def check_targets(self, targets: np.ndarray) -> None:
        """Refuse targets (finite, checked by the caller) this rule cannot score against."""

    def with_overcompletion(self, over: Mapping[str, float]) -> Rule:
        """This rule with the MoF over-completion markdown ``over`` ({threshold, rate,
        floor}) where it can take it and has none; other rules as they are."""
        return self

    def _along_slope(self, base: np.ndarray, change: np.ndarray) -> np.ndarray:
        """``base + slope × change`` kept as :meth:`slope_move` says (:func:`along_slope`):
        the usual :meth:`measured_value`."""
        low, high, whole = self.slope_move()
        return along_slope(self.slope, base, change, ((..., low, high, whole),))

    def _toward_target(self, base: np.ndarray, change: np.ndarray) -> np.ndarray:
        """An exact target (the value nearest it is best): the distance to the target shrinks
        by max(|target|, 1) × ``change``, on the side the project is, never past the target;
        ``base`` where ``change`` is 0."""
        b = np.asarray(base, dtype=float)
        d = np.asarray(change, dtype=float)
        t = np.asarray(self.target, dtype=float)
        side = np.where(b >= t, 1.0, -1.0)
        v = t + side * np.maximum(np.abs(b - t) - np.maximum(np.abs(t), 1.0) * d, 0.0)
        return np.where(d == 0, b, v)

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


#: a part of :func:`along_slope`'s values (an index of the leading axis, or ``...``) with its
#: bounds (low, high; None: none) and whether it rounds to whole units
SlopePart = tuple[Any, float | None, float | None, bool]


def along_slope(slope: float | np.ndarray, base: np.ndarray, change: np.ndarray,
                parts: tuple[SlopePart, ...] = ((..., None, None, False),)) -> np.ndarray:
    """``base + slope × change``, each of ``parts`` rounded to whole units where it says so,
    then kept in its [low, high]; ``base`` where ``change`` is 0. The move of a measured value
    along a rule's slope (:meth:`Rule.slope_move`), for one rule (one part: all of it) or, in
    measurement space, for the leaves of several rules at once (a part per rule)."""
    b = np.asarray(base, dtype=float)
    d = np.asarray(change, dtype=float)
    v = np.multiply(slope, d)       # computed in its own memory, pass by pass
    if fits(v.shape, b.shape):
        np.add(b, v, out=v)
    else:
        v = b + v
    for part, low, high, whole in parts:
        if not whole and low is None and high is None:
            continue
        x = v[part]
        if whole:
            np.rint(x, out=x)
        if high is not None:
            x.clip(low, high, out=x)
        elif low is not None:
            np.maximum(x, low, out=x)
    np.copyto(v, b, where=d == 0)
    return v


def fits(shape: tuple[int, ...], other: tuple[int, ...]) -> bool:
    """An array of shape ``other`` broadcasts into one of ``shape`` (their broadcast is
    ``shape``): a cheaper ``np.broadcast_shapes(shape, other) == shape``."""
    if len(other) > len(shape):
        return False
    return all(o == 1 or o == n for o, n in zip(other[::-1], shape[::-1], strict=False))


def _ratio(num: np.ndarray, den: np.ndarray | float) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.true_divide(num, den)


class OnScale(Rule):
    """The family of rules whose measured value is another score on a ``scale`` (a
    self-evaluation, a re-check, a key evaluation's score): higher is better, the value moves
    by ``scale`` per unit of attainment, and an attainment share maps back to ``share ×
    scale``. Each member defines its own :meth:`attainment`."""

    @property
    def scale(self) -> float:
        return float(self.params.get("scale", 100.0))

    def invert(self, attainment):
        return np.clip(attainment, 0, 1) * self.scale

    @property
    def value_direction(self) -> str:
        """Higher: a better score earns no less."""
        return "higher"

    @property
    def slope(self) -> float | np.ndarray:
        """The scale."""
        return self.scale

    def slope_move(self) -> tuple[float | None, float | None, bool] | None:
        return (None, None, False)

    def measured_value(self, base: np.ndarray, change: np.ndarray) -> np.ndarray:
        return self._along_slope(base, change)
