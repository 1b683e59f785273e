"""The main job of ``leftbehind demo``: a synthetic county through the whole care action.

It writes a synthetic county (:func:`leftbehind.testing.synthetic.synthetic_county`) into a
store through the county handle, exactly as a county app would, then reads everything back from
the store: who is served, the county table, compliance per school, one teacher's weekly digest,
the candidates for commendation, and the three ledgers written as XLSX.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

from rich.console import Console
from rich.progress import Progress, TimeElapsedColumn
from rich.table import Table

import leftbehind
from leftbehind import kinds
from leftbehind.access import Actor, ActorKind
from leftbehind.cli.console import joined, print_digest
from leftbehind.domain.errors import LeftbehindError
from leftbehind.domain.i18n import text
from leftbehind.domain.people import Role
from leftbehind.errors import NothingToExportError
from leftbehind.io import render
from leftbehind.io.paths import safe_export_folder
from leftbehind.service import County, default_period
from leftbehind.testing.synthetic import synthetic_county

__all__ = ["COUNTY_SIZE", "SMALL_SIZE", "DemoStoreError", "run_demo", "write_ledgers"]

_MARK = "demo"
#: The duty kinds whose compliance column has a short label in the catalogs (``short.TALK``);
#: any other kind's column is its label.
_SHORT = frozenset(
    {
        "TALK",
        "FAMILY_CONTACT",
        "PARENT_REPORT",
        "FESTIVAL",
        "HOME_VISIT",
        "STUDY_PLAN",
        "SAFETY_EDUCATION",
        "PARENT_LECTURE",
    }
)


class DemoStoreError(LeftbehindError, FileExistsError):
    """The store holds a county that the demo did not write; the demo leaves it alone."""


def _prepare(county: County) -> None:
    """Empty a store the demo wrote before; refuse one that holds anything else."""
    kinds = county.store.kinds()
    if not kinds:
        return
    if not county.settings().get(_MARK):
        msg = text(
            "the store {store} holds a county the demo did not write; give the demo another "
            "one with --store",
            store=repr(county.url),
        )
        raise DemoStoreError(msg)
    with county.store.unit_of_work() as uow:
        for kind in kinds:
            for key, _ in list(county.store.scan(kind)):
                uow.delete(kind, key)
        uow.commit()


#: Pupils in the sample county: a county of Guangping's size by default, a quick look with
#: ``--small``.
COUNTY_SIZE = 20_000
SMALL_SIZE = 1_200


class _Phases:
    """The demo's phases on a progress bar, each timed (the timings are printed at the end)."""

    def __init__(self, bar: Progress, total: int) -> None:
        self.bar = bar
        self.task = bar.add_task("", total=total)
        self.took: dict[str, float] = {}

    @contextlib.contextmanager
    def step(self, phase: str, what: str) -> Iterator[None]:
        self.bar.update(self.task, description=what)
        began = time.perf_counter()
        try:
            yield
        finally:
            self.took[phase] = self.took.get(phase, 0.0) + time.perf_counter() - began
            self.bar.advance(self.task)

    def summary(self) -> str:
        """How long each phase took: making, writing, reading, ledgers."""
        phases = ("making", "writing", "reading", "ledgers")
        took = {k: f"{self.took.get(k, 0.0):.1f}" for k in phases}
        return text(
            "phases: making {making} s, writing {writing} s, reading {reading} s, "
            "ledgers {ledgers} s",
            **took,
        )


