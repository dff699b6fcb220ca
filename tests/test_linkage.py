"""Budget linkage (domain.md §4): the Liupanshui table, score curves, floors and caps, the savings
pool, preconditions, and the ledger that perfsim.engine.run_year builds from them."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from conftest import DATA
from hypothesis import given
from hypothesis import strategies as st

from perfsim.errors import InputError
from perfsim.kernel.grading import Grading, label_set
from perfsim.kernel.linkage import (
    STATUSES,
    GradeTable,
    Linkage,
    LinkageResult,
    ScoreCurve,
    linkage_from_dict,
    liupanshui,
)
from perfsim.kernel.year import evaluate_year
from perfsim.model.portfolio import load_portfolio
from perfsim.model.scenario import Scenario, load_scenario
from perfsim.run.year import run_year

GRADES = np.array([0, 1, 2, 3])  # 优 良 中 差


def statuses(result) -> list[str]:
    return [STATUSES[s] for s in result.status]


# --- the Liupanshui rule --------------------------------------------------------------------

def test_liupanshui_table():
    # 优/良 kept; 中 cut by 15%: 300 × 0.85 = 255; 差 cancelled
    res = liupanshui(0.15).apply(np.array([100.0, 200, 300, 400]), np.zeros(4), GRADES)
    np.testing.assert_allclose(res.multiplier, [1, 1, 0.85, 0])
    np.testing.assert_allclose(res.next_budget, [100, 200, 255, 0])
    np.testing.assert_allclose(res.cut, [0, 0, 45, 0])
    np.testing.assert_allclose(res.cancelled, [0, 0, 0, 400])
    np.testing.assert_allclose(res.kept, [100, 200, 255, 0])
    assert statuses(res) == ["kept", "kept", "cut", "cancelled"]


@pytest.mark.parametrize("ratio", [0.10, 0.15, 0.20])
def test_liupanshui_ratio_within_10_to_20_percent(ratio):
    res = liupanshui(ratio).apply(np.array([1000.0]), np.zeros(1), np.array([2]))
    assert res.next_budget[0] == pytest.approx(1000 * (1 - ratio))


@pytest.mark.parametrize("ratio", [0.25, 0.09, 0.3, -0.15, True, "0.15"])
def test_liupanshui_ratio_outside_the_range_is_rejected(ratio):
    with pytest.raises(InputError) as info:
        liupanshui(ratio)
    assert info.value.field == "ratio"
    with pytest.raises(InputError) as info:
        linkage_from_dict({"rule": "liupanshui", "ratio": ratio})
    assert info.value.field == "ratio"
    assert "10%" in str(info.value) and "20%" in str(info.value)


def test_liupanshui_2022_cut_by_hand():
    # 中 projects hold 853,333,333.33 yuan; 15% of that is 127,999,999.9995 ≈ 128 million
    budget = np.array([500_000_000.0, 353_333_333.33, 2_000_000_000.0, 10_000_000.0])
    grade = np.array([2, 2, 0, 1])
    res = liupanshui(0.15).apply(budget, np.zeros(4), grade)
    assert res.cut.sum() == pytest.approx(127_999_999.9995, abs=1e-3)
    assert abs(res.cut.sum() - 128_000_000) < 0.01
    assert res.cancelled.sum() == 0 and res.reward.sum() == 0


# --- curves, floors, caps -------------------------------------------------------------------

def test_score_curve():
    # through (0, 0), (60, 0.8), (80, 1.0), (100, 1.1), flat beyond:
    # 50 → 50/60 × 0.8 = 0.6667; 70 → 0.9; 90 → 1.05; 100 → 1.1; 110 → 1.1
    link = linkage_from_dict({"rule": "score_curve",
                              "points": [[0, 0], [60, 0.8], [80, 1.0], [100, 1.1]]})
    score = np.array([50, 70, 90, 100, 110, 0])
    res = link.apply(np.full(6, 1000.0), score, Grading().grade(score))
    np.testing.assert_allclose(res.multiplier, [0.8 * 50 / 60, 0.9, 1.05, 1.1, 1.1, 0])
    np.testing.assert_allclose(res.next_budget, [1000 * 0.8 * 50 / 60, 900, 1050, 1100, 1100, 0])
    assert statuses(res) == ["cut", "cut", "rewarded", "rewarded", "rewarded", "cancelled"]
    np.testing.assert_allclose(res.rewarded, [0, 0, 50, 100, 100, 0])
    assert link.monotone


def test_floor_and_cap_leave_cancellations_alone():
    # table 1.2 / 1.0 / 0.6 / 0 with floor 0.8 and cap 1.1 → 1.1 / 1.0 / 0.8 / 0
    link = linkage_from_dict({"rule": "grade_table", "floor": 0.8, "cap": 1.1,
                              "multipliers": {"excellent": 1.2, "good": 1.0, "fair": 0.6,
                                              "poor": 0}})
    res = link.apply(np.full(4, 100.0), np.zeros(4), GRADES)
    np.testing.assert_allclose(res.multiplier, [1.1, 1.0, 0.8, 0.0])


def test_grade_table_accepts_chinese_labels_and_other_label_sets():
    labels = label_set("pass_fail")
    link = linkage_from_dict({"rule": "grade_table",
                              "multipliers": {"优": 1.1, "良": 1, "合格": 0.9, "不合格": 0}},
                             labels)
    assert link.rule.multipliers == (1.1, 1.0, 0.9, 0.0)


def test_liupanshui_takes_any_four_grade_label_set_by_position():
    # 优 良 合格 不合格: 优 and 良 kept, 合格 cut by the ratio, 不合格 cancelled
    link = linkage_from_dict({"rule": "liupanshui", "ratio": 0.2}, label_set("pass_fail"))
    res = link.apply(np.full(4, 100.0), np.zeros(4), GRADES)
    np.testing.assert_allclose(res.next_budget, [100, 100, 80, 0])
    two = label_set([{"code": "advanced", "zh": "先进单位"}, {"code": "other", "zh": "其他"}])
    with pytest.raises(InputError, match="four grades") as info:
        linkage_from_dict({"rule": "liupanshui"}, two)
    assert info.value.where == "linkage"


def test_a_custom_label_set_with_a_treasury_pool_needs_no_recipients():
    # labels [advanced, other]: the default recipient `excellent` no longer exists, and a
    # treasury pool redistributes nothing, so nothing needs checking
    two = label_set([{"code": "advanced", "zh": "先进单位"}, {"code": "other", "zh": "其他"}])
    for rule in ({"rule": "grade_table", "multipliers": {"advanced": 1.0, "other": 0.9}},
                 {"rule": "score_curve", "points": [[0, 0.8], [100, 1.0]]}):
        link = linkage_from_dict({**rule, "pool": "treasury"}, two)
        res = link.apply(np.array([100.0, 100.0]), np.array([95.0, 50.0]), np.array([0, 1]))
        assert res.reward.sum() == 0
    # redistributed, the pool goes by default to the best grade of the set (advanced)
    link = linkage_from_dict({"rule": "grade_table", "pool": "redistribute",
                              "multipliers": {"advanced": 1.0, "other": 0.9}}, two)
    res = link.apply(np.array([100.0, 300.0]), np.zeros(2), np.array([0, 1]))
    np.testing.assert_allclose(res.next_budget, [130, 270])  # 10% of 300 to the advanced unit
    # named recipients are checked when the pool is redistributed
    with pytest.raises(InputError) as info:
        linkage_from_dict({"rule": "grade_table", "pool": "redistribute",
                           "recipients": ["excellent"],
                           "multipliers": {"advanced": 1.0, "other": 0.9}}, two)
    assert info.value.field == "recipients" and "advanced" in str(info.value)


# --- the savings pool -----------------------------------------------------------------------

def test_redistribution_to_excellent_in_proportion_to_budget():
    # grades 优 优 良 中 差, budgets 100 300 200 400 100; Liupanshui 15%:
    # pool = 400 × 0.15 + 100 = 160, shared by the 优 projects ∝ budget 100 : 300 → 40 and 120
    link = liupanshui(0.15, pool="redistribute")
    budget = np.array([100.0, 300, 200, 400, 100])
    res = link.apply(budget, np.zeros(5), np.array([0, 0, 1, 2, 3]))
    np.testing.assert_allclose(res.reward, [40, 120, 0, 0, 0])
    np.testing.assert_allclose(res.next_budget, [140, 420, 200, 340, 0])
    assert res.next_budget.sum() == pytest.approx(budget.sum())  # 1,100 before and after
    assert statuses(res) == ["rewarded", "rewarded", "kept", "cut", "cancelled"]


def test_redistribution_to_several_grades():
    # recipients 优 and 良 share the 差 project's 100 ∝ 100 : 300 → 25 and 75
    link = liupanshui(0.15, pool="redistribute", recipients=("excellent", "good"))
    res = link.apply(np.array([100.0, 300, 100]), np.zeros(3), np.array([0, 1, 3]))
    np.testing.assert_allclose(res.reward, [25, 75, 0])


def test_no_recipient_sends_the_pool_to_the_treasury():
    link = liupanshui(0.15, pool="redistribute")
    res = link.apply(np.array([100.0, 200]), np.zeros(2), np.array([1, 2]))
    np.testing.assert_allclose(res.reward, [0, 0])
    np.testing.assert_allclose(res.next_budget, [100, 170])


def test_treasury_pool_keeps_the_savings():
    res = liupanshui(0.2).apply(np.array([100.0, 200, 50]), np.zeros(3), np.array([0, 2, 3]))
    # savings 200 × 0.2 + 50 = 90 leave the portfolio
    assert res.budget.sum() - res.next_budget.sum() == pytest.approx(90)
    assert res.reward.sum() == 0


def test_redistribution_keeps_the_total_to_the_yuan_at_scale():
    rng = np.random.default_rng(5)
    budget = rng.lognormal(15, 1.2, 3468)
    grade = rng.integers(0, 4, 3468)
    grade[0] = 0
    res = liupanshui(0.15, pool="redistribute").apply(budget, np.zeros(3468), grade)
    assert abs(res.next_budget.sum() - budget.sum()) < 0.5


def test_a_rule_that_gives_more_than_it_takes_is_not_redistributed():
    link = linkage_from_dict({"rule": "grade_table", "pool": "redistribute",
                              "multipliers": {"excellent": 1.5, "good": 1, "fair": 1,
                                              "poor": 1}})
    res = link.apply(np.array([100.0, 100]), np.zeros(2), np.array([0, 1]))
    np.testing.assert_allclose(res.reward, [0, 0])
    np.testing.assert_allclose(res.next_budget, [150, 100])


# --- preconditions --------------------------------------------------------------------------

def test_preconditions_cancel_whatever_the_grade():
    link = liupanshui(0.15, pool="redistribute",
                      preconditions=("has_targets", "self_evaluated"))
    budget = np.array([100.0, 100, 100, 100])
    flags = {"has_targets": np.array([True, False, True, True]),
             "self_evaluated": np.array([True, True, False, True])}
    res = link.apply(budget, np.zeros(4), np.array([0, 0, 0, 1]), flags)
    # #1 has no targets, #2 did not self-evaluate: both 0 although rated 优;
    # their 200 go to the only eligible 优 project #0
    np.testing.assert_allclose(res.multiplier, [1, 0, 0, 1])
    np.testing.assert_allclose(res.reward, [200, 0, 0, 0])
    assert res.precondition_failed.tolist() == [False, True, True, False]
    with pytest.raises(InputError, match="has_targets"):
        link.apply(budget, np.zeros(4), np.array([0, 0, 0, 1]),
                   {"self_evaluated": flags["self_evaluated"]})


# --- construction errors --------------------------------------------------------------------

@pytest.mark.parametrize("spec, field", [
    ({"rule": "bonus_malus"}, "rule"),
    ({"rule": "liupanshui", "multipliers": {}}, "multipliers"),
    ({"rule": "liupanshui", "pool": "lottery"}, "pool"),
    ({"rule": "liupanshui", "floor": 0.9, "cap": 0.8}, "floor"),
    ({"rule": "liupanshui", "floor": -0.1}, "floor"),
    ({"rule": "liupanshui", "pool": "redistribute", "recipients": ["stellar"]}, "recipients"),
    ({"rule": "grade_table", "multipliers": {"excellent": 1, "good": 1, "fair": 1}},
     "multipliers.poor"),
    ({"rule": "grade_table", "multipliers": {"excellent": 1, "good": 1, "fair": 1, "poor": 0,
                                             "awful": 0}}, "multipliers"),
    ({"rule": "score_curve", "points": [[0, 0], [0, 1]]}, "points"),
    ({"rule": "score_curve", "points": [[0, 0]]}, "points"),
])
def test_linkage_spec_errors(spec, field):
    with pytest.raises(InputError) as info:
        linkage_from_dict(spec)
    assert info.value.field == field
    assert info.value.where == "linkage"


def test_linkage_copies_with_one_field_changed():
    base = liupanshui(0.15)
    other = dataclasses.replace(base, pool="redistribute")
    assert other.pool == "redistribute" and base.pool == "treasury"
    assert other.rule == base.rule


# --- properties -----------------------------------------------------------------------------

budgets_st = st.lists(st.floats(0, 1e9, allow_nan=False), min_size=1, max_size=30)


@st.composite
def portfolios(draw):
    budget = np.array(draw(budgets_st))
    n = budget.size
    score = np.array(draw(st.lists(st.floats(0, 100), min_size=n, max_size=n)))
    flags = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    return budget, score, flags


@st.composite
def linkages(draw):
    if draw(st.booleans()):
        rule = GradeTable(tuple(draw(st.lists(st.floats(0, 2), min_size=4, max_size=4))))
    else:
        xs = sorted(set(draw(st.lists(st.floats(0, 100), min_size=2, max_size=5))))
        if len(xs) < 2:
            xs = [0.0, 100.0]
        ys = draw(st.lists(st.floats(0, 2), min_size=len(xs), max_size=len(xs)))
        rule = ScoreCurve(tuple(xs), tuple(ys))
    floor = draw(st.none() | st.floats(0, 1))
    cap = draw(st.none() | st.floats(1, 2))
    return Linkage(rule, floor=floor, cap=cap,
                   pool=draw(st.sampled_from(["treasury", "redistribute"])),
                   preconditions=("has_targets",))


def allocate(score, budget, grading, link, flags=None):
    """The year kernel: grades and the linkage result, shaped like ``score``."""
    o = evaluate_year(np.atleast_2d(score), budget, grading, link, flags=flags)
    if np.ndim(score) == 2:
        return o.grade, o.link
    fields = ("multiplier", "next_budget", "reward", "precondition_failed", "budget")
    return o.grade[0], LinkageResult(**{f: getattr(o.link, f)[0] for f in fields})


@given(portfolios(), linkages())
def test_allocations_are_never_negative(pf, link):
    budget, score, flags = pf
    grade, res = allocate(score, budget, Grading(), link, {"has_targets": flags})
    for arr in (res.multiplier, res.next_budget, res.reward, res.kept, res.cut,
                res.cancelled, res.rewarded):
        assert np.all(arr >= 0)
    # the accounting identities behind the ledger
    np.testing.assert_allclose(res.kept + res.cut + res.cancelled, budget, rtol=1e-12)
    np.testing.assert_allclose(res.kept + res.rewarded, res.next_budget, rtol=1e-12)


@given(portfolios(), st.floats(0.10, 0.20))
def test_zero_sum_redistribution_keeps_the_total(pf, ratio):
    budget, score, flags = pf
    link = liupanshui(ratio, pool="redistribute", preconditions=("has_targets",))
    grade, res = allocate(score, budget, Grading(), link, {"has_targets": flags})
    recipients = (grade == 0) & flags & (budget > 0)
    if recipients.any():
        assert res.next_budget.sum() == pytest.approx(budget.sum(), rel=1e-12, abs=1e-3)
    else:  # the pool goes to the treasury
        assert res.reward.sum() == 0


@given(st.lists(st.floats(0, 110), min_size=2, max_size=40), linkages())
def test_a_higher_score_never_gets_a_lower_multiplier_under_a_monotone_rule(scores, link):
    s = np.array(scores)
    if isinstance(link.rule, GradeTable):  # make the table monotone: best grade highest
        link = dataclasses.replace(link, rule=GradeTable(
            tuple(sorted(link.rule.multipliers, reverse=True))))
    else:
        link = dataclasses.replace(link, rule=ScoreCurve(
            link.rule.scores, tuple(sorted(link.rule.multipliers))))
    assert link.monotone
    m = link.multiplier(s, Grading().grade(s))
    order = np.argsort(s, kind="stable")
    assert np.all(np.diff(m[order]) >= -1e-12)


def test_vectorised_over_replications():
    rng = np.random.default_rng(9)
    score = rng.uniform(40, 100, (6, 25))
    budget = rng.uniform(1, 100, 25)
    link = liupanshui(0.15, pool="redistribute", floor=0.9)
    grade, res = allocate(score, budget, Grading(quotas={"excellent": 0.2}), link)
    assert res.next_budget.shape == (6, 25)
    for r in range(6):
        g1, one = allocate(score[r], budget, Grading(quotas={"excellent": 0.2}), link)
        np.testing.assert_array_equal(grade[r], g1)
        np.testing.assert_array_equal(res.next_budget[r], one.next_budget)


# --- the ledger from run_year ---------------------------------------------------------------

def _tiny_scenario(**linkage_changes) -> Scenario:
    portfolio = load_portfolio(DATA / "tiny_scores.csv")
    return Scenario(name="tiny", portfolio=portfolio, linkage=liupanshui(0.15, **linkage_changes))


def test_run_year_ledger_by_department_and_grade():
    # P1 D1 1000 95 优 kept | P2 D1 2000 70 中 cut 300 | P3 D2 4000 50 差 cancelled
    # P4 D2 3000 85 良 kept | P5 D1 500 65 中 cut 75
    result = run_year(_tiny_scenario())
    alloc = result.allocations.set_index("project_id")
    assert alloc["grade_zh"].tolist() == ["优", "中", "差", "良", "中"]
    np.testing.assert_allclose(alloc["next_budget"], [1000, 1700, 0, 3000, 425])
    assert alloc["status"].tolist() == ["kept", "cut", "cancelled", "kept", "cut"]
    ledger = result.ledger.set_index(["department", "grade"])
    expected = pd.DataFrame(
        [("D1", "excellent", 1, 1000, 1000, 0, 0, 0, 1000, 0),
         ("D1", "fair", 2, 2500, 2125, 375, 0, 0, 2125, -375),
         ("D2", "good", 1, 3000, 3000, 0, 0, 0, 3000, 0),
         ("D2", "poor", 1, 4000, 0, 0, 4000, 0, 0, -4000)],
        columns=["department", "grade", "projects", "budget", "kept", "cut", "cancelled",
                 "rewarded", "next_budget", "net"]).set_index(["department", "grade"])
    assert list(ledger.index) == list(expected.index)
    for col in expected.columns:
        np.testing.assert_allclose(ledger[col].to_numpy(dtype=float),
                                   expected[col].to_numpy(dtype=float), err_msg=col)
    totals = result.summary["totals_yuan"]
    assert totals["cut"] == pytest.approx(375) and totals["cancelled"] == pytest.approx(4000)
    assert totals["savings"] == pytest.approx(4375)
    by_grade = result.by_grade.set_index("grade")
    assert by_grade["projects"].tolist() == [1, 1, 2, 1]
    assert by_grade["grade_zh"].tolist() == ["优", "良", "中", "差"]


def test_run_year_ledger_with_redistribution():
    # the 4,375 saved all go to the only 优 project, P1 (D1): rewarded 4,375, net +4,375
    result = run_year(_tiny_scenario(pool="redistribute"))
    ledger = result.ledger.set_index(["department", "grade"])
    assert ledger.loc[("D1", "excellent"), "rewarded"] == pytest.approx(4375)
    assert ledger.loc[("D1", "excellent"), "net"] == pytest.approx(4375)
    assert ledger["net"].sum() == pytest.approx(0)
    assert result.summary["totals_yuan"]["savings"] == pytest.approx(0)


def test_run_year_every_grade_listed_even_when_empty():
    sc = _tiny_scenario()
    sc = sc.replace(grading=Grading(cutoffs=(99, 98, 97)))  # everyone 差
    by_grade = run_year(sc).by_grade
    assert by_grade["grade"].tolist() == ["excellent", "good", "fair", "poor"]
    assert by_grade["projects"].tolist() == [0, 0, 0, 5]


def test_run_year_preconditions_from_portfolio_flags(tiny, data_dir, tmp_path):
    # tiny_measured: P3 has no targets → cancelled whatever its grade; P2 not self-evaluated
    scenario_file = tmp_path / "s.yaml"
    scenario_file.write_text(
        f"indicator_system: {data_dir / 'tiny_system.yaml'}\n"
        f"portfolio: {{file: {data_dir / 'tiny_measured.csv'}}}\n"
        "linkage: {rule: liupanshui, ratio: 0.15, preconditions: [has_targets]}\n",
        encoding="utf-8")
    result = run_year(load_scenario(scenario_file))
    alloc = result.allocations.set_index("project_id")
    # scores by hand (see test_portfolio): 100 优, 79.6 中, 43 差
    np.testing.assert_allclose(alloc["score"], [100, 79.6, 43])
    assert alloc["precondition_failed"].tolist() == [False, False, True]
    # P2 did not self-evaluate: not graded, so its 中 moves none of its money (no
    # precondition on self_evaluated here); P3 fails has_targets: no budget
    assert alloc["evaluated"].tolist() == [True, False, True]
    np.testing.assert_allclose(alloc["next_budget"], [1_000_000, 2_000_000, 0])
    assert result.summary["precondition_failures"] == 1
