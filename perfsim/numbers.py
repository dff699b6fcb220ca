"""Money and numbers as finance staff read them: the one place perfsim formats numbers.

Money is shown in yuan (元) with thousands separators and two decimals, or in 万元 / 亿元 with
the unit in the column heading (chosen once per table, so every money column of a table uses
the same unit); shares are percentages, counts are integers with separators, and no number is
ever shown in scientific notation. :func:`display_frame` turns a tidy DataFrame into a frame
of strings ready to display; which columns are money, shares or counts is inferred from the
column names perfsim's tables use (:func:`column_kind`) unless given.

Only what is displayed is formatted: tables saved as CSV keep their raw numbers.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

#: Money units: name → yuan per unit.
UNITS: dict[str, float] = {"元": 1.0, "万元": 1e4, "亿元": 1e8}

#: Column (or metric) names that hold money in yuan, besides ``*_total`` and ``*_yuan``.
MONEY_NAMES = frozenset({
    "budget", "kept", "cut", "cancelled", "rewarded", "next_budget", "change", "reward",
    "savings", "net", "lost", "recovered", "recovered_unrectified", "postponed",
    "wrong_cuts", "kept_by_poor", "target", "pool",
    "moved", "money_moved", "next_total", "budget_total", "idle", "idle_funds",
    "cut_total", "cancelled_total", "rewarded_total", "kept_total", "evaluation_cost",
    "evaluation_cost_self", "evaluation_cost_recheck", "postponed_total", "misgraded_money",
    "misgraded_avoided", "pre_evaluation_saved", "monitoring_suspended", "monitoring_cleared",
    "soft_targets_money", "money_gained", "money_lost", "net_change", "expected_gain",
})
#: Names that hold shares (fractions shown as percentages), besides ``share_*``, ``*_share``,
#: ``*_ratio`` and ``*_rate``.
SHARE_NAMES = frozenset({
    "share", "ratio", "rate", "misgrading", "volatility", "top10_share", "linkage.ratio",
    "lost_share", "spot_check_share", "quota", "recheck_coverage", "self_evaluation_coverage",
    "soft_targets_rewarded",
})
#: Names that hold counts or ranks (integers), besides ``count_*``, ``*_count``, ``n_*``,
#: ``projects_*`` and ``*_projects``: the ranks ``rank``, ``bod_rank`` and ``expert_rank`` (an
#: *expected* rank, a mean, is a plain number) and the registry's counts.
COUNT_NAMES = frozenset({
    "projects", "departments", "count", "n", "replications", "years", "year", "cells",
    "changed", "misgraded", "rank", "bod_rank", "expert_rank", "checks", "units_blacklisted",
    "deposits_forfeited", "pre_evaluation_funded", "pre_evaluation_reduced",
    "pre_evaluation_postponed", "pre_evaluation_rejected", "pre_evaluation_cut",
    "pre_evaluation_wrong_rejects", "monitoring_target_failed", "excess", "missing",
    "changed_grade", "departments_gaining", "departments_losing",
})
#: Money per something (yuan per point), shown in yuan with two decimals — never in the
#: table's money unit — with the unit in the heading: name → unit.
RATE_NAMES: dict[str, str] = {"inflation_payoff": "元/分",
                              "cost_per_misgraded_yuan_avoided": "元/元"}
#: The registries' units (:mod:`perfsim.kernel.metrics`, :mod:`perfsim.model.constraints`)
#: and the kind of column each gives: a column declared in one of these units is shown so.
UNIT_KINDS: dict[str, str] = {
    "yuan": "money", "元": "money", "share": "share", "projects": "count", "units": "count",
    "checks": "count", "count": "count", "rank": "count", "yuan per point": "rate",
    "yuan per yuan": "rate",
}
#: Columns of a long table (one row per metric, named in its ``metric`` column) that hold the
#: row's metric's values, in that metric's unit: the mean and interval of a Monte Carlo, the
#: one-year value, a target, what was achieved and the gap between them, Morris's elementary
#: effects. Every other column has a unit of its own (a grid value, a rank, a count), never the
#: row's.
METRIC_VALUE_COLUMNS = frozenset({
    "one_year", "mean", "median", "p05", "p95", "5%", "95%", "sd", "std", "min",
    "max", "target", "achieved", "gap", "mu", "mu_star", "mu_star_conf", "sigma", "no_noise",
    "monte_carlo",
})


def column_kind(name: Any) -> str | None:
    """``"money"``, ``"share"``, ``"count"``, ``"rate"`` (yuan per something, :data:`RATE_NAMES`),
    ``"p"`` (a p-value) or None (another number, or not a number) for a column or metric name
    used in perfsim's tables."""
    if not isinstance(name, str):
        return None
    n = name.strip().lower()
    if n in ("p", "p_value", "pvalue"):
        return "p"
    if n.startswith("r_"):  # a correlation (r_total: with the total score)
        return None
    if n in COUNT_NAMES or n.startswith(("count_", "n_", "projects_", "lifted_")) or (
            n.endswith(("_count", "_projects"))):
        return "count"
    if n in SHARE_NAMES or n.startswith("share_") or n.endswith(("_share", "_ratio", "_rate",
                                                                 ".share", ".ratio")):
        return "share"
    if n in RATE_NAMES:
        return "rate"
    if n in MONEY_NAMES or n.endswith(("_total", "_yuan")):
        return "money"
    return None


