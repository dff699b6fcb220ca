"""PCA weights: loadings on the principal components that keep a share of the variance."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from perfsim.errors import InputError
from perfsim.kernel.weighting.base import FloatArray, _normalise
from perfsim.kernel.weighting.objective import _decision_matrix


def pca_weights(
    X: ArrayLike,
    directions: Sequence[str],
    variance_kept: float = 0.85,
    *,
    codes: Sequence[str] | None = None,
) -> FloatArray:
    """Principal-component weights (主成分分析法) for a decision matrix.

    ``X`` shape (projects m >= 2, indicators n), raw values; ``directions`` as in
    :func:`entropy_weights`.

    Convention:

    1. z-score each direction-adjusted column (cost columns negated), so PCA runs on the
       correlation matrix R (n × n);
    2. eigen-decompose R with ``numpy.linalg.eigh``; eigenvalues λ_1 >= λ_2 >= ... (clipped at 0)
       with explained-variance shares π_k = λ_k / Σ λ;
    3. keep the fewest leading components whose cumulative share reaches ``variance_kept``
       (in (0, 1], default 0.85);
    4. w_j ∝ Σ_kept π_k · |v_jk|, where v_k is the k-th *unit* eigenvector (the coefficient of
       indicator j in component k, not scaled by √λ_k); normalise to add up to 1.

    Because of the absolute value the eigenvectors' sign (and each indicator's direction) does not
    change the weights; directions are still checked. With tied eigenvalues among the kept
    components the eigenvectors, and so the weights, are not unique. Returns shares, shape (n,).
    A constant column raises :class:`InputError`.
    """
    if not (isinstance(variance_kept, int | float | np.floating)
            and 0 < variance_kept <= 1):
        raise InputError(where="PCA weights", field="variance_kept", value=variance_kept,
                         problem="must be a share in (0, 1]")
    x, signs, _ = _decision_matrix(X, directions, codes, "PCA")
    n = x.shape[1]
    if n == 1:
        return np.ones(1)
    z = x * signs
    z = (z - z.mean(axis=0)) / z.std(axis=0)
    r = (z.T @ z) / z.shape[0]
    r = (r + r.T) / 2.0
    lam, vecs = np.linalg.eigh(r)
    order = np.argsort(lam)[::-1]
    lam = np.clip(lam[order], 0.0, None)
    vecs = vecs[:, order]
    share = lam / lam.sum()
    cum = np.cumsum(share)
    k = int(np.searchsorted(cum, variance_kept - 1e-12)) + 1
    k = min(k, n)
    w = np.abs(vecs[:, :k]) @ share[:k]
    return _normalise(w, where="PCA weights")
