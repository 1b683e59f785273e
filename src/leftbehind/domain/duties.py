"""Duties (職責): the rules of what people owe each child, the records of what was done, and the
status of every occurrence for a period as of a day — computed, never stored.

- A :class:`DutyKind` is data: who owes it (roles), how often (:class:`Frequency`) and in which
  windows (:class:`WindowKind`). :data:`DEFAULT_KINDS` are the eight of the plan; a county adds
  its own by passing more :class:`DutyKind` values.
- A :class:`Record` says what was done, by whom, for whom, when and how.
- A :class:`DutyBook` joins the calendar, the kinds, the eligibility timelines, the assignments and
  the records, and answers: the :class:`Occurrence` values of a period (lazily), the
  :class:`Compliance` per kind, owner and school, per-child :class:`Tally` values for the ledger,
  a person's weekly :class:`Digest`, and the records that satisfy nothing.

The rules (SPEC §5):

- An occurrence of a kind exists for a child, an owner and a window when the window shares a day
  with both the child's served intervals and the owner's assignment (for windows bound to the
  term — school weeks, months of term, semesters — the shared days must hold a school day).
- ``per_owner`` kinds (the weekly talk, the study plan) are owed by each owner separately; the
  others are owed once per child and window, and any owner's record satisfies them.
- It is DONE when a record of its kind for the child by one of its owners is dated inside the
  window (and on or before ``as_of``); the earliest such record satisfies it, so a record
  satisfies at most one occurrence. Otherwise it is OVERDUE when the window closed
  (``window.end <= as_of``), DUE while the window contains ``as_of``, and UPCOMING before.
- An occurrence belongs to a period when its window shares a day with the period.
"""

from __future__ import annotations

import enum
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date, timedelta
from operator import attrgetter

from attrs import field, frozen

from leftbehind.domain.calendar import SchoolCalendar
from leftbehind.domain.dates import Interval
from leftbehind.domain.eligibility import Timeline
from leftbehind.domain.errors import Issue
from leftbehind.domain.followups import FollowUp
from leftbehind.domain.i18n import language, text
from leftbehind.domain.people import Assignment, Assignments, Role, Staff

__all__ = [
    "DEFAULT_KINDS",
    "Compliance",
    "Counts",
    "Digest",
    "DutyBook",
    "DutyKind",
    "DutyPlan",
    "DutyRule",
    "Frequency",
    "HomeVisitDetails",
    "Method",
    "Occurrence",
    "Record",
    "Status",
    "StudyPlanDetails",
    "Tally",
    "Unmatched",
    "WindowKind",
    "check_record",
    "duty_plan",
    "kind_table",
]


class Frequency(enum.Enum):
    """How often a duty recurs."""

    WEEK = "week"
    MONTH = "month"
    SEMESTER = "semester"
    YEAR = "year"

    @property
    def label(self) -> str:
        return text(f"frequency.{self.value}")


class WindowKind(enum.Enum):
    """The windows in which a duty recurs."""

    SCHOOL_WEEKS = "school_weeks"
    """Monday-start weeks with at least one school day."""
    TERM_MONTHS = "term_months"
    """Calendar months with at least one school day."""
    EVERY_MONTH = "every_month"
    """Every calendar month, vacations included."""
    SEMESTER = "semester"
    """Each semester, from its first day to the first day of the vacation."""
    YEAR = "year"
    """Each calendar year."""

    @property
    def frequency(self) -> Frequency:
        return _WINDOW_FREQUENCY[self]

    @property
    def term_bound(self) -> bool:
        """Whether the owed days must hold a school day (not so for every month and the year)."""
        return self in (WindowKind.SCHOOL_WEEKS, WindowKind.TERM_MONTHS, WindowKind.SEMESTER)

    @property
    def label(self) -> str:
        return text(f"window.{self.value}")


_WINDOW_FREQUENCY = {
    WindowKind.SCHOOL_WEEKS: Frequency.WEEK,
    WindowKind.TERM_MONTHS: Frequency.MONTH,
    WindowKind.EVERY_MONTH: Frequency.MONTH,
    WindowKind.SEMESTER: Frequency.SEMESTER,
    WindowKind.YEAR: Frequency.YEAR,
}


def _roles(items: Iterable[Role]) -> frozenset[Role]:
    return frozenset(items)


