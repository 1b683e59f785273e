"""Planning a roster import: rows → children, every cell checked, against the county's files.

Pure: it reads the file and the children and schools it is given, and says what the import
would write. :meth:`leftbehind.County.import_roster` writes it, in one unit of work. See
:mod:`leftbehind.io.roster` for the rules (matching, what a row replaces, what it keeps). Its
messages are in the language of the moment; the facts it plans never depend on it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any

from attrs import field, frozen

from leftbehind.convert import structure, unstructure
from leftbehind.domain import ids
from leftbehind.domain.dates import school_year_of
from leftbehind.domain.errors import Issue, ValidationError
from leftbehind.domain.i18n import language as language_now
from leftbehind.domain.i18n import text, use
from leftbehind.domain.model import (
    Absence,
    Child,
    Enrolment,
    Health,
    LeaveReason,
    Parent,
    School,
    Sex,
)
from leftbehind.io.roster_columns import (
    AWAY,
    COLUMNS_BY_KEY,
    DECEASED,
    DIVORCED,
    HOME,
    MISSING,
    ROSTER_COLUMNS,
    UNKNOWN,
    CellValue,
    Column,
    grade_reference,
)
from leftbehind.io.roster_limits import DEFAULT_LIMITS, ImportLimits
from leftbehind.io.roster_read import CellIssue, Progress, RosterRow, message, read_roster

__all__ = ["ImportReport", "plan_import"]


@frozen
class ImportReport:
    """What an import did (or, with ``dry_run``, would do).

    ``created``, ``updated``, ``unchanged`` count rows by what happens to their child;
    ``rejected`` counts rows with at least one issue. When there is any issue nothing is
    written (``written`` is false), and the counts say what the file would have done.
    ``language`` is the language its messages were made in (the language of the moment then).
    """

    path: str
    sheet: str
    rows: int
    created: int
    updated: int
    unchanged: int
    rejected: int
    issues: tuple[CellIssue, ...]
    warnings: tuple[CellIssue, ...]
    dry_run: bool
    written: bool
    created_ids: tuple[str, ...] = ()
    updated_ids: tuple[str, ...] = ()
    language: str = field(factory=language_now, eq=False, repr=False)

    @property
    def ok(self) -> bool:
        """Whether the file had no issue, and so was (or in a dry run would be) imported."""
        return not self.issues

    def summary(self) -> str:
        """One line in the language the report was made in (``language``, the language of the
        moment then): ``新增 3，更新 1，未变 96，退回 0`` (``created 3, updated 1, unchanged 96,
        rejected 0``)."""
        with use(self.language):
            return text(
                "roster.summary",
                created=f"{self.created:,}",
                updated=f"{self.updated:,}",
                unchanged=f"{self.unchanged:,}",
                rejected=f"{self.rejected:,}",
            )

    def to_error(self) -> ValidationError:
        """The issues as a :class:`~leftbehind.domain.errors.ValidationError`.

        Each issue's path is ``sheet!row:key`` (``花名册!14:resident_id``).
        """
        return ValidationError(
            (Issue(f"{i.sheet}!{i.row}:{i.key}", i.code, i.message) for i in self.issues),
            subject=self.sheet,
        )


# ---------------------------------------------------------------------------------------------
# From a row to a child document.

_INDEX = re.compile(r"\[[0-9]+\]")
_PATHS: dict[str, str] = {p: c.key for c in ROSTER_COLUMNS for p in c.paths}
_STATUS_DATE = {DECEASED: "deceased_on", MISSING: "missing_since", DIVORCED: "divorced_out_on"}
_SEX = {s.value for s in Sex}
_HEALTH = {h.value for h in Health}
_REASON = {r.value for r in LeaveReason}
_TEXT_FIELDS = ("name", "ethnicity", "village", "address", "health_note", "personality", "hobbies")


def _column_of(path: str) -> str:
    """The column key a document path comes from (``father.absences[2].end`` → father_back_on)."""
    pattern = _INDEX.sub("[]", path)
    while pattern:
        if pattern in _PATHS:
            return _PATHS[pattern]
        pattern = pattern.rpartition(".")[0]
    return ""


def _header(key: str) -> str:
    """A column's header in the language of the moment, for a message naming another column."""
    return COLUMNS_BY_KEY[key].header


def _when(code: str, key: str, choice: str) -> str:
    """A message that a cell is needed (or allowed) only when column ``key`` is ``choice``."""
    column: Column = COLUMNS_BY_KEY[key]
    return message(code, column=column.header, value=column.label(choice))


def _iso(value: CellValue) -> str | None:
    return value.isoformat() if isinstance(value, date) else None


def _str(value: CellValue) -> str:
    return value if isinstance(value, str) else ""


