"""Portfolios of projects: loading from CSV/Excel, validation, and a seeded synthetic generator.

A portfolio file has one row per project with the columns

- ``project_id`` (unique), ``department``, ``budget`` (yuan, from 0 to :data:`MAX_BUDGET`,
  10^15: more than any public budget, and beyond it sums of budgets lose whole yuan and, near
  1e308, overflow) — required;
- either one column per indicator leaf code (raw measurements; a re-check leaf also takes
  ``<code>.self``, the self-score, an assessed leaf optionally ``<code>.band``) **or** a ready
  ``score`` in points; a leaf cell may be blank, marked not applicable (``n/a``, ``不适用``) or
  not submitted (``未申报``): the indicator system says what each means (see
  :mod:`perfsim.model.indicators`), and the cells are listed in the results;
- optional: ``name``, ``has_targets`` and ``self_evaluated`` (yes/no, for linkage
  preconditions), ``rectified`` (yes/no: the project rectified after feedback, for the
  linkage's rectification rule), ``true_score`` (latent performance in points, written by the
  generator), ``years_left`` (a cross-year project's years to completion, this one included:
  a whole number >= 1; absent = 1, an annual project), and any other yes/no column that
  the scenario's linkage names as a precondition (e.g. ``cost_calculated``);
- under a system with one ``execution_rate`` leaf: ``budget_full`` and ``executed``
  (全年预算数, 全年执行数; yuan, or 万元 where the heading says so) instead of, or beside, the
  leaf's rate: the rate is derived, executed / budget_full (in percent where the leaf's unit
  is ``%``), and the rule caps it (:func:`_execution_amounts`).

Headings may be Chinese (:data:`COLUMN_ZH`: 项目编号, 部门, 预算（元）, 得分, ...); a CSV may be
UTF-8 or GB18030/GBK, as Chinese Excel saves it; in a workbook, a percent-formatted cell in a
column of points or percent is read as the number it shows (98% is 98).

Department-level flags (a scenario's ``department_flags``) hold for every project of a
department: a project satisfies a flag when its own column (if any) and its department's
value (yes where not listed) both say yes.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, special

from perfsim import textfiles
from perfsim.errors import InputError
from perfsim.kernel.grading import Grading
from perfsim.limits import check_memory
from perfsim.model.indicators import (
    BLANK,
    NOT_APPLICABLE,
    NOT_APPLICABLE_MARKS,
    NOT_APPLICABLE_OPTIONS,
    NOT_SUBMITTED,
    VALUE,
    Indicator,
    IndicatorSystem,
    Measurements,
)

REQUIRED = ("project_id", "department", "budget")
FLAGS = ("has_targets", "self_evaluated", "rectified")
OPTIONAL = ("name", "score", "true_score", "years_left", *FLAGS)
DATASETS = Path(__file__).resolve().parents[2] / "datasets"
CALIBRATION_FILE = DATASETS / "calibration" / "published_figures.csv"
MAX_BUDGET = 1e15  # yuan, per project (and for a generated portfolio's total)
#: Chinese headings read as perfsim's column names (declared once: the template workbook,
#: :mod:`perfsim.present.template`, shows the first of each); a heading may also be written
#: Chinese first with the column name after it (``项目编号 project_id``)
COLUMN_ZH: dict[str, tuple[str, ...]] = {
    "project_id": ("项目编号", "项目代码"),
    "name": ("项目名称",),
    "department": ("部门", "主管部门", "部门名称", "预算部门"),
    "budget": ("预算（元）", "预算", "预算(元)", "本年预算", "预算金额", "预算金额（元）"),
    "score": ("得分", "评价得分", "自评得分", "总分"),
    "true_score": ("真实得分",),
    "years_left": ("剩余年限",),
    "has_targets": ("是否设定绩效目标",),
    "self_evaluated": ("是否开展自评",),
    "rectified": ("是否整改",),
    "budget_full": ("全年预算数（元）", "全年预算数", "全年预算数(元)", "全年预算数（万元）",
                    "全年预算数(万元)"),
    "executed": ("全年执行数（元）", "全年执行数", "全年执行数(元)", "全年执行数（万元）",
                 "全年执行数(万元)"),
}
#: The budget-execution amounts a portfolio may give for its system's execution-rate leaf
#: (:func:`_execution_amounts`); a heading naming 万元 is read in 万元 (× 10,000 yuan)
AMOUNTS = ("budget_full", "executed")
_AMOUNT_NAMES = {"budget_full": "全年预算数 budget_full", "executed": "全年执行数 executed"}
_ALIASES = {zh: code for code, names in COLUMN_ZH.items() for zh in names}
_TRUE = {"1", "true", "yes", "y", "是", "有", "t"}
_FALSE = {"0", "false", "no", "n", "否", "无", "f"}


@dataclass(frozen=True)
class Portfolio:
    """A validated portfolio. ``table`` holds one row per project; treat it as read-only.
    ``status`` gives, per leaf code, the status of each cell (value, blank, not applicable,
    not submitted; NaN in ``table`` where there is no value); ``calibration`` what a
    calibrated generator solved (setting, value, target, achieved)."""

    table: pd.DataFrame
    source: str = "<portfolio>"
    measured: tuple[str, ...] = ()  # indicator (and auxiliary) columns present
    status: Mapping[str, np.ndarray] = field(default_factory=dict, compare=False, repr=False)
    calibration: Mapping[str, Any] | None = field(default=None, compare=False)
    extra_flags: tuple[str, ...] = ()   # further yes/no columns (named as preconditions)
    #: flag → department → yes/no, for every project of the department
    department_flags: Mapping[str, Mapping[str, bool]] = field(default_factory=dict,
                                                               compare=False)
    #: how the file was read, for people (one bilingual line each): an encoding other than
    #: UTF-8, percent-formatted cells read as the number they show
    notes: tuple[str, ...] = field(default=(), compare=False)
    #: each project's row as its spreadsheet shows it (None: header = row 1, no blank rows)
    rows: tuple[int, ...] | None = field(default=None, compare=False, repr=False)

    @property
    def n_projects(self) -> int:
        return len(self.table)

    @property
    def sheet_rows(self) -> np.ndarray:
        """Each project's row as the portfolio's spreadsheet shows it (blank rows the reader
        skipped counted; header = row 1 when the file has no blank rows)."""
        if self.rows is None:
            return np.arange(self.n_projects) + 2
        return np.asarray(self.rows, dtype=np.int64)

    @property
    def ids(self) -> np.ndarray:
        return self.table["project_id"].to_numpy()

    @property
    def departments(self) -> np.ndarray:
        return self.table["department"].to_numpy()

    @property
    def budget(self) -> np.ndarray:
        return self.table["budget"].to_numpy(dtype=float)

    @property
    def has_scores(self) -> bool:
        return "score" in self.table.columns

    @property
    def scores(self) -> np.ndarray:
        return self.table["score"].to_numpy(dtype=float)

    def measurements(self) -> Measurements:
        """Raw measurements by column (NaN where a cell holds no value), with each leaf's
        cell status and the departments (for imputed medians)."""
        return Measurements({c: self.table[c].to_numpy(dtype=float) for c in self.measured},
                            self.status, self.departments)

    def cells_table(self, cells: pd.DataFrame) -> pd.DataFrame:
        """Filled cells (:meth:`IndicatorSystem.resolve`) located as a spreadsheet shows them:
        ``row`` (header = row 1), ``project_id``, ``department``, then the code, what the cell
        held, the treatment and the points the leaf now earns."""
        pos = cells["position"].to_numpy(dtype=int)
        out = pd.DataFrame({"row": self.sheet_rows[pos], "project_id": self.ids[pos],
                            "department": self.departments[pos]})
        return pd.concat([out, cells.drop(columns="position").reset_index(drop=True)], axis=1)

    def flags(self) -> dict[str, np.ndarray]:
        """Yes/no per project by flag name: the portfolio's flag columns, each combined with
        its department-level value (a project satisfies a flag when both say yes)."""
        out = {f: self.table[f].to_numpy(dtype=bool)
               for f in (*FLAGS, *self.extra_flags) if f in self.table.columns}
        deps = self.departments.astype(str)
        for name, by_dep in self.department_flags.items():
            refused = [d for d, ok in by_dep.items() if not ok]
            dep_ok = ~np.isin(deps, refused)
            out[name] = out[name] & dep_ok if name in out else dep_ok
        return out

    @property
    def years_left(self) -> np.ndarray:
        """Each project's years to completion, this one included (1: an annual project)."""
        if "years_left" not in self.table.columns:
            return np.ones(self.n_projects, dtype=np.int64)
        return self.table["years_left"].to_numpy(dtype=np.int64)

    @property
    def unit_index(self) -> np.ndarray:
        """Each project's department as an index into the sorted department names."""
        return np.unique(self.departments.astype(str), return_inverse=True)[1].astype(np.intp)

    def with_department_flags(self, flags: Mapping[str, Mapping[str, bool]],
                              source: str = "department_flags") -> Portfolio:
        """The portfolio with department-level flags (flag → department → yes/no); a
        department that is not in the portfolio is refused."""
        known = set(self.departments.astype(str))
        for name, by_dep in flags.items():
            for dep in by_dep:
                if str(dep) not in known:
                    raise InputError(source, field=f"department_flags.{name}", value=dep,
                                     problem="no such department in the portfolio")
        merged = {k: dict(v) for k, v in self.department_flags.items()}
        for name, by_dep in flags.items():
            merged.setdefault(name, {}).update({str(d): bool(v) for d, v in by_dep.items()})
        return dataclasses.replace(self, department_flags=merged)

    def __str__(self) -> str:
        kind = "scores" if self.has_scores else f"{len(self.measured)} measured indicators"
        text = (f"{self.source}: {self.n_projects} projects, "
                f"{self.table['department'].nunique()} departments, "
                f"{self.budget.sum():,.0f} yuan, {kind}")
        if self.calibration:
            c = self.calibration
            (key, goal), = c["target"].items()
            text += (f"; {c['solve']} = {c['value']:.6g} calibrated for {key} = {goal:.4%} "
                     f"(achieved {c['achieved']:.4%})")
        return "; ".join((text, *self.notes))


