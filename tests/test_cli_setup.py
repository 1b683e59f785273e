"""Starting from nothing (``leftbehind init``), errors in plain words, and the version: through
the command line as a person or a script uses it."""

from __future__ import annotations

import importlib.metadata
import re
import sys
import tomllib
import zipfile
from pathlib import Path

import click.testing
import pytest
from click.testing import CliRunner

import leftbehind
from leftbehind.access import Actor
from leftbehind.cli import main
from leftbehind.errors import ConflictError, MissingDependencyError, StoreBusyError
from leftbehind.sample import sample_county

SYSTEM = Actor.system("tests")
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _no_language_or_store_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LEFTBEHIND_LANG", raising=False)
    monkeypatch.delenv("LEFTBEHIND_STORE", raising=False)


def run(*args: str) -> click.testing.Result:
    return CliRunner().invoke(main, list(args))


def one_error_line(result: click.testing.Result) -> str:
    """The single line a failed command wrote on standard error (and no traceback)."""
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


# ---------------------------------------------------------------------------------------------
# leftbehind init


def test_init_sets_up_a_county_in_the_default_store_and_says_what_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    done = run("init", "--name", "广平县", "--code", "130432")
    assert done.exit_code == 0, done.output
    assert (tmp_path / "leftbehind.db").is_file()
    out = done.stdout
    assert "已设立新县：" in out
    assert "县：广平县（130432）" in out
    assert "政策：guangping-plan 第 2 版" in out
    assert "语言：简体中文 (zh_CN)" in out
    assert "下一步：" in out
    assert "leftbehind template 学校名册.xlsx --kind schools" in out
    assert "花名册.xlsx 分工名册.xlsx --dry-run" in out
    with leftbehind.open("leftbehind.db", actor=SYSTEM, create=False) as county:
        settings = county.settings()
        assert (settings["name"], settings["code"], settings["language"]) == (
            "广平县",
            "130432",
            "zh_CN",
        )
        assert county.policy.name == "guangping-plan"
    # the other commands now find the county
    named = run("county")
    assert named.exit_code == 0
    assert named.output == "广平县 130432\n"


