"""Optimised weights: each indicator's importance in the index hits a target (COINr's
``get_opt_weights``; Becker, Saisana, Paruolo & Vandecasteele 2017 on weights and importance).

The data are min-max normalised towards "higher is better" (as for entropy and CRITIC); the
index of weights w is I = X w. An indicator's **importance** is its Pearson correlation with the
index, r_j(w) = corr(x_j, I) (``importance="correlation"``), or its squared correlation r_j²
(``"r2"``: the share of the index's variance it explains on its own); normalised to shares,
S_j = r_j / Σ_k r_k. The weights minimise

    Σ_j (S_j(w) − t_j)²     over shares w (w >= 0, Σ w = 1)

with t the ``target`` shares (default equal: every indicator equally important, COINr's
default). Solved with ``scipy.optimize.minimize`` (SLSQP) from equal weights. Weights and
importance differ because correlated indicators carry each other: equal weights give the
indicators that correlate with the rest more importance than the others.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike
from scipy.optimize import minimize

from perfsim.errors import InputError
from perfsim.kernel.weighting.base import FloatArray, _short
from perfsim.kernel.weighting.objective import _decision_matrix, _minmax

__all__ = ["IMPORTANCE", "importance_shares", "optimised_weights"]

#: How an indicator's importance is measured.
IMPORTANCE: tuple[str, ...] = ("correlation", "r2")


def importance_shares(Y: ArrayLike, w: ArrayLike, importance: str = "correlation"
                      ) -> FloatArray:
    """S_j: each column's importance in the index Y w (Y already normalised), as shares."""
    y = np.asarray(Y, dtype=float)
    idx = y @ np.asarray(w, dtype=float)
    yc = y - y.mean(axis=0)
    ic = idx - idx.mean()
    denom = np.sqrt((yc ** 2).sum(axis=0) * (ic ** 2).sum())
    r = np.divide(yc.T @ ic, denom, out=np.zeros(y.shape[1]), where=denom > 0)
    if importance == "r2":
        r = r ** 2
    total = r.sum()
    return r / total if total != 0 else np.full(y.shape[1], 1.0 / y.shape[1])


def optimised_weights(X: ArrayLike, directions: Sequence[str], *,
                      target: ArrayLike | None = None, importance: str = "correlation",
                      codes: Sequence[str] | None = None,
                      rows: Sequence[int] | None = None) -> FloatArray:
    """Weights (shares, (n,)) whose importance shares hit ``target`` as closely as possible
    (see the module docstring). ``X`` (projects m >= 2, indicators n) raw values,
    ``directions`` as in :func:`perfsim.kernel.weighting.entropy_weights`; ``target``: n
    non-negative numbers (shares after normalising; default equal). A constant column raises
    :class:`InputError`. Missing (NaN) cells: the index needs every value of a project, so the
    correlations read the projects with a value on every indicator (each column is still
    normalised over all its values); fewer than 3 such projects raise :class:`InputError`.
    ``rows`` number the rows in messages as the caller's file does."""
    x, signs, labels = _decision_matrix(X, directions, codes, "optimised", rows)
    y = _minmax(x, signs)
    y = y[~np.isnan(y).any(axis=1)]
    n = y.shape[1]
    if len(y) < 3:
        raise InputError(where="optimised weights", field="projects", value=len(y),
                         problem="fewer than 3 projects have a value on every indicator (the "
                                 "rest are missing and left out)")
    if importance not in IMPORTANCE:
        raise InputError(where="optimised weights", field="importance", value=importance,
                         problem=f"choose one of {', '.join(IMPORTANCE)}")
    if target is None:
        t = np.full(n, 1.0 / n)
    else:
        t = np.asarray(target, dtype=float)
        if t.shape != (n,) or not np.all(np.isfinite(t)) or np.any(t < 0) or t.sum() <= 0:
            raise InputError(where="optimised weights", field="target",
                             value=_short(np.asarray(target).tolist()),
                             problem=f"must be {n} numbers >= 0, not all 0 (one per "
                                     f"indicator: {', '.join(labels)})")
        t = t / t.sum()
    if n == 1:
        return np.ones(1)

    def loss(w: FloatArray) -> float:
        return float(((importance_shares(y, w, importance) - t) ** 2).sum())

    res = minimize(loss, np.full(n, 1.0 / n), method="SLSQP", bounds=[(0.0, 1.0)] * n,
                   constraints=[{"type": "eq", "fun": lambda w: w.sum() - 1.0}],
                   options={"ftol": 1e-14, "maxiter": 500})
    w = np.clip(res.x, 0.0, None)
    return w / w.sum()
