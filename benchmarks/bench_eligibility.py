"""Eligibility: timelines for many children, and decisions as of a day from stored timelines.

Each figure is measured beside a hand-written minimal loop over the same data in the same run:

- timelines: :class:`PlanPolicy` over every child, against a loop that only lists each parent's
  days-away-that-count (start + 3 calendar months until back), with no bridging, categories,
  reasons or objects;
- decisions: ``Timeline.decision(d)`` (a :class:`Decision` with reasons, policy and version) and
  ``Timeline.categories_on(d)``, against a loop over the same spans kept as plain tuples.

The synthetic county is deterministic (seeded): about 60% of pupils have both parents at home;
the rest have parents away (spells with Spring Festival stays of 10–45 days), deceased, missing,
divorced out or unknown, a few are abandoned or have a parent not recorded; one school in ten is
not rural and some pupils changed school.
"""

from __future__ import annotations

import gc
import random
import statistics
import time
from collections.abc import Callable
from datetime import date, timedelta

from leftbehind.domain.dates import add_months
from leftbehind.domain.eligibility import Category, PlanPolicy, Timeline
from leftbehind.domain.model import Absence, Child, Enrolment, Parent, School, Sex

AS_OF = date(2026, 5, 10)


def _spells(rng: random.Random) -> tuple[Absence, ...]:
    start = date(2023, 1, 1) + timedelta(days=rng.randrange(1200))
    out: list[Absence] = []
    for _ in range(rng.randrange(1, 4)):
        length = rng.randrange(20, 420)
        end = start + timedelta(days=length)
        if end > AS_OF + timedelta(days=200) or rng.random() < 0.3:
            out.append(Absence(start, None, rng.choice(("北京", "天津", "石家莊"))))
            break
        out.append(Absence(start, end, rng.choice(("北京", "天津", ""))))
        start = end + timedelta(days=rng.choice((10, 15, 20, 28, 31, 32, 45, 120)))
    return tuple(out)


def _parent(rng: random.Random) -> Parent | None:
    r = rng.random()
    if r < 0.70:
        return Parent()
    if r < 0.93:
        return Parent(absences=_spells(rng))
    if r < 0.95:
        return Parent(deceased_on=date(2018, 1, 1) + timedelta(days=rng.randrange(3000)))
    if r < 0.955:
        return Parent(missing_since=date(2019, 1, 1) + timedelta(days=rng.randrange(2000)))
    if r < 0.98:
        return Parent(divorced_out_on=date(2017, 1, 1) + timedelta(days=rng.randrange(3000)))
    if r < 0.99:
        return Parent(known=False)
    return None


def synthetic(n: int, seed: int = 2026) -> tuple[dict[str, School], list[Child]]:
    """``n`` children and their schools, the same for the same ``n`` and ``seed``."""
    rng = random.Random(seed)
    schools = {
        f"S{i:03d}": School(f"S{i:03d}", f"第{i}小學", f"鄉{i % 12}", rural=i % 10 != 0)
        for i in range(60)
    }
    ids = list(schools)
    children = []
    for i in range(n):
        born = date(2010, 1, 1) + timedelta(days=rng.randrange(3650))
        start = date(born.year + 6, 9, 1)
        first = Enrolment(rng.choice(ids), start, 1)
        enrolments: tuple[Enrolment, ...] = (first,)
        if rng.random() < 0.05:
            moved = start + timedelta(days=rng.randrange(200, 1500))
            enrolments = (
                Enrolment(first.school_id, start, 1, end=moved),
                Enrolment(rng.choice(ids), moved, 2),
            )
        calm = rng.random() < 0.45
        children.append(
            Child(
                id=f"C{i:07d}",
                name="",
                sex=Sex.MALE if i % 2 else Sex.FEMALE,
                birth_date=born,
                enrolments=enrolments,
                father=Parent() if calm else _parent(rng),
                mother=Parent() if calm else _parent(rng),
                abandoned_on=born + timedelta(days=400) if rng.random() < 0.003 else None,
            )
        )
    return schools, children


def _raw_timelines(children: list[Child]) -> list[list[tuple[date, date | None]]]:
    out = []
    for child in children:
        counted: list[tuple[date, date | None]] = []
        for parent in (child.father, child.mother):
            if parent is None:
                continue
            for absence in parent.absences:
                begins = add_months(absence.start, 3)
                if absence.end is None or begins < absence.end:
                    counted.append((begins, absence.end))
        out.append(counted)
    return out


def _raw_categories(
    stored: list[list[tuple[date, date | None, Category]]], d: date
) -> list[frozenset[Category]]:
    return [
        frozenset(c for s, e, c in spans if s <= d and (e is None or d < e)) for spans in stored
    ]


def _median_time(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        gc.collect()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main(quick: bool = False) -> None:
    n = 5_000 if quick else 100_000
    repeats = 3 if quick else 5
    schools, children = synthetic(n)
    gc.freeze()
    policy = PlanPolicy()

    lib = _median_time(lambda: [policy.timeline(c, schools) for c in children], repeats)
    raw = _median_time(lambda: _raw_timelines(children), repeats)
    timelines = [policy.timeline(c, schools) for c in children]
    served = sum(1 for t in timelines if t.categories_on(AS_OF))
    print(
        f"eligibility.timelines: {n / lib:,.0f} children/s ({lib / raw:.1f}x the raw loop at "
        f"{n / raw:,.0f}/s; {served:,} of {n:,} served on {AS_OF})"
    )

    def fresh() -> list[Timeline]:  # as loaded from a store: no lookup index built yet
        return [Timeline(t.child_id, t.policy, t.version, t.spans, t.missing) for t in timelines]

    stored = [[(s.start, s.end, s.category) for s in t.spans] for t in timelines]
    raw = _median_time(lambda: _raw_categories(stored, AS_OF), repeats)
    loaded = [fresh() for _ in range(repeats)]
    first = _median_time(lambda: [t.decision(AS_OF) for t in loaded.pop()], repeats)
    again = _median_time(lambda: [t.decision(AS_OF) for t in timelines], repeats)
    cats = _median_time(lambda: [t.categories_on(AS_OF) for t in timelines], repeats)
    print(
        f"eligibility.decisions: {n / again:,.0f} decisions/s ({again / raw:.1f}x the raw loop at "
        f"{n / raw:,.0f}/s); first decision of a just-loaded timeline {n / first:,.0f}/s"
    )
    print(f"eligibility.categories_on: {n / cats:,.0f} lookups/s ({cats / raw:.1f}x the raw loop)")
    gc.unfreeze()


if __name__ == "__main__":
    main()
