"""The gate: the one place that decides what an actor may read, write, export, unmask and audit.

Every room of the service asks the gate; none decides for itself. Two questions are answered
here and nowhere else:

- **may the actor do this kind of thing at all?** :data:`PERMISSIONS` maps each action to the
  kinds of actor allowed (:meth:`Gate.require`), like one ability class;
- **which children, and what of them?** :meth:`Gate.visible` is the record scope: the children
  in the actor's reach with the actor's standing towards each, judged on the handle's **today**
  (never on a date the caller passes: ``as_of`` chooses which facts are shown, not who may see
  them). Officials stand by their office: the children enrolled in a school it covers on a day
  of the school year so far. Staff and volunteers stand by their assignments holding today, so
  a teacher whose assignment ended sees nothing more of the child.

Writes are checked against the stored document as well as the new one, so no one overwrites
another school's file, assignment, group or record by reusing its key.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta

from leftbehind.access import (
    OFFICIALS,
    AccessDeniedError,
    Actor,
    ActorKind,
    Scope,
    Standing,
    files_visible,
)
from leftbehind.domain.dates import Interval, school_year_of
from leftbehind.domain.duties import Record
from leftbehind.domain.ids import shown_key
from leftbehind.domain.model import Child
from leftbehind.domain.people import Assignment, Assignments, Role, Staff, StudyGroup
from leftbehind.errors import NotFoundError
from leftbehind.service.repository import Snapshot

__all__ = ["PERMISSIONS", "Gate", "default_period"]

_COUNTY = frozenset({ActorKind.SYSTEM, ActorKind.COUNTY_OFFICER})
_WRITERS = _COUNTY | {ActorKind.SCHOOL_HEAD}
_EVERYONE = frozenset(ActorKind)
_NOT_VOLUNTEER = _EVERYONE - {ActorKind.VOLUNTEER}

#: Each action and the kinds of actor that may take it. Which children and which fields an
#: allowed actor then reaches is the record scope's business (:meth:`Gate.visible`).
PERMISSIONS: Mapping[str, frozenset[ActorKind]] = {
    "settings.write": _COUNTY,
    "schools.write": _COUNTY,
    "children.write": _WRITERS,
    "staff.write": _WRITERS,
    "assignments.write": _WRITERS,
    "groups.write": _WRITERS,
    "records.write": _WRITERS | {ActorKind.TEACHER, ActorKind.PROXY_PARENT},
    "corrections.write": _WRITERS,
    "files.read": _NOT_VOLUNTEER,
    "families.read": _EVERYONE,
    "county_table.read": _COUNTY | {ActorKind.TOWNSHIP_OFFICER},
    "school_tables.read": OFFICIALS,
    "teacher_tables.read": _NOT_VOLUNTEER,
    "digest.read": _EVERYONE,
    "quality.read": _NOT_VOLUNTEER,
    "follow_ups.read": _NOT_VOLUNTEER,
    "follow_ups.write": _NOT_VOLUNTEER,
    "commendations.read": _COUNTY,
    "audit.read": _COUNTY,
    "notices.manage": _COUNTY,
    "purge": _COUNTY,
    "store.raw": frozenset({ActorKind.SYSTEM}),
}


def default_period(as_of: date) -> Interval:
    """The ledger's default period: the school year of ``as_of`` (from 1 September) up to it."""
    return Interval(date(school_year_of(as_of), 9, 1), as_of + timedelta(days=1))