class _Row:
    """Collects a row's issues by column key (the first issue per column wins)."""

    def __init__(self, row: RosterRow) -> None:
        self.row = row
        self.v = row.values
        self.issues: dict[str, tuple[str, str]] = {}

    def has(self, key: str) -> bool:
        return key in self.v or key in self.row.bad

    def add(self, key: str, code: str, said: str | None = None) -> None:
        if key not in self.issues and key not in self.row.bad:
            self.issues[key] = (code, said or message(code))


#: The school id a row whose school is unknown is checked under (never stored).
_NO_SCHOOL = "?"


def _enrolment(r: _Row, school_id: str, today: date, stored: Sequence[Enrolment]) -> list[Any]:
    start, end, grade = r.v.get("enrolled_since"), r.v.get("left_on"), r.v.get("grade")
    if not isinstance(start, date) or not isinstance(grade, int):
        return [unstructure(e) for e in stored]
    ref = grade_reference(start, end if isinstance(end, date) else None, today)
    first = grade - (school_year_of(ref) - school_year_of(start))
    if 1 <= grade <= 9 and first < 1:
        # The grade is right for the day; the date enrolled lies before that grade's first
        # school year: it is 入学日期 that is wrong (or a kindergarten's).
        r.add("enrolled_since", "enrolled_before_grade_one", message(
            "enrolled_before_grade_one", enrolled=_header("enrolled_since"),
            grade=_header("grade")))  # fmt: skip
        return [unstructure(e) for e in stored]
    reason = r.v.get("leave_reason")
    doc = {
        "school_id": school_id,
        "start": start.isoformat(),
        "grade": first,
        "class_name": _str(r.v.get("class_name")),
        "end": _iso(end),
        "end_reason": reason if reason in _REASON else None,
    }
    kept: list[Any] = []
    for e in stored:
        if e.school_id == school_id or e.start >= start:
            continue  # the row's enrolment at this school replaces it; later ones are superseded
        if e.end is None or e.end > start:
            e = Enrolment(
                e.school_id, e.start, e.grade, e.class_name, start, LeaveReason.TRANSFERRED
            )
        kept.append(unstructure(e))
    return [*kept, doc]


def _parent(r: _Row, role: str, today: date, stored: Parent | None) -> dict[str, Any] | None:
    def k(part: str) -> str:
        return f"{role}_{part}"

    status = r.v.get(k("status"))
    parts = ("name", "status_since", "away_since", "back_on", "work_place", "phone", "capacity")
    filled = [x for x in (*parts, "no_capacity_since") if r.v.get(k(x)) is not None]
    if status is None:
        if filled:
            r.add(k("status"), "required", message("required.status"))
        return None
    since, start, end = r.v.get(k("status_since")), r.v.get(k("away_since")), r.v.get(k("back_on"))
    doc: dict[str, Any] = {
        "name": _str(r.v.get(k("name"))),
        "phone": _str(r.v.get(k("phone"))),
        "absences": [],
        "known": status != UNKNOWN,
    }
    if isinstance(status, str) and status in _STATUS_DATE:
        if since is None:
            r.add(k("status_since"), "required")
        doc[_STATUS_DATE[status]] = _iso(since)
    elif since is not None:
        status_column = COLUMNS_BY_KEY[k("status")]
        said = message("not_applicable.status_since", deceased=status_column.label(DECEASED),
                       missing=status_column.label(MISSING),
                       divorced=status_column.label(DIVORCED))  # fmt: skip
        r.add(k("status_since"), "not_applicable", said)
    if r.v.get(k("capacity")) == "no":
        if r.v.get(k("no_capacity_since")) is None:
            r.add(k("no_capacity_since"), "required", _when("required.when", k("capacity"), "no"))
        doc["no_capacity_since"] = _iso(r.v.get(k("no_capacity_since")))
    elif r.v.get(k("no_capacity_since")) is not None:
        r.add(k("no_capacity_since"), "not_applicable",
              _when("not_applicable.when", k("capacity"), "no"))  # fmt: skip
    spells = list(stored.absences) if stored is not None else []
    if isinstance(start, date):
        spell = Absence(
            start, end if isinstance(end, date) else None, _str(r.v.get(k("work_place")))
        )
        latest = max(spells, key=lambda a: a.start, default=None)
        spells = [a for a in spells if a.start < start and not (a is latest and a.end is None)]
        spells.append(spell)
    elif end is not None or r.v.get(k("work_place")) is not None:
        said = message("required.with_away", back=_header(k("back_on")),
                       place=_header(k("work_place")))  # fmt: skip
        r.add(k("away_since"), "required", said)
    doc["absences"] = [unstructure(a) for a in spells]
    away = any(a.start <= today and (a.end is None or a.end > today) for a in spells)
    if status == AWAY and not away:
        where = k("away_since") if start is None else k("back_on")
        said = message("status_dates.away", status=COLUMNS_BY_KEY[k("status")].label(AWAY))
        r.add(where, "status_dates", said)
    if status == HOME and away:
        said = message("status_dates.home", status=COLUMNS_BY_KEY[k("status")].label(HOME))
        r.add(k("back_on"), "status_dates", said)
    return doc


