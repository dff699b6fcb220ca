"""The documentation's pages, as tests read them: the text of one page, or of every page.

The documentation lives in ``docs/`` (Markdown, built into a site by ``perfsim docs build``);
examples in it are marked ``<!-- example: NAME -->`` before their code block, and tests load
them from here so that they stay true. ``docs/incoming/`` (notes not yet folded in) and
``docs/generated/`` (written by the build) are not pages.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
_SKIP = ("incoming", "generated", "_build")


def pages() -> list[Path]:
    """Every Markdown page of the site, in a fixed order."""
    return sorted(p for p in DOCS.rglob("*.md")
                  if not set(p.relative_to(DOCS).parts) & set(_SKIP))


def page(name: str) -> str:
    """The text of one page, by its path under ``docs/`` (``tasks/import.md``)."""
    return (DOCS / name).read_text(encoding="utf-8")


def all_text() -> str:
    """Every page's text, one after the other."""
    return "\n\n".join(p.read_text(encoding="utf-8") for p in pages())
