"""Sphinx configuration: MyST pages, autodoc of the public ``jepa`` API, and the
pages generated from the installed code (docs/_ext/jepa_docs.py)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "_ext"))

import jepa  # noqa: E402  (after the path: the version comes from the installed code)

project = "jepa"
author = "the jepa authors"
copyright = "the jepa authors"  # noqa: A001 (Sphinx's name for it)
release = jepa.__version__
version = release

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "jepa_docs",
]

source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "_generated", "Thumbs.db", ".DS_Store"]
# admonitions use colon fences; heading anchors make `page.md#section` links work
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_typehints_format = "short"
autodoc_preserve_defaults = True
napoleon_google_docstring = True
napoleon_numpy_docstring = False

html_theme = "furo"
html_title = f"jepa {release}"
html_static_path = ["_static"]
html_css_files = ["jepa.css"]  # output blocks under the examples
