"""Sign-off (报送审核): submit, approve, return, reopen; the tables as reported; locked periods.

The state machine and what a change reaches are the domain's
(:mod:`leftbehind.domain.signoff`); this room takes the steps through the gate, keeps the
tables as reported, and guards every write: :func:`guard` is called by each command before it
writes, and refuses (:class:`~leftbehind.errors.PeriodLockedError`) a change that reaches a
locked period, unless it is made as a correction (:meth:`leftbehind.County.correction`) by a
role that may make one, which is then kept (:class:`~leftbehind.domain.signoff.Correction`)
and audited with its reason.

The tables as reported are the school's 动态状况表 for the period as of its last day, counts
whole, their lists naming no child (what goes up is the school's figures, not its children's
files), in canonical JSON with its SHA-256: the same bytes forever.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from datetime import date, datetime, timedelta

import attrs
from attrs import frozen

from leftbehind import kinds
from leftbehind.access import ActorKind
from leftbehind.calendars import CalendarFallbackWarning
from leftbehind.convert import structure_trusted, unstructure
from leftbehind.domain import ledger
from leftbehind.domain.duties import duty_plan
from leftbehind.domain.errors import Issue, ValidationError
from leftbehind.domain.i18n import text
from leftbehind.domain.ids import looks_personal, shown_key
from leftbehind.domain.model import School
from leftbehind.domain.quality import Severity
from leftbehind.domain.signoff import (
    Action,
    Correction,
    Level,
    Period,
    Reported,
    SignOff,
    SignOffError,
    State,
    Step,
    advance,
    next_level,
    school_months,
    signoff_key,
)
from leftbehind.errors import NotFoundError, PeriodLockedError
from leftbehind.service import ledgers
from leftbehind.service import quality as quality_room
from leftbehind.service.context import Context
from leftbehind.service.gate import Gate
from leftbehind.service.repository import Batch, Snapshot, stamp

__all__ = [
    "Pending",
    "SignOffView",
    "approve",
    "canonical",
    "correction",
    "guard",
    "pending",
    "reopen",
    "send_back",
    "signoffs",
    "submit",
    "unnamed",
    "view",
]

#: The longest reason of a return, a reopening or a correction.
REASON_MAX = 200
#: Digits written as Chinese numerals (an ID number or a phone spelt 一三八…), for the check
#: that a reason holds none.
_NUMERALS = str.maketrans("〇零一二三四五六七八九幺两", "0012345678912")


@frozen
class SignOffView:
    """A school's period as it stands: the sign-off (``None``: never submitted), the tables as
    reported (``None`` before a submission), the tables as known today (both naming no child:
    :func:`unnamed`), the counts that differ (column → (reported, today)), and the corrections made
    into the period since it was submitted (who, when, why, what)."""

    school_id: str
    period: Period
    signoff: SignOff | None
    #: The canonical JSON of the tables as reported, byte for byte as submitted (``None``
    #: before a submission).
    reported_json: str | None
    reported: ledger.SchoolTable | None
    current: ledger.SchoolTable
    differences: dict[str, tuple[int, int]]
    corrections: tuple[Correction, ...]
    #: The data-quality rules' labels, by code (for the findings counted when submitted).
    rule_labels: dict[str, str] = attrs.field(factory=dict)

    @property
    def state(self) -> State | None:
        return self.signoff.state if self.signoff is not None else None

    def stamps(self) -> list[str]:
        """The approval lines a printed form carries (审核记录), in the language of the
        moment."""
        if self.signoff is None:
            return []
        return stamp_lines(self.signoff, self.rule_labels)


@frozen
class Pending:
    """A school's period waiting for the actor: the step it waits for and where it stands."""

    school_id: str
    period: Period
    state: State | None
    action: Action


