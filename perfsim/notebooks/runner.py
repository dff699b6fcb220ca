"""Parameterised notebooks run reproducibly with papermill: runs, sweeps, manifests, an index.

The numbered notebooks in ``notebooks/`` ask a question, call perfsim and show the answer. Each
has a cell tagged ``parameters``; :func:`run_notebook` executes one with papermill into
``reports/<run-id>/``::

    reports/<run-id>/
        <notebook>.ipynb      the executed notebook (on failure: with the error visible)
        <notebook>.html       an HTML rendering (``no_code=True`` hides the code)
        figures/*.png         figures saved by the notebook (:func:`save_figure`)
        tables/*.csv          results tables saved by the notebook (:func:`save_table`)
        manifest.json         parameters, seed, versions, git commit, input hashes, times, status

A run is written into a hidden temporary directory beside its target and renamed into place when
complete; a failed run is renamed into place too, with its executed notebook showing the error
and ``status: failed`` in the manifest. ``reports/index.html`` (:func:`write_index`) lists runs and
sweeps with relative links and is regenerated after each run and sweep.

**Parameters** are checked before anything runs: names against the notebook's ``parameters``
cell (read with :func:`papermill.inspect_notebook`), values against the type of the default
(int, float, bool, str; lists and mappings from a parameter file). Strings reach the notebook as
plain string literals (papermill escapes them; ``tests/test_notebooks.py`` checks hostile
strings). ``output_dir`` is set by the runner: notebooks save into it with :func:`save_figure`
and :func:`save_table`, and name the files they read with :func:`input_path` so that the
manifest records their sha256. Paths given to notebooks are relative to the project root.

**Sweeps** (:func:`run_sweep`) expand a grid of parameters into runs executed in parallel
(a process pool or a Dask LocalCluster), collect every run's ``results`` table into one sweep
table and draw a comparison plot; a failing run is kept and marked failed, the others go on.
"""

from __future__ import annotations

import ast
import contextlib
import datetime as dt
import hashlib
import html
import itertools
import json
import math
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from perfsim import __version__
from perfsim.errors import InputError
from perfsim.io import check_mapping, read_yaml, replace_directory, to_jsonable, write_json
from perfsim.present import plots

PROJECT_ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK_DIR = PROJECT_ROOT / "notebooks"
REPORTS = Path("reports")
INDEX = "index.html"
KERNEL = "python3"
RUNNER_PARAMETERS = ("output_dir",)  # set by the runner, never by the user
RESULTS_TABLE = "results"
RESERVED_IDS = {"runs", "index.html", "README.md"}
SAFE_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
SWEEP_ENGINES = ("processes", "dask")
_INPUTS_LOG = ".inputs.jsonl"
PACKAGES = ("numpy", "pandas", "scipy", "statsmodels", "matplotlib", "SALib", "openpyxl",
            "pyarrow", "pyyaml", "dask", "distributed", "papermill", "nbconvert", "nbformat",
            "nbclient", "ipykernel", "jupyter_client", "jupytext", "mpl-font")


# --------------------------------------------------------------------------------------------
# Used inside notebooks
# --------------------------------------------------------------------------------------------

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
        with open(Path(output_dir) / _INPUTS_LOG, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"path": str(resolved)}) + "\n")
    return resolved


def output_path(name: str, output_dir: str | os.PathLike[str] = "") -> Path | None:
    """Where a notebook writes an extra output file (e.g. an Excel workbook) in its run
    directory, or None when the notebook runs without one (interactively)."""
    _check_name(name, "file name")
    if not output_dir:
        return None
    return Path(output_dir) / name


def save_table(table: Any, name: str, output_dir: str | os.PathLike[str] = "", *,
               fmt: str = "csv") -> Path | None:
    """Write a results table to ``<output_dir>/tables/<name>.csv`` (or ``.parquet``).

    CSV is written with ``\\n`` line ends and full float precision, so the same table gives the
    same bytes. Returns the path, or None without an ``output_dir`` (interactive use).
    """
    import pandas as pd

    _check_name(name, "table name")
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
        table.to_csv(path, index=False, lineterminator="\n", encoding="utf-8")
    else:
        table.to_parquet(path, index=False)
    return path


