"""The error family. Every error leftbehind raises is a :class:`LeftbehindError`.

Messages never carry a personal value (a name, an ID number, a phone, health): they name the
field by its path and a stable code instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from attrs import frozen

__all__ = ["LISTED", "Issue", "LeftbehindError", "ValidationError", "describe"]


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


#: Up to how many issues a message lists one by one; past it, it summarises them by code.
LISTED = 20


def describe(issues: Sequence[Issue], subject: str, what: str = "problem") -> str:
    """``subject has N problems:`` and each issue on a line; past :data:`LISTED` issues, one
    line per code: the rule, how many, and the first paths (every issue stays in ``issues``)."""
    n = len(issues)
    head = f"{subject} has {n:,} {what}{'s' if n != 1 else ''}"
    if n <= LISTED:
        return head + ":\n" + "\n".join(f"  - {issue}" for issue in issues)
    by_code: dict[str, list[Issue]] = {}
    for issue in issues:
        by_code.setdefault(issue.code, []).append(issue)
    lines = []
    for code, found in by_code.items():
        paths = ", ".join(i.path or "<root>" for i in found[:3])
        more = f" and {len(found) - 3:,} more" if len(found) > 3 else ""
        lines.append(f"  - {found[0].message} [{code}] × {len(found):,}: {paths}{more}")
    return f"{head}, by kind:\n" + "\n".join(lines)


class ValidationError(LeftbehindError, ValueError):
    """Input was rejected; ``issues`` lists every problem found, each with a path and a code.

    The message lists them one by one, or past ``LISTED`` (20) sums them up by code (how many,
    and the first paths of each); ``issues`` always holds every one.
    """

    def __init__(self, issues: Iterable[Issue], *, subject: str = "input") -> None:
        self.issues: tuple[Issue, ...] = tuple(issues)
        self.subject = subject
        super().__init__(describe(self.issues, subject))

    @property
    def codes(self) -> frozenset[str]:
        """The distinct codes of the issues, for tests and programs that react to them."""
        return frozenset(issue.code for issue in self.issues)

    @property
    def paths(self) -> frozenset[str]:
        """The distinct paths of the issues."""
        return frozenset(issue.path for issue in self.issues)
