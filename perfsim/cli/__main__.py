"""``python -m perfsim.cli``: the ``perfsim`` command."""

import sys

from perfsim.cli import main

sys.exit(main())
