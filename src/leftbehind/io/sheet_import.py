"""Planning an import of several sheets (导入多份名册和记录): every file read, every row checked
against the county's files and the rows before it, nothing written.

Pure: it is given what the county holds (schools, staff, children, assignments, groups, and a
way to read the records of some children) and says what an import would write, with a
:class:`FilesReport`. :meth:`leftbehind.County.import_files` writes the plan in one unit of
work. The rules:

- **The kind of each file** comes from its header row
  (:func:`~leftbehind.io.sheet_columns.recognise`); a file whose kind cannot be told is one
  issue (``unknown_kind``, or ``kind_ambiguous`` naming the candidates) naming the file.
- **Order**: files are applied in :data:`~leftbehind.io.sheet_columns.ORDER` (schools, staff,
  children, assignments, groups, records), several files of a kind in the order given, so a row
  may refer to what an earlier file of the same run creates.
- **References**: a school by its id or exact name; a staff member by id or exact name; a child
  by id, resident ID or exact name — a name several children share is narrowed to the children
  the row's staff member is assigned to, then to those of the staff member's school. A name
  still shared is ``child_ambiguous`` (``staff_ambiguous``, ``school_ambiguous``): give the id.
- **Matching**: schools, staff and groups by their id; assignments by their id, else by
  (staff, child, role, start); records by their id, else by (kind, child, staff, date, topic).
  A new assignment or record gets an id made from those (``TALK-S001-00012-S001-T01-d20261123``),
  so importing the same sheet again finds every row and changes nothing. Two rows of one run
  that are the same item: ``duplicate_key``.
- **All or nothing**: an issue in any file means nothing is written; the report counts what each
  file would have done. No message repeats a cell's value.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import attrs
from attrs import field, frozen

from leftbehind.convert import structure
from leftbehind.domain import ids
from leftbehind.domain.duties import Method, Record
from leftbehind.domain.errors import ValidationError
from leftbehind.domain.i18n import language as language_now
from leftbehind.domain.i18n import text, use
from leftbehind.domain.model import Child, School
from leftbehind.domain.people import Assignment, Staff, StudyGroup
from leftbehind.io.names import name_key
from leftbehind.io.roster_columns import (
    ROSTER_READ_COLUMNS,
    CellValue,
    Column,
    header_form,
    header_table,
    sheet_name,
    sheet_names,
)
from leftbehind.io.roster_csv import open_csv
from leftbehind.io.roster_import import plan_import
from leftbehind.io.roster_limits import DEFAULT_LIMITS, FileRefusedError, ImportLimits
from leftbehind.io.roster_read import (
    HEADER_SCAN,
    CellIssue,
    Progress,
    RosterReport,
    RosterRow,
    message,
    two_level_header,
)
from leftbehind.io.roster_read import read_roster as read_sheet
from leftbehind.io.roster_xlsx import open_xlsx
from leftbehind.io.sheet_columns import (
    ORDER,
    RECORD_KINDS,
    SHEET_COLUMNS,
    STAGE_CHOICES,
    recognise,
)

__all__ = ["FileReport", "FilesReport", "ImportPlan", "KindCounts", "plan_files"]

T = TypeVar("T")

#: What separates several values in one cell (学段, 小组成员): 、 , ， ; ； / and spaces.
_SEPARATORS = re.compile(r"[、,，;；/\s]+")


@frozen
class KindCounts:
    """What an import did (or would do) of one kind: the ids created and updated, how many
    rows found their item unchanged."""

    created: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    unchanged: int = 0


@frozen
class FileReport:
    """One file of an import: its ``kind`` (``None`` when not recognised), the sheet read, how
    many data rows, and its issues and warnings (each placed by sheet, row and column), and the
    rows read as no item (a title, a 合计 row, a footer, a blank row: by row and code)."""

    path: str
    kind: str | None
    sheet: str
    rows: int
    issues: tuple[CellIssue, ...] = ()
    warnings: tuple[CellIssue, ...] = ()
    skipped: tuple[CellIssue, ...] = ()


@frozen
class FilesReport:
    """What an import of several files did (or, with ``dry_run``, would do).

    ``files`` in the order they were applied; ``kinds`` the counts by kind (in the same
    order: ``schools``, ``staff``, ``roster``, ``assignments``, ``groups``, then the record
    kinds). When any file has an issue nothing is written (``written`` is false) and the counts
    say what the run would have done. ``language`` is the language its messages were made in.
    """

    files: tuple[FileReport, ...]
    kinds: Mapping[str, KindCounts]
    dry_run: bool
    written: bool = False
    language: str = field(factory=language_now, eq=False, repr=False)

    @property
    def ok(self) -> bool:
        """Whether no file had an issue (so the run was, or would be, written)."""
        return not any(f.issues for f in self.files)

    @property
    def issues(self) -> tuple[tuple[str, CellIssue], ...]:
        """Every issue with the path of its file."""
        return tuple((f.path, i) for f in self.files for i in f.issues)

    @property
    def warnings(self) -> tuple[tuple[str, CellIssue], ...]:
        """Every warning with the path of its file."""
        return tuple((f.path, i) for f in self.files for i in f.warnings)

    @property
    def skipped(self) -> tuple[tuple[str, CellIssue], ...]:
        """Every row skipped as no item (a title, 合计, a footer), with the path of its file."""
        return tuple((f.path, i) for f in self.files for i in f.skipped)

    def summary(self) -> list[str]:
        """One line per kind in the report's language: ``谈心记录：新增 5，更新 0，未变 0``."""
        with use(self.language):
            return [
                text(
                    "roster.summary.kind",
                    kind=sheet_name(kind),
                    created=f"{len(c.created):,}",
                    updated=f"{len(c.updated):,}",
                    unchanged=f"{c.unchanged:,}",
                )
                for kind, c in self.kinds.items()
            ]

    def to_json(self) -> dict[str, Any]:
        """The report as JSON-ready data with stable English keys (see the docs' import page)."""

        def issue(path: str, i: CellIssue) -> dict[str, Any]:
            return {
                "file": path,
                "sheet": i.sheet,
                "row": i.row,
                "column": i.column,
                "key": i.key,
                "code": i.code,
                "message": i.message,
            }

        return {
            "ok": self.ok,
            "dry_run": self.dry_run,
            "written": self.written,
            "files": [
                {"path": f.path, "kind": f.kind, "sheet": f.sheet, "rows": f.rows}
                for f in self.files
            ],
            "kinds": {
                kind: {
                    "created": list(c.created),
                    "updated": list(c.updated),
                    "unchanged": c.unchanged,
                }
                for kind, c in self.kinds.items()
            },
            "issues": [issue(p, i) for p, i in self.issues],
            "warnings": [issue(p, i) for p, i in self.warnings],
            "skipped": [issue(p, i) for p, i in self.skipped],
        }


