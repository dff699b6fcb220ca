"""Sensitivity without invented noise (a sample at the file's values is the one-year run),
Morris μ* of discrete factors, AHP consistency on the command line, structural variants from
a scenario file and as sensitivity factors, and the BoD bound that is set too tight."""

from __future__ import annotations

import csv
import json
import re

import numpy as np
import pytest
from conftest import DATASETS, SCENARIOS, one_error_line

from perfsim import cli
from perfsim.cli.common import set_parameters
from perfsim.errors import InputError
from perfsim.kernel import metrics as mx
from perfsim.kernel.bod import Bounds, check_bounds
from perfsim.kernel.weighting.ahp import ahp_weights
from perfsim.model.indicators import load_indicator_system, with_indicator
from perfsim.model.params import apply_changes
from perfsim.model.portfolio import load_portfolio
from perfsim.model.scenario import Scenario, load_scenario
from perfsim.run.sensitivity import (
    choice_index,
    evaluate_samples,
    morris,
    noisy,
    run_morris,
    sobol,
)
from perfsim.run.variants import changed
from perfsim.run.year import run_year

COMPARISON = SCENARIOS / "weighting_comparison.yaml"
NATIONAL = DATASETS / "indicator_systems" / "national_project_self_eval.yaml"
TEMPLATE_CSV = DATASETS / "portfolios" / "national_template_example.csv"


@pytest.fixture(scope="module")
def comparison() -> Scenario:
    return load_scenario(COMPARISON)


def one_year_metrics(sc: Scenario) -> list[str]:
    return [n for n, m in mx.registry(sc.grading.labels).items() if not m.monte_carlo]


def assert_one_year(Y: np.ndarray, sc: Scenario, names: list[str]) -> None:
    year = run_year(sc).metrics
    for name, y in zip(names, Y, strict=True):
        assert y == year[name], (name, y, year[name])


# --- item 2: no invented noise; exactness; Morris μ* of a discrete factor ----------------------

def test_a_scenario_without_a_simulation_block_gets_no_noise(comparison):
    assert not comparison.has_simulation
    assert noisy(comparison) is False
    assert noisy(comparison, noise=True) is True


def test_one_sample_at_the_files_values_is_the_one_year_run(comparison):
    # the file's ratio is 0.15: every metric of the one-year run (grade shares, money, gini)
    # to the last bit
    names = one_year_metrics(comparison)
    Y = evaluate_samples(comparison, ["linkage.ratio"], np.array([[0.15]]), metrics=names)
    assert_one_year(Y[0], comparison, names)
    # and a sample that drew a method is the one-year run of the scenario re-weighted with it
    choices = {"weighting.leaves.method": ["expert", "entropy"]}
    X = np.array([[0.25, 0.15], [0.75, 0.15]])
    Y = evaluate_samples(comparison, ["weighting.leaves.method", "linkage.ratio"], X,
                         metrics=names, choices=choices)
    assert_one_year(Y[0], comparison, names)
    assert_one_year(Y[1], apply_changes(comparison, {"weighting.leaves.method": "entropy"}),
                    names)


def with_simulation_block(tmp_path):
    """The comparison scenario with a simulation: block of self-evaluation noise only."""
    text = COMPARISON.read_text(encoding="utf-8").replace(
        "indicator_system: ../", f"indicator_system: {SCENARIOS.parent}/")
    path = tmp_path / "noisy.yaml"
    path.write_text(text + "simulation:\n  self_evaluation: {noise: 0.05}\n", encoding="utf-8")
    return path


def test_no_noise_on_a_scenario_with_a_simulation_block(tmp_path):
    sc = load_scenario(with_simulation_block(tmp_path))
    assert sc.has_simulation
    names = ["share_fair", "savings"]
    year = run_year(sc).metrics
    noisy_y = evaluate_samples(sc, ["linkage.ratio"], np.array([[0.15]]), metrics=names)[0]
    assert noisy_y[0] != year["share_fair"]        # the block's noise is on by default
    quiet = evaluate_samples(sc, ["linkage.ratio"], np.array([[0.15]]), metrics=names,
                             noise=False)[0]
    assert_one_year(quiet, sc, names)


