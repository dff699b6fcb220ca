"""Portfolios of projects: loading from CSV/Excel, validation, and a seeded synthetic generator.

A portfolio file has one row per project with the columns

- ``project_id`` (unique), ``department``, ``budget`` (yuan, from 0 to :data:`MAX_BUDGET`,
  10^15: more than any public budget, and beyond it sums of budgets lose whole yuan and, near
  1e308, overflow) — required;
- either one column per indicator leaf code (raw measurements; a re-check leaf also takes
  ``<code>.self``, the self-score) **or** a ready ``score`` in points;
- optional: ``name``, ``has_targets`` and ``self_evaluated`` (yes/no, for linkage
  preconditions), ``true_score`` (latent performance in points, written by the generator).
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from perfsim.errors import InputError
from perfsim.kernel.grading import Grading
from perfsim.model.indicators import IndicatorSystem

REQUIRED = ("project_id", "department", "budget")
FLAGS = ("has_targets", "self_evaluated")
OPTIONAL = ("name", "score", "true_score", *FLAGS)
DATASETS = Path(__file__).resolve().parents[2] / "datasets"
CALIBRATION_FILE = DATASETS / "calibration" / "published_figures.csv"
MAX_BUDGET = 1e15  # yuan, per project (and for a generated portfolio's total)
_TRUE = {"1", "true", "yes", "y", "是", "有", "t"}
_FALSE = {"0", "false", "no", "n", "否", "无", "f"}


@dataclass(frozen=True)
class Portfolio:
    """A validated portfolio. ``table`` holds one row per project; treat it as read-only."""

    table: pd.DataFrame
    source: str = "<portfolio>"
    measured: tuple[str, ...] = ()  # indicator (and auxiliary) columns present

    @property
    def n_projects(self) -> int:
        return len(self.table)

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

    def measurements(self) -> dict[str, np.ndarray]:
        return {c: self.table[c].to_numpy(dtype=float) for c in self.measured}

    def flags(self) -> dict[str, np.ndarray]:
        return {f: self.table[f].to_numpy(dtype=bool) for f in FLAGS if f in self.table.columns}

    def __str__(self) -> str:
        kind = "scores" if self.has_scores else f"{len(self.measured)} measured indicators"
        return (f"{self.source}: {self.n_projects} projects, "
                f"{self.table['department'].nunique()} departments, "
                f"{self.budget.sum():,.0f} yuan, {kind}")


def load_portfolio(path: str | Path, system: IndicatorSystem | None = None) -> Portfolio:
    """Load a portfolio from ``.csv`` or ``.xlsx`` and validate it (against ``system`` when
    given). Errors name the file, the row (as in a spreadsheet: header = row 1), the column
    and the value."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, problem="file not found")
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        elif suffix in (".xlsx", ".xlsm"):
            df = pd.read_excel(path, dtype=object)
        else:
            raise InputError(path, problem="unknown portfolio format (use .csv or .xlsx)")
    except InputError:
        raise
    except UnicodeDecodeError:
        raise InputError(path, problem="not UTF-8 text") from None
    except Exception as exc:  # pandas/openpyxl parse errors come in many classes
        raise InputError(path, problem=f"cannot parse ({_first_line(exc)})") from None
    return portfolio_from_frame(df, system, source=str(path))


