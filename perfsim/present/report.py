"""Writing and printing results: files beside a manifest, readable console summaries."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pandas as pd

from perfsim.io import atomic_directory, write_json
from perfsim.run.simulate import MonteCarloResult
from perfsim.run.year import YearResult
from perfsim.version import __version__


def yuan(x: float) -> str:
    """``128,000,000 yuan (1.28 亿元)``."""
    return f"{x:,.0f} yuan ({x / 1e8:,.2f} 亿元)"


def write_year(result: YearResult, out: str | Path, *, xlsx: bool = False) -> Path:
    """Write ``allocations.csv``, ``ledger.csv``, ``grades.csv``, ``summary.json``, when any
    portfolio cell held no value ``cells.csv`` (each such cell and how it was filled), and
    with ``xlsx`` the workbook ``allocation.xlsx`` (:func:`write_xlsx`) into ``out``
    atomically: a marked temporary directory renamed into place when complete
    (:func:`perfsim.io.atomic_directory`, which also decides whether ``out`` may be written)."""
    with atomic_directory(out, kind="run") as tmp:
        result.allocations.to_csv(tmp / "allocations.csv", index=False, float_format="%.6f")
        result.ledger.to_csv(tmp / "ledger.csv", index=False, float_format="%.2f")
        result.by_grade.to_csv(tmp / "grades.csv", index=False, float_format="%.2f")
        if result.cells is not None and len(result.cells):
            result.cells.to_csv(tmp / "cells.csv", index=False, float_format="%.2f")
        write_json(tmp / "summary.json", {**result.summary, "perfsim_version": __version__})
        if xlsx:
            write_xlsx(result, tmp / "allocation.xlsx")
    return Path(out)


def grade_frame(result: YearResult) -> pd.DataFrame:
    """The by-grade table with money in yuan, formatted for a console."""
    t = result.by_grade.copy()
    t["grade"] = t.pop("grade_zh") + " " + t["grade"]
    cols = ["projects", "budget", "cut", "cancelled", "rewarded", "next_budget"]
    t = t[["grade", *cols]]
    for c in cols[1:]:
        t[c] = t[c].map(lambda v: f"{v:,.0f}")
    return t.rename(columns={c: f"{c} (yuan)" for c in cols[1:]})


def print_year(result: YearResult, out: Path | None = None) -> None:
    s = result.summary
    tot = s["totals_yuan"]
    link = s["linkage"]
    print(f"perfsim run: {s['scenario']} (seed {s['seed']}) — {s['projects']:,} projects, "
          f"{s['departments']:,} departments, {yuan(tot['budget'])}")
    rule = link["rule"] + (f", ratio {link['ratio']:.1%}" if "ratio" in link else "")
    print(f"linkage: {rule}; pool: {link['pool']}")
    print(grade_frame(result).to_string(index=False))
    for row in s["by_grade"]:
        if row["cut"] > 0:
            share = row["cut"] / row["budget"] if row["budget"] else 0.0
            print(f"{row['grade_zh']} ({row['grade']}) projects hold {yuan(row['budget'])}; "
                  f"cut {yuan(row['cut'])} ({share:.1%})")
    print(f"totals: kept {yuan(tot['kept'])}; cut {yuan(tot['cut'])}; "
          f"cancelled {yuan(tot['cancelled'])}; rewarded {yuan(tot['rewarded'])}; "
          f"savings {yuan(tot['savings'])}")
    if s.get("precondition_failures"):
        print(f"{s['precondition_failures']} projects failed a precondition and were cancelled")
    filled = s.get("filled_cells") or {}
    if filled.get("count"):
        how = ", ".join(f"{k} {v}" for k, v in filled["by_treatment"].items())
        print(f"{filled['count']} cells held no value and were filled ({how}): see cells.csv")
    if out is not None:
        cells = "cells.csv, " if filled.get("count") else ""
        print(f"wrote {Path(out)}/allocations.csv, ledger.csv, grades.csv, {cells}summary.json")


def write_monte_carlo(result: MonteCarloResult, out: str | Path) -> Path:
    """Write ``replications.csv`` (one row per replication × year), ``projects.csv`` (year-1
    statistics per project) and ``summary.json`` atomically."""
    with atomic_directory(out, kind="run") as tmp:
        result.replications.to_csv(tmp / "replications.csv", index=False, float_format="%.6f")
        result.projects.to_csv(tmp / "projects.csv", index=False, float_format="%.6f")
        write_json(tmp / "summary.json", {**result.summary, "perfsim_version": __version__})
    return Path(out)


_MC_LINES = (
    ("misgrading", "misgrading rate", "share"),
    ("wrong_cuts", "wrong cuts (yuan cut from truly 优/良)", "yuan"),
    ("kept_by_poor", "kept by truly 差 projects", "yuan"),
    ("savings", "savings", "yuan"),
    ("recovered", "idle funds recovered", "yuan"),
    ("rank_stability", "rank stability (Spearman vs truth)", "num"),
    ("gini", "Gini of allocations", "num"),
    ("top10_share", "top-10% share", "share"),
    ("volatility", "year-on-year volatility", "share"),
    ("inflation_payoff", "inflation payoff (yuan per point)", "num"),
)


def print_monte_carlo(result: MonteCarloResult, out: Path | None = None) -> None:
    s = result.summary
    print(f"perfsim run: {s['scenario']} (seed {s['seed']}) — {s['replications']:,} "
          f"replications × {s['years']} years, {s['projects']:,} projects")
    fmt = {"share": lambda v: f"{v:.1%}", "yuan": lambda v: f"{v:,.0f}",
           "num": lambda v: f"{v:,.3f}"}
    rows = []
    for key, label, kind in _MC_LINES:
        for entry in s["metrics"][key]:
            if entry["mean"] is None or entry["mean"] != entry["mean"]:  # not defined here
                continue
            rows.append({"metric": label, "year": entry["year"],
                         "mean": fmt[kind](entry["mean"]),
                         "5%": fmt[kind](entry["p05"]), "95%": fmt[kind](entry["p95"])})
    print(pd.DataFrame(rows).to_string(index=False))
    if out is not None:
        print(f"wrote {Path(out)}/replications.csv, projects.csv, summary.json")


# --- Excel for finance staff ------------------------------------------------------------------

#: Column headings of the allocation workbook: Chinese and English, money in yuan (元).
XLSX_COLUMNS: dict[str, str] = {
    "project_id": "项目编号 project",
    "department": "部门 department",
    "score": "得分 score (分 points)",
    "true_score": "真实得分 true score (分 points)",
    "grade": "等级 grade",
    "grade_zh": "等级(中文) grade (zh)",
    "budget": "本年预算 budget (元 yuan)",
    "multiplier": "调整系数 multiplier",
    "reward": "奖励 reward (元 yuan)",
    "next_budget": "下年预算 next budget (元 yuan)",
    "change": "增减 change (元 yuan)",
    "status": "处理 status",
    "precondition_failed": "前置条件未满足 precondition failed",
    "kept": "保留 kept (元 yuan)",
    "cut": "压减 cut (元 yuan)",
    "cancelled": "取消 cancelled (元 yuan)",
    "rewarded": "增加 rewarded (元 yuan)",
    "projects": "项目数 projects",
    "net": "净变动 net (元 yuan)",
}
XLSX_SHEETS = ("项目 projects", "部门台账 ledger", "等级汇总 grades")
YUAN_FORMAT = "#,##0.00"
_XLSX_MONEY = {"budget", "reward", "next_budget", "change", "kept", "cut", "cancelled",
               "rewarded", "net"}


def write_xlsx(result: YearResult, path: str | Path) -> Path:
    """An allocation workbook for finance staff: sheets ``项目 projects`` (one row per project),
    ``部门台账 ledger`` (department × grade) and ``等级汇总 grades`` (by grade, with a total row).
    Headings are bilingual, money is in yuan with the number format ``#,##0.00``. Written to a
    temporary file and renamed into place."""

    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    grades = result.by_grade.copy()
    total = {c: grades[c].sum() for c in grades.columns if c not in ("grade", "grade_zh")}
    grades = pd.concat([grades, pd.DataFrame([{"grade": "total", "grade_zh": "合计", **total}])],
                       ignore_index=True)
    sheets = dict(zip(XLSX_SHEETS, (result.allocations, result.ledger, grades), strict=True))
    # a plain new file (not mkstemp, which is private): the workbook gets the user's umask
    tmp = path.with_name(f".{path.name}.partial-{uuid.uuid4().hex}.xlsx")
    try:
        with pd.ExcelWriter(tmp, engine="openpyxl") as writer:
            for name, frame in sheets.items():
                frame.rename(columns=XLSX_COLUMNS).to_excel(writer, sheet_name=name, index=False)
                ws = writer.sheets[name]
                ws.freeze_panes = "A2"
                for j, col in enumerate(frame.columns, start=1):
                    letter = get_column_letter(j)
                    ws[f"{letter}1"].font = Font(bold=True)
                    heading = XLSX_COLUMNS.get(col, col)
                    ws.column_dimensions[letter].width = max(12, min(34, len(heading) + 4))
                    if col in _XLSX_MONEY:
                        for (cell,) in ws.iter_rows(min_row=2, min_col=j, max_col=j):
                            cell.number_format = YUAN_FORMAT
                    elif col in ("score", "true_score", "multiplier"):
                        for (cell,) in ws.iter_rows(min_row=2, min_col=j, max_col=j):
                            cell.number_format = "0.00" if col != "multiplier" else "0.0000"
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