@frozen
class DutyKind:
    """A kind of duty, as data: a stable ``code``, labels, who owes it and when.

    ``owner_roles`` are the roles whose holders owe it; with ``per_owner`` each holder owes their
    own occurrence, otherwise one occurrence per child and window is owed by all of them together.
    ``frequency`` must agree with ``window`` (weeks are weekly, and so on).
    """

    code: str
    label_zh: str
    label_en: str
    owner_roles: frozenset[Role] = field(converter=_roles)
    frequency: Frequency
    window: WindowKind
    per_owner: bool = False

    @property
    def label(self) -> str:
        """The name in the language of the moment: the catalog's for the plan's eight kinds,
        else ``label_en`` in English and ``label_zh`` (as the county wrote it) in Chinese."""
        key = f"duty.{self.code}"
        found = text(key)
        if found != key:
            return found
        return self.label_en if language() == "en" else self.label_zh

    def __attrs_post_init__(self) -> None:
        if not self.code:
            msg = "a duty kind needs a code"
            raise ValueError(msg)
        if not self.owner_roles:
            msg = f"duty kind {self.code!r} needs at least one owner role"
            raise ValueError(msg)
        if self.window.frequency is not self.frequency:
            msg = f"duty kind {self.code!r}: a {self.window.value} window is not {self.frequency}"
            raise ValueError(msg)


_CT, _ST = Role.CLASS_TEACHER, Role.SUBJECT_TEACHER

#: The eight duties of the plan (SPEC §5). ``PARENT_LECTURE`` is the school's duty: the class
#: teacher invites each child's parents or second guardian and records their attendance, so it
#: is owed per child by the class teacher and counted for the class teacher's school.
DEFAULT_KINDS: tuple[DutyKind, ...] = (
    DutyKind(
        "TALK",
        "谈心",
        "heart-to-heart talk",
        {_CT, _ST},
        Frequency.WEEK,
        WindowKind.SCHOOL_WEEKS,
        per_owner=True,
    ),
    DutyKind(
        "FAMILY_CONTACT",
        "与家长书信或电话沟通",
        "letter or call to the parents",
        {_CT},
        Frequency.MONTH,
        WindowKind.TERM_MONTHS,
    ),
    DutyKind(
        "PARENT_REPORT",
        "向家长报告学习和表现",
        "report of study and behaviour to the parents",
        {_CT},
        Frequency.SEMESTER,
        WindowKind.SEMESTER,
    ),
    DutyKind(
        "FESTIVAL",
        "陪度有意义的节日",
        "spend a meaningful festival with the child",
        {_CT, Role.STAFF_PAIR},
        Frequency.YEAR,
        WindowKind.YEAR,
    ),
    DutyKind(
        "HOME_VISIT",
        "温馨家访",
        "warm home visit",
        {Role.PROXY_PARENT},
        Frequency.MONTH,
        WindowKind.EVERY_MONTH,
    ),
    DutyKind(
        "STUDY_PLAN",
        "学习帮扶计划",
        "signed study-help plan",
        {_ST},
        Frequency.SEMESTER,
        WindowKind.SEMESTER,
        per_owner=True,
    ),
    DutyKind(
        "SAFETY_EDUCATION",
        "安全与法制教育",
        "safety and legal education",
        {_CT},
        Frequency.SEMESTER,
        WindowKind.SEMESTER,
    ),
    DutyKind(
        "PARENT_LECTURE",
        "家长学校讲座",
        "parent-school lecture",
        {_CT},
        Frequency.SEMESTER,
        WindowKind.SEMESTER,
    ),
)


def kind_table(kinds: Iterable[DutyKind] = DEFAULT_KINDS) -> list[tuple[str, str, str, str, str]]:
    """Rows (code, 職責, duty, 負責人, 頻次) for documentation and ledgers."""
    return [
        (
            k.code,
            k.label_zh,
            k.label_en,
            "、".join(r.label for r in sorted(k.owner_roles, key=attrgetter("rank"))),
            k.frequency.label,
        )
        for k in kinds
    ]


class Method(enum.Enum):
    """How a duty was done (方式)."""

    IN_PERSON = "in_person"
    PHONE = "phone"
    VIDEO = "video"
    LETTER = "letter"

    @property
    def label(self) -> str:
        return text(f"method.{self.value}")


@frozen
class StudyPlanDetails:
    """A signed study-help plan (學習幫扶計劃): when, what, and the plan."""

    time: str
    content: str
    plan: str


@frozen
class HomeVisitDetails:
    """A home-visit record (家訪記錄)."""

    guardian_met: str = ""
    living_conditions: str = ""
    behaviour_at_home: str = ""
    needs_found: str = ""
    feedback: str = ""
    measures: str = ""
    next_visit: date | None = None


