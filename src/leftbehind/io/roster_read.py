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
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from attrs import field, frozen

from leftbehind.domain import ids
from leftbehind.domain.i18n import language as language_now
from leftbehind.domain.i18n import text, use
from leftbehind.io.roster_columns import (
    IGNORED_HEADERS,
    ROSTER_COLUMNS,
    ROSTER_READ_COLUMNS,
    CellValue,
    Column,
    Kind,
    choice_table,
    derived_column,
    header_form,
    header_table,
    sheet_names,
)
from leftbehind.io.roster_csv import open_csv
from leftbehind.io.roster_limits import DEFAULT_LIMITS, FileRefusedError, ImportLimits
from leftbehind.io.roster_xlsx import FORMULA, open_xlsx

__all__ = [
    "CSV_ESCAPED",
    "HEADER_SCAN",
    "PLACEHOLDERS",
    "CellIssue",
    "MonthDate",
    "Progress",
    "RosterReport",
    "RosterRow",
    "column_letter",
    "derived_column",
    "find_header",
    "grade_of",
    "message",
    "needs_csv_escape",
    "read_roster",
    "two_level_header",
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
_DATE = re.compile(r"([0-9]{4})\s*[-/.年]\s*([0-9]{1,2})\s*[-/.月]\s*([0-9]{1,2})\s*[日号號]?")
_DATE8 = re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})")
_MONTH = re.compile(r"([0-9]{4})\s*[-/.年]\s*([0-9]{1,2})\s*月?|([0-9]{4})([0-9]{2})")
#: A time of midnight after a date, as a CSV of Excel's dates has it (``2015/3/12 0:00``).
_MIDNIGHT = re.compile(r"(?:\s+|T)0{1,2}:00(?::00)?$")
#: Excel's day numbers (serials) an import reads as dates: 1910 to 2100.
_SERIALS = range(3_654, 73_051)
#: Cells that say "nothing" (—, 无, /): read as blank, except where a column has it as a choice
#: (监护能力 无).
PLACEHOLDERS = frozenset({"—", "——", "-", "--", "─", "/", "\\", "无", "無", "暂无", "暫無", "空"})
_NUMERALS = {c: i for i, c in enumerate("一二三四五六七八九", start=1)}
_GRADE = re.compile(r"(小学|小學|初中|初)?([1-9一二三四五六七八九])(?:年级|年級|级|級)?")

#: How many rows an import searches for the header row, below a title and 填报 lines.
HEADER_SCAN = 20
_TOTAL = re.compile(r"(合计|合計|小计|小計|总计|總計|共计|共計)")
_FOOTER = re.compile(
    r"(单位负责人|單位負責人|负责人|負責人|复核人|複核人|覆核人|审核人|審核人|填表人|填报人|填報人"
    r"|制表人|製表人|统计人|統計人)"
)
_NOTE = re.compile(r"(注|说明|說明|填表说明|填表說明|备注|備註)")
_REPORT_DATE = re.compile(r"(填报|填報|填表|报送|報送)(日期|时间|時間)")
#: What a group header of a two-row header may end with (父亲情况 → 父亲 + 姓名).
_GROUP_ENDS = ("基本情况", "基本情況", "情况", "情況", "信息")
#: Groups of a person other than the child: a field under them never names the child's column.
_PERSONS = ("父亲", "父親", "母亲", "母親", "委托监护人", "委託監護人", "监护人", "監護人",
            "父", "母")  # fmt: skip


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
    the file wrote it (a two-row header as ``父亲情况/姓名``). ``skipped`` names the rows that are
    no pupil (a title, a 填报 line, a 合计 row, the signature footer, a blank row), each by its
    number and a code, never its content; ``header_row`` is the last row of the header, and
    ``report_date`` the form's 填报日期 when a title or footer line gives one. ``refused`` says
    the file was refused as a whole (not a roster, unreadable, or over a limit): then
    ``issues`` holds that one reason and ``rows`` is empty.
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
    skipped: tuple[CellIssue, ...] = ()
    header_row: int = 1
    report_date: date | None = None

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


