"""The ledger: tables as values with laws (monoid, consistency, reproducibility, diff, ranking)."""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import date, timedelta

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leftbehind.domain.dates import Interval
from leftbehind.domain.duties import Tally
from leftbehind.domain.eligibility import Category, NationalPolicy, PlanPolicy
from leftbehind.domain.errors import LeftbehindError, ValidationError
from leftbehind.domain.ledger import (
    EMPTY,
    CountyTable,
    DutyCount,
    DutySource,
    LedgerFacts,
    LedgerInconsistencyError,
    LedgerMismatchError,
    MoveReason,
    SchoolTable,
    Stamp,
    county_table,
    diff,
    merge,
    primary_category,
    rank,
    rank_schools,
    rank_staff,
    school_table,
    school_tables,
    teacher_table,
    teacher_tables,
)
from leftbehind.domain.model import (
    Absence,
    Child,
    Enrolment,
    Guardian,
    LeaveReason,
    Parent,
    School,
    Sex,
)
from leftbehind.domain.people import Assignment, Role, Staff
from leftbehind.testing.synthetic import synthetic_facts

PLAN, NATIONAL = PlanPolicy(), NationalPolicy()
SEPTEMBER = Interval(date(2026, 9, 1), date(2026, 10, 1))
KINDS = ("TALK", "FAMILY_CONTACT", "PARENT_REPORT", "HOME_VISIT")


# ---------------------------------------------------------------------------------------------
# Building facts: the synthetic county, with care links and duty tallies drawn from a seed.


def care(children: Sequence[Child], seed: int) -> tuple[list[Staff], list[Assignment]]:
    """A class teacher per (school, class), proxy parents and staff pairs for most children."""
    staff: dict[str, Staff] = {}
    out: list[Assignment] = []

    def assign(child: Child, sid: str, school: str, role: Role, e: Enrolment) -> None:
        staff.setdefault(sid, Staff(sid, f"教师{sid[-3:]}", school, phone="13512345678"))
        out.append(Assignment(f"A{len(out)}", sid, child.id, role, e.start, e.end))

    for child in children:
        rng = random.Random(f"{seed}/{child.id}")
        for e in child.enrolments:
            school = e.school_id
            assign(child, f"T-{school}-{e.class_name}", school, Role.CLASS_TEACHER, e)
            if rng.random() < 0.8:
                assign(child, f"P-{school}-{rng.randrange(4)}", school, Role.PROXY_PARENT, e)
            if rng.random() < 0.6:
                assign(child, f"P-{school}-{rng.randrange(4)}", school, Role.STAFF_PAIR, e)
            if rng.random() < 0.2:
                assign(child, f"V{rng.randrange(9)}", school, Role.VOLUNTEER, e)
    return sorted(staff.values(), key=lambda p: p.id), out


def tallies_source(
    children: Sequence[Child], assignments: Sequence[Assignment], seed: int
) -> DutySource:
    """A duty source whose tallies depend only on the seed, the child, the period and the day."""
    owners: dict[str, list[str]] = {}
    for a in assignments:
        owners.setdefault(a.child_id, []).append(a.staff_id)
    ids = [c.id for c in children]

    def source(period: Interval, as_of: date) -> Iterable[Tally]:
        for cid in ids:
            rng = random.Random(f"{seed}/{cid}/{period.start}/{as_of}")
            if rng.random() < 0.5:
                continue
            for kind in KINDS:
                due = rng.randrange(0, 5)
                done = rng.randrange(0, due + 1)
                overdue = rng.randrange(0, due - done + 1)
                owner = rng.choice(owners.get(cid, ["nobody"]))
                yield Tally(cid, kind, owner, due, done, overdue)

    return source


def county_facts(
    seed: int,
    n: int,
    *,
    as_of: date = date(2026, 9, 1),
    county: str = "广平县",
    keep: Iterable[Child] | None = None,
) -> LedgerFacts:
    facts = synthetic_facts(seed=seed, children=n, as_of=as_of)
    schools = {s.id: s for s in facts.schools}
    children = tuple(facts.children if keep is None else keep)
    staff, assignments = care(children, seed)
    return LedgerFacts(
        schools,
        children,
        {c.id: PLAN.timeline(c, schools) for c in children},
        national={c.id: NATIONAL.timeline(c, schools) for c in children},
        staff=staff,
        assignments=assignments,
        duties=tallies_source(children, assignments, seed),
        county=county,
        national_policy="national-2016/2",
    )


