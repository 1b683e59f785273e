"""The three ledgers as forms a bureau prints: 信息汇总表 (the county), 动态状况表 (each school)
and 联络信息表 (each teacher), with the candidates for commendation.

Every text is said in the language of the moment (the ``forms`` catalogs for the forms' own
words, the domain's labels through ``.label``); keys stay English. Each builder gives a
:class:`~leftbehind.io.sheets.Sheet` or :class:`~leftbehind.io.sheets.Form` that the terminal,
CSV and XLSX writers of :mod:`leftbehind.io.render` share.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, timedelta
from typing import Any

import attrs

from leftbehind.domain.dates import Interval
from leftbehind.domain.duties import DEFAULT_KINDS
from leftbehind.domain.eligibility import Category
from leftbehind.domain.i18n import text
from leftbehind.domain.ledger import (
    CountyTable,
    LedgerFacts,
    MoveReason,
    OverdueChild,
    RowKey,
    SchoolTable,
    Stamp,
    Standing,
    TeacherRow,
    TeacherTable,
    school_tables,
)
from leftbehind.domain.ledger_facts import no_duties
from leftbehind.domain.model import ParentRole, Sex, Stage
from leftbehind.domain.people import Role
from leftbehind.domain.profile import ProfileArea
from leftbehind.io.sheets import Column, Form, Kind, Sheet

__all__ = [
    "COUNTY_KINDS",
    "ENTERED_REASONS",
    "LEFT_REASONS",
    "GradeCounts",
    "county_sheet",
    "describe",
    "grade_counts",
    "kind_label",
    "page_footer",
    "school_form",
    "school_sheets",
    "signature_line",
    "standings_sheet",
    "teacher_form",
    "teacher_sheet",
]

#: The duty kinds whose completion rates the county table shows (SPEC §6).
COUNTY_KINDS = ("talk", "family_contact", "parent_report", "home_visit")

#: The reasons a child enters a school's served children, and leaves them, in the order of the
#: school form's columns (a reason not listed here that a table holds is shown after them).
ENTERED_REASONS: tuple[MoveReason, ...] = (
    MoveReason.ENROLLED,
    MoveReason.TRANSFERRED_IN,
    MoveReason.PARENT_LEFT,
    MoveReason.FAMILY_CHANGE,
    MoveReason.POLICY,
    MoveReason.OTHER,
)
LEFT_REASONS: tuple[MoveReason, ...] = (
    MoveReason.PARENT_RETURNED,
    MoveReason.GRADUATED,
    MoveReason.TRANSFERRED,
    MoveReason.DROPPED_OUT,
    MoveReason.LEFT_SCHOOL,
    MoveReason.POLICY,
    MoveReason.OTHER,
)

_KIND_ORDER = {k.code.lower(): i for i, k in enumerate(DEFAULT_KINDS)}
_KINDS = {k.code.lower(): k for k in DEFAULT_KINDS}

#: Per school id, per grade on the day, the counts of the pupils in that grade.
GradeCounts = Mapping[str, Mapping[int, Mapping[str, int]]]


def kind_label(code: str) -> str:
    """The short name of a duty kind on a form (谈心, 书信电话 …), by its code in any case; a
    county's own kind shows its code."""
    key = f"kind.{code.upper()}"
    found = text(key)
    return code if found == key else found


def _kind_name(code: str) -> str:
    """The full name of a duty kind (its ``label``), its code for a county's own kind."""
    kind = _KINDS.get(code.lower())
    return kind.label if kind is not None else code


def _kind_order(code: str) -> tuple[int, str]:
    return _KIND_ORDER.get(code.lower(), len(_KIND_ORDER)), code.lower()


def _category_sub(c: Category) -> str:
    """Under 关爱对象 a left-behind category is said short (双亲外出); the others as labelled."""
    key = f"short.{c.value}"
    found = text(key)
    return c.label if found == key else found


def _unit(name: str, code: str) -> str:
    return text("info.unit_code", name=name, code=code) if code else name


