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
from scipy import stats

from perfsim.errors import InputError
from perfsim.kernel import bod as kbod
from perfsim.kernel import bod_directional as kbod_dir
from perfsim.kernel import bod_orderm as kbod_m
from perfsim.kernel import bod_shares as kbod_shares
from perfsim.kernel import smaa as ksmaa
from perfsim.kernel import smaa2 as ksmaa2
from perfsim.model.indicators import RESCALES, IndicatorSystem
from perfsim.model.params import apply_structure
from perfsim.model.portfolio import Portfolio
from perfsim.model.scenario import Scenario
from perfsim.model.weighting_spec import parse_bounds
from perfsim.model.weights import project_data

__all__ = ["BOD_VARIANTS", "BoDTable", "BoDVariantTable", "LeaveOneOutTable", "SMAATable",
           "benefit_of_the_doubt", "bod_variant", "leave_one_out", "portfolio_attainment",
           "smaa"]


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
    ``acceptability``: the full (projects × ranks) array; ``draws`` and ``seed`` used;
    ``noise``, ``exclude`` and the rank ``interval`` (quantiles) used. The table also holds
    ``rank_low, rank_median, rank_high, holistic, confidence`` (see :func:`smaa`)."""

    table: pd.DataFrame
    departments: pd.DataFrame
    central_weights: pd.DataFrame
    acceptability: np.ndarray
    top: int
    draws: int
    seed: int
    noise: float = 0.0
    exclude: float = 0.0
    interval: tuple[float, float] = (0.05, 0.95)


def smaa(system: Any, portfolio: Portfolio | None = None, *, draws: int = 10_000,
         seed: int | None = None, bounds: Any = None, top: int = 10, noise: float = 0.0,
         exclude: float = 0.0, meta_weights: Any = "centroid",
         interval: tuple[float, float] = (0.05, 0.95), best: int = 1,
         source: str | None = None) -> SMAATable:
    """SMAA-2 rank acceptability of every project under weights drawn uniformly from all
    admissible weights (``bounds``: a ``bounds:`` block or :class:`perfsim.kernel.bod.Bounds`;
    ``None``: the whole simplex). ``seed``: default the scenario's seed when a scenario is
    given, else 0. Same inputs and seed give the same numbers.

    ``noise``: relative uncertainty of each attainment value (each times 1 + u, u uniform on
    [−noise, noise]); ``exclude``: the probability that a draw drops one leaf (its weight
    shared among the others in proportion); see :mod:`perfsim.kernel.smaa`. The table also
    holds each project's rank interval (``rank_low``, ``rank_median``, ``rank_high``: the
    ``interval`` quantiles and the median of its rank over the draws), its holistic
    acceptability index (``holistic``, with ``meta_weights``) and its confidence factor
    (``confidence``: the share of value draws, with the same ``noise``, in which its central
    weights make it first — within the ``best`` best; NaN if it never ranks first)
    (:mod:`perfsim.kernel.smaa2`)."""
    if seed is None:
        seed = getattr(system, "seed", None)
        seed = 0 if seed is None else seed
    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise InputError(source, "SMAA", "top", top, "must be a whole number >= 1")
    system, portfolio, att = portfolio_attainment(system, portfolio)
    b = None if bounds is None else (
        bounds if isinstance(bounds, kbod.Bounds) else parse_bounds(bounds, system, source))
    lo, hi = _interval(interval, source)
    res = ksmaa.smaa(att, draws, seed, b, noise=noise, exclude=exclude, source=source)
    quant = res.rank_quantiles([lo, 0.5, hi])
    confidence = ksmaa2.confidence_factors(att, res.central_weights, noise=res.noise,
                                           draws=int(draws), rng=int(seed) + 1, best=best)
    pts = np.asarray(system.points, dtype=float)
    ids = portfolio.table["project_id"].to_numpy()
    table = pd.DataFrame({
        "project_id": ids, "department": portfolio.table["department"].to_numpy(),
        "expert_rank": _rank(att @ pts), "expected_rank": res.expected_rank,
        "rank1": res.acceptability[:, 0],
        "top_share": res.acceptability[:, :top].sum(axis=1),
        "rank_low": quant[:, 0], "rank_median": quant[:, 1], "rank_high": quant[:, 2],
        "holistic": ksmaa2.holistic_acceptability(res.acceptability, meta_weights),
        "confidence": confidence})
    departments = (table.groupby("department", sort=True)
                   .agg(projects=("project_id", "size"), expected_rank=("expected_rank", "mean"),
                        expected_in_top=("top_share", "sum"))
                   .reset_index())
    leads = np.flatnonzero(res.acceptability[:, 0] > 0)
    central = pd.DataFrame(res.central_weights[leads], columns=list(system.codes))
    central.insert(0, "project_id", ids[leads])
    central.insert(1, "rank1", res.acceptability[leads, 0])
    return SMAATable(table, departments, central, res.acceptability, top, int(draws), int(seed),
                     res.noise, res.exclude, (lo, hi))


def _interval(interval: Any, source: str | None) -> tuple[float, float]:
    ok = (isinstance(interval, list | tuple) and len(interval) == 2
          and all(isinstance(v, int | float) and not isinstance(v, bool) for v in interval))
    if not ok or not 0 < interval[0] < interval[1] <= 1:
        raise InputError(source, "SMAA", "interval", repr(interval)[:60],
                         "must be [low, high], two shares with 0 < low < high <= 1")
    return float(interval[0]), float(interval[1])


# --------------------------------------------------------------------------------------------
# Leave one indicator out
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LeaveOneOutTable:
    """``table``: one row per non-bonus leaf removed — ``code, group, name_zh, points`` (its
    points in the file), ``rescaled`` (who took its points: ``system`` or ``group``; a leaf
    alone in its level-1 group is always ``system``), ``mean_abs_shift`` (mean
    |rank without it − rank with it| over the projects), ``max_shift`` (the largest
    |shift|), ``grade_changed`` (the share of projects whose grade changes) and
    ``spearman`` (rank correlation of the totals with and without it); sorted as the file.
    ``shifts``: projects × removed leaves, each project's rank shift (positive: a worse rank
    without the leaf). ``rescale``: how the freed points were shared."""

    table: pd.DataFrame
    shifts: pd.DataFrame
    rescale: str


def leave_one_out(system: Any, portfolio: Portfolio | None = None, *,
                  rescale: str = "system") -> LeaveOneOutTable:
    """Leave-one-out impact of every non-bonus leaf (COINr's and Compind's robustness check):
    remove the leaf exactly as a structural variant does (``indicators.remove`` with
    ``indicators.rescale``: ``system`` spreads its points over every leaf left in proportion,
    ``group`` over the rest of its level-1 group — over every leaf left when it is
    alone in its group; :func:`perfsim.model.params.apply_structure`),
    score every project with the system's own scoring (published totals with rounding and
    bonus), rank the totals (1 = best, ties share the best rank) and grade them with the
    scenario's grading (the national 90/80/60 without a scenario)."""
    if rescale not in RESCALES:
        raise InputError(field="indicators.rescale", value=rescale,
                         problem=f"choose one of {', '.join(RESCALES)}")
    return _leave_one_out(system, portfolio, rescale)


