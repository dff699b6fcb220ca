"""Writing and printing results: files beside a manifest, readable console summaries."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from perfsim import __version__
from perfsim.engine import YearResult
from perfsim.io import atomic_directory, write_json
from perfsim.simulate import MonteCarloResult


def yuan(x: float) -> str:
    """``128,000,000 yuan (1.28 亿元)``."""
    return f"{x:,.0f} yuan ({x / 1e8:,.2f} 亿元)"


def write_year(result: YearResult, out: str | Path) -> Path:
    """Write ``allocations.csv``, ``ledger.csv``, ``grades.csv`` and ``summary.json`` into
    ``out`` atomically (a temporary directory renamed into place when complete)."""
    with atomic_directory(out) as tmp:
        result.allocations.to_csv(tmp / "allocations.csv", index=False, float_format="%.6f")
        result.ledger.to_csv(tmp / "ledger.csv", index=False, float_format="%.2f")
        result.by_grade.to_csv(tmp / "grades.csv", index=False, float_format="%.2f")
        write_json(tmp / "summary.json", {**result.summary, "perfsim_version": __version__})
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
    if out is not None:
        print(f"wrote {Path(out)}/allocations.csv, ledger.csv, grades.csv, summary.json")


def write_monte_carlo(result: MonteCarloResult, out: str | Path) -> Path:
    """Write ``replications.csv`` (one row per replication × year), ``projects.csv`` (year-1
    statistics per project) and ``summary.json`` atomically."""
    with atomic_directory(out) as tmp:
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
            if entry["mean"] != entry["mean"]:  # NaN: not defined in this run
                continue
            rows.append({"metric": label, "year": entry["year"],
                         "mean": fmt[kind](entry["mean"]),
                         "5%": fmt[kind](entry["p05"]), "95%": fmt[kind](entry["p95"])})
    print(pd.DataFrame(rows).to_string(index=False))
    if out is not None:
        print(f"wrote {Path(out)}/replications.csv, projects.csv, summary.json")
