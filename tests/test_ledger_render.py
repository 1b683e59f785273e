"""Rendering ledgers: terminal text, CSV (formula escaping) and XLSX read back with openpyxl."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

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
    Column,
    Sheet,
    county_sheet,
    csv_cell,
    render_text,
    school_sheets,
    standings_sheet,
    teacher_sheet,
    to_csv,
    write_csv,
    write_xlsx,
)

AS_OF = date(2026, 9, 30)


@pytest.fixture(scope="module")
def ledgers() -> tuple[CountyTable, dict[str, SchoolTable], dict[str, TeacherTable]]:
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


def test_county_sheet_has_a_row_per_school_subtotals_and_totals(
    ledgers: tuple[CountyTable, dict[str, SchoolTable], dict[str, TeacherTable]],
) -> None:
    table = ledgers[0]
    sheet = county_sheet(table)
    values = sheet.values()
    keys = [c.key for c in sheet.columns]
    assert len(values) == len(table.rows)
    assert [v[2] for v in values].count("小计") == len({k[:2] for k in table.schools()})
    assert values[-1][0] == "总计"
    assert values[-2][1] == "合计"
    served = keys.index("served")
    assert values[-1][served] == table.total["served"]
    share = values[-1][keys.index("share")]
    assert share == pytest.approx(table.total["served"] / table.total["enrolled"])
    talk = values[-1][keys.index("rate.talk")]
    assert talk == pytest.approx(table.total["done.talk"] / table.total["due.talk"])
    assert {"national", "entered", "left", "staff.proxy_parent", "sex.female"} <= set(keys)


def test_text_rendering_shows_chinese_headers_and_masks_phones(
    ledgers: tuple[CountyTable, dict[str, SchoolTable], dict[str, TeacherTable]],
) -> None:
    text = render_text(county_sheet(ledgers[0]))
    for header in ("信息汇总表", "在校学生", "关爱对象", "国家口径", "小计", "总计", "谈心完成率"):
        assert header in text
    teacher = _teacher(ledgers[2])
    phone = next(r.father.phone for r in teacher.rows if r.father.phone)
    masked = render_text(teacher_sheet(teacher))
    assert phone not in masked
    assert f"{phone[:3]}****{phone[-4:]}" in masked
    assert phone in render_text(teacher_sheet(teacher), unmasked=True)
    assert render_text(county_sheet(ledgers[0])) == render_text(county_sheet(ledgers[0]))


def test_school_sheets_list_movements_and_overdue_children(
    ledgers: tuple[CountyTable, dict[str, SchoolTable], dict[str, TeacherTable]],
) -> None:
    school = next(t for t in ledgers[1].values() if t.movements and t.overdue)
    counts, rates, moves, overdue = school_sheets(school)
    assert {r[1]: r[2] for r in counts.values()} == school.counts
    assert {r[1] for r in rates.values()} == {
        f"rate.{k[4:]}" for k in school.counts if k.startswith("due.")
    }
    assert len(moves.rows) == len(school.movements)
    assert {r[0] for r in moves.values()} <= {"新增", "减少"}
    assert [r[2] for r in overdue.values()] == [o.child_id for o in school.overdue]


@given(st.text(max_size=8), st.sampled_from(EVIL))
def test_csv_cells_never_start_a_formula(text: str, evil: str) -> None:
    for value in (text, evil + text):
        cell = csv_cell(value, "text")
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))
        assert cell in (value, "'" + value)
    assert csv_cell(-3, "count") == "-3"  # numbers are numbers


def test_csv_has_both_header_rows_escapes_and_masks(tmp_path: Path) -> None:
    text = to_csv(VALUES)
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["文字", "数量", "电话", "身份证号", "比率"]
    assert rows[1] == ["text", "count", "phone", "id", "rate"]
    assert [r[0] for r in rows[2:]] == ["'" + e for e in EVIL]
    assert rows[2][1:] == ["-3", "138****1234", "130432***********X", "50.0%"]
    assert "13812341234" in to_csv(VALUES, unmasked=True)
    assert to_csv(VALUES, header="en").startswith("text,count,")
    path = tmp_path / "t.csv"
    write_csv(VALUES, path)
    assert path.read_bytes() == b"\xef\xbb\xbf" + text.encode()  # a BOM, so Excel reads UTF-8


def test_xlsx_round_trip_keeps_text_as_text(tmp_path: Path) -> None:
    path = tmp_path / "t.xlsx"
    write_xlsx([VALUES], path)
    ws = openpyxl.load_workbook(path)["测试"]
    assert [c.value for c in ws[1]] == ["文字", "数量", "电话", "身份证号", "比率"]
    assert [c.value for c in ws[2]] == ["text", "count", "phone", "id", "rate"]
    for i, evil in enumerate(EVIL, start=3):
        cell = ws.cell(i, 1)
        assert cell.value == evil.replace("\r", "\n")  # XML reads a bare CR as a newline
        assert cell.data_type == "s"
    assert ws.cell(3, 2).value == -3
    assert ws.cell(3, 3).value == "138****1234"
    assert ws.cell(3, 4).value == "130432***********X"
    assert ws.cell(3, 5).value == 0.5
    assert ws.cell(3, 5).number_format == "0.0%"
    write_xlsx([VALUES], path, unmasked=True)
    ws = openpyxl.load_workbook(path)["测试"]
    assert ws.cell(3, 3).value == "13812341234"


def test_xlsx_of_the_three_ledgers(
    ledgers: tuple[CountyTable, dict[str, SchoolTable], dict[str, TeacherTable]],
    tmp_path: Path,
) -> None:
    county, schools, teachers = ledgers
    school = next(iter(schools.values()))
    teacher = _teacher(teachers)
    sheets = [
        county_sheet(county),
        *school_sheets(school),
        teacher_sheet(teacher),
        teacher_sheet(teacher),  # a repeated title gets a suffix
        standings_sheet(rank_schools(county, min_due=1)),
    ]
    path = tmp_path / "ledger.xlsx"
    write_xlsx(sheets, path)
    book = openpyxl.load_workbook(path)
    assert len(book.sheetnames) == len(sheets) == len(set(book.sheetnames))
    ws = book["信息汇总表"]
    assert ws.max_row == 2 + len(county.rows)
    last = [c.value for c in ws[ws.max_row]]
    assert last[0] == "总计"
    assert last[4] == county.total["served"]
    tw = book[book.sheetnames[5]]
    keys = [c.value for c in tw[2]]
    phones = [tw.cell(i, keys.index("father_phone") + 1).value for i in range(3, tw.max_row + 1)]
    assert all(p is None or "****" in str(p) for p in phones)
    ids = [tw.cell(i, keys.index("resident_id") + 1).value for i in range(3, tw.max_row + 1)]
    assert all(v is None or "*" * 11 in str(v) for v in ids)
    assert all(c.data_type == "s" for row in tw.iter_rows(min_row=3) for c in row[:3] if c.value)
