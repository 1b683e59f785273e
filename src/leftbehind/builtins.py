"""The built-in plugin: eligibility policies, duty kinds, calendars and data-quality rules
shipped with leftbehind.

Registered by :func:`leftbehind.plugins.make_plugin_manager` through the same ``register()`` as
third-party plugins, with ``trylast=True``; disable it with
``LEFTBEHIND_DISABLED_PLUGINS=leftbehind.builtins`` to replace every default. A plugin that
replaces only some defaults calls these functions for the rest (see the plugin hooks page).

The records' descriptions are in the language of the moment when the hooks are called
(``leftbehind.use``).
"""

from __future__ import annotations

from collections.abc import Iterable

from leftbehind._markers import hookimpl
from leftbehind.domain.calendar import SchoolCalendar, default_calendar
from leftbehind.domain.duties import DEFAULT_KINDS
from leftbehind.domain.eligibility import NationalPolicy, PlanPolicy
from leftbehind.domain.i18n import text
from leftbehind.domain.quality import DEFAULT_RULES
from leftbehind.hookspecs import CalendarRecord, DutyKindRecord, PolicyRecord, QualityRuleRecord

__all__ = [
    "leftbehind_calendars",
    "leftbehind_duty_kinds",
    "leftbehind_eligibility_policies",
    "leftbehind_quality_rules",
]


@hookimpl(trylast=True)
def leftbehind_eligibility_policies() -> list[PolicyRecord]:
    """The plan's rule (``guangping-plan``, the default) and the national rule of 2016."""
    plan, national = PlanPolicy(), NationalPolicy()
    return [
        PolicyRecord(
            plan.name,
            plan.version,
            PlanPolicy,
            text("Guangping's plan: one or both parents away working for 3 months or more, …"),
        ),
        PolicyRecord(
            national.name,
            national.version,
            NationalPolicy,
            text("State Council document 2016 No. 13: rural household, under 16"),
        ),
    ]


@hookimpl(trylast=True)
def leftbehind_duty_kinds() -> list[DutyKindRecord]:
    """The eight duties of the plan (:data:`~leftbehind.domain.duties.DEFAULT_KINDS`)."""
    return [DutyKindRecord(kind, text("Guangping's plan")) for kind in DEFAULT_KINDS]


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
            "china",
            _china_calendar,
            text(
                "The default terms, with the official holidays and make-up working days "
                "(chinesecalendar)"
            ),
        ),
        CalendarRecord("default", default_calendar, text("The default terms, without holidays")),
    ]


@hookimpl(trylast=True)
def leftbehind_quality_rules() -> list[QualityRuleRecord]:
    """The seven rules of :data:`~leftbehind.domain.quality.DEFAULT_RULES`."""
    return [QualityRuleRecord(rule, text("built-in data-quality rule")) for rule in DEFAULT_RULES]
