"""Indicator systems (指标体系): the hierarchy, its file formats and validation.

An indicator system is a tree, by national practice of three levels (一级/二级/三级指标; YAML
allows up to :data:`MAX_LEVELS`, scored as a composite indicator). Leaves carry points
(分值) and a scoring rule; non-bonus leaf points add up to the system's ``total`` (100 by
default); bonus leaves add capped extra points. Two file formats hold the same content:

- YAML, nested (``indicators:`` → ``children:``), see ``datasets/indicator_systems/``;
- Excel (``.xlsx``), flat: sheet ``indicators`` with one row per leaf and the columns of
  :data:`EXCEL_COLUMNS`, and an optional sheet ``system`` with ``key``/``value`` rows
  (code, name_zh, name_en, total, bonus_cap, aggregation, source, missing, impute,
  rounding_leaf, rounding_total, normalisation).

A loaded :class:`IndicatorSystem` is validated once and trusted everywhere else.

**As published.** ``rounding`` gives the decimals of leaf points and of the total (default:
the total to two decimals, leaves as computed), applied wherever scores are computed
(:meth:`IndicatorSystem.measure`). Cells that hold no value are resolved here, at the
boundary, so the kernel sees plain attainments: a blank cell follows the leaf's ``missing``
policy (``zero`` — 未填报不得分, the default; ``error``; ``exclude`` — the leaf is dropped and
the project's other leaves rescaled to the total; ``impute`` — the department's median, else
the portfolio's), a cell marked not applicable (``n/a``, ``不适用``) follows the leaf's
``not_applicable`` option (``average`` — 得本项平均分, the average of the others; ``exclude``;
``full``), and a cell marked not submitted (``未申报``) scores 0 (未申报的不得分). Every cell so
filled is listed (:meth:`IndicatorSystem.resolve`).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from perfsim import textfiles
from perfsim.errors import InputError
from perfsim.io import check_mapping, read_yaml
from perfsim.kernel.composite import NORMALISATIONS, PARAMETERS
from perfsim.kernel.composite.measure import CompositeMeasure
from perfsim.kernel.composite.tree import Composite, level_paths
from perfsim.kernel.evaluation import Measure
from perfsim.kernel.scoring import (
    AGGREGATIONS,
    GROUP_METHODS,
    WITHIN,
    Rule,
    bonus_total,
    make_rule,
    round_half_up,
)
from perfsim.model.weighting_spec import parse_weighting, short

EXCEL_COLUMNS = (
    "level1_code", "level1_zh", "level1_en", "level2_code", "level2_zh", "level2_en",
    "code", "name_zh", "name_en", "points", "unit", "target", "direction", "rule", "params",
    "missing", "not_applicable",
)
_CODE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")
_TOP_KEYS = {"code", "name", "source", "total", "bonus_cap", "aggregation", "group_aggregation",
             "indicators", "description", "weighting", "rounding", "missing", "impute",
             "missing_submission", "overcompletion", "normalisation", "level_aggregation",
             "composite"}
#: the deepest level a leaf may sit at (the national practice: 3, 一级/二级/三级指标)
MAX_LEVELS = 6
_NODE_KEYS = {"code", "name", "points", "children", "unit", "target", "direction", "rule",
              "description", "missing", "not_applicable"}

#: what a blank cell means (``missing``): 未填报不得分 (``zero``, the default), refuse the
#: portfolio (``error``), drop the leaf and rescale the rest (``exclude``), or the median of the
#: project's department, else of the portfolio (``impute``)
MISSING_POLICIES = ("zero", "error", "exclude", "impute")
#: what a cell marked not applicable means (``not_applicable``): 得本项平均分 (``average`` of
#: the projects that have the item), ``exclude`` (rescale the rest), ``full`` points
NOT_APPLICABLE_OPTIONS = ("average", "exclude", "full")
#: whose median an imputed cell takes: the project's department (falling back to the
#: portfolio when the department has no value) or the whole portfolio
IMPUTE_FROM = ("department", "portfolio")
#: cell texts meaning "this item does not apply" (compared case-insensitively)
NOT_APPLICABLE_MARKS = ("n/a", "na", "不适用", "无此项")
#: default cell texts meaning "not submitted" (未申报的不得分: they score 0)
NOT_SUBMITTED_MARKS = ("未申报", "未报送", "未提交", "not submitted")
#: status of a cell: a value, blank, not applicable, not submitted
VALUE, BLANK, NOT_APPLICABLE, NOT_SUBMITTED = 0, 1, 2, 3
CELL_NAMES = {BLANK: "blank", NOT_APPLICABLE: "not applicable", NOT_SUBMITTED: "not submitted"}
#: the columns of the table of filled cells
CELL_COLUMNS = ("position", "code", "cell", "treatment", "points")


@dataclass(frozen=True)
class Group:
    """A level-1 or level-2 node of the hierarchy."""

    code: str
    name_zh: str
    name_en: str
    level: int
    parent: str | None = None


@dataclass(frozen=True)
class Indicator:
    """A leaf: the unit of measurement and scoring."""

    code: str
    name_zh: str
    name_en: str
    points: float
    rule: Rule
    unit: str = ""
    target: float | None = None
    direction: str = "higher"
    level: int = 3
    path: tuple[str, ...] = ()  # codes of the enclosing groups, level 1 first
    description: str = ""
    missing: str = "zero"  # what a blank cell means, see MISSING_POLICIES
    not_applicable: str | None = None  # what "n/a" means; None: the item always applies

    @property
    def is_bonus(self) -> bool:
        return self.rule.is_bonus

    @property
    def level1(self) -> str:
        return self.path[0] if self.path else self.code


@dataclass(frozen=True)
class IndicatorSystem:
    """A validated indicator system. Cheap to copy: use :meth:`with_points` to reweight."""

    code: str
    name_zh: str
    name_en: str
    indicators: tuple[Indicator, ...]  # non-bonus leaves, in file order
    bonus: tuple[Indicator, ...] = ()
    groups: tuple[Group, ...] = ()
    total: float = 100.0
    bonus_cap: float = 0.0
    aggregation: str = "weighted_sum"
    source: str = ""
    path: str | None = field(default=None, compare=False)
    #: the file's raw ``weighting:`` block (validated on load, applied by scenarios; see
    #: :mod:`perfsim.run.compare`); paths in it are relative to :attr:`path`
    weighting: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)
    #: decimals of each leaf's points and of the total as printed (None: not rounded)
    leaf_decimals: int | None = None
    total_decimals: int | None = 2
    #: whose median fills an imputed cell (see IMPUTE_FROM)
    impute: str = "department"
    #: cell texts meaning "not submitted" (they score 0)
    missing_submission: tuple[str, ...] = NOT_SUBMITTED_MARKS
    #: level-1 code -> how that group's leaves aggregate (WITHIN; unlisted: arithmetic)
    group_aggregation: Mapping[str, str] = field(default_factory=dict)
    #: how the leaves are normalised before aggregating (NORMALISATIONS; ``none``: the rules'
    #: attainments as they are, the national practice)
    normalisation: str = "none"
    #: hierarchy level (1 = the level-1 groups) -> how each group at that level aggregates its
    #: children (GROUP_METHODS; unlisted: arithmetic); ``group_aggregation`` overrides a group
    level_aggregation: Mapping[int, str] = field(default_factory=dict)
    #: method name -> its parameters (``composite: {power_mean: {p: 0.5}}``; see PARAMETERS)
    composite: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @property
    def is_composite(self) -> bool:
        """Scored by :mod:`perfsim.kernel.composite` (a normalisation, a level's or a deeper
        group's aggregation, or a composite method): else the national two-level practice."""
        return (self.normalisation != "none" or self.aggregation not in AGGREGATIONS[:4]
                or any(m != "arithmetic" for m in self.level_aggregation.values())
                or any(m not in WITHIN or c not in self.level1_codes
                       for c, m in self.group_aggregation.items()))

    def composite_spec(self, reference: np.ndarray | None = None) -> Composite:
        """The hierarchy, methods and normalisation as the kernel takes them; ``reference``
        (projects, leaves): the attainments relative normalisations read (None: the projects
        scored together)."""
        paths, codes = level_paths([leaf.path for leaf in self.indicators])
        methods = tuple(tuple(self.group_aggregation.get(c) or self.level_aggregation.get(
            d + 1, "arithmetic") for c in level) for d, level in enumerate(codes))
        order = self.composite.get("owa", {}).get("weights")
        if order is not None:   # explicit order weights: one per child of each OWA group
            depth = paths.shape[1]
            kids = [(methods[d][g], codes[d][g] or "?",
                     len({p[d + 1] if d + 1 < depth else i
                          for i, p in enumerate(paths.tolist()) if p[d] == g}))
                    for d in range(depth) for g in range(len(codes[d]))]
            kids.append((self.aggregation, "system", len(codes[0])))
            for method, code, n in kids:
                if method == "owa" and n > 1 and n != len(order):
                    raise InputError(self.path, "system" if code == "system"
                                     else f"indicator {code}", "composite.owa.weights",
                                     order, f"needs one order weight per child ({n})")
        return Composite(paths=paths, methods=methods, top=self.aggregation,
                         normalisation=self.normalisation, params=self.composite,
                         reference=reference)

    @property
    def within(self) -> np.ndarray | None:
        """Each level-1 group's own aggregation as a :data:`WITHIN` index, in the order of
        :attr:`level1_codes`; None when every group is arithmetic and the system is not a
        composite (:attr:`is_composite`: then never None, so that no caller takes its total
        for the weighted sum of the leaves)."""
        if not any(m != "arithmetic" for m in self.group_aggregation.values()) \
                and not self.is_composite:
            return None
        return np.array([GROUP_METHODS.index(self.group_aggregation.get(c, "arithmetic"))
                         for c in self.level1_codes], dtype=np.intp)

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(i.code for i in self.indicators)

    @property
    def all_codes(self) -> tuple[str, ...]:
        return self.codes + tuple(b.code for b in self.bonus)

    @property
    def points(self) -> np.ndarray:
        return np.array([i.points for i in self.indicators], dtype=float)

    @property
    def level1_codes(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for i in self.indicators:
            seen.setdefault(i.level1, None)
        return tuple(seen)

    @property
    def level1_index(self) -> np.ndarray:
        """Index into :attr:`level1_codes` of each non-bonus leaf."""
        pos = {c: k for k, c in enumerate(self.level1_codes)}
        return np.array([pos[i.level1] for i in self.indicators], dtype=np.intp)

    def indicator(self, code: str) -> Indicator:
        for i in self.indicators + self.bonus:
            if i.code == code:
                return i
        raise InputError(self.path, f"indicator {code}", problem="no such indicator code")

    def name_of(self, code: str, lang: str = "zh") -> str:
        for node in (*self.groups, *self.indicators, *self.bonus):
            if node.code == code:
                return node.name_zh if lang == "zh" else node.name_en
        return code

    def with_points(self, points: Sequence[float] | np.ndarray) -> IndicatorSystem:
        """A copy whose non-bonus leaves carry ``points`` (e.g. from a weighting method).
        Rules keep their parameters; deductions stay in the file's points (see scoring)."""
        pts = np.asarray(points, dtype=float)
        if pts.shape != (len(self.indicators),) or not np.all(np.isfinite(pts)) or np.any(
                pts < 0):
            raise InputError(self.path, field="points", value=list(np.round(pts, 6)),
                             problem=f"need {len(self.indicators)} finite non-negative points")
        leaves = tuple(replace(i, points=float(p)) for i, p in zip(self.indicators, pts,
                                                                     strict=True))
        return replace(self, indicators=leaves, total=float(pts.sum()))

    # --- scoring ----------------------------------------------------------------------
    def measure(self, bonus: np.ndarray | float = 0.0,
                reference: np.ndarray | None = None) -> Measure:
        """The :class:`~perfsim.kernel.evaluation.Measure` that turns this system's leaf
        attainments into total scores as published: the leaf points, the aggregation, the
        rounding, and ``bonus`` points per project. A composite system (:attr:`is_composite`)
        gives a :class:`~perfsim.kernel.composite.measure.CompositeMeasure`; ``reference``
        fixes what its relative normalisation reads."""
        if self.is_composite:
            return CompositeMeasure(
                points=self.points, span=np.ones(self.points.size),
                aggregation=self.aggregation, groups=self.level1_index,
                total=float(self.total), bonus=bonus, leaf_decimals=self.leaf_decimals,
                total_decimals=self.total_decimals, within=self.within,
                composite=self.composite_spec(reference))
        return Measure(points=self.points, span=np.ones(self.points.size),
                       aggregation=self.aggregation, groups=self.level1_index,
                       total=float(self.total), bonus=bonus, leaf_decimals=self.leaf_decimals,
                       total_decimals=self.total_decimals, within=self.within)

    def attainment(self, measurements: Mapping[str, np.ndarray]) -> np.ndarray:
        """Leaf attainments in [0, 1], shape (..., indicators), from raw measurements keyed by
        code (each array shaped (...,), e.g. (projects,) or (replications, projects)).
        Auxiliary inputs (the self-score of a re-check) are keyed ``<code>.<input>``. Cells
        without a value are filled as :meth:`resolve` says."""
        return self.resolve(measurements).attainment

    def bonus_points(self, measurements: Mapping[str, np.ndarray]) -> np.ndarray | float:
        """Sum of bonus points, capped at :attr:`bonus_cap`."""
        if not self.bonus:
            return 0.0
        return self.resolve(measurements).bonus

    def score(self, measurements: Mapping[str, np.ndarray],
              attainment: np.ndarray | None = None) -> np.ndarray:
        """Total score in points as published: aggregated (and rounded) leaf points plus
        capped bonus, the total rounded (see :meth:`measure`)."""
        resolved = self.resolve(measurements)
        a = resolved.attainment if attainment is None else attainment
        reference = a if self.is_composite and a.ndim == 2 else None
        return self.measure(resolved.bonus, reference).score(a)

    def resolve(self, measurements: Mapping[str, np.ndarray]) -> Resolved:
        """Attainments, bonus points and the list of filled cells.

        A cell holds a value, or is blank, not applicable or not submitted: the status comes
        from ``measurements.status`` (a portfolio's :class:`Measurements`), else a NaN value
        counts as blank. Not submitted scores 0. Blank and not-applicable cells follow the
        leaf's ``missing`` and ``not_applicable`` settings; averages and medians are taken
        over the cells that hold a value (along the last axis, the projects), and ``exclude``
        comes last: the leaf takes the project's attainment share over its other scored leaves,
        so the total is their points rescaled to the system total. Bonus leaves without a
        value earn no bonus. ``cells`` lists every filled cell (for 1-D measurements): its
        position, code, what the cell held, the treatment and the points it now earns."""
        status = getattr(measurements, "status", None) or {}
        departments = getattr(measurements, "departments", None)
        records: list[tuple[int, str, str, str, float]] = []
        cols, states = [], []
        for leaf in self.indicators:
            a, st = self._leaf_cells(leaf, measurements, status)
            cols.append(a)
            states.append(st)
        A = np.stack(cols, axis=-1)
        S = np.stack(states, axis=-1)
        excluded = np.zeros(S.shape, dtype=bool)
        for k, leaf in enumerate(self.indicators):
            st = S[..., k]
            if not np.any(st != VALUE):
                continue
            value = st == VALUE
            for kind, option in ((NOT_SUBMITTED, "not submitted"),
                                 (NOT_APPLICABLE, leaf.not_applicable),
                                 (BLANK, leaf.missing)):
                cells = st == kind
                if not cells.any():
                    continue
                fill, treatment = self._fill(leaf, kind, option, A[..., k], value, cells,
                                             departments)
                if treatment == "exclude":
                    excluded[..., k] |= cells
                    continue
                A[..., k] = np.where(cells, fill, A[..., k])
                records += self._records(leaf, cells, kind, treatment, A[..., k])
        if excluded.any():
            pts = self.points
            kept = ~excluded
            room = kept @ pts
            if np.any(excluded.any(axis=-1) & (room <= 0)):
                raise InputError(self.path, field="missing",
                                 problem="a project has every indicator excluded: nothing is "
                                         "left to rescale")
            with np.errstate(invalid="ignore", divide="ignore"):
                share = np.where(room > 0, (np.where(kept, A, 0.0) @ pts) / room, 0.0)
            A = np.where(excluded, share[..., None], A)
            for k, leaf in enumerate(self.indicators):
                if excluded[..., k].any():
                    kinds = S[..., k]
                    for kind in (NOT_APPLICABLE, BLANK):
                        cells = excluded[..., k] & (kinds == kind)
                        records += self._records(leaf, cells, kind,
                                                 "exclude: the rest rescaled", A[..., k])
        bonus: np.ndarray | float = 0.0
        if self.bonus:
            earned = []
            for leaf in self.bonus:
                a, st = self._leaf_cells(leaf, measurements, status)
                empty = st != VALUE
                if empty.any() and leaf.missing == "error":
                    self._refuse(leaf, st)
                a = np.where(empty, 0.0, a)
                for kind in (BLANK, NOT_APPLICABLE, NOT_SUBMITTED):
                    records += self._records(leaf, empty & (st == kind), kind,
                                             "zero: no bonus", a)
                earned.append(a)
            bonus = bonus_total(earned, [leaf.points for leaf in self.bonus], self.bonus_cap,
                                self.leaf_decimals)
        order = sorted(records, key=lambda r: (r[0], self.all_codes.index(r[1])))
        return Resolved(A, bonus, pd.DataFrame(order, columns=list(CELL_COLUMNS)))

    def _leaf_cells(self, leaf: Indicator, measurements: Mapping[str, np.ndarray],
                    status: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """A leaf's attainment where its cells hold a value (0 elsewhere) and each cell's
        status."""
        if leaf.code not in measurements:
            raise InputError(self.path, f"indicator {leaf.code}", problem="no measurements given")
        v = np.asarray(measurements[leaf.code], dtype=float)
        st = status.get(leaf.code)
        st = np.where(np.isnan(v), BLANK, VALUE) if st is None else np.asarray(st)
        aux = {k: np.asarray(measurements[f"{leaf.code}.{k}"], dtype=float)
               for k in leaf.rule.aux_inputs if f"{leaf.code}.{k}" in measurements}
        value = st == VALUE
        a = leaf.rule.attainment(np.where(value, np.nan_to_num(v), 0.0), aux)
        return np.where(value, a, 0.0), np.broadcast_to(st, np.shape(a))

    def _fill(self, leaf: Indicator, kind: int, option: str | None, a: np.ndarray,
              value: np.ndarray, cells: np.ndarray, departments: np.ndarray | None
              ) -> tuple[np.ndarray | float, str]:
        """The attainment that fills ``cells`` of a leaf and the treatment's name."""
        if kind == NOT_SUBMITTED:
            return 0.0, "not submitted: 0"
        if option is None:  # not applicable, but the item always applies
            self._refuse(leaf, np.where(cells, kind, VALUE))
        if option == "error":
            self._refuse(leaf, np.where(cells, kind, VALUE))
        if option == "zero":
            return 0.0, "zero"
        if option == "full":
            return 1.0, "full points"
        if option == "exclude":
            return 0.0, "exclude"
        if not value.any(axis=-1).all():
            raise InputError(self.path, f"indicator {leaf.code}", field=option,
                             problem=f"no project has a value to take the "
                                     f"{'average' if option == 'average' else 'median'} of")
        if option == "average":
            with np.errstate(invalid="ignore"):
                mean = np.nanmean(np.where(value, a, np.nan), axis=-1, keepdims=True)
            return np.broadcast_to(mean, a.shape), "average of the others"
        whole = np.nanmedian(np.where(value, a, np.nan), axis=-1, keepdims=True)
        if self.impute == "portfolio" or departments is None:
            return np.broadcast_to(whole, a.shape), "impute: portfolio median"
        fill = np.broadcast_to(whole, a.shape).copy()
        used = np.zeros(a.shape, dtype=bool)
        dep = np.asarray(departments)
        for d in np.unique(dep[np.any(cells, axis=tuple(range(cells.ndim - 1)))]
                           if cells.ndim > 1 else dep[cells]):
            member = dep == d
            own = value & member
            if own.any():
                with np.errstate(invalid="ignore"):
                    med = np.nanmedian(np.where(own, a, np.nan), axis=-1, keepdims=True)
                fill = np.where(member & np.isfinite(med), med, fill)
                used |= member & np.isfinite(med)
        # one name per cell is too fine for a label: say which median most cells took
        label = ("impute: department median" if used[cells].all() else
                 "impute: portfolio median" if not used[cells].any() else
                 "impute: department median (portfolio where the department has none)")
        return fill, label

    def _records(self, leaf: Indicator, cells: np.ndarray, kind: int, treatment: str,
                 a: np.ndarray) -> list[tuple[int, str, str, str, float]]:
        if np.ndim(cells) != 1 or not cells.any():
            return []
        pts = round_half_up(np.asarray(a) * leaf.points, self.leaf_decimals)
        return [(int(i), leaf.code, CELL_NAMES[kind], treatment, float(pts[i]))
                for i in np.flatnonzero(cells)]

    def _refuse(self, leaf: Indicator, status: np.ndarray) -> None:
        bad = np.argwhere(np.asarray(status) != VALUE)[0]
        kind = int(np.asarray(status)[tuple(bad)])
        at = f"position {int(bad[-1])}"
        if kind == NOT_APPLICABLE:
            raise InputError(self.path, f"indicator {leaf.code}", "not_applicable",
                             problem=f"{at} is marked not applicable, but the item always "
                                     f"applies (set not_applicable: "
                                     f"{' | '.join(NOT_APPLICABLE_OPTIONS)})")
        raise InputError(self.path, f"indicator {leaf.code}", "missing", leaf.missing,
                         problem=f"{at} is blank (missing value)")

    def __str__(self) -> str:
        bonus = f" + up to {self.bonus_cap:g} bonus" if self.bonus_cap else ""
        return (f"{self.code} ({self.name_zh} / {self.name_en}): {len(self.indicators)} "
                f"indicators, {self.total:g} points{bonus}, {len(self.level1_codes)} level-1 "
                f"groups, aggregation {self.aggregation}")


@dataclass(frozen=True, eq=False)
class Resolved:
    """Measurements resolved into what the kernel sees: ``attainment`` (..., indicators),
    ``bonus`` points per project (capped), and ``cells``, one row per filled cell
    (:data:`CELL_COLUMNS`: the project's position, the leaf code, what the cell held, the
    treatment, the points the leaf now earns)."""

    attainment: np.ndarray
    bonus: np.ndarray | float
    cells: pd.DataFrame


class Measurements(dict):
    """Raw measurements by code (NaN where a cell holds no value) with the ``status`` of each
    leaf's cells (:data:`VALUE`, :data:`BLANK`, :data:`NOT_APPLICABLE`,
    :data:`NOT_SUBMITTED`, by code) and the projects' ``departments``, so that every caller
    resolves empty cells the same way."""

    def __init__(self, values: Mapping[str, np.ndarray], status: Mapping[str, np.ndarray]
                 | None = None, departments: np.ndarray | None = None) -> None:
        super().__init__(values)
        self.status = dict(status or {})
        self.departments = departments


# --- loading --------------------------------------------------------------------------------

def load_indicator_system(path: str | Path) -> IndicatorSystem:
    """Load and validate an indicator system from YAML (``.yaml``/``.yml``) or Excel
    (``.xlsx``). Errors name the file, the indicator code, the field and the value."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, problem="file not found")
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):
        doc = read_yaml(path)
        return system_from_dict(doc, source=path)
    if suffix in (".xlsx", ".xlsm"):
        return _from_excel(path)
    raise InputError(path, problem="unknown indicator-system format (use .yaml or .xlsx)")


def system_from_dict(doc: Any, source: str | Path | None = None) -> IndicatorSystem:
    """Build a validated system from the YAML structure (already parsed)."""
    src = str(source) if source is not None else "<indicator system>"
    check_mapping(doc, _TOP_KEYS, src, "an indicator system")
    code = str(doc.get("code") or Path(src).stem)
    name_zh, name_en = _names(doc.get("name"), src, "system")
    total = _number(doc.get("total", 100), src, "system", "total", positive=True)
    bonus_cap = _number(doc.get("bonus_cap", 0), src, "system", "bonus_cap", nonneg=True)
    aggregation = doc.get("aggregation", "weighted_sum")
    if aggregation not in AGGREGATIONS:
        raise InputError(src, "system", "aggregation", aggregation,
                         f"must be one of {', '.join(AGGREGATIONS)}")
    nodes = doc.get("indicators")
    if not isinstance(nodes, list) or not nodes:
        raise InputError(src, "system", "indicators", problem="must be a non-empty list")
    leaf_decimals, total_decimals = _rounding(doc.get("rounding", {}), src)
    missing = _choice(doc.get("missing", "zero"), MISSING_POLICIES, src, "system", "missing")
    impute = _choice(doc.get("impute", "department"), IMPUTE_FROM, src, "system", "impute")
    marks = doc.get("missing_submission", list(NOT_SUBMITTED_MARKS))
    if isinstance(marks, str):
        marks = [marks]
    if not isinstance(marks, list) or not all(isinstance(m, str) and m.strip() for m in marks):
        raise InputError(src, "system", "missing_submission", marks,
                         "must be a list of cell texts meaning 'not submitted'")
    overcompletion = doc.get("overcompletion")
    if overcompletion is not None and not isinstance(overcompletion, Mapping):
        raise InputError(src, "system", "overcompletion", overcompletion,
                         "must be {threshold: T, rate: R, floor: F} or null (off)")
    defaults = {"missing": missing, "overcompletion": overcompletion}

    groups: list[Group] = []
    leaves: list[Indicator] = []
    seen: set[str] = set()

    def walk(node: Any, level: int, path: tuple[str, ...]) -> float:
        where = f"level-{level} item under {path[-1]}" if path else f"level-{level} item"
        if not isinstance(node, Mapping):
            raise InputError(src, where, problem="must be a mapping with a code")
        ncode = node.get("code")
        if not isinstance(ncode, str | int) or not _CODE.match(str(ncode)):
            raise InputError(src, where, "code", ncode,
                             "must be letters, digits, '_', '.' or '-'")
        ncode = str(ncode)
        where = f"indicator {ncode}"
        if ncode in seen:
            raise InputError(src, where, "code", ncode, "duplicate code")
        seen.add(ncode)
        bad = set(node) - _NODE_KEYS
        if bad:
            raise InputError(src, where, sorted(bad)[0],
                             problem=f"unknown key (allowed: {', '.join(sorted(_NODE_KEYS))})")
        zh, en = _names(node.get("name"), src, where)
        children = node.get("children")
        if children is not None:
            if level >= MAX_LEVELS:
                raise InputError(src, where, "children",
                                 problem=f"too deep: at most {MAX_LEVELS} levels")
            if not isinstance(children, list) or not children:
                raise InputError(src, where, "children", problem="must be a non-empty list")
            groups.append(Group(ncode, zh, en, level, path[-1] if path else None))
            subtotal = sum(walk(c, level + 1, (*path, ncode)) for c in children)
            if "points" in node:
                declared = _number(node["points"], src, where, "points", nonneg=True)
                if not math.isclose(declared, subtotal, abs_tol=1e-6):
                    raise InputError(src, where, "points", declared,
                                     f"children's points add to {_fmt(subtotal)}")
            return subtotal
        leaf = _leaf(node, ncode, zh, en, level, path, src, defaults)
        leaves.append(leaf)
        return 0.0 if leaf.is_bonus else leaf.points

    leaf_total = sum(walk(n, 1, ()) for n in nodes)
    system = _finish(code, name_zh, name_en, groups, leaves, total, bonus_cap, aggregation,
                     str(doc.get("source", "")), src, leaf_total)
    system = replace(system, leaf_decimals=leaf_decimals, total_decimals=total_decimals,
                     impute=impute, missing_submission=tuple(m.strip() for m in marks),
                     group_aggregation=check_group_aggregation(
                         system, doc.get("group_aggregation"), src))
    system = with_composite(system, doc, src)
    if system.is_composite:
        system.composite_spec()   # checks what needs the hierarchy (OWA's order weights)
    if doc.get("weighting") is not None:
        parse_weighting(doc["weighting"], base=Path(src).parent, source=src).resolve(system)
        system = replace(system, weighting=doc["weighting"])
    return system


def check_group_aggregation(system: IndicatorSystem, spec: Any, src: str | None = None
                            ) -> dict[str, str]:
    """A ``group_aggregation:`` block checked against the system: group codes (level-1, or a
    deeper group) mapped to one of :data:`GROUP_METHODS`; errors name the group and the
    value."""
    if spec is None:
        return {}
    if not isinstance(spec, Mapping):
        raise InputError(src, "system", "group_aggregation", spec,
                         "must map level-1 codes to an aggregation "
                         f"({', '.join(GROUP_METHODS)})")
    deeper = [g.code for g in system.groups if g.code not in system.level1_codes
              and any(g.code in leaf.path for leaf in system.indicators)]
    out = {}
    for code, method in spec.items():
        if str(code) not in system.level1_codes and str(code) not in deeper:
            raise InputError(src, "system", f"group_aggregation.{code}", method,
                             f"not a level-1 group (groups: {', '.join(system.level1_codes)})")
        if method not in GROUP_METHODS:
            raise InputError(src, "system", f"group_aggregation.{code}", method,
                             f"must be one of {', '.join(GROUP_METHODS)}")
        out[str(code)] = str(method)
    return out


def with_composite(system: IndicatorSystem, doc: Mapping[str, Any], src: str | None = None
                   ) -> IndicatorSystem:
    """The system with its composite-indicator keys checked and set: ``normalisation:``
    (a name of NORMALISATIONS, or ``{method: NAME, <its parameters>}``), ``level_aggregation:``
    (level number -> a name of GROUP_METHODS) and ``composite:`` (method -> parameters, see
    :data:`perfsim.kernel.composite.PARAMETERS`). Errors name the key and the value."""
    params: dict[str, dict[str, Any]] = {}
    spec = doc.get("composite")
    if spec is not None and not isinstance(spec, Mapping):
        raise InputError(src, "system", "composite", spec,
                         "must map a method to its parameters, e.g. {power_mean: {p: 0.5}}")
    for method, values in (spec or {}).items():
        params[str(method)] = check_method_params(str(method), values, src, "composite")
    norm = doc.get("normalisation", "none")
    if isinstance(norm, Mapping):
        rest = {k: v for k, v in norm.items() if k != "method"}
        norm = norm.get("method")
        if isinstance(norm, str) and rest:
            params[norm] = check_method_params(norm, rest, src, "normalisation")
    if norm not in NORMALISATIONS:
        raise InputError(src, "system", "normalisation", norm,
                         f"must be one of {', '.join(NORMALISATIONS)}")
    levels = doc.get("level_aggregation") or {}
    if not isinstance(levels, Mapping):
        raise InputError(src, "system", "level_aggregation", levels,
                         "must map a level (1, 2, ...) to an aggregation "
                         f"({', '.join(GROUP_METHODS)})")
    checked_levels = {}
    for level, method in levels.items():
        if isinstance(level, bool) or not isinstance(level, int) or not 1 <= level < MAX_LEVELS:
            raise InputError(src, "system", f"level_aggregation.{level}", method,
                             f"the level must be a whole number in 1..{MAX_LEVELS - 1}")
        if method not in GROUP_METHODS:
            raise InputError(src, "system", f"level_aggregation.{level}", method,
                             f"must be one of {', '.join(GROUP_METHODS)}")
        checked_levels[level] = str(method)
    return replace(system, normalisation=str(norm), level_aggregation=checked_levels,
                   composite={**system.composite, **params})


def check_method_params(method: str, values: Any, src: str | None, key: str
                        ) -> dict[str, Any]:
    """Parameters of one composite method checked against
    :data:`perfsim.kernel.composite.PARAMETERS` (numbers; ``owa``'s ``weights`` a list)."""
    if method not in PARAMETERS:
        raise InputError(src, "system", f"{key}.{method}", problem="a method without "
                         f"parameters (with parameters: {', '.join(PARAMETERS)})")
    if not isinstance(values, Mapping):
        raise InputError(src, "system", f"{key}.{method}", values,
                         "must map parameter names to values")
    out: dict[str, Any] = {}
    for name, value in values.items():
        path = f"{key}.{method}.{name}"
        if name not in PARAMETERS[method]:
            raise InputError(src, "system", path, problem="unknown key (allowed: "
                             f"{', '.join(PARAMETERS[method])})")
        if name == "weights":
            if not isinstance(value, list) or not value or not all(
                    isinstance(v, int | float) and not isinstance(v, bool) and v >= 0
                    for v in value) or not sum(value) > 0:
                raise InputError(src, "system", path, value,
                                 "must be a list of order weights >= 0, largest value first")
            out[name] = [float(v) for v in value]
            continue
        number = _number(value, src, "system", path)
        bad = {"alpha": not 0 <= number <= 1, "orness": not 0 <= number <= 1,
               "beta": number < 0, "sd": number <= 0, "sign": number not in (-1, 1),
               "ddof": number not in (0, 1)}.get(name, False)
        if name == "high" and number <= float(values.get("low", PARAMETERS[method]["low"])):
            raise InputError(src, "system", path, value, "must be above low")
        if bad:
            raise InputError(src, "system", path, value, {
                "alpha": "must lie in [0, 1]", "orness": "must lie in [0, 1]",
                "beta": "must be >= 0", "sd": "must be > 0", "sign": "must be -1 or 1",
                "ddof": "must be 0 or 1"}[name])
        out[name] = int(number) if name == "ddof" else number
    return out


def _finish(code, name_zh, name_en, groups, leaves, total, bonus_cap, aggregation, source,
            src, leaf_total) -> IndicatorSystem:
    regular = tuple(x for x in leaves if not x.is_bonus)
    bonus = tuple(x for x in leaves if x.is_bonus)
    for b in bonus:  # bonus leaves live in groups of their own, outside the total
        for g in b.path:
            mixed = next((x for x in regular if g in x.path), None)
            if mixed is not None:
                raise InputError(src, f"indicator {g}", "children",
                                 problem=f"mixes bonus ({b.code}) and scored ({mixed.code}) "
                                         "leaves; put bonus leaves in a group of their own")
    if not regular:
        raise InputError(src, "system", "indicators", problem="no scored (non-bonus) leaves")
    if not math.isclose(leaf_total, total, abs_tol=1e-6):
        raise InputError(src, "system", "total", total,
                         f"leaf points add up to {_fmt(leaf_total)}, not {_fmt(total)}")
    if bonus and bonus_cap <= 0:
        raise InputError(src, f"indicator {bonus[0].code}", "bonus_cap", bonus_cap,
                         "bonus leaves need a positive system bonus_cap")
    return IndicatorSystem(code=code, name_zh=name_zh, name_en=name_en, indicators=regular,
                           bonus=bonus, groups=tuple(groups), total=float(total),
                           bonus_cap=float(bonus_cap), aggregation=aggregation, source=source,
                           path=src)


def _leaf(node: Mapping[str, Any], code: str, zh: str, en: str, level: int,
          path: tuple[str, ...], src: str, defaults: Mapping[str, Any]) -> Indicator:
    where = f"indicator {code}"
    if "points" not in node:
        raise InputError(src, where, "points", problem="a leaf needs points")
    points = _number(node["points"], src, where, "points", positive=True)
    target = node.get("target")
    if target is not None:
        target = _number(target, src, where, "target")
    direction = node.get("direction", "higher")
    rule_spec = node.get("rule")
    if isinstance(rule_spec, str):
        rule_spec = {"kind": rule_spec}
    if not isinstance(rule_spec, Mapping) or "kind" not in rule_spec:
        raise InputError(src, where, "rule", rule_spec, "must be a mapping with a 'kind'")
    params = {k: v for k, v in rule_spec.items() if k != "kind"}
    try:
        rule = make_rule(rule_spec["kind"], params, target=target, direction=direction,
                         points=points)
        if defaults.get("overcompletion") is not None:   # the system's default, where it fits
            rule = rule.with_overcompletion(defaults["overcompletion"])
    except InputError as err:
        name = err.field or ""
        if name not in ("target", "direction") and not name.startswith("rule"):
            name = f"rule.{name}"
        raise err.at(src, where, name) from None
    description = node.get("description", "")
    if isinstance(description, Mapping):
        description = " / ".join(str(v) for v in description.values())
    missing = _choice(node.get("missing", defaults.get("missing", "zero")), MISSING_POLICIES,
                      src, where, "missing")
    not_applicable = node.get("not_applicable")
    if not_applicable is not None:
        not_applicable = _choice(not_applicable, NOT_APPLICABLE_OPTIONS, src, where,
                                 "not_applicable")
    return Indicator(code=code, name_zh=zh, name_en=en, points=points, rule=rule,
                     unit=str(node.get("unit", "") or ""), target=target, direction=direction,
                     level=level, path=path, description=str(description), missing=missing,
                     not_applicable=not_applicable)


def _choice(value: Any, options: Sequence[str], src: str, where: str, name: str) -> str:
    if not isinstance(value, str) or value not in options:
        raise InputError(src, where, name, value, f"must be one of {', '.join(options)}")
    return value


def _rounding(spec: Any, src: str) -> tuple[int | None, int | None]:
    """``rounding: {leaf: D, total: D}`` → decimals (None: not rounded); default: the total to
    two decimals, leaves as computed; ``rounding: null`` rounds nothing."""
    if spec is None:
        return None, None
    if not isinstance(spec, Mapping):
        raise InputError(src, "system", "rounding", spec,
                         "must be {leaf: D, total: D} (decimals, or null for none)")
    for key in spec:
        if key not in ("leaf", "total"):
            raise InputError(src, "system", f"rounding.{key}", spec[key],
                             "unknown key (allowed: leaf, total)")
    out = []
    for key, default in (("leaf", None), ("total", 2)):
        v = spec.get(key, default)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= 6):
            raise InputError(src, "system", f"rounding.{key}", v,
                             "must be a whole number of decimals in 0..6, or null (none)")
        out.append(v)
    return out[0], out[1]


def _names(name: Any, src: str, where: str) -> tuple[str, str]:
    if isinstance(name, str):
        return name, name
    if isinstance(name, Mapping) and ("zh" in name or "en" in name):
        zh = str(name.get("zh") or name.get("en"))
        en = str(name.get("en") or name.get("zh"))
        return zh, en
    raise InputError(src, where, "name", name, "must be {zh: ..., en: ...} or a string")


def _number(value: Any, src: str, where: str, field_name: str, *, positive: bool = False,
            nonneg: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        try:
            value = float(str(value).strip())
        except ValueError:
            raise InputError(src, where, field_name, value, "must be a number") from None
        if not math.isfinite(value):
            raise InputError(src, where, field_name, value, "must be a finite number")
    if positive and value <= 0:
        raise InputError(src, where, field_name, value, "must be > 0")
    if nonneg and value < 0:
        raise InputError(src, where, field_name, value, "must be >= 0")
    return float(value)


def _fmt(x: float) -> str:
    return f"{x:g}"


def _from_excel(path: Path) -> IndicatorSystem:
    textfiles.refuse_export(path)   # a web page, XML or text named .xlsx
    try:
        sheets = pd.read_excel(path, sheet_name=None, dtype=object)
    except Exception as exc:  # openpyxl raises many kinds for a corrupt workbook
        raise InputError(path, problem=f"cannot read workbook ({exc.__class__.__name__})") from None
    if "indicators" not in sheets:
        raise InputError(path, problem="workbook needs a sheet named 'indicators'")
    meta: dict[str, Any] = {}
    if "system" in sheets:
        sys_df = sheets["system"]
        if not {"key", "value"} <= set(sys_df.columns):
            raise InputError(path, "sheet system", problem="needs columns 'key' and 'value'")
        meta = {str(k): v for k, v in zip(sys_df["key"], sys_df["value"], strict=True)
                if isinstance(k, str)}
    df = sheets["indicators"]
    missing = [c for c in ("code", "points", "rule") if c not in df.columns]
    if missing:
        raise InputError(path, "sheet indicators", missing[0], problem="required column missing")
    unknown = [c for c in df.columns if c not in EXCEL_COLUMNS]
    if unknown:
        raise InputError(path, "sheet indicators", str(unknown[0]),
                         problem=f"unknown column (allowed: {', '.join(EXCEL_COLUMNS)})")
    tree: list[dict[str, Any]] = []
    index: dict[str, dict[str, Any]] = {}

    def cell(row, col):
        v = row.get(col)
        return None if v is None or (isinstance(v, float) and math.isnan(v)) or v == "" else v

    def group(code, zh, en, parent_list):
        code = str(code)
        if code not in index:
            node = {"code": code, "name": {"zh": zh or en or code, "en": en or zh or code},
                    "children": []}
            index[code] = node
            parent_list.append(node)
        return index[code]["children"]

    for k, row in enumerate(df.to_dict("records")):
        where = f"sheet indicators row {k + 2}"
        target_list = tree
        if cell(row, "level1_code") is not None:
            target_list = group(cell(row, "level1_code"), cell(row, "level1_zh"),
                                cell(row, "level1_en"), target_list)
            if cell(row, "level2_code") is not None:
                target_list = group(cell(row, "level2_code"), cell(row, "level2_zh"),
                                    cell(row, "level2_en"), target_list)
        elif cell(row, "level2_code") is not None:
            raise InputError(path, where, "level2_code", cell(row, "level2_code"),
                             "a level-2 group needs a level1_code")
        params: Any = cell(row, "params") or "{}"
        try:
            params = json.loads(params) if isinstance(params, str) else params
        except json.JSONDecodeError:
            raise InputError(path, where, "params", params,
                             'must be JSON, e.g. {"per": 1, "step": 5}') from None
        if not isinstance(params, Mapping):
            raise InputError(path, where, "params", params, "must be a JSON object")
        leaf: dict[str, Any] = {
            "code": cell(row, "code"),
            "name": {"zh": cell(row, "name_zh") or cell(row, "name_en") or str(
                cell(row, "code")), "en": cell(row, "name_en") or cell(row, "name_zh") or str(
                cell(row, "code"))},
            "points": cell(row, "points"),
            "rule": {"kind": cell(row, "rule"), **params},
        }
        for col in ("unit", "target", "direction", "missing", "not_applicable"):
            if cell(row, col) is not None:
                leaf[col] = cell(row, col)
        target_list.append(leaf)
    doc: dict[str, Any] = {"indicators": tree}

    def given(key):
        return key in meta and meta[key] is not None and not (
            isinstance(meta[key], float) and math.isnan(meta[key])) and meta[key] != ""

    for key in ("code", "source", "total", "bonus_cap", "aggregation", "missing", "impute",
                "normalisation"):
        if given(key):
            doc[key] = meta[key]
    rounding = {}
    for key in ("leaf", "total"):
        if given(f"rounding_{key}"):
            v = meta[f"rounding_{key}"]
            text = str(v).strip().lower()
            rounding[key] = None if text in ("none", "null") else (
                int(v) if isinstance(v, int | float) and float(v).is_integer() else v)
    if rounding:
        doc["rounding"] = rounding
    if "name_zh" in meta or "name_en" in meta:
        doc["name"] = {"zh": meta.get("name_zh"), "en": meta.get("name_en")}
    else:
        doc["name"] = path.stem
    return system_from_dict(doc, source=path)


def system_to_frame(system: IndicatorSystem):
    """The flat table of leaves (the Excel format's ``indicators`` sheet) as a DataFrame."""

    groups = {g.code: g for g in system.groups}
    deep = next((leaf for leaf in (*system.indicators, *system.bonus) if len(leaf.path) > 2),
                None)
    if deep is not None:
        raise InputError(system.path, f"indicator {deep.code}", "level", deep.level,
                         "the Excel format holds at most 3 levels; keep this system in YAML")
    rows = []
    for leaf in (*system.indicators, *system.bonus):
        g1 = groups.get(leaf.path[0]) if len(leaf.path) > 0 else None
        g2 = groups.get(leaf.path[1]) if len(leaf.path) > 1 else None
        params = {k: v for k, v in leaf.rule.params.items()}
        rows.append({
            "level1_code": g1.code if g1 else None, "level1_zh": g1.name_zh if g1 else None,
            "level1_en": g1.name_en if g1 else None, "level2_code": g2.code if g2 else None,
            "level2_zh": g2.name_zh if g2 else None, "level2_en": g2.name_en if g2 else None,
            "code": leaf.code, "name_zh": leaf.name_zh, "name_en": leaf.name_en,
            "points": leaf.points, "unit": leaf.unit, "target": leaf.target,
            "direction": leaf.direction, "rule": leaf.rule.kind,
            "params": json.dumps(params, ensure_ascii=False) if params else "",
            "missing": leaf.missing, "not_applicable": leaf.not_applicable or "",
        })
    return pd.DataFrame(rows, columns=list(EXCEL_COLUMNS))


# --- structural variants: remove, move, add a leaf ----------------------------------------------
# (points are left as they fall; perfsim.model.params.apply_structure rescales them to the total)


def leaves_under(system: IndicatorSystem, code: str, op: str) -> np.ndarray:
    """Positions in :attr:`IndicatorSystem.indicators` of the non-bonus leaves that are
    ``code`` or lie under the group ``code``; an unknown code is an error naming it."""
    pos = [k for k, leaf in enumerate(system.indicators)
           if leaf.code == code or code in leaf.path]
    if not pos:
        raise InputError(system.path, f"indicator {code}", op, code,
                         "no such scored indicator or group (codes: "
                         f"{', '.join(system.codes)}; groups: "
                         f"{', '.join(g.code for g in system.groups)})")
    return np.asarray(pos, dtype=np.intp)


def _pruned(system: IndicatorSystem, indicators: tuple[Indicator, ...],
            bonus: tuple[Indicator, ...]) -> IndicatorSystem:
    """The system with these leaves, groups left without any leaf dropped."""
    used = {c for leaf in (*indicators, *bonus) for c in leaf.path}
    groups = tuple(g for g in system.groups if g.code in used)
    return replace(system, indicators=indicators, bonus=bonus, groups=groups)


def without_indicators(system: IndicatorSystem, codes: Sequence[str]) -> IndicatorSystem:
    """The system without the leaves ``codes`` (a group code removes every leaf under it;
    bonus leaves may be removed too). Points are not rescaled here."""
    drop: set[str] = set()
    for code in codes:
        if not isinstance(code, str):
            raise InputError(system.path, field="indicators.remove", value=code,
                             problem="must be an indicator or group code, or a list of codes")
        bonus = [b.code for b in system.bonus if b.code == code or code in b.path]
        if bonus:
            drop.update(bonus)
            continue
        drop.update(system.indicators[k].code
                    for k in leaves_under(system, code, "indicators.remove"))
    kept = tuple(i for i in system.indicators if i.code not in drop)
    if not kept:
        raise InputError(system.path, f"indicator {', '.join(codes)}", "indicators.remove",
                         problem="would leave no scored indicator")
    return _pruned(system, kept, tuple(b for b in system.bonus if b.code not in drop))


def _group_path(system: IndicatorSystem, to: Any, code: str, op: str) -> tuple[str, ...]:
    """The path of a leaf placed in group ``to`` (``None``: a new level-1 leaf)."""
    if to is None:
        return ()
    group = next((g for g in system.groups if g.code == to), None)
    if group is None:
        raise InputError(system.path, f"indicator {code}", f"{op}.to", to,
                         "no such group (groups: "
                         f"{', '.join(g.code for g in system.groups) or 'none'})")
    if any(to in b.path for b in system.bonus):
        raise InputError(system.path, f"indicator {code}", f"{op}.to", to,
                         "is a bonus group; scored leaves stay out of it")
    path = (group.code,) if group.parent is None else (group.parent, group.code)
    if len(path) >= 3:  # pragma: no cover - groups are at most level 2
        raise InputError(system.path, f"indicator {code}", f"{op}.to", to, "too deep")
    return path


def _insert(leaves: tuple[Indicator, ...], leaf: Indicator) -> tuple[Indicator, ...]:
    """``leaf`` placed after the last leaf of its group (at the end for a new group)."""
    group = leaf.path[-1] if leaf.path else None
    last = max((k for k, x in enumerate(leaves) if group is not None and group in x.path),
               default=len(leaves) - 1)
    return (*leaves[:last + 1], leaf, *leaves[last + 1:])


def moved_indicator(system: IndicatorSystem, code: Any, to: Any) -> IndicatorSystem:
    """The system with the scored leaf ``code`` moved into the group ``to`` (a level-1 or
    level-2 group), keeping its points — the groups' subtotals change accordingly."""
    leaf = next((i for i in system.indicators if i.code == code), None)
    if leaf is None:
        raise InputError(system.path, f"indicator {code}", "indicators.move.code", code,
                         f"no such scored leaf (leaves: {', '.join(system.codes)})")
    path = _group_path(system, to, code, "indicators.move")
    if path == leaf.path:
        raise InputError(system.path, f"indicator {code}", "indicators.move.to", to,
                         "is already its group")
    new = replace(leaf, path=path, level=len(path) + 1)
    rest = tuple(i for i in system.indicators if i.code != code)
    return _pruned(system, _insert(rest, new), system.bonus)


def with_indicator(system: IndicatorSystem, node: Any, to: Any = None) -> IndicatorSystem:
    """The system with a new leaf ``node`` (a leaf mapping as in an indicator-system file:
    code, name, points, rule, ...) in the group ``to`` (``None``: a new level-1 leaf)."""
    if not isinstance(node, Mapping) or not isinstance(node.get("code"), str | int):
        raise InputError(system.path, field="indicators.add", value=node,
                         problem="must be a leaf as in an indicator-system file, with code, "
                                 "points and rule (and to: GROUP)")
    code = str(node["code"])
    where = f"indicator {code}"
    if not _CODE.match(code):
        raise InputError(system.path, where, "indicators.add.code", code,
                         "must be letters, digits, '_', '.' or '-'")
    if code in system.all_codes or any(g.code == code for g in system.groups):
        raise InputError(system.path, where, "indicators.add.code", code,
                         "already in the system")
    bad = set(node) - (_NODE_KEYS - {"children"})
    if bad:
        raise InputError(system.path, where, f"indicators.add.{sorted(bad)[0]}",
                         problem="unknown key for a leaf")
    path = _group_path(system, to, code, "indicators.add")
    zh, en = _names(node.get("name", code), system.path or "indicators.add", where)
    leaf = _leaf(node, code, zh, en, len(path) + 1, path, system.path or "indicators.add",
                 {"missing": "zero", "overcompletion": None})
    if leaf.is_bonus:
        return replace(system, bonus=(*system.bonus, leaf))
    return replace(system, indicators=_insert(system.indicators, leaf))


# --- structural variants: the operations of a variant, in order -------------------------------

STRUCTURE_PREFIX = "indicators."
#: The structural operations a variant can make, applied in this order (see
#: :func:`restructure`).
STRUCTURE_OPS = ("indicators.remove", "indicators.rescale", "indicators.give_to",
                 "indicators.move", "indicators.add", "indicators.points")
RESCALES = ("system", "group")


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _shared(points: np.ndarray, amount: float) -> np.ndarray:
    """``amount`` shared in proportion to ``points`` (equally when they are all zero)."""
    tot = points.sum()
    return amount * (points / tot if tot > 0 else np.full(points.size, 1.0 / points.size))


def restructure(system: IndicatorSystem | None, ops: Mapping[str, Any], *,
                measured: Sequence[str] = (), has_scores: bool = False,
                portfolio_source: str | None = None, source: str | None = None
                ) -> IndicatorSystem:
    """The indicator system changed by structural operations — those of a variant
    (:func:`perfsim.model.params.apply_structure`) or of a scenario file's ``indicators:``
    block — in this order:

    1. ``indicators.remove``: a code or a list of codes (a group code removes all its leaves).
       The points they held are freed: with ``indicators.give_to: CODE`` they go to that leaf
       or group (shared among its leaves in proportion to their points); with
       ``indicators.rescale: group`` each removed leaf's points go to the rest of its level-1
       group (in proportion); by default (``rescale: system``) they are spread over all the
       leaves left, in proportion to their points, by the final step.
    2. ``indicators.move``: ``{code: LEAF, to: GROUP}`` or a list of them; the leaf keeps its
       points, so the groups' subtotals change.
    3. ``indicators.add``: a leaf as in an indicator-system file (code, name, points, rule,
       ...) with ``to: GROUP`` (none: a new level-1 leaf), or a list; the portfolio must hold
       measurements of the new code.
    4. ``indicators.points``: ``{CODE: POINTS}`` sets a leaf's or group's points (a group's
       are shared among its leaves in proportion).
    5. The leaves not fixed by steps 1 (``give_to``), 3 and 4 are rescaled in proportion so
       that the points add up to the system's total again.

    ``measured`` are the codes the portfolio holds measurements of (``has_scores``: it holds
    ready scores instead, and no structure can change them); ``portfolio_source`` and
    ``source`` (the scenario file) place the errors. Errors are one line naming the operation
    and the indicator."""
    for key in ops:
        if key not in STRUCTURE_OPS:
            raise InputError(field=key, problem="unknown structural operation (valid: "
                                                f"{', '.join(STRUCTURE_OPS)})")
    if system is None or has_scores:
        raise InputError(source, field=next(iter(ops)),
                         problem="structural variants need an indicator system and a "
                                 "portfolio of measurements")
    total = float(system.total)
    removed = _as_list(ops.get("indicators.remove"))
    rescale = ops.get("indicators.rescale", "system")
    give_to = ops.get("indicators.give_to")
    if rescale not in RESCALES:
        raise InputError(field="indicators.rescale", value=short(rescale),
                         problem=f"choose one of {', '.join(RESCALES)}")
    if (give_to is not None or "indicators.rescale" in ops) and not removed:
        raise InputError(field="indicators.give_to" if give_to is not None
                         else "indicators.rescale", value=short(give_to or rescale),
                         problem="applies to the points of indicators.remove, which is empty")
    if give_to is not None and rescale == "group":
        raise InputError(field="indicators.give_to", value=short(give_to),
                         problem="give the points either to a code or to each leaf's group "
                                 "(indicators.rescale: group), not both")
    before = {i.code: i for i in system.indicators}
    s = without_indicators(system, removed) if removed else system
    left = {i.code for i in s.indicators}
    gone = [leaf for code, leaf in before.items() if code not in left]
    freed = float(sum(i.points for i in gone))
    pts = s.points.copy()
    fixed: set[str] = set()  # codes whose points stay as set
    if give_to is not None:
        idx = leaves_under(s, str(give_to), "indicators.give_to")
        pts[idx] += _shared(pts[idx], freed)
        fixed.update(s.codes[k] for k in idx)
    elif rescale == "group":
        for leaf in gone:
            idx = [k for k, i in enumerate(s.indicators) if i.level1 == leaf.level1]
            if not idx:
                raise InputError(system.path, f"indicator {leaf.code}", "indicators.rescale",
                                 "group", f"no leaf of its group {leaf.level1} is left to "
                                          "take its points")
            pts[idx] += _shared(pts[idx], leaf.points)
    s = replace(s, indicators=tuple(
        replace(i, points=float(p)) for i, p in zip(s.indicators, pts, strict=True)))
    for m in _as_list(ops.get("indicators.move")):
        if not isinstance(m, Mapping) or set(m) != {"code", "to"}:
            raise InputError(field="indicators.move", value=short(m),
                             problem="must be {code: LEAF, to: GROUP} (or a list of them)")
        s = moved_indicator(s, m["code"], m["to"])
    for node in _as_list(ops.get("indicators.add")):
        node = dict(node) if isinstance(node, Mapping) else node
        to = node.pop("to", None) if isinstance(node, dict) else None
        s = with_indicator(s, node, to)
        code = str(node["code"])
        if code not in measured:
            raise InputError(portfolio_source, f"indicator {code}", "indicators.add",
                             code, "the portfolio holds no measurements of it")
        fixed.add(code)
    new_points = ops.get("indicators.points")
    pts = s.points.copy()
    if new_points is not None:
        if not isinstance(new_points, Mapping) or not new_points:
            raise InputError(field="indicators.points", value=short(new_points),
                             problem="must map indicator or group codes to points")
        for code, value in new_points.items():
            if (isinstance(value, bool) or not isinstance(value, int | float)
                    or not math.isfinite(value) or value < 0):
                raise InputError(system.path, f"indicator {code}", "indicators.points", value,
                                 "must be a number >= 0")
            idx = leaves_under(s, str(code), "indicators.points")
            pts[idx] = _shared(pts[idx], float(value))
            fixed.update(s.codes[k] for k in idx)
    is_fixed = np.isin(np.asarray(s.codes, dtype=object), list(fixed))
    held = float(pts[is_fixed].sum())
    if abs(pts.sum() - total) > 1e-9 * max(total, 1.0):
        rest = float(pts[~is_fixed].sum())
        if held > total + 1e-9 or rest <= 0:
            raise InputError(system.path, field="indicators.points", value=round(held, 6),
                             problem=f"the points set or given add up to {held:g}; the "
                                     f"other leaves cannot make up the total {total:g}")
        pts[~is_fixed] *= (total - held) / rest
    return replace(s.with_points(pts), total=total)
