"""Units that respond: simulation.self_evaluation.strategy best_response.

The choice by hand (the kernel), the Monte Carlo's units on a small portfolio without noise
(every claim computed by hand), the belief of the units caught, one-line errors, the same
numbers whatever the chunking, and the acceptance figures on Liupanshui.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import SCENARIOS, one_error_line

import perfsim
from perfsim.cli import main
from perfsim.kernel.strategy import check_chance, learn, perceived, reach_lines, respond

LIUPANSHUI = SCENARIOS / "liupanshui_2022.yaml"
BEST = {"simulation.self_evaluation.strategy": "best_response"}


# --- the kernel, by hand ----------------------------------------------------------------------

def test_a_unit_inflates_while_the_expected_gain_beats_the_expected_loss():
    # honest: 中 keeps 85 yuan of 100; claiming 良 keeps 100 unchecked, 0 when a check finds
    # it (the penalty drops it to 差): a = 15, b = −85, break-even p = 15 / 100 = 0.15
    unchecked = np.array([[85.0], [100.0]])
    checked = np.array([[85.0], [0.0]])
    assert respond(unchecked, checked, 0.10)[0] == 1          # 0.9·15 − 0.1·85 = 5 > 0
    assert respond(unchecked, checked, 0.20)[0] == 0          # 0.8·15 − 0.2·85 = −5
    assert respond(unchecked, checked, 0.15)[0] == 0          # exactly 0: honesty wins the tie


def test_a_chance_that_depends_on_the_claim_counts_against_that_claim():
    # honest faces p = 0 and gains nothing either way; claiming faces p = 0.5
    unchecked = np.array([[85.0], [100.0]])
    checked = np.array([[85.0], [0.0]])
    p = np.array([[0.0], [0.5]])
    assert respond(unchecked, checked, p)[0] == 0              # 0.5·100 − 85 = −35 < 0
    p = np.array([[0.9], [0.05]])     # checked wherever it stays: claiming lowers the chance
    assert respond(unchecked, checked, p)[0] == 1              # 0.95·100 − 85 = 10 > 0


def test_reach_lines_are_the_least_claims_onto_each_line_within_the_reach():
    honest = np.array([[79.0, 77.5, 59.0, 89.5]])
    claims = reach_lines(honest, np.array([90.0, 80.0, 60.0]), most=2.0)
    np.testing.assert_array_equal(claims[0, 0], honest[0])                     # honest
    np.testing.assert_array_equal(claims[1, 0], [79.0, 77.5, 60.0, 89.5])     # onto 60
    np.testing.assert_array_equal(claims[2, 0], [80.0, 77.5, 59.0, 89.5])     # onto 80
    np.testing.assert_array_equal(claims[3, 0], [79.0, 77.5, 59.0, 90.0])     # onto 90
    # a bonus for not being checked lowers the claim that reaches a line
    with_bonus = reach_lines(honest, np.array([90.0, 80.0, 60.0]), most=2.0, bonus=1.0)
    np.testing.assert_array_equal(with_bonus[2, 0], [79.0, 79.0, 59.0, 89.5])


def test_the_chance_of_a_check_each_selection_lets_a_unit_infer():
    active = np.ones((1, 5), dtype=bool)
    honest = np.array([[95.0, 81.0, 70.0, 80.5, 60.5]])
    budget = np.array([10.0, 50.0, 30.0, 20.0, 40.0])
    claim = honest[None]
    n = np.array([[2]])
    np.testing.assert_allclose(check_chance("random", n, active, claim, honest, budget),
                               [[[0.4] * 5]])
    np.testing.assert_array_equal(
        check_chance("largest_budget", n, active, claim, honest, budget), [[[0, 1, 0, 0, 1]]])
    np.testing.assert_array_equal(
        check_chance("highest_score", n, active, claim, honest, budget), [[[1, 1, 0, 0, 0]]])
    # near the lines (band 2), closest first: 80.5 and 60.5 (0.5 above a line) take the 2
    # checks before 81 (1 above); none is left for the others
    near = check_chance("near_cutoffs", n, active, claim, honest, budget,
                        cutoffs=(90, 80, 60), band=2.0)
    np.testing.assert_array_equal(near, [[[0, 0, 0, 1, 1]]])
    # a claim exactly on a line is the first checked; one 5 points above 90 is left alone
    on_line = np.array([[[95.0, 80.0, 70.0, 80.5, 60.5]]])
    np.testing.assert_array_equal(check_chance("near_cutoffs", n, active, on_line, honest,
                                               budget, cutoffs=(90, 80, 60), band=2.0),
                                  [[[0, 1, 0, 1, 1]]])
    # one check: each unit reckons against the others' honest self-scores, and none lies
    # nearer a line than these three (a tie counts for the unit)
    one = np.array([[1]])
    np.testing.assert_array_equal(check_chance("near_cutoffs", one, active, on_line, honest,
                                               budget, cutoffs=(90, 80, 60), band=2.0),
                                  [[[0, 1, 0, 1, 1]]])
    # risk weights 1, 1, 3, 1, 4 (total 10): 2 checks × weight / 10, at most 1
    risk = np.array([[1.0, 1.0, 3.0, 1.0, 4.0]])
    np.testing.assert_allclose(check_chance("risk", n, active, claim, honest, budget,
                                            risk=risk), [[[0.2, 0.2, 0.6, 0.2, 0.8]]])
    both = check_chance("mix", n, active, claim, honest, budget,
                        mix=(("random", 0.5), ("largest_budget", 0.5)))
    np.testing.assert_allclose(both, [[[0.2, 0.7, 0.2, 0.2, 0.7]]])


def test_a_caught_unit_moves_its_belief_toward_one_by_the_weight():
    belief = np.zeros(3)
    caught = np.array([True, False, True])
    once = learn(belief, caught, 0.5)
    np.testing.assert_allclose(once, [0.5, 0.0, 0.5])
    np.testing.assert_allclose(learn(once, caught, 0.5), [0.75, 0.0, 0.75])
    np.testing.assert_allclose(perceived(np.array([0.2, 0.2, 0.2]), once), [0.6, 0.2, 0.6])


# --- the Monte Carlo's units, by hand ------------------------------------------------------------

def _small(tmp_path, scores, simulation="", poor=0.5,
           respond="{strategy: best_response, max_inflation: 2}"):
    n = len(scores)
    pd.DataFrame({"project_id": [f"P{i}" for i in range(n)],
                  "department": [f"D{i}" for i in range(n)], "budget": [100.0] * n,
                  "score": scores}).to_csv(tmp_path / "pf.csv", index=False)
    (tmp_path / "sc.yaml").write_text(f"""name: respond
