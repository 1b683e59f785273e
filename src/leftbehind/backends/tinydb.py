"""TinyDB, the embedded default: one UTF-8 JSON file, a plain path or ``tinydb:///path``.

The file is a TinyDB database whose tables are our kinds and whose document ids are our keys
(``{"child": {"C001": {...}}}``); it is read and written through :class:`DurableJSONStorage`, a
TinyDB :class:`~tinydb.storages.Storage` that replaces TinyDB's in-place rewrite (which a crash can
leave truncated or with trailing bytes) with the recipe that held under kill tests:

1. an exclusive lock on ``<file>.lock`` (:mod:`filelock`) held across the whole
   read-modify-write, re-reading the file inside the lock when another writer changed it;
2. the new content written to a temporary file in the same folder, then ``fsync``;
3. ``os.replace`` over the store file, then ``fsync`` of the folder.

A unit of work is one file write (never one write per document). A failed write or fsync is an
error, never an acknowledgement. An empty, truncated or unparsable file, or one where a key
appears twice in an object (a parser would keep one and silently drop the other), raises
:class:`~leftbehind.errors.CorruptStoreError` naming it, and is never opened as empty nor touched.
A missing file is an empty store; the file is created by the first commit (``create=False``
refuses a missing file instead, ``create=True`` also takes a 0-byte file as a new store). A
temporary file left by a killed writer is removed by the next open that finds the store
unlocked.

Permissions are the file's and the folder's, read from their modes as well as asked of the
system, since ``os.replace`` needs only the folder's permission and root may write anything: a
file whose mode has no owner-write bit, or that the process may not write, or in a folder that
is not writable, is read as usual and a commit raises
:class:`~leftbehind.errors.StoreReadOnlyError` without touching it. Readers take no lock, so a
store in a read-only folder is read without creating its lock file. A store path that is a
symbolic link is resolved once, when the store is opened: commits replace the link's target
(the lock is the target's), and the link stays a link.

Options in the URL's query: ``tinydb:///srv/county.json?timeout=30`` (seconds to wait for the lock,
default :data:`DEFAULT_TIMEOUT`). Past :data:`SIZE_LIMIT` bytes a
:class:`~leftbehind.errors.StoreSizeWarning` says to move to SQLite: every commit rewrites the
whole file.
"""

from __future__ import annotations

import errno
import json
import os
import secrets
import threading
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import IO, Any
from urllib.parse import parse_qsl

from filelock import FileLock, Timeout
from tinydb.storages import Storage

from leftbehind._markers import hookimpl
from leftbehind.backends.files import read_only_reason
from leftbehind.errors import (
    CorruptStoreError,
    StoreBusyError,
    StoreIOError,
    StoreNotFoundError,
    StoreReadOnlyError,
    StoreSizeWarning,
    StoreURLError,
)
from leftbehind.hookspecs import PLAIN_PATH, BackendRecord
from leftbehind.store import (
    DURABLE,
    MULTIPROCESS,
    VERSIONED,
    BaseStore,
    Changes,
    Document,
    JSONScalar,
    check_kind,
    copy_document,
    matches,
)

__all__ = [
    "DEFAULT_TIMEOUT",
    "SIZE_LIMIT",
    "DurableJSONStorage",
    "TinyDBStore",
    "open_tinydb",
]

SCHEME = "tinydb"
#: Seconds a commit waits for another writer's lock before
#: :class:`~leftbehind.errors.StoreBusyError`.
DEFAULT_TIMEOUT = 10.0
#: File size (bytes) past which a :class:`~leftbehind.errors.StoreSizeWarning` recommends
#: SQLite: 16 MiB, about 17,000-20,000 children of 26 fields, where one commit took 0.6 s on a
#: busy two-core machine.
SIZE_LIMIT = 16 * 1024 * 1024
TEMP_SUFFIX = ".tmp"

_POSIX = os.name == "posix"
_Tables = dict[str, dict[str, Document]]
_Identity = tuple[int, int, int, int]


def _identity(st: os.stat_result) -> _Identity:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


class _DuplicateKeyError(Exception):
    """An object of the file holds one key twice (its position is not known to the parser)."""


def _unique_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # json keeps the last of two equal keys: a table or a child written twice would lose one
    # silently, and the next commit would make the loss permanent.
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise _DuplicateKeyError
    return obj


