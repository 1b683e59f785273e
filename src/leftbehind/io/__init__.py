"""Input and output outside the domain: rendering ledgers to text, CSV and printed forms (XLSX)."""

from __future__ import annotations

from leftbehind.io.render import (
    Column,
    Form,
    Sheet,
    county_sheet,
    render_text,
    school_form,
    school_sheets,
    standings_sheet,
    teacher_sheet,
    to_csv,
    write_csv,
    write_xlsx,
)

__all__ = [
    "Column",
    "Form",
    "Sheet",
    "county_sheet",
    "render_text",
    "school_form",
    "school_sheets",
    "standings_sheet",
    "teacher_sheet",
    "to_csv",
    "write_csv",
    "write_xlsx",
]
