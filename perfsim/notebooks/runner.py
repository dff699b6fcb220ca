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

import ast
import datetime as dt
import os
import re
import secrets
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from perfsim.errors import InputError
from perfsim.io import (
    PROJECT_ROOT,
    REPORTS,
    atomic_directory,
    check_output_dir,
    check_reports_dir,
    input_files,
    prepare_reports_dir,
    safe_name,
    write_json,
)
from perfsim.notebooks.index import check_index, write_index
from perfsim.notebooks.parameters import (
    NOTEBOOK_DIR,
    RUNNER_PARAMETERS,
    find_notebook,
    list_notebooks,
    notebook_audience,
    notebook_card,
    notebook_parameters,
    resolve_parameters,
    split_parameters,
)
from perfsim.notebooks.provenance import now, run_manifest

KERNEL = "python3"
RESERVED_IDS = {"runs", "index.html", "README.md"}


def check_run_id(run_id: str, reports: str | Path = REPORTS,
                 source: str | None = None) -> Path:
    """The directory of run ``run_id`` inside ``reports``: ``run_id`` must be a plain name
    (:func:`perfsim.io.safe_name`: no separators, no leading dot, so never ``..``) and not one
    of perfsim's own names in ``reports/``."""
    safe_name(run_id, source, "run id")
    if run_id in RESERVED_IDS:
        raise InputError(source, field="run id", value=run_id,
                         problem=f"is reserved ({', '.join(sorted(RESERVED_IDS))} are "
                                 "perfsim's own names in reports/)")
    return Path(reports).resolve() / run_id


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
                 run_id: str | None = None, no_code: bool = False, code: bool | None = None,
                 timeout: float | None = None, update_index: bool = True,
                 extra_manifest: Mapping[str, Any] | None = None,
                 parameter_file: str | Path | None = None) -> RunResult:
    """Execute notebook ``name`` with papermill into ``reports/<run_id>/``.

    ``parameters`` are typed overrides (read from ``parameter_file``, if given, which errors
    then name), ``texts`` command-line strings; both are validated, and the run directory
    checked (:func:`perfsim.io.check_output_dir`), before anything runs. Returns the run, failed
    or not: an error inside the notebook is recorded (status ``failed``, the executed notebook
    shows it), never raised. ``timeout`` limits each cell (seconds). The HTML shows the code
    when ``code`` is true, hides it when false; by default (None) it hides it for the
    notebooks of finance staff and trainers (:func:`notebook_audience`) or with ``no_code``.
    """
    path = find_notebook(name)
    if code is None:
        code = not no_code and notebook_audience(path) == "research"
    overrides = resolve_parameters(path, parameters, texts, given_source=parameter_file)
    run_id = new_run_id(path.stem) if run_id is None else run_id
    target = check_run_id(run_id, reports)
    effective = {n: p.default for n, p in notebook_parameters(path).items()
                 if n not in RUNNER_PARAMETERS}
    effective.update(overrides)
    inputs = run_inputs(path, effective, parameter_file)
    check_reports_dir(reports, inputs=inputs)
    shown = Path(reports) / run_id
    check_output_dir(shown, inputs=inputs, option="--run-id")
    if update_index:
        check_index(reports)
    kernel = kernel_name()

    prepare_reports_dir(reports, inputs=inputs)
    with atomic_directory(shown, kind="notebook run", inputs=inputs, option="--run-id") as tmp:
        out_nb = tmp / f"{path.stem}.ipynb"
        started, t0 = now(), time.perf_counter()
        status, error = _execute(path, out_nb, {**overrides, "output_dir": "."}, tmp, kernel,
                                 timeout)
        answers = bool(effective.get("show_answers", True))
        if out_nb.exists():
            if not answers:
                hand_out(out_nb)
            _write_html(out_nb, tmp / f"{path.stem}.html", not code, overrides)
        card = notebook_card(path)
        manifest = run_manifest(
            tmp, run_id=run_id, notebook=path, status=status, error=error,
            parameters=effective, overrides=overrides, kernel=kernel, no_code=not code,
            started=started, duration_s=round(time.perf_counter() - t0, 3),
            extra={"title": card.title, "question": card.question,
                   "audience": card.audience, "answers": answers, **dict(extra_manifest or {})})
        write_json(tmp / "manifest.json", manifest)
    if update_index:
        write_index(reports)
    return RunResult(run_id, path.stem, target, status, error, manifest)


