"""A SQLite store's file before the store connects to it: checked, or created whole.

SQLite opens almost anything: a missing path becomes a new empty database, a 0-byte file an empty
database, a file with bytes added at its end or a damaged page is used until a query trips on
the damage, and setting ``journal_mode = WAL`` rewrites the header of any database it is given.
A store of children's records must never be replaced by an empty one, opened damaged, nor
changed by a failed open, so :func:`prepare` looks at the file first, with its own read-only
connection, before :mod:`leftbehind.backends.sql` connects (read-write, never creating):

- **A missing file** is created only when the caller allows it (``create`` is not ``False``),
  and whole: the schema is written to a temporary file in the same folder
  (``.<name>.creating-<pid>-<random>``), which is then hard-linked to the store's name.
  ``os.link`` fails rather than replace a file that appeared meanwhile (another process
  creating the same store), and a crash leaves no file or a complete store, never a 0-byte one.
  The temporary files of a creator that died are removed by the next open.
- **An existing file** must be a leftbehind store: SQLite's header; a size that is a whole
  number of the header's pages and, when no write-ahead log is pending, the number of pages the
  header counts (bytes cut off or added at the end are refused, which SQLite's own checks miss);
  a ``lb_meta`` table with a schema version and the tables of that version. Files up to
  :data:`QUICK_CHECK_LIMIT` also get SQLite's ``PRAGMA quick_check`` (every b-tree page read and
  checked; it cannot see changed bytes inside a row, since SQLite keeps no checksums). A file
  that fails is refused with :class:`~leftbehind.errors.CorruptStoreError` naming it, and is
  left byte for byte as it was; a 0-byte file or a database without any table is made a store
  only when the caller asks to create (``create=True``).

Why not ``quick_check`` on every open: measured on a 2-core Linux machine with a county's
store (194 MiB), it took 0.21-0.32 s with the file in the page cache but 2.7-3.7 s cold (the
first command of the day), about 14 ms per MiB cold and 1.2 ms warm; at 16 MiB it costs at most
a quarter of a second. Past the limit, a damaged page is found when a query reads it
(:class:`~leftbehind.errors.CorruptStoreError`, nothing written), by
:meth:`leftbehind.backends.sql.SQLStore.verify`, and by ``leftbehind copy``, which verifies both
stores whatever their size.
"""

from __future__ import annotations

import errno
import os
import re
import secrets
import sqlite3
from collections.abc import Callable, Collection, Sequence
from contextlib import closing, suppress
from pathlib import Path
from typing import Final

from leftbehind.errors import (
    CorruptStoreError,
    StoreBusyError,
    StoreError,
    StoreIOError,
    StoreNotFoundError,
    StoreReadOnlyError,
)

__all__ = ["QUICK_CHECK_LIMIT", "damage", "prepare", "translate"]

#: Files up to this many bytes (with their write-ahead log) get SQLite's full
#: ``PRAGMA quick_check`` each time they are opened: 16 MiB, about a quarter of a second cold.
QUICK_CHECK_LIMIT: Final = 16 * 2**20

_MAGIC = b"SQLite format 3\x00"
_HEADER = 100
_CREATING = ".creating-"
_POSIX = os.name == "posix"


def damage(rows: Sequence[tuple[object, ...]]) -> str | None:
    """What ``PRAGMA quick_check`` or ``integrity_check`` rows report, or ``None`` for "ok".

    SQLite's report names pages, rows by number and indexes, never a stored value; only its
    first line is kept.
    """
    if [tuple(r) for r in rows] == [("ok",)]:
        return None
    first = str(rows[0][0]) if rows else "no answer"
    return f"SQLite's quick_check found damage: {first.splitlines()[0][:200]}"


def translate(where: str | Path, step: str, exc: sqlite3.Error, timeout: float) -> StoreError:
    """The typed error for a SQLite error (its message holds no stored value)."""
    message = str(exc)
    if "locked" in message or "busy" in message:
        return StoreBusyError(where, timeout)
    if "not a database" in message or "malformed" in message or "corrupt" in message:
        return CorruptStoreError(where, f"SQLite says: {message}")
    if "readonly" in message:
        return StoreReadOnlyError(where, f"SQLite says: {message}")
    return StoreIOError(where, step, OSError(errno.EIO, f"SQLite: {message}"))


