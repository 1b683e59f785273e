"""Every sheet a county keeps: templates filled as a clerk would, imported in one run of several
files, in dependency order, all or nothing, idempotently; through the API on every backend and
through the command line alone."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.sheets import (
    ASSIGNMENTS,
    ROSTER,
    SCHOOLS,
    STAFF,
    TALKS,
    TODAY,
    VISITS,
    WEEK,
    Row,
    fill,
)

import leftbehind
from leftbehind.access import Actor
from leftbehind.cli import main
from leftbehind.domain.duties import HomeVisitDetails, StudyPlanDetails
from leftbehind.domain.i18n import LANGUAGES, use
from leftbehind.domain.model import Stage
from leftbehind.domain.people import Role
from leftbehind.io.sheet_columns import ORDER, SHEET_COLUMNS, recognise
from leftbehind.io.sheet_import import FilesReport
from leftbehind.service import County

SYSTEM = Actor.system("tests")

GROUPS: list[Row] = [
    {"id": "G1", "school": "S001", "village": "前进村", "guide": "王老师",
     "members": "张小明、刘小红", "start": date(2026, 9, 1)},
]  # fmt: skip

#: One row of each other record kind, all by 李老师 for 张小明 in the week.
OTHER_RECORDS: dict[str, list[Row]] = {
    "family_contact": [{"date": WEEK[0], "teacher": "李老师", "child": "张小明",
                        "method": "电话", "contact_topic": "期中成绩"}],
    "parent_report": [{"date": WEEK[1], "teacher": "T01", "child": "张小明",
                       "report_topic": "期中表现", "content": "进步明显"}],
    "study_plan": [{"date": WEEK[1], "teacher": "王老师", "child": "张小明",
                    "plan_time": "每周二放学后", "plan_content": "数学", "plan": "每周两次辅导"}],
    "safety_education": [{"date": WEEK[2], "teacher": "李老师", "child": "张小明",
                          "safety_topic": "防溺水"}],
    "parent_lecture": [{"date": WEEK[3], "teacher": "李老师", "child": "张小明",
                        "lecture_topic": "家庭教育"}],
    "festival": [{"date": WEEK[4], "teacher": "李老师", "child": "张小明", "festival": "感恩节"}],
}  # fmt: skip

ROWS: dict[str, list[Row]] = {
    "schools": SCHOOLS,
    "staff": STAFF,
    "roster": ROSTER,
    "assignments": ASSIGNMENTS,
    "groups": GROUPS,
    "talk": TALKS,
    "home_visit": VISITS,
    **OTHER_RECORDS,
}


def open_county(url: str) -> County:
    return leftbehind.open(url, actor=SYSTEM, today=lambda: TODAY)


def every_sheet(folder: Path, lang: str = "zh_CN", suffix: str = ".xlsx") -> list[Path]:
    """Every kind's sheet filled, given in the reverse of the order they must be applied."""
    folder.mkdir(exist_ok=True)
    return [fill(folder / f"{kind}{suffix}", kind, ROWS[kind], lang) for kind in reversed(ORDER)]


def counts(report: FilesReport) -> dict[str, tuple[int, int, int]]:
    return {k: (len(c.created), len(c.updated), c.unchanged) for k, c in report.kinds.items()}


def test_every_kind_is_in_the_run_and_has_rows() -> None:
    assert set(ROWS) == set(SHEET_COLUMNS)


