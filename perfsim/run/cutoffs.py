"""Grade cutoffs for a target grade distribution, solved as quantile problems (or, in the
Monte Carlo, on the expected shares); see :mod:`perfsim.run.calibrate`."""


from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from perfsim.errors import InputError
from perfsim.kernel.grading import Grading
from perfsim.model.params import (
    Parameter,
)
from perfsim.run.solve import Calibration, Context, solve_scalar


def between_neighbours(cutoffs: Sequence[float], k: int, lo: float, hi: float,
                        gap: float = 0.01) -> tuple[float, float]:
    if k > 0:
        hi = min(hi, cutoffs[k - 1] - gap)
    if k < len(cutoffs) - 1:
        lo = max(lo, cutoffs[k + 1] + gap)
    if lo > hi:
        raise InputError(field="bounds", value=[lo, hi],
                         problem="leave no room between the neighbouring cutoffs")
    return lo, hi


# --- cutoffs for a grade distribution ---------------------------------------------------------

def _cutoff_plan(labels: Sequence[str], shares: Mapping[str, float], free: Sequence[int],
                 scalar: bool) -> list[tuple[int, str, float]]:
    """Which cutoffs the shares fix, in solving order: (boundary k, side, share). Boundary k is
    the lowest score of grade k. ``above``: the share of grade k (just above the boundary) is
    the target, with cutoff k−1 already known; ``below``: the share of grade k+1 is the target,
    with cutoff k+1 known. Boundaries fixed from the top are solved top down, then those fixed
    from the bottom bottom up."""
    G = len(labels)
    t = {labels.index(code): v for code, v in shares.items()}
    above: list[tuple[int, str, float]] = []
    below: list[tuple[int, str, float]] = []
    for k in free:
        if scalar:  # one cutoff, its neighbours fixed: the grade just above or just below
            if k in t:
                above.append((k, "above", t[k]))
            elif k + 1 in t:
                below.append((k, "below", t[k + 1]))
        elif all(j in t for j in range(k + 1)):
            above.append((k, "above", t[k]))
        elif all(j in t for j in range(k + 1, G)):
            below.append((k, "below", t[k + 1]))
    return sorted(above) + sorted(below, reverse=True)


def calibrate_cutoffs(ctx: Context, targets: Mapping[str, float],
                       bounds: tuple[float, float], xtol: float | None) -> Calibration:
    sc = ctx.scenario
    labels = sc.grading.labels.codes
    base = list(sc.grading.cutoffs)
    K = len(base)
    param = ctx.param
    shares: dict[str, float] = {}
    for name, v in targets.items():
        if not name.startswith("share_"):
            raise InputError(field="metric", value=name,
                             problem="grade cutoffs take share targets (valid: "
                                     f"{', '.join('share_' + c for c in labels)})")
        if not 0 <= v <= 1:
            raise InputError(field=f"target {name}", value=v, problem="must be a share in [0, 1]")
        shares[name[len("share_"):]] = float(v)
    if len(shares) == len(labels) and abs(sum(shares.values()) - 1) > 1e-6:
        raise InputError(field="target", value=shares,
                         problem="shares of every grade must add up to 1")
    scalar = param.kind == "cutoff"
    if scalar and len(shares) != 1:
        raise InputError(field="target", value=list(targets),
                         problem=f"{param.path} is one number: give one target")
    plan = _cutoff_plan(labels, shares, [param.index] if scalar else list(range(K)), scalar)
    if not plan:
        if scalar:
            k = param.index
            raise InputError(field="metric", value=next(iter(targets)),
                             problem=f"{param.path} moves only share_{labels[k]} and "
                                     f"share_{labels[k + 1]}: give one of them")
        raise InputError(field="target", value=list(targets),
                         problem="these shares fix no cutoff: give the shares of all grades "
                                 "above a cutoff (e.g. share_excellent) or of all below it "
                                 "(e.g. share_poor)")
    lo, hi = bounds
    cut = list(base)
    binding: list[str] = []
    score = None if ctx.mc else np.sort(np.asarray(sc.scores(), dtype=float))
    for k, side, share in plan:
        a, b = lo, hi
        if k > 0:
            b = min(b, cut[k - 1] - 0.01)
        if k < K - 1:
            a = max(a, cut[k + 1] + 0.01)
        if ctx.mc:
            c, hit = _mc_boundary(ctx, cut, k, side, share, a, b, xtol)
        else:
            c, hit = _quantile_boundary(score, cut, k, side, share, a, b)
        cut[k] = c
        if hit is not None:
            end = a if hit == "lower" else b
            what = (f"{hit} bound {end:g}" if end in (lo, hi) else
                    f"order: it must stay {'above' if hit == 'lower' else 'below'} "
                    f"grading.cutoffs.{labels[k + 1] if hit == 'lower' else labels[k - 1]}")
            binding.append(f"grading.cutoffs.{labels[k]} = {c:g} ({what})")
    if any(x <= y for x, y in zip(cut, cut[1:], strict=False)):
        raise InputError(field="target", value=dict(targets),
                         problem="the solved cutoffs are not strictly descending; give shares "
                                 "that leave every grade room")
    ctx.param = Parameter("grading.cutoffs", "cutoffs", param.valid, "points", "", size=K,
                          total=param.total)
    try:
        at = ctx.evaluate(tuple(cut))
    finally:
        ctx.param = param
    achieved = {f"share_{c}": at[f"share_{c}"][0] for c in labels}
    value: float | tuple[float, ...] = (float(cut[param.index]) if scalar else
                                        tuple(float(c) for c in cut))
    shown = ", ".join(f"{c} ≥ {v:.6g}" for c, v in zip(labels, cut, strict=False))
    got = ", ".join(f"{c} {achieved[f'share_{c}']:.2%}" for c in labels)
    message = (f"cutoffs {shown}; shares {got}" if not binding else
               f"target not attainable: cutoffs {shown}; shares {got}; binding: "
               f"{'; '.join(binding)}")
    return Calibration(
        parameter=param.path, value=value, targets=dict(targets), achieved=achieved,
        feasible=not binding, bounds=(lo, hi), mode=ctx.mode,
        method="brentq" if ctx.mc else "quantile", evaluations=ctx.evaluations,
        binding=tuple(binding),
        band={f"share_{c}": (at[f"share_{c}"][1], at[f"share_{c}"][2]) for c in labels}
        if ctx.mc else {}, message=message,
        details={"cutoffs": {c: float(v) for c, v in zip(labels, cut, strict=False)}})


