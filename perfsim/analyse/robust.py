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
from perfsim.kernel import smaa as ksmaa
from perfsim.model.indicators import IndicatorSystem
from perfsim.model.portfolio import Portfolio
from perfsim.model.weighting_spec import parse_bounds

__all__ = ["BoDTable", "SMAATable", "benefit_of_the_doubt", "portfolio_attainment", "smaa"]


def system_and_portfolio(system: Any, portfolio: Portfolio | None = None, *,
                         where: str | None = None) -> tuple[IndicatorSystem, Portfolio]:
    """``(system, portfolio)`` of an analysis that needs indicator measurements: ``system`` is
    an :class:`IndicatorSystem` (with ``portfolio``) or a scenario whose system and portfolio
    are used. One-line errors name what is missing."""
    if not isinstance(system, IndicatorSystem):
        scenario = system
        system = getattr(scenario, "system", None)
        portfolio = portfolio if portfolio is not None else getattr(scenario, "portfolio", None)
        if not isinstance(system, IndicatorSystem):
            raise InputError(getattr(scenario, "source", None), where, "indicator_system",
                             problem="needs an indicator system")
    if portfolio is None or portfolio.has_scores or not portfolio.measured:
        raise InputError(getattr(portfolio, "source", None), where, "portfolio",
                         problem="these analyses need indicator measurements, not ready scores")
    return system, portfolio


def portfolio_attainment(system: Any, portfolio: Portfolio | None = None
                         ) -> tuple[IndicatorSystem, Portfolio, np.ndarray]:
    """``(system, portfolio, attainment)``: the leaf attainment (projects × non-bonus leaves) of
    a system on a portfolio with measurements; ``system`` may be a scenario instead."""
    system, portfolio = system_and_portfolio(system, portfolio)
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


@dataclass(frozen=True)
class SMAATable:
    """``table``: one row per project — ``project_id, department, expert_rank,
    expected_rank`` (Σ r · b^r), ``rank1`` (b^1, the first-rank acceptability) and
    ``top_share`` (the share of draws in which it ranks within the ``top`` best); sorted as the
    portfolio. ``departments``: per department, ``projects``, mean ``expected_rank`` and the
    expected number of its projects in the top (Σ top_share). ``central_weights``: the mean
    weights (shares per leaf) that make each project first, for projects that ever are.
    ``acceptability``: the full (projects × ranks) array; ``draws`` and ``seed`` used."""

    table: pd.DataFrame
    departments: pd.DataFrame
    central_weights: pd.DataFrame
    acceptability: np.ndarray
    top: int
    draws: int
    seed: int


def smaa(system: Any, portfolio: Portfolio | None = None, *, draws: int = 10_000,
         seed: int | None = None, bounds: Any = None, top: int = 10,
         source: str | None = None) -> SMAATable:
    """SMAA-2 rank acceptability of every project under weights drawn uniformly from all
    admissible weights (``bounds``: a ``bounds:`` block or :class:`perfsim.kernel.bod.Bounds`;
    ``None``: the whole simplex). ``seed``: default the scenario's seed when a scenario is
    given, else 0. Same inputs and seed give the same numbers."""
    if seed is None:
        seed = getattr(system, "seed", None)
        seed = 0 if seed is None else seed
    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise InputError(source, "SMAA", "top", top, "must be a whole number >= 1")
    system, portfolio, att = portfolio_attainment(system, portfolio)
    b = None if bounds is None else (
        bounds if isinstance(bounds, kbod.Bounds) else parse_bounds(bounds, system, source))
    res = ksmaa.smaa(att, draws, seed, b, source=source)
    pts = np.asarray(system.points, dtype=float)
    ids = portfolio.table["project_id"].to_numpy()
    table = pd.DataFrame({
        "project_id": ids, "department": portfolio.table["department"].to_numpy(),
        "expert_rank": _rank(att @ pts), "expected_rank": res.expected_rank,
        "rank1": res.acceptability[:, 0],
        "top_share": res.acceptability[:, :top].sum(axis=1)})
    departments = (table.groupby("department", sort=True)
                   .agg(projects=("project_id", "size"), expected_rank=("expected_rank", "mean"),
                        expected_in_top=("top_share", "sum"))
                   .reset_index())
    leads = np.flatnonzero(res.acceptability[:, 0] > 0)
    central = pd.DataFrame(res.central_weights[leads], columns=list(system.codes))
    central.insert(0, "project_id", ids[leads])
    central.insert(1, "rank1", res.acceptability[leads, 0])
    return SMAATable(table, departments, central, res.acceptability, top, int(draws), int(seed))
