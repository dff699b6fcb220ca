"""Weighting schemes (赋权方案): which weights an indicator system uses, and how schemes compare.

A **scheme** says how an indicator system's total (usually 100 points) is split, in two tiers:

``groups``
    how the total is split among the level-1 groups (一级指标: e.g. outputs 50, benefits 30,
    satisfaction 10, budget execution 10);
``leaves``
    how each level-1 group's points are split among all the leaves under it (level-2 subtotals
    are not kept separately: a leaf-tier method sees every leaf of the level-1 group at once).

Each tier names a method of :mod:`perfsim.weighting` (``expert``, ``equal``, ``ahp``,
``entropy``, ``critic``, ``pca``, ``combined``) and its parameters. A missing tier is
``expert``: the points written in the indicator file (for leaves: the file's proportions within
the group). The result is always points again — :func:`apply_weighting` returns
``system.with_points(points)`` with the points adding up to ``system.total``::

    points_j = total × w_g(j) × s_j     (w: group shares, s: leaf shares within the group)

The YAML ``weighting:`` block (in an indicator-system file or a scenario file; the scenario's
wins; paths are relative to the file that holds the block)::

    weighting:
      groups:
        method: ahp
        matrix_file: groups_ahp.csv       # or matrix: [[1, 3], [1/3, 1]] (+ codes: [OUT, SAT])
      leaves:
        method: combined                  # expert points blended with entropy weights
        subjective: expert                # expert | equal | ahp
        objective: entropy                # entropy | critic | pca
        alpha: 0.6                        # share of the subjective weights, in [0, 1]
        combine: additive                 # additive | multiplicative

At the leaf tier AHP takes one matrix per level-1 group: ``matrix: {OUT: [[...]], ...}`` (rows in
the file's leaf order) or ``matrix_file: {OUT: out.csv}`` or a list of CSV files (each file's
header codes say which group it belongs to). Groups without a matrix keep the file's
proportions; a group with a single leaf needs none.

**Data for the objective methods** (entropy, CRITIC, PCA, and ``combined``) come from the
portfolio's indicator measurements, one row per project:

- leaf tier: each leaf's **raw measured value**, oriented by the direction in which the value
  improves the leaf's score (:func:`leaf_directions`): the leaf's ``direction`` for
  ``proportional`` rules (higher = benefit, lower = cost), the comparison for ``threshold``
  (``>=`` benefit, ``<=`` cost), ``floor`` < ``target`` for ``linear``, **cost** for
  ``deduct`` and ``share`` (days late, errors, share in breach) and for ``graded`` (the value is
  the level's position, 0 = best), **benefit** for the other rules. A target-is-best leaf
  (direction ``equal``, threshold ``==``) has no monotone raw value, so its **attainment** (the
  share of its points earned, higher = better) is used instead.
- group tier: each level-1 group's **attainment share** (points earned / points available in the
  group, with the leaf split the leaf tier gives), all benefit.

A column in which every project has the same value makes the objective methods degenerate and is
reported as an error naming the column; no NaN weight is ever passed on.

:func:`compare_schemes` scores, grades and links one scenario's portfolio under several schemes
and returns a :class:`Comparison` of tidy tables; :data:`DEFAULT_SCHEMES` are six schemes usable
with one call.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from perfsim import weighting as wt
from perfsim.errors import InputError
from perfsim.indicators import Indicator, IndicatorSystem

if TYPE_CHECKING:
    from perfsim.portfolio import Portfolio
    from perfsim.scenario import Scenario

__all__ = [
    "DEFAULT_SCHEMES",
    "TIERS",
    "Comparison",
    "Matrix",
    "TierSpec",
    "WeightingSpec",
    "apply_weighting",
    "compare_schemes",
    "leaf_directions",
    "parse_weighting",
    "scenario_weighting",
    "weights_frame",
]

#: The two tiers of a scheme (the leaf tier is computed first: see :func:`apply_weighting`).
TIERS: tuple[str, ...] = ("groups", "leaves")
_TIER_KEYS = ("method", "matrix", "matrix_file", "codes", "alpha", "objective", "subjective",
              "combine", "cr_limit", "variance_kept")
_COMBINES = ("additive", "multiplicative")

#: Six schemes for :func:`compare_schemes` that need nothing but the portfolio: the file's
#: points, equal weights, the three objective methods, and expert points blended half and half
#: with entropy weights — each applied at both tiers.
DEFAULT_SCHEMES: dict[str, dict[str, Any]] = {
    "expert": {},
    "equal": {"groups": "equal", "leaves": "equal"},
    "entropy": {"groups": "entropy", "leaves": "entropy"},
    "critic": {"groups": "critic", "leaves": "critic"},
    "pca": {"groups": "pca", "leaves": "pca"},
    "expert+entropy": {
        "groups": {"method": "combined", "subjective": "expert", "objective": "entropy",
                   "alpha": 0.5},
        "leaves": {"method": "combined", "subjective": "expert", "objective": "entropy",
                   "alpha": 0.5},
    },
}


# --------------------------------------------------------------------------------------------
# The specification
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Matrix:
    """A pairwise comparison matrix for AHP, as written (not yet matched to a system).

    ``codes`` name its rows/columns (from a CSV header or an inline ``codes:`` list); ``None``
    means the system's order. ``group`` is the level-1 group at the leaf tier (``None``: the
    groups tier, or to be inferred from ``codes``). ``source`` is the file it came from.
    """

    values: np.ndarray = field(repr=False)
    codes: tuple[str, ...] | None = None
    group: str | None = None
    source: str | None = None


@dataclass(frozen=True)
class TierSpec:
    """How one tier is weighted: a method of :data:`perfsim.weighting.METHODS` and its
    parameters (see :func:`perfsim.weighting.compute_weights`)."""

    method: str = "expert"
    alpha: float = 0.5
    objective: str = "entropy"
    subjective: str = "expert"
    combine: str = "additive"
    cr_limit: float | None = 0.1
    variance_kept: float = 0.85
    matrices: tuple[Matrix, ...] = ()

    @property
    def uses_ahp(self) -> bool:
        return self.method == "ahp" or (self.method == "combined" and self.subjective == "ahp")

    @property
    def uses_data(self) -> bool:
        """Whether the tier needs the portfolio's measurements (an objective method)."""
        return self.method in wt.OBJECTIVE_METHODS or self.method == "combined"

    @property
    def uses_pca(self) -> bool:
        return self.method == "pca" or (self.method == "combined" and self.objective == "pca")

    def describe(self) -> str:
        if self.method != "combined":
            return self.method
        how = f"α={self.alpha:g}" if self.combine == "additive" else "multiplicative"
        return f"{self.subjective}+{self.objective} ({how})"


