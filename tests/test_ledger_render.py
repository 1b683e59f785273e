"""Rendering ledgers: terminal text, CSV (formula escaping, header modes) and XLSX read back with
openpyxl. The printed forms' layout is checked in ``test_forms.py``."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.test_ledger import SEPTEMBER, county_facts

from leftbehind.domain.ledger import (
    CountyTable,
    SchoolTable,
    TeacherTable,
    county_table,
    rank_schools,
    school_tables,
    teacher_tables,
)
from leftbehind.io.render import (
    KEYS_SHEET,
    Column,
    Form,
    Sheet,
    county_sheet,
    csv_cell,
    render_text,
    school_form,
    school_sheets,
    standings_sheet,
    teacher_form,
    teacher_sheet,
    to_csv,
    write_csv,
    write_xlsx,
)

AS_OF = date(2026, 9, 30)

Ledgers = tuple[CountyTable, dict[str, SchoolTable], dict[str, TeacherTable]]


@pytest.fixture(scope="module")
def ledgers() -> Ledgers:
    facts = county_facts(7, 400)
    return (
        county_table(facts, as_of=AS_OF, period=SEPTEMBER),
        school_tables(facts, as_of=AS_OF, period=SEPTEMBER),
        teacher_tables(facts, as_of=AS_OF, period=SEPTEMBER),
    )


def _teacher(tables: dict[str, TeacherTable]) -> TeacherTable:
    return next(t for t in tables.values() if any(r.father.phone for r in t.rows))


EVIL = ("=1+1", "+86 138", "-2", "@SUM(A1)", "\tx", "\rx", '=HYPERLINK("http://x")')
VALUES = Sheet(
    "测试",
    "test",
    [
        Column("文字", "text", lambda r: r[0]),
        Column("数量", "count", lambda r: r[1], "count"),
        Column("电话", "phone", lambda r: r[2], "phone"),
        Column("身份证号", "id", lambda r: r[3], "id"),
        Column("比率", "rate", lambda r: r[4], "rate"),
    ],
    [(text, -3, "13812341234", "13043220160301001X", 0.5) for text in EVIL],
)


def test_county_sheet_has_a_row_per_school_subtotals_and_one_total(ledgers: Ledgers) -> None:
    table = ledgers[0]
    sheet = county_sheet(table)
    values = sheet.values()
    keys = [c.key for c in sheet.columns]
    assert keys[:2] == ["township", "school"]  # one county: no 县 column
    assert len(values) == len(table.rows) - 1  # the grand total is the county's: printed once
    assert [v[1] for v in values].count("小计") == len({k[:2] for k in table.schools()})
    assert [v[0] for v in values].count("合计") == 1
    assert not any("总计" in str(cell) for row in values for cell in row)
    assert values[-1][0] == "合计"
    served = keys.index("served")
    assert values[-1][served] == table.total["served"]
    share = values[-1][keys.index("share")]
    assert share == pytest.approx(table.total["served"] / table.total["enrolled"])
    talk = values[-1][keys.index("rate.talk")]
    assert talk == pytest.approx(table.total["done.talk"] / table.total["due.talk"])
    assert {"national", "entered", "left", "staff.proxy_parent", "sex.female"} <= set(keys)
    assert [sheet.level_of(r) for r in sheet.rows][-1] == 2


def test_text_rendering_shows_the_headers_and_masks_phones(ledgers: Ledgers) -> None:
    text = render_text(county_sheet(ledgers[0]))
    for header in ("信息汇总表", "在校学生", "关爱对象", "国家口径", "小计", "合计", "谈心完成率"):
        assert header in text
    assert "填报单位 广平县" in text
    teacher = _teacher(ledgers[2])
    phone = next(r.father.phone for r in teacher.rows if r.father.phone)
    masked = render_text(teacher_sheet(teacher))
    assert phone not in masked
    assert f"{phone[:3]}****{phone[-4:]}" in masked
    assert phone in render_text(teacher_sheet(teacher), unmasked=True)
    assert render_text(county_sheet(ledgers[0])) == render_text(county_sheet(ledgers[0]))


def test_the_school_form_lists_its_parts_movements_and_overdue_children(
    ledgers: Ledgers,
) -> None:
    school = next(t for t in ledgers[1].values() if t.movements and t.overdue)
    grid, dynamics, duties, care, moves, overdue = school_sheets(school)
    assert [s.key for s in school_form(school).sections] == [
        "grades",
        "dynamics",
        "duties",
        "care",
        "movements",
        "overdue",
    ]
    (total,) = grid.values()  # no grades given: the 合计 row alone
    assert total[0] == "合计"
    assert total[[c.key for c in grid.columns].index("served")] == school.counts["served"]
    (row,) = dynamics.values()
    keys = [c.key for c in dynamics.columns]
    entered = sum(v for k, v in school.counts.items() if k.startswith("entered."))
    assert row[keys.index("entered")] == entered
    opening, left = row[keys.index("opening")], row[keys.index("left")]
    assert isinstance(opening, int)
    assert isinstance(left, int)
    assert opening + entered - left == row[-1]
    assert {r[0] for r in duties.rows} == {k[4:] for k in school.counts if k.startswith("due.")}
    assert care.values()[0][[c.key for c in care.columns].index("clear.all")] == (
        school.counts.get("clear.all", 0)
    )
    assert len(moves.rows) == len(school.movements)
    assert {r[0] for r in moves.values()} <= {"新增", "减少"}
    assert [r[2] for r in overdue.values()] == [o.child_id for o in school.overdue]
    per_kind = overdue.values()[0]
    assert per_kind[-1] == sum(n for _, n in school.overdue[0].overdue)


@given(st.text(max_size=8), st.sampled_from(EVIL))
def test_csv_cells_never_start_a_formula(text: str, evil: str) -> None:
    for value in (text, evil + text):
        cell = csv_cell(value, "text")
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))
        assert cell in (value, "'" + value)
    assert csv_cell(-3, "count") == "-3"  # numbers are numbers


def test_csv_has_one_header_row_escapes_and_masks(tmp_path: Path) -> None:
    text = to_csv(VALUES)
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["文字", "数量", "电话", "身份证号", "比率"]
    assert [r[0] for r in rows[1:]] == ["'" + e for e in EVIL]
    assert rows[1][1:] == ["-3", "138****1234", "130432***********X", "50.0%"]
    assert "13812341234" in to_csv(VALUES, unmasked=True)
    keyed = list(csv.reader(io.StringIO(to_csv(VALUES, header="keys"))))
    assert keyed[0] == ["text", "count", "phone", "id", "rate"]
    assert keyed[1:] == rows[1:]
    with pytest.raises(ValueError, match="labels or keys"):
        to_csv(VALUES, header="both")  # type: ignore[arg-type]
    path = tmp_path / "t.csv"
    write_csv(VALUES, path)
    assert path.read_bytes() == b"\xef\xbb\xbf" + text.encode()  # a BOM, so Excel reads UTF-8
    write_csv(VALUES, path, header="keys")
    assert path.read_bytes().startswith(b"\xef\xbb\xbftext,count,phone,id,rate\r\n")


def test_csv_of_a_form_is_its_first_table(ledgers: Ledgers) -> None:
    school = next(iter(ledgers[1].values()))
    rows = list(csv.reader(io.StringIO(to_csv(school_form(school), header="keys"))))
    assert rows[0][:3] == ["grade", "enrolled", "served"]
    assert rows[-1][0] == "合计"


def _data_rows(ws: Any, book: Any) -> tuple[list[str], int, int]:
    """The keys, first and last data rows of a worksheet's first section (its hidden sheet)."""
    for row in book[KEYS_SHEET].iter_rows(min_row=2, values_only=True):
        if row[0] == getattr(ws, "title", None):
            return [k for k in row[5:] if k], int(row[3]), int(row[4])
    raise AssertionError("no keys")


