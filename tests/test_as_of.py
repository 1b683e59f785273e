"""Domain truth through the handle: a period's calendar holds every term overlapping it, and a
table as of a day depends only on the facts that took effect by that day (SPEC §9)."""

from __future__ import annotations

import functools
import json
import warnings
from collections.abc import Callable, Iterator
from datetime import date, timedelta

import attrs
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from tests.counties import load

import leftbehind
from leftbehind import Actor
from leftbehind.domain.dates import Interval
from leftbehind.domain.eligibility import PlanPolicy
from leftbehind.domain.model import Absence, Child, Enrolment, Parent, School, Sex
from leftbehind.domain.people import Assignment, Role, Staff
from leftbehind.service import County, ledgers
from leftbehind.testing.synthetic import SyntheticCounty, synthetic_county

SYSTEM = Actor.system("tests")
TODAY = date(2026, 12, 31)
SCHOOL = School("S01", "平固店镇中心小学", "平固店镇", rural=True)
AWAY = Absence(date(2024, 3, 1), None, "北京")


def pupil(child_id: str = "C001", **changes: object) -> Child:
    """A pupil of S01 since 2023 whose parents have both worked away since March 2024."""
    facts: dict[str, object] = {
        "id": child_id,
        "name": "张小明",
        "sex": Sex.MALE,
        "birth_date": date(2016, 3, 2),
        "enrolments": (Enrolment("S01", date(2023, 9, 1), 1, "1班"),),
        "father": Parent(absences=(AWAY,)),
        "mother": Parent(absences=(AWAY,)),
    }
    facts.update(changes)
    return Child(**facts)  # type: ignore[arg-type]


def one_pupil(handle: County) -> County:
    """One served pupil with a class teacher since September 2025, nothing recorded."""
    handle.put_schools([SCHOOL])
    handle.put_children([pupil()])
    handle.put_staff([Staff("T1", "王老师", "S01", "教师")])
    handle.put_assignments([Assignment("A1", "T1", "C001", Role.CLASS_TEACHER, date(2025, 9, 1))])
    return handle


@pytest.fixture
def county() -> Iterator[County]:
    with leftbehind.open("memory://", actor=SYSTEM, today=lambda: TODAY) as handle:
        yield one_pupil(handle)


def due(county: County, period: Interval, as_of: date) -> dict[str, int]:
    found = county.compliance(as_of, period).by_kind
    return {kind: counts.due for kind, counts in sorted(found.items()) if counts.due}


def test_january_owes_the_end_of_the_autumn_term(county: County) -> None:
    """January 2026 holds the last weeks of the autumn term of 2025: talks in the weeks of
    29 December, 5 and 12 January, the month's letter or call, and the term's report, safety
    education and parent lecture, and the year's festival."""
    january = Interval(date(2026, 1, 1), date(2026, 2, 1))
    assert due(county, january, date(2026, 1, 31)) == {
        "FAMILY_CONTACT": 1,
        "FESTIVAL": 1,
        "PARENT_LECTURE": 1,
        "PARENT_REPORT": 1,
        "SAFETY_EDUCATION": 1,
        "TALK": 3,
    }
    semesters = county.calendar(january).semesters
    assert any(s.start == date(2025, 9, 1) for s in semesters)


def test_a_calendar_year_owes_every_school_week_it_holds(county: County) -> None:
    """2026: three weeks of the autumn term of 2025, the spring term's twenty and the autumn
    term's eighteen less the National Day week, which has no school day: 40 talks."""
    year = Interval(date(2026, 1, 1), date(2027, 1, 1))
    found = due(county, year, TODAY)
    assert found["TALK"] == 40
    assert found["FAMILY_CONTACT"] == 11  # every month with a day of term: all but August
    assert found["PARENT_REPORT"] == 3  # autumn 2025, spring 2026, autumn 2026


def test_an_autumn_period_warns_only_for_years_it_touches(county: County) -> None:
    autumn = Interval(date(2026, 9, 1), date(2026, 12, 1))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        county.calendar(autumn)
        county.compliance(date(2026, 11, 30), autumn)


