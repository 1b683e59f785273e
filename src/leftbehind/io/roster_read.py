"""Reading a roster file (XLSX or CSV) into typed cells, reporting every bad cell.

This step knows the columns but not the county: it checks each cell's type (text, date, whole
number, choice, 是/否), the required cells, formulas, masked values, noncharacters, cells of
invisible characters only, and resident IDs repeated within the file. The facts themselves (ID
check digits, phones, dates in order, schools) are checked by
:meth:`leftbehind.County.import_roster`.

Files are streamed (:mod:`leftbehind.io.roster_xlsx`, :mod:`leftbehind.io.roster_csv`) within
:class:`~leftbehind.io.roster_limits.ImportLimits`: a file crossing one is refused with one
issue, before its rows are kept.

Headers and choices are read in Simplified or Traditional Chinese or as the English keys, and in
the other spellings of :mod:`leftbehind.io.roster_columns`, column by column as the file likes;
a choice comes out as its key (``male``, ``away``, ``yes``). Every issue's message is in the
language of the moment (``leftbehind.language()``), and names the column by the
header the file gave it.
"""

from __future__ import annotations

import itertools
import os
import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from attrs import field, frozen

from leftbehind.domain import ids
from leftbehind.domain.i18n import language as language_now
from leftbehind.domain.i18n import text, use
from leftbehind.io.roster_columns import (
    ROSTER_COLUMNS,
    CellValue,
    Column,
    Kind,
    choice_table,
    header_form,
    header_table,
    sheet_names,
)
from leftbehind.io.roster_csv import open_csv
from leftbehind.io.roster_limits import DEFAULT_LIMITS, FileRefusedError, ImportLimits
from leftbehind.io.roster_xlsx import FORMULA, open_xlsx

__all__ = [
    "CSV_ESCAPED",
    "CellIssue",
    "Progress",
    "RosterReport",
    "RosterRow",
    "column_letter",
    "message",
    "needs_csv_escape",
    "read_roster",
    "unescape_csv",
]

#: ``progress(stage, done, total)``: stage is ``"read"``, ``"check"`` or ``"write"``; total may be
#: ``None`` while unknown.
Progress = Callable[[str, int, int | None], None]

#: First characters a spreadsheet could take for a formula; CSV cells starting so get a ``'``.
CSV_ESCAPED = ("=", "+", "-", "@", "\t", "\r")


def message(code: str, /, **params: object) -> str:
    """The message of an issue ``code`` in the language of the moment (the ``roster`` catalogs'
    ``roster.issue.<code>``), with ``params`` put in; a number over 999 is written 1,000."""
    shown = {k: f"{v:,}" if type(v) is int else v for k, v in params.items()}
    return text(f"roster.issue.{code}", **shown)


def choices_text(column: Column) -> str:
    """A column's choices as a template written now says them, in a list (男、女)."""
    return text("roster.separator").join(c.label for c in column.choices)


#: Noncharacters (U+FDD0–U+FDEF and the last two code points of every plane): never text.
_NONCHARACTER = re.compile(
    "[\ufdd0-\ufdef"
    + "".join(chr(p | 0xFFFE) + chr(p | 0xFFFF) for p in range(0, 0x110000, 0x10000))
    + "]"
)
_CHILD_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}")
_DATE = re.compile(r"([0-9]{4})\s*[-/.年]\s*([0-9]{1,2})\s*[-/.月]\s*([0-9]{1,2})\s*日?")
_DATE8 = re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})")
#: Grades as clerks write them, in both scripts: 三年级, 三年級, 3年级, 初一 (= 7).
_GRADES: dict[str, int] = {
    "初一": 7,
    "初二": 8,
    "初三": 9,
    **{f"{n}{w}": i for w in ("年级", "年級") for i, n in enumerate("一二三四五六七八九", start=1)},
    **{f"{i}{w}": i for w in ("年级", "年級") for i in range(1, 10)},
}


