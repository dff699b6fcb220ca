"""Method choices as uncertain inputs (perfsim.run.sensitivity with discrete factors): the
weighting method, the treatment and the aggregation drawn as factors of the Sobol analysis."""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from docs_pages import all_text

from perfsim import cli
from perfsim.errors import InputError
from perfsim.kernel.grading import Grading
from perfsim.kernel.linkage import liupanshui
from perfsim.model import params as params_mod
from perfsim.model.indicators import load_indicator_system
from perfsim.model.params import apply_changes
from perfsim.model.portfolio import DATASETS, generate_portfolio
from perfsim.model.scenario import Scenario
from perfsim.model.weights import apply_weighting
from perfsim.run.sensitivity import (
    DEFAULT_METRICS,
    choice_index,
    evaluate_samples,
    params_from_list,
    sobol,
)
from perfsim.run.simulate import scenario_settings, simulate
from perfsim.run.year import run_year

MONEY = ("savings", "cut_total", "cancelled_total", "rewarded_total", "next_total")


@pytest.fixture(scope="module")
def sc() -> Scenario:
    system = load_indicator_system(DATASETS / "indicator_systems" /
                                   "national_project_self_eval.yaml")
    pf = generate_portfolio(system, seed=3, n_projects=150, n_departments=12)
    return Scenario(name="methods", portfolio=pf, system=system, seed=8,
                    linkage=liupanshui(0.15), grading=Grading())


def reweighted(sc: Scenario, block: dict) -> Scenario:
    """The scenario re-weighted directly (not through the choice machinery)."""
    return sc.replace(system=apply_weighting(sc.system, block, sc.portfolio))


def metric_names(sc: Scenario) -> list[str]:
    return [*MONEY, *(f"count_{c}" for c in sc.grading.labels.codes)]


def test_choice_index_splits_the_unit_interval_evenly():
    u = np.array([0.0, 0.3333, 0.3334, 0.6666, 0.6667, 0.999, 1.0])
    assert choice_index(u, 3).tolist() == [0, 0, 1, 1, 2, 2, 2]
    assert choice_index(u, 1).tolist() == [0] * 7


@pytest.mark.parametrize("method", ["expert", "equal", "entropy", "critic", "pca"])
def test_a_sample_with_a_method_is_the_one_year_run_reweighted_with_it(sc, method):
    quiet = sc.settings.without_noise()
    values = ["expert", "equal", "entropy", "critic", "pca"]
    u = (values.index(method) + 0.5) / len(values)
    names = metric_names(sc)
    y = evaluate_samples(sc, ["weighting.leaves.method", "linkage.ratio"],
                         np.array([[u, 0.15]]), metrics=names, settings=quiet,
                         choices={"weighting.leaves.method": values})
    year = run_year(reweighted(sc, {"leaves": method})).metrics
    assert y[0].tolist() == [year[m] for m in names]


def test_group_method_treatment_and_aggregation_samples_are_their_one_year_runs(sc):
    quiet = sc.settings.without_noise()
    names = metric_names(sc)
    choices = {"weighting.groups.method": ["expert", "entropy"],
               "weighting.leaves.method": ["critic", "entropy"],
               "weighting.leaves.treatment": ["none", "winsorise"],
               "aggregation": ["weighted_sum", "geometric"]}
    X = np.array([[0.7, 0.7, 0.7, 0.2], [0.2, 0.2, 0.2, 0.7], [0.7, 0.2, 0.7, 0.7]])
    y = evaluate_samples(sc, list(choices), X, metrics=names, settings=quiet, choices=choices)
    import dataclasses
    expect = [
        reweighted(sc, {"groups": "entropy",
                        "leaves": {"method": "entropy", "treatment": "winsorise"}}),
        sc.replace(system=dataclasses.replace(
            apply_weighting(sc.system, {"leaves": "critic"}, sc.portfolio),
            aggregation="geometric")),
        sc.replace(system=dataclasses.replace(
            apply_weighting(sc.system, {"groups": "entropy",
                                        "leaves": {"method": "critic",
                                                   "treatment": "winsorise"}}, sc.portfolio),
            aggregation="geometric")),
    ]
    for row, other in zip(y, expect, strict=True):
        year = run_year(other).metrics
        assert row.tolist() == [year[m] for m in names]


