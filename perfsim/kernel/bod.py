"""Benefit-of-the-doubt (BoD) composite scores: each unit's most favourable weights.

``Y`` is shaped (units m, indicators n): normalised values >= 0, higher = better (perfsim
passes the leaves' attainment, the share of each leaf's points earned). For each unit i the
BoD score (Cherchye, Moesen, Rogge & Van Puyenbroeck 2007; Compind's ``ci_bod``) is the linear
programme

    maximise   Σ_j w_j y_ij
    subject to Σ_j w_j y_kj <= 1   for every unit k        (no unit scores above 1)
               w_j >= 0

so a unit scores 1 if some admissible weights make it the best, and less otherwise. Without
restrictions a unit may put all weight on its single best indicator; the usual restrictions
bound each indicator's **share** of the weight, s_j = w_j / Σ_k w_k, and each group's share:

    lower_j <= s_j <= upper_j,      group_lower_g <= Σ_{j in g} s_j <= group_upper_g,

which are linear in w (``lower_j Σ_k w_k − w_j <= 0`` ...). The weights returned are these
shares (rows adding up to 1).

Solved with ``scipy.optimize.linprog`` (HiGHS), units in fixed batches of
:data:`BATCH` independent blocks per call (a block-diagonal programme whose optimum is each
block's optimum). Constraints of units dominated by another unit (no better on any indicator,
worse on one) are implied and dropped, and so are those of units that are not efficient
(score below 1): for any admissible weights the unit with the highest weighted sum is
efficient, so only efficient units' constraints can bind. Bounds that admit no weights at all
raise an :class:`~perfsim.errors.InputError` naming the indicator (or group) and the bound that
cannot be met.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import sparse
from scipy.optimize import linprog

from perfsim.errors import InputError

__all__ = ["BATCH", "BoDResult", "Bounds", "bod", "check_bounds", "non_dominated"]

FloatArray = NDArray[np.float64]

#: Units solved per linprog call (fixed, so results never depend on a chunk size).
BATCH = 128
_TOL = 1e-9


@dataclass(frozen=True)
class Bounds:
    """Share bounds: ``lower``/``upper`` per indicator (n,), ``group`` index per indicator
    (n,) into ``group_lower``/``group_upper`` (G,); ``codes`` and ``group_codes`` name them."""

    lower: FloatArray
    upper: FloatArray
    group: NDArray[np.int64]
    group_lower: FloatArray
    group_upper: FloatArray
    codes: tuple[str, ...]
    group_codes: tuple[str, ...]

    @classmethod
    def free(cls, n: int, codes: Sequence[str] | None = None) -> Bounds:
        """No restriction beyond w >= 0 (one group holding every indicator)."""
        c = tuple(codes) if codes is not None else tuple(f"#{j + 1}" for j in range(n))
        return cls(np.zeros(n), np.ones(n), np.zeros(n, dtype=np.int64), np.zeros(1),
                   np.ones(1), c, ("all",))

    def rows(self) -> tuple[FloatArray, list[str]]:
        """The restrictions as rows R with R w <= 0, and what each row says."""
        n = self.lower.size
        eye = np.eye(n)
        ones = np.ones(n)
        rows, what = [], []
        for j in range(n):
            if self.lower[j] > 0:
                rows.append(self.lower[j] * ones - eye[j])
                what.append(f"indicator {self.codes[j]}: lower bound {self.lower[j]:g}")
            if self.upper[j] < 1:
                rows.append(eye[j] - self.upper[j] * ones)
                what.append(f"indicator {self.codes[j]}: upper bound {self.upper[j]:g}")
        for g, code in enumerate(self.group_codes):
            member = (self.group == g).astype(float)
            if self.group_lower[g] > 0:
                rows.append(self.group_lower[g] * ones - member)
                what.append(f"group {code}: lower bound {self.group_lower[g]:g}")
            if self.group_upper[g] < 1:
                rows.append(member - self.group_upper[g] * ones)
                what.append(f"group {code}: upper bound {self.group_upper[g]:g}")
        return (np.array(rows) if rows else np.zeros((0, n))), what


@dataclass(frozen=True)
class BoDResult:
    """``scores`` (m,) in [0, 1]; ``weights`` (m, n) each unit's weight shares."""

    scores: FloatArray
    weights: FloatArray