@dataclass(frozen=True)
class WeightingSpec:
    """A two-tier weighting scheme; build it with :func:`parse_weighting`."""

    groups: TierSpec = field(default_factory=TierSpec)
    leaves: TierSpec = field(default_factory=TierSpec)
    source: str | None = None

    @property
    def is_identity(self) -> bool:
        """Both tiers ``expert``: the scheme keeps the system's points."""
        return self.groups.method == "expert" and self.leaves.method == "expert"

    @property
    def uses_data(self) -> bool:
        return self.groups.uses_data or self.leaves.uses_data

    def describe(self) -> str:
        """E.g. ``groups entropy, leaves expert``."""
        return f"groups {self.groups.describe()}, leaves {self.leaves.describe()}"

    def resolve(self, system: IndicatorSystem) -> WeightingSpec:
        """Check the scheme against ``system`` (codes in matrices, matrix sizes); returns
        ``self``. Raises :class:`InputError` naming the file, the code and the problem."""
        _resolve_matrices(self, system)
        return self


def parse_weighting(block: Any, *, base: str | Path | None = None,
                    source: str | Path | None = None) -> WeightingSpec:
    """A :class:`WeightingSpec` from a ``weighting:`` block (already parsed YAML).

    ``block`` maps ``groups`` and/or ``leaves`` to a method name or to a mapping with
    ``method`` and its parameters (see the module docstring); ``None`` or ``{}`` is the identity
    (expert at both tiers); a :class:`WeightingSpec` is returned as is. ``base`` is the folder
    that relative ``matrix_file`` paths start from (default: the current directory); ``source``
    names the file holding the block in error messages. Matrices are read and checked (square,
    positive, reciprocal, consistency ratio) here; codes are checked against a system by
    :meth:`WeightingSpec.resolve` and :func:`apply_weighting`.
    """
    if isinstance(block, WeightingSpec):
        return block
    src = None if source is None else str(source)
    folder = Path(base) if base is not None else Path.cwd()
    if block is None:
        return WeightingSpec(source=src)
    if not isinstance(block, Mapping):
        raise InputError(src, "weighting", value=_short(block),
                         problem="must be a mapping with 'groups' and/or 'leaves'")
    for key in block:
        if key not in TIERS:
            raise InputError(src, "weighting", str(key),
                             problem="unknown key (allowed: groups, leaves)")
    tiers = {t: _parse_tier(block.get(t), t, folder, src) for t in TIERS}
    return WeightingSpec(groups=tiers["groups"], leaves=tiers["leaves"], source=src)


def _parse_tier(block: Any, tier: str, base: Path, src: str | None) -> TierSpec:
    where = f"weighting {tier}"
    if block is None:
        return TierSpec()
    if isinstance(block, str):
        block = {"method": block}
    if not isinstance(block, Mapping):
        raise InputError(src, where, value=_short(block),
                         problem="must be a method name or a mapping with 'method'")
    for key in block:
        if key not in _TIER_KEYS:
            raise InputError(src, where, str(key),
                             problem=f"unknown key (allowed: {', '.join(_TIER_KEYS)})")
    method = block.get("method", "expert")
    if method not in wt.METHODS:
        raise InputError(src, where, "method", method,
                         f"unknown method; choose one of {', '.join(wt.METHODS)}")
    params: dict[str, Any] = {"method": method}
    if "alpha" in block:
        alpha = block["alpha"]
        if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not (
                0.0 <= alpha <= 1.0):
            raise InputError(src, where, "alpha", alpha,
                             "must be in [0, 1] (the share of the subjective weights)")
        params["alpha"] = float(alpha)
    for key, allowed in (("objective", wt.OBJECTIVE_METHODS),
                         ("subjective", wt.SUBJECTIVE_METHODS), ("combine", _COMBINES)):
        if key in block:
            if block[key] not in allowed:
                raise InputError(src, where, key, block[key],
                                 f"choose one of {', '.join(allowed)}")
            params[key] = block[key]
    if "cr_limit" in block:
        cr = block["cr_limit"]
        if cr is not None and (isinstance(cr, bool) or not isinstance(cr, int | float)
                               or not cr >= 0 or not math.isfinite(cr)):
            raise InputError(src, where, "cr_limit", cr, "must be a number >= 0 or null")
        params["cr_limit"] = None if cr is None else float(cr)
    if "variance_kept" in block:
        vk = block["variance_kept"]
        if isinstance(vk, bool) or not isinstance(vk, int | float) or not 0 < vk <= 1:
            raise InputError(src, where, "variance_kept", vk, "must be a share in (0, 1]")
        params["variance_kept"] = float(vk)
    spec = TierSpec(**params)
    _check_applicable(block, spec, where, src)
    if spec.uses_ahp:
        spec = replace(spec, matrices=_parse_matrices(block, spec, tier, base, src))
    return spec


