"""Cross-field checks of the facts: pure functions that return every issue they find.

Each issue (:class:`~leftbehind.errors.Issue`) names the field by its path
(``father.absences[1].start``) and a stable code; its message states the rule and never the
value. Today's date is a parameter: without it (``None``) the checks that need it (future dates)
are skipped.

Codes and their weight:

==============================  =======  ========================================================
code                            weight   meaning
==============================  =======  ========================================================
``required``                    error    an identity key (``id``) is empty
``future_date``                 error    a fact dated after today (birth, absence start, death,
                                         missing, divorce, capacity lost, abandonment, ID birth)
``absence_order``               error    an absence ends before it starts
``absence_overlap``             error    two absence spells of one parent share a day
``death_before_absence``        error    a spell starts on or after the parent's death
``missing_before_absence``      error    a spell starts on or after the parent went missing
``enrolment_order``             error    an enrolment ends before it starts
``enrolment_overlap``           error    two enrolments share a day
``enrolment_before_birth``      error    an enrolment starts before the child was born
``leave_reason_without_end``    error    a reason for leaving on an enrolment that has not ended
``grade_range``                 error    a grade outside 1–9
``id_format``                   error    not 17 digits and a digit or X
``id_birth_date``               error    positions 7–14 of the ID are no real date
``id_check_digit``              error    the GB 11643 check digit fails
``id_birth_mismatch``           error    the ID's birth date differs from the recorded one
``id_sex_mismatch``             warning  the ID's sex digit differs from the recorded sex
``phone_format``                error    neither a mainland mobile nor a landline with area code
``duplicate_id``                error    two children (or schools) share an ``id``
``duplicate_resident_id``       error    two children share a resident ID number
``unknown_school``              error    an enrolment names a school that is not listed
==============================  =======  ========================================================

A sex digit that disagrees is a warning rather than an error: the recorded sex and the card can
both be right (the card was issued before a correction), and the mismatch hides nothing the
eligibility rules depend on. A birth date that disagrees is an error, because the national rule's
age limit is computed from it. Use :func:`errors_only` to keep what must block a save.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date

from leftbehind.domain import ids
from leftbehind.domain.errors import Issue
from leftbehind.domain.i18n import text
from leftbehind.domain.model import Absence, Child, Enrolment, Guardian, Parent, School, Sex

__all__ = [
    "MESSAGES",
    "WARNING_CODES",
    "check_child",
    "check_children",
    "check_school",
    "errors_only",
    "join_path",
    "resident_id_issues",
]

WARNING_CODES: frozenset[str] = frozenset({"id_sex_mismatch"})
"""Codes that describe doubtful but storable facts; every other code is an error."""

MESSAGES: Mapping[str, str] = {  # code → the rule broken (never the value)
    "required": "must not be empty",
    "future_date": "lies after today",
    "absence_order": "an absence cannot end before it starts",
    "absence_overlap": "overlaps an earlier absence spell of the same parent",
    "death_before_absence": "a work spell cannot start on or after the parent's death",
    "missing_before_absence": "a work spell cannot start on or after the parent went missing",
    "enrolment_order": "an enrolment cannot end before it starts",
    "enrolment_overlap": "overlaps an earlier enrolment of the same child",
    "enrolment_before_birth": "an enrolment cannot start before the child's birth date",
    "leave_reason_without_end": "a reason for leaving needs the date the pupil left",
    "grade_range": "the grade must be between 1 and 9",
    "id_format": "a resident ID is 17 digits followed by a digit or X",
    "id_birth_date": "the birth date written in the resident ID is not a real date",
    "id_check_digit": "the resident ID's check digit (GB 11643) is wrong",
    "id_birth_mismatch": "the birth date in the resident ID differs from the recorded birth date",
    "id_sex_mismatch": "the sex digit of the resident ID differs from the recorded sex",
    "phone_format": "not a mainland mobile number or a landline number with area code",
    "duplicate_id": "another record has the same id",
    "duplicate_resident_id": "another child has the same resident ID",
    "unknown_school": "no school with this id is listed",
}


def join_path(path: str, name: str | int) -> str:
    """``join_path("children[3]", "father")`` → ``children[3].father``; an int is an index."""
    if isinstance(name, int):
        return f"{path}[{name}]"
    return f"{path}.{name}" if path else name


def _issue(path: str, code: str) -> Issue:
    """An issue worded in the language of the moment (:data:`MESSAGES` are the English)."""
    return Issue(path, code, text(MESSAGES[code]))


def errors_only(issues: Iterable[Issue]) -> list[Issue]:
    """The issues that must block a save (every code not in :data:`WARNING_CODES`)."""
    return [i for i in issues if i.code not in WARNING_CODES]


def _future(out: list[Issue], path: str, d: date | None, today: date | None) -> None:
    if d is not None and today is not None and d > today:
        out.append(_issue(path, "future_date"))


def resident_id_issues(
    value: str, *, birth_date: date | None, sex: Sex | None, today: date | None, path: str
) -> list[Issue]:
    """The issues of one resident ID (empty string: not recorded, no issue)."""
    if not value:
        return []
    code = ids.check_resident_id(value)
    if code is not None:
        return [_issue(path, code)]
    out: list[Issue] = []
    born = ids.id_birth_date(value)
    _future(out, path, born, today)
    if birth_date is not None and born != birth_date:
        out.append(_issue(path, "id_birth_mismatch"))
    if sex is not None and ids.id_sex_is_male(value) != (sex is Sex.MALE):
        out.append(_issue(path, "id_sex_mismatch"))
    return out


def _check_phone(out: list[Issue], path: str, value: str) -> None:
    if value and ids.check_phone(value) is not None:
        out.append(_issue(path, "phone_format"))


def _check_absences(
    out: list[Issue], path: str, absences: Sequence[Absence], parent: Parent, today: date | None
) -> None:
    spans: list[tuple[date, date | None, int]] = []
    for i, absence in enumerate(absences):
        here = join_path(join_path(path, "absences"), i)
        _future(out, join_path(here, "start"), absence.start, today)
        if absence.end is not None and absence.end < absence.start:
            out.append(_issue(join_path(here, "end"), "absence_order"))
            continue
        if parent.deceased_on is not None and absence.start >= parent.deceased_on:
            out.append(_issue(join_path(here, "start"), "death_before_absence"))
        if parent.missing_since is not None and absence.start >= parent.missing_since:
            out.append(_issue(join_path(here, "start"), "missing_before_absence"))
        spans.append((absence.start, absence.end, i))
    _check_overlaps(out, path, "absences", spans, "absence_overlap")


def _check_overlaps(
    out: list[Issue],
    path: str,
    name: str,
    spans: list[tuple[date, date | None, int]],
    code: str,
) -> None:
    """Report each spell that starts before an earlier-starting one has ended."""
    spans.sort(key=lambda s: (s[0], s[2]))
    reach: date | None = None  # the latest end so far; None once an open spell was seen
    for n, (start, end, i) in enumerate(spans):
        if n and (reach is None or start < reach):
            out.append(_issue(join_path(join_path(path, name), i), code))
        if n == 0 or (reach is not None and (end is None or end > reach)):
            reach = end


def _check_parent(out: list[Issue], path: str, parent: Parent, today: date | None) -> None:
    _check_phone(out, join_path(path, "phone"), parent.phone)
    for name in ("deceased_on", "missing_since", "divorced_out_on", "no_capacity_since"):
        _future(out, join_path(path, name), getattr(parent, name), today)
    _check_absences(out, path, parent.absences, parent, today)


def _check_guardian(out: list[Issue], path: str, guardian: Guardian) -> None:
    _check_phone(out, join_path(path, "phone"), guardian.phone)


def _check_enrolments(
    out: list[Issue], path: str, enrolments: Sequence[Enrolment], born: date
) -> None:
    spans: list[tuple[date, date | None, int]] = []
    for i, e in enumerate(enrolments):
        here = join_path(join_path(path, "enrolments"), i)
        if not 1 <= e.grade <= 9:
            out.append(_issue(join_path(here, "grade"), "grade_range"))
        if e.start < born:
            out.append(_issue(join_path(here, "start"), "enrolment_before_birth"))
        if e.end is None and e.end_reason is not None:
            out.append(_issue(join_path(here, "end_reason"), "leave_reason_without_end"))
        if e.end is not None and e.end < e.start:
            out.append(_issue(join_path(here, "end"), "enrolment_order"))
            continue
        spans.append((e.start, e.end, i))
    _check_overlaps(out, path, "enrolments", spans, "enrolment_overlap")


def check_child(child: Child, *, today: date | None, path: str = "child") -> list[Issue]:
    """Every issue of one child's facts, errors and warnings (see :data:`WARNING_CODES`).

    >>> from leftbehind.domain.model import Absence, Child, Parent, Sex
    >>> child = Child("c1", "小明", Sex.MALE, date(2016, 3, 1),
    ...               father=Parent(absences=(Absence(date(2025, 5, 1), date(2025, 4, 1)),)))
    >>> [(i.path, i.code) for i in check_child(child, today=date(2026, 1, 1))]
    [('child.father.absences[0].end', 'absence_order')]
    """
    out: list[Issue] = []
    if not child.id:
        out.append(_issue(join_path(path, "id"), "required"))
    _future(out, join_path(path, "birth_date"), child.birth_date, today)
    _future(out, join_path(path, "abandoned_on"), child.abandoned_on, today)
    out.extend(
        resident_id_issues(
            child.resident_id,
            birth_date=child.birth_date,
            sex=child.sex,
            today=today,
            path=join_path(path, "resident_id"),
        )
    )
    _check_enrolments(out, path, child.enrolments, child.birth_date)
    for name, parent in (("father", child.father), ("mother", child.mother)):
        if parent is not None:
            _check_parent(out, join_path(path, name), parent, today)
    if child.guardian is not None:
        _check_guardian(out, join_path(path, "guardian"), child.guardian)
    return out


def check_school(school: School, *, today: date | None = None, path: str = "school") -> list[Issue]:
    """The issues of one school: an empty ``id``. ``today`` is accepted for symmetry."""
    del today
    if not school.id:
        return [_issue(join_path(path, "id"), "required")]
    return []


def check_children(
    children: Sequence[Child],
    schools: Sequence[School],
    *,
    today: date | None,
    path: str = "children",
    school_path: str = "schools",
) -> list[Issue]:
    """Every issue of a roster: each child and school, and what only the whole list shows.

    Duplicate child ids, duplicate resident IDs (the second and later holders are reported) and
    enrolments in a school that is not in ``schools``.
    """
    out: list[Issue] = []
    school_ids: set[str] = set()
    for i, school in enumerate(schools):
        here = join_path(school_path, i)
        out.extend(check_school(school, today=today, path=here))
        if school.id in school_ids:
            out.append(_issue(join_path(here, "id"), "duplicate_id"))
        school_ids.add(school.id)
    ids: set[str] = set()
    residents: set[str] = set()
    for i, child in enumerate(children):
        here = join_path(path, i)
        out.extend(check_child(child, today=today, path=here))
        if child.id in ids:
            out.append(_issue(join_path(here, "id"), "duplicate_id"))
        ids.add(child.id)
        if child.resident_id:
            key = child.resident_id.upper()
            if key in residents:
                out.append(_issue(join_path(here, "resident_id"), "duplicate_resident_id"))
            residents.add(key)
        for j, e in enumerate(child.enrolments):
            if e.school_id not in school_ids:
                where = join_path(join_path(join_path(here, "enrolments"), j), "school_id")
                out.append(_issue(where, "unknown_school"))
    return out
