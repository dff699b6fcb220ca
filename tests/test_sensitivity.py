"""Global sensitivity (perfsim.run.sensitivity): Sobol on an additive model with known indices,
Morris screening, the vectorised model (chunk-invariant, hand-checked, consistent with the
Monte Carlo), the params file and the command line."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from conftest import SCENARIOS
from docs_pages import page

from perfsim import cli
from perfsim.errors import InputError
from perfsim.io import MARKER
from perfsim.kernel.grading import Grading
from perfsim.kernel.linkage import liupanshui
from perfsim.model.indicators import load_indicator_system
from perfsim.model.portfolio import DATASETS, generate_portfolio, portfolio_from_frame
from perfsim.model.scenario import Scenario, load_scenario
from perfsim.model.settings import settings_from_dict
from perfsim.present.plots import plot_sensitivity
from perfsim.run.sensitivity import (
    DEFAULT_METRICS,
    evaluate_samples,
    load_params,
    morris,
    params_from_list,
    run_morris,
    run_sobol,
    sobol,
    tidy_long,
)
from perfsim.run.simulate import simulate

LIUPANSHUI = SCENARIOS / "liupanshui_2022.yaml"


# --- the SALib path on models with known answers ------------------------------------------------

def additive(X: np.ndarray) -> np.ndarray:
    # Y = X1 + 2 X2 + 1.5 X3 + 0 X4 + 4 (X5 − 1/2)^2, X3 ~ U(0, 2), the others ~ U(0, 1)
    return (X[:, 0] + 2 * X[:, 1] + 1.5 * X[:, 2] + 0 * X[:, 3]
            + 4 * (X[:, 4] - 0.5) ** 2)[:, None]


ADDITIVE = {"num_vars": 5, "names": ["x1", "x2", "x3", "x4", "x5"],
            "bounds": [[0, 1], [0, 1], [0, 2], [0, 1], [0, 1]]}


def test_sobol_indices_of_an_additive_model_match_the_analytic_values():
    # Var(a U(0, w)) = a² w² / 12: 1/12, 4/12, 2.25 × 4 / 12 = 9/12, 0;
    # Var(4 (U − 1/2)²) = 16 (E[(U − 1/2)^4] − E[(U − 1/2)²]²) = 16 (1/80 − 1/144) = 4/45.
    # Additive: S_i = V_i / V and the total order equals the first order.
    parts = np.array([1 / 12, 4 / 12, 9 / 12, 0.0, 4 / 45])
    truth = parts / parts.sum()
    res = run_sobol(additive, ADDITIVE, 1024, ["y"], seed=0)
    t = res.table.set_index("parameter")
    assert res.evaluations == 1024 * (5 + 2)
    for name, s in zip(ADDITIVE["names"], truth, strict=True):
        assert abs(t.loc[name, "S1"] - s) <= t.loc[name, "S1_conf"] + 1e-12, (name, t)
        assert abs(t.loc[name, "ST"] - s) <= t.loc[name, "ST_conf"] + 1e-12, (name, t)
    assert t["S1"].sum() == pytest.approx(1.0, abs=0.05)


def test_morris_on_a_linear_model_gives_the_slopes_times_the_ranges():
    # an elementary effect is the change of Y over a parameter's whole range: |a_i| (hi − lo)
    def linear(X):
        return (X[:, 0] - 2 * X[:, 1] + 1.5 * X[:, 2] + 0 * X[:, 3])[:, None]

    prob = {"num_vars": 4, "names": ["a", "b", "c", "irrelevant"],
            "bounds": [[0, 1], [0, 1], [0, 2], [0, 1]]}
    t = run_morris(linear, prob, 10, ["y"], seed=1).table.set_index("parameter")
    np.testing.assert_allclose(t["mu_star"], [1.0, 2.0, 3.0, 0.0], atol=1e-9)
    np.testing.assert_allclose(t["mu"], [1.0, -2.0, 3.0, 0.0], atol=1e-9)
    assert t.loc["irrelevant", "rank"] == 4 and t["rank"].max() == 4


# --- the vectorised model ------------------------------------------------------------------------

def score_scenario(scores, budgets, ratio=0.15) -> Scenario:
    df = pd.DataFrame({"project_id": [f"P{i + 1}" for i in range(len(scores))],
                       "department": "D1", "budget": budgets, "score": scores})
    return Scenario(name="five", portfolio=portfolio_from_frame(df), linkage=liupanshui(ratio),
                    seed=3)


def test_model_by_hand_without_noise():
    # no noise: every score is the portfolio's; 中 holds 4.0m (70 and 65 points), 差 0.5m
    sc = score_scenario([95, 85, 70, 65, 50], [1e6, 2e6, 3e6, 1e6, 5e5])
    quiet = settings_from_dict({"performance": {"leaf_dispersion": 0.0},
                                "self_evaluation": {"noise": 0.0}})
    X = np.array([[0.10], [0.15], [0.20]])
    Y = evaluate_samples(sc, ["linkage.ratio"], X, settings=quiet,
                         metrics=["savings", "cut_total", "misgrading", "rank_stability",
                                  "wrong_cuts", "share_fair"])
    np.testing.assert_allclose(Y[:, 0], [0.10 * 4e6 + 5e5, 0.15 * 4e6 + 5e5, 0.2 * 4e6 + 5e5])
    np.testing.assert_allclose(Y[:, 1], X[:, 0] * 4e6)
    np.testing.assert_array_equal(Y[:, 2], 0.0)     # graded as the truth
    np.testing.assert_allclose(Y[:, 3], 1.0)         # ranked as the truth
    np.testing.assert_array_equal(Y[:, 4], 0.0)     # no truly good project loses money
    np.testing.assert_allclose(Y[:, 5], 0.4)


def test_cutoff_and_inflation_samples_by_hand():
    sc = score_scenario([95, 85, 70, 65, 50], [1e6, 2e6, 3e6, 1e6, 5e5])
    quiet = settings_from_dict({"performance": {"leaf_dispersion": 0.0},
                                "self_evaluation": {"noise": 0.0}})
    names = ["grading.cutoffs.fair", "simulation.self_evaluation.inflation_mean"]
    # fair cutoff 66: the 65-point project drops to 差 (cancelled) -> 0.15 × 3.0m + 1.0m + 0.5m
    # inflation 0.12 lifts every self-score by 12 points: 95→100 (clipped) 优, 85→97 优,
    # 70→82 良, 65→77 中, 50→62 中 -> cut 0.15 × (1.0m + 0.5m), nothing cancelled; three of
    # five projects (85, 70, 50) graded above their true grade
    X = np.array([[66.0, 0.0], [60.0, 0.12]])
    Y = evaluate_samples(sc, names, X, settings=quiet, metrics=["savings", "misgrading"])
    assert Y[0, 0] == pytest.approx(0.15 * 3e6 + 1e6 + 5e5)
    assert Y[0, 1] == 0.0       # the cutoffs grade the truth too: the 65 is truly 差 there
    assert Y[1, 0] == pytest.approx(0.15 * 1.5e6)
    assert Y[1, 1] == pytest.approx(3 / 5)


@pytest.fixture(scope="module")
def small() -> Scenario:
    pf = generate_portfolio(None, seed=11, n_projects=300, n_departments=20,
                            total_budget=3e8, performance_mean=0.8, performance_sd=0.08)
    return Scenario(name="small", portfolio=pf, linkage=liupanshui(0.15), seed=5)


@pytest.fixture(scope="module")
def with_system() -> Scenario:
    system = load_indicator_system(DATASETS / "indicator_systems" /
                                   "key_evaluation_framework.yaml")
    pf = generate_portfolio(system, seed=2, n_projects=120, n_departments=10)
    return Scenario(name="kef", portfolio=pf, system=system, seed=4, linkage=liupanshui(0.15),
                    grading=Grading(quotas={"excellent": 0.3}))


def test_chunking_does_not_change_the_numbers(with_system):
    names = ["weights.DEC", "weights.OUT", "grading.cutoffs.excellent", "linkage.ratio",
             "simulation.spot_check.share", "simulation.self_evaluation.noise",
             "simulation.performance.leaf_dispersion"]
    settings = settings_from_dict({"spot_check": {"selection": "highest_score",
                                                  "gap_rule": True},
                                   "self_evaluation": {"inflation_sd": 0.02},
                                   "monitoring": {"checkpoints": "default"}})
    rng = np.random.default_rng(0)
    lo = np.array([10, 25, 85, 0.10, 0.0, 0.01, 0.0])
    hi = np.array([20, 45, 95, 0.20, 0.5, 0.10, 0.1])
    X = lo + (hi - lo) * rng.random((11, len(names)))
    metrics = [*DEFAULT_METRICS, "recovered", "share_excellent", "top10_share"]
    whole = evaluate_samples(with_system, names, X, 9, metrics=metrics, settings=settings,
                             replications=2)
    for chunk in (1, 3, 4):
        part = evaluate_samples(with_system, names, X, 9, metrics=metrics, settings=settings,
                                replications=2, chunk=chunk)
        np.testing.assert_array_equal(part, whole)
    other = evaluate_samples(with_system, names, X, 10, metrics=metrics, settings=settings,
                             replications=2)
    assert not np.array_equal(other, whole)          # another seed, other draws
    assert np.all(whole[:, metrics.index("share_excellent")] <= 0.3 + 1e-12)  # the quota


def test_the_model_agrees_with_the_monte_carlo(small):
    # the same process, year 1: means over 64 common-random-number replications at the base
    # design against 256 Monte Carlo replications, within 4 standard errors of the difference
    spec = {"self_evaluation": {"noise": 0.05, "inflation_mean": 0.03, "inflation_sd": 0.02},
            "spot_check": {"share": 0.3, "selection": "highest_score", "gap_rule": True}}
    settings = settings_from_dict(spec, replications=256)
    names = ["linkage.ratio"]
    Y = evaluate_samples(small, names, np.array([[0.15]]), metrics=DEFAULT_METRICS,
                         settings=settings, replications=64)[0]
    reps = simulate(small, settings, progress=False).replications
    for j, m in enumerate(DEFAULT_METRICS):
        sd = reps[m].std()
        se = sd * np.sqrt(1 / 64 + 1 / 256)
        assert abs(Y[j] - reps[m].mean()) < 4 * se, (m, Y[j], reps[m].mean(), se)


def test_other_aggregations_score_like_the_monte_carlo(with_system):
    import dataclasses

    weakest = with_system.replace(system=dataclasses.replace(with_system.system,
                                                             aggregation="weakest_link"))
    settings = settings_from_dict(None, replications=256)
    Y = evaluate_samples(weakest, ["linkage.ratio"], np.array([[0.15]]), settings=settings,
                         replications=64)[0]
    reps = simulate(weakest, settings, progress=False).replications
    for j, m in enumerate(DEFAULT_METRICS):
        se = reps[m].std() * np.sqrt(1 / 64 + 1 / 256)
        assert abs(Y[j] - reps[m].mean()) < 4 * se, (m, Y[j], reps[m].mean(), se)
    with pytest.raises(InputError, match="weighted_sum"):
        evaluate_samples(weakest, ["weights.DEC"], np.array([[15.0]]))


def test_morris_ranks_an_irrelevant_parameter_last(small):
    # with no spot checks the re-check noise enters nothing: its effects are exactly zero
    params = [{"name": "linkage.ratio", "bounds": [0.10, 0.20]},
              {"name": "simulation.spot_check.noise", "bounds": [0.0, 0.1]},
              {"name": "grading.cutoffs.fair", "bounds": [55, 70]},
              {"name": "simulation.self_evaluation.noise", "bounds": [0.01, 0.1]}]
    res = morris(small, params, 8, seed=1)
    t = res.table
    irrelevant = t.loc[t["parameter"] == "simulation.spot_check.noise"]
    assert (irrelevant["mu_star"] == 0).all() and (irrelevant["sigma"] == 0).all()
    sav = t.loc[t["metric"] == "savings"].set_index("parameter")
    assert sav.loc["simulation.spot_check.noise", "rank"] == 4
    assert (sav.drop(index="simulation.spot_check.noise")["mu_star"] > 0).all()
    assert res.evaluations == 8 * (4 + 1)


def test_sobol_on_the_model(small):
    params = [{"name": "linkage.ratio", "bounds": [0.10, 0.20]},
              {"name": "simulation.self_evaluation.noise", "bounds": [0.01, 0.1]}]
    res = sobol(small, params, 64, metrics=["savings", "misgrading"])
    t = res.table.set_index(["metric", "parameter"])
    # the ratio moves money, never grades: exactly zero indices for misgrading
    assert t.loc[("misgrading", "linkage.ratio"), "S1"] == 0.0
    assert t.loc[("misgrading", "linkage.ratio"), "ST"] == 0.0
    assert t.loc[("savings", "linkage.ratio"), "ST"] > 0.05
    assert set(tidy_long(res)["index"]) == {"S1", "ST"}
    only_ratio = sobol(small, params[:1], 16, metrics=["misgrading"])
    assert only_ratio.table["note"].tolist() == ["constant output"]


# --- the params file ------------------------------------------------------------------------------

def readme_params(tmp_path):
    text = page("tasks/sensitivity.md")
    m = re.search(r"<!-- example: sensitivity_params.yaml -->\n```\w*\n(.*?)```", text, re.S)
    assert m, "docs/tasks/sensitivity.md lacks the params file example"
    path = tmp_path / "params.yaml"
    path.write_text(m.group(1), encoding="utf-8")
    return path


def test_readme_params_example_loads_and_runs(tmp_path):
    sc = load_scenario(LIUPANSHUI)
    specs = load_params(readme_params(tmp_path), sc)
    assert [s.name for s in specs] == [
        "linkage.ratio", "grading.cutoffs.excellent", "grading.cutoffs.fair",
        "simulation.spot_check.share", "simulation.self_evaluation.inflation_mean",
        "simulation.self_evaluation.noise"]
    assert specs[0].bounds == (0.10, 0.20)
    res = morris(sc, specs, 4)
    assert len(res.table) == 6 * len(DEFAULT_METRICS)
    assert np.isfinite(res.table["mu_star"]).all()


@pytest.mark.parametrize("items, words", [
    ([{"name": "linkage.rate", "bounds": [0.1, 0.2]}], ["unknown parameter", "valid:",
                                                         "linkage.ratio"]),
    ([{"name": "linkage.ratio", "bounds": [0.2, 0.1]}], ["low < high", "[0.1, 0.2]"]),
    ([{"name": "linkage.ratio", "bounds": [0.05, 0.2]}], ["parameter 1: bounds", "= 0.05",
                                                           "[0.1, 0.2]"]),
    ([{"name": "grading.cutoffs", "bounds": [50, 90]}], ["unknown parameter"]),
    ([{"name": "grading.cutoffs.excellent", "bounds": [75, 95]}],   # set refuses 75
     ["parameter 1: bounds", "[75.0, 80.0, 60.0]", "strictly descending"]),
    ([{"name": "linkage.ratio", "bounds": [0.1, 0.2]}] * 2, ["listed twice"]),
    ([{"name": "linkage.ratio", "range": [0.1, 0.2]}], ["{name: PATH, bounds: [LOW, HIGH]}"]),
    ({"linkage.ratio": [0.1, 0.2]}, ["non-empty list"]),
])
def test_bad_params_are_one_line_errors_listing_what_is_valid(items, words):
    sc = load_scenario(LIUPANSHUI)
    with pytest.raises(InputError) as exc:
        params_from_list(sc, items, "params.yaml")
    msg = str(exc.value)
    assert msg.startswith("params.yaml") and "\n" not in msg
    for w in words:
        assert w in msg


def test_unknown_metric_lists_the_valid_ones(small):
    with pytest.raises(InputError) as exc:
        evaluate_samples(small, ["linkage.ratio"], np.array([[0.15]]), metrics=["savngs"])
    assert "valid:" in str(exc.value) and "rank_stability" in str(exc.value)


def test_plot_has_title_labels_and_source(small):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    params = [{"name": "linkage.ratio", "bounds": [0.10, 0.20]},
              {"name": "grading.cutoffs.fair", "bounds": [55, 70]}]
    for res in (sobol(small, params, 16, metrics=["savings"]),
                morris(small, params, 4, metrics=["savings"])):
        fig = plot_sensitivity(res, "savings")
        ax = fig.axes[0]
        assert "savings" in ax.get_title()
        assert ax.get_xlabel() and ax.get_ylabel() == "design parameter"
        assert any(t.get_text().startswith("Source: perfsim") for t in fig.texts)
        plt.close(fig)


# --- command line --------------------------------------------------------------------------------

def run_cli(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_sensitivity_prints_tables_and_json(capsys, tmp_path):
    params = tmp_path / "p.yaml"
    params.write_text("- {name: linkage.ratio, bounds: [0.10, 0.20]}\n"
                      "- {name: grading.cutoffs.fair, bounds: [55, 70]}\n", encoding="utf-8")
    code, out, err = run_cli(capsys, "sensitivity", LIUPANSHUI, "--params", params,
                             "--method", "morris", "--n", "4")
    assert code == 0 and err == ""
    assert "morris sensitivity" in out and "linkage.ratio" in out and "savings" in out
    code, out, _ = run_cli(capsys, "sensitivity", LIUPANSHUI, "--params", params, "--n", "8",
                           "--metrics", "savings,gini", "--json", "--plot", tmp_path / "fig")
    doc = json.loads(out)
    assert code == 0 and doc["method"] == "sobol" and doc["evaluations"] == 8 * 4
    assert {r["metric"] for r in doc["table"]} == {"savings", "gini"}
    assert sorted(p.name for p in (tmp_path / "fig").iterdir()) == [MARKER, "sobol_gini.png",
                                                                   "sobol_savings.png"]


@pytest.mark.parametrize("body, words", [
    ("- {name: linkage.rate, bounds: [0.1, 0.2]}\n", ["valid:", "linkage.ratio"]),
    ("- {name: linkage.ratio, bounds: [0.2, 0.1]}\n", ["low < high", "[0.1, 0.2]"]),
    ("- {name: linkage.ratio, bounds: [0.1, 0.2]\n", ["YAML syntax error"]),
])
def test_cli_bad_params_file_is_one_line(capsys, tmp_path, body, words):
    params = tmp_path / "p.yaml"
    params.write_text(body, encoding="utf-8")
    code, out, err = run_cli(capsys, "sensitivity", LIUPANSHUI, "--params", params)
    assert code == 2 and out == ""
    assert err.startswith("perfsim: error: ") and err.count("\n") == 1 and "Traceback" not in err
    for w in words:
        assert w in err


def test_cli_unknown_metric_is_one_line(capsys, tmp_path):
    params = tmp_path / "p.yaml"
    params.write_text("- {name: linkage.ratio, bounds: [0.1, 0.2]}\n", encoding="utf-8")
    code, _, err = run_cli(capsys, "sensitivity", LIUPANSHUI, "--params", params,
                           "--metrics", "savings,nope")
    assert code == 2 and err.count("\n") == 1 and "'--target' = 'nope'" not in err
    assert "nope" in err and "valid:" in err
