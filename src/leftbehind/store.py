"""The store port (存儲端口): JSON documents by (kind, key); units of work commit or roll back.

A backend stores **documents** — ``dict[str, JSON]`` — under a **kind** (``"child"``,
``"school"``) and a **key** of our own choosing (``"C001"``). It knows nothing of domain classes,
so a county can write one in a page (see ``docs/backends.md``)::

    with store.unit_of_work() as uow:
        uow.put("child", "C001", {"name": "李小明", "grade": 3})
        uow.commit()                        # visible to everyone from here on
    store.get("child", "C001")              # {'name': '李小明', 'grade': 3}
    list(store.scan("child", {"grade": 3})) # [('C001', {...})]

What every backend guarantees (the contract suite in :mod:`leftbehind.testing` checks it):

- Documents are copied on the way in and out: mutating what you put or got never changes what is
  stored. They are validated on ``put``: str keys, str / int (64-bit) / finite float / bool /
  ``None`` / list / dict values, no NUL and no lone surrogate in any string, at most
  :data:`MAX_DEPTH` levels. Tuples are stored as lists, as :mod:`json` does.
- A unit of work sees its own pending writes (``get``, ``scan``, ``count``); nothing it writes is
  visible to anyone else until ``commit()``; leaving the ``with`` block without committing, or by
  an exception, rolls back. ``commit()`` is all or nothing.
- Optimistic check: when a document this unit of work read with ``get`` was changed by another
  writer before ``commit()``, the commit raises :class:`~leftbehind.errors.ConflictError` and
  writes nothing. Read again and retry. (``scan`` and ``count`` reads are not checked.)
- ``scan`` yields each key at most once, in no particular order; ``where`` is an equality filter
  on top-level fields: ``None`` matches a missing field or ``null``, ``True`` never matches ``1``,
  ``1`` matches ``1.0``. Writes committed while a scan runs may or may not be seen by it.
- ``kinds()`` lists the kinds holding at least one document.
- Optional abilities are advertised in ``capabilities`` (:data:`DURABLE`, :data:`MULTIPROCESS`,
  :data:`LEDGER_PUSHDOWN`), never assumed.

Keys name records (``"C001"``); never use a personal value such as an ID number as a key, since
keys may appear in error messages.
"""

from __future__ import annotations

import math
import re
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from datetime import date
from types import TracebackType
from typing import TYPE_CHECKING, Protocol, Self, TypeAlias, runtime_checkable

from attrs import frozen

from leftbehind.errors import ConflictError, InvalidDocumentError, StoreClosedError

if TYPE_CHECKING:
    from leftbehind.domain import ledger_facts
    from leftbehind.domain.duties import DutyPlan

__all__ = [
    "DURABLE",
    "INDEXED_SCAN",
    "JSON",
    "LEDGER_PUSHDOWN",
    "MAX_DEPTH",
    "MULTIPROCESS",
    "VERSIONED",
    "BaseStore",
    "Changes",
    "Document",
    "JSONScalar",
    "LedgerPushdown",
    "Store",
    "UnitOfWork",
    "check_key",
    "check_kind",
    "copy_document",
    "matches",
    "to_document",
]

JSONScalar: TypeAlias = str | int | float | bool | None
JSON: TypeAlias = "JSONScalar | list[JSON] | dict[str, JSON]"
Document: TypeAlias = dict[str, JSON]
Where: TypeAlias = Mapping[str, JSONScalar]

#: The store survives the process: closing and reopening the same URL finds every commit.
DURABLE = "durable"
#: Several processes may open the same store and commit concurrently without losing updates.
MULTIPROCESS = "multiprocess"
#: The backend can count ledger rows itself (a SQL ``GROUP BY``); results equal the domain's.
#: A store advertising it is a :class:`LedgerPushdown`.
LEDGER_PUSHDOWN = "ledger-pushdown"
#: ``scan(kind, {"child_id": …})`` of records and assignments, and ``{"staff_id": …}`` of
#: assignments, cost what they return (an index serves them), so a reader of a few children
#: asks for each; without it, one scan of the kind is cheaper than many.
INDEXED_SCAN = "indexed-scan"
#: ``version(kind)`` returns an object that stays the same object while no commit (from this
#: handle or any other) has changed a document of ``kind``, and is a new one after; a reader
#: may keep what it made of a kind as long as its version is the same object.
VERSIONED = "versioned"

