"""Indicator systems: bundled templates (national 50/30/10/10, Wenzhou 2013), YAML and Excel
loading, and validation errors that name the file, the indicator, the field and the value."""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import DATA, SYSTEMS

from perfsim.errors import InputError
from perfsim.model.indicators import (
    EXCEL_COLUMNS,
    IndicatorSystem,
    load_indicator_system,
    system_to_frame,
)

BUNDLED = sorted(SYSTEMS.glob("*.yaml"))


def by_level1(system: IndicatorSystem) -> dict[str, float]:
    pts = system.points
    return {code: float(pts[system.level1_index == k].sum())
            for k, code in enumerate(system.level1_codes)}


# --- bundled systems ------------------------------------------------------------------------

def test_all_bundled_systems_are_present():
    assert {p.stem for p in BUNDLED} >= {"national_project_self_eval", "wenzhou_2013",
                                        "department_overall", "key_evaluation_framework",
                                        "fujian_housing"}


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.stem)
def test_every_bundled_system_loads_and_adds_up(path):
    system = load_indicator_system(path)
    assert system.code == path.stem
    # the Fujian report accounts for 93 points (the province's table is not in the sources)
    assert system.total == (93 if path.stem == "fujian_housing" else 100)
    assert system.points.sum() == pytest.approx(system.total)
    assert len(set(system.all_codes)) == len(system.all_codes)
    assert all(len(i.path) <= 2 for i in system.indicators)  # at most three levels
    assert system.name_zh and system.name_en


# --- national template ----------------------------------------------------------------------

FULL_NATIONAL = {
    "OUT.QTY.1": 100, "OUT.QTY.2": 10000, "OUT.QUAL.1": 100, "OUT.QUAL.2": 100,
    "OUT.TIME.1": 100, "OUT.TIME.2": 100, "OUT.COST.1": 100, "OUT.COST.2": 500,
    "BEN.ECO.1": 500, "BEN.SOC.1": 95, "BEN.SOC.2": 3.5, "BEN.ECOL.1": 95, "BEN.SUST.1": 3.5,
    "BEN.SUST.2": 5, "SAT": 90, "EXEC": 100,
}


def test_national_template_is_50_30_10_10(national):
    assert national.level1_codes == ("OUT", "BEN", "SAT", "EXEC")
    assert by_level1(national) == {"OUT": 50.0, "BEN": 30.0, "SAT": 10.0, "EXEC": 10.0}
    assert national.bonus == () and national.bonus_cap == 0


def test_national_full_attainment_scores_exactly_100(national):
    m = {k: np.array([float(v)]) for k, v in FULL_NATIONAL.items()}
    assert national.score(m)[0] == 100.0


def test_national_template_rule_on_every_quantitative_leaf(national):
    # the template: target met → full points, else actual / target (lower-is-better: target
    # / actual); qualitative leaves are the assessor's points within three bands
    kinds = {i.code: i.rule.kind for i in national.indicators}
    assert {c for c, k in kinds.items() if k == "assessed"} == {"BEN.SOC.2", "BEN.SUST.1"}
    assert {c for c, k in kinds.items() if k not in ("proportional", "assessed")} == {"EXEC"}
    bands = national.indicator("BEN.SOC.2").rule.bands
    assert list(bands.values()) == [(0.8, 1.0), (0.6, 0.8), (0.0, 0.6)]
    assert (national.leaf_decimals, national.total_decimals) == (2, 2)


