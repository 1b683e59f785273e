"""A synthetic county with a realistic shape, deterministic for a seed and a size.

Townships with a central primary school, village primary schools and a middle school; one rural
pupil in four or so served; absence spells broken by Spring Festival stays (most short enough to
be bridged, some not); orphans, abandoned and single-parent children; transfers and graduations.
The demo, the tests and the benchmarks use it. Every name, ID number and phone is invented; ID
numbers carry correct GB 11643 check digits.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import date, timedelta

from attrs import frozen

from leftbehind.calendars import china_calendar
from leftbehind.domain.calendar import SchoolCalendar, default_semesters
from leftbehind.domain.dates import Interval
from leftbehind.domain.duties import (
    DEFAULT_KINDS,
    DutyBook,
    HomeVisitDetails,
    Method,
    Record,
    StudyPlanDetails,
)
from leftbehind.domain.eligibility import NationalPolicy, PlanPolicy, Timeline
from leftbehind.domain.ids import check_digit
from leftbehind.domain.ledger import LedgerFacts
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
from leftbehind.domain.people import Assignment, Role, Staff, StudyGroup

__all__ = [
    "SyntheticCounty",
    "SyntheticFacts",
    "domain_ledger_facts",
    "resident_id",
    "synthetic_county",
    "synthetic_facts",
    "synthetic_people",
    "synthetic_records",
]

TOWNSHIPS = ("广平镇", "平固店镇", "胜营镇", "南阳堡镇", "十里铺镇", "南韩村镇", "东张孟乡")
_SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
_GIVEN = "子涵浩宇欣怡梓萱宇轩雨桐佳怡一诺俊熙思琪嘉豪诗涵明辉晓东秀英建国志强丽娜红梅小龙文博"
_PLACES = (
    "北京",
    "天津",
    "河北石家庄",
    "河北邯郸",
    "山东济南",
    "江苏苏州",
    "浙江杭州",
    "广东深圳",
    "广东东莞",
    "上海",
    "河南郑州",
    "山西太原",
)
_RELATIONS = ("祖母", "祖父", "外祖母", "外祖父", "伯父", "姑母")
#: Spring Festival (春节) of the years the generator covers.
SPRING_FESTIVAL = {
    2023: date(2023, 1, 22),
    2024: date(2024, 2, 10),
    2025: date(2025, 1, 29),
    2026: date(2026, 2, 17),
    2027: date(2027, 2, 6),
}


def resident_id(area: str, birth: date, order: int) -> str:
    """A resident ID number with a correct GB 11643 check digit."""
    body = f"{area}{birth:%Y%m%d}{order % 1000:03d}"
    return body + check_digit(body)


@frozen
class SyntheticFacts:
    """Schools and children of a synthetic county, told as of ``as_of``."""

    name: str
    seed: int
    as_of: date
    schools: tuple[School, ...]
    children: tuple[Child, ...]


def _phone(rng: random.Random) -> str:
    return f"1{rng.choice('3578')}{rng.randrange(10**9):09d}"


def _name(rng: random.Random) -> str:
    return rng.choice(_SURNAMES) + "".join(rng.sample(_GIVEN, rng.choice((1, 2))))


def _schools(rng: random.Random, pupils: int) -> list[tuple[School, range]]:
    """Schools with the grades they teach; about one school per 150 pupils."""
    n = max(3, pupils // 150)
    out: list[tuple[School, range]] = []
    pairs = 2 * len(TOWNSHIPS)
    for i in range(n):
        township = TOWNSHIPS[(i // 2 if i < pairs else i) % len(TOWNSHIPS)]
        sid = f"S{i + 1:03d}"
        if i < pairs and i % 2 == 0:
            rural = township != TOWNSHIPS[0]
            out.append((School(sid, f"{township}中心小学", township, rural=rural), range(1, 7)))
        elif i < pairs:
            out.append((School(sid, f"{township}中学", township, rural=True), range(7, 10)))
        else:
            village = rng.choice(("东", "西", "南", "北")) + rng.choice(_GIVEN) + "村"
            out.append((School(sid, f"{township}{village}小学", township), range(1, 7)))
    return out


def _spells(rng: random.Random, as_of: date) -> tuple[Absence, ...]:
    """Absence spells up to ``as_of``, broken by Spring Festival stays of varying length."""
    place = rng.choice(_PLACES)
    start = as_of - timedelta(days=rng.randrange(30, 3 * 365))
    spells: list[Absence] = []
    for year in sorted(SPRING_FESTIVAL):
        festival = SPRING_FESTIVAL[year]
        if festival <= start or festival > as_of:
            continue
        back = festival - timedelta(days=rng.randrange(3, 15))
        if back <= start:
            continue
        stay = rng.choice((12, 18, 24, 28, 30, 45, 60)) if rng.random() < 0.8 else 0
        if stay == 0:
            continue
        spells.append(Absence(start, back, place))
        start = back + timedelta(days=stay)
    ended = rng.random() < 0.08
    end = as_of - timedelta(days=rng.randrange(1, 60)) if ended else None
    if start >= as_of or (end is not None and end <= start):
        return tuple(spells)
    spells.append(Absence(start, end, place))
    return tuple(spells)


def _parents(rng: random.Random, as_of: date) -> tuple[Parent, Parent, date | None]:
    """Father, mother, and an abandonment date, drawn with the county's rough proportions."""
    r = rng.random()
    home = Parent(name=_name(rng), phone=_phone(rng))
    past = as_of - timedelta(days=rng.randrange(200, 3000))
    if r < 0.11:
        father = Parent(name=_name(rng), phone=_phone(rng), absences=_spells(rng, as_of))
        mother = Parent(name=_name(rng), phone=_phone(rng), absences=_spells(rng, as_of))
        return father, mother, None
    if r < 0.23:
        away = Parent(name=_name(rng), phone=_phone(rng), absences=_spells(rng, as_of))
        return (away, home, None) if rng.random() < 0.8 else (home, away, None)
    if r < 0.235:
        return Parent(deceased_on=past), Parent(missing_since=past + timedelta(days=40)), None
    if r < 0.238:
        return Parent(known=False), Parent(known=False), past
    if r < 0.28:
        gone = rng.choice(
            (Parent(deceased_on=past), Parent(divorced_out_on=past), Parent(known=False))
        )
        stays = (
            Parent(name=_name(rng), phone=_phone(rng), absences=_spells(rng, as_of))
            if rng.random() < 0.3
            else home
        )
        return (gone, stays, None) if rng.random() < 0.6 else (stays, gone, None)
    return home, Parent(name=_name(rng), phone=_phone(rng)), None


