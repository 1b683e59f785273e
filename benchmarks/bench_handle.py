"""The county handle as users call it: ``leftbehind.open(path, actor=..., today=...)`` on a
county with a school year of records, on SQLite (``*.db``) and TinyDB (``*.json``), each figure a
ratio to a baseline doing the same work in the same run.

The county is :func:`~leftbehind.testing.synthetic.synthetic_county` (seed 2026, 20,000 children
and 292,829 records up to 30 June 2026; ``--quick``: 1,500 children) on SQLite, the embedded
default for a county. TinyDB is for a school's or a script's file (it warns past 16 MiB and
names ``leftbehind copy``), so it is measured on a county of a large school's size, 1,500
children with their school year of records, the same figures and goals. Each is written through
the handle
with ``Actor.system("benchmark")`` and ``today`` fixed at 30 June 2026. Reads (digests, county
tables and their baselines) are medians of 3; writes change the store and are timed once, each
on a freshly opened handle (the opening not timed). Per backend:

- ``digest``: one class teacher's digest (the one with the most children) on the whole county /
  the same digest on a store holding only that teacher's children: every child the teacher holds
  an assignment to or guides in a study group, the assignments and records of those children,
  the groups touching them (cut to those children), every school and every staff member (a staff
  member must belong to a known school). Each digest is asked on a freshly opened handle, the
  opening not timed (its time is printed apart); the two digests are asserted equal. The system
  actor is the figure (a nightly digest script's); the same is then done as the teacher
  (``Actor.staff``), whose handle reads only the children in their reach. Goal ≤ 2×.
- ``county_table``: open the store, ``county_table(AS_OF)``, close, timed together / the
  pure-domain :func:`leftbehind.domain.ledger.county_table` over
  :func:`~leftbehind.testing.synthetic.domain_ledger_facts` built beforehand (the time to build
  those facts is printed apart); the rows are asserted equal. Goal ≤ 1.5×.
  On SQLite, also / a hand-written baseline through plain :mod:`sqlite3` over the stored JSON
  documents (``lb_document``, ``json_extract``/``json_each``), written from scratch rather than
  from the library's queries: children enrolled per school on the day; children served per
  school (a stored ``timeline`` span holds on the day and an enrolment of the child covers it);
  and duty records per school and duty kind in the school year up to the day (the school of the
  child's enrolment on the record's day). That is less than the table (no categories, grades,
  sexes, five clears or due/overdue occurrences), so it is a floor, not the same result; its
  served total is asserted equal to the domain's. Goal ≤ 2×.
- ``school_table``: open the store, one school's table (the rural school with the most served
  children), close, timed together / the pure-domain
  :func:`leftbehind.domain.ledger.school_table` over prebuilt facts of only the children ever
  enrolled at that school (their timelines, assignments and a duty book of their records). On
  SQLite the handle reads only that school's children and has the store count their duties.
  The tables are asserted equal. Goal ≤ 2×.
- ``add_records``: ``county.add_records(records)`` into a store holding everything but the
  records / the store's own bulk write of the same documents (``unstructure`` done beforehand)
  in one unit of work into an identical copy of that store (no validation, no reference check,
  no audit). Reported as the throughput ratio bulk time / handle time. Goal ≥ 0.5×.
- ``put_children``: re-putting every child into the full county, one child in ten (every tenth
  by id, or the next one whose status can flip) changed so that it is served on AS_OF when it was
  not (both parents working away) or not when it was (the parents' absences cleared) / the first
  put of every child into a store holding only the schools. The flip is verified with
  ``county.timelines()`` (exactly the flipped children change status). Re-putting the same
  children unchanged, just before, is printed for information.
  Goal ≤ 1.5×.
- ``rss``: peak RSS (``ru_maxrss``) of a fresh ``python -c`` that opens the full store and
  computes the county table (beside one that only imports leftbehind), started through
  ``/bin/sh`` so that it does not inherit this process's high-water mark. Goal ≤ 600 MiB.

Once: ``leftbehind demo`` end to end at its default size (``--small`` with ``--quick``) in a
fresh folder, with the phase timings it prints last.
"""

