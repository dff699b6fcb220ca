"""``perfsim bench``: measured speed, never asserted in tests.

Every figure is set against an honest bound measured in the same run:

1. **One year of scoring + grading + linkage** on attainments (replications, projects,
   indicators) in chunks: perfsim's year kernel (:func:`perfsim.kernel.year.evaluate_year`);
   the tightest numpy version of the same outputs (preallocated, in place, three comparisons
   for the grade with the multiplier lookup folded in: ``bound_s``); idiomatic vectorised
   pandas (``DataFrame.dot``, ``pd.cut``, ``map``); and the naive row-wise pandas
   (``DataFrame.apply``, one replication timed and extrapolated). The references are checked
   to give perfsim's next budgets exactly.
2. **The full process**: a five-year Monte Carlo at Liupanshui scale (3,468 projects × 20
   leaves × 1,000 replications) with inflation, spot checks, the gap rule, monitoring, weight
   and ratio uncertainty, entrants and escalation, in a fresh process (for its peak memory),
   against the bound of drawing the same number of random numbers into preallocated arrays.
3. **Engines**: the same process, smaller, on each engine, and the cost of a 32-replication
   run (what an engine adds per task).
4. ``--scaling``: projects × replications, nanoseconds per project × replication × year and
   peak memory of each run.

5. **Imported tables** (``import``, ``full_process_imported``): ``perfsim import`` on
   generated training workbooks (seconds per workbook), and the full process on a portfolio
   of imported tables — each project with its own leaves, padded — beside a flat portfolio
   of the same size under the same settings (weight uncertainty off: an imported table keeps
   its own points), ns per project × replication × year of each and per real leaf (padding
   not counted), wall and CPU time.

``--sensitivity`` times a Sobol analysis and ``--notebooks`` the notebook suite and a sweep;
``--imported`` only the imported tables.
``--app`` (and the full run) times one change on the what-if page against the bare one-year
run of the same changed scenario (:func:`time_app`).
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from perfsim.forms.generate import write_selfeval
from perfsim.forms.read import read_paths
from perfsim.forms.review import tidy, write_csvs
from perfsim.forms.score import score_tables
from perfsim.forms.targets import load_levels
from perfsim.kernel.evaluation import weighted_score
from perfsim.kernel.grading import Grading
from perfsim.kernel.linkage import liupanshui
from perfsim.kernel.year import evaluate_year
from perfsim.model.imported import Cells, ImportedPortfolio, load_imported
from perfsim.model.indicators import load_indicator_system
from perfsim.model.portfolio import DATASETS, generate_portfolio
from perfsim.model.scenario import Scenario
from perfsim.model.settings import Settings, settings_from_dict
from perfsim.notebooks.runner import kernel_name, run_notebooks
from perfsim.notebooks.sweep import read_sweep, run_sweep
from perfsim.run.sensitivity import sobol
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
    """Peak resident memory of this process so far (MiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


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
    """Idiomatic pandas: a frame of leaf attainments, ``dot`` for the score, ``pd.cut`` for
    the grade (left-closed), ``map`` for the multiplier."""
    n, p, i = a.shape
    df = pd.DataFrame(a.reshape(n * p, i))
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
                  chunk: int = 250, seed: int = 0, pandas: bool = True) -> dict[str, Any]:
    """One year of scoring + grading + linkage, perfsim against its bound and pandas."""
    rng = np.random.default_rng(seed)
    points = rng.dirichlet(np.ones(indicators)) * 100.0
    budget = rng.lognormal(14.0, 1.2, projects)
    grading = Grading()
    linkage = liupanshui(0.15)
    table = np.asarray(linkage.rule.multipliers)
    named = dict(zip(grading.labels.codes, table, strict=True))
    bound = _Bound(chunk, projects)
    times = {"perfsim": 0.0, "bound": 0.0, "pandas": 0.0}
    rowwise = None
    done = 0
    while done < replications:
        n = min(chunk, replications - done)
        # attainments around a project-level performance so that every grade occurs
        theta = rng.beta(17.0, 3.0, (n, projects, 1))
        a = np.clip(theta + 0.05 * rng.standard_normal((n, projects, indicators)), 0.0, 1.0)
        t = time.perf_counter()
        nxt = evaluate_year(weighted_score(a, points), budget, grading, linkage).next_budget
        times["perfsim"] += time.perf_counter() - t
        t = time.perf_counter()
        ref = bound(a, points, grading.cutoffs, table, budget)
        times["bound"] += time.perf_counter() - t
        if not np.array_equal(ref, nxt):
            raise AssertionError("perfsim and the numpy bound disagree")
        if pandas:
            t = time.perf_counter()
            pd_nxt = _pandas_vectorised(a, points, budget, named)
            times["pandas"] += time.perf_counter() - t
            if not np.array_equal(pd_nxt, nxt):
                raise AssertionError("perfsim and vectorised pandas disagree")
            if rowwise is None:
                rowwise = _pandas_rowwise(a[0], points, budget, table) * replications
        done += n
    cells = projects * replications
    out = {"projects": projects, "indicators": indicators, "replications": replications,
           "chunk": chunk, "perfsim_s": round(times["perfsim"], 4),
           "bound_s": round(times["bound"], 4),
           "perfsim_over_bound": round(times["perfsim"] / times["bound"], 3),
           "ns_per_cell": round(1e9 * times["perfsim"] / cells, 2)}
    if pandas:
        out.update({"pandas_vectorised_s": round(times["pandas"], 4),
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


def _fresh(fn: Any, *args: Any) -> Any:
    """``fn(*args)`` in a fresh process, so that its peak memory is its own."""
    with ProcessPoolExecutor(max_workers=1,
                             mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


def rng_bound(normals: int, uniforms: int, chunk: int = 1 << 22, seed: int = 0) -> float:
    """Seconds to draw ``normals`` standard normals and ``uniforms`` uniforms into
    preallocated arrays and nothing else (one generator, as perfsim's streams are)."""
    g = np.random.default_rng(seed)
    buf = np.empty(chunk)
    t = time.perf_counter()
    for count, draw in ((normals, g.standard_normal), (uniforms, g.random)):
        while count > 0:
            k = min(count, chunk)
            draw(out=buf[:k])
            count -= k
    return time.perf_counter() - t


def time_full_process(projects: int = 3468, replications: int = 1000, years: int = 5, *,
                      engine: str = "numpy", workers: int | None = None,
                      space: str = "attainment") -> dict[str, Any]:
    """The full process in a fresh process, against its random-number bound."""
    run = _fresh(_full_process, projects, replications, years, engine, workers, None, space)
    bound = rng_bound(run["normals"], run["uniforms"])
    cells = projects * replications * years
    return {"projects": projects, "indicators": 20, "replications": replications,
            "years": years, "engine": engine, "space": space,
            "perfsim_s": round(run["seconds"], 3),
            "rng_bound_s": round(bound, 3),
            "perfsim_over_rng_bound": round(run["seconds"] / bound, 3),
            "ns_per_cell": round(1e9 * run["seconds"] / cells, 1),
            "peak_rss_mib": round(run["peak_rss_mib"], 1),
            "normals": run["normals"], "uniforms": run["uniforms"],
            "misgrading_year1": round(run["misgrading_year1"], 4)}


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


def time_full_process_imported(projects: int = 3468, replications: int = 1000,
                               years: int = 5, workbooks: int = 200,
                               space: str = "attainment") -> dict[str, Any]:
    """The full process (:data:`FULL_PROCESS_IMPORTED`) on ``workbooks`` generated tables,
    imported and repeated to ``projects`` projects, beside the flat portfolio (20 leaves)
    under the same settings, each in a fresh process.

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
        mine = _fresh(_full_process, projects, replications, years, "numpy", None, None,
                      space, str(out), FULL_PROCESS_IMPORTED)
    flat = _fresh(_full_process, projects, replications, years, "numpy", None, None, space,
                  None, FULL_PROCESS_IMPORTED)
    cells = projects * replications * years
    per_leaf = replications * years * float(held.sum())   # real leaf cells, imported
    flat_leaves = replications * years * projects * 20.0

    def ratio(key: str) -> float:
        return round(mine[key] / flat[key], 3)

    return {"projects": projects, "replications": replications, "years": years,
            "space": space, "tables": int(leaves.kind.shape[0]),
            "padded_leaves": int(leaves.kind.shape[1]),
            "mean_leaves": round(float(leaves.mask.sum(axis=1).mean()), 2),
            "leaves_per_project": round(float(held.mean()), 2),
            "perfsim_s": round(mine["seconds"], 3),
            "ns_per_cell": round(1e9 * mine["seconds"] / cells, 1),
            "ns_per_leaf": round(1e9 * mine["seconds"] / per_leaf, 2),
            "flat_s": round(flat["seconds"], 3),
            "flat_ns_per_cell": round(1e9 * flat["seconds"] / cells, 1),
            "flat_ns_per_leaf": round(1e9 * flat["seconds"] / flat_leaves, 2),
            "imported_over_flat": ratio("seconds"),
            "cpu_s": round(mine["cpu_seconds"], 3),
            "flat_cpu_s": round(flat["cpu_seconds"], 3),
            "imported_over_flat_cpu": ratio("cpu_seconds"),
            "main_cpu_s": round(mine["main_cpu_seconds"], 3),
            "flat_main_cpu_s": round(flat["main_cpu_seconds"], 3),
            "imported_over_flat_main_cpu": ratio("main_cpu_seconds"),
            "peak_rss_mib": round(mine["peak_rss_mib"], 1),
            "flat_peak_rss_mib": round(flat["peak_rss_mib"], 1)}


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


def run_bench(quick: bool = False, engines: tuple[str, ...] = ("numpy", "processes", "dask"),
              scaling: bool = False) -> dict[str, Any]:
    """All benchmark figures as one dict (printed as a table or JSON by the CLI)."""
    scale = 10 if quick else 1
    out = {
        "one_year": time_one_year(replications=LIUPANSHUI["replications"] // scale),
        "full_process": time_full_process(replications=1000 // scale),
        "full_process_measurement": time_full_process(replications=1000 // scale,
                                                      space="measurement"),
        "engines": time_engines(engines, quick),
        "import": time_import(20 if quick else 200),
        "full_process_imported": time_full_process_imported(replications=1000 // scale),
        "cpu_count": os.cpu_count(), "quick": quick,
    }
    if scaling:
        out["scaling"] = time_scaling(quick)
    return out


def format_bench(b: dict[str, Any]) -> str:
    o, f, e = b["one_year"], b["full_process"], b["engines"]
    lines = [
        f"one year of scoring + grading + linkage: {o['projects']:,} projects × "
        f"{o['indicators']} indicators × {o['replications']:,} replications "
        f"(chunks of {o['chunk']})",
        f"  perfsim                 {o['perfsim_s']:9.3f} s   ({o['ns_per_cell']} ns per project "
        "× replication)",
        f"  numpy bound             {o['bound_s']:9.3f} s   perfsim / bound = "
        f"{o['perfsim_over_bound']:.2f}  (target <= 1.3)",
        f"  pandas, vectorised      {o['pandas_vectorised_s']:9.3f} s   (DataFrame.dot, pd.cut, "
        "map: the same numbers)",
        f"  pandas, row by row      {o['pandas_rowwise_s_extrapolated']:9.1f} s   (the naive "
        "DataFrame.apply, one replication timed and extrapolated)",
        "",
        f"full process: {f['projects']:,} projects × {f['indicators']} leaves × "
        f"{f['replications']:,} replications × {f['years']} years, {f['engine']} engine",
        f"  perfsim                 {f['perfsim_s']:9.3f} s   ({f['ns_per_cell'] / 1000:.2f} µs "
        "per project × replication × year; target <= 1.2)",
        f"  random-number bound     {f['rng_bound_s']:9.3f} s   ({f['normals']:,} normals and "
        f"{f['uniforms']:,} uniforms into preallocated arrays)",
        f"  perfsim / bound         {f['perfsim_over_rng_bound']:9.2f}     (target <= 2.0)",
        f"  peak memory             {f['peak_rss_mib']:9.1f} MiB (its own process)",
        *_measurement_lines(b),
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
    if "scaling" in b:
        lines += ["", "scaling (full process; ns per project × replication × year):"]
        df = pd.DataFrame(b["scaling"])
        lines += ["  " + ln for ln in df.to_string(index=False).splitlines()]
    if "app" in b:
        lines += ["", format_app_bench(b["app"])]
    lines.append(f"({b['cpu_count']} cores)")
    return "\n".join(lines)


def _measurement_lines(b: Mapping[str, Any]) -> list[str]:
    """The full process in measurement space against attainment space (same run)."""
    m = b.get("full_process_measurement")
    if m is None:
        return []
    f = b["full_process"]
    return [f"  measurement space       {m['perfsim_s']:9.3f} s   (each leaf's measured value "
            f"scored by its rule: {m['perfsim_s'] / f['perfsim_s']:.2f} × attainment space; "
            f"peak {m['peak_rss_mib']:.1f} MiB)"]


# --- the what-if app ---------------------------------------------------------------------------

def time_app(calls: Mapping[str, Callable[[int], Any]], repeats: int = 21) -> dict[str, Any]:
    """Median seconds of each call over ``repeats`` changes (after one warm-up), the changes
    alternating between two settings. ``calls`` (from :func:`perfsim.app.compute.bench_calls`,
    passed in by the command line: the app sits above this module) holds ``update`` (one
    change on the page: the scenario changed, one year, the spot-check Monte Carlo and the
    page's tables), ``update_one_year`` (the same without the Monte Carlo) and ``run_year``
    (the bound: the bare one-year run of the same changed scenario)."""
    out: dict[str, Any] = {}
    for name, call in calls.items():
        call(0)
        times = []
        for k in range(repeats):
            t = time.perf_counter()
            call(k + 1)
            times.append(time.perf_counter() - t)
        out[f"{name}_s"] = round(float(np.median(times)), 4)
    out["one_year_over_bound"] = round(out["update_one_year_s"] / out["run_year_s"], 2)
    out["repeats"] = repeats
    return out


def format_app_bench(a: Mapping[str, Any]) -> str:
    return "\n".join([
        f"what-if app, one change at Liupanshui scale (3,468 projects; median of {a['repeats']}):",
        f"  page update             {a['update_s']:9.3f} s   (one year, the spot-check Monte "
        "Carlo, the page's tables)",
        f"  without the Monte Carlo {a['update_one_year_s']:9.3f} s   (page / bound = "
        f"{a['one_year_over_bound']:.2f})",
        f"  bound: run_year         {a['run_year_s']:9.3f} s   (the bare one-year run of the "
        "same changed scenario)",
    ])


def sensitivity_scenario() -> Scenario:
    """20 measured leaves at Liupanshui scale (the full process's scenario)."""
    return full_process_scenario(3468)


def time_sensitivity(n: int = 1024, seed: int = 2022) -> dict[str, Any]:
    """Time a Sobol analysis (first and total order) of 6 design parameters with ``n`` base
    samples on 3,468 projects with 20 measured leaves — ``n × 8`` model evaluations through
    :func:`perfsim.run.sensitivity.evaluate_samples` in vectorised chunks."""
    scenario = sensitivity_scenario()
    params = [{"name": "linkage.ratio", "bounds": [0.10, 0.20]},
              {"name": "grading.cutoffs.excellent", "bounds": [85, 95]},
              {"name": "grading.cutoffs.fair", "bounds": [55, 70]},
              {"name": "simulation.spot_check.share", "bounds": [0.0, 0.5]},
              {"name": "simulation.self_evaluation.inflation_mean", "bounds": [0.0, 0.1]},
              {"name": "simulation.self_evaluation.noise", "bounds": [0.01, 0.1]}]
    t = time.perf_counter()
    res = sobol(scenario, params, n, seed=seed, settings=Settings())
    return {"method": "sobol", "parameters": len(params), "n": n,
            "evaluations": res.evaluations, "projects": scenario.portfolio.n_projects,
            "leaves": scenario.system.points.size, "metrics": list(res.metrics),
            "seconds": round(time.perf_counter() - t, 2), "cpu_count": os.cpu_count()}


def format_sensitivity_bench(b: dict[str, Any]) -> str:
    return (f"Sobol sensitivity: {b['parameters']} parameters, N = {b['n']:,} "
            f"({b['evaluations']:,} evaluations of {b['projects']:,} projects × {b['leaves']} "
            f"measured leaves, {len(b['metrics'])} metrics): {b['seconds']:.1f} s "
            f"(target < 60 s; {b['cpu_count']} cores)")


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
