"""The ledger: the county table of a synthetic county with a school year of duty records, and a
province merged from 100 county tables — each beside a hand-written aggregation in the same run.

- county table: :func:`county_table` (one pass: dynamics with reasons, breakdowns, five clears,
  coverage, duties, national count; subtotals; the consistency check) against a plain loop that
  counts the same columns into one ``Counter`` keyed by (school, column) using the same domain
  lookups (``Timeline.categories_on``, ``profile_completeness``) and sums the townships;
- province: :func:`merge` of 100 county tables (and its :meth:`CountyTable.check`) against a loop
  adding the rows' dicts.

The duty counts come from :class:`DutyBook` over the records (the duty engine is measured by its
own benchmark; its time is printed for information). Both sides read the same prepared counts.
"""

from __future__ import annotations

import gc
import random
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import date, timedelta
from typing import Any, TypeVar

from leftbehind.domain.calendar import default_calendar
from leftbehind.domain.dates import Interval, school_year_of
from leftbehind.domain.duties import DEFAULT_KINDS, DutyBook, Record, Tally
from leftbehind.domain.eligibility import NationalPolicy, PlanPolicy, Timeline
from leftbehind.domain.ledger import (
    CountyTable,
    LedgerFacts,
    Stamp,
    county_table,
    merge,
    primary_category,
)
from leftbehind.domain.model import Child
from leftbehind.domain.people import Assignment, Role, Staff
from leftbehind.domain.profile import profile_completeness
from leftbehind.testing.synthetic import synthetic_facts

T = TypeVar("T")
YEAR = Interval(date(2025, 9, 1), date(2026, 9, 1))
AS_OF = date(2026, 7, 10)


def _median(fn: Callable[[], T], repeats: int) -> tuple[float, T]:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def _care(children: Sequence[Child], seed: int) -> tuple[list[Staff], list[Assignment]]:
    rng = random.Random(seed)
    staff: dict[str, Staff] = {}
    out: list[Assignment] = []
    for child in children:
        for e in child.enrolments:
            school = e.school_id
            cohort = f"{school}-{e.start.year}-{e.class_name}"
            pool = [f"{school}-{i}" for i in range(12)]
            held = [(f"T{cohort}", Role.CLASS_TEACHER)]
            if rng.random() < 0.9:
                held.append((f"P{rng.choice(pool)}", Role.PROXY_PARENT))
            if rng.random() < 0.8:
                held.append((f"P{rng.choice(pool)}", Role.STAFF_PAIR))
            for sid, role in held:
                staff.setdefault(sid, Staff(sid, f"教師{sid[-4:]}", school))
                out.append(Assignment(f"A{len(out)}", sid, child.id, role, e.start, e.end))
    return list(staff.values()), out


def _records(
    children: Sequence[Child], assignments: Sequence[Assignment], seed: int
) -> list[Record]:
    """About 100 records a served child over the school year: weekly talks, monthly contacts and
    visits, a report and safety lesson each semester, a festival."""
    rng = random.Random(seed)
    by_child: dict[str, dict[Role, str]] = {}
    for a in assignments:
        by_child.setdefault(a.child_id, {})[a.role] = a.staff_id
    out: list[Record] = []
    weeks = [YEAR.start + timedelta(days=7 * i + 1) for i in range(45)]
    months = [date(2025 + (m < 9), m, 10) for m in (9, 10, 11, 12, 1, 3, 4, 5, 6)]
    for child in children:
        held = by_child.get(child.id, {})
        teacher, proxy = held.get(Role.CLASS_TEACHER), held.get(Role.PROXY_PARENT)
        plan: list[tuple[str, str | None, date, float]] = []
        plan += [("TALK", teacher, d, 0.85) for d in weeks]
        plan += [("FAMILY_CONTACT", teacher, d, 0.9) for d in months]
        plan += [("HOME_VISIT", proxy, d + timedelta(days=5), 0.8) for d in months]
        for d in (date(2025, 12, 15), date(2026, 6, 15)):
            plan += [("PARENT_REPORT", teacher, d, 0.9), ("SAFETY_EDUCATION", teacher, d, 0.95)]
        plan.append(("FESTIVAL", teacher, date(2026, 6, 1), 0.7))
        for kind, staff_id, on, p in plan:
            if staff_id is not None and on <= AS_OF and rng.random() < p:
                out.append(Record(f"R{len(out)}", kind, child.id, staff_id, on))
    return out


def build_facts(n: int, seed: int = 2026, county: str = "廣平縣") -> tuple[LedgerFacts, int]:
    """A county of ``n`` pupils with staff, assignments, a school year of records and the duty
    tallies of the year as of :data:`AS_OF` (computed once). Returns the facts and the records."""
    synthetic = synthetic_facts(seed=seed, children=n, as_of=date(2026, 9, 1))
    schools = {s.id: s for s in synthetic.schools}
    children = synthetic.children
    plan, national = PlanPolicy(), NationalPolicy()
    timelines = {c.id: plan.timeline(c, schools) for c in children}
    served = [c for c in children if timelines[c.id].served_intervals()]
    staff, assignments = _care(children, seed)
    records = _records(served, assignments, seed)
    book = DutyBook(
        default_calendar([2025, 2026]), DEFAULT_KINDS, timelines, assignments, records, staff=staff
    )
    t0 = time.perf_counter()
    tallies: list[Tally] = list(book.tallies(YEAR, AS_OF))
    print(
        f"  (duty engine: {len(records):,} records, {len(tallies):,} tallies "
        f"in {time.perf_counter() - t0:.2f} s)",
        flush=True,
    )

    def source(period: Interval, as_of: date) -> Iterable[Tally]:
        return tallies

    facts = LedgerFacts(
        schools,
        children,
        timelines,
        national={c.id: national.timeline(c, schools) for c in children},
        staff=staff,
        assignments=assignments,
        duties=source,
        county=county,
        national_policy=f"{national.name}/{national.version}",
    )
    return facts, len(records)


