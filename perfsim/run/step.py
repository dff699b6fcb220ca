"""One year step: everything a year of the evaluation cycle does, from state to state.

:func:`step` takes the state a year starts from (:class:`YearState`: latent performance,
budgets, the projects in the portfolio, the runs and blacklists the cycle carries) and the
year's prepared draws, and runs, in this order:

    entrants (their pre-evaluation and a blacklisted unit's cut) ─> bonus leaves ─> coverage
    and cross-year stages (who self-evaluates, what shows) ─> the evaluation process (self-
    evaluation, spot checks, re-check rules) ─> monitoring (pace and targets) ─> the year
    kernel (:func:`perfsim.kernel.year.evaluate_year`: grades, rectification, preconditions,
    blacklists, pre-evaluation, linkage) ─> the registry's metrics ─> next year's state.

It returns the next state, the year's :class:`~perfsim.kernel.year.YearOutcome` and its
metrics. The dynamics across years are choices with the older behaviour one option away
(docs/tasks/cycle.md): a request passes the pre-evaluation once
(``simulation.dynamics.pre_evaluation``), the portfolio's condition flags hold
``simulation.dynamics.flag_years`` years from a project's entry, a recovery lowers the year's
funds, not next year's base (``simulation.dynamics.recovery``), and execution pace is on
schedule, not the latent performance (``simulation.monitoring.pace``).

The Monte Carlo (:mod:`perfsim.run.simulate`) loops over it year after year; the
sensitivity analysis (:mod:`perfsim.run.sensitivity`) runs its first year for every
parameter sample. :class:`YearRows` holds what stays fixed over the years for a batch of rows
(replications or samples): the design per row, the evaluation process, inflation, units;
:class:`Streams` gives the year's draws that come from streams of their own (rectification,
pre-evaluation, monitoring targets, bonus leaves).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, overload

import numpy as np
import pandas as pd

from perfsim.errors import InputError
from perfsim.kernel import metrics
from perfsim.kernel.evaluation import (
    Costs,
    Measure,
    Process,
    ProcessScores,
    Targets,
    YearDraws,
    check_count,
    evaluate_process,
    monitor,
    per_row,
    recheck_scores,
)
from perfsim.kernel.grading import Grading
from perfsim.kernel.linkage import Linkage, row_value
from perfsim.kernel.measurement import LeafSpace
from perfsim.kernel.strategy import check_chance, learn, perceived, reach_lines, respond
from perfsim.kernel.year import CycleState, YearOutcome, blacklisted_entrants, evaluate_year
from perfsim.model.params import Parameter, RowDesign
from perfsim.model.scenario import Scenario
from perfsim.model.settings import Settings, check_rationing
from perfsim.model.streams import (
    monitoring_draw,
    pre_evaluation_draw,
    rectification_draw,
)

# --- the inputs a worker needs (picklable, small) -------------------------------------------

@dataclass(frozen=True, eq=False)
class SimInputs:
    """Everything a worker needs to simulate blocks of replications."""

    seed: int
    settings: Settings
    mean: np.ndarray          # (P, I) long-run true leaf attainment (leaf units)
    theta: np.ndarray         # (P,) latent long-run performance, share of the total
    measure: Measure          # leaf attainments → scores
    budget: np.ndarray        # (P,) yuan
    inflation_mean: np.ndarray  # (P,) per project (department-specific)
    flags: Mapping[str, np.ndarray]
    grading: Grading
    linkage: Linkage
    project_ids: np.ndarray
    departments: np.ndarray
    true_score: np.ndarray    # (P,) points of the long-run truth, for the project table
    reliability: float        # share of the observed score variance that is true performance
    params: Mapping[str, Parameter]  # the registry entries design uncertainty samples
    scenario: Scenario        # for the parameter registry (applied per replication)
    units: np.ndarray | None = None   # (P,) each project's unit index (blacklists, departments)
    space: LeafSpace | None = None    # measurement space (None: attainment space)
    years_left: np.ndarray | None = None  # (P,) years to completion (cross-year projects)
    #: units that respond: what each project keeps at each grade, share of its budget (P, G)
    grade_money: np.ndarray | None = None
    #: the metrics recorded per replication and year (None: the whole registry)
    metrics: tuple[str, ...] | None = None

    @property
    def n_projects(self) -> int:
        return self.theta.size

    @property
    def entrants_per_year(self) -> int:
        return int(round(self.settings.entry_rate * self.n_projects))

    @property
    def n_slots(self) -> int:
        return self.n_projects + self.entrants_per_year * (self.settings.years - 1)



def targets_of(settings: Settings, design: RowDesign | None = None) -> Targets:
    """The target-attainment half of dual monitoring from the settings (per-row minimum and
    noise from ``design``)."""
    s = settings
    get = (lambda name: getattr(s, name)) if design is None else (
        lambda name: design.setting(name, getattr(s, name)))
    return Targets(minimum=per_row(get("target_minimum"), 2),
                   noise=per_row(get("target_noise"), 2),
                   consequence=s.target_consequence, year_end_clearing=s.year_end_clearing)


def block_draws(fn: Any, seed: int, blocks: range, sizes: Sequence[int], slots: int,
                year: int, *columns: int, **options: int) -> np.ndarray:
    """A per-block, per-year stream's draws (``fn``: a :mod:`perfsim.model.streams` draw)
    for the rows of ``blocks``, stacked in block order."""
    return np.concatenate([fn(seed, n, slots, *columns, block=b, year=year, **options)
                           for b, n in zip(blocks, sizes, strict=True)], axis=0)


def gate_entrants(inputs: SimInputs, design: RowDesign, new: slice, budget: np.ndarray,
                  active: np.ndarray, resume: np.ndarray, points: np.ndarray,
                  z: np.ndarray) -> dict[str, np.ndarray]:
    """The pre-evaluation of the new projects entering this year (columns ``new``), judged
    on their latent score (``points``) plus the gate's noise × ``z``: a reduced request
    enters with its reduced budget, a rejected one never enters, a postponed one enters next
    year with its request. Updates ``budget``, ``active`` and ``resume`` in place; returns
    the decisions and the yuan saved for the year's kernel call (``entry_gate``,
    ``entry_saved``)."""
    pre, rows = inputs.linkage.pre_evaluation, design.linkage or None
    sd = row_value(rows, "pre_evaluation.noise", pre.noise)
    code, after, saved = pre.judge(points[:, new] + sd * z[:, new], budget[:, new], rows)
    budget[:, new] = np.where(code == 2, budget[:, new], after)
    active[:, new] = code <= 1
    resume[:, new] |= code == 2
    gate = np.full(active.shape, -1, dtype=np.int8)
    gate[:, new] = code
    spared = np.zeros(active.shape)
    spared[:, new] = saved
    return {"entry_gate": gate, "entry_saved": spared}


def costs_of(settings: Settings, design: RowDesign | None = None) -> Costs:
    """What evaluation costs per evaluator type (per-row values from ``design``)."""
    s = settings
    get = (lambda name: getattr(s, name)) if design is None else (
        lambda name: design.setting(name, getattr(s, name)))
    return Costs(self_yuan=get("cost_self"), recheck_yuan=get("cost_recheck"),
                 self_days=get("days_self"), recheck_days=get("days_recheck"),
                 intermediary_yuan=s.intermediary_cost, intermediary_days=s.intermediary_days,
                 third_party_yuan=s.third_party_cost, third_party_days=s.third_party_days,
                 deposit=s.deposit, instead_of_self=s.intermediary_instead_of_self)


def process_of(settings: Settings, measure: Measure, design: RowDesign | None = None,
               cutoffs: Sequence[float] | None = None) -> Process:
    """The year's evaluation process from the settings (per-row values from ``design``); a
    portfolio of ready scores has no leaves, hence no leaf dispersion. ``cutoffs`` are the
    grade lines that checks ``near_cutoffs`` look at."""
    s = settings
    get = (lambda name: getattr(s, name)) if design is None else (
        lambda name: design.setting(name, getattr(s, name)))
    days, funds = get("check_days_budget"), get("check_funds_share")
    check_rationing(days, get("days_recheck"), funds, s.check_selection)   # per-row values
    return Process(dispersion=0.0 if measure.ready else get("leaf_dispersion"),
                   noise=get("measurement_noise"),
                   recheck_noise=get("recheck_noise"), check_share=get("check_share"),
                   selection=s.check_selection, replace=s.recheck_replaces,
                   gap_rule=s.gap_rule, gap_on=s.gap_on,
                   gap=s.gap, per=s.gap_per, step=s.gap_step,
                   gap_mode=s.gap_mode,
                   penalty=s.inflation_penalty,
                   cutoffs=tuple(float(c) for c in (cutoffs or ())), band=s.check_band,
                   unchecked_bonus=s.unchecked_bonus,
                   mix=tuple((k, float(v)) for k, v in s.check_mix.items()),
                   intermediary=(s.intermediary_noise, s.intermediary_bias),
                   third_party=(s.third_party_noise, s.third_party_bias),
                   intermediary_share=get("intermediary_share"),
                   third_party_min_budget=get("third_party_min_budget"),
                   deposit_tolerance=s.deposit_tolerance, deposit_basis=s.deposit_basis,
                   days_budget=days,
                   check_days=get("days_recheck"), funds_share=funds)


def department_risk(settings: Settings, departments: np.ndarray) -> np.ndarray:
    """Each project's risk weight for ``risk`` checks: its department's
    (``simulation.spot_check.risk_departments``; 1 where not listed)."""
    weights = settings.check_risk_departments
    if not weights:
        return np.ones(len(departments))
    return pd.Series(np.asarray(departments).astype(str)).map(
        {str(k): float(v) for k, v in weights.items()}).fillna(1.0).to_numpy(dtype=float)



# --- the rows, the streams, the state ---------------------------------------------------------

@dataclass(frozen=True, eq=False)
class Streams:
    """The year's draws from streams of their own (:mod:`perfsim.model.streams`), for the rows
    of ``blocks`` (``sizes`` rows each) and ``slots`` slots, repeated ``tile`` times along the
    rows (a sensitivity analysis: every sample sees the same draws). ``bonus`` gives each
    year's standard normals (rows, slots, bonus leaves) for the bonus leaves of measurement
    space: the Monte Carlo's generators (one per block, drawn year after year), or fixed
    draws (one year)."""

    seed: int
    blocks: range
    sizes: tuple[int, ...]
    slots: int
    tile: int = 1
    bonus_generators: tuple[tuple[np.random.Generator, int], ...] = ()
    bonus_fixed: np.ndarray | None = None

    def _rows(self, a: np.ndarray) -> np.ndarray:
        return a if self.tile == 1 else np.tile(a, (self.tile,) + (1,) * (a.ndim - 1))

    def year(self, fn: Callable[..., np.ndarray], year: int, *columns: int,
             **options: int) -> np.ndarray:
        """``fn``'s draws (a :mod:`perfsim.model.streams` draw) of ``year`` for the rows."""
        return self._rows(block_draws(fn, self.seed, self.blocks, self.sizes, self.slots,
                                      year, *columns, **options))

    def bonus(self, leaves: int) -> np.ndarray:
        """This year's standard normals (rows, slots, ``leaves``) of the bonus leaves."""
        if self.bonus_fixed is not None:
            return self._rows(self.bonus_fixed)
        return self._rows(np.concatenate([g.standard_normal((n, self.slots, leaves))
                                          for g, n in self.bonus_generators], axis=0))


