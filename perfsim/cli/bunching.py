"""``perfsim bunching``: how many scores pile up just above the grade lines, what the data can
tell (placebo lines, the reach against the window, the smallest detectable pile) and which
departments hold a pile after a multiple-testing correction."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from perfsim.analyse.bunching import AUTO_BELOW_MAX, bunching, placebo_lines, read_scores
from perfsim.cli.common import _nonneg_int
from perfsim.errors import InputError
from perfsim.io import to_jsonable
from perfsim.model.scenario import load_scenario


def add(sub: argparse._SubParsersAction) -> None:
    """``perfsim bunching``."""
    p = sub.add_parser(
        "bunching", help="the pile of scores just above each grade line, with its limits",
        description="Excess mass of a CSV's scores just above each grade line against a "
                    "smooth (log-polynomial) counterfactual, with bootstrap intervals; "
                    "placebo lines where the linkage rule moves no money (from --scenario, "
                    "or --placebo) reported beside it; a warning when the estimated reach "
                    "passes the window's edge; the smallest pile the number of scores can "
                    "detect; with --department, each department's excess with intervals and "
                    "Benjamini-Hochberg flags.")
    p.add_argument("data", type=Path, help="CSV file, one score per row")
    p.add_argument("--column", default="score", help="score column (default: score)")
    p.add_argument("--department", default=None, help="department column (optional)")
    p.add_argument("--cutoffs", default="90,80,60", help="grade lines (default: 90,80,60)")
    p.add_argument("--placebo", default="",
                   help="lines where no money changes, e.g. 90 (default: from --scenario)")
    p.add_argument("--scenario", type=Path, default=None,
                   help="scenario YAML whose grading and linkage give the placebo lines")
    p.add_argument("--below", default="3",
                   help="window below each line in points, or auto (default: 3)")
    p.add_argument("--above", type=float, default=2.0, help="window above (default: 2)")
    p.add_argument("--width", type=float, default=1.0, help="bin width (default: 1)")
    p.add_argument("--degree", type=int, default=5, help="polynomial degree (default: 5)")
    p.add_argument("--draws", type=_nonneg_int, default=200, help="bootstrap draws (200)")
    p.add_argument("--seed", type=_nonneg_int, default=0, help="bootstrap seed (0)")
    p.add_argument("--fdr", type=float, default=0.05,
                   help="false discovery rate of the department flags (default: 0.05)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_cmd_bunching)


def _lines(text: str, option: str) -> list[float]:
    try:
        return [float(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise InputError(field=option, value=text,
                         problem="name the lines as numbers, e.g. 90,80,60") from None


def _cmd_bunching(args: argparse.Namespace) -> int:
    scores, deps = read_scores(args.data, args.column, args.department)
    cutoffs = _lines(args.cutoffs, "--cutoffs")
    placebo = _lines(args.placebo, "--placebo")
    source = "--placebo" if placebo else ""
    if args.scenario is not None and not placebo:
        placebo = placebo_lines(load_scenario(args.scenario), width=args.width)
        source = str(args.scenario)
    if args.below.strip() == "auto":
        below: float | str = "auto"
    else:
        try:
            below = float(args.below)
        except ValueError:
            raise InputError(field="--below", value=args.below,
                             problem="must be a number of points or auto") from None
    est = bunching(scores, [c for c in cutoffs if c not in placebo], departments=deps,
                   width=args.width, below=below, above=args.above, degree=args.degree,
                   draws=args.draws, seed=args.seed, placebo=placebo, fdr=args.fdr)
    if args.json:
        out = {"data": str(args.data), "settings": est.settings,
               "placebo_from": source, "warnings": list(est.warnings),
               "table": est.table.to_dict(orient="records")}
        if est.departments is not None:
            out["departments"] = est.departments.to_dict(orient="records")
        print(json.dumps(to_jsonable(out), ensure_ascii=False, indent=2))
        return 0
    s = est.settings
    chosen = " 由数据选择 chosen from the data" if s.get("below_chosen_from") == "data" else ""
    print(f"聚集估计 bunching: {args.data} ({s['scores']} 个分数 scores, 窗口 window "
          f"[-{s['below']:g}, +{s['above']:g}) 分 points{chosen})")
    cols = ["cutoff", "excess", "excess_low", "excess_high", "b_points", "missing",
            "min_detectable"]
    with pd.option_context("display.width", 200):
        print(est.table.loc[~est.table["placebo"], cols].round(2).to_string(index=False))
        if s["placebo"]:
            print(f"安慰剂 placebo (不改变资金的分界线 lines where no money changes"
                  f"{', ' + source if source else ''}): excess should hold 0")
            print(est.placebo[["cutoff", "excess", "excess_low", "excess_high"]].round(2)
                  .to_string(index=False))
        print(f"最小可检测聚集 smallest detectable pile ({s['power']:.0%} power, "
              f"{s['level']:.0%} test): min_detectable projects, from the bootstrap "
              "standard error")
        if s.get("below_chosen_from") == "none fits":
            print(f"警告 warning: 没有不超过 {AUTO_BELOW_MAX:g} 分的窗口能容纳移动距离, 使用 "
                  f"{s['below']:g} 分 / no window up to {AUTO_BELOW_MAX:g} points below holds "
                  f"the reach; {s['below']:g} points used")
        for line in est.warnings:
            print(f"警告 warning: {line}")
        if est.departments is not None:
            d = est.departments[~est.departments["placebo"]]
            print(f"部门 departments: {int(d['flagged'].sum())} 个被标记 flagged "
                  f"(Benjamini-Hochberg, FDR {s['fdr']:g}, per line)")
            cols = ["department", "cutoff", "projects", "observed", "expected", "excess",
                    "excess_low", "excess_high", "min_detectable", "p_adjusted", "flagged"]
            print(d[cols].round(3).to_string(index=False))
    return 0
