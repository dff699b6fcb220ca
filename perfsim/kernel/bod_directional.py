"""Benefit of the doubt with **undesirable** indicators (lower = better: days late, complaints,
share of funds in breach), by the directional distance function of Zanella, Camanho & Dias
(2015, *EJOR* 245: 554–567; Compind's ``ci_bod_constr_bad`` without weight restrictions).

Each unit i has desirable values y_i (higher = better) and undesirable values u_i (lower =
better); every unit has one unit of a dummy input (as in every BoD model). With the direction
(y_i, −u_i) — expand the good, shrink the bad in proportion — and weak disposability of the
undesirable indicators (they can be cut only together with the good ones: an equality):

    maximise   β
    subject to Σ_k λ_k y_kj >= (1 + β) y_ij   for every desirable indicator j
               Σ_k λ_k u_kj  = (1 − β) u_ij   for every undesirable indicator j
               Σ_k λ_k <= 1,  λ >= 0,  0 <= β <= 1

and the score is 1 − β: 1 for units on the frontier, lower the further a unit lies from it
(β = 0 is always feasible with λ = e_i). Without undesirable indicators 1 + β is the output
expansion factor of the CRS model with a unit input, so 1 − β = 2 − 1 / BoD score
(:func:`perfsim.kernel.bod.bod`, by LP duality).

Chosen over inversion (1/u or max − u, which changes the scores with the arbitrary transform)
because it keeps the undesirable values as measured. Solved with ``scipy.optimize.linprog``
(HiGHS), :data:`perfsim.kernel.bod.BATCH` units per call as a block-diagonal programme.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import sparse
from scipy.optimize import linprog

from perfsim.errors import InputError
from perfsim.kernel.bod import BATCH, _check_values

__all__ = ["bod_directional"]


def bod_directional(Y: ArrayLike, undesirable: ArrayLike, *,
                    source: str | None = None) -> NDArray[np.float64]:
    """Directional BoD scores 1 − β (m,) of the units of ``Y`` (m, n; finite values >= 0, as
    measured) whose columns flagged in ``undesirable`` (n booleans) are lower-is-better. See
    the module docstring."""
    where = "benefit of the doubt (undesirable indicators)"
    y = _check_values(Y, where, source)
    m, n = y.shape
    bad = np.asarray(undesirable, dtype=bool)
    if bad.shape != (n,):
        raise InputError(source, where, "undesirable", bad.size,
                         f"give one flag for each of the {n} indicators")
    good = ~bad
    Yg, Yb = y[:, good], y[:, bad]
    scores = np.empty(m)
    ones = np.ones((1, m))
    for start in range(0, m, BATCH):
        block = range(start, min(start + BATCH, m))
        ub, eq, rhs_ub, rhs_eq = [], [], [], []
        for i in block:
            # variables: λ_1..λ_m, β
            ub.append(sparse.csr_matrix(np.vstack([
                np.hstack([-Yg.T, Yg[i][:, None]]),      # −Σ λ y + β y_i <= −y_i
                np.hstack([ones, np.zeros((1, 1))])])))  # Σ λ <= 1
            rhs_ub.append(np.concatenate([-Yg[i], [1.0]]))
            eq.append(sparse.csr_matrix(np.hstack([Yb.T, Yb[i][:, None]])))  # Σ λ u + β u_i = u_i
            rhs_eq.append(Yb[i])
        k = len(block)
        c = np.tile(np.r_[np.zeros(m), -1.0], k)
        bounds = [(0, None)] * m + [(0, 1)]
        res = linprog(c, A_ub=sparse.block_diag(ub, format="csr"),
                      b_ub=np.concatenate(rhs_ub),
                      A_eq=sparse.block_diag(eq, format="csr") if bad.any() else None,
                      b_eq=np.concatenate(rhs_eq) if bad.any() else None,
                      bounds=bounds * k, method="highs")
        if res.status != 0:  # λ = e_i, β = 0 is feasible and β <= 1: only numerics get here
            raise InputError(source, where, problem=f"the linear programme failed for units "
                             f"{start + 1}-{start + k}: {res.message}")
        beta = res.x.reshape(k, m + 1)[:, -1]
        scores[start:start + k] = 1.0 - beta
    return np.clip(scores, 0.0, 1.0)
