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
number of projects): where the pile comes from. Each has a bootstrap interval (the same
resamples) and a one-sided binomial p-value (its count in the window against its projects
times the counterfactual's share there); a department is ``flagged`` only when the
Benjamini–Hochberg procedure (statsmodels ``multipletests``, ``fdr`` 5%) over the
departments of the line rejects it and its excess is positive.

The estimate knows its limits:

- **the window**: movers from beyond ``below`` points leave a hole outside the window, which
  the fit takes for the density, and the excess comes out too large. A line warns (bilingual,
  in ``warnings`` and the table's ``warning`` column) when its reach ``b_points`` passes the
  window's edge by half a bin or more (with at least one counterfactual project per point
  at the line), or when the bin just below the window holds fewer
  projects than its counterfactual (one-sided Poisson p < :data:`EDGE_P`). ``below="auto"``
  widens the window bin by bin until no line warns;
- **placebo lines**: ``placebo`` lines are estimated like the cutoffs; where the linkage rule
  moves no money (:func:`placebo_lines` of a scenario: 90 under a rule that only cuts 中) the
  excess should hold zero, and one that does not says the counterfactual is off;
- **power**: ``min_detectable`` is the smallest pile a two-sided test at ``level`` finds with
  probability ``power`` (80%): (z₁₋α/₂ + z_power) × the bootstrap standard error of the
  excess (an analytic bound on the bootstrap's spread, normal approximation), also in points
  (``min_detectable_b``); per department, the smallest pile that lifts its count in the
  window to the exact binomial test's rejection at fdr / k (k departments: the step-up's
  strictest threshold) with probability ``power``.

The estimate is descriptive: it says how much mass sits above each line beyond a smooth
density, not why. :func:`perfsim.run` calibrations can set the simulated inflation so that
simulated self-scores reproduce it.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from perfsim import textfiles
from perfsim.errors import InputError
from perfsim.run.step import observed_year


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
    """The result: ``table`` (one row per cutoff and placebo line: excess and missing mass
    with bootstrap intervals, the reach test, the smallest detectable pile), ``departments``
    (excess per department and cutoff with intervals, p-values and Benjamini–Hochberg flags),
    ``bins`` (the counts and the fitted counterfactual per bin), the settings used and
    ``warnings`` (bilingual lines: a reach that reaches the window's edge)."""

    table: pd.DataFrame
    departments: pd.DataFrame | None
    bins: pd.DataFrame
    settings: dict[str, Any]
    warnings: tuple[str, ...] = ()

    @property
    def placebo(self) -> pd.DataFrame:
        """The rows of ``table`` at the placebo lines (where no money changes)."""
        return self.table[self.table["placebo"]].reset_index(drop=True)


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


#: Largest window below a cutoff (points) that ``below="auto"`` tries.
AUTO_BELOW_MAX = 10.0

#: One-sided p-value under which the bin just below a window is said to be emptied.
EDGE_P = 0.01


def bunching(scores: Any, cutoffs: Sequence[float] = (90, 80, 60), *,
             departments: Any = None, width: float = 1.0, below: float | str = 3.0,
             above: float = 2.0, degree: int = 5, low: float | None = None,
             high: float | None = None, draws: int = 200, level: float = 0.95,
             seed: int = 0, placebo: Sequence[float] = (), fdr: float = 0.05,
             power: float = 0.8) -> Bunching:
    """Excess mass of ``scores`` just above each cutoff, against a polynomial counterfactual
    fitted on the bins outside the windows ``[cutoff − below, cutoff + above)``.

    ``low``/``high`` bound the fitted range (default: the scores' range, whole bins); scores
    outside it are ignored. ``departments`` (one label per score) adds the department table,
    with bootstrap intervals, a one-sided binomial p-value per department and line and the
    Benjamini–Hochberg adjustment at ``fdr`` over the departments of each line
    (``flagged``: rejected by the step-up procedure, with a positive excess). ``placebo``
    lines (where the linkage rule moves no money) are estimated alike and marked
    ``placebo`` in the table: their excess should hold zero. ``below="auto"`` chooses the
    window from the data: the smallest whole number of bins from 3 points (or one bin) up
    to :data:`AUTO_BELOW_MAX` at which no non-placebo line warns that its reach reaches
    the window's edge.
    """
    if isinstance(below, str):
        if below != "auto":
            raise InputError(where="bunching", field="below", value=below,
                             problem="must be a number of points or auto")
        if not (np.isfinite(width) and width > 0):
            raise InputError(where="bunching", field="width", value=width,
                             problem="must be > 0")
        options = dict(cutoffs=cutoffs, departments=departments, width=width, above=above,
                       degree=degree, low=low, high=high, level=level, seed=seed,
                       placebo=placebo, fdr=fdr, power=power)
        first = float(max(width, np.ceil(3.0 / width - 1e-9) * width))
        tried = first
        while tried <= AUTO_BELOW_MAX + 1e-9:
            try:
                trial = _bunching(scores, below=tried, draws=0, **options)
            except InputError:
                break                           # the window no longer fits or fits no bins
            if not trial.warnings:
                est = _bunching(scores, below=tried, draws=draws, **options)
                est.settings["below_chosen_from"] = "data"
                return est
            tried += width
        est = _bunching(scores, below=first, draws=draws, **options)
        est.settings["below_chosen_from"] = "none fits"
        return est
    return _bunching(scores, cutoffs, departments=departments, width=width, below=below,
                     above=above, degree=degree, low=low, high=high, draws=draws,
                     level=level, seed=seed, placebo=placebo, fdr=fdr, power=power)


def _reach_warning(c: float, b: float, per_point: float, below: float, width: float,
                   edge_count: float, edge_cf: float, edge_p: float) -> str:
    """The bilingual warning of a line whose movers come from beyond the window, or '': the
    estimated reach ``b`` passes the window's edge by half a bin or more (where the
    counterfactual expects at least one project per point at the line: below that a handful
    of projects is a reach of many points), or the bin just below the window holds fewer
    projects than its counterfactual (one-sided Poisson p below :data:`EDGE_P`)."""
    if np.isfinite(b) and per_point >= 1 and b >= below + width / 2:
        zh = f"{c:g} 分线: 估计的移动距离 {b:.1f} 分达到窗口边缘 ({below:g} 分), 请加宽窗口"
        en = (f"line {c:g}: the estimated reach {b:.1f} points reaches the window's edge "
              f"({below:g} points below); widen the window (below)")
        return f"{zh} / {en}"
    if edge_p < EDGE_P:
        zh = (f"{c:g} 分线: 窗口下方相邻分箱只有 {edge_count:g} 个项目 (应有 {edge_cf:.1f}),"
              f" 移动者来自窗口之外, 请加宽窗口")
        en = (f"line {c:g}: the bin just below the window holds {edge_count:g} projects "
              f"against {edge_cf:.1f} expected (p = {edge_p:.2g}); movers come from beyond "
              f"the window's edge ({below:g} points below); widen the window (below)")
        return f"{zh} / {en}"
    return ""


def _smallest_flagged_pile(projects: int, p0: float, alpha: float, power: float) -> float:
    """The smallest pile (projects added to a department's count in the window) that a
    one-sided binomial test at ``alpha`` finds with probability ``power``: the count at which
    the test rejects, less the count that no pile exceeds with probability ``power``
    (exact binomial, counterfactual share ``p0``); inf when no count rejects."""

    counts = np.arange(projects + 1)
    rejects = counts[stats.binom.sf(counts - 1, projects, p0) <= alpha]
    if not rejects.size:
        return float("inf")
    reached = counts[stats.binom.sf(counts - 1, projects, p0) >= power]
    return float(max(rejects[0] - reached[-1], 0))


def _bunching(scores: Any, cutoffs: Sequence[float] = (90, 80, 60), *,
              departments: Any = None, width: float = 1.0, below: float = 3.0,
              above: float = 2.0, degree: int = 5, low: float | None = None,
              high: float | None = None, draws: int = 200, level: float = 0.95,
              seed: int = 0, placebo: Sequence[float] = (), fdr: float = 0.05,
              power: float = 0.8) -> Bunching:

    x = np.asarray(scores, dtype=float).ravel()
    try:
        placebo_lines = sorted({float(c) for c in placebo})
    except (TypeError, ValueError):
        raise InputError(where="bunching", field="placebo", value=list(placebo),
                         problem="must be numbers") from None
    real = sorted(float(c) for c in cutoffs)
    cuts = sorted(set(real) | set(placebo_lines))
    _check(x, real or cuts, width, below, above, degree, draws, level)
    for name, v in (("fdr", fdr), ("power", power)):
        if not 0 < v < 1:
            raise InputError(where="bunching", field=name, value=v,
                             problem="must be in (0, 1)")
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
        # the bin just below the window: emptied when movers come from beyond its edge
        edge = (start >= c - below - width - 1e-9) & (start < c - below - 1e-9)
        windows.append((c, under, over, edge))
    inside = np.zeros(nbins, dtype=bool)
    for _, under, over, _ in windows:
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
    picks = None
    if draws:
        picks = rng.integers(0, n, (draws, n))
        resampled = idx[picks]
        offsets = np.arange(draws)[:, None] * nbins
        boot = np.bincount((resampled + offsets).ravel(),
                           minlength=draws * nbins).reshape(draws, nbins).astype(float)
        y = np.vstack([counts, boot])
    else:
        y = counts[None]
    counterfactual = _counterfactual(poly, ~inside, y)         # (1 + draws, bins)

    alpha = (1 - level) / 2
    # the smallest pile told apart from none: a two-sided test at ``level`` with ``power``,
    # on the bootstrap standard error of the excess (normal approximation)
    z_detect = stats.norm.ppf(1 - alpha) + stats.norm.ppf(power)
    rows, notes = [], []
    for c, under, over, edge in windows:
        excess = (y[:, over] - counterfactual[:, over]).sum(axis=1)
        missing = (counterfactual[:, under] - y[:, under]).sum(axis=1)
        per_point = counterfactual[:, over].sum(axis=1) / above
        with np.errstate(divide="ignore", invalid="ignore"):
            b = np.where(per_point > 0, excess / per_point, np.nan)
        edge_count = float(counts[edge].sum())
        edge_cf = float(counterfactual[0, edge].sum())
        edge_p = float(stats.poisson.cdf(edge_count, edge_cf)) if edge.any() else 1.0
        is_placebo = c in placebo_lines
        row = {"cutoff": c, "placebo": is_placebo, "excess": excess[0],
               "missing": missing[0], "excess_share": excess[0] / n, "b_points": b[0]}
        for name, v in (("excess", excess), ("missing", missing), ("b_points", b)):
            if draws:
                row[f"{name}_low"], row[f"{name}_high"] = np.nanquantile(
                    v[1:], [alpha, 1 - alpha])
            else:
                row[f"{name}_low"] = row[f"{name}_high"] = np.nan
        se = float(np.std(excess[1:], ddof=1)) if draws > 1 else np.nan
        row["min_detectable"] = z_detect * se
        row["min_detectable_b"] = (z_detect * se / per_point[0] if per_point[0] > 0
                                   else np.nan)
        row["edge_count"], row["edge_expected"], row["edge_p"] = edge_count, edge_cf, edge_p
        note = "" if is_placebo else _reach_warning(c, float(b[0]), float(per_point[0]),
                                                      below, width, edge_count, edge_cf,
                                                      edge_p)
        row["warning"] = note
        if note:
            notes.append(note)
        rows.append(row)
    table = pd.DataFrame(rows).sort_values("cutoff", ascending=False, ignore_index=True)

    dep_table = None
    if deps is not None:
        from statsmodels.stats.multitest import multipletests

        labels, code = np.unique(deps.astype(str), return_inverse=True)
        k = labels.size
        per_dep = np.zeros((k, nbins))
        np.add.at(per_dep, (code, idx), 1.0)
        projects = per_dep.sum(axis=1)
        share = projects / n
        if draws:
            dcode = code[picks]                                   # (draws, n)
            doff = np.arange(draws)[:, None] * k
            boot_projects = np.bincount((dcode + doff).ravel(),
                                        minlength=draws * k).reshape(draws, k)
        recs = []
        for c, _, over, _ in windows:
            cf_over = counterfactual[:, over].sum(axis=1)         # (1 + draws,)
            expected = share * cf_over[0]
            observed = per_dep[:, over].sum(axis=1)
            # under no pile each project of a department lands in the window with the
            # counterfactual's probability: a one-sided binomial test of a pile
            p0 = min(max(cf_over[0] / n, 0.0), 1.0)
            pval = stats.binom.sf(observed - 1, projects, p0)
            rec = {"department": labels, "cutoff": c, "placebo": c in placebo_lines,
                   "projects": projects.astype(int), "observed": observed,
                   "expected": expected, "excess": observed - expected}
            if draws:
                hit = over[resampled]                             # (draws, n)
                boot_obs = np.bincount((dcode + doff)[hit],
                                       minlength=draws * k).reshape(draws, k)
                boot_ex = boot_obs - boot_projects / n * cf_over[1:, None]
                rec["excess_low"], rec["excess_high"] = np.quantile(
                    boot_ex, [alpha, 1 - alpha], axis=0)
            else:
                rec["excess_low"] = rec["excess_high"] = np.full(k, np.nan)
            rec["min_detectable"] = [_smallest_flagged_pile(int(m), p0, fdr / k, power)
                                     for m in projects]
            reject, adjusted = multipletests(pval, alpha=fdr, method="fdr_bh")[:2]
            rec["p_value"], rec["p_adjusted"] = pval, adjusted
            rec["flagged"] = reject & (observed > expected)
            recs.append(pd.DataFrame(rec))
        dep_table = pd.concat(recs, ignore_index=True).sort_values(
            ["cutoff", "department"], ascending=[False, True], ignore_index=True)

    bins = pd.DataFrame({"low": start, "high": start + width, "count": counts,
                         "counterfactual": counterfactual[0], "in_window": inside})
    settings = {"cutoffs": real, "placebo": placebo_lines, "width": width, "below": below,
                "above": above, "degree": degree, "range": [float(lo), float(hi)],
                "draws": draws, "level": level, "seed": seed, "scores": int(n), "fdr": fdr,
                "power": power, "min_detectable_method":
                    "normal approximation on the bootstrap standard error of the excess"}
    return Bunching(table, dep_table, bins, settings, tuple(notes))


def piles(scores: Mapping[str, Any], **options: Any) -> pd.DataFrame:
    """:func:`bunching` of several sets of scores (name → scores) with the same ``options``:
    their tables stacked, a leading ``policy`` column holding each set's name."""
    tables = [bunching(v, **options).table.assign(policy=k) for k, v in scores.items()]
    if not tables:
        raise InputError(where="bunching", field="scores", problem="give at least one set")
    out = pd.concat(tables, ignore_index=True)
    return out[["policy", *[c for c in out.columns if c != "policy"]]]


def placebo_lines(scenario: Any, width: float = 1.0) -> list[float]:
    """The scenario's grade lines where its linkage rule moves no money: with every project
    of the portfolio just below a line (half a bin, ``width`` / 2, under it) and then on it,
    graded and linked by the one year kernel (:func:`perfsim.run.step.observed_year`), no
    project's next budget differs. At such a line nobody gains by crossing, so a bunching
    estimate there is a placebo (under a rule that only cuts 中, the line at 90). With quotas
    or redistribution this is the money when every project moves alike."""

    cuts = scenario.grading.cutoffs
    if not cuts:
        return []
    n = np.asarray(scenario.scores()).size
    rows = np.repeat([[c - width / 2, c] for c in cuts], n).reshape(2 * len(cuts), n)
    money = np.asarray(observed_year(scenario, rows).next_budget, dtype=float)
    return sorted(float(c) for i, c in enumerate(cuts)
                  if np.allclose(money[2 * i], money[2 * i + 1], rtol=1e-12, atol=1e-6))


def read_scores(path: Any, column: str = "score", department: str | None = None
                ) -> tuple[np.ndarray, np.ndarray | None]:
    """The scores (column ``column``) and, with ``department``, the department labels of a
    CSV file (UTF-8 or GB18030). A missing column, or a score that is not a finite number
    within 0–100, is one error naming the file, the row as a spreadsheet shows it (header =
    row 1), the column and the value."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, problem="file not found")
    try:
        data, _, sheet = textfiles.read_csv_rows(path, dtype=str, keep_default_na=False)
    except ValueError as exc:
        if isinstance(exc, InputError):
            raise
        raise InputError(path, problem=f"not a readable CSV file ({exc.__class__.__name__})"
                         ) from None
    for name in (column, department):
        if name is not None and name not in data.columns:
            raise InputError(path, field=name, problem="required column missing (columns: "
                             f"{', '.join(map(str, data.columns))})")
    text = data[column].str.strip()
    values = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(values) | (values < 0) | (values > 100)
    if bad.any():
        i = int(np.argmax(bad))
        raise InputError(path, f"row {sheet[i]}", column, text.iloc[i],
                         "must be a score from 0 to 100")
    if department is None:
        return values, None
    labels = data[department].str.strip().to_numpy(dtype=object)
    empty = labels == ""
    if empty.any():
        i = int(np.argmax(empty))
        raise InputError(path, f"row {sheet[i]}", department, "", "is empty")
    return values, labels
