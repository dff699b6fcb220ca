"""Lines drawn exactly: a value on a line is on the side the rule names, checked by hand.

Pre-evaluation: a request is reduced, postponed or rejected only *below* its line; checks
near the cut lines take self-scores in ``[cutoff, cutoff + band)``; coverage takes every
project of *at least* ``min_budget``; chronic zero performance counts scores *below* the
line.
"""

from __future__ import annotations

import numpy as np

from perfsim.kernel.evaluation import near_cutoffs_key, select_for_check
from perfsim.kernel.grading import Grading
from perfsim.kernel.linkage import GATE, linkage_from_dict
from perfsim.kernel.year import CycleState, evaluate_year


def test_a_request_on_a_pre_evaluation_line_is_not_below_it():
    link = linkage_from_dict({"rule": "grade_table",
                              "multipliers": {"excellent": 1, "good": 1, "fair": 1, "poor": 1},
                              "pre_evaluation": {"reject_below": 60, "postpone_below": 70,
                                                 "reduce_below": 80, "reduce": 0.25}})
    expected = np.array([59.99, 60.0, 69.99, 70.0, 79.99, 80.0])
    code = link.pre_evaluation.decide(expected)
    assert [GATE[c] for c in code] == [GATE[3], GATE[2], GATE[2], GATE[1], GATE[1], GATE[0]]
    # through the kernel, without noise: the latent score is the expected one
    o = evaluate_year(expected[None], np.full(6, 1000.0), Grading(), link)
    np.testing.assert_array_equal(o.next_budget[0], [0, 0, 0, 750, 750, 1000])


SCORES = np.array([[80.0, 82.0, 79.99, 81.5]])   # on the line, at line + band, under, near
KEYS = np.array([[0.9, 0.5, 0.95, 0.1]])          # the random order of the others


def test_checks_near_the_cut_lines_take_the_line_itself_and_not_line_plus_band():
    key = near_cutoffs_key(SCORES, KEYS, (90.0, 80.0, 60.0), band=2.0)
    # near: 2 + (band − distance) / band; the others keep their random key
    np.testing.assert_array_equal(key, [[3.0, 0.5, 0.95, 2.25]])


def test_near_cut_line_checks_pick_the_projects_on_and_just_over_the_line():
    active = np.ones(SCORES.shape, dtype=bool)
    budget = np.full(SCORES.shape, 100.0)

    def checked(share):
        return select_for_check(share, "near_cutoffs", active, KEYS, budget, SCORES,
                                cutoffs=(90.0, 80.0, 60.0), band=2.0)[0].tolist()

    assert checked(0.5) == [True, False, False, True]    # the two near a line
    assert checked(0.75) == [True, False, True, True]    # then the highest random key


def test_coverage_takes_a_project_of_exactly_the_minimum_budget():
    link = linkage_from_dict({"rule": "grade_table",
                              "multipliers": {"excellent": 1, "good": 1, "fair": 1, "poor": 0},
                              "coverage": {"min_budget": 1_000_000}})
    budget = np.array([999_999.0, 1_000_000.0, 1_000_001.0])
    o = evaluate_year(np.full((1, 3), 40.0), budget, Grading(), link)
    assert o.evaluated[0].tolist() == [False, True, True]
    np.testing.assert_array_equal(o.next_budget[0], [999_999.0, 0.0, 0.0])


def test_zero_performance_counts_scores_below_the_line_not_on_it():
    link = linkage_from_dict({"rule": "grade_table",
                              "multipliers": {"excellent": 1, "good": 1, "fair": 1, "poor": 1},
                              "zero_performance": {"below": 30, "years": 2}})
    state = CycleState()
    for _ in range(2):
        o = evaluate_year(np.array([[29.99, 30.0]]), np.array([100.0, 100.0]), Grading(),
                          link, state=state)
        state = o.after
    assert o.cancelled[0].tolist() == [100.0, 0.0]
