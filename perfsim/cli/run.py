"""``perfsim run``: score, grade and link a scenario, or its Monte Carlo."""

from __future__ import annotations

import argparse
from pathlib import Path

from perfsim.cli.common import (
    _nonneg_int,
    _pos_int,
    check_monte_carlo_memory,
    set_parameters,
)
from perfsim.errors import InputError
from perfsim.io import (
    check_output_dir,
    claim_output,
    input_files,
    safe_name,
)
from perfsim.model.scenario import load_scenario
from perfsim.present.notices import read_notes
from perfsim.present.report import (
    print_monte_carlo,
    print_year,
    write_monte_carlo,
    write_year,
)
from perfsim.run.simulate import scenario_settings, simulate
from perfsim.run.year import department_results, run_year


def add(sub: argparse._SubParsersAction) -> None:
    """``perfsim run``."""
    run = sub.add_parser("run", help="score, grade and link a scenario; write allocations",
                         description="Score, grade and apply the budget-linkage rule to a "
                                     "scenario's portfolio. Writes allocations.csv, ledger.csv, "
                                     "grades.csv and summary.json into --out.")
    run.add_argument("scenario", type=Path, help="scenario YAML file")
    run.add_argument("--out", type=Path, default=None,
                     help="output directory (default: reports/runs/<scenario name>)")
    run.add_argument("--seed", type=_nonneg_int, default=None, help="override the scenario seed")
    run.add_argument("--xlsx", action="store_true",
                     help="also write allocation.xlsx for finance staff (projects, department "
                          "ledger, grade summary; yuan formatted #,##0.00)")
    run.add_argument("--advanced-share", type=float, default=None, metavar="SHARE",
                     help="also write departments.csv: department-overall scores (the "
                          "budget-weighted mean of project scores), their rank and the top "
                          "SHARE named advanced units (e.g. 0.2, Wenzhou's top 20%%); one-year "
                          "run only")
    run.add_argument("--one-year", action="store_true",
                     help="the observed year only (allocations.csv, --xlsx), also when the "
                          "scenario has a `simulation:` block (its settings are the Monte "
                          "Carlo's: in-year monitoring is not part of the observed year)")
    run.add_argument("--set", action="append", default=[], metavar="PATH=VALUE", dest="set",
                     help="set a parameter by its YAML path for this run, e.g. "
                          "linkage.ratio=0.2 or simulation.spot_check.share=0.3 (repeat; "
                          "values read as YAML)")
    mc = run.add_argument_group(
        "Monte Carlo", "When the scenario has a `simulation:` block, or --years or "
        "--replications is given, run the evaluation process over years and replications "
        "(settings from the scenario's `simulation:` block, overridden here); "
        "writes replications.csv, projects.csv and summary.json (means, 5-95% intervals).")
    mc.add_argument("--years", type=_pos_int, default=None, help="years to simulate")
    mc.add_argument("--replications", type=_pos_int, default=None, help="replications")
    mc.add_argument("--chunk", type=_pos_int, default=None,
                    help="replications per chunk, at most (bounds memory; results do not depend "
                         "on it)")
    mc.add_argument("--engine", choices=["auto", "numpy", "processes", "dask"], default="auto",
                    help="auto (default): a process pool for large runs on 4+ cores, dask "
                         "with --scheduler, else numpy; numpy: in-process; processes: a "
                         "process pool; dask: dask.distributed (a LocalCluster unless "
                         "--scheduler)")
    mc.add_argument("--workers", type=_pos_int, default=None, help="worker processes")
    mc.add_argument("--scheduler", default=None, metavar="ADDR",
                    help="address of a running Dask scheduler, e.g. tcp://127.0.0.1:8786")
    mc.add_argument("--no-noise", action="store_true",
                    help="every random source off (noise, dispersion, design uncertainty): "
                         "year 1 then equals the one-year run to the yuan")
    run.set_defaults(func=_cmd_run)


def _cmd_run(args: argparse.Namespace) -> int:
    inputs = input_files([args.scenario])  # the scenario and the files it names
    if args.out is not None:  # before any work: a file in the way, the current directory, ...
        check_output_dir(args.out, inputs=inputs)
    scenario = set_parameters(load_scenario(args.scenario, seed=args.seed), args.set)
    for note in read_notes(scenario.portfolio):  # an encoding, percent cells: said first
        print(note)
    out = args.out or Path("reports") / "runs" / safe_name(scenario.name, scenario.source)
    if args.one_year and (args.years is not None or args.replications is not None
                          or args.no_noise):
        raise InputError(field="--one-year", problem="the one-year run takes no --years, "
                                                     "--replications or --no-noise")
    monte_carlo = (args.years is not None or args.replications is not None or args.no_noise
                   or (scenario.has_simulation and not args.one_year))
    if not monte_carlo:
        if args.engine not in ("auto", "numpy") or args.scheduler or args.chunk or args.workers:
            raise InputError(field="--engine", value=args.engine,
                             problem="engine options need --years, --replications or a "
                                     "`simulation:` block in the scenario")
        with claim_output(out, inputs=inputs):  # held until the result is in place
            result = run_year(scenario)
            deps = (None if args.advanced_share is None else
                    department_results(result, args.advanced_share))
            write_year(result, out, xlsx=args.xlsx, departments=deps)
        print_year(result, out)
        if args.xlsx:
            print(f"已写入 wrote {Path(out)}/allocation.xlsx")
        return 0
    if args.advanced_share is not None:
        raise InputError(field="--advanced-share", value=args.advanced_share,
                         problem="departments.csv is written for a one-year run (without "
                                 "--years or --replications)")
    if args.xlsx:
        raise InputError(field="--xlsx", problem="the workbook is written for a one-year run "
                                                 "(without --years or --replications)")

    if args.scheduler and args.engine not in ("dask", "auto"):
        raise InputError(field="--scheduler", value=args.scheduler,
                         problem="needs --engine dask")
    settings = scenario_settings(scenario, years=args.years, replications=args.replications,
                                 chunk=args.chunk)
    given = {}   # how the user gave the sizes: --set simulation.years=..., --years ...
    for item in args.set:
        path = item.partition("=")[0].strip()
        if path in ("simulation.years", "simulation.replications", "simulation.chunk"):
            given[path.removeprefix("simulation.")] = f"--set {path}"
    given.update({k: f"--{k}" for k in ("years", "replications", "chunk")
                  if getattr(args, k) is not None})
    check_monte_carlo_memory(scenario, settings, engine=args.engine, workers=args.workers,
                             scheduler=args.scheduler, given=given)
    with claim_output(out, inputs=inputs):
        mc = simulate(scenario, settings, engine=args.engine, workers=args.workers,
                      scheduler=args.scheduler, noise=not args.no_noise)
        write_monte_carlo(mc, out)
    print_monte_carlo(mc, out)
    return 0
