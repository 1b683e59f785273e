"""Follow-ups (跟进事项): a need found for a child becomes a task owed by someone, with a due
date, an escalation to the school head, referrals to other agencies and a closing record.

A home visit (温馨家访) that finds a need — the plan's 生活上优先关怀 — raises it in a fixed
vocabulary (:class:`NeedKind`: health, study, safety, living conditions, guardianship) with free
text. Each need becomes a :class:`FollowUp` owed by one staff member; the county's
:class:`FollowUpRules` give, per kind of need, how many days it has until it is due and how many
more until it is escalated.

The status of a follow-up as of a day (:meth:`FollowUp.status`) is computed, never stored, like
a duty's, and follows the "as of" rule: nothing effective after the day changes it.

- before it was raised it does not exist (``None``);
- ``CLOSED`` from the day it was closed on;
- otherwise ``DUE`` up to and including its due day, ``OVERDUE`` from the day after, and
  ``ESCALATED`` from its escalation day (``escalate_days`` after the due day).

So a follow-up goes DUE → OVERDUE → ESCALATED → CLOSED along the calendar and never back.

>>> from datetime import date
>>> fu = follow_up("FU1", "C1", Need(NeedKind.SAFETY), date(2026, 3, 2), owner_id="T1",
...                raised_by="T1")
>>> fu.due_on, fu.escalate_on
(datetime.date(2026, 3, 5), datetime.date(2026, 3, 7))
>>> [fu.status(date(2026, 3, d)).value for d in (5, 6, 7)]
['due', 'overdue', 'escalated']
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Iterable, Mapping
from datetime import date, timedelta

import attrs
from attrs import frozen

from leftbehind.domain.errors import Issue, ValidationError
from leftbehind.domain.i18n import text

__all__ = [
    "DEFAULT_RULES",
    "MAX_DAYS",
    "Agency",
    "Closure",
    "FollowUp",
    "FollowUpRules",
    "FollowUpStatus",
    "Need",
    "NeedKind",
    "Referral",
    "check_follow_up",
    "check_rules",
    "close",
    "follow_up",
    "follow_up_id",
    "need_kind_issues",
    "refer",
]


class NeedKind(enum.Enum):
    """What a need is about (the fixed vocabulary of the home-visit form)."""

    HEALTH = "health"
    STUDY = "study"
    SAFETY = "safety"
    LIVING = "living"
    GUARDIANSHIP = "guardianship"

    @property
    def label(self) -> str:
        return text(f"need.{self.value}")


class Agency(enum.Enum):
    """The agencies a follow-up is referred to (转介)."""

    CIVIL_AFFAIRS = "civil_affairs"
    HEALTH = "health"
    POLICE = "police"
    WOMENS_FEDERATION = "womens_federation"
    OTHER = "other"

    @property
    def label(self) -> str:
        return text(f"agency.{self.value}")


class FollowUpStatus(enum.Enum):
    """Where a follow-up stands as of a day, in the order it goes through them."""

    DUE = "due"
    OVERDUE = "overdue"
    ESCALATED = "escalated"
    CLOSED = "closed"

    @property
    def label(self) -> str:
        return text(f"follow_up.{self.value}")

    @property
    def open(self) -> bool:
        return self is not FollowUpStatus.CLOSED


#: The longest a county may give a need to be due, or to be escalated after it is due (days).
MAX_DAYS = 366


def _kind_days(items: Mapping[NeedKind, int]) -> Mapping[NeedKind, int]:
    return dict(items)


@frozen
class FollowUpRules:
    """A county's follow-up settings: per kind of need, the days from the day it was raised to
    its due day (``due_days``), and the days after the due day it is escalated to the school
    head (``escalate_days``). Kinds left out take the defaults (:data:`DEFAULT_RULES`)."""

    due_days: Mapping[NeedKind, int] = attrs.field(converter=_kind_days)
    escalate_days: Mapping[NeedKind, int] = attrs.field(converter=_kind_days)

    def due(self, kind: NeedKind) -> int:
        return self.due_days.get(kind, _DUE[kind])

    def escalate(self, kind: NeedKind) -> int:
        return self.escalate_days.get(kind, _ESCALATE[kind])

    def to_settings(self) -> dict[str, dict[str, int]]:
        """As the county's settings keep them (every kind, by its code)."""
        return {
            "due_days": {k.value: self.due(k) for k in NeedKind},
            "escalate_days": {k.value: self.escalate(k) for k in NeedKind},
        }

    @classmethod
    def from_settings(cls, found: Mapping[str, object] | None) -> FollowUpRules:
        """The rules kept in the settings (unknown kinds and bad values left to the defaults)."""
        found = found or {}

        def read(name: str, defaults: Mapping[NeedKind, int]) -> dict[NeedKind, int]:
            raw = found.get(name)
            out = dict(defaults)
            if isinstance(raw, Mapping):
                for kind in NeedKind:
                    value = raw.get(kind.value)
                    if isinstance(value, int) and not isinstance(value, bool):
                        out[kind] = value
            return out

        return cls(read("due_days", _DUE), read("escalate_days", _ESCALATE))


