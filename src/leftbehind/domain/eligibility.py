"""Who is served (工作對象): categories over time, derived from dated facts by a named policy.

A policy turns one child's facts into a :class:`Timeline`: for each category, the half-open
intervals during which it holds, each with its reasons. Everything else is read off the timeline:
the :class:`Decision` as of a date, the next change after a date, and the facts that are missing.
"""

from __future__ import annotations

import enum
from bisect import bisect_right
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Protocol, runtime_checkable

from attrs import field, frozen

from leftbehind.domain.dates import Interval, add_months, merge_intervals
from leftbehind.domain.model import Child, Parent, ParentRole, School

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
        """The Chinese name used in ledgers."""
        return _LABELS[self]

    @property
    def left_behind(self) -> bool:
        return self in (Category.LEFT_BEHIND_BOTH, Category.LEFT_BEHIND_ONE)


_LABELS = {
    Category.LEFT_BEHIND_BOTH: "雙親外出留守",
    Category.LEFT_BEHIND_ONE: "單親外出留守",
    Category.ORPHAN: "孤兒",
    Category.ABANDONED: "棄兒",
    Category.SINGLE_PARENT: "單親家庭",
}


@frozen
class Reason:
    """Why a category holds: a stable ``code``, a Chinese ``text`` for people, and the fact's date.

    Reasons name relations and dates, never a person's name or phone.
    """

    code: str
    text: str
    since: date | None = None


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
        """``"eligible from 2026-05-10 (雙親外出留守)"`` and the like."""
        parts = []
        if self.started:
            names = "、".join(sorted(c.label for c in self.started))
            parts.append(f"eligible from {self.on.isoformat()} ({names})")
        if self.ended:
            names = "、".join(sorted(c.label for c in self.ended))
            parts.append(f"ends on {self.on.isoformat()} ({names})")
        return "; ".join(parts)


@frozen
class Timeline:
    """A child's category spans under one policy (name and version), and the facts it lacked.

    ``spans`` are sorted by start; spans of one category never overlap or touch.
    """

    child_id: str
    policy: str
    version: str
    spans: tuple[Span, ...] = field(default=(), converter=_spans)
    missing: tuple[str, ...] = field(default=(), converter=_strings)

    def categories_on(self, d: date) -> frozenset[Category]:
        """The categories that hold on day ``d``."""
        return frozenset(
            s.category for s in self.spans if s.start <= d and (s.end is None or d < s.end)
        )

    def spans_on(self, d: date) -> tuple[Span, ...]:
        return tuple(s for s in self.spans if s.start <= d and (s.end is None or d < s.end))

    def decision(self, d: date) -> Decision:
        """The decision as of ``d``: a lookup in the spans."""
        spans = self.spans_on(d)
        reasons: list[Reason] = []
        for span in spans:
            reasons.extend(r for r in span.reasons if r not in reasons)
        return Decision(
            child_id=self.child_id,
            as_of=d,
            categories=frozenset(s.category for s in spans),
            reasons=tuple(reasons),
            policy=self.policy,
            version=self.version,
            missing=self.missing,
        )

    def served_intervals(self) -> list[Interval]:
        """The days on which the child is in any category, merged."""
        return merge_intervals(s.interval for s in self.spans)

    def change_days(self) -> list[date]:
        """Every day on which some category starts or ends, sorted."""
        days = {s.start for s in self.spans} | {s.end for s in self.spans if s.end is not None}
        return sorted(days)

    def next_change(self, after: date) -> Change | None:
        """The first change strictly after ``after``, or ``None`` if nothing changes later."""
        days = self.change_days()
        i = bisect_right(days, after)
        if i == len(days):
            return None
        on = days[i]
        started = frozenset(s.category for s in self.spans if s.start == on)
        ended = frozenset(s.category for s in self.spans if s.end == on)
        return Change(on=on, started=started - ended, ended=ended - started)

    def changes(self, start: date, end: date) -> list[Change]:
        """Every change on a day in ``[start, end)``."""
        out = []
        cursor = add_days(start, -1)
        while (change := self.next_change(cursor)) is not None and change.on < end:
            out.append(change)
            cursor = change.on
        return out


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
# The shared machinery: parent states as of a day, evaluated on every boundary day.


@frozen
class _ParentFacts:
    """A parent's facts prepared once per timeline: qualifying away intervals and dated states."""

    role: ParentRole
    parent: Parent
    qualifying: tuple[tuple[Interval, date], ...]  # (interval when away counts, spell start)
    places: tuple[str, ...]

    def qualified_on(self, d: date) -> date | None:
        """The start of the qualifying spell covering ``d``, if any."""
        for interval, spell_start in self.qualifying:
            if interval.contains(d):
                return spell_start
        return None


