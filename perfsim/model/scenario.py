"""Scenarios: one file that ties an indicator system, a portfolio, grading, linkage and a seed.

A :class:`Scenario` is immutable and cheap to copy: ``scenario.replace(linkage=...)`` gives the
same scenario with one part changed, which is how sweeps and calibration vary it.

Scenario YAML (paths are relative to the scenario file)::

    name: liupanshui_2022
    description: ...
    seed: 2022
    indicator_system: ../indicator_systems/national_project_self_eval.yaml  # optional
    portfolio:
      file: ../portfolios/example.csv          # either a file ...
      # generate: {preset: liupanshui_2021, calibrate: {...}}   # ... or this
      # imported: ../imports/2023              # ... or a folder `perfsim import` wrote
      # scores: recomputed                     # (imported: recomputed or printed)
    grading: {labels: national, cutoffs: [90, 80, 60], quotas: {excellent: 0.2}}
    linkage: {rule: liupanshui, ratio: 0.15, pool: treasury}
    weighting: {groups: {method: entropy}}       # optional, see perfsim.run.compare
    department_flags:                            # optional: yes/no for whole departments
      self_evaluated: {林业局: no}               # every project of 林业局 fails the flag
      # or: {file: ../portfolios/departments.csv}  (columns department, <flag>, ...)
"""

from __future__ import annotations

import copy
import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from perfsim import textfiles
from perfsim.errors import InputError
from perfsim.io import check_mapping, read_yaml, safe_name
from perfsim.kernel.evaluation import Measure
from perfsim.kernel.grading import LABEL_SETS, Grading, grading_from_dict
from perfsim.kernel.linkage import Linkage, linkage_from_dict
from perfsim.model.constraints import (
    CONSTRAINTS,
    check_file_values,
    grading_paths,
    linkage_paths,
    linkage_value,
    set_file_value,
)
from perfsim.model.imported import SCORES, ImportedPortfolio, load_imported
from perfsim.model.indicators import (
    CELL_COLUMNS,
    IndicatorSystem,
    load_indicator_system,
    restructure,
    with_indicator,
)
from perfsim.model.portfolio import Portfolio, generate_portfolio, load_portfolio
from perfsim.model.settings import (
    Settings,
    check_settings,
    settings_block,
    settings_from_dict,
)
from perfsim.model.streams import seed_sequence
from perfsim.model.weights import apply_weighting, scenario_weighting

SCENARIO_KEYS = {"name", "description", "seed", "indicator_system", "portfolio", "grading",
                 "linkage", "simulation", "weighting", "department_flags", "indicators"}
#: The keys of a scenario's ``indicators:`` block: the structural operations
#: ``indicators.<key>`` (:func:`perfsim.model.indicators.restructure`).
STRUCTURE_KEYS = ("remove", "rescale", "give_to", "move", "add", "points", "candidates")


