"""Generalised (power) mean ``(Σ w_i x_i^p)^(1/p)`` (``scipy.stats.pmean``): p = 1 the
arithmetic, p → 0 the geometric, p = −1 the harmonic mean, p → −∞ the minimum; the lower p,
the less a strong indicator makes up for a weak one. Values below 0 count as 0; for p ≤ 0 a
zero value with weight gives 0."""

from __future__ import annotations

import math

import numpy as np

from perfsim.kernel.composite.aggregate.geometric import geometric


def power_mean(x: np.ndarray, w: np.ndarray, p: float = 0.5) -> np.ndarray:
    a = np.clip(np.asarray(x, dtype=float), 0.0, None)
    w = np.asarray(w, dtype=float)
    if p == 0:
        return geometric(a, w)
    if math.isinf(p):
        used = np.where(w > 0, a, np.inf if p < 0 else -np.inf)
        return used.min(axis=-1) if p < 0 else used.max(axis=-1)
    if p < 0:
        zero = ((a <= 0) & (w > 0)).any(axis=-1)
        with np.errstate(divide="ignore"):
            s = (np.where(w > 0, np.where(a > 0, a, 1.0) ** p, 0.0) * w).sum(axis=-1)
        return np.where(zero, 0.0, s ** (1.0 / p))
    return ((a ** p) @ w) ** (1.0 / p)