def test_sobol_of_two_discrete_factors_is_the_variance_split_of_the_one_year_runs(comparison):
    # the exact split, from the four one-year runs (each combination a quarter of the draws)
    a_values, b_values = ["expert", "entropy"], ["weighted_sum", "geometric"]
    grid = np.array([[run_year(apply_changes(comparison, {"weighting.leaves.method": a,
                                                          "aggregation": b})
                               ).metrics["share_fair"] for b in b_values] for a in a_values])
    var = grid.var()
    s_a, s_b = grid.mean(axis=1).var() / var, grid.mean(axis=0).var() / var
    s_ab = 1 - s_a - s_b
    params = [{"name": "weighting.leaves.method", "values": a_values},
              {"name": "aggregation", "values": b_values}]
    res = sobol(comparison, params, 256, metrics=["share_fair"])
    assert res.info["noise"] is False
    t = res.table.set_index("parameter")
    for name, s1, st in (("weighting.leaves.method", s_a, s_a + s_ab),
                         ("aggregation", s_b, s_b + s_ab)):
        assert abs(t.loc[name, "S1"] - s1) <= t.loc[name, "S1_conf"] + 1e-12, (name, t, s1)
        assert abs(t.loc[name, "ST"] - st) <= t.loc[name, "ST_conf"] + 1e-12, (name, t, st)


def test_morris_mu_star_of_a_two_valued_factor_is_the_jump():
    # y = 3 + 4·[second value drawn] + 2·x: every move of d is a jump of 4; x's effect over
    # its whole range [0, 1] is 2
    def fn(X):
        return (3 + 4 * choice_index(X[:, 0], 2) + 2 * X[:, 1])[:, None]

    prob = {"num_vars": 2, "names": ["d", "x"], "bounds": [[0, 1], [0, 1]]}
    t = run_morris(fn, prob, 10, ["y"], seed=3, discrete=["d"]).table.set_index("parameter")
    assert t.loc["d", "mu_star"] == pytest.approx(4.0, abs=1e-12)
    assert t.loc["x", "mu_star"] == pytest.approx(2.0, abs=1e-12)


def test_morris_mu_star_of_a_three_valued_factor_is_the_mean_jump_of_the_design():
    values = np.array([0.0, 1.0, 5.0])

    def fn(X):
        return (values[choice_index(X[:, 0], 3)] + X[:, 1])[:, None]

    prob = {"num_vars": 2, "names": ["d", "x"], "bounds": [[0, 1], [0, 1]]}
    res = run_morris(fn, prob, 12, ["y"], seed=5, discrete=["d"])
    # independently: walk each trajectory (k + 1 = 3 points) and average |Δy| over the
    # moves of d
    X, Y = res.X, res.Y[:, 0]
    jumps = []
    for start in range(0, len(X), 3):
        for i in range(start, start + 2):
            if X[i, 0] != X[i + 1, 0]:
                jumps.append(abs(Y[i + 1] - Y[i]))
    assert len(jumps) == 12 and set(np.round(jumps, 12)) <= {1.0, 4.0, 5.0}
    t = res.table.set_index("parameter")
    assert t.loc["d", "mu_star"] == pytest.approx(np.mean(jumps), abs=1e-12)


def test_morris_on_the_model_gives_the_change_of_method(comparison):
    # grades do not depend on the linkage ratio: every jump of the aggregation changes the
    # share graded 中 by the same amount, that of the two one-year runs
    jump = abs(run_year(apply_changes(comparison, {"aggregation": "geometric"})
                        ).metrics["share_fair"] - run_year(comparison).metrics["share_fair"])
    assert jump > 0
    params = [{"name": "aggregation", "values": ["weighted_sum", "geometric"]},
              {"name": "linkage.ratio", "bounds": [0.10, 0.20]}]
    t = morris(comparison, params, 6, metrics=["share_fair"]).table.set_index("parameter")
    assert t.loc["aggregation", "mu_star"] == pytest.approx(jump, rel=1e-12)
    assert t.loc["linkage.ratio", "mu_star"] == 0.0


def test_cli_no_noise_and_the_default(capsys, tmp_path):
    params = tmp_path / "p.yaml"
    params.write_text("- {name: linkage.ratio, bounds: [0.10, 0.20]}\n", encoding="utf-8")
    block = with_simulation_block(tmp_path)
    for scenario, flags, noise in ((COMPARISON, [], False), (block, [], True),
                                   (block, ["--no-noise"], False)):
        code = cli.main(["sensitivity", str(scenario), "--params", str(params), "--method",
                         "morris", "--n", "2", "--metrics", "savings", "--json", *flags])
        out = capsys.readouterr().out
        assert code == 0 and json.loads(out)["noise"] is noise, (scenario, flags)


# --- item 3: AHP diagnostics and random-index tables ------------------------------------------

# a 3 × 3 reciprocal matrix has λmax = 1 + d^(1/3) + d^(-1/3), d = a13 / (a12 a23)
SAATY3 = np.array([[1, 1 / 3, 1 / 2], [3, 1, 3], [2, 1 / 3, 1]])


