"""The SQL backend against RELIABILITY.md: three writers killed at random points (R2, on SQLite)
and four processes of threads writing at once (R3, on SQLite and PostgreSQL).

Both run this module as a script, as the R1 kill test in ``test_sql_backend.py`` does:

- ``python tests/test_sql_reliability.py r2 FOLDER KILLS SEED``: a supervisor forks three
  writers on one SQLite file, SIGKILLs one of them at least ``KILLS`` times, each once it has
  acknowledged work (mostly the one holding SQLite's write lock, that is, inside a commit),
  starts it again, reopens the store after each kill and checks it against that writer's log,
  then prints a JSON summary.
- ``python tests/test_sql_reliability.py r3 URL FOLDER PROC THREADS PER_THREAD``: one of the
  R3 processes; its threads create and update records and count them in two shared tallies.

Every unit of work of an R2 writer is a read-modify-write of two counters as well as its child
records: its own counter (``n`` units applied, ``seq`` of the last) and a counter all writers
share. A lost update shows as a counter behind the log: its own ``n`` behind the units the log
acknowledged, or the shared ``n`` behind the sum of the writers' own.
"""

from __future__ import annotations

import functools
import itertools
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.kills import unread_acks
from tests.postgres import new_schema, with_schema
from tests.test_sql_backend import _apply_ops, _child_doc

from leftbehind.backends.sql import SQLStore
from leftbehind.errors import ConflictError, StoreBusyError
from leftbehind.store import DURABLE, MULTIPROCESS, Document

SCRIPT = Path(__file__)
ROOT = SCRIPT.parent.parent

#: R2: the writers (each one's keys start with its name) and the kills of the full run.
WRITERS = ("A", "B", "C")
R2_KILLS = 100
#: R3: processes × threads × records per thread = 1,000 records.
R3_PROCESSES, R3_THREADS, R3_PER_THREAD = 4, 2, 125
#: Seconds a writer waits for the lock before StoreBusyError: far longer than any commit takes,
#: so a busy error means a writer was starved or stuck, and the tests count it as a failure.
TIMEOUT = 30
#: Seconds every writer gets to show progress (and then to stop) before it counts as stuck.
PROGRESS = 30.0

COUNTER = "#counter"  # the writer's own counter, in its model beside its child records


# ---------------------------------------------------------------------------------------------
# R2: three writers, killed.


def _log(fd: int, record: dict[str, Any]) -> None:
    # One write() per line on an O_APPEND file that only this writer appends to: a SIGKILL
    # leaves whole lines, or whole lines and the start of one more (a torn tail).
    os.write(fd, (json.dumps(record, ensure_ascii=False) + "\n").encode())


def _ops(rng: random.Random, prefix: str, keys: list[str], seq: int) -> list[list[Any]]:
    """One to three creates, updates or deletes of this writer's own child records."""
    ops: list[list[Any]] = []
    for _ in range(rng.randint(1, 3)):
        roll = rng.random()
        if keys and roll < 0.25:
            ops.append(["del", keys.pop(rng.randrange(len(keys)))])
        else:
            key = rng.choice(keys) if keys and roll < 0.6 else f"{prefix}{rng.randrange(200):03d}"
            if key not in keys:
                keys.append(key)
            ops.append(["put", key, _child_doc(rng, seq)])
    return ops


def _unit(store: SQLStore, prefix: str, seq: int, ops: list[list[Any]]) -> None:
    """The writer's unit of work: its records, and +1 on its own counter and the shared one."""
    with store.unit_of_work() as uow:
        own = uow.get("counter", prefix) or {"n": 0, "seq": 0}
        shared = uow.get("counter", "all") or {"n": 0}
        for op in ops:
            if op[0] == "put":
                uow.put("child", op[1], op[2])
            else:
                uow.delete("child", op[1])
        uow.put("counter", prefix, {"n": _int(own["n"]) + 1, "seq": seq})
        uow.put("counter", "all", {"n": _int(shared["n"]) + 1})
        uow.commit()


