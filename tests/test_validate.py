"""Cross-field checks of the facts (domain.validate), and the purity of the domain package."""

from __future__ import annotations

import ast
import sys
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given

import leftbehind.domain
from leftbehind.domain.errors import LISTED, Issue, ValidationError
from leftbehind.domain.ids import check_digit, check_phone, check_resident_id, mask_phone
from leftbehind.domain.model import (
    Absence,
    Child,
    Enrolment,
    Guardian,
    LeaveReason,
    Parent,
    School,
    Sex,
)
from leftbehind.domain.validate import (
    MESSAGES,
    WARNING_CODES,
    check_child,
    check_children,
    check_school,
    errors_only,
)
from leftbehind.testing.strategies import SCHOOLS, children

TODAY = date(2026, 3, 1)
BORN = date(2016, 3, 2)
ID = "13043220160302001"
VALID_ID = ID + check_digit(ID)  # a boy born 2016-03-02


def kid(**kw: object) -> Child:
    base: dict[str, object] = {
        "id": "c1",
        "name": "小明",
        "sex": Sex.MALE,
        "birth_date": BORN,
        "resident_id": VALID_ID,
        "enrolments": (Enrolment("S-rural-1", date(2022, 9, 1), 1),),
        "father": Parent(),
        "mother": Parent(),
    }
    base.update(kw)
    return Child(**base)  # type: ignore[arg-type]


def codes(issues: list[Issue]) -> list[tuple[str, str]]:
    return [(i.path, i.code) for i in issues]


def test_a_clean_child_has_no_issues() -> None:
    assert check_child(kid(), today=TODAY) == []


@given(children())
def test_generated_facts_are_valid(child: Child) -> None:
    assert check_child(child, today=None) == []
    assert check_child(child, today=date(2040, 1, 1)) == []


def test_future_dates_need_today() -> None:
    child = kid(birth_date=date(2026, 3, 2), resident_id="", abandoned_on=date(2027, 1, 1))
    assert codes(check_child(child, today=TODAY)) == [
        ("child.birth_date", "future_date"),
        ("child.abandoned_on", "future_date"),
        ("child.enrolments[0].start", "enrolment_before_birth"),
    ]
    assert codes(check_child(child, today=None)) == [
        ("child.enrolments[0].start", "enrolment_before_birth"),
    ]


def test_parent_dates_in_the_future() -> None:
    father = Parent(
        deceased_on=date(2026, 5, 1), absences=(Absence(date(2026, 4, 1)),), no_capacity_since=None
    )
    assert codes(check_child(kid(father=father), today=TODAY, path="")) == [
        ("father.deceased_on", "future_date"),
        ("father.absences[0].start", "future_date"),
    ]


def test_absence_ending_before_it_starts() -> None:
    father = Parent(absences=(Absence(date(2025, 5, 1), date(2025, 4, 30)),))
    assert codes(check_child(kid(father=father), today=TODAY)) == [
        ("child.father.absences[0].end", "absence_order"),
    ]


def test_overlapping_spells_of_one_parent() -> None:
    mother = Parent(
        absences=(
            Absence(date(2025, 1, 1), date(2025, 6, 1)),
            Absence(date(2025, 6, 1), date(2025, 9, 1)),  # touches: fine
            Absence(date(2025, 8, 1), None),  # overlaps the second
            Absence(date(2024, 1, 1), date(2024, 12, 1)),  # out of order but apart: fine
        )
    )
    assert codes(check_child(kid(mother=mother), today=TODAY)) == [
        ("child.mother.absences[2]", "absence_overlap"),
    ]
    open_first = Parent(absences=(Absence(date(2024, 1, 1)), Absence(date(2025, 1, 1))))
    assert codes(check_child(kid(father=open_first), today=TODAY)) == [
        ("child.father.absences[1]", "absence_overlap"),
    ]


def test_death_or_disappearance_before_a_later_absence() -> None:
    father = Parent(deceased_on=date(2024, 1, 1), absences=(Absence(date(2024, 1, 1)),))
    mother = Parent(
        missing_since=date(2023, 1, 1),
        absences=(Absence(date(2022, 1, 1), date(2022, 6, 1)), Absence(date(2023, 2, 1))),
    )
    assert codes(check_child(kid(father=father, mother=mother), today=TODAY)) == [
        ("child.father.absences[0].start", "death_before_absence"),
        ("child.mother.absences[1].start", "missing_before_absence"),
    ]


def test_enrolments() -> None:
    enrolments = (
        Enrolment("S-rural-1", date(2022, 9, 1), 1, end=date(2022, 8, 1)),
        Enrolment("S-rural-1", date(2023, 9, 1), 10),
        Enrolment("S-rural-2", date(2024, 9, 1), 0, end_reason=LeaveReason.TRANSFERRED),
    )
    assert codes(check_child(kid(enrolments=enrolments), today=TODAY)) == [
        ("child.enrolments[0].end", "enrolment_order"),
        ("child.enrolments[1].grade", "grade_range"),
        ("child.enrolments[2].grade", "grade_range"),
        ("child.enrolments[2].end_reason", "leave_reason_without_end"),
        ("child.enrolments[2]", "enrolment_overlap"),
    ]


