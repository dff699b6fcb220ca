"""One constraint table checks values however they arrive, thresholds in points against the
scenario's most points, references to the portfolio checked to exist, unknown keys refused.

The tiny portfolio (``tests/data/tiny_scores.csv``) has five projects in departments D1 and
D2, budgets 1000, 2000, 4000, 3000 and 500 yuan and no indicator system: its most points are
100. The tiny indicator system (``tests/data/tiny_system.yaml``) has 100 points and a bonus
cap of 5: 105.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import DATA, SCENARIOS, one_error_line, tiny_measured_scenario

import perfsim
from perfsim.app import compute
from perfsim.cli import main
from perfsim.errors import InputError
from perfsim.model.scenario import load_scenario
from perfsim.model.settings import Settings

LIUPANSHUI = "{rule: liupanshui, ratio: 0.15, pool: treasury}"


def scenario_file(folder: Path, *, linkage: str = LIUPANSHUI,
                  grading: str = "{labels: national, cutoffs: [90, 80, 60]}",
                  portfolio: Path = DATA / "tiny_scores.csv", extra: str = "",
                  name: str = "s") -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(f"name: {name}\nseed: 1\nportfolio: {{file: {portfolio}}}\n"
                    f"grading: {grading}\nlinkage: {linkage}\n{extra}", encoding="utf-8")
    return path


def problem(call) -> str:
    """The problem of the one-line error ``call`` raises."""
    with pytest.raises(InputError) as err:
        call()
    assert "\n" not in str(err.value)
    return err.value.problem


def cli_refusal(capsys, *args: str) -> str:
    """The one error line of a command that must refuse its input (exit 2)."""
    code = main(list(args))
    line = one_error_line(capsys)
    assert code == 2, line
    return line


# --- grade cutoffs: a whole block via --set, the app, a file -------------------------------

def test_cutoffs_above_the_most_points_are_refused_by_every_route(tmp_path, capsys):
    path = scenario_file(tmp_path)
    sc = perfsim.load(path)
    block = {"labels": "national", "cutoffs": [150, 80, 60]}
    words = "must be a number in [0, 100] (points)"
    by_set = problem(lambda: sc.set({"grading": block}))
    by_app = problem(lambda: sc.set(compute.changes(sc, {"grading.cutoffs.excellent": 150})))
    by_file = problem(lambda: load_scenario(scenario_file(
        tmp_path, grading="{labels: national, cutoffs: [150, 80, 60]}", name="f")))
    assert by_set == by_app == by_file == words
    line = cli_refusal(capsys, "run", str(path), "--set",
                       "grading={labels: national, cutoffs: [150, 80, 60]}",
                       "--out", str(tmp_path / "o"))
    assert "'grading.cutoffs[0]' = 150" in line and "[0, 100]" in line
    assert not (tmp_path / "o").exists()


def test_the_bound_of_a_cutoff_is_the_systems_total_plus_its_bonus_cap(tmp_path, capsys):
    sc = perfsim.load(tiny_measured_scenario(tmp_path))
    assert sc.total == 105.0       # 100 points + a bonus cap of 5
    assert sc.set({"grading": {"labels": "national", "cutoffs": [105, 80, 60]}}) \
        .grading.cutoffs == (105, 80, 60)
    assert problem(lambda: sc.set({"grading": {"labels": "national",
                                               "cutoffs": [105.5, 80, 60]}})) \
        == "must be a number in [0, 105] (points)"


def test_cutoffs_not_strictly_decreasing_are_refused_in_one_line(tmp_path, capsys):
    sc = perfsim.load(scenario_file(tmp_path))
    for cut in ([80, 90, 60], [90, 90, 60]):
        assert "strictly descending" in problem(
            lambda cut=cut: sc.set({"grading": {"labels": "national", "cutoffs": cut}}))
    line = cli_refusal(capsys, "run", str(scenario_file(tmp_path)), "--set",
                       "grading={labels: national, cutoffs: [80, 90, 60]}",
                       "--out", str(tmp_path / "o"))
    assert "严格递减" in line and "strictly descending" in line


# --- thresholds in points -------------------------------------------------------------------

@pytest.mark.parametrize("rule, path", [
    ("pre_evaluation: {reject_below: %s}", "linkage.pre_evaluation.reject_below"),
    ("zero_performance: {below: %s}", "linkage.zero_performance.below"),
])
def test_thresholds_in_points_are_checked_against_the_most_points(tmp_path, capsys, rule,
                                                                  path):
    def linkage(value: float) -> str:
        return "{rule: liupanshui, ratio: 0.15, " + rule % value + "}"

    sc = perfsim.load(scenario_file(tmp_path))
    words = "must be a number in [0, 100] (points)"
    assert problem(lambda: load_scenario(scenario_file(tmp_path, linkage=linkage(500),
                                                       name="f"))) == words
    block = {"rule": "liupanshui", "ratio": 0.15, **_yaml(rule % 500)}
    assert problem(lambda: sc.set({"linkage": block})) == words
    line = cli_refusal(capsys, "run", str(scenario_file(tmp_path)), "--set",
                       f"linkage={linkage(500)}", "--out", str(tmp_path / "o"))
    assert f"'{path}' = 500" in line and "[0, 100]" in line
    # the most points themselves are a threshold a rule may hold
    load_scenario(scenario_file(tmp_path, linkage=linkage(100), name="ok"))


def _yaml(text: str) -> dict:
    import yaml

    return yaml.safe_load("{" + text + "}")


def test_settings_in_points_are_bounded_by_the_scenarios_most_points():
    """fujian_housing's indicator system has 93 points and no bonus: an unchecked bonus of 93
    points is the most it can give."""
    sc = perfsim.load(SCENARIOS / "fujian_housing.yaml")
    assert sc.total == 93.0
    assert sc.set({"simulation.spot_check.unchecked_bonus": 93}).settings.unchecked_bonus == 93
    assert problem(lambda: sc.set({"simulation.spot_check.unchecked_bonus": 93.5})) \
        == "must be a number in [0, 93] (points)"
    # settings alone know no scenario: only the lower bound
    assert Settings(unchecked_bonus=150.0).unchecked_bonus == 150.0


# --- coverage -------------------------------------------------------------------------------

def test_a_coverage_rule_without_a_budget_line_needs_a_share_above_zero(tmp_path, capsys):
    bad = "{rule: liupanshui, ratio: 0.15, coverage: {funds_share: 0, by: portfolio}}"
    assert "must be > 0" in problem(lambda: load_scenario(scenario_file(tmp_path,
                                                                         linkage=bad)))
    line = cli_refusal(capsys, "run", str(scenario_file(tmp_path, name="ok")), "--set",
                       f"linkage={bad}", "--out", str(tmp_path / "o"))
    assert "'linkage.coverage.funds_share' = 0" in line and "必须 > 0" in line
    share = perfsim.load(scenario_file(
        tmp_path, linkage="{rule: liupanshui, ratio: 0.15, coverage: {funds_share: 0.5, "
                          "by: portfolio}}", name="share"))
    assert "must be > 0" in problem(lambda: share.set({"linkage.coverage.funds_share": 0}))
    assert share.set({"linkage.coverage.funds_share": 0.25}).linkage.coverage.funds_share \
        == 0.25
    # calibration bounds and sensitivity ranges: each end set as set sets it
    from perfsim.model.params import check_bounds
    from perfsim.run.sensitivity import params_from_list

    par = share.parameters["linkage.coverage.funds_share"]
    assert "must be > 0" in problem(lambda: check_bounds(par, [0, 0.6], scenario=share))
    assert "must be > 0" in problem(lambda: params_from_list(
        share, [{"name": "linkage.coverage.funds_share", "bounds": [0, 0.6]}]))
    assert check_bounds(par, [0.1, 0.6], scenario=share) == (0.1, 0.6)


def test_a_coverage_rule_with_a_budget_line_may_have_no_share(tmp_path):
    """Budgets 1000, 2000, 4000, 3000, 500: a line of 1500 yuan evaluates P2, P3, P4."""
    sc = load_scenario(scenario_file(
        tmp_path, linkage="{rule: liupanshui, ratio: 0.15, coverage: {min_budget: 1500, "
                          "funds_share: 0}}"))
    got = sc.linkage.coverage.evaluated(sc.portfolio.budget)
    assert got.tolist() == [[False, True, True, True, False]]


# --- references to the portfolio --------------------------------------------------------------

def test_a_cross_year_rule_needs_the_years_left_column(tmp_path, capsys):
    rule = "{rule: liupanshui, ratio: 0.15, cross_year: {evaluation: deferred}}"
    for route in ("file", "set"):
        if route == "file":
            args = ["validate", str(scenario_file(tmp_path, linkage=rule))]
        else:
            args = ["run", str(scenario_file(tmp_path, name="plain")), "--set",
                    f"linkage={rule}", "--out", str(tmp_path / "o")]
        line = cli_refusal(capsys, *args)
        assert "tiny_scores.csv" in line and "'years_left'" in line
        assert "缺少必需的列" in line and "cross_year" in line
    csv = (DATA / "tiny_scores.csv").read_text(encoding="utf-8").splitlines()
    rows = [csv[0] + ",years_left"] + [r + f",{k}" for k, r in enumerate(csv[1:], 1)]
    with_years = tmp_path / "years.csv"
    with_years.write_text("\n".join(rows) + "\n", encoding="utf-8")
    sc = load_scenario(scenario_file(tmp_path, linkage=rule, portfolio=with_years,
                                     name="years"))
    assert sc.portfolio.years_left.tolist() == [1, 2, 3, 4, 5]


@pytest.mark.parametrize("block", ["spot_check: {risk_departments: {D9: 2}}",
                                   "self_evaluation: {by_department: {D9: 0.1}}"])
def test_a_department_the_portfolio_lacks_is_refused(tmp_path, capsys, block):
    path = scenario_file(tmp_path, extra=f"simulation: {{{block}}}\n")
    line = cli_refusal(capsys, "validate", str(path))
    assert "'D9'" in line and "项目表中没有这个部门" in line
    assert str(path) in line
    ok = scenario_file(tmp_path, extra=f"simulation: {{{block.replace('D9', 'D2')}}}\n",
                       name="ok")
    assert load_scenario(ok).source == str(ok)
    sc = perfsim.load(ok)
    key = "simulation.spot_check.risk_departments" if "risk" in block else \
        "simulation.self_evaluation.by_department"
    value = {"D9": 2} if "risk" in block else {"D9": 0.1}
    assert problem(lambda: sc.set({key: value})) == "no such department in the portfolio"


# --- simulation values however they arrive -------------------------------------------------

@pytest.mark.parametrize("value, shown", [("-1000", "-1000"), (".nan", "nan"),
                                          ("lots", "'lots'"), ("150", "150")])
def test_unchecked_bonus_out_of_range_is_one_line(tmp_path, capsys, value, shown):
    path = scenario_file(tmp_path)
    line = cli_refusal(capsys, "run", str(path), "--set",
                       f"simulation.spot_check.unchecked_bonus={value}",
                       "--out", str(tmp_path / "o"))
    assert f"'simulation.spot_check.unchecked_bonus' = {shown}" in line
    bad = scenario_file(tmp_path, extra=f"simulation: {{spot_check: {{unchecked_bonus: "
                                        f"{value}}}}}\n", name="f")
    line = cli_refusal(capsys, "validate", str(bad))
    assert f"'simulation.spot_check.unchecked_bonus' = {shown}" in line and str(bad) in line


def test_unchecked_bonus_up_to_the_most_points_is_accepted(tmp_path):
    sc = perfsim.load(scenario_file(tmp_path))
    assert sc.set({"simulation.spot_check.unchecked_bonus": 100}).settings.unchecked_bonus \
        == 100


def test_the_ratio_range_stays_within_the_liupanshui_rule(tmp_path, capsys):
    """The source (datasets/scenarios/liupanshui_2022.yaml, E2): 中 cut 10%-20%."""
    line = cli_refusal(capsys, "run", str(scenario_file(tmp_path)), "--set",
                       "simulation.uncertainty.ratio=[0, 0.9]", "--out", str(tmp_path / "o"))
    assert "'simulation.uncertainty.ratio' = [0, 0.9]" in line and "[0.1, 0.2]" in line
    sc = perfsim.load(scenario_file(tmp_path))
    for pair in ([0.05, 0.15], [0.15, 0.25], [0.2, 0.1]):
        assert "each end must be" in problem(
            lambda pair=pair: sc.set({"simulation.uncertainty.ratio": pair}))
    assert sc.set({"simulation.uncertainty.ratio": [0.12, 0.18]}).settings.ratio_range \
        == (0.12, 0.18)


# --- robust --bounds ------------------------------------------------------------------------

def test_robust_bounds_file_refuses_unknown_keys(tmp_path, capsys):
    sc = tiny_measured_scenario(tmp_path)
    bounds = tmp_path / "b.yaml"
    bounds.write_text("bounds: {leaves: {default: [0, 1]}}\nbonds: {}\n", encoding="utf-8")
    line = cli_refusal(capsys, "robust", "bod", str(sc), "--bounds", str(bounds))
    assert "'bonds'" in line and "未知的键" in line and str(bounds) in line
    bounds.write_text("bounds: {leaves: {default: [0, 1]}}\n", encoding="utf-8")
    assert main(["robust", "bod", str(sc), "--bounds", str(bounds)]) == 0


# --- observed scores ------------------------------------------------------------------------

@pytest.mark.parametrize("rows, words", [
    ("P1,90\nP2,200\nP3,50\n", ["第 3 行 row 3", "'score' = 200", "[0, 105]"]),
    ("P1,90\nP2,80\nP1,70\nP3,50\n", ["第 4 行 row 4", "'project_id' = 'P1'",
                                      "first at row 2"]),
    ("P1,90\nP2,\nP3,50\n", ["第 3 行 row 3", "'score' = ''"]),
    ("P1,90\nP2,-1\nP3,50\n", ["第 3 行 row 3", "'score' = -1"]),
])
def test_observed_scores_are_refused_naming_file_row_and_field(tmp_path, capsys, rows, words):
    sc = tiny_measured_scenario(tmp_path)
    obs = tmp_path / "observed.csv"
    obs.write_text("project_id,score\n" + rows, encoding="utf-8")
    line = cli_refusal(capsys, "calibrate", str(sc), "--solve", "weights", "--target",
                       f"observed_scores={obs}")
    assert str(obs) in line
    for w in words:
        assert w in line


def test_observed_scores_within_range_fit_weights(tmp_path):
    """Scores made from known group points (A 40, B 20, C 40 on the tiny system) are found
    again: the rows are read by project id, in any order."""
    from perfsim.run.fit_weights import fit_weights

    sc = perfsim.load(tiny_measured_scenario(tmp_path))
    att = np.asarray(sc.system.attainment(sc.portfolio.measurements()), dtype=float)
    groups = sc.system.level1_index
    share = sc.system.points / np.bincount(groups, weights=sc.system.points)[groups]
    bonus = np.asarray(sc.system.bonus_points(sc.portfolio.measurements()), dtype=float)
    want = np.array([40.0, 20.0, 40.0])
    scores = (att * share) @ np.eye(3)[groups] @ want + bonus
    obs = tmp_path / "observed.csv"
    obs.write_text("project_id,score\n" + "".join(
        f"{i},{float(s)!r}\n" for i, s in reversed(list(zip(sc.portfolio.ids, scores,
                                                      strict=True)))), encoding="utf-8")
    res = fit_weights(sc, "weights", "observed_scores", obs)
    assert np.allclose(res.value, want, atol=1e-3)


# --- notebook parameters, before any kernel ------------------------------------------------

@pytest.mark.parametrize("name, value, words", [
    ("ratio", "0.3", ["'linkage.ratio' = 0.3", "[0.1, 0.2]"]),
    ("replications", "-5", ["'simulation.replications' = -5", "≥ 1"]),
    ("ratios", "[0.1, 0.25]", ["ratios, item 2", "'linkage.ratio' = 0.25"]),
    ("seed", "-1", ["'seed' = -1", "≥ 0"]),
])
def test_notebook_parameters_out_of_range_are_refused_before_the_kernel(tmp_path, capsys,
                                                                        name, value, words):
    reports = tmp_path / "reports"
    line = cli_refusal(capsys, "notebooks", "run", "04", "-p", name, value, "--out",
                       str(reports))
    assert "04_reduction_ratio" in line
    for w in words:
        assert w in line
    assert not reports.exists() or not any(reports.iterdir())


def test_a_parameter_file_and_a_sweep_grid_are_checked_the_same_way(tmp_path, capsys):
    params = tmp_path / "p.yaml"
    params.write_text("ratio: 0.05\n", encoding="utf-8")
    reports = tmp_path / "reports"
    line = cli_refusal(capsys, "notebooks", "run", "04", "--params", str(params), "--out",
                       str(reports))
    assert str(params) in line and "'linkage.ratio' = 0.05" in line
    grid = tmp_path / "g.yaml"
    grid.write_text("notebook: 04\ngrid: {ratio: [0.15, 0.9]}\n", encoding="utf-8")
    line = cli_refusal(capsys, "sweep", str(grid), "--out", str(reports))
    assert "'linkage.ratio' = 0.9" in line
    assert not reports.exists() or not any(reports.iterdir())


def test_notebook_points_are_bounded_by_the_scenario_the_notebook_reads(tmp_path, capsys):
    """Notebook 06 reads liupanshui_2022 (no indicator system: 100 points)."""
    from perfsim.notebooks.parameters import find_notebook, resolve_parameters

    book = find_notebook("06")
    assert resolve_parameters(book, texts={"unchecked_bonus": "100"}) == {
        "unchecked_bonus": 100.0}
    with pytest.raises(InputError) as err:
        resolve_parameters(book, texts={"penalties": "[5, 100.5]"})
    assert err.value.problem == "must be a number in [0, 100] (points)"
    line = cli_refusal(capsys, "notebooks", "run", "06", "-p", "unchecked_bonus", "lots",
                       "--out", str(tmp_path / "r"))
    assert "unchecked_bonus" in line and "'lots'" in line
