"""The SQL backend: a county on SQLite, a province on PostgreSQL.

County (20,000 children and a school year of duty records, about 100 a child) on SQLite: the
import, then the ledger pushed down (:meth:`SQLStore.school_columns`, the county table's count
columns per school, and :meth:`SQLStore.duty_counts` over a year of monthly and weekly windows)
beside hand-written SQL ``GROUP BY`` queries over the same tables through raw :mod:`sqlite3`, in
the same run. Province (500,000 children in 25 counties) on PostgreSQL started with ``pgserver``:
import throughput, ledger time and peak Python memory (tracemalloc) of import and ledger — the
documents are generated and written a county at a time, and the ledger streams nothing but
counts. ``--quick`` uses 2,000 children, 10 records each, and a province of 4 small counties.
"""

from __future__ import annotations

import gc
import itertools
import random
import sqlite3
import statistics
import tempfile
import time
import tracemalloc
import warnings
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from leftbehind.backends.sql import SQLStore
from leftbehind.backends.sql_ledger import school_year
from leftbehind.convert import unstructure
from leftbehind.domain.eligibility import NationalPolicy, PlanPolicy
from leftbehind.domain.ledger_table import PRIMARY_ORDER
from leftbehind.testing.synthetic import synthetic_facts

AS_OF = date(2026, 9, 1)
YEAR_START = date(2025, 9, 1)
DUTIES = ("talk", "family_contact", "home_visit", "study_plan", "safety_education")


