"""Monte Carlo settings: the ``simulation:`` block of a scenario file, validated once.

The YAML layout (block → key) is the public vocabulary: ``simulation.spot_check.share``,
``simulation.self_evaluation.noise``, ... (see :data:`LAYOUT`). Rates and shares are in
[0, 1]; noise and inflation are in attainment units (0.05 = 5% of each leaf's points).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from perfsim.errors import InputError
from perfsim.kernel.evaluation import SELECTIONS
from perfsim.model.constraints import CONSTRAINTS, check
from perfsim.model.streams import BLOCK

WEIGHT_UNCERTAINTY = CONSTRAINTS["simulation.uncertainty.weights"].choices
#: where the Monte Carlo adds noise: ``attainment`` (each leaf's share of points),
#: ``measurement`` (each leaf's measured value, scored by its rule) or ``auto`` (measurement
#: when the portfolio holds measurements under a system with targets)
SPACES = CONSTRAINTS["simulation.performance.space"].choices
#: who sets the targets in measurement space: the portfolio's, or each project's ambition
TARGETS_SET_BY = CONSTRAINTS["simulation.targets.set_by"].choices


@dataclass(frozen=True)
class Settings:
    """Simulation settings. Rates and shares are in [0, 1]; noise and inflation are in
    attainment units (0.05 = 5% of each leaf's points); ``cutoff_jitter`` is in points."""

    years: int = 1
    replications: int = 200
    chunk: int = 128
    # latent performance
    persistence: float = 0.8
    innovation_sd: float = 0.03
    elasticity: float = 0.0
    leaf_dispersion: float = 0.05
    # self-evaluation
    measurement_noise: float = 0.05
    inflation_mean: float = 0.0
    inflation_sd: float = 0.0
    inflation_by_department: Mapping[str, float] = field(default_factory=dict)
    #: none: the fixed inflation above; best_response: each unit chooses its own each year
    #: (:mod:`perfsim.kernel.strategy`), reaching at most ``max_inflation`` points, its
    #: perceived check chance raised by ``belief_update`` each time it is caught
    self_strategy: str = "none"
    belief_update: float = 0.5
    max_inflation: float = 20.0
    # spot checks and re-checks
    check_share: float = 0.0
    check_selection: str = "random"
    check_band: float = 2.0
    check_mix: Mapping[str, float] = field(default_factory=dict)
    check_risk_departments: Mapping[str, float] = field(default_factory=dict)
    check_risk_history: float = 0.0
    check_days_budget: float = 0.0      # staff-days for re-checks a year (0: no cap)
    check_funds_share: float = 0.0      # share of the funds the checks must cover (0: none)
    recheck_noise: float = 0.02
    recheck_replaces: bool = True
    gap_rule: bool = False
    gap_on: str = "project"             # project: off the graded score; department: off the
                                        # department's score (Wenzhou), no project score moves
    gap: float = 10.0
    gap_per: float = 1.0
    gap_step: float = 5.0
    gap_mode: str = "whole"
    inflation_penalty: float = 0.0
    unchecked_bonus: float = 0.0
    # dual monitoring: (share of the year elapsed, minimum execution rate)
    checkpoints: tuple[tuple[float, float], ...] = ()
    execution_sd: float = 0.1
    recovery_share: float = 1.0
    execution_pace: str = "schedule"    # schedule: pace of its own; performance: the old tie
    # dual monitoring, target attainment (0: execution pace only)
    target_minimum: float = 0.0
    target_noise: float = 0.1
    target_consequence: str = "warn"
    year_end_clearing: bool = False
    # what evaluation costs per project evaluated (yuan, staff-days)
    cost_self: float = 0.0
    cost_recheck: float = 0.0
    days_self: float = 0.0
    days_recheck: float = 0.0
    # portfolio dynamics
    entry_rate: float = 0.0
    escalation_years: int = 0
    gate_continuing: str = "entry"      # a continuing request is gated once (every_year: again)
    flag_years: int = 1                 # years the portfolio's condition flags hold (0: all)
    recovery_scope: str = "year"        # a recovery lowers the year's funds (base: the base)
    # design uncertainty
    weight_uncertainty: str = "none"
    weight_concentration: float = 200.0
    weight_pct: float = 0.1
    cutoff_jitter: float = 0.0
    ratio_range: tuple[float, float] | None = None
    # measurement space and target setting (see perfsim.kernel.measurement)
    space: str = "auto"
    targets_set_by: str = "portfolio"
    target_ambition: float = 0.0
    target_ambition_by_department: Mapping[str, float] = field(default_factory=dict)
    overcompletion_threshold: float | None = None
    overcompletion_rate: float = 1.0
    overcompletion_floor: float = 0.0
    target_recheck_resets: bool = False
    # evaluators besides the finance re-check (noise and bias in attainment units)
    intermediary_share: float = 0.0
    intermediary_noise: float = 0.02
    intermediary_bias: float = 0.0
    intermediary_cost: float = 0.0
    intermediary_days: float = 0.0
    third_party_min_budget: float = 0.0
    third_party_noise: float = 0.02
    third_party_bias: float = 0.0
    third_party_cost: float = 0.0
    third_party_days: float = 0.0
    deposit: float = 0.0
    deposit_tolerance: float = 0.0
    blacklist_years: int = 0            # years a third party is barred after a forfeit
    deposit_basis: str = "year"         # the deposit judged on what the year's check sees
    #: an intermediary's evaluation stands in for the unit's self-evaluation: the projects
    #: it evaluates are not self-evaluated (Weifang: 22 by the units + 7 by intermediaries)
    intermediary_instead_of_self: bool = False

    def __post_init__(self) -> None:
        def bad(name: str, problem: str) -> None:
            raise InputError(field=f"simulation.{_YAML_NAME.get(name, name)}",
                             value=getattr(self, name), problem=problem)

        for sel in self.check_mix:
            if sel not in SELECTIONS or sel == "mix":
                raise InputError(field=f"simulation.spot_check.mix.{sel}",
                                 problem="unknown selection (known: "
                                         f"{', '.join(x for x in SELECTIONS if x != 'mix')})")
        check_settings(self, math.inf)
        if self.year_end_clearing and not self.target_minimum:
            bad("year_end_clearing", "needs monitoring.targets (the attainment a project "
                                     "must reach)")
        if self.target_consequence != "warn" and not self.target_minimum:
            bad("target_consequence", "needs monitoring.targets (the attainment below which "
                                      "targets are clearly unreachable)")
        if self.self_strategy == "best_response":   # units choose: no fixed inflation
            for name in ("inflation_mean", "inflation_sd", "inflation_by_department"):
                v = getattr(self, name)
                if any(v.values()) if isinstance(v, Mapping) else v:
                    bad(name, "must be 0 with self_evaluation.strategy best_response (each "
                              "unit chooses its own inflation)")
        if self.weight_uncertainty == "dirichlet" and self.weight_concentration <= 0:
            bad("weight_concentration", "must be > 0")
        check_rationing(self.check_days_budget, self.days_recheck, self.check_funds_share,
                        self.check_selection)
        if self.check_selection == "mix" and (
                not self.check_mix or abs(sum(self.check_mix.values()) - 1) > 1e-9):
            bad("check_mix", "selection mix needs shares of the checks by selection that "
                             "add up to 1, e.g. {near_cutoffs: 0.5, random: 0.5}")
        for k, pair in enumerate(self.checkpoints):
            if (len(pair) != 2 or not all(_finite(x) and 0 <= x <= 1 for x in pair)):
                raise InputError(field=f"simulation.monitoring.checkpoints[{k}]",
                                 value=list(pair),
                                 problem="must be [share of year elapsed, minimum rate] in [0, 1]")
        if self.targets_set_by == "portfolio" and (
                self.target_ambition != 0 or self.target_ambition_by_department
                or self.target_recheck_resets):
            bad("targets_set_by", "must be ambition for targets.ambition, "
                                  "targets.by_department or targets.recheck_resets to act")

    def without_noise(self) -> Settings:
        """The same settings with every random source off: leaf dispersion, self-evaluation,
        re-check and execution noise, the spread of inflation and of latent performance, and
        design uncertainty. Systematic behaviour (mean inflation, spot-check rules,
        monitoring thresholds, dynamics) stays."""
        return dataclasses.replace(self, leaf_dispersion=0.0, measurement_noise=0.0,
                                   recheck_noise=0.0, inflation_sd=0.0, innovation_sd=0.0,
                                   execution_sd=0.0, target_noise=0.0,
                                   weight_uncertainty="none",
                                   cutoff_jitter=0.0, ratio_range=None)

    @property
    def chunk_blocks(self) -> int:
        return max(1, math.ceil(self.chunk / BLOCK))


def check_settings(settings: Settings, total: float, source: str | None = None) -> None:
    """Every value of ``settings`` against the one table, a bound in points being ``total``
    (the scenario's most points; :class:`Settings` alone checks with no upper bound in
    points, the scenario it joins with its own: :func:`perfsim.model.scenario.check_scenario`).
    ``uncertainty.ratio`` is a pair: each end a value of the Liupanshui ratio's range."""
    for path, name in PATHS.items():
        value = getattr(settings, name)
        if isinstance(value, Mapping):
            for key, v in value.items():
                check(f"simulation.{path}.{key}", v, total=total, source=source)
        elif name not in ("checkpoints", "ratio_range"):
            check(f"simulation.{path}", value, total=total, source=source)
    if settings.ratio_range is not None:
        lo, hi = settings.ratio_range
        c = CONSTRAINTS["simulation.uncertainty.ratio"]
        if not (c.accepts(lo) and c.accepts(hi) and lo <= hi):
            raise InputError(source, field="simulation.uncertainty.ratio", value=[lo, hi],
                             problem=f"each end must be {c.allowed()}, low <= high (the "
                                     "Liupanshui rule cuts 中 by 10% to 20%)")


def check_rationing(days_budget: Any, recheck_days: Any, funds_share: Any,
                    selection: str) -> None:
    """A staff-days budget needs the staff-days of one re-check, and a funds share one order
    of checks (not ``mix``); each value a number or one per row (a parameter sample)."""
    if np.any(np.asarray(days_budget) > 0) and not np.all(np.asarray(recheck_days) > 0):
        raise InputError(field="simulation.spot_check.days_budget",
                         value=float(np.max(days_budget)), problem="needs simulation.cost."
                         "recheck_days > 0 (the staff-days one re-check takes)")
    if np.any(np.asarray(funds_share) > 0) and selection == "mix":
        raise InputError(field="simulation.spot_check.funds_share",
                         value=float(np.max(funds_share)), problem="does not go with "
                         "selection mix (checks are counted along one order)")


def _finite(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


# YAML layout: block -> key -> Settings field
_LAYOUT: dict[str, dict[str, str]] = {
    "": {"years": "years", "replications": "replications", "chunk": "chunk"},
    "performance": {"persistence": "persistence", "innovation_sd": "innovation_sd",
                    "elasticity": "elasticity", "leaf_dispersion": "leaf_dispersion",
                    "space": "space"},
    "targets": {"set_by": "targets_set_by", "ambition": "target_ambition",
                "by_department": "target_ambition_by_department",
                "overcompletion_threshold": "overcompletion_threshold",
                "overcompletion_rate": "overcompletion_rate",
                "overcompletion_floor": "overcompletion_floor",
                "recheck_resets": "target_recheck_resets"},
    "self_evaluation": {"noise": "measurement_noise", "inflation_mean": "inflation_mean",
                        "inflation_sd": "inflation_sd",
                        "by_department": "inflation_by_department",
                        "strategy": "self_strategy", "belief_update": "belief_update",
                        "max_inflation": "max_inflation"},
    "spot_check": {"share": "check_share", "selection": "check_selection",
                   "band": "check_band", "mix": "check_mix",
                   "risk_departments": "check_risk_departments",
                   "risk_history": "check_risk_history",
                   "days_budget": "check_days_budget", "funds_share": "check_funds_share",
                   "noise": "recheck_noise", "replace": "recheck_replaces",
                   "gap_rule": "gap_rule", "gap_on": "gap_on", "gap": "gap", "per": "gap_per",
                   "step": "gap_step",
                   "gap_mode": "gap_mode",
                   "inflation_penalty": "inflation_penalty",
                   "unchecked_bonus": "unchecked_bonus"},
    "monitoring": {"checkpoints": "checkpoints", "execution_sd": "execution_sd",
                   "recovery_share": "recovery_share", "pace": "execution_pace",
                   "targets": "target_minimum",
                   "target_noise": "target_noise", "target_consequence": "target_consequence",
                   "year_end_clearing": "year_end_clearing"},
    "cost": {"self_evaluation": "cost_self", "recheck": "cost_recheck",
             "self_evaluation_days": "days_self", "recheck_days": "days_recheck"},
    "evaluators": {"intermediary_share": "intermediary_share",
                   "intermediary_noise": "intermediary_noise",
                   "intermediary_bias": "intermediary_bias",
                   "intermediary_cost": "intermediary_cost",
                   "intermediary_days": "intermediary_days",
                   "third_party_min_budget": "third_party_min_budget",
                   "third_party_noise": "third_party_noise",
                   "third_party_bias": "third_party_bias",
                   "third_party_cost": "third_party_cost",
                   "third_party_days": "third_party_days",
                   "deposit": "deposit", "deposit_tolerance": "deposit_tolerance",
                   "blacklist_years": "blacklist_years", "deposit_basis": "deposit_basis",
                   "instead_of_self": "intermediary_instead_of_self"},
    "dynamics": {"entry_rate": "entry_rate", "escalation_years": "escalation_years",
                 "pre_evaluation": "gate_continuing", "flag_years": "flag_years",
                 "recovery": "recovery_scope"},
    "uncertainty": {"weights": "weight_uncertainty", "concentration": "weight_concentration",
                    "pct": "weight_pct", "cutoff_jitter": "cutoff_jitter",
                    "ratio": "ratio_range"},
}
_YAML_NAME = {f: (f"{b}.{k}" if b else k) for b, keys in _LAYOUT.items() for k, f in keys.items()}
# the two checkpoints of domain.md §5, January-June and January-September
MONITORING_DEFAULT = ((0.5, 0.3), (0.75, 0.5))


#: ``simulation.`` YAML path (without the prefix) → :class:`Settings` field.
PATHS: dict[str, str] = {(f"{b}.{k}" if b else k): f for b, keys in _LAYOUT.items()
                         for k, f in keys.items()}


def _flatten(spec: Mapping[str, Any]) -> dict[str, Any]:
    """A ``simulation:`` block as ``{path: value}``; unknown keys are refused."""
    flat: dict[str, Any] = {}
    for key, value in spec.items():
        if key in _LAYOUT[""]:
            flat[key] = value
        elif key in _LAYOUT and key:
            if not isinstance(value, Mapping):
                raise InputError(field=f"simulation.{key}", value=value,
                                 problem="must be a mapping")
            for sub, v in value.items():
                if sub not in _LAYOUT[key]:
                    raise InputError(field=f"simulation.{key}.{sub}",
                                     problem="unknown setting (allowed: "
                                             f"{', '.join(_LAYOUT[key])})")
                flat[f"{key}.{sub}"] = v
        else:
            allowed = [k for k in _LAYOUT[""]] + [k for k in _LAYOUT if k]
            raise InputError(field=f"simulation.{key}",
                             problem=f"unknown setting (allowed: {', '.join(allowed)})")
    return flat


def _coerce(name: str, value: Any) -> Any:
    """A YAML value in the form the :class:`Settings` field ``name`` holds."""
    path = _YAML_NAME[name]
    if name == "checkpoints":
        cps = MONITORING_DEFAULT if value == "default" else value
        if not isinstance(cps, list | tuple) or not all(isinstance(c, list | tuple) for c in cps):
            raise InputError(field=f"simulation.{path}", value=cps,
                             problem="must be a list of [share elapsed, minimum rate] pairs")
        return tuple(tuple(c) for c in cps)
    if name == "ratio_range" and value is not None:
        if not isinstance(value, list | tuple) or len(value) != 2:
            raise InputError(field=f"simulation.{path}", value=value,
                             problem="must be [low, high]")
        return (value[0], value[1])
    if name in ("check_mix", "check_risk_departments") and not isinstance(value, Mapping):
        raise InputError(field=f"simulation.{path}", value=value,
                         problem="must be a mapping")
    if name == "target_ambition_by_department" and not isinstance(value, Mapping):
        raise InputError(field=f"simulation.{path}", value=value,
                         problem="must map department names to ambition")
    if name == "inflation_by_department" and not isinstance(value, Mapping):
        raise InputError(field=f"simulation.{path}", value=value,
                         problem="must map department names to inflation")
    return value


def field_of(path: str) -> str:
    """The :class:`Settings` field of a ``simulation.`` path (with or without the prefix);
    an unknown path lists the valid ones, an old field name names its path."""
    key = path.removeprefix("simulation.")
    if key in PATHS:
        return PATHS[key]
    if key in _YAML_NAME:
        raise InputError(field="parameter", value=path,
                         problem=f"renamed: use simulation.{_YAML_NAME[key]}")
    raise InputError(field="parameter", value=path,
                     problem="unknown simulation setting (valid: "
                             f"{', '.join('simulation.' + k for k in PATHS)})")


def settings_with(settings: Settings, changes: Mapping[str, Any]) -> Settings:
    """``settings`` with simulation paths (``spot_check.share`` or
    ``simulation.spot_check.share``) set to new values, validated again."""
    values = {}
    for path, value in changes.items():
        name = field_of(path)
        values[name] = _coerce(name, value)
    return dataclasses.replace(settings, **values)


def settings_from_dict(spec: Mapping[str, Any] | None, **overrides: Any) -> Settings:
    """Build :class:`Settings` from a scenario's ``simulation:`` block; ``overrides`` (field
    names, e.g. from the command line) win when not None."""
    values = {}
    for path, value in _flatten(dict(spec or {})).items():
        values[PATHS[path]] = _coerce(PATHS[path], value)
    values.update({k: v for k, v in overrides.items() if v is not None})
    known = {f.name for f in fields(Settings)}
    for key in values:
        if key not in known:
            raise InputError(field=f"simulation.{key}", problem="unknown setting")
    return Settings(**values)


def _yaml(value: Any) -> Any:
    """A settings value as a YAML file writes it (lists, plain mappings)."""
    if isinstance(value, tuple | list):
        return [_yaml(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _yaml(v) for k, v in value.items()}
    return value


def settings_value(settings: Settings, path: str) -> Any:
    """The value of the simulation path ``path`` (``simulation.spot_check.share``) in
    ``settings``, as a scenario file writes it (a list for a pair or a list of pairs)."""
    return _yaml(getattr(settings, field_of(path)))


def settings_block(settings: Settings, block: Mapping[str, Any] | None = None
                   ) -> dict[str, Any]:
    """The ``simulation:`` block that gives ``settings``: ``block`` (as a file wrote it) with
    every value that differs from what it gives written in, so that
    ``settings_from_dict(settings_block(s, block)) == s``."""
    out: dict[str, Any] = {k: (dict(v) if isinstance(v, Mapping) else v)
                           for k, v in (block or {}).items()}
    base = settings_from_dict(block)
    for path, name in PATHS.items():
        value = getattr(settings, name)
        if value != getattr(base, name):
            head, _, key = path.rpartition(".")
            node = out.setdefault(head, {}) if head else out
            node[key] = _yaml(value)
    return out
