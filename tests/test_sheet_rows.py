"""Messages name a project's row as the spreadsheet shows it, blank spacer rows counted: the
reader skips empty rows (as pandas does) but keeps each row's number on the sheet."""

from __future__ import annotations

import numpy as np
import pytest
from openpyxl import Workbook

from perfsim.errors import InputError
from perfsim.model.portfolio import load_portfolio

HEADER = ["project_id", "department", "budget", "score"]
GOOD = [["P01", "D1", 100, 85], ["P02", "D1", 200, 75]]
BAD = ["P03", "D2", 300, "lots"]


def _xlsx(path, lines):
    wb = Workbook()
    ws = wb.active
    for k, line in enumerate(lines, start=1):
        for j, v in enumerate(line or [], start=1):
            ws.cell(row=k, column=j, value=v)
    wb.save(path)
    return path


def _csv(path, lines):
    path.write_text("\n".join(",".join(str(v) for v in line) if line else ""
                              for line in lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("write", [_xlsx, _csv], ids=["xlsx", "csv"])
def test_a_bad_cell_below_a_blank_row_names_its_sheet_row(tmp_path, write):
    # header row 1, P01 row 2, P02 row 3, a blank row 4, P03 row 5
    lines = [HEADER, *GOOD, None, BAD]
    path = write(tmp_path / f"p.{write.__name__[1:]}", lines)
    with pytest.raises(InputError) as e:
        load_portfolio(path)
    assert "row 5" in str(e.value) and "score" in str(e.value)
    assert "row 4" not in str(e.value)


@pytest.mark.parametrize("write", [_xlsx, _csv], ids=["xlsx", "csv"])
def test_portfolio_keeps_each_projects_sheet_row(tmp_path, write):
    lines = [HEADER, GOOD[0], None, None, GOOD[1], ["P03", "D2", 300, 60]]
    pf = load_portfolio(write(tmp_path / f"p.{write.__name__[1:]}", lines))
    expected = [k for k, line in enumerate(lines, start=1) if line and line[0] != "project_id"]
    assert pf.sheet_rows.tolist() == expected == [2, 5, 6]


def test_without_blank_rows_rows_count_from_the_header(tmp_path):
    pf = load_portfolio(_csv(tmp_path / "p.csv", [HEADER, *GOOD]))
    assert np.array_equal(pf.sheet_rows, [2, 3])


def test_score_files_name_the_sheet_row_below_a_blank_line(tmp_path):
    from perfsim.analyse.bunching import read_scores
    path = _csv(tmp_path / "scores.csv", [["project_id", "score"], ["P1", 85], None,
                                          ["P2", "abc"]])
    with pytest.raises(InputError) as e:
        read_scores(path)
    assert "row 4" in str(e.value) and "'abc'" in str(e.value)


def test_observed_files_name_the_sheet_row_below_a_blank_line(tmp_path):
    from perfsim.model.observed import read_observed
    path = _csv(tmp_path / "obs.csv", [["project_id", "score"], ["P1", 85], None, None,
                                       ["P1", 70]])
    with pytest.raises(InputError) as e:
        read_observed(["P1"], path, "score")
    assert "row 5" in str(e.value) and "row 2" in str(e.value)
