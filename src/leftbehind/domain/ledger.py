"""The ledger (台賬) at three levels, as values: teacher, school and county tables.

- :func:`teacher_tables` — 聯絡信息表, each person's served children with contacts and duties;
- :func:`school_tables` — 動態狀況表, each school's counts, dynamics, five clears, coverage,
  duties and the children with overdue duties;
- :func:`county_table` — 信息匯總表, a row per school, township subtotals, county total, with the
  national 2016 count beside the plan's; tables add up (``+``, :func:`merge`) into a province.

Every builder takes the facts (:class:`LedgerFacts`), the day ``as_of`` and the reporting
``period``; the same inputs give the same table (see ``to_json``). :func:`diff` lists who
entered and left between two days and why; :func:`rank_schools` and :func:`rank_staff` rank
candidates for commendation. Every table checks its consistency rules and raises
:class:`LedgerInconsistencyError` when one breaks.
"""

from __future__ import annotations

from leftbehind.domain.ledger_build import (
    LedgerDiff,
    OverdueChild,
    SchoolTable,
    county_table,
    diff,
    duty_keys,
    school_table,
    school_tables,
    stamp_of,
)
from leftbehind.domain.ledger_facts import (
    DutyCount,
    DutySource,
    LedgerFacts,
    MoveReason,
)
from leftbehind.domain.ledger_move import Movement
from leftbehind.domain.ledger_rank import MIN_DUE, Standing, rank, rank_schools, rank_staff
from leftbehind.domain.ledger_table import (
    BREAKDOWNS,
    EMPTY,
    PRIMARY_ORDER,
    CountyTable,
    LedgerInconsistencyError,
    LedgerMismatchError,
    RowKey,
    Stamp,
    merge,
    primary_category,
    row_problems,
)
from leftbehind.domain.ledger_teacher import (
    DutyCell,
    ParentContact,
    TeacherRow,
    TeacherTable,
    parent_contact,
    teacher_table,
    teacher_tables,
)

__all__ = [
    "BREAKDOWNS",
    "EMPTY",
    "MIN_DUE",
    "PRIMARY_ORDER",
    "CountyTable",
    "DutyCell",
    "DutyCount",
    "DutySource",
    "LedgerDiff",
    "LedgerFacts",
    "LedgerInconsistencyError",
    "LedgerMismatchError",
    "MoveReason",
    "Movement",
    "OverdueChild",
    "ParentContact",
    "RowKey",
    "SchoolTable",
    "Stamp",
    "Standing",
    "TeacherRow",
    "TeacherTable",
    "county_table",
    "diff",
    "duty_keys",
    "merge",
    "parent_contact",
    "primary_category",
    "rank",
    "rank_schools",
    "rank_staff",
    "row_problems",
    "school_table",
    "school_tables",
    "stamp_of",
    "teacher_table",
    "teacher_tables",
]