def describe(stamp: Stamp | None, units: Mapping[str, str] | None = None, *lead: str) -> str:
    """The line under a form's title: ``lead`` (the school, the staff member), 填报单位 (each
    county with its administrative code), 统计时点 (the day), 统计期 (the period, both ends
    included) and 口径 (the policies), in the language of the moment."""
    parts = [p for p in lead if p]
    if units:
        names = text("list.and").join(_unit(n, c) for n, c in units.items())
        parts.append(text("info.unit", unit=names))
    if stamp is not None:
        parts.append(text("info.as_of", day=stamp.as_of.isoformat()))
        end = stamp.period.end
        last = (end - timedelta(days=1)) if end is not None else stamp.as_of
        start = stamp.period.start.isoformat()
        parts.append(text("info.period", start=start, end=last.isoformat()))
        if stamp.national:
            parts.append(text("info.policies", policy=stamp.policy, national=stamp.national))
        else:
            parts.append(text("info.policy", policy=stamp.policy))
    return text("info.separator").join(parts)


def signature_line() -> tuple[str, ...]:
    """The signature line under a form: 填表人、审核人、单位负责人、填报日期."""
    return tuple(text(k) for k in ("sign.preparer", "sign.checker", "sign.head", "sign.date"))


def page_footer() -> str:
    """The footer of a printed page: its number and the number of pages (第 &P 页 / 共 &N 页)."""
    return text("form.footer")


def _title(form: str, unit: str) -> str:
    return text(f"form.{form}.title", unit=unit) if unit else text(f"form.{form}.title_plain")


def _rate(cells: Mapping[str, int], num: str, den: str) -> float | None:
    d = cells.get(den, 0)
    return cells.get(num, 0) / d if d else None


def _sum(cells: Mapping[str, int], prefix: str) -> int:
    return sum(v for k, v in cells.items() if k.startswith(prefix))


# ---------------------------------------------------------------------------------------------
# The county table (信息汇总表).

_CountyRow = tuple[RowKey, str, Mapping[str, int]]


def _count_of(key: str, header: str, group: str = "", sub: str = "") -> Column:
    def get(r: _CountyRow) -> int:
        return r[2].get(key, 0)

    return Column(header, key, get, "count", group, sub)


def _rate_of(kind: str, group: str) -> Column:
    def get(r: _CountyRow) -> float | None:
        return _rate(r[2], f"done.{kind}", f"due.{kind}")

    short = kind_label(kind)
    brief = text("col.rate_brief", kind=short)
    return Column(text("col.rate", kind=short), f"rate.{kind}", get, "rate", group, short, brief)


def _status_columns(total: str) -> list[Column]:
    """在校学生, 关爱对象 (人数, 占比, the categories), 性别: the columns of who is served on the
    day, shared by the county form and the school form's grid. ``total`` is the sub-header of
    the served count under 关爱对象."""
    served = text("group.served")
    sex = text("group.sex")
    return [
        _count_of("enrolled", text("col.enrolled")),
        _count_of("served", text("col.served"), served, total),
        Column(
            text("col.share"),
            "share",
            lambda r: _rate(r[2], "served", "enrolled"),
            "rate",
            served,
        ),
        *(_count_of(f"category.{c.value}", c.label, served, _category_sub(c)) for c in Category),
        *(_count_of(f"sex.{s.value}", s.label, sex) for s in Sex),
    ]


def _county_place(several: bool) -> tuple[list[Column], Column]:
    """The label columns of the county form (县 when there are several, 乡镇, 学校) and the one
    label column of its terminal summary."""

    def county(r: _CountyRow) -> str:
        key = r[0]
        return key[0] if key else text("row.grand_total")

    def township(r: _CountyRow) -> str:
        key = r[0]
        if len(key) >= 2:
            return key[1]
        return text("row.total") if len(key) == 1 else ""

    def school(r: _CountyRow) -> str:
        key = r[0]
        if len(key) == 3:
            return r[1] or key[2]
        return text("row.subtotal") if len(key) == 2 else ""

    def brief(r: _CountyRow) -> str:
        key = r[0]
        if len(key) == 3:
            return r[1] or key[2]
        if len(key) == 2:
            return text("row.township_subtotal", township=key[1])
        if len(key) == 1:
            return text("row.county_total", county=key[0]) if several else text("row.total")
        return text("row.grand_total")

    labels = [
        Column(text("col.township"), "township", township),
        Column(text("col.school"), "school", school),
    ]
    if several:
        labels.insert(0, Column(text("col.county"), "county", county))
    return labels, Column(text("col.school"), "place", brief)


