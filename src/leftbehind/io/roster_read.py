"""Reading a roster file (XLSX or CSV) into typed cells, reporting every bad cell.

This step knows the columns but not the county: it checks each cell's type (text, date, whole
number, choice, 是/否), the required cells, formulas, masked values and resident IDs repeated
within the file. The facts themselves (ID check digits, phones, dates in order, schools) are
checked by :meth:`leftbehind.County.import_roster`.
"""

from __future__ import annotations

import csv
import io
import os
import re
import unicodedata
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from attrs import frozen

from leftbehind.domain import ids
from leftbehind.io.roster_columns import ROSTER_COLUMNS, CellValue, Column, Kind

__all__ = [
    "CSV_ESCAPED",
    "CellIssue",
    "Progress",
    "RosterReport",
    "RosterRow",
    "column_letter",
    "needs_csv_escape",
    "read_roster",
    "unescape_csv",
]

#: ``progress(stage, done, total)``: stage is ``"read"``, ``"check"`` or ``"write"``; total may be
#: ``None`` while unknown.
Progress = Callable[[str, int, int | None], None]

#: First characters a spreadsheet could take for a formula; CSV cells starting so get a ``'``.
CSV_ESCAPED = ("=", "+", "-", "@", "\t", "\r")

MESSAGES: Mapping[str, str] = {
    "required": "must be filled in",
    "type": "",
    "date_format": "expected a date such as 2016-03-01 (or 2016/3/1, 2016年3月1日)",
    "date_invalid": "not a real calendar date",
    "choice": "",
    "formula": "holds a formula: enter the value itself (paste as values)",
    "masked": "holds a masked value (with *): export with --unmasked to re-import",
    "child_id_format": "a child number is 1–64 letters, digits, '-', '_' or '.'",
    "duplicate_resident_id": "another row of this file has the same resident ID",
    "duplicate_id": "another row of this file has the same 兒童編號",
    "missing_column": "the file has no such column",
    "duplicate_column": "the file has this column twice",
    "unknown_column": "not a column of the roster template; ignored",
    "file_format": "the file is neither an XLSX workbook nor a CSV file",
    "file_unreadable": "the file could not be read",
    "encoding": "the file is neither UTF-8 nor GB18030 text",
    "csv_format": "the CSV line could not be read (an unclosed quote or an over-long cell)",
    "no_rows": "the file holds no header row",
}

