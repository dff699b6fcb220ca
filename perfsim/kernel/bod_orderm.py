"""Robust (order-m) benefit of the doubt (Daraio & Simar 2007, *Advanced Robust and
Nonparametric Methods in Efficiency Analysis*, ch. 4; the robust BoD of Compind's
``ci_rbod``).

The full BoD score of unit i (:func:`perfsim.kernel.bod.bod`) compares it with **every** unit,
so one outlying project lowers everyone's score. The order-m variant compares it with ``m``
peers drawn at random, and takes the expectation. Every unit has one unit of a dummy input,
so every unit is an admissible peer (Daraio & Simar draw among the units using no more input).
For a set R of peers the output expansion factor is

    θ_R(i) = max θ  subject to  Σ_{k in R} λ_k y_k >= θ y_i,  Σ λ_k <= 1,  λ >= 0

(by LP duality, 1 / θ_R is the BoD score of i against R alone), and

    λ_m(i) = E[θ_R(i)]  over R = m units drawn with replacement, uniformly,

estimated by the mean over ``draws`` (B) independent sets from a seeded generator. The robust
score is 1 / λ_m(i): it may exceed 1 (a unit beyond the order-m frontier, "super-efficient":
an outlier), and it tends to the full BoD score as m grows. A unit whose values are all 0
scores 0; λ_m = 0 (no draw of peers reaches it on some indicator) gives an infinite score.

Solved with ``scipy.optimize.linprog`` (HiGHS), :data:`BLOCKS` (unit, draw) programmes per call
as one block-diagonal programme; the draws are made first, so the numbers depend only on the
seed, ``m`` and ``draws``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import sparse
from scipy.optimize import linprog

from perfsim.errors import InputError
from perfsim.kernel.bod import _check_values

__all__ = ["BLOCKS", "OrderMResult", "bod_order_m", "expansion_factors"]

FloatArray = NDArray[np.float64]

#: (unit, draw) linear programmes solved per linprog call.
BLOCKS = 64


@dataclass(frozen=True)
class OrderMResult:
    """``scores`` (units,) = 1 / ``expansion`` (the mean θ over the draws); ``m``, ``draws``
    and ``seed`` used."""

    scores: FloatArray
    expansion: FloatArray
    m: int
    draws: int
    seed: int


def expansion_factors(Y: ArrayLike, units: ArrayLike, peers: ArrayLike, *,
                      source: str | None = None) -> FloatArray:
    """θ_R(i) for each pair (units[p], peers[p]): ``units`` (P,) unit rows of ``Y``,
    ``peers`` (P, m) the rows of the peers (repeats allowed). See the module docstring."""
    y = _check_values(Y, "order-m benefit of the doubt", source)
    u = np.asarray(units, dtype=np.int64)
    R = np.asarray(peers, dtype=np.int64)
    n = y.shape[1]
    mm = R.shape[1]
    out = np.empty(len(u))
    for start in range(0, len(u), BLOCKS):
        sel = slice(start, min(start + BLOCKS, len(u)))
        k = len(u[sel])
        dense = np.zeros((k, n + 1, mm + 1))
        dense[:, :n, :mm] = -np.transpose(y[R[sel]], (0, 2, 1))  # θ y_i − Σ λ y_k <= 0
        dense[:, :n, mm] = y[u[sel]]
        dense[:, n, :mm] = 1.0                                  # Σ λ <= 1
        b, r, c = np.nonzero(dense)
        A = sparse.csr_matrix((dense[b, r, c], (b * (n + 1) + r, b * (mm + 1) + c)),
                              shape=(k * (n + 1), k * (mm + 1)))
        res = linprog(np.tile(np.r_[np.zeros(mm), -1.0], k), A_ub=A,
                      b_ub=np.tile(np.r_[np.zeros(n), 1.0], k), bounds=(0, None),
                      method="highs")
        if res.status != 0:  # bounded when y_i has a positive value; feasible at 0
            raise InputError(source, "order-m benefit of the doubt",
                             problem=f"the linear programme failed: {res.message}")
        out[start:start + k] = res.x.reshape(k, mm + 1)[:, -1]
    return out


def bod_order_m(Y: ArrayLike, m: int = 20, draws: int = 100,
                rng: np.random.Generator | int | None = 0, *,
                source: str | None = None) -> OrderMResult:
    """Order-m BoD scores of every unit of ``Y`` (units, n; finite values >= 0, higher =
    better): ``draws`` sets of ``m`` peers per unit from ``rng`` (a Generator or a seed)."""
    where = "order-m benefit of the doubt"
    y = _check_values(Y, where, source)
    for name, v in (("m", m), ("draws", draws)):
        if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 1:
            raise InputError(source, where, name, v, "must be a whole number >= 1")
    seed = rng if isinstance(rng, int | np.integer) and not isinstance(rng, bool) else 0
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    units = y.shape[0]
    peers = gen.integers(0, units, size=(units, int(draws), int(m)))  # all draws first
    live = np.flatnonzero(y.max(axis=1) > 0)
    expansion = np.full(units, np.inf)  # all-zero units: any θ; their score is 0
    if live.size:
        theta = expansion_factors(y, np.repeat(live, int(draws)),
                                  peers[live].reshape(-1, int(m)), source=source)
        expansion[live] = theta.reshape(live.size, int(draws)).mean(axis=1)
    with np.errstate(divide="ignore"):
        scores = np.where(np.isinf(expansion), 0.0, 1.0 / expansion)
    return OrderMResult(scores, expansion, int(m), int(draws), int(seed))
