"""The ``leftbehind`` command.

Exit codes a script can rely on: 0 success; 1 the command failed (bad input, a missing record,
a store error) with a message on standard error; 2 a usage error (a bad option or argument).
Every command that opens a county takes ``--store URL`` (or ``$LEFTBEHIND_STORE``; default
``./leftbehind.db``, SQLite) and ``--as ACTOR`` (or ``$LEFTBEHIND_ACTOR``): who is acting,
in the forms ``system``, ``county:ID``, ``township:ID:TOWNSHIP``, ``school:ID:SCHOOL_ID``,
``staff:STAFF_ID``, ``volunteer:STAFF_ID``. The command line's default is ``system``, on
purpose: whoever runs the command holds the store file itself, so nothing is hidden from them
that the file would not show; ``--as`` narrows what a run shows and writes, and what the audit
log records as its actor. The library itself has no default actor.

Every command takes ``--lang zh_CN|zh_TW|en`` (or ``$LEFTBEHIND_LANG``) and speaks it — help,
messages, errors, tables, the files it writes; without either, a command on a store speaks the
county's language, any other Simplified Chinese (see :mod:`leftbehind.cli.language`). Error
codes, identifiers and JSON keys stay English.
"""

from __future__ import annotations

import calendar
import contextlib
import functools
import re
import shutil
import sys
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, time
from typing import Any, ParamSpec, TypeVar

import attrs
import click
from rich.console import Console

import leftbehind
from leftbehind.access import AccessDeniedError, Actor, parse_actor
from leftbehind.cli.console import joined, make_console, print_decision, print_digest
from leftbehind.cli.language import SpeakingGroup, asked_language
from leftbehind.cli.output import echo_json, json_option, progress_bar
from leftbehind.domain.errors import LeftbehindError, ValidationError, describe
from leftbehind.domain.i18n import text, use
from leftbehind.domain.ids import mask_resident_id
from leftbehind.errors import (
    ConflictError,
    MissingDependencyError,
    NotFoundError,
    NothingToExportError,
    StoreBusyError,
    StoreNotFoundError,
)
from leftbehind.io import render
from leftbehind.io.render import county_sheet
from leftbehind.io.sheet_import import FilesReport
from leftbehind.io.summary import merge_summaries, write_table
from leftbehind.sample import sample_county
from leftbehind.service import STORE_ENV, County, default_store_path

__all__ = ["ACTOR_ENV", "DEMO_DAY", "date_problem", "main"]

#: Environment variable naming the actor of every command (``--as``).
ACTOR_ENV = "LEFTBEHIND_ACTOR"

#: The day the demo is told as of by default: the end of the 2025–26 spring term.
DEMO_DAY = date(2026, 6, 30)

P = ParamSpec("P")
R = TypeVar("R")


_WRITTEN_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")


def date_problem(value: str) -> str:
    """What is wrong with ``value`` as a date, in the language of the moment: a day the month
    does not have (``2026-02-30``: 2026年2月没有30日), a month past 12, or a date not written
    ``YYYY-MM-DD``."""
    found = _WRITTEN_DATE.fullmatch(value.strip())
    if found is not None:
        year, month, day = (int(part) for part in found.groups())
        if not 1 <= month <= 12:
            return text("there is no month {month}: a year has months 1 to 12", month=month)
        days = calendar.monthrange(year, month)[1] if year >= 1 else 31
        if not 1 <= day <= days:
            return text(
                "there is no day {day} in month {month} of {year} (it has {days} days)",
                year=year,
                month=month,
                day=day,
                days=days,
            )
    return text("expected a date written YYYY-MM-DD, such as 2026-05-10")


class _Date(click.ParamType):  # type: ignore[type-arg]
    name = "YYYY-MM-DD"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> date:
        if isinstance(value, date):
            return value
        written = str(value).strip()
        found = _WRITTEN_DATE.fullmatch(written)
        try:
            if found is not None:  # 2026-5-1 is read as written, as a clerk would
                return date(*(int(part) for part in found.groups()))
            return date.fromisoformat(written)
        except ValueError:
            self.fail(date_problem(written), param, ctx)


DATE = _Date()


class _Actor(click.ParamType):  # type: ignore[type-arg]
    name = "ACTOR"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> Actor:
        if isinstance(value, Actor):
            return value
        try:
            return parse_actor(str(value), reason="command line")
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


ACTOR = _Actor()


