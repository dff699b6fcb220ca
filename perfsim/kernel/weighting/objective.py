"""The decision matrix of the objective methods (客观赋权): each indicator's direction
(benefit or cost) and the direction-adjusted min-max normalisation."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from perfsim.errors import InputError
from perfsim.kernel.weighting.base import FloatArray, _as_float, _labels

_BENEFIT = ("benefit", "higher", "正向")
_COST = ("cost", "lower", "逆向", "负向")


def direction_signs(directions: Sequence[str], n: int | None = None,
                    codes: Sequence[str] | None = None) -> NDArray[np.int8]:
    """+1 for benefit indicators (``'benefit'``, ``'higher'``, 正向), −1 for cost indicators
    (``'cost'``, ``'lower'``, 逆向/负向); case and surrounding spaces are ignored."""
    if isinstance(directions, str | bytes):
        raise InputError(where="directions", value=directions,
                         problem="give one direction per indicator (a list), not one string")
    dirs = list(directions)
    if n is not None and len(dirs) != n:
        raise InputError(where="directions", field="length", value=len(dirs),
                         problem=f"there are {n} indicators; give one direction for each")
    labels = _labels(len(dirs), codes, "directions")
    signs = np.empty(len(dirs), dtype=np.int8)
    for j, d in enumerate(dirs):
        key = str(d).strip().lower()
        if key in _BENEFIT:
            signs[j] = 1
        elif key in _COST:
            signs[j] = -1
        else:
            hint = ("; target-is-best indicators must first be turned into a distance from the "
                    "target (a 'lower' indicator)") if key == "equal" else ""
            raise InputError(where=f"indicator {labels[j]}", field="direction", value=d,
                             problem="objective weighting needs 'benefit'/'higher' or "
                             f"'cost'/'lower'{hint}")
    return signs


def row_label(i: int, rows: Sequence[int] | None) -> str:
    """Where row ``i`` (counted from 0) of a matrix is, for messages: ``row N`` as the caller's
    file shows it (``rows[i]``, e.g. a portfolio's spreadsheet row), else ``project row i + 1``."""
    return f"row {rows[i]}" if rows is not None else f"project row {i + 1}"


def _decision_matrix(
    X: ArrayLike, directions: Sequence[str], codes: Sequence[str] | None, method: str,
    rows: Sequence[int] | None = None,
) -> tuple[FloatArray, NDArray[np.int8], list[str]]:
    """The checked matrix, its direction signs and labels. NaN cells are missing values (a
    blank, n/a or 未申报 cell the leaf's missing-value policy leaves out): each statistic reads a
    column's own values; ±inf is refused naming the row (``rows``: how the caller's file numbers
    them)."""
    where = f"{method} weights"
    x = _as_float(X, where, "X")
    if x.ndim != 2:
        raise InputError(where=where, field="X shape", value=x.shape,
                         problem="must be 2-D: (projects, indicators)")
    m, n = x.shape
    if n < 1:
        raise InputError(where=where, field="X shape", value=x.shape,
                         problem="needs at least one indicator column")
    if m < 2:
        raise InputError(where=where, field="X shape", value=x.shape,
                         problem="needs at least 2 projects (rows) to measure variation")
    labels = _labels(n, codes, where)
    bad = np.argwhere(np.isinf(x))
    if bad.size:
        i, j = (int(k) for k in bad[0])
        raise InputError(where=f"{where}, {row_label(i, rows)}", field=labels[j],
                         value=float(x[i, j]), problem="must be a finite number")
    signs = direction_signs(directions, n, labels)
    ok = ~np.isnan(x)
    few = np.flatnonzero(ok.sum(axis=0) < 2)
    if few.size:
        j = int(few[0])
        raise InputError(where=where, field=labels[j], value=int(ok[:, j].sum()),
                         problem="fewer than 2 projects have a value (the rest are missing "
                         f"and left out): the {method} method needs at least 2")
    hi, lo = _col_max(x), _col_min(x)
    with np.errstate(over="ignore"):
        wide = np.flatnonzero(~np.isfinite(hi - lo))
    if wide.size:
        j = int(wide[0])
        raise InputError(where=where, field=labels[j], value=float(hi[j]),
                         problem="the column's range overflows float64; rescale its unit")
    const = np.flatnonzero(hi == lo)
    if const.size:
        j = int(const[0])
        raise InputError(
            where=where, field=labels[j], value=float(hi[j]),
            problem=f"every project has the same value (zero variance), which makes the {method} "
            "method degenerate; drop the indicator from the objective weighting or give it a "
            "fixed weight",
        )
    return x, signs, labels


def minmax_normalise(
    X: ArrayLike, directions: Sequence[str], *, codes: Sequence[str] | None = None
) -> FloatArray:
    """Direction-adjusted min-max normalisation to [0, 1], higher = better, per column.

    benefit: (x − min) / (max − min); cost: (max − x) / (max − min). ``X`` shape (projects m,
    indicators n) in the indicators' own units; constant columns raise :class:`InputError`.
    Missing (NaN) cells are left out of min and max and stay NaN.
    """
    x, signs, _ = _decision_matrix(X, directions, codes, "min-max")
    return _minmax(x, signs)


def _col_max(x: FloatArray) -> FloatArray:
    """Each column's largest value over its non-missing cells (NaN cells left out)."""
    return np.where(np.isnan(x), -np.inf, x).max(axis=0)


def _col_min(x: FloatArray) -> FloatArray:
    """Each column's smallest value over its non-missing cells (NaN cells left out)."""
    return np.where(np.isnan(x), np.inf, x).min(axis=0)


def _minmax(x: FloatArray, signs: NDArray[np.int8]) -> FloatArray:
    """Direction-adjusted min-max over each column's values; missing (NaN) cells stay NaN."""
    lo = _col_min(x)
    hi = _col_max(x)
    span = hi - lo
    return np.where(signs > 0, (x - lo) / span, (hi - x) / span)
