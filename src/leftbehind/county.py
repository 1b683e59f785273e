"""The county handle: what a county app or a script calls.

``leftbehind.open(url)`` returns a :class:`County` over a store. Commands add and change schools,
children's facts, staff, assignments and records; each command is one unit of work, validated as
a whole before anything is written. Queries give a child's decision and timeline, due lists and
digests, coverage, and the three ledgers as of any date.

Timelines are derived data: recomputed whenever a child's facts change and stored with the
policy's name and version, so reading a decision never re-derives it, and changing the county's
policy recomputes them all.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

from leftbehind import digest as notice_builders
from leftbehind import outbox
from leftbehind.calendars import CalendarFallbackWarning
from leftbehind.convert import structure, unstructure
from leftbehind.domain import ledger
from leftbehind.domain.calendar import SchoolCalendar, Semester
from leftbehind.domain.dates import Interval, school_year_of
from leftbehind.domain.duties import Compliance, Digest, DutyBook, DutyKind, Record, check_record
from leftbehind.domain.eligibility import Decision, Policy, Timeline
from leftbehind.domain.errors import Issue, LeftbehindError, ValidationError
from leftbehind.domain.model import Child, School
from leftbehind.domain.people import Assignment, Assignments, Role, Staff, StudyGroup, coverage
from leftbehind.domain.phases import ledger_deadline
from leftbehind.domain.profile import profile_completeness
from leftbehind.errors import UnknownNameError
from leftbehind.plugins import Plugins
from leftbehind.store import Store, UnitOfWork

__all__ = ["DEFAULT_STORE", "STORE_ENV", "County", "NotFoundError", "open"]

#: The store used when no URL is given and ``$LEFTBEHIND_STORE`` is unset.
DEFAULT_STORE = "leftbehind.json"
#: Environment variable naming the default store URL.
STORE_ENV = "LEFTBEHIND_STORE"

T = TypeVar("T")

# Document kinds this handle writes.
SETTINGS, SCHOOL, CHILD, TIMELINE, NATIONAL = "settings", "school", "child", "timeline", "national"
STAFF, ASSIGNMENT, GROUP, RECORD = "staff", "assignment", "group", "record"
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


def open(
    url: str | os.PathLike[str] | None = None,
    *,
    plugins: Plugins | None = None,
    today: Callable[[], date] = date.today,
) -> County:
    """Open the county store at ``url`` (default ``$LEFTBEHIND_STORE`` or ``./leftbehind.json``).

    ``url`` is a path (the embedded TinyDB store) or a URL whose scheme names a backend:
    ``memory://``, ``tinydb:///path``, ``sqlite:///path``, ``postgresql://…``. ``today`` is the
    clock used to reject future-dated facts; tests and simulations pass their own.
    """
    plugins = plugins or Plugins.load()
    target = os.fspath(url) if url is not None else os.environ.get(STORE_ENV, DEFAULT_STORE)
    return County(plugins.open_store(target), plugins=plugins, today=today, url=target)


class County:
    """A county's care action over one store. Use it as a context manager, or call :meth:`close`."""

    def __init__(
        self,
        store: Store,
        *,
        plugins: Plugins,
        today: Callable[[], date] = date.today,
        url: str = "",
    ) -> None:
        self.store = store
        self.plugins = plugins
        self.url = url
        self._today = today
        self._national: Policy = plugins.policy("national-2016")

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

    # ------------------------------------------------------------------ settings and policy

    def settings(self) -> dict[str, Any]:
        """The county's settings document (policy name, county name)."""
        return self.store.get(SETTINGS, _SETTINGS_KEY) or {"policy": "guangping-plan"}

    @property
    def policy(self) -> Policy:
        """The eligibility policy in force (by default the plan's rule, ``guangping-plan``)."""
        return self.plugins.policy(str(self.settings()["policy"]))

    def set_policy(self, name: str) -> int:
        """Adopt the policy ``name`` and recompute every child's timeline in one unit of work.

        Returns the number of timelines recomputed.
        """
        policy = self.plugins.policy(name)
        schools = self.schools()
        with self.store.unit_of_work() as uow:
            settings = {**self.settings(), "policy": policy.name}
            uow.put(SETTINGS, _SETTINGS_KEY, settings)
            n = 0
            for child in self.children():
                self._write_timelines(uow, child, schools, policy)
                n += 1
            uow.commit()
        return n

    # ------------------------------------------------------------------ schools

    def put_schools(self, schools: Iterable[School | Mapping[str, Any]]) -> list[School]:
        """Add or replace schools; all are validated first and written in one unit of work."""
        checked = self._validate(schools, School, "schools")
        with self.store.unit_of_work() as uow:
            uow.put_many(SCHOOL, [(s.id, unstructure(s)) for s in checked])
            uow.commit()
        return checked

    def school(self, school_id: str) -> School:
        return self._get(SCHOOL, school_id, School)

    def schools(self) -> dict[str, School]:
        """Every school by id."""
        return {key: structure(doc, School) for key, doc in self.store.scan(SCHOOL)}

    # ------------------------------------------------------------------ children

    def put_children(self, children: Iterable[Child | Mapping[str, Any]]) -> list[Child]:
        """Add or replace children's files and recompute their timelines, all in one unit of work.

        Every child is validated before anything is written (future dates by :meth:`today`); one
        :class:`~leftbehind.errors.ValidationError` lists every problem of every child with its
        path (``children[3].father.phone``), and then nothing is written. A child must be enrolled
        in schools the county knows.
        """
        checked = self._validate(children, Child, "children", today=self.today())
        schools = self.schools()
        issues = [
            Issue(f"children[{i}].enrolments[{j}].school_id", "unknown_school", "no such school")
            for i, child in enumerate(checked)
            for j, e in enumerate(child.enrolments)
            if e.school_id not in schools
        ]
        if issues:
            raise ValidationError(issues, subject="children")
        policy = self.policy
        today = self.today()
        with self.store.unit_of_work() as uow:
            for child in checked:
                before = uow.get(TIMELINE, child.id)
                was = bool(before) and bool(structure(before, Timeline).categories_on(today))
                uow.put(CHILD, child.id, unstructure(child))
                now = self._write_timelines(uow, child, schools, policy)
                if bool(now.categories_on(today)) != was:
                    self._queue_status(uow, child, "left" if was else "served", today)
            uow.commit()
        return checked

    def put_child(self, child: Child | Mapping[str, Any]) -> Child:
        """Add or replace one child's file (see :meth:`put_children`)."""
        return self.put_children([child])[0]

    def child(self, child_id: str) -> Child:
        """The child's file; :class:`NotFoundError` if there is none."""
        return self._get(CHILD, child_id, Child)

    def children(self) -> Iterator[Child]:
        """Every child's file, in no particular order."""
        for _, doc in self.store.scan(CHILD):
            yield structure(doc, Child)

    def timeline(self, child_id: str, *, national: bool = False) -> Timeline:
        """The child's stored timeline under the county's policy (or the national rule)."""
        return self._get(NATIONAL if national else TIMELINE, child_id, Timeline)

    def timelines(self, *, national: bool = False) -> dict[str, Timeline]:
        """Every stored timeline by child id."""
        kind = NATIONAL if national else TIMELINE
        return {key: structure(doc, Timeline) for key, doc in self.store.scan(kind)}

    def decision(self, child_id: str, as_of: date | None = None) -> Decision:
        """Who the child is on ``as_of`` (default today): categories, reasons, policy, version."""
        return self.timeline(child_id).decision(as_of or self.today())

    # ------------------------------------------------------------------ people

    def put_staff(self, staff: Iterable[Staff | Mapping[str, Any]]) -> list[Staff]:
        """Add or replace staff (teachers, heads, volunteers), validated, in one unit of work."""
        checked = self._validate(staff, Staff, "staff")
        schools = self.schools()
        issues = [
            Issue(f"staff[{i}].school_id", "unknown_school", "no such school")
            for i, person in enumerate(checked)
            if person.school_id not in schools
        ]
        if issues:
            raise ValidationError(issues, subject="staff")
        with self.store.unit_of_work() as uow:
            uow.put_many(STAFF, [(p.id, unstructure(p)) for p in checked])
            uow.commit()
        return checked

    def staff(self) -> dict[str, Staff]:
        """Every staff member by id."""
        return {key: structure(doc, Staff) for key, doc in self.store.scan(STAFF)}

    def put_assignments(
        self, assignments: Iterable[Assignment | Mapping[str, Any]]
    ) -> list[Assignment]:
        """Add or replace dated assignments (班主任, 代管家長, 一對一幫扶 …) in one unit of work.

        The staff member and the child must exist; nothing is written if any assignment is bad.
        """
        checked = self._validate(assignments, Assignment, "assignments")
        self._check_refs("assignments", [(a.staff_id, a.child_id) for a in checked], self.staff())
        with self.store.unit_of_work() as uow:
            uow.put_many(ASSIGNMENT, [(a.id, unstructure(a)) for a in checked])
            uow.commit()
        return checked

    def end_assignment(self, assignment_id: str, on: date) -> Assignment:
        """End an assignment on ``on`` (the first day it no longer holds)."""
        with self.store.unit_of_work() as uow:
            doc = uow.get(ASSIGNMENT, assignment_id)
            if doc is None:
                raise NotFoundError(ASSIGNMENT, assignment_id)
            current = structure(doc, Assignment)
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
            uow.put(ASSIGNMENT, ended.id, unstructure(ended))
            uow.commit()
        return ended

    def put_groups(self, groups: Iterable[StudyGroup | Mapping[str, Any]]) -> list[StudyGroup]:
        """Add or replace village study groups (校外學習小組) with their guide teachers."""
        checked = self._validate(groups, StudyGroup, "groups")
        pairs = [(g.guide_staff_id, cid) for g in checked for cid in g.child_ids]
        self._check_refs("groups", pairs, self.staff())
        with self.store.unit_of_work() as uow:
            uow.put_many(GROUP, [(g.id, unstructure(g)) for g in checked])
            uow.commit()
        return checked

    def groups(self) -> dict[str, StudyGroup]:
        return {key: structure(doc, StudyGroup) for key, doc in self.store.scan(GROUP)}

    def assignments(self) -> Assignments:
        """Every assignment, the study groups' guides included, indexed by child and staff."""
        stored = [structure(doc, Assignment) for _, doc in self.store.scan(ASSIGNMENT)]
        guides = [a for g in self.groups().values() for a in g.assignments()]
        return Assignments([*stored, *guides])

    def coverage(self, as_of: date | None = None) -> dict[str, frozenset[Role]]:
        """For each child served on ``as_of``, the required roles nobody holds (雙管理 gaps)."""
        day = as_of or self.today()
        served = [cid for cid, t in self.timelines().items() if t.categories_on(day)]
        return dict(coverage(served, self.assignments(), day))

    # ------------------------------------------------------------------ records

    def add_records(self, records: Iterable[Record | Mapping[str, Any]]) -> list[Record]:
        """Record duties done (談心, 家訪 …), validated as a whole, in one unit of work.

        Future-dated records, unknown duty kinds, children or staff, and duplicate ids are
        rejected with every problem listed; nothing is written then.
        """
        today = self.today()
        checked = self._validate(records, Record, "records", today=today)
        kinds = self.duty_kinds()
        issues: list[Issue] = []
        for i, record in enumerate(checked):
            for issue in check_record(record, today=today, kinds=kinds):
                issues.append(Issue(f"records[{i}].{issue.path}", issue.code, issue.message))
        staff = self.staff()
        try:
            self._check_refs("records", [(r.staff_id, r.child_id) for r in checked], staff)
        except ValidationError as exc:
            issues.extend(exc.issues)
        if issues:
            raise ValidationError(issues, subject="records")
        with self.store.unit_of_work() as uow:
            uow.put_many(RECORD, [(r.id, unstructure(r)) for r in checked])
            uow.commit()
        return checked

    def records(self, *, child_id: str | None = None) -> Iterator[Record]:
        """Duty records, of one child or of everyone."""
        where = None if child_id is None else {"child_id": child_id}
        for _, doc in self.store.scan(RECORD, where):
            yield structure(doc, Record)

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
        """The duty book (calendar, kinds, timelines, assignments, records) for ``period``."""
        return DutyBook(
            self.calendar(period),
            self.duty_kinds(),
            self.timelines(),
            self.assignments(),
            self.records(),
            staff=self.staff().values(),
        )

    def compliance(self, as_of: date | None = None, period: Interval | None = None) -> Compliance:
        """Due / done / overdue per kind, owner and school for ``period`` as of ``as_of``."""
        day = as_of or self.today()
        span = period or default_period(day)
        return self.duty_book(span).compliance(span, day)

    def digest(
        self, staff_id: str, week_of: date | None = None, as_of: date | None = None
    ) -> Digest:
        """What ``staff_id`` owes this week and what is overdue (one digest per person)."""
        day = as_of or self.today()
        week = week_of or day
        if staff_id not in self.staff():
            raise NotFoundError(STAFF, staff_id)
        return self.duty_book(default_period(day)).digest(staff_id, week, day)

    # ------------------------------------------------------------------ ledgers

    def ledger_facts(self, period: Interval) -> ledger.LedgerFacts:
        """Everything the three ledgers are built from, for ``period``."""
        book = self.duty_book(period)
        policy = self.policy
        return ledger.LedgerFacts(
            schools=self.schools(),
            children=tuple(sorted(self.children(), key=lambda c: c.id)),
            timelines=book.timelines,
            national=self.timelines(national=True),
            staff=self.staff(),
            assignments=book.assignments,
            duties=book.tallies,
            county=str(self.settings().get("name", "")),
            policy=f"{policy.name}/{policy.version}",
            national_policy=f"{self._national.name}/{self._national.version}",
        )

    def county_table(
        self, as_of: date | None = None, period: Interval | None = None
    ) -> ledger.CountyTable:
        """信息匯總表 as of ``as_of`` (default today) for ``period`` (default the school year)."""
        day = as_of or self.today()
        span = period or default_period(day)
        return ledger.county_table(self.ledger_facts(span), as_of=day, period=span)

    def school_table(
        self, school_id: str, as_of: date | None = None, period: Interval | None = None
    ) -> ledger.SchoolTable:
        """動態狀況表 of one school."""
        day = as_of or self.today()
        span = period or default_period(day)
        if school_id not in self.schools():
            raise NotFoundError(SCHOOL, school_id)
        return ledger.school_table(self.ledger_facts(span), school_id, as_of=day, period=span)

    def teacher_table(
        self, staff_id: str, as_of: date | None = None, period: Interval | None = None
    ) -> ledger.TeacherTable:
        """聯絡信息表 of one teacher or proxy parent."""
        day = as_of or self.today()
        span = period or default_period(day)
        if staff_id not in self.staff():
            raise NotFoundError(STAFF, staff_id)
        return ledger.teacher_table(self.ledger_facts(span), staff_id, as_of=day, period=span)

    def diff(self, before: date, after: date) -> ledger.LedgerDiff:
        """Who entered and left the served children between two days, and why."""
        return ledger.diff(self.ledger_facts(default_period(after)), before, after)

    def commendations(
        self, as_of: date | None = None, period: Interval | None = None
    ) -> tuple[tuple[ledger.Standing, ...], tuple[ledger.Standing, ...]]:
        """Schools and staff ranked by measured completion (表彰先進), with a minimum volume."""
        day = as_of or self.today()
        span = period or default_period(day)
        facts = self.ledger_facts(span)
        table = ledger.county_table(facts, as_of=day, period=span)
        return ledger.rank_schools(table), ledger.rank_staff(facts, as_of=day, period=span)

    # ------------------------------------------------------------------ notices

    def set_channels(self, channels: Mapping[str, Mapping[str, str]]) -> None:
        """Configure notification channels: ``{"default": {"type": "wecom", "url": …}}``.

        Every notice goes to the ``default`` channel unless a channel is named for its recipient
        (a staff id) or its kind. Unknown notifier types raise, listing the registered ones.
        """
        outbox.build_notifiers(self.plugins, channels)
        with self.store.unit_of_work() as uow:
            settings = {**self.settings(), "channels": {k: dict(v) for k, v in channels.items()}}
            uow.put(SETTINGS, _SETTINGS_KEY, settings)
            uow.commit()

    def queue_week(self, week_of: date | None = None, as_of: date | None = None) -> int:
        """Queue this week's notices: one digest per person, overdue duties to their owners and
        a summary to each school head. Returns how many new notices were queued (running it
        twice in a week queues nothing more)."""
        day = as_of or self.today()
        week = week_of or day
        book = self.duty_book(default_period(day))
        staff = self.staff()
        children = {c.id: c for c in self.children()}
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
        still miss some of the five clears (五清晰)."""
        deadline = ledger_deadline(year or self.today().year)
        assignments = self.assignments()
        timelines = self.timelines()
        gaps: dict[str, list[notice_builders.FileGap]] = {}
        for child in self.children():
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
        by the passing of time (a parent away three months, a return home)."""
        end = (until or self.today()) + timedelta(days=1)
        changed: list[tuple[Child, str, date]] = []
        children = {c.id: c for c in self.children()}
        for child_id, timeline in self.timelines().items():
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
        """The notices waiting, sent and parked as failed."""
        return {
            "pending": outbox.pending(self.store),
            "sent": outbox.sent(self.store),
            "failed": outbox.failed(self.store),
        }

    def deliver(self, now: datetime | None = None, **kwargs: Any) -> outbox.DeliveryReport:
        """Send the queued notices through the configured channels (see :meth:`set_channels`).

        A notice is marked sent only after its notifier succeeded; failures are retried later
        with backoff and never lost.
        """
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
        staff = self.staff()
        assignments = self.assignments()
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

    def _check_refs(
        self, name: str, pairs: Iterable[tuple[str, str]], staff: Mapping[str, Staff]
    ) -> None:
        issues: list[Issue] = []
        for i, (staff_id, child_id) in enumerate(pairs):
            if staff_id not in staff:
                issues.append(Issue(f"{name}[{i}]", "unknown_staff", "no such staff member"))
            if self.store.get(CHILD, child_id) is None:
                issues.append(Issue(f"{name}[{i}]", "unknown_child", "no such child"))
        if issues:
            raise ValidationError(issues, subject=name)

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
