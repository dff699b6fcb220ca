"""The documentation's examples of the indicator-design craft (treatment, diagnostics, BoD,
SMAA, AHP panels) load and mean what the pages say."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from docs_pages import all_text

from perfsim.model.scenario import load_scenario
from perfsim.model.weights import apply_weighting, treatment_frame, weights_frame

ROOT = Path(__file__).resolve().parent.parent
COMPARISON = ROOT / "datasets" / "scenarios" / "weighting_comparison.yaml"


def example(name: str) -> str:
    text = all_text()
    found = dict(re.findall(r"<!-- example: (\S+) -->\n```\w*\n(.*?)```", text, re.S))
    return found[name]


@pytest.fixture(scope="module")
def comparison():
    return load_scenario(COMPARISON)


def test_treatment_example(comparison):
    block = yaml.safe_load(example("treatment.yaml"))["weighting"]
    sys_, pf = comparison.system, comparison.portfolio
    rec = treatment_frame(sys_, block, pf).set_index("code")
    assert rec.loc["OUT.COST.1", "method"] == "winsorise"
    assert (rec.drop("OUT.COST.1")["method"] == "auto").all()
    treated = weights_frame(apply_weighting(sys_, block, pf)).set_index("code")
    plain = weights_frame(apply_weighting(sys_, {"leaves": "entropy"}, pf)).set_index("code")
    # docs/tasks/weights.md: winsorising OUT.COST.1's top 5% raises its weight from 1.86 to
    # 20.70 points
    assert plain.loc["OUT.COST.1", "points"] == pytest.approx(1.86, abs=0.005)
    assert treated.loc["OUT.COST.1", "points"] == pytest.approx(20.70, abs=0.005)


def test_diagnostics_section_figures(comparison):
    import perfsim

    d = perfsim.diagnose(comparison)
    g = d.groups.set_index("group")
    # docs/tasks/indicators.md: alphas 0.96 and 0.94, first components 77% and 78%, no flagged pair
    assert round(g.loc["OUT", "cronbach_alpha"], 2) == 0.96
    assert round(g.loc["BEN", "cronbach_alpha"], 2) == 0.94
    assert round(100 * g.loc["OUT", "pc1_share"]) == 77
    assert round(100 * g.loc["BEN", "pc1_share"]) == 78
    assert len(d.flags) == 0
    assert abs(d.indicators["effective_share"] - 1 / 16).max() < 0.005


def test_bounds_example(comparison):
    from perfsim.analyse.robust import benefit_of_the_doubt, smaa
    from perfsim.model.weighting_spec import parse_bounds

    block = yaml.safe_load(example("bounds.yaml"))["bounds"]
    b = parse_bounds(block, comparison.system)
    k = comparison.system.codes.index("SAT")
    assert (b.lower[k], b.upper[k]) == (0.05, 0.15)
    assert b.lower[0] == 0.02 and b.upper[0] == 0.20
    res = smaa(comparison, draws=500, bounds=block)
    assert res.seed == comparison.seed
    assert res.table["rank1"].sum() == pytest.approx(1.0)
    # infeasible bounds (docs/tasks/weights.md): SAT fixed at 0.5 while OUT needs >= 0.3,
    # BEN >= 0.2 and EXEC (a leaf) >= 0.02: 1.02 > 1; SAT's lower bound is the one named
    bad = {**block, "leaves": {**block["leaves"], "SAT": [0.5, 0.5]}}
    with pytest.raises(Exception,
                       match="indicator SAT: 字段 field 'lower' = 0.5: 无法与其他上下限同时满足"):
        benefit_of_the_doubt(comparison, bounds=bad)


def test_panel_example(comparison):
    import numpy as np

    block = yaml.safe_load(example("panel.yaml"))["weighting"]
    got = weights_frame(apply_weighting(comparison.system, block), "groups").set_index("code")
    # the second expert is consistent (4:4:1:1); the first is not quite (2 · 3 ≠ 5), so the
    # combined matrix is the geometric mean √(a1 · a2) and its eigenvector gives the weights
    a1 = np.array([[1, 2, 5, 5], [1 / 2, 1, 3, 3], [1 / 5, 1 / 3, 1, 1], [1 / 5, 1 / 3, 1, 1]])
    a2 = np.array([[1, 1, 4, 4], [1, 1, 4, 4], [1 / 4, 1 / 4, 1, 1], [1 / 4, 1 / 4, 1, 1]])
    g = np.sqrt(a1 * a2)
    vals, vecs = np.linalg.eig(g)
    v = np.abs(vecs[:, np.argmax(vals.real)].real)
    np.testing.assert_allclose(got.loc[["OUT", "BEN", "SAT", "EXEC"], "share"], v / v.sum(),
                               rtol=1e-10)
