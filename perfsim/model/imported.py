"""An imported folder as a portfolio: the tidy tables ``perfsim import`` writes
(``projects.csv``, ``leaves.csv``), each project with its own third-level leaves under the
shared framework (一级/二级指标), read into padded arrays the kernel scores without a loop over
projects (:mod:`perfsim.kernel.scoring.cells`).

A scenario names the folder as its portfolio::

    portfolio: {imported: ../imports/2023}                  # scores recomputed by the rule
    portfolio: {imported: ../imports/2023, scores: printed}  # scores as the sheets print them

What the model reads, per project table (``form`` = project; department-overall tables are
left out, their money being their projects'):

- ``project_id`` (the importer's: ``file:sheet``, ``#k`` for the k-th table of a sheet),
  ``department`` (主管部门; the implementing unit where it is blank), ``name`` (项目名称);
- ``budget`` = 全年预算数 (``budget_full``) in yuan: the money the linkage acts on;
- the leaves, in sheet order, then the execution item (预算执行) as one more leaf of its
  ``exec_points``. ``scores: recomputed`` (the default) scores each leaf by the rule the
  importer applied (``rule`` in leaves.csv): proportional against its own target with its
  direction (≥/> higher, ≤/< lower, = equal), threshold (met or not), a qualitative level's
  coefficient, the printed points where it is assessed, and the execution rate × its points.
  ``scores: printed`` takes every leaf's printed 得分 (within [0, points], the ``assessed``
  rule) and the printed execution score. Leaf scores and totals are rounded half up to two
  decimals as the form prints them, so a recomputed total equals ``recomputed_total``;
  a printed one is the sum of the printed rows (where the sheet's 总分 differs from it, the
  review lists a ``total_mismatch``).

There is no indicator-system file: the framework's points live in each table. A scenario with
an imported portfolio names no ``indicator_system`` and no ``weighting``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from perfsim.errors import InputError
from perfsim.kernel.evaluation import Measure
from perfsim.kernel.scoring import CELL_KINDS, DIRECTIONS, cell_attainment
from perfsim.model.portfolio import Portfolio

#: Where a scenario's ``portfolio: {scores: ...}`` takes each leaf's score from.
SCORES = ("recomputed", "printed")
#: The label of the execution item's cell (its level-1 group).
EXECUTION = "预算执行"
#: Decimals of leaf scores and totals as the forms print them (四舍五入).
DECIMALS = 2
#: Cell kinds whose measured value measurement space moves (the others are shares of points).
MEASURED_KINDS = tuple(CELL_KINDS.index(k) for k in ("proportional", "threshold", "execution"))
_DIRECTION = {">=": 0, ">": 0, "<=": 1, "<": 1, "=": 2}
_KIND = {k: i for i, k in enumerate(CELL_KINDS)}
_PROJECT_NEEDS = ("project_id", "form", "project", "department", "unit", "budget_full",
                  "execution_rate", "exec_points", "exec_score")
_LEAF_NEEDS = ("project_id", "row", "level1", "level2", "level3", "op", "target_value",
               "actual_value", "points", "printed_score", "recomputed_score", "rule")


@dataclass(frozen=True, eq=False)
class Cells:
    """Each project's own leaves, padded to the most any project has: arrays (P, L) of the
    rule kind (index into :data:`~perfsim.kernel.scoring.CELL_KINDS`; 0 pads), direction
    (index into :data:`~perfsim.kernel.scoring.DIRECTIONS`), target and value (see
    :func:`~perfsim.kernel.scoring.cell_attainment`), points (never negative), and the
    framework's level-1 and level-2 labels and the leaf's own name ("" on padding)."""

    kind: np.ndarray
    direction: np.ndarray
    target: np.ndarray
    value: np.ndarray
    points: np.ndarray
    level1: np.ndarray
    level2: np.ndarray
    level3: np.ndarray

    @property
    def mask(self) -> np.ndarray:
        """The cells that hold a leaf (P, L)."""
        return self.kind != 0

    def attainment(self) -> np.ndarray:
        """Each cell's attainment (P, L), shares in [0, 1], by its own rule."""
        return cell_attainment(self.kind, self.direction, self.target, self.value,
                               self.points)


