"""The notebook suite and its runner: pairing, parameters, execution, manifests, the index.

Every notebook is executed once through papermill with small parameters (a module-scoped
fixture); the other tests inspect those runs. Kernel start-up makes each run take seconds, so
runs are shared wherever a test only needs to read one.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import re
import stat
from html.parser import HTMLParser
from pathlib import Path

import jupytext
import nbformat
import openpyxl
import pandas as pd
import papermill
import pytest
import report_checks as rc

from perfsim import __version__, notebooks
from perfsim.cli import main
from perfsim.errors import InputError
from perfsim.io import MARKER, read_marker
from perfsim.notebooks import parameters as nbp
from perfsim.notebooks import runner as nbr
from perfsim.present import plots

ROOT = Path(__file__).resolve().parent.parent
BOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
EXPECTED = ["01_indicator_weighting", "02_grade_thresholds", "03_linkage_rules",
            "04_reduction_ratio", "05_uncertainty_sensitivity", "06_self_evaluation_gaming",
            "07_training_walkthrough", "08_evaluation_cycle"]

#: small parameters: every notebook runs in seconds
SMALL: dict[str, dict] = {
    "01_indicator_weighting": {"replications": 32, "smaa_draws": 1000},
    "02_grade_thresholds": {"replications": 32, "noise_levels": [0.0, 0.05]},
    "03_linkage_rules": {"replications": 32, "years": 2},
    "04_reduction_ratio": {"replications": 32, "ratios": [0.10, 0.20]},
    "05_uncertainty_sensitivity": {"replications": 32, "sobol_n": 16,
                                   "morris_trajectories": 4, "sensitivity_replications": 1},
    "06_self_evaluation_gaming": {"replications": 32, "check_shares": [0.0, 0.5],
                                  "design_shares": 3, "design_replications": 8},
    "07_training_walkthrough": {"replications": 32},
    "08_evaluation_cycle": {"replications": 16, "years": 2, "probabilities": [0.0, 1.0],
                            "expert_noise": [0.0, 5.0], "check_shares": [0.0, 0.5],
                            "coverage_lines": [0, 1000000]},
}


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- the notebooks as files ------------------------------------------------------------------

def test_the_seven_notebooks_exist_numbered():
    assert [b.stem for b in BOOKS] == EXPECTED
    assert set(SMALL) == set(EXPECTED)


@pytest.mark.parametrize("book", BOOKS, ids=lambda p: p.stem)
def test_notebook_is_paired_in_sync_and_has_no_outputs(book):
    nb = nbformat.read(book, as_version=4)
    # the text twin lives in notebooks/text/, so JupyterLab lists each notebook once
    assert nb.metadata["jupytext"]["formats"] == "ipynb,text//py:percent"
    assert nb.metadata["kernelspec"]["name"] == "python3"
    paired = book.parent / "text" / f"{book.stem}.py"
    assert paired.exists(), f"{paired.name} missing"
    py = jupytext.read(paired)
    ipynb = [(c.cell_type, c.source, c.metadata.get("tags", [])) for c in nb.cells]
    text = [(c.cell_type, c.source, c.metadata.get("tags", [])) for c in py.cells]
    assert [c for c in ipynb if c[0] == "code"] == [c for c in text if c[0] == "code"]
    assert ipynb == text
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, "outputs committed"
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith(
        f"# {book.stem[:2]} ")


@pytest.mark.parametrize("book", BOOKS, ids=lambda p: p.stem)
def test_every_parameter_line_is_understood_by_papermill(book):
    nb = nbformat.read(book, as_version=4)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    assigned = [t.id for node in ast.parse(cell.source).body for t in node.targets]
    inspected = papermill.inspect_notebook(str(book))
    assert list(inspected) == assigned  # a line papermill cannot parse would be missing
    assert {"seed", "output_dir"} <= set(assigned)
    for name, info in inspected.items():
        assert info["help"], f"parameter {name} has no comment saying what it is"


@pytest.mark.parametrize("book", BOOKS, ids=lambda p: p.stem)
def test_notebooks_hold_no_logic_beyond_calls(book):
    nb = nbformat.read(book, as_version=4)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        tree = ast.parse(cell.source)
        for node in ast.walk(tree):
            assert not isinstance(node, ast.FunctionDef | ast.ClassDef | ast.Lambda
                                  | ast.While), f"logic in {book.stem}: {ast.dump(node)[:60]}"
            if isinstance(node, ast.Import | ast.ImportFrom):
                module = node.module if isinstance(node, ast.ImportFrom) else node.names[0].name
                assert module.split(".")[0] == "perfsim", f"{book.stem} imports {module}"


#: a number in scientific notation, as pandas shows large floats (1.280000e+08)
SCIENTIFIC = re.compile(r"\b\d+(?:\.\d+)?[eE][+-]\d+\b")

# --- executing every notebook -----------------------------------------------------------------

@pytest.fixture(scope="module")
def suite(tmp_path_factory):
    """Every notebook run once with small parameters (07 through the command line, with the
    code hidden in its HTML)."""
    reports = tmp_path_factory.mktemp("reports")
    runs = {}
    for stem in [s for s in EXPECTED if s != "07_training_walkthrough"]:
        runs[stem] = nbr.run_notebook(stem, SMALL[stem], reports=reports, run_id=f"t-{stem}")
    code = main(["notebooks", "run", "07", "-p", "replications", "32", "--out", str(reports),
                 "--run-id", "t-07", "--no-code"])
    assert code == 0
    runs["07_training_walkthrough"] = nbr.RunResult(
        "t-07", "07_training_walkthrough", reports / "t-07", "ok",
        manifest=json.loads((reports / "t-07" / "manifest.json").read_text()))
    return reports, runs


@pytest.mark.parametrize("stem", EXPECTED)
def test_every_notebook_runs_and_writes_a_complete_run_directory(suite, stem):
    reports, runs = suite
    run = runs[stem]
    d = reports / run.run_id
    manifest = json.loads((d / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["status"] == "ok", manifest["error"]
    executed = nbformat.read(d / f"{stem}.ipynb", as_version=4)
    assert any("injected-parameters" in c.metadata.get("tags", []) for c in executed.cells)
    assert all(o.get("output_type") != "error" for c in executed.cells
               if c.cell_type == "code" for o in c.outputs)
    # numbers as people read them: no scientific notation in any displayed or printed output
    for cell in executed.cells:
        for o in cell.get("outputs", []) if cell.cell_type == "code" else []:
            texts = [o.get("text", "")] + [o.get("data", {}).get(k, "")
                                           for k in ("text/plain", "text/html", "text/markdown")]
            for text in texts:
                text = "".join(text) if isinstance(text, list) else text
                assert not SCIENTIFIC.search(text), (stem, SCIENTIFIC.search(text).group(0))
    html = (d / f"{stem}.html").read_text(encoding="utf-8")
    assert "<html" in html and "data:image/png;base64" in html
    page = re.sub(r"<(style|script)\b.*?</\1>|data:image/png;base64,[A-Za-z0-9+/=]+", "", html,
                  flags=re.S)
    assert not SCIENTIFIC.search(page), (stem, SCIENTIFIC.search(page).group(0))
    # self-contained: renders offline, nothing loaded from a CDN
    assert nbr.external_references(html) == []
    assert "cdnjs" not in html and "unpkg.com" not in html
    # tables saved as CSV keep raw numbers, in UTF-8 with a byte-order mark for Excel
    assert (d / "tables" / "results.csv").read_bytes()[:3] == b"\xef\xbb\xbf"
    assert (d / "tables" / "results.csv").stat().st_size > 0
    pngs = list((d / "figures").glob("*.png"))
    assert pngs and all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)
    # the manifest: parameters, seed, versions, commit, inputs, times, status
    small = {k: v for k, v in SMALL[stem].items()}
    for key, value in small.items():
        assert manifest["parameters"][key] == value
    assert manifest["seed"] == manifest["parameters"]["seed"]
    assert manifest["perfsim_version"] == __version__
    assert manifest["packages"]["papermill"] and manifest["packages"]["numpy"]
    assert manifest["git"] is None or re.fullmatch(r"[0-9a-f]{40}", manifest["git"]["commit"])
    assert manifest["started"] < manifest["ended"]
    inputs = {i["path"]: i["sha256"] for i in manifest["inputs"]}
    assert inputs[f"notebooks/{stem}.ipynb"] == sha(ROOT / "notebooks" / f"{stem}.ipynb")
    scenario = manifest["parameters"]["scenario"]
    assert inputs[scenario] == sha(ROOT / scenario)
    outputs = {o["path"]: o["sha256"] for o in manifest["outputs"]}
    assert outputs["tables/results.csv"] == sha(d / "tables" / "results.csv")
    assert not list(reports.glob(".*partial*")), "a temporary directory was left behind"


def test_runs_are_marked_complete_and_readable_by_others(suite):
    """Each run directory carries perfsim's marker, no runner leftovers, and the user's umask
    (not the private 0700/0600 of a temporary directory or file)."""
    reports, runs = suite
    mask = os.umask(0)
    os.umask(mask)
    assert read_marker(reports)["kind"] == "reports"
    assert stat.S_IMODE((reports / "index.html").stat().st_mode) == 0o666 & ~mask
    for run in runs.values():
        d = reports / run.run_id
        assert read_marker(d)["kind"] == "notebook run" and read_marker(d)["id"] == run.run_id
        assert not (d / ".kernel.log").exists() and not (d / ".inputs.jsonl").exists()
        for f in [d, *d.rglob("*")]:
            mode = stat.S_IMODE(f.stat().st_mode)
            assert mode == (0o777 if f.is_dir() else 0o666) & ~mask, f
    assert sorted(p.name for p in reports.iterdir() if p.name.startswith(".")) == [MARKER]


def test_no_code_hides_the_code_but_not_the_results(suite):
    reports, runs = suite
    hidden = (reports / "t-07" / "07_training_walkthrough.html").read_text(encoding="utf-8")
    shown = (reports / "t-02_grade_thresholds" / "02_grade_thresholds.html").read_text(
        encoding="utf-8")
    assert "use_cjk_font" in shown and "year_variants" in shown  # highlighted code tokens
    assert "use_cjk_font" not in hidden and "year_variants" not in hidden
    assert "data:image/png;base64" in hidden and "Exercise 1" in hidden
    assert json.loads((reports / "t-07" / "manifest.json").read_text())["no_code"] is True


def test_finance_and_training_reports_hide_code_and_parameters_unless_asked(suite):
    reports, runs = suite
    finance = (reports / "t-04_reduction_ratio" / "04_reduction_ratio.html").read_text(
        encoding="utf-8")
    research = (reports / "t-02_grade_thresholds" / "02_grade_thresholds.html").read_text(
        encoding="utf-8")
    assert "perfsim.load" not in finance and "target_cut" not in finance
    assert "# Parameters" not in finance           # papermill's injected cell is dropped too
    assert "data:image/png;base64" in finance      # the results stay
    assert "use_cjk_font" in research              # a research report shows its code,
    assert "# Parameters" not in research          # its parameters once, as the run used them
    text = re.sub(r"<[^>]+>", "", research)
    assert "replications = 32" in text and "noise_levels = [0.0, 0.05]" in text
    assert "replications = 200" not in text
    assert nbp.notebook_audience(nbp.find_notebook("04")) == "finance"
    assert nbp.notebook_audience(nbp.find_notebook("07")) == "training"
    assert nbp.notebook_audience(nbp.find_notebook("02")) == "research"


def test_code_shows_on_request(tmp_path):
    run = nbr.run_notebook(str(book_with_audience(tmp_path)), reports=tmp_path / "r",
                           run_id="shown", code=True)
    html = (run.path / "audience.html").read_text(encoding="utf-8")
    assert "the_answer" in html                     # a highlighted code token
    hidden = nbr.run_notebook(str(book_with_audience(tmp_path)), reports=tmp_path / "r",
                              run_id="hidden")
    html = (hidden.path / "audience.html").read_text(encoding="utf-8")
    assert "the_answer" not in html and "42" in html


def book_with_audience(folder):
    book = folder / "audience.ipynb"
    if not book.exists():
        nb = nbformat.v4.new_notebook(metadata={"kernelspec": {
            "name": "python3", "language": "python", "display_name": "Python 3"}})
        first = nbformat.v4.new_markdown_cell("# For finance staff")
        first.metadata["tags"] = ["audience-finance"]
        params = nbformat.v4.new_code_cell('the_answer = 42  # the answer\noutput_dir = ""  # set')
        params.metadata["tags"] = ["parameters"]
        nb.cells = [first, params, nbformat.v4.new_code_cell("print(the_answer)")]
        nbformat.write(nb, book)
    return book


def test_cli_prints_the_index_path_and_lists_parameters(suite, capsys):
    assert main(["notebooks", "list"]) == 0
    listing = capsys.readouterr().out
    assert "04_reduction_ratio" in listing and "ratio (float) = 0.15" in listing
    assert "output_dir" not in listing
    reports, _ = suite
    assert main(["notebooks", "index", "--out", str(reports)]) == 0
    assert str((reports / "index.html").resolve()) in capsys.readouterr().out


def test_manifest_hashes_the_files_a_scenario_names(suite):
    reports, runs = suite
    manifest = runs["01_indicator_weighting"].manifest
    paths = {i["path"] for i in manifest["inputs"]}
    assert "datasets/indicator_systems/national_project_self_eval.yaml" in paths
    assert manifest["datasets"]["scenarios/liupanshui_2022.yaml"] == sha(
        ROOT / "datasets" / "scenarios" / "liupanshui_2022.yaml")


def test_finance_notebook_writes_the_allocation_workbook(suite):
    reports, runs = suite
    path = reports / runs["04_reduction_ratio"].run_id / "allocation.xlsx"
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["项目 projects", "部门台账 ledger", "等级汇总 grades", "说明"]
    ws = wb["项目 projects"]
    header = [c.value for c in ws[1]]
    budget = header.index("本年预算 budget (元 yuan)") + 1
    assert ws.cell(row=2, column=budget).number_format == "#,##0.00"
    assert ws.max_row == 3468 + 2  # header, projects, totals
    grades = wb["等级汇总 grades"]
    assert [c.value for c in grades["A"]][-1] == "合计 total"
    cut = [c.value for c in grades[1]].index("压减 cut (元 yuan)") + 1
    assert grades.cell(row=5, column=cut).number_format == "#,##0.00"


def test_workbook_numbers_never_show_in_scientific_notation(suite):
    """Excel's General format shows large or long numbers as 1.28E+08: every number in the
    finance notebook's workbook carries a number format unless it is a short whole number."""
    reports, runs = suite
    wb = openpyxl.load_workbook(reports / runs["04_reduction_ratio"].run_id / "allocation.xlsx")
    numeric = 0
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, int | float) and not isinstance(cell.value, bool):
                    numeric += 1
                    if cell.number_format == "General":
                        assert float(cell.value).is_integer() and abs(cell.value) < 1e10, (
                            ws.title, cell.coordinate, cell.value)
    assert numeric > 3468


