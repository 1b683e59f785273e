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

**Duties** (:func:`duty_counts`): given the windows of each duty kind, an occurrence is *due* for
every child served (in any category) on at least one day of a window that has opened by ``D``;
*done* when a record of that duty for that child is dated inside the window and on or before
``D``; *overdue* when the window closed on or before ``D`` without one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any, NamedTuple

from attrs import frozen
from sqlalchemy import (
    Connection,
    Integer,
    String,
    and_,
    case,
    distinct,
    exists,
    func,
    literal,
    select,
    union_all,
)

from leftbehind.backends.sql_schema import enrolment, record, school, span
from leftbehind.domain.ledger_table import PRIMARY_ORDER

__all__ = [
    "DutyCount",
    "ServedKey",
    "duty_counts",
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


def duty_counts(
    conn: Connection,
    windows: Mapping[str, Sequence[tuple[date, date]]],
    as_of: date,
    timeline_kind: str,
) -> dict[str, DutyCount]:
    """Due, done and overdue occurrences per duty kind as of ``as_of`` (see the module docs).

    ``windows`` maps a duty kind (``"talk"``) to its half-open windows ``[start, end)``; windows
    that open after ``as_of`` are ignored.
    """
    day = as_of.toordinal()
    rows = [
        select(
            literal(duty, String(63)).label("duty"),
            literal(start.toordinal(), Integer).label("s"),
            literal(end.toordinal(), Integer).label("e"),
        )
        for duty, spans in sorted(windows.items())
        for start, end in spans
        if start <= as_of and start < end
    ]
    out = {duty: DutyCount() for duty in windows}
    if not rows:
        return out
    w = (rows[0] if len(rows) == 1 else union_all(*rows)).cte("w")
    due = (
        select(w.c.duty, w.c.s, w.c.e, span.c.key)
        .select_from(w)
        .join(
            span,
            and_(span.c.kind == timeline_kind, span.c.start_day < w.c.e, span.c.end_day > w.c.s),
        )
        .distinct()
        .cte("due")
    )
    recorded = exists().where(
        record.c.duty == due.c.duty,
        record.c.child == due.c.key,
        record.c.day >= due.c.s,
        record.c.day < due.c.e,
        record.c.day <= day,
    )
    done = case((recorded, 1), else_=0)
    overdue = case((and_(due.c.e <= day, ~recorded), 1), else_=0)
    stmt = select(due.c.duty, func.count(), func.sum(done), func.sum(overdue)).group_by(due.c.duty)
    for duty, n_due, n_done, n_overdue in conn.execute(stmt):
        out[duty] = DutyCount(int(n_due), int(n_done or 0), int(n_overdue or 0))
    return out
