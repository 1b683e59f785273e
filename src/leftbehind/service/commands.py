"""Commands: each validated as a whole, checked by the gate, then written in one unit of work.

Every command validates all it was given first (one
:class:`~leftbehind.errors.ValidationError` lists every problem), asks the gate about the new
documents *and* the stored ones they replace, and writes everything, with its audit entries, in
one unit of work, or nothing.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date
from typing import Any

import attrs

from leftbehind import kinds, outbox
from leftbehind.convert import unstructure
from leftbehind.domain.calendar import Semester
from leftbehind.domain.duties import Record, check_record
from leftbehind.domain.eligibility import Policy, Timeline
from leftbehind.domain.errors import Issue, ValidationError
from leftbehind.domain.i18n import check_language, text
from leftbehind.domain.ids import shown_key
from leftbehind.domain.model import Child, School
from leftbehind.domain.people import Assignment, Staff, StudyGroup
from leftbehind.domain.signoff import (
    Period,
    assignments_reach,
    child_reaches,
    record_reaches,
)
from leftbehind.errors import NotFoundError, UnknownNameError
from leftbehind.service import notices, signoff
from leftbehind.service.context import Context, validate
from leftbehind.service.followups import raise_for_records, split_needs
from leftbehind.service.gate import Gate
from leftbehind.service.repository import SETTINGS_KEY, Batch, Snapshot, resident_id_key

__all__ = [
    "add_records",
    "county_issues",
    "end_assignment",
    "put_assignments",
    "put_children",
    "put_groups",
    "put_schools",
    "put_staff",
    "set_calendar",
    "set_channels",
    "set_policy",
]

#: The settings flag saying the resident-ID index has been built for every stored child.
_INDEXED = "resident_id_index"


def write_timelines(
    ctx: Context,
    batch: Batch,
    children: Iterable[Child],
    schools: Mapping[str, School],
    policy: Policy,
) -> dict[str, Timeline]:
    """Recompute and store the children's timelines (the county's policy and the national
    rule); returns those under the county's policy."""
    timelines: dict[str, Timeline] = {}
    national: dict[str, Timeline] = {}
    for child in children:
        timelines[child.id] = policy.timeline(child, schools)
        national[child.id] = ctx.national.timeline(child, schools)
    batch.put_many(kinds.TIMELINE, timelines.items())
    batch.put_many(kinds.NATIONAL, national.items())
    return timelines


@contextlib.contextmanager
def _unit(ctx: Context, command: str, outer: Batch | None) -> Iterator[Batch]:
    """The command's own unit of work, or ``outer`` when the command is one step of a larger
    one (an import of several files), which commits it or not."""
    if outer is not None:
        yield outer
        return
    with ctx.repo.batch(command) as batch:
        yield batch


def _commit(batch: Batch, outer: Batch | None) -> None:
    if outer is None:
        batch.commit()


def _put_settings(batch: Batch, changes: Mapping[str, Any]) -> None:
    batch.put(kinds.SETTINGS, SETTINGS_KEY, {**batch.view.settings(), **changes})


# ---------------------------------------------------------------------------------------------
# Settings.


#: A county's administrative code (行政區劃代碼, GB/T 2260): six digits.
_COUNTY_CODE = re.compile(r"[0-9]{6}")
#: The longest name of a county.
_COUNTY_NAME = 40


def county_issues(name: object, code: object) -> list[Issue]:
    """What is wrong with a county's name and administrative code (none when both are fine):
    what :meth:`leftbehind.County.set_county` checks, for a caller that checks before it makes
    a store."""
    issues = []
    if not isinstance(name, str) or not name.strip() or len(name) > _COUNTY_NAME:
        issues.append(Issue("name", "county_name", f"1 to {_COUNTY_NAME} characters of text"))
    elif any(not ch.isprintable() or ch.isspace() for ch in name):
        issues.append(Issue("name", "text_control", "no spaces or control characters"))
    if not isinstance(code, str) or not _COUNTY_CODE.fullmatch(code):
        issues.append(Issue("code", "county_code", "an administrative code is 6 digits"))
    return issues


