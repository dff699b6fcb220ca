"""Writing and printing results: files beside a manifest, readable console summaries."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from perfsim import numbers
from perfsim.analyse.departments import Profiles
from perfsim.analyse.robust import BoDTable, SMAATable
from perfsim.io import atomic_directory, escape_sheet, file_stem, write_csv, write_json
from perfsim.kernel.grading import NATIONAL
from perfsim.kernel.year import CHANNEL_NAMES, CHANNELS
from perfsim.present import plots
from perfsim.present.money import fen, fen_table
from perfsim.present.notices import filled_cells_notice
from perfsim.run.checks import CheckDesigns
from perfsim.run.simulate import MonteCarloResult
from perfsim.run.year import MONEY, NOT_EVALUATED, YearResult, grade_table, ledger_table
from perfsim.version import __version__


def yuan(x: float) -> str:
    """``128,000,000.00 元 (1.28 亿元)`` (:func:`perfsim.numbers.yuan_text`)."""
    return numbers.yuan_text(x)


def labelled_allocations(alloc: pd.DataFrame) -> pd.DataFrame:
    """The allocations as a CSV carries them: beside ``grade`` its Chinese ``grade_zh``, and
    beside ``status`` its Chinese ``status_zh`` (保持, 压减, 取消, 奖励, 暂缓, 收回)."""
    if "status" not in alloc.columns or "status_zh" in alloc.columns:
        return alloc
    t = alloc.copy()
    t.insert(t.columns.get_loc("status") + 1, "status_zh",
             t["status"].map(lambda v: STATUS_ZH.get(v, v)))
    return t


def in_fen(result: YearResult) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The allocations, ledger and grade table with their money to the fen (yuan with two
    decimals), so that everything adds up exactly: each project's budget and its channels
    (:data:`perfsim.kernel.year.CHANNELS`) are rounded together by
    :func:`perfsim.present.money.fen_table` — every project's channels add up to its budget,
    every channel's column to its total — ``rewarded`` and ``reward`` by
    :func:`perfsim.present.money.fen`, ``next_budget`` is kept + rewarded and ``change``
    next budget − budget (:func:`allocations_in_fen`); the ledger and the grade table are
    then summed from these projects (:func:`perfsim.run.year.ledger_table`,
    :func:`grades_in_fen`), so that their rows keep the identity and their columns the
    projects' totals."""
    alloc = allocations_in_fen(result)
    codes = tuple(result.by_grade["grade"])
    return alloc, _fen_frame(ledger_table(alloc, codes)), grades_in_fen(result, alloc)


def allocations_in_fen(result: YearResult) -> pd.DataFrame:
    """The allocations of :func:`in_fen` alone (the what-if page needs no ledger)."""
    alloc = result.allocations.copy()
    parts, budget = fen_table(alloc[list(CHANNEL_NAMES)].to_numpy(dtype=float),
                              alloc["budget"].to_numpy(dtype=float))
    alloc["budget"] = budget / 100.0
    for j, name in enumerate(CHANNEL_NAMES):
        alloc[name] = parts[:, j] / 100.0
    rewarded = fen(alloc["rewarded"].to_numpy(dtype=float))
    alloc["rewarded"] = rewarded / 100.0
    alloc["reward"] = fen(alloc["reward"].to_numpy(dtype=float)) / 100.0
    nxt = parts[:, CHANNEL_NAMES.index("kept")] + rewarded
    alloc["next_budget"] = nxt / 100.0
    alloc["change"] = (nxt - budget) / 100.0
    return alloc


def grades_in_fen(result: YearResult, alloc: pd.DataFrame) -> pd.DataFrame:
    """The grade table of :func:`in_fen`, summed from ``alloc`` (:func:`allocations_in_fen`
    of ``result``)."""
    codes = tuple(result.by_grade["grade"])
    zh = tuple(result.by_grade["grade_zh"])
    return _fen_frame(grade_table(alloc, codes, zh))


