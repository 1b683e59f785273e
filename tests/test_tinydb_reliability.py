"""The TinyDB backend against RELIABILITY.md: kills (R1, R2), concurrency (R3), faults (R4), corrupt
files (R6), and what the file looks like on disk. (R5, the model-based test, is in the contract.)

The kill and concurrency tests run this module as a script (``python test_tinydb_reliability.py
r1 ...``): a supervisor process forks writers, kills them, reopens the store and checks it against
the writers' logs — an intent line is written before each unit of work and an acknowledgement after
its commit returns — then prints a JSON summary that the test asserts on.
"""

from __future__ import annotations

import errno
import functools
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from filelock import FileLock
from tests.kills import PROGRESS, await_acks, unread_acks
from tinydb import TinyDB
from tinydb.table import Table

from leftbehind.backends import tinydb as backend
from leftbehind.backends.tinydb import DurableJSONStorage, TinyDBStore, open_tinydb
from leftbehind.errors import (
    ConflictError,
    CorruptStoreError,
    StoreBusyError,
    StoreIOError,
    StoreSizeWarning,
    StoreURLError,
)
from leftbehind.store import Document

SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = "小明丽华强芳敏静伟军洋勇艳杰涛超霞平刚桂英𠀀"
SCRIPT = Path(__file__)

# ---------------------------------------------------------------------------------------------
# Shared by the script and the tests.


def child_doc(rng: random.Random, seq: int) -> Document:
    """A child-like record: CJK names, a phone, dates, parents, 20-odd fields."""
    name = rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=2))
    return {
        "name": name,
        "seq": seq,
        "sex": rng.choice(["男", "女"]),
        "birth": f"201{rng.randint(0, 9)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
        "school": f"S{rng.randint(1, 9)}",
        "grade": rng.randint(1, 9),
        "township": rng.choice(["广平镇", "南阳堡乡", "平固店镇", "胜营镇"]),
        "village": rng.choice(["东张孟村", "西河村", "后屯村"]),
        "guardian": {"name": rng.choice(SURNAMES) + "奶奶", "phone": "138****1234"},
        "parents": [
            {"role": "father", "away_since": "2024-03-01", "place": "北京"},
            {"role": "mother", "away_since": None, "place": ""},
        ],
        "notes": "留守儿童·关爱" * rng.randint(0, 4),
    }


def _apply(state: dict[str, Document], ops: list[list[Any]]) -> dict[str, Document]:
    out = dict(state)
    for op in ops:
        if op[0] == "put":
            out[op[1]] = op[2]
        else:
            out.pop(op[1], None)
    return out


def _log(fd: int, record: dict[str, Any]) -> None:
    # One write() per line on an O_APPEND file: a SIGKILL leaves whole lines or none.
    os.write(fd, (json.dumps(record, ensure_ascii=False) + "\n").encode())


def _read_log(path: Path, start: int) -> tuple[list[dict[str, Any]], int]:
    data = path.read_bytes() if path.exists() else b""
    end = data.rfind(b"\n") + 1
    lines = data[start:end].decode().splitlines()
    return [json.loads(line) for line in lines], max(end, start)


class Ledger:
    """The acknowledged state of one writer's keys, and its operation in flight."""

    def __init__(self) -> None:
        self.model: dict[str, Document] = {}
        self.pending: list[list[Any]] | None = None
        self.seq = 0
        self.offset = 0
        self.acked = 0

    def follow(self, log: Path) -> None:
        """Read what the (killed or stopped) writer logged since the last call.

        A line the kill cut short is dropped from the file, so that the next writer's first line
        starts on a line of its own: a torn intent means the operation never started (the intent
        is logged before the call), a torn acknowledgement leaves the operation in flight.
        """
        records, self.offset = _read_log(log, self.offset)
        if log.exists() and log.stat().st_size > self.offset:
            os.truncate(log, self.offset)
        for r in records:
            if "intent" in r:
                self.pending, self.seq = r["intent"], r["seq"]
            else:
                assert self.pending is not None
                self.model = _apply(self.model, self.pending)
                self.pending = None
                self.acked += 1

    def reconcile(self, state: dict[str, Document], result: dict[str, int]) -> None:
        """Compare the store with the log; at most the operation in flight may differ."""
        if self.pending is not None:
            result["in_flight"] += 1
        if state == self.model:
            pass
        elif self.pending is not None and state == _apply(self.model, self.pending):
            result["in_flight_applied"] += 1
        else:
            lost = [k for k, d in self.model.items() if state.get(k) != d]
            undone = [k for k in state if k not in self.model]
            result["lost_acknowledged"] += len(lost)
            result["deletes_undone"] += len(undone)
        self.model, self.pending = state, None


