"""Shared fixtures: paths to the bundled datasets and the small test files in ``tests/data``.

Hypothesis runs derandomised (a fixed seed per test) and without an example database, so every
run of the suite draws the same examples.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from perfsim.model.indicators import IndicatorSystem, load_indicator_system

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
DATASETS = ROOT / "datasets"
SYSTEMS = DATASETS / "indicator_systems"
SCENARIOS = DATASETS / "scenarios"

settings.register_profile(
    "perfsim", derandomize=True, database=None, deadline=None, max_examples=100,
    suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("perfsim")


def tiny_scores_scenario(folder: Path, name: str = "tiny", seed: int = 7,
                         extra: str = "") -> Path:
    """A scenario file in ``folder`` over the five projects of ``tests/data/tiny_scores.csv``
    (ready scores 95, 70, 50, 85, 65), national cutoffs and the Liupanshui rule at 15%, with
    ``extra`` YAML appended (e.g. a ``simulation:`` block)."""
    path = folder / f"{name}.yaml"
    path.write_text(f"name: {name}\nseed: {seed}\n"
                    f"portfolio: {{file: {DATA}/tiny_scores.csv}}\n"
                    "grading: {labels: national, cutoffs: [90, 80, 60]}\n"
                    "linkage: {rule: liupanshui, ratio: 0.15, pool: treasury}\n" + extra,
                    encoding="utf-8")
    return path


def tiny_measured_scenario(folder: Path) -> Path:
    """A scenario file in ``folder`` over ``tests/data/tiny_measured.csv``: three projects in
    two departments measured on the tiny indicator system (``tests/data/tiny_system.yaml``),
    national cutoffs and the Liupanshui rule at 15%."""
    path = folder / "tiny_measured.yaml"
    path.write_text("name: tiny_measured\nseed: 1\n"
                    f"indicator_system: {DATA}/tiny_system.yaml\n"
                    f"portfolio: {{file: {DATA}/tiny_measured.csv}}\n"
                    "grading: {labels: national, cutoffs: [90, 80, 60]}\n"
                    "linkage: {rule: liupanshui, ratio: 0.15, pool: treasury}\n",
                    encoding="utf-8")
    return path


def one_error_line(capsys) -> str:
    """What a command printed on stderr for bad input: exactly one line, ``perfsim: error:
    ...``, no traceback; the line."""
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("perfsim: error: "), err
    return lines[0]


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA


@pytest.fixture(scope="session")
def national() -> IndicatorSystem:
    return load_indicator_system(SYSTEMS / "national_project_self_eval.yaml")


@pytest.fixture(scope="session")
def wenzhou() -> IndicatorSystem:
    return load_indicator_system(SYSTEMS / "wenzhou_2013.yaml")


@pytest.fixture(scope="session")
def tiny() -> IndicatorSystem:
    return load_indicator_system(DATA / "tiny_system.yaml")


def caught(pid: int) -> set[int]:
    """The signals process ``pid`` has handlers for (the ``SigCgt`` mask)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigCgt:"):
            mask = int(line.split()[1], 16)
            return {k + 1 for k in range(64) if mask >> k & 1}
    return set()


def tracked_files_state() -> dict[str, tuple[int, int]] | None:
    """Each file git tracks in this checkout with its modification time and size (None
    outside a git checkout): ``tests/test_zz_tracked_files.py`` compares the state at the end
    of a test run with the one taken here, as the run starts — no test writes a tracked file."""
    import subprocess

    try:
        listed = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-z"], capture_output=True,
                                check=True, timeout=60).stdout.decode("utf-8").split("\0")
    except (OSError, subprocess.SubprocessError):
        return None
    state = {}
    for name in filter(None, listed):
        try:
            st = (ROOT / name).stat()
        except OSError:
            continue
        state[name] = (st.st_mtime_ns, st.st_size)
    return state


TRACKED_AT_START = tracked_files_state()