def _int(value: object) -> int:
    assert isinstance(value, int)
    return value


def r2_writer(url: str, log: Path, prefix: str, seq: int, seed: int) -> None:
    """Loop until ``FOLDER/stop`` exists: log the intent, commit the unit, log the ack."""
    rng = random.Random(seed)
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    store = SQLStore(url)
    keys = [k for k, _ in store.scan("child") if k.startswith(prefix)]
    stop = log.parent / "stop"
    while not stop.exists():
        seq += 1
        ops = _ops(rng, prefix, keys, seq)
        _log(fd, {"seq": seq, "intent": ops})
        while True:
            try:
                _unit(store, prefix, seq, ops)
                break
            except ConflictError:  # another writer moved the shared counter: read again
                _log(fd, {"seq": seq, "conflict": True})
            except StoreBusyError:  # documented, but TIMEOUT is long: counted as a failure
                _log(fd, {"seq": seq, "busy": True})
        _log(fd, {"seq": seq, "ack": True})
    store.close()


def _apply_unit(state: dict[str, Document], ops: list[list[Any]], seq: int) -> dict[str, Document]:
    out = _apply_ops(state, ops)
    out[COUNTER] = {"n": _int(state.get(COUNTER, {"n": 0})["n"]) + 1, "seq": seq}
    return out


class Ledger:
    """One writer's acknowledged state (its records and its counter), from its own log."""

    def __init__(self, log: Path) -> None:
        self.log = log
        self.model: dict[str, Document] = {}
        self.pending: list[list[Any]] | None = None
        self.seq = self.offset = self.acked = self.applied = 0
        self.conflicts = self.busy = self.torn = 0

    def unread_acks(self) -> int:
        """Acknowledgements logged, whole, since the last :meth:`follow` (the writer goes on)."""
        return unread_acks(self.log, self.offset)

    def follow(self) -> None:
        """Read what the writer logged since the last call; it is dead or has stopped.

        The kill may have cut the last line short. The fragment is dropped from the file, so
        that the restarted writer's first line starts a line of its own, and it is right to
        drop: a torn intent means the call was never made (the intent is written, whole, before
        the call), and a torn acknowledgement leaves the operation in flight, where the store
        decides whether it happened. A torn retry line records no change. Only this writer
        appends to this file, so the fragment is its own and no other writer's line is lost.
        """
        data = self.log.read_bytes() if self.log.exists() else b""
        end = data.rfind(b"\n") + 1
        if end < len(data):
            os.truncate(self.log, end)
            self.torn += 1
        for line in data[self.offset : end].decode().splitlines():
            entry = json.loads(line)
            if "intent" in entry:
                self.pending, self.seq = entry["intent"], entry["seq"]
            elif "ack" in entry:
                assert self.pending is not None
                self.model = _apply_unit(self.model, self.pending, self.seq)
                self.pending = None
                self.acked += 1
                self.applied += 1
            elif "conflict" in entry:
                self.conflicts += 1
            else:
                self.busy += 1
        self.offset = max(self.offset, end)

    def reconcile(self, state: dict[str, Document], result: dict[str, int]) -> None:
        """Compare the store with the log: only the operation in flight may be either way."""
        if self.pending is not None:
            result["in_flight"] += 1
        if state == self.model:
            pass
        elif self.pending is not None and state == _apply_unit(self.model, self.pending, self.seq):
            result["in_flight_applied"] += 1
            self.applied += 1
        else:
            lost = [k for k, d in self.model.items() if k != COUNTER and state.get(k) != d]
            result["lost_acknowledged"] += len(lost)
            result["deletes_undone"] += sum(k not in self.model for k in state)
            own = _int(state.get(COUNTER, {"n": 0})["n"])
            result["lost_updates"] += abs(self.applied - own)
            self.applied = own
        self.model, self.pending = state, None