seed: 5
portfolio: {{file: pf.csv}}
linkage:
  rule: grade_table
  multipliers: {{excellent: 1.0, good: 1.0, fair: 0.85, poor: {poor}}}
simulation:
  self_evaluation: {respond}
{simulation}""", encoding="utf-8")
    return perfsim.load(tmp_path / "sc.yaml")


def test_unchecked_units_claim_the_line_within_their_reach_where_it_pays(tmp_path):
    sc = _small(tmp_path, [79.0, 77.5, 59.0, 85.0, 89.5])
    mc = sc.simulate(replications=2, years=1, noise=False)
    # 79 → 80 (中 to 良, +15 yuan), 77.5 is 2.5 points away (reach 2), 59 → 60 (差 to 中,
    # +35 yuan), 90 pays nothing under this rule (良 and 优 keep alike): no one claims it
    assert mc.sample["self_score"].tolist() == [80.0, 77.5, 60.0, 85.0, 89.5]
    assert mc.sample["honest_self_score"].tolist() == [79.0, 77.5, 59.0, 85.0, 89.5]
    assert (mc.replications["inflating_share"] == 2 / 5).all()
    assert (mc.replications["inflation_points"] == 2.0).all()
    # the piles the units made: one at 80 (良), one at 60 (中), none at 90 (优)
    r = mc.replications
    assert (r["lifted_good"] == 1).all() and (r["lifted_fair"] == 1).all()
    assert (r["lifted_excellent"] == 0).all()


def test_full_checks_with_a_penalty_deter_every_unit(tmp_path):
    sc = _small(tmp_path, [79.0, 77.5, 59.0, 85.0, 89.5], """  spot_check:
    share: 1.0
    gap: 0.5
    inflation_penalty: 20
""")
    mc = sc.simulate(replications=2, years=1, noise=False)
    assert mc.sample["self_score"].tolist() == [79.0, 77.5, 59.0, 85.0, 89.5]
    assert (mc.replications["inflating_share"] == 0).all()


def test_checks_without_a_penalty_within_the_gap_deter_no_one(tmp_path):
    # the re-check only puts back the honest score: a check costs nothing (b = 0), so at
    # p = 0.6 claiming 80 still gains 0.4·15 = 6 yuan (at p = 1 it gains nothing: a tie)
    sc = _small(tmp_path, [79.0, 77.5, 59.0, 85.0, 89.5], """  spot_check:
    share: 0.6