def load_portfolio(path: str | Path, system: IndicatorSystem | None = None,
                   flags: tuple[str, ...] = ()) -> Portfolio:
    """Load a portfolio from ``.csv`` or ``.xlsx`` and validate it (against ``system`` when
    given); ``flags`` names further yes/no columns it may hold (a linkage's preconditions).
    Errors name the file, the row (as in a spreadsheet: header = row 1), the column and the
    value.

    Files as Excel writes them are read: a CSV in UTF-8 or GB18030/GBK
    (:mod:`perfsim.textfiles`), Chinese headings (:data:`COLUMN_ZH`), and in a workbook
    percent-formatted cells (:func:`_read_percent_cells`: 98% in a score column is 98 points;
    where a percent cannot be meant, refused with the cell's address). The portfolio's
    ``notes`` say what was read so."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, problem="file not found")
    suffix = path.suffix.lower()
    notes: list[str] = []
    percent: dict[int, list[tuple[int, str]]] = {}
    rows: list[int] | None = None
    try:
        if suffix == ".csv":
            df, encoding, rows = textfiles.read_csv_rows(path, dtype=str,
                                                         keep_default_na=False)
            if encoding != textfiles.UTF8:
                notes.append(textfiles.encoding_note(encoding))
        elif suffix in (".xlsx", ".xlsm"):
            textfiles.refuse_export(path)   # a web page, XML or text named .xlsx
            df, percent, rows = _read_xlsx(path)
        else:
            raise InputError(path, problem="unknown portfolio format (use .csv or .xlsx)")
    except InputError:
        raise
    except Exception as exc:  # pandas/openpyxl parse errors come in many classes
        raise InputError(path, problem=f"cannot parse ({_first_line(exc)})") from None
    if percent:
        notes += _read_percent_cells(df, percent, system, flags, str(path))
    pf = portfolio_from_frame(df, system, source=str(path), flags=flags, rows=rows)
    return dataclasses.replace(pf, notes=tuple(notes)) if notes else pf


def _read_xlsx(path: Path) -> tuple[pd.DataFrame, dict[int, list[tuple[int, str]]],
                                    list[int]]:
    """The first sheet as :func:`pandas.read_excel` reads it with ``dtype=object`` (header row
    1, blank rows skipped, whole floats as ints), except that text stays text (``n/a`` is not
    made blank); by column position, the percent-formatted number cells: (position in the
    table, cell address); and each table row's row number on the sheet."""
    from openpyxl import load_workbook
    from openpyxl.cell.cell import TYPE_ERROR, TYPE_NUMERIC

    wb = load_workbook(path, read_only=True, data_only=True, keep_links=False)
    try:
        ws = wb.worksheets[0]
        ws.reset_dimensions()
        rows: list[list[Any]] = []
        marks: list[list[tuple[int, str]]] = []
        numbers: list[int] = []
        for number, row in enumerate(ws.iter_rows(min_row=1), start=1):
            values: list[Any] = []
            found: list[tuple[int, str]] = []
            for j, cell in enumerate(row):
                v = cell.value
                if v is None or cell.data_type == TYPE_ERROR:
                    values.append(None)
                    continue
                if cell.data_type == TYPE_NUMERIC and not isinstance(v, bool):
                    if isinstance(v, float) and v.is_integer() and abs(v) < 2**63:
                        v = int(v)
                    if "%" in (cell.number_format or ""):
                        found.append((j, cell.coordinate))
                values.append(v)
            while values and values[-1] is None:
                values.pop()
            if values:
                rows.append(values)
                marks.append(found)
                numbers.append(number)
    finally:
        wb.close()
    if not rows:
        return pd.DataFrame(), {}, []
    width = max(len(r) for r in rows)
    header = [f"Unnamed: {j}" if j >= len(rows[0]) or rows[0][j] is None else rows[0][j]
              for j in range(width)]
    body = [r + [None] * (width - len(r)) for r in rows[1:]]
    df = pd.DataFrame(body, columns=header, dtype=object)
    percent: dict[int, list[tuple[int, str]]] = {}
    for i, found in enumerate(marks[1:]):
        for j, address in found:
            percent.setdefault(j, []).append((i, address))
    return df, percent, numbers[1:]