_DUE = {
    NeedKind.SAFETY: 3,
    NeedKind.HEALTH: 7,
    NeedKind.GUARDIANSHIP: 7,
    NeedKind.LIVING: 14,
    NeedKind.STUDY: 30,
}
_ESCALATE = {
    NeedKind.SAFETY: 2,
    NeedKind.HEALTH: 3,
    NeedKind.GUARDIANSHIP: 7,
    NeedKind.LIVING: 7,
    NeedKind.STUDY: 14,
}

#: The defaults: a safety need is due in 3 days and escalated 2 days later; health and
#: guardianship in 7 (escalated 3 and 7 days later); living conditions in 14 (+7); study in
#: 30 (+14).
DEFAULT_RULES = FollowUpRules(_DUE, _ESCALATE)


def need_kind_issues(path: str, value: object) -> list[Issue]:
    """``unknown_need`` when ``value`` is no :class:`NeedKind` code."""
    if isinstance(value, NeedKind) or value in {k.value for k in NeedKind}:
        return []
    codes = ", ".join(k.value for k in NeedKind)
    return [Issue(path, "unknown_need", f"a need is one of {codes}")]


def check_rules(due_days: Mapping[str, object], escalate_days: Mapping[str, object]) -> list[Issue]:
    """The problems of new settings given by need code: an unknown kind (``unknown_need``), a
    number of days that is not a whole number from 1 to :data:`MAX_DAYS` (``days``)."""
    issues: list[Issue] = []
    for name, given in (("due_days", due_days), ("escalate_days", escalate_days)):
        for key, value in given.items():
            path = f"{name}.{key}"
            issues += need_kind_issues(path, key)
            if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_DAYS:
                issues.append(Issue(path, "days", f"a whole number of days from 1 to {MAX_DAYS}"))
    return issues


@frozen
class Need:
    """A need found for a child: its kind, free text (personal: never in a message or a
    notice), and optionally the staff member it is owed by (else the child's proxy parent)."""

    kind: NeedKind
    note: str = ""
    owner_id: str | None = None


@frozen
class Referral:
    """The follow-up was referred to ``agency`` on ``on`` by ``by`` (a staff or officer key)."""

    agency: Agency
    on: date
    by: str = ""
    note: str = ""


@frozen
class Closure:
    """What was done (``action``, free text), on which day, by whom."""

    on: date
    action: str
    by: str


def _referrals(items: Iterable[Referral]) -> tuple[Referral, ...]:
    return tuple(items)


@frozen
class FollowUp:
    """A need become a task: ``kind`` for ``child_id``, raised on ``raised_on`` (by the record
    ``record_id`` when a record raised it), owed by ``owner_id``, due by ``due_on`` (its last
    day), escalated from ``escalate_on``. ``school_id`` is the child's school on the day it was
    raised; ``note`` the need's free text."""

    id: str
    child_id: str
    kind: NeedKind
    raised_on: date
    due_on: date
    escalate_on: date
    owner_id: str
    raised_by: str
    record_id: str | None = None
    school_id: str = ""
    note: str = ""
    closure: Closure | None = None
    referrals: tuple[Referral, ...] = attrs.field(default=(), converter=_referrals)

    def status(self, as_of: date) -> FollowUpStatus | None:
        """The status as of ``as_of`` (``None`` before it was raised)."""
        if as_of < self.raised_on:
            return None
        if self.closure is not None and self.closure.on <= as_of:
            return FollowUpStatus.CLOSED
        if as_of >= self.escalate_on:
            return FollowUpStatus.ESCALATED
        if as_of > self.due_on:
            return FollowUpStatus.OVERDUE
        return FollowUpStatus.DUE

    def as_of(self, day: date) -> FollowUp:
        """The follow-up as it stood on ``day``: a closure or referrals dated later left out."""
        closure = self.closure if self.closure is not None and self.closure.on <= day else None
        referrals = tuple(r for r in self.referrals if r.on <= day)
        if closure is self.closure and referrals == self.referrals:
            return self
        return attrs.evolve(self, closure=closure, referrals=referrals)


