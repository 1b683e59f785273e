"""Hypothesis strategies for the facts: dates, absences, parents, children, schools, IDs.

Every strategy here makes *valid* facts (what the converter and :mod:`leftbehind.domain.validate`
accept), so properties can build on them; tests of bad input perturb them explicitly.
Dates lean towards the days that make month arithmetic hard: the 28th to the 31st and February.
leftbehind's own tests use them, and so does the
pushdown contract (:class:`leftbehind.testing.contract.PushdownContract`). Importing this module
needs Hypothesis.
"""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import strategies as st

from leftbehind.domain.dates import days_in_month
from leftbehind.domain.ids import check_digit
from leftbehind.domain.model import (
    Absence,
    Child,
    Enrolment,
    Guardian,
    Health,
    LeaveReason,
    Parent,
    School,
    Sex,
)

__all__ = [
    "EARLIEST",
    "LATEST",
    "SCHOOLS",
    "absences",
    "children",
    "dates",
    "enrolments",
    "guardians",
    "month_end_dates",
    "parents",
    "phones",
    "resident_ids",
    "schools",
    "texts",
]

EARLIEST = date(2015, 1, 1)
LATEST = date(2030, 12, 31)

SCHOOLS = (
    School("S-rural-1", "东张孟中心小学", "东张孟乡", rural=True),
    School("S-rural-2", "平固店中学", "平固店镇", rural=True),
    School("S-town", "广平县实验小学", "广平镇", rural=False),
)
"""Three schools (two rural, one not) that :func:`children` enrols pupils in."""


@st.composite
def month_end_dates(draw: st.DrawFn, min_year: int = 2015, max_year: int = 2030) -> date:
    """A day from the 28th to the end of a month, February often."""
    year = draw(st.integers(min_year, max_year))
    month = draw(st.sampled_from([1, 2, 2, 2, 3, 4, 5, 8, 10, 11, 11, 12]))
    day = draw(st.integers(28, 31))
    return date(year, month, min(day, days_in_month(year, month)))


def dates(min_value: date = EARLIEST, max_value: date = LATEST) -> st.SearchStrategy[date]:
    """Any day in range, with month ends (28–31, February) drawn often."""
    ends = month_end_dates(min_value.year, max_value.year).filter(
        lambda d: min_value <= d <= max_value
    )
    return st.one_of(st.dates(min_value, max_value), ends)


def texts(max_size: int = 12) -> st.SearchStrategy[str]:
    """Names and notes as the converter accepts them: any script, CJK outside the BMP, ``·``.

    No control, format (bidi) or surrogate characters: those are rejected on input.
    """
    chars = st.characters(exclude_categories=("Cc", "Cs", "Cf", "Cn"))
    minority = st.sampled_from(["阿依古丽·买买提", "𠀋𠂇", "王小明", "Ömer", ""])
    return st.one_of(st.text(chars, max_size=max_size), minority)


def phones() -> st.SearchStrategy[str]:
    """Valid mainland mobiles and landlines, or ``""`` (not recorded)."""
    mobile = st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True)
    landline = st.from_regex(r"0310-[1-9][0-9]{6}", fullmatch=True)
    return st.one_of(st.just(""), mobile, landline)


@st.composite
def resident_ids(draw: st.DrawFn, birth_date: date, sex: Sex) -> str:
    """A GB 11643 ID for that birth date and sex, with a correct check digit."""
    area = draw(st.sampled_from(["130432", "132127", "110105"]))
    order = draw(st.integers(0, 499)) * 2 + (1 if sex is Sex.MALE else 0)
    body = f"{area}{birth_date:%Y%m%d}{order:03d}"
    return body + check_digit(body)


@st.composite
def absences(
    draw: st.DrawFn,
    start: date = date(2018, 1, 1),
    stop: date = date(2029, 12, 31),
    max_spells: int = 4,
) -> tuple[Absence, ...]:
    """Non-overlapping work spells in order, from ``start`` on; the last may be open.

    Gaps between spells are often short home stays (a Spring Festival visit of 1–40 days), so
    that bridging is exercised on both sides of the default 31 days.
    """
    n = draw(st.integers(0, max_spells))
    out: list[Absence] = []
    cursor = draw(dates(start, stop))
    for i in range(n):
        length = draw(st.one_of(st.integers(1, 120), st.integers(80, 400)))
        last = i == n - 1
        end = None if last and draw(st.booleans()) else cursor + timedelta(days=length)
        place = draw(st.sampled_from(["", "北京", "天津", "广东省深圳市"]))
        out.append(Absence(cursor, end, place))
        if end is None:
            break
        gap = draw(st.one_of(st.integers(0, 40), st.integers(30, 33), st.integers(41, 200)))
        cursor = end + timedelta(days=gap)
    return tuple(out)


