"""``perfsim template``: a portfolio workbook to fill in, a scenario's portfolio as ready
scores, or synthetic self-evaluation workbooks in the MoF layout for training and tests."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from perfsim.app.example import scores_workbook
from perfsim.cli.common import (
    DEFAULT_SYSTEM,
)
from perfsim.errors import InputError
from perfsim.forms.generate import VARIANTS as SELFEVAL_VARIANTS
from perfsim.forms.generate import write_selfeval
from perfsim.limits import check_memory, selfeval_bytes
from perfsim.model.indicators import load_indicator_system
from perfsim.model.scenario import load_scenario
from perfsim.present.template import portfolio_template


def add(sub: argparse._SubParsersAction) -> None:
    """``perfsim template``."""
    tpl = sub.add_parser(
        "template", help="a portfolio workbook to fill in for an indicator system",
        description="Write an Excel workbook with one column per project field and leaf of "
                    "the indicator system (bilingual notes on every header, drop-down lists "
                    "for graded levels and yes/no flags, an example row scoring full marks); "
                    "perfsim reads it back as a portfolio once filled in.")
    tpl.add_argument("kind", choices=["portfolio", "scores", "selfeval"],
                     help="portfolio: a workbook to fill in for an indicator system; scores: "
                          "a --scenario's portfolio (generated or read) as ready scores "
                          "(project_id, department, budget, score); selfeval: synthetic "
                          "项目支出/部门整体支出绩效自评表 workbooks in the MoF layout, with "
                          "truth.csv, truth_tasks.csv and planted.csv (--out is then a new folder)")
    tpl.add_argument("--scenario", type=Path, default=None,
                     help="scores: the scenario whose portfolio is written")
    tpl.add_argument("--system", type=Path, default=None,
                     help="indicator system (YAML or Excel; default: the national project "
                          "self-evaluation template)")
    tpl.add_argument("--out", type=Path, required=True, help="the new .xlsx file")
    # selfeval: training workbooks (perfsim.forms.generate)
    tpl.add_argument("--projects", type=int, default=None,
                     help="selfeval: how many workbooks")
    tpl.add_argument("--seed", type=int, default=0, help="selfeval: random seed (default 0)")
    tpl.add_argument("--errors", type=float, default=0.0,
                     help="selfeval: share of tables in [0, 1] with planted errors (default 0)")
    tpl.add_argument("--variants", nargs="+", default=None, metavar="VARIANT",
                     help=f"selfeval: layouts taken in turn (default all: "
                          f"{', '.join(SELFEVAL_VARIANTS)})")
    tpl.set_defaults(func=_cmd_template)


def _check_out(out: Path, new_folder: bool = False) -> None:
    """Refuse an ``--out`` that lies under a regular file, or (a workbook) whose folder does not
    exist, before any work: one line naming it, not an operating-system error."""
    absolute = Path(os.path.abspath(out))
    for q in absolute.parents:
        if os.path.lexists(q):
            if not q.is_dir():
                raise InputError(out, field="--out",
                                 problem=f"lies under a file, not a folder ({q} is a file); "
                                         "choose another --out")
            break
        if not new_folder:
            raise InputError(out, field="--out",
                             problem=f"the folder does not exist ({absolute.parent}); create "
                                     "it or choose another --out")


def _cmd_template_selfeval(args: argparse.Namespace) -> int:
    if args.scenario is not None or args.system is not None:
        raise InputError(field="--scenario", problem="template selfeval takes no --scenario "
                                                     "or --system")
    if args.projects is None:
        raise InputError(field="--projects", problem="template selfeval needs --projects N")
    check_memory(selfeval_bytes(args.projects), field="--projects", value=args.projects)
    done = write_selfeval(args.out, args.projects, seed=args.seed, errors=args.errors,
                          variants=args.variants or SELFEVAL_VARIANTS)
    print(f"wrote {done.workbooks} workbooks ({done.tables} tables, {done.planted} planted "
          f"errors) with truth.csv, truth_tasks.csv and planted.csv to {done.out}")
    return 0


def _cmd_template(args: argparse.Namespace) -> int:
    _check_out(args.out, new_folder=args.kind == "selfeval")
    if args.kind == "selfeval":
        return _cmd_template_selfeval(args)
    if args.projects is not None:
        raise InputError(field="--projects", problem="only template selfeval takes --projects")
    if args.kind == "scores":
        if args.scenario is None or args.system is not None:
            raise InputError(field="--scenario", problem="template scores needs --scenario "
                                                         "(and no --system)")
        print(f"wrote {scores_workbook(load_scenario(args.scenario), args.out)}")
        return 0
    if args.scenario is not None:
        raise InputError(field="--scenario", problem="only template scores takes --scenario")
    system = load_indicator_system(args.system or DEFAULT_SYSTEM)
    print(f"wrote {portfolio_template(system, args.out)}")
    return 0
