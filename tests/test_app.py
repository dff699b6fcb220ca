"""The what-if app without a browser: ``perfsim run --set``, the bundled example workbook, the
page's pure part (hand-computed cases, agreement with scenario files and the command line),
the widgets, and the pieces ``perfsim app`` starts Voilà with."""

from __future__ import annotations

import datetime
import io
import json
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import DATA, ROOT, SCENARIOS, SYSTEMS
from forms_tables import clean_table
from forms_tables import workbook as table_workbook

import perfsim
from perfsim import numbers
from perfsim.app import compute, server
from perfsim.app.example import EXAMPLE_SCENARIO, EXAMPLE_WORKBOOK, SCORE_COLUMNS
from perfsim.app.whatif import WhatIf, page_script, panel
from perfsim.cli import main
from perfsim.errors import InputError
from perfsim.kernel.linkage import POOLS
from perfsim.model.scenario import load_scenario
from perfsim.present.report import XLSX_SHEETS

GENERATED = SCENARIOS / "liupanshui_2022.yaml"
TINY = DATA / "tiny_scenario.yaml"


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def savings_of(out_dir: Path) -> float:
    return json.loads((out_dir / "summary.json").read_text(encoding="utf-8"))[
        "totals_yuan"]["savings"]


@pytest.fixture(scope="module")
def example() -> perfsim.Scenario:
    return compute.example()


@pytest.fixture(scope="module")
def tiny() -> perfsim.Scenario:
    return perfsim.load(TINY)


# --- perfsim run --set ------------------------------------------------------------------------

def test_set_ratio_equals_a_scenario_file_with_that_ratio(capsys, tmp_path):
    doc = yaml.safe_load(EXAMPLE_SCENARIO.read_text(encoding="utf-8"))
    doc["linkage"]["ratio"] = 0.2
    doc["portfolio"]["file"] = str(EXAMPLE_WORKBOOK)
    edited = tmp_path / "ratio_20.yaml"
    edited.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    code, _, err = run_cli(capsys, "run", edited, "--out", tmp_path / "file")
    assert code == 0, err
    code, out, err = run_cli(capsys, "run", EXAMPLE_SCENARIO, "--set", "linkage.ratio=0.2",
                             "--out", tmp_path / "set")
    assert code == 0, err
    assert savings_of(tmp_path / "set") == savings_of(tmp_path / "file")
    assert "ratio 20.0%" in out
    base = pd.read_csv(tmp_path / "file" / "allocations.csv", encoding="utf-8-sig")
    via_set = pd.read_csv(tmp_path / "set" / "allocations.csv", encoding="utf-8-sig")
    pd.testing.assert_frame_equal(base, via_set)


def test_set_is_repeatable_and_reads_values_as_yaml(capsys, tmp_path):
    # the tiny portfolio by hand: 中 P2 (2,000) and P5 (500), 差 P3 (4,000). Cutoff for 中
    # at 68 makes P5 (65) 差; ratio 0.2: 0.2 × 2,000 + 4,000 + 500 = 4,900 saved
    code, _, err = run_cli(capsys, "run", TINY, "--set", "linkage.ratio=0.2",
                           "--set", "grading.cutoffs.fair=68", "--out", tmp_path / "o")
    assert code == 0, err
    assert savings_of(tmp_path / "o") == pytest.approx(4900.0, abs=1e-9)
    # a whole block, as in a scenario file: the pool redistributed to 优 (P1) leaves no savings
    code, _, err = run_cli(capsys, "run", TINY, "--set",
                           "linkage={rule: liupanshui, ratio: 0.15, pool: redistribute}",
                           "--out", tmp_path / "p")
    assert code == 0, err
    assert savings_of(tmp_path / "p") == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("item, names", [
    ("linkage.ratoi=0.2", ["linkage.ratoi", "unknown parameter", "linkage.ratio"]),
    ("linkage.ratio=0.5", ["linkage.ratio", "= 0.5", "[0.1, 0.2]"]),
    ("linkage.ratio=abc", ["linkage.ratio", "abc", "must be a number"]),
    ("grading.cutoffs.good=95", ["cutoffs", "strictly descending"]),
    ("simulation.spot_check.share=2", ["spot_check.share", "= 2", "[0, 1]"]),
    ("linkage.ratio", ["--set", "PATH=VALUE"]),
])
def test_set_bad_path_or_value_is_one_line_exit_2(capsys, tmp_path, item, names):
    out = tmp_path / "never"
    code, stdout, err = run_cli(capsys, "run", TINY, "--set", item, "--out", out)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("perfsim: error: ")
    assert "Traceback" not in err
    for name in names:
        assert name in lines[0]
    assert not out.exists()


# --- the bundled example workbook -----------------------------------------------------------

