"""Numbers as people read them (perfsim.numbers) and workbooks that reconcile."""

from __future__ import annotations

import re

import numpy as np
import openpyxl
import pandas as pd
import pytest
from conftest import DATA, SCENARIOS
from hypothesis import given
from hypothesis import strategies as st

import perfsim
from perfsim import notebooks as nb
from perfsim import numbers
from perfsim.errors import InputError
from perfsim.present import report

fen = report.fen

# --- formatting -------------------------------------------------------------------------------


def test_scalars_are_formatted_for_people():
    assert numbers.yuan(128_000_000) == "128,000,000.00"
    assert numbers.yuan(8_913_758_000.456) == "8,913,758,000.46"
    assert numbers.yuan(128_000_000, "亿元") == "1.28"
    assert numbers.yuan(37_713_556.12, "万元") == "3,771.36"
    assert numbers.yuan(-0.001) == "0.00"
    assert numbers.yuan(float("nan")) == "—"
    assert numbers.yuan_text(128e6) == "128,000,000.00 元 (1.28 亿元)"
    assert numbers.percent(0.15) == "15.0%" and numbers.percent(0.03786, 2) == "3.79%"
    assert numbers.count(3468.0) == "3,468"
    assert numbers.number(2.2536e10) == "22,536,000,000"
    assert numbers.number(1e-12) == "0.000"
    assert numbers.number(0.5) == "0.500"
    assert numbers.decimal(1.0) == "1.000" and numbers.decimal(12345.6789, 2) == "12,345.68"


@pytest.mark.parametrize(("name", "kind"), [
    ("budget", "money"), ("next_budget", "money"), ("cut_total", "money"),
    ("savings", "money"), ("change", "money"), ("reward", "money"), ("budget_yuan", "money"),
    ("share_excellent", "share"), ("linkage.ratio", "share"), ("misgrading", "share"),
    ("simulation.spot_check.share", "share"),
    ("projects", "count"), ("count_fair", "count"), ("n_projects", "count"),
    ("score", None), ("grade", None), (3, None),
])
def test_column_kinds_follow_perfsim_names(name, kind):
    assert numbers.column_kind(name) == kind


def test_choose_unit_by_the_median_amount():
    assert numbers.choose_unit([0, 12.5, 300.0]) == "元"
    assert numbers.choose_unit([37_713_556.12, 2_983_440.12, 0]) == "万元"
    assert numbers.choose_unit([8.9e9, 2.25e10, 1.28e8]) == "亿元"
    assert numbers.choose_unit([]) == "元"


def test_display_frame_one_unit_per_table_and_no_scientific_notation():
    t = pd.DataFrame({"variant": ["10.0%", "15.0%"], "cut_total": [8.5e7, 1.28e8],
                      "savings": [8.8e7, 1.31e8], "next_total": [2.2448e10, 2.2405e10],
                      "share_fair": [0.0652, 0.0652], "projects": [3468, 3468],
                      "score": [85.25, 1e-9]})
    out = numbers.display_frame(t)
    # the median amount is above 100 million yuan: every money column in 亿元
    assert list(out.columns) == ["variant", "cut_total (亿元)", "savings (亿元)",
                                 "next_total (亿元)", "share_fair", "projects", "score"]
    assert out.iloc[1].tolist() == ["15.0%", "1.28", "1.31", "224.05", "6.5%", "3,468",
                                    "0.000"]
    small = numbers.display_frame(t.loc[[0], ["cut_total", "savings"]])
    assert small.iloc[0].tolist() == ["8,500.00", "8,800.00"]
    assert list(small.columns) == ["cut_total (万元)", "savings (万元)"]
    text = out.to_string() + out.to_html()
    assert "e+" not in text and "e-" not in text
    forced = numbers.display_frame(t, unit="亿元", money=["score"], counts=["savings"])
    assert forced["score (亿元)"].tolist() == ["0.00", "0.00"]
    assert forced["savings"].tolist() == ["88,000,000", "131,000,000"]
    with pytest.raises(KeyError, match="nope"):
        numbers.display_frame(t, money=["nope"])
    with pytest.raises(ValueError, match="unit"):
        numbers.display_frame(t, unit="千元")


