"""Ordered weighted average (Yager 1988): the values sorted from the largest down,
``OWA = Σ_j v_j b_j`` with b_j the j-th largest and order weights v (Σ v = 1). The order
weights are ``weights`` when given (one per value, largest first; the indicators' own weights
are then not used), else those of the quantifier Q(r) = r^(1/orness − 1) over the
importance-weighted order (Yager 1996's weighted OWA: v_j = Q(S_j) − Q(S_{j−1}), S_j the
weight of the j largest values): ``orness`` 0.5 is the weighted mean, toward 0 the minimum,
toward 1 the maximum."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def owa(x: np.ndarray, w: np.ndarray, orness: float = 0.5,
        weights: Sequence[float] | None = None) -> np.ndarray:
    a = np.asarray(x, dtype=float)
    order = np.argsort(-a, axis=-1, kind="stable")
    b = np.take_along_axis(a, order, axis=-1)
    if weights is not None:
        v = np.asarray(weights, dtype=float)
        return b @ (v / v.sum())
    imp = np.broadcast_to(np.asarray(w, dtype=float), a.shape)
    cum = np.cumsum(np.take_along_axis(imp, order, axis=-1), axis=-1)
    cum = np.clip(cum / cum[..., -1:], 0.0, 1.0)
    if orness <= 0:
        q = (cum >= 1.0 - 1e-12).astype(float)       # Q = 1 only at 1: the minimum
    elif orness >= 1:
        q = (cum > 1e-12).astype(float)              # Q = 1 from the first: the maximum
    else:
        q = cum ** (1.0 / orness - 1.0)
    v = np.diff(q, axis=-1, prepend=0.0)
    return (v * b).sum(axis=-1)
