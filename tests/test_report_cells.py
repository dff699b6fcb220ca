"""No report cell shows a value in another column's unit.

The tables the notebooks show (:func:`perfsim.notebooks.show`) are built here with the same
package functions on a small scenario, and each cell is checked against the unit its column
declares — in the metric registry (:mod:`perfsim.kernel.metrics`), in the parameter table
(:mod:`perfsim.model.constraints`) — or, for the value columns of a long table, the unit of its
row's metric: money as the number of the table's one unit (元, 万元 or 亿元, named in the
heading), shares as percentages, counts and ranks as integers. The expected kind of each cell
is looked up here in the registries, independently of :mod:`perfsim.numbers`.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from conftest import tiny_scores_scenario

import perfsim
from perfsim import notebooks as nb
from perfsim import numbers
from perfsim.kernel import metrics as mx
from perfsim.kernel.grading import NATIONAL
from perfsim.model.constraints import constraint
from perfsim.run import variants as studies

MONEY_UNITS = {"元": 1.0, "万元": 1e4, "亿元": 1e8}
VALUE_COLUMNS = ("mean", "p05", "p95", "one_year", "no_noise", "mu", "mu_star", "sigma",
                 "mu_star_conf", "target", "achieved")


def registry_kind(name: str) -> str | None:
    """A column's kind from the registries alone: a metric's unit, a YAML path's unit."""
    metrics = mx.registry(NATIONAL)
    if name in metrics:
        unit = metrics[name].unit
    else:
        c = constraint(name) if "." in name else None
        unit = c.unit if c is not None else None
    return {"yuan": "money", "share": "share", "projects": "count", "units": "count",
            "checks": "count", "yuan per point": "rate", "yuan per yuan": "rate"}.get(unit or "")


def _num(text: str) -> float:
    return float(text.replace(",", "").rstrip("%"))


def check_cell(raw: float, shown: str, kind: str | None, unit: str | None, where: str) -> None:
    if isinstance(raw, float) and np.isnan(raw):
        assert shown == "—", where
        return
    if kind == "money":
        assert unit in MONEY_UNITS, where
        assert re.fullmatch(r"-?[\d,]+\.\d\d", shown), (where, shown)
        assert _num(shown) == pytest.approx(raw / MONEY_UNITS[unit], abs=0.006), (where, shown)
    elif kind == "rate":  # yuan per point: in yuan, whatever the table's money unit
        assert re.fullmatch(r"-?[\d,]+\.\d\d", shown), (where, shown)
        assert _num(shown) == pytest.approx(raw, abs=0.006), (where, shown)
    elif kind == "share":
        assert re.fullmatch(r"-?[\d,]+\.\d%", shown), (where, shown)
        assert _num(shown) == pytest.approx(raw * 100, abs=0.06), (where, shown)
    elif kind == "count":
        assert re.fullmatch(r"-?[\d,]+", shown), (where, shown)
        assert int(shown.replace(",", "")) == round(raw), (where, shown)
    else:  # a plain number: never a percentage, never scaled
        assert not shown.endswith("%"), (where, shown)
        assert _num(shown) == pytest.approx(raw, abs=0.0006), (where, shown)


def heading_unit(heading: str) -> str | None:
    m = re.search(r"\((元|万元|亿元)\)$", heading)
    return m.group(1) if m else None


def check_table(raw: pd.DataFrame, kinds: dict[str, str | None] | None = None) -> None:
    """Every numeric cell of ``nb.show(raw)`` against the unit its column declares (or, in a
    long table's value columns, its row's metric's): one money unit in the whole table."""
    shown = nb.show(raw)
    assert len(shown.columns) == len(raw.columns)
    # which displayed column is which raw one: the English name inside the heading
    position = {c: i for i, c in enumerate(raw.columns)}
    order = sorted(raw.columns, key=lambda c: position[c])
    money_units = set()
    metric_rows = raw["metric"].astype(str).tolist() if "metric" in raw.columns else None
    for col, heading in zip(order, shown.columns, strict=True):
        assert str(col) in heading, (col, heading)
        if not pd.api.types.is_numeric_dtype(raw[col]):
            continue
        for i in range(len(raw)):
            if metric_rows is not None and col in VALUE_COLUMNS:
                kind = registry_kind(metric_rows[i])
                unit = None
                if kind == "money":  # the unit is named with the row's metric
                    metric_heading = [h for h in shown.columns
                                      if h == "metric" or h.endswith(" metric")][0]
                    unit = heading_unit(str(shown[metric_heading].iloc[i]))
            else:
                kind = (kinds or {}).get(col, registry_kind(str(col)))
                unit = heading_unit(heading)
            if kind == "money":
                money_units.add(unit)
            check_cell(raw[col].iloc[i], str(shown[heading].iloc[i]), kind, unit,
                       f"{col} row {i}")
    assert len(money_units) <= 1, money_units


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cells")
    path = tiny_scores_scenario(folder, extra="simulation: {replications: 4, years: 2}\n")
    return perfsim.load(path)


