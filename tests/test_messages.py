"""Every refusal in Chinese and English: the frame (file, row, field, value) in both languages,
the problem translated through one table, untranslated problems still printed in their frame,
and the same line on the command line, on the page and in Python."""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

import pytest
from conftest import ROOT, one_error_line

from perfsim import messages
from perfsim.app import compute
from perfsim.cli import main
from perfsim.errors import InputError, OutputBusyError
from perfsim.model.portfolio import load_portfolio


def test_the_frame_and_the_problem_read_chinese_first_with_english_alongside():
    err = InputError("portfolio.csv", "row 7", "budget", -5, "must be >= 0")
    assert str(err) == ("portfolio.csv: 第 7 行 row 7: 字段 field 'budget' = -5: "
                        "必须 ≥ 0 / must be >= 0")
    assert str(InputError("s.yaml", "line 3", problem="YAML syntax error: bad indent")) == (
        "s.yaml: 第 3 行 line 3: YAML 语法错误 / YAML syntax error: bad indent")
    assert str(InputError(field="--seed", value=-1, problem="must be a whole number >= 0")) == (
        "字段 field '--seed' = -1: 必须是 ≥ 0 的整数 / must be a whole number >= 0")
    assert str(InputError(value=3, problem="invalid value")) == (
        "值 value 3: 无效的值 / invalid value")
    assert str(InputError("x.xlsx", "cell C7", "score", problem="missing value")) == (
        "x.xlsx: 单元格 cell C7: 字段 field 'score': 缺少数值 / missing value")


def test_an_untranslated_problem_prints_in_english_inside_its_chinese_frame():
    err = InputError("p.csv", "project row 4", "A", 1.5, "the frobnicator is jammed")
    assert str(err) == ("p.csv: 第 4 行 project row 4: 字段 field 'A' = 1.5: "
                        "the frobnicator is jammed")


def test_what_follows_a_known_problem_stays_in_the_english_half():
    assert messages.problem_text("unknown key (allowed: a, b)") == (
        "未知的键 / unknown key (allowed: a, b)")
    assert messages.problem_text("must lie in [0, 105] points (the total of tiny)") == (
        "必须在 [0, 105] 分之间 / must lie in [0, 105] points (the total of tiny)")
    # a pattern matches whole words at the start, never inside a longer word or later on
    assert messages.problem_zh("requiredness unclear") is None
    assert messages.problem_zh("the value is required") is None


def test_the_busy_output_refusal_is_bilingual_too():
    err = OutputBusyError("out: another perfsim command is writing here (pid 5); wait")
    assert str(err) == ("out: 另一个 perfsim 命令正在写入这里 / another perfsim command is "
                        "writing here (pid 5); wait")


def _problem_texts() -> Counter:
    """The problem texts InputError is raised with across the package (f-string holes shown
    as ``0``), counted by call site."""
    def text(node: ast.AST) -> str | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.JoinedStr):
            return "".join(v.value if isinstance(v, ast.Constant) else "0" for v in node.values)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            left, right = text(node.left), text(node.right)
            return None if left is None or right is None else left + right
        return None

    found: Counter = Counter()
    for path in (ROOT / "perfsim").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "InputError"):
                continue
            problem = node.args[4] if len(node.args) >= 5 else None
            for kw in node.keywords:
                if kw.arg == "problem":
                    problem = kw.value
            t = "invalid value" if problem is None else text(problem)
            if t is not None:
                found[t] += 1
    return found


def test_every_problem_raised_at_two_places_or_more_is_translated():
    texts = _problem_texts()
    assert len(texts) > 300  # the scan sees the package's refusals
    common = sorted(t for t, n in texts.items() if n >= 2)
    assert len(common) >= 30
    assert [t for t in common if messages.problem_zh(t) is None] == []


def test_the_command_line_the_page_and_python_show_the_same_line(capsys, tmp_path):
    path = tmp_path / "预算.csv"
    path.write_text("项目编号,部门,预算（元）,得分\nP1,财政局,1000,90\nP2,财政局,-5,80\n",
                    encoding="gb18030")
    with pytest.raises(InputError) as err:
        load_portfolio(path)
    expected = f"perfsim: error: {err.value}"
    assert str(err.value) == (f"{path}: 第 3 行 row 3: 字段 field 'budget' = -5: "
                              "必须 ≥ 0 / must be >= 0")
    assert main(["validate", str(path)]) == 2
    assert one_error_line(capsys) == expected
    assert compute.error_line(err.value) == expected
    assert not Path(tmp_path / "out").exists()


def test_usage_errors_are_bilingual_one_liners(capsys):
    assert main(["run", "x.yaml", "--replications", "abc"]) == 2
    assert one_error_line(capsys) == (
        "perfsim: error: perfsim run: 参数 argument --replications: 必须是整数 / must be a whole "
        "number, got 'abc' (见 see --help)")
    assert main(["run"]) == 2
    assert "缺少必需的参数 / the following arguments are required: scenario" in one_error_line(
        capsys)