def _check_applicable(block: Mapping[str, Any], spec: TierSpec, where: str,
                      src: str | None) -> None:
    """A parameter the tier's method does not use is a mistake, not something to ignore."""
    needs = {
        "alpha": ("method: combined", spec.method == "combined"),
        "objective": ("method: combined", spec.method == "combined"),
        "subjective": ("method: combined", spec.method == "combined"),
        "combine": ("method: combined", spec.method == "combined"),
        "matrix": ("AHP (method: ahp, or combined with subjective: ahp)", spec.uses_ahp),
        "matrix_file": ("AHP (method: ahp, or combined with subjective: ahp)", spec.uses_ahp),
        "codes": ("AHP (method: ahp, or combined with subjective: ahp)", spec.uses_ahp),
        "cr_limit": ("AHP (method: ahp, or combined with subjective: ahp)", spec.uses_ahp),
        "variance_kept": ("PCA (method: pca, or combined with objective: pca)", spec.uses_pca),
    }
    for key, (what, ok) in needs.items():
        if key in block and not ok:
            raise InputError(src, where, key, _short(block[key]),
                             f"only applies to {what}, not to method {spec.method}")


def _parse_matrices(block: Mapping[str, Any], spec: TierSpec, tier: str, base: Path,
                    src: str | None) -> tuple[Matrix, ...]:
    where = f"weighting {tier}"
    inline, files = block.get("matrix"), block.get("matrix_file")
    if inline is None and files is None:
        raise InputError(src, where, "matrix",
                         problem="AHP needs a pairwise comparison matrix: give matrix: or "
                                 "matrix_file:")
    if tier == "groups":
        if inline is not None and files is not None:
            raise InputError(src, where, "matrix_file",
                             problem="give matrix: or matrix_file:, not both")
        if files is not None:
            if "codes" in block:
                raise InputError(src, where, "codes",
                                 problem="a matrix_file names its codes in its header row")
            return (_read_matrix_file(files, base, src, where, "matrix_file", spec, None),)
        codes = block.get("codes")
        if codes is not None and (not isinstance(codes, list)
                                  or not all(isinstance(c, str | int) for c in codes)):
            raise InputError(src, where, "codes", _short(codes),
                             "must be a list of level-1 codes, in the matrix's row order")
        return (_inline_matrix(inline, None if codes is None else tuple(str(c) for c in codes),
                               None, spec, src, where, "matrix"),)
    if "codes" in block:
        raise InputError(src, where, "codes",
                         problem="at the leaf tier, give matrix: {GROUP: [[...]]} in the file's "
                                 "leaf order, or matrix_file: with the codes in its header")
    out: list[Matrix] = []
    if inline is not None:
        if not isinstance(inline, Mapping) or not inline:
            raise InputError(src, where, "matrix", _short(inline),
                             "at the leaf tier, map each level-1 group code to its matrix, "
                             "e.g. {OUT: [[1, 3], [1/3, 1]]}")
        for group, m in inline.items():
            out.append(_inline_matrix(m, None, str(group), spec, src, where, f"matrix.{group}"))
    if files is not None:
        if isinstance(files, str):
            files = [files]
        if isinstance(files, Mapping):
            items: list[tuple[str | None, Any]] = [(str(g), p) for g, p in files.items()]
        elif isinstance(files, list) and files:
            items = [(None, p) for p in files]
        else:
            raise InputError(src, where, "matrix_file", _short(files),
                             "must be a CSV path, a list of them, or {GROUP: path}")
        for group, p in items:
            name = "matrix_file" if group is None else f"matrix_file.{group}"
            out.append(_read_matrix_file(p, base, src, where, name, spec, group))
    return tuple(out)


def _read_matrix_file(value: Any, base: Path, src: str | None, where: str, name: str,
                      spec: TierSpec, group: str | None) -> Matrix:
    if not isinstance(value, str) or not value.strip():
        raise InputError(src, where, name, _short(value), "must be a path to a CSV file")
    path = Path(value) if Path(value).is_absolute() else base / value
    if not path.exists():
        raise InputError(src, where, name, value, f"file not found ({path})")
    codes, values = wt.ahp_matrix_from_csv(path)
    wt.ahp_weights(values, spec.cr_limit, codes=codes, source=path)  # consistency, early
    return Matrix(values, tuple(codes), group, str(path))


