"""A target importance for the optimised weights, set from a ``weighting:`` block, from
``Scenario.set`` and from ``perfsim weights --target``: the weights are the kernel's for that
target, and each indicator's importance (its Pearson correlation with the index of min-max
normalised, better-is-higher values, as shares; computed here with numpy) is nearer the target
than under equal weights. Bad targets are refused in one bilingual line."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from conftest import DATA, SCENARIOS, SYSTEMS, one_error_line

import perfsim
from perfsim.cli import main
from perfsim.errors import InputError
from perfsim.kernel.weighting.optimised import optimised_weights
from perfsim.model.indicators import load_indicator_system
from perfsim.model.portfolio import load_portfolio
from perfsim.model.weighting_spec import parse_weighting
from perfsim.model.weights import apply_weighting

TINY = DATA / "tiny_system.yaml"
LEVEL = {"好": 0, "中": 1, "差": 2}   # the graded leaf A.2: position of the level, 0 = best


def importance(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Each column's correlation with the index y @ w of the min-max normalised columns, as
    shares (``x`` oriented so that higher is better)."""
    y = (x - x.min(axis=0)) / (x.max(axis=0) - x.min(axis=0))
    index = y @ w
    r = np.array([np.corrcoef(y[:, j], index)[0, 1] for j in range(y.shape[1])])
    return r / r.sum()


def miss(x: np.ndarray, w: np.ndarray, target: np.ndarray) -> float:
    return float(((importance(x, w) - target / target.sum()) ** 2).sum())


# --- a 40-project portfolio on the tiny system, its group A (A.1.1, A.1.2, A.2) ------------------

@pytest.fixture(scope="module")
def forty(tmp_path_factory) -> str:
    rng = np.random.default_rng(5)
    rows = ["project_id,department,budget,A.1.1,A.1.2,A.2,B,C,C.self,X.1,has_targets,"
            "self_evaluated"]
    for i in range(40):
        c = rng.uniform(50, 100)
        rows.append(f"P{i + 1},D{i % 4 + 1},{rng.integers(1, 20) * 100000},"
                    f"{rng.uniform(40, 100):.1f},{rng.integers(0, 30)},"
                    f"{rng.choice(list(LEVEL))},{rng.uniform(40, 95):.1f},{c:.1f},{c:.1f},0,"
                    "yes,yes")
    path = tmp_path_factory.mktemp("optw") / "forty.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return str(path)


def group_a(portfolio_file: str) -> np.ndarray:
    """Group A's raw values, higher = better: completion rate, minus days late, minus the
    quality level's position."""
    df = pd.read_csv(portfolio_file)
    return np.column_stack([df["A.1.1"], -df["A.1.2"], -df["A.2"].map(LEVEL)]).astype(float)


def test_a_target_in_yaml_is_hit_and_beats_equal_weights(forty):
    system = load_indicator_system(TINY)
    portfolio = load_portfolio(forty, system)
    target = np.array([5.0, 3.0, 2.0])
    new = apply_weighting(system, {"leaves": {"method": "optimised",
                                              "target": {"A.1.1": 5, "A.1.2": 3, "A.2": 2}}},
                          portfolio)
    cols = [system.codes.index(c) for c in ("A.1.1", "A.1.2", "A.2")]
    w = new.points[cols]
    assert w.sum() == pytest.approx(50.0)          # the group keeps the file's 50 points
    x = group_a(forty)
    # the kernel called directly on the same data with the same target
    direct = optimised_weights(x, ["higher"] * 3, target=target)
    assert w / w.sum() == pytest.approx(direct, abs=1e-9)
    # importances near 0.5 / 0.3 / 0.2, nearer than with equal weights or the file's 20:10:20
    assert importance(x, w) == pytest.approx(target / target.sum(), abs=0.01)
    assert miss(x, w, target) < miss(x, np.ones(3), target)
    assert miss(x, w, target) < miss(x, system.points[cols], target)
    # the default (equal importance) gives other weights
    equal = apply_weighting(system, {"leaves": "optimised"}, portfolio)
    assert not np.allclose(equal.points[cols], w, atol=0.5)
    assert importance(x, equal.points[cols]) == pytest.approx(np.full(3, 1 / 3), abs=0.01)


def test_a_list_in_file_order_is_the_same_target(forty):
    system = load_indicator_system(TINY)
    portfolio = load_portfolio(forty, system)
    by_code = apply_weighting(system, {"leaves": {"method": "optimised", "target": {
        "A.1.1": 0.5, "A.1.2": 0.3, "A.2": 0.2}}}, portfolio)
    # relative numbers: 5, 3, 2 are the shares 0.5, 0.3, 0.2; B and C (alone in their
    # groups) take any number
    listed = apply_weighting(system, {"leaves": {"method": "optimised",
                                                 "target": [5, 3, 2, 7, 0]}}, portfolio)
    assert listed.points == pytest.approx(by_code.points, abs=1e-9)