def run_demo(
    console: Console,
    *,
    store: str | None,
    as_of: date,
    children: int,
    seed: int,
    out: str,
    language: str | None = None,
) -> None:
    """Write the sample county into ``store`` and print its care action as of ``as_of``, in
    the language of the moment; the county's handle writes its ledgers in ``language`` (or
    as :func:`leftbehind.open` decides without it)."""
    columns = (*Progress.get_default_columns(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        phases = _Phases(bar, total=1)
        making = text("making a sample county of {count} pupils", count=f"{children:,}")
        with phases.step("making", making):
            data = synthetic_county(seed=seed, children=children, as_of=as_of)
        bar.update(phases.task, total=1 + 7 + len(_READS) + 3)
        county = leftbehind.open(
            store, actor=Actor.system("demo"), today=lambda: as_of, language=language
        )
        try:
            with phases.step("writing", text("emptying the demo's store")):
                _prepare(county)
            steps = (
                (text("writing schools"), lambda: county.put_schools(data.facts.schools)),
                (
                    text("writing children and timelines"),
                    lambda: county.put_children(data.facts.children),
                ),
                (text("writing staff"), lambda: county.put_staff(data.staff)),
                (text("writing assignments"), lambda: county.put_assignments(data.assignments)),
                (text("writing study groups"), lambda: county.put_groups(data.groups)),
            )
            for what, write in steps:
                with phases.step("writing", what):
                    write()
            records = text("writing {count} duty records", count=f"{len(data.records):,}")
            with phases.step("writing", records):
                county.add_records(data.records)
            naming = text("naming the county")
            with phases.step("writing", naming), county.store.unit_of_work() as uow:
                uow.put(
                    kinds.SETTINGS, "county", {**county.settings(), _MARK: True, "name": "广平县"}
                )
                uow.commit()
        except BaseException:
            county.close()
            raise
        with county:
            _report(console, county, as_of, out, len(data.records), phases)
    console.print(phases.summary(), style="dim")


#: What the demo reads, in order (each a step of the progress bar).
_READS = ("served", "county table", "compliance", "digest", "commendations")


def _report(
    console: Console, county: County, as_of: date, out: str, records: int, phases: _Phases
) -> None:
    with phases.step("reading", text("reading who is served")):
        timelines = county.timelines()
    served = {cid: t.categories_on(as_of) for cid, t in timelines.items()}
    served = {cid: cats for cid, cats in served.items() if cats}
    by_category = Counter(c.label for cats in served.values() for c in cats)
    console.print(
        text(
            "{county} (sample county) in {store}: {pupils} pupils, {schools} schools, "
            "{staff} staff, {records} duty records",
            county=county.settings().get("name", ""),
            store=county.url,
            pupils=f"{len(timelines):,}",
            schools=len(county.schools()),
            staff=len(county.staff()),
            records=f"{records:,}",
        ),
        style="bold",
        markup=False,
    )
    console.print(
        text(
            "Served as of {day}: {count} children — {categories}",
            day=as_of.isoformat(),
            count=f"{len(served):,}",
            categories=joined(f"{label} {n}" for label, n in by_category.most_common()),
        ),
        markup=False,
    )
    coming = sorted(
        (change.on, cid, change.describe())
        for cid, t in timelines.items()
        if (change := t.next_change(as_of)) is not None and change.started
    )[:3]
    for _on, cid, said in coming:
        console.print(f"  {cid}: {said}", markup=False)
    with phases.step("reading", text("reading the county table")):
        table = county.county_table(as_of)
    console.print()
    console.print(render.render_text(render.county_sheet(table)))
    console.print()
    with phases.step("reading", text("reading compliance per school")):
        _print_compliance(console, county, as_of)
    with phases.step("reading", text("reading the busiest teacher's digest")):
        teacher = _busiest_teacher(county, as_of)
        if teacher is not None:
            console.print()
            print_digest(console, county, teacher, as_of, as_of)
    with phases.step("reading", text("reading the commendations")):
        schools, _staff = county.commendations(as_of)
    if schools:
        console.print()
        best = text("separator.clause").join(f"{s.name} {s.rate:.0%}" for s in schools[:3])
        console.print(text("Candidates for commendation: {schools}", schools=best), markup=False)
    console.print()
    school = county.staff()[teacher].school_id if teacher is not None else None
    for written in write_ledgers(county, as_of, out, phases=phases, teachers_of=school):
        console.print(text("wrote {path}", path=written), markup=False)


def _print_compliance(console: Console, county: County, as_of: date) -> None:
    compliance = county.compliance(as_of)
    schools = county.schools()
    kinds = [k for k in county.duty_kinds() if k.code in compliance.by_kind]
    grid = Table(
        title=text(
            "Duties done per school since {day}", day=default_period(as_of).start.isoformat()
        ),
        min_width=100,
    )
    grid.add_column(text("School"), no_wrap=True)
    for kind in kinds:
        short = text(f"short.{kind.code}") if kind.code in _SHORT else kind.label
        grid.add_column(short, justify="right", no_wrap=True)
    grid.add_column(text("Overdue"), justify="right", no_wrap=True)
    for sid in sorted(compliance.by_school):
        if sid not in schools:
            continue
        cells = []
        for kind in kinds:
            counts = compliance.by_school_kind.get((sid, kind.code))
            rate = counts.rate if counts is not None else None
            cells.append("—" if rate is None else f"{rate:.0%}")
        grid.add_row(schools[sid].name, *cells, str(compliance.by_school[sid].overdue))
    console.print(grid)


def _busiest_teacher(county: County, as_of: date) -> str | None:
    """The class teacher responsible for the most children on ``as_of`` (ties: smallest id)."""
    assignments = county.assignments()
    owners = Counter(
        a.staff_id
        for cid in assignments.children()
        for a in assignments.on(cid, as_of)
        if a.role is Role.CLASS_TEACHER
    )
    if not owners:
        return None
    return min(owners, key=lambda sid: (-owners[sid], sid))


def write_ledgers(
    county: County,
    as_of: date,
    folder: str | os.PathLike[str],
    *,
    unmasked: bool = False,
    phases: _Phases | None = None,
    teachers_of: str | None = None,
    school: str | None = None,
    on_empty: Callable[[str], object] | None = None,
) -> list[Path]:
    """The three ledgers as XLSX in ``folder``, those the county handle's actor may read:
    county (信息汇总表; county and township officers), schools (动态状况表, a sheet per school
    section; officers and school heads) and teachers (联络信息表, a sheet per teacher; with
    ``teachers_of``, of that school's teachers only, as a school prints them). With ``school``,
    that school's two: its 动态状况表 and its teachers' 联络信息表. Each file is one export in the
    audit log; files are named in the language of the moment (``信息汇总表-2026-06-30.xlsx``;
    ``county-table-2026-06-30.xlsx`` in English). A ledger with nothing in the actor's reach on
    that day (a school whose teachers hold no served child) is not written: ``on_empty`` is
    told its file's name."""
    target = safe_export_folder(folder)
    actor = county.actor
    stamp = as_of.isoformat()
    levels: list[tuple[str, str | None, str]] = []
    if school is not None:
        name = text("school-status-{school}-{day}.xlsx", school=school, day=stamp)
        levels.append(("school", school, name))
        teachers_of = school
    else:
        if actor.sees_county or actor.kind is ActorKind.TOWNSHIP_OFFICER:
            levels.append(("county", None, text("county-table-{day}.xlsx", day=stamp)))
        if actor.is_official:
            levels.append(("schools", None, text("school-status-{day}.xlsx", day=stamp)))
    if teachers_of is None:
        levels.append(("teachers", None, text("teacher-contacts-{day}.xlsx", day=stamp)))
    else:
        name = text("teacher-contacts-{school}-{day}.xlsx", school=teachers_of, day=stamp)
        levels.append(("teachers", teachers_of, name))
    written = []
    for level, key, name in levels:
        step = (
            phases.step("ledgers", text("writing {file}", file=name))
            if phases
            else contextlib.nullcontext()
        )
        with step:
            try:
                path = county.export_ledger(
                    level,
                    key=key,
                    as_of=as_of,
                    format="xlsx",
                    path=target / name,
                    unmasked=unmasked,
                )
            except NothingToExportError:
                if on_empty is not None:
                    on_empty(name)
                continue
        written.append(Path(path))
    return written
