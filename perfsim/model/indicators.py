"""Indicator systems (指标体系): the hierarchy, its file formats and validation.

An indicator system is a tree of at most three levels (一级/二级/三级指标). Leaves carry points
(分值) and a scoring rule; non-bonus leaf points add up to the system's ``total`` (100 by
default); bonus leaves add capped extra points. Two file formats hold the same content:

- YAML, nested (``indicators:`` → ``children:``), see ``datasets/indicator_systems/``;
- Excel (``.xlsx``), flat: sheet ``indicators`` with one row per leaf and the columns of
  :data:`EXCEL_COLUMNS`, and an optional sheet ``system`` with ``key``/``value`` rows
  (code, name_zh, name_en, total, bonus_cap, aggregation, source).

A loaded :class:`IndicatorSystem` is validated once and trusted everywhere else.
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

from perfsim.errors import InputError
from perfsim.io import check_mapping, read_yaml
from perfsim.kernel.scoring import AGGREGATIONS, Rule, make_rule, total_score
from perfsim.model.weighting_spec import parse_weighting

EXCEL_COLUMNS = (
    "level1_code", "level1_zh", "level1_en", "level2_code", "level2_zh", "level2_en",
    "code", "name_zh", "name_en", "points", "unit", "target", "direction", "rule", "params",
)
_CODE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")
_TOP_KEYS = {"code", "name", "source", "total", "bonus_cap", "aggregation", "indicators",
             "description", "weighting"}
_NODE_KEYS = {"code", "name", "points", "children", "unit", "target", "direction", "rule",
              "description"}


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
    def attainment(self, measurements: Mapping[str, np.ndarray]) -> np.ndarray:
        """Leaf attainments in [0, 1], shape (..., indicators), from raw measurements keyed by
        code (each array shaped (...,), e.g. (projects,) or (replications, projects)).
        Auxiliary inputs (the self-score of a re-check) are keyed ``<code>.<input>``."""
        cols = [self._leaf_attainment(i, measurements) for i in self.indicators]
        return np.stack(cols, axis=-1)

    def bonus_points(self, measurements: Mapping[str, np.ndarray]) -> np.ndarray | float:
        """Sum of bonus points, capped at :attr:`bonus_cap`."""
        if not self.bonus:
            return 0.0
        earned = sum(self._leaf_attainment(b, measurements) * b.points for b in self.bonus)
        return np.minimum(earned, self.bonus_cap)

    def score(self, measurements: Mapping[str, np.ndarray],
              attainment: np.ndarray | None = None) -> np.ndarray:
        """Total score in points: aggregated leaf points plus capped bonus."""
        a = self.attainment(measurements) if attainment is None else attainment
        base = total_score(a, self.points, groups=self.level1_index,
                           method=self.aggregation, total=self.total)
        return base + self.bonus_points(measurements)

    def _leaf_attainment(self, leaf: Indicator, measurements: Mapping[str, np.ndarray]
                         ) -> np.ndarray:
        if leaf.code not in measurements:
            raise InputError(where=f"indicator {leaf.code}", problem="no measurements given")
        aux = {k: measurements[f"{leaf.code}.{k}"] for k in leaf.rule.aux_inputs
               if f"{leaf.code}.{k}" in measurements}
        return leaf.rule.attainment(np.asarray(measurements[leaf.code], dtype=float), aux)

    def __str__(self) -> str:
        bonus = f" + up to {self.bonus_cap:g} bonus" if self.bonus_cap else ""
        return (f"{self.code} ({self.name_zh} / {self.name_en}): {len(self.indicators)} "
                f"indicators, {self.total:g} points{bonus}, {len(self.level1_codes)} level-1 "
                f"groups, aggregation {self.aggregation}")


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
            if level >= 3:
                raise InputError(src, where, "children", problem="too deep: at most 3 levels")
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
        leaf = _leaf(node, ncode, zh, en, level, path, src)
        leaves.append(leaf)
        return 0.0 if leaf.is_bonus else leaf.points

    leaf_total = sum(walk(n, 1, ()) for n in nodes)
    system = _finish(code, name_zh, name_en, groups, leaves, total, bonus_cap, aggregation,
                     str(doc.get("source", "")), src, leaf_total)
    if doc.get("weighting") is not None:

        parse_weighting(doc["weighting"], base=Path(src).parent, source=src).resolve(system)
        system = replace(system, weighting=doc["weighting"])
    return system


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
          path: tuple[str, ...], src: str) -> Indicator:
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
    except InputError as err:
        name = err.field or ""
        if name not in ("target", "direction") and not name.startswith("rule"):
            name = f"rule.{name}"
        raise err.at(src, where, name) from None
    description = node.get("description", "")
    if isinstance(description, Mapping):
        description = " / ".join(str(v) for v in description.values())
    return Indicator(code=code, name_zh=zh, name_en=en, points=points, rule=rule,
                     unit=str(node.get("unit", "") or ""), target=target, direction=direction,
                     level=level, path=path, description=str(description))


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
        for col in ("unit", "target", "direction"):
            if cell(row, col) is not None:
                leaf[col] = cell(row, col)
        target_list.append(leaf)
    doc = {"indicators": tree}
    for key in ("code", "source", "total", "bonus_cap", "aggregation"):
        if key in meta and meta[key] is not None and not (
                isinstance(meta[key], float) and math.isnan(meta[key])):
            doc[key] = meta[key]
    if "name_zh" in meta or "name_en" in meta:
        doc["name"] = {"zh": meta.get("name_zh"), "en": meta.get("name_en")}
    else:
        doc["name"] = path.stem
    return system_from_dict(doc, source=path)


def system_to_frame(system: IndicatorSystem):
    """The flat table of leaves (the Excel format's ``indicators`` sheet) as a DataFrame."""

    groups = {g.code: g for g in system.groups}
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
        })
    return pd.DataFrame(rows, columns=list(EXCEL_COLUMNS))
