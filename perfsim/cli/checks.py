"""``perfsim optimise-checks``: the cheapest spot-check designs that make honesty pay."""

from __future__ import annotations

import argparse
from pathlib import Path

from perfsim.cli.common import (
    _pos_int,
    _scenario_options,
    set_parameters,
)
from perfsim.errors import InputError
from perfsim.io import (
    check_output_dir,
    input_files,
    safe_name,
)
from perfsim.model.scenario import load_scenario
from perfsim.present.report import (
    format_check_designs,
    write_check_designs,
)
from perfsim.run.checks import optimise_checks


def add(sub: argparse._SubParsersAction) -> None:
    """``perfsim optimise-checks``."""
    oc = sub.add_parser(
        "optimise-checks", help="search spot-check designs for the cheapest that makes "
                                "honesty pay (Pareto front)",
        description="Search check designs (share × selection × penalty for inflation found) "
                    "within a budget of staff-days, each a Monte Carlo with the same random "
                    "draws, for the Pareto front of inflation payoff, wrong cuts and cost. "
                    "Writes designs.csv (every design, `pareto` marks the front) and "
                    "front.png into --out; prints the front.")
    oc.add_argument("scenario", type=Path, help="scenario YAML file (its units must inflate: "
                                                "simulation.self_evaluation.inflation_mean)")
    oc.add_argument("--budget", required=True, metavar="DAYS",
                    help="staff-days available for re-checks")
    oc.add_argument("--days-per-check", default=None, metavar="DAYS",
                    help="staff-days per re-check (default: the scenario's "
                         "simulation.cost.recheck_days, else 2)")
    oc.add_argument("--yuan-per-check", default=None, metavar="YUAN",
                    help="cost of a re-check in yuan (default: the scenario's "
                         "simulation.cost.recheck, else 3,000)")
    oc.add_argument("--shares", type=_pos_int, default=6,
                    help="check shares searched, evenly from 0 to what the budget affords "
                         "(default 6)")
    oc.add_argument("--penalties", default="0,5,10,20",
                    help="penalties for inflation found, points (default 0,5,10,20)")
    oc.add_argument("--replications", type=_pos_int, default=64,
                    help="replications per design (default 64)")
    oc.add_argument("--response", choices=("fixed", "best"), default=None,
                    help="how the units respond to each design: fixed (the scenario's "
                         "inflation_mean whatever the design) or best (each unit chooses its "
                         "inflation against the design: simulation.self_evaluation.strategy "
                         "best_response); default best when the scenario's strategy is "
                         "best_response, else fixed")
    _scenario_options(oc, "checks")
    oc.set_defaults(func=_cmd_optimise_checks)


def _cmd_optimise_checks(args: argparse.Namespace) -> int:
    try:
        penalties = [float(p) for p in args.penalties.split(",") if p.strip()]
    except ValueError:
        raise InputError(field="--penalties", value=args.penalties,
                         problem="must be comma-separated numbers of points") from None
    scenario = set_parameters(load_scenario(args.scenario, seed=args.seed), args.set)
    out = args.out or Path("reports") / "runs" / (
        safe_name(scenario.name, scenario.source) + "-checks")
    inputs = input_files([args.scenario])
    check_output_dir(out, inputs=inputs)
    try:
        result = optimise_checks(scenario, args.budget,
                                 staff_days_per_check=args.days_per_check,
                                 yuan_per_check=args.yuan_per_check, shares=args.shares,
                                 penalties=penalties, replications=args.replications,
                                 response=args.response)
    except InputError as err:
        names = {"budget": "--budget", "staff_days_per_check": "--days-per-check",
                 "yuan_per_check": "--yuan-per-check", "penalties": "--penalties"}
        # the options are set as the scenario's cost parameters: their range errors name them
        if args.yuan_per_check is not None:
            names["simulation.cost.recheck"] = "--yuan-per-check"
        if args.days_per_check is not None:
            names["simulation.cost.recheck_days"] = "--days-per-check"
        raise err.at(field=names.get(err.field or "", err.field)) from None
    write_check_designs(result, out, source=f"perfsim optimise-checks {args.scenario.name}, "
                                            f"seed {scenario.seed}")
    print(format_check_designs(result))
    front = result.front
    print(f"单位应对 units respond: {result.settings['response']}; 虚报单位比例 share of units "
          "inflating on the front: " + ", ".join(
              f"{v:.1%}" for v in front["inflating_share"].to_numpy(dtype=float)))
    print(f"已写入 wrote {out}/designs.csv, front.png")
    return 0
