"""Sweeps: a grid of parameters expanded into notebook runs executed in parallel.

:func:`run_sweep` expands a grid of parameters into runs executed in parallel (a process pool
or a Dask LocalCluster), collects every run's ``results`` table into one sweep table and draws
a comparison plot; a failing run is kept and marked failed, the others go on.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from perfsim import __version__
from perfsim.errors import InputError
from perfsim.io import check_mapping, read_yaml, replace_directory, write_json
from perfsim.notebooks.helpers import REPORTS, check_name
from perfsim.notebooks.index import write_index
from perfsim.notebooks.parameters import find_notebook, resolve_parameters
from perfsim.notebooks.provenance import git_commit, now
from perfsim.notebooks.runner import check_run_id, kernel_name, new_run_id, run_notebook
from perfsim.present import plots

RESULTS_TABLE = "results"
SWEEP_ENGINES = ("processes", "dask")


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
    check_name(name, "name")
    table = str(doc.get("table") or RESULTS_TABLE)
    check_name(table, "table")
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
    started, t0 = now(), time.perf_counter()
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
            "started": started, "ended": now(),
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