def test_display_frame_formats_long_tables_by_metric():
    side = pd.DataFrame({"metric": ["savings", "share_fair", "misgrading"],
                         "one_year": [1.3095e8, 0.0652, np.nan], "mean": [1.31e8, 0.07, 0.02]})
    out = numbers.display_frame(side)
    assert out["metric"].tolist() == ["savings (亿元)", "share_fair", "misgrading"]
    assert out["one_year"].tolist() == ["1.31", "6.5%", "—"]
    assert out["mean"].tolist() == ["1.31", "7.0%", "2.0%"]


def test_other_numbers_read_evenly_down_a_column():
    t = pd.DataFrame({"spearman": [1.0, 0.987, np.nan], "points": [50.0, 30.0, 20.0],
                      "rank": [1, 2, 3], "elasticity": [5843.95, np.inf, 0.5]})
    out = numbers.display_frame(t)
    assert out["spearman"].tolist() == ["1.000", "0.987", "—"]
    assert out["points"].tolist() == ["50", "30", "20"]
    assert out["rank"].tolist() == ["1", "2", "3"]
    # the fewest decimals that show every value of the column exactly (at most three)
    assert out["elasticity"].tolist() == ["5,843.95", "∞", "0.50"]


def test_long_tables_name_the_chosen_unit():
    side = pd.DataFrame({"metric": ["savings", "share_fair"], "unit": ["yuan", "share"],
                         "mean": [1.31e8, 0.065]})
    out = numbers.display_frame(side)
    assert out.to_dict("list") == {"metric": ["savings (亿元)", "share_fair"],
                                   "unit": ["亿元", "share"], "mean": ["1.31", "6.5%"]}


def test_index_levels_named_like_columns_are_formatted_too():
    grid = pd.DataFrame({"policy": ["random", "random", "aimed"],
                         "simulation.spot_check.share": [0.0, 0.5, 0.5],
                         "metric": ["savings"] * 3, "mean": [1.2e7, 1.1e7, 1.0e7]})
    table = grid.pivot_table(index=["policy", "simulation.spot_check.share"],
                             columns="metric", values="mean")
    out = numbers.display_frame(table)
    assert list(out.index) == [("aimed", "50.0%"), ("random", "0.0%"), ("random", "50.0%")]
    assert out["savings (万元)"].tolist() == ["1,000.00", "1,200.00", "1,100.00"]
    plain = pd.DataFrame({"x": [1.5]}, index=pd.Index([2.5], name="score"))
    assert numbers.display_frame(plain).index.tolist() == [2.5]


def test_notebook_show_helper():
    t = pd.DataFrame({"budget": [1.5e9, 2.25e10]})
    assert nb.show(t)["本年预算 budget (亿元)"].tolist() == ["15.00", "225.00"]
    assert nb.show(t, unit="元")["本年预算 budget (元)"].tolist() == ["1,500,000,000.00",
                                                           "22,500,000,000.00"]
    with pytest.raises(InputError, match="DataFrame"):
        nb.show([1, 2])


def test_console_summary_prints_yuan_to_the_fen(capsys):
    year = perfsim.load(SCENARIOS / "liupanshui_2022.yaml", seed=2022).run_year()
    report.print_year(year)
    out = capsys.readouterr().out
    cut = year.summary["totals_yuan"]["cut"]
    assert f"压减 cut {numbers.yuan(cut)} 元 ({numbers.yuan(cut, '亿元')} 亿元)" in out
    assert "budget (元)" in out and "e+" not in out


