"""Equal weights."""

from __future__ import annotations

import numpy as np

from perfsim.errors import InputError
from perfsim.kernel.weighting.base import FloatArray


def equal_weights(n: int) -> FloatArray:
    """``n`` equal shares of 1/n each (``n`` >= 1 indicators)."""
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise InputError(where="equal weights", field="n", value=n,
                         problem="must be a whole number of indicators >= 1")
    return np.full(int(n), 1.0 / int(n))
