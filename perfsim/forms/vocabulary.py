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
    "full_points_target_missed": ("未完成目标却得满分",
                                  "full points although the target is not met"),
    "execution_points_mismatch": ("预算执行得分不等于执行率×分值",
                                  "execution points differ from rate × points"),
    "actual_blank": ("实际完成值空白", "actual value blank"),
    "actual_unreadable": ("实际完成值无法识读", "actual value cannot be read"),
    "target_unmeasurable": ("指标值不可衡量", "target cannot be measured"),
    "grade_changes": ("按重算总分等级改变", "the grade changes with the recomputed total"),
}

#: projects.csv, one row per table (money in yuan).
PROJECT_COLUMNS = ("project_id", "file", "sheet", "form", "project", "department", "unit",
                   "budget_initial", "budget_full", "executed", "basic_budget_full",
                   "basic_executed", "project_spending_budget_full",
                   "project_spending_executed", "execution_rate",
                   "exec_points", "exec_score", "printed_total", "recomputed_total",
                   "printed_grade", "recomputed_grade", "findings")
#: projects.csv's columns of a department table's 基本支出 and 项目支出 lines (funds row →
#: {funds column: projects.csv column}); blank for a project table, which has no such lines.
SPENDING_COLUMNS = {"basic": {"budget_full": "basic_budget_full",
                              "executed": "basic_executed"},
                    "project": {"budget_full": "project_spending_budget_full",
                                "executed": "project_spending_executed"}}
#: Columns of projects.csv that a generator's truth file does not hold: the table's id
#: (file:sheet, #k for the k-th table of a sheet) that leaves.csv rows point to, and the
#: execution item's points and printed score (the model reads them).
IMPORT_ONLY = ("project_id", "exec_points", "exec_score")
#: leaves.csv, one row per third-level indicator.
LEAF_COLUMNS = ("project_id", "file", "sheet", "row", "level1", "level2", "level3", "target_text",
                "actual_text", "op", "target_value", "actual_value", "unit", "points",
                "printed_score", "recomputed_score", "rule")
#: tasks.csv, one row per line of a department table's 年度主要任务 block (amounts in yuan,
#: blank where the table has none; ``row`` the line's sheet row).
TASK_COLUMNS = ("project_id", "file", "sheet", "department", "row", "task", "content",
                "budget", "executed", "status")
#: findings.csv, one row per finding (points at stake: the points the finding may move).
FINDING_COLUMNS = ("file", "sheet", "cell", "kind", "what", "why", "points_at_stake",
                   "department", "project", "budget")

#: A generator's truth files: truth.csv (one row per table, PROJECT_COLUMNS without
#: findings) and planted.csv (file, sheet, cell, kind: one row per planted error); and
#: truth_tasks.csv, the 年度主要任务 lines of the department tables (TASK_COLUMNS without
#: project_id and row).
PLANTED_COLUMNS = ("file", "sheet", "cell", "kind")

# --- reading targets and actuals (perfsim.forms.targets) ------------------------------------

#: Operators as written, symbol → the reader's operator (``>=``, ``<=``, ``=``, ``>``, ``<``).
OPERATOR_SYMBOLS = {"≥": ">=", ">=": ">=", "≧": ">=", "＞＝": ">=", "≤": "<=", "<=": "<=",
                    "≦": "<=", "＜＝": "<=", "=": "=", "＝": "=", ">": ">", "＞": ">",
                    "<": "<", "＜": "<", "＞=": ">=", ">＝": ">=", "＜=": "<=", "<＝": "<="}
#: A target that repeats its indicator's name before the operator (满意度≥90%, 合格率≥95%):
#: the name is read past.
NAMED_BEFORE_OPERATOR = r"^[\u4e00-\u9fff]{1,12}(?=[≥≤≧≦<>=＜＞＝])"
#: A number written as approximate — 约1200公里 before it, 1200余公里 / 1200多人 / 1.2万余亩
#: before its unit — reads as the number written.
ABOUT_PREFIXES = ("大约", "约")
ABOUT_SUFFIX = r"(万|亿)?[余多](.+)"
#: Operators as words before the number (longest first when read).
OPERATOR_PREFIXES = {"不低于": ">=", "不少于": ">=", "大于等于": ">=", "大于或等于": ">=",
                     "达到": ">=", "至少": ">=", "不高于": "<=", "不超过": "<=", "不多于": "<=",
                     "小于等于": "<=", "小于或等于": "<=", "控制在": "<=", "不大于": "<=",
                     "不超出": "<=", "不小于": ">=", "低于": "<",
                     "少于": "<", "小于": "<", "高于": ">", "多于": ">", "超过": ">",
                     "大于": ">", "等于": "="}
