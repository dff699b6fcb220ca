"""``perfsim app``: serve the what-if page with Voilà on this machine.

Voilà runs :data:`NOTEBOOK` (package data: one cell that displays
:func:`perfsim.app.whatif.panel`) on 127.0.0.1, with a kernel that is this Python (the
project's own environment): a kernel spec named ``python3`` pointing at ``sys.executable``
is put first on ``JUPYTER_PATH`` for the server only. The server runs in a session of its
own, so Ctrl-C reaches perfsim, which stops it (its kernels with it) and returns.

Everything the server and its kernels write stays in the app's temporary folder, removed when
the app stops: the working folder, ``TMPDIR``, Jupyter's data, config and runtime folders,
the IPython folder (and the kernels keep no history: ``HistoryManager.enabled=False``) and
matplotlib's cache.
The kernel of a page that was closed is stopped after ``idle_timeout`` seconds
(``MappingKernelManager.cull_idle_timeout``; kernels of open pages are kept). The upload
limits (:class:`perfsim.app.compute.Limits`) reach the page's kernel in its environment;
Tornado takes messages up to the upload limit plus a margin, so a refused upload is refused
by the page with a line, never by a dropped connection.
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

from perfsim.app.compute import Limits
from perfsim.errors import InputError

NOTEBOOK = Path(__file__).resolve().with_name("perfsim_whatif.ipynb")
#: The environment variable through which the served notebook gets PORTFOLIO.
PORTFOLIO_ENV = "PERFSIM_APP_PORTFOLIO"
HOST = "127.0.0.1"
#: Seconds to wait for the server to listen before giving up.
START_TIMEOUT = 120.0
#: Seconds after which the kernel of a closed page is stopped, and how often that is checked.
CULL_IDLE = 600
CULL_INTERVAL = 60
#: What Tornado takes in one message beyond the upload limit (the message's own framing).
MESSAGE_MARGIN = 4 * 2**20


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
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}",
                 "--HistoryManager.enabled=False", "--HistoryManager.hist_file=:memory:"],
        "display_name": "Python 3 (perfsim)", "language": "python",
        "metadata": {"debugger": False}}), encoding="utf-8")
    return data_dir


def voila_command(port: int, notebook: Path = NOTEBOOK) -> list[str]:
    """The command that serves ``notebook`` on 127.0.0.1:``port`` (sources hidden)."""
    return [sys.executable, "-m", "voila", str(notebook), f"--port={port}", "--no-browser",
            f"--Voila.ip={HOST}", "--strip_sources=True", "--theme=light",
            "--show_tracebacks=False"]


def server_config(limits: Limits, idle_timeout: int = CULL_IDLE,
                  interval: int = CULL_INTERVAL) -> dict:
    """``voila.json``: kernels of closed pages culled after ``idle_timeout`` seconds (checked
    every ``interval``, at most the timeout), and Tornado's largest message above the upload
    limit."""
    return {
        "MappingKernelManager": {"cull_idle_timeout": int(idle_timeout),
                                 "cull_interval": int(max(1, min(interval, idle_timeout))),
                                 "cull_connected": False, "cull_busy": False},
        "Voila": {"tornado_settings": {
            "websocket_max_message_size": limits.max_upload_bytes + MESSAGE_MARGIN}},
    }


def server_env(folder: Path, limits: Limits, portfolio: Path | None = None
               ) -> dict[str, str]:
    """The server's environment: this Python's kernel first on ``JUPYTER_PATH``, every
    folder Jupyter, IPython, matplotlib and ``tempfile`` write to inside ``folder``, the
    upload limits, and the portfolio to open."""
    data = write_kernel_spec(folder / "jupyter")
    env = dict(os.environ)
    env["JUPYTER_PATH"] = os.pathsep.join(p for p in (str(data), env.get("JUPYTER_PATH"))
                                          if p)
    for var, sub in (("IPYTHONDIR", "ipython"), ("JUPYTER_RUNTIME_DIR", "runtime"),
                     ("JUPYTER_DATA_DIR", "data"), ("JUPYTER_CONFIG_DIR", "config"),
                     ("MPLCONFIGDIR", "matplotlib"), ("TMPDIR", "tmp")):
        (folder / sub).mkdir(exist_ok=True)
        env[var] = str(folder / sub)
    env.update(limits.to_env())
    if portfolio is not None:
        env[PORTFOLIO_ENV] = str(Path(portfolio).resolve())
    else:
        env.pop(PORTFOLIO_ENV, None)
    return env


def _listening(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex((HOST, port)) == 0


def serve(portfolio: Path | None = None, port: int | None = None, *, browser: bool = True,
          announce: Callable[[str], None] = print, limits: Limits | None = None,
          idle_timeout: int = CULL_IDLE) -> int:
    """Serve the page until Ctrl-C (or the server stops); ``announce`` gets the address once
    the server listens. Uploads beyond ``limits`` are refused by the page; the kernel of a
    page closed for ``idle_timeout`` seconds is stopped. Returns 0 when stopped by Ctrl-C,
    else the server's exit status."""
    limits = limits or Limits()
    if portfolio is not None and not Path(portfolio).exists():
        raise InputError(portfolio, problem="file not found")
    port = port or free_port()
    if _listening(port):
        raise InputError(field="--port", value=port, problem="something listens there already")
    with tempfile.TemporaryDirectory(prefix="perfsim-app-") as tmp:
        folder = Path(tmp)
        env = server_env(folder, limits, portfolio)
        (folder / "voila.json").write_text(json.dumps(server_config(limits, idle_timeout)),
                                           encoding="utf-8")
        log = folder / "voila.log"
        with open(log, "wb") as out:  # run in the folder: voila reads voila.json there
            proc = subprocess.Popen(voila_command(port), env=env, stdout=out,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    start_new_session=True, cwd=folder)
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
