"""Strategic units (issue: audit design against gaming): each unit's chosen inflation and its
break-even check share, computed by hand on five projects under the Liupanshui rule."""

from __future__ import annotations

import pytest
from conftest import DATA

import perfsim
from perfsim.errors import InputError
from perfsim.run import strategy

SCENARIO = """
name: strategic
seed: 1
portfolio: {{file: {data}/tiny_scores.csv}}
grading: {{labels: national, cutoffs: [90, 80, 60]}}
linkage: {{rule: liupanshui, ratio: 0.15, pool: treasury}}
simulation:
  spot_check: {{inflation_penalty: {penalty}, gap: 0.0}}
"""


def scenario(tmp_path, penalty=12.0):
    path = tmp_path / "strategic.yaml"
    path.write_text(SCENARIO.format(data=DATA, penalty=penalty), encoding="utf-8")
    return perfsim.load(path)


def test_break_even_share_of_each_unit_by_hand(tmp_path):
    # P1 95 优 and P4 85 良 gain nothing by inflating (优 and 良 are both kept);
    # P2 70 中 (2,000): +10 points reach 良 and save the 15% cut, a = 300; found (any
    # inflation, gap 0) it loses 12 points, 58 is 差 and cancelled, b = -1,700:
    # p = 300 / 2,000 = 0.15. P5 65 中 (500): a = 75, b = -425, p = 0.15. P3 50 差 has
    # nothing left to lose (b = 0): only checking everyone deters it. P4 would lose 450 if
    # found (85 - 12 = 73 is 中) but has nothing to gain.
    gn = strategy.gains(scenario(tmp_path))
    assert gn.break_even() == pytest.approx([0.0, 0.15, 1.0, 0.0, 0.15])
    ten = list(gn.grid).index(10.0)
    assert gn.unchecked[ten] == pytest.approx([0, 300, 3400, 0, 0])
    assert gn.checked[ten] == pytest.approx([0, -1700, 0, -450, -425])


def test_units_inflate_below_their_break_even_and_not_above(tmp_path):
    gn = strategy.gains(scenario(tmp_path))
    # just below 15%: P2 claims the 10 points to 80, P5 the 15, P3 the 30 to 80 (良)
    assert gn.choice(0.14).tolist() == [0.0, 10.0, 30.0, 0.0, 15.0]
    assert gn.choice(0.16).tolist() == [0.0, 0.0, 30.0, 0.0, 0.0]
    assert gn.choice(1.0).tolist() == [0.0] * 5


def no_poor(tmp_path, penalty=12.0):
    """The five projects without their 差 project (P3)."""
    rows = (DATA / "tiny_scores.csv").read_text(encoding="utf-8").splitlines()
    (tmp_path / "no_poor.csv").write_text(
        "\n".join(r for r in rows if not r.startswith("P3,")) + "\n", encoding="utf-8")
    text = SCENARIO.format(data=tmp_path, penalty=penalty).replace("tiny_scores", "no_poor")
    (tmp_path / "no_poor.yaml").write_text(text, encoding="utf-8")
    return perfsim.load(tmp_path / "no_poor.yaml")


def test_raising_checks_to_the_break_even_ends_inflation_on_a_portfolio_of_中(tmp_path):
    sc = no_poor(tmp_path)
    assert strategy.break_even_share(sc) == pytest.approx(0.15)
    table = strategy.strategic_inflation(sc, [0.0, 0.10, 0.149, 0.151, 0.5])
    # below it P2 and P5 inflate (10 and 15 points of 4 units); at and above it nobody does
    assert table["mean_inflation"].tolist() == pytest.approx([6.25, 6.25, 6.25, 0.0, 0.0])
    assert table["share_inflating"].tolist() == pytest.approx([0.5, 0.5, 0.5, 0.0, 0.0])
    # the expected gain at 10%: 0.9 x (300 + 75) + 0.1 x (-1,700 - 425)
    assert table["expected_gain"].iloc[1] == pytest.approx(0.9 * 375 - 0.1 * 2125)


def test_a_heavier_penalty_lowers_the_break_even(tmp_path):
    t = strategy.break_even_by_penalty(no_poor(tmp_path, penalty=0.0), [0.0, 12.0])
    # with no penalty the re-check only restores the honest grade (b = 0): only checking
    # everyone deters; a 12-point penalty turns a found 中 into 差 and deters from 15% on
    assert t["break_even_share"].tolist() == pytest.approx([1.0, 0.15])
    assert t["share_tempted"].tolist() == pytest.approx([0.5, 0.5])
    assert t["share_undeterred"].tolist() == pytest.approx([0.5, 0.0])


def test_a_poor_project_is_counted_apart_from_the_break_even(tmp_path):
    # P3 (差) is tempted at any check share below 1, P2 and P5 up to 15%
    summary = strategy.summarise_break_even(strategy.gains(scenario(tmp_path)).break_even())
    assert summary == pytest.approx({"break_even_share": 0.15, "share_tempted": 0.6,
                                     "share_undeterred": 0.2})


def test_bad_grid_and_shares_are_one_line_errors(tmp_path):
    sc = scenario(tmp_path)
    with pytest.raises(InputError, match="field 'grid'"):
        strategy.gains(sc, [1.0, 2.0])
    with pytest.raises(InputError, match="field 'check_shares'"):
        strategy.strategic_inflation(sc, [1.5])


def test_a_bonus_for_not_being_checked_makes_inflating_cheaper(tmp_path):
    path = tmp_path / "fujian.yaml"
    path.write_text(SCENARIO.format(data=DATA, penalty=12.0).replace(
        "gap: 0.0}", "gap: 0.0, unchecked_bonus: 2.0}"), encoding="utf-8")
    gn = strategy.gains(perfsim.load(path))
    # unchecked, P2 (70) needs 8 points, not 10, to reach 80 with the 2-point bonus; P5 (65)
    # 13 instead of 15. The honest report is the baseline in each case, so 0 gains nothing.
    assert gn.choice(0.14).tolist() == [0.0, 8.0, 28.0, 0.0, 13.0]
    assert gn.unchecked[0].tolist() == [0.0] * 5 and gn.checked[0].tolist() == [0.0] * 5


def test_claimed_scores_are_the_honest_ones_plus_the_chosen_inflation(tmp_path):
    c = strategy.claimed_scores(scenario(tmp_path), 0.14)
    assert c["inflation"].tolist() == [0.0, 10.0, 30.0, 0.0, 15.0]
    assert c["claimed_score"].tolist() == [95.0, 80.0, 80.0, 85.0, 80.0]
    assert c["project_id"].tolist() == ["P1", "P2", "P3", "P4", "P5"]
    with pytest.raises(InputError, match="field 'check_share'"):
        strategy.claimed_scores(scenario(tmp_path), 1.2)


def test_inflation_grid_runs_from_zero_to_the_most_by_half_points():
    assert strategy.inflation_grid(3.0).tolist() == [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0]
    with pytest.raises(InputError, match="max_inflation"):
        strategy.inflation_grid(0.0)
