"""Who may see what (隐私与权限): actors, scopes, the field policy, masking and the audit log.

A county handle is opened for an :class:`Actor`. Every read of the handle asks :class:`Scope`
which children the actor may see over the days asked, and :func:`mask_child` hides the fields
the actor's standing towards each child does not allow (:data:`FIELD_POLICY`). Writes,
exports and unmasking are appended to the audit log (kind ``"audit"`` in the store) as
:class:`AuditEntry` values that name fields, never the values themselves.

Scopes, on the days asked (one day, or any day of a period):

- **system** (系统) and **county officer** (县教育局): every child;
- **township officer** (乡镇中心校): children enrolled in a school of their township;
- **school head** (校长): children enrolled in their school;
- **staff** (教师, 代管家长 …): the children they hold an assignment to;
- **volunteer** (志愿者): the families they are paired with, names and pairing only.

This module imports the domain only; the county handle applies it.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

import attrs
from attrs import frozen

from leftbehind.domain.dates import Interval
from leftbehind.domain.errors import LeftbehindError
from leftbehind.domain.i18n import text
from leftbehind.domain.ids import mask_phone, mask_resident_id
from leftbehind.domain.model import Child, Parent, School
from leftbehind.domain.people import Assignments, Role

__all__ = [
    "FIELD_POLICY",
    "OFFICIALS",
    "PHONE_DUTIES",
    "AccessDeniedError",
    "Actor",
    "ActorKind",
    "AuditEntry",
    "Family",
    "Field",
    "Scope",
    "Standing",
    "field_changes",
    "files_visible",
    "in_scope_ids",
    "mask_child",
    "may_see",
    "parse_actor",
]


class ActorKind(enum.Enum):
    """The kinds of actor a county handle can be opened for."""

    COUNTY_OFFICER = "county"
    TOWNSHIP_OFFICER = "township"
    SCHOOL_HEAD = "school"
    TEACHER = "teacher"
    PROXY_PARENT = "proxy_parent"
    VOLUNTEER = "volunteer"
    SYSTEM = "system"

    @property
    def label(self) -> str:
        """The name (县教育局 …) in the language of the moment."""
        return text(f"actor.{_ACTOR_KEYS[self]}")


_ACTOR_KEYS = {
    ActorKind.COUNTY_OFFICER: "county_officer",
    ActorKind.TOWNSHIP_OFFICER: "township_officer",
    ActorKind.SCHOOL_HEAD: "school_head",
    ActorKind.TEACHER: "teacher",
    ActorKind.PROXY_PARENT: "proxy_parent",
    ActorKind.VOLUNTEER: "volunteer",
    ActorKind.SYSTEM: "system",
}

#: Actors whose standing comes from their office, not from assignments (above the teachers).
OFFICIALS = frozenset(
    {
        ActorKind.SYSTEM,
        ActorKind.COUNTY_OFFICER,
        ActorKind.TOWNSHIP_OFFICER,
        ActorKind.SCHOOL_HEAD,
    }
)
_STAFF_KINDS = frozenset({ActorKind.TEACHER, ActorKind.PROXY_PARENT})


class AccessDeniedError(LeftbehindError, PermissionError):
    """The actor may not do this. The message names the actor's kind and the record's key
    (keys carry no personal data), never a stored value."""

    def __init__(self, actor: Actor, what: str, key: str = "") -> None:
        self.actor_kind, self.what, self.key = actor.kind, what, key
        on = f" {key!r}" if key else ""
        super().__init__(f"a {actor.kind.value} actor may not {what}{on}")

    def __str__(self) -> str:
        return str(self.args[0])


@frozen
class Actor:
    """Who is using the county handle. Build one with the class methods.

    ``id`` is the officer's or staff member's key (never a name or an ID number); ``reason``
    says why a script runs (it goes into the audit log, so it must carry no personal data).
    """

    kind: ActorKind
    id: str
    township: str | None = None
    school_id: str | None = None
    reason: str = ""

    @classmethod
    def system(cls, reason: str) -> Actor:
        """A script or the command line acting for the whole county; ``reason`` is required."""
        return cls(ActorKind.SYSTEM, "system", reason=reason)

    @classmethod
    def county_officer(cls, id: str) -> Actor:
        """An officer of the county education bureau (县教育局): every school."""
        return cls(ActorKind.COUNTY_OFFICER, id)

    @classmethod
    def township_officer(cls, id: str, township: str) -> Actor:
        """An officer of a township's central school (乡镇中心校): the township's schools."""
        return cls(ActorKind.TOWNSHIP_OFFICER, id, township=township)

    @classmethod
    def school_head(cls, id: str, school_id: str) -> Actor:
        """A school head (校长): the children of their school."""
        return cls(ActorKind.SCHOOL_HEAD, id, school_id=school_id)

    @classmethod
    def staff(cls, staff_id: str, kind: ActorKind = ActorKind.TEACHER) -> Actor:
        """A teacher or proxy parent: the children their assignments name; what they see of each
        child follows their roles towards that child (see :data:`FIELD_POLICY`)."""
        if kind not in _STAFF_KINDS:
            msg = "Actor.staff takes ActorKind.TEACHER or ActorKind.PROXY_PARENT"
            raise ValueError(msg)
        return cls(kind, staff_id)

    @classmethod
    def volunteer(cls, staff_id: str) -> Actor:
        """A volunteer (志愿者): the families they are paired with, names and pairing only."""
        return cls(ActorKind.VOLUNTEER, staff_id)

    @property
    def is_official(self) -> bool:
        """System, county, township or school head: standing by office."""
        return self.kind in OFFICIALS

    @property
    def sees_county(self) -> bool:
        """System and county officers see every school."""
        return self.kind in (ActorKind.SYSTEM, ActorKind.COUNTY_OFFICER)

    def describe(self) -> str:
        """``kind:id`` as the command line writes it."""
        if self.kind is ActorKind.SYSTEM:
            return "system"
        if self.kind is ActorKind.TOWNSHIP_OFFICER:
            return f"township:{self.id}:{self.township}"
        if self.kind is ActorKind.SCHOOL_HEAD:
            return f"school:{self.id}:{self.school_id}"
        if self.kind in _STAFF_KINDS:
            return f"staff:{self.id}"
        return f"{self.kind.value}:{self.id}"


def parse_actor(text: str, *, reason: str = "command line") -> Actor:
    """An actor from the command line's forms: ``system``, ``county:ID``,
    ``township:ID:TOWNSHIP``, ``school:ID:SCHOOL_ID``, ``staff:STAFF_ID``,
    ``volunteer:STAFF_ID``. Raises :class:`ValueError` for anything else.

    >>> parse_actor("school:H01:S003").school_id
    'S003'
    """
    head, _, rest = text.strip().partition(":")
    parts = rest.split(":") if rest else []
    if head == "system" and not parts:
        return Actor.system(reason)
    if all(parts):
        if head == "county" and len(parts) == 1:
            return Actor.county_officer(parts[0])
        if head == "township" and len(parts) == 2:
            return Actor.township_officer(parts[0], parts[1])
        if head == "school" and len(parts) == 2:
            return Actor.school_head(parts[0], parts[1])
        if head == "staff" and len(parts) == 1:
            return Actor.staff(parts[0])
        if head == "volunteer" and len(parts) == 1:
            return Actor.volunteer(parts[0])
    msg = (
        "expected system, county:ID, township:ID:TOWNSHIP, school:ID:SCHOOL_ID, "
        "staff:STAFF_ID or volunteer:STAFF_ID"
    )
    raise ValueError(msg)


# ---------------------------------------------------------------------------------------------
# The field policy.


class Field(enum.Enum):
    """The fields of a child's file that not everyone who sees the child may see."""

    RESIDENT_ID = "resident_id"
    HEALTH = "health"
    PHONES = "phones"

    @property
    def label(self) -> str:
        return text(f"field.{self.value}")


