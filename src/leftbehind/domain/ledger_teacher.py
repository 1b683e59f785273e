"""The teacher's contact table (聯絡信息表): each served child a person is responsible for.

A person is responsible for a child on a day when one of their care links holds that day and
the child is served that day. Each row carries what the teacher needs to act: the class, the
categories, the second guardian and both parents (relation, status, phone, work place), the
proxy parents and pairings, and the status of each duty this person owes the child in the period.
Phones are kept whole here; rendering masks them unless asked otherwise.
"""

from __future__ import annotations

from datetime import date

from attrs import frozen

from leftbehind.domain.dates import Interval
from leftbehind.domain.eligibility import Category
from leftbehind.domain.ledger_build import stamp_of
from leftbehind.domain.ledger_facts import CARE_ROLES, CareLink, DutyTally, LedgerFacts
from leftbehind.domain.ledger_table import LedgerInconsistencyError, Stamp
from leftbehind.domain.model import Child, Guardian, Parent, ParentRole

__all__ = [
    "DutyCell",
    "ParentContact",
    "TeacherRow",
    "TeacherTable",
    "parent_contact",
    "teacher_table",
    "teacher_tables",
]


@frozen
class ParentContact:
    """One parent as the teacher table shows them: relation, status on the day, phone, place."""

    relation: str
    status: str
    phone: str = ""
    work_place: str = ""


@frozen
class DutyCell:
    """How one duty kind owed to the child stands: due, done, overdue in the period so far."""

    kind: str
    due: int
    done: int
    overdue: int


@frozen(order=True)
class TeacherRow:
    """One child in a teacher's table."""

    class_name: str
    child_id: str
    name: str
    grade: int
    categories: tuple[Category, ...]
    roles: tuple[str, ...]
    guardian: Guardian | None
    father: ParentContact
    mother: ParentContact
    proxy_parents: tuple[str, ...]
    pairings: tuple[tuple[str, str], ...]
    duties: tuple[DutyCell, ...]


@frozen
class TeacherTable:
    """聯絡信息表 of one person (``staff_id``), as of the stamp's day."""

    stamp: Stamp
    staff_id: str
    staff_name: str
    rows: tuple[TeacherRow, ...]

    def check(self) -> TeacherTable:
        """Raise :class:`LedgerInconsistencyError` if a child appears twice or a duty cell has
        more done and overdue than due."""
        problems: list[str] = []
        ids = [r.child_id for r in self.rows]
        if len(ids) != len(set(ids)):
            problems.append("a child appears twice")
        for r in self.rows:
            if not r.roles:
                problems.append(f"child {r.child_id} without a role")
            problems.extend(
                f"child {r.child_id}: done + overdue exceed due for {c.kind}"
                for c in r.duties
                if c.done + c.overdue > c.due or min(c.due, c.done, c.overdue) < 0
            )
        if problems:
            raise LedgerInconsistencyError(problems, subject=f"teacher table {self.staff_id}")
        return self


def parent_contact(role: ParentRole, parent: Parent | None, d: date) -> ParentContact:
    """The parent's status on ``d`` (在家, 外出務工, 去世, 失蹤, 離異不在戶, 不詳, 未登記)."""
    if parent is None:
        return ParentContact(role.label, "未登記")
    if not parent.known:
        return ParentContact(role.label, "不詳")
    for day, status in (
        (parent.deceased_on, "去世"),
        (parent.missing_since, "失蹤"),
        (parent.divorced_out_on, "離異不在戶"),
    ):
        if day is not None and day <= d:
            return ParentContact(role.label, status, parent.phone)
    away = parent.away_on(d)
    if away is not None:
        return ParentContact(role.label, "外出務工", parent.phone, away.place)
    return ParentContact(role.label, "在家", parent.phone)


def _row(
    child: Child,
    as_of: date,
    cats: frozenset[Category],
    mine: list[CareLink],
    holding: list[CareLink],
    duties: list[DutyTally],
) -> TeacherRow:
    enrolment = child.enrolment_on(as_of)
    class_name = enrolment.class_name if enrolment is not None else ""
    grade = enrolment.grade_on(as_of) if enrolment is not None else 0
    proxies = tuple(sorted(k.person_name for k in holding if k.role == "proxy_parent"))
    pairings = tuple(
        sorted(
            (CARE_ROLES.get(k.role, k.role), k.person_name)
            for k in holding
            if k.role not in ("class_teacher", "subject_teacher", "proxy_parent")
        )
    )
    cells: dict[str, list[int]] = {}
    for t in duties:
        cell = cells.setdefault(t.kind, [0, 0, 0])
        cell[0] += t.due
        cell[1] += t.done
        cell[2] += t.overdue
    return TeacherRow(
        class_name,
        child.id,
        child.name,
        grade,
        tuple(sorted(cats, key=lambda c: c.value)),
        tuple(sorted({k.role for k in mine})),
        child.guardian,
        parent_contact(ParentRole.FATHER, child.father, as_of),
        parent_contact(ParentRole.MOTHER, child.mother, as_of),
        proxies,
        pairings,
        tuple(DutyCell(k, *v) for k, v in sorted(cells.items())),
    )


def teacher_tables(
    facts: LedgerFacts,
    *,
    as_of: date,
    period: Interval,
    only: str | None = None,
) -> dict[str, TeacherTable]:
    """聯絡信息表 of every person with a care link holding on ``as_of`` to a served child (or
    of the person ``only``), keyed by person id, each checked."""
    stamp = stamp_of(facts, as_of, period)
    duties: dict[tuple[str, str], list[DutyTally]] = {}
    for t in facts.duties(period, as_of):
        if only is None or t.owner_id == only:
            duties.setdefault((t.owner_id, t.child_id), []).append(t)
    rows: dict[str, list[TeacherRow]] = {}
    names: dict[str, set[str]] = {}
    for child in facts.children:
        holding = [k for k in facts.links_of(child.id) if k.holds_on(as_of)]
        if not holding:
            continue
        timeline = facts.timelines.get(child.id)
        cats = timeline.categories_on(as_of) if timeline is not None else frozenset()
        if not cats or child.enrolment_on(as_of) is None:
            continue
        people: dict[str, list[CareLink]] = {}
        for k in holding:
            if only is None or k.person_id == only:
                people.setdefault(k.person_id, []).append(k)
        for pid, mine in people.items():
            names.setdefault(pid, set()).update(k.person_name for k in mine)
            row = _row(child, as_of, cats, mine, holding, duties.get((pid, child.id), []))
            rows.setdefault(pid, []).append(row)
    if only is not None and only not in rows:
        rows[only] = []
    return {
        pid: TeacherTable(stamp, pid, _name(names.get(pid, set())), tuple(sorted(rs))).check()
        for pid, rs in sorted(rows.items())
    }


def _name(names: set[str]) -> str:
    """The person's name: the first in order of those their links carry (links may disagree)."""
    return min((n for n in names if n), default="")


def teacher_table(
    facts: LedgerFacts, staff_id: str, *, as_of: date, period: Interval
) -> TeacherTable:
    """聯絡信息表 of one person (empty when they are responsible for no served child)."""
    return teacher_tables(facts, as_of=as_of, period=period, only=staff_id)[staff_id]
