"""The command line, its digests and the notices speak the language asked: ``--lang``, else
``$LEFTBEHIND_LANG``, else the county's, else Simplified Chinese; one language a line."""

from __future__ import annotations

import ast
import inspect
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import click
import pytest
from babel.messages.pofile import read_po
from click.testing import CliRunner

import leftbehind
from leftbehind import digest as builders
from leftbehind.access import Actor
from leftbehind.builtins import leftbehind_calendars, leftbehind_eligibility_policies
from leftbehind.calendars import Festival
from leftbehind.cli import main
from leftbehind.cli.language import short_help
from leftbehind.domain.i18n import LANGUAGES, text, use
from leftbehind.domain.people import Assignment, Role, Staff
from leftbehind.sample import sample_county

SYSTEM = Actor.system("tests")
DAY = "2026-06-30"
CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
SRC = Path(leftbehind.__file__).parent
#: The files whose every text(...) is the command line's (the cli catalogs).
CLI_FILES = [
    "cli/__init__.py",
    "cli/console.py",
    "cli/demo.py",
    "cli/output.py",
    "cli/scripts.py",
    "cli/language.py",
    "cli/setup.py",
    "cli/quality.py",
    "cli/followups.py",
    "digest.py",
    "service/notices.py",
    "calendars.py",
    "builtins.py",
]


@pytest.fixture(autouse=True)
def _no_language_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LEFTBEHIND_LANG", raising=False)


def run(*args: str, env: dict[str, str] | None = None) -> click.testing.Result:
    return CliRunner().invoke(main, list(args), env=env)


# ---------------------------------------------------------------------------------------------
# Help.


def test_the_help_is_simplified_chinese_by_default_and_english_or_traditional_on_asking() -> None:
    zh = run("--help")
    tw = run("--lang", "zh_TW", "--help")
    en = run("--lang", "en", "--help")
    assert zh.exit_code == tw.exit_code == en.exit_code == 0
    assert zh.output.startswith("用法: ")
    assert "开展农村留守儿童关爱行动。" in zh.output
    assert "选项:" in zh.output
    assert "命令:" in zh.output
    assert "显示本帮助并退出。" in zh.output
    assert "审计日志：每次修改、导出和完整显示" in zh.output  # a command's short help
    assert "開展農村留守兒童關愛行動。" in tw.output
    assert "顯示本幫助並退出。" in tw.output
    assert en.output.startswith("Usage: ")
    assert "Run a county's care action for rural left-behind children." in en.output
    assert "Show this message and exit." in en.output
    assert not CJK.search(en.output)
    for english in ("Show this message and exit", "Run a county", "Options:", "Usage:"):
        assert english not in zh.output
        assert english not in tw.output


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_commands_help_is_wholly_in_one_language(lang: str) -> None:
    """Every option's help, click's words and the examples, in the language asked; --lang may
    come after --help, and $LEFTBEHIND_LANG says the same."""
    by_option = run("ledger", "--help", "--lang", lang)
    by_env = run("ledger", "--help", env={"LEFTBEHIND_LANG": lang})
    assert by_option.exit_code == by_env.exit_code == 0
    assert by_option.output == by_env.output
    out = by_option.output
    with use(lang):
        wanted = [
            text("Usage:"),
            text("The day [default: today]."),
            text("Show this message and exit."),
            text("default: {default}", default="system"),
        ]
    for line in wanted:
        assert line in out, (lang, line)
    if lang == "en":
        assert not CJK.search(out)
        assert "--out guangping.json" in out
    else:
        assert "广平县.json" in out or "廣平縣.json" in out
        assert "[default:" not in out
        assert "The day" not in out


def commands() -> Iterator[tuple[str, click.Command]]:
    yield "leftbehind", main
    yield from main.commands.items()


@pytest.mark.parametrize("lang", ["zh_CN", "zh_TW"])
def test_every_help_text_is_translated(lang: str) -> None:
    with use(lang):
        for name, command in commands():
            assert command.help is not None
            assert text(inspect.cleandoc(command.help)) != inspect.cleandoc(command.help), name
            for param in command.params:
                found = getattr(param, "help", None)
                if found:
                    assert CJK.search(text(found)), (name, param.name)


def _texts(path: Path) -> Iterator[str]:
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "text" and node.args:
            arg = node.args[0]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                yield arg.value