@dataclass(frozen=True)
class ImportedPortfolio(Portfolio):
    """A portfolio read from an imported folder: the table (``project_id``, ``department``,
    ``budget`` in yuan, ``name``) and each project's own leaves (:class:`Cells`), scored as
    ``scores`` says (:data:`SCORES`)."""

    cells: Cells | None = field(default=None, compare=False, repr=False)
    scores_from: str = "recomputed"

    def observed(self) -> tuple[np.ndarray, Measure]:
        """Attainments (P, L) and the measure that scores them with each project's own
        points, rounded as the forms print (two decimals, leaf and total)."""
        c = self.cells
        pts = np.asarray(c.points, dtype=float)
        return c.attainment(), Measure(points=pts.mean(axis=0), span=np.ones(pts.shape[1]),
                                       cells=pts, leaf_decimals=DECIMALS,
                                       total_decimals=DECIMALS)

    def shares(self, level: str = "level1") -> pd.DataFrame:
        """The share of each framework group's points each project earns (projects × the
        groups of ``level``, level1 or level2, in the order first met; NaN where a project has
        no leaf in a group): the level the projects' own leaves share."""
        c = self.cells
        attainment, _ = self.observed()
        labels = np.where(c.mask, getattr(c, level), "").astype(str)
        group, names = pd.factorize(labels.ravel())
        keep = labels.ravel() != ""
        P, G = labels.shape[0], len(names)
        at = (np.repeat(np.arange(P), labels.shape[1]) * G + group)[keep]
        pts = c.points.ravel()[keep]
        earned = np.bincount(at, weights=(attainment.ravel()[keep] * pts), minlength=P * G)
        held = np.bincount(at, weights=pts, minlength=P * G)
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(held > 0, earned / np.where(held > 0, held, 1.0), np.nan)
        out = pd.DataFrame(share.reshape(P, G), columns=list(names))
        return out.drop(columns=[n for n in out.columns if n == ""])

    def __str__(self) -> str:
        c = self.cells
        return (f"{self.source}: {self.n_projects} projects (imported tables), "
                f"{self.table['department'].nunique()} departments, "
                f"{self.budget.sum():,.0f} yuan, {int(c.mask.sum())} leaves of their own "
                f"(at most {c.kind.shape[1]} a project), scores {self.scores_from}")


def _read(path: Path, needs: tuple[str, ...]) -> pd.DataFrame:
    if not path.exists():
        raise InputError(path, problem="file not found: an imported folder holds the "
                                       "projects.csv and leaves.csv that `perfsim import PATH "
                                       "--out DIR` writes")
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except Exception as exc:  # pandas parse errors come in many classes
        raise InputError(path, problem=f"cannot parse ({exc.__class__.__name__})") from None
    for col in needs:
        if col not in df.columns:
            raise InputError(path, field=col, problem="required column missing (written by "
                                                      "`perfsim import` of this version)")
    return df


def _numbers(df: pd.DataFrame, col: str, path: Path, *, required: bool = False,
             rows: np.ndarray | None = None) -> np.ndarray:
    """A column as floats (NaN where blank); a cell that is not a number is an error naming
    its row (header = row 1; ``rows``: each row's number in the file where ``df`` is a
    selection)."""
    text = df[col].astype(str).str.strip().str.removeprefix("'")   # a text escaped on write
    out = pd.to_numeric(text.where(text != ""), errors="coerce").to_numpy(dtype=float)
    bad = (text != "").to_numpy() & np.isnan(out)
    if required:
        bad |= (text == "").to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        row = i + 2 if rows is None else int(rows[i])
        raise InputError(path, f"row {row}", col, df[col].iloc[i],
                         "must be a number" + (" (required)" if required else ""))
    return out


