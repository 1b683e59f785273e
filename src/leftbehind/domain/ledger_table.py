"""The county summary table (信息汇总表) as a value: counts that add up and check themselves.

A :class:`CountyTable` is a set of rows, each a mapping from a column key (``"served"``,
``"sex.male"``, ``"due.talk"`` …) to a count. Rows are keyed by their place in the hierarchy:
``()`` is the total, ``(county,)`` a county, ``(county, township)`` a township and
``(county, township, school_id)`` a school. Subtotals are stored cells, as on the paper forms, so
that :meth:`CountyTable.check` can verify the cross-column and cross-row rules (表间勾稽关系) of a
table that travelled (read back from JSON, merged from counties, edited by hand).

Tables stamped with the same date, period and policies form a commutative monoid under ``+``
with :data:`EMPTY` as identity; merging two counties' tables equals the table of their union.
Rates are never stored: they are derived from the counts (``done / due``), so they merge right.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from datetime import date
from typing import Any

from attrs import field, frozen

from leftbehind.domain.dates import Interval
from leftbehind.domain.eligibility import Category
from leftbehind.domain.errors import Issue, LeftbehindError, ValidationError
from leftbehind.domain.model import Sex, Stage
from leftbehind.domain.profile import ProfileArea

__all__ = [
    "BREAKDOWNS",
    "EMPTY",
    "PRIMARY_ORDER",
    "CountyTable",
    "LedgerInconsistencyError",
    "LedgerMismatchError",
    "RowKey",
    "Stamp",
    "merge",
    "primary_category",
    "row_problems",
]

RowKey = tuple[str, ...]
Row = Mapping[str, int]


class LedgerInconsistencyError(LeftbehindError, AssertionError):
    """A ledger table broke one of its own consistency rules: a bug, never a user error.

    ``problems`` lists each broken rule with the row and columns involved (no personal data).
    """

    def __init__(self, problems: Iterable[str], *, subject: str = "ledger table") -> None:
        self.problems: tuple[str, ...] = tuple(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{subject} is inconsistent:\n{lines}")


class LedgerMismatchError(LeftbehindError, ValueError):
    """Two tables of different dates, periods or policies cannot be added."""


#: Precedence of the *primary* category (主要类别) given to a child in several categories, so
#: that the ``primary.*`` breakdown sums to the served total: orphan, abandoned, both parents
#: away, one parent away, single-parent family. The ``category.*`` counts (one per category a
#: child is in) do not sum to the total.
PRIMARY_ORDER: tuple[Category, ...] = (
    Category.ORPHAN,
    Category.ABANDONED,
    Category.LEFT_BEHIND_BOTH,
    Category.LEFT_BEHIND_ONE,
    Category.SINGLE_PARENT,
)
_RANK = {c: i for i, c in enumerate(PRIMARY_ORDER)}


def primary_category(categories: Iterable[Category]) -> Category:
    """The first of ``categories`` in :data:`PRIMARY_ORDER` (``categories`` must not be empty)."""
    return min(categories, key=_RANK.__getitem__)


#: Column prefixes whose columns sum to the ``served`` count of every row.
BREAKDOWNS: tuple[str, ...] = ("primary", "sex", "stage", "boarding", "grade")

#: The keys a breakdown may hold (``grade`` holds any ``grade.N``).
_PARTS = {
    "primary": frozenset(f"primary.{c.value}" for c in Category),
    "sex": frozenset(f"sex.{s.value}" for s in Sex),
    "stage": frozenset(f"stage.{s.value}" for s in Stage),
    "boarding": frozenset(("boarding.yes", "boarding.no")),
}
_AT_MOST_SERVED = (
    *(f"category.{c.value}" for c in Category),
    *(f"clear.{a.value}" for a in ProfileArea),
    "clear.all",
    "has.class_teacher",
    "has.proxy_parent",
    "has.staff_pair",
)


@frozen(order=True)
class Stamp:
    """What a table describes: the day of its counts, the period of its dynamics, the policies.

    ``period`` is the reporting period ``[start, end)``; the dynamics run from the opening
    balance (served on the eve of ``start``) to ``as_of``, which lies inside the period.
    """

    as_of: date
    period: Interval
    policy: str
    national: str = ""

    def __attrs_post_init__(self) -> None:
        if self.period.end is None:
            msg = "a reporting period must have an end"
            raise ValueError(msg)
        if not self.period.contains(self.as_of):
            msg = "as_of must lie inside the reporting period"
            raise ValueError(msg)


def _frozen_rows(rows: Mapping[RowKey, Mapping[str, int]]) -> dict[RowKey, dict[str, int]]:
    out: dict[RowKey, dict[str, int]] = {}
    for key in sorted(rows):
        cells = {k: v for k, v in sorted(rows[key].items()) if v}
        out[tuple(key)] = cells
    return out


def _frozen_names(names: Mapping[RowKey, str]) -> dict[RowKey, str]:
    return {tuple(k): v for k, v in sorted(names.items())}


def _sorted_codes(codes: Mapping[str, str]) -> dict[str, str]:
    return dict(sorted(codes.items()))


@frozen
class CountyTable:
    """信息汇总表: a row per school, township subtotals, county totals and the grand total.

    ``rows`` maps a row key to its non-zero counts (missing columns are 0); ``names`` maps the
    keys of school rows to the schools' names; ``codes`` maps each county's name to its 6-digit
    administrative code (行政区划代码), so that a summary sent upward says whose it is. Build
    one with
    :func:`leftbehind.domain.ledger.county_table`, add tables with ``+`` or :func:`merge`, verify
    with :meth:`check`.
    """

    stamp: Stamp | None
    rows: dict[RowKey, dict[str, int]] = field(factory=dict, converter=_frozen_rows)
    names: dict[RowKey, str] = field(factory=dict, converter=_frozen_names)
    codes: dict[str, str] = field(factory=dict, converter=_sorted_codes)

    def __add__(self, other: CountyTable) -> CountyTable:
        if not isinstance(other, CountyTable):
            return NotImplemented
        return merge(self, other)

    def __radd__(self, other: object) -> CountyTable:
        if other == 0:  # so that sum(tables) works
            return self
        return NotImplemented

    def row(self, key: RowKey) -> Row:
        """The counts of one row (empty when the row is absent)."""
        return self.rows.get(key, {})

    @property
    def total(self) -> Row:
        """The grand total row (合计)."""
        return self.row(())

    def schools(self) -> Iterator[RowKey]:
        """The school rows' keys, in canonical order."""
        return (k for k in self.rows if len(k) == 3)

    def ordered(self) -> list[RowKey]:
        """Row keys in reading order: each county's townships, each township's schools, its
        subtotal after them, the county after its townships, the grand total last."""
        return sorted(self.rows, key=_reading_order)

    def check(self) -> CountyTable:
        """Raise :class:`LedgerInconsistencyError` unless every rule holds; return ``self``.

        Rules: in each row the opening plus those entered minus those left equals the closing
        count, which equals the served count; each breakdown (:data:`BREAKDOWNS`) sums to the
        served count; no per-child count exceeds it; done plus overdue never exceed due; each
        township is the sum of its schools, each county of its townships, the total of its
        counties.
        """
        problems: list[str] = []
        for key, cells in self.rows.items():
            problems.extend(f"{_where(key)}: {p}" for p in row_problems(cells))
        for level in (2, 1, 0):
            sums: dict[RowKey, Counter[str]] = {}
            for key, cells in self.rows.items():
                if len(key) == level + 1:
                    sums.setdefault(key[:level], Counter()).update(cells)
            parents = {k for k in self.rows if len(k) == level}
            for key in sorted(parents | set(sums)):
                expected = {k: v for k, v in sums.get(key, Counter()).items() if v}
                if expected != self.rows.get(key, {}):
                    cols = sorted(
                        c
                        for c in set(expected) | set(self.rows.get(key, {}))
                        if expected.get(c, 0) != self.rows.get(key, {}).get(c, 0)
                    )
                    problems.append(f"{_where(key)} is not the sum of its rows: {', '.join(cols)}")
        if problems:
            raise LedgerInconsistencyError(problems, subject="county table")
        return self

    def to_json(self) -> str:
        """The canonical form: the same table gives the same text, byte for byte. It is the
        summary a county sends upward: counts and school names only, no child's data, with the
        day, the period, the policies and the counties' codes."""
        return json.dumps(self.to_dict(), ensure_ascii=False, sort_keys=True, indent=1)

    @classmethod
    def from_json(cls, text: str | bytes) -> CountyTable:
        """Read back a table written by :meth:`to_json` (another county's summary, say) and
        check it: a :class:`~leftbehind.domain.errors.ValidationError` names every field that
        is not what :meth:`to_json` writes (never its value), a
        :class:`LedgerInconsistencyError` every rule the counts break."""
        try:
            data = json.loads(text)
        except UnicodeDecodeError:
            issue = Issue("", "encoding", "not UTF-8 text")
            raise ValidationError([issue], subject=_TABLE) from None
        except (ValueError, RecursionError):
            raise ValidationError([Issue("", "json", "not JSON")], subject=_TABLE) from None
        issues = _table_issues(data)
        if issues:
            raise ValidationError(issues, subject=_TABLE)
        return cls.from_dict(data).check()

    def to_dict(self) -> dict[str, Any]:
        stamp = None
        if self.stamp is not None:
            s = self.stamp
            end = s.period.end
            stamp = {
                "as_of": s.as_of.isoformat(),
                "period": [s.period.start.isoformat(), end.isoformat() if end else None],
                "policy": s.policy,
                "national": s.national,
            }
        rows = [
            {"key": list(k), "name": self.names.get(k, ""), "counts": v}
            for k, v in self.rows.items()
        ]
        return {"stamp": stamp, "counties": dict(self.codes), "rows": rows}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CountyTable:
        """The inverse of :meth:`to_dict` (the table is not checked: call :meth:`check`)."""
        raw = data["stamp"]
        stamp = None
        if raw is not None:
            start, end = raw["period"]
            stamp = Stamp(
                date.fromisoformat(raw["as_of"]),
                Interval(date.fromisoformat(start), date.fromisoformat(end)),
                raw["policy"],
                raw["national"],
            )
        rows = {tuple(r["key"]): dict(r["counts"]) for r in data["rows"]}
        names = {tuple(r["key"]): r["name"] for r in data["rows"] if r["name"]}
        return cls(stamp, rows, names, data.get("counties") or {})


