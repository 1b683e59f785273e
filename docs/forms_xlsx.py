"""Write the printed forms of a synthetic county (广平县, 2,000 pupils) as XLSX, for
``nox -s forms`` to turn into the pictures of ``docs/forms.md`` (LibreOffice, then pdftoppm).

Usage: ``python docs/forms_xlsx.py FOLDER`` writes ``county-zh_CN.xlsx``, ``school-zh_CN.xlsx``,
``teacher-zh_CN.xlsx`` and a few in the other languages, each through the county handle's
``export_ledger``, as a bureau officer would; and ``signoff-zh_CN.xlsx``, a school's June as
reported and signed off (``export_signoff``).
"""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime, timedelta
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
        # June signed off by the school, its township and the county (docs/signoff.md)
        county.set_language("zh_CN")
        sid, township = school.school.id, school.school.township
        steps = (
            (leftbehind.Actor.school_head("XZ01", sid), datetime(2026, 7, 2, 9), "submit"),
            (leftbehind.Actor.township_officer("ZX01", township), datetime(2026, 7, 6, 10), ""),
            (leftbehind.Actor.county_officer("JYJ01"), datetime(2026, 7, 9, 15), ""),
        )
        for who, when, step in steps:
            moment = when.replace(tzinfo=UTC) - timedelta(hours=8)  # China time, kept in UTC
            with leftbehind.open(
                "memory://forms", actor=who, today=lambda: AS_OF, now=lambda m=moment: m
            ) as signer:
                if step == "submit":
                    signer.submit(sid, "2026-06", despite_findings=True)
                else:
                    signer.approve(sid, "2026-06")
        path = folder / "signoff-zh_CN.xlsx"
        county.export_signoff(sid, "2026-06", path)
        written.append(path)
    return written


if __name__ == "__main__":
    for path in main(Path(sys.argv[1])):
        print(path)
