"""The bundled cases reproduce their hand-computed figures from the files: Wenzhou 2013 (five
departments, the top 20% named 先进单位), the Fujian housing department's self-assessment
(92 points, and the points earned by not being audited) and the national template example.
Every expected figure is worked out in the comments from the tables' own rules."""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from conftest import SCENARIOS
from docs_pages import page

from perfsim.errors import InputError
from perfsim.model.indicators import system_from_dict
from perfsim.model.scenario import load_scenario
from perfsim.run.variants import audit_premium
from perfsim.run.year import run_year

# --- Wenzhou 2013 ----------------------------------------------------------------------------
#
# 甲 WZ01: 目标申报 3 + (7 − 1 return) + (5 − 0.5) + 5 + (5 − 2) + 5 = 26.5; 监控 2 + 3 = 5;
#   自评 3 + 3 + (6 − 0.5) + 9 (assessed) + 3 + 5 = 28.5; 复核 7 × 0.92 = 6.44 (self 95, gap 3)
#   + 重点 93 (优) 5 + 主管 3 = 14.44; 结果应用 5 + 5 = 10; 制度 5; 培训 5 → 94.44;
#   bonus 3 × 2 + 1 × 5 = 11, capped at 10 → 104.44
# 乙 WZ02 (no subordinate units, no special fund, no municipal evaluation: 部门审核, 专项资金
#   自评管理 and 主管部门评价 n/a → 得本项平均分): 目标申报 3 (4 days late: no complete 5-day
#   period) + 7 + (5 − 1.5) + 5 + 5 + (5 − 2) = 26.5; 监控 2 + (3 − 0.5) = 4.5;
#   自评 3 + 3 + 6 + 8 = 20; 复核 self 95 vs 78: gap 17 → 3 steps of 5 → 7 × 0.78 − 3 = 2.46;
#   重点 85 (良) 5 × 0.85 = 4.25; 结果应用 3 + 5 = 8; 制度 5; 培训 5 → 75.71; the averages of
#   甲 丙 丁 戊: 部门审核 (3 + 1.5 + 2.4 + 3) / 4 = 2.475 → 2.48; 专项资金 (5 + 3 + 4 + 5) / 4
#   = 4.25; 主管部门评价 (3 + 2 + 3 + 3) / 4 = 2.75 → 85.19
# 丙 WZ03: 目标申报 0 (未申报) + (7 − 2) + 5 + (5 − 2) + (5 − 4) + 0 (−6 floored) = 14;
#   监控 2 × 0.75 + 3 = 4.5; 自评 3 × 0.5 + (3 − 1) + (6 − 1.5) + 6 + 3 × 0.5 + (5 − 2) = 18.5;
#   复核 self 82 vs 70: gap 12 → −2 → 4.9 − 2 = 2.9; 重点 59 (不合格) 0; 主管 20 days → one
#   half month → 2 → 4.9; 结果应用 0 (未及时整改) + 5 = 5; 制度 0; 培训 5 − 1 = 4 → 50.9;
#   bonus 2 → 52.90
# 丁 WZ04: 目标申报 (3 − 2 for 10 days) + 7 + 5 + 5 + 5 + 5 = 28; 监控 2 + 0 (blank: 未填报
#   不得分) = 2; 自评 3 + 3 + (6 − 1) + 8.5 + 3 × 0.8 + (5 − 1) = 25.9; 复核 7 × 0.85 = 5.95
#   (gap 3) + 重点 88 (良) 4.4 + 3 = 13.35; 结果应用 4.5 + 5 = 9.5; 制度 5; 培训 5 − 2 = 3
#   → 86.75; bonus 2 × 2 = 4 → 90.75
# 戊 WZ05: full marks except 评价质量 9.5 and 复核 7 × 0.80 = 5.6 (self 90: a gap of 10 is not
#   more than 10); 主管 14 days: no complete half month → 98.1; bonus 2 + 3 × 5 = 17, capped at
#   10 → 108.10
WENZHOU = {"WZ01": 104.44, "WZ02": 85.19, "WZ03": 52.90, "WZ04": 90.75, "WZ05": 108.10}