def test_every_money_metric_is_known_to_the_formatter():
    """The registry walked: each metric in yuan is money to the formatter, each share a
    share, each count (of projects, units, checks) a count."""
    for name, metric in mx.registry(NATIONAL).items():
        expected = {"yuan": "money", "share": "share", "projects": "count", "units": "count",
                    "checks": "count", "yuan per point": "rate",
                    "yuan per yuan": "rate"}.get(metric.unit)
        if expected is not None:
            assert numbers.column_kind(name) == expected, (name, metric.unit)


def test_a_grid_of_noise_levels_and_metrics(small):
    """Notebook 02's noise table: the grid column shows 0.00 0.02 0.05 0.10 (not the row's
    metric's unit), each row's mean and interval in its metric's unit."""
    grid = studies.settings_grid(small, {"simulation.self_evaluation.noise":
                                         [0.0, 0.02, 0.05, 0.1]}, policies={"a": {}},
                                 metrics=("misgrading", "wrong_cuts", "count_poor", "savings"),
                                 replications=4, years=2)
    check_table(grid)
    shown = nb.show(grid)
    noise = [c for c in shown.columns if "noise" in c][0]
    assert list(dict.fromkeys(shown[noise])) == ["0.00", "0.02", "0.05", "0.10"]


def test_grid_values_in_their_own_units():
    """Notebook 08's tables: a probability as a share, a budget line in the table's money
    unit, expert noise in points — whatever metric the row holds."""
    raw = pd.DataFrame({
        "linkage.rectification.probability": [0.0, 0.5, 1.0, 0.5],
        "linkage.coverage.min_budget": [0.0, 500000.0, 1000000.0, 2000000.0],
        "linkage.pre_evaluation.noise": [0.0, 5.0, 10.0, 5.0],
        "year": [1, 1, 1, 1],
        "metric": ["misgrading", "wrong_cuts", "count_unrectified", "gini"],
        "mean": [0.125, 2.5e6, 3.0, 0.3125],
        "p05": [0.1, 1.0e6, 2.0, 0.25], "p95": [0.15, 4.0e6, 4.0, 0.375]})
    check_table(raw, {"linkage.pre_evaluation.noise": None})
    shown = nb.show(raw)
    prob = [c for c in shown.columns if "probability" in c][0]
    assert shown[prob].tolist() == ["0.0%", "50.0%", "100.0%", "50.0%"]
    line = [c for c in shown.columns if "min_budget" in c][0]
    # the table's money: budget lines and the wrong cuts of 2.5 million yuan, in 万元
    assert line.endswith("(万元)") and shown[line].tolist() == ["0.00", "50.00", "100.00",
                                                                "200.00"]


def test_morris_ranks_are_integers_on_every_row():
    """Notebook 05's Morris table: the rank (1..k within a metric) is an integer on money and
    share rows alike; μ* follows the row's metric."""
    raw = pd.DataFrame({
        "metric": ["savings", "savings", "misgrading", "misgrading"],
        "parameter": ["linkage.ratio", "simulation.self_evaluation.noise"] * 2,
        "mu": [3.0e7, 1.0e6, 0.02, 0.1], "mu_star": [3.0e7, 2.0e6, 0.03, 0.12],
        "sigma": [1.0e6, 5.0e5, 0.01, 0.02], "mu_star_conf": [2.0e6, 1.0e6, 0.01, 0.01],
        "rank": [1.0, 2.0, 2.0, 1.0]})
    check_table(raw, {"rank": "count"})
    shown = nb.show(raw)
    assert shown[[c for c in shown.columns if c.endswith("rank")][0]].tolist() == [
        "1", "2", "2", "1"]


def test_one_year_beside_the_monte_carlo(small):
    """Notebook 04's side-by-side table, built by the package function."""
    year = small.run_year()
    mc = small.simulate(replications=4, years=1)
    side = studies.one_year_and_monte_carlo(year, mc, ["savings", "cut_total",
                                                       "share_excellent", "count_poor"],
                                            small.grading.labels)
    check_table(side.drop(columns=["unit", "meaning"]))


