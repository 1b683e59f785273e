"""Rendering ledgers for people: a terminal table, CSV and XLSX, from one column definition.

A :class:`Sheet` is a title, its :class:`Column` definitions (Chinese header of practice, English
key, getter, kind) and its rows. The ``*_sheet`` functions turn ledger values into sheets; the
writers (:func:`render_text`, :func:`to_csv` / :func:`write_csv`, :func:`write_xlsx`) turn sheets
into text, CSV and workbooks. Phone and resident-ID columns are masked unless ``unmasked=True``.

Text cells are never formulas: in CSV a cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return gets a leading ``'``; in XLSX every text cell is written as a string
(``data_type 's'``, with Excel's quote prefix), whatever it starts with.
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Literal

from attrs import field, frozen

from leftbehind.domain.duties import DEFAULT_KINDS
from leftbehind.domain.eligibility import Category
from leftbehind.domain.ids import mask_phone, mask_resident_id
from leftbehind.domain.ledger import (
    CountyTable,
    Movement,
    MoveReason,
    OverdueChild,
    RowKey,
    SchoolTable,
    Stamp,
    Standing,
    TeacherRow,
    TeacherTable,
)
from leftbehind.domain.model import Sex, Stage
from leftbehind.domain.people import Role
from leftbehind.domain.profile import ProfileArea

__all__ = [
    "COLUMN_LABELS",
    "KIND_LABELS",
    "Column",
    "Kind",
    "Sheet",
    "county_sheet",
    "render_text",
    "school_sheets",
    "standings_sheet",
    "teacher_sheet",
    "to_csv",
    "write_csv",
    "write_xlsx",
]

Value = str | int | float | None
Kind = Literal["text", "count", "rate", "phone", "id"]

#: Chinese names of duty kinds by lower-case code (a county's own kinds show their code).
KIND_LABELS: dict[str, str] = {k.code.lower(): k.label_zh for k in DEFAULT_KINDS}
_SHORT = {"talk": "谈心", "family_contact": "书信电话", "parent_report": "学期报告"}
_SHORT |= {"home_visit": "家访"}


def _kind_label(code: str) -> str:
    return _SHORT.get(code, KIND_LABELS.get(code, code))


@frozen
class Column:
    """One column: Chinese ``header`` of practice, English ``key``, a getter and a kind.

    ``kind`` decides the formatting (``count``, ``rate`` as a percentage, ``text``) and the
    masking (``phone`` by :func:`~leftbehind.domain.ids.mask_phone`, ``id`` by
    :func:`~leftbehind.domain.ids.mask_resident_id`).
    """

    header: str
    key: str
    get: Callable[[Any], Value]
    kind: Kind = "text"


def _columns(items: Iterable[Column]) -> tuple[Column, ...]:
    return tuple(items)


def _rows(items: Iterable[Any]) -> tuple[Any, ...]:
    return tuple(items)


@frozen
class Sheet:
    """A titled table: ``title`` (Chinese), ``key`` (English), columns, rows and a caption."""

    title: str
    key: str
    columns: tuple[Column, ...] = field(converter=_columns)
    rows: tuple[Any, ...] = field(converter=_rows)
    caption: str = ""

    def values(self, *, unmasked: bool = False) -> list[list[Value]]:
        """The cells row by row, masked unless ``unmasked``."""
        out = []
        for row in self.rows:
            cells: list[Value] = []
            for col in self.columns:
                value = col.get(row)
                if not unmasked and isinstance(value, str) and value:
                    if col.kind == "phone":
                        value = mask_phone(value)
                    elif col.kind == "id":
                        value = mask_resident_id(value)
                cells.append(value)
            out.append(cells)
        return out


def _fmt(value: Value, kind: Kind) -> str:
    if value is None:
        return "—" if kind == "rate" else ""
    if kind == "rate" and isinstance(value, float):
        return f"{value:.1%}"
    return str(value)


# ---------------------------------------------------------------------------------------------
# Column labels of the count keys.

#: Chinese label of each count column key (keys not listed show themselves).
COLUMN_LABELS: dict[str, str] = {
    "enrolled": "在校学生",
    "served": "关爱对象",
    "national": "国家口径",
    "opening": "期初人数",
    "closing": "期末人数",
    "overdue_children": "有逾期事项人数",
    "boarding.yes": "寄宿",
    "boarding.no": "走读",
    "clear.all": "五清晰",
    **{f"category.{c.value}": c.label for c in Category},
    **{f"primary.{c.value}": f"主要类别：{c.label}" for c in Category},
    **{f"sex.{s.value}": s.label for s in Sex},
    **{f"stage.{s.value}": s.label for s in Stage},
    **{f"grade.{g}": f"{g}年级" for g in range(1, 10)},
    **{f"clear.{a.value}": f"{a.label}清晰" for a in ProfileArea},
    **{f"has.{r.value}": f"有{r.label}" for r in Role},
    **{f"staff.{r.value}": f"{r.label}人数" for r in Role},
}


def _label(key: str) -> str:
    if key in COLUMN_LABELS:
        return COLUMN_LABELS[key]
    head, _, rest = key.partition(".")
    if head in ("entered", "left") and rest in MoveReason._value2member_map_:
        return ("新增：" if head == "entered" else "减少：") + MoveReason(rest).label
    if head in ("due", "done", "overdue", "rate"):
        word = {"due": "应完成", "done": "已完成", "overdue": "逾期", "rate": "完成率"}[head]
        return f"{_kind_label(rest)}{word}"
    return key


def _rate(cells: Mapping[str, int], num: str, den: str) -> float | None:
    d = cells.get(den, 0)
    return cells.get(num, 0) / d if d else None


def _sum(cells: Mapping[str, int], prefix: str) -> int:
    return sum(v for k, v in cells.items() if k.startswith(prefix))


def _describe(stamp: Stamp | None, units: Mapping[str, str] | None = None) -> str:
    """The line under a form's title: 填报单位 (each county with its administrative code),
    the day, the period and the policies."""
    unit = "、".join(f"{name}（{code}）" if code else name for name, code in (units or {}).items())
    head = f"填报单位 {unit}；" if unit else ""
    if stamp is None:
        return head.rstrip("；")
    end = stamp.period.end
    text = f"截至 {stamp.as_of}；统计期 {stamp.period.start} 至 {end}（不含）；口径 {stamp.policy}"
    return head + text + (f"，对照 {stamp.national}" if stamp.national else "")


def _units(table: CountyTable) -> dict[str, str]:
    """The counties of a county table with their codes (the code of a county without one: "")."""
    names = {key[0] for key in table.rows if len(key) == 1 and key[0]}
    return {name: table.codes.get(name, "") for name in sorted(names | set(table.codes))}


# ---------------------------------------------------------------------------------------------
# The county table.

_CountyRow = tuple[RowKey, str, Mapping[str, int]]


def _place(key: RowKey, name: str) -> tuple[str, str, str]:
    if len(key) == 3:
        return key[0], key[1], name
    if len(key) == 2:
        return key[0], key[1], "小计"
    if len(key) == 1:
        return key[0], "合计", ""
    return "总计", "", ""


def _count(key: str) -> Column:
    return Column(_label(key), key, lambda r: r[2].get(key, 0), "count")


def _completion(kind: str) -> Column:
    return Column(
        f"{_kind_label(kind)}完成率",
        f"rate.{kind}",
        lambda r: _rate(r[2], f"done.{kind}", f"due.{kind}"),
        "rate",
    )


#: The duty kinds whose completion rates the county table shows (SPEC §6).
COUNTY_KINDS = ("talk", "family_contact", "parent_report", "home_visit")


def county_sheet(table: CountyTable) -> Sheet:
    """信息汇总表: a row per school, township subtotals, county totals, the grand total."""
    columns = [
        Column("县", "county", lambda r: _place(r[0], r[1])[0]),
        Column("乡镇", "township", lambda r: _place(r[0], r[1])[1]),
        Column("学校", "school", lambda r: _place(r[0], r[1])[2]),
        _count("enrolled"),
        _count("served"),
        Column("占比", "share", lambda r: _rate(r[2], "served", "enrolled"), "rate"),
        *(_count(f"category.{c.value}") for c in Category),
        *(_count(f"sex.{s.value}") for s in Sex),
        _count("boarding.yes"),
        *(_count(f"stage.{s.value}") for s in Stage),
        Column(
            "代管家长", "staff.proxy_parent", lambda r: r[2].get("staff.proxy_parent", 0), "count"
        ),
        Column(
            "结对教职工", "staff.staff_pair", lambda r: r[2].get("staff.staff_pair", 0), "count"
        ),
        *(_completion(k) for k in COUNTY_KINDS),
        _count("opening"),
        Column("新增", "entered", lambda r: _sum(r[2], "entered."), "count"),
        Column("减少", "left", lambda r: _sum(r[2], "left."), "count"),
        _count("closing"),
        _count("national"),
    ]
    rows = [(k, table.names.get(k, ""), table.rows[k]) for k in table.ordered()]
    return Sheet("信息汇总表", "county", columns, rows, _describe(table.stamp, _units(table)))


# ---------------------------------------------------------------------------------------------
# The school table: its counts (one line each), its movements, its overdue list.

_SECTIONS = (
    "enrolled",
    "served",
    "national",
    "category.",
    "primary.",
    "sex.",
    "grade.",
    "stage.",
    "boarding.",
    "opening",
    "entered.",
    "left.",
    "closing",
    "clear.",
    "has.",
    "staff.",
    "due.",
    "done.",
    "overdue.",
    "overdue_children",
)


def _section(key: str) -> tuple[int, str]:
    for i, s in enumerate(_SECTIONS):
        if key == s or (s.endswith(".") and key.startswith(s)):
            grade = key[6:] if s == "grade." else ""
            return i, grade.zfill(3) if grade.isdigit() else key
    return len(_SECTIONS), key


def school_sheets(table: SchoolTable) -> list[Sheet]:
    """动态状况表 as three sheets: the counts, the movements (变动明细), the overdue list."""
    units = {table.county: table.county_code} if table.county else None
    stamp = _describe(table.stamp, units)
    title = table.school.name
    counts = [
        Column("项目", "item", lambda r: _label(r[0])),
        Column("键", "key", lambda r: r[0]),
        Column("数量", "count", lambda r: r[1], "count"),
    ]
    items = sorted(table.counts.items(), key=lambda kv: _section(kv[0]))
    rates = [
        (f"rate.{k[4:]}", _rate(table.counts, f"done.{k[4:]}", k))
        for k, _ in items
        if k.startswith("due.")
    ]
    rate_columns = [
        Column("项目", "item", lambda r: _label(r[0])),
        Column("键", "key", lambda r: r[0]),
        Column("完成率", "rate", lambda r: r[1], "rate"),
    ]
    moves = [
        Column("变动", "direction", lambda m: "新增" if m.entered else "减少"),
        Column("原因", "reason", lambda m: m.reason.label),
        Column("姓名", "name", lambda m: m.name),
        Column("学生编号", "child_id", lambda m: m.child_id),
        Column("日期", "on", lambda m: m.on.isoformat() if m.on else ""),
        Column("依据", "cause", lambda m: m.cause),
    ]
    overdue = [
        Column("班级", "class", lambda o: o.class_name),
        Column("姓名", "name", lambda o: o.name),
        Column("学生编号", "child_id", lambda o: o.child_id),
        Column(
            "逾期事项",
            "overdue",
            lambda o: "、".join(f"{_kind_label(k.lower())}×{n}" for k, n in o.overdue),
        ),
    ]
    return [
        Sheet(f"{title} 动态状况表", "school", counts, items, stamp),
        Sheet(f"{title} 完成率", "school_rates", rate_columns, rates, stamp),
        Sheet(f"{title} 变动明细", "movements", moves, _movements(table.movements), stamp),
        Sheet(f"{title} 逾期名单", "overdue", overdue, _overdue(table.overdue), stamp),
    ]


def _movements(items: Sequence[Movement]) -> tuple[Movement, ...]:
    return tuple(items)


def _overdue(items: Sequence[OverdueChild]) -> tuple[OverdueChild, ...]:
    return tuple(items)


# ---------------------------------------------------------------------------------------------
# The teacher table.


def _duty(kind: str) -> Column:
    def get(row: TeacherRow) -> str:
        for c in row.duties:
            if c.kind == kind:
                late = f" 逾{c.overdue}" if c.overdue else ""
                return f"{c.done}/{c.due}{late}"
        return ""

    return Column(_kind_label(kind.lower()), f"duty.{kind.lower()}", get)


def teacher_sheet(table: TeacherTable) -> Sheet:
    """联络信息表 of one staff member; a column per duty kind they owe (done/due, overdue)."""
    kinds = sorted({c.kind for r in table.rows for c in r.duties})
    columns = [
        Column("班级", "class", lambda r: r.class_name),
        Column("姓名", "name", lambda r: r.name),
        Column("学生编号", "child_id", lambda r: r.child_id),
        Column("身份证号", "resident_id", lambda r: r.resident_id, "id"),
        Column("年级", "grade", lambda r: r.grade, "count"),
        Column("类别", "categories", lambda r: "、".join(c.label for c in r.categories)),
        Column("本人职责", "roles", lambda r: "、".join(x.label for x in r.roles)),
        Column("第二监护人", "guardian", lambda r: r.guardian.name if r.guardian else ""),
        Column("关系", "relation", lambda r: r.guardian.relation if r.guardian else ""),
        Column(
            "监护人电话",
            "guardian_phone",
            lambda r: r.guardian.phone if r.guardian else "",
            "phone",
        ),
        Column("父亲状况", "father_status", lambda r: r.father.status),
        Column("父亲电话", "father_phone", lambda r: r.father.phone, "phone"),
        Column("父亲务工地", "father_work_place", lambda r: r.father.work_place),
        Column("母亲状况", "mother_status", lambda r: r.mother.status),
        Column("母亲电话", "mother_phone", lambda r: r.mother.phone, "phone"),
        Column("母亲务工地", "mother_work_place", lambda r: r.mother.work_place),
        Column("代管家长", "proxy_parents", lambda r: "、".join(r.proxy_parents)),
        Column("结对帮扶", "pairings", lambda r: "、".join(f"{a}：{b}" for a, b in r.pairings)),
        *(_duty(k) for k in kinds),
    ]
    title = f"{table.staff_name or table.staff_id} 联络信息表"
    units = {table.county: table.county_code} if table.county else None
    return Sheet(title, "teacher", columns, table.rows, _describe(table.stamp, units))


def standings_sheet(standings: Sequence[Standing], title: str = "表彰候选") -> Sheet:
    """A ranking of candidates for commendation (表彰先进)."""
    columns = [
        Column("名次", "rank", lambda s: s.rank, "count"),
        Column("代码", "key", lambda s: s.key),
        Column("名称", "name", lambda s: s.name),
        Column("应完成", "due", lambda s: s.due, "count"),
        Column("已完成", "done", lambda s: s.done, "count"),
        Column("完成率", "rate", lambda s: s.rate, "rate"),
    ]
    return Sheet(title, "standings", columns, standings)


# ---------------------------------------------------------------------------------------------
# Writers.


def render_text(sheet: Sheet, *, unmasked: bool = False, width: int | None = None) -> str:
    """The sheet as a terminal table (rich), without colour.

    Headers are never folded; with ``width=None`` the table is as wide as it needs (pipe it to
    ``less -S``), otherwise text cells fold to fit ``width`` where they can.
    """
    from rich import box
    from rich.cells import cell_len
    from rich.console import Console
    from rich.table import Table

    table = Table(title=sheet.title, caption=sheet.caption or None, box=box.SIMPLE_HEAD)
    for col in sheet.columns:
        justify: Literal["left", "right"] = (
            "left" if col.kind in ("text", "phone", "id") else "right"
        )
        table.add_column(
            col.header, justify=justify, overflow="fold", min_width=cell_len(col.header)
        )
    for cells in sheet.values(unmasked=unmasked):
        table.add_row(*(_fmt(v, c.kind) for v, c in zip(cells, sheet.columns, strict=True)))
    out = io.StringIO()
    console = Console(file=out, width=width or 10_000, color_system=None, force_terminal=False)
    console.print(table)
    return "\n".join(line.rstrip() for line in out.getvalue().splitlines()) + "\n"


_DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Value, kind: Kind) -> str:
    """A cell's CSV text; text that a spreadsheet would read as a formula gets a leading ``'``."""
    text = _fmt(value, kind) if kind == "rate" else ("" if value is None else str(value))
    if isinstance(value, str) and text.startswith(_DANGEROUS):
        return "'" + text
    return text


def to_csv(
    sheet: Sheet, *, unmasked: bool = False, header: Literal["both", "zh", "en"] = "both"
) -> str:
    """The sheet as CSV: the Chinese header row, then the English key row (``header="both"``)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    if header in ("both", "zh"):
        writer.writerow([c.header for c in sheet.columns])
    if header in ("both", "en"):
        writer.writerow([c.key for c in sheet.columns])
    for cells in sheet.values(unmasked=unmasked):
        writer.writerow(csv_cell(v, c.kind) for v, c in zip(cells, sheet.columns, strict=True))
    return out.getvalue()