@pytest.fixture(scope="module")
def wenzhou_case():
    sc = load_scenario(SCENARIOS / "wenzhou_2013.yaml")
    return sc, run_year(sc)


def test_wenzhou_five_departments_by_hand(wenzhou_case):
    sc, y = wenzhou_case
    got = dict(zip(y.allocations["project_id"], y.allocations["score"], strict=True))
    assert got == pytest.approx(WENZHOU, abs=0.005)  # to 0.01 points, as printed
    assert got == {k: round(v, 2) for k, v in got.items()}


def test_wenzhou_names_the_top_20_percent_advanced_units(wenzhou_case):
    sc, y = wenzhou_case
    # five departments: floor(20% × 5) = 1 advanced unit, the highest score (戊, 108.10)
    advanced = y.allocations.loc[y.allocations["grade_zh"] == "先进单位", "project_id"]
    assert advanced.tolist() == ["WZ05"]
    assert (y.allocations["grade_zh"] == "其他单位").sum() == 4


def test_wenzhou_runs_with_a_treasury_pool_and_no_recipients(wenzhou_case):
    sc, y = wenzhou_case
    assert "recipients" not in sc.spec["linkage"] and sc.linkage.pool == "treasury"
    assert sc.grading.labels.codes == ("advanced", "other")
    assert y.allocations["next_budget"].tolist() == y.allocations["budget"].tolist()


def test_wenzhou_lists_the_cells_it_filled(wenzhou_case):
    sc, y = wenzhou_case
    cells = [tuple(r) for r in y.cells[["project_id", "code", "treatment", "points"]]
             .itertuples(index=False)]
    assert cells == [("WZ02", "SELF.REV", "average of the others", 2.48),
                     ("WZ02", "SELF.SPF", "average of the others", 4.25),
                     ("WZ02", "EVAL.DEPT", "average of the others", 2.75),
                     ("WZ03", "TGT.TIME", "not submitted: 0", 0.0),
                     ("WZ04", "MON.QUAL", "zero", 0.0)]


def test_wenzhou_under_the_other_readings(tmp_path):
    # gap_mode excess: 乙 self 95 vs 78 → (17 − 10) / 5 → 1 step: 5.46 − 1 = 4.46 (+2);
    # 丙 82 vs 70 → (12 − 10) / 5 → 0 steps: 4.9 (+2).
    # periods started: 乙 4 days late → one started 5-day period → −1; 丁 10 days → 2 (as
    # before); 丙 主管 20 days → 2 started half months → 1 (−1); 戊 14 days → 1 → 2 (−1); so
    # 乙's average 主管部门评价 is (3 + 1 + 3 + 2) / 4 = 2.25 (−0.5)
    system = yaml.safe_load((SCENARIOS.parent / "indicator_systems" / "wenzhou_2013.yaml")
                            .read_text(encoding="utf-8"))

    def leaf(code):
        stack = list(system["indicators"])
        while stack:
            node = stack.pop()
            if node["code"] == code:
                return node
            stack += node.get("children", [])

    leaf("EVAL.RCK")["rule"]["gap_mode"] = "excess"
    for code in ("TGT.TIME", "EVAL.DEPT"):
        leaf(code)["rule"]["periods"] = "started"
    (tmp_path / "system.yaml").write_text(yaml.safe_dump(system, allow_unicode=True),
                                          encoding="utf-8")
    doc = yaml.safe_load((SCENARIOS / "wenzhou_2013.yaml").read_text(encoding="utf-8"))
    doc["indicator_system"] = str(tmp_path / "system.yaml")
    doc["portfolio"]["file"] = str(SCENARIOS.parent / "portfolios" /
                                   "wenzhou_2013_departments.csv")
    (tmp_path / "scenario.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True),
                                            encoding="utf-8")
    y = run_year(load_scenario(tmp_path / "scenario.yaml"))
    got = dict(zip(y.allocations["project_id"], y.allocations["score"], strict=True))
    assert got == pytest.approx({"WZ01": 104.44, "WZ02": 85.19 + 2 - 1 - 0.5,
                                 "WZ03": 52.90 + 2 - 1, "WZ04": 90.75, "WZ05": 107.10},
                                abs=0.005)


