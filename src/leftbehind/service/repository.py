"""The repository: the only code that knows the document kinds and converts them.

The rooms of the service speak in domain values. A :class:`Snapshot` is one call's view of the
store: it reads each kind at most once and structures the stored documents as trusted (they
were validated on their way in), so a query costs what it reads. A :class:`Batch` is one
command's unit of work: it writes domain values as documents and appends their audit entries
in the same unit, so a change and its trace commit together or not at all.
"""

from __future__ import annotations

import hashlib
import itertools
import secrets
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, date, datetime
from typing import Any, Self, TypeVar

import attrs

from leftbehind import kinds
from leftbehind.access import Actor, AuditEntry, field_changes
from leftbehind.convert import structure_trusted, unstructure
from leftbehind.domain.duties import Record
from leftbehind.domain.eligibility import Timeline
from leftbehind.domain.model import Child, School
from leftbehind.domain.people import Assignment, Assignments, Staff, StudyGroup
from leftbehind.domain.signoff import Correction, SignOff
from leftbehind.store import (
    INDEXED_SCAN,
    VERSIONED,
    Document,
    LedgerPushdown,
    Store,
    UnitOfWork,
)

__all__ = [
    "DERIVED",
    "SETTINGS_KEY",
    "Batch",
    "Page",
    "Repository",
    "Snapshot",
    "resident_id_key",
    "stamp",
]

T = TypeVar("T")
V = TypeVar("V")

#: The key of the county's one settings document.
SETTINGS_KEY = "county"
_DEFAULT_SETTINGS: Mapping[str, Any] = {"policy": "guangping-plan"}


def stamp(at: datetime) -> str:
    """An audit timestamp: UTC, to the microsecond, so that keys sort by time."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def resident_id_key(resident_id: str) -> str:
    """The key of a resident ID's index document: a digest, so the key is not the number."""
    digest = hashlib.sha256(f"leftbehind/resident-id/{resident_id.upper()}".encode())
    return "rid-" + digest.hexdigest()[:40]


#: Up to how many children a read of theirs goes child by child on an indexed store; past it,
#: one scan of the kind costs less than as many queries.
FEW = 500

#: The kinds a handle keeps between calls on a versioned store (the records, by far the most,
#: are read for duties from their projection or as skeletons instead).
KEPT = frozenset(
    {
        kinds.SCHOOL,
        kinds.CHILD,
        kinds.TIMELINE,
        kinds.NATIONAL,
        kinds.STAFF,
        kinds.ASSIGNMENT,
        kinds.GROUP,
    }
)

#: The class each kind's documents structure as.
_CLASS: Mapping[str, type[Any]] = {
    kinds.SCHOOL: School,
    kinds.CHILD: Child,
    kinds.TIMELINE: Timeline,
    kinds.NATIONAL: Timeline,
    kinds.STAFF: Staff,
    kinds.ASSIGNMENT: Assignment,
    kinds.GROUP: StudyGroup,
    kinds.RECORD: Record,
    kinds.SIGNOFF: SignOff,
    kinds.CORRECTION: Correction,
}

#: Kinds derived from others (timelines, the resident-ID index): written with what they derive
#: from, never a change of a file in the audit log.
DERIVED = frozenset({kinds.TIMELINE, kinds.NATIONAL, kinds.RESIDENT_ID})


def _read_many(store: Store | UnitOfWork, kind: str, keys: list[str]) -> dict[str, Document]:
    """The documents of ``keys``, read together where the store can (stores built on
    :class:`~leftbehind.store.BaseStore` can), else one by one."""
    many = getattr(store, "get_many", None)
    if many is not None:
        found: dict[str, Document] = many(kind, keys)
        return found
    pairs = ((key, store.get(kind, key)) for key in keys)
    return {key: doc for key, doc in pairs if doc is not None}


def _skeleton(key: str, doc: Document) -> Record:
    """A stored record as the duty book needs it (its texts left empty)."""
    return Record(
        key,
        str(doc["kind"]),
        str(doc["child_id"]),
        str(doc["staff_id"]),
        date.fromisoformat(str(doc["on"])),
    )


@attrs.frozen
class Page:
    """A page of children with what the ledgers read of them (see :meth:`Snapshot.pages`)."""

    children: dict[str, Child]
    timelines: dict[str, Timeline]
    national: dict[str, Timeline]
    assignments: Assignments


