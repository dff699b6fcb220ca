"""Weighted geometric mean ``Π x_i^w_i`` (0 when any value with weight is 0; values below 0
count as 0)."""

from __future__ import annotations

import numpy as np


def geometric(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.exp(np.log(np.clip(np.asarray(x, dtype=float), 0.0, None)) @ w)
