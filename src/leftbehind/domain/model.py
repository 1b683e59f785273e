"""The dated facts about schools and children that eligibility and the file (一人一檔) rest on.

All values are frozen attrs classes. Dates follow the half-open convention of
:mod:`leftbehind.domain.dates`: a fact's ``start`` is its first day, its ``end`` the first day it
no longer holds.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import date

from attrs import field, frozen

from leftbehind.domain.dates import Interval, school_year_of

__all__ = [
    "Absence",
    "Child",
    "Enrolment",
    "Guardian",
    "Health",
    "LeaveReason",
    "Parent",
    "ParentRole",
    "School",
    "Sex",
    "Stage",
]


class Sex(enum.Enum):
    """性別."""

    MALE = "male"
    FEMALE = "female"

    @property
    def label(self) -> str:
        return {"male": "男", "female": "女"}[self.value]


class Stage(enum.Enum):
    """學段: primary (小學, grades 1–6) or junior secondary (初中, grades 7–9)."""

    PRIMARY = "primary"
    JUNIOR = "junior"

    @property
    def label(self) -> str:
        return {"primary": "小學", "junior": "初中"}[self.value]

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
        return {"healthy": "健康", "disabled": "殘疾", "ill": "患病"}[self.value]


class ParentRole(enum.Enum):
    FATHER = "father"
    MOTHER = "mother"

    @property
    def label(self) -> str:
        return {"father": "父親", "mother": "母親"}[self.value]


class LeaveReason(enum.Enum):
    """Why an enrolment ended."""

    GRADUATED = "graduated"
    TRANSFERRED = "transferred"
    DROPPED_OUT = "dropped_out"
    OTHER = "other"

    @property
    def label(self) -> str:
        return {
            "graduated": "畢業",
            "transferred": "轉學",
            "dropped_out": "輟學",
            "other": "其他",
        }[self.value]


def _absences(items: Iterable[Absence]) -> tuple[Absence, ...]:
    return tuple(items)


def _enrolments(items: Iterable[Enrolment]) -> tuple[Enrolment, ...]:
    return tuple(items)


@frozen
class School:
    """A school of the county. Only pupils of rural schools (農村學校) are in the plan's scope."""

    id: str
    name: str
    township: str
    rural: bool = True


@frozen
class Absence:
    """A spell of working away (外出務工): from ``start`` until ``end`` (back on, 返回日期)."""

    start: date
    end: date | None = None
    place: str = ""

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

    def parent(self, role: ParentRole) -> Parent | None:
        return self.father if role is ParentRole.FATHER else self.mother

    def enrolment_on(self, d: date) -> Enrolment | None:
        """The enrolment that covers ``d``, if any."""
        for enrolment in self.enrolments:
            if enrolment.interval.contains(d):
                return enrolment
        return None