def _inline_matrix(value: Any, codes: tuple[str, ...] | None, group: str | None,
                   spec: TierSpec, src: str | None, where: str, name: str) -> Matrix:
    if (not isinstance(value, list) or not value
            or not all(isinstance(r, list) for r in value)):
        raise InputError(src, where, name, _short(value),
                         "must be a list of rows, e.g. [[1, 3], [1/3, 1]]")
    rows: list[list[float]] = []
    for i, row in enumerate(value):
        out_row = []
        for j, cell in enumerate(row):
            try:
                if isinstance(cell, bool):
                    raise ValueError
                x = float(Fraction(cell.replace(" ", ""))) if isinstance(cell, str) else float(
                    cell)
            except (TypeError, ValueError, ZeroDivisionError):
                raise InputError(src, f"{where}, {name} row {i + 1}, column {j + 1}", "a_ij",
                                 _short(cell), "not a number; write e.g. 3, 0.2 or 1/3") from None
            out_row.append(x)
        rows.append(out_row)
    if len({len(r) for r in rows}) != 1 or len(rows[0]) != len(rows):
        raise InputError(src, where, name, f"{len(rows)} rows of {[len(r) for r in rows]}",
                         "must be a square n × n matrix of pairwise comparisons")
    matrix = np.array(rows, dtype=float)
    if codes is not None and len(codes) != len(rows):
        raise InputError(src, where, "codes", list(codes),
                         f"the matrix has {len(rows)} rows but {len(codes)} codes are given")
    try:
        wt.ahp_weights(matrix, spec.cr_limit, codes=codes)
    except InputError as err:
        raise _within(err, f"{where}, {name}", src) from None
    return Matrix(matrix, codes, group, src)


def _short(value: Any) -> Any:
    """A value short enough for a one-line message (numbers and short strings as they are)."""
    if isinstance(value, int | float | str) and len(str(value)) <= 60:
        return value
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _within(err: InputError, where: str, source: str | None = None) -> InputError:
    """``err`` placed under ``where`` (prefixing its own place) and in ``source`` if unset."""
    place = f"{where}: {err.where}" if err.where else where
    args: dict[str, Any] = {"field": err.field, "problem": err.problem}
    if err.has_value:
        args["value"] = err.value
    return InputError(err.source or source, place, **args)


# --------------------------------------------------------------------------------------------
# Matching a spec to a system
# --------------------------------------------------------------------------------------------


def _members(system: IndicatorSystem) -> dict[str, np.ndarray]:
    """Leaf positions (into ``system.indicators``) of each level-1 group, in file order."""
    idx = system.level1_index
    return {code: np.flatnonzero(idx == g) for g, code in enumerate(system.level1_codes)}


def _resolve_matrices(spec: WeightingSpec, system: IndicatorSystem
                      ) -> tuple[np.ndarray | None, dict[str, np.ndarray]]:
    """The groups-tier matrix in ``system.level1_codes`` order, and leaf-tier matrices by group
    in each group's leaf order."""
    groups = system.level1_codes
    group_matrix = None
    if spec.groups.uses_ahp:
        (m,) = spec.groups.matrices
        group_matrix = _ordered(m, groups, system, "weighting groups",
                                "level-1 group", spec.source)
    by_group: dict[str, np.ndarray] = {}
    if spec.leaves.uses_ahp:
        members = _members(system)
        leaf_group = {leaf.code: leaf.level1 for leaf in system.indicators}
        where = "weighting leaves"
        for m in spec.leaves.matrices:
            src = m.source or spec.source
            group = m.group
            if group is None:  # a CSV listed without a group: its codes say which
                first = next((c for c in m.codes or () if c in leaf_group), None)
                if first is None:
                    bad = (m.codes or ("?",))[0]
                    raise InputError(src, where, "code", bad,
                                     f"not a leaf code of {system.code}")
                group = leaf_group[first]
            if group not in members:
                raise InputError(src, where, "group", group,
                                 f"not a level-1 code of {system.code} (level-1 codes: "
                                 f"{', '.join(groups)})")
            if group in by_group:
                raise InputError(src, where, "group", group, "has more than one AHP matrix")
            leaves = tuple(system.indicators[k].code for k in members[group])
            by_group[group] = _ordered(m, leaves, system, f"{where}, group {group}",
                                       f"leaf of group {group}", src)
    return group_matrix, by_group


def _ordered(m: Matrix, expected: tuple[str, ...], system: IndicatorSystem, where: str,
             what: str, source: str | None) -> np.ndarray:
    src = m.source or source
    if m.codes is None:
        if m.values.shape[0] != len(expected):
            raise InputError(src, where, "matrix", f"{m.values.shape[0]} × {m.values.shape[1]}",
                             f"must be {len(expected)} × {len(expected)}, one row per {what} "
                             f"({', '.join(expected)}) in the file's order")
        return m.values
    for code in m.codes:
        if code not in expected:
            raise InputError(src, where, "code", code,
                             f"not a {what} of {system.code} (expected: {', '.join(expected)})")
    missing = [c for c in expected if c not in m.codes]
    if missing:
        raise InputError(src, where, "code", missing[0],
                         f"missing from the AHP matrix, which must compare every {what}")
    perm = [m.codes.index(c) for c in expected]
    return m.values[np.ix_(perm, perm)]


