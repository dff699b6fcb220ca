"""Targets and actuals as bureaus write them: every parsing rule with the written text."""

from __future__ import annotations

import datetime as dt

import pytest

from perfsim.errors import InputError
from perfsim.forms.targets import load_levels, read_value

LEVELS = load_levels()


def day(y: int, m: int, d: int) -> float:
    return float(dt.date(y, m, d).toordinal())


@pytest.mark.parametrize("text, op, value, unit", [
    # operators as symbols
    ("≥95%", ">=", 95.0, "%"), (">=95%", ">=", 95.0, "%"), ("＞0", ">", 0.0, ""),
    ("≤900万元", "<=", 9_000_000.0, "元"), ("<3天", "<", 3.0, "天"), ("=100%", "=", 100.0, "%"),
    ("＝100％", "=", 100.0, "%"),
    # operators as words, before and after the number
    ("不低于90%", ">=", 90.0, "%"), ("不少于50个", ">=", 50.0, "个"),
    ("不高于5天", "<=", 5.0, "天"), ("不超过900万元", "<=", 9_000_000.0, "元"),
    ("达到100%", ">=", 100.0, "%"), ("95%以上", ">=", 95.0, "%"),
    ("900万元以内", "<=", 9_000_000.0, "元"), ("控制在900万元以内", "<=", 9_000_000.0, "元"),
    # units, converted to their base
    ("≤1500元/亩", "<=", 1500.0, "元/亩"), ("≥1.2万亩", ">=", 12_000.0, "亩"),
    ("28台（套）", None, 28.0, "台（套）"), ("28台(套)", None, 28.0, "台（套）"),
    ("937.5万元", None, 9_375_000.0, "元"), ("1.2亿元", None, 120_000_000.0, "元"),
    ("5‰", None, 0.5, "%"), ("1,200人次", None, 1200.0, "人次"), ("12km", None, 12.0, "km"),
    ("3个月", None, 3.0, "月"), ("100%", None, 100.0, "%"), ("８０％", None, 80.0, "%"),
    ("6 座", None, 6.0, "座"),
    # full-width and ASCII mixed in one operator; the indicator's name before the operator
    ("＞=95%", ">=", 95.0, "%"), ("<＝3天", "<=", 3.0, "天"),
    ("满意度≥90%", ">=", 90.0, "%"), ("验收合格率＝100%", "=", 100.0, "%"),
    # approximate numbers read as written
    ("约1200公里", None, 1200.0, "km"), ("1200余公里", None, 1200.0, "km"),
    ("300多人", None, 300.0, "人"), ("1.2万余亩", None, 12_000.0, "亩"),
])
def test_numbers_with_operators_and_units(text, op, value, unit):
    r = read_value(text, LEVELS)
    assert (r.kind, r.op, r.unit) == ("number", op, unit)
    assert r.value == pytest.approx(value, rel=1e-12)


def test_compatible_units_read_to_the_same_value():
    pairs = [("1.2万亩", "12000亩"), ("937.5万元", "9375000元"), ("5‰", "0.5%"),
             ("0.5亿元", "5000万元")]
    for a, b in pairs:
        ra, rb = read_value(a, LEVELS), read_value(b, LEVELS)
        assert (ra.unit, ra.value) == (rb.unit, pytest.approx(rb.value, rel=1e-12)), (a, b)


@pytest.mark.parametrize("text, op, value", [
    ("2023年10月底前", "<=", day(2023, 10, 31)),
    ("2023年12月31日前", "<=", day(2023, 12, 31)),
    ("2024年2月前", "<=", day(2024, 2, 29)),       # a month alone is its last day
    ("2023年9月", None, day(2023, 9, 30)),
    ("2023年9月15日", None, day(2023, 9, 15)),
    ("2023-06-30", None, day(2023, 6, 30)),
])
def test_dates_and_deadlines(text, op, value):
    r = read_value(text, LEVELS)
    assert (r.kind, r.op, r.value, r.unit) == ("date", op, value, "date")


