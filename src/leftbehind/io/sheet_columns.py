"""Every sheet a county keeps (各类名册与记录), as columns, and how a file's kind is recognised.

Besides the roster (花名册, :mod:`leftbehind.io.roster_columns`), a county keeps:

======================  ==================  =====================================================
kind                    sheet               one row is
======================  ==================  =====================================================
``schools``             学校名册            a school (:class:`~leftbehind.domain.model.School`)
``staff``               教职工名册          a person (:class:`~leftbehind.domain.people.Staff`)
``assignments``         分工名册            a role towards a child: 班主任, 代管家长, 结对帮扶 …
``groups``              学习小组            a village study group and its members
``talk``                谈心记录            a heart-to-heart talk (``TALK``)
``home_visit``          家访记录            a home visit (``HOME_VISIT``)
``family_contact``      书信电话记录        a letter or call to the parents (``FAMILY_CONTACT``)
``parent_report``       家长报告记录        a report to the parents (``PARENT_REPORT``)
``study_plan``          学习帮扶计划        a signed study-help plan (``STUDY_PLAN``)
``safety_education``    安全教育记录        safety and legal education (``SAFETY_EDUCATION``)
``parent_lecture``      家长学校记录        a parent-school lecture attended (``PARENT_LECTURE``)
``festival``            节日陪伴记录        a festival spent with the child (``FESTIVAL``)
======================  ==================  =====================================================

Each sheet's headers and choices are looked up in the ``roster`` catalogs like the roster's,
so a template speaks the language of the moment and a file is read in any of the three.
:func:`recognise` tells a file's kind from its header row: the kind whose columns the headers
name most, all its required columns present.

>>> from leftbehind.io.roster_columns import header_form
>>> recognise(["学校编号", "学校名称", "所属乡镇", "学段"])
('schools', ())
>>> recognise(["日期", "教师", "儿童", "方式", "节日"])[0]
'festival'
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from leftbehind.domain.duties import Method
from leftbehind.domain.people import Role
from leftbehind.io.roster_columns import (
    CHOICE_VARIANTS,
    HOME_VISIT_COLUMNS,
    RECORD_ID,
    ROSTER_COLUMNS,
    TALK_COLUMNS,
    Choice,
    Column,
    Kind,
    header_form,
    header_table,
)

__all__ = [
    "ASSIGNMENT_COLUMNS",
    "GROUP_COLUMNS",
    "ORDER",
    "RECORD_KINDS",
    "SCHOOL_COLUMNS",
    "SHEET_COLUMNS",
    "STAFF_COLUMNS",
    "STAGE_CHOICES",
    "recognise",
]


def _c(
    template: str,
    key: str,
    kind: Kind,
    *,
    required: bool = False,
    choices: tuple[Choice, ...] = (),
    variants: tuple[str, ...] = (),
) -> Column:
    return Column(key, kind, choices, required, template=template, variants=variants)


def _choice(key: str, label_key: str, *variants: str) -> Choice:
    return Choice(key, label_key, (*CHOICE_VARIANTS.get(key, ()), *variants))


_RURAL = (
    _choice("yes", "roster.choice.yes", "农村", "農村", "乡村", "鄉村"),
    _choice("no", "roster.choice.no", "城镇", "城鎮", "城区", "城區", "县城", "縣城"),
)

#: The stages a school's 学段 cell may name, several separated by 、 , ; or spaces.
STAGE_CHOICES: tuple[Choice, ...] = (
    _choice("primary", "stage.primary", "小学部", "小學部"),
    _choice("junior", "stage.junior", "初级中学", "初級中學", "初中部"),
)

_ROLE_VARIANTS: Mapping[str, tuple[str, ...]] = {
    "class_teacher": ("班主任老师", "班主任老師"),
    "subject_teacher": ("科任教师", "科任教師", "任课老师", "任課老師"),
    "proxy_parent": ("代理家长", "代理家長"),
    "staff_pair": ("结对帮扶", "結對幫扶", "一对一帮扶", "一對一幫扶", "结对", "結對",
                   "帮扶教师", "幫扶教師"),
    "student_buddy": ("结伴", "結伴", "优秀学生结伴", "優秀學生結伴"),
    "volunteer": ("志愿者", "志願者"),
    "group_guide": ("辅导教师", "輔導教師", "小组辅导", "小組輔導"),
}  # fmt: skip
_ROLES = tuple(_choice(r.value, f"role.{r.value}", *_ROLE_VARIANTS[r.value]) for r in Role)
_METHODS = tuple(_choice(m.value, f"method.{m.value}") for m in Method)

SCHOOL_COLUMNS: tuple[Column, ...] = (
    _c("school", "id", Kind.KEY, required=True,
       variants=("编号", "編號", "学校代码", "學校代碼", "代码", "代碼")),
    _c("school", "name", Kind.TEXT, required=True,
       variants=("学校", "學校", "名称", "名稱", "学校名", "學校名")),
    _c("school", "township", Kind.TEXT, required=True,
       variants=("乡镇", "鄉鎮", "乡", "鄉", "镇", "鎮")),
    _c("school", "rural", Kind.BOOL, choices=_RURAL,
       variants=("农村学校", "農村學校", "城乡", "城鄉", "是否农村", "是否農村")),
    _c("school", "stages", Kind.TEXT, variants=("学段设置", "學段設置", "办学层次", "辦學層次")),
)  # fmt: skip
"""The school roster (学校名册)."""

STAFF_COLUMNS: tuple[Column, ...] = (
    _c("staff", "id", Kind.KEY, required=True,
       variants=("编号", "編號", "教师编号", "教師編號", "工号", "工號")),
    _c("staff", "name", Kind.TEXT, required=True,
       variants=("教师姓名", "教師姓名", "教职工姓名", "教職工姓名")),
    _c("staff", "school", Kind.TEXT, required=True,
       variants=("学校名称", "學校名稱", "所在学校", "所在學校", "学校编号", "學校編號")),
    _c("staff", "title", Kind.TEXT, variants=("roles", "角色", "职称", "職稱", "岗位", "崗位")),
    _c("staff", "phone", Kind.PHONE,
       variants=("电话", "電話", "手机", "手機", "手机号码", "手機號碼")),
)  # fmt: skip
"""The staff roster (教职工名册): 职务 is free text (班主任, 校长 …)."""

ASSIGNMENT_COLUMNS: tuple[Column, ...] = (
    _c("assign", "staff", Kind.TEXT, required=True,
       variants=("教师", "教師", "教职工编号", "教職工編號", "教师编号", "教師編號",
                 "教师姓名", "教師姓名", "负责人", "負責人")),
    _c("assign", "child", Kind.TEXT, required=True,
       variants=("儿童编号", "兒童編號", "儿童姓名", "兒童姓名", "学生姓名", "學生姓名",
                 "学生", "學生")),
    _c("assign", "role", Kind.CHOICE, required=True, choices=_ROLES,
       variants=("角色", "职责", "職責", "分工类型", "分工類型")),
    _c("assign", "subject", Kind.TEXT, variants=("学科", "學科", "科目")),
    _c("assign", "start", Kind.DATE, required=True,
       variants=("开始时间", "開始時間", "起始日期")),
    _c("assign", "end", Kind.DATE, variants=("结束时间", "結束時間", "终止日期", "終止日期")),
    _c("assign", "id", Kind.KEY, variants=("编号", "編號")),
)  # fmt: skip
"""Assignments (分工名册): who holds which role towards which child, from when until when."""

GROUP_COLUMNS: tuple[Column, ...] = (
    _c("group", "id", Kind.KEY, required=True, variants=("编号", "編號", "小组", "小組")),
    _c("group", "school", Kind.TEXT, required=True,
       variants=("学校名称", "學校名稱", "学校编号", "學校編號")),
    _c("group", "village", Kind.TEXT, required=True, variants=("村", "村庄", "村莊", "所在村")),
    _c("group", "guide", Kind.TEXT, required=True,
       variants=("辅导老师", "輔導老師", "指导教师", "指導教師", "guides")),
    _c("group", "members", Kind.TEXT, required=True,
       variants=("成员", "成員", "学生", "學生", "儿童", "兒童")),
    _c("group", "start", Kind.DATE, required=True, variants=("成立时间", "成立時間")),
    _c("group", "end", Kind.DATE, variants=("解散日期",)),
)  # fmt: skip
"""Village study groups (学习小组): members are children, several in one cell."""


def _r(key: str, kind: Kind = Kind.TEXT, *, required: bool = False,
       choices: tuple[Choice, ...] = (), variants: tuple[str, ...] = ()) -> Column:  # fmt: skip
    return _c("record", key, kind, required=required, choices=choices, variants=variants)


_ID = RECORD_ID
_DATE = _r("date", Kind.DATE, required=True, variants=("时间", "時間"))
_TEACHER = _r("teacher", required=True,
              variants=("教师姓名", "教師姓名", "教师编号", "教師編號", "老师",
                        "老師"))  # fmt: skip
_CHILD = _r("child", required=True,
            variants=("儿童姓名", "兒童姓名", "学生姓名", "學生姓名", "学生", "學生",
                      "儿童编号", "兒童編號"))  # fmt: skip
_METHOD = _r("method", Kind.CHOICE, choices=_METHODS, variants=("形式",))
_PLACE = _r("place")
_CONTENT = _r("content")
_EFFECT = _r("effect")
_FOLLOW = _r("follow_up", variants=("跟进", "跟進", "后续", "後續"))


def _record(topic: Column, *, method: bool = True) -> tuple[Column, ...]:
    parts = (_DATE, _TEACHER, _CHILD, *((_METHOD,) if method else ()), _PLACE, topic)
    return (*parts, _CONTENT, _EFFECT, _FOLLOW, _ID)


#: The record sheets: kind → (the duty kind's code, the columns).
RECORD_KINDS: Mapping[str, tuple[str, tuple[Column, ...]]] = {
    "talk": ("TALK", TALK_COLUMNS),
    "home_visit": ("HOME_VISIT", HOME_VISIT_COLUMNS),
    "family_contact": ("FAMILY_CONTACT", _record(
        _r("contact_topic", required=True, variants=("沟通内容", "溝通內容")))),
    "parent_report": ("PARENT_REPORT", _record(_r("report_topic", required=True))),
    "study_plan": ("STUDY_PLAN", (
        _DATE, _TEACHER, _CHILD,
        _r("plan_time", required=True, variants=("帮扶时段", "幫扶時段")),
        _r("plan_content", required=True),
        _r("plan", required=True, variants=("帮扶措施", "幫扶措施")),
        _ID,
    )),
    "safety_education": ("SAFETY_EDUCATION", _record(_r("safety_topic", required=True))),
    "parent_lecture": ("PARENT_LECTURE",
                       _record(_r("lecture_topic", required=True), method=False)),
    "festival": ("FESTIVAL", _record(
        _r("festival", required=True, variants=("节日名称", "節日名稱")))),
}  # fmt: skip

#: Every sheet's columns by kind, in the order an import applies them: what a row refers to
#: comes in before the row (schools → staff → children → assignments → groups → records).
SHEET_COLUMNS: Mapping[str, tuple[Column, ...]] = {
    "schools": SCHOOL_COLUMNS,
    "staff": STAFF_COLUMNS,
    "roster": ROSTER_COLUMNS,
    "assignments": ASSIGNMENT_COLUMNS,
    "groups": GROUP_COLUMNS,
    **{kind: columns for kind, (_, columns) in RECORD_KINDS.items()},
}

#: The kinds in the order an import applies them.
ORDER: tuple[str, ...] = tuple(SHEET_COLUMNS)


def recognise(
    header: Iterable[object], hints: Sequence[str] = ()
) -> tuple[str | None, tuple[str, ...]]:
    """The kind of a sheet from its header row: the kind whose columns the headers name most
    (each of its required columns present). Returns ``(kind, ())``, or ``(None, candidates)``
    when no kind fits (no candidate) or several fit equally (those), which ``hints`` (the
    sheet's and the file's names, in :func:`~leftbehind.io.roster_columns.header_form`) may
    settle: a kind whose sheet is so named wins a tie."""
    from leftbehind.io.roster_columns import derived_column, sheet_names

    forms = [header_form(str(h)) for h in header if h is not None and str(h).strip()]
    scores: dict[str, int] = {}
    for kind, columns in SHEET_COLUMNS.items():
        table = header_table(columns)
        found = {table[f].key for f in forms if f in table}
        stands_in = kind == "roster" and {"name", "school"} <= found
        if all(c.key in found or (stands_in and derived_column(c.key, found))
               for c in columns if c.required):  # fmt: skip
            scores[kind] = len(found)
    if not scores:
        return None, ()
    best = max(scores.values())
    tied = tuple(k for k, n in scores.items() if n == best)
    if len(tied) == 1:
        return tied[0], ()
    named = tuple(k for k in tied if any(h in sheet_names(k) for h in hints))
    if len(named) == 1:
        return named[0], ()
    return None, tied
