"""Pages of perfsim's documentation written at build time from perfsim itself.

Nothing here is a second, hand-kept list: the metric table is read from the metric registry
(:data:`perfsim.kernel.metrics.FIXED` and :func:`perfsim.kernel.metrics.registry`), the
parameter tables from the one table of constraints
(:data:`perfsim.model.constraints.CONSTRAINTS`) and the method choices
(:data:`perfsim.model.params.CHOICES`), the command-line reference from the parser that
``perfsim`` itself parses with (:func:`perfsim.cli.build_parser`), and the examples gallery
from the notebooks in ``notebooks/`` (copied, never executed); the performance table from
the committed JSON of ``perfsim bench --json`` (:data:`BENCH_JSON`) by the function
``perfsim bench --table`` prints with.

Everything is written under ``generated/`` in the source folder (not kept in git), when the
builder starts, and a file is rewritten only when its text changes.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import shutil
from pathlib import Path
from typing import Any

GENERATED = "generated"
#: ASCII punctuation that Markdown may read as markup; CommonMark lets a backslash escape any
_PUNCT = re.compile(r"([!-/:-@\[-`{-~])")


def escape(text: str) -> str:
    """``text`` shown as written in MyST Markdown: every ASCII punctuation mark escaped, each
    line break a space."""
    return _PUNCT.sub(r"\\\1", " ".join(str(text).split()))


def code(text: str) -> str:
    """``text`` as inline code (a backtick in it is impossible in perfsim's names)."""
    text = str(text)
    fence = "``" if "`" in text else "`"
    pad = " " if "`" in text else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


# --- the metric registry ------------------------------------------------------------------------

def metrics_table() -> str:
    """The metric registry as a Markdown table: the fixed metrics, then the metrics of each
    grade of the national label set."""
    from perfsim.kernel.grading import NATIONAL
    from perfsim.kernel.metrics import FIXED, RENAMED, registry

    rows = ["| 指标 metric | 单位 unit | 含义 meaning | 仅蒙特卡洛 Monte Carlo only |",
            "|---|---|---|---|"]
    for name, m in registry(NATIONAL).items():
        rows.append(f"| {code(name)} | {escape(m.unit)} | {escape(m.meaning)} | "
                    f"{'是 yes' if m.monte_carlo else ''} |")
    per_grade = len(registry(NATIONAL)) - len(FIXED)
    renamed = ", ".join(f"{code(old)} → {code(new)}" for old, new in RENAMED.items())
    return ("\n".join(rows) + "\n\n"
            f"The {per_grade} per-grade metrics exist for the scenario's label set (shown here "
            "for the national set, 优 良 中 差): `count_<grade>` and `share_<grade>` for every "
            "grade, and `lifted_<grade>` (Monte Carlo only: the pile inflation puts at the "
            "grade's line; `lifted_good` is the pile at 80 under the national cutoffs) for "
            "every grade but the last. "
            f"Old names, refused with the new one: {renamed}; `n_<grade>` → `count_<grade>`.\n")


# --- the parameter registry ---------------------------------------------------------------------

def _bound(value: float | str) -> str:
    from perfsim.model.constraints import TOTAL

    if value == TOTAL:
        return "总分 total"
    v = float(value)
    return f"{v:.15g}"


def _allowed(c: Any) -> str:
    from perfsim.model.constraints import BOOL, CHOICE, INT

    if c.kind == CHOICE:
        text = "one of " + ", ".join(code(x) for x in c.choices)
    elif c.kind == BOOL:
        text = "true | false"
    else:
        lo_inf = not isinstance(c.low, str) and math.isinf(c.low)
        hi_inf = not isinstance(c.high, str) and math.isinf(c.high)
        what = "whole number" if c.kind == INT else "number"
        if not lo_inf and not hi_inf:
            text = (f"{what} in {'[' if c.closed[0] else '('}{_bound(c.low)}, "
                    f"{_bound(c.high)}{']' if c.closed[1] else ')'}")
        elif not lo_inf:
            text = f"{what} {'≥' if c.closed[0] else '>'} {_bound(c.low)}"
        elif not hi_inf:
            text = f"{what} {'≤' if c.closed[1] else '<'} {_bound(c.high)}"
        else:
            text = f"any finite {what}"
    return text + ("; or absent (off)" if c.optional else "")


def parameters_table() -> str:
    """The one table of constraints, then the method choices, as Markdown."""
    from perfsim.model.constraints import CONSTRAINTS
    from perfsim.model.indicators import STRUCTURE_OPS
    from perfsim.model.params import CHOICES, COMPOSITE_PARAMETER, GROUP_AGGREGATION

    rows = ["| 路径 path | 取值 accepts | 单位 unit | 可校准/敏感性 varied | 含义 meaning |",
            "|---|---|---|---|---|"]
    for path, c in CONSTRAINTS.items():
        rows.append(f"| {code(path)} | {_allowed(c)} | {escape(c.unit)} | "
                    f"{'是 yes' if c.vary else ''} | {escape(c.description)} |")
    choices = ["| 路径 path | 取值 values | 含义 meaning |", "|---|---|---|"]
    for path, (meaning, names) in CHOICES.items():
        choices.append(f"| {code(path)} | {', '.join(code(n) for n in names)} | "
                       f"{escape(meaning)} |")
    ops = ", ".join(code(op) for op in STRUCTURE_OPS)
    return ("### 取值范围 Values and ranges\n\n"
            f"{len(CONSTRAINTS)} paths. A segment in angle brackets stands for any grade code, "
            "flag, department or indicator code; `总分 total` is the scenario's most points "
            "(the indicator system's total plus its bonus cap; 100 without a system). "
            "\"varied\": calibration and sensitivity may vary the path.\n\n"
            + "\n".join(rows) + "\n\n"
            "### 方法选择 Method choices\n\n"
            f"Discrete choices, set by a variant or drawn as discrete factors; also "
            f"{code(GROUP_AGGREGATION + '<group code>')} for one group's aggregation (level-1 "
            f"or deeper) and {code(COMPOSITE_PARAMETER + '<method>.<parameter>')} for a "
            "composite method's parameter (`composite.power_mean.p`).\n\n"
            + "\n".join(choices) + "\n\n"
            "### 结构操作 Structural operations\n\n"
            f"{ops} (see {{ref}}`structural-variants`).\n")


# --- the command line ---------------------------------------------------------------------------

def _subcommands(parser: argparse.ArgumentParser) -> list[tuple[str, argparse.ArgumentParser,
                                                               str]]:
    out = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help or "" for a in action._choices_actions}
            for name, sub in action.choices.items():
                out.append((name, sub, helps.get(name, "")))
    return out