def _aliases(system: IndicatorSystem | None, flags: tuple[str, ...]) -> dict[str, str]:
    """Every heading read as a column name → the name: the names themselves, the
    :data:`COLUMN_ZH` aliases, and each leaf's Chinese name (a self-score: the name with
    ``（自评分）``, as the template workbook writes it) where no other leaf shares it."""
    out = {c: c for c in (*REQUIRED, *OPTIONAL, *AMOUNTS, *flags, *_leaf_columns(system))}
    out.update(_ALIASES)
    if system is not None:
        leaves = (*system.indicators, *system.bonus)
        names = [leaf.name_zh for leaf in leaves]
        for leaf in leaves:
            if leaf.name_zh and names.count(leaf.name_zh) == 1:
                out.setdefault(leaf.name_zh, leaf.code)
                if "self" in leaf.rule.aux_inputs:
                    out.setdefault(f"{leaf.name_zh}（自评分）", f"{leaf.code}.self")
    return out


def _heading(text: str, aliases: Mapping[str, str]) -> str:
    """A column's heading as perfsim's column name (:func:`_aliases`); ``中文 code`` (a
    Chinese label, then a column name, as perfsim's own tables head them) reads as the code."""
    text = text.strip()
    if text in aliases:
        return aliases[text]
    head, _, code = text.rpartition(" ")
    if head and aliases.get(code) == code and not any("a" <= ch.lower() <= "z" for ch in head):
        return code
    return text


def _headings(names: list[str], aliases: Mapping[str, str], source: str) -> list[str]:
    """The table's headings as perfsim's column names (:func:`_heading`); two headings that
    name the same column are refused."""
    out = [_heading(c, aliases) for c in names]
    for k, name in enumerate(out):
        if name != names[k]:
            other = [names[m] for m in range(len(out)) if out[m] == name and m != k]
            if other:
                raise InputError(source, field=names[k],
                                 problem=f"two headings name the column '{name}' "
                                         f"({other[0]} and {names[k]})")
    return out


def _leaf_columns(system: IndicatorSystem | None) -> dict[str, Indicator]:
    """Every column an indicator system's leaves read (codes and auxiliary inputs) → leaf."""
    out: dict[str, Indicator] = {}
    if system is not None:
        for leaf in (*system.indicators, *system.bonus):
            out[leaf.code] = leaf
            out.update({f"{leaf.code}.{a}": leaf for a in leaf.rule.aux_inputs})
    return out


def _read_percent_cells(df: pd.DataFrame, percent: Mapping[int, list[tuple[int, str]]],
                        system: IndicatorSystem | None, flags: tuple[str, ...], source: str
                        ) -> list[str]:
    """Percent-formatted cells read as the number they show, where the column is in points
    (``score``, ``true_score``, a self-score) or in percent (a leaf whose unit starts with
    ``%``): 98% is 98; in a leaf measured as a share (unit naming a share) as stored: 98% is
    0.98. Anywhere else such a cell is refused with its address. Returns the notes."""
    leaves = _leaf_columns(system)
    aliases = _aliases(system, flags)
    shown = 0
    first = ""
    for pos, cells in percent.items():
        heading = str(df.columns[pos]).strip()
        col = _heading(heading, aliases)
        if col not in aliases.values():
            continue  # an unknown column: refused as such by portfolio_from_frame
        leaf = leaves.get(col)
        unit = (leaf.unit or "") if leaf is not None else ""
        if col in ("score", "true_score") or col.endswith(".self") or (
                col in leaves and col == leaf.code and unit.startswith("%")):
            scale = 100.0
        elif leaf is not None and col == leaf.code and "share" in unit:
            continue
        else:
            i, address = cells[0]
            shows = _percent(df.iat[i, pos])
            raise InputError(source, f"cell {address}", heading, shows,
                             f"formatted as a percent ({shows}), but the column is not in "
                             "points or percent: format the cells as General (常规) and enter "
                             "the number")
        for i, address in cells:
            value = df.iat[i, pos]
            df.iat[i, pos] = round(float(value) * scale, 9)
            if not first:
                first = f"{address} {_percent(value)} → {df.iat[i, pos]:g}"
            shown += 1
    if not shown:
        return []
    return [f"{shown} 个百分比格式的单元格按显示的数读取 percent-formatted cells read as the "
            f"number shown (e.g. {first})"]


def _percent(value: Any) -> str:
    return f"{float(value) * 100:g}%"