def actor_option(f: Callable[P, R]) -> Callable[P, R]:
    """``--as ACTOR`` on a command (default ``system``: the operator holds the store file)."""
    return click.option(
        "--as",
        "actor",
        type=ACTOR,
        envvar=ACTOR_ENV,
        default="system",
        show_default=True,
        help="Who is acting: system, county:ID, township:ID:TOWNSHIP, school:ID:SCHOOL_ID, "
        "staff:STAFF_ID or volunteer:STAFF_ID [env $LEFTBEHIND_ACTOR]. The default is system: "
        "whoever runs the command holds the store file.",
    )(f)


def _console() -> Console:
    return make_console()


def store_option(f: Callable[P, R]) -> Callable[P, R]:
    """``--store URL`` on a command."""
    return click.option(
        "--store",
        "store",
        envvar=STORE_ENV,
        default=None,
        metavar="URL",
        help="The county store: a path ending .db (SQLite, the default) or .json (TinyDB), or "
        "memory://, sqlite:///path, postgresql://… [default: $LEFTBEHIND_STORE or "
        "./leftbehind.db]",
    )(f)


def _error(message: str) -> None:
    click.echo(text("error: {message}", message=message), err=True)


def reports_errors(f: Callable[P, R]) -> Callable[P, R]:
    """Turn library errors into a message on standard error and exit code 1: the framing
    (``error:``, hints, the count of problems) in the language of the moment, the library's
    own message and every issue's path and code as they are."""

    @functools.wraps(f)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return f(*args, **kwargs)
        except ValidationError as exc:
            n = len(exc.issues)
            head = text(
                "error: problems in {subject} ({count}):", subject=exc.subject, count=f"{n:,}"
            )
            listed = describe(exc.issues, exc.subject).splitlines()[1:]
            click.echo("\n".join([head, *listed]), err=True)
            sys.exit(1)
        except StoreNotFoundError as exc:
            hint = text(
                "check --store, or make one with `leftbehind init`, `leftbehind import` or "
                "`leftbehind demo`"
            )
            click.echo(text("error: {message} ({hint})", message=str(exc), hint=hint), err=True)
            sys.exit(1)
        except ConflictError:
            _error(
                text(
                    "another command changed this store at the same time; nothing was written: "
                    "run it again"
                )
            )
            sys.exit(1)
        except StoreBusyError as exc:
            _error(
                text(
                    "another command kept this store busy for {seconds} s; nothing was written: "
                    "run it again when that one is done",
                    seconds=f"{exc.timeout:g}",
                )
            )
            sys.exit(1)
        except MissingDependencyError as exc:
            _error(
                text(
                    "{package} is not installed, and this store needs it; install it with: "
                    "{install}",
                    package=exc.package,
                    install=exc.install,
                )
            )
            sys.exit(1)
        except AccessDeniedError as exc:
            _error(_refused(exc))
            sys.exit(1)
        except NothingToExportError as exc:
            _error(text("no {level} ledger in reach on that day: nothing written", level=exc.level))
            sys.exit(1)
        except NotFoundError as exc:
            label = text(f"kind.{exc.kind}")
            kind = exc.kind if label.startswith("kind.") else label
            _error(text("no {kind} with the key {key}", kind=kind, key=exc.key))
            sys.exit(1)
        except LeftbehindError as exc:
            _error(str(exc))
            sys.exit(1)
        except OSError as exc:  # a file the command was told to read or write
            reason = exc.strerror or type(exc).__name__
            where = exc.filename if exc.filename is not None else ""
            _error(text("{path}: {reason}", path=where, reason=reason) if where else reason)
            sys.exit(1)

    return wrapper


def _refused(exc: AccessDeniedError) -> str:
    """What the actor may not do, in the language of the moment (the record's key, never a
    value)."""
    unmask = re.fullmatch(r"unmask (\w+) of", exc.what)
    what = text("unmask {field} of", field=unmask.group(1)) if unmask else text(exc.what)
    actor = exc.actor_kind.label
    if exc.key:
        return text("a {actor} may not {what} ({key})", actor=actor, what=what, key=exc.key)
    return text("a {actor} may not {what}", actor=actor, what=what)


def _open(store: str | None, actor: Actor, *, create: bool = False, **kwargs: Any) -> County:
    """The county store for a command, speaking ``--lang`` if given, else the county's
    language, for the rest of the command. Only ``init`` and the commands that bring data in
    (``import``, ``demo``) may make a new store: any other refuses a missing path (a typo is an
    error naming it, never a new empty county)."""
    county = leftbehind.open(
        store,
        actor=actor,
        create=None if create else False,
        language=asked_language(),
        **kwargs,
    )
    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        try:
            ctx.with_resource(use(county.language))
        except BaseException:
            county.close()
            raise
    return county