def _own(store: TinyDBStore, prefix: str) -> dict[str, Document]:
    state = {k: d for k, d in store.scan("child") if k.startswith(prefix)}
    tally = store.get("tally", "t")
    if tally is not None and prefix in tally:
        state["tally"] = {"seq": tally[prefix]}
    return state


def _ops(rng: random.Random, prefix: str, keys: list[str], seq: int) -> list[list[Any]]:
    ops: list[list[Any]] = []
    for _ in range(rng.randint(1, 3)):
        roll = rng.random()
        if keys and roll < 0.25:
            ops.append(["del", keys.pop(rng.randrange(len(keys)))])
        else:
            key = rng.choice(keys) if keys and roll < 0.6 else f"{prefix}{rng.randrange(400):03d}"
            if key not in keys:
                keys.append(key)
            ops.append(["put", key, child_doc(rng, seq)])
    return ops


def _writer(path: Path, log: Path, prefix: str, seq: int, seed: int, tally: bool) -> None:
    """Loop forever: log intent, commit a unit of work, log acknowledgement."""
    rng = random.Random(seed)
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    store = TinyDBStore(path, timeout=30)
    keys = [k for k, _ in store.scan("child") if k.startswith(prefix)]
    stop = path.parent / "stop"
    while not stop.exists():
        seq += 1
        ops = _ops(rng, prefix, keys, seq)
        if tally:
            ops.append(["put", "tally", {"seq": seq}])
        _log(fd, {"seq": seq, "intent": ops})
        while True:
            try:
                with store.unit_of_work() as uow:
                    for op in ops:
                        if op[1] == "tally":
                            counts = uow.get("tally", "t") or {}
                            counts[prefix] = seq
                            uow.put("tally", "t", counts)
                        elif op[0] == "put":
                            uow.put("child", op[1], op[2])
                        else:
                            uow.delete("child", op[1])
                    uow.commit()
                break
            except (ConflictError, StoreBusyError):
                continue
        _log(fd, {"seq": seq, "ack": True})
    store.close()


def _fork(fn: Callable[[], None]) -> int:
    pid = os.fork()
    if pid == 0:  # the child never returns into the supervisor
        code = 0
        try:
            fn()
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    return pid


def _check_reopen(path: Path, result: dict[str, int], alone: bool = True) -> TinyDBStore | None:
    """Open the store again; ``alone``: no live writer, so no temporary file may remain."""
    storage = DurableJSONStorage(path)
    if storage.temp_files():
        result["temp_files_found"] += 1
    try:
        store = TinyDBStore(path)
    except Exception:
        result["reopen_failures"] += 1
        return None
    if alone and storage.temp_files():
        result["temp_files_left"] += 1
    return store


def _new_result() -> dict[str, int]:
    keys = "rounds in_flight in_flight_applied lost_acknowledged deletes_undone reopen_failures"
    more = " temp_files_found temp_files_left acknowledged deadlocks lock_holder_kills"
    return dict.fromkeys((keys + more + " required stalled").split(), 0)


