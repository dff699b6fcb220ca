"""Weighting schemes (perfsim.run.compare): applying a scheme to a system, the `weighting:`
blocks in files, comparing schemes on one portfolio, the ordinal_average aggregation and
`perfsim weights`.

Expected values are worked out by hand in the comments (closed forms for entropy weights,
rank correlations of four projects, budgets under the Liupanshui rule)."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from perfsim.cli import main
from perfsim.errors import InputError
from perfsim.kernel.grading import Grading
from perfsim.kernel.linkage import linkage_from_dict
from perfsim.kernel.scoring import total_score
from perfsim.model.indicators import load_indicator_system, system_from_dict
from perfsim.model.portfolio import generate_portfolio, portfolio_from_frame
from perfsim.model.scenario import Scenario, load_scenario
from perfsim.model.weighting_spec import WeightingSpec, parse_weighting
from perfsim.model.weights import apply_weighting, leaf_directions, weights_frame
from perfsim.run.compare import DEFAULT_SCHEMES, compare_schemes
from perfsim.run.year import run_year

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
COMPARISON = ROOT / "datasets" / "scenarios" / "weighting_comparison.yaml"
NATIONAL_AHP = ROOT / "datasets" / "weighting" / "national_groups_ahp.csv"

PROPS = settings(max_examples=25, deadline=None, derandomize=True, database=None)


def points_by_code(system) -> dict[str, float]:
    return dict(zip(system.codes, system.points.tolist(), strict=True))


def group_points(system) -> dict[str, float]:
    g = np.bincount(system.level1_index, weights=system.points)
    return dict(zip(system.level1_codes, g.tolist(), strict=True))


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    path.write_text("\n".join(",".join(r) for r in rows) + "\n", encoding="utf-8")
    return path


def consistent_rows(codes: list[str], w: list[float]) -> list[list[str]]:
    """A perfectly consistent AHP matrix a_ij = w_i / w_j as CSV rows."""
    rows = [["", *codes]]
    for i, c in enumerate(codes):
        rows.append([c, *[repr(w[i] / w[j]) for j in range(len(codes))]])
    return rows


def tiny_portfolio(tiny, **columns):
    """Three projects for the tiny system; ``columns`` override the defaults."""
    cols = {"project_id": ["P1", "P2", "P3"], "department": ["D1", "D1", "D2"],
            "budget": [100.0, 200.0, 300.0],
            # A.1.1 proportional (higher), A.1.2 days late (deduct), A.2 graded 好/中/差
            "A.1.1": [100.0, 50.0, 0.0], "A.1.2": [0.0, 0.0, 10.0], "A.2": ["好", "差", "差"],
            "B": [90.0, 45.0, 60.0], "C": [100.0, 70.0, 40.0], "C.self": [100.0, 70.0, 40.0],
            "X.1": [0.0, 1.0, 0.0]}
    cols.update(columns)
    return portfolio_from_frame(pd.DataFrame(cols), tiny, source="tiny.csv")


# --------------------------------------------------------------------------------------------
# apply_weighting: tiers, sums, identity
# --------------------------------------------------------------------------------------------


def test_expert_scheme_is_the_identity(national):
    assert apply_weighting(national, {}) is national
    assert apply_weighting(national, None) is national
    same = apply_weighting(national, {"groups": "expert", "leaves": {"method": "expert"}})
    assert same is national
    assert parse_weighting({}).is_identity


def test_equal_groups_gives_25_each_and_leaves_keep_their_proportions(national):
    s = apply_weighting(national, {"groups": "equal"})
    assert group_points(s) == pytest.approx({"OUT": 25, "BEN": 25, "SAT": 25, "EXEC": 25})
    pts = points_by_code(s)
    # OUT.QTY.1 had 7.5 of OUT's 50 points -> 25 × 7.5 / 50 = 3.75; BEN.SOC.2 3.5 of 30 -> 35/12
    assert pts["OUT.QTY.1"] == pytest.approx(3.75)
    assert pts["BEN.SOC.2"] == pytest.approx(25 * 3.5 / 30)
    assert s.total == 100.0 and math.isclose(s.points.sum(), 100.0, abs_tol=1e-9)
    assert s.codes == national.codes and national.points.sum() == 100  # original untouched


def test_equal_leaves_split_each_group_evenly(national):
    s = apply_weighting(national, {"leaves": "equal"})
    pts = points_by_code(s)
    assert group_points(s) == pytest.approx({"OUT": 50, "BEN": 30, "SAT": 10, "EXEC": 10})
    assert [pts[c] for c in national.codes if c.startswith("OUT.")] == pytest.approx([6.25] * 8)
    assert [pts[c] for c in national.codes if c.startswith("BEN.")] == pytest.approx([5.0] * 6)
    assert s.total == 100.0 and math.isclose(s.points.sum(), 100.0, abs_tol=1e-9)


def test_ahp_groups_inline_and_file_agree_and_follow_the_codes(tiny, tmp_path):
    # consistent judgements from w = (A 0.2, B 0.3, C 0.5): AHP returns w exactly
    inline = {"groups": {"method": "ahp", "matrix": [[1, "2/3", "2/5"], ["3/2", 1, "3/5"],
                                                     ["5/2", "5/3", 1]]}}
    s1 = apply_weighting(tiny, inline)
    assert group_points(s1) == pytest.approx({"A": 20, "B": 30, "C": 50})
    # A's leaves keep their proportions 20 : 10 : 20 of A's 20 points
    pts = points_by_code(s1)
    assert [pts["A.1.1"], pts["A.1.2"], pts["A.2"]] == pytest.approx([8, 4, 8])
    # the same judgements in a CSV listed in another order (C, A, B)
    f = write_csv(tmp_path / "groups.csv", consistent_rows(["C", "A", "B"], [0.5, 0.2, 0.3]))
    s2 = apply_weighting(tiny, {"groups": {"method": "ahp", "matrix_file": f.name}},
                         base=tmp_path)
    np.testing.assert_allclose(s2.points, s1.points, atol=1e-9)
    # inline with codes in another order
    s3 = apply_weighting(tiny, {"groups": {"method": "ahp", "codes": ["C", "B", "A"],
                                           "matrix": [[1, "5/3", "5/2"], ["3/5", 1, "3/2"],
                                                      ["2/5", "2/3", 1]]}})
    np.testing.assert_allclose(s3.points, s1.points, atol=1e-9)
    assert s1.total == s2.total == s3.total == 100.0


def test_ahp_leaf_tier_takes_one_matrix_per_group(tiny, tmp_path):
    # A's leaves A.1.1 : A.1.2 : A.2 = 0.5 : 0.25 : 0.25 of A's 50 points; B and C are single
    s = apply_weighting(tiny, {"leaves": {"method": "ahp",
                                          "matrix": {"A": [[1, 2, 2], [0.5, 1, 1],
                                                           [0.5, 1, 1]]}}})
    assert points_by_code(s) == pytest.approx(
        {"A.1.1": 25, "A.1.2": 12.5, "A.2": 12.5, "B": 30, "C": 20})
    # a CSV without a group: its codes say the group
    f = write_csv(tmp_path / "a.csv", consistent_rows(["A.2", "A.1.1", "A.1.2"], [1, 2, 1]))
    s2 = apply_weighting(tiny, {"leaves": {"method": "ahp", "matrix_file": [str(f)]}})
    np.testing.assert_allclose(s2.points, s.points, atol=1e-9)


def entropy_closed_forms() -> tuple[float, float, float]:
    """Divergences d = 1 − e of the tiny portfolio's A leaves (3 projects, ln 3 normaliser).

    A.1.1 = 100, 50, 0 (benefit): y = 1, 0.5, 0 -> p = 2/3, 1/3, 0 ->
        e = (ln 3 − (2/3) ln 2) / ln 3, d = (2/3) ln 2 / ln 3
    A.1.2 = 0, 0, 10 days late (cost): y = 1, 1, 0 -> p = 1/2, 1/2, 0 -> d = 1 − ln 2 / ln 3
        (read as a benefit it would be y = 0, 0, 1 -> p = 0, 0, 1 -> d = 1)
    A.2 = 好, 差, 差 = positions 0, 2, 2 (cost): y = 1, 0, 0 -> p = 1, 0, 0 -> d = 1
    """
    ln2, ln3 = math.log(2), math.log(3)
    return (2 / 3) * ln2 / ln3, 1 - ln2 / ln3, 1.0


def test_leaf_tier_entropy_within_groups_uses_rule_directions(tiny):
    assert leaf_directions(tiny) == ("higher", "lower", "lower", "higher", "higher")
    pf = tiny_portfolio(tiny)
    s = apply_weighting(tiny, {"leaves": "entropy"}, pf)
    d = np.array(entropy_closed_forms())
    expected = 50 * d / d.sum()
    pts = points_by_code(s)
    assert [pts["A.1.1"], pts["A.1.2"], pts["A.2"]] == pytest.approx(expected, abs=1e-12)
    assert pts["B"] == 30 and pts["C"] == 20  # single-leaf groups keep their points
    assert s.total == 100 and math.isclose(s.points.sum(), 100, abs_tol=1e-9)


def test_target_is_best_leaves_use_attainment(tiny):
    doc = yaml.safe_load((DATA / "tiny_system.yaml").read_text(encoding="utf-8"))
    leaf = doc["indicators"][1]  # B: make it a target-is-best proportional leaf
    leaf.update(direction="equal", target=90)
    system = system_from_dict(doc)
    assert leaf_directions(system)[3] == "attainment"


def test_group_tier_entropy_reads_group_attainment_shares(tiny):
    pf = tiny_portfolio(tiny)
    s = apply_weighting(tiny, {"groups": "entropy"}, pf)
    a = tiny.attainment(pf.measurements())
    # group shares by hand: A = (20 a1 + 10 a2 + 20 a3) / 50, B = a4, C = a5
    shares = np.column_stack([(20 * a[:, 0] + 10 * a[:, 1] + 20 * a[:, 2]) / 50, a[:, 3],
                              a[:, 4]])
    y = (shares - shares.min(0)) / (shares.max(0) - shares.min(0))
    p = y / y.sum(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        e = -np.where(p > 0, p * np.log(p), 0).sum(0) / math.log(3)
    w = (1 - e) / (1 - e).sum()
    assert list(group_points(s).values()) == pytest.approx(100 * w, abs=1e-9)


def test_objective_methods_need_measurements(tiny):
    with pytest.raises(InputError, match="need a portfolio with indicator measurements"):
        apply_weighting(tiny, {"groups": "critic"})
    scores = portfolio_from_frame(pd.DataFrame({"project_id": ["P1", "P2"],
                                                "department": ["D", "D"], "budget": [1, 2],
                                                "score": [80, 90]}), tiny)
    with pytest.raises(InputError, match="holds ready scores"):
        apply_weighting(tiny, {"leaves": "pca"}, scores)


def test_zero_variance_column_is_one_clear_line(tiny):
    pf = tiny_portfolio(tiny, **{"A.1.1": [80.0, 80.0, 80.0]})
    with pytest.raises(InputError) as info:
        apply_weighting(tiny, {"leaves": "entropy"}, pf)
    msg = str(info.value)
    assert "\n" not in msg
    for fragment in ("weighting leaves, group A", "A.1.1", "zero variance"):
        assert fragment in msg


@pytest.mark.parametrize("block, fragments", [
    ({"groups": {"method": "ahp", "matrix": [[1, 2, 3], [0.5, 1, 2]]}}, ["square"]),
    ({"groups": {"method": "ahp", "matrix": [[1, 2], [0.5, 1]]}}, ["must be 3 × 3"]),
    ({"groups": {"method": "ahp", "matrix": [[1, -2, 1], [-0.5, 1, 1], [1, 1, 1]]}},
     ["> 0"]),
    ({"groups": {"method": "ahp", "matrix": [[1, 2, 1], [2, 1, 1], [1, 1, 1]]}},
     ["not reciprocal"]),
    ({"groups": {"method": "ahp", "codes": ["A", "B", "Z"],
                 "matrix": [[1, 1, 1], [1, 1, 1], [1, 1, 1]]}}, ["'Z'", "not a level-1 group"]),
    ({"groups": {"method": "ahp"}}, ["needs a pairwise comparison matrix"]),
    ({"leaves": {"method": "ahp", "matrix": {"Q": [[1, 2], [0.5, 1]]}}}, ["'Q'", "level-1"]),
    ({"groups": {"method": "combined", "alpha": 1.5}}, ["alpha", "1.5", "[0, 1]"]),
    ({"groups": {"method": "combined", "alpha": -0.1}}, ["alpha", "[0, 1]"]),
    ({"groups": {"method": "entropy", "alpha": 0.3}}, ["alpha", "only applies"]),
    ({"groups": {"method": "fuzzy"}}, ["'fuzzy'", "unknown method"]),
    ({"groups": {"method": "equal", "weights": 3}}, ["weights", "unknown key"]),
    ({"levels": "equal"}, ["levels", "unknown key"]),
    ({"groups": {"method": "combined", "objective": "ahp"}}, ["objective", "entropy"]),
])
def test_bad_weighting_blocks_are_one_line_errors(tiny, block, fragments):
    with pytest.raises(InputError) as info:
        apply_weighting(tiny, block)
    msg = str(info.value)
    assert "\n" not in msg
    for fragment in fragments:
        assert fragment in msg, msg


def test_matrix_file_errors_name_the_file(tiny, tmp_path):
    write_csv(tmp_path / "bad.csv", [["", "A", "B", "C"], ["A", "1", "3", "1"],
                                     ["B", "3", "1", "1"], ["C", "1", "1", "1"]])
    with pytest.raises(InputError, match=r"bad\.csv.*row A, column B.*not reciprocal"):
        parse_weighting({"groups": {"method": "ahp", "matrix_file": "bad.csv"}}, base=tmp_path)
    unknown = write_csv(tmp_path / "u.csv", consistent_rows(["A", "B", "D"], [1, 1, 1]))
    with pytest.raises(InputError, match=r"u\.csv.*'D'.*not a level-1 group of tiny"):
        apply_weighting(tiny, {"groups": {"method": "ahp", "matrix_file": str(unknown)}})
    with pytest.raises(InputError, match="file not found"):
        parse_weighting({"groups": {"method": "ahp", "matrix_file": "nope.csv"}}, base=tmp_path)


def test_bundled_national_ahp_matrix_is_consistent(national):
    s = apply_weighting(national, {"groups": {"method": "ahp",
                                              "matrix_file": str(NATIONAL_AHP)}})
    g = group_points(s)
    assert g["SAT"] == pytest.approx(g["EXEC"])  # judged equal to each other
    assert g["OUT"] > g["BEN"] > g["SAT"]
    assert s.total == 100 and math.isclose(sum(g.values()), 100, abs_tol=1e-9)


# --------------------------------------------------------------------------------------------
# Property tests: every method, both tiers
# --------------------------------------------------------------------------------------------

METHOD_BLOCKS = {
    "expert": "expert", "equal": "equal", "entropy": "entropy", "critic": "critic",
    "pca": "pca",
    "combined": {"method": "combined", "alpha": 0.3, "objective": "critic"},
    "multiplicative": {"method": "combined", "combine": "multiplicative", "objective": "entropy"},
}


def random_doc(seed: int, group_order, leaf_orders) -> dict:
    """Groups G0.. with leaves Gg.L0..; random points; proportional leaves, random directions."""
    rng = np.random.default_rng(seed)
    sizes = [len(o) for o in leaf_orders]
    pts = [rng.uniform(1, 10, n) for n in sizes]
    total = sum(p.sum() for p in pts)
    dirs = [rng.choice(["higher", "lower"], n) for n in sizes]
    groups = []
    for g in group_order:
        # targets far from the data (≈ 0.1 … 20) keep attainments below 1, never saturated
        leaves = [{"code": f"G{g}.L{k}", "name": f"leaf {g}.{k}",
                   "points": float(pts[g][k] / total * 100),
                   "target": 100.0 if dirs[g][k] == "higher" else 0.01,
                   "direction": str(dirs[g][k]), "rule": {"kind": "proportional"}}
                  for k in leaf_orders[g]]
        groups.append({"code": f"G{g}", "name": f"group {g}", "children": leaves})
    points_sum = sum(leaf["points"] for grp in groups for leaf in grp["children"])
    groups[0]["children"][0]["points"] += 100 - points_sum  # exact total for validation
    return {"code": "random", "name": "random", "total": 100, "indicators": groups}


@st.composite
def problems(draw):
    n_groups = draw(st.integers(1, 4))
    sizes = [draw(st.integers(1, 4)) for _ in range(n_groups)]
    group_perm = draw(st.permutations(range(n_groups)))
    leaf_perms = [draw(st.permutations(range(n))) for n in sizes]
    seed = draw(st.integers(0, 2**32 - 1))
    return seed, sizes, group_perm, leaf_perms


def random_frame(seed: int, codes: list[str], m: int = 30) -> pd.DataFrame:
    rng = np.random.default_rng(seed + 1)
    cols = {"project_id": [f"P{i}" for i in range(m)], "department": ["D"] * m,
            "budget": np.full(m, 1000.0)}
    for c in codes:
        cols[c] = rng.lognormal(0.0, 0.5, m) * rng.uniform(0.5, 5)
    return pd.DataFrame(cols)


@PROPS
@given(problem=problems(), groups=st.sampled_from(list(METHOD_BLOCKS)),
       leaves=st.sampled_from(list(METHOD_BLOCKS)))
def test_every_method_gives_non_negative_points_adding_to_the_total_and_permutes(
        problem, groups, leaves):
    seed, sizes, group_perm, leaf_perms = problem
    base = system_from_dict(random_doc(seed, range(len(sizes)), [range(n) for n in sizes]))
    perm = system_from_dict(random_doc(seed, group_perm, leaf_perms))
    assert sorted(base.codes) == sorted(perm.codes) and base.codes != () and (
        perm.points.sum() == pytest.approx(100))
    frame = random_frame(seed, sorted(base.codes))
    block = {"groups": METHOD_BLOCKS[groups], "leaves": METHOD_BLOCKS[leaves]}
    a = apply_weighting(base, block, portfolio_from_frame(frame, base))
    b = apply_weighting(perm, block, portfolio_from_frame(frame, perm))
    for s in (a, b):
        assert np.all(s.points >= 0) and np.all(np.isfinite(s.points))
        assert s.total == 100.0
        assert math.isclose(s.points.sum(), 100.0, abs_tol=1e-9)
    pa, pb = points_by_code(a), points_by_code(b)
    for code in base.codes:  # permuting groups and leaves permutes the points
        assert pa[code] == pytest.approx(pb[code], abs=1e-7)


@PROPS
@given(problem=problems(), data=st.data())
def test_ahp_by_codes_is_permutation_equivariant(problem, data):
    seed, sizes, group_perm, leaf_perms = problem
    base = system_from_dict(random_doc(seed, range(len(sizes)), [range(n) for n in sizes]))
    perm = system_from_dict(random_doc(seed, group_perm, leaf_perms))
    w = data.draw(st.lists(st.floats(0.5, 5.0), min_size=len(sizes), max_size=len(sizes)))
    codes = [f"G{g}" for g in range(len(sizes))]
    matrix = [[w[i] / w[j] for j in range(len(w))] for i in range(len(w))]
    block = {"groups": {"method": "ahp", "codes": codes, "matrix": matrix}}
    a, b = apply_weighting(base, block), apply_weighting(perm, block)
    assert list(group_points(a).values()) == pytest.approx(list(100 * np.array(w) / sum(w)))
    pa, pb = points_by_code(a), points_by_code(b)
    for code in base.codes:
        assert pa[code] == pytest.approx(pb[code], abs=1e-9)


# --------------------------------------------------------------------------------------------
# weighting: blocks in files
# --------------------------------------------------------------------------------------------


def test_system_file_weighting_block_is_validated_on_load_and_applied_by_scenarios(tmp_path):
    doc = yaml.safe_load((DATA / "tiny_system.yaml").read_text(encoding="utf-8"))
    write_csv(tmp_path / "groups.csv", consistent_rows(["A", "B", "C"], [0.2, 0.3, 0.5]))
    doc["weighting"] = {"groups": {"method": "ahp", "matrix_file": "groups.csv"}}
    (tmp_path / "sys").mkdir()
    text = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)
    (tmp_path / "sys" / "system.yaml").write_text(text, encoding="utf-8")
    # the matrix path is relative to the system file: not found from the system's folder yet
    with pytest.raises(InputError, match=r"system\.yaml: weighting groups.*file not found"):
        load_indicator_system(tmp_path / "sys" / "system.yaml")
    (tmp_path / "groups.csv").rename(tmp_path / "sys" / "groups.csv")
    system = load_indicator_system(tmp_path / "sys" / "system.yaml")
    assert system.weighting is not None
    assert group_points(system) == pytest.approx({"A": 50, "B": 30, "C": 20})  # not yet applied
    (tmp_path / "portfolio.csv").write_text(
        (DATA / "tiny_measured.csv").read_text(encoding="utf-8"), encoding="utf-8")
    scenario = {"name": "w", "indicator_system": "sys/system.yaml",
                "portfolio": {"file": "portfolio.csv"}}
    (tmp_path / "scenario.yaml").write_text(yaml.safe_dump(scenario), encoding="utf-8")
    sc = load_scenario(tmp_path / "scenario.yaml")
    assert group_points(sc.system) == pytest.approx({"A": 20, "B": 30, "C": 50})
    # the scenario's own block wins
    scenario["weighting"] = {"groups": "equal"}
    (tmp_path / "scenario.yaml").write_text(yaml.safe_dump(scenario), encoding="utf-8")
    sc = load_scenario(tmp_path / "scenario.yaml")
    assert group_points(sc.system) == pytest.approx({"A": 100 / 3, "B": 100 / 3, "C": 100 / 3})
    assert sc.system.total == 100.0
    # and its errors name the scenario file
    scenario["weighting"] = {"groups": {"method": "combined", "alpha": 1.5}}
    (tmp_path / "scenario.yaml").write_text(yaml.safe_dump(scenario), encoding="utf-8")
    with pytest.raises(InputError, match=r"scenario\.yaml: weighting groups: 字段 field 'alpha'"):
        load_scenario(tmp_path / "scenario.yaml")


def test_scenario_weighting_needs_measurements(tmp_path):
    for name in ("tiny_system.yaml", "tiny_scores.csv"):
        (tmp_path / name).write_text((DATA / name).read_text(encoding="utf-8"),
                                     encoding="utf-8")
    scenario = {"name": "w", "indicator_system": "tiny_system.yaml",
                "portfolio": {"file": "tiny_scores.csv"}, "weighting": {"groups": "equal"}}
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(scenario), encoding="utf-8")
    with pytest.raises(InputError, match=r"s\.yaml: weighting: 项目表只有现成得分.* / "
                                         r"the portfolio holds ready scores"):
        load_scenario(tmp_path / "s.yaml")


# --------------------------------------------------------------------------------------------
# ordinal_average
# --------------------------------------------------------------------------------------------


def test_ordinal_average_by_hand():
    # groups (points): G0 = leaves 0, 1 (25 + 25), G1 = leaf 2 (30), G2 = leaf 3 (20)
    pts = np.array([25.0, 25.0, 30.0, 20.0])
    groups = np.array([0, 0, 1, 2])
    a = np.array([
        [0.95, 0.95, 0.85, 0.50],  # shares .95 A=4, .85 B=3, .5 D=1: mean .5·4+.3·3+.2·1 = 3.1
        [1.00, 1.00, 1.00, 1.00],  # all A -> 100
        [0.00, 0.00, 0.00, 0.00],  # all D -> 0
        [1.00, 0.80, 0.60, 0.7999],  # G0 .9 A (boundary, left-closed), G1 .6 C, G2 .7999 C
    ])
    got = total_score(a, pts, groups=groups, method="ordinal_average")
    # 100 × (mean − 1) / 3: 3.1 -> 70; row 4: .5·4 + .3·2 + .2·2 = 3.0 -> 66.67
    np.testing.assert_allclose(got, [70.0, 100.0, 0.0, 200 / 3], atol=1e-9)
    # equal group points reduce to PEFA's simple average: (4 + 3 + 1) / 3 = 8/3 -> 55.56
    eq = total_score(a[:1], np.array([20.0, 20.0, 40.0, 40.0]) / 1.2, groups=groups,
                     method="ordinal_average", total=100.0)
    np.testing.assert_allclose(eq, [100 * (8 / 3 - 1) / 3], atol=1e-9)


def test_ordinal_average_is_accepted_in_indicator_files():
    doc = yaml.safe_load((DATA / "tiny_system.yaml").read_text(encoding="utf-8"))
    doc["aggregation"] = "ordinal_average"
    system = system_from_dict(doc)
    # A: 1.0 (A=4), B: 81/90 = 0.9 (A=4), C: 70/100 = 0.7 (C=2); mean .5·4 + .3·4 + .2·2 = 3.6
    m = {"A.1.1": np.array([100.0]), "A.1.2": np.array([0.0]), "A.2": np.array([0.0]),
         "B": np.array([81.0]), "C": np.array([70.0]), "C.self": np.array([70.0]),
         "X.1": np.array([0.0])}
    assert system.score(m)[0] == 86.67  # 100 × 2.6 / 3 = 86.666…, printed to two decimals


# --------------------------------------------------------------------------------------------
# compare_schemes: a hand-worked example and the Liupanshui-scale portfolio
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hand_scenario() -> Scenario:
    """Two single-leaf groups G1 (70 points) and G2 (30); four projects.

    attainments G1 = 1.0, 1.0, 0.9, 0.4 and G2 = 0.3, 0.5, 1.0, 1.0
    expert (70/30): 79, 85, 93, 58 -> 中 良 优 差; ranks P3 P2 P1 P4
    equal (50/50):  65, 75, 95, 70 -> 中 中 优 中; ranks P3 P2 P4 P1
    """
    doc = {"code": "hand", "name": "hand", "total": 100, "indicators": [
        {"code": "G1", "name": "g1", "points": 70, "target": 100,
         "rule": {"kind": "proportional"}},
        {"code": "G2", "name": "g2", "points": 30, "target": 100,
         "rule": {"kind": "proportional"}}]}
    system = system_from_dict(doc)
    pf = portfolio_from_frame(pd.DataFrame({
        "project_id": ["P1", "P2", "P3", "P4"], "department": ["D1", "D1", "D2", "D2"],
        "budget": [1e6, 2e6, 3e6, 4e6], "G1": [100, 100, 90, 40], "G2": [30, 50, 100, 100]}),
        system)
    linkage = linkage_from_dict({"rule": "liupanshui", "ratio": 0.15, "pool": "treasury"})
    return Scenario(name="hand", portfolio=pf, grading=Grading(), linkage=linkage,
                    system=system)


@pytest.fixture(scope="module")
def hand(hand_scenario):
    return compare_schemes(hand_scenario, {"expert": {}, "equal": {"groups": "equal"}})


def test_hand_comparison_scores_grades_and_ranks(hand):
    p = hand.projects.set_index(["scheme", "project_id"])
    assert p.loc["expert", "score"].tolist() == pytest.approx([79, 85, 93, 58])
    assert p.loc["equal", "score"].tolist() == pytest.approx([65, 75, 95, 70])
    assert p.loc["expert", "grade_zh"].tolist() == ["中", "良", "优", "差"]
    assert p.loc["equal", "grade"].tolist() == ["fair", "fair", "excellent", "fair"]
    assert p.loc["expert", "rank"].tolist() == [3, 2, 1, 4]
    assert p.loc["equal", "rank"].tolist() == [4, 2, 1, 3]


def test_hand_comparison_rank_correlations(hand):
    c = hand.correlations.set_index(["scheme_a", "scheme_b"])
    # ranks differ only for P1 and P4 (by 1): rho = 1 − 6 · 2 / (4 · 15) = 0.8;
    # one discordant pair of six: tau = (5 − 1) / 6 = 2/3
    assert c.loc[("expert", "equal"), "spearman"] == pytest.approx(0.8)
    assert c.loc[("equal", "expert"), "kendall"] == pytest.approx(2 / 3)
    assert c.loc[("expert", "expert"), "spearman"] == pytest.approx(1.0)
    assert c.loc[("equal", "equal"), "kendall"] == pytest.approx(1.0)
    assert hand.correlation_matrix("kendall").loc["equal", "expert"] == pytest.approx(2 / 3)


def test_hand_comparison_transition_matrix(hand):
    t = hand.transition_matrix("equal")
    assert list(t.index) == list(t.columns) == ["excellent", "good", "fair", "poor"]
    expected = np.zeros((4, 4), dtype=int)
    expected[0, 0] = 1  # P3 优 -> 优
    expected[1, 2] = 1  # P2 良 -> 中
    expected[2, 2] = 1  # P1 中 -> 中
    expected[3, 2] = 1  # P4 差 -> 中
    np.testing.assert_array_equal(t.to_numpy(), expected)
    assert np.trace(hand.transition_matrix("expert").to_numpy()) == 4


def test_hand_comparison_money_moved_between_departments(hand):
    # Liupanshui 15 %, treasury: 优/良 kept, 中 × 0.85, 差 cancelled (yuan)
    # expert: P1 0.85e6, P2 2e6, P3 3e6, P4 0       -> D1 2.85e6, D2 3e6
    # equal:  P1 0.85e6, P2 1.7e6, P3 3e6, P4 3.4e6 -> D1 2.55e6, D2 6.4e6
    d = hand.departments.set_index(["scheme", "department"])
    assert d.loc["expert", "next_budget"].tolist() == pytest.approx([2.85e6, 3e6])
    assert d.loc["equal", "next_budget"].tolist() == pytest.approx([2.55e6, 6.4e6])
    assert d.loc["equal", "moved"].tolist() == pytest.approx([-0.3e6, 3.4e6])
    s = hand.summary.set_index("scheme")
    assert s.loc["equal", "money_gained"] == pytest.approx(3.4e6)
    assert s.loc["equal", "money_lost"] == pytest.approx(0.3e6)
    assert s.loc["equal", "net_change"] == pytest.approx(3.1e6)
    assert s.loc["equal", "changed_grade"] == 2
    assert (s.loc["equal", "departments_gaining"], s.loc["equal", "departments_losing"]) == (1, 1)


@pytest.fixture(scope="module")
def liupanshui() -> Scenario:
    return load_scenario(COMPARISON)


@pytest.fixture(scope="module")
def big(liupanshui):
    schemes = dict(DEFAULT_SCHEMES)
    schemes["ahp"] = {"groups": {"method": "ahp",
                                 "matrix_file": "../weighting/national_groups_ahp.csv"}}
    return compare_schemes(liupanshui, schemes)


def test_bundled_comparison_scenario_is_liupanshui_scale_with_measurements(liupanshui):
    pf = liupanshui.portfolio
    assert pf.n_projects == 3468 and pf.table["department"].nunique() == 561
    assert pf.budget.sum() == pytest.approx(22.536e9)
    assert not pf.has_scores and set(liupanshui.system.codes) <= set(pf.measured)


def test_comparison_tables_have_the_documented_shapes(big, liupanshui):
    S, P = len(big.schemes), liupanshui.portfolio.n_projects
    assert S == 7 and big.reference == "expert"
    assert len(big.projects) == S * P
    assert len(big.weights) == S * (4 + 16)
    assert len(big.correlations) == S * S
    assert len(big.transitions) == S * 16
    assert len(big.departments) == S * 561
    assert list(big.summary["scheme"]) == list(big.schemes)
    assert not big.projects[["score", "next_budget"]].isna().any().any()


def test_comparison_invariants(big, liupanshui):
    corr = big.correlation_matrix("spearman")
    np.testing.assert_allclose(np.diag(corr.to_numpy()), 1.0)
    np.testing.assert_allclose(corr.to_numpy(), corr.to_numpy().T)
    np.testing.assert_allclose(np.diag(big.correlation_matrix("kendall").to_numpy()), 1.0)
    # weights of every scheme: non-negative points adding to the total, per tier
    for level in ("group", "leaf"):
        w = big.weights[big.weights["level"] == level]
        assert (w["points"] >= 0).all()
        np.testing.assert_allclose(w.groupby("scheme")["points"].sum(), 100.0, atol=1e-9)
    grades = big.projects.pivot(index="project_id", columns="scheme", values="grade")
    ref_counts = grades["expert"].value_counts()
    for scheme in big.schemes:
        t = big.transition_matrix(scheme)
        # rows add up to the projects in each grade under the reference, columns under the scheme
        assert t.sum(axis=1).to_dict() == {g: int(ref_counts.get(g, 0)) for g in t.index}
        counts = grades[scheme].value_counts()
        assert t.sum(axis=0).to_dict() == {g: int(counts.get(g, 0)) for g in t.columns}
    # money moved between departments adds up to the difference of the total next budgets
    totals = big.projects.groupby("scheme")["next_budget"].sum()
    moved = big.departments.groupby("scheme")["moved"].sum()
    for scheme in big.schemes:
        assert moved[scheme] == pytest.approx(totals[scheme] - totals["expert"], abs=1e-3)
    s = big.summary.set_index("scheme")
    np.testing.assert_allclose(s["money_gained"] - s["money_lost"], s["net_change"], atol=1e-3)
    assert s.loc["expert", ["changed_grade", "money_gained", "money_lost"]].tolist() == [0, 0, 0]


def test_expert_scheme_reproduces_run_year(big, liupanshui):
    alloc = run_year(liupanshui).allocations
    mine = big.projects[big.projects["scheme"] == "expert"]
    np.testing.assert_allclose(mine["score"], alloc["score"])
    np.testing.assert_allclose(mine["next_budget"], alloc["next_budget"])
    assert list(mine["grade"]) == list(alloc["grade"])


def test_objective_schemes_change_the_split(big):
    g = big.weights[big.weights["level"] == "group"].pivot(index="scheme", columns="code",
                                                           values="points")
    assert g.loc["expert"].to_dict() == pytest.approx({"OUT": 50, "BEN": 30, "SAT": 10,
                                                       "EXEC": 10})
    assert g.loc["equal"].tolist() == pytest.approx([25] * 4)
    for scheme in ("entropy", "critic", "pca"):
        assert not np.allclose(g.loc[scheme], g.loc["expert"])


def test_compare_rejects_bad_schemes(hand_scenario, liupanshui):
    with pytest.raises(InputError, match="scheme broken: weighting groups: 字段 field 'method'"):
        compare_schemes(hand_scenario, {"broken": {"groups": "magic"}})
    with pytest.raises(InputError, match="reference"):
        compare_schemes(hand_scenario, {"expert": {}}, reference="nope")
    scores_only = load_scenario(ROOT / "datasets" / "scenarios" / "liupanshui_2022.yaml")
    with pytest.raises(InputError, match="needs an indicator system"):
        compare_schemes(scores_only)
    assert isinstance(parse_weighting(DEFAULT_SCHEMES["entropy"]), WeightingSpec)


# --------------------------------------------------------------------------------------------
# perfsim weights
# --------------------------------------------------------------------------------------------


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["weights", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_weights_table(capsys):
    code, out, err = run_cli(capsys, "--method", "equal")
    assert code == 0 and err == ""
    lines = out.strip().splitlines()
    assert "equal weights at the groups tier" in lines[0]
    assert lines[1].split() == ["code", "weight", "share", "name"]
    rows = {ln.split()[0]: ln.split()[1] for ln in lines[2:]}
    assert rows == {"OUT": "25.00", "BEN": "25.00", "SAT": "25.00", "EXEC": "25.00",
                    "total": "100.00"}
    assert "产出指标 / Outputs" in out


def test_cli_weights_csv_parses_and_sums_to_the_total(capsys, tmp_path):
    f = write_csv(tmp_path / "m.csv", consistent_rows(["EXEC", "OUT", "BEN", "SAT"],
                                                      [0.1, 0.4, 0.3, 0.2]))
    code, out, _ = run_cli(capsys, "--method", "ahp", "--matrix", str(f), "--format", "csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["code"] for r in rows] == ["OUT", "BEN", "SAT", "EXEC"]
    assert [float(r["weight"]) for r in rows] == pytest.approx([40, 30, 20, 10], abs=1e-9)
    code, out, _ = run_cli(capsys, "--method", "entropy", "--level", "leaves", "--scenario",
                           str(COMPARISON), "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and len(rows) == 16
    weights = np.array([float(r["weight"]) for r in rows])
    assert weights.sum() == pytest.approx(100.0, abs=1e-9) and (weights >= 0).all()
    by_code = dict(zip([r["code"] for r in rows], weights, strict=True))
    assert by_code["SAT"] == by_code["EXEC"] == pytest.approx(10.0)  # groups keep their points
    assert sum(v for k, v in by_code.items() if k.startswith("OUT.")) == pytest.approx(50.0)


def test_cli_weights_with_a_portfolio_file(capsys, tmp_path):
    pf = generate_portfolio(load_indicator_system(DATA / "tiny_system.yaml"), seed=5,
                            n_projects=60, n_departments=4)
    path = tmp_path / "pf.csv"
    pf.table.drop(columns=["true_score"]).to_csv(path, index=False)
    code, out, err = run_cli(capsys, "--method", "critic", "--system",
                             str(DATA / "tiny_system.yaml"), "--portfolio", str(path),
                             "--format", "csv")
    assert code == 0, err
    weights = [float(r["weight"]) for r in csv.DictReader(io.StringIO(out))]
    assert len(weights) == 3 and sum(weights) == pytest.approx(100.0, abs=1e-9)


@pytest.mark.parametrize("make_args, fragments", [
    (lambda d: ["--method", "ahp", "--matrix", str(d / "bad.csv")],
     ["bad.csv", "row OUT, column BEN", "not reciprocal"]),
    (lambda d: ["--method", "combined", "--alpha", "1.5", "--scenario", str(COMPARISON)],
     ["alpha", "1.5", "[0, 1]"]),
    (lambda d: ["--method", "magic"], ["'magic'", "unknown method"]),
    (lambda d: ["--method", "entropy"], ["--portfolio", "--scenario"]),
    (lambda d: ["--method", "entropy", "--level", "leaves", "--system",
                str(DATA / "tiny_system.yaml"), "--portfolio", str(d / "flat.csv")],
     ["group A", "A.1.1", "zero variance"]),
    (lambda d: ["--method", "ahp", "--matrix", str(d / "unknown.csv")],
     ["unknown.csv", "'XYZ'", "not a level-1 group"]),
])
def test_cli_weights_bad_input_is_one_line(capsys, tmp_path, make_args, fragments):
    write_csv(tmp_path / "bad.csv", [["", "OUT", "BEN", "SAT", "EXEC"],
                                     ["OUT", "1", "2", "4", "4"], ["BEN", "2", "1", "3", "3"],
                                     ["SAT", "1/4", "1/3", "1", "1"],
                                     ["EXEC", "1/4", "1/3", "1", "1"]])
    write_csv(tmp_path / "unknown.csv", consistent_rows(["OUT", "BEN", "SAT", "XYZ"],
                                                        [1, 1, 1, 1]))
    flat = (DATA / "tiny_measured.csv").read_text(encoding="utf-8").splitlines()
    header, *rows = [ln.split(",") for ln in flat]
    for r in rows:
        r[header.index("A.1.1")] = "80"
    write_csv(tmp_path / "flat.csv", [header, *rows])
    code, out, err = run_cli(capsys, *make_args(tmp_path))
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("perfsim: error: "), err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_weights_frame_levels(national):
    g = weights_frame(national, "groups")
    assert list(g["code"]) == ["OUT", "BEN", "SAT", "EXEC"]
    assert g["points"].tolist() == [50, 30, 10, 10] and g["share"].sum() == pytest.approx(1)
    assert len(weights_frame(national)) == 16
    with pytest.raises(InputError, match="level"):
        weights_frame(national, "level2")


def test_cli_ahp_without_a_matrix_names_the_option(capsys):
    from perfsim.cli import main

    assert main(["weights", "--method", "ahp"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--matrix" in err[0] and "Traceback" not in err[0]
