"""The county handle: its county table from a 5,000-child TinyDB store beside the pure-domain
computation on the same facts in the same run, and ``leftbehind demo`` end to end.

- handle: reopen the store and build the county table (read every document, structure it,
  check scopes, build the duty book and the table);
- domain: the same table from the in-memory facts (timelines derived, duty book built), with no
  store at all;
- demo: the ``leftbehind demo`` command at its default size, in a fresh folder.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TypeVar

import leftbehind
from leftbehind.domain import ledger
from leftbehind.service import default_period
from leftbehind.testing.synthetic import SyntheticCounty, domain_ledger_facts, synthetic_county

T = TypeVar("T")
AS_OF = date(2026, 6, 30)
ACTOR = leftbehind.Actor.system("benchmark")


def _median(fn: Callable[[], T], repeats: int) -> tuple[float, T]:
    times = []
    result: T | None = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    assert result is not None
    return statistics.median(times), result


def _domain_table(data: SyntheticCounty) -> ledger.CountyTable:
    period = default_period(AS_OF)
    return ledger.county_table(domain_ledger_facts(data), as_of=AS_OF, period=period)


def main(quick: bool = False) -> None:
    children = 800 if quick else 5000
    data = synthetic_county(seed=5, children=children, as_of=AS_OF)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "county.json"
        t0 = time.perf_counter()
        with leftbehind.open(path, actor=ACTOR, today=lambda: AS_OF) as county:
            county.put_schools(data.facts.schools)
            county.put_children(data.facts.children)
            county.put_staff(data.staff)
            county.put_assignments(data.assignments)
            county.put_groups(data.groups)
            county.add_records(data.records)
        load = time.perf_counter() - t0
        size = path.stat().st_size / 2**20

        def through_handle() -> ledger.CountyTable:
            with leftbehind.open(path, actor=ACTOR, today=lambda: AS_OF) as county:
                return county.county_table(AS_OF)

        repeats = 1 if quick else 3
        handle_s, table = _median(through_handle, repeats)
        domain_s, expected = _median(lambda: _domain_table(data), repeats)
        assert table.rows == expected.rows, "the handle's table differs from the domain's"
        print(
            f"county.load: {children:,} children, {len(data.records):,} records into TinyDB "
            f"in {load:.1f} s ({size:.1f} MiB)"
        )
        print(
            f"county.ledger: county table through the handle {handle_s:.2f} s, pure domain "
            f"{domain_s:.2f} s ({handle_s / domain_s:.2f}x the domain)"
        )
        if quick:
            return
        with tempfile.TemporaryDirectory() as demo_folder:
            exe = Path(sys.executable).with_name("leftbehind")
            command = [str(exe)] if exe.exists() else [sys.executable, "-m", "leftbehind"]
            t0 = time.perf_counter()
            subprocess.run(
                [*command, "demo"],
                cwd=demo_folder,
                check=True,
                capture_output=True,
                env={**os.environ, "COLUMNS": "200"},
            )
            print(f"county.demo: leftbehind demo end to end {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
