"""Benefit of the doubt with restrictions on each unit's **own** weighted shares (Compind's
``ci_bod_constr``; the "proportional virtual weight" restrictions of Wong & Beasley 1990 used in
BoD by Cherchye, Moesen, Rogge & Van Puyenbroeck 2007).

Where :func:`perfsim.kernel.bod.bod` bounds each indicator's share of the *weights*, this bounds
each indicator's share of the unit's own *score*: with v_ij = w_j y_ij,

    maximise   Σ_j w_j y_ij
    subject to Σ_j w_j y_kj <= 1                           for every unit k
               lower_j Σ_k v_ik <= v_ij <= upper_j Σ_k v_ik   for every indicator j
               (and the same for each group's Σ_{j in g} v_ij), w >= 0

so a unit may not owe more than ``upper_j`` (nor less than ``lower_j``) of its score to
indicator j. The restrictions are those of a :class:`perfsim.kernel.bod.Bounds` read on the
virtual shares v (rows R diag(y_i) w <= 0). w = 0 always meets them, so the programme is always
feasible; a unit with a zero value on an indicator with a positive lower bound can meet that
bound only with a score of 0. Only non-dominated units' constraints can bind (the unit with the
highest w · y is never dominated), so the others are dropped. Solved with
``scipy.optimize.linprog`` (HiGHS), :data:`perfsim.kernel.bod.BATCH` units per call as a
block-diagonal programme.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy import sparse

from perfsim.errors import InputError
from perfsim.kernel.bod import (
    BoDResult,
    Bounds,
    _check_values,
    check_bounds,
    non_dominated,
    solve_batches,
)

__all__ = ["bod_own_shares"]


def bod_own_shares(Y: ArrayLike, bounds: Bounds, *, source: str | None = None) -> BoDResult:
    """BoD scores (m,) and the weight shares (m, n) of every unit of ``Y`` (m, n; finite,
    >= 0, higher = better) under the own-share restrictions ``bounds`` (see the module
    docstring). ``weights`` are each unit's w normalised to add up to 1 (the bounds' feasible
    share vector where the optimum is w = 0)."""
    y = _check_values(Y, "benefit of the doubt (own shares)", source)
    m, n = y.shape
    if bounds.lower.size != n:
        raise InputError(source, "benefit of the doubt (own shares)", "bounds",
                         bounds.lower.size, f"give bounds for the {n} indicators")
    fallback = check_bounds(bounds, source)
    peers = y[non_dominated(y) & (y.max(axis=1) > 0)]
    if not len(peers):
        return BoDResult(np.zeros(m), np.tile(fallback, (m, 1)))
    R, _ = bounds.rows()
    rhs = np.concatenate([np.ones(len(peers)), np.zeros(len(R))])
    scores, weights = solve_batches(
        y, lambda block: sparse.block_diag([sparse.csr_matrix(np.vstack([peers, R * yi[None, :]]))
                                            for yi in block], format="csr"),
        rhs, fallback, "benefit of the doubt (own shares)", source)
    return BoDResult(np.clip(scores, 0.0, 1.0), weights)
