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
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

from leftbehind.domain.i18n import use
from leftbehind.domain.ids import shown_key
from leftbehind.io import render
from leftbehind.io.paths import ExportPathError, safe_export_path, staged
from leftbehind.io.roster_columns import ExportContext
from leftbehind.io.roster_write import Format, school_labels, write_roster
from leftbehind.service import ledgers, reads
from leftbehind.service.context import Context

__all__ = ["LEVELS", "export_ledger", "export_roster"]


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


def _sheets(ctx: Context, level: str, key: str | None, day: date) -> list[render.Sheet]:
    if level == "county":
        return [render.county_sheet(ledgers.county_table(ctx, day, None))]
    if level == "school":
        return render.school_sheets(ledgers.school_table(ctx, str(key), day, None))
    if level == "schools":
        tables = ledgers.school_tables(ctx, day, None).values()
        return [s for t in tables for s in render.school_sheets(t)]
    if level == "teacher":
        return [render.teacher_sheet(ledgers.teacher_table(ctx, str(key), day, None))]
    if level == "teachers":
        return [render.teacher_sheet(t) for t in ledgers.teacher_tables(ctx, day, None).values()]
    schools, staff = ledgers.commendations(ctx, day, None)
    return [
        render.standings_sheet(schools, "表彰候选：学校"),
        render.standings_sheet(staff, "表彰候选：教职工"),
    ]


def export_ledger(
    ctx: Context,
    level: str,
    *,
    key: str | None,
    as_of: date | None,
    format: str,
    path: str | os.PathLike[str] | None,
    unmasked: bool,
) -> str:
    with (
        use(ctx.language()),
        _audited(ctx, f"ledger.{level}" if level in LEVELS else "ledger", key or level),
    ):
        return _ledger(ctx, level, key, as_of, format, path, unmasked)


def _ledger(
    ctx: Context,
    level: str,
    key: str | None,
    as_of: date | None,
    format: str,
    path: str | os.PathLike[str] | None,
    unmasked: bool,
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
    if format == "json" and level != "county":
        msg = "json is the county table's summary (the one sent upward): level county"
        raise ValueError(msg)
    if format not in ("text", "json") and path is None:
        msg = f"format {format!r} needs a path"
        raise ValueError(msg)
    target = (
        None if path is None else safe_export_path(path, store_path=ctx.url, root=ctx.exports_in)
    )
    what, name = f"ledger.{level}", key or level
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
    sheets = _sheets(ctx, level, key, as_of or ctx.today())
    rows = sum(len(s.rows) for s in sheets)
    if target is not None and not sheets:
        msg = f"no {level} ledger in the actor's reach on that day: nothing to write"
        raise ValueError(msg)
    if target is None:
        text = "\n".join(render.render_text(s, unmasked=unmasked) for s in sheets)
        _note(ctx, what, name, "text", unmasked, rows)
        return text
    with staged(target) as stage:
        if format == "csv":
            render.write_csv(sheets[0], stage.path, unmasked=unmasked)
        elif format == "text":
            text = "\n".join(render.render_text(s, unmasked=unmasked) for s in sheets)
            stage.path.write_text(text, encoding="utf-8")
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
