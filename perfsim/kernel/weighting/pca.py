"""PCA weights: loadings on the principal components that keep a share of the variance."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from perfsim.errors import InputError
from perfsim.kernel import diagnostics as dg
from perfsim.kernel.weighting.base import FloatArray, _normalise
from perfsim.kernel.weighting.objective import _decision_matrix


def pca_weights(
    X: ArrayLike,
    directions: Sequence[str],
    variance_kept: float = 0.85,
    *,
    codes: Sequence[str] | None = None,
    rows: Sequence[int] | None = None,
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

    Missing (NaN) cells are left out: R is the pairwise correlation matrix (each entry over the
    projects both columns have, :func:`perfsim.kernel.diagnostics.correlation`; without
    missing cells it is the correlation matrix of step 1); two indicators sharing fewer than 3
    projects raise :class:`InputError`. ``rows`` number the rows in messages as the caller's
    file does.
    """
    if not (isinstance(variance_kept, int | float | np.floating)
            and 0 < variance_kept <= 1):
        raise InputError(where="PCA weights", field="variance_kept", value=variance_kept,
                         problem="must be a share in (0, 1]")
    x, signs, labels = _decision_matrix(X, directions, codes, "PCA", rows)
    n = x.shape[1]
    if n == 1:
        return np.ones(1)
    r = dg.correlation(x * signs)
    gap = np.argwhere(np.isnan(r))
    if gap.size:
        i, j = (int(k) for k in gap[0])
        shared = int((~np.isnan(x[:, i]) & ~np.isnan(x[:, j])).sum())
        raise InputError(where="PCA weights", field=f"{labels[i]} × {labels[j]}", value=shared,
                         problem="fewer than 3 projects have a value in both (the rest are "
                         "missing and left out), so they have no correlation")
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
