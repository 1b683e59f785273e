"""Who may see what (R8): scopes, masking, the audit log and retention, on every backend.

A small synthetic county is written once per backend by the system actor; every role then reads
it through its own handle. The oracle below recomputes each role's scope and field rights from
the raw facts, independently of :mod:`leftbehind.access`: who may see is judged on today only
(officials: the school year so far; staff and volunteers: their assignments holding today).
The property test (R8) draws from the county on the memory backend.
"""

from __future__ import annotations

import functools
import itertools
import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import openpyxl
import pytest
from hypothesis import given
from hypothesis import strategies as st

import leftbehind
from leftbehind import outbox
from leftbehind.access import (
    FIELD_POLICY,
    AccessDeniedError,
    Actor,
    ActorKind,
    Field,
    field_changes,
    mask_child,
    parse_actor,
)
from leftbehind.digest import DutyItem, status_notices, weekly_digest
from leftbehind.domain.dates import Interval
from leftbehind.domain.duties import Record
from leftbehind.domain.errors import ValidationError
from leftbehind.domain.model import Child, Enrolment, Health, LeaveReason
from leftbehind.domain.people import Assignment, Role, Staff
from leftbehind.service import County, NotFoundError, default_period
from leftbehind.testing.synthetic import resident_id, synthetic_county

SYSTEM = Actor.system("tests")
AS_OF = date(2026, 6, 30)
NOW = datetime(2026, 6, 30, 8, 0, tzinfo=UTC)
WINDOW = default_period(AS_OF)
_ticks = itertools.count()


def _now() -> datetime:
    """The audit clock: a microsecond later at each call, so the log's order is the calls'."""
    return NOW + timedelta(microseconds=next(_ticks))


def _with_secrets(children: tuple[Child, ...]) -> list[Child]:
    """Give every child a resident ID, and some a health note, so leaks can be looked for."""
    out = []
    for i, c in enumerate(children):
        order = 2 * i + (1 if c.sex.value == "male" else 2)
        out.append(
            attrs.evolve(
                c,
                resident_id=resident_id("130432", c.birth_date, order),
                health=Health.ILL if i % 3 == 0 else c.health,
                health_note=f"病历{i:03d}号" if i % 3 == 0 else "",
            )
        )
    return out


#: A class teacher whose only assignment (to ``_FORMER_CHILD``) ended before today.
FORMER = "S003-T90"
_FORMER_CHILD = "C000030"
#: A staff member whose only standing is a volunteer pairing (with ``_PAIRED_CHILD``).
PAIRED = "S002-T91"
_PAIRED_CHILD = "C000026"


@functools.cache
def _facts() -> tuple[Any, list[Child], list[Staff], list[Assignment]]:
    """The county's facts, as written by the system actor (the oracle's raw facts)."""
    data = synthetic_county(seed=11, children=60, as_of=AS_OF)
    children = _with_secrets(data.facts.children)
    staff = [
        *data.staff,
        Staff("V1", "志愿者甲", "S001", "志愿者"),
        Staff(FORMER, "前班主任", "S003", "教师"),
        Staff(PAIRED, "结对教师", "S002", "教师"),
    ]
    extra = [
        Assignment("AV1", "V1", children[0].id, Role.VOLUNTEER, date(2025, 9, 1)),
        Assignment(
            "AF1", FORMER, _FORMER_CHILD, Role.CLASS_TEACHER, date(2025, 9, 1), date(2026, 3, 1)
        ),
        Assignment("AP1", PAIRED, _PAIRED_CHILD, Role.VOLUNTEER, date(2025, 9, 1)),
    ]
    assignments = [*data.assignments, *extra]
    every = [*assignments, *(a for g in data.groups for a in g.assignments())]
    return data, children, staff, every


def _load(county: County) -> None:
    data, children, staff, every = _facts()
    county.put_schools(data.facts.schools)
    county.put_children(children)
    county.put_staff(staff)
    county.put_assignments([a for a in every if ":" not in a.id])  # not the groups' guides
    county.put_groups(data.groups)
    county.add_records(data.records[:200])


