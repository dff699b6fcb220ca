"""Measurement space: the Monte Carlo draws each leaf's measured value and scores it through the
system's own rules (the threshold's cliff, the deduction's whole steps, the cap, bonus leaves),
and projects may set their own targets (ambition, soft targets, the over-completion markdown,
a re-check resetting a soft target). Expected numbers are computed by hand from the rules."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from conftest import SCENARIOS

import perfsim
from perfsim.errors import InputError
from perfsim.kernel.measurement import LeafSpace, set_targets
from perfsim.kernel.scoring import make_rule
from perfsim.model.params import apply_changes, parameters
from perfsim.model.settings import settings_with
from perfsim.run.sensitivity import _evaluate_chunk, _prepare
from perfsim.run.simulate import build_inputs, simulate, space_of
from perfsim.run.solve import evaluate_at

MONEY = ("savings", "cut_total", "cancelled_total", "rewarded_total", "next_total")

CLIFF_SYSTEM = """
code: cliff
name: {zh: 测试, en: Cliff test}
total: 100
bonus_cap: 6
indicators:
  - {code: T, name: {zh: 数量, en: Items}, points: 40, unit: items, target: 50,
     direction: higher, rule: {kind: threshold}}
  - {code: D, name: {zh: 逾期, en: Days late}, points: 20, unit: days,
     rule: {kind: deduct, per: 2, step: 5}}
  - {code: P, name: {zh: 完成率, en: Completion}, points: 40, unit: "%", target: 100,
     direction: higher, rule: {kind: proportional}}
  - code: X
    name: {zh: 加分, en: Bonus}
    children:
      - {code: X1, name: {zh: 加分1, en: Bonus 1}, points: 5, rule: {kind: bonus, per: 2}}
      - {code: X2, name: {zh: 加分2, en: Bonus 2}, points: 3, rule: {kind: bonus, per: 1}}
"""

#: the same system with 1,000 days of allowance: D never deducts (the bonus tests)
CALM_SYSTEM = CLIFF_SYSTEM.replace("per: 2, step: 5}", "per: 2, step: 5, allowance: 1000}")

TARGET_SYSTEM = """
code: targets
name: {zh: 目标, en: Targets}
total: 100
indicators:
  - {code: Q, name: {zh: 数量, en: Output}, points: 60, unit: items, target: 100,
     direction: higher, rule: {kind: proportional}}
  - {code: L, name: {zh: 成本, en: Unit cost}, points: 40, unit: yuan, target: 40,
     direction: lower, rule: {kind: proportional}}
