"""Notices the care action sends (提醒与摘要), built from plain data with deterministic keys.

Each builder takes what the caller computed — record keys, class and school labels, duty labels,
counts, dates — and returns :class:`~leftbehind.notifiers.Notice` values ready for
:func:`leftbehind.outbox.enqueue`. The same input gives the same keys, so building a notice again
(a job run twice, a retry) enqueues nothing new:

- weekly digest, one per person: ``digest:{staff}:{2025-W11}``, kind ``duty_digest``;
- duties overdue, to the owner: ``overdue:{staff}:{2025-W12}``, and to the school head:
  ``overdue-head:{school}:{2025-W12}:{head}``, kind ``duty_overdue``;
- a child becomes served: ``served:{child}:{2025-03-01}:{recipient}``, kind ``child_served``;
- a child leaves: ``left:{child}:{2025-06-01}:{recipient}``, kind ``child_left``;
- files incomplete after the deployment phase: ``file-incomplete:{staff}:{2025-04-30}``, kind
  ``file_incomplete``;
- a school's week for its group chat: ``school-week:{school}:{2025-W11}``, kind
  ``school_summary``;
- a follow-up escalated to the school head: ``follow-up-escalated:{follow_up}:{head}``, kind
  ``follow_up_escalated``.

**Language.** Each notice is written in the language of the moment
(``leftbehind.use``): the county's service builds them inside
``use(county.language)``, so a county that speaks Traditional Chinese or English sends its
notices so. Keys, kinds and recipients never change with the language.

**Order.** Duties are listed by their last day, earliest first (under a line naming the day),
then by class, child and duty.

**Privacy.** No notice names a child, in any channel: children appear by record key
(``C000123``) with their class label, never by name, ID number, phone, health, family situation
or category, and the reason a child became served or left is not given. A teacher looks the
child up in the application, where access is checked and logged. Group messages
(:func:`school_summary`) carry counts only. Record keys are checked: a key that is not a short
code of letters, digits and ``_.:-``, or that looks like a resident ID number or a phone number,
is refused with a :class:`ValueError` that does not repeat it; a label with a run of 11 or more
digits is refused the same way.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from typing import Final, Literal

from attrs import frozen

from leftbehind.domain.i18n import text
from leftbehind.notifiers import Notice

__all__ = [
    "DutyItem",
    "FileGap",
    "follow_up_escalation",
    "incomplete_file_notices",
    "iso_week",
    "overdue_notices",
    "school_summary",
    "status_notices",
    "weekly_digest",
    "weekly_digests",
]

DIGEST: Final = "duty_digest"
OVERDUE: Final = "duty_overdue"
SERVED: Final = "child_served"
LEFT: Final = "child_left"
FILE_INCOMPLETE: Final = "file_incomplete"
SUMMARY: Final = "school_summary"
ESCALATED: Final = "follow_up_escalated"

_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")
_ID_NUMBER = re.compile(r"[0-9]{15}|[0-9]{17}[0-9Xx]")
_PHONE = re.compile(r"(?:86)?1[0-9]{10}")
_DIGIT_RUN = re.compile(r"[0-9０-９]{11,}")


@frozen
class DutyItem:
    """One duty occurrence as a notice lists it.

    ``child`` is the child's record key (``C000123``), ``duty`` the duty's label (``谈心``),
    ``by`` the last day to do it (the day before its window closes), ``class_label`` the class
    (``三年级2班``).
    """

    child: str
    duty: str
    by: date
    class_label: str = ""


@frozen
class FileGap:
    """A child's file (一人一档) missing some of the five clears, by the labels of the areas."""

    child: str
    missing: tuple[str, ...]
    class_label: str = ""


def iso_week(d: date) -> str:
    """The ISO week of ``d`` as ``2025-W11`` (weeks start on Monday)."""
    year, week, _ = d.isocalendar()
    return f"{year}-W{week:02d}"


# ---------------------------------------------------------------------------------------------
# Duties.