@frozen
class Record:
    """What was done (``kind``, a :attr:`DutyKind.code`), by whom, for whom, on which day, how.

    The text fields follow the ledger's record forms: 地點 place, 主題 topic, 內容 content,
    效果 effect, 跟進 follow-up; ``details`` holds a study plan's or a home visit's own fields.
    """

    id: str
    kind: str
    child_id: str
    staff_id: str
    on: date
    method: Method = Method.IN_PERSON
    topic: str = ""
    content: str = ""
    effect: str = ""
    follow_up: str = ""
    place: str = ""
    details: StudyPlanDetails | HomeVisitDetails | None = None


_DETAILS: dict[str, type[StudyPlanDetails | HomeVisitDetails]] = {
    "STUDY_PLAN": StudyPlanDetails,
    "HOME_VISIT": HomeVisitDetails,
}


def check_record(
    record: Record, *, today: date, kinds: Iterable[DutyKind] | None = None
) -> list[Issue]:
    """The problems of a record: a future date, missing ids, an unknown kind (when ``kinds`` is
    given), details of the wrong type. An empty list means it can be stored."""
    issues: list[Issue] = []
    if record.on > today:
        issues.append(Issue("on", "future_record", "a record cannot be dated after today"))
    for name in ("id", "kind", "child_id", "staff_id"):
        if not getattr(record, name):
            issues.append(Issue(name, "required", f"{name} is required"))
    if kinds is not None and record.kind not in {k.code for k in kinds}:
        issues.append(Issue("kind", "unknown_kind", "no duty kind has this code"))
    if record.details is not None:
        expected = _DETAILS.get(record.kind)
        if expected is None or not isinstance(record.details, expected):
            issues.append(
                Issue("details", "details_mismatch", "these details do not belong to this kind")
            )
    if (
        isinstance(record.details, HomeVisitDetails)
        and record.details.next_visit is not None
        and record.details.next_visit < record.on
    ):
        issues.append(
            Issue("details.next_visit", "next_visit_before", "the next visit precedes this one")
        )
    return issues


class Status(enum.Enum):
    """The status of an occurrence as of a day."""

    DUE = "due"
    DONE = "done"
    OVERDUE = "overdue"
    UPCOMING = "upcoming"

    @property
    def label(self) -> str:
        return text(f"status.{self.value}")


def _owners(items: Iterable[str]) -> frozenset[str]:
    return frozenset(items)


@frozen
class Occurrence:
    """One owed instance of a duty: ``kind`` (a code) for ``child_id`` in ``window``.

    ``owners`` are the staff whose record satisfies it; ``owner_id`` is the one it is counted
    for: the author of the satisfying record when done, otherwise the first owner by role (in
    :class:`~leftbehind.domain.people.Role` order), then the latest assignment start, then the id.
    """

    child_id: str
    kind: str
    owner_id: str
    window: Interval
    status: Status
    record_id: str | None = None
    owners: frozenset[str] = field(default=frozenset(), converter=_owners)


@frozen
class Counts:
    """Occurrence counts. ``due`` counts those whose window has begun (done, open or overdue —
    the ledger's 應完成); ``upcoming`` those not begun. ``open`` is due minus done and overdue."""

    due: int = 0
    done: int = 0
    overdue: int = 0
    upcoming: int = 0

    @property
    def open(self) -> int:
        return self.due - self.done - self.overdue

    @property
    def rate(self) -> float | None:
        """Completion rate ``done / due``; ``None`` when nothing is due yet."""
        return self.done / self.due if self.due else None

    def __add__(self, other: Counts) -> Counts:
        return Counts(
            self.due + other.due,
            self.done + other.done,
            self.overdue + other.overdue,
            self.upcoming + other.upcoming,
        )


@frozen
class Compliance:
    """Counts of a period as of a day: in total, per kind code, per owner id, per school id
    (the owner's school), and per (school, kind)."""

    period: Interval
    as_of: date
    total: Counts
    by_kind: Mapping[str, Counts]
    by_owner: Mapping[str, Counts]
    by_school: Mapping[str, Counts]
    by_school_kind: Mapping[tuple[str, str], Counts]


@frozen
class Tally:
    """How one kind owed by one owner to one child stands in a period (see :class:`Counts`)."""

    child_id: str
    kind: str
    owner_id: str
    due: int
    done: int = 0
    overdue: int = 0
    upcoming: int = 0


def _occurrences(items: Iterable[Occurrence]) -> tuple[Occurrence, ...]:
    return tuple(items)


def _follow_ups(items: Iterable[FollowUp]) -> tuple[FollowUp, ...]:
    return tuple(items)