"""


def scenario(tmp_path, system: str, rows: list[dict], simulation: dict | None = None,
             linkage: str = "  rule: liupanshui\n  ratio: 0.15\n  pool: treasury\n"):
    (tmp_path / "system.yaml").write_text(system, encoding="utf-8")
    pd.DataFrame(rows).to_csv(tmp_path / "portfolio.csv", index=False)
    doc = ("name: measurement_test\nseed: 3\nindicator_system: system.yaml\n"
           "portfolio:\n  file: portfolio.csv\n"
           "grading:\n  labels: national\n  cutoffs: [90, 80, 60]\n"
           f"linkage:\n{linkage}")
    (tmp_path / "scenario.yaml").write_text(doc, encoding="utf-8")
    sc = perfsim.load(tmp_path / "scenario.yaml")
    base = dict(space="measurement", replications=1, years=1)
    return sc, dataclasses.replace(sc.settings, **{**base, **(simulation or {})})


def cliff_row(i, T, D, P, X1=0, X2=0, dep="D1", budget=100.0):
    return {"project_id": f"P{i}", "department": dep, "budget": budget, "T": T, "D": D,
            "P": P, "X1": X1, "X2": X2}


# --- the rules act in the Monte Carlo -------------------------------------------------------

def test_without_noise_each_leaf_scores_its_own_value_through_the_monte_carlo(tmp_path):
    rows = [cliff_row(1, 50, 0, 100),            # at the threshold: 40 + 20 + 40
            cliff_row(2, 49.99, 0, 100),         # just below it: the 40 points are lost
            cliff_row(3, 60, 12, 80),            # two whole steps late: 40 + 16 + 32
            cliff_row(4, 60, 0, 150, 5, 5)]      # capped at 40; bonus 5 + 3 capped at 6
    sc, st = scenario(tmp_path, CLIFF_SYSTEM, rows)
    sample = simulate(sc, st, noise=False).sample
    for col in ("true_score", "self_score", "final_score"):
        assert sample[col].tolist() == [100.0, 60.0, 88.0, 106.0], col


def test_a_threshold_leaf_has_a_cliff_and_a_deduct_leaf_whole_steps_under_noise(tmp_path):
    """400 projects exactly at the threshold target, on time, at the target of P: each draw's
    measured items fall short half the time (the leaf's 40 points all or nothing), and days
    late (a shortfall) cost whole steps of 2 points, so every score is an even number."""
    rows = [cliff_row(i, 50, 0, 300) for i in range(400)]
    sc, st = scenario(tmp_path, CLIFF_SYSTEM, rows,
                      dict(leaf_dispersion=0.05, measurement_noise=0.0))
    true = simulate(sc, st).sample["true_score"].to_numpy()
    assert np.all(true == np.round(true)) and np.all(true % 2 == 0)
    met = true >= 80        # 40 (P, capped) + at least 0 (D) + 40 (T) ; a miss is <= 60
    assert not np.any((true > 60) & (true < 80))
    assert abs(met.mean() - 0.5) < 4 * 0.025            # binomial(400, 1/2): sd 0.025
    deducted = 100 - true[met]
    assert set(np.unique(deducted)) >= {0.0, 2.0}       # some on time, some one step late
    # in attainment space the same noise moves points continuously below the full mark
    at = simulate(sc, dataclasses.replace(st, space="attainment")).sample["true_score"]
    assert np.any(at.to_numpy() % 2 != 0)


def test_a_capped_leaf_never_exceeds_its_points_and_bonus_is_simulated_and_capped(tmp_path):
    rows = ([cliff_row(i, 500, 0, 300, 10, 10) for i in range(5)]   # far above everything
            + [cliff_row(5 + i, 500, 0, 100, 1, 1) for i in range(200)])
    sc, st = scenario(tmp_path, CALM_SYSTEM, rows,
                      dict(leaf_dispersion=0.3, measurement_noise=0.05, recheck_noise=0.02,
                           check_share=0.5, replications=40))
    res = simulate(sc, st)
    # far above every cap: 100 points and the bonus cap 6 in every replication and stage
    assert res.projects["mean_score"].iloc[:5].tolist() == [106.0] * 5
    assert (res.sample[["true_score", "self_score", "final_score"]].iloc[:5] == 106).all().all()
    # at the capped leaf's target: P earns at most its 40 points whatever the draw, so no
    # score passes 40 (T) + 20 (D) + 40 (P) + 6 (bonus cap); the cap binds in about half the
    # draws (a value at or above the target), so many scores sit exactly at 100 + bonus
    rest = res.sample.iloc[5:]
    for col in ("true_score", "self_score", "final_score"):
        assert rest[col].max() <= 106.0
    assert rest["true_score"].nunique() > 5          # the draws move P (below the cap) and X


def test_bonus_leaves_take_whole_units_capped_per_leaf_and_in_sum(tmp_path):
    """Bonus alone: T, D (with its allowance) and P far from their cliffs and caps, so every
    true score is 100 +
    the bonus, which must be min(min(2·x1, 5) + min(x2, 3), 6) for whole x1, x2 >= 0."""
    rows = [cliff_row(i, 500, 0, 300, 1, 1) for i in range(300)]
    sc, st = scenario(tmp_path, CALM_SYSTEM, rows, dict(leaf_dispersion=0.3))
    st = dataclasses.replace(st, measurement_noise=0.0)
    bonus = simulate(sc, st).sample["true_score"].to_numpy() - 100
    possible = {min(min(2 * a, 5) + min(b, 3), 6) for a in range(10) for b in range(10)}
    assert set(np.unique(bonus)) <= possible
    assert len(np.unique(bonus)) >= 3 and bonus.max() <= 6 and bonus.min() >= 0
    # x1 = rint(1 + 2.5 × 0.3 z) and x2 = rint(1 + 3 × 0.3 z) are symmetric about 1: the
    # mean bonus stays near 2 + 1 = 3 (the caps bind rarely)
    assert abs(bonus.mean() - 3) < 0.5


def test_the_draws_do_not_depend_on_chunking_or_engine(tmp_path):
    rows = [cliff_row(i, 45 + i % 10, i % 9, 80 + i % 40, i % 3, i % 2) for i in range(30)]
    sc, st = scenario(tmp_path, CLIFF_SYSTEM, rows,
                      dict(replications=70, years=3, check_share=0.3, inflation_mean=0.02,
                           entry_rate=0.1))
    one = simulate(sc, dataclasses.replace(st, chunk=32), engine="numpy").replications
    two = simulate(sc, dataclasses.replace(st, chunk=64), engine="numpy").replications
    pool = simulate(sc, dataclasses.replace(st, chunk=32), engine="processes",
                    workers=2).replications
    pd.testing.assert_frame_equal(one, two)
    pd.testing.assert_frame_equal(one, pool)
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                      dashboard_address=None) as cluster:
        dask = simulate(sc, dataclasses.replace(st, chunk=32), engine="dask",
                        scheduler=cluster.scheduler_address).replications
    pd.testing.assert_frame_equal(one, dask)


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.yaml")), ids=lambda p: p.stem)
def test_without_noise_year_one_is_the_one_year_run_to_the_yuan(path):
    sc = perfsim.load(path)
    if sc.portfolio.has_scores:
        pytest.skip("a portfolio of ready scores has no measurements")
    year = sc.run_year()
    st = dataclasses.replace(sc.settings, space="measurement", replications=1, years=1)
    row = simulate(sc, st, noise=False).replications.iloc[0]
    for name in MONEY:
        assert row[name] == year.metrics[name], name
    codes = sc.grading.labels.codes
    assert [row[f"count_{c}"] for c in codes] == [year.metrics[f"count_{c}"] for c in codes]


def test_auto_takes_measurement_space_where_there_are_measurements_and_targets():
    measured = perfsim.load(SCENARIOS / "national_template_example.yaml")
    scores = perfsim.load(SCENARIOS / "liupanshui_2022.yaml")
    auto = dataclasses.replace(measured.settings, space="auto")
    assert space_of(measured, auto) == "measurement"
    assert space_of(scores, dataclasses.replace(scores.settings, space="auto")) == "attainment"
    with pytest.raises(InputError, match="measurement space needs a portfolio"):
        build_inputs(scores, dataclasses.replace(scores.settings, space="measurement"))


# --- targets ---------------------------------------------------------------------------------

GRADE_TABLE = ("  rule: grade_table\n"
               "  multipliers: {excellent: 1.2, good: 1.0, fair: 0.9, poor: 0.0}\n")


def target_rows():
    return [{"project_id": "A", "department": "D1", "budget": 100.0, "Q": 80, "L": 50},
            {"project_id": "B", "department": "D2", "budget": 200.0, "Q": 80, "L": 50},
            {"project_id": "C", "department": "D2", "budget": 300.0, "Q": 90, "L": 40}]


def test_targets_set_by_ambition_score_by_hand(tmp_path):
    """Portfolio targets: A and B 60 × 0.8 + 40 × 40/50 = 80; C 60 × 0.9 + 40 = 94.
    By ambition, D1 soft (−20 %): A's targets 64 and 50 / 0.8 = 62.5, met: 100 (优, rewarded
    by 20 % of 100 yuan). D2 +25 %: B's targets 100 and 40: 80; C's 112.5 and 32: 48 + 32."""
    sc, st = scenario(tmp_path, TARGET_SYSTEM, target_rows(), linkage=GRADE_TABLE)
    own = simulate(sc, st, noise=False)
    assert own.sample["final_score"].tolist() == [80.0, 80.0, 94.0]
    ambitious = settings_with(st, {"targets.set_by": "ambition",
                                   "targets.by_department": {"D1": -0.2, "D2": 0.25}})
    res = simulate(sc, ambitious, noise=False)
    assert res.sample["final_score"].tolist() == [100.0, 80.0, 80.0]
    row = res.replications.iloc[0]
    assert row["soft_targets_rewarded"] == 1.0
    assert row["soft_targets_money"] == pytest.approx(20.0)
    # nobody soft: both metrics 0
    firm = settings_with(st, {"targets.set_by": "ambition", "targets.ambition": 0.1})
    row = simulate(sc, firm, noise=False).replications.iloc[0]
    assert (row["soft_targets_rewarded"], row["soft_targets_money"]) == (0.0, 0.0)


def test_the_over_completion_markdown_as_an_option(tmp_path):
    """Threshold 0.2, rate 1: 150 % of Q's target earns 1 − 0.3 = 70 % (42 of 60); L (lower
    is better) at half its target has met it and keeps its 40: 82."""
    rows = [{"project_id": "E", "department": "D1", "budget": 100.0, "Q": 150, "L": 20},
            {"project_id": "F", "department": "D1", "budget": 100.0, "Q": 110, "L": 40}]
    sc, st = scenario(tmp_path, TARGET_SYSTEM, rows)
    assert simulate(sc, st, noise=False).sample["final_score"].tolist() == [100.0, 100.0]
    marked = settings_with(st, {"targets.overcompletion_threshold": 0.2})
    assert simulate(sc, marked, noise=False).sample["final_score"].tolist() == [82.0, 100.0]


def test_a_re_check_can_reset_a_soft_target():
    """Expected 80, ambition −20 %: target 64. A draw 0.1 below expectation measures 70 (slope:
    the target 100): 70 ≥ 64 earns full points in the self-evaluation, and 70 / 80 = 0.875
    against the target a re-check resets to the expected performance."""
    rule = make_rule("proportional", target=100.0, points=10.0)
    space = LeafSpace(rules=(rule,), value=np.array([[80.0]]), base=np.array([[0.8]]),
                      measured=np.array([[True]]))
    latent = np.array([[[0.7]]])
    for resets, recheck in ((True, 0.875), (False, 1.0)):
        s = set_targets(space, np.array([[80.0]]), np.array([-0.2]), recheck_resets=resets)
        assert s.attain(latent)[0, 0, 0] == 1.0
        cells = (np.array([0]), np.array([0]))
        assert s.attain(latent[0], cells, recheck=True)[0, 0] == pytest.approx(recheck)
        assert s.soft.tolist() == [True]


def test_target_settings_are_checked(tmp_path):
    sc, st = scenario(tmp_path, TARGET_SYSTEM, target_rows())
    with pytest.raises(InputError, match="targets.set_by"):
        settings_with(st, {"targets.ambition": -0.1})
    with pytest.raises(InputError, match="targets.ambition"):
        settings_with(st, {"targets.set_by": "ambition", "targets.ambition": -1.0})
    with pytest.raises(InputError, match="no such department"):
        build_inputs(sc, settings_with(st, {"targets.set_by": "ambition",
                                            "targets.by_department": {"D9": 0.1}}))
    with pytest.raises(InputError, match="needs simulation.performance.space"):
        build_inputs(sc, settings_with(st, {"performance.space": "attainment",
                                            "targets.set_by": "ambition"}))


def test_ambition_is_a_registry_parameter(tmp_path):
    sc, _ = scenario(tmp_path, TARGET_SYSTEM, target_rows(), linkage=GRADE_TABLE)
    assert "simulation.targets.ambition" in parameters(sc)
    changed = apply_changes(sc, {"simulation.performance.space": "measurement",
                                 "simulation.targets.set_by": "ambition",
                                 "simulation.targets.ambition": -0.2})
    st = dataclasses.replace(changed.settings, replications=1, years=1)
    # every target 20 % below expected performance: all three meet every target
    assert simulate(changed, st, noise=False).sample["final_score"].tolist() == [100.0] * 3


def test_a_sampled_ambition_sets_targets_per_row_in_the_sensitivity_analysis(tmp_path):
    """Q and L only, no noise: at ambition a the targets are 80(1 + a) and 50 / (1 + a) for A
    and B (values 80 and 50), so Q earns 60 × min(1 / (1 + a), 1) and L 40 × min(1 / (1 + a),
    1): A and B score 100 / (1 + a) for a >= 0 and 100 below; C likewise. All three are 优
    (>= 90) exactly when a <= 1/9, so the share graded 优 is 1 below that ambition, 0 above."""
    sc, _ = scenario(tmp_path, TARGET_SYSTEM, target_rows(), linkage=GRADE_TABLE)
    st = settings_with(sc.settings.without_noise(), {"performance.space": "measurement",
                                                     "targets.set_by": "ambition"})
    model = _prepare(sc, ["simulation.targets.ambition"], ["share_excellent",
                                                           "soft_targets_rewarded"],
                     None, st, 2)
    out = _evaluate_chunk(model, np.array([[-0.2], [0.1], [0.2]]))
    assert out[:, 0].tolist() == [1.0, 1.0, 0.0]
    assert out[:, 1].tolist() == [1.0, 0.0, 0.0]      # soft targets only at −0.2: all rewarded
    flat = settings_with(sc.settings.without_noise(), {"performance.space": "measurement"})
    with pytest.raises(InputError, match="targets.set_by: ambition"):
        _evaluate_chunk(_prepare(sc, ["simulation.targets.ambition"], ["share_excellent"],
                                 None, flat, 2), np.array([[0.1]]))


def test_calibration_sets_the_ambition_by_its_path(tmp_path):
    """The calibration's evaluation at a value of simulation.targets.ambition: no noise, so
    (as above) all three projects are 优 at −0.2 and none at +0.2 (100 / 1.2 = 83.3)."""
    sc, _ = scenario(tmp_path, TARGET_SYSTEM, target_rows(), linkage=GRADE_TABLE)
    st = settings_with(sc.settings.without_noise(), {
        "performance.space": "measurement", "targets.set_by": "ambition",
        "replications": 2})
    sc = sc.replace(settings=st)
    low = evaluate_at(sc, "simulation.targets.ambition", -0.2, monte_carlo=True)
    high = evaluate_at(sc, "simulation.targets.ambition", 0.2, monte_carlo=True)
    assert low["share_excellent"][0] == 1.0 and high["share_excellent"][0] == 0.0
    assert low["soft_targets_rewarded"][0] == 1.0 and high["soft_targets_money"][0] == 0.0
