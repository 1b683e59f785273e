"""The five clears (五清晰): completeness of each area of a child's file."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import attrs
from hypothesis import given

from leftbehind.domain.model import (
    Absence,
    Child,
    Enrolment,
    Guardian,
    Health,
    Parent,
    Sex,
)
from leftbehind.domain.profile import ProfileArea, profile_completeness
from leftbehind.testing.strategies import children, dates

DAY = date(2026, 5, 1)
FULL = Child(
    "C1",
    "王小明",
    Sex.MALE,
    date(2016, 3, 1),
    resident_id="130432201603010011",
    village="东村",
    address="广平县东村",
    enrolments=(Enrolment("S1", date(2022, 9, 1), 1, "2班"),),
    father=Parent(
        name="王大", phone="13800000000", absences=(Absence(date(2025, 1, 1), None, "北京"),)
    ),
    mother=Parent(name="李二", phone="13900000000"),
    guardian=Guardian("王奶奶", "祖母", "13700000000"),
    health=Health.HEALTHY,
    personality="开朗",
    hobbies="画画",
)


def test_a_full_file_is_clear() -> None:
    c = profile_completeness(FULL, DAY)
    assert c.clear
    assert c.missing == ()
    assert c.incomplete == ()


def test_each_area_names_its_missing_fields() -> None:
    cases: dict[ProfileArea, tuple[dict[str, Any], str]] = {
        ProfileArea.BASIC: ({"resident_id": ""}, "resident_id"),
        ProfileArea.PERSONALITY: ({"personality": ""}, "personality"),
        ProfileArea.HOBBIES: ({"hobbies": ""}, "hobbies"),
        ProfileArea.HEALTH: ({"health": Health.ILL}, "health_note"),
        ProfileArea.CONTACTS: ({"guardian": Guardian("王奶奶", "祖母")}, "guardian.phone"),
    }
    for area, (change, path) in cases.items():
        c = profile_completeness(attrs.evolve(FULL, **change), DAY)
        assert c.incomplete == (area,)
        assert c.missing == (path,)
        assert not c.clear


def test_basic_needs_an_enrolment_with_a_class_on_the_day() -> None:
    assert "enrolments" in profile_completeness(FULL, date(2022, 8, 31)).missing
    no_class = attrs.evolve(FULL, enrolments=(Enrolment("S1", date(2022, 9, 1), 1),))
    assert profile_completeness(no_class, DAY).missing == ("enrolments.class_name",)
    assert profile_completeness(no_class).missing == ("enrolments.class_name",)


def test_contacts_depend_on_who_is_away_on_the_day() -> None:
    at_home = attrs.evolve(FULL, father=Parent(name="王大", phone="13800000000"), guardian=None)
    assert ProfileArea.CONTACTS in profile_completeness(at_home, DAY).complete
    no_place = attrs.evolve(
        FULL, father=Parent(phone="13800000000", absences=(Absence(date(2025, 1, 1)),))
    )
    assert profile_completeness(no_place, DAY).missing == ("father.absences.place",)
    # Before the spell began, the father was at home: no work place needed, nor a guardian.
    assert (
        ProfileArea.CONTACTS
        in profile_completeness(attrs.evolve(no_place, guardian=None), date(2024, 12, 1)).complete
    )
    deceased = attrs.evolve(FULL, father=Parent(deceased_on=date(2020, 1, 1)))
    assert ProfileArea.CONTACTS in profile_completeness(deceased, DAY).complete
    unrecorded = attrs.evolve(FULL, mother=None)
    assert profile_completeness(unrecorded, DAY).missing == ("mother",)


def test_health_is_complete_when_healthy_or_described() -> None:
    assert ProfileArea.HEALTH not in profile_completeness(attrs.evolve(FULL, health=None)).complete
    described = attrs.evolve(FULL, health=Health.DISABLED, health_note="听力")
    assert ProfileArea.HEALTH in profile_completeness(described, DAY).complete


_PATH = re.compile(r"[a-z_]+(\[[0-9]+\])?(\.[a-z_]+(\[[0-9]+\])?)*")


@given(children(), dates())
def test_missing_paths_and_complete_areas_agree(child: Child, d: date) -> None:
    c = profile_completeness(child, d)
    prefixes = {
        ProfileArea.PERSONALITY: ("personality",),
        ProfileArea.HOBBIES: ("hobbies",),
        ProfileArea.HEALTH: ("health", "health_note"),
        ProfileArea.CONTACTS: ("father", "mother", "guardian"),
        ProfileArea.BASIC: ("name", "resident_id", "village", "address", "enrolments"),
    }
    for area, heads in prefixes.items():
        named = any(p.split(".")[0] in heads for p in c.missing)
        assert (area in c.complete) is not named
    assert c.clear is (len(c.complete) == 5)
    # No personal value is echoed: a path is field names and indexes only (a name such as
    # "l" may still be a substring of "health", which is no echo).
    assert all(_PATH.fullmatch(p) for p in c.missing), c.missing
