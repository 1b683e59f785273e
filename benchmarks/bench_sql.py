"""The SQL backend's ledger pushdown: a county on SQLite, a province on PostgreSQL.

What this measures is **not what a county's users call**. :meth:`SQLStore.school_columns`,
:meth:`SQLStore.duty_tallies` and :meth:`SQLStore.duty_counts` are the pushdown
(:class:`~leftbehind.store.LedgerPushdown`) that the county handle uses for its county and school
tables only past :data:`leftbehind.service.ledgers.PUSHDOWN_AFTER` (a million) records, that is
for a province; a county's year (about 300,000 records) is read into the duty book instead. And
the documents are written with the store's own bulk write (``put_many`` in a unit of work), which
skips the handle's validation, reference checks and audit. For what users see through
``leftbehind.open`` (digests, the county table, ``add_records``, ``put_children``), with ratios
to baselines doing the same work, see :mod:`benchmarks.bench_handle`. This module stays the
province / pushdown benchmark.

County (20,000 children, :func:`~leftbehind.testing.synthetic.synthetic_county`: schools,
children, staff, assignments, study groups and the school year's duty records up to 30 June) on
SQLite, written as the county handle lays its documents out:

- import: children with their two timelines, staff, assignments and groups in one unit of work;
  then the records in units of 100,000 (the store's bulk write, see above). The store runs
  ``ANALYZE`` itself after such commits (:data:`leftbehind.backends.sql.ANALYZE_AFTER`); the
  bench runs none of its own;
- ledger: :meth:`SQLStore.school_columns` beside the same ``GROUP BY`` queries over the same
  projection tables restated in raw :mod:`sqlite3` (the library's query shape, so the ratio is
  the cost of going through SQLAlchemy, not a check that the query is a good one);
- duties: :meth:`SQLStore.duty_tallies` (per child and kind) and :meth:`SQLStore.duty_counts`
  (per kind) of :func:`~leftbehind.domain.duties.duty_plan` beside the library's duty rule
  restated in raw SQL in two shapes (a record looked up per occurrence, the library's shape;
  records joined to their windows, an alternative), and the domain's
  :class:`~leftbehind.domain.duties.DutyBook` in memory. The restatements are a cross-check and an
  overhead measure, not an independent baseline. The bench asserts that all of them agree over
  the whole county, so it cannot time a wrong query.

Province (25 counties of 20,000 children) on PostgreSQL started with ``pgserver``, one schema,
ids prefixed by county: each county is generated, written (the same units of work) and dropped
before the next. Import throughput is timed without tracemalloc; the first county is written
with tracemalloc on, to measure the peak Python memory of writing one county (above the
documents held), and is left out of the rate. Then the ledger over the whole province: school
columns and duty counts, with their peak memory (counts only: nothing is loaded); the store's
own :meth:`SQLStore.analyze` (which its commits already ran) is timed for information. Then
what users call: in a fresh process, ``leftbehind.open`` and the province's county table (read
a page of children at a time past a million records) and one rural school's table, timed beside
the store's own two queries, their totals checked equal to those queries'; and its peak RSS
beside the same on a fifth of the province (goal ≤ 1.25×: memory holds a page, not the
province). ``LEFTBEHIND_BENCH_COUNTIES`` sets the number of counties. ``--quick``: 1,500
children, and 3 counties of 1,000 (read a page at a time all the same).
"""

from __future__ import annotations

import gc
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

from leftbehind.backends.sql import SQLStore
from leftbehind.backends.sql_ledger import school_year
from leftbehind.backends.sql_schema import OPEN_END
from leftbehind.convert import unstructure
from leftbehind.domain.duties import DEFAULT_KINDS, DutyBook, DutyPlan, duty_plan
from leftbehind.domain.eligibility import NationalPolicy, PlanPolicy
from leftbehind.domain.ledger_table import PRIMARY_ORDER
from leftbehind.service.ledgers import PUSHDOWN_AFTER
from leftbehind.store import Document
from leftbehind.testing.synthetic import SyntheticCounty, synthetic_county

