"""``perfsim robust bod|smaa``: benefit of the doubt and SMAA-2 from the command line give
the numbers of the Python functions, write their tables and the heat map, and refuse bad
input in one line."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from conftest import SCENARIOS, one_error_line, tiny_measured_scenario, tiny_scores_scenario

import perfsim
from perfsim.analyse.robust import benefit_of_the_doubt, smaa
from perfsim.cli import main

COMPARISON = SCENARIOS / "national_template_example.yaml"


def test_bod_writes_the_functions_table(tmp_path, capsys):
    path = tiny_measured_scenario(tmp_path)
    assert main(["robust", "bod", str(path), "--out", str(tmp_path / "out")]) == 0
    expected = benefit_of_the_doubt(perfsim.load(path)).table
    got = pd.read_csv(tmp_path / "out" / "bod.csv", encoding="utf-8-sig")
    assert got["project_id"].tolist() == expected["project_id"].tolist()
    assert got["bod_score"].to_numpy() == pytest.approx(expected["bod_score"].to_numpy(),
                                                        abs=1e-9)
    assert got["bod_rank"].tolist() == expected["bod_rank"].tolist()
    assert (tmp_path / "out" / "bod_weights.csv").exists()
    at_one = int((expected["bod_score"] >= 1 - 1e-9).sum())
    assert f"{at_one:,} of {len(expected):,} projects score 1" in capsys.readouterr().out


def test_smaa_json_is_the_functions_result_with_the_same_seed(tmp_path, capsys):
    path = tiny_measured_scenario(tmp_path)
    assert main(["robust", "smaa", str(path), "--draws", "500", "--seed", "3", "--top", "2",
                 "--json"]) == 0
    tables = json.loads(capsys.readouterr().out)
    expected = smaa(perfsim.load(path), draws=500, seed=3, top=2)
    got = pd.DataFrame(tables["smaa"])
    assert got["expected_rank"].tolist() == pytest.approx(
        expected.table["expected_rank"].tolist())
    assert got["top_share"].tolist() == pytest.approx(expected.table["top_share"].tolist())


def test_smaa_writes_the_heat_map_with_bounds(tmp_path, capsys):
    (tmp_path / "bounds.yaml").write_text(
        "bounds:\n  leaves: {default: [0.02, 0.4]}\n", encoding="utf-8")
    out = tmp_path / "out"
    assert main(["robust", "smaa", str(COMPARISON), "--draws", "300", "--bounds",
                 str(tmp_path / "bounds.yaml"), "--out", str(out)]) == 0
    assert {p.name for p in out.iterdir()} >= {"smaa.csv", "smaa_departments.csv",
                                               "smaa_central_weights.csv",
                                               "rank_acceptability.png"}
    weights = pd.read_csv(out / "smaa_central_weights.csv", encoding="utf-8-sig")
    leaf = weights.drop(columns=["project_id", "rank1"])
    assert (leaf.to_numpy() <= 0.4 + 1e-9).all()   # the central weights keep the bounds


def test_bad_input_is_one_line(tmp_path, capsys):
    path = tiny_measured_scenario(tmp_path)
    assert main(["robust", "smaa", str(path), "--draws", "0"]) == 2
    assert "--draws" in one_error_line(capsys)
    (tmp_path / "nob.yaml").write_text("leaves: {default: [0, 1]}\n", encoding="utf-8")
    assert main(["robust", "bod", str(path), "--bounds", str(tmp_path / "nob.yaml")]) == 2
    assert "bounds:" in one_error_line(capsys)
    scores = tiny_scores_scenario(tmp_path)
    assert main(["robust", "bod", str(scores)]) == 2
    assert "indicator system" in one_error_line(capsys)