def synthetic_facts(
    *, seed: int = 2026, children: int = 2000, as_of: date = date(2026, 9, 1)
) -> SyntheticFacts:
    """Schools and ``children`` pupils (all pupils, served or not) as of ``as_of``."""
    rng = random.Random(seed)
    schools = _schools(rng, children)
    kids: list[Child] = []
    year_start = date(as_of.year if as_of.month >= 9 else as_of.year - 1, 9, 1)
    orders: dict[date, set[int]] = {}
    junior = [s for s in schools if s[1].start == 7]
    primary = [s for s in schools if s[1].start == 1]
    for n in range(children):
        school, grades = rng.choice(junior if junior and rng.random() < 0.33 else primary)
        grade = rng.choice(grades)
        sex = Sex.MALE if rng.random() < 0.52 else Sex.FEMALE
        birth = date(year_start.year - 6 - grade, 1, 1) + timedelta(days=rng.randrange(365))
        since = date(year_start.year - (grade - grades.start), 9, 1)
        end: date | None = None
        reason: LeaveReason | None = None
        span = (as_of - since).days
        if rng.random() < 0.03 and span > 31:
            end = as_of - timedelta(days=rng.randrange(1, min(200, span - 30)))
            reason = rng.choice((LeaveReason.TRANSFERRED, LeaveReason.DROPPED_OUT))
        father, mother, abandoned = _parents(rng, as_of)
        # Order digits are unique per birth date, as the police station that issues them keeps.
        taken = orders.setdefault(birth, set())
        order = 2 * rng.randrange(500) + (1 if sex is Sex.MALE else 0)
        while order in taken:
            order = (order + 2) % 1000
        taken.add(order)
        village = f"{school.township[:-1]}{rng.choice('东西南北')}{rng.choice(_GIVEN)}村"
        complete = rng.random() < 0.9
        kids.append(
            Child(
                id=f"C{n + 1:06d}",
                name=_name(rng),
                sex=sex,
                birth_date=birth,
                resident_id=resident_id("130432", birth, order) if complete else "",
                rural_hukou=rng.random() < 0.95,
                ethnicity="汉族" if rng.random() < 0.97 else "回族",
                village=village,
                address=f"广平县{village}",
                boarding=grade >= 7 and rng.random() < 0.4,
                enrolments=(
                    Enrolment(
                        school.id, since, grades.start, f"{rng.randrange(1, 4)}班", end, reason
                    ),
                ),
                father=father,
                mother=mother,
                guardian=Guardian(
                    _name(rng), rng.choice(_RELATIONS), _phone(rng), f"广平县{village}"
                ),
                abandoned_on=abandoned,
                health=rng.choice((Health.HEALTHY,) * 30 + (Health.ILL, Health.DISABLED)),
                health_note="",
                personality=rng.choice(("开朗", "内向", "活泼", "文静", "")) if complete else "",
                hobbies=rng.choice(("画画", "篮球", "阅读", "唱歌", "")) if complete else "",
            )
        )
    return SyntheticFacts("广平县", seed, as_of, tuple(s for s, _ in schools), tuple(kids))