def test_init_takes_the_policy_and_the_language_and_then_speaks_it(tmp_path: Path) -> None:
    store = str(tmp_path / "county.db")
    done = run(
        "init", "--name", "廣平縣", "--code", "130432", "--policy", "national-2016",
        "--language", "zh-Hant", "--store", store,
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    assert "已設立新縣：" in done.output
    assert "政策：national-2016" in done.output
    assert "語言：繁體中文 (zh_TW)" in done.output
    with leftbehind.open(store, actor=SYSTEM, create=False) as county:
        assert county.policy.name == "national-2016"
        assert county.settings()["language"] == "zh_TW"
    english = run(
        "init", "--name", "Feixiang", "--code", "130428", "--language", "en",
        "--store", str(tmp_path / "en.db"), "--lang", "en",
    )  # fmt: skip
    assert english.exit_code == 0, english.output
    assert "Set up a new county:" in english.output
    assert "language: English (en)" in english.output
    assert "leftbehind template schools.xlsx --kind schools" in english.output
    # a later command speaks the county's language without being told
    assert run("audit", "--store", str(tmp_path / "en.db")).output.splitlines()[-1] == (
        "entries: 2"
    )


def test_init_again_as_asked_changes_nothing(tmp_path: Path) -> None:
    store = str(tmp_path / "county.db")
    assert run("init", "--name", "广平县", "--code", "130432", "--store", store).exit_code == 0
    with leftbehind.open(store, actor=SYSTEM) as county:
        before = len(county.audit())
    again = run("init", "--name", "广平县", "--code", "130432", "--store", store)
    assert again.exit_code == 0, again.output
    assert "已按要求设立" in again.output
    with leftbehind.open(store, actor=SYSTEM) as county:
        assert len(county.audit()) == before


def test_init_on_a_county_shows_it_and_changes_nothing_without_force(tmp_path: Path) -> None:
    sample = sample_county()
    store = str(tmp_path / "county.db")
    with leftbehind.open(store, actor=SYSTEM, today=lambda: sample.as_of) as county:
        county.put_schools(sample.schools)
        county.put_children(sample.children)
        county.set_county("广平县", "130432")
        before = len(county.audit())
    refused = run("init", "--name", "肥乡区", "--code", "130428", "--store", store)
    assert refused.exit_code == 1
    line = one_error_line(refused)
    assert line.startswith("错误：这个数据库已设立了县，未做任何改动")
    assert "--force" in line
    assert "leftbehind county --name" in line
    assert "县：广平县（130432）" in refused.stdout  # what is there, shown
    with leftbehind.open(store, actor=SYSTEM) as county:
        assert county.settings()["name"] == "广平县"
        assert len(county.audit()) == before
    forced = run(
        "init", "--name", "肥乡区", "--code", "130428", "--store", store, "--force",
        "--language", "en",
    )  # fmt: skip
    assert forced.exit_code == 0, forced.output
    assert "county: 肥乡区 (130428)" in forced.output  # spoken in the county's new language
    with leftbehind.open(store, actor=SYSTEM) as county:
        assert (county.settings()["name"], county.settings()["code"]) == ("肥乡区", "130428")
        assert len(list(county.children())) == len(sample.children)  # the data is kept


def test_init_names_a_store_made_without_a_name(tmp_path: Path) -> None:
    """A store an import or a script made, still unnamed, is set up without --force."""
    sample = sample_county()
    store = str(tmp_path / "county.db")
    with leftbehind.open(store, actor=SYSTEM, today=lambda: sample.as_of) as county:
        county.put_schools(sample.schools)
    done = run("init", "--name", "广平县", "--code", "130432", "--store", store)
    assert done.exit_code == 0, done.output
    assert "已设立本县：" in done.output


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--name", "广平县", "--code", "13043"], "code: an administrative code is 6 digits"),
        (["--name", "广 平", "--code", "130432"], "name: no spaces or control characters"),
        (["--name", "广平县", "--code", "130432", "--language", "fr"], "language: no language"),
        (["--name", "广平县", "--code", "130432", "--policy", "nope"], "guangping-plan"),
    ],
)
def test_init_checks_everything_before_it_makes_a_store(
    tmp_path: Path, args: list[str], said: str
) -> None:
    store = tmp_path / "county.db"
    done = run("init", *args, "--store", str(store))
    assert done.exit_code == 1
    assert "Traceback" not in done.output
    assert said in done.stderr
    assert not store.exists()
    assert list(tmp_path.iterdir()) == []


def test_init_needs_the_name_and_the_code() -> None:
    done = run("init", "--name", "广平县")
    assert done.exit_code == 2
    assert "--code" in done.output


def test_init_may_not_be_run_by_a_teacher(tmp_path: Path) -> None:
    store = str(tmp_path / "county.db")
    done = run("init", "--name", "广平县", "--code", "130432", "--store", store, "--as", "staff:T1")
    assert done.exit_code == 1
    assert "Traceback" not in done.output


# Every command that opens a store, but for those that bring data in: each refuses a store
# that is not there and makes none.
READERS = [
    ["child", "C001"],
    ["due", "T1"],
    ["ledger", "county"],
    ["audit"],
    ["deliver"],
    ["county"],
    ["county", "--name", "广平县", "--code", "130432"],
    ["export", "roster", "roster.xlsx"],
    ["export", "ledgers", "ledgers"],
]


@pytest.mark.parametrize("args", READERS, ids=lambda a: " ".join(a))
def test_only_init_import_and_demo_make_a_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    done = run(*args)
    assert done.exit_code == 1, done.output
    line = one_error_line(done)
    assert line.startswith("错误：no store at ")
    assert "leftbehind.db: nothing was created" in line
    assert "leftbehind init" in line
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------------------------
# Errors in plain words: one line, no traceback.


@pytest.fixture
def county_store(tmp_path: Path) -> str:
    store = str(tmp_path / "county.db")
    assert run("init", "--name", "广平县", "--code", "130432", "--store", store).exit_code == 0
    return store


