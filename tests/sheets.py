"""Filling the templates as a school clerk would: a small county's sheets, in Simplified Chinese
by default, written with openpyxl (or as CSV) under the template's own header rows."""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path

from openpyxl import load_workbook

from leftbehind.domain.i18n import use
from leftbehind.io.roster import write_template
from leftbehind.io.roster_columns import has_key_row
from leftbehind.io.sheet_columns import SHEET_COLUMNS

Cell = str | int | date | None
Row = Mapping[str, Cell]

#: The day the county is looked at: a Friday of the autumn term 2026.
TODAY = date(2026, 11, 27)
#: The week of talk and home-visit sheets (Monday to Friday).
WEEK = [date(2026, 11, 23 + i) for i in range(5)]

SCHOOLS: list[Row] = [
    {"id": "S001", "name": "东张孟中心小学", "township": "东张孟乡", "rural": "是",
     "stages": "小学"},
    {"id": "S002", "name": "平固店中学", "township": "平固店镇", "rural": "是", "stages": "初中"},
]  # fmt: skip

STAFF: list[Row] = [
    {"id": "T01", "name": "李老师", "school": "东张孟中心小学", "title": "班主任",
     "phone": "13812345678"},
    {"id": "T02", "name": "王老师", "school": "S001", "title": "任课教师"},
    {"id": "T03", "name": "赵老师", "school": "平固店中学", "title": "班主任"},
]  # fmt: skip


def child(name: str, school: str, grade: int, sex: str = "男") -> Row:
    """A roster row: both parents away since March (served from June)."""
    return {
        "name": name, "sex": sex, "birth_date": date(2016, 5, 1) if grade < 7 else
        date(2012, 5, 1), "school": school, "grade": grade, "class_name": "1班",
        "enrolled_since": date(2025, 9, 1), "hukou": "农村", "village": "前进村",
        "father_status": "外出务工", "father_away_since": date(2026, 3, 1),
        "mother_status": "外出务工", "mother_away_since": date(2026, 3, 1),
    }  # fmt: skip


ROSTER: list[Row] = [
    child("张小明", "东张孟中心小学", 4),
    child("刘小红", "东张孟中心小学", 4, "女"),
    child("陈小刚", "平固店中学", 7),
]

ASSIGNMENTS: list[Row] = [
    {"staff": "李老师", "child": "张小明", "role": "班主任", "start": date(2026, 9, 1)},
    {"staff": "T01", "child": "刘小红", "role": "班主任", "start": date(2026, 9, 1)},
    {"staff": "王老师", "child": "张小明", "role": "代管家长", "start": date(2026, 9, 1)},
    {"staff": "王老师", "child": "刘小红", "role": "结对帮扶", "start": date(2026, 9, 1)},
    {"staff": "赵老师", "child": "陈小刚", "role": "班主任", "start": date(2026, 9, 1)},
]

TALKS: list[Row] = [
    {"date": WEEK[0], "place": "办公室", "teacher": "李老师", "child": "张小明",
     "method": "面谈", "topic": "学习", "content": "谈了数学作业", "effect": "好"},
    {"date": WEEK[2], "place": "教室", "teacher": "李老师", "child": "刘小红",
     "method": "面谈", "topic": "想念父母", "content": "聊了家里的事"},
    {"date": WEEK[1], "teacher": "赵老师", "child": "陈小刚", "method": "电话",
     "topic": "生活"},
]  # fmt: skip

VISITS: list[Row] = [
    {"date": WEEK[3], "visitor": "王老师", "child": "张小明", "guardian_met": "祖母",
     "living": "整洁", "needs": "冬衣", "next_visit": date(2026, 12, 20)},
]  # fmt: skip


def fill(
    path: Path, kind: str, rows: Sequence[Row], lang: str = "zh_CN", template: Path | None = None
) -> Path:
    """The template of ``kind`` written in ``lang`` to ``path`` (or a copy of ``template``,
    one the command line wrote), with ``rows`` (by column key) under its header rows: dates as
    dates in XLSX, ISO text in CSV."""
    with use(lang):
        if template is not None:
            path.write_bytes(template.read_bytes())
        else:
            write_template(path, kind=kind, format="csv" if path.suffix == ".csv" else "xlsx")
        keys = [c.key for c in SHEET_COLUMNS[kind]]
        first = 3 if has_key_row(lang) else 2
    cells: list[list[Cell]] = [[row.get(k) for k in keys] for row in rows]
    if path.suffix == ".csv":
        with path.open("a", encoding="utf-8", newline="") as f:
            csv.writer(f).writerows([["" if v is None else str(v) for v in line] for line in cells])
        return path
    wb = load_workbook(path)
    ws = wb.worksheets[0]
    for i, line in enumerate(cells):
        for j, value in enumerate(line, start=1):
            if value is not None:
                ws.cell(first + i, j, value)
    wb.save(path)
    return path