def run_inputs(notebook: Path, parameters: Mapping[str, Any],
               parameter_file: str | Path | None = None) -> list[Path]:
    """What a run reads, which its outputs must never overlap: the notebooks folder, the
    parameter file, and every file a string parameter names (with the files those name)."""
    files: list[Path] = [] if parameter_file is None else [Path(parameter_file)]
    for value in parameters.values():
        if isinstance(value, str) and value and len(value) < 4096 and "\n" not in value:
            p = Path(value) if Path(value).is_absolute() else PROJECT_ROOT / value
            try:
                if p.is_file():
                    files.append(p)
            except (OSError, ValueError):
                pass
    paired = notebook.with_suffix(".py")
    return [notebook, *([paired] if paired.is_file() else []), NOTEBOOK_DIR, *input_files(files)]


KERNEL_LOG = ".kernel.log"  # the kernel's own stdout and stderr, kept out of the terminal


def _execute(path: Path, out_nb: Path, parameters: Mapping[str, Any], cwd: Path, kernel: str,
             timeout: float | None) -> tuple[str, str | None]:
    import papermill
    from papermill.exceptions import PapermillExecutionError

    log = cwd / KERNEL_LOG
    try:
        with open(log, "w", encoding="utf-8") as fh:
            papermill.execute_notebook(
                str(path), str(out_nb), parameters=dict(parameters), kernel_name=kernel,
                language="python", progress_bar=False, log_output=False, cwd=str(cwd),
                execution_timeout=timeout, kernel_manager_class=_kernel_manager(fh),
                extra_arguments=["--IPKernelApp.log_level=CRITICAL"])
    except PapermillExecutionError as exc:
        return "failed", f"{exc.ename}: {exc.evalue}"
    except Exception as exc:  # kernel died, timeout, ...: the run is kept as failed
        return "failed", f"{exc.__class__.__name__}: {exc}{_last_line(log)}"
    finally:
        log.unlink(missing_ok=True)
    return "ok", None


def _last_line(log: Path) -> str:
    try:
        lines = [ln.strip() for ln in log.read_text(encoding="utf-8",
                                                    errors="replace").splitlines()]
    except OSError:
        return ""
    lines = [ln for ln in lines if ln]
    return f" (kernel: {lines[-1][:300]})" if lines else ""


def _kernel_manager(log: IO[str]) -> type:
    """A kernel manager whose kernel writes its own output (start-up errors, shutdown noise
    such as ``KeyboardInterrupt caught in kernel``) to ``log``, not to the terminal, and
    imports the same perfsim as this process."""
    from jupyter_client import AsyncKernelManager

    class QuietKernelManager(AsyncKernelManager):
        async def _async_pre_start_kernel(self, **kw: Any) -> Any:
            kw.setdefault("env", kernel_environment())
            kw["stdout"] = kw["stderr"] = log
            return await super()._async_pre_start_kernel(**kw)

    return QuietKernelManager


def kernel_environment() -> dict[str, str]:
    """The kernel's environment: this one, and when perfsim runs from a source tree (not an
    installed copy) that tree first on ``PYTHONPATH``, so the kernel imports the perfsim whose
    version and commit the manifest records."""
    env = dict(os.environ)
    if (PROJECT_ROOT / "pyproject.toml").is_file():
        env["PYTHONPATH"] = os.pathsep.join(
            [str(PROJECT_ROOT), *([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])])
    return env