def test_every_sheet_imports_in_one_run_and_again_changes_nothing(
    store_url: str, tmp_path: Path
) -> None:
    """Template → fill → import for every kind on every backend, files given out of order;
    records name children the same run creates; a second import finds every row unchanged."""
    files = every_sheet(tmp_path)
    with open_county(store_url) as county:
        dry = county.import_files(files, dry_run=True)
        assert dry.ok, dry.issues
        assert not dry.written
        assert list(county.children()) == []
        assert county.schools() == {}
        report = county.import_files(files)
        assert report.ok
        assert report.written
        assert counts(report) == {kind: (len(ROWS[kind]), 0, 0) for kind in ORDER}
        assert counts(dry) == counts(report)
        assert [f.kind for f in report.files] == list(ORDER)  # applied in dependency order

        schools = county.schools()
        assert schools["S001"].stages == (Stage.PRIMARY,)
        assert schools["S002"].township == "平固店镇"
        assert county.staff()["T01"].phone == "13812345678"
        names = {c.name: c.id for c in county.children()}
        assert sorted(report.kinds["roster"].created) == sorted(names.values())
        roles = {(a.staff_id, a.child_id, a.role) for a in county.assignments().all}
        assert ("T02", names["张小明"], Role.PROXY_PARENT) in roles
        assert ("T02", names["刘小红"], Role.STAFF_PAIR) in roles
        assert county.groups()["G1"].child_ids == (names["张小明"], names["刘小红"])
        records = {r.kind: r for r in county.records()}
        assert set(records) == {
            "TALK", "HOME_VISIT", "FAMILY_CONTACT", "PARENT_REPORT", "STUDY_PLAN",
            "SAFETY_EDUCATION", "PARENT_LECTURE", "FESTIVAL",
        }  # fmt: skip
        visit = records["HOME_VISIT"]
        assert visit.child_id == names["张小明"]
        assert visit.staff_id == "T02"
        assert visit.details == HomeVisitDetails(
            guardian_met="祖母",
            living_conditions="整洁",
            needs_found="冬衣",
            next_visit=date(2026, 12, 20),
        )
        assert records["STUDY_PLAN"].details == StudyPlanDetails(
            "每周二放学后", "数学", "每周两次辅导"
        )
        assert records["FESTIVAL"].topic == "感恩节"
        assert records["FAMILY_CONTACT"].method.value == "phone"

        again = county.import_files(files)
        assert again.ok
        assert counts(again) == {kind: (0, 0, len(ROWS[kind])) for kind in ORDER}
        assert len(list(county.records())) == len(records) + len(TALKS) - 1


@pytest.mark.parametrize("lang", LANGUAGES)
def test_templates_in_each_language_read_back(tmp_path: Path, lang: str) -> None:
    """Headers in Simplified, Traditional or the English keys; a CSV template too."""
    files = [
        *every_sheet(tmp_path / "x", lang),
        fill(tmp_path / "talk.csv", "talk", [{**TALKS[0], "date": WEEK[4]}], lang),
    ]
    with open_county("memory://") as county:
        report = county.import_files(files)
        assert report.ok, report.issues
        assert counts(report)["talk"] == (len(TALKS) + 1, 0, 0)


@pytest.mark.parametrize("kind", sorted(SHEET_COLUMNS))
@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_template_is_recognised_by_its_headers(kind: str, lang: str) -> None:
    with use(lang):
        headers = [c.header for c in SHEET_COLUMNS[kind]]
    assert recognise(headers) == (kind, ())


@settings(max_examples=60, deadline=None)
@given(
    kind=st.sampled_from(sorted(SHEET_COLUMNS)),
    lang=st.sampled_from(LANGUAGES),
    data=st.data(),
)
def test_any_order_of_a_kinds_headers_with_a_few_strangers_is_that_kind(
    kind: str, lang: str, data: st.DataObject
) -> None:
    """Columns in any order, a school's own columns added: the kind is the same."""
    with use(lang):
        headers: list[object] = [c.header for c in SHEET_COLUMNS[kind]]
    headers += data.draw(st.lists(st.sampled_from(["备注", "序号", None, "Remarks"]), max_size=3))
    assert recognise(data.draw(st.permutations(headers))) == (kind, ())


