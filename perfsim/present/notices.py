"""Notices that the command line prints and the app's status line shows, in the same words:
how the input files were read, and the blank cells filled by policy."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from perfsim.model.portfolio import Portfolio


def read_notes(portfolio: Portfolio, name: str | None = None) -> list[str]:
    """How the portfolio's file was read, one line each, naming it ``name`` (default its
    path); empty when it was read plainly. The lines say an encoding other than UTF-8 and
    percent-formatted cells read as the number shown."""
    return [f"{name or portfolio.source}: {note}" for note in portfolio.notes]


def filled_cells_notice(summary: Mapping[str, Any]) -> str:
    """The line about cells that held no value and were filled as the indicator system says
    (a year result's ``summary["filled_cells"]``); empty when there were none."""
    filled = summary.get("filled_cells") or {}
    if not filled.get("count"):
        return ""
    how = ", ".join(f"{k} {v}" for k, v in filled["by_treatment"].items())
    return (f"{filled['count']} 个空单元格已按规则填补 cells held no value and were filled "
            f"({how}): 见 see cells.csv")
