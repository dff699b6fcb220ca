"""The finance re-check (Wenzhou 2013) and its gap rule."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from perfsim.errors import InputError
from perfsim.kernel.scoring.base import GAP_MODES, OnScale, _num


class Recheck(OnScale):
    """Finance re-check (Wenzhou 2013): points × re-check score / scale; when the re-check and
    the self-score differ by more than ``gap`` points, deduct ``per`` points for every complete
    ``step`` points, floored at 0. "差距大于10分以上的，每差五分扣1分" has two readings
    (``gap_mode``): ``whole`` counts steps of the whole difference (17 → −3, the default),
    ``excess`` steps of the difference beyond the gap (17 → −1). The measured value is the
    re-check score; the self-score comes from the column ``<code>.self``."""

    kind = "recheck"
    allowed_params = ("scale", "gap", "per", "step", "gap_mode")
    aux_inputs = ("self",)
    GAP_MODES: ClassVar[tuple[str, ...]] = GAP_MODES

    def validate(self):
        _num(self.params, "scale", 100.0, low=0, strict_low=True)
        _num(self.params, "gap", 10.0, low=0)
        _num(self.params, "per", 1.0, low=0)
        _num(self.params, "step", 5.0, low=0, strict_low=True)
        if self.params.get("gap_mode", "whole") not in self.GAP_MODES:
            raise InputError(field="gap_mode", value=self.params["gap_mode"],
                             problem=f"must be one of {', '.join(self.GAP_MODES)}")

    def penalty(self, recheck: np.ndarray, self_score: np.ndarray) -> np.ndarray:
        return gap_penalty(recheck, self_score, gap=float(self.params.get("gap", 10.0)),
                           per=float(self.params.get("per", 1.0)),
                           step=float(self.params.get("step", 5.0)),
                           mode=str(self.params.get("gap_mode", "whole")))

    def attainment(self, values, aux=None):
        v = np.asarray(values, dtype=float)
        scale = float(self.params.get("scale", 100.0))
        base = np.clip(v / scale, 0, 1) * self.points
        self_score = v if aux is None or "self" not in aux else np.asarray(aux["self"], float)
        return np.clip(base - self.penalty(v, self_score), 0, None) / self.points



def gap_penalty(recheck: np.ndarray, self_score: np.ndarray, *, gap: float = 10.0,
                per: float = 1.0, step: float = 5.0, mode: str = "whole") -> np.ndarray:
    """Points lost under the Wenzhou re-check gap rule: if |self − re-check| > ``gap``, lose
    ``per`` points for every complete ``step`` points of the whole difference (``mode``
    ``whole``: 12 → 2, 17 → 3, 10 → 0) or of the difference beyond the gap (``excess``:
    12 → 0, 17 → 1)."""
    diff = np.abs(np.asarray(self_score, dtype=float) - np.asarray(recheck, dtype=float))
    counted = diff - gap if mode == "excess" else diff
    return np.where(diff > gap, per * np.floor(counted / step + 1e-9), 0.0)