def split(facts: LedgerFacts, mask: int, *, by_school: bool) -> tuple[LedgerFacts, LedgerFacts]:
    """Two parts of one county: its schools (with their pupils) split by the bits of ``mask``,
    or only its children (the schools then appear in both parts)."""
    order = {sid: i for i, sid in enumerate(sorted(facts.schools))}

    def first(i: int, child: Child) -> bool:
        bit = order[child.enrolments[0].school_id] if by_school else i
        return bool(mask >> (bit % 61) & 1)

    def part(keep: bool) -> LedgerFacts:
        children = tuple(c for i, c in enumerate(facts.children) if first(i, c) is keep)
        ids = {c.id for c in children}
        schools = facts.schools
        if by_school:
            schools = {
                k: v for k, v in schools.items() if bool(mask >> (order[k] % 61) & 1) is keep
            }

        def source(period: Interval, as_of: date) -> Iterable[DutyCount]:
            return (t for t in facts.duties(period, as_of) if t.child_id in ids)

        return LedgerFacts(
            schools,
            children,
            facts.timelines,
            national=facts.national,
            staff=facts.staff,
            assignments=[a for a in facts.assignments.all if a.child_id in ids],
            duties=source,
            county=facts.county,
            national_policy=facts.national_policy,
        )

    return part(True), part(False)


seeds = st.integers(0, 10_000)
sizes = st.integers(0, 160)
days = st.dates(date(2025, 9, 1), date(2027, 6, 30))


# ---------------------------------------------------------------------------------------------
# Monoid laws, on arbitrary tables of one stamp (consistency is not needed for the laws).

STAMP = Stamp(date(2026, 9, 30), SEPTEMBER, "guangping-plan/2")
row_keys = st.sampled_from(
    [(), ("甲县",), ("甲县", "镇一"), ("甲县", "镇一", "S1"), ("甲县", "镇二", "S2"), ("乙县",)]
)
cells = st.dictionaries(st.sampled_from(["served", "sex.male", "due.talk", "x"]), st.integers(0, 9))
tables = st.builds(CountyTable, st.just(STAMP), st.dictionaries(row_keys, cells, max_size=4))


@given(tables, tables, tables)
def test_addition_is_associative(a: CountyTable, b: CountyTable, c: CountyTable) -> None:
    assert (a + b) + c == a + (b + c)


@given(tables, tables)
def test_addition_is_commutative(a: CountyTable, b: CountyTable) -> None:
    assert a + b == b + a
    assert (a + b).to_json() == (b + a).to_json()


@given(tables)
def test_empty_is_the_identity(a: CountyTable) -> None:
    assert a + EMPTY == a == EMPTY + a
    assert merge(a) == a
    assert merge() == EMPTY
    assert sum([a, EMPTY]) == a  # sum starts from 0


@given(tables, tables)
def test_addition_adds_every_cell(a: CountyTable, b: CountyTable) -> None:
    total = a + b
    for key in set(a.rows) | set(b.rows):
        for col in set(a.row(key)) | set(b.row(key)):
            assert total.row(key).get(col, 0) == a.row(key).get(col, 0) + b.row(key).get(col, 0)


def test_tables_of_different_stamps_do_not_add() -> None:
    other = Stamp(date(2026, 9, 29), SEPTEMBER, "guangping-plan/2")
    with pytest.raises(LedgerMismatchError):
        CountyTable(STAMP, {(): {"served": 1}}) + CountyTable(other, {(): {"served": 1}})


def test_a_stamp_needs_as_of_inside_a_closed_period() -> None:
    with pytest.raises(ValueError, match="inside"):
        Stamp(date(2026, 10, 1), SEPTEMBER, "p")
    with pytest.raises(ValueError, match="end"):
        Stamp(date(2026, 10, 1), Interval(date(2026, 9, 1)), "p")


# ---------------------------------------------------------------------------------------------
# Consistency on random counties, union, reproducibility, diff.


