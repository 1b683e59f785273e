"""The gate as a hostile user meets it: each hole a method once left open, on every backend.

A small county: two schools in two townships; a class teacher whose assignment ended, one who
holds it now, a staff member whose only standing is a volunteer pairing, and a teacher of the
other school.
"""

from __future__ import annotations

import itertools
import json
import multiprocessing
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest

import leftbehind
from leftbehind import kinds
from leftbehind.access import AccessDeniedError, Actor
from leftbehind.domain.duties import Record
from leftbehind.domain.errors import ValidationError
from leftbehind.domain.ids import looks_personal
from leftbehind.domain.model import (
    Child,
    Enrolment,
    Guardian,
    Health,
    LeaveReason,
    Parent,
    School,
    Sex,
)
from leftbehind.domain.people import Assignment, Role, Staff
from leftbehind.errors import ConflictError, NotFoundError
from leftbehind.service import County
from leftbehind.service.repository import Repository
from leftbehind.testing.synthetic import resident_id

TODAY = date(2026, 6, 30)
PAST = date(2026, 1, 10)
NOW = datetime(2026, 6, 30, 8, 0, tzinfo=UTC)
SYSTEM = Actor.system("tests")
RID1 = resident_id("130432", date(2015, 3, 12), 11)
RID2 = resident_id("130432", date(2015, 5, 2), 22)
PHONE = "13812345678"


def _url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if backend == "memory":
        return f"memory://gate-{tmp_path.name}"
    if backend == "tinydb":
        return str(tmp_path / "county.json")
    if backend == "sqlite":
        return f"sqlite:///{tmp_path}/county.db"
    from tests.postgres import new_schema, with_schema

    return with_schema(request.getfixturevalue("postgres_url"), new_schema())