@frozen
class Digest:
    """What one person has to do: the occurrences of ``week`` not yet done (``due``) and those
    overdue since ``since``, as of ``as_of`` (one digest per person, not a message per duty),
    and the follow-ups (跟进事项) the person owes that are open as of ``as_of``."""

    staff_id: str
    week: Interval
    as_of: date
    since: date
    due: tuple[Occurrence, ...] = field(converter=_occurrences)
    overdue: tuple[Occurrence, ...] = field(converter=_occurrences)
    follow_ups: tuple[FollowUp, ...] = field(default=(), converter=_follow_ups)

    @property
    def empty(self) -> bool:
        return not self.due and not self.overdue and not self.follow_ups


class Unmatched(enum.Enum):
    """Why a record satisfies no occurrence."""

    UNASSIGNED = "unassigned"
    """Its author held no owning role towards the child in its window (reported, not counted)."""
    NOT_OWED = "not_owed"
    """Its author was assigned but nothing was owed (the child not served, a vacation week)."""
    SURPLUS = "surplus"
    """An earlier record already satisfied the occurrence."""
    UNKNOWN_KIND = "unknown_kind"
    """No duty kind has its code."""


# ---------------------------------------------------------------------------------------------
# The engine. Days are ordinals inside; windows are cached per (window kind, period); records are
# grouped by (child, kind) once and sorted on first use. Occurrences are produced one child and
# kind at a time, so nothing of the county's size is ever materialised.

_FOREVER = date.max.toordinal() + 1
_Ranges = list[tuple[int, int]]


class _Windows:
    __slots__ = ("ends", "intervals", "starts")

    def __init__(self, intervals: Sequence[Interval]) -> None:
        self.intervals = tuple(intervals)
        self.starts = [w.start.toordinal() for w in self.intervals]
        self.ends = [w.end.toordinal() for w in self.intervals if w.end is not None]


def _end(end: date | None) -> int:
    return _FOREVER if end is None else end.toordinal()


def _known(days: tuple[int, int], today: int) -> tuple[int, int]:
    """A range begun by ``today`` as it stood then: an end after ``today`` is not known yet."""
    return days if days[1] <= today else (days[0], _FOREVER)


def _merge(ranges: _Ranges) -> _Ranges:
    if len(ranges) < 2:
        return ranges
    ranges.sort()
    out = [ranges[0]]
    for s, e in ranges[1:]:
        ls, le = out[-1]
        if s <= le:
            if e > le:
                out[-1] = (ls, e)
        else:
            out.append((s, e))
    return out


def _intersect(a: _Ranges, b: _Ranges) -> _Ranges:
    if len(a) == 1 and len(b) == 1:
        s = max(a[0][0], b[0][0])
        e = min(a[0][1], b[0][1])
        return [(s, e)] if s < e else []
    out: _Ranges = []
    i = j = 0
    while i < len(a) and j < len(b):
        s = max(a[i][0], b[j][0])
        e = min(a[i][1], b[j][1])
        if s < e:
            out.append((s, e))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


class _Owner:
    """One staff member's owed days towards one child for one kind, and their sort key."""

    __slots__ = ("key", "owed", "staff_id")

    def __init__(self, staff_id: str, owed: _Ranges, key: tuple[int, int, str]) -> None:
        self.staff_id = staff_id
        self.owed = owed
        self.key = key


_Raw = tuple[str, DutyKind, str, Interval, int, Record | None, frozenset[str]]


