"""``perfsim app``: the what-if page served by Voilà (see perfsim.app)."""

from __future__ import annotations

import argparse
from pathlib import Path

from perfsim.app.compute import open_scenario
from perfsim.app.server import serve
from perfsim.cli.common import (
    _pos_int,
)


def add(sub: argparse._SubParsersAction) -> None:
    """``perfsim app``: the what-if page served by Voilà (see perfsim.app)."""
    app = sub.add_parser(
        "app", help="the no-code what-if page in a browser (Voilà)",
        description="Serve the what-if page with Voilà on 127.0.0.1 and print its address: "
                    "upload a portfolio (.xlsx or .csv), move the 中 ratio, the cutoffs, the "
                    "优 quota, the pool and the spot-check share, and see the savings, grades, "
                    "who loses most, and download allocation.xlsx. Ctrl-C stops it.")
    app.add_argument("portfolio", type=Path, nargs="?", default=None, metavar="PORTFOLIO",
                     help="open with this portfolio of ready scores (.xlsx/.csv) or scenario "
                          "(.yaml); default: upload one on the page")
    app.add_argument("--port", type=_pos_int, default=None,
                     help="port on 127.0.0.1 (default: a free one)")
    app.add_argument("--no-browser", action="store_true", help="do not open a browser")
    app.set_defaults(func=_cmd_app)


def _cmd_app(args: argparse.Namespace) -> int:
    if args.portfolio is not None:  # a bad file: one line now, not a broken page later
        open_scenario(args.portfolio)
    return serve(args.portfolio, args.port, browser=not args.no_browser,
                 announce=lambda line: print(line, flush=True))
