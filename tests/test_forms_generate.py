"""The training workbooks (perfsim template selfeval), read back with openpyxl directly — not
with perfsim's importer — and checked against a recomputation written here from the template
rule: exact decimal arithmetic on the texts as printed, rounded half up."""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import openpyxl
import pytest
from conftest import one_error_line
from hypothesis import given, settings
from hypothesis import strategies as st

from perfsim.cli import main
from perfsim.forms.generate import LEVELS, VARIANTS, leaf_points, plan, write_selfeval
from perfsim.forms.vocabulary import FINDINGS, IMPORT_ONLY, PLANTED_COLUMNS, PROJECT_COLUMNS

# --- an independent reading of the template rule ------------------------------------------

#: The template's bands as coefficients, written out here (not taken from perfsim).
COEF = {"有效提升": Decimal(1), "明显改善": Decimal(1), "基本达成": Decimal("0.8"),
        "部分改善": Decimal("0.6"), "部分达成": Decimal("0.6")}
YES = {"建立": "未建立", "是": "否", "按期完成": "延期完成"}
PREFIX = (("≥", ">="), ("不低于", ">="), ("不少于", ">="), ("达到", ">="), ("≤", "<="),
          ("不高于", "<="), ("不超过", "<="), ("=", "="))
DATE = re.compile(r"(\d{4})年(\d{1,2})月(底前|完成)")
CENT = Decimal("0.01")


def q(x: Decimal) -> Decimal:
    return x.quantize(CENT, rounding=ROUND_HALF_UP)


def parse(text: str) -> tuple[str, Decimal, str] | None:
    """(operator, number, unit) of a target or actual written with a number, else None."""
    op = "="
    if text.startswith("控制在") and text.endswith("以内"):
        op, text = "<=", text[3:-2]
    elif text.endswith("以上"):
        op, text = ">=", text[:-2]
    else:
        for word, sym in PREFIX:
            if text.startswith(word):
                op, text = sym, text[len(word):]
                break
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(\D*)", text)
    return None if m is None else (op, Decimal(m.group(1)), m.group(2))


def points_of(target: str, actual: str, points: Decimal) -> Decimal | None:
    """The leaf's points by the template rule, or None if the texts cannot be scored."""
    if target in YES:
        return points if actual == target else Decimal(0) if actual == YES[target] else None
    if target in COEF:
        return q(COEF[actual] * points) if actual in COEF else None
    t, a = DATE.fullmatch(target), DATE.fullmatch(actual)
    if t and a:
        late = (int(a.group(1)), int(a.group(2))) > (int(t.group(1)), int(t.group(2)))
        return Decimal(0) if late else points
    pt, pa = parse(target), parse(actual)
    if pt is None or pa is None or pt[0] == "=" and target[0] != "=":
        return None
    (op, tv, unit), (_, av, a_unit) = pt, pa
    if (unit, a_unit) in (("万亩", "亩"), ("万元", "元")):
        tv, unit = tv * 10000, a_unit
    if unit != a_unit:
        return None
    if op == ">=":
        share = min(av / tv, Decimal(1))
    elif op == "<=":
        share = Decimal(1) if av <= tv else tv / av
    else:
        share = max(1 - abs(av - tv) / tv, Decimal(0))
    return q(share * points)


def grade(total: Decimal) -> str:
    return "优" if total >= 90 else "良" if total >= 80 else "中" if total >= 60 else "差"


def dec(value) -> Decimal:
    return Decimal(str(value))


