"""Indicator weights: expert points, equal, AHP, entropy, CRITIC, PCA, combined; perturbation.

Every function is pure: arrays in, arrays out (numpy float64). Weights are **shares**: non-negative
numbers that add up to 1 along the last axis. :func:`to_points` turns shares into points (分值)
that add up to an indicator system's total (usually 100 points).

Subjective methods
    ``expert`` (the points written in the indicator file), ``equal`` and ``ahp`` (层次分析法,
    Saaty's principal-eigenvector method with the consistency ratio check).

Objective methods (客观赋权) work on a decision matrix ``X`` shaped (projects m, indicators n) of
raw measured values, and on each indicator's direction (``'benefit'``/``'higher'`` or
``'cost'``/``'lower'``):

``entropy`` (熵权法)
    min-max normalise each column towards "higher is better"::

        benefit: y = (x - min) / (max - min)        cost: y = (max - x) / (max - min)

    then p_ij = y_ij / sum_i y_ij, e_j = -sum_i p_ij ln p_ij / ln m with the convention
    0 · ln 0 = 0, divergence d_j = 1 - e_j, weight w_j = d_j / sum_k d_k. The step after the
    normalisation is :func:`entropy_weights_normalised`, which equals
    ``pymcdm.weights.entropy_weights`` on any strictly positive matrix (pymcdm requires x > 0
    and so never meets p = 0).
``critic``
    the same min-max normalisation; C_j = s_j · sum_k (1 - r_jk) with s_j the sample standard
    deviation (ddof=1) of the normalised column and r the Pearson correlation between normalised
    columns; w = C / sum C. This is ``pymcdm.weights.critic_weights`` (which min-max normalises
    every column as a benefit column) applied to the direction-adjusted matrix.
``pca``
    z-scored, direction-adjusted columns; principal components from ``numpy.linalg.eigh`` of the
    correlation matrix; keep the fewest components whose cumulative explained variance reaches
    ``variance_kept``; w_j ∝ sum_k (explained variance share_k × |v_jk|) over the kept
    components, where v_k is the k-th unit eigenvector. See :func:`pca_weights`.

A column whose values are all equal (max == min) carries no information and makes every objective
method degenerate; it is rejected with an :class:`~perfsim.errors.InputError` that names it.

Combination and uncertainty: :func:`combined_weights` (additive α·s + (1-α)·o or multiplicative
s·o / Σ s·o), :func:`dirichlet_weights` and :func:`perturb_weights` (draws shaped (n, k) from an
explicit ``numpy.random.Generator``). :func:`compute_weights` dispatches on a method name from
:data:`METHODS`.

No function returns NaN weights: invalid input raises :class:`~perfsim.errors.InputError`.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from os import PathLike
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import brentq, minimize_scalar

from perfsim.errors import InputError

__all__ = [
    "ALONSO_LAMATA_RI",
    "METHODS",
    "OBJECTIVE_METHODS",
    "PANEL_METHODS",
    "RI_TABLES",
    "SAATY_RI",
    "SUBJECTIVE_METHODS",
    "AHPPanelResult",
    "AHPResult",
    "Judgement",
    "ahp_panel",
    "ahp_matrix_from_csv",
    "ahp_weights",
    "combined_weights",
    "compute_weights",
    "critic_weights",
    "dirichlet_weights",
    "direction_signs",
    "entropy_weights",
    "entropy_weights_normalised",
    "equal_weights",
    "expert_weights",
    "minmax_normalise",
    "normalise",
    "pca_weights",
    "perturb_weights",
    "inconsistent_judgement",
    "to_points",
]

FloatArray = NDArray[np.float64]

#: Method names accepted by :func:`compute_weights`.
METHODS: tuple[str, ...] = ("expert", "equal", "ahp", "entropy", "critic", "pca", "combined")
#: Objective (data-driven) methods, usable as ``objective=`` in :func:`compute_weights`.
OBJECTIVE_METHODS: tuple[str, ...] = ("entropy", "critic", "pca")
#: Subjective methods, usable as ``subjective=`` in :func:`compute_weights`.
SUBJECTIVE_METHODS: tuple[str, ...] = ("expert", "equal", "ahp")

#: Saaty's random consistency index RI by matrix order n (Saaty 1980).
SAATY_RI: dict[int, float] = {
    1: 0.0, 2: 0.0, 3: 0.58, 4: 0.90, 5: 1.12, 6: 1.24, 7: 1.32, 8: 1.41, 9: 1.45, 10: 1.49,
    11: 1.51, 12: 1.48, 13: 1.56, 14: 1.57, 15: 1.59,
}
#: The random index re-estimated from 100,000 random matrices per order by Alonso & Lamata
#: (2006, Int. J. Uncertainty, Fuzziness and Knowledge-Based Systems 14(4), 445–459), used by
#: many current AHP tools.
ALONSO_LAMATA_RI: dict[int, float] = {
    1: 0.0, 2: 0.0, 3: 0.5247, 4: 0.8816, 5: 1.1086, 6: 1.2479, 7: 1.3417, 8: 1.4057,
    9: 1.4499, 10: 1.4854, 11: 1.5140, 12: 1.5365, 13: 1.5551, 14: 1.5713, 15: 1.5838,
}
#: Random-index tables by name (``ri_table=``).
RI_TABLES: dict[str, dict[int, float]] = {"saaty1980": SAATY_RI,
                                          "alonso_lamata": ALONSO_LAMATA_RI}
#: How a panel's matrices are combined (``how=`` of :func:`ahp_panel`).
PANEL_METHODS: tuple[str, ...] = ("judgements", "priorities")
#: Saaty's 1–9 scale and its reciprocals.
SAATY_SCALE: tuple[float, ...] = tuple([1.0 / k for k in range(9, 1, -1)]
                                       + [float(k) for k in range(1, 10)])

_RECIPROCAL_TOL = 1e-6

_BENEFIT = ("benefit", "higher", "正向")
_COST = ("cost", "lower", "逆向", "负向")


# --------------------------------------------------------------------------------------------
# Helpers shared by the methods
# --------------------------------------------------------------------------------------------


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


def expert_weights(points: ArrayLike) -> FloatArray:
    """Shares from the points (分值) an indicator file gives its leaves.

    ``points`` shape (..., n), in points, finite and >= 0 with a positive total. The total need not
    be 100: shares are points / total points.
    """
    return _normalise(points, where="expert points")


def equal_weights(n: int) -> FloatArray:
    """``n`` equal shares of 1/n each (``n`` >= 1 indicators)."""
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise InputError(where="equal weights", field="n", value=n,
                         problem="must be a whole number of indicators >= 1")
    return np.full(int(n), 1.0 / int(n))


# --------------------------------------------------------------------------------------------
# AHP
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AHPResult:
    """Result of :func:`ahp_weights`.

    Attributes
    ----------
    weights : shares (float64, shape (n,), sum 1) from the principal (Perron) eigenvector.
    lambda_max : principal eigenvalue λmax (>= n; equal to n for a consistent matrix).
    ci : consistency index CI = (λmax − n) / (n − 1); 0 for n <= 2.
    cr : consistency ratio CR = CI / RI; 0 for n <= 2.
    ri : Saaty's random index RI for this n (:data:`SAATY_RI`).
    """

    weights: FloatArray
    lambda_max: float
    ci: float
    cr: float
    ri: float


def _validate_pairwise(
    matrix: ArrayLike,
    codes: Sequence[str] | None = None,
    source: str | PathLike[str] | None = None,
) -> FloatArray:
    """Check a pairwise comparison matrix: square, 2 <= ... <= 15, finite, > 0, reciprocal."""
    where = "AHP matrix"
    a = _as_float(matrix, where, "matrix")
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise InputError(source, where, "shape", a.shape,
                         "must be a square n × n matrix of pairwise comparisons")
    n = a.shape[0]
    if n < 1:
        raise InputError(source, where, "shape", a.shape, "needs at least one indicator")
    if n > max(SAATY_RI):
        raise InputError(source, where, "n", n,
                         f"at most {max(SAATY_RI)} indicators can be compared at once (Saaty's "
                         "random index table); split them into groups under a parent indicator")
    labels = _labels(n, codes, where)

    def cell(i: int, j: int) -> str:
        return f"row {labels[i]}, column {labels[j]}"

    bad = np.argwhere(~np.isfinite(a) | ~(a > 0))
    if bad.size:
        i, j = (int(k) for k in bad[0])
        raise InputError(source, f"{where}, {cell(i, j)}", "a_ij", float(a[i, j]),
                         "comparisons must be finite numbers > 0 (Saaty's scale 1/9 … 9)")
    diag = np.argwhere(np.abs(np.diag(a) - 1.0) > _RECIPROCAL_TOL)
    if diag.size:
        i = int(diag[0, 0])
        raise InputError(source, f"{where}, {cell(i, i)}", "a_ii", float(a[i, i]),
                         "the diagonal must be 1 (an indicator compared with itself)")
    product = a * a.T
    off = np.argwhere(np.triu(np.abs(product - 1.0) > _RECIPROCAL_TOL, k=1))
    if off.size:
        i, j = (int(k) for k in off[0])
        raise InputError(
            source, f"{where}, {cell(i, j)}", "a_ij", float(a[i, j]),
            f"not reciprocal: a_ji ({cell(j, i)}) = {a[j, i]:g}, a_ij × a_ji = "
            f"{product[i, j]:.6g} but must be 1; set a_ji = 1 / a_ij",
        )
    return a


def _ri_table(ri_table: Any, source: Any = None) -> dict[int, float]:
    if ri_table not in RI_TABLES:
        raise InputError(source, "AHP", "ri_table", ri_table,
                         f"choose one of {', '.join(RI_TABLES)}")
    return RI_TABLES[ri_table]


def _eigen(a: FloatArray, table: dict[int, float]) -> tuple[FloatArray, float, float, float]:
    """Principal eigenvector (shares), λmax, CI and CR of a valid pairwise matrix."""
    n = a.shape[0]
    if n == 1:
        return np.ones(1), 1.0, 0.0, 0.0
    eigvals, eigvecs = np.linalg.eig(a)
    k = int(np.argmax(eigvals.real))
    lam = float(eigvals[k].real)
    v = eigvecs[:, k].real
    v = v / v.sum()
    if n <= 2:
        return v, lam, 0.0, 0.0
    ci = max((lam - n) / (n - 1), 0.0)  # λmax >= n in exact arithmetic
    return v, lam, ci, ci / table[n]


def ahp_weights(
    matrix: ArrayLike,
    cr_limit: float | None = 0.1,
    *,
    codes: Sequence[str] | None = None,
    source: str | PathLike[str] | None = None,
    ri_table: str = "saaty1980",
) -> AHPResult:
    """AHP (层次分析法) weights from a pairwise comparison matrix by Saaty's eigenvector method.

    ``matrix[i, j]`` says how many times more important indicator i is than indicator j (Saaty's
    1–9 scale; unitless). It must be square (n <= 15), finite, > 0, with a unit diagonal and
    reciprocal (a_ij · a_ji = 1 within 1e-6).

    The weights are the principal (Perron) eigenvector from ``numpy.linalg.eig``, real part,
    normalised to add up to 1. CI = (λmax − n)/(n − 1), CR = CI / RI with Saaty's random index
    :data:`SAATY_RI` (``ri_table='saaty1980'``, the default) or Alonso & Lamata's
    :data:`ALONSO_LAMATA_RI` (``ri_table='alonso_lamata'``); for n <= 2 the matrix is always
    consistent and CI = CR = 0.

    ``cr_limit`` (default 0.1): a CR above it raises :class:`InputError` naming the CR, because
    the judgements contradict each other too much, and the most inconsistent judgement with the
    value that would bring the CR down to the limit (:func:`inconsistent_judgement`). ``None``
    skips the check (the CR is still reported). ``codes`` and ``source`` only make error
    messages name indicators and the file.
    """
    if cr_limit is not None and not (isinstance(cr_limit, int | float | np.floating)
                                     and cr_limit >= 0 and not math.isnan(cr_limit)):
        raise InputError(source, "AHP", "cr_limit", cr_limit, "must be a number >= 0 or None")
    table = _ri_table(ri_table, source)
    a = _validate_pairwise(matrix, codes, source)
    n = a.shape[0]
    ri = table[n]
    v, lam, ci, cr = _eigen(a, table)
    if not (math.isfinite(lam) and np.all(np.isfinite(v)) and np.all(v > 0)):
        # Perron-Frobenius guarantees a positive vector; only overflow can get here
        raise InputError(source, "AHP matrix", "eigenvector", _short(v.tolist()),
                         "no positive principal eigenvector could be computed; check the "
                         "comparisons for extreme values")
    if cr_limit is not None and cr > cr_limit:
        hint = ""
        j = inconsistent_judgement(a, cr_limit, ri_table=ri_table, codes=codes)
        if j is not None:
            hint = f"; {j.describe()}"
        raise InputError(
            source, "AHP matrix", "CR", round(cr, 4),
            f"consistency ratio above the limit {cr_limit:g} (λmax = {lam:.4f}, CI = {ci:.4f}, "
            f"RI = {ri:g}); revise the comparisons{hint}",
        )
    return AHPResult(v, lam, ci, cr, ri)


@dataclass(frozen=True)
class Judgement:
    """The most inconsistent judgement of a pairwise matrix (:func:`inconsistent_judgement`):
    ``row``/``column`` (codes), the ``value`` a_ij given, the ratio w_i / w_j the weights imply
    (``implied``), ``suggestion``: the value closest to a_ij that brings the CR down to the
    limit (None if changing this judgement alone cannot), ``scale_value``: the nearest value on
    Saaty's scale (1/9 … 9) that does, and ``cr_after`` the CR with ``suggestion``."""

    row: str
    column: str
    value: float
    implied: float
    suggestion: float | None
    scale_value: float | None
    cr_after: float | None

    def describe(self) -> str:
        text = (f"the most inconsistent judgement is row {self.row}, column {self.column} = "
                f"{_judgement_text(self.value)} (the weights imply "
                f"{self.implied:.3g})")
        if self.suggestion is None:
            return text + "; changing it alone cannot bring the CR under the limit"
        text += f"; the CR reaches the limit at {self.suggestion:.3g}"
        if self.scale_value is not None:
            text += f" (on Saaty's scale: {_judgement_text(self.scale_value)})"
        return text


