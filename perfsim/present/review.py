"""The review (复核) of imported self-evaluation tables for people: a Chinese-first workbook
(``review.xlsx``) and an offline HTML page (``review.html``, no scripts, no links out).

Both list the findings sorted by money at stake (the table's 全年预算数, largest first), the
counts by department and kind, and the tables with their printed and recomputed totals. Every
text cell that looks like a formula is written as text (:func:`perfsim.io.escape_sheet`): a
project named "=1+1" stays text.
"""

from __future__ import annotations

import html
import os
import uuid
from pathlib import Path

import pandas as pd

from perfsim import numbers
from perfsim.forms import vocabulary as V
from perfsim.io import escape_sheet
from perfsim.present.report import YUAN_FORMAT

WORKBOOK = "review.xlsx"
PAGE = "review.html"
SHEETS = {"findings": "复核发现 findings", "departments": "按部门 by department",
          "projects": "项目 tables", "leaves": "指标 leaves", "tasks": "年度主要任务 tasks"}
_MONEY = {"budget_initial", "budget_full", "executed", "budget", "basic_budget_full",
          "basic_executed", "project_spending_budget_full", "project_spending_executed"}
_COUNTS = {"points_at_stake", "tables", "findings"}
#: points printed as tables print them: two decimals
_POINTS = {"points_at_stake", "points", "printed_score", "recomputed_score", "printed_total",
           "recomputed_total"}


def by_department(findings: pd.DataFrame, projects: pd.DataFrame) -> pd.DataFrame:
    """Tables and findings by department, one column per finding kind (counts), largest
    total first; the files that could not be imported count under "" (no department)."""
    kinds = [k for k in V.ALL_FINDINGS if k in set(findings["kind"])]
    tables = projects.groupby("department").size().rename("tables")
    if len(findings):
        counts = (findings.groupby(["department", "kind"]).size().unstack(fill_value=0)
                  .reindex(columns=kinds, fill_value=0))
        out = pd.concat([tables, counts], axis=1).fillna(0).astype(int)
    else:
        out = tables.to_frame()
    out["findings"] = out[kinds].sum(axis=1) if kinds else 0
    out = out.sort_values(["findings", "tables"], ascending=False, kind="stable")
    out.index.name = "department"
    return out.reset_index()[["department", "tables", "findings", *kinds]]


def _heading(col: str, sheet: str) -> str:
    if col in V.ALL_FINDINGS:
        return f"{V.ALL_FINDINGS[col][0]} {col}"
    if col == "tables":
        return "自评表数 tables"
    own = {"leaves": V.LEAF_ZH, "tasks": V.TASK_ZH}.get(sheet, {})
    zh = own.get(col, V.COLUMN_ZH.get(col, ""))
    return f"{zh} {col}".strip()


def _frames(frames: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    return {"findings": frames["findings"],
            "departments": by_department(frames["findings"], frames["projects"]),
            "projects": frames["projects"], "leaves": frames["leaves"],
            "tasks": frames["tasks"]}


def write_workbook(frames: dict[str, pd.DataFrame], path: str | Path) -> Path:
    """``review.xlsx``: sheets 复核发现 (findings by money at stake), 按部门 (counts),
    项目 (tables), 指标 (leaves) and 年度主要任务 (the task lines of department tables);
    bilingual headings, money in yuan as ``#,##0.00``, rates
    as percentages, frozen header, autofilter; written to a temporary file renamed into
    place."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    path = Path(path)
    wb = Workbook()
    wb.remove(wb.active)
    for key, frame in _frames(frames).items():
        ws = wb.create_sheet(SHEETS[key])
        cols = list(frame.columns)
        ws.append([_heading(c, key) for c in cols])
        for row in frame.itertuples(index=False):
            ws.append([None if (isinstance(v, float) and v != v) else v for v in row])
        for j, col in enumerate(cols, start=1):
            letter = get_column_letter(j)
            ws[f"{letter}1"].font = Font(bold=True)
            width = {"what": 30, "why": 60, "file": 36}.get(col, 14)
            ws.column_dimensions[letter].width = width
            fmt = (YUAN_FORMAT if col in _MONEY else
                   "0.00%" if col == "execution_rate" else None)
            if fmt:
                for (cell,) in ws.iter_rows(min_row=2, min_col=j, max_col=j):
                    cell.number_format = fmt
        ws.freeze_panes = "A2"
        ws.auto_filter.ref = f"A1:{get_column_letter(max(len(cols), 1))}{len(frame) + 1}"
        escape_sheet(ws)
    tmp = path.with_name(f".{path.name}.partial-{uuid.uuid4().hex}.xlsx")
    try:
        wb.save(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def _cell(col: str, v: object) -> str:
    if v is None or (isinstance(v, float) and v != v):
        return "—"
    if col in _MONEY:
        return numbers.yuan(float(v))
    if col == "execution_rate":
        return f"{float(v):.2%}"
    if col in _POINTS and isinstance(v, int | float) and not isinstance(v, bool):
        return f"{float(v):.2f}"
    return html.escape(str(v))


def _table(frame: pd.DataFrame, key: str) -> str:
    cols = list(frame.columns)
    head = "".join(f"<th>{html.escape(_heading(c, key))}</th>" for c in cols)
    right = {c for c in cols if c in _MONEY or c in _COUNTS}
    body = "\n".join("<tr>" + "".join(
        f"<td class=\"{'num' if c in right else ''}\">{_cell(c, v)}</td>"
        for c, v in zip(cols, row, strict=True)) + "</tr>"
        for row in frame.itertuples(index=False))
    return f"<table><thead><tr>{head}</tr></thead><tbody>\n{body}\n</tbody></table>"


def write_page(frames: dict[str, pd.DataFrame], path: str | Path) -> Path:
    """``review.html``: one self-contained page (no scripts, no files or links outside it)
    with the counts, the findings by money at stake, the counts by department and the
    tables."""
    parts = _frames(frames)
    n_tables, n_found = len(parts["projects"]), len(parts["findings"])
    style = ("body{font-family:'Noto Sans CJK SC','Microsoft YaHei',sans-serif;margin:2em}"
             "table{border-collapse:collapse;margin-bottom:2em;font-size:13px}"
             "th,td{border:1px solid #bbb;padding:3px 6px;vertical-align:top}"
             "th{background:#eef}td.num{text-align:right}")
    body = ["<h1>自评表复核 Review of self-evaluation tables</h1>",
            f"<p>自评表 {n_tables} 张 tables · 三级指标 {len(parts['leaves'])} 个 leaves · "
            f"发现 {n_found} 条 findings（按涉及资金排序 sorted by money at stake）</p>"]
    for key, title in (("findings", "复核发现 Findings"), ("departments", "按部门 By department"),
                       ("projects", "自评表 Tables")):
        body.append(f"<h2>{title}</h2>")
        body.append(_table(parts[key], key) if len(parts[key]) else "<p>无 none</p>")
    text = ("<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
            f"<title>自评表复核 review</title><style>{style}</style></head><body>\n"
            + "\n".join(body) + "\n</body></html>\n")
    path = Path(path)
    path.write_text(text, encoding="utf-8")
    return path