def test_example_workbook_is_what_the_generator_gives():
    generated = load_scenario(GENERATED).portfolio.table
    book = pd.read_excel(EXAMPLE_WORKBOOK, dtype={"project_id": str, "department": str})
    assert tuple(book.columns) == SCORE_COLUMNS
    assert len(book) == 3468 and book["department"].nunique() == 561
    assert book["project_id"].tolist() == generated["project_id"].tolist()
    assert book["department"].tolist() == generated["department"].tolist()
    np.testing.assert_array_equal(book["budget"].to_numpy(float),
                                  generated["budget"].to_numpy(float))
    np.testing.assert_array_equal(book["score"].to_numpy(float),
                                  generated["score"].to_numpy(float))


def test_workbook_scenario_saves_what_the_generated_scenario_saves():
    from_book = load_scenario(EXAMPLE_SCENARIO)
    generated = load_scenario(GENERATED)
    assert from_book.grading == generated.grading and from_book.linkage == generated.linkage
    a, b = perfsim.load(EXAMPLE_SCENARIO).run_year(), perfsim.load(GENERATED).run_year()
    assert a.metrics["savings"] == b.metrics["savings"]
    np.testing.assert_array_equal(a.allocations["next_budget"].to_numpy(),
                                  b.allocations["next_budget"].to_numpy())


def test_template_scores_writes_the_workbook_and_never_overwrites(capsys, tmp_path):
    new = tmp_path / "scores.xlsx"
    code, out, err = run_cli(capsys, "template", "scores", "--scenario", TINY, "--out", new)
    assert code == 0, err
    book = pd.read_excel(new, dtype={"project_id": str, "department": str})
    tiny = pd.read_csv(DATA / "tiny_scores.csv", dtype={"project_id": str})
    assert book["project_id"].tolist() == tiny["project_id"].tolist()
    assert book["score"].tolist() == tiny["score"].astype(float).tolist()
    assert book["budget"].tolist() == tiny["budget"].astype(float).tolist()
    before = new.read_bytes()
    code, _, err = run_cli(capsys, "template", "scores", "--scenario", TINY, "--out", new)
    assert code == 2 and "exists already" in err and len(err.strip().splitlines()) == 1
    assert new.read_bytes() == before
    code, _, err = run_cli(capsys, "template", "scores", "--out", tmp_path / "x.xlsx")
    assert code == 2 and "--scenario" in err


# --- the page's pure part -------------------------------------------------------------------

def test_defaults_are_the_scenarios_own_values(tiny):
    assert compute.defaults(tiny) == {
        "linkage.ratio": 0.15, "grading.cutoffs.excellent": 90.0,
        "grading.cutoffs.good": 80.0, "grading.cutoffs.fair": 60.0,
        "grading.quotas.excellent": 1.0, "linkage.pool": "treasury",
        "simulation.spot_check.share": 0.0}


def test_at_its_own_values_the_page_shows_the_one_year_run(example):
    view = compute.update(example, compute.defaults(example), replications=0)
    y = perfsim.load(GENERATED).run_year()
    assert view.savings == y.metrics["savings"]
    assert view.monte_carlo is None


# the tiny portfolio: P1 95 (1,000 yuan), P2 70 (2,000), P3 50 (4,000), P4 85 (3,000),
# P5 65 (500); national cutoffs: 优 P1, 良 P4, 中 P2 and P5, 差 P3.
@pytest.mark.parametrize("values, savings, next_budget", [
    # ratio 20%: 0.2 × 2,500 cut, 4,000 cancelled
    ({"linkage.ratio": 0.2}, 4500.0, {"P1": 1000, "P2": 1600, "P3": 0, "P4": 3000, "P5": 400}),
    # 中 from 68: P5 (65) is 差 and cancelled
    ({"linkage.ratio": 0.2, "grading.cutoffs.fair": 68}, 4900.0,
     {"P1": 1000, "P2": 1600, "P3": 0, "P4": 3000, "P5": 0}),
    # redistributed: the pool of 4,500 goes to the only 优 project, P1
    ({"linkage.ratio": 0.2, "linkage.pool": "redistribute"}, 0.0,
     {"P1": 5500, "P2": 1600, "P3": 0, "P4": 3000, "P5": 400}),
    # 优 from 80: P1 and P4 share the pool by budget, 1:3
    ({"linkage.ratio": 0.2, "linkage.pool": "redistribute", "grading.cutoffs.excellent": 80,
      "grading.cutoffs.good": 75}, 0.0,
     {"P1": 2125, "P2": 1600, "P3": 0, "P4": 6375, "P5": 400}),
    # ... with at most 20% 优 (one of five projects): P4 moves down to 良, P1 takes it all
    ({"linkage.ratio": 0.2, "linkage.pool": "redistribute", "grading.cutoffs.excellent": 80,
      "grading.cutoffs.good": 75, "grading.quotas.excellent": 0.2}, 0.0,
     {"P1": 5500, "P2": 1600, "P3": 0, "P4": 3000, "P5": 400}),
])
def test_update_by_hand(tiny, values, savings, next_budget):
    view = compute.update(tiny, values, replications=0)
    assert view.savings == pytest.approx(savings, abs=1e-9)
    got = view.result.allocations.set_index("project_id")["next_budget"].to_dict()
    assert got == pytest.approx({k: float(v) for k, v in next_budget.items()}, abs=1e-9)
    assert f'<span class="perfsim-savings">{numbers.yuan(savings)}</span>' in (
        view.html["savings"])