def _own(store: SQLStore, prefix: str) -> dict[str, Document]:
    state = {k: d for k, d in store.scan("child") if k.startswith(prefix)}
    counter = store.get("counter", prefix)
    if counter is not None:
        state[COUNTER] = counter
    return state


def _shared_drift(store: SQLStore) -> int:
    """How far the shared counter is from the sum of the writers' own (read in one SELECT)."""
    counters = dict(store.scan("counter"))
    shared = _int(counters.pop("all", {"n": 0})["n"])
    return abs(shared - sum(_int(c["n"]) for c in counters.values()))


R2_FIGURES = (
    *("rounds", "in_flight", "in_flight_applied", "lost_acknowledged", "deletes_undone"),
    *("lost_updates", "shared_drift", "reopen_failures", "integrity_failures"),
    *("lock_holder_kills", "stalled", "deadlocks", "acknowledged", "applied", "required"),
    *("conflicts", "busy", "torn_lines", "writer_errors"),
)


def _write_lock_holder(db: Path) -> int | None:
    """The pid holding SQLite's WAL write lock (byte 120 of ``-shm``), from /proc/locks."""
    try:
        inode = os.stat(f"{db}-shm").st_ino
        lines = Path("/proc/locks").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        parts = line.split()
        if (
            len(parts) > 7
            and parts[1:4] == ["POSIX", "ADVISORY", "WRITE"]
            and parts[5].split(":")[-1] == str(inode)
            and parts[6:8] == ["120", "120"]
        ):
            return int(parts[4])
    return None


def _env() -> dict[str, str]:
    """The environment for a script run: this checkout's ``tests`` importable (first)."""
    path = [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(path)}


def _fork(fn: Callable[[], None]) -> int:
    pid = os.fork()
    if pid == 0:  # the child never returns into the supervisor
        code = 1
        try:
            fn()
            code = 0
        except BaseException:
            traceback.print_exc()  # to the supervisor's stderr, shown when the test fails
        finally:
            os._exit(code)
    return pid


def _reap(pid: int, *, killed: bool) -> bool:
    """Wait for a writer; True when it ended as expected (by our SIGKILL, or of itself, 0)."""
    _, status = os.waitpid(pid, 0)
    if killed:
        return os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    return os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


def _has_ended(pid: int) -> bool:
    """Whether a writer has exited, without reaping it."""
    return bool(os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT))


