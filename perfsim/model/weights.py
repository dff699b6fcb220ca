"""Weighting schemes (赋权方案): which weights an indicator system uses, and how schemes compare.

A **scheme** says how an indicator system's total (usually 100 points) is split, in two tiers:

``groups``
    how the total is split among the level-1 groups (一级指标: e.g. outputs 50, benefits 30,
    satisfaction 10, budget execution 10);
``leaves``
    how each level-1 group's points are split among all the leaves under it (level-2 subtotals
    are not kept separately: a leaf-tier method sees every leaf of the level-1 group at once).

Each tier names a method of :mod:`perfsim.kernel.weighting` (``expert``, ``equal``, ``ahp``,
``entropy``, ``critic``, ``pca``, ``optimised``, ``combined``) and its parameters. A missing tier is
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

An ``optimised`` tier (or ``combined`` with ``objective: optimised``) chooses the weights that
give each indicator a target importance (its correlation with the index;
:mod:`perfsim.kernel.weighting.optimised`), by default equal; ``target:`` sets another, by code
or as a list in the file's order, numbers >= 0 that are relative (normalised to shares within
each level-1 group at the leaf tier, over the groups at the groups tier;
:func:`perfsim.model.weighting_spec.resolve_target`)::

    weighting:
      leaves:
        method: optimised
        target: {OUT.QTY.1: 3, OUT.QTY.2: 1, OUT.QUAL.1: 1, ...}   # every leaf of a group, or none

Objective tiers may treat their data first (``treatment:``, see
:mod:`perfsim.kernel.treatment` and :func:`treatment_frame` for the record); AHP tiers may hold
a panel of several experts' matrices (``panel: judgements | priorities``, ``ri_table:
saaty1980 | alonso_lamata``; :func:`perfsim.kernel.weighting.ahp_panel`).

At the leaf tier AHP takes one matrix per level-1 group: ``matrix: {OUT: [[...]], ...}`` (rows in
the file's leaf order) or ``matrix_file: {OUT: out.csv}`` or a list of CSV files (each file's
header codes say which group it belongs to). Groups without a matrix keep the file's
proportions; a group with a single leaf needs none.

**Data for the objective methods** (entropy, CRITIC, PCA, and ``combined``) come from the
portfolio's indicator measurements, one row per project:

- leaf tier: each leaf's **raw measured value**, oriented by the direction in which the value
  improves the leaf's score (:func:`leaf_directions`, each rule's own ``value_direction``):
  the leaf's ``direction`` for ``proportional`` rules (higher = benefit, lower = cost), the
  comparison for ``threshold`` (``>=`` benefit, ``<=`` cost), ``floor`` < ``target`` for
  ``linear``, **cost** for
  ``deduct`` and ``share`` (days late, errors, share in breach) and for ``graded`` (the value is
  the level's position, 0 = best), **benefit** for the other rules. A target-is-best leaf
  (direction ``equal``, threshold ``==``) has no monotone raw value, so its **attainment** (the
  share of its points earned, higher = better) is used instead.
- group tier: each level-1 group's **attainment share** (points earned / points available in the
  group, with the leaf split the leaf tier gives), all benefit.

A column in which every project has the same value makes the objective methods degenerate and is
reported as an error naming the column; no NaN weight is ever passed on.

**Cells without a value** (blank, n/a, 未申报) follow the leaf's missing-value policy
(``missing:`` in the indicator system) in every statistic on raw values (objective weights,
their treatment, the diagnostics): ``impute`` — the cell takes the median the indicator system
imputes with (the project's department, else the portfolio) of the leaf's raw values, and is
used; ``error`` — refused, naming the portfolio file, the spreadsheet row and the leaf;
``zero`` and ``exclude`` (and every n/a or 未申报 cell) — the cell holds no measurement and is
left out of the statistics (each statistic reads the values a column has, pairwise for
correlations). :func:`cell_counts` says per leaf how many cells were used, imputed (with the
value) and left out. The group tier reads attainment shares, which the indicator system
resolves for every cell by the same policies.

:func:`compare_schemes` scores, grades and links one scenario's portfolio under several schemes
and returns a :class:`Comparison` of tidy tables; :data:`DEFAULT_SCHEMES` are six schemes usable
with one call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from perfsim.errors import InputError
from perfsim.kernel import treatment as tr
from perfsim.kernel import weighting as wt
from perfsim.model.indicators import BLANK, NOT_APPLICABLE, VALUE, IndicatorSystem
from perfsim.model.weighting_spec import (
    TIERS,
    TierSpec,
    WeightingSpec,
    level1_members,
    parse_weighting,
    resolve_ahp,
    resolve_target,
    resolve_treatment,
    short,
    within,
)

if TYPE_CHECKING:
    from perfsim.model.portfolio import Portfolio
# --------------------------------------------------------------------------------------------
# Data for the objective methods
# --------------------------------------------------------------------------------------------


def leaf_directions(system: IndicatorSystem) -> tuple[str, ...]:
    """For each non-bonus leaf, how the objective methods read its raw measurement:
    ``'higher'`` (benefit: a higher value earns more), ``'lower'`` (cost) or ``'attainment'``
    (target-is-best: the leaf's attainment is used instead of the raw value): each leaf's
    rule says which way its raw value raises the score
    (:attr:`perfsim.kernel.scoring.Rule.value_direction`). See the module docstring for the
    rule-by-rule convention."""
    return tuple("attainment" if leaf.rule.value_direction == "equal"
                 else leaf.rule.value_direction for leaf in system.indicators)


@dataclass(frozen=True)
class _Data:
    attainment: np.ndarray  # (projects, leaves), shares of each leaf's points
    #: (projects, leaves): raw values, or attainment for target-is-best leaves; imputed where
    #: the leaf's policy is ``missing: impute``, NaN where a missing cell is left out
    X: np.ndarray
    directions: tuple[str, ...]  # 'higher' | 'lower' per column of X
    #: (projects,) each project's row as the portfolio's spreadsheet shows it (header = row 1)
    rows: np.ndarray | None = None
    #: (projects, leaves): the cells that hold a value, the imputed ones, the ones left out
    valued: np.ndarray | None = None
    imputed: np.ndarray | None = None
    left_out: np.ndarray | None = None
    #: per leaf: the value(s) imputed cells took and whose median ("" where none was imputed)
    imputed_value: tuple[str, ...] = ()
    imputed_from: tuple[str, ...] = ()


#: The columns of :func:`cell_counts`.
CELL_COUNT_COLUMNS = ("code", "group", "n_values", "n_imputed", "imputed_value",
                      "imputed_from", "n_left_out", "n_used")


def _spreadsheet_rows(portfolio: Portfolio) -> np.ndarray:
    """Each project's row as the portfolio's spreadsheet shows it: the portfolio reader's
    numbering (header = row 1, first project row 2; :meth:`Portfolio.cells_table`)."""
    return portfolio.sheet_rows


def _fmt_values(values: np.ndarray) -> str:
    """The values imputed cells took: up to three listed, more as a count and a range (one
    department median per department)."""
    distinct = np.unique(values)
    if distinct.size <= 3:
        return ", ".join(f"{v:.6g}" for v in distinct)
    return f"{distinct.size} values from {distinct[0]:.6g} to {distinct[-1]:.6g}"


def _refuse_cells(leaf: Any, st: np.ndarray, source: str, rows: np.ndarray) -> None:
    """Refuse a leaf's first blank under ``missing: error`` (or n/a cell on an item that always
    applies), naming the portfolio file and the row as its spreadsheet shows it."""
    refuse = ((st == BLANK) & (leaf.missing == "error")) | (
        (st == NOT_APPLICABLE) & (leaf.not_applicable is None))
    if not refuse.any():
        return
    i = int(np.flatnonzero(refuse)[0])
    if st[i] == BLANK:
        raise InputError(source, f"row {rows[i]}", leaf.code, "",
                         "missing value (the indicator's missing policy is 'error')")
    raise InputError(source, f"row {rows[i]}", leaf.code, "n/a",
                     "marked not applicable, but this item always applies (the indicator "
                     "needs not_applicable: average | exclude | full)")


def _leaf_column(system: IndicatorSystem, leaf: Any, col: np.ndarray, st: np.ndarray,
                 departments: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, str, str]:
    """One leaf's column for the statistics under its missing-value policy: ``(column,
    imputed, left_out, imputed_value, imputed_from)`` (:func:`_refuse_cells` has already
    refused what the policy refuses). A blank under ``missing: impute`` takes the median the
    indicator system imputes with (the project's department, else the portfolio;
    :meth:`IndicatorSystem.resolve`) of the column's values; every other cell without a value
    (blank under ``zero``/``exclude``, n/a, 未申报) has no measurement and is left out
    (NaN)."""
    value = st == VALUE
    blank = st == BLANK
    col = np.where(value, col, np.nan)
    imputed = blank & (leaf.missing == "impute")
    fill_value = label = ""
    if imputed.any():
        fill, label = system._fill(leaf, BLANK, "impute", col, value, imputed, departments)
        col = np.where(imputed, fill, col)
        fill_value = _fmt_values(col[imputed])
        label = label.removeprefix("impute: ")
    return col, imputed, ~value & ~imputed, fill_value, label


def project_data(system: IndicatorSystem, portfolio: Portfolio | None,
                  source: str | None) -> _Data:
    """The data the objective methods and the diagnostics read (see the module docstring),
    each leaf's missing cells handled by its policy (:func:`_leaf_column`)."""
    if portfolio is None:
        raise InputError(source, "weighting", problem="objective methods (entropy, critic, pca, "
                         "combined) need a portfolio with indicator measurements")
    if portfolio.has_scores or not portfolio.measured:
        raise InputError(source, "weighting", problem="objective methods (entropy, critic, pca, "
                         f"combined) need indicator measurements, but {portfolio.source} holds "
                         "ready scores")
    meas = portfolio.measurements()
    rows = _spreadsheet_rows(portfolio)
    status = []
    for leaf in system.indicators:
        if leaf.code not in meas:
            break   # the system's own check (system.attainment below) names the leaf
        st = meas.status.get(leaf.code)
        raw = np.asarray(meas[leaf.code], dtype=float)
        st = np.where(np.isnan(raw), BLANK, VALUE) if st is None else np.asarray(st)
        _refuse_cells(leaf, st, portfolio.source, rows)  # before the system refuses by position
        status.append(st)
    attainment = np.asarray(system.attainment(meas), dtype=float)
    dirs = leaf_directions(system)
    cols, imputed, left, values, whence = [], [], [], [], []
    for k, (leaf, d) in enumerate(zip(system.indicators, dirs, strict=True)):
        raw = np.asarray(meas[leaf.code], dtype=float)
        col, imp, out, value, label = _leaf_column(
            system, leaf, attainment[:, k] if d == "attainment" else raw, status[k],
            meas.departments)
        cols.append(col)
        imputed.append(imp)
        left.append(out)
        values.append(value)
        whence.append(label)
    imputed_m, left_m = np.column_stack(imputed), np.column_stack(left)
    return _Data(attainment, np.column_stack(cols),
                 tuple("higher" if d == "attainment" else d for d in dirs), rows,
                 ~imputed_m & ~left_m, imputed_m, left_m, tuple(values), tuple(whence))