# --------------------------------------------------------------------------------------------
# Data for the objective methods
# --------------------------------------------------------------------------------------------


def _leaf_direction(leaf: Indicator) -> str:
    rule = leaf.rule
    kind = rule.kind
    if kind == "proportional":
        return "attainment" if leaf.direction == "equal" else leaf.direction
    if kind == "threshold":
        return {">=": "higher", "<=": "lower"}.get(rule.op, "attainment")
    if kind == "linear":
        return "higher" if leaf.target > rule.params["floor"] else "lower"
    if kind in ("deduct", "share", "graded"):
        return "lower"
    if kind in ("all_or_nothing", "ratio", "grade_points", "execution_rate", "recheck", "bonus"):
        return "higher"
    return "attainment" if leaf.direction == "equal" else leaf.direction


def leaf_directions(system: IndicatorSystem) -> tuple[str, ...]:
    """For each non-bonus leaf, how the objective methods read its raw measurement:
    ``'higher'`` (benefit: a higher value earns more), ``'lower'`` (cost) or ``'attainment'``
    (target-is-best: the leaf's attainment is used instead of the raw value). See the module
    docstring for the rule-by-rule convention."""
    return tuple(_leaf_direction(leaf) for leaf in system.indicators)


@dataclass(frozen=True)
class _Data:
    attainment: np.ndarray  # (projects, leaves), shares of each leaf's points
    X: np.ndarray  # (projects, leaves): raw values, or attainment for target-is-best leaves
    directions: tuple[str, ...]  # 'higher' | 'lower' per column of X


def _project_data(system: IndicatorSystem, portfolio: Portfolio | None,
                  source: str | None) -> _Data:
    if portfolio is None:
        raise InputError(source, "weighting", problem="objective methods (entropy, critic, pca, "
                         "combined) need a portfolio with indicator measurements")
    if portfolio.has_scores or not portfolio.measured:
        raise InputError(source, "weighting", problem="objective methods (entropy, critic, pca, "
                         f"combined) need indicator measurements, but {portfolio.source} holds "
                         "ready scores")
    meas = portfolio.measurements()
    attainment = np.asarray(system.attainment(meas), dtype=float)
    dirs = leaf_directions(system)
    cols = [attainment[:, k] if d == "attainment" else np.asarray(meas[leaf.code], dtype=float)
            for k, (leaf, d) in enumerate(zip(system.indicators, dirs, strict=True))]
    return _Data(attainment, np.column_stack(cols),
                 tuple("higher" if d == "attainment" else d for d in dirs))


# --------------------------------------------------------------------------------------------
# Applying a scheme
# --------------------------------------------------------------------------------------------


def _tier_weights(tier: TierSpec, *, points: np.ndarray, X: Any, directions: Sequence[str],
                  matrix: np.ndarray | None, codes: Sequence[str]) -> np.ndarray:
    method, subjective = tier.method, tier.subjective
    if tier.uses_ahp and matrix is None:  # a leaf-tier group without a matrix: file proportions
        method, subjective = ("expert", subjective) if method == "ahp" else (method, "expert")
    if method in ("expert", "combined") and not points.sum() > 0:
        points = np.ones_like(points)  # a group left with no points: split it evenly
    w = wt.compute_weights(
        method, points=points, X=X() if tier.uses_data else None,
        directions=directions if tier.uses_data else None, matrix=matrix,
        alpha=tier.alpha, objective=tier.objective, subjective=subjective,
        combine=tier.combine, cr_limit=tier.cr_limit, variance_kept=tier.variance_kept,
        codes=list(codes))
    w = np.asarray(w, dtype=float)
    if w.shape != (len(codes),) or not np.all(np.isfinite(w)) or np.any(w < 0):
        raise InputError(where="weighting", value=_short(w.tolist()),  # never reached in practice
                         problem="the method gave invalid weights")
    return w


