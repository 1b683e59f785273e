"""Every hook a leftbehind plugin may implement, and the records the registration hooks return.

A plugin is a module (or object) with functions marked by :data:`leftbehind.plugins.hookimpl`,
named like the specs below, announced in its distribution's metadata::

    [project.entry-points.leftbehind]
    ourcounty = "ourcounty_leftbehind.plugin"

Registration hooks take no arguments and return a list of named records; leftbehind collects the
records of every plugin, and a name registered twice is an error naming both plugins (disable one
with ``LEFTBEHIND_DISABLED_PLUGINS``). Built-in records come from built-in plugins registered the
same way (``trylast=True``), so yours are listed first.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING

from attrs import field, frozen
from attrs.validators import instance_of

from leftbehind._markers import hookspec as _hookspec
from leftbehind.domain.duties import DutyKind
from leftbehind.domain.quality import QualityRule

if TYPE_CHECKING:
    from leftbehind.domain.calendar import SchoolCalendar
    from leftbehind.domain.eligibility import Policy
    from leftbehind.notifiers import Notifier
    from leftbehind.store import Store

__all__ = [
    "PLAIN_PATH",
    "BackendRecord",
    "CalendarRecord",
    "DutyKindRecord",
    "NotifierRecord",
    "PolicyRecord",
    "QualityRuleRecord",
    "leftbehind_calendars",
    "leftbehind_duty_kinds",
    "leftbehind_eligibility_policies",
    "leftbehind_notifiers",
    "leftbehind_quality_rules",
    "leftbehind_storage_backends",
]

#: The pseudo-scheme of a URL without ``scheme://``: a plain file path (TinyDB claims it).
PLAIN_PATH = ""


def _tuple(value: tuple[str, ...] | list[str] | str) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


@frozen
class BackendRecord:
    """A storage backend: the URL schemes it serves and a factory from a URL to a store.

    ``factory`` receives the whole URL (``"tinydb:///srv/county.json"``, or a plain path for
    :data:`PLAIN_PATH`) and returns an open :class:`~leftbehind.store.Store`.

    ``takes_create`` says the factory also takes the keyword ``create`` (``bool | None``) and
    honours it: ``False``, a store that does not exist raises
    :class:`~leftbehind.errors.StoreNotFoundError` and nothing is created; ``None`` (what
    ``factory(url)`` alone must mean), a missing store is created; ``True``, an existing empty
    one (a 0-byte file) is made a store too. A backend without it is opened only with
    ``create=None``: leftbehind refuses ``create=False`` for it rather than risk creating a
    store on a read.

    .. versionadded:: 0.1
       ``takes_create``.
    """

    name: str
    schemes: tuple[str, ...] = field(converter=_tuple)
    factory: Callable[[str], Store]
    description: str = ""
    takes_create: bool = False


@frozen
class NotifierRecord:
    """A notification channel: a name and a factory from its settings to a notifier."""

    name: str
    factory: Callable[[Mapping[str, str]], Notifier]
    description: str = ""


@frozen
class PolicyRecord:
    """An eligibility policy (認定口徑): name and version, and a factory for the policy."""

    name: str
    version: str
    factory: Callable[[], Policy]
    description: str = ""


@frozen
class DutyKindRecord:
    """A duty kind (職責): the :class:`~leftbehind.domain.duties.DutyKind`, named by its code."""

    kind: DutyKind = field(validator=instance_of(DutyKind))
    description: str = ""

    @property
    def name(self) -> str:
        """The kind's code, the name it is registered and chosen by."""
        return self.kind.code


@frozen
class QualityRuleRecord:
    """A data-quality rule (数据质量规则): the :class:`~leftbehind.domain.quality.QualityRule`,
    named by its code.

    .. versionadded:: 0.1
    """

    rule: QualityRule = field(validator=instance_of(QualityRule))
    description: str = ""

    @property
    def name(self) -> str:
        """The rule's code, the name it is registered by and findings name."""
        return self.rule.code


@frozen
class CalendarRecord:
    """A school calendar (校曆): a name and a factory from calendar years to a calendar.

    ``factory(years)`` returns a :class:`~leftbehind.domain.calendar.SchoolCalendar` with the
    terms that begin in those years, its holidays and make-up working days.
    """

    name: str
    factory: Callable[[Iterable[int]], SchoolCalendar]
    description: str = ""


@_hookspec
def leftbehind_storage_backends() -> list[BackendRecord]:
    """Register storage backends, each serving one or more URL schemes.

    Called when a store is opened by URL (:meth:`~leftbehind.plugins.Plugins.open_store`) and when
    backends are listed. Takes no parameters.

    :returns: the plugin's backends; two backends claiming one scheme are an error.

    Example plugin, a backend for ``county://`` URLs::

        from leftbehind.hookspecs import BackendRecord
        from leftbehind.plugins import hookimpl

        @hookimpl
        def leftbehind_storage_backends():
            return [BackendRecord("county", ("county",), CountyStore.from_url, "our archive")]

    .. versionadded:: 0.1
    """
    raise NotImplementedError


