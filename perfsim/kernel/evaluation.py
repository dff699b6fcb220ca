"""The evaluation process: self-evaluation with inflation, spot checks, re-check rules and
dual monitoring — as pure functions on arrays shaped (replications, projects[, indicators]).

Attainments are shares in [0, 1] of each leaf's points (see :mod:`perfsim.kernel.scoring`); scores
are in points. Inflation is in attainment units: 0.05 lifts every leaf by 5% of its points, so
5 points on a 100-point system.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from perfsim.kernel.scoring import gap_penalty, round_half_up, total_score

SELECTIONS = ("random", "largest_budget", "highest_score")


def weighted_score(attainment: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Σ attainment × points: (R, P, I) with points (I,) or per replication (R, I)."""
    if points.ndim == 1:
        return attainment @ points
    return np.matmul(attainment, points[:, :, None])[..., 0]


def per_row(value: float | np.ndarray, ndim: int) -> float | np.ndarray:
    """A scalar as it is, or a per-row array (rows,) shaped (rows, 1, ...) to broadcast
    against arrays of ``ndim`` dimensions."""
    v = np.asarray(value, dtype=float)
    return float(v) if v.ndim == 0 else v.reshape(v.shape + (1,) * (ndim - 1))


@dataclass(frozen=True, eq=False)
class Measure:
    """How leaf attainments become total scores (points).

    ``points`` (I,) are the leaf points; attainment of leaf i ranges over [0, ``span[i]``]
    (1 for an indicator leaf; the total for a portfolio that holds ready scores, whose single
    "leaf" is the score itself with 1 point per point, so a score passes through exactly).
    ``bonus`` (projects,) are fixed bonus points added to the total.

    ``leaf_decimals`` and ``total_decimals`` round as published tables do (四舍五入): each
    leaf's points (weighted sum only) and the total with its bonus; None leaves them as
    computed. Grading then sees the printed total: a table printed 80.00 is 80.0.
    """

    points: np.ndarray
    span: np.ndarray
    aggregation: str = "weighted_sum"
    groups: np.ndarray | None = None
    total: float | None = None
    bonus: np.ndarray | float = 0.0
    leaf_decimals: int | None = None
    total_decimals: int | None = None

    def score(self, attainment: np.ndarray, points: np.ndarray | None = None,
              bonus: np.ndarray | float | None = None) -> np.ndarray:
        """Total scores (..., P) of attainments (..., P, I); ``points`` (I,) or per row
        (R, I) (per-row points need the weighted sum)."""
        w = self.points if points is None else points
        if self.aggregation == "weighted_sum" and self.leaf_decimals is not None:
            leaf = attainment * (w if w.ndim == 1 else w[:, None, :])
            base = round_half_up(leaf, self.leaf_decimals).sum(axis=-1)
        elif self.aggregation == "weighted_sum":
            base = weighted_score(attainment, w)
        else:
            base = total_score(attainment, w if w.ndim == 1 else w[0], groups=self.groups,
                               method=self.aggregation, total=self.total)
        return round_half_up(base + (self.bonus if bonus is None else bonus),
                             self.total_decimals)

    def share(self, attainment: np.ndarray) -> np.ndarray:
        """The weighted attainment share in [0, 1] of each project (bonus excluded)."""
        scale = self.points * self.span
        return attainment @ (self.points / scale.sum())

    def noise_variance(self, sd: float) -> float:
        """Variance of a project's attainment share when every leaf carries independent
        noise of ``sd`` (attainment units)."""
        e = self.points * self.span / float((self.points * self.span).sum())
        return float(sd) ** 2 * float(e @ e)


