"""Writing the roster: the blank templates and the export, as XLSX or CSV.

Everything a person reads is in the language of the moment
(``leftbehind.language()``; the command line and
:meth:`leftbehind.County.export_roster` write in the county's): headers, choices, sheet names and
the instructions, through the ``roster`` catalogs. In Chinese, row 1 holds the headers and row 2
the English keys, data from row 3; in English the headers are the keys (and the choices too:
``male``, ``away``), data from row 2. A file written in any of the three reads back.

XLSX: a 花名册 sheet (花名冊, ``roster``; headers, keys, panes frozen, list validations for the
choices, ID and phone columns formatted as text, dates as dates) and a 说明 sheet (說明,
``instructions``). Every text cell is a string cell (``data_type 's'``) — one starting
with ``=``, ``+``, ``-`` or ``@`` also gets Excel's quote prefix — so no cell is ever a formula.
CSV: UTF-8 with a BOM (so Excel opens it as UTF-8); a cell starting with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return (or with ``'`` followed by one of them) gets a leading ``'``,
which :func:`leftbehind.io.roster_read.read_roster` removes again.

Files are written to a temporary file in the same folder and moved into place, so a failed
export leaves no half-written file.
"""

from __future__ import annotations

import contextlib
import csv
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any, Literal

from leftbehind.domain.i18n import text
from leftbehind.domain.ids import mask_phone, mask_resident_id
from leftbehind.domain.model import Child, School
from leftbehind.io.paths import ExportPathError, safe_export_path, staged
from leftbehind.io.render import xml_safe
from leftbehind.io.roster_columns import (
    ROSTER_COLUMNS,
    CellValue,
    Column,
    ExportContext,
    Kind,
    has_key_row,
    sheet_name,
)
from leftbehind.io.roster_read import CSV_ESCAPED, choices_text, needs_csv_escape
from leftbehind.io.sheet_columns import SHEET_COLUMNS

__all__ = [
    "TEMPLATES",
    "Format",
    "roster_rows",
    "school_labels",
    "template_title",
    "write_roster",
    "write_template",
]

Format = Literal["xlsx", "csv"]

#: The templates by kind, each its columns: every sheet a county keeps (the roster 花名册,
#: schools, staff, assignments, study groups and each kind of duty record; see
#: :mod:`leftbehind.io.sheet_columns`). :func:`template_title` names each sheet.
TEMPLATES: Mapping[str, tuple[Column, ...]] = SHEET_COLUMNS

#: How many lines of instructions each template's 说明 sheet has after its title (one for the
#: kinds not named).
_INSTRUCTIONS = {"roster": 9}


def template_title(kind: str) -> str:
    """A template's sheet name in the language of the moment (``roster``: 花名册, 花名冊,
    ``roster``; ``talk``: 谈心记录; ``home_visit``: 家访记录)."""
    return sheet_name(kind)


_TEXT_KINDS = (Kind.TEXT, Kind.CHILD_ID, Kind.RESIDENT_ID, Kind.PHONE)


def school_labels(schools: Iterable[School]) -> dict[str, str]:
    """How the 学校 column names each school: its name, or its id when the name is shared."""
    items = list(schools)
    counts: dict[str, int] = {}
    for s in items:
        counts[s.name] = counts.get(s.name, 0) + 1
    return {s.id: s.name if counts[s.name] == 1 and s.name else s.id for s in items}


def roster_rows(
    children: Iterable[Child], ctx: ExportContext, *, unmasked: bool = False
) -> Iterator[list[CellValue]]:
    """Each child's cells in the order of the roster's columns, masked unless ``unmasked``.

    The columns are :data:`~leftbehind.io.roster_columns.ROSTER_COLUMNS`; a choice is written
    as a template in the language of the moment says it (男, ``male``).
    """
    labels = {c.key: {x.key: x.label for x in c.choices} for c in ROSTER_COLUMNS if c.choices}
    for child in children:
        row: list[CellValue] = []
        for column in ROSTER_COLUMNS:
            value = column.get(child, ctx)
            if column.key in labels and isinstance(value, str):
                value = labels[column.key][value]
            elif not unmasked and isinstance(value, str) and value:
                if column.kind is Kind.RESIDENT_ID:
                    value = mask_resident_id(value)
                elif column.kind is Kind.PHONE:
                    value = mask_phone(value)
            row.append(value)
        yield row


# ---------------------------------------------------------------------------------------------
# Writers.


@contextlib.contextmanager
def _atomic(out: Path) -> Iterator[Path]:
    fd, name = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.replace(tmp, out)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _csv_text(value: CellValue) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    return "'" + text if needs_csv_escape(text) else text