def test_the_monte_carlo_of_the_reweighted_scenario_is_the_sample(sc):
    # the other path: one noiseless Monte Carlo year of the scenario set to entropy weights
    quiet = sc.settings.without_noise()
    y = evaluate_samples(sc, ["weighting.leaves.method"], np.array([[0.9]]),
                         metrics=list(MONEY), settings=quiet,
                         choices={"weighting.leaves.method": ["expert", "entropy"]})
    entropy = apply_changes(sc, {"weighting.leaves.method": "entropy"})
    settings = scenario_settings(entropy, replications=1, years=1).without_noise()
    row = simulate(entropy, settings, progress=False).replications.iloc[0]
    assert y[0].tolist() == [row[m] for m in MONEY]


def test_mixed_samples_equal_each_sample_alone_and_weights_are_computed_once_per_choice(
        sc, monkeypatch):
    calls = []
    real = params_mod.apply_weighting

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(params_mod, "apply_weighting", counting)
    rng = np.random.default_rng(1)
    X = np.column_stack([rng.random(12), 0.10 + 0.1 * rng.random(12)])
    choices = {"weighting.leaves.method": ["entropy", "critic", "expert"]}
    names = ["weighting.leaves.method", "linkage.ratio"]
    whole = evaluate_samples(sc, names, X, choices=choices, chunk=5)
    drawn = set(choice_index(X[:, 0], 3).tolist())
    assert drawn == {0, 1, 2} and len(calls) == 3     # once per method drawn, not per sample
    for i in range(X.shape[0]):
        alone = evaluate_samples(sc, names, X[i:i + 1], choices=choices)
        np.testing.assert_array_equal(alone[0], whole[i])


def test_a_factor_with_one_value_has_zero_indices(sc):
    params = [{"name": "weighting.leaves.method", "values": ["entropy"]},
              {"name": "linkage.ratio", "bounds": [0.10, 0.20]},
              {"name": "simulation.self_evaluation.noise", "bounds": [0.0, 0.1]}]
    res = sobol(sc, params, 16)
    t = res.table.loc[(res.table["parameter"] == "weighting.leaves.method")
                      & (res.table["note"] == "")]
    assert len(t) >= 3
    assert (t["S1"] == 0).all() and (t["ST"] == 0).all()


def test_the_method_factor_has_its_share_of_the_variance_next_to_continuous_ones(sc):
    params = [{"name": "weighting.leaves.method", "values": ["expert", "entropy", "critic"]},
              {"name": "weighting.groups.method", "values": ["expert", "equal"]},
              {"name": "linkage.ratio", "bounds": [0.10, 0.20]},
              {"name": "simulation.self_evaluation.noise", "bounds": [0.0, 0.1]}]
    res = sobol(sc, params, 32)
    t = res.table.set_index(["metric", "parameter"])
    assert set(res.table["metric"]) == set(DEFAULT_METRICS)
    # the linkage ratio cannot change ranks; the weighting of the groups does
    assert t.loc[("rank_stability", "linkage.ratio"), "ST"] == 0
    assert t.loc[("rank_stability", "weighting.groups.method"), "ST"] > 0
    assert t.loc[("gini", "weighting.leaves.method"), "ST"] > 0
    assert res.info["choices"]["weighting.leaves.method"] == ["expert", "entropy", "critic"]
    assert res.problem["bounds"][0] == [0.0, 1.0]


@pytest.mark.parametrize("items, words", [
    ([{"name": "weighting.leaves.method", "values": ["expert", "magic"]}],
     ["weighting.leaves.method", "magic", "entropy"]),
    ([{"name": "weighting.leaves.method", "values": []}], ["values", "non-empty"]),
    ([{"name": "weighting.leaves.method", "values": ["entropy", "entropy"]}],
     ["entropy", "listed twice"]),
    ([{"name": "weighting.leaves.treatment", "values": ["none", "log"]}],
     ["weighting.leaves.treatment", "needs weighting.leaves.method"]),
    ([{"name": "aggregation", "values": ["weighted_sum", "median"]}],
     ["aggregation", "median", "geometric"]),
    ([{"name": "weighting.stuff", "values": ["a"]}], ["weighting.stuff", "not a discrete"]),
    ([{"name": "aggregation", "values": ["geometric"], "bounds": [0, 1]}], ["bounds"]),
    ([{"name": "aggregation", "values": ["weighted_sum", "weakest_link"]},
      {"name": "weights.OUT", "bounds": [40, 60]}], ["weights.OUT", "weighted_sum"]),
    ([{"name": "weighting.leaves.method", "values": [{"method": "combined", "alpha": 2}]}],
     ["alpha", "2"]),
])
def test_bad_discrete_factors_are_one_line_errors(sc, items, words):
    with pytest.raises(InputError) as err:
        params_from_list(sc, items, "params.yaml")
    text = str(err.value)
    assert "\n" not in text and "params.yaml" in text
    for w in words:
        assert w in text, (w, text)


