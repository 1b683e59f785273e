"""Stores opened wrongly (RELIABILITY.md R13, and R6 on SQLite), on real files.

A store is never created by a read, never opened as empty, never replaced when it is read-only,
never written through a link, and a file that is not a whole store is refused with a typed error
naming it and left byte for byte as it was.

The tests run as root in CI. Root may write a file whose mode forbids it, so the read-only
tests check leftbehind's own reading of the modes (which holds for root too); the kernel's part
(a file owned by another user, a folder it may not write) is checked by running this module
as a script that drops to the user ``nobody`` after its imports
(``python tests/test_stores_opened_wrongly.py nobody CASE FOLDER``).
"""

from __future__ import annotations

import errno
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path

import attrs
import pytest
from sqlalchemy import event
from tests.postgres import new_schema, with_schema

import leftbehind
from leftbehind.access import Actor
from leftbehind.backends import sqlite_file
from leftbehind.backends.copy import copy_store
from leftbehind.backends.memory import MemoryStore, open_memory
from leftbehind.backends.sql import SQLStore
from leftbehind.backends.tinydb import TinyDBStore
from leftbehind.domain.model import Enrolment, LeaveReason
from leftbehind.errors import (
    CorruptStoreError,
    StoreError,
    StoreNotFoundError,
    StoreReadOnlyError,
)
from leftbehind.hookspecs import BackendRecord
from leftbehind.plugins import Plugins, hookimpl
from leftbehind.store import Store
from leftbehind.testing.synthetic import synthetic_county

SCRIPT = Path(__file__)
SYSTEM = Actor.system("tests")
NOBODY = 65534
#: A name no synthetic child has, so that its bytes in a file can only be this child's.
MARKED = "诸葛紫萱"
GOOD_JSON = '{"child":{"C001":{"name":"李小明"}}}'.encode()


def _plugins() -> Plugins:
    return Plugins.load(strict=True, load_entrypoints=False)


def _frozen(path: Path) -> tuple[bytes, int]:
    """The file's bytes, after setting its mtime to a mark that any write would move."""
    os.utime(path, ns=(1_000_000_000, 1_000_000_000))
    return path.read_bytes(), path.stat().st_mtime_ns


def _put(store: Store, key: str, doc: dict[str, object]) -> None:
    with store.unit_of_work() as uow:
        uow.put("child", key, doc)
        uow.commit()


# ---------------------------------------------------------------------------------------------
# create: a read never makes a store.


@pytest.mark.parametrize("name", ["county.db", "county.json", "county.sqlite"])
def test_a_missing_store_opened_without_create_is_refused_and_not_made(
    tmp_path: Path, name: str
) -> None:
    path = tmp_path / name
    with pytest.raises(StoreNotFoundError) as info:
        leftbehind.open(str(path), actor=SYSTEM, create=False)
    assert isinstance(info.value, FileNotFoundError)
    assert info.value.errno == errno.ENOENT
    assert info.value.path == path
    assert str(path) in str(info.value)
    assert list(tmp_path.iterdir()) == []  # no file, no lock, no log, no temporary file


@pytest.mark.parametrize("name", ["county.db", "county.json"])
def test_by_default_a_missing_store_is_created_and_then_opened_without_create(
    tmp_path: Path, name: str
) -> None:
    path = tmp_path / name
    with leftbehind.open(str(path), actor=SYSTEM) as county:
        _put(county.store, "C001", {"name": "李小明"})
    with leftbehind.open(str(path), actor=SYSTEM, create=False) as county:
        assert county.store.get("child", "C001") == {"name": "李小明"}


def test_create_true_makes_a_0_byte_file_a_store(tmp_path: Path) -> None:
    for name in ("county.db", "county.json"):
        path = tmp_path / name
        path.touch()
        with _plugins().open_store(str(path), create=True) as store:
            assert store.kinds() == frozenset()
            _put(store, "C001", {"name": "李小明"})
        with _plugins().open_store(str(path), create=False) as store:
            assert store.get("child", "C001") == {"name": "李小明"}


