"""The unit check of rendered reports (tests/report_checks.py) finds what it looks for.

Each table here is shown as the notebooks show it (:func:`perfsim.notebooks.show`, rendered
to HTML by pandas as Jupyter does), then one cell or heading is spoilt by hand; the check must
name it. The well-formed tables must pass.
"""

from __future__ import annotations

import pandas as pd
import pytest
import report_checks as rc
from IPython.core.formatters import DisplayFormatter

from perfsim import notebooks as nb
from perfsim.present import plots


def rendered(shown: pd.DataFrame) -> rc.Table:
    (table,) = rc.read_tables(shown._repr_html_())
    return table


def wide() -> pd.DataFrame:
    return nb.show(pd.DataFrame({
        "variant": ["today 现行", "cut 20%"], "budget": [1.28e9, 2.5e9],
        "savings": [1.2345e8, 0.0], "share_excellent": [0.15, 0.3],
        "projects": [3468, 12]}))


def test_a_well_formed_table_passes_and_its_headings_are_read():
    shown = wide()
    table = rendered(shown)
    kinds = [rc.heading_kind(h, {}) for h in table.headings()]
    # index, variant (text), budget and savings in 亿元, a share, a count
    assert [(k, u) for k, u, _ in kinds] == [(None, None), (None, None), ("money", "亿元"),
                                             ("money", "亿元"), ("share", None),
                                             ("count", None)]
    assert table.body[0][2:] == ["12.80", "1.23", "15.0%", "3,468"]
    assert rc.table_problems(table) == []


@pytest.mark.parametrize("column,row,bad,why", [
    ("本年预算 budget (亿元)", 0, "1280000000.00", "not a money"),  # no separators
    ("本年预算 budget (亿元)", 0, "12.800", "not a money"),         # three decimals
    ("节约资金 savings (亿元)", 1, "0", "not a money"),
    ("share_excellent", 0, "0.15", "not a share"),                   # a share as a fraction
    ("项目数 projects", 0, "3,468.0", "not a count"),
    ("项目数 projects", 1, "1.2e+01", "scientific notation"),
    ("方案 variant", 1, "PosixPath('figures/x.png')", "an object's repr"),
    ("share_excellent", 1, "nan", "a raw value"),
])
def test_a_cell_in_another_unit_is_named(column, row, bad, why):
    shown = wide()
    shown.loc[row, column] = bad
    problems = rc.table_problems(rendered(shown), where="t")
    assert len(problems) == 1, problems
    assert f"row {row + 1}" in problems[0] and column in problems[0] and why in problems[0]


def test_two_money_units_or_millions_in_one_table_are_named():
    shown = wide().rename(columns={"节约资金 savings (亿元)": "节约资金 savings (万元)"})
    assert any("more than one unit" in p for p in rc.table_problems(rendered(shown)))
    shown = wide().rename(columns={"本年预算 budget (亿元)": "本年预算 budget (百万元)"})
    problems = rc.table_problems(rendered(shown))
    assert any("百万元" in p for p in problems)
    # a money column whose heading names no unit
    shown = wide().rename(columns={"本年预算 budget (亿元)": "本年预算 budget"})
    assert any("names no unit" in p for p in rc.table_problems(rendered(shown)))


def long_table() -> pd.DataFrame:
    return nb.show(pd.DataFrame({
        "year": [1, 1, 2], "metric": ["misgrading", "wrong_cuts", "count_poor"],
        "mean": [0.125, 2.5e6, 3.0], "p05": [0.1, 1.0e6, 2.0], "p95": [0.15, 4.0e6, 4.0]}))


def test_a_long_tables_values_follow_their_rows_metric():
    table = rendered(long_table())
    # by hand: 12.5%, 2.5 million yuan in 万元 (the table's one unit), three projects
    assert [r[3:] for r in table.body] == [["12.5%", "10.0%", "15.0%"],
                                           ["250.00", "100.00", "400.00"], ["3", "2", "4"]]
    assert rc.table_problems(table) == []
    for row, column, bad in [(0, "均值 mean", "0.125"), (1, "5%分位 p05", "1,000,000.000"),
                             (2, "95%分位 p95", "4.0%")]:
        shown = long_table()
        shown.loc[row, column] = bad
        problems = rc.table_problems(rendered(shown))
        assert len(problems) == 1 and f"row {row + 1}" in problems[0], problems
    shown = long_table()
    shown.loc[1, "指标 metric"] = "wrong_cuts"  # money with no unit on its row
    assert any("no unit named" in p for p in rc.table_problems(rendered(shown)))


