"""``perfsim bench``: measure speed (kept out of the test suite)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from perfsim.app.compute import bench_calls
from perfsim.bench import (
    IMPORTED_REPLICATIONS,
    RECHECK_TOLERANCE,
    REPEATS,
    bench_table,
    format_app_bench,
    format_bench,
    format_imported_bench,
    format_notebooks_bench,
    format_recheck,
    format_sensitivity_bench,
    machine,
    read_bench_json,
    recheck,
    recheck_plan,
    run_bench,
    time_app,
    time_full_process_imported,
    time_import,
    time_notebooks,
    time_sensitivities,
)
from perfsim.errors import InputError
from perfsim.io import check_own_file, to_jsonable, write_own_file
from perfsim.run.simulate import ENGINES

RECHECK_PERCENT = round(100 * RECHECK_TOLERANCE)
#: the first key of every JSON perfsim bench writes: ``--out`` replaces only such a file
WRITTEN_BY = "perfsim bench --json"
_SIGNATURE = f'"written_by": "{WRITTEN_BY}"'


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
                            "3,468 projects with measured leaves (weighting_comparison), "
                            "--repeats times: the median")
    bench.add_argument("--repeats", type=int, default=None,
                       help=f"rounds of each interleaved A/B comparison (default {REPEATS}; "
                            "with --recheck, the rounds the JSON records); ratios are their "
                            "medians with [min, max]")
    bench.add_argument("--table", metavar="FILE.json",
                       help="print the documentation's performance table (markdown) from the "
                            "JSON of an earlier `perfsim bench --json`, and time nothing")
    bench.add_argument("--out", metavar="FILE.json",
                       help="write the JSON to FILE.json (whole, then renamed into place; an "
                            "existing file is replaced only if perfsim bench wrote it) instead "
                            "of printing: `perfsim bench --json --out docs/reference/bench.json` "
                            "refreshes the documentation's performance table")
    bench.add_argument("--recheck", metavar="FILE.json",
                       help="measure the ratios of an earlier `perfsim bench --json` again "
                            "(interleaved, at the sizes and rounds it records), print each "
                            "ratio recorded against measured again, and exit 1 unless all "
                            f"agree within {RECHECK_PERCENT}%%")


def _cmd_bench(args: argparse.Namespace) -> int:
    table, again, out = (getattr(args, k, None) for k in ("table", "recheck", "out"))
    if table and again:
        raise InputError(field="--recheck", value=again, problem="not with --table")
    if out and (table or again):
        raise InputError(field="--out", value=out,
                         problem="only where perfsim bench measures (not with --table or "
                                 "--recheck)")
    if table:
        print(_table_of(table), end="")
        return 0
    repeats = getattr(args, "repeats", None)
    if repeats is not None and (isinstance(repeats, bool) or not isinstance(repeats, int)
                                or repeats < 1):
        raise InputError(field="--repeats", value=repeats, problem="must be a whole number >= 1")
    if again:
        return _recheck(again, repeats, args.json)
    if out:  # refused before minutes of measuring: no folder, or a file not perfsim bench's
        folder = Path(out).absolute().parent
        if not folder.is_dir():
            raise InputError(out, field="--out",
                             problem=f"the folder does not exist ({folder}); create it or "
                                     "choose another --out")
        check_own_file(out, _SIGNATURE)
    repeats = REPEATS if repeats is None else repeats
    if getattr(args, "notebooks", False):
        timing = time_notebooks(quick=args.quick)
        return _emit(args, timing, format_notebooks_bench)
    if getattr(args, "sensitivity", False):
        timing = {**machine(), **time_sensitivities(128 if args.quick else 1024, repeats)}
        return _emit(args, timing, format_sensitivity_bench)
    if getattr(args, "imported", False):
        scale = 10 if args.quick else 1
        timing = {**machine(), "import": time_import(200 // scale),
                  "full_process_imported": time_full_process_imported(
                      replications=IMPORTED_REPLICATIONS // scale,
                      repeats=repeats)}
        return _emit(args, timing, format_imported_bench)
    if getattr(args, "app", False):
        timing = {**machine(), **time_app(bench_calls(), repeats=5 if args.quick else 21)}
        return _emit(args, timing, format_app_bench)
    engines = tuple(e.strip() for e in args.engines.split(",") if e.strip())
    for e in engines:
        if e not in ENGINES:
            raise InputError(field="--engines", value=e,
                             problem=f"unknown engine (known: {', '.join(ENGINES)})")
    result = run_bench(quick=args.quick, engines=engines, scaling=args.scaling,
                       repeats=repeats)
    result["app"] = time_app(bench_calls(), repeats=5 if args.quick else 21)
    return _emit(args, result, format_bench)


def json_text(result: dict) -> str:
    """The JSON perfsim bench prints or writes: ``written_by`` first, then the figures."""
    return json.dumps(to_jsonable({"written_by": WRITTEN_BY, **result}), indent=2,
                      ensure_ascii=False, allow_nan=False) + "\n"


def _emit(args: argparse.Namespace, result: dict, text: Callable[[Any], str]) -> int:
    """``result`` written to ``--out`` (as JSON), or printed as JSON or as text."""
    out = getattr(args, "out", None)
    if out:
        print(f"wrote {write_own_file(out, lambda: json_text(result), _SIGNATURE)}")
    elif args.json:
        print(json_text(result), end="")
    else:
        print(text(result))
    return 0


def _table_of(path: str) -> str:
    """The performance table of the bench JSON at ``path``."""
    try:
        return bench_table(read_bench_json(path))
    except InputError as err:
        raise err.at(path) from None


def _recheck(path: str, repeats: int | None, as_json: bool) -> int:
    """``--recheck``: the JSON's ratios measured again; exit 1 unless all agree."""
    recorded = read_bench_json(path)
    try:
        recheck_plan(recorded, repeats=repeats)  # every key checked before anything is timed
        new, rows = recheck(recorded, app_calls=bench_calls() if "app" in recorded else None,
                            repeats=repeats)
    except InputError as err:
        raise err.at(path) from None
    if as_json:
        print(json.dumps(to_jsonable({"recorded": path, "measured": new, "ratios": rows}),
                         indent=2, ensure_ascii=False, allow_nan=False))
    else:
        print(f"{path}: measured {recorded.get('date', '(date not recorded)')} on "
              f"{recorded.get('machine', '(machine not recorded)')}; measured again "
              f"{new['date']} on {new['machine']}")
        print(format_recheck(rows))
    return 0 if all(r["agrees"] for r in rows) else 1