@dataclass(frozen=True)
class Scenario:
    """Everything one run needs. Validated on construction from a file; trusted afterwards."""

    name: str
    portfolio: Portfolio
    grading: Grading = field(default_factory=Grading)
    linkage: Linkage = field(default_factory=lambda: linkage_from_dict(None))
    system: IndicatorSystem | None = None
    seed: int = 0
    description: str = ""
    source: str | None = None
    settings: Settings = field(default_factory=Settings)
    #: the scenario file as read (whole ``grading``/``linkage`` blocks a change replaced
    #: written in); the values in force are in the fields above: see :attr:`spec`
    document: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def has_simulation(self) -> bool:
        """True when the scenario file has a ``simulation:`` block."""
        return self.document.get("simulation") is not None

    @property
    def spec(self) -> dict[str, Any]:
        """The scenario as a scenario file writes it, derived from the values now in force:
        the file as read with every registry value of the linkage and the grade cutoffs
        written where the file holds them, and the ``simulation:`` block that gives the
        settings. Never stale: after ``set``, it says what was set. (Weights set by
        ``weights.*`` live in the indicator system, which the file names by path; they are
        not written here.)"""
        doc = copy.deepcopy(dict(self.document))
        labels = self.grading.labels
        link = self.linkage
        paths = linkage_paths(link)
        if paths and doc.get("linkage") is None:
            doc["linkage"] = {"rule": link.name}
        for path in paths:
            set_file_value(doc, path, linkage_value(link, path), labels)
        cut_paths = grading_paths(self.grading)
        if cut_paths and doc.get("grading") is None:
            doc["grading"] = {"labels": labels.name if LABEL_SETS.get(labels.name) == labels
                              else [{"code": c, "zh": z}
                                    for c, z in zip(labels.codes, labels.zh, strict=True)]}
        for k, path in enumerate(cut_paths):
            set_file_value(doc, path, float(self.grading.cutoffs[k]), labels)
        if doc.get("simulation") is not None or self.settings != Settings():
            doc["simulation"] = settings_block(self.settings, doc.get("simulation"))
        return doc

    def replace(self, **changes: Any) -> Scenario:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)

    @property
    def total(self) -> float:
        """The most points a project can score (the system's total plus its bonus cap; 100
        without an indicator system)."""
        if self.system is not None:
            return float(self.system.total + self.system.bonus_cap)
        return 100.0

    def observed(self) -> tuple[np.ndarray, Measure]:
        """The portfolio as the kernel sees it: attainments (projects, leaves) and the
        :class:`~perfsim.kernel.evaluation.Measure` that turns them into scores.

        A portfolio of measurements gives each leaf's attainment under the indicator system
        (cells without a value filled as the system says, bonus points fixed per project) and
        the system's measure, which rounds as published; a portfolio of ready scores is one
        "leaf" per project, the score itself, so that every path computes the very same
        scores."""
        pf = self.portfolio
        if isinstance(pf, ImportedPortfolio):   # each project's own leaves and points
            return pf.observed()
        if pf.has_scores:
            s = np.asarray(pf.scores, dtype=float)
            span = max(self.total, float(s.max(initial=0.0)))
            return s[:, None], Measure(points=np.ones(1), span=np.array([span]), ready=True)
        system = self.system
        if system is None:
            raise InputError(self.source, field="indicator_system",
                             problem="the portfolio has measurements but no indicator system")
        resolved = system.resolve(pf.measurements())
        bonus = np.broadcast_to(np.asarray(resolved.bonus, dtype=float),
                                (pf.n_projects,)).copy()
        return np.asarray(resolved.attainment, dtype=float), system.measure(bonus)

    def filled_cells(self) -> pd.DataFrame:
        """The portfolio's cells that held no value (blank, not applicable, not submitted)
        and how each was filled: row (as a spreadsheet shows it), project, department, leaf
        code, what the cell held, the treatment and the points the leaf now earns. Empty for
        a portfolio of ready scores."""
        pf = self.portfolio
        if pf.has_scores or self.system is None:
            return pf.cells_table(pd.DataFrame(columns=list(CELL_COLUMNS)))
        return pf.cells_table(self.system.resolve(pf.measurements()).cells)

    def scores(self) -> np.ndarray:
        """Total scores of the portfolio's projects (points), as every path computes them."""
        attainment, measure = self.observed()
        return measure.score(attainment[None])[0]


#: file suffixes of tables (a portfolio, a self-evaluation workbook), never a scenario
TABLE_SUFFIXES = (".csv", ".xlsx", ".xlsm", ".xls", ".tsv")