def test_quota_counts_on_the_page(tiny):
    view = compute.update(tiny, {"grading.cutoffs.excellent": 80, "grading.cutoffs.good": 75,
                                 "grading.quotas.excellent": 0.2}, replications=0)
    grades = view.result.by_grade.set_index("grade")["projects"].to_dict()
    assert grades == {"excellent": 1, "good": 1, "fair": 2, "poor": 1}
    assert "<td>优 excellent</td>" in view.html["grades"]


def test_values_equal_the_same_change_written_in_a_scenario_file(example, tmp_path):
    values = {"linkage.ratio": 0.175, "grading.cutoffs.excellent": 92.5,
              "grading.quotas.excellent": 0.25, "linkage.pool": "redistribute"}
    doc = yaml.safe_load(EXAMPLE_SCENARIO.read_text(encoding="utf-8"))
    doc["portfolio"]["file"] = str(EXAMPLE_WORKBOOK)
    doc["grading"] = {"labels": "national", "cutoffs": [92.5, 80, 60],
                      "quotas": {"excellent": 0.25}}
    doc["linkage"] = {"rule": "liupanshui", "ratio": 0.175, "pool": "redistribute"}
    path = tmp_path / "edited.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    expected = perfsim.load(path).run_year()
    view = compute.update(example, values, replications=0)
    pd.testing.assert_frame_equal(view.result.allocations, expected.allocations)
    pd.testing.assert_frame_equal(view.result.ledger, expected.ledger)


def test_ledger_lists_the_15_departments_losing_most(example):
    view = compute.update(example, {"linkage.ratio": 0.2}, replications=0)
    alloc = view.result.allocations
    lost = (alloc["cut"] + alloc["cancelled"]).groupby(alloc["department"]).sum()
    top = lost.sort_values(ascending=False, kind="stable").index[:15].tolist()
    shown = re.findall(r"<tr>\s*<td>([^<]*)</td>", view.html["ledger"])
    assert shown == top
    assert "e+" not in view.html["ledger"] and "e+" not in view.html["moved"]


def test_spot_check_share_reaches_the_monte_carlo(tiny):
    # every project re-checked with a finer instrument (sd 2 points against 5): fewer misgraded
    # projects than with none re-checked, over the same seed's draws
    low = compute.update(tiny, {"simulation.spot_check.share": 0.0}, replications=256)
    high = compute.update(tiny, {"simulation.spot_check.share": 1.0}, replications=256)
    assert high.monte_carlo.replications["misgrading"].mean() < (
        low.monte_carlo.replications["misgrading"].mean())
    assert "100.0%" in high.html["spot_check"]


def test_pool_choices_are_the_linkage_modules():
    assert tuple(compute.POOLS) == POOLS


def test_bad_cutoffs_are_an_input_error(tiny):
    with pytest.raises(InputError, match="strictly descending"):
        compute.update(tiny, {"grading.cutoffs.good": 95}, replications=0)


@pytest.mark.parametrize("text", [
    "project_id,department,budget,score\nP1,D1,-5,80\n",
    "project_id,budget,score\nP1,5,80\n",
    "project_id,department,budget,score\nP1,D1,5,eighty\n",
])
def test_bad_upload_gives_the_command_lines_line(capsys, tmp_path, monkeypatch, text):
    (tmp_path / "mine.csv").write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli(capsys, "validate", "mine.csv")
    assert code == 2
    with pytest.raises(InputError) as caught:
        compute.load_upload("mine.csv", text.encode("utf-8"))
    assert compute.error_line(caught.value) == err.strip()


def test_a_self_evaluation_table_is_scored_by_the_chosen_system(capsys, tmp_path):
    book = tmp_path / "table.xlsx"
    system = SYSTEMS / "national_project_self_eval.yaml"
    assert run_cli(capsys, "template", "portfolio", "--system", system, "--out", book)[0] == 0
    # the template's example row scores full marks: 100 points, 优, kept whole
    sc = compute.load_upload("table.xlsx", book.read_bytes(), system)
    view = compute.update(sc, {"linkage.ratio": 0.2}, replications=0)
    assert view.result.allocations["score"].tolist() == [100.0]
    assert view.result.allocations["grade"].tolist() == ["excellent"]
    assert view.savings == 0.0
    with pytest.raises(InputError) as caught:  # read as ready scores, its columns are unknown
        compute.load_upload("table.xlsx", book.read_bytes(), None)
    assert caught.value.source == "table.xlsx"


