"""Ctrl-C and SIGTERM at any moment of a ``perfsim`` command (issue 23, start-up): during the
seconds its libraries load, while it parses, while it works — one line, ``perfsim:
interrupted``, exit status 130, no traceback, and no output left half-written.

The command's first lines (:mod:`perfsim.start`) install the handler; before them only the
Python interpreter itself runs. Each case waits until the process has installed it (Linux
shows a caught SIGTERM in ``/proc/PID/status``, which Python never catches by default), then
sends the signal after a delay."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import caught, tiny_scores_scenario

PERFSIM = Path(sys.executable).with_name("perfsim")

pytestmark = pytest.mark.skipif(not Path("/proc/self/status").exists(),
                                reason="reads /proc to see when the handler is installed")


def interrupt(args: list[str], sig: int, delay: float) -> tuple[int, str]:
    """Start ``perfsim ARGS``, wait until its handler is installed, wait ``delay`` seconds,
    send ``sig``; its exit status and stderr."""
    proc = subprocess.Popen([str(PERFSIM), *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while signal.SIGTERM not in caught(proc.pid):
            assert proc.poll() is None and time.monotonic() < deadline, proc.poll()
            time.sleep(0.005)
        time.sleep(delay)
        assert proc.poll() is None, "finished before the signal: choose a longer command"
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return proc.returncode, err


@pytest.mark.parametrize(("sig", "delay"), [(signal.SIGINT, 0.0), (signal.SIGTERM, 0.3)])
def test_while_loading_help(sig, delay):
    # perfsim --help still loads every command (seconds) before it prints
    code, err = interrupt(["--help"], sig, delay)
    assert (code, err) == (130, "perfsim: interrupted\n")


@pytest.mark.parametrize(("sig", "delay"), [(signal.SIGINT, 0.1), (signal.SIGTERM, 0.1),
                                            (signal.SIGINT, 1.0), (signal.SIGTERM, 2.0),
                                            (signal.SIGINT, 4.0)])
def test_while_a_run_loads_and_works(tmp_path, sig, delay):
    scenario = tiny_scores_scenario(tmp_path)
    out = tmp_path / "out"
    code, err = interrupt(["run", str(scenario), "--replications", "50000", "--years", "3",
                           "--out", str(out)], sig, delay)
    assert (code, err) == (130, "perfsim: interrupted\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.yaml"]  # nothing half-written
