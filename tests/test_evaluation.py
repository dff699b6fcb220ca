"""The evaluation process as pure functions (domain.md §5–§6): self-evaluation with inflation,
spot-check selection, the Wenzhou re-check gap rule and dual monitoring with recovery of idle
funds. Every expected value is computed by hand in the comments."""

from __future__ import annotations

import numpy as np
import pytest

from perfsim.errors import InputError
from perfsim.kernel.evaluation import (
    Measure,
    Process,
    YearDraws,
    evaluate_process,
    monitor,
    prepare_leaves,
    recheck_scores,
    select_for_check,
    weighted_score,
)
from perfsim.kernel.scoring import gap_penalty

# --- scores and self-evaluation -------------------------------------------------------------


def test_weighted_score_with_base_points():
    # 2 replications × 2 projects × 3 leaves, points 50 / 30 / 20
    a = np.array([[[1.0, 1.0, 1.0], [0.5, 0.0, 1.0]],
                  [[0.0, 0.0, 0.0], [0.2, 0.5, 0.25]]])
    # 50+30+20 = 100; 25+0+20 = 45; 0; 10+15+5 = 30
    np.testing.assert_allclose(weighted_score(a, np.array([50.0, 30, 20])),
                               [[100, 45], [0, 30]])


def test_weighted_score_with_points_per_replication():
    a = np.array([[[1.0, 0.5], [0.0, 1.0]],
                  [[1.0, 0.5], [0.0, 1.0]]])
    w = np.array([[60.0, 40.0],    # replication 0: 60 + 20 = 80; 0 + 40 = 40
                  [20.0, 80.0]])   # replication 1: 20 + 40 = 60; 0 + 80 = 80
    np.testing.assert_allclose(weighted_score(a, w), [[80, 40], [60, 80]])


def one_year(mean, inflation, z_self, measure, noise=0.02):
    R, S, I = z_self.shape  # noqa: E741
    draws = YearDraws(z_leaf=np.zeros((R, S, I)), z_self=z_self, z_re=None,
                      key=np.zeros((R, S)), z_exec=np.zeros((R, S, 1)), z_theta=np.zeros((R, S)))
    process = Process(noise=noise)
    draws = prepare_leaves(draws, mean, process, measure.span)
    return evaluate_process(None, inflation, measure, draws, process, np.ones(S),
                            np.ones((R, S), dtype=bool), measure.points, measure.points)


def test_self_evaluation_adds_inflation_and_noise_and_clips():
    mean = np.array([[0.5, 0.95], [0.2, 0.1]])      # 2 projects, 2 leaves of 50 points
    inflation = np.array([[0.1, -0.05]])            # per project, attainment units
    z = np.array([[[1.0, 0.0], [0.0, -3.0]]])
    out = one_year(mean, inflation, z, Measure(np.array([50.0, 50.0]), np.ones(2)))
    # leaves 0.5 + 0.1 + 0.02 = 0.62 and min(0.95 + 0.1, 1) = 1 → 31 + 50 = 81;
    # 0.2 − 0.05 = 0.15 and max(0.1 − 0.05 − 0.06, 0) = 0 → 7.5 + 0 = 7.5
    np.testing.assert_allclose(out.self, [[81.0, 7.5]])
    # honest: 0.52 and 0.95 → 73.5; 0.2 and 0.04 → 12
    np.testing.assert_allclose(out.honest_self, [[73.5, 12.0]])
    np.testing.assert_allclose(out.true, [[72.5, 15.0]])


def test_a_ready_score_carries_noise_in_points_of_the_total():
    # one "leaf" per project, the score itself (span 100): 0.02 of noise is 2 points
    out = one_year(np.array([[80.0], [99.0]]), np.array([[0.05, 0.0]]),
                   np.array([[[1.0], [1.0]]]), Measure(np.ones(1), np.array([100.0])))
    np.testing.assert_allclose(out.self, [[87.0, 100.0]])  # 80 + 5 + 2; 99 + 2 clipped


