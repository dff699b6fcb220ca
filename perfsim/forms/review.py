"""The review (复核) of scored self-evaluation tables: the first pass a reviewer does by hand,
as findings (kinds in :data:`perfsim.forms.vocabulary.FINDINGS`), and the tidy tables
(``projects``, ``leaves``, ``tasks``, ``findings``) with the columns of the vocabulary.

A finding is raised only beyond the rounding tolerance (:data:`vocabulary.TOLERANCE`, 0.01
points), so a clean table gives none. Where a more specific finding explains a leaf (得分 above
分值, full points for a missed target) the general "printed ≠ recomputed" is not repeated.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from perfsim.forms import vocabulary as V
from perfsim.forms.score import ScoredLeaf, ScoredTable
from perfsim.forms.targets import DATE_UNIT, Reading
from perfsim.io import write_csv

_TOL = V.TOLERANCE + 1e-9
#: The tidy tables ``perfsim import`` writes as CSV, in the order it names them.
CSVS = ("projects", "leaves", "tasks", "findings")


def _differ(a: float | None, b: float | None) -> bool:
    return a is not None and b is not None and abs(a - b) > _TOL


def _finding(st: ScoredTable, cell: str, kind: str, why: str, at_stake: float | None
             ) -> dict:
    t = st.table
    return {"file": t.file, "sheet": t.sheet, "cell": cell, "kind": kind,
            "what": V.ALL_FINDINGS[kind][0] + " " + V.ALL_FINDINGS[kind][1], "why": why,
            "points_at_stake": None if at_stake is None else round(abs(at_stake), 2),
            "department": t.department, "project": t.project or t.department,
            "budget": t.money("budget_full")}


def _g(x: float | None) -> str:
    return "—" if x is None else f"{x:g}"


def _leaf_findings(st: ScoredTable, s: ScoredLeaf) -> list[dict]:
    leaf, out = s.leaf, []
    name = leaf.level3 or f"row {leaf.row}"
    if s.problem is not None:
        cell = leaf.cells["target" if s.problem == "target_unmeasurable" else "actual"]
        out.append(_finding(st, cell, s.problem, f"{name}: {s.why}", leaf.points))
    if leaf.points is not None and leaf.score is not None and leaf.score > leaf.points + _TOL:
        out.append(_finding(st, leaf.cells["score"], "score_above_points",
                            f"{name}: 得分 {_g(leaf.score)} > 分值 {_g(leaf.points)}",
                            leaf.score - leaf.points))
        return out
    if (s.met is False and leaf.points is not None and leaf.score is not None
            and leaf.score >= leaf.points - _TOL and s.attainment is not None
            and s.attainment < 1.0):
        out.append(_finding(st, leaf.cells["score"], "full_points_target_missed",
                            f"{name}: 指标值 {s.target.text} · 实际 {s.actual.text} · 得分 "
                            f"{_g(leaf.score)} = 分值; 按规则 by rule {_g(s.recomputed)}",
                            leaf.score - (s.recomputed or 0.0)))
        return out
    if s.rule != "assessed" and _differ(leaf.score, s.recomputed):
        out.append(_finding(st, leaf.cells["score"], "score_mismatch",
                            f"{name}: 填报 printed {_g(leaf.score)} · 重算 recomputed "
                            f"{_g(s.recomputed)} ({V.LEAF_RULES[s.rule]})",
                            leaf.score - s.recomputed))
    elif s.rule != "assessed" and leaf.score is None and leaf.points is not None:
        out.append(_finding(st, leaf.cells["score"], "score_mismatch",
                            f"{name}: 得分空白 score blank; 重算 recomputed {_g(s.recomputed)}",
                            s.recomputed))
    return out


def findings(st: ScoredTable) -> list[dict]:
    """The findings of one table (rows with :data:`vocabulary.FINDING_COLUMNS`)."""
    t = st.table
    out: list[dict] = []
    for s in st.leaves:
        out.extend(_leaf_findings(st, s))
    if t.exec_points is not None and _differ(t.exec_score, st.exec_recomputed):
        rate = "—" if st.execution_rate is None else f"{st.execution_rate:.2%}"
        out.append(_finding(st, t.cells.get("exec_score", ""), "execution_points_mismatch",
                            f"得分 {_g(t.exec_score)} · 执行率 rate {rate} × 分值 "
                            f"{_g(t.exec_points)} = {_g(st.exec_recomputed)}",
                            t.exec_score - st.exec_recomputed))
    elif t.exec_points is not None and t.exec_score is None and st.exec_recomputed is not None:
        out.append(_finding(st, t.cells.get("exec_score", ""), "execution_points_mismatch",
                            f"得分空白 score blank; 执行率 rate {st.execution_rate:.2%} × 分值 "
                            f"{_g(t.exec_points)} = {_g(st.exec_recomputed)}",
                            st.exec_recomputed))
    rows = sum(s.leaf.score or 0.0 for s in st.leaves) + (t.exec_score or 0.0)
    if t.total_score is not None and _differ(t.total_score, rows):
        out.append(_finding(st, t.cells.get("total", ""), "total_mismatch",
                            f"总分 {_g(t.total_score)} · 各行之和 sum of rows {rows:.2f}",
                            t.total_score - rows))
    points = sum(s.leaf.points or 0.0 for s in st.leaves) + (t.exec_points or 0.0)
    expected = t.total_points if t.total_points is not None else 100.0
    if _differ(points, expected):
        out.append(_finding(st, t.cells.get("total_points", ""), "points_not_total",
                            f"分值合计 points add up to {points:g}, not {expected:g}",
                            points - expected))
    budget = t.money("budget_full")
    if not t.money_unit_written and budget is not None:
        out.append(_finding(st, t.cells.get("funds", ""), V.UNIT_FINDING[0],
                            f"项目资金未写（万元）或（元），按财政部格式读作万元: 全年预算数 "
                            f"{budget / 1e4:,.2f} 万元 = {budget:,.2f} 元; 如为元，请在标签中写明"
                            f"（元） / read as 万元, the MoF layout's unit ({budget / 1e4:,.2f} "
                            f"万元 = {budget:,.2f} 元); if the figures are in yuan, write （元） "
                            "in the block's label", None))
    if st.printed_grade and st.recomputed_grade and st.printed_grade != st.recomputed_grade:
        out.append(_finding(st, t.cells.get("total", ""), "grade_changes",
                            f"填报 printed {_g(st.printed_total)} → {st.printed_grade}; 重算 "
                            f"recomputed {_g(st.recomputed_total)} → {st.recomputed_grade}",
                            st.printed_total - st.recomputed_total))
    return out


def file_finding(file: str, message: str) -> dict:
    """A file that could not be imported, as a finding (listed, never silent)."""
    kind, zh, en = V.FILE_FINDING
    return {"file": file, "sheet": "", "cell": "", "kind": kind, "what": f"{zh} {en}",
            "why": message, "points_at_stake": None, "department": "", "project": "",
            "budget": None}


def sort_findings(frame: pd.DataFrame) -> pd.DataFrame:
    """Findings by money at stake (the table's 全年预算数, largest first), then points at
    stake, then file, sheet and cell."""
    if frame.empty:
        return frame
    order = frame.assign(_b=frame["budget"].fillna(-1.0), _p=frame["points_at_stake"].fillna(0))
    order = order.sort_values(["_b", "_p", "file", "sheet", "cell"],
                              ascending=[False, False, True, True, True], kind="stable")
    return order.drop(columns=["_b", "_p"]).reset_index(drop=True)


def _value(r: Reading) -> float | str | None:
    """A reading's value for leaves.csv: a date as ISO text (2023-10-31), else the number."""
    if r.unit == DATE_UNIT and r.value is not None:
        return dt.date.fromordinal(int(r.value)).isoformat()
    return r.value


def _actual_value(s: ScoredLeaf) -> float | str | None:
    """The actual in the base unit of the target (a bare number is in the target's unit as
    written: 1.25 under ≥1.2万亩 is 12,500 亩)."""
    a = s.actual
    if a.kind == "number" and not a.unit and s.target.kind == "number":
        return a.value * s.target.factor
    return _value(a)


def _root(files: Sequence[str]) -> str:
    """The folder the files share (a project id names a file from it)."""
    try:
        return os.path.commonpath([os.path.dirname(f) for f in files]) if files else ""
    except ValueError:   # relative and absolute paths mixed
        return ""


def _relative(file: str, root: str) -> str:
    return Path(os.path.relpath(file, root)).as_posix() if root else Path(file).as_posix()


def tidy(scored: Sequence[ScoredTable], failed: Sequence[tuple[str, str]] = ()
         ) -> dict[str, pd.DataFrame]:
    """The tidy tables: ``projects`` (one row per table, money in yuan, the execution rate a
    share; ``project_id`` file:sheet — the file from the folder the files share — with #k for
    the k-th table of a sheet; a department table's 基本支出/项目支出 lines in their own
    columns, blank for a project table), ``leaves`` (one row per leaf, with its table's
    ``project_id``), ``tasks`` (one row per 年度主要任务 line of a department table) and
    ``findings`` (sorted by money at stake), with the columns of
    :mod:`perfsim.forms.vocabulary`."""
    projects, leaves, tasks, found = [], [], [], []
    seen: dict[tuple[str, str], int] = {}
    root = _root([st.table.file for st in scored])
    for st in scored:
        t = st.table
        fs = findings(st)
        found.extend(fs)
        k = seen[t.file, t.sheet] = seen.get((t.file, t.sheet), 0) + 1
        pid = f"{_relative(t.file, root)}:{t.sheet}" + (f"#{k}" if k > 1 else "")
        projects.append({
            "project_id": pid, "file": t.file, "sheet": t.sheet, "form": t.form,
            "project": t.project or (t.department if t.form == "department" else ""),
            "department": t.department, "unit": t.unit,
            "budget_initial": t.money("budget_initial"), "budget_full": t.money("budget_full"),
            "executed": t.money("executed"),
            **{name: t.money(col, line) for line, cols in V.SPENDING_COLUMNS.items()
               for col, name in cols.items()},
            "execution_rate": st.execution_rate,
            "exec_points": t.exec_points, "exec_score": t.exec_score,
            "printed_total": st.printed_total, "recomputed_total": st.recomputed_total,
            "printed_grade": st.printed_grade, "recomputed_grade": st.recomputed_grade,
            "findings": len(fs)})
        tasks.extend({"project_id": pid, "file": t.file, "sheet": t.sheet,
                      "department": t.department, "row": line.row, "task": line.name,
                      "content": line.content, "budget": line.budget,
                      "executed": line.executed, "status": line.status}
                     for line in t.tasks)
        for s in st.leaves:
            leaf = s.leaf
            leaves.append({
                "project_id": pid, "file": t.file, "sheet": t.sheet, "row": leaf.row,
                "level1": leaf.level1,
                "level2": leaf.level2, "level3": leaf.level3, "target_text": s.target.text,
                "actual_text": s.actual.text, "op": s.target.op or "",
                "target_value": _value(s.target), "actual_value": _actual_value(s),
                "unit": s.target.unit or s.actual.unit, "points": leaf.points,
                "printed_score": leaf.score, "recomputed_score": s.recomputed,
                "rule": s.rule})
    found.extend(file_finding(f, msg) for f, msg in failed)
    return {"projects": pd.DataFrame(projects, columns=list(V.PROJECT_COLUMNS)),
            "leaves": pd.DataFrame(leaves, columns=list(V.LEAF_COLUMNS)),
            "tasks": pd.DataFrame(tasks, columns=list(V.TASK_COLUMNS)),
            "findings": sort_findings(pd.DataFrame(found, columns=list(V.FINDING_COLUMNS)))}


def write_csvs(frames: dict[str, pd.DataFrame], folder: str | Path) -> list[Path]:
    """``projects.csv``, ``leaves.csv``, ``tasks.csv`` and ``findings.csv`` (utf-8-sig, so
    Excel opens them in Chinese) into ``folder``; text that starts like a formula (= + - @,
    tab, CR) is written with a leading ``'``."""
    out = []
    for name in CSVS:
        path = Path(folder) / f"{name}.csv"
        write_csv(frames[name], path)
        out.append(path)
    return out
