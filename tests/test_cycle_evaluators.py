"""Evaluators besides the finance re-check (issue: the evaluation cycle): who re-checks which
project, each evaluator's noise, bias and price, the third party's quality deposit — by hand,
through the Monte Carlo, and as registry parameters."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import tiny_scores_scenario

import perfsim
from perfsim.errors import InputError
from perfsim.kernel.evaluation import Costs, assign_evaluators
from perfsim.model.settings import settings_from_dict
from perfsim.run.sensitivity import evaluate_samples


def test_large_checks_go_to_a_third_party_then_intermediaries_take_the_largest():
    # budgets 10, 50, 5, 30, 20, 40; all but the fifth checked. 40 and more: a third party
    # (50, 40). Two thirds of the other three checks (rounded: 2) go to intermediaries, the
    # largest first (30, 10); finance keeps 5; the unchecked project has none.
    budget = np.array([[10.0, 50.0, 5.0, 30.0, 20.0, 40.0]])
    checked = np.array([[True, True, True, True, False, True]])
    out = assign_evaluators(checked, budget, 2 / 3, 40.0)
    assert out[0].tolist() == [1, 2, 0, 1, -1, 2]
    # per row: the second row has no third party (0) and no intermediaries
    two = assign_evaluators(np.repeat(checked, 2, 0), np.repeat(budget, 2, 0),
                            np.array([2 / 3, 0.0]), np.array([40.0, 0.0]))
    assert two[1].tolist() == [0, 0, 0, 0, -1, 0]


def test_each_re_check_is_priced_by_its_evaluator_less_a_forfeited_deposit():
    costs = Costs(self_yuan=2.0, recheck_yuan=100.0, self_days=0.1, recheck_days=1.0,
                  intermediary_yuan=50.0, intermediary_days=0.5, third_party_yuan=1000.0,
                  third_party_days=0.0, deposit=0.1)
    evaluator = np.array([[0, 1, 2, 3, -1]])
    active = np.ones((1, 5), dtype=bool)
    out = costs.of(active, evaluator >= 0, evaluator)
    # 100 + 50 + 1,000 + 1,000 × (1 − 0.1); five self-evaluations at 2
    assert out["recheck"][0] == pytest.approx(2050.0)
    assert out["self"][0] == pytest.approx(10.0) and out["total"][0] == pytest.approx(2060.0)
    assert out["days"][0] == pytest.approx(0.5 + 1.0 + 0.5)


def evaluators(**values):
    """``simulation.evaluators.<key>`` changes."""
    return {f"simulation.evaluators.{k}": v for k, v in values.items()}


@pytest.fixture
def sc(tmp_path):
    return perfsim.load(tiny_scores_scenario(tmp_path, "evaluators", seed=3))


def test_an_intermediary_biased_by_ten_points_finds_ten_points_more(sc):
    # every project checked by an intermediary without noise and with a bias of 0.1 of the
    # score's span (100 points): each re-check reads the truth + 10 points, up to 100
    mc = sc.set({"simulation.spot_check.share": 1.0, **evaluators(
        intermediary_share=1.0, intermediary_noise=0.0, intermediary_bias=0.1,
        intermediary_cost=4000.0), "simulation.cost.recheck": 9999.0}).simulate(
        replications=4, years=1)
    s = mc.sample
    # (a score cannot pass the top of its span, 100 points)
    expected = np.minimum(s["true_score"] + 10.0, 100.0)
    assert s["recheck_score"].to_numpy() == pytest.approx(expected.to_numpy())
    assert (s["true_score"] < 90).sum() >= 3   # most projects show the whole bias
    # five intermediary checks at 4,000 each, none at the finance price
    assert (mc.replications["evaluation_cost_recheck"] == 5 * 4000.0).all()


def test_a_third_party_that_errs_forfeits_its_deposit(sc):
    base = {"simulation.spot_check.share": 1.0, **evaluators(
        third_party_min_budget=1.0, third_party_noise=0.0, third_party_bias=0.1,
        third_party_cost=1000.0, deposit=0.2, deposit_tolerance=5.0)}
    erring = sc.set(base).simulate(replications=2, years=1).replications
    assert (erring["evaluation_cost_recheck"] == 5 * 1000.0 * 0.8).all()
    exact = sc.set({**base, **evaluators(third_party_bias=0.0)}).simulate(
        replications=2, years=1).replications
    assert (exact["evaluation_cost_recheck"] == 5 * 1000.0).all()


def test_the_share_of_intermediaries_is_a_parameter_of_the_sensitivity_analysis(sc):
    # a biased intermediary (+10 points) lifts the graded scores of the projects it checks;
    # sample rows with share 0 and 1 equal the Monte Carlo of the scenario set to each
    noisy = sc.set({"simulation.spot_check.share": 1.0,
                    **evaluators(intermediary_noise=0.0, intermediary_bias=0.1)})
    quiet = noisy.settings.without_noise()
    y = evaluate_samples(noisy, ["simulation.evaluators.intermediary_share"],
                         np.array([[0.0], [1.0]]), metrics=["savings"], settings=quiet)
    for row, share in zip(y, (0.0, 1.0), strict=True):
        alone = noisy.set({"simulation.evaluators.intermediary_share": share}).simulate(
            replications=1, years=1, noise=False)
        assert row[0] == alone.replications["savings"].iloc[0]
    assert y[1, 0] < y[0, 0]   # ten points more: fewer projects cut


@pytest.mark.parametrize(("block", "fragment"), [
    ({"intermediary_share": 1.5}, "evaluators.intermediary_share"),
    ({"deposit": -0.1}, "evaluators.deposit"),
    ({"third_party_noise": -1}, "evaluators.third_party_noise"),
    ({"third_party_bias": float("nan")}, "evaluators.third_party_bias"),
])
def test_bad_evaluator_settings_are_one_line_errors(block, fragment):
    with pytest.raises(InputError, match=fragment) as err:
        settings_from_dict({"evaluators": block})
    assert "\n" not in str(err.value)