@click.group(cls=SpeakingGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(version=leftbehind.__version__, package_name="leftbehind")
def main() -> None:
    """Run a county's care action for rural left-behind children.

    \b
    Start with:
      leftbehind init                  a county of your own: name, code, policy, language
      leftbehind demo                  the whole action on a sample county
      leftbehind child C000001         one child's categories, reasons and timeline
      leftbehind ledger county         the county table
      leftbehind due S002-T01          a teacher's duties this week
      leftbehind template roster.xlsx  the roster template, then `leftbehind import`

    Every command on a store takes --store URL and --as ACTOR (default system), every
    command --lang zh_CN, zh_TW or en; see `leftbehind COMMAND --help`.
    """


@main.command()
@click.option(
    "--as-of",
    "as_of",
    type=DATE,
    default=DEMO_DAY,
    show_default=True,
    help="The day the county is told as of; records are simulated up to it.",
)
@click.option(
    "--children",
    type=click.IntRange(1, 200_000),
    default=None,
    help="Pupils in the sample county [default: 20,000, a county of Guangping's size].",
)
@click.option(
    "--small",
    is_flag=True,
    help="A quick look: a sample county of 1,200 pupils (a few seconds).",
)
@click.option("--seed", default=2026, show_default=True, help="Seed of the sample county.")
@click.option(
    "--out",
    "out",
    type=click.Path(file_okay=False),
    default="ledgers",
    show_default=True,
    help="Folder for the three ledgers as XLSX.",
)
@store_option
@reports_errors
def demo(
    as_of: date, children: int | None, small: bool, seed: int, out: str, store: str | None
) -> None:
    """The whole care action on a realistic sample county (run as the system actor).

    Writes a synthetic county of Guangping's size (20,000 pupils in seven townships, their
    staff and assignments, a school year of duty records up to --as-of) into the store (by
    default ./leftbehind.db), then prints who is served, the county table, compliance per
    school and one teacher's weekly digest, writes the three ledgers as XLSX, and says how
    long each phase took.
    """
    from leftbehind.cli.demo import COUNTY_SIZE, SMALL_SIZE, run_demo

    if children is not None and small:
        raise click.UsageError(text("give --children or --small, not both"))
    size = children or (SMALL_SIZE if small else COUNTY_SIZE)
    run_demo(
        _console(),
        store=store,
        as_of=as_of,
        children=size,
        seed=seed,
        out=out,
        language=asked_language(),
    )


@main.command()
@click.option("--as-of", "as_of", type=DATE, default=None, help="The day [default: the sample's].")
def sample(as_of: date | None) -> None:
    """The bundled dozen children: categories, reasons and coming changes (no store needed)."""
    county = sample_county()
    day = as_of or county.as_of
    schools = {s.id: s for s in county.schools}
    plan, national = leftbehind.PlanPolicy(), leftbehind.NationalPolicy()
    console = _console()
    console.print(
        text(
            "{county}: who is served as of {day} (policy {policy} v{version}; "
            "national rule {national} v{national_version})",
            county=county.name,
            day=day.isoformat(),
            policy=plan.name,
            version=plan.version,
            national=national.name,
            national_version=national.version,
        ),
        style="bold",
    )
    for child in county.children:
        timeline = plan.timeline(child, schools)
        enrolment = child.enrolment_on(day) or child.enrolments[-1]
        national_cats = national.timeline(child, schools).categories_on(day)
        console.print(f"\n[bold]{child.id}[/bold] {schools[enrolment.school_id].name}")
        print_decision(console, timeline, day)
        categories = joined(sorted(c.label for c in national_cats)) or "—"
        console.print("    " + text("national rule: {categories}", categories=categories))


@main.command()
@click.argument("child_id")
@click.option(
    "--as-of", "as_of", type=DATE, default=None, help="The day to decide on [default: today]."
)
@json_option("As JSON: the masked file, the decision as of the day and the timeline.")
@store_option
@actor_option
@reports_errors
def child(
    child_id: str, as_of: date | None, as_json: bool, store: str | None, actor: Actor
) -> None:
    """One child's categories as of a day, the reasons, and the whole timeline.

    ID numbers are shown masked.
    """
    with _open(store, actor) as county:
        day = as_of or county.today()
        if as_json:
            echo_json(
                {
                    "as_of": day,
                    "child": county.child(child_id, masked=True),
                    "decision": county.decision(child_id, day),
                    "timeline": county.timeline(child_id),
                }
            )
            return
        file = county.child(child_id)
        timeline = county.timeline(child_id)
        console = _console()
        number = mask_resident_id(file.resident_id) if file.resident_id else "—"
        console.print(
            f"[bold]{file.id}[/bold] {file.name} {file.sex.label} "
            + text("ID number {number}", number=number)
        )
        console.print(text("as of {day}:", day=day.isoformat()))
        # the decision from the facts as they stood that day (SPEC §9), not the stored timeline's
        print_decision(console, timeline, day, county.decision(child_id, day))
        console.print(
            text(
                "timeline ({policy} v{version}):", policy=timeline.policy, version=timeline.version
            )
        )
        for span in timeline.spans:
            end = span.end.isoformat() if span.end else "…"
            console.print(f"    {span.start.isoformat()} – {end}  {span.category.label}")


def format_option(help: str | None = None) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """``--format text|csv|xlsx|json`` on a command that prints or writes a table."""
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(["text", "csv", "xlsx", "json"]),
        default="text",
        show_default=True,
        help=help,
    )


