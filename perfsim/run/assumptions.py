"""What a generated portfolio's assumptions do to the money in a grade.

A scenario that generates its portfolio (``portfolio: generate:``) fits at most one setting
to a published figure (``calibrate``); the others — the spread of budgets (``budget_sigma``),
the budget–score correlation, the spread of performance — are assumptions the published
figures cannot pin. :func:`generator_sweep` draws the portfolio again over a grid of them,
on the scenario's own seed, and runs the year: how much money lands in a grade (Liupanshui:
the money rated 中, and so what a 15% cut saves) under each assumption.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from perfsim.errors import InputError
from perfsim.model.portfolio import GENERATOR_DEFAULTS, generate_portfolio
from perfsim.model.scenario import Scenario
from perfsim.model.streams import seed_sequence
from perfsim.run.year import run_year

#: generator settings a sweep may not vary: they say what is generated, not an assumption
_NOT_SWEPT = ("calibrate", "grade_budgets", "n_projects", "n_departments", "total_budget")


def generated(scenario: Scenario) -> bool:
    """True when the scenario generates its portfolio (``portfolio: generate:``): only then
    has it generator assumptions to sweep."""
    doc = scenario.document.get("portfolio")
    return isinstance(doc, Mapping) and isinstance(doc.get("generate"), Mapping)


def generator_sweep(scenario: Scenario, grid: Mapping[str, Sequence[Any]], *,
                    grade: str = "fair", refit: bool = False) -> pd.DataFrame:
    """One row per combination of the generator settings in ``grid`` (setting → values,
    e.g. ``{"budget_sigma": [0.8, 1.2, 1.6], "budget_score_correlation": [0, 0.3, 0.6]}``):
    the scenario's portfolio generated again with those settings on the scenario's seed,
    and its one-year run.

    ``refit=False`` (the default) holds the setting the file calibrates at the value its
    calibration found, so a row shows what the assumptions alone do; ``refit=True`` solves
    the file's calibration again for every row (the money in the target grade then meets the
    target by construction; the row shows the value solved). Columns: the grid's settings,
    the calibrated setting's value (``solved``, NaN without a calibration), ``count_<grade>``
    and ``money_<grade>`` (projects rated ``grade`` and the yuan they hold), ``cut_total``,
    ``cancelled_total`` and ``savings``."""
    if not generated(scenario):
        raise InputError(scenario.source, field="portfolio", problem="a generator sweep needs "
                         "a generated portfolio (portfolio: generate:)")
    if grade not in scenario.grading.labels.codes:
        raise InputError(field="grade", value=grade, problem="not a grade of the scenario ("
                         f"{', '.join(scenario.grading.labels.codes)})")
    for key, values in grid.items():
        if key not in GENERATOR_DEFAULTS or key in _NOT_SWEPT:
            raise InputError(field=f"portfolio.generate.{key}",
                             problem="not a generator assumption a sweep can vary")
        if isinstance(values, str) or not isinstance(values, Sequence) or not values:
            raise InputError(field=f"portfolio.generate.{key}", value=values,
                             problem="must be a non-empty list of values")
    base = dict(scenario.document["portfolio"]["generate"])
    preset = base.pop("preset", None)
    use_system = base.pop("use_indicator_system", True)
    calibration = scenario.portfolio.calibration
    if not refit and "calibrate" in base:
        base.pop("calibrate")
        base[calibration["solve"]] = calibration["value"]
    keys = list(grid)
    rows = []
    for combo in itertools.product(*(grid[k] for k in keys)):
        settings = {**base, **dict(zip(keys, combo, strict=True))}
        try:
            portfolio = generate_portfolio(
                scenario.system if use_system else None,
                seed=seed_sequence(scenario.seed, "portfolio"), preset_name=preset,
                grading=scenario.grading, **settings)
        except InputError as err:
            raise err.at(scenario.source, "portfolio.generate") from None
        year = run_year(scenario.replace(portfolio=portfolio))
        alloc = year.allocations
        held = alloc["grade"] == grade
        solved = (portfolio.calibration or {}).get("value", settings.get(
            calibration["solve"]) if calibration else None)
        rows.append({**dict(zip(keys, combo, strict=True)),
                     "solved": float("nan") if solved is None else float(solved),
                     f"count_{grade}": int(held.sum()),
                     f"money_{grade}": float(alloc.loc[held, "budget"].sum()),
                     **{m: float(year.metrics[m]) for m in ("cut_total", "cancelled_total",
                                                            "savings")}})
    return pd.DataFrame(rows)
