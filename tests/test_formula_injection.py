"""Formula injection (issue 23): text from the user's files that a spreadsheet would take for a
formula (``=1+1``, ``=HYPERLINK(...)``, ``=cmd|...``, ``+1``, ``@SUM(A1)``, ``-2+3``, a leading
tab) goes through every writer of perfsim — ``run --xlsx``, ``--advanced-share``, the Monte
Carlo, the department reports, the import, the templates, the app's download — and comes out
as text: in workbooks a string cell with Excel's quote prefix, never a formula; in CSVs with a
leading ``'`` (OWASP's rule). Numbers, negative ones too, stay numbers."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import yaml
from conftest import DATA
from forms_tables import clean_table, workbook

import perfsim
from perfsim.app import compute
from perfsim.cli import main
from perfsim.io import csv_safe, formula_safe

HOSTILE = ["=1+1", '=HYPERLINK("http://x"&A1;"点我")', "=cmd|' /C calc'!A0", "+1",
           "@SUM(A1)", "-2+3", "\tTAB"]
STARTS = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?([eE]-?[0-9]+)?")


def problems_in(path: Path, data: bytes | None = None) -> list[str]:
    """Every cell of a workbook or CSV that a spreadsheet would evaluate: in a workbook a
    formula cell, or formula-like text without the quote prefix; in a CSV a field that starts
    like a formula and is not a plain number."""
    found = []
    if path.suffix == ".xlsx":
        wb = openpyxl.load_workbook(io.BytesIO(data) if data is not None else path)
        for ws in wb.worksheets:
            for row in ws.iter_rows():
                for c in row:
                    if c.data_type == "f":
                        found.append(f"{path.name}!{ws.title}!{c.coordinate}: formula {c.value!r}")
                    elif (isinstance(c.value, str) and c.value.startswith(STARTS)
                          and not (c.data_type == "s" and c.quotePrefix)):
                        found.append(f"{path.name}!{ws.title}!{c.coordinate}: {c.value!r}")
    else:
        text = path.read_text(encoding="utf-8-sig")
        for k, row in enumerate(csv.reader(io.StringIO(text)), start=1):
            found += [f"{path.name} row {k}: {v!r}" for v in row
                      if v.startswith(STARTS) and not NUMBER.fullmatch(v)]
    return found


def outputs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix in (".csv", ".xlsx"))


def xlsx_values(path: Path | bytes) -> set[str]:
    wb = openpyxl.load_workbook(io.BytesIO(path) if isinstance(path, bytes) else path)
    return {c.value for ws in wb.worksheets for row in ws.iter_rows() for c in row
            if isinstance(c.value, str)}


def csv_values(path: Path) -> set[str]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return {v for row in csv.reader(fh) for v in row}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> Path:
    """A scenario over seven measured projects whose ids (but one), departments and names are
    hostile text; budgets 1,000 to 7,000 yuan."""
    folder = tmp_path_factory.mktemp("hostile")
    rows = [{"project_id": h if k != 1 else "P1", "department": h, "name": h,
             "budget": 1000 * (k + 1), "A.1.1": 100 - 10 * k, "A.1.2": k, "A.2": "好",
             "B": 90 - 5 * k, "C": 100 - 5 * k, "C.self": 100, "X.1": 0,
             "has_targets": "yes", "self_evaluated": "yes"} for k, h in enumerate(HOSTILE)]
    pd.DataFrame(rows).to_csv(folder / "p.csv", index=False)
    path = folder / "hostile.yaml"
    path.write_text(f"name: hostile\nseed: 1\nindicator_system: {DATA}/tiny_system.yaml\n"
                    "portfolio: {file: p.csv}\n"
                    "grading: {labels: national, cutoffs: [90, 80, 60]}\n"
                    "linkage: {rule: liupanshui, ratio: 0.15, pool: treasury}\n",
                    encoding="utf-8")
    return path


#: the hostile departments as the portfolio reader keeps them (it trims surrounding spaces)
VISIBLE = [h for h in HOSTILE if h == h.strip()]


def test_the_rule_on_single_values():
    assert [formula_safe(h) for h in HOSTILE] == ["'" + h for h in HOSTILE]
    assert formula_safe("\rx") == "'\rx" and formula_safe("县局=1") == "县局=1"
    assert formula_safe(-2.5) == -2.5 and formula_safe(None) is None
    frame = pd.DataFrame({"department": ["-2+3", "甲"], "change": [-150.0, 3.0]})
    safe = csv_safe(frame)
    assert safe["department"].tolist() == ["'-2+3", "甲"]
    assert safe["change"].tolist() == [-150.0, 3.0]  # negative money is not text
    assert frame["department"].tolist() == ["-2+3", "甲"]  # the caller's frame untouched


def test_run_xlsx_and_departments(hostile, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", str(hostile), "--xlsx", "--advanced-share", "0.2",
                 "--out", str(out)]) == 0
    files = outputs(out)
    assert {p.name for p in files} >= {"allocations.csv", "ledger.csv", "grades.csv",
                                       "departments.csv", "allocation.xlsx"}
    assert [p for f in files for p in problems_in(f)] == []
    # readable: the CSVs carry each department behind one quote, the workbook as typed
    for name in ("allocations.csv", "ledger.csv", "departments.csv"):
        assert {"'" + h for h in VISIBLE} <= csv_values(out / name), name
    assert set(VISIBLE) <= xlsx_values(out / "allocation.xlsx")
    allocations = pd.read_csv(out / "allocations.csv", encoding="utf-8-sig")
    assert allocations["budget"].sum() == 28000  # amounts still numbers


def test_monte_carlo(hostile, tmp_path, capsys):
    out = tmp_path / "mc"
    assert main(["run", str(hostile), "--replications", "3", "--years", "2",
                 "--out", str(out)]) == 0
    files = outputs(out)
    assert {p.name for p in files} == {"replications.csv", "projects.csv"}
    assert [p for f in files for p in problems_in(f)] == []
    assert {"'" + h for h in VISIBLE} <= csv_values(out / "projects.csv")


def test_department_reports(hostile, tmp_path, capsys):
    out = tmp_path / "deps"
    assert main(["report", "departments", str(hostile), "--top", "7",
                 "--out", str(out)]) == 0
    assert [p for f in outputs(out) for p in problems_in(f)] == []
    assert set(VISIBLE) <= xlsx_values(out / "departments.xlsx")
    pages = sorted(p.name for p in (out / "pages").iterdir())
    assert len(pages) == 7 and not any(p.startswith((".", "-")) for p in pages)


def test_robust_tables(hostile, tmp_path, capsys):
    out = tmp_path / "smaa"
    assert main(["robust", "smaa", str(hostile), "--draws", "50", "--out", str(out)]) == 0
    files = outputs(out)
    assert files and [p for f in files for p in problems_in(f)] == []
    assert {"'" + h for h in VISIBLE} <= set().union(*(csv_values(f) for f in files))


def test_the_apps_download(hostile):
    data = compute.workbook(perfsim.load(hostile).run_year())
    assert problems_in(Path("allocation.xlsx"), data) == []
    assert set(VISIBLE) <= xlsx_values(data)


def test_the_scores_template(hostile, tmp_path, capsys):
    path = tmp_path / "scores.xlsx"
    assert main(["template", "scores", "--scenario", str(hostile), "--out", str(path)]) == 0
    assert problems_in(path) == []
    assert set(VISIBLE) <= xlsx_values(path)


def test_the_portfolio_template(tmp_path, capsys):
    doc = yaml.safe_load((DATA / "tiny_system.yaml").read_text(encoding="utf-8"))
    doc["name"] = {"zh": HOSTILE[5], "en": HOSTILE[2]}
    a = doc["indicators"][0]
    a["children"][0]["children"][0]["name"] = {"zh": HOSTILE[0], "en": HOSTILE[1]}
    a["children"][0]["children"][1]["name"] = {"zh": HOSTILE[3], "en": HOSTILE[4]}
    a["children"][1]["rule"]["levels"] = {'好",HYPERLINK("x': 1.0, "中": 0.5, "差": 0.0}
    system = tmp_path / "system.yaml"
    system.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    path = tmp_path / "template.xlsx"
    assert main(["template", "portfolio", "--system", str(system), "--out", str(path)]) == 0
    assert problems_in(path) == []
    values = xlsx_values(path)
    assert {HOSTILE[k] for k in (0, 1, 3, 4)} <= values
    assert any(v.startswith("indicator system: tiny (-2+3 / =cmd") for v in values)
    # a level's name cannot close the drop-down list's string literal
    lists = [dv.formula1 for dv in openpyxl.load_workbook(path).worksheets[0]
             .data_validations.dataValidation]
    assert '"好"",HYPERLINK(""x,中,差"' in lists


def test_the_import(tmp_path, capsys):
    folder = tmp_path / "in"
    for k, h in enumerate(HOSTILE):
        workbook(folder / f"t{k}.xlsx",
                 clean_table(project=h, department=h, unit=HOSTILE[k - 1]))
    out = tmp_path / "out"
    assert main(["import", str(folder), "--out", str(out)]) == 0
    files = outputs(out)
    assert {p.name for p in files} >= {"projects.csv", "findings.csv", "review.xlsx"}
    assert [p for f in files for p in problems_in(f)] == []
    # the form reader drops white space inside a cell's text
    read = {"".join(h.split()) for h in VISIBLE}
    assert {"'" + h for h in read} <= csv_values(out / "projects.csv")
    assert read <= xlsx_values(out / "review.xlsx")


def test_the_check_itself_finds_a_formula(tmp_path):
    # the inspection above would see what the writers used to leave: a live formula, and
    # formula-like text in a CSV
    frame = pd.DataFrame({"department": HOSTILE})
    with pd.ExcelWriter(tmp_path / "raw.xlsx", engine="openpyxl") as writer:
        frame.to_excel(writer, index=False)
    frame.to_csv(tmp_path / "raw.csv", index=False)
    assert len(problems_in(tmp_path / "raw.xlsx")) == len(HOSTILE)
    assert len(problems_in(tmp_path / "raw.csv")) == len(HOSTILE)
