"""Duties: the status of every occurrence of a school year for a county, beside a raw loop.

A synthetic county of 20,000 served children (``quick``: 1,000) over the school year from
1 September 2025, each with a class teacher, two subject teachers, a proxy parent and a staff
pair, and about 100 records per child (about 2 million), some by people not assigned. A child in
ten enters or leaves during the year, a teacher in twenty is replaced in mid-year.

- ``duties.compliance``: :meth:`DutyBook.compliance` (counts per kind, owner and school) for the
  year as of 15 March, from a freshly built book (grouping the records included), beside a
  hand-written loop over the same records kept as plain tuples (grouped the same way) that
  counts the same statuses per kind, specialised to the shapes of this data. Totals must agree.
- ``duties.occurrences``: :meth:`DutyBook.occurrences` consumed one by one (never kept).
- peak memory of the compliance run (tracemalloc, a separate run), beside the size of the
  records themselves.
"""

from __future__ import annotations

import gc
import random
import statistics
import time
import tracemalloc
from bisect import bisect_left
from collections.abc import Callable
from datetime import date, timedelta

from leftbehind.domain.calendar import SchoolCalendar, default_calendar
from leftbehind.domain.dates import Interval
from leftbehind.domain.duties import DEFAULT_KINDS, DutyBook, Method, Record, Status
from leftbehind.domain.eligibility import Category, Span, Timeline
from leftbehind.domain.people import Assignment, Role, Staff

YEAR = Interval(date(2025, 9, 1), date(2026, 9, 1))
AS_OF = date(2026, 3, 15)
HOLIDAYS = frozenset(
    [date(2025, 10, d) for d in range(1, 9)]
    + [date(2026, 1, 1), date(2026, 4, 6), date(2026, 5, 1), date(2026, 5, 4), date(2026, 5, 5)]
)
WORKDAYS = frozenset({date(2025, 9, 28), date(2025, 10, 11), date(2026, 5, 9)})

_ROLES = {
    "TALK": (Role.CLASS_TEACHER, Role.SUBJECT_TEACHER),
    "FAMILY_CONTACT": (Role.CLASS_TEACHER,),
    "PARENT_REPORT": (Role.CLASS_TEACHER,),
    "FESTIVAL": (Role.CLASS_TEACHER, Role.STAFF_PAIR),
    "HOME_VISIT": (Role.PROXY_PARENT,),
    "STUDY_PLAN": (Role.SUBJECT_TEACHER,),
    "SAFETY_EDUCATION": (Role.CLASS_TEACHER,),
    "PARENT_LECTURE": (Role.CLASS_TEACHER,),
}


