"""What every room of the service works with: the repository, the plugins, the clocks, the actor.

A call begins with :meth:`Context.begin`, which gives it a fresh
:class:`~leftbehind.service.repository.Snapshot` and the
:class:`~leftbehind.service.gate.Gate` for the actor on the handle's today over that snapshot.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterable, Mapping
from datetime import date, timedelta
from typing import Any, TypeVar

from attrs import field, frozen

from leftbehind.access import Actor
from leftbehind.calendars import CalendarFallbackWarning
from leftbehind.convert import structure, structure_trusted, unstructure
from leftbehind.domain.calendar import SchoolCalendar, Semester
from leftbehind.domain.dates import Interval
from leftbehind.domain.duties import DutyKind
from leftbehind.domain.eligibility import Policy
from leftbehind.domain.errors import Issue, ValidationError
from leftbehind.domain.i18n import DEFAULT, check_language
from leftbehind.domain.ids import looks_personal
from leftbehind.errors import FactWarning
from leftbehind.plugins import Plugins
from leftbehind.service.gate import Gate
from leftbehind.service.repository import Repository, Snapshot

__all__ = ["LANGUAGE_ENV", "Context", "validate"]

#: The environment variable naming the language a person reads (``zh_CN``, ``zh_TW``, ``en``).
LANGUAGE_ENV = "LEFTBEHIND_LANG"

T = TypeVar("T")


@frozen
class Context:
    """The service's shared parts for one handle."""

    repo: Repository
    plugins: Plugins
    actor: Actor
    clock: Callable[[], date]
    url: str
    national: Policy
    #: The folder every export must stay in (``None``: anywhere the paths' checks allow).
    exports_in: str | None = None
    #: The language asked for when the handle was opened (``None``: the county's own).
    speaks: str | None = None
    #: What the handle is doing for the moment (``correction``: the reason of the correction
    #: under way, see :meth:`leftbehind.County.correction`).
    session: dict[str, Any] = field(factory=dict)

    def language(self, snap: Snapshot | None = None) -> str:
        """What the handle writes for people in: the language it was opened with, else
        ``$LEFTBEHIND_LANG``, else the county's setting, else Simplified Chinese."""
        asked = self.speaks or os.environ.get(LANGUAGE_ENV)
        if asked:
            return check_language(asked)
        stored = (snap or self.repo.snapshot()).settings().get("language")
        return check_language(str(stored)) if stored else DEFAULT

    def today(self) -> date:
        return self.clock()

    def begin(self) -> tuple[Snapshot, Gate]:
        """A call's snapshot and its gate."""
        snap = self.repo.snapshot()
        return snap, Gate(self.actor, self.today(), snap)

    def policy(self, snap: Snapshot) -> Policy:
        """The eligibility policy in force (by default the plan's rule, ``guangping-plan``)."""
        return self.plugins.policy(str(snap.settings()["policy"]))

    def duty_kinds(self) -> tuple[DutyKind, ...]:
        return self.plugins.duty_kinds()

    def calendar(self, snap: Snapshot, period: Interval) -> SchoolCalendar:
        """The county's school calendar for ``period`` (see :meth:`leftbehind.County.calendar`)."""
        conf = snap.settings().get("calendar") or {}
        last = period.end - timedelta(days=1) if period.end else period.start
        touched = set(range(period.start.year, last.year + 1))
        # Every term overlapping the period: an autumn term begun the year before reaches into
        # January.
        years = range(period.start.year - 1, last.year + 1)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            calendar = self.plugins.calendar(str(conf.get("name") or "china"), years)
        for w in caught:
            message = w.message
            if isinstance(message, CalendarFallbackWarning) and not set(message.years) & touched:
                continue
            warnings.warn_explicit(message, w.category, w.filename, w.lineno)
        if conf.get("terms"):
            terms = tuple(structure_trusted(t, Semester) for t in conf["terms"])
            calendar = SchoolCalendar(
                terms, calendar.holidays, calendar.workdays, calendar.days_off
            )
        extra = [date.fromisoformat(d) for d in conf.get("extra_days_off") or ()]
        return calendar.with_days_off(extra) if extra else calendar


def validate(
    items: Iterable[T | Mapping[str, Any]],
    cls: type[T],
    name: str,
    *,
    today: date | None = None,
    documents: dict[str, Any] | None = None,
) -> list[T]:
    """Structure and check every item, collecting every issue before raising once; doubtful
    facts that may be stored all the same are told in one
    :class:`~leftbehind.errors.FactWarning`.

    Keys must be unique in the batch and must not be (or hold) an ID number or a phone: a key
    goes into the audit log and into messages. With ``documents``, the document of each item
    given as a domain value that came through unchanged is kept there by key, so that it need
    not be made again to be stored.
    """
    out: list[T] = []
    issues: list[Issue] = []
    doubts: list[Issue] = []
    seen: dict[str, int] = {}
    for i, item in enumerate(items):
        data = item if isinstance(item, Mapping) else unstructure(item)
        path = f"{name}[{i}]"
        try:
            value = structure(data, cls, today=today, path=path, warnings=doubts)
        except ValidationError as exc:
            issues.extend(exc.issues)
            continue
        key = str(getattr(value, "id", ""))
        if looks_personal(key):
            issues.append(
                Issue(
                    f"{path}.id",
                    "personal_key",
                    "a key must not be an ID number or a phone number",
                )
            )
            continue
        if key in seen:
            issues.append(Issue(f"{path}.id", "duplicate_id", f"same id as {name}[{seen[key]}]"))
        seen[key] = i
        out.append(value)
        if documents is not None and data is not item and value == item:
            documents[key] = data
    if issues:
        raise ValidationError(issues, subject=name)
    if doubts:  # stored all the same, as a roster import would, and said so
        warnings.warn(FactWarning(doubts, subject=name), stacklevel=4)
    return out
