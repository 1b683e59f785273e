"""The converter: exact round trips, strict reading, every issue with a path and never the value."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leftbehind.convert import MAX_TEXT, from_json, structure, to_json, unstructure
from leftbehind.domain.eligibility import (
    Category,
    Decision,
    NationalPolicy,
    PlanPolicy,
    Reason,
    Span,
    Timeline,
)
from leftbehind.domain.errors import Issue, ValidationError
from leftbehind.domain.ids import check_digit
from leftbehind.domain.model import Absence, Child, Enrolment, Guardian, Parent, School, Sex
from leftbehind.testing.strategies import (
    SCHOOLS,
    absences,
    children,
    dates,
    guardians,
    parents,
    schools,
)

SCHOOL_MAP = {s.id: s for s in SCHOOLS}
TODAY = date(2026, 3, 1)
BODY = "13043220160302001"
VALID_ID = BODY + check_digit(BODY)


def good() -> dict[str, Any]:
    """A valid child document, as unstructure writes it (then trimmed to what is required)."""
    return {
        "id": "c1",
        "name": "阿依古丽·买买提",
        "sex": "male",
        "birth_date": "2016-03-02",
        "resident_id": VALID_ID,
        "enrolments": [{"school_id": "S-rural-1", "start": "2022-09-01", "grade": 1}],
        "father": {
            "phone": "13812345678",
            "absences": [{"start": "2025-11-30", "end": None, "place": "北京"}],
        },
        "mother": {},
    }


def problems(data: object, cls: type[Any] = Child, **kw: Any) -> list[tuple[str, str]]:
    with pytest.raises(ValidationError) as info:
        structure(data, cls, **kw)
    return [(i.path, i.code) for i in info.value.issues]


# ---------------------------------------------------------------------------------------------
# Round trips.


def _round_trips(value: object) -> None:
    cls = type(value)
    assert structure(unstructure(value), cls) == value
    text = to_json(value)
    assert from_json(text, cls) == value
    assert from_json(text.encode("utf-8"), cls) == value
    assert to_json(from_json(text, cls)) == text


@given(children())
def test_children_round_trip(child: Child) -> None:
    _round_trips(child)


@given(schools(), parents(), guardians(), absences())
def test_parts_round_trip(
    school: School, parent: Parent, guardian: Guardian, spells: tuple[Absence, ...]
) -> None:
    for value in (school, parent, guardian, *spells):
        _round_trips(value)


@given(children(), dates())
def test_timelines_and_decisions_round_trip(child: Child, d: date) -> None:
    for policy in (PlanPolicy(), NationalPolicy()):
        timeline = policy.timeline(child, SCHOOL_MAP)
        _round_trips(timeline)
        _round_trips(timeline.decision(d))
        for span in timeline.spans:
            _round_trips(span)
        loaded = from_json(to_json(timeline), Timeline)
        assert loaded.decision(d) == timeline.decision(d)
        assert set(unstructure(timeline)) == {"child_id", "policy", "version", "spans", "missing"}


def test_json_is_deterministic_utf8_with_sorted_keys() -> None:
    reasons = (Reason("father_away", date(2025, 11, 30), "北京", 3),)
    cats = list(Category)
    one = Decision("c1", TODAY, frozenset(cats), reasons, "guangping-plan", "1")
    other = Decision("c1", TODAY, frozenset(reversed(cats)), reasons, "guangping-plan", "1")
    text = to_json(one)
    assert text == to_json(other)
    assert "北京" in text
    assert "\\u" not in text
    doc = json.loads(text)
    assert list(doc) == sorted(doc)
    assert doc["categories"] == sorted(c.value for c in Category)


def test_category_sets_are_written_sorted() -> None:
    tl = PlanPolicy().timeline(
        structure(
            {**good(), "father": {"divorced_out_on": "2020-01-01"}, "abandoned_on": "2021-01-01"},
            Child,
        ),
        SCHOOL_MAP,
    )
    doc = unstructure(tl.decision(TODAY))
    assert doc["categories"] == ["abandoned", "single_parent"]
    assert unstructure(Span(TODAY, None, tl.spans[0].category)) == {
        "start": "2026-03-01",
        "end": None,
        "category": tl.spans[0].category.value,
        "reasons": [],
    }


# ---------------------------------------------------------------------------------------------
# Strictness: the cattrs traps of RELIABILITY.md.


@pytest.mark.parametrize(
    ("path", "value", "code"),
    [
        ("enrolments", "abc", "type"),  # no 'abc' -> ['a', 'b', 'c']
        ("name", None, "type"),  # no None -> 'None'
        ("name", 5, "type"),  # no 5 -> '5'
        ("enrolments.0.grade", 1.9, "type"),  # no 1.9 -> 1
        ("enrolments.0.grade", True, "type"),  # no True -> 1
        ("enrolments.0.grade", "3", "type"),
        ("boarding", 1, "type"),
        ("boarding", "true", "type"),
        ("birth_date", "2016-02-30", "date_invalid"),
        ("birth_date", "20160302", "date_format"),
        ("birth_date", "2016-03-02T00:00:00", "date_format"),
        ("birth_date", "２０１６-03-02", "date_format"),
        ("birth_date", 20160302, "type"),
        ("sex", "MALE", "choice"),
        ("sex", 1, "choice"),
        ("father", [], "type"),
        ("father.absences", {"start": "2025-01-01"}, "type"),
        ("father.absences.0.start", None, "type"),
        ("resident_id", BODY + "0", "id_check_digit"),
        ("resident_id", "12345", "id_format"),
        ("father.phone", "123", "phone_format"),
        ("name", "x" * (MAX_TEXT + 1), "text_too_long"),
        ("name", "王\ud800明", "text_encoding"),
        ("name", "王\u202e明", "text_control"),
        ("name", "王\x00明", "text_control"),
    ],
)
def test_strict_fields(path: str, value: object, code: str) -> None:
    doc = good()
    _set(doc, path.split("."), copy.deepcopy(value))  # the parameter is shared: put in a copy
    where = path.replace(".0", "[0]")
    assert problems(doc) == [(where, code)]


def _set(doc: Any, keys: list[str], value: object) -> None:
    for key in keys[:-1]:
        doc = doc[int(key)] if isinstance(doc, list) else doc[key]
    last = keys[-1]
    if isinstance(doc, list):
        doc[int(last)] = value
    else:
        doc[last] = value


def test_unknown_and_missing_fields() -> None:
    doc = good()
    doc["nmae"] = "typo"
    doc["father"]["absences"][0]["retrun"] = "2026-01-01"
    del doc["sex"]
    assert sorted(problems(doc)) == [
        ("father.absences[0].retrun", "unknown_field"),
        ("nmae", "unknown_field"),
        ("sex", "required"),
    ]


def test_not_an_object_at_the_root() -> None:
    assert problems(["c1"], path="children[2]") == [("children[2]", "type")]
    assert problems("c1", School) == [("", "type")]


def test_full_width_digits_are_normalised() -> None:
    doc = good()
    doc["resident_id"] = VALID_ID.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    doc["father"]["phone"] = "１３８１２３４５６７８"
    child = structure(doc, Child)
    assert child.resident_id == VALID_ID
    assert child.father is not None
    assert child.father.phone == "13812345678"


def test_minority_names_and_rare_characters_are_kept() -> None:
    doc = good()
    doc["name"] = "阿依古丽·买买提"
    doc["village"] = "𠀋村"
    assert structure(doc, Child).village == "𠀋村"


def test_every_problem_is_listed_with_its_path() -> None:
    doc = good()
    doc["id"] = 7
    doc["birth_date"] = "2016-13-01"
    doc["father"]["phone"] = "555"
    doc["father"]["absences"].append({"start": "2025-02-30"})
    doc["enrolments"][0]["grade"] = "one"
    doc["guardian"] = {"name": "王奶奶", "relation": "祖母", "phone": "0"}
    assert problems(doc, path="children[3]") == [
        ("children[3].id", "type"),
        ("children[3].birth_date", "date_invalid"),
        ("children[3].enrolments[0].grade", "type"),
        ("children[3].father.phone", "phone_format"),
        ("children[3].father.absences[1].start", "date_invalid"),
        ("children[3].guardian.phone", "phone_format"),
    ]


def test_cross_field_checks_run_after_the_fields() -> None:
    doc = good()
    doc["birth_date"] = "2016-03-03"
    doc["father"]["absences"] = [
        {"start": "2025-05-01", "end": "2025-04-01"},
        {"start": "2026-05-01"},
    ]
    assert problems(doc, today=TODAY) == [
        ("resident_id", "id_birth_mismatch"),
        ("father.absences[0].end", "absence_order"),
        ("father.absences[1].start", "future_date"),
    ]
    assert ("father.absences[1].start", "future_date") not in problems(doc)


def test_one_child_with_six_problems_gets_six_issues() -> None:
    """Errors do not hide errors: a bad check digit and a short phone (read as the fields are)
    do not stop the cross-field checks (a future birth date, an absence ending before it
    starts, overlapping spells, a spell after the parent's death)."""
    doc = good()
    doc["birth_date"] = "2026-05-01"
    doc["resident_id"] = VALID_ID[:-1] + ("0" if VALID_ID[-1] != "0" else "1")
    doc["father"]["phone"] = "1381234"
    doc["father"]["absences"] = [{"start": "2025-05-01", "end": "2025-04-01"}]
    doc["mother"] = {
        "deceased_on": "2024-07-01",
        "absences": [{"start": "2024-03-01", "end": "2024-09-01"}, {"start": "2024-08-01"}],
    }
    found = set(problems(doc, today=TODAY))
    assert found >= {
        ("resident_id", "id_check_digit"),
        ("father.phone", "phone_format"),
        ("birth_date", "future_date"),
        ("father.absences[0].end", "absence_order"),
        ("mother.absences[1]", "absence_overlap"),
    }
    assert any(code == "death_before_absence" for _, code in found)


def test_a_part_cut_for_a_bad_field_is_left_out_of_the_cross_checks() -> None:
    """An enrolment whose end date is unreadable is not also told that its reason for leaving
    needs an end: the reading names the date, the rest of the child is still checked."""
    doc = good()
    doc["enrolments"][0]["end"] = "2026-02-30"
    doc["enrolments"][0]["end_reason"] = "graduated"
    doc["father"]["absences"] = [{"start": "2025-05-01", "end": "2025-04-01"}]
    assert problems(doc, today=TODAY) == [
        ("enrolments[0].end", "date_invalid"),
        ("father.absences[0].end", "absence_order"),
    ]


#: Independent problems, each confined to its own part of a child: (where, how, code).
_PROBLEMS: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    ("resident_id", lambda d: d.update(resident_id=VALID_ID[:-1] + "Y"), "id_format"),
    ("father.phone", lambda d: d["father"].update(phone="12"), "phone_format"),
    ("birth_date", lambda d: d.update(birth_date="2027-01-01"), "future_date"),
    (
        "father.absences[0].end",
        lambda d: d["father"]["absences"][0].update(end="2025-01-01"),
        "absence_order",
    ),
    (
        "mother.absences[1]",
        lambda d: d["mother"].update(
            absences=[{"start": "2024-01-01", "end": "2024-06-01"}, {"start": "2024-05-01"}]
        ),
        "absence_overlap",
    ),
    (
        "guardian.phone",
        lambda d: d.update(guardian={"name": "王奶奶", "relation": "祖母", "phone": "0"}),
        "phone_format",
    ),
    ("abandoned_on", lambda d: d.update(abandoned_on="2025-02-30"), "date_invalid"),
    ("enrolments[0].grade", lambda d: d["enrolments"][0].update(grade="一"), "type"),
    ("nickname", lambda d: d.update(nickname="小小"), "unknown_field"),
]


