"""Rosters and templates in both scripts and the English keys.

Guangping's clerks write Simplified Chinese; older sheets are Traditional; an app may speak
English. A roster is read in any of the three — headers and choices, mixed column by column, and
in the other spellings clerks use — and written (templates, exports, the messages of an import)
in the language of the moment. Names, addresses and free text are data and never converted.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import openpyxl
import pytest

import leftbehind
from leftbehind.access import Actor
from leftbehind.domain.i18n import LANGUAGES, text, use
from leftbehind.domain.model import Child
from leftbehind.io.roster import (
    HOME_VISIT_COLUMNS,
    ROSTER_COLUMNS,
    TALK_COLUMNS,
    read_roster,
    roster_facts,
    template_title,
    write_template,
)
from leftbehind.io.roster_columns import (
    CHOICE_VARIANTS,
    COLUMNS_BY_KEY,
    HEADER_VARIANTS,
    ROSTER_READ_COLUMNS,
    TEMPLATE_COLUMNS,
    Column,
    choice_table,
    header_form,
    header_table,
)
from leftbehind.service import County
from leftbehind.testing.synthetic import resident_id, synthetic_facts

SYSTEM = Actor.system("tests")
TODAY = date(2026, 4, 15)
KEYS = [c.key for c in ROSTER_COLUMNS]
SCHOOL = leftbehind.School("S01", "东张孟中心小学", "东张孟乡")


def at(lang: str, column: Column) -> str:
    with use(lang):
        return column.header


def label(lang: str, key: str, choice: str) -> str:
    with use(lang):
        return COLUMNS_BY_KEY[key].label(choice)


def rid(n: int, male: bool = True) -> str:
    return resident_id("130432", date(2016, 3, 1), 2 * n + (1 if male else 0))


def facts(n: int, **changes: Any) -> dict[str, Any]:
    """A row by column key, each choice given by its key (``male``, ``away``)."""
    base: dict[str, Any] = {
        "name": f"王小明{n}",
        "sex": "male",
        "birth_date": date(2016, 3, 1),
        "resident_id": rid(n),
        "school": SCHOOL.name,
        "grade": 3,
        "class_name": "2班",
        "enrolled_since": date(2023, 9, 1),
        "hukou": "rural",
        "village": "東張孟村",  # data: kept in the script the clerk wrote it in
        "boarding": "yes",
        "health": "disabled",
        "health_note": "聽力殘疾",
        "father_name": "王大明",
        "father_status": "away",
        "father_away_since": date(2025, 3, 1),
        "father_work_place": "北京",
        "father_phone": "13812345678",
        "father_capacity": "yes",
        "mother_name": "李紅",
        "mother_status": "divorced_out",
        "mother_status_since": date(2020, 5, 1),
        "mother_capacity": "no",
        "mother_no_capacity_since": date(2021, 1, 1),
        "guardian_name": "王奶奶",
        "guardian_relation": "祖母",
        "abandoned": "no",
    }
    base.update(changes)
    return base


ROWS = [
    facts(1),
    facts(2, sex="female", resident_id=rid(2, male=False), boarding="no", health="healthy",
          health_note=None, father_status="deceased", father_status_since=date(2022, 2, 2),
          father_away_since=None, father_work_place=None, hukou="town"),
    facts(3, left_on=date(2026, 1, 20), leave_reason="transferred", mother_status="unknown",
          mother_status_since=None, mother_capacity=None, mother_no_capacity_since=None),
]  # fmt: skip


def cell(key: str, value: Any, lang: str) -> Any:
    """A row's value as a clerk writing ``lang`` puts it in the cell."""
    if value is not None and COLUMNS_BY_KEY[key].choices:
        return label(lang, key, value)
    return value


