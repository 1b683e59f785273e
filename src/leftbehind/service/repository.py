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
from datetime import UTC, datetime
from typing import Any, Self, TypeVar

from leftbehind import kinds
from leftbehind.access import Actor, AuditEntry, field_changes
from leftbehind.convert import structure_trusted, unstructure
from leftbehind.domain.duties import Record
from leftbehind.domain.eligibility import Timeline
from leftbehind.domain.model import Child, School
from leftbehind.domain.people import Assignment, Assignments, Staff, StudyGroup
from leftbehind.store import INDEXED_SCAN, Store, UnitOfWork

__all__ = ["SETTINGS_KEY", "Batch", "Repository", "Snapshot", "resident_id_key", "stamp"]

T = TypeVar("T")

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


class Snapshot:
    """One call's view of the store, each kind read at most once."""

    def __init__(self, store: Store | UnitOfWork, *, indexed: bool = False) -> None:
        self._store = store
        self._indexed = indexed
        self._memo: dict[Any, Any] = {}

    def _all(self, kind: str, cls: type[T]) -> dict[str, T]:
        cached: dict[str, T] | None = self._memo.get(kind)
        if cached is None:
            cached = {key: structure_trusted(doc, cls) for key, doc in self._store.scan(kind)}
            self._memo[kind] = cached
        return cached

    def _one(self, kind: str, key: str, cls: type[T]) -> T | None:
        cached: dict[str, T] | None = self._memo.get(kind)
        if cached is not None:
            return cached.get(key)
        seen: dict[str, T | None] = self._memo.setdefault(("one", kind), {})
        if key not in seen:
            doc = self._store.get(kind, key)
            seen[key] = None if doc is None else structure_trusted(doc, cls)
        return seen[key]

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
        """The children of ``keys`` that exist (one read each, unless all are loaded)."""
        out: dict[str, Child] = {}
        for key in sorted(set(keys)):
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

    def _few(self, kind: str) -> bool:
        """Whether to read a few children's documents of ``kind`` one child at a time: when the
        store serves such scans from an index and the kind is not loaded already."""
        return self._indexed and kind not in self._memo

    def records_of(self, child_ids: Iterable[str]) -> list[Record]:
        """The records of these children (read child by child on an indexed store)."""
        ids = set(child_ids)
        if not self._few(kinds.RECORD):
            return [r for r in self.records() if r.child_id in ids]
        return [r for cid in sorted(ids) for r in self.records(child_id=cid)]

    def timelines_of(self, child_ids: Iterable[str]) -> dict[str, Timeline]:
        """The timelines of these children under the county's policy."""
        ids = set(child_ids)
        if not self._few(kinds.TIMELINE):
            return {k: t for k, t in self.timelines().items() if k in ids}
        found = ((cid, self.timeline(cid)) for cid in sorted(ids))
        return {cid: t for cid, t in found if t is not None}

    def assignments_of(self, child_ids: Iterable[str]) -> Assignments:
        """The assignments to these children, the study groups' guides included."""
        ids = set(child_ids)
        if not self._few(kinds.ASSIGNMENT):
            return Assignments(a for a in self.assignments().all if a.child_id in ids)
        stored = [
            structure_trusted(d, Assignment)
            for cid in sorted(ids)
            for _, d in self._store.scan(kinds.ASSIGNMENT, {"child_id": cid})
        ]
        guides = [a for g in self.groups().values() for a in g.assignments() if a.child_id in ids]
        return Assignments([*stored, *guides])

    def record(self, key: str) -> Record | None:
        return self._one(kinds.RECORD, key, Record)

    def resident_id_owner(self, resident_id: str) -> str | None:
        """The child holding ``resident_id`` by the index (read through this snapshot's store)."""
        doc = self._store.get(kinds.RESIDENT_ID, resident_id_key(resident_id))
        return None if doc is None else str(doc.get("child", ""))

    def audit(self) -> Iterator[AuditEntry]:
        for key, doc in self._store.scan(kinds.AUDIT):
            yield AuditEntry.from_document(key, doc)


class Batch:
    """One command's unit of work: domain values written as documents, each change audited.

    ``view`` reads inside the unit of work, so what a command checked before writing is
    checked again for conflicts on commit; read through it before writing (a kind, once read,
    is kept). Leaving the block without :meth:`commit` writes nothing.
    """

    def __init__(self, repository: Repository) -> None:
        self._repo = repository
        self._uow = repository.store.unit_of_work()
        self.view = Snapshot(self._uow)

    def __enter__(self) -> Self:
        self._uow.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._uow.__exit__(None, None, None)

    @property
    def uow(self) -> UnitOfWork:
        """The unit of work itself, for the outbox (its documents are not domain values)."""
        return self._uow

    def put(self, kind: str, key: str, value: object, *, audit: bool = True) -> None:
        """Write ``value`` (a domain value or a document) and audit the fields it changed."""
        doc = value if isinstance(value, Mapping) else unstructure(value)
        old = self._uow.get(kind, key)
        self._uow.put(kind, key, doc)
        if not audit:
            return
        new = self._uow.get(kind, key) or {}
        changes = field_changes(dict(old) if old is not None else {}, new)
        if old is not None and not changes:
            return
        op = "create" if old is None else "update"
        self.audit(op, kind, key, {"changed": changes})

    def put_quiet(self, kind: str, key: str, value: object) -> None:
        """Write derived data (timelines, the resident-ID index): not a change of a file."""
        self.put(kind, key, value, audit=False)

    def delete(self, kind: str, key: str) -> None:
        self._uow.delete(kind, key)

    def scan_keys(self, kind: str, where: Mapping[str, str] | None = None) -> list[str]:
        return [key for key, _ in self._uow.scan(kind, where)]

    def audit(self, op: str, kind: str, key: str, fields: Mapping[str, Any]) -> None:
        """Append one audit entry (field names only) to this unit of work."""
        self._repo.append_audit(self._uow, op, kind, key, fields)

    def commit(self) -> None:
        self._uow.commit()


class Repository:
    """The store seen as domain values, for one actor (whose acts the audit entries name)."""

    def __init__(self, store: Store, *, actor: Actor, now: Callable[[], datetime]) -> None:
        self.store = store
        self._actor = actor
        self._now = now
        self._token = secrets.token_hex(3)
        self._counter = itertools.count()

    def snapshot(self) -> Snapshot:
        """A fresh view for one call."""
        return Snapshot(self.store, indexed=INDEXED_SCAN in self.store.capabilities)

    def batch(self) -> Batch:
        """A unit of work for one command."""
        return Batch(self)

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
