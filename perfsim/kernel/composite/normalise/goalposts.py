"""Goalposts: ``(x − low)/(high − low)`` clipped to [0, 1] (COINr ``n_goalposts``; the
OECD/JRC handbook's distance from fixed goalposts). Absolute: no other project matters.
``low`` and ``high`` are attainment shares, one for every leaf or one per leaf."""

from __future__ import annotations

import numpy as np

RELATIVE = False


def goalposts(x: np.ndarray, reference: np.ndarray | None = None, low: float = 0.0,
              high: float = 1.0) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    lo, hi = np.asarray(low, dtype=float), np.asarray(high, dtype=float)
    return np.clip((x - lo) / (hi - lo), 0.0, 1.0)