def write(path: Path, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> Path:
    """An XLSX as Excel saves it, or a CSV in UTF-8, with one header row."""
    if path.suffix == ".csv":
        with path.open("w", encoding="utf-8-sig", newline="") as f:
            w = csv.writer(f)
            w.writerow(headers)
            for r in rows:
                w.writerow(["" if v is None else str(v) for v in r])
        return path
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Sheet1"
    ws.append(list(headers))
    for r in rows:
        ws.append(list(r))
    wb.save(path)
    return path


def roster_in(path: Path, lang: str, rows: Sequence[Mapping[str, Any]] = ROWS) -> Path:
    """The rows as a clerk writing ``lang`` fills a roster (headers and choices in it)."""
    headers = [at(lang, c) for c in ROSTER_COLUMNS]
    return write(path, headers, [[cell(k, r.get(k), lang) for k in KEYS] for r in rows])


@pytest.fixture
def fresh() -> Iterator[County]:
    with leftbehind.open("memory://", today=lambda: TODAY, actor=SYSTEM) as county:
        county.put_schools([SCHOOL])
        yield county


def imported(path: Path, language: str | None = None) -> dict[str, Child]:
    with leftbehind.open("memory://", today=lambda: TODAY, actor=SYSTEM,
                         language=language) as county:  # fmt: skip
        county.put_schools([SCHOOL])
        report = county.import_roster(path)
        assert report.ok, [str(i) for i in report.issues]
        assert report.created == len(ROWS)
        return {c.id: c for c in county.children()}


# ---------------------------------------------------------------------------------------------
# The vocabulary.


def test_every_header_and_choice_names_one_column_and_one_choice() -> None:
    for columns in (*TEMPLATE_COLUMNS.values(), ROSTER_READ_COLUMNS):
        table = header_table(columns)
        for column in columns:
            for lang in LANGUAGES:
                assert table[header_form(at(lang, column))] is column
            assert table[header_form(column.key)] is column
            for variant in column.variants:
                assert table[header_form(variant)] is column, variant
            choices = choice_table(column)
            for choice in column.choices:
                for lang in LANGUAGES:
                    with use(lang):
                        assert choices[header_form(choice.label)] == choice.key
                        assert choices[header_form(text(choice.label_key))] == choice.key
    assert set(HEADER_VARIANTS) <= {c.key for c in ROSTER_READ_COLUMNS}
    # Chinese headers differ between the scripts where the characters do, and the English
    # headers are the keys.
    assert (at("zh_CN", COLUMNS_BY_KEY["sex"]), at("zh_TW", COLUMNS_BY_KEY["sex"])) == (
        "性别",
        "性別",
    )
    assert [at("en", c) for c in ROSTER_COLUMNS] == KEYS


def test_the_traditional_forms_are_opencc_s_of_the_simplified() -> None:
    """The pairs were made with OpenCC when written, and committed; this checks they still
    agree (OpenCC is a tool of the developers, never needed at run time)."""
    import opencc

    s2tw = opencc.OpenCC("s2tw")
    for columns in TEMPLATE_COLUMNS.values():
        for column in columns:
            assert s2tw.convert(at("zh_CN", column)) == at("zh_TW", column)
            for choice in column.choices:
                with use("zh_CN"):
                    simplified = choice.label
                with use("zh_TW"):
                    assert s2tw.convert(simplified) == choice.label
    for kind in ("roster", "talk", "home_visit", "instructions"):
        with use("zh_CN"):
            simplified = text(f"roster.sheet.{kind}")
        with use("zh_TW"):
            assert s2tw.convert(simplified) == text(f"roster.sheet.{kind}")
    for variants in (*HEADER_VARIANTS.values(), *CHOICE_VARIANTS.values()):
        for v in variants:
            assert s2tw.convert(v) in variants, v


# ---------------------------------------------------------------------------------------------
# Reading in any language.


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_rosters_in_simplified_traditional_and_english_give_the_same_children(
    tmp_path: Path, fmt: str
) -> None:
    got = {lang: imported(roster_in(tmp_path / f"{lang}.{fmt}", lang)) for lang in LANGUAGES}
    assert got["zh_CN"] == got["zh_TW"] == got["en"]
    child = next(c for c in got["zh_CN"].values() if c.name == "王小明2")
    assert child.father is not None
    assert child.father.deceased_on == date(2022, 2, 2)
    assert (child.sex.value, child.boarding, child.rural_hukou) == ("female", False, False)
    first = next(c for c in got["zh_CN"].values() if c.name == "王小明1")
    assert first.village == "東張孟村"  # free text is never converted
    assert first.health_note == "聽力殘疾"
    assert first.mother is not None
    assert first.mother.no_capacity_since == date(2021, 1, 1)


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_a_file_mixing_the_scripts_and_the_clerks_spellings_reads_as_one(
    tmp_path: Path, fmt: str
) -> None:
    """Each column in another language, some as clerks write them (身份证号, 性  别*, 男性, √),
    the choices of each row in yet another language."""
    own = {"resident_id": "身份证号", "sex": " 性  别* ", "boarding": "是否住校",
           "father_phone": "父親手機", "address": "家庭住址"}  # fmt: skip
    headers = [own.get(c.key) or at(LANGUAGES[i % 3], c) for i, c in enumerate(ROSTER_COLUMNS)]
    assert {"年級", "class_name", "入学日期"} <= set(headers)
    spelled: dict[tuple[str, Any], str] = {
        ("sex", "male"): "男性",
        ("boarding", "yes"): "√",
        ("father_status", "away"): "外出打工",
    }
    rows = []
    for n, r in enumerate(ROWS):
        lang = LANGUAGES[(n + 1) % 3]
        rows.append([spelled.get((k, r.get(k))) or cell(k, r.get(k), lang) for k in KEYS])
    mixed = imported(write(tmp_path / f"mixed.{fmt}", headers, rows))
    assert mixed == imported(roster_in(tmp_path / f"zh_CN.{fmt}", "zh_CN"))


def test_one_column_in_two_scripts_is_a_column_twice(fresh: County, tmp_path: Path) -> None:
    headers = [at("zh_CN", c) for c in ROSTER_COLUMNS] + ["性別", "Sex"]
    rows = [[cell(k, ROWS[0].get(k), "zh_CN") for k in KEYS] + ["男", "male"]]
    report = fresh.import_roster(write(tmp_path / "twice.xlsx", headers, rows))
    assert [(i.code, i.column, i.index) for i in report.issues] == [
        ("duplicate_column", "性別", len(KEYS) + 1),
        ("duplicate_column", "Sex", len(KEYS) + 2),
    ]
    assert not report.written


def test_grades_are_read_in_either_script(fresh: County, tmp_path: Path) -> None:
    rows = [facts(1, grade="三年级"), facts(2, grade="三年級", resident_id=rid(2)),
            facts(4, grade="3", resident_id=rid(4))]  # fmt: skip
    report = fresh.import_roster(roster_in(tmp_path / "g.xlsx", "zh_CN", rows))
    assert report.ok, [str(i) for i in report.issues]
    assert {c.enrolments[0].grade for c in fresh.children()} == {1}


def test_the_roster_sheet_is_found_by_its_name_in_any_script(fresh: County, tmp_path: Path) -> None:
    for name in ("花名册", "花名冊", "Roster"):
        wb = openpyxl.Workbook()
        notes = wb.active
        assert notes is not None
        notes.title = "说明"
        notes.append(["姓名", "性别"])  # a sheet before the roster, with headers of its own
        ws = wb.create_sheet(name)
        ws.append([at("zh_CN", c) for c in ROSTER_COLUMNS])
        ws.append([cell(k, ROWS[0].get(k), "zh_CN") for k in KEYS])
        wb.save(tmp_path / "r.xlsx")
        report = fresh.import_roster(tmp_path / "r.xlsx", dry_run=True)
        assert (report.sheet, report.ok, report.created) == (name, True, 1)


# ---------------------------------------------------------------------------------------------
# Writing in the language of the moment.


TITLES = {
    "zh_CN": ("花名册", "说明"),
    "zh_TW": ("花名冊", "說明"),
    "en": ("roster", "instructions"),
}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_template_in_each_language_is_written_in_it_and_reads_back_filled_in(
    fresh: County, tmp_path: Path, lang: str
) -> None:
    with use(lang):
        xlsx = write_template(tmp_path / "t.xlsx")
        csv_path = write_template(tmp_path / "t.csv", format="csv")
    wb = openpyxl.load_workbook(xlsx)
    assert wb.sheetnames == list(TITLES[lang])
    ws = wb[TITLES[lang][0]]
    assert [c.value for c in ws[1]] == [at(lang, c) for c in ROSTER_COLUMNS]
    keys_row = lang != "en"  # in English the headers are the keys
    assert ([c.value for c in ws[2]] == KEYS) is keys_row
    assert ws.freeze_panes == ("A3" if keys_row else "A2")
    lists = {dv.formula1 for dv in ws.data_validations.dataValidation}
    statuses = ("home", "away", "deceased", "missing", "divorced_out", "unknown")
    status = ",".join(label(lang, "father_status", s) for s in statuses)
    assert f'"{status}"' in lists
    assert ('"male,female"' in lists) is (lang == "en")
    notes = [r[0] for r in wb[TITLES[lang][1]].iter_rows(values_only=True)]
    with use(lang):
        assert notes[0] == text("roster.instructions.roster.0")
    assert notes[0] == {"zh_CN": "花名册填写说明", "zh_TW": "花名冊填寫說明"}.get(
        lang, "How to fill the roster"
    )
    lines = list(csv.reader(csv_path.read_text("utf-8-sig").splitlines()))
    assert lines[0] == [at(lang, c) for c in ROSTER_COLUMNS]
    assert (lines[1:] == [KEYS]) is keys_row
    for path in (xlsx, csv_path):
        assert read_roster(path).ok
        assert read_roster(path).rows == ()
    # A clerk fills the template in its own language: it imports.
    for r in ROWS:
        ws.append([cell(k, r.get(k), lang) for k in KEYS])
    wb.save(tmp_path / "filled.xlsx")
    with open(csv_path, "a", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        for r in ROWS:
            w.writerow(["" if r.get(k) is None else str(cell(k, r[k], lang)) for k in KEYS])
    for path in (tmp_path / "filled.xlsx", csv_path):
        report = fresh.import_roster(path, dry_run=True)
        assert report.ok, [str(i) for i in report.issues]
        assert report.created == len(ROWS)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_record_templates_speak_the_language_too(tmp_path: Path, lang: str) -> None:
    for kind, columns in (("talk", TALK_COLUMNS), ("home_visit", HOME_VISIT_COLUMNS)):
        with use(lang):
            path = write_template(tmp_path / f"{kind}.xlsx", kind=kind)
            title = template_title(kind)
        wb = openpyxl.load_workbook(path)
        assert wb.sheetnames[0] == title
        assert [c.value for c in wb.worksheets[0][1]] == [at(lang, c) for c in columns]
        assert read_roster(path, columns=columns).ok
    assert {template_title("talk")} | {template_title("home_visit")} == {"谈心记录", "家访记录"}


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_an_export_in_each_language_imports_again_into_any_county(
    tmp_path: Path, lang: str, fmt: str
) -> None:
    data = synthetic_facts(seed=7, children=60, as_of=TODAY)
    path = tmp_path / f"export.{fmt}"
    with leftbehind.open("memory://", today=lambda: TODAY, actor=SYSTEM, language=lang) as c:
        c.put_schools(data.schools)
        c.put_children(data.children)
        assert c.export_roster(path, unmasked=True) == 60
    if fmt == "xlsx":
        ws = openpyxl.load_workbook(path)[TITLES[lang][0]]
        header: list[Any] = [x.value for x in ws[1]]
        first = 3 if lang != "en" else 2
        sexes = {x.value for x in ws["C"][first - 1 :]}
    else:
        table = list(csv.reader(path.read_text("utf-8-sig").splitlines()))
        header = table[0]
        sexes = {r[2] for r in table[(2 if lang != "en" else 1) :]}
    assert header == [at(lang, c) for c in ROSTER_COLUMNS]
    assert sexes == {label(lang, "sex", "male"), label(lang, "sex", "female")}
    for reader in ("zh_CN", "en"):
        with leftbehind.open("memory://", today=lambda: TODAY, actor=SYSTEM,
                             language=reader) as target:  # fmt: skip
            target.put_schools(data.schools)
            report = target.import_roster(path)
            assert report.ok, [str(i) for i in report.issues[:3]]
            got = {x.id: x for x in target.children()}
        assert got == {x.id: roster_facts(x, TODAY) for x in data.children}


# ---------------------------------------------------------------------------------------------
# Messages in the language of the moment, naming the clerk's own header.

FRAMES = {
    "zh_CN": "花名册 第3行 C列「{h}」: 应为以下之一：男、女 [choice]",
    "zh_TW": "花名册 第3行 C列「{h}」: 應為以下之一：男、女 [choice]",
    "en": "花名册 row 3 column C ({h}): expected one of: male, female [choice]",
}


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("header", ["性别", "性別", "sex", "SEX"])
def test_a_cell_issue_speaks_the_language_and_names_the_clerks_header(
    tmp_path: Path, lang: str, header: str
) -> None:
    headers = [header if c.key == "sex" else at("zh_CN", c) for c in ROSTER_COLUMNS]
    rows = [[cell(k, r.get(k), "zh_CN") for k in KEYS] for r in ROWS[:2]]
    rows[1][KEYS.index("sex")] = "X"
    path = tmp_path / "r.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "花名册"
    for r in [headers, *rows]:
        ws.append(r)
    wb.save(path)
    with leftbehind.open("memory://", today=lambda: TODAY, actor=SYSTEM, language=lang) as c:
        c.put_schools([SCHOOL])
        report = c.import_roster(path)
    (issue,) = report.issues
    assert (issue.row, issue.key, issue.code, issue.column) == (3, "sex", "choice", header)
    assert str(issue) == FRAMES[lang].format(h=header)
    # Printed later, under another language, the issue still reads as it was made.
    with use("en" if lang != "en" else "zh_CN"):
        assert str(issue) == FRAMES[lang].format(h=header)
    assert (
        report.summary()
        == {
            "zh_CN": "新增 1，更新 0，未变 0，退回 1",
            "zh_TW": "新增 1，更新 0，未變 0，退回 1",
            "en": "created 1, updated 0, unchanged 0, rejected 1",
        }[lang]
    )


@pytest.mark.parametrize("lang", LANGUAGES)
def test_import_checks_speak_the_language_and_name_the_columns_as_the_file_does(
    tmp_path: Path, lang: str
) -> None:
    """Issues found against the county (a school, a status without its date) and a missing
    column: the cell's own column as the file wrote it, other columns as the language says."""
    rows = [facts(1, school="沒有這所學校"), facts(2, mother_no_capacity_since=None)]
    headers = [at("zh_TW", c) for c in ROSTER_COLUMNS]
    path = write(tmp_path / "r.csv", headers, [[cell(k, r.get(k), "zh_TW") for k in KEYS]
                                               for r in rows])  # fmt: skip
    with leftbehind.open("memory://", today=lambda: TODAY, actor=SYSTEM, language=lang) as c:
        c.put_schools([SCHOOL])
        report = c.import_roster(path)
        issues = {(i.row, i.key): i for i in report.issues}
        assert set(issues) == {(2, "school"), (3, "mother_no_capacity_since")}
        school = issues[2, "school"]
        capacity = issues[3, "mother_no_capacity_since"]
        assert (school.column, capacity.column) == ("學校", "母親無監護能力日期")
        assert (
            capacity.message
            == {
                "zh_CN": "母亲监护能力为「无」时必须填写",
                "zh_TW": "母親監護能力為「無」時必須填寫",
                "en": "must be filled in when mother_capacity is no",
            }[lang]
        )
        with use(lang):
            assert school.message == text("roster.issue.unknown_school")
        # A file without a required column: named as the template of the language names it.
        keys = [k for k in KEYS if k != "sex"]
        short = write(tmp_path / "s.csv", [at("zh_TW", COLUMNS_BY_KEY[k]) for k in keys], [])
        (missing,) = c.import_roster(short).issues
    assert (missing.code, missing.column) == (
        "missing_column",
        at(lang, COLUMNS_BY_KEY["sex"]),
    )


def test_reading_without_a_county_speaks_the_language_of_the_moment(tmp_path: Path) -> None:
    headers = [at("en", c) for c in ROSTER_COLUMNS]
    row = [cell(k, ROWS[0].get(k), "en") for k in KEYS]
    row[KEYS.index("birth_date")] = "2016-02-30"
    path = write(tmp_path / "r.csv", headers, [row])
    with use("zh_TW"):
        (issue,) = read_roster(path).issues
    assert str(issue) == "r.csv 第2行 E列「birth_date」: 日曆上沒有這一天 [date_invalid]"
    (issue,) = read_roster(path).issues
    assert str(issue) == "r.csv 第2行 E列「birth_date」: 日历上没有这一天 [date_invalid]"
