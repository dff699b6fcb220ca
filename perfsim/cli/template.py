"""``perfsim template``: a portfolio workbook to fill in, or a scenario's portfolio as ready
scores."""

from __future__ import annotations

import argparse
from pathlib import Path

from perfsim.app.example import scores_workbook
from perfsim.cli.common import (
    DEFAULT_SYSTEM,
)
from perfsim.errors import InputError
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
    tpl.add_argument("kind", choices=["portfolio", "scores"],
                     help="portfolio: a workbook to fill in for an indicator system; scores: "
                          "a --scenario's portfolio (generated or read) as ready scores "
                          "(project_id, department, budget, score)")
    tpl.add_argument("--scenario", type=Path, default=None,
                     help="scores: the scenario whose portfolio is written")
    tpl.add_argument("--system", type=Path, default=None,
                     help="indicator system (YAML or Excel; default: the national project "
                          "self-evaluation template)")
    tpl.add_argument("--out", type=Path, required=True, help="the new .xlsx file")
    tpl.set_defaults(func=_cmd_template)


def _cmd_template(args: argparse.Namespace) -> int:
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
