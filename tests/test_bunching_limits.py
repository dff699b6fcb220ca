"""Bunching that knows its limits: a warning when the movers come from beyond the window, the
window chosen from the data, placebo lines where no money changes, department intervals with
Benjamini–Hochberg flags, and the smallest pile the portfolio's size can detect."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import SCENARIOS, one_error_line
from scipy import stats
from statsmodels.stats.multitest import multipletests

import perfsim
from perfsim.analyse.bunching import bunching, placebo_lines
from perfsim.cli import main


def smooth(seed: int, n: int = 20_000) -> np.ndarray:
    """Smooth scores: a normal density (mean 78, sd 9) cut to [40, 100)."""
    rng = np.random.default_rng(seed)
    s = rng.normal(78, 9, n)
    return s[(s >= 40) & (s < 100)]


def moved_onto(scores: np.ndarray, delta: float, seed: int, line: float = 80.0):
    """Every score within ``delta`` points below ``line`` put on the line (in its first
    point); the scores and how many moved."""
    rng = np.random.default_rng(seed + 1000)
    s = scores.copy()
    m = (s >= line - delta) & (s < line)
    s[m] = rng.uniform(line, line + 0.999, m.sum())
    return s, int(m.sum())


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_reach_beyond_the_window_warns(seed):
    # δ = 4 with the default 3-point window: the bin [76, 77) is emptied, outside the window
    scores, moved = moved_onto(smooth(seed), 4, seed)
    est = bunching(scores, cutoffs=[80, 60], placebo=[90], draws=50, seed=seed)
    assert len(est.warnings) == 1
    assert est.warnings[0].startswith("80 分线")
    assert "line 80" in est.warnings[0] and "widen the window" in est.warnings[0]
    row = est.table.set_index("cutoff").loc[80]
    assert row["warning"] == est.warnings[0]
    # 4 points' worth of movers: the estimate is biased up, outside its own interval
    assert row["excess_low"] > moved


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_reach_inside_the_window_does_not_warn_and_is_recovered(seed):
    scores, moved = moved_onto(smooth(seed), 2, seed)
    est = bunching(scores, cutoffs=[80, 60], placebo=[90], draws=100, seed=seed)
    assert est.warnings == ()
    row = est.table.set_index("cutoff").loc[80]
    assert row["warning"] == ""
    assert row["excess_low"] <= moved <= row["excess_high"]
    assert row["b_points_low"] <= 2 <= row["b_points_high"]


def test_the_window_chosen_from_the_data_covers_the_reach():
    scores, moved = moved_onto(smooth(0), 4, 0)
    est = bunching(scores, cutoffs=[80, 60], placebo=[90], below="auto", draws=100)
    assert est.warnings == ()
    assert est.settings["below"] >= 4
    assert est.settings["below_chosen_from"] == "data"
    row = est.table.set_index("cutoff").loc[80]
    assert row["excess_low"] <= moved <= row["excess_high"]


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_the_placebo_at_90_holds_zero_on_smooth_data(seed):
    scores, _ = moved_onto(smooth(seed), 2, seed)
    est = bunching(scores, cutoffs=[80, 60], placebo=[90], draws=100, seed=seed)
    assert est.placebo["cutoff"].tolist() == [90.0]
    p = est.placebo.iloc[0]
    assert p["excess_low"] <= 0 <= p["excess_high"]
    # near zero: well under the pile at 80 (a 2-point reach, some 1,700 projects)
    assert abs(p["excess"]) < 0.05 * est.table.set_index("cutoff").loc[80, "excess"]
    # the placebo line is estimated but never warns, and is not a cutoff of the estimate
    assert est.settings["cutoffs"] == [60.0, 80.0] and est.settings["placebo"] == [90.0]


def test_the_placebo_lines_of_a_rule_that_only_cuts_the_middle_grade():
    # Liupanshui 2022: 优 and 良 are funded in full, 中 is cut 15%, 差 cancelled: crossing 90
    # changes no money, crossing 80 or 60 does
    sc = perfsim.load(SCENARIOS / "liupanshui_2022.yaml")
    assert placebo_lines(sc) == [90.0]


def test_the_smallest_detectable_pile_is_detected_at_about_the_stated_power():
    # the stated size from a portfolio with no pile; then piles of that size put at 80 (a
    # share of the projects in [77, 80) moved onto it) are detected (interval above 0) in
    # about 80% of seeds, and a pile a third as large much less often
    base = bunching(smooth(99, 4000), cutoffs=[80], draws=100, seed=1)
    size = int(round(base.table.loc[0, "min_detectable"]))
    assert size > 0

    def detected(pile: int, seed: int) -> bool:
        rng = np.random.default_rng(seed)
        s = smooth(seed, 4000)
        near = np.nonzero((s >= 77) & (s < 80))[0]
        movers = rng.choice(near, pile, replace=False)
        s[movers] = rng.uniform(80, 82, pile)
        return bool(bunching(s, cutoffs=[80], draws=100, seed=seed).table.loc[0, "excess_low"]
                    > 0)

    full = np.mean([detected(size, seed) for seed in range(30)])
    third = np.mean([detected(size // 3, seed) for seed in range(30)])
    assert full >= 0.6
    assert third < full


def test_benjamini_hochberg_by_hand_matches_statsmodels():
    p = np.array([0.01, 0.04, 0.03, 0.20, 0.005])
    # sorted 0.005, 0.01, 0.03, 0.04, 0.20; p·m/i = 0.025, 0.025, 0.05, 0.05, 0.20; the
    # running minimum from the top gives the adjusted values; at q = 0.05 the largest i with
    # p(i) <= i·q/m is i = 4 (0.04 <= 0.04): the four smallest are rejected
    reject, adjusted = multipletests(p, alpha=0.05, method="fdr_bh")[:2]
    assert adjusted == pytest.approx([0.025, 0.05, 0.05, 0.20, 0.025])
    assert reject.tolist() == [True, True, True, False, True]


def departments_portfolio(seed: int, honest: int = 30, gaming: int = 10):
    """Departments of 150–250 projects on one smooth density; the ``gaming`` ones move each
    of their scores in [77, 80) onto [80, 81) with probability 0.7."""
    rng = np.random.default_rng(seed)
    names = [f"H{i:02d}" for i in range(honest)] + [f"G{i:02d}" for i in range(gaming)]
    sizes = rng.integers(150, 251, len(names))
    deps = np.repeat(np.array(names, dtype=object), sizes)
    s = np.clip(rng.normal(78, 9, deps.size), 40, 99.99)
    gaming_mask = np.char.startswith(deps.astype(str), "G")
    m = gaming_mask & (s >= 77) & (s < 80) & (rng.random(s.size) < 0.7)
    s[m] = rng.uniform(80, 81, m.sum())
    return s, deps


def test_department_flags_are_benjamini_hochberg_on_binomial_p_values():
    s, deps = departments_portfolio(0)
    est = bunching(s, cutoffs=[80], departments=deps, draws=50, seed=0)
    d = est.departments
    assert set(d["cutoff"]) == {80.0}
    # the p-value: a department's count in [80, 82) against Binomial(projects, share of the
    # counterfactual in the window), one-sided
    over = est.bins[(est.bins["low"] >= 80) & (est.bins["low"] < 82)]
    p0 = over["counterfactual"].sum() / est.settings["scores"]
    for _, r in d.iterrows():
        want = stats.binomtest(int(r["observed"]), int(r["projects"]), p0,
                               alternative="greater").pvalue
        assert r["p_value"] == pytest.approx(want, rel=1e-6)
    # the step-up procedure by hand: reject the k smallest, k the largest i with p(i) <= i·q/m
    p = d["p_value"].to_numpy()
    order = np.argsort(p)
    m = p.size
    passing = np.nonzero(p[order] <= 0.05 * np.arange(1, m + 1) / m)[0]
    hand = np.zeros(m, dtype=bool)
    if passing.size:
        hand[order[: passing[-1] + 1]] = True
    hand &= (d["observed"] > d["expected"]).to_numpy()
    assert d["flagged"].tolist() == hand.tolist()
    # intervals around each department's excess
    assert (d["excess_low"] <= d["excess"]).all() and (d["excess"] <= d["excess_high"]).all()
    # the flags find the gaming departments, not the honest ones
    gaming = d["department"].str.startswith("G")
    assert d.loc[gaming, "flagged"].sum() > d.loc[~gaming, "flagged"].sum()


def test_honest_departments_are_flagged_at_most_at_the_nominal_fdr():
    fdp, found = [], []
    for seed in range(40):
        s, deps = departments_portfolio(seed)
        d = bunching(s, cutoffs=[80], departments=deps, draws=0, seed=seed).departments
        flagged = d[d["flagged"]]
        false = flagged["department"].str.startswith("H").sum()
        fdp.append(false / max(len(flagged), 1))
        found.append(flagged["department"].str.startswith("G").sum())
    # BH at q = 0.05 holds the expected false discovery proportion at q·m0/m = 0.0375
    assert np.mean(fdp) <= 0.05
    # and still finds most of the ten gaming departments
    assert np.mean(found) > 5


def test_cli_warns_at_four_points_and_reports_the_placebo(tmp_path, capsys):
    scores, _ = moved_onto(smooth(0, 8000), 4, 0)
    f = tmp_path / "scores.csv"
    pd.DataFrame({"score": scores.round(3)}).to_csv(f, index=False)
    rc = main(["bunching", str(f), "--scenario",
               str(SCENARIOS / "liupanshui_2022.yaml"), "--draws", "50"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "警告 warning: 80 分线" in out and "line 80" in out
    assert "安慰剂 placebo" in out and "liupanshui_2022.yaml" in out
    placebo_block = out.split("安慰剂 placebo")[1].splitlines()
    assert placebo_block[2].split()[0] == "90.0"


def test_cli_json_has_the_placebo_and_the_warning(tmp_path, capsys):
    scores, _ = moved_onto(smooth(1, 8000), 4, 1)
    f = tmp_path / "scores.csv"
    pd.DataFrame({"score": scores.round(3)}).to_csv(f, index=False)
    rc = main(["bunching", str(f), "--placebo", "90", "--draws", "20", "--json"])
    import json
    doc = json.loads(capsys.readouterr().out)
    assert rc == 0
    assert [r["cutoff"] for r in doc["table"] if r["placebo"]] == [90.0]
    assert len(doc["warnings"]) == 1 and doc["placebo_from"] == "--placebo"


def test_cli_bad_score_is_one_line_naming_row_and_column(tmp_path, capsys):
    f = tmp_path / "scores.csv"
    rows = [f"{70 + (i % 25)}" for i in range(40)]
    rows[6] = "abc"
    f.write_text("score\n" + "\n".join(rows) + "\n", encoding="utf-8")
    assert main(["bunching", str(f)]) == 2
    line = one_error_line(capsys)
    assert "scores.csv" in line and "row 8" in line and "'score' = 'abc'" in line
    assert "必须是 0 到 100 之间的分数" in line


def test_cli_missing_column_is_one_line(tmp_path, capsys):
    f = tmp_path / "scores.csv"
    f.write_text("points\n" + "\n".join(str(70 + i % 20) for i in range(30)) + "\n",
                 encoding="utf-8")
    assert main(["bunching", str(f)]) == 2
    line = one_error_line(capsys)
    assert "'score'" in line and "缺少必需的列" in line


@pytest.mark.parametrize("most, warns", [(3.0, False), (4.0, True)])
def test_strategic_units_reaching_past_the_window_are_warned_of(most, warns):
    """On the Liupanshui scenario, units that may add up to ``most`` points (10% checks, a
    20-point penalty on inflation found) pile 中 projects at 80: a 3-point window holds a
    3-point reach without a warning and warns of a 4-point one; the window chosen from the
    data then covers the projects that crossed. 90, where the rule moves no money, is the
    placebo the scenario gives."""
    from perfsim.run import strategy

    sc = perfsim.load(SCENARIOS / "liupanshui_2022.yaml").set({
        "simulation.spot_check.gap": 0.0, "simulation.spot_check.inflation_penalty": 20.0})
    c = strategy.claimed_scores(sc, 0.1, grid=strategy.inflation_grid(most))
    crossed = int(((c["honest_score"] < 80) & (c["claimed_score"] >= 80)).sum())
    lines = placebo_lines(sc)
    options = dict(cutoffs=[80, 60], placebo=lines, departments=c["department"], low=50,
                   high=99, draws=100, seed=1)
    est = bunching(c["claimed_score"], **options)
    assert est.placebo["cutoff"].tolist() == [90.0]
    assert bool(est.warnings) is warns
    assert [w.split(" 分线")[0] for w in est.warnings] == (["80"] if warns else [])
    auto = bunching(c["claimed_score"], below="auto", **options)
    assert auto.warnings == ()
    row = auto.table.set_index("cutoff").loc[80]
    assert row["excess_low"] <= crossed <= row["excess_high"]


def one_gaming_department(seed: int, pile: int):
    """30 honest departments and department G, 200 projects each on one smooth density; G
    moves ``pile`` of its scores in [72, 80) onto [80, 81)."""
    rng = np.random.default_rng(seed)
    deps = np.repeat(np.array([f"H{i:02d}" for i in range(30)] + ["G"], dtype=object), 200)
    s = np.clip(rng.normal(78, 9, deps.size), 40, 99.99)
    if pile:
        near = np.nonzero((deps == "G") & (s >= 72) & (s < 80))[0]
        movers = rng.choice(near, pile, replace=False)
        s[movers] = rng.uniform(80, 81, pile)
    return s, deps


def test_a_department_pile_of_its_stated_size_is_flagged_at_about_the_stated_power():
    s, deps = one_gaming_department(100, 0)
    d = bunching(s, cutoffs=[80], departments=deps, draws=0).departments
    # every department has 200 projects: one stated size
    assert d["min_detectable"].nunique() == 1
    size = int(np.ceil(d["min_detectable"].iloc[0]))
    assert 0 < size < 200

    def flagged(pile: int, seed: int) -> bool:
        s, deps = one_gaming_department(seed, pile)
        d = bunching(s, cutoffs=[80], departments=deps, draws=0).departments
        return bool(d.loc[d["department"] == "G", "flagged"].iloc[0])

    # 80% power by construction (exact binomial at the step-up's strictest threshold)
    assert np.mean([flagged(size, seed) for seed in range(60)]) >= 0.7
    assert np.mean([flagged(size // 2, seed) for seed in range(60)]) < 0.5


@pytest.mark.parametrize("options, fragment", [
    (["--below", "wide"], "'--below' = 'wide'"),
    (["--placebo", "ninety"], "'--placebo' = 'ninety'"),
    (["--fdr", "1.5"], "'fdr' = 1.5"),
])
def test_cli_bad_options_are_one_line(tmp_path, capsys, options, fragment):
    f = tmp_path / "scores.csv"
    pd.DataFrame({"score": smooth(3, 500).round(2)}).to_csv(f, index=False)
    assert main(["bunching", str(f), "--draws", "0", *options]) == 2
    line = one_error_line(capsys)
    assert fragment in line
