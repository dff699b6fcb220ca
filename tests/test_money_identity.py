"""The money identity: every yuan of a project's budget goes down exactly one channel
(budget = kept + cut + cancelled + postponed + recovered + recovered_unrectified), for every
project, row and year, in the one-year run and the Monte Carlo, and in every output — the
allocations, ledger.csv, grades.csv, the workbook and the console — to the fen."""

from __future__ import annotations

import dataclasses
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from perfsim.cli import main
from perfsim.kernel.year import CHANNEL_NAMES, CHANNELS
from perfsim.model.scenario import load_scenario
from perfsim.model.settings import MONITORING_DEFAULT
from perfsim.present import report
from perfsim.present.money import fen_table
from perfsim.run import simulate as simulate_module
from perfsim.run.simulate import scenario_settings, simulate
from perfsim.run.variants import department_losses
from perfsim.run.year import department_results, run_year

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted((ROOT / "datasets" / "scenarios").glob("*.yaml"))
HALF_FEN = 0.005


# --- rounding a table to the fen ------------------------------------------------------------

def test_p0641_kept_and_cut_add_up_to_the_budget_to_the_fen():
    # Liupanshui's 中 cut by 15%: 1,197,819.90 → kept 1,018,146.915, cut 179,672.985; each
    # rounded on its own gives 1,018,146.92 + 179,672.99 = 1,197,819.91, a fen too much.
    budget = 1_197_819.90
    parts, totals = fen_table([[budget * 0.85, budget * 0.15]], [budget])
    # both remainders are half a fen: one goes up, the first (kept), the other down
    assert parts.tolist() == [[101_814_692, 17_967_298]]
    assert totals.tolist() == [119_781_990]


def test_columns_stay_exact_where_rounding_each_row_alone_would_not():
    # five rows of 1.4 + 1.6 fen (3 fen each): rounding each row alone gives 1 + 2 five
    # times, columns 5 and 10 fen, while the columns truly hold 7 and 8 fen
    x = np.tile([0.014, 0.016], (5, 1))
    parts, totals = fen_table(x, x.sum(axis=1))
    assert totals.tolist() == [3] * 5
    assert parts.sum(axis=1).tolist() == [3] * 5
    assert parts.sum(axis=0).tolist() == [7, 8]
    assert set(map(tuple, parts.tolist())) <= {(1, 2), (2, 1)}


def test_a_table_whose_column_totals_cannot_all_be_the_nearest_still_adds_up():
    # two rows of half a fen + half a fen: every row is 1 fen; the four columns each hold
    # half a fen and cannot all be rounded to the same side — two go up, two down, and the
    # rows still add up (one up in each row)
    x = [[0.005, 0.005, 0.0, 0.0], [0.0, 0.0, 0.005, 0.005]]
    parts, totals = fen_table(x, [0.01, 0.01])
    assert totals.tolist() == [1, 1]
    assert parts.sum(axis=1).tolist() == [1, 1]
    assert parts[:, :2].sum() == 1 and parts[:, 2:].sum() == 1
    assert parts.sum() == 2


def test_rows_that_do_not_add_up_are_refused():
    with pytest.raises(ValueError, match="row 1"):
        fen_table([[1.0, 2.0], [3.0, 4.0]], [3.0, 8.0])


amounts = st.one_of(st.just(0.0),
                    st.integers(0, 10**9).map(lambda v: v / 1000.0),    # tenths of a fen
                    st.floats(0, 1e7, allow_nan=False, allow_infinity=False))


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 6).flatmap(lambda k: st.lists(
    st.lists(amounts, min_size=k, max_size=k), min_size=1, max_size=25)))
def test_rounding_keeps_every_row_and_every_column(rows):
    x = np.asarray(rows, dtype=float)
    totals = x.sum(axis=1)
    parts, t = fen_table(x, totals)
    exact = np.round(x * 100.0, 6)
    # every amount moves by less than a fen
    assert np.all(np.abs(parts - exact) < 1.0)
    # every row adds up to its total, which is its true total to less than a fen
    assert np.array_equal(parts.sum(axis=1), t)
    assert np.all(np.abs(t - np.round(totals * 100.0, 6)) < 1.0)
    # the grand total is the true total to the nearest fen
    grand = float(np.round(totals * 100.0, 6).sum())
    assert int(t.sum()) == int(np.floor(grand + 0.5))
    # every column adds up to its true total to less than a fen
    assert np.all(np.abs(parts.sum(axis=0) - exact.sum(axis=0)) < 1.0)


# --- the identity in the one-year run, every bundled scenario ---------------------------------

