"""Rank: each project's rank among the projects (ties share the average rank, as
``scipy.stats.rankdata(method='average')``), scaled to [0, 1] as ``(rank − 1)/(n − 1)``: the
lowest project 0, the highest 1 (COINr ``n_rank`` gives the raw ranks). Against a
``reference``, a value's rank is ``#(ref < x) + (#(ref = x) + 1)/2``."""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata

RELATIVE = True


def rank(x: np.ndarray, reference: np.ndarray | None = None) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    if reference is None:
        n = x.shape[-2]
        r = rankdata(x, method="average", axis=-2)
    else:
        refs = np.sort(np.asarray(reference, dtype=float), axis=0)
        n = refs.shape[0]
        r = np.empty(x.shape)
        for j in range(x.shape[-1]):  # a loop over indicators (a handful), not projects
            below = np.searchsorted(refs[:, j], x[..., j], side="left")
            upto = np.searchsorted(refs[:, j], x[..., j], side="right")
            r[..., j] = below + (upto - below + 1) / 2.0
    return (r - 1.0) / (n - 1.0) if n > 1 else np.full(x.shape, 0.5)