def portfolio_from_frame(df: pd.DataFrame, system: IndicatorSystem | None = None,
                         source: str = "<portfolio>") -> Portfolio:
    """Validate a raw table (strings or numbers) and return a :class:`Portfolio`."""
    df = df.copy()
    df.columns = [str(c).strip() for c in df.columns]
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
    known = set(REQUIRED) | set(OPTIONAL) | set(leaf_cols)
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
        return f"row {i + 2}"

    for col in df.columns:
        blank = df[col].isna() | (df[col].astype(str).str.strip() == "")
        if col != "name" and blank.any():
            raise InputError(source, row(int(np.flatnonzero(blank.to_numpy())[0])), col,
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
    for col in FLAGS:
        if col in df.columns:
            df[col] = _boolean(df[col], source, col, row)
    for col in present:
        if col in labels:
            df[col] = _levels(df[col], labels[col], source, col, row)
        else:
            df[col] = _numeric(df[col], source, col, row)
    return Portfolio(df.reset_index(drop=True), source, tuple(present))


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
        raise InputError(source, row(i), col, s.iloc[i], "must be a finite number")
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
        raise InputError(source, row(i), col, s.iloc[i],
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
    "measurement_noise": 0.05, "share_without_targets": 0.0, "share_not_self_evaluated": 0.0,
    "grade_budgets": None,
}


def generate_portfolio(system: IndicatorSystem | None = None, *,
                       seed: int | np.random.SeedSequence = 0,
                       preset_name: str | None = None, grading: Grading | None = None,
                       **settings: Any) -> Portfolio:
    """A seeded synthetic portfolio.

    Projects are spread over departments (every department gets at least one when there are
    enough projects); budgets are lognormal (``budget_sigma``) scaled to ``total_budget`` yuan;
    latent true performance θ ∈ [0, 1] is Beta-distributed with ``performance_mean`` and
    ``performance_sd``; each leaf's attainment is θ plus normal ``measurement_noise``, clipped
    to [0, 1], and written as the raw measurement the leaf's rule would score that way. Without
    an indicator system the portfolio carries a ``score`` (points) instead.

    ``grade_budgets`` (e.g. ``{"fair": 853_333_333.33}``) pins the yuan held by projects in a
    grade (under ``grading``, national cutoffs by default): budgets inside and outside the
    pinned grades are rescaled so the pins and the total hold to the cent.
    """
    params = dict(GENERATOR_DEFAULTS)
    if preset_name:
        params.update(preset(preset_name))
    unknown = set(settings) - set(GENERATOR_DEFAULTS)
    if unknown:
        key = sorted(unknown)[0]
        raise InputError(where="generator", field=key,
                         problem=f"unknown setting (known: {', '.join(sorted(GENERATOR_DEFAULTS))}"
                                 ", preset)")
    params.update({k: v for k, v in settings.items() if v is not None})
    _check_settings(params)
    _check_memory(int(params["n_projects"]), int(params["n_departments"]), system)
    ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(int(seed))
    rng = np.random.default_rng(ss)
    n, n_dep = int(params["n_projects"]), int(params["n_departments"])

    dep_weight = rng.lognormal(0.0, 1.0, n_dep)
    dep = rng.choice(n_dep, size=n, p=dep_weight / dep_weight.sum())
    if n >= n_dep:
        dep[:n_dep] = np.arange(n_dep)
        dep = rng.permutation(dep)
    width = len(str(n_dep))
    departments = np.array([f"D{d + 1:0{width}d}" for d in dep], dtype=object)

    raw = rng.lognormal(0.0, float(params["budget_sigma"]), n)
    budget = raw / raw.sum() * float(params["total_budget"])

    mean, sd = float(params["performance_mean"]), float(params["performance_sd"])
    common = mean * (1 - mean) / sd**2 - 1
    theta = rng.beta(mean * common, (1 - mean) * common, n)
    noise = float(params["measurement_noise"])

    table = pd.DataFrame({
        "project_id": [f"P{k + 1:0{len(str(n))}d}" for k in range(n)],
        "department": departments,
        "budget": budget,
    })
    measured: tuple[str, ...] = ()
    if system is None:
        observed = np.clip(theta + noise * rng.standard_normal(n), 0, 1)
        table["score"] = np.round(100.0 * observed, 2)
        score = table["score"].to_numpy()
    else:
        a = np.clip(theta[:, None] + noise * rng.standard_normal((n, len(system.indicators))),
                    0, 1)
        cols: dict[str, np.ndarray] = {}
        for k, leaf in enumerate(system.indicators):
            cols[leaf.code] = np.round(leaf.rule.invert(a[:, k]), 4)
            for aux in leaf.rule.aux_inputs:  # self-score: the measured value plus inflation
                cols[f"{leaf.code}.{aux}"] = np.round(np.clip(
                    cols[leaf.code] + rng.normal(3.0, 3.0, n), 0, 100), 2)
        for leaf in system.bonus:
            cols[leaf.code] = np.floor(rng.poisson(theta))
        table = pd.concat([table, pd.DataFrame(cols)], axis=1)
        measured = tuple(cols)
        score = system.score({c: v for c, v in cols.items()})
    table["true_score"] = np.round(100.0 * theta * (1 if system is None else system.total / 100),
                                   2)
    table["has_targets"] = rng.random(n) >= float(params["share_without_targets"])
    table["self_evaluated"] = rng.random(n) >= float(params["share_not_self_evaluated"])

    if params["grade_budgets"]:
        table["budget"] = _pin_grade_budgets(budget, score, grading or Grading(),
                                             params["grade_budgets"],
                                             float(params["total_budget"]))
    else:
        table["budget"] = np.round(budget, 2)
    return Portfolio(table, source="<generated>", measured=measured)


def _check_settings(p: Mapping[str, Any]) -> None:
    def fail(key, problem):
        raise InputError(where="generator", field=key, value=p[key], problem=problem)

    for key in ("n_projects", "n_departments"):
        if isinstance(p[key], bool) or not isinstance(p[key], int | np.integer) or p[key] < 1:
            fail(key, "must be a whole number >= 1")
    for key in ("total_budget", "budget_sigma", "performance_sd", "measurement_noise"):
        v = p[key]
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or v < 0:
            fail(key, "must be a finite number >= 0")
    m = p["performance_mean"]
    if isinstance(m, bool) or not isinstance(m, int | float) or not 0 < m < 1:
        fail("performance_mean", "must lie strictly between 0 and 1")
    if not 0 < p["performance_sd"] ** 2 < m * (1 - m):
        fail("performance_sd", f"must be > 0 and below sqrt(mean·(1−mean)) = "
                               f"{math.sqrt(m * (1 - m)):.4f}")
    for key in ("share_without_targets", "share_not_self_evaluated"):
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


def memory_limit() -> int | None:
    """The memory this process can have: the machine's physical memory, or a smaller
    control-group limit (containers); None where unknown."""
    limits = []
    with contextlib.suppress(ValueError, OSError, AttributeError):
        limits.append(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    for f in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        with contextlib.suppress(ValueError, OSError):
            limits.append(int(Path(f).read_text().strip()))
    limits = [v for v in limits if v > 0]
    return min(limits) if limits else None


def _check_memory(n_projects: int, n_departments: int, system: IndicatorSystem | None) -> None:
    need, have = generated_size(n_projects, n_departments, system), memory_limit()
    if have is not None and need > have:
        key = "n_projects" if 48 * n_projects >= 32 * n_departments else "n_departments"
        value = n_projects if key == "n_projects" else n_departments
        raise InputError(where="generator", field=key, value=value,
                         problem=f"a portfolio this large needs about {_bytes(need)} of "
                                 f"memory; this machine has {_bytes(have)}")


def _bytes(n: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n:,.1f} PiB"  # pragma: no cover


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
