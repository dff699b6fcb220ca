"""What notebooks call from inside a run: where inputs are, where outputs go, answers.

Notebooks write ``from perfsim import notebooks as nb`` and call :func:`input_path`,
:func:`save_table`, :func:`save_figure`, :func:`output_path`, :func:`answer` and
:func:`answers_dir` with their
``output_dir`` parameter, which the runner sets to the run directory (empty when a notebook is
run interactively: results are shown, nothing is saved).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from perfsim import numbers
from perfsim.errors import InputError
from perfsim.io import PROJECT_ROOT, safe_name, write_csv
from perfsim.kernel.metrics import FIXED
from perfsim.model.constraints import constraint

INPUTS_LOG = ".inputs.jsonl"  # files a run's notebook named with input_path, for its manifest


class SavedPath(type(Path())):  # type: ignore[misc]
    """The path of a file a run saved (:func:`save_table`, :func:`save_figure`,
    :func:`output_path`): a :class:`pathlib.Path` that shows nothing when a notebook cell ends
    with the call, so no report shows ``PosixPath('figures/x.png')``."""

    def _ipython_display_(self) -> None:
        return None


def input_path(path: str | os.PathLike[str], output_dir: str | os.PathLike[str] = "") -> Path:
    """The absolute path of an input file named relative to the project root (or absolute).

    When ``output_dir`` is set (a run), the file is recorded so that the run's manifest lists
    its sha256. A missing file raises :class:`~perfsim.errors.InputError`.
    """
    p = Path(path)
    resolved = p if p.is_absolute() else PROJECT_ROOT / p
    if not resolved.is_file():
        raise InputError(str(path), problem=f"file not found (looked at {resolved})")
    if output_dir:
        with open(Path(output_dir) / INPUTS_LOG, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"path": str(resolved)}) + "\n")
    return resolved


def output_path(name: str, output_dir: str | os.PathLike[str] = "") -> Path | None:
    """Where a notebook writes an extra output file (e.g. an Excel workbook) in its run
    directory, or None when the notebook runs without one (interactively)."""
    check_name(name, "file name")
    if not output_dir:
        return None
    return SavedPath(output_dir, name)


def save_table(table: Any, name: str, output_dir: str | os.PathLike[str] = "", *,
               fmt: str = "csv") -> Path | None:
    """Write a results table to ``<output_dir>/tables/<name>.csv`` (or ``.parquet``).

    CSV is written with ``\\n`` line ends and full float precision, so the same table gives the
    same bytes, in UTF-8 with a byte-order mark (``utf-8-sig``) so that Excel opens Chinese
    text correctly. The numbers stay raw (machine-readable): :func:`show` formats a table for
    display. Returns the path, or None without an ``output_dir`` (interactive use).
    """

    check_name(name, "table name")
    if fmt not in ("csv", "parquet"):
        raise InputError(field="fmt", value=fmt, problem="must be 'csv' or 'parquet'")
    if not isinstance(table, pd.DataFrame):
        raise InputError(field="table", value=type(table).__name__,
                         problem="must be a pandas DataFrame")
    if not output_dir:
        return None
    folder = Path(output_dir) / "tables"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.{fmt}"
    if fmt == "csv":
        write_csv(table, path)
    else:
        table.to_parquet(path, index=False)
    return SavedPath(path)


def show(table: Any, *, money: Any = None, shares: Any = None, counts: Any = None,
         unit: str | None = None, columns: Sequence[str] | None = None,
         units: Mapping[str, str] | None = None) -> pd.DataFrame:
    """A results table as finance staff read it, for a notebook cell to display: money with
    thousands separators in 元, 万元 or 亿元 (one unit per table, named in the headings), shares
    as percentages, counts as integers, never scientific notation
    (:func:`perfsim.numbers.display_frame`), headings Chinese first
    (:func:`perfsim.numbers.zh_headings`). Only the display is formatted; save the
    raw table with :func:`save_table`. ``columns``: the columns shown, those the table has
    (a note from :func:`attempt` shows as it is). A column's unit is declared by the
    registries (:func:`declared_units`) or in ``units`` (column → unit, e.g. ``{"ratio":
    "times"}`` for a ratio of counts that is no share)."""
    if not isinstance(table, pd.DataFrame):
        raise InputError(field="table", value=type(table).__name__,
                         problem="must be a pandas DataFrame")
    if columns is not None:
        table = table[[c for c in columns if c in table.columns] or list(table.columns)]
    shown = numbers.display_frame(table, money=money, shares=shares, counts=counts, unit=unit,
                                  units={**declared_units([*table.columns,
                                                           *table.index.names]),
                                         **{c: u for c, u in (units or {}).items()
                                            if c in table.columns}})
    return numbers.zh_headings(shown)


def declared_units(columns: Sequence[Any]) -> dict[Any, str]:
    """The unit each column declares in perfsim's registries: a parameter by its YAML path
    (``linkage.rectification.probability``: share; ``linkage.coverage.min_budget``: yuan —
    :data:`perfsim.model.constraints.CONSTRAINTS`) and a metric by its name (``wrong_cuts``:
    yuan — :data:`perfsim.kernel.metrics.FIXED`). Columns they do not declare are left out."""
    units: dict[Any, str] = {}
    for c in columns:
        if not isinstance(c, str):
            continue
        if c in FIXED:
            units[c] = FIXED[c].unit
        elif "." in c:
            declared = constraint(c)
            if declared is not None and declared.unit:
                units[c] = declared.unit
    return units


def changes_table(variants: Mapping[str, Mapping[str, Any] | None]) -> pd.DataFrame:
    """Variants (name → changes, as :func:`perfsim.run.variants.year_variants` takes them) as
    a table a reader takes in: one row per variant and parameter, the parameter named by its
    YAML path (a nested block is spelled out: ``linkage.multipliers.excellent``), the value
    as written in a scenario file."""
    rows: list[dict[str, str]] = []

    def walk(name: str, prefix: str, value: Any) -> None:
        if isinstance(value, Mapping) and value:
            for key, inner in value.items():
                walk(name, f"{prefix}.{key}" if prefix else str(key), inner)
        elif not prefix:  # a variant that changes nothing: the scenario as it is
            rows.append({"variant": name, "parameter": "—", "value": "情景原样 as in the scenario"})
        else:
            rows.append({"variant": name, "parameter": prefix,
                         "value": json.dumps(value, ensure_ascii=False)})

    for name, changes in variants.items():
        walk(str(name), "", dict(changes or {}))
    return pd.DataFrame(rows, columns=["variant", "parameter", "value"])


def save_figure(fig: Any, name: str, output_dir: str | os.PathLike[str] = "", *,
                dpi: int = 120) -> Path | None:
    """Save a matplotlib figure to ``<output_dir>/figures/<name>.png``; None without an
    ``output_dir``. The figure stays open so the notebook still shows it."""
    check_name(name, "figure name")
    if not output_dir:
        return None
    folder = Path(output_dir) / "figures"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    fig.savefig(path, dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    return SavedPath(path)


def answer(show: bool, *items: Any, text: str | None = None) -> Any:
    """For exercises: when ``show`` is true, display ``text`` (Markdown, the explanation) and
    each of ``items`` (tables, figures) in turn, and return None, so that the cell shows them
    and nothing else (no tuple of their reprs); otherwise return a short note that the answer
    is hidden, closing any figure among the items so it does not display."""
    figures = [item for item in items if hasattr(item, "savefig")]
    if show:
        from IPython.display import Markdown, display

        if text:
            display(Markdown(text))
        for item in items:
            display(item)
    if figures:  # shown above (or hidden): not again by the inline backend
        import matplotlib.pyplot as plt

        for fig in figures:
            plt.close(fig)
    return None if show else HIDDEN


HIDDEN = "答案已隐藏 answer hidden: run with -p show_answers true"


def answers_dir(show: bool, output_dir: str | os.PathLike[str] = "") -> str:
    """Where an exercise saves the tables and figures that reveal its answer: the run
    directory in the trainer's key, nowhere in a hand-out (``show`` false), so that a
    hand-out's folder holds no answer either. Use it in place of ``output_dir`` for them."""
    return str(output_dir) if show and output_dir else ""