def _feasible_share(R: FloatArray, n: int) -> FloatArray | None:
    """A share vector s (Σ s = 1, s >= 0, R s <= 0), or None if there is none."""
    res = linprog(np.zeros(n), A_ub=R if R.size else None, b_ub=np.zeros(len(R)) if R.size
                  else None, A_eq=np.ones((1, n)), b_eq=[1.0], bounds=(0, None), method="highs")
    return res.x if res.status == 0 else None


def check_bounds(b: Bounds, source: str | None = None) -> FloatArray:
    """Check that the bounds admit weights; returns one admissible share vector.

    Raises :class:`InputError` naming the indicator or group and the bound: a lower bound above
    its upper bound, lower bounds adding up to more than 1, upper bounds to less than 1, or
    (found by relaxing one bound at a time) the bound that makes the set empty."""
    n = b.lower.size
    for j in range(n):
        for name, v in (("lower", b.lower[j]), ("upper", b.upper[j])):
            if not (np.isfinite(v) and 0 <= v <= 1):
                raise InputError(source, f"bounds, indicator {b.codes[j]}", name, float(v),
                                 "must be a share in [0, 1]")
        if b.lower[j] > b.upper[j]:
            raise InputError(source, f"bounds, indicator {b.codes[j]}", "lower",
                             float(b.lower[j]), f"above its upper bound {b.upper[j]:g}")
    for g, code in enumerate(b.group_codes):
        if b.group_lower[g] > b.group_upper[g]:
            raise InputError(source, f"bounds, group {code}", "lower", float(b.group_lower[g]),
                             f"above its upper bound {b.group_upper[g]:g}")
    if b.lower.sum() > 1 + _TOL:
        j = int(np.argmax(b.lower))
        raise InputError(source, f"bounds, indicator {b.codes[j]}", "lower", float(b.lower[j]),
                         f"the lower bounds add up to {b.lower.sum():g} > 1; no weights can "
                         "meet them")
    if b.upper.sum() < 1 - _TOL:
        j = int(np.argmin(b.upper))
        raise InputError(source, f"bounds, indicator {b.codes[j]}", "upper", float(b.upper[j]),
                         f"the upper bounds add up to {b.upper.sum():g} < 1; no weights can "
                         "meet them")
    R, what = b.rows()
    s = _feasible_share(R, n)
    if s is not None:
        return s
    raise _conflict(R, what, n, source)


def _conflict(R: FloatArray, what: list[str], n: int, source: str | None) -> InputError:
    """The error for bounds that admit no weights. The bounds that conflict are found as a
    minimal set that still admits none (drop each bound whose removal leaves the rest
    infeasible); in it, the bounds that raise shares (lower bounds) face those that cap them
    (upper bounds). The bound named is the one standing alone against the others — the one
    set too tight for them — (the side with fewer bounds; a group's bound when each side has
    one); when all are of one kind (together they exceed the whole) the first of them. The
    line lists the others it meets and the value at which they admit it (the least
    relaxation of it alone, a linear programme)."""
    keep = list(range(len(R)))
    for k in range(len(R)):
        trial = [i for i in keep if i != k]
        if _feasible_share(R[trial], n) is None:
            keep = trial
    if not keep:   # pragma: no cover - the full set was infeasible, so one bound stays
        return InputError(source, "bounds", problem="no weights satisfy the bounds together")
    lower = [k for k in keep if "lower bound" in what[k]]
    upper = [k for k in keep if "upper bound" in what[k]]
    if lower and upper:   # the one standing alone against the others
        side = min(lower, upper, key=len)
        groups = [k for k in side if what[k].startswith("group ")]
        k = (groups or side)[0]
    else:   # bounds of one kind that together exceed the whole: the first of them
        k = keep[0]
    place, bound = what[k].split(": ", 1)
    name, value = bound.rsplit(" ", 1)
    others = [what[i].replace(": ", " ").replace(" bound", "") for i in keep if i != k]
    if not (lower and upper):
        others.append("the shares adding up to 1")
    t = _relaxation(R, k, n)
    v = float(value)
    problem = (f"cannot be met together with the bounds it meets ({', '.join(others)}): too "
               "tight, no weights satisfy them all; relax it")
    if t is not None:
        problem = (f"cannot be met together with the bounds it meets ({', '.join(others)}): "
                   "too tight, no weights satisfy them all; they admit it at "
                   f"{v - t if 'lower' in name else v + t:.4g}; relax it")
    return InputError(source, f"bounds, {place}", name.replace(" bound", ""), v, problem)


