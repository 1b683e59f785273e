"""Importing a county's sheets: ``leftbehind import FILE…`` in a fresh process, beside the same
domain objects put through the county handle's own calls in the same run.

The county is :func:`~leftbehind.testing.synthetic.synthetic_county` (seed 2026, 20,000
children, told as of Friday 27 November 2026; ``--quick``: 300 children). Its sheets are filled
as a clerk fills them: each template written in Simplified Chinese (``write_template``, what
``leftbehind template`` writes), opened with openpyxl and the rows appended under its own header
rows: 学校名册 (schools), 教职工名册 (staff, the school by name), 花名册 (the roster, the cells
the roster export writes, unmasked), 分工名册 (assignments, staff and children by id, no
分工编号), 学习小组 (study groups), and two weeks of 谈心记录 and 家访记录 (staff and children by
id, no 记录编号: the import matches each row by its natural key). Week A is 16–20 November,
week B 23–27 November.

Measured, each ``python -m leftbehind import --store county.db --json FILE…`` started through
``/bin/sh`` (so its peak RSS is its own, not this process's high-water mark), timed from this
process (the interpreter's start included), the report's counts checked:

1. ``fresh``: every sheet (week A's records with them) into an empty SQLite store;
2. ``again``: the same files again into that store: every row ``unchanged``, nothing written;
3. ``week``: week B's 谈心记录 and 家访记录 alone into the filled store.

Baseline, in this process: the same domain objects (children as the roster carries them,
:func:`~leftbehind.io.roster.roster_facts`; records as the sheets carry them) put through
``County.put_schools``, ``put_staff``, ``put_children``, ``put_assignments``, ``put_groups``
and ``add_records`` into an empty SQLite store opened with ``leftbehind.open``, then week B's
records through ``add_records``: the handle's work without the sheets. Each figure is timed
once (the import writes the store it is given); the ratio is import / baseline. A school year
of records (288,682 rows at this size) is not filled: openpyxl's normal mode holds every cell.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import attrs

import leftbehind
from benchmarks.timing import duration, timed
from leftbehind import Actor
from leftbehind.domain.duties import HomeVisitDetails, Record
from leftbehind.domain.i18n import use
from leftbehind.io.roster import roster_facts
from leftbehind.io.roster_columns import ExportContext, has_key_row
from leftbehind.io.roster_write import roster_rows, school_labels, write_template
from leftbehind.io.sheet_columns import SHEET_COLUMNS, STAGE_CHOICES
from leftbehind.testing.synthetic import SyntheticCounty, synthetic_county

T = TypeVar("T")
AS_OF = date(2026, 6, 30)
WEEK_A = (date(2026, 6, 15), date(2026, 6, 19))
WEEK_B = (date(2026, 6, 22), date(2026, 6, 26))
LANG = "zh_CN"
ACTOR = Actor.system("benchmark")

Cell = str | int | date | None


# ---------------------------------------------------------------------------------------------
# Timing and printing.


def _info(name: str, text: str) -> None:
    print(f"sheets.{name}: {text}", flush=True)


# ---------------------------------------------------------------------------------------------
# Filling the templates.


def _labels(kind: str, key: str) -> dict[str, str]:
    """A choice column's labels by choice key, in the language of the moment."""
    column = next(c for c in SHEET_COLUMNS[kind] if c.key == key)
    return {c.key: c.label for c in column.choices}


def _fill(path: Path, kind: str, rows: Iterable[Mapping[str, Cell] | Sequence[Cell]]) -> int:
    """The template of ``kind`` written to ``path`` with ``rows`` (by column key, or cells in
    the columns' order) appended under its header rows; the number of rows."""
    from openpyxl import load_workbook

    with use(LANG):
        write_template(path, kind=kind)
        keys = [c.key for c in SHEET_COLUMNS[kind]]
        first = 3 if has_key_row() else 2
    wb = load_workbook(path)
    ws = wb.worksheets[0]
    assert ws.max_row == first - 1, "the template's header rows"
    n = 0
    for row in rows:
        ws.append([row.get(k) for k in keys] if isinstance(row, Mapping) else list(row))
        n += 1
    wb.save(path)
    return n


def _records_of(data: SyntheticCounty, code: str, week: tuple[date, date]) -> list[Record]:
    """A week's records of one kind, as its sheet carries them (a home visit has no topic,
    content or effect columns)."""
    out = [r for r in data.records if r.kind == code and week[0] <= r.on <= week[1]]
    if code == "HOME_VISIT":
        out = [attrs.evolve(r, topic="", content="", effect="") for r in out]
    return out


