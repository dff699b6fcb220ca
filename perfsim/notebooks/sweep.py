"""Sweeps: a grid of parameters expanded into notebook runs executed in parallel.

:func:`run_sweep` expands a grid of parameters into runs executed in parallel (a process pool
or a Dask LocalCluster), collects every run's ``results`` table into one sweep table and draws
a comparison plot; a failing run is kept and marked failed, the others go on.
"""

from __future__ import annotations

import itertools
import json
import multiprocessing
import os
import signal
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from perfsim.errors import InputError
from perfsim.io import (
    CSV_ENCODING,
    REPORTS,
    atomic_directory,
    check_mapping,
    check_output_dir,
    check_reports_dir,
    environment_kept,
    prepare_reports_dir,
    read_yaml,
    sigint_ignored,
    write_csv,
    write_json,
)
from perfsim.notebooks.helpers import check_name
from perfsim.notebooks.index import check_index, write_index
from perfsim.notebooks.parameters import find_notebook, resolve_parameters
from perfsim.notebooks.provenance import git_commit, now
from perfsim.notebooks.runner import (
    check_run_id,
    kernel_name,
    new_run_id,
    run_inputs,
    run_notebook,
)
from perfsim.present import plots
from perfsim.version import __version__

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
    check_name(name, "name", src)
    table = str(doc.get("table") or RESULTS_TABLE)
    check_name(table, "table", src)
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


_in_task = False


