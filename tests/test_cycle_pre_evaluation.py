"""The pre-evaluation gate (事前绩效评估): next year's requests judged on a noisy expected
score — funded, reduced, postponed or rejected — in the one kernel, the one-year run, the
Monte Carlo, the parameter registry and the Liupanshui 2022 scenario [E2]."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import SCENARIOS, one_error_line

import perfsim
from perfsim.cli import main
from perfsim.errors import InputError
from perfsim.model.params import parameters
from perfsim.run.sensitivity import evaluate_samples

# six projects, two departments; scores 95 (优), 85 (良), 70 (中), 55, 40, 20 (差)
SCORES = [95.0, 85.0, 70.0, 55.0, 40.0, 20.0]
BUDGETS = [100.0, 200.0, 300.0, 400.0, 500.0, 600.0]

GATE = """  rule: grade_table
  multipliers: {excellent: 1, good: 1, fair: 1, poor: 1}
  pre_evaluation: {noise: NOISE, reject_below: 50, postpone_below: 60, reduce_below: 80,
                   reduce: 0.3}
"""


def write(tmp_path, linkage: str) -> object:
    pd.DataFrame({"project_id": [f"P{i + 1}" for i in range(6)],
                  "department": ["甲", "甲", "甲", "乙", "乙", "乙"],
                  "budget": BUDGETS, "score": SCORES}).to_csv(tmp_path / "pf.csv", index=False)
    path = tmp_path / "sc.yaml"
    path.write_text("name: gate\nseed: 7\nportfolio: {file: pf.csv}\n"
                    "grading: {labels: national, cutoffs: [90, 80, 60]}\n"
                    f"linkage:\n{linkage}", encoding="utf-8")
    return path


def gated(tmp_path, noise=0.0, linkage=GATE):
    return perfsim.load(write(tmp_path, linkage.replace("NOISE", str(noise))))


def test_without_noise_each_band_has_its_consequence_by_hand(tmp_path):
    year = gated(tmp_path).run_year()
    a = year.allocations
    # 95, 85 ≥ 80 funded; 70 in [60, 80) reduced 30%; 55 in [50, 60) postponed; 40, 20 rejected
    assert a["pre_evaluation"].tolist() == ["fund", "fund", "reduce", "postpone", "reject",
                                            "reject"]
    assert a["next_budget"].tolist() == [100.0, 200.0, 210.0, 0.0, 0.0, 0.0]
    assert a["status"].tolist() == ["kept", "kept", "cut", "postponed", "cancelled",
                                    "cancelled"]
    m = year.metrics
    assert (m["pre_evaluation_funded"], m["pre_evaluation_reduced"],
            m["pre_evaluation_postponed"], m["pre_evaluation_rejected"],
            m["pre_evaluation_cut"]) == (2, 1, 1, 2, 4)
    assert m["pre_evaluation_saved"] == 90.0 + 500.0 + 600.0   # postponed money is not saved
    assert m["postponed_total"] == 400.0


def test_the_expected_score_is_the_score_plus_the_pre_evaluation_stream(tmp_path):
    a = gated(tmp_path, noise=8).run_year().allocations
    # the stream by its documented spawn key: (4 = pre_evaluation, block 0, year 0)
    z = np.random.default_rng(np.random.SeedSequence(7, spawn_key=(4, 0, 0))).standard_normal(6)
    expected = np.asarray(SCORES) + 8.0 * z
    assert a["expected_score"].tolist() == expected.tolist()
    band = np.select([expected < 50, expected < 60, expected < 80],
                     ["reject", "postpone", "reduce"], "fund")
    assert a["pre_evaluation"].tolist() == band.tolist()


def test_the_monte_carlo_without_noise_is_the_one_year_run_with_a_gate(tmp_path):
    sc = gated(tmp_path, noise=8)
    year = sc.run_year().metrics
    row = sc.simulate(replications=1, years=1, noise=False).replications.iloc[0]
    for name in ("next_total", "savings", "pre_evaluation_saved", "pre_evaluation_cut",
                 "pre_evaluation_rejected", "pre_evaluation_postponed", "postponed_total"):
        assert row[name] == year[name], name


def test_gate_draws_do_not_depend_on_chunking_and_differ_between_replications(tmp_path):
    sc = gated(tmp_path, noise=8)
    a = sc.simulate(replications=70, years=3, chunk=32).replications
    b = sc.simulate(replications=70, years=3, chunk=96).replications
    pd.testing.assert_frame_equal(a, b)
    assert a.loc[a["year"] == 1, "pre_evaluation_cut"].nunique() > 1


def test_a_postponed_request_comes_back_and_a_rejected_one_does_not(tmp_path):
    reps = gated(tmp_path).simulate(replications=1, years=3, noise=False).replications
    # year 1: six projects; year 2: 95, 85, 70 (55 postponed, 40 and 20 rejected);
    # year 3: the postponed 55 is back, with its request judged already (gated once)
    assert reps["projects"].tolist() == [6, 3, 4]
    assert reps["pre_evaluation_postponed"].tolist() == [1, 0, 0]


def test_good_projects_rejected_by_mistake_need_the_truth(tmp_path):
    harsh = GATE.replace("reject_below: 50, postpone_below: 60, reduce_below: 80,",
                         "reject_below: 90,").replace("\n                   reduce: 0.3", "")
    reps = gated(tmp_path, linkage=harsh).simulate(replications=1, years=1,
                                                    noise=False).replications
    # noise off: the truth is the score; 85 (良) is the one truly good project below 90
    assert reps["pre_evaluation_wrong_rejects"].tolist() == [1]
    reps = gated(tmp_path).simulate(replications=1, years=1, noise=False).replications
    assert reps["pre_evaluation_wrong_rejects"].tolist() == [0]


def test_the_gate_values_are_registry_parameters_for_vary_and_sensitivity(tmp_path):
    sc = gated(tmp_path, noise=3)
    for key in ("noise", "reject_below", "postpone_below", "reduce_below", "reduce"):
        assert f"linkage.pre_evaluation.{key}" in parameters(sc)
    table = perfsim.vary(gated(tmp_path), {"linkage.pre_evaluation.reduce": [0.0, 0.5, 1.0]})
    assert table["pre_evaluation_saved"].tolist() == [1100.0, 1250.0, 1400.0]
    X = np.array([[0.0], [45.0], [60.0]])     # up to postpone_below: the thresholds rise
    y = evaluate_samples(sc, ["linkage.pre_evaluation.reject_below"], X,
                         metrics=["pre_evaluation_rejected", "pre_evaluation_saved"],
                         settings=sc.settings.without_noise())
    for (v,), row in zip(X, y, strict=True):
        direct = sc.set({"linkage.pre_evaluation.reject_below": v}).run_year().metrics
        assert row.tolist() == [direct["pre_evaluation_rejected"],
                                direct["pre_evaluation_saved"]]


@pytest.mark.parametrize("block, field", [
    ("  pre_evaluation: {noise: 5}\n", "pre_evaluation"),
    ("  pre_evaluation: {reduce_below: 70}\n", "pre_evaluation.reduce"),
    ("  pre_evaluation: {reduce_below: 70, reduce: 1.5}\n", "pre_evaluation.reduce"),
    ("  pre_evaluation: {reject_below: -1}\n", "pre_evaluation.reject_below"),
    ("  pre_evaluation: {reject_below: 50, cut: 0.2}\n", "pre_evaluation.cut"),
    ("  pre_evaluation: {reject_below: 70, postpone_below: 60}\n",
     "pre_evaluation.reject_below"),
])
def test_a_bad_pre_evaluation_block_is_one_line_naming_the_field(tmp_path, block, field,
                                                                  capsys):
    path = write(tmp_path, "  rule: liupanshui\n" + block)
    with pytest.raises(InputError) as info:
        perfsim.load(path)
    assert field in str(info.value) and str(path) in str(info.value)
    assert main(["validate", str(path)]) == 2
    one_error_line(capsys)


def test_liupanshui_2022_pre_evaluated_111_requests_cutting_22_and_keeping_16(tmp_path):
    path = SCENARIOS / "liupanshui_2022_pre_evaluation.yaml"
    a = perfsim.load(path).run_year().allocations
    assert len(a) == 111                                        # published
    assert a["budget"].sum() == pytest.approx(401e6, abs=1.0)  # published: 4.01亿元
    counts = a["pre_evaluation"].value_counts()
    assert counts["reduce"] == 22 and counts["fund"] == 16      # published
    # the money: a reduced request keeps 70%, a rejected one nothing, a funded one all
    keep = a["pre_evaluation"].map({"fund": 1.0, "reduce": 0.7, "reject": 0.0})
    assert a["next_budget"].to_numpy() == pytest.approx((a["budget"] * keep).to_numpy(),
                                                        rel=1e-12)
    assert main(["validate", str(path)]) == 0
    assert main(["run", str(path), "--years", "2", "--replications", "40",
                 "--out", str(tmp_path / "mc")]) == 0


def test_new_projects_pass_the_gate_as_they_enter(tmp_path):
    entering = "simulation: {dynamics: {entry_rate: 0.5}}\n"   # three new projects a year
    halve = GATE.replace("NOISE", "0").replace(
        "reject_below: 50, postpone_below: 60, reduce_below: 80", "reduce_below: 100").replace(
        "reduce: 0.3", "reduce: 0.5")
    sc = perfsim.load(write(tmp_path, halve + entering))
    reps = sc.simulate(replications=8, years=2, noise=False).replications
    y2 = reps[reps["year"] == 2]
    # every request is halved once: year 1's six leave 1,050 yuan, the entrants come in at
    # half their requests, and no year-2 budget is halved again (each was judged once)
    entrants_half = y2["budget_total"] - 0.5 * sum(BUDGETS)
    assert (entrants_half > 0).all()
    assert y2["pre_evaluation_saved"].to_numpy() == pytest.approx(entrants_half.to_numpy(),
                                                                  rel=1e-12)
    assert (y2["next_total"] == y2["budget_total"]).all()
    assert (y2["pre_evaluation_reduced"] == 3).all() and (y2["projects"] == 9).all()
    # a gate that rejects everything: no new project ever enters
    shut = GATE.replace("NOISE", "0").replace(
        "reject_below: 50, postpone_below: 60, reduce_below: 80,", "reject_below: 100,").replace(
        "\n                   reduce: 0.3", "")
    sc = perfsim.load(write(tmp_path, shut + entering))
    reps = sc.simulate(replications=8, years=2, noise=False).replications
    y2 = reps[reps["year"] == 2]
    assert (y2["projects"] == 0).all() and (y2["pre_evaluation_rejected"] == 3).all()
    assert (y2["pre_evaluation_funded"] == 0).all()


def test_calibration_solves_the_reduction_for_a_savings_target(tmp_path):
    from perfsim.run.calibrate import calibrate

    sc = gated(tmp_path)
    # saved = 500 + 600 rejected + 300 × reduce (the one reduced request): 1,190 at 0.3;
    # 1,200 is reached at reduce = 100 / 300
    solved = calibrate(sc, "linkage.pre_evaluation.reduce", {"pre_evaluation_saved": 1200})
    assert solved.value == pytest.approx(1 / 3, abs=1e-6)
