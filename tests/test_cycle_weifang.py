"""Weifang [S1] from its bundled file, with no `--set`: no cost calculation → not funded,
22 self-evaluations and 7 by intermediaries with their cost, and year-end clearing of
balances for missed targets (the first of the source's two alternatives; the cut next year,
the other, by `--set`)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import SCENARIOS

import perfsim
from perfsim.cli import main

PATH = SCENARIOS / "weifang.yaml"
# the source's other alternative, the cut next year (ratios assumed), as the header gives it
CUT = {"simulation.monitoring.year_end_clearing": False,
       "linkage.multipliers.fair": 0.9, "linkage.multipliers.poor": 0.8}


def test_the_header_gives_the_other_alternative_as_it_is_set_here():
    text = " ".join(PATH.read_text(encoding="utf-8").split())
    for path, value in CUT.items():
        assert f"--set {path}={str(value).lower()}" in text, path


def test_no_cost_calculation_no_budget_and_no_cut_next_year():
    sc = perfsim.load(PATH)
    assert sc.portfolio.n_projects == 29                       # published
    assert "cost_calculated" not in sc.portfolio.table.columns  # the department says it
    alloc = sc.run_year().allocations
    none = alloc["department"] == "D7"
    assert none.sum() == 3
    assert (alloc.loc[none, "next_budget"] == 0).all()
    assert alloc.loc[none, "precondition_failed"].all()
    # clearing, not the cut: every other project keeps its budget next year
    assert (alloc.loc[~none, "next_budget"] == alloc.loc[~none, "budget"]).all()
    assert alloc["grade"].isin(["fair", "poor"]).sum() > 0     # there was something to cut


def test_the_cut_instead_of_the_clearing():
    sc = perfsim.load(PATH).set(CUT)
    alloc = sc.run_year().allocations
    none = alloc["department"] == "D7"
    keep = alloc.loc[~none, "grade"].map({"excellent": 1.0, "good": 1.0, "fair": 0.9,
                                          "poor": 0.8})
    assert alloc.loc[~none, "next_budget"].tolist() == pytest.approx(
        (alloc.loc[~none, "budget"] * keep).tolist(), rel=1e-15)
    row = sc.simulate(replications=1, years=1, noise=False).replications.iloc[0]
    assert row["monitoring_cleared"] == 0


def test_22_self_evaluations_and_7_by_intermediaries_and_what_they_cost():
    mc = perfsim.load(PATH).simulate(replications=64, years=1)
    year1 = mc.replications
    assert mc.sample["checked"].sum() == 7                     # published: 7 of 29
    # every replication: 22 self-evaluations at 2,000 yuan, 7 by intermediaries at 30,000
    assert (year1["evaluation_cost_self"] == 22 * 2000).all()
    assert (year1["evaluation_cost_recheck"] == 7 * 30000).all()
    assert (year1["evaluation_days"] == 22 * 2 + 7 * 4).all()
    # which 7 varies (random selection): the funds they cover vary
    assert year1["recheck_coverage"].nunique() > 1


def test_year_end_clearing_recovers_the_balances_of_missed_targets():
    sc = perfsim.load(PATH)
    alloc = sc.run_year().allocations
    row = sc.set({"simulation.monitoring.targets": 0.8,
                  "simulation.monitoring.pace": "performance"}).simulate(
        replications=1, years=1, noise=False).replications.iloc[0]
    # noise off, pace tied to performance: each project attains and spends its score / 100;
    # below 80% its unspent
    # balance, budget × (1 − score / 100), is cleared at year end
    share = alloc["score"].to_numpy() / 100
    missed = share < 0.8
    assert missed.sum() > 10
    by_hand = np.sum(np.where(missed, alloc["budget"].to_numpy() * (1 - share), 0.0))
    assert row["monitoring_cleared"] == pytest.approx(by_hand, rel=1e-12)
    assert row["recovered"] == pytest.approx(by_hand, rel=1e-12)


def test_weifang_runs_from_the_command_line_without_set(tmp_path):
    assert main(["validate", str(PATH)]) == 0
    assert main(["run", str(PATH), "--replications", "40", "--years", "2",
                 "--out", str(tmp_path / "mc")]) == 0
    summary = json.loads((tmp_path / "mc" / "summary.json").read_text())
    assert summary["metrics"]["monitoring_cleared"][0]["mean"] > 0
    assert summary["metrics"]["evaluation_cost"][0]["mean"] == 22 * 2000 + 7 * 30000
    assert main(["run", str(PATH), "--one-year", "--out", str(tmp_path / "one")]) == 0
    assert (tmp_path / "one" / "allocations.csv").exists()