def _county_level(r: _CountyRow) -> int:
    return 3 - len(r[0])


def county_sheet(table: CountyTable) -> Sheet:
    """信息汇总表: a row per school, a 小计 after each township's schools, the county's 合计 and,
    when the table holds several counties, the 总计 of them all (a one-county table prints its
    total once). The stored table (its JSON) keeps every row and column."""
    counties = sorted({k[0] for k in table.rows if len(k) == 1})
    several = len(counties) > 1
    keys = [k for k in table.ordered() if k or several or not counties]
    labels, brief = _county_place(several)
    rates, dynamics = text("group.rates"), text("group.dynamics")
    carers = text("group.carers")
    columns = [
        *labels,
        *_status_columns(text("col.count")),
        *(_count_of(f"stage.{s.value}", s.label, text("group.stage")) for s in Stage),
        _count_of("boarding.yes", text("col.boarding")),
        *(
            _count_of(f"staff.{r.value}", text("col.staff", role=r.label), carers, r.label)
            for r in (Role.PROXY_PARENT, Role.STAFF_PAIR)
        ),
        *(_rate_of(k, rates) for k in COUNTY_KINDS),
        _count_of("opening", text("col.opening"), dynamics, text("sub.opening")),
        Column(
            text("col.entered"),
            "entered",
            lambda r: _sum(r[2], "entered."),
            "count",
            dynamics,
        ),
        Column(text("col.left"), "left", lambda r: _sum(r[2], "left."), "count", dynamics),
        _count_of("closing", text("col.closing"), dynamics, text("sub.closing")),
        _count_of("national", text("col.national")),
    ]
    priority = [
        "enrolled",
        "served",
        "share",
        *(f"category.{c.value}" for c in Category),
        *(f"rate.{k}" for k in COUNTY_KINDS),
        "opening",
        "entered",
        "left",
        "closing",
    ]
    rows = [(k, table.names.get(k, ""), table.rows[k]) for k in keys]
    named = sorted((set(counties) | set(table.codes)) - {""})
    units = {name: table.codes.get(name, "") for name in named}
    unit = counties[0] if len(counties) == 1 else ""
    return Sheet(
        _title("county", unit),
        "county",
        columns,
        rows,
        describe(table.stamp, units),
        labels=len(labels),
        merge=len(labels) - 1,
        level=_county_level,
        priority=priority,
        summary_labels=(brief,),
        name=text("form.county.name"),
        signature=signature_line(),
        footer=page_footer(),
        font=text("form.font"),
    )


# ---------------------------------------------------------------------------------------------
# The school table (动态状况表).

_GridRow = tuple[str, int, Mapping[str, int]]
_STATUS_PREFIXES = ("enrolled", "served", "national", "category.", "sex.", "boarding.")


def _status(counts: Mapping[str, int]) -> dict[str, int]:
    return {k: v for k, v in counts.items() if v and k.startswith(_STATUS_PREFIXES)}


def _grid_rows(table: SchoolTable, grades: Mapping[int, Mapping[str, int]] | None) -> list[Any]:
    """A row per grade (when ``grades`` add up to the school's counts) and the 合计 row."""
    total: _GridRow = (text("row.total"), 2, table.counts)
    if not grades:
        return [total]
    summed: dict[str, int] = {}
    for counts in grades.values():
        for k, v in _status(counts).items():
            summed[k] = summed.get(k, 0) + v
    if summed != _status(table.counts):
        return [total]
    rows: list[Any] = [
        (text("row.grade", grade=g), 0, grades[g])
        for g in sorted(grades)
        if grades[g].get("enrolled", 0)
    ]
    return [*rows, total]