from __future__ import annotations

import functools
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import date
from pathlib import Path
from typing import TypeVar

import attrs

import leftbehind
from leftbehind import Absence, Actor, Child, Digest, Role, StoreSizeWarning
from leftbehind.domain import ledger
from leftbehind.domain.eligibility import PlanPolicy
from leftbehind.domain.model import Parent, School
from leftbehind.service import County, default_period
from leftbehind.store import Document
from leftbehind.testing.synthetic import SyntheticCounty, domain_ledger_facts, synthetic_county

T = TypeVar("T")
AS_OF = date(2026, 6, 30)
ACTOR = Actor.system("benchmark")
#: Each backend with the size of county it is for (children; ``--quick``: 1,500 for both).
BACKENDS = ((".db", "SQLite", 20_000), (".json", "TinyDB", 1_500))


# ---------------------------------------------------------------------------------------------
# Timing and printing.


def _timed(fn: Callable[[], T]) -> tuple[float, T]:
    t0 = time.perf_counter()
    result = fn()
    return time.perf_counter() - t0, result


def _median(fn: Callable[[], T], repeats: int) -> tuple[float, T]:
    times: list[float] = []
    for _ in range(repeats):
        took, result = _timed(fn)
        times.append(took)
    return statistics.median(times), result


def _t(seconds: float) -> str:
    return f"{seconds * 1000:,.1f} ms" if seconds < 1 else f"{seconds:,.2f} s"


def _figure(name: str, top: tuple[str, float], bottom: tuple[str, float], goal: float) -> None:
    """One line: ``top / bottom`` and whether the ratio is at most ``goal``."""
    ratio = top[1] / bottom[1]
    met = "met" if ratio <= goal else "MISSED"
    print(
        f"{name}: {top[0]} {_t(top[1])} / {bottom[0]} {_t(bottom[1])} = {ratio:.2f}x "
        f"(goal ≤ {goal:g}x: {met})",
        flush=True,
    )


def _info(name: str, text: str) -> None:
    print(f"{name}: {text}", flush=True)


# ---------------------------------------------------------------------------------------------
# Stores.


def _open(path: Path, actor: Actor = ACTOR) -> County:
    return leftbehind.open(path, actor=actor, today=lambda: AS_OF)


def _put_timed(path: Path, children: Iterable[Child]) -> float:
    """Seconds ``put_children`` takes on a freshly opened handle (the opening not timed)."""
    with _open(path) as county:
        took, _ = _timed(functools.partial(county.put_children, children))
    return took


def _write(path: Path, data: SyntheticCounty, records: bool = True) -> float:
    """Write a county through the handle; the seconds the (first) put of the children took."""
    with _open(path) as county:
        county.put_schools(data.facts.schools)
    took = _put_timed(path, data.facts.children)
    with _open(path) as county:
        county.put_staff(data.staff)
        county.put_assignments(data.assignments)
        county.put_groups(data.groups)
        if records:
            county.add_records(data.records)
    return took


def _copy(source: Path, target: Path) -> None:
    """Copy a closed store's files (SQLite's ``-wal``/``-shm`` too, if left)."""
    for suffix in ("", "-wal", "-shm"):
        found = source.with_name(source.name + suffix)
        if found.exists():
            shutil.copyfile(found, target.with_name(target.name + suffix))


def _size(path: Path) -> float:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*")) / 2**20


# ---------------------------------------------------------------------------------------------
# 1. A teacher's digest.


def _busiest_teacher(data: SyntheticCounty) -> str:
    counts = Counter(a.staff_id for a in data.assignments if a.role is Role.CLASS_TEACHER)
    return counts.most_common(1)[0][0]


