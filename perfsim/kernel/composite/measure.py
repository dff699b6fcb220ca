"""The :class:`~perfsim.kernel.evaluation.Measure` of a composite indicator: totals in points
are ``total ×`` the :class:`~perfsim.kernel.composite.tree.Composite` share, plus bonus, the
total rounded as published."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from perfsim.errors import InputError
from perfsim.kernel.composite.tree import Composite
from perfsim.kernel.evaluation import Measure
from perfsim.kernel.scoring import round_half_up


@dataclass(frozen=True, eq=False)
class CompositeMeasure(Measure):
    """A measure whose total is a composite indicator (see :mod:`perfsim.kernel.composite`)."""

    composite: Composite | None = None

    @property
    def linear(self) -> bool:
        return False

    def score(self, attainment: np.ndarray, points: np.ndarray | None = None,
              bonus: np.ndarray | float | None = None) -> np.ndarray:
        w = self.points if points is None else points
        w = w if w.ndim == 1 else w[0]
        total = float(w.sum()) if self.total is None else self.total
        base = total * self.composite.share(attainment, w)
        return round_half_up(base + (self.bonus if bonus is None else bonus),
                             self.total_decimals)

    def score_rows(self, attainment: np.ndarray, rows: tuple[np.ndarray, ...],
                   points: np.ndarray | None = None) -> np.ndarray:
        if self.composite.relative:
            raise InputError(field="normalisation", value=self.composite.normalisation,
                             problem="reads the other projects, so a re-check of a few "
                                     "projects cannot be scored alone; use goalposts or none")
        return super().score_rows(attainment, rows, points)