_CHILD_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}")
_DATE = re.compile(r"([0-9]{4})\s*[-/.年]\s*([0-9]{1,2})\s*[-/.月]\s*([0-9]{1,2})\s*日?")
_DATE8 = re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})")
_GRADES = {f"{n}年級": i for i, n in enumerate("一二三四五六七八九", start=1)}
_GRADES.update({"初一": 7, "初二": 8, "初三": 9, "七年級": 7, "八年級": 8, "九年級": 9})
_GRADES.update({f"{i}年級": i for i in range(1, 10)})
_GRADES.update({f"{n}年级": i for n, i in list(_GRADES.items()) if n.endswith("年級")})


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

    ``column`` is the Chinese header ("" for the whole file or row), ``key`` the English key,
    ``index`` the 1-based column number (0 when the column is not in the file). The message says
    what rule was broken and never repeats the cell's value.
    """

    sheet: str
    row: int
    column: str
    key: str
    code: str
    message: str
    index: int = 0

    def __str__(self) -> str:
        where = self.sheet
        if self.row:
            where += f" 第{self.row}行"
        if self.column:
            letter = f" {column_letter(self.index)}列" if self.index else ""
            where += f"{letter}「{self.column}」"
        return f"{where}: {self.message} [{self.code}]"


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
    """What :func:`read_roster` found: the rows, the columns present, and every issue."""

    path: str
    sheet: str
    columns: Mapping[str, int]
    rows: tuple[RosterRow, ...]
    issues: tuple[CellIssue, ...]
    warnings: tuple[CellIssue, ...] = ()
    encoding: str = ""

    @property
    def ok(self) -> bool:
        """Whether no cell had an issue (warnings do not count)."""
        return not self.issues


class _BadCellError(Exception):
    def __init__(self, code: str, message: str = "") -> None:
        super().__init__(code)
        self.code = code
        self.message = message or MESSAGES[code]


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
    raise _BadCellError("type", "expected text")


def _date(value: object) -> date | None:
    if type(value) is datetime:
        if value.time() != time(0):
            raise _BadCellError("date_format")
        return value.date()
    if type(value) is date:
        return value
    if type(value) is not str:
        raise _BadCellError("type", "expected a date")
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
    raise _BadCellError("type", "expected a whole number (a grade such as 3 or 初一)")


def _choice(value: object, column: Column) -> str | None:
    if type(value) is bool and column.kind is Kind.BOOL:
        return column.choices[0] if value else column.choices[1]
    if type(value) is not str:
        raise _BadCellError("choice", f"expected one of: {'、'.join(column.choices)}")
    text = _nfkc(value)
    if not text:
        return None
    if text not in column.choices:
        raise _BadCellError("choice", f"expected one of: {'、'.join(column.choices)}")
    return text


def _id_like(value: object) -> str | None:
    """A resident ID or phone: text (a number only when Excel kept every digit)."""
    if type(value) is float:
        raise _BadCellError(
            "type", "expected text: format the column as text (Excel keeps 15 digits)"
        )
    text = _text(value)
    if text is not None and "*" in text:
        raise _BadCellError("masked")
    return text


def parse_cell(value: object, column: Column) -> CellValue:
    """The typed value of a cell (``None`` when blank); a bad cell raises with its code."""
    if value is None or value == "":
        return None
    kind = column.kind
    if kind is Kind.TEXT:
        return _text(value)
    if kind is Kind.DATE:
        return _date(value)
    if kind in (Kind.CHOICE, Kind.BOOL):
        return _choice(value, column)
    if kind is Kind.INT:
        return _int(value)
    if kind in (Kind.RESIDENT_ID, Kind.PHONE):
        return _id_like(value)
    text = _text(value)
    if text is not None:
        text = _nfkc(text)
        if not _CHILD_ID.fullmatch(text):
            raise _BadCellError("child_id_format")
    return text


# ---------------------------------------------------------------------------------------------
# Files.

_FORMULA = object()


def _decode(data: bytes) -> tuple[str, str]:
    """Text and the encoding used: UTF-8 (with or without BOM), else GB18030.

    Bytes that are neither become lone surrogates, which the checks report cell by cell.
    """
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    return data.decode("utf-8", errors="surrogateescape").removeprefix("\ufeff"), "utf-8"


def _csv_rows(path: Path, issues: list[CellIssue], sheet: str) -> tuple[Iterator[list[Any]], str]:
    text, encoding = _decode(path.read_bytes())
    reader = csv.reader(io.StringIO(text, newline=""))

    def rows() -> Iterator[list[Any]]:
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error:
                issues.append(_file_issue(sheet, "csv_format", reader.line_num))
                return
            yield [unescape_csv(c) for c in row]

    return rows(), encoding


def _xlsx_rows(path: Path) -> tuple[Iterator[list[Any]], str, int | None, Callable[[], None]]:
    from openpyxl import load_workbook

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        wb = load_workbook(path, read_only=True, data_only=False)
    names = wb.sheetnames
    name = next((n for n in names if n in ("花名冊", "roster")), names[0])
    ws = wb[name]
    total = ws.max_row if isinstance(ws.max_row, int) and ws.max_row > 0 else None

    def rows() -> Iterator[list[Any]]:
        for row in ws.iter_rows():
            yield [
                _FORMULA if getattr(c, "data_type", None) == "f" else getattr(c, "value", None)
                for c in row
            ]

    return rows(), name, total, wb.close


def _file_issue(sheet: str, code: str, row: int = 0) -> CellIssue:
    return CellIssue(sheet, row, "", "", code, MESSAGES[code])


def _header_map(
    header: Sequence[Any], sheet: str, columns: Sequence[Column]
) -> tuple[dict[str, int], list[CellIssue], list[CellIssue]]:
    """Column key → 0-based position; issues (missing, twice) and warnings (unknown)."""
    lookup: dict[str, Column] = {}
    for c in columns:
        lookup[c.header] = c
        lookup[c.key.lower()] = c
    found: dict[str, int] = {}
    issues: list[CellIssue] = []
    unknown: list[CellIssue] = []
    for i, cell in enumerate(header):
        if cell is None or (isinstance(cell, str) and not cell.strip()):
            continue
        text = _nfkc(str(cell)).strip("*＊ ")
        column = lookup.get(text) or lookup.get(text.lower())
        if column is None:
            name = text if len(text) <= 40 else text[:40] + "…"
            unknown.append(
                CellIssue(sheet, 1, name, "", "unknown_column", MESSAGES["unknown_column"], i + 1)
            )
        elif column.key in found:
            issues.append(
                CellIssue(
                    sheet,
                    1,
                    column.header,
                    column.key,
                    "duplicate_column",
                    MESSAGES["duplicate_column"],
                    i + 1,
                )
            )
        else:
            found[column.key] = i
    for c in columns:
        if c.required and c.key not in found:
            issues.append(
                CellIssue(sheet, 1, c.header, c.key, "missing_column", MESSAGES["missing_column"])
            )
    return found, issues, unknown  # fmt: skip


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


def read_roster(
    path: str | os.PathLike[str],
    *,
    columns: Sequence[Column] = ROSTER_COLUMNS,
    progress: Progress | None = None,
) -> RosterReport:
    """Read a roster (``.xlsx`` streamed in read-only mode, or ``.csv``) and check every cell.

    Headers are matched by Chinese header or English key (a ``*`` around a header is ignored);
    a second row holding the English keys is skipped. Rows are numbered as the sheet numbers
    them. Never raises for a file's content: problems are in :attr:`RosterReport.issues`.
    """
    p = Path(path)
    suffix = p.suffix.lower()
    sheet = p.name
    issues: list[CellIssue] = []
    encoding = ""
    total: int | None = None
    close: Callable[[], None] = lambda: None  # noqa: E731
    try:
        if suffix in (".xlsx", ".xlsm"):
            rows, sheet, total, close = _xlsx_rows(p)
        elif suffix in (".csv", ".txt"):
            rows, encoding = _csv_rows(p, issues, sheet)
        else:
            return RosterReport(str(p), sheet, {}, (), (_file_issue(sheet, "file_format"),))
    except Exception:  # a damaged file may fail anywhere inside openpyxl or zipfile
        return RosterReport(str(p), sheet, {}, (), (_file_issue(sheet, "file_unreadable"),))
    try:
        return _read(rows, str(p), sheet, columns, issues, encoding, total, progress)
    except Exception:  # a damaged sheet may fail while streaming, after the first rows
        issues.append(_file_issue(sheet, "file_unreadable"))
        return RosterReport(str(p), sheet, {}, (), tuple(issues))
    finally:
        close()


def _read(
    rows: Iterator[list[Any]],
    path: str,
    sheet: str,
    columns: Sequence[Column],
    issues: list[CellIssue],
    encoding: str,
    total: int | None,
    progress: Progress | None,
) -> RosterReport:
    header = next(rows, None)
    if header is None:
        issues.append(_file_issue(sheet, "no_rows"))
        return RosterReport(path, sheet, {}, (), tuple(issues), encoding=encoding)
    found, header_issues, unknown = _header_map(header, sheet, columns)
    issues.extend(header_issues)
    by_key = {c.key: c for c in columns}
    plan = [(key, i, by_key[key]) for key, i in found.items()]
    out: list[RosterRow] = []
    residents: dict[str, int] = {}
    child_ids: dict[str, int] = {}
    number = 1
    for row in rows:
        number += 1
        if progress is not None and number % 500 == 0:
            progress("read", number, total)
        if number == 2 and _is_key_row(row, found):
            continue
        if not any(c is not None and c != "" for c in row):
            continue
        values: dict[str, CellValue] = {}
        bad: set[str] = set()
        for key, i, column in plan:
            raw = row[i] if i < len(row) else None
            try:
                if raw is _FORMULA:
                    raise _BadCellError("formula")
                value = parse_cell(raw, column)
                if value is None and column.required:
                    raise _BadCellError("required")
            except _BadCellError as exc:
                issues.append(
                    CellIssue(sheet, number, column.header, key, exc.code, exc.message, i + 1)
                )
                bad.add(key)
                continue
            values[key] = value  # fmt: skip
        _duplicates(values, "resident_id", residents, number, sheet, found, issues, bad)
        _duplicates(values, "id", child_ids, number, sheet, found, issues, bad)
        out.append(RosterRow(number, values, frozenset(bad)))
    if progress is not None:
        progress("read", number, number)
    return RosterReport(
        path, sheet, found, tuple(out), tuple(issues), tuple(unknown), encoding=encoding
    )


def _duplicates(
    values: dict[str, CellValue],
    key: str,
    seen: dict[str, int],
    number: int,
    sheet: str,
    found: Mapping[str, int],
    issues: list[CellIssue],
    bad: set[str],
) -> None:
    value = values.get(key)
    if not isinstance(value, str):
        return
    norm = ids.normalize_digits(value).upper() if key == "resident_id" else value
    if norm in seen:
        code = "duplicate_resident_id" if key == "resident_id" else "duplicate_id"
        column = next(c for c in ROSTER_COLUMNS if c.key == key)
        issues.append(
            CellIssue(sheet, number, column.header, key, code, MESSAGES[code], found[key] + 1)
        )
        bad.add(key)
        del values[key]
    else:
        seen[norm] = number
