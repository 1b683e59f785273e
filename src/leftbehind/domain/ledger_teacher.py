"""The teacher's contact table (联络信息表): each served child a staff member is responsible for.

A staff member is responsible for a child on a day when one of their assignments to the child
holds that day and the child is served that day. Each row carries what the teacher needs to
act: the class, the categories, the second guardian and both parents (relation, status, phone,
work place), the proxy parents and pairings, and the status of each duty this staff member owes
the child in the period. Phones are kept whole here; rendering masks them unless asked otherwise."""

from __future__ import annotations

from datetime import date

from attrs import frozen

from leftbehind.domain.dates import Interval
from leftbehind.domain.eligibility import Category
from leftbehind.domain.i18n import text
from leftbehind.domain.ledger_build import stamp_of
from leftbehind.domain.ledger_facts import DutyCount, LedgerFacts
from leftbehind.domain.ledger_table import LedgerInconsistencyError, Stamp
from leftbehind.domain.model import Child, Guardian, Parent, ParentRole
from leftbehind.domain.people import Assignment, Role

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
    resident_id: str
    grade: int
    categories: tuple[Category, ...]
    roles: tuple[Role, ...]
    guardian: Guardian | None
    father: ParentContact
    mother: ParentContact
    proxy_parents: tuple[str, ...]
    pairings: tuple[tuple[str, str], ...]
    duties: tuple[DutyCell, ...]


@frozen
class TeacherTable:
    """联络信息表 of one person (``staff_id``), as of the stamp's day."""

    stamp: Stamp
    staff_id: str
    staff_name: str
    rows: tuple[TeacherRow, ...]
    county: str = ""
    county_code: str = ""

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
    """The parent's status on ``d`` (在家, 外出务工, 去世, 失踪, 离异不在户, 不详, 未登记)."""
    if parent is None:
        return ParentContact(role.label, text("state.unrecorded"))
    if not parent.known:
        return ParentContact(role.label, text("state.unknown"))
    for day, state in (
        (parent.deceased_on, "deceased"),
        (parent.missing_since, "missing"),
        (parent.divorced_out_on, "divorced_out"),
    ):
        if day is not None and day <= d:
            return ParentContact(role.label, text(f"state.{state}"), parent.phone)
    away = parent.away_on(d)
    if away is not None:
        return ParentContact(role.label, text("state.away"), parent.phone, away.place)
    return ParentContact(role.label, text("state.home"), parent.phone)


def _row(
    facts: LedgerFacts,
    child: Child,
    as_of: date,
    cats: frozenset[Category],
    mine: list[Assignment],
    holding: list[Assignment],
    duties: list[DutyCount],
) -> TeacherRow:
    enrolment = child.enrolment_on(as_of)
    class_name = enrolment.class_name if enrolment is not None else ""
    grade = enrolment.grade_on(as_of) if enrolment is not None else 0
    name = facts.staff_name
    proxies = tuple(sorted(name(a.staff_id) for a in holding if a.role is Role.PROXY_PARENT))
    pairings = tuple(
        sorted((a.role.label, name(a.staff_id)) for a in holding if a.role in _PAIRINGS)
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
        child.resident_id,
        grade,
        tuple(sorted(cats, key=lambda c: c.value)),
        tuple(sorted({a.role for a in mine}, key=lambda r: r.rank)),
        child.guardian,
        parent_contact(ParentRole.FATHER, child.father, as_of),
        parent_contact(ParentRole.MOTHER, child.mother, as_of),
        proxies,
        pairings,
        tuple(DutyCell(k, *v) for k, v in sorted(cells.items())),
    )


_PAIRINGS = frozenset({Role.STAFF_PAIR, Role.STUDENT_BUDDY, Role.VOLUNTEER, Role.GROUP_GUIDE})


def teacher_tables(
    facts: LedgerFacts,
    *,
    as_of: date,
    period: Interval,
    only: str | None = None,
) -> dict[str, TeacherTable]:
    """联络信息表 of every staff member with an assignment holding on ``as_of`` to a served
    child (or of the staff member ``only``), keyed by staff id, each checked."""
    stamp = stamp_of(facts, as_of, period)
    duties: dict[tuple[str, str], list[DutyCount]] = {}
    for t in facts.duties(period, as_of):
        if only is None or t.owner_id == only:
            duties.setdefault((t.owner_id, t.child_id), []).append(t)
    rows: dict[str, list[TeacherRow]] = {}
    assignments = facts.assignments
    for child in facts.children:
        holding = assignments.on(child.id, as_of)
        if not holding:
            continue
        timeline = facts.timelines.get(child.id)
        cats = timeline.categories_on(as_of) if timeline is not None else frozenset()
        if not cats or child.enrolment_on(as_of) is None:
            continue
        people: dict[str, list[Assignment]] = {}
        for a in holding:
            if only is None or a.staff_id == only:
                people.setdefault(a.staff_id, []).append(a)
        for sid, mine in people.items():
            row = _row(facts, child, as_of, cats, mine, holding, duties.get((sid, child.id), []))
            rows.setdefault(sid, []).append(row)
    if only is not None and only not in rows:
        rows[only] = []
    return {
        sid: TeacherTable(
            stamp,
            sid,
            facts.staff_name(sid),
            tuple(sorted(rs)),
            facts.county,
            facts.county_code,
        ).check()
        for sid, rs in sorted(rows.items())
    }


def teacher_table(
    facts: LedgerFacts, staff_id: str, *, as_of: date, period: Interval
) -> TeacherTable:
    """联络信息表 of one staff member (empty when responsible for no served child)."""
    return teacher_tables(facts, as_of=as_of, period=period, only=staff_id)[staff_id]