#: Cell tags the reports act on. ``answer``: an exercise's answer (its prose, tables,
#: figures), left out of a hand-out — a run with ``show_answers`` false — in the HTML and in
#: the executed notebook saved beside it; a summary that gives the answers away is tagged so
#: too. ``interactive``: widgets, which need a live kernel;
#: the HTML shows a note in place of their output.
ANSWER_TAG = "answer"
INTERACTIVE_TAG = "interactive"
#: ``trainer``: a note for the trainer (how to make the hand-out, that the default run is the
#: key), left out of a hand-out without a trace.
TRAINER_TAG = "trainer"
HIDDEN_ANSWER = "*答案已隐藏（讲义版）。— The answer is hidden in this hand-out.*"
INTERACTIVE_NOTE = ("*此处是交互面板：请在 JupyterLab 中打开本笔记本，或运行 `perfsim app`。"
                    "— An interactive panel: open this notebook in JupyterLab, or run "
                    "`perfsim app`.*")


def _tags(cell: Any) -> set[str]:
    return set(cell.metadata.get("tags", []))


def hand_out(notebook: Path) -> None:
    """Turn an executed notebook into a hand-out in place: each run of consecutive cells
    tagged ``answer`` (sources and outputs) becomes one note that the answer is hidden, the
    trainer's notes (tagged ``trainer``) go, and
    the interactive cells lose their outputs and the saved widget state (the numbers they
    showed): a trainee runs them afresh."""
    import nbformat

    nb = nbformat.read(notebook, as_version=4)
    nb.metadata.pop("widgets", None)  # the widgets' saved state holds the numbers they showed
    cells: list[Any] = []
    for cell in nb.cells:
        if TRAINER_TAG in _tags(cell):
            continue
        if INTERACTIVE_TAG in _tags(cell):
            cell.outputs = []
        if ANSWER_TAG not in _tags(cell):
            cells.append(cell)
        elif not (cells and cells[-1].get("metadata", {}).get("perfsim") == "hidden-answer"):
            note = nbformat.v4.new_markdown_cell(HIDDEN_ANSWER)
            note.metadata["perfsim"] = "hidden-answer"
            cells.append(note)
    nb.cells = cells
    nbformat.write(nb, notebook)


def _write_html(notebook: Path, html_path: Path, no_code: bool,
                overrides: Mapping[str, Any] | None = None) -> None:
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(notebook, as_version=4)
    nb.metadata.pop("widgets", None)  # no widget state or renderer in a static page
    if no_code:  # a reader without code sees neither the parameters nor papermill's cell
        nb.cells = [c for c in nb.cells
                    if not {"parameters", "injected-parameters"} & _tags(c)]
    else:  # the parameters once, as the run used them: no papermill "# Parameters" cell
        for cell in nb.cells:
            if "parameters" in _tags(cell):
                cell.source = with_values(cell.source, overrides or {})
        nb.cells = [c for c in nb.cells if "injected-parameters" not in _tags(c)]
    cells: list[Any] = []
    for cell in nb.cells:  # widgets do not live in a static page: a note instead
        if INTERACTIVE_TAG in _tags(cell):
            cell.outputs = []
            cells += [] if no_code else [cell]
            cell = nbformat.v4.new_markdown_cell(INTERACTIVE_NOTE)
        cells.append(cell)
    nb.cells = cells
    exporter = HTMLExporter(template_name="lab", exclude_input=no_code,
                            exclude_input_prompt=no_code, exclude_output_prompt=no_code,
                            **OFFLINE_URLS)
    body, _ = exporter.from_notebook_node(nb)
    html_path.write_text(offline_html(body), encoding="utf-8")