def test_national_mixed_project_by_hand(national):
    m = dict(FULL_NATIONAL)
    m.update({
        "OUT.QTY.1": 80,      # 7.5 × 80/100 = 6
        "OUT.QTY.2": 12000,   # capped: 5
        "OUT.QUAL.1": 90,     # 7.5 × 90/100 = 6.75
        "OUT.QUAL.2": 99,     # 5 × 99/100 = 4.95
        "OUT.TIME.1": 100,    # 7.5
        "OUT.TIME.2": 80,     # 5 × 80/100 = 4
        "OUT.COST.1": 110,    # over the budgeted cost: 7.5 × 100/110 = 6.8181… → 6.82
        "OUT.COST.2": 625,    # lower is better: 5 × 500/625 = 4
        "BEN.ECO.1": 250,     # 7.5 × 250/500 = 3.75
        "BEN.SOC.1": 88,      # 4 × 88/95 = 3.7052… → 3.71
        "BEN.SOC.2": 2.8,     # the assessor's 2.8 of 3.5 (the top band starts at 2.8)
        "BEN.ECOL.1": 94.9,   # 7.5 × 94.9/95 = 7.4921… → 7.49
        "BEN.SUST.1": 2.1,    # the assessor's 2.1 of 3.5
        "BEN.SUST.2": 3,      # 4 × 3/5 = 2.4
        "SAT": 81,            # 10 × 81/90 = 9
        "EXEC": 85,           # 10 × 85% = 8.5
    })
    # outputs 6 + 5 + 6.75 + 4.95 + 7.5 + 4 + 6.82 + 4 = 45.02
    # benefits 3.75 + 3.71 + 2.8 + 7.49 + 2.1 + 2.4 = 22.25
    # total 45.02 + 22.25 + 9 + 8.5 = 84.77
    measurements = {k: np.array([float(v)]) for k, v in m.items()}
    a = national.attainment(measurements)[0]
    earned = dict(zip(national.codes, a * national.points, strict=True))
    assert earned["OUT.COST.1"] == pytest.approx(7.5 / 1.1)
    assert earned["BEN.SOC.2"] == pytest.approx(2.8)
    assert national.score(measurements)[0] == 84.77


def test_national_scores_replications_by_projects(national):
    rng = np.random.default_rng(3)
    m = {k: np.full((4, 6), float(v)) for k, v in FULL_NATIONAL.items()}
    m["SAT"] = rng.uniform(0, 90, (4, 6))  # satisfaction below 90: 10 × s/90 of 10 points
    score = national.score(m)
    assert score.shape == (4, 6)
    np.testing.assert_allclose(score, 90 + 10 * m["SAT"] / 90, atol=0.005 + 1e-9)
    np.testing.assert_array_equal(score, np.round(score, 2))  # printed to two decimals


# --- Wenzhou 2013 ---------------------------------------------------------------------------

WENZHOU_POINTS = {  # domain.md §2.2
    "TGT.TIME": 3, "TGT.MGT": 7, "TGT.QUAL.1": 5, "TGT.QUAL.2": 5, "TGT.QUAL.3": 5,
    "TGT.QUAL.4": 5, "MON.TIME": 2, "MON.QUAL": 3, "SELF.TIME": 3, "SELF.FORM": 3,
    "SELF.IND": 6, "SELF.QUAL": 10, "SELF.REV": 3, "SELF.SPF": 5, "EVAL.RCK": 7, "EVAL.KEY": 5,
    "EVAL.DEPT": 3, "USE.RECT": 5, "USE.BUD": 5, "RULES": 5, "TRAIN": 5,
}
FULL_WENZHOU = {
    "TGT.TIME": 0, "TGT.MGT": 0, "TGT.QUAL.1": 0, "TGT.QUAL.2": 0, "TGT.QUAL.3": 0,
    "TGT.QUAL.4": 0, "MON.TIME": 0, "MON.QUAL": 0, "SELF.TIME": 0, "SELF.FORM": 0,
    "SELF.IND": 0, "SELF.QUAL": 10, "SELF.REV": 0, "SELF.SPF": 0, "EVAL.RCK": 100,
    "EVAL.RCK.self": 100, "EVAL.KEY": 95, "EVAL.DEPT": 0, "USE.RECT": 5, "USE.BUD": 1,
    "RULES": 1, "TRAIN": 0, "BONUS.PROJ": 0, "BONUS.SPF": 0,
}