@settings(max_examples=25)
@given(seeds, sizes, days)
def test_tables_of_random_counties_are_consistent(seed: int, n: int, as_of: date) -> None:
    facts = county_facts(seed, n)
    period = Interval(as_of.replace(day=1), as_of + timedelta(days=1))
    table = county_table(facts, as_of=as_of, period=period)
    assert table.check() is table
    schools = school_tables(facts, as_of=as_of, period=period)
    for key in table.schools():
        assert schools[key[2]].counts == table.rows[key]
    total = table.total
    assert total.get("served", 0) == sum(
        1
        for c in facts.children
        if facts.timelines[c.id].categories_on(as_of) and c.enrolment_on(as_of) is not None
    )
    assert total.get("enrolled", 0) == sum(1 for c in facts.children if c.enrolment_on(as_of))


@settings(max_examples=25)
@given(seeds, sizes, st.integers(0, 2**61 - 1), days)
def test_merging_two_counties_equals_the_table_of_their_union(
    seed: int, n: int, mask: int, as_of: date
) -> None:
    facts = county_facts(seed, n)
    a, b = split(facts, mask, by_school=True)
    period = Interval(date(as_of.year, 1, 1), date(as_of.year + 1, 1, 1))
    whole = county_table(facts, as_of=as_of, period=period)
    merged = county_table(a, as_of=as_of, period=period) + county_table(
        b, as_of=as_of, period=period
    )
    assert merged.check() == whole
    assert merged.to_json() == whole.to_json()


@settings(max_examples=25)
@given(seeds, sizes, st.integers(0, 2**61 - 1), days)
def test_counts_of_children_add_up_over_any_split_of_the_children(
    seed: int, n: int, mask: int, as_of: date
) -> None:
    """Only the staff counts (people, counted once per school) are not additive over children
    who share a school: a proxy parent of children in both parts counts in each."""
    facts = county_facts(seed, n)
    a, b = split(facts, mask, by_school=False)
    period = Interval(date(as_of.year, 1, 1), date(as_of.year + 1, 1, 1))
    whole = county_table(facts, as_of=as_of, period=period)
    merged = county_table(a, as_of=as_of, period=period) + county_table(
        b, as_of=as_of, period=period
    )
    merged.check()
    assert set(merged.rows) == set(whole.rows)
    for key, cells in whole.rows.items():
        for col in set(cells) | set(merged.rows[key]):
            if col.startswith("staff."):
                assert merged.rows[key].get(col, 0) >= cells.get(col, 0)
            else:
                assert merged.rows[key].get(col, 0) == cells.get(col, 0)


def pages(facts: LedgerFacts, size: int) -> list[LedgerFacts]:
    """The county's facts in parts of ``size`` children, as a handle reads a province."""
    out = []
    for i in range(0, max(len(facts.children), 1), size):
        children = facts.children[i : i + size]
        ids = {c.id for c in children}

        def source(period: Interval, as_of: date, ids: set[str] = ids) -> Iterable[DutyCount]:
            return (t for t in facts.duties(period, as_of) if t.child_id in ids)

        out.append(
            attrs.evolve(
                facts,
                children=children,
                timelines={k: t for k, t in facts.timelines.items() if k in ids},
                national={k: t for k, t in facts.national.items() if k in ids},
                assignments=[a for a in facts.assignments.all if a.child_id in ids],
                duties=source,
            )
        )
    return out


@settings(max_examples=25)
@given(seeds, sizes, st.integers(1, 40), days)
def test_tables_counted_in_parts_equal_the_tables_of_the_whole(
    seed: int, n: int, size: int, as_of: date
) -> None:
    """A county counted a page of children at a time gives the same tables, staff counted
    once per school across pages."""
    facts = county_facts(seed, n)
    period = Interval(date(as_of.year, 1, 1), date(as_of.year + 1, 1, 1))
    parts = pages(facts, size)
    whole = county_table(facts, as_of=as_of, period=period)
    assert county_table(iter(parts), as_of=as_of, period=period).to_json() == whole.to_json()
    assert school_tables(parts, as_of=as_of, period=period) == school_tables(
        facts, as_of=as_of, period=period
    )
    sid = sorted(facts.schools)[seed % len(facts.schools)]
    assert school_table(parts, sid, as_of=as_of, period=period) == school_table(
        facts, sid, as_of=as_of, period=period
    )


