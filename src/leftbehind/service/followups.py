"""Follow-ups (跟进事项) through the gate: needs raised, listed, closed, referred, escalated.

A need is raised for a child on a day — by a record (a home visit above all: ``add_records``
with ``needs``) or on its own (:func:`raise_needs`) — and becomes a
:class:`~leftbehind.domain.followups.FollowUp` owed by, in this order: the staff member named
with the need; the child's proxy parent (代管家长) holding an assignment on that day (the first
by key when there are several); the staff member who wrote the record; the actor raising it when
they are staff. Its due and escalation days come from the county's rules
(:func:`follow_up_rules`), as they are on the day it is raised.

Who sees a follow-up, closes it or refers it is judged on the handle's today: system and county
officers every one; a school head or a township officer those of the children their office
covers; a teacher or proxy parent the ones they owe, while they hold an assignment to the child
(a volunteer pairing is none); a volunteer none. One out of reach is reported as not found.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any

from leftbehind import digest as builders
from leftbehind import kinds, outbox
from leftbehind.access import ActorKind
from leftbehind.convert import structure, structure_trusted, unstructure
from leftbehind.domain.duties import Record
from leftbehind.domain.errors import Issue, ValidationError
from leftbehind.domain.followups import (
    Agency,
    FollowUp,
    FollowUpRules,
    FollowUpStatus,
    Need,
    check_follow_up,
    check_rules,
    follow_up,
    follow_up_id,
    need_kind_issues,
)
from leftbehind.domain.followups import close as close_domain
from leftbehind.domain.followups import refer as refer_domain
from leftbehind.domain.i18n import text, use
from leftbehind.domain.model import Child
from leftbehind.domain.people import Role
from leftbehind.errors import NotFoundError
from leftbehind.notifiers import Notice
from leftbehind.service.context import Context
from leftbehind.service.gate import Gate
from leftbehind.service.notices import HEAD_TITLES, class_label, head_of
from leftbehind.service.repository import SETTINGS_KEY, Batch, Snapshot

__all__ = [
    "SETTINGS",
    "close_follow_up",
    "counts",
    "digest_follow_ups",
    "escalation_notices",
    "follow_up_rules",
    "follow_ups",
    "for_week",
    "may_see_follow_up",
    "queue_escalations",
    "raise_for_records",
    "raise_needs",
    "refer",
    "set_follow_up_rules",
    "split_needs",
    "week_entries",
]

#: The key of the follow-up rules in the county's settings.
SETTINGS = "follow_ups"

_STAFF_KINDS = (ActorKind.TEACHER, ActorKind.PROXY_PARENT, ActorKind.SCHOOL_HEAD)


# ---------------------------------------------------------------------------------------------
# Settings.


def rules_of(snap: Snapshot) -> FollowUpRules:
    found = snap.settings().get(SETTINGS)
    return FollowUpRules.from_settings(found if isinstance(found, Mapping) else None)


def follow_up_rules(ctx: Context) -> FollowUpRules:
    snap, _ = ctx.begin()
    return rules_of(snap)


def set_follow_up_rules(
    ctx: Context,
    due_days: Mapping[str, int] | None,
    escalate_days: Mapping[str, int] | None,
) -> FollowUpRules:
    """Change the days of some kinds of need (by code); the others stay as they are. Checked
    as a whole; audited. Follow-ups raised before keep their days."""
    _, gate = ctx.begin()
    gate.require("settings.write", "change the follow-up rules")
    due, escalate = dict(due_days or {}), dict(escalate_days or {})
    if issues := check_rules(due, escalate):
        raise ValidationError(issues, subject="follow_up_rules")
    with ctx.repo.batch("set_follow_up_rules") as batch:
        settings = batch.view.settings()
        now = rules_of(batch.view).to_settings()
        now["due_days"].update(due)
        now["escalate_days"].update(escalate)
        batch.put(kinds.SETTINGS, SETTINGS_KEY, {**settings, SETTINGS: now})
        batch.commit()
        return rules_of(batch.view)


# ---------------------------------------------------------------------------------------------
# Reading and the gate.


def _load(snap: Snapshot, where: Mapping[str, str] | None = None) -> list[FollowUp]:
    found = snap.scan_documents(kinds.FOLLOW_UP, where)
    return [structure_trusted(doc, FollowUp) for _, doc in sorted(found)]


def _one(snap: Snapshot, key: str) -> FollowUp | None:
    doc = snap.documents(kinds.FOLLOW_UP, [key]).get(key)
    return None if doc is None else structure_trusted(doc, FollowUp)


def _school_on(child: Child | None, day: date) -> str | None:
    enrolment = child.enrolment_on(day) if child is not None else None
    return None if enrolment is None else enrolment.school_id


def may_see_follow_up(gate: Gate, snap: Snapshot, fu: FollowUp) -> bool:
    """Whether the actor may see (and so close or refer) ``fu`` today."""
    actor = gate.actor
    if actor.sees_county:
        return True
    if not gate.allows("follow_ups.read"):
        return False
    if actor.is_official:
        return fu.child_id in gate.visible()
    # the owner, while their standing shows the child's file (a volunteer pairing does not)
    return actor.id == fu.owner_id and fu.child_id in gate.files()


def follow_ups(
    ctx: Context,
    as_of: date | None,
    school: str | None,
    owner: str | None,
    status: FollowUpStatus | None,
    child: str | None,
) -> list[FollowUp]:
    """The follow-ups in the actor's reach raised on or before ``as_of`` (default today), as
    they stood that day (:meth:`~leftbehind.domain.followups.FollowUp.as_of`), by due day then
    key; narrowed to a school, an owner, a status as of the day or a child."""
    snap, gate = ctx.begin()
    gate.require("follow_ups.read", "read follow-ups")
    day = as_of or gate.today
    if school is not None and school not in snap.schools():
        raise NotFoundError(kinds.SCHOOL, school)
    where = {"child_id": child} if child is not None else None
    if owner is not None and child is None:
        where = {"owner_id": owner}
    out = []
    for fu in _load(snap, where):
        if fu.raised_on > day or not may_see_follow_up(gate, snap, fu):
            continue
        if (owner is not None and fu.owner_id != owner) or (
            school is not None and fu.school_id != school
        ):
            continue
        shown = fu.as_of(day)
        if status is not None and shown.status(day) is not status:
            continue
        out.append(shown)
    return sorted(out, key=lambda f: (f.due_on, f.id))


def one(ctx: Context, key: str, as_of: date | None) -> FollowUp:
    snap, gate = ctx.begin()
    gate.require("follow_ups.read", "read follow-ups", key)
    fu = _one(snap, key)
    if fu is None or not may_see_follow_up(gate, snap, fu):
        raise NotFoundError(kinds.FOLLOW_UP, key)
    return fu if as_of is None else fu.as_of(as_of)


def counts(found: Iterable[FollowUp], as_of: date) -> dict[str, dict[str, int]]:
    """Per school (the child's when raised), how many follow-ups are in each status as of
    ``as_of``: ``{"S01": {"due": 2, "overdue": 1, "escalated": 0, "closed": 4}}``."""
    out: dict[str, dict[str, int]] = {}
    for fu in found:
        state = fu.status(as_of)
        if state is None:
            continue
        row = out.setdefault(fu.school_id, {s.value: 0 for s in FollowUpStatus})
        row[state.value] += 1
    return dict(sorted(out.items()))


# ---------------------------------------------------------------------------------------------
# Raising needs.


def _parse(
    items: Iterable[Need | Mapping[str, Any] | str], path: str
) -> tuple[list[Need], list[Issue]]:
    needs: list[Need] = []
    issues: list[Issue] = []
    for i, item in enumerate(items):
        here = f"{path}[{i}]"
        if isinstance(item, Need):
            needs.append(item)
            continue
        data: object = {"kind": item} if isinstance(item, str) else item
        if not isinstance(data, Mapping):
            issues.append(Issue(here, "type", "a need is a kind or a mapping with a kind"))
            continue
        kind_issues = need_kind_issues(f"{here}.kind", data.get("kind"))
        if kind_issues:
            issues += kind_issues
            data = {**data, "kind": "safety"}  # read the rest all the same
        try:
            need = structure(dict(data), Need, path=here)
        except ValidationError as exc:
            issues.extend(exc.issues)
            continue
        if not kind_issues:
            needs.append(need)
    return needs, issues


def _owner(
    gate: Gate,
    view: Snapshot,
    child: Child,
    need: Need,
    on: date,
    author: str | None,
    path: str,
) -> tuple[str | None, list[Issue]]:
    """Who owes the follow-up of ``need`` (see the module's docs), or the issue why none."""
    if need.owner_id is not None:
        person = view.staff_member(need.owner_id)
        if person is None:
            return None, [Issue(f"{path}.owner_id", "unknown_staff", "no such staff member")]
        assigned = any(
            a.staff_id == need.owner_id and a.role is not Role.VOLUNTEER
            for a in view.assignments().on(child.id, on)
        )
        head = person.title in HEAD_TITLES and person.school_id == _school_on(child, on)
        if not assigned and not head:
            why = "not assigned to the child that day, nor the head of the child's school"
            return None, [Issue(f"{path}.owner_id", "owner_not_assigned", why)]
        return need.owner_id, []
    proxies = sorted(view.assignments().holders(child.id, Role.PROXY_PARENT, on))
    if proxies:
        return proxies[0], []
    if author:
        return author, []
    actor = gate.actor
    if actor.kind in _STAFF_KINDS and view.staff_member(actor.id) is not None:
        return actor.id, []
    why = "name who owes it: the child has no proxy parent"
    return None, [Issue(f"{path}.owner_id", "no_owner", why)]


def _raise(
    ctx: Context,
    batch: Batch,
    gate: Gate,
    child_id: str,
    needs: Sequence[Need],
    on: date,
    record: Record | None,
    path: str,
) -> tuple[list[FollowUp], list[Issue]]:
    view = batch.view
    child = view.child(child_id)
    if child is None:
        return [], [Issue(path, "unknown_child", "no such child")]
    rules = rules_of(view)
    made: list[FollowUp] = []
    issues: list[Issue] = []
    for i, need in enumerate(needs):
        here = f"{path}[{i}]"
        owner, why = _owner(gate, view, child, need, on, record.staff_id if record else None, here)
        issues += why
        if owner is None:
            continue
        fu = follow_up(
            follow_up_id(child_id, on, need, record.id if record else None),
            child_id,
            need,
            on,
            owner_id=owner,
            raised_by=gate.actor.id,
            rules=rules,
            record_id=record.id if record else None,
            school_id=_school_on(child, on) or "",
        )
        issues += [
            Issue(f"{here}.{i.path}", i.code, i.message)
            for i in check_follow_up(fu, today=gate.today)
        ]
        made.append(fu)
    return made, issues


def _store(batch: Batch, made: Sequence[FollowUp]) -> list[FollowUp]:
    """Write the new follow-ups; one raised already (the same need, the same way) is kept as
    stored, with its closure and referrals."""
    stored = batch.view.documents(kinds.FOLLOW_UP, [f.id for f in made])
    new = [f for f in made if f.id not in stored]
    batch.put_many(kinds.FOLLOW_UP, ((f.id, unstructure(f)) for f in new))
    return [f if f.id not in stored else structure_trusted(stored[f.id], FollowUp) for f in made]


def raise_needs(
    ctx: Context,
    child_id: str,
    needs: Iterable[Need | Mapping[str, Any] | str],
    on: date | None,
    record_id: str | None,
) -> list[FollowUp]:
    """Raise ``needs`` for a child on ``on`` (default: the record's day, else today), of the
    record ``record_id`` when given (it must be the child's)."""
    today = ctx.today()
    _, gate = ctx.begin()
    gate.require("follow_ups.write", "raise needs")
    parsed, issues = _parse(needs, "needs")
    if not parsed and not issues:
        issues.append(Issue("needs", "required", "name at least one need"))
    with ctx.repo.batch("raise_needs") as batch:
        view = batch.view
        gate = Gate(ctx.actor, today, view)
        record = view.record(record_id) if record_id is not None else None
        if record_id is not None and (record is None or record.child_id != child_id):
            issues.append(Issue("record_id", "unknown_record", "no such record of this child"))
        day = on or (record.on if record is not None else today)
        if not gate.may_reach_child(child_id, day):
            raise NotFoundError(kinds.CHILD, child_id)
        made, more = _raise(ctx, batch, gate, child_id, parsed, day, record, "needs")
        if issues or more:
            raise ValidationError([*issues, *more], subject="needs")
        kept = _store(batch, made)
        batch.commit()
    return kept


def split_needs(
    records: Iterable[Record | Mapping[str, Any]],
) -> tuple[list[Record | Mapping[str, Any]], dict[int, Any]]:
    """The records without their ``needs`` (a mapping's key), and the needs by the record's
    place: what ``add_records`` takes apart before it checks the records."""
    out: list[Record | Mapping[str, Any]] = []
    needs: dict[int, Any] = {}
    for i, item in enumerate(records):
        if isinstance(item, Mapping) and "needs" in item:
            needs[i] = item["needs"]
            item = {k: v for k, v in item.items() if k != "needs"}
        out.append(item)
    return out, needs


def raise_for_records(
    ctx: Context, batch: Batch, gate: Gate, records: Sequence[Record], needs: Mapping[int, Any]
) -> list[FollowUp]:
    """Raise the needs the records carried, in the records' unit of work: each owed as
    :func:`raise_needs` says, raised on the record's day (paths ``records[i].needs[j]``)."""
    if not needs:
        return []
    made: list[FollowUp] = []
    issues: list[Issue] = []
    for i, found in sorted(needs.items()):
        record = records[i]
        path = f"records[{i}].needs"
        if isinstance(found, str | Mapping) or not isinstance(found, Iterable):
            issues.append(Issue(path, "type", "needs are a list"))
            continue
        parsed, bad = _parse(found, path)
        more, worse = _raise(ctx, batch, gate, record.child_id, parsed, record.on, record, path)
        made += more
        issues += bad + worse
    if issues:
        raise ValidationError(issues, subject="records")
    return _store(batch, made)


# ---------------------------------------------------------------------------------------------
# Closing and referring.


def _change(ctx: Context, key: str, command: str, what: str, change: Any) -> FollowUp:
    _, gate = ctx.begin()
    gate.require("follow_ups.write", what, key)
    with ctx.repo.batch(command) as batch:
        view = batch.view
        gate = Gate(ctx.actor, gate.today, view)
        fu = _one(view, key)
        if fu is None or not may_see_follow_up(gate, view, fu):
            raise NotFoundError(kinds.FOLLOW_UP, key)
        changed: FollowUp = change(fu, gate.today)
        batch.put(kinds.FOLLOW_UP, key, unstructure(changed))
        batch.commit()
    return changed


def close_follow_up(ctx: Context, key: str, on: date | None, action: str) -> FollowUp:
    by = ctx.actor.id
    return _change(
        ctx,
        key,
        "close_follow_up",
        "close follow-ups",
        lambda fu, today: close_domain(fu, on=on or today, action=action, by=by, today=today),
    )


def refer(ctx: Context, key: str, agency: Agency | str, on: date | None, note: str) -> FollowUp:
    try:
        chosen = Agency(agency)
    except ValueError:
        codes = ", ".join(a.value for a in Agency)
        issue = Issue("agency", "unknown_agency", f"an agency is one of {codes}")
        raise ValidationError([issue], subject="follow_up") from None
    by = ctx.actor.id
    return _change(
        ctx,
        key,
        "refer_follow_up",
        "refer follow-ups",
        lambda fu, today: refer_domain(
            fu, agency=chosen, on=on or today, by=by, today=today, note=note
        ),
    )


# ---------------------------------------------------------------------------------------------
# Digests and notices.


def digest_follow_ups(snap: Snapshot, staff_id: str, day: date) -> tuple[FollowUp, ...]:
    """The follow-ups ``staff_id`` owes that are open as of ``day``, by due day."""
    found = [f.as_of(day) for f in _load(snap, {"owner_id": staff_id}) if f.raised_on <= day]
    return tuple(
        sorted(
            (f for f in found if (s := f.status(day)) is not None and s.open),
            key=lambda f: (f.due_on, f.id),
        )
    )


def week_entries(
    snap: Snapshot, day: date, children: Mapping[str, Child]
) -> list[tuple[str, list[builders.DutyItem]]]:
    """Each owner's open follow-ups as digest lines (in the language of the moment): the
    follow-up's key under its due day, never the need or its text."""
    by_owner: dict[str, list[builders.DutyItem]] = {}
    for fu in _load(snap):
        state = fu.as_of(day).status(day)
        if state is None or not state.open:
            continue
        child = children.get(fu.child_id)
        label = class_label(child, day) if child is not None else ""
        item = builders.DutyItem(fu.child_id, text("follow-up {key}", key=fu.id), fu.due_on, label)
        by_owner.setdefault(fu.owner_id, []).append(item)
    return sorted(by_owner.items())


def escalation_notices(snap: Snapshot, day: date) -> list[Notice]:
    """A notice to the school head of each follow-up escalated as of ``day`` (one per
    follow-up: the key holds no date), in the language of the moment."""
    staff = snap.staff()
    schools = snap.schools()
    children = snap.children()
    made: list[Notice] = []
    for fu in _load(snap):
        if fu.as_of(day).status(day) is not FollowUpStatus.ESCALATED:
            continue
        child = children.get(fu.child_id)
        school = _school_on(child, day) or fu.school_id
        head = head_of(school, staff) if school in schools else None
        if head is None:
            continue
        made.append(
            builders.follow_up_escalation(
                fu.id,
                child=fu.child_id,
                owner=fu.owner_id,
                head=head,
                due=fu.due_on,
                raised=fu.raised_on,
                school_label=schools[school].name,
                class_label=class_label(child, day) if child is not None else "",
            )
        )
    return made


def for_week(
    snap: Snapshot, day: date, children: Mapping[str, Child]
) -> tuple[list[tuple[str, list[builders.DutyItem]]], list[Notice]]:
    """What the follow-ups add to the week's notices as of ``day``: each owner's digest lines
    and the escalation notices (for :func:`leftbehind.service.notices.queue_week`)."""
    return week_entries(snap, day, children), escalation_notices(snap, day)


def queue_escalations(ctx: Context, as_of: date | None) -> int:
    """Queue the escalation notices as of ``as_of`` (default today); returns how many were
    new (a follow-up's notice is queued once, however often this runs)."""
    snap, gate = ctx.begin()
    gate.require("notices.manage", "queue notices")
    day = as_of or gate.today
    with use(ctx.language(snap)):
        made = escalation_notices(snap, day)
    with ctx.repo.store.unit_of_work() as uow:
        n = outbox.enqueue_many(uow, made)
        uow.commit()
    return n
