"""Sign-off: the state machine, what a change reaches, the handle on every backend (submit,
approve level by level, return, reopen, locked periods, corrections, the tables as reported),
the CLI, and properties: as-reported tables never change, and no write changes a locked
period's figures without a correction kept."""

from __future__ import annotations

import hashlib
import itertools
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

import leftbehind
from leftbehind.access import AccessDeniedError, Actor
from leftbehind.cli import main
from leftbehind.domain.duties import Record
from leftbehind.domain.i18n import use
from leftbehind.domain.model import (
    Absence,
    Child,
    Enrolment,
    Guardian,
    Guardianship,
    Parent,
    School,
    Sex,
)
from leftbehind.domain.people import Assignment, Role, Staff
from leftbehind.domain.signoff import (
    MOVES,
    Action,
    Level,
    Period,
    SignOffError,
    State,
    advance,
    assignment_reaches,
    child_reaches,
    record_reaches,
    school_months,
)
from leftbehind.errors import NotFoundError, PeriodLockedError, ValidationError
from leftbehind.service import County

TODAY = date(2026, 4, 10)
MARCH = Period.parse("2026-03")
SYSTEM = Actor.system("tests")
HEAD = Actor.school_head("H1", "S1")
TOWNSHIP = Actor.township_officer("X1", "T1")
OTHER_TOWNSHIP = Actor.township_officer("X2", "T2")
COUNTY = Actor.county_officer("K1")
TEACHER = Actor.staff("T01")
#: Columns that show a file's present state (see docs/signoff.md), not facts of a period.
PRESENT = ("boarding.", "clear.")

AWAY = Parent(absences=(Absence(date(2025, 1, 1)),))


def kid(key: str, school: str = "S1", start: date = date(2021, 9, 1), **kw: object) -> Child:
    fields: dict[str, object] = {
        "name": "王芳",
        "sex": Sex.FEMALE,
        "birth_date": date(2015, 3, 12),
        "enrolments": (Enrolment(school, start, 1),),
        "father": AWAY,
        "mother": AWAY,
    }
    fields.update(kw)
    return Child(key, **fields)  # type: ignore[arg-type]


def seed(url: str) -> None:
    with leftbehind.open(url, actor=SYSTEM, today=lambda: TODAY) as c:
        c.put_schools(
            [School("S1", "一小", "T1"), School("S2", "二小", "T1"), School("S3", "三小", "T2")]
        )
        c.put_children([kid(f"C{i}") for i in range(4)] + [kid("D1", "S2")])
        c.put_staff([Staff("T01", "李老师", "S1"), Staff("T02", "张老师", "S2")])
        c.put_assignments(
            [
                Assignment(f"A{i}", "T01", f"C{i}", Role.CLASS_TEACHER, date(2025, 9, 1))
                for i in range(4)
            ]
            + [Assignment("B1", "T02", "D1", Role.CLASS_TEACHER, date(2025, 9, 1))]
        )
        c.add_records([Record("R1", "TALK", "C1", "T01", date(2026, 3, 5))])


_CLOCK = itertools.count()


def as_(url: str, actor: Actor, today: date = TODAY) -> County:
    """A handle for ``actor`` whose clock moves on a second at each reading, across handles."""
    start = datetime(2026, 4, 10, 8, tzinfo=UTC)
    return leftbehind.open(
        url, actor=actor, today=lambda: today, now=lambda: start + timedelta(seconds=next(_CLOCK))
    )


@pytest.fixture
def county(store_url: str) -> str:
    seed(store_url)
    return store_url


# ---------------------------------------------------------------------------------------------
# The domain.


def test_periods_parse_months_semesters_and_years() -> None:
    assert (MARCH.start, MARCH.last, MARCH.end) == (
        date(2026, 3, 1),
        date(2026, 3, 31),
        date(2026, 4, 1),
    )
    feb = Period.parse("2028-02")
    assert feb.last == date(2028, 2, 29)
    one, two = Period.parse("2025-2026-1"), Period.parse("2025-2026-2")
    year = Period.parse("2025-2026")
    assert (one.start, one.end, two.start, two.end) == (
        date(2025, 9, 1),
        date(2026, 2, 1),
        date(2026, 2, 1),
        date(2026, 9, 1),
    )
    assert (year.start, year.end) == (date(2025, 9, 1), date(2026, 9, 1))
    for bad in ("2026-13", "2026-3", "2025-2027", "2025-2026-3", "March", "", "2026-00"):
        with pytest.raises(ValueError, match=bad or "^$"):
            Period.parse(bad)