# ---------------------------------------------------------------------------------------------
# A table as of D depends only on the facts that took effect by D.


def _stood(end: date | None, day: date) -> date | None:
    return None if end is None or end > day else end


def _by(on: date | None, day: date) -> date | None:
    return on if on is not None and on <= day else None


def _parent_then(parent: Parent | None, day: date) -> Parent | None:
    if parent is None:
        return None
    return attrs.evolve(
        parent,
        absences=tuple(
            attrs.evolve(a, end=_stood(a.end, day)) for a in parent.absences if a.start <= day
        ),
        deceased_on=_by(parent.deceased_on, day),
        missing_since=_by(parent.missing_since, day),
        divorced_out_on=_by(parent.divorced_out_on, day),
        no_capacity_since=_by(parent.no_capacity_since, day),
    )


def entered_by(data: SyntheticCounty, day: date) -> SyntheticCounty:
    """The county as a clerk had entered it on ``day``: what began later is not there, what
    ends later is still going on, no record after the day. Written here, apart from the
    library's own reading of "as of", so that the two check each other."""

    def child(c: Child) -> Child:
        enrolments = tuple(
            attrs.evolve(e, end=_stood(e.end, day), end_reason=e.end_reason if e.end else None)
            if e.end is None or e.end <= day
            else attrs.evolve(e, end=None, end_reason=None)
            for e in c.enrolments
            if e.start <= day
        )
        return attrs.evolve(
            c,
            enrolments=enrolments,
            father=_parent_then(c.father, day),
            mother=_parent_then(c.mother, day),
            abandoned_on=_by(c.abandoned_on, day),
        )

    facts = attrs.evolve(data.facts, children=tuple(child(c) for c in data.facts.children))
    return attrs.evolve(
        data,
        facts=facts,
        assignments=tuple(
            attrs.evolve(a, end=_stood(a.end, day)) for a in data.assignments if a.start <= day
        ),
        groups=tuple(
            attrs.evolve(g, end=_stood(g.end, day)) for g in data.groups if g.start <= day
        ),
        records=tuple(r for r in data.records if r.on <= day),
    )


def later_facts(
    data: SyntheticCounty, day: date, edits: list[tuple[int, int, int, int]]
) -> SyntheticCounty:
    """``data`` with facts around ``day``: each edit ``(which, what, before, after)`` makes a
    parent come home ``before`` days before ``day`` (a fact known on the day) and then one of:
    leave again ``after`` days after it (which may bridge the stay), die after it, or a subject
    teacher, proxy parent or staff pair assigned, or an assignment ended, after it (each to a
    child served on the day). A parent an earlier edit made die is left alone (a spell away
    after a death is refused, rightly)."""
    children = list(data.facts.children)
    schools = {s.id: s for s in data.facts.schools}
    served = [
        i for i, c in enumerate(children) if PlanPolicy().timeline(c, schools).categories_on(day)
    ] or [0]
    assignments = list(data.assignments)
    for which, what, before, after in edits:
        i = served[which % len(served)]
        c = children[i]
        later = day + timedelta(days=after)
        parent = c.father or c.mother
        if parent is not None and parent.absences and parent.deceased_on is None:
            last = max(parent.absences, key=lambda a: a.start)
            if last.start < day - timedelta(days=before):
                home = attrs.evolve(last, end=day - timedelta(days=before))
                absences = tuple(home if a is last else a for a in parent.absences)
                if what == 0:
                    absences = (*absences, Absence(later, None, "上海"))
                parent = attrs.evolve(parent, absences=absences)
                if what == 1:
                    parent = attrs.evolve(parent, deceased_on=later)
                if c.father is not None:
                    children[i] = attrs.evolve(c, father=parent)
                else:
                    children[i] = attrs.evolve(c, mother=parent)
        if what == 2 and c.enrolments:
            staff = next(s for s in data.staff if s.school_id == c.enrolments[-1].school_id)
            owner = (Role.SUBJECT_TEACHER, Role.PROXY_PARENT, Role.STAFF_PAIR)[after % 3]
            assignments.append(Assignment(f"X{len(assignments)}", staff.id, c.id, owner, later))
        if what == 3:
            j = which % len(assignments)
            if assignments[j].start < later and assignments[j].end is None:
                assignments[j] = attrs.evolve(assignments[j], end=later)
    facts = attrs.evolve(data.facts, children=tuple(children))
    return attrs.evolve(data, facts=facts, assignments=tuple(assignments))