T = TypeVar("T")
AS_OF = date(2026, 6, 30)
RECORD_UNIT = 100_000
Docs = dict[str, list[tuple[str, Document]]]


def _median(fn: Callable[[], T], repeats: int) -> tuple[float, T]:
    times = []
    result: T | None = None
    for _ in range(repeats):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    assert result is not None
    return statistics.median(times), result


# ---------------------------------------------------------------------------------------------
# Documents, laid out as leftbehind.County writes them.


def _prefixer(prefix: str) -> Callable[[str, Document], Document]:
    """Prefix every id a document holds (a province holds counties whose ids would clash)."""

    def p(value: Any) -> Any:
        return prefix + value if isinstance(value, str) else value

    def fix(kind: str, doc: Document) -> Document:
        if not prefix:
            return doc
        for name in ("id", "child_id", "staff_id", "school_id", "guide_staff_id"):
            if name in doc:
                doc[name] = p(doc[name])
        enrolments, members = doc.get("enrolments"), doc.get("child_ids")
        if kind == "child" and isinstance(enrolments, list):
            for e in enrolments:
                assert isinstance(e, dict)
                e["school_id"] = p(e["school_id"])
        if kind == "group" and isinstance(members, list):
            doc["child_ids"] = [p(c) for c in members]
        return doc

    return fix


def _documents(data: SyntheticCounty, prefix: str = "") -> Docs:
    """Per kind, the (key, document) pairs a county handle would store for ``data``."""
    fix = _prefixer(prefix)
    schools = {s.id: s for s in data.facts.schools}
    plan, national = PlanPolicy(), NationalPolicy()
    out: Docs = {k: [] for k in ("school", "child", "timeline", "national", "staff")}
    for s in data.facts.schools:
        out["school"].append((prefix + s.id, fix("school", unstructure(s))))
    for c in data.facts.children:
        key = prefix + c.id
        out["child"].append((key, fix("child", unstructure(c))))
        out["timeline"].append((key, fix("timeline", unstructure(plan.timeline(c, schools)))))
        out["national"].append((key, fix("national", unstructure(national.timeline(c, schools)))))
    for kind, items in (("staff", data.staff), ("assignment", data.assignments)):
        out[kind] = [(prefix + x.id, fix(kind, unstructure(x))) for x in items]
    out["group"] = [(prefix + g.id, fix("group", unstructure(g))) for g in data.groups]
    return out


def _records(data: SyntheticCounty, prefix: str = "") -> Iterator[list[tuple[str, Document]]]:
    """The county's records in units of :data:`RECORD_UNIT`."""
    fix = _prefixer(prefix)
    for i in range(0, len(data.records), RECORD_UNIT):
        yield [
            (prefix + r.id, fix("record", unstructure(r)))
            for r in data.records[i : i + RECORD_UNIT]
        ]


def _write(
    store: SQLStore, docs: Docs, data: SyntheticCounty, prefix: str = ""
) -> tuple[float, float]:
    """Write a county: its documents in one unit of work, its records in units; the seconds
    each took (records turned into documents outside the timing)."""
    t = time.perf_counter()
    with store.unit_of_work() as uow:
        for kind, items in docs.items():
            uow.put_many(kind, items)
        uow.commit()
    took_docs = time.perf_counter() - t
    took_records = 0.0
    for unit in _records(data, prefix):
        t = time.perf_counter()
        with store.unit_of_work() as uow:
            uow.put_many("record", unit)
            uow.commit()
        took_records += time.perf_counter() - t
    return took_docs, took_records


# ---------------------------------------------------------------------------------------------
# The library's queries restated in raw SQL over the same tables: a cross-check of the
# results and a measure of SQLAlchemy's overhead, not an independent baseline.

_RANK = " ".join(f"WHEN '{c.value}' THEN {i}" for i, c in enumerate(PRIMARY_ORDER))


