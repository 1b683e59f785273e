"""Queries about children, people and duties, each through the gate.

A child out of the actor's reach is reported exactly like a missing one
(:class:`~leftbehind.errors.NotFoundError`); the fields the actor's standing does not allow are
masked. ``as_of`` chooses which facts are shown, never who may see them.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from datetime import date
from typing import Any

import attrs

from leftbehind import kinds
from leftbehind.access import Family, Field, files_visible, mask_child, may_see
from leftbehind.domain.dates import Interval
from leftbehind.domain.duties import Compliance, Digest, Record
from leftbehind.domain.eligibility import Decision, Timeline
from leftbehind.domain.errors import Issue, ValidationError
from leftbehind.domain.ids import check_resident_id, normalize_digits
from leftbehind.domain.model import Child, School
from leftbehind.domain.people import Assignments, Role, StudyGroup, coverage
from leftbehind.errors import NotFoundError
from leftbehind.service import ledgers
from leftbehind.service.context import Context
from leftbehind.service.followups import digest_follow_ups, may_see_follow_up
from leftbehind.service.gate import Gate, default_period
from leftbehind.service.repository import Snapshot

__all__ = [
    "UNMASKABLE",
    "child",
    "children",
    "compliance",
    "digest",
    "families",
    "family",
    "find",
    "unmask",
]

#: The fields :func:`unmask` shows in clear, and the protected field each belongs to.
UNMASKABLE = {
    "resident_id": Field.RESIDENT_ID,
    "health": Field.HEALTH,
    "health_note": Field.HEALTH,
    "father.phone": Field.PHONES,
    "mother.phone": Field.PHONES,
    "guardian.phone": Field.PHONES,
}


def schools(ctx: Context) -> dict[str, School]:
    """Schools are public: every actor sees the list."""
    snap, _ = ctx.begin()
    return dict(snap.schools())


def school(ctx: Context, school_id: str) -> School:
    found = schools(ctx).get(school_id)
    if found is None:
        raise NotFoundError(kinds.SCHOOL, school_id)
    return found


def child(ctx: Context, child_id: str, masked: bool) -> Child:
    _, gate = ctx.begin()
    found, standing = gate.file(child_id)
    return mask_child(found, frozenset() if masked else standing)


def children(ctx: Context, masked: bool) -> Iterator[Child]:
    _, gate = ctx.begin()
    gate.require("files.read", "list children's files")
    for found, standing in gate.files().values():
        yield mask_child(found, frozenset() if masked else standing)


def _name_key(name: str) -> str:
    """A name as compared by :func:`find`: NFKC, without spaces (``王 芳`` finds ``王芳``)."""
    return "".join(unicodedata.normalize("NFKC", name).split())


def _find_issues(name: str | None, resident_id: str | None) -> list[Issue]:
    """What is wrong with a lookup's terms, each named by its field, never by its value."""
    issues: list[Issue] = []
    if name is None and resident_id is None:
        issues.append(Issue("", "find_nothing", "give a name, a resident ID, or both"))
    if name is not None and not _name_key(name):
        issues.append(Issue("name", "empty", "the name is empty"))
    if resident_id is not None:
        code = check_resident_id(normalize_digits(resident_id))
        if code is not None:
            issues.append(Issue("resident_id", code, "not a well-formed resident ID number"))
    return issues


def find(ctx: Context, name: str | None, resident_id: str | None) -> list[Child]:
    """The children whose file the actor may read with that name (spaces and full-width forms
    aside) and/or that resident ID, by child id, masked by the actor's standing as in
    :func:`child`. Every lookup is audited (``find``, or ``find_denied`` for malformed terms
    or an actor who may read no file) with the terms it was given and how many children it
    found, never their values."""
    by = [f for f, v in (("name", name), ("resident_id", resident_id)) if v is not None]
    issues = _find_issues(name, resident_id)
    if issues:
        ctx.repo.audit_now("find_denied", kinds.CHILD, "", {"by": by})
        raise ValidationError(issues, subject="find")
    _, gate = ctx.begin()
    if not gate.allows("files.read"):
        ctx.repo.audit_now("find_denied", kinds.CHILD, "", {"by": by})
        raise gate.deny("look children up")
    wanted_name = _name_key(name) if name is not None else None
    wanted_id = normalize_digits(resident_id).upper() if resident_id is not None else None
    found = []
    files = gate.files()
    for child, standing in (files[k] for k in sorted(files)):
        if wanted_name is not None and _name_key(child.name) != wanted_name:
            continue
        if wanted_id is not None and child.resident_id.upper() != wanted_id:
            continue
        found.append(mask_child(child, standing))
    ctx.repo.audit_now("find", kinds.CHILD, "", {"by": by, "found": len(found)})
    return found


def _family(snap: Snapshot, today: date, found: Child) -> Family:
    staff = snap.staff()
    pairings = sorted(
        (a.role.label, staff[a.staff_id].name if a.staff_id in staff else "")
        for a in snap.assignments().on(found.id, today)
    )
    g = found.guardian
    return Family(
        found.id,
        found.name,
        found.father.name if found.father else "",
        found.mother.name if found.mother else "",
        g.name if g else "",
        g.relation if g else "",
        tuple(pairings),
    )


def family(ctx: Context, child_id: str) -> Family:
    snap, gate = ctx.begin()
    found, _ = gate.one(child_id)
    return _family(snap, gate.today, found)


def families(ctx: Context) -> list[Family]:
    snap, gate = ctx.begin()
    visible = gate.visible()
    return [_family(snap, gate.today, visible[k][0]) for k in sorted(visible)]


