"""Scoring imported tables two ways and reviewing them (复核): hand-computed leaves, the
execution item, totals and grades; every finding kind on a table with one planted error; no
finding on a clean table in any layout."""

from __future__ import annotations

import openpyxl
import pytest
from forms_tables import CLEAN_LEAVES, CLEAN_TOTAL, Table, clean_table, workbook

from perfsim.forms import vocabulary as V
from perfsim.forms.read import LeafRow, Source, read_source
from perfsim.forms.review import findings, tidy
from perfsim.forms.score import compare, score_leaf, score_table
from perfsim.forms.targets import load_levels, read_value

LEVELS = load_levels()


def leaf(target, actual, points=10.0, score=None) -> LeafRow:
    cells = {k: "X1" for k in ("level3", "target", "actual", "points", "score")}
    return LeafRow(1, "产出指标", "数量指标", "x", target, actual, points, score, cells=cells)


@pytest.mark.parametrize("target, actual, points, rule, expected", [
    ("≥95%", "96%", 20, "proportional", 20.0),          # met: full points
    ("≥95%", "90%", 20, "proportional", 18.95),         # 90/95 × 20 = 18.947… → 18.95
    ("≤900万元", "937.5万元", 10, "proportional", 9.6),  # 900/937.5 × 10
    ("≤900万元", "850万元", 10, "proportional", 10.0),
    ("=100%", "90%", 10, "proportional", 9.0),          # 1 − 10/100
    ("≥1.2万亩", "12500亩", 20, "proportional", 20.0),   # 万亩 ↔ 亩
    ("≥1.2万亩", "0.6万亩", 20, "proportional", 10.0),
    ("≥1.2万亩", 0.6, 20, "proportional", 10.0),          # a bare number: in 万亩 as written
    ("≤900万元", 937.5, 10, "proportional", 9.6),
    ("8个", "2.5个", 10, "proportional", 3.13),         # 3.125 rounds half up to 3.13
    ("≤0起", "1起", 5, "threshold", 0.0),                # a target of 0: all or nothing
    ("≤0起", "0起", 5, "threshold", 5.0),
    ("2023年10月底前", "2023年11月", 10, "threshold", 0.0),
    ("2023年10月底前", "2023年10月20日", 10, "threshold", 10.0),
    ("2023年10月底前", "按期完成", 10, "threshold", 10.0),
    ("按期完成", "未按期完成", 10, "threshold", 0.0),
    ("建立", "建立", 5, "threshold", 5.0),
    ("有效提升", "部分改善", 20, "level", 12.0),          # 0.6 × 20
    ("有效提升", "明显改善", 20, "level", 20.0),
    ("较好", "好", 10, "level", 10.0),                   # above the target's level
    ("≥90%", "较好", 10, "level", 8.0),                  # a level for a numeric target
    ("健全", "基本健全", 15, "level", 12.0),              # 0.8 × 15
    ("规范", "不规范", 10, "level", 0.0),
    ("到位", "到位", 10, "level", 10.0),
])
def test_leaves_recomputed_by_the_template_rule(target, actual, points, rule, expected):
    s = score_leaf(leaf(target, actual, float(points)), LEVELS)
    assert (s.rule, s.recomputed, s.problem) == (rule, expected, None)


@pytest.mark.parametrize("target, actual, problem", [
    ("有所提高", "有所提高", "target_unmeasurable"),
    ("进一步完善", "已完善", "target_unmeasurable"),
    ("≥95%", "", "actual_blank"),
    ("≥95%", "/", "actual_blank"),
    ("≥95%", "大部分完成", "actual_unreadable"),
    ("≥95%", "28个", "actual_unreadable"),               # units that do not match
])
def test_what_cannot_be_compared_keeps_its_printed_score(target, actual, problem):
    s = score_leaf(leaf(target, actual, 10.0, 7.0), LEVELS)
    assert (s.rule, s.recomputed, s.problem) == ("assessed", 7.0, problem)
    # an assessed score cannot exceed the points
    assert score_leaf(leaf(target, actual, 10.0, 12.0), LEVELS).recomputed == 10.0


@pytest.mark.parametrize("target", ["12月底前", "10月31日前完成", "第三季度前"])
def test_a_deadline_without_its_year_says_to_write_the_year(target):
    s = score_leaf(leaf(target, "2023年11月20日", 10.0, 10.0), LEVELS)
    assert (s.rule, s.recomputed, s.problem) == ("assessed", 10.0, "target_unmeasurable")
    assert "没有写年份" in s.why and "without its year" in s.why
    other = score_leaf(leaf("有所提高", "2023年11月20日", 10.0, 10.0), LEVELS)
    assert "year" not in other.why


