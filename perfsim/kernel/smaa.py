"""SMAA-2: stochastic multicriteria acceptability analysis (Lahdelma & Salminen 2001).

``Y`` is shaped (units m, indicators n): values higher = better (perfsim passes the leaves'
attainment). Weight vectors w (shares, Σ w = 1) are drawn uniformly from the admissible set —
the whole simplex (Dirichlet(1, …, 1)) or, with :class:`perfsim.kernel.bod.Bounds`, the part of
it within the share bounds per indicator and group (rejection sampling from the uniform simplex,
exactly uniform, when bounds keep at least 5% of it; else hit-and-run, see
:func:`sample_weights`). For each draw each unit's score is w · y_i
and its rank is 1 + the number of units with a higher score (equal scores — only identical
units — are ordered by position). Then:

``acceptability[i, r]``
    the rank acceptability index b_i^{r+1}: the share of draws in which unit i holds rank r + 1;
``central_weights[i]``
    the mean weight vector over the draws in which unit i ranks first (NaN if it never does);
``expected_rank[i]``
    Σ_r r · b_i^r.

All weights are drawn first from the given ``numpy.random.Generator`` (or seed), then the
scores are computed in chunks of draws: the numbers depend only on the seed and the number of
draws, never on ``chunk``.

Two more sources of uncertainty, both off by default (the draws above are then unchanged):

``noise``
    uncertainty in the indicator **values**: in each draw every value is multiplied by
    1 + u, u uniform on [−noise, +noise], independently per unit, indicator and draw (a
    relative measurement error of up to ``noise``); drawn after all the weights.
``exclude``
    indicator exclusion as an uncertainty factor: with probability ``exclude`` a draw drops
    one indicator, chosen uniformly; its weight is set to 0 and the others rescaled in
    proportion to add up to 1 again (as an indicator system rescales the points of a leaf it
    removes). Drawn after the weights (and before the value noise); the rescaled weights may
    leave the share bounds.

``rank_quantiles(q)`` gives each unit's rank quantiles (e.g. 5th, 50th, 95th percentile: a
rank interval) exactly from the rank acceptability (the smallest rank r with
Σ_{k<=r} b_i^k >= q). Confidence factors and holistic acceptability indices are in
:mod:`perfsim.kernel.smaa2`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import linprog

from perfsim.errors import InputError
from perfsim.kernel.bod import Bounds, check_bounds

__all__ = ["SMAAResult", "excluded_weights", "hit_and_run", "noisy_values", "rank_quantiles",
           "sample_weights", "smaa"]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class SMAAResult:
    """See the module docstring; ``weights`` are the draws (draws, n)."""

    acceptability: FloatArray
    central_weights: FloatArray
    expected_rank: FloatArray
    weights: FloatArray
    noise: float = 0.0
    exclude: float = 0.0

    def rank_quantiles(self, q: ArrayLike) -> NDArray[np.int64]:
        """Rank quantiles (units, len(q)) from the rank acceptability: for each unit and
        each q in (0, 1], the smallest rank r (1 = best) with Σ_{k<=r} b^k >= q."""
        return rank_quantiles(self.acceptability, q)


def rank_quantiles(acceptability: ArrayLike, q: ArrayLike) -> NDArray[np.int64]:
    """The smallest rank r (1 = best) with Σ_{k<=r} b^k >= q, per unit (rows of
    ``acceptability``) and per q (columns of the result)."""
    acc = np.asarray(acceptability, dtype=float)
    qs = np.atleast_1d(np.asarray(q, dtype=float))
    if not np.all((qs > 0) & (qs <= 1)):
        raise InputError(where="SMAA", field="quantile", value=float(qs[(qs <= 0) | (qs > 1)][0]),
                         problem="must be a share in (0, 1]")
    cum = np.cumsum(acc, axis=1)
    out = np.empty((acc.shape[0], qs.size), dtype=np.int64)
    for k, v in enumerate(qs):
        out[:, k] = np.minimum((cum < v - 1e-12).sum(axis=1), acc.shape[1] - 1) + 1
    return out


def _generator(rng: np.random.Generator | int | None) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or (isinstance(rng, int | np.integer) and not isinstance(rng, bool)):
        return np.random.default_rng(rng)
    raise InputError(where="SMAA", field="seed", value=repr(rng)[:60],
                     problem="must be a whole number or a numpy.random.Generator")


def _admissible(W: FloatArray, b: Bounds) -> NDArray[np.bool_]:
    ok = ((W >= b.lower - 1e-12) & (W <= b.upper + 1e-12)).all(axis=1)
    G = len(b.group_codes)
    member = np.zeros((b.lower.size, G))
    member[np.arange(b.lower.size), b.group] = 1.0
    tot = W @ member
    return ok & ((tot >= b.group_lower - 1e-12) & (tot <= b.group_upper + 1e-12)).all(axis=1)


def _constraints(b: Bounds) -> tuple[FloatArray, FloatArray]:
    """Rows A, c with A s <= c for the share bounds (s >= 0 included)."""
    n = b.lower.size
    eye = np.eye(n)
    member = np.zeros((len(b.group_codes), n))
    member[b.group, np.arange(n)] = 1.0
    A = np.vstack([-eye, eye, -member, member])
    c = np.concatenate([-b.lower, b.upper, -b.group_lower, b.group_upper])
    return A, c


def hit_and_run(bounds: Bounds, draws: int, gen: np.random.Generator, *, chains: int = 256,
                burn: int | None = None, thin: int | None = None,
                source: str | None = None) -> FloatArray:
    """``draws`` share vectors approximately uniform on the shares within ``bounds``, by
    hit-and-run (Smith 1984; as the ``hitandrun`` package used with SMAA): ``chains`` chains
    run side by side from the polytope's Chebyshev centre; each step draws a random direction
    in the plane Σ s = 1 and a uniform point on the chord through the current point. After
    ``burn`` steps (default 50 × n) every ``thin``-th step (default n) is kept."""
    n = bounds.lower.size
    A, c = _constraints(bounds)
    # orthonormal basis of {x : Σ x = 0}: s = s0 + B z
    q, _ = np.linalg.qr(np.column_stack([np.ones(n), np.eye(n)[:, : n - 1]]))
    B = q[:, 1:]
    s0 = np.full(n, 1.0 / n)
    AB = A @ B
    # rows constant on the plane Σ s = 1 (a group holding every indicator) were checked by
    # check_bounds and carry no direction: drop them
    keep = np.linalg.norm(AB, axis=1) > 1e-12
    A, c, AB = A[keep], c[keep], AB[keep]
    rhs = c - A @ s0
    norms = np.linalg.norm(AB, axis=1)
    res = linprog(np.r_[np.zeros(n - 1), -1.0], A_ub=np.column_stack([AB, norms]), b_ub=rhs,
                  bounds=[(None, None)] * (n - 1) + [(0, None)], method="highs")
    if res.status != 0 or res.x[-1] <= 1e-12:
        raise InputError(source, "SMAA", "bounds", problem="the bounds leave no room to vary "
                         "the weights (an empty or flat set); widen them")
    z = np.tile(res.x[:-1], (chains, 1))
    burn = 50 * n if burn is None else burn
    thin = n if thin is None else thin
    per_chain = -(-int(draws) // chains)
    out = np.empty((per_chain, chains, n))
    kept = 0
    step = 0
    while kept < per_chain:
        d = gen.standard_normal((chains, n - 1))
        d /= np.linalg.norm(d, axis=1, keepdims=True)
        slack = rhs - z @ AB.T  # (chains, rows) >= 0
        ad = d @ AB.T
        with np.errstate(divide="ignore", invalid="ignore"):
            t = slack / ad
        hi = np.where(ad > 1e-15, t, np.inf).min(axis=1)
        lo = np.where(ad < -1e-15, t, -np.inf).max(axis=1)
        z = z + (lo + (hi - lo) * gen.random(chains))[:, None] * d
        step += 1
        if step > burn and (step - burn) % thin == 0:
            out[kept] = s0 + z @ B.T
            kept += 1
    W = np.clip(out.reshape(-1, n)[: int(draws)], 0.0, None)
    return W / W.sum(axis=1, keepdims=True)


def sample_weights(n_indicators: int, draws: int, rng: np.random.Generator | int | None,
                   bounds: Bounds | None = None, *, source: str | None = None) -> FloatArray:
    """``draws`` weight vectors uniform on the simplex of ``n_indicators`` shares
    (Dirichlet(1, …, 1)), or on its part within ``bounds``: by rejection from the uniform
    simplex (exactly uniform) when a pilot of 10,000 draws finds at least 5% admissible, else
    by :func:`hit_and_run` (uniform in the limit). Bounds no weights meet raise a one-line
    :class:`InputError` naming the indicator or group and the bound."""
    if isinstance(draws, bool) or not isinstance(draws, int | np.integer) or draws < 1:
        raise InputError(source, "SMAA", "draws", draws, "must be a whole number >= 1")
    gen = _generator(rng)
    alpha = np.ones(n_indicators)
    if bounds is None:
        return gen.dirichlet(alpha, size=int(draws))
    check_bounds(bounds, source)
    pilot = gen.dirichlet(alpha, size=10_000)
    ok = _admissible(pilot, bounds)
    if ok.mean() < 0.05:
        return hit_and_run(bounds, int(draws), gen, source=source)
    out = [pilot[ok]]
    have = int(ok.sum())
    batch = max(int(draws), 10_000)
    while have < draws:
        W = gen.dirichlet(alpha, size=batch)
        keep = W[_admissible(W, bounds)]
        out.append(keep)
        have += len(keep)
    return np.vstack(out)[: int(draws)]


def _share_option(value: float, name: str, source: str | None, upper: float) -> float:
    if (isinstance(value, bool) or not isinstance(value, int | float | np.floating)
            or not np.isfinite(value) or not 0 <= value <= upper):
        raise InputError(source, "SMAA", name, value, f"must be a share in [0, {upper:g}]")
    return float(value)


def excluded_weights(W: FloatArray, exclude: float, gen: np.random.Generator) -> FloatArray:
    """``W`` (draws, n) with, in each draw with probability ``exclude``, one indicator (chosen
    uniformly) dropped and the other weights rescaled in proportion to add up to 1 (a draw
    whose other weights are all 0 keeps its weights)."""
    d, n = W.shape
    hit = gen.random(d) < exclude
    which = gen.integers(0, n, size=d)
    if n < 2 or not hit.any():
        return W
    out = W.copy()
    rows = np.flatnonzero(hit)
    out[rows, which[rows]] = 0.0
    total = out.sum(axis=1, keepdims=True)
    ok = total[:, 0] > 0
    out[ok] /= total[ok]
    out[~ok] = W[~ok]
    return out


def noisy_values(y: FloatArray, draws: int, noise: float, gen: np.random.Generator
                 ) -> FloatArray:
    """``draws`` copies of ``y`` (m, n), each value times 1 + u with u uniform on
    [−noise, +noise]: shape (draws, m, n)."""
    return y[None, :, :] * (1.0 + gen.uniform(-noise, noise, size=(draws, *y.shape)))


def smaa(Y: ArrayLike, draws: int = 10_000, rng: np.random.Generator | int | None = None,
         bounds: Bounds | None = None, *, chunk: int = 512, noise: float = 0.0,
         exclude: float = 0.0, source: str | None = None,
         rows: Sequence[int] | None = None) -> SMAAResult:
    """SMAA-2 rank acceptability indices and central weights of the units of ``Y`` (m, n) under
    uniform weights (``bounds=None``) or uniform weights within ``bounds``; ``draws`` weight
    vectors from ``rng`` (a Generator or a seed); optional relative ``noise`` on the values and
    indicator exclusion with probability ``exclude`` per draw. See the module docstring. Cells
    without a value must already hold what their leaf's missing-value policy gives them (the
    resolved attainment): NaN is refused naming the row (``rows``: the caller's numbering)."""
    y = np.asarray(Y, dtype=float)
    if y.ndim != 2 or y.shape[0] < 1 or y.shape[1] < 1:
        raise InputError(source, "SMAA", "Y shape", y.shape, "must be 2-D: (units, indicators)")
    bad = np.argwhere(~np.isfinite(y))
    if bad.size:
        i, j = (int(k) for k in bad[0])
        at = f"row {rows[i]}" if rows is not None else f"unit row {i + 1}"
        raise InputError(source, f"SMAA, {at}", f"column {j + 1}", float(y[i, j]),
                         "must be a finite number")
    if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1:
        raise InputError(source, "SMAA", "chunk", chunk, "must be a whole number >= 1")
    m, n = y.shape
    if bounds is not None and bounds.lower.size != n:
        raise InputError(source, "SMAA", "bounds", bounds.lower.size,
                         f"give bounds for the {n} indicators")
    noise = _share_option(noise, "noise", source, 1.0)
    exclude = _share_option(exclude, "exclude", source, 1.0)
    gen = _generator(rng)
    W = sample_weights(n, draws, gen, bounds, source=source)
    if exclude > 0:
        W = excluded_weights(W, exclude, gen)
    # one seed per draw for its values: the same numbers whatever the chunk
    value_seeds = gen.integers(0, 2**63, size=len(W)) if noise > 0 else None
    counts = np.zeros(m * m, dtype=np.int64)
    first = np.empty(len(W), dtype=np.int64)
    cols = np.arange(m)
    for start in range(0, len(W), chunk):
        w = W[start:start + chunk]
        if value_seeds is not None:
            scores = np.stack([noisy_values(y, 1, noise, np.random.default_rng(int(k)))[0] @ wd
                               for k, wd in zip(value_seeds[start:start + chunk], w,
                                                strict=True)])
        else:
            scores = w @ y.T
        order = np.argsort(-scores, axis=1, kind="stable")  # (c, m): units best first
        rank = np.empty_like(order)
        np.put_along_axis(rank, order, np.broadcast_to(cols, order.shape), axis=1)
        counts += np.bincount((cols[None, :] * m + rank).ravel(), minlength=m * m)
        first[start:start + chunk] = order[:, 0]
    acc = counts.reshape(m, m) / len(W)
    first_n = np.bincount(first, minlength=m)  # over all draws at once: chunk-free sums
    first_sum = np.column_stack([np.bincount(first, weights=W[:, j], minlength=m)
                                 for j in range(n)])
    with np.errstate(invalid="ignore", divide="ignore"):
        central = np.where(first_n[:, None] > 0, first_sum / first_n[:, None], np.nan)
    expected = acc @ np.arange(1, m + 1)
    return SMAAResult(acc, central, expected, W, noise, exclude)