def test_grades_by_variant_chinese_first(small):
    """Notebook 02/04/07's by-grade tables: 等级 before grade, shares as percentages, every
    money column in the table's one unit."""
    v = studies.year_variants(small, {"today": {}, "cut 20%": {"linkage.ratio": 0.2}})
    shown = nb.show(v.by_grade)
    headings = list(shown.columns)
    zh = [i for i, h in enumerate(headings) if h.endswith("grade_zh")][0]
    en = [i for i, h in enumerate(headings) if h.endswith(" grade")][0]
    assert zh == en - 1
    check_table(v.by_grade.drop(columns=["grade_zh"]), {"share": "share"})
    check_table(v.totals)


def test_the_weighting_comparison_in_its_units():
    """Notebook 01's scheme summary: money gained, lost and the net change in the table's
    money unit (they printed as ``253,259,190.623``), projects per grade and departments as
    counts."""
    raw = pd.DataFrame({"scheme": ["expert", "equal"], "projects_excellent": [10, 12],
                        "changed_grade": [0, 7], "next_budget": [2.4e9, 2.35e9],
                        "departments_gaining": [0, 3], "money_gained": [0.0, 253259190.623],
                        "money_lost": [0.0, 3.0e8], "net_change": [0.0, -4.674e7]})
    kinds = {"projects_excellent": "count", "changed_grade": "count",
             "departments_gaining": "count", "next_budget": "money", "money_gained": "money",
             "money_lost": "money", "net_change": "money"}
    check_table(raw, kinds)
    shown = nb.show(raw)
    gained = [c for c in shown.columns if "money_gained" in c][0]
    assert gained.endswith("(亿元)") and shown[gained].tolist() == ["0.00", "2.53"]


def test_check_designs_in_their_units():
    """Notebook 06's Pareto front: the share checked as a percentage, the penalty in points,
    checks as a count, cost and wrong cuts in the table's money unit, the inflation payoff in
    元 per point (it printed ``5,787.864`` with no unit)."""
    raw = pd.DataFrame({
        "simulation.spot_check.share": [0.0, 0.144, 0.288],
        "simulation.spot_check.selection": ["random", "near_cutoffs", "largest_budget"],
        "simulation.spot_check.inflation_penalty": [0.0, 10.0, 5.0],
        "checks": [0, 500, 1000], "evaluation_cost_recheck": [0.0, 1.5e6, 3.0e6],
        "inflation_payoff": [5787.864, -637.119, 319.685],
        "wrong_cuts": [1.3437e7, 1.0002e8, 7.2887e7]})
    check_table(raw, {"simulation.spot_check.inflation_penalty": None})
    shown = nb.show(raw)
    payoff = [c for c in shown.columns if "inflation_payoff" in c][0]
    assert payoff.endswith("(元/分)")
    assert shown[payoff].tolist() == ["5,787.86", "-637.12", "319.69"]


def test_a_ratio_of_counts_declared_as_no_share():
    """Notebook 02's bunching table: above ÷ below is a ratio around 1 (1.271), not 127.1%."""
    bunch = studies.line_counts(np.array([79.0, 80.5, 81.0, 81.5, 89.0, 90.5]), [90, 80],
                                width=2.0)
    shown = nb.show(bunch, units={"ratio": "times"})
    ratio = [c for c in shown.columns if c.endswith("ratio")][0]
    expected = [above / below for above, below in zip(bunch["above"], bunch["below"],
                                                      strict=True)]
    assert [float(v) for v in shown[ratio]] == pytest.approx(expected, abs=0.001)
    assert not any(v.endswith("%") for v in shown[ratio])


def test_a_pivot_by_a_grid_value_shows_the_grid_in_its_unit():
    """A pivot table whose rows are a grid's values (notebook 06 and 08 pivot by a YAML path):
    the probability 0.5 and 1 as 50.0% and 100.0%, not 0.50 / 1.00 or 0.00."""
    long = pd.DataFrame({"linkage.rectification.probability": [0.0, 0.5, 1.0] * 2,
                         "metric": ["misgrading"] * 3 + ["wrong_cuts"] * 3,
                         "mean": [0.2, 0.15, 0.1, 3.0e6, 2.0e6, 1.0e6]})
    wide = long.pivot_table(index="linkage.rectification.probability", columns="metric",
                            values="mean")
    shown = nb.show(wide)
    assert list(shown.index) == ["0.0%", "50.0%", "100.0%"]
    check_table(wide.reset_index())
