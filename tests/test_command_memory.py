"""The ``perfsim`` command's process keeps the memory of the arrays it frees for the next ones
(glibc's mallopt, :func:`perfsim.limits.keep_freed_memory`), as the engines' workers do; a
process that merely imports perfsim as a library is left as it was."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: allocate and free 400 MB in 50 arrays of 8 MB (below the kept threshold, above glibc's
#: default), then print the resident MiB still held
PROBE = """
import numpy as np
held = [np.ones(1_000_000) for _ in range(50)]
del held
pages = int(open("/proc/self/statm").read().split()[1])
import os
print(pages * os.sysconf("SC_PAGE_SIZE") / 2**20)
"""


def resident_after_freeing(setup: str) -> float:
    out = subprocess.run([sys.executable, "-c", setup + PROBE], capture_output=True,
                         text=True, cwd=ROOT, check=True)
    return float(out.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not Path("/proc/self/statm").exists() or sys.platform != "linux",
                    reason="glibc and /proc only: elsewhere nothing changes")
def test_the_command_process_keeps_freed_memory_and_a_library_user_does_not():
    command = resident_after_freeing("import perfsim.start\n")
    library = resident_after_freeing("import perfsim.cli\n")
    assert command > library + 300, (command, library)
