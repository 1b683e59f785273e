"""Sign-off on the command line: ``submit``, ``approve``, ``return``, ``reopen``, ``pending`` and
``signoff`` (a school's period as reported beside today's figures, its form with the approval
lines).

Registered on :data:`leftbehind.cli.main` when :mod:`leftbehind.cli` is imported.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from leftbehind.access import Actor, ActorKind
from leftbehind.cli import _open, actor_option, main, reports_errors, store_option
from leftbehind.cli.output import echo_json, json_option
from leftbehind.domain.i18n import text
from leftbehind.domain.signoff import SignOff
from leftbehind.service.signoff import Pending, SignOffView, china_time

__all__ = ["signoff_json", "view_json"]

_PERIOD = "PERIOD"
_PERIOD_HELP = "2026-03 (a month), 2025-2026-1 (a semester) or 2025-2026 (a school year)."


def _state(s: SignOff) -> str:
    return f"{s.school_id} {s.period.key} {s.state.label}"


def signoff_json(s: SignOff) -> dict[str, Any]:
    """A sign-off as JSON data (English keys): its state, steps and what was reported (the
    digest, the findings counted, the corrections listed; the tables themselves under
    ``signoff``'s ``reported``)."""
    return {
        "school": s.school_id,
        "township": s.township,
        "period": s.period.key,
        "state": s.state.value,
        "locked": s.locked,
        "steps": [
            {
                "action": st.action.value,
                "level": st.level.value,
                "actor": st.actor,
                "actor_id": st.actor_id,
                "at": st.at,
                "reason": st.reason,
                "sha256": st.sha256,
            }
            for st in s.steps
        ],
        "sha256": s.reported.sha256 if s.reported is not None else None,
        "findings": dict(s.reported.findings) if s.reported is not None else {},
        "corrections_listed": list(s.reported.corrections) if s.reported is not None else [],
        "superseded": [r.sha256 for r in s.superseded],
    }


def view_json(v: SignOffView) -> dict[str, Any]:
    """A school's period as JSON data: the sign-off, the tables as reported (their JSON, as
    submitted), the counts that differ today, and the corrections (who, when, why, what)."""
    return {
        "school": v.school_id,
        "period": v.period.key,
        "signoff": signoff_json(v.signoff) if v.signoff is not None else None,
        "reported": v.reported_json,
        "differences": {k: {"reported": a, "today": b} for k, (a, b) in v.differences.items()},
        "corrections": [
            {
                "id": c.id,
                "at": c.at,
                "actor": c.actor,
                "actor_id": c.actor_id,
                "reason": c.reason,
                "command": c.command,
                "kind": c.kind,
                "keys": list(c.keys),
            }
            for c in v.corrections
        ],
    }


def _took(s: SignOff) -> None:
    click.echo(
        text(
            "{school} {period}: {state}",
            school=s.school_id,
            period=s.period.label,
            state=s.state.label,
        )
    )
    if s.reported is not None and s.steps and s.steps[-1].sha256:
        click.echo(text("SHA-256 of the tables as reported: {sha}", sha=s.reported.sha256))


def _step(*, reason: bool = False, name: str | None = None) -> Callable[[Any], Any]:
    """A sign-off step's command: ``SCHOOL PERIOD`` (and ``--reason`` when it needs one), the
    store, the actor, errors reported."""

    def make(f: Any) -> Any:
        for option in (reports_errors, actor_option, store_option):
            f = option(f)
        if reason:
            why = "Why (kept and shown; no names or IDs)."
            f = click.option("--reason", required=True, help=why)(f)
        f = click.argument("period", metavar=_PERIOD)(f)
        f = click.argument("school")(f)
        return main.command(name=name)(f)

    return make


@main.command()
@click.argument("school")
@click.argument("period", metavar=_PERIOD)
@click.option(
    "--despite-findings",
    is_flag=True,
    help="Submit although the data-quality checks found errors (they are counted in it).",
)
@store_option
@actor_option
@reports_errors
def submit(
    school: str, period: str, despite_findings: bool, store: str | None, actor: Actor
) -> None:
    """Submit a school's tables for PERIOD (its head): kept as reported, the period locked.

    \b
    PERIOD: 2026-03 (a month), 2025-2026-1 (a semester) or 2025-2026 (a school year), from
    its last day on. The data-quality checks run first; errors refuse the submission unless
    --despite-findings.
    """
    with _open(store, actor) as county:
        _took(county.submit(school, period, despite_findings=despite_findings))


@_step()
def approve(school: str, period: str, store: str | None, actor: Actor) -> None:
    """Approve a school's submitted PERIOD: the township first, then the county."""
    with _open(store, actor) as county:
        _took(county.approve(school, period))


@_step(reason=True, name="return")
def return_(school: str, period: str, reason: str, store: str | None, actor: Actor) -> None:
    """Return a school's submitted PERIOD with a reason: open for entry again."""
    with _open(store, actor) as county:
        _took(county.send_back(school, period, reason))


@_step(reason=True)
def reopen(school: str, period: str, reason: str, store: str | None, actor: Actor) -> None:
    """Reopen a school's approved PERIOD with a reason (county officers)."""
    with _open(store, actor) as county:
        _took(county.reopen(school, period, reason))


def _pending_json(p: Pending) -> dict[str, Any]:
    return {
        "school": p.school_id,
        "period": p.period.key,
        "state": p.state.value if p.state is not None else None,
        "action": p.action.value,
    }


@main.command()
@json_option("As JSON: school, period, state and the step awaited.")
@store_option
@actor_option
@reports_errors
def pending(as_json: bool, store: str | None, actor: Actor) -> None:
    """What waits for me: periods to submit, or to approve."""
    with _open(store, actor) as county:
        waiting = county.pending()
    if as_json:
        echo_json([_pending_json(p) for p in waiting])
        return
    none = text("signoff.state.none")
    for p in waiting:
        state = p.state.label if p.state is not None else none
        click.echo(f"{p.school_id}  {p.period.key}  {p.period.label}  {state}  → {p.action.todo}")
    click.echo(text("waiting for you: {count}", count=len(waiting)))


@main.command(name="signoff")
@click.argument("school")
@click.argument("period", metavar=_PERIOD)
@click.option(
    "--form",
    "form",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write the tables as reported as the printed form (XLSX), with the approval lines.",
)
@json_option("As JSON: the sign-off, the tables as reported, the differences, the corrections.")
@store_option
@actor_option
@reports_errors
def signoff_(
    school: str, period: str, form: str | None, as_json: bool, store: str | None, actor: Actor
) -> None:
    """A school's PERIOD: its steps, the tables as reported beside today's, the corrections."""
    with _open(store, actor) as county:
        v = county.signoff(school, period)
        written = county.export_signoff(school, period, form) if form else None
    if as_json:
        echo_json(view_json(v))
        return
    state = v.state.label if v.state is not None else text("signoff.state.none")
    click.echo(
        text("{school} {period}: {state}", school=school, period=v.period.label, state=state)
    )
    for line in v.stamps():
        click.echo(f"  {line}")
    if v.reported is not None:
        if v.differences:
            click.echo(text("differs today from what was reported:"))
            for col, (was, now) in v.differences.items():
                click.echo(f"  {col}: {was} → {now}")
        else:
            click.echo(text("today's figures are those reported"))
    for c in v.corrections:
        click.echo(
            text(
                "correction {at} by {actor} {actor_id}: {reason} ({command}, {kind} {keys})",
                at=china_time(c.at).strftime("%Y-%m-%d %H:%M"),
                actor=ActorKind(c.actor).label,
                actor_id=c.actor_id,
                reason=c.reason,
                command=c.command,
                kind=text(f"kind.{c.kind}"),
                keys=", ".join(c.keys[:5]) + (" …" if len(c.keys) > 5 else ""),
            )
        )
    if written is not None:
        click.echo(text("wrote {path}", path=written))