def test_funds_without_a_unit_are_read_in_wan_yuan_and_listed(tmp_path):
    written = table(tmp_path / "a", money="万元")
    bare = table(tmp_path / "b", money="")
    assert bare.funds == written.funds and bare.money("budget_full") == 1_200_000.0
    assert (written.money_unit_written, bare.money_unit_written) == (True, False)
    assert findings(score_table(written, LEVELS)) == []
    (f,) = findings(score_table(bare, LEVELS))
    assert f["kind"] == V.UNIT_FINDING[0] and f["points_at_stake"] is None
    assert f["cell"] == "D4"   # the 全年预算数 heading of the funds block
    assert "120.00 万元 = 1,200,000.00 元" in f["why"] and "（元）" in f["why"]


def test_compare_reads_met_and_not_met():
    t, a = read_value("≥95%", LEVELS), read_value("95%", LEVELS)
    assert compare(t, a, LEVELS)[:3] == ("proportional", 1.0, True)
    assert compare(read_value("<5天", LEVELS), read_value("5天", LEVELS), LEVELS)[2] is False


def table(tmp_path, **layout):
    path = workbook(tmp_path / "t.xlsx", Table(**layout) if "leaves" in layout
                    else clean_table(**layout))
    (t,) = read_source(Source(str(path), path=path))
    return t


def test_the_clean_table_scores_as_printed(tmp_path):
    st = score_table(table(tmp_path), LEVELS)
    assert [s.recomputed for s in st.leaves] == [20.0, 18.95, 10.0, 9.6, 16.0, 10.0]
    assert (st.execution_rate, st.exec_recomputed) == (0.75, 7.5)
    assert (st.printed_total, st.recomputed_total) == (CLEAN_TOTAL, CLEAN_TOTAL)
    assert (st.printed_grade, st.recomputed_grade) == ("优", "优")


def test_a_table_that_prints_no_score_has_no_printed_total(tmp_path):
    # every 得分 blank, the 总分 row's too: nothing printed to grade (not a total of 0 → 差)
    blank = [(*leaf[:6], None) for leaf in CLEAN_LEAVES]
    st = score_table(table(tmp_path, leaves=blank, total=None, exec_score=None), LEVELS)
    assert (st.printed_total, st.printed_grade) == (None, "")
    assert (st.recomputed_total, st.recomputed_grade) == (CLEAN_TOTAL, "优")
    listed = findings(st)
    kinds = [f["kind"] for f in listed]
    assert "grade_changes" not in kinds and kinds.count("score_mismatch") == len(blank)
    (execution,) = [f for f in listed if f["kind"] == "execution_points_mismatch"]
    assert "得分空白 score blank" in execution["why"] and execution["points_at_stake"] == 7.5
    frames = tidy([st], [])
    assert frames["projects"]["printed_total"].isna().all()
    assert (frames["projects"]["printed_grade"] == "").all()


def test_a_blank_total_is_the_sum_of_the_rows_printed(tmp_path):
    # the 总分 row's 得分 blank, the last leaf's too: 20 + 18.95 + 10 + 9.6 + 16 + 7.5
    rows = [*CLEAN_LEAVES[:5], (*CLEAN_LEAVES[5][:6], None)]
    st = score_table(table(tmp_path, leaves=rows, total=None), LEVELS)
    assert (st.printed_total, st.printed_grade) == (82.05, "良")


def test_execution_points_are_capped_at_the_points(tmp_path):
    # executed 130 of 120 万元: min(130/120, 1) × 10 = 10; total 92.05 − 7.5 + 10 = 94.55
    st = score_table(table(tmp_path, funds=(100, 120, 130), exec_score=10, total=94.55),
                     LEVELS)
    assert (st.exec_recomputed, st.recomputed_total) == (10.0, 94.55)
    assert findings(st) == []


@pytest.mark.parametrize("variant", [
    {}, {"shift": 3}, {"title_rows": 4}, {"merged": False}, {"reason": False},
    {"rate": "number"}, {"rate": "text"}, {"money": "元", "funds": (1e6, 1.2e6, 9e5)},
    {"form": "department"}, {"merged": False, "blank_levels": True}])
def test_no_finding_on_a_clean_table(tmp_path, variant):
    assert findings(score_table(table(tmp_path, **variant), LEVELS)) == []


def planted(index: int, **changes) -> list:
    leaves = [list(x) for x in CLEAN_LEAVES]
    for k, v in changes.items():
        leaves[index][("target", "actual", "points", "score").index(k) + 3] = v
    return [tuple(x) for x in leaves]