def _reasons(counts: Mapping[str, int], head: str, known: Sequence[MoveReason]) -> list[str]:
    extra = sorted(
        k[len(head) + 1 :]
        for k in counts
        if k.startswith(f"{head}.") and MoveReason(k[len(head) + 1 :]) not in known
    )
    return [r.value for r in known] + extra


def _sum_of(head: str) -> Callable[[_GridRow], int]:
    def get(r: _GridRow) -> int:
        return _sum(r[2], f"{head}.")

    return get


def _dynamics_columns(counts: Mapping[str, int]) -> list[Column]:
    entered, left = text("col.entered"), text("col.left")
    columns = [_count_of("opening", text("col.opening"))]
    for head, group, known in (
        ("entered", entered, ENTERED_REASONS),
        ("left", left, LEFT_REASONS),
    ):
        for reason in _reasons(counts, head, known):
            label = MoveReason(reason).label
            header = text(f"col.{head}_because", reason=label)
            column = _count_of(f"{head}.{reason}", header, group, label)
            brief = text("col.because_brief", change=group, reason=label)
            columns.append(attrs.evolve(column, brief=brief))
        columns.append(Column(group, head, _sum_of(head), "count", group, text("row.subtotal")))
    columns.append(_count_of("closing", text("col.closing")))
    return columns


def _duty_rows(counts: Mapping[str, int]) -> list[str]:
    kinds = {k[4:] for k in counts if k.startswith("due.")}
    return sorted(kinds, key=_kind_order)


def _duty_columns() -> list[Column]:
    def n(prefix: str) -> Any:
        return lambda r: r[1].get(f"{prefix}.{r[0]}", 0)

    return [
        Column(text("col.duty"), "kind", lambda r: _kind_name(r[0])),
        Column(text("col.due"), "due", n("due"), "count"),
        Column(text("col.done"), "done", n("done"), "count"),
        Column(text("col.overdue"), "overdue", n("overdue"), "count"),
        Column(
            text("col.rate_done"),
            "rate",
            lambda r: _rate(r[1], f"done.{r[0]}", f"due.{r[0]}"),
            "rate",
        ),
    ]


def _care_columns() -> list[Column]:
    clear, has, carers = text("group.clear"), text("group.has"), text("group.carers")
    roles = (Role.CLASS_TEACHER, Role.PROXY_PARENT, Role.STAFF_PAIR)
    return [
        *(
            _count_of(f"clear.{a.value}", text("col.clear", area=a.label), clear, a.label)
            for a in ProfileArea
        ),
        _count_of("clear.all", text("col.clear_all"), clear, text("sub.clear_all")),
        *(_count_of(f"has.{r.value}", text("col.has", role=r.label), has, r.label) for r in roles),
        *(
            _count_of(f"staff.{r.value}", text("col.staff", role=r.label), carers, r.label)
            for r in (Role.PROXY_PARENT, Role.STAFF_PAIR)
        ),
    ]


def _movement_columns() -> list[Column]:
    return [
        Column(
            text("col.change"),
            "direction",
            lambda m: text("col.entered") if m.entered else text("col.left"),
        ),
        Column(text("col.reason"), "reason", lambda m: m.reason.label),
        Column(text("col.name"), "name", lambda m: m.name),
        Column(text("col.child_id"), "child_id", lambda m: m.child_id),
        Column(text("col.date"), "on", lambda m: m.on.isoformat() if m.on else ""),
        Column(text("col.cause"), "cause", lambda m: m.cause),
    ]