def portfolio_from_frame(df: pd.DataFrame, system: IndicatorSystem | None = None,
                         source: str = "<portfolio>", flags: tuple[str, ...] = (),
                         rows: Sequence[int] | None = None) -> Portfolio:
    """Validate a raw table (strings or numbers) and return a :class:`Portfolio`; ``flags``
    names further yes/no columns it may hold; ``rows`` each table row's row in the file as a
    spreadsheet shows it (default: header = row 1, no blank rows), for messages."""
    extra = tuple(f for f in flags if f not in FLAGS)
    df = df.reset_index(drop=True)  # a copy; row numbers are positions from here on
    sheet = (np.arange(len(df)) + 2 if rows is None or len(rows) != len(df)
             else np.asarray(rows, dtype=np.int64))
    df.columns = [str(c).strip() for c in df.columns]
    headings = list(df.columns)
    df.columns = _headings(headings, _aliases(system, extra), source)
    written = dict(zip(df.columns, headings, strict=True))  # column → its heading as written
    if len(df) == 0:
        raise InputError(source, problem="no projects (the table is empty)")
    for col in REQUIRED:
        if col not in df.columns:
            raise InputError(source, field=col, problem="required column missing")
    dup = [c for c in set(df.columns) if list(df.columns).count(c) > 1]
    if dup:
        raise InputError(source, field=dup[0], problem="column appears twice")

    leaf_cols: list[str] = []
    labels: dict[str, tuple[str, ...]] = {}
    if system is not None:
        for leaf in (*system.indicators, *system.bonus):
            leaf_cols.append(leaf.code)
            leaf_cols.extend(f"{leaf.code}.{a}" for a in leaf.rule.aux_inputs)
            if leaf.rule.labels:
                labels[leaf.code] = leaf.rule.labels
    clash = [f for f in extra if f in set(REQUIRED) | set(OPTIONAL) | set(leaf_cols)]
    if clash:
        raise InputError(source, field=clash[0],
                         problem="a precondition flag cannot be a required column, an "
                                 "optional one or an indicator code")
    known = set(REQUIRED) | set(OPTIONAL) | set(leaf_cols) | set(extra)
    if any(c in df.columns for c in AMOUNTS):
        _execution_amounts(df, system, written, source, sheet)
        known |= set(AMOUNTS)
    unknown = [c for c in df.columns if c not in known]
    if unknown:
        hint = ("not an indicator code of " + system.code) if system else (
            "unknown column (no indicator system given)")
        raise InputError(source, field=unknown[0], problem=hint)
    present = [c for c in leaf_cols if c in df.columns]
    if system is not None and present:
        missing = [leaf.code for leaf in (*system.indicators, *system.bonus)
                   if leaf.code not in df.columns]
        if missing:
            raise InputError(source, field=missing[0],
                             problem=f"indicator column missing ({len(missing)} of "
                                     f"{len(system.all_codes)} leaves absent)")
        if "score" in df.columns:
            raise InputError(source, field="score",
                             problem="give either indicator measurements or a score, not both")
    if "score" not in df.columns and not present:
        raise InputError(source, problem="needs a 'score' column or one column per indicator "
                                         "code" + ("" if system else " (with an indicator system)"))

    def row(i: int) -> str:
        return f"row {sheet[i]}"

    leaves: dict[str, Indicator] = {}
    aux_of: dict[str, tuple[str, str]] = {}
    if system is not None:
        for leaf in (*system.indicators, *system.bonus):
            leaves[leaf.code] = leaf
            aux_of.update({f"{leaf.code}.{a}": (leaf.code, a) for a in leaf.rule.aux_inputs})
    status = {col: _cell_status(df[col], system) for col in present if col in leaves}
    _refuse_empty_cells(df, status, leaves, source, row)
    for col in df.columns:
        blank = (df[col].isna() | (df[col].astype(str).str.strip() == "")).to_numpy()
        if col in leaves or col == "name" or col in AMOUNTS:
            continue
        if col in aux_of:  # an auxiliary input matters only beside a value
            code, aux = aux_of[col]
            optional = aux in leaves[code].rule.aux_labels
            blank = blank & (status[code] == VALUE) & (not optional)
        if blank.any():
            raise InputError(source, row(int(np.flatnonzero(blank)[0])), col,
                             problem="missing value")
    df["project_id"] = df["project_id"].astype(str).str.strip()
    df["department"] = df["department"].astype(str).str.strip()
    dupe = df["project_id"].duplicated()
    if dupe.any():
        i = int(np.flatnonzero(dupe.to_numpy())[0])
        first = int(np.flatnonzero((df["project_id"] == df["project_id"].iloc[i]).to_numpy())[0])
        raise InputError(source, row(i), "project_id", df["project_id"].iloc[i],
                         f"duplicate id (first at {row(first)})")

    df["budget"] = _numeric(df["budget"], source, "budget", row)
    bad = df["budget"] < 0
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(source, row(i), "budget", df["budget"].iloc[i], "must be >= 0")
    bad = df["budget"] > MAX_BUDGET
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(source, row(i), "budget", df["budget"].iloc[i], _TOO_LARGE)
    max_score = 100.0 if system is None else system.total + system.bonus_cap
    for col in ("score", "true_score"):
        if col in df.columns:
            df[col] = _numeric(df[col], source, col, row)
            bad = (df[col] < 0) | (df[col] > max_score)
            if bad.any():
                i = int(np.flatnonzero(bad.to_numpy())[0])
                raise InputError(source, row(i), col, df[col].iloc[i],
                                 f"must lie in [0, {max_score:g}]")
    if "score" in df.columns and (total := 100.0 if system is None else system.total) >= 10:
        score = df["score"].to_numpy(dtype=float)
        share = (score > 0) & (score < 1)
        if share.any() and (score <= 1).all():
            i = int(np.flatnonzero(share)[0])
            raise InputError(source, row(i), "score", score[i],
                             f"looks like shares, not points: every score lies in [0, 1] on a "
                             f"{total:g}-point system (Excel stores 98% as 0.98); give points, "
                             f"e.g. {score[i] * 100:g}")
    if "years_left" in df.columns:
        df["years_left"] = _numeric(df["years_left"], source, "years_left", row)
        bad = (df["years_left"] < 1) | (df["years_left"] % 1 != 0)
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputError(source, row(i), "years_left", df["years_left"].iloc[i],
                             "must be a whole number of years >= 1 (this year included)")
        df["years_left"] = df["years_left"].astype(np.int64)
    for col in (*FLAGS, *extra):
        if col in df.columns:
            df[col] = _boolean(df[col], source, col, row)
    for col in present:
        if col in aux_of:
            code, aux = aux_of[col]
            given = ~(df[col].isna() | (df[col].astype(str).str.strip() == "")).to_numpy()
            given &= status[code] == VALUE
            levels = leaves[code].rule.aux_labels.get(aux)
        else:
            given = status.get(col, np.zeros(len(df))) == VALUE
            levels = labels.get(col)
        parsed = pd.Series(np.nan, index=df.index)
        if given.any():
            part = df.loc[given, col]
            parsed.loc[given] = (_levels(part, levels, source, col, row) if levels
                                 else _numeric(part, source, col, row)).to_numpy()
        df[col] = parsed.astype(float)
    for code, leaf in leaves.items():
        if code not in df.columns:
            continue
        value = status[code] == VALUE
        aux = {a: df[f"{code}.{a}"].to_numpy(dtype=float) for a in leaf.rule.aux_inputs
               if f"{code}.{a}" in df.columns}
        refused = leaf.rule.check(np.where(value, df[code].to_numpy(dtype=float), 0.0), aux)
        if refused is not None:
            bad, problem = refused
            bad = np.asarray(bad) & value
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise InputError(source, row(i), code, df[code].iloc[i], problem)
    return Portfolio(df.reset_index(drop=True), source, tuple(present),
                     status={c: v for c, v in status.items()},
                     extra_flags=tuple(f for f in extra if f in df.columns),
                     rows=None if rows is None else tuple(int(r) for r in sheet))


