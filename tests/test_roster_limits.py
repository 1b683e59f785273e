"""Hostile roster files (R12): refused with one clear issue, with bounded memory, no cell value
in any message.

The big files are measured in a child process: its own peak memory (``ru_maxrss``), never its
time, since the machine's load varies. The child starts through ``sh -c 'exec …'``, so the peak
it reports is its own and not the test process's, which Linux carries across fork and exec.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from datetime import date
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from attrs import evolve

import leftbehind
from leftbehind.access import Actor
from leftbehind.domain.model import School
from leftbehind.io.roster import (
    DEFAULT_LIMITS,
    ROSTER_COLUMNS,
    ImportLimits,
    read_roster,
)
from leftbehind.io.roster_columns import COLUMNS_BY_KEY
from leftbehind.io.roster_read import column_letter
from leftbehind.service import County
from leftbehind.testing.synthetic import resident_id

SYSTEM = Actor.system("tests")
TODAY = date(2026, 4, 15)
HEADERS = [c.header for c in ROSTER_COLUMNS]
KEYS = [c.key for c in ROSTER_COLUMNS]
SCHOOL = School("S01", "東張孟中心小學", "東張孟鄉")
MiB = 1024  # ru_maxrss is in KiB on Linux
BOUND = 300 * MiB

#: Personal values of the first row of a file: none may appear in any message.
NAME, PHONE = "王小明", "13812345678"
ID_NUMBER = resident_id("130432", date(2016, 3, 1), 1)


@pytest.fixture
def county() -> Iterator[County]:
    with leftbehind.open("memory://", today=lambda: TODAY, actor=SYSTEM) as c:
        c.put_schools([SCHOOL])
        yield c


def good_row(n: int = 1) -> dict[str, Any]:
    """A valid row: a grade-3 pupil at 東張孟中心小學; each ``n`` a different child."""
    return {
        "name": NAME,
        "sex": "男",
        "birth_date": date(2016, 3, 1),
        "resident_id": resident_id("130432", date(2016, 3, 1), (2 * n + 1) % 1000),
        "school": SCHOOL.name,
        "grade": 3,
        "enrolled_since": date(2023, 9, 1),
        "hukou": "農村",
        "father_status": "在家",
        "father_phone": PHONE,
    }


def cells(row: dict[str, Any]) -> list[Any]:
    return [row.get(k) for k in KEYS]


def write_xlsx(path: Path, rows: Iterable[list[Any]], header: bool = True) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "花名冊"
    if header:
        ws.append(HEADERS)
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


def write_csv(
    path: Path, rows: Iterable[list[Any]], encoding: str = "utf-8-sig", **kw: Any
) -> Path:
    with path.open("w", encoding=encoding, newline="") as f:
        w = csv.writer(f, **kw)
        w.writerow(HEADERS)
        for r in rows:
            w.writerow(["" if c is None else str(c) for c in r])
    return path


def replace_parts(source: Path, target: Path, parts: Mapping[str, Iterable[bytes]]) -> Path:
    """A copy of a workbook with some parts written anew, a chunk at a time (so a part of
    hundreds of megabytes never sits in this process's memory)."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            if info.filename not in parts:
                new.writestr(info, old.read(info.filename))
        for name, chunks in parts.items():
            with new.open(name, "w", force_zip64=True) as f:
                for chunk in chunks:
                    f.write(chunk)
    return target


def template_workbook(tmp_path: Path) -> Path:
    """A valid roster workbook (header row and one good row) to build hostile files from."""
    return write_xlsx(tmp_path / "base.xlsx", [cells(good_row())])


SHEET = "xl/worksheets/sheet1.xml"
STRINGS = "xl/sharedStrings.xml"
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
SHEET_START = f'<worksheet xmlns="{MAIN}"><sheetData>'.encode()
SHEET_END = b"</sheetData></worksheet>"


def inline_row(number: int, values: list[str]) -> bytes:
    cells = "".join(f'<c t="inlineStr"><is><t>{v}</t></is></c>' for v in values)
    return f'<row r="{number}">{cells}</row>'.encode()


def sheet_of(rows: Iterable[bytes]) -> Iterator[bytes]:
    yield SHEET_START
    yield inline_row(1, HEADERS)
    batch: list[bytes] = []
    for r in rows:
        batch.append(r)
        if len(batch) == 10_000:
            yield b"".join(batch)
            batch = []
    yield b"".join(batch)
    yield SHEET_END


def with_shared_strings(
    tmp_path: Path, rows: list[list[str]], strings: Iterable[bytes] | None = None
) -> Path:
    """A workbook whose texts are in a shared-string table, as Excel and WPS write them
    (openpyxl writes every text inline): the header row and ``rows``, or a table of its own."""
    table: dict[str, int] = {}
    sheet = [SHEET_START]
    for n, row in enumerate([HEADERS, *rows], start=1):
        refs = "".join(f'<c t="s"><v>{table.setdefault(v, len(table))}</v></c>' for v in row)
        sheet.append(f'<row r="{n}">{refs}</row>'.encode())
    sheet.append(SHEET_END)
    if strings is None:
        items = "".join(f"<si><t>{v}</t></si>" for v in table)
        strings = [f'<sst xmlns="{MAIN}" uniqueCount="{len(table)}">{items}</sst>'.encode()]
    base = template_workbook(tmp_path)
    with zipfile.ZipFile(base) as z:
        types = z.read("[Content_Types].xml").replace(
            b"</Types>",
            b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
            b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>',
        )
        rels = z.read("xl/_rels/workbook.xml.rels").replace(
            b"</Relationships>",
            b'<Relationship Id="rId99" Target="sharedStrings.xml" Type="http://schemas.'
            b'openxmlformats.org/officeDocument/2006/relationships/sharedStrings"/>'
            b"</Relationships>",
        )
    parts = {
        "[Content_Types].xml": [types],
        "xl/_rels/workbook.xml.rels": [rels],
        SHEET: sheet,
        STRINGS: strings,
    }
    return replace_parts(base, tmp_path / "shared.xlsx", parts)


def measured(path: Path, store: str, limits: str = "") -> dict[str, Any]:
    """Import ``path`` into a fresh store in a child process: its issues and peak memory."""
    code = f"""
import json, resource, sys
from datetime import date
import leftbehind
from leftbehind.access import Actor
from leftbehind.domain.model import School
from leftbehind.io.roster import ImportLimits
with leftbehind.open(sys.argv[2], today=lambda: date(2026, 4, 15), actor=Actor.system("t")) as c:
    c.put_schools([School("S01", "東張孟中心小學", "東張孟鄉")])
    report = c.import_roster(sys.argv[1], limits=ImportLimits({limits}))
    written = report.written or any(True for _ in c.children())
print(json.dumps({{
    "issues": [[i.code, str(i)] for i in report.issues],
    "warnings": [str(w) for w in report.warnings],
    "written": written,
    "peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
}}))
"""
    done = subprocess.run(
        ["/bin/sh", "-c", '"$@"; exit $?', "sh", sys.executable, "-c", code, str(path), store],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stderr == ""  # no warning, no traceback, nothing printed per row
    result: dict[str, Any] = json.loads(done.stdout)
    return result


# ---------------------------------------------------------------------------------------------
# Hostile files, measured.


def test_a_million_one_cell_rows_are_refused_at_the_row_limit(tmp_path: Path) -> None:
    rows = (inline_row(n, [f"王{n}"]) for n in range(2, 1_000_002))
    path = replace_parts(
        template_workbook(tmp_path), tmp_path / "rows.xlsx", {SHEET: sheet_of(rows)}
    )
    assert path.stat().st_size < 20 * 2**20  # small packed; a million rows unpacked
    got = measured(path, "memory://")
    assert [code for code, _ in got["issues"]] == ["too_many_rows"]
    assert "100,000" in got["issues"][0][1]
    assert not got["written"]
    assert got["peak"] < BOUND


def test_a_huge_shared_strings_part_is_refused_before_it_is_read(tmp_path: Path) -> None:
    # 60 MB of shared strings that pack to a few hundred kilobytes: a zip bomb.
    strings = [f'<sst xmlns="{MAIN}">'.encode()]
    strings += [b"<si><t>xxxxxxxxxx</t></si>" * 200_000] * 12
    strings.append(b"</sst>")
    path = with_shared_strings(tmp_path, [], strings)
    with zipfile.ZipFile(path) as z:
        info = z.getinfo(STRINGS)
        assert info.file_size > 100 * info.compress_size
    got = measured(path, "memory://")
    assert [code for code, _ in got["issues"]] == ["zip_ratio"]
    assert got["peak"] < BOUND


def test_shared_strings_past_the_count_are_refused_while_they_stream(tmp_path: Path) -> None:
    """With the ratio limit lifted, the count limit stops the same kind of file: two million
    distinct texts are read, and no more."""
    chunks: list[bytes] = [f'<sst xmlns="{MAIN}">'.encode()]
    chunks += (
        b"".join(b"<si><t>%d</t></si>" % n for n in range(start, start + 100_000))
        for start in range(0, 2_500_000, 100_000)
    )
    chunks.append(b"</sst>")
    path = with_shared_strings(tmp_path, [], chunks)
    got = measured(path, "memory://", "max_ratio=10**6")
    assert [code for code, _ in got["issues"]] == ["too_many_strings"]
    assert "2,000,000" in got["issues"][0][1]
    assert got["peak"] < BOUND


def test_a_200000_row_csv_is_refused_before_a_row_is_kept(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "big.csv", (cells(good_row(n)) for n in range(200_000)))
    got = measured(path, f"sqlite:///{tmp_path}/county.db")
    assert [code for code, _ in got["issues"]] == ["too_many_rows"]
    assert got["issues"][0][1].startswith("big.csv 第100001行: ")
    assert not got["written"]
    assert got["peak"] < BOUND


# ---------------------------------------------------------------------------------------------
# Every limit can be set, and a small one refuses a small file.


def test_the_default_limits_fit_a_county() -> None:
    assert ImportLimits() == DEFAULT_LIMITS
    assert DEFAULT_LIMITS.max_rows == 100_000
    assert DEFAULT_LIMITS.max_cell_chars == 32_767
    for bad in (0, -1):
        with pytest.raises(ValueError, match="max_rows"):
            ImportLimits(max_rows=bad)


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
@pytest.mark.parametrize(
    ("limits", "code", "where"),
    [
        (ImportLimits(max_rows=4), "too_many_rows", "第5行"),
        (ImportLimits(max_columns=10), "too_many_columns", "第1行 K列"),
        (ImportLimits(max_cell_chars=5), "cell_too_long", ""),
        (ImportLimits(max_bytes=1000), "file_too_large", ""),
    ],
)
def test_a_small_limit_refuses_a_small_file(
    county: County, tmp_path: Path, fmt: str, limits: ImportLimits, code: str, where: str
) -> None:
    rows = [cells(good_row(n)) for n in range(6)]
    path = tmp_path / f"r.{fmt}"
    if fmt == "xlsx":
        write_xlsx(path, rows)
    else:
        write_csv(path, rows)
    assert county.import_roster(path, dry_run=True).ok
    report = county.import_roster(path, limits=limits)
    assert [i.code for i in report.issues] == [code]
    assert where in str(report.issues[0])
    assert (report.written, report.created, report.warnings) == (False, 0, ())
    assert read_roster(path, limits=limits).refused


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_a_cell_too_long_names_its_row_and_column(county: County, tmp_path: Path, fmt: str) -> None:
    row = ["" if c is None else str(c) for c in cells({**good_row(), "address": "長" * 40})]
    if fmt == "csv":
        path = write_csv(tmp_path / "r.csv", [row])
    else:
        parts = {SHEET: sheet_of([inline_row(2, row)])}
        path = replace_parts(template_workbook(tmp_path), tmp_path / "r.xlsx", parts)
    report = county.import_roster(path, limits=ImportLimits(max_cell_chars=30))
    (issue,) = report.issues
    assert report.sheet == ("r.csv" if fmt == "csv" else "花名冊")
    assert (issue.row, issue.key, issue.code) == (2, "address", "cell_too_long")
    assert (
        str(issue)
        == f"{report.sheet} 第2行 O列「详细住址」: 有单元格超过 30 个字符 [cell_too_long]"
    )


def test_shared_strings_limits_count_and_size(county: County, tmp_path: Path) -> None:
    rows = [["" if c is None else str(c) for c in cells(good_row(n))] for n in range(3)]
    path = with_shared_strings(tmp_path, rows)
    assert county.import_roster(path, dry_run=True).ok
    by_count = county.import_roster(path, limits=ImportLimits(max_shared_strings=20))
    assert [i.code for i in by_count.issues] == ["too_many_strings"]
    by_size = county.import_roster(path, limits=ImportLimits(max_shared_chars=100))
    assert [i.code for i in by_size.issues] == ["strings_too_large"]


def test_a_part_that_grows_too_much_is_refused(county: County, tmp_path: Path) -> None:
    rows = (inline_row(n, [f"王{n}", f"{n * 7919 % 100_003}"] * 20) for n in range(2, 6000))
    path = replace_parts(template_workbook(tmp_path), tmp_path / "r.xlsx", {SHEET: sheet_of(rows)})
    with zipfile.ZipFile(path) as z:
        info = z.getinfo(SHEET)
    assert info.file_size > 2**20
    assert 5 < info.file_size / info.compress_size < 100
    report = county.import_roster(path, limits=ImportLimits(max_ratio=5))
    assert [i.code for i in report.issues] == ["zip_ratio"]
    assert "超过 5 倍" in str(report.issues[0])
    # Under the default ratio the file is read (and its rows found wanting, cell by cell).
    assert "zip_ratio" not in {i.code for i in county.import_roster(path, dry_run=True).issues}


def test_a_row_of_a_million_cells_stops_at_the_column_limit(county: County, tmp_path: Path) -> None:
    wide = b'<row r="2">' + b"<c><v>1</v></c>" * 1_000_000 + b"</row>"
    parts = {SHEET: [SHEET_START, inline_row(1, HEADERS), wide, SHEET_END]}
    path = replace_parts(template_workbook(tmp_path), tmp_path / "wide.xlsx", parts)
    report = county.import_roster(path, limits=evolve(DEFAULT_LIMITS, max_ratio=10**6))
    (issue,) = report.issues
    assert (issue.code, issue.row, issue.index) == ("too_many_columns", 2, 201)


def test_row_numbers_past_the_limit_are_refused_however_few_the_rows(
    county: County, tmp_path: Path
) -> None:
    parts = {SHEET: sheet_of([inline_row(50, ["王"])])}
    path = replace_parts(template_workbook(tmp_path), tmp_path / "r.xlsx", parts)
    report = county.import_roster(path, limits=ImportLimits(max_rows=10))
    assert [(i.code, i.row) for i in report.issues] == [("too_many_rows", 50)]


def test_a_row_given_twice_is_refused_never_dropped(county: County, tmp_path: Path) -> None:
    row = ["" if c is None else str(c) for c in cells(good_row())]
    parts = {SHEET: sheet_of([inline_row(2, row), inline_row(2, row)])}
    path = replace_parts(template_workbook(tmp_path), tmp_path / "r.xlsx", parts)
    assert [i.code for i in county.import_roster(path).issues] == ["file_unreadable"]


# ---------------------------------------------------------------------------------------------
# XML entities.

LAUGHS = "".join(f' <!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">' for n in range(1, 10))


def bomb(root: str) -> bytes:
    """A billion laughs: nine entities of ten, a gigabyte of text when expanded."""
    return (
        f'<?xml version="1.0"?><!DOCTYPE {root} [<!ENTITY lol0 "lol">{LAUGHS}]>'
        f'<{root} xmlns="{MAIN}"><x>&lol9;</x></{root}>'
    ).encode()


def external(root: str) -> bytes:
    return (
        f'<?xml version="1.0"?><!DOCTYPE {root} [<!ENTITY s SYSTEM "file:///etc/passwd">]>'
        f'<{root} xmlns="{MAIN}"><x>&s;</x></{root}>'
    ).encode()


def doctype(root: str) -> bytes:
    return f'<!DOCTYPE {root} SYSTEM "http://example.invalid/x.dtd"><{root}/>'.encode()


@pytest.mark.parametrize(
    ("part", "content"),
    [
        (STRINGS, bomb("sst")),
        (STRINGS, external("sst")),
        (SHEET, doctype("worksheet")),
        ("xl/workbook.xml", bomb("workbook")),
        ("xl/styles.xml", external("styleSheet")),
        ("[Content_Types].xml", bomb("Types")),
    ],
)
def test_xml_entities_are_refused_never_expanded(
    county: County, tmp_path: Path, part: str, content: bytes
) -> None:
    base = with_shared_strings(tmp_path, [])
    path = replace_parts(base, tmp_path / "bomb.xlsx", {part: [content]})
    report = county.import_roster(path)
    assert [i.code for i in report.issues] == ["xml_entities"]
    assert "root:" not in str(report.issues[0])
    assert list(county.children()) == []


def test_openpyxl_reads_xml_through_defusedxml(tmp_path: Path) -> None:
    """The reader parses no XML with openpyxl, but whoever opens a workbook with openpyxl in the
    same process (a script reading an export) is protected by defusedxml too."""
    from defusedxml import EntitiesForbidden

    assert openpyxl.DEFUSEDXML
    part = {"xl/workbook.xml": [bomb("workbook")]}
    path = replace_parts(template_workbook(tmp_path), tmp_path / "bomb.xlsx", part)
    with pytest.raises(ValueError, match="read workbook") as caught:
        openpyxl.load_workbook(path)
    assert isinstance(caught.value.__cause__, EntitiesForbidden)


# ---------------------------------------------------------------------------------------------
# No cell value in any message.


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_a_sheet_without_its_header_row_repeats_none_of_its_cells(
    county: County, tmp_path: Path, fmt: str
) -> None:
    rows = [cells(good_row(n)) for n in range(3)]
    path = tmp_path / f"r.{fmt}"
    if fmt == "xlsx":
        write_xlsx(path, rows, header=False)
    else:
        with path.open("w", encoding="utf-8", newline="") as f:
            csv.writer(f).writerows(["" if c is None else str(c) for c in r] for r in rows)
    report = county.import_roster(path, dry_run=True)
    assert [i.code for i in report.issues] == ["no_header"]
    messages = [str(i) for i in (*report.issues, *report.warnings)]
    for secret in (NAME, ID_NUMBER, PHONE, "2016"):
        assert not any(secret in m for m in messages)


def test_unknown_columns_are_named_by_letter_only(county: County, tmp_path: Path) -> None:
    path = tmp_path / "r.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append([*HEADERS, PHONE, NAME])  # a row of values slipped into the header's place
    ws.append([*cells(good_row()), "x", "y"])
    wb.save(path)
    report = county.import_roster(path)
    assert report.ok
    assert [str(w) for w in report.warnings] == [
        f"Sheet 第1行 {column_letter(n)}列: 不是模板的栏目，已忽略 [unknown_column]"
        for n in (len(HEADERS) + 1, len(HEADERS) + 2)
    ]


# ---------------------------------------------------------------------------------------------
# Encodings.


@pytest.mark.parametrize("delimiter", [",", "\t"])
def test_utf16_unicode_text_imports(county: County, tmp_path: Path, delimiter: str) -> None:
    """What Excel and WPS save as "Unicode text": UTF-16 with its byte-order mark, tabs."""
    rows = [
        cells({**good_row(1), "name": "阿依古麗·買買提"}),
        cells({**good_row(2), "village": "𠀋村"}),
    ]
    path = write_csv(tmp_path / "r.txt", rows, encoding="utf-16", delimiter=delimiter)
    assert path.read_bytes()[:2] == b"\xff\xfe"
    assert read_roster(path).encoding == "utf-16"
    report = county.import_roster(path)
    assert report.ok, report.issues
    assert sorted(c.name for c in county.children()) == sorted([NAME, "阿依古麗·買買提"])


def test_utf16_without_its_mark_is_named_an_encoding_problem(
    county: County, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "r.csv", [cells(good_row())], encoding="utf-16-le")
    report = county.import_roster(path)
    assert [i.code for i in report.issues] == ["encoding"]
    assert "UTF-16" in report.issues[0].message


# ---------------------------------------------------------------------------------------------
# Noncharacters and invisible text.


@pytest.mark.parametrize(
    ("fmt", "changes", "key", "code"),
    [
        ("csv", {"name": "王\uffff"}, "name", "text_noncharacter"),
        ("xlsx", {"village": "村\ufdd0"}, "village", "text_noncharacter"),
        ("csv", {"address": "路\U0010fffe"}, "address", "text_noncharacter"),
        ("xlsx", {"name": "\u200b\u200b"}, "name", "text_invisible"),
        ("csv", {"name": " \u200d\ufeff "}, "name", "text_invisible"),
    ],
)
def test_noncharacters_and_invisible_names_are_issues(
    county: County, tmp_path: Path, fmt: str, changes: dict[str, str], key: str, code: str
) -> None:
    rows = [cells(good_row(1)), cells({**good_row(2), **changes})]
    path = tmp_path / f"r.{fmt}"
    if fmt == "xlsx":
        write_xlsx(path, rows)
    else:
        write_csv(path, rows)
    report = county.import_roster(path)
    assert {(i.row, i.key, i.code) for i in report.issues} == {(3, key, code)}
    assert COLUMNS_BY_KEY[key].header in str(report.issues[0])
    assert list(county.children()) == []


def test_a_name_with_a_joiner_inside_is_text(county: County, tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "r.xlsx", [cells({**good_row(), "name": "王\u200d小明"})])
    assert county.import_roster(path).ok