def unnamed(table: ledger.SchoolTable) -> ledger.SchoolTable:
    """The school table with its lists naming no child (neither key nor name): each movement
    keeps its reason, day and cause, each overdue entry its class and counts."""
    return attrs.evolve(
        table,
        movements=tuple(attrs.evolve(m, child_id="", name="") for m in table.movements),
        overdue=tuple(attrs.evolve(o, child_id="", name="") for o in table.overdue),
    )


def canonical(table: ledger.SchoolTable) -> str:
    """The tables as reported: canonical JSON (sorted keys, UTF-8 text, one space indent) of
    the school table, its lists naming no child (:func:`unnamed`)."""
    return json.dumps(unstructure(unnamed(table)), ensure_ascii=False, sort_keys=True, indent=1)


def digest(text_: str) -> str:
    return hashlib.sha256(text_.encode("utf-8")).hexdigest()


def china_time(at: str) -> datetime:
    """A UTC timestamp as kept (``2026-07-01T17:00:00.000000Z``) in China time (UTC+8, naive:
    2 July 01:00 in Guangping)."""
    moment = datetime.strptime(at, "%Y-%m-%dT%H:%M:%S.%fZ")
    return moment + timedelta(hours=8)


def china_day(at: str) -> str:
    """The day (China time) of a UTC timestamp as kept, ``YYYY-MM-DD``."""
    return china_time(at).date().isoformat()


def stamp_lines(signoff: SignOff, labels: Mapping[str, str] | None = None) -> list[str]:
    """One line per step taken since the last submission: who (level and key), what, when;
    then the data-quality findings counted when it was submitted (by rule, ``labels`` naming
    the rules), the corrections it lists, and the digest of the tables as reported."""
    steps = list(signoff.steps)
    last = max((i for i, s in enumerate(steps) if s.action is Action.SUBMIT), default=0)
    lines = []
    for s in steps[last:]:
        line = text(
            "{level} {actor} {action} on {day}",
            level=s.level.label,
            actor=s.actor_id,
            action=s.action.label,
            day=china_day(s.at),
        )
        if s.reason:
            line += text(" (reason: {reason})", reason=s.reason)
        lines.append(line)
    reported = signoff.reported
    if reported is not None:
        named = labels or {}
        found = text("signoff.separator").join(
            text("{rule} {count}", rule=named.get(rule, rule), count=n)
            for rule, n in reported.findings.items()
        )
        lines.append(
            text("data-quality findings when submitted: {found}", found=found)
            if found
            else text("data-quality findings when submitted: none")
        )
        if reported.corrections:
            lines.append(
                text(
                    "corrections of earlier periods listed: {count}",
                    count=len(reported.corrections),
                )
            )
        lines.append(text("SHA-256 of the tables as reported: {sha}", sha=reported.sha256))
    return lines


# ---------------------------------------------------------------------------------------------
# Checks.


def parse_period(value: str | Period) -> Period:
    """A period from its key (see :class:`~leftbehind.domain.signoff.Period`), or a
    :class:`ValidationError` naming the field."""
    key = value.key if isinstance(value, Period) else str(value)
    try:  # a Period made by hand is taken by its key, never by its dates
        return Period.parse(key)
    except ValueError:
        issue = Issue(
            "period",
            "period",
            text("a period is a month (2026-03), a semester (2025-2026-1) or a year (2025-2026)"),
        )
        raise ValidationError([issue], subject="signoff") from None


def check_reason(reason: object, *, required: bool = True) -> str:
    """A reason as kept: 1 to :data:`REASON_MAX` characters of printable text, no ID number or
    phone; every problem in one :class:`ValidationError`."""
    value = reason.strip() if isinstance(reason, str) else ""
    issues = []
    if not value:
        if required:
            issues.append(Issue("reason", "reason_required", text("a reason is required")))
    elif len(value) > REASON_MAX or not value.isprintable():
        issues.append(
            Issue("reason", "reason_text", text("1 to {n} characters of text", n=REASON_MAX))
        )
    elif looks_personal(value) or looks_personal(value.translate(_NUMERALS)):
        issues.append(
            Issue("reason", "personal_text", text("a reason must not hold an ID number or phone"))
        )
    if issues:
        raise ValidationError(issues, subject="reason")
    return value


