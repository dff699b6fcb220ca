"""Leaves of their own: each project scores its own third-level leaves, each leaf by its own
rule against its own target, on padded arrays (projects × the most leaves a project has).

A self-evaluation table (项目支出绩效自评表) carries its own leaves under the shared framework;
a portfolio of such tables is held as arrays shaped (P, L): the rule kind of each cell
(:data:`CELL_KINDS`; ``pad`` for the cells past a table's last leaf, which carry 0 points),
its direction, target, measured value and points. :func:`cell_attainment` scores every cell
by its own rule with the kernel's rules (:mod:`perfsim.kernel.scoring`), one call per rule
kind (and direction) over all the cells that have it, never a loop over projects:

============  =====================================================================
kind          attainment (share in [0, 1] of the leaf's points)
============  =====================================================================
proportional  the ``proportional`` rule against the cell's own target (higher: actual ÷
              target; lower: target ÷ actual; equal: 1 − |actual − target| ÷ |target|)
threshold     the ``threshold`` rule: value 1 (met) earns full points, 0 none
level         the qualitative level's coefficient, the value itself, within [0, 1]
assessed      the ``assessed`` rule: the assessor's points (value, in points) within
              [0, points]
execution     the ``execution_rate`` rule with target 1: min(execution rate, 1)
============  =====================================================================

A table's total (:func:`cell_total`) rounds each leaf as the form prints it and sums the
rounded leaves exactly. In measurement space (:func:`cell_attain_latent`) the Monte Carlo's
cells, one array per slot of each row, are grouped by rule once (:func:`cell_groups`), and a
run of rows is scored by position (:func:`cell_attain_rows`): no mask over every cell.
"""

from __future__ import annotations

import numpy as np

from perfsim.kernel.scoring.assessed import Assessed
from perfsim.kernel.scoring.base import DIRECTIONS
from perfsim.kernel.scoring.proportional import ExecutionRate, Proportional
from perfsim.kernel.scoring.rounding import halves_up
from perfsim.kernel.scoring.targets import with_targets
from perfsim.kernel.scoring.threshold import Threshold

#: Rule kinds of a cell, by code (the index): ``pad`` marks a cell past a table's last leaf.
CELL_KINDS = ("pad", "proportional", "threshold", "level", "assessed", "execution")


def cell_attainment(kind: np.ndarray, direction: np.ndarray, target: np.ndarray,
                    value: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Attainments (shares in [0, 1]) of cells (any shape, e.g. (P, L)): ``kind`` an index
    into :data:`CELL_KINDS`, ``direction`` an index into
    :data:`~perfsim.kernel.scoring.DIRECTIONS` (proportional cells), ``target`` in the
    leaf's unit (proportional cells), ``value`` the measured value (the actual in the
    target's unit; 1/0 met or not; a level's coefficient; assessed points; the execution rate
    as a share), ``points`` the cell's points. Padding earns 0."""
    kind = np.asarray(kind)
    value = np.asarray(value, dtype=float)
    out = np.zeros(value.shape)
    for d, name in enumerate(DIRECTIONS):
        at = (kind == CELL_KINDS.index("proportional")) & (np.asarray(direction) == d)
        if at.any():
            t = np.asarray(target, dtype=float)[at]
            rule = with_targets(Proportional(target=1.0, direction=name), t)
            out[at] = rule.attainment(value[at])
    at = kind == CELL_KINDS.index("threshold")
    if at.any():
        out[at] = Threshold(target=1.0).attainment(value[at])
    at = kind == CELL_KINDS.index("level")
    if at.any():
        out[at] = np.clip(value[at], 0.0, 1.0)
    at = kind == CELL_KINDS.index("assessed")
    if at.any():   # the assessor's points within [0, points]: one rule over every cell's points
        pts = np.asarray(points, dtype=float)[at]
        rule = Assessed(points=1.0)
        out[at] = np.where(pts > 0, rule.attainment(value[at] / np.where(pts > 0, pts, 1.0)),
                           0.0)
    at = kind == CELL_KINDS.index("execution")
    if at.any():
        out[at] = ExecutionRate(target=1.0).attainment(value[at])
    return out


def cell_total(attainment: np.ndarray, points: np.ndarray, decimals: int) -> np.ndarray:
    """Totals (...) of cells: Σ over the last axis of each cell's points earned, attainment
    (..., L) in [0, 1] × its ``points`` (not negative; broadcasting against them), rounded
    half up to ``decimals`` as the form prints each leaf
    (:func:`~perfsim.kernel.scoring.round_half_up`). The rounded leaves are whole numbers of
    units of the last decimal, so they are summed exactly (in any order: a matrix product)
    and divided once; the sum of the leaves each divided differs from it by an ulp or so,
    never across a rounding of the total (its tolerance is 1e-6 of a unit), so a total
    rounded again to ``decimals`` — with no bonus, as imported tables have, or one in whole
    units — is the same to the bit. Four elementwise passes over the
    cells and a matrix product, where rounding each leaf and summing takes seven and a sum
    along the short last axis."""
    f = 10.0 ** int(decimals)
    units = np.multiply(attainment, points)
    units *= f
    halves_up(units)
    total = units @ np.ones(units.shape[-1])
    total /= f
    return total


