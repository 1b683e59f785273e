"""Sphinx configuration for the leftbehind documentation."""

from __future__ import annotations

project = "leftbehind"
author = "The leftbehind developers"
copyright = "2026, the leftbehind developers"

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.doctest",
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
# Signatures show defaults as written (DEFAULT_KINDS), not as the repr of their value.
autodoc_preserve_defaults = True
nitpicky = True
_EXTERNAL = (
    "attr|attrs|cattrs|pluggy|datetime|collections|typing|_?io|pathlib|enum|sqlalchemy|tinydb"
    "|openpyxl|click|filelock|holidays|contextlib|os|json|hypothesis|sqlite3"
)
nitpick_ignore_regex = [(r"py:.*", rf"({_EXTERNAL})\..*")]
# Exact names that no page can document (there is no intersphinx: the build runs offline).
nitpick_ignore = [
    # The standard library and third-party modules named in docstrings.
    ("py:mod", "json"),
    ("py:mod", "filelock"),
    ("py:func", "copy.deepcopy"),
    # Annotations autodoc leaves unqualified or that name a TypeVar or a private alias.
    # Class signatures: autodoc leaves __init__'s postponed annotations unevaluated there.
    ("py:class", "Path"),  # pathlib.Path (leftbehind.errors)
    ("py:class", "date"),  # datetime.date (leftbehind.County)
    ("py:class", "datetime"),  # datetime.datetime (leftbehind.County)
    ("py:class", "timedelta"),  # datetime.timedelta (leftbehind.outbox.build_notifiers)
    ("py:class", "Secret"),  # str | EnvSecret, an alias (leftbehind.backends.notify)
    ("py:class", "_F"),  # pluggy's TypeVar in the signature of leftbehind.plugins.hookimpl
    ("py:class", "leftbehind.convert.T"),  # TypeVar of structure() and from_json()
    ("py:class", "leftbehind.service.context.T"),  # TypeVar of validate()
    ("py:class", "st.SearchStrategy"),  # hypothesis.strategies, imported as st
    ("py:class", "_Tables"),  # TinyDB's storage payload, a private alias
    ("py:class", "Connection"),  # sqlalchemy.Connection in the annotation of UPGRADES
]
# Module docstrings are doctested by pytest (--doctest-modules) in their own namespace.
doctest_test_doctest_blocks = ""
doctest_global_setup = """
from datetime import date
from leftbehind.domain.dates import add_months
from leftbehind.domain.people import Assignment, Role, coverage
"""