def run_r1(folder: Path, rounds: int, seed: int) -> dict[str, int]:
    """One writer killed at least ``rounds`` times; every reopen checked.

    A kill waits for work, not for time, so the work done does not depend on the machine's load:
    in four rounds of five the writer first acknowledges a drawn number of units (1 to 3,
    summed in ``required``) and is killed a moment into the next; in the fifth it is killed at a
    random moment from its start (opening the store included). Rounds go on past ``rounds``, up
    to three times as many, until a kill has found an operation in flight.
    """
    rng = random.Random(seed)
    path, log = folder / "county.json", folder / "r1.log"
    ledger, result = Ledger(), _new_result()
    for n in range(3 * rounds):
        if n >= rounds and result["in_flight"] > 0:
            break
        start, child_seed = ledger.seq, rng.randrange(2**32)
        need, delay = rng.choice((0, 1, 1, 2, 3)), rng.uniform(0.0, 0.03)
        pid = _fork(functools.partial(_writer, path, log, "C", start, child_seed, tally=False))
        if need == 0:
            time.sleep(delay)
        elif await_acks(log, ledger.offset, need, pid):
            time.sleep(delay / 6)  # somewhere in the unit of work, or just after its commit
        else:
            result["stalled"] += 1
        result["required"] += need
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        ledger.follow(log)
        result["rounds"] = n + 1
        store = _check_reopen(path, result)
        if store is None:
            break
        with store:
            ledger.reconcile(_own(store, "C"), result)
    result["acknowledged"] = ledger.acked
    return result


def _lock_holder(lock: Path) -> int | None:
    """The pid holding the flock on ``lock``, from /proc/locks (Linux)."""
    try:
        inode = os.stat(lock).st_ino
        lines = Path("/proc/locks").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        parts = line.split()
        if len(parts) > 5 and parts[1] == "FLOCK" and parts[5].split(":")[-1] == str(inode):
            return int(parts[4])
    return None


def run_r2(folder: Path, kills: int, seed: int) -> dict[str, int]:
    """Three writers sharing a tally document; ``kills`` SIGKILLs, mostly of the lock holder."""
    rng = random.Random(seed)
    path = folder / "county.json"
    names = ["A", "B", "C"]
    ledgers = {w: Ledger() for w in names}
    logs = {w: folder / f"r2-{w}.log" for w in names}
    result = _new_result()

    def spawn(w: str) -> int:
        start, child_seed = ledgers[w].seq, rng.randrange(2**32)
        return _fork(functools.partial(_writer, path, logs[w], w, start, child_seed, tally=True))

    def check(w: str, alone: bool) -> None:
        ledgers[w].follow(logs[w])
        store = _check_reopen(path, result, alone)
        if store is not None:
            with store:
                ledgers[w].reconcile(_own(store, w), result)

    def pick(prefer_holder: bool, fallback: str) -> str:
        """The next victim, once it has acknowledged a unit since it started: the lock holder
        (``prefer_holder``) or ``fallback``. Waits for work, not for time (see ``run_r1``)."""
        by_pid = {pid: w for w, pid in pids.items()}
        deadline = time.monotonic() + PROGRESS
        while time.monotonic() < deadline:
            ready = {w for w in names if unread_acks(logs[w], ledgers[w].offset) > 0}
            if prefer_holder:
                holder = by_pid.get(_lock_holder(Path(f"{path}.lock")) or -1)
                if holder in ready:
                    result["lock_holder_kills"] += 1
                    return holder
            elif fallback in ready:
                return fallback
            time.sleep(0.0005)
        result["stalled"] += 1
        return fallback

    pids = {w: spawn(w) for w in names}
    for n in range(kills):
        time.sleep(rng.uniform(0.002, 0.02))
        prefer_holder, fallback = rng.random() < 0.8, rng.choice(names)
        victim = pick(prefer_holder, fallback)
        result["required"] += 1
        os.kill(pids[victim], signal.SIGKILL)
        os.waitpid(pids[victim], 0)
        result["rounds"] = n + 1
        check(victim, alone=False)  # the others write on: their temporary files are theirs
        pids[victim] = spawn(victim)
    (folder / "stop").touch()
    deadline = time.monotonic() + 60
    for pid in pids.values():
        while os.waitpid(pid, os.WNOHANG) == (0, 0):
            if time.monotonic() > deadline:
                result["deadlocks"] += 1
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                break
            time.sleep(0.01)
    for w in names:
        check(w, alone=True)
    result["acknowledged"] = sum(ledger.acked for ledger in ledgers.values())
    return result


