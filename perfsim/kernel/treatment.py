"""Data treatment before weighting: winsorisation and log transforms of skewed columns.

Objective weights (entropy, CRITIC, PCA) read the spread of each indicator over the projects, so
one extreme project can move them a lot. As in the JRC/OECD handbook method (COINr's
``Treat``), a column can be treated first:

``winsorise`` (by quantile)
    values below the ``lower`` quantile are raised to it and values above the ``upper`` quantile
    lowered to it (``numpy.quantile``, linear interpolation); ``lower = 0`` or ``upper = 1``
    leaves that side alone.
``auto`` (COINr's skew/kurtosis rule)
    while |skewness| > ``skew`` **and** kurtosis > ``kurtosis`` (defaults 2 and 3.5) and fewer
    than ``max_points`` values (default 5) have been winsorised, the most extreme value on the
    side of the skew (the highest for positive skew, the lowest for negative) is set to the next
    value inward, so one more point is winsorised. Skewness and kurtosis are the bias-corrected
    sample statistics, kurtosis as excess kurtosis (``scipy.stats.skew(bias=False)``,
    ``scipy.stats.kurtosis(bias=False)``; COINr's ``skew`` and ``kurt``). If the rule still holds
    after ``max_points`` points, ``fallback='log'`` log-transforms the *original* column instead
    (``'none'`` keeps the winsorised column; the record says it is still skewed).
``log``
    for positive skew (a long tail of high values, e.g. days late or counts)
    ``y = ln(x − min + 1)``; for negative skew ``y = −ln(max − x + 1)``. Both are increasing in
    x, so an indicator's direction (higher or lower is better) is unchanged. The +1 makes it
    the usual log1p of counts (days, cases, complaints); it depends on the unit, so a column
    measured on a small scale (shares in [0, 1]) is barely bent — winsorise those instead.
``boxcox``
    the Box–Cox transform of the column shifted as ``log`` shifts it, ``u = x − min + 1``
    (positive skew) or ``u = max − x + 1`` (negative skew): ``(u^λ − 1)/λ``, or ``ln u`` for
    λ = 0 (``scipy.stats.boxcox``), negated for negative skew so it stays increasing in x.
    ``lambda`` is the exponent; null (the default) fits it by maximum likelihood
    (``scipy.stats.boxcox_normmax``). λ = 0 is the ``log`` treatment exactly; λ = 1 only
    shifts the column.
``none``
    the column as it is.

:func:`treat` treats each column of a matrix ``X`` (projects m, indicators n) by its own
method and returns the treated matrix with a record of what was done per column
(:class:`Treatment`). Every function is pure and vectorised over projects; the only loop is over
columns and (for ``auto``) over at most ``max_points`` winsorisation steps.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.stats import boxcox_normmax

from perfsim.errors import InputError

__all__ = [
    "DEFAULTS",
    "TREATMENTS",
    "ColumnTreatment",
    "Treatment",
    "check_options",
    "boxcox_transform",
    "log_transform",
    "skew_kurtosis",
    "treat",
    "winsorise_auto",
    "winsorise_quantile",
]

FloatArray = NDArray[np.float64]

#: Treatment method names.
TREATMENTS: tuple[str, ...] = ("none", "winsorise", "auto", "log", "boxcox")
#: Defaults of the options (see the module docstring).
DEFAULTS: dict[str, Any] = {"lower": 0.05, "upper": 0.95, "skew": 2.0, "kurtosis": 3.5,
                            "max_points": 5, "fallback": "log", "lambda": None}


@dataclass(frozen=True)
class ColumnTreatment:
    """What was done to one column: ``method`` asked, ``applied`` (``none``, ``winsorise``,
    ``log``, ``boxcox (lambda L)``), values winsorised at each end (``n_low``, ``n_high``)
    and the cut values (``low_cut``, ``high_cut``; NaN if that side was left alone),
    skewness and (excess) kurtosis before and after, and for ``auto`` whether the rule still
    held after the treatment."""

    code: str
    method: str
    applied: str
    n_low: int
    n_high: int
    low_cut: float
    high_cut: float
    skew_before: float
    kurtosis_before: float
    skew_after: float
    kurtosis_after: float
    still_skewed: bool


@dataclass(frozen=True)
class Treatment:
    """A treated matrix ``X`` (same shape as the input) and one :class:`ColumnTreatment` per
    column (``columns``)."""

    X: FloatArray
    columns: tuple[ColumnTreatment, ...]

    def records(self) -> list[dict[str, Any]]:
        """The record as a list of dicts, one per column (for a table)."""
        return [c.__dict__.copy() for c in self.columns]


def skew_kurtosis(X: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Bias-corrected sample skewness and excess kurtosis of each column of ``X`` over its
    finite values (blank, not-applicable and not-submitted cells are NaN and left out):
    ``scipy.stats.skew(bias=False)`` and ``scipy.stats.kurtosis(bias=False)`` with
    ``nan_policy='omit'``. With n finite values, central moments m2, m3, m4 (divided by n),
    g1 = m3 / m2^1.5 and g2 = m4 / m2² − 3: skewness G1 = g1 · √(n(n − 1)) / (n − 2) (NaN for
    n < 3) and excess kurtosis G2 = ((n + 1) g2 + 6)(n − 1) / ((n − 2)(n − 3)) (NaN for
    n < 4). A column that is constant over its finite values has neither: NaN and NaN, never
    0 (nothing to measure; a NaN never meets the skew rule)."""
    x = np.asarray(X, dtype=float)
    if x.ndim == 1:
        x = x[:, None]
    ok = np.isfinite(x)
    n = ok.sum(axis=0).astype(float)
    has = n > 0
    mean = np.where(ok, x, 0.0).sum(axis=0) / np.where(has, n, 1.0)
    d = np.where(ok, x - mean, 0.0)
    nn = np.where(has, n, 1.0)
    m2, m3, m4 = ((d ** p).sum(axis=0) / nn for p in (2, 3, 4))
    big, small = np.where(ok, x, -np.inf).max(axis=0), np.where(ok, x, np.inf).min(axis=0)
    varies = has & (big > small)
    safe = np.where(varies, m2, 1.0)
    g1, g2 = m3 / safe ** 1.5, m4 / safe ** 2 - 3.0
    n3, n4 = np.where(n >= 3, n, 3.5), np.where(n >= 4, n, 4.5)  # placeholders, masked below
    s = np.where(varies & (n >= 3), g1 * np.sqrt(n3 * (n3 - 1.0)) / (n3 - 2.0), np.nan)
    k = np.where(varies & (n >= 4),
                 ((n4 + 1.0) * g2 + 6.0) * (n4 - 1.0) / ((n4 - 2.0) * (n4 - 3.0)), np.nan)
    return np.asarray(s, dtype=float), np.asarray(k, dtype=float)