def _guardian(r: _Row) -> dict[str, Any] | None:
    parts = ("name", "relation", "phone", "address")
    values = {p: _str(r.v.get(f"guardian_{p}")) for p in parts}
    return values if any(values.values()) else None


def _child_doc(
    r: _Row, child_id: str, school_id: str, stored: Child | None, today: date
) -> dict[str, Any]:
    doc: dict[str, Any] = unstructure(stored) if stored is not None else {}
    v = r.v
    doc["id"] = child_id
    for key in _TEXT_FIELDS:
        if r.has(key):
            doc[key] = _str(v.get(key))
    if "birth_date" in v:
        doc["birth_date"] = _iso(v["birth_date"])
    if v.get("sex") in _SEX:
        doc["sex"] = v["sex"]
    if isinstance(v.get("hukou"), str):
        doc["rural_hukou"] = v["hukou"] == "rural"
    if r.has("resident_id"):
        doc["resident_id"] = _str(v.get("resident_id"))
    if r.has("boarding"):
        doc["boarding"] = v.get("boarding") == "yes"
    if r.has("health"):
        health = v.get("health")
        doc["health"] = health if health in _HEALTH else None
    stored_enrolments = stored.enrolments if stored is not None else ()
    doc["enrolments"] = _enrolment(r, school_id, today, stored_enrolments)
    for role in ("father", "mother"):
        if r.has(f"{role}_status"):
            doc[role] = _parent(r, role, today, getattr(stored, role, None))
    if r.has("guardian_name"):
        doc["guardian"] = _guardian(r)
    if r.has("abandoned"):
        on = v.get("abandoned_on")
        if v.get("abandoned") == "yes":
            if on is None:
                r.add("abandoned_on", "required", _when("required.when", "abandoned", "yes"))
            doc["abandoned_on"] = _iso(on)
        else:
            if on is not None:
                r.add("abandoned_on", "not_applicable",
                      _when("not_applicable.when", "abandoned", "yes"))  # fmt: skip
            doc["abandoned_on"] = None
    return doc


# ---------------------------------------------------------------------------------------------
# Matching rows to children.


class _Index:
    """The county's children and schools, and the ids given out so far."""

    def __init__(self, children: Sequence[Child], schools: Mapping[str, School]) -> None:
        self.by_id = {c.id: c for c in children}
        self.by_resident = {c.resident_id.upper(): c for c in children if c.resident_id}
        self.schools = schools
        names: dict[str, list[str]] = {}
        for s in schools.values():
            names.setdefault(s.name, []).append(s.id)
        self.school_names = names
        self.taken: set[str] = set(self.by_id)

    def school(self, label: str) -> tuple[str | None, str | None]:
        if label in self.schools:
            return label, None
        found = self.school_names.get(label, [])
        if len(found) == 1:
            return found[0], None
        return None, "school_ambiguous" if found else "unknown_school"

    def generated(self, school_id: str, r: _Row) -> tuple[str, Child | None]:
        """A new child's id from the school and the row, or a stored child it already names."""
        base = f"{school_id}-{r.row.number:05d}"
        n = 1
        while True:
            candidate = base if n == 1 else f"{base}-{n}"
            stored = self.by_id.get(candidate)
            if stored is None and candidate not in self.taken:
                return candidate, None
            if stored is not None and _same_person(stored, r):
                return candidate, stored
            n += 1


def _same_person(stored: Child, r: _Row) -> bool:
    rid = r.v.get("resident_id")
    return (
        stored.name == r.v.get("name")
        and stored.birth_date == r.v.get("birth_date")
        and (not stored.resident_id or not rid or stored.resident_id == _norm_id(rid))
    )


def _norm_id(value: CellValue) -> str:
    return ids.normalize_digits(value).upper() if isinstance(value, str) else ""


def _read_child(
    r: _Row, doc: dict[str, Any], today: date, doubts: list[Issue] | None = None
) -> Child | None:
    """The row's child, or ``None`` with each problem put on the row's cell (a problem of the
    school column is the row's own already)."""
    try:
        return structure(doc, Child, today=today, warnings=doubts)
    except ValidationError as exc:
        for issue in exc.issues:
            column = _column_of(issue.path)
            if column != "school":
                r.add(column or "id", issue.code, issue.message)
        return None


