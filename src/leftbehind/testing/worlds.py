"""Small but real worlds of a county, for the ledger pushdown contract and the tests.

A :class:`World` holds domain values — schools, children, staff, assignments, study groups and
duty records, a calendar, a period and a day — and gives:

- :meth:`World.documents`, the documents the county handle writes for them: ``unstructure`` of
  each value, keyed by its id, under the kinds of :mod:`leftbehind.kinds` (each child's
  timelines under the plan's policy and the national rule of 2016 included);
- :meth:`World.duty_book` and :meth:`World.ledger_facts`, what the pure domain counts from the
  same values (the reference a store's pushdown must equal).

:func:`duty_worlds` draws random worlds with Hypothesis (half the records written by an owner of
the duty, the rest at random); :func:`synthetic_world` builds a deterministic county large
enough that its duties are due, done and overdue. Importing this module needs Hypothesis.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from typing import Any, Final

import attrs
from attrs import frozen
from hypothesis import strategies as st

from leftbehind import kinds
from leftbehind.convert import unstructure
from leftbehind.domain.calendar import SchoolCalendar, default_calendar
from leftbehind.domain.dates import Interval
from leftbehind.domain.duties import (
    DEFAULT_KINDS,
    DutyBook,
    DutyKind,
    Frequency,
    Record,
    WindowKind,
)
from leftbehind.domain.eligibility import NationalPolicy, PlanPolicy, Timeline
from leftbehind.domain.ledger import LedgerFacts
from leftbehind.domain.ledger_facts import DutyCount
from leftbehind.domain.model import Child, School
from leftbehind.domain.people import Assignment, Role, Staff, StudyGroup
from leftbehind.store import Document, Store
from leftbehind.testing.strategies import SCHOOLS, children
from leftbehind.testing.synthetic import synthetic_county, synthetic_records

__all__ = [
    "COUNTY",
    "GUIDE_VISIT",
    "PUSHDOWN_KINDS",
    "PUSHED_COLUMNS",
    "PUSHED_PREFIXES",
    "World",
    "duty_totals",
    "duty_worlds",
    "empty_store",
    "pushed_columns",
    "synthetic_world",
    "write_world",
]

#: The county's name in the worlds' ledger facts (the first part of each table row's key).
COUNTY: Final = "广平县"

#: A county kind owed by study-group guides, each guide their own (``per_owner``).
GUIDE_VISIT: Final = DutyKind(
    "GUIDE_VISIT",
    "辅导走访",
    "study-group guide visit",
    {Role.GROUP_GUIDE},
    Frequency.MONTH,
    WindowKind.TERM_MONTHS,
    per_owner=True,
)
#: The duty kinds the worlds are counted with: the plan's eight and :data:`GUIDE_VISIT`.
#:
#: :meta hide-value:
PUSHDOWN_KINDS: Final = (*DEFAULT_KINDS, GUIDE_VISIT)

#: The county table's columns a store's ``school_columns`` pushes down (whole names) ...
PUSHED_COLUMNS: Final = frozenset({"enrolled", "served", "national"})
#: ... and by prefix.
PUSHED_PREFIXES: Final = ("primary.", "category.", "sex.", "grade.", "stage.", "boarding.")

_STAFF = ("T1", "T2", "T3")


def pushed_columns(cells: Mapping[str, int]) -> dict[str, int]:
    """The non-zero cells of a row that ``school_columns`` pushes down."""
    return {
        k: v
        for k, v in cells.items()
        if v and (k in PUSHED_COLUMNS or k.startswith(PUSHED_PREFIXES))
    }


@frozen
class World:
    """Domain values of a small county, a period of duties and the day they are counted on."""

    schools: tuple[School, ...]
    children: tuple[Child, ...]
    calendar: SchoolCalendar
    period: Interval
    as_of: date
    staff: tuple[Staff, ...] = ()
    assignments: tuple[Assignment, ...] = ()
    groups: tuple[StudyGroup, ...] = ()
    records: tuple[Record, ...] = ()

    def timelines(self, *, national: bool = False) -> dict[str, Timeline]:
        """Each child's timeline under the plan's policy (``national``: the 2016 rule)."""
        policy = NationalPolicy() if national else PlanPolicy()
        schools = {s.id: s for s in self.schools}
        return {c.id: policy.timeline(c, schools) for c in self.children}

    def documents(self) -> dict[str, dict[str, Document]]:
        """The documents of the world by kind and key, as the county handle writes them."""

        def by_id(values: Iterable[Any]) -> dict[str, Document]:
            return {v.id: unstructure(v) for v in values}

        def by_child(timelines: Mapping[str, Timeline]) -> dict[str, Document]:
            return {cid: unstructure(t) for cid, t in timelines.items()}

        docs = {
            kinds.SCHOOL: by_id(self.schools),
            kinds.CHILD: by_id(self.children),
            kinds.TIMELINE: by_child(self.timelines()),
            kinds.NATIONAL: by_child(self.timelines(national=True)),
            kinds.STAFF: by_id(self.staff),
            kinds.ASSIGNMENT: by_id(self.assignments),
            kinds.GROUP: by_id(self.groups),
            kinds.RECORD: by_id(self.records),
        }
        return {kind: found for kind, found in docs.items() if found}

    def every_assignment(self) -> tuple[Assignment, ...]:
        """The assignments and the study groups' guides (one assignment per child of a group)."""
        return (*self.assignments, *(a for g in self.groups for a in g.assignments()))

    def duty_book(self, duty_kinds: Iterable[DutyKind] = PUSHDOWN_KINDS) -> DutyBook:
        """The pure domain's duty book of the world (the plan's timelines)."""
        return DutyBook(
            self.calendar,
            duty_kinds,
            self.timelines(),
            self.every_assignment(),
            self.records,
            staff=self.staff,
        )

    def ledger_facts(self) -> LedgerFacts:
        """The facts the county table is built from (no duties: the served children only)."""
        return LedgerFacts(
            schools=self.schools,
            children=self.children,
            timelines=self.timelines(),
            national=self.timelines(national=True),
            county=COUNTY,
        )