def _school(snap: Snapshot, gate: Gate, school_id: str) -> School:
    """The school, if the actor's office covers it (else not found, like a missing one)."""
    school = snap.schools().get(school_id)
    if school is None or not gate.actor.is_official or not gate.school_in_scope(school_id):
        raise NotFoundError(kinds.SCHOOL, school_id)
    return school


def _level(gate: Gate, school: School, state: State | None, action: Action) -> Level:
    """The level the actor takes ``action`` at, or a refusal."""
    actor = gate.actor
    kind = actor.kind
    if kind is ActorKind.SYSTEM:
        return next_level(state) if action is not Action.SUBMIT else Level.SCHOOL
    if kind is ActorKind.SCHOOL_HEAD and actor.school_id == school.id:
        return Level.SCHOOL
    if kind is ActorKind.TOWNSHIP_OFFICER and actor.township == school.township:
        return Level.TOWNSHIP
    if kind is ActorKind.COUNTY_OFFICER:
        return Level.COUNTY
    raise gate.deny(f"{action.value} the tables of", school.id)


def _take(
    ctx: Context,
    school_id: str,
    period: str | Period,
    action: Action,
    reason: str = "",
    make: Callable[[Snapshot, SignOff | None, Step], SignOff] | None = None,
) -> SignOff:
    """One step: checked by the gate and the state machine, written with its audit entry."""
    p = parse_period(period)
    with ctx.repo.batch(f"signoff.{action.value}") as batch:
        view = batch.view
        gate = Gate(ctx.actor, ctx.today(), view)
        school = _school(view, gate, school_id)
        key = signoff_key(school.id, p)
        before = view.signoff(key)
        state = before.state if before is not None else None
        level = _level(gate, school, state, action)
        after = advance(state, action, level)
        if action is Action.APPROVE and (before is None or before.reported is None):
            msg = text("the tables of this submission are still being kept: try again")
            raise SignOffError("signoff_incomplete", msg)
        step = Step(
            action,
            level,
            ctx.actor.kind.value,
            ctx.actor.id,
            stamp(ctx.repo.now()),
            reason,
            before.reported.sha256 if before is not None and before.reported is not None else "",
        )
        if make is not None:
            made = make(view, before, step)
        else:
            assert before is not None  # noqa: S101 - only a submission starts one
            made = attrs.evolve(before, steps=(*before.steps, step))
        made = attrs.evolve(made, state=after, locked=after.locked)
        batch.put(kinds.SIGNOFF, key, made)
        if reason:
            batch.reason = reason
        batch.commit()
    return made


