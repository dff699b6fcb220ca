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
(HiGHS), :data:`perfsim.kernel.bod.BATCH` units per call as a block-diagonal programme, by
column generation: each unit starts with itself as its only peer, and the peers whose λ would
raise β (a negative reduced cost, from the programme's duals) are added, :data:`ADD` at a time,
until none is left: the optimum of the full programme with far fewer columns.
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
    for start in range(0, m, BATCH):
        units = np.arange(start, min(start + BATCH, m))
        active = [np.array([i]) for i in units]  # λ = e_i is feasible: start from it
        while True:
            beta, duals = _restricted(Yg, Yb, units, active, source, where)
            grown = False
            for b, (pi, sigma, mu) in enumerate(duals):
                # reduced cost of λ_k in the minimisation of −β: Yg_k·π − σ − Yb_k·μ
                d = Yg @ pi - sigma - Yb @ mu
                d[active[b]] = 0.0
                add = np.flatnonzero(d < -1e-9)
                if add.size:
                    add = add[np.argsort(d[add], kind="stable")[:ADD]]
                    active[b] = np.concatenate([active[b], add])
                    grown = True
            if not grown:
                break
        scores[units] = 1.0 - beta
    return np.clip(scores, 0.0, 1.0)


#: Peers added per unit and round of column generation (the most improving first).
ADD = 16


def _restricted(Yg: NDArray[np.float64], Yb: NDArray[np.float64], units: NDArray[np.int64],
                active: list[NDArray[np.int64]], source: str | None, where: str
                ) -> tuple[NDArray[np.float64],
                           list[tuple[NDArray[np.float64], float, NDArray[np.float64]]]]:
    """β of each unit with λ restricted to its ``active`` peers and the duals of its rows
    (desirable π, Σλ σ, undesirable μ), all units as one block-diagonal programme."""
    ub, eq, rhs_ub, rhs_eq, c, bounds = [], [], [], [], [], []
    for i, cols in zip(units, active, strict=True):
        p = len(cols)
        ub.append(sparse.csr_matrix(np.vstack([
            np.hstack([-Yg[cols].T, Yg[i][:, None]]),         # −Σ λ y + β y_i <= −y_i
            np.r_[np.ones(p), 0.0][None, :]])))               # Σ λ <= 1
        rhs_ub.append(np.r_[-Yg[i], 1.0])
        eq.append(sparse.csr_matrix(np.hstack([Yb[cols].T, Yb[i][:, None]])))  # = u_i
        rhs_eq.append(Yb[i])
        c.append(np.r_[np.zeros(p), -1.0])
        bounds += [(0, None)] * p + [(0, 1)]
    has_eq = Yb.shape[1] > 0
    res = linprog(np.concatenate(c), A_ub=sparse.block_diag(ub, format="csr"),
                  b_ub=np.concatenate(rhs_ub),
                  A_eq=sparse.block_diag(eq, format="csr") if has_eq else None,
                  b_eq=np.concatenate(rhs_eq) if has_eq else None, bounds=bounds,
                  method="highs")
    if res.status != 0:  # λ = e_i, β = 0 is feasible and β <= 1: only numerics get here
        raise InputError(source, where, problem=f"the linear programme failed for units "
                         f"{units[0] + 1}-{units[-1] + 1}: {res.message}")
    ng, nb = Yg.shape[1], Yb.shape[1]
    beta, duals, at = np.empty(len(units)), [], 0
    ineq = res.ineqlin.marginals
    eqm = res.eqlin.marginals if has_eq else np.zeros(0)
    for b, cols in enumerate(active):
        at += len(cols) + 1
        beta[b] = res.x[at - 1]
        row = b * (ng + 1)
        duals.append((ineq[row:row + ng], float(ineq[row + ng]), eqm[b * nb:(b + 1) * nb]))
    return beta, duals