#: Deepest nesting of lists and dicts a document may have.
MAX_DEPTH = 32
_INT_MIN, _INT_MAX = -(2**63), 2**63 - 1
_KIND = re.compile(r"[a-z][a-z0-9_]{0,62}")
_MAX_KEY = 200


# ---------------------------------------------------------------------------------------------
# The port.


@runtime_checkable
class UnitOfWork(Protocol):
    """A batch of writes that becomes visible all at once on :meth:`commit`."""

    def get(self, kind: str, key: str) -> Document | None:
        """The document as this unit of work sees it (its own pending writes first)."""
        ...

    def scan(self, kind: str, where: Where | None = None) -> Iterator[tuple[str, Document]]:
        """``(key, document)`` pairs of ``kind`` matching ``where``, pending writes included."""
        ...

    def count(self, kind: str, where: Where | None = None) -> int:
        """How many documents :meth:`scan` would yield."""
        ...

    def put(self, kind: str, key: str, doc: Mapping[str, object]) -> None:
        """Create or replace a document (validated and copied now, written on commit)."""
        ...

    def put_many(
        self,
        kind: str,
        docs: Mapping[str, Mapping[str, object]] | Iterable[tuple[str, Mapping[str, object]]],
    ) -> None:
        """:meth:`put` each ``(key, document)``; the way to import in bulk."""
        ...

    def delete(self, kind: str, key: str) -> None:
        """Remove a document; removing a missing one is not an error."""
        ...

    def commit(self) -> None:
        """Make every pending write visible at once, or none (then raise)."""
        ...

    def rollback(self) -> None:
        """Forget every pending write."""
        ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


@runtime_checkable
class Store(Protocol):
    """Documents by (kind, key). Open one with :meth:`leftbehind.plugins.Plugins.open_store`."""

    @property
    def capabilities(self) -> frozenset[str]:
        """Optional abilities: :data:`DURABLE`, :data:`MULTIPROCESS`, :data:`LEDGER_PUSHDOWN`."""
        ...

    def get(self, kind: str, key: str) -> Document | None:
        """The committed document, or ``None``."""
        ...

    def scan(self, kind: str, where: Where | None = None) -> Iterator[tuple[str, Document]]:
        """Committed ``(key, document)`` pairs of ``kind`` whose fields equal ``where``."""
        ...

    def count(self, kind: str, where: Where | None = None) -> int:
        """How many documents :meth:`scan` would yield."""
        ...

    def kinds(self) -> frozenset[str]:
        """The kinds that hold at least one document."""
        ...

    def unit_of_work(self) -> UnitOfWork:
        """A new unit of work; use it in a ``with`` block and call ``commit()``."""
        ...

    def close(self) -> None:
        """Release files and connections; closing twice is harmless."""
        ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


# ---------------------------------------------------------------------------------------------
# Validation and copies.


@runtime_checkable
class LedgerPushdown(Protocol):
    """What a store advertising :data:`LEDGER_PUSHDOWN` offers the county handle.

    ``duty_tallies(plan, as_of)`` counts, for every child (or the ``children`` given) and duty
    kind, the occurrences of a :class:`leftbehind.domain.duties.DutyPlan` due, done and overdue
    on ``as_of`` — from its stored timelines (kind ``timeline``), assignments, study groups and
    records — with the same result as :meth:`leftbehind.domain.duties.DutyBook.tallies` summed
    over owners. The county and school tables then never load the records.

    ``about_children`` and ``enrolled_children`` let the handle read a county too big to hold
    at once a page of children at a time, and a school's table only that school's children.
    """

    def duty_tallies(
        self, plan: DutyPlan, as_of: date, *, children: Collection[str] | None = None
    ) -> Sequence[ledger_facts.DutyCount]:
        """Per child and duty kind: due, done and overdue on ``as_of`` (rows with due > 0)."""
        ...

    def about_children(self, kind: str, children: Collection[str]) -> list[tuple[str, Document]]:
        """``(key, document)`` of records, assignments or study groups (``kind``) naming one of
        ``children``, in key order: what a scan of the kind keeping those would find."""
        ...

    def enrolled_children(self, schools: Collection[str]) -> list[str]:
        """The keys of children with an enrolment at any time at one of ``schools``, sorted."""
        ...


