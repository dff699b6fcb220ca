"""Synthetic self-evaluation workbooks in the Ministry of Finance layout, for training and tests.

:func:`write_selfeval` writes N workbooks (``perfsim template selfeval``) that look like the
项目支出绩效自评表 and 部门整体支出绩效自评表 bureaus fill in (财预〔2020〕10号 附件): a title row,
the header facts, the funds block 项目资金（万元）, 年度总体目标, the indicator block with the first
two levels merged over their rows, placeholder rows, a 总分 row, notes and a signature line —
with borders, column widths, wrapping and a print area. Every table has its own third-level
indicators under the shared levels, drawn from a bank of targets written as bureaus write them
(operators as symbols and words, units, deadlines, yes/no, qualitative levels).

**Points** follow the template's split: outputs 50, benefits 30, service-object satisfaction 10
(the indicator block, 90) and the budget execution rate 10 (the funds block). **Scores** follow
the template rule, through the kernel's rules (:mod:`perfsim.kernel.scoring`) and its one
rounding step (half up, two decimals):

- a number with ≥ / 不低于 / 不少于 / 达到 / 以上: target met → full points, else
  points × actual / target; with ≤ / 不高于 / 不超过 / 控制在…以内: points × target / actual;
  with =: points × (1 − |actual − target| / target) (actuals never exceed an = target, so this
  is actual / target); target and actual in the same unit before dividing (1.2万亩 = 12000亩);
- yes/no (建立/未建立, 是/否) and deadlines (2023年10月底前, 按期完成): met → full points,
  missed → 0;
- qualitative levels: the level's coefficient in :data:`LEVELS` (the bundled levels table) ×
  points (有效提升 1.0, 基本达成 0.8, 部分改善 0.6 …);
- the execution rate: min(全年执行数 / 全年预算数, 1) × 10 on the 年度资金总额 row;
- a leaf whose actual is blank or unreadable, or whose target cannot be measured, keeps its
  printed score as assessed (never a silent zero); the review lists it.

The total is the sum of the rounded leaf scores and the execution points, rounded; grades by
the national bands (优 ≥ 90, 良 ≥ 80, 中 ≥ 60, 差).

**Layout variants** (:data:`VARIANTS`), one per workbook, spread evenly: ``standard``,
``shifted`` (the table one or two columns right and rows down), ``title_rows`` (an 附件 line, a
year line and a 填报单位 line around the title), ``unmerged`` (no merged cells: block and level
labels repeated on every row), ``rate_text`` (the execution rate as the text "75.00%"; the other
variants write it as a number in percent, 75.0), ``rate_percent`` (the share 0.75 formatted as
%), ``yuan`` (money in 元 under 项目资金（元）), ``no_reason`` (no 偏差原因 column),
``two_tables`` (two project tables on one sheet), ``department`` (a 部门整体支出绩效自评表 with its
基本支出/项目支出 lines and 年度主要任务 block) and ``sheets`` (a 填表说明 sheet without a table,
then two or three project tables on sheets of their own).

**Truth files**, from the numbers the generator chose (never by re-reading a workbook):
``truth.csv`` — one row per table, :data:`~perfsim.forms.vocabulary.PROJECT_COLUMNS` without
``findings``, money in yuan of the 年度资金总额 row, the execution rate as a share, totals in
points, grades as 优/良/中/差, a department table's 基本支出/项目支出 full-year budget and
executed (blank for a project table) — ``truth_tasks.csv`` — one row per 年度主要任务 line of a
department table (file, sheet, department, task, content, budget and executed in yuan,
status) — and ``planted.csv`` — one row per planted error (file, sheet,
cell, kind; kinds from :data:`~perfsim.forms.vocabulary.FINDINGS`), plus ``grade_changes`` at
the 总分 cell of every table whose printed total grades differently from the recomputed one.
With ``errors`` > 0 that share of the tables carries planted errors, the kinds taken in turn so
that every kind appears; the others are clean. The same seed writes byte-identical workbooks.
"""

from __future__ import annotations

import copy
import csv
import datetime as dt
import io
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from perfsim.errors import InputError
from perfsim.forms.targets import load_levels
from perfsim.forms.vocabulary import (
    FINDINGS,
    IMPORT_ONLY,
    PLANTED_COLUMNS,
    PROJECT_COLUMNS,
    SPENDING_COLUMNS,
    TASK_COLUMNS,
    TITLES,
    TOTAL_LABEL,
    YES_NO,
)
from perfsim.io import atomic_directory, formula_safe, text_cell
from perfsim.kernel.grading import NATIONAL, Grading
from perfsim.kernel.scoring import make_rule, round_half_up

VARIANTS = ("standard", "shifted", "title_rows", "unmerged", "rate_text", "rate_percent",
            "yuan", "no_reason", "two_tables", "department", "sheets")
#: The kinds planted, in turn, in the tables that carry errors.
PLANT_KINDS = tuple(k for k in FINDINGS if k != "grade_changes") + ("grade_changes",)
YEAR = 2023
#: The template's split of the 100 points: the indicator block's first levels and execution.
GROUP_POINTS = {"产出指标": 50, "效益指标": 30, "满意度指标": 10}
EXECUTION_POINTS = 10.0
TOTAL_POINTS = 100
DECIMALS = 2
#: The most workbooks one command writes (their content is planned in memory first).
MAX_PROJECTS = 100_000
TRUTH_COLUMNS = tuple(c for c in PROJECT_COLUMNS if c not in ("findings", *IMPORT_ONLY))
#: truth_tasks.csv: the 年度主要任务 lines of department tables, as tasks.csv without the
#: importer's table id and sheet row.
TRUTH_TASK_COLUMNS = tuple(c for c in TASK_COLUMNS if c not in ("project_id", "row"))
#: The funds rows of a department table's 基本支出 and 项目支出 lines, as labelled.
_SPENDING_LABELS = {"basic": "按支出性质分：基本支出", "project": "项目支出"}
_GRADING = Grading()
#: Money targets drawn as shares of the table's own budget (low and high are shares).
_SHARE_OF_BUDGET = frozenset({"发放补助资金", "项目总成本"})
#: The qualitative levels and their coefficients, best first: the importer's one editable table
#: (``datasets/forms/levels.yaml``, :func:`perfsim.forms.targets.load_levels`).
LEVELS = dict(sorted(load_levels().items(), key=lambda kv: -kv[1]))
_LEVEL_INDEX = {label: i for i, label in enumerate(LEVELS)}
_LEVEL_RULE = {"levels": dict(LEVELS)}

