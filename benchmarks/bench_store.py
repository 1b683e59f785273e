"""Storage: the TinyDB backend beside the raw cost of writing the same JSON durably.

Each figure is measured beside a hand-written baseline over the same documents in the same run:
``json.dumps`` of the whole ``{kind: {key: document}}`` dict, write, ``fsync`` and ``os.replace``
(the least any durable whole-file store must do; the baseline takes no lock, validates and copies
nothing, and does not fsync the folder).

- one unit of work (read a child, change a field, commit) on a store of N children;
- opening a store of N children (and reading it), beside ``json.loads`` of the file;
- a bulk import of N children as one unit of work, beside the raw write of the same dict;
- the commit time as the store grows, which sets the documented size limit.

Documents are synthetic child-like records: 26 fields, CJK names and places, about 800 bytes.

This is the TinyDB store on its own (``TinyDBStore`` and its units of work), compared with the
least a durable JSON file must do; it is not the county handle, which also validates, writes the
timelines and the ID index beside each child and an audit entry per command. What users see
through ``leftbehind.open`` on a TinyDB county is measured by :mod:`benchmarks.bench_handle`.
"""

from __future__ import annotations

import functools
import json
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from leftbehind.backends.tinydb import SIZE_LIMIT, TinyDBStore
from leftbehind.store import Document

SURNAMES = "王李張劉陳楊趙黃周吳徐孫胡朱高林何郭馬羅梁宋鄭謝韓唐馮于董蕭"
GIVEN = "小明麗華強芳敏靜偉軍洋勇艷傑濤超霞平剛桂英秀蘭玉珍子涵梓萱浩宇"
TOWNS = ("廣平鎮", "南陽堡鄉", "平固店鎮", "勝營鎮", "南韓村鎮", "十里鋪鄉", "東張孟鄉")


def child(rng: random.Random, n: int) -> Document:
    """A child-like record of 26 fields."""

    def name() -> str:
        return rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.choice((1, 2))))

    away = f"20{rng.randint(18, 25)}-{rng.randint(1, 12):02d}-01"
    return {
        "id": f"C{n:06d}",
        "name": name(),
        "sex": rng.choice(["male", "female"]),
        "birth_date": f"20{rng.randint(10, 19)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
        "ethnicity": rng.choice(["漢族", "回族", "滿族"]),
        "resident_id": f"130432{rng.randint(10**11, 10**12 - 1)}",
        "school_id": f"S{rng.randint(1, 120):03d}",
        "grade": rng.randint(1, 9),
        "class_name": f"{rng.randint(1, 6)}班",
        "township": rng.choice(TOWNS),
        "village": rng.choice(["東張孟村", "西河村", "後屯村", "北馬莊村"]) + "二組",
        "address": rng.choice(TOWNS) + "幸福路" + str(rng.randint(1, 200)) + "號",
        "rural_hukou": rng.random() < 0.9,
        "boarding": rng.random() < 0.3,
        "health": rng.choice(["healthy", "chronic", "disabled"]),
        "health_note": rng.choice(["", "哮喘，需隨身帶藥", "近視"]),
        "father": {
            "name": name(),
            "phone": f"138{rng.randint(10**7, 10**8 - 1)}",
            "away": [{"start": away, "end": None, "place": "北京市朝陽區"}],
        },
        "mother": {"name": name(), "phone": f"139{rng.randint(10**7, 10**8 - 1)}", "away": []},
        "guardian": {"name": name(), "relation": "祖母", "phone": "13512345678", "age": 66},
        "guardian_capable": True,
        "proxy_parent": name(),
        "teacher": name(),
        "enrolled": [{"school_id": "S001", "start": "2022-09-01", "end": None}],
        "tags": ["留守", "隔代監護"],
        "note": "父親外出務工，母親在家" * rng.randint(0, 2),
        "updated": "2026-05-10T08:00:00",
    }


def county(n: int, seed: int = 5) -> dict[str, Document]:
    rng = random.Random(seed)
    return {f"C{i:06d}": child(rng, i) for i in range(n)}


def raw_write(path: Path, tables: dict[str, dict[str, Any]]) -> None:
    """The baseline: dump, write, fsync, replace."""
    payload = json.dumps(tables, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    tmp = path.with_name(path.name + ".raw")
    with open(tmp, "wb") as f:
        f.write(payload)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def median(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _store(folder: Path, docs: dict[str, Document]) -> Path:
    path = folder / "county.json"
    path.unlink(missing_ok=True)
    with TinyDBStore(path, size_limit=2**40) as store, store.unit_of_work() as uow:
        uow.put_many("child", docs)
        uow.commit()
    return path


def _touch(store: TinyDBStore, doc: Document) -> None:
    with store.unit_of_work() as uow:
        uow.put("child", "C000000", doc)
        uow.commit()


def main(quick: bool = False) -> None:
    n = 1_000 if quick else 10_000
    repeats = 3 if quick else 7
    docs = county(n)
    size = len(json.dumps(docs, ensure_ascii=False).encode()) / n
    print(f"store.documents: {n:,} children, {size:,.0f} bytes of JSON each")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        raw_path = folder / "raw.json"

        # A bulk import as one unit of work.
        bulk = median(lambda: _store(folder, docs), repeats)
        raw = median(lambda: raw_write(raw_path, {"child": docs}), repeats)
        print(
            f"store.tinydb.import: {n / bulk:,.0f} children/s, {n:,} in {bulk:.3f} s as one unit "
            f"of work ({bulk / raw:.2f}x the raw dump+fsync+replace)"
        )

        # One unit of work on the full store.
        path = _store(folder, docs)
        state = {"child": dict(docs)}
        with TinyDBStore(path) as store:
            counter = iter(range(10**9))

            def one_unit() -> None:
                i = next(counter)
                with store.unit_of_work() as uow:
                    doc = uow.get("child", f"C{i % n:06d}")
                    assert doc is not None
                    doc["grade"] = i % 9 + 1
                    uow.put("child", f"C{i % n:06d}", doc)
                    uow.commit()

            def raw_unit() -> None:
                i = next(counter)
                state["child"][f"C{i % n:06d}"]["grade"] = i % 9 + 1
                raw_write(raw_path, state)

            unit = median(one_unit, repeats * 3)
            raw = median(raw_unit, repeats * 3)
        print(
            f"store.tinydb.unit_of_work: {unit * 1000:.1f} ms to change one child of {n:,} "
            f"({unit / raw:.2f}x the raw dump+fsync+replace, {raw * 1000:.1f} ms)"
        )

        # Opening.
        def open_and_count() -> None:
            with TinyDBStore(path) as store:
                assert store.count("child") == n

        opening = median(open_and_count, repeats)
        raw = median(lambda: json.loads(path.read_bytes().decode("utf-8")), repeats)
        print(
            f"store.tinydb.open: {opening * 1000:.0f} ms for {n:,} children "
            f"({opening / raw:.2f}x a raw json.loads of the file)"
        )

        # Commit time as the store grows: where the size limit comes from.
        sizes = (1_000, 5_000) if quick else (10_000, 20_000, 30_000, 40_000)
        for m in sizes:
            grown = county(m, seed=m)
            path = _store(folder, grown)
            with TinyDBStore(path, size_limit=2**40) as store:
                unit = median(functools.partial(_touch, store, grown["C000000"]), repeats)
            mib = path.stat().st_size / 2**20
            print(f"store.tinydb.commit_at_size: {unit * 1000:.0f} ms at {m:,} ({mib:.1f} MiB)")
    print(f"store.tinydb.size_limit: {SIZE_LIMIT / 2**20:.0f} MiB")


if __name__ == "__main__":
    main()
