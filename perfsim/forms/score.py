"""A self-evaluation table scored two ways: as printed (the sheet's 得分) and recomputed by the
template rule, with perfsim's scoring rules and rounding (:mod:`perfsim.kernel.scoring`) and
the national grade cutoffs (:mod:`perfsim.kernel.grading`).

The template rule, leaf by leaf (target and actual read by :func:`perfsim.forms.targets.
read_value`):

- **numbers** in compatible units (a bare number is in the target's unit as written: 937.5
  under ≤900万元 is 937.5 万元): target met → full points; else the kernel's
  ``proportional`` rule, actual ÷ target of the points (lower-is-better, ≤: target ÷ actual;
  =: 1 − |actual − target| ÷ |target|), capped at the points; a target of 0 is all or nothing
  (the ``threshold`` rule);
- **deadlines and yes/no**: met → full points, else 0 (``threshold``);
- **qualitative levels**: an actual at or above the target's level earns full points, else its
  level's coefficient × the points (``level``; the coefficients from the levels table);
- anything that cannot be compared (a target that is not measurable, a blank or unreadable
  actual, units that do not match) keeps **its printed score** (``assessed``: the assessor's
  points within [0, points]) and the review lists it;
- **execution**: min(全年执行数 ÷ 全年预算数, 1) × its points (the ``execution_rate`` rule).

Leaf scores and the total are rounded half up to two decimals as the form prints them
(:data:`perfsim.forms.vocabulary.ROUNDING`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from perfsim.forms import vocabulary as V
from perfsim.forms.read import FormTable, LeafRow
from perfsim.forms.targets import DATE_UNIT, YEARLESS_DEADLINE, Reading, read_value
from perfsim.kernel.grading import NATIONAL, Grading
from perfsim.kernel.scoring import make_rule, round_half_up

GRADING = Grading()  # the national cutoffs 90 / 80 / 60
_EPS = 1e-9
_DIRECTION = {">=": "higher", ">": "higher", "<=": "lower", "<": "lower", "=": "equal"}


@dataclass
class ScoredLeaf:
    """A leaf read and recomputed. ``rule`` is one of :data:`vocabulary.LEAF_RULES`;
    ``attainment`` the share of the points the rule gives (None when assessed); ``met`` whether
    the target is met (None when it cannot be told); ``problem`` a finding kind that explains
    why the leaf is assessed (target_unmeasurable, actual_blank, actual_unreadable)."""

    leaf: LeafRow
    target: Reading
    actual: Reading
    rule: str
    recomputed: float | None
    attainment: float | None = None
    met: bool | None = None
    problem: str | None = None
    why: str = ""


@dataclass
class ScoredTable:
    """A table with its leaves and execution item recomputed, its totals and grades (Chinese
    labels 优 良 中 差). Totals in points; the execution rate a share."""

    table: FormTable
    leaves: list[ScoredLeaf] = field(default_factory=list)
    execution_rate: float | None = None
    exec_recomputed: float | None = None
    printed_total: float | None = None
    recomputed_total: float | None = None
    printed_grade: str = ""
    recomputed_grade: str = ""


def _round(x: float, key: str = "leaf") -> float:
    return float(round_half_up(x, V.ROUNDING[key]))


@lru_cache(maxsize=8)
def _graded(levels: tuple[tuple[str, float], ...]):
    """The kernel's graded rule over the levels table, best first."""
    ordered = dict(sorted(levels, key=lambda kv: -kv[1]))
    return make_rule("graded", {"levels": ordered}), list(ordered)


def _level_attainment(label: str, levels: Mapping[str, float]) -> float:
    rule, order = _graded(tuple(levels.items()))
    return float(rule.attainment(np.array([float(order.index(label))]))[0])


def _met(op: str, actual: float, target: float) -> bool:
    tol = _EPS * max(1.0, abs(target))
    if op == ">=":
        return actual >= target - tol
    if op == ">":
        return actual > target + tol
    if op == "<=":
        return actual <= target + tol
    if op == "<":
        return actual < target - tol
    return abs(actual - target) <= tol