def _needs_out(fmt: str) -> click.UsageError:
    return click.UsageError(text("--format {format} needs --out FILE", format=fmt))


@main.command()
@click.argument("level", type=click.Choice(["county", "school", "teacher", "commend"]))
@click.argument("key", required=False)
@click.option("--as-of", "as_of", type=DATE, default=None, help="The day [default: today].")
@format_option(
    "json: the county table as the summary a county sends upward (see `merge`); any other "
    "ledger as its tables, a row an object of the columns' English keys."
)
@json_option("The same as --format json.")
@click.option(
    "--out", type=click.Path(dir_okay=False), default=None, help="File for csv/xlsx (json: too)."
)
@click.option(
    "--unmasked",
    is_flag=True,
    help="Show phones and ID numbers in full, as far as the actor may see them (audited).",
)
@click.option(
    "--columns",
    default=None,
    metavar="KEYS",
    help="Text: the columns to show, by key, comma-separated (served,category.orphan,...); "
    "by default the ones that fit the terminal.",
)
@click.option("--keys", "keys", is_flag=True, help="CSV: a header row of the stable English keys.")
@store_option
@actor_option
@reports_errors
def ledger(
    level: str,
    key: str | None,
    as_of: date | None,
    fmt: str,
    as_json: bool,
    out: str | None,
    unmasked: bool,
    columns: str | None,
    keys: bool,
    store: str | None,
    actor: Actor,
) -> None:
    """A ledger as of a day: county, school ID, teacher ID, or commend (the candidates for
    commendation).

    \b
      leftbehind ledger county --as-of 2026-06-30
      leftbehind ledger county --format json --out guangping.json   the summary sent upward
      leftbehind ledger school S003 --format xlsx --out S003.xlsx
      leftbehind ledger teacher S003-T02
      leftbehind ledger school S003 --json | jq '.tables[0].rows'
    """
    if level == "school" and not key:
        raise click.UsageError(text("`ledger school` needs the school's ID"))
    if level == "teacher" and not key:
        raise click.UsageError(text("`ledger teacher` needs the teacher's ID"))
    if as_json and fmt not in ("text", "json"):
        raise click.UsageError(text("give --json or --format {format}, not both", format=fmt))
    fmt = "json" if as_json else fmt
    if fmt in ("csv", "xlsx") and not out:
        raise _needs_out(fmt)
    with _open(store, actor) as county:
        chosen = [c.strip() for c in columns.split(",") if c.strip()] if columns else None
        width = None if out is not None or chosen else shutil.get_terminal_size().columns
        try:
            result = county.export_ledger(
                level,
                key=key,
                as_of=as_of,
                format=fmt,
                path=out,
                unmasked=unmasked,
                width=width,
                columns=chosen,
                header="keys" if keys else "labels",
            )
        except ValueError as exc:
            if chosen is None or isinstance(exc, LeftbehindError):
                raise
            raise click.UsageError(str(exc)) from None  # an unknown column key, and the known
    click.echo(result if out is None else text("wrote {path}", path=result))


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@format_option()
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="File to write.")
@reports_errors
def merge(files: tuple[str, ...], fmt: str, out: str | None) -> None:
    """Add up counties' summaries into one table (a province's, a city's): no store needed.

    Each FILE is a county table written by `leftbehind ledger county --format json`. They must
    be of the same day, period and policies; each is checked before it is added, and so is the
    sum. Counts only travel: no child's data is in a summary.

    \b
      leftbehind merge guangping.json feixiang.json --format xlsx --out handan.xlsx
    """
    if fmt in ("csv", "xlsx") and not out:
        raise _needs_out(fmt)
    total = merge_summaries(files)
    if out is None:
        click.echo(total.to_json() if fmt == "json" else render.render_text(county_sheet(total)))
        return
    written = write_table(total, out, fmt, store_path=default_store_path())
    click.echo(text("wrote {path}", path=written))