def submit(
    ctx: Context, school_id: str, period: str | Period, despite_findings: bool = False
) -> SignOff:
    """Submit in three steps, so that no write slips in between the tables and the lock: the
    data-quality checks; the period locked, the step taken (nothing reported yet: it cannot be
    approved); the tables made (no write reaches them now but a correction, which is then
    listed) and kept. If making them fails, the period is put back as it was."""
    p = parse_period(period)
    if not p.ended_by(ctx.today()):
        msg = text("{period} has not ended: it can be submitted from its last day", period=p.label)
        raise SignOffError("period_open", msg)
    snap, gate = ctx.begin()
    school = _school(snap, gate, school_id)
    key = signoff_key(school.id, p)
    before = snap.signoff(key)
    _level(gate, school, before.state if before is not None else None, Action.SUBMIT)
    report = quality_room.quality(ctx, p.last, school.id)
    errors = sum(1 for f in report.findings if f.severity is Severity.ERROR)
    if errors and not despite_findings:
        msg = text(
            "the data-quality checks found {count} errors at this school as of {day}: see "
            "`leftbehind check`, correct them, or submit despite them",
            count=errors,
            day=p.last.isoformat(),
        )
        raise SignOffError("quality_errors", msg)
    findings: dict[str, int] = {}
    for f in report.findings:
        findings[f.rule] = findings.get(f.rule, 0) + 1
    listed: list[str] = []

    def lock(view: Snapshot, before: SignOff | None, step: Step) -> SignOff:
        since = _last_submitted(view, school.id)
        listed.extend(
            c.id
            for c in view.corrections()
            if c.at > since and any(k.startswith(f"{school.id}@") for k in c.periods)
        )
        if before is None:
            return SignOff(school.id, school.township, p, State.SUBMITTED, True, (step,))
        superseded = before.superseded
        if before.state is State.REOPENED and before.reported is not None:
            superseded = (*superseded, before.reported)
        return attrs.evolve(
            before, steps=(*before.steps, step), reported=None, superseded=superseded
        )

    was = snap.documents(kinds.SIGNOFF, [key]).get(key)
    _take(ctx, school.id, p, Action.SUBMIT, make=lock)
    try:
        body = canonical(ledgers.reported_school_table(ctx, school.id, p.last, p.interval))
    except BaseException:
        with ctx.repo.batch("signoff.submit") as batch:  # put the period back as it was
            if was is None:
                batch.delete(kinds.SIGNOFF, key)
            else:
                batch.put(kinds.SIGNOFF, key, was)
            batch.commit()
        raise
    reported = Reported(digest(body), dict(sorted(findings.items())), tuple(listed))
    with ctx.repo.batch("signoff.submit") as batch:
        locked = batch.view.signoff(key)
        assert locked is not None  # noqa: S101 - written above; nothing deletes a sign-off
        steps = list(locked.steps)
        steps[-1] = attrs.evolve(steps[-1], sha256=reported.sha256)
        made = attrs.evolve(locked, steps=tuple(steps), reported=reported)
        batch.put(kinds.SIGNOFF, key, made)
        if not batch.view.documents(kinds.REPORTED, [reported.sha256]):
            batch.put(kinds.REPORTED, reported.sha256, {"json": body})
        batch.commit()
    return made


def _last_submitted(view: Snapshot, school_id: str) -> str:
    """When the school last submitted any period ("" if never)."""
    return max(
        (
            s.at
            for so in view.signoffs(school_id=school_id)
            for s in so.steps
            if s.action is Action.SUBMIT
        ),
        default="",
    )


def approve(ctx: Context, school_id: str, period: str | Period) -> SignOff:
    return _take(ctx, school_id, period, Action.APPROVE)


def send_back(ctx: Context, school_id: str, period: str | Period, reason: str) -> SignOff:
    return _take(ctx, school_id, period, Action.RETURN, check_reason(reason))


def reopen(ctx: Context, school_id: str, period: str | Period, reason: str) -> SignOff:
    return _take(ctx, school_id, period, Action.REOPEN, check_reason(reason))


# ---------------------------------------------------------------------------------------------
# Reading.


def view(ctx: Context, school_id: str, period: str | Period) -> SignOffView:
    p = parse_period(period)
    snap, gate = ctx.begin()
    school = _school(snap, gate, school_id)
    found = snap.signoff(signoff_key(school.id, p))
    day = min(p.last, ctx.today())
    current = unnamed(ledgers.reported_school_table(ctx, school.id, day, p.interval))
    reported, body = None, None
    if found is not None and found.reported is not None:
        doc = snap.documents(kinds.REPORTED, [found.reported.sha256]).get(found.reported.sha256)
        if doc is not None:
            body = str(doc["json"])
            reported = structure_trusted(json.loads(body), ledger.SchoolTable)
    differences: dict[str, tuple[int, int]] = {}
    if reported is not None:
        for col in sorted(set(reported.counts) | set(current.counts)):
            was, now = reported.counts.get(col, 0), current.counts.get(col, 0)
            if was != now:
                differences[col] = (was, now)
    corrections: tuple[Correction, ...] = ()
    if found is not None:
        submitted = found.step(Action.SUBMIT)
        since = submitted.at if submitted is not None else ""
        corrections = tuple(
            attrs.evolve(
                c,
                keys=_shown_keys(snap, gate, c.kind, c.keys_of(found.key)),
                periods=(found.key,),
                reached={},
            )
            for c in snap.corrections()
            if found.key in c.periods and c.at >= since
        )
    labels = {r.code: r.label() for r in ctx.plugins.quality_rules()}
    return SignOffView(
        school.id, p, found, body, reported, current, differences, corrections, labels
    )


