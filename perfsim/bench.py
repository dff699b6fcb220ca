"""``perfsim bench``: measured speed, never asserted in tests.

Three measurements:

1. **One year of scoring + grading + linkage** on attainment arrays shaped
   (replications, projects, indicators), chunked to bound memory, timed three ways on the same
   arrays: perfsim's own path (:func:`perfsim.evaluation.weighted_score`,
   :meth:`perfsim.grading.Grading.grade`, :meth:`perfsim.linkage.Linkage.apply`), a bare numpy
   reference (one matmul + searchsorted + multiply), and a row-wise pandas reference
   (``DataFrame.apply`` per project, timed on a sample of replications and extrapolated).
2. **Scaling**: the same at three sizes, to show time linear in projects × replications.
3. **Full process**: a multi-year Monte Carlo with self-evaluation inflation, spot checks, the
   gap rule, monitoring, weight uncertainty, entrants and escalation, per engine.

``--sensitivity`` times a Sobol analysis and ``--notebooks`` the notebook suite and a sweep.
"""

from __future__ import annotations

import os
import resource
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from perfsim.kernel.evaluation import weighted_score
from perfsim.kernel.grading import Grading
from perfsim.kernel.linkage import liupanshui
from perfsim.kernel.year import allocate
from perfsim.model.indicators import load_indicator_system
from perfsim.model.portfolio import DATASETS, generate_portfolio
from perfsim.model.scenario import Scenario, load_scenario
from perfsim.model.settings import settings_from_dict
from perfsim.notebooks.runner import kernel_name, run_notebooks
from perfsim.notebooks.sweep import read_sweep, run_sweep
from perfsim.run.sensitivity import sobol
from perfsim.run.simulate import simulate

LIUPANSHUI = {"projects": 3468, "indicators": 20, "replications": 10_000}


@dataclass(frozen=True)
class Timing:
    projects: int
    indicators: int
    replications: int
    chunk: int
    perfsim_s: float
    numpy_s: float
    pandas_s: float  # extrapolated from the sample
    pandas_sample_replications: int

    def as_dict(self) -> dict[str, Any]:
        cells = self.projects * self.replications
        return {
            "projects": self.projects, "indicators": self.indicators,
            "replications": self.replications, "chunk": self.chunk,
            "perfsim_s": round(self.perfsim_s, 4), "numpy_s": round(self.numpy_s, 4),
            "pandas_s_extrapolated": round(self.pandas_s, 1),
            "pandas_sample_replications": self.pandas_sample_replications,
            "perfsim_over_numpy": round(self.perfsim_s / self.numpy_s, 3),
            "pandas_over_perfsim": round(self.pandas_s / self.perfsim_s, 1),
            "perfsim_ns_per_project_replication": round(1e9 * self.perfsim_s / cells, 2),
        }


def _numpy_reference(a: np.ndarray, points: np.ndarray, cutoffs_asc: np.ndarray,
                     table: np.ndarray, budget: np.ndarray) -> np.ndarray:
    score = a @ points
    grade = len(table) - 1 - np.searchsorted(cutoffs_asc, score, side="right")
    return budget * table[grade]


def _pandas_reference(a: np.ndarray, points: np.ndarray, budget: np.ndarray,
                      table: np.ndarray) -> float:
    """Row-wise pandas for one replication: seconds."""
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


def time_one_year(projects: int, indicators: int, replications: int, *, chunk: int = 250,
                  pandas_sample: int = 1, seed: int = 0) -> Timing:
    """Time scoring + grading + linkage of ``replications`` × ``projects`` × ``indicators``."""
    rng = np.random.default_rng(seed)
    points = rng.dirichlet(np.ones(indicators)) * 100.0
    budget = rng.lognormal(14.0, 1.2, projects)
    grading = Grading()
    linkage = liupanshui(0.15)
    table = np.asarray(linkage.rule.multipliers)
    cutoffs_asc = np.asarray(grading.cutoffs[::-1])
    t_perfsim = t_numpy = 0.0
    done = 0
    while done < replications:
        n = min(chunk, replications - done)
        # attainments around a project-level performance so that every grade occurs
        theta = rng.beta(17.0, 3.0, (n, projects, 1))
        a = np.clip(theta + 0.05 * rng.standard_normal((n, projects, indicators)), 0.0, 1.0)
        t = time.perf_counter()
        grade, res = allocate(weighted_score(a, points), budget, grading, linkage)
        nxt = res.next_budget
        t_perfsim += time.perf_counter() - t
        t = time.perf_counter()
        ref = _numpy_reference(a, points, cutoffs_asc, table, budget)
        t_numpy += time.perf_counter() - t
        if done == 0 and not np.allclose(ref, nxt):
            raise AssertionError("perfsim and the numpy reference disagree")
        if done == 0:
            sample = [_pandas_reference(a[k], points, budget, table)
                      for k in range(min(pandas_sample, n))]
        done += n
        del a
    pandas_s = float(np.mean(sample)) * replications
    return Timing(projects, indicators, replications, chunk, t_perfsim, t_numpy, pandas_s,
                  len(sample))