def test_a_groups_tier_target(forty):
    system = load_indicator_system(TINY)
    portfolio = load_portfolio(forty, system)
    target = np.array([1.0, 2.0, 1.0])
    new = apply_weighting(system, {"groups": {"method": "optimised", "target": [1, 2, 1]}},
                          portfolio)
    # the groups' data: each group's attainment share under the file's leaf split
    att = np.asarray(system.attainment(portfolio.measurements()), dtype=float)
    pts, idx = system.points, system.level1_index
    g = np.column_stack([(att[:, idx == k] * pts[idx == k]).sum(axis=1) / pts[idx == k].sum()
                         for k in range(3)])
    shares = np.array([new.points[idx == k].sum() for k in range(3)]) / system.total
    assert shares == pytest.approx(optimised_weights(g, ["higher"] * 3, target=target),
                                   abs=1e-9)
    assert miss(g, shares, target) < miss(g, np.ones(3), target)
    # within group A the file's proportions are kept
    a = new.points[idx == 0]
    assert a / a.sum() == pytest.approx(pts[idx == 0] / pts[idx == 0].sum())


def test_cli_target_gives_the_weights_of_the_yaml_block(forty, capsys):
    system = load_indicator_system(TINY)
    block = {"leaves": {"method": "optimised", "target": {"A.1.1": 1, "A.1.2": 4, "A.2": 2}}}
    want = apply_weighting(system, block, load_portfolio(forty, system))
    for target in ("A.1.1=1,A.1.2=4,A.2=2", "1,4,2,1,1"):
        assert main(["weights", "--system", str(TINY), "--portfolio", forty, "--method",
                     "optimised", "--level", "leaves", "--target", target,
                     "--format", "csv"]) == 0
        got = pd.read_csv(io.StringIO(capsys.readouterr().out)).set_index("code")["weight"]
        assert got[list(system.codes)].to_numpy() == pytest.approx(want.points, abs=1e-9)


# --- the national template on the weighting-comparison portfolio -------------------------------

OUT_TARGET = {"OUT.QTY.1": 0.16, "OUT.QTY.2": 0.12, "OUT.QUAL.1": 0.12, "OUT.QUAL.2": 0.12,
              "OUT.TIME.1": 0.12, "OUT.TIME.2": 0.12, "OUT.COST.1": 0.12, "OUT.COST.2": 0.12}
BEN_TARGET = {"BEN.ECO.1": 1, "BEN.SOC.1": 1, "BEN.SOC.2": 2, "BEN.ECOL.1": 1,
              "BEN.SUST.1": 1, "BEN.SUST.2": 1}


@pytest.fixture(scope="module")
def national_target(tmp_path_factory):
    """The weighting-comparison scenario with a leaf-tier target in its own file, and the
    scenario as bundled."""
    text = (SCENARIOS / "weighting_comparison.yaml").read_text(encoding="utf-8").replace(
        "../indicator_systems/", f"{SYSTEMS}/")
    targets = ", ".join(f"{c}: {v}" for c, v in {**OUT_TARGET, **BEN_TARGET}.items())
    path = tmp_path_factory.mktemp("optw") / "target.yaml"
    path.write_text(text + f"weighting: {{leaves: {{method: optimised, target: {{{targets}}}}}}}\n",
                    encoding="utf-8")
    return perfsim.load(path), perfsim.load(SCENARIOS / "weighting_comparison.yaml")


def test_national_target_from_the_file_is_the_kernels_and_set_agrees(national_target):
    with_target, bundled = national_target
    system = bundled.system
    meas = bundled.portfolio.measurements()
    # the directions of the national template's leaves: the two cost items are lower-is-better
    lower = {"OUT.COST.1", "OUT.COST.2"}
    for group, target in (("OUT", OUT_TARGET), ("BEN", BEN_TARGET)):
        codes = list(target)
        cols = [system.codes.index(c) for c in codes]
        x = np.column_stack([np.asarray(meas[c], dtype=float) * (-1 if c in lower else 1)
                             for c in codes])
        t = np.array(list(target.values()), dtype=float)
        w = with_target.system.points[cols]
        assert w.sum() == pytest.approx(system.points[cols].sum())
        assert w / w.sum() == pytest.approx(optimised_weights(x, ["higher"] * len(codes),
                                                              target=t), abs=1e-9)
        assert miss(x, w, t) < miss(x, np.ones(len(codes)), t), group
    # the same scheme set by its YAML path on the bundled scenario
    again = bundled.set({"weighting.leaves.method": {
        "method": "optimised", "target": {**OUT_TARGET, **BEN_TARGET}}})
    assert again.system.points == pytest.approx(with_target.system.points, abs=1e-9)


