"""Min–max: ``low + (high − low)(x − min)/(max − min)`` over the projects (COINr ``n_minx``,
OECD/JRC handbook). A column without spread takes the midpoint ``(low + high)/2``."""

from __future__ import annotations

import numpy as np

from perfsim.kernel.composite.normalise.base import ref

RELATIVE = True


def minmax(x: np.ndarray, reference: np.ndarray | None = None, low: float = 0.0,
           high: float = 1.0) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    r = ref(x, reference)
    lo, hi = r.min(axis=-2, keepdims=True), r.max(axis=-2, keepdims=True)
    span = hi - lo
    with np.errstate(invalid="ignore", divide="ignore"):
        u = np.where(span > 0, (x - lo) / np.where(span > 0, span, 1.0), 0.5)
    return low + (high - low) * u
