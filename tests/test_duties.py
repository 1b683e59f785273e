"""Duties (SPEC §5): worked examples, and properties against a day-by-day reading of the rules."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date, timedelta

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from leftbehind.domain.calendar import SchoolCalendar, default_calendar
from leftbehind.domain.dates import Interval
from leftbehind.domain.duties import (
    DEFAULT_KINDS,
    Counts,
    DutyBook,
    DutyKind,
    Frequency,
    HomeVisitDetails,
    Method,
    Occurrence,
    Record,
    Status,
    StudyPlanDetails,
    Unmatched,
    WindowKind,
    check_record,
    kind_table,
)
from leftbehind.domain.eligibility import Category, Span, Timeline
from leftbehind.domain.people import Assignment, Role, Staff

KINDS = {k.code: k for k in DEFAULT_KINDS}
CT, ST, PP, SP = Role.CLASS_TEACHER, Role.SUBJECT_TEACHER, Role.PROXY_PARENT, Role.STAFF_PAIR

# The 2025 National Day holidays and their make-up days, written out so the domain tests need
# no holiday package.
NATIONAL_DAY = frozenset(date(2025, 10, d) for d in range(1, 9))
CAL = default_calendar(
    [2025, 2026], holidays=NATIONAL_DAY, workdays={date(2025, 9, 28), date(2025, 10, 11)}
)


def served(child_id: str, *intervals: tuple[date, date | None]) -> Timeline:
    spans = [Span(s, e, Category.LEFT_BEHIND_BOTH) for s, e in intervals]
    return Timeline(child_id, "test", "1", sorted(spans, key=lambda s: s.start))


def book(
    timelines: list[Timeline],
    assignments: list[Assignment],
    recs: Sequence[Record] = (),
    *,
    kinds: tuple[DutyKind, ...] = DEFAULT_KINDS,
    calendar: SchoolCalendar = CAL,
    staff: tuple[Staff, ...] = (),
) -> DutyBook:
    return DutyBook(
        calendar, kinds, {t.child_id: t for t in timelines}, assignments, recs, staff=staff
    )


def assign(n: int, staff: str, role: Role, start: date, end: date | None = None) -> Assignment:
    return Assignment(f"a{n}", staff, "c1", role, start, end)


def rec(n: int, kind: str, staff: str, on: date, child: str = "c1") -> Record:
    return Record(f"r{n}", kind, child, staff, on)


# ---------------------------------------------------------------------------------------------
# Worked examples


def test_a_child_served_from_10_may_owes_no_talk_in_the_week_of_3_may() -> None:
    calendar = default_calendar([2027])  # 3 and 10 May 2027 are Mondays
    b = book(
        [served("c1", (date(2027, 5, 10), None))],
        [assign(1, "t1", CT, date(2027, 2, 1))],
        calendar=calendar,
    )
    may = Interval(date(2027, 5, 1), date(2027, 6, 1))
    weeks = [o.window.start for o in b.occurrences(may, date(2027, 5, 20), kinds=["TALK"])]
    assert weeks[0] == date(2027, 5, 10)
    assert date(2027, 5, 3) not in weeks
    assert weeks == [date(2027, 5, 10), date(2027, 5, 17), date(2027, 5, 24), date(2027, 5, 31)]


def test_a_child_served_from_a_wednesday_owes_that_weeks_talk() -> None:
    calendar = default_calendar([2027])
    b = book(
        [served("c1", (date(2027, 5, 5), None))],
        [assign(1, "t1", CT, date(2027, 2, 1))],
        calendar=calendar,
    )
    week = Interval(date(2027, 5, 3), date(2027, 5, 10))
    (talk,) = b.occurrences(week, date(2027, 5, 5), kinds=["TALK"])
    assert talk.window == week
    assert talk.status is Status.DUE
    # As of the Tuesday the service had not begun: nothing is owed yet (SPEC §9).
    assert list(b.occurrences(week, date(2027, 5, 4), kinds=["TALK"])) == []


def test_a_proxy_parent_assigned_on_15_june_owes_the_june_home_visit() -> None:
    child = served("c1", (date(2025, 1, 1), None))
    pp = assign(1, "p1", PP, date(2025, 6, 15))
    summer = Interval(date(2025, 5, 1), date(2025, 8, 1))
    b = book([child], [pp])
    visits = list(b.occurrences(summer, date(2025, 7, 10), kinds=["HOME_VISIT"]))
    assert [(o.window.start, o.owner_id, o.status) for o in visits] == [
        (date(2025, 6, 1), "p1", Status.OVERDUE),
        (date(2025, 7, 1), "p1", Status.DUE),
    ]
    done = book([child], [pp], [rec(1, "HOME_VISIT", "p1", date(2025, 6, 28))])
    june = next(done.occurrences(summer, date(2025, 7, 10), kinds=["HOME_VISIT"]))
    assert (june.status, june.record_id) == (Status.DONE, "r1")


def test_the_national_day_week_owes_no_talk_and_make_up_days_count() -> None:
    b = book([served("c1", (date(2025, 9, 1), None))], [assign(1, "t1", CT, date(2025, 9, 1))])
    autumn = Interval(date(2025, 9, 22), date(2025, 10, 20))
    weeks = [o.window.start for o in b.occurrences(autumn, date(2025, 9, 22), kinds=["TALK"])]
    # 29 Sep–5 Oct holds 29 and 30 September; 6–12 Oct holds only the make-up Saturday 11 Oct.
    assert weeks == [
        date(2025, 9, 22),
        date(2025, 9, 29),
        date(2025, 10, 6),
        date(2025, 10, 13),
    ]
    only_holidays = default_calendar([2025], holidays=NATIONAL_DAY | {date(2025, 9, 29)})
    b2 = book(
        [served("c1", (date(2025, 9, 1), None))],
        [assign(1, "t1", CT, date(2025, 9, 1))],
        calendar=only_holidays.with_days_off([date(2025, 9, 30)]),
    )
    weeks2 = [o.window.start for o in b2.occurrences(autumn, date(2025, 9, 22), kinds=["TALK"])]
    assert date(2025, 9, 29) not in weeks2


def test_each_contact_teacher_owes_a_talk_and_records_are_their_own() -> None:
    child = served("c1", (date(2025, 1, 1), None))
    staff = [assign(1, "t1", CT, date(2025, 1, 1)), assign(2, "t2", ST, date(2025, 1, 1))]
    week = Interval(date(2025, 9, 8), date(2025, 9, 15))
    b = book([child], staff, [rec(1, "TALK", "t1", date(2025, 9, 9))])
    talks = {o.owner_id: o.status for o in b.occurrences(week, date(2025, 9, 16), kinds=["TALK"])}
    assert talks == {"t1": Status.DONE, "t2": Status.OVERDUE}


def test_a_teacher_who_is_also_the_class_teacher_owes_one_talk_a_week() -> None:
    child = served("c1", (date(2025, 1, 1), None))
    both = [assign(1, "t1", CT, date(2025, 1, 1)), assign(2, "t1", ST, date(2025, 1, 1))]
    week = Interval(date(2025, 9, 8), date(2025, 9, 15))
    talks = list(book([child], both).occurrences(week, date(2025, 9, 8), kinds=["TALK"]))
    assert len(talks) == 1
    plans = list(book([child], both).occurrences(week, date(2025, 9, 8), kinds=["STUDY_PLAN"]))
    assert [o.owner_id for o in plans] == ["t1"]


def test_a_shared_duty_is_owed_once_and_counted_for_whoever_did_it() -> None:
    child = served("c1", (date(2025, 1, 1), None))
    people = [assign(1, "t1", CT, date(2025, 1, 1)), assign(2, "s1", SP, date(2025, 3, 1))]
    year = Interval(date(2025, 1, 1), date(2026, 1, 1))
    (festival,) = book([child], people).occurrences(year, date(2025, 6, 1), kinds=["FESTIVAL"])
    assert (festival.owner_id, festival.owners) == ("t1", frozenset({"t1", "s1"}))
    b = book([child], people, [rec(1, "FESTIVAL", "s1", date(2025, 6, 1))])
    (festival,) = b.occurrences(year, date(2025, 6, 1), kinds=["FESTIVAL"])
    assert (festival.owner_id, festival.status) == ("s1", Status.DONE)


def test_a_handover_in_the_month_owes_one_visit_counted_for_the_newcomer() -> None:
    child = served("c1", (date(2025, 1, 1), None))
    people = [
        assign(1, "p1", PP, date(2025, 1, 1), date(2025, 3, 10)),
        assign(2, "p2", PP, date(2025, 3, 10)),
    ]
    march = Interval(date(2025, 3, 1), date(2025, 4, 1))
    (visit,) = book([child], people).occurrences(march, date(2025, 4, 2), kinds=["HOME_VISIT"])
    assert (visit.owner_id, visit.owners, visit.status) == (
        "p2",
        frozenset({"p1", "p2"}),
        Status.OVERDUE,
    )


def test_records_by_someone_not_assigned_are_reported_not_counted() -> None:
    child = served("c1", (date(2025, 1, 1), None))
    records = [
        rec(1, "HOME_VISIT", "x9", date(2025, 3, 5)),
        rec(2, "HOME_VISIT", "p1", date(2025, 3, 6)),
        rec(3, "HOME_VISIT", "p1", date(2025, 3, 20)),
        rec(4, "TALK", "p1", date(2025, 3, 6)),
        rec(5, "NO_SUCH_KIND", "p1", date(2025, 3, 6)),
        rec(6, "TALK", "t1", date(2025, 8, 6)),
    ]
    b = book(
        [child],
        [assign(1, "p1", PP, date(2025, 1, 1)), assign(2, "t1", CT, date(2025, 1, 1))],
        records,
    )
    year = Interval(date(2025, 1, 1), date(2026, 1, 1))
    reasons = {r.id: why for r, why in b.unmatched_records(year, date(2025, 12, 31))}
    assert reasons == {
        "r1": Unmatched.UNASSIGNED,
        "r3": Unmatched.SURPLUS,
        "r4": Unmatched.UNASSIGNED,
        "r5": Unmatched.UNKNOWN_KIND,
        "r6": Unmatched.NOT_OWED,  # a summer-vacation week owes no talk
    }
    assert [r.id for r in b.unassigned_records(year, date(2025, 12, 31))] == ["r1", "r4"]
    march = next(
        o
        for o in b.occurrences(year, date(2025, 12, 31), kinds=["HOME_VISIT"])
        if o.window.start == date(2025, 3, 1)
    )
    assert march.record_id == "r2"


def test_compliance_counts_per_kind_owner_and_school() -> None:
    children = [served("c1", (date(2025, 1, 1), None)), served("c2", (date(2025, 1, 1), None))]
    people = [
        Assignment("a1", "p1", "c1", PP, date(2025, 1, 1)),
        Assignment("a2", "p2", "c2", PP, date(2025, 1, 1)),
    ]
    records = [
        rec(1, "HOME_VISIT", "p1", date(2025, 3, 3)),
        rec(2, "HOME_VISIT", "p1", date(2025, 4, 3)),
    ]
    staff = (Staff("p1", "甲", "S1"), Staff("p2", "乙", "S2"))
    b = book(children, people, records, staff=staff)
    spring = Interval(date(2025, 3, 1), date(2025, 6, 1))
    c = b.compliance(spring, date(2025, 4, 15))
    assert c.by_owner["p1"] == Counts(due=2, done=2, overdue=0, upcoming=1)
    assert c.by_owner["p2"] == Counts(due=2, done=0, overdue=1, upcoming=1)
    assert c.by_school["S1"].rate == 1.0
    assert c.by_school["S2"].open == 1
    assert c.total == c.by_owner["p1"] + c.by_owner["p2"] == c.by_kind["HOME_VISIT"]
    assert c.by_school_kind[("S2", "HOME_VISIT")] == c.by_school["S2"]
    tallies = {(t.child_id, t.owner_id): t for t in b.tallies(spring, date(2025, 4, 15))}
    assert (tallies[("c2", "p2")].due, tallies[("c2", "p2")].overdue) == (2, 1)
    assert Counts().rate is None


def test_a_digest_lists_this_weeks_duties_and_the_overdue_ones() -> None:
    child = served("c1", (date(2025, 9, 1), None))
    people = [assign(1, "t1", CT, date(2025, 9, 1)), assign(2, "p1", PP, date(2025, 9, 1))]
    records = [rec(1, "TALK", "t1", date(2025, 9, 2)), rec(2, "TALK", "t1", date(2025, 9, 16))]
    b = book([child], people, records)
    d = b.digest("t1", date(2025, 9, 17), date(2025, 9, 17))
    assert d.week == Interval(date(2025, 9, 15), date(2025, 9, 22))
    assert {o.kind for o in d.due} == {"FAMILY_CONTACT", "PARENT_REPORT", "FESTIVAL"} | {
        "SAFETY_EDUCATION",
        "PARENT_LECTURE",
    }
    assert [(o.kind, o.window.start) for o in d.overdue] == [("TALK", date(2025, 9, 8))]
    assert all(o.status is not Status.DONE for o in d.due)
    assert b.digest("nobody", date(2025, 9, 17), date(2025, 9, 17)).empty


def test_check_record_rejects_future_dates_and_mismatched_details() -> None:
    ok = Record("r1", "STUDY_PLAN", "c1", "t1", date(2025, 9, 1), Method.LETTER)
    assert check_record(ok, today=date(2025, 9, 1)) == []
    future = check_record(ok, today=date(2025, 8, 31))
    assert [i.code for i in future] == ["future_record"]
    wrong = Record(
        "r2", "STUDY_PLAN", "c1", "t1", date(2025, 9, 1), details=HomeVisitDetails("奶奶")
    )
    assert [i.code for i in check_record(wrong, today=date(2025, 9, 1))] == ["details_mismatch"]
    plan = Record(
        "r3", "STUDY_PLAN", "", "t1", date(2025, 9, 1), details=StudyPlanDetails("周三", "数学", "")
    )
    codes = [i.code for i in check_record(plan, today=date(2025, 9, 1), kinds=DEFAULT_KINDS)]
    assert codes == ["required"]
    visit = Record(
        "r4",
        "HOME_VISIT",
        "c1",
        "p1",
        date(2025, 9, 10),
        details=HomeVisitDetails(next_visit=date(2025, 9, 1)),
    )
    assert [i.code for i in check_record(visit, today=date(2025, 9, 10))] == ["next_visit_before"]
    unknown = Record("r5", "X", "c1", "p1", date(2025, 9, 10))
    assert [i.path for i in check_record(unknown, today=date(2025, 9, 10), kinds=())] == ["kind"]


def test_a_duty_kind_is_checked_and_listed() -> None:
    with pytest.raises(ValueError, match="window"):
        DutyKind("X", "x", "x", {CT}, Frequency.WEEK, WindowKind.EVERY_MONTH)
    with pytest.raises(ValueError, match="owner role"):
        DutyKind("X", "x", "x", set(), Frequency.WEEK, WindowKind.SCHOOL_WEEKS)
    with pytest.raises(ValueError, match="duplicate"):
        book([], [], kinds=(KINDS["TALK"], KINDS["TALK"]))
    rows = kind_table()
    assert rows[0] == ("TALK", "谈心", "heart-to-heart talk", "班主任、任课教师", "每周")
    assert len(rows) == 8
    with pytest.raises(ValueError, match="closed"):
        list(book([], []).occurrences(Interval(date(2025, 1, 1)), date(2025, 1, 1)))


# ---------------------------------------------------------------------------------------------
# Properties against a day-by-day reading

START, END = date(2025, 1, 1), date(2027, 1, 1)
STAFF = ("t1", "t2", "t3")
ROLES = (CT, ST, PP, SP)


@st.composite
def days(draw: st.DrawFn, lo: date = START, hi: date = END) -> date:
    return lo + timedelta(days=draw(st.integers(0, (hi - lo).days - 1)))


@st.composite
def intervals(draw: st.DrawFn) -> tuple[date, date | None]:
    start = draw(days())
    if draw(st.booleans()):
        return start, None
    return start, start + timedelta(days=draw(st.integers(1, 400)))


@st.composite
def timelines(draw: st.DrawFn) -> Timeline:
    a = draw(intervals())
    spans = [a]
    if a[1] is not None and draw(st.booleans()):
        gap = draw(st.integers(0, 60))
        later = a[1] + timedelta(days=gap)
        spans.append((later, draw(st.one_of(st.none(), st.just(later + timedelta(days=90))))))
    return served("c1", *spans)


@st.composite
def assignments(draw: st.DrawFn) -> list[Assignment]:
    out = []
    for n in range(draw(st.integers(1, 4))):
        s, e = draw(intervals())
        out.append(assign(n, draw(st.sampled_from(STAFF)), draw(st.sampled_from(ROLES)), s, e))
    return out


@st.composite
def records(draw: st.DrawFn, codes: tuple[str, ...] = tuple(KINDS)) -> list[Record]:
    out = []
    for n in range(draw(st.integers(0, 25))):
        who = draw(st.sampled_from((*STAFF, "x9")))
        out.append(rec(n, draw(st.sampled_from(codes)), who, draw(days())))
    return out


@st.composite
def periods(draw: st.DrawFn) -> Interval:
    start = draw(days())
    return Interval(start, start + timedelta(days=draw(st.integers(1, 200))))


def _windows(kind: DutyKind, period: Interval) -> list[Interval]:
    """The windows of a kind meeting ``period``, listed day by day from the calendar."""
    assert period.end is not None
    out: list[Interval] = []
    if kind.window in (WindowKind.SCHOOL_WEEKS,):
        d = period.start - timedelta(days=period.start.weekday())
        while d < period.end:
            w = Interval(d, d + timedelta(days=7))
            if any(CAL.is_school_day(x) for x in w.days()):
                out.append(w)
            d += timedelta(days=7)
        return out
    if kind.window in (WindowKind.TERM_MONTHS, WindowKind.EVERY_MONTH):
        d = period.start.replace(day=1)
        while d < period.end:
            nxt = (d + timedelta(days=32)).replace(day=1)
            w = Interval(d, nxt)
            if kind.window is WindowKind.EVERY_MONTH or any(CAL.is_school_day(x) for x in w.days()):
                out.append(w)
            d = nxt
        return out
    if kind.window is WindowKind.SEMESTER:
        return [s.interval for s in CAL.semesters if s.interval.overlaps(period)]
    return [
        Interval(date(y, 1, 1), date(y + 1, 1, 1))
        for y in range(period.start.year, period.end.year + 1)
        if Interval(date(y, 1, 1), date(y + 1, 1, 1)).overlaps(period)
    ]


def _owes(
    kind: DutyKind, timeline: Timeline, people: list[Assignment], staff: str, window: Interval
) -> bool:
    """Whether ``staff`` owes ``kind`` in ``window``: a day served, assigned (and at school)."""
    for d in window.days():
        if not timeline.categories_on(d):
            continue
        if kind.window.term_bound and not CAL.is_school_day(d):
            continue
        if any(
            a.staff_id == staff and a.role in kind.owner_roles and a.holds_on(d) for a in people
        ):
            return True
    return False


def _expected(
    kind: DutyKind, timeline: Timeline, people: list[Assignment], period: Interval, as_of: date
) -> Counter[tuple[Interval, frozenset[str]]]:
    """The occurrences as of ``as_of`` read day by day, the spans and assignments as they stood
    then: begun by then, an end after it not known yet (it took effect after the day asked)."""

    def stood(end: date | None) -> date | None:
        return None if end is None or end > as_of else end

    spans = [attrs.evolve(s, end=stood(s.end)) for s in timeline.spans if s.start <= as_of]
    timeline = attrs.evolve(timeline, spans=spans)
    people = [attrs.evolve(a, end=stood(a.end)) for a in people if a.start <= as_of]
    out: Counter[tuple[Interval, frozenset[str]]] = Counter()
    for w in _windows(kind, period):
        owing = frozenset(s for s in STAFF if _owes(kind, timeline, people, s, w))
        if kind.per_owner:
            out.update((w, frozenset({s})) for s in owing)
        elif owing:
            out[(w, owing)] += 1
    return out


kind_strategy = st.builds(
    DutyKind,
    st.just("COUNTY_OWN"),
    st.just("县定职责"),
    st.just("a county's own duty"),
    st.sets(st.sampled_from(ROLES), min_size=1),
    st.just(Frequency.WEEK),
    st.just(WindowKind.SCHOOL_WEEKS),
    st.booleans(),
).flatmap(
    lambda k: st.sampled_from(list(WindowKind)).map(
        lambda w: DutyKind(
            k.code, k.label_zh, k.label_en, k.owner_roles, w.frequency, w, k.per_owner
        )
    )
)


@given(timelines(), assignments(), records(), periods(), days())
def test_occurrences_are_exactly_those_of_the_day_by_day_reading(
    timeline: Timeline,
    people: list[Assignment],
    recs: list[Record],
    period: Interval,
    as_of: date,
) -> None:
    """No occurrence outside eligibility ∩ assignment ∩ window, and none missing."""
    b = book([timeline], people, recs)
    got = list(b.occurrences(period, as_of))
    for kind in DEFAULT_KINDS:
        mine = Counter((o.window, o.owners) for o in got if o.kind == kind.code)
        assert mine == _expected(kind, timeline, people, period, as_of), kind.code
    for o in got:
        assert o.owner_id in o.owners
        assert o.window.overlaps(period)


@given(timelines(), assignments(), periods(), days())
def test_one_talk_per_school_week_per_contact_teacher_and_none_in_vacations(
    timeline: Timeline, people: list[Assignment], period: Interval, as_of: date
) -> None:
    talks = list(book([timeline], people).occurrences(period, as_of, kinds=["TALK"]))
    per_week = Counter((o.window, o.owner_id) for o in talks)
    assert all(n == 1 for n in per_week.values())
    for o in talks:
        assert o.window.end is not None
        assert (o.window.end - o.window.start).days == 7
        assert o.window.start.weekday() == 0
        assert any(CAL.is_school_day(d) for d in o.window.days())
        end = o.window.end
        assert not any(
            v.start <= o.window.start and v.end and end <= v.end for v in CAL.vacations()
        )
        teacher = {a.role for a in people if a.staff_id == o.owner_id}
        assert teacher & {CT, ST}


@given(timelines(), assignments(), records(), periods(), days())
def test_a_record_never_satisfies_two_occurrences_and_status_follows_the_rules(
    timeline: Timeline,
    people: list[Assignment],
    recs: list[Record],
    period: Interval,
    as_of: date,
) -> None:
    by_id = {r.id: r for r in recs}
    got = list(book([timeline], people, recs).occurrences(period, as_of))
    used = Counter(o.record_id for o in got if o.record_id is not None)
    assert all(n == 1 for n in used.values())
    for o in got:
        assert o.window.end is not None
        matching = [
            r
            for r in recs
            if r.kind == o.kind
            and r.staff_id in o.owners
            and o.window.contains(r.on)
            and r.on <= as_of
        ]
        assert (o.status is Status.DONE) == bool(matching)
        if o.record_id is not None:
            r = by_id[o.record_id]
            assert r in matching
            assert r.staff_id == o.owner_id
        closed = o.window.end <= as_of
        assert (o.status is Status.OVERDUE) == (closed and not matching)
        assert (o.status is Status.UPCOMING) == (as_of < o.window.start)


@given(timelines(), assignments(), records(), periods(), days(), st.integers(0, 400))
def test_advancing_the_as_of_date_never_undoes_a_done_occurrence(
    timeline: Timeline,
    people: list[Assignment],
    recs: list[Record],
    period: Interval,
    as_of: date,
    later: int,
) -> None:
    """Advancing the day asked only adds: an occurrence whose window has begun stays (more may
    appear as spans and assignments begin, and a shared one may gain owners), done stays done,
    overdue overdue. (An upcoming one is a projection of what stood on the day: an end that
    becomes known later may take it away.)"""
    b = book([timeline], people, recs)
    per_owner = {k.code for k in DEFAULT_KINDS if k.per_owner}

    def status(day: date) -> dict[tuple[str, Interval, frozenset[str]], Occurrence]:
        return {
            (o.kind, o.window, o.owners if o.kind in per_owner else frozenset()): o
            for o in b.occurrences(period, day)
            if o.status is not Status.UPCOMING
        }

    before, after = status(as_of), status(as_of + timedelta(days=later))
    assert before.keys() <= after.keys()
    for key, o in before.items():
        if o.status is Status.DONE:
            assert after[key].status is Status.DONE
        if o.status is Status.OVERDUE:
            assert after[key].status is Status.OVERDUE


@given(kind_strategy, timelines(), assignments(), records(("COUNTY_OWN", "TALK")), periods())
def test_a_duty_added_by_a_county_appears_in_status(
    kind: DutyKind,
    timeline: Timeline,
    people: list[Assignment],
    recs: list[Record],
    period: Interval,
) -> None:
    b = book([timeline], people, recs, kinds=(*DEFAULT_KINDS, kind))
    as_of = period.start + timedelta(days=100)
    got = [o for o in b.occurrences(period, as_of) if o.kind == "COUNTY_OWN"]
    want = _expected(kind, timeline, people, period, as_of)
    assert Counter((o.window, o.owners) for o in got) == want
    done = sum(o.status is Status.DONE for o in got)
    c = b.compliance(period, as_of)
    assert c.by_kind.get("COUNTY_OWN", Counts()).done == done
    own = c.by_kind.get("COUNTY_OWN", Counts())
    assert own.due + own.upcoming == len(got)


@given(timelines(), assignments(), records(), periods(), days())
def test_compliance_and_tallies_count_the_occurrences(
    timeline: Timeline,
    people: list[Assignment],
    recs: list[Record],
    period: Interval,
    as_of: date,
) -> None:
    b = book([timeline], people, recs)
    got = list(b.occurrences(period, as_of))
    c = b.compliance(period, as_of)
    status = Counter(o.status for o in got)
    assert c.total.done == status[Status.DONE]
    assert c.total.overdue == status[Status.OVERDUE]
    assert c.total.upcoming == status[Status.UPCOMING]
    assert c.total.open == status[Status.DUE]
    tallies = list(b.tallies(period, as_of))
    assert sum(t.due + t.upcoming for t in tallies) == len(got)
    assert sum(t.done for t in tallies) == c.total.done
