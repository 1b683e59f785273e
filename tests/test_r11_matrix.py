"""R11: every public method and property of the county handle, for every kind of actor, on past
days and today, on every backend — and nothing leaks.

One small county (the synthetic county of 60 pupils, with secrets: every child a resident ID,
one in three a health note) is written once per backend, with these added:

- a **former class teacher** (``S003-T90``) whose only assignment ended on 1 March;
- a staff member (``S002-T91``, opened as a *teacher*) whose only assignment is a
  **volunteer pairing**, and a **volunteer** (``V1``) paired with one family (and once with
  another, a pairing that ended);
- two **former pupils** who left before this school year (with class teachers of their time),
  and a child who **moved** from S003 to S001 on 1 March.

:data:`CALLS` gives a call for each public name of :class:`~leftbehind.service.County` (a meta
test keeps it complete). Each call runs for every actor (system, county officer, township
officer, school head, class teacher, proxy parent, the former teacher, the volunteer-only staff
id, a volunteer), on each day of :data:`DAYS` where the method takes a date, on every backend.
Writes run against the shared county and are undone afterwards (every document but the audit
log's is put back as it was written), so each call meets the same county. Then:

(a) no child id outside the actor's scope appears in the result or in a file written — the
    scope recomputed here from the raw facts, judged on today only;
(b) no resident ID, phone or health note the actor may not see appears in the result, in a
    file or in an exception's message;
(c) every export and unmask attempt adds exactly one audit entry, allowed or refused, and a
    file exists only when its export's entry does;
(d) ``County.store`` is refused to everyone but the system actor;
(e) nothing raises but :class:`AccessDeniedError`, :class:`NotFoundError`,
    :class:`ValidationError` or :class:`ValueError`.
"""

from __future__ import annotations

import contextlib
import csv
import enum
import functools
import inspect
import itertools
import re
import zipfile
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar, cast

import attrs
import pytest

import leftbehind
from leftbehind.access import AccessDeniedError, Actor, ActorKind
from leftbehind.domain.dates import Interval
from leftbehind.domain.duties import Record
from leftbehind.domain.errors import ValidationError
from leftbehind.domain.model import (
    Absence,
    Child,
    Enrolment,
    Guardian,
    Health,
    LeaveReason,
    Parent,
    School,
    Sex,
)
from leftbehind.domain.people import Assignment, Assignments, Role, Staff, StudyGroup
from leftbehind.errors import NotFoundError
from leftbehind.service import County, default_period
from leftbehind.store import Store
from leftbehind.testing.synthetic import resident_id, synthetic_county

T = TypeVar("T")

TODAY = date(2026, 6, 30)
START = date(2025, 9, 1)  # the first day of this school year
PREVIOUS = date(2025, 3, 3)  # a day of the school year before
DAYS = (PREVIOUS, START, TODAY)
NOW = datetime(2026, 6, 30, 8, 0, tzinfo=UTC)
YEAR = default_period(TODAY)  # the school year so far, by which officials stand
SYSTEM = Actor.system("r11")

CLASS_TEACHER = "S003-T04"
PROXY_PARENT = "S002-T03"
FORMER = "S003-T90"
FORMER_CHILD = "C000030"
PAIRED = "S002-T91"
PAIRED_CHILD = "C000026"
VOLUNTEER = "V1"
VOLUNTEER_CHILD = "C000003"
OLD_PUPIL = "C900001"  # of S003, left in July 2025
OLD_PUPIL_2 = "C900003"  # of S002, left in July 2025
MOVED = "C900002"  # from S003 to S001 on 1 March
NEW_CHILD = "C900100"  # written by put_children
MISSING = "C999999"

ACTORS: dict[str, Actor] = {
    "system": SYSTEM,
    "county": Actor.county_officer("E01"),
    "township": Actor.township_officer("E02", "广平镇"),
    "head": Actor.school_head("S003-H", "S003"),
    "class_teacher": Actor.staff(CLASS_TEACHER),
    "proxy_parent": Actor.staff(PROXY_PARENT, ActorKind.PROXY_PARENT),
    "former_teacher": Actor.staff(FORMER),
    "volunteer_only_staff": Actor.staff(PAIRED),
    "volunteer": Actor.volunteer(VOLUNTEER),
}

#: The children every per-child method is asked about: in and out of each actor's reach.
TARGETS = (
    FORMER_CHILD,
    PAIRED_CHILD,
    VOLUNTEER_CHILD,
    "C000035",
    "C000009",
    OLD_PUPIL,
    OLD_PUPIL_2,
    MOVED,
    MISSING,
)
#: The staff every per-staff method is asked about (the actor's own id is added).
STAFF_TARGETS = (CLASS_TEACHER, PROXY_PARENT, "S002-T01", FORMER, PAIRED, VOLUNTEER, "S003-H")
UNMASKABLE = ("resident_id", "health_note", "father.phone", "guardian.phone")
AUDITED_OPS = frozenset(
    {"export", "export_denied", "find", "find_denied", "unmask", "unmask_denied"}
)
ALLOWED_ERRORS = (AccessDeniedError, NotFoundError, ValidationError, ValueError)

_ticks = itertools.count()


def _now() -> datetime:
    """The audit clock: a microsecond later at each call, so the log's order is the calls'."""
    return NOW + timedelta(microseconds=next(_ticks))