def test_a_file_of_no_known_kind_is_refused_under_its_name(tmp_path: Path) -> None:
    strange = tmp_path / "名单.csv"
    strange.write_text("甲,乙,丙\n1,2,3\n", encoding="utf-8")
    few = tmp_path / "记录.csv"
    few.write_text("日期,教师,儿童\n2026-11-23,T01,张小明\n", encoding="utf-8")
    schools = fill(tmp_path / "schools.xlsx", "schools", SCHOOLS)
    with open_county("memory://") as county:
        report = county.import_files([schools, strange, few])
        assert not report.ok
        assert not report.written
        codes = {(Path(p).name, i.code) for p, i in report.issues}
        assert codes == {("名单.csv", "unknown_kind"), ("记录.csv", "unknown_kind")}
        assert county.schools() == {}


@pytest.mark.parametrize("kind", ["schools", "staff", "roster", "assignments", "groups", "talk",
                                  "home_visit", "study_plan"])  # fmt: skip
def test_a_bad_cell_in_any_file_writes_nothing(store_url: str, tmp_path: Path, kind: str) -> None:
    """One bad cell in one file of the run: every file is checked, the cell is named (file,
    sheet, row, column, code, never its value), and nothing of any file is written."""
    bad: dict[str, tuple[str, str | date | None, str]] = {
        "schools": ("stages", "高中", "stage"),
        "staff": ("school", "没有这所学校", "unknown_school"),
        "roster": ("sex", "不知", "choice"),
        "assignments": ("role", "校长", "choice"),
        "groups": ("members", "没有这个孩子", "unknown_child"),
        "talk": ("date", date(2027, 1, 4), "future_record"),
        "home_visit": ("next_visit", date(2026, 11, 1), "next_visit_before"),
        "study_plan": ("plan", None, "required"),
    }
    key, value, code = bad[kind]
    rows: dict[str, list[Row]] = {**ROWS, kind: [{**ROWS[kind][0], key: value}, *ROWS[kind][1:]]}
    folder = tmp_path / "bad"
    folder.mkdir()
    files = [fill(folder / f"{k}.xlsx", k, rows[k]) for k in ORDER]
    with open_county(store_url) as county:
        report = county.import_files(files)
        assert not report.ok
        assert not report.written
        found = [(Path(p).stem, i.row, i.key, i.code) for p, i in report.issues]
        assert found == [(kind, 3, key, code)]
        (path_issue,) = report.issues
        if isinstance(value, str):
            assert value not in str(path_issue[1])
        assert county.schools() == {}
        assert list(county.children()) == []
        assert list(county.records()) == []


def test_a_shared_name_is_narrowed_to_the_teachers_children_then_school(tmp_path: Path) -> None:
    """Two 张小明 in the county, one at each school: 李老师 means the one assigned to her,
    赵老师 (assigned to neither) the one of his school."""
    twin: Row = {**ROSTER[0], "school": "平固店中学", "grade": 7, "birth_date": date(2012, 5, 1)}
    other: Row = {"date": WEEK[0], "teacher": "赵老师", "child": "张小明", "method": "面谈"}
    talks = [{**TALKS[0], "teacher": "李老师"}, other]
    with open_county("memory://") as county:
        files = [fill(tmp_path / f"{k}.xlsx", k, ROWS[k]) for k in ("schools", "staff")]
        files.append(fill(tmp_path / "roster.xlsx", "roster", [*ROSTER, twin]))
        files.append(fill(tmp_path / "assign.xlsx", "assignments", ASSIGNMENTS))
        files.append(fill(tmp_path / "talk.xlsx", "talk", talks))
        report = county.import_files(files)
        assert report.ok, report.issues
        school = {r.staff_id: county.child(r.child_id).enrolments[0].school_id
                  for r in county.records()}  # fmt: skip
        assert school == {"T01": "S001", "T03": "S002"}


def test_a_name_two_children_share_with_no_way_to_tell_is_ambiguous(tmp_path: Path) -> None:
    roster: list[Row] = [ROSTER[0], {**ROSTER[0], "grade": 5, "birth_date": date(2015, 5, 1)}]
    talk: list[Row] = [{"date": WEEK[0], "teacher": "T03", "child": "张小明", "method": "面谈"}]
    with open_county("memory://") as county:
        files = [fill(tmp_path / f"{k}.xlsx", k, ROWS[k]) for k in ("schools", "staff")]
        files += [fill(tmp_path / "r.xlsx", "roster", roster)]
        files += [fill(tmp_path / "t.xlsx", "talk", talk)]
        report = county.import_files(files)
        assert [(i.key, i.code) for _, i in report.issues] == [("child", "child_ambiguous")]
        assert list(county.children()) == []