def _judgement_text(x: float) -> str:
    if x >= 1:
        return f"{x:g}"
    inv = 1.0 / x
    return f"1/{round(inv)}" if abs(inv - round(inv)) < 1e-9 else f"{x:.3g}"


def _cr_with(a: FloatArray, i: int, j: int, x: float, table: dict[int, float]) -> float:
    b = a.copy()
    b[i, j], b[j, i] = x, 1.0 / x
    return _eigen(b, table)[3]


def inconsistent_judgement(
    matrix: ArrayLike, cr_limit: float = 0.1, *, ri_table: str = "saaty1980",
    codes: Sequence[str] | None = None,
) -> Judgement | None:
    """The judgement a_ij (i < j) farthest from what the weights imply, |ln(a_ij w_j / w_i)|
    largest, and the value of a_ij closest to the given one (in ratio) at which the CR equals
    ``cr_limit`` (``scipy.optimize.brentq`` on the log of a_ij, between the given value and the
    value minimising the CR within Saaty's range 1/9 … 9). ``None`` for n <= 2 (always
    consistent)."""
    table = _ri_table(ri_table)
    a = _validate_pairwise(matrix, codes)
    n = a.shape[0]
    if n <= 2:
        return None
    labels = _labels(n, codes, "AHP matrix")
    w = _eigen(a, table)[0]
    dev = np.abs(np.log(a * w[None, :] / w[:, None]))
    dev[np.tril_indices(n)] = -1.0
    i, j = (int(k) for k in np.unravel_index(int(np.argmax(dev)), dev.shape))
    implied = float(w[i] / w[j])
    t0 = math.log(a[i, j])

    def f(t: float) -> float:
        return _cr_with(a, i, j, math.exp(t), table) - cr_limit

    lo, hi = math.log(1 / 9), math.log(9)
    best = minimize_scalar(f, bounds=(min(lo, t0), max(hi, t0)), method="bounded",
                           options={"xatol": 1e-10})
    suggestion = scale = cr_after = None
    if best.fun <= 0:
        if f(t0) <= 0:
            t_star = t0
        else:
            t_star = brentq(f, t0, best.x, xtol=1e-12)
        suggestion = math.exp(t_star)
        cr_after = f(t_star) + cr_limit
        ok = [x for x in SAATY_SCALE if f(math.log(x)) <= 0]
        if ok:
            scale = min(ok, key=lambda x: abs(math.log(x) - t0))
    return Judgement(labels[i], labels[j], float(a[i, j]), implied, suggestion, scale, cr_after)