def _cut(data: SyntheticCounty, mine: set[str]) -> SyntheticCounty:
    """The county cut to the children ``mine``: their assignments, records and the groups
    touching them (cut to them); every school and staff member stays."""
    groups = tuple(
        attrs.evolve(g, child_ids=tuple(c for c in g.child_ids if c in mine))
        for g in data.groups
        if any(c in mine for c in g.child_ids)
    )
    facts = attrs.evolve(data.facts, children=tuple(c for c in data.facts.children if c.id in mine))
    return attrs.evolve(
        data,
        facts=facts,
        assignments=tuple(a for a in data.assignments if a.child_id in mine),
        groups=groups,
        records=tuple(r for r in data.records if r.child_id in mine),
    )


def _teacher_county(data: SyntheticCounty, staff_id: str) -> SyntheticCounty:
    """The county cut to the children ``staff_id`` holds an assignment to or guides."""
    mine = {a.child_id for a in data.assignments if a.staff_id == staff_id}
    mine |= {c for g in data.groups if g.guide_staff_id == staff_id for c in g.child_ids}
    return _cut(data, mine)


def _cold_digest(
    path: Path, staff_id: str, actor: Actor, repeats: int
) -> tuple[float, float, Digest]:
    """Median seconds to open the store, then to ask the digest on that fresh handle."""
    opens: list[float] = []
    asks: list[float] = []
    found: Digest | None = None
    for _ in range(repeats):
        opened, county = _timed(lambda: _open(path, actor))
        with county:
            took, found = _timed(functools.partial(county.digest, staff_id, AS_OF, AS_OF))
        opens.append(opened)
        asks.append(took)
    assert found is not None
    return statistics.median(opens), statistics.median(asks), found


def _digests(tag: str, path: Path, data: SyntheticCounty, repeats: int) -> None:
    staff_id = _busiest_teacher(data)
    small = _teacher_county(data, staff_id)
    small_path = path.with_name("teacher" + path.suffix)
    _write(small_path, small)
    for who, actor in (("system", ACTOR), ("teacher", Actor.staff(staff_id))):
        open_big, big_s, big = _cold_digest(path, staff_id, actor, repeats)
        open_small, small_s, mine = _cold_digest(small_path, staff_id, actor, repeats)
        assert big == mine, f"the digest of {staff_id} differs on the teacher's store"
        _figure(
            f"handle.{tag}.digest.{who}",
            ("county", big_s),
            (f"teacher's store ({len(small.facts.children)} children)", small_s),
            2,
        )
        _info(
            f"handle.{tag}.digest.{who}.detail",
            f"{staff_id}: {len(big.due)} due, {len(big.overdue)} overdue (equal on both); "
            f"opening not timed above: {_t(open_big)} the county, {_t(open_small)} the "
            f"teacher's store",
        )


# ---------------------------------------------------------------------------------------------
# 2. The county table.

_SERVED_SQL = """
SELECT json_extract(e.value, '$.school_id') AS school,
       count(DISTINCT c.key) AS enrolled,
       count(DISTINCT CASE WHEN EXISTS (
           SELECT 1 FROM json_each(t.doc, '$.spans') s
           WHERE json_extract(s.value, '$.start') <= :day
             AND coalesce(json_extract(s.value, '$.end') > :day, 1)
       ) THEN c.key END) AS served
FROM lb_document c
JOIN json_each(c.doc, '$.enrolments') e
LEFT JOIN lb_document t ON t.kind = 'timeline' AND t.key = c.key
WHERE c.kind = 'child'
  AND json_extract(e.value, '$.start') <= :day
  AND coalesce(json_extract(e.value, '$.end') > :day, 1)
GROUP BY school
"""

_RECORDS_SQL = """
WITH r AS (
    SELECT json_extract(doc, '$.child_id') AS child, json_extract(doc, '$.kind') AS duty,
           json_extract(doc, '$.on') AS day
    FROM lb_document WHERE kind = 'record'
)
SELECT json_extract(e.value, '$.school_id') AS school, r.duty, count(*)
FROM r
JOIN lb_document c ON c.kind = 'child' AND c.key = r.child
JOIN json_each(c.doc, '$.enrolments') e
WHERE r.day >= :start AND r.day <= :day
  AND json_extract(e.value, '$.start') <= r.day
  AND coalesce(json_extract(e.value, '$.end') > r.day, 1)
GROUP BY school, r.duty
"""