# ---------------------------------------------------------------------------------------------
# The county.


def _rid(birth: date, order: int, sex: Sex) -> str:
    return resident_id("130432", birth, 2 * order + (1 if sex is Sex.MALE else 2))


def _away(name: str, phone: str, since: date) -> Parent:
    return Parent(name=name, phone=phone, absences=(Absence(since, None, "北京"),))


def _extra_child(key: str, birth: date, enrolments: tuple[Enrolment, ...], n: int) -> Child:
    return Child(
        key,
        f"补录{n}号",
        Sex.MALE,
        birth,
        village="平固店东村",
        enrolments=enrolments,
        father=_away(f"父{n}", f"1390000{n:04d}", date(2021, 3, 1)),
        mother=_away(f"母{n}", f"1370000{n:04d}", date(2021, 3, 1)),
        guardian=Guardian(f"祖母{n}", "祖母", f"1350000{n:04d}"),
    )


def _extra_children() -> list[Child]:
    graduated = LeaveReason.GRADUATED
    return [
        _extra_child(
            OLD_PUPIL,
            date(2013, 5, 1),
            (Enrolment("S003", date(2019, 9, 1), 1, "1班", date(2025, 7, 1), graduated),),
            1,
        ),
        _extra_child(
            MOVED,
            date(2017, 2, 1),
            (
                Enrolment(
                    "S003", date(2023, 9, 1), 1, "2班", date(2026, 3, 1), LeaveReason.TRANSFERRED
                ),
                Enrolment("S001", date(2026, 3, 1), 3, "1班"),
            ),
            2,
        ),
        _extra_child(
            OLD_PUPIL_2,
            date(2010, 4, 1),
            (Enrolment("S002", date(2022, 9, 1), 7, "1班", date(2025, 7, 1), graduated),),
            3,
        ),
    ]


def _with_secrets(children: list[Child]) -> list[Child]:
    """Every child a resident ID; one in three, and every added child, a health note."""
    out = []
    for i, c in enumerate(children):
        noted = i % 3 == 0 or c.id.startswith("C9")
        out.append(
            attrs.evolve(
                c,
                resident_id=_rid(c.birth_date, i, c.sex),
                health=Health.ILL if noted else c.health,
                health_note=f"病历{i:03d}号" if noted else "",
            )
        )
    return out


@attrs.frozen
class Facts:
    """What the system actor writes: the raw facts the oracle judges by."""

    schools: tuple[School, ...]
    children: tuple[Child, ...]
    staff: tuple[Staff, ...]
    assignments: tuple[Assignment, ...]
    groups: tuple[StudyGroup, ...]
    records: tuple[Record, ...]

    def child(self, key: str) -> Child:
        return next(c for c in self.children if c.id == key)


@functools.cache
def facts() -> Facts:
    data = synthetic_county(seed=11, children=60, as_of=TODAY)
    children = _with_secrets([*data.facts.children, *_extra_children()])
    staff = (
        *data.staff,
        Staff(FORMER, "前班主任", "S003", "教师"),
        Staff(PAIRED, "结对教师", "S002", "教师"),
        Staff(VOLUNTEER, "志愿者甲", "S003", "志愿者"),
    )
    ended = date(2026, 3, 1)
    extra = (
        Assignment("AF1", FORMER, FORMER_CHILD, Role.CLASS_TEACHER, START, ended),
        Assignment("AP1", PAIRED, PAIRED_CHILD, Role.VOLUNTEER, START),
        Assignment("AV1", VOLUNTEER, VOLUNTEER_CHILD, Role.VOLUNTEER, START),
        Assignment("AV2", VOLUNTEER, "C000035", Role.VOLUNTEER, START, date(2026, 1, 1)),
        Assignment(
            "AO1", CLASS_TEACHER, OLD_PUPIL, Role.CLASS_TEACHER, date(2022, 9, 1), date(2025, 7, 1)
        ),
        Assignment(
            "AO2", "S002-T02", OLD_PUPIL_2, Role.CLASS_TEACHER, date(2022, 9, 1), date(2025, 7, 1)
        ),
        Assignment("AM1", CLASS_TEACHER, MOVED, Role.CLASS_TEACHER, date(2023, 9, 1), ended),
        Assignment("AM2", PROXY_PARENT, MOVED, Role.PROXY_PARENT, ended),
    )
    return Facts(
        data.facts.schools,
        tuple(children),
        staff,
        (*data.assignments, *extra),
        data.groups,
        data.records[:150],
    )


# ---------------------------------------------------------------------------------------------
# The oracle: who reaches which child today, and which of its secrets, from the raw facts.


