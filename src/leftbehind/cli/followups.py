"""``leftbehind followups`` and ``leftbehind followup …``: the needs found for children, each a
follow-up (跟进事项) owed by someone, listed, raised, closed, referred; the county's rules.

Registered on :data:`leftbehind.cli.main` when :mod:`leftbehind.cli` is imported. Lists name
follow-ups, children and owners by key; a need's text is shown only as JSON, to an actor who
may see the follow-up.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import click

from leftbehind.access import Actor
from leftbehind.cli import DATE, _open, actor_option, main, reports_errors, store_option
from leftbehind.cli.output import echo_json, json_option
from leftbehind.domain.errors import Issue, ValidationError
from leftbehind.domain.followups import Agency, FollowUp, FollowUpRules, FollowUpStatus, NeedKind
from leftbehind.domain.i18n import text
from leftbehind.service.followups import counts

__all__ = ["follow_up_json", "followup", "followups"]

_NEEDS = click.Choice([k.value for k in NeedKind])
_AGENCIES = click.Choice([a.value for a in Agency])
_STATUSES = click.Choice([s.value for s in FollowUpStatus])


def follow_up_json(fu: FollowUp, as_of: date) -> dict[str, Any]:
    """A follow-up as JSON data, with its status as of ``as_of`` (stable English keys)."""
    state = fu.status(as_of)
    return {
        "id": fu.id,
        "child": fu.child_id,
        "school": fu.school_id,
        "need": fu.kind.value,
        "note": fu.note,
        "owner": fu.owner_id,
        "raised_on": fu.raised_on.isoformat(),
        "raised_by": fu.raised_by,
        "record": fu.record_id,
        "due_on": fu.due_on.isoformat(),
        "escalate_on": fu.escalate_on.isoformat(),
        "status": None if state is None else state.value,
        "closed": None
        if fu.closure is None
        else {"on": fu.closure.on.isoformat(), "by": fu.closure.by, "action": fu.closure.action},
        "referrals": [
            {"agency": r.agency.value, "on": r.on.isoformat(), "by": r.by, "note": r.note}
            for r in fu.referrals
        ],
    }


def _line(fu: FollowUp, as_of: date) -> str:
    state = fu.status(as_of)
    parts = [
        fu.id,
        state.label if state is not None else "-",
        fu.child_id,
        fu.kind.label,
        text("owed by {owner}", owner=fu.owner_id),
        text("due {day}", day=fu.due_on.isoformat()),
    ]
    if fu.closure is not None:
        parts.append(text("closed {day}", day=fu.closure.on.isoformat()))
    parts += [f"→ {r.agency.label} {r.on.isoformat()}" for r in fu.referrals]
    return "  ".join(parts)


@main.command(name="followups")
@click.option("--as-of", "as_of", type=DATE, default=None, help="The day [default: today].")
@click.option("--school", default=None, metavar="SCHOOL_ID", help="One school's follow-ups.")
@click.option("--owner", default=None, metavar="STAFF_ID", help="Those one person owes.")
@click.option("--child", default=None, metavar="CHILD_ID", help="One child's follow-ups.")
@click.option("--status", type=_STATUSES, default=None, help="Those in this status on the day.")
@json_option("As JSON: the follow-ups and their counts per school (keys, codes, days).")
@store_option
@actor_option
@reports_errors
def followups(
    as_of: date | None,
    school: str | None,
    owner: str | None,
    child: str | None,
    status: str | None,
    as_json: bool,
    store: str | None,
    actor: Actor,
) -> None:
    """The follow-ups in reach as of a day: due, overdue, escalated, closed.

    One line each (key, status, child, need, owner, due day, closing, referrals), by due day,
    then the counts per school. A school head sees their school's; a teacher or proxy parent
    those they owe.
    """
    with _open(store, actor) as county:
        day = as_of or county.today()
        found = county.follow_ups(as_of=day, school=school, owner=owner, child=child)
        chosen = [f for f in found if status is None or f.status(day) is FollowUpStatus(status)]
        per_school = counts(found, day)
        if as_json:
            echo_json(
                {
                    "as_of": day.isoformat(),
                    "follow_ups": [follow_up_json(f, day) for f in chosen],
                    "schools": per_school,
                }
            )
            return
        for fu in chosen:
            click.echo(_line(fu, day))
        for school_id, row in per_school.items():
            click.echo(
                text(
                    "school {school}: {due} due, {overdue} overdue, {escalated} escalated, "
                    "{closed} closed",
                    school=school_id or "-",
                    **row,
                )
            )
        click.echo(text("follow-ups: {count} as of {day}", count=len(chosen), day=day.isoformat()))


@main.group(name="followup")
def followup() -> None:
    """Raise, close and refer follow-ups; show or change the county's rules."""


