"""Leaf scoring rules and aggregation (perfsim.kernel.scoring), checked against hand arithmetic
from the rule text in domain.md §2.1 / §2.2."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perfsim.errors import InputError
from perfsim.kernel.scoring import RULES, gap_penalty, make_rule, round_half_up, total_score


def earned(kind, values, *, params=None, target=None, direction="higher", points=1.0, aux=None):
    rule = make_rule(kind, params, target=target, direction=direction, points=points)
    return rule.earned(np.asarray(values, dtype=float), aux)


# --- proportional ---------------------------------------------------------------------------

def test_proportional_higher_is_capped_at_full_points():
    # points × min(actual / target, 1): 10 × 80/100 = 8; 10 × min(120/100, 1) = 10;
    # a negative measurement earns nothing; 0 → 0
    got = earned("proportional", [80, 120, 100, -5, 0], target=100, points=10)
    np.testing.assert_allclose(got, [8.0, 10.0, 10.0, 0.0, 0.0])


def test_proportional_lower_is_better():
    # cost target 500 yuan: 625 → 500/625 = 0.8 → 4 of 5; at or under the target → full
    got = earned("proportional", [625, 500, 400, 1000], target=500, direction="lower", points=5)
    np.testing.assert_allclose(got, [4.0, 5.0, 5.0, 2.5])


def test_proportional_equal_direction():
    # 1 − |actual − target| / |target|, floored at 0: 90 → 0.9, 110 → 0.9, 250 → 0, 100 → 1
    got = earned("proportional", [90, 110, 250, 100], target=100, direction="equal", points=10)
    np.testing.assert_allclose(got, [9.0, 9.0, 0.0, 10.0])


def test_proportional_rejects_zero_target_unless_lower():
    with pytest.raises(InputError, match="target"):
        make_rule("proportional", target=0)
    with pytest.raises(InputError, match="target"):
        make_rule("proportional")  # needs a target at all
    # lower-is-better with target 0: zero earns full points, anything above earns 0/v = 0
    np.testing.assert_allclose(earned("proportional", [0, 3], target=0, direction="lower"),
                               [1.0, 0.0])


# --- threshold ------------------------------------------------------------------------------

def test_threshold_at_least():
    # "≥ 50 items" met → full points (5), else 0; the bound itself meets the target
    got = earned("threshold", [50, 49.99, 80], target=50, params={"op": ">="}, points=5)
    np.testing.assert_allclose(got, [5.0, 0.0, 5.0])


def test_threshold_at_most():
    # "≤ 900,000 yuan": 900,000 met, 900,001 not
    got = earned("threshold", [900_000, 900_001, 10], target=900_000, params={"op": "<="},
                 points=4)
    np.testing.assert_allclose(got, [4.0, 0.0, 4.0])


def test_threshold_equal_with_and_without_tolerance():
    # "= 100%": only 100 meets; with tolerance 0.5, |v − 100| ≤ 0.5 meets
    np.testing.assert_allclose(
        earned("threshold", [100, 99.9, 100.1], target=100, params={"op": "=="}, points=5),
        [5.0, 0.0, 0.0])
    np.testing.assert_allclose(
        earned("threshold", [99.6, 100.5, 99.4, 100.6], target=100,
               params={"op": "==", "tolerance": 0.5}, points=5),
        [5.0, 5.0, 0.0, 0.0])


def test_threshold_operator_follows_direction_by_default():
    # direction lower → "≤", equal → "=="
    assert make_rule("threshold", target=1, direction="lower").op == "<="
    assert make_rule("threshold", target=1, direction="equal").op == "=="
    assert make_rule("threshold", target=1).op == ">="
    with pytest.raises(InputError, match="op"):
        make_rule("threshold", {"op": ">"}, target=1)


# --- linear ---------------------------------------------------------------------------------

def test_linear_between_floor_and_target():
    # floor 60 → 0, target 100 → full, linear between: 80 → (80 − 60) / 40 = 0.5 → 3.75 of 7.5
    got = earned("linear", [60, 80, 100, 110, 50, 90], target=100, params={"floor": 60},
                 points=7.5)
    np.testing.assert_allclose(got, [0.0, 3.75, 7.5, 7.5, 0.0, 5.625])


def test_linear_lower_is_better():
    # carry-over rate: ≤ 5% full, ≥ 20% zero: 12.5 → (12.5 − 20) / (5 − 20) = 0.5 → 1.5 of 3
    got = earned("linear", [5, 12.5, 20, 3, 25], target=5, params={"floor": 20}, points=3)
    np.testing.assert_allclose(got, [3.0, 1.5, 0.0, 3.0, 0.0])


def test_linear_needs_a_floor_different_from_the_target():
    with pytest.raises(InputError, match="floor"):
        make_rule("linear", target=100)
    with pytest.raises(InputError, match="floor"):
        make_rule("linear", {"floor": 100}, target=100)


# --- deduct ---------------------------------------------------------------------------------

def test_deduct_one_point_per_five_days_late_floor():
    # −1 per complete 5 days, 3 points: 12 days → 2 steps → 1 point; 4 → 0 steps → 3;
    # 5 → 1 → 2; 15 → 3 → 0; 100 days → 20 steps, floored at 0
    got = earned("deduct", [12, 4, 5, 15, 100, 0], params={"per": 1, "step": 5}, points=3)
    np.testing.assert_allclose(got, [1.0, 3.0, 2.0, 0.0, 0.0, 3.0])


def test_deduct_started_periods_count_a_started_step():
    # "每逾期5天扣1分" read as started periods: 12 days → 3 → 0 of 3; 10 → 2 → 1; 4 → 1 → 2;
    # 1 → 1 → 2; 0 → 0 → 3 (complete periods: 4 days late costs nothing, see above)
    got = earned("deduct", [12, 10, 4, 1, 0],
                 params={"per": 1, "step": 5, "periods": "started"}, points=3)
    np.testing.assert_allclose(got, [0.0, 1.0, 2.0, 2.0, 3.0])
    assert earned("deduct", [4], params={"per": 1, "step": 5, "periods": "complete"},
                  points=3)[0] == 3.0


def test_deduct_pro_rata_periods():
    # pro rata: 12 days / 5 = 2.4 points off → 0.6 of 3; 2.5 days → 0.5 off → 2.5
    got = earned("deduct", [12, 2.5, 20], params={"per": 1, "step": 5, "periods": "pro_rata"},
                 points=3)
    np.testing.assert_allclose(got, [0.6, 2.5, 0.0])


def test_deduct_rounding_is_renamed_periods():
    with pytest.raises(InputError, match="renamed: use periods") as info:
        make_rule("deduct", {"per": 1, "step": 5, "rounding": "floor"}, points=3)
    assert info.value.field == "rounding"


def test_deduct_half_point_per_error():
    # −0.5 per blank or error, 5 points: 3 errors → 3.5; 10 → 0; 11 → −0.5 floored at 0
    got = earned("deduct", [3, 10, 11, 0], params={"per": 0.5}, points=5)
    np.testing.assert_allclose(got, [3.5, 0.0, 0.0, 5.0])


def test_deduct_two_points_per_instance():
    # −2 per instance, 5 points: 1 → 3; 2 → 1; 3 → −1 floored at 0
    got = earned("deduct", [1, 2, 3], params={"per": 2}, points=5)
    np.testing.assert_allclose(got, [3.0, 1.0, 0.0])


def test_deduct_allowance():
    # the first 2 units are free: 5 errors → 3 counted → 10 − 3 = 7; 1 error → 10
    got = earned("deduct", [5, 1], params={"per": 1, "allowance": 2}, points=10)
    np.testing.assert_allclose(got, [7.0, 10.0])


@pytest.mark.parametrize("params, field", [
    ({"per": -1}, "per"),
    ({"per": 0}, "per"),
    ({}, "per"),
    ({"per": 1, "step": 0}, "step"),
    ({"per": 1, "periods": "nearest"}, "periods"),
    ({"per": 1, "allowance": -1}, "allowance"),
    ({"per": 1, "colour": "red"}, "colour"),
    ({"per": "one"}, "per"),
])
def test_deduct_rejects_bad_parameters(params, field):
    with pytest.raises(InputError) as info:
        make_rule("deduct", params, points=3)
    assert info.value.field == field


# --- share, all or nothing, graded ----------------------------------------------------------

def test_share_deducts_in_proportion_to_overdue_items():
    # 2 points, 25% of items overdue → 2 × 0.75 = 1.5; all overdue → 0; none → 2
    got = earned("share", [0.25, 1.0, 0.0, 1.2], points=2)
    np.testing.assert_allclose(got, [1.5, 0.0, 2.0, 0.0])


def test_all_or_nothing_five_or_zero():
    # "rules adopted: 5 or 0"
    got = earned("all_or_nothing", [1, 0, 0.99, 2], params={"min": 1}, points=5)
    np.testing.assert_allclose(got, [5.0, 0.0, 0.0, 5.0])
    # a different minimum: at least 3 sessions held
    np.testing.assert_allclose(earned("all_or_nothing", [2, 3], params={"min": 3}), [0.0, 1.0])


def test_graded_default_levels():
    # achieved / mostly / partly / not → 1.0 / 0.8 / 0.6 / 0 of 10 points
    got = earned("graded", [0, 1, 2, 3], points=10)
    np.testing.assert_allclose(got, [10.0, 8.0, 6.0, 0.0])
    rule = make_rule("graded")
    assert rule.labels == ("achieved", "mostly", "partly", "not")


def test_graded_configurable_coefficients():
    levels = {"好": 1.0, "中": 0.5, "差": 0.1}
    # level 1 (中) → 0.5 × 20 = 10; level 2 (差) → 0.1 × 20 = 2
    got = earned("graded", [0, 1, 2], params={"levels": levels}, points=20)
    np.testing.assert_allclose(got, [20.0, 10.0, 2.0])
    assert make_rule("graded", {"levels": levels}).labels == ("好", "中", "差")


def test_graded_out_of_range_level_earns_nothing():
    got = earned("graded", [4, -1, 1.5], points=10)
    np.testing.assert_allclose(got, [0.0, 0.0, 0.0])


@pytest.mark.parametrize("levels", [
    {"a": 0.5, "b": 0.8},          # coefficients increase down the list
    {"a": 1.2, "b": 0.0},          # above 1
    {"a": 1.0},                    # a single level
    {"a": 1.0, "b": -0.1},         # negative
    [1.0, 0.5],                    # not a mapping
])
def test_graded_rejects_bad_levels(levels):
    with pytest.raises(InputError, match="levels"):
        make_rule("graded", {"levels": levels})


# --- proportional to another score; result grade to points; execution rate ------------------

def test_ratio_self_evaluation_90_earns_9_of_10():
    # "self-evaluation score 90 → 9 points" [S5]: 10 × 90/100; 7 × 78/100 = 5.46; capped at full
    np.testing.assert_allclose(earned("ratio", [90], points=10), [9.0])
    np.testing.assert_allclose(earned("ratio", [78, 110, -3], points=7), [5.46, 7.0, 0.0])
    # another scale: a score out of 5, 4 → 4/5 of 10 points
    np.testing.assert_allclose(earned("ratio", [4], params={"scale": 5}, points=10), [8.0])
    with pytest.raises(InputError, match="scale"):
        make_rule("ratio", {"scale": 0})


def test_grade_points_excellent_full_good_pass_proportional_fail_zero():
    # 优 (≥ 90) full 5; 良/合格 (60–90) 5 × score / 100; 不合格 (< 60) 0
    got = earned("grade_points", [95, 90, 89.99, 85, 60, 59.99, 0], points=5)
    np.testing.assert_allclose(got, [5.0, 5.0, 4.4995, 4.25, 3.0, 0.0, 0.0])


def test_grade_points_custom_cutoffs_and_modes():
    # cutoffs 85 / 70 with modes full / proportional / zero, 10 points:
    # 85 → 10; 84 → 8.4; 70 → 7; 69.9 → 0
    params = {"cutoffs": [85, 70], "modes": ["full", "proportional", "zero"]}
    got = earned("grade_points", [85, 84, 70, 69.9], params=params, points=10)
    np.testing.assert_allclose(got, [10.0, 8.4, 7.0, 0.0])


@pytest.mark.parametrize("params, field", [
    ({"cutoffs": [80, 90, 60]}, "cutoffs"),
    ({"cutoffs": [90, 80]}, "modes"),
    ({"modes": ["full", "half", "proportional", "zero"]}, "modes"),
    ({"scale": -1}, "scale"),
])
def test_grade_points_rejects_bad_parameters(params, field):
    with pytest.raises(InputError) as info:
        make_rule("grade_points", params)
    assert info.value.field == field


def test_execution_rate():
    # executed / budget × points, capped: 85% → 8.5 of 10; 120% → 10
    got = earned("execution_rate", [85, 120, 0], target=100, points=10)
    np.testing.assert_allclose(got, [8.5, 10.0, 0.0])
    # below the floor of 60%: nothing; at the floor: 60/100 × 10 = 6
    got = earned("execution_rate", [59, 60], target=100, params={"floor": 60}, points=10)
    np.testing.assert_allclose(got, [0.0, 6.0])
    with pytest.raises(InputError, match="target"):
        make_rule("execution_rate", target=0)


# --- bonus and re-check ---------------------------------------------------------------------

def test_bonus_per_item_capped_at_leaf_points():
    # Wenzhou: +2 per extra project evaluation, at most 10: 3 → 6; 7 → 14 capped at 10;
    # a negative count earns nothing
    np.testing.assert_allclose(earned("bonus", [3, 7, 0, -1], params={"per": 2}, points=10),
                               [6.0, 10.0, 0.0, 0.0])
    # +5 per special-fund evaluation: 1 → 5, 3 → 15 capped at 10
    np.testing.assert_allclose(earned("bonus", [1, 3], params={"per": 5}, points=10),
                               [5.0, 10.0])
    assert make_rule("bonus", {"per": 2}).is_bonus
    assert not make_rule("deduct", {"per": 2}).is_bonus
    with pytest.raises(InputError, match="per"):
        make_rule("bonus", {"per": 0})


def test_recheck_wenzhou_gap_rule():
    # 7 × re-check / 100, and if |self − re-check| > 10: −1 per complete 5 points of the gap
    # self 90, re-check 78: gap 12 → 2 steps → 7 × 0.78 − 2 = 3.46
    # self 90, re-check 80: gap 10 is not more than 10 → 7 × 0.80 = 5.6
    # self 78, re-check 90: gap 12 either way → 7 × 0.90 − 2 = 4.3
    # self 85, re-check 70: gap 15 → 3 steps → 4.9 − 3 = 1.9
    # self 100, re-check 20: gap 80 → 16 steps → 1.4 − 16, floored at 0
    # self 90.5, re-check 80: gap 10.5 > 10 → 2 complete steps → 5.6 − 2 = 3.6
    rule = make_rule("recheck", {"gap": 10, "per": 1, "step": 5}, points=7)
    recheck = np.array([78, 80, 90, 70, 20, 80])
    self_score = np.array([90, 90, 78, 85, 100, 90.5])
    got = rule.earned(recheck, {"self": self_score})
    np.testing.assert_allclose(got, [3.46, 5.6, 4.3, 1.9, 0.0, 3.6])


def test_recheck_without_self_score_has_no_penalty():
    rule = make_rule("recheck", points=7)
    np.testing.assert_allclose(rule.earned(np.array([78.0])), [5.46])


def test_gap_penalty_function():
    # 12 → 2, 10 → 0 (not more than 10), 10.01 → 2, 24.9 → 4, 25 → 5
    got = gap_penalty(np.array([78, 80, 79.99, 65.1, 65]), np.array([90, 90, 90, 90, 90]))
    np.testing.assert_allclose(got, [2.0, 0.0, 2.0, 4.0, 5.0])


def test_recheck_gap_mode_whole_or_excess():
    # "差距大于10分以上的，每差五分扣1分", self 95 vs re-check 78, a gap of 17:
    # whole: 3 complete steps of 5 in 17 → −3: 7 × 0.78 − 3 = 2.46
    # excess: 1 complete step of 5 in the 7 beyond 10 → −1: 5.46 − 1 = 4.46
    whole = make_rule("recheck", {"gap": 10, "per": 1, "step": 5}, points=7)
    excess = make_rule("recheck", {"gap": 10, "per": 1, "step": 5, "gap_mode": "excess"},
                       points=7)
    aux = {"self": np.array([95.0, 82.0, 90.0])}
    # self 82 vs 70, a gap of 12: whole −2 (4.9 − 2 = 2.9), excess 0 (4.9)
    # self 90 vs 80, a gap of 10 (not more than 10): no deduction either way (5.6)
    recheck = np.array([78.0, 70.0, 80.0])
    np.testing.assert_allclose(whole.earned(recheck, aux), [2.46, 2.9, 5.6])
    np.testing.assert_allclose(excess.earned(recheck, aux), [4.46, 4.9, 5.6])
    np.testing.assert_allclose(gap_penalty(np.array([78.0]), np.array([95.0]), mode="excess"),
                               [1.0])
    with pytest.raises(InputError, match="gap_mode"):
        make_rule("recheck", {"gap_mode": "half"}, points=7)


# --- assessed (酌情) items --------------------------------------------------------------------

def test_an_assessor_scoring_9_of_10_scores_9():
    rule = make_rule("assessed", points=10)
    np.testing.assert_allclose(rule.earned(np.array([9.0, 10.0, 0.0, 7.25])),
                               [9.0, 10.0, 0.0, 7.25])
    assert rule.check(np.array([9.0, 0.0, 10.0])) is None


def test_assessed_points_outside_zero_to_max_are_refused():
    rule = make_rule("assessed", points=10)
    bad, problem = rule.check(np.array([9.0, 10.5, -1.0]))
    assert bad.tolist() == [False, True, True] and "[0, 10]" in problem


def test_assessed_bands_of_the_template():
    # three bands of 10 points: 100–80% → [8, 10], 80–60% → [6, 8], 60–0% → [0, 6]
    rule = make_rule("assessed", {"bands": {"全部或基本达成": [0.8, 1.0],
                                            "部分达成": [0.6, 0.8], "未达成": [0.0, 0.6]}},
                     points=10)
    assert rule.aux_labels == {"band": ("全部或基本达成", "部分达成", "未达成")}
    points = np.array([9.0, 8.0, 8.0, 7.0, 6.5, 3.0])
    band = np.array([0, 0, 1, 1, 0, np.nan])  # the last gives no band: only [0, 10] applies
    bad, problem = rule.check(points, {"band": band})
    assert bad.tolist() == [False, False, False, False, True, False]  # 6.5 is not in [8, 10]
    assert "全部或基本达成" in problem and "[8, 10]" in problem
    np.testing.assert_allclose(rule.earned(points), points)  # the points are what is earned


@pytest.mark.parametrize("bands", [{"a": [0.8]}, {"a": [0.9, 0.8]}, {"a": [0, 1.2]}, [1, 2]])
def test_assessed_bands_must_be_low_high_shares(bands):
    with pytest.raises(InputError, match="bands"):
        make_rule("assessed", {"bands": bands}, points=10)


# --- the template rule and over-completion ----------------------------------------------------

def test_overcompletion_marks_down_deviation_beyond_the_threshold():
    # threshold 0.2, rate 1, floor 0.5, 10 points, target 100:
    # 80 → 8 (the template rule); 100 → 10; 120 → 10 (deviation 0.2 is not beyond);
    # 150 → deviation 0.5, 0.3 beyond → 7; 200 → 0.8 beyond → 0.2, floored at 0.5 → 5
    rule = make_rule("proportional", {"overcompletion": {"threshold": 0.2, "rate": 1.0,
                                                         "floor": 0.5}},
                     target=100, points=10)
    np.testing.assert_allclose(rule.earned(np.array([80.0, 100, 120, 150, 200])),
                               [8.0, 10.0, 10.0, 7.0, 5.0])
    plain = make_rule("proportional", target=100, points=10)
    np.testing.assert_allclose(plain.earned(np.array([150.0, 200])), [10.0, 10.0])


def test_overcompletion_never_marks_down_a_lower_is_better_leaf():
    # cost target 500: 400 and 300 (under) have met it → 5 of 5; 625 (over budget) → the
    # template rule 500/625 → 4; a leaf's own over-completion setting on it is refused
    rule = make_rule("proportional", target=500, direction="lower", points=5)
    assert rule.with_overcompletion({"threshold": 0.2, "rate": 2}) is rule
    np.testing.assert_allclose(rule.earned(np.array([400.0, 300, 625])), [5.0, 5.0, 4.0])
    with pytest.raises(InputError) as info:
        make_rule("proportional", {"overcompletion": {"threshold": 0.2, "rate": 2}},
                  target=500, direction="lower", points=5)
    assert info.value.field == "overcompletion"


@pytest.mark.parametrize("over, field", [
    ({"rate": 1}, "overcompletion"),
    ({"threshold": -0.1}, "overcompletion.threshold"),
    ({"threshold": None}, "overcompletion.threshold"),
    ({"threshold": 0.2, "floor": 2}, "overcompletion.floor"),
    ({"threshold": 0.2, "slope": 1}, "overcompletion.slope"),
])
def test_overcompletion_parameters_are_checked(over, field):
    with pytest.raises(InputError) as info:
        make_rule("proportional", {"overcompletion": over}, target=100, points=10)
    assert info.value.field == field


# --- rounding as published --------------------------------------------------------------------

def test_round_half_up_as_printed_tables_do():
    # 四舍五入 to two decimals, whatever the binary sum: ten printed leaf scores adding up to
    # 80.00 sum to 79.99999999999999 in binary
    total = sum([6.6, 8.2, 5.61, 4.77, 8.04, 8.63, 5.44, 8.95, 5.27, 18.49])
    assert total < 80.0 and round_half_up(total, 2) == 80.0
    assert round_half_up(89.995, 2) == 90.0 and round_half_up(59.995, 2) == 60.0
    assert round_half_up(89.994, 2) == 89.99 and round_half_up(89.99, 2) == 89.99
    assert round_half_up(0.125, 2) == 0.13 and round_half_up(2.5, 0) == 3.0  # halves go up
    assert round_half_up(-1.005, 2) == -1.01  # away from zero
    np.testing.assert_array_equal(round_half_up(np.array([79.999999999, 80.004]), 2),
                                  [80.0, 80.0])
    assert round_half_up(1.23456, None) == 1.23456


def test_unknown_kind_and_unknown_parameter_are_input_errors():
    with pytest.raises(InputError) as info:
        make_rule("magic")
    assert info.value.field == "rule.kind" and info.value.value == "magic"
    with pytest.raises(InputError) as info:
        make_rule("share", {"per": 1})
    assert info.value.field == "per" and "unknown parameter" in str(info.value)
    with pytest.raises(InputError, match="direction"):
        make_rule("proportional", target=1, direction="sideways")


# --- vectorised shapes ----------------------------------------------------------------------

CASES = {
    "proportional": ({}, 100.0, lambda r: r.uniform(0, 150, (3, 4))),
    "threshold": ({"op": ">="}, 50.0, lambda r: r.integers(40, 60, (3, 4)).astype(float)),
    "linear": ({"floor": 60}, 100.0, lambda r: r.uniform(40, 110, (3, 4))),
    "deduct": ({"per": 1, "step": 5}, None, lambda r: r.integers(0, 30, (3, 4)).astype(float)),
    "share": ({}, None, lambda r: r.uniform(0, 1, (3, 4))),
    "all_or_nothing": ({}, None, lambda r: r.integers(0, 2, (3, 4)).astype(float)),
    "graded": ({}, None, lambda r: r.integers(0, 4, (3, 4)).astype(float)),
    "ratio": ({}, None, lambda r: r.uniform(0, 100, (3, 4))),
    "grade_points": ({}, None, lambda r: r.uniform(40, 100, (3, 4))),
    "execution_rate": ({"floor": 50}, 100.0, lambda r: r.uniform(0, 120, (3, 4))),
    "bonus": ({"per": 2}, None, lambda r: r.integers(0, 8, (3, 4)).astype(float)),
    "recheck": ({}, None, lambda r: r.uniform(50, 100, (3, 4))),
    "assessed": ({}, None, lambda r: r.uniform(0, 5, (3, 4))),
}


def test_every_rule_kind_has_a_vectorised_case():
    assert set(CASES) == set(RULES)


@pytest.mark.parametrize("kind", sorted(CASES))
def test_rules_keep_the_shape_and_match_elementwise(kind):
    params, target, draw = CASES[kind]
    rng = np.random.default_rng(42)
    values = draw(rng)  # (replications, projects)
    aux = {"self": rng.uniform(50, 100, values.shape)} if kind == "recheck" else None
    rule = make_rule(kind, params, target=target, points=5)
    out = rule.attainment(values, aux)
    assert out.shape == values.shape == (3, 4)
    assert np.all((out >= 0) & (out <= 1))
    for i in range(3):
        for j in range(4):
            one_aux = None if aux is None else {"self": aux["self"][i, j:j + 1]}
            assert rule.attainment(values[i, j:j + 1], one_aux)[0] == out[i, j]
    np.testing.assert_allclose(rule.earned(values, aux), out * 5)


def _expected_back(kind: str, a: np.ndarray) -> tuple[np.ndarray, float]:
    """What scoring invert(a) should give back, from each rule's text, and a tolerance."""
    if kind in ("proportional", "linear", "share", "ratio", "recheck", "assessed"):
        return a, 1e-9  # continuous rules express every attainment
    if kind == "execution_rate":  # zero below the floor of 50 (= attainment 0.5 at target 100)
        return np.where(a * 100 >= 50, a, 0.0), 1e-9
    if kind in ("threshold", "all_or_nothing"):  # met or not
        return (a >= 0.5).astype(float), 0.0
    if kind == "grade_points":  # ≥ 90 full, 60–90 proportional, < 60 zero
        return np.where(a >= 0.9, 1.0, np.where(a >= 0.6, a, 0.0)), 1e-9
    if kind == "graded":  # the nearest of 1, 0.8, 0.6, 0: never more than 0.3 away
        return a, 0.3
    # deduct (1 point per step) and bonus (2 points per item) of 5 points: whole steps only,
    # so at most one step (1/5 resp. 2/5 of the points) below the asked attainment
    return a, 0.2 if kind == "deduct" else 0.4


