"""The helpers that let a notebook run on any scenario, or refuse it in one line."""

from __future__ import annotations

import pandas as pd
import pytest

import perfsim
from perfsim import notebooks as nb
from perfsim.errors import InputError
from perfsim.model.portfolio import portfolio_from_frame


def scenario(departments) -> perfsim.Scenario:
    n = len(departments)
    pf = portfolio_from_frame(pd.DataFrame({
        "project_id": [f"P{i + 1}" for i in range(n)], "department": departments,
        "budget": [100.0] * n, "score": [70.0] * n}))
    return perfsim.Scenario(name="constructed", portfolio=pf)


def test_departments_in_keeps_the_named_ones_the_scenario_has_in_the_order_given():
    sc = scenario(["A", "B", "B", "C"])
    assert nb.departments_in(sc, ["C", "X", "A"]) == ["C", "A"]


def test_departments_in_falls_back_to_the_largest_departments_ties_by_name():
    sc = scenario(["D", "B", "B", "C", "C", "A", "E", "E", "E"])
    # E has 3 projects, B and C 2 each, A and D 1: the three largest, ties by name
    assert nb.departments_in(sc, ["D475"]) == ["E", "B", "C"]
    assert nb.departments_in(sc, ["D475"], most=4) == ["E", "B", "C", "A"]


def test_attempt_gives_the_table_or_a_one_row_note_naming_the_refusal():
    table = pd.DataFrame({"x": [1, 2]})
    assert nb.attempt(lambda t: t, table) is table

    def refuse(n: int) -> pd.DataFrame:
        raise InputError(where="bunching", field="scores", value=n,
                         problem="needs at least 20 scores")

    note = nb.attempt(refuse, 5)
    assert list(note.columns) == [nb.helpers.NOTE] and len(note) == 1
    assert note.iloc[0, 0].endswith("字段 field 'scores' = 5: 数量不足 / needs at least 20 scores")
    with pytest.raises(ZeroDivisionError):   # only perfsim's refusals become notes
        nb.attempt(lambda: 1 / 0)


def test_show_keeps_the_columns_a_table_has():
    def shown(table, columns):   # the English end of each (bilingual) heading
        return [str(c).split()[-1] for c in nb.show(table, columns=columns).columns]

    table = pd.DataFrame({"policy": ["a"], "cutoff": [80.0], "excess": [3.0]})
    assert shown(table, ["policy", "excess", "missing"]) == ["policy", "excess"]
    note = pd.DataFrame({nb.helpers.NOTE: ["not applicable"]})
    assert shown(note, ["policy"]) == ["note"]


def test_a_scenario_without_cutoffs_or_measurements_is_refused_in_one_line():
    sc = scenario(["A", "B"])
    assert nb.cutoffs(sc) == [90.0, 80.0, 60.0]
    with pytest.raises(InputError, match="indicator system") as err:
        nb.needs_measurements(sc)
    assert "\n" not in str(err.value)
    ranked = sc.replace(grading=perfsim.load(
        "datasets/scenarios/wenzhou_2013.yaml").grading)
    with pytest.raises(InputError, match="grades by rank"):
        nb.cutoffs(ranked)
