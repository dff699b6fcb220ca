"""Global sensitivity analysis with SALib: which design parameter drives the outcomes?

- **Sobol** first- and total-order indices with bootstrap confidence intervals
  (:func:`SALib.sample.sobol.sample` + :func:`SALib.analyze.sobol.analyze`): :func:`sobol`.
  ``n`` base samples cost ``n × (k + 2)`` model evaluations for k parameters (``n × (2k + 2)``
  with second-order indices); SALib wants ``n`` a power of 2.
- **Morris** elementary-effects screening (:func:`SALib.sample.morris.sample` +
  :func:`SALib.analyze.morris.analyze`): :func:`morris`, ``n`` trajectories, ``n × (k + 1)``
  evaluations. μ* is the mean absolute effect of moving a parameter across its whole range,
  in the metric's units; for a discrete factor, the mean absolute change of the outcome over
  the design's jumps between its values (:func:`run_morris`).

Parameters are scenario paths from the calibration registry
(:func:`perfsim.calibrate.parameters`, scalar ones only) with bounds, read from a YAML
**params file** — a list of ``{name: PATH, bounds: [LOW, HIGH]}``::

    - {name: linkage.ratio, bounds: [0.10, 0.20]}
    - {name: grading.cutoffs.excellent, bounds: [85, 95]}
    - {name: simulation.spot_check.share, bounds: [0.0, 0.5]}

``weights.<level-1 code>`` sets a group's points before all points are rescaled to the
system's total; cutoff bounds must keep the cutoffs in order whatever is drawn.

**Discrete factors** (method choices, :data:`perfsim.model.params.CHOICES`) are entries
``{name: PATH, values: [V1, V2, ...]}``: ``weighting.groups.method``,
``weighting.leaves.method``, ``weighting.<tier>.treatment`` and ``aggregation``. SALib samples
them as continuous U[0, 1] draws, which :func:`choice_index` maps to value ``floor(u k)`` of
the k values (each value an equal share); the scenario is re-weighted once per distinct
combination drawn, and the samples that drew it are evaluated together.

**The model** (:func:`evaluate_samples`) is the Monte Carlo's one year step
(:func:`perfsim.run.step.step`, the same function, not a copy) — true leaf attainment,
self-evaluation with inflation and noise, spot checks and re-check rules, coverage, monitoring
recoveries, the evaluation cycle, grading, linkage — run for many parameter samples at once:
each sample is treated as a replication, with per-replication weights (R, I), cutoffs (R, K)
and multiplier table (R, G), in chunks of samples that bound memory. Given the Monte Carlo's
draws it gives the Monte Carlo's year 1 to the yuan, noise on. With the noise off
(``noise=False``, ``perfsim sensitivity --no-noise``; the default for a scenario without a
``simulation:`` block, :func:`noisy`) a sample at the file's values gives the one-year run
(``perfsim run``) exactly. The true score is computed with
each sample's own weights (a weight is a design choice, so misgrading is judged against the
design in force). Multi-year dynamics, entrants and the ``uncertainty:`` settings of the
simulation are not part of it.

**Randomness: common random numbers.** All samples see the same random draws — leaf
dispersion, self-evaluation and re-check noise, inflation spread, spot-check keys, execution
noise, the bonus leaves' changes in measurement space — drawn once from the seed's own stream
(``SeedSequence(seed, spawn_key=(2,))``), for ``replications`` replications (default 1;
outcomes are averaged over them); rectification, the pre-evaluation's noise and the targets
of dual monitoring come from the seed's streams of their own, block 0 of year 0, as in the
one-year run. Differences between samples are caused by the parameters alone, and the numbers cannot
depend on the chunking. A parameter that does not enter the model has exactly zero effect.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from perfsim import numbers
from perfsim.errors import InputError
from perfsim.io import read_yaml
from perfsim.kernel import metrics
from perfsim.kernel.evaluation import (
    ProcessScores,
    YearDraws,
    draw_year,
    leaf_units,
    prepare_leaves,
    recheck_leaves,
)
from perfsim.limits import keep_freed_memory
from perfsim.model.params import (
    CHOICES,
    Parameter,
    RowDesign,
    apply_choices,
    apply_rows,
    apply_structure,
    check_bounds,
    check_choice,
    choice_block,
    choice_meaning,
    is_choice,
    parameter,
)
from perfsim.model.scenario import STRUCTURE_KEYS, Scenario
from perfsim.model.settings import Settings
from perfsim.model.streams import generator
from perfsim.model.weighting_spec import short
from perfsim.run.simulate import build_inputs, scenario_settings, space_for_rows
from perfsim.run.step import (
    SimInputs,
    Streams,
    YearRows,
    YearState,
    step,
    year_rows,
    year_scores,
)

METHODS = ("sobol", "morris")
DEFAULT_METRICS = ("savings", "misgrading", "wrong_cuts", "rank_stability", "gini")
#: cells (samples × replications × projects × indicators) per chunk, 8 bytes each in each of a
#: few arrays: a Liupanshui-scale chunk stays near 100 MiB
CHUNK_CELLS = 4_000_000
#: cells in all (samples × replications × projects × indicators) from which ``workers``
#: ``None`` evaluates the chunks on every core: a pool's start (a fork, the model handed to
#: each worker once) is then a small share of the work
POOL_CELLS = 40 * CHUNK_CELLS


# --- parameters ------------------------------------------------------------------------------

@dataclass(frozen=True)
class ParamSpec:
    """A design parameter sampled uniformly within ``bounds``."""

    name: str
    bounds: tuple[float, float]
    param: Parameter
    #: the values of a discrete factor (a method choice), drawn by mapping U[0, 1) to them
    values: tuple[Any, ...] | None = None


def params_from_list(scenario: Scenario, items: Any, source: str | None = None
                     ) -> list[ParamSpec]:
    """Validate a list of ``{name, bounds}`` (or ``(name, (low, high))`` pairs) against the
    scenario: names from the scalar parameter registry, bounds ``[low, high]`` with
    ``low < high`` inside the valid range, no name twice, cutoffs that stay in order."""
    if not isinstance(items, Sequence) or isinstance(items, str) or not items:
        raise InputError(source, problem="a params file is a non-empty list of "
                                         "{name: PATH, bounds: [LOW, HIGH]}")
    out: list[ParamSpec] = []
    for i, item in enumerate(items):
        where = f"parameter {i + 1}"
        if isinstance(item, Mapping) and "values" in item:
            spec = _choice_spec(scenario, item, where, source)
            if any(s.name == spec.name for s in out):
                raise InputError(source, where, "name", spec.name, "listed twice")
            out.append(spec)
            continue
        if isinstance(item, Mapping):
            extra = set(item) - {"name", "bounds"}
            if extra or "name" not in item or "bounds" not in item:
                raise InputError(source, where, field=sorted(extra)[0] if extra else None,
                                 problem="each entry is {name: PATH, bounds: [LOW, HIGH]}")
            name, bounds = item["name"], item["bounds"]
        elif isinstance(item, Sequence) and len(item) == 2 and isinstance(item[0], str):
            name, bounds = item
        else:
            raise InputError(source, where, value=item,
                             problem="each entry is {name: PATH, bounds: [LOW, HIGH]}")
        try:
            p = parameter(scenario, str(name), scalar=True)
            lo, hi = check_bounds(p, bounds, where, scenario)
        except InputError as err:
            raise err.at(source, where) from None
        if any(s.name == p.path for s in out):
            raise InputError(source, where, "name", p.path, "listed twice")
        out.append(ParamSpec(p.path, (lo, hi), p))
    _check_cutoff_order(scenario, out, source)
    _check_choices(scenario, out, source)
    return out


def _choice_spec(scenario: Scenario, item: Mapping[str, Any], where: str, source: str | None
                 ) -> ParamSpec:
    """A discrete factor ``{name: PATH, values: [...]}`` (see :data:`perfsim.model.params.
    CHOICES`), sampled on [0, 1]."""
    extra = set(item) - {"name", "values"}
    if extra or "name" not in item:
        raise InputError(source, where, field=sorted(extra)[0] if extra else "name",
                         problem="a discrete factor is {name: PATH, values: [V1, V2, ...]}")
    name, values = item["name"], item["values"]
    if not isinstance(name, str) or not (is_choice(name) or name in STRUCTURE_FACTORS):
        raise InputError(source, where, "name", short(name),
                         f"not a discrete choice (valid: {', '.join(CHOICES)}, "
                         f"aggregation.<level-1 code>, {', '.join(STRUCTURE_FACTORS)})")
    if isinstance(values, str) or not isinstance(values, Sequence) or not values:
        raise InputError(source, where, "values", short(values),
                         "must be a non-empty list of choices")
    base = Path(source).parent if source else None
    checked = []
    for v in values:
        try:
            if name in STRUCTURE_FACTORS:
                apply_structure(scenario, structure_of({name: v}))
            else:
                v = check_choice(scenario, name, v, base=base)
        except InputError as err:
            raise InputError(source, where + (f", {err.where}" if err.where else ""),
                             err.field or name, err.value if err.has_value else short(v),
                             err.problem) from None
        if v in checked:
            raise InputError(source, where, "values", short(v), "listed twice")
        checked.append(v)
    meaning = STRUCTURE_FACTORS[name] if name in STRUCTURE_FACTORS else choice_meaning(name)
    param = Parameter(name, "choice", (0.0, 1.0), "choice", meaning)
    return ParamSpec(name, (0.0, 1.0), param, tuple(checked))


#: Structural variants as discrete factors (``{name: PATH, values: [none, ...]}``): the value
#: ``none`` leaves the system as it is; the others are the values of the ``indicators.*``
#: paths of a variant (:func:`perfsim.model.params.apply_structure`: a code in
#: ``indicators.add`` may name a candidate leaf of the scenario file's ``indicators:`` block),
#: or for ``indicators`` a whole block as in a scenario file.
STRUCTURE_FACTORS: dict[str, str] = {
    "indicators": "a structural variant: an indicators block (remove, give_to, move, add, ...)",
    "indicators.remove": "indicators removed (points to the rest)",
    "indicators.move": "a leaf moved to another group",
    "indicators.add": "a leaf added (measured in the portfolio)",
    "indicators.points": "points set for leaves or groups",
}


def structure_of(made: Mapping[str, Any]) -> dict[str, Any]:
    """The ``indicators.*`` operations of the structural factors' values in ``made`` (the
    value ``none``: no operation)."""
    ops: dict[str, Any] = {}
    for name, value in made.items():
        if isinstance(value, str) and value == "none":
            continue
        if name == "indicators":
            if not isinstance(value, Mapping) or not value:
                raise InputError(field=name, value=short(value),
                                 problem="must be none or a mapping of structural operations "
                                         f"(keys: {', '.join(STRUCTURE_KEYS[:-1])})")
            for key in value:
                if key not in STRUCTURE_KEYS[:-1]:
                    raise InputError(field=f"indicators.{key}", problem="unknown key (allowed: "
                                     f"{', '.join(STRUCTURE_KEYS[:-1])})")
            ops.update({f"indicators.{k}": v for k, v in value.items()})
        else:
            ops[name] = value
    return ops


def _check_choices(scenario: Scenario, specs: Sequence[ParamSpec], source: str | None) -> None:
    """A treatment needs its tier's method; per-row weights need the weighted sum; a whole
    ``indicators`` block is not drawn beside single operations."""
    block = next((s for s in specs if s.name == "indicators"), None)
    single = next((s for s in specs if s.name.startswith("indicators.")), None)
    if block is not None and single is not None:
        raise InputError(source, field=single.name, problem="drawn beside the factor "
                         "indicators, which draws whole blocks: put the operation in its "
                         "blocks")
    structural = [s for s in specs if s.name in STRUCTURE_FACTORS]
    if len(structural) > 1:   # every combination of operations drawn must make a system
        for combo in itertools.product(*(s.values for s in structural)):
            made = {s.name: v for s, v in zip(structural, combo, strict=True)}
            try:
                apply_structure(scenario, structure_of(made))
            except InputError as err:
                raise InputError(source, ", ".join(f"{k} = {short(v)}" for k, v in
                                                   made.items()), err.field,
                                 err.value if err.has_value else None, err.problem) from None
    chosen = {s.name: s.values[0] for s in specs
              if s.values is not None and s.name not in STRUCTURE_FACTORS}
    try:
        choice_block(chosen)
    except InputError as err:
        raise err.at(source) from None
    agg = next((s for s in specs if s.name == "aggregation"), None)
    weight = next((s for s in specs if s.param.kind == "weight"), None)
    if agg is not None and weight is not None and any(v != "weighted_sum" for v in agg.values):
        raise InputError(source, field="aggregation", value=list(agg.values),
                         problem=f"sampled weights ({weight.name}) need weighted_sum "
                                 "aggregation in every sample")


def choice_index(u: np.ndarray, k: int) -> np.ndarray:
    """The value drawn for uniform draws ``u`` in [0, 1] of a factor with ``k`` values:
    ``floor(u k)``, with u = 1 mapped to the last value. Each value gets an equal share of
    [0, 1)."""
    return np.minimum(np.floor(np.asarray(u, dtype=float) * k).astype(np.intp), k - 1)


def load_params(path: str | Path, scenario: Scenario) -> list[ParamSpec]:
    """Read and validate a params file (YAML list of ``{name: PATH, bounds: [LOW, HIGH]}``)."""
    return params_from_list(scenario, read_yaml(path), str(path))


def _check_cutoff_order(scenario: Scenario, specs: Sequence[ParamSpec], source: str | None
                        ) -> None:
    cutoffs = scenario.grading.cutoffs
    if cutoffs is None:
        return
    codes = scenario.grading.labels.codes
    rng = [(c, c) for c in cutoffs]
    for s in specs:
        if s.param.kind == "cutoff":
            rng[s.param.index] = s.bounds
    for k in range(len(rng) - 1):
        if rng[k][0] <= rng[k + 1][1]:
            raise InputError(source, field=f"grading.cutoffs.{codes[k]}",
                             value=[rng[k][0], rng[k][1]],
                             problem=f"overlaps grading.cutoffs.{codes[k + 1]} "
                                     f"[{rng[k + 1][0]:g}, {rng[k + 1][1]:g}]: cutoffs must "
                                     "stay strictly descending for every sample")


def problem(specs: Sequence[ParamSpec]) -> dict[str, Any]:
    """The SALib problem dict."""
    return {"num_vars": len(specs), "names": [s.name for s in specs],
            "bounds": [list(s.bounds) for s in specs]}


# --- the vectorised model ------------------------------------------------------------------

@dataclass
class _Model:
    """Everything fixed across samples: inputs, base design and the common random numbers."""

    scenario: Scenario
    specs: list[Parameter]
    metrics: tuple[str, ...]
    replications: int
    inputs: SimInputs
    draws: YearDraws        # (r, P, ...) one year's draws
    z_infl: np.ndarray      # (r, P)
    seed: int
    z_bonus: np.ndarray | None = None   # (r, P, B) the bonus leaves' draws (measurement space)
    known: Known | None = None   # what every sample shares (:func:`_truth`), once for all


def noisy(scenario: Scenario, settings: Settings | None = None, noise: bool | None = None
          ) -> bool:
    """Whether the model adds the Monte Carlo's noise: ``noise`` when given, else only when
    there are settings to take it from — ``settings`` passed in, a ``simulation:`` block in
    the scenario's file, or settings set on the scenario in Python. A scenario without any is
    the one-year run (``perfsim run`` without a ``simulation:`` block): no noise is invented
    for it."""
    if noise is not None:
        return bool(noise)
    return (settings is not None or scenario.has_simulation
            or scenario.settings != Settings())


def _prepare(scenario: Scenario, names: Sequence[str], metric_names: Sequence[str],
             seed: int | None, settings: Settings | None, replications: int,
             noise: bool | None = None) -> _Model:
    quiet = not noisy(scenario, settings, noise)
    if settings is None:
        settings = scenario_settings(scenario)
    if quiet:   # every random source off; a sampled noise parameter still sets its rows
        settings = settings.without_noise()
    specs = [parameter(scenario, n, scalar=True) for n in names]
    for m in metric_names:
        metrics.lookup(scenario.grading.labels, m)
    if isinstance(replications, bool) or not isinstance(replications, int) or replications < 1:
        raise InputError(field="replications", value=replications,
                         problem="must be a whole number >= 1")
    inputs = build_inputs(scenario, settings)
    if not inputs.measure.linear and any(p.kind == "weight" for p in specs):
        raise InputError(field="parameter", value=next(p.path for p in specs
                                                       if p.kind == "weight"),
                         problem=f"sampled weights need weighted_sum aggregation, not "
                                 f"{inputs.measure.aggregation}")
    r, P = replications, inputs.n_projects
    I = inputs.measure.points.size  # noqa: E741
    seed = scenario.seed if seed is None else int(seed)
    rng = generator(seed, "sensitivity")
    draws = draw_year([(rng, r)], P, I, len(settings.checkpoints), recheck=True)
    z_infl = rng.standard_normal((r, P))
    z_bonus = None
    space = inputs.space
    if space is not None and space.bonus_rules:
        z_bonus = rng.standard_normal((r, P, len(space.bonus_rules)))
    return _Model(scenario, specs, tuple(metric_names), r, inputs, draws, z_infl, seed,
                  z_bonus)


def _evaluate_chunk(model: _Model, X: np.ndarray) -> np.ndarray:
    """Metrics (n, m) for the samples X (n, k): each sample on the same r replications, one
    year step (:func:`perfsim.run.step.step`) for all of them. Rows of the step are sample ×
    replication; the design of each row comes from the parameter registry
    (:func:`perfsim.model.params.apply_rows`).

    Samples that differ only in parameters acting after scoring (:data:`AFTER_SCORING`: the
    grade table, the cutoffs) share their scores: the evaluation process is run once for each
    distinct rest of the sample (:func:`_shared_scores`), and every sample's grading,
    linkage and metrics take those scores (the step's ``scores``) — the same numbers, the
    common random numbers being the same for every sample."""
    # --- speed (shared scoring across samples): begin ---
    known = model.known   # the truth, once for all chunks (evaluate_samples)
    # units that respond choose their claims from the money at their grade lines, which the
    # ratio and cutoffs set: their scores are then no longer shared across those samples
    after = [] if _responding(model) else [j for j, p in enumerate(model.specs)
                                           if p.kind in AFTER_SCORING]
    scores = None
    if after:
        first, inverse = _distinct(X, after)
        if first.size < X.shape[0]:
            scores = _shared_scores(model, X[first], inverse, known)
    # --- speed: end ---
    year, state, draws = _year(model, X, leaves=scores is None, known=known)
    _, _, values = step(year, state, draws, scores=scores)
    out = np.column_stack([values[m] for m in model.metrics])
    return out.reshape(X.shape[0], model.replications, -1).mean(axis=1)


# --- speed: the work samples share (the model's internals; outputs the same to the bit) ---

#: simulation settings that leave the true scores as they are (the self-evaluation, the
#: checks and re-checks, monitoring, costs, evaluators): the truth is computed once per chunk
KEEP_TRUTH = ("measurement_noise", "inflation_mean", "inflation_sd", "check_share",
              "check_days_budget", "check_funds_share", "recheck_noise", "recovery_share",
              "target_minimum", "target_noise", "cost_self", "cost_recheck",
              "intermediary_share", "third_party_min_budget", "max_inflation",
              "belief_update")


def _keeps_truth(p: Parameter) -> bool:
    """Whether parameter ``p`` leaves the true scores as they are: the grade table, the
    cutoffs, the linkage's evaluation cycle (after the truth) and :data:`KEEP_TRUTH`; not the
    weights (the truth is judged with each sample's own), the leaf dispersion, the ambition
    of targets."""
    return p.kind in (*AFTER_SCORING, "linkage") or (
        p.kind == "simulation" and p.setting in KEEP_TRUTH)


def _truth(model: _Model, X: np.ndarray) -> Known:
    """What every sample whose parameters keep the truth (:func:`_keeps_truth`) shares: the
    evaluation process of the first sample gives the true scores (r, slots) and the true
    leaves (r, slots, leaves) as the process left them (moved, clipped in attainment space);
    when one re-check serves all (:func:`_recheck_shared`) the re-check's leaf attainments
    of every cell too."""
    year, state, draws = _year(model, X[:1], metrics=False)
    true = year_scores(year, state, draws).true
    rechecked = None
    if _recheck_shared(model, year):   # the true leaves re-measured everywhere
        rechecked = recheck_leaves(draws.z_leaf, year.process.recheck_noise * draws.z_re,
                                   year.measure.span, year.space, slice(None))
    return Known(true, draws.z_leaf, rechecked)


@dataclass(frozen=True)
class Known:
    """What the samples of a chunk share (:func:`_truth`)."""

    true: np.ndarray                 # (r, slots) the true scores
    leaves: np.ndarray               # (r, slots, leaves) the true leaves, ready
    rechecked: np.ndarray | None     # (r, slots, leaves) the re-check's leaves of every cell


def _recheck_shared(model: _Model, year: YearRows) -> bool:
    """Whether one re-check of every cell serves every sample: the re-check's noise not
    sampled, the finance bureau re-checking alone (no evaluators), every result shown (no
    cross-year projects), each project's leaves shared by the framework (not an imported
    folder's own cells)."""
    return (not any(p.kind == "simulation" and p.setting in ("recheck_noise",
                                                             "intermediary_share",
                                                             "third_party_min_budget")
                    for p in model.specs)
            and not year.process.evaluators and model.inputs.linkage.cross_year is None
            and year.measure.cells is None and np.ndim(year.process.recheck_noise) == 0)


def _responding(model: _Model) -> bool:
    return model.inputs.settings.self_strategy != "none"


def _distinct(X: np.ndarray, drop: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """The first of each distinct sample once the columns ``drop`` are left out, and the
    distinct sample of each."""
    key = np.delete(X, list(drop), axis=1)
    if not key.shape[1]:
        return np.zeros(1, dtype=np.intp), np.zeros(X.shape[0], dtype=np.intp)
    _, first, inverse = np.unique(key, axis=0, return_index=True, return_inverse=True)
    return first, inverse.reshape(-1)


#: parameter kinds that act only after scoring (:func:`perfsim.model.params.apply_rows`: the
#: grade table and the cutoffs, which the selection of checks does not read per row)
AFTER_SCORING = ("ratio", "multiplier", "cutoff", "cutoffs")


#: settings read only after the self-evaluation (which projects are checked and what the
#: checks cost): samples that differ only in them and in :data:`AFTER_SCORING` share their
#: self-scores
AFTER_SELF = ("check_share", "check_days_budget", "check_funds_share", "cost_self",
              "cost_recheck")


def _shared_scores(model: _Model, X: np.ndarray, inverse: np.ndarray,
                   known: Known | None = None) -> ProcessScores:
    """The evaluation process's scores of the distinct samples X, each sample's rows
    (``inverse``: the distinct sample of each) taken from them; ``known`` the true scores and
    the re-check's leaves when known (:func:`_truth`). Samples that differ only in
    :data:`AFTER_SELF` then share their self-evaluation too (:func:`_self_scores`): their
    processes read no leaf."""
    reported = None
    if (known is not None and known.rechecked is not None and not metrics_need_honest(model)
            and not _responding(model)):
        later = [j for j, p in enumerate(model.specs) if p.kind in AFTER_SCORING or (
            p.kind == "simulation" and p.setting in AFTER_SELF)]
        first, own = _distinct(X, later)
        if first.size < X.shape[0]:
            reported = _take_rows(_self_scores(model, X[first], known), own,
                                  model.replications)
    year, state, draws = _year(model, X, leaves=reported is None, metrics=False, known=known,
                               reported=reported)
    sc = year_scores(year, state, draws)
    r = model.replications
    return dataclasses.replace(sc, **{
        f.name: _take_rows(getattr(sc, f.name), inverse, r) for f in dataclasses.fields(sc)
        if isinstance(getattr(sc, f.name), np.ndarray)})


def _take_rows(a: np.ndarray, inverse: np.ndarray, r: int) -> np.ndarray:
    """Rows (sample × replication) of each sample's distinct sample (``inverse``) from
    ``a`` (distinct samples × replications, ...)."""
    return a[(inverse[:, None] * r + np.arange(r)).reshape(-1)]


def _self_scores(model: _Model, X: np.ndarray, known: Known) -> np.ndarray:
    """The self-scores (samples × replications, slots) of the samples X: their evaluation
    process, the truth and the re-check ``known``."""
    year, state, draws = _year(model, X, metrics=False, known=known)
    return year_scores(year, state, draws).self


def _year(model: _Model, X: np.ndarray, leaves: bool = True, metrics: bool = True,
          known: Known | None = None, reported: np.ndarray | None = None
          ) -> tuple[YearRows, YearState, YearDraws]:
    """The step's rows, state and draws for samples X (n, k) × r replications; without
    ``leaves`` the leaf draws are the replications' own, not one copy per sample (the scores
    are known: they are not read); without ``metrics`` the step computes none (only its
    scores are wanted); ``known`` what every sample shares (:func:`_truth`): the true
    scores, the true leaves (copied for each sample, not prepared again) and the re-check's
    leaves (not copied: row i reads replication i mod r); ``reported`` (n·r, slots) each
    sample's self-scores."""
    inp = model.inputs
    sc = model.scenario
    n, r = X.shape[0], model.replications
    N = n * r
    design = RowDesign(rows=N)
    for j, p in enumerate(model.specs):
        apply_rows(sc, design, p, np.repeat(X[:, j], r))

    def rows(a: np.ndarray | None, copy: bool = True) -> np.ndarray | None:
        """(r, ...) → (n·r, ...); without ``copy`` the replications' own (never read)."""
        if a is None or not copy:
            return a
        out = np.empty((n * a.shape[0],) + a.shape[1:], dtype=a.dtype)
        out.reshape((n,) + a.shape)[...] = a      # n copies (a broadcast copy: no np.tile)
        return out

    d = model.draws
    rechecked = None if known is None else known.rechecked
    # one replication in measurement space: the process only reads the true leaves and the
    # self-evaluation's noise, so every sample reads the same memory (no copies)
    shared = leaves and known is not None and r == 1 and inp.space is not None
    draws = YearDraws(z_leaf=np.broadcast_to(known.leaves, (n,) + known.leaves.shape[1:])
                      if shared else rows(d.z_leaf if known is None else known.leaves, leaves),
                      z_self=rows(d.z_self, leaves and not shared),
                      z_re=rows(d.z_re, leaves and rechecked is None), key=rows(d.key),
                      z_exec=rows(d.z_exec), z_theta=rows(d.z_theta),
                      re_pool=rows(d.re_pool, leaves),
                      true=None if known is None else rows(known.true),
                      rechecked=rechecked, reported=reported)
    space = inp.space   # measurement space; a sampled ambition sets targets per row
    if "target_ambition" in design.settings:
        space = space_for_rows(inp, design.settings["target_ambition"])
    # the year's own streams: block 0 of year 0 for the r replications, as the one-year run
    streams = Streams(model.seed, range(1), (r,), inp.n_projects, tile=n,
                      bonus_fixed=model.z_bonus)
    year, state = year_rows(inp, design, rows(model.z_infl),
                            np.zeros((N, 0), dtype=np.intp), streams, space=space,
                            metric_names=model.metrics if metrics else (),
                            honest=metrics_need_honest(model))
    if shared:   # each sample's self-evaluation noise in one pass from the common draws
        draws = dataclasses.replace(draws, z_self=leaf_units(
            np.broadcast_to(d.z_self, (n,) + d.z_self.shape[1:]), year.process.noise,
            inp.measure.span))
    elif leaves:
        draws = prepare_leaves(draws, inp.mean, year.process, inp.measure.span,
                               ready=known is not None)
    return year, state, draws


def metrics_need_honest(model: _Model) -> bool:
    """Whether the model's metrics read the honest counterfactual: the year evaluated again
    without inflation costs a second self-evaluation per sample, done only then."""
    return metrics.need_honest(model.scenario.grading.labels, model.metrics)


# --- speed: end of the shared work ---


def chunk_cells(scenario: Scenario, replications: int = 1) -> int:
    """The cells of one sample: replications × projects × indicators — (samples ×
    replications × projects) arrays are many (grades, linkage, metrics): the indicators are
    counted as 8 at least."""
    I = scenario.system.points.size if scenario.system is not None else 1  # noqa: E741
    return replications * scenario.portfolio.n_projects * max(I, 8)


def chunk_size(scenario: Scenario, replications: int = 1) -> int:
    """Samples per chunk so that a chunk holds about :data:`CHUNK_CELLS` cells."""
    return max(1, CHUNK_CELLS // max(chunk_cells(scenario, replications), 1))


def evaluate_samples(scenario: Scenario, names: Sequence[str], X: np.ndarray,
                     seed: int | None = None, *, metrics: Sequence[str] = DEFAULT_METRICS,
                     settings: Settings | None = None, replications: int = 1,
                     chunk: int | None = None,
                     choices: Mapping[str, Sequence[Any]] | None = None,
                     base: str | Path | None = None, noise: bool | None = None,
                     workers: int | None = None) -> np.ndarray:
    """Outcome metrics (n_samples, n_metrics) of parameter samples X (n_samples, k), columns
    in the order of ``names`` (scalar parameter paths). Samples are evaluated in chunks of
    ``chunk`` (default: :func:`chunk_size`), each sample as one row of a vectorised
    replication axis; ``seed`` (default: the scenario's) feeds the common random numbers, so
    the same seed gives the same numbers whatever the chunking.

    ``choices`` (path → values) marks the columns of ``names`` that are discrete factors (the
    method choices of :data:`perfsim.model.params.CHOICES`): their column holds U[0, 1]
    draws, mapped to a value by :func:`choice_index`. The scenario is re-weighted (and
    re-aggregated) once per distinct combination of values drawn
    (:func:`perfsim.model.params.apply_choices`, relative matrix files from ``base``), and the
    samples that drew it are evaluated together on the same common random numbers.

    ``noise`` (:func:`noisy`): the Monte Carlo's noise (leaf dispersion, self-evaluation,
    re-check and execution noise, the spread of inflation) on or off; by default on only when
    there are settings to take it from (``settings``, or the scenario's ``simulation:``
    block). Off, a sample at the file's values is the one-year run (``perfsim run``) exactly;
    a sampled noise parameter still sets its own value.

    ``workers``: processes evaluating the chunks (1: this process; None: every core when
    the work is large, :data:`POOL_CELLS`, and there are at least two chunks). Each chunk's
    numbers are its own, so the result is the same whatever the workers."""
    X = np.asarray(X, dtype=float)
    names = list(names)
    if X.ndim != 2 or X.shape[1] != len(names):
        raise InputError(field="X", value=X.shape,
                         problem=f"must be (samples, {len(names)}) for {len(names)} names")
    choices = {k: list(v) for k, v in (choices or {}).items()}
    for k in choices:
        if k not in names:
            raise InputError(field="choices", value=k, problem="not among the names")
        if not choices[k]:
            raise InputError(field=k, value=[], problem="give at least one value")
    if choices:
        return _evaluate_choices(scenario, names, X, seed, metrics, settings, replications,
                                 chunk, choices, base, noisy(scenario, settings, noise),
                                 workers)
    model = _prepare(scenario, names, metrics, seed, settings, replications, noise)
    for j, p in enumerate(model.specs):  # the one table's check of every sampled value
        lo, hi = p.valid
        bad = (X[:, j] < lo) | (X[:, j] > hi) | ~np.isfinite(X[:, j])
        if bad.any():
            p.check(float(X[np.argmax(bad), j]))
    step = chunk or chunk_size(scenario, replications)
    if isinstance(step, bool) or not isinstance(step, int) or step < 1:
        raise InputError(field="chunk", value=chunk, problem="must be a whole number >= 1")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int)
                                or workers < 1):
        raise InputError(field="workers", value=workers, problem="must be a whole number >= 1")
    chunks = [X[i:i + step] for i in range(0, X.shape[0], step)]
    if not chunks:
        return np.empty((0, len(model.metrics)))
    # --- speed: the truth once for all (one more sample's process: worth it from chunks of a
    # few samples on; chunks of fewer share nothing, each sample evaluated alone)
    if step >= 4 and all(_keeps_truth(p) for p in model.specs):
        model = dataclasses.replace(model, known=_truth(model, X[:1]))
    n = pool_workers(workers, len(chunks), X.shape[0] * chunk_cells(scenario, replications))
    if n == 1:
        parts = [_evaluate_chunk(model, c) for c in chunks]
    else:
        with ProcessPoolExecutor(max_workers=n, initializer=_hold, initargs=(model,)) as pool:
            parts = list(pool.map(_evaluate_held, chunks))
    return np.concatenate(parts, axis=0)


def pool_workers(workers: int | None, chunks: int, cells: int) -> int:
    """The processes that evaluate ``chunks`` chunks of ``cells`` cells in all: ``workers``
    (never more than the chunks), or with None every core when the work is large
    (:data:`POOL_CELLS`), else 1."""
    if workers is None:
        workers = (os.cpu_count() or 1) if cells >= POOL_CELLS else 1
    return max(1, min(workers, chunks))


#: the model a pool's worker evaluates (set once per worker by :func:`_hold`)
_HELD: list[_Model] = []


def _hold(model: _Model) -> None:
    _HELD[:] = [model]
    keep_freed_memory()


def _evaluate_held(X: np.ndarray) -> np.ndarray:
    return _evaluate_chunk(_HELD[0], X)


def _evaluate_choices(scenario: Scenario, names: list[str], X: np.ndarray, seed: int | None,
                      metrics: Sequence[str], settings: Settings | None, replications: int,
                      chunk: int | None, choices: Mapping[str, list[Any]],
                      base: str | Path | None, noise: bool, workers: int | None = None
                      ) -> np.ndarray:
    """Samples with discrete factors: grouped by the combination of values they drew, each
    group evaluated on the scenario with those choices made (weights computed once per
    combination); the common random numbers make the split invisible in the numbers."""
    disc = [j for j, nm in enumerate(names) if nm in choices]
    cont = [j for j, nm in enumerate(names) if nm not in choices]
    for j in disc:
        bad = (X[:, j] < -1e-12) | (X[:, j] > 1 + 1e-12) | ~np.isfinite(X[:, j])
        if bad.any():
            raise InputError(field=names[j], value=float(X[np.argmax(bad), j]),
                             problem="a discrete factor is drawn on [0, 1]")
    idx = np.column_stack([choice_index(X[:, j], len(choices[names[j]])) for j in disc])
    combos, inverse = np.unique(idx, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    out = np.empty((X.shape[0], len(metrics)))
    for c, combo in enumerate(combos):
        made = {names[j]: choices[names[j]][k] for j, k in zip(disc, combo, strict=True)}
        try:   # the structure first, then the methods weigh the changed system
            sc = apply_structure(scenario, structure_of({
                k: v for k, v in made.items() if k in STRUCTURE_FACTORS}))
            sc = apply_choices(sc, {k: v for k, v in made.items()
                                    if k not in STRUCTURE_FACTORS}, base=base)
        except InputError as err:
            raise InputError(err.source, ", ".join(f"{k} = {short(v)}" for k, v in made.items())
                             + (f", {err.where}" if err.where else ""), err.field,
                             problem=err.problem) from None
        rows = np.flatnonzero(inverse == c)
        out[rows] = evaluate_samples(sc, [names[j] for j in cont], X[np.ix_(rows, cont)], seed,
                                     metrics=metrics, settings=settings,
                                     replications=replications, chunk=chunk, noise=noise,
                                     workers=workers)
    return out


# --- SALib drivers ---------------------------------------------------------------------------

@dataclass(frozen=True)
class SensitivityResult:
    """A sensitivity analysis: the tidy ``table`` (one row per metric × parameter), the
    samples ``X`` and outcomes ``Y``, and what was run."""

    method: str
    table: pd.DataFrame
    problem: dict[str, Any]
    metrics: tuple[str, ...]
    X: np.ndarray
    Y: np.ndarray
    n: int
    seed: int
    seconds: float
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def evaluations(self) -> int:
        return int(self.X.shape[0])

    def as_dict(self) -> dict[str, Any]:
        return {"method": self.method, "n": self.n, "seed": self.seed,
                "evaluations": self.evaluations, "seconds": round(self.seconds, 3),
                "parameters": [{"name": nm, "bounds": b} for nm, b in zip(
                    self.problem["names"], self.problem["bounds"], strict=True)],
                "metrics": list(self.metrics), **self.info,
                "table": self.table.to_dict(orient="records")}


def run_sobol(fn: Callable[[np.ndarray], np.ndarray], prob: Mapping[str, Any], n: int,
              metrics: Sequence[str], *, seed: int = 0, second_order: bool = False,
              conf_level: float = 0.95, num_resamples: int = 200) -> SensitivityResult:
    """Sobol indices of any vectorised model ``fn`` (X (samples, k) → Y (samples, metrics)):
    Saltelli/Sobol sampling, one call of ``fn`` on all samples, analysis per metric."""
    from SALib.analyze import sobol as sobol_analyze
    from SALib.sample import sobol as sobol_sample

    _check_n(n, "n")
    t = time.perf_counter()
    X = sobol_sample.sample(dict(prob), int(n), calc_second_order=second_order, seed=seed)
    Y = np.asarray(fn(X), dtype=float).reshape(X.shape[0], -1)
    def analyse(y: np.ndarray) -> Any:
        if not np.all(np.isfinite(y)) or np.ptp(y) == 0:
            return "constant output" if np.all(np.isfinite(y)) else "non-finite outputs"
        return sobol_analyze.analyze(dict(prob), y, calc_second_order=second_order,
                                     num_resamples=num_resamples, conf_level=conf_level,
                                     seed=seed)

    # each metric's bootstrap on its own thread (numpy releases the GIL; each has its seed)
    with ThreadPoolExecutor(max_workers=max(1, min(len(metrics), os.cpu_count() or 1))) as ex:
        analysed = list(ex.map(analyse, [Y[:, j] for j in range(len(metrics))]))
    rows = []
    for m, si in zip(metrics, analysed, strict=True):
        if isinstance(si, str):
            rows += [{"metric": m, "parameter": p, "S1": np.nan, "S1_conf": np.nan,
                      "ST": np.nan, "ST_conf": np.nan, "note": si} for p in prob["names"]]
            continue
        for i, p in enumerate(prob["names"]):
            rows.append({"metric": m, "parameter": p, "S1": float(si["S1"][i]),
                         "S1_conf": float(si["S1_conf"][i]), "ST": float(si["ST"][i]),
                         "ST_conf": float(si["ST_conf"][i]), "note": ""})
    return SensitivityResult("sobol", pd.DataFrame(rows), dict(prob), tuple(metrics), X, Y,
                             int(n), int(seed), time.perf_counter() - t,
                             {"conf_level": conf_level, "second_order": second_order})


def morris_step(num_levels: int) -> float:
    """The step Δ of SALib's Morris design on the unit interval, ``p / (2 (p − 1))`` for
    ``p`` grid levels (2/3 for the default 4): every move of a parameter in a trajectory is
    ±Δ, and an elementary effect is the change of the outcome divided by Δ."""
    return num_levels / (2.0 * (num_levels - 1))


def run_morris(fn: Callable[[np.ndarray], np.ndarray], prob: Mapping[str, Any], n: int,
               metrics: Sequence[str], *, seed: int = 0, num_levels: int = 4,
               conf_level: float = 0.95, num_resamples: int = 200,
               discrete: Sequence[str] = ()) -> SensitivityResult:
    """Morris screening of any vectorised model ``fn`` with ``n`` trajectories.

    For a continuous parameter an elementary effect is the change of the outcome per move
    divided by Δ (:func:`morris_step`), i.e. scaled to the parameter's whole range. For the
    ``discrete`` factors (names in ``prob``) a move of Δ is a jump from one value to another,
    which has no slope to scale: their μ, μ*, its interval and σ are multiplied back by Δ, so
    μ* is the mean absolute change of the outcome over the design's jumps between values."""
    from SALib.analyze import morris as morris_analyze
    from SALib.sample import morris as morris_sample

    _check_n(n, "n")
    t = time.perf_counter()
    X = morris_sample.sample(dict(prob), int(n), num_levels=num_levels, seed=seed)
    Y = np.asarray(fn(X), dtype=float).reshape(X.shape[0], -1)
    unknown = [d for d in discrete if d not in prob["names"]]
    if unknown:
        raise InputError(field="discrete", value=unknown[0], problem="not a parameter name")
    step = morris_step(num_levels)
    rows = []
    for j, m in enumerate(metrics):
        si = morris_analyze.analyze(dict(prob), X, Y[:, j], num_resamples=num_resamples,
                                    conf_level=conf_level, num_levels=num_levels, seed=seed)
        for i, p in enumerate(prob["names"]):
            scale = step if p in discrete else 1.0
            rows.append({"metric": m, "parameter": p, "mu": float(si["mu"][i]) * scale,
                         "mu_star": float(si["mu_star"][i]) * scale,
                         "mu_star_conf": float(si["mu_star_conf"][i]) * scale,
                         "sigma": float(si["sigma"][i]) * scale})
    table = pd.DataFrame(rows)
    table["rank"] = table.groupby("metric")["mu_star"].rank(ascending=False, method="min"
                                                            ).astype(int)
    return SensitivityResult("morris", table, dict(prob), tuple(metrics), X, Y, int(n),
                             int(seed), time.perf_counter() - t,
                             {"conf_level": conf_level, "num_levels": num_levels,
                              **({"discrete": list(discrete)} if discrete else {})})


def _check_n(n: Any, name: str) -> None:
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 2:
        raise InputError(field=name, value=n, problem="must be a whole number >= 2")


def _scenario_fn(scenario: Scenario, specs: Sequence[ParamSpec], metrics: Sequence[str],
                 seed: int | None, settings: Settings | None, replications: int, chunk: int | None,
                 base: str | Path | None = None, noise: bool | None = None,
                 workers: int | None = None) -> Callable[[np.ndarray], np.ndarray]:
    names = [s.name for s in specs]
    choices = {s.name: list(s.values) for s in specs if s.values is not None}
    return lambda X: evaluate_samples(scenario, names, X, seed, metrics=metrics,
                                      settings=settings, replications=replications, chunk=chunk,
                                      choices=choices, base=base, noise=noise,
                                      workers=workers)


def _specs(scenario: Scenario, params: Any) -> list[ParamSpec]:
    if isinstance(params, str | Path):
        return load_params(params, scenario)
    if params and all(isinstance(p, ParamSpec) for p in params):
        return list(params)
    return params_from_list(scenario, params)


def sobol(scenario: Scenario, params: Any, n: int = 256, *,
          metrics: Sequence[str] = DEFAULT_METRICS, seed: int | None = None,
          replications: int = 1, settings: Settings | None = None, chunk: int | None = None,
          second_order: bool = False, conf_level: float = 0.95, num_resamples: int = 200,
          noise: bool | None = None, workers: int | None = None) -> SensitivityResult:
    """Sobol first- and total-order indices (with ``conf_level`` bootstrap intervals) of the
    outcome ``metrics`` to the ``params`` (a params file, or a list of ``{name, bounds}``).
    ``noise``: the Monte Carlo's noise on or off (default: :func:`noisy`); ``workers`` the
    processes that evaluate the samples (:func:`evaluate_samples`)."""
    specs = _specs(scenario, params)
    seed = scenario.seed if seed is None else int(seed)
    base = Path(params).parent if isinstance(params, str | Path) else None
    noise = noisy(scenario, settings, noise)
    fn = _scenario_fn(scenario, specs, metrics, seed, settings, replications, chunk, base,
                      noise, workers)
    res = run_sobol(fn, problem(specs), n, metrics, seed=seed, second_order=second_order,
                    conf_level=conf_level, num_resamples=num_resamples)
    return _tag(res, scenario, replications, specs, noise)


def morris(scenario: Scenario, params: Any, n: int = 20, *,
           metrics: Sequence[str] = DEFAULT_METRICS, seed: int | None = None,
           replications: int = 1, settings: Settings | None = None, chunk: int | None = None,
           num_levels: int = 4, conf_level: float = 0.95, num_resamples: int = 200,
           noise: bool | None = None, workers: int | None = None) -> SensitivityResult:
    """Morris screening (``n`` trajectories) of the outcome ``metrics`` to the ``params``;
    ``noise`` and ``workers`` as for :func:`sobol`."""
    specs = _specs(scenario, params)
    seed = scenario.seed if seed is None else int(seed)
    base = Path(params).parent if isinstance(params, str | Path) else None
    noise = noisy(scenario, settings, noise)
    fn = _scenario_fn(scenario, specs, metrics, seed, settings, replications, chunk, base,
                      noise, workers)
    res = run_morris(fn, problem(specs), n, metrics, seed=seed, num_levels=num_levels,
                     conf_level=conf_level, num_resamples=num_resamples,
                     discrete=[s.name for s in specs if s.values is not None])
    return _tag(res, scenario, replications, specs, noise)


def _tag(res: SensitivityResult, scenario: Scenario, replications: int,
         specs: Sequence[ParamSpec] = (), noise: bool = True) -> SensitivityResult:
    chosen = {s.name: list(s.values) for s in specs if s.values is not None}
    info = {**res.info, **({"choices": chosen} if chosen else {}),
            "scenario": scenario.name, "projects": scenario.portfolio.n_projects,
            "replications": replications, "noise": bool(noise),
            "units": {m: metrics.lookup(scenario.grading.labels, m).unit
                      for m in res.metrics}}
    return SensitivityResult(res.method, res.table, res.problem, res.metrics, res.X, res.Y,
                             res.n, res.seed, res.seconds, info)


# --- plain Monte Carlo over the same factors ---------------------------------------------------

def uncertainty_samples(scenario: Scenario, params: Any, n: int = 256, *,
                        metrics: Sequence[str] = DEFAULT_METRICS, seed: int | None = None,
                        replications: int = 1, settings: Settings | None = None,
                        chunk: int | None = None, noise: bool | None = None,
                        workers: int | None = None) -> pd.DataFrame:
    """A plain Monte Carlo uncertainty analysis over the ``params`` (a params file or list, as
    for :func:`sobol`, discrete factors included): ``n`` independent uniform draws of all the
    factors (``numpy`` stream of ``seed``, default the scenario's), each evaluated by the same
    model as :func:`sobol`. One row per draw: the value of each factor (a discrete factor's
    value as written, e.g. ``entropy``) and the metrics; group by a factor to see the spread
    of an outcome under each method."""
    specs = _specs(scenario, params)
    _check_n(n, "n")
    seed = scenario.seed if seed is None else int(seed)
    lo = np.array([s.bounds[0] for s in specs])
    hi = np.array([s.bounds[1] for s in specs])
    X = lo + (hi - lo) * np.random.default_rng(seed).random((int(n), len(specs)))
    base = Path(params).parent if isinstance(params, str | Path) else None
    Y = _scenario_fn(scenario, specs, metrics, seed, settings, replications, chunk, base,
                     noise, workers)(X)
    cols: dict[str, Any] = {}
    for j, s in enumerate(specs):
        if s.values is None:
            cols[s.name] = X[:, j]
        else:
            shown = [_shown(v) for v in s.values]
            cols[s.name] = [shown[k] for k in choice_index(X[:, j], len(s.values))]
    for j, m in enumerate(metrics):
        cols[m] = Y[:, j]
    return pd.DataFrame(cols)


# --- output ------------------------------------------------------------------------------------

def _shown(value: Any) -> str:
    """A discrete factor's value as written: a name, a mapping or a list."""
    if isinstance(value, str):
        return value
    return str(dict(value)) if isinstance(value, Mapping) else str(value)


def format_sensitivity(res: SensitivityResult) -> str:
    """Readable tables, one per metric."""
    i = res.info
    head = (f"{res.method} sensitivity: {i.get('scenario', '')}, {res.problem['num_vars']} "
            f"parameters, n = {res.n}, {res.evaluations:,} model evaluations "
            f"({i.get('projects', '?')} projects × {i.get('replications', 1)} replication(s)"
            f"{'' if i.get('noise', True) else ', no noise'}), "
            f"{res.seconds:.1f} s, seed {res.seed}")
    lines = [head]
    for name, values in i.get("choices", {}).items():
        lines.append(f"discrete factor {name}: " + " | ".join(
            _shown(v) for v in values)
            + " (each value an equal share of the U[0, 1) draw)")
    for m in res.metrics:
        t = res.table.loc[res.table["metric"] == m].drop(columns=["metric"])
        unit = i.get("units", {}).get(m, "")
        lines.append("")
        if res.method == "sobol":
            lines.append(f"{m} ({unit}): first-order S1 and total-order ST, ± "
                         f"{i.get('conf_level', 0.95):.0%} interval half-width")
            t = t.sort_values("ST", ascending=False)
            body = pd.DataFrame({
                "parameter": t["parameter"],
                "S1": [f"{a:.3f} ± {b:.3f}" if a == a else "—" for a, b in zip(
                    t["S1"], t["S1_conf"], strict=True)],
                "ST": [f"{a:.3f} ± {b:.3f}" if a == a else "—" for a, b in zip(
                    t["ST"], t["ST_conf"], strict=True)],
                "note": t["note"]})
        else:
            per = ("per full parameter range; a discrete factor: per jump between values"
                   if i.get("discrete") else "per full parameter range")
            lines.append(f"{m} ({unit} {per}): Morris μ* ± interval, μ, σ")
            t = t.sort_values("mu_star", ascending=False)
            body = pd.DataFrame({
                "rank": t["rank"], "parameter": t["parameter"],
                "mu_star": [f"{numbers.number(a, 4)} ± {numbers.number(b, 4)}" for a, b in zip(
                    t["mu_star"], t["mu_star_conf"], strict=True)],
                "mu": [numbers.number(v, 4) for v in t["mu"]],
                "sigma": [numbers.number(v, 4) for v in t["sigma"]]})
        lines += ["  " + ln for ln in body.to_string(index=False).splitlines()]
    return "\n".join(lines)


def tidy_long(res: SensitivityResult) -> pd.DataFrame:
    """The table in long form: metric, parameter, index (S1/ST or mu_star/mu/sigma), value,
    conf (interval half-width, NaN where none)."""
    t = res.table
    if res.method == "sobol":
        parts = [t.assign(index=k, value=t[k], conf=t[f"{k}_conf"]) for k in ("S1", "ST")]
    else:
        parts = [t.assign(index="mu_star", value=t["mu_star"], conf=t["mu_star_conf"]),
                 t.assign(index="mu", value=t["mu"], conf=math.nan),
                 t.assign(index="sigma", value=t["sigma"], conf=math.nan)]
    return pd.concat(parts)[["metric", "parameter", "index", "value", "conf"]].reset_index(
        drop=True)