def _fen_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Sums of amounts in whole fen back to exact two-decimal yuan (no binary noise)."""
    out = frame.copy()
    for c in (*MONEY, "net"):
        if c in out.columns:
            out[c] = np.round(out[c].to_numpy(dtype=float) * 100.0) / 100.0
    return out


def write_year(result: YearResult, out: str | Path, *, xlsx: bool = False,
               departments: pd.DataFrame | None = None) -> Path:
    """Write ``allocations.csv``, ``ledger.csv``, ``grades.csv``, ``summary.json``, when any
    portfolio cell held no value ``cells.csv`` (each such cell and how it was filled), with
    ``xlsx`` the workbook ``allocation.xlsx`` (:func:`write_xlsx`) and with ``departments``
    (department-overall results) ``departments.csv`` into ``out`` atomically: a marked
    temporary directory renamed into place when complete (:func:`perfsim.io.atomic_directory`,
    which also decides whether ``out`` may be written). The ledger and the grade table are
    written to the fen as :func:`in_fen` rounds them: every row's channels add up to its
    budget, and each column to the same total in both files and in the workbook."""
    with atomic_directory(out, kind="run") as tmp:
        if departments is not None:
            write_csv(departments, tmp / "departments.csv", "%.6f")
        write_csv(labelled_allocations(result.allocations), tmp / "allocations.csv", "%.6f")
        _, ledger, by_grade = in_fen(result)
        write_csv(ledger, tmp / "ledger.csv", "%.2f")
        write_csv(by_grade, tmp / "grades.csv", "%.2f")
        if result.cells is not None and len(result.cells):
            write_csv(result.cells, tmp / "cells.csv", "%.2f")
        write_json(tmp / "summary.json", {**result.summary, "perfsim_version": __version__})
        if xlsx:
            write_xlsx(result, tmp / "allocation.xlsx")
    return Path(out)


def grade_frame(result: YearResult) -> pd.DataFrame:
    """The by-grade table with money in yuan (元), formatted for a console
    (:func:`perfsim.numbers.display_frame`), headings Chinese first: the budget, the
    channels that carry money this year, rewarded and next budget."""
    t = result.by_grade.copy()
    t["grade"] = t.pop("grade_zh") + " " + t["grade"]
    # the channels that carry money this year (the totals line lists every one)
    shown = [c for c in MONEY if c in ("budget", "kept", "next_budget") or t[c].any()]
    t = numbers.display_frame(t[["grade", "projects", *shown]], money=shown, unit="元")
    # the channels under their own bilingual names (one name per column)
    return numbers.zh_headings(t.rename(columns=_channel_heading))


#: Each money channel's bilingual heading, Chinese first (:data:`perfsim.kernel.year.CHANNELS`).
CHANNEL_HEADINGS = {name: f"{zh} {en}" for name, zh, en in CHANNELS}


def _channel_heading(col: str) -> str:
    name, _, unit = col.partition(" (")
    if name not in CHANNEL_HEADINGS:
        return col
    return f"{CHANNEL_HEADINGS[name]} ({unit}" if unit else CHANNEL_HEADINGS[name]


def print_year(result: YearResult, out: Path | None = None) -> None:
    """The one-year run on a console, Chinese first with English alongside."""
    s = result.summary
    tot = s["totals_yuan"]
    link = s["linkage"]
    print(f"perfsim 运行 run: {s['scenario']} (随机种子 seed {s['seed']}) — "
          f"{s['projects']:,} 个项目 projects, {s['departments']:,} 个部门 departments, "
          f"预算 budget {yuan(tot['budget'])}")
    rule = link["rule"] + (f", 比例 ratio {link['ratio']:.1%}" if "ratio" in link else "")
    pool = {"treasury": "上缴财政 treasury", "redistribute": "奖励再分配 redistribute"}.get(
        link["pool"], link["pool"])
    print(f"挂钩规则 linkage: {rule}; 节约资金去向 pool: {pool}")
    print(grade_frame(result).to_string(index=False))
    for row in s["by_grade"]:
        if row["cut"] > 0:
            share = row["cut"] / row["budget"] if row["budget"] else 0.0
            print(f"“{row['grade_zh']}”等级项目 {row['grade']} projects: 预算 hold "
                  f"{yuan(row['budget'])}; 压减 cut {yuan(row['cut'])} ({share:.1%})")
    where = "; ".join(f"{CHANNEL_HEADINGS[c]} {yuan(tot[c])}" for c in CHANNEL_NAMES)
    print(f"合计 totals: 预算 budget {yuan(tot['budget'])} = {where}")
    print(f"下年预算 next budget {yuan(tot['next_budget'])} = 保留 kept + 奖励 rewarded "
          f"{yuan(tot['rewarded'])}; 节约 savings {yuan(tot['savings'])}")
    if s.get("precondition_failures"):
        print(f"{s['precondition_failures']} 个项目不满足前置条件，已取消 — projects failed a "
              "precondition and were cancelled")
    filled = s.get("filled_cells") or {}
    if filled.get("count"):
        print(filled_cells_notice(s))
    if out is not None:
        cells = "cells.csv, " if filled.get("count") else ""
        print(f"已写入 wrote {Path(out)}/allocations.csv, ledger.csv, grades.csv, {cells}"
              "summary.json")


def write_monte_carlo(result: MonteCarloResult, out: str | Path) -> Path:
    """Write ``replications.csv`` (one row per replication × year), ``projects.csv`` (year-1
    statistics per project) and ``summary.json`` atomically."""
    with atomic_directory(out, kind="run") as tmp:
        write_csv(result.replications, tmp / "replications.csv", "%.6f")
        write_csv(result.projects, tmp / "projects.csv", "%.6f")
        write_json(tmp / "summary.json", {**result.summary, "perfsim_version": __version__})
    return Path(out)


_MC_LINES = (
    ("misgrading", "误评率 misgrading rate", "share"),
    ("wrong_cuts", "误减资金 wrong cuts (yuan cut from truly 优/良)", "yuan"),
    ("kept_by_poor", "真实为差仍保留 kept by truly 差 projects", "yuan"),
    ("savings", "节约资金 savings", "yuan"),
    ("recovered", "收回闲置资金 idle funds recovered", "yuan"),
    ("rank_stability", "排序稳定性 rank stability (Spearman vs truth)", "num"),
    ("gini", "分配基尼系数 Gini of allocations", "num"),
    ("top10_share", "前10%份额 top-10% share", "share"),
    ("volatility", "年际波动 year-on-year volatility", "share"),
    ("inflation_payoff", "虚报收益 inflation payoff (元/分 yuan per point)", "yuan"),
)
#: lines printed only where the scenario makes them move from their idle value
_MC_WHEN = (
    ("self_evaluation_coverage", "自评资金覆盖率 funds self-evaluated", "share", 1.0),
    ("recheck_coverage", "复核资金覆盖率 funds re-checked", "share", 0.0),
    ("evaluation_cost", "评价成本 evaluation cost", "yuan", 0.0),
    ("evaluation_days", "评价人天 evaluation staff-days", "num", 0.0),
    ("misgraded_avoided", "复核减少的误评资金 misgraded budget avoided by re-checks", "yuan",
     0.0),
    # every channel money leaves a project by (perfsim.kernel.year.CHANNELS) where it moves
    ("cut_total", CHANNEL_HEADINGS['cut'], "yuan", 0.0),
    ("cancelled_total", CHANNEL_HEADINGS['cancelled'], "yuan", 0.0),
    ("postponed_total", CHANNEL_HEADINGS['postponed'], "yuan", 0.0),
    ("recovered_unrectified", CHANNEL_HEADINGS['recovered_unrectified'], "yuan", 0.0),
)


def print_monte_carlo(result: MonteCarloResult, out: Path | None = None) -> None:
    """The Monte Carlo summary on a console: each metric's mean and 5–95% interval by year."""
    s = result.summary
    print(f"perfsim 运行 run: {s['scenario']} (随机种子 seed {s['seed']}) — "
          f"{s['replications']:,} 次重复 replications × {s['years']} 年 years, "
          f"{s['projects']:,} 个项目 projects")
    fmt = {"share": numbers.percent, "yuan": numbers.yuan, "num": numbers.decimal}
    rows = []
    shown = [*_MC_LINES, *((key, label, kind) for key, label, kind, idle in _MC_WHEN
                          if any(e["mean"] is not None and e["mean"] == e["mean"]
                                 and e["mean"] != idle for e in s["metrics"][key]))]
    for key, label, kind in shown:
        for entry in s["metrics"][key]:
            if entry["mean"] is None or entry["mean"] != entry["mean"]:  # not defined here
                continue
            rows.append({"metric": label, "year": entry["year"],
                         "mean": fmt[kind](entry["mean"]),
                         "5%": fmt[kind](entry["p05"]), "95%": fmt[kind](entry["p95"])})
    print(numbers.zh_headings(pd.DataFrame(rows)).to_string(index=False))
    if out is not None:
        print(f"已写入 wrote {Path(out)}/replications.csv, projects.csv, summary.json")


