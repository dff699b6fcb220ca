"""Recognise a perfsim input file by its content and validate it."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from perfsim import textfiles
from perfsim.errors import InputError
from perfsim.io import read_yaml
from perfsim.model.indicators import IndicatorSystem, load_indicator_system
from perfsim.model.portfolio import load_portfolio
from perfsim.model.scenario import load_scenario


def file_kind(path: Path) -> str:
    """``scenario``, ``indicator_system`` or ``portfolio``."""
    if not path.exists():
        raise InputError(path, problem="file not found")
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):
        doc = read_yaml(path)
        if isinstance(doc, Mapping) and "portfolio" in doc:
            return "scenario"
        if isinstance(doc, Mapping) and "indicators" in doc:
            return "indicator_system"
        raise InputError(path, problem="not a scenario (no 'portfolio') nor an indicator system "
                                       "(no 'indicators')")
    if suffix == ".csv":
        return "portfolio"
    if suffix in (".xlsx", ".xlsm"):
        from openpyxl import load_workbook

        textfiles.refuse_export(path)   # a web page, XML or text named .xlsx
        try:
            names = load_workbook(path, read_only=True).sheetnames
        except Exception:
            raise InputError(path, problem="cannot read workbook") from None
        return "indicator_system" if "indicators" in names else "portfolio"
    raise InputError(path, problem="unknown file type (use .yaml, .csv or .xlsx)")


def describe_file(path: Path, system: IndicatorSystem | None = None) -> str:
    """Validate ``path`` and return a one-line description; raise :class:`InputError`."""
    kind = file_kind(path)
    if kind == "scenario":
        sc = load_scenario(path)
        return (f"{path}: scenario {sc.name}: {sc.portfolio.n_projects} projects, "
                f"linkage {sc.linkage.name}, grades {'/'.join(sc.grading.labels.zh)}")
    if kind == "indicator_system":
        return f"{path}: indicator system {load_indicator_system(path)}"
    return f"portfolio {load_portfolio(path, system)}"