# --- the bank of third-level indicators ---------------------------------------------------
# (name, kind, unit or target word, low, high, decimals). kind: higher / lower / equal (numbers),
# yes_no, deadline, on_time, level.
_BANK: dict[str, tuple[tuple[Any, ...], ...]] = {
    "数量指标": (
        ("购置设备数量", "higher", "台（套）", 10, 200, 0),
        ("培训人次", "higher", "人次", 100, 5000, 0),
        ("新建高标准农田面积", "higher", "万亩", 0.5, 5, 1),
        ("完成造林面积", "higher", "亩", 500, 20000, 0),
        ("改造农村公路里程", "higher", "km", 5, 120, 1),
        ("建设村级服务站点", "higher", "个", 3, 60, 0),
        ("资助困难学生", "higher", "人次", 50, 3000, 0),
        ("发放补助资金", "higher", "万元", 0.6, 0.95, 2),        # shares of the budget
        ("维修改造供水工程", "higher", "个", 2, 40, 0),
        ("补助农户", "higher", "户", 100, 6000, 0),
        ("新建改建村级卫生室", "higher", "个", 3, 30, 0),
        ("完成河道治理长度", "higher", "km", 2, 40, 1),
    ),
    "质量指标": (
        ("设备验收合格率", "equal", "%", 100, 100, 0),
        ("工程验收合格率", "higher", "%", 90, 98, 0),
        ("培训考核合格率", "higher", "%", 85, 95, 0),
        ("资金拨付准确率", "equal", "%", 100, 100, 0),
        ("苗木成活率", "higher", "%", 80, 95, 0),
        ("项目管理制度", "yes_no", "建立", 0, 0, 0),
        ("是否建立项目档案", "yes_no", "是", 0, 0, 0),
        ("安全事故发生率", "lower", "‰", 1, 3, 1),
    ),
    "时效指标": (
        ("项目完成时间", "deadline", "", 6, 11, 0),
        ("资金拨付及时性", "on_time", "按期完成", 0, 0, 0),
        ("补助资金发放时限", "lower", "天", 15, 60, 0),
        ("设备到位时间", "deadline", "", 5, 10, 0),
        ("项目建设周期", "lower", "个月", 6, 18, 0),
    ),
    "成本指标": (
        ("项目总成本", "lower", "万元", 0.9, 1.0, 2),
        ("亩均补助标准", "lower", "元/亩", 300, 1500, 0),
        ("人均培训成本", "lower", "元", 300, 1200, 0),
        ("公路建设单位成本", "lower", "万元", 20, 150, 1),
    ),
    "经济效益指标": (
        ("带动农户增收", "higher", "万元", 20, 800, 1),
        ("新增产值", "higher", "万元", 100, 5000, 0),
        ("节约灌溉成本", "higher", "元/亩", 20, 200, 0),
        ("带动社会投资", "higher", "亿元", 0.5, 5, 2),
    ),
    "社会效益指标": (
        ("受益群众人数", "higher", "人次", 500, 50000, 0),
        ("群众生产生活条件", "level", "有效提升", 0, 0, 0),
        ("公共服务水平", "level", "明显改善", 0, 0, 0),
        ("带动就业", "higher", "人次", 20, 800, 0),
    ),
    "生态效益指标": (
        ("农村人居环境", "level", "明显改善", 0, 0, 0),
        ("垃圾无害化处理率", "higher", "%", 85, 98, 0),
        ("新增绿化面积", "higher", "亩", 100, 5000, 0),
    ),
    "可持续影响指标": (
        ("长效管护机制", "yes_no", "建立", 0, 0, 0),
        ("项目持续发挥效益", "level", "有效提升", 0, 0, 0),
        ("是否纳入长期规划", "yes_no", "是", 0, 0, 0),
    ),
    "服务对象满意度指标": (
        ("服务对象满意度", "higher", "%", 85, 95, 0),
        ("受益群众满意度", "higher", "%", 80, 95, 0),
        ("参训人员满意度", "higher", "%", 85, 95, 0),
    ),
}
#: (level 1, level 2, smallest and largest number of leaves; 0: a placeholder row may stand in).
_FRAME = (("产出指标", "数量指标", 1, 3), ("产出指标", "质量指标", 1, 2),
          ("产出指标", "时效指标", 1, 1), ("产出指标", "成本指标", 0, 1),
          ("效益指标", "经济效益指标", 0, 1), ("效益指标", "社会效益指标", 1, 2),
          ("效益指标", "生态效益指标", 0, 1), ("效益指标", "可持续影响指标", 1, 1),
          ("满意度指标", "服务对象满意度指标", 1, 2))
_HIGHER = ("≥{}", "不低于{}", "达到{}", "{}以上", "≥{}")
_HIGHER_COUNT = _HIGHER + ("不少于{}",)
_LOWER = ("≤{}", "不高于{}", "不超过{}", "控制在{}以内", "≤{}")
_NO = {"建立": "未建立", "是": "否", "按期完成": "延期完成"}
_MISSED_LEVELS = ("基本达成", "部分改善", "部分达成")
_UNREADABLE = ("详见附件", "见项目总结报告", "待核实", "资料未报")
_UNMEASURABLE = ("有所提高", "进一步完善", "稳步推进", "不断加强")
#: 偏差原因分析及改进措施 of a missed target, by what was missed.
_REASONS = {
    "progress": ("受天气影响，施工进度滞后，下一步将加强调度，确保按期完成。",
                 "部分资金到位较晚，影响项目实施进度，下一步将加快资金拨付。",
                 "项目组织实施不到位，下一步将完善管理制度，加强跟踪问效。"),
    "成本指标": ("受市场价格波动影响，实际成本高于预期，下一步将加强成本控制。",
               "材料和人工价格上涨，单位成本超出计划，今后将优化采购方式。"),
    "target": ("前期调研不充分，目标设定偏高，今后将科学合理设定绩效目标。",
               "项目效益显现需要一定周期，下一步将持续跟踪评估。",
               "宣传引导不够，群众参与度不高，下一步将加大宣传力度。"),
}
_DEPARTMENTS = (
    ("县农业农村局", ("高标准农田建设", "农机购置补贴", "农村人居环境整治", "特色产业发展"),
     ("县农业技术推广中心", "县农业农村局（本级）")),
    ("县教育局", ("学生资助", "薄弱学校改造", "教师能力提升培训"),
     ("县第一中学", "县教育局（本级）")),
    ("县交通运输局", ("农村公路建设", "农村公路养护"), ("县公路管理段",)),
    ("县林业局", ("植树造林", "森林防火", "天然林保护"), ("县国有林场",)),
    ("县卫生健康局", ("基本公共卫生服务", "村卫生室标准化建设"),
     ("县疾病预防控制中心", "县人民医院")),
    ("县人力资源和社会保障局", ("职业技能培训", "就业创业补贴"), ("县就业服务中心",)),
    ("县水务局", ("农村饮水安全巩固提升", "小型水库维修养护"), ("县水利工程管理站",)),
    ("县民政局", ("困难群众救助", "养老服务设施建设"), ("县社会福利院",)),
    ("县文化广电旅游局", ("公共文化服务体系建设", "文物保护"), ("县图书馆", "县文化馆")),
)
_PLACES = ("城关镇", "新华镇", "龙场镇", "河西乡", "石门乡", "青山镇", "白云镇", "东风镇",
           "柳河乡", "大坪镇", "双桥镇", "高坡乡", "红旗镇", "新田乡", "长岭镇", "三江镇",
           "", "全县")