def test_create_true_makes_a_sqlite_database_without_tables_a_store(tmp_path: Path) -> None:
    path = tmp_path / "county.db"
    raw = sqlite3.connect(path)
    raw.execute("PRAGMA user_version = 7")  # writes a header, creates no table
    raw.close()
    before, _ = _frozen(path)
    with pytest.raises(CorruptStoreError, match="without any table"):
        SQLStore(f"sqlite:///{path}")
    assert path.read_bytes() == before
    with SQLStore(f"sqlite:///{path}", create=True) as store:
        _put(store, "C001", {})
        assert store.count("child") == 1


def test_a_sqlite_database_of_another_program_is_refused_even_with_create(
    tmp_path: Path,
) -> None:
    path = tmp_path / "county.db"
    raw = sqlite3.connect(path)
    raw.execute("CREATE TABLE people (name TEXT)")
    raw.execute("INSERT INTO people VALUES ('李小明')")
    raw.commit()
    raw.close()
    before, mtime = _frozen(path)
    for create in (None, False, True):
        with pytest.raises(CorruptStoreError, match="without leftbehind's lb_meta") as info:
            SQLStore(f"sqlite:///{path}", create=create)
        assert "李" not in str(info.value)
    assert path.read_bytes() == before  # not switched to WAL, no table added
    assert path.stat().st_mtime_ns == mtime
    assert sorted(p.name for p in tmp_path.iterdir()) == ["county.db"]


def test_memory_stores_honour_create() -> None:
    with pytest.raises(StoreNotFoundError):
        open_memory("memory://", create=False)
    with pytest.raises(StoreNotFoundError):
        open_memory("memory://nobody-holds-this", create=False)
    with open_memory("memory://held") as held:
        _put(held, "C001", {})
        with open_memory("memory://held", create=False) as again:
            assert again.get("child", "C001") == {}


class _OldBackend:
    """A third-party backend written before ``create``: its factory takes the URL alone."""

    @hookimpl
    def leftbehind_storage_backends(self) -> list[BackendRecord]:
        return [BackendRecord("old", "old", lambda url: MemoryStore())]


def test_a_backend_without_takes_create_opens_by_default_and_refuses_create_false() -> None:
    plugins = _plugins()
    plugins.manager.register(_OldBackend())
    with plugins.open_store("old://x") as store:
        assert isinstance(store, MemoryStore)
    with pytest.raises(StoreError, match="takes_create"):
        plugins.open_store("old://x", create=False)


def test_a_backend_with_takes_create_gets_the_keyword() -> None:
    seen: list[bool | None] = []

    def factory(url: str, *, create: bool | None = None) -> MemoryStore:
        seen.append(create)
        return MemoryStore()

    class NewBackend:
        @hookimpl
        def leftbehind_storage_backends(self) -> list[BackendRecord]:
            return [BackendRecord("new", "new", factory, takes_create=True)]

    plugins = _plugins()
    plugins.manager.register(NewBackend())
    for create in (None, False, True):
        plugins.open_store("new://x", create=create).close()
    assert seen == [None, False, True]


@pytest.mark.postgres
def test_postgresql_without_a_store_and_create_false_is_refused(postgres_url: str) -> None:
    schema = new_schema()
    url = with_schema(postgres_url, schema)
    with pytest.raises(StoreNotFoundError):
        SQLStore(url, create=False)
    probe = SQLStore(with_schema(postgres_url, new_schema()))  # any store, to ask the server
    try:
        with probe.engine.connect() as conn:
            query = "SELECT count(*) FROM information_schema.schemata WHERE schema_name = %s"
            assert conn.exec_driver_sql(query, (schema,)).scalar() == 0  # not created
    finally:
        probe.close()
    with SQLStore(url) as store:  # by default it is
        _put(store, "C001", {})
    with SQLStore(url, create=False) as store:
        assert store.count("child") == 1


# ---------------------------------------------------------------------------------------------
# Creating a SQLite store: whole, once, by one of many.


def test_a_new_sqlite_store_is_whole_from_its_first_byte(tmp_path: Path) -> None:
    path = tmp_path / "county.db"
    with SQLStore(f"sqlite:///{path}") as store:
        assert store.schema_version() >= 1
        assert path.stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["county.db"]  # no temporary left