@dataclass(frozen=True, eq=False)
class YearDraws:
    """The random numbers of one year of the evaluation process, rows × slots (projects and
    entrants). Drawn in a fixed order by :func:`draw_year`."""

    z_leaf: np.ndarray            # (R, S, I) true leaf attainment around performance
    z_self: np.ndarray            # (R, S, I) self-evaluation noise
    z_re: np.ndarray | None       # (R, S, I) re-check noise (when anything is re-checked)
    key: np.ndarray               # (R, S) random order for random spot checks
    z_exec: np.ndarray            # (R, S, C) execution noise per monitoring checkpoint
    z_theta: np.ndarray           # (R, S) innovation of latent performance


def draw_year(streams: Sequence[tuple[np.random.Generator, int]], slots: int, leaves: int,
              checkpoints: int, recheck: bool) -> YearDraws:
    """One year's draws: for each array in a fixed order, ``n`` rows from each stream in
    turn (streams are the fixed replication blocks, so the numbers do not depend on how rows
    are chunked)."""
    def draw(fn):  # noqa: ANN001, ANN202 - local helper
        return np.concatenate([fn(g, n) for g, n in streams], axis=0)

    S, I = slots, leaves  # noqa: E741
    return YearDraws(
        z_leaf=draw(lambda g, n: g.standard_normal((n, S, I))),
        z_self=draw(lambda g, n: g.standard_normal((n, S, I))),
        z_re=draw(lambda g, n: g.standard_normal((n, S, I))) if recheck else None,
        key=draw(lambda g, n: g.random((n, S))),
        z_exec=draw(lambda g, n: g.standard_normal((n, S, max(checkpoints, 1)))),
        z_theta=draw(lambda g, n: g.standard_normal((n, S))),
    )


@dataclass(frozen=True)
class Process:
    """The evaluation process of one year. Every numeric field is a scalar or an array with
    one value per row (a parameter sample); noise and inflation are in attainment units."""

    dispersion: float | np.ndarray = 0.0
    noise: float | np.ndarray = 0.0
    recheck_noise: float | np.ndarray = 0.0
    check_share: float | np.ndarray = 0.0
    selection: str = "random"
    replace: bool = True
    gap_rule: bool = False
    gap: float = 10.0
    per: float = 1.0
    step: float = 5.0
    penalty: float = 0.0


@dataclass(frozen=True, eq=False)
class ProcessScores:
    """Scores (R, S) in points of one year of the evaluation process."""

    true: np.ndarray
    self: np.ndarray
    final: np.ndarray
    checked: np.ndarray
    honest: np.ndarray | None       # the final score without inflation (None: nobody inflates)
    honest_self: np.ndarray | None  # the self-score without inflation


def evaluate_process(mean: np.ndarray, shift: np.ndarray, inflation: np.ndarray,
                     measure: Measure, draws: YearDraws, process: Process, budget: np.ndarray,
                     active: np.ndarray, points: np.ndarray, true_points: np.ndarray
                     ) -> ProcessScores:
    """One year of the evaluation process on rows × slots.

    True leaf attainment = ``mean`` (R|1, S, I) moved by the latent ``shift`` (R, S) plus
    leaf dispersion; the self-evaluation adds each project's ``inflation`` (R, S) and noise;
    spot checks re-measure a share of projects with their own noise and the re-check rules
    give the graded score. Attainments are clipped to [0, span]; all noise is scaled by the
    span. Scores use ``points`` (I,) or per row (R, I); the truth uses ``true_points``.
    """
    u = measure.span
    p = process
    a_true = np.clip(mean + u * (shift[..., None] + per_row(p.dispersion, 3) * draws.z_leaf),
                     0.0, u)
    true = measure.score(a_true, true_points)
    noise = u * (per_row(p.noise, 3) * draws.z_self)
    self_score = measure.score(np.clip(a_true + u * inflation[..., None] + noise, 0.0, u),
                               points)
    inflated = bool(np.any(inflation != 0))
    honest_self = measure.score(np.clip(a_true + noise, 0.0, u), points) if inflated else None
    checked = select_for_check(p.check_share, p.selection, active, draws.key,
                               np.where(active, budget, 0.0), self_score)
    re_score = self_score
    if draws.z_re is not None and np.any(checked):
        re_score = measure.score(
            np.clip(a_true + u * (per_row(p.recheck_noise, 3) * draws.z_re), 0.0, u), points)
    rules = dict(replace=p.replace, gap_rule=p.gap_rule, gap=p.gap, per=p.per, step=p.step,
                 inflation_penalty=p.penalty)
    final = recheck_scores(self_score, re_score, checked, **rules)
    honest = None if honest_self is None else recheck_scores(honest_self, re_score, checked,
                                                             **rules)
    return ProcessScores(true=true, self=self_score, final=final, checked=checked,
                         honest=honest, honest_self=honest_self)


