"""Statistics of an indicator matrix for redundancy diagnostics (pure array functions).

``X`` is shaped (projects m, indicators k), every column oriented so that higher is better.

- :func:`correlation` — Pearson (or Spearman: Pearson of the column ranks, ties averaged,
  ``scipy.stats.rankdata``) correlation matrix; a constant column gives NaN correlations.
- :func:`cronbach_alpha` — α = k/(k − 1) · (1 − Σ_j s²_j / s²_T), s² sample variances
  (ddof = 1) of the items and of their unweighted sum T; NaN for k < 2 or a constant sum.
- :func:`pca_variance` — eigenvalues of the correlation matrix, largest first, and the share
  of the total variance each principal component explains (the squared singular values of the
  z-scored matrix, normalised); constant columns are left out.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

__all__ = ["correlation", "cronbach_alpha", "pca_variance"]

FloatArray = NDArray[np.float64]


def correlation(X: ArrayLike, method: str = "pearson") -> FloatArray:
    """Correlation matrix (k, k) of the columns of ``X`` (m, k): ``'pearson'`` or
    ``'spearman'``. Constant columns give NaN rows and columns (1 on the diagonal)."""
    x = np.asarray(X, dtype=float)
    if method == "spearman":
        x = stats.rankdata(x, axis=0)
    elif method != "pearson":
        raise ValueError(f"unknown correlation method {method!r}")
    z = x - x.mean(axis=0)
    norm = np.sqrt((z * z).sum(axis=0))
    with np.errstate(invalid="ignore", divide="ignore"):
        z = z / norm
    r = np.clip(z.T @ z, -1.0, 1.0)
    r[np.diag_indices_from(r)] = 1.0
    return r


def cronbach_alpha(X: ArrayLike) -> float:
    """Cronbach's α of the k columns (items) of ``X`` (m units, k items), sample variances
    (ddof = 1): α = k/(k − 1) · (1 − Σ var(x_j) / var(Σ_j x_j)). NaN if k < 2, m < 2 or the
    sum is constant."""
    x = np.asarray(X, dtype=float)
    m, k = x.shape
    if k < 2 or m < 2:
        return float("nan")
    item_var = x.var(axis=0, ddof=1).sum()
    total_var = x.sum(axis=1).var(ddof=1)
    if not total_var > 0:
        return float("nan")
    return float(k / (k - 1) * (1.0 - item_var / total_var))


def pca_variance(X: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Principal components of the correlation matrix of ``X`` (m, k): ``(eigenvalues,
    shares)``, largest first, shares adding up to 1. Constant columns are dropped first (they
    carry no variance); with fewer than one varying column both arrays are empty."""
    x = np.asarray(X, dtype=float)
    keep = np.ptp(x, axis=0) > 0
    x = x[:, keep]
    if x.shape[1] == 0:
        return np.empty(0), np.empty(0)
    z = (x - x.mean(axis=0)) / x.std(axis=0, ddof=1)
    lam = np.linalg.eigvalsh(np.corrcoef(z, rowvar=False).reshape(x.shape[1], x.shape[1]))
    lam = np.clip(lam[::-1], 0.0, None)
    return lam, lam / lam.sum()