""")
    mc = sc.simulate(replications=2, years=1, noise=False)
    assert mc.sample["self_score"].tolist() == [80.0, 77.5, 60.0, 85.0, 89.5]


@pytest.mark.parametrize("update", [0.0, 1.0])
def test_a_caught_unit_reports_honestly_the_next_year_when_it_learns(tmp_path, update):
    # ten units at 79, one random check a year (p = 0.1), penalty 20 beyond a 0.5 gap:
    # 0.9·15 − 0.1·(85 − 50) = 10 > 0, so all inflate in year 1; one is caught, and with
    # belief_update 1 it sees p = 1 and reports honestly in year 2
    sc = _small(tmp_path, [79.0] * 10, """  spot_check:
    share: 0.1
    gap: 0.5
    inflation_penalty: 20
""", respond=f"{{strategy: best_response, max_inflation: 2, belief_update: {update}}}")
    reps = sc.simulate(replications=16, years=2, noise=False).replications
    wide = reps.pivot(index="replication", columns="year", values="inflating_share")
    assert (wide[1] == 1.0).all()
    drop = (wide[1] - wide[2]).round(12)
    assert (drop == (0.1 if update else 0.0)).all()


# --- errors, reproducibility ----------------------------------------------------------------------

@pytest.mark.parametrize("block, fragment", [
    ("self_evaluation: {strategy: respond}", "simulation.self_evaluation.strategy"),
    ("self_evaluation: {strategy: best_response, belief_update: 1.5}",
     "simulation.self_evaluation.belief_update"),
    ("self_evaluation: {strategy: best_response, max_inflation: -1}",
     "simulation.self_evaluation.max_inflation"),
    ("self_evaluation: {strategy: best_response, inflation_mean: 0.02}",
     "simulation.self_evaluation.inflation_mean"),
])
def test_bad_settings_are_one_bilingual_line(tmp_path, capsys, block, fragment):
    pd.DataFrame({"project_id": ["A", "B"], "department": ["X", "Y"], "budget": [1.0, 2.0],
                  "score": [70.0, 85.0]}).to_csv(tmp_path / "pf.csv", index=False)
    (tmp_path / "sc.yaml").write_text(f"name: bad\nportfolio: {{file: pf.csv}}\n"
                                      f"linkage: {{rule: liupanshui, ratio: 0.15}}\n"
                                      f"simulation:\n  {block}\n", encoding="utf-8")
    assert main(["run", str(tmp_path / "sc.yaml"), "--replications", "2",
                 "--out", str(tmp_path / "out")]) == 2
    line = one_error_line(capsys)
    assert fragment in line and "sc.yaml" in line
    assert any("\u4e00" <= ch <= "\u9fff" for ch in line.split(fragment)[-1])


def test_same_seed_same_numbers_whatever_the_chunking_and_engine(tmp_path):
    rng = np.random.default_rng(0)
    sc = _small(tmp_path, list(np.round(rng.uniform(55, 95, 40), 1)), """  spot_check:
    share: 0.2
    inflation_penalty: 10
    gap: 1
""")
    a = sc.simulate(replications=70, years=3, chunk=32, engine="numpy").replications
    b = sc.simulate(replications=70, years=3, chunk=96, engine="numpy").replications
    c = sc.simulate(replications=70, years=3, chunk=32, engine="processes",
                    workers=2).replications
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(a, c)
    assert a["inflating_share"].max() > 0


def test_strategy_none_leaves_the_fixed_inflation_alone_to_the_bit(tmp_path):
    # reach and belief act only when units respond: with strategy none they change nothing
    sc = _small(tmp_path, [79.0, 77.5, 59.0, 85.0, 89.5], respond="{inflation_mean: 0.01}")
    a = sc.simulate(replications=40, years=2).replications
    b = sc.set({"simulation.self_evaluation.max_inflation": 5.0,
                "simulation.self_evaluation.belief_update": 0.9}).simulate(
        replications=40, years=2).replications
    pd.testing.assert_frame_equal(a, b)
    assert (a["inflating_share"] > 0).any()         # the fixed inflation is at work


def test_a_sensitivity_sample_varies_the_reach_of_each_row(tmp_path):
    # two samples of max_inflation on the same draws: a reach of 0.5 lifts no one (79 is a
    # point under 80), a reach of 2 lifts 79 → 80 and 59 → 60
    from perfsim.run.sensitivity import evaluate_samples

    sc = _small(tmp_path, [79.0, 77.5, 59.0, 85.0, 89.5])
    out = evaluate_samples(sc.set({"simulation.self_evaluation.noise": 0.0,
                                   "simulation.performance.leaf_dispersion": 0.0}),
                           ["simulation.self_evaluation.max_inflation"],
                           np.array([[0.5], [2.0]]), metrics=("inflation_points",))
    np.testing.assert_allclose(out[:, 0], [0.0, 2.0])