def save_figure(fig: Any, name: str, output_dir: str | os.PathLike[str] = "", *,
                dpi: int = 120) -> Path | None:
    """Save a matplotlib figure to ``<output_dir>/figures/<name>.png``; None without an
    ``output_dir``. The figure stays open so the notebook still shows it."""
    _check_name(name, "figure name")
    if not output_dir:
        return None
    folder = Path(output_dir) / "figures"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    fig.savefig(path, dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    return path


def answer(show: bool, *items: Any, text: str | None = None) -> Any:
    """For exercises: when ``show`` is true, display ``text`` (Markdown, the explanation) and
    return ``items`` (tables, figures) so that the notebook shows them; otherwise return a short
    note that the answer is hidden, closing any figure among the items so it does not display.
    With one item it is returned as is."""
    if show:
        if text:
            from IPython.display import Markdown, display

            display(Markdown(text))
        return items[0] if len(items) == 1 else (items or None)
    for item in items:
        if hasattr(item, "savefig"):
            import matplotlib.pyplot as plt

            plt.close(item)
    return HIDDEN


HIDDEN = "answer hidden: run with -p show_answers true (答案已隐藏)"


def _check_name(name: str, what: str) -> None:
    if not isinstance(name, str) or not SAFE_NAME.fullmatch(name) or name.startswith("."):
        raise InputError(field=what, value=name,
                         problem="use letters, digits, '_', '-' and '.' only, not first")


# --------------------------------------------------------------------------------------------
# Notebooks and their parameters
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Parameter:
    """One entry of a notebook's ``parameters`` cell."""

    name: str
    default: Any
    kind: str          # int | float | bool | str | list | dict | any
    help: str = ""


def list_notebooks(folder: Path = NOTEBOOK_DIR) -> list[Path]:
    """The numbered notebooks (``NN_name.ipynb``), in order."""
    return sorted(p for p in folder.glob("[0-9][0-9]_*.ipynb"))


def find_notebook(name: str, folder: Path = NOTEBOOK_DIR) -> Path:
    """A notebook by number (``04``), stem (``04_reduction_ratio``) or file name in
    ``notebooks/``, or the path of any ``.ipynb`` file."""
    if str(name).endswith(".ipynb") and Path(name).is_file():
        return Path(name).resolve()
    books = list_notebooks(folder)
    key = Path(name).name.removesuffix(".ipynb").removesuffix(".py")
    hits = [b for b in books if b.stem == key] or [
        b for b in books if b.stem.split("_", 1)[0] == key or b.stem.startswith(key + "_")]
    if len(hits) != 1:
        known = ", ".join(b.stem for b in books) or f"none in {folder}"
        problem = "ambiguous" if hits else "no such notebook"
        raise InputError(field="notebook", value=name, problem=f"{problem} (known: {known})")
    return hits[0]


def notebook_parameters(path: Path) -> dict[str, Parameter]:
    """The parameters declared in a notebook's ``parameters`` cell, with typed defaults."""
    import papermill

    try:
        raw = papermill.inspect_notebook(str(path))
    except Exception as exc:  # papermill raises plain exceptions for unreadable notebooks
        raise InputError(path, problem=f"cannot read the notebook's parameters ({exc})"
                         ) from None
    if not raw:
        raise InputError(path, problem="no cell tagged 'parameters'")
    out = {}
    for name, info in raw.items():
        text = info.get("default", "None")
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            value, kind = text, "any"
        else:
            kind = _kind(value)
        out[name] = Parameter(name, value, kind, str(info.get("help") or ""))
    return out


def _kind(value: Any) -> str:
    for t, k in ((bool, "bool"), (int, "int"), (float, "float"), (str, "str"), (list, "list"),
                 (dict, "dict")):
        if isinstance(value, t):
            return k
    return "any"


_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def coerce_value(param: Parameter, value: Any, *, from_text: bool) -> Any:
    """Check (and, for ``-p`` text, convert) a value by the type of the parameter's default."""
    def bad(problem: str) -> InputError:
        return InputError(where=f"parameter '{param.name}'", value=value,
                          problem=f"{problem} (default {param.default!r})")

    kind = param.kind
    if from_text and not isinstance(value, str):
        raise bad("must be given as text")
    if kind == "str":
        if not isinstance(value, str):
            raise bad("must be a string")
        return value
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if from_text and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise bad("must be true or false")
    if kind == "int":
        if from_text:
            try:
                return int(value.strip())
            except ValueError:
                raise bad("must be a whole number") from None
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad("must be a whole number")
        return value
    if kind == "float":
        if from_text:
            try:
                number = float(value.strip())
            except ValueError:
                raise bad("must be a number") from None
        elif isinstance(value, bool) or not isinstance(value, int | float):
            raise bad("must be a number")
        else:
            number = float(value)
        if not math.isfinite(number):
            raise bad("must be a finite number")
        return number
    if from_text:
        import yaml

        try:
            value = yaml.safe_load(value)
        except yaml.YAMLError:
            raise bad("is not valid YAML") from None
    if kind == "list" and not isinstance(value, list):
        raise bad("must be a list")
    if kind == "dict" and not isinstance(value, dict):
        raise bad("must be a mapping")
    _check_plain(value, param.name)
    return value


def _check_plain(value: Any, name: str) -> None:
    """Values injected into notebooks are plain data: None, bool, numbers, strings, lists and
    string-keyed mappings of those."""
    if value is None or isinstance(value, bool | int | str):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InputError(where=f"parameter '{name}'", value=value,
                             problem="must be a finite number")
        return
    if isinstance(value, list):
        for v in value:
            _check_plain(v, name)
        return
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                raise InputError(where=f"parameter '{name}'", value=k,
                                 problem="mapping keys must be strings")
            _check_plain(v, name)
        return
    raise InputError(where=f"parameter '{name}'", value=repr(value),
                     problem="must be plain data (numbers, strings, lists, mappings)")


def resolve_parameters(path: Path, given: Mapping[str, Any] | None = None,
                       texts: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Validate overrides for notebook ``path``: ``given`` typed values (a parameter file),
    ``texts`` command-line ``-p`` values (converted by the default's type; they win).

    Unknown names are rejected listing the valid ones; ``output_dir`` belongs to the runner.
    Returns the overrides only, in the notebook's order.
    """
    params = notebook_parameters(path)
    valid = [n for n in params if n not in RUNNER_PARAMETERS]
    out: dict[str, Any] = {}
    for source, values, from_text in (("parameter file", given or {}, False),
                                      ("-p", texts or {}, True)):
        for name, value in values.items():
            if name in RUNNER_PARAMETERS:
                raise InputError(where=source, field=name,
                                 problem="is set by the runner (the run directory)")
            if name not in params:
                raise InputError(where=f"{path.stem}: {source}", field=name,
                                 problem=f"unknown parameter (valid: {', '.join(valid)})")
            out[name] = coerce_value(params[name], value, from_text=from_text)
    return {n: out[n] for n in params if n in out}


def read_parameter_file(path: str | Path) -> dict[str, Any]:
    """A YAML or JSON mapping of parameter names to values."""
    doc = read_yaml(path)  # JSON is YAML
    if doc is None:
        return {}
    if not isinstance(doc, Mapping) or not all(isinstance(k, str) for k in doc):
        raise InputError(path, problem="must be a mapping of parameter names to values")
    return dict(doc)


# --------------------------------------------------------------------------------------------
# Run ids, the kernel, provenance
# --------------------------------------------------------------------------------------------

def check_run_id(run_id: str, reports: Path = REPORTS) -> Path:
    """The directory of run ``run_id`` inside ``reports``; anything that could leave
    ``reports`` (separators, ``..``, a leading dot, other characters) is rejected."""
    if (not isinstance(run_id, str) or not SAFE_NAME.fullmatch(run_id) or ".." in run_id
            or run_id.startswith(".") or run_id in RESERVED_IDS):
        raise InputError(field="run id", value=run_id,
                         problem="use letters, digits, '_', '-' and '.' only (no '..', not "
                                 "first, not 'runs'), so the run stays inside reports/")
    root = Path(reports).resolve()
    target = (root / run_id).resolve()
    if target.parent != root:
        raise InputError(field="run id", value=run_id, problem="escapes the reports directory")
    return target


def new_run_id(stem: str) -> str:
    """``<stem>-<UTC time>-<4 hex digits>``: sortable and unique."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
    return f"{stem}-{stamp}-{secrets.token_hex(2)}"


def kernel_name() -> str:
    """The Jupyter kernel that runs notebooks in *this* Python environment.

    ``python3`` is the kernelspec ipykernel installs into the environment's ``share/jupyter``
    (its command ``python`` is replaced by this interpreter); nothing needs registering in a
    fresh venv. If another ``python3`` kernelspec shadows it (e.g. a user-level one pointing
    at a different Python), a ``perfsim`` kernelspec is registered in this environment
    (``sys.prefix``) and used instead.
    """
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    ksm = KernelSpecManager()
    try:
        argv0 = ksm.get_kernel_spec(KERNEL).argv[0]
    except NoSuchKernel:
        argv0 = None
    ours = {"python", f"python{sys.version_info[0]}",
            f"python{sys.version_info[0]}.{sys.version_info[1]}"}
    if argv0 is not None and (argv0 in ours or _same_file(argv0, sys.executable)):
        return KERNEL
    name = "perfsim"
    try:
        spec = ksm.get_kernel_spec(name)
        if _same_file(spec.argv[0], sys.executable):
            return name
    except NoSuchKernel:
        pass
    from ipykernel.kernelspec import install

    install(kernel_name=name, display_name="Python (perfsim)", prefix=sys.prefix)
    return name


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def git_commit(root: Path = PROJECT_ROOT) -> dict[str, Any] | None:
    """The project's git commit and whether the work tree has changes, if git is available."""
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"],
                                capture_output=True, text=True, timeout=10)
        if commit.returncode != 0:
            return None
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain",
                                "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit.stdout.strip(), "dirty": bool(dirty.stdout.strip())}


def package_versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {"python": sys.version.split()[0], "perfsim": __version__}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


# --------------------------------------------------------------------------------------------
# One run
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RunResult:
    run_id: str
    notebook: str
    path: Path
    status: str                     # ok | failed
    error: str | None = None
    manifest: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def run_notebook(name: str, parameters: Mapping[str, Any] | None = None, *,
                 texts: Mapping[str, str] | None = None, reports: str | Path = REPORTS,
                 run_id: str | None = None, no_code: bool = False,
                 timeout: float | None = None, update_index: bool = True,
                 extra_manifest: Mapping[str, Any] | None = None) -> RunResult:
    """Execute notebook ``name`` with papermill into ``reports/<run_id>/``.

    ``parameters`` are typed overrides, ``texts`` command-line strings; both are validated
    before anything runs. Returns the run, failed or not: an error inside the notebook is
    recorded (status ``failed``, the executed notebook shows it), never raised. ``timeout``
    limits each cell (seconds).
    """
    path = find_notebook(name)
    overrides = resolve_parameters(path, parameters, texts)
    reports = Path(reports)
    run_id = new_run_id(path.stem) if run_id is None else run_id
    target = check_run_id(run_id, reports)
    defaults = notebook_parameters(path)
    effective = {n: p.default for n, p in defaults.items() if n not in RUNNER_PARAMETERS}
    effective.update(overrides)
    kernel = kernel_name()

    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{run_id}.partial-", dir=target.parent))
    started, t0 = _now(), time.perf_counter()
    status, error = "ok", None
    out_nb = tmp / f"{path.stem}.ipynb"
    try:
        status, error = _execute(path, out_nb, {**overrides, "output_dir": "."}, tmp, kernel,
                                 timeout)
        if out_nb.exists():
            _write_html(out_nb, tmp / f"{path.stem}.html", no_code)
        manifest = {
            "run_id": run_id,
            "notebook": path.stem,
            "notebook_file": _rel(path),
            "status": status,
            "error": error,
            "parameters": effective,
            "overrides": overrides,
            "seed": effective.get("seed"),
            "perfsim_version": __version__,
            "git": git_commit(),
            "packages": package_versions(),
            "kernel": kernel,
            "inputs": _inputs(path, tmp, effective),
            "datasets": dataset_hashes(),
            "outputs": _outputs(tmp),
            "executed_notebook": out_nb.name if out_nb.exists() else None,
            "html": f"{path.stem}.html" if (tmp / f"{path.stem}.html").exists() else None,
            "no_code": no_code,
            "started": started,
            "ended": _now(),
            "duration_s": round(time.perf_counter() - t0, 3),
            **dict(extra_manifest or {}),
        }
        write_json(tmp / "manifest.json", manifest)
        replace_directory(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if update_index:
        write_index(reports)
    return RunResult(run_id, path.stem, target, status, error, manifest)


def _execute(path: Path, out_nb: Path, parameters: Mapping[str, Any], cwd: Path, kernel: str,
             timeout: float | None) -> tuple[str, str | None]:
    import papermill
    from papermill.exceptions import PapermillExecutionError

    try:
        papermill.execute_notebook(
            str(path), str(out_nb), parameters=dict(parameters), kernel_name=kernel,
            language="python", progress_bar=False, log_output=False, cwd=str(cwd),
            execution_timeout=timeout,
            extra_arguments=["--IPKernelApp.log_level=ERROR"])
    except PapermillExecutionError as exc:
        return "failed", f"{exc.ename}: {exc.evalue}"
    except Exception as exc:  # kernel died, timeout, ...: the run is kept as failed
        return "failed", f"{exc.__class__.__name__}: {exc}"
    return "ok", None


def _write_html(notebook: Path, html_path: Path, no_code: bool) -> None:
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(notebook, as_version=4)
    exporter = HTMLExporter(template_name="lab", exclude_input=no_code,
                            exclude_input_prompt=no_code, exclude_output_prompt=no_code)
    body, _ = exporter.from_notebook_node(nb)
    html_path.write_text(body, encoding="utf-8")


def _rel(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)


def _inputs(notebook: Path, run_dir: Path, parameters: Mapping[str, Any]) -> list[dict]:
    """sha256 of the notebook (and its paired .py), every file the notebook named with
    :func:`input_path`, and every string parameter that names an existing file."""
    files: list[Path] = [notebook]
    paired = notebook.with_suffix(".py")
    if paired.exists():
        files.append(paired)
    log = run_dir / _INPUTS_LOG
    if log.exists():
        for line in log.read_text(encoding="utf-8").splitlines():
            if line.strip():
                files.append(Path(json.loads(line)["path"]))
        log.unlink()
    for value in parameters.values():
        if isinstance(value, str) and value and len(value) < 4096 and "\n" not in value:
            p = Path(value) if Path(value).is_absolute() else PROJECT_ROOT / value
            with contextlib.suppress(OSError):
                if p.is_file():
                    files.append(p)
    seen, out = set(), []
    queue = list(files)
    while queue:
        f = queue.pop(0)
        key = f.resolve()
        if key in seen:
            continue
        seen.add(key)
        out.append({"path": _rel(f), "sha256": sha256(f)})
        if f.suffix in (".yaml", ".yml"):
            queue.extend(_referenced_files(f))
    return out


def _referenced_files(path: Path) -> list[Path]:
    """Files a YAML input names (string values that are paths relative to it: a scenario's
    indicator system, portfolio, AHP matrices, ...)."""
    import yaml

    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return []
    found: list[Path] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
        elif isinstance(node, str) and 0 < len(node) < 1024 and "\n" not in node:
            candidate = Path(node) if Path(node).is_absolute() else path.parent / node
            with contextlib.suppress(OSError):
                if candidate.is_file():
                    found.append(candidate)

    walk(doc)
    return found


def dataset_hashes(root: Path = PROJECT_ROOT / "datasets") -> dict[str, str]:
    """sha256 of every file under ``datasets/`` (the project's inputs), by relative path."""
    if not root.is_dir():
        return {}
    return {f.relative_to(root).as_posix(): sha256(f)
            for f in sorted(root.rglob("*")) if f.is_file() and not f.name.startswith(".")}


def _outputs(run_dir: Path) -> list[dict]:
    out = []
    for f in sorted(run_dir.rglob("*")):
        if f.is_file() and f.name != "manifest.json":
            out.append({"path": f.relative_to(run_dir).as_posix(), "bytes": f.stat().st_size,
                        "sha256": sha256(f)})
    return out


def run_notebooks(names: Sequence[str] | None = None, *, parameters: Mapping[str, Any] | None
                  = None, texts: Mapping[str, str] | None = None, reports: str | Path = REPORTS,
                  run_id: str | None = None, no_code: bool = False,
                  timeout: float | None = None,
                  progress: Callable[[RunResult], None] | None = None) -> list[RunResult]:
    """Run several notebooks (default: all, in order) one after the other.

    A parameter applies to each selected notebook that declares it; one that no selected
    notebook declares is rejected before anything runs. With several notebooks ``run_id`` is a
    prefix: ``<run_id>-<notebook>``.
    """
    paths = [find_notebook(n) for n in names] if names else list_notebooks()
    if not paths:
        raise InputError(str(NOTEBOOK_DIR), problem="no notebooks found")
    per_book = _split_parameters(paths, parameters or {}, texts or {})
    ids: list[str | None] = [None] * len(paths)
    if run_id is not None:
        ids = [run_id] if len(paths) == 1 else [f"{run_id}-{p.stem}" for p in paths]
        for i in ids:
            check_run_id(i, Path(reports))
    results = []
    for path, (given, text), rid in zip(paths, per_book, ids, strict=True):
        r = run_notebook(path.stem, given, texts=text, reports=reports, run_id=rid,
                         no_code=no_code, timeout=timeout, update_index=False)
        results.append(r)
        if progress is not None:
            progress(r)
        write_index(reports)
    return results


def _split_parameters(paths: Sequence[Path], given: Mapping[str, Any],
                      texts: Mapping[str, str]) -> list[tuple[dict, dict]]:
    declared = {p: notebook_parameters(p) for p in paths}
    for name in [*given, *texts]:
        if name in RUNNER_PARAMETERS:
            raise InputError(field=name, problem="is set by the runner (the run directory)")
        if not any(name in d for d in declared.values()):
            valid = sorted({n for d in declared.values() for n in d} - set(RUNNER_PARAMETERS))
            raise InputError(field=name, problem=f"unknown parameter (valid: {', '.join(valid)})")
    out = []
    for p in paths:
        g = {k: v for k, v in given.items() if k in declared[p]}
        t = {k: v for k, v in texts.items() if k in declared[p]}
        resolve_parameters(p, g, t)  # validate values before anything runs
        out.append((g, t))
    return out


# --------------------------------------------------------------------------------------------
# Sweeps
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SweepSpec:
    """A parsed sweep file::

        notebook: 04                     # number, stem or file name
        name: ratio_by_noise             # optional: the sweep id's prefix
        parameters: {replications: 100} # fixed for every run
        grid:                            # every combination is one run
          ratio: [0.10, 0.15, 0.20]
          noise: [0.02, 0.05]
        table: results                   # optional: the table collected from each run
        plot: {x: ratio, y: savings, hue: noise, where: {metric: misgrading}}  # optional
    """

    notebook: Path
    name: str
    fixed: Mapping[str, Any]
    grid: Mapping[str, list[Any]]
    table: str = RESULTS_TABLE
    plot: Mapping[str, Any] = field(default_factory=dict)
    source: str | None = None

    def combinations(self) -> list[dict[str, Any]]:
        keys = list(self.grid)
        return [dict(zip(keys, values, strict=True))
                for values in itertools.product(*(self.grid[k] for k in keys))]


def read_sweep(path: str | Path) -> SweepSpec:
    """Read and validate a sweep file: every parameter of every combination is checked
    against the notebook before anything runs."""
    src = str(path)
    doc = read_yaml(path)
    check_mapping(doc, {"notebook", "name", "parameters", "grid", "table", "plot"}, src,
                  "a sweep file", required=("notebook",))
    try:
        notebook = find_notebook(str(doc["notebook"]).zfill(2) if isinstance(
            doc["notebook"], int) else str(doc["notebook"]))
    except InputError as err:
        raise err.at(src) from None
    fixed = doc.get("parameters") or {}
    grid = doc.get("grid")
    if not isinstance(fixed, Mapping):
        raise InputError(src, field="parameters", value=fixed, problem="must be a mapping")
    if not isinstance(grid, Mapping) or not grid:
        raise InputError(src, field="grid", value=grid,
                         problem="must map parameter names to lists of values")
    for key, values in grid.items():
        if not isinstance(values, list) or not values:
            raise InputError(src, field=f"grid.{key}", value=values,
                             problem="must be a non-empty list of values")
        if key in fixed:
            raise InputError(src, field=f"grid.{key}",
                             problem="is also a fixed parameter; keep it in one place")
    name = str(doc.get("name") or Path(src).stem)
    _check_name(name, "name")
    table = str(doc.get("table") or RESULTS_TABLE)
    _check_name(table, "table")
    plot = doc.get("plot") or {}
    if not isinstance(plot, Mapping) or set(plot) - {"x", "y", "hue", "where"} or not (
            isinstance(plot.get("where", {}), Mapping)):
        raise InputError(src, field="plot", value=plot,
                         problem="must be a mapping with keys x, y, hue and where (a mapping "
                                 "of column to value), all optional")
    plot = {k: (dict(v) if k == "where" else str(v)) for k, v in plot.items()}
    spec = SweepSpec(notebook, name, dict(fixed), {k: list(v) for k, v in grid.items()},
                     table, plot, src)
    for key in ("x", "hue"):
        if key in spec.plot and spec.plot[key] not in spec.grid:
            raise InputError(src, field=f"plot.{key}", value=spec.plot[key],
                             problem=f"must be a grid parameter ({', '.join(spec.grid)})")
    try:
        for combo in spec.combinations():
            resolve_parameters(notebook, {**spec.fixed, **combo})
    except InputError as err:
        raise err.at(src) from None
    return spec


@dataclass(frozen=True)
class SweepResult:
    sweep_id: str
    path: Path
    runs: list[dict[str, Any]]
    table: Any  # pandas DataFrame

    @property
    def failed(self) -> list[dict[str, Any]]:
        return [r for r in self.runs if r["status"] != "ok"]


def _sweep_task(task: dict[str, Any]) -> dict[str, Any]:
    """Run one combination of a sweep (in a worker process); never raises."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"  # one core per run: the pool is the parallelism
    t0 = time.perf_counter()
    try:
        r = run_notebook(task["notebook"], task["parameters"], reports=task["reports"],
                         run_id=task["run_id"], timeout=task.get("timeout"),
                         update_index=False, extra_manifest={"sweep": task["sweep"]})
        return {"run_id": r.run_id, "status": r.status, "error": r.error,
                "seconds": round(time.perf_counter() - t0, 3)}
    except Exception as exc:  # a failure outside the notebook: record it, let others go on
        return {"run_id": task["run_id"], "status": "failed",
                "error": f"{exc.__class__.__name__}: {exc}",
                "seconds": round(time.perf_counter() - t0, 3)}


def run_sweep(spec: SweepSpec | str | Path, *, workers: int | None = None,
              engine: str = "processes", reports: str | Path = REPORTS,
              timeout: float | None = None,
              progress: Callable[[dict[str, Any]], None] | None = None) -> SweepResult:
    """Run every combination of a sweep in parallel into ``reports/<sweep-id>/runs/NNN/``;
    collect the runs' results tables into ``sweep.csv``, draw ``comparison.png``, write
    ``sweep.json`` and regenerate the index. Failed runs are kept and listed."""
    if not isinstance(spec, SweepSpec):
        spec = read_sweep(spec)
    if engine not in SWEEP_ENGINES:
        raise InputError(field="engine", value=engine,
                         problem=f"must be one of {', '.join(SWEEP_ENGINES)}")
    workers = workers or min(2, os.cpu_count() or 1)
    if workers < 1:
        raise InputError(field="workers", value=workers, problem="must be >= 1")
    reports = Path(reports)
    sweep_id = new_run_id(f"sweep-{spec.name}")
    target = check_run_id(sweep_id, reports)
    kernel_name()  # register a kernel once, before the workers start
    reports.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{sweep_id}.partial-", dir=target.parent))
    combos = spec.combinations()
    width = max(3, len(str(len(combos))))
    tasks = [{"notebook": str(spec.notebook), "parameters": {**spec.fixed, **combo},
              "reports": str(tmp / "runs"), "run_id": f"{k:0{width}d}", "timeout": timeout,
              "sweep": {"sweep_id": sweep_id, "index": k, "grid": combo}}
             for k, combo in enumerate(combos, start=1)]
    started, t0 = _now(), time.perf_counter()
    try:
        outcomes = _map_tasks(tasks, workers, engine, progress)
        runs = []
        for task, outcome in zip(tasks, outcomes, strict=True):
            runs.append({**outcome, "parameters": task["sweep"]["grid"],
                         "path": f"runs/{task['run_id']}"})
        table = _collect(tmp, spec, runs)
        table.to_csv(tmp / "sweep.csv", index=False, lineterminator="\n", encoding="utf-8")
        figure = _comparison_plot(tmp, spec, table)
        write_json(tmp / "sweep.json", {
            "sweep_id": sweep_id, "notebook": spec.notebook.stem, "source": spec.source,
            "fixed": spec.fixed, "grid": spec.grid, "table": spec.table, "plot": spec.plot,
            "engine": engine, "workers": workers, "runs": runs,
            "ok": sum(r["status"] == "ok" for r in runs),
            "failed": sum(r["status"] != "ok" for r in runs),
            "status": "ok" if all(r["status"] == "ok" for r in runs) else "failed",
            "sweep_table": "sweep.csv", "comparison_plot": figure,
            "perfsim_version": __version__, "git": git_commit(),
            "started": started, "ended": _now(),
            "duration_s": round(time.perf_counter() - t0, 3),
        })
        replace_directory(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    write_index(reports)
    return SweepResult(sweep_id, target, runs, table)


def _map_tasks(tasks: list[dict[str, Any]], workers: int, engine: str,
               progress: Callable[[dict[str, Any]], None] | None) -> list[dict[str, Any]]:
    if engine == "dask":
        from distributed import Client, LocalCluster, as_completed

        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        client = Client(cluster)
        try:
            futures = client.map(_sweep_task, tasks, pure=False)
            if progress is not None:
                for fut in as_completed(futures):
                    progress(fut.result())
            return client.gather(futures)
        finally:
            client.close()
            cluster.close()
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    ctx = multiprocessing.get_context("spawn")  # fresh workers: no inherited threads or state
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        futures = {pool.submit(_sweep_task, t): i for i, t in enumerate(tasks)}
        results: list[dict[str, Any] | None] = [None] * len(tasks)
        for fut in as_completed(futures):
            results[futures[fut]] = fut.result()
            if progress is not None:
                progress(fut.result())
    return [r for r in results if r is not None]


def _collect(sweep_dir: Path, spec: SweepSpec, runs: list[dict[str, Any]]) -> Any:
    """Every successful run's table, with the run and its grid parameters as leading columns."""
    import pandas as pd

    frames = []
    for run in runs:
        if run["status"] != "ok":
            continue
        path = sweep_dir / run["path"] / "tables" / f"{spec.table}.csv"
        if not path.exists():
            run["status"] = "failed"
            run["error"] = f"the notebook wrote no table '{spec.table}'"
            continue
        df = pd.read_csv(path)
        lead = {"run": run["run_id"]}
        for key, value in run["parameters"].items():
            column = key if key not in df.columns else f"param_{key}"
            lead[column] = json.dumps(value) if isinstance(value, list | dict) else value
        frames.append(pd.concat([pd.DataFrame({k: [v] * len(df) for k, v in lead.items()}),
                                 df.reset_index(drop=True)], axis=1))
    if not frames:
        return pd.DataFrame({"run": []})
    return pd.concat(frames, ignore_index=True)


def _comparison_plot(sweep_dir: Path, spec: SweepSpec, table: Any) -> str | None:

    if table.empty:
        return None
    fig = plots.sweep_comparison(table, grid=list(spec.grid), x=spec.plot.get("x"),
                                 y=spec.plot.get("y"), hue=spec.plot.get("hue"),
                                 where=spec.plot.get("where"),
                                 title=f"Sweep {spec.name}: {spec.notebook.stem}",
                                 source=f"perfsim sweep {Path(spec.source or '').name}")
    if fig is None:
        return None
    fig.savefig(sweep_dir / "comparison.png", dpi=120, bbox_inches="tight",
                metadata={"Software": None})
    import matplotlib.pyplot as plt

    plt.close(fig)
    return "comparison.png"


# --------------------------------------------------------------------------------------------
# The index
# --------------------------------------------------------------------------------------------

def _load(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def scan_reports(reports: str | Path = REPORTS) -> tuple[list[dict], list[dict]]:
    """Runs (folders with ``manifest.json``) and sweeps (``sweep.json``), newest first."""
    reports = Path(reports)
    runs, sweeps = [], []
    if reports.is_dir():
        for d in reports.iterdir():
            if not d.is_dir() or d.name.startswith("."):
                continue
            m = _load(d / "manifest.json")
            if m is not None:
                runs.append({**m, "_dir": d.name})
            s = _load(d / "sweep.json")
            if s is not None:
                sweeps.append({**s, "_dir": d.name})
    runs.sort(key=lambda r: str(r.get("started", "")), reverse=True)
    sweeps.sort(key=lambda r: str(r.get("started", "")), reverse=True)
    return runs, sweeps


_CSS = """
body{font-family:system-ui,"Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin-bottom:2em}th,td{border:1px solid #ccc;padding:4px 8px;
text-align:left;vertical-align:top;font-size:14px}th{background:#f3f3f3}
.ok{color:#176b2c;font-weight:bold}.failed{color:#b00020;font-weight:bold}
code{font-size:12px;white-space:pre-wrap}
"""


def _link(href: str, text: str) -> str:
    return f'<a href="{html.escape(href, quote=True)}">{html.escape(text)}</a>'


def _params(values: Mapping[str, Any] | None) -> str:
    if not values:
        return "<em>defaults</em>"
    return "<code>" + html.escape(", ".join(
        f"{k}={json.dumps(to_jsonable(v), ensure_ascii=False)}" for k, v in values.items()
    )) + "</code>"


def _status(status: str) -> str:
    s = "ok" if status == "ok" else "failed"
    return f'<span class="{s}">{html.escape(str(status))}</span>'


def _run_links(prefix: str, m: Mapping[str, Any]) -> str:
    links = []
    if m.get("html"):
        links.append(_link(f"{prefix}/{m['html']}", "report"))
    if m.get("executed_notebook"):
        links.append(_link(f"{prefix}/{m['executed_notebook']}", "notebook"))
    links.append(_link(f"{prefix}/manifest.json", "manifest"))
    for o in m.get("outputs", []):
        p = str(o.get("path", ""))
        if p.startswith(("tables/", "figures/")) or p.endswith(".xlsx"):
            links.append(_link(f"{prefix}/{p}", p.split("/")[-1]))
    return " · ".join(links)


def render_index(reports: str | Path = REPORTS) -> str:
    """The static HTML index of ``reports`` (relative links only; no server needed)."""
    runs, sweeps = scan_reports(reports)
    rows = []
    for m in runs:
        d = m["_dir"]
        err = f"<br><code>{html.escape(str(m.get('error')))}</code>" if m.get("error") else ""
        rows.append(
            "<tr>"
            f"<td>{_link(f'{d}/' + str(m.get('html') or 'manifest.json'), d)}</td>"
            f"<td>{html.escape(str(m.get('notebook', '')))}</td>"
            f"<td>{_status(str(m.get('status', '?')))}{err}</td>"
            f"<td>{html.escape(str(m.get('started', ''))[:19].replace('T', ' '))}</td>"
            f"<td>{html.escape(str(m.get('duration_s', '')))}</td>"
            f"<td>{_params(m.get('overrides'))}</td>"
            f"<td>{_run_links(d, m)}</td></tr>")
    srows = []
    for s in sweeps:
        d = s["_dir"]
        items = []
        for r in s.get("runs", []):
            prefix = f"{d}/{r['path']}"
            m = _load(Path(reports) / prefix / "manifest.json") or {}
            target = f"{prefix}/{m['html']}" if m.get("html") else f"{prefix}/manifest.json"
            items.append(f"<li>{_link(target, str(r['run_id']))} {_status(r['status'])} "
                         f"{_params(r.get('parameters'))}"
                         + (f" <code>{html.escape(str(r['error']))}</code>"
                            if r.get("error") else "") + "</li>")
        extra = [_link(f"{d}/sweep.csv", "sweep.csv"), _link(f"{d}/sweep.json", "sweep.json")]
        if s.get("comparison_plot"):
            extra.append(_link(f"{d}/{s['comparison_plot']}", "comparison plot"))
        srows.append(
            "<tr>"
            f"<td>{html.escape(d)}</td><td>{html.escape(str(s.get('notebook', '')))}</td>"
            f"<td>{_status(str(s.get('status', '?')))} ({s.get('ok', 0)} ok, "
            f"{s.get('failed', 0)} failed)</td>"
            f"<td>{html.escape(str(s.get('started', ''))[:19].replace('T', ' '))}</td>"
            f"<td>{_params(s.get('fixed'))}<br>grid: {_params(s.get('grid'))}</td>"
            f"<td>{' · '.join(extra)}<ul>{''.join(items)}</ul></td></tr>")
    head = ("<tr><th>run</th><th>notebook</th><th>status</th><th>started (UTC)</th>"
            "<th>seconds</th><th>parameters</th><th>files</th></tr>")
    shead = ("<tr><th>sweep</th><th>notebook</th><th>status</th><th>started (UTC)</th>"
             "<th>parameters</th><th>files and runs</th></tr>")
    return (
        "<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
        "<title>perfsim reports</title>"
        f"<style>{_CSS}</style></head><body>\n"
        "<h1>perfsim reports 绩效模拟报告</h1>\n"
        f"<p>Generated by perfsim {html.escape(__version__)}; regenerated after each run and "
        "sweep. Do not edit by hand.</p>\n"
        f"<h2>Notebook runs ({len(runs)})</h2>\n<table>{head}{''.join(rows)}</table>\n"
        f"<h2>Sweeps ({len(sweeps)})</h2>\n<table>{shead}{''.join(srows)}</table>\n"
        "</body></html>\n")


def write_index(reports: str | Path = REPORTS) -> Path:
    """Regenerate ``reports/index.html`` (atomically: a temporary file renamed into place)."""
    reports = Path(reports)
    reports.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".index.", suffix=".html", dir=reports)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(render_index(reports))
    os.replace(tmp, reports / INDEX)
    return reports / INDEX


def describe(paths: Iterable[Path] | None = None) -> str:
    """The notebooks and their parameters, for ``perfsim notebooks list``."""
    lines = []
    for p in paths or list_notebooks():
        lines.append(p.stem)
        for prm in notebook_parameters(p).values():
            if prm.name in RUNNER_PARAMETERS:
                continue
            note = f"  # {prm.help}" if prm.help else ""
            lines.append(f"    {prm.name} ({prm.kind}) = {prm.default!r}{note}")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Benchmark (``perfsim bench --notebooks``; never part of the tests)
# --------------------------------------------------------------------------------------------

def bench(quick: bool = False, workers: Sequence[int] = (1, 2)) -> dict[str, Any]:
    """Time the whole suite with default parameters, and a sweep of 8 runs of notebook 02
    (default parameters, 8 seeds) with each number of ``workers``; the speed-up is relative to
    the first. ``quick``: no suite, and a sweep of 4 runs with 32 replications."""
    out: dict[str, Any] = {"cpus": os.cpu_count(), "kernel": kernel_name()}
    with tempfile.TemporaryDirectory(prefix="perfsim-bench-") as tmp:
        root = Path(tmp)
        if not quick:
            t0 = time.perf_counter()
            runs = run_notebooks(reports=root / "suite")
            out["suite_s"] = round(time.perf_counter() - t0, 1)
            out["suite_runs"] = {r.notebook: r.status for r in runs}
            out["suite_run_s"] = {r.notebook: r.manifest.get("duration_s") for r in runs}
        n = 4 if quick else 8
        fixed = "{replications: 32}" if quick else "{}"
        grid = root / "bench_sweep.yaml"
        grid.write_text(f"notebook: 02\nname: bench\nparameters: {fixed}\n"
                        f"grid: {{seed: {list(range(1, n + 1))}}}\n", encoding="utf-8")
        spec = read_sweep(grid)
        times = {}
        for w in workers:
            t0 = time.perf_counter()
            result = run_sweep(spec, workers=w, reports=root / f"sweep-{w}")
            times[w] = round(time.perf_counter() - t0, 1)
            if result.failed:
                raise RuntimeError(f"bench sweep failed: {result.failed}")
        out["sweep_runs"] = n
        out["sweep_s"] = {str(w): t for w, t in times.items()}
        first = times[workers[0]]
        out["sweep_speedup"] = {str(w): round(first / t, 2) for w, t in times.items()}
    return out


def format_bench(result: Mapping[str, Any]) -> str:
    lines = [f"perfsim notebooks bench: {result['cpus']} CPUs, kernel {result['kernel']}"]
    if "suite_s" in result:
        lines.append(f"whole suite, default parameters: {result['suite_s']:.1f} s")
        for name, seconds in result["suite_run_s"].items():
            lines.append(f"  {name}: {seconds} s ({result['suite_runs'][name]})")
    for w, t in result["sweep_s"].items():
        lines.append(f"sweep of {result['sweep_runs']} runs, {w} worker(s): {t:.1f} s "
                     f"(speed-up {result['sweep_speedup'][w]:.2f}x)")
    return "\n".join(lines)
