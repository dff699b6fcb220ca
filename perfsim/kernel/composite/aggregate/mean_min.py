"""Mean–Min (Casadio Tarabusi & Guarini 2013; Compind ``ci_mean_min``):
``M − α (√((M − m)² + β²) − β)`` with M the weighted mean and m the minimum. ``alpha`` in
[0, 1] is how much the imbalance costs (0: the mean; 1 with ``beta = 0``: the minimum),
``beta >= 0`` softens it."""

from __future__ import annotations

import numpy as np

from perfsim.kernel.composite.aggregate.arithmetic import arithmetic
from perfsim.kernel.composite.aggregate.minimum import minimum


def mean_min(x: np.ndarray, w: np.ndarray, alpha: float = 0.5, beta: float = 0.0
             ) -> np.ndarray:
    mean, low = arithmetic(x, w), minimum(x, w)
    return mean - alpha * (np.sqrt((mean - low) ** 2 + beta ** 2) - beta)