def load_imported(folder: str | Path, scores: str = "recomputed") -> ImportedPortfolio:
    """The project tables of an imported folder as a portfolio (see the module's text):
    ``scores`` ``recomputed`` or ``printed``. Errors name the file, the row, the column and
    the value."""
    folder = Path(folder)
    if scores not in SCORES:
        raise InputError(folder, field="scores", value=scores,
                         problem=f"must be one of {', '.join(SCORES)}")
    if not folder.is_dir():
        raise InputError(folder, problem="not a folder (name the --out folder of `perfsim "
                                         "import`)")
    ppath, lpath = folder / "projects.csv", folder / "leaves.csv"
    projects = _read(ppath, _PROJECT_NEEDS)
    leaves = _read(lpath, _LEAF_NEEDS)
    is_project = (projects["form"].str.strip() == "project").to_numpy()
    prow = np.flatnonzero(is_project) + 2        # rows as a spreadsheet shows them
    projects = projects[is_project].reset_index(drop=True)
    if projects.empty:
        raise InputError(ppath, field="form", problem="no project table (form = project) to "
                                                      "run")
    ids = projects["project_id"].str.strip()
    dupe = ids.duplicated()
    if dupe.any():
        i = int(np.flatnonzero(dupe.to_numpy())[0])
        raise InputError(ppath, f"row {prow[i]}", "project_id", ids.iloc[i], "duplicate id")
    budget = _numbers(projects, "budget_full", ppath, required=True, rows=prow)
    if np.any(budget < 0):
        i = int(np.flatnonzero(budget < 0)[0])
        raise InputError(ppath, f"row {prow[i]}", "budget_full", budget[i], "must be >= 0")
    dep = projects["department"].str.strip()
    dep = dep.where(dep != "", projects["unit"].str.strip())
    if (dep == "").any():
        i = int(np.flatnonzero((dep == "").to_numpy())[0])
        raise InputError(ppath, f"row {prow[i]}", "department", "",
                         "blank, and so is unit: the table names no department")
    table = pd.DataFrame({"project_id": ids.to_numpy(dtype=object),
                          "department": dep.to_numpy(dtype=object), "budget": budget,
                          "name": projects["project"].to_numpy(dtype=object)})
    cells = _cells(projects, leaves, ids, ppath, lpath, scores, prow)
    return ImportedPortfolio(table, source=str(folder), cells=cells, scores_from=scores)