@dataclass(frozen=True)
class AHPPanelResult:
    """Result of :func:`ahp_panel`: the panel's ``weights`` (shares), ``how`` they were
    combined, each expert's :class:`AHPResult` (``experts``), and for ``how='judgements'`` the
    combined matrix (``matrix``) and its :class:`AHPResult` (``combined``; ``None`` for
    ``'priorities'``, which combines weights, not matrices)."""

    weights: FloatArray
    how: str
    experts: tuple[AHPResult, ...]
    matrix: FloatArray | None
    combined: AHPResult | None


def ahp_panel(
    matrices: Sequence[ArrayLike],
    cr_limit: float | None = 0.1,
    *,
    how: str = "judgements",
    ri_table: str = "saaty1980",
    codes: Sequence[str] | None = None,
    sources: Sequence[str | None] | None = None,
) -> AHPPanelResult:
    """AHP weights of a panel of experts, each giving a pairwise matrix of the same indicators
    in the same order.

    ``how='judgements'`` (default; aggregation of individual judgements, Aczél & Saaty 1983,
    Forman & Peniwati 1998): the combined matrix is the element-wise geometric mean of the
    experts' matrices — still reciprocal — and its eigenvector gives the weights; ``cr_limit``
    applies to the combined matrix. ``how='priorities'`` (aggregation of individual
    priorities): each expert's eigenvector weights, combined by their geometric mean and
    normalised to add up to 1; ``cr_limit`` applies to every expert. Every expert's CR is
    reported either way (``experts``). A CR above the limit raises :class:`InputError` naming
    the expert (its source) or the combined matrix, and the most inconsistent judgement with
    the value that would bring the CR down to the limit. One matrix is a panel of one.
    """
    if how not in PANEL_METHODS:
        raise InputError(where="AHP panel", field="how", value=how,
                         problem=f"choose one of {', '.join(PANEL_METHODS)}")
    _ri_table(ri_table)
    mats = [_validate_pairwise(m, codes, None if sources is None else sources[k])
            for k, m in enumerate(matrices)]
    if not mats:
        raise InputError(where="AHP panel", field="matrices", problem="needs at least one matrix")
    shapes = {m.shape for m in mats}
    if len(shapes) != 1:
        raise InputError(where="AHP panel", field="shape", value=sorted(shapes)[-1],
                         problem="every expert must compare the same indicators")
    srcs = list(sources) if sources is not None else [None] * len(mats)

    def label(k: int) -> str | None:
        return srcs[k] if srcs[k] else None

    limit_each = cr_limit if how == "priorities" else None
    experts = []
    for k, m in enumerate(mats):
        try:
            experts.append(ahp_weights(m, limit_each, codes=codes, source=label(k),
                                       ri_table=ri_table))
        except InputError as err:
            place = f"expert {k + 1}" + (f", {err.where}" if err.where else "")
            raise InputError(err.source, place, err.field,
                             err.value if err.has_value else None, err.problem) from None
    if how == "priorities":
        g = np.exp(np.mean([np.log(e.weights) for e in experts], axis=0))
        return AHPPanelResult(g / g.sum(), how, tuple(experts), None, None)
    combined_matrix = np.exp(np.mean([np.log(m) for m in mats], axis=0))
    combined_matrix = np.sqrt(combined_matrix / combined_matrix.T)  # exactly reciprocal
    try:
        res = ahp_weights(combined_matrix, cr_limit, codes=codes, ri_table=ri_table)
    except InputError as err:
        raise InputError(err.source, f"AHP panel of {len(mats)}, combined matrix", err.field,
                         err.value, err.problem) from None
    return AHPPanelResult(res.weights, how, tuple(experts), combined_matrix, res)


