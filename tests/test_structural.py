"""Structural variants (perfsim.model.params.apply_structure): remove, move and add indicators
in one line, the points rescaled as documented; checked by hand on tests/data/tiny_system.yaml.

The tiny system: A 50 = A.1 30 (A.1.1 20 + A.1.2 10) + A.2 20; B 30; C 20; bonus X.1 (cap 5).
Attainments of tests/data/tiny_measured.csv by the file's rules, by hand:

    P1: every leaf 1, no bonus                                  -> 100
    P2: A.1.1 80/100 = 0.8; A.1.2 12 days late = 2 steps of 5 -> 10 - 2 = 0.8; A.2 中 0.5;
        B 81/90 = 0.9; C re-check 78 against a self-score of 90, gap 12 > 10 -> 15.6 - 2 =
        13.6 of 20 = 0.68; bonus 3 evaluations x 2 = 6, capped at 5  -> 79.6
    P3: A.1.1 0.5; A.1.2 30 days = 6 steps -> 0.4; A.2 差 0; B 0.5; C 60 -> 0.6; bonus 2 -> 43
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from conftest import DATA
from docs_pages import page

from perfsim.errors import InputError
from perfsim.io import read_yaml
from perfsim.kernel.grading import Grading
from perfsim.kernel.linkage import liupanshui
from perfsim.model.indicators import load_indicator_system, system_from_dict
from perfsim.model.params import apply_changes
from perfsim.model.portfolio import DATASETS, generate_portfolio, portfolio_from_frame
from perfsim.model.scenario import Scenario
from perfsim.run.variants import mc_variants, vary, year_variants

ATT = {"P2": {"A.1.1": 0.8, "A.1.2": 0.8, "A.2": 0.5, "B": 0.9, "C": 0.68},
       "P3": {"A.1.1": 0.5, "A.1.2": 0.4, "A.2": 0.0, "B": 0.5, "C": 0.6}}
BONUS = {"P2": 5.0, "P3": 2.0}


def tiny(extra: dict | None = None) -> Scenario:
    """The tiny scenario; ``extra`` columns are measurements of leaves the system does not
    have (the portfolio is read with a copy of the system that has them at level 1)."""
    system = load_indicator_system(DATA / "tiny_system.yaml")
    df = pd.read_csv(DATA / "tiny_measured.csv")
    reader = system
    if extra:
        doc = read_yaml(DATA / "tiny_system.yaml")
        for k, v in extra.items():
            df[k] = v
            doc["indicators"].append({"code": k, "name": k, "points": 1, "target": 100,
                                      "rule": {"kind": "proportional"}})
        doc["total"] += len(extra)
        reader = system_from_dict(doc)
    pf = portfolio_from_frame(df, reader)
    return Scenario(name="tiny", portfolio=pf, system=system, linkage=liupanshui(0.15),
                    grading=Grading())


def by_hand(points: dict[str, float], att: dict[str, dict[str, float]] = ATT) -> list[float]:
    return [round(sum(att[p][c] * v for c, v in points.items()) + BONUS[p], 2)
            for p in ("P2", "P3")]


def points_of(sc: Scenario) -> dict[str, float]:
    return {i.code: i.points for i in sc.system.indicators}


@pytest.mark.parametrize("changes, points", [
    # the 30 points of B spread over the rest in proportion: x 100/70
    ({"indicators.remove": "B"},
     {"A.1.1": 200 / 7, "A.1.2": 100 / 7, "A.2": 200 / 7, "C": 200 / 7}),
    # ... or given to group A, shared 20:10:20
    ({"indicators.remove": "B", "indicators.give_to": "A"},
     {"A.1.1": 32, "A.1.2": 16, "A.2": 32, "C": 20}),
    # A.1.2's 10 points to the rest of its level-1 group A (A.1.1 20, A.2 20)
    ({"indicators.remove": "A.1.2", "indicators.rescale": "group"},
     {"A.1.1": 25, "A.2": 25, "B": 30, "C": 20}),
    # A set to 60 (shared 2:1:2), C alone makes up the other 40
    ({"indicators.remove": "B", "indicators.points": {"A": 60}},
     {"A.1.1": 24, "A.1.2": 12, "A.2": 24, "C": 40}),
    # B raised to 50, the other 70 points shrunk to 50
    ({"indicators.points": {"B": 50}},
     {"A.1.1": 100 / 7, "A.1.2": 50 / 7, "A.2": 100 / 7, "B": 50, "C": 100 / 7}),
])
def test_remove_and_set_points_by_hand(changes, points):
    sc = apply_changes(tiny(), changes)
    got = points_of(sc)
    assert got.keys() == points.keys()
    np.testing.assert_allclose(list(got.values()), list(points.values()), rtol=1e-12)
    assert sc.system.total == 100
    np.testing.assert_allclose(sc.scores()[1:], by_hand(points), atol=1e-9)


def test_move_keeps_the_points_and_changes_the_groups():
    sc = apply_changes(tiny(), {"indicators.move": {"code": "C", "to": "A.1"}})
    c = sc.system.indicator("C")
    assert c.path == ("A", "A.1") and c.level == 3
    assert sc.system.level1_codes == ("A", "B")
    groups = np.bincount(sc.system.level1_index, weights=sc.system.points)
    assert groups.tolist() == [70.0, 30.0]
    assert sc.system.codes == ("A.1.1", "A.1.2", "C", "A.2", "B")
    np.testing.assert_allclose(sc.scores(), [100, 79.6, 43.0])  # a weighted sum: unchanged
    # the weakest link sees the new groups: P3's A is now (10 + 4 + 0 + 12) / 70
    import dataclasses
    weakest = sc.replace(system=dataclasses.replace(sc.system, aggregation="weakest_link"))
    assert weakest.scores()[2] == pytest.approx(round(100 * min(26 / 70, 15 / 30) + 2, 2))


def test_add_a_leaf_measured_in_the_portfolio():
    sc = apply_changes(tiny({"D": [100, 50, 0]}), {"indicators.add": {
        "code": "D", "name": {"zh": "新指标", "en": "New"}, "points": 10, "target": 100,
        "rule": {"kind": "proportional"}, "to": "A"}})
    pts = {"A.1.1": 18, "A.1.2": 9, "A.2": 18, "D": 10, "B": 27, "C": 18}  # the rest x 0.9
    np.testing.assert_allclose([points_of(sc)[c] for c in pts], list(pts.values()))
    assert sc.system.indicator("D").path == ("A",)
    att = {"P2": {**ATT["P2"], "D": 0.5}, "P3": {**ATT["P3"], "D": 0.0}}
    np.testing.assert_allclose(sc.scores(), [100, *by_hand(pts, att)], atol=1e-9)


def test_drop_satisfaction_and_give_its_points_to_outputs_is_one_line():
    system = load_indicator_system(DATASETS / "indicator_systems" /
                                   "national_project_self_eval.yaml")
    sc = Scenario(name="n", portfolio=generate_portfolio(system, seed=1, n_projects=40),
                  system=system)
    groups = dict(zip(system.level1_codes, np.bincount(system.level1_index,
                                                       weights=system.points), strict=True))
    assert groups["SAT"] == 10 and groups["OUT"] == 50
    one = apply_changes(sc, {"indicators.remove": "SAT", "indicators.give_to": "OUT"}).system
    two = apply_changes(sc, {"indicators.remove": "SAT", "indicators.points": {"OUT": 60}}
                        ).system
    for s in (one, two):
        g = dict(zip(s.level1_codes, np.bincount(s.level1_index, weights=s.points),
                     strict=True))
        assert g == pytest.approx({"OUT": 60, "BEN": groups["BEN"], "EXEC": groups["EXEC"]})
        out = [i for i in s.indicators if i.level1 == "OUT"]
        old = [i for i in system.indicators if i.level1 == "OUT"]
        assert [i.points for i in out] == pytest.approx([1.2 * i.points for i in old])


def test_variants_and_sweeps_take_structural_operations():
    sc = tiny()
    # tiny_measured.csv marks P2 not self-evaluated, which leaves it ungraded; this test is
    # about its score, so here every project self-evaluated
    pf = sc.portfolio
    sc = dataclasses.replace(sc, portfolio=dataclasses.replace(
        pf, table=pf.table.assign(self_evaluated=True)))
    # raising B to 50 lifts P2 to 34 + 45 + 5 = 84 (良); P3 stays 差 (45.57)
    table = vary(sc, {"indicators.points": [{"B": 30}, {"B": 50}]},
                 metrics=["count_excellent", "count_good", "count_poor"])
    assert table["count_good"].tolist() == [0, 1]
    assert table["count_poor"].tolist() == [1, 1]
    yv = year_variants(sc, {"base": None, "no B": {"indicators.remove": "B"}})
    scores = {k: r.allocations["score"].tolist() for k, r in yv.results.items()}
    assert scores["no B"][1:] == by_hand({"A.1.1": 200 / 7, "A.1.2": 100 / 7,
                                          "A.2": 200 / 7, "C": 200 / 7})
    mc = mc_variants(sc, {"base": None, "no C": {"indicators.remove": "C"}},
                     metrics=["savings"], replications=4, years=1)
    assert set(mc["variant"]) == {"base", "no C"}


@pytest.mark.parametrize("changes, words", [
    ({"indicators.remove": "Z"}, ["indicator Z", "indicators.remove", "no such"]),
    ({"indicators.remove": ["A", "B", "C"]}, ["indicators.remove", "no scored indicator"]),
    ({"indicators.remove": "B", "indicators.rescale": "group"},
     ["indicator B", "no leaf of its group B"]),
    ({"indicators.remove": "B", "indicators.rescale": "everywhere"}, ["rescale", "system"]),
    ({"indicators.give_to": "A"}, ["indicators.give_to", "indicators.remove"]),
    ({"indicators.remove": "B", "indicators.give_to": "Q"}, ["indicator Q", "give_to"]),
    ({"indicators.move": {"code": "B", "to": "Z"}}, ["indicator B", "Z", "no such group"]),
    ({"indicators.move": {"code": "A.1", "to": "A"}}, ["indicator A.1", "no such scored leaf"]),
    ({"indicators.move": {"code": "A.2", "to": "A"}}, ["indicator A.2", "already its group"]),
    ({"indicators.move": {"code": "C", "to": "X"}}, ["indicator C", "bonus group"]),
    ({"indicators.move": "C"}, ["indicators.move", "{code: LEAF, to: GROUP}"]),
    ({"indicators.add": {"code": "A.2", "points": 5, "rule": "proportional"}},
     ["indicator A.2", "already in the system"]),
    ({"indicators.add": {"code": "D", "points": 5, "rule": {"kind": "proportional"},
                         "target": 100}}, ["indicator D", "no measurements"]),
    ({"indicators.add": {"code": "D", "points": 5, "rule": {"kind": "nonsense"}}},
     ["indicator D", "nonsense"]),
    ({"indicators.points": {"A": 120}}, ["indicators.points", "120", "total 100"]),
    ({"indicators.points": {"A": -1}}, ["indicator A", "-1", ">= 0"]),
    ({"indicators.points": {"Q": 10}}, ["indicator Q", "indicators.points"]),
    ({"indicators.delete": "B"}, ["indicators.delete", "indicators.remove"]),
])
def test_bad_operations_are_one_line_errors_naming_the_indicator(changes, words):
    with pytest.raises(InputError) as err:
        apply_changes(tiny(), changes)
    text = str(err.value)
    assert "\n" not in text
    for w in words:
        assert w in text, (w, text)


def test_a_portfolio_of_ready_scores_has_no_structure_to_change():
    from perfsim.model.scenario import load_scenario
    sc = load_scenario(DATA / "tiny_scenario.yaml")
    with pytest.raises(InputError, match="portfolio of measurements"):
        apply_changes(sc, {"indicators.remove": "B"})


def test_readme_structural_variants_example(tmp_path):
    import re

    import yaml
    text = page("tasks/indicators.md")
    body = dict(re.findall(r"<!-- example: (\S+) -->\n```\w*\n(.*?)```", text, re.S))[
        "structural_variants.yaml"]
    variants = yaml.safe_load(body)
    system = load_indicator_system(DATASETS / "indicator_systems" /
                                   "national_project_self_eval.yaml")
    sc = Scenario(name="n", portfolio=generate_portfolio(system, seed=2, n_projects=60),
                  system=system)
    yv = year_variants(sc, variants)
    assert set(yv.results) == set(variants)
    a, b = (yv.results[k].allocations["score"] for k in ("drop satisfaction, to outputs",
                                                         "same, by points"))
    np.testing.assert_allclose(a, b)
    moved = apply_changes(sc, variants["execution into outputs"]).system
    g = dict(zip(moved.level1_codes, np.bincount(moved.level1_index, weights=moved.points),
                 strict=True))
    assert g == pytest.approx({"OUT": 60, "BEN": 30, "SAT": 10})


def test_cli_set_takes_structural_operations(tmp_path, capsys):
    from perfsim import cli
    scen = tmp_path / "s.yaml"
    scen.write_text(yaml_dump({
        "name": "m", "seed": 3,
        "indicator_system": str(DATASETS / "indicator_systems" /
                                "national_project_self_eval.yaml"),
        "portfolio": {"generate": {"n_projects": 50, "n_departments": 5}},
        "grading": {"labels": "national", "cutoffs": [90, 80, 60]},
        "linkage": {"rule": "liupanshui", "ratio": 0.15, "pool": "treasury"}}),
        encoding="utf-8")
    assert cli.main(["run", str(scen), "--set", "indicators.remove=SAT", "--set",
                     "indicators.give_to=OUT", "--out", str(tmp_path / "o")]) == 0
    capsys.readouterr()
    assert cli.main(["run", str(scen), "--set", "indicators.give_to=Q", "--out",
                     str(tmp_path / "p")]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "indicators.give_to" in err


def yaml_dump(doc):
    import yaml
    return yaml.safe_dump(doc, allow_unicode=True)