@attrs.frozen
class World:
    """The county written once in a store; each role reads it through a handle of its own."""

    url: str
    system: County  # kept open: a named memory store lives while a handle on it does

    def handle(self, actor: Actor) -> County:
        return leftbehind.open(self.url, actor=actor, today=lambda: AS_OF, now=_now)

    def audit_count(self) -> int:
        return self.system.store.count("audit")


def _world(url: str) -> World:
    system = leftbehind.open(url, actor=SYSTEM, today=lambda: AS_OF, now=_now)
    _load(system)
    return World(url, system)


@functools.cache
def _memory_world() -> World:
    """The county on the memory backend, for the property test (examples share it)."""
    return _world("memory://test-access-r8")


@pytest.fixture(scope="module")
def world(module_store_url: str) -> Iterator[World]:
    """The county on each backend, written once per module."""
    found = _world(module_store_url)
    yield found
    found.system.close()


def _actors() -> list[Actor]:
    _, _, _, assignments = _facts()
    by_role: dict[Role, str] = {}
    for a in assignments:
        by_role.setdefault(a.role, a.staff_id)
    return [
        SYSTEM,
        Actor.county_officer("E01"),
        Actor.township_officer("E02", "平固店镇"),
        Actor.school_head("S001-H", "S001"),
        Actor.staff(by_role[Role.CLASS_TEACHER]),
        Actor.staff(by_role[Role.SUBJECT_TEACHER]),
        Actor.staff(by_role[Role.PROXY_PARENT], ActorKind.PROXY_PARENT),
        Actor.staff(by_role[Role.STAFF_PAIR]),
        Actor.staff(FORMER),
        Actor.staff(PAIRED),
        Actor.volunteer("V1"),
    ]


# ---------------------------------------------------------------------------------------------
# The oracle: scope and rights recomputed from the raw facts.


def _roles(actor: Actor, child: Child) -> set[Any]:
    """The actor's standing towards the child (empty: no scope), judged on today only.

    Officials stand by their office: the child was enrolled in a school it covers on a day of
    the school year so far. Everyone else by their assignments holding today.
    """
    _, _, _, assignments = _facts()
    schools = {"S001": "广平镇", "S002": "广平镇", "S003": "平固店镇"}
    overlaps = [e for e in child.enrolments if Interval(e.start, e.end).overlaps(WINDOW)]
    if actor.kind in (ActorKind.SYSTEM, ActorKind.COUNTY_OFFICER):
        return {"office"}
    if actor.kind is ActorKind.TOWNSHIP_OFFICER:
        return (
            {"office"} if any(schools[e.school_id] == actor.township for e in overlaps) else set()
        )
    if actor.kind is ActorKind.SCHOOL_HEAD:
        return {"office"} if any(e.school_id == actor.school_id for e in overlaps) else set()
    return {
        a.role
        for a in assignments
        if a.staff_id == actor.id
        and a.child_id == child.id
        and a.start <= AS_OF
        and (a.end is None or a.end > AS_OF)
    }


def _reads_file(actor: Actor, child: Child) -> bool:
    """Whether the actor reads the child's file (a volunteer's standing: a family card only)."""
    roles = _roles(actor, child)
    return actor.kind is not ActorKind.VOLUNTEER and bool(roles - {Role.VOLUNTEER})


def _may(actor: Actor, child: Child, field: str) -> bool:
    roles = _roles(actor, child)
    if not _reads_file(actor, child):
        return False
    if "office" in roles:
        return True
    if field in ("id", "health"):
        return Role.CLASS_TEACHER in roles
    return bool(roles & {Role.CLASS_TEACHER, Role.PROXY_PARENT})


def _secrets(child: Child) -> dict[str, list[str]]:
    phones = [p.phone for p in (child.father, child.mother, child.guardian) if p and p.phone]
    return {
        "id": [child.resident_id] if child.resident_id else [],
        "health": [child.health_note] if child.health_note else [],
        "phone": phones,
    }