def prepare(
    path: Path,
    *,
    create: bool | None,
    timeout: float,
    known_version: int,
    tables: Collection[str],
    build: Callable[[Path], None],
) -> bool:
    """Make sure ``path`` is a leftbehind store the backend may open, creating it if allowed.

    :param create: ``False``, a missing file raises
        :class:`~leftbehind.errors.StoreNotFoundError`; ``None``, it is created; ``True``, it is
        created and an existing empty file (0 bytes, or a database without any table) is
        accepted to be made a store.
    :param known_version: the newest schema version this code knows: a store at that version
        must hold every table of ``tables``; a store at an older one, ``lb_meta`` and
        ``lb_document`` (its upgrade makes the others); a newer one is left to the caller.
    :param build: writes a new store's schema into the (empty, existing) file it is given.
    :returns: whether the file is empty and is to be made a store where it is.
    """
    folder = path.parent
    if not folder.is_dir():
        raise StoreIOError(path, "opening", FileNotFoundError(errno.ENOENT, "no such folder"))
    _remove_dead_creations(path)
    if not path.exists():
        if create is False:
            raise StoreNotFoundError(path)
        _create(path, build)
    return _check(path, create=create, timeout=timeout, known=known_version, tables=tables)


# ---------------------------------------------------------------------------------------------
# Creating a store whole.


def _create(path: Path, build: Callable[[Path], None]) -> None:
    tmp = path.with_name(f".{path.name}{_CREATING}{os.getpid()}-{secrets.token_hex(4)}")
    try:  # children's records: readable by their owner only (the log files inherit the mode)
        os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except OSError as exc:
        raise StoreIOError(path, "creating", exc) from exc
    try:
        build(tmp)
        _fsync(tmp)
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process created the store meanwhile: open theirs
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS):
                raise
            # A file system without hard links: a rename, which would replace a store made in
            # the instant since the look above (an empty one, made the same way).
            if not path.exists():
                os.replace(tmp, path)
        _fsync_folder(path.parent)
    except StoreError:
        raise  # the build's own error, already typed and naming the file
    except OSError as exc:
        raise StoreIOError(path, "creating", exc) from exc
    finally:
        for leftover in _creation_files(tmp):
            with suppress(FileNotFoundError):
                leftover.unlink()


def _creation_files(tmp: Path) -> list[Path]:
    return [tmp, *(tmp.with_name(tmp.name + end) for end in ("-wal", "-shm", "-journal"))]


def _remove_dead_creations(path: Path) -> None:
    """Remove the temporary files of creators of this store that died (never a live one's).

    They hold an empty schema at most, never a document. A folder this process may not write
    is left alone, and so is Windows, where no process is asked whether it lives.
    """
    if not _POSIX or not os.access(path.parent, os.W_OK):
        return
    pattern = re.compile(re.escape(f".{path.name}{_CREATING}") + r"(\d+)-")
    for found in path.parent.glob(f".{_glob_escape(path.name)}{_CREATING}*"):
        m = pattern.match(found.name)
        if m and not _alive(int(m.group(1))):
            with suppress(OSError):  # best effort: another open may be removing it too
                found.unlink()


def _glob_escape(name: str) -> str:
    """``name`` with glob's special characters taken literally."""
    return re.sub(r"([*?\[])", r"[\1]", name)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_folder(folder: Path) -> None:
    if _POSIX:  # Windows cannot fsync a folder; a rename or link is durable once it returns
        _fsync(folder)


# ---------------------------------------------------------------------------------------------
# Checking an existing file.


def _check(
    path: Path, *, create: bool | None, timeout: float, known: int, tables: Collection[str]
) -> bool:
    size, pending = _check_bytes(path)
    if size == 0:
        if create is True:
            return True
        empty = "the file is empty (0 bytes), not a store; pass create=True to make it one"
        raise CorruptStoreError(path, empty)
    quick = size + _size(Path(f"{path}-wal")) <= QUICK_CHECK_LIMIT
    found, meta = _look(path, timeout, quick=quick, immutable=not pending)
    if "lb_meta" not in found:
        if not found and create is True:
            return True
        if not found:
            problem = "a SQLite database without any table, not a store; pass create=True"
        else:
            problem = "a SQLite database without leftbehind's lb_meta table, not a store"
        raise CorruptStoreError(path, problem)
    _check_shape(path, meta, found, known, tables)
    return False


