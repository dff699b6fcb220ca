"""The ``perfsim`` command: parse, call the package, print. No logic lives here.

Errors in user input print one line, ``perfsim: error: ...``, and exit with status 2.

One module per command or command family, each holding its parser (``add(sub)``) and its
``_cmd_…`` function on :mod:`perfsim.cli.common`; a new command is a new module plus its
line in :data:`COMMANDS`.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

import perfsim.cli.early  # noqa: F401  (first: python -m perfsim.cli takes Ctrl-C at once)
from perfsim.cli import (
    app,
    bench,
    bunching,
    calibrate,
    checks,
    diagnose,
    docs,
    estimate,
    help_zh,
    importer,
    notebooks,
    report,
    robust,
    run,
    sensitivity,
    template,
    validate,
    weights,
)
from perfsim.cli.common import EXIT_INPUT, _Parser, set_parameters
from perfsim.errors import PerfsimError
from perfsim.io import handle_interrupts
from perfsim.version import __version__

__all__ = ["COMMANDS", "EXIT_INPUT", "build_parser", "main", "set_parameters"]

#: The commands in the order ``perfsim --help`` lists them: each module adds its subparser.
COMMANDS = (run, bench, calibrate, sensitivity, report, checks, validate, estimate, bunching,
            template, weights, diagnose, robust, notebooks, importer, app, docs)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error already printed
        return int(exc.code or 0)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_INPUT
    try:
        with handle_interrupts():  # SIGINT and SIGTERM: KeyboardInterrupt, once
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
    p = _Parser(
        prog="perfsim",
        description="Simulate and calibrate budget performance management (预算绩效管理).")
    p.add_argument("--version", action="version", version=f"perfsim {__version__}")
    sub = p.add_subparsers(title="commands", metavar="COMMAND", parser_class=_Parser)
    for command in COMMANDS:
        command.add(sub)
    return help_zh.apply(p)  # Chinese first, English alongside, for every command
