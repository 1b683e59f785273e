"""The ledgers (台賬) and the duty book, as the actor may see them.

Facts come from one snapshot. The county and school tables are aggregates: they are built from
every child (a school head's table counts the whole school) and then cut to the rows the gate
allows. Anything that names a child (the duty book, ledger facts, teacher tables, movements) is
built from the children whose file the actor may read today, masked by the actor's standing.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping
from datetime import date

import attrs

from leftbehind import kinds
from leftbehind.access import Field, Standing, mask_child, may_see
from leftbehind.domain import ledger
from leftbehind.domain.dates import Interval
from leftbehind.domain.duties import Compliance, DutyBook, DutyPlan, Record, duty_plan
from leftbehind.domain.eligibility import Timeline
from leftbehind.domain.ids import mask_phone, mask_resident_id
from leftbehind.domain.ledger_facts import no_duties
from leftbehind.domain.model import Child, known_on
from leftbehind.domain.people import Assignments, Staff
from leftbehind.errors import NotFoundError
from leftbehind.service.context import Context
from leftbehind.service.gate import Gate, default_period
from leftbehind.service.repository import Snapshot
from leftbehind.store import LEDGER_PUSHDOWN, LedgerPushdown

__all__ = [
    "PAGE",
    "PUSHDOWN_AFTER",
    "Known",
    "book",
    "commendations",
    "compliance",
    "county_table",
    "diff",
    "duty_book",
    "facts",
    "known",
    "ledger_facts",
    "parts",
    "school_table",
    "school_tables",
    "teacher_table",
    "teacher_tables",
]

Visible = Mapping[str, tuple[Child, Standing]]

#: Past how many records the county and school tables read the county a page of children at
#: a time and have the store count the duties (:class:`~leftbehind.store.LedgerPushdown`),
#: instead of holding every child and the records' facts: below it (a county's year) holding
#: them is faster and a handle keeps them between calls; above it (a province) memory stays
#: bounded by a page.
PUSHDOWN_AFTER = 1_000_000

#: How many children a page holds (see :func:`parts`).
PAGE = 2000


def book(
    ctx: Context,
    snap: Snapshot,
    period: Interval,
    visible: Visible | Collection[str] | None,
    *,
    as_of: date | None = None,
    texts: bool = False,
) -> DutyBook:
    """The duty book of every child (``visible=None``) or of the children given. With
    ``as_of``, their timelines as the facts known on that day make them (:func:`known`). Its
    records carry their texts only with ``texts`` (a book handed out); the duties need only
    who, for whom, what and when."""
    if visible is None:
        timelines = snap.timelines()
        assignments = snap.assignments()
    else:  # a few children: read only theirs
        timelines = snap.timelines_of(visible)
        assignments = snap.assignments_of(visible)
    if as_of is not None:
        timelines = known(ctx, snap, _children(snap, visible), as_of, timelines).timelines
    if texts:
        found = snap.records() if visible is None else snap.records_of(visible)
    else:
        found = snap.duty_records(None if visible is None else visible)
    return _book(ctx, snap, period, timelines, assignments, found)


def _book(
    ctx: Context,
    snap: Snapshot,
    period: Interval,
    timelines: Mapping[str, Timeline],
    assignments: Assignments,
    records: Iterable[Record],
) -> DutyBook:
    return DutyBook(
        ctx.calendar(snap, period),
        ctx.duty_kinds(),
        timelines,
        assignments,
        records,
        staff=snap.staff().values(),
    )


def _children(snap: Snapshot, visible: Visible | Collection[str] | None) -> Collection[Child]:
    if visible is None:
        return snap.children().values()
    if isinstance(visible, Mapping):
        return [c for c, _ in visible.values()]
    return snap.children_of(visible).values()


@attrs.frozen
class Known:
    """Children and their timelines as the facts known on a day make them (see :func:`known`).

    ``changed`` holds the ids whose timeline under the county's policy differs from the stored
    one (both as they stood on the day): a store counting duties from its stored timelines
    cannot count theirs.
    """

    children: list[Child]
    timelines: dict[str, Timeline]
    national: dict[str, Timeline]
    changed: frozenset[str]


def known(
    ctx: Context,
    snap: Snapshot,
    children: Iterable[Child],
    as_of: date,
    timelines: Mapping[str, Timeline],
    national: Mapping[str, Timeline] | None = None,
) -> Known:
    """``children`` and their timelines (``national``: the 2016 rule's too) as of ``as_of``
    (SPEC §9): a table as of a day depends only on the facts that took effect by then.

    A child with a fact taking effect later (:func:`~leftbehind.domain.model.known_on`) is
    taken as it stood, and its timelines are derived again from those facts — a later spell
    away can otherwise bridge a home stay that, on the day, had not been bridged. So is a
    timeline stored by another version of the policy (a store written before an upgrade is read
    as the current version decides; ``set_policy`` stores them again). Every timeline is taken
    as it stood (:meth:`~leftbehind.domain.eligibility.Timeline.known_on`).
    """
    policy, schools = ctx.policy(snap), snap.schools()
    rules = [(policy, timelines, dict(timelines))]
    if national is not None:
        rules.append((ctx.national, national, dict(national)))
    stood: list[Child] = []
    changed: set[str] = set()
    for child in children:
        then = known_on(child, as_of)
        stood.append(then)
        for rule, stored, out in rules:
            was = stored.get(child.id)
            current = was is not None and (was.policy, was.version) == (rule.name, rule.version)
            if then is child and (current or was is None):
                if was is not None:
                    out[child.id] = was.known_on(as_of)
                continue
            fresh = rule.timeline(then, schools).known_on(as_of)
            out[child.id] = fresh
            if rule is policy and (was is None or was.known_on(as_of) != fresh):
                changed.add(child.id)
    return Known(
        stood, rules[0][2], rules[1][2] if national is not None else {}, frozenset(changed)
    )


def facts(
    ctx: Context,
    snap: Snapshot,
    period: Interval,
    visible: Visible | None,
    as_of: date | None = None,
) -> ledger.LedgerFacts:
    """Ledger facts of every child (``visible=None``) or of the children given, unmasked;
    with ``as_of``, as the facts known on that day make them (:func:`known`)."""
    if visible is None:
        children: Collection[Child] = list(snap.children().values())
        timelines = snap.timelines()
        national = snap.timelines(national=True)
        assignments = snap.assignments()
    else:
        children = [c for c, _ in visible.values()]
        timelines = snap.timelines_of(visible)
        national = {k: t for k, t in snap.timelines(national=True).items() if k in visible}
        assignments = snap.assignments_of(visible)
    if as_of is not None:
        found = known(ctx, snap, children, as_of, timelines, national)
        children, timelines, national = found.children, found.timelines, found.national
    records = snap.duty_records(None if visible is None else visible)
    duty_book = _book(ctx, snap, period, timelines, assignments, records)
    return _facts(
        ctx,
        snap,
        children,
        timelines,
        national,
        duty_book.assignments,
        duty_book.tallies,
        staff=snap.staff(),
    )


def _facts(
    ctx: Context,
    snap: Snapshot,
    children: Collection[Child],
    timelines: Mapping[str, Timeline],
    national: Mapping[str, Timeline],
    assignments: Assignments,
    duties: ledger.DutySource,
    *,
    staff: Mapping[str, Staff],
) -> ledger.LedgerFacts:
    policy = ctx.policy(snap)
    return ledger.LedgerFacts(
        schools=snap.schools(),
        children=tuple(sorted(children, key=lambda c: c.id)),
        timelines=timelines,
        national=national,
        staff=staff,
        assignments=assignments,
        duties=duties,
        county=str(snap.settings().get("name", "")),
        county_code=str(snap.settings().get("code", "")),
        policy=f"{policy.name}/{policy.version}",
        national_policy=f"{ctx.national.name}/{ctx.national.version}",
    )


def _pushdown(ctx: Context) -> LedgerPushdown | None:
    store = ctx.repo.store
    if LEDGER_PUSHDOWN in store.capabilities and isinstance(store, LedgerPushdown):
        return store
    return None


def parts(
    ctx: Context,
    snap: Snapshot,
    period: Interval,
    as_of: date,
    store: LedgerPushdown,
    children: Collection[str] | None = None,
) -> Iterator[ledger.LedgerFacts]:
    """The ledger facts as of ``as_of`` of every child (or of ``children``) a page of
    :data:`PAGE` at a time, holding one page in memory: for the county and school tables (the
    tallies are summed over owners). The store counts each page's duties, but for the children
    whose timeline as known on ``as_of`` is not the stored one (:func:`known`): theirs are
    counted here, from their records."""
    calendar = ctx.calendar(snap, period)
    duty_kinds = ctx.duty_kinds()
    plans: dict[Interval, DutyPlan] = {}

    def plan_of(span: Interval) -> DutyPlan:
        if span not in plans:
            plans[span] = duty_plan(calendar, duty_kinds, span)
        return plans[span]

    empty = True
    for page in snap.pages(children, PAGE):
        empty = False
        found = known(ctx, snap, page.children.values(), as_of, page.timelines, page.national)
        counted = [cid for cid in page.children if cid not in found.changed]
        here: DutyBook | None = None
        if found.changed:
            mine = {cid: found.timelines[cid] for cid in found.changed if cid in found.timelines}
            here = DutyBook(
                calendar,
                duty_kinds,
                mine,
                Assignments(a for a in page.assignments.all if a.child_id in found.changed),
                snap.page_records(found.changed),
            )

        def duties(
            span: Interval,
            day: date,
            counted: list[str] = counted,
            here: DutyBook | None = here,
        ) -> list[ledger.DutyCount]:
            out: list[ledger.DutyCount] = list(
                store.duty_tallies(plan_of(span), day, children=counted)
            )
            if here is not None:
                out.extend(here.tallies(span, day))
            return out

        yield _facts(
            ctx,
            snap,
            found.children,
            found.timelines,
            found.national,
            page.assignments,
            duties,
            staff={},
        )
    if empty:  # no child at all: one part without children names the schools
        yield _facts(ctx, snap, (), {}, {}, Assignments(()), no_duties, staff={})


def _county_facts(
    ctx: Context, snap: Snapshot, period: Interval, as_of: date
) -> ledger.LedgerFacts | Iterator[ledger.LedgerFacts]:
    """The facts of the whole county as of ``as_of`` for its county and school tables: held
    at once, or past :data:`PUSHDOWN_AFTER` records on a store that counts duties, read page by
    page."""
    store = _pushdown(ctx)
    if store is not None and ctx.repo.store.count(kinds.RECORD) > PUSHDOWN_AFTER:
        return parts(ctx, snap, period, as_of, store)
    return facts(ctx, snap, period, None, as_of)


def _school_facts(
    ctx: Context, snap: Snapshot, period: Interval, as_of: date, school_id: str
) -> ledger.LedgerFacts | Iterator[ledger.LedgerFacts]:
    """The facts as of ``as_of`` of the children ever enrolled at one school (all its table
    can count): read page by page, their duties counted by the store, where it can; else from
    the children held."""
    store = _pushdown(ctx)
    if store is not None:
        return parts(ctx, snap, period, as_of, store, store.enrolled_children([school_id]))
    return facts(ctx, snap, period, None, as_of)


def _span(day: date | None, period: Interval | None, today: date) -> tuple[date, Interval]:
    as_of = day or today
    return as_of, period or default_period(as_of)


def ledger_facts(ctx: Context, period: Interval) -> ledger.LedgerFacts:
    snap, gate = ctx.begin()
    gate.require("files.read", "read ledger facts")
    files = gate.files()
    found = facts(ctx, snap, period, files)
    masked = tuple(mask_child(c, files[c.id][1]) for c in found.children)
    return attrs.evolve(found, children=masked)


def county_table(ctx: Context, as_of: date | None, period: Interval | None) -> ledger.CountyTable:
    snap, gate = ctx.begin()
    gate.require("county_table.read", "read the county table")
    day, span = _span(as_of, period, gate.today)
    table = ledger.county_table(_county_facts(ctx, snap, span, day), as_of=day, period=span)
    if gate.actor.sees_county:
        return table
    return _township_rows(table, str(gate.actor.township))


def school_table(
    ctx: Context, school_id: str, as_of: date | None, period: Interval | None
) -> ledger.SchoolTable:
    snap, gate = ctx.begin()
    gate.require("school_tables.read", "read the school table of", school_id)
    day, span = _span(as_of, period, gate.today)
    if school_id not in snap.schools():
        raise NotFoundError("school", school_id)
    if not gate.school_in_scope(school_id):
        raise gate.deny("read the school table of", school_id)
    found = _school_facts(ctx, snap, span, day, school_id)
    return _named_in_reach(ledger.school_table(found, school_id, as_of=day, period=span), gate)


def reported_school_table(
    ctx: Context, school_id: str, as_of: date, period: Interval
) -> ledger.SchoolTable:
    """动态状况表 of one school whole (its lists naming every child it counts, by key): what
    sign-off keeps as reported. The caller has checked that the actor may sign it off."""
    snap, _ = ctx.begin()
    found = _school_facts(ctx, snap, period, as_of, school_id)
    return ledger.school_table(found, school_id, as_of=as_of, period=period)


def school_tables(
    ctx: Context, as_of: date | None, period: Interval | None
) -> dict[str, ledger.SchoolTable]:
    snap, gate = ctx.begin()
    gate.require("school_tables.read", "read school tables")
    day, span = _span(as_of, period, gate.today)
    tables = ledger.school_tables(_county_facts(ctx, snap, span, day), as_of=day, period=span)
    return {k: _named_in_reach(t, gate) for k, t in tables.items() if gate.school_in_scope(k)}


def _named_in_reach(table: ledger.SchoolTable, gate: Gate) -> ledger.SchoolTable:
    """The table's counts stay whole (they are the school's); its lists name only the children
    in the actor's reach today, the others counted without a key or a name."""
    if gate.actor.sees_county:
        return table
    files = gate.files()
    movements = tuple(
        m if m.child_id in files else attrs.evolve(m, child_id="", name="") for m in table.movements
    )
    overdue = tuple(
        o if o.child_id in files else attrs.evolve(o, child_id="", name="") for o in table.overdue
    )
    return attrs.evolve(table, movements=movements, overdue=overdue)