#: The identity of ``+``: the table of nothing, of no date.
EMPTY = CountyTable(None)


def merge(*tables: CountyTable) -> CountyTable:
    """The sum of ``tables`` (:data:`EMPTY` for none): a province from its counties, in one pass.

    Raises :class:`LedgerMismatchError` when two tables have different stamps or give one school
    row two names.
    """
    stamped = [t for t in tables if t.stamp is not None]
    if not stamped:
        return EMPTY
    if len(stamped) == 1:
        return stamped[0]
    stamp = stamped[0].stamp
    rows: dict[RowKey, dict[str, int]] = {}
    names: dict[RowKey, str] = {}
    codes: dict[str, str] = {}
    for table in stamped:
        if table.stamp != stamp:
            msg = f"cannot add tables stamped {stamp} and {table.stamp}"
            raise LedgerMismatchError(msg)
        for county, code in table.codes.items():
            if codes.setdefault(county, code) != code:
                msg = f"county {county} comes with two administrative codes"
                raise LedgerMismatchError(msg)
        for key, cells in table.rows.items():
            acc = rows.get(key)
            if acc is None:
                rows[key] = dict(cells)
                continue
            for col, n in cells.items():
                acc[col] = acc.get(col, 0) + n
        for key, name in table.names.items():
            if names.setdefault(key, name) != name:
                msg = f"{_where(key)} has two names in the tables being added"
                raise LedgerMismatchError(msg)
    by_code: dict[str, str] = {}
    for county, code in codes.items():
        if by_code.setdefault(code, county) != county:
            msg = f"the administrative code {code} names two counties"
            raise LedgerMismatchError(msg)
    return CountyTable(stamp, rows, names, codes)