def _forbidden(actor: Actor) -> list[str]:
    """Values the actor must never get: every secret of a child out of scope, and the secrets
    of children in scope that the field policy keeps from them."""
    _, children, _, _ = _facts()
    allowed: set[str] = set()
    secret: set[str] = set()
    for child in children:
        for field, values in _secrets(child).items():
            if _may(actor, child, field):
                allowed.update(values)
            else:
                secret.update(values)
    return sorted(secret - allowed)


def _in_scope_ids(actor: Actor) -> set[str]:
    """The children the actor reaches at all (a family card at least)."""
    _, children, _, _ = _facts()
    return {c.id for c in children if _roles(actor, c)}


def _file_ids(actor: Actor) -> set[str]:
    """The children whose file the actor reads."""
    _, children, _, _ = _facts()
    return {c.id for c in children if _reads_file(actor, c)}


def _text(value: Any) -> str:
    return repr(value)


# ---------------------------------------------------------------------------------------------
# The matrix.

OPS = ("get", "list", "scan", "ledger", "export", "roster", "audit", "error", "unmask")
FIELDS = ("resident_id", "father.phone", "mother.phone", "guardian.phone", "health_note")


def _run(
    county: County, op: str, child_id: str, field: str, tmp: Path
) -> tuple[str, set[str], set[str], int]:
    """Run one operation; returns the text of everything it gave (or its error), the child ids
    it named as files and as family cards, and how many audit entries it should have written."""
    none: set[str] = set()
    try:
        if op == "get":
            child = county.child(child_id)
            return _text(child), {child.id}, none, 0
        if op == "list":
            kids = list(county.children())
            return _text(kids), {c.id for c in kids}, none, 0
        if op == "scan":
            timelines = county.timelines()
            records = list(county.records())
            gaps = county.coverage(AS_OF)
            ids = set(timelines) | {r.child_id for r in records} | set(gaps)
            assignments = county.assignments()
            ids |= set(assignments.children())
            families = county.families()
            cards = {f.child_id for f in families}
            return _text([timelines, records, gaps, assignments.all, families]), ids, cards, 0
        if op == "ledger":
            tables: list[Any] = []
            for call in (
                lambda: county.teacher_table(county.actor.id, AS_OF),
                lambda: county.school_tables(AS_OF),
                lambda: county.county_table(AS_OF),
            ):
                try:
                    tables.append(call())
                except (AccessDeniedError, NotFoundError) as exc:
                    tables.append(str(exc))
            text = _text(tables)
            return text, set(re.findall(r"C\d{6}", text)), none, 0
        if op == "export":
            text = county.export_ledger("teachers", as_of=AS_OF, unmasked=True)
            return text, set(re.findall(r"C\d{6}", text)), none, 1
        if op == "roster":
            out = tmp / f"roster-{county.actor.kind.value}.csv"
            county.export_roster(out, unmasked=True)
            text = out.read_text("utf-8-sig")
            return text, set(re.findall(r"C\d{6}", text)), none, 1
        if op == "audit":
            entries = county.audit()
            return _text(entries), none, none, 0
        if op == "error":
            if child_id in _in_scope_ids(county.actor):
                return "", none, none, 0
            with pytest.raises(NotFoundError) as found:
                county.child(child_id)
            with pytest.raises(NotFoundError) as missing:
                county.child("C999999")
            # out of scope reads exactly like missing
            assert str(found.value).replace(child_id, "C999999") == str(missing.value)
            return str(found.value), none, none, 0
        if op == "unmask":
            value = county.unmask(child_id, field, reason="家访前核对")
            return value, {child_id}, none, 1
    except AccessDeniedError as exc:
        denied = str(exc)
        if county.actor.kind.value not in denied:
            raise AssertionError(denied) from exc
        # every export and unmask attempt is audited, refusals included
        return denied, none, none, 1 if op in ("export", "roster", "unmask") else 0
    except NotFoundError as exc:
        return str(exc), none, none, 1 if op == "unmask" else 0
    raise AssertionError(op)