@pytest.mark.parametrize("table, ri", [("saaty1980", 0.58), ("alonso_lamata", 0.5247),
                                       ("saaty2005", 0.52), ("donegan_dodd", 0.4914)])
def test_cr_of_a_three_by_three_matrix_by_hand(table, ri):
    d = 0.5 / (1 / 3 * 3)
    lam = 1 + d ** (1 / 3) + d ** (-1 / 3)          # 3.0536
    res = ahp_weights(SAATY3, None, ri_table=table)
    assert res.lambda_max == pytest.approx(lam, rel=1e-12)
    assert res.ri == ri
    assert res.cr == pytest.approx((lam - 3) / 2 / ri, rel=1e-10)


def write_matrix(path, codes, m):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["", *codes])
        for code, row in zip(codes, m, strict=True):
            w.writerow([code, *[repr(float(x)) for x in row]])


def printed(line: str) -> dict[str, float]:
    return {k: float(v) for k, v in re.findall(r"(λmax|CI|RI|CR) = ([0-9.]+)", line)}


def test_cli_weights_prints_cr_lambda_and_ri_per_expert_and_combined(capsys, tmp_path):
    codes = ["OUT", "BEN", "SAT", "EXEC"]
    e1 = np.array([[1, 2, 5, 5], [1 / 2, 1, 3, 3], [1 / 5, 1 / 3, 1, 1], [1 / 5, 1 / 3, 1, 1]])
    e2 = np.array([[1, 1, 4, 3], [1, 1, 4, 4], [1 / 4, 1 / 4, 1, 1], [1 / 3, 1 / 4, 1, 1]])
    write_matrix(tmp_path / "e1.csv", codes, e1)
    write_matrix(tmp_path / "e2.csv", codes, e2)
    code = cli.main(["weights", "--method", "ahp", "--matrix", str(tmp_path / "e1.csv"),
                     "--matrix", str(tmp_path / "e2.csv"), "--ri-table", "donegan_dodd"])
    out = capsys.readouterr().out
    assert code == 0
    lines = [ln for ln in out.splitlines() if "λmax = " in ln]
    assert len(lines) == 3 and "expert 1" in lines[0] and "expert 2" in lines[1]
    assert "combined" in lines[2] and "donegan_dodd" in out
    combined = np.exp((np.log(e1) + np.log(e2)) / 2)
    for line, m in zip(lines, (e1, e2, combined), strict=True):
        lam = float(np.max(np.linalg.eigvals(m).real))
        got = printed(line)
        assert got["λmax"] == pytest.approx(lam, abs=5e-5), line
        assert got["RI"] == 0.8286
        assert got["CR"] == pytest.approx((lam - 4) / 3 / 0.8286, abs=5e-5), line


def test_cli_weights_single_matrix_and_no_lines_for_other_methods(capsys):
    matrix = DATASETS / "weighting" / "national_groups_ahp.csv"
    assert cli.main(["weights", "--method", "ahp", "--matrix", str(matrix)]) == 0
    out = capsys.readouterr().out
    lines = [ln for ln in out.splitlines() if "λmax = " in ln]
    assert len(lines) == 1 and "saaty1980" in out
    m = np.array([[1, 2, 4, 4], [1 / 2, 1, 3, 3], [1 / 4, 1 / 3, 1, 1], [1 / 4, 1 / 3, 1, 1]])
    lam = float(np.max(np.linalg.eigvals(m).real))
    assert printed(lines[0])["CR"] == pytest.approx((lam - 4) / 3 / 0.90, abs=5e-5)
    assert cli.main(["weights", "--method", "equal"]) == 0
    assert "λmax" not in capsys.readouterr().out


def test_cli_unknown_ri_table_is_one_line(capsys):
    matrix = DATASETS / "weighting" / "national_groups_ahp.csv"
    code = cli.main(["weights", "--method", "ahp", "--matrix", str(matrix),
                     "--ri-table", "ahpy"])
    line = one_error_line(capsys)
    assert code == 2 and "'ahpy'" in line and "donegan_dodd" in line and "saaty2005" in line


# --- item 4: structural variants from a file and as factors; BoD bounds -------------------------

NEW_LEAF = ("{code: NEW, name: {zh: 新指标, en: New}, points: 10, unit: '%', target: 100, "
            "rule: {kind: proportional}, to: BEN}")


