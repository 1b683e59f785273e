"""What the benchmarks share: timing a call, and saying a duration."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

__all__ = ["duration", "timed"]

T = TypeVar("T")


def timed(fn: Callable[[], T]) -> tuple[float, T]:
    """The seconds ``fn()`` took, and what it returned."""
    t0 = time.perf_counter()
    result = fn()
    return time.perf_counter() - t0, result


def duration(value: float, digits: int = 0) -> str:
    """``412 ms`` under a second (``digits`` after the point), ``3.14 s`` from one on."""
    return f"{value * 1000:,.{digits}f} ms" if value < 1 else f"{value:,.2f} s"
