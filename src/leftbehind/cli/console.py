"""What the command line prints: consoles, decisions and digests, in the language of the
moment (``leftbehind.use``) and the bureau's terms."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

from rich.console import Console
from rich.markup import escape

from leftbehind.domain.duties import Occurrence
from leftbehind.domain.eligibility import Decision, Timeline
from leftbehind.domain.i18n import text
from leftbehind.errors import LeftbehindError
from leftbehind.service import County

__all__ = [
    "SHOWN",
    "digest_lines",
    "fact_label",
    "joined",
    "make_console",
    "print_decision",
    "print_digest",
]

#: How many duties of each part of a digest are listed before the rest are counted.
SHOWN = 12


def make_console() -> Console:
    """A console for tables: never squeezed below 120 columns when not on a terminal."""
    console = Console(highlight=False, soft_wrap=True)
    if not console.is_terminal and console.width < 120:
        console = Console(highlight=False, soft_wrap=True, width=120)
    return console


def joined(items: Iterable[str]) -> str:
    """Items as a list in the language of the moment (``孤儿、弃儿``; ``orphan, foundling``)."""
    return text("separator.list").join(items)


def fact_label(path: str) -> str:
    """A missing fact's path (``father``, ``enrolments[0].school_id``) as shown: a parent by
    the catalog's word for them, any other path as it is (it names a field)."""
    key = f"parent.{path}"
    found = text(key)
    return path if found == key else found


def print_decision(
    console: Console, timeline: Timeline, day: date, decision: Decision | None = None
) -> None:
    """Categories on ``day`` (``decision``, else the timeline's), the reasons, missing facts
    and the timeline's next change."""
    decision = decision or timeline.decision(day)
    categories = joined(sorted(c.label for c in decision.categories)) or text("not served")
    console.print(f"    [cyan]{escape(categories)}[/cyan]")
    for reason in decision.reasons:
        console.print("    " + escape(text("reason: {reason}", reason=reason.text)))
    if decision.missing:
        facts = joined(fact_label(m) for m in decision.missing)
        console.print("    " + escape(text("missing facts: {facts}", facts=facts)))
    change = timeline.next_change(day)
    if change is not None:
        console.print(f"    [green]→ {escape(change.describe())}[/green]")


def _last_day(o: Occurrence, day: date) -> date:
    """The last day to do an occurrence (the day before its window closes)."""
    return (o.window.end or day + timedelta(days=1)) - timedelta(days=1)


def _names(county: County, child_ids: Iterable[str]) -> dict[str, str]:
    """The children's names, for those whose file the county handle's actor may read (the
    handle refuses, or masks, what the actor's role may not see); the others are left out."""
    names: dict[str, str] = {}
    for cid in sorted(set(child_ids)):
        try:
            names[cid] = county.child(cid).name
        except LeftbehindError:
            continue
    return names


def digest_lines(
    county: County, occurrences: Iterable[Occurrence], day: date, *, shown: int = SHOWN
) -> list[str]:
    """One line per duty, by its last day (then child, then kind): the day, the child's
    record key and name (where the actor may see the file) and the duty's label; past
    ``shown`` duties, a line counting the rest."""
    labels = {k.code: k.label for k in county.duty_kinds()}
    ordered = sorted(occurrences, key=lambda o: (_last_day(o, day), o.child_id, o.kind))
    names = _names(county, (o.child_id for o in ordered[:shown]))
    lines = []
    for o in ordered[:shown]:
        by = text("by {day}", day=_last_day(o, day).isoformat())
        who = f"{o.child_id} {names[o.child_id]}" if o.child_id in names else o.child_id
        lines.append(f"{by}  {who}  {labels.get(o.kind, o.kind)}")
    if len(ordered) > shown:
        lines.append(text("… and {count} more", count=len(ordered) - shown))
    return lines


def print_digest(console: Console, county: County, staff_id: str, week: date, day: date) -> None:
    """One person's digest: the overdue duties first, then the week's open ones, each in the
    order of their last day; children by record key and, where the actor may see their file,
    by name."""
    digest = county.digest(staff_id, week, day)
    person = county.staff()[staff_id]
    end = digest.week.end or day
    console.print(
        escape(
            text(
                "{name} ({staff}), week {start} – {end}: {due} due, {overdue} overdue",
                name=person.name,
                staff=staff_id,
                start=digest.week.start.isoformat(),
                end=(end - timedelta(days=1)).isoformat(),
                due=len(digest.due),
                overdue=len(digest.overdue),
            )
        ),
        style="bold",
    )
    for title, items in ((text("overdue:"), digest.overdue), (text("due this week:"), digest.due)):
        if not items:
            continue
        console.print("  " + escape(title))
        for line in digest_lines(county, items, day):
            console.print("    " + escape(line))
    if digest.follow_ups:  # open follow-ups the person owes, by due day
        console.print("  " + escape(text("follow-ups:")))
        for fu in digest.follow_ups:
            state = fu.status(day)
            shown = [
                fu.id,
                fu.child_id,
                fu.kind.label,
                text("due {day}", day=fu.due_on.isoformat()),
            ]
            console.print("    " + escape("  ".join([*shown, state.label if state else ""])))