def _standing(actor: Actor, child: Child) -> frozenset[Any]:
    f = facts()
    if actor.kind in (ActorKind.SYSTEM, ActorKind.COUNTY_OFFICER):
        return frozenset({"office"})
    if actor.kind in (ActorKind.TOWNSHIP_OFFICER, ActorKind.SCHOOL_HEAD):
        township = {s.id: s.township for s in f.schools}
        assert YEAR.end is not None
        for e in child.enrolments:
            this_year = e.start < YEAR.end and (e.end is None or e.end > YEAR.start)
            covered = (
                township[e.school_id] == actor.township
                if actor.kind is ActorKind.TOWNSHIP_OFFICER
                else e.school_id == actor.school_id
            )
            if this_year and covered:
                return frozenset({"office"})
        return frozenset()
    held = [(a.staff_id, a.child_id, a.role, a.start, a.end) for a in f.assignments]
    held += [
        (g.guide_staff_id, cid, Role.GROUP_GUIDE, g.start, g.end)
        for g in f.groups
        for cid in g.child_ids
    ]
    return frozenset(
        role
        for staff_id, child_id, role, start, end in held
        if staff_id == actor.id
        and child_id == child.id
        and start <= TODAY
        and (end is None or end > TODAY)
    )


@attrs.frozen
class Scope:
    families: frozenset[str]  # every child the actor reaches (a family card at least)
    files: frozenset[str]  # the children whose file the actor reads
    forbidden: frozenset[str]  # the secrets the actor must never get


def _secrets(child: Child) -> dict[str, list[str]]:
    phones = [p.phone for p in (child.father, child.mother, child.guardian) if p and p.phone]
    return {
        "id": [child.resident_id] if child.resident_id else [],
        "health": [child.health_note] if child.health_note else [],
        "phone": phones,
    }


@functools.cache
def scope(name: str) -> Scope:
    actor = ACTORS[name]
    families: set[str] = set()
    files: set[str] = set()
    allowed: set[str] = set()
    every: set[str] = set()
    for child in facts().children:
        standing = _standing(actor, child)
        reads = actor.kind is not ActorKind.VOLUNTEER and bool(standing - {Role.VOLUNTEER})
        if standing:
            families.add(child.id)
        if reads:
            files.add(child.id)
        for field, values in _secrets(child).items():
            every.update(values)
            if not reads:
                continue
            if (
                "office" in standing
                or (field in ("id", "health") and Role.CLASS_TEACHER in standing)
                or (field == "phone" and standing & {Role.CLASS_TEACHER, Role.PROXY_PARENT})
            ):
                allowed.update(values)
    return Scope(frozenset(families), frozenset(files), frozenset(every - allowed))


# ---------------------------------------------------------------------------------------------
# Everything a result holds, as text.

_SKIP = (Store, County)


def _walk(value: object, out: list[str], seen: set[int]) -> None:
    if value is None or isinstance(value, bool | int | float):
        out.append(repr(value))
        return
    if isinstance(value, str):
        out.append(value)
        return
    if isinstance(value, bytes):
        out.append(value.decode("utf-8", "replace"))
        return
    if isinstance(value, (date, enum.Enum, Path, Interval, *_SKIP)):
        out.append(str(value))
        return
    if id(value) in seen:
        return
    seen.add(id(value))
    if isinstance(value, Mapping):
        for k, v in value.items():
            _walk(k, out, seen)
            _walk(v, out, seen)
    elif isinstance(value, list | tuple | set | frozenset):
        for v in value:
            _walk(v, out, seen)
    elif isinstance(value, Assignments):
        _walk(value.all, out, seen)
    elif isinstance(value, BaseException):
        out.append(str(value))
        out.append(repr(value))
        _walk(value.args, out, seen)
        _walk(getattr(value, "issues", ()), out, seen)
    elif attrs.has(type(value)):
        for f in attrs.fields(cast(Any, type(value))):
            _walk(getattr(value, f.name), out, seen)
    elif inspect.ismethod(value):
        _walk(value.__self__, out, seen)
    elif type(value).__module__.startswith("leftbehind.") and hasattr(value, "__dict__"):
        _walk(vars(value), out, seen)
    else:
        out.append(repr(value))


def text_of(value: object) -> str:
    out: list[str] = []
    _walk(value, out, set())
    return "\n".join(out)


_XML_TEXT = re.compile(r">([^<]+)<")


def file_text(path: Path) -> str:
    """All the text a file holds (an XLSX: the text of every element of every XML part, so
    strings, numbers and names, but not cell references such as ``C1048576``)."""
    if path.suffix == ".xlsx":
        with zipfile.ZipFile(path) as z:
            parts = [z.read(n).decode("utf-8", "replace") for n in z.namelist()]
        return "\n".join(t for part in parts for t in _XML_TEXT.findall(part))
    return path.read_bytes().decode("utf-8-sig", "replace")


_CHILD_ID = re.compile(r"C\d{6}")
_SECRET = re.compile(r"\d{11,}X?|病历\d{3}号")


def child_ids(text: str) -> set[str]:
    return set(_CHILD_ID.findall(text))


def leaks(text: str, forbidden: frozenset[str]) -> set[str]:
    found = set()
    for token in _SECRET.findall(text):
        if token in forbidden:
            found.add(token)
        elif len(token) > 18:
            found.update(s for s in forbidden if s in token)
    return found


# ---------------------------------------------------------------------------------------------
# The county once per backend, with a handle for each actor.