def test_wenzhou_structure(wenzhou):
    assert wenzhou.total == 100 and wenzhou.bonus_cap == 10
    assert dict(zip(wenzhou.codes, wenzhou.points.tolist(), strict=True)) == WENZHOU_POINTS
    assert by_level1(wenzhou) == {"TGT": 30, "MON": 5, "SELF": 30, "EVAL": 15, "USE": 10,
                                  "RULES": 5, "TRAIN": 5}
    assert [b.code for b in wenzhou.bonus] == ["BONUS.PROJ", "BONUS.SPF"]
    assert wenzhou.indicator("TGT.TIME").rule.kind == "deduct"
    assert wenzhou.indicator("EVAL.RCK").rule.kind == "recheck"


def _wenzhou_departments(changes: list[dict[str, float]]) -> dict[str, np.ndarray]:
    rows = [{**FULL_WENZHOU, **c} for c in changes]
    return {k: np.array([r[k] for r in rows], dtype=float) for k in FULL_WENZHOU}


def test_wenzhou_departments_by_hand(wenzhou):
    m = _wenzhou_departments([
        {},
        # 12 days late → −2 of 3; 3 errors → −1.5 of 5; self 90 vs re-check 78 → 3.46 of 7
        {"TGT.TIME": 12, "TGT.QUAL.1": 3, "EVAL.RCK": 78, "EVAL.RCK.self": 90},
        # 3 extra project evaluations (+6) and 1 special-fund evaluation (+5) → capped at +10
        {"BONUS.PROJ": 3, "BONUS.SPF": 1},
        # key evaluation 85 (良): 5 × 0.85 = 4.25; department evaluation 31 days late:
        # −1 per complete half month → −2; half the monitoring forms overdue → 2 × 0.5 = 1;
        # evaluation quality: the assessor gives 3 of 10; 3 unreasonable input indicators −6
        # → 0 of 5; rectification incomplete: the assessor gives 2.5 of 5; 2 training
        # sessions missed → 3 of 5; 2 extra project evaluations → +4
        {"EVAL.KEY": 85, "EVAL.DEPT": 31, "MON.TIME": 0.5, "SELF.QUAL": 3, "TGT.QUAL.2": 3,
         "USE.RECT": 2.5, "TRAIN": 2, "BONUS.PROJ": 2},
        # re-check 80 vs self 90: gap exactly 10 → no penalty, 7 × 0.8 = 5.6; key evaluation
        # 59 (不合格) → 0; 3 special-fund evaluations = 15 → capped at +10
        {"EVAL.RCK": 80, "EVAL.RCK.self": 90, "EVAL.KEY": 59, "BONUS.SPF": 3},
    ])
    score = wenzhou.score(m)
    expected = [
        100.0,
        100 - 2 - 1.5 - (7 - 3.46),                                    # 92.96
        110.0,
        100 - 0.75 - 2 - 1 - 7 - 5 - 2.5 - 2 + 4,                      # 83.75
        100 - 1.4 - 5 + 10,                                            # 103.6
    ]
    np.testing.assert_allclose(score, expected)
    np.testing.assert_allclose(wenzhou.bonus_points(m), [0, 0, 10, 4, 10])


def test_wenzhou_score_never_exceeds_110(wenzhou):
    m = _wenzhou_departments([{"BONUS.PROJ": 50, "BONUS.SPF": 50}])
    assert wenzhou.score(m)[0] == 110.0


def test_missing_measurement_is_an_input_error(wenzhou):
    m = _wenzhou_departments([{}])
    del m["TRAIN"]
    with pytest.raises(InputError, match="TRAIN"):
        wenzhou.score(m)


