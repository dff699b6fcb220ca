"""Examples folded into the documentation pages from the features' notes load and do what their
pages say: an ``indicators:`` block in a scenario file (docs/tasks/indicators.md) and the
composite-indicator choices as sensitivity factors (docs/tasks/sensitivity.md)."""

from __future__ import annotations

import re

import numpy as np
import pytest
import yaml
from docs_pages import all_text

from perfsim.kernel.grading import Grading
from perfsim.kernel.linkage import liupanshui
from perfsim.model.indicators import load_indicator_system
from perfsim.model.portfolio import DATASETS, generate_portfolio
from perfsim.model.scenario import load_scenario
from perfsim.run.study import Scenario
from perfsim.run.study import load as perfsim_load

NATIONAL = DATASETS / "indicator_systems" / "national_project_self_eval.yaml"


def _example(name: str) -> str:
    found = dict(re.findall(r"<!-- example: (\S+) -->\n```\w*\n(.*?)```", all_text(), re.S))
    return found[name]


def test_the_indicators_block_changes_the_system_as_its_page_says(tmp_path):
    block = yaml.safe_load(_example("indicators_block.yaml"))
    doc = {"name": "s", "seed": 3, "indicator_system": str(NATIONAL),
           "portfolio": {"generate": {"n_projects": 40, "n_departments": 4}},
           "grading": {"labels": "national", "cutoffs": [90, 80, 60]},
           "linkage": {"rule": "liupanshui", "ratio": 0.15, "pool": "treasury"}, **block}
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    changed = load_scenario(tmp_path / "s.yaml").system
    before = load_indicator_system(NATIONAL)
    old = dict(zip(before.codes, before.points, strict=True))
    new = dict(zip(changed.codes, changed.points, strict=True))
    # by hand: SAT's 10 to OUT's leaves in proportion (x 60/50), EXEC moved in (OUT 70), then
    # OUT set to 60 (x 60/70); BEN keeps its 30 and gains NEW's 10; the candidate ALT is not
    # scored
    assert "SAT" not in new and "ALT" not in new
    assert new["EXEC"] == pytest.approx(10 * 60 / 70)
    for code, points in old.items():
        if code.startswith("OUT."):
            assert new[code] == pytest.approx(points * 60 / 50 * 60 / 70), code
        elif code.startswith("BEN."):
            assert new[code] == pytest.approx(points), code
    assert new["NEW"] == pytest.approx(10)
    groups = dict(zip(changed.level1_codes,
                      np.bincount(changed.level1_index, weights=changed.points), strict=True))
    assert groups == pytest.approx({"OUT": 60, "BEN": 40})


def test_the_composite_factors_example_loads_as_discrete_factors(tmp_path):
    from perfsim.run.sensitivity import load_params

    system = load_indicator_system(NATIONAL)
    sc = Scenario(name="c", portfolio=generate_portfolio(system, seed=3, n_projects=40,
                                                         n_departments=4),
                  system=system, seed=8, linkage=liupanshui(0.15), grading=Grading())
    sc = sc.set({"aggregation": "power_mean"})
    path = tmp_path / "composite_params.yaml"
    path.write_text(_example("composite_params.yaml"), encoding="utf-8")
    specs = load_params(path, sc)
    assert [s.name for s in specs] == ["normalisation", "level_aggregation.1",
                                       "composite.power_mean.p"]
    assert list(specs[0].values) == ["none", "goalposts"]
    assert [float(v) for v in specs[2].values] == [-1.0, 0.5, 1.0]


def test_the_target_example_gives_the_points_scenario_set_gives(tmp_path):
    # docs/tasks/weights.md: a target: block in a file and the same tier mapping set by its
    # YAML path give the same points; the 3 : 1 target lifts OUT.QTY.1 above equal weights
    block = yaml.safe_load(_example("target.yaml"))["weighting"]
    base = yaml.safe_load((DATASETS / "scenarios" / "weighting_comparison.yaml"
                           ).read_text(encoding="utf-8"))
    base["indicator_system"] = str(NATIONAL)
    base["portfolio"] = {"generate": {"n_projects": 300, "n_departments": 12}}
    (tmp_path / "plain.yaml").write_text(yaml.safe_dump(base, allow_unicode=True),
                                         encoding="utf-8")
    (tmp_path / "target.yaml").write_text(
        yaml.safe_dump({**base, "weighting": block}, allow_unicode=True), encoding="utf-8")
    from_file = load_scenario(tmp_path / "target.yaml").system
    plain = perfsim_load(tmp_path / "plain.yaml")
    by_set = plain.set({"weighting.groups.method": block["groups"],
                        "weighting.leaves.method": block["leaves"]}).system
    np.testing.assert_allclose(from_file.points, by_set.points, rtol=1e-9)
    assert from_file.points.sum() == pytest.approx(100)
    equal = plain.set({"weighting.groups.method": "optimised",
                       "weighting.leaves.method": "optimised"}).system
    k = from_file.codes.index("OUT.QTY.1")
    share = from_file.points[k] / from_file.points[:8].sum()
    assert share > equal.points[k] / equal.points[:8].sum()
