"""A portfolio template workbook for an indicator system: the columns finance staff fill in.

One sheet ``项目 projects`` whose header row holds the column codes perfsim reads (each header
cell carries a comment with its Chinese and English name, points, rule and target), a filled
example row scoring full marks, drop-down lists for graded levels and yes/no flags, and a sheet
``说明 notes`` describing every column. :func:`perfsim.model.portfolio.load_portfolio` reads the
filled workbook as it is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from perfsim.io import escape_sheet, new_workbook
from perfsim.model.indicators import Indicator, IndicatorSystem
from perfsim.model.portfolio import COLUMN_ZH

SHEET = "项目 projects"
NOTES = "说明 notes"
#: the portfolio's own columns: code, English name, note, example; the Chinese name is the
#: first of :data:`perfsim.model.portfolio.COLUMN_ZH` (which reads it back as the code)
BASE = (("project_id", "project id", "unique", "P0001"),
        ("name", "project name", "optional", "示例项目 example project"),
        ("department", "department", "", "示例部门 example department"),
        ("budget", "budget (yuan)", "yuan, >= 0", 1_000_000))
FLAGS = (("has_targets", "has performance targets", "yes / no"),
         ("self_evaluated", "self-evaluated", "yes / no"))
#: the budget-execution amounts offered beside an execution-rate leaf: code, English name
AMOUNT_COLUMNS = (("budget_full", "full-year budget (yuan)"),
                  ("executed", "executed in the year (yuan)"))


def _example(leaf: Indicator) -> Any:
    """A measured value earning the leaf's full points (the best level of a graded leaf)."""
    levels = leaf.rule.params.get("levels")
    if isinstance(levels, dict) and levels:
        return next(iter(levels))
    value = float(np.asarray(leaf.rule.invert(np.array([1.0])))[0])
    return int(value) if value.is_integer() else round(value, 4)


def _columns(system: IndicatorSystem) -> list[dict[str, Any]]:
    cols = [dict(code=c, zh=COLUMN_ZH[c][0], en=en, note=note, example=ex)
            for c, en, note, ex in BASE]
    for leaf in (*system.indicators, *system.bonus):
        rule = leaf.rule
        target = "" if leaf.target is None else f"; target {leaf.target:g} {leaf.unit or ''}"
        example = 0 if leaf in system.bonus else _example(leaf)
        levels = rule.params.get("levels")
        cols.append(dict(code=leaf.code, zh=leaf.name_zh, en=leaf.name_en,
                         note=f"{leaf.points:g} 分 points; rule {rule.kind}{target}".strip(),
                         example=example,
                         choices=list(levels) if isinstance(levels, dict) else None))
        for aux in rule.aux_inputs:
            if aux == "self":
                cols.append(dict(code=f"{leaf.code}.self", zh=f"{leaf.name_zh}（自评分）",
                                 en=f"{leaf.name_en} (self-score)", note="points",
                                 example=example))
        if rule.kind == "execution_rate" and sum(
                x.rule.kind == "execution_rate" for x in system.indicators) == 1:
            cols += _amount_columns(leaf, example)
    for code, en, note in FLAGS:
        cols.append(dict(code=code, zh=COLUMN_ZH[code][0], en=en, note=note, example="yes",
                         choices=["yes", "no"]))
    return cols


def _amount_columns(leaf: Indicator, rate: Any) -> list[dict[str, Any]]:
    """全年预算数 and 全年执行数 beside the execution-rate leaf: the rate is derived from them
    (the example executes the example rate ``rate`` of 1,000,000 yuan)."""
    share = float(rate) / (100.0 if (leaf.unit or "").strip().startswith("%") else 1.0)
    note = (f"元，≥ 0（表头写“（万元）”则按万元）；与另一项金额同填时 {leaf.code} 按 全年执行数 / "
            f"全年预算数 计算，{leaf.code} 可留空，若也填写须与金额相符（误差不超过一分钱） / "
            f"yuan, >= 0 (万元 where the heading says so); given with the other amount, "
            f"{leaf.code} is derived as executed / budget_full and may be left blank (if "
            "filled, it must agree with the amounts to the fen)")
    return [dict(code=code, zh=COLUMN_ZH[code][0], en=en, note=note,
                 example=1_000_000 if code == "budget_full" else round(1_000_000 * share, 2))
            for code, en in AMOUNT_COLUMNS]


def portfolio_template(system: IndicatorSystem, path: str | Path) -> Path:
    """Write the template workbook for ``system`` to ``path`` (a new ``.xlsx`` file: an
    existing file is never overwritten)."""
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    path = new_workbook(path, "template")
    cols = _columns(system)
    wb = Workbook()
    ws = wb.active
    ws.title = SHEET
    for j, col in enumerate(cols, start=1):
        cell = ws.cell(row=1, column=j, value=col["code"])
        cell.font = Font(bold=True)
        cell.comment = Comment(f"{col['zh']} / {col['en']}\n{col['note']}", "perfsim")
        ws.cell(row=2, column=j, value=col["example"])
        ws.column_dimensions[get_column_letter(j)].width = max(12, len(col["code"]) + 4)
        if col.get("choices"):
            # one string literal: a " inside a level's name is doubled, so that no name
            # closes the literal and continues as a formula
            listed = ",".join(str(c).replace('"', '""') for c in col["choices"])
            dv = DataValidation(type="list", formula1=f'"{listed}"', allow_blank=True)
            ws.add_data_validation(dv)
            letter = get_column_letter(j)
            dv.add(f"{letter}2:{letter}5000")
    ws.freeze_panes = "A2"
    notes = wb.create_sheet(NOTES)
    notes.append(["column", "中文", "English", "说明 note", "示例 example"])
    for col in cols:
        notes.append([col["code"], col["zh"], col["en"], col["note"], col["example"]])
    notes.append([])
    notes.append([f"indicator system: {system.code} ({system.name_zh} / {system.name_en}), "
                  f"total {system.total:g} points"])
    for j in range(1, 6):
        notes.column_dimensions[get_column_letter(j)].width = 28
    for sheet in (ws, notes):
        escape_sheet(sheet)  # codes and names from the user's indicator system stay text
    wb.save(path)
    return path
