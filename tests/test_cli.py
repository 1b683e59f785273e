"""The ``leftbehind`` command as a script or a person would use it."""

from __future__ import annotations

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