#: Console headings of an estimate's tidy table, Chinese first.
ESTIMATE_HEADINGS = {"term": "项 term", "estimate": "估计值 estimate",
                     "std_error": "标准误 std_error", "ci_low": "95%下限 ci_low",
                     "ci_high": "95%上限 ci_high", "p_value": "p值 p_value"}


def estimate_frame(table: pd.DataFrame) -> pd.DataFrame:
    """An estimate's tidy table for the console: four decimals, p-values as ``<0.0001`` when
    tiny, never scientific notation."""
    out = table.copy()
    for col in ("estimate", "std_error", "ci_low", "ci_high"):
        out[col] = [numbers.decimal(v, 4) for v in out[col]]
    out["p_value"] = [numbers.p_value(v) for v in out["p_value"]]
    return out.rename(columns=ESTIMATE_HEADINGS)



def write_check_designs(result: CheckDesigns, out: str | Path, *, source: str) -> Path:
    """Write ``designs.csv`` (every design searched, ``pareto`` marking the front) and
    ``front.png`` (:func:`perfsim.present.plots.check_designs`) into ``out`` atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with atomic_directory(out, kind="run") as tmp:
        write_csv(result.table, tmp / "designs.csv", "%.6f")
        fig = plots.check_designs(result.table, source=source)
        fig.savefig(tmp / "front.png", dpi=150, metadata={"Software": None})
        plt.close(fig)
        write_json(tmp / "settings.json", {**result.settings, "perfsim_version": __version__})
    return Path(out)


def format_robust(result: BoDTable | SMAATable, top: int = 10) -> str:
    """Benefit of the doubt or SMAA-2 on a console, Chinese first: how far the rankings
    under other admissible weights stray from the file's, and the ``top`` projects."""
    t = result.table
    if isinstance(result, BoDTable):
        rho = float(stats.spearmanr(t["bod_score"], t["expert_score"]).statistic)
        head = (f"最有利权重 benefit of the doubt: {int((t['bod_score'] >= 1 - 1e-9).sum()):,} "
                f"of {len(t):,} projects score 1 under some admissible weights; Spearman with "
                f"the file's weights {numbers.decimal(rho)}")
        shown = t.sort_values(["bod_rank", "expert_rank"], kind="stable").head(top)
        shown = shown.assign(bod_score=shown["bod_score"].map(numbers.decimal),
                             expert_score=shown["expert_score"].map(numbers.decimal))
        return head + "\n" + numbers.zh_headings(shown).to_string(index=False)
    rho = float(stats.spearmanr(t["expected_rank"], t["expert_rank"]).statistic)
    head = (f"SMAA-2: {result.draws:,} draws (seed {result.seed}); Spearman of the expected "
            f"ranks with the file's {numbers.decimal(rho)}; "
            f"{int((t['rank1'] > 0).sum()):,} projects rank first under some weights")
    shown = t.sort_values(["expected_rank", "expert_rank"], kind="stable").head(top)
    shown = shown.assign(expected_rank=shown["expected_rank"].map(numbers.decimal),
                         rank1=shown["rank1"].map(numbers.percent),
                         top_share=shown["top_share"].map(numbers.percent))
    deps = result.departments.sort_values("expected_in_top", ascending=False,
                                          kind="stable").head(top)
    deps = deps.assign(expected_rank=deps["expected_rank"].map(numbers.decimal),
                       expected_in_top=deps["expected_in_top"].map(numbers.decimal))
    return (head + "\n" + numbers.zh_headings(shown).to_string(index=False)
            + f"\n\n部门 departments (expected projects in the top {result.top}):\n"
            + numbers.zh_headings(deps).to_string(index=False))


