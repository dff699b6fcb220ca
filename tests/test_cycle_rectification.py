"""Rectification (整改) as a state of the evaluation cycle: feedback after a grade, rectified
or not within the deadline, linkage rules that depend on it, recovery of the funds of the
unrectified (Zhucheng) — in the one-year run, the Monte Carlo and the sensitivity, through
the one kernel."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import one_error_line

import perfsim
from perfsim.cli import main
from perfsim.errors import InputError
from perfsim.model.params import parameters
from perfsim.run.calibrate import calibrate
from perfsim.run.sensitivity import evaluate_samples

# six projects, two departments; scores 95 (优), 85 (良), 70 (中), 55, 40, 20 (差)
SCORES = [95.0, 85.0, 70.0, 55.0, 40.0, 20.0]
BUDGETS = [100.0, 200.0, 300.0, 400.0, 500.0, 600.0]
POOR = [3, 4, 5]


def write(tmp_path, linkage: str, extra_columns: dict | None = None, simulation: str = ""):
    table = pd.DataFrame({"project_id": [f"P{i + 1}" for i in range(6)],
                          "department": ["甲", "甲", "甲", "乙", "乙", "乙"],
                          "budget": BUDGETS, "score": SCORES, **(extra_columns or {})})
    table.to_csv(tmp_path / "pf.csv", index=False)
    path = tmp_path / "sc.yaml"
    path.write_text("name: cycle\nseed: 7\nportfolio: {file: pf.csv}\n"
                    "grading: {labels: national, cutoffs: [90, 80, 60]}\n"
                    f"linkage:\n{linkage}\n{simulation}", encoding="utf-8")
    return path


CANCEL_UNRECTIFIED = """  rule: grade_table
  multipliers: {excellent: 1, good: 1, fair: 0.9, poor: 0.7}
  rectification:
    grades: [poor]
    probability: PROB
    unrectified: {poor: 0}
"""


def cancelling(tmp_path, probability):
    return perfsim.load(write(tmp_path, CANCEL_UNRECTIFIED.replace("PROB", str(probability))))


@pytest.mark.parametrize("probability", [1, 0])
def test_poor_and_not_rectified_cancel_nothing_at_1_and_every_poor_at_0(tmp_path, probability):
    sc = cancelling(tmp_path, probability)
    one = sc.run_year()
    mc = sc.simulate(replications=70, years=1, noise=False).replications
    sens = evaluate_samples(sc, ["linkage.rectification.probability"],
                            np.array([[float(probability)]]),
                            metrics=["cancelled_total", "cut_total"], replications=3)[0]
    poor_money = sum(BUDGETS[i] for i in POOR)
    if probability == 1:
        # every 差 rectified: cut to 0.7, nothing cancelled
        assert one.metrics["cancelled_total"] == 0.0
        assert one.allocations["status"].tolist()[3:] == ["cut"] * 3
        assert (mc["cancelled_total"] == 0.0).all()
        assert sens[0] == 0.0
        assert one.metrics["cut_total"] == pytest.approx(0.3 * poor_money + 0.1 * 300)
    else:
        # nobody rectified: every 差 cancelled, in every replication and every path
        assert one.metrics["cancelled_total"] == poor_money
        assert one.allocations["status"].tolist()[3:] == ["cancelled"] * 3
        assert (mc["cancelled_total"] == poor_money).all()
        assert sens[0] == poor_money
    assert one.metrics["count_unrectified"] == 3 * (1 - probability)
    assert one.metrics["rectified_share"] == probability


def test_between_0_and_1_the_draw_of_the_rectification_stream_decides(tmp_path):
    # independently: the documented stream — SeedSequence(seed, spawn_key=(3, block 0,
    # year 0)) — gives one uniform per project; a 差 project rectifies when it is below p
    sc = cancelling(tmp_path, 0.7)
    u = np.random.default_rng(np.random.SeedSequence(7, spawn_key=(3, 0, 0))).random(6)
    kept = [i for i in POOR if u[i] < 0.7]
    assert 0 < len(kept) < 3   # the case is a mixed one
    alloc = sc.run_year().allocations
    assert alloc["rectified"].tolist() == [i in kept for i in range(6)]
    assert alloc["next_budget"].tolist() == [100.0, 200.0, 270.0] + [
        0.7 * BUDGETS[i] if i in kept else 0.0 for i in POOR]
    assert sc.run_year().allocations["rectified"].tolist() == alloc["rectified"].tolist()


def test_the_portfolio_says_who_rectified(tmp_path):
    sc = perfsim.load(write(tmp_path, CANCEL_UNRECTIFIED.replace("PROB", "0.5"),
                            {"rectified": ["no", "no", "no", "yes", "no", "yes"]}))
    alloc = sc.run_year().allocations
    # P4 and P6 rectified: 0.7 × 400 and 0.7 × 600; P5 not: cancelled; a 'yes' on a project
    # that was not fed back (优/良/中) changes nothing
    assert alloc["next_budget"].tolist() == [100.0, 200.0, 270.0, 280.0, 0.0, 420.0]
    assert alloc["rectified"].tolist() == [False, False, False, True, False, True]
    summary = sc.run_year().summary["evaluation_cycle"]["rectification"]
    assert summary["fed_back"] == 3 and summary["rectified"] == 2
    assert "rectified column" in summary["decided_by"]
    # the Monte Carlo's first year takes the data as they are, with noise off
    mc = sc.simulate(replications=40, years=1, noise=False).replications
    assert (mc["next_total"] == alloc["next_budget"].sum()).all()


def test_zhucheng_recovers_the_funds_of_projects_not_rectified(tmp_path):
    # 差 kept at 1.0 by the rule; not rectified (probability 0) → half of the budget
    # recovered this year, and next year's budget is what is left
    sc = perfsim.load(write(tmp_path, """  rule: grade_table
  multipliers: {excellent: 1, good: 1, fair: 1, poor: 1}
  rectification: {grades: [poor], probability: 0, recover: 0.5}
