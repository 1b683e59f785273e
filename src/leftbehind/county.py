"""The county handle: what a county app or a script calls.

``leftbehind.open(url, actor=...)`` returns a :class:`County` over a store, for one
:class:`~leftbehind.access.Actor`. Commands add and change schools,
children's facts, staff, assignments and records; each command is one unit of work, validated as
a whole before anything is written. Queries give a child's decision and timeline, due lists and
digests, coverage, and the three ledgers as of any date.

Timelines are derived data: recomputed whenever a child's facts change and stored with the
policy's name and version, so reading a decision never re-derives it, and changing the county's
policy recomputes them all.

Access (see :mod:`leftbehind.access` and ``docs/privacy.md``): every read goes through one scope
check and returns only the children the actor may see, with the fields their standing does not
allow masked; a child out of scope is reported exactly like a missing one
(:class:`NotFoundError`). Writes, exports and unmasking are appended to the audit log; a write's
audit entries are written in the same unit of work as the write.
"""

from __future__ import annotations

import functools
import itertools
import os
import secrets
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

import attrs

from leftbehind import digest as notice_builders
from leftbehind import outbox
from leftbehind.access import (
    AccessDeniedError,
    Actor,
    ActorKind,
    AuditEntry,
    Family,
    Field,
    Scope,
    Standing,
    field_changes,
    files_visible,
    mask_child,
    may_see,
)
from leftbehind.calendars import CalendarFallbackWarning
from leftbehind.convert import structure, unstructure
from leftbehind.domain import ledger
from leftbehind.domain.calendar import SchoolCalendar, Semester
from leftbehind.domain.dates import Interval, add_months, school_year_of
from leftbehind.domain.duties import (
    Compliance,
    Digest,
    DutyBook,
    DutyKind,
    Record,
    check_record,
    duty_plan,
)
from leftbehind.domain.eligibility import Decision, Policy, Timeline
from leftbehind.domain.errors import Issue, LeftbehindError, ValidationError
from leftbehind.domain.ids import mask_phone, mask_resident_id
from leftbehind.domain.model import Child, School
from leftbehind.domain.people import Assignment, Assignments, Role, Staff, StudyGroup, coverage
from leftbehind.domain.phases import ledger_deadline
from leftbehind.domain.profile import profile_completeness
from leftbehind.errors import UnknownNameError
from leftbehind.plugins import Plugins
from leftbehind.store import LEDGER_PUSHDOWN, LedgerPushdown, Store, UnitOfWork

__all__ = [
    "AUDIT",
    "DEFAULT_STORE",
    "RETENTION_YEARS",
    "STORE_ENV",
    "County",
    "NotFoundError",
    "open",
]

#: The store used when no URL is given and ``$LEFTBEHIND_STORE`` is unset.
DEFAULT_STORE = "leftbehind.json"
#: Environment variable naming the default store URL.
STORE_ENV = "LEFTBEHIND_STORE"

T = TypeVar("T")

# Document kinds this handle writes.
SETTINGS, SCHOOL, CHILD, TIMELINE, NATIONAL = "settings", "school", "child", "timeline", "national"
STAFF, ASSIGNMENT, GROUP, RECORD = "staff", "assignment", "group", "record"
#: The kind of the audit log's documents.
AUDIT = "audit"
#: Years after leaving the action before a child's file may be purged, unless told otherwise.
RETENTION_YEARS = 3
_SETTINGS_KEY = "county"
#: Titles that make a staff member the head of their school (校長), who gets its summaries.
HEAD_TITLES = frozenset({"校長", "副校長"})
_DEFAULT_CHANNELS = {outbox.DEFAULT_CHANNEL: {"type": "log"}}


def default_period(as_of: date) -> Interval:
    """The ledger's default period: the school year of ``as_of`` (from 1 September) up to it."""
    return Interval(date(school_year_of(as_of), 9, 1), as_of + timedelta(days=1))


class NotFoundError(LeftbehindError, KeyError):
    """No record of that kind has that key (the key is named; keys carry no personal data)."""

    def __init__(self, kind: str, key: str) -> None:
        self.kind, self.key = kind, key
        super().__init__(f"no {kind} with key {key!r}")

    def __str__(self) -> str:
        return str(self.args[0])


def _utc_now() -> datetime:
    return datetime.now(UTC)


def open(
    url: str | os.PathLike[str] | None = None,
    *,
    actor: Actor,
    plugins: Plugins | None = None,
    today: Callable[[], date] = date.today,
    now: Callable[[], datetime] = _utc_now,
) -> County:
    """Open the county store at ``url`` (default ``$LEFTBEHIND_STORE`` or ``./leftbehind.json``)
    for ``actor``.

    ``url`` is a path (the embedded TinyDB store) or a URL whose scheme names a backend:
    ``memory://``, ``tinydb:///path``, ``sqlite:///path``, ``postgresql://…``. ``actor`` is who
    reads and writes through the handle (:class:`~leftbehind.access.Actor`); it has no default,
    so a script states ``actor=Actor.system("nightly digests")`` on purpose. ``today`` is the
    clock used to reject future-dated facts and to date reads; ``now`` stamps the audit log.
    Tests and simulations pass their own.
    """
    plugins = plugins or Plugins.load()
    target = os.fspath(url) if url is not None else os.environ.get(STORE_ENV, DEFAULT_STORE)
    store = plugins.open_store(target)
    return County(store, actor=actor, plugins=plugins, today=today, now=now, url=target)