def test_with_points_reweights_the_total(national):
    pts = np.full(len(national.indicators), 5.0)
    heavy = national.with_points(pts)
    assert heavy.total == 5.0 * len(national.indicators)
    m = {k: np.array([float(v)]) for k, v in FULL_NATIONAL.items()}
    assert heavy.score(m)[0] == pytest.approx(heavy.total)
    with pytest.raises(InputError, match="points"):
        national.with_points(pts[:-1])
    with pytest.raises(InputError, match="points"):
        national.with_points(-pts)


# --- YAML and Excel -------------------------------------------------------------------------

def test_tiny_system_structure(tiny):
    assert tiny.codes == ("A.1.1", "A.1.2", "A.2", "B", "C")
    assert [b.code for b in tiny.bonus] == ["X.1"]
    assert tiny.level1_codes == ("A", "B", "C")
    assert [(g.code, g.level, g.parent) for g in tiny.groups] == [
        ("A", 1, None), ("A.1", 2, "A"), ("X", 1, None)]
    assert tiny.indicator("A.1.1").path == ("A", "A.1")
    assert tiny.name_of("A.1", "en") == "Quantity" and tiny.name_of("A.1") == "数量"


def _tiny_workbook(path: Path, *, system_sheet: bool = True) -> Path:
    """The tiny system written by hand in the flat Excel layout."""
    def row(l1, l2, code, zh, en, points, unit, target, rule, params):
        groups = {"A": ("产出", "Outputs"), "A.1": ("数量", "Quantity"), "X": ("加分", "Bonus")}
        return {
            "level1_code": l1, "level1_zh": groups[l1][0] if l1 else None,
            "level1_en": groups[l1][1] if l1 else None,
            "level2_code": l2, "level2_zh": groups[l2][0] if l2 else None,
            "level2_en": groups[l2][1] if l2 else None,
            "code": code, "name_zh": zh, "name_en": en, "points": points, "unit": unit,
            "target": target, "direction": "higher", "rule": rule,
            "params": json.dumps(params, ensure_ascii=False) if params else None,
        }
    rows = [
        row("A", "A.1", "A.1.1", "完成率", "Completion rate", 20, "%", 100, "proportional", {}),
        row("A", "A.1", "A.1.2", "逾期天数", "Days late", 10, "days late", None, "deduct",
            {"per": 1, "step": 5}),
        row("A", None, "A.2", "质量等级", "Quality level", 20, "level", None, "graded",
            {"levels": {"好": 1.0, "中": 0.5, "差": 0.0}}),
        row(None, None, "B", "满意度", "Satisfaction", 30, "%", 90, "proportional", {}),
        row(None, None, "C", "财政复核", "Finance re-check", 20, "re-check score", None,
            "recheck", {"gap": 10, "per": 1, "step": 5}),
        row("X", None, "X.1", "额外评价", "Extra evaluations", 5, "evaluations", None, "bonus",
            {"per": 2}),
    ]
    with pd.ExcelWriter(path, engine="openpyxl") as xl:
        sheet = pd.DataFrame(rows, columns=list(EXCEL_COLUMNS))
        sheet.to_excel(xl, sheet_name="indicators", index=False)
        if system_sheet:
            meta = [("code", "tiny"), ("name_zh", "测试指标体系"), ("name_en", "Tiny test system"),
                    ("total", 100), ("bonus_cap", 5), ("aggregation", "weighted_sum"),
                    ("source", "perfsim tests")]
            system = pd.DataFrame(meta, columns=["key", "value"])
            system.to_excel(xl, sheet_name="system", index=False)
    return path


def test_excel_and_yaml_give_the_same_system(tiny, tmp_path):
    from_xlsx = load_indicator_system(_tiny_workbook(tmp_path / "tiny.xlsx"))
    assert from_xlsx == tiny
    assert from_xlsx.path.endswith("tiny.xlsx")
    m = {"A.1.1": np.array([80.0]), "A.1.2": np.array([12.0]), "A.2": np.array([1.0]),
         "B": np.array([81.0]), "C": np.array([78.0]), "C.self": np.array([90.0]),
         "X.1": np.array([3.0])}
    np.testing.assert_allclose(from_xlsx.score(m), tiny.score(m))


