"""``python -m perfsim.cli``: interrupts taken before the commands load.

:mod:`perfsim.cli` imports this module first, before the commands and their libraries (numpy,
pandas, scipy: seconds). While Python loads the package for ``python -m perfsim.cli``,
``sys.argv[0]`` is ``"-m"``; then this module installs the handler the ``perfsim`` console
command installs first (:func:`perfsim.errors.take_interrupts`, see :mod:`perfsim.start`), so
that Ctrl-C or SIGTERM during the loading prints ``perfsim: interrupted`` and exits with status
130, not a traceback. Imported in any other way (the console command, a test, a notebook), it
does nothing.
"""

from __future__ import annotations

import sys

from perfsim.errors import take_interrupts

if sys.argv[:1] == ["-m"]:
    take_interrupts()