def _median(fn: Callable[[], object], repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def _county_docs(
    children: int, seed: int, prefix: str = ""
) -> tuple[list[tuple[str, dict[str, Any]]], dict[str, list[tuple[str, dict[str, Any]]]]]:
    """Schools, and per kind the (key, document) pairs of children and both timelines."""
    facts = synthetic_facts(children=children, seed=seed, as_of=AS_OF)
    schools = {s.id: s for s in facts.schools}
    plan, national = PlanPolicy(), NationalPolicy()
    school_docs = []
    for s in facts.schools:
        doc = unstructure(s)
        doc["id"] = prefix + s.id
        school_docs.append((prefix + s.id, doc))
    kinds: dict[str, list[tuple[str, dict[str, Any]]]] = {
        "child": [],
        "timeline": [],
        "national": [],
    }
    for child in facts.children:
        key = prefix + child.id
        doc = unstructure(child)
        doc["id"] = key
        for e in doc["enrolments"]:
            e["school_id"] = prefix + e["school_id"]
        kinds["child"].append((key, doc))
        for kind, policy in (("timeline", plan), ("national", national)):
            tl = unstructure(policy.timeline(child, schools))
            tl["child_id"] = key
            kinds[kind].append((key, tl))
    return school_docs, kinds


def _records(
    child_keys: list[str], per_child: int, rng: random.Random
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Duty records spread over the school year (owner, duty kind, date)."""
    span = (AS_OF - YEAR_START).days
    n = 0
    for key in child_keys:
        for _ in range(per_child):
            n += 1
            day = YEAR_START + timedelta(days=rng.randrange(span))
            yield (
                f"R{n:09d}",
                {
                    "kind": rng.choice(DUTIES),
                    "child_id": key,
                    "staff_id": f"T{rng.randrange(400):04d}",
                    "on": day.isoformat(),
                    "place": "學校",
                    "method": rng.choice(("面談", "電話", "視頻")),
                    "notes": "了解學習和生活情況，鼓勵按時完成作業。",
                },
            )


def _windows() -> dict[str, list[tuple[date, date]]]:
    weeks = [
        (YEAR_START + timedelta(weeks=i), YEAR_START + timedelta(weeks=i + 1)) for i in range(52)
    ]
    months = [(date(2025 + (m + 8) // 12, (m + 8) % 12 + 1, 1)) for m in range(13)]
    monthly = list(itertools.pairwise(months))
    semesters = [(date(2025, 9, 1), date(2026, 2, 15)), (date(2026, 2, 15), date(2026, 9, 1))]
    return {
        "talk": weeks,
        "family_contact": monthly,
        "home_visit": monthly,
        "study_plan": semesters,
        "safety_education": semesters,
    }


# ---------------------------------------------------------------------------------------------
# Hand-written SQL over the same tables (the baseline).

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


def _raw_duties(
    db: sqlite3.Connection, windows: dict[str, list[tuple[date, date]]], on: date
) -> list[Any]:
    d = on.toordinal()
    rows = [
        (duty, s.toordinal(), e.toordinal())
        for duty, spans in windows.items()
        for s, e in spans
        if s <= on
    ]
    values = ",".join("(?, ?, ?)" for _ in rows)
    params = [x for row in rows for x in row]
    return db.execute(
        f"WITH w(duty, s, e) AS (VALUES {values}),"  # noqa: S608 (placeholders only)
        " due AS (SELECT DISTINCT w.duty, w.s, w.e, sp.key FROM w JOIN lb_span sp"
        "  ON sp.kind = 'timeline' AND sp.start_day < w.e AND sp.end_day > w.s),"
        " hit AS (SELECT due.*, EXISTS (SELECT 1 FROM lb_record r WHERE r.duty = due.duty"
        "  AND r.child = due.key AND r.day >= due.s AND r.day < due.e AND r.day <= ?) AS done"
        "  FROM due)"
        " SELECT duty, count(*), sum(done), sum(CASE WHEN e <= ? AND NOT done THEN 1 ELSE 0 END)"
        " FROM hit GROUP BY duty",
        [*params, d, d],
    ).fetchall()


# ---------------------------------------------------------------------------------------------


def county(children: int, per_child: int, folder: Path) -> None:
    url = f"sqlite:///{folder}/county.db"
    schools, kinds = _county_docs(children, seed=2026)
    store = SQLStore(url)
    t = time.perf_counter()
    with store.unit_of_work() as uow:
        uow.put_many("school", schools)
        for kind, docs in kinds.items():
            uow.put_many(kind, docs)
        uow.commit()
    took = time.perf_counter() - t
    n_docs = len(schools) + sum(len(v) for v in kinds.values())
    print(
        f"sql.county.import: {children / took:,.0f} children/s "
        f"({n_docs:,} documents in {took:.2f} s, one unit of work, SQLite)"
    )
    rng = random.Random(7)
    keys = [k for k, _ in kinds["child"]]
    del kinds
    gc.collect()
    t = time.perf_counter()
    records = _records(keys, per_child, rng)
    written = 0
    while True:
        batch = [r for _, r in zip(range(200_000), records, strict=False)]
        if not batch:
            break
        with store.unit_of_work() as uow:
            uow.put_many("record", batch)
            uow.commit()
        written += len(batch)
    took = time.perf_counter() - t
    print(
        f"sql.county.records: {written / took:,.0f} records/s "
        f"({written:,} records in units of 200,000, SQLite)"
    )
    db = sqlite3.connect(f"{folder}/county.db", isolation_level=None)
    db.execute("ANALYZE")
    store.close()
    store = SQLStore(url)
    cols = store.school_columns(AS_OF)
    served = sum(c["served"] for c in cols.values())
    ours = _median(lambda: store.school_columns(AS_OF))
    raw = _median(lambda: _raw_columns(db, AS_OF))
    print(
        f"sql.county.ledger: {ours * 1000:,.1f} ms for the school columns of {len(cols)} schools, "
        f"{served:,} served of {children:,} ({ours / raw:.2f}x the hand-written GROUP BY, "
        f"{raw * 1000:,.1f} ms)"
    )
    windows = _windows()
    counts = store.duty_counts(windows, AS_OF)
    ours = _median(lambda: store.duty_counts(windows, AS_OF), 3)
    raw = _median(lambda: _raw_duties(db, windows, AS_OF), 3)
    due = sum(c.due for c in counts.values())
    print(
        f"sql.county.duties: {ours * 1000:,.1f} ms for {due:,} due occurrences over "
        f"{written:,} records ({ours / raw:.2f}x the hand-written SQL, {raw * 1000:,.1f} ms)"
    )
    size = sum(p.stat().st_size for p in folder.glob("county.db*"))
    print(f"sql.county.size: {size / 2**20:,.0f} MiB on disk for {children:,} children")
    db.close()
    store.close()


def province(counties: int, per_county: int, folder: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver

        server = pgserver.get_server(folder / "pg", cleanup_mode="stop")  # type: ignore[attr-defined]
    try:
        store = SQLStore(server.get_uri())
        tracemalloc.start()
        took = 0.0
        for k in range(counties):
            schools, kinds = _county_docs(per_county, seed=k, prefix=f"K{k:02d}")
            t = time.perf_counter()
            with store.unit_of_work() as uow:
                uow.put_many("school", schools)
                for kind, docs in kinds.items():
                    uow.put_many(kind, docs)
                uow.commit()
            took += time.perf_counter() - t
            del schools, kinds
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        total = counties * per_county
        print(
            f"sql.province.import: {total / took:,.0f} children/s ({total:,} children and their "
            f"two timelines, a county per unit of work, PostgreSQL; peak "
            f"{peak / 2**20:,.0f} MiB for one county in flight)"
        )
        with store.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
        store.school_columns(AS_OF)
        tracemalloc.start()
        ours = _median(lambda: store.school_columns(AS_OF), 3)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        cols = store.school_columns(AS_OF)
        served = sum(c["served"] for c in cols.values())
        print(
            f"sql.province.ledger: {ours:,.2f} s for the school columns of {len(cols):,} schools, "
            f"{served:,} served of {total:,} (peak {peak / 2**20:,.1f} MiB: counts only)"
        )
        store.close()
    finally:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            server.cleanup()


def main(quick: bool = False) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if quick:
            county(2_000, 10, folder)
            province(4, 1_000, folder)
        else:
            county(20_000, 100, folder)
            province(25, 20_000, folder)


if __name__ == "__main__":
    import sys

    main(quick="--quick" in sys.argv)
