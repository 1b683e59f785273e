"""Exports (汇出): ledgers and the roster, written only after their audit entry is committed.

An export is rendered into a hidden temporary file beside its target (readable by its owner
only), its audit entry is committed, and only then is the file moved into place: an export
whose audit entry could not be written leaves no file behind. An export that fails for any
reason — refused, a bad path, a bad option — is audited too (``export_denied``, with the error's
code or class).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from leftbehind import kinds
from leftbehind.domain.i18n import text, use
from leftbehind.domain.ids import shown_key
from leftbehind.errors import NothingToExportError
from leftbehind.io import render
from leftbehind.io.paths import ExportPathError, safe_export_path, staged
from leftbehind.io.roster_columns import ExportContext
from leftbehind.io.roster_write import Format, school_labels, write_roster
from leftbehind.service import followups as follow_up_room
from leftbehind.service import ledgers, reads, signoff
from leftbehind.service import quality as quality_room
from leftbehind.service.context import Context
from leftbehind.service.gate import default_period
from leftbehind.store import LEDGER_PUSHDOWN, LedgerPushdown

__all__ = ["LEVELS", "export_ledger", "export_roster", "export_signoff"]


#: The ledgers :func:`export_ledger` renders.
LEVELS = ("county", "school", "schools", "teacher", "teachers", "commend")


@contextlib.contextmanager
def _audited(ctx: Context, what: str, key: str) -> Iterator[None]:
    """An export that fails for any reason (refused, a bad path, a bad option) is written to
    the audit log as ``export_denied`` before the error is raised."""
    try:
        yield
    except Exception as exc:
        error = exc.code if isinstance(exc, ExportPathError) else type(exc).__name__
        # If the log itself cannot be written, the export's own error is the one to raise.
        with contextlib.suppress(Exception):
            ctx.repo.audit_now("export_denied", what, shown_key(key), {"error": error})
        raise


def _note(ctx: Context, what: str, key: str, fmt: str, unmasked: bool, rows: int) -> None:
    fields: dict[str, Any] = {"format": fmt, "unmasked": unmasked, "rows": rows}
    ctx.repo.audit_now("export", what, shown_key(key), fields)


def _grades(ctx: Context, day: date, only: str | None) -> render.GradeCounts:
    """The counts of each grade of each school (or of the school ``only``) on ``day``: the
    rows of the school forms' grids. Counts only, as the school tables themselves (called
    first, so that the actor's reach is checked) count the whole school."""
    snap, _ = ctx.begin()
    span = default_period(day)
    store = ctx.repo.store
    facts: Any
    if isinstance(store, LedgerPushdown) and LEDGER_PUSHDOWN in store.capabilities:
        if only is not None:
            children = store.enrolled_children([only])
            facts = ledgers.parts(ctx, snap, span, day, store, children)
        elif store.count(kinds.RECORD) > ledgers.PUSHDOWN_AFTER:
            facts = ledgers.parts(ctx, snap, span, day, store)
        else:
            facts = ledgers.facts(ctx, snap, span, None, day)
    else:
        facts = ledgers.facts(ctx, snap, span, None, day)
    return render.grade_counts(facts, as_of=day, period=span, only=only)


def _findings(
    ctx: Context, day: date, school: str | None, schools: Iterable[str]
) -> dict[str, tuple[str, ...]]:
    """The lines each school's form carries under its signature: the data-quality findings as
    of ``day`` by severity (their list is ``leftbehind check``) and the follow-ups by status
    (``leftbehind followups``)."""
    counts = quality_room.quality(ctx, day, school).counts()
    tasks = follow_up_room.counts(
        follow_up_room.follow_ups(ctx, day, school, None, None, None), day
    )
    none = {"error": 0, "warning": 0, "info": 0}
    out: dict[str, tuple[str, ...]] = {}
    for sid in schools:
        n = counts.get(sid, none)
        t = tasks.get(sid, {})
        quality = text(
            "data quality as of {day}: {errors} errors, {warnings} warnings, {infos} infos "
            "(the list: leftbehind check --school {school})",
            day=day.isoformat(),
            errors=n["error"],
            warnings=n["warning"],
            infos=n["info"],
            school=sid,
        )
        follow = text(
            "follow-ups as of {day}: {due} due, {overdue} overdue, {escalated} escalated to the "
            "head, {closed} closed (the list: leftbehind followups --school {school})",
            day=day.isoformat(),
            due=t.get("due", 0),
            overdue=t.get("overdue", 0),
            escalated=t.get("escalated", 0),
            closed=t.get("closed", 0),
            school=sid,
        )
        out[sid] = (quality, follow)
    return out