def test_download_is_the_workbook_perfsim_run_writes(capsys, tmp_path):
    code, _, err = run_cli(capsys, "run", TINY, "--set", "linkage.ratio=0.2", "--xlsx",
                           "--out", tmp_path / "run")
    assert code == 0, err
    view = compute.update(perfsim.load(TINY), {"linkage.ratio": 0.2}, replications=0)
    data = compute.workbook(view.result)
    for sheet in XLSX_SHEETS:
        pd.testing.assert_frame_equal(
            pd.read_excel(io.BytesIO(data), sheet_name=sheet),
            pd.read_excel(tmp_path / "run" / "allocation.xlsx", sheet_name=sheet))


# --- the widgets ----------------------------------------------------------------------------

def _upload(page: WhatIf, name: str, content: bytes) -> None:
    page.upload.value = ({"name": name, "type": "", "size": len(content),
                          "content": memoryview(content),
                          "last_modified": datetime.datetime.now(datetime.UTC)},)


def test_panel_upload_and_ratio_show_the_command_lines_savings(capsys, tmp_path):
    page = WhatIf()
    assert page.results.layout.display == "none"
    _upload(page, EXAMPLE_WORKBOOK.name, EXAMPLE_WORKBOOK.read_bytes())
    assert page.ratio.value == 15.0 and page.error.value == ""
    page.ratio_box.value = 20.0   # the numeric box is linked to the slider
    assert page.ratio.value == 20.0
    code, out, err = run_cli(capsys, "run", EXAMPLE_SCENARIO, "--set", "linkage.ratio=0.2",
                             "--out", tmp_path / "o")
    assert code == 0, err
    printed = out.split("节约 savings ")[-1].split(" 元")[0]
    assert f'<span class="perfsim-savings">{printed}</span>' in page.savings.value
    assert page.results.layout.display is None


def test_panel_shows_one_line_errors_never_a_traceback():
    page = WhatIf()
    _upload(page, "bad.csv", b"project_id,department,budget,score\nP1,D1,x,80\n")
    assert ("perfsim: error: bad.csv: 第 2 行 row 2: 字段 field &#x27;budget&#x27; = "
            "&#x27;x&#x27;") in page.error.value
    assert page.results.layout.display == "none" and "Traceback" not in page.error.value
    page = WhatIf(TINY)
    page.cutoffs[1].value = 95.0
    assert "strictly descending" in page.error.value
    page.cutoffs[1].value = 80.0
    assert page.error.value == "" and page.results.layout.display is None


def test_panel_returns_one_box_for_a_notebook():
    import ipywidgets

    box = panel(TINY)
    assert isinstance(box, ipywidgets.VBox) and "perfsim-whatif" in box._dom_classes


# --- perfsim app: what starts Voilà ---------------------------------------------------------

def test_the_served_notebook_is_package_data_displaying_the_panel():
    assert server.NOTEBOOK.parent == ROOT / "perfsim" / "app"
    nb = nbformat.read(server.NOTEBOOK, as_version=4)
    assert nb.metadata.kernelspec.name == "python3"
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "from perfsim.app.whatif import page_script, panel" in code
    assert "display(Javascript(page_script()))" in code and server.PORTFOLIO_ENV in code
    import tomllib

    doc = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = doc["tool"]["setuptools"]["package-data"]["perfsim.app"]
    assert any(server.NOTEBOOK.match(p) for p in patterns)


def test_voila_runs_this_python_on_localhost(tmp_path):
    spec = json.loads((server.write_kernel_spec(tmp_path) / "kernels" / "python3" /
                       "kernel.json").read_text(encoding="utf-8"))
    assert spec["argv"][0] == sys.executable
    port = server.free_port()
    with socket.socket() as s:  # free: it can be bound
        s.bind(("127.0.0.1", port))
    cmd = server.voila_command(port)
    assert cmd[:3] == [sys.executable, "-m", "voila"] and f"--port={port}" in cmd
    assert "--Voila.ip=127.0.0.1" in cmd and "--no-browser" in cmd
    assert shutil.which("voila", path=str(Path(sys.executable).parent)) is not None


def test_app_with_a_missing_or_bad_portfolio_is_one_line_before_serving(capsys, tmp_path,
                                                                        monkeypatch):
    code, _, err = run_cli(capsys, "app", "--no-browser", tmp_path / "none.xlsx")
    assert code == 2 and "file not found" in err and len(err.strip().splitlines()) == 1
    (tmp_path / "bad.csv").write_text("project_id,department,budget\nP1,D1,5\n",
                                      encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    code, _, expected = run_cli(capsys, "validate", "bad.csv")
    assert code == 2
    code, out, err = run_cli(capsys, "app", "--no-browser", "bad.csv")
    assert code == 2 and err == expected and out == ""


def test_a_bug_in_a_change_is_one_line_on_the_page(monkeypatch):
    page = WhatIf(TINY)

    def broken(*args, **kwargs):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(compute, "update", broken)
    page.ratio.value = 18.0
    assert page.error.value == ("<p style='color:#b00020'>perfsim: internal error: "
                                "ZeroDivisionError: division by zero</p>")


# --- browser provisioning -------------------------------------------------------------------

def test_ci_provisions_the_browser_before_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    install = next(i for i, ln in enumerate(ci) if "scripts/install-browser" in ln)
    tests = next(i for i, ln in enumerate(ci) if ln.startswith("python3 -m venv .venv"))
    assert install < tests
    script = ROOT / "scripts" / "install-browser"
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0
    text = script.read_text(encoding="utf-8")
    assert "apt-get update" in text and "apt-get install" in text and "sudo -n" in text


# --- self-evaluation workbooks in the page (issue 22) -----------------------------------------

@pytest.fixture(scope="module")
def selfeval(tmp_path_factory) -> Path:
    from perfsim.forms.generate import write_selfeval

    out = tmp_path_factory.mktemp("selfeval") / "books"
    write_selfeval(out, 12, seed=3, errors=0.5)
    return out


def _books(folder: Path) -> list[tuple[str, bytes]]:
    return [(p.name, p.read_bytes()) for p in sorted(folder.glob("*.xlsx"))]


def _zip(files: list[tuple[str, bytes]], **kw) -> bytes:
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, **kw) as zf:
        for name, data in files:
            zf.writestr(name, data)
    return buf.getvalue()


