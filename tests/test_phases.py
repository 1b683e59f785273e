"""The phases of the action year and their deadlines."""

from __future__ import annotations

from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from leftbehind.domain.phases import (
    Phase,
    duties_start,
    ledger_deadline,
    milestones,
    phase_interval,
    phase_on,
)


@given(st.dates(date(2000, 1, 1), date(2100, 12, 31)))
def test_every_day_falls_in_the_phase_whose_interval_holds_it(day: date) -> None:
    phase = phase_on(day)
    if day.month <= 2:
        assert phase is None
    else:
        assert phase is not None
        assert phase_interval(phase, day.year).contains(day)
        assert [p for p in Phase if phase_interval(p, day.year).contains(day)] == [phase]


def test_the_phases_of_2025() -> None:
    assert phase_on(date(2025, 4, 30)) is Phase.DEPLOYMENT
    assert phase_on(date(2025, 5, 1)) is Phase.IMPLEMENTATION
    assert phase_on(date(2025, 11, 30)) is Phase.IMPLEMENTATION
    assert phase_on(date(2025, 12, 1)) is Phase.SUMMARY
    assert phase_interval(Phase.SUMMARY, 2025).end == date(2026, 1, 1)
    assert [p.label for p in Phase] == ["部署阶段", "实施阶段", "总结阶段"]
    assert "五清晰" in Phase.DEPLOYMENT.expects


def test_deadlines_are_functions_of_the_year() -> None:
    assert ledger_deadline(2026) == date(2026, 4, 30)
    assert duties_start(2026) == date(2026, 5, 1)
    got = {m.code: (m.phase, m.deadline) for m in milestones(2025)}
    assert got["launch"] == (Phase.DEPLOYMENT, date(2025, 4, 10))
    assert got["five_clears"] == (Phase.DEPLOYMENT, date(2025, 4, 30))
    assert got["duties"] == (Phase.IMPLEMENTATION, date(2025, 5, 1))
    assert got["summary"] == (Phase.SUMMARY, date(2025, 12, 31))
    for m in milestones(2030):
        assert phase_interval(m.phase, 2030).contains(m.deadline)
