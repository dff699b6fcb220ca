"""The ``perfsim`` console command's entry point: interrupts are taken from the first instant.

Loading the commands takes a few seconds (numpy, pandas, scipy, ...). This module imports only
the standard library and :mod:`perfsim.errors` (itself standard library only), installs a
handler for SIGINT (Ctrl-C) and SIGTERM (:func:`perfsim.errors.take_interrupts`), and only then
loads :mod:`perfsim.cli`: an interrupt during the loading prints the same line as an interrupt
later (``perfsim: interrupted``, exit status 130), never a traceback or a silent exit 143. Once
a command runs, :func:`perfsim.io.handle_interrupts` takes over (and hands back to this handler
when it is done). Nothing has been written while this handler is in charge, so it exits at once.

``python -m perfsim.cli`` installs the same handler first thing (:mod:`perfsim.cli`), and runs
the same :func:`perfsim.cli.main`.

The command's process is perfsim's own and ends with its work, so it keeps the memory of freed
arrays for the next (:func:`perfsim.limits.keep_freed_memory`, as the engines' workers do): a
Monte Carlo's chunks would otherwise fault fresh pages in for every large array.

The handler is installed only in the main thread of the ``perfsim`` process itself, not in a
worker process that loads the command file again (``multiprocessing``'s spawn start method
imports it as ``__mp_main__``): workers leave interrupts to their parent.
"""

from __future__ import annotations

from perfsim.errors import EXIT_INTERRUPTED, take_interrupts

take_interrupts()

from perfsim.cli import main  # noqa: E402  (the slow part, after the handler)
from perfsim.limits import keep_freed_memory  # noqa: E402

keep_freed_memory()   # this process is perfsim's own and ends with its command

__all__ = ["EXIT_INTERRUPTED", "main"]