def run_r2(folder: Path, kills: int, seed: int) -> dict[str, int]:
    """Three writers on one SQLite file; at least ``kills`` SIGKILLs, mostly of the write-lock
    holder.

    A kill waits for work, not for time, so the work done does not depend on the machine's load:
    its victim has acknowledged a unit since it started (counted in ``required``), and four kills
    in five wait for such a writer to hold the write lock. Kills go on past ``kills``, up to
    three times as many, until one has found an operation in flight and the writers have met a
    conflict on the shared counter.
    """
    rng = random.Random(seed)
    db = folder / "county.db"
    url = f"sqlite:///{db}?timeout={TIMEOUT}"
    SQLStore(url).close()  # the schema, before the writers race to create it
    ledgers = {w: Ledger(folder / f"r2-{w}.log") for w in WRITERS}
    result = dict.fromkeys(R2_FIGURES, 0)

    def spawn(w: str) -> int:
        start, child_seed = ledgers[w].seq, rng.randrange(2**32)
        return _fork(functools.partial(r2_writer, url, ledgers[w].log, w, start, child_seed))

    def check(w: str) -> None:
        ledgers[w].follow()
        try:
            store = SQLStore(url)
        except Exception:
            result["reopen_failures"] += 1
            return
        with store:  # closed before the next fork: a child must not inherit its connections
            ledgers[w].reconcile(_own(store, w), result)
            result["shared_drift"] += _shared_drift(store)

    def pick(prefer_holder: bool, fallback: str) -> str:
        """The next victim, once it has acknowledged a unit since it started: the holder of the
        write lock (``prefer_holder``: inside a commit) or ``fallback``."""
        by_pid = {pid: w for w, pid in pids.items()}
        deadline = time.monotonic() + PROGRESS
        while time.monotonic() < deadline:
            ready = {w for w in WRITERS if ledgers[w].unread_acks() > 0}
            if prefer_holder:
                holder = by_pid.get(_write_lock_holder(db) or -1)
                if holder in ready:
                    result["lock_holder_kills"] += 1
                    return holder
            elif fallback in ready:
                return fallback
            time.sleep(0.0005)
        result["stalled"] += 1
        return fallback

    pids = {w: spawn(w) for w in WRITERS}
    for n in range(3 * kills):
        conflicts = sum(ledger.conflicts for ledger in ledgers.values())
        if n >= kills and result["in_flight"] > 0 and conflicts > 0:
            break
        time.sleep(rng.uniform(0.005, 0.03))
        fallback, prefer_holder = rng.choice(WRITERS), rng.random() < 0.8
        victim = pick(prefer_holder, fallback)
        result["required"] += 1
        os.kill(pids[victim], signal.SIGKILL)
        result["writer_errors"] += not _reap(pids[victim], killed=True)  # it had not died
        result["rounds"] = n + 1
        check(victim)
        pids[victim] = spawn(victim)

    # No deadlock: every writer acknowledges more work, then stops when asked.
    deadline = time.monotonic() + PROGRESS
    waiting = set(WRITERS)
    while waiting and time.monotonic() < deadline:
        waiting = {w for w in waiting if ledgers[w].unread_acks() < 2}
        time.sleep(0.01)
    result["stalled"] = len(waiting)
    (folder / "stop").touch()
    deadline = time.monotonic() + PROGRESS
    for pid in pids.values():
        while not _has_ended(pid) and time.monotonic() < deadline:
            time.sleep(0.01)
        stuck = not _has_ended(pid)
        if stuck:
            result["deadlocks"] += 1
            os.kill(pid, signal.SIGKILL)
        result["writer_errors"] += not _reap(pid, killed=stuck)
    for w in WRITERS:
        check(w)
    with SQLStore(url) as store:
        shared = _int((store.get("counter", "all") or {"n": 0})["n"])
    applied = sum(ledger.applied for ledger in ledgers.values())
    result["lost_updates"] += abs(shared - applied)
    raw = sqlite3.connect(db)
    try:
        result["integrity_failures"] = int(
            raw.execute("PRAGMA integrity_check").fetchall() != [("ok",)]
        )
    finally:
        raw.close()
    for w, ledger in ledgers.items():
        result["acknowledged"] += ledger.acked
        result["conflicts"] += ledger.conflicts
        result["busy"] += ledger.busy
        result["torn_lines"] += ledger.torn
        result[f"acknowledged_{w}"] = ledger.acked
    result["applied"] = applied
    return result


# ---------------------------------------------------------------------------------------------
# R3: processes of threads.


