"""Calendar arithmetic and half-open date intervals.

Every interval in leftbehind is half-open, ``[start, end)``: ``start`` is the first day a fact
holds and ``end`` is the first day it no longer holds (``None`` means still open). An absence
from 10 February "back on" 20 March is ``Interval(date(…, 2, 10), date(…, 3, 20))``; on 20 March
the parent is home.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Iterator
from datetime import date, timedelta

from attrs import frozen

__all__ = ["Interval", "add_months", "days_in_month", "merge_intervals", "school_year_of"]


_DAYS = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def days_in_month(year: int, month: int) -> int:
    """The number of days in ``month`` of ``year`` (28–31)."""
    return calendar.monthrange(year, month)[1]


def add_months(d: date, months: int) -> date:
    """``d`` moved by a number of calendar months, clamped to the end of the target month.

    This is the plan's "3 months" (三個月): away since 30 November qualifies on 28 February
    (29 in a leap year); away since 31 January qualifies on 30 April.

    >>> add_months(date(2025, 11, 30), 3)
    datetime.date(2026, 2, 28)
    >>> add_months(date(2023, 11, 30), 3)
    datetime.date(2024, 2, 29)
    >>> add_months(date(2026, 1, 31), 3)
    datetime.date(2026, 4, 30)
    """
    index = d.month - 1 + months
    year = d.year + index // 12
    month = index % 12 + 1
    day = d.day
    if day > 28:  # only the 29th to 31st can need clamping
        last = _DAYS[month] if month != 2 else 29 if calendar.isleap(year) else 28
        if day > last:
            day = last
    return date(year, month, day)


def school_year_of(d: date) -> int:
    """The calendar year in which the school year containing ``d`` began (it turns on 1 Sept)."""
    return d.year if d.month >= 9 else d.year - 1


@frozen(order=True)
class Interval:
    """A half-open run of days ``[start, end)``; ``end=None`` is open-ended."""

    start: date
    end: date | None = None

    def __attrs_post_init__(self) -> None:
        if self.end is not None and self.end < self.start:
            msg = "an interval cannot end before it starts"
            raise ValueError(msg)

    @property
    def empty(self) -> bool:
        return self.end is not None and self.end <= self.start

    def contains(self, d: date) -> bool:
        """Whether the day ``d`` lies inside the interval."""
        return self.start <= d and (self.end is None or d < self.end)

    def overlaps(self, other: Interval) -> bool:
        """Whether the two intervals share at least one day."""
        return self.intersection(other) is not None

    def intersection(self, other: Interval) -> Interval | None:
        """The days both intervals share, or ``None`` when they share none."""
        start = max(self.start, other.start)
        ends = [e for e in (self.end, other.end) if e is not None]
        end = min(ends) if ends else None
        if end is not None and end <= start:
            return None
        return Interval(start, end)

    def days(self) -> Iterator[date]:
        """Each day of a closed interval, in order."""
        if self.end is None:
            msg = "cannot list the days of an open interval"
            raise ValueError(msg)
        d = self.start
        while d < self.end:
            yield d
            d += timedelta(days=1)


def merge_intervals(intervals: Iterable[Interval], *, bridge_days: int = 0) -> list[Interval]:
    """Sort and merge intervals, joining those separated by a gap of at most ``bridge_days``.

    A gap is the number of days between one interval's end and the next one's start (0 when they
    touch). Open-ended intervals absorb everything after them.
    """
    ordered = sorted((i for i in intervals if not i.empty), key=lambda i: i.start)
    merged: list[Interval] = []
    for item in ordered:
        if merged:
            last = merged[-1]
            if last.end is None:
                continue
            if (item.start - last.end).days <= bridge_days:
                if item.end is None or item.end > last.end:
                    merged[-1] = Interval(last.start, item.end)
                continue
        merged.append(item)
    return merged
