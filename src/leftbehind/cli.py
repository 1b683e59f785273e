"""The ``leftbehind`` command.

Exit codes a script can rely on: 0 success; 1 the command failed (bad input, a missing record,
a store error) with a message on standard error; 2 a usage error (a bad option or argument).
Every command takes ``--store URL`` (or ``$LEFTBEHIND_STORE``; default ``./leftbehind.json``).
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from datetime import date
from typing import Any, ParamSpec, TypeVar

import click
from rich.console import Console

import leftbehind
from leftbehind.county import STORE_ENV, County
from leftbehind.domain.errors import LeftbehindError, ValidationError
from leftbehind.domain.ids import mask_resident_id
from leftbehind.sample import sample_county

__all__ = ["main"]

P = ParamSpec("P")
R = TypeVar("R")


class _Date(click.ParamType):  # type: ignore[type-arg]
    name = "YYYY-MM-DD"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> date:
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            self.fail("expected a date written YYYY-MM-DD, such as 2026-05-10", param, ctx)


DATE = _Date()


def _console() -> Console:
    return Console(highlight=False, soft_wrap=True)


def store_option(f: Callable[P, R]) -> Callable[P, R]:
    """``--store URL`` on a command."""
    return click.option(
        "--store",
        "store",
        envvar=STORE_ENV,
        default=None,
        metavar="URL",
        help="The county store: a path (TinyDB), memory://, sqlite:///path or postgresql://… "
        f"[default: ${STORE_ENV} or ./leftbehind.json]",
    )(f)


def reports_errors(f: Callable[P, R]) -> Callable[P, R]:
    """Turn library errors into a message on standard error and exit code 1."""

    @functools.wraps(f)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return f(*args, **kwargs)
        except ValidationError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)
        except LeftbehindError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)

    return wrapper


def _open(store: str | None, **kwargs: Any) -> County:
    return leftbehind.open(store, **kwargs)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="leftbehind")
def main() -> None:
    """Run a county's care action for rural left-behind children (留守兒童關愛行動).

    \b
    Start with:
      leftbehind demo            the whole action on a sample county
      leftbehind child C000001   one child's categories, reasons and timeline

    Every command takes --store URL; see `leftbehind COMMAND --help`.
    """


@main.command()
@click.option(
    "--as-of",
    "as_of",
    type=DATE,
    default=None,
    help="The day to decide on (default: the sample's own day).",
)
def demo(as_of: date | None) -> None:
    """Show the sample county: who is served as of a day, why, and what changes next."""
    county = sample_county()
    day = as_of or county.as_of
    schools = {s.id: s for s in county.schools}
    plan, national = leftbehind.PlanPolicy(), leftbehind.NationalPolicy()
    console = _console()
    console.print(
        f"[bold]{county.name} 工作對象[/bold] as of {day.isoformat()} "
        f"(policy {plan.name} v{plan.version}; 國家口徑 {national.name} v{national.version})"
    )
    for child in county.children:
        timeline = plan.timeline(child, schools)
        decision = timeline.decision(day)
        change = timeline.next_change(day)
        enrolment = child.enrolment_on(day) or child.enrolments[-1]
        categories = "、".join(sorted(c.label for c in decision.categories)) or "不在工作對象內"
        national_cats = national.timeline(child, schools).categories_on(day)
        console.print(
            f"\n[bold]{child.id}[/bold] {schools[enrolment.school_id].name}  "
            f"[cyan]{categories}[/cyan]"
        )
        for reason in decision.reasons:
            console.print(f"    理由 {reason.text}")
        if decision.missing:
            console.print(f"    缺少資料 missing facts: {', '.join(decision.missing)}")
        if change is not None:
            console.print(f"    [green]→ {change.describe()}[/green]")
        console.print(
            "    國家口徑 national rule: "
            + ("、".join(sorted(c.label for c in national_cats)) or "—")
        )


@main.command()
@click.argument("child_id")
@click.option(
    "--as-of", "as_of", type=DATE, default=None, help="The day to decide on [default: today]."
)
@store_option
@reports_errors
def child(child_id: str, as_of: date | None, store: str | None) -> None:
    """One child's categories as of a day, the reasons, and the whole timeline.

    ID numbers are shown masked.
    """
    with _open(store) as county:
        day = as_of or county.today()
        file = county.child(child_id)
        timeline = county.timeline(child_id)
        decision = timeline.decision(day)
        console = _console()
        console.print(
            f"[bold]{file.id}[/bold] {file.name} {file.sex.label} "
            f"身份證 {mask_resident_id(file.resident_id) if file.resident_id else '—'}"
        )
        categories = "、".join(sorted(c.label for c in decision.categories)) or "不在工作對象內"
        console.print(f"as of {day.isoformat()}: [cyan]{categories}[/cyan]")
        for reason in decision.reasons:
            console.print(f"    理由 {reason.text}")
        if decision.missing:
            console.print(f"    缺少資料 missing facts: {', '.join(decision.missing)}")
        console.print(f"timeline ({timeline.policy} v{timeline.version}):")
        for span in timeline.spans:
            end = span.end.isoformat() if span.end else "…"
            console.print(f"    {span.start.isoformat()} – {end}  {span.category.label}")
        change = timeline.next_change(day)
        if change is not None:
            console.print(f"[green]→ {change.describe()}[/green]")