def test_period_labels_in_three_languages() -> None:
    assert MARCH.label == "2026年3月"
    assert Period.parse("2025-2026-1").label == "2025—2026学年第一学期"
    with use("zh_TW"):
        assert Period.parse("2025-2026").label == "2025—2026學年"
    with use("en"):
        assert MARCH.label == "March 2026"
        assert Period.parse("2025-2026-2").label == "school year 2025-2026, semester 2"


@given(
    st.sampled_from([None, *State]),
    st.sampled_from(list(Action)),
    st.sampled_from(list(Level)),
)
def test_only_the_listed_moves_are_taken(state: State | None, action: Action, level: Level) -> None:
    if (state, action, level) in MOVES:
        after = advance(state, action, level)
        assert after.locked == (after in (State.SUBMITTED, State.TOWNSHIP_APPROVED, State.APPROVED))
    else:
        with pytest.raises(SignOffError) as caught:
            advance(state, action, level)
        assert caught.value.code == "signoff_state"


def test_the_county_approves_only_after_the_township() -> None:
    with pytest.raises(SignOffError):
        advance(State.SUBMITTED, Action.APPROVE, Level.COUNTY)
    with pytest.raises(SignOffError):
        advance(None, Action.APPROVE, Level.TOWNSHIP)
    assert advance(State.TOWNSHIP_APPROVED, Action.APPROVE, Level.COUNTY) is State.APPROVED


def test_what_a_change_of_a_file_reaches() -> None:
    c = kid("C1")
    # a fact dated inside (or before) the period changes what it was made of
    back = Parent(absences=(Absence(date(2025, 1, 1), date(2026, 3, 20)),))
    assert child_reaches(c, kid("C1", father=back), "S1", MARCH)
    assert child_reaches(c, kid("C1", birth_date=date(2015, 4, 1)), "S1", MARCH)
    # a fact dated after the period does not
    later = Parent(absences=(Absence(date(2025, 1, 1), date(2026, 4, 5)),))
    assert not child_reaches(c, kid("C1", father=later), "S1", MARCH)
    # the file's present state (contacts, health, descriptions) does not
    assert not child_reaches(
        c, kid("C1", name="王小芳", guardian=Guardian("王某", "祖母", "13800000000")), "S1", MARCH
    )
    assert not child_reaches(c, kid("C1", guardianship=Guardianship.POOR), "S1", MARCH)
    # another school's period does not
    assert not child_reaches(c, kid("C1", father=back), "S2", MARCH)
    # a child added with an enrolment begun before the period's end does; one begun after, no
    assert child_reaches(None, kid("N1"), "S1", MARCH)
    assert not child_reaches(None, kid("N2", start=date(2026, 4, 1)), "S1", MARCH)
    # a child on the school's rolls on the eve of the period opens it
    left_eve = kid("C9", enrolments=(Enrolment("S1", date(2021, 9, 1), 1, end=date(2026, 3, 1)),))
    assert child_reaches(
        left_eve, kid("C9", father=back, enrolments=left_eve.enrolments), "S1", MARCH
    )


