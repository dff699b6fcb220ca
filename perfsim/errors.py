"""Errors that perfsim reports to users as a single line.

Every problem with user input is raised as :class:`InputError`, which names the file, the place
in it (row, indicator code, key), the field and the offending value. Its message is one line,
Chinese first with English alongside (:mod:`perfsim.messages`). The command line prints
``perfsim: error: <message>`` and exits with status 2; it never shows a traceback for these; the
app and the notebooks show the same line.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from os import PathLike
from types import FrameType
from typing import Any

from perfsim import messages

_MISSING = object()


#: The exit status of an interrupted command (128 + SIGINT), whichever signal arrived.
EXIT_INTERRUPTED = 130


def _interrupted(signum: int, frame: FrameType | None) -> None:
    """Say so in one line and exit with :data:`EXIT_INTERRUPTED` at once."""
    try:
        sys.stderr.write("perfsim: interrupted\n")
        sys.stderr.flush()
    finally:
        os._exit(EXIT_INTERRUPTED)


def take_interrupts() -> None:
    """Answer SIGINT (Ctrl-C) and SIGTERM with ``perfsim: interrupted`` and exit status 130 at
    once, from this instant: the first thing the ``perfsim`` command does (:mod:`perfsim.start`,
    and ``python -m perfsim.cli``), before its libraries load. Nothing has been written while
    this handler is in charge; once a command runs, :func:`perfsim.io.handle_interrupts` takes
    over and hands back to it.

    Only in the main thread of the command's own process: not in a worker process that loads
    the command file again (``multiprocessing``'s spawn start method imports it as
    ``__mp_main__``), which leaves interrupts to its parent."""
    if "__mp_main__" not in sys.modules and threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, _interrupted)


class PerfsimError(Exception):
    """Base class for errors that the command line reports as one line."""


class InputError(PerfsimError, ValueError):
    """Bad user input: a file, a row or indicator, a field and a value.

    ``InputError("portfolio.csv", "row 7", "budget", -5, "must be >= 0")`` reads
    ``portfolio.csv: 第 7 行 row 7: 字段 field 'budget' = -5: 必须 ≥ 0 / must be >= 0``. Any
    part may be omitted; ``problem`` is English, translated by :mod:`perfsim.messages`.
    """

    def __init__(
        self,
        source: str | PathLike[str] | None = None,
        where: str | None = None,
        field: str | None = None,
        value: Any = _MISSING,
        problem: str = "invalid value",
    ) -> None:
        self.source = None if source is None else str(source)
        self.where = where
        self.field = field
        self.value = None if value is _MISSING else value
        self.has_value = value is not _MISSING
        self.problem = problem
        super().__init__(messages.frame(self.source, where, field,
                                        _show(value) if self.has_value else None, problem))

    def at(self, source: str | PathLike[str] | None = None, where: str | None = None,
           field: str | None = None) -> InputError:
        """The same error placed in ``source``/``where`` (kept if already set), with ``field``
        replacing the field name when given."""
        return InputError(
            self.source or source,
            self.where or where,
            field if field is not None else self.field,
            self.value if self.has_value else _MISSING,
            self.problem,
        )


    def noting(self, note: str) -> InputError:
        """The same error with ``note`` (already in both languages) at the end of its line."""
        err = self.at()
        err.args = (f"{err.args[0]} {note}",)
        return err


def _show(value: Any) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        text = str(int(value))
    else:
        text = repr(value) if isinstance(value, str) else str(value)
    text = text.replace("\n", "\\n")
    return text if len(text) <= 80 else text[:77] + "..."


class OutputBusyError(PerfsimError):
    """Another perfsim command is writing the same output directory: one line, exit status 2,
    Chinese first with English alongside."""

    def __str__(self) -> str:
        return messages.bilingual(super().__str__())