def _fen(values) -> list[int]:
    """Money as whole fen (分)."""
    return np.rint(np.asarray(values, dtype=float) * 100).astype(np.int64).tolist()


MONEY = ["budget", "kept", "cut", "cancelled", "rewarded", "next_budget"]


def test_uploaded_workbooks_run_as_perfsim_run_runs_their_imported_folder(capsys, selfeval,
                                                                          tmp_path):
    # perfsim import, then perfsim run on a scenario whose portfolio is the imported folder,
    # graded and linked as the page's base (the bundled example) at the page's ratio
    code, _, err = run_cli(capsys, "import", selfeval, "--out", tmp_path / "imp")
    assert code == 0, err
    doc = yaml.safe_load(EXAMPLE_SCENARIO.read_text(encoding="utf-8"))
    doc["portfolio"] = {"imported": str(tmp_path / "imp")}
    doc["linkage"]["ratio"] = 0.2
    spec = tmp_path / "imported.yaml"
    spec.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    code, _, err = run_cli(capsys, "run", spec, "--out", tmp_path / "run")
    assert code == 0, err
    by_cli = pd.read_csv(tmp_path / "run" / "allocations.csv", encoding="utf-8-sig")
    opened = compute.open_upload(_books(selfeval))
    view = compute.update(opened.scenario, {"linkage.ratio": 0.2}, replications=0)
    by_app = view.result.allocations
    assert by_app["project_id"].tolist() == by_cli["project_id"].tolist()
    assert by_app["grade"].tolist() == by_cli["grade"].tolist()
    for col in MONEY:
        assert _fen(by_app[col]) == _fen(by_cli[col]), col
    assert _fen([view.savings]) == _fen([savings_of(tmp_path / "run")])
    # and both are the generator's truth: budgets to the fen, grades of the recomputed totals
    truth = pd.read_csv(selfeval / "truth.csv", encoding="utf-8-sig", dtype={"sheet": str})
    projects = truth[truth["form"] == "project"]
    assert opened.imported.left_out == int((truth["form"] != "project").sum())
    assert _fen(by_app["budget"]) == _fen(projects["budget_full"])
    assert by_app["grade_zh"].tolist() == projects["recomputed_grade"].tolist()


def test_a_zip_of_the_workbooks_is_the_same_portfolio(selfeval):
    books = _books(selfeval)
    one_by_one = compute.open_upload(books)
    zipped = compute.open_upload([("books.zip", _zip(books))])
    a, b = one_by_one.scenario.portfolio, zipped.scenario.portfolio
    # ids name a file from the folder the files share, here the archive (as perfsim import)
    assert b.ids.tolist() == a.ids.tolist()
    assert zipped.imported.frames["projects"]["file"].str.startswith("books.zip/").all()
    np.testing.assert_array_equal(a.budget, b.budget)
    np.testing.assert_array_equal(one_by_one.scenario.scores(), zipped.scenario.scores())


def test_the_page_counts_the_findings_perfsim_import_writes(capsys, selfeval, tmp_path):
    code, _, err = run_cli(capsys, "import", *sorted(selfeval.glob("*.xlsx")), "--out",
                           tmp_path / "imp")
    assert code == 0, err
    expected = pd.read_csv(tmp_path / "imp" / "findings.csv", encoding="utf-8-sig")
    planted = pd.read_csv(selfeval / "planted.csv", encoding="utf-8-sig")
    opened = compute.open_upload(_books(selfeval))
    shown = compute.findings_html(opened.imported)
    counts = dict(re.findall(r"<td>([a-z_]+)</td><td>([\d,]+)</td>", shown))
    assert {k: int(v) for k, v in counts.items()} == expected["kind"].value_counts().to_dict()
    assert set(planted["kind"]) <= set(counts)
    # the top finding is the one with the most money at stake
    first = re.search(r"perfsim-findings'>.*?</tr><tr><td>([^<]*)</td>", shown).group(1)
    top = expected.sort_values("budget", ascending=False, kind="stable")["file"].iloc[0]
    assert first == Path(top).name
    book = pd.read_excel(io.BytesIO(compute.review_workbook(opened.imported)), sheet_name=None)
    assert len(next(iter(book.values()))) == len(expected)


