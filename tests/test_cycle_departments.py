"""Department-overall results from project results: budget-weighted scores, ranks and
advanced units (先进单位), by hand, from the command line and in the Monte Carlo."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import SCENARIOS
from scipy import stats

import perfsim
from perfsim.cli import main
from perfsim.errors import InputError
from perfsim.kernel.metrics import top_units, unit_scores
from perfsim.run.year import department_results

# three departments; 甲: 90 on 100 and 60 on 300 → (9000 + 18000) / 400 = 67.5
# 乙: 80 on 200 → 80; 丙: 70 on 100 and 95 on 100 → 82.5
ROWS = pd.DataFrame({"project_id": ["P1", "P2", "P3", "P4", "P5"],
                     "department": ["甲", "甲", "乙", "丙", "丙"],
                     "budget": [100.0, 300.0, 200.0, 100.0, 100.0],
                     "score": [90.0, 60.0, 80.0, 70.0, 95.0]})


def write(tmp_path):
    ROWS.to_csv(tmp_path / "pf.csv", index=False)
    path = tmp_path / "sc.yaml"
    path.write_text("name: deps\nseed: 3\nportfolio: {file: pf.csv}\n"
                    "grading: {labels: national, cutoffs: [90, 80, 60]}\n"
                    "linkage: {rule: liupanshui, ratio: 0.15}\n", encoding="utf-8")
    return path


def test_department_scores_ranks_and_advanced_units_by_hand(tmp_path):
    table = department_results(perfsim.load(write(tmp_path)).run_year(), 0.34)
    assert table["department"].tolist() == ["丙", "乙", "甲"]
    assert table["score"].tolist() == [82.5, 80.0, 67.5]
    assert table["mean_score"].tolist() == [82.5, 80.0, 75.0]
    assert table["rank"].tolist() == [1, 2, 3]
    # the top 34% of three departments is one (floor of 1.02)
    assert table["advanced"].tolist() == [True, False, False]
    # next year (Liupanshui 15%): 甲 keeps 90 (优) and 0.85 × 60's 300 = 100 + 255
    assert table.set_index("department").loc["甲", "next_budget"] == 355.0
    assert table["projects"].tolist() == [2, 1, 2]


def test_unit_scores_agree_with_a_groupby_and_ties_share_the_advanced_line():
    rng = np.random.default_rng(5)
    score, budget = rng.uniform(40, 100, (3, 50)), rng.uniform(1, 10, 50)
    units = rng.integers(0, 7, 50)
    got = unit_scores(score, budget, units, 7)
    for r in range(3):
        frame = pd.DataFrame({"u": units, "sw": score[r] * budget, "w": budget})
        g = frame.groupby("u").sum()
        np.testing.assert_allclose(got[r], (g["sw"] / g["w"]).reindex(range(7)).to_numpy(),
                                   rtol=1e-12)
    # a unit with no active budget has no score and is never advanced
    active = np.ones((3, 50), dtype=bool)
    active[:, units == 2] = False
    assert np.isnan(unit_scores(score, budget, units, 7, active)[:, 2]).all()
    assert top_units(np.array([[3.0, 9.0, 9.0, np.nan, 1.0]]), 0.25).tolist() == [
        [False, True, True, False, False]]   # one of four, the tie at the line included
    assert top_units(np.array([[np.nan, np.nan]]), 0.5).tolist() == [[False, False]]


def test_the_command_line_writes_departments_csv(tmp_path, capsys):
    path = write(tmp_path)
    assert main(["run", str(path), "--advanced-share", "0.34", "--out",
                 str(tmp_path / "o")]) == 0
    deps = pd.read_csv(tmp_path / "o" / "departments.csv", encoding="utf-8-sig")
    assert deps["department"].tolist() == ["丙", "乙", "甲"]
    assert deps["advanced"].tolist() == [True, False, False]
    assert main(["run", str(path), "--advanced-share", "1.5", "--out",
                 str(tmp_path / "p")]) == 2
    assert main(["run", str(path), "--advanced-share", "0.2", "--replications", "2",
                 "--out", str(tmp_path / "q")]) == 2
    err = capsys.readouterr().err
    assert "--advanced-share" in err and "Traceback" not in err
    with pytest.raises(InputError):
        department_results(perfsim.load(path).run_year(), 0)


def test_wenzhou_names_its_top_20_percent_department_as_advanced():
    year = perfsim.load(SCENARIOS / "wenzhou_2013.yaml").run_year()
    table = department_results(year, 0.2)
    # its rows are departments on their own table: 戊 108.10 is the one advanced unit
    assert table.loc[table["advanced"], "department"].tolist() == ["示例部门戊"]


def test_department_rank_stability_is_a_monte_carlo_metric(tmp_path):
    sc = perfsim.load(SCENARIOS / "xingzi.yaml")
    quiet = sc.simulate(replications=1, years=1, noise=False).replications
    assert quiet["department_rank_stability"].tolist() == [1.0]   # the truth is observed
    noisy = sc.simulate(replications=8, years=1).summary
    # against an independent computation on the first replication's sample
    mc = sc.simulate(replications=1, years=1)
    s = mc.sample
    s = s[s["department"] != "D14"]   # D14 refused to self-evaluate: none of it is graded
    w = s["budget"]
    seen = (s["final_score"] * w).groupby(s["department"]).sum() / w.groupby(
        s["department"]).sum()
    true = (s["true_score"] * w).groupby(s["department"]).sum() / w.groupby(
        s["department"]).sum()
    rho = stats.spearmanr(seen, true).statistic
    assert mc.replications["department_rank_stability"].iloc[0] == pytest.approx(rho,
                                                                                 rel=1e-12)
    assert 0 < noisy["metrics"]["department_rank_stability"][0]["mean"] < 1
