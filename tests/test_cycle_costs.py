"""What evaluation costs, per evaluator type (self-evaluation, re-check), as registry metrics
of the Monte Carlo and the sensitivity analysis; a sweep over the re-check share."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import SCENARIOS

import perfsim
from perfsim.errors import InputError
from perfsim.kernel import metrics
from perfsim.run.sensitivity import evaluate_samples

BUDGETS = [100.0, 200.0, 300.0, 400.0, 500.0, 600.0]
COSTS = {"simulation.cost.self_evaluation": 2000, "simulation.cost.recheck": 30000,
         "simulation.cost.self_evaluation_days": 1, "simulation.cost.recheck_days": 5}


def small(tmp_path, share: float = 0.5) -> perfsim.Scenario:
    pd.DataFrame({"project_id": [f"P{i + 1}" for i in range(6)], "department": ["d"] * 6,
                  "budget": BUDGETS, "score": [95.0, 85.0, 70.0, 65.0, 55.0, 91.0]}
                 ).to_csv(tmp_path / "pf.csv", index=False)
    (tmp_path / "sc.yaml").write_text(
        "name: costs\nseed: 5\nportfolio: {file: pf.csv}\nlinkage: {rule: liupanshui}\n",
        encoding="utf-8")
    return perfsim.load(tmp_path / "sc.yaml").set({
        **COSTS, "simulation.spot_check.share": share,
        "simulation.spot_check.selection": "largest_budget"})


def test_the_cost_of_self_evaluations_and_re_checks_by_hand(tmp_path):
    # six projects self-evaluate (2,000 yuan, 1 day each); half are re-checked, the three
    # largest (400 + 500 + 600 of 2,100 yuan), at 30,000 yuan and 5 days each
    reps = small(tmp_path).simulate(replications=40, years=2).replications
    first = reps[reps["year"] == 1]
    assert (first["evaluation_cost_self"] == 12_000).all()
    assert (first["evaluation_cost_recheck"] == 90_000).all()
    assert (first["evaluation_cost"] == 102_000).all()
    assert (first["evaluation_days"] == 6 + 15).all()
    assert (first["recheck_coverage"] == 1500 / 2100).all()
    # in year 2 only the projects still in are evaluated (差 cancelled): 2,000 per project
    # and half of them re-checked, rounded half to even (5 projects → 2 re-checks)
    second = reps[reps["year"] == 2]
    assert (second["projects"] < 6).any()
    n = second["projects"].to_numpy()
    assert second["evaluation_cost"].tolist() == (2000 * n + 30000 * np.rint(n / 2)).tolist()


def test_evaluation_cost_needs_the_evaluation_process(tmp_path):
    sc = small(tmp_path)
    year = sc.run_year()
    assert "evaluation_cost" not in year.metrics
    with pytest.raises(InputError, match="evaluation_cost"):
        metrics.lookup(sc.grading.labels, "evaluation_cost", monte_carlo=False)
    with pytest.raises(InputError, match="Monte Carlo"):
        metrics.compute(year.outcome, ["evaluation_cost"], sc.grading.labels)
    summary = sc.simulate(replications=8, years=1).summary
    assert summary["metrics"]["evaluation_cost"][0]["mean"] == 102_000


def test_the_sensitivity_prices_the_re_checks_of_each_sample(tmp_path):
    sc = small(tmp_path)
    y = evaluate_samples(sc, ["simulation.cost.recheck"], np.array([[0.0], [10_000.0]]),
                         metrics=["evaluation_cost", "evaluation_cost_recheck"])
    assert y.tolist() == [[12_000.0, 0.0], [42_000.0, 30_000.0]]


def test_a_sweep_over_the_re_check_share_raises_cost_and_lowers_wrong_cuts():
    sc = perfsim.load(SCENARIOS / "liupanshui_2022.yaml").set(COSTS)
    shares = [0.0, 0.2, 0.5, 1.0]
    table = perfsim.vary(sc, {"simulation.spot_check.share": shares},
                         metrics=["evaluation_cost", "wrong_cuts"], replications=64)
    n = sc.portfolio.n_projects
    # cost by hand: every project self-evaluated, round(share × n) re-checked
    assert table["evaluation_cost"].tolist() == [2000 * n + 30000 * round(s * n)
                                                 for s in shares]
    wrong = table["wrong_cuts"].to_numpy()
    assert np.all(np.diff(wrong) < 0)          # each step of re-checks cuts fewer good projects


@pytest.mark.parametrize("value", [-1, "a lot", float("nan")])
def test_a_bad_cost_is_refused_naming_the_setting(value):
    sc = perfsim.load(SCENARIOS / "liupanshui_2022.yaml")
    with pytest.raises(InputError) as info:
        sc.set({"simulation.cost.recheck": value})
    assert "cost.recheck" in str(info.value)
