"""Decision-quality and distribution metrics, per replication (rows of (R, P) arrays).

Inactive projects (cancelled earlier, or entrants not yet in the portfolio) are excluded with an
``active`` mask. Every function returns one value per replication.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata


def share(mask: np.ndarray, active: np.ndarray) -> np.ndarray:
    n = active.sum(axis=-1)
    return np.where(n > 0, (mask & active).sum(axis=-1) / np.maximum(n, 1), np.nan)


def spearman(x: np.ndarray, y: np.ndarray, active: np.ndarray) -> np.ndarray:
    """Spearman rank correlation of x and y over active projects, per row (average ranks
    for ties)."""
    rx = rankdata(np.where(active, x, np.nan), axis=-1, nan_policy="omit")
    ry = rankdata(np.where(active, y, np.nan), axis=-1, nan_policy="omit")
    rx = rx - np.nanmean(rx, axis=-1, keepdims=True)
    ry = ry - np.nanmean(ry, axis=-1, keepdims=True)
    num = np.nansum(rx * ry, axis=-1)
    den = np.sqrt(np.nansum(rx * rx, axis=-1) * np.nansum(ry * ry, axis=-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / den, np.nan)


def gini(amount: np.ndarray, include: np.ndarray) -> np.ndarray:
    """Gini coefficient of ``amount`` over included projects, per row."""
    x = np.sort(np.where(include, amount, np.inf), axis=-1)
    n = include.sum(axis=-1, keepdims=True)
    i = np.arange(1, x.shape[-1] + 1)[None, :]
    valid = i <= n
    x = np.where(valid, x, 0.0)
    total = x.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        g = ((2 * i - n - 1) * x).sum(axis=-1, keepdims=True) / (n * total)
    return np.where((n[..., 0] > 0) & (total[..., 0] > 0), g[..., 0], np.nan)


def top_share(amount: np.ndarray, include: np.ndarray, top: float = 0.1) -> np.ndarray:
    """Share of the total held by the top ``top`` fraction of included projects (at least 1)."""
    x = -np.sort(-np.where(include, amount, 0.0), axis=-1)
    n = include.sum(axis=-1)
    k = np.maximum(np.ceil(top * n), 1).astype(int)
    csum = np.cumsum(x, axis=-1)
    head = np.take_along_axis(csum, (k - 1)[:, None], axis=-1)[:, 0]
    total = csum[:, -1]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, head / total, np.nan)


def volatility(budget: np.ndarray, next_budget: np.ndarray, active: np.ndarray) -> np.ndarray:
    """Mean absolute relative budget change |next − budget| / budget over active projects."""
    ok = active & (budget > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = np.where(ok, np.abs(next_budget - budget) / np.where(ok, budget, 1.0), 0.0)
    n = ok.sum(axis=-1)
    return np.where(n > 0, rel.sum(axis=-1) / np.maximum(n, 1), np.nan)


def interval(values: np.ndarray, low: float = 5, high: float = 95) -> tuple[float, float, float]:
    """Mean and the (low, high) percentiles of a sample, ignoring NaN."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return (float("nan"),) * 3
    return float(v.mean()), float(np.percentile(v, low)), float(np.percentile(v, high))
