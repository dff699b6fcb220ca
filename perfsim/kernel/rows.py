"""Rows that repeat: a sensitivity analysis's samples share their common random numbers, and
samples that differ only after scoring share their scores, so many (rows, projects) arrays
hold a row equal to the one before it (the random keys of the checks, the true scores, the
scores of a Saltelli design's neighbours). Sorting or ranking such an array works on the
distinct runs only."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def runs(x: np.ndarray) -> np.ndarray | None:
    """For ``x`` (rows, n): the first row of each run of equal rows (bool, rows), or None
    when no row equals the one before it (NaN never equal). Costs one comparison pass."""
    if x.ndim != 2 or x.shape[0] < 2:
        return None
    same = (x[1:] == x[:-1]).all(axis=1)
    if not same.any():
        return None
    return np.concatenate([[True], ~same])


def per_run(fn: Callable[[np.ndarray], np.ndarray], x: np.ndarray) -> np.ndarray:
    """``fn(x)`` for a row-wise ``fn`` ((rows, n) → (rows, m)), computed once per run of equal
    rows (:func:`runs`) and repeated over each run: the same numbers, in memory of their
    own."""
    first = runs(x)
    if first is None:
        return fn(x)
    return fn(x[first])[np.cumsum(first) - 1]


def sorted_at(x: np.ndarray, j: np.ndarray) -> np.ndarray:
    """``np.take_along_axis(np.sort(x, axis=-1), j, axis=-1)`` for ``x`` (rows, n) and one
    position per row ``j`` (rows, 1) in [0, n): each row's value at that place of its sorted
    order, by a partition (no full sort) of the rows that share a position at once; a run of
    rows equal to the one before with the same position (:func:`runs`) once."""
    j = np.broadcast_to(j, (x.shape[0], 1))
    first = runs(x)
    if first is not None:
        first[1:] |= j[1:, 0] != j[:-1, 0]
        if first.all():
            first = None
    rows = x if first is None else x[first]
    at = j[:, 0] if first is None else j[first, 0]
    out = np.empty(rows.shape[0])
    for k in np.unique(at):
        pick = np.flatnonzero(at == k)
        part = rows if pick.size == rows.shape[0] else rows[pick]
        out[pick] = np.partition(part, int(k), axis=-1)[:, int(k)]
    if first is not None:
        out = out[np.cumsum(first) - 1]
    return out[:, None]
