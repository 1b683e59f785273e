"""Streaming an XLSX roster's sheet, within :class:`~leftbehind.io.roster_limits.ImportLimits`.

A workbook is a zip of XML parts. Before any part is parsed, the zip's directory is checked:
its size, every part's unpacked size (all the reader ever unpacks: ``zipfile`` stops at the
size a part declares) and how much each part grows. Then the few parts a roster needs — the
content types, the workbook, its relationships, the styles (which cells are dates), the shared
strings and the one sheet — are parsed here with expat, a chunk at a time, keeping only what is
needed: no tree of the document is built, so a part of a million rows or a row of a million
cells costs no more memory than its limits allow. A DTD is refused in every part (an XLSX
never has one), so no entity is ever declared, let alone expanded.

Cells come out as openpyxl's read-only mode gave them (text, int, float, bool, datetime;
:data:`FORMULA` for a formula), with openpyxl's own rules for dates, so a file reads as before.
"""

from __future__ import annotations

import posixpath
import re
import struct
import zipfile
from collections.abc import Callable, Collection, Generator, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, Final
from xml.parsers import expat

from openpyxl.styles.numbers import builtin_format_code, is_date_format, is_timedelta_format
from openpyxl.utils.datetime import (
    CALENDAR_MAC_1904,
    CALENDAR_WINDOWS_1900,
    from_excel,
    from_ISO8601,
)

from leftbehind.io.roster_limits import FileRefusedError, ImportLimits

__all__ = ["FORMULA", "XlsxRows", "open_xlsx"]

_from_iso: Callable[[str], Any] = from_ISO8601  # openpyxl leaves it untyped

#: What a formula cell reads as: the import refuses formulas, so their text is never kept.
FORMULA: Final = object()

#: (row number as the sheet numbers it, the row's cells from column A, ``None`` when blank).
XlsxRows = Iterator[tuple[int, list[Any]]]

_CHUNK = 1 << 16
#: Parts smaller than this may grow any amount: they cannot hurt, and tiny parts grow oddly.
_RATIO_FLOOR = 1 << 20
#: A workbook's zip directory and its styles hold far fewer entries than these; more is a
#: file made to exhaust memory before any limit on rows is reached.
_MAX_DIRECTORY = 4 << 20
_MAX_PARTS = 10_000
_MAX_STYLES = 200_000
_WORKBOOK_TYPES = frozenset({
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
    "application/vnd.ms-excel.sheet.macroEnabled.main+xml",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml",
    "application/vnd.ms-excel.template.macroEnabled.main+xml",
})  # fmt: skip
_STRINGS_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
_PREFERRED = ("花名册", "花名冊", "roster")
#: A row element, whatever its namespace prefix (``<row``, ``<x:row``); counted in bytes.
_ROW_TAG = re.compile(rb"<(?:[A-Za-z_][\w.\-]{0,40}:)?row[\s/>]")


def open_xlsx(
    path: Path,
    limits: ImportLimits,
    *,
    prefer: Collection[str] = _PREFERRED,
    form: Callable[[str], str] = str.strip,
) -> tuple[XlsxRows, str, int, Callable[[], None]]:
    """The rows of the roster's sheet, its name, its row count and a function closing the file.

    The sheet is the first whose name, in ``form``, is one of ``prefer`` (by default 花名册,
    花名冊 or ``roster``), else the first sheet.

    Raises :class:`~leftbehind.io.roster_limits.FileRefusedError` for a limit crossed or a DTD; any
    other exception means a damaged file. The rows raise ``FileRefusedError`` as they stream too.
    """
    archive = _open_zip(path, limits)
    try:
        types = _ContentTypes()
        _parse(archive, "[Content_Types].xml", types)
        workbook = (types.workbook or "/xl/workbook.xml")[1:]
        book = _Workbook(prefer, form)
        _parse(archive, workbook, book)
        if book.first is None:
            raise ValueError("no sheet")
        name, rid = book.chosen or book.first
        rels = _Rels(rid)
        folder = posixpath.dirname(workbook)
        _parse(archive, f"{folder}/_rels/{posixpath.basename(workbook)}.rels".lstrip("/"), rels)
        if rels.sheet is None:
            raise ValueError("no worksheet")
        styles = _Styles()
        if rels.styles is not None:
            _parse(archive, _resolve(folder, rels.styles), styles)
        strings = _SharedStrings(limits)
        if rels.strings is not None or types.strings is not None:
            _parse(archive, _resolve(folder, rels.strings or types.strings or ""), strings)
        sheet = _resolve(folder, rels.sheet)
        total = _count_rows(archive, sheet, limits)
        rows = _stream(archive, sheet, _Sheet(limits, strings.strings, styles, book.epoch))
    except BaseException:
        archive.close()
        raise

    def close() -> None:
        rows.close()
        archive.close()

    return rows, name, total, close


