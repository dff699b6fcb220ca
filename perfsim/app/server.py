"""``perfsim app``: serve the what-if page with Voilà on this machine.

Voilà runs :data:`NOTEBOOK` (package data: one cell that displays
:func:`perfsim.app.whatif.panel`) on 127.0.0.1, with a kernel that is this Python (the
project's own environment): a kernel spec named ``python3`` pointing at ``sys.executable``
is put first on ``JUPYTER_PATH`` for the server only. The server runs in a session of its
own, so Ctrl-C reaches perfsim, which stops it (its kernels with it) and returns.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import webbrowser
from collections.abc import Callable
from pathlib import Path

from perfsim.errors import InputError

NOTEBOOK = Path(__file__).resolve().with_name("perfsim_whatif.ipynb")
#: The environment variable through which the served notebook gets PORTFOLIO.
PORTFOLIO_ENV = "PERFSIM_APP_PORTFOLIO"
HOST = "127.0.0.1"
#: Seconds to wait for the server to listen before giving up.
START_TIMEOUT = 120.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def write_kernel_spec(data_dir: Path) -> Path:
    """A Jupyter data directory whose ``python3`` kernel is this Python."""
    spec = data_dir / "kernels" / "python3"
    spec.mkdir(parents=True, exist_ok=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (perfsim)", "language": "python",
        "metadata": {"debugger": False}}), encoding="utf-8")
    return data_dir


def voila_command(port: int, notebook: Path = NOTEBOOK) -> list[str]:
    """The command that serves ``notebook`` on 127.0.0.1:``port`` (sources hidden)."""
    return [sys.executable, "-m", "voila", str(notebook), f"--port={port}", "--no-browser",
            f"--Voila.ip={HOST}", "--strip_sources=True", "--theme=light",
            "--show_tracebacks=False"]


def _listening(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex((HOST, port)) == 0


def serve(portfolio: Path | None = None, port: int | None = None, *, browser: bool = True,
          announce: Callable[[str], None] = print) -> int:
    """Serve the page until Ctrl-C (or the server stops); ``announce`` gets the address once
    the server listens. Returns 0 when stopped by Ctrl-C, else the server's exit status."""
    if portfolio is not None and not Path(portfolio).exists():
        raise InputError(portfolio, problem="file not found")
    port = port or free_port()
    if _listening(port):
        raise InputError(field="--port", value=port, problem="something listens there already")
    with tempfile.TemporaryDirectory(prefix="perfsim-app-") as tmp:
        data = write_kernel_spec(Path(tmp) / "jupyter")
        env = dict(os.environ)
        env["JUPYTER_PATH"] = os.pathsep.join(p for p in (str(data), env.get("JUPYTER_PATH"))
                                              if p)
        if portfolio is not None:
            env[PORTFOLIO_ENV] = str(Path(portfolio).resolve())
        else:
            env.pop(PORTFOLIO_ENV, None)
        log = Path(tmp) / "voila.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen(voila_command(port), env=env, stdout=out,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    start_new_session=True)
            try:
                return _run(proc, port, log, browser, announce)
            except KeyboardInterrupt:
                _stop(proc)
                announce("perfsim app: stopped")
                return 0
            finally:
                _stop(proc)


def _run(proc: subprocess.Popen, port: int, log: Path, browser: bool,
         announce: Callable[[str], None]) -> int:
    deadline = time.monotonic() + START_TIMEOUT
    while not _listening(port):
        if proc.poll() is not None or time.monotonic() > deadline:
            tail = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()
            reason = tail[-1] if tail else f"exit status {proc.returncode}"
            raise InputError(field="perfsim app", problem=f"Voilà did not start: {reason}")
        time.sleep(0.2)
    url = f"http://{HOST}:{port}/"
    announce(f"perfsim app: {url} (Ctrl-C stops it)")
    if browser:
        webbrowser.open(url)
    code = proc.wait()
    if code:  # the server died on its own: say why
        tail = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-5:]
        print("\n".join(["perfsim app: the server stopped (exit status "
                         f"{code}); the end of its log:", *tail]), file=sys.stderr)
    return code


def _stop(proc: subprocess.Popen) -> None:
    """Stop the server: SIGTERM (it shuts its kernels down), then SIGKILL to its group."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
