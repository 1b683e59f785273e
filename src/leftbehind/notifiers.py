"""What a notifier (通知渠道) is: something that sends one :class:`Notice` or raises.

Notifiers are registered by plugins through ``leftbehind_notifiers``; the outbox that calls them,
retries failures and marks notices sent lives in the service layer.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol, runtime_checkable

from attrs import field, frozen

__all__ = ["Notice", "Notifier"]


def _keys(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(set(items)))


@frozen
class Notice:
    """One message to one recipient.

    ``key`` is the idempotency key: a notifier that can, passes it on so the same notice sent twice
    (after a crash between sending and marking it sent) is delivered once. ``kind`` names the
    reason (``"duty_overdue"``). A notice to a group never carries a child's personal details.
    ``children`` are the record keys of the children it speaks of (so that purging a child's file
    also clears the notices that name it); notifiers need not send them.
    """

    key: str
    recipient: str
    subject: str
    body: str
    kind: str
    children: tuple[str, ...] = field(default=(), converter=_keys)


@runtime_checkable
class Notifier(Protocol):
    """Sends notices through one channel (email, a webhook, a county's SMS gateway)."""

    def send(self, notice: Notice) -> None:
        """Deliver ``notice`` or raise; returning means it was handed over."""
        ...
