"""The words of perfsim's one-line errors in Chinese and English.

An :class:`perfsim.errors.InputError` keeps its parts (file, where, field, value, problem); this
module renders them Chinese first with English alongside::

    portfolio.csv: 第 7 行 row 7: 字段 field 'budget' = -5: 必须 ≥ 0 / must be >= 0

The frame (行 row, 字段 field, 值 value, 单元格 cell, 指标 indicator, ...) is always bilingual.
A problem is translated through :data:`PROBLEMS`, one table of English patterns, the commonest
first; a pattern matches the start of a problem text up to a natural break (the end, `` (``,
``;``, ``:`` or ``,``), and whatever follows the break stays in the English half only. A problem
no pattern knows still prints, in English, inside its bilingual frame.
"""

from __future__ import annotations

import re

#: (English pattern, Chinese text with the pattern's named groups in braces), commonest first.
PROBLEMS: tuple[tuple[str, str], ...] = (
    (r"must be one of (?P<x>.+)", "必须是以下之一: {x}"),
    (r"must be a finite number", "必须是有限的数"),
    (r"choose one of (?P<x>.+)", "请从以下选择: {x}"),
    (r"must be a whole number of years >= 1", "必须是 ≥ 1 的整数年数（含本年）"),
    (r"must be a whole number >= (?P<x>\S+)", "必须是 ≥ {x} 的整数"),
    (r"file not found", "找不到文件"),
    (r"must be a share in (?P<x>[\[(]\S+, \S+[\])])", "必须是 {x} 内的比例"),
    (r"unknown key", "未知的键"),
    (r"must be a mapping", "必须是映射（键: 值）"),
    (r"must be >= (?P<x>\S+)", "必须 ≥ {x}"),
    (r"must be > (?P<x>\S+)", "必须 > {x}"),
    (r"must be <= (?P<x>\S+)", "必须 ≤ {x}"),
    (r"must be a number >= (?P<x>\S+)", "必须是 ≥ {x} 的数"),
    (r"must be a number > (?P<x>\S+)", "必须是 > {x} 的数"),
    (r"must be a number", "必须是数字"),
    (r"must be finite", "必须是有限值"),
    (r"must be non-zero", "不能为 0"),
    (r"must be true or false", "必须是 true 或 false"),
    (r"must be yes/no", "必须是 是/否"),
    (r"must be a non-empty list", "必须是非空列表"),
    (r"must lie in \[(?P<a>[^,\]]+), (?P<b>[^\]]+)\] points", "必须在 [{a}, {b}] 分之间"),
    (r"must lie in \[(?P<a>[^,\]]+), (?P<b>[^\]]+)\]", "必须在 [{a}, {b}] 之间"),
    (r"no such department in the portfolio", "项目表中没有这个部门"),
    (r"required column missing", "缺少必需的列"),
    (r"required", "必填"),
    (r"listed twice", "重复列出"),
    (r"column appears twice", "列名重复"),
    (r"duplicate id \(first at row (?P<r>\d+)\)", "编号重复（首次出现在第 {r} 行）"),
    (r"duplicate code", "编码重复"),
    (r"above its upper bound (?P<x>\S+)", "高于上限 {x}"),
    (r"must be in \[0, 1\] \(the share of the subjective weights\)",
     "必须在 [0, 1] 之间（主观权重的比例）"),
    (r"must be 2-D: \((?P<r>\w+), (?P<c>\w+)\)", "必须是二维表: ({r}, {c})"),
    (r"must be 1-D: one weight per indicator", "必须是一维: 每个指标一个权重"),
    (r"give bounds for the (?P<n>\S+) indicators", "请给出 {n} 个指标的上下限"),
    (r"must be a pandas DataFrame", "必须是 pandas DataFrame"),
    (r"is set by the runner", "由运行程序设定"),
    (r"(?P<p>\S+) is one number: give one target", "{p} 是一个数: 请给出一个目标"),
    (r"give at least one variant", "请至少给出一个方案"),
    (r"each entry is \{name: PATH, bounds: \[LOW, HIGH\]\}",
     "每项须为 {{name: PATH, bounds: [LOW, HIGH]}}"),
    (r"not usable as a folder name", "不能用作文件夹名"),
    (r"not written by perfsim, so perfsim will not replace it",
     "不是 perfsim 写的，perfsim 不会替换它"),
    (r"not a perfsim reports folder", "不是 perfsim 的报告文件夹"),
    (r"is not a directory", "不是文件夹"),
    (r"cannot be replaced", "不能替换"),
    (r"must be \[low, high\]", "必须是 [下限, 上限]"),
    (r"must be a number in the valid range \[(?P<a>[^,\]]+), (?P<b>[^\]]+)\]",
     "必须是有效范围 [{a}, {b}] 内的数"),
    (r"unknown choice", "未知的选项"),
    (r"unknown simulation setting", "未知的模拟设置"),
    (r"unknown indicator-system format", "未知的指标体系格式（请用 .yaml 或 .xlsx）"),
    (r"cannot read workbook", "无法读取工作簿"),
    (r"no such group", "没有这个组"),
    (r"no measurements given", "没有给出测量值"),
    (r"leaf points add up to (?P<a>\S+), not (?P<b>\S+)", "末级指标分值合计 {a}，不是 {b}"),
    (r"a leaf needs points", "末级指标需要分值"),
    (r"too deep", "层级过深"),
    (r"must be a JSON object", "必须是 JSON 对象"),
    (r"must be a finite number > (?P<x>\S+)", "必须是 > {x} 的有限数"),
    (r"(?P<c>\S+) is blank \(missing value\)", "{c} 为空（缺少数值）"),
    (r"(?P<c>\S+) is marked not applicable, but the item always applies",
     "{c} 标为不适用，但此项始终适用"),
    (r"missing value", "缺少数值"),
    (r"no projects \(the table is empty\)", "没有项目（表格为空）"),
    (r"not UTF-8 text", "不是 UTF-8 文本"),
    (r"cannot read", "无法读取"),
    (r"cannot parse", "无法解析"),
    (r"needs an indicator system", "需要指标体系"),
    (r"the scenario has no indicator system", "情景没有指标体系"),
    (r"unknown setting", "未知的设置"),
    (r"unknown parameter", "未知的参数"),
    (r"unknown selection", "未知的选项"),
    (r"unknown column", "未知的列"),
    (r"unknown method", "未知的方法"),
    (r"unknown portfolio format", "未知的项目表格式（请用 .csv 或 .xlsx）"),
    (r"unknown file type", "未知的文件类型"),
    (r"not an indicator code of (?P<x>\S+)", "不是指标体系 {x} 的指标编码"),
    (r"indicator column missing", "缺少指标列"),
    (r"no such indicator code", "没有这个指标编码"),
    (r"must be letters, digits, '_', '\.' or '-'", "只能含字母、数字、'_'、'.' 或 '-'"),
    (r"not a number; write e\.g\. 3, 0\.2 or 1/3", "不是数字；请写如 3、0.2 或 1/3"),
    (r"must be a square n × n matrix of pairwise comparisons", "必须是 n × n 的两两比较方阵"),
    (r"give either indicator measurements or a score, not both",
     "请给出指标测量值或得分，不能两者都给"),
    (r"needs a 'score' column or one column per indicator code",
     "需要“得分”列，或每个指标编码一列"),
    (r"marked not applicable, but this item always applies", "标为不适用，但此项始终适用"),
    (r"too large", "过大"),
    (r"exists already", "已存在"),
    (r"YAML syntax error", "YAML 语法错误"),
    (r"the workbook is encrypted", "工作簿已加密：请在 Excel 或 WPS 中取消密码后再导入"),
    (r"another perfsim command is writing here", "另一个 perfsim 命令正在写入这里"),
    (r"not a perfsim output directory", "不是 perfsim 的输出文件夹"),
    (r"invalid value", "无效的值"),
    # broader patterns last: the Chinese says the kind of problem, the English the detail
    (r"must be a finite number >= (?P<x>\S+)", "必须是 ≥ {x} 的有限数"),
    (r"must be a number >= (?P<x>\S+) or (None|null)", "必须是 ≥ {x} 的数或空值"),
    (r"must be a whole number (from|of|or) [^(;:]+", "必须是整数"),
    (r"must be a non-empty list of [^(;:,]+", "必须是非空列表"),
    (r"must be a list of [^(;:]+", "必须是列表"),
    (r"must be a mapping (with|of) [^(;:]+", "必须是映射（键: 值），含所需的键"),
    (r"must map [^(;:]+", "必须是映射（键: 值）"),
    (r"must be a (CSV )?(file )?path[^(;:]*", "必须是文件路径"),
    (r"must be a \w+( \w+)? in (?P<r>[\[(][^\])]*[\])])[^(;:]*", "必须在 {r} 内"),
    (r"must be among (?P<x>.+)", "必须是以下之一: {x}"),
    (r"must be above lower", "必须大于下限"),
    (r"needs at least [^(;:]+", "数量不足"),
    (r"give at least [^(;:]+", "给出的太少"),
    (r"unknown [\w' -]+?", "未知的名称"),
    (r"no such [\w -]+?", "不存在"),
    # the command line's usage errors (argparse's words)
    (r"unrecognized arguments", "无法识别的参数"),
    (r"the following arguments are required", "缺少必需的参数"),
    (r"invalid choice", "无效的选项"),
    (r"invalid (?P<t>\w+) value", "无效的值"),
    (r"expected one argument", "需要一个值"),
    (r"not allowed with argument (?P<b>\S+)", "不能与 {b} 同用"),
    (r"must be a whole number", "必须是整数"),
    # problems about files from Excel (see perfsim.textfiles and perfsim.model.portfolio)
    (r"not UTF-8 or GB18030 text", "既不是 UTF-8 也不是 GB18030 (GBK) 文本：请在 Excel 中"
                                   "“另存为” CSV UTF-8"),
    (r"two headings name the column '(?P<c>[^']+)'", "两个表头都对应列 '{c}'"),
    (r"formatted as a percent \((?P<p>[^)]+)\), but the column is not in points or percent",
     "单元格为百分比格式 ({p})，但此列不是分值或百分数：请改为“常规”格式"),
    (r"looks like shares, not points", "得分看起来是百分比（0–1 的小数），不是分值"),
    # imported-diagnose
    (r"an imported folder is diagnosed on attainment at the level its projects' leaves share",
     "导入的文件夹在各项目三级指标共有的二级指标层面按得分率诊断；各项目三级指标的原始值单位各异，"
     "不能相加"),
    # imported-outputs
    (r"a CSV file is not a self-evaluation workbook",
     "CSV 文件不是自评表工作簿（应为 .xlsx 或 .xls）；平铺的项目组合 CSV 请用 perfsim run "
     "运行、用 perfsim validate 检查"),
    # references
    (r"each end must be a number in (?P<r>\[[^\]]+\])", "两端都必须在 {r} 内"),
    (r"must be finite and strictly descending", "必须是有限值且严格递减"),
    (r"must be > 0 when no min_budget is given", "未给出 min_budget 时必须 > 0"),
    (r"duplicate id", "编号重复"),
    # limits
    (r"would need about (?P<x>\S+) GiB, above the limit (?P<y>\S+) GiB",
     "需要约 {x} GiB 内存，超过上限 {y} GiB"),
    (r"YAML file of (?P<x>\S+) MiB, above the limit (?P<y>\S+) MiB",
     "YAML 文件 {x} MiB，超过上限 {y} MiB"),
    (r"YAML document expands to more than (?P<n>\S+) nodes",
     "YAML 文档展开后超过 {n} 个节点（别名每次引用都计入）"),
    (r"YAML nesting deeper than (?P<n>\S+) levels", "YAML 嵌套超过 {n} 层"),
    (r"YAML alias inside the node it refers to", "YAML 别名位于它所引用的节点之内（结构无穷无尽）"),
    (r"cannot parse a YAML value", "无法解析 YAML 值"),
    # national
    (r"needs an indicator system with one execution-rate leaf",
     "需要含一个预算执行率指标（execution_rate 规则）的指标体系"),
    (r"the system has (?P<n>\d+) execution-rate leaves",
     "指标体系有 {n} 个预算执行率指标：请分别给出各执行率"),
    (r"needs the column (?P<c>.+?) beside it",
     "需要同时给出 {c} 列（执行率 = 全年执行数 / 全年预算数）"),
    (r"blank beside (?P<c>.+?)", "为空，但本行给出了 {c}：请两项金额都填，或都不填而填执行率"),
    (r"no full-year budget",
     "全年预算数为 0：执行率（全年执行数 / 全年预算数）无从计算；"
     "未安排预算的，两项金额留空并填写执行率"),
    (r"marked, but the row gives 全年预算数 budget_full and 全年执行数 executed",
     "已标记，但本行给出了全年预算数和全年执行数：请只给执行率或金额之一"),
    (r"disagrees with executed / budget_full = (?P<e>\S+) / (?P<b>\S+) yuan = (?P<r>\S+) by "
     r"(?P<d>\S+) yuan of executed, more than a fen",
     "与全年执行数 / 全年预算数 = {e} / {b} 元 = {r} 不符，执行数相差 {d} 元，超过一分钱"),
    (r"needs a higher-is-better leaf with a non-zero target",
     "只适用于越高越好且目标值非零的指标（越低越好的指标达到目标即为完成，不因超额调减分值）"),
)