#: Operators as words after the number (and unit): 95%以上, 900万元以内.
OPERATOR_SUFFIXES = {"以上": ">=", "及以上": ">=", "以内": "<=", "以下": "<=", "及以下": "<="}
#: Written after a value to say its bound is included (≥90%（含）): nothing to read.
INCLUSIVE_MARKS = ("（含）", "(含)", "（含本数）", "(含本数)")
#: A bare number as a target ("100%") reads as 达到: at least that value.
BARE_TARGET_OP = ">="

#: Units: as written → (base unit, factor to the base). Compatible units share a base.
UNITS = {"%": ("%", 1.0), "％": ("%", 1.0), "‰": ("%", 0.1),
         "元": ("元", 1.0), "万元": ("元", 1e4), "亿元": ("元", 1e8),
         "亩": ("亩", 1.0), "万亩": ("亩", 1e4),
         "元/亩": ("元/亩", 1.0), "万元/亩": ("元/亩", 1e4),
         "个": ("个", 1.0), "台（套）": ("台（套）", 1.0), "台(套)": ("台（套）", 1.0),
         "台/套": ("台（套）", 1.0), "台": ("台（套）", 1.0), "套": ("台（套）", 1.0),
         "人次": ("人次", 1.0), "万人次": ("人次", 1e4), "人": ("人", 1.0), "万人": ("人", 1e4),
         "次": ("次", 1.0), "天": ("天", 1.0), "日": ("天", 1.0), "个工作日": ("天", 1.0),
         "工作日": ("天", 1.0), "月": ("月", 1.0), "个月": ("月", 1.0), "年": ("年", 1.0),
         "km": ("km", 1.0), "公里": ("km", 1.0), "千米": ("km", 1.0), "m": ("m", 1.0),
         "米": ("m", 1.0), "平方米": ("平方米", 1.0), "㎡": ("平方米", 1.0),
         "万平方米": ("平方米", 1e4), "户": ("户", 1.0), "万户": ("户", 1e4), "家": ("家", 1.0),
         "项": ("项", 1.0), "件": ("件", 1.0), "所": ("所", 1.0), "座": ("座", 1.0),
         "辆": ("辆", 1.0), "吨": ("吨", 1.0), "万吨": ("吨", 1e4), "起": ("起", 1.0),
         "篇": ("篇", 1.0), "场": ("场", 1.0), "期": ("期", 1.0), "批": ("批", 1.0),
         "处": ("处", 1.0), "条": ("条", 1.0), "份": ("份", 1.0), "所学校": ("所", 1.0),
         "小时": ("小时", 1.0), "分": ("分", 1.0)}

#: Yes/no as written (negative words are tried first: 未建立 before 建立).
NO_WORDS = ("未按期完成", "未按时完成", "未完成", "未建立", "未达标", "不合格", "未实现",
            "未达到", "否", "无", "没有", "延期", "延期完成", "逾期完成", "未按期")
YES_WORDS = ("按期完成", "按时完成", "如期完成", "已完成", "完成", "已建立", "建立", "达标",
             "合格", "实现", "是", "有")
#: Yes/no answers and deadlines met or missed: word → met (full points) or not (none).
YES_NO = {**{w: True for w in YES_WORDS}, **{w: False for w in NO_WORDS}}
#: Deadlines: a date written 2023年10月底前 / 2023年12月31日前 / 2023年10月前, or the words below
#: (按期完成: a yes/no target that the actual meets by being done on time).
DEADLINE_SUFFIXES = ("底前", "日前", "月前", "前", "之前", "以前")

#: The file the qualitative levels' coefficients come from (replace with ``--levels``).
LEVELS_FILE = "datasets/forms/levels.yaml"

#: Decimals of leaf scores and of the total on the form (四舍五入, as printed).
ROUNDING = {"leaf": 2, "total": 2}
#: Points a recomputed score may differ from the printed one by before it is a finding.
TOLERANCE = 0.01

