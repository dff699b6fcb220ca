"""Running the tests changes no tracked file: the last test of a run (files run in name order)
compares every tracked file's modification time and size with the state taken when the run
started (``tests/conftest.py``). A screenshot, a report or an index a test writes goes to a
temporary directory (the README's picture is renewed by ``scripts/app-screenshot``)."""

from __future__ import annotations

import pytest
from conftest import TRACKED_AT_START, tracked_files_state


def test_no_test_wrote_a_tracked_file():
    if TRACKED_AT_START is None:
        pytest.skip("not a git checkout")
    now = tracked_files_state()
    assert now is not None
    changed = sorted(name for name, state in TRACKED_AT_START.items()
                     if name in now and now[name] != state)
    assert changed == [], f"tests wrote tracked files: {', '.join(changed)}"