def check_kind(kind: object) -> str:
    """``kind`` if it is a lower-case identifier of at most 63 characters, else an error."""
    if not isinstance(kind, str) or not _KIND.fullmatch(kind):
        raise InvalidDocumentError("kind", "must match [a-z][a-z0-9_]* (at most 63 characters)")
    return kind


def check_key(kind: str, key: object) -> str:
    """``key`` if it is a non-empty string of at most 200 characters storable everywhere."""
    if not isinstance(key, str) or not 0 < len(key) <= _MAX_KEY:
        raise InvalidDocumentError(f"{kind} key", f"must be a str of 1 to {_MAX_KEY} characters")
    _check_text(key, lambda: f"{kind} key")
    return key


def _check_text(text: str, where: Callable[[], str]) -> None:
    if "\x00" in text:
        raise InvalidDocumentError(where(), "contains NUL")
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidDocumentError(where(), "contains a lone surrogate") from None


def to_document(doc: object, *, kind: str = "document") -> Document:
    """A validated deep copy of ``doc`` as a :type:`Document` (tuples become lists).

    Raises :class:`~leftbehind.errors.InvalidDocumentError` naming the position
    (``child/$.parents[0]``), never the value.
    """
    if type(doc) is dict:
        try:
            return _clean_object(doc, 1)
        except _UnusualValueError:
            pass  # a tuple, a Mapping, or an error: the careful walk converts or names it
    if not isinstance(doc, Mapping):
        raise InvalidDocumentError(kind, f"a document must be a mapping, not {type(doc).__name__}")
    return _object(doc, kind, "$", 1)


class _UnusualValueError(Exception):
    """Raised by the fast walk for anything but plain valid JSON."""


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _clean_object(value: dict[object, object], depth: int) -> Document:
    # The fast walk: exact types only, no positions; about twice the speed of _object.
    if depth > MAX_DEPTH:
        raise _UnusualValueError
    out: Document = {}
    for name, item in value.items():
        if type(name) is not str or "\x00" in name or not (name.isascii() or _utf8(name)):
            raise _UnusualValueError
        out[name] = _clean(item, depth)
    return out


def _clean(item: object, depth: int) -> JSON:
    if type(item) is str:
        if "\x00" in item or not (item.isascii() or _utf8(item)):
            raise _UnusualValueError
        return item
    if type(item) is dict:
        return _clean_object(item, depth + 1)
    if type(item) is int:
        if _INT_MIN <= item <= _INT_MAX:
            return item
        raise _UnusualValueError
    if item is None or type(item) is bool:
        return item
    if type(item) is float:
        if math.isfinite(item):
            return item
        raise _UnusualValueError
    if type(item) is list and depth < MAX_DEPTH:
        return [_clean(x, depth + 1) for x in item]
    raise _UnusualValueError


def _object(value: Mapping[object, object], kind: str, path: str, depth: int) -> Document:
    if depth > MAX_DEPTH:
        raise InvalidDocumentError(f"{kind}/{path}", f"nested deeper than {MAX_DEPTH} levels")
    out: Document = {}
    for name, item in value.items():
        if type(name) is not str:
            raise InvalidDocumentError(f"{kind}/{path}", "has a field name that is not a str")
        _check_text(name, lambda: f"{kind}/{path}")
        out[name] = _value(item, kind, path, name, depth)
    return out


