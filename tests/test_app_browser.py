"""The what-if app in a real browser: ``perfsim app`` serves the page with Voilà, Playwright
drives Debian's headless Chromium (never a browser Playwright downloads), uploads the bundled
example workbook, moves the 中 ratio from 15% to 20% and reads the savings the page shows,
which must be the figure ``perfsim run ... --set linkage.ratio=0.2`` prints; a bad upload
then shows the line ``perfsim validate`` gives for that file. The test takes a screenshot
of the page into its temporary directory — never over a tracked file; ``scripts/app-screenshot``
runs this test and copies that picture to ``docs/images/app.png``, which the README and
docs/start/finance.md show — and stops the server with Ctrl-C (SIGINT).

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
import zipfile
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import ROOT

from perfsim.app.example import EXAMPLE_SCENARIO, EXAMPLE_WORKBOOK
from perfsim.app.server import free_port

#: end to end (a server and a browser): CI's second required step, with the notebooks
pytestmark = pytest.mark.slow

SCREENSHOT = "app.png"  # the picture's name in the test's temporary directory
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


def _start(*options: str, env: dict[str, str] | None = None):
    """``perfsim app --no-browser --port N OPTIONS``: the address and the running state."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "perfsim.cli", "app", "--no-browser",
                             "--port", str(port), *options], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=env or _env(), cwd=ROOT)
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
    return f"http://127.0.0.1:{port}/", {"proc": proc, "lines": lines, "reader": reader}


def _stop(state: dict) -> None:
    """Ctrl-C (perfsim stops Voilà and its kernels), then kill if it is still running."""
    proc = state["proc"]
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def app():
    """``perfsim app --no-browser --port N``: the address it prints, then Ctrl-C."""
    url, state = _start()
    yield url, state
    _stop(state)


@pytest.mark.browser
def test_upload_and_ratio_in_a_real_browser(chromium, app, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    url, state = app
    at_15 = _savings_printed(str(EXAMPLE_SCENARIO), out=tmp_path / "r15")
    at_20 = _savings_printed(str(EXAMPLE_SCENARIO), "--set", "linkage.ratio=0.2",
                             out=tmp_path / "r20")
    assert at_15 != at_20
    shot = tmp_path / SCREENSHOT  # scripts/app-screenshot copies it to docs/images/
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
            shot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(shot), full_page=True)
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
    assert shot.stat().st_size > 0


def _upload(page, *paths: Path) -> None:
    with page.expect_file_chooser() as chooser:
        page.click(".perfsim-upload")
    chooser.value.set_files([str(p) for p in paths])


