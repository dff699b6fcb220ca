"""Check designs (issue: audit design against gaming): the Pareto front, designs equal to
their own Monte Carlo runs, budgets, and the command line."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from conftest import DATA, tiny_scores_scenario

import perfsim
from perfsim.cli import main
from perfsim.errors import InputError
from perfsim.run.checks import PENALTY, SELECTION, SHARE, optimise_checks, pareto


@pytest.fixture
def path(tmp_path):
    return tiny_scores_scenario(tmp_path, "tiny_inflating", extra=(
        "simulation:\n  self_evaluation: {noise: 0.02, inflation_mean: 0.05}\n"
        "  spot_check: {gap: 2}\n"))


def test_pareto_keeps_the_designs_nothing_beats_everywhere():
    v = np.array([[1, 5, 1], [2, 2, 2], [3, 3, 3], [1, 5, 1], [0, 9, 9]])
    # row 2 is beaten by row 1 on all three; rows 0 and 3 tie (neither beats the other)
    assert pareto(v).tolist() == [True, True, False, True, True]


def test_each_design_is_its_own_monte_carlo_with_the_same_draws(path):
    sc = perfsim.load(path)
    res = optimise_checks(sc, budget=8, staff_days_per_check=2, shares=[0.0, 0.4, 0.8],
                          selections=("random", "near_cutoffs"), penalties=(0.0, 5.0),
                          replications=16)
    t = res.table
    # share 0: selection and penalty change nothing, so one design; then 2 × 2 per share
    assert (t[SHARE] == 0).sum() == 1 and len(t) == 1 + 2 * 2 * 2
    row = t[(t[SHARE] == 0.4) & (t[SELECTION] == "near_cutoffs") & (t[PENALTY] == 5.0)].iloc[0]
    alone = sc.set({SHARE: 0.4, SELECTION: "near_cutoffs", PENALTY: 5.0}).simulate(
        replications=16, years=1).replications
    assert row["inflation_payoff"] == alone["inflation_payoff"].mean()
    assert row["wrong_cuts"] == alone["wrong_cuts"].mean()
    # 40% of 5 projects = 2 checks, 2 staff-days and 3,000 yuan each
    assert (row["checks"], row["staff_days"], row["evaluation_cost_recheck"]) == (2, 4.0, 6000.0)
    front = t[t["pareto"]]
    outcomes = ["payoff_above_zero", "wrong_cuts", "evaluation_cost_recheck"]
    for _, d in front.iterrows():
        beats = (t[outcomes] <= d[outcomes]).all(axis=1) & (t[outcomes] < d[outcomes]).any(axis=1)
        assert not beats.any()
    assert not t.loc[~t["pareto"]].empty
    assert res.front["evaluation_cost_recheck"].is_monotonic_increasing


def test_shares_stay_within_what_the_budget_affords(path):
    sc = perfsim.load(path)
    # 5 staff-days at 2 per check: 2 checks of 5 projects, 40% at most
    res = optimise_checks(sc, budget=5, staff_days_per_check=2, shares=3,
                          selections=("random",), penalties=(0.0,), replications=4)
    assert res.table[SHARE].tolist() == pytest.approx([0.0, 0.2, 0.4])
    assert res.settings["most_share"] == pytest.approx(0.4)
    with pytest.raises(InputError, match=r"must lie in \[0, 0.4000\].*5 staff-days"):
        optimise_checks(sc, budget=5, staff_days_per_check=2, shares=[0.6], replications=4)


@pytest.mark.parametrize(("kwargs", "fragment"), [
    ({"budget": 0}, "字段 field 'budget' = 0: 必须是 > 0 的数 / must be a number > 0"),
    ({"budget": "many"}, "field 'budget'"),
    ({"budget": 10, "staff_days_per_check": -1}, "field 'staff_days_per_check'"),
    ({"budget": 10, "selections": ("loudest",)}, "unknown selection"),
    ({"budget": 10, "penalties": (-5,)}, "field 'penalties'"),
])
def test_bad_settings_are_one_line_errors(path, kwargs, fragment):
    with pytest.raises(InputError, match=fragment) as err:
        optimise_checks(perfsim.load(path), **kwargs)
    assert "\n" not in str(err.value)


def test_a_scenario_without_inflation_is_refused():
    with pytest.raises(InputError, match="nobody inflates"):
        optimise_checks(perfsim.load(DATA / "tiny_scenario.yaml"), budget=10)


def test_cli_prints_the_front_and_writes_designs_and_plot(path, tmp_path, capsys):
    out = tmp_path / "designs"
    assert main(["optimise-checks", str(path), "--budget", "10", "--shares", "3",
                 "--penalties", "0,5", "--replications", "8", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "Pareto front" in printed and "random" in printed  # no checks is always on it
    assert (out / "designs.csv").read_bytes()[:3] == b"\xef\xbb\xbf"
    table = pd.read_csv(out / "designs.csv", encoding="utf-8-sig")
    assert table["pareto"].any() and len(table) == 1 + 2 * 4 * 2
    assert (out / "front.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not re.search(r"\d[eE][+-]\d", printed)


@pytest.mark.parametrize(("args", "fragment"), [
    (["--budget", "0"], "--budget"),
    (["--budget", "ten"], "--budget"),
    (["--budget", "10", "--penalties", "a,b"], "--penalties"),
])
def test_cli_bad_budget_is_one_line_exit_2(path, tmp_path, capsys, args, fragment):
    code = main(["optimise-checks", str(path), *args, "--out", str(tmp_path / "x")])
    err = capsys.readouterr().err
    assert code == 2 and fragment in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x").exists()


def test_the_cost_of_a_design_is_the_monte_carlos_recheck_cost(path):
    """With the scenario's own price of a re-check (simulation.cost.recheck), the design's
    cost is exactly what the Monte Carlo's evaluation_cost_recheck metric charges."""
    sc = perfsim.load(path).set({"simulation.cost.recheck": 2500.0,
                                 "simulation.cost.recheck_days": 1.5})
    res = optimise_checks(sc, budget=6, shares=[0.0, 0.6], selections=("random",),
                          penalties=(0.0,), replications=8)
    row = res.table[res.table[SHARE] == 0.6].iloc[0]
    alone = sc.set({SHARE: 0.6}).simulate(replications=8, years=1).replications
    assert row["evaluation_cost_recheck"] == alone["evaluation_cost_recheck"].mean() == 3 * 2500.0
    assert row["staff_days"] == 3 * 1.5 and res.settings["yuan_per_check"] == 2500.0