_TASKS = (("保障机构正常运转", "保障人员工资及日常公用经费支出"),
          ("重点项目建设", "推进年度重点项目实施，按期完成建设任务"),
          ("政策宣传与培训", "开展政策宣传和业务培训，提升服务水平"),
          ("监督检查", "开展专项资金监督检查，规范资金使用"),
          ("信息化建设", "完善业务信息系统，提升管理效能"))
_PEOPLE = ("张伟", "李娜", "王芳", "刘洋", "陈静", "杨磊", "赵敏", "黄勇")
_ORDINALS = "二三四五六七八九十"
NOTES = ("注：1. 得分一档最高不能超过该指标分值上限。2. 定性指标根据指标完成情况分为："
         "达成年度指标、部分达成年度指标并具有一定效果、未达成年度指标且效果较差三档，分别按照该指标对应分值区间"
         "100%-80%（含）、80%-60%（含）、60%-0%合理确定分值。3. 请在“偏差原因分析及改进措施”中"
         "说明偏离目标、不能完成目标的原因及拟采取的措施。")


# --- the tables' content ------------------------------------------------------------------

@dataclass
class Leaf:
    """One row of the indicator block: a third-level indicator or a placeholder row.

    ``points``, ``printed`` and ``recomputed`` are in points (None on a placeholder row);
    ``spec`` is the bank entry the leaf was drawn from (None on a placeholder row)."""

    level1: str
    level2: str
    level3: str
    target: str = ""
    actual: str = ""
    points: float | None = None
    printed: float | None = None
    recomputed: float | None = None
    reason: str = ""
    spec: tuple[Any, ...] | None = None
    budget: float = 0.0            # the table's full-year budget in 万元 (for money targets)
    missed: bool = False

    @property
    def placeholder(self) -> bool:
        return self.spec is None


@dataclass
class Table:
    """One self-evaluation table as the generator chose it. Money in yuan (whole multiples of
    100 yuan, so that 万元 print exactly with two decimals); points and scores in points."""

    form: str                      # "project" or "department"
    project: str
    department: str
    unit: str
    money_unit: str                # "万元" or "元"
    funds: list[tuple[str, int, int, int]]   # (row label, initial, full-year, executed) yuan
    leaves: list[Leaf]
    goal_expected: str
    goal_actual: str
    tasks: list[tuple[str, str, int, int]] = field(default_factory=list)
    exec_printed: float = 0.0
    exec_recomputed: float = 0.0
    total_printed: float = 0.0
    plants: list[tuple[str, str]] = field(default_factory=list)   # (location key, kind)
    total_offset: float = 0.0      # planted: the printed total minus the sum of its rows

    @property
    def rate(self) -> float:
        """The execution rate of the 年度资金总额 row: executed / full-year budget, a share."""
        _, _, full, executed = self.funds[0]
        return executed / full

    @property
    def total_recomputed(self) -> float:
        """The total by the template rule (points)."""
        rows = sum(leaf.recomputed for leaf in self.leaves if not leaf.placeholder)
        return float(round_half_up(rows + self.exec_recomputed, DECIMALS))

    def sum_printed(self) -> float:
        rows = sum(leaf.printed for leaf in self.leaves if not leaf.placeholder)
        return float(round_half_up(rows + self.exec_printed, DECIMALS))


def _grade(total: float) -> str:
    return NATIONAL.zh[int(_GRADING.grade(np.array([total]))[0])]


def _number(x: float, decimals: int) -> str:
    """A number as a table writes it: ``decimals`` places at most, no trailing zeros."""
    text = f"{x:.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def leaf_points(kind: str, points: float, target: float, actual: float) -> float:
    """A leaf's points (of ``points``) by the template rule through the kernel's rules,
    rounded half up to two decimals. ``kind``: ``higher``, ``lower`` or ``equal`` (a number:
    ``target`` and ``actual`` in one unit), ``level`` (``actual`` the level's position in
    :data:`LEVELS`), or ``yes_no`` / ``deadline`` / ``on_time``
    (``actual`` 1 met, 0 missed)."""
    if kind in ("higher", "lower", "equal"):
        rule = make_rule("proportional", target=target, direction=kind, points=points)
    elif kind == "level":
        rule = make_rule("graded", _LEVEL_RULE, points=points)
    else:
        rule = make_rule("all_or_nothing", points=points)
    return float(round_half_up(float(rule.earned(np.array([actual]))[0]), DECIMALS))


def _fill(leaf: Leaf, rng: np.random.Generator, *, miss: bool) -> None:
    """Write the leaf's target and actual for its bank entry, met or ``miss``ed, and score
    it (printed = recomputed)."""
    name, kind, unit, low, high, dec = leaf.spec
    points = float(leaf.points)
    if name in _SHARE_OF_BUDGET:
        low, high = low * leaf.budget, high * leaf.budget
    if kind in ("higher", "lower", "equal"):
        t = float(np.round(rng.uniform(low, high), dec)) if high > low else float(low)
        if unit == "%" and kind == "higher":
            t = float(min(5 * round(t / 5), 95))
        a_dec = 1 if unit == "%" else max(dec, 0)
        step = 10.0 ** -a_dec
        if kind == "equal":
            a = t if not miss else float(np.round(rng.uniform(0.9, 0.985) * t, 1))
        elif kind == "higher":
            top = min(t * 1.25, 100.0) if unit == "%" else t * 1.25
            a = max(float(np.round(rng.uniform(t, top), a_dec)), t) if not miss else \
                float(np.round(rng.uniform(0.7, 0.97) * t, a_dec))
            while miss and a > 0.97 * t:          # a miss is a clear miss once rounded
                a = float(np.round(a - step, a_dec))
        else:
            a = min(float(np.round(rng.uniform(0.8, 1.0) * t, a_dec)), t) if not miss else \
                float(np.round(rng.uniform(1.03, 1.3) * t, a_dec))
            while miss and a < 1.03 * t:
                a = float(np.round(a + step, a_dec))
        ops = _LOWER if kind == "lower" else _HIGHER_COUNT if unit in ("人次", "个") else _HIGHER
        op = "={}" if kind == "equal" else ops[int(rng.integers(len(ops)))]
        leaf.target = op.format(_number(t, dec) + unit)
        if unit in ("万亩", "万元") and rng.random() < 0.25:   # the actual in 亩 or 元
            t_small, a_small = round(t * 10000), round(a * 10000)
            leaf.actual = f"{a_small}{unit[1:]}"
            score = leaf_points(kind, points, t_small, a_small)
        else:
            leaf.actual = _number(a, a_dec) + unit
            score = leaf_points(kind, points, t, a)
    elif kind == "deadline":
        month = int(rng.integers(low, high + 1))
        leaf.target = f"{YEAR}年{month}月底前"
        done = month + int(rng.integers(1, 4)) if miss else int(rng.integers(low - 2, month + 1))
        leaf.actual = (f"{YEAR}年{done}月完成" if done <= 12
                       else f"{YEAR + 1}年{done - 12}月完成")
        score = leaf_points(kind, points, 1.0, 0.0 if miss else 1.0)
    elif kind in ("yes_no", "on_time"):
        leaf.target = unit
        leaf.actual = _NO[unit] if miss else unit
        score = leaf_points(kind, points, 1.0, float(YES_NO[leaf.actual]))
    else:                                              # a qualitative level
        leaf.target = unit
        leaf.actual = (_MISSED_LEVELS[int(rng.integers(len(_MISSED_LEVELS)))] if miss
                       else unit)
        score = leaf_points(kind, points, 0.0, float(_LEVEL_INDEX[leaf.actual]))
    leaf.level3 = name
    leaf.missed = miss
    leaf.printed = leaf.recomputed = score
    why = _REASONS["成本指标" if leaf.level2 == "成本指标" else
                   "progress" if leaf.level1 == "产出指标" else "target"]
    leaf.reason = why[int(rng.integers(len(why)))] if miss else ""