class Gate:
    """The access decision for one actor on one day, over one call's snapshot."""

    def __init__(self, actor: Actor, today: date, snapshot: Snapshot) -> None:
        self.actor = actor
        self.today = today
        self._snap = snapshot
        self._scope: Scope | None = None
        self._visible: dict[str, tuple[Child, Standing]] | None = None

    # ------------------------------------------------------------------ abilities

    def allows(self, action: str) -> bool:
        """Whether the actor's kind may take ``action`` (a key of :data:`PERMISSIONS`)."""
        return self.actor.kind in PERMISSIONS[action]

    def require(self, action: str, what: str = "", key: str = "") -> None:
        """Raise :class:`~leftbehind.access.AccessDeniedError` unless the actor may take
        ``action``."""
        if not self.allows(action):
            raise AccessDeniedError(self.actor, what or action, shown_key(key))

    def deny(self, what: str, key: str = "") -> AccessDeniedError:
        """The refusal to raise (the key shown only if it looks like no ID or phone)."""
        return AccessDeniedError(self.actor, what, shown_key(key))

    # ------------------------------------------------------------------ the record scope

    @property
    def window(self) -> Interval:
        """The days the actor's standing is judged on (see the module docs)."""
        if self.actor.is_official:
            return default_period(self.today)
        return Interval(self.today, self.today + timedelta(days=1))

    @property
    def scope(self) -> Scope:
        if self._scope is None:
            actor = self.actor
            # Officials stand by their office; anyone else only by their own assignments.
            own = Assignments(()) if actor.is_official else self._snap.own_assignments(actor.id)
            self._scope = Scope(actor, self._snap.schools(), own)
        return self._scope

    def standing(self, child: Child) -> Standing:
        """The actor's standing towards ``child`` today (empty: out of scope)."""
        return self.scope.standing(child, self.window)

    def visible(self) -> dict[str, tuple[Child, Standing]]:
        """Every child in the actor's reach today, with the actor's standing towards each."""
        if self._visible is None:
            actor = self.actor
            if actor.sees_county:
                everyone = frozenset({actor.kind})
                self._visible = {k: (c, everyone) for k, c in self._snap.children().items()}
                return self._visible
            if actor.is_official:
                children = self._snap.children()
            else:
                window = self.window
                ids = {
                    a.child_id
                    for a in self.scope.assignments.all
                    if window.overlaps(Interval(a.start, a.end))
                }
                children = self._snap.children_of(ids)
            out: dict[str, tuple[Child, Standing]] = {}
            for key, child in children.items():
                standing = self.standing(child)
                if standing:
                    out[key] = (child, standing)
            self._visible = out
        return self._visible

    def files(self) -> dict[str, tuple[Child, Standing]]:
        """The children whose file the actor may read (a volunteer's standing shows a family
        card only, whatever kind of actor holds it)."""
        if not self.allows("files.read"):
            return {}
        return {k: v for k, v in self.visible().items() if files_visible(v[1])}

    def one(self, child_id: str) -> tuple[Child, Standing]:
        """The child and the actor's standing; out of scope is reported as not found."""
        found = self.visible().get(child_id) if self._visible is not None else None
        if found is not None:
            return found
        child = self._snap.child(child_id)
        standing = self.standing(child) if child is not None else frozenset()
        if child is None or not standing:
            raise NotFoundError("child", child_id)
        return child, standing

    def file(self, child_id: str) -> tuple[Child, Standing]:
        """As :meth:`one`, refused when the actor's standing shows no file."""
        child, standing = self.one(child_id)
        if not self.allows("files.read") or not files_visible(standing):
            raise self.deny("read the file of", child_id)
        return child, standing

    def school_in_scope(self, school_id: str) -> bool:
        return self.scope.school_in_scope(school_id)

    def staff_reachable(self, staff_id: str) -> bool:
        """Own digest and tables, or those of staff of a school the actor's office covers."""
        if staff_id == self.actor.id and not self.actor.is_official:
            return True
        person = self._snap.staff_member(staff_id)
        return person is not None and self.school_in_scope(person.school_id)

    def require_staff(self, staff_id: str, what: str) -> Staff:
        """The staff member, if in the actor's reach."""
        person = self._snap.staff_member(staff_id)
        if person is None:
            raise NotFoundError("staff", staff_id)
        if not self.staff_reachable(staff_id):
            raise self.deny(what, staff_id)
        return person

    # ------------------------------------------------------------------ writes

    def _in_office(self, child: Child) -> bool:
        """Whether the child is the head's today: enrolled at their school on a day of the
        school year so far (a past enrolment does not make a child theirs)."""
        return bool(self.standing(child))

    def check_child(self, new: Child, stored: Child | None) -> None:
        """A school head writes files of their school's children only: the stored file must be
        theirs today, the new one too, and enrolments at other schools stay as stored (moving
        a child between schools is the county's act)."""
        self.require("children.write", "write children's files")
        if self.actor.sees_county:
            return
        mine = self.actor.school_id
        if not self._in_office(new):
            raise self.deny("write the file of", new.id)
        if stored is not None:
            others_before = [e for e in stored.enrolments if e.school_id != mine]
            others_after = [e for e in new.enrolments if e.school_id != mine]
            if not self._in_office(stored) or others_before != others_after:
                raise self.deny("write the file of", new.id)

    def check_staff(self, new: Staff, stored: Staff | None) -> None:
        self.require("staff.write", "write staff")
        if self.actor.sees_county:
            return
        mine = self.actor.school_id
        if new.school_id != mine or (stored is not None and stored.school_id != mine):
            raise self.deny("write staff member", new.id)

    def may_reach_child(self, child_id: str, day: date | None) -> bool:
        """Whether the actor may write about ``child_id`` (a missing child: no). A teacher or
        proxy parent needs an assignment to the child holding today and on ``day``."""
        actor = self.actor
        child = self._snap.child(child_id)
        if child is None:
            return False
        if actor.sees_county:
            return True
        if actor.kind is ActorKind.SCHOOL_HEAD:
            return self._in_office(child)
        if actor.kind in (ActorKind.TEACHER, ActorKind.PROXY_PARENT) and day is not None:
            # a volunteer pairing shows no file, and owes no record either
            mine = [
                a for a in self.scope.assignments.of_child(child_id) if a.role is not Role.VOLUNTEER
            ]
            return any(a.holds_on(day) for a in mine) and any(a.holds_on(self.today) for a in mine)
        return False

    def check_assignment(self, key: str, staff_id: str, child_id: str) -> None:
        """A head assigns their school's staff to their school's children."""
        self.require("assignments.write", "assign staff")
        if self.actor.sees_county:
            return
        child = self._snap.child(child_id)
        if child is None or not self._in_office(child):
            raise NotFoundError("assignment", key)
        person = self._snap.staff_member(staff_id)
        if person is None or person.school_id != self.actor.school_id:
            raise self.deny("assign staff of another school in", key)

    def check_stored_assignment(self, stored: Assignment | None) -> None:
        if stored is not None:
            self.check_assignment(stored.id, stored.staff_id, stored.child_id)

    def check_group(self, new: StudyGroup, stored: StudyGroup | None) -> None:
        self.require("groups.write", "write study groups")
        if self.actor.sees_county:
            return
        for group in (new, stored):
            if group is None:
                continue
            if group.school_id != self.actor.school_id:
                raise self.deny("write study group", group.id)
            for child_id in group.child_ids:
                self.check_assignment(group.id, group.guide_staff_id, child_id)

    def check_record(self, new: Record, stored: Record | None) -> None:
        """Staff record their own duties; nobody overwrites a record out of their reach."""
        self.require("records.write", "add records")
        actor = self.actor
        own_only = actor.kind in (ActorKind.TEACHER, ActorKind.PROXY_PARENT)
        if own_only and (
            new.staff_id != actor.id or (stored is not None and stored.staff_id != actor.id)
        ):
            raise self.deny("record another's duty", new.id)
        if actor.kind is ActorKind.SCHOOL_HEAD:
            for record in (new, stored):
                person = self._snap.staff_member(record.staff_id) if record else None
                if record is not None and (person is None or person.school_id != actor.school_id):
                    raise self.deny("record the duty of another school's staff", new.id)
        if stored is not None and not self.may_reach_child(stored.child_id, stored.on):
            raise self.deny("overwrite record", new.id)
