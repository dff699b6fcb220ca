"""Entropy weights (熵权法)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from perfsim.errors import InputError
from perfsim.kernel.weighting.base import FloatArray, _as_float, _labels
from perfsim.kernel.weighting.objective import _decision_matrix, _minmax, row_label


def entropy_weights_normalised(Y: ArrayLike, *, codes: Sequence[str] | None = None,
                               rows: Sequence[int] | None = None) -> FloatArray:
    """Entropy weights of an already normalised, non-negative matrix ``Y`` (projects m >= 2,
    indicators n), higher = better in every column.

    p_ij = y_ij / Σ_i y_ij; e_j = −Σ_i p_ij ln p_ij / ln m with 0 · ln 0 = 0; d_j = 1 − e_j;
    w_j = d_j / Σ_k d_k. On a strictly positive ``Y`` this equals
    ``pymcdm.weights.entropy_weights(Y)``. A column of zeros, or a matrix where every column is
    uniform (all d_j = 0), raises :class:`InputError`.

    Missing cells (NaN: blank, n/a or 未申报 cells the leaf's policy leaves out) are left out
    of their column: the sums run over the m_j projects that have a value and e_j is divided by
    ln m_j (m_j >= 2), so a column's entropy is that of the values it has. ``rows`` number the
    rows in messages as the caller's file does.
    """
    where = "entropy weights"
    y = _as_float(Y, where, "Y")
    if y.ndim != 2 or y.shape[0] < 2 or y.shape[1] < 1:
        raise InputError(where=where, field="Y shape", value=y.shape,
                         problem="must be 2-D with at least 2 projects and 1 indicator")
    n = y.shape[1]
    labels = _labels(n, codes, where)
    bad = np.argwhere(np.isinf(y) | (y < 0))
    if bad.size:
        i, j = (int(k) for k in bad[0])
        raise InputError(where=f"{where}, {row_label(i, rows)}", field=labels[j],
                         value=float(y[i, j]), problem="normalised values must be finite and >= 0")
    ok = ~np.isnan(y)
    m_j = ok.sum(axis=0)
    few = np.flatnonzero(m_j < 2)
    if few.size:
        j = int(few[0])
        raise InputError(where=where, field=labels[j], value=int(m_j[j]),
                         problem="fewer than 2 projects have a value (the rest are missing "
                         "and left out): the entropy method needs at least 2")
    y = np.where(ok, y, 0.0)  # a missing cell adds nothing to its column's sums
    col = y.sum(axis=0)
    zero = np.flatnonzero(col <= 0)
    if zero.size:
        j = int(zero[0])
        raise InputError(where=where, field=labels[j], value=0.0,
                         problem="the normalised column is all zero; the entropy is undefined")
    p = y / col
    with np.errstate(divide="ignore", invalid="ignore"):
        plogp = np.where(p > 0, p * np.log(p), 0.0)
    e = -plogp.sum(axis=0) / np.log(m_j)
    d = np.clip(1.0 - e, 0.0, None)  # e <= 1 in exact arithmetic
    total = d.sum()
    if not total > 1e-12:
        raise InputError(where=where, field="divergence", value=0.0,
                         problem="every indicator is spread evenly over the projects, so the "
                         "entropy method gives no information; use another method")
    return d / total


def entropy_weights(
    X: ArrayLike, directions: Sequence[str], *, codes: Sequence[str] | None = None,
    rows: Sequence[int] | None = None,
) -> FloatArray:
    """Entropy weight method (熵权法) for a decision matrix.

    ``X`` shape (projects m >= 2, indicators n): raw values in each indicator's unit.
    ``directions``: one of ``'benefit'``/``'higher'`` or ``'cost'``/``'lower'`` per indicator.

    Convention: min-max normalise towards higher = better (benefit (x − min)/(max − min), cost
    (max − x)/(max − min)), then :func:`entropy_weights_normalised` with 0 · ln 0 = 0 (the worst
    project of every column has y = 0 and contributes nothing). Returns shares, shape (n,), sum 1.
    A constant column raises :class:`InputError` (zero variance makes the method degenerate);
    ``codes`` name the indicators in messages, ``rows`` the rows (as the caller's file numbers
    them). Missing (NaN) cells are left out of their column (min, max and the entropy's sums;
    see :func:`entropy_weights_normalised`).
    """
    x, signs, labels = _decision_matrix(X, directions, codes, "entropy", rows)
    return entropy_weights_normalised(_minmax(x, signs), codes=labels, rows=rows)
