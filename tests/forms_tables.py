"""Small self-evaluation workbooks in the Ministry of Finance layout, written cell by cell with
openpyxl, for the importer's tests: every layout variant the reader must handle (shifted
columns, extra title rows, merged or unmerged level cells, no 偏差原因 column, the execution
rate as a number, a %-formatted number or text, 万元 or 元, department-overall tables, two
tables on one sheet, placeholder rows).

The scores in each table are written by hand in the tests that use them; this module only lays
them out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import openpyxl
from openpyxl.utils import get_column_letter

#: A leaf: level 1, level 2, level 3, target, actual, points, printed score.
Leaf = tuple[str, str, str, object, object, object, object]


@dataclass
class Table:
    """One table's content and layout."""

    leaves: list[Leaf]
    total: object                      # the printed 总分
    project: str = "农田水利设施建设"
    department: str = "县农业农村局"
    unit: str = "县水利工作站"
    money: str = "万元"                # the funds block's unit ("": none written)
    funds: tuple = (100, 120, 90)      # 年初预算数, 全年预算数, 全年执行数 in ``money``
    exec_points: object = 10
    rate: str = "percent"              # number (75), percent (0.75 formatted %), text ("75.00%")
    exec_score: object = 7.5
    total_points: object = 100
    form: str = "project"              # project | department
    shift: int = 0                     # columns left empty before the table
    title_rows: int = 1                # rows of title above the header facts
    merged: bool = True                # levels 1 and 2 merged over their rows (else repeated)
    blank_levels: bool = False         # unmerged, written only on the first row of a group
    reason: bool = True                # a 偏差原因分析及改进措施 column
    placeholders: bool = True          # "……" and "/" rows after the leaves
    two_row_heading: bool = False      # 绩效指标 above 一级/二级/三级指标, the other headings
    #                                    merged down over both rows
    lines: dict = field(default_factory=dict)  # department: 基本支出 / 项目支出 funds rows
    tasks: list = field(default_factory=list)   # department: 年度主要任务 rows (name, content
    #                                             [, 预算数, 执行数, 完成情况] in ``money``)


def text_cell(ws, r: int, c: int, value: str) -> None:
    """A text cell, even when it starts with "=" (a name typed as text, not a formula)."""
    cell = ws.cell(r, c, value)
    cell.data_type = "s"