def test_parts_must_share_the_county() -> None:
    facts = county_facts(3, 20)
    other = attrs.evolve(facts, county="乙县")
    with pytest.raises(ValueError, match="share"):
        county_table([facts, other], as_of=date(2026, 9, 20), period=SEPTEMBER)
    with pytest.raises(ValueError, match="at least one part"):
        county_table([], as_of=date(2026, 9, 20), period=SEPTEMBER)


@settings(max_examples=10)
@given(seeds, seeds)
def test_a_province_is_the_sum_of_its_counties(seed1: int, seed2: int) -> None:
    as_of = date(2026, 9, 20)
    one = county_table(county_facts(seed1, 60, county="甲县"), as_of=as_of, period=SEPTEMBER)
    two = county_table(county_facts(seed2, 90, county="乙县"), as_of=as_of, period=SEPTEMBER)
    province = merge(one, two).check()
    assert province.row(("甲县",)) == one.row(("甲县",))
    assert province.total == dict(sorted((Counter(one.total) + Counter(two.total)).items()))
    assert "C0" not in province.to_json()  # no child's id, let alone a name


@settings(max_examples=15)
@given(seeds, sizes, days)
def test_the_same_inputs_give_the_same_bytes(seed: int, n: int, as_of: date) -> None:
    facts = county_facts(seed, n)
    again = county_facts(seed, n, keep=reversed(county_facts(seed, n).children))
    period = Interval(as_of - timedelta(days=40), as_of + timedelta(days=1))
    first = county_table(facts, as_of=as_of, period=period)
    second = county_table(again, as_of=as_of, period=period)
    assert first.to_json().encode() == second.to_json().encode()
    assert CountyTable.from_dict(first.to_dict()) == first
    s1 = school_tables(facts, as_of=as_of, period=period)
    s2 = school_tables(again, as_of=as_of, period=period)
    assert s1 == s2
    assert teacher_tables(facts, as_of=as_of, period=period) == teacher_tables(
        again, as_of=as_of, period=period
    )


@settings(max_examples=25)
@given(seeds, sizes, days, days)
def test_diff_agrees_with_the_tables_at_both_days(seed: int, n: int, d1: date, d2: date) -> None:
    d1, d2 = min(d1, d2), max(d1, d2)
    facts = county_facts(seed, n, as_of=date(2026, 9, 1))
    year = Interval(date(d1.year, 1, 1), date(d2.year + 1, 1, 1))
    before = county_table(facts, as_of=d1, period=year)
    after = county_table(facts, as_of=d2, period=year)
    change = diff(facts, d1, d2)
    for key in after.schools():
        sid = key[2]
        expected = after.rows[key].get("served", 0) - before.rows[key].get("served", 0)
        assert change.net().get(sid, 0) == expected
    if d1 < d2:  # the table of the period after d1 lists the same movements
        table = county_table(
            facts, as_of=d2, period=Interval(d1 + timedelta(days=1), d2 + timedelta(days=1))
        )
        counted: Counter[tuple[str, str]] = Counter((m.school_id, m.key) for m in change.movements)
        for key in table.schools():
            for col, v in table.rows[key].items():
                if col.startswith(("entered.", "left.")):
                    assert counted[(key[2], col)] == v
            assert table.rows[key].get("opening", 0) == before.rows[key].get("served", 0)
        assert sum(counted.values()) == len(change.movements)


def test_diff_needs_ordered_days() -> None:
    facts = county_facts(1, 10)
    with pytest.raises(ValueError, match="before <= after"):
        diff(facts, date(2026, 9, 2), date(2026, 9, 1))
    assert diff(facts, date(2026, 9, 1), date(2026, 9, 1)).movements == ()


# ---------------------------------------------------------------------------------------------
# Injected inconsistencies are caught loudly.


def _tampered(table: CountyTable, key: tuple[str, ...], col: str, delta: int) -> CountyTable:
    rows = {k: dict(v) for k, v in table.rows.items()}
    rows[key][col] = rows[key].get(col, 0) + delta
    return CountyTable(table.stamp, rows, table.names)