@frozen
class ImportPlan:
    """What to write, by kind: only what is new or changed."""

    schools: tuple[School, ...] = ()
    staff: tuple[Staff, ...] = ()
    children: tuple[Child, ...] = ()
    assignments: tuple[Assignment, ...] = ()
    groups: tuple[StudyGroup, ...] = ()
    records: tuple[Record, ...] = ()

    def __len__(self) -> int:
        return sum(len(getattr(self, a.name)) for a in attrs.fields(ImportPlan))


# ---------------------------------------------------------------------------------------------
# Telling a file's kind.


def _head(rows: Iterable[tuple[int, list[Any]]]) -> list[tuple[int, list[Any]]]:
    head: list[tuple[int, list[Any]]] = []
    for item in rows:
        head.append(item)
        if item[0] >= HEADER_SCAN:
            break
    return head


def _peek(
    path: Path, limits: ImportLimits
) -> tuple[str, list[tuple[int, list[Any]]]] | FileRefusedError:
    """The sheet's name and first rows (up to :data:`~leftbehind.io.roster_read.HEADER_SCAN`),
    or why the file cannot be read (with the limit it crossed, when one)."""
    suffix = path.suffix.lower()
    prefer = frozenset().union(*(sheet_names(k) for k in SHEET_COLUMNS))
    try:
        if suffix in (".xlsx", ".xlsm"):
            rows, sheet, _, close = open_xlsx(path, limits, prefer=prefer, form=header_form)
            try:
                return sheet, _head(rows)
            finally:
                close()
        if suffix in (".csv", ".txt"):
            records, _, _ = open_csv(path, limits)
            try:
                return path.name, _head((n, list(r)) for n, r in records)
            finally:
                records.close()
    except FileRefusedError as exc:
        return exc
    except Exception:  # a damaged file may fail anywhere inside zipfile or expat
        return FileRefusedError("file_unreadable")
    return FileRefusedError("file_format")


