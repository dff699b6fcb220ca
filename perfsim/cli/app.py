"""``perfsim app``: the what-if page served by Voilà (see perfsim.app)."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from perfsim.app.compute import Limits, open_scenario
from perfsim.app.server import CULL_IDLE, serve
from perfsim.cli.common import (
    _pos_int,
)

_DEFAULT = Limits()


def _port(text: str) -> int:
    """A TCP port: a whole number from 1 to 65535."""
    value = _pos_int(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"must be a port from 1 to 65535, got {value}")
    return value


def _pos_mb(text: str) -> float:
    """A size in MiB above 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of MiB, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a number of MiB above 0, got {text!r}")
    return value


def add(sub: argparse._SubParsersAction) -> None:
    """``perfsim app``: the what-if page served by Voilà (see perfsim.app)."""
    app = sub.add_parser(
        "app", help="the no-code what-if page in a browser (Voilà)",
        description="Serve the what-if page with Voilà on 127.0.0.1 and print its address: "
                    "upload a portfolio (.xlsx or .csv) or self-evaluation workbooks (one, "
                    "many or a .zip: the review's findings in the page), move the 中 ratio, "
                    "the cutoffs, the 优 quota, the pool and the spot-check share, and see the "
                    "savings, grades, who loses most, and download allocation.xlsx. Uploads "
                    "beyond the limits below are refused before any work. Ctrl-C stops it.")
    app.add_argument("portfolio", type=Path, nargs="?", default=None, metavar="PORTFOLIO",
                     help="open with this portfolio of ready scores (.xlsx/.csv) or scenario "
                          "(.yaml); default: upload one on the page")
    app.add_argument("--port", type=_port, default=None,
                     help="port on 127.0.0.1, 1 to 65535 (default: a free one)")
    app.add_argument("--no-browser", action="store_true", help="do not open a browser")
    app.add_argument("--max-upload-mb", type=_pos_mb, default=_DEFAULT.max_upload_mb,
                     metavar="MIB", help="largest upload, all its files together (default "
                                         f"{_DEFAULT.max_upload_mb:g} MiB)")
    app.add_argument("--max-rows", type=_pos_int, default=_DEFAULT.max_rows, metavar="N",
                     help="most rows of an uploaded portfolio (default "
                          f"{_DEFAULT.max_rows:,})")
    app.add_argument("--max-expanded-mb", type=_pos_mb, default=_DEFAULT.max_expanded_mb,
                     metavar="MIB", help="most a workbook or .zip may expand to, read from "
                                         "its directory before anything is inflated (default "
                                         f"{_DEFAULT.max_expanded_mb:g} MiB)")
    app.add_argument("--idle-timeout", type=_pos_int, default=CULL_IDLE, metavar="SECONDS",
                     help="stop the kernel of a page closed (or idle) this long (default "
                          f"{CULL_IDLE} s)")
    app.set_defaults(func=_cmd_app)


def _cmd_app(args: argparse.Namespace) -> int:
    if args.portfolio is not None:  # a bad file: one line now, not a broken page later
        open_scenario(args.portfolio)
    limits = Limits(args.max_upload_mb, args.max_rows, args.max_expanded_mb)
    return serve(args.portfolio, args.port, browser=not args.no_browser,
                 announce=lambda line: print(line, flush=True), limits=limits,
                 idle_timeout=args.idle_timeout)
