"""The commands for scripts and for people: ``diff``, ``find`` and ``notices`` (each with
``--json``), and what ``deliver`` and ``export`` show while they work.

Registered on :data:`leftbehind.cli.main` when :mod:`leftbehind.cli` is imported. Answers go
to standard output; messages and progress to standard error.
"""

from __future__ import annotations

import logging
import sys
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, date, datetime

import click
from rich.markup import escape

from leftbehind.access import Actor, ActorKind
from leftbehind.cli import (
    DATE,
    _console,
    _open,
    actor_option,
    main,
    reports_errors,
    store_option,
)
from leftbehind.cli.console import joined
from leftbehind.cli.demo import _Phases
from leftbehind.cli.output import echo_json, json_option, stderr_progress
from leftbehind.domain.i18n import text
from leftbehind.domain.ids import mask_resident_id
from leftbehind.domain.ledger import LedgerDiff, Movement
from leftbehind.outbox import DeliveryReport, OutboxEntry
from leftbehind.service import County

__all__ = ["delivered_lines", "diff", "find", "ledger_phases", "log_to_stderr", "notices"]

#: The logger the ``log`` channel writes to unless its settings name another.
NOTICE_LOGGER = "leftbehind.notices"


# ---------------------------------------------------------------------------------------------
# diff


def _movement_line(m: Movement, schools: Mapping[str, str]) -> str:
    sign = "+" if m.entered else "-"
    who = f"{m.child_id} {m.name}".rstrip()
    on = m.on.isoformat() if m.on else "—"
    school = schools.get(m.school_id, m.school_id)
    cause = f"  {m.cause}" if m.cause else ""
    return f"  {sign} {on}  {who}  {school}  {m.reason.label}{cause}"


def _print_diff(found: LedgerDiff, schools: Mapping[str, str]) -> None:
    console = _console()
    console.print(
        escape(
            text(
                "from {before} to {after}: {entered} entered, {left} left",
                before=found.before.isoformat(),
                after=found.after.isoformat(),
                entered=len(found.entered),
                left=len(found.left),
            )
        ),
        style="bold",
    )
    for title, moves in ((text("entered:"), found.entered), (text("left:"), found.left)):
        if not moves:
            continue
        console.print(escape(title))
        ordered = sorted(moves, key=lambda m: (m.on or found.after, m.school_id, m.child_id))
        for m in ordered:
            console.print(escape(_movement_line(m, schools)))


@main.command()
@click.argument("before", type=DATE)
@click.argument("after", type=DATE)
@json_option("As JSON: the two days and each movement (school, child, reason, day, cause).")
@store_option
@actor_option
@reports_errors
def diff(before: date, after: date, as_json: bool, store: str | None, actor: Actor) -> None:
    """Who entered and who left the served children between two days, and why.

    Children are those whose file the actor may read; each by record key and name, with the
    school, the day of the change, the reason and the fact that caused it.

    \b
      leftbehind diff 2026-03-01 2026-06-30
      leftbehind diff 2026-03-01 2026-06-30 --json | jq '.movements[].child_id'
    """
    if before > after:
        raise click.UsageError(text("the first day must not come after the second"))
    with _open(store, actor) as county:
        found = county.diff(before, after)
        schools = {k: s.name for k, s in county.schools().items()}
    if as_json:
        echo_json(found)
        return
    _print_diff(found, schools)


# ---------------------------------------------------------------------------------------------
# find