# ---------------------------------------------------------------------------------------------
# The zip, before anything is unpacked.


def _open_zip(path: Path, limits: ImportLimits) -> zipfile.ZipFile:
    size = path.stat().st_size
    if size > limits.max_bytes:
        raise FileRefusedError("file_too_large", limits.max_bytes)
    with path.open("rb") as f:
        # The end record says how large the directory is; zipfile would read all of it.
        f.seek(max(0, size - (1 << 16) - 22))
        tail = f.read()
    at = tail.rfind(b"PK\x05\x06")
    if at >= 0 and len(tail) >= at + 22:
        entries, directory = struct.unpack("<HI", tail[at + 10 : at + 16])
        if entries > _MAX_PARTS or directory > _MAX_DIRECTORY:
            raise FileRefusedError("file_too_large", limits.max_bytes)
    archive = zipfile.ZipFile(path)
    try:
        infos = archive.infolist()
        if len(infos) > _MAX_PARTS:
            raise FileRefusedError("file_too_large", limits.max_bytes)
        total = 0
        for info in infos:
            total += info.file_size
            if total > limits.max_bytes:
                raise FileRefusedError("file_too_large", limits.max_bytes)
            if info.file_size > _RATIO_FLOOR and info.file_size > limits.max_ratio * max(
                info.compress_size, 1
            ):
                raise FileRefusedError("zip_ratio", limits.max_ratio)
    except BaseException:
        archive.close()
        raise
    return archive


def _resolve(folder: str, target: str) -> str:
    if target.startswith("/"):
        return target[1:]
    return posixpath.normpath(posixpath.join(folder, target))


# ---------------------------------------------------------------------------------------------
# Parsing a part with expat, refusing any DTD.


def _refuse_dtd(*_: object) -> int:
    # Entities are declared in a DTD; refusing it refuses every entity bomb and external entity.
    raise FileRefusedError("xml_entities")


class _Handler:
    """Receives a part's elements by local name (the namespace dropped) and its text."""

    def start(self, name: str, attrs: dict[str, str]) -> None:
        """An element opens."""

    def end(self, name: str) -> None:
        """An element closes."""

    def text(self, data: str) -> None:
        """Text inside the current element (possibly in pieces)."""


def _parser(handler: _Handler) -> expat.XMLParserType:
    parser = expat.ParserCreate(namespace_separator="}")
    parser.buffer_text = True
    parser.StartDoctypeDeclHandler = _refuse_dtd
    parser.EntityDeclHandler = _refuse_dtd
    parser.UnparsedEntityDeclHandler = _refuse_dtd
    parser.ExternalEntityRefHandler = _refuse_dtd
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)

    def start(name: str, attrs: dict[str, str]) -> None:
        handler.start(name[name.rfind("}") + 1 :], attrs)

    def end(name: str) -> None:
        handler.end(name[name.rfind("}") + 1 :])

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = handler.text
    return parser


def _parse(archive: zipfile.ZipFile, part: str, handler: _Handler) -> None:
    for _ in _chunks(archive, part, handler):
        pass


def _chunks(archive: zipfile.ZipFile, part: str, handler: _Handler) -> Iterator[None]:
    parser = _parser(handler)
    with archive.open(part) as f:
        while chunk := f.read(_CHUNK):
            parser.Parse(chunk, False)
            yield
        parser.Parse(b"", True)
        yield


def _attr(attrs: dict[str, str], local: str) -> str | None:
    """An attribute by local name, in any namespace (``r:id``)."""
    if local in attrs:
        return attrs[local]
    suffix = "}" + local
    return next((v for k, v in attrs.items() if k.endswith(suffix)), None)


# ---------------------------------------------------------------------------------------------
# The parts a roster needs.


class _ContentTypes(_Handler):
    """The workbook part, and the shared strings part (which some writers name here only)."""

    def __init__(self) -> None:
        self.workbook: str | None = None
        self.strings: str | None = None

    def start(self, name: str, attrs: dict[str, str]) -> None:
        if name != "Override":
            return
        kind, part = attrs.get("ContentType"), "/" + attrs.get("PartName", "").lstrip("/")
        if kind in _WORKBOOK_TYPES and self.workbook is None:
            self.workbook = part
        elif kind == _STRINGS_TYPE and self.strings is None:
            self.strings = part


class _Workbook(_Handler):
    def __init__(self, prefer: Collection[str], form: Callable[[str], str]) -> None:
        self.prefer = prefer
        self.form = form
        self.first: tuple[str, str] | None = None
        self.chosen: tuple[str, str] | None = None
        self.epoch = CALENDAR_WINDOWS_1900

    def start(self, name: str, attrs: dict[str, str]) -> None:
        if name == "sheet":
            sheet = (attrs.get("name", ""), _attr(attrs, "id") or "")
            if self.first is None:
                self.first = sheet
            if self.chosen is None and self.form(sheet[0]) in self.prefer:
                self.chosen = sheet
        elif name == "workbookPr" and attrs.get("date1904") in ("1", "true"):
            self.epoch = CALENDAR_MAC_1904


