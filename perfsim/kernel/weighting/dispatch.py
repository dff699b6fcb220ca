"""One entry point for every method by name (:func:`compute_weights`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from perfsim.errors import InputError
from perfsim.kernel.weighting.ahp import ahp_weights
from perfsim.kernel.weighting.base import FloatArray
from perfsim.kernel.weighting.combined import _check_alpha, _check_combine, combined_weights
from perfsim.kernel.weighting.critic import critic_weights
from perfsim.kernel.weighting.entropy import entropy_weights
from perfsim.kernel.weighting.equal import equal_weights
from perfsim.kernel.weighting.expert import expert_weights
from perfsim.kernel.weighting.optimised import optimised_weights
from perfsim.kernel.weighting.pca import pca_weights

#: Method names accepted by :func:`compute_weights`.
METHODS: tuple[str, ...] = ("expert", "equal", "ahp", "entropy", "critic", "pca", "optimised",
                            "combined")


#: Objective (data-driven) methods, usable as ``objective=`` in :func:`compute_weights`.
OBJECTIVE_METHODS: tuple[str, ...] = ("entropy", "critic", "pca", "optimised")


#: Subjective methods, usable as ``subjective=`` in :func:`compute_weights`.
SUBJECTIVE_METHODS: tuple[str, ...] = ("expert", "equal", "ahp")


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
    target: ArrayLike | None = None,
    rows: Sequence[int] | None = None,
) -> FloatArray:
    """Weights (shares, sum 1) by the method named ``method`` (one of :data:`METHODS`).

    Inputs each method needs (others are ignored):

    - ``'expert'``: ``points`` (the indicator file's points);
    - ``'equal'``: the number of indicators, taken from ``points``, ``X``, ``matrix`` or
      ``codes``;
    - ``'ahp'``: ``matrix`` (pairwise comparisons), ``cr_limit`` and ``ri_table``;
    - ``'entropy'``, ``'critic'``, ``'pca'``, ``'optimised'``: ``X`` (projects × indicators)
      and ``directions`` (``variance_kept`` for PCA; ``target`` importance shares for
      ``optimised``, default equal: :mod:`perfsim.kernel.weighting.optimised`);
    - ``'combined'``: the ``subjective`` method's inputs (``'expert'`` → ``points``, ``'ahp'`` →
      ``matrix``, ``'equal'``) and the ``objective`` method's (``X``, ``directions``), combined
      with ``combine`` (``'additive'`` with ``alpha`` or ``'multiplicative'``).

    ``codes`` name indicators in error messages, ``rows`` the rows of ``X`` (as the caller's
    file numbers them). NaN cells of ``X`` are missing values the objective methods leave out
    (each method's docstring says how).
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
            return entropy_weights(X, directions, codes=codes, rows=rows)
        if method == "critic":
            return critic_weights(X, directions, codes=codes, rows=rows)
        if method == "optimised":
            return optimised_weights(X, directions, target=target, codes=codes, rows=rows)
        return pca_weights(X, directions, variance_kept, codes=codes, rows=rows)
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
                          codes=codes, target=target, rows=rows)
    return combined_weights(subj, obj, alpha, combine)
