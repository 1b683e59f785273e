"""The printed forms (信息汇总表, 动态状况表, 联络信息表) as a bureau prints them, read back with
openpyxl: title and caption, grouped headers, widths, formats, totals, print setup, signature,
machine keys on a hidden sheet only; the same forms in Traditional Chinese and English; the
terminal's summary of the county table."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import attrs
import opencc
import openpyxl
import pytest
from rich.cells import cell_len
from tests.counties import load
from tests.test_ledger import SEPTEMBER, county_facts

import leftbehind
from leftbehind.domain.i18n import LANGUAGES, use
from leftbehind.domain.ledger import (
    CountyTable,
    LedgerFacts,
    SchoolTable,
    TeacherTable,
    county_table,
    merge,
    school_tables,
    teacher_tables,
)
from leftbehind.io.render import (
    KEYS_SHEET,
    county_sheet,
    grade_counts,
    render_text,
    school_form,
    summary_columns,
    teacher_form,
    write_xlsx,
)
from leftbehind.service import County, exports
from leftbehind.testing.synthetic import synthetic_county

AS_OF = date(2026, 9, 30)
CJK = re.compile("[\u3400-\u9fff\u3000-\u303f\uff00-\uffef]")


@pytest.fixture(scope="module")
def facts() -> LedgerFacts:
    return attrs.evolve(county_facts(7, 400), county_code="130432")


@pytest.fixture(scope="module")
def county(facts: LedgerFacts) -> CountyTable:
    return county_table(facts, as_of=AS_OF, period=SEPTEMBER)


@pytest.fixture(scope="module")
def schools(facts: LedgerFacts) -> dict[str, SchoolTable]:
    return school_tables(facts, as_of=AS_OF, period=SEPTEMBER)


@pytest.fixture(scope="module")
def teacher(facts: LedgerFacts) -> TeacherTable:
    tables = teacher_tables(facts, as_of=AS_OF, period=SEPTEMBER)
    return max(tables.values(), key=lambda t: (len(t.rows), t.staff_id))


def _book(tmp_path: Path, items: list[Any], name: str = "form.xlsx") -> Any:
    """The workbook written, read back (typed loosely: the tests read its cells)."""
    path = tmp_path / name
    write_xlsx(items, path)
    return openpyxl.load_workbook(path)


def _sections(book: Any, title: str) -> list[tuple[Any, ...]]:
    """The hidden sheet's rows of one worksheet: (sheet, section, header row, first row,
    last row, key of each column)."""
    rows = book[KEYS_SHEET].iter_rows(min_row=2, values_only=True)
    return [r for r in rows if r[0] == title]


def _merged(ws: Any) -> set[str]:
    return {str(r) for r in ws.merged_cells.ranges}


def _printed(ws: Any) -> list[Any]:
    return [c.value for row in ws.iter_rows() for c in row if c.value is not None]


def _column(keys: tuple[Any, ...], key: str) -> int:
    return keys.index(key) + 1


def test_the_county_form_has_a_title_a_caption_grouped_headers_and_one_total(
    county: CountyTable, tmp_path: Path
) -> None:
    book = _book(tmp_path, [county_sheet(county)])
    ws = book["信息汇总表"]
    assert ws["A1"].value == "广平县留守儿童信息汇总表"
    assert ws["A1"].font.bold
    caption = ws["A2"].value
    assert caption.startswith("填报单位 广平县（130432）")
    for part in ("统计时点 2026-09-30", "统计期 2026-09-01 至 2026-09-30", "口径 "):
        assert part in caption
    (section,) = _sections(book, ws.title)
    _, key, header, first, last, *keys = section
    assert (key, header, first) == ("county", 3, 5)
    keys_ = tuple(keys)
    served, single = _column(keys_, "served"), _column(keys_, "category.single_parent")
    cell = ws.cell(3, served)
    assert cell.value == "关爱对象"
    merged = _merged(ws)
    assert f"{cell.coordinate}:{ws.cell(3, single).coordinate}" in merged
    assert ws.cell(4, served).value == "人数"
    assert ws.cell(4, _column(keys_, "category.left_behind_both")).value == "双亲外出"
    male, female = _column(keys_, "sex.male"), _column(keys_, "sex.female")
    assert ws.cell(3, male).value == "性别"
    assert f"{ws.cell(3, male).coordinate}:{ws.cell(3, female).coordinate}" in merged
    assert (ws.cell(4, male).value, ws.cell(4, female).value) == ("男", "女")
    enrolled = ws.cell(3, _column(keys_, "enrolled"))
    assert enrolled.value == "在校学生"
    assert f"{enrolled.coordinate}:{ws.cell(4, enrolled.column).coordinate}" in merged
    rates = ws.cell(3, _column(keys_, "rate.talk"))
    assert rates.value == "职责完成率"
    assert ws.cell(4, rates.column).value == "谈心"
    assert ws.cell(3, _column(keys_, "opening")).value == "动态"
    assert [ws.cell(4, _column(keys_, k)).value for k in ("opening", "closing")] == [
        "期初",
        "期末",
    ]
    # The machine keys are on the hidden sheet only.
    assert book[KEYS_SHEET].sheet_state == "hidden"
    assert not set(keys_) & {v for v in _printed(ws) if isinstance(v, str)}
    assert not any("." in str(v) and str(v).isascii() for v in _printed(ws) if isinstance(v, str))
    # One total (the county's is the grand total), bold; subtotals bold; schools not.
    labels = [ws.cell(r, 1).value for r in range(first, last + 1)]
    schools = [ws.cell(r, 2).value for r in range(first, last + 1)]
    assert labels.count("合计") == 1
    assert "总计" not in _printed(ws)
    assert labels[-1] == "合计"
    assert f"A{last}:B{last}" in merged
    for r, school in zip(range(first, last + 1), schools, strict=True):
        bold = ws.cell(r, _column(keys_, "served")).font.bold
        assert bold == (school in ("小计", None)), (r, school)
    townships = {k[1] for k in county.schools()}
    assert schools.count("小计") == len(townships)
    # A township's name is merged down over its schools and its subtotal.
    assert sum(1 for m in merged if re.fullmatch(r"A\d+:A\d+", m)) >= 1


def test_the_county_form_prints_on_a4_landscape_one_page_wide(
    county: CountyTable, tmp_path: Path
) -> None:
    book = _book(tmp_path, [county_sheet(county)])
    ws = book["信息汇总表"]
    (section,) = _sections(book, ws.title)
    last_column = openpyxl.utils.get_column_letter(len(section) - 5)
    setup = ws.page_setup
    assert setup.orientation == "landscape"
    assert str(setup.paperSize) == str(ws.PAPERSIZE_A4)
    assert (int(setup.fitToWidth), int(setup.fitToHeight)) == (1, 0)
    assert ws.sheet_properties.pageSetUpPr.fitToPage
    assert ws.print_title_rows == "$1:$4"  # the title, the caption and both header rows
    assert ws.print_area == f"'信息汇总表'!$A$1:${last_column}${ws.max_row}"
    assert "&P" in ws.oddFooter.center.text
    assert "&N" in ws.oddFooter.center.text
    assert ws.oddFooter.center.text.startswith("第")
    # Signature line, under the table.
    signature = [c.value for c in ws[ws.max_row] if c.value]
    assert signature[:3] == ["填表人：", "审核人：", "单位负责人："]
    assert signature[3].startswith("填报日期：")
    # Widths: every column set, as wide as its content (a CJK character counts double).
    _, _, _, first, last, *keys = section
    for j in range(1, len(keys) + 1):
        letter = openpyxl.utils.get_column_letter(j)
        width = ws.column_dimensions[letter].width
        assert width is not None, letter
        assert width > 3, letter
        for r in range(first, last + 1):
            value = ws.cell(r, j).value
            if isinstance(value, str) and ws.cell(r, j).coordinate not in {
                str(m).split(":")[0] for m in ws.merged_cells.ranges
            }:
                assert width >= cell_len(value) * 0.9, (letter, value, width)
    school = ws.column_dimensions["B"].width
    assert school > ws.column_dimensions[openpyxl.utils.get_column_letter(len(keys))].width
    # Numbers right-aligned as numbers, rates as percentages.
    served = ws.cell(last, keys.index("served") + 1)
    assert isinstance(served.value, int)
    assert served.number_format == "#,##0"
    assert served.alignment.horizontal == "right"
    share = ws.cell(last, keys.index("share") + 1)
    assert isinstance(share.value, float)
    assert share.number_format == "0.0%"
    assert ws.freeze_panes == "C5"


def test_two_counties_print_each_total_and_one_grand_total(
    county: CountyTable, tmp_path: Path
) -> None:
    other = attrs.evolve(county_facts(7, 400), county="肥乡区", county_code="130428")
    both = merge(county, county_table(other, as_of=AS_OF, period=SEPTEMBER))
    sheet = county_sheet(both)
    assert [c.key for c in sheet.columns][:3] == ["county", "township", "school"]
    assert sheet.title == "留守儿童信息汇总表"
    assert "广平县（130432）、肥乡区（130428）" in sheet.caption
    values = sheet.values()
    assert [v[1] for v in values].count("合计") == 2
    assert [v[0] for v in values].count("总计") == 1
    book = _book(tmp_path, [sheet])
    ws = book.worksheets[0]
    (section,) = _sections(book, ws.title)
    last = section[4]
    assert ws.cell(last, 1).value == "总计"
    assert f"A{last}:C{last}" in _merged(ws)
    assert ws.cell(last, 4).font.bold
    text = render_text(sheet, width=100)
    assert "广平县合计" in text
    assert "肥乡区合计" in text
    assert "总计" in text


@pytest.mark.parametrize("lang", ["zh_TW", "en"])
def test_the_forms_speak_the_language_of_the_moment(
    lang: str,
    county: CountyTable,
    schools: dict[str, SchoolTable],
    teacher: TeacherTable,
    tmp_path: Path,
) -> None:
    school = next(t for t in schools.values() if t.movements)
    with use(lang):
        forms = [county_sheet(county), school_form(school), teacher_form(teacher)]
    book = _book(tmp_path, forms)
    traditional = opencc.OpenCC("s2t")
    data = {"广平县", school.school.name, school.school.township, teacher.staff_name}
    for ws in book.worksheets[:3]:
        words: list[str] = [ws["A1"].value, ws["A2"].value]
        for _, _, header, first, *_ in _sections(book, ws.title):
            for r in range(int(header), int(first)):
                words += [c.value for c in ws[r] if isinstance(c.value, str)]
        words += [c.value for c in ws[ws.max_row] if c.value]
        headings = [ws.cell(int(h) - 1, 1).value for _, _, h, *_ in _sections(book, ws.title)]
        if ws.title != book.sheetnames[0] or lang == "en":
            words += [h for h in headings if h]
        for word in words:
            for name in sorted(data, key=len, reverse=True):  # names are data: as written
                word = word.replace(name, "")
            if lang == "zh_TW":  # OpenCC's 佔比 is written 占比
                assert traditional.convert(word).replace("佔", "占") == word, (ws.title, word)
            else:
                assert not CJK.search(word), (ws.title, word)
    first = book.worksheets[0]
    if lang == "zh_TW":
        assert first["A1"].value == "广平县留守兒童信息匯總表"  # the county's name is data
        assert first["A2"].value.startswith("填報單位 广平县（130432）")
        assert first.cell(3, 3).value == "在校學生"
        assert "關愛對象" in [c.value for c in first[3]]
        assert next(c.value for c in first[first.max_row] if c.value) == "填表人："
    else:
        assert first["A1"].value == "Summary table of left-behind children, 广平县"
        assert first["A2"].value.startswith("Reporting unit 广平县 (130432)")
        assert "Children served" in [c.value for c in first[3]]
        assert next(c.value for c in first[first.max_row] if c.value) == "Prepared by:"
        assert first.oddFooter.center.text == "Page &P of &N"


def text_has(text: str, sheet: Any, key: str) -> bool:
    """Whether the header of the column ``key`` is in the text's header (folded or not)."""
    head = text.split("─")[0]
    column = next(c for c in sheet.columns if c.key == key)
    header = column.brief or column.header
    words = header.split() if " " in header or "\n" in header else [header[:4], header[4:]]
    return all(w in head for w in words if w)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_terminal_summary_fits_the_width_and_columns_choose(
    lang: str, county: CountyTable
) -> None:
    with use(lang):
        sheet = county_sheet(county)
        text = render_text(sheet, width=100)
        whole = render_text(sheet)
        chosen = render_text(sheet, columns=["served", "rate.talk"])
    widths = [cell_len(line) for line in text.splitlines()]
    assert max(widths) <= 100
    assert max(cell_len(line) for line in whole.splitlines()) > 100  # the whole table
    shown = [c.key for c in summary_columns(sheet, width=100)]
    assert shown[:4] == ["place", "enrolled", "served", "share"]
    assert "category.left_behind_both" in shown
    assert len(shown) < len(sheet.columns)
    assert [c.key for c in summary_columns(sheet, width=400)][-1] == "national"
    assert all(c.header in whole for c in sheet.columns)
    assert all(text_has(text, sheet, k) for k in ("enrolled", "served", "share"))
    if lang == "en":
        head = [line for line in text.splitlines() if "─" not in line][:5]
        assert not any(CJK.search(line.replace("广平县", "")) for line in head)
    assert [c.key for c in summary_columns(sheet, columns=["served", "rate.talk"])] == [
        "place",
        "served",
        "rate.talk",
    ]
    with use(lang):
        assert text_has(chosen, sheet, "served")
        assert text_has(chosen, sheet, "rate.talk")
        assert not text_has(chosen, sheet, "enrolled")
    with pytest.raises(ValueError, match="no column nonsense"):
        render_text(sheet, columns=["nonsense"])


