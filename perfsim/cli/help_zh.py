"""The command line's help in Chinese first, English alongside — in one place.

Each command module writes its parser's help in English; :func:`apply` walks the finished
parser (:func:`perfsim.cli.build_parser`) and puts the Chinese of this module's tables before
each command's help and description and each option's help, so a command or option added in its
own module needs one line here, nowhere else. Option help is looked up by command and option
(``("run", "--out")``), then by option alone (``--seed``: the same on every command). argparse's
own words (``usage:``, ``options``, ``show this help message and exit``) are put in Chinese too,
and a description is printed as written (argparse does not ``%``-format descriptions, so a
``%%`` in one would print doubled: it is shown as ``%``).
"""

from __future__ import annotations

import argparse
from typing import Any

#: Each command's one-line help (``perfsim --help``) and the Chinese put before its
#: description, by the command's path (``notebooks run``).
COMMANDS: dict[str, str] = {
    "run": "评分、评级并按挂钩规则分配一个情景的预算；写出分配结果",
    "bench": "测量运行速度（不在测试套件中运行）",
    "calibrate": "求解达到目标结果的设计参数",
    "sensitivity": "结果对设计参数的全局敏感性分析（SALib）",
    "report": "面向使用者的报告：每个部门一页",
    "optimise-checks": "搜索抽查方案：使如实自评更合算的最省方案（帕累托前沿）",
    "validate": "检查情景、指标体系或项目表文件",
    "estimate": "观测数据说明什么：等级、虚报或预算变动",
    "bunching": "每条分档线上方堆积的得分及其检测限",
    "template": "按指标体系生成待填写的项目表工作簿",
    "weights": "某一赋权方法下指标体系的权重",
    "diagnose": "指标体系在项目表上的冗余诊断",
    "robust": "其他可接受权重下的排序：最有利权重（BoD）、SMAA 或逐一剔除指标（leave one out）",
    "notebooks": "用 papermill 运行参数化笔记本",
    "notebooks run": "运行笔记本（默认全部，按编号顺序）",
    "notebooks list": "列出笔记本及其参数",
    "notebooks index": "重新生成 reports/index.html",
    "sweep": "在参数网格上并行运行一个笔记本",
    "import": "导入自评表并复核",
    "app": "在浏览器中打开无需编程的模拟页面（Voilà）",
    "docs": "离线生成文档网站（Sphinx）：中文在前、英文并列，指标与参数登记表、命令参考和"
            "笔记本均由 perfsim 自身生成",
}

