"""Streaming a CSV roster, within :class:`~leftbehind.io.roster_limits.ImportLimits`.

The file is read twice, a line at a time, never whole: first to find its encoding and count its
records (so a file of too many rows is refused before a single row is kept), then for its rows,
checking the other limits as they come.
Encodings: a byte-order mark names UTF-8, UTF-16 (what Excel and WPS write as "Unicode text")
or UTF-32; without one, UTF-8, else GB18030 (what Chinese Excel writes as CSV), else UTF-8 with
the bytes that are neither kept as lone surrogates, which the checks report cell by cell. Cells
are separated by commas, or by tabs when the header row has tabs and no comma ("Unicode text").
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import TextIO

from leftbehind.io.roster_limits import FileRefusedError, ImportLimits

__all__ = ["CsvRows", "open_csv"]

#: (record number, header first, and its cells).
CsvRows = Generator[tuple[int, list[str]], None, None]

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def open_csv(path: Path, limits: ImportLimits) -> tuple[CsvRows, str, int]:
    """The records of a CSV file, its encoding and its record count (header included).

    Raises :class:`~leftbehind.io.roster_limits.FileRefusedError` for a limit crossed, text in no
    encoding it reads (``encoding``) or a line the CSV reader cannot read (``csv_format``).
    """
    if path.stat().st_size > limits.max_bytes:
        raise FileRefusedError("file_too_large", limits.max_bytes)
    with path.open("rb") as f:
        head = f.read(4096)
    marked = next((name for bom, name in _BOMS if head.startswith(bom)), "")
    if not marked and b"\x00" in head:
        # Text saved as UTF-8 or GB18030 has no NUL byte; UTF-16 without its mark has many.
        raise FileRefusedError("encoding")
    # The last way of each is lenient: bytes of no character become lone surrogates, which the
    # checks report cell by cell.
    if marked:
        ways = [(marked, "strict", marked), (marked, "surrogateescape", marked)]
    else:
        ways = [
            ("utf-8-sig", "strict", "utf-8-sig"),
            ("gb18030", "strict", "gb18030"),
            ("utf-8-sig", "surrogateescape", "utf-8"),
        ]
    for encoding, errors, name in ways:
        try:
            count = sum(1 for _ in _records(path, encoding, errors, limits, counting=True))
        except UnicodeDecodeError:
            continue
        return _records(path, encoding, errors, limits), name, count
    raise FileRefusedError("encoding")


class _Budget:
    """Characters read for the record in progress: a record no row within the limits could
    make is refused before its lines pile up (an unclosed quote, a line of a million commas)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0


def _lines(f: TextIO, budget: _Budget, number: list[int]) -> Iterator[str]:
    while line := f.readline(budget.limit + 1):
        budget.used += len(line)
        if budget.used > budget.limit:
            raise FileRefusedError("csv_format", 0, number[0] + 1)
        yield line


def _records(
    path: Path, encoding: str, errors: str, limits: ImportLimits, *, counting: bool = False
) -> CsvRows:
    # Each cell at most max_cell_chars, every character a doubled quote, quoted, separated.
    budget = _Budget(limits.max_columns * (2 * limits.max_cell_chars + 3))
    number = [0]
    with io.TextIOWrapper(path.open("rb"), encoding=encoding, errors=errors, newline="") as text:
        lines = _lines(text, budget, number)
        first = next(lines, None)
        if first is None:
            return
        delimiter = "\t" if "\t" in first and "," not in first else ","
        reader = csv.reader(itertools.chain([first], lines), delimiter=delimiter)
        while True:
            try:
                record = next(reader)
            except StopIteration:
                return
            except csv.Error:
                raise FileRefusedError("csv_format", 0, reader.line_num) from None
            number[0] += 1
            if number[0] > limits.max_rows:
                raise FileRefusedError("too_many_rows", limits.max_rows, number[0])
            if not counting:
                _check(record, number[0], limits)
            budget.used = 0
            yield number[0], record


def _check(record: list[str], number: int, limits: ImportLimits) -> None:
    if len(record) > limits.max_columns:
        past = limits.max_columns + 1
        raise FileRefusedError("too_many_columns", limits.max_columns, number, past)
    if record and max(map(len, record)) > limits.max_cell_chars:
        at = next(i for i, c in enumerate(record) if len(c) > limits.max_cell_chars)
        raise FileRefusedError("cell_too_long", limits.max_cell_chars, number, at + 1)