@pytest.mark.parametrize(
    ("lang", "said"),
    [
        ("zh_CN", "错误：另一个命令同时修改了这个数据库，本次什么也没有写入：请再运行一次"),
        ("zh_TW", "錯誤：另一個命令同時修改了這個數據庫，本次什麼也沒有寫入：請再運行一次"),
        (
            "en",
            "error: another command changed this store at the same time; nothing was written: "
            "run it again",
        ),
    ],
)
def test_a_conflict_says_to_run_the_command_again(
    county_store: str, monkeypatch: pytest.MonkeyPatch, lang: str, said: str
) -> None:
    def clash(self: leftbehind.County, name: str, code: str) -> None:
        raise ConflictError("settings", "county")

    monkeypatch.setattr(leftbehind.County, "set_county", clash)
    done = run(
        "county", "--name", "肥乡区", "--code", "130428", "--store", county_store, "--lang", lang
    )
    assert done.exit_code == 1
    assert one_error_line(done) == said
    assert "unit of work" not in done.output


def test_a_conflict_s_own_message_speaks_of_writers_not_units_of_work() -> None:
    message = str(ConflictError("child", "110101201001011234"))
    assert "unit of work" not in message
    assert "another writer changed child '<redacted>' at the same time" in message
    assert "110101201001011234" not in message


