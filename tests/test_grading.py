"""Grades: left-closed national cutoffs, label sets, quotas with deterministic tie-breaking, pure
rank grading, and vectorisation over replications (domain.md §3)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from perfsim.errors import InputError
from perfsim.kernel.grading import (
    LABEL_SETS,
    NATIONAL,
    Grading,
    grading_from_dict,
    label_set,
)

EXCELLENT, GOOD, FAIR, POOR = 0, 1, 2, 3


def test_national_cutoffs_are_left_closed():
    scores = np.array([100, 90, 89.999, 80, 79.99, 60, 59.99, 0])
    g = Grading().grade(scores)
    assert g.tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    assert Grading().zh_of(g).tolist() == ["优", "优", "良", "良", "中", "中", "差", "差"]
    assert Grading().codes_of(g).tolist() == [
        "excellent", "excellent", "good", "good", "fair", "fair", "poor", "poor"]


def test_label_sets_carry_english_codes_and_chinese_labels():
    assert NATIONAL.codes == ("excellent", "good", "fair", "poor")
    assert NATIONAL.zh == ("优", "良", "中", "差")
    assert LABEL_SETS["pass_fail"].zh == ("优", "良", "合格", "不合格")
    assert LABEL_SETS["pass_fail"].codes == ("excellent", "good", "pass", "fail")
    assert LABEL_SETS["basic_pass"].zh == ("优秀", "合格", "基本合格", "不合格")
    assert LABEL_SETS["basic_pass"].codes == ("excellent", "pass", "basic_pass", "fail")
    assert LABEL_SETS["basic_pass"].index("基本合格") == 2
    assert LABEL_SETS["basic_pass"].index("basic_pass") == 2
    with pytest.raises(InputError, match="grade"):
        NATIONAL.index("合格")


def test_other_label_sets_grade_with_the_same_bands():
    g = Grading(labels=label_set("pass_fail"))
    grades = g.grade(np.array([95, 85, 65, 59]))
    assert g.zh_of(grades).tolist() == ["优", "良", "合格", "不合格"]
    assert g.codes_of(grades).tolist() == ["excellent", "good", "pass", "fail"]
    g = grading_from_dict({"labels": "basic_pass"})
    assert g.zh_of(g.grade(np.array([90, 80, 60, 10]))).tolist() == [
        "优秀", "合格", "基本合格", "不合格"]


def test_custom_label_set():
    labels = label_set([{"code": "a", "zh": "甲"}, {"code": "b", "zh": "乙"},
                        {"code": "c"}])
    assert labels.codes == ("a", "b", "c") and labels.zh == ("甲", "乙", "c")
    g = Grading(labels=labels, cutoffs=(75, 50))
    assert g.grade(np.array([75, 74.9, 50, 49.9])).tolist() == [0, 1, 1, 2]
    with pytest.raises(InputError, match="duplicate"):
        label_set([{"code": "a"}, {"code": "a"}])
    with pytest.raises(InputError, match="labels"):
        label_set("fancy")


# --- quotas ---------------------------------------------------------------------------------

# cutoff grades:   优   优   优   良   优   中   中   差      良   中
SCORES = np.array([90, 95, 90, 85, 90, 70, 60, 59.99, 80, 79.99])


def test_quota_at_most_20_percent_excellent_ties_by_portfolio_order():
    # 10 projects, at most floor(0.2 × 10) = 2 优. Ranked: 95 (#1), then three tied at 90
    # (#0, #2, #4). #1 and the first-listed tied project #0 keep 优; #2 and #4 drop to 良.
    g = Grading(quotas={"excellent": 0.2}).grade(SCORES)
    assert g.tolist() == [0, 0, 1, 1, 1, 2, 2, 3, 1, 2]


def test_quota_tie_winner_follows_the_listing_order():
    # put #4 first: now it is the first listed of the tied 90s and keeps 优 instead of #0
    order = [4, 0, 1, 2, 3, 5, 6, 7, 8, 9]
    g = Grading(quotas={"excellent": 0.2}).grade(SCORES[order])
    assert g.tolist() == [0, 1, 0, 1, 1, 2, 2, 3, 1, 2]


def test_quotas_cascade_down():
    # 优 capped at 2 as above; 良 then holds #2, #4 (90, demoted), #3 (85), #8 (80) in rank
    # order and is capped at floor(0.2 × 10) = 2: #2 and #4 stay 良, #3 and #8 drop to 中
    g = Grading(quotas={"excellent": 0.2, "good": 0.2}).grade(SCORES)
    assert g.tolist() == [0, 0, 1, 2, 1, 2, 2, 3, 2, 2]


def test_quota_keys_may_be_chinese_labels():
    # "优" names the same grade as "excellent" (LabelSet.index accepts both)
    english = Grading(quotas={"excellent": 0.2}).grade(SCORES)
    chinese = Grading(quotas={"优": 0.2}).grade(SCORES)
    assert chinese.tolist() == english.tolist()
    assert np.count_nonzero(chinese == EXCELLENT) == 2


def test_quota_share_is_floored_without_float_surprises():
    # 0.29 × 100 is 28.999999999999996 in floating point; the quota is floor(29) = 29
    g = Grading(quotas={"excellent": 0.29}).grade(np.full(100, 95.0))
    assert np.count_nonzero(g == EXCELLENT) == 29
    # a share smaller than one project: nobody is 优
    g = Grading(quotas={"excellent": 0.05}).grade(np.full(10, 95.0))
    assert np.count_nonzero(g == EXCELLENT) == 0


def test_pure_rank_grading_with_quotas():
    # forced distribution: top 20% 优, next 30% 良, next 30% 中, the rest 差 (10 projects:
    # 2 / 3 / 3 / 2). Ranked with ties by listing order:
    # 90 (#5), 80 (#1), 80 (#2), 80 (#4), 60 (#9), 50 (#0), 40 (#8), 30 (#7), 20 (#3), 10 (#6)
    scores = np.array([50, 80, 80, 20, 80, 90, 10, 30, 40, 60])
    g = Grading(cutoffs=None, quotas={"excellent": 0.2, "good": 0.3, "fair": 0.3})
    expected = {5: 0, 1: 0, 2: 1, 4: 1, 9: 1, 0: 2, 8: 2, 7: 2, 3: 3, 6: 3}
    assert g.grade(scores).tolist() == [expected[i] for i in range(10)]


def test_pure_rank_grading_uncapped_grade_takes_the_rest():
    # only 优 capped: the top 2 are 优 and all others 良, however low their scores
    g = Grading(cutoffs=None, quotas={"excellent": 0.2})
    assert g.grade(np.array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])).tolist() == [1] * 8 + [0, 0]


def test_grading_validation():
    with pytest.raises(InputError, match="cutoffs"):
        Grading(cutoffs=(90, 80))
    with pytest.raises(InputError, match="cutoffs"):
        Grading(cutoffs=(80, 90, 60))
    with pytest.raises(InputError, match="quotas.excellent"):
        Grading(quotas={"excellent": 1.5})
    with pytest.raises(InputError, match="grade"):
        Grading(quotas={"stellar": 0.2})
    with pytest.raises(InputError, match="quotas"):
        Grading(cutoffs=None)


def test_grading_from_dict():
    g = grading_from_dict({"labels": "national", "cutoffs": [85, 70, 50],
                           "quotas": {"excellent": 0.1}})
    assert g.cutoffs == (85.0, 70.0, 50.0) and g.quotas == {"excellent": 0.1}
    assert grading_from_dict(None) == Grading()
    with pytest.raises(InputError) as info:
        grading_from_dict({"cutoff": [90, 80, 60]})
    assert info.value.field == "cutoff" and info.value.where == "grading"
    with pytest.raises(InputError) as info:
        grading_from_dict({"cutoffs": "90,80,60"})
    assert info.value.field == "cutoffs"
    with pytest.raises(InputError) as info:
        grading_from_dict({"quotas": {"excellent": 2}})
    assert info.value.where == "grading" and "2" in str(info.value)


# --- properties -----------------------------------------------------------------------------

def reference_grades(scores: np.ndarray, cutoffs, quotas: dict[str, float]) -> list[int]:
    """A plain-Python reading of the quota rule, one project at a time."""
    n = len(scores)
    codes = NATIONAL.codes
    grade = [0 if cutoffs is None else sum(s < c for c in cutoffs) for s in scores]
    ranked = sorted(range(n), key=lambda i: (-scores[i], i))  # first listed ranks higher
    for k, code in enumerate(codes[:-1]):
        if code not in quotas:
            if cutoffs is None:
                break
            continue
        cap = math.floor(quotas[code] * n + 1e-9)
        held = 0
        for i in ranked:
            if grade[i] == k:
                held += 1
                if held > cap:
                    grade[i] = k + 1
    return grade


scores_st = st.lists(st.integers(0, 200).map(lambda x: x / 2), min_size=1, max_size=40)
quotas_st = st.dictionaries(st.sampled_from(["excellent", "good", "fair"]),
                            st.floats(0, 1), max_size=3)


@given(scores_st, quotas_st)
def test_quota_grading_never_exceeds_quota_nor_beats_the_cutoff_grade(scores, quotas):
    s = np.array(scores)
    by_cutoff = Grading().grade(s)
    g = Grading(quotas=quotas).grade(s)
    assert np.all(g >= by_cutoff)  # never better than the cutoffs say
    for code, share in quotas.items():
        assert np.count_nonzero(g == NATIONAL.index(code)) <= math.floor(share * s.size + 1e-9)
    # a strictly higher score never gets a worse grade
    hi, lo = np.meshgrid(s, s, indexing="ij")
    gh, gl = np.meshgrid(g, g, indexing="ij")
    assert not np.any((hi > lo) & (gh > gl))
    assert g.tolist() == reference_grades(s, (90, 80, 60), quotas)


@given(scores_st, st.floats(0, 1), st.floats(0, 1), st.floats(0, 1))
def test_rank_grading_matches_the_reference(scores, q1, q2, q3):
    s = np.array(scores)
    quotas = {"excellent": q1, "good": q2, "fair": q3}
    g = Grading(cutoffs=None, quotas=quotas).grade(s)
    assert g.tolist() == reference_grades(s, None, quotas)


@given(st.integers(0, 2**32 - 1), quotas_st, st.booleans())
def test_grading_replications_equals_row_by_row(seed, quotas, rank_only):
    rng = np.random.default_rng(seed)
    scores = np.round(rng.uniform(40, 100, (5, 17)))  # rounded: plenty of ties
    if rank_only and not quotas:
        quotas = {"excellent": 0.25}
    grading = Grading(cutoffs=None if rank_only else (90, 80, 60), quotas=quotas)
    together = grading.grade(scores)
    assert together.shape == (5, 17)
    for r in range(5):
        np.testing.assert_array_equal(together[r], grading.grade(scores[r]))


def test_the_same_grade_cannot_get_two_quotas():
    with pytest.raises(InputError, match="already has a quota"):
        Grading(quotas={"excellent": 0.2, "优": 0.3})