def assert_identity(table: pd.DataFrame, where: str, tol: float = HALF_FEN) -> None:
    channels = table[list(CHANNEL_NAMES)].sum(axis=1)
    gap = (table["budget"] - channels).abs()
    assert gap.max() < tol, (where, table.loc[gap.idxmax()].to_dict())
    nxt = (table["next_budget"] - table["kept"] - table["rewarded"]).abs()
    assert nxt.max() < tol, (where, "next budget = kept + rewarded")


@pytest.fixture(scope="module", params=SCENARIOS, ids=[p.stem for p in SCENARIOS])
def year(request):
    return run_year(load_scenario(request.param))


def test_every_project_ledger_row_and_grade_keeps_the_identity(year):
    assert_identity(year.allocations, "allocations")
    assert_identity(year.ledger, "ledger")
    assert_identity(year.by_grade, "grades")
    for col in ("budget", *CHANNEL_NAMES, "rewarded", "next_budget"):
        total = year.allocations[col].sum()
        assert year.ledger[col].sum() == pytest.approx(total, abs=0.01), col
        assert year.by_grade[col].sum() == pytest.approx(total, abs=0.01), col
        assert year.summary["totals_yuan"][col] == pytest.approx(total, abs=0.01), col


def test_to_the_fen_rows_and_columns_add_up_exactly_in_every_table(year):
    alloc, ledger, grades = report.in_fen(year)
    for name, t in (("allocations", alloc), ("ledger", ledger), ("grades", grades)):
        cents = {c: np.round(t[c].to_numpy(float) * 100).astype(np.int64)
                 for c in ("budget", *CHANNEL_NAMES, "rewarded", "next_budget")}
        assert np.array_equal(cents["budget"], sum(cents[c] for c in CHANNEL_NAMES)), name
        assert np.array_equal(cents["next_budget"], cents["kept"] + cents["rewarded"]), name
        for c, v in cents.items():   # the same column totals in the three tables
            assert int(v.sum()) == int(np.round(alloc[c].to_numpy(float) * 100).sum()), c
    # each rounded amount, and each column's total, within a fen of the simulated one
    for c in ("budget", *CHANNEL_NAMES):
        assert np.all(np.abs(alloc[c] - year.allocations[c]) < 0.01), c
        true = float(np.round(year.allocations[c].to_numpy(float) * 100.0, 6).sum())
        assert abs(int(np.round(alloc[c].to_numpy(float) * 100).sum()) - true) < 1.0, c


# --- the identity in the Monte Carlo -----------------------------------------------------------

@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_every_year_of_the_monte_carlo_keeps_the_identity(path, monkeypatch):
    scenario = load_scenario(path)
    checked = []
    step = simulate_module.step

    def watched(rows, state, draws, entered=None):
        after, o, values = step(rows, state, draws, entered)
        gap = np.abs(o.money_gap)
        assert gap.max() < HALF_FEN, (path.stem, state.year, float(gap.max()))
        # by department (unit) and year, the channels add up to the budget too
        assert abs(float(o.gross.sum()) - sum(float(o.channel(c).sum())
                                              for c in CHANNEL_NAMES)) < HALF_FEN * o.gross.size
        checked.append(state.year)
        return after, o, values

    monkeypatch.setattr(simulate_module, "step", watched)
    s = scenario_settings(scenario, replications=4, years=3)
    # monitoring too (Jan-Jun and Jan-Sep), so that the recovered channel carries money
    s = dataclasses.replace(s, checkpoints=s.checkpoints or MONITORING_DEFAULT)
    simulate(scenario, s, engine="numpy", progress=False)
    assert checked == [0, 1, 2]


# --- Zhucheng: the recovery is in every output --------------------------------------------------

