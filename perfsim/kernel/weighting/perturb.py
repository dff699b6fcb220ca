"""Weights under uncertainty: Dirichlet draws around base weights and uniform perturbations."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from perfsim.errors import InputError
from perfsim.kernel.weighting.base import FloatArray, _normalise, _short


def _rng(rng: Any) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, int | np.integer | np.random.SeedSequence) and not isinstance(rng, bool):
        return np.random.default_rng(rng)
    raise InputError(field="rng", value=_short(rng),
                     problem="must be a numpy.random.Generator (or an int seed)")


def _draws(n: int) -> int:
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 0:
        raise InputError(field="n", value=n, problem="must be a whole number of draws >= 0")
    return int(n)


def dirichlet_weights(
    base: ArrayLike, concentration: float, n: int, rng: np.random.Generator | int
) -> FloatArray:
    """``n`` random weight vectors around ``base`` from Dirichlet(concentration · base).

    ``base``: weights (normalised to shares), shape (k,). ``concentration`` > 0 (unitless): the
    larger, the closer the draws stay to ``base`` (each share has mean base_j and variance
    base_j (1 − base_j) / (concentration + 1)). Indicators with base weight 0 stay at 0.
    ``rng``: a ``numpy.random.Generator`` (an int seed is accepted). Returns shape (n, k); rows
    add up to 1.
    """
    b = _normalise(base, where="base weights")
    if b.ndim != 1:
        raise InputError(where="dirichlet weights", field="base shape", value=b.shape,
                         problem="must be 1-D: one weight per indicator")
    if not (isinstance(concentration, int | float | np.floating | np.integer)
            and math.isfinite(concentration) and concentration > 0):
        raise InputError(where="dirichlet weights", field="concentration", value=concentration,
                         problem="must be a finite number > 0")
    size = _draws(n)
    gen = _rng(rng)
    out = np.zeros((size, b.size))
    pos = b > 0
    if size:
        out[:, pos] = gen.dirichlet(concentration * b[pos], size=size)
    sums = out.sum(axis=1, keepdims=True)
    if not (np.all(np.isfinite(out)) and np.all(sums > 0)):
        raise InputError(where="dirichlet weights", field="concentration", value=concentration,
                         problem="too small: the draws underflow; use a larger concentration")
    return out / sums


def perturb_weights(
    base: ArrayLike, pct: float, n: int, rng: np.random.Generator | int
) -> FloatArray:
    """``n`` perturbed copies of ``base``: each weight × Uniform(1 − pct, 1 + pct), renormalised.

    ``base``: weights (normalised to shares), shape (k,). ``pct`` in [0, 1): the largest relative
    change of a weight before renormalising (0.2 = ±20 %). ``rng``: a ``numpy.random.Generator``
    (an int seed is accepted). Returns shape (n, k); rows add up to 1.
    """
    b = _normalise(base, where="base weights")
    if b.ndim != 1:
        raise InputError(where="perturb weights", field="base shape", value=b.shape,
                         problem="must be 1-D: one weight per indicator")
    if not (isinstance(pct, int | float | np.floating | np.integer)
            and not isinstance(pct, bool) and 0.0 <= pct < 1.0):
        raise InputError(where="perturb weights", field="pct", value=pct,
                         problem="must be in [0, 1) (0.2 means ±20 %)")
    size = _draws(n)
    factors = _rng(rng).uniform(1.0 - pct, 1.0 + pct, size=(size, b.size))
    w = b * factors
    return w / w.sum(axis=1, keepdims=True)