def _cells(projects: pd.DataFrame, leaves: pd.DataFrame, ids: pd.Series, ppath: Path,
           lpath: Path, scores: str, prow: np.ndarray) -> Cells:
    """The padded arrays of every project's leaves, then its execution item."""
    position = pd.Series(np.arange(len(ids)), index=ids.to_numpy())
    lid = leaves["project_id"].str.strip()
    keep = lid.isin(position.index).to_numpy()   # leaves of department tables are left out
    lv = leaves[keep].reset_index(drop=True)
    lrow = np.flatnonzero(keep) + 2               # rows as a spreadsheet shows them
    p = position[lid[keep]].to_numpy()
    k = lv.groupby(p, sort=False).cumcount().to_numpy()
    count = np.bincount(p, minlength=len(ids))
    P, L = len(ids), int(count.max(initial=0)) + 1
    shape = (P, L)
    kind = np.zeros(shape, dtype=np.int8)
    direction = np.zeros(shape, dtype=np.int8)
    target, value, points = np.zeros(shape), np.zeros(shape), np.zeros(shape)
    labels = [np.full(shape, "", dtype=object) for _ in range(3)]

    def num(col: str) -> np.ndarray:
        return _numbers(lv, col, lpath, rows=lrow)

    pts, printed = np.nan_to_num(num("points")), np.nan_to_num(num("printed_score"))
    recomputed = np.nan_to_num(num("recomputed_score"))
    if np.any(pts < 0):   # a leaf earns a share of its points: none are negative
        i = int(np.flatnonzero(pts < 0)[0])
        raise InputError(lpath, f"row {lrow[i]}", "points", lv["points"].iloc[i],
                         "must be >= 0")
    rule = lv["rule"].str.strip().to_numpy(dtype=object)
    unknown = ~np.isin(rule, list(_KIND)[1:-1])
    if unknown.any():
        i = int(np.flatnonzero(unknown)[0])
        raise InputError(lpath, f"row {lrow[i]}", "rule", rule[i],
                         f"must be one of {', '.join(CELL_KINDS[1:-1])}")
    if scores == "printed":
        rule = np.full(rule.shape, "assessed", dtype=object)
        _printed_given(num("printed_score"), pts, lpath, lrow, "printed_score")
    code = np.array([_KIND[r] for r in rule], dtype=np.int8)
    v = np.where(code == _KIND["assessed"], printed, 0.0)
    prop = code == _KIND["proportional"]
    if prop.any():
        sub = lv[prop]   # dates and levels elsewhere are text: read the numbers here only
        t_all, a_all = np.full(len(lv), np.nan), np.full(len(lv), np.nan)
        t_all[prop] = _numbers(sub, "target_value", lpath, rows=lrow[prop])
        a_all[prop] = _numbers(sub, "actual_value", lpath, rows=lrow[prop])
        op = lv["op"].str.strip().str.removeprefix("'").to_numpy(dtype=object)  # "'=": escaped
        bad = prop & (np.isnan(t_all) | np.isnan(a_all) | ~np.isin(op, list(_DIRECTION)))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputError(lpath, f"row {lrow[i]}", "op/target_value/actual_value",
                             f"{op[i]} {lv['target_value'].iloc[i]} / "
                             f"{lv['actual_value'].iloc[i]}",
                             "a proportional leaf needs an operator, a target and an actual")
        v = np.where(prop, a_all, v)
        target[p[prop], k[prop]] = t_all[prop]
        direction[p[prop], k[prop]] = [_DIRECTION[o] for o in op[prop]]
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(pts > 0, recomputed / np.where(pts > 0, pts, 1.0), 0.0)
    v = np.where(code == _KIND["threshold"], (share >= 1.0 - 1e-9).astype(float), v)
    v = np.where(code == _KIND["level"], share, v)
    kind[p, k], value[p, k], points[p, k] = code, v, pts
    for arr, col in zip(labels, ("level1", "level2", "level3"), strict=True):
        arr[p, k] = lv[col].to_numpy(dtype=object)
    # the execution item: one more leaf after each table's own
    ep = np.nan_to_num(_numbers(projects, "exec_points", ppath, rows=prow))
    if np.any(ep < 0):
        i = int(np.flatnonzero(ep < 0)[0])
        raise InputError(ppath, f"row {prow[i]}", "exec_points",
                         projects["exec_points"].iloc[i], "must be >= 0")
    rows = np.arange(P)
    has = ep > 0
    if scores == "printed":
        kind[rows[has], count[has]] = _KIND["assessed"]
        ev = _numbers(projects, "exec_score", ppath, rows=prow)
        _printed_given(ev, ep, ppath, prow, "exec_score")
        ev = np.nan_to_num(ev)
    else:
        kind[rows[has], count[has]] = _KIND["execution"]
        ev = np.nan_to_num(_numbers(projects, "execution_rate", ppath, rows=prow))
    value[rows[has], count[has]] = ev[has]
    points[rows[has], count[has]] = ep[has]
    labels[0][rows[has], count[has]] = EXECUTION
    labels[2][rows[has], count[has]] = EXECUTION
    return Cells(kind=kind, direction=direction, target=target, value=value, points=points,
                 level1=labels[0], level2=labels[1], level3=labels[2])


def _printed_given(score: np.ndarray, points: np.ndarray, path: Path, rows: np.ndarray,
                   column: str) -> None:
    """``scores: printed`` reads every row's printed 得分: a row with points and a blank
    score is a one-line error naming it, never a score of 0."""
    blank = np.isnan(score) & (points > 0)
    if blank.any():
        i = int(np.flatnonzero(blank)[0])
        raise InputError(path, f"row {rows[i]}", column, "",
                         "blank: scores: printed takes every row's printed 得分 (fill it in, or "
                         "use scores: recomputed)")


__all__ = ["DIRECTIONS", "EXECUTION", "MEASURED_KINDS", "SCORES", "Cells", "ImportedPortfolio",
           "load_imported"]
