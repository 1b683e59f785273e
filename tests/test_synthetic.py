"""The synthetic county of :mod:`leftbehind.testing.synthetic` is a county app's first data: it
must build, and load through the handle, whatever day it is drawn for."""

from __future__ import annotations

import warnings
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import leftbehind
from leftbehind.access import Actor
from leftbehind.calendars import CalendarFallbackWarning
from leftbehind.testing.synthetic import synthetic_county


@settings(max_examples=12, deadline=None)
@given(st.dates(min_value=date(2025, 1, 1), max_value=date(2026, 12, 31)))
def test_a_synthetic_county_builds_for_any_day(as_of: date) -> None:
    """Children who left before the school year of ``as_of`` get no assignment in it, and no
    assignment ends before it starts (a county drawn for September or October failed so)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CalendarFallbackWarning)  # a year the package lacks
        data = synthetic_county(children=120, as_of=as_of)
    for a in data.assignments:
        assert a.end is None or a.start < a.end
    children = {c.id: c for c in data.facts.children}
    for a in data.assignments:
        enrolment = children[a.child_id].enrolments[0]
        assert enrolment.end is None or a.start < enrolment.end


@pytest.mark.filterwarnings("ignore::leftbehind.calendars.CalendarFallbackWarning")  # 2027
def test_a_county_drawn_for_the_autumn_term_loads_through_the_handle() -> None:
    as_of = date(2026, 9, 1)
    data = synthetic_county(children=200, as_of=as_of)
    with leftbehind.open(
        "memory://synthetic-autumn", actor=Actor.system("tests"), today=lambda: as_of
    ) as county:
        county.put_schools(data.facts.schools)
        county.put_staff(data.staff)
        county.put_children(data.facts.children)
        county.put_assignments(data.assignments)
        assert len(county.assignments().all) == len(data.assignments)
        assert county.county_table(as_of + timedelta(days=1)).total["enrolled"] > 0