@st.composite
def parents(draw: st.DrawFn, state: str | None = None) -> Parent:
    """A parent in one of the states: home, away, deceased, missing, divorced, unknown, no
    capacity (``state`` picks one; by default any).

    Deaths and disappearances come after every spell has started.
    """
    kind = state or draw(
        st.sampled_from(
            ["home", "away", "away", "deceased", "missing", "divorced", "unknown", "incapable"]
        )
    )
    spells = () if kind in ("home", "unknown") else draw(absences())
    after = max((a.start for a in spells), default=date(2018, 1, 1)) + timedelta(days=1)
    later = dates(after, after + timedelta(days=2000))
    return Parent(
        name=draw(texts()),
        phone=draw(phones()),
        absences=spells,
        deceased_on=draw(later) if kind == "deceased" else None,
        missing_since=draw(later) if kind == "missing" else None,
        divorced_out_on=draw(dates(date(2016, 1, 1))) if kind == "divorced" else None,
        no_capacity_since=draw(dates(date(2016, 1, 1))) if kind == "incapable" else None,
        known=kind != "unknown",
    )


@st.composite
def enrolments(draw: st.DrawFn, birth_date: date) -> tuple[Enrolment, ...]:
    """One to three consecutive enrolments from age six or so, in :data:`SCHOOLS`."""
    n = draw(st.integers(1, 3))
    cursor = draw(dates(birth_date + timedelta(days=5 * 365), birth_date + timedelta(days=8 * 365)))
    grade = draw(st.integers(1, 6))
    out: list[Enrolment] = []
    for i in range(n):
        school = draw(st.sampled_from(SCHOOLS))
        last = i == n - 1
        end = (
            None if last and draw(st.booleans()) else cursor + timedelta(draw(st.integers(1, 900)))
        )
        reason = None if end is None else draw(st.sampled_from([None, *LeaveReason]))
        out.append(Enrolment(school.id, cursor, grade, draw(texts(6)), end, reason))
        if end is None:
            break
        cursor = end + timedelta(days=draw(st.integers(0, 60)))
        grade = min(9, grade + 1)
    return tuple(out)


def guardians() -> st.SearchStrategy[Guardian]:
    """A second guardian (第二监护人)."""
    relation = st.sampled_from(["祖父", "祖母", "外祖母", "姑姑", ""])
    return st.builds(Guardian, texts(), relation, phones(), texts())


@st.composite
def children(
    draw: st.DrawFn,
    father: st.SearchStrategy[Parent | None] | None = None,
    mother: st.SearchStrategy[Parent | None] | None = None,
) -> Child:
    """A pupil with a valid resident ID, enrolments, and parents in any state (or unrecorded)."""
    sex = draw(st.sampled_from(Sex))
    birth = draw(dates(date(2008, 1, 1), date(2019, 12, 31)))
    recorded = st.one_of(st.none(), parents(), parents(), parents())
    return Child(
        id=draw(st.from_regex(r"C[0-9]{1,6}", fullmatch=True)),
        name=draw(texts()),
        sex=sex,
        birth_date=birth,
        resident_id=draw(st.one_of(st.just(""), resident_ids(birth, sex))),
        rural_hukou=draw(st.booleans()),
        ethnicity=draw(st.sampled_from(["", "汉族", "回族", "维吾尔族"])),
        village=draw(texts()),
        address=draw(texts()),
        boarding=draw(st.booleans()),
        enrolments=draw(enrolments(birth)),
        father=draw(father if father is not None else recorded),
        mother=draw(mother if mother is not None else recorded),
        guardian=draw(st.one_of(st.none(), guardians())),
        abandoned_on=draw(st.one_of(st.none(), dates(birth, date(2029, 1, 1)))),
        health=draw(st.one_of(st.none(), st.sampled_from(Health))),
        health_note=draw(texts()),
        personality=draw(texts()),
        hobbies=draw(texts()),
    )


def schools() -> st.SearchStrategy[School]:
    """Any valid school."""
    ids = st.from_regex(r"S[0-9A-Z-]{1,8}", fullmatch=True)
    return st.builds(School, ids, texts(), texts(), st.booleans())