@dataclass(frozen=True, eq=False)
class YearRows:
    """What stays fixed over the years for a batch of rows × slots (projects, then
    entrants): the scenario's inputs, the design per row, the evaluation process, each
    slot's long-run latent performance (share), inflation (attainment units), risk weight,
    unit, flags, and the streams of the year's own draws. ``points`` score the evaluations,
    ``true_points`` the truth (the file's points in the Monte Carlo, whose design
    uncertainty is judged against the design in force; each sample's own in a sensitivity
    analysis)."""

    inputs: SimInputs
    design: RowDesign
    process: Process
    measure: Measure
    space: LeafSpace | None
    points: np.ndarray
    true_points: np.ndarray
    theta_mu: np.ndarray         # (R, S) long-run latent performance, share of the total
    inflation: np.ndarray        # (R, S) attainment units
    risk: np.ndarray             # (R, S) or (1, S) risk weights of ``risk`` checks
    flags: Mapping[str, np.ndarray]
    units: np.ndarray | None     # (R, S) unit index (None: not given)
    costs: Costs
    entry_points: np.ndarray     # (R, S) points a new request is judged on
    streams: Streams
    metrics: tuple[str, ...]
    scratch: np.ndarray | None = None   # (R, S, I) reused by the evaluation process
    grade_money: np.ndarray | None = None   # (R, S, G) units that respond: kept at a grade
    #: the honest counterfactual is computed (False: nothing reads it, see ``year_rows``)
    honest: bool = True

    @property
    def settings(self) -> Settings:
        return self.inputs.settings

    @property
    def linkage(self) -> Linkage:
        return self.inputs.linkage

    @property
    def observed(self) -> bool:
        """The portfolio says who rectified (its first year only)."""
        return "rectified" in self.flags

    @property
    def later_flags(self) -> Mapping[str, np.ndarray]:
        return {k: v for k, v in self.flags.items() if k != "rectified"}

    @property
    def targets(self) -> bool:
        """Dual monitoring watches targets (in some row)."""
        return bool(self.settings.target_minimum) or "target_minimum" in self.design.settings