def _execution_amounts(df: pd.DataFrame, system: IndicatorSystem | None,
                       written: Mapping[str, str], source: str, sheet: np.ndarray) -> None:
    """Derive the execution-rate leaf's rate from ``budget_full`` and ``executed``
    (全年预算数, 全年执行数) in ``df``, in place: executed / budget_full, in percent where the
    leaf's unit starts with ``%`` (else a share), where a row gives both amounts; a row giving
    neither keeps its rate cell. The amounts become yuan (a heading naming 万元 is read in 万元).

    Refused, with the row and the heading as written: amounts under a system without exactly
    one execution-rate leaf; one amount without the other; an amount that is not a number,
    negative or above :data:`MAX_BUDGET`; a ``budget_full`` of 0 (the rate is undefined, with
    or without anything executed); a rate cell marked n/a or not submitted beside amounts;
    and a rate that disagrees with the amounts by more than a fen (0.01 yuan of executed)."""
    given = [c for c in AMOUNTS if c in df.columns]
    leaves = [] if system is None else [leaf for leaf in system.indicators
                                        if leaf.rule.kind == "execution_rate"]
    if len(leaves) != 1:
        problem = ("needs an indicator system with one execution-rate leaf (rule "
                   "execution_rate)" if not leaves else
                   f"the system has {len(leaves)} execution-rate leaves "
                   f"({', '.join(leaf.code for leaf in leaves)}): give each rate instead")
        raise InputError(source, field=written[given[0]], problem=problem)
    if len(given) == 1:
        other = next(c for c in AMOUNTS if c not in given)
        raise InputError(source, field=written[given[0]],
                         problem=f"needs the column {_AMOUNT_NAMES[other]} beside it (the "
                                 "execution rate is executed / budget_full)")
    leaf = leaves[0]

    def row(i: int) -> str:
        return f"row {sheet[i]}"

    def first(mask: np.ndarray) -> int:
        return int(np.flatnonzero(mask)[0])

    yuan: dict[str, np.ndarray] = {}
    blank: dict[str, np.ndarray] = {}
    for col in AMOUNTS:
        s = df[col]
        b = (s.isna() | (s.astype(str).str.strip() == "")).to_numpy()
        values = np.full(len(df), np.nan)
        if (~b).any():
            values[~b] = _numeric(s[~b], source, written[col], row).to_numpy(dtype=float)
        scale = 1e4 if "万元" in written[col] else 1.0
        for bad, problem in ((values < 0, "must be >= 0"),
                             (values * scale > MAX_BUDGET, _TOO_LARGE)):
            if bad.any():
                i = first(bad)
                raise InputError(source, row(i), written[col], s.iloc[i], problem)
        yuan[col], blank[col] = values * scale, b
    both = ~blank["budget_full"] & ~blank["executed"]
    half = blank["budget_full"] != blank["executed"]
    if half.any():
        i = first(half)
        col, other = AMOUNTS if blank["budget_full"][i] else AMOUNTS[::-1]
        raise InputError(source, row(i), written[col],
                         problem=f"blank beside {_AMOUNT_NAMES[other]}: give both amounts, "
                                 "or neither and the rate")
    zero = both & (yuan["budget_full"] == 0)
    if zero.any():
        i = first(zero)
        raise InputError(source, row(i), written["budget_full"], df["budget_full"].iloc[i],
                         f"no full-year budget: the execution rate executed / budget_full is "
                         f"undefined (executed {yuan['executed'][i]:,.2f} yuan); where nothing "
                         "was budgeted, leave both amounts blank and fill in the rate cell")
    percent = 100.0 if (leaf.unit or "").strip().startswith("%") else 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        share = yuan["executed"] / yuan["budget_full"]
    code = leaf.code
    if code in df.columns:
        cells = df[code].astype(object)
        text = cells.astype(str).str.strip()
        empty = (cells.isna() | (text == "")).to_numpy()
        marks = {m.lower() for m in (*NOT_APPLICABLE_MARKS, *system.missing_submission)}
        marked = text.str.lower().isin(marks).to_numpy() & ~empty
        clash = both & marked
        if clash.any():
            i = first(clash)
            raise InputError(source, row(i), written[code], cells.iloc[i],
                             "marked, but the row gives 全年预算数 budget_full and 全年执行数 "
                             "executed: give the rate or the amounts")
        check = both & ~empty & ~marked
        if check.any():
            rate = np.full(len(df), np.nan)
            rate[check] = _numeric(cells[check], source, written[code], row).to_numpy(
                dtype=float)
            implied = rate / percent * yuan["budget_full"]
            off = np.abs(implied - yuan["executed"])
            # a fen, and the float rounding of the product (a relative 1e-12)
            bad = check & (off > 0.01 + 1e-12 * yuan["budget_full"])
            if bad.any():
                i = first(bad)
                unit = "%" if percent == 100.0 else ""
                raise InputError(
                    source, row(i), written[code], cells.iloc[i],
                    f"disagrees with executed / budget_full = {yuan['executed'][i]:,.2f} / "
                    f"{yuan['budget_full'][i]:,.2f} yuan = {share[i] * percent:.6g}{unit} by "
                    f"{off[i]:,.2f} yuan of executed, more than a fen: give the rate or the "
                    "amounts (or the rate to full precision)")
    else:
        cells = pd.Series("", index=df.index, dtype=object)
    cells[both] = share[both] * percent
    df[code] = cells
    for col in AMOUNTS:
        df[col] = yuan[col]


def _cell_status(s: pd.Series, system: IndicatorSystem) -> np.ndarray:
    """Each cell of a leaf column: a value, blank, not applicable or not submitted."""
    text = s.astype(str).str.strip()
    blank = (s.isna() | (text == "")).to_numpy()
    lower = text.str.lower()
    na = lower.isin(NOT_APPLICABLE_MARKS).to_numpy() & ~blank
    marks = {m.lower() for m in system.missing_submission}
    ns = lower.isin(marks).to_numpy() & ~blank & ~na
    return np.select([blank, na, ns], [BLANK, NOT_APPLICABLE, NOT_SUBMITTED], VALUE).astype(
        np.int8)


def _refuse_empty_cells(df: pd.DataFrame, status: Mapping[str, np.ndarray],
                        leaves: Mapping[str, Indicator], source: str, row) -> None:
    """Refuse, at the first such cell in reading order (row by row), a blank under
    ``missing: error`` and "not applicable" on an item that always applies."""
    found = []
    for j, (code, st) in enumerate(status.items()):
        leaf = leaves[code]
        if leaf.missing == "error" and (st == BLANK).any():
            found.append((int(np.flatnonzero(st == BLANK)[0]), j, code, BLANK))
        if leaf.not_applicable is None and not leaf.is_bonus and (st == NOT_APPLICABLE).any():
            found.append((int(np.flatnonzero(st == NOT_APPLICABLE)[0]), j, code,
                          NOT_APPLICABLE))
    if not found:
        return
    i, _, code, kind = min(found)
    if kind == BLANK:
        raise InputError(source, row(i), code,
                         problem="missing value (the indicator's missing policy is 'error')")
    raise InputError(source, row(i), code, df[code].iloc[i],
                     f"marked not applicable, but this item always applies (the indicator "
                     f"needs not_applicable: {' | '.join(NOT_APPLICABLE_OPTIONS)})")


_TOO_LARGE = (f"too large: at most {MAX_BUDGET:.0e} yuan (10^15) per project; larger budgets "
              "make totals lose precision and overflow")


def _numeric(s: pd.Series, source: str, col: str, row) -> pd.Series:
    # text columns (object, or pandas' ``str`` dtype that read_csv(dtype=str) gives from
    # pandas 3 on) are parsed leniently; anything that is not a number becomes an InputError
    out = s.astype(float) if pd.api.types.is_numeric_dtype(s) else pd.to_numeric(
        s.astype(str).str.strip().str.replace(",", "", regex=False), errors="coerce")
    bad = out.isna() | ~np.isfinite(out.to_numpy(dtype=float))
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(source, row(int(s.index[i])), col, s.iloc[i], "must be a finite number")
    return out.astype(float)