def _sheets(
    ctx: Context, level: str, key: str | None, day: date, printed: bool
) -> tuple[list[render.Sheet | render.Form], int]:
    """The ledger's sheets or forms, and the rows of the ledger they hold (for the audit
    entry: a county table's rows, its grand total too, as its JSON summary counts them).
    ``printed`` (XLSX) gives the teachers' forms, which split their table in two to be read on
    A4."""
    teacher = render.teacher_form if printed else render.teacher_sheet
    items: list[render.Sheet | render.Form]
    if level == "county":
        table = ledgers.county_table(ctx, day, None)
        return [render.county_sheet(table)], len(table.rows)
    if level == "school":
        one = ledgers.school_table(ctx, str(key), day, None)
        grades = _grades(ctx, day, one.school.id).get(one.school.id)
        found = _findings(ctx, day, one.school.id, [one.school.id])
        items = [render.school_form(one, grades, found.get(one.school.id, ()))]
    elif level == "schools":
        tables = ledgers.school_tables(ctx, day, None)
        every = _grades(ctx, day, None) if tables else {}
        found = _findings(ctx, day, None, tables) if tables else {}
        items = [
            render.school_form(t, every.get(sid), found.get(sid, ())) for sid, t in tables.items()
        ]
    elif level == "teacher":
        items = [teacher(ledgers.teacher_table(ctx, str(key), day, None))]
    elif level == "teachers":
        items = [teacher(t) for t in ledgers.teacher_tables(ctx, day, None, key).values()]
    else:
        schools, staff = ledgers.commendations(ctx, day, None)
        items = [
            render.standings_sheet(schools, text("form.standings.schools")),
            render.standings_sheet(staff, text("form.standings.staff")),
        ]
    return items, sum(len(i.rows) for i in items)


def export_ledger(
    ctx: Context,
    level: str,
    *,
    key: str | None,
    as_of: date | None,
    format: str,
    path: str | os.PathLike[str] | None,
    unmasked: bool,
    width: int | None = None,
    columns: Sequence[str] | None = None,
    header: render.Header = "labels",
) -> str:
    """Render a ledger (see :meth:`leftbehind.County.export_ledger`). As text, ``width``
    and ``columns`` choose the columns shown (:func:`~leftbehind.io.render.render_text`);
    as CSV, ``header`` is ``labels`` (in the county's language) or ``keys``."""
    with (
        use(ctx.language()),
        _audited(ctx, f"ledger.{level}" if level in LEVELS else "ledger", key or level),
    ):
        shown = _Shown(width, columns, header)
        return _ledger(ctx, level, key, as_of, format, path, unmasked, shown)


class _Shown:
    """How a text or CSV ledger is shown: the width and columns of a text, a CSV's header."""

    def __init__(
        self, width: int | None, columns: Sequence[str] | None, header: render.Header
    ) -> None:
        if header not in ("labels", "keys"):
            msg = "header is labels or keys"
            raise ValueError(msg)
        self.width, self.columns, self.header = width, columns, header

    def text(self, sheets: Sequence[render.Sheet | render.Form], unmasked: bool) -> str:
        return "\n".join(
            render.render_text(s, unmasked=unmasked, width=self.width, columns=self.columns)
            for s in sheets
        )


