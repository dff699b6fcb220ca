"""The parameter registry: every design parameter a user can vary, named by its YAML path.

A :class:`Parameter` is declared once here with its valid range and unit;
:func:`apply_parameter` sets it on a scenario (and its simulation settings). Calibration,
sensitivity, Monte Carlo design uncertainty and notebook variants use these paths and nothing
else.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from perfsim.errors import InputError
from perfsim.kernel.grading import Grading
from perfsim.kernel.linkage import LIUPANSHUI_RATIO_RANGE, GradeTable
from perfsim.model.scenario import Scenario

# --- the parameter registry -----------------------------------------------------------------

#: ``simulation.<block>.<key>`` paths (the scenario file's ``simulation:`` layout) → the
#: :class:`~perfsim.simulate.Settings` field, the valid range and the unit.
SIMULATION_PARAMETERS: dict[str, tuple[str, tuple[float, float], str, str]] = {
    "simulation.spot_check.share": ("check_share", (0.0, 1.0), "share",
                                    "share of projects re-checked"),
    "simulation.spot_check.noise": ("recheck_noise", (0.0, 0.5), "attainment",
                                    "re-check measurement noise (sd)"),
    "simulation.self_evaluation.noise": ("measurement_noise", (0.0, 0.5), "attainment",
                                         "self-evaluation measurement noise (sd)"),
    "simulation.self_evaluation.inflation_mean": ("inflation_mean", (-0.5, 0.5), "attainment",
                                                  "mean self-evaluation inflation"),
    "simulation.self_evaluation.inflation_sd": ("inflation_sd", (0.0, 0.5), "attainment",
                                                "spread of inflation between projects (sd)"),
    "simulation.performance.leaf_dispersion": ("leaf_dispersion", (0.0, 0.5), "attainment",
                                               "spread of leaf attainment around a project's "
                                               "performance (sd)"),
}

@dataclass(frozen=True)
class Parameter:
    """A solvable design parameter of a scenario.

    ``kind``: ``ratio`` (the Liupanshui 中 cut), ``multiplier`` (one grade of a grade table),
    ``cutoffs`` (all cutoffs, a vector), ``cutoff`` (the lowest score of one grade),
    ``weights`` (points of every level-1 group, a vector), ``leaf_weights`` (points of every
    leaf, a vector), ``weight`` (points of one level-1 group before all points are rescaled
    to the system total) or ``simulation`` (a Monte Carlo setting).
    """

    path: str
    kind: str
    valid: tuple[float, float]
    unit: str
    description: str
    size: int = 1
    index: int | None = None
    setting: str | None = None

    @property
    def scalar(self) -> bool:
        return self.size == 1


def parameters(scenario: Scenario) -> dict[str, Parameter]:
    """The solvable parameters of ``scenario``, by path (they depend on its linkage rule,
    grade labels and indicator system)."""
    out: dict[str, Parameter] = {}
    link = scenario.linkage
    labels = scenario.grading.labels
    if link.name == "liupanshui" and isinstance(link.rule, GradeTable):
        out["linkage.ratio"] = Parameter("linkage.ratio", "ratio", LIUPANSHUI_RATIO_RANGE,
                                         "share", "the cut of 中-rated budgets")
    elif isinstance(link.rule, GradeTable):
        for g, code in enumerate(labels.codes):
            path = f"linkage.multipliers.{code}"
            out[path] = Parameter(path, "multiplier", (0.0, 2.0), "multiplier",
                                  f"next year's budget multiplier of {code}", index=g)
    total = _total(scenario)
    cutoffs = scenario.grading.cutoffs
    if cutoffs is not None:
        out["grading.cutoffs"] = Parameter("grading.cutoffs", "cutoffs", (0.0, total), "points",
                                           "all grade cutoffs", size=len(cutoffs))
        for k, code in enumerate(labels.codes[:-1]):
            path = f"grading.cutoffs.{code}"
            out[path] = Parameter(path, "cutoff", (0.0, total), "points",
                                  f"the lowest score graded {code}", index=k)
    system = scenario.system
    if system is not None and not scenario.portfolio.has_scores:
        l1 = system.level1_codes
        out["weights"] = Parameter("weights", "weights", (0.0, total), "points",
                                   "points of every level-1 group", size=len(l1))
        out["weights.leaves"] = Parameter("weights.leaves", "leaf_weights", (0.0, total),
                                          "points", "points of every leaf indicator",
                                          size=len(system.indicators))
        for g, code in enumerate(l1):
            path = f"weights.{code}"
            out[path] = Parameter(path, "weight", (0.0, total), "points",
                                  f"points of level-1 group {code} (all points are then "
                                  "rescaled to the total)", index=g)
    for path, (setting, valid, unit, desc) in SIMULATION_PARAMETERS.items():
        out[path] = Parameter(path, "simulation", valid, unit, desc, setting=setting)
    return out


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


def check_bounds(param: Parameter, bounds: Sequence[float] | None,
                 where: str | None = None) -> tuple[float, float]:
    """``bounds`` (low, high) inside the parameter's valid range; ``None`` = the valid range."""
    lo_v, hi_v = param.valid
    if bounds is None:
        return float(lo_v), float(hi_v)
    valid = f"valid range of {param.path}: [{lo_v:g}, {hi_v:g}]"
    if (isinstance(bounds, str) or not isinstance(bounds, Sequence) or len(bounds) != 2
            or not all(_number(b) for b in bounds)):
        raise InputError(where=where, field="bounds", value=_show_list(bounds),
                         problem=f"must be [low, high], two finite numbers ({valid})")
    lo, hi = float(bounds[0]), float(bounds[1])
    if not lo < hi:
        raise InputError(where=where, field="bounds", value=[lo, hi],
                         problem=f"must be [low, high] with low < high ({valid})")
    if lo < lo_v - 1e-12 or hi > hi_v + 1e-12:
        raise InputError(where=where, field="bounds", value=[lo, hi],
                         problem=f"outside the {valid}")
    return lo, hi