def test_without_inflation_or_noise_the_self_score_is_the_observation():
    mean = np.random.default_rng(0).random((5, 4))
    out = one_year(mean, np.zeros((1, 5)), np.ones((1, 5, 4)),
                   Measure(np.array([40.0, 30, 20, 10]), np.ones(4)), noise=0.0)
    np.testing.assert_array_equal(out.final, mean[None] @ np.array([40.0, 30, 20, 10]))
    assert out.honest is None


# --- the Wenzhou re-check gap rule (domain.md §2.2) -----------------------------------------


@pytest.mark.parametrize(("self_score", "recheck", "lost"), [
    (90, 78, 2.0),     # differ by 12 > 10: two complete steps of 5 → −2
    (90, 80, 0.0),     # differ by exactly 10: not "more than 10" → 0
    (80, 90, 0.0),     # the same the other way round
    (90, 79.5, 2.0),   # 10.5 > 10: floor(10.5 / 5) = 2 → −2
    (95, 80, 3.0),     # 15: floor(15 / 5) = 3 → −3
    (94.9, 80, 2.0),   # 14.9: floor(2.98) = 2 → −2
    (100, 80, 4.0),    # 20 → −4
    (78, 90, 2.0),     # re-check above the self-score by 12: |−12| → −2
    (90, 90, 0.0),
])
def test_wenzhou_gap_penalty(self_score, recheck, lost):
    assert gap_penalty(np.array([recheck]), np.array([self_score]))[0] == pytest.approx(lost)


def test_gap_penalty_with_other_parameters():
    # gap 5, 0.5 points per 2 points: a difference of 12 → 0.5 × floor(12 / 2) = 3;
    # a difference of 5 is not above the gap → 0; 7 → 0.5 × 3 = 1.5
    out = gap_penalty(np.array([78.0, 85.0, 83.0]), np.array([90.0, 90.0, 90.0]),
                      gap=5, per=0.5, step=2)
    np.testing.assert_allclose(out, [3.0, 0.0, 1.5])


def test_recheck_replaces_and_gap_rule_deducts():
    self_s = np.array([[90.0, 90.0, 90.0]])
    re_s = np.array([[78.0, 80.0, 78.0]])
    checked = np.array([[True, True, False]])
    out = recheck_scores(self_s, re_s, checked, replace=True, gap_rule=True)
    # checked, gap 12: re-check 78 − 2 = 76; checked, gap exactly 10: 80 − 0 = 80;
    # not checked: the self-score 90 stands
    np.testing.assert_allclose(out, [[76.0, 80.0, 90.0]])


def test_gap_rule_without_replacing_deducts_from_the_self_score():
    out = recheck_scores(np.array([[90.0, 90.0]]), np.array([[78.0, 80.0]]),
                         np.array([[True, True]]), replace=False, gap_rule=True)
    np.testing.assert_allclose(out, [[88.0, 90.0]])   # 90 − 2; 90 − 0


def test_recheck_without_gap_rule_only_replaces():
    out = recheck_scores(np.array([[90.0, 70.0]]), np.array([[78.0, 75.0]]),
                         np.array([[True, False]]))
    np.testing.assert_allclose(out, [[78.0, 70.0]])
    kept = recheck_scores(np.array([[90.0]]), np.array([[78.0]]), np.array([[True]]),
                          replace=False)
    np.testing.assert_allclose(kept, [[90.0]])


