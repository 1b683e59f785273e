"""Domain truth through the handle: a period's calendar holds every term overlapping it, and a
table as of a day depends only on the facts that took effect by that day (SPEC §9)."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from datetime import date

import pytest

import leftbehind
from leftbehind import Actor
from leftbehind.domain.dates import Interval
from leftbehind.domain.model import Absence, Child, Enrolment, Parent, School, Sex
from leftbehind.domain.people import Assignment, Role, Staff
from leftbehind.service import County

SYSTEM = Actor.system("tests")
TODAY = date(2026, 12, 31)
SCHOOL = School("S01", "平固店鎮中心小學", "平固店鎮", rural=True)
AWAY = Absence(date(2024, 3, 1), None, "北京")


def pupil(child_id: str = "C001", **changes: object) -> Child:
    """A pupil of S01 since 2023 whose parents have both worked away since March 2024."""
    facts: dict[str, object] = {
        "id": child_id,
        "name": "張小明",
        "sex": Sex.MALE,
        "birth_date": date(2016, 3, 2),
        "enrolments": (Enrolment("S01", date(2023, 9, 1), 1, "1班"),),
        "father": Parent(absences=(AWAY,)),
        "mother": Parent(absences=(AWAY,)),
    }
    facts.update(changes)
    return Child(**facts)  # type: ignore[arg-type]


@pytest.fixture
def county() -> Iterator[County]:
    """One served pupil with a class teacher since September 2025, nothing recorded."""
    with leftbehind.open("memory://", actor=SYSTEM, today=lambda: TODAY) as handle:
        handle.put_schools([SCHOOL])
        handle.put_children([pupil()])
        handle.put_staff([Staff("T1", "王老師", "S01", "教師")])
        handle.put_assignments(
            [Assignment("A1", "T1", "C001", Role.CLASS_TEACHER, date(2025, 9, 1))]
        )
        yield handle


def due(county: County, period: Interval, as_of: date) -> dict[str, int]:
    found = county.compliance(as_of, period).by_kind
    return {kind: counts.due for kind, counts in sorted(found.items()) if counts.due}


def test_january_owes_the_end_of_the_autumn_term(county: County) -> None:
    """January 2026 holds the last weeks of the autumn term of 2025: talks in the weeks of
    29 December, 5 and 12 January, the month's letter or call, and the term's report, safety
    education and parent lecture, and the year's festival."""
    january = Interval(date(2026, 1, 1), date(2026, 2, 1))
    assert due(county, january, date(2026, 1, 31)) == {
        "FAMILY_CONTACT": 1,
        "FESTIVAL": 1,
        "PARENT_LECTURE": 1,
        "PARENT_REPORT": 1,
        "SAFETY_EDUCATION": 1,
        "TALK": 3,
    }
    semesters = county.calendar(january).semesters
    assert any(s.start == date(2025, 9, 1) for s in semesters)


def test_a_calendar_year_owes_every_school_week_it_holds(county: County) -> None:
    """2026: three weeks of the autumn term of 2025, the spring term's twenty and the autumn
    term's eighteen less the National Day week, which has no school day: 40 talks."""
    year = Interval(date(2026, 1, 1), date(2027, 1, 1))
    found = due(county, year, TODAY)
    assert found["TALK"] == 40
    assert found["FAMILY_CONTACT"] == 11  # every month with a day of term: all but August
    assert found["PARENT_REPORT"] == 3  # autumn 2025, spring 2026, autumn 2026


def test_an_autumn_period_warns_only_for_years_it_touches(county: County) -> None:
    autumn = Interval(date(2026, 9, 1), date(2026, 12, 1))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        county.calendar(autumn)
        county.compliance(date(2026, 11, 30), autumn)
