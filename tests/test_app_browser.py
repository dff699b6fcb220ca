"""The what-if app in a real browser: ``perfsim app`` serves the page with Voilà, Playwright
drives Debian's headless Chromium (never a browser Playwright downloads), uploads the bundled
example workbook, moves the 中 ratio from 15% to 20% and reads the savings the page shows,
which must be the figure ``perfsim run ... --set linkage.ratio=0.2`` prints; a bad upload
then shows the line ``perfsim validate`` gives for that file. The test also writes the
README's screenshot, ``docs/images/app.png``, and stops the server with Ctrl-C (SIGINT).

Without Chromium the fixture runs ``scripts/install-browser`` (apt-get, as root or with
passwordless sudo); if there is still none the test is skipped with a one-line reason.
"""

from __future__ import annotations

import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from conftest import ROOT

from perfsim.app.example import EXAMPLE_SCENARIO, EXAMPLE_WORKBOOK
from perfsim.app.server import free_port

SCREENSHOT = ROOT / "docs" / "images" / "app.png"
INSTALL = ROOT / "scripts" / "install-browser"
CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
TIMEOUT_MS = 60_000


def _chromium() -> str | None:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    return found or next((c for c in CANDIDATES if os.access(c, os.X_OK)), None)


@pytest.fixture(scope="module")
def chromium() -> str:
    path = _chromium()
    if path is None:
        subprocess.run(["bash", str(INSTALL)], capture_output=True, text=True, timeout=900)
        path = _chromium()
    if path is None:
        pytest.skip("no Chromium: scripts/install-browser could not install Debian's chromium "
                    "(needs root or passwordless sudo, and apt-get)")
    return path


def _env() -> dict[str, str]:
    """This tree's perfsim first, for the command and the kernel Voilà starts."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    return env


def _savings_printed(*args: str, out: Path) -> str:
    """The savings ``perfsim run`` prints: ``savings 173,608,390.25 yuan (...)``."""
    done = subprocess.run([sys.executable, "-m", "perfsim.cli", "run", *args, "--out",
                           str(out)], capture_output=True, text=True, env=_env(), cwd=ROOT,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return re.search(r"节约 savings ([\d,.\-]+) 元", done.stdout).group(1)


@pytest.fixture
def app():
    """``perfsim app --no-browser --port N``: the address it prints, then Ctrl-C."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "perfsim.cli", "app", "--no-browser",
                             "--port", str(port)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=_env(), cwd=ROOT)
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(ln) for ln in proc.stdout],
                              daemon=True)
    reader.start()
    try:
        first = lines.get(timeout=120)
    except queue.Empty:
        proc.kill()
        pytest.fail("perfsim app printed no address within 120 s")
    assert first.strip() == f"perfsim app: http://127.0.0.1:{port}/ (Ctrl-C stops it)", first
    state = {"proc": proc, "lines": lines, "reader": reader}
    yield f"http://127.0.0.1:{port}/", state
    if proc.poll() is None:
        proc.kill()
        proc.wait()


@pytest.mark.browser
def test_upload_and_ratio_in_a_real_browser(chromium, app, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    url, state = app
    at_15 = _savings_printed(str(EXAMPLE_SCENARIO), out=tmp_path / "r15")
    at_20 = _savings_printed(str(EXAMPLE_SCENARIO), "--set", "linkage.ratio=0.2",
                             out=tmp_path / "r20")
    assert at_15 != at_20
    bad = tmp_path / "mine.csv"
    bad.write_text("project_id,department,budget,score\nP1,D1,-5,80\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "perfsim.cli", "validate", bad.name],
                          capture_output=True, text=True, env=_env(), cwd=tmp_path, timeout=120)
    assert done.returncode == 2
    expected_error = done.stderr.strip()
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 1300})
            page.set_default_timeout(TIMEOUT_MS)
            page.goto(url)
            page.wait_for_selector(".perfsim-upload")
            with page.expect_file_chooser() as chooser:
                page.click(".perfsim-upload")
            chooser.value.set_files(str(EXAMPLE_WORKBOOK))
            savings = page.locator(".perfsim-savings")
            sync_api.expect(savings).to_have_text(at_15, timeout=TIMEOUT_MS)
            assert page.locator(".perfsim-error").inner_text().strip() == ""
            box = page.locator(".perfsim-ratio-box input")
            sync_api.expect(box).to_have_value("15")
            box.fill("20")
            box.press("Enter")
            sync_api.expect(savings).to_have_text(at_20, timeout=TIMEOUT_MS)
            sync_api.expect(page.locator(".perfsim-ratio .widget-readout")).to_have_text(
                "20.0")
            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOT), full_page=True)
            # a bad upload: the one line `perfsim validate` gives for the file, on the page
            with page.expect_file_chooser() as chooser:
                page.click(".perfsim-upload")
            chooser.value.set_files(str(bad))
            sync_api.expect(page.locator(".perfsim-error")).to_have_text(expected_error,
                                                                         timeout=TIMEOUT_MS)
            sync_api.expect(savings).to_be_hidden()
        finally:
            browser.close()
    proc = state["proc"]
    proc.send_signal(signal.SIGINT)  # Ctrl-C stops it
    assert proc.wait(timeout=60) == 0
    state["reader"].join(timeout=30)
    rest = []
    while not state["lines"].empty():
        rest.append(state["lines"].get())
    assert "perfsim app: stopped" in "".join(rest)
    assert SCREENSHOT.stat().st_size > 0