def set_county(ctx: Context, name: str, code: str) -> None:
    """Name the county and give its 6-digit administrative code (audited): every table and
    summary it makes from now on carries them."""
    _, gate = ctx.begin()
    gate.require("settings.write", "name the county")
    if issues := county_issues(name, code):
        raise ValidationError(issues, subject="county")
    with ctx.repo.batch("set_county") as batch:
        _put_settings(batch, {"name": name, "code": code})
        batch.commit()


def set_language(ctx: Context, lang: str) -> str:
    """The county's language (audited): what its forms, templates and notices are written in.
    Returns the language as stored (``zh_CN``, ``zh_TW`` or ``en``)."""
    _, gate = ctx.begin()
    gate.require("settings.write", "choose the county's language")
    try:
        chosen = check_language(lang)
    except ValueError as exc:
        raise ValidationError([Issue("language", "language", str(exc))], subject="county") from None
    with ctx.repo.batch("set_language") as batch:
        _put_settings(batch, {"language": chosen})
        batch.commit()
    return chosen


def set_policy(ctx: Context, name: str) -> int:
    """Adopt the policy ``name`` and recompute every timeline; returns how many."""
    _, gate = ctx.begin()
    gate.require("settings.write", "change the policy")
    policy = ctx.plugins.policy(name)
    with ctx.repo.batch("set_policy") as batch:
        schools = batch.view.schools()
        children = batch.view.children()
        _put_settings(batch, {"policy": policy.name})
        write_timelines(ctx, batch, children.values(), schools, policy)
        batch.commit()
    return len(children)


def set_calendar(
    ctx: Context,
    name: str,
    terms: Iterable[Semester] | None,
    extra_days_off: Iterable[date],
) -> None:
    """Choose the school calendar (audited, like every change of the settings)."""
    _, gate = ctx.begin()
    gate.require("settings.write", "change the calendar")
    known = ctx.plugins.calendars()
    if name not in known:
        raise UnknownNameError("calendar", name, known)
    calendar = {
        "name": name,
        "terms": None if terms is None else [unstructure(t) for t in terms],
        "extra_days_off": sorted(d.isoformat() for d in extra_days_off),
    }
    with ctx.repo.batch("set_calendar") as batch:
        _put_settings(batch, {"calendar": calendar})
        batch.commit()


def set_channels(ctx: Context, channels: Mapping[str, Mapping[str, str]]) -> None:
    """Configure the notification channels (every channel is built first, so an unknown type,
    a malformed setting or a secret in clear is refused and nothing is stored)."""
    _, gate = ctx.begin()
    gate.require("notices.manage", "configure channels")
    outbox.build_notifiers(ctx.plugins, channels)
    with ctx.repo.batch("set_channels") as batch:
        _put_settings(batch, {"channels": {k: dict(v) for k, v in channels.items()}})
        batch.commit()


# ---------------------------------------------------------------------------------------------
# Schools and children.


def put_schools(
    ctx: Context, schools: Iterable[School | Mapping[str, Any]], *, outer: Batch | None = None
) -> list[School]:
    _, gate = ctx.begin()
    gate.require("schools.write", "change schools")
    checked = validate(schools, School, "schools")
    with _unit(ctx, "put_schools", outer) as batch:
        stored = batch.view.schools()

        def rural_changes() -> Iterator[tuple[str, signoff.Reach]]:
            # whether a school is rural decides who of its pupils is served: every period of
            # the school was made of it
            for school in checked:
                old = stored.get(school.id)
                if old is not None and old.rural != school.rural:
                    yield school.id, (frozenset({school.id}), lambda _s, _p: True)

        signoff.guard(ctx, batch, kinds.SCHOOL, rural_changes())
        batch.put_many(kinds.SCHOOL, ((s.id, s) for s in checked))
        _commit(batch, outer)
    return checked


def _index_resident_ids(batch: Batch) -> None:
    """Build the resident-ID index of a store written before it existed (once)."""
    if batch.view.settings().get(_INDEXED):
        return
    index = {
        resident_id_key(child.resident_id): {"child": key}
        for key, child in batch.view.children().items()
        if child.resident_id
    }
    batch.put_many(kinds.RESIDENT_ID, index.items())
    _put_settings(batch, {_INDEXED: 1})