class County:
    """A county's care action over one store, for one actor. Use it as a context manager, or
    call :meth:`close`."""

    def __init__(
        self,
        store: Store,
        *,
        actor: Actor,
        plugins: Plugins,
        today: Callable[[], date] = date.today,
        now: Callable[[], datetime] = _utc_now,
        url: str = "",
    ) -> None:
        self.store = store
        self.plugins = plugins
        self.url = url
        self._actor = actor
        self._today = today
        self._now = now
        self._national: Policy = plugins.policy("national-2016")
        self._audit_token = secrets.token_hex(3)
        self._audit_counter = itertools.count()

    # ------------------------------------------------------------------ lifecycle

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the store; closing twice is harmless."""
        self.store.close()

    def today(self) -> date:
        """Today, by the handle's clock."""
        return self._today()

    @property
    def actor(self) -> Actor:
        """Who uses this handle."""
        return self._actor

    # ------------------------------------------------------------------ settings and policy

    def settings(self) -> dict[str, Any]:
        """The county's settings document (policy name, county name)."""
        return self.store.get(SETTINGS, _SETTINGS_KEY) or {"policy": "guangping-plan"}

    @property
    def policy(self) -> Policy:
        """The eligibility policy in force (by default the plan's rule, ``guangping-plan``)."""
        return self.plugins.policy(str(self.settings()["policy"]))

    def set_policy(self, name: str) -> int:
        """Adopt the policy ``name`` and recompute every child's timeline in one unit of work
        (system and county officers). Returns the number of timelines recomputed.
        """
        self._require_county("change the policy")
        policy = self.plugins.policy(name)
        schools = self.schools()
        with self.store.unit_of_work() as uow:
            settings = {**self.settings(), "policy": policy.name}
            self._put(uow, SETTINGS, _SETTINGS_KEY, settings)
            n = 0
            for child in self._all_children():
                self._write_timelines(uow, child, schools, policy)
                n += 1
            uow.commit()
        return n

    # ------------------------------------------------------------------ schools

    def put_schools(self, schools: Iterable[School | Mapping[str, Any]]) -> list[School]:
        """Add or replace schools (system and county officers); all are validated first and
        written in one unit of work."""
        self._require_county("change schools")
        checked = self._validate(schools, School, "schools")
        with self.store.unit_of_work() as uow:
            for s in checked:
                self._put(uow, SCHOOL, s.id, unstructure(s))
            uow.commit()
        return checked

    def school(self, school_id: str) -> School:
        return self._get(SCHOOL, school_id, School)

    def schools(self) -> dict[str, School]:
        """Every school by id (schools are public: every actor sees the list)."""
        return {key: structure(doc, School) for key, doc in self.store.scan(SCHOOL)}

    # ------------------------------------------------------------------ children

    def put_children(self, children: Iterable[Child | Mapping[str, Any]]) -> list[Child]:
        """Add or replace children's files and recompute their timelines, all in one unit of work.

        Every child is validated before anything is written (future dates by :meth:`today`); one
        :class:`~leftbehind.errors.ValidationError` lists every problem of every child with its
        path (``children[3].father.phone``), and then nothing is written. A child must be enrolled
        in schools the county knows. System and county officers write any child; a school head
        only children enrolled in their school, whose stored file (if any) is of their school.
        """
        checked = self._validate(children, Child, "children", today=self.today())
        schools = self.schools()
        issues = [
            Issue(f"children[{i}].enrolments[{j}].school_id", "unknown_school", "no such school")
            for i, child in enumerate(checked)
            for j, e in enumerate(child.enrolments)
            if e.school_id not in schools
        ]
        issues += self._duplicate_resident_ids(checked)
        if issues:
            raise ValidationError(issues, subject="children")
        if not self._actor.sees_county:
            self._require_head("write children's files")
            for child in checked:
                stored = self.store.get(CHILD, child.id)
                mine = self._ever_at_school(child) and (
                    stored is None or self._ever_at_school(structure(stored, Child))
                )
                if not mine:
                    raise AccessDeniedError(self._actor, "write the file of", child.id)
        policy = self.policy
        today = self.today()
        with self.store.unit_of_work() as uow:
            for child in checked:
                before = uow.get(TIMELINE, child.id)
                was = bool(before) and bool(structure(before, Timeline).categories_on(today))
                self._put(uow, CHILD, child.id, unstructure(child))
                now = self._write_timelines(uow, child, schools, policy)
                if bool(now.categories_on(today)) != was:
                    self._queue_status(uow, child, "left" if was else "served", today)
            uow.commit()
        return checked

    def _duplicate_resident_ids(self, children: list[Child]) -> list[Issue]:
        """A resident ID may belong to one child only: within the batch and against the store.

        The issue names the path, never the ID itself.
        """
        owner: dict[str, str] = {}
        for _, doc in self.store.scan(CHILD):
            rid = doc.get("resident_id")
            if isinstance(rid, str) and rid:
                owner[rid.upper()] = str(doc.get("id", ""))
        issues: list[Issue] = []
        for i, child in enumerate(children):
            rid = child.resident_id.upper()
            if rid and owner.get(rid, child.id) != child.id:
                issues.append(
                    Issue(
                        f"children[{i}].resident_id",
                        "duplicate_resident_id",
                        "another child already has this resident ID",
                    )
                )
            elif rid:
                owner[rid] = child.id
        return issues

    def put_child(self, child: Child | Mapping[str, Any]) -> Child:
        """Add or replace one child's file (see :meth:`put_children`)."""
        return self.put_children([child])[0]

    def child(self, child_id: str, *, as_of: date | None = None, masked: bool = False) -> Child:
        """The child's file as the actor may see it on ``as_of`` (default: any day of the school
        year so far): fields the actor's standing does not allow are masked (ID numbers without
        the birth digits, phones ``138****1234``, health left out); ``masked=True`` masks them
        for anyone (show it so, and :meth:`unmask` on demand). :class:`NotFoundError` if there
        is none or the child is out of the actor's scope; a volunteer gets
        :class:`~leftbehind.access.AccessDeniedError` (see :meth:`family`)."""
        child, standing = self._one(child_id, self._window(as_of))
        if not files_visible(standing):
            raise AccessDeniedError(self._actor, "read the file of", child_id)
        return mask_child(child, frozenset() if masked else standing)

    def children(
        self,
        *,
        as_of: date | None = None,
        period: Interval | None = None,
        masked: bool = False,
    ) -> Iterator[Child]:
        """Every child's file the actor may see (on ``as_of``, in ``period``, or by default any
        day of the school year so far), masked as in :meth:`child`; in no particular order."""
        self._deny_volunteer("list children's files")
        for child, standing in self._visible(self._window(as_of, period)).values():
            yield mask_child(child, frozenset() if masked else standing)

    def family(self, child_id: str, *, as_of: date | None = None) -> Family:
        """Names and pairing of a child's family (what a volunteer sees of them)."""
        child, _ = self._one(child_id, self._window(as_of))
        return self._family(child)

    def families(self, *, as_of: date | None = None) -> list[Family]:
        """:meth:`family` of every child in scope, by child id."""
        visible = self._visible(self._window(as_of))
        return [self._family(visible[k][0]) for k in sorted(visible)]

    def unmask(self, child_id: str, field: str, *, reason: str) -> str:
        """The clear value of one masked field of a child's file, when the actor's standing
        allows it: ``resident_id``, ``health``, ``health_note``, ``father.phone``,
        ``mother.phone`` or ``guardian.phone``. An explicit act: it is written to the audit log
        with ``reason`` (which must carry no personal data), refusals included."""
        if field not in _UNMASKABLE:
            msg = f"unmask takes one of {', '.join(sorted(_UNMASKABLE))}"
            raise ValueError(msg)
        if not reason.strip():
            msg = "unmask needs a reason"
            raise ValueError(msg)
        child, standing = self._one(child_id, self._window(None))
        allowed = files_visible(standing) and may_see(_UNMASKABLE[field], standing)
        self._audit_now(
            "unmask" if allowed else "unmask_denied", CHILD, child_id, {"field": field}, reason
        )
        if not allowed:
            raise AccessDeniedError(self._actor, f"unmask {field} of", child_id)
        if field == "health":
            return child.health.value if child.health is not None else ""
        if field in ("resident_id", "health_note"):
            return str(getattr(child, field))
        holder = getattr(child, field.partition(".")[0])
        return str(holder.phone) if holder is not None else ""

    def timeline(self, child_id: str, *, national: bool = False) -> Timeline:
        """The child's stored timeline under the county's policy (or the national rule)."""
        self._file(child_id, self._window(None))
        return self._get(NATIONAL if national else TIMELINE, child_id, Timeline)

    def timelines(
        self, *, national: bool = False, as_of: date | None = None, period: Interval | None = None
    ) -> dict[str, Timeline]:
        """Every stored timeline of a child in scope, by child id."""
        self._deny_volunteer("read timelines")
        ids = self._visible(self._window(as_of, period))
        return {k: t for k, t in self._all_timelines(national=national).items() if k in ids}

    def decision(self, child_id: str, as_of: date | None = None) -> Decision:
        """Who the child is on ``as_of`` (default today): categories, reasons, policy, version."""
        day = as_of or self.today()
        self._file(child_id, self._window(day))
        return self._get(TIMELINE, child_id, Timeline).decision(day)

    # ------------------------------------------------------------------ people

    def put_staff(self, staff: Iterable[Staff | Mapping[str, Any]]) -> list[Staff]:
        """Add or replace staff (teachers, heads, volunteers), validated, in one unit of work
        (system and county officers; a school head for their own school's staff)."""
        checked = self._validate(staff, Staff, "staff")
        schools = self.schools()
        issues = [
            Issue(f"staff[{i}].school_id", "unknown_school", "no such school")
            for i, person in enumerate(checked)
            if person.school_id not in schools
        ]
        if issues:
            raise ValidationError(issues, subject="staff")
        if not self._actor.sees_county:
            self._require_head("write staff")
            stored = self._all_staff()
            for p in checked:
                old = stored.get(p.id)
                if p.school_id != self._actor.school_id or (
                    old is not None and old.school_id != self._actor.school_id
                ):
                    raise AccessDeniedError(self._actor, "write staff member", p.id)
        with self.store.unit_of_work() as uow:
            for p in checked:
                self._put(uow, STAFF, p.id, unstructure(p))
            uow.commit()
        return checked

    def staff(self) -> dict[str, Staff]:
        """Every staff member by id (the staff directory is readable by every actor)."""
        return self._all_staff()

    def put_assignments(
        self, assignments: Iterable[Assignment | Mapping[str, Any]]
    ) -> list[Assignment]:
        """Add or replace dated assignments (班主任, 代管家長, 一對一幫扶 …) in one unit of work.

        The staff member and the child must exist; nothing is written if any assignment is bad.
        System and county officers assign anyone; a school head assigns their school's staff to
        their school's children.
        """
        if not self._actor.sees_county:
            self._require_head("assign staff")
        checked = self._validate(assignments, Assignment, "assignments")
        self._check_refs("assignments", [(a.staff_id, a.child_id) for a in checked])
        for a in checked:
            self._check_assign(a.id, a.staff_id, a.child_id)
        with self.store.unit_of_work() as uow:
            for a in checked:
                self._put(uow, ASSIGNMENT, a.id, unstructure(a))
            uow.commit()
        return checked

    def end_assignment(self, assignment_id: str, on: date) -> Assignment:
        """End an assignment on ``on`` (the first day it no longer holds)."""
        with self.store.unit_of_work() as uow:
            doc = uow.get(ASSIGNMENT, assignment_id)
            if doc is None:
                raise NotFoundError(ASSIGNMENT, assignment_id)
            current = structure(doc, Assignment)
            self._check_assign(current.id, current.staff_id, current.child_id)
            if on < current.start:
                issue = Issue(
                    "end", "assignment_order", "an assignment cannot end before it starts"
                )
                raise ValidationError([issue], subject="assignment")
            ended = Assignment(
                current.id,
                current.staff_id,
                current.child_id,
                current.role,
                current.start,
                on,
                current.subject,
            )
            self._put(uow, ASSIGNMENT, ended.id, unstructure(ended), before=doc)
            uow.commit()
        return ended

    def put_groups(self, groups: Iterable[StudyGroup | Mapping[str, Any]]) -> list[StudyGroup]:
        """Add or replace village study groups (校外學習小組) with their guide teachers."""
        if not self._actor.sees_county:
            self._require_head("write study groups")
        checked = self._validate(groups, StudyGroup, "groups")
        pairs = [(g.guide_staff_id, cid) for g in checked for cid in g.child_ids]
        self._check_refs("groups", pairs)
        for g in checked:
            if not self._actor.sees_county and g.school_id != self._actor.school_id:
                raise AccessDeniedError(self._actor, "write study group", g.id)
            for cid in g.child_ids:
                self._check_assign(g.id, g.guide_staff_id, cid)
        with self.store.unit_of_work() as uow:
            for g in checked:
                self._put(uow, GROUP, g.id, unstructure(g))
            uow.commit()
        return checked

    def groups(self) -> dict[str, StudyGroup]:
        """The study groups, each with only the children in the actor's scope (groups with none
        left out, unless the group is of a school the actor's office covers)."""
        groups = self._all_groups()
        if self._actor.sees_county:
            return groups
        ids = self._visible(self._window(None))
        scope = self._scope()
        out = {}
        for key, g in groups.items():
            kept = tuple(c for c in g.child_ids if c in ids)
            if kept or scope.school_in_scope(g.school_id):
                out[key] = attrs.evolve(g, child_ids=kept)
        return out

    def assignments(self) -> Assignments:
        """Every assignment to a child in scope, the study groups' guides included, indexed by
        child and staff."""
        everything = self._all_assignments()
        if self._actor.sees_county:
            return everything
        ids = self._visible(self._window(None))
        return Assignments(a for a in everything.all if a.child_id in ids)

    def coverage(self, as_of: date | None = None) -> dict[str, frozenset[Role]]:
        """For each child in scope served on ``as_of``, the required roles nobody holds (雙管理
        gaps)."""
        day = as_of or self.today()
        timelines = self.timelines(as_of=day)
        served = [cid for cid, t in timelines.items() if t.categories_on(day)]
        return dict(coverage(served, self._all_assignments(), day))

    # ------------------------------------------------------------------ records

    def add_records(self, records: Iterable[Record | Mapping[str, Any]]) -> list[Record]:
        """Record duties done (談心, 家訪 …), validated as a whole, in one unit of work.

        Future-dated records, unknown duty kinds, children or staff, and duplicate ids are
        rejected with every problem listed; nothing is written then. A teacher or proxy parent
        records their own duties towards the children they hold an assignment to on the day of
        the record (another child is reported as ``unknown_child``, like a missing one); a school
        head records for their school's children; system and county officers for anyone.
        """
        self._deny_volunteer("add records")
        if self._actor.kind is ActorKind.TOWNSHIP_OFFICER:
            raise AccessDeniedError(self._actor, "add records")
        today = self.today()
        checked = self._validate(records, Record, "records", today=today)
        kinds = self.duty_kinds()
        issues: list[Issue] = []
        for i, record in enumerate(checked):
            for issue in check_record(record, today=today, kinds=kinds):
                issues.append(Issue(f"records[{i}].{issue.path}", issue.code, issue.message))
        try:
            pairs = [(r.staff_id, r.child_id) for r in checked]
            self._check_refs("records", pairs, [r.on for r in checked])
        except ValidationError as exc:
            issues.extend(exc.issues)
        if issues:
            raise ValidationError(issues, subject="records")
        if self._actor.kind in (ActorKind.TEACHER, ActorKind.PROXY_PARENT):
            for r in checked:
                if r.staff_id != self._actor.id:
                    raise AccessDeniedError(self._actor, "record another's duty", r.id)
        with self.store.unit_of_work() as uow:
            for r in checked:
                self._put(uow, RECORD, r.id, unstructure(r))
            uow.commit()
        return checked

    def records(self, *, child_id: str | None = None) -> Iterator[Record]:
        """Duty records of the children in scope, of one child or of all."""
        self._deny_volunteer("read records")
        if child_id is not None:
            self._file(child_id, self._window(None))
            yield from self._all_records(child_id=child_id)
            return
        ids = None if self._actor.sees_county else self._visible(self._window(None))
        for record in self._all_records():
            if ids is None or record.child_id in ids:
                yield record

    # ------------------------------------------------------------------ calendar and duties

    def duty_kinds(self) -> tuple[DutyKind, ...]:
        """The duty kinds in force: the plan's eight and those added by plugins."""
        return self.plugins.duty_kinds()

    def set_calendar(
        self,
        name: str = "china",
        *,
        terms: Iterable[Semester] | None = None,
        extra_days_off: Iterable[date] = (),
    ) -> None:
        """Choose the school calendar: a registered one by name (``china`` by default), the
        county's own term dates, and extra days off (a county's own holidays)."""
        known = self.plugins.calendars()
        if name not in known:
            raise UnknownNameError("calendar", name, known)
        settings = {
            **self.settings(),
            "calendar": {
                "name": name,
                "terms": None if terms is None else [unstructure(t) for t in terms],
                "extra_days_off": sorted(d.isoformat() for d in extra_days_off),
            },
        }
        with self.store.unit_of_work() as uow:
            uow.put(SETTINGS, _SETTINGS_KEY, settings)
            uow.commit()

    def calendar(self, period: Interval) -> SchoolCalendar:
        """The county's school calendar for ``period``: every term beginning in a calendar year
        the period touches, official holidays and make-up days (調休), the county's own terms
        and extra days off.

        A :class:`~leftbehind.calendars.CalendarFallbackWarning` is passed on only for years
        the period itself touches (an autumn term reaching into an unpublished January is not
        the period's concern).
        """
        conf = self.settings().get("calendar") or {}
        last = period.end - timedelta(days=1) if period.end else period.start
        years = range(period.start.year, last.year + 1)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            calendar = self.plugins.calendar(str(conf.get("name") or "china"), years)
        for w in caught:
            message = w.message
            if isinstance(message, CalendarFallbackWarning) and not set(message.years) & set(years):
                continue
            warnings.warn_explicit(message, w.category, w.filename, w.lineno)
        if conf.get("terms"):
            terms = tuple(structure(t, Semester) for t in conf["terms"])
            calendar = SchoolCalendar(
                terms, calendar.holidays, calendar.workdays, calendar.days_off
            )
        extra = [date.fromisoformat(d) for d in conf.get("extra_days_off") or ()]
        return calendar.with_days_off(extra) if extra else calendar

    def duty_book(self, period: Interval) -> DutyBook:
        """The duty book (calendar, kinds, timelines, assignments, records) for ``period``, of
        the children in the actor's scope in the period."""
        self._deny_volunteer("read the duty book")
        return self._book(period, self._visible(period))

    def compliance(self, as_of: date | None = None, period: Interval | None = None) -> Compliance:
        """Due / done / overdue per kind, owner and school for ``period`` as of ``as_of``, over
        the children in the actor's scope."""
        day = as_of or self.today()
        span = period or default_period(day)
        return self.duty_book(span).compliance(span, day)

    def digest(
        self, staff_id: str, week_of: date | None = None, as_of: date | None = None
    ) -> Digest:
        """What ``staff_id`` owes this week and what is overdue (one digest per person).

        Anyone may ask their own digest; a school head those of their school's staff, a
        township officer those of their township's, system and county officers anyone's."""
        day = as_of or self.today()
        week = week_of or day
        self._staff_in_reach(staff_id, "read the digest of")
        span = default_period(day)
        return self._book(span, None).digest(staff_id, week, day)

    # ------------------------------------------------------------------ ledgers

    def ledger_facts(self, period: Interval) -> ledger.LedgerFacts:
        """Everything the three ledgers are built from, for ``period``: the children in the
        actor's scope in the period, masked as in :meth:`child`."""
        self._deny_volunteer("read ledger facts")
        visible = self._visible(period)
        facts = self._facts(period, visible)
        masked = tuple(mask_child(c, visible[c.id][1]) for c in facts.children)
        return attrs.evolve(facts, children=masked)

    def county_table(
        self, as_of: date | None = None, period: Interval | None = None
    ) -> ledger.CountyTable:
        """信息匯總表 as of ``as_of`` (default today) for ``period`` (default the school year).

        System and county officers get every row; a township officer the rows of their
        township, whose totals are the township's; anyone else is refused."""
        day = as_of or self.today()
        span = period or default_period(day)
        actor = self._actor
        if not actor.sees_county and actor.kind is not ActorKind.TOWNSHIP_OFFICER:
            raise AccessDeniedError(actor, "read the county table")
        facts = self._facts(span, None, pushdown=True)
        table = ledger.county_table(facts, as_of=day, period=span)
        if actor.sees_county:
            return table
        return _township_rows(table, str(actor.township))

    def school_table(
        self, school_id: str, as_of: date | None = None, period: Interval | None = None
    ) -> ledger.SchoolTable:
        """動態狀況表 of one school (its head, its township's officer, the county)."""
        day = as_of or self.today()
        span = period or default_period(day)
        if school_id not in self.schools():
            raise NotFoundError(SCHOOL, school_id)
        if not self._scope().school_in_scope(school_id):
            raise AccessDeniedError(self._actor, "read the school table of", school_id)
        facts = self._facts(span, None, pushdown=True)
        return ledger.school_table(facts, school_id, as_of=day, period=span)

    def school_tables(
        self, as_of: date | None = None, period: Interval | None = None
    ) -> dict[str, ledger.SchoolTable]:
        """動態狀況表 of every school the actor's office covers (none for teachers)."""
        day = as_of or self.today()
        span = period or default_period(day)
        scope = self._scope()
        if not self._actor.is_official:
            raise AccessDeniedError(self._actor, "read school tables")
        tables = ledger.school_tables(
            self._facts(span, None, pushdown=True), as_of=day, period=span
        )
        return {k: t for k, t in tables.items() if scope.school_in_scope(k)}

    def teacher_table(
        self, staff_id: str, as_of: date | None = None, period: Interval | None = None
    ) -> ledger.TeacherTable:
        """聯絡信息表 of one teacher or proxy parent: their own, or one of a staff member of a
        school the actor's office covers. Rows are the children in the actor's scope, masked
        by the actor's standing towards each (see :data:`~leftbehind.access.FIELD_POLICY`)."""
        day = as_of or self.today()
        span = period or default_period(day)
        self._deny_volunteer("read teacher tables")
        self._staff_in_reach(staff_id, "read the teacher table of")
        visible = self._visible(span)
        table = ledger.teacher_table(self._facts(span, None), staff_id, as_of=day, period=span)
        return _masked_table(table, visible)

    def teacher_tables(
        self, as_of: date | None = None, period: Interval | None = None
    ) -> dict[str, ledger.TeacherTable]:
        """:meth:`teacher_table` of every staff member in reach (a teacher: their own)."""
        day = as_of or self.today()
        span = period or default_period(day)
        self._deny_volunteer("read teacher tables")
        visible = self._visible(span)
        facts = self._facts(span, None)
        tables = ledger.teacher_tables(facts, as_of=day, period=span)
        return {
            k: _masked_table(t, visible)
            for k, t in tables.items()
            if self._staff_reachable(k, facts.staff)
        }

    def diff(self, before: date, after: date) -> ledger.LedgerDiff:
        """Who entered and left the served children between two days, and why (the children
        in scope on either day)."""
        self._deny_volunteer("read movements")
        found = ledger.diff(self._facts(default_period(after), None), before, after)
        if self._actor.sees_county:
            return found
        ids = self._visible(Interval(min(before, after), max(before, after) + timedelta(days=1)))
        kept = tuple(m for m in found.movements if m.child_id in ids)
        return attrs.evolve(found, movements=kept)

    def commendations(
        self, as_of: date | None = None, period: Interval | None = None
    ) -> tuple[tuple[ledger.Standing, ...], tuple[ledger.Standing, ...]]:
        """Schools and staff ranked by measured completion (表彰先進), with a minimum volume
        (system and county officers)."""
        self._require_county("read the commendation ranking")
        day = as_of or self.today()
        span = period or default_period(day)
        facts = self._facts(span, None)
        table = ledger.county_table(facts, as_of=day, period=span)
        return ledger.rank_schools(table), ledger.rank_staff(facts, as_of=day, period=span)

    # ------------------------------------------------------------------ exports

    def export_ledger(
        self,
        level: str,
        *,
        key: str | None = None,
        as_of: date | None = None,
        format: str = "text",
        path: str | os.PathLike[str] | None = None,
        unmasked: bool = False,
    ) -> str:
        """Render a ledger and write it to the audit log as an export.

        ``level`` is ``county``, ``school`` (``key`` the school), ``schools`` (every school in
        reach), ``teacher`` (``key`` the staff member), ``teachers`` or ``commend``. ``format``
        ``text`` returns the table as text; ``csv`` (first sheet) and ``xlsx`` write ``path``
        (checked by :func:`~leftbehind.io.paths.safe_export_path`) and return it. Phones and ID
        numbers are masked unless ``unmasked``; even then a value the actor may not see stays
        masked, because the ledger itself was built masked for them.
        """
        from leftbehind.io import render
        from leftbehind.io.paths import safe_export_path

        day = as_of or self.today()
        sheets = self._sheets(level, key, day)
        rows = sum(len(s.rows) for s in sheets)
        if format == "text":
            text = "\n".join(render.render_text(s, unmasked=unmasked) for s in sheets)
            self._note_export(f"ledger.{level}", key or level, "text", unmasked, rows)
            return text
        if path is None:
            msg = f"format {format!r} needs a path"
            raise ValueError(msg)
        target = safe_export_path(path, store_path=self.url)
        if format == "csv":
            render.write_csv(sheets[0], target, unmasked=unmasked)
        elif format == "xlsx":
            render.write_xlsx(sheets, target, unmasked=unmasked)
        else:
            msg = "format is text, csv or xlsx"
            raise ValueError(msg)
        self._note_export(f"ledger.{level}", key or level, format, unmasked, rows)
        return str(target)

    def note_export(self, what: str, key: str, *, format: str, unmasked: bool, rows: int) -> None:
        """Write an export done outside :meth:`export_ledger` to the audit log (the roster
        export calls it). ``what`` and ``key`` name the export, never a person."""
        self._note_export(what, key, format, unmasked, rows)

    def _note_export(self, what: str, key: str, fmt: str, unmasked: bool, rows: int) -> None:
        fields: dict[str, Any] = {"format": fmt, "unmasked": unmasked, "rows": rows}
        self._audit_now("export", what, key, fields, self._actor.reason)

    def _sheets(self, level: str, key: str | None, day: date) -> list[Any]:
        from leftbehind.io import render

        if level in ("school", "teacher") and not key:
            msg = f"the {level} ledger needs the {level}'s id"
            raise ValueError(msg)
        if level == "county":
            return [render.county_sheet(self.county_table(day))]
        if level == "school":
            return render.school_sheets(self.school_table(str(key), day))
        if level == "schools":
            return [s for t in self.school_tables(day).values() for s in render.school_sheets(t)]
        if level == "teacher":
            return [render.teacher_sheet(self.teacher_table(str(key), day))]
        if level == "teachers":
            return [render.teacher_sheet(t) for t in self.teacher_tables(day).values()]
        if level == "commend":
            schools, staff = self.commendations(day)
            return [
                render.standings_sheet(schools, "表彰候選：學校"),
                render.standings_sheet(staff, "表彰候選：教職工"),
            ]
        msg = "level is county, school, schools, teacher, teachers or commend"
        raise ValueError(msg)

    # ------------------------------------------------------------------ audit and retention

    def audit(
        self, since: datetime | None = None, until: datetime | None = None
    ) -> list[AuditEntry]:
        """The audit log from ``since`` until (before) ``until``, oldest first (system and county
        officers). Reading the log is not itself logged."""
        self._require_county("read the audit log")
        low = _stamp(since) if since is not None else ""
        high = _stamp(until) if until is not None else None
        entries = [
            AuditEntry.from_document(key, doc)
            for key, doc in self.store.scan(AUDIT)
            if key >= low and (high is None or key < high)
        ]
        return sorted(entries, key=lambda e: e.key)

    def purge(
        self, older_than_years: int = RETENTION_YEARS, as_of: date | None = None
    ) -> list[str]:
        """Remove the files of children who left the action (no category and no enrolment) more
        than ``older_than_years`` years before ``as_of`` (default today), with their timelines,
        records and assignments and the notices that name them (unsent ones deleted, sent ones
        blanked), in one unit of work; the audit log keeps a tombstone (kind, key, ``purged``)
        of each. System and county officers only. Returns the purged keys.
        """
        self._require_county("purge files")
        if older_than_years < 0:
            msg = "older_than_years must be 0 or more"
            raise ValueError(msg)
        cutoff = add_months(as_of or self.today(), -12 * older_than_years)
        timelines = self._all_timelines()
        gone = sorted(
            c.id
            for c in self._all_children()
            if (left := _left_on(c, timelines.get(c.id))) is not None and left <= cutoff
        )
        if not gone:
            return []
        targets = set(gone)
        with self.store.unit_of_work() as uow:
            for cid in gone:
                for kind in (CHILD, TIMELINE, NATIONAL):
                    uow.delete(kind, cid)
                for key, _ in list(uow.scan(RECORD, {"child_id": cid})):
                    uow.delete(RECORD, key)
                for key, _ in list(uow.scan(ASSIGNMENT, {"child_id": cid})):
                    uow.delete(ASSIGNMENT, key)
                self._append_audit(uow, "purged", CHILD, cid, {}, self._actor.reason)
            outbox.forget_children(uow, gone)
            for key, doc in list(uow.scan(GROUP)):
                group = structure(doc, StudyGroup)
                kept = tuple(c for c in group.child_ids if c not in targets)
                if kept != group.child_ids:
                    new = unstructure(attrs.evolve(group, child_ids=kept))
                    self._put(uow, GROUP, key, new, before=doc)
            uow.commit()
        return gone

    # ------------------------------------------------------------------ notices

    def set_channels(self, channels: Mapping[str, Mapping[str, str]]) -> None:
        """Configure notification channels: ``{"default": {"type": "wecom", "url": …}}``.

        Every notice goes to the ``default`` channel unless a channel is named for its recipient
        (a staff id) or its kind. Unknown notifier types raise, listing the registered ones.
        """
        self._require_county("configure channels")
        outbox.build_notifiers(self.plugins, channels)
        with self.store.unit_of_work() as uow:
            settings = {**self.settings(), "channels": {k: dict(v) for k, v in channels.items()}}
            self._put(uow, SETTINGS, _SETTINGS_KEY, settings)
            uow.commit()

    def queue_week(self, week_of: date | None = None, as_of: date | None = None) -> int:
        """Queue this week's notices: one digest per person, overdue duties to their owners and
        a summary to each school head. Returns how many new notices were queued (running it
        twice in a week queues nothing more). System and county officers."""
        self._require_county("queue notices")
        day = as_of or self.today()
        week = week_of or day
        book = self._book(default_period(day), None)
        staff = self._all_staff()
        children = {c.id: c for c in self._all_children()}
        entries: list[tuple[str, list[notice_builders.DutyItem]]] = []
        overdue: dict[str, list[tuple[str, list[notice_builders.DutyItem]]]] = {}
        labels = {k.code: k.label_zh for k in self.duty_kinds()}
        for staff_id, person in sorted(staff.items()):
            d = book.digest(staff_id, week, day)
            due = [self._item(o, labels, children, day) for o in d.due]
            late = [self._item(o, labels, children, day) for o in d.overdue]
            entries.append((staff_id, due))
            if late:
                overdue.setdefault(person.school_id, []).append((staff_id, late))
        made = notice_builders.weekly_digests(entries, week_of=week)
        schools = self.schools()
        for school_id, owners in sorted(overdue.items()):
            head = self._head(school_id, staff)
            made += notice_builders.overdue_notices(
                owners, school=school_id, school_label=schools[school_id].name, head=head, as_of=day
            )
        return self._enqueue(made)

    def queue_incomplete_files(self, year: int | None = None) -> int:
        """After the deployment phase (部署階段) of ``year``, tell each class teacher which files
        still miss some of the five clears (五清晰). System and county officers."""
        self._require_county("queue notices")
        deadline = ledger_deadline(year or self.today().year)
        assignments = self._all_assignments()
        timelines = self._all_timelines()
        gaps: dict[str, list[notice_builders.FileGap]] = {}
        for child in self._all_children():
            timeline = timelines.get(child.id)
            if timeline is None or not timeline.categories_on(deadline):
                continue
            missing = profile_completeness(child, deadline).incomplete
            teachers = assignments.holders(child.id, Role.CLASS_TEACHER, deadline)
            if missing and teachers:
                gap = notice_builders.FileGap(
                    child.id, tuple(a.label for a in missing), self._class_label(child, deadline)
                )
                for teacher in teachers:
                    gaps.setdefault(teacher, []).append(gap)
        made = notice_builders.incomplete_file_notices(sorted(gaps.items()), deadline=deadline)
        return self._enqueue(made)

    def queue_status_changes(self, since: date, until: date | None = None) -> int:
        """Queue notices of children who became served or left on a day in ``[since, until]``
        by the passing of time (a parent away three months, a return home). System and county
        officers."""
        self._require_county("queue notices")
        end = (until or self.today()) + timedelta(days=1)
        changed: list[tuple[Child, str, date]] = []
        children = {c.id: c for c in self._all_children()}
        for child_id, timeline in self._all_timelines().items():
            for change in timeline.changes(since, end):
                before = timeline.categories_on(change.on - timedelta(days=1))
                after = timeline.categories_on(change.on)
                if bool(before) != bool(after):
                    changed.append((children[child_id], "served" if after else "left", change.on))
        with self.store.unit_of_work() as uow:
            n = sum(self._queue_status(uow, child, what, on) for child, what, on in changed)
            uow.commit()
        return n

    def notices(self) -> dict[str, list[outbox.OutboxEntry]]:
        """The notices waiting, sent and parked as failed (system and county officers)."""
        self._require_county("read the outbox")
        return {
            "pending": outbox.pending(self.store),
            "sent": outbox.sent(self.store),
            "failed": outbox.failed(self.store),
        }

    def deliver(self, now: datetime | None = None, **kwargs: Any) -> outbox.DeliveryReport:
        """Send the queued notices through the configured channels (see :meth:`set_channels`).

        A notice is marked sent only after its notifier succeeded; failures are retried later
        with backoff and never lost. System and county officers.
        """
        self._require_county("deliver notices")
        channels = self.settings().get("channels") or _DEFAULT_CHANNELS
        notifiers = outbox.build_notifiers(self.plugins, channels)
        default = notifiers.get(outbox.DEFAULT_CHANNEL)

        def route(notice: Any, channel: str) -> Any:
            return (
                notifiers.get(notice.recipient)
                or notifiers.get(notice.kind)
                or notifiers.get(channel, default)
            )

        return outbox.deliver(self.store, route, now=now or datetime.now(UTC), **kwargs)

    def _enqueue(self, made: Iterable[Any]) -> int:
        with self.store.unit_of_work() as uow:
            n = outbox.enqueue_many(uow, made)
            uow.commit()
        return n

    def _queue_status(self, uow: UnitOfWork, child: Child, what: str, on: date) -> int:
        staff = self._all_staff()
        assignments = self._all_assignments()
        day = on if what == "served" else on - timedelta(days=1)
        recipients = {
            a.staff_id
            for a in assignments.on(child.id, day)
            if a.role in (Role.CLASS_TEACHER, Role.PROXY_PARENT)
        }
        enrolment = child.enrolment_on(day) or (child.enrolments[-1] if child.enrolments else None)
        school = self.schools().get(enrolment.school_id) if enrolment else None
        if school is not None and (head := self._head(school.id, staff)) is not None:
            recipients.add(head)
        if not recipients:
            return 0
        made = notice_builders.status_notices(
            child.id,
            change="served" if what == "served" else "left",
            on=on,
            recipients=sorted(recipients),
            class_label=self._class_label(child, day),
            school_label=school.name if school else "",
        )
        return outbox.enqueue_many(uow, made)

    @staticmethod
    def _head(school_id: str, staff: Mapping[str, Staff]) -> str | None:
        heads = sorted(
            s.id for s in staff.values() if s.school_id == school_id and s.title in HEAD_TITLES
        )
        return heads[0] if heads else None

    @staticmethod
    def _class_label(child: Child, d: date) -> str:
        enrolment = child.enrolment_on(d)
        if enrolment is None:
            return ""
        return f"{enrolment.grade_on(d)}年級{enrolment.class_name}"

    def _item(
        self, occurrence: Any, labels: Mapping[str, str], children: Mapping[str, Child], d: date
    ) -> notice_builders.DutyItem:
        child = children.get(occurrence.child_id)
        by = (occurrence.window.end or d) - timedelta(days=1)
        label = self._class_label(child, d) if child else ""
        return notice_builders.DutyItem(
            occurrence.child_id, labels.get(occurrence.kind, occurrence.kind), by, label
        )

    # ------------------------------------------------------------------ access internals

    def _require_county(self, what: str) -> None:
        if not self._actor.sees_county:
            raise AccessDeniedError(self._actor, what)

    def _require_head(self, what: str) -> None:
        if self._actor.kind is not ActorKind.SCHOOL_HEAD:
            raise AccessDeniedError(self._actor, what)

    def _deny_volunteer(self, what: str) -> None:
        if self._actor.kind is ActorKind.VOLUNTEER:
            raise AccessDeniedError(self._actor, what)

    def _ever_at_school(self, child: Child) -> bool:
        return any(e.school_id == self._actor.school_id for e in child.enrolments)

    def _scope(self, assignments: Assignments | None = None) -> Scope:
        if assignments is None:
            # Officials stand by their office; anyone else only by their own assignments.
            assignments = Assignments(()) if self._actor.is_official else self._own_assignments()
        return Scope(self._actor, self.schools(), assignments)

    def _own_assignments(self) -> Assignments:
        """The actor's own assignments, with those of the study groups they guide."""
        me = self._actor.id
        stored = [
            structure(d, Assignment) for _, d in self.store.scan(ASSIGNMENT, {"staff_id": me})
        ]
        groups = [
            structure(d, StudyGroup) for _, d in self.store.scan(GROUP, {"guide_staff_id": me})
        ]
        return Assignments([*stored, *(a for g in groups for a in g.assignments())])

    def _window(self, as_of: date | None, period: Interval | None = None) -> Interval:
        """The days a read is about: the period, the day, or the school year so far."""
        if period is not None:
            return period
        if as_of is not None:
            return Interval(as_of, as_of + timedelta(days=1))
        return default_period(self.today())

    def _visible(self, window: Interval) -> dict[str, tuple[Child, Standing]]:
        """Every child in the actor's scope over ``window`` with the actor's standing."""
        if self._actor.sees_county:
            everyone = frozenset({self._actor.kind})
            return {c.id: (c, everyone) for c in self._all_children()}
        scope = self._scope()
        children: Iterable[Child]
        if self._actor.is_official:
            children = self._all_children()
        else:  # a teacher, proxy parent or volunteer: only the children of their assignments
            ids = sorted({a.child_id for a in scope.assignments.all})
            docs = ((cid, self.store.get(CHILD, cid)) for cid in ids)
            children = [structure(d, Child) for _, d in docs if d is not None]
        out: dict[str, tuple[Child, Standing]] = {}
        for child in children:
            standing = scope.standing(child, window)
            if standing:
                out[child.id] = (child, standing)
        return out

    def _one(self, child_id: str, window: Interval) -> tuple[Child, Standing]:
        """The child and the actor's standing; out of scope is reported as not found."""
        doc = self.store.get(CHILD, child_id)
        if doc is None:
            raise NotFoundError(CHILD, child_id)
        child = structure(doc, Child)
        standing = self._scope().standing(child, window)
        if not standing:
            raise NotFoundError(CHILD, child_id)
        return child, standing

    def _file(self, child_id: str, window: Interval) -> tuple[Child, Standing]:
        child, standing = self._one(child_id, window)
        if not files_visible(standing):
            raise AccessDeniedError(self._actor, "read the file of", child_id)
        return child, standing

    def _family(self, child: Child) -> Family:
        staff = self._all_staff()
        day = self.today()
        pairings = sorted(
            (a.role.label, staff[a.staff_id].name if a.staff_id in staff else "")
            for a in self._all_assignments().on(child.id, day)
        )
        g = child.guardian
        return Family(
            child.id,
            child.name,
            child.father.name if child.father else "",
            child.mother.name if child.mother else "",
            g.name if g else "",
            g.relation if g else "",
            tuple(pairings),
        )

    def _staff_reachable(self, staff_id: str, staff: Mapping[str, Staff]) -> bool:
        if staff_id == self._actor.id and not self._actor.is_official:
            return True
        person = staff.get(staff_id)
        return person is not None and self._scope().school_in_scope(person.school_id)

    def _staff_in_reach(self, staff_id: str, what: str) -> None:
        staff = self._all_staff()
        if staff_id not in staff:
            raise NotFoundError(STAFF, staff_id)
        if not self._staff_reachable(staff_id, staff):
            raise AccessDeniedError(self._actor, what, staff_id)

    def _may_write_child(self, child: Child, day: date | None) -> bool:
        actor = self._actor
        if actor.sees_county:
            return True
        if actor.kind is ActorKind.SCHOOL_HEAD:
            return self._ever_at_school(child)
        if actor.kind in (ActorKind.TEACHER, ActorKind.PROXY_PARENT) and day is not None:
            return any(
                a.staff_id == actor.id and a.holds_on(day)
                for a in self._all_assignments().of_child(child.id)
            )
        return False

    def _check_refs(
        self,
        name: str,
        pairs: Iterable[tuple[str, str]],
        days: Iterable[date | None] | None = None,
    ) -> None:
        """Staff and children must exist; a child the actor may not write for is reported as
        ``unknown_child`` too, exactly like a missing one."""
        staff = self._all_staff()
        issues: list[Issue] = []
        day_list = list(days) if days is not None else None
        for i, (staff_id, child_id) in enumerate(pairs):
            if staff_id not in staff:
                issues.append(Issue(f"{name}[{i}]", "unknown_staff", "no such staff member"))
            doc = self.store.get(CHILD, child_id)
            day = day_list[i] if day_list is not None else None
            if doc is None or not self._may_write_child(structure(doc, Child), day):
                issues.append(Issue(f"{name}[{i}]", "unknown_child", "no such child"))
        if issues:
            raise ValidationError(issues, subject=name)

    def _check_assign(self, key: str, staff_id: str, child_id: str) -> None:
        actor = self._actor
        if actor.sees_county:
            return
        self._require_head("assign staff")
        person = self._all_staff().get(staff_id)
        doc = self.store.get(CHILD, child_id)
        if doc is None or not self._ever_at_school(structure(doc, Child)):
            raise NotFoundError(ASSIGNMENT, key)
        if person is None or person.school_id != actor.school_id:
            raise AccessDeniedError(actor, "assign staff of another school in", key)

    # ------------------------------------------------------------------ unscoped reads

    def _all_children(self) -> list[Child]:
        return [structure(doc, Child) for _, doc in self.store.scan(CHILD)]

    def _all_timelines(self, *, national: bool = False) -> dict[str, Timeline]:
        kind = NATIONAL if national else TIMELINE
        return {key: structure(doc, Timeline) for key, doc in self.store.scan(kind)}

    def _all_staff(self) -> dict[str, Staff]:
        return {key: structure(doc, Staff) for key, doc in self.store.scan(STAFF)}

    def _all_groups(self) -> dict[str, StudyGroup]:
        return {key: structure(doc, StudyGroup) for key, doc in self.store.scan(GROUP)}

    def _all_assignments(self) -> Assignments:
        stored = [structure(doc, Assignment) for _, doc in self.store.scan(ASSIGNMENT)]
        guides = [a for g in self._all_groups().values() for a in g.assignments()]
        return Assignments([*stored, *guides])

    def _all_records(self, *, child_id: str | None = None) -> Iterator[Record]:
        where = None if child_id is None else {"child_id": child_id}
        for _, doc in self.store.scan(RECORD, where):
            yield structure(doc, Record)

    def _book(
        self,
        period: Interval,
        visible: Mapping[str, tuple[Child, Standing]] | None,
        *,
        records: bool = True,
    ) -> DutyBook:
        """The duty book of every child (``visible=None``) or of the children given; without
        ``records``, a book that knows no record (for its calendar, kinds and assignments)."""
        timelines = self._all_timelines()
        assignments = self._all_assignments()
        records_: Iterable[Record] = self._all_records() if records else ()
        if visible is not None:
            timelines = {k: t for k, t in timelines.items() if k in visible}
            assignments = Assignments(a for a in assignments.all if a.child_id in visible)
            records_ = [r for r in records_ if r.child_id in visible]
        return DutyBook(
            self.calendar(period),
            self.duty_kinds(),
            timelines,
            assignments,
            records_,
            staff=self._all_staff().values(),
        )

    def _facts(
        self,
        period: Interval,
        visible: Mapping[str, tuple[Child, Standing]] | None,
        *,
        pushdown: bool = False,
    ) -> ledger.LedgerFacts:
        """Ledger facts of every child (``visible=None``) or of the children given, unmasked.

        With ``pushdown`` and a store that counts duties itself (:class:`LedgerPushdown`), the
        duty tallies come from the store, summed over owners (enough for the county and school
        tables, not for teacher tables), and no record is loaded.
        """
        store = self.store
        pushed = (
            store
            if pushdown
            and visible is None
            and LEDGER_PUSHDOWN in store.capabilities
            and isinstance(store, LedgerPushdown)
            else None
        )
        book = self._book(period, visible, records=pushed is None)
        duties: ledger.DutySource = book.tallies
        if pushed is not None:
            plan_of = functools.partial(duty_plan, book.calendar, tuple(book.kinds.values()))

            def duties(span: Interval, as_of: date) -> Sequence[ledger.DutyCount]:
                return pushed.duty_tallies(plan_of(span), as_of)

        policy = self.policy
        children = self._all_children() if visible is None else [c for c, _ in visible.values()]
        national = self._all_timelines(national=True)
        if visible is not None:
            national = {k: t for k, t in national.items() if k in visible}
        return ledger.LedgerFacts(
            schools=self.schools(),
            children=tuple(sorted(children, key=lambda c: c.id)),
            timelines=book.timelines,
            national=national,
            staff=self._all_staff(),
            assignments=book.assignments,
            duties=duties,
            county=str(self.settings().get("name", "")),
            policy=f"{policy.name}/{policy.version}",
            national_policy=f"{self._national.name}/{self._national.version}",
        )

    # ------------------------------------------------------------------ the audit log

    def _put(
        self,
        uow: UnitOfWork,
        kind: str,
        key: str,
        doc: Mapping[str, Any],
        *,
        before: Mapping[str, Any] | None = None,
    ) -> None:
        """Put a document and append its audit entry (field names only) in the same unit."""
        old = before if before is not None else uow.get(kind, key)
        new = dict(doc)
        uow.put(kind, key, new)
        stored = uow.get(kind, key) or {}
        changes = field_changes(dict(old) if old is not None else {}, stored)
        if old is not None and not changes:
            return
        op = "create" if old is None else "update"
        self._append_audit(uow, op, kind, key, {"changed": changes}, self._actor.reason)

    def _append_audit(
        self,
        uow: UnitOfWork,
        op: str,
        kind: str,
        key: str,
        fields: Mapping[str, Any],
        reason: str,
    ) -> None:
        at = self._now()
        audit_key = f"{_stamp(at)}-{next(self._audit_counter):06d}-{self._audit_token}"
        uow.put(
            AUDIT,
            audit_key,
            {
                "at": _stamp(at),
                "actor": self._actor.kind.value,
                "actor_id": self._actor.id,
                "op": op,
                "kind": kind,
                "record": key,
                "fields": dict(fields),
                "reason": reason,
            },
        )

    def _audit_now(
        self, op: str, kind: str, key: str, fields: Mapping[str, Any], reason: str
    ) -> None:
        with self.store.unit_of_work() as uow:
            self._append_audit(uow, op, kind, key, fields, reason)
            uow.commit()

    # ------------------------------------------------------------------ internals

    def _write_timelines(
        self, uow: UnitOfWork, child: Child, schools: Mapping[str, School], policy: Policy
    ) -> Timeline:
        timeline = policy.timeline(child, schools)
        uow.put(TIMELINE, child.id, unstructure(timeline))
        uow.put(NATIONAL, child.id, unstructure(self._national.timeline(child, schools)))
        return timeline

    def _get(self, kind: str, key: str, cls: type[T]) -> T:
        doc = self.store.get(kind, key)
        if doc is None:
            raise NotFoundError(kind, key)
        return structure(doc, cls)

    @staticmethod
    def _validate(
        items: Iterable[T | Mapping[str, Any]],
        cls: type[T],
        name: str,
        *,
        today: date | None = None,
    ) -> list[T]:
        """Structure and check every item, collecting every issue before raising once."""
        out: list[T] = []
        issues: list[Issue] = []
        seen: dict[str, int] = {}
        for i, item in enumerate(items):
            data = item if isinstance(item, Mapping) else unstructure(item)
            path = f"{name}[{i}]"
            try:
                value = structure(data, cls, today=today, path=path)
            except ValidationError as exc:
                issues.extend(exc.issues)
                continue
            key = str(getattr(value, "id", ""))
            if key in seen:
                issues.append(
                    Issue(f"{path}.id", "duplicate_id", f"same id as {name}[{seen[key]}]")
                )
            seen[key] = i
            out.append(value)
        if issues:
            raise ValidationError(issues, subject=name)
        return out