def test_a_corrected_record_updates_the_one_it_matches(tmp_path: Path) -> None:
    with open_county("memory://") as county:
        assert county.import_files(every_sheet(tmp_path / "a")).ok
        talks = [{**TALKS[0], "effect": "很好"}, *TALKS[1:]]
        report = county.import_files([fill(tmp_path / "t.xlsx", "talk", talks)])
        assert counts(report) == {"talk": (0, 1, len(TALKS) - 1)}
        assert report.kinds["talk"].updated[0].startswith("TALK-")


def test_the_same_talk_twice_in_a_run_is_a_duplicate(tmp_path: Path) -> None:
    with open_county("memory://") as county:
        files = [fill(tmp_path / f"{k}.xlsx", k, ROWS[k]) for k in ORDER[:4]]
        files.append(fill(tmp_path / "t1.xlsx", "talk", TALKS[:1]))
        files.append(fill(tmp_path / "t2.xlsx", "talk", TALKS[:1]))
        report = county.import_files(files)
        assert [(Path(p).stem, i.code) for p, i in report.issues] == [("t2", "duplicate_key")]


def test_the_report_as_json_has_stable_english_keys(tmp_path: Path) -> None:
    with open_county("memory://") as county:
        data = county.import_files(every_sheet(tmp_path), dry_run=True).to_json()
    assert json.loads(json.dumps(data)) == data
    assert set(data) == {
        "ok",
        "dry_run",
        "written",
        "files",
        "kinds",
        "issues",
        "warnings",
        "skipped",
    }
    assert list(data["kinds"]) == list(ORDER)
    assert set(data["kinds"]["talk"]) == {"created", "updated", "unchanged"}
    assert set(data["files"][0]) == {"path", "kind", "sheet", "rows"}


# ---------------------------------------------------------------------------------------------
# The command line alone, as a county starts from nothing.


def _run(args: Sequence[str]) -> tuple[int, str, str]:
    done = CliRunner().invoke(main, list(args))
    return done.exit_code, done.stdout, done.stderr


