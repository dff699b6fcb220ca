"""Monte Carlo over the evaluation process and the multi-year budget loop.

Each replication follows the scenario's projects for ``years`` years, one year step
(:func:`perfsim.run.step.step`) after another:

    latent performance θ ─> true leaf attainment ─> self-evaluation (+ inflation, noise)
    ─> spot checks and re-check rules ─> score ─> grade ─> linkage (after monitoring
    recoveries) ─> next year's budget; θ persists (AR(1)) and may respond to funding.

With ``simulation.self_evaluation.strategy: best_response`` the units choose their inflation
each year instead (:func:`perfsim.run.step.claims_of`): the money at their grade line, the
checks they can infer, the penalty; a unit caught inflating raises its perceived check chance
by ``belief_update``.

Randomness is explicit and chunk-proof: replications are grouped in fixed **blocks** of
:data:`BLOCK`; block ``b`` draws everything from its own stream
``SeedSequence(seed, spawn_key=(1, b))``. A chunk is a run of whole blocks, so the numbers are
identical whatever the chunk size, the number of workers, or the engine.

The process runs in measurement space — each leaf's measured value drawn and scored by the
system's rules, bonus leaves included (:mod:`perfsim.kernel.measurement`) — for a portfolio of
measurements under a system with a target leaf, else in attainment space (shares of each
leaf's points, see :mod:`perfsim.kernel.scoring`; bonus fixed):
``simulation.performance.space`` (``auto``, ``attainment``, ``measurement``).
"""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from perfsim import limits
from perfsim.errors import InputError
from perfsim.io import environment_kept, sigint_ignored
from perfsim.kernel import metrics
from perfsim.kernel.evaluation import (
    Measure,
    YearDraws,
    check_count,
    draw_year,
    prepare_leaves,
)
from perfsim.kernel.grading import Grading
from perfsim.kernel.measurement import (
    CellSpace,
    LeafSpace,
    expected_values,
    set_targets,
    with_overcompletion,
)
from perfsim.model.imported import MEASURED_KINDS, ImportedPortfolio
from perfsim.model.indicators import VALUE
from perfsim.model.params import Parameter, RowDesign, apply_rows, parameters
from perfsim.model.scenario import Scenario
from perfsim.model.settings import PATHS, Settings
from perfsim.model.streams import BLOCK, generator
from perfsim.run.step import (
    SimInputs,
    Streams,
    slot_values,
    step,
    year_rows,
)
from perfsim.run.strategy import grade_money

ENGINES = ("auto", "numpy", "processes", "dask")
#: ``auto`` takes a process pool only for at least this many project × replication × year
#: cells (about half a minute of work in-process) and only with 4 cores or more: the numpy
#: engine already keeps two cores busy (draws made a year ahead in a second thread), and
#: ``perfsim bench`` measures a pool of 2 as no faster on 2 cores. Dask is never automatic.
AUTO_CELLS = 40_000_000
AUTO_CORES = 4


# --- the inputs a worker needs (picklable, small) -------------------------------------------


def latent_truth(attainment: np.ndarray, measure: Measure, settings: Settings
                 ) -> tuple[np.ndarray, np.ndarray, float]:
    """The long-run truth behind observed attainments (projects, leaves).

    The observed portfolio is one noisy draw: each project's attainment share x carries leaf
    dispersion (indicator leaves only) and self-evaluation noise of variance σ²
    (:meth:`Measure.noise_variance`), so the reliability of x is λ = max(0, 1 − σ² / Var(x)).
    Each project's true share is pulled towards the portfolio mean by √λ — θ = x̄ + √λ (x − x̄),
    the spread-preserving ("constrained") shrinkage — so that the true spread λ·Var(x) plus
    the noise gives back the observed spread and the expected grade shares stay close to the
    observed ones; every leaf moves with its project. With every noise source off λ = 1 and
    the truth is the observation itself, to the last bit. Returns the leaf means (P, I),
    θ (P,) and λ."""
    x = measure.share(attainment)
    dispersion = 0.0 if measure.ready else settings.leaf_dispersion
    sigma2 = measure.noise_variance(dispersion) + measure.noise_variance(
        settings.measurement_noise)
    var = float(x.var())
    lam = 1.0 if sigma2 == 0 else (max(0.0, 1.0 - sigma2 / var) if var > 0 else 0.0)
    if lam == 1.0:
        return attainment, x, lam
    move = (1.0 - np.sqrt(lam)) * (x - x.mean())
    mean = np.clip(attainment - measure.span * move[:, None], 0.0, measure.span)
    return mean, x - move, lam


