"""AHP (层次分析法): Saaty's principal-eigenvector weights of a pairwise comparison matrix,
the consistency ratio against a random-index table, and the judgement that most breaks
consistency."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from os import PathLike
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy.optimize import brentq, minimize_scalar

from perfsim.errors import InputError
from perfsim.kernel.weighting.base import FloatArray, _as_float, _labels, _short

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


#: Saaty's later random index (Saaty 2005, *Theory and Applications of the Analytic Network
#: Process*, RWS Publications, p. 31), the ``random_index='saaty'`` option of the AHPy
#: package.
SAATY_2005_RI: dict[int, float] = {
    1: 0.0, 2: 0.0, 3: 0.52, 4: 0.89, 5: 1.11, 6: 1.25, 7: 1.35, 8: 1.40, 9: 1.45, 10: 1.49,
    11: 1.52, 12: 1.54, 13: 1.56, 14: 1.58, 15: 1.59,
}


#: The random index of Donegan & Dodd (1991, "A note on Saaty's random indexes", Mathematical
#: and Computer Modelling 15(10), 135–137), the default of the AHPy package
#: (``random_index='dd'``).
DONEGAN_DODD_RI: dict[int, float] = {
    1: 0.0, 2: 0.0, 3: 0.4914, 4: 0.8286, 5: 1.0591, 6: 1.1797, 7: 1.2519, 8: 1.3171,
    9: 1.3733, 10: 1.4055, 11: 1.4213, 12: 1.4497, 13: 1.4643, 14: 1.4822, 15: 1.4969,
}


#: Random-index tables by name (``ri_table=``), with the publication each comes from.
RI_TABLES: dict[str, dict[int, float]] = {"saaty1980": SAATY_RI,
                                          "alonso_lamata": ALONSO_LAMATA_RI,
                                          "saaty2005": SAATY_2005_RI,
                                          "donegan_dodd": DONEGAN_DODD_RI}
RI_SOURCES: dict[str, str] = {
    "saaty1980": "Saaty 1980",
    "alonso_lamata": "Alonso & Lamata 2006",
    "saaty2005": "Saaty 2005 (AHPy's 'saaty')",
    "donegan_dodd": "Donegan & Dodd 1991 (AHPy's default 'dd')",
}


#: Saaty's 1–9 scale and its reciprocals.
SAATY_SCALE: tuple[float, ...] = tuple([1.0 / k for k in range(9, 1, -1)]
                                       + [float(k) for k in range(1, 10)])


_RECIPROCAL_TOL = 1e-6


@dataclass(frozen=True)
class AHPResult:
    """Result of :func:`ahp_weights`.

    Attributes
    ----------
    weights : shares (float64, shape (n,), sum 1) from the principal (Perron) eigenvector.
    lambda_max : principal eigenvalue λmax (>= n; equal to n for a consistent matrix).
    ci : consistency index CI = (λmax − n) / (n − 1); 0 for n <= 2.
    cr : consistency ratio CR = CI / RI; 0 for n <= 2.
    ri : the random index RI for this n from the chosen table (:data:`RI_TABLES`).
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
    :data:`SAATY_RI` (``ri_table='saaty1980'``, the default), Alonso & Lamata's
    :data:`ALONSO_LAMATA_RI` (``'alonso_lamata'``), Saaty's 2005 :data:`SAATY_2005_RI`
    (``'saaty2005'``) or Donegan & Dodd's :data:`DONEGAN_DODD_RI` (``'donegan_dodd'``); for
    n <= 2 the matrix is always
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
