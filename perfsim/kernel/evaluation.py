"""The evaluation process: self-evaluation with inflation, spot checks, re-check rules and
dual monitoring — as pure functions on arrays shaped (replications, projects[, indicators]).

Attainments are shares in [0, 1] of each leaf's points (see :mod:`perfsim.kernel.scoring`); scores
are in points. Inflation is in attainment units: 0.05 lifts every leaf by 5% of its points, so
5 points on a 100-point system.
"""

from __future__ import annotations

import numpy as np

from perfsim.kernel.scoring import gap_penalty

SELECTIONS = ("random", "largest_budget", "highest_score")


def weighted_score(attainment: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Σ attainment × points: (R, P, I) with points (I,) or per replication (R, I)."""
    if points.ndim == 1:
        return attainment @ points
    return np.matmul(attainment, points[:, :, None])[..., 0]


def self_evaluate(true_attainment: np.ndarray, inflation: np.ndarray, noise_sd: float,
                  z: np.ndarray) -> np.ndarray:
    """Self-evaluated attainments: the truth plus each project's inflation (R, P) plus
    measurement noise ``noise_sd × z`` per leaf, clipped to [0, 1]."""
    return np.clip(true_attainment + inflation[..., None] + noise_sd * z, 0.0, 1.0)


def select_for_check(share: float, selection: str, active: np.ndarray, key_random: np.ndarray,
                     budget: np.ndarray, self_score: np.ndarray) -> np.ndarray:
    """Which projects are re-checked: ``round(share × active projects)`` per replication,
    chosen at random, by largest budget, or by highest self-score (risk-based); ties in the
    deterministic orders go to the project listed first."""
    if share <= 0:
        return np.zeros(active.shape, dtype=bool)
    if share >= 1:
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
