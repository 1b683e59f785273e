"""The built-in plugin: eligibility policies, duty kinds and calendars shipped with leftbehind.

Registered by :func:`leftbehind.plugins.make_plugin_manager` through the same ``register()`` as
third-party plugins, with ``trylast=True``; disable it with
``LEFTBEHIND_DISABLED_PLUGINS=leftbehind.builtins`` to replace every default. A plugin that
replaces only some defaults calls these functions for the rest (see the plugin hooks page).
"""

from __future__ import annotations

from collections.abc import Iterable

from leftbehind._markers import hookimpl
from leftbehind.domain.calendar import SchoolCalendar, default_calendar
from leftbehind.domain.duties import DEFAULT_KINDS
from leftbehind.domain.eligibility import NationalPolicy, PlanPolicy
from leftbehind.hookspecs import CalendarRecord, DutyKindRecord, PolicyRecord

__all__ = [
    "leftbehind_calendars",
    "leftbehind_duty_kinds",
    "leftbehind_eligibility_policies",
]


@hookimpl(trylast=True)
def leftbehind_eligibility_policies() -> list[PolicyRecord]:
    """The plan's rule (``guangping-plan``, the default) and the national rule of 2016."""
    plan, national = PlanPolicy(), NationalPolicy()
    return [
        PolicyRecord(
            plan.name, plan.version, PlanPolicy, "广平方案：父母一方或双方外出务工满3个月等"
        ),
        PolicyRecord(
            national.name,
            national.version,
            NationalPolicy,
            "国发〔2016〕13号：农村户籍、未满16周岁",
        ),
    ]


@hookimpl(trylast=True)
def leftbehind_duty_kinds() -> list[DutyKindRecord]:
    """The eight duties of the plan (:data:`~leftbehind.domain.duties.DEFAULT_KINDS`)."""
    return [DutyKindRecord(kind, "广平方案") for kind in DEFAULT_KINDS]


def _china_calendar(years: Iterable[int]) -> SchoolCalendar:
    """:func:`leftbehind.calendars.china_calendar`, imported on first use.

    The holiday packages take a while to import; a plugin manager that never builds a calendar
    of China should not pay for them.
    """
    from leftbehind import calendars

    return calendars.china_calendar(years)


@hookimpl(trylast=True)
def leftbehind_calendars() -> list[CalendarRecord]:
    """``china`` (official holidays and 调休 make-up days) and ``default`` (no holidays)."""
    return [
        CalendarRecord(
            "china", _china_calendar, "默认学期，国家法定节假日与调休上班日（chinesecalendar）"
        ),
        CalendarRecord("default", default_calendar, "默认学期，不含节假日"),
    ]