def _raw_columns(db: sqlite3.Connection, on: date) -> list[list[Any]]:
    d, sy = on.toordinal(), school_year(on)
    enrolled = db.execute(
        "SELECT school, count(*) FROM lb_enrolment WHERE start_day <= ? AND end_day > ? "
        "GROUP BY school",
        (d, d),
    ).fetchall()
    served = db.execute(
        f"SELECT school, grade, sex, boarding, p, count(*) FROM ("  # noqa: S608 (constants)
        f" SELECT e.school, e.grade + (? - e.school_year) AS grade, e.sex, e.boarding,"
        f"  min(CASE s.category {_RANK} END) AS p"
        f" FROM lb_span s JOIN lb_enrolment e ON e.key = s.key AND e.start_day <= ?"
        f"  AND e.end_day > ?"
        f" WHERE s.kind = 'timeline' AND s.start_day <= ? AND s.end_day > ?"
        f" GROUP BY s.key, e.school, 2, e.sex, e.boarding) GROUP BY 1, 2, 3, 4, 5",
        (sy, d, d, d, d),
    ).fetchall()
    categories = db.execute(
        "SELECT e.school, s.category, count(*) FROM lb_span s JOIN lb_enrolment e"
        " ON e.key = s.key AND e.start_day <= ? AND e.end_day > ?"
        " WHERE s.kind = 'timeline' AND s.start_day <= ? AND s.end_day > ? GROUP BY 1, 2",
        (d, d, d, d),
    ).fetchall()
    national = db.execute(
        "SELECT e.school, count(DISTINCT s.key) FROM lb_span s JOIN lb_enrolment e"
        " ON e.key = s.key AND e.start_day <= ? AND e.end_day > ?"
        " WHERE s.kind = 'national' AND s.start_day <= ? AND s.end_day > ? GROUP BY 1",
        (d, d, d, d),
    ).fetchall()
    return [enrolled, served, categories, national]


def _values(rows: Sequence[tuple[object, ...]]) -> tuple[str, list[object]]:
    width = len(rows[0])
    one = "(" + ", ".join("?" for _ in range(width)) + ")"
    return ", ".join(one for _ in rows), [x for row in rows for x in row]


#: How the restated duty query tells whether an occurrence was done: ``lookup`` looks for a
#: record of one of its owners inside its window (an index search per occurrence); ``join`` puts
#: every record in its window first (one pass over the records) and joins the occurrences to them.
_DONE = {
    "lookup": (
        " occ AS (SELECT o.child, o.duty, o.we, max(EXISTS (SELECT 1 FROM lb_record x"
        "   WHERE x.duty = o.duty AND x.child = o.child AND x.owner = o.staff"
        "   AND x.day >= o.ws AND x.day < o.we AND x.day <= ?)) AS done"
        "  FROM owed o GROUP BY o.child, o.duty, o.ws, o.we, o.owner)"
    ),
    "join": (
        " recorded AS (SELECT DISTINCT x.child, x.duty, x.owner AS staff, w.ws"
        "  FROM lb_record x JOIN (SELECT DISTINCT duty, ws, we FROM w) w"
        "   ON w.duty = x.duty AND x.day >= w.ws AND x.day < w.we"
        "  WHERE x.day <= ?),"
        " occ AS (SELECT o.child, o.duty, o.we, max(k.ws IS NOT NULL) AS done"
        "  FROM owed o LEFT JOIN recorded k ON k.child = o.child AND k.duty = o.duty"
        "   AND k.staff = o.staff AND k.ws = o.ws"
        "  GROUP BY o.child, o.duty, o.ws, o.we, o.owner)"
    ),
}