def follow_up_id(child_id: str, on: date, need: Need, record_id: str | None = None) -> str:
    """A follow-up's key, the same for the same need raised the same way (so raising it again
    adds nothing): ``FU-`` and 12 hexadecimal digits, no personal value in it."""
    seed = "\x1f".join(
        (child_id, on.isoformat(), need.kind.value, need.note, need.owner_id or "", record_id or "")
    )
    return "FU-" + hashlib.sha256(seed.encode()).hexdigest()[:12]


def follow_up(
    id: str,
    child_id: str,
    need: Need,
    on: date,
    *,
    owner_id: str,
    raised_by: str,
    rules: FollowUpRules = DEFAULT_RULES,
    record_id: str | None = None,
    school_id: str = "",
) -> FollowUp:
    """The follow-up of ``need``, raised on ``on``, its days by ``rules``."""
    due = on + timedelta(days=rules.due(need.kind))
    return FollowUp(
        id,
        child_id,
        need.kind,
        on,
        due,
        due + timedelta(days=rules.escalate(need.kind)),
        owner_id,
        raised_by,
        record_id,
        school_id,
        need.note,
    )


def check_follow_up(fu: FollowUp, *, today: date) -> list[Issue]:
    """Every problem of a follow-up: raised after today, due before it was raised, escalated
    before it is due, closed before it was raised or after today or with nothing said of what
    was done, a referral dated before the need or after today."""
    issues: list[Issue] = []
    if fu.raised_on > today:
        issues.append(Issue("raised_on", "future_date", "a need cannot be raised after today"))
    if fu.due_on < fu.raised_on:
        issues.append(Issue("due_on", "due_before_raised", "due before it was raised"))
    if fu.escalate_on <= fu.due_on:
        issues.append(Issue("escalate_on", "escalate_before_due", "escalated before overdue"))
    if not fu.owner_id:
        issues.append(Issue("owner_id", "no_owner", "a follow-up needs someone who owes it"))
    if fu.closure is not None:
        if fu.closure.on < fu.raised_on:
            issues.append(
                Issue("closure.on", "closed_before_raised", "closed before it was raised")
            )
        if fu.closure.on > today:
            issues.append(Issue("closure.on", "future_date", "cannot be closed after today"))
        if not fu.closure.action.strip():
            issues.append(Issue("closure.action", "required", "say what was done"))
    for i, r in enumerate(fu.referrals):
        if r.on < fu.raised_on:
            issues.append(
                Issue(f"referrals[{i}].on", "referral_before_need", "referred before the need")
            )
        if r.on > today:
            issues.append(Issue(f"referrals[{i}].on", "future_date", "referred after today"))
    return issues


def close(fu: FollowUp, *, on: date, action: str, by: str, today: date) -> FollowUp:
    """``fu`` closed on ``on`` by ``by``, having done ``action``; a
    :class:`~leftbehind.domain.errors.ValidationError` lists every problem (already closed, a
    day before it was raised or after today, no action)."""
    issues = []
    if fu.closure is not None:
        issues.append(Issue("closure", "already_closed", "this follow-up is closed already"))
    closed = attrs.evolve(fu, closure=Closure(on, action, by))
    issues += [i for i in check_follow_up(closed, today=today) if i.path.startswith("closure")]
    if issues:
        raise ValidationError(issues, subject="follow_up")
    return closed


def refer(
    fu: FollowUp, *, agency: Agency, on: date, by: str, today: date, note: str = ""
) -> FollowUp:
    """``fu`` with a referral to ``agency`` on ``on`` (a referral may come before or after the
    follow-up is closed, never before the need was raised nor after today)."""
    referred = attrs.evolve(fu, referrals=(*fu.referrals, Referral(agency, on, by, note)))
    last = f"referrals[{len(referred.referrals) - 1}]"
    issues = [i for i in check_follow_up(referred, today=today) if i.path.startswith(last)]
    if issues:
        raise ValidationError(issues, subject="follow_up")
    return referred