def select_for_check(share: float, selection: str, active: np.ndarray, key_random: np.ndarray,
                     budget: np.ndarray, self_score: np.ndarray) -> np.ndarray:
    """Which projects are re-checked: ``round(share × active projects)`` per replication,
    chosen at random, by largest budget, or by highest self-score (risk-based); ties in the
    deterministic orders go to the project listed first."""
    share = per_row(share, 2)
    if np.all(np.asarray(share) <= 0):
        return np.zeros(active.shape, dtype=bool)
    if np.all(np.asarray(share) >= 1):
        return active.copy()
    key = {"random": key_random, "largest_budget": np.broadcast_to(budget, active.shape),
           "highest_score": self_score}[selection]
    key = np.where(active, key, -np.inf)
    order = np.argsort(-key, axis=-1, kind="stable")
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(active.shape[-1])[None, :].repeat(
        active.shape[0], axis=0), axis=-1)
    n_check = np.rint(share * active.sum(axis=-1, keepdims=True))
    return (rank < n_check) & active


def recheck_scores(self_score: np.ndarray, recheck_score: np.ndarray, checked: np.ndarray, *,
                   replace: bool = True, gap_rule: bool = False, gap: float = 10.0,
                   per: float = 1.0, step: float = 5.0, inflation_penalty: float = 0.0
                   ) -> np.ndarray:
    """The score that is graded after re-checks (points, floored at 0).

    For checked projects: the re-check replaces the self-score (``replace``); the Wenzhou gap
    rule deducts ``per`` points per ``step`` points of |self − re-check| above ``gap``; an
    optional ``inflation_penalty`` is deducted when the self-score exceeds the re-check by more
    than ``gap``. Unchecked projects keep their self-score.
    """
    score = np.where(checked & replace, recheck_score, self_score)
    if gap_rule:
        score = score - np.where(checked, gap_penalty(recheck_score, self_score, gap=gap,
                                                      per=per, step=step), 0.0)
    if inflation_penalty:
        found = checked & (self_score - recheck_score > gap)
        score = score - np.where(found, inflation_penalty, 0.0)
    return np.clip(score, 0.0, None)


def monitor(budget: np.ndarray, pace: np.ndarray, z: np.ndarray,
            checkpoints: tuple[tuple[float, float], ...], noise_sd: float,
            recovery_share: float) -> np.ndarray:
    """Dual monitoring of execution: at each checkpoint (share of the year elapsed, minimum
    execution rate) a project's execution rate is ``elapsed × pace`` plus noise; a project below
    the minimum has ``recovery_share`` of its idle funds — budget × (elapsed − rate) —
    recovered, once a year, at the first checkpoint it fails. Returns yuan recovered (R, P)."""
    recovered = np.zeros(np.shape(budget))
    done = np.zeros(np.shape(budget), dtype=bool)
    for c, (elapsed, minimum) in enumerate(checkpoints):
        rate = np.clip(elapsed * pace + noise_sd * z[..., c], 0.0, 1.0)
        fail = (rate < minimum) & ~done
        recovered = np.where(fail, recovery_share * budget * np.clip(elapsed - rate, 0, None),
                             recovered)
        done |= fail
    return recovered