def _boolean(s: pd.Series, source: str, col: str, row) -> pd.Series:
    text = s.astype(str).str.strip().str.lower()
    ok = text.isin(_TRUE | _FALSE)
    if not ok.all():
        i = int(np.flatnonzero((~ok).to_numpy())[0])
        raise InputError(source, row(i), col, s.iloc[i], "must be yes/no (1/0, true/false)")
    return text.isin(_TRUE)


def _levels(s: pd.Series, labels: tuple[str, ...], source: str, col: str, row) -> pd.Series:
    lookup = {lab: k for k, lab in enumerate(labels)}
    lookup.update({str(k): k for k in range(len(labels))})
    lookup.update({f"{k}.0": k for k in range(len(labels))})
    text = s.astype(str).str.strip()
    out = text.map(lookup)
    if out.isna().any():
        i = int(np.flatnonzero(out.isna().to_numpy())[0])
        raise InputError(source, row(int(s.index[i])), col, s.iloc[i],
                         f"must be one of {', '.join(labels)} (or 0..{len(labels) - 1})")
    return out.astype(float)


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else exc.__class__.__name__


# --- published figures and the synthetic generator -----------------------------------------

@cache
def calibration_figures() -> pd.DataFrame:
    """The published figures of ``datasets/calibration/published_figures.csv``."""
    return pd.read_csv(CALIBRATION_FILE, dtype={"value": float})


def _figure(key: str) -> float:
    df = calibration_figures()
    hit = df.loc[df["key"] == key, "value"]
    if hit.empty:
        raise InputError(CALIBRATION_FILE, field="key", value=key, problem="no such figure")
    return float(hit.iloc[0])


def preset(name: str) -> dict[str, Any]:
    """Generator defaults shaped by a published case (see ``datasets/calibration/``)."""
    presets = {
        "liupanshui_2021": lambda: {
            "n_projects": int(_figure("liupanshui_2021_projects")),
            "n_departments": int(_figure("liupanshui_2021_departments")),
            "total_budget": _figure("liupanshui_2021_funds_evaluated"),
        },
        "zhucheng_2022": lambda: {
            "n_projects": int(_figure("zhucheng_2022_projects")),
            "n_departments": int(_figure("zhucheng_2022_departments")),
            # Zhucheng publishes no total: use Liupanshui's mean budget per project
            "total_budget": _figure("zhucheng_2022_projects")
            * _figure("liupanshui_2021_funds_evaluated") / _figure("liupanshui_2021_projects"),
        },
    }
    if name not in presets:
        raise InputError(field="preset", value=name,
                         problem=f"unknown preset (known: {', '.join(presets)})")
    return presets[name]()


GENERATOR_DEFAULTS: dict[str, Any] = {
    "n_projects": 3468, "n_departments": 561, "total_budget": 22.536e9,
    "budget_sigma": 1.2, "performance_mean": 0.85, "performance_sd": 0.08,
    "budget_score_correlation": 0.0,
    "observation_noise": 0.05, "share_without_targets": 0.0, "share_not_self_evaluated": 0.0,
    "cross_year_share": 0.0, "cross_year_years": 3,
    "grade_budgets": None, "calibrate": None,
}
#: generator settings a ``calibrate`` block may solve for, with their default bounds
CALIBRATABLE: dict[str, tuple[float, float]] = {
    "performance_mean": (0.7, 0.99),
    "performance_sd": (0.01, 0.2),
    "budget_score_correlation": (-0.95, 0.95),
}
_CALIBRATE_KEYS = {"solve", "target", "bounds"}


@dataclass(frozen=True, eq=False)
class _Draws:
    """The generator's random numbers, drawn once per seed in a fixed order. Every setting
    acts on them through a monotone transform (inverse CDFs), so a calibration that changes
    a setting moves each project smoothly (common random numbers)."""

    departments: np.ndarray   # (n,) department index
    z_budget: np.ndarray      # (n,) standard normal, the budget's own part
    z_theta: np.ndarray       # (n,) standard normal, latent performance
    z_obs: np.ndarray         # (n, leaves) or (n,) observation noise
    z_aux: np.ndarray         # (n, aux inputs) noise of the self-scores
    u_bonus: np.ndarray       # (n, bonus leaves) uniforms for the bonus counts
    u_flags: np.ndarray       # (2, n) uniforms for the precondition flags
    u_cross: np.ndarray       # (2, n) uniforms: cross-year or not, and the stage reached


def _draw(params: Mapping[str, Any], system: IndicatorSystem | None,
          seed: int | np.random.SeedSequence) -> _Draws:
    ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(int(seed))
    rng = np.random.default_rng(ss)
    n, n_dep = int(params["n_projects"]), int(params["n_departments"])
    dep_weight = rng.lognormal(0.0, 1.0, n_dep)
    dep = rng.choice(n_dep, size=n, p=dep_weight / dep_weight.sum())
    if n >= n_dep:
        dep[:n_dep] = np.arange(n_dep)
        dep = rng.permutation(dep)
    leaves = 0 if system is None else len(system.indicators)
    n_aux = 0 if system is None else sum(len(x.rule.aux_inputs) for x in system.indicators)
    n_bonus = 0 if system is None else len(system.bonus)
    return _Draws(departments=dep, z_budget=rng.standard_normal(n),
                  z_theta=rng.standard_normal(n),
                  z_obs=rng.standard_normal((n, leaves) if system is not None else n),
                  z_aux=rng.standard_normal((n, n_aux)), u_bonus=rng.random((n, n_bonus)),
                  u_flags=rng.random((2, n)), u_cross=rng.random((2, n)))


def _numbers(params: Mapping[str, Any], system: IndicatorSystem | None, draws: _Draws
             ) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray], np.ndarray]:
    """Budgets, latent performance θ, the measured (or score) columns and the scores of one
    set of settings on fixed draws."""
    rho = float(params["budget_score_correlation"])
    z_b = rho * draws.z_theta + math.sqrt(1.0 - rho * rho) * draws.z_budget
    raw = np.exp(float(params["budget_sigma"]) * z_b)
    budget = raw / raw.sum() * float(params["total_budget"])
    mean, sd = float(params["performance_mean"]), float(params["performance_sd"])
    common = mean * (1 - mean) / sd**2 - 1
    theta = special.betaincinv(mean * common, (1 - mean) * common, special.ndtr(draws.z_theta))
    noise = float(params["observation_noise"])
    if system is None:
        score = np.round(100.0 * np.clip(theta + noise * draws.z_obs, 0, 1), 2)
        return budget, theta, {"score": score}, score
    a = np.clip(theta[:, None] + noise * draws.z_obs, 0, 1)
    cols: dict[str, np.ndarray] = {}
    j = 0
    for k, leaf in enumerate(system.indicators):
        cols[leaf.code] = np.round(leaf.rule.invert(a[:, k]), 4)
        for aux in leaf.rule.aux_inputs:
            if aux not in leaf.rule.aux_labels:  # labels (a band) are optional: not written
                # the self-score: the measured value plus inflation
                cols[f"{leaf.code}.{aux}"] = np.round(np.clip(
                    cols[leaf.code] + 3.0 + 3.0 * draws.z_aux[:, j], 0, 100), 2)
            j += 1
    for b, leaf in enumerate(system.bonus):  # Poisson(θ) counts by inverse CDF
        cdf = special.pdtr(np.arange(16)[None, :], theta[:, None])
        cols[leaf.code] = (draws.u_bonus[:, b, None] > cdf).sum(axis=1).astype(float)
    return budget, theta, cols, np.asarray(system.score(dict(cols)), dtype=float)


