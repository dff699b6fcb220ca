"""The what-if app's pure part: a loaded scenario and the page's values in, what the page shows
out. No widgets here, and no step of its own: every number comes from the researcher's object
(:meth:`perfsim.run.study.Scenario.set`, ``.run_year()``, ``.simulate()``) and the tables
from :mod:`perfsim.run.variants` and :mod:`perfsim.numbers`.

The page's values are a dict keyed by YAML paths, as in a scenario file:

============================== ====================================================== ========
path                           meaning                                                unit
============================== ====================================================== ========
``linkage.ratio``              the cut of 中-rated budgets (Liupanshui rule)           share
``grading.cutoffs.excellent``  the lowest score graded 优 (also ``.good``, ``.fair``)  points
``grading.quotas.excellent``   at most this share of projects graded 优 (1 = none)    share
``linkage.pool``               savings returned to the ``treasury`` or
                               ``redistribute``-d to 优 projects
``simulation.spot_check.share`` share of projects re-checked, in a small Monte Carlo share
============================== ====================================================== ========

(The grade codes are those of the scenario's label set: ``excellent``, ``good``, ``fair`` in
the national set.) :func:`changes` turns them into the changes :meth:`Scenario.set` takes:
the ratio and the spot-check share by their registry paths, cutoffs and quota as a
``grading`` block, the pool as a ``linkage`` block, both written as in a scenario file.
"""

from __future__ import annotations

import copy
import dataclasses
import html
import io
import os
import re
import tempfile
import threading
import zipfile
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from perfsim import numbers, textfiles
from perfsim.app.example import EXAMPLE_SCENARIO, EXAMPLE_WORKBOOK
from perfsim.errors import InputError
from perfsim.forms.read import Other as OtherFile
from perfsim.forms.read import Source as FormSource
from perfsim.forms.read import others_line, read_source
from perfsim.forms.read import sources as form_sources
from perfsim.forms.review import tidy, write_csvs
from perfsim.forms.score import score_tables
from perfsim.forms.targets import load_levels
from perfsim.forms.vocabulary import ALL_FINDINGS
from perfsim.forms.vocabulary import TITLES as FORM_TITLES
from perfsim.kernel.year import CHANNEL_NAMES, CHANNELS
from perfsim.model.indicators import load_indicator_system
from perfsim.model.portfolio import DATASETS
from perfsim.present.notices import filled_cells_notice, read_notes
from perfsim.present.report import (
    CHANNEL_HEADINGS,
    allocations_in_fen,
    grades_in_fen,
    write_xlsx,
)
from perfsim.present.review import WORKBOOK as REVIEW_WORKBOOK
from perfsim.present.review import write_workbook as write_review
from perfsim.run.simulate import MonteCarloResult
from perfsim.run.study import Scenario, load, study
from perfsim.run.variants import department_losses
from perfsim.run.year import YearResult

#: The dropdown's choice for a portfolio that carries its scores.
SCORES_READY = "scores"
SYSTEMS = DATASETS / "indicator_systems"
#: Where the savings go: ``linkage.pool`` values with their labels on the page.
POOLS: dict[str, str] = {
    "treasury": "上缴财政 returned to the treasury",
    "redistribute": "奖励优秀项目 redistributed to 优 projects (by budget)",
}
#: Replications of the spot-check Monte Carlo (one year): about 0.13 s of CPU at 3,468 projects,
#: over half of it the whole metric registry the Monte Carlo records (the page shows three).
REPLICATIONS = 64
#: Departments listed in the ledger of who loses most.
TOP_DEPARTMENTS = 15
#: Headings, Chinese first with English alongside.
HEADINGS: dict[str, str] = {
    "grade": "等级 grade", "department": "部门 department", "projects": "项目数 projects",
    "budget": "本年预算 budget", "kept": "保留 kept", "cut": "压减 cut",
    "cancelled": "取消 cancelled", "rewarded": "再分配奖励 rewarded",
    **{name: f"{zh} {en}" for name, zh, en in CHANNELS},
    "next_budget": "下年预算 next budget", "lost": "减少 lost",
    "share_lost": "减少比例 share lost",
}


# --- values ---------------------------------------------------------------------------------

def cutoff_paths(scenario: Scenario) -> list[str]:
    """``grading.cutoffs.<grade>`` for every grade but the last (empty without cutoffs)."""
    if scenario.grading.cutoffs is None:
        return []
    return [f"grading.cutoffs.{code}" for code in scenario.grading.labels.codes[:-1]]


def quota_path(scenario: Scenario) -> str:
    """``grading.quotas.<best grade>`` (``grading.quotas.excellent`` in the national set)."""
    return f"grading.quotas.{scenario.grading.labels.codes[0]}"


def defaults(scenario: Scenario) -> dict[str, Any]:
    """The page's values at the scenario's own settings (ratio and quota only where the
    scenario's rule and grading have them; a quota of 1 means none)."""
    g = scenario.grading
    out: dict[str, Any] = {}
    if "linkage.ratio" in scenario.parameters:
        out["linkage.ratio"] = float(scenario.linkage.params["ratio"])
    for path, cutoff in zip(cutoff_paths(scenario), g.cutoffs or (), strict=False):
        out[path] = float(cutoff)
    out[quota_path(scenario)] = float(g.quotas.get(g.labels.codes[0], 1.0))
    out["linkage.pool"] = scenario.linkage.pool
    out["simulation.spot_check.share"] = float(scenario.settings.check_share)
    return out