def weekly_digest(staff: str, items: Iterable[DutyItem], *, week_of: date) -> Notice | None:
    """One digest of the duties ``staff`` owes in the week of ``week_of``; ``None`` if none."""
    staff = _record_key(staff, "staff")
    listed = _checked(items)
    if not listed:
        return None
    monday = week_of - timedelta(days=week_of.weekday())
    week = iso_week(week_of)
    sunday = monday + timedelta(days=6)
    head = text(
        "Due {start} to {end} ({count}):",
        start=monday.isoformat(),
        end=sunday.isoformat(),
        count=len(listed),
    )
    return Notice(
        key=f"digest:{staff}:{week}",
        recipient=staff,
        subject=text("Due this week: {count} ({week})", count=len(listed), week=week),
        body="\n".join([head, *_by_day(listed)]),
        kind=DIGEST,
        children=[i.child for i in listed],
    )


def weekly_digests(
    entries: Iterable[tuple[str, Iterable[DutyItem]]], *, week_of: date
) -> list[Notice]:
    """One digest per person for the week: a person listed twice gets one digest of both lists.

    People without items get none. Ordered by staff key.
    """
    merged: dict[str, list[DutyItem]] = defaultdict(list)
    for staff, items in entries:
        merged[_record_key(staff, "staff")].extend(items)
    out = [weekly_digest(staff, merged[staff], week_of=week_of) for staff in sorted(merged)]
    return [n for n in out if n is not None]


def overdue_notices(
    owners: Iterable[tuple[str, Iterable[DutyItem]]],
    *,
    school: str,
    school_label: str,
    head: str | None,
    as_of: date,
) -> list[Notice]:
    """Duties overdue at ``as_of``: a notice to each owner, and one summary to the school head.

    At most one of each per person per ISO week (the key holds the week): build them daily and
    only the first of the week is sent. The head's summary counts overdue duties by owner and by
    duty, and the children concerned, without listing them.
    """
    school = _record_key(school, "school")
    school_label = _label(school_label)
    merged: dict[str, list[DutyItem]] = defaultdict(list)
    for staff, items in owners:
        merged[_record_key(staff, "staff")].extend(_checked(items))
    week = iso_week(as_of)
    notices = []
    for staff in sorted(merged):
        listed = merged[staff]
        if listed:
            notices.append(
                Notice(
                    key=f"overdue:{staff}:{week}",
                    recipient=staff,
                    subject=text("Overdue: {count}", count=len(listed)),
                    body="\n".join(
                        [
                            text("As of {day}, these duties are overdue:", day=as_of.isoformat()),
                            *_by_day(listed, overdue=True),
                        ]
                    ),
                    kind=OVERDUE,
                    children=[i.child for i in listed],
                )
            )
    everything = [item for staff in sorted(merged) for item in merged[staff]]
    if head is not None and everything:
        head = _record_key(head, "head")
        children = len({item.child for item in everything})
        by_duty = Counter(item.duty for item in everything)
        lines = [
            text(
                "As of {day}, {school}: overdue {count}, children concerned {children}.",
                day=as_of.isoformat(),
                school=school_label,
                count=len(everything),
                children=children,
            ),
            text("By owner:"),
            *(
                text("· {staff}: {count}", staff=staff, count=len(merged[staff]))
                for staff in sorted(merged)
                if merged[staff]
            ),
            text(
                "By duty: {duties}",
                duties=_joined(f"{duty} {n}" for duty, n in _most_first(by_duty)),
            ),
        ]
        notices.append(
            Notice(
                key=f"overdue-head:{school}:{week}:{head}",
                recipient=head,
                subject=text(
                    "{school}: overdue {count}", school=school_label, count=len(everything)
                ),
                body="\n".join(lines),
                kind=OVERDUE,
            )
        )
    return notices


# ---------------------------------------------------------------------------------------------
# Follow-ups.