def compare(target: Reading, actual: Reading, levels: Mapping[str, float]
            ) -> tuple[str, float | None, bool | None, str | None, str]:
    """How a leaf is scored: (rule, attainment in [0, 1] or None, met, problem kind, why)."""
    if not target.readable:
        why = "指标值空白 target blank" if target.kind == "blank" else (
            f"“{target.text}”期限没有写年份，请写明年份（如 2024年12月底前） a deadline "
            "without its year: write the year in (2024年12月底前)"
            if YEARLESS_DEADLINE.search(target.text) else
            f"“{target.text}”无数值、无等级，不可衡量 no number and no level")
        return "assessed", None, None, "target_unmeasurable", why
    if actual.kind == "blank":
        return "assessed", None, None, "actual_blank", "实际完成值空白 actual blank"
    if actual.kind == "text":
        return "assessed", None, None, "actual_unreadable", (
            f"“{actual.text}”无法识读 not a number, date, yes/no or level")
    if actual.kind == "level":
        if target.kind == "level":
            if actual.value >= target.value - _EPS:
                return "level", 1.0, True, None, ""
            return "level", _level_attainment(actual.text, levels), False, None, ""
        if target.kind in ("number", "yesno"):
            a = _level_attainment(actual.text, levels)
            return "level", a, a >= 1.0, None, ""
    if actual.kind == "yesno" and target.kind in ("yesno", "date", "level", "number"):
        met = actual.value >= 1.0
        return "threshold", 1.0 if met else 0.0, met, None, ""
    if target.kind == "date" and actual.kind == "date":
        met = _met(target.op or "<=", actual.value, target.value)
        return "threshold", 1.0 if met else 0.0, met, None, ""
    if target.kind == "number" and actual.kind == "number":
        if target.unit and actual.unit and target.unit != actual.unit:
            return "assessed", None, None, "actual_unreadable", (
                f"单位不一致 units differ: {target.unit} / {actual.unit}")
        value = actual.value
        if not actual.unit:  # a bare number is in the target's unit as written (万元, 万亩)
            value *= target.factor
        op = target.op or V.BARE_TARGET_OP
        met = _met(op, value, target.value)
        if target.value == 0:
            return "threshold", 1.0 if met else 0.0, met, None, ""
        if met:
            return "proportional", 1.0, True, None, ""
        rule = make_rule("proportional", target=target.value, direction=_DIRECTION[op])
        return "proportional", float(rule.attainment(np.array([value]))[0]), False, None, ""
    shown = "日期 date" if actual.unit == DATE_UNIT else actual.kind
    return "assessed", None, None, "actual_unreadable", (
        f"实际完成值（{shown}）与指标值（{target.kind}）无法比较 actual not comparable with the "
        "target")


def score_leaf(leaf: LeafRow, levels: Mapping[str, float]) -> ScoredLeaf:
    """One leaf recomputed (points in the leaf's own points)."""
    target = read_value(leaf.target, levels, percent=leaf.target_percent)
    actual = read_value(leaf.actual, levels, percent=leaf.actual_percent)
    rule, attainment, met, problem, why = compare(target, actual, levels)
    if leaf.points is None:
        return ScoredLeaf(leaf, target, actual, "assessed", leaf.score, None, met, problem, why)
    if attainment is None:  # the assessor's points, within [0, points]
        assessed = make_rule("assessed", points=leaf.points)
        score = 0.0 if leaf.score is None else float(
            assessed.earned(np.array([leaf.score]))[0])
        return ScoredLeaf(leaf, target, actual, "assessed", _round(score), None, met, problem,
                          why)
    return ScoredLeaf(leaf, target, actual, rule, _round(attainment * leaf.points),
                      attainment, met, problem, why)


def execution_rate(table: FormTable) -> float | None:
    """全年执行数 ÷ 全年预算数 (a share; the printed rate when the funds are not given)."""
    budget, executed = table.money("budget_full"), table.money("executed")
    if budget and executed is not None and budget > 0:
        return executed / budget
    return table.rate


def grade_of(total: float | None) -> str:
    """The national grade (优 良 中 差) of a total in points; "" when there is none."""
    if total is None:
        return ""
    return NATIONAL.zh[int(GRADING.grade(np.array([total]))[0])]


def score_table(table: FormTable, levels: Mapping[str, float]) -> ScoredTable:
    """``table`` scored as printed and recomputed by the template rule."""
    out = ScoredTable(table, [score_leaf(leaf, levels) for leaf in table.leaves])
    out.execution_rate = execution_rate(table)
    if table.exec_points is not None and out.execution_rate is not None:
        rule = make_rule("execution_rate", target=1.0, points=table.exec_points)
        out.exec_recomputed = _round(float(rule.earned(np.array([out.execution_rate]))[0]))
    parts = [s.recomputed or 0.0 for s in out.leaves] + [out.exec_recomputed or 0.0]
    out.recomputed_total = _round(sum(parts), "total")
    printed = table.total_score
    rows = [s.leaf.score for s in out.leaves] + [table.exec_score]
    if printed is None and any(v is not None for v in rows):
        # no total printed (no 总分 row, or its 得分 blank): the sum of the printed rows; a
        # table that prints no score at all has no printed total (and no printed grade)
        printed = sum(v for v in rows if v is not None)
    out.printed_total = None if printed is None else _round(printed, "total")
    out.printed_grade = grade_of(out.printed_total)
    out.recomputed_grade = grade_of(out.recomputed_total)
    return out


def score_tables(tables: Sequence[FormTable], levels: Mapping[str, float]
                 ) -> list[ScoredTable]:
    """Every table scored (:func:`score_table`), in order."""
    return [score_table(t, levels) for t in tables]