#: Errors of the system that mean "you may not write here" rather than a failing disk.
_DENIED = frozenset({errno.EACCES, errno.EPERM, errno.EROFS})


#: The version of a kind without documents.
_NO_TABLE: Mapping[str, Any] = MappingProxyType({})


class DurableJSONStorage(Storage):
    """A TinyDB storage that reads strictly and writes atomically and durably.

    ``read`` refuses anything but ``{table: {doc_id: {document}}}`` in UTF-8 JSON; ``write`` goes
    through a temporary file, ``fsync``, ``os.replace`` and an ``fsync`` of the folder. The file
    last read or written stays open, so its inode cannot be reused and :meth:`changed` (a
    ``stat``) tells reliably whether another writer replaced it. It does no locking: the caller
    holds the lock across read-modify-write.
    """

    def __init__(self, path: str | os.PathLike[str], *, empty_is_new: bool = False) -> None:
        super().__init__()
        self.path = Path(path)
        self._pinned: IO[bytes] | None = None
        self._identity: _Identity | None = None
        # A 0-byte file read as a new store, once: asked for by the caller (create=True) when
        # the store is opened; an empty file found later is damage.
        self._empty_is_new = empty_is_new

    @property
    def size(self) -> int:
        """Bytes of the file last read or written (0 when there was none)."""
        return self._identity[2] if self._identity else 0

    def changed(self) -> bool:
        """Whether the file differs from the one last read or written."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return self._identity is not None
        except OSError as exc:
            raise StoreIOError(self.path, "stat", exc) from exc
        return _identity(st) != self._identity

    def read(self) -> _Tables | None:
        """The tables, or ``None`` when the file does not exist."""
        try:
            f = open(self.path, "rb")  # noqa: SIM115 -- kept open to pin the inode
        except FileNotFoundError:
            self._pin(None, None)
            return None
        except OSError as exc:
            raise StoreIOError(self.path, "opening", exc) from exc
        try:
            st = os.fstat(f.fileno())
            raw = f.read()
        except OSError as exc:
            f.close()
            raise StoreIOError(self.path, "reading", exc) from exc
        empty_is_new, self._empty_is_new = self._empty_is_new, False
        try:
            tables = {} if empty_is_new and not raw else self._parse(raw)
        except BaseException:
            f.close()
            raise
        self._pin(f, _identity(st))
        return tables

    def _parse(self, raw: bytes) -> _Tables:
        if not raw:
            raise CorruptStoreError(self.path, "the file is empty (0 bytes)")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CorruptStoreError(self.path, f"not UTF-8 at byte {exc.start}") from None
        try:
            data = json.loads(
                text, parse_constant=_reject_constant, object_pairs_hook=_unique_object
            )
        except _DuplicateKeyError:
            problem = "an object holds the same key twice (one of them would be silently lost)"
            raise CorruptStoreError(self.path, problem) from None
        except json.JSONDecodeError as exc:
            problem = f"not JSON at line {exc.lineno} column {exc.colno} ({exc.msg})"
            raise CorruptStoreError(self.path, problem) from None
        except (ValueError, RecursionError) as exc:
            raise CorruptStoreError(self.path, f"not JSON ({exc})") from None
        if not isinstance(data, dict):
            raise CorruptStoreError(self.path, "the top level is not an object of tables")
        for name, table in data.items():
            if not isinstance(table, dict):
                raise CorruptStoreError(self.path, f"table {name!r} is not an object")
            if not all(isinstance(doc, dict) for doc in table.values()):
                raise CorruptStoreError(self.path, f"table {name!r} holds a non-object document")
        return data

    def read_only_reason(self) -> str | None:
        """Why the file may not be replaced (its mode or its folder's), or ``None``."""
        return read_only_reason(self.path.parent, f"its folder {self.path.parent}") or (
            read_only_reason(self.path, "the file")
        )

    def write(self, data: _Tables) -> None:
        """Replace the file with ``data``: temporary file, fsync, ``os.replace``, fsync folder.

        Raises :class:`~leftbehind.errors.StoreReadOnlyError`, writing nothing, when
        :meth:`read_only_reason` gives a reason.
        """
        reason = self.read_only_reason()
        if reason is not None:
            raise StoreReadOnlyError(self.path, reason)
        raw = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        payload = raw.encode("utf-8")
        tmp = self.path.with_name(f".{self.path.name}.{secrets.token_hex(6)}{TEMP_SUFFIX}")
        mode = self._mode()
        step = "creating a temporary file"
        fd = -1
        try:
            fd = os.open(
                tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), mode
            )
            if _POSIX:
                os.fchmod(fd, mode)  # the umask must not loosen nor tighten an existing file
            step = "writing"
            view = memoryview(payload)
            while view:
                view = view[os.write(fd, view) :]
            step = "fsync of the temporary file"
            os.fsync(fd)
            step = "replacing the store file"
            os.replace(tmp, self.path)
        except OSError as exc:
            if fd >= 0:
                os.close(fd)
            tmp.unlink(missing_ok=True)
            raise StoreIOError(self.path, step, exc) from exc
        f = open(fd, "wb", closefd=True)  # noqa: SIM115 -- pins the new inode
        self._pin(f, _identity(os.fstat(fd)))
        try:
            _fsync_folder(self.path.parent)
        except OSError as exc:
            self._pin(None, None)  # the outcome is unknown: read the file again next time
            raise StoreIOError(self.path, "fsync of the folder", exc) from exc

    def _mode(self) -> int:
        try:
            return os.stat(self.path).st_mode & 0o777
        except OSError:
            return 0o600  # children's records: readable by their owner only

    def _pin(self, f: IO[bytes] | None, identity: _Identity | None) -> None:
        old, self._pinned, self._identity = self._pinned, f, identity
        if old is not None:
            old.close()
        if not _POSIX and f is not None:
            # Windows cannot replace a file another handle holds open; compare stats only.
            self._pinned = None
            f.close()

    def temp_files(self) -> list[Path]:
        """Temporary files of this store in its folder (left by a writer that was killed)."""
        return sorted(self.path.parent.glob(f".{self.path.name}.*{TEMP_SUFFIX}"))

    def close(self) -> None:
        self._pin(None, None)


