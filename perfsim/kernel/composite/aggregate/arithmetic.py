"""Weighted arithmetic mean ``Σ w_i x_i`` (the national practice: points-weighted)."""

from __future__ import annotations

import numpy as np


def arithmetic(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    return np.asarray(x, dtype=float) @ np.asarray(w, dtype=float)