def build_inputs(scenario: Scenario, settings: Settings) -> SimInputs:
    """The Monte Carlo's inputs: the latent truth from the portfolio (:func:`latent_truth`),
    inflation by department, the registry entries that design uncertainty samples."""
    pf = scenario.portfolio
    attainment, measure = scenario.observed()
    mean, theta, lam = latent_truth(attainment, measure, settings)
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
    if settings.target_consequence == "rectify" and scenario.linkage.rectification is None:
        raise InputError(scenario.source, "simulation", "monitoring.target_consequence",
                         "rectify", "requiring rectification needs a linkage.rectification "
                         "block")
    known_params = parameters(scenario)
    params: dict[str, Parameter] = {}
    if settings.ratio_range is not None:
        if "linkage.ratio" not in known_params:
            raise InputError(scenario.source, "simulation", "uncertainty.ratio",
                             problem="a ratio range needs the liupanshui linkage rule")
        params["ratio"] = known_params["linkage.ratio"]
    if settings.cutoff_jitter > 0 and scenario.grading.cutoffs is not None:
        params["cutoffs"] = known_params["grading.cutoffs"]
    if settings.weight_uncertainty != "none":
        if isinstance(pf, ImportedPortfolio):
            raise InputError(scenario.source, "simulation", "uncertainty.weights",
                             settings.weight_uncertainty, "an imported portfolio keeps each "
                             "table's own points: no weight uncertainty")
        if not measure.linear:
            raise InputError(scenario.source, "simulation", "uncertainty.weights",
                             settings.weight_uncertainty, "weight uncertainty needs "
                             "weighted_sum aggregation, not "
                             + ("a composite indicator (normalisation or level "
                                "aggregations)" if measure.aggregation == "weighted_sum"
                                else measure.aggregation))
        if "weights.leaves" in known_params:
            params["weights"] = known_params["weights.leaves"]
    return SimInputs(seed=scenario.seed, settings=settings, mean=mean, theta=theta,
                     measure=measure, budget=pf.budget, inflation_mean=infl,
                     flags=pf.flags(), grading=scenario.grading, linkage=scenario.linkage,
                     project_ids=pf.ids, departments=deps,
                     true_score=measure.score(mean[None])[0], reliability=lam, params=params,
                     scenario=scenario,
                     units=pf.unit_index, years_left=pf.years_left,
                     space=leaf_space(scenario, settings, attainment, mean),
                     grade_money=(grade_money(scenario)
                                  if settings.self_strategy == "best_response" else None))


def space_of(scenario: Scenario, settings: Settings) -> str:
    """The space the Monte Carlo runs in: ``simulation.performance.space``, ``auto`` being
    measurement space for a portfolio of measurements under a system with a target leaf and
    attainment space otherwise."""
    if settings.space != "auto":
        return settings.space
    pf = scenario.portfolio
    if isinstance(pf, ImportedPortfolio):   # leaves of their own: a cell with a target
        return "measurement" if np.isin(pf.cells.kind, MEASURED_KINDS).any() else "attainment"
    system = scenario.system
    if scenario.portfolio.has_scores or system is None:
        return "attainment"
    return "measurement" if any(leaf.rule.needs_target for leaf in system.indicators) \
        else "attainment"


def project_ambition(scenario: Scenario, settings: Settings) -> np.ndarray:
    """Each project's target ambition (P,): its department's (``targets.by_department``),
    else ``targets.ambition``."""
    pf = scenario.portfolio
    deps = pf.departments.astype(str)
    for dep in settings.target_ambition_by_department:
        if str(dep) not in set(deps):
            raise InputError(scenario.source, "simulation", f"targets.by_department.{dep}",
                             problem="no such department in the portfolio")
    ambition = np.full(pf.n_projects, float(settings.target_ambition))
    for dep, v in settings.target_ambition_by_department.items():
        ambition[deps == str(dep)] = float(v)
    return ambition


