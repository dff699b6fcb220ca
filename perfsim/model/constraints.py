"""The one table of parameter constraints: every value a user can set by its YAML path.

:data:`CONSTRAINTS` declares, once, the type, the range (or the choices), the unit and the
meaning of each path — ``simulation.self_evaluation.noise``, ``linkage.ratio``,
``linkage.rectification.probability.<grade>``, ``grading.cutoffs.<grade>``, ... (a segment in
angle brackets stands for any grade code, flag, department or indicator code). Every entry
checks a value with :meth:`Constraint.check` and nothing else: a scenario file (its
``simulation:`` block through :class:`perfsim.model.settings.Settings`, its ``linkage:`` and
``grading:`` values through :func:`check_file_values`), ``Scenario.set`` and ``--set``
(:func:`perfsim.model.params.apply_changes`), calibration bounds and sensitivity ranges
(:func:`perfsim.model.params.check_bounds`), notebook parameters that stand for a path
(:data:`perfsim.notebooks.parameters.CONSTRAINED`). So a value accepted by one is accepted by
all, and a value refused by one is refused by all with the same message (scikit-learn's
``_parameter_constraints``). Once a scenario is assembled — from a file, ``--set``,
``Scenario.set`` or the app — :func:`perfsim.model.scenario.check_scenario` checks it whole:
every value against this table with the scenario's own most points, the relations between
values and its references to the portfolio (departments, the ``years_left`` column).

The ranges follow the domain: shares and probabilities lie in [0, 1]; a spread (sd) in
attainment units lies in [0, 0.5] — no quantity confined to [0, 1] has a larger standard
deviation; a multiplier of next year's budget lies in [0, 2]; scores, cutoffs and score
thresholds lie in [0, the most a project can score] points (:data:`TOTAL`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from perfsim.errors import InputError
from perfsim.kernel.evaluation import SELECTIONS, TARGET_CONSEQUENCES
from perfsim.kernel.grading import Grading, LabelSet
from perfsim.kernel.linkage import LIUPANSHUI_RATIO_RANGE, GradeTable, Linkage
from perfsim.kernel.scoring import GAP_MODES

#: the choices of the multi-year dynamics, the default first (docs/tasks/cycle.md)
GATE_CONTINUING = ("entry", "every_year")
RECOVERY_SCOPES = ("year", "base")
PACES = ("schedule", "performance")
DEPOSIT_BASES = ("year", "completion")
#: how units inflate their self-scores, the default first
STRATEGIES = ("none", "best_response")

#: A bound that is the scenario's most points: the indicator system's total plus its bonus
#: cap (100 without a system).
TOTAL = "total"

REAL, INT, CHOICE, BOOL = "real", "int", "choice", "bool"


@dataclass(frozen=True)
class Constraint:
    """What one path accepts. ``kind``: ``real`` (a finite number within ``low``/``high``,
    each end closed or open as ``closed`` says), ``int`` (a whole number), ``choice`` (one of
    ``choices``) or ``bool``. A bound may be :data:`TOTAL`. ``optional``: ``None`` (absent)
    is accepted too. ``vary``: a registry parameter that calibration and sensitivity may
    vary (a closed, finite range)."""

    kind: str = REAL
    low: float | str = -math.inf
    high: float | str = math.inf
    closed: tuple[bool, bool] = (True, True)
    unit: str = ""
    description: str = ""
    choices: tuple[str, ...] = ()
    optional: bool = False
    vary: bool = False

    def interval(self, total: float = 100.0) -> tuple[float, float]:
        """(low, high) in numbers, :data:`TOTAL` replaced by ``total`` points."""
        return (float(total if self.low == TOTAL else self.low),
                float(total if self.high == TOTAL else self.high))

    def allowed(self, total: float = 100.0) -> str:
        """What the path accepts, in words: ``a number in [0, 0.5] (attainment)``."""
        if self.kind == CHOICE:
            text = f"one of {', '.join(self.choices)}"
        elif self.kind == BOOL:
            text = "true or false"
        else:
            lo, hi = self.interval(total)
            what = "a whole number" if self.kind == INT else "a number"
            if math.isfinite(lo) and math.isfinite(hi):
                text = (f"{what} in {'[' if self.closed[0] else '('}{_num(lo)}, "
                        f"{_num(hi)}{']' if self.closed[1] else ')'}")
            elif math.isfinite(lo):
                text = f"{what} {'>=' if self.closed[0] else '>'} {_num(lo)}"
            elif math.isfinite(hi):
                text = f"{what} {'<=' if self.closed[1] else '<'} {_num(hi)}"
            else:
                text = "a finite number" if self.kind == REAL else what
            if self.unit:
                text += f" ({self.unit})"
        return text + (", or absent (off)" if self.optional else "")

    def accepts(self, value: Any, total: float = 100.0) -> bool:
        """True when ``value`` is allowed."""
        if value is None:
            return self.optional
        if self.kind == CHOICE:
            return isinstance(value, str) and value in self.choices
        if self.kind == BOOL:
            return isinstance(value, bool | np.bool_)
        if isinstance(value, bool | np.bool_):
            return False
        if self.kind == INT and not isinstance(value, int | np.integer):
            return False
        if not isinstance(value, int | float | np.integer | np.floating):
            return False
        v = float(value)
        if not math.isfinite(v):
            return False
        lo, hi = self.interval(total)
        return ((lo <= v if self.closed[0] else lo < v)
                and (v <= hi if self.closed[1] else v < hi))

    def problem(self, total: float = 100.0) -> str:
        """The problem an error states for a refused value."""
        return f"must be {self.allowed(total)}"

    def check(self, path: str, value: Any, *, total: float = 100.0,
              source: str | None = None, where: str | None = None) -> Any:
        """``value`` if allowed, else an :class:`InputError` naming the source, the path,
        the value and what is allowed (one line)."""
        if not self.accepts(value, total):
            raise InputError(source, where, path, value, self.problem(total))
        return value


def _num(v: float) -> str:
    return f"{v:.15g}"


_SHARE = "share"
_ATTAINMENT_SD = "attainment, sd"


def _share(description: str, vary: bool = False) -> Constraint:
    return Constraint(REAL, 0.0, 1.0, unit=_SHARE, description=description, vary=vary)


def _sd(description: str, vary: bool = False) -> Constraint:
    return Constraint(REAL, 0.0, 0.5, unit=_ATTAINMENT_SD, description=description, vary=vary)


def _at_least(low: float, unit: str, description: str, *, closed: bool = True,
              kind: str = REAL, optional: bool = False) -> Constraint:
    return Constraint(kind, low, math.inf, (closed, False), unit, description,
                      optional=optional)


def _choice(choices: Sequence[str], description: str) -> Constraint:
    return Constraint(CHOICE, choices=tuple(choices), description=description)


def _flag(description: str) -> Constraint:
    return Constraint(BOOL, description=description)


def _yuan(high: float, description: str, vary: bool = False) -> Constraint:
    return Constraint(REAL, 0.0, high, unit="yuan", description=description, vary=vary)


def _points(description: str) -> Constraint:
    """A number of points in [0, the scenario's most points] (:data:`TOTAL`)."""
    return Constraint(REAL, 0.0, TOTAL, unit="points", description=description)


def _days(description: str) -> Constraint:
    return Constraint(REAL, 0.0, 1e6, unit="staff-days", description=description)


_BIAS = Constraint(REAL, -0.5, 0.5, unit="attainment", description="a systematic shift of "
                   "the attainment an evaluator reports (+: above the truth)")
_AMBITION = Constraint(REAL, -0.5, 0.5, unit=_SHARE, description="targets set above (below: "
                       "soft) expected performance, measurement space", vary=True)
_MULTIPLIER = Constraint(REAL, 0.0, 2.0, unit="multiplier", vary=True,
                         description="next year's budget multiplier of {grade}")
_POINTS = Constraint(REAL, 0.0, TOTAL, unit="points", vary=True, description="{what}")

#: Path (``<...>``: any code) → constraint. The simulation settings first, then the linkage
#: and grading values of the registry, then the weights.
CONSTRAINTS: dict[str, Constraint] = {
    "seed": _at_least(0, "", "the seed of the synthetic portfolio and the Monte Carlo",
                      kind=INT),
    # --- simulation: run size --------------------------------------------------------------
    "simulation.years": _at_least(1, "", "years simulated", kind=INT),
    "simulation.replications": _at_least(1, "", "Monte Carlo replications", kind=INT),
    "simulation.chunk": _at_least(1, "", "replications per chunk, at most (a large "
                                   "portfolio runs fewer: perfsim.run.simulate.chunk_blocks)",
                                   kind=INT),
    # --- latent performance ------------------------------------------------------------------
    "simulation.performance.persistence": _share("year-to-year persistence of latent "
                                                 "performance"),
    "simulation.performance.innovation_sd": _sd("yearly innovation of latent performance"),
    "simulation.performance.elasticity": Constraint(REAL, unit="attainment per unit of "
                                                    "budget change", description="response "
                                                    "of performance to budget changes"),
    "simulation.performance.leaf_dispersion": _sd("spread of leaf attainment around a "
                                                  "project's performance", vary=True),
    "simulation.performance.space": _choice(("attainment", "measurement", "auto"),
                                            "where the Monte Carlo adds noise"),
    # --- targets (measurement space) ---------------------------------------------------------
    "simulation.targets.set_by": _choice(("portfolio", "ambition"), "who sets the targets"),
    "simulation.targets.ambition": _AMBITION,
    "simulation.targets.by_department.<department>": Constraint(
        REAL, -0.5, 0.5, unit=_SHARE, description="a department's own ambition"),
    "simulation.targets.overcompletion_threshold": _at_least(
        0, "share of the target",
        "attainment beyond which over-completion of a higher-is-better leaf is discounted "
        "(a lower-is-better leaf met keeps its points)",
        optional=True),
    "simulation.targets.overcompletion_rate": _at_least(0, "", "rate of the discount of "
                                                        "over-completion"),
    "simulation.targets.overcompletion_floor": _share("the least an over-completed target "
                                                      "keeps"),
    "simulation.targets.recheck_resets": _flag("a re-check resets the targets"),
    # --- self-evaluation ----------------------------------------------------------------------
    "simulation.self_evaluation.noise": _sd("self-evaluation measurement noise", vary=True),
    "simulation.self_evaluation.inflation_mean": Constraint(
        REAL, -0.5, 0.5, unit="attainment", description="mean self-evaluation inflation",
        vary=True),
    "simulation.self_evaluation.inflation_sd": _sd("spread of inflation between projects",
                                                   vary=True),
    "simulation.self_evaluation.by_department.<department>": Constraint(
        REAL, -0.5, 0.5, unit="attainment", description="a department's own mean inflation"),
    "simulation.self_evaluation.strategy": _choice(
        STRATEGIES, "how units inflate: none (the fixed inflation above) or best_response "
        "(each unit chooses its inflation each year from the checks, the penalty and the "
        "money at its grade line)"),
    "simulation.self_evaluation.belief_update": _share(
        "best_response: how far a unit caught inflating moves its perceived check chance "
        "toward 1", vary=True),
    "simulation.self_evaluation.max_inflation": Constraint(
        REAL, 0.0, TOTAL, unit="points", vary=True, description="best_response: the most "
        "points a unit adds to its honest self-score (its reach)"),
    # --- spot checks and re-checks ------------------------------------------------------------
    "simulation.spot_check.share": _share("share of projects re-checked", vary=True),
    "simulation.spot_check.selection": _choice(SELECTIONS, "which projects are re-checked"),
    "simulation.spot_check.band": Constraint(REAL, 0.0, TOTAL, (False, True), "points",
                                             "near_cutoffs: points above a grade line"),
    "simulation.spot_check.mix.<selection>": _at_least(0, "share of the checks",
                                                       "a selection's share of the checks"),
    "simulation.spot_check.risk_departments.<department>": _at_least(
        0, "risk weight", "a department's risk weight (1: as others)", closed=False),
    "simulation.spot_check.risk_history": _at_least(0, "risk weight", "the weight added for "
                                                    "a project found inflated before"),
    "simulation.spot_check.days_budget": Constraint(
        REAL, 0.0, 1e6, unit="staff-days", vary=True, description="staff-days for re-checks "
        "a year, at simulation.cost.recheck_days each (0: no cap)"),
    "simulation.spot_check.funds_share": _share("share of this year's funds the re-checks "
                                                "must cover (0: none)", vary=True),
    "simulation.spot_check.noise": _sd("re-check measurement noise", vary=True),
    "simulation.spot_check.replace": _flag("the re-check score replaces the self-score"),
    "simulation.spot_check.gap_rule": _flag("the project-score gap deduction (after Wenzhou's "
                                            "re-check rule, which deducts from the "
                                            "department's score)"),
    "simulation.spot_check.gap_on": _choice(("project", "department"), "where the gap "
                                            "deduction lands: the project's graded score, or "
                                            "the department's score that ranks departments "
                                            "for advanced units (Wenzhou's 四.1)"),
    "simulation.spot_check.gap": _points("the gap the rule tolerates"),
    "simulation.spot_check.per": _points("points lost per step"),
    "simulation.spot_check.step": Constraint(REAL, 0.0, TOTAL, (False, True), "points",
                                             "points of gap per step"),
    "simulation.spot_check.gap_mode": _choice(GAP_MODES, "steps of the whole gap or of the "
                                                         "excess"),
    "simulation.spot_check.inflation_penalty": _points("extra points lost when the gap is "
                                                       "exceeded"),
    "simulation.spot_check.unchecked_bonus": _points("points added to projects not checked"),
    # --- monitoring ----------------------------------------------------------------------------
    "simulation.monitoring.execution_sd": _sd("noise of the execution rate at a checkpoint"),
    "simulation.monitoring.recovery_share": _share("share of idle funds recovered at a "
                                                   "failed checkpoint", vary=True),
    "simulation.monitoring.pace": _choice(PACES, "a project's execution pace at a checkpoint: "
                                          "on schedule plus noise (schedule), or its latent "
                                          "performance, the same variable as its target "
                                          "attainment (performance)"),
    "simulation.monitoring.targets": _share("projected target attainment below which "
                                            "monitoring finds targets clearly unreachable",
                                            vary=True),
    "simulation.monitoring.target_noise": _sd("noise of the projected target attainment at "
                                              "a checkpoint", vary=True),
    "simulation.monitoring.target_consequence": _choice(TARGET_CONSEQUENCES, "what follows "
                                                        "clearly unreachable targets"),
    "simulation.monitoring.year_end_clearing": _flag("unspent balances of missed targets "
                                                     "cleared at year end"),
    # --- costs and evaluators ----------------------------------------------------------------
    "simulation.cost.self_evaluation": _yuan(1e7, "cost of one self-evaluation", vary=True),
    "simulation.cost.recheck": _yuan(1e7, "cost of one re-check (finance, an intermediary "
                                     "or a third party)", vary=True),
    "simulation.cost.self_evaluation_days": _days("staff-days of one self-evaluation"),
    "simulation.cost.recheck_days": _days("staff-days of one re-check"),
    "simulation.evaluators.intermediary_share": _share("share of the re-checks below the "
                                                       "third party's threshold done by "
                                                       "intermediaries", vary=True),
    "simulation.evaluators.intermediary_noise": _sd("an intermediary's re-check noise"),
    "simulation.evaluators.intermediary_bias": _BIAS,
    "simulation.evaluators.intermediary_cost": _yuan(1e7, "an intermediary's fee a project"),
    "simulation.evaluators.intermediary_days": _days("staff-days of an intermediary's "
                                                     "re-check"),
    "simulation.evaluators.third_party_min_budget": _yuan(1e12, "checked projects this large "
                                                          "go to a third party (0: none)",
                                                          vary=True),
    "simulation.evaluators.third_party_noise": _sd("a third party's re-check noise"),
    "simulation.evaluators.third_party_bias": _BIAS,
    "simulation.evaluators.third_party_cost": _yuan(1e7, "a third party's fee a project"),
    "simulation.evaluators.third_party_days": _days("staff-days of a third party's re-check"),
    "simulation.evaluators.deposit": _share("share of a third party's fee withheld"),
    "simulation.evaluators.deposit_tolerance": _points("the error (points) beyond which the "
                                                       "deposit is forfeited (0: never)"),
    "simulation.evaluators.instead_of_self": _flag("a project an intermediary evaluates is "
                                                   "not self-evaluated (Weifang: 22 + 7)"),
    "simulation.evaluators.blacklist_years": _at_least(0, "years", "years a third party is "
                                                       "barred after a forfeit (0: off)",
                                                       kind=INT),
    "simulation.evaluators.deposit_basis": _choice(DEPOSIT_BASES, "what a third party's "
                                                   "re-check is judged against for its "
                                                   "deposit: what the year's check can see "
                                                   "(year), or the results at completion "
                                                   "(completion)"),
    # --- dynamics and design uncertainty ------------------------------------------------------
    "simulation.dynamics.entry_rate": _share("new projects a year, as a share of the "
                                             "portfolio"),
    "simulation.dynamics.escalation_years": _at_least(0, "years", "years before an "
                                                      "unresolved problem escalates (0: off)",
                                                      kind=INT),
    "simulation.dynamics.pre_evaluation": _choice(GATE_CONTINUING, "a continuing project's "
                                                  "request passes the pre-evaluation once, "
                                                  "as it enters (entry), or again every year "
                                                  "(every_year)"),
    "simulation.dynamics.flag_years": _at_least(0, "years", "years the portfolio's condition "
                                                "flags hold for a project, from its entry "
                                                "(0: every year)", kind=INT),
    "simulation.dynamics.recovery": _choice(RECOVERY_SCOPES, "a recovery lowers the year's "
                                            "funds only (year) or next year's base too "
                                            "(base)"),
    "simulation.uncertainty.weights": _choice(("none", "dirichlet", "uniform"),
                                              "how the weights vary between replications"),
    "simulation.uncertainty.concentration": _at_least(0, "", "Dirichlet concentration of "
                                                      "the weights"),
    "simulation.uncertainty.pct": Constraint(REAL, 0.0, 1.0, (True, False), _SHARE,
                                             "uniform: the weights' relative spread"),
    "simulation.uncertainty.cutoff_jitter": _points("spread of the cutoffs between "
                                                    "replications"),
    "simulation.uncertainty.ratio": Constraint(REAL, *LIUPANSHUI_RATIO_RANGE, unit=_SHARE,
                                               description="each end of the range the "
                                               "Liupanshui cut of 中 varies over between "
                                               "replications (the rule: 10% to 20%)"),
    # --- linkage -------------------------------------------------------------------------------
    "linkage.ratio": Constraint(REAL, *LIUPANSHUI_RATIO_RANGE, unit=_SHARE, vary=True,
                                description="the cut of 中-rated budgets (Liupanshui: "
                                            "10% to 20%)"),
    "linkage.multipliers.<grade>": _MULTIPLIER,
    "linkage.preconditions.<flag>.share": _share("the cut of projects failing the "
                                                 "precondition {flag}", vary=True),
    "linkage.rectification.probability": _share("probability that a project fed back "
                                                "rectifies within the deadline", vary=True),
    "linkage.rectification.probability.<grade>": _share(
        "probability that a project graded {grade} and fed back rectifies within the "
        "deadline", vary=True),
    "linkage.rectification.unrectified.<grade>": Constraint(
        REAL, 0.0, 2.0, unit="multiplier", vary=True, description="next year's budget "
        "multiplier of a project graded {grade} and not rectified"),
    "linkage.rectification.recover": _share("share of the budget recovered from a project "
                                            "not rectified", vary=True),
    "linkage.rectification.effect": Constraint(
        REAL, 0.0, 1.0, unit="attainment", vary=True, description="latent performance "
        "gained by rectifying (Monte Carlo, later years)"),
    "linkage.blacklist.cut": _share("the cut of a blacklisted unit's projects (1 = no "
                                    "budget)", vary=True),
    "linkage.pre_evaluation.noise": Constraint(REAL, 0.0, TOTAL, unit="points, sd", vary=True,
                                               description="noise of the pre-evaluation's "
                                                           "expected score"),
    "linkage.pre_evaluation.reject_below": Constraint(
        REAL, 0.0, TOTAL, unit="points", vary=True, description="the expected score below "
        "which a request is rejected"),
    "linkage.pre_evaluation.postpone_below": Constraint(
        REAL, 0.0, TOTAL, unit="points", vary=True, description="the expected score below "
        "which a request is postponed"),
    "linkage.pre_evaluation.reduce_below": Constraint(
        REAL, 0.0, TOTAL, unit="points", vary=True, description="the expected score below "
        "which a request is reduced"),
    "linkage.pre_evaluation.reduce": _share("the share taken off a request the "
                                            "pre-evaluation reduces", vary=True),
    "linkage.coverage.min_budget": _yuan(1e12, "projects this large must self-evaluate",
                                         vary=True),
    "linkage.coverage.funds_share": _share("share of each department's (or the "
                                           "portfolio's) funds that must be self-evaluated "
                                           "(0: none; > 0 without coverage.min_budget)",
                                           vary=True),
    "linkage.cross_year.lag": _share("share of a cross-year project's results that show "
                                     "only at completion (Monte Carlo)", vary=True),
    "linkage.zero_performance.below": Constraint(
        REAL, 0.0, TOTAL, unit="points", vary=True, description="the score below which a "
        "project counts as zero performance"),
    # --- grading and weights -------------------------------------------------------------------
    "grading.cutoffs": Constraint(REAL, 0.0, TOTAL, unit="points", vary=True,
                                  description="all grade cutoffs"),
    "grading.cutoffs.<grade>": Constraint(REAL, 0.0, TOTAL, unit="points", vary=True,
                                          description="the lowest score graded {grade}"),
    # --- calibration targets ---------------------------------------------------------------
    "observed_scores": Constraint(REAL, 0.0, TOTAL, unit="points", description="a project's "
                                  "observed total score (the target of fitted weights)"),
    "weights": Constraint(REAL, 0.0, TOTAL, unit="points", vary=True,
                          description="points of every level-1 group"),
    "weights.leaves": Constraint(REAL, 0.0, TOTAL, unit="points", vary=True,
                                 description="points of every leaf indicator"),
    "weights.<code>": Constraint(REAL, 0.0, TOTAL, unit="points", vary=True,
                                 description="points of level-1 group {code} (all points are "
                                             "then rescaled to the total)"),
}

_PATTERNS = [key.split(".") for key in CONSTRAINTS if "<" in key]


def _key(path: str) -> str | None:
    """The table's key of a concrete path (``linkage.multipliers.fair`` →
    ``linkage.multipliers.<grade>``), or None."""
    if path in CONSTRAINTS:
        return path
    parts = path.split(".")
    for pattern in _PATTERNS:
        if len(pattern) == len(parts) and all(
                p == q or p.startswith("<") for p, q in zip(pattern, parts, strict=True)):
            return ".".join(pattern)
    return None


def constraint(path: str) -> Constraint | None:
    """The constraint of ``path`` (a concrete path: ``linkage.multipliers.fair``), or None
    when the table holds none."""
    key = _key(path)
    return None if key is None else CONSTRAINTS[key]


def describe(path: str) -> str:
    """The meaning of ``path``, its codes filled in (``{grade}`` → ``fair``)."""
    key = _key(path)
    if key is None:
        return ""
    names = {p[1:-1]: q for p, q in zip(key.split("."), path.split("."), strict=True)
             if p.startswith("<")}
    return CONSTRAINTS[key].description.format(**names)


def check(path: str, value: Any, *, total: float = 100.0, source: str | None = None,
          where: str | None = None) -> Any:
    """``value`` checked against the table's constraint of ``path`` (unconstrained paths
    pass)."""
    c = constraint(path)
    return value if c is None else c.check(path, value, total=total, source=source,
                                           where=where)


# --- the registry values of a linkage and a grading --------------------------------------------

def linkage_paths(link: Linkage) -> dict[str, Constraint]:
    """The registry paths of ``link``'s values (only the rules it has): ``linkage.ratio`` or
    ``linkage.multipliers.<grade>``, then the evaluation cycle's values, each with its
    constraint."""
    out: list[str] = []
    if link.name == "liupanshui" and isinstance(link.rule, GradeTable):
        out.append("linkage.ratio")
    elif isinstance(link.rule, GradeTable):
        out += [f"linkage.multipliers.{code}" for code in link.labels.codes]
    for name, (kind, _) in zip(link.preconditions, link.consequences, strict=False):
        if kind == "cut":
            out.append(f"linkage.preconditions.{name}.share")
    rect = link.rectification
    if rect is not None:
        out += [f"linkage.rectification.probability.{code}" for code in rect.by_grade]
        if not rect.by_grade:
            out.append("linkage.rectification.probability")
        out += [f"linkage.rectification.unrectified.{code}" for code in rect.unrectified]
        out += ["linkage.rectification.recover", "linkage.rectification.effect"]
    if link.blacklist is not None:
        out.append("linkage.blacklist.cut")
    pre = link.pre_evaluation
    if pre is not None:
        out.append("linkage.pre_evaluation.noise")
        out += [f"linkage.pre_evaluation.{key}" for key in ("reject_below", "postpone_below",
                                                             "reduce_below")
                if getattr(pre, key) is not None]
        if pre.reduce_below is not None:
            out.append("linkage.pre_evaluation.reduce")
    cover = link.coverage
    if cover is not None:
        if math.isfinite(cover.min_budget):
            out.append("linkage.coverage.min_budget")
        out.append("linkage.coverage.funds_share")
    if link.cross_year is not None and link.cross_year.evaluation == "annual":
        out.append("linkage.cross_year.lag")
    if link.zero_performance is not None:
        out.append("linkage.zero_performance.below")
    return {p: constraint(p) for p in out}


def linkage_value(link: Linkage, path: str) -> float:
    """The value ``link`` has at the registry path ``path`` (``linkage.…``)."""
    setting = path.removeprefix("linkage.")
    head, _, rest = setting.partition(".")
    if head == "ratio":
        return float(link.params["ratio"])
    if head == "multipliers":
        return float(link.rule.multipliers[link.labels.codes.index(rest)])
    if rest.startswith("probability."):
        return float(link.rectification.by_grade[rest.split(".", 1)[1]])
    if rest.startswith("unrectified."):
        return float(link.rectification.unrectified[rest.split(".", 1)[1]])
    if head == "preconditions":
        name = rest.rsplit(".", 1)[0]
        return float(link.consequences[link.preconditions.index(name)][1])
    return float(getattr(getattr(link, head), rest))


def grading_paths(grading: Grading) -> list[str]:
    """The registry paths of one grade cutoff each (``grading.cutoffs.<grade>``)."""
    if grading.cutoffs is None:
        return []
    return [f"grading.cutoffs.{code}" for code in grading.labels.codes[:-1]]


# --- the values as a scenario file writes them --------------------------------------------------

def file_values(block: Any, prefix: str) -> dict[str, Any]:
    """The values of a scenario file's ``linkage:`` or ``grading:`` block (``prefix``) by
    their path as the file writes them: mappings by key, a precondition by its flag
    (``linkage.preconditions.<flag>.share``), the cutoffs by position
    (``grading.cutoffs[0]``). Anything that is not a mapping where one is expected is left to
    the block's own parser."""
    out: dict[str, Any] = {}
    if not isinstance(block, Mapping):
        return out
    for key, value in block.items():
        path = f"{prefix}.{key}"
        if path == "linkage.preconditions":
            items = [value] if isinstance(value, Mapping) else value
            for item in items if isinstance(items, list | tuple) else ():
                if isinstance(item, Mapping) and isinstance(item.get("flag"), str):
                    for k, v in item.items():
                        if k != "flag":
                            out[f"{path}.{item['flag'].strip()}.{k}"] = v
        elif path == "grading.cutoffs":  # a list (null: rank-only grading)
            if isinstance(value, list | tuple):
                out.update({f"{path}[{k}]": v for k, v in enumerate(value)})
        elif isinstance(value, Mapping):
            out.update(file_values(value, path))
        else:
            out[path] = value
    return out


def check_file_values(doc: Mapping[str, Any], total: float, source: str | None) -> None:
    """Every registry value of a scenario file's ``linkage:`` and ``grading:`` blocks
    checked against the table (before the blocks' own parsers see them): an error names the
    file, the path as the file writes it, the value and the allowed range."""
    for block in ("linkage", "grading"):
        for path, value in file_values(doc.get(block), block).items():
            c = constraint(path.split("[")[0] + (".<grade>" if "[" in path else ""))
            if c is not None and c.vary:
                c.check(path, value, total=total, source=source)


def set_file_value(doc: dict[str, Any], path: str, value: Any, labels: LabelSet) -> None:
    """Write ``value`` at the registry path ``path`` into a scenario document (its
    ``linkage:`` or ``grading:`` block, created when missing), where a file would hold it:
    a grade's key as the file wrote it (code or Chinese label), a precondition's share in
    its list entry, a cutoff at its position."""
    parts = path.split(".")
    block = doc.setdefault(parts[0], {})
    if parts[0] == "grading":
        cut = list(block.get("cutoffs") or ())
        k = labels.codes.index(parts[2])
        cut += [None] * (k + 1 - len(cut))
        cut[k] = value
        block["cutoffs"] = cut
        return
    if parts[1] == "preconditions":
        flag = ".".join(parts[2:-1])
        items = block.get("preconditions")
        items = [items] if isinstance(items, str | Mapping) else list(items or ())
        for k, item in enumerate(items):
            if isinstance(item, Mapping) and str(item.get("flag", "")).strip() == flag:
                items[k] = {**item, "share": value}
                break
        else:
            items.append({"flag": flag, "consequence": "cut", "share": value})
        block["preconditions"] = items
        return
    node = block
    for key in parts[1:-1]:
        if not isinstance(node.get(key), Mapping):
            node[key] = {}
        node[key] = dict(node[key])
        node = node[key]
    last = parts[-1]
    if last in labels.codes:
        zh = labels.zh[labels.codes.index(last)]
        if zh in node and last not in node:
            last = zh
    node[last] = value
