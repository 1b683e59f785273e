"""How much of a roster file an import reads before refusing it (导入上限).

A roster comes from outside: a school's spreadsheet, or a file made to hurt. The readers check
these limits while they stream, before they expand anything, and stop at the first one crossed:
the file is refused with one issue, and memory stays bounded by the limits, whatever the file
holds. The defaults fit a county (a few tens of thousands of pupils) with room to spare; a
caller passes its own :class:`ImportLimits` to
:func:`~leftbehind.io.roster_import.plan_import` or :meth:`leftbehind.County.import_roster`.
"""

from __future__ import annotations

from attrs import field, frozen, validators

__all__ = ["DEFAULT_LIMITS", "FileRefusedError", "ImportLimits"]

_positive = [validators.instance_of(int), validators.gt(0)]


@frozen
class ImportLimits:
    """The largest roster file an import reads; every limit is a positive whole number.

    - ``max_rows`` (100,000): rows of the sheet or CSV records, header rows included, as the
      sheet numbers them. A county has at most a few tens of thousands of pupils; a larger file
      should be split (by school).
    - ``max_columns`` (200): the last column a row may fill. The template has 44; the rest is
      room for a school's own columns, which the import ignores.
    - ``max_cell_chars`` (32,767): characters in one cell, Excel's own limit. Text the roster
      keeps is checked later against the stricter limits of each field (2,000 characters).
    - ``max_shared_strings`` (2,000,000): distinct texts in an XLSX workbook's shared-string
      table, which a reader must hold in memory while it reads the sheet. A full roster has
      about ten distinct texts a row.
    - ``max_shared_chars`` (20,000,000): characters of those texts added up.
    - ``max_bytes`` (512 MiB): an XLSX's parts unpacked and added up (the size each part's
      zip header declares, which is all the reader ever unpacks), or a CSV file's size. An
      export of 100,000 children unpacks to about 170 MB.
    - ``max_ratio`` (100): how many times a part larger than 1 MiB may grow when unpacked.
      Spreadsheets grow 5 to 20 times; a zip bomb grows thousands of times.
    """

    max_rows: int = field(default=100_000, validator=_positive)
    max_columns: int = field(default=200, validator=_positive)
    max_cell_chars: int = field(default=32_767, validator=_positive)
    max_shared_strings: int = field(default=2_000_000, validator=_positive)
    max_shared_chars: int = field(default=20_000_000, validator=_positive)
    max_bytes: int = field(default=512 * 2**20, validator=_positive)
    max_ratio: int = field(default=100, validator=_positive)


#: The limits an import uses when none are given.
DEFAULT_LIMITS = ImportLimits()


class FileRefusedError(Exception):
    """A file the readers stop reading: a limit crossed, or a part that is no spreadsheet.

    ``code`` is the issue's code, ``limit`` the limit crossed (0 when none), ``row`` and
    ``column`` (1-based) where the reader stood, 0 when not at a cell. Never carries a value
    of the file.
    """

    def __init__(self, code: str, limit: int = 0, row: int = 0, column: int = 0) -> None:
        super().__init__(code)
        self.code = code
        self.limit = limit
        self.row = row
        self.column = column
