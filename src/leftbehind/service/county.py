"""The county handle: a thin façade over the rooms of the service.

``leftbehind.open(url, actor=...)`` returns a :class:`County` over a store, for one
:class:`~leftbehind.access.Actor`. Each method delegates to one room (commands, reads, ledgers,
exports, imports, notices, retention); every room asks the gate
(:mod:`leftbehind.service.gate`) and reads and writes through the repository
(:mod:`leftbehind.service.repository`). See ``docs/architecture.md``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, date, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self

from leftbehind import outbox
from leftbehind.access import Actor, AuditEntry, Family
from leftbehind.domain import ledger
from leftbehind.domain.calendar import SchoolCalendar, Semester
from leftbehind.domain.dates import Interval
from leftbehind.domain.duties import Compliance, Digest, DutyBook, DutyKind, Record
from leftbehind.domain.eligibility import Decision, Policy, Timeline
from leftbehind.domain.followups import Agency, FollowUp, FollowUpRules, FollowUpStatus, Need
from leftbehind.domain.i18n import check_language
from leftbehind.domain.model import Child, School
from leftbehind.domain.people import Assignment, Assignments, Role, Staff, StudyGroup
from leftbehind.domain.quality import QualityReport
from leftbehind.domain.signoff import Period, SignOff
from leftbehind.io.roster_import import ImportReport
from leftbehind.io.roster_limits import DEFAULT_LIMITS, ImportLimits
from leftbehind.io.roster_read import Progress
from leftbehind.io.roster_write import Format
from leftbehind.io.sheet_import import FilesReport
from leftbehind.plugins import Plugins
from leftbehind.service import commands, exports, imports, ledgers, notices, reads, retention
from leftbehind.service import followups as follow_up_room
from leftbehind.service import quality as quality_room
from leftbehind.service import signoff as signoff_room
from leftbehind.service.context import Context
from leftbehind.service.repository import Repository
from leftbehind.store import Store

__all__ = ["DEFAULT_STORE", "STORE_ENV", "County", "default_store_path", "open"]

#: The store used when no URL is given and ``$LEFTBEHIND_STORE`` is unset.
DEFAULT_STORE = "leftbehind.db"
#: Environment variable naming the default store URL.
STORE_ENV = "LEFTBEHIND_STORE"


def _utc_now() -> datetime:
    return datetime.now(UTC)


def default_store_path() -> Path:
    """Where :func:`open` puts the store when given no URL."""
    return Path(os.environ.get(STORE_ENV, DEFAULT_STORE))


def open(
    url: str | os.PathLike[str] | None = None,
    *,
    actor: Actor,
    plugins: Plugins | None = None,
    today: Callable[[], date] = date.today,
    now: Callable[[], datetime] = _utc_now,
    create: bool | None = None,
    exports_in: str | os.PathLike[str] | None = None,
    language: str | None = None,
) -> County:
    """Open the county store at ``url`` (default ``$LEFTBEHIND_STORE`` or ``./leftbehind.db``)
    for ``actor``.

    ``url`` is a path or a URL whose scheme names a backend. A path ending ``.db`` or
    ``.sqlite`` is the embedded default, SQLite (WAL, ``synchronous=FULL``); one ending
    ``.json`` is a TinyDB file, human-readable, for a school or a script (see its limits in
    ``docs/choosing-backend.md``). URLs: ``memory://``, ``tinydb:///path``, ``sqlite:///path``,
    ``postgresql://…``. ``actor`` is who
    reads and writes through the handle (:class:`~leftbehind.access.Actor`); it has no default,
    so a script states ``actor=Actor.system("nightly digests")`` on purpose. ``today`` is the
    clock used to reject future-dated facts and to judge who may see what; ``now`` stamps the
    audit log. Tests and simulations pass their own.

    ``create`` says whether a store may be made (see
    :meth:`~leftbehind.plugins.Plugins.open_store`): by default (``None``) a store that does
    not exist is created and an existing file must be a store; ``False`` never creates one,
    so a mistyped path raises :class:`~leftbehind.errors.StoreNotFoundError` (what a command
    that only reads passes); ``True`` also makes an existing empty (0-byte) file a new store.
    A file that is not a store, or is damaged, raises
    :class:`~leftbehind.errors.CorruptStoreError` whatever ``create`` says, and is left as it
    was.

    ``exports_in``, when given, is the folder every export must be written in (after ``..`` and
    links are resolved; :func:`~leftbehind.io.paths.safe_export_path`): what an app that takes
    export paths from its users passes, so that no path leads elsewhere.

    ``language`` (``zh_CN``, ``zh_TW`` or ``en``) is what the handle writes for people in —
    forms, templates, notices — instead of ``$LEFTBEHIND_LANG`` or the county's own
    (:meth:`County.set_language`; Simplified Chinese by default).
    """
    plugins = plugins or Plugins.load()
    target = os.fspath(url) if url is not None else os.environ.get(STORE_ENV, DEFAULT_STORE)
    store = plugins.open_store(target, create=create)
    return County(
        store,
        actor=actor,
        plugins=plugins,
        today=today,
        now=now,
        url=target,
        exports_in=exports_in,
        language=None if language is None else check_language(language),
    )


class County:
    """A county's care action over one store, for one actor. Use it as a context manager, or
    call :meth:`close`.

    Every method goes through the gate: a child out of the actor's reach is reported exactly
    like a missing one (:class:`~leftbehind.errors.NotFoundError`), the fields the actor's
    standing does not allow are masked, and who may see is judged on the handle's today
    (:meth:`today`), never on a date passed to a method.
    """

    def __init__(
        self,
        store: Store,
        *,
        actor: Actor,
        plugins: Plugins,
        today: Callable[[], date] = date.today,
        now: Callable[[], datetime] = _utc_now,
        url: str = "",
        exports_in: str | os.PathLike[str] | None = None,
        language: str | None = None,
    ) -> None:
        self._store = store
        self._ctx = Context(
            Repository(store, actor=actor, now=now),
            plugins,
            actor,
            today,
            url,
            plugins.policy("national-2016"),
            None if exports_in is None else os.fspath(exports_in),
            language,
        )

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
        self._store.close()

    def today(self) -> date:
        """Today, by the handle's clock."""
        return self._ctx.today()

    @property
    def actor(self) -> Actor:
        """Who uses this handle (:class:`~leftbehind.access.Actor`)."""
        return self._ctx.actor

    @property
    def url(self) -> str:
        """The store's URL or path as given to :func:`open`."""
        return self._ctx.url

    @property
    def plugins(self) -> Plugins:
        """The plugins this handle was opened with."""
        return self._ctx.plugins

    @property
    def store(self) -> Store:
        """The raw store, for a **system** actor only (scripts that copy, check or repair a
        store). It bypasses the gate, masking and the audit log; every other actor gets
        :class:`~leftbehind.access.AccessDeniedError`."""
        _, gate = self._ctx.begin()
        gate.require("store.raw", "reach the raw store")
        return self._store

    @property
    def capabilities(self) -> frozenset[str]:
        """What the store advertises (``durable``, ``ledger-pushdown`` …)."""
        return self._store.capabilities

    # ------------------------------------------------------------------ settings and policy

    def settings(self) -> dict[str, Any]:
        """The county's settings (policy name, county name, calendar); channels are shown to
        system and county officers only."""
        snap, gate = self._ctx.begin()
        found = snap.settings()
        if not gate.allows("notices.manage"):
            found.pop("channels", None)
        return found

    @property
    def policy(self) -> Policy:
        """The eligibility policy in force (by default the plan's rule, ``guangping-plan``)."""
        snap, _ = self._ctx.begin()
        return self._ctx.policy(snap)

    def set_county(self, name: str, code: str) -> None:
        """Name the county (``广平县``) and give its 6-digit administrative code (``130432``,
        行政区划代码): every table, export and summary sent upward carries them. System and
        county officers; audited."""
        commands.set_county(self._ctx, name, code)

    @property
    def language(self) -> str:
        """The language the handle writes for people in (``zh_CN`` by default): the one it
        was opened with, else ``$LEFTBEHIND_LANG``, else the county's (:meth:`set_language`).
        Labels read off values (``Category.ORPHAN.label``) follow the language of the moment:
        ``with leftbehind.use(county.language): ...``."""
        return self._ctx.language()

    def set_language(self, language: str) -> str:
        """Choose the county's language (``zh_CN``, ``zh_TW`` or ``en``) for its forms,
        templates and notices; returns it as stored. System and county officers; audited."""
        return commands.set_language(self._ctx, language)

    def set_policy(self, name: str) -> int:
        """Adopt the policy ``name`` and recompute every child's timeline in one unit of work
        (system and county officers). Returns the number of timelines recomputed."""
        return commands.set_policy(self._ctx, name)

    # ------------------------------------------------------------------ schools and children

    def put_schools(self, schools: Iterable[School | Mapping[str, Any]]) -> list[School]:
        """Add or replace schools (system and county officers); all are validated first and
        written in one unit of work."""
        return commands.put_schools(self._ctx, schools)

    def school(self, school_id: str) -> School:
        """One school (schools are public)."""
        return reads.school(self._ctx, school_id)

    def schools(self) -> dict[str, School]:
        """Every school by id (schools are public: every actor sees the list)."""
        return reads.schools(self._ctx)

    def put_children(self, children: Iterable[Child | Mapping[str, Any]]) -> list[Child]:
        """Add or replace children's files and recompute their timelines, all in one unit of work.

        Every child is validated before anything is written (future dates by :meth:`today`); one
        :class:`~leftbehind.errors.ValidationError` lists every problem of every child with its
        path (``children[3].father.phone``), and then nothing is written. A child must be
        enrolled in schools the county knows; a resident ID belongs to one child only (checked
        inside the unit of work, so two imports at once cannot both store it). A key that looks
        like an ID number or a phone is refused (``personal_key``). System and county officers
        write any child; a school head only children enrolled in their school, whose stored
        file (if any) is of their school.
        """
        return commands.put_children(self._ctx, children)

    def put_child(self, child: Child | Mapping[str, Any]) -> Child:
        """Add or replace one child's file (see :meth:`put_children`)."""
        return commands.put_children(self._ctx, [child])[0]

    def child(self, child_id: str, *, masked: bool = False) -> Child:
        """The child's file as the actor may see it: fields the actor's standing does not allow
        are masked (ID numbers without the birth digits, phones ``138****1234``, health left
        out); ``masked=True`` masks them for anyone (show it so, and :meth:`unmask` on demand).
        :class:`~leftbehind.errors.NotFoundError` if there is none or the child is out of the
        actor's reach today; a volunteer's standing gets
        :class:`~leftbehind.access.AccessDeniedError` (see :meth:`family`)."""
        return reads.child(self._ctx, child_id, masked)

    def children(self, *, masked: bool = False) -> Iterator[Child]:
        """Every child's file the actor may read today, masked as in :meth:`child`; in no
        particular order."""
        return reads.children(self._ctx, masked)

    def find(self, *, name: str | None = None, resident_id: str | None = None) -> list[Child]:
        """The children whose file the actor may read with this name and/or this resident ID
        number (身份证号), by child id, masked as in :meth:`child`: an empty list when none is
        in the actor's reach today (a child elsewhere is not found, like a missing one).

        Names are compared whole, spaces and full-width forms aside (``王 芳`` finds ``王芳``);
        an ID number in either case of ``X``. Terms that are missing or malformed raise
        :class:`~leftbehind.errors.ValidationError` naming the field, never its value; a
        volunteer (who reads no file) gets :class:`~leftbehind.access.AccessDeniedError`.
        Every lookup is written to the audit log (``find``; ``find_denied`` when refused or
        malformed) with which
        terms were given and how many children were found, never the terms themselves."""
        return reads.find(self._ctx, name, resident_id)

    def family(self, child_id: str) -> Family:
        """Names and pairing of a child's family (what a volunteer sees of them)."""
        return reads.family(self._ctx, child_id)

    def families(self) -> list[Family]:
        """:meth:`family` of every child in the actor's reach, by child id."""
        return reads.families(self._ctx)

    def unmask(self, child_id: str, field: str, *, reason: str) -> str:
        """The clear value of one masked field of a child's file, when the actor's standing
        allows it: ``resident_id``, ``health``, ``health_note``, ``father.phone``,
        ``mother.phone`` or ``guardian.phone``. An explicit act: every attempt is written to
        the audit log with ``reason`` (which must carry no personal data), refusals and
        children out of reach included."""
        return reads.unmask(self._ctx, child_id, field, reason)

    def timeline(self, child_id: str, *, national: bool = False) -> Timeline:
        """The child's stored timeline under the county's policy (or the national rule)."""
        return reads.timeline(self._ctx, child_id, national)

    def timelines(self, *, national: bool = False) -> dict[str, Timeline]:
        """The stored timeline of every child whose file the actor may read, by child id."""
        return reads.timelines(self._ctx, national)

    def decision(self, child_id: str, as_of: date | None = None) -> Decision:
        """Who the child is on ``as_of`` (default today): categories, reasons, policy, version."""
        return reads.decision(self._ctx, child_id, as_of)

    # ------------------------------------------------------------------ people

    def put_staff(self, staff: Iterable[Staff | Mapping[str, Any]]) -> list[Staff]:
        """Add or replace staff (teachers, heads, volunteers), validated, in one unit of work
        (system and county officers; a school head for their own school's staff)."""
        return commands.put_staff(self._ctx, staff)

    def staff(self) -> dict[str, Staff]:
        """Every staff member by id (the staff directory is readable by every actor)."""
        snap, _ = self._ctx.begin()
        return dict(snap.staff())

    def put_assignments(
        self, assignments: Iterable[Assignment | Mapping[str, Any]]
    ) -> list[Assignment]:
        """Add or replace dated assignments (班主任, 代管家长, 一对一帮扶 …) in one unit of work.

        The staff member and the child must exist; nothing is written if any assignment is bad.
        System and county officers assign anyone; a school head assigns their school's staff to
        their school's children, and replaces only assignments of their school.
        """
        return commands.put_assignments(self._ctx, assignments)

    def end_assignment(self, assignment_id: str, on: date) -> Assignment:
        """End an assignment on ``on`` (the first day it no longer holds)."""
        return commands.end_assignment(self._ctx, assignment_id, on)

    def put_groups(self, groups: Iterable[StudyGroup | Mapping[str, Any]]) -> list[StudyGroup]:
        """Add or replace village study groups (校外学习小组) with their guide teachers."""
        return commands.put_groups(self._ctx, groups)

    def groups(self) -> dict[str, StudyGroup]:
        """The study groups, each with only the children whose file the actor may read (groups
        with none left out, unless the group is of a school the actor's office covers)."""
        return reads.groups(self._ctx)

    def assignments(self) -> Assignments:
        """Every assignment to a child whose file the actor may read, the study groups' guides
        included, indexed by child and staff."""
        return reads.assignments(self._ctx)

    def coverage(self, as_of: date | None = None) -> dict[str, frozenset[Role]]:
        """For each child in reach served on ``as_of``, the required roles nobody holds (双管理
        gaps)."""
        return reads.coverage_gaps(self._ctx, as_of)

    # ------------------------------------------------------------------ records

    def add_records(self, records: Iterable[Record | Mapping[str, Any]]) -> list[Record]:
        """Record duties done (谈心, 家访 …), validated as a whole, in one unit of work.

        Future-dated records, unknown duty kinds, children or staff, and duplicate ids are
        rejected with every problem listed; nothing is written then. A teacher or proxy parent
        records their own duties towards the children they hold an assignment to, on the day of
        the record and today (another child is reported as ``unknown_child``, like a missing
        one), and replaces only their own records; a school head records for their school's
        children; system and county officers for anyone.
        """
        return commands.add_records(self._ctx, records)

    def records(self, *, child_id: str | None = None) -> Iterator[Record]:
        """Duty records of the children whose file the actor may read, of one child or of all."""
        return reads.records(self._ctx, child_id)

    # ------------------------------------------------------------------ calendar and duties

    def duty_kinds(self) -> tuple[DutyKind, ...]:
        """The duty kinds in force: the plan's eight and those added by plugins."""
        return self._ctx.duty_kinds()

    def set_calendar(
        self,
        name: str = "china",
        *,
        terms: Iterable[Semester] | None = None,
        extra_days_off: Iterable[date] = (),
    ) -> None:
        """Choose the school calendar: a registered one by name (``china`` by default), the
        county's own term dates, and extra days off (a county's own holidays). System and
        county officers; audited."""
        commands.set_calendar(self._ctx, name, terms, extra_days_off)

    def calendar(self, period: Interval) -> SchoolCalendar:
        """The county's school calendar for ``period``: every term overlapping it (an autumn
        term reaches into January), official holidays and make-up days (调休), the county's own
        terms and extra days off.

        A :class:`~leftbehind.calendars.CalendarFallbackWarning` is passed on only for years
        the period itself touches (an autumn term reaching into an unpublished January is not
        the period's concern).
        """
        snap, _ = self._ctx.begin()
        return self._ctx.calendar(snap, period)

    def duty_book(self, period: Interval) -> DutyBook:
        """The duty book (calendar, kinds, timelines, assignments, records) for ``period``, of
        the children whose file the actor may read."""
        return ledgers.duty_book(self._ctx, period)

    def compliance(self, as_of: date | None = None, period: Interval | None = None) -> Compliance:
        """Due / done / overdue per kind, owner and school for ``period`` as of ``as_of``, over
        the children whose file the actor may read."""
        return reads.compliance(self._ctx, as_of, period)

    def digest(
        self, staff_id: str, week_of: date | None = None, as_of: date | None = None
    ) -> Digest:
        """What ``staff_id`` owes this week and what is overdue (one digest per person).

        Anyone may ask their own digest; a school head those of their school's staff, a
        township officer those of their township's, system and county officers anyone's."""
        return reads.digest(self._ctx, staff_id, week_of, as_of)

    # ------------------------------------------------------------------ ledgers

    def ledger_facts(self, period: Interval) -> ledger.LedgerFacts:
        """Everything the three ledgers are built from, for ``period``: the children whose file
        the actor may read, masked as in :meth:`child`."""
        return ledgers.ledger_facts(self._ctx, period)

    def county_table(
        self, as_of: date | None = None, period: Interval | None = None
    ) -> ledger.CountyTable:
        """信息汇总表 as of ``as_of`` (default today) for ``period`` (default the school year).

        System and county officers get every row; a township officer the rows of their
        township, whose totals are the township's; anyone else is refused."""
        return ledgers.county_table(self._ctx, as_of, period)

    def school_table(
        self, school_id: str, as_of: date | None = None, period: Interval | None = None
    ) -> ledger.SchoolTable:
        """动态状况表 of one school (its head, its township's officer, the county)."""
        return ledgers.school_table(self._ctx, school_id, as_of, period)

    def school_tables(
        self, as_of: date | None = None, period: Interval | None = None
    ) -> dict[str, ledger.SchoolTable]:
        """动态状况表 of every school the actor's office covers (none for teachers)."""
        return ledgers.school_tables(self._ctx, as_of, period)

    def teacher_table(
        self, staff_id: str, as_of: date | None = None, period: Interval | None = None
    ) -> ledger.TeacherTable:
        """联络信息表 of one teacher or proxy parent: their own, or one of a staff member of a
        school the actor's office covers. Rows are the children whose file the actor may read,
        masked by the actor's standing towards each (see
        :data:`~leftbehind.access.FIELD_POLICY`)."""
        return ledgers.teacher_table(self._ctx, staff_id, as_of, period)

    def teacher_tables(
        self,
        as_of: date | None = None,
        period: Interval | None = None,
        *,
        school: str | None = None,
    ) -> dict[str, ledger.TeacherTable]:
        """:meth:`teacher_table` of every staff member in reach (a teacher: their own); with
        ``school``, of that school's staff only (an unknown school is not found)."""
        return ledgers.teacher_tables(self._ctx, as_of, period, school)

    def diff(self, before: date, after: date) -> ledger.LedgerDiff:
        """Who entered and left the served children between two days, and why (the children
        whose file the actor may read)."""
        return ledgers.diff(self._ctx, before, after)

    def commendations(
        self, as_of: date | None = None, period: Interval | None = None
    ) -> tuple[tuple[ledger.Standing, ...], tuple[ledger.Standing, ...]]:
        """Schools and staff ranked by measured completion (表彰先进), with a minimum volume
        (system and county officers)."""
        return ledgers.commendations(self._ctx, as_of, period)

    # ------------------------------------------------------------------ data quality

    def quality(self, as_of: date | None = None, school: str | None = None) -> QualityReport:
        """Run every registered data-quality rule (:meth:`Plugins.quality_rules
        <leftbehind.plugins.Plugins.quality_rules>`) over the facts as of ``as_of`` (default
        today) of the children whose file the actor may read: a school head gets their
        school's findings, a teacher those of their own children. With ``school``, that
        school's findings only (an unknown school is not found). Findings name rules and
        keys, never a name, an ID number or a phone."""
        return quality_room.quality(self._ctx, as_of, school)

    # ------------------------------------------------------------------ sign-off

    def submit(
        self, school_id: str, period: str | Period, *, despite_findings: bool = False
    ) -> SignOff:
        """Submit the school's tables for ``period`` (``2026-03``, ``2025-2026-1``,
        ``2025-2026``) from its last day on: the school's head (or the system). The
        动态状况表 as of the period's last day is kept as reported (canonical JSON and its
        SHA-256) and the period is locked. The data-quality rules run first; errors refuse the
        submission (:class:`~leftbehind.domain.signoff.SignOffError` ``quality_errors``) unless
        ``despite_findings``; the findings are counted in what is reported, with the
        corrections the school made since its previous submission."""
        return signoff_room.submit(self._ctx, school_id, period, despite_findings)

    def approve(self, school_id: str, period: str | Period) -> SignOff:
        """Approve a submitted period: the township officer of the school's township first,
        then a county officer (level by level; the system takes whichever step is next)."""
        return signoff_room.approve(self._ctx, school_id, period)

    def send_back(self, school_id: str, period: str | Period, reason: str) -> SignOff:
        """Return a submitted period to the school with a reason (the township officer, or a
        county officer before the county approves): it is open again for entry."""
        return signoff_room.send_back(self._ctx, school_id, period, reason)

    def reopen(self, school_id: str, period: str | Period, reason: str) -> SignOff:
        """Reopen an approved period with a reason (county officers): open for entry, its
        approved tables kept among those superseded when it is submitted again."""
        return signoff_room.reopen(self._ctx, school_id, period, reason)

    def signoff(self, school_id: str, period: str | Period) -> signoff_room.SignOffView:
        """A school's period as it stands: its steps, the tables as reported beside those of
        today, the counts that differ and the corrections made since it was submitted (the
        school's head, its township's officer, the county)."""
        return signoff_room.view(self._ctx, school_id, period)

    def signoffs(self, period: str | Period | None = None) -> list[SignOff]:
        """The sign-offs of the schools the actor's office covers (of one period, or all)."""
        return signoff_room.signoffs(self._ctx, period)

    def pending(self) -> list[signoff_room.Pending]:
        """What waits for the actor: a head, the months of the school year so far not yet
        submitted, or returned; a township officer, the township's submissions; a county
        officer, what the townships approved."""
        return signoff_room.pending(self._ctx)

    def export_signoff(
        self, school_id: str, period: str | Period, path: str | os.PathLike[str]
    ) -> str:
        """Write a school's period as reported as its printed 动态状况表 (XLSX), the approval
        lines (审核记录: who, at which level, when; the tables' SHA-256) under the signature
        line; a period never submitted prints today's figures marked 未报送. Audited; the path
        is checked as for every export."""
        key = period.key if isinstance(period, Period) else period
        return exports.export_signoff(self._ctx, school_id, key, path)

    def correction(self, reason: str) -> AbstractContextManager[None]:
        """A block whose writes may change locked periods, as corrections with ``reason``
        (system, county officers and school heads, each within their reach). Each write that
        reaches a locked period is kept as a :class:`~leftbehind.domain.signoff.Correction`
        (who, when, why, what), audited with the reason, shown beside the period's tables as
        reported and listed in the school's next submission. Outside such a block the write is
        refused (:class:`~leftbehind.errors.PeriodLockedError`) and nothing is written::

            with county.correction("学籍核对：入学日期更正"):
                county.put_children([fixed])
        """
        return signoff_room.correction(self._ctx, reason)

    # ------------------------------------------------------------------ follow-ups

    def follow_up_rules(self) -> FollowUpRules:
        """The county's follow-up rules: per kind of need, the days until a follow-up is due
        and the further days until it is escalated (the defaults:
        :data:`~leftbehind.domain.followups.DEFAULT_RULES`)."""
        return follow_up_room.follow_up_rules(self._ctx)

    def set_follow_up_rules(
        self,
        *,
        due_days: Mapping[str, int] | None = None,
        escalate_days: Mapping[str, int] | None = None,
    ) -> FollowUpRules:
        """Change the days of some kinds of need, by code (``{"safety": 2}``); the others
        stay. Each is a whole number of days from 1 to 366; every problem is listed and then
        nothing changes. Follow-ups raised before keep their days. System and county
        officers; audited. Returns the rules now in force."""
        return follow_up_room.set_follow_up_rules(self._ctx, due_days, escalate_days)

    def raise_needs(
        self,
        child_id: str,
        needs: Iterable[Need | Mapping[str, Any] | str],
        *,
        on: date | None = None,
        record_id: str | None = None,
    ) -> list[FollowUp]:
        """Raise needs found for a child (``"safety"``, ``{"kind": "health", "note": …,
        "owner_id": …}`` or :class:`~leftbehind.domain.followups.Need` values) on ``on``
        (default: the record's day, else today), of the record ``record_id`` when given: one
        follow-up each, owed by the named staff member (assigned to the child that day, or the
        head of the child's school), else the child's proxy parent on that day, else the
        record's author or the actor. The same need raised the same way again
        adds nothing. Anyone who may record for the child (``add_records``) may raise; a
        record may carry its needs too (``{"needs": [...]}`` in ``add_records``)."""
        return follow_up_room.raise_needs(self._ctx, child_id, needs, on, record_id)

    def follow_ups(
        self,
        *,
        as_of: date | None = None,
        school: str | None = None,
        owner: str | None = None,
        status: FollowUpStatus | str | None = None,
        child: str | None = None,
    ) -> list[FollowUp]:
        """The follow-ups in the actor's reach raised on or before ``as_of`` (default today),
        as they stood that day, by due day: of one school, owner, child, or status as of the
        day (``due``, ``overdue``, ``escalated``, ``closed``). System and county officers see
        all; a school head or township officer those of the children their office covers; a
        teacher or proxy parent those they owe; a volunteer none
        (:class:`~leftbehind.access.AccessDeniedError`)."""
        chosen = None if status is None else FollowUpStatus(status)
        return follow_up_room.follow_ups(self._ctx, as_of, school, owner, chosen, child)

    def follow_up(self, key: str, *, as_of: date | None = None) -> FollowUp:
        """One follow-up (as it stood on ``as_of`` when given); out of reach is not found."""
        return follow_up_room.one(self._ctx, key, as_of)

    def close_follow_up(self, key: str, *, on: date | None = None, action: str) -> FollowUp:
        """Close a follow-up on ``on`` (default today), saying what was done; by whom is the
        actor. Its owner, the school head, the township or the county; audited."""
        return follow_up_room.close_follow_up(self._ctx, key, on, action)

    def refer(
        self,
        key: str,
        *,
        agency: Agency | str,
        on: date | None = None,
        note: str = "",
    ) -> FollowUp:
        """Record that a follow-up was referred to an agency (``civil_affairs`` 民政,
        ``health`` 卫生健康, ``police`` 公安, ``womens_federation`` 妇联, ``other``) on ``on``
        (default today). Who may close it may refer it; audited."""
        return follow_up_room.refer(self._ctx, key, agency, on, note)

    def queue_escalations(self, as_of: date | None = None) -> int:
        """Queue a notice to the school head of each follow-up escalated as of ``as_of``
        (default today), once per follow-up; :meth:`queue_week` does it too. Returns how many
        were new. System and county officers."""
        return follow_up_room.queue_escalations(self._ctx, as_of)

    # ------------------------------------------------------------------ data in and out

    def export_ledger(
        self,
        level: str,
        *,
        key: str | None = None,
        as_of: date | None = None,
        format: str = "text",
        path: str | os.PathLike[str] | None = None,
        unmasked: bool = False,
        width: int | None = None,
        columns: Sequence[str] | None = None,
        header: Literal["labels", "keys"] = "labels",
    ) -> str:
        """Render a ledger; the export is written to the audit log before it is returned or
        its file appears (a refusal is audited too).

        ``level`` is ``county``, ``school`` (``key`` the school), ``schools`` (every school in
        reach), ``teacher`` (``key`` the staff member), ``teachers`` (with ``key``, of that
        school's staff only) or ``commend``. ``format``
        ``text`` returns the table as text; ``csv`` (first sheet) and ``xlsx`` write ``path``
        (checked by :func:`~leftbehind.io.paths.safe_export_path`) and return it; ``json``, of
        the county table only, is the summary a county sends upward
        (:meth:`~leftbehind.domain.ledger.CountyTable.to_json`: counts, the county's name and
        code, the day and the policies, no child's data), returned, or written to ``path``
        and the path returned. Phones and ID
        numbers are masked unless ``unmasked``; even then a value the actor may not see stays
        masked, because the ledger itself was built masked for them. As text, ``width`` shows
        the columns an officer reads first that fit that many cells and ``columns`` exactly the
        columns given by key (:func:`~leftbehind.io.render.render_text`); as CSV, ``header``
        is ``labels`` (in the handle's language) or ``keys`` (the stable English keys). Forms
        are written in the handle's language (:attr:`language`).
        """
        return exports.export_ledger(
            self._ctx,
            level,
            key=key,
            as_of=as_of,
            format=format,
            path=path,
            unmasked=unmasked,
            width=width,
            columns=columns,
            header=header,
        )

    def export_roster(
        self,
        path: str | os.PathLike[str],
        *,
        format: Format | None = None,
        unmasked: bool = False,
        as_of: date | None = None,
    ) -> int:
        """Write every child whose file the actor may read as a roster in the template's form;
        returns the row count.

        ``format`` defaults to the path's suffix (``.csv`` → CSV, otherwise XLSX). ID numbers
        and phones are masked unless ``unmasked`` (a value the actor may not see stays masked
        even then; a masked export cannot be imported again). ``as_of`` (default today) is the
        day the statuses and grades describe. The file appears only after the export's audit
        entry is committed.
        """
        return exports.export_roster(self._ctx, path, format=format, unmasked=unmasked, as_of=as_of)

    def import_roster(
        self,
        path: str | os.PathLike[str],
        *,
        dry_run: bool = False,
        progress: Progress | None = None,
        limits: ImportLimits = DEFAULT_LIMITS,
        strict: bool = False,
    ) -> ImportReport:
        """Check every row of a roster file (花名册), then write all its children in one unit
        of work (see :mod:`leftbehind.io.roster` for the rules).

        Nothing is written when any cell has an issue, or with ``dry_run``; the report is the
        same either way. ``progress(stage, done, total)`` is called as rows are read, checked
        and written. A file crossing one of ``limits``
        (:class:`~leftbehind.io.roster_limits.ImportLimits`: rows, columns, cell length, shared
        strings, unpacked size) is refused with one issue, read no further than the limit.
        The report's ``warnings`` say what the import ignored or assumed (row, column, code);
        with ``strict`` each is an issue, and nothing is written.
        """
        return imports.import_roster(
            self._ctx, path, dry_run=dry_run, progress=progress, limits=limits, strict=strict
        )

    def import_files(
        self,
        paths: Sequence[str | os.PathLike[str]],
        *,
        dry_run: bool = False,
        progress: Progress | None = None,
        limits: ImportLimits = DEFAULT_LIMITS,
        strict: bool = False,
    ) -> FilesReport:
        """Import every sheet a county keeps, several files in one run, all or nothing.

        Each file's kind is told from its headers (schools 学校名册, staff 教职工名册,
        the roster 花名册, assignments 分工名册, study groups 学习小组, and the duty records:
        谈心记录, 家访记录, 书信电话, 学习帮扶计划, 安全教育, 家长学校, 节日陪伴 …; see
        :mod:`leftbehind.io.sheet_columns`), and the files are applied in that order, so a
        row may refer to a school, a staff member or a child an earlier file of the same run
        brings in (by id, or by name where the name is unique). Records are matched by their id
        or by (kind, child, staff, day, topic), so importing a sheet again adds nothing twice.

        Every bad cell of every file is in the report (file, sheet, row, column, code) and then
        nothing is written; else everything is written in one unit of work (with ``dry_run``,
        checked the same way and not committed). The report's ``kinds`` gives, per kind, the
        ids created and updated and how many rows found their item unchanged; its
        ``to_json()`` the whole report with stable English keys. See
        :mod:`leftbehind.io.sheet_import` for the rules. ``warnings`` (a column ignored, a
        parent whose status could not be told, a day assumed) do not block, unless ``strict``
        makes each an issue; ``skipped`` names the rows read as no item (title, 合计, footer).
        """
        return imports.import_files(
            self._ctx, paths, dry_run=dry_run, progress=progress, limits=limits, strict=strict
        )

    # ------------------------------------------------------------------ audit and retention

    def audit(
        self, since: datetime | None = None, until: datetime | None = None
    ) -> list[AuditEntry]:
        """The audit log from ``since`` until (before) ``until``, oldest first (system and county
        officers). Reading the log is not itself logged."""
        return retention.audit(self._ctx, since, until)

    def purge(
        self, older_than_years: int = retention.RETENTION_YEARS, as_of: date | None = None
    ) -> list[str]:
        """Remove the files of children who left the action (no category and no enrolment) more
        than ``older_than_years`` years before ``as_of`` (default today), with their timelines,
        records, follow-ups and assignments and the notices that name them (unsent ones deleted,
        sent ones blanked), in one unit of work; the audit log keeps a tombstone (kind, key,
        ``purged``) of each. System and county officers only. Returns the purged keys.
        """
        return retention.purge(self._ctx, older_than_years, as_of)

    # ------------------------------------------------------------------ notices

    def set_channels(self, channels: Mapping[str, Mapping[str, str]]) -> None:
        """Configure notification channels: ``{"default": {"type": "wecom", "key_env": …}}``.

        Every notice goes to the ``default`` channel unless a channel is named for its recipient
        (a staff id) or its kind. Unknown notifier types raise, listing the registered ones.
        Secrets are not settings: a setting names the environment variable holding one
        (``key_env``, ``token_env``, ``password_env``, ``url_env``), read where notices are
        delivered; a setting holding a secret in clear (``password``, a URL with ``?key=…``)
        raises :class:`~leftbehind.notifiers.NotifierConfigError` naming the setting, never its
        value, and nothing is stored.
        """
        commands.set_channels(self._ctx, channels)

    def queue_week(self, week_of: date | None = None, as_of: date | None = None) -> int:
        """Queue this week's notices: one digest per person, overdue duties to their owners and
        a summary to each school head. Returns how many new notices were queued (running it
        twice in a week queues nothing more). Open follow-ups are lines of their owner's digest,
        and escalated ones are told to the school head (:meth:`queue_escalations`). System and
        county officers."""
        return notices.queue_week(self._ctx, week_of, as_of, follow_up_room.for_week)

    def queue_incomplete_files(self, year: int | None = None) -> int:
        """After the deployment phase (部署阶段) of ``year``, tell each class teacher which files
        still miss some of the five clears (五清晰). System and county officers."""
        return notices.queue_incomplete_files(self._ctx, year)

    def queue_status_changes(self, since: date, until: date | None = None) -> int:
        """Queue notices of children who became served or left on a day in ``[since, until]``
        by the passing of time (a parent away three months, a return home). System and county
        officers."""
        return notices.queue_status_changes(self._ctx, since, until)

    def notices(self) -> dict[str, list[outbox.OutboxEntry]]:
        """The notices waiting, sent and parked as failed (system and county officers)."""
        return notices.notices(self._ctx)

    def channel_types(self) -> dict[str, str]:
        """The type (``log``, ``wecom``, ``webhook``, ``email`` …) of each configured channel,
        by name, without its settings; ``{"default": "log"}`` when none is configured. System
        and county officers."""
        return notices.channel_types(self._ctx)

    def deliver(self, now: datetime | None = None, **kwargs: Any) -> outbox.DeliveryReport:
        """Send the queued notices through the configured channels (see :meth:`set_channels`).

        A notice is marked sent only after its notifier succeeded; failures are retried later
        with backoff and never lost. The report names the channel each notice went through
        (:attr:`~leftbehind.outbox.DeliveryReport.channels`); ``progress=callable(key)`` is
        called as each is settled (:func:`~leftbehind.outbox.deliver`). System and county
        officers.
        """
        return notices.deliver(self._ctx, now, **kwargs)
