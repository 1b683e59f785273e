"""A synthetic county with a realistic shape, deterministic for a seed and a size.

Townships with a central primary school, village primary schools and a middle school; one rural
pupil in four or so served; absence spells broken by Spring Festival stays (most short enough to
be bridged, some not); orphans, abandoned and single-parent children; transfers and graduations.
The demo, the tests and the benchmarks use it. Every name, ID number and phone is invented; ID
numbers carry correct GB 11643 check digits.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from attrs import frozen

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

__all__ = ["SyntheticFacts", "resident_id", "synthetic_facts"]

TOWNSHIPS = ("廣平鎮", "平固店鎮", "勝營鎮", "南陽堡鎮", "十里鋪鎮", "南韓村鎮", "東張孟鄉")
_SURNAMES = "王李張劉陳楊趙黃周吳徐孫胡朱高林何郭馬羅梁宋鄭謝韓唐馮于董蕭程曹袁鄧許傅沈曾彭呂"
_GIVEN = "子涵浩宇欣怡梓萱宇軒雨桐佳怡一諾俊熙思琪嘉豪詩涵明輝曉東秀英建國志強麗娜紅梅小龍文博"
_PLACES = (
    "北京",
    "天津",
    "河北石家莊",
    "河北邯鄲",
    "山東濟南",
    "江蘇蘇州",
    "浙江杭州",
    "廣東深圳",
    "廣東東莞",
    "上海",
    "河南鄭州",
    "山西太原",
)
_RELATIONS = ("祖母", "祖父", "外祖母", "外祖父", "伯父", "姑母")
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
#: Spring Festival (春節) of the years the generator covers.
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
    total = sum(int(c) * w for c, w in zip(body, _WEIGHTS, strict=True))
    return body + "10X98765432"[total % 11]


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
            out.append((School(sid, f"{township}中心小學", township, rural=rural), range(1, 7)))
        elif i < pairs:
            out.append((School(sid, f"{township}中學", township, rural=True), range(7, 10)))
        else:
            village = rng.choice(("東", "西", "南", "北")) + rng.choice(_GIVEN) + "村"
            out.append((School(sid, f"{township}{village}小學", township), range(1, 7)))
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
        order = 2 * rng.randrange(500) + (1 if sex is Sex.MALE else 0)
        village = f"{school.township[:-1]}{rng.choice('東西南北')}{rng.choice(_GIVEN)}村"
        complete = rng.random() < 0.9
        kids.append(
            Child(
                id=f"C{n + 1:06d}",
                name=_name(rng),
                sex=sex,
                birth_date=birth,
                resident_id=resident_id("130432", birth, order) if complete else "",
                rural_hukou=rng.random() < 0.95,
                ethnicity="漢族" if rng.random() < 0.97 else "回族",
                village=village,
                address=f"廣平縣{village}",
                boarding=grade >= 7 and rng.random() < 0.4,
                enrolments=(
                    Enrolment(
                        school.id, since, grades.start, f"{rng.randrange(1, 4)}班", end, reason
                    ),
                ),
                father=father,
                mother=mother,
                guardian=Guardian(
                    _name(rng), rng.choice(_RELATIONS), _phone(rng), f"廣平縣{village}"
                ),
                abandoned_on=abandoned,
                health=rng.choice((Health.HEALTHY,) * 30 + (Health.ILL, Health.DISABLED)),
                health_note="",
                personality=rng.choice(("開朗", "內向", "活潑", "文靜", "")) if complete else "",
                hobbies=rng.choice(("畫畫", "籃球", "閱讀", "唱歌", "")) if complete else "",
            )
        )
    return SyntheticFacts("廣平縣", seed, as_of, tuple(s for s, _ in schools), tuple(kids))