def structural_files(tmp_path, block: str):
    rows = list(csv.reader(TEMPLATE_CSV.open(encoding="utf-8")))
    rows[0].append("NEW")
    for row, value in zip(rows[1:], ["100", "50", "0"], strict=True):
        row.append(value)
    with open(tmp_path / "pf.csv", "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)
    path = tmp_path / "s.yaml"
    path.write_text(f"name: structural\nindicator_system: {NATIONAL}\n"
                    "portfolio: {file: pf.csv}\n"
                    "grading: {labels: national, cutoffs: [90, 80, 60]}\n"
                    "linkage: {rule: liupanshui, ratio: 0.15}\n" + block, encoding="utf-8")
    return path


def group_points(sc: Scenario) -> dict[str, float]:
    s = sc.system
    return dict(zip(s.level1_codes, np.bincount(s.level1_index, weights=s.points), strict=True))


def test_a_scenario_file_removes_and_adds_indicators(tmp_path):
    path = structural_files(tmp_path, "indicators:\n  remove: SAT\n  give_to: OUT\n"
                                      f"  add: {NEW_LEAF}\n")
    sc = load_scenario(path)
    # SAT's 10 points go to OUT (60); NEW keeps its 10; BEN's 30 and EXEC's 10 make up the
    # remaining 30 in proportion (× 0.75): BEN 22.5 + 10, EXEC 7.5
    assert group_points(sc) == pytest.approx({"OUT": 60.0, "BEN": 32.5, "EXEC": 7.5})
    assert sc.system.points[sc.system.codes.index("NEW")] == pytest.approx(10.0)
    # the same as the Python route: the portfolio read with a system that has the leaf
    base = load_indicator_system(NATIONAL)
    reading = with_indicator(base, {"code": "NEW", "name": {"zh": "新指标", "en": "New"},
                                    "points": 10, "unit": "%", "target": 100,
                                    "rule": {"kind": "proportional"}}, "BEN")
    py = Scenario(name="py", portfolio=load_portfolio(tmp_path / "pf.csv", reading),
                  system=base, grading=sc.grading, linkage=sc.linkage)
    py = apply_changes(py, {"indicators.remove": "SAT", "indicators.give_to": "OUT",
                            "indicators.add": {"code": "NEW", "name": {"zh": "新指标",
                                                                       "en": "New"},
                                               "points": 10, "unit": "%", "target": 100,
                                               "rule": {"kind": "proportional"},
                                               "to": "BEN"}})
    np.testing.assert_array_equal(sc.scores(), py.scores())
    assert run_year(sc).metrics == run_year(py).metrics


def test_a_candidate_leaf_is_scored_only_where_added(tmp_path):
    path = structural_files(tmp_path, f"indicators:\n  candidates: [{NEW_LEAF}]\n")
    sc = load_scenario(path)
    assert "NEW" not in sc.system.codes and sc.system.points.sum() == pytest.approx(100)
    with_new = changed(sc, {"indicators.add": "NEW"})
    assert set_parameters(sc, ["indicators.add=NEW"]).system == with_new.system   # --set
    assert with_new.system.points[with_new.system.codes.index("NEW")] == pytest.approx(10)
    # as a discrete factor: none | NEW, each sample the one-year run of its variant
    names = ["share_good", "savings", "count_poor"]
    Y = evaluate_samples(sc, ["indicators.add"], np.array([[0.2], [0.8]]), metrics=names,
                         choices={"indicators.add": ["none", "NEW"]})
    assert_one_year(Y[0], sc, names)
    assert_one_year(Y[1], with_new, names)


def test_remove_as_a_sensitivity_factor(comparison, tmp_path):
    names = ["share_fair", "savings"]
    params = tmp_path / "p.yaml"
    params.write_text("- {name: indicators.remove, values: [none, SAT, BEN.ECO.1]}\n"
                      "- {name: indicators.move, values: [none, {code: EXEC, to: OUT}]}\n",
                      encoding="utf-8")
    X = np.array([[0.5, 0.9], [0.9, 0.1]])
    choices = {"indicators.remove": ["none", "SAT", "BEN.ECO.1"],
               "indicators.move": ["none", {"code": "EXEC", "to": "OUT"}]}
    Y = evaluate_samples(comparison, list(choices), X, metrics=names, choices=choices)
    assert_one_year(Y[0], apply_changes(comparison, {"indicators.remove": "SAT",
                                                     "indicators.move": {"code": "EXEC",
                                                                         "to": "OUT"}}), names)
    assert_one_year(Y[1], apply_changes(comparison, {"indicators.remove": "BEN.ECO.1"}), names)
    res = morris(comparison, params, 2, metrics=names)   # the params file loads and runs
    assert set(res.table["parameter"]) == set(choices)
    # a combination that makes no system is refused before any work, naming it
    params.write_text("- {name: indicators.remove, values: [none, EXEC]}\n"
                      "- {name: indicators.move, values: [none, {code: EXEC, to: OUT}]}\n",
                      encoding="utf-8")
    with pytest.raises(InputError) as exc:
        morris(comparison, params, 2, metrics=names)
    assert "indicators.remove = EXEC" in str(exc.value) and "p.yaml" in str(exc.value)


def test_bad_structural_entries_are_one_line(capsys, tmp_path):
    path = structural_files(tmp_path, "indicators:\n  drop: SAT\n")
    assert cli.main(["run", str(path), "--out", str(tmp_path / "out")]) == 2
    line = one_error_line(capsys)
    assert "s.yaml" in line and "'indicators.drop'" in line and "remove" in line
    path = structural_files(tmp_path, f"indicators:\n  remove: NOPE\n  candidates: [{NEW_LEAF}]\n")
    assert cli.main(["run", str(path), "--out", str(tmp_path / "out")]) == 2
    line = one_error_line(capsys)
    assert "s.yaml" in line and "NOPE" in line
    params = tmp_path / "p.yaml"
    params.write_text("- {name: indicators.remove, values: [none, NOPE]}\n", encoding="utf-8")
    assert cli.main(["sensitivity", str(COMPARISON), "--params", str(params)]) == 2
    line = one_error_line(capsys)
    assert "p.yaml" in line and "parameter 1" in line and "NOPE" in line


def test_bod_names_the_group_bound_set_too_tight_not_the_first_that_relaxes():
    # A and B (group G1) may each hold at most a quarter; G1 must hold 70%. Relaxing A's
    # upper bound alone would also restore feasibility (and A comes first), but the bound
    # that stands against the others is G1's lower bound: at most 0.25 + 0.25 = 0.5.
    b = Bounds(np.zeros(4), np.full(4, 0.25), np.array([0, 0, 1, 1]), np.array([0.7, 0.0]),
               np.ones(2), ("A", "B", "C", "D"), ("G1", "G2"))
    with pytest.raises(InputError) as exc:
        check_bounds(b, "b.yaml")
    err = exc.value
    assert (err.where, err.field, err.value) == ("bounds, group G1", "lower", 0.7)
    assert "indicator A upper 0.25" in str(err) and "admit it at 0.5" in str(err)
    ok = Bounds(b.lower, b.upper, b.group, np.array([0.5, 0.0]), b.group_upper, b.codes,
                b.group_codes)
    check_bounds(ok)                       # the value it names is admitted
    tighter = Bounds(b.lower, b.upper, b.group, np.array([0.5001, 0.0]), b.group_upper,
                     b.codes, b.group_codes)
    with pytest.raises(InputError):        # and no more
        check_bounds(tighter)


def test_bod_group_upper_bound_against_two_lower_bounds():
    # A ≥ 0.3 and B ≥ 0.3 but their group at most 0.5: the group's cap is named, met at 0.6
    b = Bounds(np.array([0.3, 0.3, 0, 0]), np.ones(4), np.array([0, 0, 1, 1]), np.zeros(2),
               np.array([0.5, 1.0]), ("A", "B", "C", "D"), ("G1", "G2"))
    with pytest.raises(InputError) as exc:
        check_bounds(b)
    assert (exc.value.where, exc.value.field, exc.value.value) == ("bounds, group G1",
                                                                   "upper", 0.5)
    assert "admit it at 0.6" in str(exc.value)


def test_whole_blocks_as_a_factor(comparison):
    block = {"remove": "SAT", "give_to": "OUT"}
    choices = {"indicators": ["none", block]}
    Y = evaluate_samples(comparison, ["indicators"], np.array([[0.1], [0.9]]),
                         metrics=["share_good", "savings"], choices=choices)
    assert_one_year(Y[0], comparison, ["share_good", "savings"])
    assert_one_year(Y[1], apply_changes(comparison, {"indicators.remove": "SAT",
                                                     "indicators.give_to": "OUT"}),
                    ["share_good", "savings"])
    with pytest.raises(InputError, match="drawn beside the factor indicators"):
        morris(comparison, [{"name": "indicators", "values": ["none", block]},
                            {"name": "indicators.remove", "values": ["none", "EXEC"]}], 2)
    with pytest.raises(InputError, match="'indicators.drop'"):
        morris(comparison, [{"name": "indicators", "values": ["none", {"drop": "SAT"}]}], 2)