def column_letter(index: int) -> str:
    """``1`` → ``A``, ``27`` → ``AA`` (spreadsheet column letters)."""
    out = ""
    while index > 0:
        index, rest = divmod(index - 1, 26)
        out = chr(65 + rest) + out
    return out


@frozen
class CellIssue:
    """One problem, placed where a person finds it: sheet, row (as the sheet numbers it), column.

    ``column`` is the column's header as the file wrote it (the clerk's own: 性别, 性別 or
    ``sex``), or the template's header in the language of the moment for a column the file
    lacks; "" for the whole file or row, and for a column the template does not know (it is
    named by its letter). ``key`` is the English key, ``index`` the 1-based column number (0
    when the column is not in the file), ``code`` stable. The message says what rule was broken,
    in the language of the moment when the issue was made (``language``), and never repeats the
    cell's value; ``str()`` places it in that language too (``花名册 第13行 C列「性别」: …``).
    """

    sheet: str
    row: int
    column: str
    key: str
    code: str
    message: str
    index: int = 0
    language: str = field(factory=language_now, eq=False, repr=False)

    def __str__(self) -> str:
        with use(self.language):
            where = [self.sheet]
            if self.row:
                where.append(text("roster.where.row", row=self.row))
            if self.index:
                where.append(text("roster.where.column", letter=column_letter(self.index)))
            place = " ".join(where)
            if self.column:
                place += text("roster.where.header", header=self.column)
        return f"{place}: {self.message} [{self.code}]"


@frozen
class RosterRow:
    """One data row: its number in the sheet and its well-formed cells by key (blank: ``None``).

    ``bad`` names the keys whose cells were reported; they are absent from ``values``.
    """

    number: int
    values: Mapping[str, CellValue]
    bad: frozenset[str] = frozenset()


@frozen
class RosterReport:
    """What :func:`read_roster` found: the rows, the columns present, and every issue.

    ``columns`` gives each column key present its 0-based position, ``headers`` its header as
    the file wrote it. ``refused`` says the file was refused as a whole (not a roster,
    unreadable, or over a limit): then ``issues`` holds that one reason and ``rows`` is empty.
    """

    path: str
    sheet: str
    columns: Mapping[str, int]
    rows: tuple[RosterRow, ...]
    issues: tuple[CellIssue, ...]
    warnings: tuple[CellIssue, ...] = ()
    encoding: str = ""
    refused: bool = False
    headers: Mapping[str, str] = field(factory=dict)

    @property
    def ok(self) -> bool:
        """Whether no cell had an issue (warnings do not count)."""
        return not self.issues


def _message(code: str) -> str:
    return message(code)


class _BadCellError(Exception):
    def __init__(self, code: str, message: str = "") -> None:
        super().__init__(code)
        self.code = code
        self.message = message or _message(code)


# ---------------------------------------------------------------------------------------------
# Cells.


def unescape_csv(text: str) -> str:
    """Undo the ``'`` an export put before a cell that starts like a formula (or with ``'``)."""
    if text[:1] == "'" and needs_csv_escape(text[1:]):
        return text[1:]
    return text


def needs_csv_escape(text: str) -> bool:
    """Whether a CSV cell gets a leading ``'``: it starts like a formula, or with ``'`` then so."""
    while text[:1] == "'":
        text = text[1:]
    return text[:1] in CSV_ESCAPED and text != ""


def _nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip()


def _integral(value: float) -> int | None:
    if value.is_integer() and abs(value) < 2**53:
        return int(value)
    return None


def _text(value: object) -> str | None:
    if type(value) is str:
        text = value.strip()
        return text or None
    if type(value) is int:
        return str(value)
    if type(value) is float and (n := _integral(value)) is not None:
        return str(n)
    raise _BadCellError("type", message("type.text"))


