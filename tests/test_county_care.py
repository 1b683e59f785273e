"""The county handle with people, records, duties, ledgers and notices, end to end."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from tests.counties import load
from tests.postgres import new_schema, with_schema

import leftbehind
from leftbehind.access import Actor
from leftbehind.domain import ledger
from leftbehind.domain.duties import Record, Status
from leftbehind.domain.errors import ValidationError
from leftbehind.domain.model import Child, Parent
from leftbehind.domain.people import Assignment, Role, Staff
from leftbehind.sample import sample_county
from leftbehind.service import default_period, ledgers
from leftbehind.service.repository import Snapshot
from leftbehind.store import LEDGER_PUSHDOWN
from leftbehind.testing.synthetic import SyntheticCounty, domain_ledger_facts, synthetic_county

SYSTEM = Actor.system("tests")

AS_OF = date(2026, 1, 9)


@pytest.fixture(scope="module")
def county_data() -> SyntheticCounty:
    return synthetic_county(seed=11, children=400, as_of=AS_OF)


@pytest.mark.parametrize("pushdown", [False, True], ids=["facts", "pushdown"])
@pytest.mark.parametrize(
    "backend", ["tinydb", "sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_a_term_in_a_store_gives_the_ledgers_of_the_domain(
    county_data: SyntheticCounty,
    tmp_path: Path,
    backend: str,
    pushdown: bool,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The handle's three ledgers equal the domain's computed in memory — from the records'
    facts (a county's year), and on SQL stores past ``PUSHDOWN_AFTER`` records, whose duty
    columns the store counts itself, as on the embedded store. No record's text is read."""
    if pushdown:
        monkeypatch.setattr(ledgers, "PUSHDOWN_AFTER", 0)
        monkeypatch.setattr(ledgers, "PAGE", 37)
    path: str | Path
    if backend == "tinydb":
        path = tmp_path / "county.json"
    elif backend == "sqlite":
        path = f"sqlite:///{tmp_path}/county.db"
    else:
        path = with_schema(request.getfixturevalue("postgres_url"), new_schema())
    with leftbehind.open(path, today=lambda: AS_OF, actor=SYSTEM) as county:
        assert (LEDGER_PUSHDOWN in county.store.capabilities) is (backend != "tinydb")
        load(county, county_data)
    period = default_period(AS_OF)
    expected = domain_ledger_facts(county_data)
    with leftbehind.open(path, today=lambda: AS_OF, actor=SYSTEM) as county:

        def no_records(*args: object, **kwargs: object) -> None:
            raise AssertionError("read whole")

        monkeypatch.setattr(Snapshot, "records", no_records)
        if pushdown and backend != "tinydb":
            # The SQL store counts the duties, and the children are read a page at a time:
            # no kind of theirs is read whole (the schools are).
            for whole in ("duty_records", "children", "timelines", "stored_assignments", "groups"):
                monkeypatch.setattr(Snapshot, whole, no_records)
        table = county.county_table(AS_OF)
        assert (
            table.to_json() == ledger.county_table(expected, as_of=AS_OF, period=period).to_json()
        )
        school = county_data.facts.schools[1].id
        assert county.school_table(school, AS_OF) == ledger.school_table(
            expected, school, as_of=AS_OF, period=period
        )
        assert county.school_tables(AS_OF) == ledger.school_tables(
            expected, as_of=AS_OF, period=period
        )
        monkeypatch.undo()
        teacher = county_data.assignments[0].staff_id
        assert county.teacher_table(teacher, AS_OF) == ledger.teacher_table(
            expected, teacher, as_of=AS_OF, period=period
        )
        assert table.total.get("served", 0) > 0
        assert sum(v for k, v in table.total.items() if k.startswith("done.")) > 0


