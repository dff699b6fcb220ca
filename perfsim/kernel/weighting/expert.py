"""Expert weights: the points (分值) an indicator file gives its leaves."""

from __future__ import annotations

from numpy.typing import ArrayLike

from perfsim.kernel.weighting.base import FloatArray, _normalise


def expert_weights(points: ArrayLike) -> FloatArray:
    """Shares from the points (分值) an indicator file gives its leaves.

    ``points`` shape (..., n), in points, finite and >= 0 with a positive total. The total need not
    be 100: shares are points / total points.
    """
    return _normalise(points, where="expert points")
