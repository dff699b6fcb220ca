"""The bundled source scenarios of the evaluation cycle, each checked from its file for the
behaviour that characterises its source: Jinan [P9], Xingzi [S3], Lu'an/Ankang [E0],
Zhucheng 2022 [E4]. (The one-kernel tests run every bundled scenario through the one-year
run, the noise-free Monte Carlo, the command line, calibration and sensitivity.)"""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import SCENARIOS

import perfsim
from perfsim.cli import main

CYCLE = ("jinan", "xingzi", "luan_ankang", "zhucheng_2022")


def load(name: str) -> perfsim.Scenario:
    return perfsim.load(SCENARIOS / f"{name}.yaml")


@pytest.mark.parametrize("name", CYCLE)
def test_each_runs_one_year_and_monte_carlo_from_the_command_line(name, tmp_path, capsys):
    path = SCENARIOS / f"{name}.yaml"
    assert main(["validate", str(path)]) == 0
    assert main(["run", str(path), "--one-year", "--out", str(tmp_path / "one")]) == 0
    assert main(["run", str(path), "--years", "3", "--replications", "40",
                 "--out", str(tmp_path / "mc")]) == 0
    summary = json.loads((tmp_path / "mc" / "summary.json").read_text())
    for metric in ("rectified_share", "recovered_unrectified", "count_unrectified",
                   "postponed_total", "units_blacklisted"):
        assert len(summary["metrics"][metric]) == 3, metric
    text = path.read_text(encoding="utf-8")
    assert "Published" in text and "Assumed" in text   # says what is which


def test_jinan_poor_and_not_rectified_is_reduced_until_cancelled():
    sc = load("jinan")
    alloc = sc.run_year().allocations
    poor = alloc[alloc["grade"] == "poor"]
    assert len(poor) > 0 and 0 < poor["rectified"].sum() < len(poor)
    # a first year: rectified 差 keep their budget, the unrectified are halved, none cancelled
    expected = np.where(poor["rectified"], poor["budget"], 0.5 * poor["budget"])
    assert poor["next_budget"].tolist() == expected.tolist()
    assert (alloc["status"] != "cancelled").all()
    others = alloc[alloc["grade"] != "poor"]
    assert (others["next_budget"] == others["budget"]).all()
    # nobody rectifies: halved in year 1, cancelled in year 2 (noise off: the grades stay)
    never = sc.set({"linkage.rectification.probability": 0.0})
    reps = never.simulate(replications=1, years=2, noise=False).replications
    assert reps["cancelled_total"].iloc[0] == 0.0
    assert reps["cancelled_total"].iloc[1] == pytest.approx(0.5 * poor["budget"].sum(),
                                                            rel=1e-12)
    # everybody rectifies: nothing is ever cut or cancelled, whatever the noise
    always = sc.set({"linkage.rectification.probability": 1.0})
    reps = always.simulate(replications=64, years=4).replications
    assert (reps["cancelled_total"] == 0).all() and (reps["cut_total"] == 0).all()


def test_xingzi_a_department_refusing_self_evaluation_gets_no_project_budget():
    sc = load("xingzi")
    pf = sc.portfolio
    assert pf.table["self_evaluated"].all()        # no project row says it: the department does
    assert pf.budget.sum() == pytest.approx(167_260_000, abs=1)   # published: 16726万元
    alloc = sc.run_year().allocations
    refused = alloc[alloc["department"] == "D14"]
    assert len(refused) == 5
    assert (refused["next_budget"] == 0).all() and refused["precondition_failed"].all()
    # 差 and not rectified: cancelled; 差 and rectified: cut 20%
    poor = alloc[(alloc["grade"] == "poor") & (alloc["department"] != "D14")]
    assert len(poor) > 0 and 0 < poor["rectified"].sum() < len(poor)
    expected = np.where(poor["rectified"], 0.8 * poor["budget"], 0.0)
    assert poor["next_budget"].tolist() == pytest.approx(expected.tolist(), rel=1e-15)
    # the refusal holds in every replication of the Monte Carlo
    reps = sc.simulate(replications=40, years=2).replications
    assert (reps.loc[reps["year"] == 1, "cancelled_total"] >= refused["budget"].sum()).all()


