"""Bunching of observed scores at the grade lines: who is pushed over 90, 80 and 60.

Self-evaluated scores pile up just above the cutoffs (90/80/60) when money follows grades:
a project that would score 79 claims 80. The bunching estimator (Chetty, Friedman, Olsen and
Pistaferri 2011; Kleven 2016) measures that pile:

1. the scores are put into bins of ``width`` points;
2. the bin counts outside a window around each cutoff (``below`` points under it, ``above``
   points over it) are fitted by a Poisson regression (statsmodels GLM, log link) on a
   polynomial of degree ``degree`` in the bin's centre — the same fit as one dummy per window
   bin — so the windows do not shape it: exp(polynomial) over every bin is the
   *counterfactual* density, what the counts would be without bunching (a log-polynomial
   follows bell-shaped and skewed score densities with a low degree: a normal density is
   exactly quadratic);
3. the **excess mass** at a cutoff is the count in ``[cutoff, cutoff + above)`` minus the
   counterfactual there; the **missing mass** is the counterfactual minus the count in
   ``[cutoff − below, cutoff)``. Both are also given as a share of all projects, and the excess
   as ``b`` = excess / counterfactual count per point at the cutoff (Kleven's normalised
   bunching, in points: how far, on average, the bunchers moved);
4. intervals come from a nonparametric bootstrap: ``draws`` resamples of the projects (seeded;
   each resample is binned at once; the fits start from the first one).

By department, the excess is the department's count in the window above the cutoff minus its
share of the counterfactual (the portfolio's counterfactual shape scaled by the department's
number of projects): where the pile comes from.

The estimate is descriptive: it says how much mass sits above each line beyond a smooth
density, not why. :func:`perfsim.run` calibrations can set the simulated inflation so that
simulated self-scores reproduce it.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from perfsim.errors import InputError


def _counterfactual(poly: np.ndarray, outside: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Each row of counts ``y`` fitted by a Poisson regression (log link) on the polynomial
    ``poly`` over the bins ``outside`` the windows only (the same fit as one dummy per window
    bin, without dummies that run off to minus infinity where a window bin is empty); the
    counterfactual is exp(poly @ β) over every bin. The first fit starts the others (the
    bootstrap resamples lie close to it)."""
    import statsmodels.api as sm
    from statsmodels.tools.sm_exceptions import PerfectSeparationWarning, SingularMatrixWarning

    out = np.empty_like(y)
    start = None
    x = poly[outside]
    for r in range(y.shape[0]):
        # a polynomial that fits the counts exactly, or bins with hardly any projects (weights
        # near zero in the iterations), are not problems of the estimate
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PerfectSeparationWarning)
            warnings.simplefilter("ignore", SingularMatrixWarning)
            res = sm.GLM(y[r, outside], x, family=sm.families.Poisson()).fit(
                start_params=start)
        if start is None:
            start = res.params
        out[r] = np.exp(poly @ res.params)
    return out


@dataclass(frozen=True)
class Bunching:
    """The result: ``table`` (one row per cutoff: excess and missing mass with bootstrap
    intervals), ``departments`` (excess per department and cutoff), ``bins`` (the counts and
    the fitted counterfactual per bin) and the settings used."""

    table: pd.DataFrame
    departments: pd.DataFrame | None
    bins: pd.DataFrame
    settings: dict[str, Any]


def _check(scores: np.ndarray, cutoffs: Sequence[float], width: float, below: float,
           above: float, degree: int, draws: int, level: float) -> None:
    if scores.ndim != 1 or scores.size < 20:
        raise InputError(where="bunching", field="scores", value=int(scores.size),
                         problem="needs at least 20 scores")
    if not np.all(np.isfinite(scores)):
        raise InputError(where="bunching", field="scores", problem="holds a missing or "
                         "infinite value")
    for name, v in (("width", width), ("below", below), ("above", above)):
        if not (np.isfinite(v) and v > 0):
            raise InputError(where="bunching", field=name, value=v, problem="must be > 0")
    for name, v in (("below", below), ("above", above)):
        if abs(v / width - round(v / width)) > 1e-9:
            raise InputError(where="bunching", field=name, value=v,
                             problem=f"must be a whole number of bins (width {width})")
    if not (isinstance(degree, int | np.integer) and 1 <= degree <= 9):
        raise InputError(where="bunching", field="degree", value=degree,
                         problem="must be a whole number from 1 to 9")
    if not (isinstance(draws, int | np.integer) and draws >= 0):
        raise InputError(where="bunching", field="draws", value=draws,
                         problem="must be a whole number >= 0")
    if not 0 < level < 1:
        raise InputError(where="bunching", field="level", value=level,
                         problem="must be in (0, 1)")
    if not cutoffs:
        raise InputError(where="bunching", field="cutoffs", problem="name at least one")