_COMPILED = tuple((re.compile(p + r"(?=$| \(|;|:|,)"), zh) for p, zh in PROBLEMS)

#: How the place in a file is written: (English pattern, Chinese label put before it).
_WHERE = (
    (re.compile(r"\b(?:(?:project|unit) )?row (\d+)"), r"第 \1 行 \g<0>"),
    (re.compile(r"\bline (\d+)"), r"第 \1 行 \g<0>"),
    (re.compile(r"^cell [A-Z]+\d+"), r"单元格 \g<0>"),
    (re.compile(r"^indicator "), r"指标 indicator "),
    (re.compile(r"^group "), r"组 group "),
    (re.compile(r"^header row"), r"表头 header row"),
)


def problem_zh(problem: str) -> str | None:
    """The Chinese of an English ``problem`` text (of its start, up to a natural break), or
    None when :data:`PROBLEMS` does not know it."""
    for pattern, zh in _COMPILED:
        m = pattern.match(problem)
        if m:
            return zh.format(**m.groupdict())
    return None


def problem_text(problem: str) -> str:
    """``problem`` Chinese first with English alongside (``必须 ≥ 0 / must be >= 0``); the
    English alone when untranslated."""
    zh = problem_zh(problem)
    return f"{zh} / {problem}" if zh else problem


