"""The county handle end to end on every backend: open, write facts, query decisions, reopen,
change policy."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import leftbehind
from leftbehind.access import Actor
from leftbehind.domain.eligibility import NationalPolicy, PlanPolicy
from leftbehind.domain.errors import ValidationError
from leftbehind.domain.model import Sex, known_on
from leftbehind.errors import FactWarning, StoreURLError
from leftbehind.sample import sample_county
from leftbehind.service import NotFoundError
from leftbehind.testing.synthetic import synthetic_facts

SYSTEM = Actor.system("tests")

TODAY = date(2026, 4, 15)


def test_decisions_survive_a_reopen_and_equal_the_domain(store_url: str) -> None:
    facts = synthetic_facts(seed=7, children=150, as_of=date(2026, 9, 1))
    with leftbehind.open(store_url, today=lambda: facts.as_of, actor=SYSTEM) as county:
        county.put_schools(facts.schools)
        county.put_children(facts.children)
    schools = {s.id: s for s in facts.schools}
    policy = PlanPolicy()
    with leftbehind.open(store_url, actor=SYSTEM) as county:
        for child in facts.children:
            expected = policy.timeline(child, schools)
            assert county.timeline(child.id) == expected
            assert county.decision(child.id, facts.as_of) == expected.decision(facts.as_of)
            assert county.child(child.id) == child


def test_the_default_store_is_a_file_in_the_working_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LEFTBEHIND_STORE", raising=False)
    sample = sample_county()
    with leftbehind.open(today=lambda: TODAY, actor=SYSTEM) as county:
        county.put_schools(sample.schools)
    assert (tmp_path / "leftbehind.db").exists()  # the embedded default is SQLite
    with leftbehind.open(tmp_path / "leftbehind.db", actor=SYSTEM) as county:
        assert "ledger-pushdown" in county.capabilities
        assert set(county.schools()) == {"S01", "S02", "S03"}
    monkeypatch.setenv("LEFTBEHIND_STORE", str(tmp_path / "other.json"))
    with leftbehind.open(actor=SYSTEM) as county:
        assert "ledger-pushdown" not in county.capabilities  # a .json path is TinyDB
        county.put_schools(sample.schools)
    assert json.loads((tmp_path / "other.json").read_text("utf-8"))


@pytest.mark.parametrize("path", ["county", "county.xlsx", "county.DB.bak"])
def test_a_plain_path_names_its_store_by_its_ending(tmp_path: Path, path: str) -> None:
    with pytest.raises(StoreURLError, match=r"\.db, \.json"):
        leftbehind.open(tmp_path / path, actor=SYSTEM)
    assert list(tmp_path.iterdir()) == []


def test_a_policy_change_recomputes_every_timeline(store_url: str) -> None:
    sample = sample_county()
    with leftbehind.open(store_url, today=lambda: TODAY, actor=SYSTEM) as county:
        county.put_schools(sample.schools)
        county.put_children(sample.children)
        assert {t.policy for t in county.timelines().values()} == {"guangping-plan"}
        assert county.set_policy("national-2016") == len(sample.children)
        timelines = county.timelines()
        assert {t.policy for t in timelines.values()} == {"national-2016"}
        schools = {s.id: s for s in sample.schools}
        for child in sample.children:
            assert timelines[child.id] == NationalPolicy().timeline(child, schools)
        # The national rule serves the town-school child; the plan's rule does not.
        assert county.decision("C012", TODAY).served
        county.set_policy("guangping-plan")
        assert not county.decision("C012", TODAY).served


def test_bad_input_names_every_problem_and_writes_nothing(store_url: str) -> None:
    sample = sample_county()
    with leftbehind.open(store_url, today=lambda: TODAY, actor=SYSTEM) as county:
        county.put_schools(sample.schools)
        good = leftbehind.convert.unstructure(sample.children[0])
        bad_phone = {**good, "id": "C900", "guardian": {**good["guardian"], "phone": "12345"}}
        future = {**good, "id": "C901", "birth_date": "2030-01-01"}
        with pytest.raises(ValidationError) as caught:
            county.put_children([good, bad_phone, future])
        paths = caught.value.paths
        assert "children[1].guardian.phone" in paths
        assert any(p.startswith("children[2].birth_date") for p in paths)
        assert "12345" not in str(caught.value)
        assert list(county.children()) == []
        assert county.timelines() == {}


def test_unknown_school_and_duplicate_ids_are_reported(store_url: str) -> None:
    sample = sample_county()
    with leftbehind.open(store_url, today=lambda: TODAY, actor=SYSTEM) as county:
        county.put_schools(sample.schools[:1])
        with pytest.raises(ValidationError) as caught:
            county.put_children([sample.children[0], sample.children[0], sample.children[3]])
        codes = caught.value.codes
        assert "duplicate_id" in codes
        with pytest.raises(ValidationError) as caught:
            county.put_children([sample.children[3]])
        assert caught.value.codes == {"unknown_school"}


def test_a_missing_child_is_a_not_found_error_that_is_also_a_key_error(store_url: str) -> None:
    with leftbehind.open(store_url, actor=SYSTEM) as county:
        with pytest.raises(NotFoundError) as caught:
            county.child("C404")
        assert isinstance(caught.value, KeyError)
        assert "C404" in str(caught.value)


@given(st.integers(min_value=0, max_value=10_000), st.dates(date(2025, 1, 1), date(2027, 12, 31)))
def test_stored_decisions_equal_the_domain_for_any_day(seed: int, day: date) -> None:
    """The decision as of a day is the domain's from the facts as they stood then (SPEC §9)."""
    facts = synthetic_facts(seed=seed, children=20, as_of=date(2026, 9, 1))
    schools = {s.id: s for s in facts.schools}
    with leftbehind.open("memory://", today=lambda: facts.as_of, actor=SYSTEM) as county:
        county.put_schools(facts.schools)
        county.put_children(facts.children)
        for child in facts.children:
            then = PlanPolicy().timeline(known_on(child, day), schools)
            assert county.decision(child.id, day) == then.decision(day)