def follow_up_escalation(
    follow_up: str,
    *,
    child: str,
    owner: str,
    head: str,
    due: date,
    raised: date,
    school_label: str = "",
    class_label: str = "",
) -> Notice:
    """A follow-up (跟进事项) still open past its escalation day, to the school head: its key,
    the child's key and class, who owes it, when it was raised and due. Never the need, its
    kind or its text (a child's health or family situation). One per follow-up and head: the
    key ``follow-up-escalated:{follow_up}:{head}`` holds no date, so queueing it again every
    day adds nothing."""
    follow_up = _record_key(follow_up, "follow_up")
    child = _record_key(child, "child")
    owner = _record_key(owner, "owner")
    head = _record_key(head, "head")
    where = _where(_label(school_label), _label(class_label))
    body = text(
        "{where}follow-up {key} for child {child}, raised on {raised} and owed by {owner}, was "
        "due by {due} and is still open: please see to it.",
        where=where,
        key=follow_up,
        child=child,
        raised=raised.isoformat(),
        owner=owner,
        due=due.isoformat(),
    )
    return Notice(
        key=f"follow-up-escalated:{follow_up}:{head}",
        recipient=head,
        subject=text("Follow-up escalated: {key}", key=follow_up),
        body=body[:1].upper() + body[1:],
        kind=ESCALATED,
        children=[child],
    )


# ---------------------------------------------------------------------------------------------
# Children and files.


def status_notices(
    child: str,
    *,
    change: Literal["served", "left"],
    on: date,
    recipients: Iterable[str],
    class_label: str = "",
    school_label: str = "",
) -> list[Notice]:
    """A child becomes served (纳入工作对象) or leaves on ``on``: one notice per recipient.

    Recipients are record keys (the class teacher, the proxy parent, the school head). The reason
    is not given: it is a family situation.
    """
    child = _record_key(child, "child")
    where = _where(_label(school_label), _label(class_label))
    day = on.isoformat()
    if change == "served":
        kind, subject = SERVED, text("Newly served: {child}", child=child)
        said = text(
            "{where}child {child} is served by the care action from {day}: please read the "
            "child's file and see that school and family both look after the child.",
            where=where,
            child=child,
            day=day,
        )
    elif change == "left":
        kind, subject = LEFT, text("No longer served: {child}", child=child)
        said = text(
            "{where}child {child} is no longer served from {day}: please update the ledgers.",
            where=where,
            child=child,
            day=day,
        )
    else:
        raise ValueError("change must be 'served' or 'left'")
    said = said[:1].upper() + said[1:]
    keys = sorted({_record_key(r, "recipient") for r in recipients})
    return [
        Notice(
            key=f"{change}:{child}:{on.isoformat()}:{r}",
            recipient=r,
            subject=subject,
            body=said,
            kind=kind,
            children=[child],
        )
        for r in keys
    ]


def incomplete_file_notices(
    entries: Iterable[tuple[str, Iterable[FileGap]]], *, deadline: date
) -> list[Notice]:
    """Files still incomplete after the deployment phase ended on ``deadline``: one per person.

    Each entry is a staff key and the gaps of the children they keep files for.
    """
    merged: dict[str, list[FileGap]] = defaultdict(list)
    for staff, gaps in entries:
        for gap in gaps:
            _record_key(gap.child, "child")
            _label(gap.class_label)
            for area in gap.missing:
                _label(area)
            if gap.missing:
                merged[_record_key(staff, "staff")].append(gap)
    notices = []
    for staff in sorted(merged):
        gaps = sorted(merged[staff], key=lambda g: (g.class_label, g.child))
        lines = [
            text(
                "The deployment phase ended on {day}; these children's files still lack some "
                "of the five clears:",
                day=deadline.isoformat(),
            )
        ]
        current: str | None = None
        for gap in gaps:
            if gap.class_label != current:
                current = gap.class_label
                lines.append(current or text("(no class)"))
            lines.append(text("· {child}: {areas}", child=gap.child, areas=_joined(gap.missing)))
        notices.append(
            Notice(
                key=f"file-incomplete:{staff}:{deadline.isoformat()}",
                recipient=staff,
                subject=text("Incomplete files: {count}", count=len(gaps)),
                body="\n".join(lines),
                kind=FILE_INCOMPLETE,
                children=[g.child for g in gaps],
            )
        )
    return notices


