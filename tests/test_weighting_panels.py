"""AHP expert panels (perfsim.kernel.weighting.ahp_panel, the `panel:`/`ri_table:` options):
the combined matrix against a hand-computed geometric mean, the judgements/priorities identity
on consistent experts, the two random-index tables, the most inconsistent judgement against a
brute-force search over Saaty's scale, and the one-line errors."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from perfsim.cli import main
from perfsim.errors import InputError
from perfsim.kernel import weighting as wt
from perfsim.model.indicators import load_indicator_system
from perfsim.model.weighting_spec import parse_weighting
from perfsim.model.weights import apply_weighting, weights_frame

ROOT = Path(__file__).resolve().parent.parent
NATIONAL = ROOT / "datasets" / "indicator_systems" / "national_project_self_eval.yaml"


def consistent(w):
    w = np.asarray(w, float)
    return w[:, None] / w[None, :]


def test_combined_matrix_is_the_geometric_mean_of_judgements():
    A = np.array([[1, 2, 3], [1 / 2, 1, 1 / 2], [1 / 3, 2, 1]])
    B = np.array([[1, 8, 1 / 3], [1 / 8, 1, 2], [3, 1 / 2, 1]])
    # by hand: √(2·8) = 4, √(3·1/3) = 1, √(1/2·2) = 1
    hand = np.array([[1, 4, 1], [1 / 4, 1, 1], [1, 1, 1]])
    res = wt.ahp_panel([A, B], cr_limit=None)
    np.testing.assert_allclose(res.matrix, hand, rtol=1e-12)
    np.testing.assert_allclose(res.weights, wt.ahp_weights(hand, None).weights, rtol=1e-12)
    assert res.combined.cr == pytest.approx(wt.ahp_weights(hand, None).cr)
    assert [e.cr for e in res.experts] == [wt.ahp_weights(A, None).cr,
                                          wt.ahp_weights(B, None).cr]


def test_consistent_experts_judgements_equal_priorities():
    # consistent experts: the geometric mean of judgements is consistent with the geometric
    # mean of the weight vectors, so both aggregations give GM(w) / Σ GM(w)
    ws = [[0.5, 0.3, 0.2, 0.1], [0.2, 0.2, 0.4, 0.2], [0.1, 0.6, 0.2, 0.1]]
    mats = [consistent(w) for w in ws]
    gm = np.exp(np.log(np.array(ws)).mean(axis=0))
    want = gm / gm.sum()
    for how in ("judgements", "priorities"):
        res = wt.ahp_panel(mats, how=how)
        np.testing.assert_allclose(res.weights, want, rtol=1e-10)
    assert wt.ahp_panel(mats, how="priorities").matrix is None


def test_priorities_hand_case():
    A = consistent([2, 1])  # weights 2/3, 1/3
    B = consistent([1, 2])  # 1/3, 2/3
    res = wt.ahp_panel([A, B], how="priorities")
    np.testing.assert_allclose(res.weights, [0.5, 0.5])  # √(2/9) each


def test_ri_tables():
    M = np.array([[1, 2, 4, 1 / 3], [1 / 2, 1, 2, 3], [1 / 4, 1 / 2, 1, 1 / 2],
                  [3, 1 / 3, 2, 1]])
    s = wt.ahp_weights(M, None, ri_table="saaty1980")
    a = wt.ahp_weights(M, None, ri_table="alonso_lamata")
    assert (s.ri, a.ri) == (0.90, 0.8816)
    assert a.cr == pytest.approx(s.ci / 0.8816) and s.cr == pytest.approx(s.ci / 0.90)
    assert wt.ALONSO_LAMATA_RI[3] == 0.5247 and wt.SAATY_RI[3] == 0.58
    with pytest.raises(InputError, match="'ri_table' = 'ahpy'"):
        wt.ahp_weights(M, None, ri_table="ahpy")


def test_most_inconsistent_judgement_against_brute_force():
    # consistent with w = (8, 4, 2, 1) except a_14, given as 1/8 instead of 8
    M = consistent([8, 4, 2, 1])
    M[0, 3], M[3, 0] = 1 / 8, 8.0
    j = wt.inconsistent_judgement(M, 0.1, codes=["A", "B", "C", "D"])
    assert (j.row, j.column, j.value) == ("A", "D", 1 / 8)
    # the suggestion brings the CR exactly to the limit …
    fixed = M.copy()
    fixed[0, 3], fixed[3, 0] = j.suggestion, 1 / j.suggestion
    assert wt.ahp_weights(fixed, None).cr == pytest.approx(0.1, abs=1e-9)
    # … and is the closest such value: just before it (towards 1/8) the CR is above the limit
    before = fixed.copy()
    x = j.suggestion * 0.99
    before[0, 3], before[3, 0] = x, 1 / x
    assert wt.ahp_weights(before, None).cr > 0.1
    # the scale value: brute force over Saaty's 17 values, the closest (in ratio) to 1/8 with
    # CR <= 0.1
    def cr(v):
        t = M.copy()
        t[0, 3], t[3, 0] = v, 1 / v
        return wt.ahp_weights(t, None).cr

    scale = [1 / k for k in range(9, 1, -1)] + list(range(1, 10))
    ok = [v for v in scale if cr(v) <= 0.1]
    assert j.scale_value == min(ok, key=lambda v: abs(math.log(v) - math.log(1 / 8)))


def test_cr_error_names_the_judgement_and_the_fix():
    M = consistent([8, 4, 2, 1])
    M[0, 3], M[3, 0] = 1 / 8, 8.0
    with pytest.raises(InputError) as exc:
        wt.ahp_weights(M, 0.1, codes=["A", "B", "C", "D"])
    msg = str(exc.value)
    assert "row A, column D = 1/8" in msg and "the CR reaches the limit at" in msg
    assert "\n" not in msg


def write(path: Path, codes, M) -> str:
    rows = [",".join(["", *codes])]
    for c, r in zip(codes, M, strict=True):
        rows.append(",".join([c, *(repr(float(v)) for v in r)]))
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return str(path)


def test_panel_in_a_weighting_block(tmp_path):
    system = load_indicator_system(NATIONAL)
    codes = ["OUT", "BEN", "SAT", "EXEC"]
    e1 = consistent([5, 3, 1, 1])
    e2 = consistent([4, 4, 1, 1])
    f1, f2 = write(tmp_path / "e1.csv", codes, e1), write(tmp_path / "e2.csv", codes, e2)
    spec = parse_weighting({"groups": {"method": "ahp", "matrix_file": [f1, f2]}})
    got = weights_frame(apply_weighting(system, spec), "groups").set_index("code")["share"]
    gm = np.sqrt(np.array([5, 3, 1, 1]) / 10 * np.array([4, 4, 1, 1]) / 10)
    np.testing.assert_allclose(got[codes], gm / gm.sum(), rtol=1e-10)
    # inline: a list of matrices is a panel; priorities give the same on consistent experts
    inline = {"groups": {"method": "ahp", "matrix": [e1.tolist(), e2.tolist()], "codes": codes,
                         "panel": "priorities", "ri_table": "alonso_lamata"}}
    got2 = weights_frame(apply_weighting(system, inline), "groups").set_index("code")["share"]
    np.testing.assert_allclose(got2[codes], gm / gm.sum(), rtol=1e-10)


def test_leaf_tier_panel_per_group():
    system = load_indicator_system(NATIONAL)
    # BEN has 6 leaves; two experts, consistent
    w1, w2 = [1, 2, 3, 1, 2, 3], [3, 2, 1, 3, 2, 1]
    block = {"leaves": {"method": "ahp", "matrix": {"BEN": [consistent(w1).tolist(),
                                                           consistent(w2).tolist()]}}}
    pts = weights_frame(apply_weighting(system, block)).set_index("code")
    ben = pts[pts["group"] == "BEN"]["points"]
    gm = np.sqrt(np.array(w1, float) * np.array(w2, float))
    np.testing.assert_allclose(ben, 30 * gm / gm.sum(), rtol=1e-10)


def test_panel_cr_error_names_file_expert_and_judgement(tmp_path):
    system = load_indicator_system(NATIONAL)
    codes = ["OUT", "BEN", "SAT", "EXEC"]
    bad = consistent([8, 4, 2, 1])
    bad[0, 3], bad[3, 0] = 1 / 8, 8.0
    f = write(tmp_path / "bad.csv", codes, bad)
    g = write(tmp_path / "good.csv", codes, consistent([8, 4, 2, 1]))
    block = {"groups": {"method": "ahp", "matrix_file": [g, f], "panel": "priorities"}}
    with pytest.raises(InputError) as exc:
        apply_weighting(system, parse_weighting(block, source="s.yaml"))
    msg = str(exc.value)
    assert msg.startswith(f) and "weighting groups" in msg and "row OUT, column EXEC" in msg
    assert "expert 2" in msg
    # judgements: only the combined matrix is held to the limit
    block["groups"]["panel"] = "judgements"
    with pytest.raises(InputError, match="combined matrix"):
        apply_weighting(system, parse_weighting(block, source="s.yaml"))


@pytest.mark.parametrize("block, needle", [
    ({"groups": {"method": "ahp", "matrix": [[1]], "panel": "mean"}}, "'panel' = 'mean'"),
    ({"groups": {"method": "ahp", "matrix": [[1]], "ri_table": "dd"}}, "'ri_table' = 'dd'"),
    ({"groups": {"method": "entropy", "panel": "priorities"}}, "only applies to AHP"),
])
def test_bad_panel_options_one_line(block, needle):
    with pytest.raises(InputError) as exc:
        parse_weighting(block, source="s.yaml")
    assert needle in str(exc.value) and "\n" not in str(exc.value)


def test_cli_weights_panel(tmp_path, capsys):
    codes = ["OUT", "BEN", "SAT", "EXEC"]
    f1 = write(tmp_path / "e1.csv", codes, consistent([5, 3, 1, 1]))
    f2 = write(tmp_path / "e2.csv", codes, consistent([4, 4, 1, 1]))
    assert main(["weights", "--method", "ahp", "--matrix", f1, "--matrix", f2,
                 "--ri-table", "alonso_lamata", "--format", "csv"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    got = {r.split(",")[0]: float(r.split(",")[1]) for r in out[1:]}
    gm = np.sqrt(np.array([5, 3, 1, 1]) / 10 * np.array([4, 4, 1, 1]) / 10)
    assert got["OUT"] == pytest.approx(100 * gm[0] / gm.sum())
    assert main(["weights", "--method", "ahp", "--matrix", f1, "--panel", "median"]) == 2
    assert "'panel' = 'median'" in capsys.readouterr().err