@main.command(name="county")
@click.option("--name", default=None, help="The county's name, as on its forms.")
@click.option("--code", default=None, help="Its 6-digit administrative code (130432).")
@store_option
@actor_option
@reports_errors
def county_(name: str | None, code: str | None, store: str | None, actor: Actor) -> None:
    """The county's name and administrative code, carried in every table and summary: shown,
    or set with both --name and --code (audited).

    \b
      leftbehind county --name 广平县 --code 130432
    """
    if (name is None) != (code is None):
        raise click.UsageError(text("give both --name and --code"))
    with _open(store, actor) as county:
        if name is not None and code is not None:
            county.set_county(name, code)
        settings = county.settings()
    shown = settings.get("name") or text("(not named: leftbehind county --name NAME --code CODE)")
    click.echo(f"{shown} {settings.get('code', '')}".rstrip())


@main.command()
@click.argument("staff_id")
@click.option("--week-of", "week_of", type=DATE, default=None, help="A day of the week.")
@click.option("--as-of", "as_of", type=DATE, default=None, help="The day [default: today].")
@json_option("As JSON: the digest's duties by record key (no names).")
@store_option
@actor_option
@reports_errors
def due(
    staff_id: str,
    week_of: date | None,
    as_of: date | None,
    as_json: bool,
    store: str | None,
    actor: Actor,
) -> None:
    """What a teacher or proxy parent owes this week, and what is overdue.

    Overdue duties first, then the week's, each by its last day; children by name where the
    actor may see their file, else by their record key.
    """
    with _open(store, actor) as county:
        day = as_of or county.today()
        if as_json:
            echo_json(county.digest(staff_id, week_of or day, day))
            return
        print_digest(_console(), county, staff_id, week_of or day, day)


@main.command()
@click.option(
    "--queue-week", is_flag=True, help="First queue this week's digests and overdue notices."
)
@click.option("--as-of", "as_of", type=DATE, default=None, help="The day [default: today].")
@store_option
@actor_option
@reports_errors
def deliver(queue_week: bool, as_of: date | None, store: str | None, actor: Actor) -> None:
    """Send the queued notices through the configured channels; failures stay queued.

    Notices are written in the county's language. Exits 1 when a notice failed, or when this
    run's claim on one lapsed before it was marked (it is kept and retried on the next run).
    Channel secrets are read from the environment variables the channels name. Says how many
    notices went through each channel, and of which kinds (never their content); the log
    channel writes a line per notice to standard error.
    """
    from leftbehind.cli.scripts import delivered_lines, log_to_stderr

    with _open(store, actor) as county:
        if queue_week:
            n = county.queue_week(as_of or county.today(), as_of)
            click.echo(text("notices queued: {count}", count=n))
        types = county.channel_types()
        waiting = {e.notice.key: e.notice.kind for e in county.notices()["pending"]}
        with (
            log_to_stderr(county),
            progress_bar(text("sending notices"), total=len(waiting)) as bar,
        ):
            report = county.deliver(progress=lambda _key: bar.update(advance=1))
        for line, failed in delivered_lines(report, types, waiting):
            click.echo(line, err=failed)
        click.echo(
            text(
                "sent {sent}, retrying {retrying}, parked {parked}, unrouted {unrouted}, "
                "lapsed {lapsed}",
                sent=len(report.sent),
                retrying=len(report.retrying),
                parked=len(report.parked),
                unrouted=len(report.unrouted),
                lapsed=len(report.lapsed),
            )
        )
        if report.retrying or report.parked or report.lapsed:
            sys.exit(1)