def _value(item: object, kind: str, path: str, name: str | int, depth: int) -> JSON:
    # Exact types: a bool is an int and an enum may be a str, but neither round-trips as one.
    if type(item) is str:
        if "\x00" in item or not item.isascii():
            _check_text(item, lambda: f"{kind}/{_join(path, name)}")
        return item
    if item is None or type(item) is bool:
        return item
    if type(item) is int:
        if not _INT_MIN <= item <= _INT_MAX:
            raise InvalidDocumentError(f"{kind}/{_join(path, name)}", "int outside 64 bits")
        return item
    if type(item) is float:
        if not math.isfinite(item):
            raise InvalidDocumentError(f"{kind}/{_join(path, name)}", "float not finite")
        return item
    if isinstance(item, Mapping):
        return _object(item, kind, _join(path, name), depth + 1)
    if isinstance(item, list | tuple):
        here = _join(path, name)
        if depth + 1 > MAX_DEPTH:
            raise InvalidDocumentError(f"{kind}/{here}", f"nested deeper than {MAX_DEPTH} levels")
        return [_value(x, kind, here, i, depth + 1) for i, x in enumerate(item)]
    raise InvalidDocumentError(
        f"{kind}/{_join(path, name)}", f"{type(item).__name__} is not a JSON value"
    )


def _join(path: str, name: str | int) -> str:
    return f"{path}[{name}]" if isinstance(name, int) else f"{path}.{name}"


def copy_document(doc: Document) -> Document:
    """A deep copy of an already valid document (much faster than :func:`copy.deepcopy`)."""
    return {k: _copy(v) for k, v in doc.items()}


def _copy(value: JSON) -> JSON:
    if type(value) is dict:
        return {k: _copy(v) for k, v in value.items()}
    if type(value) is list:
        return [_copy(v) for v in value]
    return value


def check_where(where: Where | None) -> dict[str, JSONScalar]:
    """A validated copy of a ``where`` filter: field names to scalar values."""
    if where is None:
        return {}
    out: dict[str, JSONScalar] = {}
    for name, value in where.items():
        if type(name) is not str:
            raise InvalidDocumentError("where", "field names must be str")
        if value is not None and type(value) not in (str, int, float, bool):
            raise InvalidDocumentError(f"where.{name}", "must be str, int, float, bool or None")
        if type(value) is float and not math.isfinite(value):
            raise InvalidDocumentError(f"where.{name}", "float not finite")
        out[name] = value
    return out


def matches(doc: Mapping[str, JSON], where: Mapping[str, JSONScalar]) -> bool:
    """Whether ``doc``'s top-level fields equal ``where`` (the semantics every backend shares).

    ``None`` matches a missing field or ``null``; booleans equal only booleans; numbers compare
    by value (``1`` equals ``1.0``); strings compare exactly.
    """
    for name, want in where.items():
        have = doc.get(name)
        if want is None:
            if have is not None:
                return False
        elif type(want) is bool or type(have) is bool:
            if have is not want:
                return False
        elif type(want) is str:
            if have != want or type(have) is not str:
                return False
        elif type(have) not in (int, float) or have != want:
            return False
    return True


# ---------------------------------------------------------------------------------------------
# A base that does the bookkeeping, so a backend stays short.