def test_zhucheng_recovery_appears_in_every_output(tmp_path, capsys):
    sc = load_scenario(ROOT / "datasets" / "scenarios" / "zhucheng_2022.yaml")
    y = run_year(sc)
    a = y.allocations
    # independently: 30% of the budget of each project fed back and not rectified
    lost = a["feedback"] & ~a["rectified"]
    expected = 0.3 * a.loc[lost, "budget"].sum()
    assert 2.65e8 < expected < 2.66e8   # the 265.6 million
    assert a["recovered_unrectified"].sum() == pytest.approx(expected, abs=0.01)
    # the departments that lose money lose it to the recovery (no rule cuts here)
    assert department_losses(y, top=None)["lost"].sum() == pytest.approx(expected, abs=0.01)
    out = tmp_path / "out"
    assert main(["run", str(ROOT / "datasets" / "scenarios" / "zhucheng_2022.yaml"),
                 "--one-year", "--xlsx", "--out", str(out)]) == 0
    console = capsys.readouterr().out
    in_fen = int(np.floor(expected * 100 + 0.5))
    text = f"{in_fen // 100:,}.{in_fen % 100:02d}"
    assert f"未整改收回 recovered, not rectified {text}" in console
    for name in ("ledger.csv", "grades.csv", "allocations.csv"):
        t = pd.read_csv(out / name)
        assert round(t["recovered_unrectified"].sum() * 100) == pytest.approx(in_fen, abs=1)
    wb = load_workbook(out / "allocation.xlsx")
    for name in report.XLSX_SHEETS:
        rows = list(wb[name].iter_rows(values_only=True))
        j = rows[0].index("未整改收回 recovered, not rectified (元 yuan)")
        assert round(rows[-1][j] * 100) == in_fen, name


# --- status says what happened ------------------------------------------------------------------

def write_portfolio(tmp_path, linkage: str, columns: dict) -> Path:
    pd.DataFrame(columns).to_csv(tmp_path / "pf.csv", index=False)
    path = tmp_path / "sc.yaml"
    path.write_text("name: money\nseed: 7\nportfolio: {file: pf.csv}\n"
                    "grading: {labels: national, cutoffs: [90, 80, 60]}\n"
                    f"linkage:\n{linkage}\n", encoding="utf-8")
    return path


def test_a_project_that_lost_money_to_a_recovery_is_never_shown_kept(tmp_path):
    # three projects graded 中 (70 points), every grade's multiplier 1; P1 rectified, P2 and
    # P3 not, and 30% of an unrectified project's budget is recovered
    path = write_portfolio(tmp_path, """  rule: grade_table
  multipliers: {excellent: 1, good: 1, fair: 1, poor: 1}
  rectification: {grades: [fair], recover: 0.3}""", {
        "project_id": ["P1", "P2", "P3", "P4"], "department": ["甲", "甲", "乙", "乙"],
        "budget": [1000.0, 2000.0, 333.33, 500.0], "score": [70, 70, 70, 95],
        "rectified": [True, False, False, False]})
    y = run_year(load_scenario(path))
    a = y.allocations.set_index("project_id")
    assert a["status"].to_dict() == {"P1": "kept", "P2": "recovered", "P3": "recovered",
                                     "P4": "kept"}
    assert a.loc["P2", "recovered_unrectified"] == pytest.approx(600.0)
    assert a.loc["P2", "kept"] == pytest.approx(1400.0)
    # 333.33 × 0.3 = 99.999, kept 233.331: to the fen 100.00 + 233.33 = 333.33
    alloc, _, _ = report.in_fen(y)
    p3 = alloc.set_index("project_id").loc["P3"]
    assert (p3["kept"], p3["recovered_unrectified"]) == (233.33, 100.0)
    assert report.labelled_allocations(y.allocations).set_index("project_id").loc[
        "P2", "status_zh"] == "收回"


def test_a_cut_project_is_shown_cut_and_a_postponed_one_postponed(tmp_path):
    path = write_portfolio(tmp_path, """  rule: liupanshui
  ratio: 0.2
  preconditions: [{flag: has_targets, consequence: postpone}]""", {
        "project_id": ["P1", "P2", "P3"], "department": ["甲", "甲", "乙"],
        "budget": [1000.0, 2000.0, 500.0], "score": [70, 95, 95],
        "has_targets": [True, True, False]})
    a = run_year(load_scenario(path)).allocations.set_index("project_id")
    assert a["status"].to_dict() == {"P1": "cut", "P2": "kept", "P3": "postponed"}
    assert a.loc["P1", "cut"] == pytest.approx(200.0)
    assert a.loc["P3", "postponed"] == pytest.approx(500.0)


# --- the workbook's headings ----------------------------------------------------------------------

def test_every_workbook_heading_is_bilingual_and_names_one_column(year, tmp_path):
    path = report.write_xlsx(year, tmp_path / "a.xlsx")
    wb = load_workbook(path)
    for name in report.XLSX_SHEETS:
        header = next(wb[name].iter_rows(values_only=True))
        for h in header:
            assert any("\u4e00" <= ch <= "\u9fff" for ch in h), (name, h)
            assert any(ch.isascii() and ch.isalpha() for ch in h), (name, h)
        chinese = [h.split(" ")[0] for h in header]
        assert len(set(chinese)) == len(chinese), (name, chinese)
    for name, zh, en in CHANNELS:
        assert report.XLSX_COLUMNS[name] == f"{zh} {en} (元 yuan)"


