"""Rounding as published tables do (四舍五入)."""

from __future__ import annotations

import numpy as np

#: what is added before the floor: a half rounds up, and so does a binary value a hair below a
#: decimal half (89.995 is stored as 89.99499…)
HALF_UP = 0.5 + 1e-6


def halves_up(scaled: np.ndarray) -> np.ndarray:
    """The rounding step of :func:`round_half_up` on values already scaled to units of the
    last decimal and not negative: ``floor(scaled + HALF_UP)``, whole numbers, in place."""
    scaled += HALF_UP
    return np.floor(scaled, out=scaled)


def round_half_up(x: np.ndarray | float, decimals: int | None) -> np.ndarray | float:
    """Round as printed tables do (四舍五入: halves away from zero) to ``decimals`` places;
    ``None`` leaves the value as it is. Binary sums a hair off a decimal value round as that
    value would: 79.99999999999999 → 80.0, 89.995 (stored as 89.99499…) → 90.0, 59.995 → 60.0.
    """
    if decimals is None:
        return x
    f = 10.0 ** int(decimals)
    v = np.asarray(x, dtype=float)
    out = np.asarray(np.abs(v) * f)  # one array worked in place: the Monte Carlo rounds many
    halves_up(out)
    out /= f
    np.copysign(out, v, out=out)
    return out if np.ndim(out) else float(out)