def test_luan_ankang_no_targets_no_budget_no_performance_excluded_good_rewarded():
    sc = load("luan_ankang")
    pf = sc.portfolio
    year = sc.run_year()
    alloc = year.allocations
    no_targets = ~pf.table["has_targets"].to_numpy()
    assert no_targets.sum() > 0
    assert (alloc.loc[no_targets, "next_budget"] == 0).all()
    zero = alloc["score"].to_numpy() < 40
    assert zero.sum() > 0 and (alloc.loc[zero, "next_budget"] == 0).all()
    # 差 above the line and with targets: reduced by 30%
    low = (alloc["grade"] == "poor").to_numpy() & ~zero & ~no_targets
    assert low.sum() > 0
    assert alloc.loc[low, "next_budget"].tolist() == pytest.approx(
        (0.7 * alloc.loc[low, "budget"]).tolist(), rel=1e-15)
    # everything taken away rewards the 优 projects (with targets): the total is unchanged
    best = (alloc["grade"] == "excellent").to_numpy() & ~no_targets
    assert year.metrics["next_total"] == pytest.approx(year.metrics["budget_total"], rel=1e-12)
    assert (alloc.loc[best, "next_budget"] > alloc.loc[best, "budget"]).all()
    assert (alloc.loc[~best, "reward"] == 0).all()


def test_zhucheng_recovers_the_funds_of_projects_not_rectified():
    sc = load("zhucheng_2022")
    pf = sc.portfolio
    assert pf.n_projects == 1060 and pf.table["department"].nunique() == 68   # published
    year = sc.run_year()
    alloc = year.allocations
    told = alloc["grade"].isin(["fair", "poor"])
    assert (alloc["feedback"] == told).all()
    unrect = told & ~alloc["rectified"]
    assert unrect.sum() > 0
    assert year.metrics["recovered_unrectified"] == pytest.approx(
        0.3 * alloc.loc[unrect, "budget"].sum(), rel=1e-12)
    assert alloc.loc[unrect, "next_budget"].tolist() == pytest.approx(
        (0.7 * alloc.loc[unrect, "budget"]).tolist(), rel=1e-15)
    assert (alloc.loc[~unrect, "next_budget"] == alloc.loc[~unrect, "budget"]).all()
    # with the two monitoring checkpoints (Jan-Jun, Jan-Sep) the Monte Carlo recovers idle
    # funds by execution pace as well as the funds of the unrectified
    monitored = sc.set({"simulation.monitoring.checkpoints": "default"})
    assert monitored.settings.checkpoints == ((0.5, 0.3), (0.75, 0.5))
    reps = monitored.simulate(replications=32, years=2).replications
    assert (reps["recovered"] > 0).all() and (reps["recovered_unrectified"] > 0).all()


@pytest.mark.parametrize("name", CYCLE)
def test_every_path_gives_the_cycle_metrics_of_the_one_year_run(name):
    # the one-year run, the noise-free Monte Carlo's first year and a sensitivity sample at
    # the scenario's own values: the same rectification draws, flags and recoveries, exactly
    from perfsim.model.params import current_value, parameters
    from perfsim.run.sensitivity import evaluate_samples

    sc = load(name)
    if sc.has_simulation:   # Zhucheng's in-year monitoring is not part of the observed year
        sc = sc.set({"simulation.monitoring.checkpoints": []})
    year = sc.run_year().metrics
    names = ["next_total", "savings", "cut_total", "cancelled_total", "rewarded_total",
             "rectified_share", "count_unrectified", "recovered_unrectified",
             "postponed_total", "units_blacklisted"]
    row = sc.simulate(replications=1, years=1, noise=False).replications.iloc[0]
    assert [row[n] for n in names] == [year[n] for n in names]
    cycle = [p for p, spec in parameters(sc).items() if spec.kind == "linkage"]
    assert cycle, "the scenario's cycle rules are registry parameters"
    x = np.array([[current_value(sc, parameters(sc)[p]) for p in cycle]])
    y = evaluate_samples(sc, cycle, x, metrics=names, settings=sc.settings.without_noise())
    assert y[0].tolist() == [year[n] for n in names]


def test_cross_year_annual_evaluation_cuts_more_good_projects_than_by_stage():
    # [P6]: stage evaluation (the file's); [S8]: annual evaluation misjudges long projects
    sc = load("cross_year_s8")
    assert (sc.portfolio.years_left > 1).sum() > 0
    base = {"rule": "liupanshui", "ratio": 0.15}
    annual = sc.set({"linkage": {**base, "cross_year": {"evaluation": "annual", "lag": 0.3}}})
    deferred = sc.set({"linkage": {**base, "cross_year": {"evaluation": "deferred"}}})
    runs = {name: s.simulate(replications=64, years=1).replications
            for name, s in (("by_stage", sc), ("annual", annual), ("deferred", deferred))}
    # the same replications: annual evaluation cuts more from truly good projects in each
    assert (runs["annual"]["wrong_cuts"] > runs["by_stage"]["wrong_cuts"]).all()
    # deferred: the projects not in their last year are never graded
    due = int((sc.portfolio.years_left == 1).sum())
    assert (runs["deferred"]["count_self_evaluated"] == due).all()
    assert (runs["by_stage"]["count_self_evaluated"] == sc.portfolio.n_projects).all()