def _duplicate_ids(view: Snapshot, checked: list[Child]) -> list[Issue]:
    """A resident ID belongs to one child only, in the batch and in the store (by the index,
    read inside the unit of work, so two imports at once cannot both store one ID)."""
    issues: list[Issue] = []
    owner: dict[str, str] = {}
    wanted = {c.id: c.resident_id.upper() for c in checked}
    stored = view.resident_id_owners(rid for rid in wanted.values() if rid)
    for i, child in enumerate(checked):
        rid = wanted[child.id]
        if not rid:
            continue
        holder = owner.get(rid) or stored.get(rid)
        if holder in wanted and wanted[holder] != rid:  # given up in this same put
            holder = None
        if holder is not None and holder != child.id:
            issues.append(
                Issue(
                    f"children[{i}].resident_id",
                    "duplicate_resident_id",
                    "another child already has this resident ID",
                )
            )
        owner[rid] = child.id
    return issues


# What a change reaches (see :mod:`leftbehind.domain.signoff`), for the sign-off's guard: the
# schools whose periods it may reach (those its children were ever enrolled at), and whether it
# reaches one.


def _schools_of(*children: Child | None) -> frozenset[str]:
    return frozenset(e.school_id for c in children if c is not None for e in c.enrolments)


def _child_reaches(old: Child | None, new: Child) -> signoff.Reach:
    def reaches(school_id: str, period: Period) -> bool:
        return child_reaches(old, new, school_id, period)

    return _schools_of(old, new), reaches


def _held_reaches(
    view: Snapshot, old: Iterable[Assignment | None], new: Iterable[Assignment]
) -> signoff.Reach:
    """Whether replacing the assignments ``old`` by ``new`` reaches a school's period, for
    each child they name."""
    before = [a for a in old if a is not None]
    after = list(new)
    children = sorted({a.child_id for a in (*before, *after)})

    def reaches(school_id: str, period: Period) -> bool:
        return any(
            assignments_reach(
                [a for a in before if a.child_id == cid],
                [a for a in after if a.child_id == cid],
                view.child(cid),
                school_id,
                period,
            )
            for cid in children
        )

    return _schools_of(*(view.child(cid) for cid in children)), reaches


def _record_reaches(
    view: Snapshot, old: Record | None, new: Record, since: signoff.Since
) -> signoff.Reach:
    children = sorted({new.child_id} | ({old.child_id} if old is not None else set()))

    def reaches(school_id: str, period: Period) -> bool:
        def first(kind: str) -> date:
            return since(period, kind)

        return any(
            record_reaches(old, new, view.child(cid), school_id, period, first) for cid in children
        )

    return _schools_of(*(view.child(cid) for cid in children)), reaches


def put_children(
    ctx: Context, children: Iterable[Child | Mapping[str, Any]], *, outer: Batch | None = None
) -> list[Child]:
    today = ctx.today()
    _, gate = ctx.begin()
    gate.require("children.write", "write children's files")
    checked = validate(children, Child, "children", today=today)
    with _unit(ctx, "put_children", outer) as batch:
        view = batch.view
        gate = Gate(ctx.actor, today, view)
        ids = [c.id for c in checked]
        view.prefetch(kinds.CHILD, ids)
        view.prefetch(kinds.TIMELINE, ids)
        stored = {c.id: view.child(c.id) for c in checked}
        for child in checked:
            gate.check_child(child, stored[child.id])
        schools = view.schools()
        issues = [
            Issue(f"children[{i}].enrolments[{j}].school_id", "unknown_school", "no such school")
            for i, child in enumerate(checked)
            for j, e in enumerate(child.enrolments)
            if e.school_id not in schools
        ]
        _index_resident_ids(batch)
        duplicates = _duplicate_ids(view, checked)
        for issue in duplicates:  # a probe for a registered ID number leaves a trace
            child = checked[int(issue.path.split("[")[1].split("]")[0])]
            ctx.repo.audit_now("refused", kinds.CHILD, shown_key(child.id), {"code": issue.code})
        issues += duplicates
        if issues:
            raise ValidationError(issues, subject="children")
        signoff.guard(
            ctx,
            batch,
            kinds.CHILD,
            ((c.id, _child_reaches(stored[c.id], c)) for c in checked),
        )
        policy = ctx.policy(view)
        was = {
            c.id: (t := view.timeline(c.id)) is not None and bool(t.categories_on(today))
            for c in checked
        }
        # an ID given up first, so that two children trading IDs keep both in the index
        for child in checked:
            old = stored[child.id]
            if old is not None and old.resident_id and old.resident_id != child.resident_id:
                batch.delete(kinds.RESIDENT_ID, resident_id_key(old.resident_id))
        index = {resident_id_key(c.resident_id): {"child": c.id} for c in checked if c.resident_id}
        batch.put_many(kinds.RESIDENT_ID, index.items())
        batch.put_many(kinds.CHILD, ((c.id, c) for c in checked))
        now = write_timelines(ctx, batch, checked, schools, policy)
        flips = [
            (child, "left" if was[child.id] else "served")
            for child in checked
            if bool(now[child.id].categories_on(today)) != was[child.id]
        ]
        changes = ((child, what, today) for child, what in flips)
        notices.queue_statuses(batch, view, changes, language=ctx.language(view))
        _commit(batch, outer)
    return checked


