"""Sign-off (报送审核): a school's tables for a period go up level by level, kept as reported.

A school head **submits** the school's 动态状况表 for a :class:`Period` (a month, a semester or
a school year); the township officer **approves** it or **returns** it with a reason; the county
officer approves it in turn (or returns it). A county officer may **reopen** an approved period,
with a reason. :func:`advance` is the whole state machine (:data:`MOVES`):

=============  ======================================  ==================
action         from                                    to
=============  ======================================  ==================
``submit``     never submitted, returned, reopened     submitted
``approve``    submitted (township)                    township_approved
``approve``    township_approved (county)              approved
``return``     submitted (township or county),         returned
               township_approved (county)
``reopen``     approved (county)                       reopened
=============  ======================================  ==================

While a period is submitted or approved it is **locked** (:attr:`State.locked`): what the
tables as reported were made of may not change, except by a correction. What a change of a
child's file, an assignment or a record reaches is told by :func:`child_reaches`,
:func:`assignment_reaches` and :func:`record_reaches` — pure functions of the old and new
values, the school and the period:

- a **record** reaches a period when its day lies in it and the child was at the school that day;
- a **child's file** or an **assignment** reaches it when the child was at the school on a day of
  the period (or its eve, whose figures open the table) and the change alters what was known on
  the period's last day (:func:`~leftbehind.domain.model.known_on`): a fact dated after the
  period does not reach it. Contact details, health and the file's descriptions are the file's
  present state, not facts of a period, and never reach one.

>>> p = Period.parse("2026-03")
>>> p.key, p.start, p.last
('2026-03', datetime.date(2026, 3, 1), datetime.date(2026, 3, 31))
>>> s = advance(None, Action.SUBMIT, Level.SCHOOL)
>>> s, s.locked
(<State.SUBMITTED: 'submitted'>, True)
>>> advance(s, Action.APPROVE, Level.TOWNSHIP)
<State.TOWNSHIP_APPROVED: 'township_approved'>
"""

from __future__ import annotations

import calendar
import enum
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import date, timedelta

from attrs import evolve, field, frozen

from leftbehind.domain.dates import Interval, school_year_of
from leftbehind.domain.duties import Record
from leftbehind.domain.errors import LeftbehindError
from leftbehind.domain.i18n import text
from leftbehind.domain.model import Child, Parent, known_on
from leftbehind.domain.people import Assignment

__all__ = [
    "MOVES",
    "Action",
    "Correction",
    "Level",
    "Period",
    "Reported",
    "SignOff",
    "SignOffError",
    "State",
    "Step",
    "advance",
    "assignment_reaches",
    "assignments_reach",
    "at_school",
    "child_reaches",
    "next_level",
    "record_reaches",
    "school_months",
    "signoff_key",
]


class Level(enum.Enum):
    """Who takes a step: the school, the township (乡镇中心校), the county (县教育局)."""

    SCHOOL = "school"
    TOWNSHIP = "township"
    COUNTY = "county"

    @property
    def label(self) -> str:
        return text(f"signoff.level.{self.value}")


class Action(enum.Enum):
    SUBMIT = "submit"
    APPROVE = "approve"
    RETURN = "return"
    REOPEN = "reopen"

    @property
    def label(self) -> str:
        """The step as done (报送, submitted)."""
        return text(f"signoff.action.{self.value}")

    @property
    def todo(self) -> str:
        """The step as awaited (报送, submit)."""
        return text(f"signoff.todo.{self.value}")


class State(enum.Enum):
    """Where a school's period stands. ``None`` (no sign-off yet) is "not submitted"."""

    SUBMITTED = "submitted"
    TOWNSHIP_APPROVED = "township_approved"
    APPROVED = "approved"
    RETURNED = "returned"
    REOPENED = "reopened"

    @property
    def locked(self) -> bool:
        """Whether entry into the period is refused (except as a correction)."""
        return self in _LOCKED

    @property
    def label(self) -> str:
        return text(f"signoff.state.{self.value}")


_LOCKED = frozenset({State.SUBMITTED, State.TOWNSHIP_APPROVED, State.APPROVED})

#: Every allowed step: (state before, action, level) → state after.
MOVES: Mapping[tuple[State | None, Action, Level], State] = {
    (None, Action.SUBMIT, Level.SCHOOL): State.SUBMITTED,
    (State.RETURNED, Action.SUBMIT, Level.SCHOOL): State.SUBMITTED,
    (State.REOPENED, Action.SUBMIT, Level.SCHOOL): State.SUBMITTED,
    (State.SUBMITTED, Action.APPROVE, Level.TOWNSHIP): State.TOWNSHIP_APPROVED,
    (State.TOWNSHIP_APPROVED, Action.APPROVE, Level.COUNTY): State.APPROVED,
    (State.SUBMITTED, Action.RETURN, Level.TOWNSHIP): State.RETURNED,
    (State.SUBMITTED, Action.RETURN, Level.COUNTY): State.RETURNED,
    (State.TOWNSHIP_APPROVED, Action.RETURN, Level.COUNTY): State.RETURNED,
    (State.APPROVED, Action.REOPEN, Level.COUNTY): State.REOPENED,
}


