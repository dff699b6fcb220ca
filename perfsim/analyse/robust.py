"""Weights without arbitrariness: benefit-of-the-doubt scores and SMAA-2 rank acceptability of
a portfolio's projects under an indicator system.

Both read each project's leaf **attainment** (the share of each non-bonus leaf's points earned,
in [0, 1], higher = better: the values the system aggregates) and ask what other admissible
weights would say:

- :func:`benefit_of_the_doubt` — each project's most favourable weights within share bounds
  (:mod:`perfsim.kernel.bod`): a BoD score in [0, 1] (1 = best under some admissible weights),
  its rank, and the weights that give it;
- :func:`smaa` — SMAA-2 (:mod:`perfsim.kernel.smaa`): how often each project holds each rank
  when the weights are drawn uniformly from all admissible weights.

Bounds come from a ``bounds:`` block (:func:`perfsim.model.weighting_spec.parse_bounds`:
shares of the total weight per leaf and per level-1 group). The file's own ranking (points ×
attainment, the ``expert`` weights) is reported alongside.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from perfsim.errors import InputError
from perfsim.kernel import bod as kbod
from perfsim.model.indicators import IndicatorSystem
from perfsim.model.portfolio import Portfolio
from perfsim.model.weighting_spec import parse_bounds

__all__ = ["BoDTable", "benefit_of_the_doubt", "portfolio_attainment"]


def portfolio_attainment(system: Any, portfolio: Portfolio | None = None
                         ) -> tuple[IndicatorSystem, Portfolio, np.ndarray]:
    """``(system, portfolio, attainment)``: the leaf attainment (projects × non-bonus leaves) of
    a system on a portfolio with measurements; ``system`` may be a scenario instead."""
    if not isinstance(system, IndicatorSystem):
        scenario = system
        system = getattr(scenario, "system", None)
        portfolio = portfolio if portfolio is not None else getattr(scenario, "portfolio", None)
        if not isinstance(system, IndicatorSystem):
            raise InputError(getattr(scenario, "source", None), "indicator_system",
                             problem="needs an indicator system")
    if portfolio is None or portfolio.has_scores or not portfolio.measured:
        raise InputError(getattr(portfolio, "source", None), "portfolio",
                         problem="needs indicator measurements (not ready scores)")
    att = np.asarray(system.attainment(portfolio.measurements()), dtype=float)
    return system, portfolio, att


def _rank(scores: np.ndarray) -> np.ndarray:
    """1 = best; ties share the best rank."""
    return pd.Series(scores).rank(method="min", ascending=False).to_numpy(dtype=int)


@dataclass(frozen=True)
class BoDTable:
    """``table``: one row per project — ``project_id, department, bod_score, bod_rank,
    expert_score`` (points earned / non-bonus total, a share), ``expert_rank``;
    ``weights``: each project's weight shares per leaf (columns = leaf codes)."""

    table: pd.DataFrame
    weights: pd.DataFrame


def benefit_of_the_doubt(system: Any, portfolio: Portfolio | None = None,
                         bounds: Any = None, *, source: str | None = None) -> BoDTable:
    """Benefit-of-the-doubt scores of every project (see the module docstring).

    ``bounds``: a ``bounds:`` block (mapping) or a :class:`perfsim.kernel.bod.Bounds`;
    ``None``: no bounds besides w >= 0. Bounds no weights can meet raise a one-line
    :class:`InputError` naming the indicator or group and the bound."""
    system, portfolio, att = portfolio_attainment(system, portfolio)
    b = bounds if isinstance(bounds, kbod.Bounds) else parse_bounds(bounds, system, source)
    res = kbod.bod(att, b, source=source)
    pts = np.asarray(system.points, dtype=float)
    expert = att @ pts / pts.sum()
    table = pd.DataFrame({
        "project_id": portfolio.table["project_id"].to_numpy(),
        "department": portfolio.table["department"].to_numpy(),
        "bod_score": res.scores, "bod_rank": _rank(res.scores),
        "expert_score": expert, "expert_rank": _rank(expert)})
    weights = pd.DataFrame(res.weights, columns=list(system.codes))
    weights.insert(0, "project_id", table["project_id"])
    return BoDTable(table, weights)
