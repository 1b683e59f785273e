"""Building the county and school tables in one pass over the children, and the diff of two days.

The pass reads each child once: the enrolment and categories on the eve of the period and on
``as_of`` (for the dynamics), and, for a child served on ``as_of``, the breakdowns, the five
clears, the assignments holding that day and the duty tallies of the period. Counts go into one
:class:`collections.Counter` per school; subtotals are sums of school rows. No duty occurrence is
materialised: the tallies come from :attr:`LedgerFacts.duties` already counted.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date, timedelta
from itertools import chain

from attrs import frozen

from leftbehind.domain.dates import Interval, school_year_of
from leftbehind.domain.eligibility import Category, Timeline
from leftbehind.domain.errors import Issue, ValidationError
from leftbehind.domain.ledger_facts import DutyCount, LedgerFacts
from leftbehind.domain.ledger_move import Movement, entered_reason, left_reason
from leftbehind.domain.ledger_table import (
    CountyTable,
    LedgerInconsistencyError,
    RowKey,
    Stamp,
    primary_category,
    row_problems,
)
from leftbehind.domain.model import Child, Enrolment, School, Sex
from leftbehind.domain.people import Assignment, Role
from leftbehind.domain.profile import ProfileArea, profile_completeness

__all__ = [
    "LedgerDiff",
    "OverdueChild",
    "SchoolTable",
    "county_table",
    "diff",
    "duty_keys",
    "school_table",
    "school_tables",
    "stamp_of",
]

_CATEGORY = {c: f"category.{c.value}" for c in Category}
_PRIMARY = {c: f"primary.{c.value}" for c in Category}
_SEX = {s: f"sex.{s.value}" for s in Sex}
_GRADE = {g: f"grade.{g}" for g in range(1, 13)}
_CLEAR_KEYS = {
    areas: (
        *(f"clear.{a.value}" for a in ProfileArea if a in areas),
        *(("clear.all",) if len(areas) == len(ProfileArea) else ()),
    )
    for areas in (
        frozenset(a for i, a in enumerate(ProfileArea) if bits & (1 << i)) for bits in range(32)
    )
}
_HAS = {r: f"has.{r.value}" for r in (Role.CLASS_TEACHER, Role.PROXY_PARENT, Role.STAFF_PAIR)}
_STAFF = {r: f"staff.{r.value}" for r in (Role.PROXY_PARENT, Role.STAFF_PAIR)}


@frozen(order=True)
class OverdueChild:
    """A served child with overdue duties (逾期未完成): how many of each kind, by kind key."""

    class_name: str
    child_id: str
    overdue: tuple[tuple[str, int], ...]
    name: str = ""


@frozen
class SchoolTable:
    """动态状况表: one school's counts for the period as of a day, its movements and overdue list.

    ``counts`` has the columns of a county-table row; ``movements`` lists each child who entered
    or left (with the reason and the fact); ``overdue`` the children with overdue duties.
    """

    stamp: Stamp
    county: str
    school: School
    counts: dict[str, int]
    movements: tuple[Movement, ...] = ()
    overdue: tuple[OverdueChild, ...] = ()
    county_code: str = ""

    def check(self) -> SchoolTable:
        """Raise :class:`LedgerInconsistencyError` unless the row rules hold and the lists agree
        with the counts (each movement column, and the number of children with overdue duties)."""
        problems = row_problems(self.counts)
        listed = Counter(m.key for m in self.movements)
        counted = {k: v for k, v in self.counts.items() if k.startswith(("entered.", "left."))}
        if dict(listed) != counted:
            problems.append("the movements listed disagree with the entered/left counts")
        if len(self.overdue) != self.counts.get("overdue_children", 0):
            problems.append("the overdue list disagrees with overdue_children")
        if problems:
            raise LedgerInconsistencyError(problems, subject=f"school table {self.school.id}")
        return self


@frozen
class LedgerDiff:
    """Who entered and who left between ``before`` and ``after`` (动态对比), school by school."""

    before: date
    after: date
    movements: tuple[Movement, ...]

    @property
    def entered(self) -> tuple[Movement, ...]:
        return tuple(m for m in self.movements if m.entered)

    @property
    def left(self) -> tuple[Movement, ...]:
        return tuple(m for m in self.movements if not m.entered)

    def net(self) -> dict[str, int]:
        """Entered minus left, by school id (schools without movement are absent)."""
        out: Counter[str] = Counter()
        for m in self.movements:
            out[m.school_id] += 1 if m.entered else -1
        return {k: v for k, v in sorted(out.items()) if v}


def stamp_of(facts: LedgerFacts, as_of: date, period: Interval) -> Stamp:
    """The stamp of a table of ``facts`` as of a day (national policy named when it is used)."""
    national = facts.national_policy if facts.national else ""
    return Stamp(as_of, period, facts.policy, national)


class _Pass:
    """The counts, movements and overdue lists of one pass (a plain class: made per build)."""

    __slots__ = ("movements", "overdue", "rows")

    def __init__(self) -> None:
        self.rows: dict[str, Counter[str]] = {}
        self.movements: list[Movement] = []
        self.overdue: dict[str, list[OverdueChild]] = {}


def _unknown_school(i: int, enrolment_index: int) -> ValidationError:
    issue = Issue(f"children[{i}].enrolments[{enrolment_index}].school_id", "unknown_school", "")
    return ValidationError([issue], subject="ledger facts")


def _tallies(facts: LedgerFacts, period: Interval, as_of: date) -> dict[str, list[DutyCount]]:
    by_child: dict[str, list[DutyCount]] = {}
    for tally in facts.duties(period, as_of):
        by_child.setdefault(tally.child_id, []).append(tally)
    return by_child


def _duty_school(child: Child, as_of: date, now: Enrolment | None) -> Enrolment | None:
    if now is not None:
        return now
    began = [e for e in child.enrolments if e.start <= as_of]
    return max(began, key=lambda e: e.start) if began else None


Facts = LedgerFacts | Iterable[LedgerFacts]


def _parts(facts: Facts) -> tuple[LedgerFacts, Iterator[LedgerFacts]]:
    """The first part (whose schools, county and policies every part shares) and all parts."""
    if isinstance(facts, LedgerFacts):
        return facts, iter((facts,))
    it = iter(facts)
    head = next(it, None)
    if head is None:
        msg = "no ledger facts: give at least one part"
        raise ValueError(msg)
    return head, chain((head,), it)


def _same_county(head: LedgerFacts, part: LedgerFacts) -> None:
    if part is head:
        return
    if (part.county, part.county_code, part.policy, part.national_policy) != (
        head.county,
        head.county_code,
        head.policy,
        head.national_policy,
    ) or part.schools.keys() != head.schools.keys():
        msg = "the parts of ledger facts must share their county, policies and schools"
        raise ValueError(msg)


def _run(
    facts: Facts,
    as_of: date,
    period: Interval,
    *,
    opening_timelines: Mapping[str, Timeline] | None = None,
    only: str | None = None,
    lists: bool = True,
) -> tuple[LedgerFacts, _Pass]:
    """One pass over every child of ``facts`` (or of each of its parts in turn); without
    ``lists`` the movements and overdue children are counted but not listed."""
    head, parts = _parts(facts)
    stamp_of(head, as_of, period)  # validates the dates
    out = _Pass()
    schools = head.schools
    rows = out.rows
    for school_id in schools:
        if only is None or school_id == only:
            rows[school_id] = Counter()
    eve = period.start - timedelta(days=1)
    earlier = opening_timelines
    staff_seen: set[tuple[str, str, str]] = set()
    empty: frozenset[Category] = frozenset()
    keys_of: dict[frozenset[Category], tuple[str, ...]] = {}
    year = school_year_of(as_of)
    offset = 0
    for part in parts:
        _same_county(head, part)
        timelines, national = part.timelines, part.national
        tallies = _tallies(part, period, as_of)
        of_child = part.assignments.of_child
        for i, child in enumerate(part.children, start=offset):
            cid = child.id
            now = was = None
            for e in child.enrolments:
                start, end = e.start, e.end
                if start <= as_of and (end is None or as_of < end):
                    now = e
                if start <= eve and (end is None or eve < end):
                    was = e
                if e.school_id not in schools:
                    raise _unknown_school(i, child.enrolments.index(e))
            timeline = timelines.get(cid) or Timeline(cid, "", "")
            then = timeline if earlier is None else earlier.get(cid)
            cats = timeline.categories_on(as_of) if now is not None else empty
            cats_then = then.categories_on(eve) if then is not None and was is not None else empty
            sid = now.school_id if cats and now is not None else None
            sid_then = was.school_id if cats_then and was is not None else None
            if sid_then is not None and (only is None or sid_then == only):
                rows[sid_then]["opening"] += 1
                if sid != sid_then and was is not None:
                    m = left_reason(child, sid_then, eve, as_of, was, now, timeline, then)
                    if lists:
                        out.movements.append(m)
                    rows[sid_then][m.key] += 1
            if (
                sid is not None
                and sid != sid_then
                and now is not None
                and (only is None or sid == only)
            ):
                m = entered_reason(child, sid, eve, as_of, was, now, timeline, then)
                if lists:
                    out.movements.append(m)
                rows[sid][m.key] += 1
            mine = tallies.get(cid)
            if mine:
                duty_enrolment = _duty_school(child, as_of, now)
                if duty_enrolment is not None and (
                    only is None or duty_enrolment.school_id == only
                ):
                    row = rows[duty_enrolment.school_id]
                    _count_duties(out if lists else None, row, duty_enrolment, child, mine)
            if now is None or (only is not None and now.school_id != only):
                continue
            row = rows[now.school_id]
            row["enrolled"] += 1
            nt = national.get(cid)
            if nt is not None and nt.categories_on(as_of):
                row["national"] += 1
            if sid is None:
                continue
            keys = keys_of.get(cats)
            if keys is None:
                keys = keys_of[cats] = _served_keys(cats)
            for key in keys:
                row[key] += 1
            row[_SEX[child.sex]] += 1
            grade = now.grade + year - school_year_of(now.start)
            row[_GRADE.get(grade) or f"grade.{grade}"] += 1
            row["stage.primary" if grade <= 6 else "stage.junior"] += 1
            row["boarding.yes" if child.boarding else "boarding.no"] += 1
            for key in _CLEAR_KEYS[profile_completeness(child, as_of).complete]:
                row[key] += 1
            held = of_child(cid)
            if held:
                _count_care(row, sid, held, as_of, staff_seen)
        offset += len(part.children)
    for school_id, key, _ in staff_seen:
        rows[school_id][key] += 1
    return head, out


def _served_keys(cats: frozenset[Category]) -> tuple[str, ...]:
    return ("served", "closing", _PRIMARY[primary_category(cats)], *(_CATEGORY[c] for c in cats))


def _count_care(
    row: Counter[str],
    sid: str,
    held: Sequence[Assignment],
    as_of: date,
    staff_seen: set[tuple[str, str, str]],
) -> None:
    roles: set[Role] = set()
    for a in held:
        if a.start <= as_of and (a.end is None or as_of < a.end):
            roles.add(a.role)
            key = _STAFF.get(a.role)
            if key is not None:
                staff_seen.add((sid, key, a.staff_id))
    for role, key in _HAS.items():
        if role in roles:
            row[key] += 1


_DUTY_KEYS: dict[str, tuple[str, str, str]] = {}


def duty_keys(kind: str) -> tuple[str, str, str]:
    """The ledger columns of a duty kind code: ``due.talk``, ``done.talk``, ``overdue.talk``."""
    keys = _DUTY_KEYS.get(kind)
    if keys is None:
        low = kind.lower()
        keys = _DUTY_KEYS[kind] = (f"due.{low}", f"done.{low}", f"overdue.{low}")
    return keys


def _count_duties(
    out: _Pass | None,
    row: Counter[str],
    enrolment: Enrolment,
    child: Child,
    tallies: list[DutyCount],
) -> None:
    overdue: Counter[str] = Counter()
    for t in tallies:
        keys = _DUTY_KEYS.get(t.kind) or duty_keys(t.kind)
        row[keys[0]] += t.due
        row[keys[1]] += t.done
        if t.overdue:
            row[keys[2]] += t.overdue
            overdue[t.kind] += t.overdue
    if overdue:
        row["overdue_children"] += 1
        if out is None:
            return
        kinds = tuple(sorted(overdue.items()))
        entry = OverdueChild(enrolment.class_name, child.id, kinds, child.name)
        out.overdue.setdefault(enrolment.school_id, []).append(entry)


def county_table(
    facts: Facts,
    *,
    as_of: date,
    period: Interval,
    opening_timelines: Mapping[str, Timeline] | None = None,
) -> CountyTable:
    """信息汇总表 of ``facts`` as of ``as_of``, with the dynamics since ``period.start``.

    ``facts`` is one :class:`LedgerFacts`, or an iterable of parts of one county's facts (pages
    of its children, each child in exactly one part, every part with the same schools, county
    and policies): a county too big to hold at once is counted part by part, and only the
    counts are kept between parts. ``opening_timelines`` are the timelines that held on the eve
    of the period when the county changed its policy during it (movements it explains are
    reasons 政策调整). The table is checked before it is returned.
    """
    head, run = _run(facts, as_of, period, opening_timelines=opening_timelines, lists=False)
    county = head.county
    rows: dict[RowKey, Counter[str]] = {}
    names: dict[RowKey, str] = {}
    for sid, counts in run.rows.items():
        school = head.schools[sid]
        rows[(county, school.township, sid)] = counts
        names[(county, school.township, sid)] = school.name
        for key in ((county, school.township), (county,), ()):
            rows.setdefault(key, Counter()).update(counts)
    codes = {county: head.county_code} if head.county_code else {}
    return CountyTable(stamp_of(head, as_of, period), rows, names, codes).check()


def school_tables(
    facts: Facts,
    *,
    as_of: date,
    period: Interval,
    opening_timelines: Mapping[str, Timeline] | None = None,
    only: str | None = None,
) -> dict[str, SchoolTable]:
    """动态状况表 of every school (or only the school ``only``), each checked; ``facts`` as
    for :func:`county_table`."""
    head, run = _run(facts, as_of, period, opening_timelines=opening_timelines, only=only)
    stamp = stamp_of(head, as_of, period)
    moves: dict[str, list[Movement]] = {}
    for m in run.movements:
        moves.setdefault(m.school_id, []).append(m)
    return {
        sid: SchoolTable(
            stamp,
            head.county,
            head.schools[sid],
            dict(sorted((k, v) for k, v in counts.items() if v)),
            tuple(sorted(moves.get(sid, ()), key=_movement_order)),
            tuple(sorted(run.overdue.get(sid, ()))),
            head.county_code,
        ).check()
        for sid, counts in sorted(run.rows.items())
    }


def school_table(
    facts: Facts,
    school_id: str,
    *,
    as_of: date,
    period: Interval,
    opening_timelines: Mapping[str, Timeline] | None = None,
) -> SchoolTable:
    """动态状况表 of one school (a pass that counts only that school's children); ``facts``
    as for :func:`county_table` (parts need hold only the children ever enrolled there)."""
    head, parts = _parts(facts)
    if school_id not in head.schools:
        msg = f"no school with id {school_id!r}"
        raise KeyError(msg)
    tables = school_tables(
        parts, as_of=as_of, period=period, opening_timelines=opening_timelines, only=school_id
    )
    return tables[school_id]


def _movement_order(m: Movement) -> tuple[bool, str, str]:
    return (not m.entered, m.reason.value, m.child_id)


def diff(
    facts: LedgerFacts,
    before: date,
    after: date,
    *,
    earlier: Mapping[str, Timeline] | None = None,
) -> LedgerDiff:
    """Who entered and who left between the day ``before`` and the day ``after`` (``before <=
    after``), with the reason and the fact; ``earlier`` are the timelines that held on ``before``
    if the policy changed in between.

    It agrees with the tables: a school's served count on ``after`` is its count on ``before``
    plus its entered minus its left.
    """
    if after < before:
        msg = "diff needs before <= after"
        raise ValueError(msg)
    if before == after:
        return LedgerDiff(before, after, ())
    period = Interval(before + timedelta(days=1), after + timedelta(days=1))
    _, run = _run(facts, after, period, opening_timelines=earlier)
    return LedgerDiff(before, after, tuple(sorted(run.movements, key=_diff_order)))


def _diff_order(m: Movement) -> tuple[str, bool, str, str]:
    return (m.school_id, not m.entered, m.reason.value, m.child_id)
