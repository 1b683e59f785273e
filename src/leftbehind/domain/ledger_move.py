"""Who entered and who left a school's served children between two days, and which fact did it.

A child *belongs* to school X on day d when served on d (a category holds in their timeline)
while enrolled at X on d. Between ``before`` and ``after`` a child entered X when they belong on
``after`` but not on ``before``, and left X the other way round; a child who moved from one
school to another left the first and entered the second. The reason is read off the facts:

- the enrolments first: entered by 入學 (enrolled) or 轉入 (transferred in); left by 轉出
  (enrolled elsewhere), 畢業, 輟學 or 離校 (from the enrolment's end reason);
- then a change of policy (政策調整) when the earlier timelines are given and the later policy
  would have decided the ``before`` day differently;
- then the spans: a left-behind span starting means 父母外出, another category starting 家庭變故;
  a span ending because a parent's absence ended means 父母返鄉, anything else 其他.
"""

from __future__ import annotations

from datetime import date

from attrs import frozen

from leftbehind.domain.eligibility import Category, Timeline
from leftbehind.domain.i18n import text
from leftbehind.domain.ledger_facts import MoveReason
from leftbehind.domain.model import Child, Enrolment, LeaveReason, ParentRole

__all__ = ["Movement", "entered_reason", "left_reason"]


@frozen(order=True)
class Movement:
    """One child entering or leaving one school's served children (動態), with the cause.

    ``name`` is the child's name, for the school's own ledger; ``on`` is the day the change
    took effect when the facts tell it (``None`` for a policy change); ``cause`` is a Chinese
    sentence naming the fact by relation and date, never by a person's name.
    """

    school_id: str
    entered: bool
    reason: MoveReason
    child_id: str
    name: str = ""
    on: date | None = None
    cause: str = ""

    @property
    def key(self) -> str:
        """The ledger column this movement counts in (``entered.parent_left`` …)."""
        return ("entered." if self.entered else "left.") + self.reason.value


_LEAVE = {
    LeaveReason.GRADUATED: MoveReason.GRADUATED,
    LeaveReason.TRANSFERRED: MoveReason.TRANSFERRED,
    LeaveReason.DROPPED_OUT: MoveReason.DROPPED_OUT,
    LeaveReason.OTHER: MoveReason.LEFT_SCHOOL,
}


def _served_around(timeline: Timeline, d: date) -> tuple[date, date | None] | None:
    for interval in timeline.served_intervals():
        if interval.contains(d):
            return interval.start, interval.end
    return None


def entered_reason(
    child: Child,
    school_id: str,
    before: date,
    after: date,
    was: Enrolment | None,
    now: Enrolment,
    timeline: Timeline,
    earlier: Timeline | None,
) -> Movement:
    """Why ``child`` belongs to ``school_id`` on ``after`` but not on ``before``."""
    if was is None or was.school_id != school_id:
        reason = MoveReason.ENROLLED if was is None else MoveReason.TRANSFERRED_IN
        cause = text("cause.on", on=now.start.isoformat(), what=reason.label)
        return Movement(school_id, True, reason, child.id, child.name, now.start, cause)
    if earlier is not None and earlier is not timeline and timeline.categories_on(before):
        policy = text("cause.policy")
        return Movement(school_id, True, MoveReason.POLICY, child.id, child.name, None, policy)
    started = [s for s in timeline.spans_on(after) if before < s.start]
    if not started:  # served on both days yet not on before: only a policy can do that
        return Movement(school_id, True, MoveReason.OTHER, child.id, child.name, None, "")
    span = min(started, key=lambda s: (not s.category.left_behind, s.start))
    reason = MoveReason.PARENT_LEFT if span.category.left_behind else MoveReason.FAMILY_CHANGE
    around = _served_around(timeline, after)
    on = around[0] if around is not None else span.start
    cause = text("list.then").join(r.text for r in span.reasons) or span.category.label
    return Movement(school_id, True, reason, child.id, child.name, on, cause)


def left_reason(
    child: Child,
    school_id: str,
    before: date,
    after: date,
    was: Enrolment,
    now: Enrolment | None,
    timeline: Timeline,
    earlier: Timeline | None,
) -> Movement:
    """Why ``child`` belonged to ``school_id`` on ``before`` but not on ``after``."""
    if now is None or now.school_id != school_id:
        if now is not None:
            reason, on = MoveReason.TRANSFERRED, now.start
        else:
            end_reason = was.end_reason
            reason = MoveReason.LEFT_SCHOOL if end_reason is None else _LEAVE[end_reason]
            on = was.end if was.end is not None else after
        cause = text("cause.on", on=on.isoformat(), what=reason.label)
        return Movement(school_id, False, reason, child.id, child.name, on, cause)
    then = earlier if earlier is not None else timeline
    if then is not timeline and not timeline.categories_on(before):
        policy = text("cause.policy")
        return Movement(school_id, False, MoveReason.POLICY, child.id, child.name, None, policy)
    around = _served_around(then, before)
    until = around[1] if around is not None else None
    for role, parent in ((ParentRole.FATHER, child.father), (ParentRole.MOTHER, child.mother)):
        if parent is None:
            continue
        for absence in parent.absences:
            end = absence.end
            if end is not None and before < end <= after:
                back = text("cause.returned", parent=role.label, on=end.isoformat())
                return Movement(
                    school_id, False, MoveReason.PARENT_RETURNED, child.id, child.name, until, back
                )
    ended = sorted({s.category for s in then.spans_on(before)}, key=_category_order)
    names = text("list.and").join(c.label for c in ended)
    cause = text("cause.ended", categories=names) if ended else ""
    return Movement(school_id, False, MoveReason.OTHER, child.id, child.name, until, cause)


def _category_order(c: Category) -> str:
    return c.value
