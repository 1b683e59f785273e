"""What the command line prints: consoles, decisions and digests, in the bureau's terms."""

from __future__ import annotations

from datetime import date, timedelta

from rich.console import Console

from leftbehind.domain.eligibility import Decision, Timeline
from leftbehind.service import County

__all__ = ["make_console", "print_decision", "print_digest"]


def make_console() -> Console:
    """A console for tables: never squeezed below 120 columns when not on a terminal."""
    console = Console(highlight=False, soft_wrap=True)
    if not console.is_terminal and console.width < 120:
        console = Console(highlight=False, soft_wrap=True, width=120)
    return console


def print_decision(
    console: Console, timeline: Timeline, day: date, decision: Decision | None = None
) -> None:
    """Categories on ``day`` (``decision``, else the timeline's), the reasons, missing facts
    and the timeline's next change."""
    decision = decision or timeline.decision(day)
    categories = "、".join(sorted(c.label for c in decision.categories)) or "不在工作对象内"
    console.print(f"    [cyan]{categories}[/cyan]")
    for reason in decision.reasons:
        console.print(f"    理由 {reason.text}")
    if decision.missing:
        console.print(f"    缺少资料 missing facts: {', '.join(decision.missing)}")
    change = timeline.next_change(day)
    if change is not None:
        console.print(f"    [green]→ {change.describe()}[/green]")


def print_digest(console: Console, county: County, staff_id: str, week: date, day: date) -> None:
    """One person's digest: the week's open duties and the overdue ones, by child key."""
    digest = county.digest(staff_id, week, day)
    labels = {k.code: k.label_zh for k in county.duty_kinds()}
    person = county.staff()[staff_id]
    end = digest.week.end or day
    console.print(
        f"[bold]{person.name}（{staff_id}）[/bold] 本周 {digest.week.start.isoformat()} – "
        f"{(end - timedelta(days=1)).isoformat()}: {len(digest.due)} 项待办, "
        f"{len(digest.overdue)} 项逾期"
    )
    for title, items in (("待办 due", digest.due), ("逾期 overdue", digest.overdue)):
        if not items:
            continue
        console.print(f"  {title}:")
        shown = sorted(items, key=lambda o: (o.window.start, o.child_id, o.kind))
        for o in shown[:12]:
            by = ((o.window.end or day) - timedelta(days=1)).isoformat()
            console.print(f"    {o.child_id}  {labels.get(o.kind, o.kind)}  (by {by})")
        if len(shown) > 12:
            console.print(f"    … and {len(shown) - 12} more")