# ---------------------------------------------------------------------------------------------
# People.


def _check_refs(
    gate: Gate,
    snap: Snapshot,
    name: str,
    pairs: Iterable[tuple[str, str]],
    days: Iterable[date | None] | None = None,
) -> list[Issue]:
    """Staff and children must exist; a child the actor may not write about is reported as
    ``unknown_child`` too, exactly like a missing one."""
    staff = snap.staff()
    issues: list[Issue] = []
    day_list = list(days) if days is not None else None
    pairs = list(pairs)
    snap.prefetch(kinds.CHILD, [child_id for _, child_id in pairs])
    for i, (staff_id, child_id) in enumerate(pairs):
        if staff_id not in staff:
            issues.append(Issue(f"{name}[{i}]", "unknown_staff", "no such staff member"))
        day = day_list[i] if day_list is not None else None
        if not gate.may_reach_child(child_id, day):
            issues.append(Issue(f"{name}[{i}]", "unknown_child", "no such child"))
    return issues


def put_staff(
    ctx: Context, staff: Iterable[Staff | Mapping[str, Any]], *, outer: Batch | None = None
) -> list[Staff]:
    _, gate = ctx.begin()
    gate.require("staff.write", "write staff")
    checked = validate(staff, Staff, "staff")
    with _unit(ctx, "put_staff", outer) as batch:
        view = batch.view
        schools = view.schools()
        issues = [
            Issue(f"staff[{i}].school_id", "unknown_school", "no such school")
            for i, person in enumerate(checked)
            if person.school_id not in schools
        ]
        if issues:
            raise ValidationError(issues, subject="staff")
        gate = Gate(ctx.actor, gate.today, view)
        view.prefetch(kinds.STAFF, [person.id for person in checked])
        for person in checked:
            gate.check_staff(person, view.staff_member(person.id))
        batch.put_many(kinds.STAFF, ((person.id, person) for person in checked))
        _commit(batch, outer)
    return checked


def put_assignments(
    ctx: Context,
    assignments: Iterable[Assignment | Mapping[str, Any]],
    *,
    outer: Batch | None = None,
) -> list[Assignment]:
    _, gate = ctx.begin()
    gate.require("assignments.write", "assign staff")
    checked = validate(assignments, Assignment, "assignments")
    with _unit(ctx, "put_assignments", outer) as batch:
        view = batch.view
        gate = Gate(ctx.actor, gate.today, view)
        issues = _check_refs(gate, view, "assignments", [(a.staff_id, a.child_id) for a in checked])
        if issues:
            raise ValidationError(issues, subject="assignments")
        view.prefetch(kinds.ASSIGNMENT, [a.id for a in checked])
        for a in checked:
            gate.check_assignment(a.id, a.staff_id, a.child_id)
            gate.check_stored_assignment(view.assignment(a.id))
        changes = ((a.id, _held_reaches(view, [view.assignment(a.id)], [a])) for a in checked)
        signoff.guard(ctx, batch, kinds.ASSIGNMENT, changes)
        batch.put_many(kinds.ASSIGNMENT, ((a.id, a) for a in checked))
        _commit(batch, outer)
    return checked


