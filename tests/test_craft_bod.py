"""Benefit-of-the-doubt weights (perfsim.kernel.bod, perfsim.analyse.robust): hand-solved
linear programmes on 3 units, a brute-force search over the share simplex (the fractional
form of the same problem, solved without any LP), infeasible bounds named in one line."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml

from perfsim.analyse.robust import benefit_of_the_doubt
from perfsim.errors import InputError
from perfsim.kernel import bod as kb
from perfsim.model.indicators import system_from_dict
from perfsim.model.portfolio import portfolio_from_frame
from perfsim.model.weighting_spec import parse_bounds


def bounds(lower, upper, group=None, glo=None, ghi=None):
    n = len(lower)
    group = np.zeros(n, dtype=np.int64) if group is None else np.asarray(group, dtype=np.int64)
    G = int(group.max()) + 1
    return kb.Bounds(np.asarray(lower, float), np.asarray(upper, float), group,
                     np.zeros(G) if glo is None else np.asarray(glo, float),
                     np.ones(G) if ghi is None else np.asarray(ghi, float),
                     tuple(f"I{j + 1}" for j in range(n)), tuple(f"G{g + 1}" for g in range(G)))


def test_hand_solved_free_lp():
    # Y = [[1, .5], [.5, 1], [.6, .6]]. Units 1 and 2 are best on their own indicator: 1.
    # Unit 3: max .6 (w1 + w2) s.t. w1 + .5 w2 <= 1, .5 w1 + w2 <= 1 → w1 = w2 = 2/3,
    # score .6 × 4/3 = 0.8, shares (1/2, 1/2).
    Y = np.array([[1, 0.5], [0.5, 1], [0.6, 0.6]])
    r = kb.bod(Y)
    np.testing.assert_allclose(r.scores, [1, 1, 0.8], atol=1e-9)
    np.testing.assert_allclose(r.weights[2], [0.5, 0.5], atol=1e-9)
    np.testing.assert_allclose(r.weights.sum(axis=1), 1.0)


def test_hand_solved_bounded_lp():
    # Y = [[1, .2], [.2, 1], [.7, .7]], share of indicator 1 at most 0.6.
    # Unit 1: score(s1) = (.2 + .8 s1) / max(.2 + .8 s1, 1 − .8 s1, .7); for s1 <= .6 the
    # numerator is <= .68 < .7, so the best is s1 = .6: 0.68 / 0.7 = 34/35.
    # Unit 2 (s1 = 0): 1. Unit 3 (s = (.5, .5)): .7 / .7 = 1.
    Y = np.array([[1, 0.2], [0.2, 1], [0.7, 0.7]])
    r = kb.bod(Y, bounds([0, 0], [0.6, 1]))
    np.testing.assert_allclose(r.scores, [34 / 35, 1, 1], atol=1e-9)
    np.testing.assert_allclose(r.weights[0], [0.6, 0.4], atol=1e-9)
    assert kb.bod(Y).scores[0] == pytest.approx(1.0)  # free: all weight on indicator 1


def _brute_force(Y, lower, upper, group, glo, ghi, step=0.0025):
    """max over a grid of shares s of s · y_i / max_k s · y_k, within the bounds."""
    g = np.arange(0, 1 + step / 2, step)
    s1, s2 = np.meshgrid(g, g, indexing="ij")
    S = np.column_stack([s1.ravel(), s2.ravel(), 1 - s1.ravel() - s2.ravel()])
    S = S[S[:, 2] >= -1e-12]
    ok = ((S >= np.asarray(lower) - 1e-12) & (S <= np.asarray(upper) + 1e-12)).all(axis=1)
    for gg in range(len(glo)):
        tot = S[:, np.asarray(group) == gg].sum(axis=1)
        ok &= (tot >= glo[gg] - 1e-12) & (tot <= ghi[gg] + 1e-12)
    S = S[ok]
    V = S @ Y.T  # (grid, units)
    return (V / V.max(axis=1, keepdims=True)).max(axis=0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_bounded_bod_matches_brute_force_over_the_simplex(seed):
    rng = np.random.default_rng(seed)
    Y = rng.uniform(0.1, 1.0, (7, 3))
    lower, upper = [0.1, 0.1, 0.05], [0.6, 0.7, 0.5]
    group, glo, ghi = [0, 0, 1], [0.5, 0.0], [0.85, 1.0]
    r = kb.bod(Y, bounds(lower, upper, group, glo, ghi))
    want = _brute_force(Y, lower, upper, group, glo, ghi)
    # the grid can only fall short of the optimum, by at most a few grid steps
    assert np.all(r.scores >= want - 1e-9)
    np.testing.assert_allclose(r.scores, want, atol=0.01)
    s = r.weights
    assert np.all(s >= np.array(lower) - 1e-7) and np.all(s <= np.array(upper) + 1e-7)
    g1 = s[:, :2].sum(axis=1)
    assert np.all(g1 >= 0.5 - 1e-7) and np.all(g1 <= 0.85 + 1e-7)


def test_peer_reduction_changes_nothing():
    # dropping dominated and inefficient units' constraints is exact: compare with an LP per
    # unit against every unit, solved here directly with linprog
    from scipy.optimize import linprog

    rng = np.random.default_rng(5)
    Y = rng.uniform(0, 1, (40, 4))
    r = kb.bod(Y)
    for i in range(40):
        res = linprog(-Y[i], A_ub=Y, b_ub=np.ones(40), bounds=(0, None), method="highs")
        assert r.scores[i] == pytest.approx(-res.fun, abs=1e-9)


@pytest.mark.parametrize("b, needle", [
    (bounds([0.6, 0.5], [1, 1]), "indicator I1: 字段 field 'lower' = 0.6: 下限合计"),
    (bounds([0, 0], [0.4, 0.5]), "indicator I1: 字段 field 'upper' = 0.4: 上限合计"),
    (bounds([0, 0, 0], [1, 1, 1], [0, 0, 1], [0.7, 0.5], [1, 1]),
     "group G1: 字段 field 'lower' = 0.7: 无法与其他上下限同时满足"),
    (bounds([0, 0, 0.5], [1, 1, 1], [0, 0, 1], [0.6, 0], [1, 1]),
     "indicator I3: 字段 field 'lower' = 0.5: 无法与其他上下限同时满足"),
])
def test_infeasible_bounds_name_indicator_and_bound(b, needle):
    Y = np.array([[1.0, 0.5, 0.2], [0.3, 0.9, 0.4]])[:, :b.lower.size]
    with pytest.raises(InputError) as exc:
        kb.bod(Y, b)
    assert needle in str(exc.value) and "\n" not in str(exc.value)


SYSTEM = """
code: bodtest
name: {zh: 测试, en: BoD test}
total: 100
indicators:
  - code: G
    name: {zh: 一组, en: G}
    points: 60
    children:
      - {code: G.a, name: {zh: 甲, en: a}, points: 30, unit: "%", target: 100,
         direction: higher, rule: {kind: proportional}}
      - {code: G.b, name: {zh: 乙, en: b}, points: 30, unit: "%", target: 100,
         direction: higher, rule: {kind: proportional}}
  - {code: H, name: {zh: 二组, en: H}, points: 40, unit: "%", target: 100, direction: higher,
     rule: {kind: proportional}}