@given(st.sets(st.sampled_from(range(len(_PROBLEMS))), min_size=1))
def test_a_child_with_k_independent_problems_gets_at_least_k_issues(chosen: set[int]) -> None:
    doc = good()
    for i in sorted(chosen):
        _PROBLEMS[i][1](doc)
    found = set(problems(doc, today=TODAY))
    for i in chosen:
        where, _, code = _PROBLEMS[i]
        assert (where, code) in found, (where, code)
    assert len(found) >= len(chosen)


def test_warnings_do_not_block() -> None:
    doc = good()
    doc["sex"] = "female"
    warnings: list[Issue] = []
    child = structure(doc, Child, today=TODAY, warnings=warnings)
    assert child.sex is Sex.FEMALE
    assert [(w.path, w.code) for w in warnings] == [("resident_id", "id_sex_mismatch")]


def test_bad_json_text() -> None:
    cases: list[tuple[str | bytes, str]] = [
        ("{", "json"),
        ('{"id": "a", "id": "b"}', "duplicate_key"),
        (b"\xff\xfe\x00", "encoding"),
        ("[" * 100_000, "json"),
    ]
    for text, code in cases:
        with pytest.raises(ValidationError) as info:
            from_json(text, Child)
        assert info.value.codes == {code}


def test_enrolment_and_school_documents() -> None:
    assert structure({"id": "S1", "name": "某校", "township": "某乡"}, School).rural
    assert problems({"school_id": "S1", "start": "2022-09-01"}, Enrolment) == [
        ("grade", "required")
    ]


