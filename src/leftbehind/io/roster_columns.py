"""The roster template's columns as data (花名册栏目), and the record templates' columns.

Each :class:`Column` has a stable English key, a kind, its choices (each a :class:`Choice` with a
stable English key), whether a row must fill it, the paths of the child document it feeds (to
name the column of a problem the checks find), and a getter from a
:class:`~leftbehind.domain.model.Child` for export. How rows become child documents (the
setters) lives in :mod:`leftbehind.io.roster_import`.

The vocabulary is fixed and mapped once. A column's header and a choice's label are looked up
in the ``roster`` catalogs (the choices that are labels of the domain — 性别, 身体情况, 离校原因,
父母状态, 方式 — in the domain's own), so a template speaks the language of the moment: Simplified
or Traditional Chinese, or English, whose headers and choices are the stable keys themselves
(``resident_id``, ``male``, ``away``). A file is read in any of the three, mixed as it likes,
and in the other spellings clerks write (:data:`HEADER_VARIANTS`, :data:`CHOICE_VARIANTS`: 身份证号,
公民身份证号码, 男性, √ …), each in both scripts (generated with OpenCC when written, and
committed: nothing converts text at run time). Names, addresses and free text are data and are
never converted.

>>> from leftbehind.domain.i18n import use
>>> sex = COLUMNS_BY_KEY["sex"]
>>> sex.header, [c.label for c in sex.choices]
('性别', ['男', '女'])
>>> with use("zh_TW"):
...     sex.header
'性別'
>>> with use("en"):
...     sex.header, [c.label for c in sex.choices]
('sex', ['male', 'female'])
>>> header_table(ROSTER_COLUMNS)[header_form("身份证号")].key
'resident_id'
>>> choice_table(COLUMNS_BY_KEY["father_status"])[header_form("外出務工")]
'away'
"""

from __future__ import annotations

import enum
import unicodedata
from collections.abc import Callable, Collection, Iterator, Mapping
from datetime import date, timedelta
from functools import cache

from attrs import frozen

from leftbehind.domain.dates import school_year_of
from leftbehind.domain.i18n import LANGUAGES, language, text, use
from leftbehind.domain.model import (
    Absence,
    Child,
    Enrolment,
    Guardianship,
    Health,
    LeaveReason,
    Parent,
    Sex,
)

__all__ = [
    "CHOICE_VARIANTS",
    "COLUMNS_BY_KEY",
    "HEADER_VARIANTS",
    "HOME_VISIT_COLUMNS",
    "IGNORED_HEADERS",
    "IMPORT_COLUMNS",
    "PARENT_STATUSES",
    "RECORD_ID",
    "ROSTER_COLUMNS",
    "ROSTER_READ_COLUMNS",
    "TALK_COLUMNS",
    "TEMPLATE_COLUMNS",
    "CellValue",
    "Choice",
    "Column",
    "ExportContext",
    "Kind",
    "choice_table",
    "current_enrolment",
    "grade_reference",
    "has_key_row",
    "header_form",
    "header_table",
    "latest_absence",
    "parent_status",
    "sheet_name",
    "sheet_names",
]

CellValue = str | int | date | None


class Kind(enum.Enum):
    """How a cell is read and written."""

    TEXT = "text"
    CHILD_ID = "child_id"
    KEY = "key"
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


def header_form(value: str) -> str:
    """The form a header or a choice is matched in: NFKC (full-width letters and digits as
    ordinary ones), without spaces, underscores, ``*`` marks and a trailing colon, case-folded
    (``" 性  别* "`` → ``性别``, ``Resident_ID`` → ``residentid``)."""
    folded = unicodedata.normalize("NFKC", value).casefold()
    return "".join(c for c in folded if not c.isspace() and c not in "_*").rstrip(":")


