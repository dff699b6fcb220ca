"""Cross-year projects (跨年项目): judged annually against the whole project's targets, by
stage against interim targets, or with the overall evaluation deferred to completion (the
county rules [P6]; [S8]: annual evaluation misjudges long projects). Hand-computed through
the one-year run and the Monte Carlo with noise off."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import one_error_line

import perfsim
from perfsim.cli import main
from perfsim.errors import InputError
from perfsim.kernel.linkage import CrossYear, linkage_from_dict
from perfsim.model.params import apply_changes, parameters


def scenario(tmp_path, evaluation: str, lag: float = 0.3, years_left: str = "3,1"):
    a, b = years_left.split(",")
    (tmp_path / "p.csv").write_text(
        "project_id,department,budget,score,years_left\n"
        f"LONG,D1,1000000,85,{a}\n"       # 良 by its performance
        f"ANNUAL,D2,2000000,70,{b}\n",    # 中
        encoding="utf-8")
    (tmp_path / "s.yaml").write_text(
        "name: cross\nseed: 4\nportfolio: {file: p.csv}\n"
        "linkage:\n  rule: liupanshui\n  ratio: 0.15\n"
        f"  cross_year: {{evaluation: {evaluation}, lag: {lag}}}\n", encoding="utf-8")
    return perfsim.load(tmp_path / "s.yaml")


def test_due_and_shown_by_hand():
    left = np.array([[3, 1, 2]])
    annual = CrossYear("annual", 0.3)
    assert annual.due(left) is None
    assert annual.shown(left).tolist() == [[0.7, 1.0, 0.7]]
    assert CrossYear("by_stage", 0.3).shown(left) is None
    assert CrossYear("deferred", 0.3).due(left).tolist() == [[False, True, False]]
    # a sampled lag per row
    got = annual.shown(left, {"cross_year.lag": np.array([0.5])})
    assert got.tolist() == [[0.5, 1.0, 0.5]]


def test_deferral_and_coverage_combine():
    link = linkage_from_dict({"rule": "liupanshui", "cross_year": {"evaluation": "deferred"},
                              "coverage": {"min_budget": 100}})
    got = link.evaluated(np.array([[50.0, 200.0, 300.0]]), years_left=np.array([1, 1, 2]))
    assert got.tolist() == [[False, True, False]]


def test_annual_evaluation_misjudges_a_long_project(tmp_path):
    # noise off: LONG performs at 85 (良) but annually only 70% shows: 59.5 → 差, cancelled
    # under the Liupanshui rule; a wrong cut of its whole budget. ANNUAL (中) is cut 15%.
    reps = scenario(tmp_path, "annual").simulate(replications=1, years=1,
                                                 noise=False).replications.iloc[0]
    assert reps["count_poor"] == 1 and reps["count_fair"] == 1
    assert reps["wrong_cuts"] == 1_000_000
    assert reps["savings"] == 1_000_000 + 0.15 * 2_000_000


def test_stage_evaluation_sees_the_project_as_it_is(tmp_path):
    reps = scenario(tmp_path, "by_stage").simulate(replications=1, years=3,
                                                   noise=False).replications
    assert reps["count_good"].tolist() == [1, 1, 1]
    assert reps["wrong_cuts"].tolist() == [0, 0, 0]


def test_deferred_evaluation_grades_only_in_the_last_year(tmp_path):
    reps = scenario(tmp_path, "deferred").simulate(replications=1, years=3,
                                                   noise=False).replications
    # LONG has 3 years left: not graded in years 1 and 2, graded (良) in year 3
    assert reps["count_self_evaluated"].tolist() == [1, 1, 2]
    assert reps["count_good"].tolist() == [0, 0, 1]
    # ANNUAL (中) is cut 15% a year; LONG keeps its million throughout
    assert reps["budget_total"].tolist() == pytest.approx(
        [3e6, 1e6 + 2e6 * 0.85, 1e6 + 2e6 * 0.85 ** 2])
    one = scenario(tmp_path, "deferred").run_year()
    a = one.allocations.set_index("project_id")
    assert a.loc["LONG", "grade"] == "not_evaluated" and not a.loc["LONG", "evaluated"]
    assert a.loc["LONG", "next_budget"] == 1_000_000
    assert one.metrics["next_total"] == reps["next_total"].iloc[0]


def test_after_its_last_stage_a_project_is_judged_as_annual(tmp_path):
    # two years left, annual evaluation: year 1 seen at 70% (59.5, 差, cancelled); with a
    # 0.1 lag it is seen at 76.5 (中, cut 15%) in year 1 and at 85 (良) in year 2
    reps = scenario(tmp_path, "annual", lag=0.1, years_left="2,1").simulate(
        replications=1, years=2, noise=False).replications
    assert reps["count_fair"].tolist() == [2, 1]
    assert reps["count_good"].tolist() == [0, 1]


def test_the_lag_is_a_registry_parameter(tmp_path):
    sc = scenario(tmp_path, "annual")
    assert "linkage.cross_year.lag" in parameters(sc)
    none = apply_changes(sc, {"linkage.cross_year.lag": 0.0})
    reps = none.simulate(replications=1, years=1, noise=False).replications.iloc[0]
    assert reps["wrong_cuts"] == 0


def test_bad_cross_year_input_is_one_line(tmp_path, capsys):
    with pytest.raises(InputError, match="cross_year.evaluation.*annual, by_stage, deferred"):
        linkage_from_dict({"rule": "liupanshui", "cross_year": {"evaluation": "yearly"}})
    with pytest.raises(InputError, match="cross_year.lag.*share"):
        linkage_from_dict({"rule": "liupanshui", "cross_year": {"lag": 2}})
    with pytest.raises(InputError, match="years_left"):
        scenario(tmp_path, "annual", years_left="0,1")   # writes the files, then loads them
    assert main(["validate", str(tmp_path / "s.yaml")]) == 2
    line = one_error_line(capsys)
    assert "row 2" in line and "years_left" in line


def test_the_generator_adds_cross_year_projects_without_moving_anything_else():
    from perfsim.model.portfolio import generate_portfolio
    plain = generate_portfolio(n_projects=400, n_departments=10, seed=3).table
    mixed = generate_portfolio(n_projects=400, n_departments=10, seed=3,
                               cross_year_share=0.25, cross_year_years=3).table
    assert "years_left" not in plain.columns
    assert plain.equals(mixed.drop(columns="years_left"))
    left = mixed["years_left"].to_numpy()
    assert set(np.unique(left)) <= {1, 2, 3}
    # about a quarter are cross-year; a third of those in their last year
    assert 0.15 < (left > 1).mean() < 0.25
    every = generate_portfolio(n_projects=400, n_departments=10, seed=3,
                               cross_year_share=1.0, cross_year_years=2).table["years_left"]
    assert set(every) == {1, 2}
    with pytest.raises(InputError, match="cross_year_years"):
        generate_portfolio(n_projects=10, n_departments=2, cross_year_years=0)