def _worker_start() -> None:
    """In each worker process: Ctrl-C (SIGINT to the whole process group) is left to the
    parent, which stops the workers with SIGTERM; SIGTERM ends a run in progress cleanly (its
    partial directory removed, its kernel shut down) and an idle worker at once, quietly."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _worker_stop)


def _worker_stop(signum: int, frame: Any) -> None:
    if _in_task:
        raise KeyboardInterrupt
    os._exit(128 + signum)


def _sweep_task(task: dict[str, Any]) -> dict[str, Any]:
    """Run one combination of a sweep (in a worker process); never raises."""
    global _in_task
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"  # one core per run: the pool is the parallelism
    t0 = time.perf_counter()
    _in_task = True
    try:
        r = run_notebook(task["notebook"], task["parameters"], reports=task["reports"],
                         run_id=task["run_id"], timeout=task.get("timeout"),
                         update_index=False, extra_manifest={"sweep": task["sweep"]})
        return {"run_id": r.run_id, "status": r.status, "error": r.error,
                "seconds": round(time.perf_counter() - t0, 3)}
    except KeyboardInterrupt:  # stopped by the parent: the run has cleaned up; leave quietly
        os._exit(130)
    except Exception as exc:  # a failure outside the notebook: record it, let others go on
        return {"run_id": task["run_id"], "status": "failed",
                "error": f"{exc.__class__.__name__}: {exc}",
                "seconds": round(time.perf_counter() - t0, 3)}
    finally:
        _in_task = False


def run_sweep(spec: SweepSpec | str | Path, *, workers: int | None = None,
              engine: str = "processes", reports: str | Path = REPORTS,
              timeout: float | None = None,
              progress: Callable[[dict[str, Any]], None] | None = None) -> SweepResult:
    """Run every combination of a sweep in parallel into ``reports/<sweep-id>/runs/NNN/``;
    collect the runs' results tables into ``sweep.csv``, draw ``comparison.png``, write
    ``sweep.json`` and regenerate the index. Failed runs are kept and listed. The sweep
    directory appears complete or not at all (:func:`perfsim.io.atomic_directory`)."""
    if not isinstance(spec, SweepSpec):
        spec = read_sweep(spec)
    if engine not in SWEEP_ENGINES:
        raise InputError(field="engine", value=engine,
                         problem=f"must be one of {', '.join(SWEEP_ENGINES)}")
    workers = workers or min(2, os.cpu_count() or 1)
    if workers < 1:
        raise InputError(field="workers", value=workers, problem="must be >= 1")
    sweep_id = new_run_id(f"sweep-{spec.name}")
    check_run_id(sweep_id, reports, spec.source)
    values = {f"{k}[{i}]": v for k, vs in spec.grid.items() for i, v in enumerate(vs)}
    inputs = [*([spec.source] if spec.source else []),
              *run_inputs(spec.notebook, {**spec.fixed, **values})]
    shown = Path(reports) / sweep_id
    check_reports_dir(reports, inputs=inputs)
    check_output_dir(shown, inputs=inputs)
    check_index(reports)
    kernel_name()  # register a kernel once, before the workers start
    prepare_reports_dir(reports, inputs=inputs)
    combos = spec.combinations()
    width = max(3, len(str(len(combos))))
    with atomic_directory(shown, kind="sweep", inputs=inputs) as tmp:
        prepare_reports_dir(tmp / "runs")  # the workers write their runs in here
        tasks = [{"notebook": str(spec.notebook), "parameters": {**spec.fixed, **combo},
                  "reports": str(tmp / "runs"), "run_id": f"{k:0{width}d}",
                  "timeout": timeout, "sweep": {"sweep_id": sweep_id, "index": k, "grid": combo}}
                 for k, combo in enumerate(combos, start=1)]
        started, t0 = now(), time.perf_counter()
        outcomes = _map_tasks(tasks, workers, engine, progress)
        runs = []
        for task, outcome in zip(tasks, outcomes, strict=True):
            runs.append({**outcome, "parameters": task["sweep"]["grid"],
                         "path": f"runs/{task['run_id']}"})
        table = _collect(tmp, spec, runs)
        write_csv(table, tmp / "sweep.csv")
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
    write_index(reports)
    return SweepResult(sweep_id, Path(reports).resolve() / sweep_id, runs, table)


def _map_tasks(tasks: list[dict[str, Any]], workers: int, engine: str,
               progress: Callable[[dict[str, Any]], None] | None) -> list[dict[str, Any]]:
    if engine == "dask":
        from distributed import Client, LocalCluster
        from distributed import as_completed as finished

        with environment_kept(), sigint_ignored():  # Ctrl-C is the parent's to handle;
            # the cluster's settings for its workers stay out of this process's environment
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   dashboard_address=None)
        client = Client(cluster)
        try:
            futures = client.map(_sweep_task, tasks, pure=False)
            if progress is not None:
                for fut in finished(futures):
                    progress(fut.result())
            return client.gather(futures)
        finally:
            client.close()
            cluster.close()

    ctx = multiprocessing.get_context("spawn")  # fresh workers: no inherited threads or state
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_worker_start)
    try:
        futures = {pool.submit(_sweep_task, t): i for i, t in enumerate(tasks)}
        results: list[dict[str, Any] | None] = [None] * len(tasks)
        for fut in as_completed(futures):
            results[futures[fut]] = fut.result()
            if progress is not None:
                progress(fut.result())
    except BaseException:  # interrupted: stop the workers; each cleans up its run first
        pool.shutdown(wait=False, cancel_futures=True)
        children = multiprocessing.active_children()
        for child in children:
            child.terminate()
        for child in children:
            child.join(timeout=30)
        raise
    pool.shutdown()
    return [r for r in results if r is not None]


def _collect(sweep_dir: Path, spec: SweepSpec, runs: list[dict[str, Any]]) -> Any:
    """Every successful run's table, with the run and its grid parameters as leading columns."""

    frames = []
    for run in runs:
        if run["status"] != "ok":
            continue
        path = sweep_dir / run["path"] / "tables" / f"{spec.table}.csv"
        if not path.exists():
            run["status"] = "failed"
            run["error"] = f"the notebook wrote no table '{spec.table}'"
            continue
        df = pd.read_csv(path, encoding=CSV_ENCODING)
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

