"""Every path through perfsim gives the same numbers at a scenario's own values.

The one-year run, the Monte Carlo with every random source off, the command line, the
calibration's evaluation and a sensitivity sample all call the one year kernel; here they are
pinned together by exact equality on every bundled scenario, and the rules that used to live
in several copies are checked where the copies were.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import SCENARIOS
from hypothesis import given, settings
from hypothesis import strategies as st

import perfsim
from perfsim.cli import main
from perfsim.kernel.grading import Grading
from perfsim.kernel.linkage import liupanshui
from perfsim.model.params import current_value, parameters
from perfsim.model.portfolio import portfolio_from_frame
from perfsim.run.calibrate import calibrate, evaluate_at
from perfsim.run.sensitivity import evaluate_samples

BUNDLED = sorted(SCENARIOS.glob("*.yaml"))
MONEY = ("savings", "cut_total", "cancelled_total", "rewarded_total", "next_total")
# in-year monitoring (Zhucheng's checkpoints, Weifang's year-end clearing) and re-checks
# (Weifang's intermediaries, who measure the truth) are not part of the observed year: the
# paths are compared with them off (tests/test_sources.py prices them)
IN_YEAR_OFF = {"simulation.monitoring.checkpoints": [],
               "simulation.monitoring.year_end_clearing": False,
               "simulation.spot_check.share": 0}


@pytest.fixture(scope="module", params=BUNDLED, ids=lambda p: p.stem)
def case(request):
    sc = perfsim.load(request.param)
    if sc.has_simulation:
        sc = sc.set(IN_YEAR_OFF)
    return request.param, sc, sc.run_year()


def counts(sc, values):
    return [values[f"count_{c}"] for c in sc.grading.labels.codes]


def test_the_monte_carlo_without_noise_is_the_one_year_run(case):
    _, sc, year = case
    reps = sc.simulate(replications=1, years=1, noise=False).replications
    row = reps.iloc[0]
    for name in MONEY:
        assert row[name] == year.metrics[name], name
    assert counts(sc, row) == counts(sc, year.metrics)
    # and the metrics are the ledger's own totals
    assert year.metrics["cut_total"] == year.allocations["cut"].sum()
    graded = year.by_grade["projects"].tolist()
    assert counts(sc, year.metrics) == graded[:len(sc.grading.labels)]
    # a coverage rule lists the projects it left out after the grades
    assert sum(graded[len(sc.grading.labels):]) == (
        year.metrics["projects"] - year.metrics["count_self_evaluated"])


def test_the_command_line_gives_the_same_numbers_both_ways(case, tmp_path, capsys):
    path, sc, year = case
    off = [a for p, v in IN_YEAR_OFF.items() for a in ("--set", f"{p}={str(v).lower()}")
           ] if sc.has_simulation else []
    assert main(["run", str(path), "--one-year", "--out", str(tmp_path / "one")]) == 0
    assert main(["run", str(path), "--replications", "1", "--years", "1", "--no-noise", *off,
                 "--out", str(tmp_path / "mc")]) == 0
    one = json.loads((tmp_path / "one" / "summary.json").read_text())["metrics"]
    mc = json.loads((tmp_path / "mc" / "summary.json").read_text())["metrics"]
    for name in (*MONEY, *(f"count_{c}" for c in sc.grading.labels.codes)):
        assert mc[name][0]["mean"] == one[name] == year.metrics[name], name


def test_calibration_evaluates_the_current_value_as_the_one_year_run(case):
    _, sc, year = case
    for path, param in parameters(sc).items():
        if param.kind == "simulation":
            continue
        at = evaluate_at(sc, param, current_value(sc, param))
        assert {k: v[0] for k, v in at.items()} == year.metrics, path


def test_a_sensitivity_sample_at_the_current_values_is_the_one_year_run(case):
    _, sc, year = case
    quiet = sc.settings.without_noise()
    names = [p for p, spec in parameters(sc.replace(settings=quiet)).items() if spec.scalar
             and spec.kind != "weight"]
    x = np.array([[current_value(sc.replace(settings=quiet), parameters(sc)[n])
                   for n in names]])
    metrics = [*MONEY, *(f"count_{c}" for c in sc.grading.labels.codes)]
    y = evaluate_samples(sc, names, x, metrics=metrics, settings=quiet)
    assert y[0].tolist() == [year.metrics[m] for m in metrics]


def test_calibrating_the_ratio_to_the_runs_own_cut_finds_the_scenarios_ratio(case):
    _, sc, year = case
    if "linkage.ratio" not in sc.parameters:
        pytest.skip("not the Liupanshui rule")
    if year.metrics["cut_total"] == 0:
        pytest.skip("nothing rated 中: every ratio cuts 0")
    solved = calibrate(sc, "linkage.ratio", {"cut_total": year.metrics["cut_total"]})
    assert solved.value == pytest.approx(sc.linkage.params["ratio"], abs=1e-9)


def test_set_changes_only_what_it_names_and_vary_matches_set():
    sc = perfsim.load(SCENARIOS / "liupanshui_2022.yaml")
    changed = sc.set({"linkage.ratio": 0.2, "grading.cutoffs.excellent": 92})
    assert isinstance(changed, perfsim.Scenario)
    assert changed.linkage.params["ratio"] == 0.2 and changed.grading.cutoffs[0] == 92
    assert sc.linkage.params["ratio"] == 0.15 and sc.grading.cutoffs[0] == 90
    table = perfsim.vary(sc, {"linkage.ratio": [0.10, 0.20]})
    assert table["linkage.ratio"].tolist() == [0.10, 0.20]
    for _, row in table.iterrows():
        direct = sc.set({"linkage.ratio": row["linkage.ratio"]}).run_year().metrics
        assert row["savings"] == direct["savings"] and row["cut_total"] == direct["cut_total"]


# --- rules that lived in several copies ---------------------------------------------------------

def scores_scenario(scores, budgets=None) -> perfsim.Scenario:
    n = len(scores)
    pf = portfolio_from_frame(pd.DataFrame({
        "project_id": [f"P{i + 1}" for i in range(n)], "department": ["d"] * n,
        "budget": budgets if budgets is not None else [1000.0] * n, "score": scores}))
    return perfsim.Scenario(name="constructed", portfolio=pf, linkage=liupanshui(0.15))


@pytest.mark.parametrize("escalation_years", [0, 1])
def test_escalation_is_the_same_rule_in_the_monte_carlo_and_the_sensitivity(escalation_years):
    # a grade-table rule that keeps 差 at half: only escalation can cancel project B
    # two projects, B scored 50 (差): with escalation after one year it is cancelled
    sc = scores_scenario([95.0, 50.0], [1000.0, 2000.0]).set({
        "simulation.dynamics.escalation_years": escalation_years, "linkage": {
        "rule": "grade_table", "multipliers": {"excellent": 1, "good": 1, "fair": 1,
                                                "poor": 0.5}}})
    quiet = sc.settings.without_noise()
    mc = sc.simulate(replications=1, years=1, noise=False).replications.iloc[0]
    sens = evaluate_samples(sc, ["grading.cutoffs.fair"], np.array([[60.0]]),
                            metrics=["cancelled_total", "cut_total"], settings=quiet)[0]
    expected = (2000.0, 0.0) if escalation_years == 1 else (0.0, 1000.0)
    assert (mc["cancelled_total"], mc["cut_total"]) == expected
    assert tuple(sens) == expected


def test_a_score_on_a_per_row_cutoff_takes_the_higher_grade():
    # left-closed bands with cutoffs that differ per row, as the Monte Carlo and the
    # sensitivity draw them: 80 is 良 when the cutoff is 80, 中 when it is 80.5
    g = Grading().grade(np.array([[80.0, 79.99], [80.0, 80.5]]),
                        cutoffs=np.array([[90.0, 80.0, 60.0], [90.0, 80.5, 60.0]]))
    assert g.tolist() == [[1, 2], [2, 1]]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 39), min_size=5, max_size=60), st.floats(0.05, 0.6))
def test_a_solved_excellent_cutoff_admits_as_many_projects_as_the_share_allows(raw, share):
    # an independent count: sorted best first, the largest k <= floor(share × n) that does
    # not split a tie; the kernel, graded at the solved cutoff, must hold exactly k 优
    scores = np.array(raw, dtype=float) + 60.0           # 60..99, many ties
    n = scores.size
    best = np.sort(scores)[::-1]
    cap = int(np.floor(share * n + 1e-9))
    k = max(j for j in range(cap + 1) if j in (0, n) or best[j - 1] > best[j])
    sc = scores_scenario(scores.tolist())
    solved = calibrate(sc, "grading.cutoffs.excellent", {"share_excellent": share},
                       bounds=(80.01, 100.0))
    graded = sc.set({"grading.cutoffs.excellent": solved.value}).run_year().metrics
    if k and best[k - 1] > 80.01:  # the boundary falls inside the bounds
        assert solved.feasible and graded["count_excellent"] == k
    assert graded["count_excellent"] <= cap or not solved.feasible


def test_the_truth_behind_observed_scores_keeps_their_spread_and_mean():
    from perfsim.model.settings import Settings
    from perfsim.run.simulate import latent_truth

    scores = np.random.default_rng(5).uniform(55, 98, 400)
    sc = scores_scenario(scores.tolist())
    attainment, measure = sc.observed()
    noisy = Settings(measurement_noise=0.03, leaf_dispersion=0.2)  # ready scores: no leaves
    mean, theta, lam = latent_truth(attainment, measure, noisy)
    x = scores / 100.0
    assert lam == pytest.approx(1 - 0.03**2 / x.var(), rel=1e-12)   # dispersion left out
    # truth spread λ·Var(x) plus the noise σ² gives back the observed spread
    assert theta.var() + 0.03**2 == pytest.approx(x.var(), rel=1e-9)
    assert theta.mean() == pytest.approx(x.mean(), rel=1e-12)
    assert np.all(np.diff(theta[np.argsort(x)]) >= 0)                # order kept
    quiet = latent_truth(attainment, measure, noisy.without_noise())
    assert quiet[0] is attainment and quiet[2] == 1.0
