"""The school calendar (校历): semesters, vacations and school days.

A :class:`SchoolCalendar` is a value: its semesters (学期, half-open ``[start, end)``), the
official public holidays (法定节假日), the make-up working days (调休上班日) and the extra days
off a county sets. Everything else is computed from these:

- :meth:`SchoolCalendar.is_school_day` — a weekday inside a semester, minus the holidays and the
  county's days off, plus the make-up working days that fall inside a semester. A county's day off
  wins over everything; a make-up day wins over a holiday.
- :meth:`SchoolCalendar.school_weeks` — Monday-start weeks with at least one school day, the
  window of the weekly talk (谈心).
- :meth:`SchoolCalendar.term_months` — calendar months with at least one school day.
- :meth:`SchoolCalendar.vacations` — the gaps between semesters (寒假, 暑假).

This module knows no holiday package: :mod:`leftbehind.calendars` fills the holidays and make-up
days for China. :func:`default_calendar` makes the terms of the default rule (see its docstring).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator
from datetime import date, timedelta
from itertools import pairwise

from attrs import field, frozen

from leftbehind.domain.dates import Interval
from leftbehind.domain.i18n import text

__all__ = ["SchoolCalendar", "Semester", "default_calendar", "default_semesters"]


@frozen(order=True)
class Semester:
    """One term (学期): from ``start`` (first day) until ``end`` (the first day of the vacation)."""

    start: date
    end: date
    name: str = field(default="", order=False)

    def __attrs_post_init__(self) -> None:
        if self.end <= self.start:
            msg = "a semester must end after it starts"
            raise ValueError(msg)

    @property
    def interval(self) -> Interval:
        return Interval(self.start, self.end)

    def contains(self, d: date) -> bool:
        return self.start <= d < self.end


def _semesters(items: Iterable[Semester]) -> tuple[Semester, ...]:
    ordered = tuple(sorted(items))
    for a, b in pairwise(ordered):
        if b.start < a.end:
            msg = "semesters must not overlap"
            raise ValueError(msg)
    return ordered


def _dates(items: Iterable[date]) -> frozenset[date]:
    return frozenset(items)


class _Index:
    """School days as sorted ordinals, the semester starts, and the windows asked for."""

    __slots__ = ("days", "month_cache", "starts", "week_cache")

    def __init__(self, calendar: SchoolCalendar) -> None:
        self.starts = [s.start for s in calendar.semesters]
        days: list[int] = []
        for s in calendar.semesters:
            days.extend(
                o for o in range(s.start.toordinal(), s.end.toordinal()) if calendar._rule(o)
            )
        self.days = days
        self.week_cache: dict[tuple[date, date], tuple[Interval, ...]] = {}
        self.month_cache: dict[tuple[date, date, bool], tuple[Interval, ...]] = {}


@frozen
class SchoolCalendar:
    """A county's school calendar (校历).

    ``holidays`` are the official public holidays and days off in lieu (法定节假日, 调休放假),
    ``workdays`` the make-up working days on weekends (调休上班), ``days_off`` the extra days off
    the county (or a school) sets. Only days inside a semester can be school days.
    """

    semesters: tuple[Semester, ...] = field(converter=_semesters)
    holidays: frozenset[date] = field(default=frozenset(), converter=_dates)
    workdays: frozenset[date] = field(default=frozenset(), converter=_dates)
    days_off: frozenset[date] = field(default=frozenset(), converter=_dates)
    _index: _Index | None = field(
        default=None, init=False, repr=False, eq=False, hash=False, alias="_index"
    )

    def _lookup(self) -> _Index:
        index = self._index
        if index is None:
            index = _Index(self)
            object.__setattr__(self, "_index", index)
        return index

    def _rule(self, ordinal: int) -> bool:
        d = date.fromordinal(ordinal)
        if d in self.days_off:
            return False
        if d in self.workdays:
            return True
        return d.weekday() < 5 and d not in self.holidays

    # -- single days ------------------------------------------------------------------------

    def semester_on(self, d: date) -> Semester | None:
        """The semester that contains ``d``, or ``None`` in a vacation."""
        i = bisect_right(self._lookup().starts, d) - 1
        if i >= 0 and self.semesters[i].contains(d):
            return self.semesters[i]
        return None

    def in_term(self, d: date) -> bool:
        """Whether ``d`` lies inside a semester (a weekend in term is in term)."""
        return self.semester_on(d) is not None

    def is_school_day(self, d: date) -> bool:
        """Whether pupils are at school on ``d``."""
        return self.semester_on(d) is not None and self._rule(d.toordinal())

    def school_days(self, interval: Interval) -> int:
        """The number of school days in a closed interval."""
        start, end = _bounds(interval)
        days = self._lookup().days
        return bisect_left(days, end.toordinal()) - bisect_left(days, start.toordinal())

    def has_school_day(self, start: int, end: int) -> bool:
        """Whether the days with ordinals in ``[start, end)`` hold a school day (fast path)."""
        days = self._lookup().days
        i = bisect_left(days, start)
        return i < len(days) and days[i] < end

    # -- windows ----------------------------------------------------------------------------

    def semesters_in(self, interval: Interval) -> Iterator[Semester]:
        """The semesters that share at least one day with ``interval``."""
        for s in self.semesters:
            if (interval.end is None or s.start < interval.end) and interval.start < s.end:
                yield s

    def school_weeks(self, interval: Interval) -> tuple[Interval, ...]:
        """Monday-start weeks ``[Mon, next Mon)`` that meet ``interval`` and hold a school day.

        The weeks are whole: a week that begins before ``interval`` is included when it meets it.
        """
        start, end = _bounds(interval)
        index = self._lookup()
        key = (start, end)
        cached = index.week_cache.get(key)
        if cached is None:
            monday = start - timedelta(days=start.weekday())
            weeks: list[Interval] = []
            while monday < end:
                o = monday.toordinal()
                if self.has_school_day(o, o + 7):
                    weeks.append(Interval(monday, monday + timedelta(days=7)))
                monday += timedelta(days=7)
            cached = index.week_cache[key] = tuple(weeks)
        return cached

    def months(self, interval: Interval, *, term_only: bool = False) -> tuple[Interval, ...]:
        """Calendar months that meet ``interval``; with ``term_only``, those with a school day."""
        start, end = _bounds(interval)
        index = self._lookup()
        key = (start, end, term_only)
        cached = index.month_cache.get(key)
        if cached is None:
            months: list[Interval] = []
            first = start.replace(day=1)
            while first < end:
                nxt = _next_month(first)
                if not term_only or self.has_school_day(first.toordinal(), nxt.toordinal()):
                    months.append(Interval(first, nxt))
                first = nxt
            cached = index.month_cache[key] = tuple(months)
        return cached

    def term_months(self, interval: Interval) -> tuple[Interval, ...]:
        """Months of term (calendar months with at least one school day) that meet ``interval``."""
        return self.months(interval, term_only=True)

    def vacations(self, interval: Interval | None = None) -> tuple[Interval, ...]:
        """The gaps between semesters (寒假, 暑假), optionally only those meeting ``interval``."""
        gaps = [Interval(a.end, b.start) for a, b in pairwise(self.semesters) if a.end < b.start]
        if interval is None:
            return tuple(gaps)
        return tuple(g for g in gaps if g.overlaps(interval))

    def with_days_off(self, days: Iterable[date]) -> SchoolCalendar:
        """The same calendar with more days off set by the county."""
        return SchoolCalendar(
            self.semesters, self.holidays, self.workdays, self.days_off | frozenset(days)
        )


def _bounds(interval: Interval) -> tuple[date, date]:
    if interval.end is None:
        msg = "a period must be closed (end is None)"
        raise ValueError(msg)
    return interval.start, interval.end


def _next_month(first: date) -> date:
    return date(first.year + 1, 1, 1) if first.month == 12 else date(first.year, first.month + 1, 1)


def _weekday_in(year: int, month: int, first_day: int, weekday: int) -> date:
    """The day with ``weekday`` (0 = Monday) among the seven days from ``first_day``."""
    d = date(year, month, first_day)
    return d + timedelta(days=(weekday - d.weekday()) % 7)


def default_semesters(year: int) -> tuple[Semester, Semester]:
    """The default terms that begin in calendar ``year`` (the library's rule, not a law).

    - spring term (第二学期): from the Monday falling on 15–21 February to the Friday falling on
      1–7 July (its ``end`` is the Saturday after);
    - autumn term (第一学期): from 1 September to the Friday falling on 14–20 January of the
      next year (its ``end`` is the Saturday after).

    The rule ignores the Spring Festival on purpose (it needs the lunar calendar): the holidays
    removed from the school days take care of a late festival. A county that knows its own dates
    supplies its own :class:`Semester` values instead.
    """
    spring = Semester(
        _weekday_in(year, 2, 15, 0),
        _weekday_in(year, 7, 1, 4) + timedelta(days=1),
        text("semester.second", start=year - 1, end=year),
    )
    autumn = Semester(
        date(year, 9, 1),
        _weekday_in(year + 1, 1, 14, 4) + timedelta(days=1),
        text("semester.first", start=year, end=year + 1),
    )
    return spring, autumn


def default_calendar(
    years: Iterable[int],
    *,
    holidays: Iterable[date] = frozenset(),
    workdays: Iterable[date] = frozenset(),
    days_off: Iterable[date] = frozenset(),
) -> SchoolCalendar:
    """A calendar with the default terms beginning in each calendar year of ``years``.

    >>> cal = default_calendar([2025])
    >>> [(s.start.isoformat(), s.end.isoformat()) for s in cal.semesters]
    [('2025-02-17', '2025-07-05'), ('2025-09-01', '2026-01-17')]
    >>> cal.is_school_day(date(2025, 9, 1)), cal.is_school_day(date(2025, 8, 29))
    (True, False)
    """
    terms = [s for y in sorted(set(years)) for s in default_semesters(y)]
    return SchoolCalendar(
        tuple(terms), frozenset(holidays), frozenset(workdays), frozenset(days_off)
    )
