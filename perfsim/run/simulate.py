"""Monte Carlo over the evaluation process and the multi-year budget loop.

Each replication follows the scenario's projects for ``years`` years:

    latent performance θ ─> true leaf attainment ─> self-evaluation (+ inflation, noise)
    ─> spot checks and re-check rules ─> score ─> grade ─> linkage (after monitoring
    recoveries) ─> next year's budget; θ persists (AR(1)) and may respond to funding.

Randomness is explicit and chunk-proof: replications are grouped in fixed **blocks** of
:data:`BLOCK`; block ``b`` draws everything from its own stream
``SeedSequence(seed, spawn_key=(1, b))``. A chunk is a run of whole blocks, so the numbers are
identical whatever the chunk size, the number of workers, or the engine.

The process runs in attainment space (shares of each leaf's points; see
:mod:`perfsim.kernel.scoring`); bonus leaves are not simulated.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np
import pandas as pd

from perfsim.errors import InputError
from perfsim.kernel import metrics
from perfsim.kernel.evaluation import (
    monitor,
    recheck_scores,
    select_for_check,
    self_evaluate,
    weighted_score,
)
from perfsim.kernel.grading import Grading
from perfsim.kernel.linkage import GradeTable, Linkage
from perfsim.kernel.scoring import total_score
from perfsim.model.scenario import Scenario
from perfsim.model.settings import Settings, settings_from_dict
from perfsim.model.streams import BLOCK, generator

ENGINES = ("numpy", "processes", "dask")


# --- the inputs a worker needs (picklable, small) -------------------------------------------

@dataclass(frozen=True)
class SimInputs:
    """Everything a worker needs to simulate blocks of replications."""

    seed: int
    settings: Settings
    points: np.ndarray        # (I,) leaf points (base weights)
    theta: np.ndarray         # (P,) latent long-run performance in [0, 1]
    budget: np.ndarray        # (P,) yuan
    inflation_mean: np.ndarray  # (P,) per project (department-specific)
    flags: Mapping[str, np.ndarray]
    grading: Grading
    linkage: Linkage
    project_ids: np.ndarray
    departments: np.ndarray
    true_score: np.ndarray    # (P,) points, for the project table
    aggregation: str = "weighted_sum"
    groups: np.ndarray | None = None  # (I,) level-1 group of each leaf

    def score(self, attainment: np.ndarray, points: np.ndarray) -> np.ndarray:
        """Total scores (R, P) from attainments (R, P, I) under the system's aggregation;
        ``points`` (R, I) per replication (weighted sum only) or (R, I) all equal."""
        if self.aggregation == "weighted_sum":
            return weighted_score(attainment, points)
        return total_score(attainment, points[0], groups=self.groups,
                           method=self.aggregation, total=float(points[0].sum()))

    @property
    def n_projects(self) -> int:
        return self.theta.size

    @property
    def entrants_per_year(self) -> int:
        return int(round(self.settings.entry_rate * self.n_projects))

    @property
    def n_slots(self) -> int:
        return self.n_projects + self.entrants_per_year * (self.settings.years - 1)


def build_inputs(scenario: Scenario, settings: Settings) -> SimInputs:
    """Latent performance from the portfolio: ``true_score`` when present, else the score
    (or the indicator-system score of the measurements), as a share of the total points."""
    pf = scenario.portfolio
    system = scenario.system
    total = system.total if system is not None else 100.0
    points = system.points if system is not None else np.array([total])
    if "true_score" in pf.table.columns:
        true_score = pf.table["true_score"].to_numpy(dtype=float)
    else:
        true_score = np.asarray(scenario.scores(), dtype=float)
    theta = np.clip(true_score / total, 0.0, 1.0)
    deps = pf.departments
    known = set(map(str, deps))
    for dep in settings.inflation_by_department:
        if str(dep) not in known:
            raise InputError(scenario.source, "simulation",
                             f"self_evaluation.by_department.{dep}",
                             problem="no such department in the portfolio")
    infl = np.full(theta.size, float(settings.inflation_mean))
    for dep, v in settings.inflation_by_department.items():
        infl[deps.astype(str) == str(dep)] = float(v)
    if settings.ratio_range is not None and not (
            scenario.linkage.name == "liupanshui" and isinstance(scenario.linkage.rule,
                                                                  GradeTable)):
        raise InputError(scenario.source, "simulation", "uncertainty.ratio",
                         problem="a ratio range needs the liupanshui linkage rule")
    aggregation = system.aggregation if system is not None else "weighted_sum"
    if aggregation != "weighted_sum" and settings.weight_uncertainty != "none":
        raise InputError(scenario.source, "simulation", "uncertainty.weights",
                         settings.weight_uncertainty,
                         f"weight uncertainty needs weighted_sum aggregation, not {aggregation}")
    return SimInputs(seed=scenario.seed, settings=settings, points=points, theta=theta,
                     budget=pf.budget, inflation_mean=infl, flags=pf.flags(),
                     grading=scenario.grading, linkage=scenario.linkage, project_ids=pf.ids,
                     departments=deps, true_score=true_score, aggregation=aggregation,
                     groups=system.level1_index if system is not None else None)


# --- the kernel -----------------------------------------------------------------------------

METRICS = ("active", "misgrading", "wrong_cuts", "kept_by_poor", "savings", "cut", "cancelled",
           "rewarded", "recovered", "budget_total", "next_total", "rank_stability", "gini",
           "top10_share", "volatility", "inflation_points", "inflation_payoff")
PROJECT_STATS = ("p_cut", "p_wrong_cut", "mean_change", "mean_score")


def block_stream(seed: int, block: int) -> np.random.Generator:
    """The random stream of block ``block`` of a scenario seed."""
    return generator(seed, "simulation", block)


def block_sizes(replications: int) -> list[int]:
    n_full, rest = divmod(replications, BLOCK)
    return [BLOCK] * n_full + ([rest] if rest else [])


def simulate_blocks(inputs: SimInputs, blocks: range) -> dict[str, np.ndarray]:
    """Simulate the replications of ``blocks`` (a run of whole blocks), all years.

    Returns ``metrics`` arrays (replications, years) for each name in :data:`METRICS`, grade
    counts (replications, years, grades), and per-block project sums (blocks, projects) for
    the year-1 project table. Pure: the same blocks always give the same numbers.
    """
    s = inputs.settings
    sizes = block_sizes(s.replications)
    rngs = [block_stream(inputs.seed, b) for b in blocks]
    nb = [sizes[b] for b in blocks]
    R, P0, S = sum(nb), inputs.n_projects, inputs.n_slots
    I = inputs.points.size  # noqa: E741
    G = len(inputs.grading.labels)
    n_cut = len(inputs.grading.cutoffs or ()) or (G - 1)

    def draw(fn: Callable[[np.random.Generator, int], np.ndarray]) -> np.ndarray:
        return np.concatenate([fn(g, n) for g, n in zip(rngs, nb, strict=True)], axis=0)

    # replication-level draws (fixed order)
    base_points = np.broadcast_to(inputs.points, (R, I))
    w = base_points
    share = inputs.points / inputs.points.sum()
    if s.weight_uncertainty == "dirichlet":
        w = draw(lambda g, n: g.dirichlet(s.weight_concentration * share, n)) * \
            inputs.points.sum()
    elif s.weight_uncertainty == "uniform":
        u = draw(lambda g, n: g.uniform(1 - s.weight_pct, 1 + s.weight_pct, (n, I)))
        w = share * u
        w = w / w.sum(axis=1, keepdims=True) * inputs.points.sum()
    cutoffs = None
    if s.cutoff_jitter > 0 and inputs.grading.cutoffs is not None:
        jitter = draw(lambda g, n: g.uniform(-s.cutoff_jitter, s.cutoff_jitter, (n, n_cut)))
        cutoffs = np.sort(np.asarray(inputs.grading.cutoffs) + jitter, axis=1)[:, ::-1]
    table = None
    if s.ratio_range is not None:
        ratio = draw(lambda g, n: g.uniform(s.ratio_range[0], s.ratio_range[1], n))
        base = np.asarray(inputs.linkage.rule.multipliers, dtype=float)
        table = np.repeat(base[None, :], R, axis=0)
        table[:, 2] = 1.0 - ratio
    inflation = inputs.inflation_mean + s.inflation_sd * draw(
        lambda g, n: g.standard_normal((n, P0)))
    pick = draw(lambda g, n: g.integers(0, P0, (n, max(S - P0, 0))))

    # slot arrays: the portfolio, then entrants resampled from it
    theta_mu = np.concatenate([np.broadcast_to(inputs.theta, (R, P0)),
                               np.take(inputs.theta, pick)], axis=1)
    budget = np.concatenate([np.broadcast_to(inputs.budget, (R, P0)),
                             np.take(inputs.budget, pick)], axis=1)
    inflation = np.concatenate([inflation, np.take_along_axis(inflation, pick, axis=1)],
                               axis=1)
    inflated = bool(np.any(inflation != 0))  # else the honest counterfactual is the same run
    flags = {k: np.concatenate([np.broadcast_to(v, (R, P0)), np.take(v, pick)], axis=1)
             for k, v in inputs.flags.items()}
    active = np.zeros((R, S), dtype=bool)
    active[:, :P0] = True
    theta = theta_mu.copy()
    poor_run = np.zeros((R, S), dtype=np.int16)

    out = {m: np.zeros((R, s.years)) for m in METRICS}
    grades_count = np.zeros((R, s.years, G), dtype=np.int64)
    proj = {k: np.zeros((len(nb), P0)) for k in PROJECT_STATS}
    last = G - 1
    good = min(1, G - 1)  # true grade index <= good counts as "good" (优 or 良)

    for t in range(s.years):
        if t > 0 and S > P0:
            n_new = inputs.entrants_per_year
            lo = P0 + (t - 1) * n_new
            active[:, lo:lo + n_new] = True
        z_leaf = draw(lambda g, n: g.standard_normal((n, S, I)))
        z_self = draw(lambda g, n: g.standard_normal((n, S, I)))
        z_re = draw(lambda g, n: g.standard_normal((n, S, I))) if s.check_share > 0 else None
        key = draw(lambda g, n: g.random((n, S)))
        z_exec = draw(lambda g, n: g.standard_normal((n, S, max(len(s.checkpoints), 1))))
        z_theta = draw(lambda g, n: g.standard_normal((n, S)))

        a_true = np.clip(theta[..., None] + s.leaf_dispersion * z_leaf, 0.0, 1.0)
        true_score = inputs.score(a_true, base_points)
        a_self = self_evaluate(a_true, inflation, s.measurement_noise, z_self)
        self_score = inputs.score(a_self, w)
        honest_score = self_score
        if inflated:
            honest_score = inputs.score(self_evaluate(a_true, np.zeros_like(inflation),
                                                        s.measurement_noise, z_self), w)
        b = np.where(active, budget, 0.0)
        checked = select_for_check(s.check_share, s.check_selection, active, key, b, self_score)
        re_score = self_score
        if z_re is not None:
            re_score = inputs.score(np.clip(a_true + s.recheck_noise * z_re, 0, 1), w)
        rules = dict(replace=s.recheck_replaces, gap_rule=s.gap_rule, gap=s.gap, per=s.gap_per,
                     step=s.gap_step, inflation_penalty=s.inflation_penalty)
        score = recheck_scores(self_score, re_score, checked, **rules)
        recovered = np.zeros_like(b)
        if s.checkpoints:
            pace = np.clip(theta, 0.0, 1.0)
            recovered = monitor(b, pace, z_exec, s.checkpoints, s.execution_sd,
                                s.recovery_share)
        b_eff = b - recovered

        grade = inputs.grading.grade(score, cutoffs, active)
        true_grade = inputs.grading.grade(true_score, cutoffs, active)
        cancel = _cancelled(active, grade == last, poor_run, s.escalation_years)
        res = inputs.linkage.apply(b_eff, score, grade, flags, cancel=cancel, table=table)
        nxt = np.where(active, res.next_budget, 0.0)
        loss = np.where(active, res.cut + res.cancelled, 0.0)

        if inflated:
            score_h = recheck_scores(honest_score, re_score, checked, **rules)
            grade_h = inputs.grading.grade(score_h, cutoffs, active)
            cancel_h = _cancelled(active, grade_h == last, poor_run, s.escalation_years)
            res_h = inputs.linkage.apply(b_eff, score_h, grade_h, flags, cancel=cancel_h,
                                         table=table)
            nxt_h = np.where(active, res_h.next_budget, 0.0)
            infl_pts = np.where(active, self_score - honest_score, 0.0).sum(axis=1)
            gain = (nxt - nxt_h).sum(axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                payoff = np.where(infl_pts != 0, gain / infl_pts, np.nan)
        else:
            infl_pts = np.zeros(R)
            payoff = np.full(R, np.nan)

        o = {
            "active": active.sum(axis=1),
            "misgrading": metrics.share(grade != true_grade, active),
            "wrong_cuts": np.where(active & (true_grade <= good), loss, 0.0).sum(axis=1),
            "kept_by_poor": np.where(active & (true_grade == last), nxt, 0.0).sum(axis=1),
            "savings": b.sum(axis=1) - nxt.sum(axis=1),
            "cut": np.where(active, res.cut, 0.0).sum(axis=1),
            "cancelled": np.where(active, res.cancelled, 0.0).sum(axis=1),
            "rewarded": np.where(active, res.rewarded, 0.0).sum(axis=1),
            "recovered": recovered.sum(axis=1),
            "budget_total": b.sum(axis=1),
            "next_total": nxt.sum(axis=1),
            "rank_stability": metrics.spearman(score, true_score, active),
            "gini": metrics.gini(nxt, active & (nxt > 0)),
            "top10_share": metrics.top_share(nxt, active & (nxt > 0)),
            "volatility": metrics.volatility(b, nxt, active),
            "inflation_points": infl_pts,
            "inflation_payoff": payoff,
        }
        for m in METRICS:
            out[m][:, t] = o[m]
        for gi in range(G):
            grades_count[:, t, gi] = ((grade == gi) & active).sum(axis=1)

        if t == 0:  # per-project year-1 statistics, summed per block
            edges = np.cumsum([0, *nb])
            hit = (loss > 0)[:, :P0]
            wrong = hit & (true_grade[:, :P0] <= good)
            change = (nxt - b)[:, :P0]
            for k in range(len(nb)):
                sl = slice(edges[k], edges[k + 1])
                proj["p_cut"][k] = hit[sl].sum(axis=0)
                proj["p_wrong_cut"][k] = wrong[sl].sum(axis=0)
                proj["mean_change"][k] = change[sl].sum(axis=0)
                proj["mean_score"][k] = score[sl, :P0].sum(axis=0)

        # next year
        poor_run = np.where(active & (grade == last), poor_run + 1, 0).astype(np.int16)
        with np.errstate(divide="ignore", invalid="ignore"):
            growth = np.where((b > 0) & (nxt > 0), np.log(nxt / np.where(b > 0, b, 1.0)), 0.0)
        theta = np.clip(theta_mu + s.persistence * (theta - theta_mu)
                        + s.innovation_sd * z_theta + s.elasticity * growth, 0.0, 1.0)
        budget = np.where(active, nxt, budget)
        active = active & (nxt > 0)

    return {**out, "grades": grades_count, **{f"project_{k}": v for k, v in proj.items()}}


def _cancelled(active: np.ndarray, poor: np.ndarray, poor_run: np.ndarray,
               escalation_years: int) -> np.ndarray:
    """Projects cancelled whatever the linkage rule: inactive ones, and (escalation on) those
    graded 差 now for the ``escalation_years``-th year in a row."""
    if not escalation_years:
        return ~active
    return ~active | (poor & (poor_run + 1 >= escalation_years))


# --- engines --------------------------------------------------------------------------------

def chunks(inputs: SimInputs) -> list[range]:
    n_blocks = len(block_sizes(inputs.settings.replications))
    step = inputs.settings.chunk_blocks
    return [range(i, min(i + step, n_blocks)) for i in range(0, n_blocks, step)]


def _progress(it: Iterator[Any], total: int, show: bool | None) -> Iterator[Any]:
    if show is None:
        show = sys.stderr.isatty() and not os.environ.get("CI")
    if not show:
        return it
    from tqdm.auto import tqdm

    return iter(tqdm(it, total=total, desc="perfsim", unit="chunk"))


def run_engine(inputs: SimInputs, engine: str = "numpy", *, workers: int | None = None,
               scheduler: str | None = None, progress: bool | None = None
               ) -> list[dict[str, np.ndarray]]:
    """Simulate every chunk with the chosen engine; results come back in block order."""
    if engine not in ENGINES:
        raise InputError(field="engine", value=engine,
                         problem=f"must be one of {', '.join(ENGINES)}")
    parts = chunks(inputs)
    if engine == "numpy":
        return [simulate_blocks(inputs, c) for c in _progress(iter(parts), len(parts), progress)]
    if engine == "processes":
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=workers or os.cpu_count()) as pool:
            futures = [pool.submit(simulate_blocks, inputs, c) for c in parts]
            return [f.result() for f in _progress(iter(futures), len(futures), progress)]
    return _run_dask(inputs, parts, workers, scheduler)


def _run_dask(inputs: SimInputs, parts: list[range], workers: int | None,
              scheduler: str | None) -> list[dict[str, np.ndarray]]:
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            client = Client(scheduler, timeout="5s")
        except (OSError, TimeoutError) as exc:
            raise InputError(field="scheduler", value=scheduler,
                             problem=f"cannot reach the Dask scheduler ({exc.__class__.__name__})"
                             ) from None
        except ValueError as exc:  # e.g. no port, unknown scheme
            raise InputError(field="scheduler", value=scheduler,
                             problem=f"not a Dask scheduler address ({exc})") from None
        cluster = None
    else:
        cluster = LocalCluster(n_workers=workers or min(2, os.cpu_count() or 1),
                               threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
    try:
        shared = client.scatter(inputs, broadcast=True)
        futures = client.map(simulate_blocks, [shared] * len(parts), parts, pure=False)
        return client.gather(futures)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


# --- results --------------------------------------------------------------------------------

@dataclass(frozen=True)
class MonteCarloResult:
    """Tidy results: ``replications`` (one row per replication × year), ``projects`` (year-1
    statistics per project over replications), and ``summary`` (means and 5–95% intervals)."""

    replications: pd.DataFrame
    projects: pd.DataFrame
    summary: dict[str, Any]


def simulate(scenario: Scenario, settings: Settings | None = None, *, engine: str = "numpy",
             workers: int | None = None, scheduler: str | None = None,
             progress: bool | None = None) -> MonteCarloResult:
    """Run the Monte Carlo for ``scenario``; ``settings`` default to the scenario file's
    ``simulation:`` block."""
    if settings is None:
        settings = settings_from_dict(scenario.spec.get("simulation"))
    inputs = build_inputs(scenario, settings)
    parts = run_engine(inputs, engine, workers=workers, scheduler=scheduler, progress=progress)
    return collect(inputs, parts, scenario)


def collect(inputs: SimInputs, parts: list[dict[str, np.ndarray]], scenario: Scenario
            ) -> MonteCarloResult:
    s = inputs.settings
    m = {k: np.concatenate([p[k] for p in parts], axis=0) for k in METRICS}
    grades = np.concatenate([p["grades"] for p in parts], axis=0)
    R, Y = m["active"].shape
    labels = inputs.grading.labels
    rows = {"replication": np.repeat(np.arange(R), Y), "year": np.tile(np.arange(1, Y + 1), R)}
    rows.update({k: m[k].reshape(-1) for k in METRICS})
    for gi, code in enumerate(labels.codes):
        rows[f"n_{code}"] = grades[:, :, gi].reshape(-1)
    reps = pd.DataFrame(rows)
    reps["active"] = reps["active"].astype(int)

    sums = {k: np.concatenate([p[f"project_{k}"] for p in parts], axis=0).sum(axis=0)
            for k in PROJECT_STATS}
    projects = pd.DataFrame({
        "project_id": inputs.project_ids, "department": inputs.departments,
        "budget": inputs.budget, "true_score": inputs.true_score,
        "mean_score": sums["mean_score"] / R, "p_cut": sums["p_cut"] / R,
        "p_wrong_cut": sums["p_wrong_cut"] / R, "mean_change": sums["mean_change"] / R,
    })
    summary_metrics = {}
    for name in [*METRICS, *(f"n_{c}" for c in labels.codes)]:
        if name == "active":
            continue
        by_year = []
        for y in range(1, Y + 1):
            mean, lo, hi = metrics.interval(reps.loc[reps["year"] == y, name].to_numpy())
            by_year.append({"year": y, "mean": mean, "p05": lo, "p95": hi})
        summary_metrics[name] = by_year
    summary = {
        "scenario": scenario.name, "seed": scenario.seed, "source": scenario.source,
        "replications": s.replications, "years": s.years, "projects": inputs.n_projects,
        "settings": {f.name: getattr(s, f.name) for f in fields(s)},
        "metrics": summary_metrics,
    }
    return MonteCarloResult(reps, projects, summary)


def with_settings(settings: Settings, **changes: Any) -> Settings:
    """A copy of ``settings`` with fields changed (validated again)."""
    return replace(settings, **changes)
