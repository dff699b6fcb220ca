"""Aggregations, one file per method: values (..., n) and weights (n,) summing to 1 in, the
aggregate (...) out."""

from __future__ import annotations

from collections.abc import Callable

from perfsim.kernel.composite.aggregate.arithmetic import arithmetic
from perfsim.kernel.composite.aggregate.geometric import geometric
from perfsim.kernel.composite.aggregate.harmonic import harmonic
from perfsim.kernel.composite.aggregate.mean_min import mean_min
from perfsim.kernel.composite.aggregate.minimum import minimum
from perfsim.kernel.composite.aggregate.mpi import mpi
from perfsim.kernel.composite.aggregate.owa import owa
from perfsim.kernel.composite.aggregate.power_mean import power_mean

#: name -> aggregator (the names a group, a level or the total can take)
AGGREGATORS: dict[str, Callable[..., object]] = {
    "arithmetic": arithmetic, "geometric": geometric, "min": minimum, "harmonic": harmonic,
    "power_mean": power_mean, "mean_min": mean_min, "owa": owa, "mpi": mpi,
}
