"""The SQL schema of :mod:`leftbehind.backends.sql`: tables, the document layout, projections.

Documents live in one generic table, ``lb_document (kind, key, doc)`` — the port stores any kind,
so a table per kind would need DDL at run time. Beside it, **projection tables** hold the
columns that ledger queries filter and group on, extracted from the documents of a few kinds
when they are written, in the same transaction:

=================  ==========================================  ============================
table              columns                                     from documents
=================  ==========================================  ============================
``lb_school``      key, township, rural                        ``school``
``lb_enrolment``   child key, seq, school, start/end day,      ``child`` → ``enrolments[]``
                   grade at start, school year of the start,
                   sex, boarding
``lb_span``        timeline kind, child key, seq, category,    ``timeline`` and ``national``
                   start/end day                               → ``spans[]``
``lb_record``      key, duty kind, child key, owner, day       ``record``
``lb_assignment``  source kind, key, seq, child key, staff,    ``assignment``; ``group`` →
                   role, start/end day                         ``child_ids[]`` (the guide)
=================  ==========================================  ============================

Days are proleptic ordinals (:meth:`datetime.date.toordinal`); an open end is stored as
:data:`OPEN_END` so that "holds on day D" is the index-friendly ``start_day <= D < end_day``.
Which kinds and fields feed the projections is a :class:`Layout`; the default matches the
documents the county handle writes. A field that is missing or of the wrong type is simply not
projected (the store accepts any JSON document; only well-formed ones are counted).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from typing import Any

from attrs import asdict, field, frozen
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy import types as sqltypes
from sqlalchemy.dialects import postgresql

from leftbehind import kinds
from leftbehind.domain.people import Role
from leftbehind.store import JSON, Document

__all__ = [
    "ASSIGNMENT_BY_STAFF",
    "DEFAULT_LAYOUT",
    "OPEN_END",
    "RECORD_BY_CHILD",
    "RECORD_BY_OWNER",
    "Layout",
    "assignment",
    "document",
    "enrolment",
    "meta",
    "metadata",
    "projected_kinds",
    "projections",
    "record",
    "school",
    "span",
    "version",
]

#: Stored as the end day of an open interval: the day after :attr:`datetime.date.max`.
OPEN_END = date.max.toordinal() + 1


def _strings(value: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    return tuple(value)


@frozen
class Layout:
    """Where the ledger's facts sit in documents: kinds and field names.

    The defaults are the documents of :class:`leftbehind.County` (``unstructure`` of
    :class:`~leftbehind.domain.model.School`, :class:`~leftbehind.domain.model.Child` and
    :class:`~leftbehind.domain.eligibility.Timeline`; dates as ISO strings). Records of duties
    (``record``) carry ``kind`` (the duty kind's code), ``child_id``, ``staff_id`` and ``on``,
    as :class:`~leftbehind.domain.duties.Record` documents do. The kinds are those of
    :mod:`leftbehind.kinds`, where the county's repository takes them too, so the two cannot
    drift apart (a projection fed by a kind nobody writes would count nothing). A store opened
    with another layout rebuilds its projections once.
    """

    school_kind: str = kinds.SCHOOL
    school_township: str = "township"
    school_rural: str = "rural"
    child_kind: str = kinds.CHILD
    child_sex: str = "sex"
    child_boarding: str = "boarding"
    child_enrolments: str = "enrolments"
    enrolment_school: str = "school_id"
    enrolment_start: str = "start"
    enrolment_end: str = "end"
    enrolment_grade: str = "grade"
    timeline_kinds: tuple[str, ...] = field(
        default=(kinds.TIMELINE, kinds.NATIONAL), converter=_strings
    )
    timeline_spans: str = "spans"
    span_start: str = "start"
    span_end: str = "end"
    span_category: str = "category"
    record_kind: str = kinds.RECORD
    record_duty: str = "kind"
    record_child: str = "child_id"
    record_owner: str = "staff_id"
    record_date: str = "on"
    assignment_kind: str = kinds.ASSIGNMENT
    assignment_child: str = "child_id"
    assignment_staff: str = "staff_id"
    assignment_role: str = "role"
    assignment_start: str = "start"
    assignment_end: str = "end"
    group_kind: str = kinds.GROUP
    group_guide: str = "guide_staff_id"
    group_children: str = "child_ids"
    group_start: str = "start"
    group_end: str = "end"
    group_role: str = Role.GROUP_GUIDE.value

    def fingerprint(self) -> str:
        """A stable text naming this layout (kept in ``lb_meta``)."""
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))


DEFAULT_LAYOUT = Layout()

metadata = MetaData()

# Keys compare bytewise on PostgreSQL too (collation "C"): the same order as SQLite's BINARY,
# cheaper than a linguistic collation, and the order keyset paging relies on.
_Key = String(200).with_variant(String(200, collation="C"), "postgresql")
_Kind = String(63).with_variant(String(63, collation="C"), "postgresql")
# PostgreSQL ``json`` (not ``jsonb``) keeps the text as written: -0.0, 1e16 and key order
# round-trip exactly; ledgers query the projection tables, not the documents.
_Doc = sqltypes.JSON().with_variant(postgresql.JSON(), "postgresql")

meta = Table(
    "lb_meta",
    metadata,
    Column("name", _Kind, primary_key=True),
    Column("value", Text, nullable=False),
)

#: How many commits have changed each kind (schema version 5): a reader keeps what it made of
#: a kind while its count stays the same.
version = Table(
    "lb_version",
    metadata,
    Column("kind", _Kind, primary_key=True),
    Column("n", BigInteger, nullable=False),
)

document = Table(
    "lb_document",
    metadata,
    Column("kind", _Kind, primary_key=True),
    Column("key", _Key, primary_key=True),
    Column("doc", _Doc, nullable=False),
)

school = Table(
    "lb_school",
    metadata,
    Column("key", _Key, primary_key=True),
    Column("township", Text),
    Column("rural", Boolean),
)

enrolment = Table(
    "lb_enrolment",
    metadata,
    Column("key", _Key, primary_key=True),
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("school", _Key),
    Column("start_day", Integer, nullable=False),
    Column("end_day", Integer, nullable=False),
    Column("grade", Integer),
    Column("school_year", Integer, nullable=False),
    Column("sex", String(16)),
    Column("boarding", Boolean),
)
Index(
    "lb_enrolment_cover",
    enrolment.c.key,
    enrolment.c.start_day,
    enrolment.c.end_day,
    enrolment.c.school,
    enrolment.c.grade,
    enrolment.c.school_year,
    enrolment.c.sex,
    enrolment.c.boarding,
)

span = Table(
    "lb_span",
    metadata,
    Column("kind", _Kind, primary_key=True),
    Column("key", _Key, primary_key=True),
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("category", String(32), nullable=False),
    Column("start_day", Integer, nullable=False),
    Column("end_day", Integer, nullable=False),
)
Index(
    "lb_span_cover",
    span.c.kind,
    span.c.start_day,
    span.c.end_day,
    span.c.category,
    span.c.key,
)

record = Table(
    "lb_record",
    metadata,
    Column("key", _Key, primary_key=True),
    Column("duty", String(63), nullable=False),
    Column("child", _Key, nullable=False),
    Column("owner", _Key),
    Column("day", Integer, nullable=False),
)
Index("lb_record_cover", record.c.duty, record.c.child, record.c.day)
Index("lb_record_owner", record.c.owner, record.c.day)
#: Records of one child (schema version 4).
RECORD_BY_CHILD = Index("lb_record_child", record.c.child)
#: A record of a duty kind for a child by an owner inside a window: the lookup of the duty
#: tallies for kinds owed per owner (schema version 5).
RECORD_BY_OWNER = Index(
    "lb_record_duty_owner", record.c.duty, record.c.child, record.c.owner, record.c.day
)

assignment = Table(
    "lb_assignment",
    metadata,
    Column("kind", _Kind, primary_key=True),
    Column("key", _Key, primary_key=True),
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("child", _Key, nullable=False),
    Column("staff", _Key, nullable=False),
    Column("role", String(32), nullable=False),
    Column("start_day", Integer, nullable=False),
    Column("end_day", Integer, nullable=False),
)
Index(
    "lb_assignment_cover",
    assignment.c.child,
    assignment.c.role,
    assignment.c.start_day,
    assignment.c.end_day,
    assignment.c.staff,
)

#: Assignments of one staff member (schema version 4).
ASSIGNMENT_BY_STAFF = Index("lb_assignment_staff", assignment.c.staff)

PROJECTIONS = (school, enrolment, span, record, assignment)
#: Projection tables that hold rows of several document kinds (told apart by their ``kind``).
KIND_KEYED = (span, assignment)


# ---------------------------------------------------------------------------------------------
# Extraction: documents → projection rows (lenient: what does not parse is not projected).


def _day(value: JSON) -> int | None:
    if type(value) is str and len(value) == 10:
        try:
            return date.fromisoformat(value).toordinal()
        except ValueError:
            return None
    return None


def _end_day(value: JSON) -> int | None:
    return OPEN_END if value is None else _day(value)


def _int(value: JSON) -> int | None:
    return value if type(value) is int and -(2**31) <= value < 2**31 else None


def _text(value: JSON) -> str | None:
    return value if type(value) is str else None


def _bool(value: JSON) -> bool | None:
    return value if type(value) is bool else None


def _key(value: JSON) -> str | None:
    return value if type(value) is str and 0 < len(value) <= 200 else None


def _school_year(day: int) -> int:
    d = date.fromordinal(day)
    return d.year if d.month >= 9 else d.year - 1


def projected_kinds(layout: Layout) -> dict[str, Table]:
    """The kinds whose documents feed a projection table, and that table."""
    out = {layout.school_kind: school, layout.child_kind: enrolment, layout.record_kind: record}
    out.update(dict.fromkeys(layout.timeline_kinds, span))
    out[layout.assignment_kind] = assignment
    out[layout.group_kind] = assignment
    return out


def projections(layout: Layout, kind: str, key: str, doc: Document) -> Iterator[dict[str, Any]]:
    """The projection rows of one document (for the table ``projected_kinds(layout)[kind]``)."""
    if kind == layout.school_kind:
        yield {
            "key": key,
            "township": _text(doc.get(layout.school_township)),
            "rural": _bool(doc.get(layout.school_rural)),
        }
    elif kind == layout.child_kind:
        items = doc.get(layout.child_enrolments)
        if type(items) is not list:
            return
        sex, boarding = _text(doc.get(layout.child_sex)), _bool(doc.get(layout.child_boarding))
        for seq, item in enumerate(items):
            if type(item) is not dict:
                continue
            start = _day(item.get(layout.enrolment_start))
            end = _end_day(item.get(layout.enrolment_end))
            if start is None or end is None:
                continue
            yield {
                "key": key,
                "seq": seq,
                "school": _key(item.get(layout.enrolment_school)),
                "start_day": start,
                "end_day": end,
                "grade": _int(item.get(layout.enrolment_grade)),
                "school_year": _school_year(start),
                "sex": sex if sex is not None and len(sex) <= 16 else None,
                "boarding": boarding,
            }
    elif kind in layout.timeline_kinds:
        items = doc.get(layout.timeline_spans)
        if type(items) is not list:
            return
        for seq, item in enumerate(items):
            if type(item) is not dict:
                continue
            start = _day(item.get(layout.span_start))
            end = _end_day(item.get(layout.span_end))
            category = _text(item.get(layout.span_category))
            if start is None or end is None or category is None or len(category) > 32:
                continue
            yield {
                "kind": kind,
                "key": key,
                "seq": seq,
                "category": category,
                "start_day": start,
                "end_day": end,
            }
    elif kind == layout.assignment_kind:
        yield from _assignment_rows(
            kind,
            key,
            [doc.get(layout.assignment_child)],
            doc.get(layout.assignment_staff),
            doc.get(layout.assignment_role),
            doc.get(layout.assignment_start),
            doc.get(layout.assignment_end),
        )
    elif kind == layout.group_kind:
        children = doc.get(layout.group_children)
        if type(children) is list:
            yield from _assignment_rows(
                kind,
                key,
                children,
                doc.get(layout.group_guide),
                layout.group_role,
                doc.get(layout.group_start),
                doc.get(layout.group_end),
            )
    elif kind == layout.record_kind:
        duty = _text(doc.get(layout.record_duty))
        child = _key(doc.get(layout.record_child))
        day = _day(doc.get(layout.record_date))
        if duty is None or len(duty) > 63 or child is None or day is None:
            return
        yield {
            "key": key,
            "duty": duty,
            "child": child,
            "owner": _key(doc.get(layout.record_owner)),
            "day": day,
        }


def _assignment_rows(
    kind: str,
    key: str,
    children: list[JSON],
    staff: JSON,
    role: JSON,
    start: JSON,
    end: JSON,
) -> Iterator[dict[str, Any]]:
    staff_key, role_text = _key(staff), _text(role)
    start_day, end_day = _day(start), _end_day(end)
    if staff_key is None or role_text is None or len(role_text) > 32:
        return
    if start_day is None or end_day is None:
        return
    for seq, child in enumerate(children):
        child_key = _key(child)
        if child_key is not None:
            yield {
                "kind": kind,
                "key": key,
                "seq": seq,
                "child": child_key,
                "staff": staff_key,
                "role": role_text,
                "start_day": start_day,
                "end_day": end_day,
            }