#: An actor's standing towards one child: their office, or the roles they hold towards the child.
Standing = frozenset[ActorKind | Role]

#: The duties that need the parents' and guardian's phones, and the role that owes each.
PHONE_DUTIES: Mapping[str, Role] = {
    "FAMILY_CONTACT": Role.CLASS_TEACHER,
    "PARENT_REPORT": Role.CLASS_TEACHER,
    "HOME_VISIT": Role.PROXY_PARENT,
}

#: Who may see each protected field in clear: a role held towards the child, or an office.
#: Every other field of the file is shown to whoever may see the child (volunteers excepted:
#: they get a :class:`Family` card, names and pairing only).
FIELD_POLICY: Mapping[Field, frozenset[ActorKind | Role]] = {
    Field.RESIDENT_ID: frozenset({Role.CLASS_TEACHER, *OFFICIALS}),
    Field.HEALTH: frozenset({Role.CLASS_TEACHER, *OFFICIALS}),
    Field.PHONES: frozenset({*PHONE_DUTIES.values(), *OFFICIALS}),
}


def may_see(field: Field, standing: Standing) -> bool:
    """Whether an actor of this standing sees ``field`` of the child in clear."""
    return bool(standing & FIELD_POLICY[field])


def _mask_parent(parent: Parent | None) -> Parent | None:
    if parent is None or not parent.phone:
        return parent
    return attrs.evolve(parent, phone=mask_phone(parent.phone))


