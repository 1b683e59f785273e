"""Sign-off through the county handle: what the lock costs a week's records, and what a
submission costs beside the school table it keeps.

The county is :func:`~leftbehind.testing.synthetic.synthetic_county` (seed 2026, 20,000
children, as of 30 June 2026; ``--quick``: 300 children), written through ``leftbehind.open``
into two SQLite stores alike, its records up to 19 June. In the second, every school's months
September to May are locked: one school's September submitted by its head and approved by its
township and the county through the handle, its sign-off written for the others (a submission
costs about a second at this size); June stays open.

Measured, each on a fresh handle:

1. ``week``: the records of 22–26 June through ``County.add_records`` into the locked store,
   beside the same call into the store without a sign-off (the baseline: the same work, no
   lock to check); every record checked against its school's locked months;
2. ``locked``: one record dated in May (a locked month) refused, and the same record made as a
   correction: both timed, the refusal writing nothing;
3. ``submit``: the busiest school's June submitted by its head, beside ``County.school_table``
   of the same school and period through a head's handle (the table a submission keeps; the
   submission also runs the data-quality rules over the school and writes the sign-off).
"""

from __future__ import annotations

import tempfile
import time
from datetime import date
from pathlib import Path
from typing import TypeVar

import leftbehind
from benchmarks.timing import duration, timed
from leftbehind import Actor, kinds
from leftbehind.domain.dates import Interval
from leftbehind.domain.duties import Record
from leftbehind.domain.signoff import Period, signoff_key
from leftbehind.errors import PeriodLockedError
from leftbehind.testing.synthetic import SyntheticCounty, synthetic_county

T = TypeVar("T")
AS_OF = date(2026, 6, 30)
WEEK = (date(2026, 6, 22), date(2026, 6, 26))
MONTHS = [Period.parse(k) for k in ("2025-09", "2025-10", "2025-11", "2025-12", "2026-01")] + [
    Period.parse(k) for k in ("2026-02", "2026-03", "2026-04", "2026-05")
]
SYSTEM = Actor.system("benchmark")


def _info(name: str, text: str) -> None:
    print(f"signoff.{name}: {text}", flush=True)


def _open(path: Path, actor: Actor) -> leftbehind.County:
    return leftbehind.open(path, actor=actor, today=lambda: AS_OF)


def _load(path: Path, data: SyntheticCounty, records: list[Record]) -> None:
    with _open(path, SYSTEM) as county:
        county.put_schools(data.facts.schools)
        county.put_children(data.facts.children)
        county.put_staff(data.staff)
        county.put_assignments(data.assignments)
        county.put_groups(data.groups)
        county.add_records(records)


def _sign_off(path: Path, data: SyntheticCounty) -> tuple[int, float]:
    """Every school's months September to May locked: the first school's September submitted
    by its head and approved by its township and the county through the handle (timed), the
    others written as that one's sign-off document, so that the setup does not take an hour at
    this size (a submission costs about a second: the school's table and data-quality rules).
    How many periods are locked, and the seconds of the three steps through the handle."""
    first = data.facts.schools[0]
    t0 = time.perf_counter()
    with _open(path, Actor.school_head(f"H-{first.id}", first.id)) as head:
        head.submit(first.id, MONTHS[0], despite_findings=True)
    with _open(path, Actor.township_officer("X", first.township)) as town:
        town.approve(first.id, MONTHS[0])
    with _open(path, Actor.county_officer("K")) as county:
        county.approve(first.id, MONTHS[0])
    steps = time.perf_counter() - t0
    with _open(path, SYSTEM) as county:
        store = county.store
        model = store.get(kinds.SIGNOFF, signoff_key(first.id, MONTHS[0]))
        assert model is not None
        with store.unit_of_work() as uow:
            for school in data.facts.schools:
                for p in MONTHS:
                    doc = {
                        **model,
                        "school_id": school.id,
                        "township": school.township,
                        "period": {
                            "key": p.key,
                            "start": p.start.isoformat(),
                            "end": p.end.isoformat(),
                        },
                    }
                    uow.put(kinds.SIGNOFF, signoff_key(school.id, p), doc)
            uow.commit()
        return len(county.signoffs()), steps


def main(quick: bool = False) -> None:
    n = 300 if quick else 20_000
    took, data = timed(lambda: synthetic_county(children=n, as_of=AS_OF))
    before = [r for r in data.records if r.on < WEEK[0]]
    week = [r for r in data.records if WEEK[0] <= r.on <= WEEK[1]]
    _info(
        "county",
        f"{n:,} children, {len(data.facts.schools)} schools, {len(before):,} records "
        f"(made in {duration(took)}); the week: {len(week):,} records",
    )
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        plain, locked = folder / "plain.db", folder / "locked.db"
        t0 = time.perf_counter()
        _load(plain, data, before)
        _load(locked, data, before)
        loaded = time.perf_counter() - t0
        periods, steps = _sign_off(locked, data)
        _info(
            "setup",
            f"two stores loaded in {duration(loaded)}; {periods:,} periods locked (one school's "
            f"month submitted, approved and approved through the handle in {duration(steps)})",
        )

        with _open(plain, SYSTEM) as county:
            base, _ = timed(lambda: county.add_records(week))
        with _open(locked, SYSTEM) as county:
            got, _ = timed(lambda: county.add_records(week))
        _info(
            "week",
            f"{duration(got)} for {len(week):,} records with {periods:,} periods locked / "
            f"{duration(base)} without = {got / base:.2f}x",
        )

        may = next(r for r in before if r.on.month == 5)
        late = Record("late-may", may.kind, may.child_id, may.staff_id, may.on)
        with _open(locked, SYSTEM) as county:
            t0 = time.perf_counter()
            try:
                county.add_records([late])
            except PeriodLockedError:
                refused = time.perf_counter() - t0
            else:  # pragma: no cover - the benchmark checks its own results
                raise AssertionError("a record in a locked month was written")
            assert not list(county.records(child_id=late.child_id)) or all(
                r.id != late.id for r in county.records(child_id=late.child_id)
            )
            with county.correction("benchmark"):
                corrected, _ = timed(lambda: county.add_records([late]))
        _info("locked", f"refused in {duration(refused)}; as a correction {duration(corrected)}")

        with _open(locked, SYSTEM) as county:
            tables = county.school_tables(AS_OF)
        busiest = max(tables.values(), key=lambda t: (t.counts.get("served", 0), t.school.id))
        sid = busiest.school.id
        june = Period.parse("2026-06")
        head = Actor.school_head(f"H-{sid}", sid)
        with _open(locked, head) as county:
            table, _ = timed(
                lambda: county.school_table(sid, june.last, Interval(june.start, june.end))
            )
        with _open(locked, head) as county:
            sub, done = timed(lambda: county.submit(sid, june, despite_findings=True))
        assert done.reported is not None
        _info(
            "submit",
            f"{sid} ({busiest.counts.get('served', 0):,} served) June submitted in "
            f"{duration(sub)} / its school table {duration(table)} = {sub / table:.2f}x",
        )