# ---------------------------------------------------------------------------------------------
# People and a year of records.


@frozen
class SyntheticCounty:
    """A whole synthetic county: facts, people, study groups, calendar and a year of records.

    ``diligence`` is each owner's chance of doing a duty in time (some teachers diligent, some
    not), so the ledgers show realistic gaps.
    """

    facts: SyntheticFacts
    calendar: SchoolCalendar
    period: Interval
    staff: tuple[Staff, ...]
    assignments: tuple[Assignment, ...]
    groups: tuple[StudyGroup, ...]
    records: tuple[Record, ...]
    diligence: dict[str, float]


def domain_ledger_facts(data: SyntheticCounty) -> LedgerFacts:
    """The ledger facts of a synthetic county computed in memory, with no store: what a county
    handle must reproduce from its documents (tests and benchmarks compare the two)."""
    schools = {s.id: s for s in data.facts.schools}
    plan, national = PlanPolicy(), NationalPolicy()
    children = tuple(sorted(data.facts.children, key=lambda c: c.id))
    timelines = {c.id: plan.timeline(c, schools) for c in children}
    every = (*data.assignments, *(a for g in data.groups for a in g.assignments()))
    book = DutyBook(data.calendar, DEFAULT_KINDS, timelines, every, data.records, staff=data.staff)
    return LedgerFacts(
        schools=schools,
        children=children,
        timelines=timelines,
        national={c.id: national.timeline(c, schools) for c in children},
        staff={s.id: s for s in data.staff},
        assignments=book.assignments,
        duties=book.tallies,
        policy=f"{plan.name}/{plan.version}",
        national_policy=f"{national.name}/{national.version}",
    )


def synthetic_county(
    *, seed: int = 2026, children: int = 2000, as_of: date = date(2026, 6, 30)
) -> SyntheticCounty:
    """Facts, people and the records of the school year up to ``as_of``, all from ``seed``.

    The calendar is China's (official holidays and make-up days) for the school year of
    ``as_of``; the records cover that school year from 1 September up to ``as_of``.
    """
    facts = synthetic_facts(seed=seed, children=children, as_of=as_of)
    schools = {s.id: s for s in facts.schools}
    policy = PlanPolicy()
    timelines = {c.id: policy.timeline(c, schools) for c in facts.children}
    staff, assignments, groups = synthetic_people(facts, timelines)
    year = as_of.year if as_of.month >= 9 else as_of.year - 1
    # The school year's two terms: autumn of ``year`` and spring of the next calendar year.
    terms = (default_semesters(year)[1], default_semesters(year + 1)[0])
    calendar = china_calendar([year, year + 1], terms=terms)
    period = Interval(date(year, 9, 1), as_of + timedelta(days=1))
    every = (*assignments, *(a for g in groups for a in g.assignments()))
    book = DutyBook(calendar, DEFAULT_KINDS, timelines, every, (), staff=staff)
    records, diligence = synthetic_records(book, period, as_of, seed=seed)
    return SyntheticCounty(facts, calendar, period, staff, assignments, groups, records, diligence)


_TOPICS = ("学习情况", "安全教育", "心理疏导", "生活习惯", "亲情沟通", "假期安排")
_CONTENTS = ("了解近况，鼓励按时完成作业", "提醒注意交通与防溺水安全", "交流与父母的联系情况")
_EFFECTS = ("情绪稳定", "学习有进步", "需持续关注")


