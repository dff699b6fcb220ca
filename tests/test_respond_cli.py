"""``perfsim optimise-checks --response``: the designs judged at the units' response."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import SCENARIOS, one_error_line

import perfsim
from perfsim.cli import main
from perfsim.errors import InputError
from perfsim.run.checks import optimise_checks, respond_as

LIUPANSHUI = SCENARIOS / "liupanshui_2022.yaml"


def test_the_response_defaults_to_the_scenarios_strategy():
    sc = perfsim.load(LIUPANSHUI)
    assert respond_as(sc, None) is sc
    best = respond_as(sc.set({"simulation.self_evaluation.inflation_mean": 0.03}), "best")
    assert best.settings.self_strategy == "best_response"
    assert best.settings.inflation_mean == 0          # the units choose their own
    assert respond_as(best, "fixed").settings.self_strategy == "none"
    with pytest.raises(InputError, match="must be fixed or best"):
        respond_as(sc, "worst")


def test_responding_units_need_no_fixed_inflation_to_be_searched():
    # fixed units that do not inflate leave nothing to search; responding ones choose
    sc = perfsim.load(LIUPANSHUI)
    with pytest.raises(InputError, match="nobody inflates"):
        optimise_checks(sc, 500, shares=2, penalties=(0.0,), replications=2)
    out = optimise_checks(sc.set({"simulation.self_evaluation.strategy": "best_response"}),
                          500, shares=2, penalties=(0.0,), replications=2,
                          selections=("random",))
    assert out.settings["response"] == "best"
    assert out.table["inflating_share"].gt(0).all()


def test_cli_best_response_prints_and_writes_the_share_inflating(tmp_path, capsys):
    out = tmp_path / "designs"
    assert main(["optimise-checks", str(LIUPANSHUI), "--budget", "500", "--shares", "2",
                 "--penalties", "0,20", "--replications", "2", "--response", "best",
                 "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "units respond: best" in printed and "Pareto front" in printed
    table = pd.read_csv(out / "designs.csv", encoding="utf-8-sig")
    for column in ("inflation_points", "inflating_share", "inflation_payoff", "wrong_cuts",
                   "evaluation_cost_recheck"):
        assert column in table.columns, column
    assert table["inflating_share"].between(0, 1).all()


def test_cli_unknown_response_is_one_line_exit_2(tmp_path, capsys):
    assert main(["optimise-checks", str(LIUPANSHUI), "--budget", "500", "--response",
                 "worst", "--out", str(tmp_path / "x")]) == 2
    assert "--response" in one_error_line(capsys)
    assert not (tmp_path / "x").exists()
