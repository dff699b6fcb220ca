"""Items scored at the assessor's discretion (酌情扣分, 定性指标), optionally within bands."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from perfsim.errors import InputError
from perfsim.kernel.scoring.base import Rule


class Assessed(Rule):
    """An item scored at the assessor's discretion (酌情扣分, 定性指标): the measured value is the
    points awarded, within [0, points]. ``bands`` (optional, best first) map a band label to
    [low, high] shares of the points, e.g. the MoF template's three bands {全部或基本达成:
    [0.8, 1.0], 部分达成: [0.6, 0.8], 未达成: [0, 0.6]}; a portfolio may give the band in the
    column ``<code>.band``, and the points must then lie within it (bounds included)."""

    kind = "assessed"
    allowed_params = ("bands",)
    aux_inputs = ("band",)

    @property
    def bands(self) -> dict[str, tuple[float, float]]:
        return {str(k): (float(v[0]), float(v[1]))
                for k, v in (self.params.get("bands") or {}).items()}

    @property
    def aux_labels(self) -> Mapping[str, tuple[str, ...]]:
        return {"band": tuple(self.bands)} if self.bands else {}

    def validate(self):
        bands = self.params.get("bands")
        if bands is None:
            return
        if not isinstance(bands, Mapping) or not bands:
            raise InputError(field="bands", value=bands,
                             problem="must map band labels to [low, high] shares of the points")
        for label, bounds in bands.items():
            ok = (isinstance(bounds, Sequence) and not isinstance(bounds, str)
                  and len(bounds) == 2 and all(isinstance(x, int | float)
                                               and not isinstance(x, bool) for x in bounds))
            if not ok or not 0 <= bounds[0] <= bounds[1] <= 1:
                raise InputError(field=f"bands.{label}", value=bounds,
                                 problem="must be [low, high] shares with 0 <= low <= high <= 1")

    def attainment(self, values, aux=None):
        return np.clip(np.asarray(values, dtype=float) / self.points, 0.0, 1.0)

    def check(self, values, aux=None):
        v = np.asarray(values, dtype=float)
        tol = 1e-9 * max(self.points, 1.0)
        bad = (v < -tol) | (v > self.points + tol)
        if bad.any():
            return bad, f"assessed points must lie in [0, {self.points:g}]"
        band = None if aux is None else aux.get("band")
        if band is None or not self.bands:
            return None
        idx = np.asarray(band, dtype=float)
        given = np.isfinite(idx)
        bounds = np.array(list(self.bands.values())) * self.points
        k = np.where(given, idx, 0).astype(np.intp)
        low, high = bounds[k, 0], bounds[k, 1]
        bad = given & ((v < low - tol) | (v > high + tol))
        if not bad.any():
            return None
        i = int(np.flatnonzero(bad)[0])
        label = list(self.bands)[k[i]]
        return bad, f"outside the band {label}: must lie in [{low[i]:g}, {high[i]:g}] points"

    def invert(self, attainment):
        return np.clip(attainment, 0, 1) * self.points

    @property
    def value_direction(self) -> str:
        """Higher: the points awarded."""
        return "higher"

    @property
    def slope(self) -> float | np.ndarray:
        """The points."""
        return self.points

    def slope_move(self) -> tuple[float | None, float | None, bool] | None:
        return (None, None, False)

    def measured_value(self, base: np.ndarray, change: np.ndarray) -> np.ndarray:
        return self._along_slope(base, change)
