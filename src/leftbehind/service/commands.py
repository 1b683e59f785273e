"""Commands: each validated as a whole, checked by the gate, then written in one unit of work.

Every command validates all it was given first (one
:class:`~leftbehind.errors.ValidationError` lists every problem), asks the gate about the new
documents *and* the stored ones they replace, and writes everything, with its audit entries, in
one unit of work, or nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

import attrs

from leftbehind import kinds, outbox
from leftbehind.convert import unstructure
from leftbehind.domain.calendar import Semester
from leftbehind.domain.duties import Record, check_record
from leftbehind.domain.eligibility import Policy, Timeline
from leftbehind.domain.errors import Issue, ValidationError
from leftbehind.domain.ids import shown_key
from leftbehind.domain.model import Child, School
from leftbehind.domain.people import Assignment, Staff, StudyGroup
from leftbehind.errors import NotFoundError, UnknownNameError
from leftbehind.service import notices
from leftbehind.service.context import Context, validate
from leftbehind.service.gate import Gate
from leftbehind.service.repository import SETTINGS_KEY, Batch, Snapshot, resident_id_key

__all__ = [
    "add_records",
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
    ctx: Context, batch: Batch, child: Child, schools: Mapping[str, School], policy: Policy
) -> Timeline:
    """Recompute and store the child's timelines (the county's policy and the national rule)."""
    timeline = policy.timeline(child, schools)
    batch.put_quiet(kinds.TIMELINE, child.id, timeline)
    batch.put_quiet(kinds.NATIONAL, child.id, ctx.national.timeline(child, schools))
    return timeline


def _put_settings(batch: Batch, changes: Mapping[str, Any]) -> None:
    batch.put(kinds.SETTINGS, SETTINGS_KEY, {**batch.view.settings(), **changes})


# ---------------------------------------------------------------------------------------------
# Settings.


def set_policy(ctx: Context, name: str) -> int:
    """Adopt the policy ``name`` and recompute every timeline; returns how many."""
    _, gate = ctx.begin()
    gate.require("settings.write", "change the policy")
    policy = ctx.plugins.policy(name)
    with ctx.repo.batch() as batch:
        schools = batch.view.schools()
        children = batch.view.children()
        _put_settings(batch, {"policy": policy.name})
        for child in children.values():
            write_timelines(ctx, batch, child, schools, policy)
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
    with ctx.repo.batch() as batch:
        _put_settings(batch, {"calendar": calendar})
        batch.commit()


def set_channels(ctx: Context, channels: Mapping[str, Mapping[str, str]]) -> None:
    """Configure the notification channels (every notifier type is checked first)."""
    _, gate = ctx.begin()
    gate.require("notices.manage", "configure channels")
    outbox.build_notifiers(ctx.plugins, channels)
    with ctx.repo.batch() as batch:
        _put_settings(batch, {"channels": {k: dict(v) for k, v in channels.items()}})
        batch.commit()


# ---------------------------------------------------------------------------------------------
# Schools and children.


def put_schools(ctx: Context, schools: Iterable[School | Mapping[str, Any]]) -> list[School]:
    _, gate = ctx.begin()
    gate.require("schools.write", "change schools")
    checked = validate(schools, School, "schools")
    with ctx.repo.batch() as batch:
        for s in checked:
            batch.put(kinds.SCHOOL, s.id, s)
        batch.commit()
    return checked


def _index_resident_ids(batch: Batch) -> None:
    """Build the resident-ID index of a store written before it existed (once)."""
    if batch.view.settings().get(_INDEXED):
        return
    for key, child in batch.view.children().items():
        if child.resident_id:
            batch.put_quiet(kinds.RESIDENT_ID, resident_id_key(child.resident_id), {"child": key})
    _put_settings(batch, {_INDEXED: 1})


def _duplicate_ids(view: Snapshot, checked: list[Child]) -> list[Issue]:
    """A resident ID belongs to one child only, in the batch and in the store (by the index,
    read inside the unit of work, so two imports at once cannot both store one ID)."""
    issues: list[Issue] = []
    owner: dict[str, str] = {}
    for i, child in enumerate(checked):
        rid = child.resident_id.upper()
        if not rid:
            continue
        holder = owner.get(rid) or view.resident_id_owner(rid)
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


def put_children(ctx: Context, children: Iterable[Child | Mapping[str, Any]]) -> list[Child]:
    today = ctx.today()
    _, gate = ctx.begin()
    gate.require("children.write", "write children's files")
    checked = validate(children, Child, "children", today=today)
    with ctx.repo.batch() as batch:
        view = batch.view
        gate = Gate(ctx.actor, today, view)
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
        policy = ctx.policy(view)
        flips: list[tuple[Child, str]] = []
        for child in checked:
            old = stored[child.id]
            before = view.timeline(child.id)
            was = before is not None and bool(before.categories_on(today))
            if old is not None and old.resident_id and old.resident_id != child.resident_id:
                batch.delete(kinds.RESIDENT_ID, resident_id_key(old.resident_id))
            if child.resident_id:
                key = resident_id_key(child.resident_id)
                batch.put_quiet(kinds.RESIDENT_ID, key, {"child": child.id})
            batch.put(kinds.CHILD, child.id, child)
            now = write_timelines(ctx, batch, child, schools, policy)
            if bool(now.categories_on(today)) != was:
                flips.append((child, "left" if was else "served"))
        for child, what in flips:
            notices.queue_status(batch, view, child, what, today)
        batch.commit()
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
    for i, (staff_id, child_id) in enumerate(pairs):
        if staff_id not in staff:
            issues.append(Issue(f"{name}[{i}]", "unknown_staff", "no such staff member"))
        day = day_list[i] if day_list is not None else None
        if not gate.may_reach_child(child_id, day):
            issues.append(Issue(f"{name}[{i}]", "unknown_child", "no such child"))
    return issues


def put_staff(ctx: Context, staff: Iterable[Staff | Mapping[str, Any]]) -> list[Staff]:
    _, gate = ctx.begin()
    gate.require("staff.write", "write staff")
    checked = validate(staff, Staff, "staff")
    with ctx.repo.batch() as batch:
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
        for person in checked:
            gate.check_staff(person, view.staff_member(person.id))
        for person in checked:
            batch.put(kinds.STAFF, person.id, person)
        batch.commit()
    return checked


def put_assignments(
    ctx: Context, assignments: Iterable[Assignment | Mapping[str, Any]]
) -> list[Assignment]:
    _, gate = ctx.begin()
    gate.require("assignments.write", "assign staff")
    checked = validate(assignments, Assignment, "assignments")
    with ctx.repo.batch() as batch:
        view = batch.view
        gate = Gate(ctx.actor, gate.today, view)
        issues = _check_refs(gate, view, "assignments", [(a.staff_id, a.child_id) for a in checked])
        if issues:
            raise ValidationError(issues, subject="assignments")
        for a in checked:
            gate.check_assignment(a.id, a.staff_id, a.child_id)
            gate.check_stored_assignment(view.assignment(a.id))
        for a in checked:
            batch.put(kinds.ASSIGNMENT, a.id, a)
        batch.commit()
    return checked


def end_assignment(ctx: Context, assignment_id: str, on: date) -> Assignment:
    _, gate = ctx.begin()
    gate.require("assignments.write", "assign staff")
    with ctx.repo.batch() as batch:
        gate = Gate(ctx.actor, gate.today, batch.view)
        current = batch.view.assignment(assignment_id)
        if current is None:
            raise NotFoundError(kinds.ASSIGNMENT, assignment_id)
        gate.check_stored_assignment(current)
        if on < current.start:
            issue = Issue("end", "assignment_order", "an assignment cannot end before it starts")
            raise ValidationError([issue], subject="assignment")
        ended = attrs.evolve(current, end=on)
        batch.put(kinds.ASSIGNMENT, ended.id, ended)
        batch.commit()
    return ended


def put_groups(ctx: Context, groups: Iterable[StudyGroup | Mapping[str, Any]]) -> list[StudyGroup]:
    _, gate = ctx.begin()
    gate.require("groups.write", "write study groups")
    checked = validate(groups, StudyGroup, "groups")
    with ctx.repo.batch() as batch:
        view = batch.view
        gate = Gate(ctx.actor, gate.today, view)
        pairs = [(g.guide_staff_id, cid) for g in checked for cid in g.child_ids]
        issues = _check_refs(gate, view, "groups", pairs)
        if issues:
            raise ValidationError(issues, subject="groups")
        for g in checked:
            gate.check_group(g, view.group(g.id))
        for g in checked:
            batch.put(kinds.GROUP, g.id, g)
        batch.commit()
    return checked


# ---------------------------------------------------------------------------------------------
# Records.


def add_records(ctx: Context, records: Iterable[Record | Mapping[str, Any]]) -> list[Record]:
    today = ctx.today()
    _, gate = ctx.begin()
    gate.require("records.write", "add records")
    checked = validate(records, Record, "records", today=today)
    duty_kinds = ctx.duty_kinds()
    issues: list[Issue] = []
    for i, record in enumerate(checked):
        for issue in check_record(record, today=today, kinds=duty_kinds):
            issues.append(Issue(f"records[{i}].{issue.path}", issue.code, issue.message))
    with ctx.repo.batch() as batch:
        view = batch.view
        gate = Gate(ctx.actor, today, view)
        pairs = [(r.staff_id, r.child_id) for r in checked]
        issues += _check_refs(gate, view, "records", pairs, [r.on for r in checked])
        if issues:
            raise ValidationError(issues, subject="records")
        for r in checked:
            gate.check_record(r, view.record(r.id))
        for r in checked:
            batch.put(kinds.RECORD, r.id, r)
        batch.commit()
    return checked
