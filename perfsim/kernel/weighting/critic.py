"""CRITIC weights: contrast (standard deviation) times conflict (1 − correlation)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from perfsim.errors import InputError
from perfsim.kernel import diagnostics as dg
from perfsim.kernel.weighting.base import FloatArray, _short
from perfsim.kernel.weighting.objective import _decision_matrix, _minmax


def critic_weights(
    X: ArrayLike, directions: Sequence[str], *, codes: Sequence[str] | None = None,
    rows: Sequence[int] | None = None,
) -> FloatArray:
    """CRITIC weights (Diakoulaki et al. 1995) for a decision matrix.

    ``X`` shape (projects m >= 2, indicators n), raw values; ``directions`` as in
    :func:`entropy_weights`. Convention (same as ``pymcdm.weights.critic_weights`` on the
    direction-adjusted matrix): min-max normalise towards higher = better; s_j = sample standard
    deviation (ddof=1) of normalised column j; r = Pearson correlation matrix of the normalised
    columns; C_j = s_j · Σ_k (1 − r_jk); w = C / Σ C (the ddof only rescales every C_j by the
    same factor, so it does not change the weights). Returns shares, shape (n,), sum 1.
    A constant column raises :class:`InputError`.

    Missing (NaN) cells are left out: s_j over column j's values, r_jk over the projects both
    columns have (pairwise, :func:`perfsim.kernel.diagnostics.correlation`); two indicators
    sharing fewer than 3 projects have no correlation and raise :class:`InputError`. ``rows``
    number the rows in messages as the caller's file does.
    """
    x, signs, labels = _decision_matrix(X, directions, codes, "CRITIC", rows)
    y = _minmax(x, signs)
    s = np.nanstd(y, axis=0, ddof=1)
    if y.shape[1] == 1:
        return np.ones(1)
    r = dg.correlation(y)
    gap = np.argwhere(np.isnan(r))
    if gap.size:
        i, j = (int(k) for k in gap[0])
        shared = int((~np.isnan(y[:, i]) & ~np.isnan(y[:, j])).sum())
        raise InputError(where="CRITIC weights", field=f"{labels[i]} × {labels[j]}",
                         value=shared, problem="fewer than 3 projects have a value in both "
                         "(the rest are missing and left out), so they have no correlation")
    c = s * (1.0 - r).sum(axis=0)
    c = np.where(c < 0, 0.0, c)  # only rounding can make Σ(1 − r) negative
    total = c.sum()
    if not (np.isfinite(total) and total > 0):
        raise InputError(where="CRITIC weights", field="C", value=_short(c.tolist()),
                         problem="every indicator is perfectly correlated with every other, so "
                         "CRITIC gives no information; use another method")
    return c / total