def sheet_name(kind: str) -> str:
    """The sheet's name in the language of the moment (``roster``: 花名册, 花名冊, ``roster``;
    every template's, see :mod:`leftbehind.io.sheet_columns`; ``instructions``: 说明)."""
    return text(f"roster.sheet.{kind}")


def sheet_names(kind: str) -> frozenset[str]:
    """The sheet's name in every language, in :func:`header_form`."""
    return frozenset(header_form(_in(lang, sheet_name, kind)) for lang in LANGUAGES)


def has_key_row(lang: str | None = None) -> bool:
    """Whether a template written in ``lang`` (default: the language of the moment) has the
    English keys in row 2 under its headers: the Chinese ones do; an English template's
    headers are the keys, so its data start in row 2."""
    return (lang or language()) != "en"


def _in(lang: str, get: Callable[..., str], *args: object) -> str:
    with use(lang):
        return get(*args)


@frozen
class Choice:
    """One choice of a column: its stable English ``key`` (``male``, ``away``), the catalog key
    of its label (``sex.male``, ``state.away``), and other spellings a file may use."""

    key: str
    label_key: str
    variants: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """The choice as a template written now says it: its label in Chinese, its key in
        English."""
        return self.key if language() == "en" else text(self.label_key)

    def forms(self) -> Iterator[str]:
        """Every way a file may write it: the key, the label in every language, the variants."""
        yield self.key
        for lang in LANGUAGES:
            yield _in(lang, text, self.label_key)
        yield from self.variants


@frozen
class Column:
    """One column: ``key`` (English, stable), ``kind``, ``choices``, ``required``.

    ``header`` and ``meaning`` are in the language of the moment; ``template`` names the
    template the column belongs to (``roster``, ``talk``, ``home_visit``); ``variants`` are
    other headers a file may use for it; ``months`` says a date of the column may be given as a
    month only (出生日期, 外出开始日期: see :mod:`leftbehind.io.roster_read`). ``paths`` are the
    child-document paths the column feeds, indices written ``[]``
    (``father.absences[].start``); ``get`` gives the cell for a child on export (a choice's key
    for a choice column).
    """

    key: str
    kind: Kind
    choices: tuple[Choice, ...] = ()
    required: bool = False
    paths: tuple[str, ...] = ()
    get: Getter = _none
    template: str = "roster"
    variants: tuple[str, ...] = ()
    months: bool = False

    @property
    def header_key(self) -> str:
        """The catalog key of the header (``roster.col.sex``)."""
        return f"{_PREFIX[self.template]}.{self.key}"

    @property
    def header(self) -> str:
        """The header in the language of the moment (性别, 性別, ``sex``)."""
        return text(self.header_key)

    @property
    def meaning(self) -> str:
        """What the column holds, in the language of the moment."""
        return text(f"{self.header_key}.meaning")

    def headers(self) -> Iterator[str]:
        """Every header a file may use for the column: the key, the header in every language,
        the variants."""
        yield self.key
        for lang in LANGUAGES:
            yield _in(lang, text, self.header_key)
        yield from self.variants

    def choice(self, key: str) -> Choice:
        """The choice of ``key``."""
        return next(c for c in self.choices if c.key == key)

    def label(self, key: str) -> str:
        """The choice of ``key`` as a template written now says it."""
        return self.choice(key).label


#: The catalog prefix of each template's headers (the other sheets' in
#: :mod:`leftbehind.io.sheet_columns`: ``school``, ``staff``, ``assign``, ``group``, ``record``).
_PREFIX = {
    "roster": "roster.col",
    "talk": "roster.talk",
    "home_visit": "roster.visit",
    "school": "roster.school",
    "staff": "roster.staff",
    "assign": "roster.assign",
    "group": "roster.group",
    "record": "roster.record",
}


# ---------------------------------------------------------------------------------------------
# What a row carries of a child: the current enrolment, each parent's status and latest spell.