def synthetic(
    n: int, seed: int = 2025
) -> tuple[SchoolCalendar, dict[str, Timeline], list[Assignment], list[Record], list[Staff]]:
    rng = random.Random(seed)
    cal = default_calendar([2025, 2026], holidays=HOLIDAYS, workdays=WORKDAYS)
    timelines: dict[str, Timeline] = {}
    assignments: list[Assignment] = []
    staff: list[Staff] = []
    records: list[Record] = []
    day = [YEAR.start + timedelta(days=i) for i in range(400)]
    n_classes = max(1, n // 40)
    for k in range(n_classes):
        school = f"S{k // 12:03d}"
        staff.extend(Staff(f"T{k}-{j}", "", school) for j in range(6))
    serial = 0
    for i in range(n):
        cid = f"C{i:06d}"
        k = i % n_classes
        start, end = date(2023, 9, 1), None
        if rng.random() < 0.1:
            if rng.random() < 0.5:
                start = day[rng.randrange(300)]
            else:
                end = day[rng.randrange(30, 365)]
        timelines[cid] = Timeline(cid, "plan", "1", [Span(start, end, Category.LEFT_BEHIND_BOTH)])
        people = [
            (f"T{k}-0", Role.CLASS_TEACHER),
            (f"T{k}-1", Role.SUBJECT_TEACHER),
            (f"T{k}-2", Role.SUBJECT_TEACHER),
            (f"T{k}-3", Role.PROXY_PARENT),
            (f"T{k}-4", Role.STAFF_PAIR),
        ]
        for j, (who, role) in enumerate(people):
            if k % 20 == 0 and j == 1:  # a subject teacher replaced on 1 March
                assignments.append(Assignment(f"{cid}-{j}", who, cid, role, YEAR.start, day[181]))
                assignments.append(Assignment(f"{cid}-{j}b", f"T{k}-5", cid, role, day[181]))
            else:
                assignments.append(Assignment(f"{cid}-{j}", who, cid, role, date(2025, 8, 25)))
        # about 100 records: most weekly talks, monthly contacts and visits, the rest
        for w in range(0, 364, 7):
            for teacher, _ in people[:3]:
                if rng.random() < 0.6:
                    serial += 1
                    on = day[w + rng.randrange(5)]
                    records.append(Record(f"R{serial}", "TALK", cid, teacher, on, Method.IN_PERSON))
        for m in range(0, 365, 30):
            for code, who in (("FAMILY_CONTACT", people[0][0]), ("HOME_VISIT", people[3][0])):
                if rng.random() < 0.9:
                    serial += 1
                    on = day[m + rng.randrange(28)]
                    author = who if rng.random() < 0.98 else "X-nobody"
                    records.append(Record(f"R{serial}", code, cid, author, on, Method.PHONE))
        for code in ("PARENT_REPORT", "SAFETY_EDUCATION", "PARENT_LECTURE", "FESTIVAL"):
            serial += 1
            records.append(Record(f"R{serial}", code, cid, people[0][0], day[rng.randrange(365)]))
    rng.shuffle(records)
    return cal, timelines, assignments, records, staff


# ---------------------------------------------------------------------------------------------
# The raw loop: the same rules, written out for the shapes of this data.

_Rec = tuple[str, str, str, int]  # child, kind, staff, day ordinal
_FOREVER = date.max.toordinal() + 1


def raw_counts(
    cal: SchoolCalendar,
    served: dict[str, tuple[int, int]],
    owners: dict[str, list[tuple[str, Role, int, int]]],
    records: list[_Rec],
) -> dict[str, list[int]]:
    """Counts [open, done, overdue, upcoming] per kind for YEAR as of AS_OF."""
    assert YEAR.end is not None
    weeks = [(w.start.toordinal(), w.end.toordinal()) for w in cal.school_weeks(YEAR) if w.end]
    months = [(m.start.toordinal(), m.end.toordinal()) for m in cal.months(YEAR) if m.end]
    tmonths = [(m.start.toordinal(), m.end.toordinal()) for m in cal.term_months(YEAR) if m.end]
    terms = [(s.start.toordinal(), s.end.toordinal()) for s in cal.semesters_in(YEAR)]
    years = [(date(y, 1, 1).toordinal(), date(y + 1, 1, 1).toordinal()) for y in (2025, 2026)]
    windows = {
        "TALK": (weeks, True, True),
        "FAMILY_CONTACT": (tmonths, True, False),
        "PARENT_REPORT": (terms, True, False),
        "FESTIVAL": (years, False, False),
        "HOME_VISIT": (months, False, False),
        "STUDY_PLAN": (terms, True, True),
        "SAFETY_EDUCATION": (terms, True, False),
        "PARENT_LECTURE": (terms, True, False),
    }
    school_days = [
        o
        for s in cal.semesters
        for o in range(s.start.toordinal(), s.end.toordinal())
        if cal.is_school_day(date.fromordinal(o))
    ]
    grouped: dict[tuple[str, str], list[tuple[int, str]]] = {}
    for child, kind, who, on in records:
        grouped.setdefault((child, kind), []).append((on, who))
    for bucket in grouped.values():
        bucket.sort()
    today = AS_OF.toordinal()
    counts = {k: [0, 0, 0, 0] for k in windows}
    for child, (cs, ce) in served.items():
        mine = owners[child]
        for kind, (wins, term, per_owner) in windows.items():
            roles = _ROLES[kind]
            holders = [(who, s, e) for who, role, s, e in mine if role in roles]
            groups = [[h] for h in holders] if per_owner else [holders]
            recs = grouped.get((child, kind), [])
            days = [r[0] for r in recs]
            row = counts[kind]
            for group in groups:
                for ws, we in wins:
                    ids = set()
                    for holder, s, e in group:
                        lo, hi = max(cs, s, ws), min(ce, e, we)
                        if lo < hi:
                            i = bisect_left(school_days, lo)
                            if not term or (i < len(school_days) and school_days[i] < hi):
                                ids.add(holder)
                    if not ids:
                        continue
                    j = bisect_left(days, ws)
                    done = False
                    while j < len(days) and days[j] < we and days[j] <= today:
                        if recs[j][1] in ids:
                            done = True
                            break
                        j += 1
                    if done:
                        row[1] += 1
                    elif we <= today:
                        row[2] += 1
                    elif ws <= today:
                        row[0] += 1
                    else:
                        row[3] += 1
    return counts


def _median_time(fn: Callable[[], object], repeats: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        gc.collect()
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), result


def main(quick: bool = False) -> None:
    n = 1_000 if quick else 20_000
    repeats = 3
    cal, timelines, assignments, records, staff = synthetic(n)
    served = {
        cid: (
            t.spans[0].start.toordinal(),
            _FOREVER if t.spans[0].end is None else t.spans[0].end.toordinal(),
        )
        for cid, t in timelines.items()
    }
    owners: dict[str, list[tuple[str, Role, int, int]]] = {}
    for a in assignments:
        end = _FOREVER if a.end is None else a.end.toordinal()
        owners.setdefault(a.child_id, []).append((a.staff_id, a.role, a.start.toordinal(), end))
    raw_records: list[_Rec] = [(r.child_id, r.kind, r.staff_id, r.on.toordinal()) for r in records]
    gc.freeze()

    def library() -> object:
        book = DutyBook(cal, DEFAULT_KINDS, timelines, assignments, records, staff=staff)
        return book.compliance(YEAR, AS_OF)

    def raw() -> object:
        return raw_counts(cal, served, owners, raw_records)

    t_lib, got = _median_time(library, repeats)
    t_raw, expected = _median_time(raw, repeats)
    assert isinstance(expected, dict)
    compliance = got
    for code, row in expected.items():
        counts = compliance.by_kind[code]  # type: ignore[attr-defined]
        assert (counts.open, counts.done, counts.overdue, counts.upcoming) == tuple(row), code
    total = compliance.total  # type: ignore[attr-defined]
    occurrences = total.due + total.upcoming
    print(
        f"duties.compliance: {n:,} children, {len(records):,} records, {occurrences:,} "
        f"occurrences in {t_lib:.2f} s = {occurrences / t_lib:,.0f} occurrences/s "
        f"({t_lib / t_raw:.2f}x the raw loop, {t_raw:.2f} s)"
    )

    book = DutyBook(cal, DEFAULT_KINDS, timelines, assignments, records, staff=staff)

    def consume() -> object:
        k = 0
        for o in book.occurrences(YEAR, AS_OF):
            k += o.status is Status.DONE
        return k

    t_occ, _ = _median_time(consume, 1)
    print(
        f"duties.occurrences: {occurrences / t_occ:,.0f} Occurrence values/s, consumed lazily "
        f"({t_occ / t_raw:.2f}x the raw loop)"
    )

    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    DutyBook(cal, DEFAULT_KINDS, timelines, assignments, records, staff=staff).compliance(
        YEAR, AS_OF
    )
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    record_bytes = sum(r.__sizeof__() for r in records[:1000]) / 1000 * len(records)
    print(
        f"duties.memory: peak {peak / 2**20:,.1f} MiB during compliance (the record objects "
        f"alone hold about {record_bytes / 2**20:,.0f} MiB; occurrences are never kept)"
    )
    gc.unfreeze()


if __name__ == "__main__":
    main()