@dataclass(frozen=True, eq=False)
class YearState:
    """What a year starts from, rows × slots: ``year`` (0 = the first), latent performance
    ``theta`` (share), ``budget`` (yuan), the projects in the portfolio (``active``) and those
    postponed last year that come back (``resume``), the years in a row graded 差
    (``poor_run``), the evaluation cycle's runs and blacklists (``cycle``), each project's
    years to completion (cross-year projects), the projects whose re-check found inflation
    in an earlier year and the years each row's third party is still barred; ``gated``
    marks the projects whose request the pre-evaluation has judged (None: no gate)."""

    year: int
    theta: np.ndarray
    budget: np.ndarray
    active: np.ndarray
    resume: np.ndarray
    poor_run: np.ndarray
    cycle: CycleState
    years_left: np.ndarray | None
    found_before: np.ndarray
    barred_left: np.ndarray
    gated: np.ndarray | None = None
    belief: np.ndarray | None = None   # units that respond: belief raised by being caught


def slot_values(v: np.ndarray, pick: np.ndarray) -> np.ndarray:
    """A per-project array (projects, ...) over the slots of each row: the portfolio's
    projects, then the entrants ``pick`` (rows, entrants) resampled from them."""
    head = np.broadcast_to(v, (pick.shape[0],) + v.shape)
    return np.concatenate([head, np.take(v, pick, axis=0)], axis=1) if pick.shape[1] else head