def as_of(county: County, day: date, teacher: str) -> dict[str, object]:
    """Every table and figure as of ``day``, and ``teacher``'s digest."""
    return {
        "county": county.county_table(day).to_json(),
        "schools": county.school_tables(day),
        "teachers": county.teacher_tables(day),
        "compliance": county.compliance(day),
        "diff": county.diff(day - timedelta(days=45), day),
        "decisions": {c.id: county.decision(c.id, day) for c in county.children()},
        "coverage": county.coverage(day),
        "digest": county.digest(teacher, day, day),
    }


#: The day the whole county is entered by: after every fact and record of it.
LATER = date(2026, 9, 1)


@functools.cache
def small_county() -> SyntheticCounty:
    return synthetic_county(seed=7, children=40, as_of=date(2026, 6, 30))


edits = st.lists(
    st.tuples(st.integers(0, 10_000), st.integers(0, 3), st.integers(0, 25), st.integers(1, 40)),
    max_size=8,
)


@settings(max_examples=15, deadline=None)
@given(day=st.dates(date(2025, 9, 20), date(2026, 4, 30)), changes=edits)
@example(day=date(2026, 2, 4), changes=[(1, 1, 5, 10), (1, 0, 5, 20)])  # dies, then "leaves"
def test_facts_after_the_day_never_change_a_table_as_of_it(
    day: date, changes: list[tuple[int, int, int, int]]
) -> None:
    """SPEC §9: a reprint of the tables as of D, after later facts and records were entered,
    equals the tables printed from what was entered by D."""
    full = later_facts(small_county(), day, changes)
    then = entered_by(full, day)
    teacher = min(a.staff_id for a in then.assignments if a.role is Role.CLASS_TEACHER)
    with leftbehind.open("memory://", actor=SYSTEM, today=lambda: day) as county:
        load(county, then)
        printed = as_of(county, day, teacher)
    with leftbehind.open("memory://", actor=SYSTEM, today=lambda: LATER) as county:
        load(county, full)
        assert as_of(county, day, teacher) == printed