def load_scenario(path: str | Path, seed: int | None = None) -> Scenario:
    """Read a scenario file; ``seed`` overrides the file's seed (and regenerates a synthetic
    portfolio with it)."""
    path = Path(path)
    src = str(path)
    if path.suffix.lower() in TABLE_SUFFIXES:   # a portfolio table given where a scenario goes
        raise InputError(src, problem="a table, not a scenario: a scenario YAML names it "
                                      "(portfolio: {file: ...}, as in datasets/scenarios/"
                                      "liupanshui_2022_workbook.yaml); perfsim validate checks "
                                      "the table, perfsim app runs it")
    doc = read_yaml(path)
    check_mapping(doc, SCENARIO_KEYS, src, "a scenario", required=("portfolio",))
    file_seed = doc.get("seed", 0)
    use_seed = file_seed if seed is None else seed
    CONSTRAINTS["seed"].check("seed", use_seed, source=src)
    base = path.parent

    try:
        system = None
        if doc.get("indicator_system") is not None:
            system = load_indicator_system(_resolve(base, doc["indicator_system"], src,
                                                    "indicator_system"))
        check_file_values(doc, _most_points(system), src)
        grading = grading_from_dict(_mapping(doc.get("grading"), src, "grading"))
        linkage = linkage_from_dict(_mapping(doc.get("linkage"), src, "linkage"), grading.labels)
    except InputError as err:
        raise err.at(src) from None
    name = doc.get("name")
    if isinstance(name, int | float) and not isinstance(name, bool):
        name = str(name)  # name: 2022
    name = safe_name(name, src, "name") if name is not None else safe_name(
        path.stem, src, "name (none given; the file name is used)")
    try:
        settings = settings_from_dict(_mapping(doc.get("simulation"), src, "simulation"))
    except InputError as err:
        raise err.at(src) from None
    ops = structure_ops(doc.get("indicators"), system, src)
    portfolio = _portfolio(doc["portfolio"], base, src,
                           with_added(system, ops, src, doc.get("indicators")), grading,
                           use_seed, linkage.preconditions)
    if doc.get("department_flags") is not None:
        portfolio = portfolio.with_department_flags(
            department_flags(doc["department_flags"], base, src, linkage.preconditions), src)
    if ops:   # the structure first: a weighting block then weights the changed system
        try:
            system = restructure(system, ops, measured=portfolio.measured,
                                 has_scores=portfolio.has_scores,
                                 portfolio_source=portfolio.source, source=src)
        except InputError as err:
            raise _in_block(err, src) from None
    if doc.get("weighting") is not None and isinstance(portfolio, ImportedPortfolio):
        raise InputError(src, field="weighting", problem="an imported portfolio keeps each "
                                                         "table's own points: no weighting")
    if doc.get("weighting") is not None or (system is not None and system.weighting is not None):
        try:  # the scenario's weighting block wins over the indicator system's
            spec = scenario_weighting(doc.get("weighting"), system, path, portfolio)
            system = apply_weighting(system, spec, portfolio)
        except InputError as err:
            raise err.at(src) from None
    try:
        linkage.apply(portfolio.budget[:1], np.zeros(1), np.zeros(1, dtype=np.int8),
                      {k: v[:1] for k, v in portfolio.flags().items()})
    except InputError as err:
        raise err.at(src) from None
    return check_scenario(Scenario(name=name, portfolio=portfolio, grading=grading,
                                   linkage=linkage, system=system, seed=int(use_seed),
                                   description=str(doc.get("description") or "").strip(),
                                   source=src, settings=settings, document=dict(doc)), src)


def check_scenario(sc: Scenario, source: str | None = None) -> Scenario:
    """``sc`` once assembled — from a file, ``--set``, ``Scenario.set`` or the app — checked
    as a whole, so that every route refuses the same values with the same one line: every
    value against the one table (:mod:`perfsim.model.constraints`), a bound in points being
    the scenario's most points (:attr:`Scenario.total`): grade cutoffs, the linkage's values
    (pre-evaluation and zero-performance thresholds, shares, multipliers), the simulation
    settings; the relations between values (coverage needs a budget line or a share of the
    funds); and the references to the portfolio (departments named by the settings exist,
    a cross-year rule has its ``years_left`` column). ``source``: the file the values came
    from (None: a change)."""
    total = sc.total
    for k, cutoff in enumerate(sc.grading.cutoffs or ()):
        CONSTRAINTS["grading.cutoffs.<grade>"].check(f"grading.cutoffs[{k}]", cutoff,
                                                     total=total, source=source)
    link = sc.linkage
    for path, c in linkage_paths(link).items():
        c.check(path, linkage_value(link, path), total=total, source=source)
    cover = link.coverage
    if cover is not None and not math.isfinite(cover.min_budget) and not cover.funds_share > 0:
        raise InputError(source, field="linkage.coverage.funds_share", value=cover.funds_share,
                         problem="must be > 0 when no min_budget is given (a coverage rule "
                                 "evaluating no project)")
    check_settings(sc.settings, total, source)
    pf = sc.portfolio
    if link.cross_year is not None and "years_left" not in pf.table.columns:
        raise InputError(pf.source, field="years_left",
                         problem="required column missing: the linkage rule cross_year "
                                 "needs each project's years to completion")
    known = set(map(str, pf.departments))
    s = sc.settings
    for block, by_dep in (("spot_check.risk_departments", s.check_risk_departments),
                          ("self_evaluation.by_department", s.inflation_by_department),
                          ("targets.by_department", s.target_ambition_by_department)):
        for dep in by_dep:
            if str(dep) not in known:
                raise InputError(source, field=f"simulation.{block}", value=str(dep),
                                 problem="no such department in the portfolio")
    return sc