def test_what_a_record_and_an_assignment_reach() -> None:
    c = kid("C1")
    inside = Record("R", "TALK", "C1", "T01", date(2026, 3, 9))
    after = Record("R", "TALK", "C1", "T01", date(2026, 4, 2))
    assert record_reaches(None, inside, c, "S1", MARCH)
    assert not record_reaches(None, after, c, "S1", MARCH)
    assert record_reaches(inside, after, c, "S1", MARCH)  # moved out of the period
    assert not record_reaches(inside, inside, c, "S1", MARCH)
    assert not record_reaches(None, inside, c, "S2", MARCH)
    a = Assignment("A", "T01", "C1", Role.CLASS_TEACHER, date(2025, 9, 1))
    assert assignment_reaches(
        a,
        Assignment("A", "T01", "C1", Role.CLASS_TEACHER, date(2025, 9, 1), date(2026, 3, 15)),
        c,
        "S1",
        MARCH,
    )
    assert not assignment_reaches(
        a,
        Assignment("A", "T01", "C1", Role.CLASS_TEACHER, date(2025, 9, 1), date(2026, 5, 1)),
        c,
        "S1",
        MARCH,
    )
    assert not assignment_reaches(
        None, Assignment("B", "T01", "C1", Role.PROXY_PARENT, date(2026, 4, 1)), c, "S1", MARCH
    )


# ---------------------------------------------------------------------------------------------
# The handle, on every backend.


def test_submit_approve_level_by_level_and_the_lock(county: str) -> None:
    with as_(county, HEAD) as head:
        so = head.submit("S1", "2026-03")
        assert so.state is State.SUBMITTED
        assert so.locked
        assert so.reported is not None
        reported = head.signoff("S1", "2026-03").reported_json
        assert reported is not None
        assert so.reported.sha256 == hashlib.sha256(reported.encode()).hexdigest()
        # entry into the locked period is refused, nothing written
        with pytest.raises(PeriodLockedError) as caught:
            head.add_records([Record("R2", "TALK", "C2", "T01", date(2026, 3, 6))])
        assert caught.value.code == "period_locked"
        assert caught.value.period == "2026-03"
        assert "C2" not in str(caught.value)
        assert "王芳" not in str(caught.value)
        assert [r.id for r in head.records(child_id="C2")] == []
        # after the period, and at another school, entry goes on
        head.add_records([Record("R3", "TALK", "C2", "T01", date(2026, 4, 6))])
    with as_(county, SYSTEM) as sys_:
        sys_.add_records([Record("R4", "TALK", "D1", "T02", date(2026, 3, 6))])
    with as_(county, Actor.school_head("H9", "S2")) as other, pytest.raises(NotFoundError):
        other.submit("S1", "2026-03")
    with as_(county, TEACHER) as teacher, pytest.raises(NotFoundError):
        teacher.approve("S1", "2026-03")
    with as_(county, OTHER_TOWNSHIP) as far:
        with pytest.raises(NotFoundError):
            far.approve("S1", "2026-03")
        assert far.pending() == []
    with as_(county, COUNTY) as cty:
        with pytest.raises(SignOffError):  # the township first
            cty.approve("S1", "2026-03")
        assert cty.pending() == []
    with as_(county, TOWNSHIP) as town:
        assert [(p.school_id, p.period.key, p.action) for p in town.pending()] == [
            ("S1", "2026-03", Action.APPROVE)
        ]
        assert town.approve("S1", "2026-03").state is State.TOWNSHIP_APPROVED
    with as_(county, COUNTY) as cty:
        assert [p.school_id for p in cty.pending()] == ["S1"]
        done = cty.approve("S1", "2026-03")
        assert done.state is State.APPROVED
        assert done.locked
        assert [s.action for s in done.steps] == [Action.SUBMIT, Action.APPROVE, Action.APPROVE]
        assert [s.level for s in done.steps] == [Level.SCHOOL, Level.TOWNSHIP, Level.COUNTY]
        view = cty.signoff("S1", "2026-03")
        assert view.reported_json == reported
        assert view.differences == {}
        assert view.reported is not None
        assert view.reported.counts == view.current.counts