@attrs.frozen
class World:
    url: str
    system: County
    handles: dict[str, County]
    roster: Path
    folder: Path
    pristine: dict[str, dict[str, Any]]  # every document but the audit log's, as written

    def audit_count(self) -> int:
        return self.system.store.count("audit")

    def documents(self) -> dict[str, dict[str, Any]]:
        """Every document but the audit log's, by kind and key."""
        store = self.system.store
        return {k: dict(store.scan(k)) for k in sorted(store.kinds()) if k != "audit"}

    def restore(self) -> None:
        """Put every document back as it was written (the audit log keeps what was done)."""
        saved, now = self.pristine, self.documents()
        if now == saved:
            return
        store = self.system.store
        with store.unit_of_work() as uow:
            for kind in sorted(set(saved) | set(now)):
                before, after = saved.get(kind, {}), now.get(kind, {})
                for key in sorted(set(after) - set(before)):
                    uow.delete(kind, key)
                for key, doc in sorted(before.items()):
                    if after.get(key) != doc:
                        uow.put(kind, key, doc)
            uow.commit()
        assert self.documents() == saved


def _open(url: str, actor: Actor) -> County:
    return leftbehind.open(url, actor=actor, today=lambda: TODAY, now=_now)


def _write_roster(system: County, folder: Path) -> Path:
    """A small roster file: FORMER_CHILD's row with a hobby changed, PAIRED_CHILD's as it is."""
    every = folder / "all.csv"
    system.export_roster(every, unmasked=True)
    with every.open(encoding="utf-8-sig", newline="") as f:
        table = list(csv.reader(f))
    keys = table[1]
    rows = {r[keys.index("id")]: r for r in table[2:]}
    mine = list(rows[FORMER_CHILD])
    mine[keys.index("hobbies")] = "书法"
    path = folder / "roster.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        csv.writer(f).writerows([table[0], keys, mine, rows[PAIRED_CHILD]])
    every.unlink()
    return path


