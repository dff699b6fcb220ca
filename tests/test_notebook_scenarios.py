"""The notebooks that take any scenario run on every bundled scenario (marked ``slow``: CI runs
them in a second, required step after the main suite).

Notebook 06 (self-evaluation gaming) runs through the notebook runner (papermill, a run
directory and its manifest) on all 14 bundled scenarios. Notebooks 02, 03 and 07 are run from
their paired text in this process (the pairing is checked by ``test_notebooks``): they run on
every scenario whose grading has the four national grades, and on Wenzhou's two-grade rank
grading they stop at once with perfsim's one-line refusal (no cutoffs to study; no 中 for the
Liupanshui rule to cut). The notebooks that study one kind of rule — 01 weighting (an
indicator system with measurements of many projects), 04 and 05 the Liupanshui ratio, 08 the
rectification cycle — run on the scenarios that have it and refuse the others in one line.
"""

from __future__ import annotations

import re

import matplotlib
import matplotlib.pyplot as plt
import pytest
from conftest import SCENARIOS
from test_notebooks import ROOT, SMALL

from perfsim.errors import InputError
from perfsim.notebooks import runner as nbr

pytestmark = pytest.mark.slow

BUNDLED = sorted(p.stem for p in SCENARIOS.glob("*.yaml"))
#: scenarios whose grading has no 中 to cut (Wenzhou: 先进单位 / 其他单位 by rank)
TWO_GRADES = {"wenzhou_2013"}


@pytest.mark.parametrize("scenario", BUNDLED)
def test_notebook_06_runs_on_every_bundled_scenario(scenario, tmp_path):
    run = nbr.run_notebook("06_self_evaluation_gaming",
                           {**SMALL["06_self_evaluation_gaming"],
                            "scenario": f"datasets/scenarios/{scenario}.yaml"},
                           reports=tmp_path, run_id=f"t-06-{scenario}")
    assert run.status == "ok", run.manifest["error"]
    tables = {p.stem for p in (tmp_path / run.run_id / "tables").glob("*.csv")}
    assert {"results", "break_even_by_penalty", "bunching", "inflation_model"} <= tables


def run_in_process(stem: str, scenario: str) -> None:
    """Execute a notebook's paired text cell by cell, the parameters cell followed by the
    small parameters and the scenario, as papermill injects them."""
    text = (ROOT / "notebooks" / "text" / f"{stem}.py").read_text(encoding="utf-8")
    parts = re.split(r"^# %%(.*)$", text, flags=re.M)
    namespace: dict = {"__name__": "__main__"}
    matplotlib.use("Agg")
    try:
        for head, body in zip(parts[1::2], parts[2::2], strict=True):
            if "[markdown]" in head:
                continue
            exec(compile(body, f"{stem}.py", "exec"), namespace)   # noqa: S102
            if "parameters" in head:
                namespace.update(SMALL[stem], scenario=f"datasets/scenarios/{scenario}.yaml")
    finally:
        plt.close("all")


@pytest.mark.parametrize("scenario", BUNDLED)
@pytest.mark.parametrize("stem", ["02_grade_thresholds", "03_linkage_rules",
                                  "07_training_walkthrough"])
def test_scenario_notebooks_run_on_every_bundled_scenario_with_four_grades(stem, scenario,
                                                                          monkeypatch):
    monkeypatch.chdir(ROOT)
    if scenario in TWO_GRADES:   # 02 studies cutoffs, 03 and 07 the Liupanshui rule
        refusal = "grade cutoffs" if stem == "02_grade_thresholds" else "needs four grades"
        with pytest.raises(InputError, match=refusal) as err:
            run_in_process(stem, scenario)
        assert "\n" not in str(err.value)
        return
    run_in_process(stem, scenario)



#: the scenarios each rule-specific notebook studies; it refuses the others in one line
APPLIES = {
    "01_indicator_weighting": {"weighting_comparison"},
    "04_reduction_ratio": {"cross_year_s8", "liupanshui_2022", "liupanshui_2022_workbook",
                           "national_template_example", "weighting_comparison", "xinjian"},
    "05_uncertainty_sensitivity": {"cross_year_s8", "liupanshui_2022",
                                   "liupanshui_2022_workbook", "national_template_example",
                                   "weighting_comparison", "xinjian"},
    "08_evaluation_cycle": {"jinan", "xingzi", "zhucheng_2022"},
}


@pytest.mark.parametrize("scenario", BUNDLED)
@pytest.mark.parametrize("stem", sorted(APPLIES))
def test_rule_specific_notebooks_run_where_they_apply_and_refuse_in_one_line(stem, scenario,
                                                                            monkeypatch):
    monkeypatch.chdir(ROOT)
    if scenario in APPLIES[stem]:
        run_in_process(stem, scenario)
        return
    with pytest.raises(InputError) as err:
        run_in_process(stem, scenario)
    assert "\n" not in str(err.value)