def test_the_liupanshui_workbook_adds_up_on_every_row(tmp_path):
    y = run_year(load_scenario(ROOT / "datasets" / "scenarios" / "liupanshui_2022_workbook.yaml"))
    wb = load_workbook(report.write_xlsx(y, tmp_path / "a.xlsx"))
    for name in report.XLSX_SHEETS:
        rows = list(wb[name].iter_rows(values_only=True))
        header = rows[0]
        budget = header.index("本年预算 budget (元 yuan)")
        parts = [header.index(report.XLSX_COLUMNS[c]) for c in CHANNEL_NAMES]
        for r in rows[1:]:
            assert round(r[budget] * 100) == sum(round(r[j] * 100) for j in parts), (name, r)


# --- coverage-aware department results ----------------------------------------------------------

def test_department_mean_score_is_over_the_evaluated_projects_only():
    alloc = pd.DataFrame({
        "department": ["D1", "D1", "D2", "D2", "D3"],
        "score": [80.0, 60.0, 70.0, 90.0, 50.0],
        "budget": [100.0, 100.0, 100.0, 300.0, 100.0],
        "next_budget": [100.0, 100.0, 100.0, 300.0, 100.0],
        "evaluated": [True, False, True, True, False]})
    d = department_results(types.SimpleNamespace(allocations=alloc)).set_index("department")
    assert d.loc["D1", "mean_score"] == 80.0
    assert d.loc["D2", "mean_score"] == 80.0          # (70 + 90) / 2
    assert np.isnan(d.loc["D3", "mean_score"])
    assert d.loc["D2", "score"] == pytest.approx(85.0)  # (70·100 + 90·300) / 400
    assert d["evaluated"].to_dict() == {"D1": 1, "D2": 2, "D3": 0}
    assert d["not_evaluated"].to_dict() == {"D1": 1, "D2": 0, "D3": 1}
    assert d["projects"].to_dict() == {"D1": 2, "D2": 2, "D3": 1}


def test_xingzi_counts_the_refusing_department_as_not_self_evaluated():
    sc = load_scenario(ROOT / "datasets" / "scenarios" / "xingzi.yaml")
    y = run_year(sc)
    a = y.allocations
    refused = (a["department"] == "D14").to_numpy()
    assert refused.sum() > 0
    assert not a.loc[refused, "evaluated"].any()
    assert a.loc[~refused, "evaluated"].all()
    assert (a.loc[refused, "grade"] == "not_evaluated").all()
    assert (a.loc[refused, "status"] == "cancelled").all()   # still no budget (the rule)
    assert y.metrics["count_self_evaluated"] == len(a) - refused.sum()
    share = a.loc[~refused, "budget"].sum() / a["budget"].sum()
    assert y.metrics["self_evaluation_coverage"] == pytest.approx(share)
    seen = y.summary["evaluation_cycle"]["evaluated"]
    assert (seen["projects"], seen["not_evaluated"]) == (len(a) - refused.sum(), refused.sum())
    d = department_results(y).set_index("department")
    assert (d.loc["D14", "evaluated"], d.loc["D14", "not_evaluated"]) == (0, refused.sum())
    assert np.isnan(d.loc["D14", "mean_score"])


def test_the_monte_carlo_console_names_every_channel_that_carries_money(capsys, tmp_path):
    # Zhucheng's file runs the monitored Monte Carlo: the money recovered from projects left
    # unrectified leaves them by a channel of its own, and the console says how much, the
    # same mean as replications.csv holds, while the channels that move nothing stay off
    path = ROOT / "datasets" / "scenarios" / "zhucheng_2022.yaml"
    assert main(["run", str(path), "--replications", "8", "--years", "2",
                 "--out", str(tmp_path / "mc")]) == 0
    out = capsys.readouterr().out
    reps = pd.read_csv(tmp_path / "mc" / "replications.csv", encoding="utf-8-sig")
    heading = {n: f"{zh} {en}" for n, zh, en in CHANNELS}
    for year in (1, 2):
        mean = reps.loc[reps["year"] == year, "recovered_unrectified"].mean()
        assert mean > 0
        line = [ln for ln in out.splitlines()
                if heading["recovered_unrectified"] in ln and ln.split()[-4] == str(year)]
        assert len(line) == 1, out
        assert float(line[0].split()[-3].replace(",", "")) == pytest.approx(mean, abs=0.005)
    for name in ("cut", "cancelled", "postponed"):
        assert reps[f"{name}_total"].eq(0).all()
        assert heading[name] not in out
