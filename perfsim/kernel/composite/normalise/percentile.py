"""Percentile rank: the share of the projects scoring at or below a project,
``#(ref ≤ x)/n`` in (0, 1] (``scipy.stats.percentileofscore(kind='weak')/100``; COINr
``n_prank``'s idea): over the projects themselves the ``max`` rank over n."""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata

RELATIVE = True


def percentile(x: np.ndarray, reference: np.ndarray | None = None) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    if reference is None:
        return rankdata(x, method="max", axis=-2) / x.shape[-2]
    refs = np.sort(np.asarray(reference, dtype=float), axis=0)
    out = np.empty(x.shape)
    for j in range(x.shape[-1]):  # a loop over indicators (a handful), not projects
        out[..., j] = np.searchsorted(refs[:, j], x[..., j], side="right") / refs.shape[0]
    return out