def space_for_rows(inputs: SimInputs, ambition: np.ndarray) -> LeafSpace | None:
    """Measurement space with ``targets.ambition`` one value per row (R,) (a sensitivity
    sample), departments with their own ambition keeping it: targets (R, P). Where targets
    are not set by ambition, only the file's own value is accepted (it changes nothing)."""
    s, space = inputs.settings, inputs.space
    if space is None or s.targets_set_by != "ambition":
        if np.all(np.asarray(ambition) == s.target_ambition):
            return space    # the file's value, which sets no target here
        raise InputError(inputs.scenario.source, "simulation", "targets.ambition",
                         problem="acts only with simulation.performance.space: measurement "
                                 "and simulation.targets.set_by: ambition")
    own = np.isin(inputs.departments.astype(str),
                  [str(d) for d in s.target_ambition_by_department])
    a = np.where(own, project_ambition(inputs.scenario, s),
                 np.asarray(ambition, dtype=float)[:, None])
    return set_targets(space, expected_values(space, inputs.mean), a, s.target_recheck_resets)


def leaf_space(scenario: Scenario, settings: Settings, attainment: np.ndarray,
               mean: np.ndarray) -> LeafSpace | None:
    """Measurement space's leaves (:class:`perfsim.kernel.measurement.LeafSpace`) from the
    portfolio's measured values and the attainments they earn (``attainment`` (P, I)), with
    the over-completion markdown and each project's own targets (``simulation.targets``)
    when set; None in attainment space (where target setting is refused)."""
    s = settings
    targeted = s.targets_set_by != "portfolio" or s.overcompletion_threshold is not None
    if space_of(scenario, s) == "attainment":
        if targeted:
            raise InputError(scenario.source, "simulation", "targets",
                             problem="target setting needs simulation.performance.space: "
                                     "measurement")
        return None
    system, pf = scenario.system, scenario.portfolio
    if isinstance(pf, ImportedPortfolio):
        if targeted:
            raise InputError(scenario.source, "simulation", "targets",
                             problem="targets a project sets itself are not simulated on an "
                                     "imported portfolio (each table's own targets stand)")
        c = pf.cells
        return CellSpace(kind=c.kind, direction=c.direction, target=c.target, value=c.value,
                         base=np.asarray(attainment, dtype=float))
    if pf.has_scores or system is None:
        raise InputError(scenario.source, "simulation", "performance.space", s.space,
                         "measurement space needs a portfolio of measurements and its "
                         "indicator system")
    meas = pf.measurements()
    status = getattr(meas, "status", None) or {}

    def cells(leaves: Sequence[Any], scored: bool) -> tuple[np.ndarray, np.ndarray]:
        value = np.zeros((pf.n_projects, len(leaves)))
        given = np.zeros(value.shape, dtype=bool)
        for i, leaf in enumerate(leaves):
            v = np.asarray(meas[leaf.code], dtype=float)
            st = status.get(leaf.code)
            ok = ~np.isnan(v) if st is None else np.asarray(st) == VALUE
            value[:, i] = np.where(ok, np.nan_to_num(v), 0.0)
            given[:, i] = ok & (not scored or not leaf.rule.aux_inputs)
        return value, given

    rules = tuple(leaf.rule for leaf in system.indicators)
    if s.overcompletion_threshold is not None:
        rules = tuple(with_overcompletion(r, s.overcompletion_threshold,
                                          s.overcompletion_rate, s.overcompletion_floor)
                      for r in rules)
    value, given = cells(system.indicators, True)
    bonus_value, bonus_given = cells(system.bonus, False)
    space = LeafSpace(rules=rules, value=value, base=np.asarray(attainment, dtype=float),
                      measured=given, bonus_rules=tuple(b.rule for b in system.bonus),
                      bonus_value=bonus_value, bonus_given=bonus_given,
                      bonus_cap=float(system.bonus_cap), leaf_decimals=system.leaf_decimals)
    if s.targets_set_by == "ambition":
        try:
            space = set_targets(space, expected_values(space, mean),
                                project_ambition(scenario, s), s.target_recheck_resets)
        except InputError as err:
            raise err.at(scenario.source, "simulation.targets") from None
    return space


# --- the Monte Carlo ------------------------------------------------------------------------