@main.command()
@click.argument("src")
@click.argument("dst")
@click.option("--replace", is_flag=True, help="Overwrite a destination that holds documents.")
@reports_errors
def copy(src: str, dst: str, replace: bool) -> None:
    """Move a county between backends without loss (every document compared after).

    \b
      leftbehind copy school.json guangping.db
    """
    from leftbehind.backends.copy import copy_store
    from leftbehind.plugins import Plugins

    stages = {"copying": text("copying"), "verifying": text("verifying")}
    plugins = Plugins.load()
    with (
        plugins.open_store(src, create=False) as source,
        plugins.open_store(dst) as target,
        progress_bar(text("copying")) as bar,
    ):

        def progress(stage: str, done: int, total: int) -> None:
            bar.update(done=done, total=total, description=stages.get(stage, stage))

        report = copy_store(source, target, replace=replace, progress=progress)
    click.echo(text("copied and verified: {report}", report=report))


def _template_kinds() -> list[str]:
    from leftbehind.io.sheet_columns import SHEET_COLUMNS

    return list(SHEET_COLUMNS)


@main.command()
@click.argument("path", type=click.Path(dir_okay=False))
@click.option(
    "--kind",
    type=click.Choice(_template_kinds()),
    default="roster",
    show_default=True,
    help="Which sheet: the roster, schools, staff, assignments, study groups, or a duty "
    "record (talk, home_visit, family_contact, parent_report, study_plan, safety_education, "
    "parent_lecture, festival).",
)
@store_option
@reports_errors
def template(path: str, kind: str, store: str | None) -> None:
    """Write a blank template (XLSX, or CSV when PATH ends in .csv) to fill in Excel; never
    over the county store or any database. `leftbehind import` reads it back."""
    from leftbehind.io.roster import write_template

    fmt = "csv" if path.lower().endswith(".csv") else "xlsx"
    store_path = store or default_store_path()
    written = write_template(
        path,
        format=fmt,  # type: ignore[arg-type]
        kind=kind,
        store_path=store_path,
    )
    click.echo(text("wrote {path}", path=written))


