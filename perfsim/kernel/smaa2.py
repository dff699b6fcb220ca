"""SMAA-2's two further descriptive measures (Lahdelma & Salminen 2001, *Operations Research*
49(3): 444–454), from a :class:`perfsim.kernel.smaa.SMAAResult`:

confidence factor p_i^c
    the probability that unit i is ranked first when the weights are fixed at its **central
    weight vector** w_i^c and only the indicator values are uncertain: the share of value draws
    (each value times 1 + u, u uniform on [−noise, +noise], as in :func:`perfsim.kernel.smaa.smaa`)
    in which w_i^c · y_i >= w_i^c · y_k for every unit k (a tie counts as first). Defined for the
    units with a central weight vector (b_i^1 > 0); NaN for the others. With ``noise = 0`` it is
    1 or 0: whether the central weights make the unit first on the values as given.
    ``best=k`` gives the share of value draws in which it ranks within the ``k`` best under its
    central weights (rank = 1 + the number of units with a strictly higher score).
holistic acceptability index a_i^h
    Σ_r α_r b_i^r with meta-weights 1 = α_1 >= α_2 >= … >= α_m >= 0 for the ranks:
    ``linear`` α_r = (m − r) / (m − 1), ``inverse`` α_r = 1 / r, ``centroid``
    α_r = Σ_{k=r}^{m} 1/k ÷ Σ_{k=1}^{m} 1/k (the centroid of the ordered meta-weights, the
    choice Lahdelma & Salminen describe), or an explicit non-increasing vector starting at 1.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from perfsim.errors import InputError
from perfsim.kernel.smaa import _generator, noisy_values

__all__ = ["META_WEIGHTS", "confidence_factors", "holistic_acceptability", "meta_weights"]

FloatArray = NDArray[np.float64]

#: Named meta-weights for the holistic acceptability index.
META_WEIGHTS: tuple[str, ...] = ("centroid", "linear", "inverse")


def meta_weights(kind: str | ArrayLike, m: int) -> FloatArray:
    """The meta-weights α_1..α_m of the ranks (see the module docstring)."""
    if isinstance(kind, str):
        r = np.arange(1, m + 1, dtype=float)
        if kind == "linear":
            return (m - r) / (m - 1) if m > 1 else np.ones(1)
        if kind == "inverse":
            return 1.0 / r
        if kind == "centroid":
            h = 1.0 / r
            return np.cumsum(h[::-1])[::-1] / h.sum()
        raise InputError(where="SMAA-2", field="meta_weights", value=kind,
                         problem=f"choose one of {', '.join(META_WEIGHTS)}")
    a = np.asarray(kind, dtype=float)
    if (a.shape != (m,) or not np.all(np.isfinite(a)) or a[0] != 1.0
            or np.any(np.diff(a) > 0) or a[-1] < 0):
        raise InputError(where="SMAA-2", field="meta_weights", value=repr(a.tolist())[:60],
                         problem=f"must be {m} non-increasing numbers from 1 down to >= 0")
    return a


def holistic_acceptability(acceptability: ArrayLike, kind: str | ArrayLike = "centroid"
                           ) -> FloatArray:
    """a_i^h = Σ_r α_r b_i^r for every unit (rows of ``acceptability``, shape (m, m))."""
    acc = np.asarray(acceptability, dtype=float)
    return acc @ meta_weights(kind, acc.shape[1])


def confidence_factors(Y: ArrayLike, central_weights: ArrayLike, *, noise: float = 0.0,
                       draws: int = 10_000, rng: np.random.Generator | int | None = None,
                       best: int = 1, chunk: int = 256) -> FloatArray:
    """p_i^c for every unit of ``Y`` (m, n) under its own row of ``central_weights`` (m, n;
    NaN rows: no central weights, NaN result). ``noise``: the relative value noise (0: the
    values as given, one draw suffices); ``best``: ranked within the ``best`` best."""
    y = np.asarray(Y, dtype=float)
    wc = np.asarray(central_weights, dtype=float)
    m = y.shape[0]
    if isinstance(best, bool) or not isinstance(best, int) or best < 1:
        raise InputError(where="SMAA-2", field="best", value=best,
                         problem="must be a whole number >= 1")
    has = np.flatnonzero(np.all(np.isfinite(wc), axis=1))  # the units with central weights
    gen = _generator(rng)
    n_draws = int(draws) if noise > 0 else 1
    wins = np.zeros(has.size, dtype=np.int64)
    w = wc[has]  # (h, n)
    # draws per step: at most about 4 million scores at once
    step = max(1, min(int(chunk), 4_000_000 // max(1, has.size * m)))
    for start in range(0, n_draws, step):
        k = min(step, n_draws - start)
        yd = noisy_values(y, k, noise, gen) if noise > 0 else y[None, :, :]
        scores = np.einsum("cmj,ij->cim", yd, w)  # (draws, whose weights, unit scored)
        own = scores[:, np.arange(has.size), has]  # each unit under its own central weights
        better = (scores > own[:, :, None] + 1e-12).sum(axis=2)
        wins += (better < best).sum(axis=0)
    out = np.full(m, np.nan)
    out[has] = wins / n_draws
    return out