def _raw_duties(
    db: sqlite3.Connection, plan: DutyPlan, on: date, per_child: bool, shape: str = "lookup"
) -> list[Any]:
    """The duty rule in one statement: a child's served days meet an owner's days (``holds``),
    both as they stood on the day (begun by it, an end after it not yet known);
    those meet a run of school days of a window (``owed``: one occurrence per child and window,
    or per owner too); a record of one of its owners inside the window makes it done (see
    :data:`_DONE` for the two ways). Per (child, kind), or per kind."""
    d = on.toordinal()
    windows = [w for w in plan.windows if w[1] <= d and w[3] < w[4]]
    roles = [(r.code, role, int(r.per_owner)) for r in plan.rules for role in sorted(r.roles)]
    w_values, w_params = _values(windows)
    r_values, r_params = _values(roles)
    head = "child, duty" if per_child else "duty"
    return db.execute(
        f"WITH w(duty, ws, we, rs, re) AS (VALUES {w_values}),"  # noqa: S608 (placeholders)
        f" r(duty, role, per_owner) AS (VALUES {r_values}),"
        # As they stood on the day: begun by it, an end after it not yet known.
        " stood AS (SELECT s.key, s.start_day,"
        "   CASE WHEN s.end_day > ? THEN ? ELSE s.end_day END AS end_day"
        "  FROM lb_span s WHERE s.kind = 'timeline' AND s.start_day < s.end_day"
        "   AND s.start_day <= ?),"
        " given AS (SELECT a.child, a.staff, a.role, a.start_day,"
        "   CASE WHEN a.end_day > ? THEN ? ELSE a.end_day END AS end_day"
        "  FROM lb_assignment a WHERE a.start_day < a.end_day AND a.start_day <= ?),"
        " holds AS (SELECT s.key AS child, a.staff, r.duty, r.per_owner,"
        "   max(s.start_day, a.start_day) AS s, min(s.end_day, a.end_day) AS e"
        "  FROM stood s JOIN given a ON a.child = s.key"
        "   AND a.start_day < s.end_day AND a.end_day > s.start_day"
        "  JOIN r ON r.role = a.role),"
        " owed AS (SELECT DISTINCT h.child, h.duty, w.ws, w.we, h.staff,"
        "   CASE WHEN h.per_owner THEN h.staff ELSE '' END AS owner"
        "  FROM holds h JOIN w ON w.duty = h.duty AND w.rs < h.e AND w.re > h.s),"
        f"{_DONE[shape]}"
        f" SELECT {head}, count(*), sum(done), sum(we <= ? AND NOT done) FROM occ"
        f" GROUP BY {head} ORDER BY {head}",
        [*w_params, *r_params, d, OPEN_END, d, d, OPEN_END, d, d, d],
    ).fetchall()


# ---------------------------------------------------------------------------------------------
# The county on SQLite.


def _check_duties(store: SQLStore, db: sqlite3.Connection, data: SyntheticCounty) -> float:
    """Assert that the pushdown, its raw-SQL restatements and the DutyBook agree; the book's
    time."""
    plan = duty_plan(data.calendar, DEFAULT_KINDS, data.period)
    t = time.perf_counter()
    schools = {s.id: s for s in data.facts.schools}
    policy = PlanPolicy()
    timelines = {c.id: policy.timeline(c, schools) for c in data.facts.children}
    every = (*data.assignments, *(a for g in data.groups for a in g.assignments()))
    book = DutyBook(data.calendar, DEFAULT_KINDS, timelines, every, data.records)
    by_kind = book.compliance(data.period, AS_OF).by_kind
    took = time.perf_counter() - t
    want = {k: (c.due, c.done, c.overdue) for k, c in by_kind.items() if c.due}
    counts = store.duty_counts(plan, AS_OF)
    got = {k: (c.due, c.done, c.overdue) for k, c in counts.items() if c.due}
    assert got == want, f"duty_counts {got} != DutyBook {want}"
    tallies = [
        (t.child_id, t.kind, t.due, t.done, t.overdue) for t in store.duty_tallies(plan, AS_OF)
    ]
    for shape in _DONE:
        raw = {
            k: (n, done, late) for k, n, done, late in _raw_duties(db, plan, AS_OF, False, shape)
        }
        assert raw == want, f"restated SQL ({shape}) {raw} != DutyBook {want}"
        assert tallies == [tuple(r) for r in _raw_duties(db, plan, AS_OF, True, shape)]
    return took