def _date(value: object) -> date | None:
    if type(value) is datetime:
        if value.time() != time(0):
            raise _BadCellError("date_format")
        return value.date()
    if type(value) is date:
        return value
    if type(value) is not str:
        raise _BadCellError("type", message("type.date"))
    text = _nfkc(value)
    if not text:
        return None
    m = _DATE.fullmatch(text) or _DATE8.fullmatch(text)
    if m is None:
        raise _BadCellError("date_format")
    try:
        return date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        raise _BadCellError("date_invalid") from None


def _int(value: object) -> int | None:
    if type(value) is int:
        return value
    if type(value) is float and (n := _integral(value)) is not None:
        return n
    if type(value) is str:
        text = _nfkc(value)
        if not text:
            return None
        if text.isascii() and text.isdigit() and len(text) <= 4:
            return int(text)
        if text in _GRADES:
            return _GRADES[text]
    raise _BadCellError("type", message("type.number"))


def _choice(value: object, column: Column, table: Mapping[str, str]) -> str | None:
    if type(value) is bool and column.kind is Kind.BOOL:
        return "yes" if value else "no"
    if type(value) is not str:
        raise _BadCellError("choice", message("choice", choices=choices_text(column)))
    if not value.strip():
        return None
    found = table.get(header_form(value))
    if found is None:
        raise _BadCellError("choice", message("choice", choices=choices_text(column)))
    return found


def _id_like(value: object) -> str | None:
    """A resident ID or phone: text (a number only when Excel kept every digit)."""
    if type(value) is float:
        raise _BadCellError("type", message("type.id_text"))
    text = _text(value)
    if text is not None and "*" in text:
        raise _BadCellError("masked")
    return text


def _invisible(text: str) -> bool:
    """Whether text holds something, and all of it invisible (zero-width and format marks)."""
    seen = False
    for c in text:
        if c.isspace():
            continue
        if unicodedata.category(c) != "Cf":
            return False
        seen = True
    return seen


def parse_cell(
    value: object, column: Column, choices: Mapping[str, str] | None = None
) -> CellValue:
    """The typed value of a cell (``None`` when blank); a bad cell raises with its code.

    A choice comes out as its key; ``choices`` is :func:`~leftbehind.io.roster_columns.
    choice_table` of the column (looked up when not given)."""
    if value is None or value == "":
        return None
    if type(value) is str:
        if _NONCHARACTER.search(value):
            raise _BadCellError("text_noncharacter")
        if _invisible(value):
            raise _BadCellError("text_invisible")
    kind = column.kind
    if kind is Kind.TEXT:
        return _text(value)
    if kind is Kind.DATE:
        return _date(value)
    if kind in (Kind.CHOICE, Kind.BOOL):
        return _choice(value, column, choice_table(column) if choices is None else choices)
    if kind is Kind.INT:
        return _int(value)
    if kind in (Kind.RESIDENT_ID, Kind.PHONE):
        return _id_like(value)
    text = _text(value)
    if text is not None:
        text = _nfkc(text)
        if not _CHILD_ID.fullmatch(text):
            raise _BadCellError("id_format" if kind is Kind.KEY else "child_id_format")
    return text


# ---------------------------------------------------------------------------------------------
# Files.


def _file_issue(sheet: str, code: str, row: int = 0) -> CellIssue:
    return CellIssue(sheet, row, "", "", code, message(code))


def _refused(
    path: str,
    sheet: str,
    exc: FileRefusedError,
    encoding: str = "",
    columns: Mapping[int, tuple[str, str]] | None = None,
) -> RosterReport:
    """The report of a file refused as a whole: one issue, naming the column when known
    (``columns``: 1-based position → key and header as written)."""
    key, header = (columns or {}).get(exc.column, ("", ""))
    issue = CellIssue(
        sheet, exc.row, header, key, exc.code, message(exc.code, limit=exc.limit), exc.column
    )
    return RosterReport(path, sheet, {}, (), (issue,), encoding=encoding, refused=True)


