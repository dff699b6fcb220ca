"""General preconditions: any yes/no column of the portfolio and department-level flags, each
with its consequence (no budget, cut by a share, postpone)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import one_error_line

import perfsim
from perfsim.cli import main
from perfsim.errors import InputError
from perfsim.run.sensitivity import evaluate_samples

DEPS = ["林业局", "林业局", "林业局", "教育局", "教育局", "卫健委"]
BUDGETS = [100.0, 200.0, 300.0, 400.0, 500.0, 600.0]
SCORES = [95.0, 85.0, 70.0, 92.0, 81.0, 88.0]   # 优 良 中 优 良 良


def write(tmp_path, linkage: str, columns: dict | None = None, more: str = "",
          sim: str = ""):
    pd.DataFrame({"project_id": [f"P{i + 1}" for i in range(6)], "department": DEPS,
                  "budget": BUDGETS, "score": SCORES, **(columns or {})}
                 ).to_csv(tmp_path / "pf.csv", index=False)
    path = tmp_path / "sc.yaml"
    path.write_text("name: flags\nseed: 3\nportfolio: {file: pf.csv}\n"
                    f"linkage:\n{linkage}\n{more}{sim}", encoding="utf-8")
    return path


KEEP_ALL = "  rule: grade_table\n  multipliers: {excellent: 1, good: 1, fair: 1, poor: 0}\n"


def test_a_department_refusing_self_evaluation_gets_no_project_budget(tmp_path):
    # Xingzi [S3]: no per-row flags; one line for the department
    path = write(tmp_path, KEEP_ALL + "  preconditions: [self_evaluated]\n",
                 more="department_flags:\n  self_evaluated: {林业局: no}\n")
    sc = perfsim.load(path)
    year = sc.run_year()
    alloc = year.allocations.set_index("project_id")
    forestry = alloc[alloc["department"] == "林业局"]
    assert (forestry["next_budget"] == 0).all() and forestry["precondition_failed"].all()
    others = alloc[alloc["department"] != "林业局"]
    assert (others["next_budget"] == others["budget"]).all()
    assert year.metrics["cancelled_total"] == 100 + 200 + 300
    # the Monte Carlo's years and every replication agree
    reps = sc.simulate(replications=40, years=2, noise=False).replications
    assert (reps.loc[reps["year"] == 1, "cancelled_total"] == 600.0).all()
    assert (reps.loc[reps["year"] == 2, "budget_total"] == 1500.0).all()


def test_a_department_table_file_gives_the_same_flags(tmp_path):
    (tmp_path / "deps.csv").write_text("department,self_evaluated,cost_calculated\n"
                                       "林业局,否,是\n教育局,yes,no\n", encoding="utf-8")
    path = write(tmp_path, KEEP_ALL + "  preconditions: [self_evaluated, {flag: "
                 "cost_calculated, consequence: cut, share: 0.25}]\n",
                 more="department_flags: {file: deps.csv}\n")
    alloc = perfsim.load(path).run_year().allocations
    # 林业局 no budget; 教育局 cut by 25% (no cost calculation); 卫健委 not listed: kept
    assert alloc["next_budget"].tolist() == [0, 0, 0, 300.0, 375.0, 600.0]


def test_any_yes_no_column_is_a_precondition_with_its_consequence(tmp_path):
    # Weifang [S1]: no cost calculation → not funded; here a cut of 30% and a postponement
    cols = {"cost_calculated": ["yes", "no", "yes", "no", "yes", "yes"],
            "pre_evaluated": ["是", "是", "否", "是", "是", "是"],
            "has_targets": [1, 1, 1, 1, 1, 0]}
    path = write(tmp_path, KEEP_ALL + """  preconditions:
    - has_targets
    - {flag: cost_calculated, consequence: cut, share: 0.3}
    - {flag: pre_evaluated, consequence: postpone}