@pytest.mark.parametrize("kind", sorted(CASES))
def test_invert_earns_about_the_asked_attainment(kind):
    """The generator writes invert(a) as a measurement; scoring it must give back about a."""
    params, target, _ = CASES[kind]
    rule = make_rule(kind, params, target=target, points=5)
    a = np.linspace(0.05, 1.0, 20)
    back = rule.attainment(rule.invert(a))
    expected, tol = _expected_back(kind, a)
    assert back.shape == a.shape
    np.testing.assert_allclose(back, expected, atol=tol)
    if kind in ("deduct", "bonus"):
        assert np.all(back <= a + 1e-9)  # whole steps round against the project


@given(st.lists(st.floats(0, 200, allow_nan=False), min_size=1, max_size=20),
       st.floats(0.1, 5), st.floats(0.5, 10),
       st.sampled_from(["complete", "started", "pro_rata"]))
def test_deduct_is_within_bounds_and_monotone(values, per, step, periods):
    rule = make_rule("deduct", {"per": per, "step": step, "periods": periods}, points=5)
    v = np.sort(np.asarray(values))
    a = rule.attainment(v)
    assert np.all((a >= 0) & (a <= 1))
    assert np.all(np.diff(a) <= 1e-12)  # more errors never earn more


# --- aggregation ----------------------------------------------------------------------------