def _missing(x: Any) -> bool:
    return x is None or x is pd.NA or x is pd.NaT or (isinstance(x, float) and math.isnan(x))


def yuan(x: float, unit: str = "元", decimals: int = 2) -> str:
    """Money with thousands separators: ``yuan(128e6)`` is ``128,000,000.00``,
    ``yuan(128e6, "亿元")`` is ``1.28``. Missing values give ``—``."""
    if _missing(x):
        return "—"
    v = float(x) / UNITS[unit]
    if math.isinf(v):
        return "∞" if v > 0 else "-∞"
    return f"{v + 0.0:,.{decimals}f}" if round(v, decimals) != 0 else f"{0:.{decimals}f}"


def yuan_text(x: float) -> str:
    """A sentence's money: ``128,000,000.00 元 (1.28 亿元)``."""
    return f"{yuan(x)} 元 ({yuan(x, '亿元')} 亿元)"


def percent(x: float, decimals: int = 1) -> str:
    """A share as a percentage: ``percent(0.15)`` is ``15.0%``."""
    if _missing(x):
        return "—"
    return f"{float(x) * 100:,.{decimals}f}%"


def count(x: float) -> str:
    """A count as an integer with separators: ``count(3468.0)`` is ``3,468``."""
    if _missing(x):
        return "—"
    return f"{round(float(x)):,d}"


def number(x: Any, decimals: int = 3) -> str:
    """Any other number in fixed notation (never scientific); integers without decimals,
    booleans and text unchanged."""
    if _missing(x):
        return "—"
    if isinstance(x, bool | np.bool_):
        return str(bool(x))
    if isinstance(x, int | np.integer):
        return f"{int(x):,d}"
    if isinstance(x, float | np.floating):
        v = float(x)
        if math.isinf(v):
            return "∞" if v > 0 else "-∞"
        if v == round(v) and abs(v) < 1e15:
            return f"{round(v):,d}"
        return f"{v:,.{decimals}f}"
    return str(x)


def decimal(x: float, decimals: int = 3) -> str:
    """A number with a fixed count of decimals (never scientific): ``decimal(1.0)`` is
    ``1.000``."""
    if _missing(x):
        return "—"
    return f"{float(x):,.{decimals}f}"


def p_value(x: float) -> str:
    """A p-value as a reader takes it in: four decimals, ``<0.0001`` below that (never
    ``1.2e-07``)."""
    if _missing(x):
        return "—"
    return "<0.0001" if float(x) < 0.0001 else f"{float(x):.4f}"


def choose_unit(values: Iterable[float]) -> str:
    """The money unit for a table: by the median of its non-zero absolute amounts, 亿元 from
    100 million yuan, 万元 from 10,000 yuan, otherwise 元."""
    a = np.abs(np.asarray([v for v in values if not _missing(v)], dtype=float))
    a = a[a > 0]
    if not a.size:
        return "元"
    m = float(np.median(a))
    return "亿元" if m >= 1e8 else "万元" if m >= 1e4 else "元"


