"""The numbered notebooks and their parameters: finding them, reading the ``parameters`` cell,
checking and converting values before anything runs.

**Parameters** are checked before anything runs: names against the notebook's ``parameters``
cell (read with :func:`papermill.inspect_notebook`), values against the type of the default
(int, float, bool, str; lists and mappings from a parameter file), and a parameter that stands
for a YAML path (:data:`CONSTRAINED`: ``ratio`` is ``linkage.ratio``, ``replications``
``simulation.replications``, ...) against that path's range in the one constraint table, with
the words ``--set`` gives. ``output_dir`` is set by the runner, never by the user.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat

from perfsim.errors import InputError
from perfsim.io import read_yaml
from perfsim.model.constraints import constraint
from perfsim.model.scenario import scenario_total
from perfsim.notebooks.helpers import PROJECT_ROOT
from perfsim.yamlfile import parse_yaml

NOTEBOOK_DIR = PROJECT_ROOT / "notebooks"
RUNNER_PARAMETERS = ("output_dir",)  # set by the runner, never by the user


@dataclass(frozen=True)
class Parameter:
    """One entry of a notebook's ``parameters`` cell."""

    name: str
    default: Any
    kind: str          # int | float | bool | str | list | dict | any
    help: str = ""


def list_notebooks(folder: Path = NOTEBOOK_DIR) -> list[Path]:
    """The numbered notebooks (``NN_name.ipynb``), in order."""
    return sorted(p for p in folder.glob("[0-9][0-9]_*.ipynb"))


def find_notebook(name: str, folder: Path = NOTEBOOK_DIR) -> Path:
    """A notebook by number (``04``), stem (``04_reduction_ratio``) or file name in
    ``notebooks/``, or the path of any ``.ipynb`` file."""
    if str(name).endswith(".ipynb") and Path(name).is_file():
        return Path(name).resolve()
    books = list_notebooks(folder)
    key = Path(name).name.removesuffix(".ipynb").removesuffix(".py")
    hits = [b for b in books if b.stem == key] or [
        b for b in books if b.stem.split("_", 1)[0] == key or b.stem.startswith(key + "_")]
    if len(hits) != 1:
        known = ", ".join(b.stem for b in books) or f"none in {folder}"
        problem = "ambiguous" if hits else "no such notebook"
        raise InputError(field="notebook", value=name, problem=f"{problem} (known: {known})")
    return hits[0]


#: Who a notebook is for, declared by a tag ``audience-<name>`` on its first cell: the
#: reports of finance staff and trainers hide the code unless asked (``--code``).
AUDIENCES = ("research", "finance", "training")


#: How the index and the reports name each audience: Chinese first, English alongside.
AUDIENCE_LABELS = {"research": "研究人员 policy researchers",
                   "finance": "财政人员 finance staff",
                   "training": "培训 trainers and trainees"}


@dataclass(frozen=True)
class NotebookCard:
    """What the index says of a notebook: its title (the first heading), the question it
    answers (the block quote of its first cell, ``> 问题 … — Question …``, on one line) and
    its audience."""

    stem: str
    title: str
    question: str
    audience: str

    @property
    def audience_label(self) -> str:
        return AUDIENCE_LABELS[self.audience]


def notebook_card(path: Path) -> NotebookCard:
    """The :class:`NotebookCard` of the notebook at ``path``."""
    nb = nbformat.read(path, as_version=4)
    first = next((c.source for c in nb.cells if c.cell_type == "markdown"), "")
    lines = first.splitlines()
    heading = next((ln.lstrip("# ").strip() for ln in lines if ln.startswith("# ")), path.stem)
    question = " ".join(ln[1:].strip() for ln in lines if ln.startswith(">"))
    return NotebookCard(path.stem, heading, question, notebook_audience(path))


def notebook_audience(path: Path) -> str:
    """The audience a notebook's first cell declares (``research`` when none)."""
    nb = nbformat.read(path, as_version=4)
    tags = nb.cells[0].metadata.get("tags", []) if nb.cells else []
    named = [t.removeprefix("audience-") for t in tags if t.startswith("audience-")]
    if named and named[0] not in AUDIENCES:
        raise InputError(path, "first cell", "tags", f"audience-{named[0]}",
                         f"unknown audience (known: {', '.join(AUDIENCES)})")
    return named[0] if named else "research"


def notebook_parameters(path: Path) -> dict[str, Parameter]:
    """The parameters declared in a notebook's ``parameters`` cell, with typed defaults."""
    import papermill

    try:
        raw = papermill.inspect_notebook(str(path))
    except Exception as exc:  # papermill raises plain exceptions for unreadable notebooks
        raise InputError(path, problem=f"cannot read the notebook's parameters ({exc})"
                         ) from None
    if not raw:
        raise InputError(path, problem="no cell tagged 'parameters'")
    out = {}
    for name, info in raw.items():
        text = info.get("default", "None")
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            value, kind = text, "any"
        else:
            kind = _kind(value)
        out[name] = Parameter(name, value, kind, str(info.get("help") or ""))
    return out