def _split(total: int, k: int, rng: np.random.Generator) -> list[int]:
    """``total`` points in ``k`` whole parts of at least 2."""
    w = rng.integers(2, 6, size=k).astype(float)
    raw = total * w / w.sum()
    parts = np.maximum(np.floor(raw), 2).astype(int)
    order = np.argsort(-(raw - np.floor(raw)), kind="stable")
    i = 0
    while parts.sum() < total:
        parts[order[i % k]] += 1
        i += 1
    while parts.sum() > total:
        j = int(np.argmax(parts))
        parts[j] -= 1
    return [int(p) for p in parts]


def _miss_chance(kind: str) -> float:
    return {"yes_no": 0.05, "on_time": 0.05, "deadline": 0.08, "level": 0.25}.get(kind, 0.2)


def _leaves(rng: np.random.Generator, budget: float) -> list[Leaf]:
    counts = [int(rng.integers(lo, hi + 1)) for _, _, lo, hi in _FRAME]
    if counts[4] + counts[5] + counts[6] + counts[7] < 3:
        counts[5] = 2
    out: list[Leaf] = []
    for level1, total in GROUP_POINTS.items():
        frame = [(f, c) for f, c in zip(_FRAME, counts, strict=True) if f[0] == level1]
        points = iter(_split(total, sum(c for _, c in frame), rng))
        for (_, level2, _, _), count in frame:
            bank = _BANK[level2]
            for j in rng.choice(len(bank), size=count, replace=False):
                leaf = Leaf(level1, level2, "", points=float(next(points)), spec=bank[int(j)],
                            budget=budget)
                _fill(leaf, rng, miss=bool(rng.random() < _miss_chance(leaf.spec[1])))
                out.append(leaf)
            if count == 0 or (level2 == "数量指标" and rng.random() < 0.3):
                mark = ("……", "/", "")[int(rng.integers(3))]
                out.append(Leaf(level1, level2, mark, target="/" if mark == "/" else "",
                                actual="/" if mark == "/" else ""))
    return out


def _money(rng: np.random.Generator, *, department: bool) -> list[tuple[str, int, int, int]]:
    """The funds rows in yuan (multiples of 100): total first, then its parts."""
    full = int(round(float(np.exp(rng.normal(np.log(300), 1.0))) * 100))   # hundreds of yuan
    full = min(max(full, 500), 2_000_000)
    carried = int(round(full * rng.uniform(0, 0.3))) if rng.random() < 0.4 else 0
    other = int(round(full * rng.uniform(0, 0.1))) if rng.random() < 0.2 else 0
    approp = full - carried - other
    rate = 1.0 if rng.random() < 0.45 else float(rng.uniform(0.55, 0.995))
    parts = []
    for label, f in (("其中：当年财政拨款", approp), ("上年结转资金", carried),
                     ("其他资金", other)):
        init = f if label != "上年结转资金" and rng.random() < 0.5 else (
            int(round(f * rng.uniform(0.7, 1.0))) if label != "上年结转资金" else 0)
        r = min(rate * float(rng.uniform(0.97, 1.03)), 1.0) if rate < 1 else 1.0
        parts.append((label, init, f, int(round(f * r))))
    total = ("年度资金总额", sum(p[1] for p in parts), full, sum(p[3] for p in parts))
    rows = [total, *parts]
    if department:
        _, init_t, full_t, exec_t = total
        b_full = int(round(full_t * rng.uniform(0.3, 0.7)))
        b_init = int(round(init_t * b_full / full_t))
        b_exec = min(b_full, int(round(exec_t * b_full / full_t)))
        p_exec = exec_t - b_exec
        if p_exec > full_t - b_full:
            b_exec += p_exec - (full_t - b_full)
            p_exec = full_t - b_full
        rows += [("按支出性质分：基本支出", b_init, b_full, b_exec),
                 ("项目支出", init_t - b_init, full_t - b_full, p_exec)]
    return [(label, 100 * i, 100 * f, 100 * e) for label, i, f, e in rows]


def _table(rng: np.random.Generator, form: str, money_unit: str, names: set[str]) -> Table:
    dept, items, units = _DEPARTMENTS[int(rng.integers(len(_DEPARTMENTS)))]
    item = items[int(rng.integers(len(items)))]
    if form == "department":
        project, unit = dept, f"{dept}（本级）"
    else:
        place = _PLACES[int(rng.integers(len(_PLACES)))]
        base = f"{YEAR}年{place}{item}项目"
        project, k = base, 0
        while project in names:
            project = (f"{base[:-2]}（{_ORDINALS[k]}期）项目" if k < len(_ORDINALS)
                       else f"{base}（第{k + 2}批）")
            k += 1
        names.add(project)
        unit = units[int(rng.integers(len(units)))]
    funds = _money(rng, department=form == "department")
    leaves = _leaves(rng, funds[0][2] / 10000)
    expected = (f"通过实施{item}，按期完成年度建设任务，资金使用规范，"
                "项目效益有效发挥，服务对象满意度不低于90%。")
    achieved = ("已按计划完成年度主要任务，资金拨付及时，项目效益逐步显现。"
                if not any(leaf.missed for leaf in leaves)
                else "年度主要任务基本完成，个别指标未达预期，已分析原因并制定整改措施。")
    table = Table(form, project, dept, unit, money_unit, funds, leaves, expected, achieved)
    if form == "department":
        pick = rng.choice(len(_TASKS), size=int(rng.integers(3, 5)), replace=False)
        share = rng.dirichlet(np.ones(len(pick)))
        _, _, full, executed = funds[0]
        budgets = [int(round(full / 100 * s)) * 100 for s in share]
        table.tasks = [(*_TASKS[int(j)], b, int(round(b * executed / full / 100)) * 100)
                       for j, b in zip(pick, budgets, strict=True)]
    rate = table.rate
    exec_rule = make_rule("execution_rate", target=1.0, points=EXECUTION_POINTS)
    table.exec_recomputed = float(round_half_up(float(exec_rule.earned(np.array([rate]))[0]),
                                                DECIMALS))
    table.exec_printed = table.exec_recomputed
    table.total_printed = table.sum_printed()
    return table


# --- planted errors -----------------------------------------------------------------------

def _pick(rng: np.random.Generator, leaves: list[Leaf], used: set[int], ok: Any) -> int | None:
    cands = [i for i, leaf in enumerate(leaves) if not leaf.placeholder and i not in used
             and ok(leaf)]
    return None if not cands else cands[int(rng.integers(len(cands)))]