def _kind_of(path: Path, limits: ImportLimits) -> tuple[str | None, FileReport | None]:
    peeked = _peek(path, limits)
    if isinstance(peeked, FileRefusedError):
        said = message(peeked.code, limit=peeked.limit)
        issue = CellIssue(path.name, peeked.row, "", "", peeked.code, said, peeked.column)
        return None, FileReport(str(path), None, path.name, 0, (issue,))
    sheet, head = peeked
    hints = (header_form(sheet), header_form(path.stem))
    kind: str | None = None
    candidates: tuple[str, ...] = ()
    lookup = header_table(ROSTER_READ_COLUMNS)
    for j, (number, row) in enumerate(head):
        # A header below a title, or of two rows (a group over its fields), is a roster's.
        merged = two_level_header(row, head[j + 1][1], lookup) if j + 1 < len(head) else None
        if merged is not None and head[j + 1][0] == number + 1:
            kind, candidates = recognise([form for _, _, form in merged], hints)
        if kind is None and not candidates:
            kind, candidates = recognise(row, hints)
        if kind is not None or candidates:
            break
    if kind is not None:
        return kind, None
    if candidates:
        names = text("roster.separator").join(sheet_name(k) for k in candidates)
        issue = CellIssue(
            sheet, 1, "", "", "kind_ambiguous", message("kind_ambiguous", kinds=names)
        )
    else:
        issue = CellIssue(sheet, 1, "", "", "unknown_kind", message("unknown_kind"))
    return None, FileReport(str(path), None, sheet, 0, (issue,))


# ---------------------------------------------------------------------------------------------
# The county as the run sees it: what is stored, and what earlier rows of the run make.


