"""Dual monitoring, both halves: execution pace and target attainment at each checkpoint,
with their consequences (warn, suspend disbursement, recover idle funds, require
rectification) and year-end clearing of balances for missed targets — the one ``monitor``
of the kernel, the Monte Carlo, the registry and the sensitivity analysis."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import one_error_line

import perfsim
from perfsim.cli import main
from perfsim.errors import InputError
from perfsim.kernel.evaluation import Monitoring, Targets, monitor
from perfsim.model.params import parameters
from perfsim.run.sensitivity import evaluate_samples

CHECKPOINTS = ((0.5, 0.3), (0.75, 0.5))
BUDGET = np.array([[1000.0, 1000.0, 1000.0, 1000.0]])
PACE = np.array([[0.9, 0.9, 0.4, 0.4]])        # execution: the last two are slow
ATTAIN = np.array([[0.9, 0.4, 0.9, 0.4]])      # targets: the second and fourth are missed


def watch(consequence="warn", clearing=False, z_target=None, noise=0.0):
    z = np.zeros((1, 4, 2))
    zt = np.zeros((1, 4, 4)) if z_target is None else z_target
    out = monitor(BUDGET, PACE, z, CHECKPOINTS, 0.0, 1.0,
                  Targets(minimum=0.6, noise=noise, consequence=consequence,
                          year_end_clearing=clearing), zt, ATTAIN)
    assert isinstance(out, Monitoring)
    return out


def test_without_targets_monitor_is_execution_pace_only():
    z = np.zeros((1, 4, 2))
    out = monitor(BUDGET, PACE, z, CHECKPOINTS, 0.0, 1.0)
    # at Jan-Jun the slow ones execute 0.5 × 0.4 = 0.2 < 0.3: 1000 × (0.5 − 0.2) recovered
    assert out.tolist() == [[0.0, 0.0, 300.0, 300.0]]


def test_warn_counts_the_unreachable_targets_and_takes_nothing_more():
    out = watch("warn")
    assert out.failed.tolist() == [[False, True, False, True]]
    assert out.recovered.tolist() == [[0.0, 0.0, 300.0, 300.0]]
    assert out.feedback is None


def test_suspend_withholds_the_disbursements_still_to_come():
    out = watch("suspend")
    # found at Jan-Jun: half the year's money withheld; the fourth also loses its idle 300
    assert out.suspended.tolist() == [[0.0, 500.0, 0.0, 500.0]]
    assert out.recovered.tolist() == [[0.0, 500.0, 300.0, 800.0]]


def test_recover_takes_the_idle_funds_of_projects_missing_targets():
    out = watch("recover")
    # the second executes 0.45 by Jan-Jun: 1000 × (0.5 − 0.45) idle; the fourth's idle funds
    # are recovered once, not twice
    assert out.recovered == pytest.approx(np.array([[0.0, 50.0, 300.0, 300.0]]), abs=1e-9)


def test_rectify_marks_the_projects_required_to_rectify():
    out = watch("rectify")
    assert out.feedback.tolist() == [[False, True, False, True]]
    assert out.recovered.tolist() == [[0.0, 0.0, 300.0, 300.0]]


def test_year_end_clearing_takes_the_unspent_balance_of_missed_targets():
    out = watch("warn", clearing=True)
    # the second spent 90%: 100 cleared; the fourth spent 40%, 300 already recovered: 300 more
    assert out.cleared == pytest.approx(np.array([[0.0, 100.0, 0.0, 300.0]]), abs=1e-9)
    assert out.recovered == pytest.approx(np.array([[0.0, 100.0, 300.0, 600.0]]), abs=1e-9)


def test_the_noise_moves_the_projected_attainment_checkpoint_by_checkpoint():
    zt = np.zeros((1, 4, 4))
    zt[0, 0, 1] = -1.0   # the first project looks unreachable only at Jan-Sep: 0.9 − 0.5
    out = watch("suspend", z_target=zt, noise=0.5)
    assert out.failed.tolist() == [[True, True, False, True]]
    assert out.suspended[0, 0] == 250.0   # a quarter of the year still to come


# --- the Monte Carlo ------------------------------------------------------------------------
# six projects with ready scores (noise off: latent performance = score / 100)
SCORES = [95.0, 85.0, 70.0, 55.0, 40.0, 20.0]
BUDGETS = [100.0, 200.0, 300.0, 400.0, 500.0, 600.0]
NEUTRAL = """linkage:
  rule: grade_table
  multipliers: {excellent: 1, good: 1, fair: 1, poor: 1}
