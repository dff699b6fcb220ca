"""Percentile rank: the share of the projects scoring at or below a project,
``#(ref ≤ x)/n`` in (0, 1] (``scipy.stats.percentileofscore(kind='weak')/100``; COINr
``n_prank``'s idea)."""

from __future__ import annotations

import numpy as np

from perfsim.kernel.composite.normalise.base import ref

RELATIVE = True


def percentile(x: np.ndarray, reference: np.ndarray | None = None) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    r = ref(x, reference)
    # (..., P, 1, I) <= (..., 1, P', I) counted over P'
    return (r[..., None, :, :] <= x[..., :, None, :]).sum(axis=-2) / r.shape[-2]