def _write_csv(out: Path, columns: Sequence[Column], rows: Iterable[Sequence[CellValue]]) -> int:
    n = 0
    with _atomic(out) as tmp, tmp.open("w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([c.header for c in columns])
        if has_key_row():
            writer.writerow([c.key for c in columns])
        for row in rows:
            writer.writerow([_csv_text(v) for v in row])
            n += 1
    return n


def _write_xlsx(
    out: Path,
    kind: str,
    rows: Iterable[Sequence[CellValue]],
) -> int:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    columns = TEMPLATES[kind]
    keys = has_key_row()
    first = 3 if keys else 2  # the first data row
    wb = Workbook(write_only=True)
    ws: Any = wb.create_sheet(template_title(kind))
    ws.freeze_panes = f"A{first}"
    for i, column in enumerate(columns, start=1):
        letter = get_column_letter(i)
        dim = ws.column_dimensions[letter]
        dim.width = max(10, 2 * len(column.header) + 2)
        if column.kind in (Kind.RESIDENT_ID, Kind.PHONE, Kind.CHILD_ID, Kind.KEY):
            dim.number_format = "@"
            dim.width = 20
        elif column.kind is Kind.DATE:
            dim.number_format = "yyyy-mm-dd"
            dim.width = 12
        if column.choices:
            dv = DataValidation(
                type="list",
                formula1='"' + ",".join(c.label for c in column.choices) + '"',
                allow_blank=True,
                showErrorMessage=True,
                errorTitle=column.header,
                error=choices_text(column),
            )
            dv.add(f"{letter}{first}:{letter}1048576")
            ws.data_validations.append(dv)
    bold, required = Font(bold=True), PatternFill("solid", fgColor="FFF2CC")
    header = []
    for column in columns:
        cell = WriteOnlyCell(ws, value=column.header)
        cell.font = bold
        if column.required:
            cell.fill = required
        header.append(cell)
    ws.append(header)
    if keys:
        grey = Font(italic=True, color="808080")
        key_row = []
        for column in columns:
            cell = WriteOnlyCell(ws, value=column.key)
            cell.font = grey
            key_row.append(cell)
        ws.append(key_row)
    n = 0
    for row in rows:
        ws.append([_xlsx_cell(ws, WriteOnlyCell, v) for v in row])
        n += 1
    _instructions(wb.create_sheet(sheet_name("instructions")), kind, columns)
    with _atomic(out) as tmp:
        wb.save(tmp)
    return n


def _xlsx_cell(ws: Any, make: Any, value: CellValue) -> Any:
    if isinstance(value, str):
        cell = make(ws, value=xml_safe(value))
        cell.data_type = "s"  # never a formula, whatever the text starts with
        if value[:1] in CSV_ESCAPED[:4]:
            cell.quotePrefix = True
        return cell
    if isinstance(value, date):
        cell = make(ws, value=value)
        cell.number_format = "yyyy-mm-dd"
        return cell
    return value


def _instructions(ws: Any, kind: str, columns: Sequence[Column]) -> None:
    ws.column_dimensions["A"].width = 22
    ws.column_dimensions["B"].width = 26
    ws.column_dimensions["C"].width = 8
    ws.column_dimensions["D"].width = 36
    ws.column_dimensions["E"].width = 70
    for n in range(_INSTRUCTIONS.get(kind, 1) + 1):
        ws.append([text(f"roster.instructions.{kind}.{n}")])
    ws.append([])
    keys = has_key_row()  # in English the header is the key
    parts = ("column", "key", "required", "choices", "meaning") if keys else (
        "column", "required", "choices", "meaning")  # fmt: skip
    ws.append([text(f"roster.instructions.{p}") for p in parts])
    required = text("roster.choice.yes")
    for c in columns:
        row = [c.header, *([c.key] if keys else []), required if c.required else "",
               choices_text(c), c.meaning]  # fmt: skip
        ws.append(row)


def write_template(
    path: str | os.PathLike[str],
    *,
    format: Format = "xlsx",
    kind: str = "roster",
    store_path: str | os.PathLike[str] | None = None,
) -> Path:
    """Write a blank template of ``kind`` (a key of ``TEMPLATES``: ``roster`` 花名册,
    ``schools``, ``staff``, ``assignments``, ``groups``, ``talk`` 谈心记录, ``home_visit``
    家访记录 and the other duty records), in the language of the moment (headers, choices,
    sheet names, the 说明 sheet). An unknown ``kind`` raises :class:`ValueError` naming the
    choices.

    Returns the path written. The path must end in ``.xlsx`` or ``.csv`` and is checked by
    :func:`~leftbehind.io.paths.safe_export_path` (never over ``store_path``'s store, or any
    database); the file appears whole or not at all.
    """
    if kind not in TEMPLATES:
        msg = f"no template {kind!r}: choose {', '.join(TEMPLATES)}"
        raise ValueError(msg)
    suffix = Path(path).suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        raise ExportPathError(path, "export_suffix", "a template is an .xlsx or a .csv file")
    out = safe_export_path(path, store_path=store_path)
    with staged(out) as stage:
        if format == "csv":
            _write_csv(stage.path, TEMPLATES[kind], ())
        else:
            _write_xlsx(stage.path, kind, ())
        stage.publish()
    return out


def write_roster(
    out: Path,
    children: Iterable[Child],
    ctx: ExportContext,
    *,
    format: Format,
    unmasked: bool = False,
) -> int:
    """Write ``children`` as a roster in the template's form to ``out``, in the language of the
    moment; returns the row count.

    ID numbers and phones are masked unless ``unmasked`` (a masked export cannot be imported
    again). :meth:`leftbehind.County.export_roster` is the export a county calls: it picks the
    children the actor may see and audits the export before the file appears.
    """
    rows = roster_rows(sorted(children, key=lambda c: c.id), ctx, unmasked=unmasked)
    write = _write_csv if format == "csv" else _write_roster_xlsx
    return write(out, ROSTER_COLUMNS, rows)


def _write_roster_xlsx(
    out: Path, columns: Sequence[Column], rows: Iterable[Sequence[CellValue]]
) -> int:
    return _write_xlsx(out, "roster", rows)
