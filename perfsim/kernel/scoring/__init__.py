"""Leaf scoring rules and aggregation to a total score.

Every rule turns measured values into an **attainment**: the share in [0, 1] of the leaf's points
that the project earns. Rules are vectorised: ``values`` may have any shape (replications ×
projects, or projects). The points a leaf earns are ``attainment * points``; the total score is
``attainment @ points`` (arrays shaped (..., indicators)), so changing weights (see
:mod:`perfsim.kernel.weighting`) rescales leaves without re-running the rules.

Deduction rules work in points (e.g. −1 point per 5 days late): their attainment is
``max(points − deduction, 0) / points`` at the points written in the indicator file.

Each rule also has ``invert(attainment)``: a measured value that earns (about) that attainment.
The synthetic portfolio generator uses it to write realistic raw measurements, and
``check(values, aux)``: the cells a rule refuses (an assessor's points outside [0, max] or
outside the band), which the portfolio loader reports by row. A rule owns its behaviour in
measurement space and in the objective weighting methods: which way a raw measured value raises
the score (``value_direction``), the measured units per unit of latent attainment (``slope``)
and the measured value when the latent attainment moves (``measured_value``); a rule class
that leaves any of them to the base fails when it is created (:data:`OWN`).

Published tables round leaf points and totals (四舍五入, usually to two decimals):
:func:`round_half_up` is the one rounding step, applied where scores are computed
(:class:`perfsim.kernel.evaluation.Measure`).

One file per rule family, each standing on :mod:`~perfsim.kernel.scoring.base`:
``cells`` (each project's own leaves on padded arrays),
``proportional`` (proportional, linear, execution rate), ``threshold`` (threshold,
all-or-nothing), ``deduct`` (deduct, share), ``graded``, ``ratio`` (ratio of a score, grade
points), ``assessed``, ``bonus``, ``recheck``; ``registry`` names them by kind; ``targets``
scores a rule against each project's own target; ``rounding`` and ``aggregation`` make the
total score. Every name is importable from this package.
"""

from __future__ import annotations

from perfsim.kernel.scoring.aggregation import (
    AGGREGATIONS,
    GROUP_METHODS,
    ORDINAL_CUTOFFS,
    ORDINAL_SCORES,
    WITHIN,
    bonus_total,
    group_shares,
    ordinal_total,
    total_score,
)
from perfsim.kernel.scoring.assessed import Assessed
from perfsim.kernel.scoring.base import DIRECTIONS, GAP_MODES, OWN, Rule, SlopePart, along_slope
from perfsim.kernel.scoring.bonus import Bonus
from perfsim.kernel.scoring.cells import (
    CELL_KINDS,
    cell_attain_latent,
    cell_attain_rows,
    cell_attainment,
    cell_groups,
    cell_total,
)
from perfsim.kernel.scoring.deduct import Deduct, Share
from perfsim.kernel.scoring.graded import Graded
from perfsim.kernel.scoring.proportional import ExecutionRate, Linear, Proportional
from perfsim.kernel.scoring.ratio import GradePoints, RatioOfScore
from perfsim.kernel.scoring.recheck import Recheck, gap_penalty
from perfsim.kernel.scoring.registry import RULES, make_rule
from perfsim.kernel.scoring.rounding import round_half_up
from perfsim.kernel.scoring.targets import TARGETED, with_targets
from perfsim.kernel.scoring.threshold import AllOrNothing, Threshold

__all__ = [
    "AGGREGATIONS",
    "CELL_KINDS",
    "DIRECTIONS",
    "GAP_MODES",
    "ORDINAL_CUTOFFS",
    "ORDINAL_SCORES",
    "OWN",
    "RULES",
    "TARGETED",
    "WITHIN",
    "GROUP_METHODS",
    "ordinal_total",
    "AllOrNothing",
    "Assessed",
    "Bonus",
    "Deduct",
    "ExecutionRate",
    "GradePoints",
    "Graded",
    "Linear",
    "Proportional",
    "RatioOfScore",
    "Recheck",
    "Rule",
    "Share",
    "SlopePart",
    "Threshold",
    "along_slope",
    "bonus_total",
    "cell_attain_latent",
    "cell_attain_rows",
    "cell_attainment",
    "cell_groups",
    "cell_total",
    "gap_penalty",
    "group_shares",
    "make_rule",
    "round_half_up",
    "total_score",
    "with_targets",
]