_TABLE = "county table"
_CODE = re.compile(r"[0-9]{6}")


def _table_issues(data: object) -> list[Issue]:
    """What is not as :meth:`CountyTable.to_dict` writes it, by path (never a value)."""
    if not isinstance(data, dict):
        return [Issue("", "type", "expected an object with stamp, counties and rows")]
    issues = _stamp_issues(data.get("stamp"))
    counties = data.get("counties", {})
    if not isinstance(counties, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and _CODE.fullmatch(v)
        for k, v in counties.items()
    ):
        issues.append(Issue("counties", "county_code", "each county's code is 6 digits"))
    rows = data.get("rows")
    if not isinstance(rows, list):
        return [*issues, Issue("rows", "type", "expected a list of rows")]
    for i, row in enumerate(rows):
        where = f"rows[{i}]"
        if not isinstance(row, dict):
            issues.append(Issue(where, "type", "expected an object with key, name and counts"))
            continue
        key, label, counts = row.get("key"), row.get("name"), row.get("counts")
        if not (isinstance(key, list) and len(key) <= 3 and all(isinstance(k, str) for k in key)):
            issues.append(Issue(f"{where}.key", "type", "expected up to 3 names"))
        if not isinstance(label, str):
            issues.append(Issue(f"{where}.name", "type", "expected text"))
        if not isinstance(counts, dict) or not all(
            isinstance(k, str) and type(v) is int and v >= 0 for k, v in counts.items()
        ):
            issues.append(Issue(f"{where}.counts", "type", "expected counts (whole numbers ≥ 0)"))
    return issues