def test_the_school_form_has_a_row_per_grade_adding_up_to_the_school(
    facts: LedgerFacts, schools: dict[str, SchoolTable], tmp_path: Path
) -> None:
    grades = grade_counts(facts, as_of=AS_OF, period=SEPTEMBER)
    assert set(grades) <= set(schools)
    for sid, by_grade in grades.items():
        for key in ("enrolled", "served", "category.left_behind_both", "sex.male"):
            total = sum(c.get(key, 0) for c in by_grade.values())
            assert total == schools[sid].counts.get(key, 0), (sid, key)
    sid = max(grades, key=lambda s: len(grades[s]))
    form = school_form(schools[sid], grades[sid])
    grid = form.sections[0]
    labels = [r[0] for r in grid.rows]
    assert labels == [f"{g}年级" for g in sorted(grades[sid])] + ["合计"]
    assert [grid.level_of(r) for r in grid.rows][-1] == 2
    wrong = {g: dict(c, enrolled=c["enrolled"] + 1) for g, c in grades[sid].items()}
    assert [r[0] for r in school_form(schools[sid], wrong).sections[0].rows] == ["合计"]
    forms = [school_form(t, grades.get(s)) for s, t in schools.items()]
    book = _book(tmp_path, forms)
    assert book.sheetnames == [t.school.name for t in schools.values()] + [KEYS_SHEET]
    ws = book[schools[sid].school.name]
    assert ws["A1"].value == "广平县留守儿童动态状况表"
    assert ws["A2"].value.startswith(f"学校 {schools[sid].school.name}（{sid}）")
    sections = _sections(book, ws.title)
    assert [s[1] for s in sections] == [
        "grades",
        "dynamics",
        "duties",
        "care",
        "movements",
        "overdue",
    ]
    headings = [ws.cell(int(s[2]) - 1, 1).value for s in sections]
    assert headings[0] == "一、在校学生与关爱对象（按年级）"
    assert headings[-1] == "六、逾期名单"
    printed = _printed(ws)
    assert "项目" not in printed
    assert "键" not in printed
    assert "7年级" in printed or "1年级" in printed
    _, _, _, first, last, *_ = sections[0]
    assert ws.cell(last, 1).value == "合计"
    assert ws.cell(last, 1).font.bold
    assert not ws.cell(first, 1).font.bold
    assert ws.print_title_rows == "$1:$2"
    assert next(c.value for c in ws[ws.max_row] if c.value) == "填表人："
    dynamics = sections[1]
    header = int(dynamics[2])
    assert {ws.cell(header, j).value for j in range(1, ws.max_column + 1)} >= {"新增", "减少"}
    assert {ws.cell(header + 1, j).value for j in range(1, ws.max_column + 1)} >= {
        "入学",
        "父母返乡",
        "小计",
    }


