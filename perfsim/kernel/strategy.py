"""Units that respond: each unit's choice of inflation, as pure functions on arrays.

A unit weighs, for each inflation it may choose (a row of the arrays, row 0 the honest
report), the money it keeps unchecked and the money it keeps when a re-check finds its honest
score, at the chance of a check it perceives. :func:`respond` is that choice and nothing
else: :mod:`perfsim.run.strategy` calls it on the gains of a grid of inflations (the one-year
analysis), the Monte Carlo's year step (:func:`perfsim.run.step.step`) on the cut lines a
unit can reach each year. :func:`reach_lines` gives those rows (the least inflation that
lifts a self-score onto each cut line: more only adds to what a check finds),
:func:`check_chance` the chance a unit infers from the check rules and
:func:`learn` the belief of the units that were caught.

Ties: expected gains within :data:`GAIN_ATOL` yuan plus :data:`GAIN_RTOL` of the money at
stake (``(1 − p)·|a| + p·|b|``) of each other are ties, and the smallest inflation wins a
tie, so at a gain of zero — the break-even itself — a unit reports honestly.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: expected gains within ``GAIN_ATOL`` yuan plus ``GAIN_RTOL`` of the money at stake
#: (``(1 − p)·|a| + p·|b|``) of each other are ties: a unit inflates only beyond them
GAIN_RTOL, GAIN_ATOL = 1e-8, 0.01


def stake(unchecked: np.ndarray, checked: np.ndarray, p: float | np.ndarray) -> np.ndarray:
    """The tolerance of an expected gain at check chance ``p``: :data:`GAIN_ATOL` yuan plus
    :data:`GAIN_RTOL` of the money at stake, ``(1 − p)·|a| + p·|b|`` (``a``, ``b``: the gains
    unchecked and checked against honesty)."""
    return GAIN_ATOL + GAIN_RTOL * ((1.0 - p) * np.abs(unchecked) + p * np.abs(checked))


def choose(expected: np.ndarray, tolerance: np.ndarray) -> np.ndarray:
    """The row each column chooses (rows first): the smallest whose expected gain is within
    its tolerance of the best one's, so a unit inflates only when that beats honesty (row 0,
    a gain of 0) by more than the tolerance, and honesty wins a tie."""
    top = np.argmax(expected, axis=0)
    best = np.take_along_axis(expected, top[None], axis=0)[0]
    floor = best - np.take_along_axis(tolerance, top[None], axis=0)[0]
    return np.argmax(expected >= floor[None], axis=0)


def expected_gain(unchecked: np.ndarray, checked: np.ndarray, p: float | np.ndarray
                  ) -> np.ndarray:
    """The expected money of each row against the honest report (row 0), with the chance of
    a check ``p`` (a number, or one per row and unit: a chance that depends on the report):
    ``(1 − p_k)·U_k + p_k·C_k − ((1 − p_0)·U_0 + p_0·C_0)``. ``unchecked`` (U) and
    ``checked`` (C): money (rows, units...), absolute or against honesty."""
    p = np.asarray(p, dtype=float)
    e = (1.0 - p) * unchecked + p * checked
    return e - e[:1]


def respond(unchecked: np.ndarray, checked: np.ndarray, p: float | np.ndarray
            ) -> np.ndarray:
    """The row (inflation) each unit chooses: the most expected money (:func:`expected_gain`)
    at check chance ``p``, the smallest inflation on a tie (:func:`choose`, tolerance
    :func:`stake` of the gains against honesty)."""
    a, b = unchecked - unchecked[:1], checked - checked[:1]
    return choose(expected_gain(unchecked, checked, p), stake(a, b, np.asarray(p, float)))


def reach_lines(honest: np.ndarray, cutoffs: np.ndarray, most: float, bonus: float = 0.0
                ) -> np.ndarray:
    """The self-scores a unit with honest self-score ``honest`` (rows, units) weighs: row 0
    the honest one, then for each cut line from the lowest up the least claim whose unchecked
    grade reaches it (the line less any ``bonus`` for not being checked), where that is above
    the honest score by no more than ``most`` points (else the honest score again: a tie,
    never chosen). ``cutoffs`` (lines,) or per row (rows, lines), in any order. Returns
    (1 + lines, rows, units): the lines from the lowest up, so the claims that differ from
    the honest score rise along the first axis and a tie goes to the smaller one."""
    c = np.sort(np.atleast_2d(np.asarray(cutoffs, dtype=float)), axis=-1)   # (1|R, L)
    line = c.T[:, :, None] - bonus                                           # (L, 1|R, 1)
    lift = line - honest[None]
    claim = np.where((lift > 0) & (lift <= most + 1e-9), line, honest[None])
    return np.concatenate([honest[None], claim], axis=0)


def _distance(score: np.ndarray, cutoffs: Sequence[float]) -> np.ndarray:
    """Points above the nearest line at or below each score (inf: below every line)."""
    distance = np.full(np.shape(score), np.inf)
    for c in cutoffs:
        d = score - c
        distance = np.where((d >= 0) & (d < distance), d, distance)
    return distance


def check_chance(selection: str, n_check: np.ndarray, active: np.ndarray,
                 claim: np.ndarray, honest: np.ndarray, budget: np.ndarray, *,
                 risk: np.ndarray | None = None, cutoffs: Sequence[float] = (),
                 band: float = 2.0, mix: Sequence[tuple[str, float]] = ()) -> np.ndarray:
    """The chance of a check each unit infers for each claim ``claim`` (rows of claims,
    rows, units), from ``n_check`` (rows, 1) checks among its row's ``active`` units and what
    it can see of the others — their honest self-scores ``honest`` (rows, units) and budgets:

    - ``random``: checks / active units;
    - ``risk``: checks × its risk weight / the active units' total weight (at most 1);
    - ``largest_budget``: 1 for the ``n_check`` largest budgets, else 0;
    - ``highest_score``: 1 for a claim at or above the ``n_check``-th highest honest
      self-score, else 0;
    - ``near_cutoffs`` (closest to a line first): a claim within ``band`` points above a
      line is checked (1) when fewer honest self-scores than checks lie nearer to a line,
      else not (0) — a claim exactly on a line is the first checked, and a tie in distance
      counts for the unit; a claim away from the lines shares the checks left over at random;
    - ``mix``: each selection's chance times its share of the checks (at most 1).

    Returns (claims, rows, units) in [0, 1]; 0 for inactive units."""
    act = active[None]
    na = np.maximum(active.sum(axis=-1, keepdims=True), 1)
    n = np.minimum(n_check, na).astype(float)
    shape = np.broadcast_shapes(claim.shape, act.shape)
    if selection == "mix":
        p = sum(frac * check_chance(sel, n, active, claim, honest, budget, risk=risk,
                                    cutoffs=cutoffs, band=band) for sel, frac in mix)
        return np.where(act, np.minimum(p, 1.0), 0.0)
    if selection == "random" or (selection == "risk" and risk is None):
        p = np.broadcast_to(n / na, shape)
    elif selection == "risk":
        w = np.where(active, np.broadcast_to(risk, active.shape), 0.0)
        total = np.maximum(w.sum(axis=-1, keepdims=True), 1e-300)
        p = np.broadcast_to(np.minimum(n * w / total, 1.0), shape)
    elif selection == "largest_budget":
        b = np.where(active, np.broadcast_to(budget, active.shape), -np.inf)
        rank = np.argsort(np.argsort(-b, axis=-1, kind="stable"), axis=-1, kind="stable")
        p = np.broadcast_to((rank < n).astype(float), shape)
    elif selection == "highest_score":
        h = np.where(active, honest, -np.inf)
        desc = -np.sort(-h, axis=-1)
        k = np.maximum(n.astype(np.int64) - 1, 0)
        line = np.take_along_axis(desc, k, axis=-1)                  # (rows, 1)
        p = np.where(n[None] > 0, (claim >= line[None]).astype(float), 0.0)
    elif selection == "near_cutoffs":
        own = np.where(active, _distance(honest, cutoffs), np.inf)
        near = own < band
        n_near = near.sum(axis=-1, keepdims=True)
        ranked = np.sort(np.where(near, own, np.inf), axis=-1)            # (rows, units)
        d = _distance(claim, cutoffs)                                      # (claims, rows, u)
        ahead = np.stack([np.searchsorted(ranked[r], d[:, r], side="left")
                          for r in range(ranked.shape[0])], axis=1)
        p_far = np.clip((n - n_near) / np.maximum(na - n_near, 1), 0.0, 1.0)
        p = np.where(d < band, (ahead < n[None]).astype(float), p_far[None])
    else:
        raise ValueError(selection)
    return np.where(act, p, 0.0)


def perceived(p: np.ndarray, belief: np.ndarray | None) -> np.ndarray:
    """The chance a unit acts on: ``p`` raised toward 1 by its ``belief`` (0: none; a unit
    caught before holds a belief, :func:`learn`): ``p + belief·(1 − p)``."""
    return p if belief is None else p + belief * (1.0 - p)


def learn(belief: np.ndarray, caught: np.ndarray, weight: float) -> np.ndarray:
    """Each unit's belief after a year: a unit ``caught`` inflating moves it toward 1 by
    ``weight`` (``belief + weight·(1 − belief)``); the others keep theirs."""
    return np.where(caught, belief + weight * (1.0 - belief), belief)
