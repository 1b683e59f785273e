"""Who is served (SPEC §2): the worked cases, and properties against a day-by-day reading."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leftbehind.domain.dates import add_months, merge_intervals
from leftbehind.domain.eligibility import (
    Category,
    NationalPolicy,
    PlanPolicy,
    Policy,
    Timeline,
)
from leftbehind.domain.i18n import use
from leftbehind.domain.model import Absence, Child, Enrolment, Parent, School, Sex
from leftbehind.testing.strategies import SCHOOLS, absences, children, dates, parents

BOTH, ONE = Category.LEFT_BEHIND_BOTH, Category.LEFT_BEHIND_ONE
ORPHAN, ABANDONED, SINGLE = Category.ORPHAN, Category.ABANDONED, Category.SINGLE_PARENT

RURAL = School("R", "东张孟中心小学", "东张孟乡", rural=True)
TOWN = School("U", "广平县实验小学", "广平镇", rural=False)
SCHOOL_MAP = {s.id: s for s in (RURAL, TOWN, *SCHOOLS)}
HOME = Parent()


def pupil(
    father: Parent | None = HOME,
    mother: Parent | None = HOME,
    *,
    school: str = "R",
    since: date = date(2020, 9, 1),
    until: date | None = None,
    **kw: object,
) -> Child:
    return Child(
        "c1",
        "小明",
        Sex.MALE,
        kw.pop("birth_date", date(2014, 5, 1)),  # type: ignore[arg-type]
        enrolments=(Enrolment(school, since, 1, end=until),),
        father=father,
        mother=mother,
        **kw,  # type: ignore[arg-type]
    )


def away(*spells: tuple[date, date | None]) -> Parent:
    return Parent(absences=tuple(Absence(s, e) for s, e in spells))


def plan(child: Child, *, min_months: int = 3, bridge_days: int = 31) -> Timeline:
    return PlanPolicy(min_months=min_months, bridge_days=bridge_days).timeline(child, SCHOOL_MAP)


# ---------------------------------------------------------------------------------------------
# SPEC §2's worked dates.


@pytest.mark.parametrize(
    ("since", "first_day"),
    [
        (date(2025, 11, 30), date(2026, 2, 28)),
        (date(2023, 11, 30), date(2024, 2, 29)),
        (date(2026, 1, 31), date(2026, 4, 30)),
        (date(2026, 2, 10), date(2026, 5, 10)),
    ],
)
def test_away_three_calendar_months_qualifies_on_the_clamped_day(
    since: date, first_day: date
) -> None:
    timeline = plan(pupil(father=away((since, None))))
    assert timeline.categories_on(first_day - timedelta(days=1)) == frozenset()
    assert timeline.categories_on(first_day) == {ONE}


def test_father_away_since_10_february_is_eligible_from_10_may() -> None:
    timeline = plan(pupil(father=away((date(2026, 2, 10), None))))
    change = timeline.next_change(date(2026, 3, 1))
    assert change is not None
    assert change.on == date(2026, 5, 10)
    assert change.started == {ONE}
    assert change.describe() == "自2026-05-10起符合（单亲外出留守）"
    with use("en"):
        assert change.describe() == "eligible from 2026-05-10 (one parent away)"
    assert timeline.next_change(date(2026, 5, 10)) is None


def test_both_parents_away_and_one_coming_home() -> None:
    father = away((date(2025, 3, 1), None))
    mother = away((date(2025, 4, 15), date(2026, 1, 5)))
    timeline = plan(pupil(father, mother))
    assert timeline.categories_on(date(2025, 6, 1)) == {ONE}
    assert timeline.categories_on(date(2025, 7, 15)) == {BOTH}
    assert timeline.categories_on(date(2026, 1, 5)) == {ONE}
    decision = timeline.decision(date(2025, 8, 1))
    assert [r.code for r in decision.reasons] == ["father_away", "mother_away"]


@pytest.mark.parametrize(("stay", "bridged"), [(31, True), (32, False)])
def test_spring_festival_stay_is_bridged_up_to_31_days(stay: int, bridged: bool) -> None:
    home_on = date(2026, 1, 20)
    father = away((date(2025, 12, 1), home_on), (home_on + timedelta(days=stay), None))
    timeline = plan(pupil(father=father))
    later = date(2026, 4, 1)  # four months after the first start, under two after the second
    assert (ONE in timeline.categories_on(later)) is bridged


def test_bridge_days_zero_is_the_strict_reading() -> None:
    father = away((date(2025, 6, 1), date(2026, 1, 20)), (date(2026, 1, 21), None))
    assert timeline_cats(plan(pupil(father=father), bridge_days=0), date(2026, 2, 1)) == set()
    assert timeline_cats(plan(pupil(father=father)), date(2026, 2, 1)) == {ONE}
    assert timeline_cats(plan(pupil(father=father), bridge_days=0), date(2026, 4, 21)) == {ONE}


def timeline_cats(timeline: Timeline, d: date) -> set[Category]:
    return set(timeline.categories_on(d))


def test_a_qualified_stay_at_home_within_the_bridge_keeps_the_child_served() -> None:
    father = away((date(2025, 3, 1), date(2026, 1, 25)), (date(2026, 2, 20), None))
    timeline = plan(pupil(father=father))
    assert timeline.categories_on(date(2026, 2, 1)) == {ONE}
    assert len(timeline.spans) == 1


def test_leaving_school_ends_every_category() -> None:
    left = date(2026, 7, 1)
    child = pupil(
        father=Parent(deceased_on=date(2019, 1, 1)),
        mother=away((date(2025, 1, 1), None)),
        until=left,
        abandoned_on=date(2024, 1, 1),
    )
    timeline = plan(child)
    assert timeline.categories_on(date(2026, 6, 30)) == {SINGLE, ONE, ABANDONED}
    assert timeline.categories_on(left) == frozenset()
    change = timeline.next_change(date(2026, 6, 1))
    assert change is not None
    assert change.on == left
    assert change.ended == {SINGLE, ONE, ABANDONED}


def test_a_pupil_of_a_non_rural_school_is_excluded() -> None:
    child = pupil(father=away((date(2024, 1, 1), None)), school="U")
    assert plan(child).spans == ()
    assert NationalPolicy().timeline(child, SCHOOL_MAP).categories_on(date(2025, 1, 1)) == set()


def test_an_unknown_school_is_reported_missing() -> None:
    timeline = plan(pupil(father=away((date(2024, 1, 1), None)), school="nowhere"))
    assert timeline.missing == ("enrolments[0].school_id",)
    assert timeline.spans == ()


def test_an_unrecorded_parent_is_missing_and_never_guessed() -> None:
    timeline = plan(pupil(father=away((date(2024, 1, 1), None)), mother=None))
    assert timeline.missing == ("mother",)
    decision = timeline.decision(date(2025, 1, 1))
    assert decision.categories == frozenset()
    assert decision.missing == ("mother",)


def test_abandonment_is_decided_without_the_parents() -> None:
    timeline = plan(pupil(father=None, mother=None, abandoned_on=date(2022, 3, 1)))
    assert timeline.categories_on(date(2022, 3, 1)) == {ABANDONED}
    assert timeline.categories_on(date(2022, 2, 28)) == frozenset()
    assert timeline.missing == ("father", "mother")


def test_single_parent_and_left_behind_one_together() -> None:
    child = pupil(
        father=Parent(divorced_out_on=date(2021, 6, 1)), mother=away((date(2024, 2, 1), None))
    )
    decision = plan(child).decision(date(2024, 6, 1))
    assert decision.categories == {SINGLE, ONE}
    assert {r.code for r in decision.reasons} == {"father_divorced_out", "mother_away"}


def test_an_unknown_father_makes_a_single_parent_family() -> None:
    timeline = plan(pupil(father=Parent(known=False)))
    decision = timeline.decision(date(2021, 1, 1))
    assert decision.categories == {SINGLE}
    assert decision.reasons[0].code == "father_unknown"
    assert decision.reasons[0].text == "父亲不详"


def test_both_parents_unknown_is_no_single_parent_family() -> None:
    """Two parents of whom nothing is known (不详) say nothing of the family: no category from
    the parents, and the facts are named missing (abandonment still counts)."""
    unknown = Parent(known=False)
    timeline = plan(pupil(father=unknown, mother=unknown))
    assert timeline.categories_on(date(2024, 6, 1)) == frozenset()
    assert timeline.missing == ("father.known", "mother.known")
    abandoned = plan(pupil(father=unknown, mother=unknown, abandoned_on=date(2023, 1, 1)))
    assert abandoned.categories_on(date(2024, 6, 1)) == {ABANDONED}
    assert plan(pupil(father=None, mother=None)).categories_on(date(2024, 6, 1)) == frozenset()


def test_orphan_through_death_and_disappearance() -> None:
    father = Parent(deceased_on=date(2021, 3, 1), absences=(Absence(date(2020, 1, 1)),))
    mother = Parent(missing_since=date(2022, 7, 1))
    timeline = plan(pupil(father, mother))
    assert timeline.categories_on(date(2020, 12, 1)) == {ONE}
    assert timeline.categories_on(date(2021, 3, 1)) == {SINGLE}
    decision = timeline.decision(date(2022, 7, 1))
    assert decision.categories == {ORPHAN}
    assert [r.code for r in decision.reasons] == ["father_deceased", "mother_missing"]


def test_every_decision_names_its_policy_and_version() -> None:
    child = pupil(father=away((date(2024, 1, 1), None)))
    for policy in (PlanPolicy(), NationalPolicy(), PlanPolicy(bridge_days=0, version="2")):
        decision = policy.timeline(child, SCHOOL_MAP).decision(date(2025, 1, 1))
        assert (decision.policy, decision.version) == (policy.name, policy.version)
        assert decision.child_id == "c1"
        assert isinstance(policy, Policy)
    assert PlanPolicy().name != NationalPolicy().name


# ---------------------------------------------------------------------------------------------
# The national rule of 2016.


def national(child: Child) -> Timeline:
    return NationalPolicy().timeline(child, SCHOOL_MAP)


def test_national_one_away_and_the_other_without_capacity() -> None:
    father = away((date(2024, 1, 1), None))
    mother = Parent(no_capacity_since=date(2024, 6, 1))
    timeline = national(pupil(father, mother))
    assert timeline.categories_on(date(2024, 5, 1)) == frozenset()
    decision = timeline.decision(date(2024, 6, 1))
    assert decision.categories == {ONE}
    assert [r.code for r in decision.reasons] == ["father_away", "mother_no_capacity"]
    assert plan(pupil(father, mother)).categories_on(date(2024, 5, 1)) == {ONE}


def test_national_one_away_and_the_other_deceased_or_missing() -> None:
    """A parent who died or went missing has no guardianship capacity (the 2016 opinion): one
    parent away and the other gone is served, with both facts as reasons."""
    father = away((date(2024, 1, 1), None))
    for other, code, text in (
        (Parent(deceased_on=date(2023, 5, 1)), "mother_deceased", "母亲去世"),
        (Parent(missing_since=date(2024, 6, 1)), "mother_missing", "母亲失踪"),
    ):
        decision = national(pupil(father, other)).decision(date(2024, 6, 1))
        assert decision.categories == {ONE}
        assert [r.code for r in decision.reasons] == ["father_away", code]
        assert decision.reasons[1].text == text
    assert national(pupil(father, Parent())).categories_on(date(2024, 6, 1)) == frozenset()


def test_national_counts_both_away_and_stops_at_16() -> None:
    both = (away((date(2024, 1, 1), None)), away((date(2024, 1, 1), None)))
    child = pupil(*both, birth_date=date(2009, 1, 31))
    timeline = national(child)
    assert timeline.categories_on(date(2024, 5, 1)) == {BOTH}
    assert timeline.categories_on(date(2025, 1, 30)) == {BOTH}
    assert timeline.categories_on(date(2025, 1, 31)) == frozenset()
    assert plan(child).categories_on(date(2025, 6, 1)) == {BOTH}


def test_national_excludes_urban_hukou_and_does_not_bridge() -> None:
    both = (away((date(2024, 1, 1), None)), away((date(2024, 1, 1), None)))
    assert national(pupil(*both, rural_hukou=False)).spans == ()
    father = away((date(2024, 1, 1), date(2025, 1, 20)), (date(2025, 2, 5), None))
    mother = away((date(2024, 1, 1), None))
    timeline = national(pupil(father, mother))
    assert timeline.categories_on(date(2025, 3, 1)) == frozenset()
    assert timeline.categories_on(date(2025, 5, 5)) == {BOTH}


def test_national_includes_non_rural_schools() -> None:
    both = (away((date(2024, 1, 1), None)), away((date(2024, 1, 1), None)))
    assert national(pupil(*both, school="U")).categories_on(date(2024, 6, 1)) == {BOTH}


# ---------------------------------------------------------------------------------------------
# Properties. The oracle reads SPEC §2 literally, one day at a time.


def _qualified(parent: Parent, day: date, min_months: int, bridge_days: int) -> bool:
    for spell in merge_intervals((a.interval for a in parent.absences), bridge_days=bridge_days):
        if add_months(spell.start, min_months) <= day and spell.contains(day):
            return True
    return False


def _gone(p: Parent, day: date) -> bool:
    return any(x is not None and x <= day for x in (p.deceased_on, p.missing_since))


def _out(p: Parent, day: date) -> bool:
    return (
        _gone(p, day) or not p.known or (p.divorced_out_on is not None and p.divorced_out_on <= day)
    )


def oracle_plan(child: Child, day: date, policy: PlanPolicy) -> set[Category]:
    in_scope = any(
        e.interval.contains(day) and e.school_id in SCHOOL_MAP and SCHOOL_MAP[e.school_id].rural
        for e in child.enrolments
    )
    if not in_scope:
        return set()
    cats = {ABANDONED} if child.abandoned_on is not None and child.abandoned_on <= day else set()
    if child.father is None or child.mother is None:
        return cats
    both = (child.father, child.mother)
    if not any(p.known for p in both):  # nothing tells who is in the family
        return cats
    if all(_gone(p, day) for p in both):
        return cats | {ORPHAN}
    if any(_out(p, day) for p in both):
        cats.add(SINGLE)
    n = sum(
        not _out(p, day) and _qualified(p, day, policy.min_months, policy.bridge_days) for p in both
    )
    return cats | ({BOTH} if n == 2 else {ONE} if n == 1 else set())


def oracle_national(child: Child, day: date, policy: NationalPolicy) -> set[Category]:
    enrolled = any(e.interval.contains(day) and e.school_id in SCHOOL_MAP for e in child.enrolments)
    young = day < add_months(child.birth_date, 12 * policy.max_age)
    if not (child.rural_hukou and enrolled and young and child.father and child.mother):
        return set()
    both = (child.father, child.mother)
    qualified = [
        not _gone(p, day) and _qualified(p, day, policy.min_months, policy.bridge_days)
        for p in both
    ]
    if all(qualified):
        return {BOTH}
    if any(qualified):
        other = both[qualified.index(False)]
        if _gone(other, day) or (
            other.no_capacity_since is not None and other.no_capacity_since <= day
        ):
            return {ONE}
    return set()


policies = st.builds(PlanPolicy, min_months=st.integers(1, 6), bridge_days=st.integers(0, 45))
days = dates(date(2018, 1, 1), date(2031, 1, 1))


@given(children(), policies, st.lists(days, min_size=1, max_size=8))
def test_plan_timeline_matches_the_day_by_day_reading(
    child: Child, policy: PlanPolicy, when: list[date]
) -> None:
    timeline = policy.timeline(child, SCHOOL_MAP)
    for d in when:
        assert set(timeline.categories_on(d)) == oracle_plan(child, d, policy)


@given(children(), st.integers(0, 10), st.lists(days, min_size=1, max_size=8))
def test_national_timeline_matches_the_day_by_day_reading(
    child: Child, bridge: int, when: list[date]
) -> None:
    policy = NationalPolicy(bridge_days=bridge)
    timeline = policy.timeline(child, SCHOOL_MAP)
    for d in when:
        assert set(timeline.categories_on(d)) == oracle_national(child, d, policy)


@given(children(), days)
def test_the_decision_as_of_a_day_is_the_span_containing_it(child: Child, d: date) -> None:
    for policy in (PlanPolicy(), NationalPolicy()):
        timeline = policy.timeline(child, SCHOOL_MAP)
        decision = timeline.decision(d)
        holding = [s for s in timeline.spans if s.interval.contains(d)]
        assert decision.categories == {s.category for s in holding}
        assert set(decision.reasons) == {r for s in holding for r in s.reasons}
        assert decision.as_of == d
        assert decision.missing == timeline.missing


@given(children())
def test_spans_are_sorted_and_never_overlap_within_a_category(child: Child) -> None:
    for policy in (PlanPolicy(), NationalPolicy()):
        spans = policy.timeline(child, SCHOOL_MAP).spans
        assert list(spans) == sorted(spans, key=lambda s: (s.start, s.category.value))
        for cat in Category:
            mine = [s for s in spans if s.category is cat]
            for a, b in itertools.pairwise(mine):
                assert a.end is not None
                assert a.end < b.start
            assert all(s.reasons for s in mine)


@given(children(), days)
def test_both_and_one_never_together_and_orphans_are_never_left_behind(
    child: Child, d: date
) -> None:
    for policy in (PlanPolicy(), NationalPolicy()):
        timeline = policy.timeline(child, SCHOOL_MAP)
        for span in timeline.spans:
            for day in (span.start, d):
                cats = timeline.categories_on(day)
                assert not {BOTH, ONE} <= cats
                assert not (ORPHAN in cats and (BOTH in cats or ONE in cats))


@given(children(), days)
def test_next_change_is_the_first_day_the_categories_differ(child: Child, d: date) -> None:
    timeline = PlanPolicy().timeline(child, SCHOOL_MAP)
    change = timeline.next_change(d)
    now = timeline.categories_on(d)
    if change is None:
        assert all(timeline.categories_on(day) == now for day in timeline.change_days() if day > d)
        return
    assert change.on > d
    before = timeline.categories_on(change.on - timedelta(days=1))
    after = timeline.categories_on(change.on)
    assert before == now
    assert after - before == change.started
    assert before - after == change.ended


@given(
    dates(date(2020, 1, 1), date(2026, 1, 1)),
    st.integers(1, 400),
    st.integers(1, 6),
)
def test_continuous_absence_qualifies_after_exactly_min_months(
    start: date, length: int, months: int
) -> None:
    end = start + timedelta(days=length)
    timeline = plan(pupil(father=away((start, end)), since=date(2019, 9, 1)), min_months=months)
    qualifies_on = add_months(start, months)
    if qualifies_on < end:
        assert timeline.categories_on(qualifies_on) == {ONE}
        assert timeline.categories_on(end - timedelta(days=1)) == {ONE}
        assert timeline.categories_on(end) == frozenset()
    else:
        assert timeline.spans == ()
    assert timeline.categories_on(qualifies_on - timedelta(days=1)) == frozenset()


@given(
    dates(date(2020, 1, 1), date(2025, 1, 1)),
    st.integers(1, 200),
    st.integers(0, 60),
    st.integers(0, 45),
)
def test_a_home_stay_within_bridge_days_never_breaks_continuity(
    start: date, first: int, stay: int, bridge: int
) -> None:
    home_on = start + timedelta(days=first)
    back_on = home_on + timedelta(days=stay)
    father = away((start, home_on), (back_on, None))
    timeline = plan(pupil(father=father, since=date(2019, 9, 1)), bridge_days=bridge)
    from_first = add_months(start, 3)
    check = max(from_first, back_on)
    if stay <= bridge:
        assert timeline.categories_on(check) == {ONE}
    else:
        assert timeline.categories_on(check) == (
            {ONE} if add_months(back_on, 3) <= check else frozenset()
        )
        assert timeline.categories_on(home_on) == frozenset() or from_first <= home_on
        assert timeline.categories_on(add_months(back_on, 3)) == {ONE}


@given(parents(state="away"), parents())
def test_plan_and_national_agree_on_both_away_without_bridging(
    father: Parent, mother: Parent
) -> None:
    child = pupil(father, mother, birth_date=date(2015, 1, 1), since=date(2018, 9, 1))
    strict = PlanPolicy(bridge_days=0).timeline(child, SCHOOL_MAP)
    nat = national(child)
    sixteen = date(2031, 1, 1)
    for span in strict.spans:
        if span.category is BOTH and span.start < sixteen:
            assert BOTH in nat.categories_on(span.start)


@given(absences(), days)
def test_absence_strategy_makes_ordered_non_overlapping_spells(
    spells: tuple[Absence, ...], d: date
) -> None:
    assert sum(1 for a in spells if a.interval.contains(d)) <= 1
