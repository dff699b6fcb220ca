"""``perfsim bench``: measure speed (kept out of the test suite)."""

from __future__ import annotations

import argparse
import json

from perfsim.app.compute import bench_calls
from perfsim.bench import (
    REPEATS,
    _fresh,
    bench_table,
    format_app_bench,
    format_bench,
    format_imported_bench,
    format_notebooks_bench,
    format_sensitivity_bench,
    machine,
    run_bench,
    time_app,
    time_full_process_imported,
    time_import,
    time_notebooks,
    time_sensitivity,
)
from perfsim.errors import InputError
from perfsim.run.simulate import ENGINES


def add(sub: argparse._SubParsersAction) -> None:
    """``perfsim bench``."""
    bench = sub.add_parser("bench", help="measure speed (kept out of the test suite)",
                           description="Time one year of scoring + grading + linkage at "
                                       "Liupanshui scale against its tightest numpy bound and "
                                       "pandas (vectorised and row by row), the five-year Monte "
                                       "Carlo of the full evaluation process against its "
                                       "random-number bound, and each engine.")
    bench.add_argument("--json", action="store_true", help="print JSON")
    bench.add_argument("--quick", action="store_true", help="a tenth of the replications")
    bench.add_argument("--scaling", action="store_true",
                       help="also time projects {867, 3468, 13872} x replications {250, 1000, "
                            "4000} of the full process (minutes)")
    bench.add_argument("--engines", default="numpy,processes,dask",
                       help="engines for the full-process run, comma-separated "
                            "(numpy, processes, dask)")
    bench.add_argument("--notebooks", action="store_true",
                       help="time the notebook suite (default parameters) and a sweep of 8 "
                            "runs on 1 and 2 workers (--quick: 4 short runs, no suite)")
    bench.set_defaults(func=_cmd_bench)
    bench.add_argument("--app", action="store_true",
                       help="time only one change on the what-if page (perfsim app) against "
                            "the bare one-year run, at Liupanshui scale")
    bench.add_argument("--imported", action="store_true",
                       help="time only perfsim import on generated workbooks and the full "
                            "process on imported tables beside a flat portfolio")
    bench.add_argument("--sensitivity", action="store_true",
                       help="time only a Sobol analysis (6 parameters, N = 1,024) of "
                            "3,468 projects with measured leaves (weighting_comparison)")
    bench.add_argument("--repeats", type=int, default=REPEATS,
                       help=f"rounds of each interleaved A/B comparison (default {REPEATS}); "
                            "ratios are their medians with [min, max]")
    bench.add_argument("--table", metavar="FILE.json",
                       help="print the documentation's performance table (markdown) from the "
                            "JSON of an earlier `perfsim bench --json`, and time nothing")


def _cmd_bench(args: argparse.Namespace) -> int:
    if getattr(args, "table", None):
        print(bench_table(_read_json(args.table)), end="")
        return 0
    repeats = getattr(args, "repeats", REPEATS)
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise InputError(field="--repeats", value=repeats, problem="must be a whole number >= 1")
    if getattr(args, "notebooks", False):
        timing = time_notebooks(quick=args.quick)
        print(json.dumps(timing, indent=2) if args.json else format_notebooks_bench(timing))
        return 0
    if getattr(args, "sensitivity", False):
        timing = {**machine(), **_fresh(time_sensitivity, 128 if args.quick else 1024)}
        print(json.dumps(timing, indent=2) if args.json else format_sensitivity_bench(timing))
        return 0
    if getattr(args, "imported", False):
        scale = 10 if args.quick else 1
        timing = {**machine(), "import": time_import(200 // scale),
                  "full_process_imported": time_full_process_imported(
                      replications=1000 // scale)}
        print(json.dumps(timing, indent=2) if args.json else format_imported_bench(timing))
        return 0
    if getattr(args, "app", False):
        timing = {**machine(), **time_app(bench_calls(), repeats=5 if args.quick else 21)}
        print(json.dumps(timing, indent=2) if args.json else format_app_bench(timing))
        return 0
    engines = tuple(e.strip() for e in args.engines.split(",") if e.strip())
    for e in engines:
        if e not in ENGINES:
            raise InputError(field="--engines", value=e,
                             problem=f"unknown engine (known: {', '.join(ENGINES)})")
    result = run_bench(quick=args.quick, engines=engines, scaling=args.scaling,
                       repeats=repeats)
    result["app"] = time_app(bench_calls(), repeats=5 if args.quick else 21)
    print(json.dumps(result, indent=2) if args.json else format_bench(result))
    return 0


def _read_json(path: str) -> dict:
    """The JSON of ``perfsim bench --json``."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        raise InputError(path, problem="file not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InputError(path, problem=f"not the JSON of perfsim bench --json ({err})"
                         ) from None
    if not isinstance(data, dict):
        raise InputError(path, problem="not the JSON of perfsim bench --json")
    return data
