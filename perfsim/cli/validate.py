"""``perfsim validate``: check scenario, indicator-system or portfolio files."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from perfsim.cli.common import (
    EXIT_INPUT,
)
from perfsim.errors import InputError
from perfsim.model.indicators import load_indicator_system
from perfsim.model.validate import describe_file


def add(sub: argparse._SubParsersAction) -> None:
    """``perfsim validate``."""
    val = sub.add_parser("validate", help="check scenario, indicator-system or portfolio files",
                         description="Check files; prints one line per file and exits non-zero "
                                     "if any is invalid. The kind of file is recognised from "
                                     "its content.")
    val.add_argument("files", type=Path, nargs="+", metavar="FILE")
    val.add_argument("--system", type=Path, default=None,
                     help="indicator system to check portfolios with measurements against")
    val.set_defaults(func=_cmd_validate)


def _cmd_validate(args: argparse.Namespace) -> int:
    system = None
    if args.system is not None:
        system = load_indicator_system(args.system)
    failed = 0
    for path in args.files:
        try:
            print(f"ok: {describe_file(path, system)}")
        except InputError as err:
            failed += 1
            print(f"perfsim: error: {err}", file=sys.stderr)
    return EXIT_INPUT if failed else 0