def test_inflation_penalty_only_when_self_score_exceeds_recheck_by_more_than_gap():
    self_s = np.array([[90.0, 90.0, 78.0, 90.0]])
    re_s = np.array([[78.0, 80.0, 90.0, 78.0]])
    checked = np.array([[True, True, True, False]])
    out = recheck_scores(self_s, re_s, checked, inflation_penalty=5.0)
    # 90 over 78 by 12 > 10 → 78 − 5 = 73; over by exactly 10 → 80; under-reported by 12
    # (self below re-check) → no inflation penalty → 90; unchecked → 90
    np.testing.assert_allclose(out, [[73.0, 80.0, 90.0, 90.0]])
    both = recheck_scores(self_s, re_s, checked, gap_rule=True, inflation_penalty=5.0)
    # with the gap rule as well: 78 − 2 − 5 = 71; 80; 90 − 2 = 88; unchecked 90
    np.testing.assert_allclose(both, [[71.0, 80.0, 88.0, 90.0]])


def test_recheck_score_is_floored_at_zero():
    out = recheck_scores(np.array([[12.0]]), np.array([[0.0]]), np.array([[True]]),
                         gap_rule=True, inflation_penalty=5.0)
    # 0 − 2 − 5 = −7 → 0
    assert out[0, 0] == 0.0


# --- selection of projects for spot checks --------------------------------------------------


def _select(share, selection, active, key=None, budget=None, score=None):
    active = np.asarray(active, dtype=bool)
    shape = active.shape
    key = np.zeros(shape) if key is None else np.asarray(key, dtype=float)
    budget = np.zeros(shape) if budget is None else np.asarray(budget, dtype=float)
    score = np.zeros(shape) if score is None else np.asarray(score, dtype=float)
    return select_for_check(share, selection, active, key, budget, score)


def test_no_checks_and_full_checks():
    active = [[True, False, True]]
    assert not _select(0.0, "random", active).any()
    np.testing.assert_array_equal(_select(1.0, "random", active), [[True, False, True]])


def test_largest_budget_selection():
    # round(0.5 × 4) = 2 checks: the budgets 40 and 30
    out = _select(0.5, "largest_budget", [[True] * 4], budget=[[10, 40, 20, 30]])
    np.testing.assert_array_equal(out, [[False, True, False, True]])


def test_budget_ties_go_to_the_project_listed_first():
    # round(0.5 × 4) = 2 checks among budgets 10, 20, 20, 20: the first two 20s
    out = _select(0.5, "largest_budget", [[True] * 4], budget=[[10, 20, 20, 20]])
    np.testing.assert_array_equal(out, [[False, True, True, False]])


def test_highest_score_selection_and_ties():
    # round(0.6 × 5) = 3 checks: 95, then the tied 90s (both), ahead of 85 and 60
    out = _select(0.6, "highest_score", [[True] * 5], score=[[90, 60, 95, 90, 85]])
    np.testing.assert_array_equal(out, [[True, False, True, True, False]])
    # round(0.4 × 5) = 2: 95 and the first-listed 90
    out = _select(0.4, "highest_score", [[True] * 5], score=[[90, 60, 95, 90, 85]])
    np.testing.assert_array_equal(out, [[True, False, True, False, False]])


def test_random_selection_takes_the_largest_keys():
    out = _select(0.5, "random", [[True] * 4], key=[[0.1, 0.9, 0.5, 0.7]])
    np.testing.assert_array_equal(out, [[False, True, False, True]])


def test_inactive_projects_are_never_checked_nor_counted():
    # 3 active projects: round(1/3 × 3) = 1 check; the inactive project with the largest
    # budget (99) is skipped
    out = _select(1 / 3, "largest_budget", [[True, True, False, True]],
                  budget=[[10, 40, 99, 30]])
    np.testing.assert_array_equal(out, [[False, True, False, False]])


def test_number_of_checks_per_replication():
    rng = np.random.default_rng(5)
    active = np.ones((3, 10), dtype=bool)
    active[1, :4] = False      # 6 active
    active[2, :] = False       # none active
    for selection in ("random", "largest_budget", "highest_score"):
        out = select_for_check(0.3, selection, active, rng.random((3, 10)),
                               rng.random((3, 10)), rng.random((3, 10)))
        # round(0.3 × 10) = 3; round(0.3 × 6) = round(1.8) = 2; none
        np.testing.assert_array_equal(out.sum(axis=1), [3, 2, 0])
        assert not (out & ~active).any()