# ---------------------------------------------------------------------------------------------
# R7: whatever is fed in, only success or a ValidationError without the value.

#: Shared by every example: never put one of these into a document itself, only a copy
#: (:func:`_bad_value`), since a later replacement may land inside a list or dict put there.
BAD_VALUES: tuple[object, ...] = (
    None,
    True,
    0,
    -1,
    1.5,
    [],
    {},
    "abc",
    "",
    "2016-02-30",
    "2099-01-01",
    "1900-01-01",
    "２０１６-01-01",
    BODY + "0",
    "１３８１２３４５６７８",
    "x" * 100_000,
    "\ud83d",
    "王\u202e明",
    "\u2066隔离\u2069",
    "𠀋𠂇𪚥",
    "阿依古丽·买买提",
    "male",
    "left_behind_both",
    ["abc"],
    [{"start": "2025-01-01"}],
    {"start": "2025-01-01", "end": "2024-01-01"},
)


_PRISTINE = copy.deepcopy(BAD_VALUES)


def _bad_value(data: st.DataObject) -> object:
    """A fresh copy of one of :data:`BAD_VALUES`."""
    return copy.deepcopy(data.draw(st.sampled_from(BAD_VALUES)))


def _leaves(doc: Any, path: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    out = [path] if path else []
    if isinstance(doc, dict):
        for key, value in doc.items():
            out += _leaves(value, (*path, key))
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            out += _leaves(value, (*path, i))
    return out


def _replace(doc: Any, path: tuple[str | int, ...], value: object) -> None:
    for key in path[:-1]:
        doc = doc[key]
    doc[path[-1]] = value


@given(children(), st.data())
def test_bad_input_gives_success_or_a_validation_error_without_the_value(
    child: Child, data: st.DataObject
) -> None:
    doc = unstructure(child)
    for _ in range(data.draw(st.integers(1, 3))):
        where = data.draw(st.sampled_from(_leaves(doc)))
        _replace(doc, where, _bad_value(data))
    if data.draw(st.booleans()):
        doc["extra_" + data.draw(st.sampled_from(["a", "b"]))] = 1
    issues = _issues(lambda: structure(doc, Child, today=TODAY, path="children[0]"))
    text = "\n".join(str(i) for i in issues)
    for issue in issues:
        assert issue.code
        assert issue.path.startswith("children[0]")
    for value in BAD_VALUES:
        if isinstance(value, str) and len(value) >= 3 and value not in ("abc", "male"):
            assert value not in text
    if child.resident_id:
        assert child.resident_id not in text
    for secret in (child.name, child.address):
        if len(secret) >= 4 and not secret.isascii():
            assert secret not in text
    as_text = json.dumps(doc, ensure_ascii=True)
    assert _issues(lambda: from_json(as_text, Child, today=TODAY, path="children[0]")) == issues
    assert BAD_VALUES == _PRISTINE  # what the next example draws from is what this one did


def _issues(fn: Callable[[], object]) -> list[Issue]:
    """The issues of a ValidationError (which must list some), or none on success."""
    try:
        fn()
    except ValidationError as exc:
        error = exc
    else:
        return []
    found = list(error.issues)
    assert found, "a ValidationError must list its issues"
    assert str(error).count("\n") == len(found)
    return found


def test_what_is_read_of_a_rejected_child_is_normalised_as_the_fields_are() -> None:
    """A full-width ID with a lower-case check letter and a full-width phone are valid: a bad
    date elsewhere in the child does not make them errors."""
    body = "13043220160302004"
    valid = body + check_digit(body)
    doc = good()
    doc["resident_id"] = valid.translate(str.maketrans("0123456789X", "０１２３４５６７８９x"))
    doc["father"]["phone"] = "１３８１２３４５６７８"
    doc["abandoned_on"] = "2026-02-30"
    assert problems(doc, today=TODAY) == [("abandoned_on", "date_invalid")]


def test_a_document_nested_too_deeply_is_one_issue_not_a_crash() -> None:
    doc = good()
    deep: list[Any] = []
    for _ in range(100_000):
        deep = [deep]
    doc["hobbies"] = deep
    with pytest.raises(ValidationError) as caught:
        structure(doc, Child)
    assert caught.value.codes <= {"invalid", "type"}