def _relaxation(R: FloatArray, k: int, n: int) -> float | None:
    """How far bound ``k`` must move for the other bounds to admit weights: the least t with
    R_k s <= t over the shares s the others admit (R_k s is l − share for a lower bound l,
    share − u for an upper bound u: the bound met at l − t, u + t)."""
    rest = np.delete(R, k, axis=0)
    A = np.hstack([np.vstack([rest, R[k:k + 1]]),
                   np.concatenate([np.zeros(len(rest)), [-1.0]])[:, None]])
    res = linprog(np.concatenate([np.zeros(n), [1.0]]), A_ub=A, b_ub=np.zeros(len(A)),
                  A_eq=np.concatenate([np.ones(n), [0.0]])[None, :], b_eq=[1.0],
                  bounds=[(0, None)] * n + [(None, None)], method="highs")
    if res.status != 0:
        return None
    return float(res.x[-1])



def non_dominated(Y: ArrayLike, chunk: int = 256) -> NDArray[np.bool_]:
    """Units not dominated by another (no other unit is >= on every indicator and > on one);
    duplicates keep their first copy. Vectorised in chunks of ``chunk`` units."""
    y = np.asarray(Y, dtype=float)
    m = y.shape[0]
    keep = np.ones(m, dtype=bool)
    idx = np.arange(m)
    for start in range(0, m, chunk):
        block = y[start:start + chunk]  # (b, n)
        ge = (y[None, :, :] >= block[:, None, :]).all(axis=2)  # (b, m): k >= i everywhere
        gt = (y[None, :, :] > block[:, None, :]).any(axis=2)
        eq = ~gt & ge
        rows = idx[start:start + chunk]
        dominated = (ge & gt).any(axis=1) | (eq & (idx[None, :] < rows[:, None])).any(axis=1)
        keep[start:start + chunk] = ~dominated
    return keep


def _solve(y: FloatArray, peers: FloatArray, R: FloatArray, fallback: FloatArray,
           source: str | None) -> tuple[FloatArray, FloatArray]:
    """Scores and weight shares of the units ``y`` against the constraint rows ``peers``."""
    A = sparse.csr_matrix(np.vstack([peers, R]))
    rhs = np.concatenate([np.ones(len(peers)), np.zeros(len(R))])
    return solve_batches(y, lambda block: sparse.kron(sparse.eye(len(block)), A, format="csr"),
                         rhs, fallback, "benefit of the doubt", source)