def test_the_teacher_form_has_contacts_and_duties_in_two_parts(
    teacher: TeacherTable, tmp_path: Path
) -> None:
    book = _book(tmp_path, [teacher_form(teacher)])
    ws = book.worksheets[0]
    assert ws.title == teacher.staff_name
    assert ws["A1"].value == "广平县留守儿童联络信息表"
    assert ws["A2"].value.startswith(f"教职工 {teacher.staff_name}（{teacher.staff_id}）")
    contacts, duties = _sections(book, ws.title)
    assert "guardian_phone" in contacts
    assert "due.talk" not in contacts
    assert any(str(k).startswith("due.") for k in duties)
    header = int(contacts[2])
    assert {c.value for c in ws[header]} >= {"第二监护人", "父亲", "母亲"}
    assert {c.value for c in ws[header + 1]} >= {"姓名", "关系", "电话", "状况", "务工地"}
    assert ws.cell(int(duties[2]) - 1, 1).value == "二、本期职责完成情况"
    phones = contacts[5:].index("father_phone") + 1
    for r in range(int(contacts[3]), int(contacts[4]) + 1):
        value = ws.cell(r, phones).value
        assert value is None or "****" in value


@pytest.fixture(scope="module")
def handle(tmp_path_factory: pytest.TempPathFactory) -> Iterator[County]:
    data = synthetic_county(seed=5, children=150, as_of=date(2026, 6, 30))
    actor = leftbehind.Actor.system("tests")
    url = f"sqlite:///{tmp_path_factory.mktemp('forms') / 'county.db'}"
    with leftbehind.open(url, actor=actor, today=lambda: date(2026, 6, 30)) as county:
        load(county, data)
        county.set_county("广平县", "130432")
        yield county