def test_a_workbook_that_is_no_table_is_one_line(tmp_path):
    pd.read_csv(DATA / "tiny_scores.csv").to_excel(tmp_path / "scores.xlsx", index=False)
    archive = _zip([("scores.xlsx", (tmp_path / "scores.xlsx").read_bytes())])
    with pytest.raises(InputError, match="not a self-evaluation table") as caught:
        compute.open_upload([("in/scores.zip", archive)])
    line = compute.error_line(caught.value)
    assert line.startswith("perfsim: error: scores.zip/scores.xlsx: ") and "\n" not in line
    assert tempfile_dir() not in line


@pytest.mark.parametrize("name, content, says", [
    ("自评表.et", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "WPS"),
    ("导出.xls", b"MIME-Version: 1.0\r\nContent-Type: multipart/related", "单个网页文件"),
    ("页面.xls", b"<html><table><tr><td>x</td></tr></table></html>", "不是绩效自评表"),
    ("portfolio.xlsx", "project_id,budget\n".encode("gbk"), "文本文件"),
])
def test_one_file_excel_opens_and_perfsim_does_not_is_named_for_what_it_is(name, content,
                                                                             says):
    # a single upload: not 'several files are read as workbooks', not 'cannot parse'
    with pytest.raises(InputError) as caught:
        compute.open_upload([(name, content)])
    line = compute.error_line(caught.value)
    assert line.startswith(f"perfsim: error: {name}: ") and says in line, line
    assert "several files" not in line and "cannot parse" not in line
    assert tempfile_dir() not in line and "\n" not in line


def test_the_other_files_of_an_uploaded_zip_are_counted(selfeval):
    books = _books(selfeval)[:2]
    extra = [("佐证材料/照片.jpg", b"\xff\xd8\xff"), ("乙.pdf", b"%PDF-1.4")]
    opened = compute.open_upload([("tables.zip", _zip(books + extra))])
    summary = compute.findings_html(opened.imported)
    assert "2 other files not read (.jpg 1, .pdf 1)" in summary and opened.imported.files == 2
    with pytest.raises(InputError) as caught:   # nothing but them: said in the one line
        compute.open_upload([("pdfs.zip", _zip(extra))])
    line = compute.error_line(caught.value)
    assert "no workbook found" in line and "2 other files not read" in line


def tempfile_dir() -> str:
    import tempfile

    return tempfile.gettempdir()


# --- limits before work (issue 23) ------------------------------------------------------------

def _never(*args, **kwargs):
    raise AssertionError("work started on a refused upload")


def test_an_upload_over_the_size_limit_is_refused_before_work(monkeypatch):
    monkeypatch.setattr(compute, "load_upload", _never)
    monkeypatch.setattr(compute, "read_workbooks", _never)
    big = b"project_id,department,budget,score\n" + b"P,D,1,80\n" * 150_000
    with pytest.raises(InputError, match=r"big\.csv: .*more than the limit of 1\.0 MiB"):
        compute.open_upload([("dir/big.csv", big)], limits=compute.Limits(max_upload_mb=1))
    # the browser sends a stand-in for a file over the limit: refused by its declared size
    stand_in = compute.TOO_LARGE + b"13107200"
    with pytest.raises(InputError, match=r"huge\.csv: 上传 12\.5 MiB.* / 12\.5 MiB uploaded"):
        compute.open_upload([("huge.csv", stand_in)], limits=compute.Limits(max_upload_mb=10))


def test_a_zip_bomb_is_refused_from_its_directory_before_anything_is_inflated(monkeypatch):
    import zipfile

    bomb = _zip([("table.xlsx", b"\0" * (30 * 2**20))])
    assert len(bomb) < 2**20
    monkeypatch.setattr(compute, "read_workbooks", _never)
    monkeypatch.setattr(zipfile.ZipFile, "open", _never)
    with pytest.raises(InputError, match=r"bomb\.zip: 解压后 30\.0 MiB.* / expands to 30\.0 MiB, "
                                         r"more than the limit of 10\.0 MiB"):
        compute.open_upload([("bomb.zip", bomb)], limits=compute.Limits(max_expanded_mb=10))


@pytest.mark.parametrize("rows", [99, 100, 101])
def test_rows_are_counted_before_the_portfolio_is_read(rows, monkeypatch):
    text = "project_id,department,budget,score\n" + "".join(
        f"P{k},D{k % 7},{1000 + k},{50 + k % 50}\n" for k in range(rows))
    limits = compute.Limits(max_rows=100)
    if rows > 100:
        monkeypatch.setattr(compute, "load_upload", _never)
        with pytest.raises(InputError, match="more than 100 rows"):
            compute.open_upload([("p.csv", text.encode())], limits=limits)
    else:
        opened = compute.open_upload([("p.csv", text.encode())], limits=limits)
        assert opened.scenario.portfolio.n_projects == rows