@given(
    actor=st.sampled_from(_actors()),
    op=st.sampled_from(OPS),
    child=st.integers(0, 59),
    field=st.sampled_from(FIELDS),
)
def test_r8_no_record_out_of_scope_and_no_value_a_role_may_not_see(
    actor: Actor, op: str, child: int, field: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    _, children, _, _ = _facts()
    target = children[child]
    world = _memory_world()
    before = world.audit_count()
    with world.handle(actor) as county:
        out = tmp_path_factory.mktemp("out")
        text, files, cards, audited = _run(county, op, target.id, field, out)
    outside = files - _file_ids(actor)
    assert not outside, f"{actor.describe()} {op} got files outside its scope"
    assert not cards - _in_scope_ids(actor), f"{actor.describe()} got families outside its scope"
    for value in _forbidden(actor):
        assert value not in text, f"{actor.describe()} {op} showed a value it may not see"
    assert world.audit_count() - before == audited


@pytest.mark.parametrize("actor", _actors(), ids=lambda a: f"{a.kind.value}:{a.id}")
def test_each_role_sees_exactly_its_children(world: World, actor: Actor) -> None:
    with world.handle(actor) as county:
        families = {f.child_id for f in county.families()}
        if actor.kind is ActorKind.VOLUNTEER:
            with pytest.raises(AccessDeniedError):
                list(county.children())
            got = {}
        else:
            got = {c.id: c for c in county.children()}
    assert families == _in_scope_ids(actor)
    assert set(got) == _file_ids(actor)
    if actor.kind is ActorKind.VOLUNTEER or actor.id == PAIRED:
        assert families  # the volunteer is paired with one family
        assert not got
    if actor.id == FORMER:
        assert not families  # the assignment ended: nothing more of the child
    _, children, _, _ = _facts()
    for child in children:
        if child.id not in got:
            continue
        seen = got[child.id]
        assert (seen.resident_id == child.resident_id) == _may(actor, child, "id")
        assert (seen.health_note == child.health_note) == (
            _may(actor, child, "health") or not child.health_note
        )
        if child.father and child.father.phone:
            assert seen.father is not None
            assert (seen.father.phone == child.father.phone) == _may(actor, child, "phone")
            if seen.father.phone != child.father.phone:
                assert re.fullmatch(r"\d{3}\*{4}\d{4}", seen.father.phone)
        if seen.resident_id != child.resident_id:
            assert seen.resident_id == child.resident_id[:6] + "*" * 11 + child.resident_id[17]
            assert child.resident_id[6:14] not in seen.resident_id


def test_every_export_and_unmask_is_audited_once_without_personal_values(
    store_url: str, tmp_path: Path
) -> None:
    clock = iter(NOW + timedelta(seconds=i) for i in range(1000))
    data = synthetic_county(seed=5, children=20, as_of=AS_OF)
    children = _with_secrets(data.facts.children)
    with leftbehind.open(
        store_url, actor=SYSTEM, today=lambda: AS_OF, now=lambda: next(clock)
    ) as county:
        county.put_schools(data.facts.schools)
        county.put_children(children)
        county.put_staff(data.staff)
        county.put_assignments(data.assignments)
        # one entry per command, naming the keys it created
        written = county.audit()
        assert [e.op for e in written] == [
            "put_schools",
            "put_children",
            "put_staff",
            "put_assignments",
        ]
        assert written[1].changes["child"]["created"] == sorted(c.id for c in children)
        assert written[3].keys() == {a.id for a in data.assignments}
        n = len(written)
        county.export_ledger("county", as_of=AS_OF, format="xlsx", path=tmp_path / "c.xlsx")
        county.export_roster(tmp_path / "r.csv", unmasked=True)
        value = county.unmask(children[0].id, "resident_id", reason="核对学籍")
        assert value == children[0].resident_id
        changed = attrs.evolve(children[0], name="新名字", father=None)
        county.put_child(changed)
        county.put_child(changed)  # no change: nothing to log
        entries = county.audit()
        new = entries[n:]
        assert [e.op for e in new] == ["export", "export", "unmask", "put_children"]
        assert new[0].fields == {"format": "xlsx", "unmasked": False, "rows": 7}
        assert new[1].kind == "roster"
        assert new[1].fields["unmasked"] is True
        assert new[2].fields == {"field": "resident_id"}
        assert new[2].reason == "核对学籍"
        assert (new[3].kind, new[3].record) == ("child", children[0].id)
        assert new[3].changes == {
            "child": {"updated": {children[0].id: {"name": "changed", "father": "removed"}}}
        }
        assert [e.key for e in entries] == sorted(e.key for e in entries)
        log = repr(entries)
        for child in children:
            for values in _secrets(child).values():
                assert all(v not in log for v in values)
            assert child.name not in log
        assert "新名字" not in log
        assert county.audit(since=NOW + timedelta(hours=1)) == []
        assert len(county.audit(until=NOW)) == 0


def test_a_write_and_its_audit_entry_are_one_unit_of_work(store_url: str) -> None:
    data = synthetic_county(seed=5, children=5, as_of=AS_OF)
    with leftbehind.open(store_url, actor=SYSTEM, today=lambda: AS_OF) as county:
        county.put_schools(data.facts.schools)
        before = county.store.count("audit")
        bad = attrs.evolve(data.facts.children[0], birth_date=date(2030, 1, 1))
        with pytest.raises(ValidationError):
            county.put_children([data.facts.children[1], bad])
        assert county.store.count("audit") == before
        assert county.store.count("child") == 0


def test_a_command_writes_one_audit_entry_naming_its_keys_and_fields(store_url: str) -> None:
    data = synthetic_county(seed=5, children=40, as_of=AS_OF)
    clock = iter(NOW + timedelta(seconds=i) for i in range(1000))
    with leftbehind.open(
        store_url, actor=SYSTEM, today=lambda: AS_OF, now=lambda: next(clock)
    ) as county:
        county.put_schools(data.facts.schools)
        county.put_children(data.facts.children)
        county.put_staff(data.staff)
        county.put_assignments(data.assignments)
        before = county.store.count("audit")
        county.add_records(data.records)
        assert county.store.count("audit") == before + 1
        entry = county.audit()[-1]
        assert (entry.op, entry.kind, entry.record) == ("add_records", "record", "")
        assert entry.changes == {"record": {"created": sorted(r.id for r in data.records)}}
        county.add_records(data.records)  # nothing changed: nothing to log
        assert county.store.count("audit") == before + 1
        first, second = data.records[0], data.records[1]
        changed = [attrs.evolve(first, on=first.on - timedelta(days=1)), second]
        county.add_records(changed)
        entry = county.audit()[-1]
        assert (entry.op, entry.record) == ("add_records", first.id)
        assert entry.changes == {"record": {"updated": {first.id: {"on": "changed"}}}}


def test_writes_follow_the_roles(world: World) -> None:
    _, children, _, assignments = _facts()
    township = Actor.township_officer("E02", "平固店镇")
    with world.handle(township) as county, pytest.raises(AccessDeniedError, match="township"):
        county.add_records([])
    other = next(c for c in children if c.enrolments[-1].school_id == "S003")
    head = Actor.school_head("S001-H", "S001")
    with world.handle(head) as county, pytest.raises(AccessDeniedError) as denied:
        county.put_child(other)
    assert other.name not in str(denied.value)
    assert other.resident_id not in str(denied.value)
    mine = next(a for a in assignments if a.role is Role.CLASS_TEACHER)
    ok = Record("R-own", "TALK", mine.child_id, mine.staff_id, date(2026, 6, 29))
    with world.handle(Actor.staff(mine.staff_id)) as teacher:
        assert teacher.add_records([ok]) == [ok]
        foreign = next(c for c in children if c.id not in _in_scope_ids(teacher.actor))
        with pytest.raises(ValidationError) as bad:
            teacher.add_records([attrs.evolve(ok, id="R-x", child_id=foreign.id)])
        assert [i.code for i in bad.value.issues] == ["unknown_child"]  # like a missing child
        with pytest.raises(AccessDeniedError):
            teacher.put_schools([])
        with pytest.raises(AccessDeniedError):
            teacher.audit()
        with pytest.raises(AccessDeniedError):
            teacher.purge()
    with world.handle(Actor.volunteer("V1")) as volunteer, pytest.raises(AccessDeniedError):
        volunteer.add_records([ok])
    # A class teacher whose assignment ended writes nothing more about the child.
    late = Record("R-late", "TALK", _FORMER_CHILD, FORMER, date(2026, 6, 29))
    with world.handle(Actor.staff(FORMER)) as former, pytest.raises(ValidationError) as gone:
        former.add_records([late])
    assert [i.code for i in gone.value.issues] == ["unknown_child"]


def test_unmask_needs_the_right_and_is_logged_either_way(world: World) -> None:
    _, children, _, assignments = _facts()
    proxy = next(a for a in assignments if a.role is Role.PROXY_PARENT and a.end is None)
    child = next(c for c in children if c.id == proxy.child_id)
    actor = Actor.staff(proxy.staff_id, ActorKind.PROXY_PARENT)
    roles = _roles(actor, child)
    before = world.audit_count()
    attempts = 0
    with world.handle(actor) as county:
        if child.father and child.father.phone:
            assert county.unmask(child.id, "father.phone", reason="家访") == child.father.phone
            attempts += 1
        if Role.CLASS_TEACHER not in roles:
            with pytest.raises(AccessDeniedError) as denied:
                county.unmask(child.id, "resident_id", reason="好奇")
            assert child.resident_id not in str(denied.value)
            attempts += 1
        with pytest.raises(NotFoundError):  # out of reach: refused like a missing child
            county.unmask(_FORMER_CHILD, "resident_id", reason="好奇")
        attempts += 1
        with pytest.raises(ValueError, match="reason"):  # no reason: refused, and logged
            county.unmask(child.id, "resident_id", reason=" ")
        attempts += 1
        assert world.audit_count() - before == attempts
    ops = [e.op for e in world.system.audit()[-attempts:]]
    assert ops.count("unmask_denied") == attempts - bool(child.father and child.father.phone)


def test_open_needs_an_actor() -> None:
    with pytest.raises(TypeError):
        leftbehind.open("memory://")  # type: ignore[call-arg]


def test_the_field_policy_is_the_documented_table() -> None:
    assert Role.CLASS_TEACHER in FIELD_POLICY[Field.RESIDENT_ID]
    assert Role.PROXY_PARENT not in FIELD_POLICY[Field.RESIDENT_ID]
    assert Role.PROXY_PARENT in FIELD_POLICY[Field.PHONES]
    assert Role.SUBJECT_TEACHER not in FIELD_POLICY[Field.PHONES]
    assert Role.VOLUNTEER not in set().union(*FIELD_POLICY.values())
    page = (Path(__file__).parent.parent / "docs" / "privacy.md").read_text("utf-8")
    for field in Field:
        assert field.label in page


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("system", ActorKind.SYSTEM),
        ("county:E01", ActorKind.COUNTY_OFFICER),
        ("township:E02:广平镇", ActorKind.TOWNSHIP_OFFICER),
        ("school:H1:S001", ActorKind.SCHOOL_HEAD),
        ("staff:S001-T01", ActorKind.TEACHER),
        ("volunteer:V1", ActorKind.VOLUNTEER),
    ],
)
def test_actor_forms_round_trip(text: str, kind: ActorKind) -> None:
    actor = parse_actor(text)
    assert actor.kind is kind
    assert actor.describe() == text


