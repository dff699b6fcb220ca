"""Department one-page reports (issue: indicator-design craft): strengths and weaknesses
against the portfolio worked by hand on three projects, grades and money by department, the
pages and the workbook."""

from __future__ import annotations

import openpyxl
import pytest
from conftest import DATA, tiny_measured_scenario

import perfsim
from perfsim.analyse.departments import department_profiles, most_affected
from perfsim.cli import main
from perfsim.errors import InputError


@pytest.fixture
def scenario(tmp_path):
    return perfsim.load(tiny_measured_scenario(tmp_path))


def test_strengths_and_weaknesses_by_hand(scenario):
    year = scenario.run_year()
    p = department_profiles(scenario, year)
    ind = p.indicators.set_index(["department", "code"])["difference_pp"]
    # A.2 quality level: 好 1.0, 中 0.5, 差 0 -> portfolio 0.5; D1 (P1, P2) 0.75, D2 (P3) 0
    assert ind[("D1", "A.2")] == pytest.approx(25.0)
    assert ind[("D2", "A.2")] == pytest.approx(-50.0)
    # A.1.1 completion against 100: 1.0, 0.8, 0.5 -> 0.7667; D1 0.9, D2 0.5
    assert ind[("D1", "A.1.1")] == pytest.approx(100 * (0.9 - 2.3 / 3))
    # B satisfaction against 90: 1.0, 0.9, 0.5 -> 0.8; D1 0.95, D2 0.5
    assert ind[("D1", "B")] == pytest.approx(15.0)
    assert ind[("D2", "B")] == pytest.approx(-30.0)
    s = p.summary.set_index("department")
    assert s.loc["D1", "strongest"].startswith("A.2 ")
    assert s.loc["D2", "weakest"].startswith("A.2 ")
    # grades and money: what the year's allocations hold, department by department
    alloc = year.allocations
    for dep in ("D1", "D2"):
        mine = alloc[alloc["department"] == dep]
        assert s.loc[dep, "projects"] == len(mine)
        assert s.loc[dep, "net"] == pytest.approx((mine["next_budget"] - mine["budget"]).sum())
        for code in ("excellent", "good", "fair", "poor"):
            assert s.loc[dep, f"count_{code}"] == (mine["grade"] == code).sum()


def test_ready_scores_have_grades_and_money_but_no_indicators():
    sc = perfsim.load(DATA / "tiny_scenario.yaml")
    p = department_profiles(sc, sc.run_year())
    assert p.indicators.empty and "strongest" not in p.summary.columns
    assert p.summary["projects"].sum() == 5


def test_most_affected_are_those_losing_most(scenario):
    year = scenario.run_year()
    net = (year.allocations.assign(net=year.allocations["next_budget"]
                                   - year.allocations["budget"])
           .groupby("department")["net"].sum().sort_values())
    assert most_affected(year, 1) == [net.index[0]]
    with pytest.raises(InputError, match="field 'top'"):
        most_affected(year, 0)
    with pytest.raises(InputError, match="no such department"):
        department_profiles(scenario, year, ["D9"])


def test_cli_writes_a_page_per_department_and_the_workbook(scenario, tmp_path, capsys):
    out = tmp_path / "deps"
    assert main(["report", "departments", str(scenario.source), "--out", str(out)]) == 0
    assert sorted(p.name for p in (out / "pages").iterdir()) == ["D1.png", "D2.png"]
    wb = openpyxl.load_workbook(out / "departments.xlsx")
    assert wb.sheetnames == ["部门概况 departments", "指标对比 indicators"]
    ws = wb["部门概况 departments"]
    assert [c.value for c in ws["A"]][-1] == "合计 total"
    assert "已写入 wrote" in capsys.readouterr().out
    code = main(["report", "departments", str(scenario.source), "--departments", "D9",
                 "--out", str(tmp_path / "none")])
    err = capsys.readouterr().err
    assert code == 2 and "--departments" in err and len(err.strip().splitlines()) == 1