def test_every_message_of_the_command_line_is_in_its_catalogs() -> None:
    """Each text("…") of the command line's files, each help text, in the cli catalog of every
    language (test_locale checks they agree and are compiled)."""
    wanted = {m for f in CLI_FILES for m in _texts(SRC / f)}
    for _name, command in commands():
        wanted.add(inspect.cleandoc(command.help or ""))
        wanted |= {help for p in command.params if (help := getattr(p, "help", None))}
    assert len(wanted) > 120
    for lang in LANGUAGES:
        with (SRC / "locale" / lang / "LC_MESSAGES" / "cli.po").open("rb") as f:
            known = {str(m.id) for m in read_po(f) if m.id}
        assert sorted(wanted - known) == [], lang


def test_a_short_help_is_the_first_sentence_cut_to_the_width() -> None:
    assert short_help("One child's file. The rest.") == "One child's file"
    assert short_help("一名儿童的档案。其余。") == "一名儿童的档案"
    cut = short_help("写" * 40, limit=20)
    assert cut == "写" * 9 + "…"
    assert short_help("word " * 20, limit=20) == "word word word word…"


# ---------------------------------------------------------------------------------------------
# Messages and errors.


@pytest.mark.parametrize(
    ("lang", "framing", "hint"),
    [
        ("zh_CN", "错误：", "请检查 --store"),
        ("zh_TW", "錯誤：", "請檢查 --store"),
        ("en", "error: ", "check --store"),
    ],
)
def test_an_error_line_speaks_the_language_asked(
    tmp_path: Path, lang: str, framing: str, hint: str
) -> None:
    """The framing and the hint are localised; the library's own message stays as it is."""
    done = run("ledger", "county", "--store", str(tmp_path / "typo.db"), "--lang", lang)
    assert done.exit_code == 1
    assert done.output.startswith(f"{framing}no store at ")
    assert hint in done.output
    assert done.output.count("\n") == 1


@pytest.mark.parametrize(
    ("lang", "line"),
    [
        ("zh_CN", "错误：`ledger school` 需要学校编号"),
        ("zh_TW", "錯誤：`ledger school` 需要學校編號"),
        ("en", "Error: `ledger school` needs the school's ID"),
    ],
)
def test_a_usage_error_speaks_the_language_asked(lang: str, line: str) -> None:
    done = run("--lang", lang, "ledger", "school")
    assert done.exit_code == 2
    assert line in done.output.splitlines()


def test_click_s_own_errors_speak_too() -> None:
    done = run("ledger", "countyx")
    assert done.exit_code == 2
    assert "错误：" in done.output
    assert "的值无效：'countyx' 不是 " in done.output
    english = run("ledger", "countyx", "--lang", "en")
    assert "Error: Invalid value for" in english.output


def test_a_language_no_one_speaks_is_a_usage_error_naming_the_choices() -> None:
    for done in (run("sample", "--lang", "fr"), run("sample", env={"LEFTBEHIND_LANG": "fr"})):
        assert done.exit_code == 2
        assert "zh_CN, zh_TW, en" in done.output


def test_a_county_is_spoken_to_in_its_language_unless_told_otherwise(tmp_path: Path) -> None:
    sample = sample_county()
    store = str(tmp_path / "county.db")
    with leftbehind.open(store, actor=SYSTEM, today=lambda: sample.as_of) as county:
        county.put_schools(sample.schools)
        county.put_children(sample.children)
        county.set_language("zh_TW")
    args = ["child", "C002", "--as-of", "2026-06-01", "--store", store]
    theirs = run(*args)
    assert theirs.exit_code == 0, theirs.output
    assert "時間線（" in theirs.output
    assert "單親外出留守" in theirs.output
    for done in (run(*args, "--lang", "en"), run(*args, env={"LEFTBEHIND_LANG": "en"})):
        assert done.exit_code == 0, done.output
        assert "timeline (guangping-plan v" in done.output
        assert "one parent away" in done.output
    simplified = run(*args, "--lang", "zh-Hans")
    assert "时间线（" in simplified.output
    # a missing child: the error's framing in the county's language too
    missing = run("child", "C404", "--store", store)
    assert missing.exit_code == 1
    assert missing.output.startswith("錯誤：")


def test_the_audit_and_deliver_lines_speak_english_on_asking(tmp_path: Path) -> None:
    store = str(tmp_path / "county.db")
    with leftbehind.open(store, actor=SYSTEM) as county:
        county.set_county("广平县", "130432")
    assert run("audit", "--store", store).output.splitlines()[-1] == "共 1 条"
    assert run("audit", "--store", store, "--lang", "en").output.splitlines()[-1] == "entries: 1"
    sent = run("deliver", "--store", store, "--lang", "en")
    assert sent.output == "sent 0, retrying 0, parked 0, unrouted 0, lapsed 0\n"