def write_table(ws, t: Table, row: int = 1) -> int:
    """Lay ``t`` out on ``ws`` from ``row``; the next free row (after one blank row)."""
    c0 = 1 + t.shift
    r = row
    title = "项目支出绩效自评表" if t.form == "project" else "部门整体支出绩效自评表"
    ws.cell(r, c0, f"{title}（2023年度）")
    ws.merge_cells(start_row=r, start_column=c0, end_row=r, end_column=c0 + 8)
    r += 1
    for k in range(t.title_rows - 1):
        ws.cell(r, c0, "填报单位（盖章）：" if k == 0 else "（单位：见各栏）")
        r += 1
    if t.form == "project":
        ws.cell(r, c0, "项目名称")
        text_cell(ws, r, c0 + 2, t.project)
        r += 1
        ws.cell(r, c0, "主管部门")
        text_cell(ws, r, c0 + 2, t.department)
        ws.cell(r, c0 + 5, "实施单位")
        text_cell(ws, r, c0 + 6, t.unit)
        r += 1
        label = f"项目资金（{t.money}）" if t.money else "项目资金"
    else:
        ws.cell(r, c0, "部门名称")
        ws.cell(r, c0 + 2, t.department)
        r += 1
        label = f"年度资金（{t.money}）" if t.money else "年度资金"
    ws.cell(r, c0, label)
    for k, head in enumerate(("年初预算数", "全年预算数", "全年执行数", "分值", "执行率",
                              "得分")):
        ws.cell(r, c0 + 2 + k, head)
    funds_head = r
    r += 1
    first, full, executed = t.funds
    ws.cell(r, c0 + 1, "年度资金总额")
    for k, v in enumerate((first, full, executed, t.exec_points)):
        ws.cell(r, c0 + 2 + k, v)
    rate = executed / full
    if t.rate == "percent":
        ws.cell(r, c0 + 6, rate).number_format = "0.00%"
    elif t.rate == "number":
        ws.cell(r, c0 + 6, round(rate * 100, 2))
    else:
        ws.cell(r, c0 + 6, f"{rate * 100:.2f}%")
    ws.cell(r, c0 + 7, t.exec_score)
    r += 1
    rows = {"其中：当年财政拨款": t.funds, "上年结转资金": ("", "", ""), "其他资金": ("", "", "")}
    if t.form == "department":
        rows = dict(t.lines) or {"基本支出": t.funds, "项目支出": ("", "", "")}
    for name, vals in rows.items():
        ws.cell(r, c0 + 1, name)
        for k, v in enumerate(vals):
            ws.cell(r, c0 + 2 + k, v)
        r += 1
    ws.merge_cells(start_row=funds_head, start_column=c0, end_row=r - 1, end_column=c0)
    if t.form == "department":
        tasks = t.tasks or [("农田建设", "新建高标准农田")]
        amounts = any(len(task) > 2 for task in tasks)
        ws.cell(r, c0, "年度主要任务")
        ws.cell(r, c0 + 1, "任务名称")
        ws.cell(r, c0 + 3, "主要内容")
        if amounts:  # 预算数 · 执行数 (in the funds block's unit) · 完成情况
            ws.cell(r, c0 + 5, f"预算数（{t.money}）")
            ws.cell(r, c0 + 6, f"执行数（{t.money}）")
            ws.cell(r, c0 + 7, "完成情况")
        r += 1
        for task in tasks:
            for off, value in zip((1, 3, 5, 6, 7), task, strict=False):
                ws.cell(r, c0 + off, value)
            r += 1
    ws.cell(r, c0, "年度总体目标")
    ws.cell(r, c0 + 1, "预期目标")
    ws.cell(r, c0 + 5, "实际完成情况")
    r += 1
    ws.cell(r, c0 + 1, "完成年度建设任务")
    ws.cell(r, c0 + 5, "基本完成")
    r += 1
    heads = ["一级指标", "二级指标", "三级指标", "年度指标值", "实际完成值", "分值", "得分"]
    if t.reason:
        heads.append("偏差原因分析及改进措施")
    ws.cell(r, c0, "绩效指标")
    if t.two_row_heading:
        ws.cell(r, c0 + 1, "绩效指标")
        ws.merge_cells(start_row=r, start_column=c0 + 1, end_row=r, end_column=c0 + 3)
        for k, head in enumerate(heads):
            if k < 3:
                ws.cell(r + 1, c0 + 1 + k, head)
            else:
                ws.cell(r, c0 + 1 + k, head)
                ws.merge_cells(start_row=r, start_column=c0 + 1 + k, end_row=r + 1,
                               end_column=c0 + 1 + k)
        r += 1
    else:
        for k, head in enumerate(heads):
            ws.cell(r, c0 + 1 + k, head)
    r += 1
    start = r
    previous: tuple = (None, None)
    group_start = {0: r, 1: r}
    for leaf in t.leaves:
        l1, l2, l3, target, actual, points, score = leaf
        for k, value in enumerate((l1, l2)):
            new = (l1, l2)[: k + 1] != previous[: k + 1]
            if t.merged:
                if new:
                    if r - 1 > group_start[k]:
                        ws.merge_cells(start_row=group_start[k], start_column=c0 + 1 + k,
                                       end_row=r - 1, end_column=c0 + 1 + k)
                    group_start[k] = r
                    ws.cell(r, c0 + 1 + k, value)
            elif new or not t.blank_levels:
                ws.cell(r, c0 + 1 + k, value)
        previous = (l1, l2)
        for k, value in enumerate((l3, target, actual, points, score)):
            ws.cell(r, c0 + 3 + k, value)
        r += 1
    if t.merged:
        for k in (0, 1):
            if r - 1 > group_start[k]:
                ws.merge_cells(start_row=group_start[k], start_column=c0 + 1 + k,
                               end_row=r - 1, end_column=c0 + 1 + k)
    if t.placeholders:
        ws.cell(r, c0 + 3, "……")
        r += 1
        ws.cell(r, c0 + 3, "/")
        ws.cell(r, c0 + 6, "/")
        r += 1
    ws.merge_cells(start_row=start - 1, start_column=c0, end_row=r - 1, end_column=c0)
    ws.cell(r, c0, "总分")
    ws.cell(r, c0 + 6, t.total_points)
    ws.cell(r, c0 + 7, t.total)
    r += 1
    ws.cell(r, c0, "注：偏差原因分析及改进措施须填写。")
    r += 1
    ws.cell(r, c0, "填报人：张三    联系电话：    填报日期：2024年3月1日")
    return r + 2


def workbook(path: Path, *sheets: list[Table] | Table, names: list[str] | None = None) -> Path:
    """A workbook at ``path``: one sheet per argument (a table, or several stacked)."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for k, tables in enumerate(sheets):
        ws = wb.create_sheet((names or [])[k] if names else f"Sheet{k + 1}")
        row = 1
        for t in tables if isinstance(tables, list) else [tables]:
            row = write_table(ws, t, row)
        ws.column_dimensions[get_column_letter(1)].width = 12
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


#: A clean project table, scored by hand (template rule):
#: 数量 ≥1.2万亩, actual 1.25万亩 → met → 20 of 20;
#: 质量 ≥95%, actual 90% → 90/95 × 20 = 18.947… → 18.95;
#: 时效 2023年10月底前, actual 2023年9月 → met → 10;
#: 成本 ≤900万元, actual 937.5万元 → 900/937.5 × 10 = 9.6 → 9.60;
#: 社会效益 有效提升, actual 基本达成 (0.8) → 0.8 × 20 = 16;
#: 满意度 ≥90%, actual 95% → 10 of 10;
#: execution 90/120 = 75% × 10 = 7.5; total 20 + 18.95 + 10 + 9.6 + 16 + 10 + 7.5 = 92.05.
CLEAN_LEAVES: list[Leaf] = [
    ("产出指标", "数量指标", "新增灌溉面积", "≥1.2万亩", "1.25万亩", 20, 20),
    ("产出指标", "质量指标", "工程验收合格率", "≥95%", "90%", 20, 18.95),
    ("产出指标", "时效指标", "完工时间", "2023年10月底前", "2023年9月", 10, 10),
    ("产出指标", "成本指标", "工程总成本", "≤900万元", "937.5万元", 10, 9.6),
    ("效益指标", "社会效益指标", "农业生产条件", "有效提升", "基本达成", 20, 16),
    ("满意度指标", "服务对象满意度指标", "受益农户满意度", "≥90%", "95%", 10, 10),
]
CLEAN_TOTAL = 92.05


def clean_table(**layout) -> Table:
    """The clean project table with a layout variant (keyword arguments of :class:`Table`)."""
    return Table(**{"leaves": list(CLEAN_LEAVES), "total": CLEAN_TOTAL, **layout})
