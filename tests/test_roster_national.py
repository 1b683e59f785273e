"""Rosters as schools and villages really keep them: the 2016 national registration form
(农村留守儿童基本情况登记表) with its title, 填报 line, two-row merged header, 序号, 合计 row and
footer; dates, phones, grades and empty cells as clerks write them; a roster without its 状态
columns. Every file is written in the test (openpyxl, or CSV as WPS saves it) and read back."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests import national
from tests.national import COLUMNS, REPORT_DATE, birth_of, pupil
from tests.sheets import SCHOOLS, TODAY, fill

import leftbehind
from leftbehind.access import Actor
from leftbehind.cli import main
from leftbehind.domain.eligibility import Category
from leftbehind.domain.i18n import use
from leftbehind.domain.model import Guardianship
from leftbehind.io.roster_columns import COLUMNS_BY_KEY, ROSTER_COLUMNS
from leftbehind.io.roster_read import MonthDate, grade_of, parse_cell, read_roster
from leftbehind.service import County
from leftbehind.testing.synthetic import resident_id

SYSTEM = Actor.system("tests")
PUPILS = 30


@pytest.fixture
def county(tmp_path: Path) -> Iterator[County]:
    with leftbehind.open(str(tmp_path / "county.db"), actor=SYSTEM, today=lambda: TODAY) as c:
        c.import_files([fill(tmp_path / "学校名册.xlsx", "schools", SCHOOLS)])
        yield c


def secrets(n: int) -> list[str]:
    """What no message may repeat: names, IDs, phones, places of pupil ``n``."""
    p = pupil(n)
    return [
        str(p[("", "姓名")]),
        str(p[("", "身份证号")]),
        str(p[("母亲情况", "联系电话")]),
        str(p[("母亲情况", "姓名")]),
        "广东深圳",
        "前进村",
        "13812340",
    ]


def messages(report: Any) -> list[str]:
    return [str(i) for i in (*report.issues, *report.warnings, *report.skipped)]


# ---------------------------------------------------------------------------------------------
# The national form.


@pytest.mark.parametrize("script", ["zh_CN", "zh_TW"])
@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_the_national_form_creates_one_child_per_pupil(
    county: County, tmp_path: Path, script: str, fmt: str
) -> None:
    write = national.write_xlsx if fmt == "xlsx" else national.write_csv
    path = write(tmp_path / f"登记表.{fmt}", [pupil(n) for n in range(PUPILS)], script)
    report = county.import_roster(path)
    assert report.ok, [str(i) for i in report.issues]
    assert report.written
    assert (report.rows, report.created, report.rejected) == (PUPILS, PUPILS, 0)
    assert len(list(county.children())) == PUPILS
    # The rows that are no pupil, each by its number and why: never a pupil, never dropped.
    last = 4 + PUPILS
    assert [(i.row, i.code) for i in report.skipped] == [
        (1, "title_row"),
        (2, "title_row"),
        (last + 1, "total_row"),
        (last + 2, "blank_row"),
        (last + 3, "footer_row"),
    ]
    # What the import had to assume or ignore, each by row, column and code.
    codes = {(w.code, w.key) for w in report.warnings}
    assert codes == {
        ("enrolled_since_assumed", "enrolled_since"),
        ("unknown_column", ""),  # 备注
        ("hukou_address", "hukou"),
        ("month_only", "father_away_since"),
        ("status_unknown", "father_status"),
    }
    deceased = {w.row for w in report.warnings if w.code == "status_unknown"}
    assert deceased == {5 + n for n in range(PUPILS) if n % 7 == 6}
    unknown = next(w for w in report.warnings if w.code == "unknown_column")
    assert (unknown.row, unknown.index) == (3, len(COLUMNS))
    month = next(w for w in report.warnings if w.code == "month_only")
    assert (month.row, month.index) == (5, 15)  # O: 父亲情况/外出时间
    assert month.column == national._s("父亲情况/外出时间", script)
    for n in range(PUPILS):
        assert not any(s in m for s in secrets(n) for m in messages(report))
    # Importing the same form again changes nothing.
    assert county.import_roster(path).unchanged == PUPILS


def test_the_national_form_maps_to_the_childs_facts(county: County, tmp_path: Path) -> None:
    path = national.write_xlsx(tmp_path / "登记表.xlsx", [pupil(n) for n in range(PUPILS)])
    assert county.import_roster(path).ok
    by_name = {c.name: c for c in county.children()}
    for n in range(PUPILS):
        c = by_name[f"学生{n:02d}"]
        # A month-only birth takes the ID's day; a dotted date is read in full.
        assert c.birth_date == birth_of(n)
        assert c.rural_hukou
        assert c.address == "河北省邯郸市广平县东张孟乡前进村"
        assert c.guardianship == (Guardianship.GOOD, Guardianship.FAIR, Guardianship.POOR)[n % 3]
        assert c.guardian is not None
        assert (c.guardian.relation, c.guardian.phone) == ("祖母", "0310-2345678")
        (e,) = c.enrolments
        assert e.start == date(2025, 9, 1)  # the school year of 填报日期
        # 三年级 on 16 March 2026 is 四年级 on 27 November 2026.
        junior = n % 5 == 4
        stated = (7, 8, 9)[n % 3] if junior else n % 6 + 1
        assert (e.grade, e.grade_on(TODAY)) == (stated, stated + 1)
        assert c.mother is not None
        (spell,) = c.mother.absences
        assert (spell.start, spell.place, c.mother.phone) == (
            date(2025, 2, 10),
            "北京",
            f"{13912340000 + n}",
        )
        if n % 7 == 6:
            assert c.father is None  # "—" in every cell: the status cannot be told
            decision = county.decision(c.id)  # and the decision says a fact is missing
            assert (decision.categories, bool(decision.missing)) == (frozenset(), True)
        else:
            assert c.father is not None
            (spell,) = c.father.absences
            assert (spell.start, spell.place, spell.start_assumed) == (
                date(2025, 3, 1),
                "广东深圳",
                False,
            )
            assert c.father.phone == f"{13812340000 + n}"  # stored as a number
            assert county.decision(c.id).categories == {Category.LEFT_BEHIND_BOTH}


def test_without_a_date_away_the_timeline_starts_at_the_forms_date(
    county: County, tmp_path: Path
) -> None:
    """The form lacks 外出时间: the spell starts on 填报日期, the child is counted from that day
    (the form says the parents are away), and the reasons say so."""
    keep = [i for i, (_, field) in enumerate(COLUMNS) if field != "外出时间"]
    rows = national.lines([pupil(n) for n in range(3)])
    path = tmp_path / "登记表.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    for row in rows:
        ws.append([row[i] for i in keep])
    wb.save(path)
    report = county.import_roster(path)
    assert report.ok
    assert report.created == 3
    assumed = [(w.row, w.key) for w in report.warnings if w.code == "away_since_assumed"]
    assert assumed == [(r, f"{p}_away_since") for r in (5, 6, 7) for p in ("father", "mother")]
    assert all(w.index == 0 for w in report.warnings if w.code == "away_since_assumed")
    child = next(c for c in county.children() if c.name == "学生00")
    assert child.father is not None
    (spell,) = child.father.absences
    assert (spell.start, spell.start_assumed) == (REPORT_DATE, True)
    assert county.decision(child.id, REPORT_DATE - timedelta(days=1)).categories == set()
    decision = county.decision(child.id, REPORT_DATE)
    assert decision.categories == {Category.LEFT_BEHIND_BOTH}
    (father, _) = sorted(decision.reasons, key=lambda r: r.code)
    assert father.assumed
    with use("zh_CN"):
        assert (
            father.text
            == "父亲外出务工（广东深圳），开始日期不详：按登记表填报日期2026-03-16起算（推定）"
        )
    with use("en"):
        assert "(assumed)" in father.text


def test_strict_refuses_what_the_import_would_assume(county: County, tmp_path: Path) -> None:
    path = national.write_xlsx(tmp_path / "登记表.xlsx", [pupil(n) for n in range(8)])
    report = county.import_roster(path, strict=True)
    assert not report.ok
    assert not report.written
    assert report.warnings == ()
    assert {"month_only", "hukou_address", "status_unknown"} <= {i.code for i in report.issues}
    assert list(county.children()) == []
    files = county.import_files([path], strict=True)
    assert not files.ok
    assert list(county.children()) == []


# ---------------------------------------------------------------------------------------------
# A roster without its 状态 columns: nothing dropped silently.


def test_a_roster_without_status_columns_tells_or_warns(county: County, tmp_path: Path) -> None:
    keys = ["name", "sex", "birth_date", "school", "grade", "enrolled_since", "hukou",
            "father_name", "father_away_since", "father_work_place", "mother_name",
            "mother_phone"]  # fmt: skip
    rows: list[list[Any]] = [
        ["王小明", "男", date(2016, 3, 1), "东张孟中心小学", "四年级", date(2023, 9, 1), "农村",
         "王大明", "2025.03.01", "北京", "李红", 13912345678],
        ["王小红", "女", "2016/4/2", "东张孟中心小学", "4年级", "2023/9/1", "农村",
         None, None, None, None, None],
    ]  # fmt: skip
    path = tmp_path / "花名册.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append([COLUMNS_BY_KEY[k].header for k in keys])
    for row in rows:
        ws.append(row)
    wb.save(path)
    report = county.import_roster(path)
    assert report.ok, [str(i) for i in report.issues]
    assert report.created == 2
    assert [(w.row, w.key, w.code) for w in report.warnings] == [
        (2, "father_status", "status_assumed"),
        (2, "mother_status", "status_unknown"),
    ]
    assert all(w.index == 0 for w in report.warnings)  # the file has no such column
    assert not any(s in m for s in ("王", "李红", "13912345678") for m in messages(report))
    first = next(c for c in county.children() if c.name == "王小明")
    assert first.father is not None
    assert first.father.absences[0].start == date(2025, 3, 1)
    assert first.mother is None
    strict = county.import_roster(path, dry_run=True, strict=True)
    assert {(i.row, i.code) for i in strict.issues} == {
        (2, "status_assumed"),
        (2, "status_unknown"),
    }


def test_a_title_row_above_the_template_header_is_skipped(county: County, tmp_path: Path) -> None:
    path = tmp_path / "花名册.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["东张孟中心小学留守儿童花名册（2026年秋季）"])
    ws.append([c.header for c in ROSTER_COLUMNS])
    ws.append([c.key for c in ROSTER_COLUMNS])
    ws.append([None] * 5 + ["—"])
    values = {"name": "张三", "sex": "男", "birth_date": date(2016, 3, 1),
              "school": "S001", "grade": "初中一年级", "enrolled_since": date(2025, 9, 1),
              "hukou": "农村"}  # fmt: skip
    ws.append([values.get(c.key) for c in ROSTER_COLUMNS])
    ws.append(["小计", 1])
    wb.save(path)
    report = county.import_roster(path)
    assert report.ok, [str(i) for i in report.issues]
    assert report.created == 1
    assert [(i.row, i.code) for i in report.skipped] == [(1, "title_row"), (4, "blank_row"),
                                                         (6, "total_row")]  # fmt: skip
    (child,) = county.children()
    assert child.enrolments[0].grade_on(TODAY) == 7  # no 填报日期: the grade is today's


# ---------------------------------------------------------------------------------------------
# Cells as clerks write them.


def cell(value: object, key: str) -> object:
    return parse_cell(value, COLUMNS_BY_KEY[key])


def code_of(value: object, key: str) -> str:
    try:
        cell(value, key)
    except Exception as exc:  # the reader's own error, with its code
        return str(getattr(exc, "code", type(exc).__name__))
    return ""


DAYS = st.dates(min_value=date(1950, 1, 1), max_value=date(2099, 12, 31))


@given(DAYS)
def test_a_date_in_every_written_form_reads_as_that_date(d: date) -> None:
    serial = (d - date(1899, 12, 30)).days
    forms: list[object] = [
        f"{d.year}年{d.month}月{d.day}日",
        f"{d.year}年{d.month}月{d.day}号",
        f"{d:%Y.%m.%d}",
        f"{d.year}.{d.month}.{d.day}",
        f"{d.year}/{d.month}/{d.day}",
        f"{d.year}/{d.month}/{d.day} 0:00",
        f"{d:%Y-%m-%d}",
        f"{d:%Y%m%d}",
        int(f"{d:%Y%m%d}"),
        serial,
        float(serial),
        datetime(d.year, d.month, d.day),
    ]
    for form in forms:
        for key in ("birth_date", "enrolled_since"):
            assert cell(form, key) == d, form


@given(DAYS)
def test_a_month_only_date_is_a_month_where_the_fact_allows_it(d: date) -> None:
    for form in (f"{d.year}年{d.month}月", f"{d.year}.{d.month:02d}", f"{d.year}-{d.month}",
                 f"{d.year}/{d.month}"):  # fmt: skip
        for key in ("birth_date", "father_away_since", "mother_away_since"):
            value = cell(form, key)
            assert type(value) is MonthDate
            assert value == date(d.year, d.month, 1)
        for key in ("enrolled_since", "father_back_on", "left_on", "father_status_since"):
            assert code_of(form, key) == "date_month_only"


def test_impossible_dates_and_times_are_refused() -> None:
    assert code_of("2015年2月30日", "birth_date") == "date_invalid"
    assert code_of("2015年13月", "birth_date") == "date_invalid"
    assert code_of(datetime(2015, 3, 1, 8, 30), "birth_date") == "date_format"
    assert code_of(42076.5, "birth_date") == "date_format"
    assert code_of(2015, "birth_date") == "date_format"  # a year alone is no date
    assert code_of("下个月", "birth_date") == "date_format"


@pytest.mark.parametrize("empty", ["—", "——", "-", "/", "无", "無", "－", "／", " — "])
def test_a_cell_saying_nothing_is_blank(empty: str) -> None:
    for key in ("father_name", "father_phone", "father_away_since", "health", "boarding",
                "health_note", "guardian_name"):  # fmt: skip
        assert cell(empty, key) is None
    # …except where a column has it as a choice: 监护能力 无 is "no capacity".
    if empty in ("无", "無"):
        assert cell(empty, "father_capacity") == "no"


def test_phones_stored_as_numbers_keep_their_digits_and_ids_never_do() -> None:
    assert cell(13812345678, "father_phone") == "13812345678"
    assert cell(13812345678.0, "guardian_phone") == "13812345678"
    assert code_of(1.30432201603010011e17, "resident_id") == "type"
    rid = next(r for n in range(20) if (r := resident_id("130432", date(2016, 3, 1), n)).isdigit())
    assert cell(int(rid), "resident_id") == rid  # an int keeps every digit


GRADE_FORMS = {
    n: [str(n), f"{n}年级", f"{n}年級", f"{'一二三四五六七八九'[n - 1]}年级",
        f"{'一二三四五六七八九'[n - 1]}年級", f" {n} 年级 ", f"{chr(0xFF10 + n)}年级"]
    + ([f"小学{'一二三四五六'[n - 1]}年级", f"小學{n}年級"] if n <= 6 else [])
    + ([f"初{'一二三'[n - 7]}", f"初{n - 6}", f"初中{'一二三'[n - 7]}年级",
        f"初中{'一二三'[n - 7]}年級"] if n >= 7 else [])
    for n in range(1, 10)
}  # fmt: skip


@given(st.sampled_from([(n, f) for n, forms in GRADE_FORMS.items() for f in forms]))
def test_every_common_spelling_of_a_grade_reads_as_its_number(case: tuple[int, str]) -> None:
    n, form = case
    assert grade_of(form) == n
    assert cell(form, "grade") == n


@pytest.mark.parametrize("form", ["高一", "初四", "小学七年级", "十年级", "三年级二班", "年级"])
def test_grades_the_roster_does_not_hold_are_refused(form: str) -> None:
    assert grade_of(form) is None
    assert code_of(form, "grade") == "type"


# ---------------------------------------------------------------------------------------------
# The count of children is the count of pupils, whatever surrounds them.


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(pupils=st.integers(min_value=1, max_value=40), fmt=st.sampled_from(["xlsx", "csv"]))
def test_the_count_of_children_is_the_count_of_pupils(
    tmp_path_factory: pytest.TempPathFactory, pupils: int, fmt: str
) -> None:
    folder = tmp_path_factory.mktemp("count")
    write = national.write_xlsx if fmt == "xlsx" else national.write_csv
    path = write(folder / f"登记表.{fmt}", [pupil(n) for n in range(pupils)])
    report = read_roster(path)
    assert report.ok
    assert len(report.rows) == pupils
    assert report.report_date == REPORT_DATE
    assert report.header_row == 4


# ---------------------------------------------------------------------------------------------
# The command line.


def test_the_cli_prints_the_warnings_and_skipped_rows_and_strict_refuses(tmp_path: Path) -> None:
    store = str(tmp_path / "county.db")
    runner = CliRunner()
    init = runner.invoke(main, ["init", "--name", "广平县", "--code", "130432", "--store", store])
    assert init.exit_code == 0, init.output
    schools = fill(tmp_path / "学校名册.xlsx", "schools", SCHOOLS)
    form = national.write_xlsx(tmp_path / "登记表.xlsx", [pupil(n) for n in range(PUPILS)])
    strict = runner.invoke(main, ["import", str(schools), str(form), "--store", store, "--strict"])
    assert strict.exit_code == 1
    assert "[month_only]" in strict.stderr
    with leftbehind.open(store, actor=SYSTEM) as c:
        assert list(c.children()) == []
    done = runner.invoke(main, ["import", str(schools), str(form), "--store", store])
    assert done.exit_code == 0, done.output
    assert f"新增 {PUPILS}" in done.stdout
    err = done.stderr
    assert "登记表 第5–34行 G列「户籍所在地」" in err
    assert "[hukou_address]" in err
    assert "登记表 第11、18、25、32行「父亲状态」" in err
    assert "[status_unknown]" in err
    assert "登记表：跳过的行（合计行）：35 [total_row]" in err
    assert "登记表：跳过的行（签名栏）：37 [footer_row]" in err
    for n in range(PUPILS):
        assert not any(s in err for s in secrets(n))
    as_json = runner.invoke(main, ["import", str(form), "--store", store, "--json"])
    data = json.loads(as_json.stdout)
    assert data["kinds"]["roster"]["unchanged"] == PUPILS
    skipped = [(s["row"], s["code"]) for s in data["skipped"]]
    assert skipped[-2:] == [(36, "blank_row"), (37, "footer_row")]
    assert {w["code"] for w in data["warnings"]} >= {"hukou_address", "status_unknown"}


def test_a_wps_csv_reads_in_gb18030_with_crlf(tmp_path: Path) -> None:
    path = national.write_csv(tmp_path / "登记表.csv", [pupil(n) for n in range(3)])
    raw = path.read_bytes()
    assert b"\r\n" in raw
    raw.decode("gb18030")
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    report = read_roster(path)
    assert report.encoding == "gb18030"
    assert report.rows[0].values["birth_date"] == birth_of(0)
    with path.open(encoding="gb18030", newline="") as f:
        assert len(list(csv.reader(f))) == 4 + 3 + 3
