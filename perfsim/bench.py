"""``perfsim bench``: measured speed, never asserted in tests.

Every figure is set against an honest bound measured in the same run:

1. **One year of scoring + grading + linkage** on attainments (replications, projects,
   indicators) in chunks: perfsim's year kernel (:func:`perfsim.kernel.year.evaluate_year`);
   the tightest numpy version of the same outputs (preallocated, in place, three comparisons
   for the grade with the multiplier lookup folded in: ``bound_s``); idiomatic vectorised
   pandas (``DataFrame.dot``, ``pd.cut``, ``map``); and the naive row-wise pandas
   (``DataFrame.apply``, one replication timed and extrapolated). The references are checked
   to give perfsim's next budgets exactly; pandas builds its frame without a copy.
2. **The full process**: a five-year Monte Carlo at Liupanshui scale (3,468 projects × 20
   leaves × 1,000 replications) with inflation, spot checks, the gap rule, monitoring, weight
   and ratio uncertainty, entrants and escalation, in a fresh process (for its peak memory),
   in attainment space (``full_process``) and in measurement space
   (``full_process_measurement``), each against the bound of drawing the same number of
   random numbers into preallocated arrays on two threads.
3. **Engines**: the same process, smaller, on each engine, and the cost of a 32-replication
   run (what an engine adds per task).
4. **Peak memory** (``peak_memory``): the full process at 13,872 projects × 4,000
   replications × 5 years in each space, once each in a fresh process; ``--scaling``:
   projects × replications, nanoseconds per project × replication × year and peak memory of
   each run.

5. **Imported tables** (``import``, ``full_process_imported``): ``perfsim import`` on
   generated training workbooks (seconds per workbook), and the full process on a portfolio
   of imported tables — each project with its own leaves, padded — beside a flat portfolio
   of the same size under the same settings (weight uncertainty off: an imported table keeps
   its own points), ns per project × replication × year of each and per real leaf (padding
   not counted), wall and CPU time.

``--sensitivity`` (and the full run: ``sensitivity``) times a Sobol analysis of 6 parameters on
the measured portfolio ``--repeats`` times (wall, CPU, peak memory, SALib's share) and
``--notebooks`` the notebook suite and a sweep; ``--imported`` only the imported tables.
``--app`` (and the full run) times one change on the what-if page against the bare one-year
run of the same changed scenario (:func:`time_app`).

Honest ratios: every comparison is run ``--repeats`` times (default :data:`REPEATS`),
interleaved in turns (A, B, B, A, A, B, …: :func:`turns`), and every ratio is given in wall
time and in CPU time (the process's, every thread), repeat by repeat, as the median with
[min, max] (:func:`ratios`); the random-number bound is drawn on the two threads perfsim's
numpy engine uses (:func:`rng_bound`). Every JSON carries the date and the machine
(:func:`machine`); ``perfsim bench --table FILE.json`` prints the documentation's table from
it (:func:`bench_table`).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import platform
import resource
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from perfsim.errors import InputError
from perfsim.forms.generate import write_selfeval
from perfsim.forms.read import read_paths
from perfsim.forms.review import tidy, write_csvs
from perfsim.forms.score import score_tables
from perfsim.forms.targets import load_levels
from perfsim.kernel.evaluation import weighted_score
from perfsim.kernel.grading import Grading
from perfsim.kernel.linkage import liupanshui
from perfsim.kernel.year import evaluate_year
from perfsim.limits import keep_freed_memory
from perfsim.model.imported import Cells, ImportedPortfolio, load_imported
from perfsim.model.indicators import load_indicator_system
from perfsim.model.portfolio import DATASETS, generate_portfolio
from perfsim.model.scenario import Scenario, load_scenario
from perfsim.model.settings import Settings, settings_from_dict
from perfsim.notebooks.runner import kernel_name, run_notebooks
from perfsim.notebooks.sweep import read_sweep, run_sweep
from perfsim.run.sensitivity import (
    DEFAULT_METRICS,
    chunk_cells,
    params_from_list,
    pool_workers,
    problem,
    run_sobol,
    sobol,
)
from perfsim.run.simulate import build_inputs, collect, run_engine

LIUPANSHUI = {"projects": 3468, "indicators": 20, "replications": 10_000}
#: the full process timed: every feature of the evaluation process at once
FULL_PROCESS = {
    "chunk": 64,
    "self_evaluation": {"noise": 0.05, "inflation_mean": 0.03, "inflation_sd": 0.02},
    "spot_check": {"share": 0.2, "selection": "highest_score", "gap_rule": True},
    "monitoring": {"checkpoints": [[0.5, 0.3], [0.75, 0.5]]},
    "dynamics": {"entry_rate": 0.02, "escalation_years": 2},
    "uncertainty": {"weights": "dirichlet", "concentration": 200, "ratio": [0.1, 0.2]},
}
#: the full process on imported tables (and the flat portfolio it is set beside): the same,
#: without weight uncertainty (each imported table keeps its own points)
FULL_PROCESS_IMPORTED = {**FULL_PROCESS, "uncertainty": {"ratio": [0.1, 0.2]}}


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far (MiB): Linux's ``VmHWM``, which a new
    program starts afresh (``ru_maxrss`` keeps the peak of the process it was forked from, so
    a fresh process spawned by a large one would report its parent's), else ``ru_maxrss``."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


#: repeats of each interleaved A/B comparison (``perfsim bench --repeats``)
REPEATS = 5


class Clock:
    """Wall and CPU time of a stretch of code — every thread of the process and every child
    process it waited for (a pool's workers) — added up over the stretches timed:
    ``with clock: ...``."""

    def __init__(self) -> None:
        self.wall = self.cpu = 0.0

    def __enter__(self) -> Clock:
        self._t, self._c = time.perf_counter(), _cpu_now()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.wall += time.perf_counter() - self._t
        self.cpu += _cpu_now() - self._c


def _cpu_now() -> float:
    """CPU seconds of this process and of its children that ended."""
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + kids.ru_utime + kids.ru_stime


def spread(values: Sequence[float], digits: int = 3) -> dict[str, float]:
    """The median of repeated measurements with their least and greatest."""
    v = np.asarray(values, dtype=float)
    return {"median": round(float(np.median(v)), digits), "min": round(float(v.min()), digits),
            "max": round(float(v.max()), digits)}


def ratios(a: Mapping[str, Sequence[float]], b: Mapping[str, Sequence[float]],
           name: str) -> dict[str, Any]:
    """``name`` → a / b in wall and in CPU time, repeat by repeat (A and B measured in turn),
    each as its median with [min, max] (:func:`spread`): keys ``name``, ``name_cpu`` (medians)
    and ``name_range``, ``name_cpu_range``."""
    out: dict[str, Any] = {}
    for clock, tail in (("wall", ""), ("cpu", "_cpu")):
        r = spread([x / y for x, y in zip(a[clock], b[clock], strict=True)])
        out[f"{name}{tail}"] = r["median"]
        out[f"{name}{tail}_range"] = [r["min"], r["max"]]
    return out


def machine() -> dict[str, Any]:
    """Where and when the figures were measured."""
    return {"date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": f"{platform.machine()} {platform.processor() or platform.system()}, "
                       f"{os.cpu_count()} cores, Python {platform.python_version()}, "
                       f"numpy {np.__version__}, pandas {pd.__version__}"}


# --- one year ---------------------------------------------------------------------------------

class _Bound:
    """The tightest numpy version of one year's next budgets found: the score by one matmul,
    the grade by three comparisons added into a preallocated int8 array, the multiplier
    looked up and multiplied by the budget in place."""

    def __init__(self, rows: int, projects: int) -> None:
        self.grade = np.empty((rows, projects), dtype=np.int8)

    def __call__(self, a: np.ndarray, points: np.ndarray, cutoffs: tuple[float, ...],
                 table: np.ndarray, budget: np.ndarray) -> np.ndarray:
        score = a @ points
        grade = self.grade[:a.shape[0]]
        grade.fill(0)
        for c in cutoffs:
            np.add(grade, score < c, out=grade)
        out = table[grade]
        np.multiply(out, budget, out=out)
        return out


def _pandas_vectorised(a: np.ndarray, points: np.ndarray, budget: np.ndarray,
                       multipliers: dict[str, float]) -> np.ndarray:
    """Idiomatic pandas: a frame of leaf attainments (on the array, not a copy: pandas 3
    constructors copy unless told not to), ``dot`` for the score, ``pd.cut`` for the grade
    (left-closed), ``map`` for the multiplier."""
    n, p, i = a.shape
    df = pd.DataFrame(a.reshape(n * p, i), copy=False)
    score = df.dot(points)
    grade = pd.cut(score, [-np.inf, 60, 80, 90, np.inf], right=False,
                   labels=["poor", "fair", "good", "excellent"])
    mult = grade.map(multipliers).astype(float)
    return (mult.to_numpy() * np.tile(budget, n)).reshape(n, p)


def _pandas_rowwise(a: np.ndarray, points: np.ndarray, budget: np.ndarray,
                    table: np.ndarray) -> float:
    """The naive way: ``DataFrame.apply`` row by row for one replication; seconds."""
    cols = [f"i{k}" for k in range(a.shape[-1])]
    df = pd.DataFrame(a, columns=cols)
    df["budget"] = budget

    def row(r: pd.Series) -> float:
        score = sum(r[c] * p for c, p in zip(cols, points, strict=True))
        g = 0 if score >= 90 else 1 if score >= 80 else 2 if score >= 60 else 3
        return r["budget"] * table[g]

    t = time.perf_counter()
    df.apply(row, axis=1)
    return time.perf_counter() - t


def time_one_year(projects: int = 3468, indicators: int = 20, replications: int = 10_000, *,
                  chunk: int = 250, seed: int = 0, pandas: bool = True,
                  repeats: int = REPEATS) -> dict[str, Any]:
    """One year of scoring + grading + linkage, perfsim against its bound and pandas:
    ``repeats`` passes over the replications, each chunk timed by each method in turn (the
    same attainments), wall and CPU time; the ratios are the passes' medians [min, max]."""
    rng = np.random.default_rng(seed)
    points = rng.dirichlet(np.ones(indicators)) * 100.0
    budget = rng.lognormal(14.0, 1.2, projects)
    grading = Grading()
    linkage = liupanshui(0.15)
    table = np.asarray(linkage.rule.multipliers)
    named = dict(zip(grading.labels.codes, table, strict=True))
    bound = _Bound(chunk, projects)
    names = ("perfsim", "bound", "pandas") if pandas else ("perfsim", "bound")
    runs: dict[str, dict[str, list[float]]] = {k: {"wall": [], "cpu": []} for k in names}
    rowwise = None
    turn = 0
    for _ in range(repeats):
        clocks = {k: Clock() for k in names}
        done = 0
        while done < replications:
            n = min(chunk, replications - done)
            # attainments around a project-level performance so that every grade occurs
            theta = rng.beta(17.0, 3.0, (n, projects, 1))
            a = np.clip(theta + 0.05 * rng.standard_normal((n, projects, indicators)), 0.0,
                        1.0)
            for who in turns(turn, ("perfsim", "bound")):   # chunk by chunk, in turns
                with clocks[who]:
                    if who == "perfsim":
                        nxt = evaluate_year(weighted_score(a, points), budget, grading,
                                            linkage).next_budget
                    else:
                        ref = bound(a, points, grading.cutoffs, table, budget)
            turn += 1
            if not np.array_equal(ref, nxt):
                raise AssertionError("perfsim and the numpy bound disagree")
            if pandas:
                with clocks["pandas"]:
                    pd_nxt = _pandas_vectorised(a, points, budget, named)
                if not np.array_equal(pd_nxt, nxt):
                    raise AssertionError("perfsim and vectorised pandas disagree")
                if rowwise is None:
                    rowwise = _pandas_rowwise(a[0], points, budget, table) * replications
            done += n
        for k, c in clocks.items():
            runs[k]["wall"].append(c.wall)
            runs[k]["cpu"].append(c.cpu)
    cells = projects * replications
    med = {k: float(np.median(v["wall"])) for k, v in runs.items()}
    out = {"projects": projects, "indicators": indicators, "replications": replications,
           "chunk": chunk, "repeats": repeats, "perfsim_s": round(med["perfsim"], 4),
           "perfsim_cpu_s": round(float(np.median(runs["perfsim"]["cpu"])), 4),
           "bound_s": round(med["bound"], 4),
           "bound_cpu_s": round(float(np.median(runs["bound"]["cpu"])), 4),
           **ratios(runs["perfsim"], runs["bound"], "perfsim_over_bound"),
           "ns_per_cell": round(1e9 * med["perfsim"] / cells, 2)}
    if pandas:
        out.update({"pandas_vectorised_s": round(med["pandas"], 4),
                    "pandas_vectorised_cpu_s": round(float(np.median(runs["pandas"]["cpu"])),
                                                     4),
                    **ratios(runs["pandas"], runs["perfsim"], "pandas_over_perfsim"),
                    "pandas_rowwise_s_extrapolated": round(rowwise, 1)})
    return out


# --- the full process -------------------------------------------------------------------------

def full_process_scenario(projects: int = 3468) -> Scenario:
    """The key-evaluation framework (20 leaves) on a generated portfolio at the given scale,
    linked by the Liupanshui rule."""
    system = load_indicator_system(DATASETS / "indicator_systems" /
                                   "key_evaluation_framework.yaml")
    pf = generate_portfolio(system, seed=1, n_projects=projects,
                            n_departments=max(1, projects // 6))
    return Scenario(name="bench_full_process", portfolio=pf, system=system, seed=1,
                    linkage=liupanshui(0.15))


def imported_scenario(folder: str | Path, projects: int = 3468) -> Scenario:
    """The project tables of an imported folder, repeated in turn to ``projects`` projects
    (each copy with its own id, its table's leaves and budget), linked by the Liupanshui
    rule."""
    pf = load_imported(folder)
    idx = np.arange(projects) % pf.n_projects
    table = pf.table.iloc[idx].reset_index(drop=True)
    table["project_id"] = [f"{p}/{k}" for k, p in enumerate(table["project_id"])]
    c = pf.cells
    cells = Cells(**{f: getattr(c, f)[idx] for f in ("kind", "direction", "target", "value",
                                                     "points", "level1", "level2", "level3")})
    big = ImportedPortfolio(table, source=pf.source, cells=cells)
    return Scenario(name="bench_imported", portfolio=big, seed=1, linkage=liupanshui(0.15))


def _full_process(projects: int, replications: int, years: int, engine: str,
                  workers: int | None, chunk: int | None = None,
                  space: str = "attainment", imported: str | None = None,
                  process: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Run (in whatever process calls it) and time the Monte Carlo; count the random
    numbers it drew, and its CPU time (every thread of the process: the numpy engine draws
    the next year's numbers in a second one) and the main thread's. ``space``: attainment
    or measurement space (each leaf's measured value drawn and scored by its rule);
    ``imported``: an imported folder's tables (:func:`imported_scenario`) instead of the
    flat portfolio; ``process``: the settings (default :data:`FULL_PROCESS`)."""
    scenario = (full_process_scenario(projects) if imported is None
                else imported_scenario(imported, projects))
    process = FULL_PROCESS if process is None else process
    performance = {**process.get("performance", {}), "space": space}
    settings = settings_from_dict({**process, "years": years,
                                   "replications": replications, "performance": performance,
                                   **({"chunk": chunk} if chunk else {})})
    t, cpu, main = time.perf_counter(), time.process_time(), time.thread_time()
    inputs = build_inputs(scenario, settings)
    parts = run_engine(inputs, engine, workers=workers, progress=False)
    result = collect(inputs, parts, scenario)
    seconds = time.perf_counter() - t
    cpu, main = time.process_time() - cpu, time.thread_time() - main
    normals, uniforms = (int(v) for v in sum(p["drawn"] for p in parts))
    return {"seconds": seconds, "cpu_seconds": cpu, "main_cpu_seconds": main,
            "normals": normals, "uniforms": uniforms,
            "peak_rss_mib": peak_rss_mib(), "settings": settings,
            "misgrading_year1": float(result.replications.query("year == 1")[
                "misgrading"].mean())}


def turns(k: int, pair: Sequence[Any]) -> Sequence[Any]:
    """The two sides of an A/B comparison in round ``k``'s order: A then B in even rounds, B
    then A in odd ones (A B B A …), so that neither side always runs on the machine the
    other has just left."""
    return pair if k % 2 == 0 else pair[::-1]


def _fresh(fn: Any, *args: Any) -> Any:
    """``fn(*args)`` in a fresh process, so that its peak memory is its own. The process is
    set up as the ``perfsim`` command's (:func:`_as_a_command`)."""
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                             initializer=_as_a_command) as pool:
        return pool.submit(fn, *args).result()


def _as_a_command() -> None:
    """Set up a process started by spawn as the ``perfsim`` command's (:mod:`perfsim.start`):
    it keeps the memory of freed arrays (:func:`perfsim.limits.keep_freed_memory`), and it
    starts its own pools (a sensitivity analysis's workers) with the platform's default
    start method (the first of ``get_all_start_methods``), not the spawn it was started
    with, which makes spawn its default."""
    keep_freed_memory()
    multiprocessing.set_start_method(multiprocessing.get_all_start_methods()[0], force=True)


def rng_bound(normals: int, uniforms: int, chunk: int = 1 << 22, seed: int = 0,
              threads: int = 2) -> dict[str, float]:
    """Wall and CPU seconds to draw ``normals`` standard normals and ``uniforms`` uniforms
    into preallocated arrays and nothing else, on ``threads`` threads at once (each its own
    generator and its share of the numbers: perfsim's numpy engine computes a year in one
    thread while it draws the next in a second; the generators release the GIL)."""
    def draw(k: int) -> None:
        g = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(k,))))
        buf = np.empty(chunk)
        for total, fill in ((normals, g.standard_normal), (uniforms, g.random)):
            count = total // threads + (k < total % threads)
            while count > 0:
                n = min(count, chunk)
                fill(out=buf[:n])
                count -= n

    workers = [threading.Thread(target=draw, args=(k,)) for k in range(threads)]
    with Clock() as clock:
        for w in workers:
            w.start()
        for w in workers:
            w.join()
    return {"wall": clock.wall, "cpu": clock.cpu}


def time_full_process(projects: int = 3468, replications: int = 1000, years: int = 5, *,
                      engine: str = "numpy", workers: int | None = None,
                      space: str = "attainment", repeats: int = REPEATS) -> dict[str, Any]:
    """The full process in one space against its random-number bound
    (:func:`time_full_processes`)."""
    return time_full_processes(projects, replications, years, engine=engine, workers=workers,
                               spaces=(space,), repeats=repeats)[space]


def time_full_processes(projects: int = 3468, replications: int = 1000, years: int = 5, *,
                        engine: str = "numpy", workers: int | None = None,
                        spaces: Sequence[str] = ("attainment", "measurement"),
                        repeats: int = REPEATS) -> dict[str, dict[str, Any]]:
    """The full process in each space, each run in a fresh process (its peak memory its
    own), against the bound of drawing the same random numbers with the same two threads
    (:func:`rng_bound`), interleaved: ``repeats`` rounds of perfsim and its bound in turns
    (:func:`turns`), space by space. Wall and CPU time (the process's, both threads) and the
    main thread's CPU time; every ratio repeat by repeat, its median with [min, max]."""
    runs: dict[str, dict[str, list[Any]]] = {
        sp: {"wall": [], "cpu": [], "main": [], "bound_wall": [], "bound_cpu": [], "run": []}
        for sp in spaces}
    for k in range(repeats):
        for sp in spaces:
            r = runs[sp]
            for who in turns(k, ("perfsim", "bound")):
                if who == "perfsim":
                    run = _fresh(_full_process, projects, replications, years, engine,
                                 workers, None, sp)
                    r["run"].append(run)
                    for key, clock in (("seconds", "wall"), ("cpu_seconds", "cpu"),
                                       ("main_cpu_seconds", "main")):
                        r[clock].append(run[key])
                else:   # as many numbers as perfsim drew (the same in every round)
                    drawn = r["run"][-1]
                    bound = rng_bound(drawn["normals"], drawn["uniforms"])
                    r["bound_wall"].append(bound["wall"])
                    r["bound_cpu"].append(bound["cpu"])
    cells = projects * replications * years
    out = {}
    for sp, r in runs.items():
        last = r["run"][-1]
        wall, cpu = float(np.median(r["wall"])), float(np.median(r["cpu"]))
        out[sp] = {
            "projects": projects, "indicators": 20, "replications": replications,
            "years": years, "engine": engine, "space": sp, "repeats": repeats,
            "perfsim_s": round(wall, 3), "perfsim_cpu_s": round(cpu, 3),
            "perfsim_main_cpu_s": round(float(np.median(r["main"])), 3),
            "rng_bound_s": round(float(np.median(r["bound_wall"])), 3),
            "rng_bound_cpu_s": round(float(np.median(r["bound_cpu"])), 3),
            **ratios({"wall": r["wall"], "cpu": r["cpu"]},
                     {"wall": r["bound_wall"], "cpu": r["bound_cpu"]},
                     "perfsim_over_rng_bound"),
            "ns_per_cell": round(1e9 * wall / cells, 1),
            "cpu_ns_per_cell": round(1e9 * cpu / cells, 1),
            "peak_rss_mib": round(max(x["peak_rss_mib"] for x in r["run"]), 1),
            "normals": last["normals"], "uniforms": last["uniforms"],
            "misgrading_year1": round(last["misgrading_year1"], 4)}
    return out


def time_import(workbooks: int = 200, seed: int = 1) -> dict[str, Any]:
    """``perfsim import`` (read, score, review, write the CSVs) on ``workbooks`` generated
    training workbooks (:func:`perfsim.forms.generate.write_selfeval`, every layout
    variant), in this process: seconds per workbook and the 1,000 extrapolated."""
    with tempfile.TemporaryDirectory() as d:
        folder, out = Path(d) / "workbooks", Path(d) / "out"
        write_selfeval(folder, workbooks, seed=seed)
        out.mkdir()
        t = time.perf_counter()
        imported = read_paths([folder], progress=False)
        frames = tidy(score_tables(imported.tables, load_levels()), imported.failed)
        write_csvs(frames, out)
        seconds = time.perf_counter() - t
    return {"workbooks": workbooks, "tables": len(imported.tables),
            "leaves": int(len(frames["leaves"])), "seconds": round(seconds, 3),
            "ms_per_workbook": round(1000 * seconds / workbooks, 2),
            "per_1000_workbooks_s": round(1000 * seconds / workbooks, 1)}


#: replications of the imported / flat comparison (a cost per cell: five rounds of each in
#: turn at this size take about as long as one round at 1,000)
IMPORTED_REPLICATIONS = 250


def time_full_process_imported(projects: int = 3468, replications: int = 1000,
                               years: int = 5, workbooks: int = 200,
                               space: str = "attainment", repeats: int = REPEATS
                               ) -> dict[str, Any]:
    """The full process (:data:`FULL_PROCESS_IMPORTED`) on ``workbooks`` generated tables,
    imported and repeated to ``projects`` projects, beside the flat portfolio (20 leaves)
    under the same settings, each in a fresh process, the two in turn ``repeats`` times:
    the ratios are the medians of the rounds' with [min, max] (:func:`ratios`), the seconds
    the medians.

    Both are counted in the same cells, project × replication × year (``ns_per_cell``), the
    unit of every full-process figure; the imported tables hold fewer leaves than the flat
    portfolio's 20 (``leaves_per_project``: the real leaves of the simulated projects, the
    execution item included, padding not), so ``ns_per_leaf`` also sets each against its
    real leaves (entrants, copies of the projects, aside). Wall time, and CPU time (the
    process's, both threads; and its main thread's, the path the year waits on), whose ratios
    hold on a machine that other work shares."""
    with tempfile.TemporaryDirectory() as d:
        folder, out = Path(d) / "workbooks", Path(d) / "imported"
        write_selfeval(folder, workbooks, seed=1)
        out.mkdir()
        imported = read_paths([folder], progress=False)
        write_csvs(tidy(score_tables(imported.tables, load_levels()), imported.failed), out)
        leaves = load_imported(out).cells
        held = leaves.mask.sum(axis=1)[np.arange(projects) % leaves.kind.shape[0]]
        runs: dict[str, dict[str, list[float]]] = {"mine": {}, "flat": {}}
        for k in range(max(1, repeats)):   # interleaved, in turns: imported, flat, flat, …
            for who, tables in turns(k, (("mine", str(out)), ("flat", None))):
                run = _fresh(_full_process, projects, replications, years, "numpy", None,
                             None, space, tables, FULL_PROCESS_IMPORTED)
                for key, clock in (("seconds", "wall"), ("cpu_seconds", "cpu"),
                                   ("main_cpu_seconds", "main"), ("peak_rss_mib", "peak")):
                    runs[who].setdefault(clock, []).append(run[key])
    mine = {k: float(np.median(v)) for k, v in runs["mine"].items()}
    flat = {k: float(np.median(v)) for k, v in runs["flat"].items()}
    cells = projects * replications * years
    per_leaf = replications * years * float(held.sum())   # real leaf cells, imported
    flat_leaves = replications * years * projects * 20.0
    main = spread([a / b for a, b in zip(runs["mine"]["main"], runs["flat"]["main"],
                                         strict=True)])

    return {"projects": projects, "replications": replications, "years": years,
            "space": space, "repeats": max(1, repeats), "tables": int(leaves.kind.shape[0]),
            "padded_leaves": int(leaves.kind.shape[1]),
            "mean_leaves": round(float(leaves.mask.sum(axis=1).mean()), 2),
            "leaves_per_project": round(float(held.mean()), 2),
            "perfsim_s": round(mine["wall"], 3),
            "ns_per_cell": round(1e9 * mine["wall"] / cells, 1),
            "ns_per_leaf": round(1e9 * mine["wall"] / per_leaf, 2),
            "flat_s": round(flat["wall"], 3),
            "flat_ns_per_cell": round(1e9 * flat["wall"] / cells, 1),
            "flat_ns_per_leaf": round(1e9 * flat["wall"] / flat_leaves, 2),
            **ratios(runs["mine"], runs["flat"], "imported_over_flat"),
            "cpu_s": round(mine["cpu"], 3),
            "flat_cpu_s": round(flat["cpu"], 3),
            "main_cpu_s": round(mine["main"], 3),
            "flat_main_cpu_s": round(flat["main"], 3),
            "imported_over_flat_main_cpu": main["median"],
            "imported_over_flat_main_cpu_range": [main["min"], main["max"]],
            "peak_rss_mib": round(mine["peak"], 1),
            "flat_peak_rss_mib": round(flat["peak"], 1)}


def format_imported_bench(b: Mapping[str, Any]) -> str:
    """The imported tables' figures as lines."""
    i, f = b["import"], b["full_process_imported"]
    return "\n".join([
        f"perfsim import: {i['workbooks']} generated workbooks ({i['tables']} tables, "
        f"{i['leaves']:,} leaves) in {i['seconds']:.2f} s: {i['ms_per_workbook']:.1f} ms a "
        f"workbook, {i['per_1000_workbooks_s']:.0f} s for 1,000",
        f"full process on imported tables: {f['projects']:,} projects ({f['tables']} tables "
        f"repeated; {f['mean_leaves']} leaves each on average, padded to "
        f"{f['padded_leaves']}) × {f['replications']:,} replications × {f['years']} years, "
        f"{f['space']} space",
        f"  imported                {f['perfsim_s']:9.3f} s   ({f['ns_per_cell'] / 1000:.2f} µs "
        f"per project × replication × year; peak {f['peak_rss_mib']:.1f} MiB)",
        f"  flat, 20 leaves         {f['flat_s']:9.3f} s   ({f['flat_ns_per_cell'] / 1000:.2f} "
        f"µs; peak {f['flat_peak_rss_mib']:.1f} MiB)",
        f"  imported / flat         {f['imported_over_flat']:9.2f}     per project × "
        f"replication × year (CPU {f['imported_over_flat_cpu']:.2f}, main thread "
        f"{f['imported_over_flat_main_cpu']:.2f})",
        f"  per real leaf           {f['ns_per_leaf']:9.1f} ns  imported "
        f"({f['leaves_per_project']} leaves a project), {f['flat_ns_per_leaf']:.1f} ns flat "
        "(20)"])


def time_engines(engines: tuple[str, ...], quick: bool = False) -> dict[str, Any]:
    """Each engine on the same process (3,468 projects, 512 replications, 2 years; a tenth
    with ``quick``) and on a 32-replication year (what the engine costs per task)."""
    out: dict[str, Any] = {}
    reps = 64 if quick else 512
    for name in engines:
        workers = None if name == "numpy" else 2
        big = _full_process(3468, reps, 2, name, workers)
        small = _full_process(3468, 32, 1, name, workers)
        out[f"{name}_s"] = round(big["seconds"], 3)
        out[f"{name}_32_replications_s"] = round(small["seconds"], 3)
    out["replications"], out["years"], out["projects"] = reps, 2, 3468
    return out


def time_scaling(quick: bool = False) -> list[dict[str, Any]]:
    """Projects × replications of the full process over 5 years (2 with ``quick``)."""
    rows = []
    years = 2 if quick else 5
    reps = (50, 200) if quick else (250, 1000, 4000)
    for projects in (867, 3468, 13872):
        for r in reps:
            run = _fresh(_full_process, projects, r, years, "numpy", None)
            rows.append({"projects": projects, "replications": r, "years": years,
                         "perfsim_s": round(run["seconds"], 2),
                         "ns_per_cell": round(1e9 * run["seconds"] / (projects * r * years), 1),
                         "peak_rss_mib": round(run["peak_rss_mib"], 1)})
    return rows


#: the portfolio and run whose peak memory the bench records (the issue's largest: 13,872
#: projects × 4,000 replications × 5 years, both spaces)
PEAK_SIZE = {"projects": 13872, "replications": 4000, "years": 5}


def time_peak_memory(quick: bool = False, spaces: Sequence[str] = ("measurement", "attainment")
                     ) -> dict[str, Any]:
    """Peak resident memory of the full process at :data:`PEAK_SIZE` (a tenth of the
    replications with ``quick``), each space once in a fresh process set up as the command's
    (its peak its own), with its wall and CPU seconds."""
    size = {**PEAK_SIZE, "replications": PEAK_SIZE["replications"] // (10 if quick else 1)}
    out: dict[str, Any] = dict(size)
    for sp in spaces:
        run = _fresh(_full_process, size["projects"], size["replications"], size["years"],
                     "numpy", None, None, sp)
        out[sp] = {"peak_rss_mib": round(run["peak_rss_mib"], 1),
                   "seconds": round(run["seconds"], 1),
                   "cpu_seconds": round(run["cpu_seconds"], 1)}
    return out


def run_bench(quick: bool = False, engines: tuple[str, ...] = ("numpy", "processes", "dask"),
              scaling: bool = False, repeats: int = REPEATS) -> dict[str, Any]:
    """All benchmark figures as one dict (printed as a table or JSON by the CLI); the app's
    are added by the command line (the app sits above this module)."""
    scale = 10 if quick else 1
    spaces = time_full_processes(replications=1000 // scale, repeats=repeats)
    out = {
        **machine(), "cpu_count": os.cpu_count(), "quick": quick, "repeats": repeats,
        "one_year": time_one_year(replications=LIUPANSHUI["replications"] // scale,
                                  repeats=repeats),
        "full_process": spaces["attainment"],
        "full_process_measurement": spaces["measurement"],
        "engines": time_engines(engines, quick),
        "import": time_import(20 if quick else 200),
        "full_process_imported": time_full_process_imported(
            replications=IMPORTED_REPLICATIONS // scale, repeats=repeats),
        "sensitivity": time_sensitivities(128 if quick else 1024, repeats),
        "peak_memory": time_peak_memory(quick),
    }
    if scaling:
        out["scaling"] = time_scaling(quick)
    return out


def _x(b: Mapping[str, Any], name: str) -> str:
    """A ratio in wall and CPU time, medians with [min, max]."""
    w, c = b[f"{name}_range"], b[f"{name}_cpu_range"]
    return (f"wall {b[name]:.2f} [{w[0]:.2f}, {w[1]:.2f}], CPU {b[f'{name}_cpu']:.2f} "
            f"[{c[0]:.2f}, {c[1]:.2f}]")


def _full_lines(f: Mapping[str, Any], title: str) -> list[str]:
    return [
        f"{title}: {f['projects']:,} projects × {f['indicators']} leaves × "
        f"{f['replications']:,} replications × {f['years']} years, {f['engine']} engine, "
        f"{f['space']} space (median of {f['repeats']})",
        f"  perfsim                 {f['perfsim_s']:9.3f} s   CPU {f['perfsim_cpu_s']:.3f} s "
        f"(main thread {f['perfsim_main_cpu_s']:.3f} s); {f['ns_per_cell'] / 1000:.2f} µs per "
        "project × replication × year",
        f"  random-number bound     {f['rng_bound_s']:9.3f} s   CPU {f['rng_bound_cpu_s']:.3f} s "
        f"({f['normals']:,} normals and {f['uniforms']:,} uniforms, two threads)",
        f"  perfsim / bound         {_x(f, 'perfsim_over_rng_bound')}  (target <= 2.0)",
        f"  peak memory             {f['peak_rss_mib']:9.1f} MiB (its own process)"]


def format_bench(b: dict[str, Any]) -> str:
    o, e = b["one_year"], b["engines"]
    lines = [
        f"one year of scoring + grading + linkage: {o['projects']:,} projects × "
        f"{o['indicators']} indicators × {o['replications']:,} replications "
        f"(chunks of {o['chunk']}; median of {o['repeats']}, interleaved)",
        f"  perfsim                 {o['perfsim_s']:9.3f} s   ({o['ns_per_cell']} ns per project "
        "× replication)",
        f"  numpy bound             {o['bound_s']:9.3f} s   perfsim / bound: "
        f"{_x(o, 'perfsim_over_bound')}  (target <= 1.1)",
        f"  pandas, vectorised      {o['pandas_vectorised_s']:9.3f} s   pandas / perfsim: "
        f"{_x(o, 'pandas_over_perfsim')} (DataFrame.dot, pd.cut, map, no copies)",
        f"  pandas, row by row      {o['pandas_rowwise_s_extrapolated']:9.1f} s   (the naive "
        "DataFrame.apply, one replication timed and extrapolated)",
        "",
        *_full_lines(b["full_process"], "full process"),
        *([""] + _full_lines(b["full_process_measurement"], "full process")
          if "full_process_measurement" in b else []),
        "",
        f"engines ({e['projects']:,} projects × {e['replications']} replications × "
        f"{e['years']} years; a 32-replication year):",
    ]
    for k, v in e.items():
        if k.endswith("_s") and not k.endswith("_32_replications_s"):
            name = k[:-2]
            lines.append(f"  {name:12s} {v:8.2f} s   32 replications: "
                         f"{e[f'{name}_32_replications_s']:.2f} s")
    if "import" in b:
        lines += ["", format_imported_bench(b)]
    if "sensitivity" in b:
        lines += ["", format_sensitivity_bench(b["sensitivity"])]
    if "peak_memory" in b:
        m = b["peak_memory"]
        lines += ["", f"peak memory, full process at {m['projects']:,} projects × "
                  f"{m['replications']:,} replications × {m['years']} years (one fresh process "
                  "each):"]
        lines += [f"  {sp:12s} {m[sp]['peak_rss_mib']:8,.0f} MiB   ({m[sp]['seconds']:.0f} s "
                  f"wall, {m[sp]['cpu_seconds']:.0f} s CPU)"
                  for sp in ("measurement", "attainment") if sp in m]
    if "scaling" in b:
        lines += ["", "scaling (full process; ns per project × replication × year):"]
        df = pd.DataFrame(b["scaling"])
        lines += ["  " + ln for ln in df.to_string(index=False).splitlines()]
    if "app" in b:
        lines += ["", format_app_bench(b["app"])]
    lines.append(f"({b['cpu_count']} cores; {b.get('machine', '')}; {b.get('date', '')})")
    return "\n".join(lines)


# --- the what-if app ---------------------------------------------------------------------------

def time_app(calls: Mapping[str, Callable[[int], Any]], repeats: int = 21) -> dict[str, Any]:
    """Median seconds of each call over ``repeats`` changes (after one warm-up), the changes
    alternating between two settings. ``calls`` (from :func:`perfsim.app.compute.bench_calls`,
    passed in by the command line: the app sits above this module) holds ``update`` (one
    change on the page: the scenario changed, one year, the spot-check Monte Carlo and the
    page's tables), ``update_one_year`` (the same without the Monte Carlo) and ``run_year``
    (the bound: the bare one-year run of the same changed scenario). The calls are
    interleaved, change by change; wall and CPU time, the ratio of the page without the Monte
    Carlo to its bound change by change (median [min, max])."""
    out: dict[str, Any] = {}
    runs: dict[str, dict[str, list[float]]] = {n: {"wall": [], "cpu": []} for n in calls}
    for call in calls.values():
        call(0)
    for k in range(repeats):
        for name, call in turns(k, list(calls.items())):
            with Clock() as clock:
                call(k + 1)
            runs[name]["wall"].append(clock.wall)
            runs[name]["cpu"].append(clock.cpu)
    for name, r in runs.items():
        for clock, tail in (("wall", ""), ("cpu", "_cpu")):
            v = spread(r[clock], 4)
            out[f"{name}{tail}_s"] = v["median"]
            out[f"{name}{tail}_s_range"] = [v["min"], v["max"]]
    if "update_one_year" in runs and "run_year" in runs:
        out.update(ratios(runs["update_one_year"], runs["run_year"], "one_year_over_bound"))
    out["repeats"] = repeats
    return out


def format_app_bench(a: Mapping[str, Any]) -> str:
    return "\n".join([
        f"what-if app, one change at Liupanshui scale (3,468 projects; median of {a['repeats']}):",
        f"  page update             {a['update_s']:9.3f} s   CPU {a['update_cpu_s']:.3f} s (one "
        "year, the spot-check Monte Carlo, the page's tables)",
        f"  without the Monte Carlo {a['update_one_year_s']:9.3f} s   page / bound: "
        f"{_x(a, 'one_year_over_bound')}",
        f"  bound: run_year         {a['run_year_s']:9.3f} s   (the bare one-year run of the "
        "same changed scenario)",
        f"  (page update [min, max] {a['update_s_range'][0]:.3f}–{a['update_s_range'][1]:.3f} s; "
        "target <= 0.15 s)",
    ])


def sensitivity_scenario() -> Scenario:
    """Liupanshui scale with measurements (``datasets/scenarios/weighting_comparison.yaml``:
    3,468 projects, 16 leaves scored by their rules in measurement space)."""
    return load_scenario(DATASETS / "scenarios" / "weighting_comparison.yaml")


#: the six design parameters the Sobol bench samples
SENSITIVITY_PARAMS = (
    {"name": "linkage.ratio", "bounds": [0.10, 0.20]},
    {"name": "grading.cutoffs.excellent", "bounds": [85, 95]},
    {"name": "grading.cutoffs.fair", "bounds": [55, 70]},
    {"name": "simulation.spot_check.share", "bounds": [0.0, 0.5]},
    {"name": "simulation.self_evaluation.inflation_mean", "bounds": [0.0, 0.1]},
    {"name": "simulation.self_evaluation.noise", "bounds": [0.01, 0.1]})


def time_sensitivity(n: int = 1024, seed: int = 2022) -> dict[str, Any]:
    """Time a Sobol analysis (first and total order) of 6 design parameters
    (:data:`SENSITIVITY_PARAMS`) with ``n`` base samples on the measured portfolio
    (:func:`sensitivity_scenario`) — ``n × 8`` model evaluations through
    :func:`perfsim.run.sensitivity.evaluate_samples` — wall and CPU time, this process's
    peak memory (run it in a fresh one: :func:`_fresh`), and the share of SALib's own work
    (sampling and analysis, timed again on the same outputs with the model's outputs
    given)."""
    scenario = sensitivity_scenario()
    params = [dict(p) for p in SENSITIVITY_PARAMS]
    with Clock() as clock:
        res = sobol(scenario, params, n, seed=seed, settings=Settings())
    with Clock() as salib:
        run_sobol(lambda X: res.Y, problem(_specs_of(scenario, params)), n, DEFAULT_METRICS,
                  seed=seed)
    return {"method": "sobol", "parameters": len(params), "n": n,
            "evaluations": res.evaluations, "projects": scenario.portfolio.n_projects,
            "leaves": int(scenario.system.points.size), "metrics": list(res.metrics),
            "scenario": scenario.name,
            "seconds": round(clock.wall, 2), "cpu_seconds": round(clock.cpu, 2),
            "peak_rss_mib": round(peak_rss_mib(), 1),
            "workers": pool_workers(None, 2, res.evaluations * chunk_cells(scenario)),
            # the largest worker's peak (Linux reports children's peak RSS in KiB)
            "workers_peak_rss_mib": round(
                resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1),
            "salib_share": round(salib.cpu / clock.cpu, 4) if clock.cpu else None,
            "cpu_count": os.cpu_count()}


def time_sensitivities(n: int = 1024, repeats: int = REPEATS, seed: int = 2022
                       ) -> dict[str, Any]:
    """:func:`time_sensitivity` ``repeats`` times, each in a fresh process (:func:`_fresh`):
    the median wall and CPU time with their [min, max] (``seconds_range``,
    ``cpu_seconds_range``), the largest peaks, SALib's median share."""
    runs = [_fresh(time_sensitivity, n, seed) for _ in range(max(1, repeats))]
    wall, cpu = spread([r["seconds"] for r in runs], 2), spread([r["cpu_seconds"] for r in runs],
                                                               2)
    shares = [r["salib_share"] for r in runs if r["salib_share"] is not None]
    return {**runs[-1], "repeats": len(runs),
            "seconds": wall["median"], "seconds_range": [wall["min"], wall["max"]],
            "cpu_seconds": cpu["median"], "cpu_seconds_range": [cpu["min"], cpu["max"]],
            "peak_rss_mib": max(r["peak_rss_mib"] for r in runs),
            "workers_peak_rss_mib": max(r["workers_peak_rss_mib"] for r in runs),
            "salib_share": round(float(np.median(shares)), 4) if shares else None}


def _specs_of(scenario: Scenario, params: list[dict[str, Any]]) -> Any:
    return params_from_list(scenario, params)


def _seconds(b: Mapping[str, Any], key: str) -> str:
    """``key`` seconds, with their [min–max] where the JSON holds them (``key_range``)."""
    got = b.get(key, float("nan"))
    span = b.get(f"{key}_range")
    return f"{got:.1f} s" + (f" [{span[0]:.1f}–{span[1]:.1f}]" if span else "")


def format_sensitivity_bench(b: dict[str, Any]) -> str:
    many = f", median of {b['repeats']}" if b.get("repeats", 1) > 1 else ""
    return (f"Sobol sensitivity: {b['parameters']} parameters, N = {b['n']:,} "
            f"({b['evaluations']:,} evaluations of {b['projects']:,} projects × {b['leaves']} "
            f"measured leaves, {len(b['metrics'])} metrics; {b.get('scenario', '')}{many}): "
            f"{_seconds(b, 'seconds')} wall, {_seconds(b, 'cpu_seconds')} CPU, "
            f"peak {b.get('peak_rss_mib', float('nan')):.0f} MiB "
            f"({b.get('workers', 1)} workers, the largest "
            f"{b.get('workers_peak_rss_mib', float('nan')):.0f} MiB), SALib "
            f"{100 * (b.get('salib_share') or 0):.1f}% (target <= 5 s wall; "
            f"{b['cpu_count']} cores)")


def time_notebooks(quick: bool = False, workers: Sequence[int] = (1, 2)) -> dict[str, Any]:
    """``perfsim bench --notebooks``: time the whole notebook suite with default parameters,
    and a sweep of 8 runs of notebook 02 (default parameters, 8 seeds) with each number of
    ``workers``; the speed-up is relative to the first. ``quick``: no suite, and a sweep of 4
    runs with 32 replications."""
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


def format_notebooks_bench(result: Mapping[str, Any]) -> str:
    lines = [f"perfsim notebooks bench: {result['cpus']} CPUs, kernel {result['kernel']}"]
    if "suite_s" in result:
        lines.append(f"whole suite, default parameters: {result['suite_s']:.1f} s")
        for name, seconds in result["suite_run_s"].items():
            lines.append(f"  {name}: {seconds} s ({result['suite_runs'][name]})")
    for w, t in result["sweep_s"].items():
        lines.append(f"sweep of {result['sweep_runs']} runs, {w} worker(s): {t:.1f} s "
                     f"(speed-up {result['sweep_speedup'][w]:.2f}x)")
    return "\n".join(lines)


# --- the performance table of the documentation ------------------------------------------------

def read_bench_json(path: str | Path) -> dict[str, Any]:
    """The JSON of an earlier ``perfsim bench --json`` (a mapping), or one
    :class:`~perfsim.errors.InputError` naming the file."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        raise InputError(path, problem="file not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InputError(path, problem=f"not the JSON of perfsim bench --json ({err})"
                         ) from None
    if not isinstance(data, dict):
        raise InputError(path, problem="not the JSON of perfsim bench --json")
    return data


#: what a key the bench's JSON lacks is told (:func:`bench_table` with ``complete=True``,
#: :func:`recheck`)
MISSING = "missing from the JSON of perfsim bench --json"


class _Reads(Mapping[str, Any]):
    """A bench JSON as a reader sees it: every key asked for and not found (``[]``, ``get``,
    ``in``: each goes through ``__getitem__``) is recorded by its dotted path in ``missing``."""

    def __init__(self, data: Mapping[str, Any], missing: list[str], path: str = "") -> None:
        self._data, self._missing, self._path = data, missing, path

    def __getitem__(self, key: str) -> Any:
        try:
            value = self._data[key]
        except KeyError:
            self._missing.append(self._path + key)
            raise
        if isinstance(value, Mapping):
            return _Reads(value, self._missing, f"{self._path}{key}.")
        return value

    def __iter__(self) -> Any:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


def bench_table(b: Mapping[str, Any], complete: bool = False) -> str:
    """The documentation's performance table, in markdown, from ``perfsim bench --json``
    (or any of its parts): each figure with its bound and the ratio in wall and CPU time
    (medians [min, max] of interleaved repeats), the date and the machine.

    ``complete``: every key the table reads must be in ``b`` (the JSON of a whole
    ``perfsim bench --json``, as the documentation's table is made from): otherwise an
    :class:`~perfsim.errors.InputError` whose field is the first key missing (dotted:
    ``app.update_cpu_s``); without it a part left out is not shown (a part present without a
    key its row needs is still that error)."""
    missing: list[str] = []
    try:
        text = _table(_Reads(b, missing))
    except KeyError:  # a part of the JSON without a key its row needs
        raise InputError(field=missing[-1], problem=MISSING) from None
    except (TypeError, ValueError, IndexError) as err:  # a figure that is not a number
        raise InputError(problem=f"not the JSON of perfsim bench --json ({err})") from None
    if complete and missing:
        raise InputError(field=missing[0], problem=MISSING)
    return text



def _table(b: Mapping[str, Any]) -> str:
    """The table of :func:`bench_table`."""
    def rng(x: Mapping[str, Any], name: str) -> str:
        if f"{name}_cpu_range" not in x:
            return f"{x[name]:.2f}" if name in x else "—"
        w, c = x[f"{name}_range"], x[f"{name}_cpu_range"]
        return (f"{x[name]:.2f} [{w[0]:.2f}–{w[1]:.2f}] wall, {x[f'{name}_cpu']:.2f} "
                f"[{c[0]:.2f}–{c[1]:.2f}] CPU")

    rows = ["| measurement | perfsim | bound / reference | ratio (median [min–max]) | "
            "target |", "|---|---|---|---|---|"]
    o = b.get("one_year")
    if o:
        rows.append(f"| one year, {o['projects']:,} projects × {o['indicators']} leaves × "
                    f"{o['replications']:,} replications | {o['perfsim_s']:.3f} s wall, "
                    f"{o['perfsim_cpu_s']:.3f} s CPU | numpy bound {o['bound_s']:.3f} s | "
                    f"{rng(o, 'perfsim_over_bound')} | ≤ 1.1 |")
        if "pandas_vectorised_s" in o:
            rows.append(f"| same, idiomatic pandas (no copies) | | "
                        f"{o['pandas_vectorised_s']:.3f} s | pandas / perfsim "
                        f"{rng(o, 'pandas_over_perfsim')} | |")
        if "pandas_rowwise_s_extrapolated" in o:
            rows.append(f"| same, pandas row by row (`DataFrame.apply`; one replication "
                        f"timed, extrapolated) | | {o['pandas_rowwise_s_extrapolated']:,.0f} s "
                        "| | |")
    for key, target in (("full_process", "1.5"), ("full_process_measurement", "2.0")):
        f = b.get(key)
        if f:
            rows.append(f"| full process, {f['space']} space, {f['projects']:,} × "
                        f"{f['indicators']} × {f['replications']:,} × {f['years']} years | "
                        f"{f['perfsim_s']:.2f} s wall, {f['perfsim_cpu_s']:.2f} s CPU, of "
                        f"which the main thread {f['perfsim_main_cpu_s']:.2f} s "
                        f"({f['ns_per_cell'] / 1000:.2f} µs a cell), peak "
                        f"{f['peak_rss_mib']:.0f} MiB | RNG bound {f['rng_bound_s']:.2f} s "
                        f"wall, {f['rng_bound_cpu_s']:.2f} s CPU (two threads) | "
                        f"{rng(f, 'perfsim_over_rng_bound')} | ≤ {target} (CPU) |")
    e = b.get("engines")
    if e:
        names = [k[:-2] for k in e if k.endswith("_s") and not k.endswith("_32_replications_s")]
        rows.append(f"| engines, {e['projects']:,} × {e['replications']:,} × {e['years']} "
                    "years | " + ", ".join(f"{n} {e[f'{n}_s']:.2f} s" for n in names)
                    + " | a 32-replication year: " + ", ".join(
                        f"{n} {e[f'{n}_32_replications_s']:.2f} s" for n in names)
                    + " | | |")
    s = b.get("sensitivity")
    if s:
        share = s.get("salib_share")
        rows.append(f"| Sobol, {s['parameters']} parameters, N = {s['n']:,} "
                    f"({s['evaluations']:,} evaluations, {s['projects']:,} projects) | "
                    f"{_seconds(s, 'seconds')} wall, {_seconds(s, 'cpu_seconds')} CPU"
                    + (f" (median of {s['repeats']})" if s.get("repeats", 1) > 1 else "")
                    + f", peak {s.get('peak_rss_mib', float('nan')):.0f} MiB | | SALib "
                    f"{'—' if share is None else f'{100 * share:.1f}%'} of the CPU | ≤ 5 s wall at "
                    "N = 1,024 |")
    i = b.get("import")
    if i:
        rows.append(f"| perfsim import, {i['workbooks']} generated workbooks | "
                    f"{i['ms_per_workbook']:.1f} ms a workbook | | "
                    f"{i['per_1000_workbooks_s']:.0f} s for 1,000 | |")
    f = b.get("full_process_imported")
    if f:
        rows.append(f"| full process on imported tables ({f['space']} space), "
                    f"{f['projects']:,} × {f['replications']:,} × {f['years']} | "
                    f"{f['perfsim_s']:.2f} s wall, {f['cpu_s']:.2f} s CPU | flat 20 leaves "
                    f"{f['flat_s']:.2f} s | imported / flat {f['imported_over_flat']:.2f} "
                    f"wall, {f['imported_over_flat_cpu']:.2f} CPU"
                    + (f", {f['imported_over_flat_main_cpu']:.2f} main-thread CPU"
                       if "imported_over_flat_main_cpu" in f else "") + " | 1.0 ± 10% |")
    m = b.get("peak_memory")
    if m:
        rows.append(f"| peak memory, full process, {m['projects']:,} × "
                    f"{m['replications']:,} × {m['years']} years, one fresh process each | "
                    f"measurement space {m['measurement']['peak_rss_mib']:,.0f} MiB "
                    f"({m['measurement']['seconds']:.0f} s wall), attainment space "
                    f"{m['attainment']['peak_rss_mib']:,.0f} MiB "
                    f"({m['attainment']['seconds']:.0f} s wall) | | | < 2 GiB |")
    a = b.get("app")
    if a:
        w = a.get("update_s_range", [a["update_s"]] * 2)
        cpu = f", {a['update_cpu_s']:.3f} s CPU" if "update_cpu_s" in a else ""
        rows.append(f"| what-if app, one change at 3,468 projects | {a['update_s']:.3f} s "
                    f"[{w[0]:.3f}–{w[1]:.3f}] wall{cpu} (median of {a['repeats']}) | "
                    f"run_year {a['run_year_s']:.3f} s | page without the Monte Carlo / "
                    f"run_year {rng(a, 'one_year_over_bound')} | ≤ 0.15 s |")
    where = b.get("machine") or f"{b.get('cpu_count', '?')} cores"
    quick = " (`--quick`: a tenth of the work)" if b.get("quick") else ""
    head = f"Measured {b.get('date', '(date not recorded)')} on {where}{quick}."
    return head + "\n\n" + "\n".join(rows) + "\n"


# --- the self-check: the ratios measured again --------------------------------------------------

#: how far a ratio measured again may lie from the JSON's and still agree: a share of the JSON's
RECHECK_TOLERANCE = 0.10

#: the ratios of the comparisons a bench JSON records (medians of interleaved repeats, in wall
#: and CPU time), by part; :func:`recheck` measures them again
RATIOS: dict[str, tuple[str, ...]] = {
    "one_year": ("perfsim_over_bound", "perfsim_over_bound_cpu", "pandas_over_perfsim",
                 "pandas_over_perfsim_cpu"),
    "full_process": ("perfsim_over_rng_bound", "perfsim_over_rng_bound_cpu"),
    "full_process_measurement": ("perfsim_over_rng_bound", "perfsim_over_rng_bound_cpu"),
    "full_process_imported": ("imported_over_flat", "imported_over_flat_cpu",
                              "imported_over_flat_main_cpu"),
    "app": ("one_year_over_bound", "one_year_over_bound_cpu"),
}


def agrees(old: float, new: float, tolerance: float = RECHECK_TOLERANCE) -> bool:
    """Whether ``new`` lies within ``tolerance`` (a share) of ``old``:
    ``|new − old| ≤ tolerance × |old|``, the bound itself included (to a billionth: 1.00 and
    1.10 agree within 10%)."""
    return abs(new - old) <= tolerance * abs(old) + 1e-9


def compare_ratios(old: Mapping[str, Any], new: Mapping[str, Any],
                   tolerance: float = RECHECK_TOLERANCE) -> list[dict[str, Any]]:
    """Each ratio of :data:`RATIOS` that both bench JSONs hold, ``old`` against ``new``, in
    the order of :data:`RATIOS`: its dotted key (``one_year.perfsim_over_bound``),
    its ``clock`` (``cpu`` for the ratios of CPU times, ``…_cpu``; else ``wall``), both values,
    ``change`` (new / old − 1) and whether they agree within ``tolerance``
    (:func:`agrees`)."""
    rows = []
    for part, names in RATIOS.items():
        a, b = old.get(part), new.get(part)
        if not isinstance(a, Mapping) or not isinstance(b, Mapping):
            continue
        for name in names:
            if name in a and name in b:
                x, y = float(a[name]), float(b[name])
                rows.append({"ratio": f"{part}.{name}",
                             "clock": "cpu" if name.endswith("_cpu") else "wall",
                             "old": x, "new": y, "change": y / x - 1.0,
                             "agrees": agrees(x, y, tolerance)})
    return rows


def _number(part: Mapping[str, Any], name: str, key: str, whole: bool = False) -> Any:
    """``part[key]`` checked: a number above 0 (``whole``: a whole number ≥ 1); the error's
    field is its dotted path ``name.key``."""
    if key not in part:
        raise InputError(field=f"{name}.{key}", problem=MISSING)
    v = part[key]
    if whole:
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise InputError(field=f"{name}.{key}", value=v,
                             problem="must be a whole number >= 1")
    elif (isinstance(v, bool) or not isinstance(v, int | float) or not np.isfinite(v)
          or v <= 0):
        raise InputError(field=f"{name}.{key}", value=v, problem="must be a number > 0")
    return v


def _choice(part: Mapping[str, Any], name: str, key: str, allowed: Sequence[str]) -> str:
    if key not in part:
        raise InputError(field=f"{name}.{key}", problem=MISSING)
    if part[key] not in allowed:
        raise InputError(field=f"{name}.{key}", value=part[key],
                         problem=f"must be one of {', '.join(allowed)}")
    return part[key]


def recheck_plan(b: Mapping[str, Any], *, app: bool = True,
                 repeats: int | None = None) -> dict[str, dict[str, Any]]:
    """What :func:`recheck` measures again, checked before anything is timed: for each part
    of :data:`RATIOS` that ``b`` holds (``app``: the what-if page's too), the arguments of
    the function that measured it, read from ``b`` (sizes, engine, space and rounds;
    ``repeats`` replaces the rounds); every recorded ratio a number above 0. An
    :class:`~perfsim.errors.InputError` names the first key missing or wrong."""
    plan: dict[str, dict[str, Any]] = {}
    for name in RATIOS:
        part = b.get(name)
        if part is None or (name == "app" and not app):
            continue
        if not isinstance(part, Mapping):
            raise InputError(field=name, value=part, problem="must be a mapping")
        held = [r for r in RATIOS[name] if r in part]
        if not held:
            raise InputError(field=f"{name}.{RATIOS[name][0]}", problem=MISSING)
        for r in held:
            _number(part, name, r)
        rounds = repeats if repeats is not None else (
            _number(part, name, "repeats", True) if name != "full_process_imported"
            or "repeats" in part else None)
        if name == "one_year":
            plan[name] = {k: _number(part, name, k, True)
                          for k in ("projects", "indicators", "replications", "chunk")}
        elif name == "app":
            plan[name] = {}
        else:
            plan[name] = {k: _number(part, name, k, True)
                          for k in ("projects", "replications", "years")}
            plan[name]["space"] = _choice(part, name, "space", ("attainment", "measurement"))
            if name != "full_process_imported":
                plan[name]["engine"] = _choice(part, name, "engine",
                                               ("numpy", "processes", "dask"))
        if rounds is not None:
            plan[name]["repeats"] = rounds
    if not plan:
        raise InputError(problem="holds no ratio to measure again (the parts "
                                 f"{', '.join(RATIOS)} are all absent)")
    return plan


def recheck(b: Mapping[str, Any], *, app_calls: Mapping[str, Callable[[int], Any]] | None = None,
            repeats: int | None = None,
            tolerance: float = RECHECK_TOLERANCE) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The self-check of a bench JSON ``b``: the ratios of its comparisons (:data:`RATIOS`)
    measured again now, interleaved as the bench measures them, by the bench's own functions
    (:func:`time_one_year`, :func:`time_full_processes`, :func:`time_full_process_imported`,
    :func:`time_app` with ``app_calls``; without them the page's ratio is not measured) at the
    sizes and rounds ``b`` records (:func:`recheck_plan`). The new figures (with the date and
    the machine) and each ratio old against new (:func:`compare_ratios`)."""
    plan = recheck_plan(b, app=app_calls is not None, repeats=repeats)
    new: dict[str, Any] = {**machine(), "cpu_count": os.cpu_count()}
    if "one_year" in plan:
        new["one_year"] = time_one_year(**plan["one_year"])
    spaces = [n for n in ("full_process", "full_process_measurement") if n in plan]
    same = {k: v for k, v in plan[spaces[0]].items() if k != "space"} if spaces else {}
    if len(spaces) == 2 and {k: v for k, v in plan[spaces[1]].items() if k != "space"} != same:
        for n in spaces:  # measured at different sizes: each on its own
            args = dict(plan[n])
            space = args.pop("space")
            new[n] = time_full_processes(**args, spaces=(space,))[space]
    elif spaces:
        measured = time_full_processes(**same, spaces=tuple(plan[n]["space"] for n in spaces))
        for n in spaces:
            new[n] = measured[plan[n]["space"]]
    if "full_process_imported" in plan:
        new["full_process_imported"] = time_full_process_imported(
            **plan["full_process_imported"])
    if "app" in plan and app_calls is not None:
        new["app"] = time_app(app_calls, **plan["app"])
    return new, compare_ratios(b, new, tolerance)


def format_recheck(rows: Sequence[Mapping[str, Any]], tolerance: float = RECHECK_TOLERANCE
                   ) -> str:
    """Each ratio, the JSON's against the one measured again, its change and whether it
    agrees, and a last line that counts those that do not, in wall and in CPU time (wall-time
    ratios move with other work on the machine)."""
    width = max(len(r["ratio"]) for r in rows)
    lines = [f"{'ratio':{width}s}   recorded  measured again  change  within "
             f"{100 * tolerance:.0f}%"]
    for r in rows:
        lines.append(f"{r['ratio']:{width}s}   {r['old']:8.3f}  {r['new']:14.3f}  "
                     f"{100 * r['change']:+5.1f}%  {'agrees' if r['agrees'] else 'DIFFERS'}")
    off = sum(not r["agrees"] for r in rows)
    if not off:
        lines.append(f"all {len(rows)} ratios agree within {100 * tolerance:.0f}%")
    else:
        clocks = [(name, [r for r in rows if r["clock"] == clock])
                  for clock, name in (("wall", "wall time"), ("cpu", "CPU time"))]
        lines.append(f"{off} of {len(rows)} ratios differ by more than {100 * tolerance:.0f}% ("
                     + ", ".join(f"{name}: {sum(not r['agrees'] for r in these)} of "
                                 f"{len(these)}" for name, these in clocks if these) + ")")
    return "\n".join(lines)