def _prepare(role: ParentRole, parent: Parent, min_months: int, bridge_days: int) -> _ParentFacts:
    stops = [x for x in (parent.deceased_on, parent.missing_since) if x is not None]
    stop = min(stops) if stops else None
    spells = merge_intervals((a.interval for a in parent.absences), bridge_days=bridge_days)
    qualifying: list[tuple[Interval, date]] = []
    places: list[str] = []
    for spell in spells:
        begins = add_months(spell.start, min_months)
        end = spell.end
        if stop is not None and (end is None or stop < end):
            end = stop
        if end is None or begins < end:
            qualifying.append((Interval(begins, end), spell.start))
            places.append(
                next((a.place for a in parent.absences if spell.contains(a.start) and a.place), "")
            )
    return _ParentFacts(role, parent, tuple(qualifying), tuple(places))


def _on(d: date | None, day: date) -> bool:
    return d is not None and d <= day


def _gone(p: Parent, day: date) -> Reason | None:
    label = "{}"
    if _on(p.deceased_on, day):
        return Reason("parent_deceased", label + "去世", p.deceased_on)
    if _on(p.missing_since, day):
        return Reason("parent_missing", label + "失蹤", p.missing_since)
    return None


def _out(p: Parent, day: date) -> Reason | None:
    gone = _gone(p, day)
    if gone is not None:
        return gone
    if _on(p.divorced_out_on, day):
        return Reason("parent_divorced_out", "{}離異不在戶", p.divorced_out_on)
    if not p.known:
        return Reason("parent_unknown", "{}不詳")
    return None


def _named(reason: Reason, role: ParentRole) -> Reason:
    return Reason(
        f"{role.value}_{reason.code.removeprefix('parent_')}",
        reason.text.format(role.label),
        reason.since,
    )


def _away_reason(facts: _ParentFacts, day: date, min_months: int) -> Reason | None:
    spell_start = facts.qualified_on(day)
    if spell_start is None:
        return None
    place = next(
        (facts.places[i] for i, (iv, _) in enumerate(facts.qualifying) if iv.contains(day)), ""
    )
    where = f"（{place}）" if place else ""
    text = f"{facts.role.label}自{spell_start.isoformat()}外出務工{where}，已滿{min_months}個月"
    return Reason(f"{facts.role.value}_away", text, spell_start)


def _boundaries(child: Child, facts: Iterable[_ParentFacts], extra: Iterable[date]) -> set[date]:
    days: set[date] = set(extra)
    for f in facts:
        for interval, _ in f.qualifying:
            days.add(interval.start)
            if interval.end is not None:
                days.add(interval.end)
        p = f.parent
        days.update(
            d for d in (p.deceased_on, p.missing_since, p.divorced_out_on, p.no_capacity_since) if d
        )
    if child.abandoned_on is not None:
        days.add(child.abandoned_on)
    return days


def _spans_from_segments(
    segments: list[tuple[date, date | None, dict[Category, tuple[Reason, ...]]]],
) -> list[Span]:
    """Join consecutive segments in which a category holds into one span per run."""
    spans: list[Span] = []
    open_: dict[Category, tuple[date, tuple[Reason, ...]]] = {}
    last_end: date | None = None
    for start, end, cats in segments:
        if last_end is not None and start != last_end:
            for cat, (s, reasons) in open_.items():
                spans.append(Span(s, last_end, cat, reasons))
            open_ = {}
        for cat in list(open_):
            if cat not in cats:
                s, reasons = open_.pop(cat)
                spans.append(Span(s, start, cat, reasons))
        for cat, reasons in cats.items():
            if cat not in open_:
                open_[cat] = (start, reasons)
        last_end = end
    for cat, (s, reasons) in open_.items():
        spans.append(Span(s, last_end, cat, reasons))
    spans.sort(key=_span_order)
    return spans


def _span_order(span: Span) -> tuple[date, str]:
    return span.start, span.category.value


def _segments(scope: list[Interval], days: set[date]) -> list[tuple[date, date | None]]:
    """Cut each scope interval at every boundary day inside it."""
    out: list[tuple[date, date | None]] = []
    ordered = sorted(days)
    for interval in scope:
        cuts = [
            d for d in ordered if interval.start < d and (interval.end is None or d < interval.end)
        ]
        starts = [interval.start, *cuts]
        ends: list[date | None] = [*cuts, interval.end]
        out.extend(zip(starts, ends, strict=True))
    return out


