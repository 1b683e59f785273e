"""The ``leftbehind`` command as a script or a person would use it."""

from __future__ import annotations

import importlib
import re
from datetime import date
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

import leftbehind
from leftbehind.access import Actor
from leftbehind.backends.tinydb import open_tinydb
from leftbehind.cli import main
from leftbehind.domain.model import Absence, Child, Enrolment, Parent, School, Sex
from leftbehind.sample import sample_county

SYSTEM = Actor.system("tests")


@pytest.fixture(autouse=True)
def _no_language_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    """The command line speaks Simplified Chinese unless a test asks otherwise."""
    monkeypatch.delenv("LEFTBEHIND_LANG", raising=False)


def test_sample_prints_categories_reasons_and_coming_changes() -> None:
    result = CliRunner().invoke(main, ["sample"])
    assert result.exit_code == 0, result.output
    assert "截至 2026-04-15" in result.output
    assert "自2026-05-10起符合" in result.output
    assert "孤儿" in result.output
    assert "弃儿" in result.output
    assert "缺少资料：父亲、母亲" in result.output
    english = CliRunner().invoke(main, ["sample", "--lang", "en"])
    assert english.exit_code == 0, english.output
    assert "as of 2026-04-15" in english.output
    assert "missing facts: father, mother" in english.output
    assert "eligible from 2026-05-10 (one parent away)" in english.output


def test_sample_as_of_a_later_day_shows_the_change_has_happened() -> None:
    before = CliRunner().invoke(main, ["sample", "--as-of", "2026-05-09"])
    after = CliRunner().invoke(main, ["sample", "--as-of", "2026-05-10"])
    assert before.exit_code == after.exit_code == 0
    assert "自2026-05-10起符合" in before.output
    assert "自2026-05-10起符合" not in after.output


def test_a_bad_date_is_a_usage_error_that_teaches() -> None:
    result = CliRunner().invoke(main, ["sample", "--as-of", "2026/5/10"])
    assert result.exit_code == 2
    assert "YYYY-MM-DD" in result.output


def test_child_shows_the_masked_file_the_decision_and_the_timeline(tmp_path: Path) -> None:
    sample = sample_county()
    store = str(tmp_path / "county.json")
    with leftbehind.open(store, today=lambda: sample.as_of, actor=SYSTEM) as county:
        county.put_schools(sample.schools)
        county.put_children(sample.children)
    result = CliRunner().invoke(main, ["child", "C002", "--as-of", "2026-06-01", "--store", store])
    assert result.exit_code == 0, result.output
    assert "单亲外出留守" in result.output
    assert "2026-05-10 – …" in result.output
    assert sample.children[1].resident_id not in result.output
    assert "***********" in result.output


def test_a_missing_child_exits_1_with_a_message(tmp_path: Path) -> None:
    store = tmp_path / "x.json"
    with leftbehind.open(store, actor=leftbehind.Actor.system("tests")) as county:
        county.set_county("广平县", "130432")
    result = CliRunner().invoke(main, ["child", "C404", "--store", str(store)])
    assert result.exit_code == 1
    assert "C404" in result.output


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("demo")
    store = folder / "county.json"
    result = CliRunner().invoke(
        main,
        ["demo", "--children", "300", "--store", str(store), "--out", str(folder / "ledgers")],
    )
    assert result.exit_code == 0, result.output
    return store


def test_demo_writes_the_county_prints_its_ledger_and_writes_three_workbooks(
    demo_store: Path,
) -> None:
    """The county's and every school's tables, and the teacher tables of one school (that of
    the teacher whose digest is printed), as a school prints them."""
    written = sorted(p.name for p in (demo_store.parent / "ledgers").iterdir())
    assert written[:2] == ["信息汇总表-2026-06-30.xlsx", "动态状况表-2026-06-30.xlsx"]
    assert len(written) == 3
    school = re.fullmatch(r"联络信息表-(\w+)-2026-06-30\.xlsx", written[2])
    assert school is not None
    workbook = openpyxl.load_workbook(demo_store.parent / "ledgers" / written[0], read_only=True)
    rows = list(workbook.worksheets[0].iter_rows(values_only=True))
    workbook.close()
    assert any("合计" in str(cell) for row in rows for cell in row)
    contacts = openpyxl.load_workbook(demo_store.parent / "ledgers" / written[2], read_only=True)
    captions = [
        str(next(ws.iter_rows(min_row=2, max_row=2, values_only=True))[0])
        for ws in contacts.worksheets
        if ws.sheet_state == "visible"
    ]
    contacts.close()
    with leftbehind.open(demo_store, actor=SYSTEM) as county:
        assert len(county.timelines()) == 300
        assert sum(1 for _ in county.records()) > 0
        staff = county.staff()
    ids = [re.search(r"（(\S+?)）", caption) for caption in captions]
    assert ids
    assert all(found is not None for found in ids)
    assert {staff[found.group(1)].school_id for found in ids if found} == {school.group(1)}