class DutyBook:
    """Duty status computed from the calendar, the kinds, the timelines, assignments and records.

    ``timelines`` maps child ids to their eligibility
    :class:`~leftbehind.domain.eligibility.Timeline` (the plan's policy);
    ``staff`` (optional) gives each owner's school for :meth:`compliance`. Records of unknown
    kinds are kept and reported by :meth:`unmatched_records`. The book is a read-only view: build
    a new one when the facts change.
    """

    def __init__(
        self,
        calendar: SchoolCalendar,
        kinds: Iterable[DutyKind],
        timelines: Mapping[str, Timeline],
        assignments: Assignments | Iterable[Assignment],
        records: Iterable[Record],
        *,
        staff: Iterable[Staff] = (),
    ) -> None:
        self.calendar = calendar
        self.kinds: dict[str, DutyKind] = {}
        for k in kinds:
            if k.code in self.kinds:
                msg = f"duplicate duty kind code {k.code!r}"
                raise ValueError(msg)
            self.kinds[k.code] = k
        self.timelines = timelines
        self.assignments = (
            assignments if isinstance(assignments, Assignments) else Assignments(assignments)
        )
        self.school_of: dict[str, str] = {s.id: s.school_id for s in staff}
        groups: dict[tuple[str, str], list[Record]] = {}
        for r in records:
            key = (r.child_id, r.kind)
            group = groups.get(key)
            if group is None:
                groups[key] = [r]
            else:
                group.append(r)
        self._records = groups
        self._sorted: dict[tuple[str, str], tuple[list[int], list[Record]]] = {}
        self._served: dict[tuple[str, date | None], _Ranges] = {}
        self._windows: dict[tuple[WindowKind, date, date], _Windows] = {}

    # -- inputs, prepared on first use ------------------------------------------------------

    def served(self, child_id: str, as_of: date | None = None) -> _Ranges:
        """The child's served days as ordinal ranges ``[start, end)``; with ``as_of``, as they
        stood on that day: the spans begun by then, one ending later still going on (what
        begins or ends later took effect after ``as_of``)."""
        key = (child_id, as_of)
        got = self._served.get(key)
        if got is None:
            timeline = self.timelines.get(child_id)
            spans = () if timeline is None else timeline.spans
            cut = _FOREVER if as_of is None else as_of.toordinal()
            got = _merge(
                [
                    _known((s.start.toordinal(), _end(s.end)), cut)
                    for s in spans
                    if s.start.toordinal() <= cut
                ]
            )
            self._served[key] = got
        return got

    def records_of(self, child_id: str, kind: str) -> tuple[list[int], list[Record]]:
        """The records of one kind for one child, sorted by day then id, with their ordinals."""
        key = (child_id, kind)
        got = self._sorted.get(key)
        if got is None:
            group = self._records.get(key, [])
            if len(group) > 1:
                group.sort(key=attrgetter("on", "id"))
            got = self._sorted[key] = ([r.on.toordinal() for r in group], group)
        return got

    def windows(self, window: WindowKind, period: Interval) -> tuple[Interval, ...]:
        """The windows of ``window`` that share a day with the closed ``period``."""
        return self._windows_of(window, period).intervals

    def _windows_of(self, window: WindowKind, period: Interval) -> _Windows:
        if period.end is None:
            msg = "a period must be closed (end is None)"
            raise ValueError(msg)
        key = (window, period.start, period.end)
        got = self._windows.get(key)
        if got is None:
            got = self._windows[key] = _Windows(self._make_windows(window, period))
        return got

    def _make_windows(self, window: WindowKind, period: Interval) -> Sequence[Interval]:
        return _make_windows(self.calendar, window, period)

    # -- the engine -------------------------------------------------------------------------

    def _owners_of(
        self, child_id: str, kind: DutyKind, served: _Ranges, today: int
    ) -> list[_Owner]:
        """Who owes ``kind`` to the child and on which of its ``served`` days: the assignments
        of an owning role as they stood on ``today`` (begun by then, one ending later still
        going on)."""
        roles = kind.owner_roles
        ranges: dict[str, _Ranges] = {}
        keys: dict[str, tuple[int, int, str]] = {}
        for a in self.assignments.of_child(child_id):
            if a.role not in roles:
                continue
            s = a.start.toordinal()
            e = _end(a.end)
            if s >= e or s > today:
                continue
            s, e = _known((s, e), today)
            ranges.setdefault(a.staff_id, []).append((s, e))
            key = (a.role.rank, -s, a.staff_id)
            if a.staff_id not in keys or key < keys[a.staff_id]:
                keys[a.staff_id] = key
        owners = []
        for staff_id, rs in ranges.items():
            owed = _intersect(served, _merge(rs))
            if owed:
                owners.append(_Owner(staff_id, owed, keys[staff_id]))
        if len(owners) > 1:
            owners.sort(key=attrgetter("key"))
        return owners

    def _hits(self, owed: _Ranges, windows: _Windows, term_bound: bool) -> list[int]:
        """Indexes of the windows whose days shared with ``owed`` qualify."""
        starts, ends = windows.starts, windows.ends
        n = len(starts)
        has_school_day = self.calendar.has_school_day
        out: list[int] = []
        for s, e in owed:
            i = bisect_right(ends, s)
            while i < n and starts[i] < e:
                ws, we = starts[i], ends[i]
                if (out and out[-1] == i) or (
                    term_bound
                    and not (s <= ws and we <= e)
                    and not has_school_day(max(s, ws), min(e, we))
                ):
                    i += 1
                    continue
                out.append(i)
                i += 1
        return out

    def _raw(
        self,
        period: Interval,
        as_of: date,
        child_ids: Iterable[str] | None = None,
        kinds: Iterable[DutyKind] | None = None,
        staff_id: str | None = None,
    ) -> Iterator[_Raw]:
        """``(child, kind, owner, window, status, record, owners)`` with ``status`` an index of
        :data:`_STATUSES` (0 due, 1 done, 2 overdue, 3 upcoming)."""
        chosen = tuple(self.kinds.values()) if kinds is None else tuple(kinds)
        wins = {k.window: self._windows_of(k.window, period) for k in chosen}
        today = as_of.toordinal()
        for cid in self.assignments.children() if child_ids is None else child_ids:
            served = self.served(cid, as_of)
            if not served:
                continue
            for kind in chosen:
                owners = self._owners_of(cid, kind, served, today)
                if not owners or (
                    staff_id is not None and all(o.staff_id != staff_id for o in owners)
                ):
                    continue
                windows = wins[kind.window]
                term = kind.window.term_bound
                groups: list[tuple[int, str, frozenset[str]]]
                if kind.per_owner or len(owners) == 1:
                    groups = []
                    for o in owners:
                        ids = frozenset((o.staff_id,))
                        groups.extend(
                            (i, o.staff_id, ids) for i in self._hits(o.owed, windows, term)
                        )
                    if len(owners) > 1:
                        groups.sort(key=_first)
                else:
                    by_window: dict[int, list[_Owner]] = {}
                    for o in owners:
                        for i in self._hits(o.owed, windows, term):
                            by_window.setdefault(i, []).append(o)
                    groups = [
                        (i, group[0].staff_id, frozenset(o.staff_id for o in group))
                        for i, group in sorted(by_window.items())
                    ]
                days, records = self.records_of(cid, kind.code)
                n = len(days)
                starts, ends, intervals = windows.starts, windows.ends, windows.intervals
                for i, first, ids in groups:
                    if staff_id is not None and staff_id not in ids:
                        continue
                    ws, we = starts[i], ends[i]
                    if n:
                        j = bisect_left(days, ws)
                        stop = we if we <= today else today + 1
                        while j < n and days[j] < stop:
                            found = records[j]
                            if found.staff_id in ids:
                                yield cid, kind, found.staff_id, intervals[i], 1, found, ids
                                break
                            j += 1
                        else:
                            status = 2 if we <= today else 0 if ws <= today else 3
                            yield cid, kind, first, intervals[i], status, None, ids
                    else:
                        status = 2 if we <= today else 0 if ws <= today else 3
                        yield cid, kind, first, intervals[i], status, None, ids

    # -- answers ----------------------------------------------------------------------------

    def occurrences(
        self,
        period: Interval,
        as_of: date,
        *,
        child_ids: Iterable[str] | None = None,
        kinds: Iterable[str] | None = None,
    ) -> Iterator[Occurrence]:
        """The occurrences whose window meets ``period``, with their status as of ``as_of``.

        Generated lazily, one child and kind at a time (children in assignment order, then kinds
        in the book's order, then windows). ``child_ids`` and ``kinds`` (codes) narrow the scan.
        """
        chosen = None if kinds is None else [self.kinds[c] for c in kinds]
        for cid, kind, owner, window, status, rec, ids in self._raw(
            period, as_of, child_ids, chosen
        ):
            yield Occurrence(
                cid,
                kind.code,
                owner,
                window,
                _STATUSES[status],
                None if rec is None else rec.id,
                ids,
            )

    def compliance(self, period: Interval, as_of: date) -> Compliance:
        """Counts per kind, per owner, per school (the owner's) and in total, in one pass."""
        acc: dict[tuple[str, str], list[int]] = {}
        for _cid, kind, owner, _w, status, _r, _ids in self._raw(period, as_of):
            key = (kind.code, owner)
            row = acc.get(key)
            if row is None:
                row = acc[key] = [0, 0, 0, 0]
            row[status] += 1
        school_of = self.school_of
        by_kind: dict[str, list[int]] = {}
        by_owner: dict[str, list[int]] = {}
        by_school_kind: dict[tuple[str, str], list[int]] = {}
        for (code, owner), row in acc.items():
            for table, k in ((by_kind, code), (by_owner, owner)):
                _add(table.setdefault(k, [0, 0, 0, 0]), row)
            _add(by_school_kind.setdefault((school_of.get(owner, ""), code), [0, 0, 0, 0]), row)
        by_school: dict[str, list[int]] = {}
        for (school, _), row in by_school_kind.items():
            _add(by_school.setdefault(school, [0, 0, 0, 0]), row)
        total = [sum(r[n] for r in by_kind.values()) for n in range(4)]
        return Compliance(
            period,
            as_of,
            _counts(total),
            {k: _counts(v) for k, v in by_kind.items()},
            {k: _counts(v) for k, v in by_owner.items()},
            {k: _counts(v) for k, v in by_school.items()},
            {k: _counts(v) for k, v in by_school_kind.items()},
        )

    def tallies(self, period: Interval, as_of: date) -> Iterator[Tally]:
        """One :class:`Tally` per (child, kind, owner) of the period, child by child (lazily)."""
        for cid in self.assignments.children():
            rows: dict[tuple[str, str], list[int]] = {}
            for _c, kind, owner, _w, status, _r, _i in self._raw(period, as_of, (cid,)):
                row = rows.get((kind.code, owner))
                if row is None:
                    row = rows[(kind.code, owner)] = [0, 0, 0, 0]
                row[status] += 1
            for (code, owner), (open_, done, overdue, upcoming) in rows.items():
                yield Tally(cid, code, owner, open_ + done + overdue, done, overdue, upcoming)

    def digest(
        self, staff_id: str, week_of: date, as_of: date, *, since: date | None = None
    ) -> Digest:
        """What ``staff_id`` owes in the Monday-start week containing ``week_of`` and has not
        done, and what is overdue since ``since`` (default: 1 September of the school year)."""
        monday = week_of - timedelta(days=week_of.weekday())
        week = Interval(monday, monday + timedelta(days=7))
        if since is None:
            since = date(monday.year if monday.month >= 9 else monday.year - 1, 9, 1)
        children = list(dict.fromkeys(a.child_id for a in self.assignments.of_staff(staff_id)))
        due = [
            _occurrence(raw)
            for raw in self._raw(week, as_of, children, staff_id=staff_id)
            if raw[4] != 1
        ]
        overdue: list[Occurrence] = []
        if since < week.start:
            before = Interval(since, week.start)
            overdue = [
                _occurrence(raw)
                for raw in self._raw(before, as_of, children, staff_id=staff_id)
                if raw[4] == 2
            ]
        overdue.extend(o for o in due if o.status is Status.OVERDUE and o not in overdue)
        due = [o for o in due if o.status is not Status.OVERDUE]
        return Digest(staff_id, week, as_of, since, due, overdue)

    def unmatched_records(
        self, period: Interval, as_of: date
    ) -> Iterator[tuple[Record, Unmatched]]:
        """Records dated in ``period`` (and on or before ``as_of``) that satisfy no occurrence,
        each with the reason; they are never counted."""
        if period.end is None:
            msg = "a period must be closed (end is None)"
            raise ValueError(msg)
        lo, hi = period.start, min(period.end, as_of + timedelta(days=1))
        for (cid, code), group in self._records.items():
            kind = self.kinds.get(code)
            dated = [r for r in group if lo <= r.on < hi]
            if not dated:
                continue
            if kind is None:
                yield from ((r, Unmatched.UNKNOWN_KIND) for r in sorted(dated, key=_by_day))
                continue
            used: set[str] = set()
            owners_by_window: dict[Interval, frozenset[str]] = {}
            for raw in self._raw(period, as_of, (cid,), (kind,)):
                owners_by_window[raw[3]] = raw[6]
                if raw[5] is not None:
                    used.add(raw[5].id)
            windows = self._windows_of(kind.window, period)
            for r in sorted(dated, key=_by_day):
                if r.id in used:
                    continue
                window = _window_at(windows, r.on) or Interval(r.on, r.on + timedelta(days=1))
                if r.staff_id in owners_by_window.get(window, frozenset()):
                    yield r, Unmatched.SURPLUS
                elif self._holds(r.staff_id, cid, kind, window):
                    yield r, Unmatched.NOT_OWED
                else:
                    yield r, Unmatched.UNASSIGNED

    def unassigned_records(self, period: Interval, as_of: date) -> Iterator[Record]:
        """Records by someone who held no owning role towards the child in the record's window."""
        for r, why in self.unmatched_records(period, as_of):
            if why is Unmatched.UNASSIGNED:
                yield r

    def _holds(self, staff_id: str, child_id: str, kind: DutyKind, window: Interval) -> bool:
        return any(
            a.staff_id == staff_id and a.role in kind.owner_roles and a.interval.overlaps(window)
            for a in self.assignments.of_child(child_id)
        )