@pytest.mark.parametrize(
    ("resident_id", "code"),
    [
        ("13043220160302", "id_format"),
        ("1304322016030200１", "id_format"),  # full-width digits are normalised by the converter
        ("130432201602300011", "id_birth_date"),
        (ID + ("1" if VALID_ID[-1] != "1" else "2"), "id_check_digit"),
    ],
)
def test_bad_resident_ids(resident_id: str, code: str) -> None:
    issues = check_child(kid(resident_id=resident_id), today=TODAY)
    assert codes(issues) == [("child.resident_id", code)]
    assert resident_id not in str(issues[0])
    assert check_resident_id(resident_id) == code


def test_resident_id_disagreeing_with_the_file() -> None:
    issues = check_child(kid(birth_date=date(2016, 3, 3), sex=Sex.FEMALE), today=TODAY)
    assert codes(issues) == [
        ("child.resident_id", "id_birth_mismatch"),
        ("child.resident_id", "id_sex_mismatch"),
    ]
    assert codes(errors_only(issues)) == [("child.resident_id", "id_birth_mismatch")]
    assert "id_sex_mismatch" in WARNING_CODES


def test_resident_id_born_in_the_future() -> None:
    body = "13043220270101001"
    child = kid(resident_id=body + check_digit(body), birth_date=date(2027, 1, 1))
    assert ("child.resident_id", "future_date") in codes(check_child(child, today=TODAY))


def test_lower_case_x_check_digit_is_accepted() -> None:
    assert check_digit("11010519491231002") == "X"
    assert check_resident_id("11010519491231002x") is None


def test_phones_of_parents_and_guardian() -> None:
    child = kid(
        father=Parent(phone="12345"),
        mother=Parent(phone="+8613812345678"),
        guardian=Guardian("王奶奶", "祖母", phone="1381234567"),
    )
    issues = check_child(child, today=TODAY, path="children[3]")
    assert codes(issues) == [
        ("children[3].father.phone", "phone_format"),
        ("children[3].guardian.phone", "phone_format"),
    ]
    assert all("1381234567" not in str(i) and "12345" not in str(i) for i in issues)
    assert check_phone("0310-6221234") is None
    assert mask_phone("13812345678") == "138****5678"


def test_school_and_roster_checks() -> None:
    assert codes(check_school(School("", "某校", "某乡"))) == [("school.id", "required")]
    first = kid()
    twin = kid(id="c1", enrolments=(Enrolment("nowhere", date(2022, 9, 1), 1),))
    issues = check_children([first, twin], [*SCHOOLS, SCHOOLS[0]], today=TODAY)
    assert codes(issues) == [
        ("schools[3].id", "duplicate_id"),
        ("children[1].id", "duplicate_id"),
        ("children[1].resident_id", "duplicate_resident_id"),
        ("children[1].enrolments[0].school_id", "unknown_school"),
    ]


def test_every_code_has_a_message_without_placeholders() -> None:
    assert set(MESSAGES) >= WARNING_CODES
    assert all(message and "{" not in message for message in MESSAGES.values())


# ---------------------------------------------------------------------------------------------
# The domain is pure: attrs, the standard library and itself.


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path.name}: relative import"
            assert node.module is not None
            names.add(node.module)
    return names


def test_domain_imports_only_attrs_the_standard_library_and_itself() -> None:
    folder = Path(leftbehind.domain.__file__).parent
    modules = sorted(folder.glob("*.py"))
    assert {p.name for p in modules} >= {"dates.py", "eligibility.py", "validate.py"}
    for path in modules:
        for name in _imports(path):
            top = name.split(".")[0]
            allowed = (
                top in sys.stdlib_module_names
                or top == "attrs"
                or name == "leftbehind.domain"
                or name.startswith("leftbehind.domain.")
            )
            assert allowed, f"{path.name} imports {name}"


def test_a_message_of_many_issues_sums_them_up_by_code() -> None:
    """14,908 problems are not 14,908 lines: past LISTED, one line per code with its count and
    first paths; every issue stays in ``issues``."""
    future = [Issue(f"records[{i}].on", "future_record", "lies after today") for i in range(98)]
    unknown = [Issue(f"records[{i}].staff_id", "unknown_staff", "no such staff") for i in (3, 7)]
    error = ValidationError([*future, *unknown], subject="records")
    lines = str(error).splitlines()
    assert lines == [
        "records has 100 problems, by kind:",
        "  - lies after today [future_record] × 98: records[0].on, records[1].on, records[2].on"
        " and 95 more",
        "  - no such staff [unknown_staff] × 2: records[3].staff_id, records[7].staff_id",
    ]
    assert len(error.issues) == 100
    few = ValidationError(future[:LISTED], subject="records")
    assert len(str(few).splitlines()) == LISTED + 1
