"""``perfsim notebooks run|list|index`` and ``perfsim sweep`` (see perfsim.notebooks)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from perfsim.cli.common import (
    EXIT_INPUT,
    _Parser,
    _pos_int,
)
from perfsim.notebooks import index as nb_index
from perfsim.notebooks import parameters as nb_parameters
from perfsim.notebooks import runner as notebooks
from perfsim.notebooks import sweep as nb_sweep


def add(sub: argparse._SubParsersAction) -> None:
    """``perfsim notebooks run|list|index`` and ``perfsim sweep`` (see perfsim.notebooks)."""
    nb = sub.add_parser("notebooks", help="run the parameterised notebooks with papermill",
                        description="Run the numbered notebooks in notebooks/ with papermill "
                                    "into reports/<run-id>/ (executed notebook, HTML, figures, "
                                    "tables, manifest.json) and regenerate reports/index.html.")
    nbs = nb.add_subparsers(title="actions", metavar="ACTION", parser_class=_Parser)
    nrun = nbs.add_parser("run", help="run notebooks (default: all, in order)")
    nrun.add_argument("names", nargs="*", metavar="NAME",
                      help="notebook number or name, e.g. 04 or 04_reduction_ratio")
    nrun.add_argument("-p", "--parameter", nargs=2, action="append", default=[],
                      metavar=("KEY", "VALUE"), dest="parameters",
                      help="set a parameter (converted to the type of its default); repeat")
    nrun.add_argument("--params", type=Path, default=None, metavar="FILE",
                      help="YAML or JSON file of parameters (-p wins)")
    nrun.add_argument("--out", type=Path, default=Path("reports"), metavar="DIR",
                      help="reports directory (default: reports)")
    nrun.add_argument("--run-id", default=None,
                      help="run id (letters, digits, _ - .); with several notebooks a prefix")
    shown = nrun.add_mutually_exclusive_group()
    shown.add_argument("--no-code", action="store_true", help="hide code in the HTML report")
    shown.add_argument("--code", action="store_true",
                       help="show code in the HTML report (the notebooks of finance staff and "
                            "trainers hide it by default)")
    nrun.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                      help="limit on each cell's execution time")
    nrun.set_defaults(func=_cmd_notebooks_run)
    nlist = nbs.add_parser("list", help="list notebooks and their parameters")
    nlist.set_defaults(func=_cmd_notebooks_list)
    nidx = nbs.add_parser("index", help="regenerate reports/index.html")
    nidx.add_argument("--out", type=Path, default=Path("reports"), metavar="DIR")
    nidx.set_defaults(func=_cmd_notebooks_index)
    nb.set_defaults(func=lambda args: (nb.print_help(), EXIT_INPUT)[1])

    sw = sub.add_parser("sweep", help="run a notebook over a grid of parameters in parallel",
                        description="Expand GRID.yaml (notebook: NAME, parameters: {...}, grid: "
                                    "{key: [values...]}) into notebook runs executed in "
                                    "parallel; writes reports/<sweep-id>/ with every run, "
                                    "sweep.csv (all results tables) and comparison.png. Exits "
                                    "non-zero naming the failed runs; the others complete.")
    sw.add_argument("grid", type=Path, metavar="GRID.yaml")
    sw.add_argument("--workers", type=_pos_int, default=None,
                    help="parallel runs (default: min(2, CPUs))")
    sw.add_argument("--engine", choices=["processes", "dask"], default="processes",
                    help="processes: a process pool (default); dask: a dask LocalCluster")
    sw.add_argument("--out", type=Path, default=Path("reports"), metavar="DIR")
    sw.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                    help="limit on each cell's execution time")
    sw.set_defaults(func=_cmd_sweep)


def _cmd_notebooks_run(args: argparse.Namespace) -> int:
    texts: dict[str, str] = {}
    for key, value in args.parameters:
        texts[key] = value
    given = nb_parameters.read_parameter_file(args.params) if args.params else None

    def show(r: notebooks.RunResult) -> None:
        note = f" — {r.error}" if r.error else ""
        print(f"{r.status:6} {r.notebook}: {r.path}{note}", flush=True)

    results = notebooks.run_notebooks(args.names, parameters=given, texts=texts,
                                      reports=args.out, run_id=args.run_id,
                                      no_code=args.no_code, code=True if args.code else None,
                                      timeout=args.timeout, progress=show,
                                      parameter_file=args.params)
    failed = [r for r in results if not r.ok]
    if failed:
        print(f"perfsim: {len(failed)} notebook(s) failed: "
              + ", ".join(f"{r.notebook} ({r.run_id})" for r in failed), file=sys.stderr)
    print(f"index: {(args.out / nb_index.INDEX).resolve()}")
    return 1 if failed else 0


def _cmd_notebooks_list(args: argparse.Namespace) -> int:
    print(nb_parameters.describe())
    return 0


def _cmd_notebooks_index(args: argparse.Namespace) -> int:
    print(f"index: {nb_index.write_index(args.out).resolve()}")
    return 0


def _cmd_sweep(args: argparse.Namespace) -> int:
    spec = nb_sweep.read_sweep(args.grid)
    n = len(spec.combinations())
    print(f"sweep {spec.name}: {n} runs of {spec.notebook.stem}", flush=True)

    def show(outcome: dict) -> None:
        note = f" — {outcome['error']}" if outcome.get("error") else ""
        print(f"{outcome['status']:6} run {outcome['run_id']} ({outcome['seconds']:.1f} s)"
              f"{note}", flush=True)

    result = nb_sweep.run_sweep(spec, workers=args.workers, engine=args.engine,
                                 reports=args.out, timeout=args.timeout, progress=show)
    print(f"wrote {result.path}/sweep.csv ({len(result.table)} rows)")
    print(f"index: {(args.out / nb_index.INDEX).resolve()}")
    if result.failed:
        print(f"perfsim: {len(result.failed)} of {n} runs failed: "
              + "; ".join(f"run {r['run_id']} {r['parameters']}: {r['error']}"
                          for r in result.failed), file=sys.stderr)
        return 1
    return 0
