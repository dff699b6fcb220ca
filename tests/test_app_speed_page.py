"""The what-if page does only the work a change needs and still shows each change's own
numbers: a change of the spot-check share alone keeps the last one-year run (never another
scenario's, never values changed since), every change shows what ``perfsim run`` writes for
its values, the spot-check Monte Carlo run beside the one year is the scenario's own, and the
tables are the ones pandas wrote before (that rendering is kept here, not in the package)."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import DATA

import perfsim
from perfsim import numbers
from perfsim.app import compute
from perfsim.cli import main
from perfsim.errors import InputError
from perfsim.present.report import in_fen
from perfsim.run.variants import department_losses

TINY = DATA / "tiny_scenario.yaml"
SHARE = "simulation.spot_check.share"


@pytest.fixture(scope="module")
def tiny() -> perfsim.Scenario:
    return perfsim.load(TINY)


@pytest.fixture(scope="module")
def example() -> perfsim.Scenario:
    return compute.example()


def shown_savings(view: compute.View) -> float:
    """The savings as the page's headline shows them."""
    text = re.search(r'<span class="perfsim-savings">([^<]+)</span>', view.html["savings"])
    return float(text.group(1).replace(",", ""))


def table_rows(html_text: str) -> tuple[list[str], list[list[str]]]:
    """A rendered table's headings and cells, as text."""
    heads = re.findall(r"<th>([^<]*)</th>", html_text)
    rows = [re.findall(r"<td>([^<]*)</td>", r)
            for r in re.findall(r"<tr>(.*?)</tr>", html_text, flags=re.S)]
    return heads, [r for r in rows if r]


# the tiny portfolio: P1 95 (1,000 yuan), P2 70 (2,000), P3 50 (4,000), P4 85 (3,000),
# P5 65 (500); national cutoffs: 优 P1, 良 P4, 中 P2 and P5, 差 P3 — savings are
# ratio × 2,500 (中 cut) + 4,000 (差 cancelled).

def test_a_share_change_alone_keeps_the_one_year_of_the_same_scenario_and_values(tiny):
    a = compute.update(tiny, {"linkage.ratio": 0.2, SHARE: 0.0}, replications=0)
    assert shown_savings(a) == 4500.0
    b = compute.update(tiny, {"linkage.ratio": 0.2, SHARE: 0.5}, replications=0)
    assert b.result is a.result                      # the one-year run reads no share
    assert b.scenario.get(SHARE) == 0.5 and a.scenario.get(SHARE) == 0.0
    assert shown_savings(b) == 4500.0 and b.html["grades"] == a.html["grades"]
    # the share and the ratio together: a new one-year run
    c = compute.update(tiny, {"linkage.ratio": 0.15, SHARE: 0.3}, replications=0)
    assert shown_savings(c) == 4375.0 and c.savings == 4375.0
    # another scenario with the same values: its own numbers. From 68 for 中, P5 (65) is 差:
    # 0.15 × 2,000 + 4,000 + 500
    strict = tiny.set({"grading.cutoffs.fair": 68})
    d = compute.update(strict, {"linkage.ratio": 0.15, SHARE: 0.1}, replications=0)
    assert shown_savings(d) == 4800.0
    e = compute.update(strict, {"linkage.ratio": 0.15, SHARE: 0.2}, replications=0)
    assert shown_savings(e) == 4800.0
    f = compute.update(tiny, {"linkage.ratio": 0.15, SHARE: 0.2}, replications=0)
    assert shown_savings(f) == 4375.0
    nxt = f.result.allocations.set_index("project_id")["next_budget"].to_dict()
    assert nxt == {"P1": 1000.0, "P2": 1700.0, "P3": 0.0, "P4": 3000.0, "P5": 425.0}


def test_values_changed_after_a_change_are_never_taken_for_the_kept_ones(tiny):
    values = {"linkage.ratio": 0.2, SHARE: 0.0}
    assert compute.update(tiny, values, replications=0).savings == 4500.0
    values["linkage.ratio"] = 0.15      # the caller's own dict, changed in place
    values[SHARE] = 0.4
    view = compute.update(tiny, values, replications=0)
    assert view.savings == 4375.0 and shown_savings(view) == 4375.0


def test_a_bad_share_is_refused_and_the_next_change_shows_its_own_numbers(tiny):
    compute.update(tiny, {"linkage.ratio": 0.2, SHARE: 0.0}, replications=0)
    with pytest.raises(InputError, match=r"\[0, 1\]"):
        compute.update(tiny, {"linkage.ratio": 0.2, SHARE: 2.0}, replications=0)
    view = compute.update(tiny, {"linkage.ratio": 0.1, SHARE: 0.5}, replications=0)
    assert shown_savings(view) == 4250.0


