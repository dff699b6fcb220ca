"""``perfsim --help`` and every command's help: Chinese first, English alongside, and a
description printed as written (``95% interval``, never ``95%%``)."""

from __future__ import annotations

import argparse
import re

import pytest

from perfsim.cli import build_parser, help_zh, main

CJK = re.compile(r"[\u4e00-\u9fff]")


def _parsers(parser: argparse.ArgumentParser, path: str = ""):
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _parsers(sub, f"{path} {name}".strip())


def test_every_command_and_option_has_chinese_help():
    """Each command and option that shows help has its Chinese in help_zh (one line there
    for an option added to a command module)."""
    parser = build_parser()
    assert help_zh.missing(parser) == []
    for path, p in _parsers(parser):
        # the description opens with its Chinese sentence
        assert CJK.search((p.description or "").split("。")[0]), path
        for action in p._actions:
            if action.help is argparse.SUPPRESS or isinstance(action,
                                                              argparse._SubParsersAction):
                continue
            assert CJK.search((action.help or "").split(" — ")[0]), (path, action.dest)


def test_chinese_comes_before_the_english(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["run", "--help"])
    out = capsys.readouterr().out
    assert out.startswith("用法 usage: perfsim run")
    assert "选项 options:" in out
    zh, en = out.index("输出目录"), out.index("output directory")
    assert zh < en
    assert out.index("情景 YAML 文件") < out.index("scenario YAML file")


def test_estimate_help_prints_one_percent_sign(capsys):
    assert main(["estimate", "--help"]) == 0
    out = capsys.readouterr().out
    assert "95% interval" in " ".join(out.split())
    assert "%%" not in out


@pytest.mark.parametrize("argv", [["run", "--help"], ["weights", "--help"],
                                  ["notebooks", "run", "--help"], ["--help"]])
def test_no_doubled_percent_sign_anywhere(argv, capsys):
    assert main(argv) == 0
    assert "%%" not in capsys.readouterr().out


def test_a_usage_error_is_still_one_line(capsys):
    assert main(["run"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("perfsim: error: ") and err.count("\n") == 1