@followup.command(name="raise")
@click.argument("child_id")
@click.option("--need", "needs", type=_NEEDS, multiple=True, required=True, help="A need found.")
@click.option("--note", default="", help="What was found (kept with the follow-up).")
@click.option(
    "--owner", default=None, metavar="STAFF_ID", help="Who owes it [default: the proxy parent]."
)
@click.option("--on", "on", type=DATE, default=None, help="The day it was found [default: today].")
@click.option("--record", "record_id", default=None, metavar="RECORD_ID", help="The record.")
@json_option("As JSON: the follow-ups raised.")
@store_option
@actor_option
@reports_errors
def raise_(
    child_id: str,
    needs: tuple[str, ...],
    note: str,
    owner: str | None,
    on: date | None,
    record_id: str | None,
    as_json: bool,
    store: str | None,
    actor: Actor,
) -> None:
    """Raise needs found for a child: one follow-up each, owed by the proxy parent."""
    given = [{"kind": k, "note": note, "owner_id": owner} for k in needs]
    with _open(store, actor) as county:
        made = county.raise_needs(child_id, given, on=on, record_id=record_id)
        day = county.today()
    if as_json:
        echo_json({"follow_ups": [follow_up_json(f, day) for f in made]})
        return
    for fu in made:
        click.echo(
            text(
                "{key}: {need}, owed by {owner}, due {day}",
                key=fu.id,
                need=fu.kind.label,
                owner=fu.owner_id,
                day=fu.due_on.isoformat(),
            )
        )


@followup.command(name="close")
@click.argument("key")
@click.option("--on", "on", type=DATE, default=None, help="The day [default: today].")
@click.option("--action", required=True, help="What was done.")
@store_option
@actor_option
@reports_errors
def close(key: str, on: date | None, action: str, store: str | None, actor: Actor) -> None:
    """Close a follow-up, saying what was done."""
    with _open(store, actor) as county:
        fu = county.close_follow_up(key, on=on, action=action)
    assert fu.closure is not None  # noqa: S101 - just closed
    click.echo(text("{key} closed on {day}", key=fu.id, day=fu.closure.on.isoformat()))


@followup.command(name="refer")
@click.argument("key")
@click.option("--agency", type=_AGENCIES, required=True, help="The agency referred to.")
@click.option("--on", "on", type=DATE, default=None, help="The day [default: today].")
@click.option("--note", default="", help="What was asked of it.")
@store_option
@actor_option
@reports_errors
def refer(
    key: str, agency: str, on: date | None, note: str, store: str | None, actor: Actor
) -> None:
    """Record that a follow-up was referred to another agency."""
    with _open(store, actor) as county:
        fu = county.refer(key, agency=agency, on=on, note=note)
    last = fu.referrals[-1]
    click.echo(
        text(
            "{key} referred to {agency} on {day}",
            key=fu.id,
            agency=last.agency.label,
            day=last.on.isoformat(),
        )
    )


def _days(values: tuple[str, ...], name: str) -> dict[str, int]:
    out: dict[str, int] = {}
    issues = []
    for value in values:
        kind, _, days = value.partition("=")
        if not days.strip().isdigit():
            issues.append(Issue(f"{name}.{kind}", "days", "write KIND=DAYS, such as safety=3"))
            continue
        out[kind.strip()] = int(days)
    if issues:
        raise ValidationError(issues, subject="follow_up_rules")
    return out


def _rules_json(rules: FollowUpRules) -> dict[str, Any]:
    return rules.to_settings()


@followup.command(name="rules")
@click.option("--due", multiple=True, metavar="KIND=DAYS", help="Days until due (safety=3).")
@click.option(
    "--escalate", multiple=True, metavar="KIND=DAYS", help="Further days until escalated."
)
@json_option("As JSON: the days per need, by code.")
@store_option
@actor_option
@reports_errors
def rules(
    due: tuple[str, ...], escalate: tuple[str, ...], as_json: bool, store: str | None, actor: Actor
) -> None:
    """Show the county's follow-up rules, or change some (county officers)."""
    with _open(store, actor) as county:
        if due or escalate:
            found = county.set_follow_up_rules(
                due_days=_days(due, "due_days"), escalate_days=_days(escalate, "escalate_days")
            )
        else:
            found = county.follow_up_rules()
    if as_json:
        echo_json(_rules_json(found))
        return
    for kind in NeedKind:
        click.echo(
            text(
                "{need} ({code}): due in {due} days, escalated {escalate} days later",
                need=kind.label,
                code=kind.value,
                due=found.due(kind),
                escalate=found.escalate(kind),
            )
        )