def _fsync_folder(folder: Path) -> None:
    if not _POSIX:
        return  # Windows has no fsync of a folder; os.replace is durable there once it returns
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class TinyDBStore(BaseStore):
    """A store in one JSON file, safe across threads and processes (see the module docs).

    ``create``: ``None`` (the default), a missing file is an empty store that the first commit
    creates; ``False``, a missing file raises :class:`~leftbehind.errors.StoreNotFoundError`;
    ``True``, a 0-byte file is a new, empty store too (otherwise it is damage). ``path`` is
    the file itself, a link resolved.
    """

    capabilities: frozenset[str] = frozenset({DURABLE, MULTIPROCESS, VERSIONED})

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        timeout: float = DEFAULT_TIMEOUT,
        size_limit: int = SIZE_LIMIT,
        create: bool | None = None,
    ) -> None:
        super().__init__()
        given = os.path.abspath(path)
        # A link is followed once, here: every commit replaces its target, never the link.
        self.path = Path(os.path.realpath(given) if os.path.islink(given) else given)
        self.timeout = timeout
        self.size_limit = size_limit
        if not self.path.parent.is_dir():
            missing = FileNotFoundError(2, "no such folder")
            raise StoreIOError(self.path, "opening", missing)
        if create is False and not self.path.exists():
            raise StoreNotFoundError(self.path)
        self._storage = DurableJSONStorage(self.path, empty_is_new=create is True)
        self._lock = FileLock(f"{self.path}.lock", timeout=timeout, thread_local=False)
        self._mutex = threading.RLock()  # guards the cached tables and the pinned file
        self._writing = threading.Lock()
        self._tables: _Tables = {}
        self._warned = False
        try:
            self._clean()
            self._refresh()
        except BaseException:
            self._storage.close()
            raise

    def _clean(self) -> None:
        """Remove temporary files left by a killed writer, if nobody holds the lock now.

        In a folder this process may not write there is nothing it could remove, and its lock
        file is not created: the store is read without it.
        """
        if read_only_reason(self.path.parent, "the folder") is not None:
            return
        try:
            self._lock.acquire(blocking=False)
        except Timeout:
            return  # a writer is at work; its own file is not a leftover
        except OSError as exc:
            if exc.errno in _DENIED:
                return  # a lock file we may not open: read without cleaning
            raise StoreIOError(self.path, "locking", exc) from exc
        try:
            for tmp in self._storage.temp_files():
                tmp.unlink(missing_ok=True)
        finally:
            self._lock.release()

    def _refresh(self) -> _Tables:
        with self._mutex:
            if self._storage.changed():
                self._tables = self._storage.read() or {}
                self._check_size()
            return self._tables

    def _check_size(self) -> None:
        if not self._warned and self._storage.size > self.size_limit:
            self._warned = True
            warnings.warn(
                StoreSizeWarning(
                    f"store {self.path} is {self._storage.size / 2**20:.0f} MiB, past the "
                    f"TinyDB limit of {self.size_limit / 2**20:.0f} MiB: every commit rewrites "
                    f"the whole file; move it to SQLite with "
                    f"`leftbehind copy {self.path} {self.path.with_suffix('.db')}`"
                ),
                stacklevel=4,
            )

    def version(self, kind: str) -> object:
        """The kind's table as last read from the file: a commit here or a file changed by
        another process gives new tables (they are replaced, never mutated)."""
        self._open()
        return self._refresh().get(check_kind(kind), _NO_TABLE)

    def _get(self, kind: str, key: str) -> Document | None:
        doc = self._refresh().get(kind, {}).get(key)
        return None if doc is None else copy_document(doc)

    def _scan(self, kind: str, where: dict[str, JSONScalar]) -> Iterable[tuple[str, Document]]:
        rows = list(self._refresh().get(kind, {}).items())  # commits swap tables, never mutate
        return ((key, copy_document(doc)) for key, doc in rows if matches(doc, where))

    def _count(self, kind: str, where: dict[str, JSONScalar]) -> int:
        table = self._refresh().get(kind, {})
        if not where:
            return len(table)
        return sum(1 for doc in table.values() if matches(doc, where))

    def _kinds(self) -> Iterable[str]:
        return [kind for kind, table in self._refresh().items() if table]

    def _apply(self, changes: Changes) -> None:
        with self._writing:  # one commit at a time in this process; readers go on meanwhile
            reason = self._storage.read_only_reason()  # before the lock file is created
            if reason is not None:
                raise StoreReadOnlyError(self.path, reason)
            try:
                self._lock.acquire()
            except Timeout as exc:
                raise StoreBusyError(self.path, self.timeout) from exc
            except OSError as exc:
                if exc.errno in _DENIED:
                    denied = f"this process may not open its lock file {self._lock.lock_file}"
                    raise StoreReadOnlyError(self.path, denied) from exc
                raise StoreIOError(self.path, "locking", exc) from exc
            try:
                self._write(changes)
            finally:
                self._lock.release()
        self._check_size()

    def _write(self, changes: Changes) -> None:
        with self._mutex:
            tables = self._refresh()
            changes.check(lambda kind, key: tables.get(kind, {}).get(key))
            new = changes.applied_to(tables)
            self._storage.write(new)
            self._tables = new

    def _close(self) -> None:
        self._storage.close()