def test_a_method_value_may_be_a_tier_block(sc):
    quiet = sc.settings.without_noise()
    block = {"method": "combined", "objective": "critic", "alpha": 0.3}
    specs = params_from_list(sc, [{"name": "weighting.leaves.method",
                                   "values": ["expert", block]}])
    assert specs[0].values == ("expert", block)
    y = evaluate_samples(sc, ["weighting.leaves.method"], np.array([[0.8]]), metrics=list(MONEY),
                         settings=quiet, choices={"weighting.leaves.method": ["expert", block]})
    year = run_year(reweighted(sc, {"leaves": block})).metrics
    assert y[0].tolist() == [year[m] for m in MONEY]


def test_set_with_a_method_choice_is_the_reweighted_scenario(sc):
    a = apply_changes(sc, {"weighting.groups.method": "critic",
                           "aggregation": "weakest_link"}).system
    b = apply_weighting(sc.system, {"groups": "critic"}, sc.portfolio)
    np.testing.assert_array_equal(a.points, b.points)
    assert a.aggregation == "weakest_link"
    with pytest.raises(InputError, match="needs weighting.groups.method"):
        apply_changes(sc, {"weighting.groups.treatment": "log"})


def test_cli_sensitivity_with_a_discrete_factor(tmp_path, capsys, sc):
    scen = tmp_path / "s.yaml"
    scen.write_text(yaml.safe_dump({
        "name": "m", "seed": 3,
        "indicator_system": str(DATASETS / "indicator_systems" /
                                "national_project_self_eval.yaml"),
        "portfolio": {"generate": {"n_projects": 80, "n_departments": 6}},
        "grading": {"labels": "national", "cutoffs": [90, 80, 60]},
        "linkage": {"rule": "liupanshui", "ratio": 0.15, "pool": "treasury"}}),
        encoding="utf-8")
    p = tmp_path / "params.yaml"
    p.write_text("- {name: weighting.leaves.method, values: [expert, entropy]}\n"
                 "- {name: linkage.ratio, bounds: [0.1, 0.2]}\n", encoding="utf-8")
    assert cli.main(["sensitivity", str(scen), "--params", str(p), "--n", "8"]) == 0
    out = capsys.readouterr().out
    assert "discrete factor weighting.leaves.method: expert | entropy" in out
    assert "weighting.leaves.method" in out.split("rank_stability")[1]


def readme_example(name: str) -> str:
    import re
    text = all_text()
    found = dict(re.findall(r"<!-- example: (\S+) -->\n```\w*\n(.*?)```", text, re.S))
    return found[name]


def test_readme_methods_params_example_loads_and_runs(sc, tmp_path):
    p = tmp_path / "methods_params.yaml"
    p.write_text(readme_example("methods_params.yaml"), encoding="utf-8")
    from perfsim.run.sensitivity import load_params
    specs = load_params(p, sc)
    assert [s.name for s in specs] == ["weighting.leaves.method", "weighting.leaves.treatment",
                                       "weighting.groups.method", "aggregation",
                                       "linkage.ratio"]
    assert specs[2].values[2] == {"method": "combined", "objective": "critic", "alpha": 0.7}
    res = sobol(sc, p, 8, metrics=["rank_stability"])
    assert set(res.table["parameter"]) == {s.name for s in specs}
    # 8 × (5 + 2) samples, each within its drawn combination of methods
    assert res.evaluations == 56 and np.all(np.isfinite(res.Y))


def test_a_plain_monte_carlo_draws_the_methods_and_matches_the_model(sc):
    from perfsim.run.sensitivity import uncertainty_samples
    params = [{"name": "weighting.leaves.method", "values": ["expert", "entropy"]},
              {"name": "linkage.ratio", "bounds": [0.10, 0.20]}]
    df = uncertainty_samples(sc, params, 24, metrics=["savings", "rank_stability"], seed=5)
    assert set(df["weighting.leaves.method"]) == {"expert", "entropy"}
    assert df["linkage.ratio"].between(0.10, 0.20).all()
    # each row is the model at its drawn values: the expert rows are the scenario as it is
    expert = df.loc[df["weighting.leaves.method"] == "expert"]
    direct = evaluate_samples(sc, ["linkage.ratio"], expert[["linkage.ratio"]].to_numpy(), 5,
                              metrics=["savings", "rank_stability"])
    np.testing.assert_array_equal(direct, expert[["savings", "rank_stability"]].to_numpy())
