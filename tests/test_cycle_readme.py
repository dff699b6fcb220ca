"""The evaluation-cycle example of the documentation (docs/tasks/cycle.md) loads and runs as
its text says."""

from __future__ import annotations

import re

import pytest
from docs_pages import page

from perfsim.model.scenario import load_scenario
from perfsim.run.year import run_year


def test_the_cycle_example_gives_the_budgets_the_readme_states(tmp_path):
    text = page("tasks/cycle.md")
    found = dict(re.findall(r"<!-- example: (\S+) -->\n```\w*\n(.*?)```", text, re.S))
    for name in ("cycle.csv", "cycle.yaml"):
        (tmp_path / name).write_text(found[name], encoding="utf-8")
    result = run_year(load_scenario(tmp_path / "cycle.yaml"))
    alloc = result.allocations.set_index("project_id")
    # P1 优 kept; P2 差 rectified × 0.7; P3, P4 林业局 refused; P5 中 × 0.9, no cost × 0.8
    assert alloc["next_budget"].tolist() == pytest.approx(
        [1_000_000, 560_000, 0, 0, 360_000], rel=1e-15)
    assert alloc["rectified"].tolist() == [False, True, False, False, False]
    assert alloc.loc[["P3", "P4"], "precondition_failed"].all()
    cycle = result.summary["evaluation_cycle"]["rectification"]
    # P2 fed back and rectified; P4 scored 52 but 林业局 refused to self-evaluate: it has no
    # self-evaluation to grade (未评价), so it is not fed back
    assert (cycle["fed_back"], cycle["rectified"]) == (1, 1)
    assert alloc.loc[["P3", "P4"], "grade"].tolist() == ["not_evaluated"] * 2


def test_the_pre_evaluation_example_gives_the_budgets_the_readme_states(tmp_path):
    text = page("tasks/cycle.md")
    found = dict(re.findall(r"<!-- example: (\S+) -->\n```\w*\n(.*?)```", text, re.S))
    for name in ("requests.csv", "pre_evaluation.yaml"):
        (tmp_path / name).write_text(found[name], encoding="utf-8")
    result = run_year(load_scenario(tmp_path / "pre_evaluation.yaml"))
    alloc = result.allocations.set_index("project_id")
    # 95 funded; 78 and 66 reduced 25%; 60 postponed; 52 rejected
    assert alloc["pre_evaluation"].tolist() == ["fund", "reduce", "reduce", "postpone",
                                                "reject"]
    assert alloc["next_budget"].tolist() == [1_000_000, 600_000, 450_000, 0, 0]
    assert result.metrics["pre_evaluation_saved"] == 750_000
    assert result.metrics["pre_evaluation_cut"] == 4