def test_excel_without_system_sheet_uses_defaults(tmp_path):
    # no system sheet: code from the file name, total 100, no bonus cap → bonus leaves rejected
    path = _tiny_workbook(tmp_path / "plain.xlsx", system_sheet=False)
    with pytest.raises(InputError) as info:
        load_indicator_system(path)
    msg = str(info.value)
    assert "plain.xlsx" in msg and "X.1" in msg and "bonus_cap" in msg


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.stem)
def test_bundled_systems_round_trip_through_excel(path, tmp_path):
    system = load_indicator_system(path)
    xlsx = tmp_path / f"{path.stem}.xlsx"
    meta = [("code", system.code), ("name_zh", system.name_zh), ("name_en", system.name_en),
            ("total", system.total), ("bonus_cap", system.bonus_cap),
            ("aggregation", system.aggregation), ("source", system.source)]
    with pd.ExcelWriter(xlsx, engine="openpyxl") as xl:
        system_to_frame(system).to_excel(xl, sheet_name="indicators", index=False)
        pd.DataFrame(meta, columns=["key", "value"]).to_excel(xl, sheet_name="system", index=False)
    back = load_indicator_system(xlsx)
    # the flat sheet has no description column; everything else must survive
    plain = [dataclasses.replace(i, description="") for i in system.indicators]
    assert back.indicators == tuple(plain)
    assert [b.code for b in back.bonus] == [b.code for b in system.bonus]
    assert (back.groups, back.total, back.bonus_cap, back.code) == (
        system.groups, system.total, system.bonus_cap, system.code)


# --- validation errors ----------------------------------------------------------------------

def _tiny_doc() -> dict:
    return yaml.safe_load((DATA / "tiny_system.yaml").read_text(encoding="utf-8"))


def _leaf(doc: dict, code: str) -> dict:
    def walk(nodes):
        for n in nodes:
            if n["code"] == code:
                return n
            found = walk(n.get("children", []))
            if found:
                return found
        return None
    return walk(doc["indicators"])


