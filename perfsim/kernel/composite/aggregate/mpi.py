"""Mazziotta–Pareto index (Mazziotta & Pareto 2016): ``M − S · cv`` with M the (weighted)
mean of a unit's normalised values, S their (population) standard deviation and cv = S/M —
a mean penalised by the imbalance of the values. ``sign = +1`` gives MPI+ ``M + S · cv``
(for indicators where lower is better). Meant for values standardised as 100 ± 10 (MPI:
:mod:`~perfsim.kernel.composite.normalise.zscore`) or rescaled to 70..130 (AMPI:
:mod:`~perfsim.kernel.composite.normalise.ampi`); scale-equivariant, so shares of 100 give
the index over 100. A unit whose mean is 0 scores 0."""

from __future__ import annotations

import numpy as np


def mpi(x: np.ndarray, w: np.ndarray, sign: float = -1.0) -> np.ndarray:
    a = np.asarray(x, dtype=float)
    w = np.asarray(w, dtype=float)
    mean = a @ w
    var = ((a - mean[..., None]) ** 2) @ w
    with np.errstate(invalid="ignore", divide="ignore"):
        penalty = np.where(mean != 0, var / np.where(mean != 0, mean, 1.0), 0.0)  # S · S/M
    return mean + sign * penalty
