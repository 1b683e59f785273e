"""A hostile pass over the import of every sheet (issue 18): each finding, as a user met it."""

from __future__ import annotations

import time
import zipfile
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from tests.sheets import ROSTER, SCHOOLS, STAFF, TALKS, TODAY, Row, fill

import leftbehind
from leftbehind.access import AccessDeniedError, Actor
from leftbehind.cli import main
from leftbehind.io.sheet_columns import ORDER
from leftbehind.service import County

SYSTEM = Actor.system("tests")
ASSIGNED: list[Row] = [
    {"staff": "T01", "child": "张小明", "role": "班主任", "start": TALKS[0]["date"]},
    {"staff": "T03", "child": "陈小刚", "role": "班主任", "start": TALKS[0]["date"]},
]
BASE: dict[str, list[Row]] = {
    "schools": SCHOOLS,
    "staff": STAFF,
    "roster": ROSTER,
    "assignments": ASSIGNED,
    "talk": [TALKS[0], TALKS[2]],
}


def _county(url: str, actor: Actor = SYSTEM) -> County:
    return leftbehind.open(url, actor=actor, today=lambda: TODAY)


def _loaded(url: str, folder: Path) -> None:
    folder.mkdir(exist_ok=True)
    with _county(url) as county:
        files = [fill(folder / f"{k}.xlsx", k, rows) for k, rows in BASE.items()]
        report = county.import_files(files)
        assert report.ok, report.issues


OUTSIDERS: dict[str, Callable[[], Actor]] = {
    "head of the other school": lambda: Actor.school_head("T03", "S002"),
    "teacher of the other school": lambda: Actor.staff("T03"),
    "township officer": lambda: Actor.township_officer("X1", "平固店镇"),
}


@pytest.mark.parametrize("who", sorted(OUTSIDERS))
def test_a_staff_sheet_tells_no_outsider_whether_a_phone_is_right(
    store_url: str, tmp_path: Path, who: str
) -> None:
    """Finding: a teacher, or the head of another school, imported (as a dry run) a staff
    sheet holding another school's teacher with a guessed phone: ``unchanged 1`` when the
    guess was right, a refusal when wrong. Now both answers are the same refusal."""
    _loaded(store_url, tmp_path / "base")
    right = fill(tmp_path / "right.xlsx", "staff", [STAFF[0]])
    wrong = fill(tmp_path / "wrong.xlsx", "staff", [{**STAFF[0], "phone": "13812345679"}])
    answers = []
    with _county(store_url, OUTSIDERS[who]()) as county:
        for path in (right, wrong):
            for dry_run in (True, False):
                with pytest.raises(AccessDeniedError) as caught:
                    county.import_files([path], dry_run=dry_run)
                answers.append(str(caught.value))
    assert len(set(answers)) == 1
    assert "13812345678" not in answers[0]
    with _county(store_url) as county:
        assert county.staff()["T01"].phone == "13812345678"


def test_a_record_sheet_matches_no_record_out_of_the_teachers_reach(
    store_url: str, tmp_path: Path
) -> None:
    """Finding: a teacher's record sheet was matched against every stored record and every
    staff member: naming another teacher (of any school) said ``unknown`` or not, and a row
    equal to another's record counted as ``unchanged``. Now a teacher's run sees their own
    records and themselves only."""
    _loaded(store_url, tmp_path / "base")
    theirs = fill(tmp_path / "theirs.xlsx", "talk", [TALKS[2]])  # 赵老师's talk with 陈小刚
    with _county(store_url, Actor.staff("T01")) as county:
        report = county.import_files([theirs], dry_run=True)
    assert not report.ok
    assert [(i.key, i.code) for _, i in report.issues] == [
        ("teacher", "unknown_staff"),
        ("child", "unknown_child"),
    ]
    assert report.kinds["talk"].unchanged == 0


def test_an_outsider_hears_a_refusal_even_when_the_sheet_has_problems(
    store_url: str, tmp_path: Path
) -> None:
    """A teacher's assignments sheet with a bad row: refused (a teacher assigns nobody)
    before any count or issue is reported."""
    _loaded(store_url, tmp_path / "base")
    bad = fill(tmp_path / "a.xlsx", "assignments", [{**ASSIGNED[0], "role": "校长"}])
    with _county(store_url, Actor.staff("T01")) as county, pytest.raises(AccessDeniedError):
        county.import_files([bad], dry_run=True)


def test_every_kind_has_a_permission() -> None:
    from leftbehind.service.imports import _WRITES

    assert set(_WRITES) == set(ORDER)


def test_a_sheet_of_many_corrected_rows_is_counted_in_linear_time() -> None:
    """Finding: a talk sheet of 100,000 rows, each correcting a stored talk, took over four
    minutes to plan (each updated id looked up in a list of the ids before it); the same
    sheet unchanged took nine seconds. Counting 40,000 updates now takes a blink."""
    from types import SimpleNamespace
    from typing import Any, cast

    from leftbehind.io.sheet_import import _Sheet

    got: dict[str, Any] = {"created": [], "updated": [], "unchanged": 0}
    sheet = _Sheet(cast(Any, SimpleNamespace(issues=(), warnings=())), "talk", got)
    started = time.perf_counter()
    for n in range(40_000):
        assert sheet.count(f"TALK-{n}", "stored", "new")
    assert sheet.count("TALK-1", "stored", "newer")  # the same item again: listed once
    assert time.perf_counter() - started < 2
    assert len(got["updated"]) == 40_000


def test_a_record_before_the_child_was_born_is_refused_and_one_out_of_school_flagged(
    tmp_path: Path,
) -> None:
    """Finding: a talk sheet dated 2001 (the child was born in 2016) and one dated before the
    child's first enrolment were both taken silently. Now the first is an issue
    (``record_before_birth``), the second a warning (``record_not_enrolled``): flagged, not
    silently counted."""
    url = "memory://"
    with _county(url) as county:
        files = [fill(tmp_path / f"{k}.xlsx", k, rows) for k, rows in BASE.items()]
        assert county.import_files(files).ok
        born = fill(tmp_path / "born.xlsx", "talk", [{**TALKS[0], "date": date(2001, 1, 8)}])
        report = county.import_files([born])
        assert [(i.key, i.code) for _, i in report.issues] == [("date", "record_before_birth")]
        early = fill(tmp_path / "early.xlsx", "talk", [{**TALKS[0], "date": date(2024, 1, 8)}])
        report = county.import_files([early])
        assert report.ok
        assert report.written
        assert [(i.key, i.code) for _, i in report.warnings] == [("date", "record_not_enrolled")]
        assert "张小明" not in str(report.to_json())


def test_a_zip_bomb_among_the_sheets_is_refused_naming_the_limit(tmp_path: Path) -> None:
    """The file is refused before its kind is told, and the message says the limit crossed."""
    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/worksheets/sheet1.xml", "<worksheet>" + "x" * (2 << 20) + "</worksheet>")
    done = CliRunner().invoke(main, ["import", str(bomb), "--store", str(tmp_path / "c.db")])
    assert done.exit_code == 1
    assert "超过 100 倍" in done.stderr
    assert "[zip_ratio]" in done.stderr