def _ledger(
    ctx: Context,
    level: str,
    key: str | None,
    as_of: date | None,
    format: str,
    path: str | os.PathLike[str] | None,
    unmasked: bool,
    shown: _Shown,
) -> str:
    if level not in LEVELS:
        msg = f"level is {', '.join(LEVELS[:-1])} or {LEVELS[-1]}"
        raise ValueError(msg)
    if level in ("school", "teacher") and not key:
        msg = f"the {level} ledger needs the {level}'s id"
        raise ValueError(msg)
    if format not in ("text", "csv", "xlsx", "json"):
        msg = "format is text, csv, xlsx or json"
        raise ValueError(msg)
    if format not in ("text", "json") and path is None:
        msg = f"format {format!r} needs a path"
        raise ValueError(msg)
    target = (
        None if path is None else safe_export_path(path, store_path=ctx.url, root=ctx.exports_in)
    )
    what, name = f"ledger.{level}", key or level
    if format == "json" and level != "county":
        day = as_of or ctx.today()
        sheets, rows = _sheets(ctx, level, key, day, False)
        data = render.to_json(sheets, level=level, key=key, as_of=day, unmasked=unmasked)
        if target is None:
            _note(ctx, what, name, "json", unmasked, rows)
            return data
        with staged(target) as stage:
            stage.path.write_text(data + "\n", encoding="utf-8")
            _note(ctx, what, name, "json", unmasked, rows)
            return str(stage.publish())
    if format == "json":
        table = ledgers.county_table(ctx, as_of or ctx.today(), None)
        summary = table.to_json()
        if target is None:
            _note(ctx, what, name, "json", unmasked, len(table.rows))
            return summary
        with staged(target) as stage:
            stage.path.write_text(summary + "\n", encoding="utf-8")
            _note(ctx, what, name, "json", unmasked, len(table.rows))
            return str(stage.publish())
    sheets, rows = _sheets(ctx, level, key, as_of or ctx.today(), format == "xlsx")
    if target is not None and not sheets:
        raise NothingToExportError(level)
    if target is None:
        out = shown.text(sheets, unmasked)
        _note(ctx, what, name, "text", unmasked, rows)
        return out
    with staged(target) as stage:
        if format == "csv":
            render.write_csv(sheets[0], stage.path, unmasked=unmasked, header=shown.header)
        elif format == "text":
            stage.path.write_text(shown.text(sheets, unmasked), encoding="utf-8")
        else:
            render.write_xlsx(sheets, stage.path, unmasked=unmasked)
        _note(ctx, what, name, format, unmasked, rows)
        return str(stage.publish())


def export_roster(
    ctx: Context,
    path: str | os.PathLike[str],
    *,
    format: Format | None,
    unmasked: bool,
    as_of: date | None,
) -> int:
    with use(ctx.language()), _audited(ctx, "roster", "roster"):
        target: Path = safe_export_path(path, store_path=ctx.url, root=ctx.exports_in)
        fmt: Format = format or ("csv" if target.suffix.lower() == ".csv" else "xlsx")
        children = list(reads.children(ctx, False))
        schools = reads.schools(ctx)
        context = ExportContext(as_of or ctx.today(), school_labels(schools.values()))
        with staged(target) as stage:
            n = write_roster(stage.path, children, context, format=fmt, unmasked=unmasked)
            _note(ctx, "roster", "roster", fmt, unmasked, n)
            stage.publish()
        return n


def export_signoff(ctx: Context, school_id: str, period: str, path: str | os.PathLike[str]) -> str:
    """The tables of a school's period as reported, printed as the school's form (XLSX) with
    the approval lines under the signature line; before a submission, today's figures with the
    line 未报送."""
    with use(ctx.language()), _audited(ctx, "signoff", school_id):
        target = safe_export_path(path, store_path=ctx.url, root=ctx.exports_in)
        v = signoff.view(ctx, school_id, period)
        table = v.reported if v.reported is not None else v.current
        lines = v.stamps() or [text("signoff.state.none")]
        form = render.school_form(table, None, lines)
        with staged(target) as stage:
            render.write_xlsx([form], stage.path)
            _note(ctx, "signoff", f"{school_id}@{v.period.key}", "xlsx", False, 1)
            return str(stage.publish())
