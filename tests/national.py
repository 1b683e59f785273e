"""The 2016 national registration form (农村留守儿童基本情况登记表) as a village clerk fills it in,
written with openpyxl or as a WPS-style CSV: a title, a 填报 line, a two-row header with merged
group cells (父亲情况 over 姓名 / 务工地点 / 外出时间 / 联系电话 …), a 序号 column, the pupils, a
合计 row and the signature footer. Simplified Chinese, or Traditional with ``script="zh_TW"``."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import opencc
import openpyxl

from leftbehind.testing.synthetic import resident_id

#: A pupil's cells by (group, field).
Pupil = dict[tuple[str, str], Any]

#: The day the form was filled in (填报日期).
REPORT_DATE = date(2026, 3, 16)

#: The form's columns: (group, field), the group "" for a column of one header over both rows.
COLUMNS: list[tuple[str, str]] = [
    ("", "序号"),
    ("", "姓名"),
    ("", "性别"),
    ("", "民族"),
    ("", "出生年月"),
    ("", "身份证号"),
    ("", "户籍所在地"),
    ("", "就读学校"),
    ("", "年级"),
    ("", "留守类型"),
    ("", "监护情况"),
    ("", "身体状况"),
    ("父亲情况", "姓名"),
    ("父亲情况", "务工地点"),
    ("父亲情况", "外出时间"),
    ("父亲情况", "联系电话"),
    ("母亲情况", "姓名"),
    ("母亲情况", "务工地点"),
    ("母亲情况", "外出时间"),
    ("母亲情况", "联系电话"),
    ("委托监护人情况", "姓名"),
    ("委托监护人情况", "与儿童关系"),
    ("委托监护人情况", "联系电话"),
    ("委托监护人情况", "住址"),
    ("", "备注"),
]

_GRADES = ("一年级", "2年级", "三年级", "四年级", "五年级", "六年级")
_JUNIOR = ("七年级", "初二", "初中三年级")


def birth_of(n: int) -> date:
    return date(2012, 1 + n % 12, 1 + n % 27) if n % 5 == 4 else date(2016, 1 + n % 12, 1 + n % 27)


def pupil(n: int) -> Pupil:
    """Pupil ``n`` of the form, by (group, field); every fifth in a junior school.

    The forms a clerk writes: birth and away dates as a month only (``2016年3月``) or in full
    with dots or slashes, phones stored as numbers, grades spelled 三年级, 2年级, 七年级, 初二;
    every seventh pupil's father deceased, his cells all ``—``.
    """
    junior = n % 5 == 4
    born = birth_of(n)
    deceased = n % 7 == 6
    row: Pupil = {
        ("", "序号"): n + 1,
        ("", "姓名"): f"学生{n:02d}",
        ("", "性别"): "男" if n % 2 else "女",
        ("", "民族"): "汉族",
        ("", "出生年月"): f"{born.year}年{born.month}月" if n % 3 else f"{born:%Y.%m.%d}",
        ("", "身份证号"): resident_id("130432", born, 2 * n + n % 2),
        ("", "户籍所在地"): "河北省邯郸市广平县东张孟乡前进村",
        ("", "就读学校"): "平固店中学" if junior else "东张孟中心小学",
        ("", "年级"): _JUNIOR[n % 3] if junior else _GRADES[n % 6],
        ("", "留守类型"): "母亲外出" if deceased else "父母均外出",
        ("", "监护情况"): ("较好", "一般", "差")[n % 3],
        ("", "身体状况"): "健康",
        ("父亲情况", "姓名"): "—" if deceased else f"父{n:02d}",
        ("父亲情况", "务工地点"): "—" if deceased else "广东深圳",
        ("父亲情况", "外出时间"): "—" if deceased else "2025年3月",
        ("父亲情况", "联系电话"): "—" if deceased else 13812340000 + n,
        ("母亲情况", "姓名"): f"母{n:02d}",
        ("母亲情况", "务工地点"): "北京",
        ("母亲情况", "外出时间"): "2025/2/10" if n % 2 else "2025.02.10",
        ("母亲情况", "联系电话"): 13912340000 + n,
        ("委托监护人情况", "姓名"): f"祖母{n:02d}",
        ("委托监护人情况", "与儿童关系"): "祖母",
        ("委托监护人情况", "联系电话"): "0310-2345678",
        ("委托监护人情况", "住址"): "前进村",
        ("", "备注"): None,
    }
    return row


def _s(value: Any, script: str) -> Any:
    if script == "zh_TW" and isinstance(value, str):
        return opencc.OpenCC("s2t").convert(value)
    return value


def lines(pupils: Sequence[Pupil], script: str = "zh_CN") -> list[list[Any]]:
    """The form's rows, from its title to its footer (a merged cell's others as ``None``)."""
    width = len(COLUMNS)
    title: list[Any] = ["农村留守儿童基本情况登记表"] + [None] * (width - 1)
    filed: list[Any] = ["填报单位（盖章）：东张孟乡前进村"] + [None] * (width - 1)
    filed[16] = f"填报日期：{REPORT_DATE.year}年{REPORT_DATE.month}月{REPORT_DATE.day}日"
    top: list[Any] = []
    sub: list[Any] = []
    for i, (group, field) in enumerate(COLUMNS):
        if not group:
            top.append(field)
            sub.append(None)
        else:
            top.append(group if i == 0 or COLUMNS[i - 1][0] != group else None)
            sub.append(field)
    body = [[p.get(c) for c in COLUMNS] for p in pupils]
    total: list[Any] = ["合计", f"{len(pupils)}人"] + [None] * (width - 2)
    blank: list[Any] = [None] * width
    footer: list[Any] = [None] * width
    footer[0], footer[7], footer[14] = "单位负责人：", "复核人：", "填表人："
    rows = [title, filed, top, sub, *body, total, blank, footer]
    # A school is named as the county stored it: free text is never converted.
    school = COLUMNS.index(("", "就读学校"))
    return [[v if i == school and row in body else _s(v, script) for i, v in enumerate(row)]
            for row in rows]  # fmt: skip


def write_xlsx(path: Path, pupils: Sequence[Pupil], script: str = "zh_CN") -> Path:
    """The form in a workbook as Excel keeps it: the title, the groups and the one-header
    columns of the two header rows merged."""
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = _s("登记表", script)
    rows = lines(pupils, script)
    for row in rows:
        ws.append(row)
    width = len(COLUMNS)
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    for i, (group, _) in enumerate(COLUMNS, start=1):
        if not group:
            ws.merge_cells(start_row=3, start_column=i, end_row=4, end_column=i)
        elif i == 1 or COLUMNS[i - 2][0] != group:
            end = i + sum(1 for g, _ in COLUMNS if g == group) - 1
            ws.merge_cells(start_row=3, start_column=i, end_row=3, end_column=end)
    wb.save(path)
    return path


def write_csv(path: Path, pupils: Sequence[Pupil], script: str = "zh_CN") -> Path:
    """The form as WPS saves it as CSV: GB18030, CRLF line ends, dates with slashes, numbers as
    their digits (a merged cell's others empty)."""
    rows = lines(pupils, script)

    def cell(value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, date):
            return f"{value.year}/{value.month}/{value.day}"
        return str(value)

    with path.open("w", encoding="gb18030", newline="") as f:
        csv.writer(f, lineterminator="\r\n").writerows([[cell(v) for v in r] for r in rows])
    return path