def _match(r: _Row, index: _Index, school_id: str) -> tuple[str, Child | None, str]:
    """The child's id, the stored child it updates, and the column that matched."""
    rid = _norm_id(r.v.get("resident_id"))
    given = r.v.get("id")
    by_resident = index.by_resident.get(rid) if rid else None
    if by_resident is not None:
        if isinstance(given, str) and given != by_resident.id:
            r.add("resident_id", "id_conflict")
        return by_resident.id, by_resident, "resident_id"
    if isinstance(given, str):
        return given, index.by_id.get(given), "id"
    return (*index.generated(school_id, r), "id")


# ---------------------------------------------------------------------------------------------
# The import.


def plan_import(
    path: str | os.PathLike[str],
    *,
    children: Iterable[Child],
    schools: Mapping[str, School],
    today: date,
    dry_run: bool = False,
    progress: Progress | None = None,
    limits: ImportLimits = DEFAULT_LIMITS,
    partial: bool = False,
) -> tuple[ImportReport, list[Child]]:
    """Check every row of a roster file against ``children`` and ``schools``.

    Returns the report (``written`` false) and the children to write: none when any cell has
    an issue, unless ``partial`` (then those of the rows without one, for a caller that checks
    other files against them and refuses the whole run itself). ``progress(stage, done,
    total)`` is called as rows are read and checked. A file crossing one of ``limits`` (see
    :class:`~leftbehind.io.roster_limits.ImportLimits`) is refused with one issue, read no
    further than the limit.
    """
    read = read_roster(path, progress=progress, limits=limits)
    sheet = read.sheet
    issues: list[CellIssue] = list(read.issues)
    warnings: list[CellIssue] = list(read.warnings)
    if read.refused or any(i.row <= 1 for i in read.issues):
        report = ImportReport(str(path), sheet, len(read.rows), 0, 0, 0, len(read.rows),
                              tuple(issues), tuple(warnings), dry_run, False)  # fmt: skip
        return report, []
    index = _Index(list(children), schools)
    columns = read.columns
    rejected_rows = {i.row for i in read.issues}
    created: list[str] = []
    updated: list[str] = []
    unchanged = 0
    to_write: list[Child] = []
    seen: dict[str, int] = {}
    total = len(read.rows)

    def header(key: str) -> str:
        """The column as the file names it, or as the template does when the file lacks it."""
        column = COLUMNS_BY_KEY.get(key)
        return read.headers.get(key) or (column.header if column is not None else "")

    def place(r: _Row, key: str, code: str, said: str) -> None:
        at = columns.get(key, -1) + 1
        issues.append(CellIssue(sheet, r.row.number, header(key), key, code, said, at))
        rejected_rows.add(r.row.number)

    for n, row in enumerate(read.rows, start=1):
        if progress is not None and n % 500 == 0:
            progress("check", n, total)
        r = _Row(row)
        label = row.values.get("school")
        school_id, problem = index.school(label) if isinstance(label, str) else (None, None)
        if problem is not None:
            r.add("school", problem)
        if school_id is None:
            # The row is refused, but its other cells are checked all the same, so the clerk
            # sees every problem of the row at once.
            _read_child(r, _child_doc(r, f"row-{row.number}", _NO_SCHOOL, None, today), today)
            for key, (code, said) in r.issues.items():
                place(r, key, code, said)
            rejected_rows.add(row.number)
            continue
        child_id, stored, via = _match(r, index, school_id)
        if child_id in seen:
            r.add(via, "duplicate_row")
        seen[child_id] = row.number
        index.taken.add(child_id)
        doubts: list[Issue] = []
        doc = _child_doc(r, child_id, school_id, stored, today)
        child = _read_child(r, doc, today, doubts)
        for issue in doubts:
            key = _column_of(issue.path) or "id"
            at = columns.get(key, -1) + 1
            warnings.append(
                CellIssue(sheet, row.number, header(key), key, issue.code, issue.message, at)
            )
        for key, (code, said) in r.issues.items():
            place(r, key, code, said)
        if r.issues or row.bad or child is None:
            continue
        if stored is None:
            created.append(child.id)
            to_write.append(child)
        elif child != stored:
            updated.append(child.id)
            to_write.append(child)
        else:
            unchanged += 1
    if progress is not None:
        progress("check", total, total)
    issues.sort(key=lambda i: (i.row, i.index))
    report = ImportReport(
        str(path),
        sheet,
        total,
        len(created),
        len(updated),
        unchanged,
        len(rejected_rows),
        tuple(issues),
        tuple(warnings),
        dry_run,
        False,
        tuple(created),
        tuple(updated),
    )
    return report, [] if issues and not partial else to_write