def _build(params: Mapping[str, Any], system: IndicatorSystem | None, draws: _Draws
           ) -> tuple[pd.DataFrame, tuple[str, ...], np.ndarray]:
    """The portfolio table of one set of settings on fixed draws, its measured columns and
    its scores (as the indicator system computes them, or the ready scores)."""
    n, n_dep = int(params["n_projects"]), int(params["n_departments"])
    budget, theta, cols, score = _numbers(params, system, draws)
    width = len(str(n_dep))
    table = pd.DataFrame({
        "project_id": [f"P{k + 1:0{len(str(n))}d}" for k in range(n)],
        "department": np.array([f"D{d + 1:0{width}d}" for d in draws.departments],
                               dtype=object),
        "budget": budget,
    })
    table = pd.concat([table, pd.DataFrame(cols)], axis=1)
    measured = () if system is None else tuple(cols)
    table["true_score"] = np.round(100.0 * theta * (1 if system is None else system.total / 100),
                                   2)
    table["has_targets"] = draws.u_flags[0] >= float(params["share_without_targets"])
    table["self_evaluated"] = draws.u_flags[1] >= float(params["share_not_self_evaluated"])
    if params["cross_year_share"] > 0:   # cross-year projects at a uniform stage
        years = int(params["cross_year_years"])
        table["years_left"] = np.where(
            draws.u_cross[0] < float(params["cross_year_share"]),
            1 + np.minimum(np.floor(draws.u_cross[1] * years), years - 1), 1).astype(np.int64)
    return table, measured, score


def generate_portfolio(system: IndicatorSystem | None = None, *,
                       seed: int | np.random.SeedSequence = 0,
                       preset_name: str | None = None, grading: Grading | None = None,
                       **settings: Any) -> Portfolio:
    """A seeded synthetic portfolio.

    Projects are spread over departments (every department gets at least one when there are
    enough projects); budgets are lognormal (``budget_sigma``) scaled to ``total_budget`` yuan;
    latent true performance θ ∈ [0, 1] is Beta-distributed with ``performance_mean`` and
    ``performance_sd``, and ``budget_score_correlation`` ρ ties it to the budget (a Gaussian
    copula: log budget ∝ ρ z_θ + √(1 − ρ²) z, so with ρ > 0 larger projects perform better);
    each leaf's attainment is θ plus normal ``observation_noise``, clipped to [0, 1], and
    written as the raw measurement the leaf's rule would score that way. Without an
    indicator system the portfolio carries a ``score`` (points) instead. Every draw goes
    through an inverse CDF, so changing a setting moves each project smoothly.

    ``calibrate`` (``{solve: SETTING, target: {money_share.<grade>: S}, bounds: [LO, HI]}``)
    solves one setting (:data:`CALIBRATABLE`) with :func:`scipy.optimize.brentq` so that the
    projects of a grade hold the share ``S`` of the money (``money_share.<grade>``) or of the
    projects (``share.<grade>``), grading with ``grading``; the portfolio records what was
    solved in ``calibration``. A target between two projects' budgets is met as closely as
    the portfolio allows.

    ``grade_budgets`` (e.g. ``{"fair": 853_333_333.33}``) instead pins the yuan held by
    projects in a grade: budgets inside and outside the pinned grades are rescaled so the pins
    and the total hold to the cent (which distorts the department ledgers: prefer
    ``calibrate``).
    """
    params = dict(GENERATOR_DEFAULTS)
    if preset_name:
        params.update(preset(preset_name))
    if "measurement_noise" in settings:
        raise InputError(where="generator", field="measurement_noise",
                         problem="renamed: use observation_noise (the noise of the generated "
                                 "measurements; simulation.self_evaluation.noise is the Monte "
                                 "Carlo's)")
    unknown = set(settings) - set(GENERATOR_DEFAULTS)
    if unknown:
        key = sorted(unknown)[0]
        raise InputError(where="generator", field=key,
                         problem=f"unknown setting (known: {', '.join(sorted(GENERATOR_DEFAULTS))}"
                                 ", preset)")
    params.update({k: v for k, v in settings.items() if v is not None})
    _check_settings(params)
    _check_memory(int(params["n_projects"]), int(params["n_departments"]), system)
    grading = grading or Grading()
    draws = _draw(params, system, seed)
    record = None
    if params["calibrate"] is not None:
        key = repr((sorted(params.items(), key=lambda kv: kv[0]), _seed_key(seed), system,
                    grading))
        if key not in _SOLVED:  # the same inputs solve to the same value: solve once
            if len(_SOLVED) >= 32:
                _SOLVED.pop(next(iter(_SOLVED)))
            _SOLVED[key] = _calibrate(params, system, draws, grading)
        params, record = _SOLVED[key][0], dict(_SOLVED[key][1])
    table, measured, score = _build(params, system, draws)
    if params["grade_budgets"]:
        table["budget"] = _pin_grade_budgets(table["budget"].to_numpy(), score, grading,
                                             params["grade_budgets"],
                                             float(params["total_budget"]))
    else:
        table["budget"] = np.round(table["budget"].to_numpy(), 2)
    return Portfolio(table, source="<generated>", measured=measured, calibration=record)


#: solved calibrations by their inputs (settings, seed, indicator system, grading)
_SOLVED: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}


def _seed_key(seed: int | np.random.SeedSequence) -> tuple[Any, ...]:
    if isinstance(seed, np.random.SeedSequence):
        return (seed.entropy, tuple(seed.spawn_key), seed.pool_size)
    return (int(seed),)