def test_index_groups_runs_by_notebook_with_question_and_audience(suite):
    reports, runs = suite
    html = (reports / "index.html").read_text(encoding="utf-8")
    assert html.index("绩效模拟报告") < html.index("perfsim reports</h1>")
    for stem in EXPECTED:
        card = nbp.notebook_card(nbp.find_notebook(stem))
        assert card.title.startswith(stem[:2]) and "—" in card.question, stem
        heading = html.index(f"<h3>{card.title}</h3>")
        # the question and audience follow the heading, then the notebook's own runs
        block = html[heading:html.find("<h3>", heading + 1) % (len(html) + 1)]
        assert card.question.split("—")[0].strip() in block
        assert nbp.AUDIENCE_LABELS[card.audience] in block
        assert f'href="{runs[stem].run_id}/{stem}.html"' in block
    assert html.count("<h3>") == len(EXPECTED)


def test_notebook_card_reads_title_question_and_audience(tmp_path):
    card = nbp.notebook_card(book_with_audience(tmp_path))
    assert (card.title, card.question, card.audience) == ("For finance staff", "", "finance")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(
        "# 99 标题 — Title\n\n> 问题？— Question\n> on two lines?\n\nProse.")]
    nbformat.write(nb, tmp_path / "card.ipynb")
    card = nbp.notebook_card(tmp_path / "card.ipynb")
    assert card.title == "99 标题 — Title"
    assert card.question == "问题？— Question on two lines?"
    assert card.audience_label == "研究人员 policy researchers"