"""


@pytest.fixture()
def small():
    system = system_from_dict(yaml.safe_load(SYSTEM))
    frame = pd.DataFrame({"project_id": ["P1", "P2", "P3"], "department": ["D1", "D1", "D2"],
                          "budget": 1.0, "G.a": [100.0, 20, 70], "G.b": [20.0, 100, 70],
                          "H": [50.0, 50, 50]})
    return system, portfolio_from_frame(frame, system, source="small.csv")


def test_benefit_of_the_doubt_on_a_portfolio(small):
    system, pf = small
    block = {"leaves": {"default": [0.1, 0.8]}, "groups": {"G": [0.5, 0.9]}}
    res = benefit_of_the_doubt(system, pf, block)
    t = res.table.set_index("project_id")
    # attainment = value / 100; same LP by hand-built kernel bounds
    Y = np.array([[1, 0.2, 0.5], [0.2, 1, 0.5], [0.7, 0.7, 0.5]])
    want = kb.bod(Y, bounds([0.1] * 3, [0.8] * 3, [0, 0, 1], [0.5, 0], [0.9, 1])).scores
    np.testing.assert_allclose(t["bod_score"], want, atol=1e-12)
    # expert: (30 a + 30 b + 40 h) / 100
    np.testing.assert_allclose(t["expert_score"], [0.56, 0.56, 0.62])
    assert list(t["expert_rank"]) == [2, 2, 1]
    assert list(res.weights.columns) == ["project_id", "G.a", "G.b", "H"]


@pytest.mark.parametrize("block, needle", [
    ({"leaves": {"NOPE": [0, 1]}}, "'code' = 'NOPE': 不是 bodtest 的末级指标 / not a leaf"),
    ({"groups": {"X": [0, 1]}}, "'code' = 'X': 不是 bodtest 的一级指标编码 / not a level-1 code"),
    ({"leaves": {"G.a": [0.5, 0.2]}}, "'lower' = 0.5: 高于上限 0.2 / above its upper bound 0.2"),
    ({"leaves": {"G.a": [0, 2]}}, "'upper' = 2"),
    ({"leaves": {"G.a": 0.3}}, "must be [lower, upper]"),
    ({"weights": {}}, "字段 field 'weights': 未知的键 / unknown key"),
])
def test_bad_bounds_block_is_one_line(small, block, needle):
    system, _ = small
    with pytest.raises(InputError) as exc:
        parse_bounds(block, system, "b.yaml")
    assert needle in str(exc.value) and str(exc.value).startswith("b.yaml")


def test_smaa_on_a_portfolio(small):
    from perfsim.analyse.robust import smaa
    from perfsim.kernel import smaa as ks

    system, pf = small
    block = {"groups": {"G": [0.5, 0.9]}}
    res = smaa(system, pf, draws=4000, seed=5, bounds=block, top=1)
    att = system.attainment(pf.measurements())
    direct = ks.smaa(att, 4000, 5, parse_bounds(block, system))
    np.testing.assert_array_equal(res.acceptability, direct.acceptability)
    t = res.table.set_index("project_id")
    np.testing.assert_array_equal(t["rank1"], direct.acceptability[:, 0])
    np.testing.assert_array_equal(t["top_share"], direct.acceptability[:, 0])  # top = 1
    d = res.departments.set_index("department")
    assert d.loc["D1", "projects"] == 2
    assert d.loc["D1", "expected_in_top"] == pytest.approx(t.loc[["P1", "P2"], "top_share"].sum())
    # P3 (0.7, 0.7, 0.5) leads whenever H's share is small enough; P1/P2 split the rest
    assert set(res.central_weights["project_id"]) <= {"P1", "P2", "P3"}
    assert res.seed == 5 and res.draws == 4000


@pytest.mark.parametrize("seed", range(4))
def test_bod_never_below_any_admissible_weights_score(seed):
    # the benefit of the doubt: for every admissible share vector s, BoD_i >= s·y_i / max_k s·y_k
    # (checked for 200 random admissible s per case, drawn independently of the solver)
    rng = np.random.default_rng(seed)
    Y = rng.uniform(0, 1, (25, 4))
    b = bounds([0.1] * 4, [0.5] * 4, [0, 0, 1, 1], [0.3, 0.3], [0.7, 0.7])
    r = kb.bod(Y, b)
    S = rng.dirichlet(np.ones(4), 20000)
    ok = ((S >= 0.1) & (S <= 0.5)).all(1) & (S[:, :2].sum(1) >= 0.3) & (S[:, :2].sum(1) <= 0.7)
    S = S[ok][:200]
    V = S @ Y.T
    ratio = V / V.max(axis=1, keepdims=True)
    assert np.all(r.scores[None, :] >= ratio - 1e-9)
