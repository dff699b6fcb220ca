"""perfsim writes only its own output directories (issue 10): markers, refusals, names, locks,
interrupts, umask and the remaining input checks.

Sentinel files stand for a user's work: every refusal is checked to leave the whole tree as it
was (:func:`snapshot`). Interrupts and concurrent runs use real processes; they wait for a state
on disk (a lock or a partial directory), never for a time.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import nbformat
import pytest
from conftest import one_error_line

import perfsim
from perfsim import cli
from perfsim.cli import main
from perfsim.errors import InputError
from perfsim.io import (
    MARKER,
    atomic_directory,
    check_output_dir,
    foreign_entries,
    prepare_reports_dir,
    read_marker,
    remove_output,
    safe_name,
)
from perfsim.model.portfolio import MAX_BUDGET, generated_size, load_portfolio
from perfsim.model.scenario import load_scenario
from perfsim.notebooks import sweep

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
TINY = DATA / "tiny_scenario.yaml"
LIUPANSHUI = ROOT / "datasets" / "scenarios" / "liupanshui_2022.yaml"
#: subprocesses import the same perfsim as the tests
ENV = {**os.environ, "PYTHONPATH": str(Path(perfsim.__file__).resolve().parent.parent)}
PERFSIM = [sys.executable, "-m", "perfsim.cli"]


def snapshot(root: Path) -> dict[str, object]:
    """Every file and folder under ``root``: its kind, mode and content hash."""
    out: dict[str, object] = {}
    for p in sorted(root.rglob("*")):
        st = p.lstat()
        key = p.relative_to(root).as_posix()
        if stat.S_ISREG(st.st_mode):
            out[key] = ("file", st.st_mode, hashlib.sha256(p.read_bytes()).hexdigest())
        else:
            out[key] = ("dir" if p.is_dir() else "other", st.st_mode, None)
    return out


def user_folder(root: Path, name: str = "userdata") -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "sentinel.txt").write_text("a finance officer's notes\n", encoding="utf-8")
    (folder / "budget.xlsx").write_bytes(b"not really a workbook")
    return folder


def refused(capsys, root: Path, *argv: object) -> str:
    """Run ``perfsim *argv``; it must exit 2 with one line and leave ``root`` as it was."""
    before = snapshot(root)
    code = main([str(a) for a in argv])
    line = one_error_line(capsys)
    assert code == 2, line
    assert snapshot(root) == before, "a refused command changed the file tree"
    return line


# --- 2. names are not paths ---------------------------------------------------------------------

@pytest.mark.parametrize("name", ["../../x", "/abs/path", ".", "..", "a/b", "a\\b", "", ".hidden",
                                  "x\ny", "sp ace", "é", "a" * 201, 5, None])
def test_safe_name_refuses_anything_but_a_plain_name(name):
    with pytest.raises(InputError) as err:
        safe_name(name, "scenario.yaml", "name")
    assert str(err.value).startswith("scenario.yaml: 字段 field 'name'")


@pytest.mark.parametrize("name", ["liupanshui_2022", "v2.0-final", "六盘水_2022", "テスト", "평가",
                                  "a" * 200])
def test_safe_name_accepts_plain_names_cjk_included(name):
    assert safe_name(name) == name


@pytest.mark.parametrize("name", ["../../x", "/abs/path", ".", "..", "a b"])
def test_a_scenario_name_that_is_no_plain_name_is_refused(capsys, tmp_path, monkeypatch,
                                                          name):
    user_folder(tmp_path)
    (tmp_path / "x").mkdir()
    scenario = tmp_path / "colleague.yaml"
    scenario.write_text(f"name: {json.dumps(name)}\nportfolio: {{generate: {{n_projects: 20, "
                        "n_departments: 2}}\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    line = refused(capsys, tmp_path, "run", "colleague.yaml")
    assert "colleague.yaml: 字段 field 'name'" in line
    with pytest.raises(InputError, match="colleague.yaml: 字段 field 'name'"):
        load_scenario(scenario)  # so `perfsim validate` refuses it too


def test_a_scenario_without_a_name_takes_the_file_name_if_it_is_plain(tmp_path):
    shutil.copy(DATA / "tiny_scores.csv", tmp_path)
    text = TINY.read_text(encoding="utf-8").replace("name: tiny\n", "")
    (tmp_path / "my scenario.yaml").write_text(text, encoding="utf-8")
    (tmp_path / "mine.yaml").write_text(text, encoding="utf-8")
    assert load_scenario(tmp_path / "mine.yaml").name == "mine"
    with pytest.raises(InputError, match="my scenario.yaml: 字段 field 'name"):
        load_scenario(tmp_path / "my scenario.yaml")


def test_a_bad_sweep_name_names_the_sweep_file(tmp_path):
    grid = tmp_path / "grid.yaml"
    grid.write_text("notebook: 07\nname: ../escape\ngrid: {ratio: [0.1]}\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        sweep.read_sweep(grid)
    assert str(err.value).startswith(f"{grid}: 字段 field 'name' = '../escape'")


def test_a_bad_parameter_file_value_names_the_file(capsys, tmp_path):
    params = tmp_path / "p.yaml"
    params.write_text("replications: many\n", encoding="utf-8")
    line = refused(capsys, tmp_path, "notebooks", "run", "07", "--params", params,
                   "--out", tmp_path / "reports")
    assert line.startswith(f"perfsim: error: {params}: ") and "replications" in line


# --- 1. ownership: perfsim replaces only what it wrote ------------------------------------------

def test_out_a_user_folder_is_refused_and_left_alone(capsys, tmp_path):
    folder = user_folder(tmp_path)
    line = refused(capsys, tmp_path, "run", TINY, "--out", folder)
    assert line == (f"perfsim: error: {folder}: 不是 perfsim 的输出文件夹 / not a perfsim "
                    "output directory (it holds budget.xlsx and 1 more); choose another --out or "
                    "remove it")


def test_the_refusal_names_the_single_file_a_folder_holds(capsys, tmp_path, monkeypatch):
    (tmp_path / "userdata").mkdir()
    (tmp_path / "userdata" / "sentinel.txt").write_text("x", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    line = refused(capsys, tmp_path, "run", TINY, "--out", "userdata")
    assert line == ("perfsim: error: userdata: 不是 perfsim 的输出文件夹 / not a perfsim output "
                    "directory (it holds sentinel.txt); choose another --out or remove it")


@pytest.mark.parametrize("out, words", [
    (".", "is the current directory"),
    ("..", "contains the current directory"),
    ("work/..", "is the current directory"),
])
def test_out_the_current_directory_or_a_parent_is_refused(capsys, tmp_path, monkeypatch, out,
                                                          words):
    work = tmp_path / "work"
    work.mkdir()
    user_folder(work)
    monkeypatch.chdir(work if out != "work/.." else tmp_path)
    assert words in refused(capsys, tmp_path, "run", TINY, "--out", out)


@pytest.mark.parametrize("out, words", [
    ("data", "contains an input of the run"),
    ("data/tiny_scores.csv", "is not a directory"),
    ("data/tiny_scores.csv/x", "is not a directory (data/tiny_scores.csv is a file)"),
    ("inputs", "contains an input of the run"),
])
def test_an_output_never_overlaps_the_inputs(capsys, tmp_path, monkeypatch, out, words):
    (tmp_path / "data").mkdir()
    shutil.copy(DATA / "tiny_scores.csv", tmp_path / "data")
    (tmp_path / "inputs").mkdir()
    (tmp_path / "inputs" / "s.yaml").write_text(
        TINY.read_text(encoding="utf-8").replace("tiny_scores.csv", "../data/tiny_scores.csv"),
        encoding="utf-8")
    (tmp_path / "data" / "results").mkdir()
    monkeypatch.chdir(tmp_path)
    line = refused(capsys, tmp_path, "run", "inputs/s.yaml", "--out", out)
    assert words in line


def test_the_bundled_datasets_are_never_an_output(tmp_path):
    for out in (ROOT / "datasets", ROOT / "datasets" / "scenarios", ROOT / "datasets" / "new"):
        with pytest.raises(InputError, match="input of the run"):
            check_output_dir(out)


def test_out_under_a_regular_file_is_refused_before_any_work(capsys, tmp_path, monkeypatch):
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")

    def no_work(*args, **kwargs):
        raise AssertionError("work started before the output was checked")

    for command in (cli.run, cli.sensitivity):   # where each command loads its scenario
        monkeypatch.setattr(command, "load_scenario", no_work)
    line = refused(capsys, tmp_path, "run", TINY, "--out", tmp_path / "notes.txt" / "out")
    assert "is not a directory" in line and "notes.txt is a file" in line
    params = tmp_path / "params.yaml"
    params.write_text("- {name: linkage.ratio, bounds: [0.1, 0.2]}\n", encoding="utf-8")
    line = refused(capsys, tmp_path, "sensitivity", TINY, "--params", params,
                   "--plot", tmp_path / "notes.txt" / "figs")
    assert "is not a directory" in line and "--plot" in line


def test_plot_into_a_user_folder_is_refused(capsys, tmp_path):
    folder = user_folder(tmp_path)
    params = tmp_path / "params.yaml"
    params.write_text("- {name: linkage.ratio, bounds: [0.1, 0.2]}\n", encoding="utf-8")
    line = refused(capsys, tmp_path, "sensitivity", TINY, "--params", params, "--n", "4",
                   "--plot", folder)
    assert "not a perfsim output directory" in line and "--plot" in line


def test_an_empty_folder_may_become_an_output_and_a_rerun_replaces_it(capsys, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    assert main(["run", str(TINY), "--out", str(out)]) == 0
    marker = read_marker(out)
    assert marker is not None and marker["kind"] == "run" and marker["id"] == "out"
    assert {"perfsim", "command", "created", "pid"} <= set(marker)
    assert sorted(marker["files"]) == ["allocations.csv", "grades.csv", "ledger.csv",
                                       "summary.json"]
    assert main(["run", str(TINY), "--out", str(out), "--seed", "3"]) == 0
    assert json.loads((out / "summary.json").read_text(encoding="utf-8"))["seed"] == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_file_the_user_saved_in_an_output_is_never_deleted(capsys, tmp_path):
    # issue 23: a note saved inside an output folder used to vanish on the next run
    out = tmp_path / "out"
    assert main(["run", str(TINY), "--out", str(out)]) == 0
    (out / "notes").mkdir()
    (out / "notes" / "批注.txt").write_text("a finance officer's notes\n", encoding="utf-8")
    line = refused(capsys, tmp_path, "run", TINY, "--out", out, "--seed", "3")
    assert line == (f"perfsim: error: {out}: 含有 notes 及另外 1 项，均不是 perfsim 写的（或写后被"
                    "改动）；perfsim 从不删除您的文件: 请移出该文件夹或另选 / holds notes and 1 "
                    "more, which perfsim did not write (or which changed since); perfsim never "
                    "deletes your files: move it out of the folder or choose another --out")
    (out / "notes" / "批注.txt").rename(tmp_path / "批注.txt")
    line = refused(capsys, tmp_path, "run", TINY, "--out", out)  # an empty folder of theirs
    assert "holds notes, which perfsim did not write" in line
    (out / "notes").rmdir()
    assert main(["run", str(TINY), "--out", str(out), "--seed", "3"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "批注.txt"]


def test_a_workbook_edited_since_perfsim_wrote_it_is_not_replaced(capsys, tmp_path):
    out = tmp_path / "out"
    assert main(["run", str(TINY), "--xlsx", "--out", str(out)]) == 0
    book = out / "allocation.xlsx"
    book.write_bytes(book.read_bytes() + b"edited")  # saved again from Excel, say
    line = refused(capsys, tmp_path, "run", TINY, "--out", out)
    assert "holds allocation.xlsx, which perfsim did not write (or which changed since)" in line
    # the same size but a new modification time counts as a change too
    book.write_bytes(book.read_bytes()[:-6])
    line = refused(capsys, tmp_path, "run", TINY, "--out", out)
    assert "holds allocation.xlsx," in line


def test_an_output_of_an_earlier_perfsim_without_a_list_is_not_replaced(capsys, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / MARKER).write_text('{"kind": "run"}', encoding="utf-8")
    (out / "allocations.csv").write_text("old", encoding="utf-8")
    line = refused(capsys, tmp_path, "run", TINY, "--out", out)
    assert "written by an earlier perfsim, which kept no list of its files" in line


def test_a_file_saved_while_the_run_works_stays_and_the_run_says_so(capsys, tmp_path,
                                                                    monkeypatch):
    out = tmp_path / "out"
    assert main(["run", str(TINY), "--out", str(out)]) == 0
    real = cli.run.write_year

    def saved_meanwhile(*args, **kwargs):
        (out / "mine.txt").write_text("keep", encoding="utf-8")
        return real(*args, **kwargs)

    monkeypatch.setattr(cli.run, "write_year", saved_meanwhile)
    assert main(["run", str(TINY), "--out", str(out)]) == 2
    assert "holds mine.txt, which perfsim did not write" in one_error_line(capsys)
    assert (out / "mine.txt").read_text(encoding="utf-8") == "keep"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no partial left


def test_stale_partial_directories_are_cleaned_but_only_perfsim_s(capsys, tmp_path):
    out = tmp_path / "out"
    hexes = "0123456789abcdef" * 2
    dead = (f".out~partial-{hexes}", ".out~old-99-abcdef12")
    for name in dead:  # left by a killed run of the same target
        (tmp_path / name).mkdir()
        (tmp_path / name / MARKER).write_text('{"kind": "run", "id": "out"}', encoding="utf-8")
    (tmp_path / dead[0] / "allocations.csv").write_text("half", encoding="utf-8")
    keep = {
        ".out~partial-mine": None,                       # not perfsim's name pattern
        f".out~partial-{hexes}x": "out",                 # nor this
        f".other~partial-{hexes}": "other",              # another target's
        f".out~partial-{hexes[::-1]}": "elsewhere",      # its marker names another target
        f".out.partial-{hexes}": "out",                  # not this perfsim's name pattern
    }
    for name, owner in keep.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "sentinel.txt").write_text("keep", encoding="utf-8")
        if owner:
            (tmp_path / name / MARKER).write_text(f'{{"kind": "run", "id": "{owner}"}}',
                                                  encoding="utf-8")
    assert main(["run", str(TINY), "--out", str(out)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*keep, "out"])
    assert all((tmp_path / n / "sentinel.txt").exists() for n in keep)


def test_a_run_id_that_looks_like_a_partial_does_not_lose_its_work(capsys, tmp_path):
    """issue 23: run id ``a`` cleaned ``.a.partial-*`` and so deleted the work in progress of a
    concurrent run with id ``a.partial-b``. The hidden names now use ``~``, which no run id
    holds, and the clean-up matches the exact pattern of its own target."""
    from_b = tmp_path / "a.partial-b"
    assert safe_name("a.partial-b") == "a.partial-b"
    with pytest.raises(InputError):
        safe_name("a~partial-b")
    with atomic_directory(from_b) as tmp:  # run b is at work ...
        (tmp / "result.csv").write_text("b's result", encoding="utf-8")
        assert main(["run", str(TINY), "--out", str(tmp_path / "a")]) == 0  # ... when a runs
        assert (tmp / "result.csv").exists()
    assert (from_b / "result.csv").read_text(encoding="utf-8") == "b's result"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "a.partial-b"]


def test_remove_output_removes_only_what_perfsim_wrote(tmp_path):
    mine = tmp_path / "mine"
    with atomic_directory(mine) as tmp:
        (tmp / "sub").mkdir()
        (tmp / "sub" / "a.csv").write_text("1", encoding="utf-8")
        (tmp / "b.csv").write_text("2", encoding="utf-8")
    assert remove_output(mine) and not mine.exists()
    with atomic_directory(mine) as tmp:
        (tmp / "sub").mkdir()
        (tmp / "sub" / "a.csv").write_text("1", encoding="utf-8")
    (mine / "sub" / "yours.txt").write_text("keep", encoding="utf-8")
    assert not remove_output(mine)
    assert sorted(p.relative_to(mine).as_posix() for p in mine.rglob("*")) == [
        MARKER, "sub", "sub/yours.txt"]  # perfsim's a.csv gone, the user's file kept
    assert foreign_entries(mine) == ["sub/yours.txt"]
    legacy = tmp_path / "legacy"
    legacy.mkdir()
    (legacy / MARKER).write_text('{"kind": "run"}', encoding="utf-8")
    (legacy / "a.csv").write_text("1", encoding="utf-8")
    theirs = user_folder(tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    forged = tmp_path / "forged"
    forged.mkdir()
    (forged / MARKER).mkdir()  # a folder named like the marker is no marker
    (forged / "x").write_text("keep", encoding="utf-8")
    assert remove_output(empty) and not empty.exists()
    assert not remove_output(legacy) and (legacy / "a.csv").exists()  # no list: not provable
    assert not remove_output(theirs) and (theirs / "sentinel.txt").exists()
    assert not remove_output(forged) and (forged / "x").exists()


def test_rmtree_in_perfsim_is_only_ever_called_on_a_marked_partial_directory():
    calls = []
    for path in (ROOT / "perfsim").rglob("*.py"):
        for line in path.read_text(encoding="utf-8").splitlines():
            if "rmtree(" in line:
                calls.append((path.relative_to(ROOT).as_posix(), line.strip()))
    assert calls == [("perfsim/io.py", "shutil.rmtree(path, ignore_errors=True)")]
    source = (ROOT / "perfsim" / "io.py").read_text(encoding="utf-8")
    body = source[source.index("def _remove_partial("):]
    body = body[:body.index("\ndef ")]
    assert ('if marker is not None and marker.get("id") == m["target"]:\n'
            '        shutil.rmtree(path') in body
    assert "path.is_symlink()" in body and "_PARTIAL_NAME.fullmatch(path.name)" in body
    # called on this run's own partial and on partials that _stale() proved dead
    assert source.count("_remove_partial(") == 3


def test_only_a_marked_hidden_partial_folder_is_ever_removed(tmp_path):
    from perfsim.io import PARTIAL, _remove_partial, write_marker

    def folder(name, marked, of="out"):
        d = tmp_path / name
        d.mkdir()
        (d / "budget.xlsx").write_text("a user's file", encoding="utf-8")
        if marked:
            write_marker(d, "run", of)   # as atomic_directory marks a partial of ``of``
        return d

    kept = [folder(f".out{PARTIAL}{'a' * 32}", marked=False),   # no marker
            folder("reports", marked=True),                      # marked, not a partial
            folder(f"out{PARTIAL}{'b' * 32}", marked=True),      # not hidden
            folder(f".out{PARTIAL}{'e' * 32}", marked=True, of="other"),  # another's marker
            folder(f".out{PARTIAL}{'f' * 31}", marked=True),     # not 32 hex digits
            folder(f".out{PARTIAL}{'f' * 32}.bak", marked=True)]  # more after the digits
    target = folder(f".link{PARTIAL}{'c' * 32}-target", marked=True, of="link")
    link = tmp_path / f".link{PARTIAL}{'c' * 32}"
    link.symlink_to(target, target_is_directory=True)
    for d in [*kept, link]:
        _remove_partial(d)
    assert all((d / "budget.xlsx").is_file() for d in [*kept, target])
    gone = folder(f".out{PARTIAL}{'d' * 32}", marked=True)
    _remove_partial(gone)
    assert not gone.exists()


def test_notebooks_refuse_a_user_folder_as_reports_or_run(capsys, tmp_path, monkeypatch):
    folder = user_folder(tmp_path)
    line = refused(capsys, tmp_path, "notebooks", "run", "07", "--out", folder)
    assert "not a perfsim reports folder (it holds budget.xlsx and 1 more)" in line
    grid = tmp_path / "grid.yaml"
    grid.write_text("notebook: 07\ngrid: {ratio: [0.1, 0.2]}\n", encoding="utf-8")
    line = refused(capsys, tmp_path, "sweep", grid, "--out", folder)
    assert "not a perfsim reports folder" in line
    # the default reports folder is perfsim's, but a user folder put inside it is not
    monkeypatch.chdir(tmp_path)
    user_folder(tmp_path / "reports")
    line = refused(capsys, tmp_path, "notebooks", "run", "07", "--run-id", "userdata")
    assert line == ("perfsim: error: reports/userdata: 不是 perfsim 的输出文件夹 / not a "
                    "perfsim output directory (it holds budget.xlsx and 1 more); choose another "
                    "--run-id or remove it")
    assert refused(capsys, tmp_path, "notebooks", "run", "07", "--out", ".", "--run-id",
                   "userdata").endswith("is the current directory; choose a new folder for --out")


def test_an_index_html_perfsim_did_not_write_is_never_replaced(capsys, tmp_path):
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "index.html").write_text("<html>the team's own page</html>", encoding="utf-8")
    line = refused(capsys, tmp_path, "notebooks", "index", "--out", reports)
    assert "not a perfsim reports folder" in line
    (reports / MARKER).write_text('{"kind": "reports"}', encoding="utf-8")
    line = refused(capsys, tmp_path, "notebooks", "run", "07", "--out", reports)
    assert line.endswith("index.html: 不是 perfsim 写的，perfsim 不会替换它 / not written by "
                         "perfsim, so perfsim will not replace it; choose another --out or "
                         "remove it")


def test_a_reports_folder_is_never_replaced_by_a_run(capsys, tmp_path):
    reports = tmp_path / "reports"
    assert main(["notebooks", "index", "--out", str(reports)]) == 0
    capsys.readouterr()
    assert read_marker(reports)["kind"] == "reports"
    assert "a perfsim reports folder" in refused(capsys, tmp_path, "run", TINY, "--out",
                                                 reports)


# --- acceptance: a throwaway copy of the repository ---------------------------------------------

def test_acceptance_on_a_throwaway_copy_of_the_repository(capsys, tmp_path, monkeypatch):
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "datasets", repo / "datasets")
    user_folder(repo)
    user_folder(repo / "reports")
    gen = "portfolio: {generate: {n_projects: 20, n_departments: 2}}\n"
    for label, name in (("up", "../../x"), ("abs", str(tmp_path / "abs" / "path")),
                        ("dot", ".")):
        (repo / f"{label}.yaml").write_text(f"name: {json.dumps(name)}\n{gen}",
                                            encoding="utf-8")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run([*git, "init", "-q"], cwd=repo, check=True)
    subprocess.run([*git, "add", "-A"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "throwaway"], cwd=repo, check=True)
    monkeypatch.chdir(repo)
    scenario = "datasets/scenarios/liupanshui_2022.yaml"
    for argv in (["run", scenario, "--out", "userdata"],
                 ["run", scenario, "--out", "."],
                 ["run", scenario, "--out", "datasets"],
                 ["run", scenario, "--out", "datasets/scenarios"],
                 ["run", "up.yaml"], ["run", "abs.yaml"], ["run", "dot.yaml"],
                 ["notebooks", "run", "07", "--out", ".", "--run-id", "userdata"],
                 ["notebooks", "run", "07", "--run-id", "userdata"]):
        refused(capsys, tmp_path, *argv)
    status = subprocess.run(["git", "status", "--porcelain", "--ignored"], cwd=repo,
                            capture_output=True, text=True, check=True)
    assert status.stdout == ""
    assert not (tmp_path / "x").exists() and not (tmp_path / "abs").exists()
    # running the same command twice replaces perfsim's own first result
    for _ in range(2):
        assert main(["run", scenario]) == 0
    out = repo / "reports" / "runs" / "liupanshui_2022"
    assert read_marker(out)["kind"] == "run"
    assert sorted(p.name for p in (repo / "reports" / "runs").iterdir()) == ["liupanshui_2022"]


# --- 3. concurrency -------------------------------------------------------------------------------

@contextmanager
def held_by_another_process(target: Path):
    """Another process claims ``target`` (as a perfsim command writing it would)."""
    code = ("import sys\nfrom perfsim.io import claim_output\n"
            "with claim_output(sys.argv[1]):\n    print('held', flush=True)\n"
            "    sys.stdin.read()\n")
    proc = subprocess.Popen([sys.executable, "-c", code, str(target)], env=ENV, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert proc.stdout.readline().strip() == "held"
        yield
    finally:
        proc.stdin.close()
        proc.wait(timeout=60)


def test_a_second_command_on_a_busy_target_is_refused(capsys, tmp_path):
    out = tmp_path / "out"
    assert main(["run", str(TINY), "--out", str(out)]) == 0
    capsys.readouterr()
    before = snapshot(out)
    with held_by_another_process(out):
        code = main(["run", str(TINY), "--out", str(out), "--seed", "4"])
        line = one_error_line(capsys)
        assert code == 2
        assert re.fullmatch(rf"perfsim: error: {re.escape(str(out))}: 另一个 perfsim "
                            r"命令正在写入这里 / another perfsim command "
                            r"is writing here \(pid \d+, since .*\); wait for it to finish or "
                            r"choose another --out", line), line
        assert snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # and the lock is gone


def test_a_second_notebook_run_with_the_same_run_id_is_refused(capsys, tmp_path):
    reports = tmp_path / "reports"
    prepare_reports_dir(reports)  # as the first `perfsim notebooks run` did
    with held_by_another_process(reports / "same"):
        code = main(["notebooks", "run", "07", "--out", str(reports), "--run-id", "same"])
        line = one_error_line(capsys)
        assert code == 2 and "another perfsim command is writing here" in line
        assert "--run-id" in line
    assert not (reports / "same").exists()


def test_two_runs_started_at_once_on_one_target(tmp_path):
    """Whichever order they take, each run either completes or is refused with one line; the
    target ends up one complete result and nothing else is left beside it."""
    out = tmp_path / "out"
    argv = [*PERFSIM, "run", str(TINY), "--replications", "3000", "--out", str(out)]
    procs = [subprocess.Popen([*argv, "--seed", str(seed)], env=ENV, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for seed in (1, 2)]
    results = [(p.wait(timeout=120), p.stdout.read(), p.stderr.read()) for p in procs]
    for p in procs:
        p.stdout.close()
        p.stderr.close()
    assert any(code == 0 for code, _, _ in results)
    for code, _, err in results:
        assert code in (0, 2), err
        if code == 2:
            # the holder's pid and command are shown once it has written them down
            assert re.fullmatch(r"perfsim: error: .*: 另一个 perfsim 命令正在写入这里 / "
                                r"another perfsim command is writing here"
                                r"( \(.*\))?; wait for it to finish or choose another --out\n",
                                err), err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert sorted(p.name for p in out.iterdir()) == [MARKER, "projects.csv", "replications.csv",
                                                     "summary.json"]
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["seed"] in {seed for seed, (code, _, _) in zip((1, 2), results, strict=True)
                               if code == 0}


# --- 4. interrupts --------------------------------------------------------------------------------

def wait_for(condition, what: str, proc: subprocess.Popen, limit: float = 120.0) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        if proc.poll() is not None:
            raise AssertionError(f"perfsim ended ({proc.returncode}) before {what}: "
                                 f"{proc.stderr.read()}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupting_a_monte_carlo_run_leaves_nothing_behind(tmp_path, sig):
    user_folder(tmp_path)
    before = snapshot(tmp_path)
    out = tmp_path / "out"
    # a run that would not end (nor fit in memory: the limit raised so that it starts)
    proc = subprocess.Popen([*PERFSIM, "run", str(TINY), "--replications", "100000000",
                             "--out", str(out)], env={**ENV, "PERFSIM_MAX_MEMORY_GIB": "1e6"},
                            text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wait_for(lambda: any(p.name.endswith(".perfsim-lock") for p in tmp_path.iterdir()),
             "the run claimed its output", proc)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert err == "perfsim: interrupted\n"
    assert snapshot(tmp_path) == before


def test_interrupting_notebooks_while_a_kernel_runs(tmp_path):
    """Ctrl-C in a terminal (SIGINT to the process group) while the second notebook's kernel
    is busy: the first run, finished, stays; the second leaves nothing, its kernel is gone;
    the first run's kernel said nothing on the terminal when it shut down."""
    sleepy = tmp_path / "sleepy.ipynb"
    nb = nbformat.v4.new_notebook(metadata={
        "kernelspec": {"name": "python3", "language": "python", "display_name": "Python 3"}})
    params = nbformat.v4.new_code_cell('output_dir = ""  # set by the runner')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(
        "import os, time\nopen('busy', 'w').write(str(os.getpid()))\ntime.sleep(600)")]
    nbformat.write(nb, sleepy)
    reports = tmp_path / "reports"
    proc = subprocess.Popen([*PERFSIM, "notebooks", "run", "07", str(sleepy), "-p",
                             "replications", "8", "--out", str(reports), "--run-id", "t"],
                            env=ENV, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    busy = reports / ".t-sleepy~partial-*" / "busy"
    wait_for(lambda: any(reports.glob(str(busy.relative_to(reports)))),
             "the second kernel was busy", proc)
    (busy_file,) = reports.glob(str(busy.relative_to(reports)))
    kernel = int(busy_file.read_text())
    os.killpg(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert err == "perfsim: interrupted\n"  # no traceback, no kernel ERROR lines
    assert out.startswith("ok     07_training_walkthrough: ")
    assert sorted(p.name for p in reports.iterdir()) == [MARKER, "index.html",
                                                         "t-07_training_walkthrough"]
    assert json.loads((reports / "t-07_training_walkthrough" / "manifest.json").read_text(
        encoding="utf-8"))["status"] == "ok"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.kill(kernel, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        raise AssertionError(f"the kernel (pid {kernel}) outlived the run")


# --- 5. the remaining input checks -------------------------------------------------------------

@pytest.mark.parametrize("budget", ["1e308", "1e16", "1.7976931348623157e308"])
def test_budgets_whose_totals_would_overflow_are_refused_with_the_row(capsys, tmp_path, budget):
    csv = tmp_path / "p.csv"
    csv.write_text("project_id,department,budget,score\nP1,D1,1000,90\n"
                   f"P2,D1,{budget},80\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_portfolio(csv)
    message = str(err.value)
    assert message.startswith(f"{csv}: 第 3 行 row 3: 字段 field 'budget' = ")
    assert "too large" in message
    scenario = tmp_path / "s.yaml"
    scenario.write_text("name: s\nportfolio: {file: p.csv}\n", encoding="utf-8")
    line = refused(capsys, tmp_path, "run", scenario, "--out", tmp_path / "out")
    assert "row 3" in line and "budget" in line
    csv.write_text("project_id,department,budget,score\n"
                   f"P1,D1,{MAX_BUDGET:.0f},90\n", encoding="utf-8")
    assert load_portfolio(csv).budget[0] == MAX_BUDGET


@pytest.mark.parametrize("grading, system, words", [
    ("cutoffs: [120, 80, 60]", True,
     "cutoffs[0]' = 120: 必须在 [0, 100] 内 / must be a number in [0, 100] (points)"),
    ("cutoffs: [90, 80, -5]", True,
     "cutoffs[2]' = -5: 必须在 [0, 100] 内 / must be a number in [0, 100] (points)"),
    ("cutoffs: [101, 80, 60]", False,
     "cutoffs[0]' = 101: 必须在 [0, 100] 内 / must be a number in [0, 100] (points)"),
])
def test_grade_cutoffs_outside_the_system_s_scores_are_refused(tmp_path, grading, system,
                                                               words):
    shutil.copy(DATA / "tiny_scores.csv", tmp_path)
    lines = ["name: s", "portfolio: {file: tiny_scores.csv}", f"grading: {{{grading}}}"]
    if system:
        lines[1] = "portfolio: {generate: {n_projects: 20, n_departments: 2}}"
        lines.append("indicator_system: "
                     f"{ROOT / 'datasets/indicator_systems/national_project_self_eval.yaml'}")
    (tmp_path / "s.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_scenario(tmp_path / "s.yaml")
    assert str(err.value).startswith(f"{tmp_path / 's.yaml'}: 字段 field 'grading.cutoffs[")
    assert words in str(err.value)


def test_cutoffs_may_reach_the_total_plus_the_bonus_cap(tmp_path):
    """tests/data/tiny_system.yaml: 100 points and a bonus cap of 5."""
    shutil.copy(DATA / "tiny_system.yaml", tmp_path / "sys.yaml")
    s = tmp_path / "s.yaml"
    body = ("name: s\nportfolio: {{generate: {{n_projects: 20, n_departments: 2}}}}\n"
            "indicator_system: sys.yaml\ngrading: {{cutoffs: [{top}, 80, 60]}}\n")
    s.write_text(body.format(top=105), encoding="utf-8")
    assert load_scenario(s).grading.cutoffs[0] == 105
    s.write_text(body.format(top=105.5), encoding="utf-8")
    with pytest.raises(InputError, match=r"cutoffs\[0\]' = 105.5: 必须在 \[0, 105\] 内 / must be a "
                                         r"number in \[0, 105\] \(points\)"):
        load_scenario(s)


def test_a_generated_portfolio_too_large_for_memory_is_refused_before_allocation(capsys,
                                                                                tmp_path):
    scenario = tmp_path / "huge.yaml"
    scenario.write_text("name: huge\nportfolio: {generate: {n_projects: 10000000000000, "
                        "n_departments: 10}}\n", encoding="utf-8")
    line = refused(capsys, tmp_path, "run", scenario, "--out", tmp_path / "out")
    assert line.startswith(f"perfsim: error: {scenario}: generator: 字段 field 'n_projects' = ")
    assert re.search(r"需要约 [\d,.]+ GiB 内存，超过上限 [\d,.]+ GiB / would need about "
                     r"[\d,.]+ GiB, above the limit [\d,.]+ GiB \(set PERFSIM_MAX_MEMORY_GIB",
                     line)
    assert generated_size(3468, 561) < 10 * 2**20  # the real presets are far from the limit


# --- 6. files other people can read -----------------------------------------------------------

@pytest.mark.parametrize("mask", [0o022, 0o002, 0o077])
def test_outputs_follow_the_umask(tmp_path, mask):
    old = os.umask(mask)
    try:
        assert main(["run", str(TINY), "--out", str(tmp_path / "out"), "--xlsx"]) == 0
    finally:
        os.umask(old)
    out = tmp_path / "out"
    assert stat.S_IMODE(out.stat().st_mode) == 0o777 & ~mask
    files = list(out.iterdir())
    assert MARKER in {f.name for f in files} and "allocation.xlsx" in {f.name for f in files}
    for f in files:
        assert stat.S_IMODE(f.stat().st_mode) == 0o666 & ~mask, f.name