def _header_map(
    header: Sequence[Any], sheet: str, columns: tuple[Column, ...]
) -> tuple[dict[str, int], dict[str, str], list[CellIssue], list[CellIssue]]:
    """Column key → 0-based position and → header as written; issues (missing, twice) and
    warnings (unknown)."""
    lookup = header_table(columns)
    found: dict[str, int] = {}
    written: dict[str, str] = {}
    issues: list[CellIssue] = []
    unknown: list[CellIssue] = []
    for i, cell in enumerate(header):
        if cell is None or (isinstance(cell, str) and not cell.strip()):
            continue
        column = lookup.get(header_form(str(cell)))
        if column is None:
            # Named by its letter only: the cell may be a child's name when row 1 is data.
            unknown.append(
                CellIssue(sheet, 1, "", "", "unknown_column", message("unknown_column"), i + 1)
            )
            continue
        # A known header: the clerk's own words, shown as written (without surrounding spaces).
        as_written = str(cell).strip()
        if column.key in found:
            issues.append(
                CellIssue(
                    sheet,
                    1,
                    as_written,
                    column.key,
                    "duplicate_column",
                    message("duplicate_column"),
                    i + 1,
                )
            )
        else:
            found[column.key] = i
            written[column.key] = as_written
    for c in columns:
        if c.required and c.key not in found:
            issues.append(
                CellIssue(sheet, 1, c.header, c.key, "missing_column", message("missing_column"))
            )
    return found, written, issues, unknown  # fmt: skip


def _is_key_row(row: Sequence[Any], found: Mapping[str, int]) -> bool:
    """The template's second row: the English key of each column."""
    hits = 0
    for key, i in found.items():
        cell = row[i] if i < len(row) else None
        if cell is None or cell == "":
            continue
        if cell != key:
            return False
        hits += 1
    return hits > 0


def _preferred_sheets(columns: tuple[Column, ...]) -> frozenset[str]:
    from leftbehind.io.sheet_columns import SHEET_COLUMNS

    kind = next((k for k, cols in SHEET_COLUMNS.items() if cols == columns), "roster")
    return sheet_names(kind)


def read_roster(
    path: str | os.PathLike[str],
    *,
    columns: Sequence[Column] = ROSTER_COLUMNS,
    progress: Progress | None = None,
    limits: ImportLimits = DEFAULT_LIMITS,
) -> RosterReport:
    """Read a roster (``.xlsx`` or ``.csv``, streamed) and check every cell.

    Headers are matched in Simplified or Traditional Chinese, as the English keys, or in the
    other spellings the columns know (a ``*`` around a header, spaces and case are ignored), each
    column as the file likes; a second row holding the English keys is skipped. Choices come
    out as their keys. Of a workbook, the sheet named as the template's (花名册, 花名冊 or
    ``roster``) is read, else the first. Rows are numbered as the sheet numbers them. A file
    crossing one of ``limits`` is refused with one issue (:attr:`RosterReport.refused`), read no
    further than the limit. Never raises for a file's content: problems are in
    :attr:`RosterReport.issues`, in the language of the moment, and none repeats a cell's value.
    """
    p = Path(path)
    suffix = p.suffix.lower()
    sheet = p.name
    encoding = ""
    chosen = tuple(columns)
    rows: Iterator[tuple[int, list[Any]]]
    close: Callable[[], None]
    try:
        if suffix in (".xlsx", ".xlsm"):
            rows, sheet, total, close = open_xlsx(
                p, limits, prefer=_preferred_sheets(chosen), form=header_form
            )
        elif suffix in (".csv", ".txt"):
            records, encoding, total = open_csv(p, limits)
            rows = ((n, [unescape_csv(c) for c in record]) for n, record in records)
            close = records.close
        else:
            return _whole_file(str(p), sheet, "file_format")
    except FileRefusedError as exc:
        return _refused(str(p), sheet, exc)
    except Exception:  # a damaged file may fail anywhere inside zipfile or expat
        return _whole_file(str(p), sheet, "file_unreadable")
    try:
        return _read(rows, str(p), sheet, chosen, encoding, total, progress)
    except FileRefusedError as exc:  # in the header row
        return _refused(str(p), sheet, exc, encoding)
    except Exception:  # a damaged sheet may fail while streaming, after the first rows
        return _whole_file(str(p), sheet, "file_unreadable")
    finally:
        close()


