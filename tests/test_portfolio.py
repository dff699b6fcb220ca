"""Portfolios: the CSV/Excel loader and its row-numbered errors, and the seeded synthetic
generator with its published-figure presets and grade_budgets pin."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import DATA, DATASETS

from perfsim.errors import InputError
from perfsim.kernel.grading import Grading
from perfsim.model.indicators import load_indicator_system
from perfsim.model.portfolio import (
    generate_portfolio,
    load_portfolio,
    portfolio_from_frame,
    preset,
)

MEASURED = DATA / "tiny_measured.csv"
SCORES = DATA / "tiny_scores.csv"


# --- loading --------------------------------------------------------------------------------

def test_score_portfolio_loads():
    pf = load_portfolio(SCORES)
    assert pf.n_projects == 5 and pf.has_scores
    assert pf.ids.tolist() == ["P1", "P2", "P3", "P4", "P5"]
    np.testing.assert_allclose(pf.budget, [1000, 2000, 4000, 3000, 500])
    np.testing.assert_allclose(pf.scores, [95, 70, 50, 85, 65])
    assert "5 projects, 2 departments, 10,500 yuan" in str(pf)


def test_measured_portfolio_scores_by_hand(tiny):
    pf = load_portfolio(MEASURED, tiny)
    assert not pf.has_scores
    assert set(pf.measured) == {"A.1.1", "A.1.2", "A.2", "B", "C", "C.self", "X.1"}
    # graded labels 好 / 中 / 差 become level positions 0 / 1 / 2
    np.testing.assert_array_equal(pf.table["A.2"], [0, 1, 2])
    # P1: everything full → 100
    # P2: A.1.1 20 × 0.8 = 16; A.1.2 12 days → −2 → 8; A.2 中 0.5 × 20 = 10; B 30 × 81/90 = 27;
    #     C 20 × 0.78 = 15.6, self 90 vs 78 gap 12 → −2 → 13.6; X.1 3 × 2 = 6 → leaf cap 5
    #     → 16 + 8 + 10 + 27 + 13.6 + 5 = 79.6
    # P3: A.1.1 10; A.1.2 30 days → −6 → 4; A.2 差 0; B 30 × 45/90 = 15; C 20 × 0.6 = 12
    #     (no gap); X.1 1 × 2 = 2 → 10 + 4 + 0 + 15 + 12 + 2 = 43
    np.testing.assert_allclose(tiny.score(pf.measurements()), [100, 79.6, 43])
    assert pf.flags()["has_targets"].tolist() == [True, True, False]
    assert pf.flags()["self_evaluated"].tolist() == [True, False, True]


def test_excel_portfolio_loads_the_same_as_csv(tiny, tmp_path):
    raw = pd.read_csv(MEASURED, dtype=str, keep_default_na=False)
    xlsx = tmp_path / "tiny_measured.xlsx"
    raw.to_excel(xlsx, index=False)
    from_csv = load_portfolio(MEASURED, tiny)
    from_xlsx = load_portfolio(xlsx, tiny)
    pd.testing.assert_frame_equal(from_xlsx.table, from_csv.table)
    assert from_xlsx.measured == from_csv.measured
    np.testing.assert_allclose(tiny.score(from_xlsx.measurements()),
                               tiny.score(from_csv.measurements()))


def test_excel_portfolio_with_native_numbers(tmp_path):
    xlsx = tmp_path / "scores.xlsx"
    pd.DataFrame({"project_id": ["A", "B"], "department": ["D", "D"],
                  "budget": [1.5e6, 2e6], "score": [88.5, 91]}).to_excel(xlsx, index=False)
    pf = load_portfolio(xlsx)
    np.testing.assert_allclose(pf.budget, [1.5e6, 2e6])
    np.testing.assert_allclose(pf.scores, [88.5, 91])


def test_thousands_separators_and_flag_spellings(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text('project_id,department,budget,score,has_targets\n'
                    'A,D,"1,250,000",80,是\nB,D,3000,70,0\nC,D,10,60,TRUE\n', encoding="utf-8")
    pf = load_portfolio(path)
    np.testing.assert_allclose(pf.budget, [1_250_000, 3000, 10])
    assert pf.flags()["has_targets"].tolist() == [True, False, True]


def _csv(tmp_path: Path, text: str, name: str = "p.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _load_error(path: Path, system=None) -> str:
    with pytest.raises(InputError) as info:
        load_portfolio(path, system)
    msg = str(info.value)
    assert path.name in msg
    assert "\n" not in msg
    return msg


HEADER = "project_id,department,budget,score\n"


def test_duplicate_id_names_both_rows(tmp_path):
    # header = row 1, P1 = row 2, P2 = row 3, the second P1 = row 4
    msg = _load_error(_csv(tmp_path, HEADER + "P1,D,1,80\nP2,D,1,80\nP1,D,1,80\n"))
    assert "row 4" in msg and "project_id" in msg and "'P1'" in msg and "row 2" in msg


def test_negative_budget_names_its_row(tmp_path):
    msg = _load_error(_csv(tmp_path, HEADER + "P1,D,1,80\nP2,D,-5,80\n"))
    assert "row 3" in msg and "budget" in msg and "-5" in msg and ">= 0" in msg


@pytest.mark.parametrize("bad", ["101", "-1", "100.5"])
def test_scores_outside_0_100(tmp_path, bad):
    msg = _load_error(_csv(tmp_path, HEADER + f"P1,D,1,80\nP2,D,1,90\nP3,D,1,{bad}\n"))
    assert "row 4" in msg and "score" in msg and bad in msg


def test_scores_may_reach_total_plus_bonus_with_a_system(tiny, tmp_path):
    # tiny: 100 points + bonus cap 5 → scores up to 105 are valid, 105.5 is not
    path = _csv(tmp_path, HEADER + "P1,D,1,105\n")
    assert load_portfolio(path, tiny).scores[0] == 105
    path = _csv(tmp_path, HEADER + "P1,D,1,105.5\n", "q.csv")
    assert "105.5" in _load_error(path, tiny)


def test_missing_value_names_row_and_column(tmp_path):
    msg = _load_error(_csv(tmp_path, HEADER + "P1,D,1,80\nP2,D,,80\nP3,D,1,70\n"))
    assert "row 3" in msg and "budget" in msg and "missing" in msg
    msg = _load_error(_csv(tmp_path, HEADER + "P1,D,1,80\nP2,D,1,80\nP3,D,1, \n", "q.csv"))
    assert "row 4" in msg and "score" in msg


def test_unknown_indicator_column(tiny, tmp_path):
    text = MEASURED.read_text(encoding="utf-8").replace("X.1,", "X.9,", 1)
    msg = _load_error(_csv(tmp_path, text), tiny)
    assert "X.9" in msg and "tiny" in msg


def test_unknown_column_without_a_system(tmp_path):
    msg = _load_error(_csv(tmp_path, "project_id,department,budget,score,colour\n"
                                     "P1,D,1,80,red\n"))
    assert "colour" in msg


def test_missing_indicator_column(tiny, tmp_path):
    df = pd.read_csv(MEASURED, dtype=str).drop(columns=["B"])
    path = tmp_path / "p.csv"
    df.to_csv(path, index=False)
    msg = _load_error(path, tiny)
    assert "'B'" in msg and "missing" in msg


def test_score_and_measurements_together_is_an_error(tiny, tmp_path):
    df = pd.read_csv(MEASURED, dtype=str).assign(score="80")
    path = tmp_path / "p.csv"
    df.to_csv(path, index=False)
    msg = _load_error(path, tiny)
    assert "score" in msg and "not both" in msg


def test_neither_score_nor_measurements(tmp_path):
    msg = _load_error(_csv(tmp_path, "project_id,department,budget\nP1,D,1\n"))
    assert "score" in msg


@pytest.mark.parametrize("text, needle", [
    ("project_id,budget,score\nP1,1,80\n", "department"),
    ("project_id,department,budget,score\n", "empty"),
    (HEADER + "P1,D,lots,80\n", "'lots'"),
    (HEADER.replace("score", "score,has_targets") + "P1,D,1,80,maybe\n", "'maybe'"),
    ("project_id,department,budget,score,score\nP1,D,1,80,80\n", "score"),
])
def test_other_loader_errors(tmp_path, text, needle):
    assert needle in _load_error(_csv(tmp_path, text))


def test_graded_column_accepts_labels_and_positions_but_not_other_words(tiny, tmp_path):
    df = pd.read_csv(MEASURED, dtype=str)
    df["A.2"] = ["好", "1", "2.0"]  # a label, a position, a position written as a float
    path = tmp_path / "p.csv"
    df.to_csv(path, index=False)
    np.testing.assert_array_equal(load_portfolio(path, tiny).table["A.2"], [0, 1, 2])
    df["A.2"] = ["好", "优秀", "差"]  # 优秀 is not one of 好 / 中 / 差, row 3
    df.to_csv(path, index=False)
    msg = _load_error(path, tiny)
    assert "row 3" in msg and "A.2" in msg and "'优秀'" in msg and "好, 中, 差" in msg


def test_missing_file_and_unknown_format(tmp_path):
    assert "file not found" in _load_error(tmp_path / "none.csv")
    assert "format" in _load_error(_csv(tmp_path, "x", "p.txt"))


def test_portfolio_from_frame_names_its_source():
    df = pd.DataFrame({"project_id": ["a"], "department": ["d"], "budget": [-1.0],
                       "score": [50.0]})
    with pytest.raises(InputError, match=r"^<test>: 第 2 行 row 2: 字段 field 'budget'"):
        portfolio_from_frame(df, source="<test>")


# --- the generator --------------------------------------------------------------------------

def test_generator_same_seed_same_table(national):
    a = generate_portfolio(national, seed=11, n_projects=200, n_departments=20,
                           total_budget=1e8)
    b = generate_portfolio(national, seed=11, n_projects=200, n_departments=20,
                           total_budget=1e8)
    pd.testing.assert_frame_equal(a.table, b.table)
    c = generate_portfolio(national, seed=12, n_projects=200, n_departments=20,
                           total_budget=1e8)
    assert not np.allclose(a.budget, c.budget)
    assert not np.allclose(a.table["SAT"], c.table["SAT"])


def test_generator_without_system_writes_scores():
    pf = generate_portfolio(seed=3, n_projects=300, n_departments=30, total_budget=5e7)
    assert pf.has_scores and pf.measured == ()
    assert np.all((pf.scores >= 0) & (pf.scores <= 100))
    assert pf.table["department"].nunique() == 30  # every department gets a project
    assert abs(pf.budget.sum() - 5e7) <= 300 * 0.005  # each budget rounded to the cent


def test_generated_measurements_survive_a_csv_round_trip(wenzhou, tmp_path):
    pf = generate_portfolio(wenzhou, seed=4, n_projects=60, n_departments=6, total_budget=1e7)
    path = tmp_path / "generated.csv"
    pf.table.to_csv(path, index=False)
    back = load_portfolio(path, wenzhou)
    np.testing.assert_allclose(wenzhou.score(back.measurements()),
                               wenzhou.score(pf.measurements()))
    scores = wenzhou.score(pf.measurements())
    assert np.all((scores >= 0) & (scores <= 110))


def test_grade_budgets_pin_holds_to_the_cent():
    pin = 12_345_678.91
    pf = generate_portfolio(seed=8, n_projects=400, n_departments=40, total_budget=1e9,
                            grade_budgets={"fair": pin})
    grade = Grading().grade(pf.scores)
    assert abs(pf.budget[grade == 2].sum() - pin) < 0.005
    assert abs(pf.budget.sum() - 1e9) < 0.005
    assert np.all(pf.budget >= 0)
    assert np.all(np.round(pf.budget, 2) == pf.budget)  # whole cents


def test_grade_budgets_pin_with_the_liupanshui_preset():
    pf = generate_portfolio(seed=2022, preset_name="liupanshui_2021", performance_mean=0.86,
                            performance_sd=0.07, observation_noise=0.03,
                            grade_budgets={"中": 853_333_333.33})
    grade = Grading().grade(pf.scores)
    assert abs(pf.budget[grade == 2].sum() - 853_333_333.33) < 0.005
    assert abs(pf.budget.sum() - 22.536e9) < 0.005
    assert pf.n_projects == 3468 and pf.table["department"].nunique() == 561


def _published() -> dict[str, float]:
    with open(DATASETS / "calibration" / "published_figures.csv", encoding="utf-8") as fh:
        return {row["key"]: float(row["value"]) for row in csv.DictReader(fh)}


def test_presets_come_from_the_published_figures():
    figures = _published()
    # domain.md §8: Liupanshui 2021, 3,468 projects, 561 departments, 22.536 billion yuan
    assert figures["liupanshui_2021_projects"] == 3468
    assert figures["liupanshui_2021_departments"] == 561
    assert figures["liupanshui_2021_funds_evaluated"] == 22.536e9
    assert preset("liupanshui_2021") == {"n_projects": 3468, "n_departments": 561,
                                         "total_budget": 22.536e9}
    z = preset("zhucheng_2022")
    # Zhucheng: 1,060 projects, 68 departments; budget = 1,060 × Liupanshui's mean per project
    assert z["n_projects"] == 1060 and z["n_departments"] == 68
    assert z["total_budget"] == pytest.approx(1060 * 22.536e9 / 3468)
    with pytest.raises(InputError, match="preset"):
        preset("atlantis")


@pytest.mark.parametrize("settings, field", [
    ({"n_projcts": 10}, "n_projcts"),
    ({"performance_mean": 1.5}, "performance_mean"),
    ({"performance_sd": 0.6}, "performance_sd"),
    ({"n_projects": 0}, "n_projects"),
    ({"total_budget": -1.0}, "total_budget"),
    ({"share_without_targets": 2}, "share_without_targets"),
    ({"grade_budgets": {"stellar": 1.0}}, "grade_budgets.stellar"),
    ({"grade_budgets": {"fair": 2e9}}, "grade_budgets.fair"),
    ({"grade_budgets": [1, 2]}, "grade_budgets"),
])
def test_generator_setting_errors(settings, field):
    base = {"n_projects": 50, "n_departments": 5, "total_budget": 1e9}
    with pytest.raises(InputError) as info:
        generate_portfolio(seed=1, **{**base, **settings})
    assert info.value.field == field


def test_generator_flags_follow_the_shares():
    pf = generate_portfolio(seed=5, n_projects=2000, n_departments=10, total_budget=1e9,
                            share_without_targets=1.0, share_not_self_evaluated=0.0)
    flags = pf.flags()
    assert not flags["has_targets"].any() and flags["self_evaluated"].all()


def test_published_figures_name_their_source_certainty_and_quote():
    df = pd.read_csv(DATASETS / "calibration" / "published_figures.csv")
    assert {"certainty", "document", "quote"} <= set(df.columns)
    assert set(df["certainty"]) == {"stated", "derived", "doubtful"}
    assert df["document"].notna().all() and df["quote"].notna().all()
    fig = dict(zip(df["key"], df["value"], strict=True))
    cert = dict(zip(df["key"], df["certainty"], strict=True))
    # the figures issue 11 asked for, and the rough translation's doubtful ones
    assert fig["liupanshui_2022_monitored_units"] == 111
    assert fig["weifang_reevaluated_funds"] == 2_048_000_000      # 20.48 亿元
    assert fig["fujian_sewage_award_fund_share"] == 0.1135
    assert cert["liupanshui_2022_poor_funds"] == cert["liupanshui_2022_preeval_reduced"] == (
        "doubtful")
    # derived rows follow from the stated ones: 128 million / 15%, and its share of 22.536 bn
    assert fig["liupanshui_2022_fair_budget"] == pytest.approx(
        fig["liupanshui_2022_fair_cut"] / fig["liupanshui_2022_fair_ratio"], abs=0.01)
    assert fig["liupanshui_2022_fair_money_share"] == pytest.approx(
        fig["liupanshui_2022_fair_budget"] / fig["liupanshui_2021_funds_evaluated"], abs=1e-7)


def test_the_liupanshui_scenario_calibrates_to_the_published_share():
    doc = yaml.safe_load((DATASETS / "scenarios" / "liupanshui_2022.yaml").read_text(
        encoding="utf-8"))
    gen = doc["portfolio"]["generate"]
    assert "grade_budgets" not in gen and gen["preset"] == "liupanshui_2021"
    share = _published()["liupanshui_2022_fair_money_share"]
    assert gen["calibrate"]["target"] == {"money_share.fair": share}


# --- the calibrated generator ---------------------------------------------------------------

SMALL = {"n_projects": 400, "n_departments": 20, "total_budget": 1e9, "performance_sd": 0.07,
         "observation_noise": 0.03}


def test_the_generator_moves_every_project_smoothly_with_a_setting():
    # common random numbers: a higher mean lifts every project's true score and leaves the
    # budgets as they were (no correlation); the ranking of projects stays the same
    low = generate_portfolio(seed=9, performance_mean=0.8, **SMALL)
    high = generate_portfolio(seed=9, performance_mean=0.9, **SMALL)
    np.testing.assert_array_equal(low.budget, high.budget)
    lo, hi = low.table["true_score"].to_numpy(), high.table["true_score"].to_numpy()
    assert np.all(hi >= lo)
    assert np.all((lo[:, None] < lo[None, :]) <= (hi[:, None] <= hi[None, :]))  # same order


def test_a_budget_score_correlation_makes_large_projects_score_higher():
    def rank_corr(pf):
        return pf.table["budget"].rank().corr(pf.table["true_score"].rank())

    assert abs(rank_corr(generate_portfolio(seed=9, **SMALL))) < 0.15
    assert rank_corr(generate_portfolio(seed=9, budget_score_correlation=0.8, **SMALL)) > 0.6


def test_a_calibrated_generator_meets_the_money_share_of_a_grade():
    goal = 0.05
    pf = generate_portfolio(seed=9, performance_mean=0.85, calibrate={
        "solve": "performance_mean", "target": {"money_share.fair": goal},
        "bounds": [0.8, 0.99]}, **SMALL)
    grade = Grading().grade(pf.scores)
    fair = pf.budget[grade == 2].sum() / pf.budget.sum()
    # within one project's share of the money of the target (the share moves in steps)
    assert abs(fair - goal) <= pf.budget.max() / pf.budget.sum()
    assert pf.calibration["solve"] == "performance_mean"
    assert pf.calibration["achieved"] == pytest.approx(fair, abs=1e-6)
    assert 0.8 < pf.calibration["value"] < 0.99
    # the solved mean regenerates the same portfolio without the calibration block
    again = generate_portfolio(seed=9, performance_mean=pf.calibration["value"], **SMALL)
    np.testing.assert_array_equal(again.scores, pf.scores)


@pytest.mark.parametrize("spec, field", [
    ({"solve": "n_projects", "target": {"money_share.fair": 0.05}}, "calibrate.solve"),
    ({"solve": "performance_mean", "target": {"money.fair": 0.05}}, "calibrate.target"),
    ({"solve": "performance_mean", "target": {"money_share.stellar": 0.05}},
     "calibrate.target.money_share.stellar"),
    ({"solve": "performance_mean", "target": {"money_share.fair": 2}},
     "calibrate.target.money_share.fair"),
    ({"solve": "performance_mean", "target": {"money_share.fair": 0.9}},
     "calibrate.target.money_share.fair"),
    ({"solve": "performance_mean", "target": {"money_share.fair": 0.05}, "bounds": [0.9, 0.8]},
     "calibrate.bounds"),
    ({"solve": "performance_mean"}, "calibrate"),
])
def test_calibrate_block_errors(spec, field):
    with pytest.raises(InputError) as info:
        generate_portfolio(seed=9, calibrate=spec, **SMALL)
    assert info.value.field == field and info.value.where == "generator"


def test_calibrate_and_grade_budgets_exclude_each_other():
    with pytest.raises(InputError, match="not both"):
        generate_portfolio(seed=9, grade_budgets={"fair": 1e6}, calibrate={
            "solve": "performance_mean", "target": {"money_share.fair": 0.05}}, **SMALL)


# --- the template workbook -------------------------------------------------------------------

@pytest.mark.parametrize("system_file", ["national_project_self_eval.yaml", "wenzhou_2013.yaml",
                                         "key_evaluation_framework.yaml"])
def test_the_template_reads_back_and_its_example_scores_full_marks(tmp_path, system_file):
    from openpyxl import load_workbook

    from perfsim.cli import main

    path = tmp_path / "mine.xlsx"
    system_path = DATASETS / "indicator_systems" / system_file
    assert main(["template", "portfolio", "--system", str(system_path), "--out", str(path)]) == 0
    system = load_indicator_system(system_path)
    pf = load_portfolio(path, system)
    assert pf.n_projects == 1
    assert float(system.score(pf.measurements())[0]) == system.total
    ws = load_workbook(path)["项目 projects"]
    graded = [leaf for leaf in system.indicators if "levels" in leaf.rule.params]
    lists = [dv.formula1 for dv in ws.data_validations.dataValidation]
    for leaf in graded:
        assert any(all(level in f for level in leaf.rule.params["levels"]) for f in lists)


def test_the_template_never_overwrites_a_file(tmp_path, capsys):
    from perfsim.cli import main

    path = tmp_path / "mine.xlsx"
    path.write_text("my own work", encoding="utf-8")
    assert main(["template", "portfolio", "--out", str(path)]) == 2
    assert "never overwrites" in capsys.readouterr().err
    assert path.read_text(encoding="utf-8") == "my own work"