def test_a_busy_store_says_to_run_again_when_the_other_is_done(
    county_store: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def busy(self: leftbehind.County, name: str, code: str) -> None:
        raise StoreBusyError(county_store, 5.0)

    monkeypatch.setattr(leftbehind.County, "set_county", busy)
    done = run("county", "--name", "肥乡区", "--code", "130428", "--store", county_store)
    assert done.exit_code == 1
    assert one_error_line(done) == (
        "错误：另一个命令占用这个数据库已 5 秒，本次什么也没有写入：请等它结束后再运行一次"
    )


@pytest.mark.parametrize("lang", ["zh_CN", "zh_TW", "en"])
def test_a_missing_psycopg_names_the_extra_to_install(
    monkeypatch: pytest.MonkeyPatch, lang: str
) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # as if not installed
    url = "postgresql://bureau@127.0.0.1:1/guangping"
    done = run("ledger", "county", "--store", url, "--lang", lang)
    assert done.exit_code == 1
    line = one_error_line(done)
    assert "psycopg" in line
    assert line.endswith("pip install 'leftbehind[postgresql]'")
    with pytest.raises(MissingDependencyError) as caught:
        leftbehind.open(url, actor=SYSTEM)
    assert isinstance(caught.value, ImportError)
    assert caught.value.extra == "postgresql"
    assert "bureau" not in str(caught.value)


def test_every_optional_dependency_is_an_extra_of_the_package() -> None:
    """What the errors tell people to install exists: the extra is declared."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    assert "psycopg" in " ".join(project["optional-dependencies"]["postgresql"])


def test_a_file_that_cannot_be_written_is_named_on_one_line(county_store: str) -> None:
    done = run(
        "ledger", "county", "--format", "csv", "--out", "/proc/x.csv", "--store", county_store
    )
    assert done.exit_code == 1
    line = one_error_line(done)
    assert "/proc/x.csv" in line


@pytest.mark.parametrize(
    ("value", "lang", "said"),
    [
        ("2026-02-30", "zh_CN", "2026年2月没有30日（该月只有28天）"),
        ("2026-02-30", "zh_TW", "2026年2月沒有30日（該月只有28天）"),
        ("2026-02-30", "en", "there is no day 30 in month 2 of 2026 (it has 28 days)"),
        ("2025-02-29", "zh_CN", "2025年2月没有29日（该月只有28天）"),
        ("2026-04-31", "en", "there is no day 31 in month 4 of 2026 (it has 30 days)"),
        ("2026-06-00", "zh_CN", "2026年6月没有0日（该月只有30天）"),
        ("2026-13-01", "zh_CN", "没有13月：一年只有1至12月"),
        ("2026-13-01", "zh_TW", "沒有13月：一年只有1至12月"),
        ("2026-13-01", "en", "there is no month 13: a year has months 1 to 12"),
        ("2026/05/10", "zh_CN", "YYYY-MM-DD"),
        ("10.5.2026", "en", "expected a date written YYYY-MM-DD, such as 2026-05-10"),
        ("tomorrow", "zh_TW", "YYYY-MM-DD"),
    ],
)
def test_a_date_error_says_what_is_wrong(value: str, lang: str, said: str) -> None:
    done = run("sample", "--as-of", value, "--lang", lang)
    assert done.exit_code == 2
    assert "Traceback" not in done.output
    errors = [line for line in done.stderr.splitlines() if "--as-of" in line]
    assert len(errors) == 1, done.stderr
    assert said in errors[0]
    assert "YYYY-MM-DD" not in errors[0] or said.count("YYYY-MM-DD")


@pytest.mark.parametrize("value", ["2024-02-29", "2026-5-1", "2026-05-10"])
def test_a_real_date_is_read(value: str) -> None:
    assert run("sample", "--as-of", value).exit_code == 0


# ---------------------------------------------------------------------------------------------
# Packaging: the version defined once, the licence shipped.


def test_the_version_is_defined_once_and_agrees_everywhere() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    assert "version" not in pyproject["project"]
    assert pyproject["project"]["dynamic"] == ["version"]
    source = ROOT / pyproject["tool"]["hatch"]["version"]["path"]
    assert source == ROOT / "src" / "leftbehind" / "__init__.py"
    written = re.search(r'^__version__ = "([^"]+)"$', source.read_text("utf-8"), re.M)
    assert written is not None
    assert written.group(1) == leftbehind.__version__  # installed or not, the one version
    done = run("--version")
    assert done.exit_code == 0
    assert done.output.strip().endswith(f"version {leftbehind.__version__}")
    assert importlib.metadata.version("leftbehind") == leftbehind.__version__


def test_the_licence_is_in_the_repository_and_declared_for_the_wheel_and_sdist() -> None:
    licence = (ROOT / "LICENSE").read_text("utf-8")
    assert licence.startswith("MIT License")
    assert "The leftbehind developers" in licence
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    assert project["license"] == "MIT"
    assert project["license-files"] == ["LICENSE"]


def test_the_built_wheel_carries_the_licence(tmp_path: Path) -> None:
    wheel = pytest.importorskip("hatchling.builders.wheel")
    builder = wheel.WheelBuilder(str(ROOT))
    built = Path(next(iter(builder.build(directory=str(tmp_path), versions=["standard"]))))
    with zipfile.ZipFile(built) as archive:
        names = archive.namelist()
        metadata = archive.read(next(n for n in names if n.endswith(".dist-info/METADATA")))
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert f"Version: {leftbehind.__version__}" in metadata.decode()


def test_a_refusal_and_a_missing_record_are_told_in_the_language_asked(tmp_path: Path) -> None:
    """One language on the line: the actor's kind, what it may not do and the key, never a
    stored value."""
    store = tmp_path / "county.db"
    assert run("init", "--name", "广平县", "--code", "130432", "--store", str(store)).exit_code == 0
    said = {
        lang: run(
            "--lang", lang, "find", "--name", "x", "--store", str(store), "--as", "volunteer:V1"
        )
        for lang in ("zh_CN", "zh_TW", "en")
    }
    assert [r.exit_code for r in said.values()] == [1, 1, 1]
    assert said["zh_CN"].stderr == "错误：志愿者无权查找儿童\n"
    assert said["zh_TW"].stderr == "錯誤：志願者無權查找兒童\n"
    assert said["en"].stderr == "error: a volunteer may not look children up\n"
    missing = {
        lang: run("--lang", lang, "child", "C9", "--store", str(store)) for lang in ("zh_CN", "en")
    }
    assert missing["zh_CN"].stderr == "错误：没有编号为 C9 的儿童\n"
    assert missing["en"].stderr == "error: no child with the key C9\n"