def test_the_demo_is_a_county_by_default_and_small_on_asking(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The default is a county of Guangping's size; ``--small`` a quick look; the run says how
    long each phase took. (The sizes are read off the sample it was asked to make.)"""
    made: list[int] = []
    demo_module = importlib.import_module("leftbehind.cli.demo")
    real = demo_module.synthetic_county

    def counted(*, seed: int, children: int, as_of: date) -> object:
        made.append(children)
        return real(seed=seed, children=min(children, 40), as_of=as_of)

    monkeypatch.setattr(demo_module, "synthetic_county", counted)
    monkeypatch.chdir(tmp_path)
    first = CliRunner().invoke(main, ["demo"])
    assert first.exit_code == 0, first.output
    assert (tmp_path / "leftbehind.db").exists()  # the embedded default store
    assert re.search(r"用时：生成 [0-9.]+ 秒，写入 [0-9.]+ 秒，读取 [0-9.]+ 秒，台账", first.output)
    small = CliRunner().invoke(main, ["demo", "--small", "--lang", "en"])
    assert small.exit_code == 0, small.output
    assert re.search(
        r"phases: making [0-9.]+ s, writing [0-9.]+ s, reading [0-9.]+ s", small.output
    )
    assert made == [20_000, 1_200]
    both = CliRunner().invoke(main, ["demo", "--small", "--children", "50"])
    assert both.exit_code == 2
    assert "--children 和 --small 只能给一个" in both.output


def test_the_demo_runs_again_over_its_own_store_but_not_over_another_county(
    tmp_path: Path,
) -> None:
    store = tmp_path / "county.json"
    args = ["demo", "--children", "60", "--store", str(store), "--out", str(tmp_path / "l")]
    assert CliRunner().invoke(main, args).exit_code == 0
    assert CliRunner().invoke(main, args).exit_code == 0
    other = tmp_path / "other.json"
    sample = sample_county()
    with leftbehind.open(other, today=lambda: sample.as_of, actor=SYSTEM) as county:
        county.put_schools(sample.schools)
    refused = CliRunner().invoke(main, ["demo", "--store", str(other), "--out", str(tmp_path)])
    assert refused.exit_code == 1
    assert "错误：数据库 " in refused.output
    assert "不是由演示写入的" in refused.output


def test_ledger_commands_print_each_level(demo_store: Path) -> None:
    runner = CliRunner()
    county_run = runner.invoke(
        main, ["ledger", "county", "--as-of", "2026-06-30", "--store", str(demo_store)]
    )
    assert county_run.exit_code == 0, county_run.output
    assert "信息汇总表" in county_run.output
    with leftbehind.open(demo_store, actor=SYSTEM) as county:
        school = sorted(county.schools())[1]
        assignments = county.assignments()
        staff = sorted(a.staff_id for c in assignments.children() for a in assignments.of_child(c))
    school_run = runner.invoke(
        main, ["ledger", "school", school, "--as-of", "2026-06-30", "--store", str(demo_store)]
    )
    assert school_run.exit_code == 0, school_run.output
    teacher_run = runner.invoke(
        main, ["ledger", "teacher", staff[0], "--as-of", "2026-06-30", "--store", str(demo_store)]
    )
    assert teacher_run.exit_code == 0, teacher_run.output
    commend = runner.invoke(
        main, ["ledger", "commend", "--as-of", "2026-06-30", "--store", str(demo_store)]
    )
    assert commend.exit_code == 0, commend.output
    assert "表彰候选" in commend.output
    missing = runner.invoke(main, ["ledger", "school", "--store", str(demo_store)])
    assert missing.exit_code == 2


def test_ledger_to_xlsx_and_csv_files(demo_store: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    for fmt in ("xlsx", "csv"):
        out = tmp_path / f"county.{fmt}"
        result = runner.invoke(
            main,
            [
                "ledger",
                "county",
                "--as-of",
                "2026-06-30",
                "--format",
                fmt,
                "--out",
                str(out),
                "--store",
                str(demo_store),
            ],
        )
        assert result.exit_code == 0, result.output
        assert out.stat().st_size > 0
    refused = runner.invoke(
        main,
        [
            "ledger",
            "county",
            "--format",
            "csv",
            "--out",
            str(demo_store),
            "--store",
            str(demo_store),
        ],
    )
    assert refused.exit_code == 1


def test_due_and_deliver(demo_store: Path, tmp_path: Path) -> None:
    store = tmp_path / "copy.json"
    runner = CliRunner()
    copied = runner.invoke(main, ["copy", str(demo_store), str(store)])
    assert copied.exit_code == 0, copied.output
    with leftbehind.open(store, actor=SYSTEM) as county:
        teacher = sorted(county.staff())[1]
    due = runner.invoke(main, ["due", teacher, "--as-of", "2026-06-30", "--store", str(store)])
    assert due.exit_code == 0, due.output
    assert "本周" in due.output
    sent = runner.invoke(
        main, ["deliver", "--queue-week", "--as-of", "2026-06-30", "--store", str(store)]
    )
    assert sent.exit_code == 0, sent.output
    assert re.match(r"已排入 [1-9][0-9]* 条通知", sent.output)
    again = runner.invoke(
        main,
        ["deliver", "--queue-week", "--as-of", "2026-06-30", "--store", str(store), "--lang", "en"],
    )
    assert "notices queued: 0" in again.output
    assert "sent 0" in again.output


def test_copy_to_sqlite_keeps_every_document(demo_store: Path, tmp_path: Path) -> None:
    target = f"sqlite:///{tmp_path / 'county.db'}"
    result = CliRunner().invoke(main, ["copy", str(demo_store), target])
    assert result.exit_code == 0, result.output
    with leftbehind.open(demo_store, actor=SYSTEM) as a, leftbehind.open(target, actor=SYSTEM) as b:
        assert a.county_table(date(2026, 6, 30)) == b.county_table(date(2026, 6, 30))


SECRET = "s3cret-Pa55-9d1e"
PASSWORD_VAR = "LEFTBEHIND_TEST_SMTP_PASSWORD"


def test_copy_carries_no_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = tmp_path / "county.json"
    mail = {
        "type": "email",
        "host": "127.0.0.1",
        "from": "care@school.cn",
        "user": "care",
        "password_env": PASSWORD_VAR,
    }
    monkeypatch.setenv(PASSWORD_VAR, SECRET)  # set where notices are delivered, and here
    with leftbehind.open(source, actor=SYSTEM) as county:
        county.set_channels({"default": {"type": "log"}, "mail": mail})
    targets = [str(tmp_path / "copy.json"), f"sqlite:///{tmp_path / 'copy.db'}"]
    for target in targets:
        result = CliRunner().invoke(main, ["copy", str(source), target])
        assert result.exit_code == 0, result.output
        with leftbehind.open(target, actor=SYSTEM) as county:
            assert county.settings()["channels"]["mail"] == mail  # the reference travels
    files = [p for p in tmp_path.iterdir() if p.is_file()]
    assert {p.name for p in files} >= {"county.json", "copy.json", "copy.db"}
    assert not [p.name for p in files if SECRET.encode() in p.read_bytes()]


def test_copy_refuses_a_store_holding_a_secret_in_clear(tmp_path: Path) -> None:
    source = tmp_path / "old.json"
    with open_tinydb(str(source)) as store, store.unit_of_work() as uow:
        # as a store written before secrets were refused may hold them
        channels = {"mail": {"type": "email", "host": "h", "from": "a@b.cn", "password": SECRET}}
        uow.put("settings", "county", {"channels": channels})
        uow.commit()
    target = tmp_path / "copy.json"
    result = CliRunner().invoke(main, ["copy", str(source), str(target)])
    assert result.exit_code == 1
    assert "mail.password" in result.output
    assert "in clear" in result.output
    assert SECRET not in result.output
    assert not target.exists() or SECRET.encode() not in target.read_bytes()
    with open_tinydb(str(target)) as copied:
        assert copied.kinds() == frozenset()  # nothing was written


def test_template_import_and_export_roster(tmp_path: Path) -> None:
    runner = CliRunner()
    template = tmp_path / "花名册.xlsx"
    assert runner.invoke(main, ["template", str(template)]).exit_code == 0
    assert template.exists()
    sample = sample_county()
    store = tmp_path / "county.json"
    with leftbehind.open(store, today=lambda: sample.as_of, actor=SYSTEM) as county:
        county.put_schools(sample.schools)
        county.put_children(sample.children)
    exported = tmp_path / "roster.csv"
    result = runner.invoke(
        main, ["export", "roster", str(exported), "--unmasked", "--store", str(store)]
    )
    assert result.exit_code == 0, result.output
    fresh = tmp_path / "fresh.json"
    with leftbehind.open(fresh, today=lambda: sample.as_of, actor=SYSTEM) as county:
        county.put_schools(sample.schools)
    dry = runner.invoke(main, ["import", str(exported), "--dry-run", "--store", str(fresh)])
    assert dry.exit_code == 0, dry.output
    assert "试运行：" in dry.output
    with leftbehind.open(fresh, actor=SYSTEM) as county:
        assert list(county.children()) == []
    done = runner.invoke(main, ["import", str(exported), "--store", str(fresh)])
    assert done.exit_code == 0, done.output
    with leftbehind.open(fresh, actor=SYSTEM) as county:
        assert len(list(county.children())) == len(sample.children)
    bad = tmp_path / "bad.csv"
    bad.write_text(
        exported.read_text(encoding="utf-8-sig").replace("2016-03-02", "2016-02-30"),
        encoding="utf-8",
    )
    rejected = runner.invoke(main, ["import", str(bad), "--store", str(fresh)])
    assert rejected.exit_code == 1


@pytest.mark.parametrize(
    "args",
    [
        ["child", "C001"],
        ["ledger", "county"],
        ["due", "S001-T01"],
        ["deliver"],
        ["audit"],
        ["county"],
        ["county", "--name", "广平县", "--code", "130432"],
        ["export", "roster", "out.xlsx"],
        ["export", "ledgers", "台账"],
    ],
    ids=lambda a: "-".join(a[:2]),
)
@pytest.mark.parametrize("suffix", [".db", ".json"])
def test_a_mistyped_store_is_an_error_never_a_new_empty_county(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], suffix: str
) -> None:
    """Only `import` and `demo` make a store: every other command on a missing path says so
    in one line and exits 1, and nothing appears (no store, no lock, no export)."""
    monkeypatch.chdir(tmp_path)
    done = CliRunner().invoke(main, [*args, "--store", f"typo{suffix}"])
    assert done.exit_code == 1, done.output
    assert done.output.startswith(f"错误：no store at {tmp_path / ('typo' + suffix)}")
    assert "请检查 --store" in done.output
    assert done.output.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_a_text_ledger_written_to_a_file_is_text(demo_store: Path, tmp_path: Path) -> None:
    out = tmp_path / "county.txt"
    args = ["ledger", "county", "--as-of", "2026-06-30", "--store", str(demo_store)]
    done = CliRunner().invoke(main, [*args, "--out", str(out)])
    assert done.exit_code == 0, done.output
    assert "信息汇总表" in out.read_text("utf-8")


def test_child_as_of_a_day_decides_from_the_facts_that_stood_then(tmp_path: Path) -> None:
    """Both parents away until 1 October, away again from 20 October: as of 12 October the
    stay at home has not been bridged yet, whatever the stored timeline says now."""
    store = tmp_path / "county.db"
    school = School("S01", "平固店镇中心小学", "平固店镇", rural=True)

    def away(back: date | None) -> Parent:
        first = Absence(date(2026, 1, 5), back, "北京")
        later = (Absence(date(2026, 10, 20), None, "北京"),) if back else ()
        return Parent(absences=(first, *later))

    child = Child(
        "C1",
        "王小明",
        Sex.MALE,
        date(2016, 3, 2),
        enrolments=(Enrolment("S01", date(2022, 9, 1), 1),),
        father=away(date(2026, 10, 1)),
        mother=away(date(2026, 10, 1)),
    )
    with leftbehind.open(store, actor=SYSTEM, today=lambda: date(2026, 11, 1)) as county:
        county.put_schools([school])
        county.put_children([child])
    done = CliRunner().invoke(main, ["child", "C1", "--as-of", "2026-10-12", "--store", str(store)])
    assert done.exit_code == 0, done.output
    assert "不在工作对象内" in done.output


def test_the_county_table_fits_the_terminal_and_shows_chosen_columns(
    demo_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rich.cells import cell_len

    monkeypatch.setenv("COLUMNS", "100")
    args = ["ledger", "county", "--as-of", "2026-06-30", "--store", str(demo_store)]
    fitted = CliRunner().invoke(main, args)
    assert fitted.exit_code == 0, fitted.output
    assert max(cell_len(line) for line in fitted.output.splitlines()) <= 100
    assert "关爱对象" in fitted.output
    chosen = CliRunner().invoke(main, [*args, "--columns", "enrolled,served"])
    assert chosen.exit_code == 0, chosen.output
    assert "在校学生" in chosen.output
    assert "谈心" not in chosen.output
    wrong = CliRunner().invoke(main, [*args, "--columns", "no.such"])
    assert wrong.exit_code == 2
    assert "served" in wrong.output
    out = tmp_path / "keys.csv"
    keyed = CliRunner().invoke(main, [*args, "--format", "csv", "--keys", "--out", str(out)])
    assert keyed.exit_code == 0, keyed.output
    assert "served" in out.read_text("utf-8-sig").splitlines()[0]


def test_export_ledgers_of_one_school_writes_its_status_table_and_its_teachers(
    demo_store: Path, tmp_path: Path
) -> None:
    """A school prints its own two forms: its 动态状况表 and its teachers' 联络信息表."""
    with leftbehind.open(demo_store, actor=SYSTEM) as county:
        staff = county.staff()
        tables = county.teacher_tables(date(2026, 6, 30))
        held = {staff[k].school_id for k, t in tables.items() if t.rows}
        school = min(held)
        empty = sorted(set(county.schools()) - held)
    out = tmp_path / "台账"
    args = ["export", "ledgers", str(out), "--school", school, "--as-of", "2026-06-30"]
    done = CliRunner().invoke(main, [*args, "--store", str(demo_store)])
    assert done.exit_code == 0, done.output
    assert sorted(p.name for p in out.iterdir()) == [
        f"动态状况表-{school}-2026-06-30.xlsx",
        f"联络信息表-{school}-2026-06-30.xlsx",
    ]
    status = openpyxl.load_workbook(out / f"动态状况表-{school}-2026-06-30.xlsx", read_only=True)
    visible = [ws for ws in status.worksheets if ws.sheet_state == "visible"]
    status.close()
    assert len(visible) == 1
    contacts = openpyxl.load_workbook(out / f"联络信息表-{school}-2026-06-30.xlsx", read_only=True)
    captions = [
        str(next(ws.iter_rows(min_row=2, max_row=2, values_only=True))[0])
        for ws in contacts.worksheets
        if ws.sheet_state == "visible"
    ]
    contacts.close()
    found = [re.search(r"（(\S+?)）", caption) for caption in captions]
    assert found
    assert {staff[m.group(1)].school_id for m in found if m} == {school}
    assert empty  # a school whose teachers hold no served child: its status table alone
    bare = tmp_path / "bare"
    alone = CliRunner().invoke(
        main,
        [*args[:2], str(bare), "--school", empty[0], *args[5:], "--store", str(demo_store)],
    )
    assert alone.exit_code == 0, alone.output
    assert [p.name for p in bare.iterdir()] == [f"动态状况表-{empty[0]}-2026-06-30.xlsx"]
    assert f"联络信息表-{empty[0]}" in alone.stderr
    roster = CliRunner().invoke(
        main, ["export", "roster", str(tmp_path / "r.xlsx"), "--school", school]
    )
    assert roster.exit_code == 2
    other = next(s.school_id for s in staff.values() if s.school_id != school)
    head = [*args, "--store", str(demo_store), "--as", f"school:H:{other}"]
    refused = CliRunner().invoke(main, [*head[:2], str(tmp_path / "other"), *head[3:]])
    assert refused.exit_code == 1
    assert refused.output.startswith("错误：校长无权")
