"""The phases of an action year (行動年度的三個階段) and what each expects, as data.

- 部署階段 deployment, March–April: survey for the five clears (五清晰), build the ledger (台賬),
  launch ceremony (啟動儀式) in early April; the files and the ledger are due by 30 April.
- 實施階段 implementation, May–November: the duties of :mod:`leftbehind.domain.duties` run
  from 1 May.
- 總結階段 summary, December: meetings, experience, commendation (表彰) ranked from measured
  compliance.

January and February belong to no phase (:func:`phase_on` returns ``None``). Deadlines are
functions of the year, so a county can shift them by passing its own :class:`Milestone` values.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from datetime import date

from attrs import frozen

from leftbehind.domain.dates import Interval
from leftbehind.domain.i18n import language, text

__all__ = [
    "MILESTONES",
    "Milestone",
    "Phase",
    "duties_start",
    "launch_by",
    "ledger_deadline",
    "milestones",
    "phase_interval",
    "phase_on",
    "summary_deadline",
]


class Phase(enum.Enum):
    """A phase of the action year, with its months (first, last) and its Chinese name."""

    DEPLOYMENT = "deployment"
    IMPLEMENTATION = "implementation"
    SUMMARY = "summary"

    @property
    def label(self) -> str:
        """部署階段 …, in the language of the moment."""
        return text(f"phase.{self.value}")

    @property
    def months(self) -> tuple[int, int]:
        """The first and last month of the phase (both included)."""
        return _MONTHS[self]

    @property
    def expects(self) -> str:
        """What the plan expects in this phase, in the language of the moment."""
        return text(f"phase.{self.value}.expects")


_MONTHS: dict[Phase, tuple[int, int]] = {
    Phase.DEPLOYMENT: (3, 4),
    Phase.IMPLEMENTATION: (5, 11),
    Phase.SUMMARY: (12, 12),
}


def phase_interval(phase: Phase, year: int) -> Interval:
    """The days of ``phase`` in the action year ``year`` (half-open)."""
    first, last = phase.months
    end = date(year + 1, 1, 1) if last == 12 else date(year, last + 1, 1)
    return Interval(date(year, first, 1), end)


def phase_on(d: date) -> Phase | None:
    """The phase that ``d`` falls in, or ``None`` in January and February."""
    for phase in Phase:
        first, last = phase.months
        if first <= d.month <= last:
            return phase
    return None


def launch_by(year: int) -> date:
    """The last day of the launch window (啟動儀式, 四月上旬): 10 April."""
    return date(year, 4, 10)


def ledger_deadline(year: int) -> date:
    """The last day for the five-clears survey and the ledger: 30 April."""
    return date(year, 4, 30)


def duties_start(year: int) -> date:
    """The first day on which the duties run: 1 May."""
    return date(year, 5, 1)


def summary_deadline(year: int) -> date:
    """The last day of the summary phase: 31 December."""
    return date(year, 12, 31)


@frozen
class Milestone:
    """A dated expectation of the action year: a stable code, the phase, labels, and the day."""

    code: str
    phase: Phase
    label_zh: str
    label_en: str
    deadline: date

    @property
    def label(self) -> str:
        """The name in the language of the moment (the catalog's for the plan's milestones)."""
        key = f"milestone.{self.code}"
        found = text(key)
        if found != key:
            return found
        return self.label_en if language() == "en" else self.label_zh


#: The default milestones, each a function of the year.
MILESTONES: tuple[tuple[str, Phase, str, str, Callable[[int], date]], ...] = (
    ("launch", Phase.DEPLOYMENT, "启动仪式", "launch ceremony", launch_by),
    ("five_clears", Phase.DEPLOYMENT, "五清晰摸底调查", "five-clears survey", ledger_deadline),
    ("ledger", Phase.DEPLOYMENT, "建立台账", "ledger built", ledger_deadline),
    ("duties", Phase.IMPLEMENTATION, "职责开始", "duties begin", duties_start),
    ("summary", Phase.SUMMARY, "总结表彰", "summary and commendation", summary_deadline),
)


def milestones(year: int) -> tuple[Milestone, ...]:
    """The milestones of the action year ``year``, in order."""
    return tuple(
        Milestone(code, phase, zh, en, rule(year)) for code, phase, zh, en, rule in MILESTONES
    )