# ---------------------------------------------------------------------------------------------
# The digest.


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("demo")
    store = folder / "county.json"
    args = ["demo", "--children", "300", "--store", str(store), "--out", str(folder / "l")]
    done = CliRunner().invoke(main, [*args, "--lang", "en"])
    assert done.exit_code == 0, done.output
    assert not CJK.search(done.output.split("\n", 1)[1].split("\n\n")[0].replace("广平县", ""))
    written = sorted(p.name for p in (folder / "l").iterdir())
    assert written[:2] == ["county-table-2026-06-30.xlsx", "school-status-2026-06-30.xlsx"]
    assert re.fullmatch(r"teacher-contacts-\w+-2026-06-30\.xlsx", written[2])
    assert len(written) == 3
    return store


def _teacher(store: Path) -> tuple[str, dict[str, str]]:
    """A class teacher with overdue and due duties, and every child's name."""
    with leftbehind.open(store, actor=SYSTEM) as county:
        assignments = county.assignments()
        names = {c.id: c.name for c in county.children()}
        teachers = sorted(
            {
                a.staff_id
                for cid in assignments.children()
                for a in assignments.on(cid, date(2026, 6, 30))
                if a.role is Role.CLASS_TEACHER
            }
        )
        for staff in teachers:
            d = county.digest(staff, date(2026, 6, 30), date(2026, 6, 30))
            if d.due and d.overdue:
                return staff, names
    raise AssertionError("no teacher owes both")


def _sections(output: str, overdue: str, due: str) -> tuple[list[str], list[str]]:
    lines = output.splitlines()
    late_at, due_at = lines.index(f"  {overdue}"), lines.index(f"  {due}")
    assert late_at < due_at  # overdue first
    return lines[late_at + 1 : due_at], lines[due_at + 1 :]