def test_workbook_rows_are_counted_from_its_sheets(tmp_path):
    frame = pd.DataFrame({"project_id": [f"P{k}" for k in range(321)], "department": "D",
                          "budget": 1.0, "score": 70.0})
    frame.to_excel(tmp_path / "p.xlsx", index=False)
    data = (tmp_path / "p.xlsx").read_bytes()
    assert compute.count_rows("p.xlsx", data, 10**6) == 321
    assert compute.count_rows("p.xlsx", data, 100) > 100


@pytest.mark.parametrize("name", ["..", "../..", "/", "a/../..", "..\\..\\"])
def test_an_upload_named_like_a_folder_never_shows_the_servers_temp_path(name):
    page = WhatIf()
    _upload(page, name, b"project_id,department,budget,score\nP1,D1,5,80\n")
    assert page.error.value and tempfile_dir() not in page.error.value
    assert "perfsim-app-" not in page.error.value + page.status.value


def test_an_upload_with_a_path_is_named_by_its_last_part():
    sc = compute.load_upload("../../etc/mine.csv", b"project_id,department,budget,score\n"
                                                   b"P1,D1,5,80\n")
    assert sc.source == "mine.csv"
    assert compute.safe_name("C:\\Users\\x\\表.csv") == "表.csv"


def test_a_failed_upload_names_that_file_and_the_next_upload_shows_its_own_numbers():
    page = WhatIf()
    _upload(page, "first.csv", b"project_id,department,budget,score\nP1,D1,1000,95\n"
                               b"P2,D1,3000,50\n")
    assert "first.csv" in page.status.value and page.error.value == ""
    _upload(page, "broken.csv", b"project_id,department,budget,score\nP1,D1,x,80\n")
    assert "broken.csv" in page.status.value and "first.csv" not in page.status.value
    assert "broken.csv" in page.error.value and page.results.layout.display == "none"
    # the same bad file again is seen again (the upload is cleared after each one)
    page.error.value = ""
    _upload(page, "broken.csv", b"project_id,department,budget,score\nP1,D1,x,80\n")
    assert "broken.csv" in page.error.value
    _upload(page, "second.csv", b"project_id,department,budget,score\nP9,D2,2000,70\n")
    assert "second.csv" in page.status.value and page.error.value == ""
    alloc = page.view.result.allocations
    assert alloc["project_id"].tolist() == ["P9"]
    assert page.upload.value == ()


def test_the_busy_line_is_up_while_the_work_runs(monkeypatch):
    page = WhatIf(TINY)
    seen = []
    real = compute.update

    def watched(*args, **kwargs):
        seen.append(page.busy.value)
        return real(*args, **kwargs)

    monkeypatch.setattr(compute, "update", watched)
    page.ratio.value = 18.0
    assert seen and "perfsim-busy" in seen[0]
    assert page.busy.value == ""


def test_uploaded_workbooks_show_their_findings_on_the_page(selfeval):
    page = WhatIf()
    page.upload.value = tuple(
        {"name": n, "type": "", "size": len(c), "content": memoryview(c),
         "last_modified": datetime.datetime.now(datetime.UTC)} for n, c in _books(selfeval))
    assert page.error.value == "" and page.review_box.layout.display is None
    assert "perfsim-finding-kinds" in page.review.value
    assert "12 files" in page.status.value
    page._prepare_review(None)
    assert "review.xlsx" in page.review_download.value
    _upload(page, "p.csv", b"project_id,department,budget,score\nP1,D1,5,80\n")
    assert page.review_box.layout.display == "none"


# --- perfsim app: limits, culling, nothing written outside its folder ---------------------------

@pytest.mark.parametrize("args, names", [
    (["--port", "99999"], ["--port", "65535", "99999"]),
    (["--port", "0"], ["--port"]),
    (["--max-upload-mb", "0"], ["--max-upload-mb"]),
    (["--max-expanded-mb", "nan"], ["--max-expanded-mb"]),
    (["--max-rows", "-1"], ["--max-rows"]),
])
def test_app_refuses_a_bad_option_in_one_line(capsys, args, names):
    code, out, err = run_cli(capsys, "app", "--no-browser", *args)
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("perfsim: error: ")
    for name in names:
        assert name in lines[0]