def teacher_table(
    ctx: Context, staff_id: str, as_of: date | None, period: Interval | None
) -> ledger.TeacherTable:
    snap, gate = ctx.begin()
    gate.require("teacher_tables.read", "read teacher tables")
    day, span = _span(as_of, period, gate.today)
    gate.require_staff(staff_id, "read the teacher table of")
    files = gate.files()
    table = ledger.teacher_table(
        facts(ctx, snap, span, files, day), staff_id, as_of=day, period=span
    )
    return _masked_table(table, files)


def teacher_tables(
    ctx: Context, as_of: date | None, period: Interval | None, school: str | None = None
) -> dict[str, ledger.TeacherTable]:
    """The teacher tables in the actor's reach; with ``school``, of that school's staff only
    (built from the children they hold)."""
    snap, gate = ctx.begin()
    gate.require("teacher_tables.read", "read teacher tables")
    day, span = _span(as_of, period, gate.today)
    files = gate.files()
    staff = None
    if school is not None:
        if school not in snap.schools():
            raise NotFoundError("school", school)
        staff = {k for k, s in snap.staff().items() if s.school_id == school}
        held = snap.assignments()
        theirs = {a.child_id for k in staff for a in held.of_staff(k)}
        files = {k: v for k, v in files.items() if k in theirs}
    tables = ledger.teacher_tables(facts(ctx, snap, span, files, day), as_of=day, period=span)
    return {
        k: _masked_table(t, files)
        for k, t in tables.items()
        if (staff is None or k in staff) and gate.staff_reachable(k)
    }