def default_store_path() -> Path:
    """Where :func:`open` puts the store when given no URL."""
    return Path(os.environ.get(STORE_ENV, DEFAULT_STORE))


_UNMASKABLE = {
    "resident_id": Field.RESIDENT_ID,
    "health": Field.HEALTH,
    "health_note": Field.HEALTH,
    "father.phone": Field.PHONES,
    "mother.phone": Field.PHONES,
    "guardian.phone": Field.PHONES,
}


def _stamp(at: datetime) -> str:
    """An audit timestamp: UTC, to the microsecond, so that keys sort by time."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _left_on(child: Child, timeline: Timeline | None) -> date | None:
    """The day a child left the action: no enrolment and no category from then on; ``None``
    while either is still open (or the child has no enrolment at all)."""
    if not child.enrolments or any(e.end is None for e in child.enrolments):
        return None
    last = max(e.end for e in child.enrolments if e.end is not None)
    if timeline is not None:
        for span in timeline.spans:
            if span.end is None:
                return None
            last = max(last, span.end)
    return last


def _township_rows(table: ledger.CountyTable, township: str) -> ledger.CountyTable:
    """The rows of one township; the county and grand totals become the township's."""
    sub = next((k for k in table.rows if len(k) == 2 and k[1] == township), None)
    if sub is None:
        return ledger.CountyTable(table.stamp, {}, {}).check()
    rows = {k: v for k, v in table.rows.items() if len(k) >= 2 and k[1] == township}
    rows[sub[:1]] = dict(table.rows[sub])
    rows[()] = dict(table.rows[sub])
    names = {k: v for k, v in table.names.items() if k in rows}
    return ledger.CountyTable(table.stamp, rows, names).check()


def _masked_table(
    table: ledger.TeacherTable, visible: Mapping[str, tuple[Child, Standing]]
) -> ledger.TeacherTable:
    """Only the rows of children in scope, each masked by the actor's standing towards them."""
    rows = []
    for row in table.rows:
        if row.child_id not in visible:
            continue
        standing = visible[row.child_id][1]
        if row.resident_id and not may_see(Field.RESIDENT_ID, standing):
            row = attrs.evolve(row, resident_id=mask_resident_id(row.resident_id))
        if not may_see(Field.PHONES, standing):
            g = row.guardian
            if g is not None and g.phone:
                g = attrs.evolve(g, phone=mask_phone(g.phone))
            row = attrs.evolve(
                row,
                guardian=g,
                father=attrs.evolve(row.father, phone=mask_phone(row.father.phone))
                if row.father.phone
                else row.father,
                mother=attrs.evolve(row.mother, phone=mask_phone(row.mother.phone))
                if row.mother.phone
                else row.mother,
            )
        rows.append(row)
    return attrs.evolve(table, rows=tuple(rows))
