"""Sensitivity samples share what they can (the truth, the re-check, the self-evaluation,
the evaluation process) and run on several processes: every number the same to the bit as
each sample evaluated alone, in this process."""

import numpy as np
import pytest
from SALib.sample import sobol as saltelli

from perfsim.kernel.linkage import liupanshui
from perfsim.model.indicators import load_indicator_system
from perfsim.model.portfolio import DATASETS, generate_portfolio
from perfsim.model.scenario import Scenario
from perfsim.model.settings import settings_from_dict
from perfsim.run.sensitivity import POOL_CELLS, evaluate_samples, pool_workers

NAMES = ["linkage.ratio", "grading.cutoffs.excellent", "grading.cutoffs.fair",
         "simulation.spot_check.share", "simulation.self_evaluation.inflation_mean",
         "simulation.self_evaluation.noise"]
BOUNDS = [[0.10, 0.20], [85, 95], [55, 70], [0.0, 0.5], [0.0, 0.1], [0.01, 0.1]]
#: metrics that read the honest counterfactual, and those that do not
HONEST = ["inflating_share", "inflation_payoff", "inflation_points", "lifted_good"]
PLAIN = ["savings", "misgrading", "wrong_cuts", "rank_stability", "gini", "share_excellent"]


@pytest.fixture(scope="module")
def kef():
    system = load_indicator_system(DATASETS / "indicator_systems" /
                                   "key_evaluation_framework.yaml")
    pf = generate_portfolio(system, seed=11, n_projects=90, n_departments=6)
    return Scenario(name="kef", portfolio=pf, system=system, seed=4, linkage=liupanshui(0.15))


def _design(n: int = 4) -> np.ndarray:
    return saltelli.sample({"num_vars": 6, "names": NAMES, "bounds": BOUNDS}, n,
                           calc_second_order=False, seed=2)


def _settings(space: str, **spot):
    return settings_from_dict({"spot_check": {"selection": "random", "gap_rule": True,
                                              **spot},
                               "self_evaluation": {"inflation_sd": 0.03},
                               "performance": {"space": space}})


@pytest.mark.parametrize("space", ["measurement", "attainment"])
@pytest.mark.parametrize("metrics", [PLAIN, PLAIN + HONEST])
def test_shared_work_gives_each_sample_alone(kef, space, metrics):
    """With and without the honest counterfactual (asked by its metrics, or not), in both
    spaces, one replication and two (a sample's rows then read the shared re-check one
    replication apart)."""
    X = _design()
    for r in (1, 2):
        args = dict(metrics=metrics, settings=_settings(space), replications=r)
        shared = evaluate_samples(kef, NAMES, X, 5, chunk=len(X), **args)
        alone = evaluate_samples(kef, NAMES, X, 5, chunk=1, **args)
        assert np.array_equal(shared, alone, equal_nan=True)
    if metrics is not PLAIN:   # the counterfactual is computed when a metric asks for it
        assert np.nanmax(shared[:, metrics.index("inflating_share")]) > 0
        assert np.nanmax(shared[:, metrics.index("inflation_points")]) > 0


def test_evaluators_and_a_sampled_recheck_noise_share_nothing_they_cannot(kef):
    """Intermediaries re-check with their own noise: the re-check is computed per sample;
    a sampled re-check noise likewise. Still the same numbers as each sample alone."""
    X = _design()
    settings = settings_from_dict({
        "spot_check": {"selection": "largest_budget"}, "self_evaluation": {"inflation_sd": 0.03},
        "evaluators": {"intermediary_share": 0.5, "intermediary_noise": 0.08,
                       "intermediary_bias": 0.02},
        "performance": {"space": "measurement"}})
    for names, Z in ((NAMES, X),
                     ([*NAMES, "simulation.spot_check.noise"],
                      np.hstack([X, np.linspace(0.01, 0.1, len(X))[:, None]]))):
        shared = evaluate_samples(kef, names, Z, 5, metrics=PLAIN, settings=settings,
                                  chunk=len(Z))
        alone = evaluate_samples(kef, names, Z, 5, metrics=PLAIN, settings=settings, chunk=1)
        assert np.array_equal(shared, alone, equal_nan=True)


def test_two_processes_give_what_one_gives(kef):
    X = _design(8)
    args = dict(metrics=PLAIN, settings=_settings("measurement"), chunk=7)
    one = evaluate_samples(kef, NAMES, X, 5, workers=1, **args)
    two = evaluate_samples(kef, NAMES, X, 5, workers=2, **args)
    assert np.array_equal(one, two, equal_nan=True)


def test_pool_workers():
    assert pool_workers(None, 10, POOL_CELLS - 1) == 1            # small work: this process
    assert pool_workers(None, 10, POOL_CELLS) == min(10, __import__("os").cpu_count() or 1)
    assert pool_workers(4, 3, 0) == 3                              # never more than the chunks
    assert pool_workers(1, 50, 10 * POOL_CELLS) == 1


@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
def test_workers_must_be_a_whole_number(kef, bad, capsys):
    from perfsim.errors import InputError
    with pytest.raises(InputError, match="workers"):
        evaluate_samples(kef, NAMES, _design(), 5, metrics=PLAIN, workers=bad)
