"""The dated facts about schools and children that eligibility and the file (一人一檔) rest on.

All values are frozen attrs classes. Dates follow the half-open convention of
:mod:`leftbehind.domain.dates`: a fact's ``start`` is its first day, its ``end`` the first day it
no longer holds.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import date

from attrs import evolve, field, frozen

from leftbehind.domain.dates import Interval, school_year_of
from leftbehind.domain.i18n import text

__all__ = [
    "Absence",
    "Child",
    "Enrolment",
    "Guardian",
    "Guardianship",
    "Health",
    "LeaveReason",
    "Parent",
    "ParentRole",
    "School",
    "Sex",
    "Stage",
    "known_on",
]


class Sex(enum.Enum):
    """性別."""

    MALE = "male"
    FEMALE = "female"

    @property
    def label(self) -> str:
        return text(f"sex.{self.value}")


class Stage(enum.Enum):
    """學段: primary (小學, grades 1–6) or junior secondary (初中, grades 7–9)."""

    PRIMARY = "primary"
    JUNIOR = "junior"

    @property
    def label(self) -> str:
        return text(f"stage.{self.value}")

    @classmethod
    def of_grade(cls, grade: int) -> Stage:
        return cls.PRIMARY if grade <= 6 else cls.JUNIOR


class Health(enum.Enum):
    """身體情況."""

    HEALTHY = "healthy"
    DISABLED = "disabled"
    ILL = "ill"

    @property
    def label(self) -> str:
        return text(f"health.{self.value}")


class Guardianship(enum.Enum):
    """監護情況: how well the child is looked after at home, as the 2016 national registration
    form (農村留守兒童基本情況登記表) grades it: 較好, 一般, 差."""

    GOOD = "good"
    FAIR = "fair"
    POOR = "poor"

    @property
    def label(self) -> str:
        return text(f"guardianship.{self.value}")


class ParentRole(enum.Enum):
    FATHER = "father"
    MOTHER = "mother"

    @property
    def label(self) -> str:
        return text(f"parent.{self.value}")


class LeaveReason(enum.Enum):
    """Why an enrolment ended."""

    GRADUATED = "graduated"
    TRANSFERRED = "transferred"
    DROPPED_OUT = "dropped_out"
    OTHER = "other"

    @property
    def label(self) -> str:
        return text(f"leave.{self.value}")


def _absences(items: Iterable[Absence]) -> tuple[Absence, ...]:
    return tuple(items)


def _enrolments(items: Iterable[Enrolment]) -> tuple[Enrolment, ...]:
    return tuple(items)


def _stages(items: Iterable[Stage]) -> tuple[Stage, ...]:
    return tuple(sorted(set(items), key=lambda s: s.value != "primary"))


@frozen
class School:
    """A school of the county. Only pupils of rural schools (農村學校) are in the plan's scope.

    ``stages`` are the stages it teaches (學段: 小學, 初中, both for a 九年一貫制 school), as the
    school roster states them; empty when not stated. Ledgers count pupils by their grade.
    """

    id: str
    name: str
    township: str
    rural: bool = True
    stages: tuple[Stage, ...] = field(default=(), converter=_stages)


@frozen
class Absence:
    """A spell of working away (外出務工): from ``start`` until ``end`` (back on, 返回日期).

    ``start_assumed`` says the day it started was not known: ``start`` is the day of a
    registration form (填報日期) that listed the parent as away, and eligibility counts the
    spell from that day, each reason saying so.
    """

    start: date
    end: date | None = None
    place: str = ""
    start_assumed: bool = False

    @property
    def interval(self) -> Interval:
        return Interval(self.start, self.end)


@frozen
class Parent:
    """One parent's dated situation.

    ``known=False`` records that the parent is unknown to the family (不詳), which makes a
    single-parent family. A parent who is simply not recorded is ``None`` on the child, and
    decisions that need that parent report the fact as missing instead of guessing.
    """

    name: str = ""
    phone: str = ""
    absences: tuple[Absence, ...] = field(default=(), converter=_absences)
    deceased_on: date | None = None
    missing_since: date | None = None
    divorced_out_on: date | None = None
    no_capacity_since: date | None = None
    known: bool = True

    def away_on(self, d: date) -> Absence | None:
        """The absence that covers ``d``, if any."""
        for absence in self.absences:
            if absence.interval.contains(d):
                return absence
        return None

    @property
    def work_place(self) -> str:
        """The place of the latest absence (務工地點), or ``""``."""
        if not self.absences:
            return ""
        return max(self.absences, key=lambda a: a.start).place


@frozen
class Guardian:
    """The second guardian (第二監護人): the relative at home who looks after the child."""

    name: str
    relation: str
    phone: str = ""
    address: str = ""


@frozen
class Enrolment:
    """A pupil's time at one school: from ``start`` (入學日期) until ``end`` (left on).

    ``grade`` is the grade at ``start``; the grade on later dates advances every 1 September.
    """

    school_id: str
    start: date
    grade: int
    class_name: str = ""
    end: date | None = None
    end_reason: LeaveReason | None = None

    @property
    def interval(self) -> Interval:
        return Interval(self.start, self.end)

    def grade_on(self, d: date) -> int:
        """The grade on day ``d``, promoting the pupil each 1 September after ``start``."""
        return self.grade + school_year_of(d) - school_year_of(self.start)


@frozen
class Child:
    """A pupil's file (一人一檔): identity, the five clears, and dated facts for eligibility."""

    id: str
    name: str
    sex: Sex
    birth_date: date
    resident_id: str = ""
    rural_hukou: bool = True
    ethnicity: str = ""
    village: str = ""
    address: str = ""
    boarding: bool = False
    enrolments: tuple[Enrolment, ...] = field(default=(), converter=_enrolments)
    father: Parent | None = None
    mother: Parent | None = None
    guardian: Guardian | None = None
    abandoned_on: date | None = None
    health: Health | None = None
    health_note: str = ""
    personality: str = ""
    hobbies: str = ""
    guardianship: Guardianship | None = None

    def parent(self, role: ParentRole) -> Parent | None:
        return self.father if role is ParentRole.FATHER else self.mother

    def enrolment_on(self, d: date) -> Enrolment | None:
        """The enrolment that covers ``d``, if any."""
        for enrolment in self.enrolments:
            if enrolment.interval.contains(d):
                return enrolment
        return None


