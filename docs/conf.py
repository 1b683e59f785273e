"""Sphinx configuration for the leftbehind documentation."""

from __future__ import annotations

project = "leftbehind"
author = "The leftbehind developers"
copyright = "2026, the leftbehind developers"

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.doctest",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3
html_theme = "furo"
html_title = "leftbehind"
language = "zh_TW"
exclude_patterns = ["_build"]
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "undoc-members": False}
nitpicky = True
_EXTERNAL = (
    "attr|attrs|cattrs|pluggy|datetime|collections|typing|_?io|pathlib|enum|sqlalchemy|tinydb"
    "|openpyxl|click|filelock|holidays|contextlib|os|json"
)
nitpick_ignore_regex = [(r"py:.*", rf"({_EXTERNAL})\..*")]
# Module docstrings are doctested by pytest (--doctest-modules) in their own namespace.
doctest_test_doctest_blocks = ""
doctest_global_setup = """
from datetime import date
from leftbehind.domain.dates import add_months
from leftbehind.domain.people import Assignment, Role, coverage
"""