def hand_written(facts: LedgerFacts, as_of: date, period: Interval) -> dict[tuple[str, ...], Any]:
    """The same counts in a plain loop: one Counter keyed by (school, column), then sums."""
    eve = period.start - timedelta(days=1)
    counts: Counter[tuple[str, str]] = Counter()
    year = school_year_of(as_of)
    tallies: dict[str, list[Tally]] = {}
    for t in facts.duties(period, as_of):
        tallies.setdefault(t.child_id, []).append(t)  # type: ignore[arg-type]
    empty = Timeline("", "", "")
    for child in facts.children:
        now = was = None
        for e in child.enrolments:
            if e.start <= as_of and (e.end is None or as_of < e.end):
                now = e
            if e.start <= eve and (e.end is None or eve < e.end):
                was = e
        timeline = facts.timelines.get(child.id, empty)
        if was is not None and timeline.categories_on(eve):
            counts[(was.school_id, "opening")] += 1
        mine = tallies.get(child.id)
        if mine:  # counted at the school of the day, or the last one before it
            began = [e for e in child.enrolments if e.start <= as_of]
            at = now or max(began, key=lambda e: e.start, default=None)
            for t in mine:
                if at is not None:
                    counts[(at.school_id, "due." + t.kind.lower())] += t.due
                    counts[(at.school_id, "done." + t.kind.lower())] += t.done
        if now is None:
            continue
        sid = now.school_id
        counts[(sid, "enrolled")] += 1
        nt = facts.national.get(child.id)
        if nt is not None and nt.categories_on(as_of):
            counts[(sid, "national")] += 1
        cats = timeline.categories_on(as_of)
        if not cats:
            continue
        counts[(sid, "served")] += 1
        for c in cats:
            counts[(sid, "category." + c.value)] += 1
        counts[(sid, "primary." + primary_category(cats).value)] += 1
        counts[(sid, "sex." + child.sex.value)] += 1
        grade = now.grade + year - school_year_of(now.start)
        counts[(sid, f"grade.{grade}")] += 1
        counts[(sid, "stage.primary" if grade <= 6 else "stage.junior")] += 1
        counts[(sid, "boarding.yes" if child.boarding else "boarding.no")] += 1
        for area in profile_completeness(child, as_of).complete:
            counts[(sid, "clear." + area.value)] += 1
        roles = {a.role for a in facts.assignments.of_child(child.id) if a.holds_on(as_of)}
        for role in (Role.CLASS_TEACHER, Role.PROXY_PARENT, Role.STAFF_PAIR):
            if role in roles:
                counts[(sid, "has." + role.value)] += 1
    rows: dict[tuple[str, ...], Counter[str]] = {}
    for (sid, col), n in counts.items():
        township = facts.schools[sid].township
        for key in ((facts.county, township, sid), (facts.county, township), (facts.county,), ()):
            rows.setdefault(key, Counter())[col] += n
    return rows


def _agree(table: CountyTable, raw: dict[tuple[str, ...], Any]) -> None:
    for key, cells in raw.items():
        for col, n in cells.items():
            assert table.row(key).get(col, 0) == n, (key, col)


def _province(tables: Sequence[CountyTable]) -> dict[tuple[str, ...], dict[str, int]]:
    rows: dict[tuple[str, ...], dict[str, int]] = {}
    for table in tables:
        for key, cells in table.rows.items():
            acc = rows.setdefault(key, {})
            for col, n in cells.items():
                acc[col] = acc.get(col, 0) + n
    return rows


def _renamed(table: CountyTable, county: str) -> CountyTable:
    def key(k: tuple[str, ...]) -> tuple[str, ...]:
        return (county, *k[1:]) if k else k

    rows = {key(k): v for k, v in table.rows.items()}
    return CountyTable(table.stamp, rows, {key(k): v for k, v in table.names.items()})


def main(quick: bool = False) -> None:
    n = 2_000 if quick else 20_000
    repeats = 3 if quick else 5
    facts, records = build_facts(n)
    gc.collect()
    gc.freeze()
    library, table = _median(lambda: county_table(facts, as_of=AS_OF, period=YEAR), repeats)
    raw_time, raw = _median(lambda: hand_written(facts, AS_OF, YEAR), repeats)
    _agree(table, raw)
    print(
        f"ledger.county_table: {n / library:,.0f} children/s, {library * 1e6 / n:.1f} µs a child "
        f"({n:,} children, {records:,} records; {library / raw_time:.1f}x the hand-written loop)"
    )
    counties = 100
    seeds = 4 if quick else 10
    stamp: Stamp | None = table.stamp
    bases = [
        county_table(build_facts(1_000 if quick else 2_000, seed=s)[0], as_of=AS_OF, period=YEAR)
        for s in range(seeds)
    ]
    assert all(b.stamp == stamp for b in bases)
    tables = [_renamed(bases[i % seeds], f"縣{i:03d}") for i in range(counties)]
    rows = sum(len(t.rows) for t in tables)
    merged_time, province = _median(lambda: merge(*tables), repeats)
    raw_time, raw_rows = _median(lambda: _province(tables), repeats)
    assert province.rows == raw_rows
    check_time, _ = _median(province.check, repeats)
    print(
        f"ledger.merge: {counties} county tables ({rows:,} rows) into a province in "
        f"{merged_time * 1e3:.1f} ms ({merged_time / raw_time:.1f}x the hand-written loop); "
        f"check {check_time * 1e3:.1f} ms"
    )
    gc.unfreeze()