def write_csv(
    sheet: Sheet,
    path: str | os.PathLike[str],
    *,
    unmasked: bool = False,
    header: Literal["both", "zh", "en"] = "both",
) -> None:
    """Write :func:`to_csv` to ``path`` in UTF-8 with a byte-order mark (so Excel reads CJK)."""
    with open(path, "w", encoding="utf-8-sig", newline="") as f:
        f.write(to_csv(sheet, unmasked=unmasked, header=header))


_BAD_TITLE = str.maketrans(dict.fromkeys("[]:*?/\\", "_"))


def _titles(sheets: Sequence[Sheet]) -> list[str]:
    seen: set[str] = set()
    out = []
    for sheet in sheets:
        base = xml_safe(sheet.title).translate(_BAD_TITLE)[:28] or sheet.key
        title, n = base[:31], 1
        while title in seen:
            n += 1
            title = f"{base}({n})"[:31]
        seen.add(title)
        out.append(title)
    return out


def write_xlsx(
    sheets: Sequence[Sheet], path: str | os.PathLike[str], *, unmasked: bool = False
) -> None:
    """Write ``sheets`` to a workbook: per sheet, the Chinese header row, the English key row
    (grey), then the rows; counts as numbers, rates as percentages, text always as text."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook(write_only=False)
    for blank in list(book.worksheets):
        book.remove(blank)
    bold, grey = Font(bold=True), Font(italic=True, color="808080")
    for sheet, title in zip(sheets, _titles(sheets), strict=True):
        ws = book.create_sheet(title)
        for j, col in enumerate(sheet.columns, start=1):
            _text(ws.cell(1, j), col.header).font = bold
            _text(ws.cell(2, j), col.key).font = grey
        for i, cells in enumerate(sheet.values(unmasked=unmasked), start=3):
            for j, (value, col) in enumerate(zip(cells, sheet.columns, strict=True), start=1):
                cell = ws.cell(i, j)
                if value is None:
                    continue
                if isinstance(value, str):
                    _text(cell, value)
                else:
                    cell.value = value
                    if col.kind == "rate":
                        cell.number_format = "0.0%"
        ws.freeze_panes = "A3"
        if sheet.caption:
            ws.oddFooter.center.text = xml_safe(sheet.caption)
    book.save(os.fspath(path))


#: What XML 1.0 cannot hold (controls but tab and line breaks, lone surrogates, U+FFFE and
#: U+FFFF): replaced by U+FFFD, so that no stored text can make a workbook unreadable.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_safe(text: str) -> str:
    """``text`` with what an XML workbook cannot hold replaced by U+FFFD."""
    return _XML_ILLEGAL.sub("\ufffd", text)


def _text(cell: Any, value: str) -> Any:
    """Write ``value`` as a string, never a formula, whatever it starts with, and nothing an XML
    workbook cannot hold."""
    value = xml_safe(value)
    cell.value = value
    cell.data_type = "s"
    if value.startswith(_DANGEROUS):
        cell.quotePrefix = True
    return cell