def unmask(ctx: Context, child_id: str, field: str, reason: str) -> str:
    """The clear value of one masked field; every attempt is audited, refusals included (an
    attempt on a child out of reach is recorded as ``unmask_denied`` and reported as not
    found)."""
    shown = NotFoundError(kinds.CHILD, child_id).key
    if field not in UNMASKABLE or not reason.strip():
        _audit_unmask(ctx, "unmask_denied", shown, field if field in UNMASKABLE else "?", reason)
        if field not in UNMASKABLE:
            msg = f"unmask takes one of {', '.join(sorted(UNMASKABLE))}"
            raise ValueError(msg)
        msg = "unmask needs a reason"
        raise ValueError(msg)
    _, gate = ctx.begin()
    try:
        found, standing = gate.one(child_id)
    except NotFoundError:
        _audit_unmask(ctx, "unmask_denied", shown, field, reason)
        raise
    allowed = (
        gate.allows("files.read")
        and files_visible(standing)
        and may_see(UNMASKABLE[field], standing)
    )
    _audit_unmask(ctx, "unmask" if allowed else "unmask_denied", shown, field, reason)
    if not allowed:
        raise gate.deny(f"unmask {field} of", child_id)
    if field == "health":
        return found.health.value if found.health is not None else ""
    if field in ("resident_id", "health_note"):
        return str(getattr(found, field))
    holder = getattr(found, field.partition(".")[0])
    return str(holder.phone) if holder is not None else ""


def _audit_unmask(ctx: Context, op: str, key: str, field: str, reason: str) -> None:
    ctx.repo.audit_now(op, kinds.CHILD, key, {"field": field}, reason)


def timeline(ctx: Context, child_id: str, national: bool) -> Timeline:
    snap, gate = ctx.begin()
    gate.file(child_id)
    found = snap.timeline(child_id, national=national)
    if found is None:
        raise NotFoundError(kinds.NATIONAL if national else kinds.TIMELINE, child_id)
    return found


def timelines(ctx: Context, national: bool) -> dict[str, Timeline]:
    snap, gate = ctx.begin()
    gate.require("files.read", "read timelines")
    files = gate.files()
    return {k: t for k, t in snap.timelines(national=national).items() if k in files}


def decision(ctx: Context, child_id: str, as_of: date | None) -> Decision:
    """The decision as of a day, from the facts known on that day (SPEC §9)."""
    snap, gate = ctx.begin()
    found, _ = gate.file(child_id)
    day = as_of or gate.today
    stored = snap.timeline(child_id)
    if stored is None:
        raise NotFoundError(kinds.TIMELINE, child_id)
    then = ledgers.known(ctx, snap, [found], day, {child_id: stored}).timelines[child_id]
    return then.decision(day)


def groups(ctx: Context) -> dict[str, StudyGroup]:
    """The study groups, each with only the children whose file the actor may read (groups
    with none left out, unless the group is of a school the actor's office covers)."""
    snap, gate = ctx.begin()
    found = snap.groups()
    if gate.actor.sees_county:
        return dict(found)
    files = gate.files()
    out = {}
    for key, g in found.items():
        kept = tuple(c for c in g.child_ids if c in files)
        if kept or gate.school_in_scope(g.school_id):
            out[key] = attrs.evolve(g, child_ids=kept)
    return out


def assignments(ctx: Context) -> Assignments:
    snap, gate = ctx.begin()
    everything = snap.assignments()
    if gate.actor.sees_county:
        return everything
    files = gate.files()
    return Assignments(a for a in everything.all if a.child_id in files)


def coverage_gaps(ctx: Context, as_of: date | None) -> dict[str, frozenset[Role]]:
    snap, gate = ctx.begin()
    gate.require("files.read", "read coverage")
    day = as_of or gate.today
    files = gate.files()
    stored = snap.timelines()
    children = [c for c, _ in files.values()]
    timelines = ledgers.known(ctx, snap, children, day, stored).timelines
    served = [k for k in files if k in timelines and timelines[k].categories_on(day)]
    return dict(coverage(served, snap.assignments(), day))


def records(ctx: Context, child_id: str | None) -> Iterator[Record]:
    snap, gate = ctx.begin()
    gate.require("files.read", "read records")
    if child_id is not None:
        gate.file(child_id)
        yield from snap.records(child_id=child_id)
        return
    files = None if gate.actor.sees_county else gate.files()
    for record in snap.records():
        if files is None or record.child_id in files:
            yield record


def compliance(ctx: Context, as_of: date | None, period: Interval | None) -> Compliance:
    day = as_of or ctx.today()
    span = period or default_period(day)
    return ledgers.compliance(ctx, span, day)


def digest(ctx: Context, staff_id: str, week_of: date | None, as_of: date | None) -> Digest:
    """What ``staff_id`` owes this week and what is overdue, over the children whose file the
    actor may read (a teacher's own digest: the children they hold an assignment to today)."""
    snap, gate = ctx.begin()
    gate.require("digest.read", "read the digest of", staff_id)
    gate.require_staff(staff_id, "read the digest of")
    day = as_of or gate.today
    week = week_of or day
    # a digest speaks only of the children the person is assigned to (or guides), so the book
    # is of those, as far as the actor may see them
    theirs = snap.own_assignments(staff_id).children()
    visible = _digest_children(gate)
    if visible is not None:
        theirs = [cid for cid in theirs if cid in visible]
    found = ledgers.book(ctx, snap, default_period(day), set(theirs), as_of=day)
    owed = digest_follow_ups(snap, staff_id, day)  # as far as the actor may see them
    owed = tuple(f for f in owed if may_see_follow_up(gate, snap, f))
    return attrs.evolve(found.digest(staff_id, week, day), follow_ups=owed)


def _digest_children(gate: Gate) -> Any:
    if gate.actor.sees_county:
        return None
    if gate.allows("files.read"):
        return gate.files()
    return gate.visible()