@pytest.mark.parametrize("text", ["", "root", "county", "school:H1", "staff:", "township:a"])
def test_bad_actor_forms_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="expected"):
        parse_actor(text)


@given(st.dictionaries(st.sampled_from("abc"), st.sampled_from(["", "x", "y", None])))
def test_field_changes_name_fields_never_values(after: dict[str, Any]) -> None:
    before = {"a": "x", "b": {"c": "secret-1"}}
    changes = field_changes(before, after)
    assert "secret-1" not in repr(changes)
    assert "x" not in "".join(changes.values())
    assert set(changes.values()) <= {"added", "removed", "changed"}


def test_masking_keeps_the_shape() -> None:
    _, children, _, _ = _facts()
    child = next(c for c in children if c.health_note)
    masked = mask_child(child, frozenset())
    assert masked.health is None
    assert masked.health_note == ""
    assert masked.id == child.id
    assert masked.name == child.name
    assert masked.resident_id.endswith(child.resident_id[-1])


def _left(child: Child, on: date) -> Child:
    e = child.enrolments[-1]
    gone = Enrolment(e.school_id, e.start, e.grade, e.class_name, on, LeaveReason.GRADUATED)
    return attrs.evolve(child, enrolments=(*child.enrolments[:-1], gone), father=None)