def write_world(store: Store, world: World) -> None:
    """Write the world's documents into ``store`` in one unit of work."""
    with store.unit_of_work() as uow:
        for kind, docs in world.documents().items():
            uow.put_many(kind, docs)
        uow.commit()


def empty_store(store: Store) -> None:
    """Delete every document of ``store`` (through the port, in one unit of work)."""
    with store.unit_of_work() as uow:
        for kind in sorted(store.kinds()):
            for key, _ in store.scan(kind):
                uow.delete(kind, key)
        uow.commit()


def duty_totals(rows: Iterable[DutyCount]) -> Counter[tuple[str, str, str]]:
    """``(child, kind, "due" | "done" | "overdue")`` → count, summed over owners; no zeros."""
    out: Counter[tuple[str, str, str]] = Counter()
    for r in rows:
        for name, n in (("due", r.due), ("done", r.done), ("overdue", r.overdue)):
            out[r.child_id, r.kind, name] += n
    return +out


def synthetic_world(
    *,
    seed: int = 2026,
    children: int = 300,
    duty_kinds: Iterable[DutyKind] = PUSHDOWN_KINDS,
) -> World:
    """The synthetic county of :func:`~leftbehind.testing.synthetic.synthetic_county`, its
    records drawn for ``duty_kinds``: a school year of duties due, done and overdue."""
    data = synthetic_county(seed=seed, children=children)
    world = World(
        schools=data.facts.schools,
        children=data.facts.children,
        calendar=data.calendar,
        period=data.period,
        as_of=data.facts.as_of,
        staff=data.staff,
        assignments=data.assignments,
        groups=data.groups,
    )
    book = world.duty_book(duty_kinds)
    records, _ = synthetic_records(book, world.period, world.as_of, seed=seed)
    return attrs.evolve(world, records=records)


@st.composite
def duty_worlds(draw: st.DrawFn, duty_kinds: tuple[DutyKind, ...] | None = None) -> World:
    """Children in the three schools of ``leftbehind.testing.strategies``, a school year around
    one of their served intervals, a day near it, a calendar with days off, assignments, study
    groups and records — half of them written by an owner of the duty, the rest at random.
    ``duty_kinds`` defaults to :data:`PUSHDOWN_KINDS`."""
    duty_kinds = PUSHDOWN_KINDS if duty_kinds is None else duty_kinds
    kids = draw(st.lists(children(), min_size=1, max_size=10, unique_by=lambda c: c.id))
    schools = {s.id: s for s in SCHOOLS}
    served = [
        i.start.year
        for c in kids
        for i in PlanPolicy().timeline(c, schools).served_intervals()
        if 2016 <= i.start.year <= 2028
    ]
    year = draw(st.sampled_from(served) if served else st.integers(2016, 2028))
    year -= draw(st.integers(0, 1))  # the school year the served interval starts in, or before
    period = Interval(date(year, 9, 1), date(year + 1, 9, 1))
    assert period.end is not None
    on = draw(st.dates(period.start - timedelta(days=40), period.end + timedelta(days=40)))
    days_in = st.dates(period.start - timedelta(days=120), period.end + timedelta(days=30))
    off = draw(st.lists(st.dates(period.start, period.end), max_size=8))
    calendar = default_calendar(range(year - 1, year + 3), days_off=off)
    ids = [c.id for c in kids]
    assignments = []
    for i in range(draw(st.integers(0, 14))):
        start = draw(days_in)
        length = draw(st.none() | st.integers(0, 300))
        end = None if length is None else start + timedelta(days=length)
        role = draw(st.sampled_from([r for r in Role if r is not Role.GROUP_GUIDE]))
        assignments.append(
            Assignment(
                f"A{i}", draw(st.sampled_from(_STAFF)), draw(st.sampled_from(ids)), role, start, end
            )
        )
    groups = []
    for i in range(draw(st.integers(0, 2))):
        start = draw(days_in)
        members = draw(st.lists(st.sampled_from(ids), max_size=4, unique=True))
        end = draw(st.none() | st.just(start + timedelta(days=draw(st.integers(0, 200)))))
        guide = draw(st.sampled_from(_STAFF))
        groups.append(StudyGroup(f"G{i}", SCHOOLS[0].id, "东张孟村", guide, members, start, end))
    every = [*assignments, *(a for g in groups for a in g.assignments())]
    codes = [k.code for k in duty_kinds]
    records = []
    record_days = st.dates(period.start - timedelta(days=10), max(on, period.start))
    for i in range(draw(st.integers(0, 40))):
        by_owner = draw(st.booleans())
        if every and by_owner:
            a = draw(st.sampled_from(every))
            owed = [k.code for k in duty_kinds if a.role in k.owner_roles] or ["TALK"]
            child, staff, kind = a.child_id, a.staff_id, draw(st.sampled_from(owed))
        else:
            child, staff = draw(st.sampled_from(ids)), draw(st.sampled_from(_STAFF))
            kind = draw(st.sampled_from([*codes, "UNKNOWN"]))
        records.append(Record(f"R{i:03d}", kind, child, staff, draw(record_days)))
    return World(
        schools=SCHOOLS,
        children=tuple(kids),
        calendar=calendar,
        period=period,
        as_of=on,
        assignments=tuple(assignments),
        groups=tuple(groups),
        records=tuple(records),
    )