def test_a_county_starts_from_its_sheets_on_the_command_line(tmp_path: Path) -> None:
    """Templates from the CLI filled as a clerk would (Simplified Chinese) → import schools,
    staff, assignments, roster, then a week of talk and home-visit sheets → the county ledger
    and a teacher's week show them; importing them again changes nothing; a bad cell in any
    sheet writes nothing."""
    store = str(tmp_path / "county.db")
    on: Callable[..., list[str]] = lambda *a: [*a, "--store", store]  # noqa: E731
    made: dict[str, Path] = {}
    names = {"schools": "学校名册", "staff": "教职工名册", "roster": "花名册",
             "assignments": "分工名册", "talk": "谈心记录", "home_visit": "家访记录"}  # fmt: skip
    for kind, name in names.items():
        made[kind] = tmp_path / f"{name}-模板.xlsx"
        code, out, _ = _run(on("template", str(made[kind]), "--kind", kind))
        assert code == 0, out
    base = {k: _filled(made, k) for k in ("schools", "staff", "assignments", "roster")}

    code, out, err = _run(on("import", *map(str, base.values()), "--dry-run"))
    assert code == 0, err
    assert "试运行：花名册：新增 3" in out
    assert not Path(store).exists() or _children(store) == 0

    code, out, err = _run(on("import", *map(str, base.values())))
    assert code == 0, err
    assert "学校名册：新增 2，更新 0，未变 0" in out
    assert "新增：S001 S002" in out
    assert "分工名册：新增 5" in out

    week = ("--week-of", WEEK[0].isoformat(), "--as-of", WEEK[4].isoformat())
    code, before, _ = _run(on("due", "T01", *week))
    assert code == 0
    ledger = ("ledger", "county", "--as-of", WEEK[4].isoformat(), "--columns",
              "rate.talk,rate.home_visit")  # fmt: skip
    code, county_before, _ = _run(on(*ledger))
    assert code == 0

    records = [_filled(made, "talk"), _filled(made, "home_visit")]
    code, out, err = _run(on("import", *map(str, records)))
    assert code == 0, err
    assert "谈心记录：新增 3" in out
    assert "家访记录：新增 1" in out

    code, after, _ = _run(on("due", "T01", *week))
    assert code == 0
    this_week = "2026-11-29 前"
    assert before.count(this_week) == 2
    assert "谈心" in before.split("本周待办")[1]
    assert after.count(this_week) == 0  # both talks of the week are done
    code, county_after, _ = _run(on(*ledger))
    assert code == 0
    assert "0.0%" in county_before
    assert "7.7%" in county_after
    assert "33.3%" in county_after  # the November home visit, of three months

    everything = [*base.values(), *records]
    code, out, err = _run(on("import", *map(str, everything), "--json"))
    assert code == 0, err
    data = json.loads(out)
    assert data["written"] is False  # nothing to write
    assert all(not c["created"] and not c["updated"] for c in data["kinds"].values())
    assert data["kinds"]["talk"]["unchanged"] == 3

    for kind, key, value in (("roster", "sex", "不知"), ("talk", "method", "飞鸽传书")):
        bad = _filled(made, kind, f"bad-{kind}", {key: value})
        again = [bad if p.stem == names[kind] else p for p in everything]
        new_talk = _filled(made, "talk", "new", {"date": WEEK[4], "topic": "新的"})
        code, out, err = _run(on("import", *map(str, [*again, new_talk])))
        assert code == 1
        assert f"bad-{kind}.xlsx" in err
        assert value not in err
        assert value not in out
        assert "未导入任何数据" in out
        code, out, _ = _run(on("import", str(new_talk), "--dry-run", "--json"))
        assert json.loads(out)["kinds"]["talk"]["created"]  # the new talk is still not in


def _filled(
    templates: dict[str, Path], kind: str, name: str = "", change: Row | None = None
) -> Path:
    """The command line's template of ``kind`` filled in (its first row changed by ``change``)
    and saved as a clerk names it (学校名册.xlsx)."""
    template = templates[kind]
    rows = [{**ROWS[kind][0], **(change or {})}, *ROWS[kind][1:]]
    stem = name or template.stem.removesuffix("-模板")
    return fill(template.with_name(f"{stem}.xlsx"), kind, rows, template=template)


def _children(store: str) -> int:
    with leftbehind.open(store, actor=SYSTEM) as county:
        return len(list(county.children()))


def test_the_text_report_shows_the_first_ids_and_how_many_more(tmp_path: Path) -> None:
    """A county's roster creates 20,000 children: the terminal gets the first twenty ids of
    a kind and the count of the rest; ``--json`` has every one."""
    rows = [
        {"id": f"S{i:03d}", "name": f"第{i}小学", "township": "平固店镇", "rural": "是"}
        for i in range(1, 26)
    ]
    sheet = fill(tmp_path / "学校名册.xlsx", "schools", rows)
    store = str(tmp_path / "county.db")
    dry = CliRunner().invoke(main, ["import", str(sheet), "--dry-run", "--store", store])
    assert dry.exit_code == 0, dry.output
    (created,) = [line for line in dry.stdout.splitlines() if line.startswith("  新增：")]
    assert created == "  新增：" + " ".join(f"S{i:03d}" for i in range(1, 21)) + (
        " ……另有 5 个（--json 列出全部）"
    )
    every = CliRunner().invoke(main, ["import", str(sheet), "--json", "--store", store])
    assert json.loads(every.stdout)["kinds"]["schools"]["created"] == [r["id"] for r in rows]
