"""Diagnose on an imported folder runs at the level the projects' own leaves share (二级指标):
the (projects × heading) table of score shares, and the diagnostics on it, checked against an
independent computation from the folder's leaves.csv and projects.csv with pandas groupby;
the folder, a scenario naming it and the command line agree; bad input is one line."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import one_error_line
from scipy import stats

import perfsim
from perfsim.analyse.diagnose import SHARED_LEVEL, diagnose, shared_level
from perfsim.cli import main
from perfsim.model.imported import load_imported

N_WORKBOOKS = 30
SCENARIO = """
name: {name}
seed: 5
portfolio: {{imported: {folder}{scores}}}
grading: {{labels: national, cutoffs: [90, 80, 60]}}
linkage: {{rule: liupanshui, ratio: 0.15, pool: treasury}}
"""


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("imported_diagnose")
    assert main(["template", "selfeval", "--projects", str(N_WORKBOOKS), "--seed", "11",
                 "--out", str(root / "workbooks")]) == 0
    assert main(["import", str(root / "workbooks"), "--out", str(root / "imp")]) == 0
    return root / "imp"


def by_hand(folder, score: str) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    """From the CSV files alone: the share of each 二级指标's points each project table earns
    (``score``: recomputed_score or printed_score per leaf; the execution item's exec_score
    / exec_points), the points held, and each heading's number of leaves."""
    projects = pd.read_csv(folder / "projects.csv", encoding="utf-8-sig")
    projects = projects[projects["form"] == "project"]
    leaves = pd.read_csv(folder / "leaves.csv", encoding="utf-8-sig")
    leaves = leaves[leaves["project_id"].isin(projects["project_id"])]
    ex = projects[projects["exec_points"] > 0]
    rows = pd.concat([
        leaves[["project_id", "level2", "points", score]].rename(columns={score: "score"}),
        pd.DataFrame({"project_id": ex["project_id"], "level2": "预算执行",
                      "points": ex["exec_points"], "score": ex["exec_score"]})])
    g = rows.groupby(["project_id", "level2"])[["score", "points"]].sum()
    ids = projects["project_id"]
    share = (g["score"] / g["points"]).unstack().reindex(ids)
    held = g["points"].unstack().reindex(ids).fillna(0.0)
    return share, held, rows.groupby("level2").size()


def test_shared_level_table_against_pandas_groupby(folder):
    pf = load_imported(folder)
    lv = shared_level(pf)
    share, held, count = by_hand(folder, "recomputed_score")
    assert set(lv.shares.columns) == set(share.columns)
    assert list(lv.shares.index) == list(share.index)
    got = lv.shares[share.columns]
    assert got.isna().equals(share.isna())        # no leaf under a heading: no value
    # leaves.csv prints each recomputed score to 2 decimals: each of the n leaves summed may
    # be 0.005 off, so the share by at most 0.005·n / points
    n = pd.read_csv(folder / "leaves.csv", encoding="utf-8-sig").groupby(
        ["project_id", "level2"]).size().unstack().reindex(share.index)[
        [c for c in share.columns if c != "预算执行"]]
    n["预算执行"] = 1
    bound = (0.005 * n[share.columns] / held[share.columns].where(held > 0)).to_numpy()
    diff = np.abs(got.to_numpy() - share.to_numpy())
    finite = np.isfinite(share.to_numpy())
    assert (diff[finite] <= bound[finite] + 1e-12).all()
    np.testing.assert_allclose(lv.held[share.columns].to_numpy(), held.to_numpy())
    assert lv.n_leaves[count.index].tolist() == count.tolist()


def test_diagnostics_on_printed_scores_against_an_independent_computation(folder, tmp_path):
    # scores: printed takes each leaf's printed 得分, so the shares are exactly the CSV's
    path = tmp_path / "printed.yaml"
    path.write_text(SCENARIO.format(name="printed", folder=folder, scores=", scores: printed"),
                    encoding="utf-8")
    d = diagnose(perfsim.load(path))
    share, held, count = by_hand(folder, "printed_score")
    assert d.level == SHARED_LEVEL == "二级指标"
    assert d.n_projects == len(share)
    values = d.values.set_index("project_id")[share.columns]
    np.testing.assert_allclose(values.to_numpy(), share.to_numpy(), rtol=1e-12)
    ind = d.indicators.set_index("code")
    heads = list(share.columns)
    # each heading's points: the mean a project holds there; nominal share of their sum
    np.testing.assert_allclose(ind.loc[heads, "points"], held.mean().to_numpy())
    np.testing.assert_allclose(ind.loc[heads, "nominal_share"],
                               (held.mean() / held.mean().sum()).to_numpy())
    assert ind.loc[heads, "n_projects"].tolist() == (held > 0).sum().tolist()
    assert ind.loc[heads, "n_leaves"].tolist() == count[heads].tolist()
    # the total: the printed points a project earns; r over the projects with the heading
    total = (share.fillna(0) * held).sum(axis=1)
    r = share.apply(lambda col: col.corr(total))
    np.testing.assert_allclose(ind.loc[heads, "r_total"], r.to_numpy(), rtol=1e-9,
                               atol=1e-12)
    sq = r.fillna(0) ** 2
    np.testing.assert_allclose(ind.loc[heads, "effective_share"], (sq / sq.sum()).to_numpy(),
                               rtol=1e-9, atol=1e-12)
    for h in heads:
        want_s = stats.skew(share[h], bias=False, nan_policy="omit")
        got = ind.loc[h, "skew"]
        assert (np.isnan(got) and (share[h].nunique() < 2 or share[h].count() < 3)) or \
            got == pytest.approx(want_s, rel=1e-9, abs=1e-12)
    # alpha of each 一级指标's headings: pairwise covariances (pandas) in the formula
    level1 = pd.read_csv(folder / "leaves.csv", encoding="utf-8-sig").groupby(
        "level2")["level1"].first()
    groups = d.groups.set_index("group")
    for g in ("产出指标", "效益指标"):
        cols = [h for h in heads if level1.get(h) == g]
        C = share[cols].cov().to_numpy()
        want = len(cols) / (len(cols) - 1) * (1 - np.trace(C) / C.sum())
        assert groups.loc[g, "n_leaves"] == len(cols)
        assert groups.loc[g, "cronbach_alpha"] == pytest.approx(want, rel=1e-9)
    # the pairs: every pair of headings over the projects that have both
    for row in d.correlations.itertuples():
        want = share[row.a].corr(share[row.b])
        assert (np.isnan(row.r) and np.isnan(want)) or row.r == pytest.approx(want, abs=1e-9)