#: Option help by command and option (the option's longest name, or a positional's name).
COMMAND_OPTIONS: dict[tuple[str, str], str] = {
    ("run", "scenario"): "情景 YAML 文件",
    ("run", "--out"): "输出目录（默认 reports/runs/<情景名>）",
    ("run", "--xlsx"): "同时写出供财务人员使用的 allocation.xlsx（项目、部门台账、等级汇总；"
                       "金额以元为单位，格式 #,##0.00）",
    ("run", "--advanced-share"): "同时写出 departments.csv：部门整体得分（项目得分按预算"
                                 "加权平均）、排名及按比例评出的先进单位（如 0.2，温州的前 "
                                 "20%）；仅单年运行",
    ("run", "--one-year"): "只运行观测年度（allocations.csv、--xlsx），情景含 simulation: "
                           "部分时也如此",
    ("run", "--years"): "模拟年数",
    ("run", "--replications"): "重复次数",
    ("run", "--chunk"): "每批最多重复次数（限制内存；项目多时自动减少；结果与之无关）",
    ("run", "--engine"): "计算引擎：auto（默认）、numpy、processes 或 dask",
    ("run", "--workers"): "工作进程数",
    ("run", "--scheduler"): "已运行的 Dask 调度器地址",
    ("run", "--no-noise"): "关闭所有随机因素：第一年与单年测算分毫不差",
    ("bench", "--quick"): "重复次数减为十分之一",
    ("bench", "--scaling"): "同时测量不同项目数与重复次数下的全流程用时（需数分钟）",
    ("bench", "--engines"): "全流程运行所用的引擎，逗号分隔（numpy、processes、dask）",
    ("bench", "--notebooks"): "测量笔记本套件及参数扫描的用时",
    ("bench", "--app"): "只测量模拟页面上一次修改的用时",
    ("bench", "--imported"): "只测量导入自评表及其后全流程的用时",
    ("bench", "--sensitivity"): "只测量 Sobol 分析的用时（重复 --repeats 次，取中位数）",
    ("bench", "--repeats"): "每组交替 A/B 对比的轮数（默认 5；与 --recheck 同用时"
                            "取 JSON 记录的轮数）；比值取中位数并给出 [最小, 最大]",
    ("bench", "--table"): "根据先前 perfsim bench --json 的 JSON 输出文档中的性能表（markdown），"
                          "不做计时",
    ("bench", "--out"): "把 JSON 写入该文件而不打印（整体写完再改名替换；已有文件须是 "
                        "perfsim bench 写的才替换）：perfsim bench --json --out "
                        "docs/reference/bench.json 更新文档的性能表",
    ("bench", "--recheck"): "按先前 perfsim bench --json 记录的规模和轮数重新交替测量其中"
                            "各比值，逐项打印记录值与重测值；全部相差在 10% 以内退出码为 0，"
                            "否则为 1",
    ("calibrate", "scenario"): "情景 YAML 文件",
    ("calibrate", "--solve"): "求解的参数路径，如 linkage.ratio、grading.cutoffs",
    ("calibrate", "--target"): "目标，如 cut_total=128000000（可重复）",
    ("calibrate", "--bounds"): "搜索范围（默认：参数的有效范围）",
    ("calibrate", "--replications"): "蒙特卡洛重复次数（选择随机模拟方式）",
    ("calibrate", "--year"): "蒙特卡洛：以第几个模拟年度的结果为目标",
    ("sensitivity", "scenario"): "情景 YAML 文件",
    ("sensitivity", "--params"): "参数清单 YAML：{name: 路径, bounds: [下限, 上限]}",
    ("sensitivity", "--method"): "方法：sobol（默认）或 morris",
    ("sensitivity", "--n"): "Sobol：基础样本数（2 的幂）；Morris：轨迹数",
    ("sensitivity", "--metrics"): "结果指标，逗号分隔",
    ("sensitivity", "--replications"): "每个样本的共同随机数重复次数（默认 1）",
    ("sensitivity", "--plot"): "每个指标一张条形图（PNG），写入该目录",
    ("sensitivity", "--workers"): "计算样本的进程数（默认：工作量大时用全部核，否则 1）；"
                                  "进程数不改变结果",
    ("sensitivity", "--no-noise"): "关闭抽样参数以外的所有随机因素（指标离散、自评、复核与"
                                   "执行噪声、虚报离散）：按文件取值的样本即等于单年测算"
                                   "（perfsim run）",
    ("optimise-checks", "--response"): "被评单位如何应对每种方案：fixed（无论方案如何，虚报"
                                       "取情景的 inflation_mean）或 best（各单位针对方案选择"
                                       "虚报程度："
                                       "simulation.self_evaluation.strategy best_response）；"
                                       "情景的 strategy 为 best_response 时默认 best，否则 fixed",
    ("docs", "action"): "要做的事：build 生成文档网站",
    ("docs", "--strict"): "把每条 Sphinx 警告当作错误（测试即如此）",
    ("report", "kind"): "报告类型",
    ("report", "scenario"): "情景 YAML 文件",
    ("report", "--departments"): "报告的部门（默认：减少最多的 --top 个）",
    ("report", "--top"): "未给 --departments 时，报告减少最多的部门个数（默认 20）",
    ("report", "--out"): "输出目录（默认 reports/runs/<情景>-departments）",
    ("report", "--set"): "先按 YAML 路径设定参数（可重复）",
    ("optimise-checks", "scenario"): "情景 YAML 文件（其单位须有虚报：simulation.self_evaluation."
                                     "inflation_mean）",
    ("optimise-checks", "--budget"): "可用于复核的人天",
    ("optimise-checks", "--days-per-check"): "每次复核的人天",
    ("optimise-checks", "--yuan-per-check"): "每次复核的费用（元）",
    ("optimise-checks", "--shares"): "搜索的抽查比例个数",
    ("optimise-checks", "--penalties"): "发现虚报时的处罚分数",
    ("optimise-checks", "--replications"): "每个方案的重复次数（默认 64）",
    ("optimise-checks", "--out"): "输出目录（默认 reports/runs/<情景>-checks）",
    ("optimise-checks", "--set"): "先按 YAML 路径设定参数（可重复）",
    ("validate", "files"): "要检查的文件",
    ("validate", "--system"): "检查含指标测量值的项目表时所依据的指标体系",
    ("estimate", "model"): "模型：grades、inflation 或 budget-change",
    ("estimate", "data"): "CSV 文件",
    ("estimate", "--scores"): "grades：得分列，逗号分隔",
    ("bunching", "data"): "CSV 文件，每行一个得分",
    ("bunching", "--column"): "得分列（默认 score）",
    ("bunching", "--department"): "部门列（可选）",
    ("bunching", "--cutoffs"): "分档线（默认 90,80,60）",
    ("bunching", "--placebo"): "不影响资金的安慰剂分档线",
    ("bunching", "--scenario"): "给出分档和挂钩规则（从而给出安慰剂分档线）的情景",
    ("bunching", "--below"): "分档线下方的窗口（分），或 auto",
    ("bunching", "--above"): "分档线上方的窗口（分）",
    ("bunching", "--width"): "分组宽度（分）",
    ("bunching", "--degree"): "多项式次数",
    ("bunching", "--draws"): "自助法抽样次数",
    ("bunching", "--seed"): "自助法随机种子",
    ("bunching", "--fdr"): "部门标记的错误发现率",
    ("template", "kind"): "类型：portfolio（待填写的项目表）、scores（情景的项目得分表）或 "
                          "selfeval（财政部格式的合成自评表）",
    ("template", "--scenario"): "scores：写出其项目表的情景",
    ("template", "--system"): "指标体系（YAML 或 Excel；默认：全国项目支出自评模板）",
    ("template", "--out"): "新的 .xlsx 文件",
    ("template", "--projects"): "selfeval：工作簿个数",
    ("template", "--seed"): "selfeval：随机种子（默认 0）",
    ("template", "--errors"): "selfeval：植入错误的表格比例",
    ("template", "--variants"): "selfeval：轮流使用的版式",
    ("weights", "--method"): "赋权方法：expert、equal、ahp、entropy、critic、pca、optimised 或 "
                             "combined",
    ("weights", "--level"): "赋权的层级（默认：一级指标）",
    ("weights", "--system"): "指标体系（默认：全国项目支出自评模板）",
    ("weights", "--scenario"): "从情景取指标体系和项目表",
    ("weights", "--portfolio"): "含指标测量值的项目表（客观赋权方法用）",
    ("weights", "--matrix"): "层次分析法两两比较矩阵（可重复：专家组）",
    ("weights", "--ri-table"): "层次分析法随机一致性指标表",
    ("weights", "--panel"): "层次分析法专家组：合并判断（默认）或合并权重",
    ("weights", "--alpha"): "combined：主观权重所占比例，[0, 1]",
    ("weights", "--objective"): "combined：客观方法",
    ("weights", "--subjective"): "combined：主观方法",
    ("weights", "--combine"): "combined：相加（默认）或相乘",
    ("weights", "--treatment"): "客观方法：先处理数据（缩尾、取对数等）",
    ("weights", "--target"): "optimised：各指标应有的重要性，按编码给出的相对数（≥ 0）或按文件顺序"
                             "每个指标一个数（默认：同等重要）",
    ("weights", "--format"): "输出格式：table（默认）或 csv",
    ("diagnose", "files"): "指标体系和项目表，或一个情景，或导入结果目录",
    ("diagnose", "--data"): "数据：得分率（默认）或原始测量值",
    ("diagnose", "--method"): "相关系数的计算方法",
    ("diagnose", "--redundant"): "相关系数绝对值高于此值的指标对标记为冗余",
    ("diagnose", "--contrary"): "相关系数低于此值的指标对标记为相反",
    ("diagnose", "--out"): "同时把诊断表写入该目录",
    ("robust", "method"): "方法：bod（最有利权重）、smaa 或 loo（逐一剔除指标）",
    ("robust", "files"): "情景，或指标体系和项目表",
    ("robust", "--bounds"): "含 bounds: 部分的 YAML 文件（各指标权重份额的上下限）",
    ("robust", "--draws"): "smaa：权重抽样次数",
    ("robust", "--top"): "列出的项目数",
    ("robust", "--seed"): "smaa：抽样随机种子",
    ("robust", "--out"): "同时把表格（CSV）写入该目录",
    ("robust", "--variant"): "bod 的变体：own_shares（各项目自身得分构成份额受 --bounds 约束）、"
                             "undesirable（方向距离 BoD，逆向指标）或 order_m（稳健的 m 阶 BoD）",
    ("robust", "--m"): "bod --variant order_m：每次抽取的同类项目数（默认 20）",
    ("robust", "--undesirable"): "bod --variant undesirable：逆向（越低越好）指标代码，逗号分隔"
                                 "（默认 auto：原始值越高得分越低的指标）",
    ("robust", "--noise"): "smaa：各达成值的相对扰动幅度，[0, 1] 之间的份额（默认 0）",
    ("robust", "--exclude"): "smaa：每次抽样剔除一个指标的概率（其权重分给其余指标；默认 0）",
    ("robust", "--meta-weights"): "smaa：整体可接受度的名次元权重：centroid、linear 或 inverse",
    ("robust", "--rescale"): "loo：剔除指标的分值如何分配：system（全体系按比例）或 group"
                             "（同组内）",
    ("notebooks run", "names"): "笔记本编号或名称，如 04",
    ("notebooks run", "--parameter"): "设定一个参数（按其默认值的类型转换；可重复）",
    ("notebooks run", "--params"): "参数文件（YAML 或 JSON；-p 优先）",
    ("notebooks run", "--out"): "报告目录（默认 reports）",
    ("notebooks run", "--run-id"): "运行编号",
    ("notebooks run", "--no-code"): "HTML 报告中隐藏代码",
    ("notebooks run", "--code"): "HTML 报告中显示代码",
    ("notebooks index", "--out"): "报告目录（默认 reports）",
    ("sweep", "grid"): "参数网格 YAML 文件",
    ("sweep", "--workers"): "并行运行数",
    ("sweep", "--engine"): "并行方式：processes（默认）或 dask",
    ("sweep", "--out"): "报告目录（默认 reports）",
    ("import", "paths"): "工作簿、文件夹或 .zip 压缩包",
    ("import", "--out"): "输出目录（新目录或 perfsim 写过的目录）",
    ("import", "--strict"): "遇到第一个无法导入的文件即停止（退出码 2）",
    ("import", "--levels"): "定性等级及其系数（YAML）",
    ("app", "portfolio"): "打开时使用的项目表（.xlsx/.csv）或情景（.yaml）",
    ("app", "--port"): "127.0.0.1 上的端口",
    ("app", "--no-browser"): "不自动打开浏览器",
    ("app", "--max-upload-mb"): "最大上传量（MiB）",
    ("app", "--max-rows"): "上传项目表的最多行数",
    ("app", "--max-expanded-mb"): "工作簿或 .zip 解压后的最大体积（MiB）",
    ("app", "--idle-timeout"): "页面关闭（或空闲）多久后停止其内核（秒）",
}