@frozen
class Changes:
    """What a unit of work asks a backend to apply at once.

    ``writes`` maps (kind, key) to the new document, or ``None`` to delete. ``reads`` maps each
    (kind, key) the unit of work read with ``get`` to what it saw (``None``: absent); a backend
    calls :meth:`check` under its write lock before applying.
    """

    writes: Mapping[tuple[str, str], Document | None]
    reads: Mapping[tuple[str, str], Document | None]

    def check(self, current: Callable[[str, str], Document | None]) -> None:
        """Raise :class:`~leftbehind.errors.ConflictError` if any read document has changed."""
        for (kind, key), seen in self.reads.items():
            if current(kind, key) != seen:
                raise ConflictError(kind, key)

    def applied_to(self, tables: dict[str, dict[str, Document]]) -> dict[str, dict[str, Document]]:
        """New ``{kind: {key: document}}`` tables with the writes applied, emptied kinds dropped.

        ``tables`` is not modified; kinds without writes are shared with it, not copied.
        """
        new = dict(tables)
        for kind, writes in self.by_kind().items():
            table = dict(new.get(kind, {}))
            for key, doc in writes.items():
                if doc is None:
                    table.pop(key, None)
                else:
                    table[key] = doc
            if table:
                new[kind] = table
            else:
                new.pop(kind, None)
        return new

    def by_kind(self) -> dict[str, dict[str, Document | None]]:
        """The writes grouped by kind."""
        out: dict[str, dict[str, Document | None]] = {}
        for (kind, key), doc in self.writes.items():
            out.setdefault(kind, {})[key] = doc
        return out