class _Rels(_Handler):
    def __init__(self, sheet_id: str) -> None:
        self.sheet_id = sheet_id
        self.sheet: str | None = None
        self.styles: str | None = None
        self.strings: str | None = None

    def start(self, name: str, attrs: dict[str, str]) -> None:
        if name != "Relationship" or attrs.get("TargetMode") == "External":
            return
        kind, target = attrs.get("Type", ""), attrs.get("Target", "")
        if attrs.get("Id") == self.sheet_id and kind.endswith("/worksheet"):
            self.sheet = target
        elif kind.endswith("/styles") and self.styles is None:
            self.styles = target
        elif kind.endswith("/sharedStrings") and self.strings is None:
            self.strings = target


class _Styles(_Handler):
    """Which cell styles show a date (or a duration), by openpyxl's rules: the styles hold no
    value of the file, only number formats, so they are kept as two sets of style indexes."""

    def __init__(self) -> None:
        self.dates: set[int] = set()
        self.durations: set[int] = set()
        self._custom: dict[int, tuple[bool, bool]] = {}
        self._depth = 0  # inside <cellXfs>
        self._xf = 0  # the next cell style's index
        self._entries = 0

    def start(self, name: str, attrs: dict[str, str]) -> None:
        if name == "numFmt":
            code = attrs.get("formatCode")
            flags = (is_date_format(code), is_timedelta_format(code))
            self._custom[int(attrs.get("numFmtId", "0"))] = flags
            self._grow()
        elif name == "cellXfs":
            self._depth += 1
        elif name == "xf" and self._depth:
            fmt = int(attrs.get("numFmtId", "0"))
            date, duration = self._custom.get(fmt) or self._builtin(fmt)
            if date:
                self.dates.add(self._xf)
            if duration:
                self.durations.add(self._xf)
            self._xf += 1
            self._grow()

    def end(self, name: str) -> None:
        if name == "cellXfs":
            self._depth -= 1

    def _grow(self) -> None:
        self._entries += 1
        if self._entries > _MAX_STYLES:
            raise ValueError("too many styles")

    @staticmethod
    def _builtin(fmt: int) -> tuple[bool, bool]:
        code = builtin_format_code(fmt)
        return is_date_format(code), is_timedelta_format(code)


class _SharedStrings(_Handler):
    """The workbook's shared texts, counted and measured as they stream."""

    def __init__(self, limits: ImportLimits) -> None:
        self.limits = limits
        self.strings: list[str] = []
        self._parts: list[str] = []
        self._length = 0
        self._chars = 0
        self._in_item = False
        self._in_text = False
        self._phonetic = 0  # inside <rPh>: a reading aid, not the cell's text

    def start(self, name: str, attrs: dict[str, str]) -> None:
        if name == "si":
            self._in_item, self._parts, self._length = True, [], 0
        elif name == "t":
            self._in_text = self._in_item and not self._phonetic
        elif name == "rPh":
            self._phonetic += 1
        elif name == "sst":
            # A declared count above the limit is refused before the first string is read.
            declared = attrs.get("uniqueCount", "")
            if declared.isdigit() and int(declared) > self.limits.max_shared_strings:
                raise FileRefusedError("too_many_strings", self.limits.max_shared_strings)

    def end(self, name: str) -> None:
        if name == "si":
            if len(self.strings) >= self.limits.max_shared_strings:
                raise FileRefusedError("too_many_strings", self.limits.max_shared_strings)
            # As openpyxl reads shared strings, so a file reads as it did before.
            self.strings.append("".join(self._parts).replace("x005F_", ""))
            self._in_item = False
        elif name == "t":
            self._in_text = False
        elif name == "rPh":
            self._phonetic -= 1

    def text(self, data: str) -> None:
        if not self._in_text:
            return
        self._length += len(data)
        self._chars += len(data)
        if self._length > self.limits.max_cell_chars:
            raise FileRefusedError("cell_too_long", self.limits.max_cell_chars)
        if self._chars > self.limits.max_shared_chars:
            raise FileRefusedError("strings_too_large", self.limits.max_shared_chars)
        self._parts.append(data)