def _overdue_columns(items: Sequence[OverdueChild]) -> list[Column]:
    kinds = sorted({k for o in items for k, _ in o.overdue}, key=_kind_order)
    group = text("group.overdue")

    def times(kind: str) -> Any:
        return lambda o: dict(o.overdue).get(kind, 0)

    return [
        Column(text("col.class"), "class", lambda o: o.class_name),
        Column(text("col.name"), "name", lambda o: o.name),
        Column(text("col.child_id"), "child_id", lambda o: o.child_id),
        *(
            Column(
                text("col.overdue_of", kind=kind_label(k)),
                f"overdue.{k.lower()}",
                times(k),
                "count",
                group,
                kind_label(k),
            )
            for k in kinds
        ),
        Column(
            text("col.overdue_total"),
            "overdue",
            lambda o: sum(n for _, n in o.overdue),
            "count",
            group if kinds else "",
            text("row.total"),
        ),
    ]


def school_form(
    table: SchoolTable,
    grades: Mapping[int, Mapping[str, int]] | None = None,
    stamps: Sequence[str] = (),
) -> Form:
    """动态状况表 of one school, one printed page (or more) in six parts: 一 pupils and children
    served by grade (a row per grade from ``grades`` — see :func:`grade_counts` — and the
    合计; the 合计 alone when ``grades`` is not given or does not add up to the table);
    二 the period's dynamics (期初, 新增 and 减少 by reason, 期末); 三 each duty kind's due, done,
    overdue and completion rate; 四 the five clears and who cares for the children; 五 the
    children who entered or left, with the reason and the fact (变动明细); 六 the children with
    overdue duties, by kind (逾期名单). ``stamps`` are the approval lines printed under the
    signature line (a form as reported and signed off)."""
    counts = table.counts
    school = table.school
    units = {table.county: table.county_code} if table.county else None
    lead = (
        text("info.school", school=school.name, id=school.id),
        text("info.township", township=school.township),
    )
    grid = [
        Column(text("col.grade"), "grade", lambda r: r[0]),
        *_status_columns(text("col.count")),
        _count_of("boarding.yes", text("col.boarding")),
        _count_of("national", text("col.national")),
    ]
    one = [("", 0, counts)]
    none = text("row.none")
    sections = (
        Sheet(
            text("section.grades"),
            "grades",
            grid,
            _grid_rows(table, grades),
            labels=1,
            level=lambda r: r[1],
            heading=text("section.grades"),
        ),
        Sheet(
            text("section.dynamics"),
            "dynamics",
            _dynamics_columns(counts),
            one,
            heading=text("section.dynamics"),
        ),
        Sheet(
            text("section.duties"),
            "duties",
            _duty_columns(),
            [(k, counts) for k in _duty_rows(counts)],
            labels=1,
            heading=text("section.duties"),
            empty=none,
        ),
        Sheet(text("section.care"), "care", _care_columns(), one, heading=text("section.care")),
        Sheet(
            text("section.movements"),
            "movements",
            _movement_columns(),
            table.movements,
            labels=1,
            merge=1,
            heading=text("section.movements"),
            empty=none,
        ),
        Sheet(
            text("section.overdue"),
            "overdue",
            _overdue_columns(table.overdue),
            table.overdue,
            labels=3,
            merge=1,
            heading=text("section.overdue"),
            empty=none,
        ),
    )
    return Form(
        _title("school", table.county),
        "school",
        sections,
        describe(table.stamp, units, *lead),
        name=school.name or school.id,
        signature=signature_line(),
        footer=page_footer(),
        font=text("form.font"),
        repeat="title",
        stamps=tuple(stamps),
    )


def school_sheets(
    table: SchoolTable, grades: Mapping[int, Mapping[str, int]] | None = None
) -> list[Sheet]:
    """The six tables of :func:`school_form`, each titled by its heading."""
    return list(school_form(table, grades).sections)