def _by(d: date | None, day: date) -> date | None:
    """A date taking effect by ``day``, else ``None`` (not yet known)."""
    return d if d is not None and d <= day else None


def _absences_known_on(absences: tuple[Absence, ...], day: date) -> tuple[Absence, ...]:
    if all(a.start <= day and (a.end is None or a.end <= day) for a in absences):
        return absences
    return tuple(
        a if a.end is None or a.end <= day else evolve(a, end=None)
        for a in absences
        if a.start <= day
    )


def _parent_known_on(parent: Parent | None, day: date) -> Parent | None:
    if parent is None:
        return None
    absences = _absences_known_on(parent.absences, day)
    dated = (parent.deceased_on, parent.missing_since, parent.divorced_out_on)
    if absences is parent.absences and all(
        d is None or d <= day for d in (*dated, parent.no_capacity_since)
    ):
        return parent
    return evolve(
        parent,
        absences=absences,
        deceased_on=_by(parent.deceased_on, day),
        missing_since=_by(parent.missing_since, day),
        divorced_out_on=_by(parent.divorced_out_on, day),
        no_capacity_since=_by(parent.no_capacity_since, day),
    )


def _enrolments_known_on(enrolments: tuple[Enrolment, ...], day: date) -> tuple[Enrolment, ...]:
    if all(e.start <= day and (e.end is None or e.end <= day) for e in enrolments):
        return enrolments
    return tuple(
        e if e.end is None or e.end <= day else evolve(e, end=None, end_reason=None)
        for e in enrolments
        if e.start <= day
    )


def known_on(child: Child, day: date) -> Child:
    """The child's facts as they stood on ``day`` (SPEC §9, "as of"): a fact taking effect
    after it is not known yet. A spell away or an enrolment beginning later is left out, one
    ending later is still going on; a death, disappearance, divorce, loss of guardianship
    capacity or abandonment dated later is left out. The same object when nothing takes effect
    after ``day``.

    >>> c = Child("C1", "", Sex.MALE, date(2015, 3, 1),
    ...           father=Parent(absences=(Absence(date(2026, 5, 1), date(2026, 9, 1)),)))
    >>> known_on(c, date(2026, 10, 1)) is c
    True
    >>> known_on(c, date(2026, 6, 1)).father.absences
    (Absence(start=datetime.date(2026, 5, 1), end=None, place='', start_assumed=False),)
    >>> known_on(c, date(2026, 4, 30)).father.absences
    ()
    """
    father = _parent_known_on(child.father, day)
    mother = _parent_known_on(child.mother, day)
    enrolments = _enrolments_known_on(child.enrolments, day)
    abandoned = _by(child.abandoned_on, day)
    if (
        father is child.father
        and mother is child.mother
        and enrolments is child.enrolments
        and abandoned == child.abandoned_on
    ):
        return child
    return evolve(
        child, father=father, mother=mother, enrolments=enrolments, abandoned_on=abandoned
    )