class BaseStore(ABC):
    """A :class:`Store` from five small methods; units of work are buffered here.

    A backend implements ``_get``, ``_scan``, ``_kinds``, ``_apply`` and
    ``_close``; it may override ``_count`` (to count without loading) and set
    ``capabilities``. Documents handed to ``_apply`` are validated copies the backend may keep;
    documents it returns from ``_get`` and ``_scan`` must be its callers' to keep (fresh or
    copied with :func:`copy_document`).
    """

    capabilities: frozenset[str] = frozenset()

    def __init__(self) -> None:
        self._closed = False

    # What a backend writes.

    @abstractmethod
    def _get(self, kind: str, key: str) -> Document | None:
        """The committed document (the caller's to keep), or ``None``."""

    @abstractmethod
    def _scan(self, kind: str, where: dict[str, JSONScalar]) -> Iterable[tuple[str, Document]]:
        """Committed pairs of ``kind`` matching ``where`` (use :func:`matches`, or push down)."""

    @abstractmethod
    def _kinds(self) -> Iterable[str]:
        """Kinds holding at least one document."""

    @abstractmethod
    def _apply(self, changes: Changes) -> None:
        """Atomically: call ``changes.check(current)``, then apply every write, or none."""

    @abstractmethod
    def _close(self) -> None:
        """Release resources."""

    def _count(self, kind: str, where: dict[str, JSONScalar]) -> int:
        return sum(1 for _ in self._scan(kind, where))

    def _get_many(self, kind: str, keys: Sequence[str]) -> dict[str, Document]:
        """The committed documents of ``keys`` that exist (override to read them at once)."""
        found = ((key, self._get(kind, key)) for key in keys)
        return {key: doc for key, doc in found if doc is not None}

    # The port, done once for every backend.

    def _open(self) -> None:
        if self._closed:
            raise StoreClosedError(f"{type(self).__name__} is closed")

    def get(self, kind: str, key: str) -> Document | None:
        self._open()
        return self._get(check_kind(kind), check_key(kind, key))

    def get_many(self, kind: str, keys: Iterable[str]) -> dict[str, Document]:
        """The documents of ``keys`` that exist, read together (missing keys are left out)."""
        self._open()
        kind = check_kind(kind)
        wanted = sorted({check_key(kind, key) for key in keys})
        return self._get_many(kind, wanted) if wanted else {}

    def scan(self, kind: str, where: Where | None = None) -> Iterator[tuple[str, Document]]:
        self._open()
        return iter(self._scan(check_kind(kind), check_where(where)))

    def count(self, kind: str, where: Where | None = None) -> int:
        self._open()
        return self._count(check_kind(kind), check_where(where))

    def kinds(self) -> frozenset[str]:
        self._open()
        return frozenset(self._kinds())

    def unit_of_work(self) -> UnitOfWork:
        self._open()
        return BufferedUnitOfWork(self)

    def verify(self) -> None:
        """Check the whole store for damage a read might not meet, raising
        :class:`~leftbehind.errors.CorruptStoreError` naming it. Here it checks nothing: a
        backend whose opening does not read everything (SQLite past its quick-check limit)
        overrides it; ``leftbehind copy`` calls it on both stores."""
        self._open()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class BufferedUnitOfWork:
    """Pending writes kept in memory and handed to the backend's ``_apply`` on commit."""

    def __init__(self, store: BaseStore) -> None:
        self._store = store
        self._writes: dict[tuple[str, str], Document | None] = {}
        self._reads: dict[tuple[str, str], Document | None] = {}
        self._closed = False
        self._lock = threading.Lock()

    def _open(self) -> BaseStore:
        if self._closed:
            raise StoreClosedError("this unit of work has ended; start a new one")
        self._store._open()
        return self._store

    def get(self, kind: str, key: str) -> Document | None:
        store = self._open()
        at = (check_kind(kind), check_key(kind, key))
        if at in self._writes:
            doc = self._writes[at]
            return None if doc is None else copy_document(doc)
        doc = store._get(*at)
        if at not in self._reads:
            self._reads[at] = None if doc is None else copy_document(doc)
        return doc

    def get_many(self, kind: str, keys: Iterable[str]) -> dict[str, Document]:
        """:meth:`get` of each of ``keys`` (its own pending writes first), read together;
        missing keys are left out."""
        store = self._open()
        kind = check_kind(kind)
        wanted = {check_key(kind, key) for key in keys}
        found: dict[str, Document] = {}
        unread: list[str] = []
        for key in sorted(wanted):
            if (kind, key) in self._writes:
                doc = self._writes[kind, key]
                if doc is not None:
                    found[key] = copy_document(doc)
            else:
                unread.append(key)
        committed = store._get_many(kind, unread) if unread else {}
        for key in unread:
            doc = committed.get(key)
            if (kind, key) not in self._reads:
                self._reads[kind, key] = None if doc is None else copy_document(doc)
            if doc is not None:
                found[key] = doc
        return found

    def scan(self, kind: str, where: Where | None = None) -> Iterator[tuple[str, Document]]:
        store = self._open()
        kind, flt = check_kind(kind), check_where(where)
        pending = {key: doc for (k, key), doc in self._writes.items() if k == kind}
        return self._merge(store._scan(kind, flt), pending, flt)

    @staticmethod
    def _merge(
        committed: Iterable[tuple[str, Document]],
        pending: dict[str, Document | None],
        where: dict[str, JSONScalar],
    ) -> Iterator[tuple[str, Document]]:
        for key, doc in committed:
            if key not in pending:
                yield key, doc
        for key, new in pending.items():
            if new is not None and matches(new, where):
                yield key, copy_document(new)

    def count(self, kind: str, where: Where | None = None) -> int:
        store = self._open()
        kind = check_kind(kind)
        if not any(k == kind for k, _ in self._writes):
            return store._count(kind, check_where(where))
        return sum(1 for _ in self.scan(kind, where))

    def put(self, kind: str, key: str, doc: Mapping[str, object]) -> None:
        self._open()
        kind = check_kind(kind)
        self._writes[kind, check_key(kind, key)] = to_document(doc, kind=kind)

    def put_many(
        self,
        kind: str,
        docs: Mapping[str, Mapping[str, object]] | Iterable[tuple[str, Mapping[str, object]]],
    ) -> None:
        self._open()
        kind = check_kind(kind)
        items = docs.items() if isinstance(docs, Mapping) else docs
        staged = {(kind, check_key(kind, key)): to_document(doc, kind=kind) for key, doc in items}
        self._writes.update(staged)

    def delete(self, kind: str, key: str) -> None:
        self._open()
        kind = check_kind(kind)
        self._writes[kind, check_key(kind, key)] = None

    def commit(self) -> None:
        store = self._open()
        with self._lock:
            if self._writes:
                store._apply(Changes(self._writes, self._reads))
            self._writes, self._reads = {}, {}

    def rollback(self) -> None:
        self._writes, self._reads = {}, {}

    def __enter__(self) -> Self:
        self._open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.rollback()
        self._closed = True
