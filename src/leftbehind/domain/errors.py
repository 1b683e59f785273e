"""The error family. Every error leftbehind raises is a :class:`LeftbehindError`.

Messages never carry a personal value (a name, an ID number, a phone, health): they name the
field by its path and a stable code instead.
"""

from __future__ import annotations

from collections.abc import Iterable

from attrs import frozen

__all__ = ["Issue", "LeftbehindError", "ValidationError"]


class LeftbehindError(Exception):
    """Base class of every error raised by leftbehind."""


@frozen
class Issue:
    """One problem with input: where (``children[3].father.phone``), a stable code, and why.

    ``message`` explains the rule that was broken; it never repeats the rejected value.
    """

    path: str
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.path or '<root>'}: {self.message} [{self.code}]"


class ValidationError(LeftbehindError, ValueError):
    """Input was rejected; ``issues`` lists every problem found, each with a path and a code."""

    def __init__(self, issues: Iterable[Issue], *, subject: str = "input") -> None:
        self.issues: tuple[Issue, ...] = tuple(issues)
        self.subject = subject
        lines = "\n".join(f"  - {issue}" for issue in self.issues)
        n = len(self.issues)
        super().__init__(f"{subject} has {n} problem{'s' if n != 1 else ''}:\n{lines}")

    @property
    def codes(self) -> frozenset[str]:
        """The distinct codes of the issues, for tests and programs that react to them."""
        return frozenset(issue.code for issue in self.issues)

    @property
    def paths(self) -> frozenset[str]:
        """The distinct paths of the issues."""
        return frozenset(issue.path for issue in self.issues)