def _parents(
    child: Child, min_months: int, bridge_days: int
) -> tuple[list[_ParentFacts], list[str]]:
    facts: list[_ParentFacts] = []
    missing: list[str] = []
    for role in (ParentRole.FATHER, ParentRole.MOTHER):
        parent = child.parent(role)
        if parent is None:
            missing.append(role.value)
        else:
            facts.append(_prepare(role, parent, min_months, bridge_days))
    return facts, missing


def _school_scope(
    child: Child, schools: Mapping[str, School], *, rural_only: bool
) -> tuple[list[Interval], list[str]]:
    intervals: list[Interval] = []
    missing: list[str] = []
    for i, enrolment in enumerate(child.enrolments):
        school = schools.get(enrolment.school_id)
        if school is None:
            missing.append(f"enrolments[{i}].school_id")
            continue
        if rural_only and not school.rural:
            continue
        intervals.append(enrolment.interval)
    return merge_intervals(intervals), missing


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
    version: str = "1"

    def timeline(self, child: Child, schools: Mapping[str, School]) -> Timeline:
        scope, missing = _school_scope(child, schools, rural_only=True)
        facts, missing_parents = _parents(child, self.min_months, self.bridge_days)
        missing += missing_parents
        days = _boundaries(child, facts, ())
        segments = []
        for start, end in _segments(scope, days):
            segments.append(
                (start, end, self._categories(child, facts, start, complete=not missing_parents))
            )
        return Timeline(
            child.id, self.name, self.version, _spans_from_segments(segments), tuple(missing)
        )

    def _categories(
        self, child: Child, facts: list[_ParentFacts], day: date, *, complete: bool
    ) -> dict[Category, tuple[Reason, ...]]:
        cats: dict[Category, tuple[Reason, ...]] = {}
        if _on(child.abandoned_on, day):
            cats[Category.ABANDONED] = (Reason("abandoned", "被遺棄", child.abandoned_on),)
        if not complete:
            return cats
        gone = [(f, r) for f in facts if (r := _gone(f.parent, day)) is not None]
        if len(gone) == 2:
            cats[Category.ORPHAN] = tuple(_named(r, f.role) for f, r in gone)
            return cats
        out = [(f, r) for f in facts if (r := _out(f.parent, day)) is not None]
        if out:
            cats[Category.SINGLE_PARENT] = tuple(_named(r, f.role) for f, r in out)
        in_family = [f for f in facts if _out(f.parent, day) is None]
        away = [r for f in in_family if (r := _away_reason(f, day, self.min_months)) is not None]
        if len(away) == 2:
            cats[Category.LEFT_BEHIND_BOTH] = tuple(away)
        elif len(away) == 1:
            cats[Category.LEFT_BEHIND_ONE] = tuple(away)
        return cats


# ---------------------------------------------------------------------------------------------
# The national rule of 2016.


@frozen
class NationalPolicy:
    """The State Council's 2016 opinion (國發〔2016〕13號), for reconciling with civil affairs.

    Minors under ``max_age`` with a rural household registration (農村戶籍) whose both parents are
    away working, or one away and the other without guardianship capacity. Being away counts after
    ``min_months`` continuous calendar months (no bridging by default). Only left-behind categories
    are assigned.
    """

    min_months: int = 3
    bridge_days: int = 0
    max_age: int = 16
    name: str = "national-2016"
    version: str = "1"

    def timeline(self, child: Child, schools: Mapping[str, School]) -> Timeline:
        if not child.rural_hukou:
            return Timeline(child.id, self.name, self.version, (), ())
        scope, missing = _school_scope(child, schools, rural_only=False)
        cutoff = add_months(child.birth_date, 12 * self.max_age)
        scope = [i for s in scope if (i := s.intersection(Interval(child.birth_date, cutoff)))]
        facts, missing_parents = _parents(child, self.min_months, self.bridge_days)
        missing += missing_parents
        segments = []
        if not missing_parents:
            for start, end in _segments(scope, _boundaries(child, facts, ())):
                segments.append((start, end, self._categories(facts, start)))
        return Timeline(
            child.id, self.name, self.version, _spans_from_segments(segments), tuple(missing)
        )

    def _categories(
        self, facts: list[_ParentFacts], day: date
    ) -> dict[Category, tuple[Reason, ...]]:
        away = {
            f.role: r for f in facts if (r := _away_reason(f, day, self.min_months)) is not None
        }
        if len(away) == 2:
            return {Category.LEFT_BEHIND_BOTH: tuple(away.values())}
        if len(away) == 1:
            other = next(f for f in facts if f.role not in away)
            if _on(other.parent.no_capacity_since, day):
                reason = Reason(
                    f"{other.role.value}_no_capacity",
                    f"{other.role.label}無監護能力",
                    other.parent.no_capacity_since,
                )
                return {Category.LEFT_BEHIND_ONE: (*away.values(), reason)}
        return {}