""", cols)
    year = perfsim.load(path).run_year()
    alloc = year.allocations
    assert alloc["next_budget"].tolist() == [100.0, 140.0, 0.0, 280.0, 500.0, 0.0]
    assert alloc["status"].tolist() == ["kept", "cut", "postponed", "cut", "kept",
                                        "cancelled"]
    assert year.metrics["postponed_total"] == 300.0
    assert year.metrics["cancelled_total"] == 600.0
    assert year.metrics["cut_total"] == pytest.approx(60.0 + 120.0, abs=1e-9)
    # the ledger still adds up: kept + cut + cancelled + postponed = budget
    assert (alloc["kept"] + alloc["cut"] + alloc["cancelled"] + alloc["postponed"]
            == alloc["budget"]).all()


def test_a_postponed_project_sits_out_one_year_and_comes_back(tmp_path):
    path = write(tmp_path, KEEP_ALL + "  preconditions: [{flag: pre_evaluated, consequence: "
                 "postpone}]\n", {"pre_evaluated": ["no", "yes", "yes", "yes", "yes", "yes"]})
    reps = perfsim.load(path).simulate(replications=1, years=4, noise=False).replications
    # P1 (100 yuan) is postponed in year 1; the flag described that year (it holds
    # simulation.dynamics.flag_years = 1 year): back in year 3, it stays
    assert reps["projects"].tolist() == [6, 5, 6, 6]
    assert reps["budget_total"].tolist() == [2100.0, 2000.0, 2100.0, 2100.0]
    assert reps["postponed_total"].tolist() == [100.0, 0.0, 0.0, 0.0]
    # flags that never change: postponed every time it is in: in, out, in, out
    forever = perfsim.load(path).set({"simulation.dynamics.flag_years": 0})
    reps = forever.simulate(replications=1, years=4, noise=False).replications
    assert reps["projects"].tolist() == [6, 5, 6, 5]
    assert reps["budget_total"].tolist() == [2100.0, 2000.0, 2100.0, 2000.0]
    assert reps["postponed_total"].tolist() == [100.0, 0.0, 100.0, 0.0]


def test_the_cut_share_of_a_precondition_is_a_registry_parameter(tmp_path):
    path = write(tmp_path, KEEP_ALL + "  preconditions: [{flag: cost_calculated, "
                 "consequence: cut, share: 0.3}]\n",
                 {"cost_calculated": ["yes", "no", "yes", "no", "yes", "yes"]})
    sc = perfsim.load(path)
    name = "linkage.preconditions.cost_calculated.share"
    assert name in sc.parameters
    y = evaluate_samples(sc, [name], np.array([[0.0], [0.5], [1.0]]), metrics=["cut_total",
                         "cancelled_total"], settings=sc.settings.without_noise())
    # 200 + 400 yuan fail the flag: cut 0, 300, and at share 1 the multiplier is 0
    assert y.tolist() == [[0.0, 0.0], [300.0, 0.0], [0.0, 600.0]]
    assert sc.set({name: 0.5}).run_year().metrics["cut_total"] == 300.0


@pytest.mark.parametrize("linkage, more, field", [
    (KEEP_ALL + "  preconditions: [self_evaluated]\n",
     "department_flags:\n  self_evaluated: {财政局: no}\n", "department_flags.self_evaluated"),
    (KEEP_ALL + "  preconditions: [has_targets]\n",
     "department_flags:\n  self_evaluated: {林业局: no}\n", "department_flags.self_evaluated"),
    (KEEP_ALL + "  preconditions: [self_evaluated]\n",
     "department_flags:\n  self_evaluated: {林业局: maybe}\n", "林业局"),
    (KEEP_ALL + "  preconditions: [cost_calculated]\n", "", "cost_calculated"),
    (KEEP_ALL + "  preconditions: [{flag: x, consequence: fine}]\n", "", "consequence"),
    (KEEP_ALL + "  preconditions: [{flag: x, consequence: cut}]\n", "", "share"),
])
def test_bad_flags_are_one_line_naming_the_field(tmp_path, linkage, more, field, capsys):
    path = write(tmp_path, linkage, more=more)
    with pytest.raises(InputError) as info:
        perfsim.load(path)
    assert field in str(info.value)
    assert main(["validate", str(path)]) == 2
    one_error_line(capsys)


def test_an_unknown_column_is_still_refused_unless_it_is_a_precondition(tmp_path):
    path = write(tmp_path, KEEP_ALL, {"cost_calculated": ["yes"] * 6})
    with pytest.raises(InputError, match="cost_calculated"):
        perfsim.load(path)
    with pytest.raises(InputError, match="yes/no"):
        perfsim.load(write(tmp_path, KEEP_ALL + "  preconditions: [cost_calculated]\n",
                           {"cost_calculated": ["yes", "maybe", "no", "no", "no", "no"]}))


def test_each_project_says_which_sanction_it_met(tmp_path):
    cols = {"cost_calculated": ["yes", "no", "yes", "no", "yes", "yes"],
            "pre_evaluated": ["是", "是", "否", "是", "是", "是"],
            "has_targets": [1, 1, 1, 1, 1, 0]}
    path = write(tmp_path, KEEP_ALL + """  preconditions:
    - has_targets
    - {flag: cost_calculated, consequence: cut, share: 0.3}
    - {flag: pre_evaluated, consequence: postpone}
""", cols)
    year = perfsim.load(path).run_year()
    assert year.allocations["sanction"].tolist() == ["", "cut", "postpone", "cut", "",
                                                     "no_budget"]
    # only the project that lost all budget to a precondition counts as failing one
    assert year.allocations["precondition_failed"].tolist() == [False] * 5 + [True]
    assert year.summary["precondition_failures"] == 1
