"""Sphinx configuration of perfsim's documentation site (中文在前，英文在后).

Build it with ``perfsim docs build`` (offline, one command); ``sphinx-build docs OUT`` works
too. The pages under ``generated/`` are written at build time by the ``perfsim_docs``
extension (``_ext/perfsim_docs.py``) from perfsim itself: the metric and parameter registries,
the command-line parser and the notebooks. ``incoming/`` holds notes not yet folded into the
site and is not built.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))

from perfsim.version import __version__  # noqa: E402

project = "perfsim"
author = "perfsim"
copyright = "perfsim"
version = release = __version__
language = "zh_CN"

extensions = [
    "myst_nb",  # Markdown pages (MyST) and the notebooks, rendered as stored, never executed
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "perfsim_docs",
]

source_suffix = {".md": "myst-nb", ".ipynb": "myst-nb"}
exclude_patterns = ["_build", "incoming", "incoming/**", "generated/*_table.md",
                    "**/.ipynb_checkpoints", "Thumbs.db", ".DS_Store"]
root_doc = "index"

# MyST: `(label)=` targets, tables, ``{include}``; no extensions that load scripts from the web
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 4
suppress_warnings = ["myst.header"]

# the notebooks are shown as stored: building the site never runs them (perfsim notebooks run
# executes them with their parameters and writes reports/)
nb_execution_mode = "off"
nb_merge_streams = True

autodoc_default_options = {"members": True, "undoc-members": False, "show-inheritance": False}
autodoc_member_order = "bysource"
autodoc_typehints = "description"
napoleon_google_docstring = False  # perfsim's docstrings use NumPy sections where any
napoleon_numpy_docstring = True
napoleon_use_ivar = True  # a dataclass's Attributes section: fields, not a second description

html_theme = "pydata_sphinx_theme"
html_title = f"perfsim {__version__} 文档 documentation"
html_static_path: list[str] = []
html_show_sourcelink = False
html_copy_source = False
html_theme_options = {
    "navigation_with_keys": False,
    "header_links_before_dropdown": 5,
    "show_toc_level": 2,
    "navbar_end": ["navbar-icon-links"],
    "icon_links": [],
    "footer_start": ["copyright"],
    "footer_end": [],
    "secondary_sidebar_items": ["page-toc"],
}
html_sidebars = {"**": ["sidebar-nav-bs"]}
# everything the pages load is in the built site: no web fonts, no analytics; no page holds
# math (dollarmath is off), so none loads MathJax (tests/test_docs_site.py checks)
