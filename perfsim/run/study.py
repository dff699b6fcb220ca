"""The researcher's object: one scenario, every question asked of it by the same names.

:func:`load` reads a scenario file into a :class:`Scenario` — the validated scenario of
:mod:`perfsim.model.scenario` plus the verbs of a study (COINr's "coin", scikit-learn's
``set_params``)::

    import perfsim
    sc = perfsim.load("datasets/scenarios/liupanshui_2022.yaml", seed=2022)
    y = sc.run_year()                                     # .allocations .ledger .by_grade
    sc2 = sc.set({"linkage.ratio": 0.2, "grading.cutoffs.excellent": 92})   # a new Scenario
    sc2.get("linkage.ratio")                              # 0.2: the value in force
    mc = sc.simulate(replications=200, years=5)           # the file's simulation: settings
    mc0 = sc.simulate(replications=1, years=1, noise=False)   # year 1 = run_year, to the yuan
    sc.calibrate("linkage.ratio", cut_total=128e6)
    sc.sobol(params, n=256); sc.morris(params, n=20)
    perfsim.vary(sc, {"linkage.ratio": [0.10, 0.15, 0.20]})   # one row per variant

Every verb calls the same year kernel, so at the scenario's own values they all give the
numbers of :meth:`Scenario.run_year`. Parameters are named by their YAML paths
(:func:`perfsim.model.params.parameters`), metrics by the registry
(:mod:`perfsim.kernel.metrics`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from perfsim.model import scenario as model
from perfsim.model.params import Parameter, apply_changes, get_value, parameters
from perfsim.run import calibrate as calibration
from perfsim.run import sensitivity, variants
from perfsim.run.simulate import MonteCarloResult, scenario_settings, simulate
from perfsim.run.year import YearResult, run_year


@dataclasses.dataclass(frozen=True)
class Scenario(model.Scenario):
    """A scenario with the verbs of a study. Immutable: :meth:`set` returns a new one."""

    @property
    def parameters(self) -> dict[str, Parameter]:
        """The design parameters of this scenario, by YAML path."""
        return parameters(self)

    def set(self, changes: Mapping[str, Any] | None = None, /, **more: Any) -> Scenario:
        """A new scenario with parameters set by their YAML paths (``linkage.ratio``,
        ``grading.cutoffs.excellent``, ``simulation.spot_check.share``, whole ``grading`` or
        ``linkage`` blocks; see :func:`perfsim.model.params.apply_changes`)."""
        return apply_changes(self, {**dict(changes or {}), **more})

    def get(self, path: str) -> Any:
        """The value now in force at ``path``, by the names :meth:`set` takes: a registry
        path (``linkage.ratio``, ``grading.cutoffs.excellent``, ``weights.OUT``; a list for
        ``grading.cutoffs``, ``weights`` and ``weights.leaves``) or any simulation setting
        (``simulation.spot_check.share``; a pair as a list). ``get(set({p: v}), p) == v``."""
        return get_value(self, path)

    def run_year(self) -> YearResult:
        """One year of the portfolio: allocations, ledger, grades, summary and metrics."""
        return run_year(self)

    def simulate(self, replications: int | None = None, years: int | None = None, *,
                 noise: bool = True, chunk: int | None = None, engine: str = "auto",
                 workers: int | None = None, scheduler: str | None = None,
                 progress: bool | None = False, metrics: Sequence[str] | None = None
                 ) -> MonteCarloResult:
        """The Monte Carlo over the evaluation process, from the scenario's simulation
        settings; ``noise=False`` turns every random source off; ``metrics`` records only
        those (default: every metric of the registry)."""
        settings = scenario_settings(self, replications=replications, years=years,
                                     chunk=chunk)
        return simulate(self, settings, engine=engine, workers=workers, scheduler=scheduler,
                        progress=progress, noise=noise, metrics=metrics)

    def calibrate(self, parameter: str, bounds: Sequence[float] | None = None, *,
                  replications: int | None = None, year: int = 1, **targets: Any
                  ) -> calibration.Calibration:
        """The value of ``parameter`` that meets the targets, e.g.
        ``sc.calibrate("linkage.ratio", cut_total=128e6)``."""
        return calibration.calibrate(self, parameter, targets, bounds=bounds,
                                     replications=replications, year=year)

    def sobol(self, params: Any, n: int = 256, **options: Any) -> sensitivity.SensitivityResult:
        """Sobol indices of outcome metrics to ``params`` (a params file or a list of
        ``{name, bounds}``); options as :func:`perfsim.run.sensitivity.sobol`."""
        return sensitivity.sobol(self, params, n, **options)

    def morris(self, params: Any, n: int = 20, **options: Any
               ) -> sensitivity.SensitivityResult:
        """Morris screening of outcome metrics to ``params``."""
        return sensitivity.morris(self, params, n, **options)

    def vary(self, grid: Mapping[str, Sequence[Any]], **options: Any) -> pd.DataFrame:
        """One row per combination of the values in ``grid``: see :func:`vary`."""
        return variants.vary(self, grid, **options)


def study(scenario: model.Scenario) -> Scenario:
    """The researcher's object for an already loaded scenario."""
    if isinstance(scenario, Scenario):
        return scenario
    return Scenario(**{f.name: getattr(scenario, f.name)
                       for f in dataclasses.fields(model.Scenario)})


def load(path: str | Path, seed: int | None = None) -> Scenario:
    """Read and validate a scenario file; ``seed`` overrides the file's seed."""
    return study(model.load_scenario(path, seed=seed))


def vary(scenario: model.Scenario, grid: Mapping[str, Sequence[Any]], **options: Any
         ) -> pd.DataFrame:
    """The scenario over every combination of the values in ``grid`` (YAML path → values),
    one row per variant: :func:`perfsim.run.variants.vary`."""
    return variants.vary(scenario, grid, **options)