#: Parent statuses (状态) by key, in the order of the template's list.
PARENT_STATUSES = ("home", "away", "deceased", "missing", "divorced_out", "unknown")
HOME, AWAY, DECEASED, MISSING, DIVORCED, UNKNOWN = PARENT_STATUSES


def current_enrolment(child: Child) -> Enrolment | None:
    """The enrolment a row carries: the one that started last."""
    return max(child.enrolments, key=lambda e: e.start, default=None)


def grade_reference(start: date, end: date | None, today: date) -> date:
    """The day whose grade 年级 states: today, or the last day at school when the pupil left."""
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
    """The key of the one status a row shows: ``unknown`` (不详), ``deceased`` (去世),
    ``missing`` (失踪), ``divorced_out`` (离异不在户) first, in that order, then ``away``
    (外出务工) when a spell covers ``today``, else ``home`` (在家)."""
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
        return e.end_reason.value if e.end_reason is not None else None

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
            return "no" if p.no_capacity_since is not None else "yes"
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
    return child.sex.value


def _hukou(child: Child, ctx: ExportContext) -> CellValue:
    return "rural" if child.rural_hukou else "town"


def _yes_no(value: bool) -> str:
    return "yes" if value else "no"


def _boarding(child: Child, ctx: ExportContext) -> CellValue:
    return _yes_no(child.boarding)


def _health(child: Child, ctx: ExportContext) -> CellValue:
    return child.health.value if child.health is not None else None


def _guardianship(child: Child, ctx: ExportContext) -> CellValue:
    return child.guardianship.value if child.guardianship is not None else None


def _abandoned(child: Child, ctx: ExportContext) -> CellValue:
    return _yes_no(child.abandoned_on is not None)


# ---------------------------------------------------------------------------------------------
# Other spellings clerks write. Each was written in Simplified Chinese and its Traditional
# form generated with OpenCC (s2tw), then reviewed; a form equal in both scripts is listed once.

#: Other headers of the roster's columns (both scripts), besides the template's own.
HEADER_VARIANTS: Mapping[str, tuple[str, ...]] = {
    "id": ("编号", "編號", "学生编号", "學生編號"),
    "name": ("儿童姓名", "兒童姓名", "学生姓名", "學生姓名"),
    "birth_date": ("出生年月日", "生日", "出生年月"),
    "resident_id": ("身份证号", "身份證號", "身份证号码", "身份證號碼", "公民身份证号",
                    "公民身份證號", "身份证", "身份證"),
    "school": ("学校名称", "學校名稱", "就读学校", "就讀學校", "所在学校", "所在學校"),
    "grade": ("就读年级", "就讀年級", "所在年级", "所在年級"),
    "class_name": ("所在班级", "所在班級"),
    "enrolled_since": ("入学时间", "入學時間"),
    "left_on": ("离校时间", "離校時間"),
    "hukou": ("户籍", "戶籍", "户籍类型", "戶籍類型", "户籍性质", "戶籍性質", "户口类型",
              "戶口類型", "户口性质", "戶口性質"),
    "village": ("居住地", "所在村"),
    "address": ("家庭住址", "家庭地址", "住址", "详细地址", "詳細地址"),
    "boarding": ("寄宿", "是否住校"),
    "health": ("健康状况", "健康狀況", "身体状况", "身體狀況"),
    "personality": ("性格",),
    "hobbies": ("爱好", "愛好"),
    "guardian_name": ("监护人姓名", "監護人姓名", "委托监护人", "委託監護人"),
    "guardian_relation": ("与儿童的关系", "與兒童的關係", "监护人与儿童关系", "監護人與兒童關係",
                          "委托监护人与儿童关系", "委託監護人與兒童關係"),
    "guardian_phone": ("监护人电话", "監護人電話", "委托监护人联系电话", "委託監護人聯繫電話",
                       "监护人联系电话", "監護人聯繫電話"),
    "guardian_address": ("监护人住址", "監護人住址", "委托监护人地址", "委託監護人地址",
                         "委托监护人家庭住址", "委託監護人家庭住址"),
    "guardianship": ("监护状况", "監護狀況"),
    "left_behind_type": ("留守儿童类型", "留守兒童類型", "留守情况", "留守情況"),
}  # fmt: skip

