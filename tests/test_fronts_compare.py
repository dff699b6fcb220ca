"""The fixed and responding fronts side by side (notebook 06, section 7): units that respond
need lines to reach, and a search in which no unit inflates keeps its payoff column."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import SCENARIOS

import perfsim
from perfsim.errors import InputError
from perfsim.run import checks


def test_a_grading_without_cutoffs_has_no_responding_search():
    sc = perfsim.load(SCENARIOS / "wenzhou_2013.yaml")
    assert sc.grading.cutoffs is None
    assert checks.responding_designs(sc, 100.0, shares=[0.0, 0.1], penalties=[0.0],
                                     replications=2) is None
    # asked for directly, the search refuses in one line instead
    with pytest.raises(InputError, match="cutoffs"):
        checks.optimise_checks(sc, 100.0, shares=[0.0, 0.1], penalties=[0.0],
                               replications=2, response="best")


def test_the_fronts_stack_each_front_and_say_when_one_is_missing():
    sc = perfsim.load(SCENARIOS / "liupanshui_2022.yaml").set(
        {"simulation.self_evaluation.inflation_mean": 0.03})
    fixed = checks.optimise_checks(sc, 2000.0, shares=[0.0, 0.05], penalties=[0.0, 10.0],
                                   replications=2)
    alone = checks.compare_fronts(fixed, None)
    assert list(alone["response"].unique()) == ["fixed 固定虚报"]
    assert len(alone) == int(fixed.table["pareto"].sum())
    assert alone["note"].str.contains("cutoffs").all()
    responding = checks.responding_designs(sc, 2000.0, shares=[0.0, 0.05],
                                           penalties=[0.0, 10.0], replications=2)
    both = checks.compare_fronts(fixed, responding)
    assert "note" not in both.columns
    assert (both["response"] == "responding 单位应对").sum() == int(
        responding.table["pareto"].sum())
    assert list(both.columns[1:]) == list(checks.FRONT_COLUMNS)


def test_a_search_where_nobody_inflates_keeps_the_payoff_column():
    # units that respond to a 100% check share with a heavy penalty: nobody inflates, the
    # payoff per inflated point is undefined (NaN) in every design, and still a column
    sc = perfsim.load(SCENARIOS / "liupanshui_2022.yaml")
    res = checks.optimise_checks(sc, 1e9, shares=[1.0], penalties=[40.0], replications=2,
                                 response="best")
    assert "inflation_payoff" in res.table.columns
    assert np.all(res.table["inflating_share"] == 0.0)
    assert res.table["inflation_payoff"].isna().all()
    assert (res.table["payoff_above_zero"] == 0.0).all()