def winsorise_quantile(x: ArrayLike, lower: float = 0.05, upper: float = 0.95) -> FloatArray:
    """Each column clipped to its [``lower``, ``upper``] quantiles (0 <= lower < upper <= 1;
    0 and 1 leave that side alone). ``x`` shape (m,) or (m, n); missing (NaN) cells are left
    out of the quantiles and stay NaN."""
    _check_quantiles(lower, upper)
    a = np.asarray(x, dtype=float)
    lo = np.nanquantile(a, lower, axis=0)
    hi = np.nanquantile(a, upper, axis=0)
    return np.clip(a, lo, hi)   # missing (NaN) cells stay NaN


def log_transform(x: ArrayLike, skew_sign: float | None = None) -> FloatArray:
    """``ln(x − min + 1)`` (positive skew) or ``−ln(max − x + 1)`` (negative skew) of a column;
    ``skew_sign`` chooses (default: the sign of the column's skewness). Increasing in x; min and
    max over the column's values, missing (NaN) cells stay NaN."""
    a = np.asarray(x, dtype=float)
    if skew_sign is None:
        skew_sign = float(skew_kurtosis(a.reshape(len(a), -1))[0][0])
    if not skew_sign < 0:  # positive, or NaN for a constant column (both ends give 0)
        return np.log(a - np.nanmin(a, axis=0) + 1.0)
    return -np.log(np.nanmax(a, axis=0) - a + 1.0)


