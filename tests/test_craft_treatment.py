"""Treatment before weighting (perfsim.kernel.treatment and the `treatment:` option of a
weighting tier): hand-worked quantiles and logs, COINr's skew/kurtosis rule against a literal
step-by-step re-implementation, the direction in which winsorising moves entropy weights, and the
one-line errors."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from perfsim.cli import main
from perfsim.errors import InputError
from perfsim.kernel import treatment as tr
from perfsim.kernel import weighting as wt
from perfsim.model.scenario import load_scenario
from perfsim.model.weighting_spec import parse_weighting
from perfsim.model.weights import apply_weighting, treatment_frame, weights_frame

ROOT = Path(__file__).resolve().parent.parent
COMPARISON = ROOT / "datasets" / "scenarios" / "weighting_comparison.yaml"


@pytest.fixture(scope="module")
def comparison():
    return load_scenario(COMPARISON)


def test_winsorise_quantile_hand_case():
    # 11 values 1..10 and 100: numpy's linear quantile at 0.9 sits at position 0.9 × 10 = 9,
    # the value 10; at 0.1 at position 1, the value 2. So 100 → 10 and 1 → 2.
    x = np.array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 100], dtype=float)
    y = tr.winsorise_quantile(x, 0.1, 0.9)
    assert y.tolist() == [2, 2, 3, 4, 5, 6, 7, 8, 9, 10, 10]
    # lower 0 leaves the low side alone
    assert tr.winsorise_quantile(x, 0.0, 0.9).tolist()[0] == 1.0


def test_log_transform_hand_case():
    x = np.array([0.0, 1.0, 3.0, 20.0])
    np.testing.assert_allclose(tr.log_transform(x, 1.0), [0.0, math.log(2), math.log(4),
                                                          math.log(21)])
    # negative skew mirrors: −ln(max − x + 1), still increasing in x
    np.testing.assert_allclose(tr.log_transform(x, -1.0), [-math.log(21), -math.log(20),
                                                           -math.log(18), 0.0])


def _coinr_loop(x, skew=2.0, kurt=3.5, max_points=5):
    """COINr's rule written literally: while the column is skewed, replace its most extreme
    value on the side of the skew by the most extreme of the others (no sorting)."""
    y = np.array(x, dtype=float)
    done = 0
    while done < max_points:
        s = stats.skew(y, bias=False)
        k = stats.kurtosis(y, bias=False)
        if not (abs(s) > skew and k > kurt):
            break
        if s > 0:
            top = y.max()
            y[y == top] = y[y < top].max()
        else:
            bottom = y.min()
            y[y == bottom] = y[y > bottom].min()
        done += 1
    return y


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_auto_rule_matches_a_literal_loop(seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(10, 1, 60)
    x[:3] = [40, 55, 70] if seed % 2 == 0 else [-40, -55, -70]  # three outliers on one side
    got, n_low, n_high = tr.winsorise_auto(x, max_points=5)
    want = _coinr_loop(x)
    np.testing.assert_array_equal(got, want)
    assert (n_low == 0) == (seed % 2 == 0) and n_low + n_high >= 1


def test_auto_falls_back_to_log_and_records_it():
    # a long-tailed count: five winsorised points cannot cure 200 lognormal values' skew
    x = np.random.default_rng(5).lognormal(0, 2.0, 200)[:, None]
    rec = tr.treat(x, {"method": "auto"}, ["DAYS"])
    (c,) = rec.columns
    assert c.applied == "log" and c.skew_before > 2
    np.testing.assert_allclose(rec.X[:, 0], np.log(x[:, 0] - x.min() + 1.0))
    rec2 = tr.treat(x, {"method": "auto", "fallback": "none"}, ["DAYS"])
    assert rec2.columns[0].applied == "winsorise" and rec2.columns[0].n_high == 5
    assert rec2.columns[0].still_skewed


def test_winsorising_moves_entropy_weight_in_the_documented_direction():
    # Documented: under min–max entropy a tail of GOOD values concentrates the normalised mass
    # on a few projects (high weight) and winsorising it lowers the weight; a tail of BAD
    # values squeezes everyone else together at the good end (low weight) and winsorising it
    # raises the weight.
    rng = np.random.default_rng(11)
    X = np.column_stack([rng.normal(50, 10, 400), rng.lognormal(0, 1.2, 400),
                         rng.normal(5, 1, 400)])
    opts = [{"method": "none"}, {"method": "winsorise", "lower": 0, "upper": 0.95},
            {"method": "none"}]
    Xw = tr.treat(X, opts).X
    good_tail = ["higher", "higher", "higher"]
    bad_tail = ["higher", "lower", "higher"]
    assert wt.entropy_weights(Xw, good_tail)[1] < wt.entropy_weights(X, good_tail)[1]
    assert wt.entropy_weights(Xw, bad_tail)[1] > wt.entropy_weights(X, bad_tail)[1]


def test_comparison_portfolio_skewed_cost_leaf_gains_entropy_weight(comparison):
    # OUT.COST.1 (项目成本控制率, lower is better) has a long tail of overruns (skewness 1.4):
    # winsorising its top 5% must raise its entropy weight (the documented direction).
    sys_, pf = comparison.system, comparison.portfolio
    before = weights_frame(apply_weighting(sys_, {"leaves": "entropy"}, pf)).set_index("code")
    block = {"leaves": {"method": "entropy", "treatment": {
        "method": "none",
        "indicators": {"OUT.COST.1": {"method": "winsorise", "lower": 0, "upper": 0.95}}}}}
    after = weights_frame(apply_weighting(sys_, block, pf)).set_index("code")
    assert after.loc["OUT.COST.1", "points"] > before.loc["OUT.COST.1", "points"]
    # the other groups are untouched (treatment only changes the OUT group's data; the total
    # is kept exact, which may move the last bits)
    np.testing.assert_allclose(after.loc["BEN.ECO.1":, "points"],
                               before.loc["BEN.ECO.1":, "points"], rtol=1e-9)
    rec = treatment_frame(sys_, block, pf).set_index("code")
    assert rec.loc["OUT.COST.1", "applied"] == "winsorise"
    assert rec.loc["OUT.COST.1", "n_high"] >= 0.04 * len(pf.table)
    assert (rec.drop("OUT.COST.1")["applied"] == "none").all()
    assert rec.loc["OUT.COST.1", "skew_after"] < rec.loc["OUT.COST.1", "skew_before"]


def test_treated_weights_equal_weights_of_the_treated_matrix(comparison):
    # apply_weighting with treatment = the kernel on the treated matrix, to the last bit
    from perfsim.model.weights import project_data

    sys_, pf = comparison.system, comparison.portfolio
    data = project_data(sys_, pf, None)
    cols = np.flatnonzero(sys_.level1_index == 0)  # OUT
    codes = [sys_.codes[k] for k in cols]
    Xt = tr.treat(data.X[:, cols], {"method": "log"}, codes).X
    w = wt.critic_weights(Xt, [data.directions[k] for k in cols])
    got = apply_weighting(sys_, {"leaves": {"method": "critic", "treatment": "log"}}, pf)
    out_total = sys_.points[cols].sum()
    np.testing.assert_allclose(got.points[cols], w * out_total, rtol=1e-12)


@pytest.mark.parametrize("block, needle", [
    ({"leaves": {"method": "entropy", "treatment": "trim"}}, "'method' = 'trim'"),
    ({"leaves": {"method": "entropy", "treatment": {"method": "winsorise", "lower": 0.9,
                                                    "upper": 0.1}}}, "'upper' = 0.1"),
    ({"leaves": {"method": "entropy", "treatment": {"method": "auto", "max_points": -1}}},
     "'max_points' = -1"),
    ({"leaves": {"method": "entropy", "treatment": {"method": "auto", "skew": "big"}}},
     "'skew' = 'big'"),
    ({"leaves": {"method": "entropy", "treatment": {"method": "auto", "fallback": "drop"}}},
     "'fallback' = 'drop'"),
    ({"leaves": {"method": "entropy", "treatment": {"methd": "auto"}}}, "field 'methd'"),
    ({"leaves": {"method": "expert", "treatment": "auto"}}, "only applies to objective"),
])
def test_bad_treatment_is_one_line(block, needle):
    with pytest.raises(InputError) as exc:
        parse_weighting(block, source="s.yaml")
    msg = str(exc.value)
    assert needle in msg and "\n" not in msg and msg.startswith("s.yaml")


def test_unknown_treatment_code_names_it(comparison):
    block = {"leaves": {"method": "entropy", "treatment": {"method": "none",
                                                         "indicators": {"NOPE": "log"}}}}
    with pytest.raises(InputError, match="'code' = 'NOPE': 不是 .* / not a leaf"):
        apply_weighting(comparison.system, block, comparison.portfolio)


def test_cli_weights_treatment(capsys):
    code = main(["weights", "--scenario", str(COMPARISON), "--method", "entropy", "--level",
                 "leaves", "--treatment", "winsorise", "--format", "csv"])
    out = capsys.readouterr().out
    assert code == 0 and out.startswith("code,weight")
    assert main(["weights", "--scenario", str(COMPARISON), "--method", "entropy",
                 "--treatment", "trim"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'method' = 'trim'" in err


def test_comparison_portfolio_disbursement_leaf_gains_entropy_weight(comparison):
    # OUT.TIME.2 (资金拨付及时率, higher is better) has a tail of LOW (bad) values: winsorising
    # its bottom 5% must raise its entropy weight
    sys_, pf = comparison.system, comparison.portfolio
    before = weights_frame(apply_weighting(sys_, {"leaves": "entropy"}, pf)).set_index("code")
    block = {"leaves": {"method": "entropy", "treatment": {
        "method": "none",
        "indicators": {"OUT.TIME.2": {"method": "winsorise", "lower": 0.05, "upper": 1}}}}}
    after = weights_frame(apply_weighting(sys_, block, pf)).set_index("code")
    assert after.loc["OUT.TIME.2", "points"] > before.loc["OUT.TIME.2", "points"]
    rec = treatment_frame(sys_, block, pf).set_index("code").loc["OUT.TIME.2"]
    assert rec["n_low"] > 0 and rec["n_high"] == 0 and math.isnan(rec["high_cut"])


def test_group_tier_treatment_reads_level1_codes(comparison):
    # at the groups tier the columns are the level-1 groups' attainment shares; a treatment
    # named by level-1 code changes the group weights exactly as the kernel on those columns
    from perfsim.model.weights import project_data

    sys_, pf = comparison.system, comparison.portfolio
    block = {"groups": {"method": "critic", "treatment": {"method": "none",
                                                          "indicators": {"SAT": "log"}}}}
    got = weights_frame(apply_weighting(sys_, block, pf), "groups").set_index("code")["share"]
    d = project_data(sys_, pf, None)
    idx = sys_.level1_index
    pts = sys_.points
    G = np.column_stack([(d.attainment[:, idx == g] * pts[idx == g]).sum(axis=1)
                         / pts[idx == g].sum() for g in range(len(sys_.level1_codes))])
    k = sys_.level1_codes.index("SAT")
    G[:, k] = np.log(G[:, k] - G[:, k].min() + 1.0) if tr.skew_kurtosis(G[:, [k]])[0][0] >= 0 \
        else -np.log(G[:, k].max() - G[:, k] + 1.0)
    want = wt.critic_weights(G, ["higher"] * G.shape[1])
    np.testing.assert_allclose(got[list(sys_.level1_codes)], want, rtol=1e-10)
    with pytest.raises(InputError, match="not a level-1 code"):
        apply_weighting(sys_, {"groups": {"method": "critic", "treatment": {
            "method": "none", "indicators": {"OUT.QTY.1": "log"}}}}, pf)
    assert "treated data (none; SAT: log)" in parse_weighting(block).describe()