def _by_name(items: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key, name in items:
        out.setdefault(name_key(name), []).append(key)
    return out


#: Where the run holds each kind it writes.
_HELD = {"school": "schools", "staff": "staff", "child": "children",
         "assignment": "assignments", "group": "groups", "record": "records"}  # fmt: skip


class _County:
    def __init__(
        self,
        schools: Mapping[str, School],
        staff: Mapping[str, Staff],
        children: Mapping[str, Child],
        assignments: Mapping[str, Assignment],
        groups: Mapping[str, StudyGroup],
        records_of: Callable[[Iterable[str]], Iterable[Record]],
    ) -> None:
        self.schools = dict(schools)
        self.staff = dict(staff)
        self.children = dict(children)
        self.assignments = dict(assignments)
        self.groups = dict(groups)
        self.records_of = records_of
        self.records: dict[str, Record] = {}
        self.record_keys: dict[tuple[str, ...], str] = {}
        self.written: dict[str, dict[str, Any]] = {}
        self._children_index: tuple[dict[str, str], dict[str, list[str]]] | None = None
        #: The ids and names of rows refused in this run, by kind: a later row naming one is
        #: not blamed again (the run is refused already, for the row itself).
        self.refused: dict[str, set[str]] = {"school": set(), "staff": set(), "child": set()}

    def refuse(self, kind: str, *labels: CellValue) -> None:
        self.refused[kind].update(label for label in labels if isinstance(label, str))

    def _missing(self, kind: str, label: str, shared: bool) -> tuple[str | None, str]:
        if shared:
            return None, f"{kind}_ambiguous"
        return None, "" if label in self.refused[kind] else f"unknown_{kind}"

    def put(self, kind: str, key: str, value: Any) -> None:
        """Hold ``value`` as written by the run (``kind``: one of :data:`_HELD`)."""
        self.written.setdefault(kind, {})[key] = value
        held: dict[str, Any] = getattr(self, _HELD[kind])
        held[key] = value
        if kind == "child":
            self._children_index = None

    # -- references

    def _named(
        self, kind: str, held: Mapping[str, School | Staff], label: str
    ) -> tuple[str | None, str]:
        """The key of the one school or staff member ``label`` names, by key or by name (in
        either script, see :func:`~leftbehind.io.names.name_key`)."""
        if label in held:
            return label, ""
        wanted = name_key(label)
        found = [key for key, item in held.items() if name_key(item.name) == wanted]
        if len(found) == 1:
            return found[0], ""
        return self._missing(kind, label, bool(found))

    def school(self, label: str) -> tuple[str | None, str]:
        return self._named("school", self.schools, label)

    def staff_member(self, label: str) -> tuple[str | None, str]:
        return self._named("staff", self.staff, label)

    def child(self, label: str, *, staff_id: str | None) -> tuple[str | None, str]:
        if label in self.children:
            return label, ""
        if self._children_index is None:
            rid = {c.resident_id.upper(): c.id for c in self.children.values() if c.resident_id}
            names = _by_name((c.id, c.name) for c in self.children.values())
            self._children_index = (rid, names)
        by_rid, by_name = self._children_index
        found_rid = by_rid.get(ids.normalize_digits(label).upper())
        if found_rid is not None:
            return found_rid, ""
        found = by_name.get(name_key(label), [])
        if len(found) > 1 and staff_id is not None:
            mine = {a.child_id for a in self.assignments.values() if a.staff_id == staff_id}
            narrowed = [c for c in found if c in mine]
            if not narrowed and staff_id in self.staff:
                school = self.staff[staff_id].school_id
                narrowed = [
                    c for c in found
                    if any(e.school_id == school for e in self.children[c].enrolments)
                ]  # fmt: skip
            found = narrowed or found
        if len(found) == 1:
            return found[0], ""
        return self._missing("child", label, bool(found))


# ---------------------------------------------------------------------------------------------
# One sheet's rows.


class _Sheet:
    """A read sheet and its issues; ``seen`` holds the natural keys its kind met in the run."""

    def __init__(self, read: RosterReport, kind: str, counts: dict[str, Any]) -> None:
        self.read = read
        self.kind = kind
        self.issues: list[CellIssue] = list(read.issues)
        self.warnings: list[CellIssue] = list(read.warnings)
        self.columns = {c.key: c for c in SHEET_COLUMNS[kind]}
        self.counts = counts
        self.seen: set[object] = counts.setdefault("seen", set())

    def add(self, row: RosterRow, key: str, code: str, said: str = "", *,
            warning: bool = False) -> None:  # fmt: skip
        column: Column | None = self.columns.get(key)
        header = self.read.headers.get(key) or (column.header if column is not None else "")
        at = self.read.columns.get(key, -1) + 1
        (self.warnings if warning else self.issues).append(
            CellIssue(self.read.sheet, row.number, header, key, code, said or message(code), at)
        )

    def first(self, row: RosterRow, key: object) -> bool:
        """Whether no earlier row of the run had ``key`` (else a ``duplicate_key`` issue)."""
        if key in self.seen:
            self.add(row, "id", "duplicate_key")
            return False
        self.seen.add(key)
        return True

    def count(self, key: str, stored: object, new: object) -> bool:
        """Count the row's item; whether it is to be written."""
        listed: set[str] = self.counts.setdefault("listed", set())
        if stored is None:
            self.counts["created"].append(key)
            listed.add(key)
            return True
        if stored != new:
            if key not in listed:  # a set: a sheet of 100,000 corrected rows stays linear
                self.counts["updated"].append(key)
                listed.add(key)
            return True
        self.counts["unchanged"] += 1
        return False

    def structured(self, row: RosterRow, doc: dict[str, Any], cls: type[T],
                   paths: Mapping[str, str], today: date) -> T | None:  # fmt: skip
        """``doc`` as ``cls``, or ``None`` with each problem put on the column its path names."""
        try:
            return structure(doc, cls, today=today)
        except ValidationError as exc:
            for issue in exc.issues:
                head = issue.path.split(".")[0].split("[")[0]
                self.add(row, paths.get(head, next(iter(paths.values()))), issue.code,
                         issue.message)  # fmt: skip
            return None

    def report(self, path: str) -> FileReport:
        self.issues.sort(key=lambda i: (i.row, i.index))
        return FileReport(path, self.kind, self.read.sheet, len(self.read.rows),
                          tuple(self.issues), tuple(self.warnings),
                          self.read.skipped)  # fmt: skip


def _s(value: CellValue) -> str:
    return value if isinstance(value, str) else ""


def _iso(value: CellValue) -> str | None:
    return value.isoformat() if isinstance(value, date) else None


def _made_id(*parts: str) -> str:
    """An id from the parts of a natural key; a digest when it would look like a phone or ID
    number (keys go into the audit log)."""
    made = "-".join(parts)
    if ids.looks_personal(made) or len(made) > 64:
        return parts[0] + "-" + hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]
    return made