@pytest.fixture(scope="module")
def september() -> CountyTable:
    return county_table(county_facts(7, 400), as_of=date(2026, 9, 30), period=SEPTEMBER)


def test_a_table_that_breaks_a_rule_raises(september: CountyTable) -> None:
    school = next(iter(september.schools()))
    township = school[:2]
    cases = [
        (school, "opening", 1, "opening"),  # start + entered - left != end
        (school, "sex.male", 1, "sex.* sums"),  # a breakdown no longer sums to the total
        (township, "enrolled", 1, "not the sum of its rows"),  # a township is not its schools
        (("广平县",), "served", -1, "not the sum"),  # a county is not its townships
        ((), "due.talk", 1, "total is not the sum"),
        (school, "done.talk", 10_000, "done + overdue exceed due"),
    ]
    for key, col, delta, message in cases:
        bad = _tampered(september, key, col, delta)
        with pytest.raises(LedgerInconsistencyError, match=re.escape(message)) as info:
            bad.check()
        assert isinstance(info.value, LeftbehindError)
        assert isinstance(info.value, AssertionError)
        assert info.value.problems


def test_an_inconsistency_message_names_rows_never_children(september: CountyTable) -> None:
    school = next(iter(september.schools()))
    with pytest.raises(LedgerInconsistencyError) as info:
        _tampered(september, school, "served", 1).check()
    assert "/".join(school) in str(info.value)
    assert "C0" not in str(info.value)


def test_school_table_lists_must_agree_with_its_counts() -> None:
    facts = county_facts(3, 300)
    tables = school_tables(facts, as_of=date(2026, 9, 30), period=SEPTEMBER)
    table = next(t for t in tables.values() if t.movements)
    fewer = SchoolTable(
        table.stamp, table.county, table.school, table.counts, table.movements[1:], table.overdue
    )
    with pytest.raises(LedgerInconsistencyError, match="movements"):
        fewer.check()
    table = next(t for t in tables.values() if t.overdue)
    none = SchoolTable(table.stamp, table.county, table.school, table.counts, table.movements)
    with pytest.raises(LedgerInconsistencyError, match="overdue"):
        none.check()


# ---------------------------------------------------------------------------------------------
# Worked examples: the reasons of entering and leaving, and what the tables show.

RURAL = School("A", "甲村小学", "甲镇")
OTHER = School("B", "乙村小学", "甲镇")
MIDDLE = School("M", "甲镇中学", "甲镇")


def _child(cid: str, *enrolments: Enrolment, father: Parent, **kw: object) -> Child:
    return Child(
        cid,
        f"儿童{cid}",
        Sex.FEMALE,
        date(2016, 3, 1),
        enrolments=enrolments,
        father=father,
        mother=Parent(name="母", phone="13800000000"),
        guardian=Guardian("祖母", "祖母", "13900000000"),
        **kw,  # type: ignore[arg-type]
    )


def _facts(children: Sequence[Child], **kw: object) -> LedgerFacts:
    schools = {s.id: s for s in (RURAL, OTHER, MIDDLE)}
    return LedgerFacts(
        schools,
        children,
        {c.id: PLAN.timeline(c, schools) for c in children},
        **kw,  # type: ignore[arg-type]
    )