def test_a_correction_is_kept_shown_and_listed_in_the_next_report(county: str) -> None:
    with as_(county, HEAD) as head:
        head.submit("S1", "2026-03")
    with as_(county, TOWNSHIP) as town:
        town.approve("S1", "2026-03")
    with as_(county, COUNTY) as cty:
        cty.approve("S1", "2026-03")
    with as_(county, TEACHER) as teacher:
        with pytest.raises(PeriodLockedError):
            teacher.add_records([Record("R2", "TALK", "C2", "T01", date(2026, 3, 6))])
        with pytest.raises(AccessDeniedError), teacher.correction("补录"):
            teacher.add_records([Record("R2", "TALK", "C2", "T01", date(2026, 3, 6))])
    with as_(county, HEAD) as head:
        with pytest.raises(ValidationError):
            head.correction("   ")
        with pytest.raises(ValidationError):
            head.correction("家长电话13812345678")
        with head.correction("补录三月谈心记录"):
            head.add_records([Record("R2", "TALK", "C2", "T01", date(2026, 3, 6))])
        # outside the block the lock holds again
        with pytest.raises(PeriodLockedError):
            head.add_records([Record("R5", "TALK", "C3", "T01", date(2026, 3, 7))])
    with as_(county, COUNTY) as cty:
        view = cty.signoff("S1", "2026-03")
        assert view.differences["done.talk"] == (1, 2)
        (fix,) = view.corrections
        assert (fix.actor, fix.actor_id, fix.reason, fix.kind, fix.keys) == (
            "school",
            "H1",
            "补录三月谈心记录",
            "record",
            ("R2",),
        )
        assert fix.periods == ("S1@2026-03",)
        entry = [e for e in cty.audit() if e.op == "add_records" and e.reason == "补录三月谈心记录"]
        assert len(entry) == 1
    # the next report lists it
    with as_(county, HEAD, today=date(2026, 5, 2)) as head:
        april = head.submit("S1", "2026-04")
        assert april.reported is not None
        assert april.reported.corrections == (fix.id,)


def test_return_opens_and_reopen_keeps_what_was_approved(county: str) -> None:
    with as_(county, HEAD) as head:
        first = head.submit("S1", "2026-03")
    with as_(county, TOWNSHIP) as town:
        with pytest.raises(ValidationError):
            town.send_back("S1", "2026-03", "")
        back = town.send_back("S1", "2026-03", "谈心记录不全")
        assert back.state is State.RETURNED
        assert not back.locked
    with as_(county, HEAD) as head:
        assert ("2026-03", State.RETURNED) in [(p.period.key, p.state) for p in head.pending()]
        head.add_records([Record("R2", "TALK", "C2", "T01", date(2026, 3, 6))])
        second = head.submit("S1", "2026-03")
        assert second.reported is not None
        assert first.reported is not None
        assert second.reported.sha256 != first.reported.sha256
    with as_(county, SYSTEM) as sys_:
        sys_.approve("S1", "2026-03")
        approved = sys_.approve("S1", "2026-03")
        assert approved.state is State.APPROVED
    with as_(county, TOWNSHIP) as town, pytest.raises(SignOffError):  # the county's step
        town.reopen("S1", "2026-03", "重新核对")
    with as_(county, COUNTY) as cty:
        opened = cty.reopen("S1", "2026-03", "学籍核对")
        assert opened.state is State.REOPENED
        assert not opened.locked
    with as_(county, HEAD) as head:
        head.add_records([Record("R5", "TALK", "C3", "T01", date(2026, 3, 7))])
        third = head.submit("S1", "2026-03")
        assert third.superseded == (second.reported,)


def test_a_period_is_submitted_from_its_last_day(county: str) -> None:
    with as_(county, HEAD) as head:
        with pytest.raises(SignOffError) as caught:
            head.submit("S1", "2026-04")
        assert caught.value.code == "period_open"
        with pytest.raises(ValidationError):
            head.submit("S1", "2026-4")
        months = [p.period.key for p in head.pending()]
        assert months == [
            "2025-09",
            "2025-10",
            "2025-11",
            "2025-12",
            "2026-01",
            "2026-02",
            "2026-03",
        ]