def usage_text(message: str) -> str:
    """An argparse usage error (``argument --x: problem``) Chinese first, as
    :func:`problem_text` writes a problem."""
    head, sep, rest = message.partition(": ")
    if sep and head.startswith("argument "):
        return f"参数 {head}: {problem_text(rest)}"
    return problem_text(message)


def where_text(where: str) -> str:
    """The place in a file with Chinese labels before the English ones (``row 7`` reads
    ``第 7 行 row 7``)."""
    for pattern, repl in _WHERE:
        where = pattern.sub(repl, where)
    return where


def frame(source: str | None, where: str | None, field: str | None, value: str | None,
          problem: str) -> str:
    """The bilingual one-line message of an error's parts; ``value`` is already shown as text
    (None: no value)."""
    parts = [p for p in (source, where_text(where) if where else None) if p]
    if field is not None and value is not None:
        parts.append(f"字段 field '{field}' = {value}")
    elif field is not None:
        parts.append(f"字段 field '{field}'")
    elif value is not None:
        parts.append(f"值 value {value}")
    parts.append(problem_text(problem))
    return ": ".join(parts)


def bilingual(text: str) -> str:
    """A ready English message (``PATH: problem``) with the Chinese of its problem put before
    the problem: the first part after a ``": "`` that :data:`PROBLEMS` knows."""
    start = 0
    while True:
        zh = problem_zh(text[start:])
        if zh:
            return f"{text[:start]}{zh} / {text[start:]}"
        k = text.find(": ", start)
        if k < 0:
            return text
        start = k + 2