@pytest.fixture(scope="module")
def world(module_store_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    f = facts()
    folder = tmp_path_factory.mktemp("r11")
    system = _open(module_store_url, SYSTEM)
    system.put_schools(f.schools)
    system.put_children(f.children)
    system.put_staff(f.staff)
    system.put_assignments(f.assignments)
    system.put_groups(f.groups)
    system.add_records(f.records)
    # a follow-up of each target, owed by each of its proxy parents and class teachers
    for a in f.assignments:
        if a.child_id in TARGETS and a.role in (Role.PROXY_PARENT, Role.CLASS_TEACHER):
            system.raise_needs(a.child_id, [{"kind": "safety", "owner_id": a.staff_id}], on=a.start)
    system.queue_week(TODAY, TODAY)  # notices waiting to be delivered
    roster = _write_roster(system, folder)
    handles = {name: _open(module_store_url, actor) for name, actor in ACTORS.items()}
    found = World(module_store_url, system, handles, roster, folder, {})
    found = attrs.evolve(found, pristine=found.documents())
    yield found
    # Only the writes changed the county, and each was undone.
    assert found.documents() == found.pristine
    for handle in handles.values():
        handle.close()
    system.close()


# ---------------------------------------------------------------------------------------------
# The calls.


@attrs.frozen
class Refused:
    """A refusal in a result, shown by its kind only (its message is checked on its own)."""

    error: str


@attrs.define
class Ctx:
    """One call's context, and what the call did."""

    world: World
    actor: Actor
    day: date
    out: Path
    errors: list[BaseException] = attrs.Factory(list)
    expected_ops: list[str] = attrs.Factory(list)
    files: list[tuple[Path, bool]] = attrs.Factory(list)
    echo: set[str] = attrs.Factory(set)  # child ids the call itself passed in

    @property
    def period(self) -> Interval:
        return default_period(self.day)

    def path(self, name: str) -> Path:
        return self.out / name

    def attempt(self, call: Callable[[], T]) -> T | Refused:
        try:
            return call()
        except ALLOWED_ERRORS as exc:
            self.errors.append(exc)
            return Refused(type(exc).__name__)

    def audited(self, op: str, call: Callable[[], T], path: Path | None = None) -> T | Refused:
        """An export or unmask attempt: one audit entry, ``op``, or ``op_denied`` if refused."""
        try:
            value = call()
        except ALLOWED_ERRORS as exc:
            self.errors.append(exc)
            self.expected_ops.append(f"{op}_denied")
            if path is not None:
                self.files.append((path, False))
            return Refused(type(exc).__name__)
        self.expected_ops.append(op)
        if path is not None:
            self.files.append((path, True))
        return value

    def each(self, items: tuple[str, ...], call: Callable[[str], T]) -> list[T | Refused]:
        return [self.attempt(functools.partial(call, item)) for item in items]

    @property
    def staff_targets(self) -> tuple[str, ...]:
        return (self.actor.id, *STAFF_TARGETS)


Call = Callable[[County, Ctx], object]


def _close(c: County, x: Ctx) -> object:
    other = _open(x.world.url, c.actor)
    other.close()
    other.close()  # twice is harmless
    return None


def _export_ledger(c: County, x: Ctx) -> object:
    levels: tuple[tuple[str, str | None], ...] = (
        ("county", None),
        ("school", "S003"),
        ("schools", None),
        ("teacher", CLASS_TEACHER),
        ("teachers", None),
        ("commend", None),
    )
    out: list[object] = [
        x.audited(
            "export",
            functools.partial(c.export_ledger, level, key=key, as_of=x.day, unmasked=True),
        )
        for level, key in levels
    ]
    for level, key, fmt in (("teachers", None, "csv"), ("school", "S003", "xlsx")):
        path = x.path(f"ledger-{level}.{fmt}")
        out.append(
            x.audited(
                "export",
                functools.partial(
                    c.export_ledger,
                    level,
                    key=key,
                    as_of=x.day,
                    format=fmt,
                    path=path,
                    unmasked=True,
                ),
                path,
            )
        )
    return out


def _export_roster(c: County, x: Ctx) -> object:
    as_csv, as_xlsx = x.path("roster.csv"), x.path("roster.xlsx")
    return [
        x.audited("export", lambda: c.export_roster(as_csv, unmasked=True, as_of=x.day), as_csv),
        x.audited("export", lambda: c.export_roster(as_xlsx, as_of=x.day), as_xlsx),
    ]


def _unmask(c: County, x: Ctx) -> object:
    return [
        x.audited("unmask", functools.partial(c.unmask, key, field, reason="家访前核对"))
        for key in TARGETS
        for field in UNMASKABLE
    ]


def _import_roster(c: County, x: Ctx) -> object:
    x.echo |= {FORMER_CHILD, PAIRED_CHILD}
    return [
        x.attempt(lambda: c.import_roster(x.world.roster, dry_run=True)),
        x.attempt(lambda: c.import_roster(x.world.roster)),
    ]


def _import_files(c: County, x: Ctx) -> object:
    x.echo |= {FORMER_CHILD, PAIRED_CHILD}
    return [
        x.attempt(lambda: c.import_files([x.world.roster], dry_run=True)),
        x.attempt(lambda: c.import_files([x.world.roster])),
    ]


def _put_children(c: County, x: Ctx) -> object:
    f = facts()
    mine = attrs.evolve(f.child(FORMER_CHILD), hobbies="书法")
    born = date(2014, 5, 1)
    new = attrs.evolve(
        _extra_child(NEW_CHILD, born, (Enrolment("S003", date(2020, 9, 1), 1, "1班"),), 9),
        resident_id=resident_id("130432", born, 901),
    )
    x.echo |= {FORMER_CHILD, NEW_CHILD}
    return [
        x.attempt(lambda: c.put_children([mine, new])),
        x.attempt(lambda: c.put_children([f.child(PAIRED_CHILD)])),
    ]


def _put_child(c: County, x: Ctx) -> object:
    x.echo |= {FORMER_CHILD, PAIRED_CHILD}
    f = facts()
    return [
        x.attempt(lambda: c.put_child(attrs.evolve(f.child(FORMER_CHILD), hobbies="跳绳"))),
        x.attempt(lambda: c.put_child(f.child(PAIRED_CHILD))),
    ]


def _add_records(c: County, x: Ctx) -> object:
    x.echo.add(FORMER_CHILD)
    talk = next(r for r in facts().records if r.kind == "TALK")
    day = TODAY - timedelta(days=1)
    theirs = attrs.evolve(talk, id="R-r11-1", child_id=FORMER_CHILD, staff_id=CLASS_TEACHER, on=day)
    own = attrs.evolve(theirs, id="R-r11-2", staff_id=c.actor.id)
    return [x.attempt(lambda: c.add_records([theirs])), x.attempt(lambda: c.add_records([own]))]


def _put_assignments(c: County, x: Ctx) -> object:
    x.echo.add(FORMER_CHILD)
    new = Assignment("A-r11", CLASS_TEACHER, FORMER_CHILD, Role.SUBJECT_TEACHER, START)
    return c.put_assignments([new])


def _end_assignment(c: County, x: Ctx) -> object:
    x.echo.add(FORMER_CHILD)
    return [
        x.attempt(lambda: c.end_assignment("A000026", x.day)),  # the class teacher's, of C000030
        x.attempt(lambda: c.end_assignment("A-none", x.day)),
    ]


def _find(c: County, x: Ctx) -> object:
    """A lookup of each target by name, and by ID number where the file has one: each
    audited, found or not."""
    found = []
    known = {c.id: c for c in facts().children}
    for key in TARGETS:
        if key not in known:
            continue
        child = known[key]
        found.append(x.audited("find", functools.partial(c.find, name=child.name)))
        if child.resident_id:
            number = child.resident_id
            found.append(x.audited("find", functools.partial(c.find, resident_id=number)))
    return found


def _follow_up_keys(x: Ctx) -> list[str]:
    return [f.id for f in x.world.system.follow_ups()]


def _put_groups(c: County, x: Ctx) -> object:
    group = next(g for g in facts().groups if g.school_id == "S003")
    x.echo |= set(group.child_ids)
    return c.put_groups([attrs.evolve(group, village="新村")])


def _signoff_steps(c: County, x: Ctx) -> object:
    """Each step of a sign-off tried on the school in and out of reach (undone afterwards)."""
    out: list[object] = []
    for school in ("S003", "S001", "S999"):
        out.append(x.attempt(functools.partial(c.submit, school, "2026-05", despite_findings=True)))
        out.append(x.attempt(functools.partial(c.approve, school, "2026-05")))
        out.append(x.attempt(functools.partial(c.send_back, school, "2026-05", "核对")))
        out.append(x.attempt(functools.partial(c.reopen, school, "2026-05", "核对")))
    return out


def _correction(c: County, x: Ctx) -> object:
    x.echo.add(FORMER_CHILD)
    talk = next(r for r in facts().records if r.kind == "TALK")
    late = attrs.evolve(talk, id="R-r11-c", child_id=FORMER_CHILD, staff_id=c.actor.id)
    with c.correction("核对更正"):
        return x.attempt(lambda: c.add_records([late]))


def _export_signoff(c: County, x: Ctx) -> object:
    out: list[object] = []
    for school in ("S003", "S999"):
        path = x.path(f"{school}.xlsx")
        out.append(
            x.audited("export", functools.partial(c.export_signoff, school, "2026-05", path), path)
        )
    return out


CALLS: dict[str, Call] = {
    "actor": lambda c, x: c.actor,
    "add_records": _add_records,
    "approve": _signoff_steps,
    "correction": _correction,
    "export_signoff": _export_signoff,
    "pending": lambda c, x: c.pending(),
    "reopen": _signoff_steps,
    "send_back": _signoff_steps,
    "signoff": lambda c, x: x.each(("S001", "S003", "S999"), lambda s: c.signoff(s, "2026-05")),
    "signoffs": lambda c, x: c.signoffs(),
    "submit": _signoff_steps,
    "assignments": lambda c, x: c.assignments(),
    "audit": lambda c, x: c.audit(since=NOW - timedelta(days=1), until=_now()),
    "calendar": lambda c, x: c.calendar(x.period),
    "capabilities": lambda c, x: c.capabilities,
    "channel_types": lambda c, x: c.channel_types(),
    "child": lambda c, x: [
        *x.each(TARGETS, c.child),
        *x.each(TARGETS, functools.partial(c.child, masked=True)),
    ],
    "children": lambda c, x: [list(c.children()), list(c.children(masked=True))],
    "close": _close,
    "commendations": lambda c, x: c.commendations(x.day),
    "compliance": lambda c, x: c.compliance(x.day),
    "county_table": lambda c, x: c.county_table(x.day),
    "coverage": lambda c, x: c.coverage(x.day),
    "decision": lambda c, x: x.each(TARGETS, lambda k: c.decision(k, x.day)),
    "deliver": lambda c, x: c.deliver(now=NOW),
    "diff": lambda c, x: c.diff(x.day, TODAY),
    "digest": lambda c, x: x.each(x.staff_targets, lambda s: c.digest(s, x.day, x.day)),
    "duty_book": lambda c, x: c.duty_book(x.period),
    "duty_kinds": lambda c, x: c.duty_kinds(),
    "end_assignment": _end_assignment,
    "export_ledger": _export_ledger,
    "export_roster": _export_roster,
    "families": lambda c, x: c.families(),
    "find": _find,
    "family": lambda c, x: x.each(TARGETS, c.family),
    "groups": lambda c, x: c.groups(),
    "language": lambda c, x: c.language,
    "import_files": _import_files,
    "import_roster": _import_roster,
    "ledger_facts": lambda c, x: c.ledger_facts(x.period),
    "notices": lambda c, x: c.notices(),
    "plugins": lambda c, x: c.plugins,
    "policy": lambda c, x: c.policy,
    "purge": lambda c, x: c.purge(older_than_years=0, as_of=x.day),
    "put_assignments": _put_assignments,
    "put_child": _put_child,
    "put_children": _put_children,
    "put_groups": _put_groups,
    "put_schools": lambda c, x: c.put_schools([facts().schools[2]]),
    "quality": lambda c, x: c.quality(x.day),
    "follow_up_rules": lambda c, x: c.follow_up_rules(),
    "set_follow_up_rules": lambda c, x: c.set_follow_up_rules(due_days={"safety": 2}),
    "follow_ups": lambda c, x: c.follow_ups(as_of=x.day),
    "follow_up": lambda c, x: x.each(
        tuple(_follow_up_keys(x)), lambda k: c.follow_up(k, as_of=x.day)
    ),
    "raise_needs": lambda c, x: x.each(TARGETS, lambda k: c.raise_needs(k, ["study"], on=x.day)),
    "close_follow_up": lambda c, x: x.each(
        tuple(_follow_up_keys(x)), lambda k: c.close_follow_up(k, on=x.day, action="已处理")
    ),
    "refer": lambda c, x: x.each(
        tuple(_follow_up_keys(x)), lambda k: c.refer(k, agency="police", on=x.day)
    ),
    "queue_escalations": lambda c, x: c.queue_escalations(x.day),
    "put_staff": lambda c, x: c.put_staff([Staff("S003-T99", "新老师", "S003", "教师")]),
    "queue_incomplete_files": lambda c, x: c.queue_incomplete_files(x.day.year),
    "queue_status_changes": lambda c, x: c.queue_status_changes(x.day, TODAY),
    "queue_week": lambda c, x: c.queue_week(x.day, x.day),
    "records": lambda c, x: [
        list(c.records()),
        *x.each(TARGETS, lambda k: list(c.records(child_id=k))),
    ],
    "school": lambda c, x: x.each(("S003", "S999"), c.school),
    "school_table": lambda c, x: x.each(
        ("S001", "S002", "S003", "S999"), lambda s: c.school_table(s, x.day)
    ),
    "school_tables": lambda c, x: c.school_tables(x.day),
    "schools": lambda c, x: c.schools(),
    "set_calendar": lambda c, x: c.set_calendar("china", extra_days_off=[date(2026, 6, 1)]),
    "set_channels": lambda c, x: c.set_channels({"default": {"type": "log"}}),
    "set_county": lambda c, x: c.set_county("广平县", "130432"),
    "set_language": lambda c, x: c.set_language("zh_TW"),
    "set_policy": lambda c, x: c.set_policy("national-2016"),
    "settings": lambda c, x: c.settings(),
    "staff": lambda c, x: c.staff(),
    "store": lambda c, x: c.store,
    "teacher_table": lambda c, x: x.each(x.staff_targets, lambda s: c.teacher_table(s, x.day)),
    "teacher_tables": lambda c, x: c.teacher_tables(x.day),
    "timeline": lambda c, x: [
        *x.each(TARGETS, c.timeline),
        *x.each(TARGETS, functools.partial(c.timeline, national=True)),
    ],
    "timelines": lambda c, x: [c.timelines(), c.timelines(national=True)],
    "today": lambda c, x: c.today(),
    "unmask": _unmask,
    "url": lambda c, x: c.url,
}

#: The calls that change the county (undone after each run).
WRITES = frozenset(
    {
        "add_records",
        "approve",
        "correction",
        "reopen",
        "send_back",
        "submit",
        "set_follow_up_rules",
        "raise_needs",
        "close_follow_up",
        "refer",
        "queue_escalations",
        "deliver",
        "end_assignment",
        "import_files",
        "import_roster",
        "purge",
        "put_assignments",
        "put_child",
        "put_children",
        "put_groups",
        "put_schools",
        "put_staff",
        "queue_incomplete_files",
        "queue_status_changes",
        "queue_week",
        "set_calendar",
        "set_channels",
        "set_county",
        "set_language",
        "set_policy",
    }
)
#: The calls that take a day (or a period, or a year), run on each of :data:`DAYS`.
DATED = frozenset(
    {
        "quality",
        "follow_ups",
        "follow_up",
        "raise_needs",
        "close_follow_up",
        "refer",
        "queue_escalations",
        "calendar",
        "commendations",
        "compliance",
        "county_table",
        "coverage",
        "decision",
        "diff",
        "digest",
        "duty_book",
        "end_assignment",
        "export_ledger",
        "export_roster",
        "ledger_facts",
        "purge",
        "queue_incomplete_files",
        "queue_status_changes",
        "queue_week",
        "school_table",
        "school_tables",
        "teacher_table",
        "teacher_tables",
    }
)
#: Calls whose results may name the children of family cards (volunteers' standing included).
CARDS = frozenset({"family", "families"})
#: Calls whose results may name any key a caller asked about (the log of attempts).
LOGS = frozenset({"audit"})


def public_names() -> set[str]:
    return {name for name, _ in inspect.getmembers(County) if not name.startswith("_")}


def _takes_a_day(name: str) -> bool:
    member = inspect.getattr_static(County, name)
    if isinstance(member, property) or not callable(member):
        return False
    hints = [str(p.annotation) for p in inspect.signature(member).parameters.values()]
    return any(re.search(r"\bdate\b|Interval", h) for h in hints) or "year" in str(
        inspect.signature(member)
    )


CASES = [
    pytest.param(name, day, id=f"{name}-{day}")
    for name in sorted(CALLS)
    for day in (DAYS if name in DATED else (TODAY,))
]


# ---------------------------------------------------------------------------------------------
# The tests.


def test_every_public_name_has_a_call() -> None:
    assert set(CALLS) == public_names()
    assert set(CALLS) >= WRITES
    assert set(CALLS) >= DATED


def test_every_method_taking_a_day_runs_on_past_days() -> None:
    assert {n for n in public_names() if _takes_a_day(n)} - {"set_calendar"} == DATED


@pytest.mark.parametrize("name", list(ACTORS))
def test_the_oracle_agrees_with_the_files_and_families_the_handle_lists(
    world: World, name: str
) -> None:
    """The scope the matrix judges by is the one the handle lists (neither wider nor narrower),
    and each kind of standing is there to be judged."""
    county = world.handles[name]
    expected = scope(name)
    assert {f.child_id for f in county.families()} == expected.families
    if ACTORS[name].kind is ActorKind.VOLUNTEER:
        with pytest.raises(AccessDeniedError):
            list(county.children())
    else:
        assert {c.id for c in county.children()} == expected.files
    if name in ("volunteer", "volunteer_only_staff"):
        assert len(expected.families) == 1
        assert not expected.files
    if name == "former_teacher":
        assert not expected.families
    if name == "head":
        assert MOVED in expected.files
        assert OLD_PUPIL not in expected.files
    if name == "township":
        assert MOVED in expected.files
        assert OLD_PUPIL_2 not in expected.files


@pytest.mark.parametrize("name", [n for n in ACTORS if n != "system"])
def test_the_raw_store_is_for_the_system_only(world: World, name: str) -> None:
    with pytest.raises(AccessDeniedError):
        _ = world.handles[name].store
    assert world.handles["system"].store is not None


def test_the_detectors_see_every_child_and_every_secret(world: World) -> None:
    """What the matrix looks for is found where it is: in values, in CSV and XLSX files."""
    f = facts()
    everything = frozenset(v for c in f.children for vs in _secrets(c).values() for v in vs)
    assert scope("volunteer").forbidden == everything
    assert len(everything) > 2 * len(f.children)
    assert leaks(text_of(f.children), everything) == everything
    assert child_ids(text_of(Assignments(f.assignments))) == {a.child_id for a in f.assignments}
    for fmt in ("csv", "xlsx"):
        path = world.folder / f"detectors.{fmt}"
        world.system.export_roster(path, unmasked=True)
        text = file_text(path)
        assert child_ids(text) == {c.id for c in f.children}
        assert leaks(text, everything) == everything
        path.unlink()


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_file_export_of_no_table_is_audited_like_any_other(world: World, fmt: str) -> None:
    """The former teacher holds no assignment today, so has no teacher table: an export of
    them to a file is still one audited attempt, never an unexpected error."""
    county = world.handles["former_teacher"]
    assert county.teacher_tables(TODAY) == {}
    path = world.folder / f"no-table-{world.audit_count()}.{fmt}"
    before = world.audit_count()
    mark = _now()
    with contextlib.suppress(*ALLOWED_ERRORS):
        county.export_ledger("teachers", as_of=TODAY, format=fmt, path=path)
    ops = [e.op for e in world.system.audit(since=mark)]
    assert world.audit_count() - before == 1
    assert ops in (["export"], ["export_denied"])
    assert path.exists() == (ops == ["export"])


@pytest.mark.parametrize("as_of", [None, PREVIOUS], ids=["today", "previous-year"])
@pytest.mark.parametrize(
    ("name", "school", "gone"),
    [("head", "S003", OLD_PUPIL), ("township", "S002", OLD_PUPIL_2)],
    ids=["head", "township"],
)
def test_a_school_table_names_no_child_out_of_the_officials_reach(
    world: World, name: str, school: str, gone: str, as_of: date | None
) -> None:
    """A pupil who left before this school year is out of the official's reach (not found);
    the school's table names them neither among its movements nor among its overdue children,
    whatever day it is asked for."""
    county = world.handles[name]
    with pytest.raises(NotFoundError):
        county.child(gone)
    table = county.school_table(school, as_of)
    named = {m.child_id for m in table.movements} | {o.child_id for o in table.overdue}
    named.discard("")  # a child out of reach may be counted, without a key or a name
    assert named <= scope(name).files, f"out of reach: {sorted(named - scope(name).files)}"
    assert gone not in text_of(county.school_tables(as_of))


@pytest.mark.parametrize("name", list(ACTORS))
@pytest.mark.parametrize(("method", "day"), CASES)
def test_r11_nothing_leaks(world: World, method: str, day: date, name: str) -> None:
    actor = ACTORS[name]
    county = world.handles[name]
    out = world.folder / f"{method}-{day}-{name}"
    out.mkdir()
    ctx = Ctx(world, actor, day, out)
    before = world.audit_count()
    mark = _now()
    try:
        try:
            result = CALLS[method](county, ctx)
        except ALLOWED_ERRORS as exc:  # (e): any other exception fails the test
            ctx.errors.append(exc)
            result = Refused(type(exc).__name__)
        _check(world, ctx, method, name, result, before, mark)
    finally:
        if method in WRITES:
            world.restore()


def _check(
    world: World,
    ctx: Ctx,
    method: str,
    name: str,
    result: object,
    before: int,
    mark: datetime,
) -> None:
    expected = scope(name)
    files = {path: file_text(path) for path, _ in ctx.files if path.exists()}
    shown = text_of(result) + "\n" + "\n".join(files.values())
    # (a) no child out of scope in the result or a file.
    reach = expected.families if method in CARDS else expected.files
    allowed = reach | ctx.echo | ({MISSING, NEW_CHILD} if method in LOGS else set())
    outside = child_ids(shown) - allowed
    assert not outside, f"{name} got children out of scope from {method}: {sorted(outside)}"
    # (b) no secret the actor may not see, in the result, a file or an error.
    said = shown + "\n" + text_of(ctx.errors)
    leaked = leaks(said, expected.forbidden)
    assert not leaked, f"{name} {method} showed {len(leaked)} values it may not see"
    # (c) one audit entry per export and unmask attempt; a file only with its entry.
    added = world.audit_count() - before
    entries = world.system.audit(since=mark) if added else []
    ops = sorted(e.op for e in entries if e.op in AUDITED_OPS)
    assert ops == sorted(ctx.expected_ops), f"{method} by {name}: audited {ops}"
    if method not in WRITES:
        assert added == len(ctx.expected_ops), f"{method} by {name} wrote to the audit log"
    logged = leaks(text_of(entries), frozenset().union(*(scope(n).forbidden for n in ACTORS)))
    assert not logged, f"the audit log of {method} holds personal values"
    for path, exported in ctx.files:
        assert path.exists() == exported, f"{path.name}: exported {exported}"
    on_file = sum(1 for e in entries if e.op == "export" and e.fields.get("format") != "text")
    assert on_file == sum(1 for _, ok in ctx.files if ok)
    assert {p.name for p in ctx.out.iterdir()} == {p.name for p in files}, "a stray file"
    # (d) the raw store is for the system actor only.
    if method == "store" and ACTORS[name].kind is not ActorKind.SYSTEM:
        assert isinstance(result, Refused)
        assert [type(e) for e in ctx.errors] == [AccessDeniedError]