def end_assignment(ctx: Context, assignment_id: str, on: date) -> Assignment:
    _, gate = ctx.begin()
    gate.require("assignments.write", "assign staff")
    with ctx.repo.batch("end_assignment") as batch:
        gate = Gate(ctx.actor, gate.today, batch.view)
        current = batch.view.assignment(assignment_id)
        if current is None:
            raise NotFoundError(kinds.ASSIGNMENT, assignment_id)
        gate.check_stored_assignment(current)
        if on < current.start:
            issue = Issue("end", "assignment_order", "an assignment cannot end before it starts")
            raise ValidationError([issue], subject="assignment")
        ended = attrs.evolve(current, end=on)
        reaches = _held_reaches(batch.view, [current], [ended])
        signoff.guard(ctx, batch, kinds.ASSIGNMENT, [(ended.id, reaches)])
        batch.put(kinds.ASSIGNMENT, ended.id, ended)
        batch.commit()
    return ended


def put_groups(
    ctx: Context, groups: Iterable[StudyGroup | Mapping[str, Any]], *, outer: Batch | None = None
) -> list[StudyGroup]:
    _, gate = ctx.begin()
    gate.require("groups.write", "write study groups")
    checked = validate(groups, StudyGroup, "groups")
    with _unit(ctx, "put_groups", outer) as batch:
        view = batch.view
        gate = Gate(ctx.actor, gate.today, view)
        pairs = [(g.guide_staff_id, cid) for g in checked for cid in g.child_ids]
        issues = _check_refs(gate, view, "groups", pairs)
        if issues:
            raise ValidationError(issues, subject="groups")
        for g in checked:
            gate.check_group(g, view.group(g.id))

        def group_changes() -> Iterator[tuple[str, signoff.Reach]]:
            for g in checked:
                stored = view.group(g.id)
                before = stored.assignments() if stored is not None else ()
                yield g.id, _held_reaches(view, before, g.assignments())

        signoff.guard(ctx, batch, kinds.GROUP, group_changes())
        batch.put_many(kinds.GROUP, ((g.id, g) for g in checked))
        _commit(batch, outer)
    return checked


# ---------------------------------------------------------------------------------------------
# Records.


def _before_birth(view: Snapshot, records: Sequence[Record], refused: set[str]) -> list[Issue]:
    """A record dated before its child was born (``record_before_birth``); a record whose child
    is unknown or out of reach (``refused``) is not looked at, so no birth date is told."""
    born: dict[str, date | None] = {}
    issues = []
    for i, r in enumerate(records):
        if f"records[{i}]" in refused:
            continue
        if r.child_id not in born:
            child = view.child(r.child_id)
            born[r.child_id] = child.birth_date if child is not None else None
        birth = born[r.child_id]
        if birth is not None and r.on < birth:
            issues.append(Issue(f"records[{i}].on", "record_before_birth", text(_BEFORE_BIRTH)))
    return issues


#: The English of ``record_before_birth`` (worded in the language of the moment).
_BEFORE_BIRTH = "a record cannot be dated before the child was born"


def add_records(
    ctx: Context, records: Iterable[Record | Mapping[str, Any]], *, outer: Batch | None = None
) -> list[Record]:
    today = ctx.today()
    _, gate = ctx.begin()
    gate.require("records.write", "add records")
    records, needs = split_needs(records)  # needs found raise follow-ups, below
    documents: dict[str, Any] = {}
    checked = validate(records, Record, "records", today=today, documents=documents)
    duty_kinds = ctx.duty_kinds()
    issues: list[Issue] = []
    for i, record in enumerate(checked):
        for issue in check_record(record, today=today, kinds=duty_kinds):
            issues.append(Issue(f"records[{i}].{issue.path}", issue.code, issue.message))
    with _unit(ctx, "add_records", outer) as batch:
        view = batch.view
        gate = Gate(ctx.actor, today, view)
        pairs = [(r.staff_id, r.child_id) for r in checked]
        refused = _check_refs(gate, view, "records", pairs, [r.on for r in checked])
        issues += refused
        issues += _before_birth(view, checked, {i.path for i in refused})
        if issues:
            raise ValidationError(issues, subject="records")
        view.prefetch(kinds.RECORD, [r.id for r in checked])
        for r in checked:
            gate.check_record(r, view.record(r.id))
        since = signoff.record_windows(ctx, view)
        changes = ((r.id, _record_reaches(view, view.record(r.id), r, since)) for r in checked)
        signoff.guard(ctx, batch, kinds.RECORD, changes)
        batch.put_many(kinds.RECORD, ((r.id, documents.get(r.id, r)) for r in checked))
        raise_for_records(ctx, batch, gate, checked, needs)
        _commit(batch, outer)
    return checked
