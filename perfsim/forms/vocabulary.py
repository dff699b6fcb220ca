"""The one vocabulary of the self-evaluation forms: the labels a table is found by, the kinds of
review finding, and the columns of the tidy outputs and of a generator's truth files.

The reader (:mod:`perfsim.forms.read`), the review (:mod:`perfsim.forms.review`) and the
generator of training workbooks (:mod:`perfsim.forms.generate`) all speak it; a test checks
that the generator's planted errors and the review's findings use the same kinds.
"""

from __future__ import annotations

#: Titles that mark a table, by form: a project table and a department-overall table.
TITLES = {"project": ("项目支出绩效自评表",), "department": ("部门整体支出绩效自评表",)}

#: Header facts (label → field).
FACTS = {"项目名称": "project", "部门名称": "department", "主管部门": "department",
         "实施单位": "unit", "预算单位": "unit"}

#: The funds block: its label, the columns and the rows (label → field).
FUNDS_LABEL = "资金"    # 项目资金（万元） / 年度资金（元）: the unit is read from the label
FUNDS_COLUMNS = {"年初预算数": "budget_initial", "全年预算数": "budget_full",
                 "全年执行数": "executed", "分值": "points", "执行率": "rate", "得分": "score"}
FUNDS_ROWS = {"年度资金总额": "total", "当年财政拨款": "appropriation",
              "上年结转资金": "carried", "其他资金": "other",
              "基本支出": "basic", "项目支出": "project"}

#: The indicator block's columns (label → field); 偏差原因 may be absent.
INDICATOR_COLUMNS = {"一级指标": "level1", "二级指标": "level2", "三级指标": "level3",
                     "年度指标值": "target", "实际完成值": "actual", "分值": "points",
                     "得分": "score", "偏差原因分析及改进措施": "reason"}

#: Cells that hold no indicator: placeholder rows carry no points.
PLACEHOLDERS = ("", "……", "…", "...", "/", "-", "—", "无")

TOTAL_LABEL = "总分"

#: Review findings (复核): kind → (Chinese, English). The generator plants them by these names.
FINDINGS = {
    "score_mismatch": ("得分与按规则重算不一致", "printed score differs from the recomputed score"),
    "score_above_points": ("得分高于分值", "score above the leaf's points"),
    "total_mismatch": ("总分不等于各行得分之和", "total is not the sum of its rows"),
    "points_not_total": ("分值合计不等于总分值", "points do not add up to the table's total"),
    "full_points_target_missed": ("未完成目标却得满分", "full points although the target is not met"),
    "execution_points_mismatch": ("预算执行得分不等于执行率×分值",
                                  "execution points differ from rate × points"),
    "actual_blank": ("实际完成值空白", "actual value blank"),
    "actual_unreadable": ("实际完成值无法识读", "actual value cannot be read"),
    "target_unmeasurable": ("指标值不可衡量", "target cannot be measured"),
    "grade_changes": ("按重算总分等级改变", "the grade changes with the recomputed total"),
}

#: projects.csv, one row per table (money in yuan).
PROJECT_COLUMNS = ("file", "sheet", "form", "project", "department", "unit",
                   "budget_initial", "budget_full", "executed", "execution_rate",
                   "printed_total", "recomputed_total", "printed_grade", "recomputed_grade",
                   "findings")
#: leaves.csv, one row per third-level indicator.
LEAF_COLUMNS = ("file", "sheet", "row", "level1", "level2", "level3", "target_text",
                "actual_text", "op", "target_value", "actual_value", "unit", "points",
                "printed_score", "recomputed_score", "rule")
#: findings.csv, one row per finding (points at stake: the points the finding may move).
FINDING_COLUMNS = ("file", "sheet", "cell", "kind", "what", "why", "points_at_stake",
                   "department", "project", "budget")

#: A generator's truth files: truth.csv (one row per table, PROJECT_COLUMNS without
#: findings) and planted.csv (file, sheet, cell, kind: one row per planted error).
PLANTED_COLUMNS = ("file", "sheet", "cell", "kind")

#: Qualitative levels (定性指标) written as targets and actuals, best first, and the share of a
#: leaf's points each earns: the template's bands 100–80%, 80–60%, 60–0% as coefficients
#: 1.0 / 0.8 / 0.6 / 0 (the one table both the generator and the reader score levels by).
LEVELS = {"好": 1.0, "有效提升": 1.0, "显著提升": 1.0, "明显改善": 1.0, "全面达成": 1.0,
          "较好": 0.8, "基本达成": 0.8, "一般": 0.6, "部分改善": 0.6, "部分达成": 0.6,
          "差": 0.0, "未改善": 0.0, "未达成": 0.0}
#: Yes/no answers and deadlines met or missed: word → met (full points) or not (none).
YES_NO = {"是": True, "否": False, "建立": True, "未建立": False,
          "按期完成": True, "延期完成": False}