PROJECT_STATS = ("p_cut", "p_wrong_cut", "mean_change", "mean_score")
#: the first replication's year 1 per project, as a bureau would observe it
SAMPLE = ("self_score", "recheck_score", "final_score", "true_score", "checked", "grade",
          "honest_self_score")


def metric_names(grading: Grading, wanted: Sequence[str] | None = None) -> list[str]:
    """The metrics the Monte Carlo records per replication and year: the whole registry, or
    the ``wanted`` ones (each checked against it) with the counts every result table holds
    (``projects``, ``count_<grade>``), in the registry's order."""
    known = metrics.registry(grading.labels)
    if wanted is None:
        return list(known)
    for name in wanted:
        metrics.lookup(grading.labels, name)
    keep = {"projects", *(f"count_{c}" for c in grading.labels.codes), *wanted}
    return [m for m in known if m in keep]


def block_stream(seed: int, block: int, part: int = 0) -> np.random.Generator:
    """A random stream of block ``block`` of a scenario seed: ``part`` 0 for the design and
    the years' draws, 1 for the re-check noise of the checked projects (drawn once the checks
    are known, so it has a stream of its own and the next year's draws can be made ahead),
    2 for the bonus leaves' draws in measurement space."""
    return generator(seed, "simulation", block, part)


def block_sizes(replications: int) -> list[int]:
    n_full, rest = divmod(replications, BLOCK)
    return [BLOCK] * n_full + ([rest] if rest else [])


def design_rows(inputs: SimInputs, streams: list[tuple[np.random.Generator, int]]
                ) -> RowDesign:
    """Per-replication design under the ``uncertainty:`` settings, drawn first in each block
    (weights, then cutoffs, then the ratio) and applied through the parameter registry."""
    s = inputs.settings
    R = sum(n for _, n in streams)

    def draw(fn):  # noqa: ANN001, ANN202 - local helper
        return np.concatenate([fn(g, n) for g, n in streams], axis=0)

    design = RowDesign(rows=R)
    points = inputs.measure.points
    I = points.size  # noqa: E741
    share = points / points.sum()
    if "weights" in inputs.params:
        if s.weight_uncertainty == "dirichlet":
            w = draw(lambda g, n: g.dirichlet(s.weight_concentration * share, n))
        else:
            w = share * draw(lambda g, n: g.uniform(1 - s.weight_pct, 1 + s.weight_pct, (n, I)))
            w = w / w.sum(axis=1, keepdims=True)
        apply_rows(inputs.scenario, design, inputs.params["weights"], w * points.sum())
    if "cutoffs" in inputs.params:
        base = np.asarray(inputs.grading.cutoffs)
        jitter = draw(lambda g, n: g.uniform(-s.cutoff_jitter, s.cutoff_jitter,
                                             (n, base.size)))
        apply_rows(inputs.scenario, design, inputs.params["cutoffs"],
                   np.sort(base + jitter, axis=1)[:, ::-1])
    if "ratio" in inputs.params:
        lo, hi = s.ratio_range
        apply_rows(inputs.scenario, design, inputs.params["ratio"],
                   draw(lambda g, n: g.uniform(lo, hi, n)))
    return design



