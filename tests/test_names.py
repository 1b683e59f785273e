"""Names as clerks write them: a school, a teacher or a child named in Traditional characters, in
full-width forms or with spaces, finds the county's Simplified name in every sheet."""

from __future__ import annotations

from pathlib import Path

import opencc
from hypothesis import given
from hypothesis import strategies as st
from tests.sheets import ASSIGNMENTS, ROSTER, SCHOOLS, STAFF, TALKS, TODAY, Row, fill

import leftbehind
from leftbehind.access import Actor
from leftbehind.io.names import name_key

SYSTEM = Actor.system("tests")
TRADITIONAL = opencc.OpenCC("s2t")


def test_a_name_is_matched_in_either_script_and_width() -> None:
    assert name_key("東張孟中心小學") == name_key("东张孟中心小学")
    assert name_key(" 李 老師 ") == name_key("李老师")
    assert name_key("平固店中学１") == name_key("平固店中学1")
    assert name_key("王芳") != name_key("王方")


@given(st.sampled_from([r["name"] for r in (*SCHOOLS, *STAFF, *ROSTER)]))
def test_every_name_of_the_sheets_is_its_own_traditional_form(name: object) -> None:
    text = str(name)
    assert name_key(TRADITIONAL.convert(text)) == name_key(text)


def traditional(rows: list[Row], *keys: str) -> list[Row]:
    """The rows with the cells of ``keys`` written in Traditional characters."""
    return [
        {k: TRADITIONAL.convert(v) if k in keys and isinstance(v, str) else v for k, v in r.items()}
        for r in rows
    ]


def test_sheets_naming_schools_staff_and_children_in_traditional_import(tmp_path: Path) -> None:
    files = [
        fill(tmp_path / "学校名册.xlsx", "schools", SCHOOLS),
        fill(tmp_path / "教职工名册.xlsx", "staff", traditional(STAFF, "school")),
        fill(tmp_path / "花名册.xlsx", "roster", traditional(ROSTER, "school")),
        fill(tmp_path / "分工名册.xlsx", "assignments", traditional(ASSIGNMENTS, "staff", "child")),
        fill(tmp_path / "谈心记录.xlsx", "talk", traditional(TALKS, "teacher", "child")),
    ]
    with leftbehind.open(str(tmp_path / "county.db"), actor=SYSTEM, today=lambda: TODAY) as c:
        report = c.import_files(files)
        assert report.ok, [str(i) for f in report.files for i in f.issues]
        children = {ch.name: ch for ch in c.children()}
        assert set(children) == {r["name"] for r in ROSTER}
        assert {e.school_id for ch in children.values() for e in ch.enrolments} == {"S001", "S002"}
        assert len(c.assignments().all) == len(ASSIGNMENTS)
        talks = [r for r in c.records() if r.kind == "TALK"]
        assert len(talks) == len(TALKS)
        assert {r.staff_id for r in talks} == {"T01", "T03"}
