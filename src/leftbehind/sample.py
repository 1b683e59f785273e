"""A small bundled example county: a dozen children covering every category and the tricky dates.

It is what ``leftbehind demo`` starts from, and a handy fixture for trying the library::

    >>> from leftbehind.sample import sample_county
    >>> county = sample_county()
    >>> len(county.children)
    12

Names, ID numbers and phones are invented; ID numbers carry correct GB 11643 check digits.
"""

from __future__ import annotations

from datetime import date

from attrs import frozen

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

__all__ = ["SampleCounty", "sample_county"]


def _resident_id(area: str, birth: date, order: int) -> str:
    body = f"{area}{birth:%Y%m%d}{order:03d}"
    return body + check_digit(body)


@frozen
class SampleCounty:
    """Schools and children of the example county, and the day the example is told from."""

    name: str
    as_of: date
    schools: tuple[School, ...]
    children: tuple[Child, ...]
    notes: dict[str, str]


def _child(
    n: int,
    name: str,
    sex: Sex,
    birth: date,
    school: str,
    grade: int,
    *,
    father: Parent | None,
    mother: Parent | None,
    since: date = date(2025, 9, 1),
    left: date | None = None,
    left_reason: LeaveReason | None = None,
    abandoned_on: date | None = None,
    village: str = "东张孟村",
) -> Child:
    order = 2 * n + (1 if sex is Sex.MALE else 2)
    return Child(
        id=f"C{n:03d}",
        name=name,
        sex=sex,
        birth_date=birth,
        resident_id=_resident_id("130432", birth, order),
        ethnicity="汉族",
        village=village,
        address=f"广平县{village}",
        enrolments=(Enrolment(school, since, grade, f"{grade}年级1班", left, left_reason),),
        father=father,
        mother=mother,
        guardian=Guardian("祖母", "祖孙", "13903100000", f"广平县{village}"),
        abandoned_on=abandoned_on,
        health=Health.HEALTHY,
        personality="开朗",
        hobbies="画画",
    )


def sample_county() -> SampleCounty:
    """The example county as of 2026-04-15 (the deployment phase of the 2026 action year)."""
    home = Parent(phone="13800000001")
    schools = (
        School("S01", "平固店镇中心小学", "平固店镇", rural=True),
        School("S02", "胜营镇第二中学", "胜营镇", rural=True),
        School("S03", "广平县城关实验小学", "广平镇", rural=False),
    )
    children = (
        _child(
            1,
            "张小明",
            Sex.MALE,
            date(2016, 3, 2),
            "S01",
            4,
            father=Parent(absences=(Absence(date(2025, 3, 1), None, "北京"),)),
            mother=Parent(absences=(Absence(date(2025, 6, 1), None, "天津"),)),
        ),
        _child(
            2,
            "李小红",
            Sex.FEMALE,
            date(2015, 7, 9),
            "S01",
            5,
            father=Parent(absences=(Absence(date(2026, 2, 10), None, "广东深圳"),)),
            mother=home,
        ),
        _child(
            3,
            "王芳",
            Sex.FEMALE,
            date(2017, 1, 20),
            "S01",
            3,
            father=Parent(absences=(Absence(date(2025, 11, 30), None, "河北石家庄"),)),
            mother=home,
        ),
        _child(
            4,
            "赵磊",
            Sex.MALE,
            date(2014, 10, 5),
            "S02",
            7,
            father=Parent(absences=(Absence(date(2026, 1, 31), None, "山东济南"),)),
            mother=Parent(absences=(Absence(date(2026, 1, 31), None, "山东济南"),)),
        ),
        _child(
            5,
            "刘洋",
            Sex.MALE,
            date(2013, 12, 12),
            "S02",
            8,
            father=Parent(
                absences=(
                    Absence(date(2025, 3, 1), date(2026, 1, 25), "江苏苏州"),
                    Absence(date(2026, 2, 20), None, "江苏苏州"),
                )
            ),
            mother=home,
        ),
        _child(
            6,
            "陈静",
            Sex.FEMALE,
            date(2016, 5, 18),
            "S01",
            4,
            father=Parent(
                absences=(
                    Absence(date(2025, 3, 1), date(2026, 1, 10), "浙江杭州"),
                    Absence(date(2026, 3, 1), None, "浙江杭州"),
                )
            ),
            mother=home,
        ),
        _child(
            7,
            "杨帆",
            Sex.MALE,
            date(2015, 2, 28),
            "S01",
            5,
            father=Parent(deceased_on=date(2022, 8, 3)),
            mother=Parent(missing_since=date(2023, 5, 1)),
        ),
        _child(
            8,
            "黄丽",
            Sex.FEMALE,
            date(2016, 9, 9),
            "S01",
            3,
            father=None,
            mother=None,
            abandoned_on=date(2019, 4, 1),
        ),
        _child(
            9,
            "周强",
            Sex.MALE,
            date(2014, 4, 4),
            "S02",
            7,
            father=Parent(divorced_out_on=date(2020, 6, 1)),
            mother=Parent(absences=(Absence(date(2025, 10, 1), None, "河南郑州"),)),
        ),
        _child(
            10,
            "吴敏",
            Sex.FEMALE,
            date(2017, 8, 15),
            "S01",
            2,
            father=Parent(deceased_on=date(2021, 2, 1)),
            mother=home,
        ),
        _child(
            11,
            "郑浩",
            Sex.MALE,
            date(2012, 11, 30),
            "S02",
            9,
            father=Parent(absences=(Absence(date(2025, 9, 1), None, "北京"),)),
            mother=Parent(absences=(Absence(date(2025, 9, 1), None, "北京"),)),
            since=date(2024, 9, 1),
            left=date(2026, 4, 1),
            left_reason=LeaveReason.TRANSFERRED,
        ),
        _child(
            12,
            "孙悦",
            Sex.FEMALE,
            date(2016, 6, 6),
            "S03",
            4,
            father=Parent(absences=(Absence(date(2025, 3, 1), None, "上海"),)),
            mother=Parent(absences=(Absence(date(2025, 3, 1), None, "上海"),)),
        ),
    )
    notes = {
        "C001": "both parents away for over a year",
        "C002": "father away since 10 Feb: eligible from 10 May",
        "C003": "father away since 30 Nov: qualifies on 28 Feb (month-end clamping)",
        "C004": "both away since 31 Jan: qualify on 30 Apr",
        "C005": "home 26 days for Spring Festival: bridged, still served",
        "C006": "home 50 days: continuity broken, eligible again from 1 Jun",
        "C007": "father deceased, mother missing: orphan",
        "C008": "abandoned; parents unknown to the file (facts missing)",
        "C009": "divorced, the mother at home works away: single-parent and left-behind",
        "C010": "father deceased, mother at home: single-parent family",
        "C011": "transferred out on 1 Apr: nothing after that",
        "C012": "town school (not rural): outside the plan's scope",
    }
    return SampleCounty("广平县", date(2026, 4, 15), schools, children, notes)