def test_aggregation_methods_on_a_hand_example():
    # leaves: points 6, 4 (group 0) and 10 (group 1); attainment 1, 0.5, 0.5
    # weighted sum: 6 + 2 + 5 = 13
    # group shares: g0 (6 + 2) / 10 = 0.8, g1 5 / 10 = 0.5; weights 10/20 each
    # geometric: 20 × 0.8^0.5 × 0.5^0.5 = 20 × √0.4 = 12.6491…
    # weakest link: 20 × min(0.8, 0.5) = 10
    a = np.array([1.0, 0.5, 0.5])
    pts = np.array([6.0, 4.0, 10.0])
    groups = np.array([0, 0, 1])
    assert total_score(a, pts) == pytest.approx(13.0)
    assert total_score(a, pts, groups=groups, method="geometric") == pytest.approx(
        20 * np.sqrt(0.4))
    assert total_score(a, pts, groups=groups, method="weakest_link") == pytest.approx(10.0)


def test_aggregation_is_vectorised_and_a_zero_group_zeroes_geometric():
    pts = np.array([6.0, 4.0, 10.0])
    groups = np.array([0, 0, 1])
    a = np.array([[[1, 1, 1], [1, 0.5, 0.5]], [[0, 0, 1], [1, 1, 0]]], dtype=float)
    ws = total_score(a, pts)
    assert ws.shape == (2, 2)
    np.testing.assert_allclose(ws, [[20, 13], [10, 10]])
    geo = total_score(a, pts, groups=groups, method="geometric")
    np.testing.assert_allclose(geo, [[20, 20 * np.sqrt(0.4)], [0, 0]])
    weak = total_score(a, pts, groups=groups, method="weakest_link")
    np.testing.assert_allclose(weak, [[20, 10], [0, 0]])