def test_reasons_of_entering_and_leaving() -> None:
    enrolled = Enrolment("A", date(2023, 9, 1), 1, "1班")
    away = Parent(name="父", phone="13700000000", absences=[Absence(date(2026, 2, 10))])
    back = Parent(absences=[Absence(date(2025, 1, 5), date(2026, 5, 20), "北京")])
    moved = (
        Enrolment("A", date(2023, 9, 1), 1, "2班", date(2026, 5, 15), LeaveReason.TRANSFERRED),
        Enrolment("B", date(2026, 5, 15), 3, "1班"),
    )
    out = Enrolment("A", date(2023, 9, 1), 1, "1班", date(2026, 5, 25), LeaveReason.DROPPED_OUT)
    gone = Parent(absences=[Absence(date(2025, 1, 5), None, "天津")])
    children = [
        _child("C1", enrolled, father=away),
        _child("C2", enrolled, father=back),
        _child("C3", *moved, father=gone),
        _child("C4", out, father=gone),
        _child("C5", Enrolment("A", date(2026, 5, 11), 3, "3班"), father=gone),
    ]
    facts = _facts(children)
    change = diff(facts, date(2026, 5, 1), date(2026, 5, 31))
    found = {(m.child_id, m.school_id, m.key, m.on) for m in change.movements}
    assert found == {
        ("C1", "A", "entered.parent_left", date(2026, 5, 10)),
        ("C2", "A", "left.parent_returned", date(2026, 5, 20)),
        ("C3", "A", "left.transferred", date(2026, 5, 15)),
        ("C3", "B", "entered.transferred_in", date(2026, 5, 15)),
        ("C4", "A", "left.dropped_out", date(2026, 5, 25)),
        ("C5", "A", "entered.enrolled", date(2026, 5, 11)),
    }
    causes = {m.child_id: m.cause for m in change.movements if m.reason is MoveReason.PARENT_LEFT}
    assert causes["C1"] == "父亲自2026-02-10外出务工，已满3个月"
    assert "儿童" not in "".join(m.cause for m in change.movements)  # no names in causes
    may = Interval(date(2026, 5, 1), date(2026, 6, 1))
    a = school_table(facts, "A", as_of=date(2026, 5, 31), period=may)
    assert a.counts["opening"] == 3  # C2, C3, C4
    assert a.counts["closing"] == a.counts["served"] == 2  # C1, C5
    assert a.counts["entered.parent_left"] == a.counts["entered.enrolled"] == 1
    assert a.movements[0].child_id == "C5"  # entered first, then by reason


def test_a_policy_change_is_a_reason() -> None:
    gone = Parent(absences=[Absence(date(2026, 1, 10), None, "天津")])
    child = _child("C1", Enrolment("A", date(2023, 9, 1), 1, "1班"), father=gone)
    facts = _facts([child])
    stricter = PlanPolicy(min_months=6, name="strict")
    earlier = {child.id: PLAN.timeline(child, facts.schools)}
    later = {child.id: stricter.timeline(child, facts.schools)}
    now = LedgerFacts(facts.schools, facts.children, later)
    change = diff(now, date(2026, 5, 1), date(2026, 5, 20), earlier=earlier)
    assert [(m.key, m.cause) for m in change.movements] == [("left.policy", "政策调整")]
    table = county_table(
        now,
        as_of=date(2026, 5, 20),
        period=Interval(date(2026, 5, 2), date(2026, 6, 1)),
        opening_timelines=earlier,
    )
    assert table.total["opening"] == 1
    assert table.total["left.policy"] == 1
    assert table.total.get("served", 0) == 0


def test_primary_category_precedence_makes_the_breakdown_sum() -> None:
    assert primary_category({Category.SINGLE_PARENT, Category.LEFT_BEHIND_ONE}) is (
        Category.LEFT_BEHIND_ONE
    )
    assert primary_category({Category.ORPHAN, Category.ABANDONED}) is Category.ORPHAN
    facts = county_facts(11, 500)
    total = county_table(facts, as_of=date(2026, 9, 30), period=SEPTEMBER).total
    categories = sum(v for k, v in total.items() if k.startswith("category."))
    primary = sum(v for k, v in total.items() if k.startswith("primary."))
    assert primary == total["served"] < categories  # some children are in two categories


def test_national_count_stands_beside_the_plan_count() -> None:
    facts = county_facts(5, 600)
    table = county_table(facts, as_of=date(2026, 9, 30), period=SEPTEMBER)
    assert table.stamp is not None
    assert table.stamp.national == "national-2016/2"
    assert 0 < table.total["national"] < table.total["served"]


def test_unknown_school_is_a_validation_error() -> None:
    child = _child("C1", Enrolment("Z", date(2023, 9, 1), 1), father=Parent())
    facts = _facts([child])
    with pytest.raises(ValidationError) as info:
        county_table(facts, as_of=date(2026, 9, 30), period=SEPTEMBER)
    assert info.value.paths == {"children[0].enrolments[0].school_id"}


# ---------------------------------------------------------------------------------------------
# Coverage, duties, teacher tables and ranking.