def mask_child(child: Child, standing: Standing) -> Child:
    """The child as an actor of ``standing`` sees them: the ID number with its birth digits
    hidden (``130432***********X``), phones as ``138****1234``, health left out."""
    out = child
    if child.resident_id and not may_see(Field.RESIDENT_ID, standing):
        out = attrs.evolve(out, resident_id=mask_resident_id(child.resident_id))
    if (child.health is not None or child.health_note) and not may_see(Field.HEALTH, standing):
        out = attrs.evolve(out, health=None, health_note="")
    if not may_see(Field.PHONES, standing):
        guardian = child.guardian
        if guardian is not None and guardian.phone:
            guardian = attrs.evolve(guardian, phone=mask_phone(guardian.phone))
        out = attrs.evolve(
            out,
            father=_mask_parent(child.father),
            mother=_mask_parent(child.mother),
            guardian=guardian,
        )
    return out


@frozen
class Family:
    """What a volunteer sees of a family they are paired with: names and the pairing."""

    child_id: str
    name: str
    father: str = ""
    mother: str = ""
    guardian: str = ""
    guardian_relation: str = ""
    pairings: tuple[tuple[str, str], ...] = ()


# ---------------------------------------------------------------------------------------------
# Scopes.


def _overlaps(start: date, end: date | None, window: Interval) -> bool:
    return window.overlaps(Interval(start, end))


@frozen
class Scope:
    """The actor's reach over a window of days, given the county's schools and assignments."""

    actor: Actor
    schools: Mapping[str, School]
    assignments: Assignments

    def standing(self, child: Child, window: Interval) -> Standing:
        """The actor's standing towards ``child`` over ``window``; empty: out of scope."""
        actor = self.actor
        if actor.sees_county:
            return frozenset({actor.kind})
        if actor.kind is ActorKind.TOWNSHIP_OFFICER or actor.kind is ActorKind.SCHOOL_HEAD:
            for e in child.enrolments:
                if self.school_in_scope(e.school_id) and _overlaps(e.start, e.end, window):
                    return frozenset({actor.kind})
            return frozenset()
        roles: set[ActorKind | Role] = {
            a.role
            for a in self.assignments.of_child(child.id)
            if a.staff_id == actor.id and _overlaps(a.start, a.end, window)
        }
        if actor.kind is ActorKind.VOLUNTEER and roles:
            return frozenset({Role.VOLUNTEER})
        return frozenset(roles)

    def school_in_scope(self, school_id: str) -> bool:
        """Whether the actor's office covers the school (teachers and volunteers: none)."""
        actor = self.actor
        if actor.sees_county:
            return True
        if actor.kind is ActorKind.TOWNSHIP_OFFICER:
            school = self.schools.get(school_id)
            return school is not None and school.township == actor.township
        if actor.kind is ActorKind.SCHOOL_HEAD:
            return school_id == actor.school_id
        return False

    def schools_in_scope(self) -> dict[str, School]:
        """The schools the actor's office covers."""
        return {k: s for k, s in self.schools.items() if self.school_in_scope(k)}


