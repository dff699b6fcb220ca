"""Z-score: ``mean + sd · (x − x̄)/s`` over the projects (COINr ``n_zscore`` with
``m_sd = c(mean, sd)``). The defaults 1 ± 0.1 are Mazziotta–Pareto's standardisation 100 ± 10
as a share of the total (so a 100-point system reads it in points), with the population
standard deviation (``ddof = 0``, as in Mazziotta & Pareto 2016; COINr uses ``ddof = 1``).
A column without spread takes ``mean``."""

from __future__ import annotations

import numpy as np

from perfsim.kernel.composite.normalise.base import ref

RELATIVE = True


def zscore(x: np.ndarray, reference: np.ndarray | None = None, mean: float = 1.0,
           sd: float = 0.1, ddof: int = 0) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    r = ref(x, reference)
    mu = r.mean(axis=-2, keepdims=True)
    s = r.std(axis=-2, keepdims=True, ddof=ddof)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(s > 0, (x - mu) / np.where(s > 0, s, 1.0), 0.0)
    return mean + sd * z
