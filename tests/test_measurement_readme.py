"""The documentation's measurement-space example scores as the page says (by hand)."""

from __future__ import annotations

import re

import pytest
from docs_pages import all_text

from perfsim.model.scenario import load_scenario
from perfsim.run.simulate import simulate


def test_the_readme_targets_example_scores_by_hand(tmp_path):
    text = all_text()
    found = dict(re.findall(r"<!-- example: (\S+) -->\n```\w*\n(.*?)```", text, re.S))
    for name in ("system.yaml", "portfolio.csv", "measurement.yaml"):
        (tmp_path / name).write_text(found[name], encoding="utf-8")
    sc = load_scenario(tmp_path / "measurement.yaml")
    s = sc.settings
    assert (s.space, s.targets_set_by, s.target_ambition) == ("measurement", "ambition", 0.1)
    assert dict(s.target_ambition_by_department) == {"Health": -0.2}
    sample = simulate(sc, noise=False).sample
    # P1: 40 × 100/110 + 20 + 40 + 2 (one extra evaluation) = 98.36
    # P2: 40 × 85/93.5 + (20 − 2) + 0.8 × 40 = 86.36
    # P3: target 48 (soft): 60/48 = 1.25, 0.05 past the 0.2 threshold -> 0.95 × 40 = 38;
    #     30 days late -> 14; 不满意 0
    assert sample["final_score"].tolist() == pytest.approx([98.36, 86.36, 52.0], abs=1e-9)
    assert sample["grade"].tolist() == ["excellent", "good", "poor"]
