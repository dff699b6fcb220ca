"""Aggregation of leaf attainments to a total score in points, and the bonus total."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from perfsim.errors import InputError
from perfsim.kernel.composite.aggregate import AGGREGATORS
from perfsim.kernel.scoring.rounding import round_half_up

#: The total from the level-1 groups: the four below, then the composite-indicator
#: aggregators of :mod:`perfsim.kernel.composite.aggregate` (``harmonic``, ``power_mean``,
#: ``mean_min``, ``owa``, ``mpi``) applied to the groups' shares weighted by their points.
AGGREGATIONS = ("weighted_sum", "geometric", "weakest_link", "ordinal_average", "harmonic",
                "power_mean", "mean_min", "owa", "mpi")
#: How the leaves of one level-1 group make the group's attainment share (COINr lets each
#: group aggregate its own way): the points-weighted ``arithmetic`` mean (the national
#: practice), the points-weighted ``geometric`` mean (a weak leaf is not made up by a strong
#: one), or the ``min`` (the group is as good as its weakest leaf).
WITHIN = ("arithmetic", "geometric", "min")
#: every aggregation a group (or a level of the hierarchy) can take: :data:`WITHIN` and the
#: composite-indicator aggregators (scored by :mod:`perfsim.kernel.composite.tree`)
GROUP_METHODS = (*WITHIN, *(m for m in AGGREGATORS if m not in WITHIN))
#: ``ordinal_average`` (PEFA M2 style): lower bounds of the ordinal grades A, B, C on a level-1
#: group's attainment share (left-closed, like the national bands 90/80/60); below C is D.
ORDINAL_CUTOFFS = (0.9, 0.8, 0.6)
#: ``ordinal_average``: the ordinal score of A, B, C, D.
ORDINAL_SCORES = (4.0, 3.0, 2.0, 1.0)


def bonus_total(attainments: Sequence[np.ndarray], points: Sequence[float], cap: float,
                leaf_decimals: int | None = None) -> np.ndarray | float:
    """Bonus points of a project: each bonus leaf's points earned (attainment × its points,
    rounded as leaf points are printed), summed, capped at the system's ``cap``."""
    earned: np.ndarray | float = 0.0
    for a, p in zip(attainments, points, strict=True):
        earned = earned + round_half_up(a * p, leaf_decimals)
    return np.minimum(earned, cap)


def group_shares(attainment: np.ndarray, points: np.ndarray, groups: np.ndarray,
                 within: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Each level-1 group's attainment share (..., groups) and its points (groups,): its
    leaves aggregated by ``within`` (one :data:`WITHIN` index per group; default: all
    ``arithmetic``, the points-weighted mean)."""
    a = np.asarray(attainment, dtype=float)
    pts = np.asarray(points, dtype=float)
    n_groups = int(groups.max()) + 1
    member = np.zeros((pts.size, n_groups))
    member[np.arange(pts.size), groups] = pts
    group_max = member.sum(axis=0)
    share = (a @ member) / group_max
    if within is None or not np.any(within):
        return share, group_max
    within = np.asarray(within)
    if np.any(within == 1):  # geometric: exp(Σ p_i log a_i / Σ p_i) within the group
        with np.errstate(divide="ignore"):
            logs = np.log(np.clip(a, 0.0, None)) @ member
        share = np.where(within == 1, np.exp(logs / group_max), share)
    if np.any(within == 2):  # min: the weakest leaf of the group
        for g in np.nonzero(within == 2)[0]:   # a loop over groups (a handful), not projects
            share[..., g] = a[..., groups == g].min(axis=-1)
    return share, group_max


def total_score(attainment: np.ndarray, points: np.ndarray, *, groups: np.ndarray | None = None,
                method: str = "weighted_sum", total: float | None = None,
                within: np.ndarray | None = None) -> np.ndarray:
    """Aggregate leaf attainments (..., indicators) to a total score in points.

    ``points`` (indicators,) are the leaf points; ``groups`` (indicators,) the level-1 group
    index of each leaf (needed for ``geometric`` and ``weakest_link``).

    - ``weighted_sum``: Σ attainment × points (the national practice).
    - ``geometric``: total × Π_g s_g^(w_g), where s_g is group g's attainment share and
      w_g its share of the total points.
    - ``weakest_link``: total × min_g s_g — the weakest level-1 dimension decides.
    - ``ordinal_average`` (PEFA M2 style): each group's share s_g becomes an ordinal grade score
      o_g by :data:`ORDINAL_CUTOFFS` (A = 4 if s_g ≥ 0.9, B = 3 if ≥ 0.8, C = 2 if ≥ 0.6, else
      D = 1; left-closed, with a 1e-9 tolerance for rounding); the average ō = Σ_g w_g o_g is
      weighted by the groups' shares of the points w_g (equal group points give PEFA's simple
      average) and mapped linearly back to points: total × (ō − 1) / (4 − 1), so all-A earns
      the total and all-D earns 0.

    ``within`` (one :data:`WITHIN` index per level-1 group) aggregates each group's leaves
    its own way first (:func:`group_shares`); with ``weighted_sum`` the total is then
    Σ_g s_g × the group's points (the plain weighted sum when every group is arithmetic).
    """
    a = np.asarray(attainment, dtype=float)
    pts = np.asarray(points, dtype=float)
    plain = within is None or not np.any(within)
    if method == "weighted_sum" and plain:
        return a @ pts
    if method not in AGGREGATIONS:
        raise InputError(field="aggregation", value=method,
                         problem=f"must be one of {', '.join(AGGREGATIONS)}")
    if groups is None:
        raise InputError(field="aggregation", value=method, problem="needs level-1 groups")
    total = float(pts.sum()) if total is None else total
    share, group_max = group_shares(a, pts, groups, within)
    if method == "weighted_sum":
        return share @ group_max
    if method == "geometric":
        w = group_max / group_max.sum()
        with np.errstate(divide="ignore"):
            return total * np.exp(np.log(np.clip(share, 0, 1)) @ w)
    if method == "ordinal_average":
        return ordinal_total(share, group_max, total)
    if method == "weakest_link":
        return total * share.min(axis=-1)
    return total * AGGREGATORS[method](share, group_max / group_max.sum())


def ordinal_total(share: np.ndarray, group_max: np.ndarray, total: float) -> np.ndarray:
    """``ordinal_average`` of the level-1 groups' shares (..., groups) weighted by their points
    (see :func:`total_score`)."""
    scores = np.asarray(ORDINAL_SCORES)
    reached = np.searchsorted(np.asarray(ORDINAL_CUTOFFS)[::-1], share + 1e-9, side="right")
    ordinal = scores[::-1][reached]  # cutoffs reached: 0 -> D ... 3 -> A
    mean = ordinal @ (group_max / group_max.sum())
    return total * (mean - scores.min()) / (scores.max() - scores.min())
