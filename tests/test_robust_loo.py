"""Leave one indicator out, the new SMAA outputs and the BoD variants through
:mod:`perfsim.analyse.robust` and ``perfsim robust``: checked against totals rescaled by
hand, ranks and grades computed here, and the Python functions' own numbers on the command
line; bad options refused in one line."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import DATA, SCENARIOS, one_error_line

import perfsim
from perfsim.analyse.robust import bod_variant, leave_one_out, smaa
from perfsim.cli import main
from perfsim.kernel.bod_directional import bod_directional
from perfsim.kernel.bod_orderm import bod_order_m

ROWS = [  # project, A.1.1, A.1.2, A.2, B, C, C.self, X.1
    ("P1", 100, 0, "好", 40, 100, 100, 0), ("P2", 60, 0, "中", 90, 95, 95, 0),
    ("P3", 90, 10, "好", 70, 80, 85, 2), ("P4", 70, 2, "差", 88, 100, 100, 0),
    ("P5", 95, 0, "中", 60, 70, 80, 4), ("P6", 80, 5, "好", 85, 90, 90, 1)]


def _scenario(folder):
    lines = ["project_id,department,budget,A.1.1,A.1.2,A.2,B,C,C.self,X.1"]
    lines += [f"{p},D{k % 2},1000000,{a},{b},{c},{d},{e},{f},{g}"
              for k, (p, a, b, c, d, e, f, g) in enumerate(ROWS)]
    (folder / "six.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    path = folder / "six.yaml"
    path.write_text(f"name: six\nseed: 3\nindicator_system: {DATA}/tiny_system.yaml\n"
                    "portfolio: {file: six.csv}\n"
                    "grading: {labels: national, cutoffs: [90, 80, 60]}\n", encoding="utf-8")
    return path


def _ranks(s):
    return (s[None, :] > s[:, None]).sum(axis=1) + 1


def _grades(s):
    return (s[:, None] < np.array([90, 80, 60])[None, :]).sum(axis=1)


def test_leave_one_out_against_totals_rescaled_by_hand(tmp_path):
    sc = perfsim.load(_scenario(tmp_path))
    system, meas = sc.system, sc.portfolio.measurements()
    att = system.attainment(meas)
    bonus = np.asarray(system.bonus_points(meas), dtype=float)
    pts = system.points
    base = att @ pts + bonus
    r = leave_one_out(sc)
    assert r.table["code"].tolist() == list(system.codes)
    for j, code in enumerate(system.codes):
        keep = np.arange(len(pts)) != j
        # the leaf's points spread over every leaf left, in proportion: × 100 / (100 − p_j)
        total = att[:, keep] @ pts[keep] * 100 / (100 - pts[j]) + bonus
        shift = _ranks(total) - _ranks(base)
        row = r.table.iloc[j]
        assert r.shifts[code].tolist() == shift.tolist()
        assert row["mean_abs_shift"] == pytest.approx(np.abs(shift).mean())
        assert row["max_shift"] == np.abs(shift).max()
        assert row["grade_changed"] == pytest.approx(
            (_grades(total) != _grades(base)).mean())
    # on these six projects, satisfaction (B, 30 points) moves the ranking
    assert r.table.set_index("code").loc["B", "max_shift"] > 0


def test_leave_one_out_within_the_group(tmp_path):
    sc = perfsim.load(_scenario(tmp_path))
    system, meas = sc.system, sc.portfolio.measurements()
    att = system.attainment(meas)
    bonus = np.asarray(system.bonus_points(meas), dtype=float)
    codes = list(system.codes)
    a11, a12, a2 = (codes.index(c) for c in ("A.1.1", "A.1.2", "A.2"))
    pts = system.points.copy()
    # A.1.1's 20 points go to A.1.2 (10) and A.2 (20) in proportion: 10 + 20/3, 20 + 40/3
    new = pts.copy()
    new[a11], new[a12], new[a2] = 0, 10 + 20 / 3, 20 + 40 / 3
    total = att @ new + bonus
    base = att @ pts + bonus
    r = leave_one_out(sc, rescale="group")
    assert r.shifts["A.1.1"].tolist() == (_ranks(total) - _ranks(base)).tolist()


def test_a_leaf_alone_in_its_group_gives_its_points_to_every_leaf_left(tmp_path):
    sc = perfsim.load(_scenario(tmp_path))
    by_group = leave_one_out(sc, rescale="group")
    by_system = leave_one_out(sc)
    row = by_group.table.set_index("code")
    assert row.loc["B", "rescaled"] == "system" and row.loc["A.1.1", "rescaled"] == "group"
    assert by_group.shifts["B"].tolist() == by_system.shifts["B"].tolist()


def test_loo_command_writes_the_functions_tables(tmp_path, capsys):
    path = _scenario(tmp_path)
    out = tmp_path / "out"
    assert main(["robust", "loo", str(path), "--out", str(out)]) == 0
    expected = leave_one_out(perfsim.load(path))
    got = pd.read_csv(out / "leave_one_out.csv", encoding="utf-8-sig")
    assert got["code"].tolist() == expected.table["code"].tolist()
    assert got["mean_abs_shift"].to_numpy() == pytest.approx(
        expected.table["mean_abs_shift"].to_numpy())
    shifts = pd.read_csv(out / "leave_one_out_shifts.csv", encoding="utf-8-sig")
    assert shifts["B"].tolist() == expected.shifts["B"].tolist()
    assert "leave one out" in capsys.readouterr().out


def test_smaa_table_holds_rank_intervals_and_the_command_draws_them(tmp_path, capsys):
    path = _scenario(tmp_path)
    res = smaa(perfsim.load(path), draws=2000, seed=4, noise=0.1, exclude=0.2)
    t = res.table
    # each interval holds its median, and the quantiles come from the acceptability
    assert (t["rank_low"] <= t["rank_median"]).all() and (
        t["rank_median"] <= t["rank_high"]).all()
    cum = np.cumsum(res.acceptability, axis=1)
    for i in range(len(t)):
        assert cum[i, t["rank_high"].iloc[i] - 1] >= 0.95 - 1e-12
        assert t["rank_high"].iloc[i] == 1 or cum[i, t["rank_high"].iloc[i] - 2] < 0.95
    # holistic acceptability with centroid meta-weights for six ranks, computed here
    h = 1 / np.arange(1, 7)
    alpha = np.cumsum(h[::-1])[::-1] / h.sum()
    assert t["holistic"].to_numpy() == pytest.approx(res.acceptability @ alpha)
    assert t.loc[t["rank1"] == 0, "confidence"].isna().all()
    out = tmp_path / "out"
    assert main(["robust", "smaa", str(path), "--draws", "2000", "--seed", "4", "--noise",
                 "0.1", "--exclude", "0.2", "--out", str(out)]) == 0
    got = pd.read_csv(out / "smaa.csv", encoding="utf-8-sig")
    assert got["rank_high"].tolist() == t["rank_high"].tolist()
    assert (out / "rank_intervals.png").stat().st_size > 0
    assert (out / "rank_intervals.svg").read_text(encoding="utf-8").lstrip().startswith("<?xml")


def test_bod_variants_on_the_command_line_are_the_kernels(tmp_path, capsys):
    path = _scenario(tmp_path)
    sc = perfsim.load(path)
    att = sc.system.attainment(sc.portfolio.measurements())
    assert main(["robust", "bod", str(path), "--variant", "order_m", "--m", "4", "--draws",
                 "30", "--seed", "2", "--json"]) == 0
    got = pd.DataFrame(json.loads(capsys.readouterr().out)["bod_order_m"])
    assert got["score"].to_numpy() == pytest.approx(bod_order_m(att, 4, 30, 2).scores)
    # undesirable: the days-late leaf (A.1.2, a deduction) and the graded level (A.2, 0 =
    # best) are lower-is-better raw values; the others enter as measured
    v = bod_variant(sc, method="undesirable")
    assert v.settings["undesirable"] == ["A.1.2", "A.2"]
    assert main(["robust", "bod", str(path), "--variant", "undesirable", "--undesirable",
                 "A.1.2", "--json"]) == 0
    got = pd.DataFrame(json.loads(capsys.readouterr().out)["bod_undesirable"])
    assert got["project_id"].tolist() == [r[0] for r in ROWS]
    assert got["score"].between(0, 1).all()


def test_own_share_bounds_on_the_national_example(tmp_path, capsys):
    (tmp_path / "b.yaml").write_text("bounds:\n  leaves: {default: [0, 0.2]}\n",
                                     encoding="utf-8")
    path = SCENARIOS / "national_template_example.yaml"
    assert main(["robust", "bod", str(path), "--variant", "own_shares", "--bounds",
                 str(tmp_path / "b.yaml"), "--out", str(tmp_path / "o")]) == 0
    t = pd.read_csv(tmp_path / "o" / "bod_own_shares.csv", encoding="utf-8-sig")
    w = pd.read_csv(tmp_path / "o" / "bod_own_shares_weights.csv", encoding="utf-8-sig")
    sc = perfsim.load(path)
    att = sc.system.attainment(sc.portfolio.measurements())
    virtual = w.drop(columns="project_id").to_numpy() * att
    shares = virtual / virtual.sum(axis=1, keepdims=True)
    assert (shares <= 0.2 + 1e-7).all()   # no leaf earns more than a fifth of any score
    assert (t["score"] <= t["bod_score"] + 1e-9).all()   # restrictions never raise a score


@pytest.mark.parametrize("argv, needle", [
    (["smaa", "--noise", "1.5"], "noise"),
    (["smaa", "--exclude", "-0.1"], "exclude"),
    (["smaa", "--m", "3"], "--m"),
    (["loo", "--noise", "0.1"], "--noise"),
    (["bod", "--variant", "order_m", "--m", "0"], "'m'"),
    (["smaa", "--variant", "order_m"], "--variant"),
    (["loo", "--bounds", "b.yaml"], "--bounds"),
    (["bod", "--variant", "undesirable", "--undesirable", "ZZ"], "ZZ"),
])
def test_bad_options_are_one_line(tmp_path, capsys, argv, needle):
    path = _scenario(tmp_path)
    assert main(["robust", argv[0], str(path), *argv[1:]]) == 2
    assert needle in one_error_line(capsys)


def test_directional_scores_on_raw_values_by_hand_kernel(tmp_path):
    # the analysis feeds the raw measurements (graded levels as positions) to the kernel
    sc = perfsim.load(_scenario(tmp_path))
    v = bod_variant(sc, method="undesirable", undesirable=["A.1.2"])
    assert sc.system.codes == ("A.1.1", "A.1.2", "A.2", "B", "C")
    level = {"好": 0, "中": 1, "差": 2}   # graded levels as positions, 0 = best
    X = np.array([[a, b, level[c], d, e] for _, a, b, c, d, e, _, _ in ROWS], dtype=float)
    flags = [c == "A.1.2" for c in sc.system.codes]
    assert v.table["score"].to_numpy() == pytest.approx(
        bod_directional(X, flags), abs=1e-9)


def test_rank_interval_plot_draws_each_projects_interval_and_median(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.collections import LineCollection

    from perfsim.present import plots

    res = smaa(perfsim.load(_scenario(tmp_path)), draws=600, seed=1, noise=0.2)
    fig = plots.rank_intervals(res, top=4, source="unit test")
    ax = fig.axes[0]
    shown = res.table.sort_values(["rank_median", "expected_rank", "expert_rank"],
                                  kind="stable").head(4)
    segs = next(c for c in ax.collections if isinstance(c, LineCollection)).get_segments()
    assert [(s[0][0], s[1][0]) for s in segs] == list(zip(shown["rank_low"],
                                                          shown["rank_high"], strict=True))
    # each bar sits on the row labelled with its project, the best at the top
    at = {t.get_text(): y for t, y in zip(ax.get_yticklabels(), ax.get_yticks(), strict=True)}
    assert [at[p] for p in shown["project_id"]] == [s[0][1] for s in segs] == [3, 2, 1, 0]
    median = ax.lines[0]
    assert median.get_xdata().tolist() == shown["rank_median"].tolist()
    assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
    assert any(t.get_text().startswith("Source: unit test") for t in fig.texts)


@pytest.mark.parametrize("call, needle", [
    (lambda sc: smaa(sc, draws=10, interval=(0.9, 0.1)), "interval"),
    (lambda sc: smaa(sc, draws=10, noise=-0.1), "noise"),
    (lambda sc: smaa(sc, draws=10, meta_weights="cubic"), "meta_weights"),
    (lambda sc: leave_one_out(sc, rescale="groups"), "indicators.rescale"),
    (lambda sc: bod_variant(sc, method="fdh"), "choose one of own_shares, undesirable"),
])
def test_bad_arguments_of_the_functions_are_one_line_errors(tmp_path, call, needle):
    from perfsim.errors import InputError

    sc = perfsim.load(_scenario(tmp_path))
    with pytest.raises(InputError) as err:
        call(sc)
    assert needle in str(err.value) and "\n" not in str(err.value)