def _kind(value: Any) -> str:
    for t, k in ((bool, "bool"), (int, "int"), (float, "float"), (str, "str"), (list, "list"),
                 (dict, "dict")):
        if isinstance(value, t):
            return k
    return "any"


_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def coerce_value(param: Parameter, value: Any, *, from_text: bool) -> Any:
    """Check (and, for ``-p`` text, convert) a value by the type of the parameter's default."""
    def bad(problem: str) -> InputError:
        return InputError(where=f"parameter '{param.name}'", value=value,
                          problem=f"{problem} (default {param.default!r})")

    kind = param.kind
    if from_text and not isinstance(value, str):
        raise bad("must be given as text")
    if kind == "str":
        if not isinstance(value, str):
            raise bad("must be a string")
        return value
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if from_text and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise bad("must be true or false")
    if kind == "int":
        if from_text:
            try:
                return int(value.strip())
            except ValueError:
                raise bad("must be a whole number") from None
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad("must be a whole number")
        return value
    if kind == "float":
        if from_text:
            try:
                number = float(value.strip())
            except ValueError:
                raise bad("must be a number") from None
        elif isinstance(value, bool) or not isinstance(value, int | float):
            raise bad("must be a number")
        else:
            number = float(value)
        if not math.isfinite(number):
            raise bad("must be a finite number")
        return number
    if from_text:
        try:
            value = parse_yaml(value)
        except InputError as err:
            raise bad("is not valid YAML" if err.problem.startswith("YAML syntax error")
                      else err.problem) from None
    if kind == "list" and not isinstance(value, list):
        raise bad("must be a list")
    if kind == "dict" and not isinstance(value, dict):
        raise bad("must be a mapping")
    _check_plain(value, param.name)
    return value


def _check_plain(value: Any, name: str) -> None:
    """Values injected into notebooks are plain data: None, bool, numbers, strings, lists and
    string-keyed mappings of those."""
    if value is None or isinstance(value, bool | int | str):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InputError(where=f"parameter '{name}'", value=value,
                             problem="must be a finite number")
        return
    if isinstance(value, list):
        for v in value:
            _check_plain(v, name)
        return
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                raise InputError(where=f"parameter '{name}'", value=k,
                                 problem="mapping keys must be strings")
            _check_plain(v, name)
        return
    raise InputError(where=f"parameter '{name}'", value=repr(value),
                     problem="must be plain data (numbers, strings, lists, mappings)")


def resolve_parameters(path: Path, given: Mapping[str, Any] | None = None,
                       texts: Mapping[str, str] | None = None, *,
                       given_source: str | Path | None = None) -> dict[str, Any]:
    """Validate overrides for notebook ``path``: ``given`` typed values (a parameter file,
    ``given_source``, which errors about them name), ``texts`` command-line ``-p`` values
    (converted by the default's type; they win).

    Unknown names are rejected listing the valid ones; ``output_dir`` belongs to the runner.
    Returns the overrides only, in the notebook's order.
    """
    params = notebook_parameters(path)
    valid = [n for n in params if n not in RUNNER_PARAMETERS]
    out: dict[str, Any] = {}
    file = None if given_source is None else str(given_source)
    for source, values, from_text in ((file, given or {}, False), (None, texts or {}, True)):
        label = "-p" if from_text else "parameter file"
        for name, value in values.items():
            if name in RUNNER_PARAMETERS:
                raise InputError(source, label if source is None else None, field=name,
                                 problem="is set by the runner (the run directory)")
            if name not in params:
                raise InputError(source, f"{path.stem}: {label}" if source is None else None,
                                 field=name,
                                 problem=f"unknown parameter (valid: {', '.join(valid)})")
            try:
                out[name] = coerce_value(params[name], value, from_text=from_text)
            except InputError as err:
                raise err.at(source) from None
    effective = {n: p.default for n, p in params.items()}
    effective.update(out)
    for name in out:
        from_text = name in (texts or {})
        check_range(name, out[name], effective, source=None if from_text else file,
                    where=f"{path.stem}: {'-p ' if from_text else ''}{name}")
    return {n: out[n] for n in params if n in out}