def _cli_grades(capsys, tmp_path: Path, sets: list[str]) -> tuple[pd.DataFrame, float]:
    out = tmp_path / f"run{len(list(tmp_path.iterdir()))}"
    args = ["run", str(TINY), "--one-year", "--out", str(out)]
    for s in sets:
        args += ["--set", s]
    assert main(args) == 0, capsys.readouterr().err
    capsys.readouterr()
    grades = pd.read_csv(out / "grades.csv", encoding="utf-8-sig")
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    return grades, summary["totals_yuan"]["savings"]


@pytest.mark.parametrize("steps", [[
    ({"linkage.ratio": 0.2}, ["linkage.ratio=0.2"]),
    ({"linkage.ratio": 0.2, SHARE: 0.4}, ["linkage.ratio=0.2", f"{SHARE}=0.4"]),
    ({"linkage.ratio": 0.2, SHARE: 0.4, "grading.cutoffs.fair": 68},
     ["linkage.ratio=0.2", f"{SHARE}=0.4", "grading.cutoffs.fair=68"]),
    ({"linkage.ratio": 0.2, SHARE: 0.7, "grading.cutoffs.fair": 68},
     ["linkage.ratio=0.2", f"{SHARE}=0.7", "grading.cutoffs.fair=68"]),
    ({"linkage.ratio": 0.2, SHARE: 0.7, "grading.cutoffs.fair": 68,
      "linkage.pool": "redistribute"},
     ["linkage={rule: liupanshui, ratio: 0.2, pool: redistribute}", f"{SHARE}=0.7",
      "grading.cutoffs.fair=68"]),
    ({"linkage.ratio": 0.15, SHARE: 0.0}, []),
]])
def test_every_change_shows_what_perfsim_run_writes_for_its_values(capsys, tmp_path, tiny,
                                                                   steps):
    names = {v: k for k, v in compute.HEADINGS.items()}
    for values, sets in steps:
        view = compute.update(tiny, values, replications=16)
        grades, savings = _cli_grades(capsys, tmp_path, sets)
        assert shown_savings(view) == pytest.approx(savings, abs=0.005)
        heads, rows = table_rows(view.html["grades"])
        columns = [names[re.sub(r" \(元\)$", "", h)] for h in heads]
        assert [r[0] for r in rows] == (grades["grade_zh"] + " " + grades["grade"]).tolist()
        for j, col in enumerate(columns[1:], start=1):
            shown = [float(r[j].replace(",", "")) for r in rows]
            assert shown == pytest.approx(grades[col].tolist(), abs=0.005), col


def test_the_spot_check_monte_carlo_is_the_changed_scenarios_own(example):
    values = {**compute.defaults(example), "linkage.ratio": 0.2, SHARE: 0.3}
    view = compute.update(example, values)
    expected = example.set({"linkage.ratio": 0.2, SHARE: 0.3}).simulate(
        replications=compute.REPLICATIONS, years=1)
    shown = view.monte_carlo.replications   # the metrics the page shows, and the counts
    assert {"misgrading", "wrong_cuts", "savings"} <= set(shown.columns)
    pd.testing.assert_frame_equal(shown, expected.replications[shown.columns])
    year = expected.replications
    assert numbers.percent(year["misgrading"].mean()) in view.html["spot_check"]
    assert numbers.yuan(year["savings"].mean()) in view.html["spot_check"]
    assert "30.0%" in view.html["spot_check"]
    # the share alone again: the one year kept, the Monte Carlo the new share's
    again = compute.update(example, {**values, SHARE: 0.6})
    assert again.result is view.result
    expected = example.set({"linkage.ratio": 0.2, SHARE: 0.6}).simulate(
        replications=compute.REPLICATIONS, years=1)
    shown = again.monte_carlo.replications
    pd.testing.assert_frame_equal(shown, expected.replications[shown.columns])
    assert numbers.percent(expected.replications["misgrading"].mean()) in (
        again.html["spot_check"])


def test_each_change_the_bench_times_runs_its_one_year(monkeypatch, tiny):
    calls = compute.bench_calls(tiny)
    runs = []
    real = perfsim.Scenario.run_year

    def counted(self):
        runs.append(self.get("linkage.ratio"))
        return real(self)

    monkeypatch.setattr(perfsim.Scenario, "run_year", counted)
    for k in (1, 1, 2, 2):
        calls["update_one_year"](k)
    calls["update"](3)
    assert runs == [0.2, 0.2, 0.15, 0.15, 0.2]


# --- the tables as pandas wrote them --------------------------------------------------------