def _whole_file(path: str, sheet: str, code: str, encoding: str = "") -> RosterReport:
    issue = _file_issue(sheet, code, 1 if code in ("no_header", "no_rows") else 0)
    return RosterReport(path, sheet, {}, (), (issue,), encoding=encoding, refused=True)


def _read(
    rows: Iterator[tuple[int, list[Any]]],
    path: str,
    sheet: str,
    columns: tuple[Column, ...],
    encoding: str,
    total: int,
    progress: Progress | None,
) -> RosterReport:
    first = next(rows, None)
    if first is None:
        return _whole_file(path, sheet, "no_rows", encoding)
    if first[0] != 1:
        # Row 1 is blank: it still is the header row.
        rows = itertools.chain([first], rows)
        first = (1, [])
    found, written, issues, unknown = _header_map(first[1], sheet, columns)
    if not found:
        return _whole_file(path, sheet, "no_header", encoding)
    by_key = {c.key: c for c in columns}
    at = {i + 1: (key, written[key]) for key, i in found.items()}
    plan = [
        (key, i, by_key[key], written[key], choice_table(by_key[key]) if by_key[key].choices
         else None)
        for key, i in found.items()
    ]  # fmt: skip
    out: list[RosterRow] = []
    roster = columns == ROSTER_COLUMNS  # ids and resident IDs of other sheets are checked later
    residents: dict[str, int] = {}
    child_ids: dict[str, int] = {}
    number = 1
    try:
        for seen, (number, row) in enumerate(rows, start=2):
            if progress is not None and seen % 500 == 0:
                progress("read", number, total)
            if number == 2 and _is_key_row(row, found):
                continue
            if not any(c is not None and c != "" for c in row):
                continue
            values: dict[str, CellValue] = {}
            bad: set[str] = set()
            for key, i, column, header, choices in plan:
                raw = row[i] if i < len(row) else None
                try:
                    if raw is FORMULA:
                        raise _BadCellError("formula")
                    value = parse_cell(raw, column, choices)
                    if value is None and column.required:
                        raise _BadCellError("required")
                except _BadCellError as exc:
                    issues.append(
                        CellIssue(sheet, number, header, key, exc.code, exc.message, i + 1)
                    )
                    bad.add(key)
                    continue
                values[key] = value  # fmt: skip
            if roster:
                _duplicates(
                    values, "resident_id", residents, number, sheet, found, written, issues, bad
                )
                _duplicates(values, "id", child_ids, number, sheet, found, written, issues, bad)
            out.append(RosterRow(number, values, frozenset(bad)))
    except FileRefusedError as exc:
        return _refused(path, sheet, exc, encoding, at)
    if progress is not None:
        progress("read", number, number)
    return RosterReport(
        path, sheet, found, tuple(out), tuple(issues), tuple(unknown), encoding=encoding,
        headers=written,
    )  # fmt: skip


def _duplicates(
    values: dict[str, CellValue],
    key: str,
    seen: dict[str, int],
    number: int,
    sheet: str,
    found: Mapping[str, int],
    written: Mapping[str, str],
    issues: list[CellIssue],
    bad: set[str],
) -> None:
    value = values.get(key)
    if not isinstance(value, str):
        return
    norm = ids.normalize_digits(value).upper() if key == "resident_id" else value
    if norm in seen:
        code = "duplicate_resident_id" if key == "resident_id" else "duplicate_id"
        issues.append(
            CellIssue(sheet, number, written[key], key, code, message(code), found[key] + 1)
        )
        bad.add(key)
        del values[key]
    else:
        seen[norm] = number