def solve_batches(y: FloatArray, constraints: Callable[[FloatArray], sparse.csr_matrix],
                  rhs: FloatArray, fallback: FloatArray, what: str, source: str | None
                  ) -> tuple[FloatArray, FloatArray]:
    """Scores and weight shares of the units ``y`` (m, n), :data:`BATCH` units per
    ``linprog`` call: maximise Σ_j w_ij y_ij for each unit i of a batch subject to the
    block-diagonal ``constraints(batch)`` <= ``rhs`` (each unit's rows, repeated), w >= 0.
    A unit's weights are normalised to add up to 1 (``fallback`` where the optimum is
    w = 0); a failed programme (only numerics: the programmes are feasible and bounded) is
    one error naming the units."""
    m, n = y.shape
    scores = np.empty(m)
    weights = np.empty((m, n))
    for start in range(0, m, BATCH):
        block = y[start:start + BATCH]
        k = len(block)
        res = linprog(-block.ravel(), A_ub=constraints(block), b_ub=np.tile(rhs, k),
                      bounds=(0, None), method="highs")
        if res.status != 0:
            raise InputError(source, what, problem=f"the linear programme failed for units "
                                                   f"{start + 1}-{start + k}: {res.message}")
        w = res.x.reshape(k, n)
        scores[start:start + k] = (w * block).sum(axis=1)
        total = w.sum(axis=1, keepdims=True)
        weights[start:start + k] = np.where(total > 0, w / np.where(total > 0, total, 1.0),
                                            fallback)
    return scores, weights


def bod(Y: ArrayLike, bounds: Bounds | None = None, *, source: str | None = None,
        rows: Sequence[int] | None = None) -> BoDResult:
    """Benefit-of-the-doubt scores and weight shares of every unit (see the module docstring).

    ``Y`` (m, n): finite values >= 0, higher = better: a unit's cells without a value must
    already hold what their leaf's missing-value policy gives them (perfsim passes the
    attainment :meth:`perfsim.model.indicators.IndicatorSystem.resolve` scores them with), so
    NaN is refused, naming the row (``rows``: how the caller's file numbers them, else counted
    from 1). ``bounds``: share restrictions (default: none). Returns a :class:`BoDResult`.
    """
    y = np.asarray(Y, dtype=float)
    if y.ndim != 2 or y.shape[0] < 1 or y.shape[1] < 1:
        raise InputError(source, "benefit of the doubt", "Y shape", y.shape,
                         "must be 2-D: (units, indicators)")
    bad = np.argwhere(~np.isfinite(y) | (y < 0))
    if bad.size:
        i, j = (int(k) for k in bad[0])
        at = f"row {rows[i]}" if rows is not None else f"unit row {i + 1}"
        raise InputError(source, f"benefit of the doubt, {at}", f"column {j + 1}",
                         float(y[i, j]), "values must be finite and >= 0")
    m, n = y.shape
    b = bounds if bounds is not None else Bounds.free(n)
    if b.lower.size != n:
        raise InputError(source, "benefit of the doubt", "bounds", b.lower.size,
                         f"give bounds for the {n} indicators")
    fallback = check_bounds(b, source)
    if not (y > 0).any():
        return BoDResult(np.zeros(m), np.tile(fallback, (m, 1)))
    R, _ = b.rows()
    # Only efficient units (score 1) can bind: for any admissible w the unit maximising w · y
    # scores 1. So solve the non-dominated units first, keep the efficient ones as peers.
    cand = y[non_dominated(y) & (y.max(axis=1) > 0)]
    s_cand, _ = _solve(cand, cand, R, fallback, source)
    peers = cand[s_cand >= 1.0 - 1e-7]
    scores, weights = _solve(y, peers, R, fallback, source)
    return BoDResult(np.clip(scores, 0.0, 1.0), weights)


def _check_values(Y: ArrayLike, where: str, source: str | None) -> FloatArray:
    """``Y`` as a 2-D float array of finite values >= 0 (the BoD variants' input check), or a
    one-line :class:`InputError` naming the unit row and column."""
    y = np.asarray(Y, dtype=float)
    if y.ndim != 2 or y.shape[0] < 1 or y.shape[1] < 1:
        raise InputError(source, where, "Y shape", y.shape, "must be 2-D: (units, indicators)")
    bad = np.argwhere(~np.isfinite(y) | (y < 0))
    if bad.size:
        i, j = (int(k) for k in bad[0])
        raise InputError(source, f"{where}, unit row {i + 1}", f"column {j + 1}",
                         float(y[i, j]), "values must be finite and >= 0")
    return y