def _decimals(values: np.ndarray, most: int) -> int:
    """The fewest decimals (at most ``most``) that show every value of a column exactly:
    0.02, 0.05 and 0.1 need two (``0.02 0.05 0.10``), an arbitrary fraction ``most``."""
    for d in range(1, most):
        if np.allclose(values, np.round(values, d), rtol=0.0, atol=1e-12):
            return d
    return most


def _plain(column: pd.Series, decimals: int = 3) -> list[str]:
    """Other numbers: integers without decimals when every value of the column is whole,
    otherwise every value with the same count of decimals — the fewest that show them all,
    at most ``decimals`` — so a column reads evenly."""
    values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float)
    finite = values[np.isfinite(values)]
    whole = bool(finite.size) and bool(np.all(finite == np.round(finite)))
    if whole or not pd.api.types.is_float_dtype(column):
        return [number(v, decimals) for v in column]
    d = _decimals(finite, decimals) if finite.size else decimals
    return ["—" if math.isnan(v) else number(v) if math.isinf(v) else decimal(v, d)
            for v in values]


def unit_kind(unit: Any) -> str | None:
    """The kind of column (``money``, ``share``, ``count``) a registry unit gives
    (:data:`UNIT_KINDS`: ``yuan`` is money, ``share`` a share, ``projects`` a count), None for
    another unit (points, staff-days, a correlation)."""
    return UNIT_KINDS.get(unit.strip().lower()) if isinstance(unit, str) else None


def _kinds(frame: pd.DataFrame, money: Iterable[str] | None, shares: Iterable[str] | None,
           counts: Iterable[str] | None, units: Mapping[Any, str] | None = None
           ) -> dict[Any, str | None]:
    given = {**{c: "money" for c in money or ()}, **{c: "share" for c in shares or ()},
             **{c: "count" for c in counts or ()}}
    unknown = [c for c in given if c not in frame.columns]
    if unknown:
        raise KeyError(f"no column {unknown[0]!r} in the table")
    declared = {c: unit_kind(u) for c, u in (units or {}).items() if c in frame.columns}
    kinds = {}
    for c in frame.columns:
        if c in given:
            kinds[c] = given[c]
        elif pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(
                frame[c]):
            kinds[c] = declared[c] if c in declared else column_kind(c)
        else:
            kinds[c] = "text"
    return kinds


def _fmt(kind: str | None, unit: str) -> Any:
    if kind == "money":
        return lambda v: yuan(v, unit)
    if kind == "rate":
        return lambda v: yuan(v, "元")
    if kind == "share":
        return percent
    if kind == "count":
        return count
    if kind == "p":
        return p_value
    if kind == "text":
        return lambda v: "—" if _missing(v) else number(v) if isinstance(
            v, float | np.floating) else str(v)
    return number


def chinese_first(frame: pd.DataFrame) -> pd.DataFrame:
    """Each Chinese twin of a column (``grade_zh``, ``status_zh``) moved just before the
    column it names (``grade``): Chinese first, English alongside."""
    cols = list(frame.columns)
    for c in list(cols):
        if isinstance(c, str) and c.endswith("_zh") and c[:-3] in cols:
            cols.remove(c)
            cols.insert(cols.index(c[:-3]), c)
    return frame[cols] if cols != list(frame.columns) else frame