def _kernels(server_pid: int) -> list[int]:
    """The kernels the app's Voilà runs: processes whose parent is the server (Voilà, in
    its own session, is the app's child) and whose command is ipykernel's."""
    children = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
            cmd = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(text.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append((int(stat.parent.name), cmd))
    voila = [pid for pid, cmd in children.get(server_pid, []) if b"voila" in cmd]
    return [pid for v in voila for pid, cmd in children.get(v, [])
            if b"ipykernel" in cmd]


@pytest.mark.browser
def test_self_evaluation_workbooks_in_a_real_browser(chromium, app, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    from perfsim.forms.generate import write_selfeval

    url, state = app
    books = tmp_path / "books"
    write_selfeval(books, 8, seed=5, errors=0.5)
    files = sorted(books.glob("*.xlsx"))
    done = subprocess.run([sys.executable, "-m", "perfsim.cli", "import", *map(str, files),
                           "--out", str(tmp_path / "imported")], capture_output=True,
                          text=True, env=_env(), cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr
    findings = len(pd.read_csv(tmp_path / "imported" / "findings.csv", encoding="utf-8-sig"))
    truth = pd.read_csv(books / "truth.csv", encoding="utf-8-sig")
    truth = truth[truth["form"] == "project"]
    excellent = int((truth["recomputed_grade"] == "优").sum())
    assert findings > 0
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 1300})
            page.set_default_timeout(TIMEOUT_MS)
            page.goto(url)
            page.wait_for_selector(".perfsim-upload")
            _upload(page, *files)
            summary = page.locator(".perfsim-review-summary")
            sync_api.expect(summary).to_contain_text(f"{len(files)} 个文件 files")
            sync_api.expect(summary.locator("b")).to_have_text(f"{findings:,}")
            sync_api.expect(page.locator(".perfsim-findings tr")).to_have_count(
                1 + min(findings, 10))
            row = page.locator(".perfsim-grades tr", has_text="优 excellent")
            sync_api.expect(row.locator("td").nth(1)).to_have_text(str(excellent))
            sync_api.expect(page.locator(".perfsim-status")).to_contain_text(
                f"{len(truth)} 项目 projects")
            assert page.locator(".perfsim-error").inner_text().strip() == ""
            page.click("text=生成复核工作簿 prepare review.xlsx")
            sync_api.expect(page.locator(".perfsim-review-download a")).to_have_text(
                "下载 download review.xlsx")
        finally:
            browser.close()


@pytest.mark.browser
def test_hostile_uploads_in_a_real_browser(chromium, tmp_path):
    """Formula text, a zip bomb, an oversized CSV and a GBK CSV each give a visible error or a
    correct result; the next valid file shows its own numbers; a closed page's kernel is
    culled; a lost kernel is said on the page; nothing is written to the user's home."""
    sync_api = pytest.importorskip("playwright.sync_api")
    header = "project_id,department,budget,score\n"
    formula = tmp_path / "formula.csv"
    formula.write_text(header + "P1,=1+1,1000,70\nP2,\"=HYPERLINK(\"\"http://x\"\")\",3000,50\n",
                       encoding="utf-8")
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("table.xlsx", b"\0" * (30 * 2**20))
    big = tmp_path / "big.csv"
    big.write_text(header + "".join(f"P{k},D{k % 9},{1000 + k},{k % 100}\n"
                                    for k in range(160_000)), encoding="utf-8")
    assert big.stat().st_size > 2 * 2**20
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes((header + "P1,财政局,1000,70\nP2,教育局,3000,95\n").encode("gbk"))
    after = tmp_path / "after.csv"
    after.write_text(header + "A1,审计局,4000,72\nA2,审计局,6000,50\nA3,税务局,1000,91\n",
                     encoding="utf-8")
    doc = yaml.safe_load(EXAMPLE_SCENARIO.read_text(encoding="utf-8"))
    doc["portfolio"] = {"file": str(after)}
    scenario = tmp_path / "after.yaml"
    scenario.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    after_savings = _savings_printed(str(scenario), out=tmp_path / "after_run")
    checked = subprocess.run([sys.executable, "-m", "perfsim.cli", "validate", gbk.name],
                             capture_output=True, text=True, env=_env(), cwd=tmp_path,
                             timeout=120)
    home = tmp_path / "home"
    home.mkdir()
    env = {**_env(), "HOME": str(home)}
    url, state = _start("--max-upload-mb", "2", "--max-expanded-mb", "10", "--idle-timeout",
                        "4", env=env)
    try:
        with sync_api.sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium, headless=True)
            try:
                page = browser.new_page(viewport={"width": 1200, "height": 1300})
                page.set_default_timeout(TIMEOUT_MS)
                page.goto(url)
                page.wait_for_selector(".perfsim-upload")
                error, status = page.locator(".perfsim-error"), page.locator(".perfsim-status")
                savings = page.locator(".perfsim-savings")
                # formula text is shown as text, never evaluated
                _upload(page, formula)
                sync_api.expect(status).to_contain_text("formula.csv")
                sync_api.expect(page.locator(".perfsim-ledger")).to_contain_text("=1+1")
                sync_api.expect(page.locator(".perfsim-ledger")).to_contain_text("=HYPERLINK(")
                # a zip bomb: refused from its directory, named
                _upload(page, bomb)
                sync_api.expect(error).to_contain_text("bomb.zip: 解压后 30.0 MiB")
                sync_api.expect(error).to_contain_text("expands to 30.0 MiB")
                sync_api.expect(status).to_contain_text("bomb.zip")
                sync_api.expect(savings).to_be_hidden()
                # an oversized CSV: never sent, refused with its size, named
                _upload(page, big)
                sync_api.expect(error).to_contain_text("big.csv: ")
                sync_api.expect(error).to_contain_text("more than the limit of 2.0 MiB")
                sync_api.expect(status).to_contain_text("big.csv")
                assert "bomb.zip" not in status.inner_text()
                # a GBK CSV: what `perfsim validate` says of it (read, or refused in one line)
                _upload(page, gbk)
                sync_api.expect(status).to_contain_text("gbk.csv")
                if checked.returncode == 0:
                    sync_api.expect(page.locator(".perfsim-ledger")).to_contain_text("财政局")
                else:
                    sync_api.expect(error).to_have_text(checked.stderr.strip())
                # the page recovers: a valid file shows its own numbers
                _upload(page, after)
                sync_api.expect(savings).to_have_text(after_savings)
                sync_api.expect(error).to_have_text("")
                sync_api.expect(status).to_contain_text("after.csv — 3 项目 projects")
                kernels = _kernels(state["proc"].pid)
                assert len(kernels) == 1
                page.close()
                # the closed page's kernel is culled
                for _ in range(120):
                    if kernels[0] not in _kernels(state["proc"].pid):
                        break
                    threading.Event().wait(1)
                assert kernels[0] not in _kernels(state["proc"].pid)
                # a lost kernel: a visible line on the page
                page = browser.new_page()
                page.set_default_timeout(TIMEOUT_MS)
                page.goto(url)
                page.wait_for_selector(".perfsim-upload")
                (kernel,) = _kernels(state["proc"].pid)
                os.kill(kernel, signal.SIGKILL)
                sync_api.expect(page.locator(".perfsim-connection-lost")).to_be_visible(
                    timeout=TIMEOUT_MS)
            finally:
                browser.close()
    finally:
        _stop(state)
    assert state["proc"].returncode == 0
    written = sorted(str(p.relative_to(home)) for p in home.rglob("*"))
    assert written == [], written