def test_aggregation_errors():
    with pytest.raises(InputError, match="aggregation"):
        total_score(np.ones(2), np.ones(2), groups=np.array([0, 1]), method="median")
    with pytest.raises(InputError, match="groups"):
        total_score(np.ones(2), np.ones(2), method="geometric")


@given(coefs=st.lists(st.sampled_from([0.0, 0.2, 0.25, 0.5, 0.6, 0.8, 0.9, 1.0]),
                      min_size=2, max_size=6),
       values=st.lists(st.floats(-0.5, 1.5, allow_nan=False), min_size=1, max_size=30))
@settings(max_examples=200, deadline=None)
def test_graded_invert_is_the_nearest_level_better_level_on_a_tie(coefs, values):
    # levels with non-increasing coefficients (duplicates allowed); the reference is the
    # distance to every level, the first (better) level winning a tie
    coef = sorted(coefs, reverse=True)
    rule = make_rule("graded", {"levels": {f"L{k}": c for k, c in enumerate(coef)}},
                     points=10.0)
    a = np.array(values + [(coef[0] + coef[-1]) / 2, coef[-1], coef[0]])
    ref = np.abs(a[:, None] - np.array(coef)).argmin(axis=1)
    assert rule.invert(a).tolist() == ref.astype(float).tolist()
    assert rule.nearest(a).tolist() == np.array(coef)[ref].tolist()   # what that level scores