def _ref(sheet: _Sheet, row: RosterRow, key: str,
         resolve: Callable[[str], tuple[str | None, str]]) -> str | None:  # fmt: skip
    label = row.values.get(key)
    if not isinstance(label, str):
        return None
    found, problem = resolve(label)
    if problem:
        sheet.add(row, key, problem)
    return found


def _end_after_start(sheet: _Sheet, row: RosterRow) -> bool:
    start, end = row.values.get("start"), row.values.get("end")
    if isinstance(start, date) and isinstance(end, date) and end < start:
        sheet.add(row, "end", "end_before_start")
        return False
    return True


# ---------------------------------------------------------------------------------------------
# The kinds.


def _schools(sheet: _Sheet, county: _County, today: date) -> None:
    stage_forms = {header_form(f): c.key for c in STAGE_CHOICES for f in c.forms()}
    for row in sheet.read.rows:
        v = row.values
        stages: list[str] = []
        for part in _SEPARATORS.split(_s(v.get("stages"))):
            if part:
                found = stage_forms.get(header_form(part))
                if found is None:
                    choices = text("roster.separator").join(c.label for c in STAGE_CHOICES)
                    sheet.add(row, "stages", "stage", message("stage", choices=choices))
                    break
                stages.append(found)
        key = _s(v.get("id"))
        sheet.first(row, key)
        doc = {"id": key, "name": _s(v.get("name")), "township": _s(v.get("township")),
               "rural": v.get("rural") != "no", "stages": stages}  # fmt: skip
        paths = {"id": "id", "name": "name", "township": "township", "stages": "stages"}
        school = sheet.structured(row, doc, School, paths, today)
        if school is None or row.bad or not key:
            county.refuse("school", key, v.get("name"))
            continue
        if sheet.count(key, county.schools.get(key), school):
            county.put("school", key, school)


