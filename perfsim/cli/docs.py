"""``perfsim docs build``: the documentation site, built offline by Sphinx from ``docs/``."""

from __future__ import annotations

import argparse
import importlib.util
import io
import sys
import tempfile
from pathlib import Path

from perfsim.errors import InputError
from perfsim.io import PROJECT_ROOT, atomic_directory

#: the site's sources, beside the package in the repository
DOCS = PROJECT_ROOT / "docs"


def add(sub: argparse._SubParsersAction) -> None:
    """``perfsim docs``."""
    doc = sub.add_parser(
        "docs", help="the documentation site: build it (Sphinx, offline)",
        description="build: the documentation site from docs/ in the repository (Chinese "
                    "first, English alongside), with the metric and parameter registries, "
                    "the command-line reference and the notebooks generated from perfsim "
                    "itself; written as HTML into --out, whose index.html opens in a "
                    "browser. Needs the dev extra (Sphinx, MyST, myst-nb, the PyData theme); "
                    "nothing is fetched from the network.")
    doc.add_argument("action", choices=["build"], help="what to do")
    doc.add_argument("--out", type=Path, default=Path("reports") / "docs",
                     help="the new folder for the HTML site (default reports/docs)")
    doc.add_argument("--strict", action="store_true",
                     help="treat every Sphinx warning as an error (as the tests do)")
    doc.set_defaults(func=_cmd_docs)


class _BuildFailed(Exception):
    """Sphinx reported errors: the partial output is discarded."""


def build_site(src: Path, out: Path, *, strict: bool = False, quiet: bool = True) -> str:
    """Build the site from ``src`` into ``out`` (an existing empty folder) with Sphinx's
    Python API; return Sphinx's warnings. Raises :class:`_BuildFailed` (with the warnings)
    when the build fails (any warning, when ``strict``)."""
    from sphinx.application import Sphinx

    warnings = io.StringIO()
    with tempfile.TemporaryDirectory(prefix="perfsim-doctrees-") as doctrees:
        app = Sphinx(str(src), str(src), str(out), doctrees, "html",
                     status=None if quiet else sys.stdout, warning=warnings,
                     warningiserror=False, freshenv=True)
        app.build()
    text = warnings.getvalue()
    if app.statuscode or (strict and text.strip()):
        raise _BuildFailed(text)
    return text


def _cmd_docs(args: argparse.Namespace) -> int:
    if not (DOCS / "conf.py").is_file():
        raise InputError(str(DOCS), problem="no documentation sources here (perfsim is "
                                            "installed without its repository)")
    for name in ("sphinx", "myst_nb", "pydata_sphinx_theme"):
        if importlib.util.find_spec(name) is None:
            raise InputError(field="docs", value=name,
                             problem='not installed: pip install -e ".[dev]"')
    try:
        with atomic_directory(args.out, kind="docs", inputs=[DOCS]) as tmp:
            warnings = build_site(DOCS, tmp, strict=args.strict)
    except _BuildFailed as err:
        print(str(err).rstrip(), file=sys.stderr)
        print("perfsim: docs: the build failed; nothing was written", file=sys.stderr)
        return 1
    if warnings.strip():
        print(warnings.rstrip(), file=sys.stderr)
    print(Path(args.out) / "index.html")
    return 0