def _make_windows(cal: SchoolCalendar, window: WindowKind, period: Interval) -> Sequence[Interval]:
    """The windows of ``window`` that share a day with the closed ``period``."""
    if window is WindowKind.SCHOOL_WEEKS:
        return cal.school_weeks(period)
    if window is WindowKind.TERM_MONTHS:
        return cal.term_months(period)
    if window is WindowKind.EVERY_MONTH:
        return cal.months(period)
    if window is WindowKind.SEMESTER:  # a semester without a school day owes nothing
        return [
            s.interval
            for s in cal.semesters_in(period)
            if cal.has_school_day(s.start.toordinal(), s.end.toordinal())
        ]
    assert period.end is not None  # noqa: S101 - checked by the caller
    return [
        Interval(date(y, 1, 1), date(y + 1, 1, 1))
        for y in range(period.start.year, (period.end - timedelta(days=1)).year + 1)
    ]


def _role_values(items: Iterable[str]) -> frozenset[str]:
    return frozenset(items)


@frozen
class DutyRule:
    """One duty kind as a store sees it: its ``code``, the ``roles`` (values of
    :class:`~leftbehind.domain.people.Role`) whose holders owe it, and whether each owes their
    own occurrence (``per_owner``)."""

    code: str
    roles: frozenset[str] = field(converter=_role_values)
    per_owner: bool = False