#: Option help the same on every command that has the option.
OPTIONS: dict[str, str] = {
    "--help": "显示本帮助并退出",
    "--version": "显示版本号并退出",
    "--seed": "覆盖情景文件中的随机种子",
    "--json": "以 JSON 输出",
    "--set": "按 YAML 路径设定参数（可重复）",
    "--out": "输出目录",
    "--timeout": "每个单元格的最长执行时间（秒）",
}

#: argparse's own words.
ARGPARSE_TITLES: dict[str, str] = {
    "options": "选项 options",
    "optional arguments": "选项 options",
    "positional arguments": "位置参数 positional arguments",
    "commands": "命令 commands",
}
USAGE = "用法 usage: "
#: The Chinese before ``perfsim --help``'s description.
TOP = "预算绩效管理的模拟与校准"


class Formatter(argparse.HelpFormatter):
    """argparse's help layout with ``用法 usage:``."""

    def add_usage(self, usage: Any, actions: Any, groups: Any, prefix: str | None = None
                  ) -> None:
        super().add_usage(usage, actions, groups, USAGE if prefix is None else prefix)


def _both(zh: str | None, en: str | None, sep: str = " — ") -> str | None:
    if not zh:
        return en
    if not en:
        return zh
    return f"{zh}{sep}{en}"