def _shown_keys(snap: Snapshot, gate: Gate, kind: str, keys: tuple[str, ...]) -> tuple[str, ...]:
    """The keys of a correction the actor may see: every one for the county; for others those
    of the children whose file they may read today (a child's, or a record's or an
    assignment's of such a child; a study group's)."""
    if gate.actor.sees_county:
        return keys
    files = gate.files()

    def child_of(key: str) -> str | None:
        if kind == kinds.CHILD:
            return key
        if kind == kinds.RECORD:
            record = snap.record(key)
            return record.child_id if record is not None else None
        if kind == kinds.ASSIGNMENT:
            held = snap.assignment(key)
            return held.child_id if held is not None else None
        return ""

    return tuple(k for k in keys if (cid := child_of(k)) == "" or cid in files)


def signoffs(ctx: Context, period: str | Period | None) -> list[SignOff]:
    """The sign-offs of the schools the actor's office covers (of one period, or all)."""
    snap, gate = ctx.begin()
    if not gate.actor.is_official:
        return []
    key = None if period is None else parse_period(period).key
    return sorted(
        (
            s
            for s in snap.signoffs()
            if gate.school_in_scope(s.school_id) and (key is None or s.period.key == key)
        ),
        key=lambda s: (s.period.start, s.school_id, s.period.key),
    )


def pending(ctx: Context) -> list[Pending]:
    """What waits for the actor: a school head, the months of the school year so far not
    submitted (or returned, or reopened); a township officer, the submissions of the township;
    a county officer, what the townships approved; the system, both."""
    snap, gate = ctx.begin()
    actor = gate.actor
    out: list[Pending] = []
    if actor.kind is ActorKind.SCHOOL_HEAD and actor.school_id in snap.schools():
        sid = actor.school_id
        found = {s.key: s for s in snap.signoffs(school_id=sid)}
        again = (State.RETURNED, State.REOPENED)
        months = {p.key: p for p in school_months(ctx.today())}
        for p in months.values():
            if signoff_key(sid, p) not in found:
                out.append(Pending(sid, p, None, Action.SUBMIT))
        for s in found.values():
            if s.school_id == sid and s.state in again:
                out.append(Pending(sid, s.period, s.state, Action.SUBMIT))
        return sorted(out, key=lambda x: (x.period.start, x.period.key))
    found = {s.key: s for s in snap.signoffs()}
    waiting = {
        ActorKind.TOWNSHIP_OFFICER: {State.SUBMITTED},
        ActorKind.COUNTY_OFFICER: {State.TOWNSHIP_APPROVED},
        ActorKind.SYSTEM: {State.SUBMITTED, State.TOWNSHIP_APPROVED},
    }.get(actor.kind, set())
    for s in found.values():
        if s.state in waiting and gate.school_in_scope(s.school_id):
            out.append(Pending(s.school_id, s.period, s.state, Action.APPROVE))
    return sorted(out, key=lambda x: (x.period.start, x.school_id, x.period.key))


# ---------------------------------------------------------------------------------------------
# The lock.


def correction(ctx: Context, reason: str) -> AbstractContextManager[None]:
    """A block whose writes that reach a locked period are made as corrections with ``reason``
    (checked now; the role is checked on each write)."""
    return _correcting(ctx, check_reason(reason))


@contextmanager
def _correcting(ctx: Context, checked: str) -> Iterator[None]:
    before = ctx.session.get("correction")
    ctx.session["correction"] = checked
    try:
        yield
    finally:
        if before is None:
            ctx.session.pop("correction", None)
        else:
            ctx.session["correction"] = before