"""))
    year = sc.run_year()
    assert year.metrics["recovered_unrectified"] == 0.5 * (400 + 500 + 600)
    assert year.allocations["next_budget"].tolist() == [100.0, 200.0, 300.0, 200.0, 250.0,
                                                        300.0]
    assert year.metrics["savings"] == 750.0
    assert year.allocations["recovered_unrectified"].tolist() == [0, 0, 0, 200, 250, 300]


def test_the_monte_carlo_without_noise_is_the_one_year_run_with_rectification(tmp_path):
    sc = cancelling(tmp_path, 0.5)
    year = sc.run_year().metrics
    row = sc.simulate(replications=1, years=1, noise=False).replications.iloc[0]
    for name in ("next_total", "cut_total", "cancelled_total", "savings", "count_unrectified",
                 "rectified_share", "recovered_unrectified"):
        assert row[name] == year[name], name


def test_rectification_draws_do_not_depend_on_chunking(tmp_path):
    sc = cancelling(tmp_path, 0.4)
    a = sc.simulate(replications=70, years=3, chunk=32).replications
    b = sc.simulate(replications=70, years=3, chunk=96).replications
    pd.testing.assert_frame_equal(a, b)
    # and the draws differ between replications (it is a probability, not a fixed choice)
    assert a.loc[a["year"] == 1, "count_unrectified"].nunique() > 1


def test_rectifying_improves_later_performance_in_the_monte_carlo(tmp_path):
    # noise off, ready scores: latent performance = score / 100; a rectified 差 project
    # gains `effect` in the next year, so 55 → 80 (良) and 40 → 65 (中) and 20 → 45 (差)
    text = """  rule: grade_table
  multipliers: {excellent: 1, good: 1, fair: 1, poor: 1}
  rectification: {grades: [poor], probability: 1, effect: EFFECT}
"""
    counts = {}
    for effect in (0.0, 0.25):
        sc = perfsim.load(write(tmp_path, text.replace("EFFECT", str(effect))))
        reps = sc.simulate(replications=1, years=2, noise=False).replications
        counts[effect] = reps.set_index("year")[["count_poor", "count_good", "count_fair"]]
    assert counts[0.0].loc[2].tolist() == [3, 1, 1]
    assert counts[0.25].loc[1].tolist() == [3, 1, 1]
    assert counts[0.25].loc[2].tolist() == [1, 2, 2]


def test_the_probability_is_a_registry_parameter_for_calibration_and_vary(tmp_path):
    sc = cancelling(tmp_path, 0.5)
    assert "linkage.rectification.probability" in parameters(sc)
    # the cancelled money falls as the probability rises; vary and set agree
    table = perfsim.vary(sc, {"linkage.rectification.probability": [0.0, 0.5, 1.0]})
    for _, row in table.iterrows():
        direct = sc.set({"linkage.rectification.probability":
                         row["linkage.rectification.probability"]}).run_year().metrics
        assert row["cancelled_total"] == direct["cancelled_total"]
    assert table["cancelled_total"].tolist()[0] == 1500.0
    assert table["cancelled_total"].tolist()[-1] == 0.0
    # Monte Carlo calibration: the probability whose expected unrectified count is 1.5 of
    # the three 差 projects is one half (the mean of 200 draws is smooth, not exact)
    solved = calibrate(sc, "linkage.rectification.probability", {"count_unrectified": 1.5},
                       replications=256)
    assert solved.value == pytest.approx(0.5, abs=0.06)


def test_sensitivity_samples_the_probability_as_the_one_year_run(tmp_path):
    sc = cancelling(tmp_path, 0.5)
    X = np.array([[0.0], [0.3], [0.7], [1.0]])
    y = evaluate_samples(sc, ["linkage.rectification.probability"], X,
                         metrics=["cancelled_total", "count_unrectified"],
                         settings=sc.settings.without_noise())
    for (p,), row in zip(X, y, strict=True):
        direct = sc.set({"linkage.rectification.probability": p}).run_year().metrics
        assert row.tolist() == [direct["cancelled_total"], direct["count_unrectified"]]


@pytest.mark.parametrize("block, problem", [
    ("  rectification: {probability: 1.5}\n", "rectification.probability"),
    ("  rectification: {grades: [bad]}\n", "rectification"),
    ("  rectification: {unrectified: {fair: 0}}\n", "rectification.unrectified.fair"),
    ("  rectification: {chance: 0.5}\n", "rectification.chance"),
])
def test_a_bad_rectification_block_is_one_line_naming_the_field(tmp_path, block, problem,
                                                                  capsys):
    path = write(tmp_path, "  rule: liupanshui\n" + block)
    with pytest.raises(InputError) as info:
        perfsim.load(path)
    assert problem in str(info.value) and str(path) in str(info.value)
    assert main(["validate", str(path)]) == 2
    one_error_line(capsys)


def test_unrectified_again_and_again_is_reduced_until_cancelled(tmp_path):
    # Jinan [P9]: 差 and not rectified → halved; the second time in a row → cancelled
    sc = perfsim.load(write(tmp_path, """  rule: grade_table
  multipliers: {excellent: 1, good: 1, fair: 1, poor: 1}
  rectification: {grades: [poor], probability: 0, unrectified: {poor: 0.5}, cancel_after: 2}