def test_a_group_the_target_leaves_out_keeps_equal_importance(national_target):
    _, bundled = national_target
    system = bundled.system
    out_only = bundled.set({"weighting.leaves.method": {"method": "optimised",
                                                        "target": OUT_TARGET}})
    equal = bundled.set({"weighting.leaves.method": "optimised"})
    ben = [system.codes.index(c) for c in BEN_TARGET]
    out = [system.codes.index(c) for c in OUT_TARGET]
    assert out_only.system.points[ben] == pytest.approx(equal.system.points[ben], abs=1e-9)
    assert not np.allclose(out_only.system.points[out], equal.system.points[out], atol=0.5)


# --- bad targets ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("args", "expect"), [
    (["--target", "A.1.1=1,Z.9=2"], ["'target' = 'Z.9'", "不是 tiny 的末级指标"]),
    (["--target", "A.1.1=1,A.1.2=-1,A.2=1"], ["'target.A.1.2' = -1", "必须是 ≥ 0 的数"]),
    (["--target", "A.1.1=1,A.1.2=lots,A.2=1"], ["'target.A.1.2' = 'lots'", "必须是 ≥ 0 的数"]),
    (["--target", "A.1.1=1,A.1.2=2"],
     ["'target' = 'A.2'", "目标中缺少此项：组 A 的末级指标须全部给出或全部不给"]),
    (["--target", "A.1.1=0,A.1.2=0,A.2=0"], ["[0.0, 0.0, 0.0]", "组 A 的目标全为 0"]),
    (["--target", "1,2,3"], ["'target' = '3 numbers'", "须按文件顺序为每个末级指标给出一个数"]),
    (["--target", "1,A.2=2"], ["'--target' = '1,A.2=2'", "不要混用"]),
    (["--target", "A=1,B=1", "--level", "groups"],
     ["'target' = 'C'", "目标中缺少此项：须给出每个一级指标"]),
    (["--target", "A=1,Q=1,C=1", "--level", "groups"],
     ["'target' = 'Q'", "不是 tiny 的一级指标编码"]),
    (["--target", "0,0,0", "--level", "groups"], ["目标全为 0"]),
    (["--target", "1,2,3", "--method", "entropy"],
     ["'target'", "只适用于 optimised weights", "不适用于方法 entropy"]),
])
def test_bad_targets_are_one_bilingual_line(args, expect, forty, capsys):
    argv = ["weights", "--system", str(TINY), "--portfolio", forty, "--method", "optimised",
            "--level", "leaves", *args]
    assert main(argv) == 2
    line = one_error_line(capsys)
    for text in expect:
        assert text in line, line
    if "不要混用" not in expect[-1]:
        assert "weighting " in line   # the tier is named


def test_a_target_that_is_neither_list_nor_mapping_names_the_scenario_file(tmp_path, forty,
                                                                           capsys):
    path = tmp_path / "bad.yaml"
    path.write_text(f"name: bad\nseed: 1\nindicator_system: {TINY}\n"
                    f"portfolio: {{file: {forty}}}\n"
                    "grading: {labels: national, cutoffs: [90, 80, 60]}\n"
                    "linkage: {rule: liupanshui, ratio: 0.15, pool: treasury}\n"
                    "weighting: {leaves: {method: optimised, target: equal}}\n",
                    encoding="utf-8")
    assert main(["run", str(path), "--out", str(tmp_path / "out")]) == 2
    line = one_error_line(capsys)
    assert str(path) in line
    assert "'target' = 'equal'" in line
    assert "必须是按文件顺序排列的数字列表，或编码到数字的映射" in line


def test_target_is_refused_where_the_tier_is_not_optimised():
    with pytest.raises(InputError, match="only applies to optimised"):
        parse_weighting({"leaves": {"method": "combined", "objective": "entropy",
                                    "target": [1, 2]}})
    # combined with objective: optimised takes it
    spec = parse_weighting({"leaves": {"method": "combined", "objective": "optimised",
                                       "target": [1, 2]}})
    assert spec.leaves.target.values == (1.0, 2.0)


def test_combined_with_no_subjective_share_is_the_optimised_target(forty):
    system = load_indicator_system(TINY)
    portfolio = load_portfolio(forty, system)
    target = {"A.1.1": 1, "A.1.2": 1, "A.2": 3}
    alone = apply_weighting(system, {"leaves": {"method": "optimised", "target": target}},
                            portfolio)
    blended = apply_weighting(system, {"leaves": {"method": "combined", "objective": "optimised",
                                                  "alpha": 0, "target": target}}, portfolio)
    assert blended.points == pytest.approx(alone.points, abs=1e-9)
    half = apply_weighting(system, {"leaves": {"method": "combined", "objective": "optimised",
                                               "alpha": 0.5, "target": target}}, portfolio)
    cols = [system.codes.index(c) for c in target]
    file_shares = system.points[cols] / system.points[cols].sum()
    opt_shares = alone.points[cols] / alone.points[cols].sum()
    got = half.points[cols] / half.points[cols].sum()
    assert got == pytest.approx(0.5 * file_shares + 0.5 * opt_shares, abs=1e-9)