def test_a_target_gap_is_in_its_metrics_unit():
    """Notebook 04's target table: 128 million yuan wanted, 131 million achieved — the gap of
    3 million shows as 0.03 亿元 like the target, not 3,000,000.000."""
    shown = nb.show(pd.DataFrame({"metric": ["cut_total"], "target": [1.28e8],
                                  "achieved": [1.31e8], "gap": [3.0e6], "ratio": [0.15]}))
    table = rendered(shown)
    assert table.body[0][1:] == ["cut_total (亿元)", "1.28", "1.31", "0.03", "15.0%"]
    assert rc.table_problems(table) == []


def test_a_pivot_by_a_grid_value_is_read_level_by_level():
    long = pd.DataFrame({"year": [1, 1, 2, 2],
                         "simulation.spot_check.share": [0.0, 0.5, 0.0, 0.5],
                         "metric": ["misgrading"] * 4, "mean": [0.2, 0.1, 0.25, 0.05]})
    shown = nb.show(long.pivot_table(index=["year", "simulation.spot_check.share"],
                                     columns="metric", values="mean"))
    table = rendered(shown)
    assert table.index_levels == 2  # the year spans two rows in the HTML
    assert [r[:2] for r in table.body] == [["1", "0.0%"], ["1", "50.0%"], ["2", "0.0%"],
                                          ["2", "50.0%"]]
    assert rc.table_problems(table) == []
    spoilt = shown.rename(index={"50.0%": "0.5"}, level=1)
    problems = rc.table_problems(rendered(spoilt))
    assert len(problems) == 2 and all("'0.5': not a share" in p for p in problems), problems


def test_a_notebooks_own_declaration_is_honoured():
    """Notebook 02 shows above ÷ below with ``units={"ratio": "times"}``: 1.271, no share."""
    cell = 'nb.show(bunch, units={"ratio": "times"})  # a ratio of counts'
    declared = rc.show_declarations(cell)
    assert declared == {"ratio": None}
    shown = nb.show(pd.DataFrame({"below": [59, 10], "above": [75, 5],
                                  "ratio": [75 / 59, 0.5]}), units={"ratio": "times"})
    assert rendered(shown).body[0][3] == "1.271"
    assert rc.table_problems(rendered(shown), declared) == []
    assert rc.table_problems(rendered(shown)) != []  # by its name alone, a share
    assert rc.show_declarations("nb.show(t, shares=['break_even_share'], counts=('n',))") == {
        "break_even_share": "share", "n": "count"}


def test_page_problems_find_reprs_in_the_text_not_in_styles():
    page = ("<html><style>.x{}</style><body><pre>&lt;Figure size 640x480 with 1 Axes&gt;</pre>"
            "<p># Parameters</p><script>var s = 'PosixPath(';</script></body></html>")
    problems = rc.page_problems(page, "p.html")
    assert len(problems) == 2
    assert any("<Figure" in p for p in problems) and any("# Parameters" in p for p in problems)
    assert rc.page_problems("<p>节约资金 1.28 亿元</p>") == []


def test_a_saved_file_shows_nothing_when_a_cell_ends_with_it(tmp_path):
    """A cell ending in ``nb.save_figure(...)`` printed ``PosixPath('figures/x.png')``."""
    df = pd.DataFrame({"x": ["a", "b"], "y": [1.0, 2.0]})
    fig = plots.bar_chart(df, "x", "y", title="t", xlabel="x (unit)", ylabel="y (yuan)",
                          source="test")
    saved = [nb.save_figure(fig, "f", tmp_path), nb.save_table(df, "t", tmp_path),
             nb.output_path("w.xlsx", tmp_path)]
    assert saved == [tmp_path / "figures" / "f.png", tmp_path / "tables" / "t.csv",
                     tmp_path / "w.xlsx"]
    assert saved[0].read_bytes()[:4] == b"\x89PNG"
    for path in saved:
        assert DisplayFormatter().format(path) == ({}, {})
    assert DisplayFormatter().format(tmp_path)[0]  # a plain path still shows