@pytest.mark.parametrize("paged", [False, True], ids=["held", "paged"])
def test_a_reprint_equals_what_was_printed_on_every_backend(
    fresh_store_url: Callable[[], str], paged: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As above on every backend, and on SQL stores also counted a page at a time with the
    store counting the duties (the children whose timeline on the day is not the stored one
    counted from their records): around a Spring Festival stay that a later spell bridges,
    with a spell, a death, assignments of each role and an ended assignment after the day."""
    if paged:
        monkeypatch.setattr(ledgers, "PUSHDOWN_AFTER", 0)
        monkeypatch.setattr(ledgers, "PAGE", 7)
    day = date(2026, 2, 4)
    changes = [(1, 0, 5, 10), (2, 2, 0, 3), (3, 2, 0, 4), (4, 2, 0, 5), (5, 3, 0, 2), (6, 1, 2, 20)]
    full = later_facts(small_county(), day, changes)
    then = entered_by(full, day)
    teacher = min(a.staff_id for a in then.assignments if a.role is Role.CLASS_TEACHER)
    with leftbehind.open(fresh_store_url(), actor=SYSTEM, today=lambda: day) as county:
        load(county, then)
        printed = as_of(county, day, teacher)
    with leftbehind.open(fresh_store_url(), actor=SYSTEM, today=lambda: LATER) as county:
        load(county, full)
        assert as_of(county, day, teacher) == printed
    assert json.loads(str(printed["county"]))["rows"], "an empty county proves nothing"


def test_an_assignment_from_april_owes_nothing_as_of_march(county: County) -> None:
    """The issue's first case: a subject teacher assigned from 20 April adds no study plan to the
    table as of 31 March; as of 30 April the spring term's plan is owed."""
    march, april = date(2026, 3, 31), date(2026, 4, 30)
    before = county.school_table("S01", march)
    county.put_staff([Staff("T2", "李老师", "S01", "数学")])
    county.put_assignments(
        [Assignment("A2", "T2", "C001", Role.SUBJECT_TEACHER, date(2026, 4, 20), subject="数学")]
    )
    assert county.school_table("S01", march) == before
    assert county.school_table("S01", april).counts["due.study_plan"] == 1
    assert "due.study_plan" not in before.counts


def test_a_death_in_may_changes_nothing_as_of_march(county: County) -> None:
    """The issue's second case: a pupil not served on 31 March whose father dies on 1 May is
    served (single parent) from then; the table as of 31 March does not change."""
    home = pupil("C002", father=Parent(), mother=Parent())
    county.put_children([home])
    county.put_assignments([Assignment("A3", "T1", "C002", Role.CLASS_TEACHER, date(2025, 9, 1))])
    march, june = date(2026, 3, 31), date(2026, 6, 1)
    before = county.school_table("S01", march)
    county.put_children([attrs.evolve(home, father=Parent(deceased_on=date(2026, 5, 1)))])
    assert county.school_table("S01", march) == before
    assert county.decision("C002", march).categories == frozenset()
    after = county.school_table("S01", june)
    assert after.counts["served"] == before.counts["served"] + 1
    semester = ("parent_report", "safety_education", "parent_lecture")
    assert all(after.counts[f"due.{k}"] == before.counts[f"due.{k}"] + 1 for k in semester)


def _months(period: Interval) -> Iterator[Interval]:
    start = period.start
    assert period.end is not None
    while start < period.end:
        nxt = date(start.year + start.month // 12, start.month % 12 + 1, 1)
        yield Interval(start, min(nxt, period.end))
        start = nxt


@settings(max_examples=25, deadline=None)
@given(
    start=st.dates(date(2025, 9, 1), date(2026, 7, 31)),
    days=st.integers(20, 150),
    later=st.integers(0, 400),
)
def test_a_periods_duties_are_its_months_duties_across_the_year(
    start: date, days: int, later: int
) -> None:
    """The calendar of a period holds every term overlapping it, so a period's occurrences
    are its months' occurrences put together (a window over two months in both), across a
    year boundary too."""
    period = Interval(start, start + timedelta(days=days))
    as_of = start + timedelta(days=later)
    with leftbehind.open("memory://", actor=SYSTEM, today=lambda: TODAY) as handle:
        county = one_pupil(handle)

        def occurrences(span: Interval) -> set[tuple[str, Interval, str]]:
            book = county.duty_book(span)
            found = book.occurrences(span, as_of)
            return {(o.kind, o.window, o.status.value) for o in found}

        whole = occurrences(period)
        assert whole
        assert whole == set().union(*(occurrences(m) for m in _months(period)))


def test_timelines_stored_by_an_older_policy_version_are_read_as_the_current_decides() -> None:
    """A store written before an upgrade holds timelines of the policy's older version: its
    tables are counted as the current version decides, never stamped v2 and counted v1."""
    data = small_county()
    with leftbehind.open("memory://stale", actor=SYSTEM, today=lambda: LATER) as county:
        load(county, data)
        day = date(2026, 3, 31)
        want = county.county_table(day).to_json()
        with county.store.unit_of_work() as uow:
            for key, doc in list(county.store.scan("timeline")):
                uow.put("timeline", key, {**doc, "version": "1", "spans": []})
            uow.commit()
        assert county.county_table(day).to_json() == want
        assert county.decision(data.facts.children[0].id, day) == PlanPolicy().timeline(
            data.facts.children[0], {s.id: s for s in data.facts.schools}
        ).decision(day)