def test_records_are_validated_as_a_whole_and_nothing_is_half_written(
    county_data: SyntheticCounty,
) -> None:
    with leftbehind.open("memory://", today=lambda: AS_OF, actor=SYSTEM) as county:
        load(county, county_data)
        before = sum(1 for _ in county.records())
        good = county_data.records[0]
        future = Record("R-future", "TALK", good.child_id, good.staff_id, AS_OF + timedelta(days=1))
        unknown = Record("R-kind", "NO_SUCH_DUTY", good.child_id, good.staff_id, AS_OF)
        stranger = Record("R-who", "TALK", good.child_id, "NOBODY", AS_OF)
        fresh = Record("R-new", "TALK", good.child_id, good.staff_id, AS_OF)
        with pytest.raises(ValidationError) as caught:
            county.add_records([fresh, future, unknown, stranger])
        assert {"future_record", "unknown_kind", "unknown_staff"} <= caught.value.codes
        assert "records[1].on" in caught.value.paths
        assert sum(1 for _ in county.records()) == before
        county.add_records([fresh])
        assert sum(1 for _ in county.records()) == before + 1


def test_assignments_need_known_staff_and_children_and_can_end() -> None:
    sample = sample_county()
    with leftbehind.open("memory://", today=lambda: sample.as_of, actor=SYSTEM) as county:
        county.put_schools(sample.schools)
        county.put_children(sample.children)
        county.put_staff([Staff("T1", "王老师", "S01", "教师")])
        with pytest.raises(ValidationError) as caught:
            county.put_assignments(
                [Assignment("A1", "T9", "C404", Role.CLASS_TEACHER, date(2025, 9, 1))]
            )
        assert caught.value.codes == {"unknown_staff", "unknown_child"}
        county.put_assignments(
            [Assignment("A1", "T1", "C001", Role.CLASS_TEACHER, date(2025, 9, 1))]
        )
        assert county.coverage(sample.as_of)["C001"] == {Role.PROXY_PARENT, Role.STAFF_PAIR}
        ended = county.end_assignment("A1", date(2026, 3, 1))
        assert ended.end == date(2026, 3, 1)
        assert Role.CLASS_TEACHER in county.coverage(sample.as_of)["C001"]


def test_a_digest_lists_this_weeks_duties_and_the_overdue_ones(
    county_data: SyntheticCounty,
) -> None:
    with leftbehind.open("memory://", today=lambda: AS_OF, actor=SYSTEM) as county:
        load(county, county_data)
        negligent = min(county_data.diligence, key=lambda k: county_data.diligence[k])
        digest = county.digest(negligent, AS_OF)
        assert digest.staff_id == negligent
        assert digest.overdue, "a negligent owner has overdue duties"
        assert all(o.status is Status.OVERDUE for o in digest.overdue)


def test_weekly_notices_are_queued_once_and_delivered(
    county_data: SyntheticCounty, caplog: pytest.LogCaptureFixture
) -> None:
    with leftbehind.open("memory://", today=lambda: AS_OF, actor=SYSTEM) as county:
        load(county, county_data)
        queued = county.queue_week(AS_OF)
        assert queued > 0
        assert county.queue_week(AS_OF) == 0, "a second run in the same week queues nothing"
        with caplog.at_level(logging.INFO):
            report = county.deliver(now=datetime(2026, 1, 9, 8, tzinfo=UTC))
        assert len(report.sent) == queued
        state = county.notices()
        assert state["pending"] == []
        assert len(state["sent"]) == queued
        names = {c.name for c in county_data.facts.children}
        bodies = [e.notice.body for e in state["sent"]]
        assert not any(name in body for body in bodies for name in names)


def test_a_child_becoming_served_today_notifies_the_class_teacher_and_head() -> None:
    sample = sample_county()
    day = date(2026, 5, 10)
    with leftbehind.open("memory://", today=lambda: day, actor=SYSTEM) as county:
        county.put_schools(sample.schools)
        county.put_staff(
            [
                Staff("T1", "王老师", "S01", "教师"),
                Staff("H1", "李校长", "S01", "校长"),
            ]
        )
        child = sample.children[1]
        unserved = Child(
            child.id,
            child.name,
            child.sex,
            child.birth_date,
            enrolments=child.enrolments,
            father=Parent(),
            mother=Parent(),
        )
        county.put_children([unserved])
        county.put_assignments(
            [Assignment("A1", "T1", child.id, Role.CLASS_TEACHER, date(2025, 9, 1))]
        )
        assert county.notices()["pending"] == []
        county.put_children([child])  # father away since 10 Feb: served from today
        pending = county.notices()["pending"]
        assert {e.notice.recipient for e in pending} == {"T1", "H1"}
        assert all(child.name not in e.notice.body for e in pending)
        assert county.queue_status_changes(date(2026, 5, 1), day) == 0, "already queued"
