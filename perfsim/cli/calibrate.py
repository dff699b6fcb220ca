"""``perfsim calibrate``: solve for the design parameter that meets a target."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from perfsim.cli.common import (
    _cli_error,
    _nonneg_int,
    _pos_int,
    check_monte_carlo_memory,
)
from perfsim.errors import InputError
from perfsim.io import (
    to_jsonable,
)
from perfsim.model.scenario import load_scenario
from perfsim.run.calibrate import calibrate, format_calibration, parse_targets
from perfsim.run.simulate import scenario_settings


def add(sub: argparse._SubParsersAction) -> None:
    """``perfsim calibrate``."""
    cal = sub.add_parser(
        "calibrate", help="solve for the design parameter that meets a target",
        description="Find the value of one design parameter (a linkage ratio, grade cutoffs, "
                    "indicator weights, a simulation setting) that yields a target outcome, "
                    "with scipy.optimize. Deterministic metrics come from one year of the "
                    "scenario's portfolio; Monte Carlo metrics (misgrading, wrong_cuts, ...) or "
                    "--replications give means over replications and their 5-95% band. An "
                    "unreachable target is reported with the closest attainable value and the "
                    "bound that binds.")
    cal.add_argument("scenario", type=Path, help="scenario YAML file")
    cal.add_argument("--solve", required=True, metavar="PARAM",
                     help="parameter path, e.g. linkage.ratio, grading.cutoffs, "
                          "grading.cutoffs.excellent, weights, simulation.spot_check.share")
    cal.add_argument("--target", required=True, action="append", metavar="METRIC=VALUE",
                     help="e.g. cut_total=128000000, share_excellent=0.2 (repeat for "
                          "several grade shares), observed_scores=FILE.csv for weights")
    cal.add_argument("--bounds", nargs=2, default=None, metavar=("LOW", "HIGH"),
                     help="search range (default: the parameter's valid range)")
    cal.add_argument("--replications", type=_pos_int, default=None,
                     help="Monte Carlo replications (selects Monte Carlo mode)")
    cal.add_argument("--year", type=_pos_int, default=1,
                     help="Monte Carlo: the simulated year whose outcome is the target")
    cal.add_argument("--seed", type=_nonneg_int, default=None, help="override the scenario seed")
    cal.add_argument("--json", action="store_true", help="print JSON")
    cal.set_defaults(func=_cmd_calibrate)


def _cmd_calibrate(args: argparse.Namespace) -> int:
    scenario = load_scenario(args.scenario, seed=args.seed)
    if args.replications is not None or scenario.has_simulation:   # a Monte Carlo, maybe
        check_monte_carlo_memory(scenario, scenario_settings(scenario,
                                                             replications=args.replications),
                                 given={"replications": "--replications"}
                                 if args.replications is not None else None)
    bounds = None
    if args.bounds is not None:
        try:
            bounds = [float(b) for b in args.bounds]
        except ValueError:
            raise InputError(field="--bounds", value=" ".join(args.bounds),
                             problem="must be two numbers, LOW HIGH") from None
    try:
        result = calibrate(scenario, args.solve, parse_targets(args.target), bounds=bounds,
                           replications=args.replications, year=args.year)
    except InputError as err:
        raise _cli_error(err) from None
    print(json.dumps(to_jsonable(result.as_dict()), indent=2, ensure_ascii=False)
          if args.json else format_calibration(result))
    return 0
