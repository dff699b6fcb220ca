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
``optimised``
    weights whose importance (each indicator's correlation with the index, as shares) hits a
    target, equal by default (COINr's ``get_opt_weights``): see
    :mod:`~perfsim.kernel.weighting.optimised`.
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
One file per method, each standing on :mod:`~perfsim.kernel.weighting.base`: ``expert``,
``equal``, ``ahp`` (and ``ahp_panel`` for expert panels and CSV matrices); ``objective`` (the
decision matrix) under ``entropy``, ``critic`` and ``pca``; ``combined``; ``perturb``
(Dirichlet and uniform draws); ``dispatch`` (:func:`compute_weights`). Every name is importable
from this package.
"""

from __future__ import annotations

from perfsim.kernel.weighting.ahp import (
    ALONSO_LAMATA_RI,
    RI_TABLES,
    SAATY_RI,
    SAATY_SCALE,
    AHPResult,
    Judgement,
    ahp_weights,
    inconsistent_judgement,
)
from perfsim.kernel.weighting.ahp_panel import (
    PANEL_METHODS,
    AHPPanelResult,
    ahp_matrix_from_csv,
    ahp_panel,
)
from perfsim.kernel.weighting.base import FloatArray, normalise, to_points
from perfsim.kernel.weighting.combined import combined_weights
from perfsim.kernel.weighting.critic import critic_weights
from perfsim.kernel.weighting.dispatch import (
    METHODS,
    OBJECTIVE_METHODS,
    SUBJECTIVE_METHODS,
    compute_weights,
)
from perfsim.kernel.weighting.entropy import entropy_weights, entropy_weights_normalised
from perfsim.kernel.weighting.equal import equal_weights
from perfsim.kernel.weighting.expert import expert_weights
from perfsim.kernel.weighting.objective import direction_signs, minmax_normalise
from perfsim.kernel.weighting.optimised import optimised_weights
from perfsim.kernel.weighting.pca import pca_weights
from perfsim.kernel.weighting.perturb import dirichlet_weights, perturb_weights

__all__ = [
    "ALONSO_LAMATA_RI",
    "METHODS",
    "OBJECTIVE_METHODS",
    "PANEL_METHODS",
    "RI_TABLES",
    "SAATY_RI",
    "SAATY_SCALE",
    "SUBJECTIVE_METHODS",
    "AHPPanelResult",
    "AHPResult",
    "FloatArray",
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
    "optimised_weights",
    "pca_weights",
    "perturb_weights",
    "inconsistent_judgement",
    "to_points",
]