# --- dual monitoring: recovery of idle funds (domain.md §5) ---------------------------------

CHECKPOINTS = ((0.5, 0.3), (0.75, 0.5))   # January–June at least 30%, January–September 50%


def _monitor(budget, pace, z=None, checkpoints=CHECKPOINTS, sd=0.0, share=1.0):
    budget = np.asarray(budget, dtype=float)
    pace = np.asarray(pace, dtype=float)
    if z is None:
        z = np.zeros((*budget.shape, len(checkpoints)))
    return monitor(budget, pace, np.asarray(z, dtype=float), checkpoints, sd, share)


def test_monitoring_recovery_arithmetic():
    out = _monitor([[1000.0, 1000.0, 1000.0, 2000.0]], [[0.5, 0.8, 0.64, 1.0]])
    # pace 0.5: June rate 0.5 × 0.5 = 0.25 < 0.3 → recover 1000 × (0.5 − 0.25) = 250
    # pace 0.8: June 0.4 ≥ 0.3, September 0.6 ≥ 0.5 → nothing
    # pace 0.64: June 0.32 ≥ 0.3, September 0.48 < 0.5 → 1000 × (0.75 − 0.48) = 270
    # pace 1.0: on schedule → nothing
    np.testing.assert_allclose(out, [[250.0, 0.0, 270.0, 0.0]])


def test_recovery_share_scales_the_recovered_funds():
    out = _monitor([[1000.0, 1000.0]], [[0.5, 0.64]], share=0.5)
    np.testing.assert_allclose(out, [[125.0, 135.0]])    # half of 250 and of 270


def test_recovery_happens_once_at_the_first_failed_checkpoint():
    # pace 0.5 also fails in September (0.375 < 0.5, idle 0.375 → 375) but funds are
    # recovered once, at June: 250
    out = _monitor([[1000.0]], [[0.5]])
    assert out[0, 0] == pytest.approx(250.0)


def test_execution_noise_and_clipping():
    # pace 0.8, sd 0.1: z = −2 in June → rate 0.4 − 0.2 = 0.2 < 0.3 → 1000 × 0.3 = 300;
    # z = −10 → rate clipped to 0 → 1000 × 0.5 = 500; z = +2 → 0.6 → nothing in June, and
    # September with z = 0: 0.6 ≥ 0.5 → nothing
    z = [[[-2.0, 0.0], [-10.0, 0.0], [2.0, 0.0]]]
    out = _monitor([[1000.0, 1000.0, 1000.0]], [[0.8, 0.8, 0.8]], z=z, sd=0.1)
    np.testing.assert_allclose(out, [[300.0, 500.0, 0.0]])


def test_no_recovery_when_no_minimum_is_missed():
    out = _monitor([[1000.0, 5000.0]], [[0.0, 0.3]], checkpoints=((0.5, 0.0),))
    # a minimum of 0 cannot be missed (rates are clipped at 0)
    np.testing.assert_array_equal(out, [[0.0, 0.0]])


@pytest.mark.parametrize(("mode", "lost"), [("whole", 3.0), ("excess", 1.0)])
def test_the_monte_carlo_gap_rule_takes_both_readings(mode, lost):
    # self 90, re-check 73: a 17-point gap, more than 10: steps of 5 in the whole gap (3) or in
    # the 7 points beyond it (1); the re-check replaces the self-score first
    out = recheck_scores(np.array([90.0]), np.array([73.0]), np.array([True]), gap_rule=True,
                         gap_mode=mode)
    assert out.tolist() == [73.0 - lost]


def test_the_simulation_setting_names_the_reading():
    from perfsim.model.settings import settings_from_dict

    s = settings_from_dict({"spot_check": {"gap_rule": True, "gap_mode": "excess"}})
    assert s.gap_mode == "excess"
    with pytest.raises(InputError, match="spot_check.gap_mode"):
        settings_from_dict({"spot_check": {"gap_mode": "half"}})