"""


def write(tmp_path, monitoring: str, linkage: str = NEUTRAL):
    pd.DataFrame({"project_id": [f"P{i + 1}" for i in range(6)],
                  "department": ["甲", "甲", "甲", "乙", "乙", "乙"],
                  "budget": BUDGETS, "score": SCORES}).to_csv(tmp_path / "pf.csv", index=False)
    path = tmp_path / "sc.yaml"
    path.write_text("name: watch\nseed: 7\nportfolio: {file: pf.csv}\n"
                    "grading: {labels: national, cutoffs: [90, 80, 60]}\n" + linkage
                    + f"simulation:\n  monitoring: {monitoring}\n", encoding="utf-8")
    return path


def year_one(tmp_path, monitoring, linkage=NEUTRAL):
    sc = perfsim.load(write(tmp_path, monitoring, linkage))
    return sc.simulate(replications=1, years=1, noise=False).replications.iloc[0]


def test_suspension_in_the_monte_carlo_by_hand(tmp_path):
    row = year_one(tmp_path, "{checkpoints: [[0.5, 0.0]], targets: 0.6, "
                             "target_consequence: suspend}")
    # 55, 40 and 20 (attainment below 0.6) have half their money withheld at Jan-Jun
    assert row["monitoring_target_failed"] == 3
    assert row["monitoring_suspended"] == 0.5 * (400 + 500 + 600)
    assert row["recovered"] == 750.0
    assert row["next_total"] == sum(BUDGETS) - 750.0


def test_year_end_clearing_in_the_monte_carlo_by_hand(tmp_path):
    row = year_one(tmp_path, "{targets: 0.6, year_end_clearing: true, pace: performance}")
    # no checkpoint: only the year end; each spends its pace (here its performance), the
    # rest of a missed one cleared
    assert row["monitoring_cleared"] == pytest.approx(400 * 0.45 + 500 * 0.6 + 600 * 0.8,
                                                      rel=1e-12)
    assert row["monitoring_target_failed"] == 0
    # on schedule (the default pace), noise off, every project spends its whole budget
    row = year_one(tmp_path, "{targets: 0.6, year_end_clearing: true}")
    assert row["monitoring_cleared"] == 0.0


def test_required_rectification_feeds_the_rectification_state(tmp_path):
    rect = NEUTRAL + "  rectification: {grades: [poor], probability: 0, recover: 0.5}\n"
    warned = year_one(tmp_path, "{checkpoints: [[0.5, 0.0]], targets: 0.75}", rect)
    told = year_one(tmp_path, "{checkpoints: [[0.5, 0.0]], targets: 0.75, "
                              "target_consequence: rectify}", rect)
    # graded 差: 55, 40, 20; monitoring also finds 70 (中) below 0.75 and requires it to rectify
    assert warned["count_unrectified"] == 3 and told["count_unrectified"] == 4
    assert warned["recovered_unrectified"] == 0.5 * 1500
    assert told["recovered_unrectified"] == 0.5 * 1800


def test_target_draws_do_not_depend_on_chunking(tmp_path):
    sc = perfsim.load(write(tmp_path, "{checkpoints: default, targets: 0.7, target_noise: 0.1, "
                                      "target_consequence: suspend, year_end_clearing: true}"))
    a = sc.simulate(replications=70, years=2, chunk=32).replications
    b = sc.simulate(replications=70, years=2, chunk=96).replications
    pd.testing.assert_frame_equal(a, b)
    assert a["monitoring_suspended"].nunique() > 1


def test_the_targets_are_registry_parameters_in_the_sensitivity_analysis(tmp_path):
    sc = perfsim.load(write(tmp_path, "{checkpoints: [[0.5, 0.0]], targets: 0.6, "
                                      "target_consequence: suspend}"))
    assert {"simulation.monitoring.targets", "simulation.monitoring.target_noise"} <= set(
        parameters(sc))
    X = np.array([[0.0], [0.6], [0.8], [1.0]])
    y = evaluate_samples(sc, ["simulation.monitoring.targets"], X,
                         metrics=["monitoring_suspended", "monitoring_target_failed"],
                         settings=sc.settings.without_noise(), replications=4)
    # noise off: latent performance = score / 100; below 0.6 three projects, below 0.8 four
    assert y[:, 1].tolist() == [0, 3, 4, 6]
    assert y[:, 0].tolist() == [0.0, 750.0, 900.0, 0.5 * sum(BUDGETS)]


@pytest.mark.parametrize("monitoring, field", [
    ("{year_end_clearing: true}", "monitoring.year_end_clearing"),
    ("{targets: 1.5}", "monitoring.targets"),
    ("{targets: 0.5, target_consequence: stop}", "monitoring.target_consequence"),
    ("{target_consequence: suspend}", "monitoring.target_consequence"),
    ("{targets: 0.5, year_end_clearing: 1}", "monitoring.year_end_clearing"),
])
def test_a_bad_monitoring_block_is_one_line_naming_the_field(tmp_path, monitoring, field,
                                                             capsys):
    path = write(tmp_path, monitoring)
    with pytest.raises(InputError) as info:
        perfsim.load(path)
    assert field in str(info.value)
    assert main(["validate", str(path)]) == 2
    one_error_line(capsys)


def test_rectification_required_without_a_rectification_rule_is_refused(tmp_path, capsys):
    path = write(tmp_path, "{targets: 0.5, target_consequence: rectify}")
    assert main(["run", str(path), "--replications", "2", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "monitoring.target_consequence" in err and len(err.strip().splitlines()) == 1


def test_calibration_solves_the_target_line_in_the_monte_carlo(tmp_path):
    from perfsim.run.calibrate import calibrate

    sc = perfsim.load(write(tmp_path, "{checkpoints: [[0.5, 0.0]], targets: 0.3, "
                                      "target_noise: 0.1, target_consequence: suspend}"))
    # latent performance 0.55, 0.40 and 0.20 below the line: the expected money suspended
    # rises with it; a target between its values at two lines is met between them
    low = sc.simulate(replications=64, years=1).replications["monitoring_suspended"].mean()
    high = sc.set({"simulation.monitoring.targets": 0.7}).simulate(
        replications=64, years=1).replications["monitoring_suspended"].mean()
    assert low < high
    solved = calibrate(sc, "simulation.monitoring.targets",
                       {"monitoring_suspended": (low + high) / 2}, bounds=[0.3, 0.7],
                       replications=64)
    assert 0.3 < solved.value < 0.7
    at = sc.set({"simulation.monitoring.targets": solved.value}).simulate(
        replications=64, years=1).replications["monitoring_suspended"].mean()
    assert at == pytest.approx((low + high) / 2, rel=0.02)