def test_purge_removes_old_leavers_and_keeps_a_tombstone(store_url: str, tmp_path: Path) -> None:
    data = synthetic_county(seed=5, children=20, as_of=AS_OF)
    children = list(data.facts.children)
    old = _left(children[0], date(2021, 7, 1))
    recent = _left(children[1], date(2025, 7, 1))
    with leftbehind.open(store_url, actor=SYSTEM, today=lambda: AS_OF) as county:
        county.put_schools(data.facts.schools)
        county.put_children([old, recent, *children[2:]])
        county.put_staff(data.staff)
        county.put_assignments(
            [a for a in data.assignments if a.child_id in {c.id for c in children}]
        )
        county.put_assignments(
            [Assignment("A-old", data.staff[1].id, old.id, Role.STAFF_PAIR, date(2020, 9, 1))]
        )
        head = Actor.school_head("S001-H", "S001")
        with leftbehind.open(store_url, actor=head) as refused, pytest.raises(AccessDeniedError):
            refused.purge()
        teacher = data.staff[1].id
        left = status_notices(old.id, change="left", on=date(2021, 7, 1), recipients=[teacher])
        other = status_notices(recent.id, change="left", on=date(2025, 7, 1), recipients=[teacher])
        items = [
            DutyItem(old.id, "谈心", date(2021, 3, 5)),
            DutyItem(recent.id, "谈心", date(2021, 3, 5)),
        ]
        both = weekly_digest(teacher, items, week_of=date(2021, 3, 1))
        alone = weekly_digest(teacher, items[:1], week_of=date(2021, 3, 8))
        assert both is not None
        assert alone is not None
        with county.store.unit_of_work() as uow:
            outbox.enqueue_many(uow, [*left, *other, both, alone])
            uow.commit()
        with county.store.unit_of_work() as uow:
            for sent in (both.key, alone.key):
                doc = uow.get(outbox.KIND, sent)
                assert doc is not None
                uow.put(outbox.KIND, sent, {**doc, "state": "sent"})
            uow.commit()
        assert county.purge(older_than_years=3) == [old.id]
        kept = dict(county.store.scan(outbox.KIND))
        # Unsent, or about the purged child alone: deleted. Sent and about others too: blanked,
        # its key kept so that it is never sent again.
        assert set(kept) == {other[0].key, both.key}
        assert kept[both.key]["state"] == "sent"
        assert kept[both.key]["body"] == ""
        assert old.id not in json.dumps(kept, ensure_ascii=False)
        with pytest.raises(NotFoundError):
            county.child(old.id)
        assert county.child(recent.id).id == recent.id
        assert county.store.get("assignment", "A-old") is None
        assert county.store.get("timeline", old.id) is None
        tomb = [e for e in county.audit() if e.op == "purge"]
        assert len(tomb) == 1
        assert tomb[0].changes["child"] == {"deleted": [old.id]}
        assert "A-old" in tomb[0].changes["assignment"]["deleted"]
        out = tmp_path / "r.csv"
        county.export_roster(out, unmasked=True)
        assert old.id not in out.read_text("utf-8-sig")
        assert county.purge(older_than_years=0, as_of=date(2025, 7, 1)) == [recent.id]


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.county_table(AS_OF),
        lambda c: c.school_table("S003", AS_OF),
        lambda c: c.teacher_table("S003-T01", AS_OF),
        lambda c: c.digest("S003-T01", AS_OF, AS_OF),
        lambda c: c.commendations(AS_OF),
    ],
)
def test_a_school_head_cannot_read_another_schools_ledgers(
    world: World, call: Callable[[County], Any]
) -> None:
    with (
        world.handle(Actor.school_head("S001-H", "S001")) as head,
        pytest.raises(AccessDeniedError, match="school"),
    ):
        call(head)