def time_full_process(engine: str, *, projects: int = 3468, replications: int = 1000,
                      years: int = 5, workers: int | None = None) -> dict[str, Any]:
    """A multi-year Monte Carlo with the full evaluation process on the key-evaluation
    framework (20 indicators) at Liupanshui scale."""

    system = load_indicator_system(DATASETS / "indicator_systems" /
                                   "key_evaluation_framework.yaml")
    pf = generate_portfolio(system, seed=1, n_projects=projects,
                            n_departments=max(1, projects // 6))
    scenario = Scenario(name="bench_full_process", portfolio=pf, system=system, seed=1,
                        linkage=liupanshui(0.15))
    settings = settings_from_dict({
        "years": years, "replications": replications, "chunk": 64,
        "self_evaluation": {"noise": 0.05, "inflation_mean": 0.03, "inflation_sd": 0.02},
        "spot_check": {"share": 0.2, "selection": "highest_score", "gap_rule": True},
        "monitoring": {"checkpoints": [[0.5, 0.3], [0.75, 0.5]]},
        "dynamics": {"entry_rate": 0.02, "escalation_years": 2},
        "uncertainty": {"weights": "dirichlet", "concentration": 200, "ratio": [0.1, 0.2]},
    })
    t = time.perf_counter()
    result = simulate(scenario, settings, engine=engine, workers=workers, progress=False)
    seconds = time.perf_counter() - t
    return {"engine": engine, "workers": workers or (os.cpu_count() if engine != "numpy" else 1),
            "projects": projects, "indicators": system.points.size, "years": years,
            "replications": replications, "seconds": round(seconds, 2),
            "misgrading_year1": round(float(
                result.replications.query("year == 1")["misgrading"].mean()), 4)}


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far (MiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_bench(quick: bool = False, engines: tuple[str, ...] = ("numpy", "processes"),
              ) -> dict[str, Any]:
    """All benchmark figures as one dict (printed as a table or JSON by the CLI)."""
    scale = 10 if quick else 1
    main = time_one_year(LIUPANSHUI["projects"], LIUPANSHUI["indicators"],
                         LIUPANSHUI["replications"] // scale)
    rss_main = peak_rss_mib()
    sizes = [(867, 2500 // scale), (3468, 2500 // scale), (3468, 10_000 // scale)]
    scaling = [time_one_year(p, 20, r, seed=1).as_dict() for p, r in sizes]
    full = [time_full_process(e, replications=1000 // scale, workers=2 if e != "numpy" else None)
            for e in engines]
    return {"one_year": {**main.as_dict(), "peak_rss_mib": round(rss_main, 1)},
            "scaling": scaling, "full_process": full, "cpu_count": os.cpu_count(),
            "quick": quick}


def format_bench(b: dict[str, Any]) -> str:
    o = b["one_year"]
    lines = [
        f"one year of scoring + grading + linkage: {o['projects']:,} projects × "
        f"{o['indicators']} indicators × {o['replications']:,} replications "
        f"(chunks of {o['chunk']})",
        f"  perfsim        {o['perfsim_s']:10.3f} s",
        f"  numpy ref      {o['numpy_s']:10.3f} s   perfsim / numpy = "
        f"{o['perfsim_over_numpy']:.2f}  (target <= 2)",
        f"  pandas rows    {o['pandas_s_extrapolated']:10.1f} s   (extrapolated from "
        f"{o['pandas_sample_replications']} replication)   pandas / perfsim = "
        f"{o['pandas_over_perfsim']:,.0f}  (target >= 300)",
        f"  peak memory    {o['peak_rss_mib']:10.1f} MiB (process peak RSS; target < 2048)",
        "",
        "scaling (time per project × replication should stay flat):",
    ]
    df = pd.DataFrame(b["scaling"])[["projects", "replications", "perfsim_s", "numpy_s",
                                     "perfsim_ns_per_project_replication"]]
    lines += ["  " + ln for ln in df.to_string(index=False).splitlines()]
    lines += ["", "full evaluation process (multi-year Monte Carlo):"]
    df = pd.DataFrame(b["full_process"])[["engine", "workers", "projects", "indicators", "years",
                                          "replications", "seconds"]]
    lines += ["  " + ln for ln in df.to_string(index=False).splitlines()]
    lines.append(f"  (target: 5 years × 1,000 replications at Liupanshui scale in < 60 s; "
                 f"{b['cpu_count']} cores)")
    return "\n".join(lines)


def time_sensitivity(n: int = 1024, seed: int = 2022) -> dict[str, Any]:
    """Time a Sobol analysis (first and total order) of 6 design parameters with ``n`` base
    samples on the Liupanshui 2022 scenario (3,468 projects) — ``n × 8`` model evaluations,
    through :func:`perfsim.sensitivity.evaluate_samples` in vectorised chunks."""

    scenario = load_scenario(DATASETS / "scenarios" / "liupanshui_2022.yaml")
    params = [{"name": "linkage.ratio", "bounds": [0.10, 0.20]},
              {"name": "grading.cutoffs.excellent", "bounds": [85, 95]},
              {"name": "grading.cutoffs.fair", "bounds": [55, 70]},
              {"name": "simulation.spot_check.share", "bounds": [0.0, 0.5]},
              {"name": "simulation.self_evaluation.inflation_mean", "bounds": [0.0, 0.1]},
              {"name": "simulation.self_evaluation.noise", "bounds": [0.01, 0.1]}]
    t = time.perf_counter()
    res = sobol(scenario, params, n, seed=seed)
    return {"method": "sobol", "parameters": len(params), "n": n,
            "evaluations": res.evaluations, "projects": scenario.portfolio.n_projects,
            "metrics": list(res.metrics), "seconds": round(time.perf_counter() - t, 2),
            "cpu_count": os.cpu_count()}


def format_sensitivity_bench(b: dict[str, Any]) -> str:
    return (f"Sobol sensitivity: {b['parameters']} parameters, N = {b['n']:,} "
            f"({b['evaluations']:,} evaluations of {b['projects']:,} projects, "
            f"{len(b['metrics'])} metrics): {b['seconds']:.1f} s "
            f"(target < 120 s on 2 cores; {b['cpu_count']} cores)")


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