def _name(action: argparse.Action) -> str:
    if action.option_strings:
        return max(action.option_strings, key=len)
    return str(action.dest)


def apply(parser: argparse.ArgumentParser, path: str = "") -> argparse.ArgumentParser:
    """Put the Chinese of this module's tables before the English of ``parser``'s help, its
    subcommands' and their options', and argparse's own words in Chinese; returns ``parser``."""
    parser.formatter_class = Formatter
    if parser.description:
        parser.description = parser.description.replace("%%", "%")
    parser.description = _both(COMMANDS.get(path) if path else TOP, parser.description, "。")
    for group in parser._action_groups:
        group.title = ARGPARSE_TITLES.get(group.title or "", group.title)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                sub = f"{path} {choice.dest}".strip()
                choice.help = _both(COMMANDS.get(sub), choice.help)
            for name, sub_parser in action.choices.items():
                apply(sub_parser, f"{path} {name}".strip())
            continue
        zh = COMMAND_OPTIONS.get((path, _name(action))) or OPTIONS.get(_name(action))
        if zh and action.help is not argparse.SUPPRESS:
            english = action.help
            if _name(action) == "--help":
                english = "show this help message and exit"
            elif _name(action) == "--version":
                english = "show the version and exit"
            action.help = _both(zh.replace("%", "%%"), english)
    return parser


def missing(parser: argparse.ArgumentParser, path: str = "") -> list[str]:
    """The commands and options of ``parser`` that this module has no Chinese for."""
    out: list[str] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub_parser in action.choices.items():
                sub = f"{path} {name}".strip()
                if sub not in COMMANDS:
                    out.append(sub)
                out += missing(sub_parser, sub)
        elif action.help is not argparse.SUPPRESS and not (
                COMMAND_OPTIONS.get((path, _name(action))) or OPTIONS.get(_name(action))):
            out.append(f"{path or 'perfsim'} {_name(action)}")
    return out
