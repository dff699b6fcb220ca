"""AHP expert panels (the aggregated judgements or priorities of several experts) and
pairwise matrices read from CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from os import PathLike

import numpy as np
from numpy.typing import ArrayLike

from perfsim import textfiles
from perfsim.errors import InputError
from perfsim.kernel.weighting.ahp import (
    AHPResult,
    _ri_table,
    _validate_pairwise,
    ahp_weights,
)
from perfsim.kernel.weighting.base import FloatArray

#: How a panel's matrices are combined (``how=`` of :func:`ahp_panel`).
PANEL_METHODS: tuple[str, ...] = ("judgements", "priorities")


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
        rows = [r for r in csv.reader(io.StringIO(textfiles.read_text(path)[0], newline=""))
                if any(c.strip() for c in r)]
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
