"""Writing and printing results: files beside a manifest, readable console summaries."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from perfsim import __version__
from perfsim.engine import YearResult
from perfsim.io import atomic_directory, write_json


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
