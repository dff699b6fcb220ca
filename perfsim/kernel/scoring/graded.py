"""Qualitative levels, best first, each earning a coefficient of the points."""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from perfsim.errors import InputError
from perfsim.kernel.scoring.base import Rule, _num


class Graded(Rule):
    """Qualitative levels, best first, each with a coefficient of the points
    (e.g. achieved / mostly / partly / not → 1.0 / 0.8 / 0.6 / 0). The measured value is the
    level's position (0 = best); files may give the label instead."""

    kind = "graded"
    reads_points = False
    latent_only = True
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

    @property
    def value_direction(self) -> str:
        """Lower: the measured value is the level's position, 0 the best."""
        return "lower"

    @property
    def slope(self) -> float | np.ndarray:
        """Levels per unit of attainment across the scale, negative (the best level is 0):
        −(levels − 1) / (best − worst coefficient). Measured values move level by level
        (:meth:`measured_value`), not along this slope."""
        coef = self.coefficients
        span = float(coef[0] - coef[-1])
        return -(coef.size - 1) / span if span > 0 else -float(coef.size - 1)

    def measured_value(self, base: np.ndarray, change: np.ndarray) -> np.ndarray:
        """The level nearest to the attainment ``base`` earns plus ``change``."""
        b = np.asarray(base, dtype=float)
        d = np.asarray(change, dtype=float)
        return np.where(d == 0, b, self.invert(self.attainment(b) + d))

    def attain_latent(self, value: np.ndarray, base: np.ndarray, latent: np.ndarray,
                      scorer: Rule | None = None) -> np.ndarray:
        """The coefficient of the level nearest the latent attainment (what
        :meth:`measured_value` gives for ``base`` plus the change), scored directly: ``value``
        and ``base`` are not read (:attr:`~perfsim.kernel.scoring.Rule.latent_only`)."""
        return self.nearest(latent)

    @property
    def group_key(self) -> tuple[Any, ...]:
        """Labels do not score: the coefficients do."""
        return (self.kind, self.direction, repr(self.coefficients.tolist()), None)

    def nearest(self, attainment) -> np.ndarray:
        """The coefficient of the nearest level (:meth:`invert`) to each attainment: the
        attainment that level scores, ``attainment(invert(a))`` without the level: the level
        is the number of midpoints between neighbouring levels above the attainment
        (:func:`midpoints`: the exact floating-point points where the nearer level changes,
        so the answer is the one :meth:`_around` gives to the bit), counted by one comparison
        per midpoint, and the coefficient looked up once."""
        coef, cuts = self._levels_and_cuts
        a = np.asarray(attainment, dtype=float)
        if cuts.size > 255:   # a level count past a byte: one binary search each
            return coef[::-1][np.searchsorted(cuts, a, side="right")]
        level = np.less(a, cuts[-1]).view(np.uint8)   # NaN is below none: the best level
        if cuts.size > 1:
            below = np.empty(a.shape, dtype=bool)
            for c in cuts[-2::-1]:
                level += np.less(a, c, out=below).view(np.uint8)
        return coef.take(level)

    @functools.cached_property
    def _levels_and_cuts(self) -> tuple[np.ndarray, np.ndarray]:
        """The coefficients and their :func:`midpoints`, once per rule."""
        coef = self.coefficients
        return coef, midpoints(tuple(coef.tolist()))

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


@functools.lru_cache(maxsize=256)
def midpoints(coef: tuple[float, ...]) -> np.ndarray:
    """Where the nearest level of a graded rule changes, ascending: for each pair of
    neighbouring levels (coefficients ``coef``, best first, never increasing) the least
    attainment ``a`` that no longer picks the lower level — the test
    :meth:`Graded._around` makes, ``|a − lower| < |upper − a|``, is monotone in ``a`` in
    floating point, so the float where it first fails is found by bisection on the floats
    between the two coefficients (non-negative: their bit patterns are ordered). An
    attainment picks level ``k`` (0 best) where ``k`` midpoints lie above it; NaN picks the
    best level, as the count of levels at or above it does."""
    out = []
    for up, down in zip(coef[:-1], coef[1:], strict=True):
        up, down = up + 0.0, down + 0.0       # −0 as 0: its bit pattern is not ordered
        if not up > down:                      # equal levels: either earns the same
            out.append(up)
            continue
        lo = int(np.float64(down).view(np.int64))   # the test holds just above ``down``
        hi = int(np.float64(up).view(np.int64))     # and fails at ``up``
        while hi - lo > 1:
            mid = (lo + hi) // 2
            a = float(np.int64(mid).view(np.float64))
            if abs(a - down) < abs(a - up):
                lo = mid
            else:
                hi = mid
        out.append(float(np.int64(hi).view(np.float64)))
    return np.array(out[::-1], dtype=float)