def scenario_total(path: Any, base: Path | None = None) -> float:
    """The most points of the scenario file at ``path`` (relative to ``base``) without
    assembling it: its indicator system's total plus bonus cap, 100 without one
    (:attr:`Scenario.total`); ``math.inf`` when the file cannot be read here (whatever reads
    it whole then says why)."""
    try:
        p = Path(path)
        p = p if p.is_absolute() or base is None else base / p
        doc = read_yaml(p)
        named = doc.get("indicator_system") if isinstance(doc, Mapping) else None
        if named is None:
            return _most_points(None) if isinstance(doc, Mapping) else math.inf
        return _most_points(load_indicator_system(_resolve(p.parent, named, str(p),
                                                           "indicator_system")))
    except (InputError, OSError, TypeError, ValueError):
        return math.inf


def _most_points(system: IndicatorSystem | None) -> float:
    """The most a project can score: the system's total plus its bonus cap (100 without)."""
    return 100.0 if system is None else float(system.total + system.bonus_cap)


def _resolve(base: Path, value: Any, src: str, key: str) -> Path:
    if not isinstance(value, str) or not value.strip():
        raise InputError(src, field=key, value=value, problem="must be a file path")
    p = (base / value).resolve() if not Path(value).is_absolute() else Path(value)
    if not p.exists():
        raise InputError(src, field=key, value=value, problem=f"file not found ({p})")
    return p


def _mapping(value: Any, src: str, key: str) -> Mapping[str, Any] | None:
    if value is None or isinstance(value, Mapping):
        return value
    raise InputError(src, field=key, value=value, problem="must be a mapping")


def department_flags(spec: Any, base: Path, src: str, preconditions: tuple[str, ...]
                     ) -> dict[str, dict[str, bool]]:
    """A scenario's ``department_flags`` block — ``{flag: {department: yes/no}}`` or
    ``{file: PATH}`` (a CSV with a ``department`` column and one yes/no column per flag) —
    as flag → department → bool. Every flag must be one of the linkage's preconditions."""
    if isinstance(spec, Mapping) and set(spec) == {"file"}:
        path = _resolve(base, spec["file"], src, "department_flags.file")
        try:
            table = textfiles.read_csv(path, dtype=str, keep_default_na=False)[0]
        except InputError:
            raise
        except Exception as exc:  # pandas parse errors come in many classes
            raise InputError(path, problem=f"cannot parse ({exc.__class__.__name__})") from None
        if "department" not in table.columns:
            raise InputError(path, field="department", problem="required column missing")
        spec = {col: dict(zip(table["department"].str.strip(), table[col], strict=True))
                for col in table.columns if col != "department"}
        src = str(path)
    if not isinstance(spec, Mapping):
        raise InputError(src, field="department_flags", value=spec,
                         problem="must map flag names to {department: yes/no}, or be {file: "
                                 "PATH}")
    out: dict[str, dict[str, bool]] = {}
    for flag, by_dep in spec.items():
        where = f"department_flags.{flag}"
        if str(flag) not in preconditions:
            raise InputError(src, field=where, problem="not a precondition of the linkage "
                             f"(preconditions: {', '.join(preconditions) or 'none'}), so it "
                             "would change nothing")
        if not isinstance(by_dep, Mapping):
            raise InputError(src, field=where, value=by_dep,
                             problem="must map department names to yes/no")
        out[str(flag)] = {str(d): _yes_no(v, src, f"{where}.{d}") for d, v in by_dep.items()}
    return out


def _yes_no(value: Any, src: str, where: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "y", "是", "有"}:
        return True
    if text in {"0", "false", "no", "n", "否", "无"}:
        return False
    raise InputError(src, field=where, value=value, problem="must be yes/no (1/0, true/false)")


def candidates(block: Any) -> dict[str, Mapping[str, Any]]:
    """The candidate leaves of an ``indicators:`` block by code: leaves (as in an
    indicator-system file, with ``to: GROUP``) the portfolio holds measurements of, scored
    only where a variant, the block's ``add`` or a sensitivity factor adds them by code."""
    items = block.get("candidates") if isinstance(block, Mapping) else None
    if items is None:
        return {}
    items = items if isinstance(items, list | tuple) else [items]
    return {str(c["code"]): c for c in items if isinstance(c, Mapping) and "code" in c}


def added_leaves(value: Any, known: Mapping[str, Mapping[str, Any]]) -> Any:
    """``indicators.add``'s value with each code of a candidate leaf replaced by the leaf."""
    if isinstance(value, list | tuple):
        return [added_leaves(v, known) for v in value]
    if isinstance(value, str | int) and not isinstance(value, bool) and str(value) in known:
        return dict(known[str(value)])
    return value