def answer_numbers(executed: Path) -> tuple[set[str], set[str]]:
    """Formatted numbers (with a thousands separator or decimals) in the outputs of the cells
    tagged ``answer`` of an executed notebook, and those anywhere in its other cells."""
    found: tuple[set[str], set[str]] = (set(), set())
    for cell in nbformat.read(executed, as_version=4).cells:
        answer = "answer" in cell.metadata.get("tags", [])
        outputs = cell.get("outputs", [])
        text = json.dumps([o.get("data", {}).get("text/html", "") for o in outputs]
                          + [o.get("text", "") for o in outputs]
                          + ([] if answer else [cell.source]), ensure_ascii=False)
        numbers = set(re.findall(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+\.\d+", text))
        found[0 if answer else 1].update(numbers)
    return found


@pytest.fixture(scope="module")
def hand_out(tmp_path_factory):
    """The trainer's hand-out of notebook 07 (show_answers false), run once: its reports
    folder."""
    folder = tmp_path_factory.mktemp("hand-out")
    assert main(["notebooks", "run", "07", "-p", "replications", "32", "-p", "show_answers",
                 "false", "--out", str(folder), "--run-id", "hand-out"]) == 0
    return folder


def test_hand_out_shows_no_answer_anywhere(suite, hand_out):
    """The trainer's hand-out (show_answers false): the answers' prose, tables, figures and
    files are absent from the HTML, from the executed notebook beside it and from its folder;
    the key (the suite's default run) has them."""
    reports, runs = suite
    key = reports / "t-07"
    tmp_path = hand_out
    out = tmp_path / "hand-out"
    source = nbformat.read(nbp.find_notebook("07"), as_version=4)
    answers = [c for c in source.cells if "answer" in c.metadata.get("tags", [])]
    prose = [ln for c in answers if c.cell_type == "markdown"
             for ln in c.source.splitlines() if len(ln) > 20]
    assert len(prose) > 8
    shown, other = answer_numbers(key / "07_training_walkthrough.ipynb")
    revealing = shown - other
    assert len(revealing) > 5  # the key's answers hold figures seen nowhere else
    # what a reader sees in the executed notebook: its cells' sources and outputs (not the
    # run's metadata, whose timestamps and durations hold arbitrary digits)
    executed = json.dumps([[c.source, c.get("outputs", [])] for c in nbformat.read(
        out / "07_training_walkthrough.ipynb", as_version=4).cells], ensure_ascii=False)
    # and in the report: its text, not the styles and scripts of the page
    html = re.sub(r"<(style|script)\b.*?</\1>", "", (out / "07_training_walkthrough.html")
                  .read_text(encoding="utf-8"), flags=re.S)
    key_html = (key / "07_training_walkthrough.html").read_text(encoding="utf-8")
    for text in (executed, html):
        for line in prose:
            assert line not in text, line
        for number in revealing:
            assert number not in text, number
        assert "答案已隐藏" in text
    assert any(number in key_html for number in revealing)
    assert all(html.count(line) == 0 for line in prose)
    assert not any("answer" in c.metadata.get("tags", [])
                   for c in nbformat.read(out / "07_training_walkthrough.ipynb", 4).cells)
    # no answer in the run's files either, and no "run the next cell" where no cell shows
    assert sorted(p.name for p in out.rglob("*.*") if p.parent.name in ("tables", "figures")
                  ) == ["today.csv"]
    assert (key / "tables" / "results.csv").exists()
    assert "next cell" not in html and "下一个单元" not in html
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["answers"] is False and manifest["audience"] == "training"
    assert "讲义 hand-out" in (tmp_path / "index.html").read_text(encoding="utf-8")


def test_same_notebook_same_parameters_gives_byte_identical_tables(suite, tmp_path):
    reports, runs = suite
    first = reports / runs["02_grade_thresholds"].run_id / "tables"
    again = nbr.run_notebook("02", SMALL["02_grade_thresholds"], reports=tmp_path)
    assert again.ok, again.error
    second = again.path / "tables"
    names = sorted(p.name for p in first.iterdir())
    assert names == sorted(p.name for p in second.iterdir()) and "results.csv" in names
    for name in names:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


def test_index_lists_runs_with_relative_links_that_exist(suite):
    reports, runs = suite
    html = (reports / "index.html").read_text(encoding="utf-8")

    class Links(HTMLParser):
        hrefs: list[str] = []

        def handle_starttag(self, tag, attrs):
            if tag == "a":
                self.hrefs.append(dict(attrs)["href"])

    parser = Links()
    parser.hrefs = []
    parser.feed(html)
    assert parser.hrefs
    for href in parser.hrefs:
        assert not re.match(r"^[a-z]+:", href) and not href.startswith("/"), href
        assert (reports / href).exists(), href
    for run in runs.values():
        assert f'href="{run.run_id}/{run.notebook}.html"' in html
    assert html.count('class="ok"') >= len(EXPECTED)


# --- parameters ----------------------------------------------------------------------------------

def test_unknown_parameter_is_rejected_before_execution_listing_valid_ones(tmp_path, capsys):
    with pytest.raises(InputError) as err:
        nbr.run_notebook("07", {"replicatons": 5}, reports=tmp_path)
    message = str(err.value)
    assert "replicatons" in message and "unknown parameter" in message
    for valid in ("seed", "ratio", "replications", "show_answers"):
        assert valid in message
    assert "output_dir" not in message.split("valid:")[1]
    assert not tmp_path.exists() or not any(tmp_path.iterdir())
    code = main(["notebooks", "run", "07", "-p", "nope", "1", "--out", str(tmp_path)])
    assert code == 2
    assert "unknown parameter" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_output_dir_belongs_to_the_runner(tmp_path):
    with pytest.raises(InputError, match="set by the runner"):
        nbr.run_notebook("07", texts={"output_dir": "/tmp"}, reports=tmp_path)


@pytest.mark.parametrize("kind,text,expected", [
    ("int", "32", 32), ("int", " 7 ", 7), ("float", "0.15", 0.15), ("float", "2", 2.0),
    ("bool", "false", False), ("bool", "Yes", True), ("bool", "0", False),
    ("str", "a b", "a b"), ("list", "[0.1, 0.2]", [0.1, 0.2]),
])
def test_text_values_are_converted_by_the_type_of_the_default(kind, text, expected):
    default = {"int": 1, "float": 1.0, "bool": True, "str": "", "list": []}[kind]
    p = nbp.Parameter("x", default, kind)
    value = nbp.coerce_value(p, text, from_text=True)
    assert value == expected and type(value) is type(expected)


@pytest.mark.parametrize("kind,value,from_text", [
    ("int", "1.5", True), ("int", "abc", True), ("int", True, False), ("int", 1.0, False),
    ("float", "nan", True), ("float", "x", True), ("float", "inf", True),
    ("bool", "maybe", True), ("bool", 1, False), ("str", 5, False), ("list", "3", True),
])
def test_bad_values_are_rejected_with_a_clear_message(kind, value, from_text):
    default = {"int": 1, "float": 1.0, "bool": True, "str": "", "list": []}[kind]
    with pytest.raises(InputError, match=r"parameter 'x'.*default"):
        nbp.coerce_value(nbp.Parameter("x", default, kind), value, from_text=from_text)


def test_bad_cli_value_is_rejected_before_execution(tmp_path, capsys):
    assert main(["notebooks", "run", "07", "-p", "replications", "many",
                 "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "parameter 'replications'" in err and "whole number" in err
    assert not any(tmp_path.iterdir())


def test_parameter_file_is_read_and_checked(tmp_path):
    f = tmp_path / "p.yaml"
    f.write_text("replications: 16\nratio: 0.2\n")
    book = nbp.find_notebook("07")
    assert nbp.resolve_parameters(book, nbp.read_parameter_file(f), {"ratio": "0.1"}) == {
        "ratio": 0.1, "replications": 16}
    f.write_text("replications: '16'\n")
    with pytest.raises(InputError, match="whole number"):
        nbp.resolve_parameters(book, nbp.read_parameter_file(f))


HOSTILE = [
    'x"; open("PWNED", "w").write("1"); y = "',
    "x'; open('PWNED', 'w').write('1'); y = '",
    '"""\nopen("PWNED", "w").write("1")\n"""',
    "\n__import__('os').system('touch PWNED')\n#",
    '\\"; __import__("os").system("touch PWNED"); #',
    "{__import__('os').system('touch PWNED')}",
    "中文 \u2028 \x00 \\N{BULLET} \\x41 ' \" \\",
]


def test_hostile_string_parameters_arrive_as_plain_strings(tmp_path):
    book = tmp_path / "echo.ipynb"
    nb = nbformat.v4.new_notebook(metadata={
        "kernelspec": {"name": "python3", "language": "python", "display_name": "Python 3"}})
    params = nbformat.v4.new_code_cell('text = "plain"  # any string\noutput_dir = ""  # set')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(
        "from perfsim import notebooks as nb\nimport pandas as pd\n"
        "nb.save_table(pd.DataFrame({'text': [text]}), 'results', output_dir)\n"
        "nb.output_path('received.json', output_dir).write_text(__import__('json').dumps(text))")]
    nbformat.write(nb, book)
    reports = tmp_path / "reports"
    for k, payload in enumerate(HOSTILE):
        run = nbr.run_notebook(str(book), {"text": payload}, reports=reports, run_id=f"h{k}")
        assert run.ok, run.error
        received = json.loads((run.path / "received.json").read_text(encoding="utf-8"))
        assert received == payload
        executed = nbformat.read(run.path / "echo.ipynb", as_version=4)
        injected = next(c for c in executed.cells
                        if "injected-parameters" in c.metadata.get("tags", []))
        tree = ast.parse(injected.source)  # plain assignments of constants, nothing else
        assert all(isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
                   for node in tree.body)
        values = {node.targets[0].id: node.value.value for node in tree.body}
        assert values == {"text": payload, "output_dir": "."}
    assert not list(tmp_path.rglob("PWNED")) and not (Path.cwd() / "PWNED").exists()


# --- run ids, failures -------------------------------------------------------------------------

@pytest.mark.parametrize("run_id", ["../escape", "..", "a/../../b", "a/b", "/abs", ".hidden",
                                    "a\\b", "", "x\ny", "abc\n", "runs", "sp ace", "é"])
def test_run_id_cannot_escape_reports(tmp_path, run_id):
    with pytest.raises(InputError, match="run id"):
        nbr.check_run_id(run_id, tmp_path / "reports")
    with pytest.raises(InputError, match="run id"):
        nbr.run_notebook("07", reports=tmp_path / "reports", run_id=run_id)
    assert not (tmp_path / "escape").exists()
    assert not (tmp_path / "reports").exists()


def test_valid_run_id_stays_inside_reports(tmp_path):
    assert nbr.check_run_id("my-run_2.0", tmp_path) == (tmp_path / "my-run_2.0").resolve()


def test_failed_run_keeps_the_executed_notebook_with_the_error(tmp_path):
    """A quota of 150% passes the parameter's type (the one table has no range for it) and
    fails inside the notebook, where the grading refuses it."""
    run = nbr.run_notebook("07", {"quota": 1.5, "replications": 32}, reports=tmp_path,
                           run_id="bad")
    assert run.status == "failed" and "quotas.excellent" in run.error
    manifest = json.loads((tmp_path / "bad" / "manifest.json").read_text())
    assert manifest["status"] == "failed" and "InputError" in manifest["error"]
    executed = nbformat.read(tmp_path / "bad" / "07_training_walkthrough.ipynb", as_version=4)
    errors = [o for c in executed.cells if c.cell_type == "code" for o in c.outputs
              if o.get("output_type") == "error"]
    assert errors and errors[0]["ename"] == "InputError"
    assert "InputError" in (tmp_path / "bad" / "07_training_walkthrough.html").read_text()
    index = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert 'class="failed"' in index and "bad/" in index


# --- helpers used by notebooks -------------------------------------------------------------

def test_save_helpers_write_into_the_run_directory_only(tmp_path):
    df = pd.DataFrame({"a": [1.0, 2.5], "b": ["优", "良"]})
    assert notebooks.save_table(df, "t", "") is None
    path = notebooks.save_table(df, "t", tmp_path)
    assert path == tmp_path / "tables" / "t.csv"
    assert path.read_bytes() == "\ufeffa,b\n1.0,优\n2.5,良\n".encode()  # UTF-8 with BOM
    assert notebooks.save_table(df, "t", tmp_path, fmt="parquet").suffix == ".parquet"
    for bad in ("../x", "a/b", ".x", ""):
        with pytest.raises(InputError):
            notebooks.save_table(df, bad, tmp_path)
        with pytest.raises(InputError):
            notebooks.output_path(bad, tmp_path)
    fig = plots.bar_chart(df, "b", "a", title="t", xlabel="x (unit)", ylabel="y (yuan)",
                          source="test")
    assert notebooks.save_figure(fig, "f", "") is None
    assert notebooks.save_figure(fig, "f", tmp_path).read_bytes()[:4] == b"\x89PNG"
    assert notebooks.output_path("w.xlsx", "") is None
    assert notebooks.output_path("w.xlsx", tmp_path) == tmp_path / "w.xlsx"


def test_input_path_resolves_against_the_project_and_records_the_file(tmp_path):
    p = notebooks.input_path("datasets/scenarios/liupanshui_2022.yaml", tmp_path)
    assert p == ROOT / "datasets" / "scenarios" / "liupanshui_2022.yaml"
    assert json.loads((tmp_path / ".inputs.jsonl").read_text())["path"] == str(p)
    with pytest.raises(InputError, match="file not found"):
        notebooks.input_path("datasets/nope.yaml")


def test_answer_shows_or_hides(monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", shown.append)
    df = pd.DataFrame({"a": [1]})
    assert notebooks.answer(True, df) is None and shown == [df]  # displayed, no repr
    assert notebooks.answer(False, df) == notebooks.HIDDEN and shown == [df]


def test_find_notebook_by_number_stem_or_file():
    assert nbp.find_notebook("04").stem == "04_reduction_ratio"
    assert nbp.find_notebook("04_reduction_ratio.ipynb").stem == "04_reduction_ratio"
    with pytest.raises(InputError, match="no such notebook.*01_indicator_weighting"):
        nbp.find_notebook("99")


def test_the_kernel_is_this_python():
    from jupyter_client.kernelspec import KernelSpecManager

    name = nbr.kernel_name()
    argv0 = KernelSpecManager().get_kernel_spec(name).argv[0]
    assert argv0 in ("python", "python3") or Path(argv0).samefile(
        __import__("sys").executable)


def test_figures_have_title_axis_labels_and_source():
    df = pd.DataFrame({"x": [1, 2, 3], "y": [1.0, 2.0, 1.5], "lo": [0.5, 1.5, 1.0],
                       "hi": [1.5, 2.5, 2.0], "g": ["a", "a", "b"]})
    figs = [
        plots.bar_chart(df, "x", "y", hue="g", low="lo", high="hi", title="T 标题",
                        xlabel="x (count)", ylabel="y (yuan)", source="unit test"),
        plots.line_chart(df, "x", "y", low="lo", high="hi", title="T", xlabel="x (year)",
                         ylabel="y (share)", source="unit test"),
        plots.histogram(df["y"], lines=[1.2], title="T", xlabel="score (points)",
                        ylabel="projects (count)", source="unit test"),
        plots.heatmap(pd.DataFrame([[1.0, 0.5], [0.5, 1.0]], index=["a", "b"],
                                   columns=["a", "b"]), title="T", xlabel="a", ylabel="b",
                      source="unit test", colorbar="rho (unitless)"),
    ]
    for fig in figs:
        ax = fig.axes[0]
        assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
        assert any(t.get_text().startswith("Source: unit test") for t in fig.texts)
    with pytest.raises(InputError, match="title"):
        plots.bar_chart(df, "x", "y", title="", xlabel="x", ylabel="y", source="s")


def test_text_drops_chinese_without_a_cjk_font(monkeypatch):
    monkeypatch.setattr(plots, "use_cjk_font", lambda: None)
    assert plots.text("节约资金 savings (亿元, 100 million yuan)") == \
        "savings (100 million yuan)"
    assert plots.text("等级 grade") == "grade"


def test_cjk_font_is_installed_by_the_project():
    """mpl-font is a dependency: its Noto Sans CJK SC file is registered with matplotlib."""
    assert plots.use_cjk_font() == "Noto Sans CJK SC"


def test_html_reports_load_no_script_or_style_from_another_host(tmp_path):
    book = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# 节约资金 savings"),
        nbformat.v4.new_code_cell("1 + 1", execution_count=1, outputs=[
            nbformat.v4.new_output("execute_result", {"text/plain": "2"}, execution_count=1)]),
    ])
    nbformat.write(book, tmp_path / "small.ipynb")
    for no_code in (False, True):
        nbr._write_html(tmp_path / "small.ipynb", tmp_path / "small.html", no_code)
        html = (tmp_path / "small.html").read_text(encoding="utf-8")
        assert "节约资金 savings" in html and "<style" in html
        assert not re.search(r"<script[^>]*\bsrc=[\"']?(https?:)?//", html, re.I)
        assert not re.search(r"<link[^>]*\bhref=[\"']?(https?:)?//", html, re.I)
        assert nbr.external_references(html) == []
        assert "cdnjs" not in html and "mathjax" not in html.lower()
    # nbconvert's defaults do load require.js and MathJax from a CDN: the check finds them
    from nbconvert import HTMLExporter

    default, _ = HTMLExporter(template_name="lab").from_notebook_node(book)
    found = nbr.external_references(default)
    assert len(found) == 2 and all("cdnjs.cloudflare.com" in tag for tag in found)


# --- Excel from the command line ------------------------------------------------------------

def test_run_xlsx_writes_the_allocation_workbook(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", str(ROOT / "datasets/scenarios/liupanshui_2022.yaml"), "--out",
                 str(out), "--xlsx"]) == 0
    assert "allocation.xlsx" in capsys.readouterr().out
    wb = openpyxl.load_workbook(out / "allocation.xlsx")
    assert wb.sheetnames == ["项目 projects", "部门台账 ledger", "等级汇总 grades", "说明"]
    ledger = wb["部门台账 ledger"]
    header = [c.value for c in ledger[1]]
    assert header[:2] == ["部门 department", "等级 grade"]
    col = header.index("下年预算 next budget (元 yuan)") + 1
    assert all(ledger.cell(row=r, column=col).number_format == "#,##0.00"
               for r in range(2, ledger.max_row + 1))
    total = [r for r in wb["等级汇总 grades"].iter_rows(values_only=True)][-1]
    assert total[0] == "合计 total" and total[2] == 3468
    assert main(["run", str(ROOT / "datasets/scenarios/liupanshui_2022.yaml"), "--out",
                 str(tmp_path / "mc"), "--xlsx", "--replications", "2"]) == 2


def test_the_training_notebook_carries_the_what_if_panel_and_its_report_a_note(suite):
    """In JupyterLab the training notebook shows the what-if widgets of `perfsim app`; the
    static report, where widgets cannot run, shows a note in their place."""
    reports, _ = suite
    executed = nbformat.read(reports / "t-07" / "07_training_walkthrough.ipynb", as_version=4)
    (cell,) = [c for c in executed.cells if "interactive" in c.metadata.get("tags", [])]
    assert "whatif.panel" in cell.source
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {})
               for o in cell.outputs)
    html = (reports / "t-07" / "07_training_walkthrough.html").read_text(encoding="utf-8")
    assert nbr.INTERACTIVE_NOTE.split("：")[0].lstrip("*") in html
    assert "widget-view" not in html and "VBox(" not in html


