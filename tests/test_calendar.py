"""The school calendar: terms, school days, weeks and months, and China's official days."""

from __future__ import annotations

import warnings
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leftbehind.calendars import (
    CalendarFallbackWarning,
    china_calendar,
    festival_suggestions,
    official_days,
)
from leftbehind.domain.calendar import SchoolCalendar, Semester, default_calendar
from leftbehind.domain.dates import Interval

years = st.integers(2000, 2090)


@given(years)
def test_the_default_terms_follow_the_rule(year: int) -> None:
    spring, autumn = default_calendar([year]).semesters
    assert spring.start.weekday() == 0
    assert (spring.start.month, 15 <= spring.start.day <= 21) == (2, True)
    assert spring.end.weekday() == 5  # the Saturday after the last Friday
    assert (spring.end.month, 2 <= spring.end.day <= 8) == (7, True)
    assert autumn.start == date(year, 9, 1)
    assert autumn.end.weekday() == 5
    assert (autumn.end.year, autumn.end.month, 15 <= autumn.end.day <= 21) == (year + 1, 1, True)
    assert "第二学期" in spring.name
    assert "第一学期" in autumn.name


@given(st.lists(years, min_size=1, max_size=4, unique=True), st.data())
def test_school_days_are_weekdays_in_term(picked: list[int], data: st.DataObject) -> None:
    cal = default_calendar(picked)
    day = data.draw(st.dates(date(min(picked), 1, 1), date(max(picked) + 1, 12, 31)))
    expected = day.weekday() < 5 and any(s.start <= day < s.end for s in cal.semesters)
    assert cal.is_school_day(day) == expected
    assert cal.in_term(day) == any(s.contains(day) for s in cal.semesters)
    semester = cal.semester_on(day)
    assert (semester is not None) == cal.in_term(day)
    assert not any(v.contains(day) for v in cal.vacations()) or not cal.in_term(day)


def test_holidays_make_up_days_and_county_days_off() -> None:
    cal = SchoolCalendar(
        (Semester(date(2025, 9, 1), date(2026, 1, 17), "秋"),),
        holidays={date(2025, 10, 1), date(2025, 10, 4)},
        workdays={date(2025, 9, 28), date(2025, 8, 30), date(2025, 10, 4)},
        days_off={date(2025, 9, 10), date(2025, 9, 28)},
    )
    assert not cal.is_school_day(date(2025, 10, 1))  # a public holiday on a Wednesday
    assert not cal.is_school_day(date(2025, 8, 30))  # a make-up Saturday before the term
    assert cal.is_school_day(date(2025, 10, 4))  # a make-up day wins over a holiday
    assert not cal.is_school_day(date(2025, 9, 10))  # the county's day off (Teachers' Day)
    assert not cal.is_school_day(date(2025, 9, 28))  # the county's day off wins over a make-up
    assert cal.with_days_off([date(2025, 9, 11)]).days_off >= {date(2025, 9, 10), date(2025, 9, 11)}
    assert cal.school_days(Interval(date(2025, 9, 1), date(2025, 9, 8))) == 5


def test_semesters_must_not_overlap_or_be_empty() -> None:
    with pytest.raises(ValueError, match="overlap"):
        SchoolCalendar(
            (
                Semester(date(2025, 2, 1), date(2025, 7, 1)),
                Semester(date(2025, 6, 1), date(2025, 9, 1)),
            )
        )
    with pytest.raises(ValueError, match="end after"):
        Semester(date(2025, 2, 1), date(2025, 2, 1))