def _count_rows(archive: zipfile.ZipFile, part: str, limits: ImportLimits) -> int:
    """The sheet's rows, counted in its bytes before any cell is read, so a sheet over the
    limit is refused before its rows are kept. Stops at the limit."""
    count = 0
    keep = 64  # a row tag cut by a chunk's end is counted with the next chunk
    carry = b""
    with archive.open(part) as f:
        while True:
            chunk = f.read(_CHUNK)
            data = carry + chunk
            cut = len(data) if not chunk else max(len(data) - keep, 0)
            count += sum(1 for m in _ROW_TAG.finditer(data, 0) if m.start() < cut)
            if count > limits.max_rows:
                raise FileRefusedError("too_many_rows", limits.max_rows, limits.max_rows + 1)
            if not chunk:
                return count
            carry = data[cut:]


# ---------------------------------------------------------------------------------------------
# The sheet, a row at a time.


def _column(ref: str) -> int:
    n = 0
    for ch in ref:
        if "A" <= ch <= "Z":
            n = n * 26 + ord(ch) - 64
        else:
            break
    if n == 0:
        raise ValueError("bad cell reference")
    return n


class _Sheet(_Handler):
    def __init__(
        self, limits: ImportLimits, strings: list[str], styles: _Styles, epoch: datetime
    ) -> None:
        self.limits = limits
        self.strings = strings
        self.styles = styles
        self.epoch = epoch
        self.ready: list[tuple[int, list[Any]]] = []
        self._number = 0
        self._row: dict[int, Any] | None = None
        self._column = 0
        self._type = "n"
        self._style = 0
        self._formula = False
        self._value: list[str] | None = None  # <v>
        self._inline: list[str] | None = None  # <is>
        self._target: list[str] | None = None  # where text goes now
        self._length = 0
        self._phonetic = 0

    def start(self, name: str, attrs: dict[str, str]) -> None:
        if name == "c" and self._row is not None:
            ref = attrs.get("r")
            self._column = _column(ref) if ref else self._column + 1
            if self._column > self.limits.max_columns:
                limit = self.limits.max_columns
                raise FileRefusedError("too_many_columns", limit, self._number, self._column)
            self._type = attrs.get("t", "n")
            self._style = int(attrs.get("s") or 0)
            self._formula = False
            self._value = self._inline = self._target = None
            self._length = 0
        elif name == "v":
            self._value = self._target = []
        elif name == "f":
            self._formula = True
        elif name == "is":
            self._inline = []
        elif name == "t" and self._inline is not None and not self._phonetic:
            self._target = self._inline
        elif name == "rPh":
            self._phonetic += 1
        elif name == "row":
            ref = attrs.get("r")
            number = int(ref) if ref else self._number + 1
            if number <= self._number:
                raise ValueError("rows out of order")  # a row twice: never drop one silently
            if number > self.limits.max_rows:
                raise FileRefusedError("too_many_rows", self.limits.max_rows, number)
            self._number, self._row, self._column = number, {}, 0

    def end(self, name: str) -> None:
        if name in ("v", "t"):
            self._target = None
        elif name == "c" and self._row is not None:
            self._row[self._column] = self._cell()
        elif name == "rPh":
            self._phonetic -= 1
        elif name == "row" and self._row is not None:
            row = self._row
            cells = [row.get(i) for i in range(1, max(row) + 1)] if row else []
            self.ready.append((self._number, cells))
            self._row = None

    def text(self, data: str) -> None:
        if self._target is None:
            return
        self._length += len(data)
        if self._length > self.limits.max_cell_chars:
            limit = self.limits.max_cell_chars
            raise FileRefusedError("cell_too_long", limit, self._number, self._column)
        self._target.append(data)

    def _cell(self) -> Any:
        """The cell's value as openpyxl's read-only mode gives it."""
        if self._formula:
            return FORMULA
        kind = self._type
        if kind == "inlineStr":
            return None if self._inline is None else "".join(self._inline)
        value = "".join(self._value) if self._value else None
        if not value:
            return None
        if kind == "s":
            return self.strings[int(value)]
        if kind == "n":
            number = float(value) if ("." in value or "E" in value or "e" in value) else int(value)
            if self._style in self.styles.dates:
                duration = self._style in self.styles.durations
                try:
                    return from_excel(number, self.epoch, timedelta=duration)
                except (OverflowError, ValueError):
                    return number  # a date out of range reads as a number: the check says so
            return number
        if kind == "b":
            return bool(int(value))
        if kind == "d":
            return _from_iso(value)
        return value  # "str" (a formula's text result) and "e" (an error such as #N/A)


def _stream(
    archive: zipfile.ZipFile, part: str, sheet: _Sheet
) -> Generator[tuple[int, list[Any]], None, None]:
    try:
        for _ in _chunks(archive, part, sheet):
            ready, sheet.ready = sheet.ready, []
            yield from ready
    except FileRefusedError:
        # The rows before the one refused come first, so the refusal names its column.
        ready, sheet.ready = sheet.ready, []
        yield from ready
        raise