def display_frame(frame: pd.DataFrame, *, money: Iterable[str] | None = None,
                  shares: Iterable[str] | None = None, counts: Iterable[str] | None = None,
                  unit: str | None = None, metric: str | None = "metric",
                  units: Mapping[Any, str] | None = None,
                  metric_values: Iterable[str] | None = None) -> pd.DataFrame:
    """A frame of strings for display, one formatting rule per column: money columns in
    ``unit`` (chosen by :func:`choose_unit` over all the table's money when None; never
    another unit in the same table) with the unit in their heading (``budget (万元)``), shares
    as percentages, counts and ranks as integers, other numbers in fixed notation with the
    same decimals down a column. A column's kind comes from the column alone: named in
    ``money``, ``shares`` or ``counts``; declared in ``units`` (column → a registry unit such
    as ``yuan``, ``share`` or ``projects``, :func:`unit_kind`); otherwise inferred from its
    name (:func:`column_kind`). Chinese twins (``grade_zh``) come before their columns.

    A long table with a ``metric`` column (one row per metric, e.g. ``savings`` and
    ``share_excellent``): only the columns that hold the metric's values —
    ``metric_values``, by default those of :data:`METRIC_VALUE_COLUMNS` the table has
    (``mean``, ``p05``, ``p95``, ...) — take each row's metric's unit; the money rows are
    then named with the unit (``savings (万元)``). Every other column keeps its own unit.
    """
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"a pandas DataFrame is needed, not {type(frame).__name__}")
    if unit is not None and unit not in UNITS:
        raise ValueError(f"unit must be one of {', '.join(UNITS)}, not {unit!r}")
    frame = chinese_first(frame)
    kinds = _kinds(frame, money, shares, counts, units)
    long = metric is not None and metric in frame.columns
    row_kinds = frame[metric].map(column_kind) if long else None
    if row_kinds is not None and not row_kinds.notna().any():
        row_kinds = None
    by_row: list[Any] = []
    if row_kinds is not None:
        named = set(METRIC_VALUE_COLUMNS if metric_values is None else metric_values)
        by_row = [c for c in frame.columns if c in named and c != metric
                  and kinds[c] != "text" and c not in set(money or ()) | set(shares or ())
                  | set(counts or ()) | set(units or {})]
    amounts: list[float] = []
    for c, k in kinds.items():
        if k == "money" and c not in by_row:
            amounts.extend(frame[c].tolist())
    if row_kinds is not None:
        for c in by_row:
            amounts.extend(frame.loc[row_kinds == "money", c].tolist())
    u = unit or choose_unit(amounts)
    out = pd.DataFrame(index=frame.index)
    for c, k in kinds.items():
        if c in by_row:
            assert row_kinds is not None
            kinds_of_rows = row_kinds.to_numpy(dtype=object)
            shown = np.array([_fmt(rk, u)(v) if isinstance(rk, str) else ""
                              for rk, v in zip(kinds_of_rows, frame[c], strict=True)],
                             dtype=object)
            other = np.array([not isinstance(rk, str) for rk in kinds_of_rows])
            names = frame[metric].to_numpy(dtype=object)
            for m in pd.unique(names[other]):  # other numbers: evenly, metric by metric
                rows = other & (names == m)
                shown[rows] = _plain(frame[c][rows])
            out[c] = list(shown)
        elif k is None:
            out[c] = _plain(frame[c])
        else:
            out[c] = frame[c].map(_fmt(k, u))
    if row_kinds is not None and by_row and row_kinds.isin(["money", "rate"]).any():
        out[metric] = [f"{m} ({u})" if rk == "money" else
                       f"{m} ({RATE_NAMES.get(str(m).strip().lower(), '元')})" if rk == "rate"
                       else m for m, rk in zip(frame[metric], row_kinds, strict=True)]
        if "unit" in frame.columns:  # the unit a long table names for each metric
            out["unit"] = [u if rk == "money" else v
                           for v, rk in zip(frame["unit"], row_kinds, strict=True)]
    out.index = _index(frame.index, u, units)
    return out.rename(columns={c: f"{c} ({u})" if k == "money" else
                               f"{c} ({RATE_NAMES.get(str(c).strip().lower(), '元')})"
                               for c, k in kinds.items()
                               if k in ("money", "rate") and c not in by_row})


def _index(index: pd.Index, unit: str, units: Mapping[Any, str] | None = None) -> pd.Index:
    """Index levels named like a share, count or money column (e.g. the grid values of a pivot
    table, ``simulation.spot_check.share``) formatted like that column."""
    levels = [index.get_level_values(i) for i in range(index.nlevels)]
    declared = {c: unit_kind(u) for c, u in (units or {}).items()}
    kinds = [(declared[level.name] if level.name in declared else column_kind(level.name))
             if pd.api.types.is_numeric_dtype(level) else None
             for level in levels]
    if not any(kinds):
        return index
    shown = [level.map(_fmt(k, unit)) if k else level for level, k in zip(levels, kinds,
                                                                           strict=True)]
    if index.nlevels == 1:
        return pd.Index(shown[0], name=index.name)
    return pd.MultiIndex.from_arrays(shown, names=index.names)