def open_tinydb(url: str, *, create: bool | None = None) -> TinyDBStore:
    """Open a plain path or ``tinydb://<path>[?timeout=seconds]`` (``tinydb:///abs/path``).

    ``create``: see :class:`TinyDBStore` and :meth:`leftbehind.plugins.Plugins.open_store`.
    """
    prefix = f"{SCHEME}://"
    if not url.startswith(prefix):
        return TinyDBStore(url, create=create)
    path, _, query = url[len(prefix) :].partition("?")
    if not path:
        raise StoreURLError(SCHEME, "needs a file path: tinydb:///srv/county.json")
    options = dict(parse_qsl(query, keep_blank_values=True))
    unknown = set(options) - {"timeout"}
    if unknown:
        raise StoreURLError(SCHEME, f"has unknown options {sorted(unknown)}; known: timeout")
    try:
        timeout = float(options.get("timeout", DEFAULT_TIMEOUT))
    except ValueError:
        raise StoreURLError(SCHEME, "timeout must be a number of seconds") from None
    return TinyDBStore(path, timeout=timeout, create=create)


@hookimpl(trylast=True)
def leftbehind_storage_backends() -> list[BackendRecord]:
    """TinyDB for ``tinydb://`` URLs and plain paths."""
    return [
        BackendRecord(
            name="tinydb",
            schemes=(SCHEME, PLAIN_PATH),
            factory=open_tinydb,
            description="one JSON file, the embedded default; up to about 20,000 children",
            takes_create=True,
        )
    ]