def files_visible(standing: Standing) -> bool:
    """Whether this standing shows the child's file (a volunteer's shows a family card only)."""
    return bool(standing) and standing != frozenset({Role.VOLUNTEER})


# ---------------------------------------------------------------------------------------------
# The audit log.


@frozen
class AuditEntry:
    """One line of the audit log.

    A command that changes files writes one entry: ``op`` is the command (``put_children``,
    ``add_records``, ``end_assignment``, ``purge``, ``set_policy`` …), ``kind`` the kinds it
    changed (comma-separated), ``record`` the key when it changed one document only, and
    ``fields["changes"]`` says per kind which keys were ``created`` and ``deleted`` and, for each
    key ``updated``, which fields (``{"father.phone": "changed"}``). Other acts write an entry
    each: ``export``, ``export_denied``, ``unmask``, ``unmask_denied`` and ``refused`` (a
    duplicate resident ID), with ``kind`` and ``record`` naming what was asked for and
    ``fields`` describing it (``format``, ``unmasked``, ``rows``). No entry holds a personal
    value.
    """

    key: str
    at: str
    actor: str
    actor_id: str
    op: str
    kind: str
    record: str
    fields: Mapping[str, Any] = attrs.field(factory=dict)
    reason: str = ""

    @property
    def changes(self) -> dict[str, dict[str, Any]]:
        """A command's changes by kind (``created``, ``updated``, ``deleted``); empty for
        other entries."""
        found = self.fields.get("changes")
        return dict(found) if isinstance(found, Mapping) else {}

    def keys(self) -> set[str]:
        """Every key a command's entry names (created, updated or deleted)."""
        out: set[str] = set()
        for change in self.changes.values():
            for what in ("created", "updated", "deleted"):
                out.update(change.get(what, ()))
        return out

    @classmethod
    def from_document(cls, key: str, doc: Mapping[str, Any]) -> AuditEntry:
        return cls(
            key,
            str(doc.get("at", "")),
            str(doc.get("actor", "")),
            str(doc.get("actor_id", "")),
            str(doc.get("op", "")),
            str(doc.get("kind", "")),
            str(doc.get("record", "")),
            dict(doc.get("fields") or {}),
            str(doc.get("reason", "")),
        )


def field_changes(before: Any, after: Any, prefix: str = "") -> dict[str, str]:
    """The paths where two JSON documents differ: ``added``, ``removed`` or ``changed``.

    Dicts are compared field by field; lists and scalars as wholes. No value is copied.

    >>> field_changes({"name": "甲", "father": {"phone": "1"}}, {"name": "甲", "father": {}})
    {'father.phone': 'removed'}
    """
    if isinstance(before, dict) and isinstance(after, dict):
        out: dict[str, str] = {}
        for name in sorted(set(before) | set(after)):
            path = f"{prefix}.{name}" if prefix else str(name)
            if name not in before:
                if after[name] not in (None, "", [], {}):
                    out[path] = "added"
            elif name not in after:
                if before[name] not in (None, "", [], {}):
                    out[path] = "removed"
            else:
                out |= field_changes(before[name], after[name], path)
        return out
    if before == after:
        return {}
    if before in (None, "", [], {}):
        return {prefix or "*": "added"}
    if after in (None, "", [], {}):
        return {prefix or "*": "removed"}
    return {prefix or "*": "changed"}


def in_scope_ids(scope: Scope, children: Iterable[Child], window: Interval) -> dict[str, Standing]:
    """The standing of every child in scope over ``window``, by id."""
    out: dict[str, Standing] = {}
    for child in children:
        standing = scope.standing(child, window)
        if standing:
            out[child.id] = standing
    return out
