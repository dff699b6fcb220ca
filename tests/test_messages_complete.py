"""Every refusal perfsim raises is in Chinese and English: each problem text written in the
code has a Chinese pattern in :data:`perfsim.messages.PROBLEMS`.

The texts are collected from the source with :mod:`ast`, not from running the code: every
``problem`` given to :class:`perfsim.errors.InputError` (keyword or fifth positional
argument), every message of an :class:`perfsim.errors.OutputBusyError` (translated from its
first ``": "`` part that the table knows) and every ``argparse.ArgumentTypeError`` message (a
usage error, translated like argparse's own).

A plain string is taken as it is; both branches of a conditional ``a if c else b``; a name
(``problem=problem``, or ``{what}`` inside an f-string) as each text the nearest statement
before the call assigns it; any other ``{...}`` of an f-string as a sample value (``1``: a
number fits every placeholder pattern in the table) or as nothing (an optional suffix such as
``{hint}``), the text passing when either rendering is translated; the literal start of
``"..." + x``. Texts built elsewhere (in another function) are not collected.

Every text without its Chinese is listed in one failure, so that a new refusal is found at
once with where it is raised.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from perfsim import messages

PACKAGE = Path(__file__).resolve().parents[1] / "perfsim"

#: What each unknown ``{...}`` of an f-string is replaced by when its text is checked: a number
#: (it fits every placeholder pattern of the table), or nothing (an optional suffix such as
#: ``{hint}``); the text passes when one of the two renderings is translated.
SAMPLES = ("1", "")

#: An item: the renderings of one problem text, one per sample; the first is shown.
Item = tuple[str, ...]


def _cat(a: Item, b: Item) -> Item:
    if len(a) == 1:
        return tuple(a[0] + y for y in b)
    if len(b) == 1:
        return tuple(x + b[0] for x in a)
    return tuple(x + y for x, y in zip(a, b, strict=True))


def _items(node: ast.expr | None, env: dict[str, list[Item]]) -> list[Item]:
    """The problem texts an expression can give, each as its renderings; empty when the text
    is not written out. ``env`` holds the texts of the names the nearest assignment gives
    (each one must be translated)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [(node.value,)]
    if isinstance(node, ast.Name):
        return list(env.get(node.id, []))
    if isinstance(node, ast.JoinedStr):
        out: list[Item] = [("",)]
        for v in node.values:
            if isinstance(v, ast.Constant):
                parts = [(str(v.value),)]
            elif (isinstance(v, ast.FormattedValue) and v.format_spec is None
                  and _items(v.value, env)):  # a known name, or texts such as {'>' if a else '>='}
                parts = _items(v.value, env)
            else:
                parts = [SAMPLES]
            out = [_cat(a, b) for a in out for b in parts]
        return out
    if isinstance(node, ast.IfExp):
        return _items(node.body, env) + _items(node.orelse, env)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _items(node.left, env), _items(node.right, env)
        if left and right:
            return [_cat(a, b) for a in left for b in right]
        return [_cat(a, SAMPLES) for a in left]
    return []


def _name(func: ast.expr) -> str:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def _problem_exprs(call: ast.Call) -> tuple[str, list[ast.expr]]:
    name = _name(call.func)
    if name == "InputError":
        exprs = [k.value for k in call.keywords if k.arg == "problem"]
        return name, exprs + call.args[4:5]
    if name in ("OutputBusyError", "ArgumentTypeError"):
        return name, call.args[:1]
    return name, []


def _reaching(name: str, node: ast.AST, parents: dict[ast.AST, ast.AST]) -> list[ast.expr]:
    """The values ``name`` may hold where ``node`` runs: the assignments in the nearest
    statement before it (in its block, then in the enclosing blocks) that assigns ``name``;
    empty when none is found in its function."""
    while not isinstance(node, ast.stmt):
        node = parents[node]
    while node in parents:
        parent = parents[node]
        for block in (getattr(parent, f, None) for f in ("body", "orelse", "finalbody")):
            if isinstance(block, list) and any(s is node for s in block):
                i = next(k for k, s in enumerate(block) if s is node)
                for prev in reversed(block[:i]):
                    values = [a.value for a in ast.walk(prev) if isinstance(a, ast.Assign)
                              and any(isinstance(t, ast.Name) and t.id == name
                                      for t in a.targets)]
                    if values:
                        return values
                break
        if isinstance(parent, ast.FunctionDef | ast.AsyncFunctionDef | ast.Module):
            return []
        node = parent
    return []


def collect() -> list[tuple[str, int, str, Item]]:
    """(file, line, kind, renderings) of every problem text written in perfsim's source."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=rel)
        parents = {child: node for node in ast.walk(tree)
                   for child in ast.iter_child_nodes(node)}
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            kind, exprs = _problem_exprs(node)
            for expr in exprs:
                env: dict[str, list[Item]] = {}
                for name in {n.id for n in ast.walk(expr) if isinstance(n, ast.Name)}:
                    values = [_items(v, {}) for v in _reaching(name, node, parents)]
                    if values and all(values):
                        env[name] = [item for v in values for item in v]
                for item in _items(expr, env):
                    found.append((rel, node.lineno, kind, item))
    return found


def _translated(kind: str, text: str) -> bool:
    if kind == "OutputBusyError":
        return messages.bilingual(text) != text
    if kind == "ArgumentTypeError":
        return messages.usage_text(text) != text
    return messages.problem_zh(text) is not None


def untranslated() -> list[str]:
    """Where and what every problem text without its Chinese is."""
    return [f"{rel}:{line}: {item[0]!r}" for rel, line, kind, item in collect()
            if not any(_translated(kind, text) for text in item)]


def test_the_collector_finds_the_problem_texts():
    """The collection itself works: it holds texts known to be raised, in each form."""
    texts = {(kind, item[0]) for _, _, kind, item in collect()}
    assert ("InputError", "file not found") in texts  # a plain keyword
    assert ("InputError", "must be a whole number >= 1") in texts
    assert ("InputError", "1 given twice") in texts  # an f-string: f"{name} given twice"
    # a name assigned in the function: problem = "ambiguous" if hits else "no such notebook"
    assert ("InputError", "no such notebook (known: 1)") in texts
    assert ("InputError", "ambiguous (known: 1)") in texts
    assert any(k == "OutputBusyError" and "another perfsim command is writing here" in t
               for k, t in texts)
    assert any(k == "ArgumentTypeError" and t.startswith("must be >= 1") for k, t in texts)
    assert len(texts) > 200


def test_a_text_without_a_pattern_is_caught():
    """The check can fail: an English text no pattern knows is reported untranslated."""
    assert not _translated("InputError", "the moon is made of cheese")
    assert not _translated("ArgumentTypeError", "the moon is made of cheese")
    assert not _translated("OutputBusyError", "out: the moon is made of cheese")
    assert _translated("InputError", "must be >= 0")


def test_every_problem_text_has_its_chinese():
    missing = untranslated()
    assert not missing, (f"{len(missing)} problem texts print in English only; add their "
                         "Chinese to perfsim.messages.PROBLEMS:\n" + "\n".join(missing))


@pytest.mark.parametrize("text", ["must be >= 0", "file not found", "unknown key"])
def test_a_translated_text_renders_chinese_first(text):
    rendered = messages.problem_text(text)
    zh, sep, en = rendered.partition(" / ")
    assert sep and en == text
    assert any("\u4e00" <= ch <= "\u9fff" for ch in zh)