def _talk_rows(records: Iterable[Record]) -> Iterable[dict[str, Cell]]:
    methods = _labels("talk", "method")
    for r in records:
        yield {"date": r.on, "place": r.place, "teacher": r.staff_id, "child": r.child_id,
               "method": methods[r.method.value], "topic": r.topic, "content": r.content,
               "effect": r.effect, "follow_up": r.follow_up}  # fmt: skip


def _visit_rows(records: Iterable[Record]) -> Iterable[dict[str, Cell]]:
    for r in records:
        d = r.details
        assert isinstance(d, HomeVisitDetails)
        yield {"date": r.on, "visitor": r.staff_id, "child": r.child_id,
               "guardian_met": d.guardian_met, "living": d.living_conditions,
               "behaviour": d.behaviour_at_home, "needs": d.needs_found,
               "feedback": d.feedback, "measures": d.measures,
               "next_visit": d.next_visit}  # fmt: skip


@attrs.frozen
class Sheets:
    """The filled files and what they hold, as the handle's calls take it."""

    county: list[Path]
    week: list[Path]
    rows: int
    week_rows: int
    expected: dict[str, int]
    put: dict[str, tuple[Any, ...]]
    week_records: tuple[Record, ...]


def _sheets(folder: Path, data: SyntheticCounty, today: date) -> Sheets:
    facts = data.facts
    with use(LANG):
        labels = school_labels(facts.schools)
        rural = _labels("schools", "rural")
        stage = {c.key: c.label for c in STAGE_CHOICES}
        roles = _labels("assignments", "role")
        ctx = ExportContext(today, labels)
        schools = [{"id": s.id, "name": s.name, "township": s.township,
                    "rural": rural["yes" if s.rural else "no"],
                    "stages": "、".join(stage[x.value] for x in s.stages) or None}
                   for s in facts.schools]  # fmt: skip
        staff = [{"id": s.id, "name": s.name, "school": labels[s.school_id], "title": s.title,
                  "phone": s.phone or None} for s in data.staff]  # fmt: skip
        roster = list(roster_rows(sorted(facts.children, key=lambda c: c.id), ctx, unmasked=True))
        assignments = [{"staff": a.staff_id, "child": a.child_id, "role": roles[a.role.value],
                        "subject": a.subject or None, "start": a.start, "end": a.end}
                       for a in data.assignments]  # fmt: skip
        groups = [{"id": g.id, "school": labels[g.school_id], "village": g.village,
                   "guide": g.guide_staff_id, "members": "、".join(g.child_ids),
                   "start": g.start, "end": g.end} for g in data.groups]  # fmt: skip
        talks_a, talks_b = _records_of(data, "TALK", WEEK_A), _records_of(data, "TALK", WEEK_B)
        visits_a = _records_of(data, "HOME_VISIT", WEEK_A)
        visits_b = _records_of(data, "HOME_VISIT", WEEK_B)
        talk_a, talk_b = list(_talk_rows(talks_a)), list(_talk_rows(talks_b))
        visit_a, visit_b = list(_visit_rows(visits_a)), list(_visit_rows(visits_b))
    files: list[tuple[str, str, Sequence[Any]]] = [
        ("学校名册.xlsx", "schools", schools),
        ("教职工名册.xlsx", "staff", staff),
        ("花名册.xlsx", "roster", roster),
        ("分工名册.xlsx", "assignments", assignments),
        ("学习小组.xlsx", "groups", groups),
        ("谈心记录-1116.xlsx", "talk", talk_a),
        ("家访记录-1116.xlsx", "home_visit", visit_a),
    ]
    week: list[tuple[str, str, Sequence[Any]]] = [
        ("谈心记录-1123.xlsx", "talk", talk_b),
        ("家访记录-1123.xlsx", "home_visit", visit_b),
    ]
    for name, kind, rows in (*files, *week):
        _fill(folder / name, kind, rows)
    records = (*talks_a, *visits_a)
    return Sheets(
        county=[folder / name for name, _, _ in files],
        week=[folder / name for name, _, _ in week],
        rows=sum(len(rows) for _, _, rows in files),
        week_rows=len(talk_b) + len(visit_b),
        expected={kind: len(rows) for _, kind, rows in files},
        put={
            "schools": facts.schools,
            "staff": data.staff,
            "children": tuple(roster_facts(c, today) for c in facts.children),
            "assignments": data.assignments,
            "groups": data.groups,
            "records": records,
        },
        week_records=(*talks_b, *visits_b),
    )


# ---------------------------------------------------------------------------------------------
# The import in a fresh process, and the baseline.

#: ``python -m leftbehind …`` with its own peak RSS written (KiB) to ``$LB_BENCH_RSS`` on exit.
_CLI = """
import atexit, os, resource, runpy, sys
out = os.environ["LB_BENCH_RSS"]
def _rss():
    with open(out, "w") as f:
        f.write(str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))
atexit.register(_rss)
sys.argv = ["leftbehind", *sys.argv[1:]]
runpy.run_module("leftbehind", run_name="__main__", alter_sys=True)
"""

