"""Files the library writes, aimed where they must not go or failing halfway (R9, R14), and
text that no file may hold (R7)."""

from __future__ import annotations

import hashlib
import os
import stat
import subprocess
import sys
import textwrap
from datetime import date
from pathlib import Path

import attrs
import openpyxl
import pytest
from click.testing import CliRunner

import leftbehind
from leftbehind import Actor
from leftbehind.cli import main
from leftbehind.domain.errors import ValidationError
from leftbehind.io.paths import ExportPathError
from leftbehind.sample import sample_county
from leftbehind.service import County

SYSTEM = Actor.system("tests")


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def filled(path: str | Path) -> County:
    sample = sample_county()
    county = leftbehind.open(path, actor=SYSTEM, today=lambda: sample.as_of)
    county.put_schools(sample.schools)
    county.put_children(sample.children)
    return county


def attempt(county: County, export: str, path: Path) -> None:
    if export == "roster":
        county.export_roster(path)
    else:
        county.export_ledger("county", format="csv", path=path)


@pytest.mark.parametrize("suffix", [".db", ".json"])
def test_an_export_onto_a_hard_link_of_the_store_is_refused(tmp_path: Path, suffix: str) -> None:
    """A hard link of the store, or of any file the store keeps beside it, is the store under
    another name: refused, wherever it lies. (Each attempt is audited, and a TinyDB commit
    replaces its file, so the link is made again before each.)"""
    store = tmp_path / f"county{suffix}"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    with filled(store) as county:
        names = sorted(p.name for p in tmp_path.iterdir() if p.is_file())
        assert store.name in names
        for name in names:
            for export in ("roster", "ledger"):
                link = elsewhere / f"{name}.{export}.csv"
                os.link(tmp_path / name, link)
                with pytest.raises(ExportPathError) as caught:
                    attempt(county, export, link)
                assert caught.value.code == "export_over_store"
        assert len(list(county.children())) == len(sample_county().children)


def test_no_export_or_template_overwrites_a_database(tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    with filled(other):
        pass
    was = digest(other)
    with filled(tmp_path / "county.db") as county, pytest.raises(ExportPathError, match="database"):
        county.export_roster(other)
    runner = CliRunner()
    for target in ("other.db", "leftbehind.json"):
        done = runner.invoke(main, ["template", str(tmp_path / target)])
        assert done.exit_code == 1
        assert done.output.count("\n") == 1, done.output
    assert digest(other) == was


def test_the_template_never_overwrites_the_default_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LEFTBEHIND_STORE", "county.json")
    with filled(tmp_path / "county.json"):
        pass
    was = digest(tmp_path / "county.json")
    done = CliRunner().invoke(main, ["template", "county.json"])
    assert done.exit_code == 1
    assert digest(tmp_path / "county.json") == was
    done = CliRunner().invoke(main, ["template", "花名册.xlsx"])
    assert done.exit_code == 0, done.output
    written = tmp_path / "花名册.xlsx"
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
    assert openpyxl.load_workbook(written).sheetnames


def test_the_ledgers_folder_is_checked_before_it_is_made(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    inside = tmp_path / "work"
    inside.mkdir()
    (inside / "link").symlink_to(outside, target_is_directory=True)
    store = inside / "county.db"
    with filled(store):
        pass
    args = ["export", "ledgers", str(inside / "link" / "台账"), "--store", str(store)]
    done = CliRunner().invoke(main, args)
    assert done.exit_code == 1
    assert "export_link_escape" in done.output
    assert list(outside.iterdir()) == []


_FULL = """
import resource, signal, sys
from datetime import date
import leftbehind
from leftbehind.sample import sample_county
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails, as on a full disk
sample = sample_county()
actor = leftbehind.Actor.system("t")
county = leftbehind.open("memory://", actor=actor, today=lambda: sample.as_of)
county.put_schools(sample.schools)
county.put_children(sample.children)
resource.setrlimit(resource.RLIMIT_FSIZE, (512, 512))
try:
    county.export_ledger("county", format=sys.argv[2], path=sys.argv[1])
except leftbehind.LeftbehindError as exc:
    print(type(exc).__name__, getattr(exc, "code", ""), exc)
"""


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_a_disk_that_fills_up_leaves_no_file_and_one_typed_error(tmp_path: Path, fmt: str) -> None:
    """A write past the file-size limit fails as on a full disk (EFBIG, in a subprocess): the
    export is a typed ExportIOError, the target does not exist, no temporary file is left."""
    target = tmp_path / f"county.{fmt}"
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_FULL), str(target), fmt],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.split()[:2] == ["ExportIOError", "export_write"], done.stderr[-2000:]
    assert list(tmp_path.iterdir()) == []


