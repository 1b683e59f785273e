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
from leftbehind.domain.model import Child, Enrolment, Guardian, Health, Parent, School, Sex
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


def _load(county: County) -> None:
    county.put_schools([School("S1", "一小", "甲鎮"), School("S2", "二小", "乙鎮")])
    county.put_children([_child("K1", "S1", RID1, "小明"), _child("K2", "S2", RID2, "小紅")])
    county.put_staff(
        [
            Staff("T-old", "前班主任", "S1", "教師"),
            Staff("T-now", "班主任", "S1", "教師"),
            Staff("V-staff", "志願教師", "S1", "教師"),
            Staff("T2", "二小班主任", "S2", "教師"),
            Staff("H1", "一小校長", "S1", "校長"),
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
    county.add_records([Record("R-2", "TALK", "K2", "T2", date(2026, 6, 1), topic="學習")])


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
    return any(secret in text for secret in (RID1, RID2, PHONE, "哮喘"))


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
        assert county.store.count(kinds.CHILD) == 2
    assert not hasattr(County, "note_export")


def test_set_calendar_is_checked_and_audited(county_url: str) -> None:
    with _open(county_url, Actor.staff("T-now")) as county, pytest.raises(AccessDeniedError):
        county.set_calendar(extra_days_off=[date(2026, 5, 6)])
    with _open(county_url, Actor.county_officer("E1")) as county:
        county.set_calendar(extra_days_off=[date(2026, 5, 6)])
    settings = [e for e in _audit(county_url) if e.kind == kinds.SETTINGS]
    assert settings[-1].actor_id == "E1"
    assert "calendar" in settings[-1].fields["changed"]


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
        assert next(county.records(child_id="K2")).topic == "學習"
        assert {a.id for a in county.assignments().of_child("K2")} == {"A-2"}


def test_a_duplicate_resident_id_is_not_revealed_before_access_is_checked(
    county_url: str,
) -> None:
    probe = _child("P1", "S2", RID1, "探")
    head = _open(county_url, Actor.school_head("H1", "S1"))
    with head, pytest.raises(AccessDeniedError) as denied:
        head.put_children([probe])
    assert "duplicate" not in str(denied.value)
    township = _open(county_url, Actor.township_officer("E2", "乙鎮"))
    with township, pytest.raises(AccessDeniedError):
        township.put_children([probe])


def test_every_unmask_attempt_is_audited_out_of_scope_too(county_url: str) -> None:
    before = len(_audit(county_url))
    with _open(county_url, Actor.staff("T2")) as county:
        with pytest.raises(NotFoundError):
            county.unmask("K1", "resident_id", reason="核對")
        with pytest.raises(NotFoundError):
            county.unmask(RID1, "resident_id", reason="核對")
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
        county.put_children([_child("K3", "S1", RID1, "小剛")])  # the old number is free
        with pytest.raises(ValidationError) as taken:
            county.put_children([_child("K4", "S1", other, "小強")])
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