def filled_counts(system: IndicatorSystem, portfolio: Portfolio) -> pd.Series:
    """How many cells of the non-bonus leaves hold no value, by the treatment their leaf's
    policy gives them in the attainment (:meth:`IndicatorSystem.resolve`: ``zero``, ``impute:
    department median``, ``average of the others``, ...), the data of the group tier, BoD and
    SMAA, which use every cell so scored; empty when every cell holds a value."""
    cells = system.resolve(portfolio.measurements()).cells
    cells = cells[cells["code"].isin(system.codes)]
    return cells.groupby("treatment", sort=True).size().rename("n")


def cell_counts(system: IndicatorSystem, portfolio: Portfolio, *,
                _data: _Data | None = None) -> pd.DataFrame:
    """How many cells of each non-bonus leaf the statistics (objective weights, treatment,
    diagnostics) use and leave out, one row per leaf (:data:`CELL_COUNT_COLUMNS`):
    ``n_values`` (cells holding a measurement), ``n_imputed`` (blank cells under
    ``missing: impute``, used with the value(s) ``imputed_value``, the median of
    ``imputed_from``), ``n_left_out`` (blank cells under ``zero``/``exclude``, n/a and 未申报
    cells: no measurement) and ``n_used`` = n_values + n_imputed."""
    d = _data if _data is not None else project_data(system, portfolio, None)
    n_values = d.valued.sum(axis=0)
    n_imputed = d.imputed.sum(axis=0)
    return pd.DataFrame({
        "code": list(system.codes), "group": [i.level1 for i in system.indicators],
        "n_values": n_values, "n_imputed": n_imputed,
        "imputed_value": list(d.imputed_value), "imputed_from": list(d.imputed_from),
        "n_left_out": d.left_out.sum(axis=0), "n_used": n_values + n_imputed},
        columns=list(CELL_COUNT_COLUMNS))