def with_values(source: str, values: Mapping[str, Any]) -> str:
    """A parameters cell's code with the assignments of ``values`` (name → value) written in
    place of the defaults, each line's comment kept: what a report shows as its parameters."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source
    lines = source.splitlines()
    for node in reversed(tree.body):
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name) and node.targets[0].id in values):
            continue
        name = node.targets[0].id
        last = lines[node.end_lineno - 1]
        rest = last[node.end_col_offset:]
        comment = rest if rest.strip().startswith("#") else ""
        lines[node.lineno - 1:node.end_lineno] = [f"{name} = {values[name]!r}{comment}"]
    return "\n".join(lines)


#: nbconvert's HTMLExporter loads require.js, MathJax, Mermaid and the widget manager from
#: CDNs by default; perfsim's reports must render offline (bureaus often work on intranets),
#: so these URLs are emptied (the notebooks use neither LaTeX, diagrams nor widgets) and the
#: tags left empty are removed by :func:`offline_html`. CSS is inlined by the lab template.
OFFLINE_URLS = {"require_js_url": "", "mathjax_url": "", "mermaid_js_url": "",
                "mermaid_layout_elk_js_url": "", "jupyter_widgets_base_url": "",
                "widget_renderer_url": ""}
_EMPTY_SCRIPT = re.compile(r'<script src="">\s*</script>\s*')
_MATHJAX_CONFIG = re.compile(
    r"<!-- Load mathjax -->\s*|<!-- MathJax configuration -->\s*"
    r'<script type="text/x-mathjax-config">.*?</script>\s*<!-- End of mathjax configuration -->\s*',
    re.S)
_EXTERNAL = re.compile(
    r"<(?:script|link)\b[^>]*\b(?:src|href)\s*=\s*[\"']?(?:https?:)?//[^>]*>", re.I)


def offline_html(body: str) -> str:
    """An nbconvert HTML page without the empty script tags and the MathJax configuration
    that :data:`OFFLINE_URLS` leave behind."""
    return _MATHJAX_CONFIG.sub("", _EMPTY_SCRIPT.sub("", body))


def external_references(body: str) -> list[str]:
    """The ``<script>`` and ``<link>`` tags of an HTML page that load from another host."""
    return _EXTERNAL.findall(body)


def run_notebooks(names: Sequence[str] | None = None, *, parameters: Mapping[str, Any] | None
                  = None, texts: Mapping[str, str] | None = None, reports: str | Path = REPORTS,
                  run_id: str | None = None, no_code: bool = False,
                  code: bool | None = None,
                  timeout: float | None = None,
                  progress: Callable[[RunResult], None] | None = None,
                  parameter_file: str | Path | None = None) -> list[RunResult]:
    """Run several notebooks (default: all, in order) one after the other.

    A parameter applies to each selected notebook that declares it; one that no selected
    notebook declares is rejected before anything runs, and so is a run directory perfsim may
    not write. With several notebooks ``run_id`` is a prefix: ``<run_id>-<notebook>``.
    """
    paths = [find_notebook(n) for n in names] if names else list_notebooks()
    if not paths:
        raise InputError(str(NOTEBOOK_DIR), problem="no notebooks found")
    per_book = split_parameters(paths, parameters or {}, texts or {},
                                given_source=parameter_file)
    ids: list[str | None] = [None] * len(paths)
    if run_id is not None:
        ids = [run_id] if len(paths) == 1 else [f"{run_id}-{p.stem}" for p in paths]
    for path, rid in zip(paths, ids, strict=True):
        inputs = run_inputs(path, {}, parameter_file)
        check_reports_dir(reports, inputs=inputs)
        if rid is not None:
            check_run_id(rid, reports)
            check_output_dir(Path(reports) / rid, inputs=inputs, option="--run-id")
    check_index(reports)
    results = []
    for path, (given, text), rid in zip(paths, per_book, ids, strict=True):
        r = run_notebook(str(path), given, texts=text, reports=reports, run_id=rid,
                         no_code=no_code, code=code, timeout=timeout, update_index=False,
                         parameter_file=parameter_file)
        results.append(r)
        if progress is not None:
            progress(r)
        write_index(reports)
    return results