@given(st.dates(date(2024, 6, 1), date(2026, 12, 1)), st.integers(1, 200))
def test_school_weeks_hold_every_school_day_and_only_weeks_with_one(
    start: date, length: int
) -> None:
    cal = default_calendar([2024, 2025, 2026], holidays={date(2025, 10, d) for d in range(1, 9)})
    period = Interval(start, start + timedelta(days=length))
    weeks = cal.school_weeks(period)
    assert cal.school_weeks(period) is weeks  # cached
    for w in weeks:
        assert w.start.weekday() == 0
        assert w.overlaps(period)
        assert any(cal.is_school_day(d) for d in w.days())
    covered = {d for w in weeks for d in w.days()}
    assert all(d in covered for d in period.days() if cal.is_school_day(d))
    months = cal.term_months(period)
    assert all(any(cal.is_school_day(d) for d in m.days()) for m in months)
    assert {d for m in cal.months(period) for d in m.days()} >= set(period.days())
    assert list(cal.semesters_in(period)) == [
        s for s in cal.semesters if s.interval.overlaps(period)
    ]


def test_vacations_lie_between_terms() -> None:
    cal = default_calendar([2025])
    assert cal.vacations() == (Interval(date(2025, 7, 5), date(2025, 9, 1)),)
    assert cal.vacations(Interval(date(2025, 1, 1), date(2025, 2, 1))) == ()
    with pytest.raises(ValueError, match="closed"):
        cal.school_weeks(Interval(date(2025, 1, 1)))


def test_chinesecalendar_make_up_days_for_2025() -> None:
    cal = china_calendar([2025])
    assert cal.is_school_day(date(2025, 9, 28))  # Sunday, worked for National Day
    assert cal.is_school_day(date(2025, 10, 11))  # Saturday, worked for National Day
    assert not cal.is_school_day(date(2025, 10, 6))  # Mid-Autumn Festival
    assert not cal.is_school_day(date(2025, 10, 8))  # a day off in lieu
    assert not cal.is_school_day(date(2025, 5, 5))  # Labour Day in lieu
    assert cal.is_school_day(date(2025, 4, 27))  # Sunday, worked for Labour Day
    assert not cal.is_school_day(date(2025, 4, 26))  # the Saturday before it
    assert not cal.is_school_day(date(2026, 1, 1))  # New Year of the next year, in term


def test_a_make_up_day_inside_the_term_is_a_school_day_and_outside_it_is_not() -> None:
    cal = china_calendar([2025])
    assert date(2025, 2, 8) in cal.workdays  # a Saturday before the spring term
    assert not cal.is_school_day(date(2025, 2, 8))


def test_a_year_chinesecalendar_does_not_know_falls_back_with_a_warning() -> None:
    with pytest.warns(CalendarFallbackWarning, match="2031") as caught:
        cal = china_calendar([2031])
    assert caught[0].message.years == (2031, 2032)  # type: ignore[union-attr]
    assert not cal.is_school_day(date(2031, 10, 1))  # National Day, from holidays
    assert cal.is_school_day(date(2031, 9, 2))
    with pytest.warns(CalendarFallbackWarning):
        days = official_days([2040])
    assert days.fallback_years == frozenset({2040})
    assert date(2040, 10, 1) in days.holidays


def test_a_known_year_does_not_warn() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        days = official_days([2024, 2025])
    assert days.fallback_years == frozenset()
    assert date(2024, 2, 4) in days.workdays


def test_a_county_supplies_its_own_terms_and_days_off() -> None:
    terms = [
        Semester(date(2025, 2, 10), date(2025, 7, 12), "春"),
        Semester(date(2025, 8, 25), date(2026, 1, 24), "秋"),
    ]
    cal = china_calendar([], terms=terms, extra_days_off=[date(2025, 9, 10)])
    assert cal.semesters == tuple(terms)
    assert cal.is_school_day(date(2025, 8, 25))
    assert not cal.is_school_day(date(2025, 9, 10))
    assert cal.is_school_day(date(2025, 9, 11))
    assert not cal.is_school_day(date(2025, 10, 1))


def test_festival_suggestions() -> None:
    got = festival_suggestions(2025)
    assert [(f.on, f.name_zh) for f in got] == [
        (date(2025, 1, 29), "春节"),
        (date(2025, 6, 1), "六一儿童节"),
        (date(2025, 10, 6), "中秋节"),
    ]
    assert [f.on for f in festival_suggestions(2026)] == [
        date(2026, 2, 17),
        date(2026, 6, 1),
        date(2026, 9, 25),
    ]