def test_exported_ledgers_are_readable_by_their_owner_only(tmp_path: Path) -> None:
    with filled(tmp_path / "county.db") as county:
        written = Path(county.export_ledger("county", format="xlsx", path=tmp_path / "county.xlsx"))
    assert stat.S_IMODE(written.stat().st_mode) == 0o600


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("王\uffff明", "text_noncharacter"),
        ("王\ufdd0明", "text_noncharacter"),
        ("王\U0001fffe明", "text_noncharacter"),
        ("\u200b\u200b", "text_invisible"),
        ("\ufeff \u200d", "text_invisible"),
    ],
)
def test_names_no_workbook_could_hold_or_that_show_nothing_are_refused(
    tmp_path: Path, name: str, code: str
) -> None:
    sample = sample_county()
    with filled(tmp_path / "county.db") as county:
        child = attrs.evolve(sample.children[0], name=name)
        with pytest.raises(ValidationError) as caught:
            county.put_children([child])
        assert caught.value.codes == {code}
        assert name not in str(caught.value)


def test_a_stored_name_no_xml_can_hold_still_gives_a_workbook(tmp_path: Path) -> None:
    """A name written past validation (an older store, a plugin) cannot break the form."""
    sample = sample_county()
    with filled(tmp_path / "county.db") as county:
        county.put_staff([leftbehind.Staff("T1", "王老师", "S01", "教师")])
        county.put_assignments(
            [
                leftbehind.Assignment(
                    "A1",
                    "T1",
                    sample.children[0].id,
                    leftbehind.Role.CLASS_TEACHER,
                    date(2025, 9, 1),
                )
            ]
        )
        with county.store.unit_of_work() as uow:
            doc = uow.get("staff", "T1")
            assert doc is not None
            uow.put("staff", "T1", {**doc, "name": "王\uffff\x01老师"})
            uow.commit()
        path = county.export_ledger(
            "teacher", key="T1", format="xlsx", path=tmp_path / "t.xlsx", as_of=sample.as_of
        )
    book = openpyxl.load_workbook(path)  # well-formed: it loads
    assert book.sheetnames[0].startswith("王\ufffd\ufffd老师")


def test_a_handle_opened_with_exports_in_keeps_every_export_there(tmp_path: Path) -> None:
    """An app taking export paths from its users opens the handle with ``exports_in``: a path
    with ``..`` or through a link that leads out of that folder is refused."""
    sample = sample_county()
    exports = tmp_path / "exports"
    exports.mkdir()
    (exports / "out").symlink_to(tmp_path, target_is_directory=True)
    with leftbehind.open(
        tmp_path / "county.db", actor=SYSTEM, today=lambda: sample.as_of, exports_in=exports
    ) as county:
        county.put_schools(sample.schools)
        for bad in (exports / ".." / "r.xlsx", exports / "out" / "r.xlsx"):
            with pytest.raises(ExportPathError) as caught:
                county.export_roster(bad)
            assert caught.value.code in ("export_outside", "export_link_escape")
        assert county.export_roster(exports / "r.xlsx") == 0
        county.export_ledger("county", format="csv", path=exports / "c.csv")
    assert sorted(p.name for p in exports.iterdir()) == ["c.csv", "out", "r.xlsx"]
    assert not (tmp_path / "r.xlsx").exists()