def boxcox_transform(x: ArrayLike, lmbda: float | None = None,
                     skew_sign: float | None = None) -> tuple[FloatArray, float]:
    """The Box–Cox transform of a column shifted to start at 1 on the side of its skew (see
    the module docstring) and the λ used (``lmbda``; None: fitted by maximum likelihood).
    Increasing in x."""
    a = np.asarray(x, dtype=float)
    if skew_sign is None:
        skew_sign = float(skew_kurtosis(a.reshape(len(a), -1))[0][0])
    negative = skew_sign < 0
    u = a.max(axis=0) - a + 1.0 if negative else a - a.min(axis=0) + 1.0
    if lmbda is None:
        lmbda = float(boxcox_normmax(u, method="mle")) if np.ptp(u) > 0 else 1.0
    y = np.log(u) if lmbda == 0 else (u ** lmbda - 1.0) / lmbda
    return (-y if negative else y), float(lmbda)


def winsorise_auto(x: ArrayLike, skew: float = 2.0, kurtosis: float = 3.5,
                   max_points: int = 5) -> tuple[FloatArray, int, int]:
    """COINr's rule on one column: winsorise one more point on the side of the skew while
    |skewness| > ``skew`` and kurtosis > ``kurtosis``, at most ``max_points`` points.

    Returns ``(column, n_low, n_high)``: the winsorised column and the number of values replaced
    at each end. Setting the k most extreme values to the (k+1)-th is done on the sorted column,
    so each step costs one skewness evaluation. Missing (NaN) cells are left out (m counts the
    values) and stay NaN.
    """
    a = np.asarray(x, dtype=float)
    order = np.sort(a[~np.isnan(a)])
    m = order.size
    n_low = n_high = 0
    y = a
    while n_low + n_high < max_points and n_low + n_high < m - 2:
        s, k = skew_kurtosis(y[:, None])
        if not (abs(s[0]) > skew and k[0] > kurtosis):
            break
        if s[0] > 0:
            n_high += 1
        else:
            n_low += 1
        lo = order[n_low]
        hi = order[m - 1 - n_high]
        y = np.clip(a, lo, hi)
    return y, n_low, n_high


def _check_quantiles(lower: Any, upper: Any, where: str = "treatment") -> None:
    for name, q in (("lower", lower), ("upper", upper)):
        if isinstance(q, bool) or not isinstance(q, int | float | np.floating) or not (
                0.0 <= q <= 1.0):
            raise InputError(where=where, field=name, value=q, problem="must be a quantile in "
                             "[0, 1] (e.g. lower 0.05, upper 0.95)")
    if not lower < upper:
        raise InputError(where=where, field="upper", value=upper,
                         problem=f"must be above lower ({lower:g})")


def check_options(options: Mapping[str, Any], where: str = "treatment",
                  source: str | None = None) -> dict[str, Any]:
    """Options of one treatment with defaults filled in, checked (one-line errors naming the
    option and the value). Keys: ``method`` and those of :data:`DEFAULTS`."""
    opts = {"method": "none", **DEFAULTS}
    for key, value in options.items():
        if key not in opts:
            raise InputError(source, where, str(key), problem="unknown treatment option "
                             f"(allowed: {', '.join(opts)})")
        opts[key] = value
    if opts["method"] not in TREATMENTS:
        raise InputError(source, where, "method", opts["method"],
                         f"unknown treatment; choose one of {', '.join(TREATMENTS)}")
    try:
        _check_quantiles(opts["lower"], opts["upper"], where)
    except InputError as err:
        raise err.at(source) from None
    for key in ("skew", "kurtosis"):
        v = opts[key]
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) \
                or v < 0:
            raise InputError(source, where, key, v, "must be a number >= 0")
    mp = opts["max_points"]
    if isinstance(mp, bool) or not isinstance(mp, int | np.integer) or mp < 0:
        raise InputError(source, where, "max_points", mp, "must be a whole number >= 0")
    lam = opts["lambda"]
    if lam is not None and (isinstance(lam, bool) or not isinstance(lam, int | float)
                            or not math.isfinite(lam)):
        raise InputError(source, where, "lambda", lam,
                         "must be a number (the Box-Cox exponent) or null (fitted)")
    if opts["fallback"] not in ("log", "none"):
        raise InputError(source, where, "fallback", opts["fallback"],
                         "must be 'log' or 'none'")
    return opts


