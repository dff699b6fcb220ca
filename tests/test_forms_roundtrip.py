"""Training workbooks through the importer: every layout variant reads back to the generator's
truth (money, execution rate, printed and recomputed totals to 0.01 points, grades), every
planted error is found where it was planted, and a clean table has no finding.

The generator computes its truth from the numbers it chose (by construction); the importer
reads only the workbooks' cells: two independent paths to the same figures."""

from __future__ import annotations

import pandas as pd
import pytest

from perfsim.cli import main
from perfsim.forms.generate import VARIANTS

KEY = ["file", "sheet", "project"]
MONEY = ["budget_initial", "budget_full", "executed"]


def _run(tmp_path, name: str, projects: int, errors: float, seed: int):
    books, out = tmp_path / f"{name}_books", tmp_path / f"{name}_import"
    assert main(["template", "selfeval", "--projects", str(projects), "--seed", str(seed),
                 "--errors", str(errors), "--out", str(books)]) == 0
    assert main(["import", str(books), "--out", str(out)]) == 0
    def read(path):  # files named as in the folder
        frame = pd.read_csv(path, encoding="utf-8-sig", dtype={"sheet": str})
        frame["file"] = frame["file"].map(lambda f: str(f).replace(f"{books}/", ""))
        return frame

    return (read(books / "truth.csv"), read(books / "planted.csv"),
            read(out / "projects.csv"), read(out / "findings.csv"),
            read(books / "truth_tasks.csv"), read(out / "tasks.csv"))


def _joined(truth: pd.DataFrame, projects: pd.DataFrame) -> pd.DataFrame:
    both = truth.merge(projects, on=KEY, how="outer", suffixes=("_truth", "_read"),
                       indicator=True)
    assert (both["_merge"] == "both").all(), both.loc[both["_merge"] != "both", KEY]
    return both


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    return _run(tmp_path_factory.mktemp("clean"), "clean", 2 * len(VARIANTS), 0.0, seed=5)


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    return _run(tmp_path_factory.mktemp("planted"), "planted", 3 * len(VARIANTS), 0.6, seed=8)


def test_every_variant_reads_back_to_the_truth(clean):
    truth, _, projects, findings, _, _ = clean
    both = _joined(truth, projects)
    assert {v for v in VARIANTS if both["file"].str.contains(f"_{v}").any()} == set(VARIANTS)
    for col in MONEY:
        assert (both[f"{col}_truth"] - both[f"{col}_read"]).abs().max() < 0.005, col
    assert (both["execution_rate_truth"] - both["execution_rate_read"]).abs().max() < 1e-6
    for col in ("printed_total", "recomputed_total"):
        assert (both[f"{col}_truth"] - both[f"{col}_read"]).abs().max() <= 0.01 + 1e-9, col
    for col in ("printed_grade", "recomputed_grade"):
        assert (both[f"{col}_truth"] == both[f"{col}_read"]).all(), col
    assert set(both["form_read"]) == {"project", "department"}


def test_a_clean_table_has_no_finding(clean):
    _, planted_, _, findings, _, _ = clean
    assert len(planted_) == 0
    assert len(findings) == 0, findings[["file", "cell", "kind"]].head().to_string()


def test_every_planted_error_is_found_and_nothing_else(planted):
    truth, planted_, projects, findings, _, _ = planted
    _joined(truth, projects)
    assert set(planted_["kind"]) == set(planted_["kind"]) & set(findings["kind"])
    assert len(set(planted_["kind"])) >= 8      # the kinds are planted in turn
    want = set(map(tuple, planted_[["file", "sheet", "cell", "kind"]].astype(str).to_numpy()))
    got = set(map(tuple, findings[["file", "sheet", "cell", "kind"]].astype(str).to_numpy()))
    assert want - got == set()
    assert got - want == set()


SPENDING = ["basic_budget_full", "basic_executed", "project_spending_budget_full",
            "project_spending_executed"]


@pytest.mark.parametrize("which", ["clean", "planted"])
def test_spending_lines_and_tasks_read_back_to_the_truth_exactly(which, request):
    truth, _, projects, _, truth_tasks, tasks = request.getfixturevalue(which)
    both = _joined(truth, projects)
    department = both["form_read"] == "department"
    assert department.sum() >= 2
    for col in SPENDING:
        # exactly, to the fen; blank (NaN) in both for project tables, never 0
        assert both[f"{col}_truth"].equals(both[f"{col}_read"]), col
        assert both.loc[~department, f"{col}_read"].isna().all(), col
        assert both.loc[department, f"{col}_read"].notna().all(), col
    cols = ["file", "sheet", "department", "task", "content", "budget", "executed", "status"]
    assert len(truth_tasks) >= 6
    pd.testing.assert_frame_equal(tasks[cols].reset_index(drop=True),
                                  truth_tasks[cols].reset_index(drop=True))