def _parse_judgement(text: str) -> float:
    t = text.strip()
    if not t:
        raise ValueError("empty")
    if "/" in t:
        return float(Fraction(t.replace(" ", "")))
    return float(t)


def ahp_matrix_from_csv(path: str | PathLike[str]) -> tuple[list[str], FloatArray]:
    """Read a pairwise comparison matrix from a CSV file.

    The header row holds the indicator codes after one leading cell (its text is ignored); each
    following row starts with a code, in the same order as the header, then the comparisons of
    that row's indicator with each column's indicator. Cells are numbers such as ``3``, ``0.2`` or
    fractions such as ``1/3``. Returns ``(codes, matrix)`` after checking the matrix is square,
    positive, reciprocal and has a unit diagonal; the consistency ratio is checked by
    :func:`ahp_weights`. Errors name the file, the row and column codes and the value.
    """
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            rows = [r for r in csv.reader(fh) if any(c.strip() for c in r)]
    except OSError as exc:
        raise InputError(path, problem=f"cannot read the AHP matrix file ({exc.strerror})"
                         ) from None
    if not rows:
        raise InputError(path, problem="the file is empty; expected a header row of codes")
    header = [c.strip() for c in rows[0][1:]]
    while header and header[-1] == "":
        header.pop()
    if not header:
        raise InputError(path, "header row", problem="no indicator codes after the first cell")
    for j, code in enumerate(header):
        if not code:
            raise InputError(path, "header row", f"column {j + 2}", "",
                             "empty indicator code")
    dup = sorted({c for c in header if header.count(c) > 1})
    if dup:
        raise InputError(path, "header row", "code", dup[0], "appears more than once")
    n = len(header)
    body = rows[1:]
    if len(body) != n:
        raise InputError(path, problem=f"the header names {n} indicators but there are "
                         f"{len(body)} rows; the matrix must be square")
    matrix = np.empty((n, n))
    for i, row in enumerate(body):
        code = row[0].strip()
        if code != header[i]:
            raise InputError(path, f"row {i + 2}", "code", code,
                             f"rows must list the codes in the header's order; expected "
                             f"{header[i]!r}")
        cells = row[1:]
        while len(cells) > n and cells[-1].strip() == "":
            cells.pop()
        if len(cells) != n:
            raise InputError(path, f"row {code}", "cells", len(cells),
                             f"expected {n} comparisons, one per header code")
        for j, text in enumerate(cells):
            try:
                matrix[i, j] = _parse_judgement(text)
            except (ValueError, ZeroDivisionError):
                raise InputError(path, f"AHP matrix, row {code}, column {header[j]}", "a_ij",
                                 text.strip(), "not a number; write e.g. 3, 0.2 or 1/3") from None
    _validate_pairwise(matrix, header, path)
    return header, matrix