def _pandas_table(frame: pd.DataFrame, css: str) -> str:
    """The page's table as it was rendered before: :func:`perfsim.numbers.display_frame` in
    one money unit, headings from ``compute.HEADINGS``, ``DataFrame.to_html``."""
    unit = numbers.choose_unit([v for c in frame.columns
                                if numbers.column_kind(c) == "money" for v in frame[c]])
    shown = numbers.display_frame(frame, unit=unit)
    names = {}
    for c in frame.columns:
        money = numbers.column_kind(c) == "money"
        names[f"{c} ({unit})" if money else c] = (
            f"{compute.HEADINGS.get(c, c)} ({unit})" if money else compute.HEADINGS.get(c, c))
    return shown.rename(columns=names).to_html(index=False, classes=css, escape=True, border=0)


def _pandas_grades(result) -> str:
    _, _, t = in_fen(result)
    t["grade"] = t.pop("grade_zh") + " " + t["grade"]
    totals = result.summary["totals_yuan"]
    shown = [c for c in ("kept", "cut", "cancelled", "postponed", "recovered",
                         "recovered_unrectified")
             if c in ("kept", "cut", "cancelled") or totals.get(c, 0.0) != 0.0]
    cols = ["grade", "projects", "budget", *shown, "rewarded", "next_budget"]
    return "<h4>等级分布 grades</h4>" + _pandas_table(t[cols], "perfsim-grades")


def _pandas_ledger(result) -> str:
    t = department_losses(result, 15)
    cols = ["department", "projects", "budget", "lost", "share_lost", "rewarded",
            "next_budget"]
    return ("<h4>减少最多的部门 departments losing most (top 15)</h4>"
            + _pandas_table(t[cols], "perfsim-ledger"))


@pytest.mark.parametrize("values", [
    {"linkage.ratio": 0.2},
    {"linkage.ratio": 0.1, "grading.cutoffs.excellent": 85.0},
    {"linkage.ratio": 0.175, "grading.quotas.excellent": 0.1, "linkage.pool": "redistribute"},
    {"linkage.ratio": 0.175, "grading.quotas.excellent": 0.1, "linkage.pool": "redistribute",
     SHARE: 0.25},
])
def test_the_tables_are_what_pandas_wrote_from_a_fresh_run(example, values):
    view = compute.update(example, values, replications=0)
    fresh = example.set(compute.changes(example, values)).run_year()
    assert view.html["grades"] == _pandas_grades(fresh)
    assert view.html["ledger"] == _pandas_ledger(fresh)


def test_names_that_need_escaping_are_rendered_as_pandas_renders_them(tmp_path):
    names = ["R&D <lab>", "  padded  ", "tab\there", "line\nbreak", "引号 \"q\" 'q'",
             "x" * 80]
    text = io.StringIO()
    rows = csv.writer(text)
    rows.writerow(["project_id", "department", "budget", "score"])
    rows.writerows([f"P{k}", name, 1000 * (k + 1), 50 + 9 * k] for k, name in enumerate(names))
    path = tmp_path / "odd.csv"
    path.write_text(text.getvalue(), encoding="utf-8")
    sc = compute.open_scenario(path, base=perfsim.load(TINY))
    assert {"tab\there", "line\nbreak", "R&D <lab>"} <= set(sc.portfolio.departments)
    view = compute.update(sc, {"linkage.ratio": 0.2}, replications=0)
    fresh = sc.set({"linkage.ratio": 0.2}).run_year()
    assert view.html["ledger"] == _pandas_ledger(fresh)
    assert view.html["grades"] == _pandas_grades(fresh)


def test_array_values_are_compared_without_error_and_give_their_own_numbers(tiny):
    # 中 from 68 as an array of cutoffs: P5 (65) is 差, so 0.15 × 2,000 + 4,000 + 500
    values = {"grading.cutoffs": np.array([90.0, 80.0, 68.0]), SHARE: 0.0}
    assert compute.update(tiny, values, replications=0).savings == 4800.0
    again = compute.update(tiny, {**values, SHARE: 0.5}, replications=0)
    assert again.savings == 4800.0 and shown_savings(again) == 4800.0
    values = {"grading.cutoffs": np.array([90.0, 80.0, 60.0]), SHARE: 0.5}
    assert shown_savings(compute.update(tiny, values, replications=0)) == 4375.0


def test_a_monte_carlo_refused_beside_the_one_year_is_the_callers_input_error(tiny):
    # a billion replications of five projects need far more memory than any limit: the
    # Monte Carlo refuses before any work, in its own thread, and the caller gets that line
    with pytest.raises(InputError, match="simulation.replications") as caught:
        compute.update(tiny, {"linkage.ratio": 0.2}, replications=10**9)
    line = compute.error_line(caught.value)
    assert line.startswith("perfsim: error: ") and "\n" not in line
    view = compute.update(tiny, {"linkage.ratio": 0.1}, replications=16)
    assert shown_savings(view) == 4250.0 and len(view.monte_carlo.replications) == 16
