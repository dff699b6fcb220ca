"""The documentation site: built offline with warnings as errors, nothing loaded from the web,
no internal link broken, the generated pages complete; the README a newcomer's page."""

from __future__ import annotations

import html
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from conftest import one_error_line
from docs_pages import DOCS, ROOT, pages

from perfsim.cli import build_parser, main

README = ROOT / "README.md"
#: Sphinx and its extensions warn one another of API changes to come while the site builds
pytestmark = pytest.mark.filterwarnings("ignore::PendingDeprecationWarning",
                                        "ignore::DeprecationWarning")


class _Page(HTMLParser):
    """The ids of a page, the tags that load something, and every link."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.loads: list[tuple[str, str]] = []  # (tag, url) of script/link/img/iframe
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        for key in ("id", "name"):
            if a.get(key):
                self.ids.add(a[key] or "")
        url = a.get("src") if tag in ("script", "img", "iframe") else a.get("href")
        if url is None:
            return
        if tag in ("script", "link", "img", "iframe"):
            self.loads.append((tag, url))
        if tag in ("a", "link", "script", "img", "iframe"):
            self.links.append(url)


def _parse(path: Path) -> _Page:
    p = _Page()
    p.feed(path.read_text(encoding="utf-8"))
    return p


def _commands(parser=None) -> list[str]:
    import argparse

    parser = parser or build_parser()
    return [name for a in parser._actions if isinstance(a, argparse._SubParsersAction)
            for name in a.choices]


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    pytest.importorskip("sphinx")
    pytest.importorskip("myst_nb")
    pytest.importorskip("pydata_sphinx_theme")
    out = tmp_path_factory.mktemp("site") / "html"
    assert main(["docs", "build", "--strict", "--out", str(out)]) == 0
    return out


@pytest.mark.slow
def test_the_site_loads_nothing_from_the_web_and_no_internal_link_is_broken(site):
    # the pages (_static holds a theme's template, not a page)
    html = sorted(p for p in site.rglob("*.html") if "_static" not in p.parts)
    assert len(html) > 40
    parsed = {p.resolve(): _parse(p) for p in html}
    broken, remote = [], []
    for path, page in parsed.items():
        for tag, url in page.loads:
            if re.match(r"(?i)^(https?:)?//", url):
                remote.append(f"{path.relative_to(site.resolve())}: <{tag}> {url}")
        for url in page.links:
            parts = urlsplit(url)
            if parts.scheme or url.startswith("//"):
                continue  # a link out (to a source's web page) is text, not a load
            target = (path.parent / unquote(parts.path)).resolve() if parts.path else path
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                broken.append(f"{path.relative_to(site.resolve())}: {url}")
            elif parts.fragment and target.suffix == ".html":
                ids = parsed[target].ids if target in parsed else _parse(target).ids
                if unquote(parts.fragment) not in ids:
                    broken.append(f"{path.relative_to(site.resolve())}: {url} (no such anchor)")
    assert not remote, remote[:10]
    assert not broken, broken[:20]
    # style sheets load no web fonts either
    for css in site.rglob("*.css"):
        text = css.read_text(encoding="utf-8", errors="replace")
        web = re.search(r"""(@import\s+(url\()?\s*['"]?|url\(\s*['"]?)(https?:)?//""", text)
        assert not web, css


@pytest.mark.slow
def test_the_generated_pages_hold_every_metric_parameter_command_and_notebook(site):
    from perfsim.kernel.grading import NATIONAL
    from perfsim.kernel.metrics import registry
    from perfsim.model.constraints import CONSTRAINTS

    def text(rel: str) -> str:
        return html.unescape(re.sub(r"<[^>]+>", "", (site / rel).read_text(encoding="utf-8")))

    metrics = text("reference/metrics.html")
    for name, metric in registry(NATIONAL).items():
        assert name in metrics and metric.meaning.split("(")[0].strip() in metrics, name
    parameters = text("reference/parameters.html")
    for path in CONSTRAINTS:
        assert path in parameters, path
    parser = build_parser()
    for name in _commands(parser):
        page = text(f"generated/cli/{name}.html")
        assert f"usage: perfsim {name}" in page, name
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    for action in sub.choices["run"]._actions:
        # every option but -h/--help (whose text is now Chinese first: told by its kind)
        if action.__class__.__name__ != "_HelpAction":
            for option in action.option_strings:
                assert option in text("generated/cli/run.html"), option
    # the search finds Chinese words, not only the English ones
    index = (site / "searchindex.js").read_text(encoding="utf-8")
    terms = json.loads(index[index.index("(") + 1:index.rindex(")")])["terms"]
    assert {"压减", "自评表", "整改", "perfsim"} <= set(terms)
    for nb in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        assert (site / "generated" / "examples" / f"{nb.stem}.html").exists(), nb.name
        assert f"generated/examples/{nb.stem}.html" in (site / "examples" / "index.html"
                                                        ).read_text(encoding="utf-8")


def test_the_links_between_pages_lead_to_files_that_exist():
    # read as they are (on GitHub, in an editor), without building the site
    for page in pages():
        text = page.read_text(encoding="utf-8")
        for target in re.findall(r"\]\(((?!https?:|#)[^)\s]+?)(?:#[^)]*)?\)", text):
            path = (page.parent / target) if not target.startswith("/") else (
                DOCS / target.lstrip("/"))
            assert path.exists(), f"{page.relative_to(DOCS)}: {target}"


def test_the_readme_is_a_newcomers_page():
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) < 200
    block = text.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    commands = [ln.strip() for c in re.findall(r"```(?:bash|sh)?\n(.*?)```", block, re.S)
                for ln in c.strip().splitlines()]
    assert commands == [
        'python3 -m venv .venv && .venv/bin/pip install -q -e ".[dev]" && .venv/bin/perfsim '
        'notebooks run',
        'python3 -m venv .venv && .venv/bin/pip install -q -e ".[dev]" && .venv/bin/python -m '
        'pytest']
    # a picture, and links that lead to files of the repository
    assert "](docs/images/app.png)" in text
    for target in re.findall(r"\]\(((?!https?:|#)[^)\s]+)\)", text):
        assert (ROOT / target).exists(), target
    # every task page of the flow is linked, in order
    flow = ["import", "indicators", "scoring", "weights", "grades", "linkage", "cycle",
            "montecarlo", "calibration", "sensitivity", "audit", "reports"]
    at = [text.index(f"](docs/tasks/{name}.md)") for name in flow]
    assert at == sorted(at)


def test_a_docs_build_into_the_sources_is_one_line(capsys):
    # the output is checked before any work: the sources are an input of the build
    assert main(["docs", "build", "--out", str(DOCS / "site")]) == 2
    line = one_error_line(capsys)
    assert "docs/site" in line and "input" in line


def test_the_cli_reference_lists_the_command_that_builds_it():
    assert "docs" in _commands()


def test_a_missing_sphinx_or_missing_sources_is_one_line(tmp_path, capsys, monkeypatch):
    import importlib.util

    import perfsim.cli.docs as docs_cli

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "myst_nb" else real(name, *a))
    assert main(["docs", "build", "--out", str(tmp_path / "site")]) == 2
    line = one_error_line(capsys)
    assert "myst_nb" in line and "未安装" in line and "not installed" in line
    assert not (tmp_path / "site").exists()
    monkeypatch.setattr(docs_cli, "DOCS", tmp_path / "nothing")
    assert main(["docs", "build", "--out", str(tmp_path / "site")]) == 2
    line = one_error_line(capsys)
    assert "这里没有文档源文件" in line and "nothing" in line