@frozen
class DutyPlan:
    """The duty rules of a period in plain numbers, for a store that counts duties itself.

    ``windows`` holds rows ``(code, window_start, window_end, run_start, run_end)`` of day
    ordinals (:meth:`datetime.date.toordinal`, half-open): for each window of each rule that meets
    ``period``, one row per run of days in which a share of the window counts. For the windows
    bound to the term these runs are the window's runs of consecutive school days; for the
    others the run is the whole window.

    The rule of :class:`DutyBook`, restated on these rows: an occurrence of ``code`` is owed to a
    child in a window when some day of one of the window's runs is both a day on which the child
    is served and a day on which an owner (an assignment whose role is in the rule's ``roles``)
    holds; ``per_owner`` rules owe one occurrence per such owner, the others one per child and
    window. It is done when one of those owners recorded the duty for the child inside the
    window (on or before ``as_of``); due once the window has begun; overdue once it has closed
    without a record.
    """

    period: Interval
    rules: tuple[DutyRule, ...]
    windows: tuple[tuple[str, int, int, int, int], ...]


def duty_plan(calendar: SchoolCalendar, kinds: Iterable[DutyKind], period: Interval) -> DutyPlan:
    """The :class:`DutyPlan` of ``kinds`` over the closed ``period`` on ``calendar``."""
    if period.end is None:
        msg = "a period must be closed (end is None)"
        raise ValueError(msg)
    rules: list[DutyRule] = []
    rows: list[tuple[str, int, int, int, int]] = []
    for kind in kinds:
        rules.append(DutyRule(kind.code, (r.value for r in kind.owner_roles), kind.per_owner))
        for w in _make_windows(calendar, kind.window, period):
            assert w.end is not None  # noqa: S101 - windows are closed
            ws, we = w.start.toordinal(), w.end.toordinal()
            if not kind.window.term_bound:
                rows.append((kind.code, ws, we, ws, we))
                continue
            run = None
            for day in range(ws, we):
                if calendar.has_school_day(day, day + 1):
                    run = day if run is None else run
                elif run is not None:
                    rows.append((kind.code, ws, we, run, day))
                    run = None
            if run is not None:
                rows.append((kind.code, ws, we, run, we))
    return DutyPlan(period, tuple(rules), tuple(rows))


_STATUSES = (Status.DUE, Status.DONE, Status.OVERDUE, Status.UPCOMING)


def _first(item: tuple[int, str, frozenset[str]]) -> int:
    return item[0]


def _add(acc: list[int], row: list[int]) -> None:
    for n in range(4):
        acc[n] += row[n]


def _counts(row: list[int]) -> Counts:
    open_, done, overdue, upcoming = row
    return Counts(open_ + done + overdue, done, overdue, upcoming)


def _occurrence(raw: _Raw) -> Occurrence:
    cid, kind, owner, window, status, rec, ids = raw
    rid = None if rec is None else rec.id
    return Occurrence(cid, kind.code, owner, window, _STATUSES[status], rid, ids)


def _by_day(r: Record) -> tuple[date, str]:
    return r.on, r.id


def _window_at(windows: _Windows, d: date) -> Interval | None:
    o = d.toordinal()
    i = bisect_right(windows.starts, o) - 1
    if i >= 0 and o < windows.ends[i]:
        return windows.intervals[i]
    return None