def changes(scenario: Scenario, values: Mapping[str, Any]) -> dict[str, Any]:
    """The changes :meth:`Scenario.set` takes for the page's ``values`` (paths absent keep
    the scenario's value; unknown paths are refused by ``set`` with the list of valid ones)."""
    values = dict(values)
    g = scenario.grading
    out: dict[str, Any] = {}
    cut_paths = cutoff_paths(scenario)
    quota = quota_path(scenario)
    if any(p in values for p in (*cut_paths, quota)):
        cutoffs = [float(values.pop(p, c)) for p, c in zip(cut_paths, g.cutoffs or (),
                                                             strict=False)]
        quotas = dict(g.quotas)
        if quota in values:
            share = values.pop(quota)
            if share is None or (isinstance(share, int | float) and share >= 1):
                quotas.pop(g.labels.codes[0], None)
            else:
                quotas[g.labels.codes[0]] = share
        out["grading"] = {"labels": g.labels, "cutoffs": cutoffs or None, "quotas": quotas}
    if "linkage.pool" in values:
        pool = values.pop("linkage.pool")
        if pool != scenario.linkage.pool:
            out["linkage"] = {**dict(scenario.spec.get("linkage") or {}), "pool": pool}
    out.update(values)
    return out


# --- loading --------------------------------------------------------------------------------

def indicator_systems() -> dict[str, str]:
    """The bundled indicator systems, ``{label: path}`` (label: Chinese and English name)."""
    out = {}
    for path in sorted(SYSTEMS.glob("*.yaml")):
        system = load_indicator_system(path)
        out[f"{system.name_zh} {system.name_en}"] = str(path)
    return out


def example() -> Scenario:
    """The bundled example: Liupanshui 2022 on the synthetic 2021 portfolio, from
    ``datasets/portfolios/liupanshui_2021_synthetic.xlsx``."""
    return load(EXAMPLE_SCENARIO)


def open_scenario(scenario_or_path: Scenario | str | os.PathLike[str] | None,
                  base: Scenario | None = None) -> Scenario | None:
    """A scenario (returned as the researcher's object), a scenario file (``.yaml``) or a
    portfolio file (``.xlsx``/``.csv``, ready scores, graded and linked as ``base``,
    default the bundled example); None stays None."""
    if scenario_or_path is None:
        return None
    if not isinstance(scenario_or_path, str | os.PathLike):
        return study(scenario_or_path)
    path = Path(scenario_or_path)
    if path.suffix.lower() in (".yaml", ".yml"):
        return load(path)
    if not path.exists():
        raise InputError(path, problem="file not found")
    return load_upload(path.name, path.read_bytes(), None, base)


def safe_name(name: str) -> str:
    """An uploaded file's name as shown: its last part only (no folder, never ``..``), control
    characters dropped; ``upload`` when nothing is left."""
    base = str(name).replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if ch.isprintable()).strip()
    return "upload" if base in ("", ".", "..") else base


def _disk_name(name: str) -> str:
    """The name an upload is saved under in the app's temporary folder: word characters,
    dots and dashes, never starting with a dot."""
    stem, suffix = os.path.splitext(safe_name(name))
    stem = re.sub(r"[^\w.\-]", "_", stem).lstrip(".") or "upload"
    return stem + re.sub(r"[^\w.]", "_", suffix.lower())


def load_upload(name: str, content: bytes, system: str | os.PathLike[str] | None = None,
                base: Scenario | None = None) -> Scenario:
    """The scenario of an uploaded portfolio: ``name`` (``.xlsx`` or ``.csv``) with bytes
    ``content``, read with ``system`` (a path; None: ready scores) and graded, linked and
    seeded as ``base`` (default: the bundled example). Bad input raises the
    :class:`InputError` the command line gives for that file (``perfsim validate NAME``),
    naming the file as uploaded (its last part: :func:`safe_name`)."""
    base = base or example()
    shown, fname = safe_name(name), _disk_name(name)
    stem = Path(fname).stem
    with tempfile.TemporaryDirectory(prefix="perfsim-app-") as tmp:
        folder = Path(tmp).resolve()
        (folder / fname).write_bytes(content)
        doc: dict[str, Any] = {"name": stem, "portfolio": {"file": fname}}
        if system is not None:
            doc["indicator_system"] = str(Path(system).resolve())
        sc = _scenario_in(folder, doc, base, fname, shown)
    return sc.replace(source=shown)


def _scenario_in(folder: Path, doc: dict[str, Any], base: Scenario, fname: str,
                 shown: str) -> Scenario:
    """The scenario file ``doc`` written in ``folder`` with ``base``'s seed, grading and
    linkage, loaded as ``perfsim run`` loads it; its errors name the upload ``shown``."""
    doc = {**doc, "seed": base.seed}
    for block in ("grading", "linkage"):
        if base.spec.get(block) is not None:
            doc[block] = base.spec[block]
    spec = folder / "scenario.yaml"
    spec.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    try:
        return load(spec)
    except InputError as err:
        raise _as_uploaded(err, folder, fname, shown) from None


def _as_uploaded(err: InputError, folder: Path, fname: str, shown: str) -> InputError:
    """The error naming the uploaded file as its user named it, not the temporary copy."""
    source = err.source
    if source is not None and Path(source).resolve().is_relative_to(folder):
        source = shown if Path(source).name in (fname, "scenario.yaml") else os.path.relpath(
            source, folder)
    if err.has_value:
        return InputError(source, err.where, err.field, err.value, err.problem)
    return InputError(source, err.where, err.field, problem=err.problem)