def _check_bytes(path: Path) -> tuple[int, bool]:
    """The file's size and whether a log is pending, once its header and size are found
    right (a 0-byte file is left to the caller)."""
    try:
        with path.open("rb") as f:
            size = os.fstat(f.fileno()).st_size
            head = f.read(_HEADER)
    except OSError as exc:
        raise StoreIOError(path, "opening", exc) from exc
    if size == 0:
        return 0, False
    problem = _header_problem(head)
    if problem is not None:
        raise CorruptStoreError(path, problem)
    pending = _log_pending(path)
    if not pending:
        problem = _size_problem(head, size)
        if problem is not None and not _log_pending(path):  # a writer may have begun meanwhile
            raise CorruptStoreError(path, problem)
    return size, pending


def _size(path: Path) -> int:
    try:
        return os.stat(path).st_size
    except FileNotFoundError:
        return 0
    except OSError as exc:
        raise StoreIOError(path, "stat", exc) from exc


def _log_pending(path: Path) -> bool:
    """Whether a write-ahead log or a rollback journal holds pages the file does not have yet
    (a writer at work, or one that crashed): the file's own size is then not the database's."""
    return _size(Path(f"{path}-wal")) > 0 or _size(Path(f"{path}-journal")) > 0


def _page_size(head: bytes) -> int:
    page = int.from_bytes(head[16:18], "big")
    return 65536 if page == 1 else page


def _header_problem(head: bytes) -> str | None:
    if not head.startswith(_MAGIC):
        return "not a SQLite database (it does not begin with SQLite's header)"
    if len(head) < _HEADER:
        return "truncated: shorter than SQLite's 100-byte header"
    page = _page_size(head)
    if page < 512 or page & (page - 1):
        return "its header names an impossible page size"
    return None


def _size_problem(head: bytes, size: int) -> str | None:
    """Whether the file's size disagrees with its header (only meaningful while no log is
    pending: a log holds pages the file does not have yet)."""
    page = _page_size(head)
    if size % page:
        return "truncated or lengthened: its size is not a whole number of pages"
    counted = int.from_bytes(head[28:32], "big")
    # The header's page count is SQLite's own only while "version-valid-for" equals the change
    # counter (every SQLite since 3.7.0 keeps them so).
    if counted == 0 or head[24:28] != head[92:96]:
        return None
    held = size // page
    if held < counted:
        return f"truncated: its header counts {counted} pages, the file holds {held}"
    if held > counted:
        return f"lengthened: {held - counted} pages after the {counted} its header counts"
    return None


def _look(
    path: Path, timeout: float, *, quick: bool, immutable: bool
) -> tuple[set[str], dict[str, str]]:
    """The file's tables and ``lb_meta``, read through a read-only connection (which never
    writes the file; ``immutable`` when no log is pending, so it makes no ``-wal``/``-shm``
    beside a file it may refuse), after ``quick_check`` when ``quick``."""
    uri = f"{path.as_uri()}?mode=ro" + ("&immutable=1" if immutable else "")
    try:
        with closing(sqlite3.connect(uri, uri=True, timeout=timeout)) as conn:
            if quick:
                problem = damage(conn.execute("PRAGMA quick_check(1)").fetchall())
                if problem is not None:
                    raise CorruptStoreError(path, problem)
            query = "SELECT name FROM sqlite_master WHERE type = 'table'"
            found = {str(name) for (name,) in conn.execute(query)}
            meta: dict[str, str] = {}
            if "lb_meta" in found:
                rows = conn.execute("SELECT name, value FROM lb_meta").fetchall()
                meta = {str(n): str(v) for n, v in rows}
    except sqlite3.Error as exc:
        raise translate(path, "opening", exc, timeout) from exc
    return found, meta


def _check_shape(
    path: Path, meta: dict[str, str], found: set[str], known: int, tables: Collection[str]
) -> None:
    raw = meta.get("schema_version", "")
    if not raw.isascii() or not raw.isdigit() or int(raw) < 1:
        raise CorruptStoreError(path, "wrong shape: lb_meta holds no schema version")
    version = int(raw)
    if version > known:
        return  # the backend refuses a store newer than it knows, untouched
    wanted = set(tables) if version == known else {"lb_meta", "lb_document"}
    missing = sorted(wanted - found)
    if missing:
        problem = f"wrong shape: schema version {version} without table {', '.join(missing)}"
        raise CorruptStoreError(path, problem)
