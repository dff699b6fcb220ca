"""Normalisations, one file per method: arrays (..., projects, indicators) in, the same shape
out (see :mod:`perfsim.kernel.composite.normalise.base`)."""

from __future__ import annotations

from collections.abc import Callable

from perfsim.kernel.composite.normalise import (
    ampi,
    distance,
    goalposts,
    minmax,
    percentile,
    rank,
    zscore,
)

#: name -> normaliser; ``none`` keeps the rules' attainments as they are (the national practice)
NORMALISERS: dict[str, Callable[..., object]] = {
    "minmax": minmax.minmax, "zscore": zscore.zscore, "rank": rank.rank,
    "percentile": percentile.percentile, "goalposts": goalposts.goalposts,
    "distance": distance.distance, "ampi": ampi.ampi,
}
#: the methods that read the other projects (absolute ones score each project alone)
RELATIVE = {name: mod.RELATIVE for name, mod in (
    ("minmax", minmax), ("zscore", zscore), ("rank", rank), ("percentile", percentile),
    ("goalposts", goalposts), ("distance", distance), ("ampi", ampi))}
NORMALISATIONS: tuple[str, ...] = ("none", *NORMALISERS)