def test_exports_print_a_sheet_per_school_with_its_grades(handle: County, tmp_path: Path) -> None:
    path = handle.export_ledger("schools", format="xlsx", path=tmp_path / "s.xlsx")
    book: Any = openpyxl.load_workbook(path)
    names = [s.name for s in handle.schools().values()]
    assert sorted(book.sheetnames[:-1]) == sorted(names)
    tables = handle.school_tables(date(2026, 6, 30))
    for table in tables.values():
        ws = book[table.school.name]
        (grid, *_) = _sections(book, ws.title)
        rows = [ws.cell(r, 1).value for r in range(int(grid[3]), int(grid[4]) + 1)]
        assert rows[-1] == "合计"
        if table.counts.get("enrolled"):
            assert len(rows) > 1
            assert all(str(r).endswith("年级") for r in rows[:-1])
    one = max(tables, key=lambda sid: tables[sid].counts.get("enrolled", 0))
    path = handle.export_ledger("school", key=one, format="xlsx", path=tmp_path / "one.xlsx")
    single: Any = openpyxl.load_workbook(path)
    assert single.sheetnames == [tables[one].school.name, KEYS_SHEET]
    (grid, *_) = _sections(single, tables[one].school.name)
    ws = single.worksheets[0]
    rows = [ws.cell(r, 1).value for r in range(int(grid[3]), int(grid[4]) + 1)]
    assert rows == [
        book[tables[one].school.name].cell(r, 1).value
        for r in range(int(grid[3]), int(grid[4]) + 1)
    ]
    assert len(rows) > 1


