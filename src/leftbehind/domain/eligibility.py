"""Who is served (工作對象): categories over time, derived from dated facts by a named policy.

A policy turns one child's facts into a :class:`Timeline`: for each category, the half-open
intervals during which it holds, each with its reasons. Everything else is read off the timeline:
the :class:`Decision` as of a date, the next change after a date, and the facts that are missing.
"""

from __future__ import annotations

import enum
from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping
from datetime import date
from functools import lru_cache
from typing import Protocol, runtime_checkable

from attrs import field, frozen

from leftbehind.domain.dates import Interval, add_months, merge_intervals
from leftbehind.domain.i18n import text
from leftbehind.domain.model import Absence, Child, Parent, ParentRole, School

__all__ = [
    "Category",
    "Change",
    "Decision",
    "NationalPolicy",
    "PlanPolicy",
    "Policy",
    "Reason",
    "Span",
    "Timeline",
]


class Category(enum.Enum):
    """The five categories of children the action serves. A child may be in several at once."""

    LEFT_BEHIND_BOTH = "left_behind_both"
    LEFT_BEHIND_ONE = "left_behind_one"
    ORPHAN = "orphan"
    ABANDONED = "abandoned"
    SINGLE_PARENT = "single_parent"

    @property
    def label(self) -> str:
        """The name used in ledgers (雙親外出留守 …), in the language of the moment."""
        return text(f"category.{self.value}")

    @property
    def left_behind(self) -> bool:
        return self in (Category.LEFT_BEHIND_BOTH, Category.LEFT_BEHIND_ONE)


@frozen
class Reason:
    """Why a category holds: a stable ``code`` (``mother_away``, ``father_deceased``,
    ``abandoned`` …), the fact's date, and for a spell away its place and the months it took.

    :attr:`text` says it in the language of the moment, naming relations and dates, never a
    person's name or phone.
    """

    code: str
    since: date | None = None
    place: str = ""
    months: int = 0
    assumed: bool = False

    @property
    def text(self) -> str:
        """The reason for people: ``母亲自2024-02-03外出务工（山东济南），已满3个月``; for a spell
        whose start was assumed (:attr:`~leftbehind.domain.model.Absence.start_assumed`),
        that it counts from the registration form's day."""
        if self.code == "abandoned":
            return text("reason.abandoned")
        role, _, state = self.code.partition("_")
        parent = text(f"parent.{role}")
        if state == "away":
            place = text("reason.place", place=self.place) if self.place else ""
            since = self.since.isoformat() if self.since else ""
            if self.assumed:
                return text("reason.away_assumed", parent=parent, since=since, place=place)
            return text("reason.away", parent=parent, since=since, place=place, months=self.months)
        return text("reason.state", parent=parent, state=text(f"state.{state}"))


def _reasons(items: Iterable[Reason]) -> tuple[Reason, ...]:
    return tuple(items)


def _spans(items: Iterable[Span]) -> tuple[Span, ...]:
    return tuple(items)


