"""The ``leftbehind`` command.

Exit codes a script can rely on: 0 success, 1 a command failed (bad input, a store error),
2 a usage error (click's own).
"""

from __future__ import annotations

from datetime import date

import click
from rich.console import Console

from leftbehind.domain.eligibility import NationalPolicy, PlanPolicy
from leftbehind.sample import sample_county

__all__ = ["main"]


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


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="leftbehind")
def main() -> None:
    """Run a county's care action for rural left-behind children (留守兒童關愛行動).

    Start with `leftbehind demo`, which shows the whole action on a sample county.
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
    plan, national = PlanPolicy(), NationalPolicy()
    console = Console(highlight=False)
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
