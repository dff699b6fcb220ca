"""``python -m perfsim.cli``: the ``perfsim`` command.

Importing :mod:`perfsim.cli` for ``-m`` installs the same interrupt handler as the console
command (:mod:`perfsim.start`) before the commands load, and :func:`perfsim.cli.main` reports
errors the same way: one line, exit status 2 for bad input, 130 for an interrupt.
"""

import sys

from perfsim.cli import main
from perfsim.limits import keep_freed_memory

keep_freed_memory()   # as the console command (perfsim.start)
sys.exit(main())
