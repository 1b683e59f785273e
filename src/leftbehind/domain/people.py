"""People and their dated assignments to children (人員與分工).

A :class:`Staff` member holds :class:`Assignment` values: a role towards one child over a
half-open interval (a teacher who leaves on 20 March stops owing duties that day). Every served
child should have a class teacher and a proxy parent (雙管理 dual management) and at least one
staff one-to-one pair (一對一幫扶); :func:`coverage` says which of these are missing on a day.
:class:`Assignments` indexes assignments by child and by staff for fast lookups.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from datetime import date

from attrs import field, frozen

from leftbehind.domain.dates import Interval
from leftbehind.domain.i18n import text

__all__ = [
    "REQUIRED_ROLES",
    "Assignment",
    "Assignments",
    "Role",
    "Staff",
    "StudyGroup",
    "coverage",
]


class Role(enum.Enum):
    """The role of a person towards a child. The order of declaration is the order of display."""

    CLASS_TEACHER = "class_teacher"
    SUBJECT_TEACHER = "subject_teacher"
    PROXY_PARENT = "proxy_parent"
    STAFF_PAIR = "staff_pair"
    STUDENT_BUDDY = "student_buddy"
    VOLUNTEER = "volunteer"
    GROUP_GUIDE = "group_guide"

    @property
    def label(self) -> str:
        """The name used in ledgers (班主任 …), in the language of the moment."""
        return text(f"role.{self.value}")

    @property
    def rank(self) -> int:
        """The position in the order of declaration (for sorting)."""
        return _ROLE_RANK[self]


_ROLE_RANK = {r: i for i, r in enumerate(Role)}

#: The roles every served child should have (班主任, 代管家長, 一對一幫扶教職工).
REQUIRED_ROLES: frozenset[Role] = frozenset(
    {Role.CLASS_TEACHER, Role.PROXY_PARENT, Role.STAFF_PAIR}
)


@frozen
class Staff:
    """A person who can hold assignments: school staff, a bureau officer, a student buddy or a
    volunteer (``school_id`` is the school they act for; ``title`` e.g. 教師, 校長, 志願者)."""

    id: str
    name: str
    school_id: str
    title: str = ""
    phone: str = ""


@frozen
class Assignment:
    """``staff_id`` holds ``role`` towards ``child_id`` from ``start`` until ``end`` (half-open).

    ``subject`` names the subject of a subject teacher (語文, 數學, …); empty otherwise.
    """

    id: str
    staff_id: str
    child_id: str
    role: Role
    start: date
    end: date | None = None
    subject: str = ""

    def __attrs_post_init__(self) -> None:
        if self.end is not None and self.end < self.start:
            msg = "an assignment cannot end before it starts"
            raise ValueError(msg)

    @property
    def interval(self) -> Interval:
        return Interval(self.start, self.end)

    def holds_on(self, d: date) -> bool:
        return self.start <= d and (self.end is None or d < self.end)


def _ids(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(items)


@frozen
class StudyGroup:
    """A village study group outside school (以村為單位的校外學習小組) with its guide teacher."""

    id: str
    school_id: str
    village: str
    guide_staff_id: str
    child_ids: tuple[str, ...] = field(converter=_ids)
    start: date
    end: date | None = None

    @property
    def interval(self) -> Interval:
        return Interval(self.start, self.end)

    def assignments(self) -> tuple[Assignment, ...]:
        """The guide's assignments (role :attr:`Role.GROUP_GUIDE`) to each child of the group."""
        return tuple(
            Assignment(
                f"{self.id}:{cid}", self.guide_staff_id, cid, Role.GROUP_GUIDE, self.start, self.end
            )
            for cid in self.child_ids
        )


class Assignments:
    """Assignments indexed by child and by staff (built once; lookups are dictionary reads)."""

    __slots__ = ("_by_child", "_by_staff", "all")

    def __init__(self, assignments: Iterable[Assignment]) -> None:
        self.all: tuple[Assignment, ...] = tuple(assignments)
        by_child: dict[str, list[Assignment]] = {}
        by_staff: dict[str, list[Assignment]] = {}
        for a in self.all:
            by_child.setdefault(a.child_id, []).append(a)
            by_staff.setdefault(a.staff_id, []).append(a)
        self._by_child = by_child
        self._by_staff = by_staff

    def __len__(self) -> int:
        return len(self.all)

    def of_child(self, child_id: str) -> Sequence[Assignment]:
        """Every assignment to ``child_id``, in input order."""
        return self._by_child.get(child_id, ())

    def of_staff(self, staff_id: str) -> Sequence[Assignment]:
        """Every assignment held by ``staff_id``, in input order."""
        return self._by_staff.get(staff_id, ())

    def children(self) -> Iterable[str]:
        """The ids of the children with at least one assignment."""
        return self._by_child.keys()

    def on(self, child_id: str, d: date) -> list[Assignment]:
        """The assignments to ``child_id`` that hold on ``d``."""
        return [a for a in self.of_child(child_id) if a.holds_on(d)]

    def roles_on(self, child_id: str, d: date) -> frozenset[Role]:
        """The roles someone holds towards ``child_id`` on ``d``."""
        return frozenset(a.role for a in self.of_child(child_id) if a.holds_on(d))

    def holders(self, child_id: str, role: Role, d: date) -> list[str]:
        """The staff ids holding ``role`` towards ``child_id`` on ``d``."""
        return [a.staff_id for a in self.of_child(child_id) if a.role is role and a.holds_on(d)]


def coverage(
    child_ids: Iterable[str],
    assignments: Assignments | Iterable[Assignment],
    d: date,
    *,
    required: frozenset[Role] = REQUIRED_ROLES,
) -> Mapping[str, frozenset[Role]]:
    """For each child in ``child_ids`` (the children served on ``d``), the required roles that
    nobody holds on ``d`` (an empty set when the child is fully covered).

    >>> a = Assignment("a1", "t1", "c1", Role.CLASS_TEACHER, date(2025, 9, 1))
    >>> sorted(r.value for r in coverage(["c1"], [a], date(2025, 9, 2))["c1"])
    ['proxy_parent', 'staff_pair']
    """
    index = assignments if isinstance(assignments, Assignments) else Assignments(assignments)
    return {cid: required - index.roles_on(cid, d) for cid in child_ids}
