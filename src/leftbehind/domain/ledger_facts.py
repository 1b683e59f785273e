"""What the ledgers are built from: facts, timelines, care links and duty tallies.

The ledger needs, beyond the facts and the timelines, who cares for each child (assignments and
pairings, dated) and how each duty stands in the period. It takes both in a plain form —
:class:`CareLink` and :class:`DutyTally` — so that any source (the duty engine, a database
query, a test) can feed it through a thin adapter.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date

from attrs import field, frozen

from leftbehind.domain.dates import Interval
from leftbehind.domain.eligibility import Timeline
from leftbehind.domain.model import Child, School

__all__ = [
    "CARE_ROLES",
    "CareLink",
    "DutySource",
    "DutyTally",
    "LedgerFacts",
    "MoveReason",
]

#: The roles a person can hold towards a child, with their Chinese names.
CARE_ROLES: dict[str, str] = {
    "class_teacher": "班主任",
    "subject_teacher": "任課教師",
    "proxy_parent": "代管家長",
    "staff_pair": "結對教師",
    "student_buddy": "結伴學生",
    "volunteer": "愛心人士",
    "village_group": "校外學習小組",
}


@frozen
class CareLink:
    """A dated link between a child and a person caring for them (an assignment or a pairing).

    ``role`` is a key of :data:`CARE_ROLES` (or a county's own); ``person_name`` is what the
    teacher table shows.
    """

    child_id: str
    person_id: str
    role: str
    start: date
    end: date | None = None
    person_name: str = ""

    def holds_on(self, d: date) -> bool:
        return self.start <= d and (self.end is None or d < self.end)


@frozen
class DutyTally:
    """How one duty kind owed by one person to one child stands in a period, as of a day.

    ``due`` counts the occurrences due so far in the period, ``done`` those satisfied by a record,
    ``overdue`` those whose window closed without one (``done + overdue <= due``).
    """

    child_id: str
    kind: str
    owner_id: str
    due: int
    done: int = 0
    overdue: int = 0


#: A source of duty tallies: ``source(period, as_of)`` gives every tally of the period.
DutySource = Callable[[Interval, date], Iterable[DutyTally]]


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
        return _MOVE_LABELS[self]


_MOVE_LABELS = {
    MoveReason.ENROLLED: "入學",
    MoveReason.TRANSFERRED_IN: "轉入",
    MoveReason.PARENT_LEFT: "父母外出",
    MoveReason.FAMILY_CHANGE: "家庭變故",
    MoveReason.POLICY: "政策調整",
    MoveReason.PARENT_RETURNED: "父母返鄉",
    MoveReason.GRADUATED: "畢業",
    MoveReason.TRANSFERRED: "轉出",
    MoveReason.DROPPED_OUT: "輟學",
    MoveReason.LEFT_SCHOOL: "離校",
    MoveReason.OTHER: "其他",
}


def _schools(items: Mapping[str, School] | Iterable[School]) -> dict[str, School]:
    if isinstance(items, Mapping):
        return dict(items)
    return {s.id: s for s in items}


def _tuple_children(items: Iterable[Child]) -> tuple[Child, ...]:
    return tuple(items)


def _tuple_links(items: Iterable[CareLink]) -> tuple[CareLink, ...]:
    return tuple(items)


def _no_duties(period: Interval, as_of: date) -> Iterable[DutyTally]:
    return ()


@frozen
class LedgerFacts:
    """Everything a ledger is built from, for one county.

    ``timelines`` are the plan policy's (by child id); ``national`` the 2016 national rule's, for
    the reconciliation column (empty: not shown). ``policy`` and ``national_policy`` name them in
    the tables' stamp. ``duties`` gives the duty tallies of a period as of a day.
    """

    schools: dict[str, School] = field(converter=_schools)
    children: tuple[Child, ...] = field(converter=_tuple_children)
    timelines: Mapping[str, Timeline]
    national: Mapping[str, Timeline] = field(factory=dict)
    links: tuple[CareLink, ...] = field(default=(), converter=_tuple_links)
    duties: DutySource = _no_duties
    county: str = ""
    policy: str = "guangping-plan/1"
    national_policy: str = ""
    _by_child: dict[str, list[CareLink]] | None = field(
        default=None, init=False, repr=False, eq=False, hash=False, alias="_by_child"
    )

    def links_of(self, child_id: str) -> Sequence[CareLink]:
        """The care links of one child (an index built on first use)."""
        index = self._by_child
        if index is None:
            index = {}
            for link in self.links:
                index.setdefault(link.child_id, []).append(link)
            object.__setattr__(self, "_by_child", index)
        return index.get(child_id, ())
