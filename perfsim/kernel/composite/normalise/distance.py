"""Distance to target: ``(x − min)/(target − min)`` over the projects, capped at 1 (COINr
``n_dist2targ`` with ``cap_max = TRUE``): the lowest project 0, a project at or beyond the
target 1. A column whose minimum reaches the target scores 1."""

from __future__ import annotations

import numpy as np

from perfsim.kernel.composite.normalise.base import ref

RELATIVE = True


def distance(x: np.ndarray, reference: np.ndarray | None = None,
             target: float = 1.0) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    lo = ref(x, reference).min(axis=-2, keepdims=True)
    t = np.asarray(target, dtype=float)
    gap = t - lo
    with np.errstate(invalid="ignore", divide="ignore"):
        d = np.where(gap > 0, (x - lo) / np.where(gap > 0, gap, 1.0), 1.0)
    return np.minimum(d, 1.0)