def _batched(items: Iterable[V], size: int) -> Iterator[list[V]]:
    it = iter(items)
    while batch := list(itertools.islice(it, size)):
        yield batch


class Snapshot:
    """One call's view of the store, each kind read at most once."""

    def __init__(
        self,
        store: Store | UnitOfWork,
        *,
        indexed: bool = False,
        kept: dict[str, tuple[object, Any]] | None = None,
    ) -> None:
        self._store = store
        self._indexed = indexed
        self._memo: dict[Any, Any] = {}
        self._kept = kept

    def _all(self, kind: str, cls: type[T]) -> dict[str, T]:
        cached: dict[str, T] | None = self._memo.get(kind)
        if cached is None:
            cached = self._read_all(kind, cls)
            self._memo[kind] = cached
        return dict(cached)

    def _read_all(self, kind: str, cls: type[T]) -> dict[str, T]:
        """Every document of ``kind`` structured (kept between calls, see :meth:`_keep`)."""

        def read() -> dict[str, T]:
            return {key: structure_trusted(doc, cls) for key, doc in self._store.scan(kind)}

        return self._keep(kind, kind, read) if kind in KEPT else read()

    def _keep(self, name: str, kind: str, make: Callable[[], V]) -> V:
        """``make()``, or on a versioned store what an earlier call of this handle made under
        ``name`` while no commit has changed ``kind`` since."""
        if self._kept is None:
            return make()
        version = self._store.version(kind)  # type: ignore[union-attr]
        held = self._kept.get(name)
        if held is not None and held[0] is version:
            kept: V = held[1]
            return kept
        made = make()
        self._kept[name] = (version, made)
        return made

    def _one(self, kind: str, key: str, cls: type[T]) -> T | None:
        cached: dict[str, T] | None = self._memo.get(kind)
        if cached is not None:
            return cached.get(key)
        seen: dict[str, T | None] = self._memo.setdefault(("one", kind), {})
        if key not in seen:
            self.prefetch(kind, [key])
        return seen[key]

    def prefetch(self, kind: str, keys: Iterable[str]) -> None:
        """Read the documents of ``keys`` together, so that a command about many of them asks
        the store once (a kind read whole already is left as it is)."""
        if kind in self._memo:
            return
        seen: dict[str, Any] = self._memo.setdefault(("one", kind), {})
        raw: dict[str, Document | None] = self._memo.setdefault(("raw", kind), {})
        todo = sorted({key for key in keys if key not in seen})
        if not todo:
            return
        docs = _read_many(self._store, kind, todo)
        cls = _CLASS[kind]
        for key in todo:
            doc = docs.get(key)
            raw[key] = doc
            seen[key] = None if doc is None else structure_trusted(doc, cls)

    def documents(self, kind: str, keys: Iterable[str]) -> dict[str, Document]:
        """The stored documents of ``keys`` that exist (as this snapshot's store sees them)."""
        raw: dict[str, Document | None] = self._memo.get(("raw", kind), {})
        found = {key: doc for key in keys if (doc := raw.get(key)) is not None}
        rest = sorted({key for key in keys if key not in raw})
        loaded: dict[str, Any] | None = self._memo.get(kind)
        if loaded is not None:
            rest = [key for key in rest if key in loaded]
        if rest:
            found.update(_read_many(self._store, kind, rest))
        return found

    def forget(self, kind: str, changed: Iterable[str]) -> None:
        """Forget what this snapshot holds of ``changed`` keys of ``kind`` (written or deleted),
        so that it reads them again when asked. What it handed out before stays as it was."""
        self._memo.pop(kind, None)
        keys = list(changed)
        for memo in (self._memo.get(("one", kind)), self._memo.get(("raw", kind))):
            if memo is not None:
                for key in keys:
                    memo.pop(key, None)
        if kind in (kinds.ASSIGNMENT, kinds.GROUP):
            self._memo.pop("assignments", None)
        if kind == kinds.SETTINGS:
            self._memo.pop("settings", None)

    def settings(self) -> dict[str, Any]:
        """The county's settings (policy name, county name, calendar, channels)."""
        if "settings" not in self._memo:
            doc = self._store.get(kinds.SETTINGS, SETTINGS_KEY)
            self._memo["settings"] = dict(doc) if doc is not None else dict(_DEFAULT_SETTINGS)
        return dict(self._memo["settings"])

    def schools(self) -> dict[str, School]:
        return self._all(kinds.SCHOOL, School)

    def children(self) -> dict[str, Child]:
        return self._all(kinds.CHILD, Child)

    def child(self, key: str) -> Child | None:
        return self._one(kinds.CHILD, key, Child)

    def children_of(self, keys: Iterable[str]) -> dict[str, Child]:
        """The children of ``keys`` that exist (read together, unless all are loaded)."""
        wanted = sorted(set(keys))
        if kinds.CHILD not in self._memo:
            self.prefetch(kinds.CHILD, wanted)
        out: dict[str, Child] = {}
        for key in wanted:
            child = self.child(key)
            if child is not None:
                out[key] = child
        return out

    def timelines(self, *, national: bool = False) -> dict[str, Timeline]:
        return self._all(kinds.NATIONAL if national else kinds.TIMELINE, Timeline)

    def timeline(self, key: str, *, national: bool = False) -> Timeline | None:
        return self._one(kinds.NATIONAL if national else kinds.TIMELINE, key, Timeline)

    def staff(self) -> dict[str, Staff]:
        return self._all(kinds.STAFF, Staff)

    def staff_member(self, key: str) -> Staff | None:
        return self._one(kinds.STAFF, key, Staff)

    def groups(self) -> dict[str, StudyGroup]:
        return self._all(kinds.GROUP, StudyGroup)

    def group(self, key: str) -> StudyGroup | None:
        return self._one(kinds.GROUP, key, StudyGroup)

    def stored_assignments(self) -> dict[str, Assignment]:
        """The assignment documents (without the study groups' guides)."""
        return self._all(kinds.ASSIGNMENT, Assignment)

    def assignment(self, key: str) -> Assignment | None:
        return self._one(kinds.ASSIGNMENT, key, Assignment)

    def assignments(self) -> Assignments:
        """Every assignment, the study groups' guides included."""
        if "assignments" not in self._memo:
            guides = [a for g in self.groups().values() for a in g.assignments()]
            self._memo["assignments"] = Assignments([*self.stored_assignments().values(), *guides])
        found: Assignments = self._memo["assignments"]
        return found

    def own_assignments(self, staff_id: str) -> Assignments:
        """The assignments of one staff member, with those of the groups they guide."""
        if "assignments" in self._memo:
            return Assignments(a for a in self.assignments().all if a.staff_id == staff_id)
        where = {"staff_id": staff_id}
        stored = [
            structure_trusted(d, Assignment) for _, d in self._store.scan(kinds.ASSIGNMENT, where)
        ]
        guided = [
            structure_trusted(d, StudyGroup)
            for _, d in self._store.scan(kinds.GROUP, {"guide_staff_id": staff_id})
        ]
        return Assignments([*stored, *(a for g in guided for a in g.assignments())])

    def records(self, *, child_id: str | None = None) -> list[Record]:
        if child_id is None:
            return list(self._all(kinds.RECORD, Record).values())
        if kinds.RECORD in self._memo:
            return [r for r in self._memo[kinds.RECORD].values() if r.child_id == child_id]
        where = {"child_id": child_id}
        return [structure_trusted(d, Record) for _, d in self._store.scan(kinds.RECORD, where)]

    def _few(self, kind: str, ids: set[str]) -> bool:
        """Whether to read these children's documents of ``kind`` one child at a time: when they
        are few (:data:`FEW`), the store serves such scans from an index and the kind is not
        loaded already."""
        return self._indexed and len(ids) <= FEW and kind not in self._memo

    def records_of(self, child_ids: Iterable[str]) -> list[Record]:
        """The records of these children (read child by child on an indexed store)."""
        ids = set(child_ids)
        if not self._few(kinds.RECORD, ids):
            return [r for r in self.records() if r.child_id in ids]
        return [r for cid in sorted(ids) for r in self.records(child_id=cid)]

    def timelines_of(self, child_ids: Iterable[str]) -> dict[str, Timeline]:
        """The timelines of these children under the county's policy."""
        ids = set(child_ids)
        if not self._few(kinds.TIMELINE, ids):
            return {k: t for k, t in self.timelines().items() if k in ids}
        found = ((cid, self.timeline(cid)) for cid in sorted(ids))
        return {cid: t for cid, t in found if t is not None}

    def assignments_of(self, child_ids: Iterable[str]) -> Assignments:
        """The assignments to these children, the study groups' guides included."""
        ids = set(child_ids)
        if not self._few(kinds.ASSIGNMENT, ids):
            return Assignments(a for a in self.assignments().all if a.child_id in ids)
        stored = [
            structure_trusted(d, Assignment)
            for cid in sorted(ids)
            for _, d in self._store.scan(kinds.ASSIGNMENT, {"child_id": cid})
        ]
        guides = [a for g in self.groups().values() for a in g.assignments() if a.child_id in ids]
        return Assignments([*stored, *guides])

    def duty_records(self, child_ids: Iterable[str] | None = None) -> list[Record]:
        """The records of every child (or of these) as the duty book needs them: key, kind,
        child, staff and day, their texts left empty. On a store that keeps the record
        projection (``record_facts``) no document is read; elsewhere no text is structured.
        For computing duties only: what is shown of a record comes from :meth:`records`."""
        ids = None if child_ids is None else set(child_ids)
        loaded: dict[str, Record] | None = self._memo.get(kinds.RECORD)
        if loaded is not None:
            return [r for r in loaded.values() if ids is None or r.child_id in ids]
        if ids is not None and not self._few(kinds.RECORD, ids):
            return [r for r in self.duty_records() if r.child_id in ids]
        memo_key = ("duty_records", None if ids is None else frozenset(ids))
        if memo_key not in self._memo:
            self._memo[memo_key] = (
                self._keep("duty_records", kinds.RECORD, lambda: self._read_duty_records(None))
                if ids is None
                else self._read_duty_records(ids)
            )
        found: list[Record] = self._memo[memo_key]
        return found

    def page_records(self, child_ids: Iterable[str]) -> list[Record]:
        """The records of these children as the duty book needs them (see
        :meth:`duty_records`), read for them alone however many they are, and not kept: a
        page of a county too big to hold at once."""
        return self._read_duty_records(set(child_ids))

    def _read_duty_records(self, ids: set[str] | None) -> list[Record]:
        facts = getattr(self._store, "record_facts", None)
        rows = facts(None if ids is None else sorted(ids)) if facts is not None else None
        if rows is not None:
            day = date.fromordinal
            return [
                Record(key, kind, child, owner or "", day(on))
                for key, kind, child, owner, on in rows
            ]
        if ids is None:
            return [_skeleton(key, doc) for key, doc in self._store.scan(kinds.RECORD)]
        return [
            _skeleton(key, doc)
            for cid in sorted(ids)
            for key, doc in self._store.scan(kinds.RECORD, {"child_id": cid})
        ]

    def pages(self, keys: Iterable[str] | None, size: int) -> Iterator[Page]:
        """The children of ``keys`` (every child with ``None``) ``size`` at a time, each page
        with their timelines under both policies and their assignments (the study groups'
        guides included): what a pass over a county too big to hold at once reads. Nothing of
        it is kept, so memory holds one page; the store must be a
        :class:`~leftbehind.store.LedgerPushdown` (it finds a page's assignments by child)."""
        if keys is None:
            docs: Iterator[list[tuple[str, Document]]] = _batched(
                self._store.scan(kinds.CHILD), size
            )
        else:
            docs = (
                sorted(_read_many(self._store, kinds.CHILD, list(chunk)).items())
                for chunk in _batched(sorted(set(keys)), size)
            )
        for page in docs:
            if page:
                yield self._page(dict(page))

    def _page(self, docs: dict[str, Document]) -> Page:
        store = self._store
        assert isinstance(store, LedgerPushdown)  # noqa: S101 - see pages()
        ids = list(docs)

        def structured(kind: str, cls: type[T]) -> dict[str, T]:
            found = _read_many(store, kind, ids)
            return {key: structure_trusted(doc, cls) for key, doc in found.items()}

        wanted = set(ids)
        guides = (
            a
            for _, doc in store.about_children(kinds.GROUP, ids)
            for a in structure_trusted(doc, StudyGroup).assignments()
            if a.child_id in wanted
        )
        stored = (
            structure_trusted(doc, Assignment)
            for _, doc in store.about_children(kinds.ASSIGNMENT, ids)
        )
        return Page(
            {key: structure_trusted(doc, Child) for key, doc in docs.items()},
            structured(kinds.TIMELINE, Timeline),
            structured(kinds.NATIONAL, Timeline),
            Assignments([*stored, *guides]),
        )

    def record(self, key: str) -> Record | None:
        return self._one(kinds.RECORD, key, Record)

    def resident_id_owner(self, resident_id: str) -> str | None:
        """The child holding ``resident_id`` by the index (read through this snapshot's store)."""
        return self.resident_id_owners([resident_id]).get(resident_id.upper())

    def resident_id_owners(self, resident_ids: Iterable[str]) -> dict[str, str]:
        """The children holding these resident IDs by the index, by ID (upper case)."""
        by_key = {resident_id_key(rid): rid.upper() for rid in resident_ids}
        docs = _read_many(self._store, kinds.RESIDENT_ID, sorted(by_key))
        return {by_key[key]: str(doc.get("child", "")) for key, doc in docs.items()}

    def signoffs(
        self, *, locked: bool | None = None, school_id: str | None = None
    ) -> list[SignOff]:
        """The sign-offs of every school's periods (only the locked ones, or the others; of
        one school)."""
        where: dict[str, str | bool] = {}
        if locked is not None:
            where["locked"] = locked
        if school_id is not None:
            where["school_id"] = school_id
        found = self._store.scan(kinds.SIGNOFF, where or None)
        return [structure_trusted(d, SignOff) for _, d in found]

    def signoff(self, key: str) -> SignOff | None:
        return self._one(kinds.SIGNOFF, key, SignOff)

    def corrections(self) -> list[Correction]:
        """Every correction made into locked periods, oldest first."""
        found = (structure_trusted(d, Correction) for _, d in self._store.scan(kinds.CORRECTION))
        return sorted(found, key=lambda c: (c.at, c.id))

    def audit(self) -> Iterator[AuditEntry]:
        for key, doc in self._store.scan(kinds.AUDIT):
            yield AuditEntry.from_document(key, doc)

    def scan_documents(
        self, kind: str, where: Mapping[str, str] | None = None
    ) -> list[tuple[str, Document]]:
        """The stored ``(key, document)`` pairs of ``kind`` whose fields equal ``where``, as
        this snapshot's store sees them (for kinds a room converts itself)."""
        return list(self._store.scan(kind, where))


