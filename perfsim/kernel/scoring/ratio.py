"""Rules that turn another score into points: in proportion to it, or by its grade."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from perfsim.errors import InputError
from perfsim.kernel.scoring.base import OnScale, _num


class RatioOfScore(OnScale):
    """Proportional to another score: points × min(value / scale, 1). E.g. a self-evaluation
    score of 90 earns 9 of 10 points."""

    kind = "ratio"
    reads_points = False
    allowed_params = ("scale",)

    def validate(self):
        _num(self.params, "scale", 100.0, low=0, strict_low=True)

    def attainment(self, values, aux=None):
        return np.clip(np.asarray(values, dtype=float) / self.scale, 0.0, 1.0)


class GradePoints(OnScale):
    """Result grade to points: the measured value is an evaluation score; it is graded with
    ``cutoffs`` (descending, left-closed) and each grade earns full points, points in proportion
    to the score (score / scale), or zero. Default: 优 full, 良/合格 proportional, 不合格 0."""

    kind = "grade_points"
    reads_points = False
    allowed_params = ("cutoffs", "modes", "scale")
    MODES: ClassVar[tuple[str, ...]] = ("full", "proportional", "zero")

    @property
    def cutoffs(self) -> np.ndarray:
        return np.asarray(self.params.get("cutoffs", [90, 80, 60]), dtype=float)

    @property
    def modes(self) -> list[str]:
        return list(self.params.get("modes", ["full", "proportional", "proportional", "zero"]))

    def validate(self):
        cutoffs = self.params.get("cutoffs", [90, 80, 60])
        if (not isinstance(cutoffs, list | tuple) or not cutoffs
                or not all(isinstance(c, int | float) and not isinstance(c, bool)
                           for c in cutoffs)
                or any(a <= b for a, b in zip(cutoffs, cutoffs[1:], strict=False))):
            raise InputError(field="cutoffs", value=cutoffs,
                             problem="must be a list of strictly descending numbers")
        modes = self.modes
        if len(modes) != len(cutoffs) + 1:
            raise InputError(field="modes", value=modes,
                             problem=f"needs {len(cutoffs) + 1} entries, one per grade")
        for m in modes:
            if m not in self.MODES:
                raise InputError(field="modes", value=m,
                                 problem=f"each mode must be one of {', '.join(self.MODES)}")
        _num(self.params, "scale", 100.0, low=0, strict_low=True)

    def attainment(self, values, aux=None):
        v = np.asarray(values, dtype=float)
        scale = float(self.params.get("scale", 100.0))
        grade = len(self.cutoffs) - np.searchsorted(self.cutoffs[::-1], v, side="right")
        by_mode = {"full": np.ones_like(v), "proportional": np.clip(v / scale, 0, 1),
                   "zero": np.zeros_like(v)}
        out = np.zeros_like(v)
        for g, mode in enumerate(self.modes):
            out = np.where(grade == g, by_mode[mode], out)
        return out