def test_writes_of_files_and_assignments_into_a_locked_period(county: str) -> None:
    with as_(county, HEAD) as head:
        head.submit("S1", "2026-03")
        back = Parent(absences=(Absence(date(2025, 1, 1), date(2026, 3, 20)),))
        with pytest.raises(PeriodLockedError) as caught:
            head.put_children([kid("C1", father=back)])
        assert caught.value.kind == "child"
        with pytest.raises(PeriodLockedError):
            head.end_assignment("A1", date(2026, 3, 15))
        with pytest.raises(PeriodLockedError):
            head.put_children([kid("N1")])  # a pupil missing from what was reported
        # a fact after the period, a new pupil from April, a contact: no lock
        later = Parent(absences=(Absence(date(2025, 1, 1), date(2026, 4, 5)),))
        head.put_children([kid("C1", father=later), kid("N2", start=date(2026, 4, 1))])
        head.put_children([kid("C2", guardian=Guardian("王某", "祖母", "13800000000"))])
        head.end_assignment("A2", date(2026, 4, 8))
        with head.correction("父亲三月返乡，补登"):
            head.put_children([kid("C3", father=back)])
    with as_(county, COUNTY) as cty:
        view = cty.signoff("S1", "2026-03")
        assert [c.keys for c in view.corrections] == [("C3",)]
        assert view.differences  # the correction shows in today's figures
        assert view.reported is not None


def test_the_form_as_reported_carries_the_approval_lines(county: str, tmp_path: Path) -> None:
    with as_(county, HEAD) as head:
        head.submit("S1", "2026-03")
    with as_(county, SYSTEM) as sys_:
        sys_.approve("S1", "2026-03")
        sys_.approve("S1", "2026-03")
    with as_(county, COUNTY) as cty:
        path = cty.export_signoff("S1", "2026-03", tmp_path / "s1.xlsx")
        so = cty.signoff("S1", "2026-03").signoff
    assert so is not None
    assert so.reported is not None
    ws = load_workbook(path).worksheets[0]
    cells = [str(c.value) for row in ws.iter_rows() for c in row if c.value is not None]
    assert any("学校（H1）" in v and "报送" in v for v in cells)
    assert any("乡镇中心校" in v and "审核通过" in v for v in cells)
    assert any("县教育局" in v and "审核通过" in v for v in cells)
    assert any(so.reported.sha256 in v for v in cells)


# ---------------------------------------------------------------------------------------------
# Properties.


def _march_table(c: County) -> dict[str, int]:
    current = c.signoff("S1", MARCH).current.counts
    return {k: v for k, v in current.items() if not k.startswith(PRESENT)}


_days = st.dates(date(2026, 2, 1), date(2026, 4, 10))

_writes = st.one_of(
    st.tuples(st.just("record"), st.sampled_from(["C0", "C1", "C2", "C3"]), _days),
    st.tuples(st.just("back"), st.sampled_from(["C0", "C1", "C2", "C3"]), _days),
    st.tuples(st.just("new"), st.sampled_from(["N1", "N2"]), _days),
    st.tuples(st.just("end"), st.sampled_from(["A0", "A1", "A2", "A3"]), _days),
    st.tuples(st.just("boarding"), st.sampled_from(["C0", "C1"]), _days),
)


def _write(c: County, what: str, key: str, day: date, n: int) -> None:
    if what == "record":
        c.add_records([Record(f"W{n}", "TALK", key, "T01", day)])
    elif what == "back":
        c.put_children([kid(key, father=Parent(absences=(Absence(date(2025, 1, 1), day),)))])
    elif what == "new":
        c.put_children([kid(key, start=day)])
    elif what == "end":
        c.end_assignment(key, day)
    else:
        c.put_children([kid(key, boarding=day.day % 2 == 0)])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(_writes, st.booleans()), min_size=1, max_size=6))
def test_no_write_changes_a_locked_period_without_a_correction(
    writes: list[tuple[tuple[str, str, date], bool]],
) -> None:
    url = f"memory://signoff-{next(_stores)}"
    with leftbehind.open(url, actor=SYSTEM, today=lambda: TODAY) as keep:
        seed(url)
        with as_(url, HEAD) as head:
            reported = head.submit("S1", MARCH).reported
            assert reported is not None
            text = head.signoff("S1", MARCH).reported_json
            assert text is not None
            before = _march_table(head)
            for n, ((what, key, day), correcting) in enumerate(writes):
                corrections = len(head.signoff("S1", MARCH).corrections)
                try:
                    if correcting:
                        with head.correction("核对更正"):
                            _write(head, what, key, day, n)
                    else:
                        _write(head, what, key, day, n)
                except PeriodLockedError:
                    assert not correcting
                    assert _march_table(head) == before  # nothing was written
                    continue
                except ValidationError:
                    continue  # a write the facts refuse (an end before a start …)
                now = _march_table(head)
                if now != before:
                    # only a correction changes a locked period's figures, and it is kept
                    assert correcting
                    assert len(head.signoff("S1", MARCH).corrections) == corrections + 1
                before = now
            view = head.signoff("S1", MARCH)
            assert view.reported_json == text  # byte for byte, whatever came after
            assert hashlib.sha256(text.encode()).hexdigest() == reported.sha256
        assert keep is not None