#: Other headers of each parent's columns, after the parent (父亲电话, 母親手機 …), each as a
#: Simplified and a Traditional form.
_PARENT_VARIANTS: Mapping[str, tuple[tuple[str, str], ...]] = {
    "away_since": (("外出时间", "外出時間"), ("外出务工时间", "外出務工時間"),
                   ("外出年月", "外出年月")),
    "back_on": (("返回时间", "返回時間"),),
    "work_place": (("外出务工地点", "外出務工地點"), ("务工地址", "務工地址"),
                   ("务工地", "務工地")),
    "phone": (("电话", "電話"), ("手机", "手機"), ("手机号码", "手機號碼"),
              ("联系方式", "聯繫方式")),
    "work_province": (("务工省份", "務工省份"), ("务工省", "務工省")),
    "work_city": (("务工城市", "務工城市"), ("务工市", "務工市")),
}  # fmt: skip

#: Other spellings of choices (both scripts), by the column's choice key (``boarding.yes``
#: for one column's own, ``yes`` for every yes/no column).
CHOICE_VARIANTS: Mapping[str, tuple[str, ...]] = {
    "male": ("男性", "m"),
    "female": ("女性", "f"),
    "yes": ("√", "✓", "y", "true"),
    "no": ("×", "✗", "n", "false"),
    "boarding.yes": ("寄宿", "住校"),
    "boarding.no": ("走读", "走讀"),
    "rural": ("农业", "農業", "农业户口", "農業戶口", "农村户口", "農村戶口"),
    "town": ("城市", "非农业", "非農業", "非农业户口", "非農業戶口", "城镇户口", "城鎮戶口"),
    "healthy": ("良好", "正常"),
    "disabled": ("残疾人", "殘疾人"),
    "ill": ("疾病",),
    "away": ("外出", "外出打工", "务工", "務工", "打工"),
    "deceased": ("死亡", "已故", "病故"),
    "divorced_out": ("离异", "離異", "离婚", "離婚"),
    "unknown": ("未知",),
    "capacity.yes": ("有监护能力", "有監護能力"),
    "capacity.no": ("无监护能力", "無監護能力"),
    "transferred": ("转出", "轉出"),
    "other": ("其它",),
    "in_person": ("面对面", "面對面", "当面", "當面"),
    "good": ("好", "良好"),
    "poor": ("较差", "較差"),
    "both_away": (
        "父母双方外出",
        "父母雙方外出",
        "父母双方外出务工",
        "父母雙方外出務工",
        "父母均外出务工",
        "父母均外出務工",
        "双亲外出",
        "雙親外出",
        "父母都外出",
    ),
    "father_away": ("父亲外出务工", "父親外出務工", "仅父亲外出", "僅父親外出"),
    "mother_away": ("母亲外出务工", "母親外出務工", "仅母亲外出", "僅母親外出"),
    "one_away_other_incapable": (
        "父母一方外出另一方无监护能力",
        "父母一方外出另一方無監護能力",
        "一方外出务工另一方无监护能力",
        "一方外出務工另一方無監護能力",
    ),
    "video": ("视频通话", "視頻通話"),
}


def _choice(key: str, label_key: str, own: str = "") -> Choice:
    variants = CHOICE_VARIANTS.get(key, ()) + CHOICE_VARIANTS.get(f"{own}.{key}", ())
    return Choice(key, label_key, variants)


def _yes_no_choices(own: str = "") -> tuple[Choice, ...]:
    return (
        _choice("yes", "roster.choice.yes", own),
        _choice("no", "roster.choice.no", own),
    )


