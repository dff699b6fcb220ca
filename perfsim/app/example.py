"""A scenario's portfolio as a workbook of ready scores: the app's bundled example.

``perfsim template scores --scenario SCENARIO --out NEW.xlsx`` calls :func:`scores_workbook`;
``datasets/portfolios/liupanshui_2021_synthetic.xlsx`` is what it writes for
``datasets/scenarios/liupanshui_2022.yaml`` (the synthetic portfolio at the published 2021
scale, its score distribution calibrated to the share of the money rated 中), and
``datasets/scenarios/liupanshui_2022_workbook.yaml`` reads it back with the same grading and
linkage.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pandas as pd

from perfsim.errors import InputError
from perfsim.io import escape_sheet, new_workbook
from perfsim.model.portfolio import DATASETS
from perfsim.model.scenario import Scenario

#: The columns of a portfolio of ready scores, in the order written.
SCORE_COLUMNS = ("project_id", "department", "budget", "score")
SHEET = "项目 projects"
EXAMPLE_SCENARIO = DATASETS / "scenarios" / "liupanshui_2022_workbook.yaml"
EXAMPLE_WORKBOOK = DATASETS / "portfolios" / "liupanshui_2021_synthetic.xlsx"
GENERATED_SCENARIO = DATASETS / "scenarios" / "liupanshui_2022.yaml"


def scores_frame(scenario: Scenario) -> pd.DataFrame:
    """The scenario's portfolio as ready scores: ``project_id``, ``department``, ``budget``
    (yuan) and ``score`` (points, as every path computes them: :meth:`Scenario.scores`)."""
    pf = scenario.portfolio
    return pd.DataFrame({"project_id": pf.ids.astype(object),
                         "department": pf.departments.astype(object),
                         "budget": pf.budget, "score": scenario.scores()})


def scores_workbook(scenario: Scenario, path: str | Path) -> Path:
    """Write :func:`scores_frame` to a new ``.xlsx`` file (one sheet, the header row holding
    the column names perfsim reads). An existing file is never overwritten."""
    path = new_workbook(path, "workbook")
    frame = scores_frame(scenario)
    tmp = path.with_name(f".{path.name}.partial-{uuid.uuid4().hex}.xlsx")
    try:
        with pd.ExcelWriter(tmp, engine="openpyxl") as writer:
            frame.to_excel(writer, sheet_name=SHEET, index=False)
            ws = writer.sheets[SHEET]
            escape_sheet(ws)  # project ids and departments that look like formulas stay text
            ws.freeze_panes = "A2"
            for letter, width in zip("ABCD", (12, 12, 18, 10), strict=True):
                ws.column_dimensions[letter].width = width
            for (cell,) in ws.iter_rows(min_row=2, min_col=3, max_col=3):
                cell.number_format = "#,##0.00"
        if path.exists():  # appeared meanwhile: still never overwritten
            raise InputError(path, problem="exists already; choose another name")
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return path