def test_xlsx_round_trip_keeps_text_as_text(tmp_path: Path) -> None:
    path = tmp_path / "t.xlsx"
    write_xlsx([VALUES], path)
    book: Any = openpyxl.load_workbook(path)
    ws = book["测试"]
    keys, first, last = _data_rows(ws, book)
    assert keys == ["text", "count", "phone", "id", "rate"]
    assert [c.value for c in ws[first - 1]] == ["文字", "数量", "电话", "身份证号", "比率"]
    assert last - first + 1 == len(EVIL)
    for i, evil in enumerate(EVIL, start=first):
        cell = ws.cell(i, 1)
        assert cell.value == evil.replace("\r", "\n")  # XML reads a bare CR as a newline
        assert cell.data_type == "s"
    assert ws.cell(first, 2).value == -3
    assert ws.cell(first, 3).value == "138****1234"
    assert ws.cell(first, 4).value == "130432***********X"
    assert ws.cell(first, 5).value == 0.5
    assert ws.cell(first, 5).number_format == "0.0%"
    write_xlsx([VALUES], path, unmasked=True)
    book = openpyxl.load_workbook(path)
    ws = book["测试"]
    assert ws.cell(first, 3).value == "13812341234"


def test_xlsx_of_the_three_ledgers(ledgers: Ledgers, tmp_path: Path) -> None:
    county, schools, teachers = ledgers
    school = next(iter(schools.values()))
    teacher = _teacher(teachers)
    sheets: list[Sheet | Form] = [
        county_sheet(county),
        school_form(school),
        teacher_sheet(teacher),
        teacher_form(teacher),  # a repeated name gets a suffix
        standings_sheet(rank_schools(county, min_due=1)),
    ]
    path = tmp_path / "ledger.xlsx"
    write_xlsx(sheets, path)
    book: Any = openpyxl.load_workbook(path)
    assert book.sheetnames[: len(sheets)] == [
        "信息汇总表",
        school.school.name,
        teacher.staff_name,
        f"{teacher.staff_name}(2)",
        "表彰候选",
    ]
    assert book.sheetnames[-1] == KEYS_SHEET
    assert book[KEYS_SHEET].sheet_state == "hidden"
    ws = book["信息汇总表"]
    keys, first, last = _data_rows(ws, book)
    assert last - first + 1 == len(county.rows) - 1
    total = [c.value for c in ws[last]]
    assert total[0] == "合计"
    assert total[keys.index("served")] == county.total["served"]
    tw = book[teacher.staff_name]
    keys, first, last = _data_rows(tw, book)
    phones = [tw.cell(i, keys.index("father_phone") + 1).value for i in range(first, last + 1)]
    assert all(p is None or "****" in str(p) for p in phones)
    ids = [tw.cell(i, keys.index("resident_id") + 1).value for i in range(first, last + 1)]
    assert all(v is None or "*" * 11 in str(v) for v in ids)
    assert all(
        c.data_type == "s" for row in tw.iter_rows(min_row=first) for c in row[1:3] if c.value
    )