def error_line(err: InputError) -> str:
    """The one line the command line prints for ``err``."""
    return f"perfsim: error: {err}"


def notices_html(view: View) -> str:
    """The notices ``perfsim run`` prints for the view's portfolio and year, as paragraphs:
    how its file was read (:func:`~perfsim.present.notices.read_notes`) and the blank cells
    filled by policy (:func:`~perfsim.present.notices.filled_cells_notice`)."""
    pf = view.scenario.portfolio
    name = Path(str(view.scenario.source or pf.source)).name  # as uploaded, not the temp copy
    lines = [*read_notes(pf, name), filled_cells_notice(view.result.summary)]
    return "".join(f"<p class='perfsim-notice'>{html.escape(t)}</p>" for t in lines if t)


# --- uploads: limits first, then ready scores or self-evaluation workbooks -----------------

#: What ``perfsim app`` passes to the page's kernel: the environment variable of each limit.
LIMIT_ENV: dict[str, str] = {"max_upload_mb": "PERFSIM_APP_MAX_UPLOAD_MB",
                             "max_rows": "PERFSIM_APP_MAX_ROWS",
                             "max_expanded_mb": "PERFSIM_APP_MAX_EXPANDED_MB"}
#: What the page sends in place of a file larger than the upload limit (the browser checks
#: the size before reading the file; the kernel then refuses it, naming the file): this
#: prefix, then the file's size in bytes.
TOO_LARGE = b"perfsim-upload-refused-too-large:"
#: Suffixes of self-evaluation workbooks (and archives of them) the page accepts.
WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".zip")
#: Files only the self-evaluation import reads (or names what to do with: WPS .et, Apple
#: .numbers), never a portfolio.
FORM_ONLY_SUFFIXES = (".zip", ".xls", ".et", ".ett", ".numbers")
#: The folder, inside the app's temporary folder, the imported tables are written to.
IMPORTED_FOLDER = "imported"
#: The department of an imported table that names neither 主管部门 nor 实施单位.
NO_DEPARTMENT = "未填部门 no department"
#: Findings listed on the page (the review workbook lists them all).
TOP_FINDINGS = 10
_MIB = 2**20
_ROW_TAG = re.compile(rb"<(?:\w+:)?row[\s>/]")


@dataclass(frozen=True)
class Limits:
    """What one upload may be, checked before any work: ``max_upload_mb``, the files of one
    upload together as sent (MiB); ``max_rows``, the rows of a portfolio (lines of a CSV
    after its header, rows of a workbook's sheets); ``max_expanded_mb``, what a workbook or a
    .zip expands to (MiB), read from the archive's directory before anything is inflated.
    ``perfsim app --max-upload-mb/--max-rows/--max-expanded-mb`` set them."""

    max_upload_mb: float = 20.0
    max_rows: int = 50_000
    max_expanded_mb: float = 200.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Limits:
        """The limits ``perfsim app`` passed (:data:`LIMIT_ENV`); defaults for the others."""
        env = os.environ if env is None else env
        d = cls()
        return cls(float(env.get(LIMIT_ENV["max_upload_mb"], d.max_upload_mb)),
                   int(env.get(LIMIT_ENV["max_rows"], d.max_rows)),
                   float(env.get(LIMIT_ENV["max_expanded_mb"], d.max_expanded_mb)))

    def to_env(self) -> dict[str, str]:
        """The environment variables that give these limits to :meth:`from_env`."""
        return {LIMIT_ENV[k]: str(getattr(self, k)) for k in LIMIT_ENV}

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * _MIB)


def _mib(n: float) -> str:
    return f"{n / _MIB:,.1f} MiB"


def declared_size(content: bytes) -> int:
    """An upload's size in bytes: its length, or the size the browser declared for a file it
    did not send because it was larger than the limit (:data:`TOO_LARGE`)."""
    if content.startswith(TOO_LARGE):
        digits = content[len(TOO_LARGE):len(TOO_LARGE) + 20].split(b"\n")[0]
        if digits.strip().isdigit():
            return int(digits.strip())
    return len(content)


def check_upload(files: Sequence[tuple[str, bytes]], limits: Limits | None = None) -> None:
    """Refuse an upload beyond ``limits`` before any work, in one line naming the file: its
    size as sent, what a workbook or .zip would expand to (from the archive's directory,
    nothing inflated) and the rows of a CSV (its lines) or of a workbook's sheets."""
    limits = limits or Limits()
    sizes = [declared_size(c) for _, c in files]
    if sum(sizes) > limits.max_upload_bytes:
        who = safe_name(files[0][0]) if len(files) == 1 else f"{len(files)} files"
        raise InputError(who, problem=f"{_mib(sum(sizes))} uploaded, more than the limit of "
                         f"{_mib(limits.max_upload_bytes)} (上传文件过大; perfsim app "
                         "--max-upload-mb)")
    for name, content in files:
        if content.startswith(TOO_LARGE):  # under the limit but not sent: refuse all the same
            raise InputError(safe_name(name), problem="the file was not sent (上传未完成)")
        _check_expanded(safe_name(name), content, limits)