@pytest.fixture(params=["memory", "tinydb", "sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    found = _url(request.param, request, tmp_path)
    with leftbehind.open(found, actor=SYSTEM):  # a named memory store lives while a handle does
        yield found


def _child(key: str, school: str, rid: str, name: str) -> Child:
    sex = Sex.MALE if int(rid[16]) % 2 else Sex.FEMALE
    return Child(
        key,
        name,
        sex,
        date.fromisoformat(f"{rid[6:10]}-{rid[10:12]}-{rid[12:14]}"),
        resident_id=rid,
        enrolments=(Enrolment(school, date(2021, 9, 1), 1, "1班"),),
        father=Parent(name="父" + name, phone=PHONE),
        guardian=Guardian("祖母", "祖母", phone=PHONE),
        health=Health.ILL,
        health_note="哮喘",
    )


RID_MOVED = resident_id("130432", date(2013, 4, 2), 51)
RID_LEFT = resident_id("130432", date(2011, 2, 7), 62)


def _moved_and_left() -> list[Child]:
    """A pupil who moved from S2 to S1 last summer, and one who left S2 two years ago."""
    moved = attrs.evolve(
        _child("K-moved", "S1", RID_MOVED, "小刚"),
        enrolments=(
            Enrolment("S2", date(2019, 9, 1), 1, "1班", date(2025, 7, 1), LeaveReason.TRANSFERRED),
            Enrolment("S1", date(2025, 9, 1), 6, "1班"),
        ),
    )
    left = attrs.evolve(
        _child("K-left", "S2", RID_LEFT, "小强"),
        enrolments=(
            Enrolment("S2", date(2017, 9, 1), 1, "2班", date(2024, 7, 1), LeaveReason.GRADUATED),
        ),
    )
    return [moved, left]


def _load(county: County) -> None:
    county.put_schools([School("S1", "一小", "甲镇"), School("S2", "二小", "乙镇")])
    county.put_children([_child("K1", "S1", RID1, "小明"), _child("K2", "S2", RID2, "小红")])
    county.put_children(_moved_and_left())
    county.put_staff(
        [
            Staff("T-old", "前班主任", "S1", "教师"),
            Staff("T-now", "班主任", "S1", "教师"),
            Staff("V-staff", "志愿教师", "S1", "教师"),
            Staff("T2", "二小班主任", "S2", "教师"),
            Staff("H1", "一小校长", "S1", "校长"),
            Staff("H2", "二小校长", "S2", "校长"),
        ]
    )
    county.put_assignments(
        [
            Assignment(
                "A-old", "T-old", "K1", Role.CLASS_TEACHER, date(2025, 9, 1), date(2026, 3, 1)
            ),
            Assignment("A-now", "T-now", "K1", Role.CLASS_TEACHER, date(2026, 3, 1)),
            Assignment("A-vol", "V-staff", "K1", Role.VOLUNTEER, date(2025, 9, 1)),
            Assignment("A-2", "T2", "K2", Role.CLASS_TEACHER, date(2025, 9, 1)),
        ]
    )
    county.add_records([Record("R-2", "TALK", "K2", "T2", date(2026, 6, 1), topic="学习")])


@pytest.fixture
def county_url(url: str) -> str:
    with _open(url, SYSTEM) as county:
        _load(county)
    return url


_TICKS = itertools.count()


def _now() -> datetime:
    """The audit clock: it moves on, so entries of several handles sort in order."""
    return NOW + timedelta(milliseconds=next(_TICKS))


def _open(url: str, actor: Actor) -> County:
    return leftbehind.open(url, actor=actor, today=lambda: TODAY, now=_now)


def _shown(value: object) -> str:
    return repr(value)


def _leaks(text: str) -> bool:
    return any(secret in text for secret in (RID1, RID2, RID_MOVED, RID_LEFT, PHONE, "哮喘"))


def _audit(url: str) -> list[Any]:
    with _open(url, SYSTEM) as county:
        return county.audit()


def test_a_former_class_teacher_sees_nothing_of_the_child_on_any_date(county_url: str) -> None:
    with _open(county_url, Actor.staff("T-old")) as county:
        with pytest.raises(NotFoundError):
            county.child("K1")
        with pytest.raises(NotFoundError):
            county.decision("K1", PAST)
        assert list(county.children()) == []
        assert county.teacher_table("T-old", PAST).rows == ()
        assert county.ledger_facts(leftbehind.default_period(PAST)).children == ()
        assert county.diff(PAST, TODAY).movements == ()
        assert "K1" not in county.export_ledger("teacher", key="T-old", as_of=PAST)
    with _open(county_url, Actor.staff("T-now")) as county:
        assert county.child("K1").resident_id == RID1


def test_a_volunteer_standing_shows_no_file_through_any_list(county_url: str) -> None:
    with _open(county_url, Actor.staff("V-staff")) as county:
        with pytest.raises(AccessDeniedError):
            county.child("K1")
        assert list(county.children()) == []
        assert county.timelines() == {}
        assert list(county.records()) == []
        assert county.ledger_facts(leftbehind.default_period(TODAY)).children == ()
        assert all(t.rows == () for t in county.teacher_tables(TODAY).values())
        assert county.diff(PAST, TODAY).movements == ()
        text = county.export_ledger("teachers", as_of=TODAY, unmasked=True)
        assert "K1" not in text
        assert not _leaks(text)
        assert county.family("K1").name == "小明"
        with pytest.raises(ValidationError) as refused:
            county.add_records([Record("R-v", "TALK", "K1", "V-staff", date(2026, 6, 2))])
        assert [i.code for i in refused.value.issues] == ["unknown_child"]


def test_the_raw_store_is_for_a_system_actor_only(county_url: str) -> None:
    for actor in (
        Actor.county_officer("E1"),
        Actor.school_head("H1", "S1"),
        Actor.staff("T-now"),
        Actor.volunteer("V-staff"),
    ):
        with _open(county_url, actor) as county, pytest.raises(AccessDeniedError):
            _ = county.store
    with _open(county_url, SYSTEM) as county:
        assert county.store.count(kinds.CHILD) == 4
    assert not hasattr(County, "note_export")


def test_set_calendar_is_checked_and_audited(county_url: str) -> None:
    with _open(county_url, Actor.staff("T-now")) as county, pytest.raises(AccessDeniedError):
        county.set_calendar(extra_days_off=[date(2026, 5, 6)])
    with _open(county_url, Actor.county_officer("E1")) as county:
        county.set_calendar(extra_days_off=[date(2026, 5, 6)])
    settings = [e for e in _audit(county_url) if e.kind == kinds.SETTINGS]
    assert (settings[-1].op, settings[-1].actor_id) == ("set_calendar", "E1")
    assert settings[-1].keys() == {"county"}


def test_nobody_overwrites_another_schools_record_or_assignment_by_its_key(
    county_url: str,
) -> None:
    forged = Record("R-2", "TALK", "K1", "T-now", date(2026, 6, 2), topic="改")
    with _open(county_url, Actor.staff("T-now")) as county, pytest.raises(AccessDeniedError):
        county.add_records([forged])
    stolen = Assignment("A-2", "T-now", "K1", Role.CLASS_TEACHER, date(2026, 3, 1))
    with _open(county_url, Actor.school_head("H1", "S1")) as county:
        with pytest.raises((AccessDeniedError, NotFoundError)):
            county.put_assignments([stolen])
        with pytest.raises((AccessDeniedError, NotFoundError)):
            county.end_assignment("A-2", TODAY)
    with _open(county_url, SYSTEM) as county:
        assert next(county.records(child_id="K2")).topic == "学习"
        assert {a.id for a in county.assignments().of_child("K2")} == {"A-2"}


def test_a_duplicate_resident_id_is_not_revealed_before_access_is_checked(
    county_url: str,
) -> None:
    probe = _child("P1", "S2", RID1, "探")
    head = _open(county_url, Actor.school_head("H1", "S1"))
    with head, pytest.raises(AccessDeniedError) as denied:
        head.put_children([probe])
    assert "duplicate" not in str(denied.value)
    township = _open(county_url, Actor.township_officer("E2", "乙镇"))
    with township, pytest.raises(AccessDeniedError):
        township.put_children([probe])


def test_every_unmask_attempt_is_audited_out_of_scope_too(county_url: str) -> None:
    before = len(_audit(county_url))
    with _open(county_url, Actor.staff("T2")) as county:
        with pytest.raises(NotFoundError):
            county.unmask("K1", "resident_id", reason="核对")
        with pytest.raises(NotFoundError):
            county.unmask(RID1, "resident_id", reason="核对")
    entries = _audit(county_url)[before:]
    assert [e.op for e in entries] == ["unmask_denied", "unmask_denied"]
    assert [e.record for e in entries] == ["K1", "<redacted>"]
    assert not any(_leaks(json.dumps(attrs.asdict(e), ensure_ascii=False)) for e in entries)


def test_an_export_appears_only_after_its_audit_entry_is_committed(
    county_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "exports"
    out.mkdir()

    def broken(*args: object, **kwargs: object) -> None:
        raise OSError("audit log unwritable")

    monkeypatch.setattr(Repository, "audit_now", broken)
    with _open(county_url, SYSTEM) as county:
        with pytest.raises(OSError, match="audit"):
            county.export_ledger("county", format="xlsx", path=out / "county.xlsx")
        with pytest.raises(OSError, match="audit"):
            county.export_roster(out / "roster.csv", unmasked=True)
    assert list(out.iterdir()) == []
    monkeypatch.undo()
    with _open(county_url, SYSTEM) as county:
        county.export_roster(out / "roster.csv", unmasked=True)
    assert [p.name for p in out.iterdir()] == ["roster.csv"]
    assert (out / "roster.csv").stat().st_mode & 0o077 == 0
    assert _audit(county_url)[-1].op == "export"


def test_keys_that_look_like_an_id_or_phone_are_refused_and_never_repeated(
    county_url: str,
) -> None:
    keyed = attrs.evolve(_child("x", "S1", RID1, "甲"), id=RID1)
    by_phone = attrs.evolve(_child("x", "S1", RID2, "乙"), id=f"c-{PHONE}")
    with _open(county_url, SYSTEM) as county:
        with pytest.raises(ValidationError) as bad:
            county.put_children([keyed, by_phone])
        assert [i.code for i in bad.value.issues] == ["personal_key", "personal_key"]
        assert not _leaks(str(bad.value))
        with pytest.raises(NotFoundError) as missing:
            county.child(RID2)
        assert RID2 not in str(missing.value)
        assert "<redacted>" in str(missing.value)


def test_a_resident_id_moves_with_its_child_and_frees_the_old_one(county_url: str) -> None:
    other = resident_id("130432", date(2015, 3, 12), 33)
    with _open(county_url, SYSTEM) as county:
        county.put_children([attrs.evolve(county.child("K1"), resident_id=other)])
        county.put_children([_child("K3", "S1", RID1, "小刚")])  # the old number is free
        with pytest.raises(ValidationError) as taken:
            county.put_children([_child("K4", "S1", other, "小强")])
        assert [i.code for i in taken.value.issues] == ["duplicate_resident_id"]


def test_two_children_trading_resident_ids_in_one_put_keep_both_indexed(county_url: str) -> None:
    with _open(county_url, SYSTEM) as county:
        county.put_children([_child("K1", "S1", RID2, "小明"), _child("K2", "S2", RID1, "小红")])
        assert (county.child("K1").resident_id, county.child("K2").resident_id) == (RID2, RID1)
        for rid in (RID1, RID2):
            with pytest.raises(ValidationError) as taken:
                county.put_children([_child("K9", "S1", rid, "小强")])
            assert [i.code for i in taken.value.issues] == ["duplicate_resident_id"]


def _import_one(url: str, key: str, go: Any, out: Any) -> None:
    county = _open(url, SYSTEM)
    try:
        go.wait()
        county.put_children([_child(key, "S1", resident_id("130432", date(2016, 1, 9), 45), key)])
        out.put((key, "ok"))
    except (ConflictError, ValidationError) as exc:
        out.put((key, type(exc).__name__))
    finally:
        county.close()


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["tinydb", "sqlite", "postgresql"])
def test_two_processes_importing_one_resident_id_commit_exactly_once(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    county_url = _url(backend, request, tmp_path)
    with _open(county_url, SYSTEM) as county:
        _load(county)
    ctx = multiprocessing.get_context("spawn")
    for attempt in range(5):
        go, out = ctx.Event(), ctx.Queue()
        keys = [f"N{attempt}a", f"N{attempt}b"]
        procs = [ctx.Process(target=_import_one, args=(county_url, k, go, out)) for k in keys]
        for p in procs:
            p.start()
        go.set()
        for p in procs:
            p.join(120)
        results = dict(out.get(timeout=10) for _ in procs)
        assert sorted(results.values()).count("ok") == 1, results
        with _open(county_url, SYSTEM) as county:
            stored = [c for c in county.children() if c.id in keys]
            assert len(stored) == 1
            county.put_children([attrs.evolve(stored[0], resident_id="")])  # free it again


def test_two_threads_on_one_memory_store_commit_one_resident_id_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from leftbehind.backends.memory import MemoryStore
    from leftbehind.plugins import Plugins
    from leftbehind.service import commands

    store, plugins = MemoryStore(), Plugins.load()
    handles = [
        County(store, actor=SYSTEM, plugins=plugins, today=lambda: TODAY, now=lambda: NOW)
        for _ in range(2)
    ]
    _load(handles[0])
    both_read = threading.Barrier(2, timeout=30)
    checked = commands._duplicate_ids

    def in_step(*args: Any) -> Any:
        found = checked(*args)
        both_read.wait()  # each has read the index before either commits
        return found

    monkeypatch.setattr(commands, "_duplicate_ids", in_step)
    rid = resident_id("130432", date(2016, 1, 9), 45)
    results: dict[str, str] = {}

    def put(county: County, key: str) -> None:
        try:
            county.put_children([_child(key, "S1", rid, key)])
            results[key] = "ok"
        except ConflictError:
            results[key] = "conflict"

    threads = [
        threading.Thread(target=put, args=(h, k)) for h, k in zip(handles, "AB", strict=True)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(results.values()) == ["conflict", "ok"]
    assert sum(1 for c in handles[0].children() if c.resident_id == rid) == 1


# ---------------------------------------------------------------------------------------------
# Found by a hostile review: a past enrolment does not make a child the school's.


def test_a_head_cannot_reach_a_child_who_left_by_assigning_themselves(county_url: str) -> None:
    head = Actor.school_head("H2", "S2")
    with _open(county_url, head) as county:
        for child_id in ("K-left", "K-moved"):
            with pytest.raises(NotFoundError):
                county.child(child_id)
            with pytest.raises((AccessDeniedError, NotFoundError, ValidationError)):
                county.put_assignments(
                    [Assignment(f"A-{child_id}", "H2", child_id, Role.CLASS_TEACHER, TODAY)]
                )
    with _open(county_url, Actor.staff("H2")) as county:
        assert list(county.children()) == []


def test_a_head_cannot_take_over_another_schools_child(county_url: str) -> None:
    taken = attrs.evolve(
        _child("K-moved", "S2", RID_MOVED, "小刚"),
        guardian=Guardian("假监护人", "其他", phone="13900000000"),
    )
    other = _open(county_url, Actor.school_head("H2", "S2"))
    with other, pytest.raises(AccessDeniedError):
        other.put_children([taken])
    with _open(county_url, Actor.school_head("H1", "S1")) as county:  # its school today
        mine = county.child("K-moved")
        assert mine.guardian is not None
        assert mine.guardian.name == "祖母"
        rewritten = attrs.evolve(mine, enrolments=mine.enrolments[1:])  # drop S2's history
        with pytest.raises(AccessDeniedError):
            county.put_children([rewritten])


def test_a_past_school_table_names_only_the_children_in_reach_today(county_url: str) -> None:
    spring_2024 = date(2024, 7, 1)
    with _open(county_url, Actor.school_head("H2", "S2")) as county:
        period = leftbehind.Interval(date(2023, 9, 1), date(2024, 7, 2))
        table = county.school_table("S2", spring_2024, period)
        text = _shown(table) + county.export_ledger("school", key="S2", as_of=spring_2024)
    assert "K-left" not in text
    assert "小强" not in text
    with _open(county_url, SYSTEM) as county:
        assert county.school_table("S2", spring_2024, period).counts == table.counts


def test_a_head_records_only_for_their_own_staff(county_url: str) -> None:
    credit = Record("R-x", "TALK", "K1", "T2", date(2026, 6, 2))
    head = _open(county_url, Actor.school_head("H1", "S1"))
    with head, pytest.raises(AccessDeniedError):
        head.add_records([credit])


def test_every_failed_export_and_unmask_is_audited_and_keys_redacted(
    county_url: str, tmp_path: Path
) -> None:
    before = len(_audit(county_url))
    with _open(county_url, Actor.staff("T-now")) as county:
        for attempt in (
            lambda: county.export_ledger("school", key=RID1),
            lambda: county.export_ledger("teacher", key=PHONE),
            lambda: county.export_roster(tmp_path / "missing" / "r.csv"),
            lambda: county.export_ledger("teachers", format="xlsx", path=tmp_path / "no" / "x"),
            lambda: county.export_ledger("nonsense"),
            lambda: county.unmask("K1", "name", reason="核对"),
            lambda: county.unmask("K1", "resident_id", reason=" "),
        ):
            with pytest.raises((AccessDeniedError, NotFoundError, ValueError)):
                attempt()
    entries = _audit(county_url)[before:]
    assert [e.op for e in entries] == ["export_denied"] * 5 + ["unmask_denied"] * 2
    assert not any(_leaks(repr(e)) for e in entries)
    assert {e.record for e in entries[:2]} == {"<redacted>"}


def test_a_probe_for_a_registered_id_is_audited(county_url: str) -> None:
    probe = _child("P1", "S1", RID2, "探")  # S2's pupil's number, from the head of S1
    before = len(_audit(county_url))
    head = _open(county_url, Actor.school_head("H1", "S1"))
    with head, pytest.raises(ValidationError):
        head.put_children([probe])
    refused = _audit(county_url)[before:]
    assert [(e.op, e.record, e.fields) for e in refused] == [
        ("refused", "P1", {"code": "duplicate_resident_id"})
    ]


def test_a_dry_run_import_asks_the_gate_as_the_real_one_does(
    county_url: str, tmp_path: Path
) -> None:
    roster = tmp_path / "roster.csv"
    with _open(county_url, SYSTEM) as county:
        county.export_roster(roster, unmasked=True)
    with _open(county_url, Actor.school_head("H1", "S1")) as county:
        for dry_run in (True, False):
            with pytest.raises(AccessDeniedError):
                county.import_roster(roster, dry_run=dry_run)


@pytest.mark.parametrize(
    "key",
    [
        "130432 20110207 1364",
        "130432-20110207-1364",
        "138.1234.5678",
        "0310 1234567",
        "(0310)1234567",
        "138\u20101234\u20105678",
        "\u0661\u0663\u0668\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668",
    ],
)
def test_written_forms_of_numbers_are_personal_keys(key: str) -> None:
    assert looks_personal(key)
    assert NotFoundError("child", key).key == "<redacted>"


@pytest.mark.parametrize("key", ["S001-00012-2", "R0000001", "2026-05-01-001", "S001-T02"])
def test_ordinary_keys_are_not_personal(key: str) -> None:
    assert not looks_personal(key)


def test_a_record_before_the_child_was_born_is_refused_without_telling_the_birth(
    county_url: str,
) -> None:
    born = date.fromisoformat(f"{RID1[6:10]}-{RID1[10:12]}-{RID1[12:14]}")
    early = Record("R-early", "TALK", "K1", "T-now", born - timedelta(days=1))
    with _open(county_url, SYSTEM) as county:
        with pytest.raises(ValidationError) as refused:
            county.add_records([Record("R-ok", "TALK", "K1", "T-now", TODAY), early])
        assert [(i.path, i.code) for i in refused.value.issues] == [
            ("records[1].on", "record_before_birth")
        ]
        assert not any(r.id in ("R-ok", "R-early") for r in county.records())
    with _open(county_url, Actor.staff("T2")) as county:  # K1 is out of their reach
        with pytest.raises(ValidationError) as unknown:
            county.add_records([attrs.evolve(early, staff_id="T2")])
        assert [i.code for i in unknown.value.issues] == ["unknown_child"]
