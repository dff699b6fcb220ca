"""Weighted harmonic mean ``1 / Σ (w_i / x_i)`` (``scipy.stats.hmean`` with weights; 0 when
any value with weight is 0)."""

from __future__ import annotations

import numpy as np


def harmonic(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    a = np.clip(np.asarray(x, dtype=float), 0.0, None)
    w = np.asarray(w, dtype=float)
    zero = ((a <= 0) & (w > 0)).any(axis=-1)
    with np.errstate(divide="ignore"):
        inv = np.where(w > 0, w / np.where(a > 0, a, 1.0), 0.0).sum(axis=-1)
    return np.where(zero, 0.0, 1.0 / inv)
