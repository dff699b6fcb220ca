"""perfsim.run.variants: the engine over a few named variants, tidy tables out."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import SCENARIOS

from perfsim.errors import InputError
from perfsim.model.scenario import load_scenario
from perfsim.run import variants as studies
from perfsim.run.year import run_year


@pytest.fixture(scope="module")
def sc():
    return load_scenario(SCENARIOS / "liupanshui_2022.yaml")


def test_changes_apply_blocks_and_paths(sc):
    v = studies.changed(sc, {"grading": {"cutoffs": [95, 85, 65]},
                             "linkage": {"rule": "liupanshui", "ratio": 0.2}})
    assert v.grading.cutoffs == (95.0, 85.0, 65.0) and v.linkage.params["ratio"] == 0.2
    assert studies.changed(sc, None) == sc
    w = studies.changed(sc, {"linkage.ratio": 0.2, "grading.cutoffs.excellent": 92,
                             "simulation.spot_check.share": 0.3})
    assert w.linkage.rule.multipliers[2] == pytest.approx(0.8)
    assert w.grading.cutoffs == (92.0, 80.0, 60.0) and w.settings.check_share == 0.3
    assert sc.settings.check_share == 0.0  # the original is untouched


@pytest.mark.parametrize("variant,match", [
    ({"linkge": {}}, "unknown parameter"),
    ({"linkage": {"rule": "liupanshui", "ratio": 0.5}}, "variant bad.*ratio"),
    ({"linkage.ratio": 0.5}, "variant bad.*ratio"),
    ({"grading": {"labels": "pass_fail"}}, "need a linkage block"),
    ({"settings": {"measurement_noise": 0.1}}, "renamed.*simulation.self_evaluation.noise"),
    ({"simulation.measurement_noise": 0.1}, "renamed: use simulation.self_evaluation.noise"),
    ({"simulation.spot_check.shares": 0.1}, "unknown simulation setting"),
])
def test_changes_reject_bad_variants(sc, variant, match):
    with pytest.raises(InputError, match=match):
        studies.changed(sc, variant, "bad")


def test_year_variants_match_run_year_and_add_up(sc):
    out = studies.year_variants(sc, {"15%": {}, "20%": {"linkage.ratio": 0.2}})
    base = run_year(sc)
    row = out.totals.set_index("variant").loc["15%"]
    assert row["next_budget"] == base.summary["totals_yuan"]["next_budget"]
    shares = out.by_grade.groupby("variant")["share"].sum()
    assert np.allclose(shares, 1.0)
    fair = base.by_grade.set_index("grade").loc["fair", "budget"]
    cut = out.totals.set_index("variant")["cut"]
    assert cut["20%"] - cut["15%"] == pytest.approx(0.05 * fair, rel=1e-9)
    assert list(out.results) == ["15%", "20%"]
    with pytest.raises(InputError, match="use mc_variants"):
        studies.year_variants(sc, {"x": {"simulation.years": 2}})
    with pytest.raises(InputError, match="at least one"):
        studies.year_variants(sc, {})


def test_mc_variants_is_reproducible_and_tidy(sc):
    variants = {"a": {}, "b": {"simulation.self_evaluation.noise": 0.1}}
    kw = dict(metrics=("misgrading", "projects"), replications=8, years=2)
    t1 = studies.mc_variants(sc, variants, **kw)
    t2 = studies.mc_variants(sc, variants, **kw)
    pd.testing.assert_frame_equal(t1, t2)
    assert list(t1.columns) == ["variant", "year", "metric", "mean", "p05", "p95"]
    assert len(t1) == 2 * 2 * 2
    assert (t1["p05"] <= t1["mean"]).all() and (t1["mean"] <= t1["p95"]).all()
    mis = t1[(t1["metric"] == "misgrading") & (t1["year"] == 1)].set_index("variant")["mean"]
    assert mis["b"] > mis["a"]  # more noise, more misgrading
    first = t1[(t1["metric"] == "projects") & (t1["year"] == 1)]["mean"]
    assert (first == sc.portfolio.n_projects).all()
    with pytest.raises(InputError, match="unknown metric.*misgrading"):
        studies.mc_variants(sc, variants, metrics=("nope",))
    with pytest.raises(InputError, match="renamed: use projects"):
        studies.mc_variants(sc, variants, metrics=("active",))
    with pytest.raises(InputError, match="renamed: use count_poor"):
        studies.mc_variants(sc, variants, metrics=("n_poor",))


def test_settings_grid_leads_with_the_grid_and_policies(sc):
    share = "simulation.spot_check.share"
    grid = studies.settings_grid(sc, {share: [0.0, 0.5]}, replications=4,
                                 policies={"random": {}, "aimed": {
                                     "simulation.spot_check.selection": "highest_score"}},
                                 metrics=("misgrading",))
    assert list(grid.columns[:2]) == ["policy", share]
    assert len(grid) == 4
    assert grid[["policy", share]].values.tolist() == [
        ["random", 0.0], ["random", 0.5], ["aimed", 0.0], ["aimed", 0.5]]
    # share 0 checks nobody: the selection rule cannot matter
    zero = grid[grid[share] == 0.0]["mean"].to_numpy()
    assert zero[0] == zero[1]
    noise = "simulation.self_evaluation.noise"
    plain = studies.settings_grid(sc, {noise: [0.0]}, replications=4, metrics=("misgrading",))
    assert list(plain.columns[:1]) == [noise] and "policy" not in plain
    with pytest.raises(InputError, match="varied by the grid"):
        studies.settings_grid(sc, {share: [0.1]}, policies={"p": {share: 0.2}})


def test_bunching_counts_either_side_of_each_cutoff():
    scores = np.array([58.0, 59.5, 60.0, 60.5, 61.9, 62.0, 79.0, 80.0])
    t = studies.line_counts(scores, [80, 60], width=2.0)
    assert t.to_dict("records") == [
        {"cutoff": 80.0, "width": 2.0, "below": 1, "above": 1, "ratio": 1.0},
        {"cutoff": 60.0, "width": 2.0, "below": 2, "above": 3, "ratio": 1.5},
    ]
    assert np.isnan(studies.line_counts(scores, [90])["ratio"][0])
    with pytest.raises(InputError):
        studies.line_counts(scores, [60], width=0)


def test_department_losses_add_up_and_are_sorted(sc):
    result = run_year(sc)
    every = studies.department_losses(result, top=None)
    tot = result.summary["totals_yuan"]
    # lost: every channel but kept (cut, cancelled, postponed, recovered), budget − kept
    assert every["lost"].sum() == pytest.approx(
        tot["cut"] + tot["cancelled"] + tot["postponed"] + tot["recovered"]
        + tot["recovered_unrectified"])
    assert every["lost"].sum() == pytest.approx(tot["budget"] - tot["kept"])
    assert every["projects"].sum() == sc.portfolio.n_projects
    assert every["lost"].is_monotonic_decreasing
    top = studies.department_losses(result, top=5)
    assert len(top) == 5 and top["department"].tolist() == every["department"][:5].tolist()
    assert ((top["share_lost"] >= 0) & (top["share_lost"] <= 1)).all()


def test_policy_table_stacks_named_tables_with_a_leading_column():
    a = pd.DataFrame({"x": [1, 2]})
    b = pd.DataFrame({"x": [3]})
    t = studies.policy_table({"first": a, "second": b})
    assert list(t.columns) == ["policy", "x"]
    assert t["policy"].tolist() == ["first", "first", "second"] and t["x"].tolist() == [1, 2, 3]
    assert list(a.columns) == ["x"]  # the inputs are left alone
    with pytest.raises(InputError, match="at least one table"):
        studies.policy_table({})
