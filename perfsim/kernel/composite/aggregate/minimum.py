"""The minimum over the indicators that carry weight (the weakest one decides)."""

from __future__ import annotations

import numpy as np


def minimum(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    a = np.asarray(x, dtype=float)
    return np.where(np.asarray(w) > 0, a, np.inf).min(axis=-1)
