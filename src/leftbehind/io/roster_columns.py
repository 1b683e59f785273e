"""The roster template's columns as data (花名冊欄目), and the record templates' columns.

Each :class:`Column` has its Chinese header, English key, kind, choices, whether a row must fill
it, the paths of the child document it feeds (to name the column of a problem the checks find),
and a getter from a :class:`~leftbehind.domain.model.Child` for export. How rows become child
documents (the setters) lives in :mod:`leftbehind.io.roster_import`.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from datetime import date, timedelta

from attrs import frozen

from leftbehind.domain.dates import school_year_of
from leftbehind.domain.model import (
    Absence,
    Child,
    Enrolment,
    Health,
    LeaveReason,
    Parent,
    Sex,
)

__all__ = [
    "COLUMNS_BY_KEY",
    "HOME_VISIT_COLUMNS",
    "PARENT_STATUSES",
    "ROSTER_COLUMNS",
    "TALK_COLUMNS",
    "CellValue",
    "Column",
    "ExportContext",
    "Kind",
    "current_enrolment",
    "grade_reference",
    "latest_absence",
    "parent_status",
]

CellValue = str | int | date | None


class Kind(enum.Enum):
    """How a cell is read and written."""

    TEXT = "text"
    CHILD_ID = "child_id"
    RESIDENT_ID = "resident_id"
    PHONE = "phone"
    DATE = "date"
    INT = "int"
    CHOICE = "choice"
    BOOL = "bool"


@frozen
class ExportContext:
    """What a getter needs besides the child: the day of the export, how schools are named."""

    today: date
    school_labels: Mapping[str, str]


Getter = Callable[[Child, ExportContext], CellValue]


def _none(child: Child, ctx: ExportContext) -> CellValue:
    return None


@frozen
class Column:
    """One column: ``header`` (中文表頭), ``key`` (English), ``kind``, ``choices``, ``required``.

    ``paths`` are the child-document paths the column feeds, indices written ``[]``
    (``father.absences[].start``); ``get`` gives the cell for a child on export.
    """

    key: str
    header: str
    kind: Kind
    meaning: str
    choices: tuple[str, ...] = ()
    required: bool = False
    paths: tuple[str, ...] = ()
    get: Getter = _none


# ---------------------------------------------------------------------------------------------
# What a row carries of a child: the current enrolment, each parent's status and latest spell.

#: Parent statuses (狀態) in the order of the template's list.
PARENT_STATUSES = ("在家", "外出務工", "去世", "失蹤", "離異不在戶", "不詳")
HOME, AWAY, DECEASED, MISSING, DIVORCED, UNKNOWN = PARENT_STATUSES


def current_enrolment(child: Child) -> Enrolment | None:
    """The enrolment a row carries: the one that started last."""
    return max(child.enrolments, key=lambda e: e.start, default=None)


def grade_reference(start: date, end: date | None, today: date) -> date:
    """The day whose grade 年級 states: today, or the last day at school when the pupil left."""
    if end is None:
        return today
    return max(start, end - timedelta(days=1))


def _grade(e: Enrolment, today: date) -> int:
    ref = grade_reference(e.start, e.end, today)
    return e.grade + school_year_of(ref) - school_year_of(e.start)


def latest_absence(parent: Parent) -> Absence | None:
    """The spell a row carries for a parent: the one that started last."""
    return max(parent.absences, key=lambda a: a.start, default=None)


def parent_status(parent: Parent, today: date) -> str:
    """The one status a row shows: 不詳, 去世, 失蹤, 離異不在戶 first (in that order), then
    外出務工 when a spell covers ``today``, else 在家."""
    if not parent.known:
        return UNKNOWN
    if parent.deceased_on is not None:
        return DECEASED
    if parent.missing_since is not None:
        return MISSING
    if parent.divorced_out_on is not None:
        return DIVORCED
    if parent.away_on(today) is not None:
        return AWAY
    return HOME


def _status_since(parent: Parent) -> date | None:
    if not parent.known:
        return None
    return parent.deceased_on or parent.missing_since or parent.divorced_out_on


# ---------------------------------------------------------------------------------------------
# Getters.


def _field(name: str) -> Getter:
    def get(child: Child, ctx: ExportContext) -> CellValue:
        value: CellValue = getattr(child, name)
        return value

    return get


def _enrolment(part: str) -> Getter:
    def get(child: Child, ctx: ExportContext) -> CellValue:
        e = current_enrolment(child)
        if e is None:
            return None
        if part == "school":
            return ctx.school_labels.get(e.school_id, e.school_id)
        if part == "grade":
            return _grade(e, ctx.today)
        if part == "class":
            return e.class_name
        if part == "start":
            return e.start
        if part == "end":
            return e.end
        return e.end_reason.label if e.end_reason is not None else None

    return get


def _parent(role: str, part: str) -> Getter:
    def get(child: Child, ctx: ExportContext) -> CellValue:
        p: Parent | None = getattr(child, role)
        if p is None:
            return None
        spell = latest_absence(p)
        if part == "name":
            return p.name
        if part == "status":
            return parent_status(p, ctx.today)
        if part == "status_since":
            return _status_since(p)
        if part == "away_since":
            return spell.start if spell else None
        if part == "back_on":
            return spell.end if spell else None
        if part == "work_place":
            return spell.place if spell else None
        if part == "phone":
            return p.phone
        if part == "capacity":
            return "無" if p.no_capacity_since is not None else "有"
        return p.no_capacity_since

    return get


def _guardian(part: str) -> Getter:
    def get(child: Child, ctx: ExportContext) -> CellValue:
        g = child.guardian
        if g is None:
            return None
        value: str = getattr(g, part)
        return value

    return get


def _sex(child: Child, ctx: ExportContext) -> CellValue:
    return child.sex.label


def _hukou(child: Child, ctx: ExportContext) -> CellValue:
    return "農村" if child.rural_hukou else "城鎮"


def _yes_no(value: bool) -> str:
    return "是" if value else "否"


def _boarding(child: Child, ctx: ExportContext) -> CellValue:
    return _yes_no(child.boarding)


def _health(child: Child, ctx: ExportContext) -> CellValue:
    return child.health.label if child.health is not None else None


def _abandoned(child: Child, ctx: ExportContext) -> CellValue:
    return _yes_no(child.abandoned_on is not None)


# ---------------------------------------------------------------------------------------------
# The columns.

YES_NO = ("是", "否")


def _parent_columns(role: str, label: str) -> list[Column]:
    p = role
    return [
        Column(f"{p}_name", f"{label}姓名", Kind.TEXT, f"the {role}'s name", paths=(f"{p}.name",),
               get=_parent(p, "name")),
        Column(f"{p}_status", f"{label}狀態", Kind.CHOICE,
               "home / away working / deceased / missing / divorced out of the household / "
               "unknown; blank: not recorded", PARENT_STATUSES, paths=(f"{p}.known",),
               get=_parent(p, "status")),
        Column(f"{p}_status_since", f"{label}狀態日期", Kind.DATE,
               "date of death, of going missing, or of the divorce (for those statuses only)",
               paths=(f"{p}.deceased_on", f"{p}.missing_since", f"{p}.divorced_out_on"),
               get=_parent(p, "status_since")),
        Column(f"{p}_away_since", f"{label}外出開始日期", Kind.DATE,
               "first day of the current (latest) spell of working away",
               paths=(f"{p}.absences[].start", f"{p}.absences[]", f"{p}.absences"),
               get=_parent(p, "away_since")),
        Column(f"{p}_back_on", f"{label}返回日期", Kind.DATE,
               "the day that spell ended (back home); blank while still away",
               paths=(f"{p}.absences[].end",), get=_parent(p, "back_on")),
        Column(f"{p}_work_place", f"{label}務工地點", Kind.TEXT,
               "where the spell is spent (province + city)",
               paths=(f"{p}.absences[].place",), get=_parent(p, "work_place")),
        Column(f"{p}_phone", f"{label}聯繫電話", Kind.PHONE, "mobile or landline with area code",
               paths=(f"{p}.phone",), get=_parent(p, "phone")),
        Column(f"{p}_capacity", f"{label}監護能力", Kind.CHOICE,
               "guardianship capacity: 有 has it, 無 lost it (give the date)", ("有", "無"),
               get=_parent(p, "capacity")),
        Column(f"{p}_no_capacity_since", f"{label}無監護能力日期", Kind.DATE,
               "since when the parent has no guardianship capacity (with 監護能力 無)",
               paths=(f"{p}.no_capacity_since",), get=_parent(p, "no_capacity_since")),
    ]  # fmt: skip


ROSTER_COLUMNS: tuple[Column, ...] = (
    Column("id", "兒童編號", Kind.CHILD_ID,
           "the child's number in the county store; blank for a new child (one is given)",
           paths=("id",), get=_field("id")),
    Column("name", "姓名", Kind.TEXT, "the child's name", required=True, paths=("name",),
           get=_field("name")),
    Column("sex", "性別", Kind.CHOICE, "sex", tuple(s.label for s in Sex), required=True,
           paths=("sex",), get=_sex),
    Column("ethnicity", "民族", Kind.TEXT, "ethnic group (漢族, 回族, …)", paths=("ethnicity",),
           get=_field("ethnicity")),
    Column("birth_date", "出生日期", Kind.DATE, "birth date", required=True,
           paths=("birth_date",), get=_field("birth_date")),
    Column("resident_id", "公民身份證號碼", Kind.RESIDENT_ID,
           "18-character resident ID (GB 11643), checked; matches an existing child first",
           paths=("resident_id",), get=_field("resident_id")),
    Column("school", "學校", Kind.TEXT, "the school's id or exact name", required=True,
           paths=("enrolments[].school_id", "enrolments"), get=_enrolment("school")),
    Column("grade", "年級", Kind.INT,
           "grade today (1–9; 初一 = 7), or on the last day at school if the pupil left",
           required=True, paths=("enrolments[].grade",), get=_enrolment("grade")),
    Column("class_name", "班級", Kind.TEXT, "class", paths=("enrolments[].class_name",),
           get=_enrolment("class")),
    Column("enrolled_since", "入學日期", Kind.DATE, "first day at this school", required=True,
           paths=("enrolments[].start", "enrolments[]"), get=_enrolment("start")),
    Column("left_on", "離校日期", Kind.DATE, "the day the pupil left this school, if so",
           paths=("enrolments[].end",), get=_enrolment("end")),
    Column("leave_reason", "離校原因", Kind.CHOICE, "why the pupil left",
           tuple(r.label for r in LeaveReason), paths=("enrolments[].end_reason",),
           get=_enrolment("reason")),
    Column("hukou", "戶籍所在地", Kind.CHOICE, "household registration: rural or town",
           ("農村", "城鎮"), required=True, paths=("rural_hukou",), get=_hukou),
    Column("village", "現居住地", Kind.TEXT, "home village (村)", paths=("village",),
           get=_field("village")),
    Column("address", "詳細住址", Kind.TEXT, "home address", paths=("address",),
           get=_field("address")),
    Column("boarding", "是否寄宿", Kind.BOOL, "boards at school", YES_NO, paths=("boarding",),
           get=_boarding),
    Column("health", "身體情況", Kind.CHOICE, "health: healthy / disabled / ill",
           tuple(h.label for h in Health), paths=("health",), get=_health),
    Column("health_note", "殘疾或疾病類型", Kind.TEXT, "type of disability or illness",
           paths=("health_note",), get=_field("health_note")),
    Column("personality", "性格特點", Kind.TEXT, "personality traits", paths=("personality",),
           get=_field("personality")),
    Column("hobbies", "興趣愛好", Kind.TEXT, "hobbies and interests", paths=("hobbies",),
           get=_field("hobbies")),
    *_parent_columns("father", "父親"),
    *_parent_columns("mother", "母親"),
    Column("guardian_name", "委託監護人姓名", Kind.TEXT, "second guardian's name",
           paths=("guardian.name", "guardian"), get=_guardian("name")),
    Column("guardian_relation", "與兒童關係", Kind.TEXT, "second guardian's relation (祖母, …)",
           paths=("guardian.relation",), get=_guardian("relation")),
    Column("guardian_phone", "委託監護人電話", Kind.PHONE, "second guardian's phone",
           paths=("guardian.phone",), get=_guardian("phone")),
    Column("guardian_address", "委託監護人住址", Kind.TEXT, "second guardian's address",
           paths=("guardian.address",), get=_guardian("address")),
    Column("abandoned", "是否遺棄", Kind.BOOL, "recorded as abandoned (遺棄)", YES_NO,
           get=_abandoned),
    Column("abandoned_on", "遺棄日期", Kind.DATE, "the date of abandonment (with 是否遺棄 是)",
           paths=("abandoned_on",), get=_field("abandoned_on")),
)  # fmt: skip
"""The roster template (花名冊), one row per child, in the order of the template."""

COLUMNS_BY_KEY: Mapping[str, Column] = {c.key: c for c in ROSTER_COLUMNS}

TALK_COLUMNS: tuple[Column, ...] = (
    Column("date", "日期", Kind.DATE, "date of the talk", required=True),
    Column("place", "地點", Kind.TEXT, "place"),
    Column("teacher", "教師", Kind.TEXT, "the teacher (staff id or name)", required=True),
    Column("child", "兒童", Kind.TEXT, "the child (兒童編號)", required=True),
    Column("method", "方式", Kind.CHOICE, "face to face / phone / video", ("面談", "電話", "視頻"),
           required=True),
    Column("topic", "主題", Kind.TEXT, "topic"),
    Column("content", "內容", Kind.TEXT, "what was talked about"),
    Column("effect", "效果", Kind.TEXT, "effect"),
    Column("follow_up", "後續", Kind.TEXT, "follow-up"),
)  # fmt: skip
"""The talk record template (談心記錄)."""

HOME_VISIT_COLUMNS: tuple[Column, ...] = (
    Column("date", "日期", Kind.DATE, "date of the visit", required=True),
    Column("visitor", "家訪人", Kind.TEXT, "who visited (staff id or name)", required=True),
    Column("child", "兒童", Kind.TEXT, "the child (兒童編號)", required=True),
    Column("guardian_met", "見到的監護人", Kind.TEXT, "the guardian met"),
    Column("living", "生活狀況", Kind.TEXT, "living conditions"),
    Column("behaviour", "在家表現", Kind.TEXT, "behaviour at home"),
    Column("needs", "發現的需求", Kind.TEXT, "needs found"),
    Column("feedback", "監護人反饋", Kind.TEXT, "the guardian's feedback"),
    Column("measures", "措施", Kind.TEXT, "measures taken"),
    Column("next_visit", "下次家訪", Kind.DATE, "date of the next visit"),
)  # fmt: skip
"""The home-visit record template (家訪記錄)."""
