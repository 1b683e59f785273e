"""A county has an identity (SPEC §9): its name and administrative code travel in every table
and in the summary it sends upward, and summaries add up into a province's table."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from tests.counties import load

import leftbehind
from leftbehind import Actor
from leftbehind.cli import main
from leftbehind.domain.errors import ValidationError
from leftbehind.domain.ledger import (
    CountyTable,
    LedgerInconsistencyError,
    LedgerMismatchError,
    merge,
)
from leftbehind.service import County
from leftbehind.testing.synthetic import SyntheticCounty, synthetic_county

SYSTEM = Actor.system("tests")
AS_OF = date(2026, 6, 30)


@pytest.fixture(scope="module")
def data() -> SyntheticCounty:
    return synthetic_county(seed=5, children=150, as_of=AS_OF)


@pytest.fixture
def county(store_url: str, data: SyntheticCounty) -> Iterator[County]:
    with leftbehind.open(store_url, actor=SYSTEM, today=lambda: AS_OF) as handle:
        load(handle, data)
        handle.set_county("广平县", "130432")
        yield handle


def test_every_table_carries_the_county(county: County) -> None:
    assert (county.settings()["name"], county.settings()["code"]) == ("广平县", "130432")
    table = county.county_table(AS_OF)
    assert table.codes == {"广平县": "130432"}
    assert ("广平县",) in table.rows
    school = next(iter(county.schools()))
    assert (county.school_table(school, AS_OF).county_code) == "130432"
    teacher = next(iter(county.teacher_tables(AS_OF).values()))
    assert (teacher.county, teacher.county_code) == ("广平县", "130432")
    assert "填报单位 广平县（130432）" in county.export_ledger("county", as_of=AS_OF)
    (entry,) = [e for e in county.audit() if e.op == "set_county"]
    assert entry.actor_id == SYSTEM.id


def test_a_name_and_code_are_checked_and_nothing_is_half_written(county: County) -> None:
    with pytest.raises(ValidationError) as caught:
        county.set_county("", "13043")
    assert caught.value.codes == {"county_name", "county_code"}
    with pytest.raises(ValidationError):
        county.set_county("广平\n县", "130432")
    assert county.settings()["code"] == "130432"


def test_the_summary_sent_upward_reads_back_equal_and_holds_no_child(
    county: County, data: SyntheticCounty
) -> None:
    summary = county.export_ledger("county", as_of=AS_OF, format="json")
    table = CountyTable.from_json(summary)
    assert table == county.county_table(AS_OF)
    assert table.to_json() == summary
    stamp = json.loads(summary)["stamp"]
    assert (stamp["as_of"], stamp["policy"]) == ("2026-06-30", "guangping-plan/2")
    for child in data.facts.children[:50]:
        for secret in (child.id, child.name, child.resident_id):
            assert not secret or secret not in summary


def test_two_counties_add_up_into_a_province_without_blending(
    tmp_path: Path, data: SyntheticCounty
) -> None:
    tables = []
    for name, code in (("广平县", "130432"), ("肥乡区", "130407")):
        with leftbehind.open(tmp_path / f"{code}.db", actor=SYSTEM, today=lambda: AS_OF) as c:
            load(c, data)
            c.set_county(name, code)
            tables.append(c.county_table(AS_OF))
    province = merge(*tables).check()
    assert province.codes == {"广平县": "130432", "肥乡区": "130407"}
    assert province.row(("广平县",)) == tables[0].row(("广平县",))
    assert province.total["served"] == 2 * tables[0].total["served"]
    renamed = CountyTable(tables[1].stamp, tables[1].rows, tables[1].names, {"肥乡区": "130432"})
    with pytest.raises(LedgerMismatchError, match="names two counties"):
        merge(tables[0], renamed)
    recoded = CountyTable(tables[0].stamp, {}, {}, {"广平县": "130433"})
    with pytest.raises(LedgerMismatchError, match="two administrative codes"):
        merge(tables[0], recoded)


def test_a_summary_that_is_not_one_is_refused_by_field_never_by_value() -> None:
    with pytest.raises(ValidationError) as caught:
        CountyTable.from_json('{"stamp": {"as_of": "2026-02-30"}, "rows": [1], "counties": []}')
    assert {(i.path, i.code) for i in caught.value.issues} >= {
        ("stamp.policy", "type"),
        ("stamp.period", "type"),
        ("counties", "county_code"),
        ("rows[0]", "type"),
    }
    with pytest.raises(ValidationError) as caught:
        CountyTable.from_json(b"{\x80}")
    assert caught.value.codes == {"encoding"}


def test_a_tampered_summary_breaks_its_own_rules(county: County) -> None:
    data = json.loads(county.export_ledger("county", as_of=AS_OF, format="json"))
    row = next(r for r in data["rows"] if len(r["key"]) == 3 and r["counts"].get("served"))
    row["counts"]["served"] += 1
    with pytest.raises(LedgerInconsistencyError):
        CountyTable.from_json(json.dumps(data))


def test_the_command_line_names_the_county_writes_summaries_and_merges_them(
    tmp_path: Path, data: SyntheticCounty, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    files = []
    for name, code in (("广平县", "130432"), ("肥乡区", "130407")):
        store = str(tmp_path / f"{code}.db")
        with leftbehind.open(store, actor=SYSTEM, today=lambda: AS_OF) as c:
            load(c, data)
        done = runner.invoke(main, ["county", "--store", store, "--name", name, "--code", code])
        assert done.exit_code == 0, done.output
        assert done.output.strip() == f"{name} {code}"
        out = f"{code}.json"
        args = ["ledger", "county", "--store", store, "--as-of", "2026-06-30", "--format", "json"]
        done = runner.invoke(main, [*args, "--out", out])
        assert done.exit_code == 0, done.output
        files.append(out)
    done = runner.invoke(main, ["merge", *files, "--format", "json"])
    assert done.exit_code == 0, done.output
    province = CountyTable.from_json(done.output)
    assert set(province.codes) == {"广平县", "肥乡区"}
    done = runner.invoke(main, ["merge", *files, "--format", "xlsx", "--out", "邯郸.xlsx"])
    assert done.exit_code == 0, done.output
    assert (tmp_path / "邯郸.xlsx").stat().st_size > 0
    text = runner.invoke(main, ["merge", *files])
    assert "肥乡区（130407）" in text.output
    twice = runner.invoke(main, ["merge", files[0], files[0]])
    assert twice.exit_code == 1
    assert "add each once" in twice.output
    half = runner.invoke(main, ["county", "--store", str(tmp_path / "130432.db"), "--name", "x"])
    assert half.exit_code == 2


def test_a_county_is_added_once_whether_its_summary_names_its_code_or_not(
    tmp_path: Path, county: County
) -> None:
    summary = json.loads(county.export_ledger("county", as_of=AS_OF, format="json"))
    (tmp_path / "a.json").write_text(json.dumps(summary), encoding="utf-8")
    summary["counties"] = {}
    (tmp_path / "b.json").write_text(json.dumps(summary), encoding="utf-8")
    done = CliRunner().invoke(main, ["merge", str(tmp_path / "a.json"), str(tmp_path / "b.json")])
    assert done.exit_code == 1
    assert "add each once" in done.output
    summary["stamp"]["period"] = ["2026-07-01", "2025-09-01"]
    with pytest.raises(ValidationError) as caught:
        CountyTable.from_json(json.dumps(summary))
    assert caught.value.codes == {"period_order"}


def test_a_township_officers_summary_carries_the_county_code(county: County) -> None:
    township = next(iter(county.schools().values())).township
    store = county.url
    with leftbehind.open(
        store, actor=Actor.township_officer("E1", township), today=lambda: AS_OF
    ) as officer:
        table = CountyTable.from_json(officer.export_ledger("county", as_of=AS_OF, format="json"))
    assert table.codes == {"广平县": "130432"}


def test_merge_never_writes_over_a_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    store = tmp_path / "county.json"
    with leftbehind.open(store, actor=SYSTEM, today=lambda: AS_OF) as c:
        c.set_county("广平县", "130432")
        (tmp_path / "s.json").write_text(c.export_ledger("county", format="json"), "utf-8")
    was = store.read_bytes()
    monkeypatch.setenv("LEFTBEHIND_STORE", "elsewhere.db")  # not the store: caught by its shape
    done = CliRunner().invoke(main, ["merge", "s.json", "--format", "json", "--out", str(store)])
    assert done.exit_code == 1, done.output
    assert "export_over_store" in done.output
    assert store.read_bytes() == was
