"""Input and output outside the domain: rendering ledgers to text, CSV and XLSX."""

from __future__ import annotations

from leftbehind.io.render import (
    Column,
    Sheet,
    county_sheet,
    render_text,
    school_sheets,
    standings_sheet,
    teacher_sheet,
    to_csv,
    write_csv,
    write_xlsx,
)

__all__ = [
    "Column",
    "Sheet",
    "county_sheet",
    "render_text",
    "school_sheets",
    "standings_sheet",
    "teacher_sheet",
    "to_csv",
    "write_csv",
    "write_xlsx",
]
