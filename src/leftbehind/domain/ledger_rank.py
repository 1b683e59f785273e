"""The summary phase (总结表彰): ranking schools and staff by measured completion of duties.

The rate is ``done / due`` over the chosen duty kinds. Only candidates with at least ``min_due``
due occurrences are ranked, so that one duty done out of one is no champion. Equal rates share a
rank (1, 2, 2, 4 …); among them the larger volume comes first, then the key.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import date
from fractions import Fraction

from attrs import frozen

from leftbehind.domain.dates import Interval
from leftbehind.domain.ledger_facts import LedgerFacts
from leftbehind.domain.ledger_table import CountyTable

__all__ = ["MIN_DUE", "Standing", "rank", "rank_schools", "rank_staff"]

#: The default minimum number of due occurrences for a candidate to be ranked.
MIN_DUE = 20


@frozen
class Standing:
    """One ranked candidate for commendation (表彰先进): a school or a person."""

    rank: int
    key: str
    name: str
    due: int
    done: int

    @property
    def rate(self) -> float:
        """The completion rate, ``done / due``."""
        return self.done / self.due if self.due else 0.0


def rank(
    volumes: Iterable[tuple[str, str, int, int]], *, min_due: int = MIN_DUE
) -> tuple[Standing, ...]:
    """Rank ``(key, name, due, done)`` candidates by rate, dropping those below ``min_due``."""
    eligible = [(k, n, due, done) for k, n, due, done in volumes if due >= max(min_due, 1)]
    eligible.sort(key=lambda c: (-Fraction(c[3], c[2]), -c[2], c[0]))
    out: list[Standing] = []
    previous: Fraction | None = None
    position = 0
    for i, (key, name, due, done) in enumerate(eligible, start=1):
        rate = Fraction(done, due)
        if rate != previous:
            position, previous = i, rate
        out.append(Standing(position, key, name, due, done))
    return tuple(out)


def _wanted(column: str, prefix: str, kinds: Collection[str] | None) -> bool:
    return column.startswith(prefix) and (kinds is None or column[len(prefix) :] in kinds)


def _lower(kinds: Collection[str] | None) -> frozenset[str] | None:
    return None if kinds is None else frozenset(k.lower() for k in kinds)


def rank_schools(
    table: CountyTable, *, kinds: Collection[str] | None = None, min_due: int = MIN_DUE
) -> tuple[Standing, ...]:
    """Schools of a (county or province) table ranked by completion of ``kinds`` (duty kind
    codes, in any case; all when None).

    A school's key is its row key joined by ``/`` (``county/township/school_id``).
    """
    volumes = []
    kinds = _lower(kinds)
    for key in table.schools():
        cells = table.rows[key]
        due = sum(v for c, v in cells.items() if _wanted(c, "due.", kinds))
        done = sum(v for c, v in cells.items() if _wanted(c, "done.", kinds))
        volumes.append(("/".join(key), table.names.get(key, ""), due, done))
    return rank(volumes, min_due=min_due)


def rank_staff(
    facts: LedgerFacts,
    *,
    as_of: date,
    period: Interval,
    kinds: Collection[str] | None = None,
    min_due: int = MIN_DUE,
    names: Mapping[str, str] | None = None,
) -> tuple[Standing, ...]:
    """People ranked by completion of the duties they owe (``kinds``: all when None).

    ``names`` maps staff ids to names; by default the names of :attr:`LedgerFacts.staff`.
    """
    due: dict[str, int] = {}
    done: dict[str, int] = {}
    for t in facts.duties(period, as_of):
        if kinds is None or t.kind in kinds:
            due[t.owner_id] = due.get(t.owner_id, 0) + t.due
            done[t.owner_id] = done.get(t.owner_id, 0) + t.done
    if names is None:
        names = {k: v.name for k, v in facts.staff.items()}
    return rank(((k, names.get(k, ""), due[k], done[k]) for k in due), min_due=min_due)
