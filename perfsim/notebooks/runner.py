"""Parameterised notebooks run reproducibly with papermill: one run, several runs, the kernel.

The numbered notebooks in ``notebooks/`` ask a question, call perfsim and show the answer. Each
has a cell tagged ``parameters``; :func:`run_notebook` executes one with papermill into
``reports/<run-id>/``::

    reports/<run-id>/
        <notebook>.ipynb      the executed notebook (on failure: with the error visible)
        <notebook>.html       an HTML rendering (``no_code=True`` hides the code)
        figures/*.png         figures saved by the notebook (helpers.save_figure)
        tables/*.csv          results tables saved by the notebook (helpers.save_table)
        manifest.json         parameters, seed, versions, git commit, input hashes, times, status

A run is written into a hidden temporary directory beside its target and renamed into place when
complete; a failed run is renamed into place too, with its executed notebook showing the error
and ``status: failed`` in the manifest. ``reports/index.html`` (:mod:`perfsim.notebooks.index`)
is regenerated after each run.

Strings reach the notebook as plain string literals (papermill escapes them;
``tests/test_notebooks.py`` checks hostile strings). ``output_dir`` is set by the runner:
notebooks save into it and name the files they read with ``input_path`` so that the manifest
records their sha256 (:mod:`perfsim.notebooks.provenance`). Paths given to notebooks are
relative to the project root.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from perfsim.errors import InputError
from perfsim.io import replace_directory, write_json
from perfsim.notebooks.helpers import REPORTS, SAFE_NAME
from perfsim.notebooks.index import write_index
from perfsim.notebooks.parameters import (
    NOTEBOOK_DIR,
    RUNNER_PARAMETERS,
    find_notebook,
    list_notebooks,
    notebook_parameters,
    resolve_parameters,
    split_parameters,
)
from perfsim.notebooks.provenance import now, run_manifest

KERNEL = "python3"
RESERVED_IDS = {"runs", "index.html", "README.md"}


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
    out_nb = tmp / f"{path.stem}.ipynb"
    started, t0 = now(), time.perf_counter()
    try:
        status, error = _execute(path, out_nb, {**overrides, "output_dir": "."}, tmp, kernel,
                                 timeout)
        if out_nb.exists():
            _write_html(out_nb, tmp / f"{path.stem}.html", no_code)
        manifest = run_manifest(
            tmp, run_id=run_id, notebook=path, status=status, error=error,
            parameters=effective, overrides=overrides, kernel=kernel, no_code=no_code,
            started=started, duration_s=round(time.perf_counter() - t0, 3),
            extra=extra_manifest)
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
    per_book = split_parameters(paths, parameters or {}, texts or {})
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