class Workspace:
    """Large arrays kept between chunks of one run (a fresh array is paid for in page faults
    every time): ``get`` returns a view of a kept array of at least the size asked for."""

    def __init__(self) -> None:
        self._arrays: dict[str, np.ndarray] = {}

    def get(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        size = int(np.prod(shape))
        kept = self._arrays.get(name)
        if kept is None or kept.size < size:
            kept = self._arrays[name] = np.empty(size)
        return kept[:size].reshape(shape)

    def year_draws(self, k: int, R: int, S: int, I: int, C: int) -> YearDraws:  # noqa: E741
        """Buffer ``k`` for one year's draws."""
        return YearDraws(z_leaf=self.get(f"leaf{k}", (R, S, I)),
                         z_self=self.get(f"self{k}", (R, S, I)), z_re=None,
                         key=self.get(f"key{k}", (R, S)), z_exec=self.get(f"exec{k}", (R, S, C)),
                         z_theta=self.get(f"theta{k}", (R, S)))


def recheck_pool(inputs: SimInputs, active: np.ndarray, year: int) -> np.ndarray:
    """The most projects each row can have re-checked in ``year`` (0 = the first), started
    from the projects ``active`` now (rows, slots) plus that year's entrants: the size of its
    re-check pool, the re-check normals drawn for it."""
    s = inputs.settings
    S = active.shape[1]
    n = np.minimum(active.sum(axis=1) + (inputs.entrants_per_year
                                         if year > 0 and S > inputs.n_projects else 0),
                   S)[:, None]
    return check_count(n, s.check_share, s.check_days_budget, s.days_recheck,
                       s.check_funds_share, funded=n)[:, 0]   # a funds share: all


def simulate_blocks(inputs: SimInputs, blocks: range, workspace: Workspace | None = None
                    ) -> dict[str, np.ndarray]:
    """Simulate the replications of ``blocks`` (a run of whole blocks), all years: the one
    year step (:func:`perfsim.run.step.step`) year after year.

    Returns one array (replications, years) per registry metric and per-block project sums
    (blocks, projects) for the year-1 project table. Pure: the same blocks always give the
    same numbers.
    """
    s = inputs.settings
    sizes = block_sizes(s.replications)
    streams = [(block_stream(inputs.seed, b), sizes[b]) for b in blocks]
    rechecks = [(block_stream(inputs.seed, b, 1), sizes[b]) for b in blocks]
    nb = [n for _, n in streams]
    R, P0, S = sum(nb), inputs.n_projects, inputs.n_slots
    I = inputs.measure.points.size  # noqa: E741

    def draw(fn):  # noqa: ANN001, ANN202 - local helper
        return np.concatenate([fn(g, n) for g, n in streams], axis=0)

    design = design_rows(inputs, streams)
    z_inflation = draw(lambda g, n: g.standard_normal((n, P0)))
    pick = draw(lambda g, n: g.integers(0, P0, (n, max(S - P0, 0))))
    space = inputs.space
    bonus = ()   # measurement space: each bonus leaf's latent change, its own stream
    if space is not None:
        space = space.map(lambda v: slot_values(v, pick))
        if space.bonus_rules:
            bonus = tuple((block_stream(inputs.seed, b, 2), n)
                          for b, n in zip(blocks, nb, strict=True))
    names = metric_names(inputs.grading, inputs.metrics)
    # the next year's draws are made and prepared in a second thread while this year is
    # computed (the generators and numpy's loops release the GIL); two buffers take turns
    ws = workspace if workspace is not None else Workspace()
    rows, state = year_rows(inputs, design, z_inflation, pick,
                            Streams(inputs.seed, blocks, tuple(nb), S, bonus_generators=bonus),
                            space=space, true_points=inputs.measure.points,
                            metric_names=names, scratch=ws.get("scratch", (R, S, I)))
    mean = slot_values(inputs.mean, pick)
    process = rows.process
    out = {m: np.zeros((R, s.years)) for m in names}
    proj = {k: np.zeros((len(nb), P0)) for k in PROJECT_STATS}
    C = len(s.checkpoints)
    buffers = [ws.year_draws(k, R, S, I, C) for k in (0, 1)]

    def most_checked(active: np.ndarray, t: int) -> np.ndarray:
        return recheck_pool(inputs, active, t)

    checks = s.check_share > 0 or s.check_days_budget > 0 or s.check_funds_share > 0

    pooled: list[int] = []   # re-check normals drawn per year: each block's largest count

    def ready(k: int, most: np.ndarray) -> YearDraws:
        edges = np.cumsum([0, *nb])
        pooled.append(I * sum(n * int(most[a:a + n].max(initial=0))
                              for a, n in zip(edges, nb, strict=False)) if checks
                      else 0)
        draws = draw_year(streams, S, I, C, recheck=False, out=buffers[k],
                          pool=(rechecks, most) if checks else None)
        return prepare_leaves(draws, mean, process, inputs.measure.span)

    normals, uniforms = z_inflation.size, 0   # random numbers drawn, for the benchmark's bound
    sample: dict[str, np.ndarray] = {}
    with ThreadPoolExecutor(max_workers=1) as ahead:
        coming = [ahead.submit(ready, 0, most_checked(state.active, 0))]
        for t in range(s.years):
            draws = coming[0].result()
            normals += draws.z_leaf.size + draws.z_self.size + draws.z_exec.size + \
                draws.z_theta.size + pooled.pop(0)
            uniforms += draws.key.size

            def entered(active: np.ndarray, t: int = t) -> None:
                if t + 1 < s.years:
                    coming[0] = ahead.submit(ready, (t + 1) % 2, most_checked(active, t + 1))

            state, o, values = step(rows, state, draws, entered)
            for m in names:
                out[m][:, t] = values[m]

            if t == 0 and blocks.start == 0:  # the first replication's year 1, as observed
                sc = o.scores
                checked = sc.checked[0, :P0]
                sample = {"self_score": sc.self[0, :P0],
                          "recheck_score": np.where(checked, sc.recheck[0, :P0], np.nan),
                          "final_score": sc.final[0, :P0], "true_score": sc.true[0, :P0],
                          "checked": checked.astype(float),
                          "grade": o.grade[0, :P0].astype(float),
                          # what the unit would have reported without inflating (a
                          # simulation's record: the truth behind a pile)
                          "honest_self_score": (sc.self if sc.honest_self is None
                                                else sc.honest_self)[0, :P0]}
            if t == 0:  # per-project year-1 statistics, summed per block
                edges = np.cumsum([0, *nb])
                hit = (o.lost > 0)[:, :P0]
                wrong = hit & (o.true_grade[:, :P0] <= o.good)
                change = (o.next_budget - o.gross)[:, :P0]
                for k in range(len(nb)):
                    sl = slice(edges[k], edges[k + 1])
                    proj["p_cut"][k] = hit[sl].sum(axis=0)
                    proj["p_wrong_cut"][k] = wrong[sl].sum(axis=0)
                    proj["mean_change"][k] = change[sl].sum(axis=0)
                    proj["mean_score"][k] = o.score[sl, :P0].sum(axis=0)

    first = {f"sample_{k}": v[None] for k, v in sample.items()} if blocks.start == 0 else {
        f"sample_{k}": np.zeros((0, P0)) for k in SAMPLE}
    return {**out, **{f"project_{k}": v for k, v in proj.items()}, **first,
            "drawn": np.array([normals, uniforms])}



# --- engines --------------------------------------------------------------------------------

#: bytes one (rows, slots, leaves) array of a chunk may take: a larger portfolio runs fewer
#: replications per chunk than ``simulation.chunk`` (whole blocks, at least one), so that its
#: peak memory stays bounded — a chunk holds about ten such arrays (13,872 projects × 20 leaves:
#: one block of 32 replications; 3,468 × 20: the default 128)
CHUNK_LEAF_BYTES = 80 << 20


def chunk_blocks(inputs: SimInputs) -> int:
    """Blocks of replications per chunk: ``simulation.chunk``'s, or fewer where one (rows,
    slots, leaves) array would take more than :data:`CHUNK_LEAF_BYTES`. The numbers are the
    same whatever the chunk (the streams are the blocks')."""
    per_block = 8 * BLOCK * inputs.n_slots * max(1, inputs.measure.points.size)
    return max(1, min(inputs.settings.chunk_blocks, CHUNK_LEAF_BYTES // per_block))


def chunks(inputs: SimInputs) -> list[range]:
    n_blocks = len(block_sizes(inputs.settings.replications))
    step = chunk_blocks(inputs)
    return [range(i, min(i + step, n_blocks)) for i in range(0, n_blocks, step)]


def _progress(it: Iterator[Any], total: int, show: bool | None) -> Iterator[Any]:
    if show is None:
        show = sys.stderr.isatty() and not os.environ.get("CI")
    if not show:
        return it
    from tqdm.auto import tqdm

    return iter(tqdm(it, total=total, desc="perfsim", unit="chunk"))


def run_engine(inputs: SimInputs, engine: str = "auto", *, workers: int | None = None,
               scheduler: str | None = None, progress: bool | None = None
               ) -> list[dict[str, np.ndarray]]:
    """Simulate every chunk with the chosen engine; results come back in block order."""
    if engine not in ENGINES:
        raise InputError(field="engine", value=engine,
                         problem=f"must be one of {', '.join(ENGINES)}")
    parts = chunks(inputs)
    if engine == "auto":
        engine = auto_engine(inputs, len(parts), scheduler)
    if engine == "numpy":
        ws = Workspace()
        return [simulate_blocks(inputs, c, ws)
                for c in _progress(iter(parts), len(parts), progress)]
    if engine == "processes":
        with ProcessPoolExecutor(max_workers=workers or os.cpu_count(),
                                 initializer=limits.keep_freed_memory) as pool:
            futures = [pool.submit(simulate_blocks, inputs, c) for c in parts]
            return [f.result() for f in _progress(iter(futures), len(futures), progress)]
    return _run_dask(inputs, parts, workers, scheduler)


def auto_engine(inputs: SimInputs, n_chunks: int, scheduler: str | None = None,
                cores: int | None = None) -> str:
    """The engine ``auto`` picks: Dask when a scheduler is given, a process pool when the work
    is large (:data:`AUTO_CELLS`), there are :data:`AUTO_CORES` cores or more and at least two
    chunks, else in-process numpy."""
    if scheduler:
        return "dask"
    s = inputs.settings
    cells = inputs.n_slots * s.replications * s.years
    cores = (os.cpu_count() or 1) if cores is None else cores
    if cells >= AUTO_CELLS and cores >= AUTO_CORES and n_chunks >= 2:
        return "processes"
    return "numpy"


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
        return _gather(client, None, inputs, parts)
    with environment_kept():   # the cluster's settings for its workers stay theirs
        with sigint_ignored():  # Ctrl-C is the parent's to handle, not the workers'
            cluster = LocalCluster(n_workers=workers or min(2, os.cpu_count() or 1),
                                   threads_per_worker=1, processes=True,
                                   dashboard_address=None)
        return _gather(Client(cluster), cluster, inputs, parts)


def _gather(client: Any, cluster: Any, inputs: SimInputs, parts: list[range]
            ) -> list[dict[str, np.ndarray]]:
    """Every chunk simulated on the Dask ``client``'s workers, in block order; the client
    (and the ``cluster`` perfsim started, if any, whose workers keep freed memory for their
    next chunk) closed after."""
    try:
        if cluster is not None:   # the workers are perfsim's own
            client.run(limits.keep_freed_memory)
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
    statistics per project over replications), ``summary`` (means and 5–95% intervals) and
    ``sample``, the first replication's year 1 per project as a bureau would observe it
    (self-score, re-check score where checked, graded score and grade, and the true score
    only a simulation knows) — data for the estimators of :mod:`perfsim.analyse`."""

    replications: pd.DataFrame
    projects: pd.DataFrame
    summary: dict[str, Any]
    sample: pd.DataFrame | None = None


def scenario_settings(scenario: Scenario, **overrides: Any) -> Settings:
    """The scenario's simulation settings (its file's ``simulation:`` block, defaults where
    absent); ``overrides`` (settings fields, e.g. from the command line) win when not None."""
    values = {k: v for k, v in overrides.items() if v is not None}
    return dataclasses.replace(scenario.settings, **values) if values else scenario.settings


def check_memory(scenario: Scenario, settings: Settings, inputs: SimInputs, *,
                 engine: str = "auto", workers: int | None = None,
                 scheduler: str | None = None, given: Mapping[str, str] | None = None) -> None:
    """Refuse, before any work, a Monte Carlo of ``scenario`` under ``settings`` that would
    need more memory than :func:`perfsim.limits.memory_limit` (the estimate of
    :func:`perfsim.limits.monte_carlo_bytes`, with as many chunks at once as the engine runs).
    The line names the setting furthest above its default (years, replications, chunk) as the
    user gave it: ``given`` maps a setting to its command-line option (``{"years":
    "--years"}``); the others are the scenario file's ``simulation.`` keys."""
    s = settings
    blocks = chunk_blocks(inputs)
    n_chunks = len(chunks(inputs))
    if engine == "auto":
        engine = auto_engine(inputs, n_chunks, scheduler)
    if engine == "processes":
        parallel = workers or os.cpu_count() or 1
    elif engine == "dask" and not scheduler:
        parallel = workers or min(2, os.cpu_count() or 1)
    else:   # in-process, or a remote cluster's own memory
        parallel = 1
    need = limits.monte_carlo_bytes(
        slots=inputs.n_slots, leaves=inputs.measure.points.size,
        checkpoints=len(s.checkpoints), replications=s.replications, years=s.years,
        chunk_rows=blocks * BLOCK,
        metrics=len(metric_names(inputs.grading, inputs.metrics)),
        parallel=min(parallel, n_chunks))
    given = given or {}
    blame: tuple[float, str | None, str | None, int] = (1.0, scenario.source, None, 0)
    for name in ("replications", "years", "chunk"):
        value = getattr(s, name)
        ratio = value / Settings.__dataclass_fields__[name].default
        if ratio > blame[0]:
            blame = ((ratio, None, given[name], value) if name in given
                     else (ratio, scenario.source, f"simulation.{name}", value))
    _, source, field, value = blame
    limits.check_memory(need, source, field=field, value=value)


def simulate(scenario: Scenario, settings: Settings | None = None, *, engine: str = "auto",
             workers: int | None = None, scheduler: str | None = None,
             progress: bool | None = None, noise: bool = True,
             metrics: Sequence[str] | None = None) -> MonteCarloResult:
    """Run the Monte Carlo for ``scenario``; ``settings`` default to the scenario file's
    ``simulation:`` block. ``noise=False`` turns every random source off
    (:meth:`Settings.without_noise`): year 1 is then the one-year run, to the yuan.
    ``metrics``: record only these (with the counts, :func:`metric_names`; default the whole
    registry) — the same numbers for each, less work."""
    if settings is None:
        settings = scenario_settings(scenario)
    if not noise:
        settings = settings.without_noise()
    inputs = build_inputs(scenario, settings)
    if metrics is not None:
        inputs = dataclasses.replace(inputs, metrics=tuple(metric_names(inputs.grading,
                                                                        metrics)))
    check_memory(scenario, settings, inputs, engine=engine, workers=workers,
                 scheduler=scheduler)
    parts = run_engine(inputs, engine, workers=workers, scheduler=scheduler, progress=progress)
    return collect(inputs, parts, scenario)


def collect(inputs: SimInputs, parts: list[dict[str, np.ndarray]], scenario: Scenario
            ) -> MonteCarloResult:
    s = inputs.settings
    names = metric_names(inputs.grading, inputs.metrics)
    m = {k: np.concatenate([p[k] for p in parts], axis=0) for k in names}
    R, Y = m["projects"].shape
    rows = {"replication": np.repeat(np.arange(R), Y), "year": np.tile(np.arange(1, Y + 1), R)}
    rows.update({k: m[k].reshape(-1) for k in names})
    reps = pd.DataFrame(rows)
    counts = ["projects", *(f"count_{c}" for c in inputs.grading.labels.codes)]
    reps[counts] = reps[counts].astype(int)

    sums = {k: np.concatenate([p[f"project_{k}"] for p in parts], axis=0).sum(axis=0)
            for k in PROJECT_STATS}
    projects = pd.DataFrame({
        "project_id": inputs.project_ids, "department": inputs.departments,
        "budget": inputs.budget, "true_score": inputs.true_score,
        "mean_score": sums["mean_score"] / R, "p_cut": sums["p_cut"] / R,
        "p_wrong_cut": sums["p_wrong_cut"] / R, "mean_change": sums["mean_change"] / R,
    })
    summary_metrics = {}
    for name in names:
        by_year = []
        for y in range(1, Y + 1):
            mean, lo, hi = metrics.interval(reps.loc[reps["year"] == y, name].to_numpy())
            by_year.append({"year": y, "mean": mean, "p05": lo, "p95": hi})
        summary_metrics[name] = by_year
    summary = {
        "scenario": scenario.name, "seed": scenario.seed, "source": scenario.source,
        "replications": s.replications, "years": s.years, "projects": inputs.n_projects,
        "reliability": inputs.reliability,
        "settings": {f"simulation.{path}": getattr(s, name) for path, name in PATHS.items()},
        "metrics": summary_metrics,
    }
    drawn = {k: np.concatenate([p[f"sample_{k}"] for p in parts], axis=0)[0] for k in SAMPLE}
    sample = pd.DataFrame({"project_id": inputs.project_ids, "department": inputs.departments,
                           "budget": inputs.budget,
                           **{k: drawn[k] for k in SAMPLE if k not in ("checked", "grade")},
                           "checked": drawn["checked"].astype(bool),
                           "grade": np.asarray(inputs.grading.labels.codes, dtype=object)[
                               drawn["grade"].astype(np.int64)]})
    return MonteCarloResult(reps, projects, summary, sample)
