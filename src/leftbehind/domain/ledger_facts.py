"""What the ledgers are built from: facts, timelines, staff and assignments, duty tallies.

Beyond the facts and the timelines, the ledger needs who cares for each child (the dated
:class:`~leftbehind.domain.people.Assignment` values) and how each duty stands in the period. The
duties come in a plain counted form, :class:`DutyTally`, so that any source (the duty engine, a
database query, a test) can feed them through a thin adapter and no occurrence is materialised.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping
from datetime import date
from typing import Protocol

from attrs import field, frozen

from leftbehind.domain.dates import Interval
from leftbehind.domain.eligibility import Timeline
from leftbehind.domain.i18n import text
from leftbehind.domain.model import Child, School
from leftbehind.domain.people import Assignment, Assignments, Staff

__all__ = [
    "DutyCount",
    "DutySource",
    "LedgerFacts",
    "MoveReason",
    "no_duties",
]


class DutyCount(Protocol):
    """How one duty kind owed by one person to one child stands in a period, as of a day.

    ``due`` counts the occurrences whose window has begun, ``done`` those satisfied by a record,
    ``overdue`` those whose window closed without one (``done + overdue <= due``).
    :class:`leftbehind.domain.duties.Tally` is one; so is any value with these attributes.
    """

    @property
    def child_id(self) -> str: ...

    @property
    def kind(self) -> str: ...

    @property
    def owner_id(self) -> str: ...

    @property
    def due(self) -> int: ...

    @property
    def done(self) -> int: ...

    @property
    def overdue(self) -> int: ...


#: A source of duty counts: ``source(period, as_of)`` gives every count of the period, such as
#: :meth:`leftbehind.domain.duties.DutyBook.tallies`.
DutySource = Callable[[Interval, date], Iterable[DutyCount]]


class MoveReason(enum.Enum):
    """Why a child entered or left a school's served children (動態變化原因)."""

    ENROLLED = "enrolled"
    TRANSFERRED_IN = "transferred_in"
    PARENT_LEFT = "parent_left"
    FAMILY_CHANGE = "family_change"
    POLICY = "policy"
    PARENT_RETURNED = "parent_returned"
    GRADUATED = "graduated"
    TRANSFERRED = "transferred"
    DROPPED_OUT = "dropped_out"
    LEFT_SCHOOL = "left_school"
    OTHER = "other"

    @property
    def label(self) -> str:
        return text(f"move.{self.value}")


def _schools(items: Mapping[str, School] | Iterable[School]) -> dict[str, School]:
    if isinstance(items, Mapping):
        return dict(items)
    return {s.id: s for s in items}


def _tuple_children(items: Iterable[Child]) -> tuple[Child, ...]:
    return tuple(items)


def _staff(items: Mapping[str, Staff] | Iterable[Staff]) -> dict[str, Staff]:
    if isinstance(items, Mapping):
        return dict(items)
    return {s.id: s for s in items}


def _assignments(items: Assignments | Iterable[Assignment]) -> Assignments:
    return items if isinstance(items, Assignments) else Assignments(items)


def no_duties(period: Interval, as_of: date) -> Iterable[DutyCount]:
    """A :data:`DutySource` that owes nothing: facts counted without duties."""
    return ()


@frozen
class LedgerFacts:
    """Everything a ledger is built from, for one county.

    ``timelines`` are the plan policy's (by child id); ``national`` the 2016 national rule's, for
    the reconciliation column (empty: not shown). ``policy`` and ``national_policy`` name them in
    the tables' stamp. ``staff`` and ``assignments`` say who cares for whom; ``duties`` gives the
    duty tallies of a period as of a day. ``county`` and ``county_code`` name the county (its
    6-digit administrative code, 行政區劃代碼): every table built from the facts carries them.
    """

    schools: dict[str, School] = field(converter=_schools)
    children: tuple[Child, ...] = field(converter=_tuple_children)
    timelines: Mapping[str, Timeline]
    national: Mapping[str, Timeline] = field(factory=dict)
    staff: dict[str, Staff] = field(factory=dict, converter=_staff)
    assignments: Assignments = field(factory=lambda: Assignments(()), converter=_assignments)
    duties: DutySource = no_duties
    county: str = ""
    county_code: str = ""
    policy: str = "guangping-plan/2"
    national_policy: str = ""

    def staff_name(self, staff_id: str) -> str:
        """The name of a staff member (``""`` when unknown)."""
        person = self.staff.get(staff_id)
        return person.name if person is not None else ""