def county(children: int, folder: Path) -> None:
    data = synthetic_county(children=children, as_of=AS_OF)
    docs = _documents(data)
    path = folder / "county.db"
    store = SQLStore(f"sqlite:///{path}")
    took_docs, took_records = _write(store, docs, data)
    n_docs = sum(len(v) for v in docs.values())
    n_records = len(data.records)
    served = len({a.child_id for a in data.assignments})
    print(
        f"sql.county.import: {children / took_docs:,.0f} children/s ({n_docs:,} documents: "
        f"children, two timelines each, staff, assignments, groups; one unit of work, SQLite; the "
        f"store's bulk write: no validation, reference checks or audit, not the handle)"
    )
    print(
        f"sql.county.records: {n_records / took_records:,.0f} records/s ({n_records:,} records, "
        f"{n_records / children:.1f} a child, {n_records / served:.0f} a served child; "
        f"units of {RECORD_UNIT:,}; the store's bulk write, not add_records)"
    )
    del docs
    gc.collect()
    db = sqlite3.connect(path, isolation_level=None)  # analysed by the store's own commits
    store.close()
    store = SQLStore(f"sqlite:///{path}")
    repeats = 5 if children >= 10_000 else 3

    cols = store.school_columns(AS_OF)
    raw_cols = _raw_columns(db, AS_OF)
    assert sum(c["enrolled"] for c in cols.values()) == sum(n for _, n in raw_cols[0])
    assert sum(c["served"] for c in cols.values()) == sum(r[-1] for r in raw_cols[1])
    ours, _ = _median(lambda: store.school_columns(AS_OF), repeats)
    raw, _ = _median(lambda: _raw_columns(db, AS_OF), repeats)
    n_served = sum(c["served"] for c in cols.values())
    print(
        f"sql.county.ledger: {ours * 1000:,.1f} ms for the school columns of {len(cols)} schools, "
        f"{n_served:,} served of {children:,} ({ours / raw:.2f}x the same GROUP BY restated in "
        f"raw sqlite3, {raw * 1000:,.1f} ms; the handle uses this only past {PUSHDOWN_AFTER:,} "
        f"records)"
    )

    book_s = _check_duties(store, db, data)
    plan = duty_plan(data.calendar, DEFAULT_KINDS, data.period)
    ours, tallies = _median(lambda: store.duty_tallies(plan, AS_OF), repeats)
    raw, _ = _median(lambda: _raw_duties(db, plan, AS_OF, True), repeats)
    joined, _ = _median(lambda: _raw_duties(db, plan, AS_OF, True, "join"), 3)
    due = sum(t.due for t in tallies)
    print(
        f"sql.county.duties: duty_tallies {ours * 1000:,.0f} ms for {len(tallies):,} "
        f"(child, kind) rows, {due:,} occurrences due over {n_records:,} records "
        f"({ours / raw:.2f}x the library's rule restated in raw SQL, {raw * 1000:,.0f} ms, a "
        f"record looked up per occurrence; {ours / joined:.2f}x, {joined * 1000:,.0f} ms, "
        f"restated with records joined to windows; all equal; the handle uses this only past "
        f"{PUSHDOWN_AFTER:,} records)"
    )
    ours, _ = _median(lambda: store.duty_counts(plan, AS_OF), repeats)
    raw, _ = _median(lambda: _raw_duties(db, plan, AS_OF, False), repeats)
    print(
        f"sql.county.duty_counts: {ours * 1000:,.0f} ms per kind ({ours / raw:.2f}x the "
        f"rule restated in raw SQL, {raw * 1000:,.0f} ms; equal to the DutyBook's compliance, "
        f"which takes {book_s * 1000:,.0f} ms in memory with the facts loaded)"
    )
    size = sum(p.stat().st_size for p in folder.glob("county.db*"))
    print(f"sql.county.size: {size / 2**20:,.0f} MiB on disk for {children:,} children")
    db.close()
    store.close()