def grade_counts(
    facts: LedgerFacts | Iterable[LedgerFacts],
    *,
    as_of: date,
    period: Interval,
    only: str | None = None,
) -> dict[str, dict[int, dict[str, int]]]:
    """Per school (or only the school ``only``), per grade on ``as_of``, the counts of the
    pupils enrolled in that grade on that day: the rows of the school form's grid. Each grade's
    counts are a school table of those pupils only
    (:func:`~leftbehind.domain.ledger.school_tables`), so that the grades add up to the
    school's table."""
    parts = [facts] if isinstance(facts, LedgerFacts) else list(facts)
    by_grade: dict[int, list[LedgerFacts]] = {}
    for part in parts:
        groups: dict[int, list[Any]] = {}
        for child in part.children:
            e = child.enrolment_on(as_of)
            if e is None or (only is not None and e.school_id != only):
                continue
            groups.setdefault(e.grade_on(as_of), []).append(child)
        for grade, children in groups.items():
            # the grid counts pupils, never duties: leave the duties out of the pass
            part_of_grade = attrs.evolve(part, children=tuple(children), duties=no_duties)
            by_grade.setdefault(grade, []).append(part_of_grade)
    out: dict[str, dict[int, dict[str, int]]] = {}
    for grade, grade_parts in sorted(by_grade.items()):
        tables = school_tables(grade_parts, as_of=as_of, period=period, only=only)
        for sid, t in tables.items():
            if t.counts.get("enrolled", 0):
                out.setdefault(sid, {})[grade] = dict(t.counts)
    return out


# ---------------------------------------------------------------------------------------------
# The teacher table (联络信息表).


def _duty_cell(kind: str) -> Any:
    def get(row: TeacherRow) -> str:
        for c in row.duties:
            if c.kind == kind:
                if c.overdue:
                    return text("cell.duty_overdue", done=c.done, due=c.due, overdue=c.overdue)
                return text("cell.duty", done=c.done, due=c.due)
        return ""

    return get


def _of_parent(pick: Any, name: str) -> Callable[[Any], Any]:
    return lambda row: getattr(pick(row), name)


def _parent(role: ParentRole, pick: Any) -> list[Column]:
    """A parent's status, phone and work place, grouped under the parent."""
    who, key = role.label, role.value
    fields: tuple[tuple[str, Kind], ...] = (
        ("status", "text"),
        ("phone", "phone"),
        ("work_place", "text"),
    )
    return [
        Column(
            text(f"col.parent_{name}", parent=who),
            f"{key}_{name}",
            _of_parent(pick, name),
            kind,
            who,
            text(f"sub.{name}"),
        )
        for name, kind in fields
    ]


def teacher_sheet(table: TeacherTable) -> Sheet:
    """联络信息表 of one staff member: a row per child, the second guardian and both parents
    grouped, and a column per duty kind they owe (done/due, and how many overdue)."""
    kinds = sorted({c.kind for r in table.rows for c in r.duties}, key=_kind_order)
    sep = text("list.and")
    guardian = text("group.guardian")
    duties = text("group.duties")
    columns = [
        Column(text("col.class"), "class", lambda r: r.class_name),
        Column(text("col.name"), "name", lambda r: r.name),
        Column(text("col.child_id"), "child_id", lambda r: r.child_id),
        Column(text("col.resident_id"), "resident_id", lambda r: r.resident_id, "id"),
        Column(text("col.grade"), "grade", lambda r: r.grade, "count"),
        Column(
            text("col.categories"), "categories", lambda r: sep.join(c.label for c in r.categories)
        ),
        Column(text("col.roles"), "roles", lambda r: sep.join(x.label for x in r.roles)),
        Column(
            guardian,
            "guardian",
            lambda r: r.guardian.name if r.guardian else "",
            "text",
            guardian,
            text("col.name"),
        ),
        Column(
            text("col.relation"),
            "relation",
            lambda r: r.guardian.relation if r.guardian else "",
            "text",
            guardian,
        ),
        Column(
            text("col.guardian_phone"),
            "guardian_phone",
            lambda r: r.guardian.phone if r.guardian else "",
            "phone",
            guardian,
            text("sub.phone"),
        ),
        *_parent(ParentRole.FATHER, lambda r: r.father),
        *_parent(ParentRole.MOTHER, lambda r: r.mother),
        Column(Role.PROXY_PARENT.label, "proxy_parents", lambda r: sep.join(r.proxy_parents)),
        Column(
            text("col.pairings"),
            "pairings",
            lambda r: sep.join(text("cell.pairing", role=a, name=b) for a, b in r.pairings),
        ),
        *(
            Column(
                text("col.duty_of", kind=kind_label(k)),
                f"duty.{k.lower()}",
                _duty_cell(k),
                "text",
                duties,
                kind_label(k),
                text("col.duty_brief", kind=kind_label(k)),
            )
            for k in kinds
        ),
    ]
    priority = [
        "categories",
        "guardian_phone",
        "father_status",
        "mother_status",
        *(f"duty.{k.lower()}" for k in kinds),
        "roles",
        "father_phone",
        "mother_phone",
    ]
    units = {table.county: table.county_code} if table.county else None
    staff = text("info.staff", name=table.staff_name or table.staff_id, id=table.staff_id)
    return Sheet(
        _title("teacher", table.county),
        "teacher",
        columns,
        table.rows,
        describe(table.stamp, units, staff),
        labels=3,
        merge=1,
        priority=priority,
        name=table.staff_name or table.staff_id,
        empty=text("row.none"),
        signature=signature_line(),
        footer=page_footer(),
        font=text("form.font"),
    )


