"""The ``leftbehind`` command as a script or a person would use it."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from leftbehind.cli import main


def test_demo_prints_categories_reasons_and_coming_changes() -> None:
    result = CliRunner().invoke(main, ["demo"])
    assert result.exit_code == 0, result.output
    assert "as of 2026-04-15" in result.output
    assert "eligible from 2026-05-10" in result.output
    assert "孤兒" in result.output
    assert "棄兒" in result.output
    assert "missing facts: father, mother" in result.output


def test_demo_as_of_a_later_day_shows_the_change_has_happened() -> None:
    before = CliRunner().invoke(main, ["demo", "--as-of", "2026-05-09"])
    after = CliRunner().invoke(main, ["demo", "--as-of", "2026-05-10"])
    assert before.exit_code == after.exit_code == 0
    assert "eligible from 2026-05-10" in before.output
    assert "eligible from 2026-05-10" not in after.output


def test_a_bad_date_is_a_usage_error_that_teaches() -> None:
    result = CliRunner().invoke(main, ["demo", "--as-of", "2026-02-30"])
    assert result.exit_code == 2
    assert "YYYY-MM-DD" in result.output


def test_child_shows_the_masked_file_the_decision_and_the_timeline(tmp_path: Path) -> None:
    import leftbehind
    from leftbehind.sample import sample_county

    sample = sample_county()
    store = str(tmp_path / "county.json")
    with leftbehind.open(store, today=lambda: sample.as_of) as county:
        county.put_schools(sample.schools)
        county.put_children(sample.children)
    result = CliRunner().invoke(main, ["child", "C002", "--as-of", "2026-06-01", "--store", store])
    assert result.exit_code == 0, result.output
    assert "單親外出留守" in result.output
    assert "2026-05-10 – …" in result.output
    assert sample.children[1].resident_id not in result.output
    assert "***********" in result.output


def test_a_missing_child_exits_1_with_a_message(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["child", "C404", "--store", str(tmp_path / "x.json")])
    assert result.exit_code == 1
    assert "C404" in result.output