def _stamp_issues(stamp: object) -> list[Issue]:
    if not isinstance(stamp, dict):
        return [Issue("stamp", "type", "expected the table's stamp")]
    issues = [
        Issue(f"stamp.{field}", "type", "expected text")
        for field in ("as_of", "policy", "national")
        if not isinstance(stamp.get(field), str)
    ]
    period = stamp.get("period")
    if not isinstance(period, list) or len(period) != 2:
        return [*issues, Issue("stamp.period", "type", "expected [start, end]")]
    as_of, start, end = (
        _date(d) if isinstance(d, str) else None for d in (stamp.get("as_of"), *period)
    )
    if as_of is None or start is None or end is None:
        issues.append(Issue("stamp", "date_format", "dates are written YYYY-MM-DD"))
    elif not start < end:
        issues.append(Issue("stamp.period", "period_order", "the period ends before it starts"))
    elif not Interval(start, end).contains(as_of):
        issues.append(Issue("stamp.as_of", "as_of_outside", "as_of lies outside the period"))
    return issues


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if len(text) == 10 else None
    except ValueError:
        return None


def _reading_order(key: RowKey) -> tuple[Any, ...]:
    # A subtotal sorts after its members: pad with a high sentinel.
    return (*((0, part) for part in key), (1, ""))


def _where(key: RowKey) -> str:
    return "row " + ("/".join(key) if key else "total")


def row_problems(cells: Row) -> list[str]:
    """The consistency rules one row breaks (empty when it keeps them all)."""
    problems: list[str] = []
    served = cells.get("served", 0)
    sums = dict.fromkeys(BREAKDOWNS, 0)
    entered = left = 0
    for k, v in cells.items():
        if v < 0:
            problems.append(f"{k} is negative")
        head, dot, tail = k.partition(".")
        if not dot:
            continue
        if head in sums:
            sums[head] += v
            allowed = _PARTS.get(head)
            if allowed is not None and k not in allowed:
                problems.append(f"unknown column {k}")
        elif head == "entered":
            entered += v
        elif head == "left":
            left += v
        elif head == "due":
            if cells.get(f"done.{tail}", 0) + cells.get(f"overdue.{tail}", 0) > v:
                problems.append(f"done + overdue exceed due for {tail}")
        elif head in ("done", "overdue") and f"due.{tail}" not in cells:
            problems.append(f"{k} without due")
    opening, closing = cells.get("opening", 0), cells.get("closing", 0)
    if opening + entered - left != closing:
        problems.append(f"opening {opening} + entered {entered} - left {left} != closing {closing}")
    if closing != served:
        problems.append(f"closing {closing} != served {served}")
    problems.extend(
        f"{prefix}.* sums to {total}, served is {served}"
        for prefix, total in sums.items()
        if total != served
    )
    problems.extend(
        f"{k} {cells[k]} exceeds served {served}"
        for k in _AT_MOST_SERVED
        if cells.get(k, 0) > served
    )
    if served > cells.get("enrolled", 0):
        problems.append("served exceeds enrolled")
    return problems
