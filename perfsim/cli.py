"""The ``perfsim`` command: parse, call the package, print. No logic lives here.

Errors in user input print one line, ``perfsim: error: ...``, and exit with status 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from perfsim import __version__
from perfsim.errors import InputError, PerfsimError

EXIT_INPUT = 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_INPUT
    try:
        return int(args.func(args) or 0)
    except PerfsimError as err:
        print(f"perfsim: error: {err}", file=sys.stderr)
        return EXIT_INPUT
    except BrokenPipeError:
        return 0
    except OSError as err:
        print(f"perfsim: error: {err.filename or ''}: {err.strerror or err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("perfsim: interrupted", file=sys.stderr)
        return 130
    except Exception as err:  # a bug: one line, the traceback only on request
        if os.environ.get("PERFSIM_DEBUG"):
            raise
        print(f"perfsim: internal error: {err.__class__.__name__}: {err} "
              "(set PERFSIM_DEBUG=1 for the traceback)", file=sys.stderr)
        return 1


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="perfsim",
        description="Simulate and calibrate budget performance management (预算绩效管理).")
    p.add_argument("--version", action="version", version=f"perfsim {__version__}")
    sub = p.add_subparsers(title="commands", metavar="COMMAND")

    run = sub.add_parser("run", help="score, grade and link a scenario; write allocations",
                         description="Score, grade and apply the budget-linkage rule to a "
                                     "scenario's portfolio. Writes allocations.csv, ledger.csv, "
                                     "grades.csv and summary.json into --out.")
    run.add_argument("scenario", type=Path, help="scenario YAML file")
    run.add_argument("--out", type=Path, default=None,
                     help="output directory (default: reports/runs/<scenario name>)")
    run.add_argument("--seed", type=_nonneg_int, default=None, help="override the scenario seed")
    mc = run.add_argument_group(
        "Monte Carlo", "Given --years or --replications, run the evaluation process over years "
        "and replications (settings from the scenario's `simulation:` block, overridden here); "
        "writes replications.csv, projects.csv and summary.json (means, 5-95%% intervals).")
    mc.add_argument("--years", type=_pos_int, default=None, help="years to simulate")
    mc.add_argument("--replications", type=_pos_int, default=None, help="replications")
    mc.add_argument("--chunk", type=_pos_int, default=None,
                    help="replications per chunk (bounds memory; results do not depend on it)")
    mc.add_argument("--engine", choices=["numpy", "processes", "dask"], default="numpy",
                    help="numpy: in-process (default); processes: a process pool; "
                         "dask: dask.distributed (a LocalCluster unless --scheduler)")
    mc.add_argument("--workers", type=_pos_int, default=None, help="worker processes")
    mc.add_argument("--scheduler", default=None, metavar="ADDR",
                    help="address of a running Dask scheduler, e.g. tcp://127.0.0.1:8786")
    run.set_defaults(func=_cmd_run)

    bench = sub.add_parser("bench", help="measure speed (kept out of the test suite)",
                           description="Time one year of scoring + grading + linkage at "
                                       "Liupanshui scale against a bare numpy and a row-wise "
                                       "pandas reference, the scaling over three sizes, and a "
                                       "multi-year Monte Carlo of the full evaluation process.")
    bench.add_argument("--json", action="store_true", help="print JSON")
    bench.add_argument("--quick", action="store_true", help="a tenth of the replications")
    bench.add_argument("--engines", default="numpy,processes",
                       help="engines for the full-process run, comma-separated "
                            "(numpy, processes, dask)")
    bench.set_defaults(func=_cmd_bench)

    val = sub.add_parser("validate", help="check scenario, indicator-system or portfolio files",
                         description="Check files; prints one line per file and exits non-zero "
                                     "if any is invalid. The kind of file is recognised from "
                                     "its content.")
    val.add_argument("files", type=Path, nargs="+", metavar="FILE")
    val.add_argument("--system", type=Path, default=None,
                     help="indicator system to check portfolios with measurements against")
    val.set_defaults(func=_cmd_validate)
    return p


def _nonneg_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def _pos_int(text: str) -> int:
    value = _nonneg_int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _cmd_run(args: argparse.Namespace) -> int:
    from perfsim.engine import run_year
    from perfsim.report import print_year, write_year
    from perfsim.scenario import load_scenario

    scenario = load_scenario(args.scenario, seed=args.seed)
    out = args.out or Path("reports") / "runs" / scenario.name
    if args.years is None and args.replications is None:
        if args.engine != "numpy" or args.scheduler or args.chunk or args.workers:
            raise InputError(field="--engine", value=args.engine,
                             problem="engine options need --years or --replications")
        result = run_year(scenario)
        write_year(result, out)
        print_year(result, out)
        return 0
    from perfsim.report import print_monte_carlo, write_monte_carlo
    from perfsim.simulate import settings_from_dict, simulate

    if args.scheduler and args.engine != "dask":
        raise InputError(field="--scheduler", value=args.scheduler,
                         problem="needs --engine dask")
    try:
        settings = settings_from_dict(scenario.spec.get("simulation"), years=args.years,
                                      replications=args.replications, chunk=args.chunk)
    except InputError as err:
        raise err.at(scenario.source) from None
    mc = simulate(scenario, settings, engine=args.engine, workers=args.workers,
                  scheduler=args.scheduler)
    write_monte_carlo(mc, out)
    print_monte_carlo(mc, out)
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    import json

    from perfsim.bench import format_bench, run_bench
    from perfsim.simulate import ENGINES

    engines = tuple(e.strip() for e in args.engines.split(",") if e.strip())
    for e in engines:
        if e not in ENGINES:
            raise InputError(field="--engines", value=e,
                             problem=f"unknown engine (known: {', '.join(ENGINES)})")
    result = run_bench(quick=args.quick, engines=engines)
    print(json.dumps(result, indent=2) if args.json else format_bench(result))
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    from perfsim.validate import describe_file

    system = None
    if args.system is not None:
        from perfsim.indicators import load_indicator_system

        system = load_indicator_system(args.system)
    failed = 0
    for path in args.files:
        try:
            print(f"ok: {describe_file(path, system)}")
        except InputError as err:
            failed += 1
            print(f"perfsim: error: {err}", file=sys.stderr)
    return EXIT_INPUT if failed else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