def apply_weighting(system: IndicatorSystem, spec: WeightingSpec | Mapping[str, Any] | None,
                    portfolio: Portfolio | None = None, *, base: str | Path | None = None,
                    _data: _Data | None = None) -> IndicatorSystem:
    """``system`` re-weighted by the scheme ``spec``: a copy whose non-bonus leaves carry the
    new points (分值), which add up to ``system.total`` (the total stays exactly the same).

    ``spec`` is a :class:`WeightingSpec` or a ``weighting:`` block (parsed with ``base`` as the
    folder of relative paths). ``portfolio`` supplies the measurements the objective methods
    need (see the module docstring); subjective schemes do not need it. The leaf tier is
    computed first, then the group tier (whose objective data are the group attainment shares
    under the new leaf split). A scheme that is ``expert`` at both tiers returns ``system``
    itself. Errors are :class:`InputError` naming the tier, the group and the indicator.
    """
    spec = parse_weighting(spec, base=base)
    if spec.is_identity:
        return system
    try:
        group_matrix, leaf_matrices = _resolve_matrices(spec, system)
        data = _data
        if data is None and spec.uses_data:
            data = _project_data(system, portfolio, spec.source)
        pts = system.points
        members = _members(system)
        codes = system.codes

        leaf_share = np.empty(pts.size)
        for group, cols in members.items():
            if cols.size == 1:
                leaf_share[cols] = 1.0
                continue
            try:
                leaf_share[cols] = _tier_weights(
                    spec.leaves, points=pts[cols],
                    X=lambda cols=cols: data.X[:, cols],
                    directions=[data.directions[k] for k in cols] if data else (),
                    matrix=leaf_matrices.get(group), codes=[codes[k] for k in cols])
            except InputError as err:
                raise _within(err, f"weighting leaves, group {group}") from None

        idx = system.level1_index
        n_groups = len(members)
        group_points = np.bincount(idx, weights=pts, minlength=n_groups)
        if spec.groups.method == "expert":
            group_share = group_points / group_points.sum()
        else:
            def group_X() -> np.ndarray:
                member = np.zeros((pts.size, n_groups))
                member[np.arange(pts.size), idx] = leaf_share
                return data.attainment @ member  # attainment share of each level-1 group

            try:
                group_share = _tier_weights(
                    spec.groups, points=group_points, X=group_X,
                    directions=["higher"] * n_groups, matrix=group_matrix,
                    codes=system.level1_codes)
            except InputError as err:
                raise _within(err, "weighting groups") from None
    except InputError as err:
        raise err.at(spec.source) from None
    points = system.total * group_share[idx] * leaf_share
    return replace(system.with_points(points), total=system.total)


def scenario_weighting(block: Any, system: IndicatorSystem | None, scenario_path: str | Path,
                       portfolio: Portfolio) -> WeightingSpec | None:
    """The scheme a scenario applies: its own ``weighting:`` block (paths relative to the
    scenario file) or else its indicator system's (relative to the system file); ``None`` if
    neither has one. A scheme needs an indicator system and a portfolio with measurements
    (with ready scores the weights would change nothing)."""
    if block is not None:
        spec = parse_weighting(block, base=Path(scenario_path).parent, source=scenario_path)
        holder = str(scenario_path)
    elif system is not None and system.weighting is not None:
        spec = parse_weighting(system.weighting, base=Path(system.path or ".").parent,
                               source=system.path)
        holder = system.path or str(scenario_path)
    else:
        return None
    if system is None:
        raise InputError(holder, "weighting",
                         problem="a weighting scheme needs an indicator_system")
    if portfolio.has_scores:
        raise InputError(holder, "weighting",
                         problem="the portfolio holds ready scores, so weights cannot change "
                                 "them; give indicator measurements or drop the weighting block")
    return spec.resolve(system)


def weights_frame(system: IndicatorSystem, level: str = "leaves") -> pd.DataFrame:
    """A system's weights as a table: ``code, group, name_zh, name_en, points, share``.

    ``level='leaves'``: one row per non-bonus leaf (``group`` its level-1 code); ``'groups'``:
    one row per level-1 group (its points are its leaves' sum). ``share`` = points / total.
    """
    if level not in TIERS:
        raise InputError(where="weights", field="level", value=level,
                         problem="must be 'groups' or 'leaves'")
    pts = system.points
    if level == "groups":
        g_pts = np.bincount(system.level1_index, weights=pts, minlength=len(system.level1_codes))
        codes = list(system.level1_codes)
        df = pd.DataFrame({"code": codes, "group": codes,
                           "name_zh": [system.name_of(c, "zh") for c in codes],
                           "name_en": [system.name_of(c, "en") for c in codes],
                           "points": g_pts})
    else:
        df = pd.DataFrame({"code": list(system.codes),
                           "group": [i.level1 for i in system.indicators],
                           "name_zh": [i.name_zh for i in system.indicators],
                           "name_en": [i.name_en for i in system.indicators],
                           "points": pts})
    df["share"] = df["points"] / system.total
    return df