def test_exports_choose_the_text_columns_and_the_csv_header(handle: County, tmp_path: Path) -> None:
    ctx = handle._ctx  # the options the command line is to pass
    text = exports.export_ledger(
        ctx,
        "county",
        key=None,
        as_of=None,
        format="text",
        path=None,
        unmasked=False,
        width=100,
    )
    assert max(cell_len(line) for line in text.splitlines()) <= 100
    assert "填报单位 广平县（130432）" in text.replace("\n", "")
    chosen = exports.export_ledger(
        ctx,
        "county",
        key=None,
        as_of=None,
        format="text",
        path=None,
        unmasked=False,
        columns=["national"],
    )
    assert "国家口径" in chosen
    assert "在校学生" not in chosen
    path = exports.export_ledger(
        ctx,
        "county",
        key=None,
        as_of=None,
        format="csv",
        path=tmp_path / "c.csv",
        unmasked=False,
        header="keys",
    )
    rows = list(csv.reader(io.StringIO(Path(path).read_text("utf-8-sig"))))
    assert rows[0][:4] == ["township", "school", "enrolled", "served"]
    assert rows[-1][0] == "合计"
    with pytest.raises(ValueError, match="labels or keys"):
        exports.export_ledger(
            ctx,
            "county",
            key=None,
            as_of=None,
            format="csv",
            path=tmp_path / "d.csv",
            unmasked=False,
            header="both",  # type: ignore[arg-type]
        )