def diff(ctx: Context, before: date, after: date) -> ledger.LedgerDiff:
    snap, gate = ctx.begin()
    gate.require("files.read", "read movements")
    visible = None if gate.actor.sees_county else gate.files()
    found = facts(ctx, snap, default_period(after), visible, after)
    return ledger.diff(found, before, after)


def commendations(
    ctx: Context, as_of: date | None, period: Interval | None
) -> tuple[tuple[ledger.Standing, ...], tuple[ledger.Standing, ...]]:
    snap, gate = ctx.begin()
    gate.require("commendations.read", "read the commendation ranking")
    day, span = _span(as_of, period, gate.today)
    found = facts(ctx, snap, span, None, day)
    table = ledger.county_table(found, as_of=day, period=span)
    return ledger.rank_schools(table), ledger.rank_staff(found, as_of=day, period=span)


def duty_book(ctx: Context, period: Interval) -> DutyBook:
    snap, gate = ctx.begin()
    gate.require("files.read", "read the duty book")
    return book(ctx, snap, period, gate.files(), texts=True)


def compliance(ctx: Context, period: Interval, as_of: date) -> Compliance:
    snap, gate = ctx.begin()
    gate.require("files.read", "read the duty book")
    return book(ctx, snap, period, gate.files(), as_of=as_of).compliance(period, as_of)