def _check_expanded(name: str, content: bytes, limits: Limits) -> None:
    """A workbook or .zip whose directory says it expands beyond the limit is refused."""
    if not content.startswith(textfiles.ZIP_SIGNATURE):
        return
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as zf:
            total = sum(i.file_size for i in zf.infolist())
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError):
        return  # the reader says what is wrong with it
    limit = limits.max_expanded_mb * _MIB
    if total > limit:
        raise InputError(name, problem=f"expands to {_mib(total)}, more than the limit of "
                         f"{_mib(limit)} (解压后过大，疑似压缩炸弹; perfsim app "
                         "--max-expanded-mb): not expanded")


def count_rows(name: str, content: bytes, limit: int) -> int:
    """The data rows of a portfolio file, counted up to just past ``limit`` without parsing it:
    the lines of a CSV after its header, the ``<row>`` elements of a workbook's sheets after
    the first (a workbook's expanded size is checked first, :func:`check_upload`)."""
    if not content.startswith(textfiles.ZIP_SIGNATURE):
        lines = content.count(b"\n") + (0 if content.endswith(b"\n") else 1)
        return max(lines - 1, 0)
    rows = 0
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as zf:
            for info in zf.infolist():
                if not info.filename.startswith("xl/worksheets/"):
                    continue
                with zf.open(info) as f:
                    tail = b""
                    while chunk := f.read(_MIB):
                        rows += len(_ROW_TAG.findall(tail + chunk)) - len(_ROW_TAG.findall(tail))
                        tail = chunk[-16:]
                        if rows > limit + 1:
                            return rows - 1
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError):
        return 0  # the reader says what is wrong with it
    return max(rows - 1, 0)


def is_self_evaluation(name: str, content: bytes) -> bool:
    """True for a .zip, an .xls or a workbook whose text holds a self-evaluation table's
    title (项目支出绩效自评表, 部门整体支出绩效自评表): read as self-evaluation workbooks;
    anything else is a portfolio (ready scores, or measurements of a chosen system)."""
    suffix = os.path.splitext(safe_name(name))[1].lower()
    if suffix in FORM_ONLY_SUFFIXES or content.startswith(textfiles.CFB_SIGNATURE):
        return True
    if not content.startswith(textfiles.ZIP_SIGNATURE):
        return False
    titles = [t.encode("utf-8") for forms in FORM_TITLES.values() for t in forms]
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as zf:
            for info in zf.infolist():
                if info.filename == "xl/sharedStrings.xml" or info.filename.startswith(
                        "xl/worksheets/"):
                    text = zf.read(info)
                    if any(t in text for t in titles):
                        return True
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError):
        return False
    return False


@dataclass(frozen=True)
class Imported:
    """Self-evaluation workbooks read, scored and reviewed (:mod:`perfsim.forms`): the tidy
    ``frames`` (``projects``, ``leaves``, ``tasks``, ``findings``, as ``perfsim import``
    writes them), the number of workbooks read, the project tables the what-if runs on
    (:func:`simulated_tables`) and the number of tables ``left_out`` of it."""

    frames: dict[str, pd.DataFrame]
    files: int
    simulated: pd.DataFrame
    left_out: int
    others: str = ""   # the other files an uploaded .zip held, not read (one phrase)


def read_workbooks(files: Sequence[tuple[str, bytes]]) -> Imported:
    """Read, score and review uploaded self-evaluation workbooks (``.xlsx``, ``.xls``, a
    ``.zip`` of them), as ``perfsim import`` does: a file that cannot be read is listed as a
    finding and the rest are read; none readable raises its :class:`InputError`. Names are
    shown as uploaded (:func:`safe_name`), never the temporary folder's."""
    tables, failed, count, others = [], [], 0, []
    with tempfile.TemporaryDirectory(prefix="perfsim-app-") as tmp:
        folder = Path(tmp).resolve()
        for k, (name, content) in enumerate(files):
            shown = safe_name(name)
            sub = folder / str(k)
            sub.mkdir()
            path = sub / _disk_name(name)
            path.write_bytes(content)
            prefix = str(path)
            for item in form_sources([path]):
                if isinstance(item, OtherFile):   # a .zip's PDFs, pictures …: counted
                    others.append(item)
                    continue
                if isinstance(item, InputError):
                    failed.append((shown, str(item).replace(prefix, shown)))
                    continue
                count += 1
                src = FormSource(shown + item.name[len(prefix):], path=item.path,
                                 data=item.data)
                try:
                    tables.extend(read_source(src))
                except InputError as err:
                    failed.append((src.name, str(err).replace(str(folder), "")))
    if not tables:
        if failed:
            more = len(failed) - 1
            raise InputError(problem=failed[0][1] + (f" (and {more} more files not read)"
                                                     if more > 0 else ""))
        err = InputError(", ".join(safe_name(n) for n, _ in files),
                         problem="no workbook found (未找到工作簿): expected .xlsx or .xls "
                                 "files or a .zip of them")
        raise err.noting(f"({others_line(others)})") if others else err
    frames = tidy(score_tables(tables, load_levels()), failed)
    simulated = simulated_tables(frames["projects"])
    return Imported(frames, count, simulated, len(frames["projects"]) - len(simulated),
                    others_line(others))


