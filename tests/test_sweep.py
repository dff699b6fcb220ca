"""Sweeps: a grid of parameters expanded into notebook runs executed in parallel."""

from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from docs_pages import page

from perfsim.cli import main
from perfsim.errors import InputError
from perfsim.io import MARKER, read_marker
from perfsim.notebooks import sweep as nbs
from perfsim.present import plots


def grid_file(tmp_path: Path, text: str, name: str = "grid.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- reading a sweep file (nothing runs) --------------------------------------------------------

def test_grid_expands_into_every_combination(tmp_path):
    spec = nbs.read_sweep(grid_file(tmp_path, """
notebook: 07
name: ratio_noise
parameters: {replications: 32}
grid:
  ratio: [0.10, 0.20]
  noise: [0.0, 0.05, 0.1]
plot: {x: noise, y: savings}
"""))
    assert spec.notebook.stem == "07_training_walkthrough"
    assert spec.name == "ratio_noise" and spec.fixed == {"replications": 32}
    combos = spec.combinations()
    assert len(combos) == 6
    assert combos[0] == {"ratio": 0.10, "noise": 0.0}
    assert combos[-1] == {"ratio": 0.20, "noise": 0.1}


@pytest.mark.parametrize("text,match", [
    ("notebook: 07\ngrid: {ratoi: [0.1]}\n", r"unknown parameter \(valid: .*ratio"),
    ("notebook: 07\ngrid: {replications: [many]}\n", "whole number"),
    ("notebook: 07\ngrid: {ratio: 0.1}\n", "non-empty list"),
    ("notebook: 07\nparameters: {ratio: 0.1}\ngrid: {ratio: [0.2]}\n", "one place"),
    ("notebook: 07\ngrid: {ratio: [0.1]}\nplot: {x: seed}\n", "grid parameter"),
    ("notebook: 07\ngrid: {ratio: [0.1]}\nworkers: 2\n", "unknown key"),
    ("notebook: 99\ngrid: {ratio: [0.1]}\n", "no such notebook"),
    ("grid: {ratio: [0.1]}\n", "required"),
    ("notebook: 07\ngrid: {output_dir: [a]}\n", "set by the runner"),
])
def test_bad_sweep_files_are_rejected_before_anything_runs(tmp_path, text, match):
    with pytest.raises(InputError, match=match):
        nbs.read_sweep(grid_file(tmp_path, text))


def test_cli_rejects_a_bad_grid_without_running(tmp_path, capsys):
    grid = grid_file(tmp_path, "notebook: 07\ngrid: {ratoi: [0.1, 0.2]}\n")
    assert main(["sweep", str(grid), "--out", str(tmp_path / "reports")]) == 2
    assert "unknown parameter" in capsys.readouterr().err
    assert not (tmp_path / "reports").exists()


# --- running sweeps -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def failing_sweep(tmp_path_factory):
    """Three runs of notebook 07 on two workers; the middle one (a quota of 150%, which the
    grading inside the notebook refuses) fails."""
    base = tmp_path_factory.mktemp("sweep")
    grid = grid_file(base, """
notebook: 07_training_walkthrough
name: ratios
parameters: {replications: 32}
grid:
  quota: [0.2, 1.5, 0.3]
plot: {x: quota, y: savings}
""")
    reports = base / "reports"
    code = main(["sweep", str(grid), "--workers", "2", "--out", str(reports)])
    return code, reports


def test_a_failing_combination_is_reported_and_the_others_finish(failing_sweep, capsys):
    code, reports = failing_sweep
    assert code == 1
    (sweep_dir,) = [d for d in reports.iterdir() if d.name.startswith("sweep-ratios-")]
    meta = json.loads((sweep_dir / "sweep.json").read_text(encoding="utf-8"))
    status = {r["run_id"]: r["status"] for r in meta["runs"]}
    assert status == {"001": "ok", "002": "failed", "003": "ok"}
    assert meta["failed"] == 1 and meta["status"] == "failed"
    failed = next(r for r in meta["runs"] if r["status"] == "failed")
    assert failed["parameters"] == {"quota": 1.5} and "quotas.excellent" in failed["error"]
    # the failed run keeps its executed notebook with the error visible
    run = sweep_dir / "runs" / "002"
    executed = nbformat.read(run / "07_training_walkthrough.ipynb", as_version=4)
    assert any(o.get("output_type") == "error" and o["ename"] == "InputError"
               for c in executed.cells if c.cell_type == "code" for o in c.outputs)
    assert "InputError" in (run / "07_training_walkthrough.html").read_text(encoding="utf-8")
    assert json.loads((run / "manifest.json").read_text())["status"] == "failed"
    # the others completed: one sweep table from both of them, and a comparison plot
    assert (sweep_dir / "sweep.csv").read_bytes()[:7] == b"\xef\xbb\xbfrun,"  # BOM for Excel
    table = pd.read_csv(sweep_dir / "sweep.csv", dtype={"run": str}, encoding="utf-8-sig")
    assert sorted(set(table["run"])) == ["001", "003"]
    assert sorted(set(table["quota"])) == [0.2, 0.3]
    for rid in ("001", "003"):
        results = pd.read_csv(sweep_dir / "runs" / rid / "tables" / "results.csv")
        assert len(table[table["run"] == rid]) == len(results)
    assert (sweep_dir / "comparison.png").read_bytes()[:4] == b"\x89PNG"
    assert not list(reports.glob(".*partial*"))
    # the sweep, its runs folder and each run carry perfsim's marker; nothing else is left
    assert read_marker(sweep_dir)["kind"] == "sweep"
    assert read_marker(sweep_dir / "runs")["kind"] == "reports"
    assert {read_marker(sweep_dir / "runs" / r)["kind"] for r in ("001", "002", "003")} == {
        "notebook run"}
    assert sorted(p.name for p in reports.iterdir() if p.name.startswith(".")) == [MARKER]
    assert sorted(p.name for p in (sweep_dir / "runs").iterdir()) == [MARKER, "001", "002",
                                                                       "003"]


def test_index_lists_the_sweep_and_its_runs(failing_sweep):
    code, reports = failing_sweep
    index = (reports / "index.html").read_text(encoding="utf-8")
    assert "sweep-ratios-" in index and 'class="failed"' in index
    assert "runs/002/07_training_walkthrough.html" in index
    assert "runs/001/07_training_walkthrough.html" in index


def test_cli_exit_message_names_failed_runs(tmp_path, capsys):
    grid = grid_file(tmp_path, """
notebook: 07
parameters: {replications: 32}
grid: {quota: [1.5]}
""")
    assert main(["sweep", str(grid), "--workers", "1", "--out", str(tmp_path / "r")]) == 1
    err = capsys.readouterr().err
    assert "1 of 1 runs failed" in err and "run 001" in err and "'quota': 1.5" in err


def test_dask_engine_gives_the_same_tables(failing_sweep, tmp_path):
    _, reports = failing_sweep
    (first,) = [d for d in reports.iterdir() if d.name.startswith("sweep-ratios-")]
    grid = grid_file(tmp_path, """
notebook: 07
name: dask
parameters: {replications: 32}
grid: {quota: [0.2, 0.3]}
""")
    before = dict(os.environ)
    result = nbs.run_sweep(grid, workers=2, engine="dask", reports=tmp_path / "r")
    assert not result.failed
    assert dict(os.environ) == before   # the cluster's settings for its workers stay theirs
    for mine, theirs in (("001", "001"), ("002", "003")):
        a = result.path / "runs" / mine / "tables" / "results.csv"
        b = first / "runs" / theirs / "tables" / "results.csv"
        assert a.read_bytes() == b.read_bytes()


# --- the comparison plot ---------------------------------------------------------------------

def test_comparison_plot_defaults_and_filters():
    table = pd.DataFrame({
        "run": ["001", "001", "002", "002"], "noise": [0.0, 0.0, 0.1, 0.1],
        "metric": ["misgrading", "wrong_cuts"] * 2, "mean": [0.1, 5e6, 0.3, 9e6],
    })
    fig = plots.sweep_comparison(table, grid=["noise"], title="t", source="test")
    ax = fig.axes[0]
    line = ax.get_lines()[0]
    assert list(line.get_ydata()) == [0.1, 0.3]  # the first metric only
    assert "metric = misgrading" in ax.get_ylabel()
    fig = plots.sweep_comparison(table, grid=["noise"], where={"metric": "wrong_cuts"},
                                 title="t", source="test")
    assert list(fig.axes[0].get_lines()[0].get_ydata()) == [5e6, 9e6]
    assert plots.sweep_comparison(table[["run", "noise"]], grid=["noise"], title="t",
                                  source="s") is None


def test_readme_sweep_example_is_valid(tmp_path):
    import re

    readme = page("tasks/reports.md")
    body = re.search(r"<!-- example: sweep.yaml -->\n```yaml\n(.*?)```", readme, re.S).group(1)
    spec = nbs.read_sweep(grid_file(tmp_path, body))
    assert spec.notebook.stem == "04_reduction_ratio" and len(spec.combinations()) == 6
    assert spec.plot == {"x": "self_evaluation_noise", "y": "savings", "hue": "ratio"}
