"""Notices (通知): what is queued in the outbox and how it is delivered.

Notices are written in the same unit of work as the change that causes them (a child becoming
served or leaving), or by the queueing commands of system and county officers. They name
children by key and class only, never by a personal value. They are written in the county's
language (``Context.language``: the handle's, ``$LEFTBEHIND_LANG``, the county's setting,
else Simplified Chinese) when they are queued, and sent as written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

import attrs

from leftbehind import digest as builders
from leftbehind import outbox
from leftbehind.domain.i18n import text, use
from leftbehind.domain.model import Child
from leftbehind.domain.people import Role, Staff
from leftbehind.domain.phases import ledger_deadline
from leftbehind.domain.profile import profile_completeness
from leftbehind.notifiers import Notice
from leftbehind.service import ledgers
from leftbehind.service.context import Context
from leftbehind.service.gate import default_period
from leftbehind.service.repository import Batch, Snapshot

__all__ = [
    "HEAD_TITLES",
    "channel_types",
    "deliver",
    "notices",
    "queue_incomplete_files",
    "queue_status_changes",
    "queue_statuses",
    "queue_week",
]

#: Titles that make a staff member the head of their school (校长), who gets its summaries
#: (as a county writes them, in Simplified or Traditional Chinese).
HEAD_TITLES = frozenset({"校长", "副校长", "校長", "副校長"})
_DEFAULT_CHANNELS = {outbox.DEFAULT_CHANNEL: {"type": "log"}}


def head_of(school_id: str, staff: Mapping[str, Staff]) -> str | None:
    heads = sorted(
        s.id for s in staff.values() if s.school_id == school_id and s.title in HEAD_TITLES
    )
    return heads[0] if heads else None


def class_label(child: Child, d: date) -> str:
    """The child's class on ``d`` in the language of the moment (``三年级2班``, the class's
    name as the school wrote it after the grade); empty when not enrolled."""
    enrolment = child.enrolment_on(d)
    if enrolment is None:
        return ""
    return text(
        "grade {grade} {class_name}", grade=enrolment.grade_on(d), class_name=enrolment.class_name
    )


def queue_statuses(
    batch: Batch,
    snap: Snapshot,
    changes: Iterable[tuple[Child, str, date]],
    *,
    language: str | None = None,
) -> int:
    """Queue the notices of each ``(child, "served" or "left", day)`` in ``batch``, at once,
    written in ``language`` (``None``: the language of the moment)."""
    with use(language):
        made = [n for child, what, on in changes for n in _status_notices(snap, child, what, on)]
    return outbox.enqueue_many(batch.uow, made)


def _status_notices(snap: Snapshot, child: Child, what: str, on: date) -> list[Notice]:
    staff = snap.staff()
    day = on if what == "served" else on - timedelta(days=1)
    recipients = {
        a.staff_id
        for a in snap.assignments().on(child.id, day)
        if a.role in (Role.CLASS_TEACHER, Role.PROXY_PARENT)
    }
    enrolment = child.enrolment_on(day) or (child.enrolments[-1] if child.enrolments else None)
    school = snap.schools().get(enrolment.school_id) if enrolment else None
    if school is not None and (head := head_of(school.id, staff)) is not None:
        recipients.add(head)
    if not recipients:
        return []
    return builders.status_notices(
        child.id,
        change="served" if what == "served" else "left",
        on=on,
        recipients=sorted(recipients),
        class_label=class_label(child, day),
        school_label=school.name if school else "",
    )


def _enqueue(ctx: Context, made: Iterable[Notice]) -> int:
    with ctx.repo.store.unit_of_work() as uow:
        n = outbox.enqueue_many(uow, made)
        uow.commit()
    return n


def _item(
    occurrence: Any, labels: Mapping[str, str], children: Mapping[str, Child], d: date
) -> builders.DutyItem:
    child = children.get(occurrence.child_id)
    by = (occurrence.window.end or d) - timedelta(days=1)
    label = class_label(child, d) if child else ""
    return builders.DutyItem(
        occurrence.child_id, labels.get(occurrence.kind, occurrence.kind), by, label
    )


#: What the follow-ups add to a week: each owner's digest lines and the escalation notices
#: (:func:`leftbehind.service.followups.for_week`, passed in: it builds on this module).
WeekExtra = Callable[
    [Snapshot, date, Mapping[str, Child]],
    tuple[list[tuple[str, list[builders.DutyItem]]], list[Notice]],
]


def queue_week(
    ctx: Context, week_of: date | None, as_of: date | None, follow_ups: WeekExtra | None = None
) -> int:
    snap, gate = ctx.begin()
    gate.require("notices.manage", "queue notices")
    day = as_of or gate.today
    week = week_of or day
    book = ledgers.book(ctx, snap, default_period(day), None, as_of=day)
    staff = snap.staff()
    children = snap.children()
    entries: list[tuple[str, list[builders.DutyItem]]] = []
    overdue: dict[str, list[tuple[str, list[builders.DutyItem]]]] = {}
    with use(ctx.language(snap)):
        labels = {k.code: k.label for k in ctx.duty_kinds()}
        for staff_id, person in sorted(staff.items()):
            d = book.digest(staff_id, week, day)
            due = [_item(o, labels, children, day) for o in d.due]
            late = [_item(o, labels, children, day) for o in d.overdue]
            entries.append((staff_id, due))
            if late:
                overdue.setdefault(person.school_id, []).append((staff_id, late))
        more: list[Notice] = []
        if follow_ups is not None:  # open follow-ups in the digests, escalations to heads
            owed, more = follow_ups(snap, day, children)
            entries += owed
        made = builders.weekly_digests(entries, week_of=week) + more
        schools = snap.schools()
        for school_id, owners in sorted(overdue.items()):
            made += builders.overdue_notices(
                owners,
                school=school_id,
                school_label=schools[school_id].name,
                head=head_of(school_id, staff),
                as_of=day,
            )
    return _enqueue(ctx, made)


def queue_incomplete_files(ctx: Context, year: int | None) -> int:
    snap, gate = ctx.begin()
    gate.require("notices.manage", "queue notices")
    deadline = ledger_deadline(year or gate.today.year)
    assignments = snap.assignments()
    timelines = snap.timelines()
    gaps: dict[str, list[builders.FileGap]] = {}
    with use(ctx.language(snap)):
        for child in snap.children().values():
            timeline = timelines.get(child.id)
            if timeline is None or not timeline.categories_on(deadline):
                continue
            missing = profile_completeness(child, deadline).incomplete
            teachers = assignments.holders(child.id, Role.CLASS_TEACHER, deadline)
            if missing and teachers:
                gap = builders.FileGap(
                    child.id, tuple(a.label for a in missing), class_label(child, deadline)
                )
                for teacher in teachers:
                    gaps.setdefault(teacher, []).append(gap)
        made = builders.incomplete_file_notices(sorted(gaps.items()), deadline=deadline)
    return _enqueue(ctx, made)


def queue_status_changes(ctx: Context, since: date, until: date | None) -> int:
    snap, gate = ctx.begin()
    gate.require("notices.manage", "queue notices")
    end = (until or gate.today) + timedelta(days=1)
    changed: list[tuple[Child, str, date]] = []
    children = snap.children()
    for child_id, timeline in snap.timelines().items():
        for change in timeline.changes(since, end):
            before = timeline.categories_on(change.on - timedelta(days=1))
            after = timeline.categories_on(change.on)
            if bool(before) != bool(after):
                changed.append((children[child_id], "served" if after else "left", change.on))
    with ctx.repo.batch("queue_status_changes") as batch:
        n = queue_statuses(batch, snap, changed, language=ctx.language(snap))
        batch.commit()
    return n


def notices(ctx: Context) -> dict[str, list[outbox.OutboxEntry]]:
    _, gate = ctx.begin()
    gate.require("notices.manage", "read the outbox")
    store = ctx.repo.store
    return {
        "pending": outbox.pending(store),
        "sent": outbox.sent(store),
        "failed": outbox.failed(store),
    }


def deliver(ctx: Context, now: datetime | None, **kwargs: Any) -> outbox.DeliveryReport:
    snap, gate = ctx.begin()
    gate.require("notices.manage", "deliver notices")
    channels = snap.settings().get("channels") or _DEFAULT_CHANNELS
    lease = kwargs.get("lease", outbox.DEFAULT_LEASE)
    notifiers = outbox.build_notifiers(ctx.plugins, channels, lease=lease)
    used: dict[str, str] = {}

    def route(notice: Any, channel: str) -> Any:
        for name in (notice.recipient, notice.kind, channel, outbox.DEFAULT_CHANNEL):
            if name in notifiers:
                used[notice.key] = name
                return notifiers[name]
        return None

    report = outbox.deliver(ctx.repo.store, route, now=now or datetime.now(UTC), **kwargs)
    return attrs.evolve(report, channels={k: used[k] for k in sorted(used)})


def channel_types(ctx: Context) -> dict[str, str]:
    """The type of each configured channel by name (``log`` for the default when none is
    configured): what a notice's channel is, without its settings (system and county
    officers)."""
    snap, gate = ctx.begin()
    gate.require("notices.manage", "read the channels")
    channels = snap.settings().get("channels") or _DEFAULT_CHANNELS
    return {name: str(settings.get("type", "")) for name, settings in channels.items()}