def _hand_written(path: Path) -> tuple[int, int]:
    """Open the SQLite file, count per school and per (school, duty); served, records."""
    day, start = AS_OF.isoformat(), default_period(AS_OF).start.isoformat()
    db = sqlite3.connect(path)
    try:
        schools = db.execute(_SERVED_SQL, {"day": day}).fetchall()
        duties = db.execute(_RECORDS_SQL, {"day": day, "start": start}).fetchall()
    finally:
        db.close()
    return sum(int(row[2]) for row in schools), sum(int(row[2]) for row in duties)


def _served_on(data: SyntheticCounty, facts: ledger.LedgerFacts) -> int:
    return sum(
        1
        for c in data.facts.children
        if facts.timelines[c.id].categories_on(AS_OF) and c.enrolment_on(AS_OF) is not None
    )


def _county_tables(tag: str, path: Path, data: SyntheticCounty, repeats: int) -> None:
    def through_handle() -> ledger.CountyTable:
        with _open(path) as county:
            return county.county_table(AS_OF)

    build_s, facts = _timed(lambda: domain_ledger_facts(data))
    period = default_period(AS_OF)
    handle_s, table = _median(through_handle, repeats)
    domain_s, expected = _median(
        lambda: ledger.county_table(facts, as_of=AS_OF, period=period), repeats
    )
    assert table.rows == expected.rows, "the handle's county table differs from the domain's"
    _figure(
        f"handle.{tag}.county_table",
        ("reopen + county_table + close", handle_s),
        ("domain county_table on prebuilt facts", domain_s),
        1.5,
    )
    _info(
        f"handle.{tag}.county_table.detail",
        f"{len(table.rows)} rows, equal; building the domain's facts (timelines, duty book) "
        f"took {_t(build_s)}, not in the ratio",
    )
    if tag != "sqlite":
        return
    raw_s, (served, n_records) = _median(lambda: _hand_written(path), repeats)
    assert served == _served_on(data, facts), "the hand-written served count is wrong"
    _figure(
        f"handle.{tag}.county_table.vs_sql",
        ("reopen + county_table + close", handle_s),
        ("hand-written sqlite3 json_extract GROUP BYs", raw_s),
        2,
    )
    _info(
        f"handle.{tag}.county_table.vs_sql.detail",
        f"the hand-written SQL counts {served:,} served children and {n_records:,} records "
        f"per school and kind (a floor: fewer columns than the table)",
    )


def _school_facts(data: SyntheticCounty, school_id: str) -> ledger.LedgerFacts:
    """The domain's facts of the children ever enrolled at ``school_id`` (all its table counts)."""
    ever = (c for c in data.facts.children if any(e.school_id == school_id for e in c.enrolments))
    return domain_ledger_facts(_cut(data, {c.id for c in ever}))


def _school_tables(tag: str, path: Path, data: SyntheticCounty, repeats: int) -> None:
    rural = {s.id for s in data.facts.schools if s.rural}
    served = Counter(
        e.school_id for c in data.facts.children for e in c.enrolments if e.school_id in rural
    )
    school_id = served.most_common(1)[0][0]
    period = default_period(AS_OF)

    def through_handle() -> ledger.SchoolTable:
        with _open(path) as county:
            return county.school_table(school_id, AS_OF)

    facts = _school_facts(data, school_id)
    handle_s, table = _median(through_handle, repeats)
    domain_s, expected = _median(
        lambda: ledger.school_table(facts, school_id, as_of=AS_OF, period=period), repeats
    )
    assert table == expected, "the handle's school table differs from the domain's"
    _figure(
        f"handle.{tag}.school_table",
        ("reopen + school_table + close", handle_s),
        ("domain school_table on prebuilt facts of its children", domain_s),
        2,
    )
    _info(
        f"handle.{tag}.school_table.detail",
        f"{school_id}: {len(facts.children):,} children ever enrolled, "
        f"{table.counts.get('served', 0):,} served on {AS_OF}",
    )