def run_r3(path: Path, proc: int, threads: int, per_thread: int) -> dict[str, int]:
    """Threads sharing one store create records, update them, and count them in a tally."""
    retries = {"conflicts": 0, "busy": 0}
    errors: list[BaseException] = []
    store = TinyDBStore(path, timeout=60)

    def retry(work: Callable[[], None]) -> None:
        while True:
            try:
                work()
                return
            except ConflictError:
                retries["conflicts"] += 1
            except StoreBusyError:
                retries["busy"] += 1

    def create(key: str) -> None:
        with store.unit_of_work() as uow:
            counter = uow.get("tally", "created") or {"n": 0}
            n = counter["n"]
            assert isinstance(n, int)
            counter["n"] = n + 1
            uow.put("tally", "created", counter)
            uow.put("record", key, {"v": 1, "by": "写入者"})
            uow.commit()

    def update(key: str) -> None:
        with store.unit_of_work() as uow:
            doc = uow.get("record", key)
            assert doc is not None
            uow.put("record", key, {**doc, "v": 2})
            uow.commit()

    def work(t: int) -> None:
        try:
            for i in range(per_thread):
                key = f"p{proc}-t{t}-{i:03d}"
                retry(functools.partial(create, key))
                retry(functools.partial(update, key))
        except BaseException as exc:
            errors.append(exc)

    pool = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for th in pool:
        th.start()
    for th in pool:
        th.join()
    store.close()
    return {**retries, "errors": len(errors)}


def _main(argv: list[str]) -> None:
    mode, folder = argv[0], Path(argv[1])
    numbers = [int(a) for a in argv[2:]]
    if mode == "r1":
        out = run_r1(folder, *numbers)
    elif mode == "r2":
        out = run_r2(folder, *numbers)
    else:
        out = run_r3(folder / "county.json", *numbers)
    print(json.dumps(out))


def _env() -> dict[str, str]:
    """The environment for a script run: this checkout's ``tests`` importable (first)."""
    path = [str(SCRIPT.parent.parent), *filter(None, [os.environ.get("PYTHONPATH")])]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(path)}


def _script(*args: object, timeout: float = 240) -> dict[str, int]:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), *map(str, args)],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, int] = json.loads(done.stdout.splitlines()[-1])
    return result


# ---------------------------------------------------------------------------------------------
# R1, R2, R3.


@pytest.mark.slow
def test_r1_kills_of_one_writer_lose_nothing_acknowledged(tmp_path: Path) -> None:
    result = _script("r1", tmp_path, 200, 20240901)
    assert 200 <= result["rounds"] <= 600
    assert result["stalled"] == 0
    assert result["reopen_failures"] == 0
    assert result["lost_acknowledged"] == 0
    assert result["deletes_undone"] == 0
    assert result["temp_files_left"] == 0
    # The writer did the work the kills waited for (as much under any load) ...
    assert result["acknowledged"] >= result["required"] > 0
    # ... and was killed mid-commit, sometimes after it applied (the rounds go on until so).
    assert 0 < result["in_flight"] <= result["rounds"]
    assert result["in_flight_applied"] <= result["in_flight"]