def test_the_teacher_tables_of_one_school_are_those_of_its_staff(
    world: World, tmp_path: Path
) -> None:
    """A school prints its teachers' tables: the same tables as the county's, of that school's
    staff only (a volunteer pairing too), within the actor's reach."""
    _, _, staff, _ = _facts()
    school_of = {s.id: s.school_id for s in staff}
    everyone = world.system.teacher_tables(AS_OF)
    s2 = world.system.teacher_tables(AS_OF, school="S002")
    assert s2 == {k: t for k, t in everyone.items() if school_of[k] == "S002"}
    assert PAIRED in s2
    assert any(t.rows for t in s2.values())
    with pytest.raises(NotFoundError):
        world.system.teacher_tables(AS_OF, school="S999")
    with world.handle(Actor.school_head("S001-H", "S001")) as head:
        assert head.teacher_tables(AS_OF, school="S002") == {}
        assert head.teacher_tables(AS_OF, school="S001").keys() == {
            k for k in everyone if school_of[k] == "S001"
        }
    teacher = next(k for k, t in s2.items() if t.rows and k != PAIRED)
    with world.handle(Actor.staff(teacher)) as own:
        assert own.teacher_tables(AS_OF, school="S002") == own.teacher_tables(AS_OF)
        assert own.teacher_tables(AS_OF, school="S002").keys() == {teacher}
        assert own.teacher_tables(AS_OF, school="S001") == {}
    written = world.system.export_ledger(
        "teachers", key="S002", as_of=AS_OF, format="xlsx", path=tmp_path / "s2.xlsx"
    )
    book = openpyxl.load_workbook(written, read_only=True)
    assert len([ws for ws in book.worksheets if ws.sheet_state == "visible"]) == len(s2)
    book.close()