# --------------------------------------------------------------------------------------------
# Applying a scheme
# --------------------------------------------------------------------------------------------


def _tier_weights(tier: TierSpec, *, points: np.ndarray, X: Any, directions: Sequence[str],
                  ahp: np.ndarray | None, codes: Sequence[str],
                  rows: np.ndarray | None = None,
                  target: np.ndarray | None = None) -> np.ndarray:
    method, subjective = tier.method, tier.subjective
    if tier.uses_ahp:
        # AHP weights come ready from the (panel of) matrices, as the "expert" points of the
        # tier; a leaf-tier group without a matrix keeps the file proportions
        method, subjective = ("expert", subjective) if method == "ahp" else (method, "expert")
        if ahp is not None:
            points = ahp
    if method in ("expert", "combined") and not points.sum() > 0:
        points = np.ones_like(points)  # a group left with no points: split it evenly
    data_X = None
    if tier.uses_data:
        data_X = X()
        if tier.treatment is not None:
            data_X = tr.treat(data_X, tier.treatment.options(codes), codes, rows).X
    w = wt.compute_weights(
        method, points=points, X=data_X,
        directions=directions if tier.uses_data else None,
        alpha=tier.alpha, objective=tier.objective, subjective=subjective,
        combine=tier.combine, cr_limit=tier.cr_limit, variance_kept=tier.variance_kept,
        codes=list(codes), target=target, rows=rows)
    w = np.asarray(w, dtype=float)
    if w.shape != (len(codes),) or not np.all(np.isfinite(w)) or np.any(w < 0):
        raise InputError(where="weighting", value=short(w.tolist()),  # never reached in practice
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
        group_ahp, leaf_ahp = resolve_ahp(spec, system)
        resolve_treatment(spec, system)
        group_target, leaf_target = resolve_target(spec, system)
        data = _data
        if data is None and spec.uses_data:
            data = project_data(system, portfolio, spec.source)
        pts = system.points
        members = level1_members(system)
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
                    ahp=leaf_ahp.get(group), codes=[codes[k] for k in cols],
                    rows=data.rows if data else None, target=leaf_target.get(group))
            except InputError as err:
                raise within(err, f"weighting leaves, group {group}") from None

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
                    directions=["higher"] * n_groups, ahp=group_ahp,
                    codes=system.level1_codes, rows=data.rows if data else None,
                    target=group_target)
            except InputError as err:
                raise within(err, "weighting groups") from None
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




