"""The command line for scripts and for people: ``--json`` on every query (stable keys, JSON
alone on standard output), ``diff``, ``find`` (scoped by the gate and audited on every
backend), ``notices``, what ``deliver`` says, and the exit codes."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from tests.counties import load

import leftbehind
from leftbehind.access import Actor
from leftbehind.cli import main
from leftbehind.domain.people import Role
from leftbehind.testing.synthetic import synthetic_county

SYSTEM = Actor.system("tests")
AS_OF = date(2026, 6, 30)
DAY = AS_OF.isoformat()


@pytest.fixture(autouse=True)
def _no_language_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LEFTBEHIND_LANG", raising=False)
    monkeypatch.delenv("LEFTBEHIND_ACTOR", raising=False)
    monkeypatch.delenv("LEFTBEHIND_STORE", raising=False)


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def out_json(result: Result) -> Any:
    """The JSON a command wrote: standard output holds it and nothing else."""
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("demo")
    store = folder / "county.json"
    args = ["demo", "--children", "300", "--store", str(store), "--out", str(folder / "l")]
    done = CliRunner().invoke(main, args)
    assert done.exit_code == 0, done.output
    return store


def _class_teacher(store: Path | str) -> tuple[str, str]:
    """A served child with a class teacher today, and the teacher."""
    with leftbehind.open(store, actor=SYSTEM) as county:
        assignments = county.assignments()
        for child_id in sorted(county.timelines()):
            for a in assignments.of_child(child_id):
                if a.role is Role.CLASS_TEACHER and a.end is None:
                    return child_id, a.staff_id
    raise AssertionError("no class teacher")


# ---------------------------------------------------------------------------------------------
# --json on the queries


def test_child_as_json_is_the_masked_file_the_decision_and_the_timeline(demo_store: Path) -> None:
    with leftbehind.open(demo_store, actor=SYSTEM) as county:
        child_id = sorted(county.timelines())[0]
        file = county.child(child_id)
        decision = county.decision(child_id, AS_OF)
    data = out_json(run("child", child_id, "--as-of", DAY, "--json", "--store", str(demo_store)))
    assert set(data) == {"as_of", "child", "decision", "timeline"}
    assert data["as_of"] == DAY
    assert data["child"]["id"] == child_id
    assert data["child"]["name"] == file.name
    assert file.resident_id not in json.dumps(data)
    assert data["child"]["resident_id"].count("*") == 11
    assert sorted(data["decision"]["categories"]) == sorted(c.value for c in decision.categories)
    assert data["timeline"]["child_id"] == child_id
    assert {"policy", "version", "spans"} <= set(data["timeline"])


def test_due_as_json_lists_the_digest_by_record_key(demo_store: Path) -> None:
    _, teacher = _class_teacher(demo_store)
    with leftbehind.open(demo_store, actor=SYSTEM) as county:
        digest = county.digest(teacher, AS_OF, AS_OF)
    data = out_json(run("due", teacher, "--as-of", DAY, "--json", "--store", str(demo_store)))
    assert data["staff_id"] == teacher
    assert data["as_of"] == DAY
    assert data["week"] == {
        "start": digest.week.start.isoformat(),
        "end": digest.week.end.isoformat() if digest.week.end else None,
    }
    assert len(data["due"]) == len(digest.due)
    assert len(data["overdue"]) == len(digest.overdue)
    first = (data["overdue"] or data["due"])[0]
    assert set(first) == {"child_id", "kind", "owner_id", "owners", "record_id", "status", "window"}


def test_ledger_json_at_every_level(demo_store: Path) -> None:
    store = str(demo_store)
    county_json = out_json(run("ledger", "county", "--as-of", DAY, "--json", "--store", store))
    by_format = out_json(
        run("ledger", "county", "--as-of", DAY, "--format", "json", "--store", store)
    )
    assert county_json == by_format
    assert {"stamp", "counties", "rows"} <= set(county_json)
    _, teacher = _class_teacher(demo_store)
    with leftbehind.open(demo_store, actor=SYSTEM) as county:
        tables = {k: county.school_table(k, AS_OF) for k in sorted(county.schools())}
        school = next(k for k, t in tables.items() if t.counts.get("served"))
        served = tables[school].counts["served"]
    one = out_json(run("ledger", "school", school, "--as-of", DAY, "--json", "--store", store))
    assert (one["ledger"], one["key"], one["as_of"]) == ("school", school, DAY)
    assert all(set(t) == {"key", "title", "caption", "rows"} for t in one["tables"])
    grades = next(t for t in one["tables"] if t["key"] == "grades")
    total = next(r for r in grades["rows"] if r.get("total"))
    assert total["served"] == served
    mine = out_json(run("ledger", "teacher", teacher, "--as-of", DAY, "--json", "--store", store))
    rows = mine["tables"][0]["rows"]
    assert rows
    assert {"child_id", "name", "resident_id", "guardian_phone"} <= set(rows[0])
    assert all(r["resident_id"].count("*") == 11 for r in rows if r["resident_id"])
    assert all("****" in r["guardian_phone"] for r in rows if r["guardian_phone"])
    commend = out_json(run("ledger", "commend", "--as-of", DAY, "--json", "--store", store))
    assert commend["tables"][0]["rows"][0]["rank"] == 1
    both = run("ledger", "county", "--json", "--format", "csv", "--store", store)
    assert both.exit_code == 2


def test_audit_as_json_names_fields_never_values(demo_store: Path, tmp_path: Path) -> None:
    store = str(tmp_path / "county.db")
    with leftbehind.open(store, actor=SYSTEM) as county:
        county.set_county("广平县", "130432")
    data = out_json(run("audit", "--json", "--store", store))
    assert len(data["entries"]) == 1
    entry = data["entries"][0]
    assert set(entry) == {
        "key",
        "at",
        "actor",
        "actor_id",
        "op",
        "kind",
        "record",
        "fields",
        "reason",
    }
    assert entry["actor"] == "system"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z", entry["at"])


# ---------------------------------------------------------------------------------------------
# diff


def test_diff_says_who_entered_and_left_and_why(demo_store: Path) -> None:
    before, after = date(2026, 3, 1), AS_OF
    with leftbehind.open(demo_store, actor=SYSTEM) as county:
        expected = county.diff(before, after)
    assert expected.entered
    args = ["diff", before.isoformat(), DAY, "--store", str(demo_store)]
    data = out_json(run(*args, "--json"))
    assert (data["before"], data["after"]) == (before.isoformat(), DAY)
    assert len(data["movements"]) == len(expected.movements)
    first, move = data["movements"][0], expected.movements[0]
    assert set(first) == {"school_id", "entered", "reason", "child_id", "name", "on", "cause"}
    assert (first["child_id"], first["entered"], first["reason"]) == (
        move.child_id,
        move.entered,
        move.reason.value,
    )
    text = run(*args, "--lang", "en")
    assert text.exit_code == 0, text.output
    head = (
        f"from {before.isoformat()} to {DAY}: "
        f"{len(expected.entered)} entered, {len(expected.left)} left"
    )
    assert text.stdout.splitlines()[0] == head
    assert f"+ {move.on.isoformat() if move.on else '—'}  {move.child_id}" in text.stdout
    backwards = run("diff", DAY, before.isoformat(), "--store", str(demo_store))
    assert backwards.exit_code == 2


# ---------------------------------------------------------------------------------------------
# find, on every backend


@pytest.fixture(scope="module")
def county_url(module_store_url: str) -> str:
    data = synthetic_county(seed=5, children=40, as_of=AS_OF)
    with leftbehind.open(module_store_url, actor=SYSTEM, today=lambda: AS_OF) as county:
        load(county, data)
    return module_store_url


def _served_child(url: str) -> tuple[str, str, str, str, str]:
    """A child with an ID number, their name, their school, their class teacher and a teacher
    of another school."""
    with leftbehind.open(url, actor=SYSTEM) as county:
        assignments = county.assignments()
        staff = county.staff()
        for child in sorted(county.children(), key=lambda c: c.id):
            held = [a for a in assignments.of_child(child.id) if a.role is Role.CLASS_TEACHER]
            if child.resident_id and held and held[-1].end is None:
                school = child.enrolments[-1].school_id
                other = next(s for s in sorted(staff) if staff[s].school_id != school)
                return child.id, child.name, child.resident_id, held[-1].staff_id, other
    raise AssertionError("no child with a class teacher")


def _audit(url: str) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = out_json(run("audit", "--json", "--store", url))["entries"]
    return [e for e in entries if e["op"].startswith("find")]


def test_find_looks_a_child_up_by_name_or_id_masked_and_audited(county_url: str) -> None:
    child_id, name, number, teacher, _ = _served_child(county_url)
    before = len(_audit(county_url))
    by_name = out_json(run("find", "--name", name, "--json", "--store", county_url))
    assert child_id in [c["child_id"] for c in by_name["children"]]
    found = next(c for c in by_name["children"] if c["child_id"] == child_id)
    assert set(found) == {
        "child_id",
        "name",
        "sex",
        "resident_id",
        "school_id",
        "grade",
        "class_name",
    }
    assert found["resident_id"] == number[:6] + "*" * 11 + number[-1]
    by_id = out_json(run("find", "--id", number.lower(), "--json", "--store", county_url))
    assert [c["child_id"] for c in by_id["children"]] == [child_id]
    both = run(
        "find", "--name", name, "--id", number, "--store", county_url, "--as", f"staff:{teacher}"
    )
    assert both.exit_code == 0, both.output
    assert both.stdout.startswith(f"{child_id}  {name}")
    assert number not in both.output
    audited = _audit(county_url)[before:]
    assert [(e["op"], e["fields"]["by"], e["fields"]["found"]) for e in audited] == [
        ("find", ["name"], len(by_name["children"])),
        ("find", ["resident_id"], 1),
        ("find", ["name", "resident_id"], 1),
    ]
    assert audited[-1]["actor_id"] == teacher
    logged = json.dumps(audited, ensure_ascii=False)
    assert name not in logged
    assert number not in logged
    assert number.lower() not in logged


def test_find_shows_nothing_to_a_role_that_may_not_see(county_url: str) -> None:
    child_id, name, number, _, other = _served_child(county_url)
    before = len(_audit(county_url))
    elsewhere = run(
        "find", "--id", number, "--json", "--store", county_url, "--as", f"staff:{other}"
    )
    assert elsewhere.exit_code == 1
    assert json.loads(elsewhere.stdout) == {"children": []}
    volunteer = run("find", "--name", name, "--store", county_url, "--as", f"volunteer:{other}")
    assert volunteer.exit_code == 1
    assert volunteer.stdout == ""
    assert volunteer.stderr == "错误：志愿者无权查找儿童\n"
    for result in (elsewhere, volunteer):
        assert name not in result.output
        assert number not in result.output
        assert child_id not in result.output
    audited = _audit(county_url)[before:]
    assert [e["op"] for e in audited] == ["find", "find_denied"]
    assert audited[0]["fields"] == {"by": ["resident_id"], "found": 0}
    assert name not in json.dumps(audited, ensure_ascii=False)


def test_find_refuses_bad_terms_naming_the_field_never_the_value(county_url: str) -> None:
    bad = "13043220150709006X"  # a check digit that fails
    before = len(_audit(county_url))
    refused = run("find", "--id", bad, "--store", county_url)
    assert refused.exit_code == 1
    assert "resident_id" in refused.stderr
    assert "id_check_digit" in refused.stderr
    assert bad not in refused.output
    audited = _audit(county_url)[before:]
    assert [(e["op"], e["fields"]) for e in audited] == [("find_denied", {"by": ["resident_id"]})]
    assert bad not in json.dumps(audited)
    assert run("find", "--store", county_url).exit_code == 2


def test_the_library_finds_only_in_the_actors_reach(county_url: str) -> None:
    child_id, name, number, teacher, other = _served_child(county_url)
    with leftbehind.open(county_url, actor=Actor.staff(teacher)) as county:
        assert [c.id for c in county.find(resident_id=number)] == [child_id]
    with leftbehind.open(county_url, actor=Actor.staff(other)) as county:
        assert county.find(name=name, resident_id=number) == []
    with (
        leftbehind.open(county_url, actor=Actor.volunteer(other)) as county,
        pytest.raises(PermissionError),
    ):
        county.find(name=name)
    with (
        leftbehind.open(county_url, actor=SYSTEM) as county,
        pytest.raises(leftbehind.ValidationError) as caught,
    ):
        county.find()
    assert caught.value.issues[0].code == "find_nothing"


# ---------------------------------------------------------------------------------------------
# notices and deliver


def test_deliver_says_where_the_notices_went_and_the_log_shows_them(
    demo_store: Path, tmp_path: Path
) -> None:
    store = str(tmp_path / "copy.json")
    assert run("copy", str(demo_store), store).exit_code == 0
    queued = out_json(run("notices", "--json", "--store", store))
    assert queued == {"notices": []}
    sent = run("deliver", "--queue-week", "--as-of", DAY, "--store", store, "--lang", "en")
    assert sent.exit_code == 0, sent.output
    lines = sent.stdout.splitlines()
    count = int(re.fullmatch(r"notices queued: (\d+)", lines[0]).group(1))  # type: ignore[union-attr]
    assert count > 0
    channel = re.fullmatch(
        r"channel default \(the log, on standard error\): sent (\d+) \((.+)\)", lines[1]
    )
    assert channel is not None
    assert int(channel.group(1)) == count
    assert "duty_digest × " in channel.group(2)
    assert lines[-1] == f"sent {count}, retrying 0, parked 0, unrouted 0, lapsed 0"
    logged = [line for line in sent.stderr.splitlines() if "delivered to the log" in line]
    assert len(logged) == count
    data = out_json(run("notices", "--json", "--store", store))
    notices = data["notices"]
    assert len(notices) == count
    assert set(notices[0]) == {
        "key",
        "kind",
        "recipient",
        "subject",
        "children",
        "channel",
        "state",
        "attempts",
        "created",
        "due",
        "sent_at",
        "last_error",
    }
    assert {n["state"] for n in notices} == {"sent"}
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", n["sent_at"]) for n in notices)
    assert "body" not in notices[0]
    pending = out_json(run("notices", "--state", "pending", "--json", "--store", store))
    assert pending == {"notices": []}
    listed = run("notices", "--store", store, "--lang", "en")
    assert listed.stdout.splitlines()[-1] == f"pending 0, sent {count}, failed 0"
    teacher = notices[0]["recipient"]
    refused = run("notices", "--store", store, "--as", f"staff:{teacher}")
    assert refused.exit_code == 1


# ---------------------------------------------------------------------------------------------
# exit codes


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["ledger", "county", "--as-of", DAY], 0),
        (["child", "C999999"], 1),  # a missing record
        (["audit", "--as", "staff:S001-T01"], 1),  # refused
        (["ledger", "teacher", "NOPE"], 1),
        (["ledger", "county", "--bogus"], 2),  # an unknown option
        (["ledger", "county", "--as-of", "2026-02-30"], 2),  # a bad date
        (["ledger", "county", "--as", "king"], 2),  # a bad actor
        (["ledger", "school"], 2),  # a missing argument
        (["diff", "2026-06-30"], 2),
        (["nosuchcommand"], 2),
    ],
)
def test_exit_codes_are_0_ok_1_refused_2_usage(
    demo_store: Path, args: list[str], code: int
) -> None:
    result = run(*args, "--store", str(demo_store))
    assert result.exit_code == code, result.output
    if code:
        assert result.stdout == ""
        assert "Traceback" not in result.output


def test_a_missing_store_exits_1(tmp_path: Path) -> None:
    result = run("find", "--name", "王芳", "--store", str(tmp_path / "nowhere.db"))
    assert result.exit_code == 1
    assert "王芳" not in result.output
