"""Report defects a new user met: reprs and paths in the output, papermill's parameters cell,
UTC times, an empty sweeps table, answers left in the hand-out, charts of no rows."""

from __future__ import annotations

import ast
import datetime as dt
import json
import re

import matplotlib
import nbformat
import pandas as pd
import pytest
from conftest import ROOT

from perfsim import notebooks as nb
from perfsim import numbers
from perfsim.errors import InputError
from perfsim.notebooks import index as nbi
from perfsim.notebooks import runner as nbr
from perfsim.present import plots

matplotlib.use("Agg")

NOTEBOOKS = sorted((ROOT / "notebooks").glob("0*.ipynb"))
#: what a notebook cell may end with: calls that display a table or a figure, or nothing
SHOWING = ("nb.show", "nb.answer", "print", "whatif.panel", "display")


@pytest.mark.parametrize("book", [b for b in NOTEBOOKS if not b.stem.startswith(("01", "06"))],
                         ids=lambda b: b.stem[:2])
def test_no_cell_ends_in_a_value_that_prints_its_repr(book):
    """A cell's last line, when an expression, shows a table or a figure — never a path
    (``PosixPath('tables/results.csv')``), a dict or a tuple."""
    for cell in nbformat.read(book, as_version=4).cells:
        if cell.cell_type != "code" or "parameters" in cell.metadata.get("tags", []):
            continue
        tree = ast.parse(cell.source)
        if tree.body and isinstance(tree.body[-1], ast.Expr):
            text = ast.get_source_segment(cell.source, tree.body[-1]) or ""
            assert text.startswith(SHOWING), (book.stem, text[:60])


def test_answer_shows_its_items_and_returns_nothing(monkeypatch):
    """The key's exercise cell shows the figure and the table, and no ``(<Figure ...>, ...)``
    tuple; the hand-out's cell shows only the note."""
    import matplotlib.pyplot as plt

    shown = []
    monkeypatch.setattr("IPython.display.display", lambda item: shown.append(item))
    fig, _ = plt.subplots()
    table = pd.DataFrame({"a": [1]})
    assert nb.answer(True, fig, table) is None
    assert shown == [fig, table]
    assert not plt.fignum_exists(fig.number)  # not drawn a second time by the backend
    fig2, _ = plt.subplots()
    assert nb.answer(False, fig2, table) == nb.helpers.HIDDEN
    assert not plt.fignum_exists(fig2.number)


def test_the_hand_out_keeps_no_summary_and_no_trainer_note(tmp_path):
    """07's summary answers the exercises and its trainer's note says the default run is the
    key: both are tagged, and a hand-out made from the notebook has neither."""
    source = nbformat.read(ROOT / "notebooks" / "07_training_walkthrough.ipynb", as_version=4)
    tags = {c.source.splitlines()[0]: c.metadata.get("tags", []) for c in source.cells}
    summary = [t for head, t in tags.items() if head.startswith("## 小结")]
    assert summary == [["answer"]]
    trainer = [c for c in source.cells if c.cell_type == "markdown"
               and ("答案版" in c.source or "the key" in c.source)]
    assert trainer and all(c.metadata.get("tags") == ["trainer"] for c in trainer)
    path = tmp_path / "07.ipynb"
    nbformat.write(source, path)
    nbr.hand_out(path)
    text = json.dumps([c.source for c in nbformat.read(path, as_version=4).cells
                       if c.cell_type == "markdown"],
                      ensure_ascii=False)
    for gone in ("小结", "答案版", "the key", "精确杠杆", "invest in checking", "答案一",
                 "Answer 4"):
        assert gone not in text, gone
    assert "答案已隐藏" in text and "练习一" in text  # the questions stay


