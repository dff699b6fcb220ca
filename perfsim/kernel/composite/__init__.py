"""Composite-indicator methods (as COINr and Compind offer them), one file per method, pure
numpy: normalisations (:mod:`.normalise`), aggregations (:mod:`.aggregate`), a hierarchy of
any depth with an aggregation per level and group (:mod:`.tree`) and the measure that scores
with them (:mod:`.measure`)."""

from __future__ import annotations

from perfsim.kernel.composite.aggregate import AGGREGATORS
from perfsim.kernel.composite.normalise import NORMALISATIONS, NORMALISERS, RELATIVE

#: each method's parameters and their defaults (the keys of ``composite.<method>:``)
PARAMETERS: dict[str, dict[str, object]] = {
    "minmax": {"low": 0.0, "high": 1.0}, "zscore": {"mean": 1.0, "sd": 0.1, "ddof": 0},
    "goalposts": {"low": 0.0, "high": 1.0}, "distance": {"target": 1.0},
    "power_mean": {"p": 0.5}, "mean_min": {"alpha": 0.5, "beta": 0.0},
    "owa": {"orness": 0.5, "weights": None}, "mpi": {"sign": -1.0},
}

__all__ = ["AGGREGATORS", "NORMALISATIONS", "NORMALISERS", "PARAMETERS", "RELATIVE"]
