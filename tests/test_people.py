"""People, assignments, village study groups and coverage."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leftbehind.domain.people import (
    REQUIRED_ROLES,
    Assignment,
    Assignments,
    Role,
    StudyGroup,
    coverage,
)

CT, PP, SP, ST = Role.CLASS_TEACHER, Role.PROXY_PARENT, Role.STAFF_PAIR, Role.SUBJECT_TEACHER


def test_roles_have_chinese_labels() -> None:
    assert [r.label for r in Role] == [
        "班主任",
        "任课教师",
        "代管家长",
        "一对一帮扶教职工",
        "结伴学生",
        "社会热心人士",
        "校外学习小组辅导教师",
    ]
    assert {CT, PP, SP} == REQUIRED_ROLES


def test_coverage_names_the_missing_roles_on_the_day() -> None:
    people = [
        Assignment("a1", "t1", "c1", CT, date(2025, 9, 1)),
        Assignment("a2", "p1", "c1", PP, date(2025, 9, 1), date(2025, 11, 1)),
        Assignment("a3", "s1", "c1", SP, date(2025, 9, 1)),
        Assignment("a4", "t2", "c2", ST, date(2025, 9, 1), subject="数学"),
    ]
    assert coverage(["c1", "c2"], people, date(2025, 10, 1)) == {
        "c1": frozenset(),
        "c2": REQUIRED_ROLES,
    }
    assert coverage(["c1"], Assignments(people), date(2025, 11, 1)) == {"c1": frozenset({PP})}
    assert coverage(["c1"], people, date(2025, 8, 31)) == {"c1": REQUIRED_ROLES}


def test_the_index_finds_assignments_by_child_and_staff() -> None:
    people = [
        Assignment("a1", "t1", "c1", CT, date(2025, 9, 1)),
        Assignment("a2", "t1", "c2", ST, date(2025, 9, 1), date(2026, 1, 1), "语文"),
        Assignment("a3", "p1", "c1", PP, date(2025, 10, 1)),
    ]
    index = Assignments(people)
    assert len(index) == 3
    assert [a.id for a in index.of_staff("t1")] == ["a1", "a2"]
    assert [a.id for a in index.of_child("c1")] == ["a1", "a3"]
    assert index.of_child("nobody") == ()
    assert index.holders("c1", PP, date(2025, 9, 30)) == []
    assert index.holders("c1", PP, date(2025, 10, 1)) == ["p1"]
    assert [a.id for a in index.on("c2", date(2026, 1, 1))] == []
    assert list(index.children()) == ["c1", "c2"]


def test_a_study_group_gives_its_guide_an_assignment_to_each_child() -> None:
    group = StudyGroup(
        "g1", "S1", "东张孟村", "t9", ["c1", "c2"], date(2025, 9, 1), date(2026, 7, 1)
    )
    got = group.assignments()
    assert [(a.child_id, a.role, a.staff_id) for a in got] == [
        ("c1", Role.GROUP_GUIDE, "t9"),
        ("c2", Role.GROUP_GUIDE, "t9"),
    ]
    assert all(a.interval == group.interval for a in got)


def test_an_assignment_cannot_end_before_it_starts() -> None:
    with pytest.raises(ValueError, match="end before"):
        Assignment("a1", "t1", "c1", CT, date(2025, 9, 1), date(2025, 8, 1))


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["t1", "t2"]),
            st.sampled_from(list(Role)),
            st.dates(date(2025, 1, 1), date(2025, 12, 31)),
            st.integers(0, 200),
        ),
        max_size=6,
    ),
    st.dates(date(2025, 1, 1), date(2026, 6, 30)),
)
def test_coverage_agrees_with_the_roles_held(
    rows: list[tuple[str, Role, date, int]], day: date
) -> None:
    people = [
        Assignment(f"a{i}", who, "c1", role, start, date.fromordinal(start.toordinal() + n))
        for i, (who, role, start, n) in enumerate(rows)
    ]
    held = {a.role for a in people if a.start <= day and (a.end is None or day < a.end)}
    assert coverage(["c1"], people, day)["c1"] == REQUIRED_ROLES - held