Reaches = Callable[[str, Period], bool]
#: The schools whose periods a change may reach, and whether it reaches one of their periods.
Reach = tuple[frozenset[str], Reaches]
#: The first day a record of a duty kind can count in a period (see :func:`record_windows`).
Since = Callable[[Period, str], date]


def record_windows(ctx: Context, snap: Snapshot) -> Since:
    """For a period and a duty kind, the first day of the earliest window of the kind that
    meets the period on the county's calendar: a record from that day to the period's last
    counts in its tables. Worked out once per period, when first asked."""
    made: dict[str, dict[str, date]] = {}
    kinds_ = ctx.duty_kinds()

    def since(period: Period, kind: str) -> date:
        if period.key not in made:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", CalendarFallbackWarning)
                calendar = ctx.calendar(snap, period.interval)
            plan = duty_plan(calendar, kinds_, period.interval)
            first: dict[str, date] = {}
            for code, start, *_ in plan.windows:
                day = date.fromordinal(start)
                if code not in first or day < first[code]:
                    first[code] = day
            made[period.key] = first
        return min(made[period.key].get(kind, period.start), period.start)

    return since


def guard(ctx: Context, batch: Batch, kind: str, changes: Iterable[tuple[str, Reach]]) -> None:
    """Refuse the command unless none of ``changes`` — each a document's key, the schools whose
    periods its change may reach, and whether it reaches one — reaches a locked period, or it
    is made as a correction by a role that may make one (then kept and audited). Call it
    before writing anything; ``changes`` is not looked at while no period is locked."""
    locks: dict[str, list[SignOff]] = {}
    for lock in batch.view.signoffs(locked=True):
        locks.setdefault(lock.school_id, []).append(lock)
    if not locks:
        return
    reached: dict[str, list[SignOff]] = {}
    for key, (schools, reaches) in changes:
        hit = [s for sid in sorted(schools) for s in locks.get(sid, ()) if reaches(sid, s.period)]
        if hit:
            reached[key] = hit
    if not reached:
        return
    reason = ctx.session.get("correction")
    first_key, first = next(iter(reached.items()))
    lock = first[0]
    if reason is None:
        msg = text(
            "{kind} {key} and {more} more would change what {school} reported for {period} "
            "({state}): nothing was written; a correction must give its reason",
            kind=text(f"kind.{kind}"),
            key=shown_key(first_key),
            more=len(reached) - 1,
            school=lock.school_id,
            period=lock.period.label,
            state=lock.state.label,
        )
        if len(reached) == 1:
            msg = text(
                "{kind} {key} would change what {school} reported for {period} ({state}): "
                "nothing was written; a correction must give its reason",
                kind=text(f"kind.{kind}"),
                key=shown_key(first_key),
                school=lock.school_id,
                period=lock.period.label,
                state=lock.state.label,
            )
        raise PeriodLockedError(kind, first_key, lock.school_id, lock.period.key, len(reached), msg)
    gate = Gate(ctx.actor, ctx.today(), batch.view)
    gate.require("corrections.write", "correct a locked period", first_key)
    for key, hit in reached.items():  # a head corrects their own school's periods only
        if any(not gate.school_in_scope(s.school_id) for s in hit):
            raise gate.deny("correct a locked period", key)
    by_period: dict[str, list[str]] = {}
    for key, hit in reached.items():
        for lock in hit:
            by_period.setdefault(lock.key, []).append(key)
    at = stamp(ctx.repo.now())
    made = Correction(
        f"{at}-{secrets.token_hex(4)}",
        at,
        ctx.actor.kind.value,
        ctx.actor.id,
        str(reason),
        batch.command,
        kind,
        tuple(sorted(reached)),
        tuple(sorted(by_period)),
        {k: tuple(sorted(v)) for k, v in sorted(by_period.items())},
    )
    batch.put(kinds.CORRECTION, made.id, made)
    batch.reason = str(reason)