# one planted error per table: (layout, the findings expected as (kind, cell)); leaves on rows
# 12-17, scores in column H, targets in E, actuals in F; the 总分 row is 20.
PLANTED = {
    "score_mismatch": (dict(leaves=planted(1, score=19.5), total=92.6),
                       {("score_mismatch", "H13")}),
    "score_above_points": (dict(leaves=planted(5, score=12), total=94.05),
                           {("score_above_points", "H17")}),
    "total_mismatch": (dict(leaves=planted(0), total=95.05), {("total_mismatch", "H20")}),
    "points_not_total": (dict(leaves=planted(0), total_points=110, total=CLEAN_TOTAL),
                         {("points_not_total", "G20")}),
    # 15 points on a met target: the rule gives 15, not the printed 10, and the points add
    # up to 105
    "leaf points": (dict(leaves=planted(5, points=15), total=CLEAN_TOTAL),
                    {("points_not_total", "G20"), ("score_mismatch", "H17")}),
    "full_points_target_missed": (dict(leaves=planted(1, score=20), total=93.1),
                                  {("full_points_target_missed", "H13")}),
    "execution_points_mismatch": (dict(leaves=planted(0), exec_score=10, total=94.55),
                                  {("execution_points_mismatch", "H5")}),
    "actual_blank": (dict(leaves=planted(0, actual=None), total=CLEAN_TOTAL),
                     {("actual_blank", "F12")}),
    "actual_unreadable": (dict(leaves=planted(0, actual="大部分完成"), total=CLEAN_TOTAL),
                          {("actual_unreadable", "F12")}),
    "target_unmeasurable": (dict(leaves=planted(4, target="有所提高"), total=CLEAN_TOTAL),
                            {("target_unmeasurable", "E16")}),
    # 部分改善 earns 0.6 × 20 = 12, printed 16: recomputed 88.05 (良) against 92.05 (优)
    "grade_changes": (dict(leaves=planted(4, actual="部分改善"), total=CLEAN_TOTAL),
                      {("score_mismatch", "H16"), ("grade_changes", "H20")}),
}


def test_every_finding_kind_is_planted_here():
    kinds = {k for _, found in PLANTED.values() for k, _ in found}
    assert kinds == set(V.FINDINGS)


@pytest.mark.parametrize("name", PLANTED)
def test_each_planted_error_is_found_where_it_is(tmp_path, name):
    layout, expected = PLANTED[name]
    found = findings(score_table(table(tmp_path, **layout), LEVELS))
    assert {(f["kind"], f["cell"]) for f in found} == expected
    for f in found:
        assert f["what"] == " ".join(V.FINDINGS[f["kind"]])
        assert f["budget"] == 1_200_000.0 and f["department"] == "县农业农村局"


def test_points_at_stake(tmp_path):
    layout, _ = PLANTED["full_points_target_missed"]
    (f,) = findings(score_table(table(tmp_path, **layout), LEVELS))
    assert f["points_at_stake"] == pytest.approx(20 - 18.95)


def test_tidy_tables_have_the_vocabulary_columns(tmp_path):
    layout, _ = PLANTED["grade_changes"]
    frames = tidy([score_table(table(tmp_path, **layout), LEVELS)],
                  failed=[("bad.xlsx", "bad.xlsx: corrupt")])
    assert tuple(frames["projects"].columns) == V.PROJECT_COLUMNS
    assert tuple(frames["leaves"].columns) == V.LEAF_COLUMNS
    assert tuple(frames["findings"].columns) == V.FINDING_COLUMNS
    p = frames["projects"].iloc[0]
    assert (p["printed_total"], p["recomputed_total"]) == (92.05, 88.05)
    assert (p["printed_grade"], p["recomputed_grade"], p["findings"]) == ("优", "良", 2)
    assert frames["leaves"]["target_value"].tolist()[2] == "2023-10-31"
    kinds = frames["findings"]["kind"].tolist()
    assert kinds[-1] == V.FILE_FINDING[0]  # no budget: last when sorted by money at stake


def test_actuals_typed_as_numbers_and_headings_with_notes(tmp_path):
    # actuals typed as numbers: 数量 1.25 (no unit: in the target's unit as written, 万亩),
    # 质量 0.9 formatted as a percentage, 成本 937.5 (万元, so over the ≤900万元 target: 9.6 of
    # 10 points, not full points); headings 年度指标值（A）, 实际完成值（B）
    path = workbook(tmp_path / "t.xlsx", clean_table())
    wb = openpyxl.load_workbook(path)
    ws = wb.active
    ws["F12"] = 1.25
    ws["F15"] = 937.5
    ws["F13"] = 0.9
    ws["F13"].number_format = "0%"
    ws["E11"], ws["F11"] = "年度指标值（A）", "实际完成值（B）"
    wb.save(path)
    (t,) = read_source(Source(str(path), path=path))
    st = score_table(t, LEVELS)
    assert [s.recomputed for s in st.leaves][:4] == [20.0, 18.95, 10.0, 9.6]
    assert (st.leaves[1].actual.value, st.leaves[1].actual.unit) == (90.0, "%")
    assert findings(st) == []
    leaves = tidy([st])["leaves"]
    assert leaves["actual_value"].tolist()[:4] == [12_500.0, 90.0, "2023-09-30", 9_375_000.0]
    assert leaves["unit"].tolist()[:4] == ["亩", "%", "date", "元"]
