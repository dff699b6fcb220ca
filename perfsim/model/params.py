"""The parameter registry: every design parameter a user can vary, named by its YAML path.

A :class:`Parameter` is declared once here with its valid range and unit;
:func:`apply_parameter` sets it on a scenario (and its simulation settings). Calibration,
sensitivity, Monte Carlo design uncertainty and notebook variants use these paths and nothing
else.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from perfsim.errors import InputError
from perfsim.kernel import treatment as tr
from perfsim.kernel import weighting as wt
from perfsim.kernel.composite import NORMALISATIONS
from perfsim.kernel.grading import Grading, grading_from_dict
from perfsim.kernel.linkage import (
    GradeTable,
    Linkage,
    linkage_from_dict,
    liupanshui_multipliers,
)
from perfsim.kernel.scoring import AGGREGATIONS, GROUP_METHODS
from perfsim.model.constraints import (
    CONSTRAINTS,
    REAL,
    Constraint,
    constraint,
    describe,
    grading_paths,
    linkage_paths,
    linkage_value,
)
from perfsim.model.indicators import (
    MAX_LEVELS,
    STRUCTURE_PREFIX,
    check_group_aggregation,
    check_method_params,
    restructure,
)
from perfsim.model.scenario import Scenario, added_leaves, candidates, check_scenario
from perfsim.model.settings import field_of, settings_value, settings_with
from perfsim.model.weighting_spec import TIERS, parse_weighting, short
from perfsim.model.weights import apply_weighting

# --- the parameter registry -----------------------------------------------------------------

#: The simulation settings that calibration and sensitivity can vary (``vary`` in the one
#: table, :data:`perfsim.model.constraints.CONSTRAINTS`, which gives their ranges). Any
#: setting can be *set* by its path: :func:`apply_changes`.
SIMULATION_PARAMETERS: tuple[str, ...] = tuple(
    p for p, c in CONSTRAINTS.items() if p.startswith("simulation.") and c.vary and "<" not in p)


@dataclass(frozen=True)
class Parameter:
    """A solvable design parameter of a scenario.

    ``kind``: ``ratio`` (the Liupanshui 中 cut), ``multiplier`` (one grade of a grade table),
    ``cutoffs`` (all cutoffs, a vector), ``cutoff`` (the lowest score of one grade),
    ``weights`` (points of every level-1 group, a vector), ``leaf_weights`` (points of every
    leaf, a vector), ``weight`` (points of one level-1 group before all points are rescaled
    to the system total), ``simulation`` (a Monte Carlo setting) or ``linkage`` (a value of
    the evaluation cycle's rules, ``setting`` its path inside the linkage block:
    ``rectification.probability``, ``blacklist.cut``, ``preconditions.<flag>.share``, ...).
    ``valid`` is the range of the one table's constraint (:attr:`constraint`), with the
    scenario's most points for a bound in points.
    """

    path: str
    kind: str
    valid: tuple[float, float]
    unit: str
    description: str
    size: int = 1
    index: int | None = None
    setting: str | None = None
    #: the scenario's most points (the bound of a value in points)
    total: float = 100.0

    @property
    def scalar(self) -> bool:
        return self.size == 1

    @property
    def constraint(self) -> Constraint:
        """The one table's constraint of this path (a path the table lacks: its ``valid``
        range)."""
        return constraint(self.path) or Constraint(REAL, *self.valid, unit=self.unit)

    def check(self, value: Any, *, source: str | None = None, where: str | None = None
              ) -> float:
        """``value`` as a float if the one table allows it, else the one-line error every
        entry gives (file, ``set``, ``--set``, calibration and sensitivity bounds)."""
        self.constraint.check(self.path, value, total=self.total, source=source, where=where)
        return float(value)


def _param(path: str, kind: str, total: float, **extra: Any) -> Parameter:
    c = constraint(path)
    return Parameter(path, kind, c.interval(total), c.unit, describe(path), total=total,
                     **extra)


def parameters(scenario: Scenario) -> dict[str, Parameter]:
    """The solvable parameters of ``scenario``, by path (they depend on its linkage rule,
    grade labels and indicator system); ranges and units from the one table."""
    out: dict[str, Parameter] = {}
    link = scenario.linkage
    labels = scenario.grading.labels
    total = scenario.total
    cycle = linkage_paths(link)
    for path in cycle:
        if path == "linkage.ratio":
            out[path] = _param(path, "ratio", total)
        elif path.startswith("linkage.multipliers."):
            out[path] = _param(path, "multiplier", total,
                               index=labels.codes.index(path.rsplit(".", 1)[1]))
    cutoffs = scenario.grading.cutoffs
    if cutoffs is not None:
        out["grading.cutoffs"] = _param("grading.cutoffs", "cutoffs", total, size=len(cutoffs))
        for k, path in enumerate(grading_paths(scenario.grading)):
            out[path] = _param(path, "cutoff", total, index=k)
    system = scenario.system
    if system is not None and not scenario.portfolio.has_scores:
        l1 = system.level1_codes
        out["weights"] = _param("weights", "weights", total, size=len(l1))
        out["weights.leaves"] = _param("weights.leaves", "leaf_weights", total,
                                       size=len(system.indicators))
        for g, code in enumerate(l1):
            out[f"weights.{code}"] = _param(f"weights.{code}", "weight", total, index=g)
    for path in SIMULATION_PARAMETERS:
        out[path] = _param(path, "simulation", total, setting=field_of(path))
    for path in cycle:
        if path not in out:
            out[path] = _param(path, "linkage", total, setting=path.removeprefix("linkage."))
    return out


def _cycle_set(link: Linkage, setting: str, value: float) -> Linkage:
    head, _, rest = setting.partition(".")
    if head == "preconditions":
        name = rest.rsplit(".", 1)[0]
        cons = list(link.consequences)
        k = link.preconditions.index(name)
        cons[k] = (cons[k][0], float(value))
        return dataclasses.replace(link, consequences=tuple(cons))
    if rest.startswith(("probability.", "unrectified.")):
        rect = link.rectification
        key, code = rest.split(".", 1)
        name = "by_grade" if key == "probability" else "unrectified"
        values = {**dict(getattr(rect, name)), code: float(value)}
        return dataclasses.replace(link, rectification=dataclasses.replace(
            rect, **{name: values}))
    part = dataclasses.replace(getattr(link, head), **{rest: float(value)})
    return dataclasses.replace(link, **{head: part})


def parameter(scenario: Scenario, path: str, *, scalar: bool = False,
              where: str | None = None) -> Parameter:
    """Look up a parameter path; an unknown path raises an :class:`InputError` listing the
    valid ones (only scalar ones when ``scalar``)."""
    known = parameters(scenario)
    if scalar:
        known = {k: v for k, v in known.items() if v.scalar}
    if path not in known:
        raise InputError(where=where, field="parameter", value=path,
                         problem=f"unknown parameter for scenario {scenario.name} "
                                 f"(valid: {', '.join(known)})")
    return known[path]


def current_value(scenario: Scenario, param: Parameter) -> float | tuple[float, ...]:
    """The value ``param`` has in ``scenario`` (a tuple for a vector parameter)."""
    if param.kind in ("ratio", "multiplier", "linkage"):
        return linkage_value(scenario.linkage, param.path)
    if param.kind == "cutoffs":
        return tuple(float(c) for c in scenario.grading.cutoffs)
    if param.kind == "cutoff":
        return float(scenario.grading.cutoffs[param.index])
    if param.kind == "simulation":
        return float(getattr(scenario.settings, param.setting))
    system = scenario.system
    if param.kind == "leaf_weights":
        return tuple(float(p) for p in system.points)
    groups = np.bincount(system.level1_index, weights=system.points,
                         minlength=len(system.level1_codes))
    return float(groups[param.index]) if param.kind == "weight" else tuple(
        float(g) for g in groups)


def get_value(scenario: Scenario, path: str) -> Any:
    """The value now in force at ``path``, in the vocabulary of :func:`apply_changes`: a
    registry path (:func:`parameters`; a list for a vector parameter) or any simulation
    setting ``simulation.<block>.<key>`` (as a scenario file writes it). An unknown path
    raises an :class:`InputError` listing the valid ones."""
    if path.startswith("simulation."):
        return settings_value(scenario.settings, path)
    value = current_value(scenario, parameter(scenario, path))
    return list(value) if isinstance(value, tuple) else value


def check_bounds(param: Parameter, bounds: Sequence[float] | None,
                 where: str | None = None, scenario: Scenario | None = None
                 ) -> tuple[float, float]:
    """``bounds`` (low, high) inside the parameter's valid range; ``None`` = the valid range.
    An end the one table refuses gives the error every entry gives for that value; with
    ``scenario``, each end is also set on it as ``set`` would (:func:`check_settable`)."""
    lo_v, hi_v = param.valid
    if bounds is None:
        return float(lo_v), float(hi_v)
    valid = f"valid range of {param.path}: [{lo_v:g}, {hi_v:g}]"
    if isinstance(bounds, str) or not isinstance(bounds, Sequence) or len(bounds) != 2:
        raise InputError(where=where, field="bounds", value=_show_list(bounds),
                         problem=f"must be [low, high], two finite numbers ({valid})")
    at = f"{where}: bounds" if where else "bounds"
    lo, hi = param.check(bounds[0], where=at), param.check(bounds[1], where=at)
    if not lo < hi:
        raise InputError(where=where, field="bounds", value=[lo, hi],
                         problem=f"must be [low, high] with low < high ({valid})")
    if scenario is not None:
        check_settable(scenario, param, (lo, hi), where)
    return lo, hi


def apply_parameter(scenario: Scenario, param: Parameter, value: Any) -> Scenario:
    """The scenario with ``param`` set to ``value`` (a simulation parameter sets the
    scenario's simulation settings)."""
    link = scenario.linkage
    for v in ([value] if param.scalar else np.ravel(np.asarray(value, dtype=object))):
        param.check(v)
    if param.kind == "ratio":
        ratio = float(value)
        return scenario.replace(linkage=dataclasses.replace(
            link, rule=GradeTable(tuple(float(m) for m in liupanshui_multipliers(ratio))),
            params={**dict(link.params), "ratio": ratio}))
    if param.kind == "multiplier":
        mult = list(link.rule.multipliers)
        mult[param.index] = float(value)
        return scenario.replace(linkage=dataclasses.replace(link, rule=GradeTable(tuple(mult))))
    if param.kind in ("cutoff", "cutoffs"):
        cut = np.asarray(scenario.grading.cutoffs, dtype=float)
        cut = _set_cutoffs(cut, param, value)
        g = scenario.grading
        return scenario.replace(grading=Grading(g.labels, tuple(float(c) for c in cut),
                                                dict(g.quotas)))
    if param.kind in ("weights", "leaf_weights", "weight"):
        return scenario.replace(system=scenario.system.with_points(
            leaf_points(scenario, param, value)))
    if param.kind == "simulation":
        return scenario.replace(settings=settings_with(scenario.settings,
                                                       {param.path: float(value)}))
    if param.kind == "linkage":
        return scenario.replace(linkage=_cycle_set(link, param.setting, float(value)))
    raise AssertionError(param.kind)  # pragma: no cover


#: Whole blocks a change may replace, written as in a scenario file.
BLOCKS = ("grading", "linkage")


def check_value(param: Parameter, value: Any) -> float:
    """A value for the scalar registry parameter ``param``: a number the one table allows,
    else a one-line error naming the path, the value and the range."""
    return param.check(value)


def apply_changes(scenario: Scenario, changes: Mapping[str, Any]) -> Scenario:
    """The scenario with design parameters set by their YAML paths — the one way every
    variant, notebook and ``Scenario.set`` changes a scenario. Paths: the registry's
    (:func:`parameters`: ``linkage.ratio``, ``grading.cutoffs.<grade>``, ``weights.<code>``,
    ...), any simulation setting ``simulation.<block>.<key>``, and whole ``grading`` or
    ``linkage`` blocks (mappings as in a scenario file; new grade labels need a new linkage
    block), the method choices :data:`CHOICES` (:func:`apply_choices`) and the structural
    operations ``indicators.*`` (:func:`apply_structure`). Structure is applied first, then
    method choices, then blocks, then parameters, then simulation settings."""
    changes = dict(changes)
    known = parameters(scenario)
    for path, value in changes.items():
        if path in known and known[path].scalar:
            check_value(known[path], value)
    scenario = apply_structure(scenario, {k: v for k, v in changes.items()
                                          if k.startswith(STRUCTURE_PREFIX)})
    scenario = apply_choices(scenario, {k: v for k, v in changes.items() if is_choice(k)})
    changes = {k: v for k, v in changes.items()
               if not is_choice(k) and not k.startswith(STRUCTURE_PREFIX)}
    grading, linkage = scenario.grading, scenario.linkage
    if "grading" in changes:
        grading = grading_from_dict(_block(changes["grading"], "grading"))
    if "linkage" in changes:
        linkage = linkage_from_dict(_block(changes["linkage"], "linkage"), grading.labels)
    elif grading.labels != scenario.grading.labels:
        raise InputError(field="grading.labels", value=grading.labels.name,
                         problem="new grade labels need a linkage block for them")
    document = {**dict(scenario.document), **{b: changes[b] for b in BLOCKS if b in changes}}
    sc = scenario.replace(grading=grading, linkage=linkage, document=document)
    simulation = {k: v for k, v in changes.items() if k.startswith("simulation.")}
    for path, value in changes.items():
        if path in BLOCKS or path in simulation:
            continue
        sc = apply_parameter(sc, parameter(sc, path), value)
    if simulation:
        sc = sc.replace(settings=settings_with(sc.settings, simulation))
    if sc.document.get("linkage") is not None and any(
            known[p].kind in ("ratio", "multiplier", "linkage") for p in changes if p in known):
        # the relations between the block's values (pre-evaluation thresholds that rise, ...)
        # checked by the parser a scenario file meets: set refuses what a file refuses
        linkage_from_dict(_block(sc.spec["linkage"], "linkage"), sc.grading.labels)
    return check_scenario(sc)


def check_settable(scenario: Scenario, param: Parameter, bounds: Sequence[float],
                   where: str | None = None) -> None:
    """Each end of ``bounds`` (already within the one table's range: :func:`check_bounds`)
    set on ``scenario`` as :func:`apply_changes` sets it, so that bounds are refused with the
    error ``set`` gives for an end that breaks a relation between values (cutoffs strictly
    descending, pre-evaluation thresholds rising). Every value between two settable ends is
    settable too: each relation bounds a value by its neighbours. Vector parameters pass."""
    if not param.scalar:
        return
    for end in bounds:
        try:
            apply_changes(scenario, {param.path: end})
        except InputError as err:
            raise err.at(where=f"{where}: bounds" if where else "bounds") from None


def _block(value: Any, name: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InputError(field=name, value=value, problem="must be a mapping (as in a "
                                                          "scenario file)")
    return value


def _set_cutoffs(cut: np.ndarray, param: Parameter, value: Any) -> np.ndarray:
    """Cutoffs (K,) or per row (R, K) with one (``cutoff``) or all (``cutoffs``) set."""
    v = np.asarray(value, dtype=float)
    if param.kind == "cutoffs":
        return np.broadcast_to(v, np.broadcast_shapes(v.shape, cut.shape)).copy()
    out = np.broadcast_to(cut, v.shape + cut.shape[-1:]).copy()
    out[..., param.index] = v
    return out


# --- a batch of rows ----------------------------------------------------------------------------

@dataclass
class RowDesign:
    """Design values that differ between the rows of one kernel call (parameter samples, or
    Monte Carlo replications under design uncertainty). ``None`` = the scenario's own value
    in every row. ``points`` (R, I) are leaf points, ``cutoffs`` (R, K), ``table`` (R, G)
    grade multipliers, ``settings`` simulation fields → (R,) values."""

    rows: int
    points: np.ndarray | None = None
    cutoffs: np.ndarray | None = None
    table: np.ndarray | None = None
    settings: dict[str, np.ndarray] = field(default_factory=dict)
    #: evaluation-cycle values of the linkage by their path inside the block → (R,) values
    linkage: dict[str, np.ndarray] = field(default_factory=dict)

    def setting(self, name: str, base: float) -> float | np.ndarray:
        """The per-row values of a simulation field, or its scenario value."""
        return self.settings.get(name, base)


def apply_rows(scenario: Scenario, design: RowDesign, param: Parameter, values: Any) -> None:
    """Set ``param`` to ``values`` (one per row: (R,), or (R, size) for a vector parameter)
    in ``design``: the batch counterpart of :func:`apply_parameter`, with the same rules."""
    v = np.asarray(values, dtype=float)
    if param.kind in ("ratio", "multiplier"):
        if design.table is None:
            design.table = np.repeat(np.asarray(scenario.linkage.rule.multipliers,
                                                dtype=float)[None, :], design.rows, axis=0)
        if param.kind == "ratio":
            design.table = liupanshui_multipliers(v)
        else:
            design.table[:, param.index] = v
    elif param.kind in ("cutoff", "cutoffs"):
        base = (design.cutoffs if design.cutoffs is not None
                else np.asarray(scenario.grading.cutoffs, dtype=float))
        design.cutoffs = _set_cutoffs(base, param, v)
    elif param.kind in ("weights", "leaf_weights", "weight"):
        design.points = leaf_points(scenario, param, v, base=design.points)
    elif param.kind == "simulation":
        design.settings[param.setting] = v
    elif param.kind == "linkage":
        design.linkage[param.setting] = v
    else:  # pragma: no cover
        raise AssertionError(param.kind)


def leaf_points(scenario: Scenario, param: Parameter, value: Any,
                base: np.ndarray | None = None) -> np.ndarray:
    """Leaf points after setting a weight parameter, (I,) or per row (R, I) when ``value``
    has one entry per row. Group points are shared among the group's leaves in proportion to
    the file's points (equally in a group whose file points are all zero); ``weights.<code>``
    sets one group's points and then rescales all to the total. ``base`` (R, I): the rows'
    current points (default: the file's)."""
    system = scenario.system
    v = np.asarray(value, dtype=float)
    if param.kind == "leaf_weights":
        return v.copy()
    groups = system.level1_index
    n_g = len(system.level1_codes)
    file_points = system.points
    current = file_points if base is None else base
    current_g = np.zeros(current.shape[:-1] + (n_g,))
    np.add.at(current_g.T, groups, np.moveaxis(current, -1, 0))
    if param.kind == "weight":
        new_g = np.broadcast_to(current_g, v.shape + (n_g,)).copy()
        new_g[..., param.index] = v
        tot = new_g.sum(axis=-1, keepdims=True)
        new_g = np.where(tot > 0, new_g * system.total / np.where(tot > 0, tot, 1.0), new_g)
    else:
        new_g = v
    return new_g[..., groups] * group_shares(file_points, groups, n_g)


def group_shares(base: np.ndarray, groups: np.ndarray, n_groups: int) -> np.ndarray:
    """Each leaf's share of its level-1 group's points (equal shares in an all-zero group)."""
    base_g = np.bincount(groups, weights=base, minlength=n_groups)
    count = np.bincount(groups, minlength=n_groups)
    pos = base_g[groups] > 0
    return np.where(pos, base / np.where(pos, base_g[groups], 1.0), 1.0 / count[groups])


def _number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _show_list(v: Any) -> Any:
    return list(v) if isinstance(v, tuple) else v


# --- method choices: weighting method, treatment, aggregation -------------------------------------

#: Discrete design choices, by YAML path → (meaning, allowed names). A variant sets them
#: (:func:`apply_changes`); a sensitivity analysis draws them as discrete factors
#: (``{name: PATH, values: [...]}`` in a params file, :mod:`perfsim.run.sensitivity`).
#: ``weighting.<tier>.method`` also takes a tier mapping as in a ``weighting:`` block
#: (``{method: combined, alpha: 0.7}``, ``{method: ahp, matrix: ...}``).
CHOICES: dict[str, tuple[str, tuple[str, ...]]] = {
    "weighting.groups.method": ("weighting method of the level-1 groups", wt.METHODS),
    "weighting.leaves.method": ("weighting method of the leaves within each level-1 group",
                                wt.METHODS),
    "weighting.groups.treatment": ("treatment of the group data before an objective method",
                                   tr.TREATMENTS),
    "weighting.leaves.treatment": ("treatment of the leaf data before an objective method",
                                   tr.TREATMENTS),
    "aggregation": ("aggregation of the leaves to the total (the indicator system's "
                    "aggregation:)", AGGREGATIONS),
    "normalisation": ("normalisation of the leaves before aggregating (the indicator "
                      "system's normalisation:)", NORMALISATIONS),
    **{f"level_aggregation.{k}": (f"aggregation of each level-{k} group's children (the "
                                  "indicator system's level_aggregation:)", GROUP_METHODS)
       for k in range(1, MAX_LEVELS)},
}
#: ``composite.<method>.<parameter>``: a composite method's parameter (``composite.
#: power_mean.p``), a choice among the values listed
COMPOSITE_PARAMETER = "composite."


#: ``aggregation.<level-1 code>``: how one group's leaves aggregate (a method choice too)
GROUP_AGGREGATION = "aggregation."


def is_choice(path: str) -> bool:
    """A method choice: a path of :data:`CHOICES` or ``aggregation.<level-1 code>``."""
    return path in CHOICES or path.startswith((GROUP_AGGREGATION, COMPOSITE_PARAMETER))


def choice_meaning(path: str) -> str:
    """What the method choice ``path`` chooses, in words (for tables)."""
    if path in CHOICES:
        return CHOICES[path][0]
    if path.startswith(COMPOSITE_PARAMETER):
        method, _, name = path.removeprefix(COMPOSITE_PARAMETER).partition(".")
        return f"parameter {name} of the composite method {method}"
    return f"aggregation of the group {path.removeprefix(GROUP_AGGREGATION)}"


def check_choice(scenario: Scenario, path: str, value: Any, *, where: str | None = None,
                 base: Any = None) -> Any:
    """A value of the choice ``path`` checked: one of the allowed names, or (for a method) a
    tier mapping as in a ``weighting:`` block, parsed with ``base`` as the folder of relative
    matrix files. Errors are one line naming the path and the value."""
    if not is_choice(path):
        raise InputError(where=where, field="name", value=path,
                         problem=f"unknown choice (valid: {', '.join(CHOICES)}, "
                                 f"{GROUP_AGGREGATION}<level-1 code>)")
    if scenario.system is None:
        raise InputError(where=where, field=path, value=short(value),
                         problem="needs an indicator system")
    if path.startswith(GROUP_AGGREGATION):
        group = path.removeprefix(GROUP_AGGREGATION)
        try:
            check_group_aggregation(scenario.system, {group: value})
        except InputError as err:
            raise InputError(where=where, field=path, value=short(value),
                             problem=err.problem) from None
        return value
    if path.startswith(COMPOSITE_PARAMETER):
        method, _, name = path.removeprefix(COMPOSITE_PARAMETER).partition(".")
        try:
            check_method_params(method, {name: value}, None, "composite")
        except InputError as err:
            raise InputError(where=where, field=path, value=short(value),
                             problem=err.problem) from None
        return value
    allowed = CHOICES[path][1]
    if path.endswith(".method") and isinstance(value, Mapping):
        tier = path.split(".")[1]
        try:
            parse_weighting({tier: dict(value)}, base=base).resolve(scenario.system)
        except InputError as err:
            raise err.at(where=where) from None
        return dict(value)
    if isinstance(value, str) and value in allowed:
        return value
    extra = " or a mapping with method: and its parameters" if path.endswith(".method") else ""
    raise InputError(where=where, field=path, value=short(value),
                     problem=f"choose one of {', '.join(allowed)}{extra}")


def choice_block(choices: Mapping[str, Any]) -> dict[str, Any]:
    """The ``weighting:`` block the choices make: each tier with a method gets it (a
    treatment other than ``none`` is added to an objective or combined method; with a method
    that reads no data it has no effect). A treatment without its tier's method is an error."""
    block: dict[str, Any] = {}
    for tier in TIERS:
        method = choices.get(f"weighting.{tier}.method")
        treat = choices.get(f"weighting.{tier}.treatment")
        if method is None:
            if treat is not None:
                raise InputError(field=f"weighting.{tier}.treatment", value=short(treat),
                                 problem=f"needs weighting.{tier}.method too (a treatment "
                                         "prepares the data of an objective method)")
            continue
        tier_block = {"method": method} if isinstance(method, str) else dict(method)
        if treat is not None:
            tier_block.pop("treatment", None)
            if treat != "none" and (tier_block["method"] in wt.OBJECTIVE_METHODS
                                    or tier_block["method"] == "combined"):
                tier_block["treatment"] = treat
        block[tier] = tier_block
    return block


def apply_choices(scenario: Scenario, choices: Mapping[str, Any], *, base: Any = None
                  ) -> Scenario:
    """The scenario with method choices (paths of :data:`CHOICES`) made: the aggregation
    set, then the indicator system re-weighted by the ``weighting:`` block of
    :func:`choice_block` (:func:`perfsim.model.weights.apply_weighting`, on the portfolio's
    measurements). ``expert`` keeps the points of the scenario as loaded (after its own
    weighting block, if any); a tier without a method keeps them too."""
    if not choices:
        return scenario
    choices = {k: check_choice(scenario, k, v, base=base) for k, v in choices.items()}
    system = scenario.system
    if "aggregation" in choices:
        system = dataclasses.replace(system, aggregation=choices["aggregation"])
    groups = {k.removeprefix(GROUP_AGGREGATION): v for k, v in choices.items()
              if k.startswith(GROUP_AGGREGATION)}
    if groups:
        system = dataclasses.replace(system, group_aggregation={
            **system.group_aggregation, **groups})
    if "normalisation" in choices:
        system = dataclasses.replace(system, normalisation=choices["normalisation"])
    levels = {int(k.rsplit(".", 1)[1]): v for k, v in choices.items()
              if k.startswith("level_aggregation.")}
    if levels:
        system = dataclasses.replace(system, level_aggregation={
            **system.level_aggregation, **levels})
    composite = {k.removeprefix(COMPOSITE_PARAMETER): v for k, v in choices.items()
                 if k.startswith(COMPOSITE_PARAMETER)}
    if composite:
        params = {m: dict(p) for m, p in system.composite.items()}
        for key, value in composite.items():
            method, _, name = key.partition(".")
            params.setdefault(method, {}).update(
                check_method_params(method, {name: value}, None, "composite"))
        system = dataclasses.replace(system, composite=params)
    block = choice_block(choices)
    if block:
        spec = parse_weighting(block, base=base)
        if spec.uses_data and scenario.portfolio.has_scores:
            raise InputError(scenario.portfolio.source, field="weighting", problem="objective "
                             "methods need indicator measurements, not ready scores")
        system = apply_weighting(system, spec.resolve(system), scenario.portfolio)
    return scenario.replace(system=system)


# --- structural variants: add, remove, move indicators --------------------------------------------

def apply_structure(scenario: Scenario, ops: Mapping[str, Any]) -> Scenario:
    """The scenario's indicator system changed by structural operations
    (:func:`perfsim.model.indicators.restructure`: ``indicators.remove``, ``rescale``,
    ``give_to``, ``move``, ``add``, ``points``, in that order), the portfolio's measurements
    saying which added codes can be scored. A code in ``indicators.add`` names a candidate
    leaf of the scenario file's ``indicators:`` block."""
    if not ops:
        return scenario
    ops = dict(ops)
    if "indicators.add" in ops:
        ops["indicators.add"] = added_leaves(ops["indicators.add"],
                                             candidates(scenario.document.get("indicators")))
    return scenario.replace(system=restructure(
        scenario.system, ops, measured=scenario.portfolio.measured,
        has_scores=scenario.portfolio.has_scores, portfolio_source=scenario.portfolio.source,
        source=scenario.source))
