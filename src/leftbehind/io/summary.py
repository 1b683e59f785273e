"""Counties' summaries in and out: the county table as the JSON a county sends upward, added up
into a province's (or a city's) table, written as a form.

A summary is :meth:`~leftbehind.domain.ledger.CountyTable.to_json`: counts by school, township
and county, the schools' names, each county's name and administrative code, the day, the period
and the policies — no child's data. Reading one checks its shape and its arithmetic; adding
several refuses different days, periods or policies, and a county under two codes.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from leftbehind.domain.errors import Issue, ValidationError
from leftbehind.domain.ledger_table import CountyTable, LedgerMismatchError, merge
from leftbehind.io import render
from leftbehind.io.paths import safe_export_path, staged

__all__ = ["MAX_SUMMARY_BYTES", "merge_summaries", "read_summary", "write_table"]

#: The largest summary file read (a province of thousands of schools is a few MiB).
MAX_SUMMARY_BYTES = 64 * 2**20


def read_summary(path: str | os.PathLike[str]) -> CountyTable:
    """The county table in ``path``, checked (a :class:`ValidationError` names the file and
    what is wrong, a :class:`~leftbehind.domain.ledger.LedgerInconsistencyError` the rules its
    counts break)."""
    source = Path(path)
    try:
        size = source.stat().st_size
        if size > MAX_SUMMARY_BYTES:
            limit = MAX_SUMMARY_BYTES // 2**20
            issue = Issue("", "file_too_large", f"larger than {limit} MiB: not a county summary")
            raise ValidationError([issue], subject=source.name)
        data = source.read_bytes()
    except OSError as exc:
        issue = Issue("", "file_unreadable", f"cannot be read ({exc.strerror or 'I/O error'})")
        raise ValidationError([issue], subject=source.name) from None
    try:
        return CountyTable.from_json(data)
    except ValidationError as exc:
        raise ValidationError(exc.issues, subject=f"{source.name} (county table)") from None


def merge_summaries(paths: Iterable[str | os.PathLike[str]]) -> CountyTable:
    """The sum of the summaries in ``paths``, checked. A county is added once: two files
    holding the same county (by its name or by its code) are refused, since their sum would
    count its children twice."""
    tables: list[CountyTable] = []
    seen: dict[str, str] = {}
    for path in paths:
        table = read_summary(path)
        name = Path(path).name
        for county in {key[0] for key in table.rows if len(key) == 1}:
            marks = [m for m in (county, table.codes.get(county)) if m]
            for which in marks:
                if which in seen:
                    msg = f"county {county} is in both {seen[which]} and {name}: add each once"
                    raise LedgerMismatchError(msg)
            seen.update(dict.fromkeys(marks, name))
        tables.append(table)
    return merge(*tables).check()


def write_table(
    table: CountyTable,
    path: str | os.PathLike[str],
    format: str = "xlsx",
    *,
    store_path: str | os.PathLike[str] | None = None,
) -> Path:
    """Write ``table`` to ``path`` as ``xlsx`` (the form), ``csv`` or ``json`` (a summary to
    send on), atomically, through :func:`~leftbehind.io.paths.safe_export_path` (never over
    ``store_path``'s store, nor any database); returns the path written."""
    if format not in ("xlsx", "csv", "json"):
        msg = "format is xlsx, csv or json"
        raise ValueError(msg)
    target = safe_export_path(path, store_path=store_path)
    with staged(target) as stage:
        if format == "json":
            stage.path.write_text(table.to_json() + "\n", encoding="utf-8")
        elif format == "csv":
            render.write_csv(render.county_sheet(table), stage.path)
        else:
            render.write_xlsx([render.county_sheet(table)], stage.path)
        return stage.publish()