# --------------------------------------------------------------------------------------------
# Comparing schemes
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Comparison:
    """Several weighting schemes applied to one scenario's portfolio; all tables are tidy.

    ``projects``: one row per scheme × project — ``scheme, project_id, department, budget,
    score`` (points), ``rank`` (1 = best; ties share the best rank), ``grade, grade_zh,
    next_budget, change`` (yuan, next budget − budget) and ``status``.

    ``weights``: one row per scheme × level-1 group (``level='group'``) and per scheme × leaf
    (``level='leaf'``) — ``code, group, name_zh, name_en, points, share`` (of the total).

    ``correlations``: one row per ordered pair of schemes (a scheme with itself included) —
    ``scheme_a, scheme_b, spearman, kendall`` (Spearman's ρ and Kendall's τ-b of the scores).

    ``transitions``: per scheme, the projects moving from each grade under the reference scheme
    (``grade_from``) to each grade under the scheme (``grade_to``), every pair of labels listed
    (zero counts included); :meth:`transition_matrix` gives one as a cross table.

    ``departments``: one row per scheme × department — ``projects, budget, next_budget`` (yuan)
    and ``moved`` = next budget under the scheme − next budget under the reference (yuan; it
    adds up over departments to the difference of the schemes' total next budgets).

    ``summary``: one row per scheme — its description, mean score, projects per grade,
    ``changed_grade`` (projects whose grade differs from the reference), correlations with the
    reference, total ``next_budget``, ``departments_gaining``/``departments_losing`` against
    the reference, ``money_gained`` = Σ max(moved, 0) and ``money_lost`` = Σ max(−moved, 0) over
    departments, and ``net_change`` = money gained − money lost = the difference of the total
    next budgets (all yuan).
    """

    scenario: str
    reference: str
    schemes: tuple[str, ...]
    specs: Mapping[str, WeightingSpec]
    grade_codes: tuple[str, ...]
    grade_zh: tuple[str, ...]
    projects: pd.DataFrame
    weights: pd.DataFrame
    correlations: pd.DataFrame
    transitions: pd.DataFrame
    departments: pd.DataFrame
    summary: pd.DataFrame

    def transition_matrix(self, scheme: str) -> pd.DataFrame:
        """Projects by grade under the reference (rows) × grade under ``scheme`` (columns),
        every grade label present (a pandas crosstab)."""
        self._check(scheme)
        t = self.transitions[self.transitions["scheme"] == scheme]
        wide = t.pivot(index="grade_from", columns="grade_to", values="projects")
        wide = wide.reindex(index=list(self.grade_codes), columns=list(self.grade_codes))
        wide.index.name = f"{self.reference} (reference)"
        wide.columns.name = scheme
        return wide.astype(int)

    def correlation_matrix(self, kind: str = "spearman") -> pd.DataFrame:
        """Scheme × scheme matrix of ``'spearman'`` or ``'kendall'`` rank correlations."""
        if kind not in ("spearman", "kendall"):
            raise InputError(field="kind", value=kind, problem="must be spearman or kendall")
        wide = self.correlations.pivot(index="scheme_a", columns="scheme_b", values=kind)
        return wide.reindex(index=list(self.schemes), columns=list(self.schemes))

    def _check(self, scheme: str) -> None:
        if scheme not in self.schemes:
            raise InputError(field="scheme", value=scheme,
                             problem=f"unknown scheme (known: {', '.join(self.schemes)})")


