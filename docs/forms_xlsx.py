"""Write the printed forms of a synthetic county (广平县, 2,000 pupils) as XLSX, for
``nox -s forms`` to turn into the pictures of ``docs/forms.md`` (LibreOffice, then pdftoppm).

Usage: ``python docs/forms_xlsx.py FOLDER`` writes ``county-zh_CN.xlsx``, ``school-zh_CN.xlsx``,
``teacher-zh_CN.xlsx`` and a few in the other languages, each through the county handle's
``export_ledger``, as a bureau officer would.
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import leftbehind
from leftbehind.testing.synthetic import synthetic_county

AS_OF = date(2026, 6, 30)

#: (form, language) of each workbook written.
WRITTEN = (
    ("county", "zh_CN"),
    ("school", "zh_CN"),
    ("teacher", "zh_CN"),
    ("county", "zh_TW"),
    ("county", "en"),
    ("school", "en"),
)


def main(folder: Path) -> list[Path]:
    data = synthetic_county(seed=7, children=2000, as_of=AS_OF)
    actor = leftbehind.Actor.system("docs")
    written = []
    with leftbehind.open("memory://forms", actor=actor, today=lambda: AS_OF) as county:
        county.put_schools(data.facts.schools)
        county.put_children(data.facts.children)
        county.put_staff(data.staff)
        county.put_assignments(data.assignments)
        county.put_groups(data.groups)
        county.add_records(data.records)
        county.set_county("广平县", "130432")
        tables = county.school_tables(AS_OF)
        school = max(tables.values(), key=lambda t: (t.counts.get("served", 0), t.school.id))
        teachers = county.teacher_tables(AS_OF)
        teacher = max(teachers.values(), key=lambda t: (len(t.rows), t.staff_id))
        keys = {"county": None, "school": school.school.id, "teacher": teacher.staff_id}
        for form, lang in WRITTEN:
            county.set_language(lang)
            path = folder / f"{form}-{lang}.xlsx"
            county.export_ledger(form, key=keys[form], format="xlsx", path=path)
            written.append(path)
    return written


if __name__ == "__main__":
    for path in main(Path(sys.argv[1])):
        print(path)