class Batch:
    """One command's unit of work: domain values written as documents, the changes audited.

    ``view`` reads inside the unit of work, so what a command checked before writing is
    checked again for conflicts on commit; read through it before writing. Leaving the block
    without :meth:`commit` writes nothing. The changes of files (every kind but the
    :data:`DERIVED` ones) go into one audit entry for the whole command, written on commit with
    them: the command's name, and per kind the keys created and deleted and the fields changed
    of each key updated.
    """

    def __init__(self, repository: Repository, command: str) -> None:
        self._repo = repository
        self._uow = repository.store.unit_of_work()
        self.command = command
        self.view = Snapshot(self._uow)
        self._log: dict[str, _KindLog] = {}
        #: Why the command is run, for its audit entry (default: the actor's reason).
        self.reason: str | None = None

    def __enter__(self) -> Self:
        self._uow.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._uow.__exit__(None, None, None)

    @property
    def uow(self) -> UnitOfWork:
        """The unit of work itself, for the outbox (its documents are not domain values)."""
        return self._uow

    def put(self, kind: str, key: str, value: object) -> None:
        """Write ``value`` (a domain value or a document)."""
        self.put_many(kind, [(key, value)])

    def put_many(self, kind: str, items: Iterable[tuple[str, object]]) -> None:
        """Write each ``(key, value)`` (a domain value or a document) that differs from the
        stored document; an unchanged one is not written again."""
        values = dict(items)
        if not values:
            return
        docs = {
            key: value if isinstance(value, Mapping) else unstructure(value)
            for key, value in values.items()
        }
        before = self.view.documents(kind, docs)
        docs = {key: doc for key, doc in docs.items() if before.get(key) != doc}
        if not docs:  # nothing changed: nothing to write
            return
        self._uow.put_many(kind, docs)
        self.view.forget(kind, docs)
        if kind in DERIVED:
            return
        log = self._log.setdefault(kind, _KindLog())
        for key in docs:
            old = before.get(key)
            if old is None or key in log.created:
                log.created.add(key)
                log.deleted.discard(key)
                continue
            changes = field_changes(dict(old), self._uow.get(kind, key) or {})
            if changes:
                log.updated.setdefault(key, {}).update(changes)

    def delete(self, kind: str, key: str) -> None:
        self._uow.delete(kind, key)
        self.view.forget(kind, [key])
        if kind in DERIVED:
            return
        log = self._log.setdefault(kind, _KindLog())
        if key in log.created:
            log.created.discard(key)
        else:
            log.deleted.add(key)
        log.updated.pop(key, None)

    def scan_keys(self, kind: str, where: Mapping[str, str] | None = None) -> list[str]:
        return [key for key, _ in self._uow.scan(kind, where)]

    def commit(self) -> None:
        """Write everything, with the command's audit entry if it changed a file."""
        changes = {kind: log.document() for kind, log in sorted(self._log.items()) if log}
        if changes:
            keys = {key for log in self._log.values() for key in log.touched()}
            self._repo.append_audit(
                self._uow,
                self.command,
                ",".join(changes),
                next(iter(keys)) if len(keys) == 1 else "",
                {"changes": changes},
                self.reason,
            )
        self._uow.commit()
        self._log = {}


