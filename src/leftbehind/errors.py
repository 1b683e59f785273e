"""Every error leftbehind raises derives from :class:`LeftbehindError`.

Subclasses also derive from the built-in exception of the same meaning, so
``except KeyError`` still catches an unknown backend name.
"""

from __future__ import annotations

from leftbehind.domain.errors import Issue, LeftbehindError, ValidationError

__all__ = ["Issue", "LeftbehindError", "ValidationError"]
