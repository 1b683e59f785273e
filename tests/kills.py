"""What the kill tests (R1, R2) share: waiting for a writer's work rather than for time.

A writer logs an intent line before each unit of work and an acknowledgement line (``"ack"``)
after its commit returns. A supervisor that kills it after a fixed sleep gets less work done the
busier the machine is; one that first waits for acknowledgements in the writer's log kills after
the same amount of work under any load, so the tests can assert on that amount.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

__all__ = ["PROGRESS", "await_acks", "complete_lines", "has_ended", "unread_acks"]

#: Seconds a writer gets to log the work a kill waits for; past them it counts as stalled (a
#: guard against a hang, not a measure: the tests assert that no writer stalled).
PROGRESS = 60.0
_POLL = 0.0005


def complete_lines(log: Path, offset: int) -> bytes:
    """The whole lines of ``log`` after byte ``offset`` (a line still being written is left out)."""
    try:
        with log.open("rb") as f:
            f.seek(offset)
            data = f.read()
    except FileNotFoundError:
        return b""
    return data[: data.rfind(b"\n") + 1]


def unread_acks(log: Path, offset: int) -> int:
    """Acknowledgements logged after byte ``offset``."""
    return complete_lines(log, offset).count(b'"ack"')


def has_ended(pid: int) -> bool:
    """Whether the child ``pid`` has exited, without reaping it."""
    return bool(os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT))


def await_acks(log: Path, offset: int, acks: int, pid: int) -> bool:
    """Wait until writer ``pid`` has logged ``acks`` acknowledgements after byte ``offset`` and
    then the intent of one more unit of work, so that a kill now lands in that unit (or just
    after it). False when the writer ended, or logged nothing new for :data:`PROGRESS` seconds.
    """
    deadline = time.monotonic() + PROGRESS
    seen = -1
    while True:
        lines = complete_lines(log, offset)
        if lines.count(b'"ack"') >= acks and lines.rfind(b'"intent"') > lines.rfind(b'"ack"'):
            return True
        if len(lines) != seen:  # progress: the deadline is for a writer that stopped moving
            seen, deadline = len(lines), time.monotonic() + PROGRESS
        if has_ended(pid) or time.monotonic() > deadline:
            return False
        time.sleep(_POLL)