def _option(action: argparse.Action, parser: argparse.ArgumentParser) -> str:
    formatter = parser._get_formatter()
    if action.option_strings:
        if action.nargs == 0:
            names = ", ".join(action.option_strings)
        else:
            metavar = formatter._format_args(action, action.dest.upper())
            names = ", ".join(f"{o} {metavar}" for o in action.option_strings)
    else:
        names = formatter._format_args(action, action.dest)
    text = formatter._expand_help(action) if action.help else ""
    if (action.choices and action.metavar is not None
            and not isinstance(action, argparse._SubParsersAction)):
        text += f" (choices: {', '.join(str(c) for c in action.choices)})"
    if action.required and action.option_strings:
        text += " (required)"
    return f"- {code(names)} — {escape(text)}" if text else f"- {code(names)}"


def _command_text(prog: str, parser: argparse.ArgumentParser, help_text: str,
                  level: int) -> str:
    parts = [f"{'#' * level} {code(prog)}", ""]
    if help_text:
        parts += [escape(help_text), ""]
    if parser.description and parser.description != help_text:
        parts += [escape(parser.description), ""]
    parts += ["```text", parser.format_usage().strip(), "```", ""]
    options = [a for a in parser._actions
               if not isinstance(a, argparse._HelpAction | argparse._SubParsersAction)]
    if options:
        parts += [_option(a, parser) for a in options] + [""]
    if parser.epilog:
        parts += [escape(parser.epilog), ""]
    for name, sub, sub_help in _subcommands(parser):
        parts.append(_command_text(f"{prog} {name}", sub, sub_help, level + 1))
    return "\n".join(parts)


def cli_pages() -> tuple[str, dict[str, str]]:
    """``perfsim``'s usage, and one page per command by file name (the command's name); usage
    lines wrapped at 80 columns whatever the terminal."""
    from perfsim.cli import build_parser

    columns = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "80"
    try:
        parser = build_parser()
        return parser.format_usage().strip(), {
            name: f"(cli-{name})=\n" + _command_text(f"perfsim {name}", sub, text, 1)
            for name, sub, text in _subcommands(parser)}
    finally:
        if columns is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = columns


def cli_index(usage: str, pages: dict[str, str]) -> str:
    """The list of command pages, under ``perfsim``'s usage."""
    lines = ["```text", usage, "```", "",
             "```{toctree}", ":maxdepth: 1", ""]
    lines += [f"/{GENERATED}/cli/{name}" for name in pages]
    lines += ["```", ""]
    return "\n".join(lines)


# --- the performance table ---------------------------------------------------------------------

#: the JSON of ``perfsim bench --json`` that the performance page's table is made from, under
#: ``docs/`` (``perfsim bench --json --out docs/reference/bench.json`` refreshes it)
BENCH_JSON = Path("reference") / "bench.json"


def performance_table(path: Path) -> str:
    """The performance table of the bench JSON at ``path``, made by the function that
    ``perfsim bench --table`` prints with (:func:`perfsim.bench.bench_table`); every key it
    reads must be there (an :class:`~perfsim.errors.InputError` names the file and the first
    key missing)."""
    from perfsim.bench import bench_table, read_bench_json
    from perfsim.errors import InputError

    try:
        return bench_table(read_bench_json(path), complete=True)
    except InputError as err:
        raise err.at(str(path)) from None


