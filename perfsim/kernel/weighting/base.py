"""What every weighting method shares: the float array type, shares from weights
(:func:`normalise`, :func:`to_points`) and the checks that name an indicator in errors."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from perfsim.errors import InputError

FloatArray = NDArray[np.float64]


def _labels(n: int, codes: Sequence[str] | None, where: str) -> list[str]:
    """Indicator labels for messages: the codes, or '#1', '#2', ... (counted from 1)."""
    if codes is None:
        return [f"#{j + 1}" for j in range(n)]
    labels = [str(c) for c in codes]
    if len(labels) != n:
        raise InputError(where=where, field="codes", value=len(labels),
                         problem=f"there are {n} indicators but {len(labels)} codes")
    return labels


def _as_float(a: ArrayLike, where: str, field: str) -> FloatArray:
    try:
        arr = np.asarray(a, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(where=where, field=field, value=_short(a),
                         problem=f"must be numbers ({exc})") from None
    return arr


def _short(a: Any) -> str:
    text = repr(a)
    return text if len(text) <= 60 else text[:57] + "..."


def _position(idx: tuple[int, ...], labels: list[str] | None) -> str:
    """Describe an index of a (..., n) array: last axis by label, leading axes counted from 1."""
    *lead, j = idx
    name = labels[j] if labels is not None else f"#{j + 1}"
    if lead:
        rows = ", ".join(str(i + 1) for i in lead)
        return f"row {rows}, indicator {name}"
    return f"indicator {name}"


def _normalise(
    w: ArrayLike, where: str = "weights", codes: Sequence[str] | None = None
) -> FloatArray:
    arr = _as_float(w, where, "weights")
    if arr.ndim == 0 or arr.shape[-1] == 0:
        raise InputError(where=where, field="weights", value=_short(w),
                         problem="need at least one weight along the last axis")
    labels = None if codes is None else _labels(arr.shape[-1], codes, where)
    bad = ~np.isfinite(arr)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise InputError(where=f"{where}, {_position(idx, labels)}", field="weight",
                         value=float(arr[idx]), problem="must be a finite number")
    neg = arr < 0
    if neg.any():
        idx = tuple(int(i) for i in np.argwhere(neg)[0])
        raise InputError(where=f"{where}, {_position(idx, labels)}", field="weight",
                         value=float(arr[idx]), problem="must be >= 0")
    total = arr.sum(axis=-1, keepdims=True)
    if np.any(total <= 0):
        lead = tuple(int(i) for i in np.argwhere(total[..., 0] <= 0)[0]) if arr.ndim > 1 else ()
        at = f"{where}, row {', '.join(str(i + 1) for i in lead)}" if lead else where
        raise InputError(where=at, field="sum of weights", value=0.0,
                         problem="must be > 0; give at least one indicator a positive weight")
    return arr / total


def normalise(w: ArrayLike) -> FloatArray:
    """Shares from non-negative weights: ``w / w.sum(axis=-1)``.

    ``w`` has shape (..., n) in any unit (points, raw scores); every entry must be finite and
    >= 0 and every row must have a positive sum. Returns float64 shares in [0, 1] adding up to 1
    along the last axis.
    """
    return _normalise(w)


def to_points(weights: ArrayLike, total: float = 100.0) -> FloatArray:
    """Weights rescaled to points (分值) that add up to ``total`` (default 100 points).

    ``weights`` are shares or any non-negative weights, shape (..., n); they are normalised first.
    """
    if not (isinstance(total, int | float | np.floating | np.integer)
            and math.isfinite(total) and total > 0):
        raise InputError(where="to_points", field="total", value=total,
                         problem="must be a finite number of points > 0")
    return _normalise(weights) * float(total)