# --- Fujian housing department ---------------------------------------------------------------

@pytest.fixture(scope="module")
def fujian():
    return load_scenario(SCENARIOS / "fujian_housing.yaml")


def test_fujian_self_assessment_is_92_points(fujian):
    # 基础工作管理 4 + 5 + 5 + 6 = 20; 绩效目标管理 3 + 3 + 4 + 3 = 13; 绩效监控管理 3 + 3 + 4
    # = 10; 绩效评价管理 项目管理 4 + 4 + 2 + 4 = 14 and 报告质量 10 × 90/100 = 9 + 2 (not
    # spot-checked or re-evaluated) = 11 → 25; 结果应用管理 6 + 4 + 3 = 13; 宣传引导 2 + 1 + 6
    # + 2 = 11 → 92
    assert fujian.scores().tolist() == [92.0]
    groups = {g: 0.0 for g in fujian.system.level1_codes}
    a, _ = fujian.observed()
    for leaf, earned in zip(fujian.system.indicators, a[0] * fujian.system.points,
                            strict=True):
        groups[leaf.level1] += earned
    assert groups == pytest.approx({"BASE": 20, "TGT": 13, "MON": 10, "EVAL": 25, "USE": 13,
                                    "PUB": 11})
    cells = run_year(fujian).cells
    assert cells[["code", "cell", "treatment", "points"]].values.tolist() == [
        ["EVAL.REPORT.CHECK", "not applicable", "full points", 2.0]]


def test_fujian_points_earned_by_not_being_audited(fujian):
    # not checked: 92. Checked at a re-check score r, which also replaces the self-evaluation
    # score 90: 93 − 10 − 2 + 10r/100 + 2r/100 = 81 + 0.12r, so not being checked earns
    # 92 − 81 − 0.12r = 11 − 0.12r points: 0.2 even at an honest re-check of 90, 1.4 at 80,
    # 2 at 75; only a re-check above 91.67 makes the check worth having
    r = [100, 95, 90, 85, 80, 75, 60]
    t = audit_premium(fujian, r, check="EVAL.REPORT.CHECK", replaces="EVAL.REPORT.SELF")
    assert t["unchecked"].tolist() == [92.0] * len(r)
    np.testing.assert_allclose(t["checked"], [81 + 0.12 * x for x in r], atol=1e-9)
    np.testing.assert_allclose(t["premium"], [11 - 0.12 * x for x in r], atol=1e-9)
    # the check item alone (the self-score kept at 90): 2 − 2r/100
    alone = audit_premium(fujian, [90, 50], check="EVAL.REPORT.CHECK")
    np.testing.assert_allclose(alone["premium"], [0.2, 1.0], atol=1e-9)


def test_audit_premium_names_unknown_codes_and_projects(fujian):
    with pytest.raises(InputError, match="EVAL.NONE"):
        audit_premium(fujian, [90], check="EVAL.NONE")
    with pytest.raises(InputError, match="project"):
        audit_premium(fujian, [90], check="EVAL.REPORT.CHECK", project="FJ-OTHER")