def _days(lines: list[str]) -> list[str]:
    return [d for line in lines for d in re.findall(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", line)]


def test_a_teachers_digest_lists_overdue_first_by_date_with_the_childrens_names(
    demo_store: Path,
) -> None:
    staff, names = _teacher(demo_store)
    args = ["due", staff, "--as-of", DAY, "--store", str(demo_store), "--as", f"staff:{staff}"]
    done = run(*args)
    assert done.exit_code == 0, done.output
    late, due = _sections(done.output, "逾期：", "本周待办：")
    for part in (late, due):
        shown = [line for line in part if "前" in line]
        assert shown
        assert _days(shown) == sorted(_days(shown))
        for line in shown:
            cid = re.search(r"C[0-9]{6}", line)
            assert cid is not None
            assert f"{cid.group()} {names[cid.group()]}  " in line
    assert max(_days(late)) < min(_days(due))
    english = run(*args, "--lang", "en")
    late_en, due_en = _sections(english.output, "overdue:", "due this week:")
    assert _days(late_en) == _days(late)
    assert all(line.strip().startswith("by ") for line in due_en if "-" in line)


def test_a_role_that_may_not_read_files_sees_record_keys_only(demo_store: Path) -> None:
    staff, names = _teacher(demo_store)
    args = ["due", staff, "--as-of", DAY, "--store", str(demo_store), "--as", f"volunteer:{staff}"]
    done = run(*args, "--lang", "en")
    assert done.exit_code == 0, done.output
    body = done.output.splitlines()[1:]
    assert any(re.search(r"C[0-9]{6}", line) for line in body)
    assert not any(name in done.output for name in names.values())
    assert not any(CJK.search(line) for line in body)  # English only: no name, no label


# ---------------------------------------------------------------------------------------------
# Notices.


MONDAY = date(2025, 3, 10)


def test_notices_are_written_in_the_language_of_the_moment() -> None:
    items = [
        builders.DutyItem("C000123", "talk", date(2025, 3, 14), "Grade 3, 2班"),
        builders.DutyItem("C000124", "home visit", date(2025, 3, 31), ""),
    ]
    with use("en"):
        digest = builders.weekly_digest("T001", items, week_of=MONDAY)
        [served] = builders.status_notices(
            "C000123", change="served", on=MONDAY, recipients=["T001"], school_label="城关镇一小"
        )
        summary = builders.school_summary(
            "S01",
            recipient="group:S01",
            school_label="城关镇一小",
            week_of=MONDAY,
            served=3,
            due=4,
            overdue=1,
        )
    assert digest is not None
    assert digest.subject == "Due this week: 2 (2025-W11)"
    assert digest.body.splitlines() == [
        "Due 2025-03-10 to 2025-03-16 (2):",
        "by 3/14:",
        "· Grade 3, 2班 C000123 talk",
        "by 3/31:",
        "· C000124 home visit",
    ]
    assert served.subject == "Newly served: C000123"
    assert served.body.startswith("城关镇一小: child C000123 is served by the care action from")
    assert summary.body.splitlines()[1] == "Served: 3; this week 0 newly served, 0 left."
    assert not re.search(r"C[0-9]{6}", summary.body)  # a group hears counts only
    with use("zh_TW"):
        digest = builders.weekly_digest("T001", items, week_of=MONDAY)
    assert digest is not None
    assert digest.subject == "本週待辦 2 項（2025-W11）"
    assert digest.body.splitlines()[1] == "3月14日前："


@pytest.mark.parametrize(
    ("lang", "subject"),
    [
        ("zh_CN", r"本周待办 [0-9]+ 项"),
        ("zh_TW", r"本週待辦 [0-9]+ 項"),
        ("en", r"Due this week: [0-9]+ "),
    ],
)
def test_the_county_queues_its_notices_in_its_language(
    demo_store: Path, tmp_path: Path, lang: str, subject: str
) -> None:
    store = tmp_path / "county.json"
    store.write_bytes(demo_store.read_bytes())
    with leftbehind.open(store, actor=SYSTEM, today=lambda: date(2026, 6, 30)) as county:
        county.set_language(lang)
        with use("zh_CN" if lang != "zh_CN" else "en"):  # what the caller speaks does not matter
            assert county.queue_week(date(2026, 6, 30)) > 0
        pending = county.notices()["pending"]
        names = {c.name for c in county.children()}
    digests = [e.notice for e in pending if e.notice.kind == "duty_digest"]
    assert digests
    assert all(re.match(subject, n.subject) for n in digests)
    if lang == "en":
        for e in pending:
            subject = e.notice.subject
            for school in ("广平镇中学", "平固店镇中心小学", "广平镇中心小学"):
                subject = subject.replace(school, "")
            assert not CJK.search(subject), e.notice.subject
    assert not any(name in e.notice.body for e in pending for name in names)


def test_a_childs_status_notice_is_queued_in_the_countys_language() -> None:
    sample = sample_county()
    child = next(c for c in sample.children if c.id == "C002")  # served from 2026-05-10
    school = child.enrolments[-1].school_id
    with leftbehind.open(
        "memory://status-lang", actor=SYSTEM, today=lambda: date(2026, 6, 1)
    ) as county:
        county.put_schools(sample.schools)
        county.put_children(sample.children)
        county.put_staff([Staff("T1", "李老师", school)])
        county.put_assignments(
            [Assignment("A1", "T1", "C002", Role.CLASS_TEACHER, date(2025, 9, 1))]
        )
        county.set_language("en")
        assert county.queue_status_changes(date(2026, 5, 1), date(2026, 5, 31)) == 1
        [entry] = county.notices()["pending"]
    assert entry.notice.subject == "Newly served: C002"
    assert "child C002 is served by the care action from 2026-05-10" in entry.notice.body
    school_name = next(s.name for s in sample.schools if s.id == school)
    framing = entry.notice.body.replace(school_name, "")
    framing = framing.replace(child.enrolments[-1].class_name, "")
    assert framing.startswith(", Grade 5, : child C002")
    assert not CJK.search(framing)  # the school's and the class's names are data


# ---------------------------------------------------------------------------------------------
# Festivals and the built-in records.


def test_festivals_and_the_built_in_records_are_named_in_the_language_of_the_moment() -> None:
    day = Festival(date(2026, 6, 1), "六一儿童节", "Children's Day")
    county_own = Festival(date(2026, 5, 4), "五四青年节", "Youth Day")
    assert (day.name, county_own.name) == ("六一儿童节", "五四青年节")
    with use("zh_TW"):
        assert day.name == "六一兒童節"
        assert leftbehind_calendars()[1].description == "默認學期，不含節假日"
    with use("en"):
        assert (day.name, county_own.name) == ("Children's Day", "Youth Day")
        assert leftbehind_eligibility_policies()[1].description.startswith("State Council")
    assert leftbehind_eligibility_policies()[0].description.startswith("广平方案")
