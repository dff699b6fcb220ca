"""The ``perfsim`` console command's entry point: interrupts are taken from the first instant.

Loading the commands takes a few seconds (numpy, pandas, scipy, ...). This module imports only
the standard library, installs a handler for SIGINT (Ctrl-C) and SIGTERM, and only then loads
:mod:`perfsim.cli`: an interrupt during the loading prints the same line as an interrupt later
(``perfsim: interrupted``, exit status 130), never a traceback or a silent exit 143. Once a
command runs, :func:`perfsim.io.handle_interrupts` takes over (and hands back to this handler
when it is done). Nothing has been written while this handler is in charge, so it exits at once.

The handler is installed only in the main thread of the ``perfsim`` process itself, not in a
worker process that loads the command file again (``multiprocessing``'s spawn start method
imports it as ``__mp_main__``): workers leave interrupts to their parent.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from types import FrameType

#: The exit status of an interrupted command (128 + SIGINT), whichever signal arrived.
EXIT_INTERRUPTED = 130


def _interrupted(signum: int, frame: FrameType | None) -> None:
    """Say so in one line and exit with :data:`EXIT_INTERRUPTED` at once."""
    try:
        sys.stderr.write("perfsim: interrupted\n")
        sys.stderr.flush()
    finally:
        os._exit(EXIT_INTERRUPTED)


if "__mp_main__" not in sys.modules and threading.current_thread() is threading.main_thread():
    for _signal in (signal.SIGINT, signal.SIGTERM):
        signal.signal(_signal, _interrupted)

from perfsim.cli import main  # noqa: E402  (the slow part, after the handler)

__all__ = ["EXIT_INTERRUPTED", "main"]
