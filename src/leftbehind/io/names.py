"""Names as clerks write them: the same school, teacher or child in Simplified or Traditional
characters, full- or half-width, with or without spaces.

A sheet may name a school, a staff member or a child by name; :func:`name_key` is the form both
the sheet's name and the stored one are matched in, so that 南陽堡中心小學 written on a form in
Traditional characters finds the county's 南阳堡中心小学. Folding Traditional characters to
Simplified is OpenCC's (``t2s``), the converter made for it.

>>> name_key("南陽堡 中心小學") == name_key("南阳堡中心小学")
True
"""

from __future__ import annotations

import unicodedata
from functools import cache

import opencc

__all__ = ["name_key"]


@cache
def _simplified() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


@cache
def name_key(name: str) -> str:
    """``name`` in NFKC, without spaces, in Simplified characters."""
    folded = "".join(c for c in unicodedata.normalize("NFKC", name) if not c.isspace())
    return str(_simplified().convert(folded))