def test_temporary_files_of_a_dead_creator_are_removed_and_a_live_ones_kept(
    tmp_path: Path,
) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    pid = int(dead.stdout)
    left = [tmp_path / f".county.db.creating-{pid}-0a0b{end}" for end in ("", "-wal", "-shm")]
    live = tmp_path / f".county.db.creating-{os.getpid()}-0c0d"
    other = tmp_path / f".other.db.creating-{pid}-0e0f"
    for p in (*left, live, other):
        p.write_bytes(b"")
    SQLStore(f"sqlite:///{tmp_path}/county.db").close()
    assert not any(p.exists() for p in left)
    assert live.exists()  # its creator may be at work
    assert other.exists()  # another store's


def test_many_creators_at_once_make_one_store(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/county.db?timeout=30"
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def create(n: int) -> None:
        try:
            start.wait()
            with SQLStore(url) as store:
                _put(store, f"C{n}", {"by": n})
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=create, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with SQLStore(url, create=False) as store:
        assert store.count("child") == 6
    assert sorted(p.name for p in tmp_path.iterdir()) == ["county.db"]


# ---------------------------------------------------------------------------------------------
# R6 on SQLite: a file that is not a whole store is refused and left as it was.


@pytest.fixture(scope="module")
def good_sqlite(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """The bytes of a closed SQLite store of 300 children (one of them named MARKED)."""
    path = tmp_path_factory.mktemp("good") / "county.db"
    with SQLStore(f"sqlite:///{path}") as store, store.unit_of_work() as uow:
        for i in range(300):
            name = MARKED if i == 150 else "李小明"
            uow.put("child", f"C{i:04d}", {"name": name, "notes": "留守儿童·关爱" * 20})
        uow.commit()
    return path.read_bytes()


def _page_of(data: bytes, needle: bytes) -> int:
    offset = data.index(needle)
    return offset - offset % int.from_bytes(data[16:18], "big")


def _damaged_page(data: bytes) -> bytes:
    """A leaf page of the documents (the one holding MARKED's document) zeroed."""
    start = _page_of(data, MARKED.encode())
    size = int.from_bytes(data[16:18], "big")
    return data[:start] + bytes(size) + data[start + size :]


def _edited(sql: str) -> Callable[[bytes, Path], bytes]:
    """The store changed by a statement of SQLite's own, as another program would."""

    def edit(good: bytes, folder: Path) -> bytes:
        path = folder / "edit.db"
        path.write_bytes(good)
        raw = sqlite3.connect(path)
        raw.execute(sql)
        raw.commit()
        raw.close()
        data = path.read_bytes()
        path.unlink()
        return data

    return edit


SQLITE_CORRUPT: dict[str, Callable[[bytes, Path], bytes]] = {
    "empty": lambda good, _: b"",
    "header only": lambda good, _: good[:100],
    "truncated to half": lambda good, _: good[: len(good) // 2],
    "truncated mid-page": lambda good, _: good[: len(good) // 2 + 100],
    "trailing garbage": lambda good, _: good + b'"}}garbage',
    "trailing pages": lambda good, _: good + bytes(8192),
    "utf-8 bom": lambda good, _: b"\xef\xbb\xbf" + good,
    "not utf-8": lambda good, _: "李小明的档案".encode("gb18030") * 100,
    "json": lambda good, _: GOOD_JSON,
    "damaged page": lambda good, _: _damaged_page(good),
    "no schema version": _edited("DELETE FROM lb_meta WHERE name = 'schema_version'"),
    "schema version not a number": _edited(
        "UPDATE lb_meta SET value = 'five' WHERE name = 'schema_version'"
    ),
    "no document table": _edited("DROP TABLE lb_document"),
}


@pytest.mark.parametrize("case", list(SQLITE_CORRUPT))
def test_r6_a_corrupt_sqlite_file_is_refused_and_untouched(
    tmp_path: Path, good_sqlite: bytes, case: str
) -> None:
    data = SQLITE_CORRUPT[case](good_sqlite, tmp_path)
    path = tmp_path / "county.db"
    path.write_bytes(data)
    _, mtime = _frozen(path)
    # With create=True a 0-byte file is made a store (asked for); nothing else is.
    for create in (None, False) if case == "empty" else (None, False, True):
        with pytest.raises(CorruptStoreError) as info:
            _plugins().open_store(str(path), create=create)
        assert info.value.path == path
        assert str(path) in str(info.value)
        assert "李" not in str(info.value)
        assert MARKED not in str(info.value)
        assert isinstance(info.value, ValueError)
    assert path.read_bytes() == data
    assert path.stat().st_mtime_ns == mtime
    assert sorted(p.name for p in tmp_path.iterdir()) == ["county.db"]  # no -wal, no -shm


def test_the_good_store_of_the_r6_cases_opens(tmp_path: Path, good_sqlite: bytes) -> None:
    path = tmp_path / "county.db"
    path.write_bytes(good_sqlite)
    with SQLStore(f"sqlite:///{path}", create=False) as store:
        assert store.count("child") == 300
        store.verify()


def test_past_the_quick_check_limit_a_damaged_page_is_found_when_read(
    tmp_path: Path, good_sqlite: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "county.db"
    path.write_bytes(_damaged_page(good_sqlite))
    before, _ = _frozen(path)
    monkeypatch.setattr(sqlite_file, "QUICK_CHECK_LIMIT", 0)  # the file counts as large
    with SQLStore(f"sqlite:///{path}") as store:  # the bounded check does not read that page
        with pytest.raises(CorruptStoreError) as info:
            dict(store.scan("child"))
        assert str(path) in str(info.value)
        with pytest.raises(CorruptStoreError, match="quick_check"):
            store.verify()
        with SQLStore(f"sqlite:///{tmp_path}/copy.db") as target:
            with pytest.raises(CorruptStoreError):
                copy_store(store, target)
            assert target.kinds() == frozenset()
    assert path.read_bytes() == before


# ---------------------------------------------------------------------------------------------
# secure_delete: a purged child's bytes leave the file.


def test_every_sqlite_connection_deletes_securely(tmp_path: Path) -> None:
    with SQLStore(f"sqlite:///{tmp_path}/county.db") as store, store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA secure_delete").scalar() == 1


@pytest.mark.parametrize("secure", [True, False], ids=["secure_delete", "control"])
def test_a_purged_childs_name_and_id_leave_the_sqlite_file(tmp_path: Path, secure: bool) -> None:
    """The control turns ``secure_delete`` off on the store's connections: the same purge
    then leaves the bytes, so the test would see them (whatever the SQLite build's default)."""
    as_of = date(2026, 4, 15)
    data = synthetic_county(seed=5, children=40, as_of=as_of)
    children = list(data.facts.children)
    at = next(i for i, c in enumerate(children) if c.resident_id and i >= 20)
    child = children[at]
    e = child.enrolments[-1]
    gone = Enrolment(e.school_id, e.start, e.grade, e.class_name, e.start + timedelta(days=60),
                     LeaveReason.GRADUATED)  # fmt: skip
    children[at] = old = attrs.evolve(
        child, name=MARKED, enrolments=(*child.enrolments[:-1], gone), father=None
    )
    path = tmp_path / "county.db"
    with leftbehind.open(str(path), actor=SYSTEM, today=lambda: as_of) as county:
        county.put_schools(data.facts.schools)
        county.put_children(children)
    secrets = (MARKED.encode(), old.resident_id.encode())
    assert all(s in path.read_bytes() for s in secrets)
    with leftbehind.open(str(path), actor=SYSTEM, today=lambda: as_of) as county:
        store = county.store
        assert isinstance(store, SQLStore)
        if not secure:
            event.listen(store.engine, "connect", _insecure)
            store.engine.dispose()  # the pooled connections go; new ones are made insecure
        assert old.id in county.purge(older_than_years=0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["county.db"]  # the log is checkpointed
    left = [s for s in secrets if s in path.read_bytes()]
    assert left == ([] if secure else list(secrets))


def _insecure(dbapi_connection: sqlite3.Connection, record: object) -> None:
    dbapi_connection.execute("PRAGMA secure_delete = OFF")


# ---------------------------------------------------------------------------------------------
# TinyDB: duplicate keys, read-only files and folders, links.

DUPLICATES = {
    "a table twice": b'{"child":{"C001":{"name":"a"}},"child":{"C002":{"name":"b"}}}',
    "a child twice": '{"child":{"C001":{"name":"李小明"},"C001":{"name":"王芳"}}}'.encode(),
    "a field twice": '{"child":{"C001":{"name":"李小明","name":"王芳"}}}'.encode(),
    "deep inside": b'{"child":{"C001":{"parents":[{"role":"f","role":"m"}]}}}',
}


@pytest.mark.parametrize("case", list(DUPLICATES))
def test_a_duplicate_key_anywhere_in_a_tinydb_file_is_refused(tmp_path: Path, case: str) -> None:
    path = tmp_path / "county.json"
    path.write_bytes(DUPLICATES[case])
    before, mtime = _frozen(path)
    with pytest.raises(CorruptStoreError, match="same key twice") as info:
        TinyDBStore(path)
    assert str(path) in str(info.value)
    assert "李" not in str(info.value)
    assert "王" not in str(info.value)
    assert path.read_bytes() == before
    assert path.stat().st_mtime_ns == mtime


@pytest.fixture
def tinydb_file(tmp_path: Path) -> Path:
    path = tmp_path / "county.json"
    with TinyDBStore(path) as store:
        _put(store, "C001", {"name": "李小明"})
    return path


def test_a_read_only_tinydb_file_is_read_and_never_replaced(tinydb_file: Path) -> None:
    tinydb_file.chmod(0o444)
    before, mtime = _frozen(tinydb_file)
    inode = tinydb_file.stat().st_ino
    with TinyDBStore(tinydb_file) as store:
        assert store.get("child", "C001") == {"name": "李小明"}
        with store.unit_of_work() as uow:
            uow.put("child", "C002", {"name": "王芳"})
            with pytest.raises(StoreReadOnlyError, match="0444") as info:
                uow.commit()
        assert isinstance(info.value, PermissionError)
        assert str(tinydb_file) in str(info.value)
        assert store.get("child", "C002") is None
    assert tinydb_file.read_bytes() == before
    assert tinydb_file.stat().st_ino == inode  # not replaced by a copy
    assert tinydb_file.stat().st_mtime_ns == mtime
    assert tinydb_file.stat().st_mode & 0o777 == 0o444
    assert sorted(p.name for p in tinydb_file.parent.iterdir()) == [
        "county.json",
        "county.json.lock",
    ]  # no temporary file


def test_a_read_only_sqlite_file_is_read_and_never_written(tmp_path: Path) -> None:
    path = tmp_path / "county.db"
    with SQLStore(f"sqlite:///{path}") as store:
        _put(store, "C001", {"name": "李小明"})
    path.chmod(0o444)
    before, mtime = _frozen(path)
    with SQLStore(f"sqlite:///{path}", create=False) as store:
        assert store.get("child", "C001") == {"name": "李小明"}
        with store.unit_of_work() as uow:
            uow.put("child", "C002", {})
            with pytest.raises(StoreReadOnlyError) as info:
                uow.commit()
        assert str(path) in str(info.value)
        assert store.get("child", "C002") is None
    assert path.read_bytes() == before
    assert path.stat().st_mtime_ns == mtime
    assert path.stat().st_mode & 0o777 == 0o444


def test_a_tinydb_store_in_a_read_only_folder_is_read_without_a_lock_file(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    path = folder / "county.json"
    path.write_bytes(GOOD_JSON)
    before, _ = _frozen(path)
    folder.chmod(0o555)
    try:
        with TinyDBStore(path) as store:
            assert store.get("child", "C001") == {"name": "李小明"}
            with store.unit_of_work() as uow:
                uow.put("child", "C002", {})
                with pytest.raises(StoreReadOnlyError, match="folder") as info:
                    uow.commit()
            assert str(path) in str(info.value)
        with TinyDBStore(folder / "new.json") as empty:  # a missing file: an empty store
            assert empty.count("child") == 0
            with empty.unit_of_work() as uow:
                uow.put("child", "C001", {})
                with pytest.raises(StoreReadOnlyError):
                    uow.commit()
        assert sorted(p.name for p in folder.iterdir()) == ["county.json"]  # no lock file
        assert path.read_bytes() == before
    finally:
        folder.chmod(0o755)


def test_a_tinydb_store_through_a_link_writes_the_target_and_keeps_the_link(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    target = data / "county.json"
    target.write_bytes(GOOD_JSON)
    link = tmp_path / "current.json"
    link.symlink_to(os.path.relpath(target, tmp_path))  # a relative link, as people make them
    with TinyDBStore(link) as store, TinyDBStore(target) as direct:
        assert store.path == target
        _put(store, "C002", {"name": "王芳"})
        assert direct.get("child", "C002") == {"name": "王芳"}  # one file, one lock
        _put(direct, "C003", {})
        assert store.get("child", "C003") == {}
    assert link.is_symlink()
    assert link.resolve() == target
    assert json.loads(target.read_text("utf-8"))["child"].keys() == {"C001", "C002", "C003"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["current.json", "data"]
    assert sorted(p.name for p in data.iterdir()) == ["county.json", "county.json.lock"]


def test_a_sqlite_store_through_a_link_is_the_targets(tmp_path: Path) -> None:
    target = tmp_path / "data.db"
    link = tmp_path / "county.db"
    link.symlink_to(target.name)  # dangling: the store is created at the target
    with SQLStore(f"sqlite:///{link}") as store:
        assert store.where == str(target)
        _put(store, "C001", {})
    assert link.is_symlink()
    with SQLStore(f"sqlite:///{target}", create=False) as store:
        assert store.count("child") == 1


# ---------------------------------------------------------------------------------------------
# The kernel's part, as the user nobody (the script below).


def _nobody_other_users_file(folder: Path) -> None:
    """A store file this user may not write, in a folder it may: never replaced."""
    path = folder / "county.json"
    before = path.read_bytes()
    with TinyDBStore(path) as store:
        assert store.get("child", "C001") == {"name": "李小明"}
        with store.unit_of_work() as uow:
            uow.put("child", "C002", {})
            with pytest.raises(StoreReadOnlyError, match="may not write the file"):
                uow.commit()
    assert path.read_bytes() == before


def _nobody_read_only_folder(folder: Path) -> None:
    """A store file this user owns, in a folder it may not write: read, never written."""
    path = folder / "county.json"
    with TinyDBStore(path) as store:
        assert store.get("child", "C001") == {"name": "李小明"}
        with store.unit_of_work() as uow:
            uow.put("child", "C002", {})
            with pytest.raises(StoreReadOnlyError, match="may not write its folder"):
                uow.commit()
    assert sorted(p.name for p in folder.iterdir()) == ["county.json"]


AS_NOBODY: dict[str, Callable[[Path], None]] = {
    "other user's file": _nobody_other_users_file,
    "read-only folder": _nobody_read_only_folder,
}


@pytest.fixture
def shared_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A folder the user nobody can reach (pytest's own are root's alone)."""
    if os.geteuid() != 0:
        pytest.skip("needs root, to run a part as the user nobody")
    folder = Path(tempfile.mkdtemp(prefix="leftbehind-r13-", dir="/tmp"))
    try:
        yield folder
    finally:
        for p in folder.iterdir():
            p.unlink()
        folder.rmdir()


@pytest.mark.parametrize("case", list(AS_NOBODY))
def test_as_another_user_permissions_hold(shared_folder: Path, case: str) -> None:
    path = shared_folder / "county.json"
    path.write_bytes(GOOD_JSON)
    path.chmod(0o644)
    if case == "other user's file":
        os.chown(shared_folder, NOBODY, NOBODY)  # nobody may replace files here ...
    else:
        os.chown(path, NOBODY, NOBODY)  # ... or may write this file, in root's folder
    shared_folder.chmod(0o755)
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "nobody", case, str(shared_folder)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().endswith("ok")
    assert path.read_bytes() == GOOD_JSON


def _main(argv: list[str]) -> None:
    command, case, folder = argv
    if command != "nobody":
        raise SystemExit(f"unknown command {command}")
    os.setgroups([])
    os.setgid(NOBODY)
    os.setuid(NOBODY)
    AS_NOBODY[case](Path(folder))
    print("ok")


if __name__ == "__main__":
    _main(sys.argv[1:])
