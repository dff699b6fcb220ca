"""What the commands share: the one-line usage errors, whole-number options, the options of a
command that reads one scenario and writes one folder, ``--set``, and the inputs of the
commands that take SYSTEM PORTFOLIO or one SCENARIO."""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from perfsim import messages
from perfsim.errors import InputError
from perfsim.io import (
    check_output_dir,
    input_files,
)
from perfsim.model.indicators import load_indicator_system
from perfsim.model.params import apply_changes
from perfsim.model.portfolio import load_portfolio
from perfsim.model.scenario import Scenario, load_scenario
from perfsim.model.settings import Settings
from perfsim.run.simulate import build_inputs, check_memory
from perfsim.yamlfile import parse_yaml

EXIT_INPUT = 2

DEFAULT_SYSTEM = (Path(__file__).resolve().parents[2] / "datasets" / "indicator_systems"
                  / "national_project_self_eval.yaml")


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line, like every other perfsim error."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(EXIT_INPUT, f"perfsim: error: {self.prog}: "
                              f"{messages.usage_text(message)} (见 see --help)\n")


def _int_at_least(text: str, least: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
    if value < least:
        raise argparse.ArgumentTypeError(f"must be >= {least}, got {value}")
    return value


def _nonneg_int(text: str) -> int:
    return _int_at_least(text, 0)


def _pos_int(text: str) -> int:
    return _int_at_least(text, 1)


def _scenario_options(parser: argparse.ArgumentParser, suffix: str) -> None:
    """``--seed``, ``--out`` (default ``reports/runs/<scenario>-<suffix>``) and ``--set`` of a
    command that reads one scenario and writes one folder."""
    parser.add_argument("--seed", type=_nonneg_int, default=None,
                        help="override the scenario seed")
    parser.add_argument("--out", type=Path, default=None,
                        help=f"output directory (default: reports/runs/<scenario>-{suffix})")
    parser.add_argument("--set", action="append", default=[], metavar="PATH=VALUE",
                        dest="set", help="set a parameter by its YAML path first, e.g. "
                                         "simulation.self_evaluation.inflation_mean=0.03 "
                                         "(repeat)")


def set_parameters(scenario: Scenario, items: Sequence[str]) -> Scenario:
    """The scenario with ``--set PATH=VALUE`` items applied by their YAML paths
    (:func:`perfsim.model.params.apply_changes`); a bad item is one :class:`InputError`
    naming it."""
    changes: dict[str, object] = {}
    for item in items:
        path, sep, text = item.partition("=")
        path = path.strip()
        if not sep or not path:
            raise InputError(field="--set", value=item,
                             problem="must be PATH=VALUE, e.g. linkage.ratio=0.2")
        try:
            value = parse_yaml(text)
        except InputError as err:
            raise InputError(field="--set", value=item, problem="the value is not valid YAML"
                             if err.problem.startswith("YAML syntax error") else err.problem
                             ) from None
        changes[path] = value
    if not changes:
        return scenario
    try:
        return apply_changes(scenario, changes)
    except InputError as err:
        where = "--set" + (f": {err.where}" if err.where else "")
        if err.has_value:
            raise InputError(err.source, where, err.field, err.value, err.problem) from None
        raise InputError(err.source, where, err.field, problem=err.problem) from None
    except (TypeError, ValueError) as err:
        raise InputError(field="--set", value=", ".join(items),
                         problem=f"bad value ({err})") from None


def _cli_error(err: InputError, **names: str) -> InputError:
    """Name the command-line option instead of the API argument."""
    names = {"parameter": "--solve", "metric": "--target", "target": "--target",
             "bounds": "--bounds", "year": "--year", "replications": "--replications",
             "n": "--n", **names}
    return err.at(field=names.get(err.field or "", err.field))


def check_monte_carlo_memory(scenario: Scenario, settings: Settings, *, engine: str = "auto",
                             workers: int | None = None, scheduler: str | None = None,
                             given: Mapping[str, str] | None = None) -> None:
    """Refuse, before any work (before the output folder is made), a Monte Carlo too large
    for memory (:func:`perfsim.run.simulate.check_memory`); ``given`` maps a setting to the
    command-line option the user gave it by (``{"years": "--years"}``)."""
    check_memory(scenario, settings, build_inputs(scenario, settings), engine=engine,
                 workers=workers, scheduler=scheduler, given=given)


def _system_and_portfolio(files: Sequence[Path], out: Path | None, *extra: Path | None
                         ) -> tuple[Any, Any, Scenario | None, list[Path]]:
    """``SYSTEM PORTFOLIO`` or one ``SCENARIO`` on the command line: the indicator system, the
    portfolio, the scenario (or None) and the input files (``--out`` checked against them)."""
    if len(files) > 2:
        raise InputError(field="FILE", value=len(files),
                         problem="give SYSTEM PORTFOLIO or one SCENARIO")
    inputs = input_files([*files, *(e for e in extra if e is not None)])
    if out is not None:
        check_output_dir(out, inputs=inputs)
    if len(files) == 1:
        scenario = load_scenario(files[0])
        if scenario.system is None:
            raise InputError(files[0], field="indicator_system",
                             problem="the scenario has no indicator system")
        return scenario.system, scenario.portfolio, scenario, inputs
    system = load_indicator_system(files[0])
    return system, load_portfolio(files[1], system), None, inputs