_SEX = tuple(_choice(s.value, f"sex.{s.value}") for s in Sex)
_HEALTH = tuple(_choice(h.value, f"health.{h.value}") for h in Health)
_LEAVE = tuple(_choice(r.value, f"leave.{r.value}") for r in LeaveReason)
_STATUSES = tuple(_choice(s, f"state.{s}") for s in PARENT_STATUSES)
_HUKOU = (_choice("rural", "roster.choice.rural"), _choice("town", "roster.choice.town"))
_CAPACITY = (
    _choice("yes", "roster.choice.capable", "capacity"),
    _choice("no", "roster.choice.incapable", "capacity"),
)
_METHODS = tuple(_choice(m, f"method.{m}") for m in ("in_person", "phone", "video"))
_GUARDIANSHIP = tuple(_choice(g.value, f"guardianship.{g.value}") for g in Guardianship)
#: 留守类型 of the national registration form (an import reads it to tell the parents' status).
LEFT_BEHIND_TYPES = ("both_away", "father_away", "mother_away", "one_away_other_incapable")
_LEFT_BEHIND = tuple(_choice(t, f"roster.choice.{t}") for t in LEFT_BEHIND_TYPES)


# ---------------------------------------------------------------------------------------------
# The columns.


def _parent_variants(role: str, part: str) -> tuple[str, ...]:
    simplified, traditional = (_in(lang, text, f"parent.{role}") for lang in ("zh_CN", "zh_TW"))
    return tuple(
        header
        for s, t in _PARENT_VARIANTS.get(part, ())
        for header in (simplified + s, traditional + t)
    )


def _parent_columns(role: str) -> list[Column]:
    p = role

    def column(
        part: str,
        kind: Kind,
        *,
        choices: tuple[Choice, ...] = (),
        paths: tuple[str, ...] = (),
        months: bool = False,
    ) -> Column:
        return Column(
            f"{p}_{part}",
            kind,
            choices,
            paths=paths,
            get=_parent(p, part),
            variants=_parent_variants(p, part),
            months=months,
        )

    return [
        column("name", Kind.TEXT, paths=(f"{p}.name",)),
        column("status", Kind.CHOICE, choices=_STATUSES, paths=(f"{p}.known",)),
        column("status_since", Kind.DATE,
               paths=(f"{p}.deceased_on", f"{p}.missing_since", f"{p}.divorced_out_on")),
        column("away_since", Kind.DATE,
               paths=(f"{p}.absences[].start", f"{p}.absences[]", f"{p}.absences"), months=True),
        column("back_on", Kind.DATE, paths=(f"{p}.absences[].end",)),
        column("work_place", Kind.TEXT, paths=(f"{p}.absences[].place",)),
        column("phone", Kind.PHONE, paths=(f"{p}.phone",)),
        column("capacity", Kind.CHOICE, choices=_CAPACITY),
        column("no_capacity_since", Kind.DATE, paths=(f"{p}.no_capacity_since",)),
    ]  # fmt: skip


def _col(
    key: str,
    kind: Kind,
    *,
    choices: tuple[Choice, ...] = (),
    required: bool = False,
    paths: tuple[str, ...] = (),
    get: Getter = _none,
    months: bool = False,
) -> Column:
    return Column(key, kind, choices, required, paths, get,
                  variants=HEADER_VARIANTS.get(key, ()), months=months)  # fmt: skip