class SignOffError(LeftbehindError, ValueError):
    """A step the sign-off cannot take now: ``code`` says why (``signoff_state`` — not from
    this state, or not at this level; ``period_open`` — the period has not ended;
    ``quality_errors`` — the data-quality checks found errors; ``reason_required``)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def advance(state: State | None, action: Action, level: Level) -> State:
    """The state after ``action`` taken at ``level`` from ``state``, or a
    :class:`SignOffError` (``signoff_state``) naming what was asked and where it stands."""
    after = MOVES.get((state, action, level))
    if after is None:
        where = state.label if state is not None else text("signoff.state.none")
        msg = text(
            "{level} cannot {action} a period that is {state}",
            level=level.label,
            action=action.label,
            state=where,
        )
        raise SignOffError("signoff_state", msg)
    return after


def next_level(state: State | None) -> Level:
    """The level whose step a period in ``state`` waits for (a system actor takes it)."""
    if state is State.SUBMITTED:
        return Level.TOWNSHIP
    if state in (State.TOWNSHIP_APPROVED, State.APPROVED):
        return Level.COUNTY
    return Level.SCHOOL


#: The years a period may fall in.
FIRST_YEAR, LAST_YEAR = 1900, 2999

_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")
_YEAR = re.compile(r"([0-9]{4})-([0-9]{4})")
_TERM = re.compile(r"([0-9]{4})-([0-9]{4})-([12])")


@frozen(order=True)
class Period:
    """A reporting period ``[start, end)`` with its key: a month (``2026-03``), a semester of a
    school year (``2025-2026-1``: September to January; ``2025-2026-2``: February to August) or
    a school year (``2025-2026``: 1 September to 31 August). The tables of a period are as of
    its last day."""

    key: str
    start: date
    end: date

    @classmethod
    def parse(cls, value: str) -> Period:
        """The period of a key; :class:`ValueError` for anything else."""
        value = value.strip()
        if m := _MONTH.fullmatch(value):
            year, month = int(m[1]), int(m[2])
            if not 1 <= month <= 12 or not FIRST_YEAR <= year <= LAST_YEAR:
                raise ValueError(value)
            days = calendar.monthrange(year, month)[1]
            return cls(value, date(year, month, 1), date(year, month, days) + timedelta(days=1))
        if m := _TERM.fullmatch(value):
            first = _school_year(int(m[1]), int(m[2]), value)
            if m[3] == "1":
                return cls(value, date(first, 9, 1), date(first + 1, 2, 1))
            return cls(value, date(first + 1, 2, 1), date(first + 1, 9, 1))
        if m := _YEAR.fullmatch(value):
            first = _school_year(int(m[1]), int(m[2]), value)
            return cls(value, date(first, 9, 1), date(first + 1, 9, 1))
        raise ValueError(value)

    @classmethod
    def month(cls, year: int, month: int) -> Period:
        return cls.parse(f"{year:04d}-{month:02d}")

    @property
    def last(self) -> date:
        """The period's last day: the day its tables are as of."""
        return self.end - timedelta(days=1)

    @property
    def interval(self) -> Interval:
        return Interval(self.start, self.end)

    @property
    def label(self) -> str:
        """``2026年3月``, ``2025—2026学年第一学期``, ``2025—2026学年`` in the language of the
        moment."""
        parts = self.key.split("-")
        if len(parts[1]) == 2:
            month = text(f"signoff.month.{int(parts[1])}")
            return text("{year}-{month}", year=parts[0], month=month)
        if len(parts) == 3:
            return text(
                "school year {first}-{second}, semester {n}",
                first=parts[0],
                second=parts[1],
                n=text(f"signoff.semester.{parts[2]}"),
            )
        return text("school year {first}-{second}", first=parts[0], second=parts[1])

    def ended_by(self, today: date) -> bool:
        """Whether the period's last day has come (a period is submitted from its last day)."""
        return self.last <= today


def _school_year(first: int, second: int, value: str) -> int:
    if second != first + 1 or not FIRST_YEAR <= first < LAST_YEAR:
        raise ValueError(value)
    return first


def school_months(today: date) -> list[Period]:
    """The months of the school year of ``today`` whose last day has come."""
    first = school_year_of(today)
    out = []
    for i in range(12):
        year, month = (first, 9 + i) if i < 4 else (first + 1, i - 3)
        p = Period.month(year, month)
        if p.ended_by(today):
            out.append(p)
    return out


# ---------------------------------------------------------------------------------------------
# What a change reaches.


def at_school(child: Child | None, school_id: str, period: Period) -> bool:
    """Whether ``child`` was at the school on a day of the period or on its eve (whose figures
    open the table)."""
    if child is None:
        return False
    window = Interval(period.start - timedelta(days=1), period.end)
    return any(e.school_id == school_id and window.overlaps(e.interval) for e in child.enrolments)


def _parent_view(parent: Parent | None) -> Parent | None:
    if parent is None:
        return None
    absences = tuple(evolve(a, place="") for a in parent.absences)
    return evolve(parent, absences=absences, name="", phone="")