def _numeric(leaf: Leaf) -> bool:
    return leaf.spec[1] in ("higher", "lower", "equal")


def _shown(points: float) -> float | int:
    """Points as a table prints them: whole points as integers."""
    return int(points) if float(points).is_integer() else points


def _plant(t: Table, kind: str, rng: np.random.Generator, used: set[int]) -> bool:
    """Plant one error of ``kind`` in ``t``; False if the table offers no place for it."""
    leaves = t.leaves
    ok = {"score_mismatch": lambda x: x.recomputed >= 2,
          "full_points_target_missed": _numeric,
          "points_not_total": lambda x: x.points >= 4}.get(kind, lambda x: True)
    if _pick(rng, leaves, used, ok) is None and kind not in (
            "execution_points_mismatch", "total_mismatch", "grade_changes"):
        return False
    if kind == "score_mismatch":
        i = _pick(rng, leaves, used, ok)
        leaves[i].printed = float(round_half_up(
            leaves[i].recomputed - float(rng.choice([0.5, 1.0, 1.5, 2.0])), DECIMALS))
        t.plants.append((f"score{i}", kind))
    elif kind == "score_above_points":
        i = _pick(rng, leaves, used, lambda x: True)
        leaves[i].printed = leaves[i].points + float(rng.choice([0.5, 1.0, 2.0]))
        t.plants.append((f"score{i}", kind))
    elif kind == "full_points_target_missed":
        i = _pick(rng, leaves, used, lambda x: _numeric(x) and x.missed)
        if i is None:
            i = _pick(rng, leaves, used, _numeric)
            _fill(leaves[i], rng, miss=True)
        leaves[i].printed = leaves[i].points
        t.plants.append((f"score{i}", kind))
    elif kind == "points_not_total":
        i = _pick(rng, leaves, used, lambda x: x.points >= 4)
        leaves[i].points -= float(rng.choice([1.0, 2.0]))
        _fill(leaves[i], rng, miss=leaves[i].missed)     # scored at the points as printed
        t.plants.append(("total_points", kind))
    elif kind in ("actual_blank", "actual_unreadable", "target_unmeasurable"):
        i = _pick(rng, leaves, used, lambda x: True)
        leaf = leaves[i]
        if kind == "actual_blank":
            leaf.actual = ""
            t.plants.append((f"actual{i}", kind))
        elif kind == "actual_unreadable":
            leaf.actual = _UNREADABLE[int(rng.integers(len(_UNREADABLE)))]
            t.plants.append((f"actual{i}", kind))
        else:
            leaf.target = leaf.actual = _UNMEASURABLE[int(rng.integers(len(_UNMEASURABLE)))]
            leaf.reason = ""
            t.plants.append((f"target{i}", kind))
        leaf.recomputed = leaf.printed                   # kept as assessed
    elif kind == "execution_points_mismatch":
        t.exec_printed = (EXECUTION_POINTS if t.exec_recomputed < EXECUTION_POINTS
                          else EXECUTION_POINTS - float(rng.choice([1.0, 2.0])))
        t.plants.append(("exec", kind))
        return True
    elif kind == "total_mismatch":
        t.total_offset = float(rng.choice([-2.0, -1.0, 1.0, 2.0]))
        t.plants.append(("total", kind))
        return True
    elif kind == "grade_changes":
        return _plant_grade_change(t, rng, used)
    else:  # pragma: no cover - PLANT_KINDS lists the kinds above
        raise ValueError(kind)
    used.add(i)
    return True


def _plant_grade_change(t: Table, rng: np.random.Generator, used: set[int]) -> bool:
    """Printed scores moved (each a score_mismatch) so that the printed total crosses a grade
    line: down below the line under the total, or up to 60 from a 差."""
    total = t.total_recomputed
    lines = [c for c in _GRADING.cutoffs if c <= total]
    up = not lines
    goal = (60.0 + 0.5) if up else lines[0] - float(rng.choice([0.5, 1.0, 2.0]))
    need = abs(goal - total)
    order = [int(i) for i in rng.permutation(len(t.leaves))]
    for i in order:
        leaf = t.leaves[i]
        if need <= 0 or leaf.placeholder or i in used:
            continue
        room = (leaf.points - leaf.printed - 0.5) if up else leaf.printed
        if room <= 0.5 or (up and not leaf.missed):
            continue
        move = min(room, need)
        leaf.printed = float(round_half_up(leaf.printed + (move if up else -move), DECIMALS))
        need -= move
        used.add(i)
        t.plants.append((f"score{i}", "score_mismatch"))
    return need <= 1e-9


def _finish(t: Table) -> None:
    """The printed total (unless planted) and the grade change it shows."""
    total = t.sum_printed()
    if total + t.total_offset > TOTAL_POINTS:
        t.total_offset = -abs(t.total_offset)
    t.total_printed = float(round_half_up(total + t.total_offset, DECIMALS))
    if _grade(t.total_printed) != _grade(t.total_recomputed) and not any(
            k == "grade_changes" for _, k in t.plants):
        t.plants.append(("total", "grade_changes"))


# --- writing a sheet ----------------------------------------------------------------------

@dataclass(frozen=True)
class _Layout:
    merged: bool = True
    reason: bool = True
    rate: str = "number"          # number (percent units), percent (a %-formatted share), text
    title_rows: bool = False


def _layout(variant: str) -> _Layout:
    return _Layout(merged=variant != "unmerged", reason=variant != "no_reason",
                   rate={"rate_text": "text", "rate_percent": "percent"}.get(variant, "number"),
                   title_rows=variant == "title_rows")


class _Styles:
    """The few cell styles of a bureau's table, built once per workbook: each combination is
    registered with the workbook once and copied to the cells that take it (setting fonts and
    borders cell by cell hashes every style again, most of the time spent writing)."""

    def __init__(self, ws: Any) -> None:
        from openpyxl.cell.cell import Cell
        from openpyxl.styles import Alignment, Border, Font, Side

        self._scratch = lambda: Cell(ws)
        self._cache: dict[tuple[Any, ...], Any] = {}

        thin = Side(style="thin", color="000000")
        self.border = Border(left=thin, right=thin, top=thin, bottom=thin)
        self.none = Border()
        self.font = Font(name="宋体", size=10)
        self.bold = Font(name="宋体", size=10, bold=True)
        self.title = Font(name="黑体", size=16, bold=True)
        self.center = Alignment(horizontal="center", vertical="center", wrap_text=True)
        self.left = Alignment(horizontal="left", vertical="center", wrap_text=True)
        self.plain = Alignment(horizontal="left", vertical="center")

    def apply(self, cell: Any, font: str = "font", align: str = "center", border: bool = True,
              fmt: str | None = None) -> None:
        """Give ``cell`` a style: ``font`` (font, bold, title), ``align`` (center, left,
        plain), a thin border or none, a number format."""
        key = (font, align, border, fmt)
        style = self._cache.get(key)
        if style is None:
            c = self._scratch()
            c.font = getattr(self, font)
            c.alignment = getattr(self, align)
            c.border = self.border if border else self.none
            if fmt:
                c.number_format = fmt
            style = self._cache[key] = c._style
        cell._style = copy.copy(style)


