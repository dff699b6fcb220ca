"""AMPI rescaling (Mazziotta & Pareto 2016, the adjusted MPI): goalposts Min = Ref − Δ and
Max = Ref + Δ around the reference value Ref (the mean over the projects) with
Δ = (Sup − Inf)/2 (the column's range halved), and ``r = 70 + 60 (x − Min)/(Max − Min)``:
Ref reads 100, the range spans 70..130. Here divided by 100 (a share of the total: 0.7..1.3,
Ref 1), so a 100-point system reads it in points. A column without spread reads 1."""

from __future__ import annotations

import numpy as np

from perfsim.kernel.composite.normalise.base import ref

RELATIVE = True


def ampi(x: np.ndarray, reference: np.ndarray | None = None) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    r = ref(x, reference)
    centre = r.mean(axis=-2, keepdims=True)
    delta = (r.max(axis=-2, keepdims=True) - r.min(axis=-2, keepdims=True)) / 2.0
    with np.errstate(invalid="ignore", divide="ignore"):
        u = np.where(delta > 0, (x - (centre - delta)) / np.where(delta > 0, 2 * delta, 1.0),
                     0.5)
    return (70.0 + 60.0 * u) / 100.0