def test_checks_near_the_cut_lines_take_the_scores_just_over_a_line_closest_first():
    # self-scores: 80.5, 81.9, 90.2 and 60.1 lie within 2 points above a line (0.5, 1.9, 0.2,
    # 0.1 over it); 79, 95 and 50 do not. Three checks: 60.1, 90.2 and 80.5.
    score = np.array([[80.5, 81.9, 79.0, 90.2, 95.0, 60.1, 50.0]])
    active = np.ones_like(score, dtype=bool)
    key = np.linspace(0.1, 0.7, 7)[None]  # the random order, used only beyond the band
    picked = select_for_check(3 / 7, "near_cutoffs", active, key, np.ones(7), score,
                              cutoffs=(90, 80, 60), band=2.0)
    assert picked[0].tolist() == [True, False, False, True, False, True, False]
    # more checks than projects near a line: the rest at random (largest random key first)
    picked = select_for_check(6 / 7, "near_cutoffs", active, key, np.ones(7), score,
                              cutoffs=(90, 80, 60), band=2.0)
    assert picked[0].tolist() == [True, True, False, True, True, True, True]
    # a narrower band: only 90.2 and 60.1 are near; the third check is the random one
    picked = select_for_check(3 / 7, "near_cutoffs", active, key, np.ones(7), score,
                              cutoffs=(90, 80, 60), band=0.3)
    assert picked[0].tolist() == [False, False, False, True, False, True, True]


def test_a_bonus_for_not_being_checked_goes_to_the_unchecked_only():
    # Fujian: 2 points because no spot check was done. The checked project is graded on its
    # re-check (75), the unchecked one on its self-score plus the bonus (70 + 2).
    out = recheck_scores(np.array([[80.0, 70.0]]), np.array([[75.0, 60.0]]),
                         np.array([[True, False]]), unchecked_bonus=2.0)
    assert out.tolist() == [[75.0, 72.0]]


def test_a_mix_of_selections_takes_each_share_among_the_projects_left():
    # near the lines takes half of 4 checks (60.1 and 90.2, the closest), then the largest
    # budgets among the rest (budgets 7 and 5)
    score = np.array([[80.5, 81.9, 79.0, 90.2, 95.0, 60.1, 50.0]])
    active = np.ones_like(score, dtype=bool)
    budget = np.arange(1.0, 8.0)
    picked = select_for_check(4 / 7, "mix", active, np.zeros((1, 7)), budget, score,
                              cutoffs=(90, 80, 60), band=2.0,
                              mix=(("near_cutoffs", 0.5), ("largest_budget", 0.5)))
    assert np.nonzero(picked[0])[0].tolist() == [3, 4, 5, 6]


def test_risk_weighted_checks_pick_in_proportion_to_the_weights():
    # one check among three projects weighted 1, 2 and 5: picked with probability w / 8
    rng = np.random.default_rng(5)
    rows = 40_000
    active = np.ones((rows, 3), dtype=bool)
    picked = select_for_check(1 / 3, "risk", active, rng.random((rows, 3)), np.ones(3),
                              np.zeros((rows, 3)), risk=np.array([[1.0, 2.0, 5.0]]))
    assert picked.sum(axis=1).tolist() == [1] * rows
    assert picked.mean(axis=0) == pytest.approx([1 / 8, 2 / 8, 5 / 8], abs=0.01)
    # weight 1 everywhere is the random selection itself
    keys = rng.random((5, 3))
    same = select_for_check(1 / 3, "risk", active[:5], keys, np.ones(3), np.zeros((5, 3)),
                            risk=np.ones((1, 3)))
    assert (same == select_for_check(1 / 3, "random", active[:5], keys, np.ones(3),
                                     np.zeros((5, 3)))).all()
