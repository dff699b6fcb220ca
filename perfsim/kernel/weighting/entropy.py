"""Entropy weights (熵权法)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from perfsim.errors import InputError
from perfsim.kernel.weighting.base import FloatArray, _as_float, _labels
from perfsim.kernel.weighting.objective import _decision_matrix, _minmax


def entropy_weights_normalised(Y: ArrayLike, *, codes: Sequence[str] | None = None) -> FloatArray:
    """Entropy weights of an already normalised, non-negative matrix ``Y`` (projects m >= 2,
    indicators n), higher = better in every column.

    p_ij = y_ij / Σ_i y_ij; e_j = −Σ_i p_ij ln p_ij / ln m with 0 · ln 0 = 0; d_j = 1 − e_j;
    w_j = d_j / Σ_k d_k. On a strictly positive ``Y`` this equals
    ``pymcdm.weights.entropy_weights(Y)``. A column of zeros, or a matrix where every column is
    uniform (all d_j = 0), raises :class:`InputError`.
    """
    where = "entropy weights"
    y = _as_float(Y, where, "Y")
    if y.ndim != 2 or y.shape[0] < 2 or y.shape[1] < 1:
        raise InputError(where=where, field="Y shape", value=y.shape,
                         problem="must be 2-D with at least 2 projects and 1 indicator")
    m, n = y.shape
    labels = _labels(n, codes, where)
    bad = np.argwhere(~np.isfinite(y) | (y < 0))
    if bad.size:
        i, j = (int(k) for k in bad[0])
        raise InputError(where=f"{where}, project row {i + 1}", field=labels[j],
                         value=float(y[i, j]), problem="normalised values must be finite and >= 0")
    col = y.sum(axis=0)
    zero = np.flatnonzero(col <= 0)
    if zero.size:
        j = int(zero[0])
        raise InputError(where=where, field=labels[j], value=0.0,
                         problem="the normalised column is all zero; the entropy is undefined")
    p = y / col
    with np.errstate(divide="ignore", invalid="ignore"):
        plogp = np.where(p > 0, p * np.log(p), 0.0)
    e = -plogp.sum(axis=0) / np.log(m)
    d = np.clip(1.0 - e, 0.0, None)  # e <= 1 in exact arithmetic
    total = d.sum()
    if not total > 1e-12:
        raise InputError(where=where, field="divergence", value=0.0,
                         problem="every indicator is spread evenly over the projects, so the "
                         "entropy method gives no information; use another method")
    return d / total


def entropy_weights(
    X: ArrayLike, directions: Sequence[str], *, codes: Sequence[str] | None = None
) -> FloatArray:
    """Entropy weight method (熵权法) for a decision matrix.

    ``X`` shape (projects m >= 2, indicators n): raw values in each indicator's unit.
    ``directions``: one of ``'benefit'``/``'higher'`` or ``'cost'``/``'lower'`` per indicator.

    Convention: min-max normalise towards higher = better (benefit (x − min)/(max − min), cost
    (max − x)/(max − min)), then :func:`entropy_weights_normalised` with 0 · ln 0 = 0 (the worst
    project of every column has y = 0 and contributes nothing). Returns shares, shape (n,), sum 1.
    A constant column raises :class:`InputError` (zero variance makes the method degenerate);
    ``codes`` name the indicators in messages.
    """
    x, signs, labels = _decision_matrix(X, directions, codes, "entropy")
    return entropy_weights_normalised(_minmax(x, signs), codes=labels)