def school_summary(
    school: str,
    *,
    recipient: str,
    school_label: str,
    week_of: date,
    served: int,
    due: int,
    overdue: int,
    incomplete: int = 0,
    entered: int = 0,
    left: int = 0,
) -> Notice:
    """A school's week in counts, for its group chat (企业微信群): no child is named or keyed.

    ``recipient`` is the group's record key (``group:S01``).
    """
    school = _record_key(school, "school")
    school_label = _label(school_label)
    week = iso_week(week_of)
    lines = [
        text("{school} ({week})", school=school_label, week=week),
        text(
            "Served: {served}; this week {entered} newly served, {left} left.",
            served=served,
            entered=entered,
            left=left,
        ),
        text("Due this week: {due}; overdue: {overdue}.", due=due, overdue=overdue),
    ]
    if incomplete:
        lines.append(text("Files incomplete: {count}.", count=incomplete))
    lines.append(text("Teachers, please see the details in the system."))
    return Notice(
        key=f"school-week:{school}:{week}",
        recipient=_record_key(recipient, "recipient"),
        subject=text("{school}: this week's care work", school=school_label),
        body="\n".join(lines),
        kind=SUMMARY,
    )


# ---------------------------------------------------------------------------------------------
# Helpers.


def _day(d: date) -> str:
    """A day of the year in a notice: ``3月14日``, ``3/14``."""
    return text("{month}/{day}", month=d.month, day=d.day)


def _by_day(items: Sequence[DutyItem], *, overdue: bool = False) -> list[str]:
    """Lines in the order of the last day, under a line per day (``3月14日前：``; overdue
    ``应于3月7日前：``), then by class, child and duty: ``· 三年级2班 C000123 谈心``."""
    lines: list[str] = []
    current: date | None = None
    for item in sorted(items, key=lambda i: (i.by, i.class_label, i.child, i.duty)):
        if item.by != current:
            current = item.by
            when = _day(item.by)
            lines.append(
                text("due by {day}:", day=when) if overdue else text("by {day}:", day=when)
            )
        lines.append(" ".join(p for p in ("·", item.class_label, item.child, item.duty) if p))
    return lines


def _where(school_label: str, class_label: str) -> str:
    """Where a child is, as a status notice begins (``城关镇第一小学三年级2班``; English
    ``城关镇第一小学, 三年级2班: ``); empty without either label."""
    place = (
        text("{school} {class_label}", school=school_label, class_label=class_label)
        if school_label and class_label
        else school_label or class_label
    )
    return text("{place}: ", place=place) if place else ""


def _joined(items: Iterable[str]) -> str:
    return text("separator.list").join(items)


def _most_first(counts: Counter[str]) -> list[tuple[str, int]]:
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


def _checked(items: Iterable[DutyItem]) -> list[DutyItem]:
    listed = list(items)
    for item in listed:
        _record_key(item.child, "child")
        _label(item.duty)
        _label(item.class_label)
    return listed


def _record_key(value: str, what: str) -> str:
    """``value`` if it is a record key; errors never repeat the value (it may be personal)."""
    if not isinstance(value, str) or not _KEY.fullmatch(value):
        raise ValueError(f"{what} must be a record key such as C000123 (letters, digits, _.:-)")
    bare = value.split(":")[-1]
    if _ID_NUMBER.fullmatch(bare) or _PHONE.fullmatch(bare):
        raise ValueError(f"{what} looks like an ID number or a phone; use the record key")
    return value


def _label(value: str) -> str:
    if not isinstance(value, str) or _DIGIT_RUN.search(value):
        raise ValueError("a label must be text without long digit runs (no phones or ID numbers)")
    return value