def _leave_one_out(system: Any, portfolio: Portfolio | None, rescale: str
                   ) -> LeaveOneOutTable:
    """The steps of :func:`leave_one_out`."""
    scenario = system if not isinstance(system, IndicatorSystem) else None
    system, portfolio = system_and_portfolio(system, portfolio)
    if scenario is None or getattr(scenario, "system", None) is not system:
        scenario = Scenario(name=system.code, portfolio=portfolio, system=system)
    meas = portfolio.measurements()
    base = np.asarray(system.score(meas), dtype=float)
    base_rank = _rank(base)
    base_grade = scenario.grading.grade(base)
    rows, shifts = [], {}
    for leaf in system.indicators:
        changes: dict[str, Any] = {"indicators.remove": leaf.code}
        alone = sum(other.level1 == leaf.level1 for other in system.indicators) == 1
        how = "system" if alone else rescale  # a group of one has no leaf left to take them
        if how != "system":
            changes["indicators.rescale"] = how
        if len(system.indicators) == 1:
            raise InputError(system.path, f"indicator {leaf.code}", "indicators.remove",
                             problem="would leave no scored indicator")
        reduced = apply_structure(scenario, changes).system
        score = np.asarray(reduced.score(meas), dtype=float)
        shift = _rank(score) - base_rank
        grade = scenario.grading.grade(score)
        rho = float(stats.spearmanr(base, score).statistic) if np.ptp(base) > 0 and np.ptp(
            score) > 0 else float("nan")
        rows.append({"code": leaf.code, "group": leaf.level1, "name_zh": leaf.name_zh,
                     "points": float(leaf.points), "rescaled": how,
                     "mean_abs_shift": float(np.abs(shift).mean()),
                     "max_shift": int(np.abs(shift).max()),
                     "grade_changed": float((grade != base_grade).mean()),
                     "spearman": rho})
        shifts[leaf.code] = shift
    ids = portfolio.table["project_id"].to_numpy()
    shift_frame = pd.DataFrame(shifts)
    shift_frame.insert(0, "project_id", ids)
    return LeaveOneOutTable(pd.DataFrame(rows), shift_frame, rescale)


