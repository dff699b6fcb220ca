"""``perfsim robust bod|smaa|loo``: rankings under other admissible weights, and without each
indicator in turn."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from perfsim.analyse.robust import (
    BOD_VARIANTS,
    benefit_of_the_doubt,
    bod_variant,
    leave_one_out,
    smaa,
)
from perfsim.cli.common import (
    _nonneg_int,
    _system_and_portfolio,
)
from perfsim.errors import InputError
from perfsim.io import (
    atomic_directory,
    read_yaml,
    to_jsonable,
)
from perfsim.model.weights import filled_counts
from perfsim.present.report import (
    format_robust,
    write_csv,
    write_rank_acceptability,
)
from perfsim.present.robust import (
    format_bod_variant,
    format_leave_one_out,
    write_rank_intervals,
)


def add(sub: argparse._SubParsersAction) -> None:
    """``perfsim robust``."""
    rob = sub.add_parser(
        "robust", help="rankings under other admissible weights (benefit of the doubt, SMAA) "
                       "and without each indicator in turn (leave one out)",
        description="bod: each project's score under its most favourable admissible weights "
                    "(benefit of the doubt; 1 = best under some weights). smaa: SMAA-2 rank "
                    "acceptability under weights drawn uniformly from the admissible ones "
                    "(optionally with noise on the values and indicator exclusion), each "
                    "project's rank interval, holistic acceptability and confidence factor. "
                    "loo: leave one out, each indicator removed in turn (its points shared "
                    "as indicators.remove does): mean and largest rank shift, share of grades "
                    "changed. Admissible weights are shares of the total weight, within the "
                    "optional --bounds. Give SCENARIO, or SYSTEM PORTFOLIO (with "
                    "measurements).")
    rob.add_argument("method", choices=["bod", "smaa", "loo"], help="bod, smaa or loo")
    rob.add_argument("files", type=Path, nargs="+", metavar="FILE",
                     help="SCENARIO, or SYSTEM PORTFOLIO")
    rob.add_argument("--bounds", type=Path, default=None,
                     help="YAML file with a bounds: block (each leaf's and level-1 group's "
                          "share of the total weight)")
    rob.add_argument("--draws", type=int, default=None,
                     help="smaa: weight draws (default 10000); bod --variant order_m: sets of "
                          "peers per project (default 100)")
    rob.add_argument("--variant", choices=BOD_VARIANTS, default=None,
                     help="bod: own_shares (the --bounds bound each project's own shares of "
                          "its score, Compind's ci_bod_constr), undesirable (directional BoD "
                          "of Zanella, Camanho & Dias 2015 on the raw measurements, "
                          "lower-is-better leaves shrunk) or order_m (robust order-m BoD, "
                          "Daraio & Simar 2007)")
    rob.add_argument("--m", type=int, default=20,
                     help="bod --variant order_m: peers per draw (default 20)")
    rob.add_argument("--undesirable", default="auto",
                     help="bod --variant undesirable: comma-separated leaf codes that are "
                          "lower-is-better (default auto: the leaves whose raw value lowers "
                          "the score)")
    rob.add_argument("--top", type=int, default=10,
                     help="projects listed (and, smaa, the ranks counted as the top; "
                          "default 10)")
    rob.add_argument("--seed", type=_nonneg_int, default=None,
                     help="smaa: seed of the draws (default: the scenario's, else 0)")
    rob.add_argument("--noise", type=float, default=0.0,
                     help="smaa: relative noise on each attainment value, a share in [0, 1] "
                          "(each value times 1 + u, u uniform on [-noise, noise]; default 0)")
    rob.add_argument("--exclude", type=float, default=0.0,
                     help="smaa: probability that a draw drops one indicator (its weight shared "
                          "among the others; default 0)")
    rob.add_argument("--meta-weights", default="centroid",
                     choices=["centroid", "linear", "inverse"],
                     help="smaa: meta-weights of the ranks in the holistic acceptability "
                          "index (default centroid)")
    rob.add_argument("--rescale", default="system", choices=["system", "group"],
                     help="loo: who takes a removed indicator's points (indicators.rescale: "
                          "every leaf left, or the rest of its level-1 group; default system)")
    rob.add_argument("--out", type=Path, default=None,
                     help="also write the tables as CSV here (smaa: and the heat map and the "
                          "rank-interval plot, PNG and SVG)")
    rob.add_argument("--json", action="store_true", help="print JSON")
    rob.set_defaults(func=_cmd_robust)


#: Which methods each new option applies to (its default: not given). ``--draws`` and
#: ``--seed`` stay accepted (and unused) with plain ``bod``, as before.
_APPLIES = {"--noise": ("noise", 0.0, ("smaa",)), "--exclude": ("exclude", 0.0, ("smaa",)),
            "--meta-weights": ("meta_weights", "centroid", ("smaa",)),
            "--rescale": ("rescale", "system", ("loo",)),
            "--variant": ("variant", None, ("bod", *BOD_VARIANTS)), "--m": ("m", 20, ("order_m",)),
            "--undesirable": ("undesirable", "auto", ("undesirable",)),
            "--bounds": ("bounds", None, ("smaa", "bod", "own_shares"))}


def _check_applicable(args: argparse.Namespace) -> None:
    """An option the chosen method does not use is a mistake, not something to ignore."""
    what = args.method if args.method != "bod" or args.variant is None else args.variant
    for option, (name, default, methods) in _APPLIES.items():
        if getattr(args, name) != default and what not in methods:
            raise InputError(field=option, value=str(getattr(args, name)),
                             problem=f"only applies to {', '.join(methods)}, not to {what}")


def _cmd_robust(args: argparse.Namespace) -> int:
    _check_applicable(args)
    system, portfolio, scenario, inputs = _system_and_portfolio(args.files, args.out,
                                                                args.bounds)
    if isinstance(args.top, bool) or args.top < 1:
        raise InputError(field="--top", value=args.top, problem="must be a whole number >= 1")
    bounds = None
    if args.bounds is not None:
        doc = read_yaml(args.bounds)
        if not isinstance(doc, dict) or "bounds" not in doc:
            raise InputError(args.bounds, field="bounds",
                             problem="needs a bounds: block (leaves and/or groups)")
        for key in doc:
            if key != "bounds":
                raise InputError(args.bounds, field=str(key),
                                 problem="unknown key (allowed: bounds)")
        bounds = doc["bounds"]
    src = str(args.bounds) if args.bounds is not None else None
    if args.method == "loo":
        result = leave_one_out(scenario if scenario is not None else system, portfolio,
                               rescale=args.rescale)
        tables = {"leave_one_out": result.table, "leave_one_out_shifts": result.shifts}
    elif args.method == "bod" and args.variant is not None:
        draws = 100 if args.draws is None else args.draws
        undesirable = (args.undesirable if args.undesirable == "auto"
                       else [c.strip() for c in args.undesirable.split(",") if c.strip()])
        seed = args.seed if args.seed is not None else (
            scenario.seed if scenario is not None else 0)
        result = bod_variant(system, portfolio, args.variant, bounds=bounds, m=args.m,
                             draws=draws, seed=seed, undesirable=undesirable, source=src)
        tables = {f"bod_{args.variant}": result.table}
        if result.weights is not None:
            tables[f"bod_{args.variant}_weights"] = result.weights
    elif args.method == "bod":
        result = benefit_of_the_doubt(system, portfolio, bounds, source=src)
        tables = {"bod": result.table, "bod_weights": result.weights}
    else:
        args.draws = 10_000 if args.draws is None else args.draws
        if args.draws < 1:
            raise InputError(field="--draws", value=args.draws,
                             problem="must be a whole number >= 1")
        seed = args.seed if args.seed is not None else (
            scenario.seed if scenario is not None else 0)
        result = smaa(system, portfolio, draws=args.draws, seed=seed, bounds=bounds,
                      top=args.top, noise=args.noise, exclude=args.exclude,
                      meta_weights=args.meta_weights, source=src)
        tables = {"smaa": result.table, "smaa_departments": result.departments,
                  "smaa_central_weights": result.central_weights}
    if args.out is not None:
        with atomic_directory(args.out, kind=f"robust-{args.method}", inputs=inputs) as tmp:
            for name, table in tables.items():
                write_csv(table, tmp / f"{name}.csv")
            if args.method == "smaa":
                write_rank_acceptability(result, tmp / "rank_acceptability.png",
                                         top=args.top, source=_robust_source(args, result))
                write_rank_intervals(result, tmp / "rank_intervals",
                                     source=_robust_source(args, result))
    if args.json:
        print(json.dumps(to_jsonable({k: t.to_dict(orient="records")
                                      for k, t in tables.items()}), indent=2,
                         ensure_ascii=False))
    else:
        if args.method == "loo":
            print(format_leave_one_out(result))
        elif args.method == "bod" and args.variant is not None:
            print(format_bod_variant(result, args.top))
        else:
            print(format_robust(result, args.top))
        cells = _cells_line(system, portfolio)
        if cells:
            print(cells)
        if args.out is not None:
            print(f"\n已写入 wrote {args.out}/ ({', '.join(tables)} .csv"
                  + (", rank_acceptability.png, rank_intervals.png/.svg)"
                     if args.method == "smaa" else ")"))
    return 0


def _cells_line(system: Any, portfolio: Any) -> str | None:
    """One line on the cells without a value (blank, n/a, 未申报) among the attainments BoD and
    SMAA read, by the treatment their leaf's policy gives them; None when there are none."""
    by = filled_counts(system, portfolio)
    if by.empty:
        return None
    total = portfolio.n_projects * len(system.codes)
    return (f"缺失值 missing cells: {int(by.sum())} of {total} cells hold no value, each used "
            "with the attainment its leaf's policy gives it ("
            + ", ".join(f"{n} {t}" for t, n in by.items()) + ")")


def _robust_source(args: argparse.Namespace, result: Any) -> str:
    """The source line of a robustness figure: the command's inputs and draws."""
    names = " ".join(p.name for p in args.files)
    return (f"perfsim robust {args.method} {names}"
            + (f", bounds {args.bounds.name}" if args.bounds is not None else "")
            + f"; {result.draws:,} draws, seed {result.seed}"
            + (f", noise {args.noise:g}" if args.noise else "")
            + (f", exclude {args.exclude:g}" if args.exclude else ""))