class _Writer:
    """Writes one table on a sheet from ``top`` (1-based row) and ``left`` (0-based column
    offset), recording the cell address of every place a planted error may sit."""

    def __init__(self, ws: Any, st: _Styles, layout: _Layout, left: int) -> None:
        from openpyxl.utils import get_column_letter
        from openpyxl.worksheet.merge import MergedCellRange

        self._merged = MergedCellRange
        self.ws, self.st, self.lay, self.left = ws, st, layout, left
        self.width = 9 if layout.reason else 8
        self.letters = [get_column_letter(left + 1 + k) for k in range(self.width)]
        self.cells: dict[str, str] = {}

    def addr(self, row: int, off: int) -> str:
        return f"{self.letters[off]}{row}"

    def put(self, row: int, off: int, value: Any, *, bold: bool = False, left: bool = False,
            fmt: str | None = None, border: bool = True) -> Any:
        c = self.ws.cell(row=row, column=self.left + 1 + off)
        self.st.apply(c, "bold" if bold else "font", "left" if left else "center", border, fmt)
        if value is not None and value != "":
            text_cell(c, value)            # text such as "=100%", never a formula
        return c

    def span(self, row: int, first: int, last: int, value: Any, *, rows: int = 1,
             bold: bool = False, left: bool = False, fmt: str | None = None) -> None:
        """A value over columns ``first``..``last`` (offsets) and ``rows`` rows: merged, or
        with merging off written in the first cell of every row (the others bordered)."""
        for r in range(row, row + rows):
            for off in range(first, last + 1):
                shown = value if off == first and (r == row or not self.lay.merged) else None
                c = self.put(r, off, shown, bold=bold, left=left, fmt=fmt)
                if shown is not None and not self.lay.merged and last > first:
                    # unmerged: the text runs on over the empty cells to its right
                    self.st.apply(c, "bold" if bold else "font", "plain", True, fmt)
        if self.lay.merged and (last > first or rows > 1):
            self.merge(f"{self.addr(row, first)}:{self.addr(row + rows - 1, last)}")

    def merge(self, ref: str) -> None:
        """Merge ``ref``, its cells keeping their own borders (openpyxl's ``merge_cells``
        re-borders every merged cell, slowly)."""
        self.ws.merged_cells.add(self._merged(self.ws, ref))

    def money(self, t: Table, yuan: int) -> float | int:
        return yuan if t.money_unit == "元" else round(yuan / 10000, 2)

    def rate_cell(self, row: int, off: int, rate: float) -> None:
        percent = float(round_half_up(rate * 100, DECIMALS))
        if self.lay.rate == "text":
            self.put(row, off, f"{percent:.2f}%")
        elif self.lay.rate == "percent":
            self.put(row, off, round(rate, 6), fmt="0.00%")
        else:
            self.put(row, off, percent, fmt="0.00")

    def table(self, t: Table, top: int) -> int:
        """Write ``t`` from row ``top``; the next free row."""
        end = self.width - 1
        r = top
        money_fmt = "#,##0.00"
        if self.lay.title_rows:
            self.put(r, 0, "附件2", left=True, border=False)
            r += 2
        title = TITLES[t.form][0]
        self.span(r, 0, end, title if self.lay.title_rows else f"{YEAR}年度{title}")
        self.st.apply(self.ws.cell(row=r, column=self.left + 1), "title",
                      "center" if self.lay.merged else "plain", border=False)
        for off in range(1, self.width):
            self.st.apply(self.ws.cell(row=r, column=self.left + 1 + off), border=False)
        self.ws.row_dimensions[r].height = 36
        r += 1
        if self.lay.title_rows:
            self.span(r, 0, end, f"（{YEAR}年度）")
            for off in range(self.width):
                self.st.apply(self.ws.cell(row=r, column=self.left + 1 + off), border=False)
            r += 1
            self.st.apply(self.ws.cell(row=r, column=self.left + 1,
                                       value=f"填报单位（盖章）：{t.unit}"),
                          align="plain", border=False)
            r += 1
        # header facts
        if t.form == "project":
            self.put(r, 0, "项目名称", bold=True)
            self.span(r, 1, end, t.project, left=True)
            r += 1
            self.put(r, 0, "主管部门", bold=True)
            self.span(r, 1, 3, t.department, left=True)
            self.put(r, 4, "实施单位", bold=True)
            self.span(r, 5, end, t.unit, left=True)
        else:
            self.put(r, 0, "部门名称", bold=True)
            self.span(r, 1, 3, t.department, left=True)
            self.put(r, 4, "预算单位", bold=True)
            self.span(r, 5, end, t.unit, left=True)
        r += 1
        # funds block
        label_to = 2 if self.lay.reason else 1     # row labels over one or two columns
        v0 = label_to + 1
        n = len(t.funds) + 1
        block = "项目资金" if t.form == "project" else "年度资金"
        self.span(r, 0, 0, f"{block}（{t.money_unit}）", rows=n, bold=True)
        self.span(r, 1, label_to, None)
        for k, head in enumerate(("年初预算数", "全年预算数", "全年执行数", "分值", "执行率",
                                  "得分")):
            self.put(r, v0 + k, head, bold=True)
        for j, (label, init, full, executed) in enumerate(t.funds):
            rr = r + 1 + j
            self.span(rr, 1, label_to, label, left=True)
            fmt = money_fmt
            for k, yuan in enumerate((init, full, executed)):
                self.put(rr, v0 + k, self.money(t, yuan), fmt=fmt)
            if j == 0:
                self.put(rr, v0 + 3, EXECUTION_POINTS, fmt="0")
                self.rate_cell(rr, v0 + 4, t.rate)
                self.put(rr, v0 + 5, t.exec_printed, fmt="0.00")
                self.cells["exec"] = self.addr(rr, v0 + 5)
            else:
                self.put(rr, v0 + 3, "—")
                if full > 0:
                    self.rate_cell(rr, v0 + 4, executed / full)
                else:
                    self.put(rr, v0 + 4, "—")
                self.put(rr, v0 + 5, "—")
        r += n
        # 年度总体目标
        mid = 4
        self.span(r, 0, 0, "年度总体目标", rows=2, bold=True)
        self.span(r, 1, mid, "预期目标", bold=True)
        self.span(r, mid + 1, end, "实际完成情况", bold=True)
        self.span(r + 1, 1, mid, t.goal_expected, left=True)
        self.span(r + 1, mid + 1, end, t.goal_actual, left=True)
        self.ws.row_dimensions[r + 1].height = 54
        r += 2
        if t.tasks:
            n = len(t.tasks) + 1
            self.span(r, 0, 0, "年度主要任务", rows=n, bold=True)
            self.span(r, 1, 2, "任务名称", bold=True)
            self.span(r, 3, 5, "主要内容", bold=True)
            self.put(r, 6, f"预算数（{t.money_unit}）", bold=True)
            self.put(r, 7, f"执行数（{t.money_unit}）", bold=True)
            self.put(r, 8, "完成情况", bold=True)
            self.ws.row_dimensions[r].height = 30
            for j, (name, content, budget, executed) in enumerate(t.tasks):
                rr = r + 1 + j
                self.span(rr, 1, 2, name, left=True)
                self.span(rr, 3, 5, content, left=True)
                fmt = money_fmt
                self.put(rr, 6, self.money(t, budget), fmt=fmt)
                self.put(rr, 7, self.money(t, executed), fmt=fmt)
                self.put(rr, 8, _task_status(budget, executed))
            r += n
        # indicator block
        heads = ("一级指标", "二级指标", "三级指标", "年度指标值", "实际完成值", "分值", "得分",
                 "偏差原因分析及改进措施")[: self.width - 1]
        n = len(t.leaves) + 1
        self.span(r, 0, 0, "绩效指标", rows=n, bold=True)
        for k, head in enumerate(heads):
            self.put(r, 1 + k, head, bold=True)
        self.ws.row_dimensions[r].height = 30
        first = r + 1
        for i, leaf in enumerate(t.leaves):
            rr = first + i
            for k, value in ((3, leaf.level3), (4, leaf.target), (5, leaf.actual)):
                self.put(rr, k, value, left=k == 3)
            if leaf.placeholder:
                self.put(rr, 6, "/" if leaf.level3 == "/" else None)
                self.put(rr, 7, "/" if leaf.level3 == "/" else None)
            else:
                self.put(rr, 6, _shown(leaf.points))
                self.put(rr, 7, leaf.printed, fmt="0.00")
            if self.lay.reason:
                self.put(rr, 8, leaf.reason, left=True)
            self.cells[f"target{i}"] = self.addr(rr, 4)
            self.cells[f"actual{i}"] = self.addr(rr, 5)
            self.cells[f"score{i}"] = self.addr(rr, 7)
            self.cells[f"points{i}"] = self.addr(rr, 6)
            self.ws.row_dimensions[rr].height = 36 if leaf.reason else 24
        for off, key in ((1, "level1"), (2, "level2")):
            start = 0
            while start < len(t.leaves):
                stop = start
                value = getattr(t.leaves[start], key)
                while stop + 1 < len(t.leaves) and getattr(t.leaves[stop + 1], key) == value:
                    stop += 1
                self.span(first + start, off, off, value, rows=stop - start + 1)
                start = stop + 1
        r = first + len(t.leaves)
        self.span(r, 0, 5, TOTAL_LABEL, bold=True)
        self.put(r, 6, TOTAL_POINTS, bold=True)
        self.put(r, 7, t.total_printed, bold=True, fmt="0.00")
        if self.lay.reason:
            self.put(r, 8, None)
        self.cells["total"] = self.addr(r, 7)
        self.cells["total_points"] = self.addr(r, 6)
        r += 1
        self.span(r, 0, end, NOTES, left=True)
        self.ws.row_dimensions[r].height = 66
        r += 1
        who = _PEOPLE[len(t.project) % len(_PEOPLE)]
        sign = (f"填表人：{who}　　联系电话：0851-8{len(t.unit) * 1234567 % 10**7:07d}　　"
                f"填报日期：{YEAR + 1}年3月15日　　单位负责人（签章）：")
        c = self.ws.cell(row=r, column=self.left + 1, value=sign)
        self.st.apply(c, align="plain", border=False)
        if self.lay.merged:
            self.merge(f"{self.addr(r, 0)}:{self.addr(r, end)}")
        self.ws.row_dimensions[r].height = 24
        return r + 1