def check_name(name: str, what: str, source: str | None = None) -> str:
    """A name that becomes a file or folder name (:func:`perfsim.io.safe_name`)."""
    return safe_name(name, source, what)



#: the column of the table :func:`attempt` gives when a study does not apply to a scenario
NOTE = "说明 note"


def attempt(study: Callable[..., pd.DataFrame], *args: Any, **kwargs: Any) -> pd.DataFrame:
    """A study's table, or — when perfsim refuses the scenario's data for it (too few
    projects or departments for an estimator, say) — a one-row table in :data:`NOTE` saying
    why, so that a notebook runs on every scenario and tells the reader what it could not
    do. ``study`` is called with ``args`` and ``kwargs``."""
    try:
        return study(*args, **kwargs)
    except InputError as err:
        return pd.DataFrame({NOTE: [f"不适用 not applicable to this scenario: {err}"]})


def departments_in(scenario: Any, names: Sequence[str], most: int = 3) -> list[str]:
    """The departments of ``names`` that ``scenario``'s portfolio has, in the order given;
    when it has none of them, its ``most`` departments with the most projects (ties in name
    order) — a notebook's department parameter names one scenario's departments."""
    deps = pd.Series(scenario.portfolio.departments).astype(str)
    known = set(deps)
    chosen = [str(d) for d in names if str(d) in known]
    if chosen:
        return chosen
    counts = deps.value_counts()
    order = sorted(counts.index, key=lambda d: (-counts[d], d))
    return order[:most]


def cutoffs(scenario: Any) -> list[float]:
    """The scenario's grade cutoffs (points), for a notebook that studies them; a scenario
    that grades by rank or quota alone has none, which is said in one line."""
    cuts = scenario.grading.cutoffs
    if cuts is None:
        raise InputError(scenario.source, field="grading.cutoffs",
                         problem="this notebook studies grade cutoffs; the scenario grades "
                                 "by rank (it has none)")
    return [float(c) for c in cuts]


def needs_measurements(scenario: Any) -> None:
    """Refuse, in one line, a scenario a notebook cannot weight: one without an indicator
    system, or whose portfolio holds ready scores instead of indicator measurements."""
    if scenario.system is None:
        raise InputError(scenario.source, field="indicator_system",
                         problem="this notebook weights indicators: the scenario names no "
                                 "indicator system")
    if scenario.portfolio.has_scores or not scenario.portfolio.measured:
        raise InputError(scenario.source, field="portfolio",
                         problem="this notebook weights indicators: the portfolio holds ready "
                                 "scores, not indicator measurements")