#: A notebook parameter → the YAML path whose constraint in the one table
#: (:data:`perfsim.model.constraints.CONSTRAINTS`) its value — or each value of a list of
#: values compared — must meet, and the notebook parameter naming the scenario whose most
#: points bound a value in points. A parameter not listed is checked by its type only.
CONSTRAINED: dict[str, tuple[str, str]] = {
    "seed": ("seed", "scenario"),
    "pre_evaluation_seed": ("seed", "pre_evaluation_scenario"),
    "replications": ("simulation.replications", "scenario"),
    "design_replications": ("simulation.replications", "scenario"),
    "sensitivity_replications": ("simulation.replications", "scenario"),
    "years": ("simulation.years", "scenario"),
    "ratio": ("linkage.ratio", "scenario"),
    "new_ratio": ("linkage.ratio", "scenario"),
    "ratios": ("linkage.ratio", "scenario"),
    "reward": ("linkage.multipliers.excellent", "scenario"),
    "escalation_years": ("simulation.dynamics.escalation_years", "scenario"),
    "noise": ("simulation.self_evaluation.noise", "scenario"),
    "self_evaluation_noise": ("simulation.self_evaluation.noise", "scenario"),
    "noise_levels": ("simulation.self_evaluation.noise", "scenario"),
    "inflation_mean": ("simulation.self_evaluation.inflation_mean", "scenario"),
    "department_inflation": ("simulation.self_evaluation.by_department.<department>",
                             "scenario"),
    "check_shares": ("simulation.spot_check.share", "scenario"),
    "strategic_check_share": ("simulation.spot_check.share", "scenario"),
    "estimation_check_share": ("simulation.spot_check.share", "scenario"),
    "penalty": ("simulation.spot_check.inflation_penalty", "scenario"),
    "penalties": ("simulation.spot_check.inflation_penalty", "scenario"),
    "strategic_penalty": ("simulation.spot_check.inflation_penalty", "scenario"),
    "gap": ("simulation.spot_check.gap", "scenario"),
    "unchecked_bonus": ("simulation.spot_check.unchecked_bonus", "scenario"),
    "budget_staff_days": ("simulation.spot_check.days_budget", "scenario"),
    "cutoff_jitter": ("simulation.uncertainty.cutoff_jitter", "scenario"),
    "weight_concentration": ("simulation.uncertainty.concentration", "scenario"),
    "cost_self": ("simulation.cost.self_evaluation", "scenario"),
    "cost_recheck": ("simulation.cost.recheck", "scenario"),
    "probabilities": ("linkage.rectification.probability", "scenario"),
    "expert_noise": ("linkage.pre_evaluation.noise", "pre_evaluation_scenario"),
    "coverage_lines": ("linkage.coverage.min_budget", "coverage_scenario"),
    "cross_year_lag": ("linkage.cross_year.lag", "cross_year_scenario"),
}


def check_range(name: str, value: Any, parameters: Mapping[str, Any], *,
                source: str | None = None, where: str | None = None) -> None:
    """The value of notebook parameter ``name`` (each value of a list) checked against the
    one table's constraint of its YAML path (:data:`CONSTRAINED`), before any kernel starts:
    the error names the parameter, the path, the value and what the path allows — the words
    ``set`` and ``--set`` give for it. A bound in points is the most points of the scenario
    the notebook reads (``parameters``: the values in force)."""
    if name not in CONSTRAINED:
        return
    path, scenario_key = CONSTRAINED[name]
    c = constraint(path.replace("<department>", "_"))
    total = scenario_total(parameters.get(scenario_key), PROJECT_ROOT)
    at = where or f"parameter '{name}'"
    items = value if isinstance(value, list) else [value]
    for k, v in enumerate(items):
        here = f"{at}, item {k + 1}" if isinstance(value, list) else at
        c.check(path, v, total=total, source=source, where=here)


def read_parameter_file(path: str | Path) -> dict[str, Any]:
    """A YAML or JSON mapping of parameter names to values."""
    doc = read_yaml(path)  # JSON is YAML
    if doc is None:
        return {}
    if not isinstance(doc, Mapping) or not all(isinstance(k, str) for k in doc):
        raise InputError(path, problem="must be a mapping of parameter names to values")
    return dict(doc)


def split_parameters(paths: Sequence[Path], given: Mapping[str, Any],
                     texts: Mapping[str, str], *,
                     given_source: str | Path | None = None) -> list[tuple[dict, dict]]:
    """Overrides for several notebooks: each parameter goes to every notebook that declares
    it; one that none declares is rejected, and every value is checked, before anything runs.
    Errors about ``given`` values name ``given_source`` (the parameter file)."""
    declared = {p: notebook_parameters(p) for p in paths}
    file = None if given_source is None else str(given_source)
    for name in [*given, *texts]:
        source = file if name in given and name not in texts else None
        if name in RUNNER_PARAMETERS:
            raise InputError(source, field=name,
                             problem="is set by the runner (the run directory)")
        if not any(name in d for d in declared.values()):
            valid = sorted({n for d in declared.values() for n in d} - set(RUNNER_PARAMETERS))
            raise InputError(source, field=name,
                             problem=f"unknown parameter (valid: {', '.join(valid)})")
    out = []
    for p in paths:
        g = {k: v for k, v in given.items() if k in declared[p]}
        t = {k: v for k, v in texts.items() if k in declared[p]}
        resolve_parameters(p, g, t, given_source=given_source)  # check values before any run
        out.append((g, t))
    return out


def describe(paths: Iterable[Path] | None = None) -> str:
    """The notebooks and their parameters, for ``perfsim notebooks list``."""
    lines = []
    for p in paths or list_notebooks():
        lines.append(p.stem)
        for prm in notebook_parameters(p).values():
            if prm.name in RUNNER_PARAMETERS:
                continue
            note = f"  # {prm.help}" if prm.help else ""
            lines.append(f"    {prm.name} ({prm.kind}) = {prm.default!r}{note}")
    return "\n".join(lines)