_WIDTHS = (9, 10, 15, 22, 17, 15, 7, 8, 26)


def _sheet_setup(ws: Any, left: int, width: int, last_row: int) -> None:
    from openpyxl.utils import get_column_letter

    widths = _WIDTHS if width == 9 else _WIDTHS[:8]
    for k, w in enumerate(widths):
        ws.column_dimensions[get_column_letter(left + 1 + k)].width = w
    ws.print_area = (f"{get_column_letter(left + 1)}1:"
                     f"{get_column_letter(left + width)}{last_row}")
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "portrait"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.5
    ws.sheet_view.showGridLines = False


# --- workbooks ----------------------------------------------------------------------------

@dataclass
class Workbook:
    """One generated workbook: its file name, variant and tables by sheet."""

    file: str
    variant: str
    sheets: list[tuple[str, list[Table]]]


def _plan(i: int, variant: str, seed: int, names: set[str]) -> Workbook:
    rng = np.random.default_rng(np.random.SeedSequence([seed, i, 0]))
    form = "department" if variant == "department" else "project"
    unit = "元" if variant == "yuan" else "万元"
    file = f"selfeval_{i + 1:04d}_{variant}.xlsx"
    if variant == "two_tables":
        sheets = [("自评表", [_table(rng, form, unit, names), _table(rng, form, unit, names)])]
    elif variant == "sheets":
        k = int(rng.integers(2, 4))
        sheets = [("填表说明", [])] + [(f"自评表{j + 1}", [_table(rng, form, unit, names)])
                                       for j in range(k)]
    else:
        name = "Sheet1" if rng.random() < 0.3 else TITLES[form][0]
        sheets = [(name, [_table(rng, form, unit, names)])]
    return Workbook(file, variant, sheets)


class _FixedZip(zipfile.ZipFile):
    """A zip whose entries all carry one fixed date, so equal content gives equal bytes."""

    _DATE = (2024, 1, 1, 0, 0, 0)

    def writestr(self, zinfo_or_arcname: Any, data: Any, compress_type: Any = None,
                 compresslevel: Any = None) -> None:
        if not isinstance(zinfo_or_arcname, zipfile.ZipInfo):
            zinfo_or_arcname = zipfile.ZipInfo(str(zinfo_or_arcname), date_time=self._DATE)
            zinfo_or_arcname.compress_type = self.compression
            zinfo_or_arcname.external_attr = 0o600 << 16
        super().writestr(zinfo_or_arcname, data, compress_type, compresslevel)

    def write(self, filename: Any, arcname: Any = None, compress_type: Any = None,
              compresslevel: Any = None) -> None:
        with open(filename, "rb") as fh:
            self.writestr(arcname or Path(filename).name, fh.read())


_INSTRUCTIONS = ("填表说明",
                 "1. 本工作簿每个工作表填报一个项目的《项目支出绩效自评表》。",
                 "2. 资金单位为万元，保留两位小数。",
                 "3. 定性指标按“达成、部分达成、未达成”三档评分。",
                 "4. 请于次年3月底前报送财政部门。")