# ---------------------------------------------------------------------------------------------
# The province on PostgreSQL.


def _county_data(k: int, children: int) -> tuple[SyntheticCounty, Docs, str]:
    prefix = f"K{k:02d}"
    data = synthetic_county(seed=k, children=children, as_of=AS_OF)
    return data, _documents(data, prefix), prefix


def _peak(fn: Callable[[], T]) -> tuple[float, float, T]:
    """Seconds and peak traced memory (MiB above what was held before) of ``fn()``."""
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    t = time.perf_counter()
    result = fn()
    took = time.perf_counter() - t
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    return took, peak / 2**20, result


_HANDLE = """
import json, resource, sys, time
from datetime import date
import leftbehind
from leftbehind.service import ledgers
day = date.fromisoformat(sys.argv[2])
if sys.argv[4] == "paged":  # a small province read a page at a time all the same
    ledgers.PUSHDOWN_AFTER = 0
actor = leftbehind.Actor.system("benchmark")
t = time.perf_counter()
with leftbehind.open(sys.argv[1], actor=actor, today=lambda: day) as county:
    table = county.county_table(day)
    took = time.perf_counter() - t
    t = time.perf_counter()
    school = county.school_table(sys.argv[3], day)
    school_took = time.perf_counter() - t
print(json.dumps({
    "took": took,
    "school_took": school_took,
    "school_served": school.counts.get("served", 0),
    "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "served": table.total.get("served", 0),
    "due": sum(v for k, v in table.total.items() if k.startswith("due.")),
    "page": ledgers.PAGE,
}))
"""


def _through_handle(uri: str, school: str, paged: bool = False) -> dict[str, Any]:
    """The county table and one school's table through ``leftbehind.open`` in a fresh process
    (started through ``/bin/sh``, so its peak RSS is its own); ``paged`` reads a small province
    a page at a time as a big one is."""
    mode = "paged" if paged else "as-is"
    command = [sys.executable, "-c", _HANDLE, uri, AS_OF.isoformat(), school, mode]
    done = subprocess.run(
        ["/bin/sh", "-c", '"$@"; exit $?', "sh", *command],
        capture_output=True,
        text=True,
        check=True,
    )
    found: dict[str, Any] = json.loads(done.stdout)
    return found


