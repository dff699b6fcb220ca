"""Estimation (perfsim.analyse.estimate): recovery of known coefficients from simulated data —
the 95% intervals cover the truth — and exact answers where the rule fixes them."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import SCENARIOS

from perfsim.analyse.estimate import (
    COLUMNS,
    budget_change_model,
    inflation_model,
    level1_scores,
    ordered_grades,
)
from perfsim.errors import InputError
from perfsim.model.scenario import load_scenario
from perfsim.run.year import run_year

GRADES_WORST_FIRST = np.array(["poor", "fair", "good", "excellent"])


def covers(table: pd.DataFrame, term: str, truth: float) -> bool:
    row = table.set_index("term").loc[term]
    return bool(row["ci_low"] <= truth <= row["ci_high"])


@pytest.mark.parametrize("distr", ["logit", "probit"])
def test_ordered_model_recovers_coefficients_and_cut_points(distr):
    rng = np.random.default_rng(20240501)
    n = 3000
    data = pd.DataFrame({"OUT": rng.uniform(20, 50, n), "BEN": rng.uniform(10, 30, n)})
    beta = {"OUT": 0.20, "BEN": 0.30}
    cuts = np.array([10.0, 13.0, 15.0])            # poor|fair, fair|good, good|excellent
    noise = rng.logistic(size=n) if distr == "logit" else rng.standard_normal(n)
    latent = beta["OUT"] * data["OUT"] + beta["BEN"] * data["BEN"] + noise
    data["grade"] = GRADES_WORST_FIRST[np.searchsorted(cuts, latent)]
    est = ordered_grades(data, ["OUT", "BEN"], distr=distr)
    t = est.table
    assert list(t.columns) == list(COLUMNS)
    for term, b in beta.items():
        assert covers(t, term, b), t
    # statsmodels' threshold parameters: the first cut, then logs of the increments
    assert covers(t, "cut poor|fair", 10.0)
    assert covers(t, "log step fair|good", np.log(3.0))
    assert covers(t, "log step good|excellent", np.log(2.0))
    assert est.extra["thresholds"]["between"].tolist() == ["poor|fair", "fair|good",
                                                           "good|excellent"]
    assert "OUT" in str(est.summary)


def test_mixed_model_recovers_mean_inflation_and_department_variance():
    rng = np.random.default_rng(7)
    n_dep, per = 60, 25
    dep = np.repeat([f"D{k:02d}" for k in range(n_dep)], per)
    u = rng.normal(0.0, 2.0, n_dep)                 # department effects, variance 4
    size = rng.normal(0.0, 1.0, n_dep * per)
    recheck = rng.uniform(60, 95, n_dep * per)
    self_score = recheck + 4.0 + np.repeat(u, per) + 0.5 * size + rng.normal(0, 3.0,
                                                                             n_dep * per)
    data = pd.DataFrame({"department": dep, "self_score": self_score, "recheck_score": recheck,
                         "size": size})
    est = inflation_model(data, covariates=["size"])
    t = est.table
    assert covers(t, "intercept (mean inflation)", 4.0)
    assert covers(t, "size", 0.5)
    assert covers(t, "department variance", 4.0)
    assert t.set_index("term").loc["residual variance", "estimate"] == pytest.approx(9.0,
                                                                                     rel=0.1)
    deps = est.extra["departments"]
    assert len(deps) == n_dep
    # predicted department inflation tracks the true effects
    truth = pd.Series(4.0 + u, index=[f"D{k:02d}" for k in range(n_dep)])
    corr = np.corrcoef(deps.set_index("department")["inflation"].loc[truth.index], truth)[0, 1]
    assert corr > 0.8


def test_mixed_model_takes_a_gap_column():
    rng = np.random.default_rng(3)
    effect = np.repeat(rng.normal(0.0, 1.0, 8), 50)        # department effects, sd 1
    data = pd.DataFrame({"department": np.repeat(list("ABCDEFGH"), 50),
                         "gap": 2.0 + effect + rng.normal(0.0, 1.0, 400)})
    est = inflation_model(data, gap="gap")
    assert covers(est.table, "intercept (mean inflation)", 2.0)


def test_budget_change_regression_recovers_effects():
    rng = np.random.default_rng(11)
    n = 2000
    score = rng.uniform(40, 100, n)
    grade = np.select([score >= 90, score >= 80, score >= 60], [0, 1, 2], 3)
    effect = np.array([0.0, -0.02, -0.15, -0.9])[grade]
    budget = rng.lognormal(14, 1, n)
    change = 0.001 * (score - 80) + effect + rng.normal(0, 0.02, n)
    data = pd.DataFrame({"score": score, "grade": GRADES_WORST_FIRST[::-1][grade],
                         "budget": budget, "next_budget": budget * (1 + change)})
    est = budget_change_model(data)
    t = est.table
    assert est.extra["reference_grade"] == "excellent"
    assert covers(t, "score", 0.001)
    assert covers(t, "const", -0.08)                # 0.001 × (0 − 80)
    assert covers(t, "grade[good]", -0.02)
    assert covers(t, "grade[fair]", -0.15)
    assert covers(t, "grade[poor]", -0.9)


def test_budget_change_under_the_liupanshui_rule_is_exact():
    # the rule: 优/良 kept (0), 中 cut 15% (−0.15), 差 cancelled (−1); the score adds nothing
    alloc = run_year(load_scenario(SCENARIOS / "liupanshui_2022.yaml")).allocations
    t = budget_change_model(alloc).table.set_index("term")["estimate"]
    assert t["grade[fair]"] == pytest.approx(-0.15, abs=1e-9)
    assert t["grade[poor]"] == pytest.approx(-1.0, abs=1e-9)
    assert t["grade[good]"] == pytest.approx(0.0, abs=1e-9)
    assert t["score"] == pytest.approx(0.0, abs=1e-9)


def test_level1_scores_by_hand(tiny, data_dir):
    from perfsim.model.portfolio import load_portfolio

    pf = load_portfolio(data_dir / "tiny_measured.csv", tiny)
    s = level1_scores(tiny, pf.measurements())
    assert list(s.columns) == ["A", "B", "C"]
    # P1: A = 20 + 10 + 20 = 50; B = 30 × min(90/90, 1) = 30
    assert s.loc[0, "A"] == pytest.approx(50.0) and s.loc[0, "B"] == pytest.approx(30.0)
    np.testing.assert_allclose(s.sum(axis=1), tiny.score(pf.measurements()) -
                               tiny.bonus_points(pf.measurements()))


def test_estimation_input_errors():
    data = pd.DataFrame({"grade": ["good", "fair"], "x": [1.0, 2.0]})
    with pytest.raises(InputError, match="no such column"):
        ordered_grades(data, ["y"])
    with pytest.raises(InputError, match="logit or probit"):
        ordered_grades(data, ["x"], distr="cauchy")
    with pytest.raises(InputError, match="unknown grade"):
        ordered_grades(pd.DataFrame({"grade": ["great", "fair"], "x": [1.0, 2.0]}), ["x"])
    with pytest.raises(InputError, match="two departments"):
        inflation_model(pd.DataFrame({"department": ["A"] * 3, "gap": [1.0, 2, 3]}), gap="gap")


# --- perfsim estimate ------------------------------------------------------------------------

def test_cli_budget_change_on_a_run_reads_the_liupanshui_rule(tmp_path, capsys):
    from perfsim.cli import main

    out = tmp_path / "run"
    assert main(["run", str(SCENARIOS / "weighting_comparison.yaml"), "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["estimate", "budget-change", str(out / "allocations.csv"), "--json"]) == 0
    table = {row["term"]: row["estimate"] for row in
             json.loads(capsys.readouterr().out)["table"]}
    # against 优: 中 loses 15% and 差 everything, whatever the score (domain.md §4)
    assert table["grade[fair]"] == pytest.approx(-0.15, abs=1e-9)
    assert table["grade[poor]"] == pytest.approx(-1.0, abs=1e-9)


def test_cli_inflation_recovers_the_mean_gap(tmp_path, capsys):
    from perfsim.cli import main

    rng = np.random.default_rng(3)
    dep = np.repeat([f"D{k}" for k in range(20)], 30)
    effect = np.repeat(rng.normal(0, 2.0, 20), 30)
    recheck = rng.uniform(60, 95, dep.size)
    data = pd.DataFrame({"department": dep, "recheck_score": recheck,
                         "self_score": recheck + 4.0 + effect + rng.normal(0, 1.0, dep.size)})
    path = tmp_path / "checks.csv"
    data.to_csv(path, index=False, encoding="utf-8-sig")
    assert main(["estimate", "inflation", str(path), "--json"]) == 0
    row = next(r for r in json.loads(capsys.readouterr().out)["table"]
               if r["term"].startswith("intercept"))
    assert row["ci_low"] < 4.0 < row["ci_high"]


@pytest.mark.parametrize(("args", "fragment"), [
    (["grades", "{csv}"], "name the score columns"),
    (["inflation", "{missing}"], "file not found"),
    (["inflation", "{csv}"], "field 'department': 不存在 / no such column"),
])
def test_cli_estimate_bad_input_is_one_line(tmp_path, capsys, args, fragment):
    from perfsim.cli import main

    csv = tmp_path / "x.csv"
    csv.write_text("project_id,grade,score\nP1,excellent,95\n", encoding="utf-8")
    argv = [a.format(csv=csv, missing=tmp_path / "none.csv") for a in args]
    assert main(["estimate", *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and fragment in err[0]


@pytest.mark.parametrize("encoding", ["utf-8", "gb18030"])
@pytest.mark.parametrize(("model", "lines", "where", "field", "value"), [
    # the bad cell on the 5th line of the file: an empty line above it, which pandas skips
    ("inflation", ["department,self_score,recheck_score", "部门一,90,88", "", "部门一,85,80",
                   "部门二,70,abc", "部门二,60,58"], 5, "recheck_score", "'abc'"),
    ("budget-change", ["score,grade,budget,next_budget", "91,excellent,100,100", "",
                       "", "75,good,100,90", "66,fair,1e-300,50", "55,poor,100,0"], 6, "budget",
     "1e-300"),
])
def test_cli_estimate_names_the_row_a_spreadsheet_shows_past_empty_lines(
        tmp_path, capsys, encoding, model, lines, where, field, value):
    from perfsim.cli import main

    path = tmp_path / "data.csv"
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    assert main(["estimate", model, str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert f": 第 {where} 行 row {where}: 字段 field '{field}' = {value}" in err[0], err[0]