def write_rank_acceptability(result: SMAATable, path: Path, *, top: int, source: str) -> None:
    """The SMAA-2 heat map (:func:`perfsim.present.plots.rank_acceptability`) as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plots.rank_acceptability(result, top=top, source=source)
    fig.savefig(path, dpi=120, metadata={"Software": None})
    plt.close(fig)


def format_check_designs(result: CheckDesigns) -> str:
    """The Pareto front for a console: share, selection, penalty, checks, staff-days, cost,
    inflation payoff and wrong cuts, people's formats."""
    f = result.front
    table = pd.DataFrame({
        "抽查比例 share": [numbers.percent(v) for v in f["simulation.spot_check.share"]],
        "抽查方式 selection": f["simulation.spot_check.selection"],
        "处罚 penalty (分)": [numbers.number(v, 1) for v in
                             f["simulation.spot_check.inflation_penalty"]],
        "抽查数 checks": [numbers.count(v) for v in f["checks"]],
        "人天 staff-days": [numbers.number(v, 1) for v in f["staff_days"]],
        "费用 cost (元)": [numbers.yuan(v) for v in f["evaluation_cost_recheck"]],
        "虚报收益 payoff (元/分)": [numbers.yuan(v) for v in f["inflation_payoff"]],
        "误减 wrong cuts (元)": [numbers.yuan(v) for v in f["wrong_cuts"]],
    })
    s = result.settings
    head = (f"帕累托前沿 Pareto front: {len(f)} of {len(result.table)} designs; budget "
            f"{numbers.number(s['budget_staff_days'], 1)} staff-days "
            f"({numbers.percent(s['most_share'])} of {s['projects']:,} projects at most), "
            f"{s['replications']} replications each, seed {s['seed']}")
    return head + "\n" + table.to_string(index=False)