def cell_attain_latent(kind: np.ndarray, direction: np.ndarray, target: np.ndarray,
                       value: np.ndarray, base: np.ndarray, latent: np.ndarray) -> np.ndarray:
    """Measurement space for cells of their own: attainments of latent attainments
    ``latent`` (any shape the cell arrays broadcast to), each cell's measured ``value`` (which
    earns ``base``) moved by the latent change and scored by its own rule — the rule's
    :meth:`~perfsim.kernel.scoring.Rule.attain_latent`: proportional against the cell's own
    target (a project over its target keeps full points until the shortfall reaches it),
    threshold (met or not: any shortfall of a cell at 1 misses it), the execution rate; level
    and assessed cells, whose value is a share of the points, stay in attainment space
    (``latent`` clipped to [0, 1]). Where the change is 0 a cell earns ``base``."""
    out = np.clip(latent, 0.0, 1.0)
    shape = out.shape

    def b(x: np.ndarray) -> np.ndarray:
        return np.broadcast_to(x, shape)

    kind, value, base = b(kind), b(value), b(base)
    for d, name in enumerate(DIRECTIONS):
        at = (kind == CELL_KINDS.index("proportional")) & (b(direction) == d)
        if at.any():
            rule = with_targets(Proportional(target=1.0, direction=name), b(target)[at])
            out[at] = rule.attain_latent(value[at], base[at], latent[at])
    for name, rule in (("threshold", Threshold(target=1.0)),
                       ("execution", ExecutionRate(target=1.0))):
        at = kind == CELL_KINDS.index(name)
        if at.any():
            out[at] = rule.attain_latent(value[at], base[at], latent[at])
    return out


def _measured() -> tuple[tuple[int, int | None, Proportional | Threshold | ExecutionRate], ...]:
    """The groups of measured cells, as :func:`cell_attain_latent` scores them: (kind,
    direction or None, rule) — proportional higher, lower and equal (against each cell's own
    target), threshold, execution."""
    prop = CELL_KINDS.index("proportional")
    return (*((prop, d, Proportional(target=1.0, direction=name))
              for d, name in enumerate(DIRECTIONS)),
            (CELL_KINDS.index("threshold"), None, Threshold(target=1.0)),
            (CELL_KINDS.index("execution"), None, ExecutionRate(target=1.0)))


#: The groups of measured cells :func:`cell_groups` finds, in its order.
MEASURED = _measured()


def cell_groups(kind: np.ndarray, direction: np.ndarray) -> tuple[np.ndarray, ...]:
    """The measured cells of cell arrays (any shape), grouped once by rule: for each group
    of :data:`MEASURED` the flat (row-major) positions of its cells, ascending — so the cells
    of a run of rows are a run of each group's positions (:func:`cell_attain_rows`)."""
    kind, direction = np.asarray(kind), np.asarray(direction)
    return tuple(np.flatnonzero(kind == k if d is None else (kind == k) & (direction == d))
                 for k, d, _ in MEASURED)


def cell_attain_rows(groups: tuple[np.ndarray, ...], target: np.ndarray, value: np.ndarray,
                     base: np.ndarray, latent: np.ndarray, rows: slice) -> np.ndarray:
    """:func:`cell_attain_latent` of a run of ``rows`` of cell arrays shaped (R, S, L)
    (``target``, ``value``, ``base``, C-contiguous) whose measured cells :func:`cell_groups`
    found (``groups``), for those rows' latent attainments ``latent`` (rows, S, L): the same
    numbers, each group's cells in those rows found by two binary searches instead of a
    mask over every cell, read and written by position."""
    out = np.clip(latent, 0.0, 1.0)
    size = out[0].size if out.shape[0] else 0
    start, stop, _ = rows.indices(target.shape[0])
    first = start * size
    flat, into = np.ravel(latent), out.reshape(-1)
    t, v, b = target.reshape(-1), value.reshape(-1), base.reshape(-1)
    for (_, d, rule), pos in zip(MEASURED, groups, strict=True):
        lo, hi = np.searchsorted(pos, (first, stop * size))
        if lo == hi:
            continue
        at = pos[lo:hi]
        here = at - first
        scorer = rule if d is None else with_targets(rule, t[at])
        into[here] = scorer.attain_latent(v[at], b[at], flat[here])
    return out