@pytest.mark.slow
def test_r2_kills_of_three_writers_and_the_lock_holder(tmp_path: Path) -> None:
    result = _script("r2", tmp_path, 100, 7)
    assert result["rounds"] == 100
    assert result["stalled"] == result["deadlocks"] == 0
    assert result["reopen_failures"] == 0
    assert result["lost_acknowledged"] == 0  # includes each writer's entry in the shared tally
    assert result["deletes_undone"] == 0
    assert result["temp_files_left"] == 0
    # Each kill waited for its victim to acknowledge a unit, and four in five for the victim
    # to hold the lock: as much work, and as many kills in a commit, under any load.
    assert result["lock_holder_kills"] > 50
    assert result["acknowledged"] >= result["required"] == 100


@pytest.mark.slow
def test_r3_four_processes_of_threads_create_exactly_1000(tmp_path: Path) -> None:
    procs = [
        subprocess.Popen(
            [sys.executable, str(SCRIPT), "r3", str(tmp_path), str(p), "5", "50"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(),
        )
        for p in range(4)
    ]
    outputs = [p.communicate(timeout=240) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], [err for _, err in outputs]
    reports = [json.loads(out.splitlines()[-1]) for out, _ in outputs]
    assert all(r["errors"] == 0 for r in reports)
    with TinyDBStore(tmp_path / "county.json") as store:
        records = dict(store.scan("record"))
        assert len(records) == 1000
        assert all(doc == {"v": 2, "by": "写入者"} for doc in records.values())
        assert store.get("tally", "created") == {"n": 1000}  # no increment lost


# ---------------------------------------------------------------------------------------------
# R4: faults at each step of a write.


@pytest.fixture
def county(tmp_path: Path) -> Iterator[TinyDBStore]:
    store = TinyDBStore(tmp_path / "county.json")
    with store.unit_of_work() as uow:
        uow.put("child", "C001", {"name": "李小明"})
        uow.commit()
    yield store
    store.close()


def _fail_nth(real: Callable[..., Any], n: int, code: int) -> Callable[..., Any]:
    calls = {"n": 0}

    def fake(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == n:
            raise OSError(code, os.strerror(code))
        return real(*args, **kwargs)

    return fake


def _fail_temp_open(real: Callable[..., Any]) -> Callable[..., Any]:
    def fake(path: Any, *args: Any, **kwargs: Any) -> Any:
        if str(path).endswith(backend.TEMP_SUFFIX):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(path, *args, **kwargs)

    return fake


def _short_write(real: Callable[..., Any]) -> Callable[..., Any]:
    def fake(fd: int, data: Any) -> int:
        if len(data) > 8:
            return int(real(fd, data[: len(data) // 2]))
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    return fake


FAULTS: dict[str, tuple[str, Callable[[Callable[..., Any]], Callable[..., Any]], str]] = {
    "create temp": ("open", _fail_temp_open, "creating a temporary file"),
    "disk full mid-write": ("write", _short_write, "writing"),
    "fsync temp": ("fsync", lambda real: _fail_nth(real, 1, errno.EIO), "fsync of the temporary"),
    "replace": ("replace", lambda real: _fail_nth(real, 1, errno.EIO), "replacing"),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_r4_a_failed_step_leaves_the_file_byte_identical(
    county: TinyDBStore, monkeypatch: pytest.MonkeyPatch, fault: str
) -> None:
    name, make_fake, step = FAULTS[fault]
    before = county.path.read_bytes()
    with monkeypatch.context() as patch:
        patch.setattr(os, name, make_fake(getattr(os, name)))
        with county.unit_of_work() as uow:
            uow.put("child", "C001", {"name": "改了"})
            uow.put("child", "C002", {"name": "新的"})
            with pytest.raises(StoreIOError) as info:
                uow.commit()
    assert step in str(info.value)
    assert isinstance(info.value, OSError)
    assert info.value.errno in {errno.ENOSPC, errno.EIO}
    assert county.path.read_bytes() == before
    assert DurableJSONStorage(county.path).temp_files() == []
    assert dict(county.scan("child")) == {"C001": {"name": "李小明"}}
    with county.unit_of_work() as uow:  # the store works again once the disk does
        uow.put("child", "C002", {"name": "新的"})
        uow.commit()
    assert county.count("child") == 2


def test_r4_a_failed_folder_fsync_is_an_error_and_the_store_rereads(
    county: TinyDBStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as patch:
        patch.setattr(os, "fsync", _fail_nth(os.fsync, 2, errno.EIO))
        with county.unit_of_work() as uow:
            uow.put("child", "C002", {"name": "新的"})
            with pytest.raises(StoreIOError, match="fsync of the folder"):
                uow.commit()
    # The file was already replaced: like a crash, the outcome is either state, and the store
    # shows what the disk holds.
    with TinyDBStore(county.path) as other:
        assert dict(county.scan("child")) == dict(other.scan("child"))
    assert DurableJSONStorage(county.path).temp_files() == []


def test_r4_lock_timeout_is_store_busy(county: TinyDBStore) -> None:
    slow = TinyDBStore(county.path, timeout=0.05)
    holder = FileLock(f"{county.path}.lock")
    try:
        with holder, slow.unit_of_work() as uow:
            uow.put("child", "C002", {})
            with pytest.raises(StoreBusyError) as info:
                uow.commit()
            assert isinstance(info.value, TimeoutError)
            assert str(county.path) in str(info.value)
        assert slow.get("child", "C002") is None
    finally:
        slow.close()


# ---------------------------------------------------------------------------------------------
# R6: corrupt files.

GOOD = '{"child":{"C001":{"name":"李小明"}}}'.encode()
CORRUPT = {
    "empty": b"",
    "whitespace": b" \n",
    "truncated": GOOD[:-7],
    "trailing garbage": GOOD + b'"}}',
    "two documents": GOOD + GOOD,
    "utf-8 bom": b"\xef\xbb\xbf" + GOOD,
    "not utf-8": GOOD.decode().encode("gb18030"),
    "top level list": b"[]",
    "top level null": b"null",
    "table not object": b'{"child":[]}',
    "document not object": b'{"child":{"C001":"x"}}',
    "nan": b'{"child":{"C001":{"x":NaN}}}',
    "duplicate table": GOOD[:-1] + b',"child":{}}',
    "duplicate key": '{"child":{"C001":{"name":"李小明"},"C001":{"name":"王芳"}}}'.encode(),
    "deep nesting": b'{"child":{"C001":{"x":' + b"[" * 100_000 + b"]" * 100_000 + b"}}}",
}


@pytest.mark.parametrize("case", list(CORRUPT))
def test_r6_a_corrupt_file_is_refused_and_untouched(tmp_path: Path, case: str) -> None:
    path = tmp_path / "county.json"
    path.write_bytes(CORRUPT[case])
    os.utime(path, ns=(1_000_000_000, 1_000_000_000))
    with pytest.raises(CorruptStoreError) as info:
        TinyDBStore(path)
    assert info.value.path == path
    assert str(path) in str(info.value)
    assert "李小明" not in str(info.value)
    assert isinstance(info.value, ValueError)
    assert path.read_bytes() == CORRUPT[case]
    assert path.stat().st_mtime_ns == 1_000_000_000


@pytest.mark.parametrize("case", ["empty", "truncated", "top level list", "duplicate key"])
def test_r6_corruption_after_open_stops_reads_and_commits(county: TinyDBStore, case: str) -> None:
    county.path.write_bytes(CORRUPT[case])
    with pytest.raises(CorruptStoreError):
        county.get("child", "C001")
    with county.unit_of_work() as uow:
        uow.put("child", "C002", {})
        with pytest.raises(CorruptStoreError):
            uow.commit()
    assert county.path.read_bytes() == CORRUPT[case]


# ---------------------------------------------------------------------------------------------
# The file, the lock, the URL.


def test_file_is_utf8_tinydb_with_our_keys(county: TinyDBStore) -> None:
    text = county.path.read_text(encoding="utf-8")
    assert "李小明" in text
    assert "\\u" not in text

    class KeyedTable(Table):
        document_id_class = str  # type: ignore[assignment]  # our keys, not TinyDB's counters

    TinyDB.table_class = KeyedTable
    try:
        db = TinyDB(county.path, storage=DurableJSONStorage)
        assert [(str(d.doc_id), dict(d)) for d in db.table("child").all()] == [
            ("C001", {"name": "李小明"})
        ]
        db.close()
    finally:
        TinyDB.table_class = Table


def test_a_unit_of_work_is_one_file_write(
    county: TinyDBStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    writes: list[int] = []
    real = DurableJSONStorage.write

    def counting(self: DurableJSONStorage, data: dict[str, dict[str, Document]]) -> None:
        writes.append(len(data.get("child", {})))
        real(self, data)

    monkeypatch.setattr(DurableJSONStorage, "write", counting)
    with county.unit_of_work() as uow:
        uow.put_many("child", {f"K{i:04d}": {"i": i} for i in range(1000)})
        uow.delete("child", "C001")
        uow.commit()
    assert writes == [1000]


def test_missing_file_is_created_by_the_first_commit(tmp_path: Path) -> None:
    path = tmp_path / "new.json"
    with TinyDBStore(path) as store:
        assert store.count("child") == 0
        assert not path.exists()
        with store.unit_of_work() as uow:
            uow.put("child", "C001", {})
            uow.commit()
        assert path.exists()
        assert path.stat().st_mode & 0o777 == 0o600


def test_an_existing_files_mode_is_kept(county: TinyDBStore) -> None:
    county.path.chmod(0o640)
    with county.unit_of_work() as uow:
        uow.put("child", "C002", {})
        uow.commit()
    assert county.path.stat().st_mode & 0o777 == 0o640


def test_missing_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(StoreIOError, match="no such folder"):
        TinyDBStore(tmp_path / "nowhere" / "county.json")


def test_leftover_temp_file_is_removed_by_the_next_open(county: TinyDBStore) -> None:
    tmp = county.path.with_name(f".{county.path.name}.dead{backend.TEMP_SUFFIX}")
    tmp.write_bytes(GOOD[:5])
    holder = FileLock(f"{county.path}.lock")
    with holder, TinyDBStore(county.path):
        assert tmp.exists()  # the lock is held: it may be a live writer's
    with TinyDBStore(county.path) as again:
        assert not tmp.exists()
        assert again.get("child", "C001") == {"name": "李小明"}


def test_other_processes_writes_are_seen(county: TinyDBStore) -> None:
    with TinyDBStore(county.path) as other, other.unit_of_work() as uow:
        uow.put("child", "C002", {"name": "王芳"})
        uow.commit()
    assert county.get("child", "C002") == {"name": "王芳"}


def test_size_warning_points_to_sqlite(tmp_path: Path) -> None:
    with TinyDBStore(tmp_path / "county.json", size_limit=1000) as store:
        with store.unit_of_work() as uow:
            uow.put_many("child", {f"C{i:03d}": {"name": "李小明"} for i in range(100)})
            with pytest.warns(StoreSizeWarning, match="SQLite"):
                uow.commit()
        with pytest.warns(StoreSizeWarning):
            TinyDBStore(tmp_path / "county.json", size_limit=1000).close()


@pytest.mark.parametrize(
    ("url", "timeout"),
    [("tinydb://{p}", 10.0), ("tinydb://{p}?timeout=2.5", 2.5), ("{p}", 10.0)],
)
def test_urls(tmp_path: Path, url: str, timeout: float) -> None:
    with open_tinydb(url.format(p=tmp_path / "c.json")) as store:
        assert store.path == tmp_path / "c.json"
        assert store.timeout == timeout


@pytest.mark.parametrize("url", ["tinydb://", "tinydb://x.json?colour=red", "tinydb://x?timeout=x"])
def test_bad_urls(url: str) -> None:
    with pytest.raises(StoreURLError) as info:
        open_tinydb(url)
    assert isinstance(info.value, ValueError)


if __name__ == "__main__":
    _main(sys.argv[1:])