def structure_ops(block: Any, system: IndicatorSystem | None, src: str
                  ) -> dict[str, Any]:
    """A scenario's ``indicators:`` block (``remove``, ``rescale``, ``give_to``, ``move``,
    ``add``, ``points``, as the ``indicators.*`` paths of a variant) as those paths; a code in
    ``add`` names one of the block's ``candidates``."""
    if block is None:
        return {}
    if not isinstance(block, Mapping) or not block:
        raise InputError(src, field="indicators", value=block,
                         problem="must be a mapping of structural operations (keys: "
                                 f"{', '.join(STRUCTURE_KEYS)})")
    for key in block:
        if key not in STRUCTURE_KEYS:
            raise InputError(src, field=f"indicators.{key}",
                             problem=f"unknown key (allowed: {', '.join(STRUCTURE_KEYS)})")
    if system is None:
        raise InputError(src, field="indicators", problem="structural operations need an "
                                                          "indicator_system")
    items = block.get("candidates")
    for item in [] if items is None else items if isinstance(items, list | tuple) else [items]:
        if not isinstance(item, Mapping) or "code" not in item:
            raise InputError(src, field="indicators.candidates", value=item,
                             problem="must be a leaf as in an indicator-system file, with "
                                     "code, points and rule (and to: GROUP)")
    known = candidates(block)
    ops = {f"indicators.{k}": v for k, v in block.items() if k != "candidates"}
    if "indicators.add" in ops:
        ops["indicators.add"] = added_leaves(ops["indicators.add"], known)
    return ops


def _in_block(err: InputError, src: str) -> InputError:
    """An error of a structural operation placed in the scenario file that wrote it."""
    return InputError(src, err.where or "indicators", err.field,
                      err.value if err.has_value else None, err.problem)


def with_added(system: IndicatorSystem | None, ops: Mapping[str, Any], src: str,
               block: Any = None) -> IndicatorSystem | None:
    """The system the portfolio is read with: the file's, with the leaves ``indicators.add``
    brings and the block's candidates (so that their measurement columns are read as
    indicators); what is scored is settled afterwards by the operations."""
    added = ops.get("indicators.add")
    nodes = list(candidates(block).values())
    if added is not None:
        nodes += [n for n in (added if isinstance(added, list | tuple) else [added])
                  if not (isinstance(n, Mapping) and str(n.get("code")) in candidates(block))]
    if system is None or not nodes:
        return system
    for node in nodes:
        if not isinstance(node, Mapping):
            break   # refused with its own line by the operation itself
        try:
            system = with_indicator(system, {k: v for k, v in node.items() if k != "to"},
                                    node.get("to"))
        except InputError as err:
            raise _in_block(err, src) from None
    return system


def _portfolio(spec: Any, base: Path, src: str, system: IndicatorSystem | None,
               grading: Grading, seed: int, flags: tuple[str, ...] = ()) -> Portfolio:
    if isinstance(spec, str):
        spec = {"file": spec}
    kinds = {"file", "generate", "imported"}
    if not isinstance(spec, Mapping) or len(set(spec) & kinds) != 1 or set(spec) - kinds - (
            {"scores"} if "imported" in spec else set()):
        raise InputError(src, field="portfolio", value=spec,
                         problem="must be {file: PATH}, {generate: {...}} or {imported: FOLDER, "
                                 f"scores: {' | '.join(SCORES)}}}")
    if "imported" in spec:
        if system is not None:
            raise InputError(src, field="indicator_system", value=str(system.path),
                             problem="an imported portfolio carries each table's own leaves "
                                     "and points: name no indicator system")
        folder = spec["imported"]
        if not isinstance(folder, str) or not folder.strip():
            raise InputError(src, field="portfolio.imported", value=folder,
                             problem="must be a folder path")
        path = (base / folder).resolve() if not Path(folder).is_absolute() else Path(folder)
        try:
            return load_imported(path, spec.get("scores", "recomputed"))
        except InputError as err:
            raise err.at(src, field="portfolio.scores" if err.field == "scores" else None
                         ) from None
    if "file" in spec:
        return load_portfolio(_resolve(base, spec["file"], src, "portfolio.file"), system,
                              flags=flags)
    settings = _mapping(spec["generate"], src, "portfolio.generate") or {}
    settings = dict(settings)
    preset = settings.pop("preset", None)
    use_system = settings.pop("use_indicator_system", True)
    try:
        return generate_portfolio(system if use_system else None,
                                  seed=seed_sequence(seed, "portfolio"), preset_name=preset,
                                  grading=grading, **settings)
    except InputError as err:
        raise err.at(src, "portfolio.generate") from None
