"""Statistics of an indicator matrix for redundancy diagnostics (pure array functions).

``X`` is shaped (projects m, indicators k), every column oriented so that higher is better. A
cell may be NaN (a blank, not-applicable or not-submitted measurement, or a heading a project
does not have): every statistic then uses the **pairwise complete** rows, the rows where both
columns of a pair are finite (as ``pandas.DataFrame.corr`` and R's ``use = "pairwise"`` do), so
one blank cell costs one row of that leaf's pairs and nothing else.

- :func:`correlation` — Pearson (or Spearman: Pearson of the column ranks, ties averaged,
  ``scipy.stats.rankdata``, ranked within the pair's rows) correlation matrix over each pair's
  complete rows; NaN where a column is constant over those rows or fewer than
  :data:`MIN_ROWS` rows are complete.
- :func:`covariance` — sample covariances (ddof = 1) over each pair's complete rows.
- :func:`cronbach_alpha` — α = k/(k − 1) · (1 − Σ_j s²_j / Σ_ij s_ij), s the pairwise sample
  covariances (ddof = 1; without blanks Σ_ij s_ij is the variance of the unweighted sum T, the
  textbook α = k/(k − 1) · (1 − Σ_j s²_j / s²_T)); NaN for k < 2 or a non-positive Σ_ij s_ij.
- :func:`pca_variance` — eigenvalues of the correlation matrix, largest first, and the share
  of the total variance each principal component explains; constant columns are left out (and,
  with blanks, the columns sharing too few rows with the others).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

__all__ = ["MIN_ROWS", "constant_columns", "correlation", "covariance", "cronbach_alpha",
           "pca_variance"]

FloatArray = NDArray[np.float64]

#: Fewest complete rows a correlation is computed on (two points always lie on a line).
MIN_ROWS = 3
#: A pair's variance below this share of its rows' second moment about the column mean is
#: rounding: the column is constant over those rows.
_ROUNDING = 1e-9


def _matrix(X: ArrayLike) -> FloatArray:
    x = np.asarray(X, dtype=float)
    return x[:, None] if x.ndim == 1 else x


def constant_columns(X: ArrayLike) -> NDArray[np.bool_]:
    """Columns with no spread over their finite values (one value repeated, or none)."""
    x = _matrix(X)
    ok = np.isfinite(x)
    big = np.where(ok, x, -np.inf).max(axis=0, initial=-np.inf)
    small = np.where(ok, x, np.inf).min(axis=0, initial=np.inf)
    return ~(big > small)


def _pair_sums(x: FloatArray) -> tuple[FloatArray, ...]:
    """Over each pair's complete rows: the count n, the co-moment Σ dx·dy − Σdx·Σdy/n and each
    column's Σd² − (Σd)²/n (d: deviations from the column's mean over its finite values, so
    the sums stay small and exact for a constant column) and Σd² (its rounding scale)."""
    ok = np.isfinite(x)
    M = ok.astype(float)
    n_col = M.sum(axis=0)
    mean = np.where(ok, x, 0.0).sum(axis=0) / np.maximum(n_col, 1.0)
    d = np.where(ok, x - mean, 0.0)
    n = M.T @ M
    sx = d.T @ M                      # sx[i, j] = Σ d_i over the rows where i and j are finite
    sxx = (d * d).T @ M
    nn = np.maximum(n, 1.0)
    co = d.T @ d - sx * sx.T / nn
    ss = sxx - sx * sx / nn           # ss[i, j]: column i's sum of squares over the pair's rows
    return n, co, ss, sxx


def covariance(X: ArrayLike) -> FloatArray:
    """Sample covariance matrix (k, k) of the columns of ``X`` (m, k), ddof = 1, each entry over
    the rows where both columns are finite; NaN where fewer than 2 rows are."""
    x = _matrix(X)
    n, co, _, _ = _pair_sums(x)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n >= 2, co / np.maximum(n - 1.0, 1.0), np.nan)


def _pearson(x: FloatArray) -> FloatArray:
    n, co, ss, sxx = _pair_sums(x)
    flat = (ss <= _ROUNDING * sxx) | (ss <= 0)      # constant over the pair's rows
    bad = flat | flat.T | (n < MIN_ROWS)
    denom = np.sqrt(np.where(bad, 1.0, ss * ss.T))
    r = np.where(bad, np.nan, np.clip(co / np.where(denom > 0, denom, 1.0), -1.0, 1.0))
    np.fill_diagonal(r, 1.0)
    return r


def correlation(X: ArrayLike, method: str = "pearson") -> FloatArray:
    """Correlation matrix (k, k) of the columns of ``X`` (m, k): ``'pearson'`` or
    ``'spearman'``, each pair over the rows where both are finite. NaN off the diagonal where a
    column is constant over those rows or fewer than :data:`MIN_ROWS` rows are complete; 1 on
    the diagonal."""
    x = _matrix(X)
    if method not in ("pearson", "spearman"):
        raise ValueError(f"unknown correlation method {method!r}")
    if method == "pearson":
        return _pearson(x)
    ok = np.isfinite(x)
    full = ok.all(axis=0)
    r = np.full((x.shape[1],) * 2, np.nan)
    if full.any():   # columns without blanks: ranked once, over every row
        idx = np.flatnonzero(full)
        r[np.ix_(idx, idx)] = _pearson(stats.rankdata(x[:, idx], axis=0))
    for i in np.flatnonzero(~full):   # a column with blanks: ranked within each pair's rows
        for j in range(x.shape[1]):
            if j == i or (j < i and not full[j]):
                continue
            rows = ok[:, i] & ok[:, j]
            r[i, j] = r[j, i] = _pearson(stats.rankdata(x[rows][:, [i, j]], axis=0))[0, 1] \
                if rows.sum() >= MIN_ROWS else np.nan
    np.fill_diagonal(r, 1.0)
    return r


def cronbach_alpha(X: ArrayLike) -> float:
    """Cronbach's α of the k columns (items) of ``X`` (m units, k items) from their pairwise
    sample covariances s (ddof = 1): α = k/(k − 1) · (1 − Σ_j s_jj / Σ_ij s_ij); without blanks
    Σ_ij s_ij = var(Σ_j x_j). NaN if k < 2, a covariance is missing (fewer than 2 rows shared)
    or Σ_ij s_ij is not positive (e.g. a constant sum)."""
    x = _matrix(X)
    m, k = x.shape
    if k < 2 or m < 2:
        return float("nan")
    C = covariance(x)
    total_var = C.sum()
    if not total_var > 1e-12 * max(float(np.abs(np.diag(C)).sum()), 1e-300):
        return float("nan")   # NaN, or a sum constant up to rounding
    return float(k / (k - 1) * (1.0 - np.trace(C) / total_var))


def pca_variance(X: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Principal components of the (pairwise) Pearson correlation matrix of ``X`` (m, k):
    ``(eigenvalues, shares)``, largest first, shares adding up to 1. Columns constant over
    their finite values are dropped first (they carry no variance), then, while a correlation
    is missing, the column missing most; with no column left both arrays are empty. Negative
    eigenvalues (a pairwise matrix need not be positive semi-definite) count as 0."""
    x = _matrix(X)
    keep = np.flatnonzero(~constant_columns(x))
    r = correlation(x[:, keep])
    while keep.size and np.isnan(r).any():
        worst = int(np.isnan(r).sum(axis=0).argmax())
        keep = np.delete(keep, worst)
        r = np.delete(np.delete(r, worst, axis=0), worst, axis=1)
    if keep.size == 0:
        return np.empty(0), np.empty(0)
    lam = np.clip(np.linalg.eigvalsh(r)[::-1], 0.0, None)
    return lam, lam / lam.sum()