@attrs.define
class _KindLog:
    """What one command changed of one kind."""

    created: set[str] = attrs.field(factory=set)
    updated: dict[str, dict[str, str]] = attrs.field(factory=dict)
    deleted: set[str] = attrs.field(factory=set)

    def __bool__(self) -> bool:
        return bool(self.created or self.updated or self.deleted)

    def touched(self) -> set[str]:
        return self.created | set(self.updated) | self.deleted

    def document(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.created:
            out["created"] = sorted(self.created)
        if self.updated:
            out["updated"] = {key: self.updated[key] for key in sorted(self.updated)}
        if self.deleted:
            out["deleted"] = sorted(self.deleted)
        return out


class Repository:
    """The store seen as domain values, for one actor (whose acts the audit entries name)."""

    def __init__(self, store: Store, *, actor: Actor, now: Callable[[], datetime]) -> None:
        self.store = store
        self._actor = actor
        self._now = now
        self._token = secrets.token_hex(3)
        self._counter = itertools.count()
        self._kept: dict[str, tuple[object, Any]] = {}

    def now(self) -> datetime:
        """The moment, by the handle's clock (what audit entries are stamped with)."""
        return self._now()

    def snapshot(self) -> Snapshot:
        """A fresh view for one call (on a versioned store, sharing what earlier calls made of
        the kinds no commit has changed since)."""
        capabilities = self.store.capabilities
        kept = self._kept if VERSIONED in capabilities else None
        return Snapshot(self.store, indexed=INDEXED_SCAN in capabilities, kept=kept)

    def batch(self, command: str) -> Batch:
        """A unit of work for one command (``command`` names it in the audit log)."""
        return Batch(self, command)

    def append_audit(
        self,
        uow: UnitOfWork,
        op: str,
        kind: str,
        key: str,
        fields: Mapping[str, Any],
        reason: str | None = None,
    ) -> None:
        """Append one entry; ``reason`` defaults to the actor's (why the script runs)."""
        at = stamp(self._now())
        audit_key = f"{at}-{next(self._counter):06d}-{self._token}"
        uow.put(
            kinds.AUDIT,
            audit_key,
            {
                "at": at,
                "actor": self._actor.kind.value,
                "actor_id": self._actor.id,
                "op": op,
                "kind": kind,
                "record": key,
                "fields": dict(fields),
                "reason": self._actor.reason if reason is None else reason,
            },
        )

    def audit_now(
        self,
        op: str,
        kind: str,
        key: str,
        fields: Mapping[str, Any],
        reason: str | None = None,
    ) -> None:
        """Append one audit entry in a unit of work of its own, committed before returning."""
        with self.store.unit_of_work() as uow:
            self.append_audit(uow, op, kind, key, fields, reason)
            uow.commit()