# --------------------------------------------------------------------------------------------
# Benefit-of-the-doubt variants
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BoDVariantTable:
    """``table``: one row per project — ``project_id, department, bod_score, bod_rank,
    expert_score, expert_rank`` and ``score, rank`` (the variant's); ``method``: which variant
    (``own_shares``, ``undesirable``, ``order_m``); ``settings``: its settings; ``weights``:
    each project's weight shares per leaf (``own_shares`` only, else None)."""

    table: pd.DataFrame
    method: str
    settings: dict[str, Any]
    weights: pd.DataFrame | None = None


def _variant_table(system: IndicatorSystem, portfolio: Portfolio, att: np.ndarray,
                   score: np.ndarray, source: str | None) -> pd.DataFrame:
    full = benefit_of_the_doubt(system, portfolio, None, source=source).table
    return full.assign(score=score, rank=_rank(score))


def bod_variant(system: Any, portfolio: Portfolio | None = None, method: str = "own_shares",
                *, bounds: Any = None, m: int = 20, draws: int = 100, seed: int | None = None,
                undesirable: Any = "auto", source: str | None = None) -> BoDVariantTable:
    """A benefit-of-the-doubt variant of every project, beside the plain BoD score
    (:func:`benefit_of_the_doubt`, no bounds) and the file's ranking:

    ``own_shares``
        ``bounds`` (a ``bounds:`` block) read as each project's own shares of its score,
        w_j·y_ij / Σ w·y_i (Compind's ``ci_bod_constr``; :mod:`perfsim.kernel.bod_shares`),
        on the leaf attainment;
    ``undesirable``
        the directional BoD of Zanella, Camanho & Dias (2015) on the raw measurements
        (:mod:`perfsim.kernel.bod_directional`): ``undesirable`` lists the leaf codes that are
        lower-is-better (``auto``: the leaves whose raw value lowers the score — days late,
        deductions, graded levels; target-is-best leaves enter as their attainment);
    ``order_m``
        the robust order-m BoD (Daraio & Simar 2007; :mod:`perfsim.kernel.bod_orderm`) on the
        leaf attainment: ``draws`` sets of ``m`` peers, ``seed`` (default the scenario's, else
        0); a score above 1 marks a project beyond the order-m frontier.
    """
    if seed is None:
        seed = getattr(system, "seed", None)
        seed = 0 if seed is None else seed
    system, portfolio, att = portfolio_attainment(system, portfolio)
    weights = None
    if method == "own_shares":
        b = bounds if isinstance(bounds, kbod.Bounds) else parse_bounds(bounds, system, source)
        res = kbod_shares.bod_own_shares(att, b, source=source)
        score, settings = res.scores, {"bounds": bounds}
        weights = pd.DataFrame(res.weights, columns=list(system.codes))
        weights.insert(0, "project_id", portfolio.table["project_id"].to_numpy())
    elif method == "undesirable":
        data = project_data(system, portfolio, source)
        if isinstance(undesirable, str) and undesirable == "auto":
            flags = np.array([d == "lower" for d in data.directions])
        else:
            codes = [undesirable] if isinstance(undesirable, str) else list(undesirable or [])
            for code in codes:
                if code not in system.codes:
                    raise InputError(source, "benefit of the doubt", "undesirable", code,
                                     f"not a leaf of {system.code}")
            flags = np.isin(np.asarray(system.codes, dtype=object), codes)
        score = kbod_dir.bod_directional(data.X, flags, source=source)
        settings = {"undesirable": [c for c, f in zip(system.codes, flags, strict=True) if f]}
    elif method == "order_m":
        res_m = kbod_m.bod_order_m(att, m, draws, int(seed), source=source)
        score, settings = res_m.scores, {"m": int(m), "draws": int(draws), "seed": int(seed)}
    else:
        raise InputError(source, "benefit of the doubt", "method", method,
                         f"choose one of {', '.join(BOD_VARIANTS)}")
    table = _variant_table(system, portfolio, att, np.asarray(score, dtype=float), source)
    return BoDVariantTable(table, method, settings, weights)


#: The benefit-of-the-doubt variants of :func:`bod_variant`.
BOD_VARIANTS: tuple[str, ...] = ("own_shares", "undesirable", "order_m")