def run_r3(url: str, folder: Path, proc: int, threads: int, per_thread: int) -> dict[str, Any]:
    """Threads sharing one store create records and update them; every create adds one to the
    shared ``tally/created`` and every update to ``tally/updated``, read-modify-write in the same
    unit of work, retried on :class:`ConflictError` with a random, growing pause."""
    done = {"created": 0, "updated": 0, "conflicts": 0, "busy": 0}
    errors: list[str] = []
    lock = threading.Lock()
    store = SQLStore(url)

    def count(what: str) -> None:
        with lock:
            done[what] += 1

    def retry(work: Callable[[], None], rng: random.Random) -> None:
        for attempt in itertools.count():
            try:
                work()
                return
            except ConflictError:  # documented: another writer got there first; read again
                count("conflicts")
            except StoreBusyError:  # documented, after TIMEOUT: counted, and the test fails
                count("busy")
            time.sleep(rng.uniform(0, 0.002 * 2 ** min(attempt, 6)))  # let the winner finish

    def create(key: str) -> None:
        with store.unit_of_work() as uow:
            if uow.get("record", key) is not None:
                raise AssertionError("a record was created twice")
            tally = uow.get("tally", "created") or {"n": 0}
            uow.put("tally", "created", {"n": _int(tally["n"]) + 1})
            uow.put("record", key, {"v": 1, "by": "写入者·甲"})
            uow.commit()
        count("created")

    def update(key: str) -> None:
        with store.unit_of_work() as uow:
            doc = uow.get("record", key)
            assert doc is not None
            tally = uow.get("tally", "updated") or {"n": 0}
            uow.put("tally", "updated", {"n": _int(tally["n"]) + 1})
            uow.put("record", key, {**doc, "v": 2})
            uow.commit()
        count("updated")

    def work(t: int) -> None:
        rng = random.Random(proc * 100 + t)
        try:
            for i in range(per_thread):
                key = f"p{proc}-t{t}-{i:03d}"
                retry(functools.partial(create, key), rng)
                retry(functools.partial(update, key), rng)
        except BaseException as exc:  # reported, never swallowed: only documented errors pass
            errors.append(f"{type(exc).__name__}: {exc}"[:300])

    (folder / f"ready-{proc}").touch()
    while not (folder / "go").exists():  # all processes start writing together
        time.sleep(0.005)
    pool = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for th in pool:
        th.start()
    for th in pool:
        th.join()
    store.close()
    return {**done, "errors": errors}