class MonthDate(date):
    """A date of which only the year and the month were given (``2015年3月``, ``2015.03``): the
    1st of that month, as Excel itself stores a month typed into a cell. Only a column whose
    :attr:`~leftbehind.io.roster_columns.Column.months` is set takes one (出生日期, 外出开始日期);
    the import says which day it used (see :mod:`leftbehind.io.roster_import`)."""

    __slots__ = ()

    def __new__(cls, year: int, month: int) -> MonthDate:
        return super().__new__(cls, year, month, 1)

    def __repr__(self) -> str:
        return f"MonthDate({self.year}, {self.month})"


def _full_date(year: str, month: str, day: str) -> date:
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        raise _BadCellError("date_invalid") from None


def _serial(n: int) -> date:
    """An Excel day number (1900 calendar), or an 8-digit number written as a date."""
    if n in _SERIALS:
        return date(1899, 12, 30) + timedelta(days=n)
    if 10_000_000 <= n <= 99_999_999:
        text = str(n)
        return _full_date(text[:4], text[4:6], text[6:])
    raise _BadCellError("date_format")


def _date(value: object, months: bool = False) -> date | None:
    if type(value) is datetime:
        if value.time() != time(0):
            raise _BadCellError("date_format")
        return value.date()
    if type(value) is date:
        return value
    if type(value) is int:
        return _serial(value)
    if type(value) is float:
        n = _integral(value)
        if n is None:
            raise _BadCellError("date_format")
        return _serial(n)
    if type(value) is not str:
        raise _BadCellError("type", message("type.date"))
    text = _MIDNIGHT.sub("", _nfkc(value))
    if not text:
        return None
    m = _DATE.fullmatch(text) or _DATE8.fullmatch(text)
    if m is not None:
        return _full_date(m[1], m[2], m[3])
    if text.isascii() and text.isdigit() and len(text) == 5:
        return _serial(int(text))
    m = _MONTH.fullmatch(text)
    if m is None:
        raise _BadCellError("date_format")
    if not months:
        raise _BadCellError("date_month_only")
    year, month = (m[1], m[2]) if m[1] else (m[3], m[4])
    if not 1 <= int(month) <= 12 or int(year) < 1:
        raise _BadCellError("date_invalid")
    return MonthDate(int(year), int(month))


def grade_of(text: str) -> int | None:
    """A grade as clerks write it, 1–9, or ``None``: ``3``, ``3年级``, ``三年级``, ``三年級``,
    ``小学三年级``, ``七年级``, ``初一``, ``初中一年级`` (= 7), ``初1``; spaces and full-width
    digits do not matter.

    >>> [grade_of(t) for t in ("三年级", "3年级", "初一", "七年级", "初中一年级", "小学六年级")]
    [3, 3, 7, 7, 7, 6]
    """
    form = "".join(unicodedata.normalize("NFKC", text).split())
    m = _GRADE.fullmatch(form)
    if m is None:
        return None
    n = _NUMERALS.get(m[2]) or int(m[2])
    if m[1] in ("初中", "初"):
        return n + 6 if n <= 3 else None
    if m[1] in ("小学", "小學"):
        return n if n <= 6 else None
    return n


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
        grade = grade_of(text)
        if grade is not None:
            return grade
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