@main.command(name="import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Check every cell and report; write nothing.")
@click.option(
    "--json", "as_json", is_flag=True, help="The report as JSON on standard output (English keys)."
)
@click.option(
    "--correction",
    "correction",
    metavar="REASON",
    default=None,
    help="Make the changes as corrections of locked periods, with this reason (heads and county).",
)
@click.option(
    "--strict",
    is_flag=True,
    help="Treat every warning (a column ignored, a value assumed) as a problem: write nothing.",
)
@store_option
@actor_option
@reports_errors
def import_(
    paths: tuple[str, ...],
    dry_run: bool,
    as_json: bool,
    correction: str | None,
    strict: bool,
    store: str | None,
    actor: Actor,
) -> None:
    """Import the sheets a county keeps (XLSX, or CSV in UTF-8 or GB18030): all or nothing.

    \b
    Each file's kind is told from its headers: schools, staff, the roster, assignments,
    study groups, and the duty records (talk, home visit, letter or call, study plan, safety
    education, parent school, festival). Several files go in one run, in that order, so a row
    may name what an earlier file brings in. Every bad cell of every file is reported (file,
    sheet, row, column, code) and nothing is written; a dry run reports the same without
    writing. Then, per kind, what was created (with the new ids), updated and unchanged.
    """
    import json

    from rich.progress import Progress

    with (
        _open(store, actor, create=True) as county,
        Progress(transient=True, disable=as_json) as bar,
    ):
        task = bar.add_task(text("importing"), total=None)

        def progress(stage: str, done: int, total: int | None) -> None:
            bar.update(task, description=text(stage), completed=done, total=total)

        with county.correction(correction) if correction else contextlib.nullcontext():
            report = county.import_files(paths, dry_run=dry_run, progress=progress, strict=strict)
    if as_json:
        click.echo(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
    else:
        several = len(report.files) > 1  # each file's problems under its path
        for f in report.files:
            if several and f.issues:
                click.echo(text("{path}:", path=f.path), err=True)
            _echo_cells(f.issues, warnings=False)
        for f in report.files:
            if several and (f.warnings or f.skipped):
                click.echo(text("{path}:", path=f.path), err=True)
            _echo_cells(_grouped(f.warnings), warnings=True)
            _echo_skipped(f.skipped)
        _echo_kinds(report, dry_run=dry_run)
    if not report.ok:
        sys.exit(1)


def _echo_kinds(report: FilesReport, *, dry_run: bool) -> None:
    """Per kind: created, updated, unchanged, then the new and updated ids (or, when a file
    had a problem, that nothing was imported: no count of what a run refused is shown)."""
    if not report.ok:
        click.echo(text("nothing was imported: correct the problems above"))
        return
    for counts, line in zip(report.kinds.values(), report.summary(), strict=True):
        click.echo(text("dry run: {summary}", summary=line) if dry_run else line)
        if counts.created:
            click.echo("  " + text("created: {ids}", ids=_some_ids(counts.created)))
        if counts.updated:
            click.echo("  " + text("updated: {ids}", ids=_some_ids(counts.updated)))


#: How many new or updated ids an import prints per kind (``--json`` has them all).
SHOWN_IDS = 20


def _some_ids(ids: Sequence[str]) -> str:
    """The first :data:`SHOWN_IDS` ids, and how many more (a county's roster is 20,000)."""
    shown = " ".join(ids[:SHOWN_IDS])
    if len(ids) <= SHOWN_IDS:
        return shown
    more = f"{len(ids) - SHOWN_IDS:,}"
    return shown + " " + text("… and {count} more (every id with --json)", count=more)


#: How many cells' issues an import prints one by one before summing the rest up by code.
SHOWN_CELLS = 50


def _echo_cells(issues: Sequence[Any], *, warnings: bool) -> None:
    """Each issue on a line of standard error, or past :data:`SHOWN_CELLS` the first ones and
    then one line per code with how many (a file of a million bad cells is not a million
    lines)."""
    for issue in issues[:SHOWN_CELLS]:
        click.echo(str(issue), err=True)
    rest = issues[SHOWN_CELLS:]
    if not rest:
        return
    counts = Counter(i.code for i in rest)
    shown = ", ".join(f"{code} × {n:,}" for code, n in counts.most_common())
    count = f"{len(rest):,}"
    more = (
        text("… and {count} more warnings: {codes}", count=count, codes=shown)
        if warnings
        else text("… and {count} more problems: {codes}", count=count, codes=shown)
    )
    click.echo(more, err=True)


class _Rows:
    """Warnings alike (one code, column and message) on several rows, printed as one line
    naming the rows (``登记表 第5–34行 G列「户籍所在地」: … [hukou_address]``)."""

    def __init__(self, first: Any) -> None:
        self.first = first
        self.code = first.code
        self.rows: list[int] = [first.row]

    def __str__(self) -> str:
        if len(self.rows) == 1:
            return str(self.first)
        runs: list[list[int]] = []
        for n in self.rows:
            if runs and n == runs[-1][-1] + 1:
                runs[-1].append(n)
            else:
                runs.append([n])
        shown = text(", ").join(str(r[0]) if len(r) == 1 else f"{r[0]}–{r[-1]}" for r in runs)
        alone = str(attrs.evolve(self.first, row=0))
        sheet = self.first.sheet
        return f"{sheet} {text('row {rows}', rows=shown)}{alone[len(sheet) :]}"


def _grouped(warnings: Sequence[Any]) -> list[_Rows]:
    """Warnings alike grouped, in the order each first appears."""
    groups: dict[tuple[Any, ...], _Rows] = {}
    for w in warnings:
        key = (w.sheet, w.index, w.column, w.code, w.message)
        if key in groups:
            groups[key].rows.append(w.row)
        else:
            groups[key] = _Rows(w)
    return list(groups.values())


def _echo_skipped(skipped: Sequence[Any]) -> None:
    """The rows read as no item, on standard error: one line per sheet and reason, with their
    numbers (``花名册：跳过的行（合计行）：35 [total_row]``)."""
    rows: dict[tuple[str, str], list[str]] = {}
    for issue in skipped:
        rows.setdefault((issue.sheet, issue.code), []).append(str(issue.row))
    for (sheet, code), numbers in rows.items():
        shown = text(", ").join(numbers[:SHOWN_CELLS])
        if len(numbers) > SHOWN_CELLS:
            shown += " …"
        reason = text(f"roster.issue.{code}")
        line = text("{sheet}: rows skipped ({reason}): {rows}", sheet=sheet, reason=reason,
                    rows=shown)  # fmt: skip
        click.echo(f"{line} [{code}]", err=True)


@main.command()
@click.argument("what", type=click.Choice(["roster", "ledgers"]))
@click.argument("path", type=click.Path())
@click.option("--as-of", "as_of", type=DATE, default=None, help="The day [default: today].")
@click.option(
    "--unmasked",
    is_flag=True,
    help="Phones and ID numbers in full, as far as the actor may see them (audited).",
)
@click.option(
    "--school",
    default=None,
    metavar="ID",
    help="Ledgers: that school's 动态状况表 and its teachers' 联络信息表 only.",
)
@store_option
@actor_option
@reports_errors
def export(
    what: str,
    path: str,
    as_of: date | None,
    unmasked: bool,
    school: str | None,
    store: str | None,
    actor: Actor,
) -> None:
    """Export the roster (XLSX or CSV) or the three ledgers (XLSX files in a folder): the
    children and ledgers the actor may see. Every export is written to the audit log."""
    from leftbehind.cli.scripts import ledger_phases

    if what == "roster" and school is not None:
        raise click.UsageError(text("--school is for the ledgers"))

    with _open(store, actor) as county:
        if what == "roster":
            with progress_bar(text("writing the roster")):
                n = county.export_roster(path, as_of=as_of, unmasked=unmasked)
            click.echo(text("wrote {path} (children: {count})", count=n, path=path))
            return
        from leftbehind.cli.demo import write_ledgers

        with ledger_phases(county) as phases:
            day = as_of or county.today()
            written = write_ledgers(
                county,
                day,
                path,
                unmasked=unmasked,
                phases=phases,
                school=school,
                on_empty=lambda name: click.echo(
                    text("{file}: nothing in reach on that day, not written", file=name),
                    err=True,
                ),
            )
        for each in written:
            click.echo(text("wrote {path}", path=each))


def _fields(fields: Mapping[str, object]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(fields.items()))


def _keys(keys: Sequence[str], shown: int = 3) -> str:
    more = f" … +{len(keys) - shown}" if len(keys) > shown else ""
    return " ".join(keys[:shown]) + more


def _changes(changes: Mapping[str, Mapping[str, Any]]) -> str:
    """A command's changes on one line: per kind, the keys created, updated and deleted (the
    operations' names are the audit log's, in English like its other keys)."""
    parts = []
    for kind, change in changes.items():
        said = []
        for what in ("created", "deleted"):
            if keys := list(change.get(what, ())):
                said.append(f"{what} {len(keys)} ({_keys(keys)})")
        updated: Mapping[str, Mapping[str, str]] = change.get("updated", {})
        if updated:
            first = [f"{k}[{', '.join(sorted(v))}]" for k, v in list(updated.items())[:3]]
            more = f" … +{len(updated) - 3}" if len(updated) > 3 else ""
            said.append(f"updated {len(updated)} ({' '.join(first)}{more})")
        parts.append(f"{kind}: " + "; ".join(said))
    return " | ".join(parts)


def _moment(value: date | None) -> datetime | None:
    return None if value is None else datetime.combine(value, time(), tzinfo=UTC)


@main.command()
@click.option("--since", type=DATE, default=None, help="From this day (UTC) on.")
@click.option("--until", type=DATE, default=None, help="Before this day (UTC).")
@json_option("As JSON: the entries as stored, oldest first.")
@store_option
@actor_option
@reports_errors
def audit(
    since: date | None, until: date | None, as_json: bool, store: str | None, actor: Actor
) -> None:
    """The audit log: every change, export and unmasking, oldest first (system and county
    officers). Entries name fields, never their values."""
    with _open(store, actor) as county:
        entries = county.audit(_moment(since), _moment(until))
    if as_json:
        echo_json({"entries": entries})
        return
    for e in entries:
        detail = _changes(e.changes) if e.changes else _fields(e.fields)
        who = e.actor if e.actor == "system" else f"{e.actor}:{e.actor_id}"
        reason = f"  ({e.reason})" if e.reason else ""
        click.echo(f"{e.at}  {who}  {e.op} {e.kind} {e.record}  {detail}{reason}".rstrip())
    click.echo(text("entries: {count}", count=len(entries)))


# The commands registered on ``main`` in modules of their own: `init`; and for scripts and
# people (diff, find, notices); `check` (data quality).
from leftbehind.cli import followups as _followups  # noqa: E402, F401
from leftbehind.cli import quality as _quality  # noqa: E402, F401
from leftbehind.cli import scripts as _scripts  # noqa: E402, F401
from leftbehind.cli import setup as _setup  # noqa: E402, F401
from leftbehind.cli import signoff as _signoff  # noqa: E402, F401