def _calibrate(params: dict[str, Any], system: IndicatorSystem | None, draws: _Draws,
               grading: Grading) -> tuple[dict[str, Any], dict[str, Any]]:
    """Solve the ``calibrate`` block's setting for its target (see
    :func:`generate_portfolio`)."""
    spec = params["calibrate"]

    def fail(name, value, problem):
        raise InputError(where="generator", field=f"calibrate.{name}" if name else "calibrate",
                         value=value, problem=problem)

    if not isinstance(spec, Mapping) or set(spec) - _CALIBRATE_KEYS or not {
            "solve", "target"} <= set(spec):
        fail("", spec, "must be {solve: SETTING, target: {money_share.<grade>: SHARE}, "
                       "bounds: [LOW, HIGH]}")
    if params["grade_budgets"]:
        fail("", dict(spec), "give either calibrate or grade_budgets, not both")
    name = spec["solve"]
    if name not in CALIBRATABLE:
        fail("solve", name, f"must be one of {', '.join(CALIBRATABLE)}")
    target = spec["target"]
    if not isinstance(target, Mapping) or len(target) != 1:
        fail("target", target, "must be one {money_share.<grade>: share} or "
                               "{share.<grade>: share}")
    (key, goal), = target.items()
    kind, _, code = str(key).partition(".")
    if kind not in ("money_share", "share") or not code:
        fail("target", key, "must be money_share.<grade> or share.<grade>")
    try:
        k = grading.labels.index(code)
    except InputError as err:
        raise err.at(where="generator", field=f"calibrate.target.{key}") from None
    if isinstance(goal, bool) or not isinstance(goal, int | float) or not 0 <= goal <= 1:
        fail(f"target.{key}", goal, "must be a share in [0, 1]")
    bounds = spec.get("bounds", CALIBRATABLE[name])
    if (not isinstance(bounds, list | tuple) or len(bounds) != 2
            or not all(isinstance(b, int | float) and not isinstance(b, bool) for b in bounds)
            or not bounds[0] < bounds[1]):
        fail("bounds", bounds, "must be [low, high] with low < high")

    def achieved(x: float) -> float:
        trial = {**params, name: float(x)}
        _check_settings(trial)
        budget, _, _, score = _numbers(trial, system, draws)
        member = grading.grade(score) == k
        if kind == "share":
            return float(member.mean())
        return float(budget[member].sum() / budget.sum())

    lo, hi = float(bounds[0]), float(bounds[1])
    try:
        f_lo, f_hi = achieved(lo) - goal, achieved(hi) - goal
    except InputError as err:
        fail("bounds", [lo, hi], f"a bound is not a valid {err.field}: {err.problem}")
    if f_lo * f_hi > 0:
        fail(f"target.{key}", goal, f"not bracketed: {name} = {lo:g} gives {f_lo + goal:.4%} "
                                    f"and {hi:g} gives {f_hi + goal:.4%}; give bounds between "
                                    "which the target is crossed")
    x = optimize.brentq(lambda v: achieved(v) - goal, lo, hi, xtol=1e-10, maxiter=200)
    # the share moves in steps (one project at a time): take the closer side of the step
    step = 1e-8 * max(abs(x), 1.0)
    x = min((c for c in (x - step, x, x + step) if lo <= c <= hi),
            key=lambda c: abs(achieved(c) - goal))
    record = {"solve": name, "value": float(x), "target": {str(key): float(goal)},
              "achieved": achieved(x), "bounds": [lo, hi]}
    return {**params, name: float(x)}, record


def _check_settings(p: Mapping[str, Any]) -> None:
    def fail(key, problem):
        raise InputError(where="generator", field=key, value=p[key], problem=problem)

    for key in ("n_projects", "n_departments"):
        if isinstance(p[key], bool) or not isinstance(p[key], int | np.integer) or p[key] < 1:
            fail(key, "must be a whole number >= 1")
    for key in ("total_budget", "budget_sigma", "performance_sd", "observation_noise"):
        v = p[key]
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or v < 0:
            fail(key, "must be a finite number >= 0")
    m = p["performance_mean"]
    if isinstance(m, bool) or not isinstance(m, int | float) or not 0 < m < 1:
        fail("performance_mean", "must lie strictly between 0 and 1")
    if not 0 < p["performance_sd"] ** 2 < m * (1 - m):
        fail("performance_sd", f"must be > 0 and below sqrt(mean·(1−mean)) = "
                               f"{math.sqrt(m * (1 - m)):.4f}")
    rho = p["budget_score_correlation"]
    if isinstance(rho, bool) or not isinstance(rho, int | float) or not -1 < rho < 1:
        fail("budget_score_correlation", "must lie strictly between -1 and 1")
    y = p["cross_year_years"]
    if isinstance(y, bool) or not isinstance(y, int | np.integer) or y < 1:
        fail("cross_year_years", "must be a whole number of years >= 1")
    for key in ("share_without_targets", "share_not_self_evaluated", "cross_year_share"):
        v = p[key]
        if isinstance(v, bool) or not isinstance(v, int | float) or not 0 <= v <= 1:
            fail(key, "must be a share in [0, 1]")
    if p["total_budget"] > MAX_BUDGET:
        fail("total_budget", f"too large: at most {MAX_BUDGET:.0e} yuan (10^15); larger budgets "
                             "make totals lose precision and overflow")
    gb = p["grade_budgets"]
    if gb is not None and not isinstance(gb, Mapping):
        fail("grade_budgets", "must map grade codes to yuan")


def generated_size(n_projects: int, n_departments: int,
                   system: IndicatorSystem | None = None) -> int:
    """Bytes of memory generating a portfolio takes at its peak, roughly: the table (a float
    per indicator column, the id strings) and the generator's temporary arrays."""
    columns = 8 if system is None else 8 + len(system.indicators) + len(system.bonus) + sum(
        len(leaf.rule.aux_inputs) for leaf in system.indicators)
    return 48 * columns * n_projects + 200 * n_projects + 32 * n_departments


def _check_memory(n_projects: int, n_departments: int, system: IndicatorSystem | None) -> None:
    """Refuse a generated portfolio above the memory limit (:func:`perfsim.limits.check_memory`),
    naming the size most to blame."""
    key = "n_projects" if 48 * n_projects >= 32 * n_departments else "n_departments"
    value = n_projects if key == "n_projects" else n_departments
    check_memory(generated_size(n_projects, n_departments, system), where="generator",
                 field=key, value=value)


def _pin_grade_budgets(budget: np.ndarray, score: np.ndarray, grading: Grading,
                       pins: Mapping[str, float], total: float) -> np.ndarray:
    grade = grading.grade(score)
    out = budget.copy()
    pinned = np.zeros(budget.size, dtype=bool)
    for code, amount in pins.items():
        try:
            k = grading.labels.index(str(code))
        except InputError as err:
            raise err.at(where="generator", field=f"grade_budgets.{code}") from None
        if isinstance(amount, bool) or not isinstance(amount, int | float) or not (
                0 <= amount <= total):
            raise InputError(where="generator", field=f"grade_budgets.{code}", value=amount,
                             problem=f"must lie in [0, total_budget = {total:,.2f}]")
        member = grade == k
        if not member.any():
            raise InputError(where="generator", field=f"grade_budgets.{code}", value=amount,
                             problem="no generated project has that grade; change the "
                                     "performance settings or the seed")
        out[member] = budget[member] / budget[member].sum() * amount
        pinned |= member
    rest = total - sum(float(v) for v in pins.values())
    if rest < 0 or (~pinned).sum() == 0:
        raise InputError(where="generator", field="grade_budgets",
                         value={str(k): v for k, v in pins.items()},
                         problem="pinned budgets must leave room within total_budget")
    out[~pinned] = budget[~pinned] / budget[~pinned].sum() * rest
    out = np.round(out, 2)
    # put the rounding residue on the largest project of each group so sums hold to the cent
    for mask, amount in [(grade == grading.labels.index(str(c)), float(v))
                         for c, v in pins.items()] + [(~pinned, rest)]:
        idx = np.flatnonzero(mask)
        big = idx[np.argmax(out[idx])]
        out[big] = round(out[big] + round(amount - out[idx].sum(), 2), 2)
    return out