#: Chinese names put before perfsim's column names in tables shown to people (Chinese first,
#: English alongside), one name per column; a column not listed keeps its English name.
HEADINGS_ZH = {
    "project_id": "项目编号", "department": "部门", "score": "得分", "true_score": "真实得分",
    "grade": "等级", "grade_zh": "等级(中文)", "projects": "项目数", "budget": "本年预算",
    "kept": "保留", "cut": "压减", "cancelled": "取消", "rewarded": "奖励", "reward": "再分配奖励",
    "next_budget": "下年预算", "change": "增减", "net": "净变动", "status": "处理",
    "multiplier": "调整系数", "variant": "方案", "metric": "指标", "year": "年",
    "mean": "均值", "budget_total": "预算合计", "cut_total": "压减合计",
    "cancelled_total": "取消合计", "rewarded_total": "奖励合计", "next_total": "下年预算合计",
    "savings": "节约资金", "lost": "减少额", "lost_share": "减少比例", "misgrading": "误评率",
    "wrong_cuts": "误减资金", "one_year": "单年测算", "no_noise": "无随机因素",
    "monte_carlo": "随机模拟", "ratio": "比例", "feasible": "可行", "value": "数值",
    "target": "目标", "achieved": "达到值", "policy": "政策", "term": "项",
    "estimate": "估计值", "std_error": "标准误", "ci_low": "95%下限", "ci_high": "95%上限",
    "p_value": "p值", "effect": "部门效应", "inflation": "虚报分数", "cutoff": "分档线",
    "excess": "超额项目数", "missing": "缺失项目数", "check_share": "抽查比例",
    "mean_inflation": "平均虚报分数", "share_inflating": "虚报单位比例",
    "expected_gain": "预期收益", "inflation_penalty": "处罚分数",
    "break_even_share": "盈亏平衡抽查比例", "share_tempted": "有虚报动机比例",
    "share_undeterred": "无法威慑比例", "checks": "抽查数", "evaluation_cost_recheck": "复核费用",
    "inflation_payoff": "虚报收益", "count_excellent": "优 项目数", "count_good": "良 项目数",
    "count_fair": "中 项目数", "count_poor": "差 项目数", "strongest": "最强指标",
    "weakest": "最弱指标", "precondition_failed": "前置条件未满足", "code": "指标编码",
    "name": "指标名称", "department_mean": "部门平均得分率", "portfolio_mean": "全部项目平均得分率",
    "difference_pp": "差异", "evaluated": "纳入评价", "count_not_evaluated": "未评价 项目数",
    "bod_score": "最有利权重得分", "bod_rank": "最有利权重排名", "expert_score": "原权重得分",
    "expert_rank": "原权重排名", "expected_rank": "期望排名", "rank1": "排名第一概率",
    "top_share": "进入前列概率", "expected_in_top": "期望进入前列项目数",
    "parameter": "参数", "rank": "排名", "p05": "5%分位", "p95": "95%分位", "unit": "单位",
    "meaning": "含义", "status_zh": "处理(中文)", "postponed": "暂缓", "recovered": "监控收回",
    "recovered_unrectified": "未整改收回", "share": "占比", "share_lost": "减少占预算比例",
    "gap": "差距", "width": "窗口宽度", "below": "线下项目数", "above": "线上项目数",
    "precondition_failures": "前置条件未满足项目数", "mu": "平均效应 μ",
    "mu_star": "平均绝对效应 μ*", "sigma": "效应标准差 σ", "mu_star_conf": "μ*区间半宽",
    "lever": "政策工具",
}


def zh_headings(frame: pd.DataFrame) -> pd.DataFrame:
    """Headings Chinese first: ``budget (亿元)`` becomes ``本年预算 budget (亿元)``; the names of
    the index levels too."""
    def name(col: Any) -> Any:
        if not isinstance(col, str):
            return col
        zh = HEADINGS_ZH.get(col.split(" (")[0])
        return f"{zh} {col}" if zh else col
    out = frame.rename(columns=name)
    out.index = out.index.set_names([name(n) for n in out.index.names])
    return out