ROSTER_COLUMNS: tuple[Column, ...] = (
    _col("id", Kind.CHILD_ID, paths=("id",), get=_field("id")),
    _col("name", Kind.TEXT, required=True, paths=("name",), get=_field("name")),
    _col("sex", Kind.CHOICE, choices=_SEX, required=True, paths=("sex",), get=_sex),
    _col("ethnicity", Kind.TEXT, paths=("ethnicity",), get=_field("ethnicity")),
    _col("birth_date", Kind.DATE, required=True, paths=("birth_date",),
         get=_field("birth_date"), months=True),
    _col("resident_id", Kind.RESIDENT_ID, paths=("resident_id",), get=_field("resident_id")),
    _col("school", Kind.TEXT, required=True, paths=("enrolments[].school_id", "enrolments"),
         get=_enrolment("school")),
    _col("grade", Kind.INT, required=True, paths=("enrolments[].grade",),
         get=_enrolment("grade")),
    _col("class_name", Kind.TEXT, paths=("enrolments[].class_name",), get=_enrolment("class")),
    _col("enrolled_since", Kind.DATE, required=True, paths=("enrolments[].start", "enrolments[]"),
         get=_enrolment("start")),
    _col("left_on", Kind.DATE, paths=("enrolments[].end",), get=_enrolment("end")),
    _col("leave_reason", Kind.CHOICE, choices=_LEAVE, paths=("enrolments[].end_reason",),
         get=_enrolment("reason")),
    _col("hukou", Kind.CHOICE, choices=_HUKOU, required=True, paths=("rural_hukou",),
         get=_hukou),
    _col("village", Kind.TEXT, paths=("village",), get=_field("village")),
    _col("address", Kind.TEXT, paths=("address",), get=_field("address")),
    _col("boarding", Kind.BOOL, choices=_yes_no_choices("boarding"), paths=("boarding",),
         get=_boarding),
    _col("health", Kind.CHOICE, choices=_HEALTH, paths=("health",), get=_health),
    _col("health_note", Kind.TEXT, paths=("health_note",), get=_field("health_note")),
    _col("personality", Kind.TEXT, paths=("personality",), get=_field("personality")),
    _col("hobbies", Kind.TEXT, paths=("hobbies",), get=_field("hobbies")),
    *_parent_columns("father"),
    *_parent_columns("mother"),
    _col("guardian_name", Kind.TEXT, paths=("guardian.name", "guardian"),
         get=_guardian("name")),
    _col("guardian_relation", Kind.TEXT, paths=("guardian.relation",),
         get=_guardian("relation")),
    _col("guardian_phone", Kind.PHONE, paths=("guardian.phone",), get=_guardian("phone")),
    _col("guardian_address", Kind.TEXT, paths=("guardian.address",),
         get=_guardian("address")),
    _col("abandoned", Kind.BOOL, choices=_yes_no_choices(), get=_abandoned),
    _col("abandoned_on", Kind.DATE, paths=("abandoned_on",), get=_field("abandoned_on")),
    _col("guardianship", Kind.CHOICE, choices=_GUARDIANSHIP, paths=("guardianship",),
         get=_guardianship),
)  # fmt: skip
"""The roster template (花名册), one row per child, in the order of the template."""


def _work(role: str, part: str) -> Column:
    return Column(f"{role}_work_{part}", Kind.TEXT,
                  variants=_parent_variants(role, f"work_{part}"))  # fmt: skip


IMPORT_COLUMNS: tuple[Column, ...] = (
    _col("left_behind_type", Kind.CHOICE, choices=_LEFT_BEHIND),
    _work("father", "province"),
    _work("father", "city"),
    _work("mother", "province"),
    _work("mother", "city"),
)  # fmt: skip
"""Columns an import reads that the template does not write: 留守类型 of the 2016 national
registration form (telling the parents' status where the file has no 状态 columns), and a
parent's 务工地点 given as province and city apart (joined into the work place)."""

ROSTER_READ_COLUMNS: tuple[Column, ...] = ROSTER_COLUMNS + IMPORT_COLUMNS
"""Every column a roster import reads: the template's and :data:`IMPORT_COLUMNS`."""

#: Headers an import passes over without a warning (in :func:`header_form`): 序号 numbers the
#: rows of a form and holds nothing of the child.
IGNORED_HEADERS = frozenset({"序号", "序號", "no", "no."})

COLUMNS_BY_KEY: Mapping[str, Column] = {c.key: c for c in ROSTER_READ_COLUMNS}