def _duty_count(kind: str, which: int) -> Any:
    def get(row: TeacherRow) -> int | None:
        for c in row.duties:
            if c.kind == kind:
                return (c.due, c.done, c.overdue)[which]
        return None

    return get


def teacher_form(table: TeacherTable) -> Form:
    """联络信息表 of one staff member as printed, in two parts so that it is read on A4: 一 the
    contacts of each child (the columns of :func:`teacher_sheet` but the duties), 二 each duty
    kind they owe each child, due, done and overdue in the period."""
    sheet = teacher_sheet(table)
    kinds = sorted({c.kind for r in table.rows for c in r.duties}, key=_kind_order)
    contacts = [c for c in sheet.columns if not c.key.startswith("duty.")]
    subs = (text("col.due"), text("col.done"), text("col.overdue"))
    duties = [
        *sheet.columns[:3],
        *(
            Column(
                text("col.duty_count", kind=kind_label(k), count=sub),
                f"{head}.{k.lower()}",
                _duty_count(k, i),
                "count",
                kind_label(k),
                sub,
            )
            for k in kinds
            for i, (head, sub) in enumerate(zip(("due", "done", "overdue"), subs, strict=True))
        ),
    ]
    sections = (
        attrs.evolve(
            sheet,
            title=text("section.contacts"),
            columns=contacts,
            heading=text("section.contacts"),
            caption="",
        ),
        attrs.evolve(
            sheet,
            title=text("section.teacher_duties"),
            key="teacher_duties",
            columns=duties,
            heading=text("section.teacher_duties"),
            caption="",
        ),
    )
    return Form(
        sheet.title,
        "teacher",
        sections,
        sheet.caption,
        name=sheet.name,
        signature=signature_line(),
        footer=page_footer(),
        font=text("form.font"),
        repeat="title",
    )


# ---------------------------------------------------------------------------------------------
# Candidates for commendation (表彰先进).


def standings_sheet(standings: Sequence[Standing], title: str | None = None) -> Sheet:
    """A ranking of candidates for commendation (表彰候选), titled ``title`` (by default the
    catalog's 表彰候选)."""
    columns: list[Column] = [
        Column(text("col.rank"), "rank", lambda s: s.rank, "count"),
        Column(text("col.code"), "key", lambda s: s.key),
        Column(text("col.unit_name"), "name", lambda s: s.name),
        Column(text("col.due"), "due", lambda s: s.due, "count"),
        Column(text("col.done"), "done", lambda s: s.done, "count"),
        Column(text("col.rate_done"), "rate", lambda s: s.rate, "rate"),
    ]
    return Sheet(
        title or text("form.standings"),
        "standings",
        columns,
        standings,
        labels=0,
        footer=page_footer(),
        font=text("form.font"),
    )
