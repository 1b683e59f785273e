"""Roster import: reading and importing a 20,000-row roster XLSX, beside openpyxl's bare read.

The roster is a synthetic county exported unmasked in the template's form (44 columns). The
baseline opens the same file with ``openpyxl.load_workbook(read_only=True)`` and walks every row
with ``values_only=True``, touching each value and nothing more: the least any streamed reading
of the file costs. Beside it, in the same run:

- ``read_roster``: every cell typed and checked (cell objects, so formulas are seen);
- ``import_roster`` dry run into a ``memory://`` county: matched, built, validated, not written;
- ``import_roster`` into an empty ``memory://`` county and into an empty TinyDB file: the same,
  plus one ``put_children`` (re-validation, two timelines per child, one unit of work).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import attrs

import leftbehind
from leftbehind.access import Actor
from leftbehind.io.roster import read_roster
from leftbehind.testing.synthetic import SyntheticFacts, synthetic_facts

SYSTEM = Actor.system("benchmark")

AS_OF = date(2026, 9, 1)


def _median(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _bare_read(path: Path) -> int:
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True)
    n = 0
    for row in wb.worksheets[0].iter_rows(values_only=True):
        for value in row:
            if value is not None:
                n += 1
    wb.close()
    return n


def _import_into(facts: SyntheticFacts, path: Path, url: str, *, dry_run: bool) -> None:
    with leftbehind.open(url, today=lambda: AS_OF, actor=SYSTEM) as county:
        county.put_schools(facts.schools)
        report = county.import_roster(path, dry_run=dry_run)
        assert report.ok
        assert report.created == len(facts.children)


def _unique_ids(facts: SyntheticFacts) -> SyntheticFacts:
    """The generator may give two children one resident ID at this size; an import refuses
    that (``duplicate_resident_id``), so later holders lose theirs."""
    seen: set[str] = set()
    children = []
    for child in facts.children:
        if child.resident_id in seen:
            child = attrs.evolve(child, resident_id="")
        seen.add(child.resident_id)
        children.append(child)
    return attrs.evolve(facts, children=tuple(children))


def main(quick: bool = False) -> None:
    n = 1_000 if quick else 20_000
    repeats = 3
    facts = _unique_ids(synthetic_facts(seed=2026, children=n, as_of=AS_OF))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "roster.xlsx"
        with leftbehind.open("memory://", today=lambda: AS_OF, actor=SYSTEM) as county:
            county.put_schools(facts.schools)
            county.put_children(facts.children)
            county.export_roster(path, unmasked=True)
        size = path.stat().st_size / 1e6
        bare = _median(lambda: _bare_read(path), repeats)
        shape = f"{n:,} rows, {size:.1f} MB, {bare:.2f} s"
        print(f"import.bare_openpyxl: {n / bare:,.0f} rows/s ({shape})")

        def line(name: str, seconds: float) -> None:
            print(f"import.{name}: {n / seconds:,.0f} rows/s ({seconds / bare:.2f}x the bare read)")

        line("read_roster", _median(lambda: read_roster(path), repeats))
        dry = _median(lambda: _import_into(facts, path, "memory://", dry_run=True), repeats)
        line("dry_run", dry)
        line(
            "memory",
            _median(lambda: _import_into(facts, path, "memory://", dry_run=False), repeats),
        )
        counter = iter(range(repeats))

        def tinydb() -> None:
            _import_into(facts, path, str(Path(folder) / f"c{next(counter)}.json"), dry_run=False)

        line("tinydb", _median(tinydb, repeats))


if __name__ == "__main__":
    main()