def _quantile_boundary(s: np.ndarray, cut: Sequence[float], k: int, side: str, share: float,
                       a: float, b: float) -> tuple[float, str | None]:
    """Cutoff k as a quantile of the sorted scores ``s``: the grade next to it holds at most
    ``floor(share × n)`` projects, as many as that allows. Candidates are the midpoints between
    adjacent distinct scores; every cutoff in (the lower score, the higher score] admits the
    same projects, so a midpoint outside [a, b] moves to the bound when the bound still lies in
    its interval, and only otherwise is the bound binding (returned as the binding side)."""
    n = s.size
    u = np.unique(s)
    cand = np.concatenate([[-np.inf], (u[:-1] + u[1:]) / 2, [np.inf]])
    lower = np.concatenate([[-np.inf], u])   # cand[i] admits the same as any c in
    upper = np.concatenate([u, [np.inf]])    # (lower[i], upper[i]]
    below = np.searchsorted(s, cand, side="left")  # projects scoring < c
    own = math.floor(share * n + 1e-9)
    if side == "above":  # grade k = [c, cut[k-1]): at most `own` projects
        allowed = own + (n - int(np.searchsorted(s, cut[k - 1], side="left")) if k > 0 else 0)
        i = int(np.argmax(n - below <= allowed))  # the smallest such cutoff
    else:  # grade k+1 = [cut[k+1], c)
        allowed = own + (int(np.searchsorted(s, cut[k + 1], side="left"))
                         if k + 1 < len(cut) else 0)
        ok = below <= allowed
        i = len(ok) - 1 - int(np.argmax(ok[::-1]))  # the largest such cutoff
    c = float(cand[i])
    if c < a:
        return a, (None if a <= upper[i] else "lower")
    if c > b:
        return b, (None if b > lower[i] else "upper")
    return c, None


def _mc_boundary(ctx: Context, cut: Sequence[float], k: int, side: str, share: float,
                 a: float, b: float, xtol: float | None) -> tuple[float, str | None]:
    """Monte Carlo: cutoff k such that the expected share of the grade next to it (over the
    replications, quotas ignored) equals the target; :func:`solve_scalar` on [a, b]."""
    sc = ctx.scenario
    labels = sc.grading.labels.codes
    plain = sc.replace(grading=Grading(sc.grading.labels, tuple(cut), {}))
    code = labels[k] if side == "above" else labels[k + 1]
    full = Parameter("grading.cutoffs", "cutoffs", ctx.param.valid, "points", "",
                     size=len(cut), total=ctx.param.total)

    def expected(c: float) -> float:
        # cutoffs on the far side are pushed aside to keep the order; they do not move the
        # share of this grade
        trial = [max(v, c + 0.01 * (k - j)) if j < k else min(v, c - 0.01 * (j - k))
                 for j, v in enumerate(cut)]
        trial[k] = c
        saved, ctx.param = ctx.param, full
        try:
            return ctx.evaluate(tuple(trial), plain)[f"share_{code}"][0]
        finally:
            ctx.param = saved

    sol = solve_scalar(expected, share, a, b, xtol=xtol if xtol is not None else 1e-6)
    return float(sol.x), (None if sol.feasible else (sol.binding or "upper"))