def _staff(sheet: _Sheet, county: _County, today: date) -> None:
    for row in sheet.read.rows:
        v = row.values
        school = _ref(sheet, row, "school", county.school)
        key = _s(v.get("id"))
        sheet.first(row, key)
        doc = {"id": key, "name": _s(v.get("name")), "school_id": school or "?",
               "title": _s(v.get("title")), "phone": _s(v.get("phone"))}  # fmt: skip
        paths = {"id": "id", "name": "name", "school_id": "school", "title": "title",
                 "phone": "phone"}  # fmt: skip
        person = sheet.structured(row, doc, Staff, paths, today)
        if person is None or school is None or row.bad or not key:
            county.refuse("staff", key, v.get("name"))
            continue
        if sheet.count(key, county.staff.get(key), person):
            county.put("staff", key, person)


def _assignments(sheet: _Sheet, county: _County, today: date) -> None:
    by_key = {(a.staff_id, a.child_id, a.role.value, a.start.isoformat()): a.id
              for a in county.assignments.values()}  # fmt: skip
    for row in sheet.read.rows:
        v = row.values
        staff_id = _ref(sheet, row, "staff", county.staff_member)
        child_id = _ref(sheet, row, "child", functools.partial(county.child, staff_id=staff_id))
        ordered = _end_after_start(sheet, row)
        role, start = v.get("role"), v.get("start")
        if not (staff_id and child_id and ordered and isinstance(role, str)
                and isinstance(start, date)) or row.bad:  # fmt: skip
            continue
        natural = (staff_id, child_id, role, start.isoformat())
        key = (
            _s(v.get("id"))
            or by_key.get(natural)
            or _made_id(role, child_id, staff_id, f"d{start:%Y%m%d}")
        )
        if not sheet.first(row, key):
            continue
        doc = {"id": key, "staff_id": staff_id, "child_id": child_id, "role": role,
               "start": start.isoformat(), "end": _iso(v.get("end")),
               "subject": _s(v.get("subject"))}  # fmt: skip
        paths = {"id": "id", "subject": "subject", "end": "end", "start": "start"}
        made = sheet.structured(row, doc, Assignment, paths, today)
        if made is None:
            continue
        by_key[natural] = key
        if sheet.count(key, county.assignments.get(key), made):
            county.put("assignment", key, made)


def _groups(sheet: _Sheet, county: _County, today: date) -> None:
    for row in sheet.read.rows:
        v = row.values
        school = _ref(sheet, row, "school", county.school)
        guide = _ref(sheet, row, "guide", county.staff_member)
        ordered = _end_after_start(sheet, row)
        members: list[str] = []
        for label in _SEPARATORS.split(_s(v.get("members"))):
            if not label:
                continue
            found, problem = county.child(label, staff_id=guide)
            if problem:
                sheet.add(row, "members", problem)
                break
            if found is not None and found not in members:
                members.append(found)
        key = _s(v.get("id"))
        sheet.first(row, key)
        if not (school and guide and ordered and key) or row.bad or len(members) == 0:
            continue
        doc = {"id": key, "school_id": school, "village": _s(v.get("village")),
               "guide_staff_id": guide, "child_ids": members,
               "start": _iso(v.get("start")), "end": _iso(v.get("end"))}  # fmt: skip
        paths = {"id": "id", "village": "village", "child_ids": "members", "start": "start"}
        group = sheet.structured(row, doc, StudyGroup, paths, today)
        if group is None:
            continue
        if sheet.count(key, county.groups.get(key), group):
            county.put("group", key, group)


#: The column that names the record's topic, by record kind (the rest have none).
_TOPIC = {"talk": "topic", "family_contact": "contact_topic", "parent_report": "report_topic",
          "safety_education": "safety_topic", "parent_lecture": "lecture_topic",
          "festival": "festival"}  # fmt: skip