def treatment_frame(system: IndicatorSystem, spec: WeightingSpec | Mapping[str, Any] | None,
                    portfolio: Portfolio, *, base: str | Path | None = None) -> pd.DataFrame:
    """The record of the leaf-tier ``treatment:`` of a scheme on a portfolio: one row per leaf
    (``code, group, method, applied, n_low, n_high, low_cut, high_cut, skew_before,
    kurtosis_before, skew_after, kurtosis_after, still_skewed``), treated within its level-1
    group exactly as :func:`apply_weighting` treats it. Cut values are in the leaf's unit (or
    attainment shares for target-is-best leaves). Leaves of single-leaf groups, which the leaf
    tier never weighs, are included too. Without a leaf-tier treatment every row says
    ``none``."""
    spec = parse_weighting(spec, base=base)
    resolve_treatment(spec, system)
    data = project_data(system, portfolio, spec.source)
    t = spec.leaves.treatment
    opts = t.options(system.codes) if t is not None else [{"method": "none"}] * len(system.codes)
    try:
        rec = tr.treat(data.X, opts, system.codes, data.rows)
    except InputError as err:
        raise err.at(spec.source) from None
    df = pd.DataFrame(rec.records())
    df.insert(1, "group", [i.level1 for i in system.indicators])
    return df