def test_a_date_typed_as_a_date():
    r = read_value(dt.datetime(2023, 9, 1), LEVELS)
    assert (r.kind, r.value) == ("date", day(2023, 9, 1))


@pytest.mark.parametrize("text, value", [
    ("是", 1.0), ("否", 0.0), ("建立", 1.0), ("未建立", 0.0), ("完成", 1.0), ("未完成", 0.0),
    ("按期完成", 1.0), ("未按期完成", 0.0), ("已完成", 1.0), ("合格", 1.0), ("不合格", 0.0),
    ("延期完成", 0.0),
])
def test_yes_and_no(text, value):
    r = read_value(text, LEVELS)
    assert (r.kind, r.value) == ("yesno", value)


@pytest.mark.parametrize("text, coefficient", [
    ("好", 1.0), ("较好", 0.8), ("一般", 0.6), ("差", 0.0), ("有效提升", 1.0),
    ("明显改善", 1.0), ("部分改善", 0.6), ("基本达成", 0.8), ("基本达成。", 0.8),
])
def test_qualitative_levels_from_the_bundled_table(text, coefficient):
    r = read_value(text, LEVELS)
    assert (r.kind, r.value) == ("level", coefficient)


@pytest.mark.parametrize("text", ["有所提高", "进一步完善", "大部分完成", "完成95%的任务",
                                  "不低于90%以内", "12月底前", "6月前", "10月31日前完成",
                                  "3季度末", "≥3()"])
def test_what_cannot_be_read_stays_text(text):
    r = read_value(text, LEVELS)
    assert (r.kind, r.value, r.text) == ("text", None, text)
    assert not r.readable


def test_an_inclusive_mark_is_read_past_and_the_text_kept_as_written():
    r = read_value("≥90%（含）", LEVELS)
    assert (r.kind, r.op, r.value, r.unit, r.text) == ("number", ">=", 90.0, "%", "≥90%（含）")
    assert read_value("（含）", LEVELS).kind == "text"


def test_a_known_unit_per_anything_converts_like_the_unit():
    per_km = read_value("≤2万元/公里", LEVELS), read_value("≤20000元/公里", LEVELS)
    assert per_km[0].value == per_km[1].value == 20000.0
    assert per_km[0].unit == per_km[1].unit == "元/公里"
    assert read_value("≥4次/年", LEVELS).unit == "次/年"


@pytest.mark.parametrize("cell", [None, "", "  ", "/", "……", "-"])
def test_blank_and_placeholders(cell):
    assert read_value(cell, LEVELS).kind == "blank"


def test_number_cells_plain_and_percent_formatted():
    r = read_value(28, LEVELS)
    assert (r.kind, r.op, r.value, r.unit) == ("number", None, 28.0, "")
    r = read_value(0.95, LEVELS, percent=True)
    assert (r.kind, r.value, r.unit) == ("number", 95.0, "%")
    # the text shown in leaves.csv: no scientific notation, no binary noise
    assert read_value(1234567, LEVELS).text == "1234567"
    assert read_value(0.07, LEVELS, percent=True).text == "7%"


def test_levels_file_replaces_the_table(tmp_path):
    path = tmp_path / "levels.yaml"
    path.write_text("levels:\n  很好: 1.0\n  尚可: 0.5\n", encoding="utf-8")
    levels = load_levels(path)
    assert read_value("尚可", levels).value == 0.5
    assert read_value("较好", levels).kind == "text"  # not in this table


def test_a_bad_levels_file_names_the_file_field_and_value(tmp_path):
    path = tmp_path / "levels.yaml"
    path.write_text("levels:\n  很好: 1.5\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_levels(path)
    assert str(path) in str(err.value) and "levels.很好" in str(err.value)
    assert "1.5" in str(err.value)