def test_a_township_sees_its_rows_with_its_totals(world: World) -> None:
    county = world.system.county_table(AS_OF)
    with world.handle(Actor.township_officer("E02", "平固店镇")) as officer:
        township = officer.county_table(AS_OF)
    assert {k[1] for k in township.rows if len(k) >= 2} == {"平固店镇"}
    sub = next(k for k in county.rows if len(k) == 2 and k[1] == "平固店镇")
    assert township.total == county.rows[sub]


def test_the_command_line_acts_as_given_and_prints_the_audit_log(
    store_url: str, tmp_path: Path
) -> None:
    from click.testing import CliRunner

    from leftbehind.cli import main

    store = store_url
    data = synthetic_county(seed=5, children=20, as_of=AS_OF)
    children = _with_secrets(data.facts.children)
    with leftbehind.open(store, actor=SYSTEM, today=lambda: AS_OF) as county:
        county.put_schools(data.facts.schools)
        county.put_children(children)
    outsider = next(c for c in children if c.enrolments[-1].school_id != "S001")
    run = CliRunner().invoke
    denied = run(main, ["child", outsider.id, "--store", store, "--as", "school:H:S001"])
    assert denied.exit_code == 1
    assert denied.output == f"错误：没有编号为 {outsider.id} 的儿童\n"
    assert outsider.name not in denied.output
    bad = run(main, ["child", outsider.id, "--store", store, "--as", "root"])
    assert bad.exit_code == 2
    out = tmp_path / "r.csv"
    done = run(main, ["export", "roster", str(out), "--unmasked", "--store", store])
    assert done.exit_code == 0, done.output
    refused = run(main, ["audit", "--store", store, "--as", "staff:S001-T01"])
    assert refused.exit_code == 1
    assert refused.output == "错误：教师无权查看审计日志\n"
    log = run(main, ["audit", "--store", store], env={"LEFTBEHIND_ACTOR": "county:E01"})
    assert log.exit_code == 0, log.output
    assert "export roster roster" in log.output
    assert "unmasked=True" in log.output
    assert all(c.resident_id not in log.output for c in children)
