"""What a notifier (通知渠道) is: something that sends one :class:`Notice` or raises.

Notifiers are registered by plugins through ``leftbehind_notifiers``; the outbox that calls them,
retries failures and marks notices sent lives in :mod:`leftbehind.outbox`.

This module also holds what every notifier shares, built-in or a plugin's: the errors, the
idempotency key of one part of a notice (:func:`part_key`), and credentials named by an
environment variable instead of stored (:class:`EnvSecret`, :func:`check_settings`).
"""

from __future__ import annotations

import os
import re
import urllib.parse
from collections.abc import Iterable, Mapping
from typing import Final, Protocol, runtime_checkable

from attrs import field, frozen

from leftbehind.errors import LeftbehindError

__all__ = [
    "EnvSecret",
    "MissingCredentialError",
    "Notice",
    "Notifier",
    "NotifierConfigError",
    "NotifierError",
    "PartedNotifier",
    "check_settings",
    "clear_secrets",
    "part_key",
]


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
    """Sends notices through one channel (email, a webhook, a county's SMS gateway).

    A notifier may also declare ``deadline``: the most seconds one call of ``send`` (or
    ``send_part``) can take, connecting and the whole reply included. The outbox then refuses a
    claim (``lease``) that is not longer, and renews a claim before a send that could outlast it.
    """

    def send(self, notice: Notice) -> None:
        """Deliver ``notice`` or raise; returning means it was handed over."""
        ...


@runtime_checkable
class PartedNotifier(Notifier, Protocol):
    """A notifier that sends a long notice as several messages, each posted on its own.

    The outbox calls :meth:`send_part` for each part not yet posted and records each part as it
    succeeds, so a retry (by any later run, in any process) posts only the missing parts.
    ``send`` still sends every part, for a caller without an outbox.
    """

    def parts(self, notice: Notice) -> int:
        """How many messages ``notice`` becomes (at least 1); the same for the same notice."""
        ...

    def send_part(self, notice: Notice, part: int) -> None:
        """Deliver part ``part`` (counted from 1) of ``notice`` or raise."""
        ...


def part_key(key: str, part: int, parts: int) -> str:
    """The idempotency key of one part: the notice's key alone when it is sent whole, else
    ``KEY/2`` (the part counted from 1), so a receiver can drop a repeated part, not the next."""
    return key if parts == 1 else f"{key}/{part}"


# ---------------------------------------------------------------------------------------------
# Errors.


class NotifierError(LeftbehindError, OSError):
    """A notifier could not hand a notice over (refused, bad answer, unreachable, too slow).

    The message names the channel and the fault, never the notice's content, a secret or a URL.
    """


class MissingCredentialError(NotifierError):
    """The environment variable a channel names for a secret is not set where it delivers.

    A failure of the notice like any other: it is kept and retried. ``setting`` is the setting
    naming the variable (``password_env``), ``variable`` the variable's name.
    """

    def __init__(self, channel: str, setting: str, variable: str) -> None:
        self.channel, self.setting, self.variable = channel, setting, variable
        super().__init__(
            f"{channel}: the environment variable {variable!r} named by {setting!r} is not set"
        )


class NotifierConfigError(LeftbehindError, ValueError):
    """A channel's settings are missing or malformed; ``key`` names the setting (never its
    value)."""

    def __init__(self, channel: str, key: str, problem: str) -> None:
        self.channel = channel
        self.key = key
        super().__init__(f"{channel} notifier: setting {key!r} {problem}")


# ---------------------------------------------------------------------------------------------
# Credentials.

_ENV_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
#: Words that make a setting's name one for a secret (``password``, ``api_key``, ``token``).
_SECRET_WORDS: Final = frozenset(
    {"password", "passwd", "pwd", "secret", "token", "key", "apikey", "credential", "auth"}
)
#: Query parameters that carry a secret in a URL (WeCom's ``key``, DingTalk's ``access_token``).
_SECRET_PARAMS: Final = frozenset(
    {
        "key",
        "token",
        "access_token",
        "secret",
        "password",
        "sig",
        "sign",
        "signature",
        "apikey",
        "api_key",
        "auth",
    }
)


@frozen
class EnvSecret:
    """A secret read from the environment variable ``variable`` each time it is needed.

    Settings name the variable (``password_env = "LEFTBEHIND_SMTP_PASSWORD"``); the value is
    never stored, copied or shown. ``setting`` names the setting, for messages.
    """

    variable: str
    setting: str

    def reveal(self, channel: str) -> str:
        """The variable's value; :class:`MissingCredentialError` when it is unset or empty."""
        value = os.environ.get(self.variable, "")
        if not value:
            raise MissingCredentialError(channel, self.setting, self.variable)
        return value

    @classmethod
    def from_settings(
        cls, channel: str, settings: Mapping[str, str], setting: str
    ) -> EnvSecret | None:
        """The secret named by ``settings[setting]``, ``None`` when it is not set; raises
        :class:`NotifierConfigError` when it is not a variable's name."""
        name = settings.get(setting, "").strip()
        if not name:
            return None
        if not _ENV_NAME.fullmatch(name):
            raise NotifierConfigError(
                channel, setting, "must name an environment variable (letters, digits and _)"
            )
        return cls(name, setting)

    def __repr__(self) -> str:
        return f"EnvSecret({self.variable!r})"


def clear_secrets(settings: Mapping[str, str]) -> list[str]:
    """The settings (by name, sorted) that seem to hold a secret in clear.

    A setting named for a secret (``password``, ``token``, ``api_key``, ``secret`` …) unless its
    name ends in ``_env``; a URL with a password or a secret query parameter (``?key=…``,
    ``access_token=…``). A secret in a URL's path cannot be told from a path: give such a URL
    through an environment variable (``url_env``).
    """
    found = []
    for name, value in settings.items():
        words = re.split(r"[_\-.]", name.lower())
        if words[-1] != "env" and not _SECRET_WORDS.isdisjoint(words):
            if isinstance(value, str) and value.strip():
                found.append(name)
            continue
        if isinstance(value, str) and _url_with_secret(value):
            found.append(name)
    return sorted(found)


def _url_with_secret(value: str) -> bool:
    try:
        parts = urllib.parse.urlsplit(value.strip())
        password = parts.password
    except ValueError:
        return False
    if not parts.scheme or not parts.netloc:
        return False
    params = {k.lower() for k, _ in urllib.parse.parse_qsl(parts.query, keep_blank_values=True)}
    return password is not None or not _SECRET_PARAMS.isdisjoint(params)


def check_settings(channel: str, settings: Mapping[str, str]) -> None:
    """Refuse a channel's settings that hold a secret in clear (:func:`clear_secrets`).

    Raises :class:`NotifierConfigError` naming the first such setting and the setting to use
    instead (``password`` → ``password_env``), never the value.
    """
    found = clear_secrets(settings)
    if found:
        name = found[0]
        instead = f"{name}_env" if not name.lower().startswith("url") else "url_env"
        raise NotifierConfigError(
            channel,
            name,
            "holds a secret in clear: put the secret in an environment variable where "
            f"notices are delivered and name that variable with {instead!r} "
            "(see docs/notifications.md)",
        )