def write_department_reports(profiles: Profiles, year: YearResult, out: str | Path, *,
                             source: str) -> Path:
    """Into ``out`` (atomically): ``departments.xlsx`` — sheets 部门概况 departments (one row
    per department: projects by grade, budget, next budget, net change, strongest and weakest
    indicator; money to the fen with a totals row) and 指标对比 indicators (department ×
    indicator) — and one page per department, ``pages/<department>.png``
    (:func:`perfsim.present.plots.department_page`; a name that is no usable file name is
    made one by :func:`perfsim.io.file_stem`). Text that looks like a formula stays text."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = year.summary["by_grade"]
    codes = [r["grade"] for r in labels]
    zh = [r["grade_zh"] for r in labels]
    with atomic_directory(out, kind="run") as tmp:
        pages = tmp / "pages"
        pages.mkdir()
        for _, row in profiles.summary.iterrows():
            mine = profiles.indicators[profiles.indicators["department"] == row["department"]]
            fig = plots.department_page(row, mine, codes, zh, source=source)
            name = file_stem(str(row["department"]))
            fig.savefig(pages / f"{name}.png", dpi=120, metadata={"Software": None})
            plt.close(fig)
        sheets = {"部门概况 departments": _sheet(profiles.summary, "department"),
                  "指标对比 indicators": profiles.indicators}
        _write_sheets(sheets, tmp / "departments.xlsx")
        write_json(tmp / "settings.json", {"source": source, "perfsim_version": __version__,
                                           "departments": int(len(profiles.summary))})
    return Path(out)


# --- Excel for finance staff ------------------------------------------------------------------

#: Column headings of the allocation workbook: Chinese and English, money in yuan (元).
#: English of the workbook's headings, money in yuan; the Chinese before each comes from
#: :data:`perfsim.numbers.HEADINGS_ZH`, the one bilingual vocabulary of perfsim's tables.
_XLSX_ENGLISH = {
    "project_id": "project", "department": "department", "score": "score (分 points)",
    "true_score": "true score (分 points)", "grade": "grade", "grade_zh": "grade (zh)",
    "budget": "budget (元 yuan)", "multiplier": "multiplier", "reward": "reward (元 yuan)",
    "next_budget": "next budget (元 yuan)", "change": "change (元 yuan)", "status": "status",
    "precondition_failed": "precondition failed", "kept": "kept (元 yuan)",
    "cut": "cut (元 yuan)", "cancelled": "cancelled (元 yuan)",
    "rewarded": "rewarded (元 yuan)", "projects": "projects",
    "count_excellent": "excellent", "count_good": "good", "count_fair": "fair",
    "count_poor": "poor", "count_not_evaluated": "not evaluated", "evaluated": "evaluated",
    "strongest": "strongest indicator", "weakest": "weakest indicator",
    "code": "code", "name": "name", "department_mean": "department mean",
    "portfolio_mean": "portfolio mean", "difference_pp": "difference (百分点 pp)",
    "net": "net (元 yuan)",
}
#: Chinese of the workbook's headings that the shared vocabulary lacks: one name per column.
_XLSX_CHINESE = {
    "feedback": "反馈整改",
    "rectified": "已整改", "expected_score": "预期得分", "pre_evaluation": "事前评估",
    "pre_evaluation_saved": "事前评估核减", "blacklisted": "黑名单", "sanction": "处罚",
}
_XLSX_ENGLISH.update({
    "reward": "redistributed reward (元 yuan)", "status_zh": "status (zh)",
    "feedback": "fed back", "rectified": "rectified",
    "expected_score": "expected score (分 points)", "pre_evaluation": "pre-evaluation",
    "pre_evaluation_saved": "pre-evaluation saved (元 yuan)", "blacklisted": "blacklisted",
    "sanction": "sanction"})
XLSX_COLUMNS: dict[str, str] = {
    **{c: f"{_XLSX_CHINESE.get(c) or numbers.HEADINGS_ZH[c]} {en}"
       for c, en in _XLSX_ENGLISH.items() if c not in CHANNEL_NAMES},
    **{name: f"{zh} {en} (元 yuan)" for name, zh, en in CHANNELS}}
XLSX_SHEETS = ("项目 projects", "部门台账 ledger", "等级汇总 grades")
NOTES_SHEET = "说明"
YUAN_FORMAT = "#,##0.00"
TOTAL_LABEL = "合计 total"
_XLSX_MONEY = {*MONEY, "reward", "change", "net", "pre_evaluation_saved"}
_XLSX_COUNTS = {"projects", "count_excellent", "count_good", "count_fair", "count_poor",
                "count_not_evaluated"}
#: columns shown with two decimals: scores and indicator shares
_XLSX_DECIMALS = {"score", "true_score", "department_mean", "portfolio_mean", "difference_pp",
                  "expected_score"}
#: Chinese labels put before the English value of grade and status cells in the workbook.
GRADE_ZH = {**dict(zip(NATIONAL.codes, NATIONAL.zh, strict=True)),
            NOT_EVALUATED[0]: NOT_EVALUATED[1]}
STATUS_ZH = {"kept": "保持", "cut": "压减", "cancelled": "取消", "rewarded": "奖励",
             "postponed": "暂缓", "recovered": "收回"}


def _labelled(value: Any, labels: dict[str, str]) -> Any:
    zh = labels.get(value) if isinstance(value, str) else None
    return f"{zh} {value}" if zh else value


def _sheet(frame: pd.DataFrame, label_column: str) -> pd.DataFrame:
    """A sheet's frame: money in whole fen (largest remainder), Chinese grade and status
    labels, yes/no for booleans and a totals row labelled in ``label_column``."""
    t = frame.copy()
    for c in t.columns:
        if isinstance(t[c].dtype, pd.CategoricalDtype):
            t[c] = t[c].astype(object)
    total: dict[str, Any] = {label_column: TOTAL_LABEL}
    for c in t.columns:
        if c in _XLSX_MONEY:
            cents = fen(t[c].to_numpy(dtype=float))
            t[c] = cents / 100.0
            total[c] = int(cents.sum()) / 100.0
        elif c in _XLSX_COUNTS:
            total[c] = int(t[c].sum())
    if "grade" in t.columns:
        t["grade"] = t["grade"].map(lambda v: _labelled(v, GRADE_ZH))
    if "status" in t.columns:
        t["status"] = t["status"].map(lambda v: _labelled(v, STATUS_ZH))
    for c in t.columns:
        if pd.api.types.is_bool_dtype(t[c]):
            t[c] = t[c].map({True: "是 yes", False: "否 no"})
    return pd.concat([t, pd.DataFrame([total])], ignore_index=True)


def _notes(result: YearResult) -> pd.DataFrame:
    s = result.summary
    link = s.get("linkage", {})
    rows = [
        ("情景 scenario", s.get("scenario")),
        ("随机种子 seed", s.get("seed")),
        ("perfsim 版本 version", __version__),
        ("来源 source", s.get("source")),
        ("项目数 projects", s.get("projects")),
        ("部门数 departments", s.get("departments")),
        ("指标体系 indicator system", s.get("indicator_system")),
        ("等级划分 grading", ", ".join(f"{k}={v}" for k, v in (s.get("grading") or {}).items())),
        ("挂钩规则 linkage rule", link.get("rule")),
        ("参数 parameters", ", ".join(f"{k}={v}" for k, v in link.items() if k != "rule")),
        ("金额单位 money", "元 yuan, 格式 #,##0.00"),
        ("资金去向 money identity", "本年预算 = " + " + ".join(zh for _, zh, _ in CHANNELS)
         + "; 下年预算 = 保留 + 奖励; budget = " + " + ".join(CHANNEL_NAMES)
         + "; next budget = kept + rewarded"),
        ("舍入 rounding", "金额按分舍入, 尾差按二维最大余数法分配: 每行各去向之和等于预算, "
                        "各列之和与合计行一致到分; money rounded to the fen, the remainder "
                        "allocated by the largest-remainder method in two dimensions, so every "
                        "row's channels add up to its budget and every column to its totals "
                        "row"),
    ]
    return pd.DataFrame([(k, "" if v is None else str(v)) for k, v in rows],
                        columns=["项目 item", "内容 value"])


def write_xlsx(result: YearResult, path: str | Path) -> Path:
    """An allocation workbook for finance staff: sheets ``项目 projects`` (one row per project),
    ``部门台账 ledger`` (department × grade), ``等级汇总 grades`` (by grade) and ``说明``
    (scenario, parameters, seed, perfsim version, the rounding method).

    Headings are bilingual; grade and status values carry the Chinese label (``优 excellent``,
    ``压减 cut``). Money is in yuan with the number format ``#,##0.00``, rounded to the fen
    before it is stored by :func:`in_fen` — the largest-remainder method in two dimensions —
    so that every project's and every ledger and grade row's channels add up to its budget
    and every money column sums exactly to its totals row (``合计 total``, last on each
    sheet), the same on the three sheets. Each table sheet has a frozen header row and an
    autofilter. Written to a temporary file and renamed into place."""

    frames = in_fen(result)
    labels = ("project_id", "department", "grade")
    sheets = {name: _sheet(frame, label)
              for name, frame, label in zip(XLSX_SHEETS, frames, labels, strict=True)}
    return _write_sheets(sheets, path, notes=_notes(result))


def _write_sheets(sheets: dict[str, pd.DataFrame], path: str | Path,
                  notes: pd.DataFrame | None = None) -> Path:
    """Write table sheets (bilingual headings, money as ``#,##0.00``, frozen header,
    autofilter, the last row bold when it is a totals row) and an optional 说明 sheet, to a
    temporary file renamed into place."""
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # a plain new file (not mkstemp, which is private): the workbook gets the user's umask
    tmp = path.with_name(f".{path.name}.partial-{uuid.uuid4().hex}.xlsx")
    try:
        with pd.ExcelWriter(tmp, engine="openpyxl") as writer:
            for name, frame in sheets.items():
                frame.rename(columns=XLSX_COLUMNS).to_excel(writer, sheet_name=name, index=False)
                ws = writer.sheets[name]
                escape_sheet(ws)
                ws.freeze_panes = "A2"
                totals = len(frame) and frame.iloc[-1].astype(str).eq(TOTAL_LABEL).any()
                last = len(frame) + 1
                ws.auto_filter.ref = (f"A1:{get_column_letter(max(len(frame.columns), 1))}"
                                      f"{last - 1 if totals else last}")
                if totals:
                    for cell in ws[last]:
                        cell.font = Font(bold=True)
                for j, col in enumerate(frame.columns, start=1):
                    letter = get_column_letter(j)
                    ws[f"{letter}1"].font = Font(bold=True)
                    heading = XLSX_COLUMNS.get(col, col)
                    ws.column_dimensions[letter].width = max(12, min(34, len(heading) + 4))
                    fmt = (YUAN_FORMAT if col in _XLSX_MONEY else
                           "0.0000" if col == "multiplier" else
                           "0.00" if col in _XLSX_DECIMALS else None)
                    if fmt is not None:
                        for (cell,) in ws.iter_rows(min_row=2, min_col=j, max_col=j):
                            cell.number_format = fmt
            if notes is not None:
                notes.to_excel(writer, sheet_name=NOTES_SHEET, index=False)
                ws = writer.sheets[NOTES_SHEET]
                escape_sheet(ws)
                ws.column_dimensions["A"].width = 28
                ws.column_dimensions["B"].width = 90
                for cell in ws[1]:
                    cell.font = Font(bold=True)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