"""))
    reps = sc.simulate(replications=1, years=3, noise=False).replications
    # 差 hold 400 + 500 + 600 = 1500: halved to 750, then cancelled; the rest keep 600
    assert reps["budget_total"].tolist() == [2100.0, 1350.0, 600.0]
    assert reps["cancelled_total"].tolist() == [0.0, 750.0, 0.0]
    assert sc.run_year().metrics["cancelled_total"] == 0.0   # a first year: halved only


def test_the_probability_may_depend_on_the_grade(tmp_path):
    # 中 and 差 fed back; every 中 rectifies, no 差 does: the unrectified rule cancels the
    # three 差 projects only
    text = """  rule: grade_table
  multipliers: {excellent: 1, good: 1, fair: 0.9, poor: 0.7}
  rectification:
    grades: [fair, poor]
    probability: {fair: 1, poor: 0}
    unrectified: {fair: 0, poor: 0}
"""
    sc = perfsim.load(write(tmp_path, text))
    year = sc.run_year()
    assert year.allocations["next_budget"].tolist() == [100.0, 200.0, 270.0, 0.0, 0.0, 0.0]
    assert year.metrics["rectified_share"] == 0.25
    # each grade's probability is a registry parameter of its own
    assert "linkage.rectification.probability.poor" in sc.parameters
    assert "linkage.rectification.probability" not in sc.parameters
    swapped = sc.set({"linkage.rectification.probability.fair": 0.0,
                      "linkage.rectification.probability.poor": 1.0}).run_year()
    assert swapped.allocations["next_budget"].tolist() == [100.0, 200.0, 0.0, 280.0, 350.0,
                                                           420.0]
    y = evaluate_samples(sc, ["linkage.rectification.probability.poor"],
                         np.array([[0.0], [1.0]]), metrics=["cancelled_total"])
    assert y.tolist() == [[1500.0], [0.0]]
    with pytest.raises(InputError, match="probability.fair"):
        perfsim.load(write(tmp_path, text.replace("{fair: 1, poor: 0}", "{poor: 0}")))


def test_the_unrectified_multiplier_is_a_registry_parameter(tmp_path):
    # the three 差 projects (1,500 yuan) are all unrectified (probability 0): the multiplier
    # of 差-and-not-rectified decides their budget, in set, in the sensitivity and calibrated
    sc = cancelling(tmp_path, 0)
    name = "linkage.rectification.unrectified.poor"
    assert sc.parameters[name].valid == (0.0, 2.0)
    assert sc.set({name: 0.4}).run_year().metrics["cut_total"] == pytest.approx(
        0.6 * 1500 + 30, abs=1e-9)
    y = evaluate_samples(sc, [name], np.array([[0.0], [0.5], [1.0]]),
                         metrics=["next_total"])
    assert y[:, 0].tolist() == [570.0, 1320.0, 2070.0]
    # savings = 2,100 − (570 + 1,500 x): 1,080 yuan at x = 0.3
    solved = calibrate(sc, name, {"savings": 1080.0}, bounds=(0.0, 1.0))
    assert solved.value == pytest.approx(0.3, abs=1e-6)
