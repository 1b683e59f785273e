"""Ledger counts pushed down into SQL (:data:`~leftbehind.store.LEDGER_PUSHDOWN`).

Both queries read the projection tables of :mod:`leftbehind.backends.sql_schema` only, never the
documents, and return plain counts: no child's personal data leaves the database.

**Served children as of a day** (:func:`served_counts`): a child is served on day ``D`` in every
category whose stored span holds on ``D`` (``start <= D < end``). Each such child is counted under
the enrolment that covers ``D`` — its school, the school's township, the grade on ``D`` (the grade
at the enrolment's start plus the school years since, as
:meth:`~leftbehind.domain.model.Enrolment.grade_on`), the child's sex and boarding. As in the
domain's ledger, a child counts only while enrolled (a policy that ends categories at leaving
never leaves one served without a school). The same rows with ``category=None`` count each
child once, whatever its categories. Every breakdown of the ledger (by category, grade, stage,
sex, boarding, school, township) is a sum over these rows.

**Duties** (:func:`duty_tallies`, :func:`duty_counts`): the rule of
:class:`~leftbehind.domain.duties.DutyPlan`, which is :class:`~leftbehind.domain.duties.DutyBook`'s.
The plan's windows and runs and its rules' owner roles go in as ``VALUES``; the child's served
spans joined with the ``lb_assignment`` rows of owning roles, both as they stood on the day asked
(begun by then, an end after it not known yet), give the days each owner holds; an
owner hits a window when those days meet one of its runs; the hits grouped by child, kind,
window (and owner, for ``per_owner`` kinds) are the occurrences, done when a record of an owner
in the group falls inside the window on or before ``D``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterator
from datetime import date
from typing import Any, NamedTuple

from attrs import frozen
from sqlalchemy import (
    Boolean,
    Connection,
    Integer,
    String,
    and_,
    case,
    column,
    distinct,
    exists,
    func,
    literal,
    select,
    values,
)

from leftbehind.backends.sql_schema import OPEN_END, assignment, enrolment, record, school, span
from leftbehind.domain.duties import DutyPlan
from leftbehind.domain.ledger_table import PRIMARY_ORDER

__all__ = [
    "ChildDuty",
    "DutyCount",
    "ServedKey",
    "duty_counts",
    "duty_tallies",
    "school_columns",
    "school_year",
    "served_counts",
]


class ServedKey(NamedTuple):
    """The breakdown of one count of served children (``category=None``: any category)."""

    township: str | None
    school: str | None
    category: str | None
    grade: int | None
    sex: str | None
    boarding: bool | None


@frozen
class DutyCount:
    """Occurrences of one duty kind as of a day: due (window opened), done, overdue."""

    due: int = 0
    done: int = 0
    overdue: int = 0


def school_year(d: date) -> int:
    """The year in which the school year holding ``d`` began (it turns on 1 September)."""
    return d.year if d.month >= 9 else d.year - 1


def served_counts(conn: Connection, as_of: date, timeline_kind: str) -> dict[ServedKey, int]:
    """Served children on ``as_of`` by township, school, category, grade, sex and boarding."""
    day = as_of.toordinal()
    covering = and_(
        enrolment.c.key == span.c.key, enrolment.c.start_day <= day, enrolment.c.end_day > day
    )
    joined = span.join(enrolment, covering).outerjoin(school, school.c.key == enrolment.c.school)
    grade = (enrolment.c.grade + (school_year(as_of) - enrolment.c.school_year)).label("grade")
    holds = and_(span.c.kind == timeline_kind, span.c.start_day <= day, span.c.end_day > day)
    head = (school.c.township, enrolment.c.school)
    tail = (grade, enrolment.c.sex, enrolment.c.boarding)
    by_category = (
        select(*head, span.c.category, *tail, func.count())
        .select_from(joined)
        .where(holds)
        .group_by(*head, span.c.category, *tail)
    )
    any_category = (
        select(*head, *tail, func.count(distinct(span.c.key)))
        .select_from(joined)
        .where(holds)
        .group_by(*head, *tail)
    )
    out: dict[ServedKey, int] = {}
    for township, school_key, category, grade_, sex, boarding, n in conn.execute(by_category):
        out[ServedKey(township, school_key, category, grade_, sex, _bool(boarding))] = n
    for township, school_key, grade_, sex, boarding, n in conn.execute(any_category):
        out[ServedKey(township, school_key, None, grade_, sex, _bool(boarding))] = n
    return out


def school_columns(
    conn: Connection, as_of: date, timeline_kind: str, national_kind: str | None
) -> dict[str, Counter[str]]:
    """Per school, the ledger's count columns on ``as_of``, named as the county table names them.

    ``enrolled``; ``served``; ``primary.<category>`` (one per child, by
    :data:`~leftbehind.domain.ledger.PRIMARY_ORDER`); ``category.<category>`` (one per
    category a child is in); ``sex.<sex>``, ``grade.<n>``, ``stage.primary`` / ``stage.junior``,
    ``boarding.yes`` / ``boarding.no`` over the served; ``national`` (enrolled children served under
    ``national_kind``'s timelines). Schools without an enrolment on ``as_of`` are absent.
    """
    day = as_of.toordinal()
    holds_e = and_(enrolment.c.start_day <= day, enrolment.c.end_day > day)
    out: dict[str, Counter[str]] = {}

    def row(school_key: str | None) -> Counter[str]:
        return out.setdefault(school_key or "", Counter())

    enrolled = select(enrolment.c.school, func.count()).where(holds_e).group_by(enrolment.c.school)
    for school_key, n in conn.execute(enrolled):
        row(school_key)["enrolled"] += n

    def served_join(kind: str) -> tuple[Any, Any]:
        joined = span.join(enrolment, and_(enrolment.c.key == span.c.key, holds_e))
        return joined, and_(span.c.kind == kind, span.c.start_day <= day, span.c.end_day > day)

    joined, holds = served_join(timeline_kind)
    rank = case(
        {c.value: i for i, c in enumerate(PRIMARY_ORDER)}, value=span.c.category, else_=None
    )
    grade = (enrolment.c.grade + (school_year(as_of) - enrolment.c.school_year)).label("grade")
    per_child = (
        select(
            enrolment.c.school,
            grade,
            enrolment.c.sex,
            enrolment.c.boarding,
            func.min(rank).label("primary"),
        )
        .select_from(joined)
        .where(holds)
        .group_by(span.c.key, enrolment.c.school, grade, enrolment.c.sex, enrolment.c.boarding)
        .subquery()
    )
    cols = (per_child.c.school, per_child.c.grade, per_child.c.sex, per_child.c.boarding)
    by_child = select(*cols, per_child.c.primary, func.count()).group_by(*cols, per_child.c.primary)
    for school_key, grade_, sex, boarding, primary, n in conn.execute(by_child):
        cells = row(school_key)
        cells["served"] += n
        if primary is not None:
            cells[f"primary.{PRIMARY_ORDER[primary].value}"] += n
        if sex is not None:
            cells[f"sex.{sex}"] += n
        if grade_ is not None:
            cells[f"grade.{grade_}"] += n
            cells["stage.primary" if grade_ <= 6 else "stage.junior"] += n
        if boarding is not None:
            cells["boarding.yes" if boarding else "boarding.no"] += n
    categories = (
        select(enrolment.c.school, span.c.category, func.count())
        .select_from(joined)
        .where(holds)
        .group_by(enrolment.c.school, span.c.category)
    )
    for school_key, category, n in conn.execute(categories):
        row(school_key)[f"category.{category}"] += n
    if national_kind is not None:
        joined, holds = served_join(national_kind)
        national = (
            select(enrolment.c.school, func.count(distinct(span.c.key)))
            .select_from(joined)
            .where(holds)
            .group_by(enrolment.c.school)
        )
        for school_key, n in conn.execute(national):
            row(school_key)["national"] += n
    return out


def _bool(value: object) -> bool | None:
    return None if value is None else bool(value)


def _occurrences(
    plan: DutyPlan, as_of: date, timeline_kind: str, children: Collection[str] | None = None
) -> Any | None:
    """A subquery of the occurrences begun by ``as_of``: ``child, duty, we, done`` (of
    ``children`` only, when given)."""
    day = as_of.toordinal()
    rows = [row for row in plan.windows if row[1] <= day and row[3] < row[4]]
    owed = [(rule.code, role, rule.per_owner) for rule in plan.rules for role in sorted(rule.roles)]
    if not rows or not owed:
        return None
    w = (
        values(
            column("duty", String(63)),
            column("ws", Integer),
            column("we", Integer),
            column("rs", Integer),
            column("re", Integer),
            name="w",
        )
        .data(rows)
        .cte("w")
    )
    r = (
        values(
            column("duty", String(63)),
            column("role", String(32)),
            column("per_owner", Boolean),
            name="r",
        )
        .data(owed)
        .cte("r")
    )
    a = assignment
    chosen = () if children is None else (span.c.key.in_(sorted(children)),)
    # As they stood on the day: an end after it is not known yet.
    span_end = case((span.c.end_day > day, OPEN_END), else_=span.c.end_day)
    a_end = case((a.c.end_day > day, OPEN_END), else_=a.c.end_day)
    start = case((span.c.start_day > a.c.start_day, span.c.start_day), else_=a.c.start_day)
    end = case((span_end < a_end, span_end), else_=a_end)
    piece = (
        select(
            span.c.key.label("child"),
            a.c.staff.label("staff"),
            a.c.role.label("role"),
            start.label("ps"),
            end.label("pe"),
        )
        .select_from(span)
        .join(
            a,
            and_(
                a.c.child == span.c.key,
                a.c.start_day < span_end,
                a_end > span.c.start_day,
                a.c.start_day < a.c.end_day,
                a.c.start_day <= day,
            ),
        )
        .where(
            span.c.kind == timeline_kind,
            span.c.start_day < span.c.end_day,
            span.c.start_day <= day,
            *chosen,
        )
        .cte("piece")
    )
    hit = (
        select(piece.c.child, r.c.duty, r.c.per_owner, w.c.ws, w.c.we, piece.c.staff)
        .select_from(piece)
        .join(r, r.c.role == piece.c.role)
        .join(w, and_(w.c.duty == r.c.duty, w.c.rs < piece.c.pe, w.c.re > piece.c.ps))
        .distinct()
        .cte("hit")
    )
    recorded = exists().where(
        record.c.duty == hit.c.duty,
        record.c.child == hit.c.child,
        record.c.owner == hit.c.staff,
        record.c.day >= hit.c.ws,
        record.c.day < hit.c.we,
        record.c.day <= day,
    )
    owner = case((hit.c.per_owner, hit.c.staff), else_=literal("", String(200)))
    return (
        select(
            hit.c.child,
            hit.c.duty,
            hit.c.we,
            func.max(case((recorded, 1), else_=0)).label("done"),
        )
        .group_by(hit.c.child, hit.c.duty, hit.c.ws, hit.c.we, owner)
        .subquery("occ")
    )


class ChildDuty(NamedTuple):
    """How one duty kind stands for one child as of a day, over all its owners (a
    :class:`~leftbehind.domain.ledger.DutyCount` whose ``owner_id`` is ``""``)."""

    child_id: str
    kind: str
    due: int
    done: int
    overdue: int
    owner_id: str = ""


def duty_tallies(
    conn: Connection,
    plan: DutyPlan,
    as_of: date,
    timeline_kind: str,
    children: Collection[str] | None = None,
) -> Iterator[ChildDuty]:
    """Per child (of every child, or of ``children``) and duty kind, the occurrences of ``plan``
    due, done and overdue on ``as_of`` (the rule of
    :class:`~leftbehind.domain.duties.DutyPlan`), in child then kind order."""
    if children is not None and not children:
        return
    occ = _occurrences(plan, as_of, timeline_kind, children)
    if occ is None:
        return
    day = as_of.toordinal()
    overdue = case((and_(occ.c.we <= day, occ.c.done == 0), 1), else_=0)
    stmt = (
        select(occ.c.child, occ.c.duty, func.count(), func.sum(occ.c.done), func.sum(overdue))
        .group_by(occ.c.child, occ.c.duty)
        .order_by(occ.c.child, occ.c.duty)
    )
    for child, duty, due, done, late in conn.execute(stmt):
        yield ChildDuty(child, duty, int(due), int(done or 0), int(late or 0))


def duty_counts(
    conn: Connection, plan: DutyPlan, as_of: date, timeline_kind: str
) -> dict[str, DutyCount]:
    """Due, done and overdue occurrences per duty kind on ``as_of`` (every kind of the plan)."""
    out = {rule.code: DutyCount() for rule in plan.rules}
    occ = _occurrences(plan, as_of, timeline_kind)
    if occ is None:
        return out
    day = as_of.toordinal()
    overdue = case((and_(occ.c.we <= day, occ.c.done == 0), 1), else_=0)
    stmt = select(occ.c.duty, func.count(), func.sum(occ.c.done), func.sum(overdue)).group_by(
        occ.c.duty
    )
    for duty, due, done, late in conn.execute(stmt):
        out[duty] = DutyCount(int(due), int(done or 0), int(late or 0))
    return out
