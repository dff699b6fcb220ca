"""Observed scores or grades of a portfolio's projects (the targets of fitted weights), read
and checked once: a CSV file (``project_id`` and ``score`` or ``grade``), a Series by project
id or an array in portfolio order.

A file's errors name the file, the row as a spreadsheet shows it (the header is row 1), the
field and the value: a duplicate ``project_id``, a score that is not a number or lies outside
[0, the scenario's most points] (the one table's ``observed_scores``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from perfsim import textfiles
from perfsim.errors import InputError
from perfsim.model.constraints import CONSTRAINTS


def read_observed(ids: Sequence[str] | np.ndarray, obs: Any, column: str,
                  total: float = 100.0) -> np.ndarray:
    """Observed values (``column``: ``score`` or ``grade``) in the order of the project
    ``ids``; scores as floats checked against the one table's ``observed_scores`` with
    ``total`` the most points (grades are left to the grading that reads them)."""
    ids = np.asarray(ids).astype(str)
    rows: list[str] | None = None
    src = None
    if isinstance(obs, str | Path):
        path = Path(obs)
        src = str(path)
        if not path.exists():
            raise InputError(path, problem="file not found")
        df, _, sheet = textfiles.read_csv_rows(path, dtype=str, keep_default_na=False)
        for col in ("project_id", column):
            if col not in df.columns:
                raise InputError(path, field=col, problem="required column missing "
                                 f"(need project_id and {column})")
        pid = df["project_id"].str.strip()
        rows = [f"row {r}" for r in sheet]
        seen: dict[str, int] = {}
        for i, p in enumerate(pid):
            if p in seen:
                raise InputError(src, rows[i], "project_id", p,
                                 f"duplicate id (first at {rows[seen[p]]})")
            seen[p] = i
        obs = pd.Series(df[column].to_numpy(), index=pid.to_numpy(), name=src)
    if isinstance(obs, pd.Series):
        src = str(obs.name or "<observed>") if src is None else src
        if obs.index.has_duplicates:
            dup = obs.index[obs.index.duplicated()][0]
            raise InputError(src, field="project_id", value=str(dup),
                             problem="duplicate id")
        missing = [i for i in ids if i not in obs.index]
        if missing:
            raise InputError(src, field="project_id", value=missing[0],
                             problem=f"no observed {column} for this project "
                                     f"({len(missing)} missing)")
        where = None if rows is None else dict(zip(obs.index, rows, strict=True))
        places = [where[i] if where else f"project {i}" for i in ids]
        values = obs.reindex(ids).to_numpy()
    else:
        values = np.asarray(obs)
        if values.shape != ids.shape:
            raise InputError(field=f"observed {column}", value=values.shape,
                             problem=f"need one value per project ({ids.size})")
        places = [f"project {i}" for i in ids]
    if column != "score":
        return values
    return np.array([_score(v, total, src, at) for v, at in zip(values, places, strict=True)],
                    dtype=float)


def _score(value: Any, total: float, src: str | None, where: str) -> float:
    """One observed score as points, or the one-line error naming its place."""
    c = CONSTRAINTS["observed_scores"]
    number = value
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            number = value
    if isinstance(number, float | np.floating) and math.isnan(number):
        number = value   # a blank cell or NaN: refused as given
    c.check("score", number, total=total, source=src, where=where)
    return float(number)