def treat(X: ArrayLike, options: Sequence[Mapping[str, Any]] | Mapping[str, Any],
          codes: Sequence[str] | None = None, rows: Sequence[int] | None = None) -> Treatment:
    """Treat each column of ``X`` (projects m >= 4, indicators n) by its options.

    ``options`` is one mapping for every column or a sequence with one mapping per column; each
    has a ``method`` of :data:`TREATMENTS` and the options of :data:`DEFAULTS` it needs
    (missing ones take the defaults). ``codes`` name the columns in the record and in errors.
    Returns a :class:`Treatment` (the treated matrix and the record). Missing cells (NaN: blank,
    n/a or 未申报 cells the leaf's policy leaves out) are left out of every statistic (quantiles,
    skewness, the winsorised points) and stay NaN; ±inf raises :class:`InputError` naming the
    column and the row (``rows``: how the caller's file numbers them, else counted from 1).
    """
    x = np.array(X, dtype=float)
    if x.ndim != 2:
        raise InputError(where="treatment", field="X shape", value=x.shape,
                         problem="must be 2-D: (projects, indicators)")
    n = x.shape[1]
    labels = [f"#{j + 1}" for j in range(n)] if codes is None else [str(c) for c in codes]
    if isinstance(options, Mapping):
        options = [options] * n
    if len(options) != n or len(labels) != n:
        raise InputError(where="treatment", field="options", value=len(options),
                         problem=f"give one treatment per column ({n} columns)")
    bad = np.argwhere(np.isinf(x))
    if bad.size:
        i, j = (int(k) for k in bad[0])
        at = f"row {rows[i]}" if rows is not None else f"project row {i + 1}"
        raise InputError(where=f"treatment, {at}", field=labels[j],
                         value=float(x[i, j]), problem="must be a finite number")
    n_values = (~np.isnan(x)).sum(axis=0)
    s0, k0 = skew_kurtosis(x)
    out = x.copy()
    records = []
    for j in range(n):
        opts = check_options(options[j], f"treatment of {labels[j]}")
        method = opts["method"]
        col = x[:, j]
        applied, n_low, n_high = "none", 0, 0
        lo_cut = hi_cut = math.nan
        if method != "none" and n_values[j] < 4:
            raise InputError(where=f"treatment of {labels[j]}", field="projects",
                             value=int(n_values[j]),
                             problem="skewness needs at least 4 projects with a value")
        if method == "winsorise":
            y = winsorise_quantile(col, opts["lower"], opts["upper"])
            applied = "winsorise"
            if opts["lower"] > 0:
                lo_cut = float(np.nanmin(y))
            if opts["upper"] < 1:
                hi_cut = float(np.nanmax(y))
            n_low, n_high = int((col < y).sum()), int((col > y).sum())
        elif method == "log":
            y, applied = log_transform(col, s0[j]), "log"
        elif method == "boxcox":
            y, lam = boxcox_transform(col, opts["lambda"], s0[j])
            applied = f"boxcox (lambda {lam:.4g})"
        elif method == "auto":
            y, n_low, n_high = winsorise_auto(col, opts["skew"], opts["kurtosis"],
                                              int(opts["max_points"]))
            if n_low or n_high:
                applied = "winsorise"
                lo_cut = float(np.nanmin(y)) if n_low else math.nan
                hi_cut = float(np.nanmax(y)) if n_high else math.nan
            s1, k1 = skew_kurtosis(y[:, None])
            if abs(s1[0]) > opts["skew"] and k1[0] > opts["kurtosis"] \
                    and opts["fallback"] == "log":
                y, applied, n_low, n_high = log_transform(col, s0[j]), "log", 0, 0
                lo_cut = hi_cut = math.nan
        else:
            y = col
        out[:, j] = y
        s1, k1 = skew_kurtosis(y[:, None])
        still = bool(abs(s1[0]) > opts["skew"] and k1[0] > opts["kurtosis"])
        records.append(ColumnTreatment(labels[j], method, applied, n_low, n_high, lo_cut,
                                       hi_cut, float(s0[j]), float(k0[j]), float(s1[0]),
                                       float(k1[0]), still))
    return Treatment(out, tuple(records))