# --- every rendered table in its declared units ---------------------------------------------

def test_every_report_table_shows_each_column_in_its_declared_unit(suite):
    """Issue 28: no report cell shows a value in another column's unit. Every table each
    default report shows is read back from the executed notebook's outputs (which the HTML
    embeds as they are) and each cell checked against the unit its heading declares: money with
    thousands separators and two decimals in the table's one unit, shares with a % sign, counts
    and ranks as integers, a long table's values in their row's metric's unit; no repr, no
    papermill parameters cell anywhere on the page."""
    reports, runs = suite
    problems: list[str] = []
    for stem in EXPECTED:
        d = reports / runs[stem].run_id
        checked, found = rc.notebook_problems(d / f"{stem}.ipynb")
        assert checked >= 2, (stem, checked)  # every report shows tables
        problems += found
        html = (d / f"{stem}.html").read_text(encoding="utf-8")
        problems += rc.page_problems(html, f"{stem}.html")
        # the page shows no table the check did not read
        outputs = {rc.table_key(t) for s in rc.shown_tables(d / f"{stem}.ipynb")
                   for t in rc.read_tables(s.html)}
        on_page = [t for t in rc.read_tables(html) if "dataframe" in t.css]
        assert on_page, stem
        assert all(rc.table_key(t) in outputs for t in on_page), stem
    assert problems == []


