"""China's school calendar from maintained packages: ``holidays`` and ``chinesecalendar``.

- Public holidays (法定节假日) and the days off in lieu come from the ``holidays`` package,
  which computes any year.
- Make-up working days (调休上班日) come from ``chinesecalendar`` (module ``chinese_calendar``)
  for the years it publishes; its own holiday list is added too, since it follows the State
  Council's notice of each year.
- A year ``chinesecalendar`` does not know falls back to ``holidays`` alone (with the weekend
  working days it knows, if any) and emits :class:`CalendarFallbackWarning` naming the years —
  never an error. Update ``chinesecalendar`` or pass ``extra_days_off`` and your own terms.

:func:`festival_suggestions` proposes days for the yearly festival duty (陪度有意义的节日).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from datetime import date
from typing import Any

from attrs import frozen

from leftbehind.domain.calendar import SchoolCalendar, Semester, default_semesters
from leftbehind.domain.i18n import language, text

__all__ = [
    "CalendarFallbackWarning",
    "Festival",
    "OfficialDays",
    "china_calendar",
    "festival_suggestions",
    "official_days",
]


class CalendarFallbackWarning(UserWarning):
    """``chinesecalendar`` has no data for some years; their make-up working days may be missing.

    ``years`` lists them.
    """

    def __init__(self, years: Iterable[int]) -> None:
        self.years: tuple[int, ...] = tuple(sorted(years))
        names = ", ".join(str(y) for y in self.years)
        super().__init__(
            f"chinesecalendar has no data for {names}: using the holidays package alone, "
            "so make-up working days (调休) may be missing; update chinesecalendar or supply "
            "the county's own calendar"
        )


@frozen
class OfficialDays:
    """The official days off and make-up working days of some years, and where they came from.

    ``fallback_years`` are the years taken from ``holidays`` alone.
    """

    holidays: frozenset[date]
    workdays: frozenset[date]
    fallback_years: frozenset[int]


def _chinese_calendar() -> Any:
    # Imported on first use: both holiday packages take a while to import, and most programs
    # that import leftbehind never build a calendar.
    import chinese_calendar

    return chinese_calendar


def _country_holidays(**kwargs: Any) -> Any:
    import holidays

    return holidays.country_holidays("CN", **kwargs)


def _published_years() -> frozenset[int]:
    chinese_calendar = _chinese_calendar()
    return frozenset(d.year for d in chinese_calendar.holidays) | frozenset(
        d.year for d in chinese_calendar.workdays
    )


def official_days(years: Iterable[int], *, warn: bool = True) -> OfficialDays:
    """Days off and make-up working days of China for ``years``.

    Emits :class:`CalendarFallbackWarning` (when ``warn``) if a year is unknown to
    ``chinesecalendar``.
    """
    wanted = sorted(set(years))
    if not wanted:
        return OfficialDays(frozenset(), frozenset(), frozenset())
    known = _published_years()
    chinese_calendar = _chinese_calendar()
    china = _country_holidays(years=wanted)
    off = {d for d in china if d.year in wanted}
    work: set[date] = set()
    fallback: set[int] = set()
    weekend_workdays: Iterable[date] = getattr(china, "weekend_workdays", ())
    for year in wanted:
        if year in known:
            off.update(d for d in chinese_calendar.holidays if d.year == year)
            work.update(d for d in chinese_calendar.workdays if d.year == year)
        else:
            fallback.add(year)
            work.update(d for d in weekend_workdays if d.year == year)
    if fallback and warn:
        warnings.warn(CalendarFallbackWarning(fallback), stacklevel=2)
    return OfficialDays(frozenset(off - work), frozenset(work), frozenset(fallback))


def china_calendar(
    years: Iterable[int],
    *,
    terms: Iterable[Semester] | None = None,
    extra_days_off: Iterable[date] = (),
) -> SchoolCalendar:
    """A school calendar for China: the default terms beginning in ``years`` (or the county's
    own ``terms``), the official holidays and make-up days of every year the terms touch, and
    the county's ``extra_days_off``.

    Emits :class:`CalendarFallbackWarning` when a touched year is unknown to ``chinesecalendar``.
    """
    semesters = (
        tuple(terms) if terms is not None else tuple(s for y in years for s in default_semesters(y))
    )
    touched: set[int] = set()
    for s in semesters:
        touched.update(range(s.start.year, s.end.year + 1))
    days = official_days(touched, warn=False)
    if days.fallback_years:
        warnings.warn(CalendarFallbackWarning(days.fallback_years), stacklevel=2)
    return SchoolCalendar(semesters, days.holidays, days.workdays, frozenset(extra_days_off))


@frozen
class Festival:
    """A suggested day for the yearly festival duty, with its Chinese and English names."""

    on: date
    name_zh: str
    name_en: str

    @property
    def name(self) -> str:
        """The festival's name in the language of the moment (``六一儿童节``, ``六一兒童節``,
        ``Children's Day``): the catalog's for the festivals leftbehind suggests, else
        ``name_en`` in English and ``name_zh`` in Chinese."""
        found = text(self.name_en)
        if found != self.name_en or language() == "en":
            return found
        return self.name_zh


def festival_suggestions(year: int) -> tuple[Festival, ...]:
    """Days to spend a meaningful festival with the child in ``year``, in date order: the Spring
    Festival (春节), Children's Day (六一儿童节, 1 June) and the Mid-Autumn Festival (中秋节).

    The lunar festivals are taken from ``holidays`` (its first day of each)."""
    china = _country_holidays(years=year, language="en_US")
    out = [Festival(date(year, 6, 1), "六一儿童节", "Children's Day")]
    for needle, zh, en in (
        ("Spring Festival", "春节", "Spring Festival"),
        ("Mid-Autumn", "中秋节", "Mid-Autumn Festival"),
    ):
        days = sorted(d for d in china.get_named(needle) if d.year == year)
        if days:
            out.append(Festival(days[0], zh, en))
    return tuple(sorted(out, key=lambda f: f.on))