def test_a_resident_id_belongs_to_one_child_only(store_url: str) -> None:
    sample = sample_county()
    with leftbehind.open(store_url, today=lambda: TODAY, actor=SYSTEM) as county:
        county.put_schools(sample.schools)
        county.put_children(sample.children[:3])
        first = sample.children[0]
        twin = attrs.evolve(
            sample.children[3],
            resident_id=first.resident_id,
            birth_date=first.birth_date,
            sex=first.sex,
        )
        with pytest.raises(ValidationError) as caught:
            county.put_children([twin])
        assert caught.value.codes == {"duplicate_resident_id"}
        assert first.resident_id not in str(caught.value)
        other = sample.children[5]
        pair = [
            attrs.evolve(
                sample.children[4],
                resident_id=other.resident_id,
                birth_date=other.birth_date,
                sex=other.sex,
            ),
            other,
        ]
        with pytest.raises(ValidationError) as caught:
            county.put_children(pair)
        assert "children[1].resident_id" in caught.value.paths
        county.put_children([first])  # the same child again is an update, not a duplicate
        assert {c.id for c in county.children()} == {c.id for c in sample.children[:3]}


def test_a_sex_digit_that_disagrees_is_stored_and_told_on_every_write_path(
    store_url: str,
) -> None:
    """The same check as a roster import's: the resident ID's sex digit disagrees with the
    recorded sex (a warning, not an error: both may be right), so put_children stores the
    child and says so, naming the field and code, never the value."""
    sample = sample_county()
    boy = next(c for c in sample.children if c.resident_id and c.sex is Sex.MALE)
    with leftbehind.open(store_url, today=lambda: sample.as_of, actor=SYSTEM) as county:
        county.put_schools(sample.schools)
        with pytest.warns(FactWarning) as caught:
            county.put_children([attrs.evolve(boy, sex=Sex.FEMALE)])
        (warning,) = caught
        assert isinstance(warning.message, FactWarning)
        assert [(i.path, i.code) for i in warning.message.issues] == [
            ("children[0].resident_id", "id_sex_mismatch")
        ]
        assert boy.resident_id not in str(warning.message)
        assert county.child(boy.id).sex is Sex.FEMALE