def test_coverage_and_duties_are_counted_per_served_child() -> None:
    gone = Parent(absences=[Absence(date(2025, 1, 10), None, "天津")])
    e = Enrolment("A", date(2023, 9, 1), 1, "1班")
    kids = [_child(f"C{i}", e, father=gone) for i in range(3)]
    staff = [
        Staff("T1", "王老师", "A"),
        Staff("T2", "李老师", "A"),
        Staff("T3", "赵老师", "A"),
        Staff("B1", "小明", "A", title="学生"),
    ]
    held = [
        ("C0", "T1", Role.CLASS_TEACHER, date(2023, 9, 1), None),
        ("C1", "T1", Role.CLASS_TEACHER, date(2023, 9, 1), None),
        ("C0", "T2", Role.PROXY_PARENT, date(2026, 9, 15), None),
        ("C1", "T2", Role.PROXY_PARENT, date(2026, 9, 1), date(2026, 9, 10)),
        ("C2", "T3", Role.STAFF_PAIR, date(2026, 1, 1), None),
        ("C2", "B1", Role.STUDENT_BUDDY, date(2026, 1, 1), None),
    ]
    assignments = [
        Assignment(f"a{i}", sid, cid, role, start, end)
        for i, (cid, sid, role, start, end) in enumerate(held)
    ]
    tallies = [
        Tally("C0", "TALK", "T1", 4, 3, 1),
        Tally("C1", "TALK", "T1", 4, 4, 0),
        Tally("C0", "HOME_VISIT", "T2", 1, 0, 0),
    ]
    facts = _facts(kids, staff=staff, assignments=assignments, duties=lambda p, d: tallies)
    school = school_table(facts, "A", as_of=date(2026, 9, 30), period=SEPTEMBER)
    counts = school.counts
    assert counts["has.class_teacher"] == 2
    assert counts["has.proxy_parent"] == 1  # C1's proxy parent left on 10 September
    assert counts["has.staff_pair"] == 1
    assert counts["staff.proxy_parent"] == 1
    assert (counts["due.talk"], counts["done.talk"], counts["overdue.talk"]) == (8, 7, 1)
    assert counts["overdue_children"] == 1
    assert [(o.child_id, o.overdue) for o in school.overdue] == [("C0", (("TALK", 1),))]
    t1 = teacher_table(facts, "T1", as_of=date(2026, 9, 30), period=SEPTEMBER)
    assert [r.child_id for r in t1.rows] == ["C0", "C1"]
    row = t1.rows[0]
    assert row.roles == (Role.CLASS_TEACHER,)
    assert row.proxy_parents == ("李老师",)
    assert row.father.status == "外出务工"
    assert row.father.work_place == "天津"
    assert row.mother.status == "在家"
    assert [(c.kind, c.due, c.done, c.overdue) for c in row.duties] == [("TALK", 4, 3, 1)]
    assert teacher_table(facts, "T3", as_of=date(2026, 9, 30), period=SEPTEMBER).rows[
        0
    ].pairings == (("一对一帮扶教职工", "赵老师"), ("结伴学生", "小明"))
    assert teacher_table(facts, "nobody", as_of=date(2026, 9, 30), period=SEPTEMBER).rows == ()


def test_ranking_needs_a_minimum_volume_and_shares_ranks() -> None:
    standings = rank(
        [("a", "甲", 1, 1), ("b", "乙", 40, 38), ("c", "丙", 20, 19), ("d", "丁", 30, 27)],
        min_due=20,
    )
    assert [(s.rank, s.key) for s in standings] == [(1, "b"), (1, "c"), (3, "d")]
    assert standings[0].rate == pytest.approx(0.95)


def test_rankings_of_schools_and_staff() -> None:
    facts = county_facts(13, 600)
    table = county_table(facts, as_of=date(2026, 9, 30), period=SEPTEMBER)
    schools = rank_schools(table, kinds={"TALK"}, min_due=5)
    assert schools
    rates = [s.rate for s in schools]
    assert rates == sorted(rates, reverse=True)
    assert all(s.due >= 5 for s in schools)
    staff = rank_staff(facts, as_of=date(2026, 9, 30), period=SEPTEMBER, min_due=10)
    assert all(s.due >= 10 for s in staff)
    assert rank_schools(table, min_due=10**9) == ()