def _strings(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(items)


@frozen
class Span:
    """One interval during which ``category`` holds, with the reasons at its start."""

    start: date
    end: date | None
    category: Category
    reasons: tuple[Reason, ...] = field(default=(), converter=_reasons)

    @property
    def interval(self) -> Interval:
        return Interval(self.start, self.end)


@frozen
class Decision:
    """The categories of one child on one day, why, and by which policy."""

    child_id: str
    as_of: date
    categories: frozenset[Category]
    reasons: tuple[Reason, ...]
    policy: str
    version: str
    missing: tuple[str, ...] = ()

    @property
    def served(self) -> bool:
        """Whether the child is in at least one category on ``as_of``."""
        return bool(self.categories)


@frozen
class Change:
    """A day on which a child's categories change: what starts and what ends."""

    on: date
    started: frozenset[Category]
    ended: frozenset[Category]

    def describe(self) -> str:
        """``自2026-05-10起符合（双亲外出留守）`` and the like, in the language of the moment."""
        parts = []
        comma = text("list.and")
        for key, which in (("change.started", self.started), ("change.ended", self.ended)):
            if which:
                names = comma.join(sorted(c.label for c in which))
                parts.append(text(key, on=self.on.isoformat(), names=names))
        return "; ".join(parts)


@frozen
class Timeline:
    """A child's category spans under one policy (name and version), and the facts it lacked.

    ``spans`` are sorted by start (then category); spans of one category never overlap or touch.
    Lookups (``decision``, ``categories_on``, ``next_change``) bisect an index of the change days
    that is built on first use and never stored.
    """

    child_id: str
    policy: str
    version: str
    spans: tuple[Span, ...] = field(default=(), converter=_spans)
    missing: tuple[str, ...] = field(default=(), converter=_strings)
    _index: _Index | None = field(
        default=None, init=False, repr=False, eq=False, hash=False, alias="_index"
    )

    def _lookup(self) -> _Index:
        index = self._index
        if index is None:
            index = _build_index(self.spans)
            object.__setattr__(self, "_index", index)
        return index

    def _region(self, d: date) -> _Region:
        spans = self.spans
        if not spans:
            return _NOTHING
        if len(spans) == 1:  # most timelines: no index needed
            s = spans[0]
            if s.start <= d and (s.end is None or d < s.end):
                return _ALONE[s.category], s.reasons, spans
            return _NOTHING
        days, regions = self._lookup()
        return regions[bisect_right(days, d)]

    def categories_on(self, d: date) -> frozenset[Category]:
        """The categories that hold on day ``d``."""
        return self._region(d)[0]

    def spans_on(self, d: date) -> tuple[Span, ...]:
        """The spans that hold on day ``d``, in the order of :attr:`spans`."""
        return self._region(d)[2]

    def decision(self, d: date) -> Decision:
        """The decision as of ``d``: a lookup in the spans."""
        categories, reasons, _ = self._region(d)
        return Decision(
            self.child_id, d, categories, reasons, self.policy, self.version, self.missing
        )

    def known_on(self, day: date) -> Timeline:
        """The timeline as it stood on ``day`` (SPEC §9, "as of"): the spans begun by then, a
        span ending later still going on; itself when nothing begins or ends after ``day``."""
        spans = self.spans
        if all(s.start <= day and (s.end is None or s.end <= day) for s in spans):
            return self
        return Timeline(
            self.child_id,
            self.policy,
            self.version,
            tuple(
                s if s.end is None or s.end <= day else Span(s.start, None, s.category, s.reasons)
                for s in spans
                if s.start <= day
            ),
            self.missing,
        )

    def served_intervals(self) -> list[Interval]:
        """The days on which the child is in any category, merged."""
        return merge_intervals(s.interval for s in self.spans)

    def change_days(self) -> list[date]:
        """Every day on which some category starts or ends, sorted."""
        return list(self._lookup()[0])

    def next_change(self, after: date) -> Change | None:
        """The first change strictly after ``after``, or ``None`` if nothing changes later."""
        days, regions = self._lookup()
        i = bisect_right(days, after)
        if i == len(days):
            return None
        before, now = regions[i][0], regions[i + 1][0]
        return Change(on=days[i], started=now - before, ended=before - now)

    def changes(self, start: date, end: date) -> list[Change]:
        """Every change on a day in ``[start, end)``."""
        out = []
        cursor = add_days(start, -1)
        while (change := self.next_change(cursor)) is not None and change.on < end:
            out.append(change)
            cursor = change.on
        return out


_Region = tuple[frozenset[Category], tuple[Reason, ...], tuple[Span, ...]]
_Index = tuple[tuple[date, ...], tuple[_Region, ...]]
_NOTHING: _Region = (frozenset(), (), ())
_ALONE = {c: frozenset((c,)) for c in Category}


def _build_index(spans: tuple[Span, ...]) -> _Index:
    """The change days and, for each run of days between them, what holds.

    ``regions[i]`` holds on the days ``d`` with ``bisect_right(days, d) == i``.
    """
    if not spans:
        return (), (_NOTHING,)
    points = {s.start for s in spans}
    points.update(s.end for s in spans if s.end is not None)
    days = tuple(sorted(points))
    regions: list[_Region] = [_NOTHING]
    for day in days:
        holding = tuple(s for s in spans if s.start <= day and (s.end is None or day < s.end))
        reasons: list[Reason] = []
        for span in holding:
            reasons.extend(r for r in span.reasons if r not in reasons)
        regions.append((frozenset(s.category for s in holding), tuple(reasons), holding))
    return days, tuple(regions)


def add_days(d: date, n: int) -> date:
    return date.fromordinal(d.toordinal() + n)


@runtime_checkable
class Policy(Protocol):
    """An eligibility rule: a name and version, and a function from facts to a timeline."""

    @property
    def name(self) -> str: ...

    @property
    def version(self) -> str: ...

    def timeline(self, child: Child, schools: Mapping[str, School]) -> Timeline:
        """Derive the child's timeline; ``schools`` maps school ids to schools."""
        ...


# ---------------------------------------------------------------------------------------------
# The shared machinery. Facts are prepared once per child into plain tuples; categories are then
# evaluated on each day where some fact changes (a "segment" runs to the next such day), and
# reasons are made only where a span starts. Open ends are ``_OPEN`` inside this module.

_OPEN = date.max
_FATHER, _MOTHER = ParentRole.FATHER, ParentRole.MOTHER


class _ParentFacts:
    """One parent's facts prepared for a timeline (a plain slotted class: made per child).

    ``qualifying`` holds ``(from, until, spell start, place, start assumed)``: the days on which
    being away counts (``until`` is ``_OPEN`` for an open spell), already cut at death or
    disappearance; a spell whose start was assumed counts from that start.
    ``gone`` is the first day the parent is deceased or missing, ``out`` the first day the parent
    is out of the family (gone, divorced out, or ``date.min`` when unknown); ``_OPEN`` if never.
    """

    __slots__ = ("gone", "out", "parent", "qualifying", "role", "who")

    def __init__(
        self,
        role: ParentRole,
        parent: Parent,
        qualifying: list[tuple[date, date, date, str, bool]],
        gone: date,
        out: date,
    ) -> None:
        self.role = role
        self.who: str = role._value_  # a cache key: a str hashes faster than an enum member
        self.parent = parent
        self.qualifying = qualifying
        self.gone = gone
        self.out = out

    def away_on(self, day: date) -> tuple[date, date, date, str, bool] | None:
        for q in self.qualifying:
            if q[0] <= day < q[1]:
                return q
        return None


def _spells(absences: tuple[Absence, ...], bridge_days: int) -> list[tuple[date, date]]:
    """Absence spells merged across home stays of at most ``bridge_days`` (see merge_intervals)."""
    ordered = sorted(
        (a.start, _OPEN if a.end is None else a.end)
        for a in absences
        if a.end is None or a.start < a.end
    )
    merged: list[tuple[date, date]] = []
    for start, end in ordered:
        if merged:
            last_start, last_end = merged[-1]
            if last_end is _OPEN or last_end == _OPEN:
                break
            if (start - last_end).days <= bridge_days:
                if end > last_end:
                    merged[-1] = (last_start, end)
                continue
        merged.append((start, end))
    return merged


def _plus_months(d: date, months: int) -> date:
    try:
        return add_months(d, months)
    except (ValueError, OverflowError):  # beyond year 9999: never
        return _OPEN


def _prepare(role: ParentRole, parent: Parent, min_months: int, bridge_days: int) -> _ParentFacts:
    gone = _OPEN
    deceased, missing = parent.deceased_on, parent.missing_since
    if deceased is not None:
        gone = deceased
    if missing is not None and missing < gone:
        gone = missing
    out = gone if parent.known else date.min
    divorced = parent.divorced_out_on
    if divorced is not None and divorced < out:
        out = divorced
    qualifying: list[tuple[date, date, date, str, bool]] = []
    absences = parent.absences
    if len(absences) == 1:  # the common case, without sorting and merging
        a = absences[0]
        end = _OPEN if a.end is None else a.end
        begins = a.start if a.start_assumed else _plus_months(a.start, min_months)
        until = end if end < gone else gone
        if begins < until:
            qualifying.append((begins, until, a.start, a.place, a.start_assumed))
    elif absences:
        assumed = {a.start for a in absences if a.start_assumed}
        for start, end in _spells(absences, bridge_days):
            counted = start in assumed
            begins = start if counted else _plus_months(start, min_months)
            until = end if end < gone else gone
            if begins < until:
                place = next((a.place for a in absences if a.place and start <= a.start < end), "")
                qualifying.append((begins, until, start, place, counted))
    return _ParentFacts(role, parent, qualifying, gone, out)


@lru_cache(maxsize=65536)
def _away_reason(
    who: str, spell_start: date, place: str, min_months: int, assumed: bool = False
) -> Reason:
    if assumed:
        return Reason(f"{who}_away", spell_start, place, 0, assumed=True)
    return Reason(f"{who}_away", spell_start, place, min_months)


@lru_cache(maxsize=65536)
def _state_reason(who: str, state: str, since: date | None) -> Reason:
    return Reason(f"{who}_{state}", since)


@lru_cache(maxsize=65536)
def _abandoned_reason(since: date | None) -> Reason:
    return Reason("abandoned", since)


def _on(d: date | None, day: date) -> bool:
    return d is not None and d <= day


def _gone_reason(f: _ParentFacts, day: date) -> Reason | None:
    p = f.parent
    if _on(p.deceased_on, day):
        return _state_reason(f.who, "deceased", p.deceased_on)
    if _on(p.missing_since, day):
        return _state_reason(f.who, "missing", p.missing_since)
    return None


def _out_reason(f: _ParentFacts, day: date) -> Reason | None:
    gone = _gone_reason(f, day)
    if gone is not None:
        return gone
    p = f.parent
    if _on(p.divorced_out_on, day):
        return _state_reason(f.who, "divorced_out", p.divorced_out_on)
    if not p.known:
        return _state_reason(f.who, "unknown", None)
    return None


def _away_reason_on(f: _ParentFacts, day: date, min_months: int) -> Reason | None:
    q = f.away_on(day)
    return None if q is None else _away_reason(f.who, q[2], q[3], min_months, q[4])


def _boundaries(facts: Iterable[_ParentFacts], abandoned_on: date | None) -> list[date]:
    days: set[date] = set()
    for f in facts:
        for q in f.qualifying:
            days.add(q[0])
            days.add(q[1])
        p = f.parent
        for d in (p.deceased_on, p.missing_since, p.divorced_out_on, p.no_capacity_since):
            if d is not None:
                days.add(d)
    if abandoned_on is not None:
        days.add(abandoned_on)
    return sorted(days)


_Cats = tuple[Category, ...]


def _runs(
    scope: list[tuple[date, date]],
    cuts: list[date],
    categories_on: Callable[[date], _Cats],
) -> list[tuple[date, date, Category]]:
    """The maximal runs ``(start, end, category)`` within each scope interval."""
    runs: list[tuple[date, date, Category]] = []
    n = len(cuts)
    for lo, hi in scope:
        opened: list[tuple[Category, date]] = []  # a list: hashing enum members is slow
        previous: _Cats = ()
        i = bisect_right(cuts, lo)
        day = lo
        while True:
            cats = categories_on(day)
            if cats != previous:
                still: list[tuple[Category, date]] = []
                for cat, start in opened:
                    if cat in cats:
                        still.append((cat, start))
                    else:
                        runs.append((start, day, cat))
                for cat in cats:
                    if cat not in previous:
                        still.append((cat, day))
                opened, previous = still, cats
            if i < n and cuts[i] < hi:
                day = cuts[i]
                i += 1
            else:
                break
        runs.extend((start, hi, cat) for cat, start in opened)
    return runs


def _parents(
    child: Child, min_months: int, bridge_days: int
) -> tuple[list[_ParentFacts], list[str]]:
    facts: list[_ParentFacts] = []
    missing: list[str] = []
    for role, parent in ((_FATHER, child.father), (_MOTHER, child.mother)):
        if parent is None:
            missing.append(role.value)
        else:
            facts.append(_prepare(role, parent, min_months, bridge_days))
    return facts, missing


def _school_scope(
    child: Child, schools: Mapping[str, School], *, rural_only: bool
) -> tuple[list[tuple[date, date]], list[str]]:
    enrolments = child.enrolments
    if len(enrolments) == 1:  # the common case
        e = enrolments[0]
        school = schools.get(e.school_id)
        if school is None:
            return [], ["enrolments[0].school_id"]
        end = _OPEN if e.end is None else e.end
        if (rural_only and not school.rural) or not e.start < end:
            return [], []
        return [(e.start, end)], []
    intervals: list[tuple[date, date]] = []
    missing: list[str] = []
    for i, enrolment in enumerate(enrolments):
        school = schools.get(enrolment.school_id)
        if school is None:
            missing.append(f"enrolments[{i}].school_id")
            continue
        if rural_only and not school.rural:
            continue
        end = _OPEN if enrolment.end is None else enrolment.end
        if enrolment.start < end:
            intervals.append((enrolment.start, end))
    if len(intervals) > 1:
        intervals = _spells_of(intervals)
    return intervals, missing


def _spells_of(intervals: list[tuple[date, date]]) -> list[tuple[date, date]]:
    """Merge touching or overlapping intervals."""
    merged: list[tuple[date, date]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
            continue
        merged.append((start, end))
    return merged


def _clip(intervals: list[tuple[date, date]], lo: date, hi: date) -> Iterable[tuple[date, date]]:
    for start, end in intervals:
        start, end = max(start, lo), min(end, hi)
        if start < end:
            yield start, end


def _unknown_schools(child: Child, schools: Mapping[str, School]) -> tuple[str, ...]:
    enrolments = child.enrolments
    if len(enrolments) == 1 and enrolments[0].school_id in schools:
        return ()
    return tuple(
        f"enrolments[{i}].school_id" for i, e in enumerate(enrolments) if e.school_id not in schools
    )


def _settled(parent: Parent | None) -> bool:
    """A recorded, known parent at home throughout: no spell, death, disappearance or divorce."""
    return (
        parent is not None
        and parent.known
        and not parent.absences
        and parent.deceased_on is None
        and parent.missing_since is None
        and parent.divorced_out_on is None
    )


def _span_order(span: Span) -> tuple[date, str]:
    return span.start, span.category._value_


def _make_timeline(
    child: Child,
    policy: PlanPolicy | NationalPolicy,
    runs: list[tuple[date, date, Category]],
    reasons: Callable[[Category, date], tuple[Reason, ...]],
    missing: list[str],
) -> Timeline:
    spans = [
        Span(start, None if end is _OPEN or end == _OPEN else end, cat, reasons(cat, start))
        for start, end, cat in runs
    ]
    if len(spans) > 1:
        spans.sort(key=_span_order)
    return Timeline(child.id, policy.name, policy.version, spans, missing)


# ---------------------------------------------------------------------------------------------
# The plan's rule.


@frozen
class PlanPolicy:
    """The Guangping plan's rule (SPEC §2), the default.

    Pupils of rural schools whose both parents, or one parent, have been away working for
    ``min_months`` calendar months (a home stay of at most ``bridge_days`` between two spells does
    not break continuity; 0 is the strict reading), orphans, abandoned children and children of
    single-parent families.
    """

    min_months: int = 3
    bridge_days: int = 31
    name: str = "guangping-plan"
    version: str = "2"

    def timeline(self, child: Child, schools: Mapping[str, School]) -> Timeline:
        if child.abandoned_on is None and _settled(child.father) and _settled(child.mother):
            return Timeline(child.id, self.name, self.version, (), _unknown_schools(child, schools))
        scope, missing = _school_scope(child, schools, rural_only=True)
        facts, missing_parents = _parents(child, self.min_months, self.bridge_days)
        missing += missing_parents
        # Neither parent known (不詳): nothing tells a single-parent family from any other.
        unknown = not missing_parents and not any(f.parent.known for f in facts)
        if unknown:
            missing += [f"{f.who}.known" for f in facts]
        if not scope:
            return Timeline(child.id, self.name, self.version, (), missing)
        abandoned = child.abandoned_on
        min_months = self.min_months

        def categories_on(day: date) -> _Cats:
            cats: list[Category] = []
            if abandoned is not None and abandoned <= day:
                cats.append(_ABANDONED)
            if missing_parents or unknown:
                return tuple(cats)
            father, mother = facts
            if father.gone <= day and mother.gone <= day:
                cats.append(_ORPHAN)
                return tuple(cats)
            if father.out <= day or mother.out <= day:
                cats.append(_SINGLE)
            away_f = day < father.out and father.away_on(day) is not None
            away_m = day < mother.out and mother.away_on(day) is not None
            if away_f and away_m:
                cats.append(_BOTH)
            elif away_f or away_m:
                cats.append(_ONE)
            return tuple(cats)

        def reasons(cat: Category, day: date) -> tuple[Reason, ...]:
            if cat is _ABANDONED:
                return (_abandoned_reason(abandoned),)
            if cat is _ORPHAN:
                return tuple(r for f in facts if (r := _gone_reason(f, day)) is not None)
            if cat is _SINGLE:
                return tuple(r for f in facts if (r := _out_reason(f, day)) is not None)
            away: list[Reason] = []
            for f in facts:
                if day < f.out and (q := f.away_on(day)) is not None:
                    away.append(_away_reason(f.who, q[2], q[3], min_months, q[4]))
            return tuple(away)

        runs = _runs(scope, _boundaries(facts, abandoned), categories_on)
        return _make_timeline(child, self, runs, reasons, missing)


# ---------------------------------------------------------------------------------------------
# The national rule of 2016.


@frozen
class NationalPolicy:
    """The State Council's 2016 opinion (國發〔2016〕13號), for reconciling with civil affairs.

    Minors under ``max_age`` with a rural household registration (農村戶籍) whose both parents are
    away working, or one away and the other without guardianship capacity (recorded so, or
    deceased, or missing: a parent who is not there cannot be the guardian). Being away counts
    after ``min_months`` continuous calendar months (no bridging by default). Only left-behind
    categories are assigned.
    """

    min_months: int = 3
    bridge_days: int = 0
    max_age: int = 16
    name: str = "national-2016"
    version: str = "2"

    def timeline(self, child: Child, schools: Mapping[str, School]) -> Timeline:
        if not child.rural_hukou:
            return Timeline(child.id, self.name, self.version, (), ())
        enrolled, missing = _school_scope(child, schools, rural_only=False)
        born = child.birth_date
        cutoff = _plus_months(born, 12 * self.max_age)
        scope = [
            (max(lo, born), min(hi, cutoff))
            for lo, hi in enrolled
            if max(lo, born) < min(hi, cutoff)
        ]
        facts, missing_parents = _parents(child, self.min_months, self.bridge_days)
        missing += missing_parents
        if missing_parents or not scope:
            return Timeline(child.id, self.name, self.version, (), missing)
        father, mother = facts
        min_months = self.min_months

        def categories_on(day: date) -> _Cats:
            away_f = father.away_on(day) is not None
            away_m = mother.away_on(day) is not None
            if away_f and away_m:
                return (_BOTH,)
            if away_f or away_m:
                other = mother if away_f else father
                if _without_capacity(other, day):
                    return (_ONE,)
            return ()

        def reasons(cat: Category, day: date) -> tuple[Reason, ...]:
            away = [r for f in facts if (r := _away_reason_on(f, day, min_months)) is not None]
            if cat is _BOTH:
                return tuple(away)
            other = mother if father.away_on(day) is not None else father
            gone = _gone_reason(other, day)
            if gone is not None:
                return (*away, gone)
            capacity = _state_reason(other.who, "no_capacity", other.parent.no_capacity_since)
            return (*away, capacity)

        runs = _runs(scope, _boundaries(facts, None), categories_on)
        return _make_timeline(child, self, runs, reasons, missing)


def _without_capacity(f: _ParentFacts, day: date) -> bool:
    """The 2016 opinion's "the other without guardianship capacity" (無監護能力): recorded so,
    or deceased, or missing (a parent who is not there cannot be the guardian)."""
    return f.gone <= day or _on(f.parent.no_capacity_since, day)


_BOTH, _ONE = Category.LEFT_BEHIND_BOTH, Category.LEFT_BEHIND_ONE
_ORPHAN, _ABANDONED, _SINGLE = Category.ORPHAN, Category.ABANDONED, Category.SINGLE_PARENT
