"""The five clears (五清晰): which information areas of a child's file (一人一档) are complete.

A file must make five areas clear (SPEC §3). :func:`profile_completeness` says, for one child as
of a day, which areas are complete and which fields each incomplete area lacks (by path, never
by value). What counts as complete:

- 基本信息 basic: name, sex, birth date, resident ID number, an enrolment on the day with a
  class, home village and address;
- 性格特点 personality and 兴趣爱好 hobbies: written down;
- 身体状况 health: recorded, and for a disabled or ill child the type (``health_note``);
- 联系方式 contacts: both parents recorded; each parent who is alive, present and known has a
  phone; a parent away on the day has a work place; and unless both parents are at home on the
  day, a second guardian (第二监护人) with name, relation and phone.
"""

from __future__ import annotations

import enum
from datetime import date

from attrs import frozen

from leftbehind.domain.i18n import text
from leftbehind.domain.model import Absence, Child, Enrolment, Health, Parent

__all__ = ["Completeness", "ProfileArea", "profile_completeness"]


class ProfileArea(enum.Enum):
    """One of the five information areas of the five clears (五清晰)."""

    BASIC = "basic"
    PERSONALITY = "personality"
    HOBBIES = "hobbies"
    HEALTH = "health"
    CONTACTS = "contacts"

    @property
    def label(self) -> str:
        """The name used in ledgers (基本信息 …), in the language of the moment."""
        return text(f"area.{self.value}")


_ALL = frozenset(ProfileArea)


@frozen
class Completeness:
    """The areas of one child's file that are complete, and the missing fields by path."""

    child_id: str
    complete: frozenset[ProfileArea]
    missing: tuple[str, ...] = ()

    @property
    def clear(self) -> bool:
        """Whether all five areas are complete (五清晰)."""
        return self.complete == _ALL

    @property
    def incomplete(self) -> tuple[ProfileArea, ...]:
        """The incomplete areas, in the order of :class:`ProfileArea`."""
        return tuple(a for a in ProfileArea if a not in self.complete)


def _gone(parent: Parent, d: date | None) -> bool:
    """Deceased, missing or out of the family on ``d`` (at any time when ``d`` is ``None``)."""
    if not parent.known:
        return True
    for day in (parent.deceased_on, parent.missing_since, parent.divorced_out_on):
        if day is not None and (d is None or day <= d):
            return True
    return False


def _enrolment(child: Child, as_of: date | None) -> Enrolment | None:
    if as_of is None:
        return max(child.enrolments, key=_start) if child.enrolments else None
    for e in child.enrolments:
        if e.start <= as_of and (e.end is None or as_of < e.end):
            return e
    return None


def _start(item: Enrolment | Absence) -> date:
    return item.start


def _away(parent: Parent, as_of: date | None) -> Absence | None:
    absences = parent.absences
    if as_of is None:
        return max(absences, key=_start) if absences else None
    for a in absences:
        if a.start <= as_of and (a.end is None or as_of < a.end):
            return a
    return None


def _basic(child: Child, as_of: date | None, missing: list[str]) -> None:
    if not child.name:
        missing.append("name")
    if not child.resident_id:
        missing.append("resident_id")
    if not child.village:
        missing.append("village")
    if not child.address:
        missing.append("address")
    enrolment = _enrolment(child, as_of)
    if enrolment is None:
        missing.append("enrolments")
    elif not enrolment.class_name:
        missing.append("enrolments.class_name")


def _contacts(child: Child, as_of: date | None, missing: list[str]) -> None:
    at_home = 0
    for role, parent in (("father", child.father), ("mother", child.mother)):
        if parent is None:
            missing.append(role)
            continue
        if _gone(parent, as_of):
            continue
        if not parent.phone:
            missing.append(f"{role}.phone")
        away = _away(parent, as_of)
        if away is None:
            at_home += 1
        elif not away.place:
            missing.append(f"{role}.absences.place")
    if at_home == 2:
        return
    guardian = child.guardian
    if guardian is None:
        missing.append("guardian")
        return
    if not guardian.name:
        missing.append("guardian.name")
    if not guardian.relation:
        missing.append("guardian.relation")
    if not guardian.phone:
        missing.append("guardian.phone")


def profile_completeness(child: Child, as_of: date | None = None) -> Completeness:
    """Which of the five areas of ``child``'s file are complete as of ``as_of``.

    With ``as_of=None`` the latest enrolment and the latest absence of each parent stand for the
    day. Missing fields are named by path (``guardian.phone``), never by value.

    >>> from leftbehind.domain.model import Sex
    >>> c = profile_completeness(Child("C1", "", Sex.MALE, date(2015, 3, 1)), date(2026, 5, 1))
    >>> [a.label for a in c.incomplete]
    ['基本信息', '性格特点', '兴趣爱好', '身体状况', '联系方式']
    """
    missing: list[str] = []
    _basic(child, as_of, missing)
    complete = _NONE if missing else _BASIC
    if child.personality:
        complete |= _PERSONALITY
    else:
        missing.append("personality")
    if child.hobbies:
        complete |= _HOBBIES
    else:
        missing.append("hobbies")
    health = child.health
    if health is None:
        missing.append("health")
    elif health is not Health.HEALTHY and not child.health_note:
        missing.append("health_note")
    else:
        complete |= _HEALTH
    n = len(missing)
    _contacts(child, as_of, missing)
    if len(missing) == n:
        complete |= _CONTACTS
    return Completeness(child.id, _SETS[complete], tuple(missing))


# The areas as bits, so that a file's completeness is one of 32 shared frozensets.
_NONE, _BASIC, _PERSONALITY, _HOBBIES, _HEALTH, _CONTACTS = 0, 1, 2, 4, 8, 16
_SETS = [frozenset(a for i, a in enumerate(ProfileArea) if bits & (1 << i)) for bits in range(32)]