def _write(doc: dict, tmp_path: Path, name: str = "system.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _error(path: Path) -> InputError:
    with pytest.raises(InputError) as info:
        load_indicator_system(path)
    return info.value


def test_points_adding_to_95(data_dir):
    err = _error(data_dir / "broken_95.yaml")
    msg = str(err)
    assert "broken_95.yaml" in msg
    assert "95" in msg and "100" in msg  # "leaf points add up to 95, not 100"
    assert err.field == "total"
    assert "\n" not in msg


def _mutated(tmp_path, change, name="system.yaml") -> InputError:
    doc = copy.deepcopy(_tiny_doc())
    change(doc)
    return _error(_write(doc, tmp_path, name))


def test_duplicate_code(tmp_path):
    err = _mutated(tmp_path, lambda d: _leaf(d, "B").update(code="A.1.1"), "dup.yaml")
    msg = str(err)
    assert "dup.yaml" in msg and "indicator A.1.1" in msg and "duplicate" in msg
    assert err.field == "code" and err.value == "A.1.1"


def test_unknown_rule_kind(tmp_path):
    err = _mutated(tmp_path, lambda d: _leaf(d, "A.1.1")["rule"].update(kind="magic"))
    msg = str(err)
    assert "system.yaml" in msg and "indicator A.1.1" in msg and "'magic'" in msg
    assert err.field == "rule.kind"


def test_negative_per(tmp_path):
    err = _mutated(tmp_path, lambda d: _leaf(d, "A.1.2")["rule"].update(per=-1))
    msg = str(err)
    assert "indicator A.1.2" in msg and "rule.per" in msg and "-1" in msg


def test_unknown_parameter(tmp_path):
    err = _mutated(tmp_path, lambda d: _leaf(d, "A.1.2")["rule"].update(colour="red"))
    msg = str(err)
    assert "indicator A.1.2" in msg and "rule.colour" in msg and "'red'" in msg
    assert "unknown parameter" in msg


def test_bad_graded_coefficient_names_the_level(tmp_path):
    err = _mutated(tmp_path, lambda d: _leaf(d, "A.2")["rule"]["levels"].update({"中": 1.5}))
    msg = str(err)
    assert "indicator A.2" in msg and "levels.中" in msg and "1.5" in msg


def test_group_points_must_match_children(tmp_path):
    # A.1 declares 35 but its leaves carry 20 + 10 = 30
    err = _mutated(tmp_path, lambda d: _leaf(d, "A.1").update(points=35))
    msg = str(err)
    assert "indicator A.1" in msg and "points" in msg and "35" in msg and "30" in msg


def test_too_deep_hierarchy(tmp_path):
    from perfsim.model.indicators import MAX_LEVELS

    def deepen(doc):   # A.1.1 becomes a group of groups down to level MAX_LEVELS + 1
        node = _leaf(doc, "A.1.1")
        code = "A.1.1"
        for _ in range(MAX_LEVELS - 2):
            code += ".1"
            child = {"code": code, "name": "deep", "points": node["points"], "target": 100,
                     "rule": {"kind": "proportional"}}
            node["children"] = [child]
            node = child
    err = _mutated(tmp_path, deepen)
    msg = str(err)
    assert f"indicator {'A.1.1' + '.1' * (MAX_LEVELS - 3)}" in msg and "too deep" in msg


@pytest.mark.parametrize("change, field", [
    (lambda d: _leaf(d, "B").pop("target"), "target"),
    (lambda d: _leaf(d, "B").update(direction="up"), "direction"),
    (lambda d: _leaf(d, "B").update(points=-3), "points"),
    (lambda d: _leaf(d, "B").update(points="many"), "points"),
    (lambda d: _leaf(d, "B").update(rule=None), "rule"),
    (lambda d: _leaf(d, "B").update(weight=3), "weight"),
    (lambda d: d.update(aggregation="median"), "aggregation"),
    (lambda d: d.update(bonus_cap=0), "bonus_cap"),
    (lambda d: d.update(colour="red"), "colour"),
    (lambda d: _leaf(d, "B").update(code="B C"), "code"),
])
def test_other_invalid_fields(tmp_path, change, field):
    err = _mutated(tmp_path, change)
    assert err.field == field
    assert "system.yaml" in str(err)


def test_yaml_syntax_error_names_the_line(tmp_path):
    path = tmp_path / "broken.yaml"
    # line 3 starts with a tab, which YAML forbids as indentation
    path.write_text("code: x\ntotal: 100\n\tindicators: []\n", encoding="utf-8")
    msg = str(_error(path))
    assert "broken.yaml" in msg and "line 3" in msg and "YAML" in msg


def test_missing_file_and_unknown_format(tmp_path):
    assert "file not found" in str(_error(tmp_path / "nope.yaml"))
    other = tmp_path / "system.json"
    other.write_text("{}", encoding="utf-8")
    assert "system.json" in str(_error(other))


def test_excel_errors_name_the_sheet_row_and_column(tmp_path):
    path = _tiny_workbook(tmp_path / "bad.xlsx")
    df = pd.read_excel(path, sheet_name="indicators", dtype=object)
    df.loc[1, "params"] = "{per: 1"  # not JSON, spreadsheet row 3
    with pd.ExcelWriter(path, engine="openpyxl") as xl:
        df.to_excel(xl, sheet_name="indicators", index=False)
    msg = str(_error(path))
    assert "bad.xlsx" in msg and "row 3" in msg and "params" in msg

    df = df.drop(columns=["params"]).assign(weight=1)
    with pd.ExcelWriter(path, engine="openpyxl") as xl:
        df.to_excel(xl, sheet_name="indicators", index=False)
    assert "weight" in str(_error(path))