def _talk(
    key: str, kind: Kind, *, choices: tuple[Choice, ...] = (), required: bool = False
) -> Column:
    return Column(key, kind, choices, required, template="talk")  # fmt: skip


def _visit(key: str, kind: Kind, *, required: bool = False) -> Column:
    return Column(key, kind, required=required, template="home_visit")


#: A record's id (记录编号), last on every record sheet: blank for a new record (the import
#: makes one), or the id of a stored record to correct it.
RECORD_ID = Column("id", Kind.KEY, template="record", variants=("编号", "編號"))

TALK_COLUMNS: tuple[Column, ...] = (
    _talk("date", Kind.DATE, required=True),
    _talk("place", Kind.TEXT),
    _talk("teacher", Kind.TEXT, required=True),
    _talk("child", Kind.TEXT, required=True),
    _talk("method", Kind.CHOICE, choices=_METHODS, required=True),
    _talk("topic", Kind.TEXT),
    _talk("content", Kind.TEXT),
    _talk("effect", Kind.TEXT),
    _talk("follow_up", Kind.TEXT),
    RECORD_ID,
)
"""The talk record template (谈心记录)."""

HOME_VISIT_COLUMNS: tuple[Column, ...] = (
    _visit("date", Kind.DATE, required=True),
    _visit("visitor", Kind.TEXT, required=True),
    _visit("child", Kind.TEXT, required=True),
    _visit("guardian_met", Kind.TEXT),
    _visit("living", Kind.TEXT),
    _visit("behaviour", Kind.TEXT),
    _visit("needs", Kind.TEXT),
    _visit("feedback", Kind.TEXT),
    _visit("measures", Kind.TEXT),
    _visit("next_visit", Kind.DATE),
    RECORD_ID,
)
"""The home-visit record template (家访记录)."""

#: The templates by kind: the roster (花名册), talk records (谈心记录), home visits (家访记录).
TEMPLATE_COLUMNS: Mapping[str, tuple[Column, ...]] = {
    "roster": ROSTER_COLUMNS,
    "talk": TALK_COLUMNS,
    "home_visit": HOME_VISIT_COLUMNS,
}


# ---------------------------------------------------------------------------------------------
# The vocabulary, mapped once.


@cache
def header_table(columns: tuple[Column, ...]) -> Mapping[str, Column]:
    """Every header a file may use for one of ``columns`` (in :func:`header_form`) → its
    column. Raises :class:`ValueError` if a form would name two columns (a mistake in the
    vocabulary, which the tests rule out)."""
    table: dict[str, Column] = {}
    for column in columns:
        for header in column.headers():
            form = header_form(header)
            if table.setdefault(form, column).key != column.key:
                msg = f"{header!r} names both {table[form].key} and {column.key}"
                raise ValueError(msg)
    return table


@cache
def choice_table(column: Column) -> Mapping[str, str]:
    """Every way a file may write a choice of ``column`` (in :func:`header_form`) → the
    choice's key. Raises :class:`ValueError` if a form would name two choices."""
    table: dict[str, str] = {}
    for choice in column.choices:
        for written in choice.forms():
            form = header_form(written)
            if table.setdefault(form, choice.key) != choice.key:
                msg = f"{written!r} names both {table[form]} and {choice.key} of {column.key}"
                raise ValueError(msg)
    return table


#: Required roster columns a file may lack, and what stands in for them: 出生日期 is read from
#: the resident ID, 入学日期 assumed (see :mod:`leftbehind.io.roster_import`).
_STANDS_IN = {"birth_date": "resident_id", "enrolled_since": ""}


def derived_column(key: str, found: Collection[str]) -> bool:
    """Whether a required roster column ``key`` may be missing from a file whose columns are
    ``found`` (keys): 出生日期 when the file has the resident ID, 入学日期 always."""
    if key not in _STANDS_IN:
        return False
    other = _STANDS_IN[key]
    return not other or other in found