_stores = itertools.count()


# ---------------------------------------------------------------------------------------------
# The command line.


def test_the_command_line_walks_a_period_up(tmp_path: Path) -> None:
    store = str(tmp_path / "county.db")
    seed(store)
    runner = CliRunner()

    def run(*args: str, actor: str) -> tuple[int, str]:
        got = runner.invoke(
            main, [*args, "--store", store, "--as", actor], env={"LEFTBEHIND_LANG": "zh_CN"}
        )
        return got.exit_code, got.output

    code, out = run("pending", "--json", actor="school:H1:S1")
    months = [p.key for p in school_months(date.today())]  # the command line's today
    assert code == 0
    assert [p["period"] for p in json.loads(out)] == months
    code, out = run("submit", "S1", "2026-03", actor="school:H1:S1")
    assert code == 0, out
    assert "已报送待乡镇审核" in out
    code, out = run("pending", "--json", actor="township:X1:T1")
    assert code == 0
    assert json.loads(out) == [
        {"school": "S1", "period": "2026-03", "state": "submitted", "action": "approve"}
    ]
    code, out = run("return", "S1", "2026-03", actor="township:X1:T1")
    assert code == 2  # --reason is required
    code, out = run("approve", "S1", "2026-03", actor="township:X2:T2")
    assert code == 1
    assert "S1" in out
    code, out = run("approve", "S1", "2026-03", actor="township:X1:T1")
    assert code == 0
    assert "乡镇已审核待县审核" in out
    code, out = run("approve", "S1", "2026-03", actor="county:K1")
    assert code == 0
    assert "县已审核" in out
    code, out = run("signoff", "S1", "2026-03", "--json", actor="county:K1")
    data = json.loads(out)
    assert data["signoff"]["state"] == "approved"
    assert data["differences"] == {}
    assert hashlib.sha256(data["reported"].encode()).hexdigest() == data["signoff"]["sha256"]
    form = tmp_path / "s1-2026-03.xlsx"
    code, out = run("signoff", "S1", "2026-03", "--form", str(form), actor="county:K1")
    assert code == 0
    assert form.exists()
    assert "县教育局（K1）" in out
    code, out = run("reopen", "S1", "2026-03", "--reason", "学籍核对", actor="county:K1")
    assert code == 0
    assert "已重新开放" in out


# ---------------------------------------------------------------------------------------------
# What a hostile pass found, each kept fixed.


def test_whether_a_school_is_rural_reaches_its_locked_periods(county: str) -> None:
    with as_(county, HEAD) as head:
        head.submit("S1", "2026-03")
    urban = School("S1", "一小", "T1", rural=False)
    with as_(county, COUNTY) as cty:
        with pytest.raises(PeriodLockedError) as caught:
            cty.put_schools([urban])
        assert caught.value.kind == "school"
        cty.put_schools([School("S1", "第一小学", "T1")])  # a new name reaches nothing
        with cty.correction("核定为城镇学校"):
            cty.put_schools([urban])
        assert cty.signoff("S1", "2026-03").corrections[0].kind == "school"


def test_a_head_corrects_their_own_schools_periods_only(county: str) -> None:
    with as_(county, Actor.school_head("H2", "S2")) as other:
        other.submit("S2", "2026-03")
    with as_(county, SYSTEM) as sys_:  # D1 moves from S2 to S1 on 1 April
        moved = kid(
            "D1",
            enrolments=(
                Enrolment("S2", date(2021, 9, 1), 1, end=date(2026, 4, 1)),
                Enrolment("S1", date(2026, 4, 1), 5),
            ),
        )
        sys_.put_children([moved])
    late = Assignment("P9", "T01", "D1", Role.PROXY_PARENT, date(2026, 3, 1))
    with (
        as_(county, HEAD) as head,
        pytest.raises(AccessDeniedError),
        head.correction("补登代管家长"),
    ):
        head.put_assignments([late])
    with as_(county, COUNTY) as cty, cty.correction("补登代管家长"):
        cty.put_assignments([late])


