"""Calendar-month arithmetic and half-open intervals (SPEC §2: "3 months" are calendar months)."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leftbehind.domain.dates import (
    Interval,
    add_months,
    days_in_month,
    merge_intervals,
    school_year_of,
)
from leftbehind.testing.strategies import dates, month_end_dates


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2025, 11, 30), 3, date(2026, 2, 28)),
        (date(2023, 11, 30), 3, date(2024, 2, 29)),
        (date(2026, 1, 31), 3, date(2026, 4, 30)),
        (date(2026, 2, 10), 3, date(2026, 5, 10)),
        (date(2025, 11, 29), 3, date(2026, 2, 28)),
        (date(2024, 2, 29), 12, date(2025, 2, 28)),
        (date(2025, 12, 31), 2, date(2026, 2, 28)),
        (date(2026, 3, 31), -1, date(2026, 2, 28)),
        (date(2026, 5, 15), 0, date(2026, 5, 15)),
    ],
)
def test_add_months_worked_cases(start: date, months: int, expected: date) -> None:
    assert add_months(start, months) == expected


def test_days_in_month_and_school_year() -> None:
    assert [days_in_month(2024, 2), days_in_month(2025, 2), days_in_month(2025, 4)] == [29, 28, 30]
    assert school_year_of(date(2025, 8, 31)) == 2024
    assert school_year_of(date(2025, 9, 1)) == 2025


@given(dates(), st.integers(-240, 240))
def test_add_months_clamps_to_the_target_month(d: date, months: int) -> None:
    result = add_months(d, months)
    assert (result.year * 12 + result.month) - (d.year * 12 + d.month) == months
    assert result.day == min(d.day, days_in_month(result.year, result.month))


@given(dates(), dates(), st.integers(0, 120))
def test_add_months_is_monotonic_in_the_day(a: date, b: date, months: int) -> None:
    lo, hi = sorted((a, b))
    assert add_months(lo, months) <= add_months(hi, months)


@given(st.one_of(dates(), month_end_dates()))
def test_three_months_is_89_to_92_days(d: date) -> None:
    assert 89 <= (add_months(d, 3) - d).days <= 92


@given(dates(), st.integers(1, 24))
def test_add_months_then_back_never_overshoots(d: date, months: int) -> None:
    back = add_months(add_months(d, months), -months)
    assert back <= d
    assert back.month == d.month


def test_interval_is_half_open() -> None:
    spell = Interval(date(2026, 2, 10), date(2026, 3, 20))
    assert spell.contains(date(2026, 2, 10))
    assert spell.contains(date(2026, 3, 19))
    assert not spell.contains(date(2026, 3, 20))
    assert Interval(date(2026, 1, 1)).contains(date(2099, 1, 1))
    assert len(list(spell.days())) == 38
    assert Interval(date(2026, 1, 1), date(2026, 1, 1)).empty


def test_interval_rejects_an_end_before_the_start_and_open_days() -> None:
    with pytest.raises(ValueError, match="end before"):
        Interval(date(2026, 2, 1), date(2026, 1, 1))
    with pytest.raises(ValueError, match="open interval"):
        list(Interval(date(2026, 2, 1)).days())


def test_intersection_and_overlap() -> None:
    a = Interval(date(2026, 1, 1), date(2026, 2, 1))
    b = Interval(date(2026, 1, 15))
    assert a.intersection(b) == Interval(date(2026, 1, 15), date(2026, 2, 1))
    assert not a.overlaps(Interval(date(2026, 2, 1), date(2026, 3, 1)))


def test_merge_bridges_gaps_up_to_bridge_days() -> None:
    a = Interval(date(2026, 1, 1), date(2026, 1, 10))
    b = Interval(date(2026, 1, 20), date(2026, 2, 1))
    assert merge_intervals([b, a], bridge_days=10) == [Interval(a.start, b.end)]
    assert merge_intervals([b, a], bridge_days=9) == [a, b]
    assert merge_intervals([a, Interval(date(2026, 1, 5))]) == [Interval(a.start)]


@st.composite
def _intervals(draw: st.DrawFn) -> list[Interval]:
    out = []
    for _ in range(draw(st.integers(0, 6))):
        start = draw(dates(date(2025, 1, 1), date(2026, 12, 31)))
        length = draw(st.one_of(st.none(), st.integers(0, 90)))
        out.append(Interval(start, None if length is None else start + timedelta(days=length)))
    return out


@given(_intervals(), st.integers(0, 40), dates(date(2024, 12, 1), date(2027, 6, 1)))
def test_merge_keeps_every_day_and_leaves_gaps_longer_than_the_bridge(
    intervals: list[Interval], bridge: int, day: date
) -> None:
    merged = merge_intervals(intervals, bridge_days=bridge)
    if any(i.contains(day) for i in intervals):
        assert any(m.contains(day) for m in merged)
    for left, right in itertools.pairwise(merged):
        assert left.end is not None
        assert (right.start - left.end).days > bridge