_LAUNCH = ("/bin/sh", "-c", '"$@"; exit $?', "sh")


def _run(store: Path, *argv: str) -> tuple[float, float, str]:
    """Seconds, peak RSS (MiB) and standard output of ``leftbehind ARGV…`` in a fresh process
    started through a shell (a process exec'd straight from this one would start from this
    one's high-water mark)."""
    rss = store.with_name("rss.txt")
    args = [sys.executable, "-c", _CLI, *argv]
    env = {**os.environ, "LB_BENCH_RSS": str(rss), "LEFTBEHIND_LANG": LANG}
    took, done = timed(
        lambda: subprocess.run([*_LAUNCH, *args], capture_output=True, text=True, env=env)
    )
    if done.returncode != 0:
        raise SystemExit(f"leftbehind import failed ({done.returncode}):\n{done.stdout[-3000:]}"
                         f"\n{done.stderr[-3000:]}")  # fmt: skip
    return took, int(rss.read_text()) / 1024, done.stdout


def _import(store: Path, paths: Sequence[Path]) -> tuple[float, float, dict[str, Any]]:
    """``leftbehind import --json PATHS…`` into ``store``: seconds, peak RSS, the report."""
    took, rss, out = _run(store, "import", "--store", str(store), "--json", *map(str, paths))
    report: dict[str, Any] = json.loads(out)
    return took, rss, report


def _baseline(store: Path, put: Mapping[str, Sequence[Any]], today: date) -> float:
    def write() -> None:
        with leftbehind.open(store, actor=ACTOR, today=lambda: today) as county:
            county.put_schools(put["schools"])
            county.put_staff(put["staff"])
            county.put_children(put["children"])
            county.put_assignments(put["assignments"])
            county.put_groups(put["groups"])
            county.add_records(put["records"])

    return timed(write)[0]


def _baseline_week(store: Path, records: Sequence[Record], today: date) -> float:
    def write() -> None:
        with leftbehind.open(store, actor=ACTOR, today=lambda: today) as county:
            county.add_records(records)

    return timed(write)[0]


def _counts(report: Mapping[str, Any]) -> dict[str, tuple[int, int, int]]:
    return {k: (len(c["created"]), len(c["updated"]), c["unchanged"])
            for k, c in report["kinds"].items()}  # fmt: skip


def main(quick: bool = False) -> None:
    n = 300 if quick else 20_000
    today = date.today()
    took, data = timed(lambda: synthetic_county(children=n, as_of=AS_OF))
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        made, sheets = timed(lambda: _sheets(folder, data, today))
        size = sum(p.stat().st_size for p in (*sheets.county, *sheets.week)) / 2**20
        _info(
            "county",
            f"{n:,} children: {sheets.rows:,} rows in {len(sheets.county)} files "
            f"({', '.join(f'{k} {v:,}' for k, v in sheets.expected.items())}); week B "
            f"{sheets.week_rows:,} rows; {size:.1f} MiB of XLSX (made in {duration(took)}, "
            f"filled in {duration(made)})",
        )
        base = _baseline(folder / "baseline.db", sheets.put, today)
        base_week = _baseline_week(folder / "baseline.db", sheets.week_records, today)
        store = folder / "county.db"

        def line(tag: str, seconds: float, rss: float, rows: int, bottom: float) -> None:
            _info(
                tag,
                f"{duration(seconds)} for {rows:,} rows = {rows / seconds:,.0f} rows/s, peak RSS "
                f"{rss:,.0f} MiB / the handle's calls {duration(bottom)} = {seconds / bottom:.2f}x",
            )

        fresh, rss, report = _import(store, sheets.county)
        got = _counts(report)
        assert report["written"], report["issues"][:5]
        assert got == {k: (v, 0, 0) for k, v in sheets.expected.items()}, got
        line("fresh", fresh, rss, sheets.rows, base)
        again, rss, report = _import(store, sheets.county)
        got = _counts(report)
        assert report["ok"], report["issues"][:5]
        assert not report["written"], "a re-import wrote"
        assert got == {k: (0, 0, v) for k, v in sheets.expected.items()}, got
        line("again", again, rss, sheets.rows, base)
        week, rss, report = _import(store, sheets.week)
        assert report["written"], report["issues"][:5]
        assert sum(len(c["created"]) for c in report["kinds"].values()) == sheets.week_rows
        line("week", week, rss, sheets.week_rows, base_week)
        start, rss, _ = _run(store, "import", "--help")
        _info("start", f"`leftbehind import --help` (a fresh process's start): {duration(start)}, "
              f"peak RSS {rss:,.0f} MiB")  # fmt: skip


if __name__ == "__main__":
    main()