#: A review finding about a whole file (listed, never silent): it could not be imported.
FILE_FINDING = ("file_unreadable", "文件无法导入", "file could not be imported")
#: A review finding about how a table was read (listed, never silent): its funds block names
#: no unit, so the money was read in 万元, the MoF layout's.
UNIT_FINDING = ("money_unit_assumed", "资金单位未注明，按万元读取",
                "the funds block names no unit: read as 万元")
#: Every finding kind's Chinese and English: the table's (:data:`FINDINGS`), then the reader's.
ALL_FINDINGS = {**FINDINGS, UNIT_FINDING[0]: UNIT_FINDING[1:], FILE_FINDING[0]: FILE_FINDING[1:]}

#: Rules a leaf was recomputed by (leaves.csv ``rule``).
LEAF_RULES = {"proportional": "按完成比例（达标满分）", "threshold": "达标满分、否则零分",
              "level": "按定性等级系数", "assessed": "按填报得分（评价人打分）",
              "execution": "执行率×分值"}

#: Chinese headings of the tidy outputs' columns (the review workbook and page show
#: "中文 english").
COLUMN_ZH = {"project_id": "项目编号", "exec_points": "预算执行分值",
             "exec_score": "预算执行得分（填报）", "file": "文件", "sheet": "工作表",
             "form": "表类型", "project": "项目",
             "department": "部门", "unit": "实施单位", "budget_initial": "年初预算数（元）",
             "budget_full": "全年预算数（元）", "executed": "全年执行数（元）",
             "execution_rate": "执行率", "printed_total": "填报总分",
             "recomputed_total": "重算总分",
             "printed_grade": "填报等级", "recomputed_grade": "重算等级", "findings": "发现数",
             "row": "行", "level1": "一级指标", "level2": "二级指标", "level3": "三级指标",
             "target_text": "年度指标值", "actual_text": "实际完成值", "op": "运算符",
             "target_value": "指标值（数）", "actual_value": "实际值（数）",
             "points": "分值", "printed_score": "填报得分", "recomputed_score": "重算得分",
             "rule": "计分规则", "cell": "单元格", "kind": "类别", "what": "问题", "why": "依据",
             "points_at_stake": "涉及分值", "budget": "涉及资金（元）",
             "basic_budget_full": "基本支出全年预算数（元）",
             "basic_executed": "基本支出全年执行数（元）",
             "project_spending_budget_full": "项目支出全年预算数（元）",
             "project_spending_executed": "项目支出全年执行数（元）",
             "task": "任务名称", "content": "主要内容", "status": "完成情况"}
#: In leaves.csv ``unit`` is the unit of measure, not the implementing unit.
LEAF_ZH = {"unit": "计量单位"}
#: In tasks.csv ``budget`` and ``executed`` are the task's own 预算数 and 执行数.
TASK_ZH = {"budget": "预算数（元）", "executed": "执行数（元）"}

# --- more labels the reader finds blocks by (perfsim.forms.read) ----------------------------

#: The headings that mark the indicator block (all three on one row).
LEVEL_LABELS = ("一级指标", "二级指标", "三级指标")
#: Shorter headings accepted for the target and actual columns (年度指标值（A）, 实际完成值（B）
#: are read by INDICATOR_COLUMNS; 指标值, 实际完成情况 by these).
LOOSE_COLUMNS = {"target": "指标值", "actual": "实际完成"}
TASKS_LABEL = "年度主要任务"       # department tables: one line per task
#: The 年度主要任务 block's headings (a word the heading holds → field); 预算数/执行数 may carry
#: their unit (预算数（万元）).
TASK_HEADINGS = {"任务名称": "name", "主要内容": "content", "预算数": "budget",
                "执行数": "executed", "完成情况": "status"}
GOAL_LABEL = "年度总体目标"
BLOCK_LABEL = "绩效指标"
#: Cells that close the indicator block: the total row, or the notes and signature after it.
TOTAL_WORDS = (TOTAL_LABEL, "合计", "总计")
#: The template's numbering before a 三级指标 (指标1：新增灌溉面积): read past; a row that holds
#: only it (指标2：, nothing else) is the template's empty slot.
TEMPLATE_NUMBER = r"^指标\s*\d+\s*[:：]?"
#: Points written after a 一级 or 二级指标 (产出指标（50分）): read past, so that tables with
#: and without them share the framework's labels.
POINTS_NOTE = r"[（(]\s*\d+(?:\.\d+)?\s*分\s*[）)]$"
NOTE_STARTS = ("注", "填报人", "说明", "备注")
