"""CRITIC weights: contrast (standard deviation) times conflict (1 − correlation)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from perfsim.errors import InputError
from perfsim.kernel.weighting.base import FloatArray, _short
from perfsim.kernel.weighting.objective import _decision_matrix, _minmax


def critic_weights(
    X: ArrayLike, directions: Sequence[str], *, codes: Sequence[str] | None = None
) -> FloatArray:
    """CRITIC weights (Diakoulaki et al. 1995) for a decision matrix.

    ``X`` shape (projects m >= 2, indicators n), raw values; ``directions`` as in
    :func:`entropy_weights`. Convention (same as ``pymcdm.weights.critic_weights`` on the
    direction-adjusted matrix): min-max normalise towards higher = better; s_j = sample standard
    deviation (ddof=1) of normalised column j; r = Pearson correlation matrix of the normalised
    columns; C_j = s_j · Σ_k (1 − r_jk); w = C / Σ C (the ddof only rescales every C_j by the
    same factor, so it does not change the weights). Returns shares, shape (n,), sum 1.
    A constant column raises :class:`InputError`.
    """
    x, signs, labels = _decision_matrix(X, directions, codes, "CRITIC")
    y = _minmax(x, signs)
    s = y.std(axis=0, ddof=1)
    if y.shape[1] == 1:
        return np.ones(1)
    r = np.corrcoef(y, rowvar=False)
    c = s * (1.0 - r).sum(axis=0)
    c = np.where(c < 0, 0.0, c)  # only rounding can make Σ(1 − r) negative
    total = c.sum()
    if not (np.isfinite(total) and total > 0):
        raise InputError(where="CRITIC weights", field="C", value=_short(c.tolist()),
                         problem="every indicator is perfectly correlated with every other, so "
                         "CRITIC gives no information; use another method")
    return c / total