def _record_doc(kind: str, code: str, v: Mapping[str, CellValue]) -> dict[str, Any]:
    doc: dict[str, Any] = {"kind": code, "method": v.get("method") or Method.IN_PERSON.value}
    if kind == "home_visit":
        doc["details"] = {
            "guardian_met": _s(v.get("guardian_met")),
            "living_conditions": _s(v.get("living")),
            "behaviour_at_home": _s(v.get("behaviour")),
            "needs_found": _s(v.get("needs")),
            "feedback": _s(v.get("feedback")),
            "measures": _s(v.get("measures")),
            "next_visit": _iso(v.get("next_visit")),
        }
    elif kind == "study_plan":
        doc["details"] = {"time": _s(v.get("plan_time")), "content": _s(v.get("plan_content")),
                          "plan": _s(v.get("plan"))}  # fmt: skip
    else:
        doc.update({"topic": _s(v.get(_TOPIC[kind])), "content": _s(v.get("content")),
                    "effect": _s(v.get("effect")), "follow_up": _s(v.get("follow_up")),
                    "place": _s(v.get("place"))})  # fmt: skip
    return doc


def _records(sheet: _Sheet, county: _County, today: date) -> None:
    code = RECORD_KINDS[sheet.kind][0]
    who = "visitor" if sheet.kind == "home_visit" else "teacher"
    rows: list[tuple[RosterRow, str, str]] = []
    for row in sheet.read.rows:
        staff_id = _ref(sheet, row, who, county.staff_member)
        child_id = _ref(sheet, row, "child", functools.partial(county.child, staff_id=staff_id))
        if staff_id and child_id:
            rows.append((row, staff_id, child_id))
    wanted = {c for _, _, c in rows} - {r.child_id for r in county.records.values()}
    for stored in county.records_of(sorted(wanted)):
        county.records.setdefault(stored.id, stored)
        county.record_keys.setdefault(_natural(stored), stored.id)
    topic_key = _TOPIC.get(sheet.kind, "")
    paths = {"on": "date", "id": "id", "method": "method", "details": "id",
             "topic": topic_key or "id",
             "content": "content", "effect": "effect", "follow_up": "follow_up",
             "place": "place"}  # fmt: skip
    for row, staff_id, child_id in rows:
        v = row.values
        on = v.get("date")
        if not isinstance(on, date) or row.bad:
            continue
        doc = _record_doc(sheet.kind, code, v)
        doc.update({"child_id": child_id, "staff_id": staff_id, "on": on.isoformat()})
        if on > today:
            sheet.add(row, "date", "future_record")
            continue
        child = county.children.get(child_id)
        if child is not None and on < child.birth_date:
            sheet.add(row, "date", "record_before_birth")
            continue
        if child is not None and child.enrolment_on(on) is None:
            # flagged, not refused: a talk in the summer before a child's first term is real
            sheet.add(row, "date", "record_not_enrolled", warning=True)
        visit = doc.get("details", {}).get("next_visit") if sheet.kind == "home_visit" else None
        if visit is not None and visit < doc["on"]:
            sheet.add(row, "next_visit", "next_visit_before")
            continue
        natural = (code, child_id, staff_id, doc["on"], doc.get("topic", "").strip())
        key = _s(v.get("id")) or county.record_keys.get(natural) or ""
        if not key:
            base = _made_id(code, child_id, staff_id, f"d{on:%Y%m%d}")
            key, n = base, 1
            while key in county.records:
                n += 1
                key = f"{base}-{n}"
        if natural in sheet.seen or key in sheet.seen:
            sheet.add(row, "id" if v.get("id") else "date", "duplicate_key")
            continue
        sheet.seen.update((natural, key))
        doc["id"] = key
        record = sheet.structured(row, doc, Record, paths, today)
        if record is None:
            continue
        county.record_keys[natural] = key
        if sheet.count(key, county.records.get(key), record):
            county.put("record", key, record)


def _natural(r: Record) -> tuple[str, ...]:
    return (r.kind, r.child_id, r.staff_id, r.on.isoformat(), r.topic.strip())


_PLANNERS: Mapping[str, Callable[[_Sheet, _County, date], None]] = {
    "schools": _schools,
    "staff": _staff,
    "assignments": _assignments,
    "groups": _groups,
    **dict.fromkeys(RECORD_KINDS, _records),
}


