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
  ``school_summary``.

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

from leftbehind.notifiers import Notice

__all__ = [
    "DutyItem",
    "FileGap",
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
    head = f"{monday.isoformat()} 至 {sunday.isoformat()} 应完成 {len(listed)} 项："
    return Notice(
        key=f"digest:{staff}:{week}",
        recipient=staff,
        subject=f"本周待办 {len(listed)} 项（{week}）",
        body="\n".join([head, *_by_class(listed, "前")]),
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
                    subject=f"逾期未完成 {len(listed)} 项",
                    body="\n".join(
                        [
                            f"截至 {as_of.isoformat()}，以下工作已逾期：",
                            *_by_class(listed, "应于", "前"),
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
            f"截至 {as_of.isoformat()}，{school_label}逾期 {len(everything)} 项，"
            f"涉及儿童 {children} 名。",
            "按责任人：",
            *(f"· {staff}：{len(merged[staff])} 项" for staff in sorted(merged) if merged[staff]),
            "按工作：" + "、".join(f"{duty} {n}" for duty, n in _most_first(by_duty)),
        ]
        notices.append(
            Notice(
                key=f"overdue-head:{school}:{week}:{head}",
                recipient=head,
                subject=f"{school_label}逾期工作 {len(everything)} 项",
                body="\n".join(lines),
                kind=OVERDUE,
            )
        )
    return notices


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
    where = _label(school_label) + _label(class_label)
    if change == "served":
        kind, subject = SERVED, f"新纳入工作对象：{child}"
        text = (
            f"{where}儿童 {child} 自 {on.isoformat()} 起纳入留守儿童关爱工作对象，"
            "请查看其档案并落实双管理。"
        )
    elif change == "left":
        kind, subject = LEFT, f"不再属于工作对象：{child}"
        text = f"{where}儿童 {child} 自 {on.isoformat()} 起不再属于工作对象，请更新台账。"
    else:
        raise ValueError("change must be 'served' or 'left'")
    keys = sorted({_record_key(r, "recipient") for r in recipients})
    return [
        Notice(
            key=f"{change}:{child}:{on.isoformat()}:{r}",
            recipient=r,
            subject=subject,
            body=text,
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
        lines = [f"部署阶段已于 {deadline.isoformat()} 结束，以下儿童档案「五清晰」尚缺："]
        current: str | None = None
        for gap in gaps:
            if gap.class_label != current:
                current = gap.class_label
                lines.append(current or "（未分班）")
            lines.append(f"· {gap.child}：{'、'.join(gap.missing)}")
        notices.append(
            Notice(
                key=f"file-incomplete:{staff}:{deadline.isoformat()}",
                recipient=staff,
                subject=f"档案未完善 {len(gaps)} 名儿童",
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
        f"{school_label}（{week}）",
        f"工作对象 {served} 名；本周新纳入 {entered} 名，退出 {left} 名。",
        f"本周应完成 {due} 项，逾期 {overdue} 项。",
    ]
    if incomplete:
        lines.append(f"档案未完善 {incomplete} 名。")
    lines.append("详情请各位老师在系统中查看。")
    return Notice(
        key=f"school-week:{school}:{week}",
        recipient=_record_key(recipient, "recipient"),
        subject=f"{school_label}本周关爱工作概况",
        body="\n".join(lines),
        kind=SUMMARY,
    )


# ---------------------------------------------------------------------------------------------
# Helpers.


def _by_class(items: Sequence[DutyItem], before: str, after: str = "") -> list[str]:
    """Lines grouped under class labels: ``· C000123 谈心（3月14日前）``."""
    if not after:
        before, after = "", before
    lines: list[str] = []
    current: str | None = None
    for item in sorted(items, key=lambda i: (i.class_label, i.by, i.child, i.duty)):
        if item.class_label != current:
            current = item.class_label
            lines.append(current or "（未分班）")
        when = f"{before}{item.by.month}月{item.by.day}日{after}"
        lines.append(f"· {item.child} {item.duty}（{when}）")
    return lines


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
