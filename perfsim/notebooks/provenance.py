"""Provenance of a run: what produced it (versions, git commit, kernel) and the sha256 of what
went in (the notebook, the files it read, ``datasets/``) and came out; the run's manifest."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import subprocess
import sys
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

from perfsim.io import MARKER, input_files
from perfsim.notebooks.helpers import INPUTS_LOG, PROJECT_ROOT
from perfsim.version import __version__

PACKAGES = ("numpy", "pandas", "scipy", "statsmodels", "matplotlib", "SALib", "openpyxl",
            "pyarrow", "pyyaml", "dask", "distributed", "papermill", "nbconvert", "nbformat",
            "nbclient", "ipykernel", "jupyter_client", "jupytext", "mpl-font")


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


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


def rel(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)


def input_hashes(notebook: Path, run_dir: Path, parameters: Mapping[str, Any]) -> list[dict]:
    """sha256 of the notebook (and its paired .py), every file the notebook named with
    :func:`input_path`, and every string parameter that names an existing file."""
    files: list[Path] = [notebook]
    paired = notebook.with_suffix(".py")
    if paired.exists():
        files.append(paired)
    log = run_dir / INPUTS_LOG
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
    return [{"path": rel(f), "sha256": sha256(f)} for f in input_files(files)]


def dataset_hashes(root: Path = PROJECT_ROOT / "datasets") -> dict[str, str]:
    """sha256 of every file under ``datasets/`` (the project's inputs), by relative path."""
    if not root.is_dir():
        return {}
    return {f.relative_to(root).as_posix(): sha256(f)
            for f in sorted(root.rglob("*")) if f.is_file() and not f.name.startswith(".")}


def output_hashes(run_dir: Path) -> list[dict]:
    out = []
    for f in sorted(run_dir.rglob("*")):
        if f.is_file() and f.name not in ("manifest.json", MARKER):
            out.append({"path": f.relative_to(run_dir).as_posix(), "bytes": f.stat().st_size,
                        "sha256": sha256(f)})
    return out


def run_manifest(run_dir: Path, *, run_id: str, notebook: Path, status: str,
                 error: str | None, parameters: Mapping[str, Any],
                 overrides: Mapping[str, Any], kernel: str, no_code: bool, started: str,
                 duration_s: float, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The manifest of the run in ``run_dir``: parameters, seed, versions, git commit, the
    sha256 of its inputs, of ``datasets/`` and of its outputs, times and status."""
    executed = run_dir / f"{notebook.stem}.ipynb"
    html = run_dir / f"{notebook.stem}.html"
    return {
        "run_id": run_id,
        "notebook": notebook.stem,
        "notebook_file": rel(notebook),
        "status": status,
        "error": error,
        "parameters": dict(parameters),
        "overrides": dict(overrides),
        "seed": parameters.get("seed"),
        "perfsim_version": __version__,
        "git": git_commit(),
        "packages": package_versions(),
        "kernel": kernel,
        "inputs": input_hashes(notebook, run_dir, parameters),
        "datasets": dataset_hashes(),
        "outputs": output_hashes(run_dir),
        "executed_notebook": executed.name if executed.exists() else None,
        "html": html.name if html.exists() else None,
        "no_code": no_code,
        "started": started,
        "ended": now(),
        "duration_s": duration_s,
        **dict(extra or {}),
    }