def _id_like(value: object, kind: Kind) -> str | None:
    """A resident ID or phone: text, or a number when it keeps every digit (an 11-digit mobile
    stored as a number does; an 18-digit ID stored as a float never does)."""
    if type(value) is float and (kind is not Kind.PHONE or _integral(value) is None):
        raise _BadCellError("type", message("type.id_text"))
    if type(value) is float:
        value = _integral(value)
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

    A cell saying "nothing" (:data:`PLACEHOLDERS`: —, 无, /) is blank unless the column has it
    as a choice. A date comes out as a :class:`MonthDate` when only its month was given (in a
    column that takes one). A choice comes out as its key; ``choices`` is
    :func:`~leftbehind.io.roster_columns.choice_table` of the column (looked up when not
    given)."""
    if value is None or value == "":
        return None
    kind = column.kind
    if type(value) is str:
        if _NONCHARACTER.search(value):
            raise _BadCellError("text_noncharacter")
        if _invisible(value):
            raise _BadCellError("text_invisible")
        if header_form(value) in PLACEHOLDERS and (
            not column.choices
            or header_form(value) not in (choice_table(column) if choices is None else choices)
        ):
            return None
    if kind is Kind.TEXT:
        return _text(value)
    if kind is Kind.DATE:
        return _date(value, column.months)
    if kind in (Kind.CHOICE, Kind.BOOL):
        return _choice(value, column, choice_table(column) if choices is None else choices)
    if kind is Kind.INT:
        return _int(value)
    if kind in (Kind.RESIDENT_ID, Kind.PHONE):
        return _id_like(value, kind)
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


#: A header cell: its 0-based position, the header as the file wrote it, and its form.
HeaderCell = tuple[int, str, str]


def _cell_text(row: Sequence[Any], i: int) -> str:
    cell = row[i] if i < len(row) else None
    if cell is None or cell is FORMULA:
        return ""
    return str(cell).strip()


def _single(row: Sequence[Any]) -> list[HeaderCell]:
    out: list[HeaderCell] = []
    for i in range(len(row)):
        written = _cell_text(row, i)
        if written:
            out.append((i, written, header_form(written)))
    return out


def _combine(group: str, field: str, lookup: Mapping[str, Column]) -> str | None:
    """The form of a field under a group of a two-row header (父亲情况 + 姓名 → 父亲姓名), if a
    column has it."""
    g, f = header_form(group), header_form(field)
    base = g
    for end in _GROUP_ENDS:
        if g.endswith(end) and len(g) > len(end):
            base = g[: -len(end)]
            break
    for form in (g + f, base + f):
        if form in lookup:
            return form
    if f in lookup and not base.startswith(_PERSONS):
        return f  # a field under a group of the child's own (基本情况 + 姓名)
    return None


def two_level_header(
    top: Sequence[Any], sub: Sequence[Any], lookup: Mapping[str, Column]
) -> list[HeaderCell] | None:
    """The header of two rows, a group over its fields (父亲情况 over 姓名, 务工地点 …; the
    group's merged cell holds its text in its first column only), or ``None`` when ``sub`` is
    no row of fields (it is data, or a row of English keys)."""
    out: list[HeaderCell] = []
    group = ""
    hits = 0
    for i in range(max(len(top), len(sub))):
        t, f = _cell_text(top, i), _cell_text(sub, i)
        if t:
            group = t
        if not f:
            if t:
                out.append((i, t, header_form(t)))  # one header over both rows (merged down)
            continue
        if t and header_form(t) == header_form(f):
            out.append((i, t, header_form(t)))  # written in both rows
            continue
        form = _combine(group, f, lookup) if group else None
        if form is not None:
            out.append((i, f"{group}/{f}", form))
            hits += 1
        elif t and header_form(t) in lookup:
            return None  # a header standing alone above a filled cell: ``sub`` is data
        elif group:
            out.append((i, f"{group}/{f}", header_form(group) + header_form(f)))
        else:
            out.append((i, f, header_form(f)))
    return out if hits else None


def find_header(
    rows: Sequence[tuple[int, Sequence[Any]]], lookup: Mapping[str, Column]
) -> tuple[int, list[HeaderCell], int] | None:
    """Where the header is among the first rows of a sheet (up to :data:`HEADER_SCAN`), below
    any title and 填报 lines: the index in ``rows`` of its first row, its cells, and how many
    rows it takes (two for a group over its fields). The header is the first row naming two
    columns of ``lookup`` (one, in row 1: a template's header row always is row 1); ``None``
    when no row does."""
    for j, (number, row) in enumerate(rows):
        cells = _single(row)
        if sum(1 for _, _, form in cells if form in lookup) < (1 if number == 1 else 2):
            continue
        if j + 1 < len(rows) and rows[j + 1][0] == number + 1:
            merged = two_level_header(row, rows[j + 1][1], lookup)
            if merged is not None:
                return j, merged, 2
        return j, cells, 1
    return None


def _header_map(
    header: Sequence[HeaderCell], sheet: str, columns: tuple[Column, ...], at: int = 1
) -> tuple[dict[str, int], dict[str, str], list[CellIssue], list[CellIssue]]:
    """Column key → 0-based position and → header as written; issues (missing, twice) and
    warnings (unknown) placed on row ``at``, the header's."""
    lookup = header_table(columns)
    found: dict[str, int] = {}
    written: dict[str, str] = {}
    issues: list[CellIssue] = []
    unknown: list[CellIssue] = []
    for i, as_written, form in header:
        if form in IGNORED_HEADERS:
            continue
        column = lookup.get(form)
        if column is None:
            # Named by its letter only: the cell may be a child's name when row 1 is data.
            unknown.append(
                CellIssue(sheet, at, "", "", "unknown_column", message("unknown_column"), i + 1)
            )
            continue
        # A known header: the clerk's own words, shown as written (without surrounding spaces).
        if column.key in found:
            issues.append(
                CellIssue(
                    sheet,
                    at,
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
        if c.required and c.key not in found and not derived_column(c.key, found):
            issues.append(
                CellIssue(sheet, at, c.header, c.key, "missing_column", message("missing_column"))
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
    prefer = _preferred_sheets(chosen)
    if chosen == ROSTER_COLUMNS:
        chosen = ROSTER_READ_COLUMNS
    rows: Iterator[tuple[int, list[Any]]]
    close: Callable[[], None]
    try:
        if suffix in (".xlsx", ".xlsm"):
            rows, sheet, total, close = open_xlsx(p, limits, prefer=prefer, form=header_form)
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


def _report_date(row: Sequence[Any]) -> date | None:
    """The 填报日期 a title or footer line gives (in its cell, or the next), if any."""
    for i in range(len(row)):
        written = _cell_text(row, i)
        m = _REPORT_DATE.search(header_form(written)) if written else None
        if m is None:
            continue
        rest = header_form(written)[m.end() :].lstrip(":")
        candidates: list[Any] = [rest] if rest else []
        candidates += [row[j] for j in range(i + 1, len(row)) if _cell_text(row, j)][:1]
        for value in candidates:
            try:
                return _date(value, months=True)
            except _BadCellError:
                continue
    return None


def _row_kind(texts: Sequence[str], filled: int, ended: bool) -> str:
    """Why a row below the header is no pupil (``total_row``, ``footer_row``, ``note_row``), or
    "" when it is one. ``texts``: its text cells in :func:`header_form`, in order; ``filled``:
    how many cells hold something; ``ended``: a total or footer row came before."""
    if any(_TOTAL.match(t) for t in texts[:2]):
        return "total_row"
    if any(_FOOTER.match(t) for t in texts):
        return "footer_row"
    if filled == 1 and (ended or any(_NOTE.match(t) for t in texts)):
        return "note_row"
    return ""


def _read(
    rows: Iterator[tuple[int, list[Any]]],
    path: str,
    sheet: str,
    columns: tuple[Column, ...],
    encoding: str,
    total: int,
    progress: Progress | None,
) -> RosterReport:
    head: list[tuple[int, list[Any]]] = []
    lookup = header_table(columns)
    try:
        for item in rows:
            head.append(item)
            if item[0] >= HEADER_SCAN:
                break
    except FileRefusedError as exc:
        # Refused among the first rows: name the column, when a header came before.
        at: dict[int, tuple[str, str]] = {}
        if (located := find_header(head, lookup)) is not None:
            found, written, _, _ = _header_map(located[1], sheet, columns)
            at = {i + 1: (key, written[key]) for key, i in found.items()}
        return _refused(path, sheet, exc, encoding, at)
    if not head:
        return _whole_file(path, sheet, "no_rows", encoding)
    located = find_header(head, lookup)
    if located is None:
        return _whole_file(path, sheet, "no_header", encoding)
    first, header, depth = located
    header_at = head[first][0]
    header_row = head[first + depth - 1][0]
    skipped: list[CellIssue] = []
    report_date: date | None = None
    for number, row in head[:first]:
        if any(_cell_text(row, i) for i in range(len(row))):
            skipped.append(_file_issue(sheet, "title_row", number))
            report_date = report_date or _report_date(row)
    found, written, issues, unknown = _header_map(header, sheet, columns, header_at)
    if not found:
        return _whole_file(path, sheet, "no_header", encoding)
    roster = "hukou" in {c.key for c in columns}  # ids and resident IDs of others: checked later
    by_key = {c.key: c for c in columns}
    if roster and "enrolled_since" not in found:
        unknown.append(
            CellIssue(sheet, header_at, by_key["enrolled_since"].header, "enrolled_since",
                      "enrolled_since_assumed", message("enrolled_since_assumed"))
        )  # fmt: skip
    at = {i + 1: (key, written[key]) for key, i in found.items()}
    plan = [
        (key, i, by_key[key], written[key], choice_table(by_key[key]) if by_key[key].choices
         else None)
        for key, i in found.items()
    ]  # fmt: skip
    ignored = {i for i, _, form in header if form in IGNORED_HEADERS}
    rows = itertools.chain(head[first + depth :], rows)
    out: list[RosterRow] = []
    residents: dict[str, int] = {}
    child_ids: dict[str, int] = {}
    blank: list[int] = []
    ended = False
    number = header_row
    try:
        for seen, (number, row) in enumerate(rows, start=header_row + 1):
            if progress is not None and seen % 500 == 0:
                progress("read", number, total)
            if number == header_row + 1 and _is_key_row(row, found):
                continue
            filled = [c for i, c in enumerate(row) if i not in ignored and c is not None
                      and (not isinstance(c, str) or (c.strip() and header_form(c)
                           not in PLACEHOLDERS))]  # fmt: skip
            if not filled:
                blank.append(number)  # reported only if a pupil follows it
                continue
            # 合计 may stand in the 序号 column: every cell counts to tell the row's kind.
            texts = [header_form(c) for c in row if isinstance(c, str) and c.strip()]
            kind = _row_kind(texts, len(filled), ended)
            skipped.extend(_file_issue(sheet, "blank_row", n) for n in blank)
            blank.clear()
            if kind:
                skipped.append(_file_issue(sheet, kind, number))
                ended = ended or kind != "note_row"
                if kind == "footer_row":
                    report_date = report_date or _report_date(row)
                continue
            values: dict[str, CellValue] = {}
            bad: set[str] = set()
            for key, i, column, header_text, choices in plan:
                raw = row[i] if i < len(row) else None
                try:
                    if raw is FORMULA:
                        raise _BadCellError("formula")
                    value = parse_cell(raw, column, choices)
                    if value is None and column.required:
                        raise _BadCellError("required")
                except _BadCellError as exc:
                    address = _hukou_address(raw) if key == "hukou" else None
                    if address is not None and exc.code == "choice":
                        values["hukou"], values["hukou_address"] = "rural", address
                        unknown.append(
                            CellIssue(
                                sheet,
                                number,
                                header_text,
                                key,
                                "hukou_address",
                                message("hukou_address"),
                                i + 1,
                            )
                        )
                        continue  # fmt: skip
                    issues.append(
                        CellIssue(sheet, number, header_text, key, exc.code, exc.message, i + 1)
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
        headers=written, skipped=tuple(skipped), header_row=header_row, report_date=report_date,
    )  # fmt: skip


#: What marks an address (户籍所在地 as the national form has it, not 农村 or 城镇).
_ADDRESS = re.compile("[省市县縣区區乡鄉镇鎮村组組屯街道社]")


def _hukou_address(value: object) -> str | None:
    """The address a 户籍所在地 cell holds instead of a choice, if it holds one."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    return text if len(text) >= 2 and _ADDRESS.search(text) else None


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