def tables_on(ws) -> list[dict]:
    """Every table on a sheet, found by its labels: cells and values the checks need."""
    cells = {}
    for row in ws.iter_rows():
        for c in row:
            if isinstance(c.value, str):
                cells.setdefault(c.value, []).append(c)
    out = []
    heads = cells.get("一级指标", [])
    funds = cells.get("全年预算数", [])
    labels = [c for v, cs in cells.items() if "资金（" in v for c in cs   # unmerged: repeated
              if ws.cell(c.row - 1, c.column).value != v]
    for head, fund, label in zip(heads, funds, sorted(labels, key=lambda c: c.row),
                                 strict=True):
        col = {ws.cell(head.row, c).value: c for c in range(head.column, head.column + 9)}
        fcol = {ws.cell(fund.row, c).value: c for c in range(fund.column - 1, fund.column + 5)}
        total_row = fund.row + 1
        leaves, r = [], head.row + 1
        while TOTAL_LABEL_TEXT not in [ws.cell(r, c).value for c in range(1, 12)]:
            leaves.append(r)
            r += 1
        out.append(dict(
            head=head, leaves=leaves, total_row=r, col=col, fcol=fcol, frow=total_row,
            unit=label.value.split("（")[1].rstrip("）"),
            full=ws.cell(total_row, fcol["全年预算数"]).value,
            executed=ws.cell(total_row, fcol["全年执行数"]).value,
            initial=ws.cell(total_row, fcol["年初预算数"]).value,
            exec_cell=ws.cell(total_row, fcol["得分"]),
            rate_cell=ws.cell(total_row, fcol["执行率"]),
            total_cell=ws.cell(r, col["得分"]), points_cell=ws.cell(r, col["分值"])))
    return out


TOTAL_LABEL_TEXT = "总分"


def check_table(ws, t: dict) -> dict[str, str]:
    """What a first-pass review finds on one table, by its own reading: cell → kind."""
    found: dict[str, str] = {}
    col = t["col"]
    total_pts, printed_sum, points_sum = Decimal(0), Decimal(0), Decimal(0)
    for r in t["leaves"]:
        points = ws.cell(r, col["分值"]).value
        if not isinstance(points, int | float):
            continue                                           # a placeholder row
        target = ws.cell(r, col["年度指标值"]).value or ""
        actual_cell = ws.cell(r, col["实际完成值"])
        score_cell = ws.cell(r, col["得分"])
        p, s = dec(points), dec(score_cell.value)
        points_sum += p
        printed_sum += s
        rule = points_of(target, actual_cell.value or "", p)
        if parse(target) is None and rule is None and target not in YES and \
                target not in COEF and not DATE.fullmatch(target):
            found[ws.cell(r, col["年度指标值"]).coordinate] = "target_unmeasurable"
            total_pts += s
        elif actual_cell.value is None:
            found[actual_cell.coordinate] = "actual_blank"
            total_pts += s
        elif rule is None:
            found[actual_cell.coordinate] = "actual_unreadable"
            total_pts += s
        else:
            total_pts += rule
            if s > p:
                found[score_cell.coordinate] = "score_above_points"
            elif s == p and rule < p:
                found[score_cell.coordinate] = "full_points_target_missed"
            elif s != rule:
                found[score_cell.coordinate] = "score_mismatch"
    rate = dec(t["executed"]) / dec(t["full"])
    exec_rule = q(min(rate, Decimal(1)) * 10)
    exec_printed = dec(t["exec_cell"].value)
    if exec_printed != exec_rule:
        found[t["exec_cell"].coordinate] = "execution_points_mismatch"
    if points_sum + 10 != dec(t["points_cell"].value):
        found[t["points_cell"].coordinate] = "points_not_total"
    recomputed = q(total_pts + exec_rule)
    printed = dec(t["total_cell"].value)
    if printed != q(printed_sum + exec_printed):
        found[t["total_cell"].coordinate] = "total_mismatch"
    elif grade(printed) != grade(recomputed):
        found[t["total_cell"].coordinate] = "grade_changes"
    t["recomputed"] = recomputed
    return found


def read_csv(path: Path) -> list[dict]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("selfeval") / "clean"
    write_selfeval(out, 2 * len(VARIANTS), seed=3)
    return out