def test_a_research_report_shows_its_parameters_once_as_run(tmp_path):
    """With code shown, the parameters cell carries the values the run used and papermill's
    ``# Parameters`` cell is gone."""
    book = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('levels = [0.0, 0.1]  # noise levels\nseed = 1')
    params.metadata["tags"] = ["parameters"]
    injected = nbformat.v4.new_code_cell("# Parameters\nlevels = [0.5]\n")
    injected.metadata["tags"] = ["injected-parameters"]
    book.cells = [params, injected, nbformat.v4.new_code_cell("print(levels)")]
    nbformat.write(book, tmp_path / "small.ipynb")
    nbr._write_html(tmp_path / "small.ipynb", tmp_path / "small.html", False, {"levels": [0.5]})
    page = re.sub(r"<(style|script)\b.*?</\1>", "", (tmp_path / "small.html").read_text(
        encoding="utf-8"), flags=re.S)
    page = re.sub(r"<[^>]+>", "", page)
    assert "# Parameters" not in page
    assert "levels = [0.5]" in page and "0.1" not in page
    assert "noise levels" in page and "seed" in page


def test_with_values_keeps_comments_and_other_lines():
    src = 'scenario = "a.yaml"  # the file\nlevels = [0.0,\n          0.1]  # sd\nseed = 1'
    assert nbr.with_values(src, {"levels": [0.2], "scenario": "b.yaml"}).splitlines() == [
        "scenario = 'b.yaml'  # the file", "levels = [0.2]  # sd", "seed = 1"]


def test_index_times_are_local_with_their_zone():
    beijing = dt.timezone(dt.timedelta(hours=8), "CST")
    assert nbi.local_time("2026-12-07T12:15:03.123+00:00", beijing) == "2026-12-07 20:15:03 CST"
    east = dt.timezone(dt.timedelta(hours=5, minutes=30))
    assert nbi.local_time("2026-12-07T23:45:00+00:00", east) == "2026-12-08 05:15:00 UTC+05:30"


def test_index_without_sweeps_has_no_sweeps_table(tmp_path):
    page = nbi.render_index(tmp_path)
    assert "Sweeps" not in page and "(UTC)" not in page


def test_a_chart_of_no_rows_is_one_error_line():
    empty = pd.DataFrame({"year": [], "mean": [], "variant": []})
    with pytest.raises(InputError, match="no rows to plot"):
        plots.line_chart(empty, "year", "mean", hue="variant", title="t", xlabel="x",
                         ylabel="y", source="s")
    with pytest.raises(InputError, match="no rows to plot"):
        plots.bar_chart(empty, "variant", "mean", title="t", xlabel="x", ylabel="y",
                        source="s")


def test_reward_and_rewarded_have_their_own_chinese():
    zh = numbers.HEADINGS_ZH
    assert zh["reward"] != zh["rewarded"]
    assert len(set(zh.values())) == len(zh)  # one Chinese name per column


def test_variants_are_shown_by_the_yaml_paths_they_set():
    """Notebook 03 lists its rules as a table of YAML paths and values, not a dict's repr."""
    table = nb.changes_table({
        "a": {"linkage": {"rule": "grade_table", "multipliers": {"excellent": 1.2}}},
        "b": {"simulation.self_evaluation.noise": 0.05, "grading": {"cutoffs": [90, 80, 60]}}})
    assert table.values.tolist() == [
        ["a", "linkage.rule", '"grade_table"'],
        ["a", "linkage.multipliers.excellent", "1.2"],
        ["b", "simulation.self_evaluation.noise", "0.05"],
        ["b", "grading.cutoffs", "[90, 80, 60]"]]


def test_the_console_shows_the_inflation_payoff_in_yuan_per_point(capsys):
    """``perfsim run --replications``: the payoff is money per point, two decimals (it
    printed three, as a plain number)."""
    from types import SimpleNamespace

    from perfsim.present import report

    keys = [k for k, *_ in report._MC_LINES] + [k for k, *_ in report._MC_WHEN]
    entry = {"year": 1, "mean": 0.0, "p05": 0.0, "p95": 0.0}
    metrics = {k: [dict(entry)] for k in keys}
    metrics["inflation_payoff"] = [{"year": 1, "mean": 5787.864, "p05": -637.119,
                                    "p95": 12345.6789}]
    result = SimpleNamespace(summary={"scenario": "s", "seed": 1, "replications": 2,
                                      "years": 1, "projects": 3, "metrics": metrics})
    report.print_monte_carlo(result)
    line = [ln for ln in capsys.readouterr().out.splitlines() if "inflation payoff" in ln][0]
    assert "元/分" in line
    assert "5,787.86" in line and "-637.12" in line and "12,345.68" in line