# ---------------------------------------------------------------------------------------------
# 3. add_records.


def _add_records(tag: str, path: Path, data: SyntheticCounty) -> None:
    """``path`` holds everything but the records; it gets them through the handle."""
    bulk_path = path.with_name("bulk" + path.suffix)
    _copy(path, bulk_path)
    records = data.records
    docs: list[tuple[str, Document]] = [(r.id, leftbehind.convert.unstructure(r)) for r in records]
    with _open(path) as county:
        handle_s, _ = _timed(lambda: county.add_records(records))
    with _open(bulk_path) as county:
        store = county.store

        def bulk() -> None:
            with store.unit_of_work() as uow:
                uow.put_many("record", docs)
                uow.commit()

        bulk_s, _ = _timed(bulk)
    n = len(records)
    ratio = bulk_s / handle_s
    met = "met" if ratio >= 0.5 else "MISSED"
    print(
        f"handle.{tag}.add_records: {n:,} records, county.add_records {_t(handle_s)} "
        f"({n / handle_s:,.0f}/s), the store's bulk write {_t(bulk_s)} ({n / bulk_s:,.0f}/s): "
        f"throughput {ratio:.2f}x the bulk write (goal ≥ 0.5x: {met})",
        flush=True,
    )


# ---------------------------------------------------------------------------------------------
# 4. put_children with flips.


def _away(parent: Parent | None, since: date) -> Parent | None:
    if parent is None or not parent.known or parent.deceased_on or parent.missing_since:
        return None
    return attrs.evolve(parent, absences=(Absence(since, None, "廣東深圳"),))


def _flip(child: Child, schools: dict[str, School], policy: PlanPolicy) -> Child | None:
    """The child changed so that its served status on AS_OF flips, or None if it cannot."""
    served = bool(policy.timeline(child, schools).categories_on(AS_OF))
    if served:
        father = child.father and attrs.evolve(child.father, absences=())
        mother = child.mother and attrs.evolve(child.mother, absences=())
        changed = attrs.evolve(child, father=father, mother=mother)
    else:
        since = date(2025, 9, 1)
        father, mother = _away(child.father, since), _away(child.mother, since)
        if father is None or mother is None:
            return None
        changed = attrs.evolve(child, father=father, mother=mother)
    now = bool(policy.timeline(changed, schools).categories_on(AS_OF))
    return changed if now != served else None


def _flipped(data: SyntheticCounty) -> tuple[list[Child], set[str]]:
    """Every child by id, one in ten flipped (every tenth, or the next that can flip)."""
    schools = {s.id: s for s in data.facts.schools}
    policy = PlanPolicy()
    out = sorted(data.facts.children, key=lambda c: c.id)
    owed = 0
    flipped: set[str] = set()
    for i, child in enumerate(out):
        owed += i % 10 == 0
        if owed and (changed := _flip(child, schools, policy)) is not None:
            out[i] = changed
            flipped.add(child.id)
            owed -= 1
    return out, flipped


def _served(county: County) -> set[str]:
    return {k for k, t in county.timelines().items() if t.categories_on(AS_OF)}


def _put_children(tag: str, path: Path, data: SyntheticCounty, first_s: float) -> None:
    children, flipped = _flipped(data)
    with _open(path) as county:
        before = _served(county)
    same_s = _put_timed(path, data.facts.children)
    again_s = _put_timed(path, children)
    with _open(path) as county:
        after = _served(county)
    changed = before ^ after
    assert changed == flipped, f"{len(changed)} changed status, {len(flipped)} were flipped"
    _figure(
        f"handle.{tag}.put_children",
        (f"re-put {len(children):,} with {len(flipped):,} flipping", again_s),
        ("first put", first_s),
        1.5,
    )
    _info(
        f"handle.{tag}.put_children.detail",
        f"served {len(before):,} -> {len(after):,} ({len(before - after):,} left, "
        f"{len(after - before):,} joined, checked with timelines()); re-put unchanged "
        f"{_t(same_s)} ({same_s / first_s:.2f}x the first put)",
    )