@main.command()
@click.option("--name", default=None, help="The child's full name, as written in the file.")
@click.option(
    "--id",
    "resident_id",
    default=None,
    metavar="NUMBER",
    help="The child's resident ID number, 18 characters.",
)
@json_option("As JSON: each child found, masked as for the actor.")
@store_option
@actor_option
@reports_errors
def find(
    name: str | None, resident_id: str | None, as_json: bool, store: str | None, actor: Actor
) -> None:
    """Look a child up by name or resident ID number, among the children whose file the actor
    may read.

    Every lookup is written to the audit log (which terms were given and how many children
    were found, never the terms). ID numbers are shown masked. Exits 1 when no child is
    found.

    \b
      leftbehind find --name 王芳
      leftbehind find --id 130432201507090061 --as school:H01:S01
    """
    if name is None and resident_id is None:
        raise click.UsageError(text("give --name, --id or both"))
    with _open(store, actor) as county:
        found = county.find(name=name, resident_id=resident_id)
        schools = {k: s.name for k, s in county.schools().items()}
        day = county.today()
    if as_json:
        shown = [
            {
                "child_id": c.id,
                "name": c.name,
                "sex": c.sex.value,
                "resident_id": mask_resident_id(c.resident_id) if c.resident_id else "",
                "school_id": e.school_id if (e := c.enrolment_on(day)) else None,
                "grade": e.grade_on(day) if e else None,
                "class_name": e.class_name if e else None,
            }
            for c in found
        ]
        echo_json({"children": shown})
    else:
        for c in found:
            number = mask_resident_id(c.resident_id) if c.resident_id else "—"
            enrolment = c.enrolment_on(day)
            where = (
                text(
                    "{school} grade {grade} {class_name}",
                    school=schools.get(enrolment.school_id, enrolment.school_id),
                    grade=enrolment.grade_on(day),
                    class_name=enrolment.class_name,
                )
                if enrolment
                else text("not enrolled today")
            )
            click.echo(
                f"{c.id}  {c.name}  {c.sex.label}  {where}  "
                + text("ID number {number}", number=number)
            )
        click.echo(text("children found: {count}", count=len(found)), err=True)
    if not found:
        sys.exit(1)


# ---------------------------------------------------------------------------------------------
# notices


_STATES = ("pending", "sent", "failed")


def _moment(at: datetime | None) -> str | None:
    """A time of the outbox as ISO 8601 in UTC, to the second (``2026-06-30T08:00:00Z``)."""
    if at is None:
        return None
    return at.astimezone(UTC).replace(microsecond=0, tzinfo=None).isoformat() + "Z"


def _entry(e: OutboxEntry) -> dict[str, object]:
    """An outbox entry as a script reads it: no body (the notice's text), no lease."""
    return {
        "key": e.notice.key,
        "kind": e.notice.kind,
        "recipient": e.notice.recipient,
        "subject": e.notice.subject,
        "children": list(e.notice.children),
        "channel": e.channel,
        "state": e.state,
        "attempts": e.attempts,
        "created": _moment(e.created),
        "due": _moment(e.due),
        "sent_at": _moment(e.sent_at),
        "last_error": e.last_error,
    }


@main.command()
@click.option(
    "--state",
    "states",
    type=click.Choice(_STATES),
    multiple=True,
    help="Only the notices in this state: pending (queued), sent or failed; may be repeated.",
)
@json_option("As JSON: each notice's key, kind, recipient, channel, state and times.")
@store_option
@actor_option
@reports_errors
def notices(states: tuple[str, ...], as_json: bool, store: str | None, actor: Actor) -> None:
    """The outbox: the notices queued, sent and failed (system and county officers).

    Each notice by its key, kind, recipient (a staff ID), channel and state, with its
    attempts and times; never the notice's text.

    \b
      leftbehind notices --state failed
      leftbehind notices --json | jq '.notices[] | select(.state == "pending") | .key'
    """
    with _open(store, actor) as county:
        found = county.notices()
    wanted = states or _STATES
    entries = [e for state in _STATES if state in wanted for e in found[state]]
    if as_json:
        echo_json({"notices": [_entry(e) for e in entries]})
        return
    for e in entries:
        when = e.sent_at or e.due or e.created
        at = when.strftime("%Y-%m-%d %H:%M") if when else "—"
        error = f"  {e.last_error}" if e.last_error else ""
        click.echo(
            f"{_state_label(e.state)}  {at}  {e.notice.key}  {e.notice.kind}  "
            f"→ {e.notice.recipient}  {e.channel}  "
            + text("attempts {count}", count=e.attempts)
            + error
        )
    counts = Counter(e.state for e in entries)
    click.echo(
        text(
            "pending {pending}, sent {sent}, failed {failed}",
            pending=counts["pending"],
            sent=counts["sent"],
            failed=counts["failed"],
        )
    )