def test_hand_out_shows_no_table_figure_or_trainer_note_of_the_key(suite, hand_out):
    """The hand-out's page holds none of the tables and figures the key's answer cells show
    (the same run otherwise: the same numbers, the same images) and none of the trainer's
    notes; the key's page does hold them, so the check can see them."""
    reports, _ = suite
    key_dir = reports / "t-07"
    key_nb = nbformat.read(key_dir / "07_training_walkthrough.ipynb", as_version=4)
    tables: set = set()
    images: set[str] = set()
    for cell in key_nb.cells:
        if "answer" not in cell.metadata.get("tags", []):
            continue
        for o in cell.get("outputs", []):
            data = o.get("data", {})
            if "image/png" in data:
                images.add("".join(data["image/png"].split()))
            html = data.get("text/html", "")
            tables |= {rc.table_key(t) for t in rc.read_tables("".join(html))}
    assert len(tables) >= 3 and images
    source = nbformat.read(nbp.find_notebook("07"), as_version=4)
    notes = [piece.strip() for c in source.cells if "trainer" in c.metadata.get("tags", [])
             for piece in re.split(r"[`*_#>\[\]()|\n]", c.source) if len(piece.strip()) > 15]
    assert notes

    def seen(page: str) -> tuple[set, set[str], str]:
        return ({rc.table_key(t) for t in rc.read_tables(page)},
                set(re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)", page)),
                " ".join(rc.page_text(page).split()))

    key_tables, key_images, key_text = seen(
        (key_dir / "07_training_walkthrough.html").read_text(encoding="utf-8"))
    assert tables <= key_tables and images <= key_images
    assert any(note in key_text for note in notes)
    page = (hand_out / "hand-out" / "07_training_walkthrough.html").read_text(encoding="utf-8")
    out_tables, out_images, out_text = seen(page)
    assert out_tables and not out_tables & tables
    assert out_images and not out_images & images
    assert not [note for note in notes if note in out_text]
    # what the hand-out does show is in its units too
    checked, problems = rc.notebook_problems(
        hand_out / "hand-out" / "07_training_walkthrough.ipynb")
    assert checked and problems == []
    assert rc.page_problems(page) == []