# ---------------------------------------------------------------------------------------------
# The run.


def plan_files(
    paths: Sequence[str | os.PathLike[str]],
    *,
    schools: Mapping[str, School],
    staff: Mapping[str, Staff],
    children: Mapping[str, Child],
    assignments: Mapping[str, Assignment],
    groups: Mapping[str, StudyGroup],
    records_of: Callable[[Iterable[str]], Iterable[Record]],
    today: date,
    dry_run: bool = False,
    progress: Progress | None = None,
    limits: ImportLimits = DEFAULT_LIMITS,
    strict: bool = False,
) -> tuple[FilesReport, ImportPlan]:
    """Read and check every file (see the module's rules) against what the county holds.

    Returns the report (``written`` false) and what to write: nothing when any file has an
    issue. ``records_of(child_ids)`` gives the stored records of those children (to match the
    rows of record sheets). Each file is read within ``limits``. With ``strict``, every
    warning is an issue: nothing is written when the run would ignore or assume anything.
    """
    county = _County(schools, staff, children, assignments, groups, records_of)
    kinds: list[tuple[int, int, Path, str]] = []
    reports: list[FileReport] = []
    for n, given in enumerate(paths):
        path = Path(given)
        kind, refused = _kind_of(path, limits)
        if refused is not None:
            reports.append(refused)
        elif kind is not None:
            kinds.append((ORDER.index(kind), n, path, kind))
    counts: dict[str, dict[str, Any]] = {}
    for _, _, path, kind in sorted(kinds):
        got = counts.setdefault(kind, {"created": [], "updated": [], "unchanged": 0})
        if kind == "roster":
            reports.append(_roster(path, county, got, today, progress, limits))
            continue
        read = read_sheet(path, columns=SHEET_COLUMNS[kind], progress=progress, limits=limits)
        sheet = _Sheet(read, kind, got)
        if not (read.refused or any(i.row <= read.header_row for i in read.issues)):
            _PLANNERS[kind](sheet, county, today)
        reports.append(sheet.report(str(path)))
    if strict:
        reports = [
            attrs.evolve(f, issues=(*f.issues, *f.warnings), warnings=()) if f.warnings else f
            for f in reports
        ]
    report = FilesReport(
        tuple(reports),
        {k: KindCounts(tuple(c["created"]), tuple(c["updated"]), c["unchanged"])
         for k, c in sorted(counts.items(), key=lambda kc: ORDER.index(kc[0]))},
        dry_run,
    )  # fmt: skip
    if not report.ok:
        return report, ImportPlan()
    w = {kind: tuple(county.written.get(kind, {}).values()) for kind in _HELD}
    plan = ImportPlan(w["school"], w["staff"], w["child"], w["assignment"], w["group"],
                      w["record"])  # fmt: skip
    return report, plan


def _roster(
    path: Path,
    county: _County,
    got: dict[str, Any],
    today: date,
    progress: Progress | None,
    limits: ImportLimits,
) -> FileReport:
    report, to_write = plan_import(
        path,
        children=county.children.values(),
        schools=county.schools,
        today=today,
        progress=progress,
        limits=limits,
        partial=True,
    )
    for child in to_write:
        county.put("child", child.id, child)
    if report.issues:
        bad = {i.row for i in report.issues}
        for row in read_sheet(path, limits=limits).rows:
            if row.number in bad:
                v = row.values
                county.refuse("child", v.get("id"), v.get("name"), v.get("resident_id"))
    listed: set[str] = got.setdefault("listed", set())
    for ids_of, said in ((report.created_ids, "created"), (report.updated_ids, "updated")):
        for c in ids_of:
            if c not in listed:
                got[said].append(c)
                listed.add(c)
    got["unchanged"] += report.unchanged
    return FileReport(str(path), "roster", report.sheet, report.rows, report.issues,
                      report.warnings, report.skipped)  # fmt: skip