def test_monte_carlo_summary_goes_through_the_module(capsys):
    mc = perfsim.load(DATA / "tiny_scenario.yaml").simulate(replications=4, years=1)
    report.print_monte_carlo(mc)
    out = capsys.readouterr().out
    savings = next(e for e in mc.summary["metrics"]["savings"] if e["year"] == 1)
    misgrading = next(e for e in mc.summary["metrics"]["misgrading"] if e["year"] == 1)
    lines = out.splitlines()
    assert any(line.split()[:2] == ["节约资金", "savings"] and numbers.yuan(savings["mean"]) in line
               and numbers.yuan(savings["p95"]) in line for line in lines), out
    assert any(line.lstrip().startswith("误评率 misgrading rate")
               and numbers.percent(misgrading["mean"]) in line for line in lines), out
    rank = next(line for line in lines if "rank stability" in line)
    assert re.search(r"\b\d\.\d{3}\s+\d\.\d{3}\s+\d\.\d{3}$", rank), rank
    assert not re.search(r"\d[eE][+-]\d", out)


# --- rounding to the fen ----------------------------------------------------------------------


def test_fen_allocates_the_remainder_to_the_largest_remainders():
    # three thirds of 1 yuan: 33.333.. fen each, 100 fen in all: the first gets the extra fen
    assert fen([1 / 3, 1 / 3, 1 / 3]).tolist() == [34, 33, 33]
    assert fen([0.004, 0.004, 0.004]).tolist() == [1, 0, 0]  # total 1.2 fen → 1 fen
    assert fen([1.005, 2.0]).tolist() == [101, 200]  # 300.5 fen → 301 by largest remainder
    assert fen([-0.015, 0.01]).tolist() == [-2, 1]  # -0.5 fen: half a fen away from zero
    assert fen([0.6, 0.6], total=1.21).tolist() == [61, 60]
    assert fen([]).tolist() == []



@given(st.lists(st.floats(-1e10, 1e10, allow_nan=False), min_size=1, max_size=60))
def test_fen_sums_to_the_rounded_total_and_moves_no_amount_by_a_fen(values):
    cents = fen(values)
    exact = float(np.round(np.asarray(values) * 100, 6).sum())
    assert abs(int(cents.sum()) - exact) <= 0.5 + 1e-6
    assert np.all(np.abs(cents - np.asarray(values) * 100) < 1 + 1e-3)


# --- the workbook -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def workbook(tmp_path_factory):
    year = perfsim.load(SCENARIOS / "liupanshui_2022.yaml", seed=2022).run_year()
    path = report.write_xlsx(year, tmp_path_factory.mktemp("wb") / "allocation.xlsx")
    return year, openpyxl.load_workbook(path)


def test_every_money_column_sums_to_its_totals_row_to_the_fen(workbook):
    year, wb = workbook
    assert wb.sheetnames == [*report.XLSX_SHEETS, report.NOTES_SHEET]
    money = {h for c, h in report.XLSX_COLUMNS.items() if c in report._XLSX_MONEY}
    checked = 0
    for name in report.XLSX_SHEETS:
        rows = list(wb[name].iter_rows(values_only=True))
        header, body, total = rows[0], rows[1:-1], rows[-1]
        assert total[0] == "合计 total"
        for j, heading in enumerate(header):
            if heading not in money:
                continue
            cells = [r[j] for r in body]
            # stored to the fen: no value carries a fraction of a fen
            assert all(abs(v * 100 - round(v * 100)) < 1e-3 for v in cells), (name, heading)
            assert sum(round(v * 100) for v in cells) == round(total[j] * 100), (name, heading)
            checked += 1
        # the totals agree with the simulation to the fen (rounded), across sheets
        cut = header.index("压减 cut (元 yuan)")
        assert round(total[cut] * 100) == round(year.allocations["cut"].sum() * 100)
    # projects: budget, reward, next budget, change, rewarded and the 6 channels;
    # ledger: budget, the 6 channels, rewarded, next budget, net; grades: no net
    assert checked == 11 + 10 + 9