def render(book: Workbook) -> tuple[bytes, list[tuple[str, str, str, str]]]:
    """The workbook's bytes (.xlsx) and its planted errors (file, sheet, cell, kind)."""
    from openpyxl import Workbook as OpenpyxlWorkbook
    from openpyxl.writer.excel import ExcelWriter

    wb = OpenpyxlWorkbook()
    wb.remove(wb.active)
    layout = _layout(book.variant)
    planted: list[tuple[str, str, str, str]] = []
    st: _Styles | None = None
    shift = sum(map(ord, book.file)) % 2 + 1        # shifted: one or two columns and rows
    for name, tables in book.sheets:
        ws = wb.create_sheet(name)
        st = _Styles(ws) if st is None else st
        if not tables:
            for k, line in enumerate(_INSTRUCTIONS):
                ws.cell(row=k + 1, column=1, value=line)
            ws.column_dimensions["A"].width = 70
            continue
        left = shift if book.variant == "shifted" else 0
        row = 1 + (shift if book.variant == "shifted" else 0)
        writer = None
        for t in tables:
            writer = _Writer(ws, st, layout, left)
            last = writer.table(t, row)
            planted += [(book.file, name, writer.cells[key], kind) for key, kind in t.plants]
            row = last + 3
        _sheet_setup(ws, left, writer.width, last - 1)
    stamp = dt.datetime(YEAR + 1, 3, 15, 9, 0, 0)
    wb.properties.created = wb.properties.modified = stamp
    wb.properties.creator = wb.properties.lastModifiedBy = "perfsim"
    buf = io.BytesIO()
    with _FixedZip(buf, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        ExcelWriter(wb, archive).save()
    return buf.getvalue(), planted


def plan(projects: int, *, seed: int = 0, errors: float = 0.0,
         variants: Sequence[str] = VARIANTS) -> list[Workbook]:
    """The content of ``projects`` workbooks (no file written): variants in turn, errors
    planted in a share ``errors`` in [0, 1] of the tables, the kinds in turn."""
    if isinstance(projects, bool) or not isinstance(projects, int) or not (
            1 <= projects <= MAX_PROJECTS):
        raise InputError(field="--projects", value=projects,
                         problem=f"must be a whole number from 1 to {MAX_PROJECTS:,}")
    if isinstance(errors, bool) or not isinstance(errors, int | float) or not 0 <= errors <= 1:
        raise InputError(field="--errors", value=errors, problem="must be a share in [0, 1]")
    variants = tuple(variants)
    if not variants:
        raise InputError(field="--variants", problem="name at least one variant")
    for v in variants:
        if v not in VARIANTS:
            raise InputError(field="--variants", value=v,
                             problem=f"unknown variant (known: {', '.join(VARIANTS)})")
    names: set[str] = set()
    books = [_plan(i, variants[i % len(variants)], seed, names) for i in range(projects)]
    tables = [(b, t) for b in books for _, ts in b.sheets for t in ts]
    n_bad = int(round_half_up(errors * len(tables), 0))
    pick = np.random.default_rng(np.random.SeedSequence([seed, 1 << 30])).permutation(
        len(tables))[:n_bad]
    for m, j in enumerate(sorted(int(x) for x in pick)):
        _, t = tables[j]
        rng = np.random.default_rng(np.random.SeedSequence([seed, j, 1]))
        kinds = [PLANT_KINDS[m % len(PLANT_KINDS)]]
        if rng.random() < 0.25:
            kinds.append(PLANT_KINDS[(m + 3) % len(PLANT_KINDS)])
        used: set[int] = set()
        for kind in kinds:
            _plant(t, kind, rng, used)
    for _, t in tables:
        _finish(t)
    return books


def truth_rows(book: Workbook) -> list[dict[str, Any]]:
    """truth.csv's rows of one workbook (money in yuan, totals in points)."""
    rows = []
    for sheet, tables in book.sheets:
        for t in tables:
            _, init, full, executed = t.funds[0]
            rows.append(dict(
                file=book.file, sheet=sheet, form=t.form, project=t.project,
                department=t.department, unit=t.unit, budget_initial=f"{init:.2f}",
                budget_full=f"{full:.2f}", executed=f"{executed:.2f}",
                execution_rate=f"{t.rate:.6f}", printed_total=f"{t.total_printed:.2f}",
                recomputed_total=f"{t.total_recomputed:.2f}",
                printed_grade=_grade(t.total_printed),
                recomputed_grade=_grade(t.total_recomputed), **_spending(t)))
    return rows


def _spending(t: Table) -> dict[str, str]:
    """A table's 基本支出/项目支出 full-year budget and executed (yuan), blank when it has no
    such line (a project table)."""
    lines = {label: (full, executed) for label, _, full, executed in t.funds}
    out = {}
    for line, cols in SPENDING_COLUMNS.items():
        full, executed = lines.get(_SPENDING_LABELS[line], (None, None))
        for col, value in (("budget_full", full), ("executed", executed)):
            out[cols[col]] = "" if value is None else f"{value:.2f}"
    return out


def truth_task_rows(book: Workbook) -> list[dict[str, Any]]:
    """truth_tasks.csv's rows of one workbook: each department table's 年度主要任务 lines
    (amounts in yuan, the 完成情况 as written)."""
    return [dict(file=book.file, sheet=sheet, department=t.department, task=name,
                 content=content, budget=f"{budget:.2f}", executed=f"{executed:.2f}",
                 status=_task_status(budget, executed))
            for sheet, tables in book.sheets for t in tables
            for name, content, budget, executed in t.tasks]


def _task_status(budget: int, executed: int) -> str:
    return "已完成" if executed >= budget else "基本完成"


@dataclass(frozen=True)
class Written:
    """What :func:`write_selfeval` wrote: the folder, and counts of workbooks, tables and
    planted errors."""

    out: Path
    workbooks: int
    tables: int
    planted: int


def write_selfeval(out: str | Path, projects: int, *, seed: int = 0, errors: float = 0.0,
                   variants: Sequence[str] = VARIANTS) -> Written:
    """Write ``projects`` self-evaluation workbooks, ``truth.csv``, ``truth_tasks.csv`` and
    ``planted.csv`` into a
    new folder ``out`` (perfsim's own: replaced only if perfsim made it). ``errors`` is the
    share of tables in [0, 1] that carry planted errors; ``variants`` the layouts taken in
    turn (:data:`VARIANTS`)."""
    books = plan(projects, seed=seed, errors=errors, variants=variants)
    truth: list[dict[str, Any]] = []
    tasks: list[dict[str, Any]] = []
    planted: list[tuple[str, str, str, str]] = []
    with atomic_directory(out, kind="selfeval") as tmp:
        for book in books:
            data, marks = render(book)
            (tmp / book.file).write_bytes(data)
            truth += truth_rows(book)
            tasks += truth_task_rows(book)
            planted += marks
        with open(tmp / "truth.csv", "w", encoding="utf-8-sig", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=TRUTH_COLUMNS)
            w.writeheader()
            w.writerows({k: formula_safe(v) for k, v in row.items()} for row in truth)
        with open(tmp / "truth_tasks.csv", "w", encoding="utf-8-sig", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=TRUTH_TASK_COLUMNS)
            w.writeheader()
            w.writerows({k: formula_safe(v) for k, v in row.items()} for row in tasks)
        with open(tmp / "planted.csv", "w", encoding="utf-8-sig", newline="") as fh:
            w2 = csv.writer(fh)
            w2.writerow(PLANTED_COLUMNS)
            w2.writerows([formula_safe(v) for v in row] for row in planted)
    return Written(Path(out), len(books), len(truth), len(planted))
