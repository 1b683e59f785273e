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
from leftbehind.io.names import name_key
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
from leftbehind.io.roster_read import (
    CellIssue,
    MonthDate,
    Progress,
    RosterRow,
    message,
    read_roster,
)

__all__ = ["ImportReport", "plan_import"]


@frozen
class ImportReport:
    """What an import did (or, with ``dry_run``, would do).

    ``created``, ``updated``, ``unchanged`` count rows by what happens to their child;
    ``rejected`` counts rows with at least one issue. When there is any issue nothing is
    written (``written`` is false), and the counts say what the file would have done.
    ``warnings`` say what the import ignored or assumed (a column it does not read, a parent
    whose status it could not tell, a day it took), each by row, column and code; ``skipped``
    the rows that are no pupil (title, 合计, footer, blank), by row and code.
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
    skipped: tuple[CellIssue, ...] = ()

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
    """Collects a row's issues and warnings by column key (the first per column wins), and
    knows the form's 填报日期 (``report_date``), the day assumptions fall back on."""

    def __init__(self, row: RosterRow, report_date: date | None = None) -> None:
        self.row = row
        self.v = row.values
        self.report_date = report_date
        self.issues: dict[str, tuple[str, str]] = {}
        self.warnings: dict[str, tuple[str, str]] = {}

    def has(self, key: str) -> bool:
        return key in self.v or key in self.row.bad

    def add(self, key: str, code: str, said: str | None = None) -> None:
        if key not in self.issues and key not in self.row.bad:
            self.issues[key] = (code, said or message(code))

    def warn(self, key: str, code: str, said: str | None = None) -> None:
        if key not in self.warnings:
            self.warnings[key] = (code, said or message(code))


#: The school id a row whose school is unknown is checked under (never stored).
_NO_SCHOOL = "?"


def _assumed_start(r: _Row, school_id: str, today: date, stored: Sequence[Enrolment]) -> date:
    """The first day at the school of a file without 入学日期: the stored enrolment's at that
    school, else 1 September of the school year of the form's 填报日期 (or of today)."""
    here = [e.start for e in stored if e.school_id == school_id]
    if here:
        return max(here)
    return date(school_year_of(r.report_date or today), 9, 1)


def _enrolment(r: _Row, school_id: str, today: date, stored: Sequence[Enrolment]) -> list[Any]:
    start, end, grade = r.v.get("enrolled_since"), r.v.get("left_on"), r.v.get("grade")
    if not r.has("enrolled_since") and isinstance(grade, int):
        start = _assumed_start(r, school_id, today, stored)
    if not isinstance(start, date) or not isinstance(grade, int):
        return [unstructure(e) for e in stored]
    ref = grade_reference(start, end if isinstance(end, date) else None, today)
    if r.report_date is not None and end is None:
        ref = max(start, min(r.report_date, today))  # a dated form states the grade of its day
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


#: A parent's columns that say the parent works away.
_AWAY_PARTS = ("away_since", "back_on", "work_place", "work_province", "work_city")
_PARENT_PARTS = ("name", "status_since", "phone", "capacity", "no_capacity_since", *_AWAY_PARTS)


def _told_status(r: _Row, role: str) -> tuple[str | None, str]:
    """A parent's status where the file has no 状态 column: from 留守类型 and the cells the row
    fills, with the code of the warning that says it was guessed ("" when the form states it);
    ``None`` when it cannot be told."""
    other = "mother" if role == "father" else "father"
    kind = r.v.get("left_behind_type")
    away = any(r.v.get(f"{role}_{p}") is not None for p in _AWAY_PARTS)
    other_away = any(r.v.get(f"{other}_{p}") is not None for p in _AWAY_PARTS)
    named = any(r.v.get(f"{role}_{p}") is not None for p in ("name", "phone"))
    if kind in ("both_away", f"{role}_away"):
        return AWAY, ""
    if away:
        return AWAY, "" if kind == "one_away_other_incapable" else "status_assumed"
    if kind == "one_away_other_incapable" and other_away:
        return HOME, "no_capacity_assumed"
    if named and kind == f"{other}_away":
        return HOME, "status_assumed"
    return None, "status_unknown"


def _place(r: _Row, role: str) -> str:
    place = _str(r.v.get(f"{role}_work_place"))
    if place:
        return place
    return "".join(_str(r.v.get(f"{role}_work_{part}")) for part in ("province", "city"))


def _parent(
    r: _Row,
    role: str,
    today: date,
    stored: Parent | None,
    status: CellValue,
    told: bool = False,
) -> dict[str, Any] | None:
    """The parent's document; ``told``: the status was told from other cells (no 状态 column)."""

    def k(part: str) -> str:
        return f"{role}_{part}"

    filled = [x for x in _PARENT_PARTS if r.v.get(k(x)) is not None]
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
    capacity = r.v.get(k("capacity"))
    incapable = capacity == "no" or (
        told and status == HOME and not r.has(k("capacity"))
        and r.v.get("left_behind_type") == "one_away_other_incapable"
    )  # fmt: skip
    if incapable:
        no_capacity = r.v.get(k("no_capacity_since"))
        if no_capacity is None and capacity != "no":
            no_capacity = r.report_date or today  # told by 留守类型: since the form's day
        elif no_capacity is None:
            r.add(k("no_capacity_since"), "required", _when("required.when", k("capacity"), "no"))
        doc["no_capacity_since"] = _iso(no_capacity)
    elif r.v.get(k("no_capacity_since")) is not None:
        r.add(k("no_capacity_since"), "not_applicable",
              _when("not_applicable.when", k("capacity"), "no"))  # fmt: skip
    spells = list(stored.absences) if stored is not None else []
    latest = max(spells, key=lambda a: a.start, default=None)
    assumed = False
    if status == AWAY and start is None and (told or not r.has(k("away_since"))):
        # No day the spell started: the one stored still open, else the form's 填报日期 (or
        # today), by which day the form says the parent was away; the reasons say so.
        if latest is not None and latest.end is None:
            start, assumed = latest.start, latest.start_assumed
        else:
            start, assumed = r.report_date or today, True
            r.warn(k("away_since"), "away_since_assumed")
    elif isinstance(start, MonthDate):
        r.warn(k("away_since"), "month_only")
    if isinstance(start, date):
        spell = Absence(
            start, end if isinstance(end, date) else None, _place(r, role), start_assumed=assumed
        )
        spells = [a for a in spells if a.start < start and not (a is latest and a.end is None)]
        spells.append(spell)
    elif end is not None or _place(r, role):
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