# ---------------------------------------------------------------------------------------------
# 5. Peak RSS.

_RSS = """
import resource, sys, warnings
from datetime import date
warnings.simplefilter("ignore")
import leftbehind
if sys.argv[1]:
    day = date.fromisoformat(sys.argv[2])
    actor = leftbehind.Actor.system("benchmark")
    with leftbehind.open(sys.argv[1], actor=actor, today=lambda: day) as county:
        county.county_table(day)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


_LAUNCH = ("/bin/sh", "-c", '"$@"; exit $?', "sh")


def _rss_mib(path: str) -> float:
    """``ru_maxrss`` of a fresh Python, started by a shell: a process exec'd straight from this
    one would start from this one's high-water mark (Linux keeps it across fork and exec)."""
    args = [sys.executable, "-c", _RSS, path, AS_OF.isoformat()]
    done = subprocess.run([*_LAUNCH, *args], check=True, capture_output=True, text=True)
    return int(done.stdout.split()[-1]) / 1024  # KiB on Linux


def _rss(tag: str, path: Path) -> None:
    peak, bare = _rss_mib(str(path)), _rss_mib("")
    met = "met" if peak <= 600 else "MISSED"
    print(
        f"handle.{tag}.rss: {peak:,.0f} MiB peak RSS reopening and computing the county table "
        f"(importing leftbehind alone: {bare:,.0f} MiB; goal ≤ 600 MiB: {met})",
        flush=True,
    )


# ---------------------------------------------------------------------------------------------
# 6. The demo.


def _demo(quick: bool) -> None:
    exe = Path(sys.executable).parent / "leftbehind"
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "leftbehind"]
    args = [*command, "demo", *(["--small"] if quick else [])]
    with tempfile.TemporaryDirectory() as folder:
        took, done = _timed(
            lambda: subprocess.run(
                args,
                cwd=folder,
                check=True,
                capture_output=True,
                text=True,
                env={**os.environ, "COLUMNS": "200"},
            )
        )
        size = _size(Path(folder) / "leftbehind.db")
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    print(
        f"handle.demo: leftbehind {' '.join(args[len(command) :])} end to end {_t(took)} "
        f"(store {size:,.0f} MiB); {lines[-1].strip() if lines else 'no output'}",
        flush=True,
    )


# ---------------------------------------------------------------------------------------------


def _backend(suffix: str, name: str, data: SyntheticCounty) -> None:
    tag = name.lower()
    repeats = 3
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = folder / f"county{suffix}"
        print(
            f"-- {name} ({path.name}): {len(data.facts.children):,} children, "
            f"{len(data.records):,} records",
            flush=True,
        )
        t0 = time.perf_counter()
        first_s = _write(path, data, records=False)
        _add_records(tag, path, data)
        _info(
            f"handle.{tag}.store",
            f"written through the handle in {_t(time.perf_counter() - t0)}, {_size(path):,.0f} "
            f"MiB on disk",
        )
        _digests(tag, path, data, repeats)
        _county_tables(tag, path, data, repeats)
        _school_tables(tag, path, data, repeats)
        _rss(tag, path)
        _put_children(tag, path, data, first_s)


def main(quick: bool = False) -> None:
    made: dict[int, SyntheticCounty] = {}
    for suffix, name, size in BACKENDS:
        children = 1_500 if quick else size
        if children not in made:
            t0 = time.perf_counter()
            made[children] = synthetic_county(seed=2026, children=children, as_of=AS_OF)
            data = made[children]
            _info(
                "handle.county",
                f"{children:,} children, {len(data.records):,} records, "
                f"{len(data.assignments):,} assignments, {len(data.staff):,} staff (generated "
                f"in {_t(time.perf_counter() - t0)})",
            )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", StoreSizeWarning)
            _backend(suffix, name, made[children])
    _demo(quick)


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