def _state_label(state: str) -> str:
    labels = {"pending": text("pending"), "sent": text("sent"), "failed": text("failed")}
    return labels.get(state, state)


# ---------------------------------------------------------------------------------------------
# deliver and export: what people see


def _target(kind: str) -> str:
    """Where a channel of type ``kind`` delivers, in words (no address, no secret)."""
    targets = {
        "log": text("the log, on standard error"),
        "wecom": text("a WeCom group robot"),
        "webhook": text("a webhook"),
        "email": text("e-mail"),
    }
    return targets.get(kind, kind)


def delivered_lines(
    report: DeliveryReport, types: Mapping[str, str], kinds: Mapping[str, str]
) -> list[tuple[str, bool]]:
    """Lines saying where the notices of one ``deliver`` run went: one per channel with how
    many of each kind were sent; one per notice that failed or lapsed (its key, kind, channel
    and the error, which names no personal value), for standard error (``True``)."""
    lines: list[tuple[str, bool]] = []
    by_channel: dict[str, Counter[str]] = {}
    for key in report.sent:
        channel = report.channels.get(key, "?")
        by_channel.setdefault(channel, Counter())[kinds.get(key, "?")] += 1
    for channel, counted in sorted(by_channel.items()):
        shown = joined(f"{kind} × {n}" for kind, n in sorted(counted.items()))
        line = text(
            "channel {channel} ({target}): sent {count} ({kinds})",
            channel=channel,
            target=_target(types.get(channel, "")),
            count=sum(counted.values()),
            kinds=shown,
        )
        lines.append((line, False))
    for outcome, keys in (
        ("retrying", report.retrying),
        ("parked", report.parked),
        ("lapsed", report.lapsed),
    ):
        for key in keys:
            channel = report.channels.get(key, "?")
            line = text(
                "not sent: {key} ({kind}) through channel {channel} ({target}): {outcome} {error}",
                key=key,
                kind=kinds.get(key, "?"),
                channel=channel,
                target=_target(types.get(channel, "")),
                outcome=outcome,
                error=report.errors.get(key, ""),
            )
            lines.append((line.rstrip(), True))
    if report.unrouted:
        lines.append(
            (text("no channel for {count} notices", count=len(report.unrouted)), True),
        )
    return lines


@contextmanager
def log_to_stderr(county: County) -> Iterator[None]:
    """The ``log`` channel's lines on standard error for the block, one per notice (its key
    and kind), unless its logger has handlers of its own (a county app's); as they were
    afterwards. The lines are not passed on to the root logger meanwhile (not twice)."""
    names = {NOTICE_LOGGER}
    channels = county.settings().get("channels") or {}
    for settings in channels.values():
        if isinstance(settings, Mapping) and settings.get("type") == "log":
            names.add(str(settings.get("logger") or NOTICE_LOGGER))
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    saved: list[tuple[logging.Logger, int, bool]] = []
    for name in sorted(names):
        logger = logging.getLogger(name)
        if logger.handlers:
            continue
        saved.append((logger, logger.level, logger.propagate))
        logger.addHandler(handler)
        logger.propagate = False
        if logger.getEffectiveLevel() > logging.INFO:
            logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        for logger, level, propagate in saved:
            logger.removeHandler(handler)
            logger.setLevel(level)
            logger.propagate = propagate


@contextmanager
def ledger_phases(county: County) -> Iterator[_Phases]:
    """A transient bar on standard error over the ledger files an export writes."""
    actor = county.actor
    files = 1
    if actor.sees_county or actor.kind is ActorKind.TOWNSHIP_OFFICER:
        files += 1
    if actor.is_official:
        files += 1
    with stderr_progress() as bar:
        yield _Phases(bar, total=files)