@pytest.fixture(scope="module")
def planted(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("selfeval") / "planted"
    write_selfeval(out, 3 * len(VARIANTS), seed=11, errors=0.6)
    return out


def book(folder: Path, variant: str, k: int = 0):
    files = sorted(folder.glob(f"*_{variant}.xlsx"))
    return openpyxl.load_workbook(files[k]), files[k].name


# --- the rule, by hand ----------------------------------------------------------------------

def test_leaf_points_by_hand():
    # ≥95%, 93.1% done, 10 points: 10 × 93.1 / 95 = 9.8
    assert leaf_points("higher", 10, 95, 93.1) == 9.8
    # ≤900万元, 937.5万元 spent, 8 points: 8 × 900 / 937.5 = 7.68
    assert leaf_points("lower", 8, 900, 937.5) == 7.68
    # =100%, 98.2% passed, 21 points: 21 × 0.982 = 20.622 → 20.62
    assert leaf_points("equal", 21, 100, 98.2) == 20.62
    # ≥1.2万亩 = 12000亩, 11000亩 done, 7 points: 7 × 11/12 = 6.41666… → 6.42
    assert leaf_points("higher", 7, 12000, 11000) == 6.42
    # 3 × 0.835 = 2.505 rounds half up to 2.51 (not to even)
    assert leaf_points("higher", 3, 100, 83.5) == 2.51
    # met targets earn the points, never more
    assert leaf_points("higher", 5, 90, 99) == 5 and leaf_points("lower", 5, 30, 25) == 5
    # 基本达成 earns 0.8 of 9 points; a missed yes/no none
    assert leaf_points("level", 9, 0, list(LEVELS).index("基本达成")) == 7.2
    assert leaf_points("yes_no", 6, 1, 0) == 0


@settings(max_examples=40)
@given(seed=st.integers(0, 2**31))
def test_clean_content_for_any_seed(seed):
    """Without errors every table is one a reviewer passes: 90 points on the indicators, each
    leaf printed as the rule scores it, missed exactly when it scores below its points (a miss
    never rounds up to full points), money that adds up and is never overspent."""
    for wb in plan(len(VARIANTS), seed=seed):
        for _, tables in wb.sheets:
            for t in tables:
                leaves = [x for x in t.leaves if not x.placeholder]
                assert sum(x.points for x in leaves) == 90 and t.plants == []
                for x in leaves:
                    assert x.printed == x.recomputed <= x.points
                    assert x.missed == (x.recomputed < x.points), (x.target, x.actual)
                assert t.total_printed == t.total_recomputed <= 100
                rows = {label: money for label, *money in t.funds}
                parts = [m for label, m in rows.items() if label != "年度资金总额"]
                for k in range(3):
                    assert sum(m[k] for m in parts[:3]) == rows["年度资金总额"][k]
                    if t.form == "department":
                        assert sum(m[k] for m in parts[3:]) == rows["年度资金总额"][k]
                assert all(m[2] <= m[1] and m[0] % 100 == m[1] % 100 == 0 for m in parts)


# --- layout -----------------------------------------------------------------------------------

def test_standard_labels_sit_where_a_bureau_table_has_them(clean):
    wb, _ = book(clean, "standard")
    ws = wb.worksheets[0]
    v = lambda ref: ws[ref].value  # noqa: E731
    assert v("A1") == "2023年度项目支出绩效自评表"
    assert (v("A2"), v("A3"), v("E3")) == ("项目名称", "主管部门", "实施单位")
    assert v("A4") == "项目资金（万元）"
    assert [v(f"{c}4") for c in "DEFGHI"] == ["年初预算数", "全年预算数", "全年执行数", "分值",
                                             "执行率", "得分"]
    assert [v(f"B{r}") for r in range(5, 9)] == ["年度资金总额", "其中：当年财政拨款",
                                                 "上年结转资金", "其他资金"]
    assert (v("G5"), v("G6"), v("I6")) == (10, "—", "—")
    assert (v("A9"), v("B9"), v("F9")) == ("年度总体目标", "预期目标", "实际完成情况")
    assert v("A11") == "绩效指标"
    assert [v(f"{c}11") for c in "BCDEFGHI"] == [
        "一级指标", "二级指标", "三级指标", "年度指标值", "实际完成值", "分值", "得分",
        "偏差原因分析及改进措施"]
    merged = {str(r) for r in ws.merged_cells.ranges}
    assert {"A1:I1", "B2:I2", "B3:D3", "F3:I3", "A4:A8", "A9:A10", "B9:E9", "F9:I9"} <= merged
    total = next(r for r in range(12, ws.max_row + 1) if v(f"A{r}") == "总分")
    assert f"A11:A{total - 1}" in merged and f"A{total}:F{total}" in merged
    assert v(f"G{total}") == 100
    assert v(f"A{total + 1}").startswith("注：") and v(f"A{total + 2}").startswith("填表人：")
    # level 1 merged over its rows: three blocks covering every indicator row, in order
    blocks = sorted((r.min_row, r.max_row, ws.cell(r.min_row, 2).value)
                    for r in ws.merged_cells.ranges if r.min_col == r.max_col == 2)
    singles = [(r, r, v(f"B{r}")) for r in range(12, total)
               if not any(a <= r <= b for a, b, _ in blocks)]
    level1 = sorted(blocks + singles)
    assert [x[2] for x in level1] == ["产出指标", "效益指标", "满意度指标"]
    assert level1[0][0] == 12 and level1[-1][1] == total - 1
    assert all(a[1] + 1 == b[0] for a, b in zip(level1, level1[1:], strict=False))
    # level 2 the same within: the shared second levels in the template's order
    level2 = sorted([(r.min_row, ws.cell(r.min_row, 3).value) for r in ws.merged_cells.ranges
                     if r.min_col == r.max_col == 3]
                    + [(r, v(f"C{r}")) for r in range(12, total) if not any(
                        m.min_row <= r <= m.max_row for m in ws.merged_cells.ranges
                        if m.min_col == m.max_col == 3)])
    assert [x[1] for x in level2] == [
        "数量指标", "质量指标", "时效指标", "成本指标", "经济效益指标", "社会效益指标",
        "生态效益指标", "可持续影响指标", "服务对象满意度指标"]
    # it looks like the printed form: borders, widths, a print area, A4 fit to width
    assert ws["D12"].border.left.style == "thin" and ws["D12"].alignment.wrap_text
    assert ws.column_dimensions["D"].width > ws.column_dimensions["G"].width
    assert ws.print_area == f"'{ws.title}'!$A$1:$I${total + 2}"
    assert ws.page_setup.fitToWidth == 1 and ws.sheet_properties.pageSetUpPr.fitToPage


def test_shifted_table_moves_as_a_whole(clean):
    for k in range(2):
        wb, _ = book(clean, "shifted", k)
        ws = wb.worksheets[0]
        name = next(c for row in ws.iter_rows() for c in row if c.value == "项目名称")
        assert (name.row, name.column) in ((3, 2), (4, 3))      # one or two rows and columns
        s = name.column - 1
        assert ws.cell(name.row - 1, name.column).value == "2023年度项目支出绩效自评表"
        head = next(c for row in ws.iter_rows() for c in row if c.value == "一级指标")
        assert (head.row, head.column) == (name.row + 9, 2 + s)
        assert all(ws.cell(r, c).value is None for r in range(1, ws.max_row + 1)
                   for c in range(1, s + 1))


def test_title_rows_and_department_and_sheets(clean):
    ws = book(clean, "title_rows")[0].worksheets[0]
    assert [ws[f"A{r}"].value for r in (1, 3, 4, 5, 6)] == [
        "附件2", "项目支出绩效自评表", "（2023年度）", f"填报单位（盖章）：{ws['F7'].value}",
        "项目名称"]
    ws = book(clean, "department")[0].worksheets[0]
    col_a = [c.value for c in ws["A"]]
    assert col_a[0] == "2023年度部门整体支出绩效自评表"
    assert ws["A2"].value == "部门名称" and ws["E2"].value == "预算单位"
    assert "年度资金（万元）" in col_a and "年度主要任务" in col_a
    assert ["按支出性质分：基本支出", "项目支出"] == [c.value for c in ws["B"][7:9]]
    full = [ws.cell(r, 5).value for r in range(4, 10)]    # 全年预算数: total, parts, kinds
    assert round(full[0] - sum(full[1:4]), 2) == 0 and round(full[0] - sum(full[4:6]), 2) == 0
    wb = book(clean, "sheets")[0]
    assert wb.sheetnames[0] == "填表说明" and 3 <= len(wb.sheetnames) <= 4
    assert tables_on(wb.worksheets[0]) == []
    assert [len(tables_on(ws)) for ws in wb.worksheets[1:]] == [1] * (len(wb.sheetnames) - 1)
    assert len(tables_on(book(clean, "two_tables")[0].worksheets[0])) == 2


def test_unmerged_has_no_merges_and_repeats_its_levels(clean):
    ws = book(clean, "unmerged")[0].worksheets[0]
    assert not ws.merged_cells.ranges
    (t,) = tables_on(ws)
    assert all(ws.cell(r, 2).value in ("产出指标", "效益指标", "满意度指标")
               and ws.cell(r, 3).value.endswith("指标") and ws.cell(r, 1).value == "绩效指标"
               for r in t["leaves"])


def test_rates_money_units_and_the_reason_column(clean):
    rate = {v: tables_on(book(clean, v)[0].worksheets[0])[0]["rate_cell"]
            for v in ("standard", "rate_text", "rate_percent")}
    for v, cell in rate.items():
        t = tables_on(cell.parent)[0]
        share = dec(t["executed"]) / dec(t["full"])
        if v == "rate_text":
            assert re.fullmatch(r"\d+\.\d\d%", cell.value)
            assert dec(cell.value[:-1]) == q(share * 100)
        elif v == "rate_percent":
            assert cell.number_format == "0.00%" and abs(dec(cell.value) - share) < 1e-6
        else:
            assert dec(cell.value) == q(share * 100)
    ws = book(clean, "yuan")[0].worksheets[0]
    t = tables_on(ws)[0]
    assert t["unit"] == "元" and all(isinstance(t[k], int) for k in ("full", "executed"))
    ws = book(clean, "no_reason")[0].worksheets[0]
    t = tables_on(ws)[0]
    head = [c.value for c in ws[t["head"].row] if c.value is not None]
    assert head[-2:] == ["分值", "得分"] and "偏差原因分析及改进措施" not in head
    assert openpyxl.load_workbook(clean / book(clean, "no_reason")[1]).worksheets[0] \
        .max_column == 8


# --- the truth ----------------------------------------------------------------------------------

def test_truth_equals_an_independent_recomputation_from_the_cells(clean):
    truth = read_csv(clean / "truth.csv")
    assert list(truth[0]) == [c for c in PROJECT_COLUMNS if c not in ("findings", *IMPORT_ONLY)]
    assert read_csv(clean / "planted.csv") == []
    by_sheet = defaultdict(list)
    for row in truth:
        by_sheet[row["file"], row["sheet"]].append(row)
    assert len(by_sheet) > len(list(clean.glob("*.xlsx")))     # several sheets and tables
    checked = 0
    for (file, sheet), rows in by_sheet.items():
        ws = openpyxl.load_workbook(clean / file)[sheet]
        tables = tables_on(ws)
        assert len(tables) == len(rows)
        for t, row in zip(tables, rows, strict=True):
            assert check_table(ws, t) == {}                      # a clean table: no finding
            assert dec(row["recomputed_total"]) == t["recomputed"]
            assert dec(row["printed_total"]) == dec(t["total_cell"].value) == t["recomputed"]
            assert row["printed_grade"] == row["recomputed_grade"] == grade(t["recomputed"])
            scale = 1 if t["unit"] == "元" else 10000
            for key in ("initial", "full", "executed"):
                assert dec(row[f"budget_{key}" if key != "executed" else key]) == \
                    dec(t[key]) * scale
            assert abs(dec(row["execution_rate"]) - dec(t["executed"]) / dec(t["full"])) \
                < Decimal("5e-7")
            assert row["project"] in [c.value for r in ws.iter_rows(max_row=t["frow"])
                                      for c in r]
            checked += 1
    assert checked == len(truth)


def test_planted_errors_are_where_planted_csv_says(planted):
    marks = read_csv(planted / "planted.csv")
    truth = read_csv(planted / "truth.csv")
    assert {m["kind"] for m in marks} == set(FINDINGS)           # every kind planted
    assert list(marks[0]) == list(PLANTED_COLUMNS)
    expected = defaultdict(dict)
    for m in marks:
        expected[m["file"], m["sheet"]].setdefault(m["cell"], set()).add(m["kind"])
    rows = defaultdict(list)
    for row in truth:
        rows[row["file"], row["sheet"]].append(row)
    clean_tables = 0
    for (file, sheet), trs in rows.items():
        ws = openpyxl.load_workbook(planted / file)[sheet]
        found: dict[str, str] = {}
        for t, row in zip(tables_on(ws), trs, strict=True):
            mine = check_table(ws, t)
            found |= mine
            clean_tables += not mine
            assert dec(row["recomputed_total"]) == t["recomputed"]
            assert dec(row["printed_total"]) == dec(t["total_cell"].value)
            assert row["printed_grade"] == grade(dec(row["printed_total"]))
            assert row["recomputed_grade"] == grade(t["recomputed"])
        want = expected.get((file, sheet), {})
        assert set(found) == set(want), (file, sheet)           # no unplanted error, none missed
        for cell, kind in found.items():
            assert kind in want[cell], (file, sheet, cell, kind, want[cell])
    assert 0 < clean_tables < len(truth)


def test_same_seed_same_bytes(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    for out, seed in ((a, 5), (b, 5), (c, 6)):
        write_selfeval(out, len(VARIANTS), seed=seed, errors=0.5)
    names = sorted(p.name for p in a.iterdir() if not p.name.startswith("."))
    assert names == sorted(p.name for p in b.iterdir() if not p.name.startswith("."))
    assert all((a / n).read_bytes() == (b / n).read_bytes() for n in names)
    assert any((a / n).read_bytes() != (c / n).read_bytes() for n in names)


def test_errors_do_not_change_the_clean_content(tmp_path):
    """The same seed with and without errors: the tables differ only where errors are planted
    (the project names, money and leaf names stay)."""
    write_selfeval(tmp_path / "a", len(VARIANTS), seed=2)
    write_selfeval(tmp_path / "b", len(VARIANTS), seed=2, errors=1.0)
    ta, tb = read_csv(tmp_path / "a" / "truth.csv"), read_csv(tmp_path / "b" / "truth.csv")
    keep = ("file", "sheet", "project", "budget_full", "executed")
    assert [[r[k] for k in keep] for r in ta] == [[r[k] for k in keep] for r in tb]


def test_the_command(tmp_path, capsys):
    out = tmp_path / "train"
    assert main(["template", "selfeval", "--projects", "4", "--out", str(out), "--errors",
                 "0.5", "--variants", "yuan", "department"]) == 0
    assert "4 workbooks" in capsys.readouterr().out
    assert sorted(p.name for p in out.glob("*.xlsx")) == [
        "selfeval_0001_yuan.xlsx", "selfeval_0002_department.xlsx",
        "selfeval_0003_yuan.xlsx", "selfeval_0004_department.xlsx"]
    assert len(read_csv(out / "truth.csv")) == 4
    for args, field in ((["--errors", "1.5"], "--errors"), (["--variants", "wide"], "--variants"),
                        (["--projects", "0"], "--projects")):
        argv = ["template", "selfeval", "--out", str(tmp_path / "x"), "--projects", "2", *args]
        assert main(argv) == 2
        assert f"field '{field}'" in one_error_line(capsys)
    assert not (tmp_path / "x").exists()