def bunching(scores: Any, cutoffs: Sequence[float] = (90, 80, 60), *,
             departments: Any = None, width: float = 1.0, below: float = 3.0,
             above: float = 2.0, degree: int = 5, low: float | None = None,
             high: float | None = None, draws: int = 200, level: float = 0.95,
             seed: int = 0) -> Bunching:
    """Excess mass of ``scores`` just above each cutoff, against a polynomial counterfactual
    fitted on the bins outside the windows ``[cutoff − below, cutoff + above)``.

    ``low``/``high`` bound the fitted range (default: the scores' range, whole bins); scores
    outside it are ignored. ``departments`` (one label per score) adds the department table.
    """
    x = np.asarray(scores, dtype=float).ravel()
    cuts = sorted(float(c) for c in cutoffs)
    _check(x, cuts, width, below, above, degree, draws, level)
    lo = np.floor((x.min() if low is None else low) / width) * width
    hi = np.ceil(((x.max() if high is None else high) + 1e-9) / width) * width
    edges = lo + width * np.arange(int(round((hi - lo) / width)) + 1)
    # a score exactly at the top edge (100) falls into the last bin
    keep = (x >= lo) & (x <= hi)
    x = x[keep]
    deps = None if departments is None else np.asarray(departments, dtype=object).ravel()
    if deps is not None:
        if deps.size != keep.size:
            raise InputError(where="bunching", field="departments", value=int(deps.size),
                             problem=f"needs one label per score ({keep.size})")
        deps = deps[keep]
    nbins = edges.size - 1
    idx = np.minimum(((x - lo) / width + 1e-9).astype(np.int64), nbins - 1)
    centre = lo + width * (np.arange(nbins) + 0.5)

    # the windows: bins in [c - below, c) are "missing", bins in [c, c + above) "excess"
    start = lo + width * np.arange(nbins)
    windows = []
    for c in cuts:
        if not (lo <= c - below and c + above <= hi):
            raise InputError(where="bunching", field="cutoffs", value=c,
                             problem=f"its window does not fit in the range [{lo}, {hi}]")
        under = (start >= c - below - 1e-9) & (start < c - 1e-9)
        over = (start >= c - 1e-9) & (start < c + above - 1e-9)
        windows.append((c, under, over))
    inside = np.zeros(nbins, dtype=bool)
    for _, under, over in windows:
        inside |= under | over
    if nbins - inside.sum() <= degree + 1:
        raise InputError(where="bunching", field="degree", value=degree,
                         problem="too few bins outside the windows to fit it")

    # the polynomial in the standardised bin centre, fitted on the bins outside the windows
    z = (centre - centre.mean()) / (centre.std() or 1.0)
    poly = np.vander(z, degree + 1, increasing=True)

    rng = np.random.default_rng(seed)
    n = x.size
    counts = np.bincount(idx, minlength=nbins).astype(float)
    if draws:
        resampled = idx[rng.integers(0, n, (draws, n))]
        offsets = np.arange(draws)[:, None] * nbins
        boot = np.bincount((resampled + offsets).ravel(),
                           minlength=draws * nbins).reshape(draws, nbins).astype(float)
        y = np.vstack([counts, boot])
    else:
        y = counts[None]
    counterfactual = _counterfactual(poly, ~inside, y)         # (1 + draws, bins)

    alpha = (1 - level) / 2
    rows = []
    for c, under, over in windows:
        excess = (y[:, over] - counterfactual[:, over]).sum(axis=1)
        missing = (counterfactual[:, under] - y[:, under]).sum(axis=1)
        per_point = counterfactual[:, over].sum(axis=1) / above
        with np.errstate(divide="ignore", invalid="ignore"):
            b = np.where(per_point > 0, excess / per_point, np.nan)
        row = {"cutoff": c, "excess": excess[0], "missing": missing[0],
               "excess_share": excess[0] / n, "b_points": b[0]}
        for name, v in (("excess", excess), ("missing", missing), ("b_points", b)):
            if draws:
                row[f"{name}_low"], row[f"{name}_high"] = np.nanquantile(
                    v[1:], [alpha, 1 - alpha])
            else:
                row[f"{name}_low"] = row[f"{name}_high"] = np.nan
        rows.append(row)
    table = pd.DataFrame(rows).sort_values("cutoff", ascending=False, ignore_index=True)

    dep_table = None
    if deps is not None:
        labels, code = np.unique(deps.astype(str), return_inverse=True)
        per_dep = np.zeros((labels.size, nbins))
        np.add.at(per_dep, (code, idx), 1.0)
        share = per_dep.sum(axis=1) / n
        recs = []
        for c, _, over in windows:
            expected = share * counterfactual[0, over].sum()
            observed = per_dep[:, over].sum(axis=1)
            recs.append(pd.DataFrame({"department": labels, "cutoff": c,
                                      "projects": per_dep.sum(axis=1).astype(int),
                                      "observed": observed, "expected": expected,
                                      "excess": observed - expected}))
        dep_table = pd.concat(recs, ignore_index=True)

    bins = pd.DataFrame({"low": start, "high": start + width, "count": counts,
                         "counterfactual": counterfactual[0], "in_window": inside})
    settings = {"cutoffs": cuts, "width": width, "below": below, "above": above,
                "degree": degree, "range": [float(lo), float(hi)], "draws": draws,
                "level": level, "seed": seed, "scores": int(n)}
    return Bunching(table, dep_table, bins, settings)


def piles(scores: Mapping[str, Any], **options: Any) -> pd.DataFrame:
    """:func:`bunching` of several sets of scores (name → scores) with the same ``options``:
    their tables stacked, a leading ``policy`` column holding each set's name."""
    tables = [bunching(v, **options).table.assign(policy=k) for k, v in scores.items()]
    if not tables:
        raise InputError(where="bunching", field="scores", problem="give at least one set")
    out = pd.concat(tables, ignore_index=True)
    return out[["policy", *[c for c in out.columns if c != "policy"]]]