def _township_rows(table: ledger.CountyTable, township: str) -> ledger.CountyTable:
    """The rows of one township; the county and grand totals become the township's."""
    sub = next((k for k in table.rows if len(k) == 2 and k[1] == township), None)
    if sub is None:
        return ledger.CountyTable(table.stamp, {}, {}, table.codes).check()
    rows = {k: v for k, v in table.rows.items() if len(k) >= 2 and k[1] == township}
    rows[sub[:1]] = dict(table.rows[sub])
    rows[()] = dict(table.rows[sub])
    names = {k: v for k, v in table.names.items() if k in rows}
    return ledger.CountyTable(table.stamp, rows, names, table.codes).check()


def _masked_table(table: ledger.TeacherTable, visible: Visible) -> ledger.TeacherTable:
    """Only the rows of children in scope, each masked by the actor's standing towards them."""
    rows = []
    for row in table.rows:
        if row.child_id not in visible:
            continue
        standing = visible[row.child_id][1]
        if row.resident_id and not may_see(Field.RESIDENT_ID, standing):
            row = attrs.evolve(row, resident_id=mask_resident_id(row.resident_id))
        if not may_see(Field.PHONES, standing):
            g = row.guardian
            if g is not None and g.phone:
                g = attrs.evolve(g, phone=mask_phone(g.phone))
            row = attrs.evolve(
                row,
                guardian=g,
                father=attrs.evolve(row.father, phone=mask_phone(row.father.phone))
                if row.father.phone
                else row.father,
                mother=attrs.evolve(row.mother, phone=mask_phone(row.mother.phone))
                if row.mother.phone
                else row.mother,
            )
        rows.append(row)
    return attrs.evolve(table, rows=tuple(rows))