def simulated_tables(projects: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``projects`` (as :func:`perfsim.forms.review.tidy` gives it) the what-if
    runs on: the project tables with a 全年预算数 (department-overall tables are left out, as
    ``perfsim run`` leaves them out of an imported folder); a table that names neither a
    主管部门 nor an 实施单位 is counted under :data:`NO_DEPARTMENT`."""
    use = projects[(projects["form"] == "project") & projects["budget_full"].notna()].copy()
    blank = [not (isinstance(d, str) and d.strip()) and not (isinstance(u, str) and u.strip())
             for d, u in zip(use["department"], use["unit"], strict=True)]
    use.loc[blank, "department"] = NO_DEPARTMENT
    return use.reset_index(drop=True)


def imported_scenario(imported: Imported, name: str, base: Scenario | None = None
                      ) -> Scenario:
    """The what-if on imported tables, built as ``perfsim run`` builds a scenario whose
    portfolio is ``{imported: FOLDER}``: the tidy tables written as ``perfsim import`` writes
    them (:func:`perfsim.forms.review.write_csvs`, the project tables of
    :attr:`Imported.simulated`) and the scenario file read by :func:`perfsim.run.study.load`
    (:func:`perfsim.model.imported.load_imported`: each table's own leaves and points, scores
    recomputed by the template rule), graded, linked and seeded as ``base`` (default: the
    bundled example)."""
    base = base or example()
    shown = safe_name(name)
    if imported.simulated.empty:
        raise InputError(shown, problem="no project table with a 全年预算数: nothing to simulate")
    fname = _disk_name(name)
    with tempfile.TemporaryDirectory(prefix="perfsim-app-") as tmp:
        folder = Path(tmp).resolve()
        (folder / IMPORTED_FOLDER).mkdir()
        write_csvs({**imported.frames, "projects": imported.simulated},
                   folder / IMPORTED_FOLDER)
        sc = _scenario_in(folder, {"name": Path(fname).stem,
                                   "portfolio": {"imported": IMPORTED_FOLDER}},
                          base, fname, shown)
    return sc.replace(source=shown, portfolio=dataclasses.replace(sc.portfolio, source=shown))


@dataclass(frozen=True)
class Opened:
    """An upload opened: the scenario the what-if runs on, what the status line names, and
    for self-evaluation workbooks what was imported (None for a portfolio)."""

    scenario: Scenario
    name: str
    imported: Imported | None = None


def open_upload(files: Sequence[tuple[str, bytes]],
                system: str | os.PathLike[str] | None = None, base: Scenario | None = None,
                limits: Limits | None = None) -> Opened:
    """One upload of the page: the limits first (:func:`check_upload`), then one portfolio
    (``.csv``/``.xlsx`` of ready scores, or of measurements with ``system``:
    :func:`load_upload`) or self-evaluation workbooks (one, many, a .zip:
    :func:`read_workbooks`, the what-if on :func:`imported_scenario`)."""
    if not files:
        raise InputError(problem="no file uploaded (未上传文件)")
    limits = limits or Limits()
    check_upload(files, limits)
    shown = (safe_name(files[0][0]) if len(files) == 1
             else f"{safe_name(files[0][0])} … ({len(files)} files)")
    if len(files) == 1 and not is_self_evaluation(*files[0]):
        name, content = files[0]
        rows = count_rows(name, content, limits.max_rows)
        if rows > limits.max_rows:
            raise InputError(shown, problem=f"more than {limits.max_rows:,} rows (行数过多; "
                                            "perfsim app --max-rows)")
        return Opened(load_upload(name, content, system, base), shown)
    odd = [safe_name(n) for n, _ in files
           if os.path.splitext(safe_name(n))[1].lower() not in (*WORKBOOK_SUFFIXES,
                                                                 *FORM_ONLY_SUFFIXES)]
    if odd:
        raise InputError(odd[0], problem="several files are read as self-evaluation "
                         "workbooks (.xlsx, .xls, .zip); upload a portfolio (.csv) alone")
    imported = read_workbooks(files)
    return Opened(imported_scenario(imported, files[0][0], base), shown, imported)


def findings_html(imported: Imported, top: int = TOP_FINDINGS) -> str:
    """The review (复核) on the page: what was read, the findings counted by kind, and the
    ``top`` findings by money at stake (the table's 全年预算数, largest first)."""
    f = imported.frames["findings"]
    p = imported.frames["projects"]
    head = (f"<h4>复核 review</h4><p class='perfsim-review-summary'>{imported.files:,} 个文件 "
            f"files, {len(p):,} 张自评表 tables, {len(imported.frames['leaves']):,} 个指标 "
            f"leaves, <b>{len(f):,}</b> 条发现 findings; 模拟 in the what-if: "
            f"{len(imported.simulated):,} 个项目 projects (全年预算数, 各自的指标按规则重算 "
            "own leaves recomputed by the rule)"
            + (f", {imported.left_out:,} 张未纳入 left out (部门整体 department-overall "
               "or no budget)" if imported.left_out else "")
            + (f"; {html.escape(imported.others)}" if imported.others else "") + "</p>")
    if f.empty:
        return head + "<p class='perfsim-findings-none'>没有发现 no findings</p>"
    labels = {k: f"{zh} {en}" for k, (zh, en) in ALL_FINDINGS.items()}
    counts = f["kind"].value_counts(sort=False)
    kinds = [k for k in ALL_FINDINGS if k in counts.index]
    rows = "".join(f"<tr><td>{html.escape(labels[k])}</td><td>{html.escape(k)}</td>"
                   f"<td>{int(counts[k]):,}</td></tr>" for k in kinds)
    by_kind = ("<table class='perfsim-finding-kinds'><tr><th>发现 finding</th><th>kind</th>"
               f"<th>条数 count</th></tr>{rows}</table>")
    cols = ("file", "sheet", "cell", "what", "why")
    body = ""
    for r in f.head(top).itertuples(index=False):
        d = r._asdict()
        cells = "".join(f"<td>{html.escape(str(d[c] or ''))}</td>" for c in cols)
        money = "" if pd.isna(d["budget"]) else numbers.yuan(float(d["budget"]))
        stake = "" if pd.isna(d["points_at_stake"]) else f"{float(d['points_at_stake']):g}"
        body += f"<tr>{cells}<td>{money}</td><td>{stake}</td></tr>"
    listing = (f"<h4>涉及资金最多的发现 findings with most money at stake (top {top})</h4>"
               "<table class='perfsim-findings'><tr><th>文件 file</th><th>工作表 sheet</th>"
               "<th>单元格 cell</th><th>问题 what</th><th>说明 why</th>"
               "<th>全年预算数 budget (元)</th><th>涉及分值 points</th></tr>" + body + "</table>")
    return head + by_kind + listing


def review_workbook(imported: Imported) -> bytes:
    """``review.xlsx`` of the imported tables as ``perfsim import`` writes it
    (:func:`perfsim.present.review.write_workbook`), as bytes."""
    with tempfile.TemporaryDirectory(prefix="perfsim-app-") as tmp:
        return write_review(imported.frames, Path(tmp) / REVIEW_WORKBOOK).read_bytes()


# --- what the page shows --------------------------------------------------------------------

@dataclass(frozen=True)
class View:
    """What the page shows for one set of values: the changed scenario, its one-year result,
    the spot-check Monte Carlo (None when not run), the savings (yuan) and the page's HTML by
    section (``savings``, ``grades``, ``ledger``, ``moved``, ``spot_check``)."""

    scenario: Scenario
    result: YearResult
    monte_carlo: MonteCarloResult | None
    savings: float
    html: dict[str, str]

    @property
    def savings_text(self) -> str:
        """The savings as :func:`perfsim.numbers.yuan` writes them (``173,608,390.25``)."""
        return numbers.yuan(self.savings)


#: The page's values the one-year run does not read (the spot-check share changes the
#: evaluation process only, :func:`spot_check_html`): a change of these alone reuses the last
#: change's one-year run and its tables, and runs the spot-check Monte Carlo only.
MONTE_CARLO_ONLY = ("simulation.spot_check.share",)


@dataclass(frozen=True)
class _OneYear:
    """The one-year part of the page — the run and its sections (``savings``, ``grades``,
    ``ledger``, ``moved``) — for the page's ``values`` but :data:`MONTE_CARLO_ONLY` on
    ``scenario`` (held here, so that no other scenario can take its identity)."""

    scenario: Scenario
    values: dict[str, Any]
    result: YearResult
    html: dict[str, str]


class _LastYear:
    """One slot: the last change's :class:`_OneYear`, reused by a change that moves only
    :data:`MONTE_CARLO_ONLY` on the same scenario object (scenarios are immutable)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kept: _OneYear | None = None

    def get(self, scenario: Scenario, values: Mapping[str, Any]) -> _OneYear | None:
        with self._lock:
            kept = self._kept
        if kept is None or kept.scenario is not scenario:
            return None
        try:
            same = bool(kept.values == values)
        except (TypeError, ValueError):   # values with no single truth (arrays): not kept
            return None
        return kept if same else None

    def put(self, kept: _OneYear | None) -> None:
        with self._lock:
            self._kept = kept


_LAST_YEAR = _LastYear()
_SPOT_CHECKS: dict[int, ThreadPoolExecutor] = {}   # by process: a forked child starts its own


def _spot_checks() -> ThreadPoolExecutor:
    """The thread the spot-check Monte Carlo runs in while the page's one year is built (one
    per process, started by its first change)."""
    pid = os.getpid()
    if pid not in _SPOT_CHECKS:
        _SPOT_CHECKS.clear()
        _SPOT_CHECKS[pid] = ThreadPoolExecutor(max_workers=1,
                                               thread_name_prefix="perfsim-spot-check")
    return _SPOT_CHECKS[pid]


def one_year_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """The page's ``values`` that the one-year run reads: all but :data:`MONTE_CARLO_ONLY`
    (a copy: a caller changing its dict later never changes what was kept)."""
    return copy.deepcopy({k: v for k, v in values.items() if k not in MONTE_CARLO_ONLY})


def update(scenario: Scenario, values: Mapping[str, Any], *,
           replications: int = REPLICATIONS) -> View:
    """Apply the page's ``values`` to ``scenario`` (:func:`changes`, :meth:`Scenario.set`),
    run one year, and (with ``replications``) a one-year Monte Carlo at the spot-check share;
    return the :class:`View`. Bad values raise :class:`InputError`.

    Only the work a change needs: the Monte Carlo runs in a thread of its own while the one
    year and its tables are built, and a change of :data:`MONTE_CARLO_ONLY` alone on the same
    scenario keeps the last change's one year and tables (the one-year run does not read
    them)."""
    sc = scenario.set(changes(scenario, values))
    mc = (_spot_checks().submit(sc.simulate, replications=replications, years=1,
                                metrics=SPOT_METRICS) if replications else None)
    key = one_year_values(values)
    year = _LAST_YEAR.get(scenario, key)
    if year is None:
        result = sc.run_year()
        alloc = allocations_in_fen(result)
        year = _OneYear(scenario, key, result, {
            "savings": savings_html(result),
            "grades": grades_html(result, alloc),
            "ledger": ledger_html(result),
            "moved": moved_html(result, alloc),
        })
        _LAST_YEAR.put(year)
    monte_carlo = None if mc is None else mc.result()
    result = year.result
    return View(sc, result, monte_carlo, float(result.summary["totals_yuan"]["savings"]),
                {**year.html, "spot_check": spot_check_html(sc, monte_carlo)})


def bench_calls(scenario: Scenario | None = None) -> dict[str, Callable[[int], Any]]:
    """What ``perfsim bench`` times (:func:`perfsim.bench.time_app`): change ``k`` sets the
    ratio to 15% or 20% (alternately) on the bundled example; ``update`` is one change on the
    page, ``update_one_year`` the same without the Monte Carlo, ``run_year`` the bound: the
    bare one-year run of the same changed scenario. Each change computes its one year (the
    page keeps the last change's for a change of the spot-check share alone: not timed)."""
    sc = scenario or example()

    def values(k: int) -> dict[str, Any]:
        return {**defaults(sc), "linkage.ratio": 0.2 if k % 2 else 0.15}

    def change(k: int, replications: int = REPLICATIONS) -> View:
        _LAST_YEAR.put(None)   # a change that moves the one-year run: never the kept one
        return update(sc, values(k), replications=replications)

    return {
        "update": change,
        "update_one_year": lambda k: change(k, 0),
        "run_year": lambda k: sc.set({"linkage.ratio": values(k)["linkage.ratio"]}).run_year(),
    }


def workbook(result: YearResult) -> bytes:
    """``allocation.xlsx`` of ``result`` as ``perfsim run --xlsx`` writes it
    (:func:`perfsim.present.report.write_xlsx`), as bytes."""
    with tempfile.TemporaryDirectory(prefix="perfsim-app-") as tmp:
        return write_xlsx(result, Path(tmp) / "allocation.xlsx").read_bytes()


def _money(x: float) -> str:
    return f"{numbers.yuan(x)} 元 ({numbers.yuan(x, '亿元')} 亿元)"


def savings_html(result: YearResult) -> str:
    """The savings: budget minus next year's budget, in yuan to the fen and in 亿元."""
    s = result.summary["totals_yuan"]["savings"]
    return ('<div class="perfsim-headline" style="font-size:1.4em"><b>节约资金 savings</b>: '
            f'<span class="perfsim-savings">{numbers.yuan(s)}</span> 元 '
            f'({numbers.yuan(s, "亿元")} 亿元)</div>')


def _table(frame: pd.DataFrame, css: str) -> str:
    """A table of strings (Chinese and English headings, money in one unit per table)."""
    unit = numbers.choose_unit([v for c in frame.columns
                                if numbers.column_kind(c) == "money" for v in frame[c]])
    shown = numbers.display_frame(frame, unit=unit)
    names = {}
    for c in frame.columns:
        head = HEADINGS.get(c, c)
        key = f"{c} ({unit})" if numbers.column_kind(c) == "money" else c
        names[key] = f"{head} ({unit})" if numbers.column_kind(c) == "money" else head
    return _html_table([names.get(c, c) for c in shown.columns],
                       shown.to_numpy(dtype=object).tolist(), css)


def _plain_text(v: Any) -> bool:
    return isinstance(v, str) and v == v.strip() and not any(c in v for c in "\t\r\n")


def _html_table(heads: Sequence[str], rows: Sequence[Sequence[str]], css: str) -> str:
    """The table ``DataFrame.to_html(index=False, classes=css, escape=True, border=0)``
    writes for the ``rows`` (lists of text) under ``heads``, character for
    character, written directly (pandas' formatter takes milliseconds a table); text with
    tabs, line breaks or surrounding blanks, which pandas writes its own way, is left to
    pandas."""
    if not all(map(_plain_text, heads)) or not all(
            _plain_text(v) for row in rows for v in row):
        frame = pd.DataFrame(list(rows), columns=range(len(heads)), dtype=object)
        frame.columns = list(heads)
        return frame.to_html(index=False, classes=css, escape=True, border=0)
    esc = html.escape
    out = [f'<table class="dataframe {css}">\n  <thead>\n'
           '    <tr style="text-align: right;">\n',
           *(f"      <th>{esc(h, quote=False)}</th>\n" for h in heads),
           "    </tr>\n  </thead>\n  <tbody>\n"]
    for row in rows:
        out.append("    <tr>\n")
        out.extend(f"      <td>{esc(v, quote=False)}</td>\n" for v in row)
        out.append("    </tr>\n")
    out.append("  </tbody>\n</table>")
    return "".join(out)


def _channels_with_money(totals: Mapping[str, float]) -> list[str]:
    """The money channels (:data:`perfsim.kernel.year.CHANNELS`) shown on the page: kept, cut
    and cancelled always, every other channel when it carries money this year."""
    return [c for c in CHANNEL_NAMES
            if c in ("kept", "cut", "cancelled") or totals.get(c, 0.0) != 0.0]


def grades_html(result: YearResult, alloc: pd.DataFrame | None = None) -> str:
    """Projects and money by grade, to the fen as in the workbook
    (:func:`perfsim.present.report.in_fen`): each grade's budget = its channels, next budget
    = kept + rewarded. ``alloc``: the allocations to the fen
    (:func:`perfsim.present.report.allocations_in_fen` of ``result``), when already made."""
    t = grades_in_fen(result, allocations_in_fen(result) if alloc is None else alloc)
    t["grade"] = t.pop("grade_zh") + " " + t["grade"]
    shown = _channels_with_money(result.summary["totals_yuan"])
    cols = ["grade", "projects", "budget", *shown, "rewarded", "next_budget"]
    return "<h4>等级分布 grades</h4>" + _table(t[cols], "perfsim-grades")


def ledger_html(result: YearResult, top: int = TOP_DEPARTMENTS) -> str:
    """The departments that lose most (cut + cancelled), largest first
    (:func:`perfsim.run.variants.department_losses`)."""
    t = department_losses(result, top)
    cols = ["department", "projects", "budget", "lost", "share_lost", "rewarded",
            "next_budget"]
    return (f"<h4>减少最多的部门 departments losing most (top {top})</h4>"
            + _table(t[cols], "perfsim-ledger"))


def moved_html(result: YearResult, alloc: pd.DataFrame | None = None) -> str:
    """Where the money goes, to the fen (:func:`perfsim.present.report.in_fen`): every
    channel that takes money from projects (cut, cancelled, postponed, recovered …), their
    sum, the reward to projects and the savings returned to the treasury. ``alloc``: the
    allocations to the fen (:func:`perfsim.present.report.allocations_in_fen` of
    ``result``), when already made."""
    if alloc is None:
        alloc = allocations_in_fen(result)
    fen = {c: round(float(alloc[c].sum()) * 100) for c in
           ("budget", *CHANNEL_NAMES, "rewarded", "next_budget")}
    taken = [c for c in _channels_with_money(result.summary["totals_yuan"]) if c != "kept"]
    rows = [(f"{CHANNEL_HEADINGS[c]} from projects", fen[c] / 100) for c in taken]
    rows += [("合计调出 taken from projects", sum(fen[c] for c in taken) / 100),
             ("奖励 rewarded to projects", fen["rewarded"] / 100),
             ("上缴财政 returned to the treasury (savings)",
              (fen["budget"] - fen["next_budget"]) / 100)]
    body = "".join(f"<tr><td>{html.escape(k)}</td><td style='text-align:right'>"
                   f"{_money(v)}</td></tr>" for k, v in rows)
    return ("<h4>资金流向 money moved</h4>"
            f"<table class='perfsim-moved'>{body}</table>")


#: what the spot-check table shows: the only metrics its Monte Carlo records (with the counts)
SPOT_METRICS = ("misgrading", "wrong_cuts", "savings")


def spot_check_html(scenario: Scenario, mc: MonteCarloResult | None) -> str:
    """What the spot-check share changes: the Monte Carlo's misgrading, wrong cuts and
    savings (means and 5–95% bands over the replications), with the assumptions."""
    s = scenario.settings
    intro = (
        "<h4>抽查 spot checks</h4><p>抽查比例只影响评价过程：被抽查项目的自评分由复核分替代。"
        "上面的一年结果把表中得分视为真实得分，因此不受抽查比例影响。下表为蒙特卡洛模拟："
        f"自评误差 σ = {s.measurement_noise * 100:.1f} 分，平均虚高 "
        f"{s.inflation_mean * 100:.1f} 分，复核误差 σ = {s.recheck_noise * 100:.1f} 分，"
        f"抽查方式 {html.escape(s.check_selection)}。<br>"
        "The spot-check share changes the evaluation process only: the checked projects' "
        "self-scores are replaced by re-check scores. The one-year figures above take the "
        "table's scores as the truth, so the share does not move them. Below, a Monte Carlo: "
        f"self-evaluation noise sd {s.measurement_noise * 100:.1f} points, mean inflation "
        f"{s.inflation_mean * 100:.1f} points, re-check noise sd {s.recheck_noise * 100:.1f} "
        f"points, selection {html.escape(s.check_selection)}.</p>")
    if mc is None:
        return intro
    year = mc.replications[mc.replications["year"] == 1]
    n = len(year)
    rows = [("抽查比例 spot-check share", numbers.percent(s.check_share), "", ""),
            ("错评率 misgrading (share graded unlike the truth)",
             *(numbers.percent(v) for v in _band(year["misgrading"]))),
            ("误减 wrong cuts (yuan cut from truly 优/良)",
             *(_money(v) for v in _band(year["wrong_cuts"]))),
            ("节约资金 savings", *(_money(v) for v in _band(year["savings"])))]
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>"
                   for r in rows)
    head = ("<tr><th>指标 metric</th><th>均值 mean</th><th>5%</th><th>95%</th></tr>")
    return (intro + f"<table class='perfsim-spot'>{head}{body}</table>"
            f"<p>{n} 次模拟 replications, seed {scenario.seed}</p>")


def _band(x: pd.Series) -> tuple[float, float, float]:
    return float(x.mean()), float(x.quantile(0.05)), float(x.quantile(0.95))


__all__ = ["EXAMPLE_WORKBOOK", "POOLS", "SCORES_READY", "Imported", "Limits", "Opened", "View",
           "bench_calls", "changes", "check_upload", "count_rows", "defaults", "example",
           "findings_html", "imported_scenario", "indicator_systems",
           "is_self_evaluation", "load_upload", "open_scenario", "open_upload",
           "read_workbooks", "review_workbook", "safe_name", "simulated_tables", "update",
           "workbook"]