# --------------------------------------------------------------------------------------------
# Objective methods
# --------------------------------------------------------------------------------------------


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


def _decision_matrix(
    X: ArrayLike, directions: Sequence[str], codes: Sequence[str] | None, method: str
) -> tuple[FloatArray, NDArray[np.int8], list[str]]:
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
    bad = np.argwhere(~np.isfinite(x))
    if bad.size:
        i, j = (int(k) for k in bad[0])
        raise InputError(where=f"{where}, project row {i + 1}", field=labels[j],
                         value=float(x[i, j]), problem="must be a finite number")
    signs = direction_signs(directions, n, labels)
    with np.errstate(over="ignore"):
        wide = np.flatnonzero(~np.isfinite(x.max(axis=0) - x.min(axis=0)))
    if wide.size:
        j = int(wide[0])
        raise InputError(where=where, field=labels[j], value=float(x.max(axis=0)[j]),
                         problem="the column's range overflows float64; rescale its unit")
    const = np.flatnonzero(x.max(axis=0) == x.min(axis=0))
    if const.size:
        j = int(const[0])
        raise InputError(
            where=where, field=labels[j], value=float(x[0, j]),
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
    """
    x, signs, _ = _decision_matrix(X, directions, codes, "min-max")
    return _minmax(x, signs)


def _minmax(x: FloatArray, signs: NDArray[np.int8]) -> FloatArray:
    lo = x.min(axis=0)
    hi = x.max(axis=0)
    span = hi - lo
    return np.where(signs > 0, (x - lo) / span, (hi - x) / span)


def entropy_weights_normalised(Y: ArrayLike, *, codes: Sequence[str] | None = None) -> FloatArray:
    """Entropy weights of an already normalised, non-negative matrix ``Y`` (projects m >= 2,
    indicators n), higher = better in every column.

    p_ij = y_ij / Σ_i y_ij; e_j = −Σ_i p_ij ln p_ij / ln m with 0 · ln 0 = 0; d_j = 1 − e_j;
    w_j = d_j / Σ_k d_k. On a strictly positive ``Y`` this equals
    ``pymcdm.weights.entropy_weights(Y)``. A column of zeros, or a matrix where every column is
    uniform (all d_j = 0), raises :class:`InputError`.
    """
    where = "entropy weights"
    y = _as_float(Y, where, "Y")
    if y.ndim != 2 or y.shape[0] < 2 or y.shape[1] < 1:
        raise InputError(where=where, field="Y shape", value=y.shape,
                         problem="must be 2-D with at least 2 projects and 1 indicator")
    m, n = y.shape
    labels = _labels(n, codes, where)
    bad = np.argwhere(~np.isfinite(y) | (y < 0))
    if bad.size:
        i, j = (int(k) for k in bad[0])
        raise InputError(where=f"{where}, project row {i + 1}", field=labels[j],
                         value=float(y[i, j]), problem="normalised values must be finite and >= 0")
    col = y.sum(axis=0)
    zero = np.flatnonzero(col <= 0)
    if zero.size:
        j = int(zero[0])
        raise InputError(where=where, field=labels[j], value=0.0,
                         problem="the normalised column is all zero; the entropy is undefined")
    p = y / col
    with np.errstate(divide="ignore", invalid="ignore"):
        plogp = np.where(p > 0, p * np.log(p), 0.0)
    e = -plogp.sum(axis=0) / np.log(m)
    d = np.clip(1.0 - e, 0.0, None)  # e <= 1 in exact arithmetic
    total = d.sum()
    if not total > 1e-12:
        raise InputError(where=where, field="divergence", value=0.0,
                         problem="every indicator is spread evenly over the projects, so the "
                         "entropy method gives no information; use another method")
    return d / total


def entropy_weights(
    X: ArrayLike, directions: Sequence[str], *, codes: Sequence[str] | None = None
) -> FloatArray:
    """Entropy weight method (熵权法) for a decision matrix.

    ``X`` shape (projects m >= 2, indicators n): raw values in each indicator's unit.
    ``directions``: one of ``'benefit'``/``'higher'`` or ``'cost'``/``'lower'`` per indicator.

    Convention: min-max normalise towards higher = better (benefit (x − min)/(max − min), cost
    (max − x)/(max − min)), then :func:`entropy_weights_normalised` with 0 · ln 0 = 0 (the worst
    project of every column has y = 0 and contributes nothing). Returns shares, shape (n,), sum 1.
    A constant column raises :class:`InputError` (zero variance makes the method degenerate);
    ``codes`` name the indicators in messages.
    """
    x, signs, labels = _decision_matrix(X, directions, codes, "entropy")
    return entropy_weights_normalised(_minmax(x, signs), codes=labels)


def critic_weights(
    X: ArrayLike, directions: Sequence[str], *, codes: Sequence[str] | None = None
) -> FloatArray:
    """CRITIC weights (Diakoulaki et al. 1995) for a decision matrix.

    ``X`` shape (projects m >= 2, indicators n), raw values; ``directions`` as in
    :func:`entropy_weights`. Convention (same as ``pymcdm.weights.critic_weights`` on the
    direction-adjusted matrix): min-max normalise towards higher = better; s_j = sample standard
    deviation (ddof=1) of normalised column j; r = Pearson correlation matrix of the normalised
    columns; C_j = s_j · Σ_k (1 − r_jk); w = C / Σ C (the ddof only rescales every C_j by the
    same factor, so it does not change the weights). Returns shares, shape (n,), sum 1.
    A constant column raises :class:`InputError`.
    """
    x, signs, labels = _decision_matrix(X, directions, codes, "CRITIC")
    y = _minmax(x, signs)
    s = y.std(axis=0, ddof=1)
    if y.shape[1] == 1:
        return np.ones(1)
    r = np.corrcoef(y, rowvar=False)
    c = s * (1.0 - r).sum(axis=0)
    c = np.where(c < 0, 0.0, c)  # only rounding can make Σ(1 − r) negative
    total = c.sum()
    if not (np.isfinite(total) and total > 0):
        raise InputError(where="CRITIC weights", field="C", value=_short(c.tolist()),
                         problem="every indicator is perfectly correlated with every other, so "
                         "CRITIC gives no information; use another method")
    return c / total


def pca_weights(
    X: ArrayLike,
    directions: Sequence[str],
    variance_kept: float = 0.85,
    *,
    codes: Sequence[str] | None = None,
) -> FloatArray:
    """Principal-component weights (主成分分析法) for a decision matrix.

    ``X`` shape (projects m >= 2, indicators n), raw values; ``directions`` as in
    :func:`entropy_weights`.

    Convention:

    1. z-score each direction-adjusted column (cost columns negated), so PCA runs on the
       correlation matrix R (n × n);
    2. eigen-decompose R with ``numpy.linalg.eigh``; eigenvalues λ_1 >= λ_2 >= ... (clipped at 0)
       with explained-variance shares π_k = λ_k / Σ λ;
    3. keep the fewest leading components whose cumulative share reaches ``variance_kept``
       (in (0, 1], default 0.85);
    4. w_j ∝ Σ_kept π_k · |v_jk|, where v_k is the k-th *unit* eigenvector (the coefficient of
       indicator j in component k, not scaled by √λ_k); normalise to add up to 1.

    Because of the absolute value the eigenvectors' sign (and each indicator's direction) does not
    change the weights; directions are still checked. With tied eigenvalues among the kept
    components the eigenvectors, and so the weights, are not unique. Returns shares, shape (n,).
    A constant column raises :class:`InputError`.
    """
    if not (isinstance(variance_kept, int | float | np.floating)
            and 0 < variance_kept <= 1):
        raise InputError(where="PCA weights", field="variance_kept", value=variance_kept,
                         problem="must be a share in (0, 1]")
    x, signs, _ = _decision_matrix(X, directions, codes, "PCA")
    n = x.shape[1]
    if n == 1:
        return np.ones(1)
    z = x * signs
    z = (z - z.mean(axis=0)) / z.std(axis=0)
    r = (z.T @ z) / z.shape[0]
    r = (r + r.T) / 2.0
    lam, vecs = np.linalg.eigh(r)
    order = np.argsort(lam)[::-1]
    lam = np.clip(lam[order], 0.0, None)
    vecs = vecs[:, order]
    share = lam / lam.sum()
    cum = np.cumsum(share)
    k = int(np.searchsorted(cum, variance_kept - 1e-12)) + 1
    k = min(k, n)
    w = np.abs(vecs[:, :k]) @ share[:k]
    return _normalise(w, where="PCA weights")


# --------------------------------------------------------------------------------------------
# Combination and uncertainty
# --------------------------------------------------------------------------------------------


def _check_alpha(alpha: Any) -> None:
    if not (isinstance(alpha, int | float | np.floating | np.integer)
            and not isinstance(alpha, bool) and 0.0 <= alpha <= 1.0):
        raise InputError(where="combined weights", field="alpha", value=alpha,
                         problem="must be in [0, 1] (the share of the subjective weights)")


def _check_combine(value: Any, name: str) -> None:
    if value not in ("additive", "multiplicative"):
        raise InputError(where="combined weights", field=name, value=value,
                         problem="must be 'additive' or 'multiplicative'")


def combined_weights(
    subjective: ArrayLike,
    objective: ArrayLike,
    alpha: float = 0.5,
    method: str = "additive",
) -> FloatArray:
    """Combine subjective and objective weights (主客观组合赋权).

    Both inputs are non-negative weights of the same length n (normalised to shares first).
    ``method='additive'``: α · s + (1 − α) · o, with ``alpha`` in [0, 1] the share given to the
    subjective weights. ``method='multiplicative'``: s · o / Σ (s · o) (``alpha`` unused).
    Returns shares, sum 1 along the last axis.
    """
    _check_combine(method, "method")
    _check_alpha(alpha)
    s = _normalise(subjective, where="subjective weights")
    o = _normalise(objective, where="objective weights")
    if s.shape[-1] != o.shape[-1]:
        raise InputError(where="combined weights", field="length",
                         value=f"{s.shape[-1]} subjective vs {o.shape[-1]} objective",
                         problem="both must weight the same indicators")
    if method == "additive":
        return alpha * s + (1.0 - alpha) * o
    prod = s * o
    if np.any(prod.sum(axis=-1) <= 0):
        raise InputError(where="combined weights", field="s · o", value=0.0,
                         problem="no indicator has a positive subjective and objective weight; "
                         "the multiplicative combination is undefined")
    return _normalise(prod, where="combined weights")


def _rng(rng: Any) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, int | np.integer | np.random.SeedSequence) and not isinstance(rng, bool):
        return np.random.default_rng(rng)
    raise InputError(field="rng", value=_short(rng),
                     problem="must be a numpy.random.Generator (or an int seed)")


def _draws(n: int) -> int:
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 0:
        raise InputError(field="n", value=n, problem="must be a whole number of draws >= 0")
    return int(n)


def dirichlet_weights(
    base: ArrayLike, concentration: float, n: int, rng: np.random.Generator | int
) -> FloatArray:
    """``n`` random weight vectors around ``base`` from Dirichlet(concentration · base).

    ``base``: weights (normalised to shares), shape (k,). ``concentration`` > 0 (unitless): the
    larger, the closer the draws stay to ``base`` (each share has mean base_j and variance
    base_j (1 − base_j) / (concentration + 1)). Indicators with base weight 0 stay at 0.
    ``rng``: a ``numpy.random.Generator`` (an int seed is accepted). Returns shape (n, k); rows
    add up to 1.
    """
    b = _normalise(base, where="base weights")
    if b.ndim != 1:
        raise InputError(where="dirichlet weights", field="base shape", value=b.shape,
                         problem="must be 1-D: one weight per indicator")
    if not (isinstance(concentration, int | float | np.floating | np.integer)
            and math.isfinite(concentration) and concentration > 0):
        raise InputError(where="dirichlet weights", field="concentration", value=concentration,
                         problem="must be a finite number > 0")
    size = _draws(n)
    gen = _rng(rng)
    out = np.zeros((size, b.size))
    pos = b > 0
    if size:
        out[:, pos] = gen.dirichlet(concentration * b[pos], size=size)
    sums = out.sum(axis=1, keepdims=True)
    if not (np.all(np.isfinite(out)) and np.all(sums > 0)):
        raise InputError(where="dirichlet weights", field="concentration", value=concentration,
                         problem="too small: the draws underflow; use a larger concentration")
    return out / sums


def perturb_weights(
    base: ArrayLike, pct: float, n: int, rng: np.random.Generator | int
) -> FloatArray:
    """``n`` perturbed copies of ``base``: each weight × Uniform(1 − pct, 1 + pct), renormalised.

    ``base``: weights (normalised to shares), shape (k,). ``pct`` in [0, 1): the largest relative
    change of a weight before renormalising (0.2 = ±20 %). ``rng``: a ``numpy.random.Generator``
    (an int seed is accepted). Returns shape (n, k); rows add up to 1.
    """
    b = _normalise(base, where="base weights")
    if b.ndim != 1:
        raise InputError(where="perturb weights", field="base shape", value=b.shape,
                         problem="must be 1-D: one weight per indicator")
    if not (isinstance(pct, int | float | np.floating | np.integer)
            and not isinstance(pct, bool) and 0.0 <= pct < 1.0):
        raise InputError(where="perturb weights", field="pct", value=pct,
                         problem="must be in [0, 1) (0.2 means ±20 %)")
    size = _draws(n)
    factors = _rng(rng).uniform(1.0 - pct, 1.0 + pct, size=(size, b.size))
    w = b * factors
    return w / w.sum(axis=1, keepdims=True)


# --------------------------------------------------------------------------------------------
# Dispatcher
# --------------------------------------------------------------------------------------------


def _n_indicators(points: Any, X: Any, matrix: Any, codes: Any) -> int | None:
    for candidate, axis in ((points, -1), (X, -1), (matrix, -1)):
        if candidate is not None:
            shape = np.shape(candidate)
            if shape:
                return int(shape[axis])
    if codes is not None:
        return len(codes)
    return None


def _need(method: str, **given: Any) -> None:
    missing = [name for name, value in given.items() if value is None]
    if missing:
        raise InputError(where=f"{method} weights", field=missing[0],
                         problem=f"the {method} method needs {' and '.join(missing)}")


def compute_weights(
    method: str,
    *,
    points: ArrayLike | None = None,
    X: ArrayLike | None = None,
    directions: Sequence[str] | None = None,
    matrix: ArrayLike | None = None,
    alpha: float = 0.5,
    objective: str = "entropy",
    subjective: str = "expert",
    combine: str = "additive",
    cr_limit: float | None = 0.1,
    variance_kept: float = 0.85,
    codes: Sequence[str] | None = None,
    ri_table: str = "saaty1980",
) -> FloatArray:
    """Weights (shares, sum 1) by the method named ``method`` (one of :data:`METHODS`).

    Inputs each method needs (others are ignored):

    - ``'expert'``: ``points`` (the indicator file's points);
    - ``'equal'``: the number of indicators, taken from ``points``, ``X``, ``matrix`` or
      ``codes``;
    - ``'ahp'``: ``matrix`` (pairwise comparisons), ``cr_limit`` and ``ri_table``;
    - ``'entropy'``, ``'critic'``, ``'pca'``: ``X`` (projects × indicators) and ``directions``
      (``variance_kept`` for PCA);
    - ``'combined'``: the ``subjective`` method's inputs (``'expert'`` → ``points``, ``'ahp'`` →
      ``matrix``, ``'equal'``) and the ``objective`` method's (``X``, ``directions``), combined
      with ``combine`` (``'additive'`` with ``alpha`` or ``'multiplicative'``).

    ``codes`` name indicators in error messages.
    """
    if method not in METHODS:
        raise InputError(where="weighting", field="method", value=method,
                         problem=f"unknown method; choose one of {', '.join(METHODS)}")
    if method == "expert":
        _need(method, points=points)
        return expert_weights(points)
    if method == "equal":
        n = _n_indicators(points, X, matrix, codes)
        if n is None:
            raise InputError(where="equal weights", field="n",
                             problem="give points, X, matrix or codes so the number of "
                             "indicators is known")
        return equal_weights(n)
    if method == "ahp":
        _need(method, matrix=matrix)
        return ahp_weights(matrix, cr_limit, codes=codes, ri_table=ri_table).weights
    if method in OBJECTIVE_METHODS:
        _need(method, X=X, directions=directions)
        if method == "entropy":
            return entropy_weights(X, directions, codes=codes)
        if method == "critic":
            return critic_weights(X, directions, codes=codes)
        return pca_weights(X, directions, variance_kept, codes=codes)
    # combined
    if objective not in OBJECTIVE_METHODS:
        raise InputError(where="combined weights", field="objective", value=objective,
                         problem=f"choose one of {', '.join(OBJECTIVE_METHODS)}")
    if subjective not in SUBJECTIVE_METHODS:
        raise InputError(where="combined weights", field="subjective", value=subjective,
                         problem=f"choose one of {', '.join(SUBJECTIVE_METHODS)}")
    _check_combine(combine, "combine")
    _check_alpha(alpha)
    subj = compute_weights(subjective, points=points, X=X, matrix=matrix, cr_limit=cr_limit,
                           codes=codes, ri_table=ri_table)
    obj = compute_weights(objective, X=X, directions=directions, variance_kept=variance_kept,
                          codes=codes)
    return combined_weights(subj, obj, alpha, combine)