def province(counties: int, per_county: int, folder: Path, *, quick: bool = False) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver

        server = pgserver.get_server(folder / "pg", cleanup_mode="stop")  # type: ignore[attr-defined]
    try:
        store = SQLStore(server.get_uri())
        # County 0 with tracemalloc on: the peak memory of writing one county, not timed.
        data, docs, prefix = _county_data(0, per_county)
        gc.collect()
        tracemalloc.start()
        held = tracemalloc.get_traced_memory()[0]
        _write(store, docs, data, prefix)
        peak = (tracemalloc.get_traced_memory()[1] - held) / 2**20
        tracemalloc.stop()
        plan = duty_plan(data.calendar, DEFAULT_KINDS, data.period)
        n_records = len(data.records)
        school = prefix + next(s.id for s in data.facts.schools if s.rural)
        del data, docs
        took_docs = took_records = 0.0
        timed_records = 0
        early: tuple[int, dict[str, Any]] | None = None
        for k in range(1, counties):
            if k == max(1, counties // 5):  # the handle on a fifth of the province, for the memory
                # read a page at a time as the whole province is, whatever its records
                early = (k * per_county, _through_handle(server.get_uri(), school, True))
            data, docs, prefix = _county_data(k, per_county)
            gc.collect()
            d, r = _write(store, docs, data, prefix)
            took_docs, took_records = took_docs + d, took_records + r
            n_records += len(data.records)
            timed_records += len(data.records)
            del data, docs
        total = counties * per_county
        timed = (counties - 1) * per_county
        print(
            f"sql.province.import: {timed / took_docs:,.0f} children/s and "
            f"{timed_records / took_records:,.0f} records/s "
            f"(the store's bulk write, not the handle; counties of {per_county:,}, a county's "
            f"documents per unit of work, records in "
            f"units of {RECORD_UNIT:,}, PostgreSQL; {total:,} children, {n_records:,} records in "
            f"all; peak {peak:,.0f} MiB of Python memory writing one county, above its "
            f"documents)"
        )
        t = time.perf_counter()
        store.analyze()  # the library's own, which its bulk commits already ran
        analyze = time.perf_counter() - t
        store.close()
        store = SQLStore(server.get_uri())
        cold, peak, cols = _peak(lambda: store.school_columns(AS_OF))
        warm, _ = _median(lambda: store.school_columns(AS_OF), 3)
        served = sum(c["served"] for c in cols.values())
        enrolled = sum(c["enrolled"] for c in cols.values())
        print(
            f"sql.province.ledger: {warm:,.2f} s for the school columns of {len(cols):,} schools, "
            f"{served:,} served of {enrolled:,} enrolled (the first call after the import "
            f"{cold:,.2f} s; peak {peak:,.1f} MiB: counts only; the store's analyze() took "
            f"{analyze:,.1f} s)"
        )
        took, peak, counts = _peak(lambda: store.duty_counts(plan, AS_OF))
        due = sum(c.due for c in counts.values())
        print(
            f"sql.province.duties: {took:,.2f} s for the duty counts per kind (one call), "
            f"{due:,} occurrences due over {n_records:,} records (peak {peak:,.1f} MiB)"
        )
        store.close()
        pushed = (served, due, warm + took)
        _province_handle(server.get_uri(), school, early, total, pushed, quick)

    finally:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            server.cleanup()


def _province_handle(
    uri: str,
    school: str,
    early: tuple[int, dict[str, Any]] | None,
    total: int,
    pushed: tuple[int, int, float],
    paged: bool,
) -> None:
    """The province's tables through the handle: the county table's time beside the store's
    own two queries of its columns and duties, and the peak RSS beside that of a fifth of the
    province (memory holds a page of children, not the province)."""
    found = _through_handle(uri, school, paged)
    served, due, queries = pushed
    print(
        f"sql.province.handle: county_table through leftbehind.open on {total:,} children "
        f"{found['took']:,.1f} s / the store's school_columns + duty_counts alone "
        f"{queries:,.1f} s = {found['took'] / queries:.2f}x (pages of {found['page']:,} "
        f"children; the table's totals equal the store's); one school's table "
        f"({found['school_served']:,} served) {found['school_took'] * 1000:,.0f} ms",
        flush=True,
    )
    assert found["served"] == served, f"the handle's served {found['served']:,} is not {served:,}"
    assert found["due"] == due, f"the handle's duties due {found['due']:,} are not {due:,}"
    if early is not None:
        size, small = early
        ratio = found["rss"] / small["rss"]
        met = "met" if ratio <= 1.25 else "MISSED"
        print(
            f"sql.province.handle.rss: peak RSS {found['rss']:,.0f} MiB on {total:,} children / "
            f"{small['rss']:,.0f} MiB on {size:,} = {ratio:.2f}x (goal ≤ 1.25x: {met}; each in "
            f"a fresh process opening the store and computing both tables)",
            flush=True,
        )


def _sizes(quick: bool, env: Mapping[str, str]) -> tuple[int, int, int]:
    if quick:
        return 1_500, 3, 1_000
    return 20_000, int(env.get("LEFTBEHIND_BENCH_COUNTIES", "25")), 20_000


def main(quick: bool = False) -> None:
    children, counties, per_county = _sizes(quick, os.environ)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        county(children, folder)
        province(counties, per_county, folder, quick=quick)


if __name__ == "__main__":
    import sys

    main(quick="--quick" in sys.argv)