def _total(scenario: Scenario) -> float:
    if scenario.system is not None:
        return float(scenario.system.total + scenario.system.bonus_cap)
    return 100.0


def apply_parameter(scenario: Scenario, settings: Any, param: Parameter, value: Any
                    ) -> tuple[Scenario, Any]:
    """The scenario (and Monte Carlo settings) with ``param`` set to ``value``."""
    if param.kind == "ratio":
        link = scenario.linkage
        labels = link.labels
        mult = list(link.rule.multipliers)
        mult[labels.index("fair")] = 1.0 - float(value)
        link = dataclasses.replace(link, rule=GradeTable(tuple(mult)),
                                   params={**dict(link.params), "ratio": float(value)})
        return scenario.replace(linkage=link), settings
    if param.kind == "multiplier":
        link = scenario.linkage
        mult = list(link.rule.multipliers)
        mult[param.index] = float(value)
        return scenario.replace(linkage=dataclasses.replace(link, rule=GradeTable(tuple(mult)))
                                ), settings
    if param.kind in ("cutoff", "cutoffs"):
        cut = list(scenario.grading.cutoffs)
        if param.kind == "cutoff":
            cut[param.index] = float(value)
        else:
            cut = [float(v) for v in value]
        g = scenario.grading
        return scenario.replace(grading=Grading(g.labels, tuple(cut), dict(g.quotas))), settings
    if param.kind in ("weights", "leaf_weights", "weight"):
        return scenario.replace(system=scenario.system.with_points(
            leaf_points(scenario, param, value))), settings
    if param.kind == "simulation":
        return scenario, dataclasses.replace(settings, **{param.setting: float(value)})
    raise AssertionError(param.kind)  # pragma: no cover


def leaf_points(scenario: Scenario, param: Parameter, value: Any) -> np.ndarray:
    """Leaf points after setting a weight parameter. Group points are shared among the group's
    leaves in proportion to the file's points (equally in a group whose file points are all
    zero); ``weights.<code>`` sets one group's points and then rescales all to the total."""
    system = scenario.system
    base = system.points
    if param.kind == "leaf_weights":
        return np.asarray(value, dtype=float)
    groups = system.level1_index
    n_g = len(system.level1_codes)
    base_g = np.bincount(groups, weights=base, minlength=n_g)
    if param.kind == "weight":
        new_g = base_g.copy()
        new_g[param.index] = float(value)
        if new_g.sum() > 0:
            new_g = new_g * system.total / new_g.sum()
    else:
        new_g = np.asarray(value, dtype=float)
    return new_g[groups] * group_shares(base, groups, n_g)


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