def _birth(r: _Row, doc: dict[str, Any]) -> None:
    """出生日期: as written; the resident ID's when only the month was given and the ID is of
    that month, or when the file has no 出生日期 (else the 1st of the month, with a warning)."""
    written = r.v.get("birth_date")
    rid = _norm_id(r.v.get("resident_id"))
    of_id = ids.id_birth_date(rid) if rid and ids.check_resident_id(rid) is None else None
    if not r.has("birth_date"):
        if of_id is None and "resident_id" not in r.row.bad:
            r.add("birth_date", "required")
        doc["birth_date"] = _iso(of_id)
        return
    if isinstance(written, MonthDate):
        if of_id is not None and (of_id.year, of_id.month) == (written.year, written.month):
            written = of_id
        else:
            r.warn("birth_date", "month_only")
    if "birth_date" in r.v:
        doc["birth_date"] = _iso(written)


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
    _birth(r, doc)
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
        stored_parent = getattr(stored, role, None)
        if r.has(f"{role}_status"):
            doc[role] = _parent(r, role, today, stored_parent, v.get(f"{role}_status"))
        elif r.has("left_behind_type") or any(r.has(f"{role}_{p}") for p in _PARENT_PARTS):
            status, guess = _told_status(r, role)
            if guess:
                key = "left_behind_type" if guess == "no_capacity_assumed" else f"{role}_status"
                r.warn(key, guess, message(guess, parent=text(f"parent.{role}")))
            if status is not None:
                doc[role] = _parent(r, role, today, stored_parent, status, told=True)
            elif not r.has("left_behind_type") and not any(
                v.get(f"{role}_{p}") is not None for p in _PARENT_PARTS
            ):
                r.warnings.pop(f"{role}_status", None)  # the row says nothing of the parent
    if r.has("guardianship"):
        doc["guardianship"] = v.get("guardianship")
    address = v.get("hukou_address")
    if isinstance(address, str) and not _str(v.get("address")):
        doc["address"] = address
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
            names.setdefault(name_key(s.name), []).append(s.id)
        self.school_names = names
        self.taken: set[str] = set(self.by_id)

    def school(self, label: str) -> tuple[str | None, str | None]:
        if label in self.schools:
            return label, None
        found = self.school_names.get(name_key(label), [])
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
    born = r.v.get("birth_date")
    if isinstance(born, MonthDate):
        same_birth = (stored.birth_date.year, stored.birth_date.month) == (born.year, born.month)
    else:
        same_birth = stored.birth_date == born or (born is None and not r.has("birth_date"))
    return (
        stored.name == r.v.get("name")
        and same_birth
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
    strict: bool = False,
) -> tuple[ImportReport, list[Child]]:
    """Check every row of a roster file against ``children`` and ``schools``.

    Returns the report (``written`` false) and the children to write: none when any cell has
    an issue, unless ``partial`` (then those of the rows without one, for a caller that checks
    other files against them and refuses the whole run itself). ``progress(stage, done,
    total)`` is called as rows are read and checked. A file crossing one of ``limits`` (see
    :class:`~leftbehind.io.roster_limits.ImportLimits`) is refused with one issue, read no
    further than the limit. With ``strict``, every warning is an issue (so nothing is written
    when the import would ignore or assume anything).
    """
    read = read_roster(path, progress=progress, limits=limits)
    sheet = read.sheet
    issues: list[CellIssue] = list(read.issues)
    warnings: list[CellIssue] = list(read.warnings)
    if read.refused or any(i.row <= read.header_row for i in read.issues):
        if strict:
            issues, warnings = issues + warnings, []
        report = ImportReport(str(path), sheet, len(read.rows), 0, 0, 0, len(read.rows),
                              tuple(issues), tuple(warnings), dry_run, False,
                              skipped=read.skipped)  # fmt: skip
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

    def caution(r: _Row) -> None:
        for key, (code, said) in r.warnings.items():
            at = columns.get(key, -1) + 1
            warnings.append(CellIssue(sheet, r.row.number, header(key), key, code, said, at))

    for n, row in enumerate(read.rows, start=1):
        if progress is not None and n % 500 == 0:
            progress("check", n, total)
        r = _Row(row, read.report_date)
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
            caution(r)
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
        caution(r)
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
    warnings.sort(key=lambda i: (i.row, i.index))
    if strict and warnings:
        issues, warnings = issues + warnings, []
        rejected_rows.update(i.row for i in issues if i.row > read.header_row)
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
        skipped=read.skipped,
    )
    return report, [] if issues and not partial else to_write