def test_workbook_layout_labels_and_notes(workbook):
    year, wb = workbook
    ws = wb["项目 projects"]
    assert ws.freeze_panes == "A2"
    # project, department, score, true score, grade, grade_zh, budget, multiplier, reward,
    # next budget, change, status, precondition failed, the 6 channels, rewarded: 20 (T)
    assert ws.auto_filter.ref == f"A1:T{len(year.allocations) + 1}"
    # grade, grade_zh, projects, budget, 6 channels, rewarded, next budget: 12 columns (L)
    assert wb["等级汇总 grades"].auto_filter.ref == "A1:L5"
    header = [c.value for c in ws[1]]
    grades = {r[header.index("等级 grade")] for r in ws.iter_rows(min_row=2, values_only=True)}
    assert grades == {"优 excellent", "良 good", "中 fair", "差 poor", None}  # None: totals
    status = {r[header.index("处理 status")] for r in ws.iter_rows(min_row=2, max_row=3469,
                                                                  values_only=True)}
    assert status == {"保持 kept", "压减 cut", "取消 cancelled"}
    failed = {r[header.index("前置条件未满足 precondition failed")]
              for r in ws.iter_rows(min_row=2, max_row=3469, values_only=True)}
    assert failed == {"否 no"}
    notes = dict(wb["说明"].iter_rows(min_row=2, values_only=True))
    assert notes["情景 scenario"] == "liupanshui_2022" and notes["随机种子 seed"] == "2022"
    assert notes["perfsim 版本 version"] == perfsim.__version__
    assert "ratio=0.15" in notes["参数 parameters"]
    assert "cutoffs=[90.0, 80.0, 60.0]" in notes["等级划分 grading"]


def test_allocations_csv_carries_chinese_grade_and_status(workbook, tmp_path):
    year, _ = workbook
    report.write_year(year, tmp_path / "out")
    raw = (tmp_path / "out" / "allocations.csv").read_bytes()
    assert raw[:3] == b"\xef\xbb\xbf"
    alloc = pd.read_csv(tmp_path / "out" / "allocations.csv", encoding="utf-8-sig")
    # what happened to each project's money, read off its amounts
    expected = np.where(alloc["cancelled"] > 0, "取消",
                        np.where(alloc["cut"] > 0, "压减",
                                 np.where(alloc["rewarded"] > 0, "奖励", "保持")))
    assert (alloc["status_zh"].to_numpy() == expected).all()
    assert set(alloc["status_zh"]) >= {"取消", "压减", "保持"}
    zh = dict(zip(["excellent", "good", "fair", "poor"], "优良中差", strict=True))
    assert (alloc["grade"].map(zh) == alloc["grade_zh"]).all()
    assert list(alloc.columns).index("status_zh") == list(alloc.columns).index("status") + 1


def test_headings_read_chinese_first_and_keep_the_english_name():
    t = pd.DataFrame({"savings (万元)": ["1.00"], "odd_name": [1]},
                     index=pd.Index(["a"], name="variant"))
    out = numbers.zh_headings(t)
    assert list(out.columns) == ["节约资金 savings (万元)", "odd_name"]
    assert out.index.name == "方案 variant"
    assert list(t.columns) == ["savings (万元)", "odd_name"]  # the input is left alone


def test_p_values_read_as_people_read_them():
    t = pd.DataFrame({"p_value": [1e-9, 0.0342, float("nan")]})
    assert numbers.display_frame(t)["p_value"].tolist() == ["<0.0001", "0.0342", "—"]
    assert numbers.p_value(0.00011) == "0.0001" and numbers.p_value(0.5) == "0.5000"


def test_a_correlation_with_the_total_is_not_money():
    assert numbers.column_kind("r_total") is None and numbers.column_kind("cut_total") == "money"