# --- national template example ---------------------------------------------------------------
#
# NT-1: outputs 7.5 × 0.8 = 6 + 5 (12,000 of 10,000, capped) + 7.5 × 0.9 = 6.75 + 5 × 0.99
#   = 4.95 + 7.5 + 5 × 0.8 = 4 + 7.5 × 100/110 = 6.82 + 5 × 500/625 = 4 → 45.02;
#   benefits 7.5 × 250/500 = 3.75 + 4 × 88/95 = 3.71 + 2.8 (assessed, top band) + 7.5 ×
#   94.9/95 = 7.49 + 2.1 (assessed, middle band) + 4 × 3/5 = 2.4 → 22.25; satisfaction
#   10 × 81/90 = 9; execution 8.5 → 84.77 (良)
# NT-2: outputs 7.5 + 5 × 0.698 = 3.49 + 7.5 + 5 + 7.5 × 0.9 = 6.75 + 5 + 7.5 × 100/107
#   = 7.0093… → 7.01 + 5 → 47.26; benefits 7.5 × 100/500 = 1.5 + 4 + 2.5 + 7.5 + 0 (blank)
#   + 4 × 4/5 = 3.2 → 18.7; satisfaction 10 × 54.45/90 = 6.05; execution 8 → 80.00 (良);
#   unrounded the leaves add up to 79.9993, which used to be graded 中
# NT-3: outputs 4.5 + 1.5 + 5.25 + 4 + 3.75 + 0 (未申报) + 7.5 × 100/130 = 5.77 + 5 × 500/900
#   = 2.78 → 27.55; benefits 1.5 + 4 × 60/95 = 2.53 + 1 + 7.5 × 70/95 = 5.53 + 0.5 + 0.8
#   → 11.86; satisfaction 10 × 40/90 = 4.44; execution 4.5 → 48.35 (差)


def test_national_template_example_by_hand():
    sc = load_scenario(SCENARIOS / "national_template_example.yaml")
    y = run_year(sc)
    assert y.allocations["score"].tolist() == [84.77, 80.0, 48.35]
    assert y.allocations["grade_zh"].tolist() == ["良", "良", "差"]
    a, _ = sc.observed()
    assert (a[1] * sc.system.points).sum() == pytest.approx(79.9993, abs=1e-4)
    assert y.cells[["project_id", "code", "cell"]].values.tolist() == [
        ["NT-2", "BEN.SUST.1", "blank"], ["NT-3", "OUT.TIME.2", "not submitted"]]
    # the Liupanshui rule: NT-3 (差) cancelled, nothing rated 中
    assert y.metrics["cancelled_total"] == 1_200_000 and y.metrics["cut_total"] == 0


def test_overcompletion_can_be_switched_on_in_the_national_template():
    # with {threshold: 0.2, rate: 1}, NT-1's beneficiaries (12,000 of 10,000: deviation 0.2)
    # keep full points; 15,000 (deviation 0.5, 0.3 beyond) earn 5 × 0.7 = 3.5
    path = SCENARIOS.parent / "indicator_systems" / "national_project_self_eval.yaml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert doc["overcompletion"] is None  # off in the bundled file
    doc["overcompletion"] = {"threshold": 0.2, "rate": 1.0}
    on = system_from_dict(doc)
    rule = on.indicator("OUT.QTY.2").rule
    np.testing.assert_allclose(rule.earned(np.array([12000.0, 15000.0])), [5.0, 3.5])
    assert "overcompletion" not in on.indicator("EXEC").rule.params  # not a template leaf


# --- Liupanshui 2022 without the pin: the figures the documentation and the scenario state ---

def test_the_liupanshui_figures_stated_in_the_readme_and_the_scenario():
    from perfsim.run.calibrate import calibrate

    sc = load_scenario(SCENARIOS / "liupanshui_2022.yaml")
    y = run_year(sc)
    ratio = calibrate(sc, "linkage.ratio", {"cut_total": 128_000_000}).value
    fair = y.allocations[y.allocations["grade"] == "fair"]
    stated = [f"cuts {y.metrics['cut_total']:,.0f} yuan at 15%", f"finds {ratio:.3%}",
              f"({sc.portfolio.calibration['value']:.3f} with seed 2022: {len(fair)} projects",
              f"mean budget {fair['budget'].mean() / 1e6:.1f} million against "
              f"{y.allocations['budget'].mean() / 1e6:.1f} million overall"]
    readme = " ".join(page("concepts.md").split())
    for text in stated:
        assert text in readme, text
    scenario = " ".join((SCENARIOS / "liupanshui_2022.yaml").read_text(encoding="utf-8")
                        .replace("#", " ").split())
    assert f"({y.metrics['cut_total'] / 1e6:.2f} million with seed 2022" in scenario
    assert f"leaving {len(fair)} projects rated 中" in scenario