def _r3(url: str, folder: Path) -> None:
    """Four R3 processes at once; then exactly 1,000 records, each updated, nothing lost."""
    with SQLStore(url) as store:  # the schema, before the processes race to create it
        assert {DURABLE, MULTIPROCESS} <= store.capabilities
    env = _env()
    procs = [
        subprocess.Popen(
            [sys.executable, SCRIPT, "r3", *map(str, (url, folder, p, R3_THREADS, R3_PER_THREAD))],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for p in range(R3_PROCESSES)
    ]
    try:
        deadline = time.monotonic() + 60
        while len(list(folder.glob("ready-*"))) < R3_PROCESSES:
            assert time.monotonic() < deadline, "an R3 process did not start"
            assert all(p.poll() is None for p in procs), [p.communicate() for p in procs]
            time.sleep(0.01)
        (folder / "go").touch()
        outputs = [p.communicate(timeout=120) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    assert [p.returncode for p in procs] == [0] * R3_PROCESSES, [err[-3000:] for _, err in outputs]
    reports = [json.loads(out.strip().splitlines()[-1]) for out, _ in outputs]
    assert [r["errors"] for r in reports] == [[]] * R3_PROCESSES
    assert sum(r["busy"] for r in reports) == 0  # TIMEOUT is long enough that none occur
    created = sum(r["created"] for r in reports)
    updated = sum(r["updated"] for r in reports)
    total = R3_PROCESSES * R3_THREADS * R3_PER_THREAD
    assert created == updated == total == 1000
    expected_keys = {
        f"p{p}-t{t}-{i:03d}"
        for p in range(R3_PROCESSES)
        for t in range(R3_THREADS)
        for i in range(R3_PER_THREAD)
    }
    with SQLStore(url) as store:
        records = dict(store.scan("record"))
        assert store.count("record") == len(records) == 1000
        assert set(records) == expected_keys
        assert all(doc == {"v": 2, "by": "写入者·甲"} for doc in records.values())
        # No lost update: the tally holds every acknowledged increment, no more, no fewer.
        assert store.get("tally", "created") == {"n": created}
        assert store.get("tally", "updated") == {"n": updated}
    assert sum(r["conflicts"] for r in reports) > 0  # the writers did contend for the tally


# ---------------------------------------------------------------------------------------------
# The tests.


def _script(*args: object, timeout: float) -> dict[str, int]:
    env = _env()
    done = subprocess.run(
        [sys.executable, str(SCRIPT), *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, int] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_r2_three_writers_killed_in_their_commits_lose_nothing(tmp_path: Path) -> None:
    result = _script("r2", tmp_path, R2_KILLS, 20260301, timeout=200)
    assert R2_KILLS <= result["rounds"] <= 3 * R2_KILLS
    assert result["reopen_failures"] == 0
    assert result["integrity_failures"] == 0
    assert result["lost_acknowledged"] == 0
    assert result["deletes_undone"] == 0
    assert result["lost_updates"] == 0  # each writer's counter, and the shared one
    assert result["shared_drift"] == 0  # at every kill: shared = the sum of the writers' own
    assert result["stalled"] == result["deadlocks"] == 0
    assert result["writer_errors"] == 0  # no writer died of anything but our SIGKILL
    assert result["busy"] == 0
    assert result["in_flight_applied"] <= result["in_flight"] <= result["rounds"]
    assert result["applied"] == result["acknowledged"] + result["in_flight_applied"]
    # Each kill waited for its victim to acknowledge a unit, four in five for it to hold the
    # write lock: as much work, and as many kills inside a commit, under any load.
    assert result["acknowledged"] >= result["required"] == result["rounds"]
    assert result["lock_holder_kills"] >= result["rounds"] // 2  # mostly killed inside a commit
    assert result["in_flight"] > 0  # and so with an operation in flight (kills go on until so)
    assert all(result[f"acknowledged_{w}"] > 0 for w in WRITERS)  # every writer got work done
    assert result["conflicts"] > 0  # the writers did race for the shared counter


def test_a_torn_log_tail_is_dropped_and_the_operation_stays_in_flight(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "r2-A.log")
    fd = os.open(ledger.log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    put = ["put", "A001", {"name": "李小明"}]
    _log(fd, {"seq": 1, "intent": [put]})
    _log(fd, {"seq": 1, "ack": True})
    _log(fd, {"seq": 2, "intent": [["del", "A001"]]})
    os.write(fd, b'{"seq": 2, "ac')  # the kill came inside the acknowledgement's write
    ledger.follow()
    assert ledger.log.read_bytes().endswith(b'"intent": [["del", "A001"]]}\n')
    assert (ledger.acked, ledger.seq, ledger.pending, ledger.torn) == (1, 2, [["del", "A001"]], 1)
    assert ledger.model == {"A001": {"name": "李小明"}, COUNTER: {"n": 1, "seq": 1}}
    result = dict.fromkeys(["in_flight", "in_flight_applied"], 0)
    ledger.reconcile({COUNTER: {"n": 2, "seq": 2}}, result)  # the store says it was applied
    assert result == {"in_flight": 1, "in_flight_applied": 1}
    assert ledger.applied == 2
    _log(fd, {"seq": 3, "intent": [put]})  # the next writer's first line is a line of its own
    os.write(fd, b'{"seq": 3, "in')  # a torn intent: the call was never made
    ledger.follow()
    os.close(fd)
    assert ledger.pending == [put]  # seq 3's whole intent; the torn line was dropped
    assert ledger.torn == 2
    assert ledger.log.read_bytes().endswith(b"\n")


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_r3_sqlite_four_processes_of_threads_create_exactly_1000(tmp_path: Path) -> None:
    _r3(f"sqlite:///{tmp_path}/county.db?timeout={TIMEOUT}", tmp_path)


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.timeout(240)
def test_r3_postgresql_four_processes_of_threads_create_exactly_1000(
    tmp_path: Path, postgres_url: str
) -> None:
    url = with_schema(postgres_url, new_schema())
    _r3(f"{url}&timeout={TIMEOUT}", tmp_path)


def _main(argv: list[str]) -> None:
    if argv[0] == "r2":
        out: dict[str, Any] = run_r2(Path(argv[1]), int(argv[2]), int(argv[3]))
    elif argv[0] == "r3":
        out = run_r3(argv[1], Path(argv[2]), *(int(a) for a in argv[3:6]))
    else:
        raise SystemExit(f"unknown command {argv[0]}")
    print(json.dumps(out))


if __name__ == "__main__":
    _main(sys.argv[1:])