def test_the_server_culls_idle_kernels_and_keeps_writes_in_its_folder(tmp_path):
    limits = compute.Limits(max_upload_mb=3, max_rows=7, max_expanded_mb=9)
    config = server.server_config(limits, idle_timeout=120, interval=60)
    kernels = config["MappingKernelManager"]
    assert kernels["cull_idle_timeout"] == 120 and kernels["cull_connected"] is False
    assert 0 < kernels["cull_interval"] <= 120
    assert config["Voila"]["tornado_settings"]["websocket_max_message_size"] > 3 * 2**20
    env = server.server_env(tmp_path, limits)
    for var in ("IPYTHONDIR", "JUPYTER_RUNTIME_DIR", "JUPYTER_DATA_DIR", "JUPYTER_CONFIG_DIR",
                "MPLCONFIGDIR", "TMPDIR"):
        assert Path(env[var]).is_relative_to(tmp_path) and Path(env[var]).is_dir()
    assert compute.Limits.from_env(env) == limits
    spec = json.loads((tmp_path / "jupyter" / "kernels" / "python3" / "kernel.json")
                      .read_text(encoding="utf-8"))
    assert "--HistoryManager.enabled=False" in spec["argv"]


def test_the_page_script_carries_the_upload_limit():
    script = page_script(compute.Limits(max_upload_mb=2))
    assert f"LIMIT = {2 * 2**20}," in script and compute.TOO_LARGE.decode() in script
    assert not re.search(r"@[A-Z]+@", script)


def test_simulated_tables_by_hand():
    # two tables on one sheet, one without a department or unit, one with its 实施单位 only,
    # one without a 全年预算数, one department-overall table
    projects = pd.DataFrame({
        "project_id": ["a.xlsx:S", "a.xlsx:S#2", "b.xlsx:T", "c.xlsx:U", "d.xlsx:V"],
        "form": ["project", "project", "project", "project", "department"],
        "department": ["财政局", None, " ", "教育局", "卫健委"],
        "unit": ["x", None, "县医院", "y", None],
        "budget_full": [1000.0, 2000.0, 3000.0, None, 5000.0]})
    used = compute.simulated_tables(projects)
    assert used["project_id"].tolist() == ["a.xlsx:S", "a.xlsx:S#2", "b.xlsx:T"]
    # blank department and unit: counted under NO_DEPARTMENT; a unit alone is left for the
    # model, which counts the table under it (as perfsim run does)
    assert used["department"].tolist() == ["财政局", compute.NO_DEPARTMENT, " "]


def test_imported_tables_without_a_department_run_under_no_department(tmp_path):
    path = table_workbook(tmp_path / "t.xlsx", clean_table(department="", unit=""))
    opened = compute.open_upload([("t.xlsx", path.read_bytes())])
    assert opened.scenario.portfolio.departments.tolist() == [compute.NO_DEPARTMENT]
    # the clean table's hand-computed total (tests/forms_tables.py): 92.05
    assert opened.scenario.scores().tolist() == [92.05]


def test_only_department_tables_leave_nothing_to_simulate(tmp_path):
    path = table_workbook(tmp_path / "部门.xlsx", clean_table(form="department"))
    with pytest.raises(InputError, match="nothing to simulate") as caught:
        compute.open_upload([("in/部门.xlsx", path.read_bytes())])
    line = compute.error_line(caught.value)
    assert line.startswith("perfsim: error: 部门.xlsx: ") and "\n" not in line
    assert tempfile_dir() not in line


# --- every yuan on the page -----------------------------------------------------------------

def _page_amounts(html_text: str) -> dict[str, float]:
    """The moved-money table's rows: label → yuan, read back from the page's text."""
    rows = re.findall(r"<tr><td>([^<]+)</td><td[^>]*>([\d,.-]+) 元", html_text)
    return {label: float(amount.replace(",", "")) for label, amount in rows}


def test_the_page_shows_every_yuan_that_leaves_a_project_as_perfsim_run_writes_it(
        capsys, tmp_path):
    # Zhucheng recovers money from unrectified projects: a channel neither cut nor cancelled
    scenario = SCENARIOS / "zhucheng_2022.yaml"
    assert run_cli(capsys, "run", scenario, "--one-year", "--out", tmp_path / "run")[0] == 0
    grades = pd.read_csv(tmp_path / "run" / "grades.csv", encoding="utf-8-sig")
    view = compute.update(perfsim.load(scenario), compute.defaults(perfsim.load(scenario)),
                          replications=0)
    moved = _page_amounts(view.html["moved"])
    recovered = grades["recovered_unrectified"].sum()
    assert recovered > 0
    shown = {label: v for label, v in moved.items()
             if label.endswith(" from projects") and not label.startswith("合计")}
    assert shown["未整改收回 recovered, not rectified from projects"] == pytest.approx(
        recovered, abs=0.005)
    # what is taken is every channel but kept, as the run's grade table sums them, to the fen
    taken = grades[["cut", "cancelled", "postponed", "recovered",
                    "recovered_unrectified"]].to_numpy().sum()
    assert moved["合计调出 taken from projects"] == pytest.approx(taken, abs=0.005)
    assert moved["合计调出 taken from projects"] == pytest.approx(sum(shown.values()),
                                                              abs=0.005)
    savings = grades["budget"].sum() - grades["next_budget"].sum()
    assert moved["上缴财政 returned to the treasury (savings)"] == pytest.approx(savings,
                                                                         abs=0.005)
    # the grade table names the recovery channel too
    assert "未整改收回" in view.html["grades"]