def test_folder_and_scenario_give_the_same_diagnosis(folder, tmp_path):
    path = tmp_path / "recomputed.yaml"
    path.write_text(SCENARIO.format(name="r", folder=folder, scores=""), encoding="utf-8")
    a = diagnose(perfsim.load(path))
    b = diagnose(folder)
    pd.testing.assert_frame_equal(a.indicators, b.indicators)
    pd.testing.assert_frame_equal(a.correlations, b.correlations)


def test_cli_diagnose_imported_folder(folder, tmp_path, capsys):
    out = tmp_path / "diag"
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        code = main(["diagnose", str(folder), "--out", str(out)])
    text = capsys.readouterr().out
    assert code == 0 and [str(w.message) for w in seen] == []
    share, held, count = by_hand(folder, "recomputed_score")
    leaves = pd.read_csv(folder / "leaves.csv", encoding="utf-8-sig")
    leaves = leaves[leaves["project_id"].isin(share.index)]
    distinct = len(leaves.drop_duplicates(["level1", "level2", "level3"])) + 1   # + 预算执行
    line = next(t for t in text.splitlines() if t.startswith("在二级指标层面诊断"))
    assert f"{count.sum()} leaves ({distinct} distinct) aggregated into {share.shape[1]} " \
           "headings" in line
    assert f"diagnostics of {len(share)} projects" in text
    written = pd.read_csv(out / "shared_level.csv", encoding="utf-8-sig").set_index(
        "project_id")
    assert list(written.index) == list(share.index)
    assert set(written.columns) == set(share.columns)
    assert sorted(p.name for p in out.glob("*.csv")) == [
        "correlations.csv", "group_correlations.csv", "groups.csv", "indicators.csv",
        "pca.csv", "shared_level.csv"]
    assert main(["diagnose", str(folder), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["level"] == "二级指标" and doc["n_leaves"] == count.sum()
    assert {r["code"] for r in doc["indicators"]} == set(share.columns)


def test_cli_diagnose_imported_raw_is_one_line(folder, capsys):
    assert main(["diagnose", str(folder), "--data", "raw"]) == 2
    line = one_error_line(capsys)
    assert str(folder) in line and "'--data' = 'raw'" in line and "attainment" in line
    assert "二级指标层面" in line   # Chinese first


def test_cli_diagnose_broken_folder_is_one_line(folder, tmp_path, capsys):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "projects.csv").write_bytes((folder / "projects.csv").read_bytes())
    leaves = pd.read_csv(folder / "leaves.csv", dtype=str, keep_default_na=False,
                         encoding="utf-8-sig")
    projects = pd.read_csv(folder / "projects.csv", encoding="utf-8-sig")
    ids = projects.loc[projects["form"] == "project", "project_id"]
    i = int(np.flatnonzero(leaves["project_id"].isin(ids).to_numpy())[2])
    leaves.loc[i, "points"] = "十分"
    leaves.to_csv(bad / "leaves.csv", index=False, encoding="utf-8-sig")
    assert main(["diagnose", str(bad)]) == 2
    line = one_error_line(capsys)
    assert "leaves.csv" in line and f"第 {i + 2} 行 row {i + 2}" in line  # header: row 1
    assert "'points' = '十分'" in line
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["diagnose", str(empty)]) == 2
    assert "projects.csv" in one_error_line(capsys)


def test_cli_diagnose_scenario_naming_the_folder(folder, tmp_path, capsys):
    path = tmp_path / "s.yaml"
    path.write_text(SCENARIO.format(name="s", folder=folder, scores=""), encoding="utf-8")
    assert main(["diagnose", str(path), "--json"]) == 0
    via_scenario = json.loads(capsys.readouterr().out)
    assert main(["diagnose", str(folder), "--json"]) == 0
    via_folder = json.loads(capsys.readouterr().out)
    assert via_scenario["indicators"] == via_folder["indicators"]
    assert via_scenario["level"] == "二级指标"
    # --out inside the folder it reads is refused before any work
    assert main(["diagnose", str(path), "--out", str(folder / "diag")]) == 2
    assert "--out" in one_error_line(capsys)
    assert not (folder / "diag").exists()


def test_cli_diagnose_two_projects_is_one_line(tmp_path, capsys):
    assert main(["template", "selfeval", "--projects", "2", "--variants", "standard",
                 "--out", str(tmp_path / "w")]) == 0
    assert main(["import", str(tmp_path / "w"), "--out", str(tmp_path / "imp")]) == 0
    capsys.readouterr()
    assert main(["diagnose", str(tmp_path / "imp")]) == 2
    line = one_error_line(capsys)
    assert str(tmp_path / "imp") in line and "'projects' = 2" in line
    assert "needs at least 3 projects" in line