def compare_schemes(scenario: Scenario,
                    schemes: Mapping[str, WeightingSpec | Mapping[str, Any] | None] | None = None,
                    *, reference: str | None = None, base: str | Path | None = None
                    ) -> Comparison:
    """Score, grade and link ``scenario``'s portfolio under each weighting scheme.

    ``schemes`` maps names to schemes (a :class:`WeightingSpec` or a ``weighting:`` block;
    relative paths start at ``base``, default the scenario file's folder); default
    :data:`DEFAULT_SCHEMES`. Every scheme starts from the scenario's indicator system as loaded
    (after the scenario's own ``weighting:`` block, if any), so ``expert`` means those points.
    ``reference`` (default: the first scheme) is the scheme the transitions and the money moved
    are measured against. The scenario needs an indicator system and a portfolio with
    measurements. Projects are handled as arrays; only the few schemes are looped over.
    """
    from scipy import stats

    from perfsim.engine import allocate
    from perfsim.linkage import STATUSES

    schemes = dict(DEFAULT_SCHEMES if schemes is None else schemes)
    if len(schemes) < 1:
        raise InputError(field="schemes", problem="give at least one scheme")
    names = tuple(str(n) for n in schemes)
    reference = names[0] if reference is None else reference
    if reference not in names:
        raise InputError(field="reference", value=reference,
                         problem=f"not one of the schemes ({', '.join(names)})")
    system, pf = scenario.system, scenario.portfolio
    if system is None:
        raise InputError(scenario.source, field="indicator_system",
                         problem="comparing weighting schemes needs an indicator system")
    if pf.has_scores or not pf.measured:
        raise InputError(scenario.source, field="portfolio",
                         problem="comparing weighting schemes needs indicator measurements, "
                                 f"but {pf.source} holds ready scores")
    folder = Path(base) if base is not None else (
        Path(scenario.source).parent if scenario.source else None)
    specs = {}
    for name, spec in schemes.items():
        try:
            specs[str(name)] = parse_weighting(spec, base=folder).resolve(system)
        except InputError as err:
            raise _within(err, f"scheme {name}") from None
    data = _project_data(system, pf, scenario.source)
    meas = pf.measurements()
    budget = pf.budget
    flags = pf.flags()
    labels = scenario.grading.labels

    systems, scores, grades, nexts, status = [], [], [], [], []
    for name in names:
        try:
            s = apply_weighting(system, specs[name], pf, _data=data)
        except InputError as err:
            raise _within(err, f"scheme {name}") from None
        score = np.asarray(s.score(meas, attainment=data.attainment), dtype=float)
        grade, res = allocate(score, budget, scenario.grading, scenario.linkage, flags)
        systems.append(s)
        scores.append(score)
        grades.append(grade)
        nexts.append(res.next_budget)
        status.append(res.status)
    S, P = len(names), pf.n_projects
    score_arr, grade_arr, next_arr = np.array(scores), np.array(grades), np.array(nexts)

    codes = np.asarray(labels.codes, dtype=object)
    projects = pd.DataFrame({
        "scheme": np.repeat(np.asarray(names, dtype=object), P),
        "project_id": np.tile(pf.ids, S),
        "department": np.tile(pf.departments, S),
        "budget": np.tile(budget, S),
        "score": score_arr.ravel(),
        "rank": stats.rankdata(-score_arr, method="min", axis=1).astype(np.int64).ravel(),
        "grade": codes[grade_arr.ravel()],
        "grade_zh": np.asarray(labels.zh, dtype=object)[grade_arr.ravel()],
        "next_budget": next_arr.ravel(),
        "change": (next_arr - budget).ravel(),
        "status": np.asarray(STATUSES, dtype=object)[np.array(status).ravel()],
    })

    weights = pd.concat(
        [pd.concat([weights_frame(s, "groups").assign(level="group"),
                    weights_frame(s, "leaves").assign(level="leaf")]).assign(scheme=name)
         for name, s in zip(names, systems, strict=True)], ignore_index=True)
    weights = weights[["scheme", "level", "code", "group", "name_zh", "name_en", "points",
                       "share"]]

    rows = []
    for i in range(S):
        for j in range(i, S):
            rho = float(stats.spearmanr(score_arr[i], score_arr[j]).statistic)
            tau = float(stats.kendalltau(score_arr[i], score_arr[j]).statistic)
            rows.append((names[i], names[j], rho, tau))
            if j != i:
                rows.append((names[j], names[i], rho, tau))
    correlations = pd.DataFrame(rows, columns=["scheme_a", "scheme_b", "spearman", "kendall"])
    order = {n: k for k, n in enumerate(names)}
    correlations = correlations.sort_values(
        ["scheme_a", "scheme_b"], key=lambda c: c.map(order)).reset_index(drop=True)

    ref = names.index(reference)
    ref_cat = pd.Categorical(codes[grade_arr[ref]], categories=list(labels.codes))
    tables = []
    for k, name in enumerate(names):
        cross = pd.crosstab(ref_cat, pd.Categorical(codes[grade_arr[k]],
                                                    categories=list(labels.codes)),
                            dropna=False)
        cross = cross.reindex(index=list(labels.codes), columns=list(labels.codes),
                              fill_value=0)
        long = cross.stack().rename("projects").reset_index()
        long.columns = ["grade_from", "grade_to", "projects"]
        tables.append(long.assign(scheme=name))
    transitions = pd.concat(tables, ignore_index=True)
    zh = dict(zip(labels.codes, labels.zh, strict=True))
    transitions = transitions.assign(
        reference=reference,
        grade_from_zh=transitions["grade_from"].astype(str).map(zh),
        grade_to_zh=transitions["grade_to"].astype(str).map(zh),
        grade_from=transitions["grade_from"].astype(str),
        grade_to=transitions["grade_to"].astype(str),
        projects=transitions["projects"].astype(np.int64),
    )[["reference", "scheme", "grade_from", "grade_to", "grade_from_zh", "grade_to_zh",
       "projects"]]

    dep_index, dep_names = pd.factorize(pd.Series(pf.departments), sort=True)
    n_dep = len(dep_names)
    dep_budget = np.bincount(dep_index, weights=budget, minlength=n_dep)
    dep_next = np.array([np.bincount(dep_index, weights=nx, minlength=n_dep) for nx in next_arr])
    dep_moved = dep_next - dep_next[ref]
    departments = pd.DataFrame({
        "scheme": np.repeat(np.asarray(names, dtype=object), n_dep),
        "department": np.tile(np.asarray(dep_names, dtype=object), S),
        "projects": np.tile(np.bincount(dep_index, minlength=n_dep), S).astype(np.int64),
        "budget": np.tile(dep_budget, S),
        "next_budget": dep_next.ravel(),
        "moved": dep_moved.ravel(),
    })

    per_grade = pd.DataFrame(
        [np.bincount(g, minlength=len(labels)) for g in grade_arr],
        columns=[f"projects_{c}" for c in labels.codes])
    rho_ref = correlations[correlations["scheme_b"] == reference].set_index("scheme_a")
    summary = pd.DataFrame({
        "scheme": list(names),
        "description": [specs[n].describe() for n in names],
        "mean_score": score_arr.mean(axis=1),
    })
    summary = pd.concat([summary, per_grade], axis=1)
    summary["changed_grade"] = (grade_arr != grade_arr[ref]).sum(axis=1)
    summary["spearman_vs_reference"] = rho_ref.loc[list(names), "spearman"].to_numpy()
    summary["kendall_vs_reference"] = rho_ref.loc[list(names), "kendall"].to_numpy()
    summary["next_budget"] = next_arr.sum(axis=1)
    summary["departments_gaining"] = (dep_moved > 0).sum(axis=1)
    summary["departments_losing"] = (dep_moved < 0).sum(axis=1)
    summary["money_gained"] = np.clip(dep_moved, 0, None).sum(axis=1)
    summary["money_lost"] = np.clip(-dep_moved, 0, None).sum(axis=1)
    summary["net_change"] = summary["next_budget"] - summary["next_budget"].iloc[ref]

    return Comparison(
        scenario=scenario.name, reference=reference, schemes=names, specs=specs,
        grade_codes=tuple(labels.codes), grade_zh=tuple(labels.zh), projects=projects,
        weights=weights, correlations=correlations, transitions=transitions,
        departments=departments, summary=summary)
