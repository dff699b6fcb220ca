"""Combined subjective and objective weights (主客观组合赋权)."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from perfsim.errors import InputError
from perfsim.kernel.weighting.base import FloatArray, _normalise


def _check_alpha(alpha: Any) -> None:
    if not (isinstance(alpha, int | float | np.floating | np.integer)
            and not isinstance(alpha, bool) and 0.0 <= alpha <= 1.0):
        raise InputError(where="combined weights", field="alpha", value=alpha,
                         problem="must be in [0, 1] (the share of the subjective weights)")


def _check_combine(value: Any, name: str) -> None:
    if value not in ("additive", "multiplicative"):
        raise InputError(where="combined weights", field=name, value=value,
                         problem="must be 'additive' or 'multiplicative'")


def combined_weights(
    subjective: ArrayLike,
    objective: ArrayLike,
    alpha: float = 0.5,
    method: str = "additive",
) -> FloatArray:
    """Combine subjective and objective weights (主客观组合赋权).

    Both inputs are non-negative weights of the same length n (normalised to shares first).
    ``method='additive'``: α · s + (1 − α) · o, with ``alpha`` in [0, 1] the share given to the
    subjective weights. ``method='multiplicative'``: s · o / Σ (s · o) (``alpha`` unused).
    Returns shares, sum 1 along the last axis.
    """
    _check_combine(method, "method")
    _check_alpha(alpha)
    s = _normalise(subjective, where="subjective weights")
    o = _normalise(objective, where="objective weights")
    if s.shape[-1] != o.shape[-1]:
        raise InputError(where="combined weights", field="length",
                         value=f"{s.shape[-1]} subjective vs {o.shape[-1]} objective",
                         problem="both must weight the same indicators")
    if method == "additive":
        return alpha * s + (1.0 - alpha) * o
    prod = s * o
    if np.any(prod.sum(axis=-1) <= 0):
        raise InputError(where="combined weights", field="s · o", value=0.0,
                         problem="no indicator has a positive subjective and objective weight; "
                         "the multiplicative combination is undefined")
    return _normalise(prod, where="combined weights")