def inflation_of(inputs: SimInputs, design: RowDesign, z: np.ndarray) -> np.ndarray:
    """Each project's inflation (rows, projects), attainment units: its department's mean
    (``self_evaluation.by_department``) or the design's (per row), plus the spread × the
    standard normals ``z``."""
    s = inputs.settings
    deps = inputs.departments.astype(str)
    fixed = np.isin(deps, [str(d) for d in s.inflation_by_department])
    mean = design.setting("inflation_mean", s.inflation_mean)
    sd = design.setting("inflation_sd", s.inflation_sd)
    return np.where(fixed, inputs.inflation_mean, per_row(mean, 2)) + per_row(sd, 2) * z


def year_rows(inputs: SimInputs, design: RowDesign, z_inflation: np.ndarray,
              pick: np.ndarray, streams: Streams, *, space: LeafSpace | None,
              true_points: np.ndarray | None = None, metric_names: Sequence[str] = (),
              scratch: np.ndarray | None = None, honest: bool = True
              ) -> tuple[YearRows, YearState]:
    """The rows of a run and the state of their first year: the portfolio's projects, then
    the entrants ``pick`` (rows, entrants) resampled from them; ``z_inflation`` (rows,
    projects) the standard normals of inflation; ``space`` measurement space as the rows
    see it (per project, or already per row). ``true_points`` default to the design's.
    Without ``honest`` the year is not evaluated again without inflation (a sensitivity
    analysis none of whose metrics read it: :func:`perfsim.kernel.metrics.need_honest`)."""
    s = inputs.settings
    R, P0 = z_inflation.shape
    S = P0 + pick.shape[1]

    def slots(v: np.ndarray) -> np.ndarray:
        return slot_values(v, pick)

    inflation = inflation_of(inputs, design, z_inflation)
    if S > P0:
        inflation = np.concatenate([inflation, np.take_along_axis(inflation, pick, axis=1)],
                                   axis=1)
    measure = inputs.measure
    if np.ndim(measure.bonus):
        measure = dataclasses.replace(measure, bonus=slots(measure.bonus))
    if measure.cells is not None:   # each project's own points: the entrants take theirs
        if design.points is not None:
            raise InputError(inputs.scenario.source, field="weights",
                             problem="a portfolio whose projects carry their own leaves "
                                     "keeps each table's points: no weights per row")
        if S > P0:
            measure = dataclasses.replace(measure, cells=slots(measure.cells))
    points = inputs.measure.points if design.points is None else design.points
    theta_mu = slots(inputs.theta)
    rows = YearRows(
        inputs=inputs, design=design,
        process=process_of(s, inputs.measure, design, cutoffs=inputs.grading.cutoffs),
        measure=measure, space=space, points=points,
        true_points=points if true_points is None else true_points, theta_mu=theta_mu,
        inflation=inflation, risk=slots(department_risk(s, inputs.departments)),
        flags={k: slots(v) for k, v in inputs.flags.items()},
        units=None if inputs.units is None else slots(inputs.units),
        costs=costs_of(s, design), entry_points=slots(inputs.true_score), streams=streams,
        metrics=tuple(metric_names), scratch=scratch, honest=honest,
        grade_money=None if inputs.grade_money is None else slots(inputs.grade_money))
    active = np.zeros((R, S), dtype=bool)
    active[:, :P0] = True
    cross = inputs.linkage.cross_year
    state = YearState(
        year=0, theta=theta_mu.copy(), budget=slots(inputs.budget), active=active,
        resume=np.zeros((R, S), dtype=bool), poor_run=np.zeros((R, S), dtype=np.int16),
        cycle=CycleState(),
        years_left=None if cross is None else slots(inputs.years_left).copy(),
        found_before=np.zeros((R, S), dtype=bool), barred_left=np.zeros(R, dtype=np.int64),
        gated=None if inputs.linkage.pre_evaluation is None else np.zeros((R, S), dtype=bool),
        belief=np.zeros((R, S)) if s.self_strategy == "best_response" else None)
    return rows, state


