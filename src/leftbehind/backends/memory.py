"""``memory://``: a store in this process's memory, for tests and scripts.

``memory://`` opens a fresh private store. ``memory://name`` opens a store shared by every handle
on the same name in this process, kept while at least one handle is open (like SQLite's shared
in-memory databases). Nothing survives the process.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterable, Mapping
from types import MappingProxyType

from leftbehind._markers import hookimpl
from leftbehind.errors import StoreNotFoundError, StoreURLError
from leftbehind.hookspecs import BackendRecord
from leftbehind.store import (
    VERSIONED,
    BaseStore,
    Changes,
    Document,
    JSONScalar,
    check_kind,
    copy_document,
    matches,
)

__all__ = ["MemoryStore", "open_memory"]

SCHEME = "memory"


class _Data:
    """The documents behind one or more handles."""

    __slots__ = ("__weakref__", "lock", "tables")

    def __init__(self) -> None:
        self.tables: dict[str, dict[str, Document]] = {}
        self.lock = threading.Lock()


#: The version of a kind without documents.
_NO_TABLE: Mapping[str, Document] = MappingProxyType({})

_named: weakref.WeakValueDictionary[str, _Data] = weakref.WeakValueDictionary()
_named_lock = threading.Lock()


class MemoryStore(BaseStore):
    """Documents in dicts, guarded by a lock; a commit swaps in the changed tables at once."""

    capabilities: frozenset[str] = frozenset({VERSIONED})

    def __init__(self, name: str | None = None) -> None:
        super().__init__()
        self.name = name
        if name is None:
            self._data = _Data()
        else:
            with _named_lock:
                data = _named.get(name)
                if data is None:
                    data = _named[name] = _Data()
            self._data = data

    def _get(self, kind: str, key: str) -> Document | None:
        doc = self._data.tables.get(kind, {}).get(key)
        return None if doc is None else copy_document(doc)

    def _scan(self, kind: str, where: dict[str, JSONScalar]) -> Iterable[tuple[str, Document]]:
        rows = list(self._data.tables.get(kind, {}).items())  # a snapshot: commits swap tables
        return ((key, copy_document(doc)) for key, doc in rows if matches(doc, where))

    def _count(self, kind: str, where: dict[str, JSONScalar]) -> int:
        table = self._data.tables.get(kind, {})
        if not where:
            return len(table)
        return sum(1 for doc in list(table.values()) if matches(doc, where))

    def _kinds(self) -> Iterable[str]:
        return list(self._data.tables)

    def version(self, kind: str) -> object:
        """The kind's table itself: commits replace the tables they change, never mutate."""
        self._open()
        return self._data.tables.get(check_kind(kind), _NO_TABLE)

    def _apply(self, changes: Changes) -> None:
        data = self._data
        with data.lock:
            changes.check(lambda kind, key: data.tables.get(kind, {}).get(key))
            data.tables = changes.applied_to(data.tables)

    def _close(self) -> None:
        self._data = _Data()


def open_memory(url: str, *, create: bool | None = None) -> MemoryStore:
    """Open ``memory://`` (private) or ``memory://name`` (shared in this process).

    With ``create=False`` only a named store that another handle holds open is opened; a
    private one, or a name nobody holds, raises :class:`~leftbehind.errors.StoreNotFoundError`.
    """
    prefix = f"{SCHEME}://"
    if not url.startswith(prefix):
        raise StoreURLError(SCHEME, f"must start with {prefix}")
    name = url[len(prefix) :]
    if create is False:
        with _named_lock:
            held = _named.get(name) if name else None  # kept alive until the store holds it
        if held is None:
            raise StoreNotFoundError(url)
    return MemoryStore(name or None)


@hookimpl(trylast=True)
def leftbehind_storage_backends() -> list[BackendRecord]:
    """``memory://``."""
    return [
        BackendRecord(
            name="memory",
            schemes=(SCHEME,),
            factory=open_memory,
            description="in this process's memory; memory://name is shared while open",
            takes_create=True,
        )
    ]