@_hookspec
def leftbehind_notifiers() -> list[NotifierRecord]:
    """Register notification channels (email, webhook, SMS gateway).

    Called when the outbox needs a notifier by name (:meth:`~leftbehind.plugins.Plugins.notifier`)
    and when channels are listed. Takes no parameters. Leftbehind calls each notifier on its own,
    so one failing channel never stops another.

    :returns: the plugin's notifiers; ``factory(config)`` gets the channel's settings.

    Example plugin::

        @hookimpl
        def leftbehind_notifiers():
            return [NotifierRecord("county-sms", lambda config: SmsNotifier(config["gateway"]))]

    .. versionadded:: 0.1
    """
    raise NotImplementedError


@_hookspec
def leftbehind_eligibility_policies() -> list[PolicyRecord]:
    """Register eligibility policies (認定口徑) that derive a child's timeline from facts.

    Called when a policy is chosen by name (:meth:`~leftbehind.plugins.Plugins.policy`) and when
    policies are listed. Takes no parameters. Built in: ``guangping-plan`` and ``national-2016``.

    :returns: the plugin's policies; ``factory()`` builds a
        :class:`~leftbehind.domain.eligibility.Policy` whose ``name`` and ``version`` match.

    Example plugin, the plan's rule without the bridge for short home stays::

        from leftbehind.domain.eligibility import PlanPolicy

        @hookimpl
        def leftbehind_eligibility_policies():
            strict = lambda: PlanPolicy(bridge_days=0, name="plan-strict", version="1")
            return [PolicyRecord("plan-strict", "1", strict, "no bridging of home stays")]

    .. versionadded:: 0.1
    """
    raise NotImplementedError


@_hookspec
def leftbehind_duty_kinds() -> list[DutyKindRecord]:
    """Register duty kinds (職責): what the county's staff owe each child, and how often.

    Called when duty status is computed (the kinds of a
    :class:`~leftbehind.domain.duties.DutyBook`), when records are checked against the known
    kinds, and when kinds are listed (:meth:`~leftbehind.plugins.Plugins.duty_kinds`). Takes no
    parameters. Built in: the eight kinds of the plan
    (:data:`~leftbehind.domain.duties.DEFAULT_KINDS`).

    :returns: the plugin's kinds, each a new code. A code registered twice — a default one
        included — is an error; to change a default kind, disable ``leftbehind.builtins`` and
        register the kinds you keep yourself (see the plugin hooks page).

    Example plugin, a monthly mental-health check by the class teacher (心理健康檢查)::

        from leftbehind.domain.duties import DutyKind, Frequency, WindowKind
        from leftbehind.domain.people import Role

        PSYCH_CHECK = DutyKind(
            "PSYCH_CHECK", "心理健康檢查", "mental-health check", {Role.CLASS_TEACHER},
            Frequency.MONTH, WindowKind.TERM_MONTHS,
        )

        @hookimpl
        def leftbehind_duty_kinds():
            return [DutyKindRecord(PSYCH_CHECK, "縣教育局2025年要求")]

    .. versionadded:: 0.1
    """
    raise NotImplementedError


@_hookspec
def leftbehind_calendars() -> list[CalendarRecord]:
    """Register school calendars (校曆) by name.

    Called when a calendar is chosen by name
    (:meth:`~leftbehind.plugins.Plugins.calendar`) and when calendars are listed. Takes no
    parameters. Built in: ``china`` (default terms, official holidays and 調休 make-up days) and
    ``default`` (default terms, no holidays).

    :returns: the plugin's calendars; ``factory(years)`` builds the
        :class:`~leftbehind.domain.calendar.SchoolCalendar` of the terms beginning in ``years``.

    Example plugin, the county's own terms and days off on top of China's holidays::

        from leftbehind.calendars import china_calendar

        def guangping(years):
            return china_calendar([], terms=county_terms(years), extra_days_off=county_days_off)

        @hookimpl
        def leftbehind_calendars():
            return [CalendarRecord("guangping", guangping, "廣平縣校曆")]

    .. versionadded:: 0.1
    """
    raise NotImplementedError


@_hookspec
def leftbehind_quality_rules() -> list[QualityRuleRecord]:
    """Register data-quality rules: named checks of the county's facts as of a day.

    Called when a county's data quality is checked (:meth:`leftbehind.County.quality`, the
    ``leftbehind check`` command) and when rules are listed
    (:meth:`~leftbehind.plugins.Plugins.quality_rules`). Takes no parameters. Built in: the
    seven rules of :data:`~leftbehind.domain.quality.DEFAULT_RULES`.

    :returns: the plugin's rules, each a new code. A code registered twice — a built-in one
        included — is an error; to change a built-in rule's threshold, disable
        ``leftbehind.builtins`` and register the rules you keep yourself.

    Example plugin, a record of a home visit on a Sunday (家访不在周日)::

        from leftbehind.domain.quality import Flag, QualityRule, Severity, school_of

        def sunday_visits(facts):
            for r in facts.records:
                if r.kind == "HOME_VISIT" and r.on.weekday() == 6:
                    yield Flag("record", r.id, school_of(facts, r.child_id, r.on), day=r.on)

        SUNDAY = QualityRule(
            "sunday_visit", Severity.INFO,
            {"zh_CN": "周日家访", "zh_TW": "週日家訪", "en": "home visit on a Sunday"},
            sunday_visits,
        )

        @hookimpl
        def leftbehind_quality_rules():
            return [QualityRuleRecord(SUNDAY, "县教育局要求")]

    .. versionadded:: 0.1
    """
    raise NotImplementedError