# --- the notebooks ------------------------------------------------------------------------------

def notebooks(root: Path, out: Path) -> list[str]:
    """Copy the numbered notebooks into ``out``; their names, in order."""
    names = []
    for nb in sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        target = out / nb.name
        if not target.exists() or target.read_bytes() != nb.read_bytes():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(nb, target)
        names.append(nb.stem)
    for old in out.glob("*.ipynb"):
        if old.stem not in names:
            old.unlink()
    return names


def generate(srcdir: Path, root: Path) -> None:
    """Write every generated page under ``srcdir/generated``."""
    gen = srcdir / GENERATED
    _write(gen / "metrics_table.md", metrics_table())
    _write(gen / "parameters_table.md", parameters_table())
    usage, pages = cli_pages()
    for name, text in pages.items():
        _write(gen / "cli" / f"{name}.md", text)
    for old in (gen / "cli").glob("*.md"):
        if old.stem not in pages:
            old.unlink()
    _write(gen / "cli_table.md", cli_index(usage, pages))
    names = notebooks(root, gen / "examples")
    _write(gen / "examples_table.md", "\n".join(
        ["```{toctree}", ":maxdepth: 1", ""] + [f"/{GENERATED}/examples/{n}" for n in names]
        + ["```", ""]))
    _write(gen / "performance_table.md", performance_table(srcdir / BENCH_JSON))


# --- docstrings ---------------------------------------------------------------------------------

_CODE = re.compile(r"(``.*?``)")


def _indent_literal_blocks(lines: list[str]) -> None:
    """A docstring whose first line ends in ``::`` on the line of its opening quotes loses the
    literal block's indent when Python cleans it (``inspect.cleandoc``): indent such a block,
    up to the next blank line, under the line that opens it."""
    for i, line in enumerate(lines):
        if not line.rstrip().endswith("::"):
            continue
        indent = len(line) - len(line.lstrip())
        j = i + 1
        while j < len(lines) and not lines[j].strip():
            j += 1
        if j == len(lines) or len(lines[j]) - len(lines[j].lstrip()) > indent:
            continue  # no block, or already indented
        while j < len(lines) and lines[j].strip():
            lines[j] = "    " + lines[j]
            j += 1


_MARKUP = re.compile(r"^\s*(\.\.|:|[-*+] |\d+[.)] |\|)")


def _indented_as_literal(lines: list[str]) -> None:
    """perfsim's docstrings set formulas and YAML apart by indenting them after a paragraph,
    as plain text reads: make such a block literal (a ``::`` paragraph before it), unless the
    paragraph is itself markup (a directive, a field, a list item)."""
    i = 1
    while i < len(lines) - 1:
        before, blank, after = lines[i - 1], lines[i], lines[i + 1]
        if (not blank.strip() and before.strip() and after.strip()
                and not before.rstrip().endswith("::") and not _MARKUP.match(before)):
            indent = len(before) - len(before.lstrip())
            if len(after) - len(after.lstrip()) > indent:
                start = i - 1
                while start > 0 and lines[start - 1].strip():
                    start -= 1
                if not _MARKUP.match(lines[start]) and (
                        len(lines[start]) - len(lines[start].lstrip()) == indent):
                    lines[i:i] = ["", " " * indent + "::"]
                    i += 2
        i += 1


def bars_as_text(app: Any, what: str, name: str, obj: Any, options: Any,
                 lines: list[str]) -> None:
    """perfsim's docstrings write absolute values and gaps as ``|x|``, which reStructuredText
    would read as a substitution: outside inline code and literal blocks, a bar is text."""
    _indent_literal_blocks(lines)
    _indented_as_literal(lines)
    literal: int | None = None
    for i, line in enumerate(lines):
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        if literal is not None:
            if not stripped or indent > literal:
                continue
            literal = None
        if "|" in line:
            parts = _CODE.split(line)
            lines[i] = "".join(p if k % 2 else p.replace("|", "\\|")
                               for k, p in enumerate(parts))
        if stripped.endswith("::"):
            literal = indent


def _on_builder_inited(app: Any) -> None:
    from sphinx.util import logging

    from perfsim.errors import InputError

    srcdir = Path(app.srcdir)
    try:
        generate(srcdir, srcdir.parent)
    except InputError as err:  # the bench's JSON: the build fails, on one line, with or
        logging.getLogger(__name__).error(str(err))  # without --strict
        app.statuscode = 1


def setup(app: Any) -> dict[str, Any]:
    import logging

    from pygments.lexers.special import TextLexer

    try:  # the Chinese word splitter of the search index: quiet about loading its dictionary
        import jieba

        jieba.setLogLevel(logging.WARNING)
    except ImportError:
        pass

    app.connect("builder-inited", _on_builder_inited)
    app.connect("autodoc-process-docstring", bars_as_text)
    app.add_lexer("csv", TextLexer)  # the CSV examples, shown as written
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