def synthetic_people(
    facts: SyntheticFacts, timelines: Mapping[str, Timeline], *, seed: int | None = None
) -> tuple[tuple[Staff, ...], tuple[Assignment, ...], tuple[StudyGroup, ...]]:
    """Staff of each school and their assignments to the children served at some time.

    Each class has a class teacher (班主任) who is also the child's contact teacher; one child in
    three has a subject teacher; proxy parents (代管家长) and one-to-one staff pairs are drawn from
    the school's staff, with a few children left without one (coverage gaps); one village study
    group per school.
    """
    rng = random.Random(facts.seed if seed is None else seed)
    staff: list[Staff] = []
    assignments: list[Assignment] = []
    groups: list[StudyGroup] = []
    served = [c for c in facts.children if timelines[c.id].spans]
    by_school: dict[str, list[Child]] = {}
    for child in served:
        by_school.setdefault(child.enrolments[0].school_id, []).append(child)
    start = date(facts.as_of.year if facts.as_of.month >= 9 else facts.as_of.year - 1, 9, 1)
    for school in facts.schools:
        kids = by_school.get(school.id, [])
        head = Staff(f"{school.id}-H", _name(rng), school.id, "校长", _phone(rng))
        pool = [
            Staff(f"{school.id}-T{i:02d}", _name(rng), school.id, "教师", _phone(rng))
            for i in range(1, 4 + len(kids) // 6)
        ]
        staff.append(head)
        staff.extend(pool)
        teachers: dict[tuple[int, str], Staff] = {}
        for child in kids:
            enrolment = child.enrolments[0]
            first = max(start, enrolment.start)
            end = enrolment.end
            if end is not None and end <= first:
                continue  # left before this school year: nobody is assigned to them in it
            klass = (enrolment.grade_on(first), enrolment.class_name)
            teacher = teachers.setdefault(klass, rng.choice(pool))
            assignments.append(
                Assignment(
                    f"A{len(assignments):06d}", teacher.id, child.id, Role.CLASS_TEACHER, first, end
                )
            )
            if rng.random() < 0.33:
                subject = rng.choice(pool)
                assignments.append(
                    Assignment(
                        f"A{len(assignments):06d}",
                        subject.id,
                        child.id,
                        Role.SUBJECT_TEACHER,
                        first,
                        end,
                        rng.choice(("语文", "数学", "英语")),
                    )
                )
            if rng.random() < 0.95:
                late = first + timedelta(days=rng.choice((0, 0, 0, 14, 45)))
                proxy = rng.choice(pool)
                if end is None or late < end:
                    assignments.append(
                        Assignment(
                            f"A{len(assignments):06d}",
                            proxy.id,
                            child.id,
                            Role.PROXY_PARENT,
                            late,
                            end,
                        )
                    )
            if rng.random() < 0.9:
                pair = rng.choice(pool)
                assignments.append(
                    Assignment(
                        f"A{len(assignments):06d}", pair.id, child.id, Role.STAFF_PAIR, first, end
                    )
                )
        if kids:
            village = kids[0].village
            members = tuple(c.id for c in kids if c.village == village)
            guide = rng.choice(pool)
            groups.append(StudyGroup(f"G{school.id}", school.id, village, guide.id, members, start))
    return tuple(staff), tuple(assignments), tuple(groups)


def synthetic_records(
    book: DutyBook,
    period: Interval,
    as_of: date,
    *,
    seed: int = 2026,
    diligence: Mapping[str, float] | None = None,
) -> tuple[tuple[Record, ...], dict[str, float]]:
    """Records of the duties owed in ``period`` up to ``as_of``, each done with the owner's
    diligence (drawn between 0.55 and 0.99 unless given), on a day inside its window."""
    rng = random.Random(seed)
    chosen = dict(diligence or {})
    records: list[Record] = []
    for occ in book.occurrences(period, as_of):
        if occ.window.start > as_of:
            continue
        owners = sorted(occ.owners) or [occ.owner_id]
        owner = owners[0] if len(owners) == 1 else rng.choice(owners)
        p = chosen.setdefault(owner, rng.uniform(0.55, 0.99))
        if rng.random() >= p:
            continue
        last = min(occ.window.end or as_of, as_of + timedelta(days=1))
        span = (last - occ.window.start).days
        if span <= 0:
            continue
        on = occ.window.start + timedelta(days=rng.randrange(span))
        records.append(_record(rng, f"R{len(records) + 1:07d}", occ.kind, occ.child_id, owner, on))
    return tuple(records), chosen


def _record(rng: random.Random, rid: str, kind: str, child: str, owner: str, on: date) -> Record:
    details: StudyPlanDetails | HomeVisitDetails | None = None
    method = rng.choice((Method.IN_PERSON, Method.IN_PERSON, Method.PHONE, Method.VIDEO))
    if kind == "HOME_VISIT":
        method = Method.IN_PERSON
        details = HomeVisitDetails(
            guardian_met=rng.choice(_RELATIONS),
            living_conditions=rng.choice(("良好", "一般", "较困难")),
            behaviour_at_home="听话懂事",
            needs_found=rng.choice(("", "需要学习辅导", "需要心理关爱")),
            feedback="感谢学校关心",
            measures="安排结对帮扶",
            next_visit=on + timedelta(days=30),
        )
    elif kind == "STUDY_PLAN":
        details = StudyPlanDetails("每周三课后", rng.choice(("数学", "语文", "英语")), "查缺补漏")
    elif kind == "FAMILY_CONTACT":
        method = rng.choice((Method.PHONE, Method.VIDEO, Method.LETTER))
    return Record(
        rid,
        kind,
        child,
        owner,
        on,
        method,
        topic=rng.choice(_TOPICS),
        content=rng.choice(_CONTENTS),
        effect=rng.choice(_EFFECTS),
        details=details,
    )