def test_a_period_is_taken_by_its_key_and_odd_keys_are_refused(county: str) -> None:
    early = Period("2026-04", date(2026, 4, 1), date(2026, 4, 5))  # made by hand, ended
    with as_(county, HEAD) as head:
        with pytest.raises(SignOffError) as caught:
            head.submit("S1", early)
        assert caught.value.code == "period_open"
        for odd in ("9999-12", "9998-9999", "1899-12", "２０２６-03", "2026-03\n1", "2026-03x"):
            with pytest.raises(ValidationError):
                head.submit("S1", odd)
        with pytest.raises(ValidationError):
            head.signoff("S1", "9999-12")


@pytest.mark.parametrize(
    "reason", ["家长电话一三八一二三四五六七八", "身份证一三零四三二二零一五零三一二零零一八"]
)
def test_a_reason_holds_no_number_in_chinese_numerals(county: str, reason: str) -> None:
    with as_(county, HEAD) as head, pytest.raises(ValidationError):
        head.correction(reason)


def test_a_correction_shows_each_period_its_own_keys(county: str) -> None:
    with as_(county, HEAD) as head:
        head.submit("S1", "2026-03")
    with as_(county, Actor.school_head("H2", "S2")) as other:
        other.submit("S2", "2026-03")
    with as_(county, SYSTEM) as sys_, sys_.correction("补录"):
        sys_.add_records(
            [
                Record("X1", "TALK", "C2", "T01", date(2026, 3, 9)),
                Record("X2", "TALK", "D1", "T02", date(2026, 3, 9)),
            ]
        )
    with as_(county, HEAD) as head:
        (fix,) = head.signoff("S1", "2026-03").corrections
        assert fix.keys == ("X1",)
        assert fix.periods == ("S1@2026-03",)
    with as_(county, TOWNSHIP) as town:
        (fix,) = town.signoff("S2", "2026-03").corrections
        assert fix.keys == ("X2",)


def test_nothing_is_approved_before_its_tables_are_kept(county: str) -> None:
    with as_(county, HEAD) as head:
        done = head.submit("S1", "2026-03")
    assert done.reported is not None
    assert done.steps[-1].sha256 == done.reported.sha256
    with as_(county, SYSTEM) as sys_:  # a submission caught between its lock and its tables
        doc = dict(sys_.store.get("signoff", "S1@2026-03") or {})
        doc["reported"] = None
        with sys_.store.unit_of_work() as uow:
            uow.put("signoff", "S1@2026-03", doc)
            uow.commit()
    with as_(county, TOWNSHIP) as town, pytest.raises(SignOffError) as caught:
        town.approve("S1", "2026-03")
    assert caught.value.code == "signoff_incomplete"


def test_a_purge_takes_the_childs_keys_out_of_the_corrections(county: str) -> None:
    left = kid("C3", enrolments=(Enrolment("S1", date(2021, 9, 1), 1, end=date(2026, 3, 20)),))
    with as_(county, SYSTEM) as sys_:
        sys_.put_children([left])
        sys_.submit("S1", "2026-03")
        with sys_.correction("补录"):
            sys_.add_records(
                [
                    Record("X3", "TALK", "C3", "T01", date(2026, 3, 10)),
                    Record("X2", "TALK", "C2", "T01", date(2026, 3, 10)),
                ]
            )
        assert sys_.signoff("S1", "2026-03").corrections[0].keys == ("X2", "X3")
        assert sys_.purge(older_than_years=0, as_of=TODAY) == ["C3"]
        (fix,) = sys_.signoff("S1", "2026-03").corrections
        assert fix.keys == ("X2",)
        assert "C3" not in repr(sys_.signoffs())
