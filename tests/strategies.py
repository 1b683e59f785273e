"""Hypothesis strategies for the facts, shared by the tests: :mod:`leftbehind.testing.strategies`.

They live in the package so that the pushdown contract a backend author runs
(:class:`leftbehind.testing.contract.PushdownContract`) draws the same worlds as these tests.
"""

from __future__ import annotations

from leftbehind.testing.strategies import (
    EARLIEST,
    LATEST,
    SCHOOLS,
    absences,
    children,
    dates,
    enrolments,
    guardians,
    month_end_dates,
    parents,
    phones,
    resident_ids,
    schools,
    texts,
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