def _dated(child: Child | None, day: date) -> Child | None:
    """The facts of ``child`` as known on ``day`` that a period's tables are made of: its
    present state (names, contacts, health, descriptions) left out."""
    if child is None:
        return None
    known = known_on(child, day)
    return evolve(
        known,
        name="",
        resident_id="",
        ethnicity="",
        village="",
        address="",
        boarding=False,
        father=_parent_view(known.father),
        mother=_parent_view(known.mother),
        guardian=None,
        guardianship=None,
        health=None,
        health_note="",
        personality="",
        hobbies="",
    )


def child_reaches(old: Child | None, new: Child | None, school_id: str, period: Period) -> bool:
    """Whether writing ``new`` over ``old`` (either ``None``: created, deleted) changes what the
    school's tables of ``period`` were made of (see the module's docs)."""
    if not (at_school(old, school_id, period) or at_school(new, school_id, period)):
        return False
    return _dated(old, period.last) != _dated(new, period.last)


def _assignment_view(a: Assignment | None, day: date) -> tuple[object, ...] | None:
    if a is None or a.start > day:
        return None
    end = a.end if a.end is not None and a.end <= day else None
    return (a.staff_id, a.child_id, a.role, a.start, end)


def assignment_reaches(
    old: Assignment | None,
    new: Assignment | None,
    child: Child | None,
    school_id: str,
    period: Period,
) -> bool:
    """Whether writing ``new`` over ``old`` changes who held the child in ``period`` as known
    on its last day, for a child at the school then."""
    if not at_school(child, school_id, period):
        return False
    return _assignment_view(old, period.last) != _assignment_view(new, period.last)


def record_reaches(
    old: Record | None,
    new: Record | None,
    child: Child | None,
    school_id: str,
    period: Period,
    since: Callable[[str], date] | None = None,
) -> bool:
    """Whether writing ``new`` over ``old`` changes the records the school's tables of
    ``period`` count: a record (before or after) of a child at the school then, dated by the
    period's last day and on or after ``since(kind)`` — the first day of the earliest window of
    its duty kind that meets the period (a yearly duty's record of January counts in March),
    the period's first day when not given."""
    if old == new or not at_school(child, school_id, period):
        return False
    for r in (old, new):
        if r is not None:
            first = since(r.kind) if since is not None else period.start
            if first <= r.on <= period.last:
                return True
    return False


def assignments_reach(
    old: Iterable[Assignment],
    new: Iterable[Assignment],
    child: Child | None,
    school_id: str,
    period: Period,
) -> bool:
    """:func:`assignment_reaches` for several at once (a study group's guides of one child)."""
    if not at_school(child, school_id, period):
        return False
    before = {_assignment_view(a, period.last) for a in old} - {None}
    after = {_assignment_view(a, period.last) for a in new} - {None}
    return before != after


# ---------------------------------------------------------------------------------------------
# What is kept.


@frozen
class Step:
    """One step taken: what, at which level, by whom (actor kind and key), when (UTC), why,
    and the digest of the tables it concerned."""

    action: Action
    level: Level
    actor: str
    actor_id: str
    at: str
    reason: str = ""
    sha256: str = ""


@frozen
class Reported:
    """The tables as submitted: the SHA-256 of their canonical JSON (the text itself is kept
    apart, by this digest: :meth:`leftbehind.County.signoff` gives it back), the data-quality
    findings counted when they were submitted (rule → count) and the corrections made since the
    school's previous submission (keys of :class:`Correction`)."""

    sha256: str
    findings: dict[str, int] = field(factory=dict)
    corrections: tuple[str, ...] = ()


@frozen
class SignOff:
    """A school's period on its way up: its state, every step taken, what was reported (and
    what an earlier approval reported, before the period was reopened)."""

    school_id: str
    township: str
    period: Period
    state: State
    locked: bool
    steps: tuple[Step, ...] = ()
    reported: Reported | None = None
    superseded: tuple[Reported, ...] = ()

    @property
    def key(self) -> str:
        return signoff_key(self.school_id, self.period)

    def step(self, action: Action) -> Step | None:
        """The last step of ``action`` taken, if any."""
        return next((s for s in reversed(self.steps) if s.action is action), None)


def signoff_key(school_id: str, period: Period) -> str:
    """The key of a school's period: ``S001@2026-03``."""
    return f"{school_id}@{period.key}"


@frozen
class Correction:
    """A change made into locked periods: by whom, when, why, by which command, of which
    documents (kind and keys), the periods it reached (their sign-off keys), and which of the
    keys reached each (``reached``: sign-off key → keys)."""

    id: str
    at: str
    actor: str
    actor_id: str
    reason: str
    command: str
    kind: str
    keys: tuple[str, ...]
    periods: tuple[str, ...]
    reached: dict[str, tuple[str, ...]] = field(factory=dict)

    def keys_of(self, signoff_key: str) -> tuple[str, ...]:
        """The keys whose change reached the period of ``signoff_key`` (all of them for a
        correction of one period)."""
        if signoff_key not in self.periods:
            return ()
        return self.reached.get(signoff_key, self.keys if len(self.periods) == 1 else ())
