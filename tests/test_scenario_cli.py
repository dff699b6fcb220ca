"""Scenarios and the ``perfsim`` command: the Liupanshui 2022 run, validation, one-line errors,
atomic output and seeds. Most runs call perfsim.cli.main in-process; a few run the installed
console script."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import DATA, SCENARIOS, SYSTEMS

import perfsim.present.report
from perfsim.cli import main
from perfsim.errors import InputError
from perfsim.io import MARKER
from perfsim.kernel.linkage import liupanshui
from perfsim.model.scenario import load_scenario

LIUPANSHUI = SCENARIOS / "liupanshui_2022.yaml"
PERFSIM = Path(sys.executable).parent / "perfsim"
OUTPUTS = {"allocations.csv", "ledger.csv", "grades.csv", "summary.json", MARKER}


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def fair_cut(summary: dict) -> float:
    return next(row["cut"] for row in summary["by_grade"] if row["grade"] == "fair")


# --- scenarios ------------------------------------------------------------------------------

def test_load_liupanshui_scenario():
    sc = load_scenario(LIUPANSHUI)
    assert sc.name == "liupanshui_2022" and sc.seed == 2022
    assert sc.portfolio.n_projects == 3468
    assert sc.linkage == liupanshui(0.15)
    assert sc.grading.cutoffs == (90.0, 80.0, 60.0)


def test_seed_override_regenerates_the_portfolio():
    a = load_scenario(LIUPANSHUI)
    b = load_scenario(LIUPANSHUI, seed=1)
    assert b.seed == 1
    assert not np.allclose(a.portfolio.budget, b.portfolio.budget)


# --- perfsim run ----------------------------------------------------------------------------

def test_run_liupanshui_2022(capsys, tmp_path):
    out = tmp_path / "out"
    code, stdout, stderr = run_cli(capsys, "run", LIUPANSHUI, "--out", out)
    assert code == 0, stderr
    assert {p.name for p in out.iterdir()} == OUTPUTS
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    # the generator is calibrated to the published share rated 中 (853.3 million of 22.536
    # billion yuan), nothing pinned: 15% of the 中 money comes out within 5% of 128 million
    assert fair_cut(summary) == pytest.approx(128_000_000, rel=0.05)
    assert summary["projects"] == 3468 and summary["departments"] == 561
    assert summary["totals_yuan"]["budget"] == pytest.approx(22.536e9)
    assert f"压减 cut {fair_cut(summary):,.2f} 元" in stdout
    alloc = pd.read_csv(out / "allocations.csv")
    assert len(alloc) == 3468
    fair = alloc[alloc["grade"] == "fair"]
    assert fair["cut"].sum() == pytest.approx(0.15 * fair["budget"].sum())
    assert (alloc.loc[alloc["grade"] == "poor", "next_budget"] == 0).all()
    grades = pd.read_csv(out / "grades.csv")
    assert grades["grade_zh"].tolist() == ["优", "良", "中", "差"]
    ledger = pd.read_csv(out / "ledger.csv")
    assert ledger["net"].sum() == pytest.approx(-summary["totals_yuan"]["savings"], abs=1)
    # UTF-8 with a byte-order mark, so Excel on Chinese Windows opens 优/良 correctly
    for name in OUTPUTS - {"summary.json", MARKER}:
        assert (out / name).read_bytes()[:3] == b"\xef\xbb\xbf", name
    assert (out / "grades.csv").read_bytes()[3:9] == b"grade,"


def test_console_script_runs_liupanshui(tmp_path):
    out = tmp_path / "run"
    proc = subprocess.run([str(PERFSIM), "run", str(LIUPANSHUI), "--out", str(out)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert {p.name for p in out.iterdir()} == OUTPUTS
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert fair_cut(summary) == pytest.approx(128_000_000, rel=0.05)
    assert f"压减 cut {fair_cut(summary):,.2f} 元" in proc.stdout


def test_run_tiny_scenario_by_hand(capsys, tmp_path):
    # 中: P2 2,000 + P5 500 → cut 15% = 375; 差: P3 4,000 cancelled
    code, stdout, _ = run_cli(capsys, "run", DATA / "tiny_scenario.yaml", "--out", tmp_path / "o")
    assert code == 0
    summary = json.loads((tmp_path / "o" / "summary.json").read_text(encoding="utf-8"))
    assert fair_cut(summary) == pytest.approx(375)
    assert summary["totals_yuan"]["cancelled"] == pytest.approx(4000)
    assert "375" in stdout


# --- perfsim validate -----------------------------------------------------------------------

def test_validate_points_adding_to_95(capsys):
    code, stdout, stderr = run_cli(capsys, "validate", DATA / "broken_95.yaml")
    assert code != 0
    lines = stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("perfsim: error: ")
    assert "broken_95.yaml" in lines[0] and "95" in lines[0]
    assert "Traceback" not in stderr and stdout == ""


def test_validate_console_script_points_adding_to_95():
    proc = subprocess.run([str(PERFSIM), "validate", str(DATA / "broken_95.yaml")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "95" in lines[0] and "Traceback" not in proc.stderr


def test_validate_good_files(capsys):
    files = [*sorted(SYSTEMS.glob("*.yaml")), LIUPANSHUI, DATA / "tiny_scenario.yaml",
             DATA / "tiny_scores.csv"]
    code, stdout, stderr = run_cli(capsys, "validate", *files)
    assert code == 0, stderr
    assert len(stdout.strip().splitlines()) == len(files)
    assert all(line.startswith("ok: ") for line in stdout.strip().splitlines())


def test_validate_measured_portfolio_against_a_system(capsys):
    code, stdout, stderr = run_cli(capsys, "validate", DATA / "tiny_measured.csv",
                                   "--system", DATA / "tiny_system.yaml")
    assert code == 0, stderr
    assert "3 projects" in stdout


def test_validate_reports_every_bad_file_and_fails(capsys, tmp_path):
    bad = tmp_path / "neg.csv"
    bad.write_text("project_id,department,budget,score\nP1,D,-5,80\n", encoding="utf-8")
    code, stdout, stderr = run_cli(capsys, "validate", DATA / "tiny_scores.csv",
                                   DATA / "broken_95.yaml", bad)
    assert code != 0
    assert len(stdout.strip().splitlines()) == 1
    assert len(stderr.strip().splitlines()) == 2


# --- bad inputs -----------------------------------------------------------------------------

def _scenario(tmp_path: Path, text: str, name: str = "scenario.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _neg_budget(tmp_path: Path) -> Path:
    (tmp_path / "neg.csv").write_text(
        "project_id,department,budget,score\nP1,D1,100,95\nP2,D1,-5,80\n", encoding="utf-8")
    return _scenario(tmp_path, "portfolio: {file: neg.csv}\n")


BAD_INPUTS = {
    # name: (make the scenario file, strings the error line must contain)
    "missing file": (lambda t: t / "absent.yaml", ["absent.yaml", "not found"]),
    "malformed YAML": (lambda t: _scenario(t, "name: x\nportfolio: {file: a.csv\n"),
                       ["scenario.yaml", "line", "YAML"]),
    "negative budget": (_neg_budget, ["neg.csv", "row 3", "budget", "-5"]),
    "bad ratio": (lambda t: _scenario(t, f"portfolio: {{file: {DATA / 'tiny_scores.csv'}}}\n"
                                         "linkage: {rule: liupanshui, ratio: 0.3}\n"),
                  ["scenario.yaml", "linkage", "ratio", "0.3"]),
    "unknown key": (lambda t: _scenario(t, f"portfolio: {{file: {DATA / 'tiny_scores.csv'}}}\n"
                                           "budget_rule: strict\n"),
                    ["scenario.yaml", "budget_rule", "unknown key"]),
    "missing portfolio file": (lambda t: _scenario(t, "portfolio: {file: nowhere.csv}\n"),
                               ["scenario.yaml", "portfolio.file", "nowhere.csv"]),
    "bad generator setting": (lambda t: _scenario(t, "portfolio: {generate: {n_projects: 0}}\n"),
                              ["scenario.yaml", "n_projects", "0"]),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_gives_one_line_error(capsys, tmp_path, case):
    make, needles = BAD_INPUTS[case]
    scenario = make(tmp_path)
    out = tmp_path / "out"
    code, stdout, stderr = run_cli(capsys, "run", scenario, "--out", out)
    assert code != 0
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("perfsim: error: ")
    for needle in needles:
        assert needle in lines[0]
    assert "Traceback" not in stderr
    assert not out.exists()


def test_bad_input_through_the_console_script(tmp_path):
    scenario = BAD_INPUTS["bad ratio"][0](tmp_path)
    proc = subprocess.run([str(PERFSIM), "run", str(scenario), "--out", str(tmp_path / "o")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("perfsim: error: ")
    assert "0.3" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "o").exists()


@pytest.fixture(scope="module")
def negative_seed(tmp_path_factory):
    out = tmp_path_factory.mktemp("seed") / "o"
    proc = subprocess.run([str(PERFSIM), "run", str(LIUPANSHUI), "--seed", "-1", "--out",
                           str(out)], capture_output=True, text=True, timeout=60)
    return proc, out


def test_negative_seed_is_rejected_without_traceback(negative_seed):
    proc, out = negative_seed
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    assert "--seed" in proc.stderr and "-1" in proc.stderr
    assert not out.exists()


def test_negative_seed_error_is_one_perfsim_error_line(negative_seed):
    """Like every other bad input, ``--seed -1`` must give one ``perfsim: error: ...`` line."""
    proc, _ = negative_seed
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("perfsim: error: ") and "seed" in lines[0] and "-1" in lines[0]


def test_negative_seed_in_the_scenario_file(capsys, tmp_path):
    scenario = _scenario(tmp_path, f"seed: -1\nportfolio: {{file: {DATA / 'tiny_scores.csv'}}}\n")
    code, _, stderr = run_cli(capsys, "run", scenario, "--out", tmp_path / "o")
    assert code == 2 and "seed" in stderr and "-1" in stderr
    with pytest.raises(InputError, match="seed"):
        load_scenario(scenario)


# --- atomic output --------------------------------------------------------------------------

def test_failed_write_leaves_no_output_directory(capsys, tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device", "summary.json")

    monkeypatch.setattr(perfsim.present.report, "write_json", broken)
    out = tmp_path / "out"
    code, _, stderr = run_cli(capsys, "run", DATA / "tiny_scenario.yaml", "--out", out)
    assert code != 0 and "Traceback" not in stderr
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []  # no half-written temporary directory either


def test_failed_rerun_keeps_the_previous_output(capsys, tmp_path, monkeypatch):
    out = tmp_path / "out"
    assert run_cli(capsys, "run", DATA / "tiny_scenario.yaml", "--out", out)[0] == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device", "summary.json")

    monkeypatch.setattr(perfsim.present.report, "write_json", broken)
    assert run_cli(capsys, "run", DATA / "tiny_scenario.yaml", "--out", out)[0] != 0
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_rerun_replaces_the_previous_output(capsys, tmp_path):
    out = tmp_path / "out"
    assert run_cli(capsys, "run", DATA / "tiny_scenario.yaml", "--out", out)[0] == 0
    assert run_cli(capsys, "run", DATA / "tiny_scenario.yaml", "--out", out, "--seed",
                   "11")[0] == 0
    assert {p.name for p in out.iterdir()} == OUTPUTS
    assert json.loads((out / "summary.json").read_text(encoding="utf-8"))["seed"] == 11
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_rerun_over_files_the_user_added_or_changed_is_refused(capsys, tmp_path):
    out = tmp_path / "out"
    assert run_cli(capsys, "run", DATA / "tiny_scenario.yaml", "--out", out)[0] == 0
    (out / "stale.txt").write_text("mine", encoding="utf-8")
    (out / "summary.json").write_text("{}", encoding="utf-8")
    code, _, err = run_cli(capsys, "run", DATA / "tiny_scenario.yaml", "--out", out)
    assert code == 2 and "holds stale.txt and 1 more, which perfsim did not write" in err
    assert (out / "stale.txt").read_text(encoding="utf-8") == "mine"
    assert (out / "summary.json").read_text(encoding="utf-8") == "{}"


def test_out_naming_an_existing_file_is_refused(capsys, tmp_path):
    out = tmp_path / "results"
    out.write_text("my notes", encoding="utf-8")
    code, _, stderr = run_cli(capsys, "run", DATA / "tiny_scenario.yaml", "--out", out)
    assert code == 2
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("perfsim: error: ") and "results" in lines[0]
    assert out.read_text(encoding="utf-8") == "my notes"
    assert [p.name for p in tmp_path.iterdir()] == ["results"]


def test_output_directory_has_the_mode_of_an_ordinary_directory(capsys, tmp_path):
    (tmp_path / "plain").mkdir()
    assert run_cli(capsys, "run", DATA / "tiny_scenario.yaml", "--out", tmp_path / "out")[0] == 0
    assert (tmp_path / "out").stat().st_mode == (tmp_path / "plain").stat().st_mode


# --- seeds ----------------------------------------------------------------------------------

def test_seed_changes_numbers_and_same_seed_is_byte_identical(capsys, tmp_path):
    for name, seed in (("a", "5"), ("b", "5"), ("c", "6")):
        code, _, stderr = run_cli(capsys, "run", LIUPANSHUI, "--seed", seed, "--out",
                                  tmp_path / name)
        assert code == 0, stderr
    for f in OUTPUTS - {MARKER}:  # the marker records the time and the command
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes(), f
    a = pd.read_csv(tmp_path / "a" / "allocations.csv")
    c = pd.read_csv(tmp_path / "c" / "allocations.csv")
    assert not np.allclose(a["budget"], c["budget"])
    assert not np.allclose(a["score"], c["score"])
    summary_c = json.loads((tmp_path / "c" / "summary.json").read_text(encoding="utf-8"))
    assert summary_c["seed"] == 6
    # the calibration holds whatever the seed, as closely as a portfolio's steps allow
    assert fair_cut(summary_c) == pytest.approx(128_000_000, rel=0.05)


def test_default_output_directory(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shutil.copy(DATA / "tiny_scores.csv", tmp_path / "tiny_scores.csv")
    shutil.copy(DATA / "tiny_scenario.yaml", tmp_path / "tiny_scenario.yaml")
    assert run_cli(capsys, "run", "tiny_scenario.yaml")[0] == 0
    assert {p.name for p in (tmp_path / "reports" / "runs" / "tiny").iterdir()} == OUTPUTS


@pytest.mark.parametrize("name", ["liupanshui_2021_synthetic.xlsx",
                                  "national_template_example.csv"])
@pytest.mark.parametrize("command", ["run", "sensitivity"])
def test_a_portfolio_table_given_for_a_scenario_is_told_what_names_it(capsys, tmp_path, name,
                                                                      command):
    """A finance user's first try — the table itself to ``perfsim run`` — is one line that
    says a scenario YAML names the table, and where to find one; nothing is written."""
    table = SCENARIOS.parent / "portfolios" / name
    assert table.is_file()
    out = tmp_path / "out"
    params = tmp_path / "params.yaml"
    params.write_text("- {name: linkage.ratio, bounds: [0.1, 0.2]}\n", encoding="utf-8")
    args = [command, str(table)] + (["--out", str(out)] if command == "run"
                                     else ["--params", str(params), "--n", "8"])
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert err.startswith(f"perfsim: error: {table}: 这是表格，不是情景文件"), err
    assert "/ a table, not a scenario: a scenario YAML names it (portfolio: {file: ...}" in err
    assert "datasets/scenarios/liupanshui_2022_workbook.yaml" in err
    assert (SCENARIOS / "liupanshui_2022_workbook.yaml").is_file()
    assert not out.exists()
