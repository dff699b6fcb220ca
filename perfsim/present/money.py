"""Money to the fen (分, 0.01 yuan): one column (:func:`fen`), or a table whose rows add up to
their totals (:func:`fen_table`) — each project's budget split into the money channels of
:data:`perfsim.kernel.year.CHANNELS` — so that what a file or workbook shows adds up exactly,
across each row and down each column."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import csr_matrix

#: a remainder smaller than this (in fen) is binary noise: the amount is a whole fen
_NOISE = 1e-6


def _in_fen(values: Any) -> np.ndarray:
    # remove binary noise first: 1234.5600000001 fen is 1234.56 fen
    return np.round(np.asarray(values, dtype=float) * 100.0, 6)


def _nearest(x: float) -> int:
    """Half a fen rounds away from zero."""
    return int(np.sign(x) * np.floor(abs(x) + 0.5))


def fen(values: Any, total: float | None = None) -> np.ndarray:
    """Amounts in yuan rounded to whole fen (分, 0.01 yuan), returned as integer fen, so that
    they sum exactly to ``total`` (default: the sum of ``values``) rounded to the fen (half a
    fen away from zero).

    The largest-remainder method: every amount is first rounded down to the fen; the fen
    still missing from the rounded total go one each to the amounts with the largest
    remainders (ties to the earlier row). No amount moves by a fen or more, and the rounded
    amounts reconcile with the total to the fen."""
    x = _in_fen(values)
    if x.size == 0:
        return np.zeros(0, dtype=np.int64)
    floor = np.floor(x)
    want = float(x.sum()) if total is None else round(float(total) * 100.0, 6)
    target = _nearest(want)
    missing = int(target - floor.sum())
    if not 0 <= missing <= x.size:
        raise ValueError(f"a total of {target} fen cannot be reached from these amounts")
    order = np.argsort(-(x - floor), kind="stable")
    out = floor.astype(np.int64)
    out[order[:missing]] += 1
    return out


def fen_table(parts: Any, totals: Any) -> tuple[np.ndarray, np.ndarray]:
    """A table of amounts in yuan (rows × columns) whose rows add up to ``totals`` (yuan, one
    per row) rounded to whole fen so that **every row still adds up to its total and every
    column to its total**: returns ``(parts, totals)`` in integer fen.

    The largest-remainder method in two dimensions (controlled rounding): each amount is
    rounded down or up to the fen, never further, so it moves by less than a fen. The totals
    are rounded by :func:`fen` (their sum is the grand total to the nearest fen); each
    column's total is the column's true total rounded by :func:`fen` to that grand total; the
    amounts rounded up are then those that add up to these row and column totals with the
    largest sum of remainders — a transportation problem, whose constraint matrix is totally
    unimodular, solved exactly as an integer program (HiGHS through
    :func:`scipy.optimize.milp`). Where those row and column totals cannot be met together,
    the column totals may each take the other side of their true total (less than a fen from
    it), and failing that the row totals too — a rounding that always exists for a
    two-way table (Cox 1987, controlled rounding), the grand total kept in every case.

    Raises ``ValueError`` when the rows do not add up to their totals (to a thousandth of a
    fen): the identity must hold before it is rounded."""
    x = _in_fen(parts)
    if x.ndim != 2:
        raise ValueError("parts must be a table: rows × columns")
    t = _in_fen(totals).reshape(-1)
    n, k = x.shape
    if t.shape != (n,):
        raise ValueError("one total per row")
    gap = np.abs(x.sum(axis=1) - t)
    if n and float(gap.max()) > 1e-3 + 1e-12 * float(np.abs(t).max()):
        i = int(np.argmax(gap))
        raise ValueError(f"row {i}: the parts add up to {x[i].sum() / 100:.6f}, "
                         f"not to its total {t[i] / 100:.6f}")
    if n == 0:
        return np.zeros((0, k), dtype=np.int64), np.zeros(0, dtype=np.int64)
    rows = fen(t / 100.0)
    cols = fen(x.sum(axis=0) / 100.0, total=int(rows.sum()) / 100.0)
    low = np.floor(x)
    frac = x - low
    free = frac > _NOISE
    low = np.where(free, low, np.round(x)).astype(np.int64)   # whole fen stay as they are
    frac = np.where(free, frac, 0.0)
    need = rows - low.sum(axis=1)
    col_frac = frac.sum(axis=0)
    lo, hi = np.floor(col_frac + _NOISE), np.ceil(col_frac - _NOISE)
    up = None
    if np.all((need >= 0) & (need <= free.sum(axis=1))):
        up = _by_rows(frac, free, need)
        for c_lo, c_hi in ((cols - low.sum(axis=0),) * 2, (lo, hi)):
            if _to_columns(up, frac, free, c_lo, c_hi):
                break
        else:
            up = None
    if up is None:   # rows and columns relaxed together
        up = _round_up(frac, free, lo, hi, int(rows.sum() - low.sum()))
    out = low + up
    return out, out.sum(axis=1)


def _by_rows(frac: np.ndarray, free: np.ndarray, need: np.ndarray) -> np.ndarray:
    """0/1 per cell: in each row the ``need`` free cells with the largest remainders (ties to
    the earlier column) rounded up."""
    order = np.argsort(-np.where(free, frac, -1.0), axis=1, kind="stable")
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(frac.shape[1])[None, :], axis=1)
    return ((rank < need[:, None]) & free).astype(np.int64)


def _to_columns(up: np.ndarray, frac: np.ndarray, free: np.ndarray, c_lo: np.ndarray,
                c_hi: np.ndarray) -> bool:
    """Move rounded-up fen within rows, from columns above their bounds to columns below
    theirs, each time along the cheapest path (the smallest loss of remainders: successive
    shortest paths over the columns), until every column's count of fen rounded up lies in
    ``[c_lo, c_hi]``; ``up`` is changed in place. False when no move is left."""
    n, k = up.shape
    big = np.inf
    for _ in range(n * k + 1):
        s = up.sum(axis=0)
        if np.all((s >= c_lo) & (s <= c_hi)):
            return True
        if np.any(s > c_hi):
            source, sink = s > c_hi, s < c_hi
        else:
            source, sink = s > c_lo, s < c_lo
        # cost[p, q]: the least remainder lost moving one fen from column p to q in a row
        cost = np.full((k, k), big)
        via = np.zeros((k, k), dtype=np.int64)
        down = free & (up == 0)
        for p in range(k):
            has = up[:, p] == 1
            if not has.any():
                continue
            loss = np.where(has[:, None] & down, frac[:, p, None] - frac, big)
            best = np.argmin(loss, axis=0)
            cost[p] = loss[best, np.arange(k)]
            via[p] = best
        dist = np.where(source, 0.0, big)
        prev = np.full(k, -1)
        for _ in range(k):   # Bellman-Ford over k columns
            cand = dist[:, None] + cost
            q_best = np.argmin(cand, axis=0)
            better = cand[q_best, np.arange(k)] < dist - 1e-12
            if not better.any():
                break
            dist = np.where(better, cand[q_best, np.arange(k)], dist)
            prev = np.where(better, q_best, prev)
        ends = np.flatnonzero(sink & np.isfinite(dist))
        if len(ends) == 0:
            return False
        q = int(ends[np.argmin(dist[ends])])
        for _ in range(k):   # back along the path to a source
            p = int(prev[q])
            if p < 0:
                break
            i = int(via[p, q])
            up[i, p], up[i, q] = 0, 1
            q = p
    return False


def _round_up(frac: np.ndarray, free: np.ndarray, c_lo: np.ndarray, c_hi: np.ndarray,
              grand: int) -> np.ndarray:
    """0/1 per cell (1: rounded up), only where ``free``: each row and column adds up to its
    remainders rounded down or up (columns within ``[c_lo, c_hi]``), ``grand`` in all, with
    the largest sum of remainders — an integer program (a last resort: slow on large
    tables, met only where the row-first rounding cannot reach the column totals)."""
    n, k = frac.shape
    ii, jj = np.nonzero(free)
    m = len(ii)
    if m == 0:
        return np.zeros((n, k), dtype=np.int64)
    var = np.arange(m)
    by_row = csr_matrix((np.ones(m), (ii, var)), shape=(n, m))
    by_col = csr_matrix((np.ones(m), (jj, var)), shape=(k, m))
    row_frac = frac.sum(axis=1)
    constraints = [LinearConstraint(by_row, np.floor(row_frac + _NOISE),
                                    np.ceil(row_frac - _NOISE)),
                   LinearConstraint(by_col, c_lo, c_hi),
                   LinearConstraint(np.ones((1, m)), grand, grand)]
    res = milp(-frac[ii, jj], constraints=constraints, integrality=np.ones(m),
               bounds=Bounds(0, 1))
    if res.status != 0 or res.x is None:   # pragma: no cover - a two-way table always has one
        raise ValueError("no rounding to the fen keeps these rows and columns")
    out = np.zeros((n, k), dtype=np.int64)
    out[ii, jj] = np.round(res.x).astype(np.int64)
    return out