def claims_of(rows: YearRows, belief: np.ndarray, budget: np.ndarray, active: np.ndarray,
              risk: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """Units that respond (``simulation.self_evaluation.strategy: best_response``): the map
    from the year's honest self-scores (rows, slots) to the self-scores the units report.

    Each unit weighs its honest score and the least claim that reaches each cut line within
    ``max_inflation`` points (:func:`perfsim.kernel.strategy.reach_lines`), each graded
    unchecked and, when a re-check finds its honest score, checked under the re-check rules
    (:func:`perfsim.kernel.evaluation.recheck_scores`); the money is its budget times what
    its grade keeps (``rows.grade_money``). The chance of a check is what the check rules and
    the others' honest self-scores let it infer (:func:`perfsim.kernel.strategy.check_chance`),
    raised by its belief; it chooses by :func:`perfsim.kernel.strategy.respond`."""
    s, p, grading = rows.settings, rows.process, rows.inputs.grading
    design = rows.design
    cutoffs = design.cutoffs if design.cutoffs is not None else np.asarray(grading.cutoffs)
    lines = dataclasses.replace(grading, quotas={})   # a unit reckons by the lines alone
    rules = dict(replace=p.replace, gap_rule=p.gap_rule and p.gap_on != "department",
                 gap=p.gap, per=p.per, step=p.step, gap_mode=p.gap_mode,
                 inflation_penalty=p.penalty, unchecked_bonus=p.unchecked_bonus)
    n_active = active.sum(axis=-1, keepdims=True)
    funded = np.rint(per_row(p.funds_share, 2) * n_active)
    n_check = check_count(n_active, p.check_share, p.days_budget, p.check_days,
                          p.funds_share, funded)
    keep = rows.grade_money                                            # (R, S, G)
    reach = per_row(design.setting("max_inflation", s.max_inflation), 2)   # one per row

    def claim(honest: np.ndarray) -> np.ndarray:
        claims = reach_lines(honest, cutoffs, reach, p.unchecked_bonus)
        K = claims.shape[0]
        shape = claims.shape
        truth = np.broadcast_to(honest, shape)

        def money(scores: np.ndarray) -> np.ndarray:
            g = lines.grade(scores.reshape(K * shape[1], -1),
                            None if design.cutoffs is None else np.tile(cutoffs, (K, 1)))
            kept = np.take_along_axis(np.broadcast_to(keep, shape + keep.shape[-1:]),
                                      g.reshape(shape)[..., None].astype(np.intp), -1)[..., 0]
            return np.where(active, budget, 0.0) * kept

        unchecked = money(recheck_scores(claims, truth, np.zeros(shape, dtype=bool), **rules))
        checked = money(recheck_scores(claims, truth, np.ones(shape, dtype=bool), **rules))
        chance = perceived(check_chance(p.selection, n_check, active, claims, honest, budget,
                                        risk=risk, cutoffs=p.cutoffs, band=p.band,
                                        mix=p.mix), belief[None])
        pick = respond(unchecked, checked, chance)
        return np.take_along_axis(claims, pick[None], axis=0)[0]

    return claim


def entry_years(inputs: SimInputs, slots: int) -> np.ndarray:
    """The year each slot enters the portfolio (slots,): 0 for the portfolio's projects,
    then ``entrants_per_year`` entrants a year from year 1."""
    P0, n = inputs.n_projects, max(inputs.entrants_per_year, 1)
    return np.concatenate([np.zeros(P0, dtype=np.int64),
                           1 + np.arange(slots - P0, dtype=np.int64) // n])


def flags_of_year(rows: YearRows, t: int, slots: int) -> Mapping[str, np.ndarray]:
    """The condition flags in force in year ``t``: the portfolio's (its ``rectified`` column
    the first year only), each holding ``simulation.dynamics.flag_years`` years from the
    project's entry — after them the condition counts as met (0: every year, the flags
    never change)."""
    flags = rows.flags if t == 0 else rows.later_flags
    n = rows.settings.flag_years
    if not flags or n == 0 or t < n:
        return flags
    held = (t - entry_years(rows.inputs, slots)) < n          # (slots,)
    return {k: np.where(held, np.asarray(v, dtype=bool), True) for k, v in flags.items()}


# --- a year on observed scores ----------------------------------------------------------------

def cycle_args(scenario: Scenario, rows: int = 1) -> dict[str, Any]:
    """The evaluation cycle's inputs of a first year, for ``rows`` kernel rows: the
    rectification draws (stream ``rectification``, block 0, year 0 — the one-year run is
    replication 0 of the Monte Carlo), each project's unit (department: blacklists and the
    coverage of each department's funds), the pre-evaluation's noise (stream
    ``pre_evaluation``, block 0, year 0) and each project's years to completion (cross-year
    projects); None where the linkage has no such rule."""
    link, pf = scenario.linkage, scenario.portfolio
    draw = None
    if link.rectification is not None and "rectified" not in pf.table.columns:
        draw = rectification_draw(scenario.seed, rows, pf.n_projects)
    pre = None
    if link.pre_evaluation is not None:
        pre = pre_evaluation_draw(scenario.seed, rows, pf.n_projects)
    return {"rectify_draw": draw, "units": pf.unit_index, "pre_draw": pre,
            "years_left": pf.years_left if link.cross_year is not None else None}


def observed_year(scenario: Scenario, scores: np.ndarray | None = None) -> YearOutcome:
    """The year on scores as observed — no evaluation process: ``scores`` (rows, projects)
    in points, default the portfolio's own (one row) — graded and linked under the
    scenario's rules with the one-year run's evaluation-cycle draws (:func:`cycle_args`),
    the same for every row (common random numbers: a project rectifies, or not, whatever
    row graded it). The one-year run, the scheme comparison and the strategic units'
    gains all take this year."""
    pf = scenario.portfolio
    score = np.atleast_2d(np.asarray(scenario.scores() if scores is None else scores,
                                     dtype=float))
    return evaluate_year(score, pf.budget, scenario.grading, scenario.linkage,
                         flags=pf.flags(), **cycle_args(scenario))


# --- the step ---------------------------------------------------------------------------------

def year_scores(rows: YearRows, state: YearState, draws: YearDraws) -> ProcessScores:
    """The evaluation process's scores of one year of the rows (:func:`step` up to them,
    nothing after: no grading, linkage, metrics or next state) — what a sensitivity
    analysis's samples share."""
    return step(rows, state, draws, scores_only=True)


@overload
def step(rows: YearRows, state: YearState, draws: YearDraws,
         entered: Callable[[np.ndarray], None] | None = None, *,
         scores: ProcessScores | None = None, scores_only: Literal[False] = False
         ) -> tuple[YearState, YearOutcome, dict[str, np.ndarray]]: ...


@overload
def step(rows: YearRows, state: YearState, draws: YearDraws,
         entered: Callable[[np.ndarray], None] | None = None, *,
         scores: ProcessScores | None = None, scores_only: Literal[True]) -> ProcessScores: ...


def step(rows: YearRows, state: YearState, draws: YearDraws,
         entered: Callable[[np.ndarray], None] | None = None, *,
         scores: ProcessScores | None = None, scores_only: bool = False
         ) -> tuple[YearState, YearOutcome, dict[str, np.ndarray]] | ProcessScores:
    """One year of the rows from ``state``, with the year's ``draws`` made ready by
    :func:`perfsim.kernel.evaluation.prepare_leaves` (consumed). ``entered`` is called with
    the projects in the portfolio once this year's entrants are in (the Monte Carlo starts
    next year's draws then). Returns the next year's state, the year's outcome (the process's
    scores in ``outcome.scores``) and the metrics ``rows.metrics`` (one value per row).
    ``scores``: the process's scores of these rows already known (a sensitivity sample that
    differs from another only after scoring: :mod:`perfsim.run.sensitivity`); the leaves in
    ``draws`` are then not read. ``scores_only``: return the process's scores, nothing after
    them (:func:`year_scores`)."""
    inputs, s, link, design = rows.inputs, rows.settings, rows.linkage, rows.design
    t, theta, theta_mu = state.year, state.theta, rows.theta_mu
    budget, active, resume, cycle = state.budget, state.active, state.resume, state.cycle
    R, S = active.shape
    P0 = inputs.n_projects
    lrows = design.linkage or None
    entry = None
    gated = state.gated
    if t > 0 and S > P0:
        budget, active, resume = budget.copy(), active.copy(), resume.copy()
        n_new = inputs.entrants_per_year
        lo = P0 + (t - 1) * n_new
        new = slice(lo, lo + n_new)
        active[:, new] = True
        if link.pre_evaluation is not None:   # new requests pass the gate as they enter
            entry = gate_entrants(inputs, design, new, budget, active, resume,
                                  rows.entry_points,
                                  rows.streams.year(pre_evaluation_draw, t, part=1))
            if state.gated is not None:
                gated = state.gated.copy()
                gated[:, new] = True
        listed = (None if link.blacklist is None or rows.units is None else
                  blacklisted_entrants(cycle, rows.units[:, new]))
        if listed is not None:   # a blacklisted unit's new requests are cut alike
            part = 1.0 - row_value(lrows, "blacklist.cut", link.blacklist.cut)
            b = budget[:, new]
            budget[:, new] = np.where(listed, b * part, b)
            active[:, new] &= budget[:, new] > 0
    if entered is not None:
        entered(active)
    measure, space = rows.measure, rows.space
    if space is not None and space.bonus_rules:   # bonus leaves move with the performance
        change = per_row(design.setting("leaf_dispersion", s.leaf_dispersion), 3) * \
            rows.streams.bonus(len(space.bonus_rules))
        if t:
            change += (theta - theta_mu)[:, :, None]
        measure = dataclasses.replace(measure, bonus=space.bonus(change))
    weight = rows.risk * (1.0 + s.check_risk_history * state.found_before) \
        if s.check_risk_history else rows.risk
    expected = None   # what each unit expects of its projects: the latent score
    if link.coverage is not None and link.coverage.fill == "best":
        scale = float((inputs.measure.points * inputs.measure.span).sum())  # share → points
        expected = rows.entry_points + scale * (theta - theta_mu)
    years_left = state.years_left
    covered = link.evaluated(budget, active, rows.units, lrows, years_left, expected)
    cross = link.cross_year
    shown = None if cross is None else cross.shown(years_left, lrows)
    barred = state.barred_left > 0 if s.blacklist_years else None
    claim = None
    if state.belief is not None and scores is None:   # units that respond choose their claims
        claim = claims_of(rows, state.belief, budget, active if covered is None else covered,
                          weight)
    sc = scores if scores is not None else evaluate_process(   # scores known: sensitivity
        theta - theta_mu if t else None, rows.inflation, measure, draws,
                          rows.process, budget, active if covered is None else covered,
                          rows.points, rows.true_points, rows.scratch, risk=weight,
                          space=space, shown=None if shown is None else np.broadcast_to(
                              shown, active.shape), barred=barred, claim=claim,
                          honest=rows.honest)
    if scores_only:
        return sc
    barred_left = state.barred_left
    if barred is not None and sc.evaluator is not None:   # a forfeit bars it N years
        barred_left = np.where((sc.evaluator == 3).any(axis=1), s.blacklist_years,
                               np.maximum(barred_left - 1, 0))
    found_before = state.found_before
    if s.check_risk_history:
        found_before = found_before | (sc.checked & (sc.self - sc.recheck > s.gap))
    belief = state.belief
    if belief is not None:   # a unit found inflated (the penalty's condition) learns
        belief = learn(belief, sc.checked & (sc.self - sc.recheck > s.gap),
                       per_row(design.setting("belief_update", s.belief_update), 2))
    recovered = watched = None
    attainment = np.clip(theta, 0.0, 1.0)   # target attainment: the latent performance
    # execution pace: on schedule (1: the share elapsed spent), or the latent performance
    pace = attainment if s.execution_pace == "performance" else np.ones_like(attainment)
    if s.checkpoints and not rows.targets:
        recovered = monitor(np.where(active, budget, 0.0), pace,
                            draws.z_exec, s.checkpoints, s.execution_sd, s.recovery_share)
    elif rows.targets:   # both halves: pace and targets
        watched = monitor(np.where(active, budget, 0.0), pace,
                          draws.z_exec, s.checkpoints, s.execution_sd, s.recovery_share,
                          targets_of(s, design),
                          rows.streams.year(monitoring_draw, t, len(s.checkpoints) + 2),
                          attainment=attainment)
    pre_draw = None
    if link.pre_evaluation is not None:
        pre_draw = rows.streams.year(pre_evaluation_draw, t)
    rect = link.rectification
    rect_draw = None
    if rect is not None and (t > 0 or not rows.observed):
        rect_draw = rows.streams.year(rectification_draw, t)
    once = gated if s.gate_continuing == "entry" else None
    year = dict(flags=flags_of_year(rows, t, S), active=active,
                cutoffs=design.cutoffs, table=design.table, recovered=recovered,
                poor_run=state.poor_run, escalation_years=s.escalation_years,
                rectify_draw=rect_draw, units=rows.units, state=cycle, rows=lrows,
                checked=sc.checked, costs=rows.costs, evaluator=sc.evaluator,
                pre_draw=pre_draw, evaluated=covered, years_left=years_left,
                monitoring=watched, gated=once, **(entry or {}))
    o = evaluate_year(sc.final, budget, inputs.grading, link, true_score=sc.true,
                      self_score=sc.self, **year)
    extra: dict[str, Any] = {"scores": sc}
    if sc.honest is not None:
        extra["honest"] = evaluate_year(sc.honest, budget, inputs.grading, link,
                                        self_score=sc.honest_self, **year)
        extra["inflation_points"] = np.where(active, sc.self - sc.honest_self, 0.0).sum(axis=1)
    if barred is not None:
        extra["third_party_barred"] = barred
    if space is not None and space.soft is not None:   # for the soft-target metrics
        extra["soft_targets"] = np.broadcast_to(space.soft, active.shape)
    o = dataclasses.replace(o, **extra)
    values = metrics.compute(o, list(rows.metrics), inputs.grading.labels) \
        if rows.metrics else {}

    # next year
    nxt = o.next_budget
    if s.recovery_scope == "year":   # a recovery took the year's funds, not the base
        back = o.recovered_by_monitoring + o.recovered_not_rectified
        if np.any(back):
            nxt = nxt + np.where(o.active, o.multiplier * back, 0.0)
    poor_run = np.where(o.graded & (o.grade == o.poor), state.poor_run + 1, 0).astype(np.int16)
    with np.errstate(divide="ignore", invalid="ignore"):
        growth = np.where((o.gross > 0) & (nxt > 0),
                          np.log(nxt / np.where(o.gross > 0, o.gross, 1.0)), 0.0)
    theta = theta_mu + s.persistence * (theta - theta_mu) + s.innovation_sd * \
        draws.z_theta + s.elasticity * growth
    effect = 0.0 if rect is None else row_value(lrows, "rectification.effect", rect.effect)
    if o.rectified is not None and np.any(np.asarray(effect) > 0):
        theta = theta + effect * o.rectified   # rectifying improves performance
    theta = np.clip(theta, 0.0, 1.0)
    if years_left is not None:   # a stage done; after the last, judged as annual
        years_left = np.where(active & (years_left > 1), years_left - 1, years_left)
    post = o.link.postponed   # out next year, back the year after with its budget
    if post is not None:
        post = post & active
    budget = np.where(active if post is None else active & ~post, nxt, budget)
    still = (active & (nxt > 0)) | resume
    if post is not None or resume.any():
        resume = np.zeros((R, S), dtype=bool) if post is None else post
    if gated is not None:   # every request in the portfolio this year has been judged
        gated = gated | active
    after = YearState(year=t + 1, theta=theta, budget=budget, active=still, resume=resume,
                      poor_run=poor_run, cycle=o.after, years_left=years_left,
                      found_before=found_before, barred_left=barred_left, gated=gated,
                      belief=belief)
    return after, o, values
