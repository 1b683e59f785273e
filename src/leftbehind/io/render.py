"""Rendering ledgers for people: a terminal table, CSV and the printed forms (XLSX), from one
column definition, in the language of the moment.

The builders (:func:`county_sheet`, :func:`school_form`, :func:`teacher_sheet`,
:func:`standings_sheet`) turn ledger values into a :class:`Sheet` (one table) or a
:class:`Form` (a titled page of tables); the writers turn them into text
(:func:`render_text`), CSV (:func:`to_csv` / :func:`write_csv`) and workbooks
(:func:`write_xlsx`, see :mod:`leftbehind.io.xlsx_forms`). Phone and resident-ID columns are
masked unless ``unmasked=True``.

Text cells are never formulas: in CSV a cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return gets a leading ``'``; in XLSX every text cell is written as a string
(``data_type 's'``, with Excel's quote prefix), whatever it starts with.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Sequence
from datetime import date
from typing import Literal

from leftbehind.io.ledger_forms import (
    COUNTY_KINDS,
    GradeCounts,
    county_sheet,
    describe,
    grade_counts,
    kind_label,
    school_form,
    school_sheets,
    standings_sheet,
    teacher_form,
    teacher_sheet,
)
from leftbehind.io.sheets import (
    Column,
    Form,
    Kind,
    Sheet,
    Value,
    as_form,
    cell_text,
    fill,
    xml_safe,
)
from leftbehind.io.xlsx_forms import KEYS_SHEET, write_forms

__all__ = [
    "COUNTY_KINDS",
    "KEYS_SHEET",
    "Column",
    "Form",
    "GradeCounts",
    "Header",
    "Kind",
    "Sheet",
    "county_sheet",
    "csv_cell",
    "describe",
    "grade_counts",
    "kind_label",
    "render_text",
    "school_form",
    "school_sheets",
    "standings_sheet",
    "summary_columns",
    "teacher_form",
    "teacher_sheet",
    "to_csv",
    "to_json",
    "write_csv",
    "write_xlsx",
    "xml_safe",
]

#: The CSV header: the columns' headers in the language of the moment, or their stable keys.
Header = Literal["labels", "keys"]

_WIDE = 10_000


# ---------------------------------------------------------------------------------------------
# The terminal.


def _justify(col: Column) -> Literal["left", "right"]:
    return "left" if col.kind in ("text", "phone", "id") else "right"


#: Headers wider than this many cells fold onto two lines in a terminal summary.
_FOLD = 8


def _fold(header: str) -> int:
    """The width at which ``header`` folds onto two lines in a summary: English between
    words, Chinese after four characters (a header of at most :data:`_FOLD` cells stays
    whole)."""
    from rich.cells import cell_len

    total = cell_len(header)
    if total <= _FOLD:
        return total
    if " " in header.strip():
        return max(max(cell_len(w) for w in header.split()), (total + 1) // 2)
    if total == len(header):  # one word
        return total
    return max(_FOLD, (total + 1) // 2 if total > 2 * _FOLD else _FOLD)


def _table(
    sheet: Sheet,
    columns: Sequence[Column],
    *,
    unmasked: bool,
    fold: bool,
    title: bool = True,
    width: int | None = None,
) -> object:
    from rich import box
    from rich.cells import cell_len
    from rich.table import Table

    rows = [
        [
            cell_text(v, c.kind)
            for v, c in zip(Sheet.cells(r, columns, unmasked=unmasked), columns, strict=True)
        ]
        for r in sheet.rows
    ]
    caption = fill(sheet.caption, width) if width and sheet.caption else sheet.caption
    table = Table(
        title=(sheet.title if title else None),
        caption=(caption or None) if title else None,
        box=box.SIMPLE_HEAD,
        collapse_padding=True,
        title_justify="center" if title else "left",
    )
    if not title and sheet.heading:
        table.title = sheet.heading
        table.title_justify = "left"
    for j, col in enumerate(columns):
        data = max((cell_len(r[j]) for r in rows), default=0)
        head = cell_len(col.header)
        if fold and col.brief:  # the header as it reads folded: 谈心 / 完成率
            lines = col.brief.split("\n")
            width = max(data, *(cell_len(line) for line in lines))
            table.add_column(col.brief, justify=_justify(col), overflow="fold", width=width)
        elif fold and head > data and _fold(col.header) < head:
            table.add_column(
                col.header,
                justify=_justify(col),
                overflow="fold",
                width=max(data, _fold(col.header)),
            )
        else:
            table.add_column(col.header, justify=_justify(col), overflow="fold", min_width=head)
    for r in rows:
        table.add_row(*r)
    return table


def _print(renderables: Sequence[object], width: int | None) -> str:
    from rich.console import Console

    out = io.StringIO()
    console = Console(file=out, width=width or _WIDE, color_system=None, force_terminal=False)
    for i, item in enumerate(renderables):
        if i:
            console.print()
        console.print(item)
    return "\n".join(line.rstrip() for line in out.getvalue().splitlines()) + "\n"


def _width(sheet: Sheet, columns: Sequence[Column], unmasked: bool) -> int:
    """The cells the table of ``columns`` takes, padding included (a console narrower than
    that would squeeze it)."""
    from rich.cells import cell_len
    from rich.console import Console

    out = io.StringIO()
    console = Console(file=out, width=_WIDE, color_system=None, force_terminal=False)
    console.print(_table(sheet, columns, unmasked=unmasked, fold=True, title=False))
    return max((cell_len(line) for line in out.getvalue().splitlines()), default=0)


def summary_columns(
    sheet: Sheet,
    *,
    width: int | None = None,
    columns: Sequence[str] | None = None,
    unmasked: bool = False,
) -> list[Column]:
    """The columns a terminal shows of ``sheet``.

    - ``columns`` (keys): the sheet's label columns and these, in this order (a
      :class:`ValueError` names a key the sheet has not, and lists those it has);
    - else ``width``: the label columns (the sheet's ``summary_labels`` when it has them) and the
      columns an officer reads first (the sheet's ``priority``, then the others in order) for
      as long as the table fits ``width`` terminal cells (a CJK character is two), in the
      sheet's order;
    - neither: every column.
    """
    if columns is None and width is None:
        return list(sheet.columns)
    labels = list(sheet.summary_labels) or list(sheet.columns[: sheet.labels])
    named = {c.key for c in sheet.columns[: sheet.labels]} | {c.key for c in labels}
    by_key = {c.key: c for c in sheet.columns}
    if columns is not None:
        unknown = [k for k in columns if k not in by_key]
        if unknown:
            msg = (
                f"no column {', '.join(unknown)} in the {sheet.key} table; its columns are "
                + ", ".join(by_key)
            )
            raise ValueError(msg)
        return labels + [by_key[k] for k in dict.fromkeys(columns) if k not in named]
    rest = [c for c in sheet.columns if c.key not in named]
    first = [by_key[k] for k in sheet.priority if k in by_key and k not in named]
    order = first + [c for c in rest if c not in first]
    chosen: list[Column] = []
    for col in order:
        trial = [*chosen, col]
        shown = labels + [c for c in rest if c in trial]
        if _width(sheet, shown, unmasked) > (width or _WIDE):
            break
        chosen = trial
    return labels + [c for c in rest if c in chosen]


def render_text(
    item: Sheet | Form,
    *,
    unmasked: bool = False,
    width: int | None = None,
    columns: Sequence[str] | None = None,
) -> str:
    """A sheet or a form as terminal text (rich), without colour, in the language it was built.

    With ``width=None`` and no ``columns`` every column is shown, as wide as it needs (pipe
    it to ``less -S``, or write it to a file); ``width`` (the terminal's columns) shows the
    columns an officer reads first for as long as they fit, and ``columns`` the label columns
    with the columns of those keys (see :func:`summary_columns`): the whole table stays in
    the XLSX, CSV and JSON exports. A form prints its title, its caption and each table under
    its heading.
    """
    if isinstance(item, Sheet):
        shown = summary_columns(item, width=width, columns=columns, unmasked=unmasked)
        fold = width is not None or columns is not None
        table = _table(item, shown, unmasked=unmasked, fold=fold, width=width)
        return _print([table], width)
    from rich.text import Text

    caption = fill(item.caption, width) if width else item.caption
    parts: list[object] = [Text(item.title, style="bold"), Text(caption)]
    for section in item.sections:
        shown = summary_columns(section, width=width, columns=None, unmasked=unmasked)
        fold = width is not None
        parts.append(_table(section, shown, unmasked=unmasked, fold=fold, title=False))
    parts.extend(Text(line) for line in item.stamps)
    return _print(parts, width)


# ---------------------------------------------------------------------------------------------
# CSV.

_DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Value, kind: Kind) -> str:
    """A cell's CSV text; text that a spreadsheet would read as a formula gets a leading ``'``."""
    text = cell_text(value, kind) if kind == "rate" else ("" if value is None else str(value))
    if isinstance(value, str) and text.startswith(_DANGEROUS):
        return "'" + text
    return text


def _first(item: Sheet | Form) -> Sheet:
    return item if isinstance(item, Sheet) else as_form(item).sections[0]


def to_csv(item: Sheet | Form, *, unmasked: bool = False, header: Header = "labels") -> str:
    """A sheet (a form's first table) as CSV: one header row, the columns' headers in the
    language of the moment (``header="labels"``) or their stable English keys
    (``header="keys"``: for a program reading the file), then a row per row."""
    if header not in ("labels", "keys"):
        msg = "header is labels or keys"
        raise ValueError(msg)
    sheet = _first(item)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([c.header if header == "labels" else c.key for c in sheet.columns])
    for cells in sheet.values(unmasked=unmasked):
        writer.writerow(csv_cell(v, c.kind) for v, c in zip(cells, sheet.columns, strict=True))
    return out.getvalue()


def write_csv(
    item: Sheet | Form,
    path: str | os.PathLike[str],
    *,
    unmasked: bool = False,
    header: Header = "labels",
) -> None:
    """Write :func:`to_csv` to ``path`` in UTF-8 with a byte-order mark (so Excel reads CJK)."""
    with open(path, "w", encoding="utf-8-sig", newline="") as f:
        f.write(to_csv(item, unmasked=unmasked, header=header))


def to_json(
    items: Sequence[Sheet | Form],
    *,
    level: str,
    key: str | None,
    as_of: date,
    unmasked: bool = False,
) -> str:
    """Sheets and forms as JSON for a program: ``{"ledger", "key", "as_of", "tables"}``, each
    table ``{"key", "title", "caption", "rows"}`` and each row an object of the columns'
    stable English keys (those of ``to_csv(header="keys")``), masked unless ``unmasked``; a
    subtotal row carries ``"total": 1``, a total ``"total": 2`` or more. Sorted keys, UTF-8
    text as it is (中文 stays 中文)."""
    tables = []
    for item in items:
        for sheet in as_form(item).sections:
            rows = []
            for row in sheet.rows:
                cells = sheet.cells(row, sheet.columns, unmasked=unmasked)
                out: dict[str, object] = {
                    c.key: v for c, v in zip(sheet.columns, cells, strict=True)
                }
                if total := sheet.level_of(row):
                    out["total"] = total
                rows.append(out)
            tables.append(
                {"key": sheet.key, "title": sheet.title, "caption": sheet.caption, "rows": rows}
            )
    data = {"ledger": level, "key": key, "as_of": as_of.isoformat(), "tables": tables}
    return json.dumps(data, ensure_ascii=False, sort_keys=True, indent=1)


# ---------------------------------------------------------------------------------------------
# XLSX.


def write_xlsx(
    items: Sequence[Sheet | Form], path: str | os.PathLike[str], *, unmasked: bool = False
) -> None:
    """Write each sheet or form as a printed form, a worksheet each (see
    :mod:`leftbehind.io.xlsx_forms`): title, caption, grouped headers, totals in bold, A4
    landscape one page wide; the columns' keys on a hidden worksheet, never in the print."""
    write_forms(items, path, unmasked=unmasked)
