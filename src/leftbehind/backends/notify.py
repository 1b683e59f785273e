"""Built-in notifiers (通知渠道): ``log``, ``webhook``, ``wecom`` (企业微信群机器人) and ``email``.

A plugin registered like any other through ``leftbehind_notifiers`` (``trylast=True``, so a
county's own channel of the same name is listed first and the duplicate is reported). Build one
with :meth:`leftbehind.plugins.Plugins.notifier`::

    wecom = plugins.notifier("wecom", {"key_env": "LEFTBEHIND_WECOM_KEY"})

Every notifier raises on failure and returns only once the notice was handed over; error messages
name the channel and the fault, never the notice's content, its recipient, a secret or a webhook
URL (the URL of a group robot holds its secret key). Configs are ``Mapping[str, str]``; the keys
are listed on each class and in ``docs/notifications.md``. Secrets are never settings: a setting
ending in ``_env`` names the environment variable that holds one, read at each send.

Every call over the network has a **whole-call deadline** (``timeout``): connecting, sending and
reading the whole reply together, so a server that trickles its answer a byte at a time fails
the call when the deadline passes instead of holding it. Each notifier declares it as
``deadline`` (seconds), which the outbox keeps shorter than its claim on a notice.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import io
import json
import logging
import smtplib
import socket
import ssl
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from email.message import EmailMessage
from email.utils import formatdate
from functools import cache
from typing import Any, Final, TypeAlias

from leftbehind._markers import hookimpl
from leftbehind.hookspecs import NotifierRecord
from leftbehind.notifiers import EnvSecret, Notice, check_settings, part_key

# The errors moved to leftbehind.notifiers (plugins share them); importable from here as before.
from leftbehind.notifiers import MissingCredentialError as MissingCredentialError
from leftbehind.notifiers import NotifierConfigError as NotifierConfigError
from leftbehind.notifiers import NotifierError as NotifierError

__all__ = [
    "IDEMPOTENCY_HEADER",
    "WECOM_MAX_BYTES",
    "WECOM_URL",
    "EmailNotifier",
    "LogNotifier",
    "RateLimiter",
    "WebhookNotifier",
    "WecomNotifier",
    "leftbehind_notifiers",
    "message_id",
    "post_json",
    "split_utf8",
]

#: The most bytes (UTF-8) the WeCom group robot accepts in one text message.
WECOM_MAX_BYTES: Final = 2048
#: The WeCom group robot's address, to which the robot's key is added at each send.
WECOM_URL: Final = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send"
#: The header carrying a notice's idempotency key (``KEY``, or ``KEY/2`` for its second part).
IDEMPOTENCY_HEADER: Final = "Idempotency-Key"
_USER_AGENT: Final = "leftbehind-notifier"
_TRUE: Final = frozenset({"1", "true", "yes", "on"})

#: A secret given directly (from Python, never stored) or named by an environment variable.
Secret: TypeAlias = str | EnvSecret


def _reveal(secret: Secret, channel: str) -> str:
    return secret.reveal(channel) if isinstance(secret, EnvSecret) else secret


# ---------------------------------------------------------------------------------------------
# Settings.


def _required(config: Mapping[str, str], channel: str, key: str) -> str:
    value = config.get(key, "").strip()
    if not value:
        raise NotifierConfigError(channel, key, "is required")
    return value


def _number(config: Mapping[str, str], channel: str, key: str, default: float) -> float:
    raw = config.get(key, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise NotifierConfigError(channel, key, "must be a number") from None
    if not value > 0:
        raise NotifierConfigError(channel, key, "must be positive")
    return value


def _flag(config: Mapping[str, str], key: str) -> bool:
    return config.get(key, "").strip().lower() in _TRUE


def _is_http_url(url: str) -> bool:
    parts = urllib.parse.urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _http_url(url: str, channel: str) -> str:
    if not _is_http_url(url):
        raise NotifierConfigError(channel, "url", "must be an http:// or https:// URL")
    return url


def _url_setting(config: Mapping[str, str], channel: str, default: str | None = None) -> Secret:
    """The channel's URL: ``url_env`` (a variable holding it), or ``url`` (no secret in it)."""
    named = EnvSecret.from_settings(channel, config, "url_env")
    if named is not None:
        if config.get("url", "").strip():
            raise NotifierConfigError(channel, "url", "cannot be set together with 'url_env'")
        return named
    url = config.get("url", "").strip() or default
    if url is None:
        raise NotifierConfigError(channel, "url", "is required (or 'url_env')")
    return _http_url(url, channel)


def _env_url(secret: Secret, channel: str) -> str:
    """The URL to call; a URL from the environment is checked here, as a failure of the send."""
    url = _reveal(secret, channel)
    if isinstance(secret, EnvSecret) and not _is_http_url(url):
        raise NotifierError(
            f"{channel}: the environment variable {secret.variable!r} does not hold an "
            "http:// or https:// URL"
        )
    return url


# ---------------------------------------------------------------------------------------------
# log


class LogNotifier:
    """Writes one line per notice to a logger: its key and kind only, no content, no recipient.

    Settings: ``logger`` (default ``leftbehind.notices``), ``level`` (default ``INFO``).
    """

    def __init__(self, logger: str = "leftbehind.notices", level: str = "INFO") -> None:
        self.logger = logging.getLogger(logger)
        number = logging.getLevelName(level.upper())
        if not isinstance(number, int):
            raise NotifierConfigError("log", "level", "must be a logging level such as INFO")
        self.level = number

    @classmethod
    def from_config(cls, config: Mapping[str, str]) -> LogNotifier:
        return cls(config.get("logger") or "leftbehind.notices", config.get("level") or "INFO")

    def send(self, notice: Notice) -> None:
        self.logger.log(self.level, "notice %s (%s) delivered to the log", notice.key, notice.kind)


# ---------------------------------------------------------------------------------------------
# HTTP, with a deadline for the whole call.


class _Deadline:
    """The end of one call on the monotonic clock; each step of the call gets the time left."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._end = time.monotonic() + seconds

    def left(self) -> float:
        """Seconds left; :class:`TimeoutError` once the deadline passed."""
        left = self._end - time.monotonic()
        if left <= 0:
            raise TimeoutError("the call's deadline passed")
        return left


class _DeadlineReader(io.RawIOBase):
    """Reads a socket, each read waiting only for the time left to the deadline.

    A socket's own timeout bounds each read, so a reply trickling a byte a second would never
    time out: this bounds them all together.
    """

    def __init__(self, sock: socket.socket, deadline: _Deadline) -> None:
        super().__init__()
        self._sock = sock
        # A file of the socket counts as a reference: closing the socket waits for it.
        self._raw = sock.makefile("rb", buffering=0)
        self._deadline = deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int | None:
        self._sock.settimeout(self._deadline.left())
        return self._raw.readinto(buffer)

    def close(self) -> None:
        self._raw.close()
        super().close()


class _DeadlineSocket:
    """A connected socket (plain or TLS) whose sends and reads all end by one deadline; the
    parts of the socket interface :mod:`http.client` uses after connecting."""

    def __init__(self, sock: socket.socket, deadline: _Deadline) -> None:
        self._sock = sock
        self._deadline = deadline

    def makefile(self, mode: str = "rb", *args: object, **kwargs: object) -> io.BufferedReader:
        return io.BufferedReader(_DeadlineReader(self._sock, self._deadline))

    def sendall(self, data: Any) -> None:
        with memoryview(data) as view, view.cast("B") as flat:
            sent = 0
            while sent < len(flat):
                self._sock.settimeout(self._deadline.left())
                sent += self._sock.send(flat[sent:])

    def close(self) -> None:
        self._sock.close()


class _HTTPConnection(http.client.HTTPConnection):
    def __init__(self, host: str, *, deadline: _Deadline, **kwargs: Any) -> None:
        super().__init__(host, **kwargs)
        self._deadline = deadline

    def connect(self) -> None:
        self.timeout = self._deadline.left()
        super().connect()
        # http.client only sends, makes files and closes once connected.
        self.sock = _DeadlineSocket(self.sock, self._deadline)


class _HTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, *, deadline: _Deadline, **kwargs: Any) -> None:
        super().__init__(host, **kwargs)
        self._deadline = deadline

    def connect(self) -> None:
        # Connecting waits up to ``timeout`` and the TLS handshake as long again (CPython bounds
        # a handshake as a whole by the socket's timeout): half the time left for each.
        self.timeout = self._deadline.left() / 2
        super().connect()
        self.sock = _DeadlineSocket(self.sock, self._deadline)


@cache
def _tls() -> ssl.SSLContext:
    # One context for every call: loading the trusted certificates is the costly part.
    return ssl.create_default_context()


class _HTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, deadline: _Deadline) -> None:
        super().__init__()
        self._deadline = deadline

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        # do_open passes the deadline on to the connection class (typeshed knows only its own).
        connection: Any = _HTTPConnection
        return self.do_open(connection, req, deadline=self._deadline)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, deadline: _Deadline) -> None:
        super().__init__()
        self._deadline = deadline

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        # do_open passes the deadline and context on to the connection class.
        connection: Any = _HTTPSConnection
        return self.do_open(connection, req, deadline=self._deadline, context=_tls())


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # A redirected POST would be replayed as a GET without its body: refuse, so a 3xx fails.
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def post_json(
    channel: str, url: str, payload: object, headers: Mapping[str, str], timeout: float
) -> bytes:
    """POST ``payload`` as UTF-8 JSON; the body of a 2xx answer, else
    :class:`~leftbehind.notifiers.NotifierError`.

    The whole call — connecting, sending, reading every byte of the answer — ends within
    ``timeout`` seconds (name resolution excepted: it is the system resolver's); a late answer
    is a ``NotifierError``. Redirects are not followed; proxies set in the environment are
    used, as ``urllib`` does. Error messages name ``channel`` and the fault, never ``url``.
    For notifier plugins as for the built-in ones.
    """
    data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    # The scheme was checked when the notifier was made, or by _env_url.
    request = urllib.request.Request(url, data=data, method="POST")  # noqa: S310
    request.add_header("Content-Type", "application/json; charset=utf-8")
    request.add_header("User-Agent", _USER_AGENT)
    for name, value in headers.items():
        request.add_header(name, value)
    deadline = _Deadline(timeout)
    opener = urllib.request.build_opener(
        _NoRedirect, _HTTPHandler(deadline), _HTTPSHandler(deadline)
    )
    late = NotifierError(f"{channel}: no complete answer within {timeout:g} s")
    try:
        with opener.open(request, timeout=timeout) as response:
            status: int = response.status
            body: bytes = response.read()
    except urllib.error.HTTPError as exc:
        exc.close()
        raise NotifierError(f"{channel}: the server answered HTTP {exc.code}") from None
    except TimeoutError:
        raise late from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError):
            raise late from None
        what = type(exc.reason).__name__
        raise NotifierError(f"{channel}: the server is unreachable ({what})") from None
    except http.client.HTTPException as exc:
        raise NotifierError(f"{channel}: a malformed answer ({type(exc).__name__})") from None
    except OSError as exc:
        raise NotifierError(f"{channel}: connection failed ({type(exc).__name__})") from None
    if not 200 <= status < 300:
        raise NotifierError(f"{channel}: the server answered HTTP {status}")
    return body


# ---------------------------------------------------------------------------------------------
# webhook


class WebhookNotifier:
    """POSTs each notice as JSON to one URL; any answer but 2xx is a failure.

    The body is ``{"key", "recipient", "subject", "body", "kind"}`` in UTF-8, and the key is
    also sent in the ``Idempotency-Key`` header: a receiver that remembers keys drops the
    duplicate sent after a crash. Redirects are not followed. ``timeout`` bounds the whole call
    (``deadline``).

    Settings: ``url`` (an address holding no secret) or ``url_env`` (an environment variable
    holding the address), ``timeout`` (seconds, default 10), ``token_env`` (optional: an
    environment variable holding a token, sent as ``Authorization: Bearer …``).
    """

    def __init__(self, url: Secret, *, timeout: float = 10.0, token: Secret | None = None) -> None:
        self.url = url if isinstance(url, EnvSecret) else _http_url(url, "webhook")
        self.timeout = timeout
        self._token = token

    @property
    def deadline(self) -> float:
        """The most seconds one :meth:`send` takes."""
        return self.timeout

    @classmethod
    def from_config(cls, config: Mapping[str, str]) -> WebhookNotifier:
        check_settings("webhook", config)
        return cls(
            _url_setting(config, "webhook"),
            timeout=_number(config, "webhook", "timeout", 10.0),
            token=EnvSecret.from_settings("webhook", config, "token_env"),
        )

    def send(self, notice: Notice) -> None:
        url = _env_url(self.url, "webhook")
        headers = {IDEMPOTENCY_HEADER: notice.key}
        if self._token:
            headers["Authorization"] = f"Bearer {_reveal(self._token, 'webhook')}"
        payload = {
            "key": notice.key,
            "recipient": notice.recipient,
            "subject": notice.subject,
            "body": notice.body,
            "kind": notice.kind,
        }
        post_json("webhook", url, payload, headers, self.timeout)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(timeout={self.timeout:g})"  # the URL may hold a secret


# ---------------------------------------------------------------------------------------------
# WeCom


class RateLimiter:
    """At most ``limit`` acquisitions in any ``per`` seconds; :meth:`acquire` waits for a slot.

    ``clock`` and ``sleep`` are parameters so tests drive time by hand. Thread-safe.
    """

    def __init__(
        self,
        limit: int = 20,
        per: float = 60.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if limit < 1 or per <= 0:
            raise ValueError("a rate limit needs limit >= 1 and per > 0")
        self.limit = limit
        self.per = per
        self._clock = clock
        self._sleep = sleep
        self._times: deque[float] = deque()
        self._lock = threading.Lock()

    def acquire(self, timeout: float | None = None) -> None:
        """Wait until one more acquisition keeps within the limit, and take it.

        With ``timeout``, raise :class:`TimeoutError` rather than wait longer than that in all
        (other threads may take the slots first).
        """
        end = None if timeout is None else self._clock() + timeout
        while True:
            with self._lock:
                now = self._clock()
                while self._times and self._times[0] <= now - self.per:
                    self._times.popleft()
                if len(self._times) < self.limit:
                    self._times.append(now)
                    return
                wait = self._times[0] + self.per - now
            if end is not None and now + wait > end:
                raise TimeoutError("no free slot within the rate limit in time")
            self._sleep(wait)


def split_utf8(text: str, limit: int) -> list[str]:
    """``text`` in pieces of at most ``limit`` UTF-8 bytes, cut at line ends where possible.

    Lines are kept whole and packed greedily; a line longer than ``limit`` is cut between
    characters (never inside one). Joining the pieces with ``"\\n"`` gives ``text`` back, except
    where a long line was cut.
    """
    if limit < 4:
        raise ValueError("limit must hold at least one character (4 bytes)")
    pieces: list[str] = []
    current: list[str] = []
    size = 0
    for line in _cut_long_lines(text.split("\n"), limit):
        cost = len(line.encode("utf-8")) + (1 if current else 0)
        if current and size + cost > limit:
            pieces.append("\n".join(current))
            current, size = [], 0
            cost -= 1
        current.append(line)
        size += cost
    pieces.append("\n".join(current))
    return pieces


def _cut_long_lines(lines: list[str], limit: int) -> Iterator[str]:
    for line in lines:
        if len(line.encode("utf-8")) <= limit:
            yield line
            continue
        start, size = 0, 0
        for i, ch in enumerate(line):
            n = len(ch.encode("utf-8"))
            if size + n > limit:
                yield line[start:i]
                start, size = i, 0
            size += n
        yield line[start:]


def _with_key(url: str, key: str) -> str:
    parts = urllib.parse.urlsplit(url)
    query = "&".join(q for q in (parts.query, urllib.parse.urlencode({"key": key})) if q)
    return urllib.parse.urlunsplit(parts._replace(query=query))


class WecomNotifier:
    """Posts to a WeCom group robot (企业微信群机器人) as ``{"msgtype": "text", ...}``.

    The content is the subject, a blank line and the body. WeCom takes at most 2048 bytes of
    UTF-8 per message: longer content is split at line ends into several messages (*parts*),
    each marked ``(1/3)`` and within the limit. It is a
    :class:`~leftbehind.notifiers.PartedNotifier`: the outbox posts the parts one by one with
    :meth:`send_part` and records each, so a retry posts only the parts missing; :meth:`send`
    posts every part. Each request carries the ``Idempotency-Key`` header (``KEY`` or
    ``KEY/2``), though the robot itself ignores it. A robot takes 20 messages a minute: a
    :class:`RateLimiter` (one per notifier; pass a shared one for notifiers on the same robot)
    waits for a slot, at most ``per`` seconds. A reply whose ``errcode`` is not 0 is a failure.

    A group is a group chat: notices to it carry counts and labels, never a child's personal
    details (see :mod:`leftbehind.digest`).

    Settings: ``key_env`` (an environment variable holding the robot's key, added to ``url`` at
    each send), ``url`` (default :data:`WECOM_URL`; never with ``?key=…``), or instead of both
    ``url_env`` (a variable holding the whole address with its key); ``timeout`` (seconds,
    default 10, the deadline of each post), ``per_minute`` (default 20).
    """

    def __init__(
        self,
        url: Secret = WECOM_URL,
        *,
        key: Secret | None = None,
        timeout: float = 10.0,
        limiter: RateLimiter | None = None,
    ) -> None:
        self.url = url if isinstance(url, EnvSecret) else _http_url(url, "wecom")
        self._key = key
        self.timeout = timeout
        self.limiter = limiter or RateLimiter(20, 60.0)

    @property
    def deadline(self) -> float:
        """The most seconds one :meth:`send_part` takes: a wait for the rate limit and a post."""
        return self.limiter.per + self.timeout

    @classmethod
    def from_config(cls, config: Mapping[str, str]) -> WecomNotifier:
        query = urllib.parse.urlsplit(config.get("url", "").strip()).query
        if "key" in {name.lower() for name, _ in urllib.parse.parse_qsl(query)}:
            raise NotifierConfigError(
                "wecom",
                "url",
                "holds the robot's key in clear: give the address without '?key=…' and name "
                "an environment variable holding the key with 'key_env'",
            )
        check_settings("wecom", config)
        key = EnvSecret.from_settings("wecom", config, "key_env")
        address = _url_setting(config, "wecom", WECOM_URL)
        if key is None and not isinstance(address, EnvSecret):
            raise NotifierConfigError("wecom", "key_env", "is required (or 'url_env')")
        if key is not None and isinstance(address, EnvSecret):
            raise NotifierConfigError("wecom", "key_env", "cannot be set together with 'url_env'")
        per_minute = _number(config, "wecom", "per_minute", 20)
        return cls(
            address,
            key=key,
            timeout=_number(config, "wecom", "timeout", 10.0),
            limiter=RateLimiter(max(1, int(per_minute)), 60.0),
        )

    @staticmethod
    def messages(notice: Notice) -> list[str]:
        """The text messages ``notice`` becomes, each at most :data:`WECOM_MAX_BYTES` bytes."""
        content = f"{notice.subject}\n\n{notice.body}" if notice.subject else notice.body
        if len(content.encode("utf-8")) <= WECOM_MAX_BYTES:
            return [content]
        # Leave room for the "(12/34)\n" mark on every part.
        parts = split_utf8(content, WECOM_MAX_BYTES - 16)
        return [f"({i}/{len(parts)})\n{part}" for i, part in enumerate(parts, 1)]

    def parts(self, notice: Notice) -> int:
        """How many messages ``notice`` becomes."""
        return len(self.messages(notice))

    def send(self, notice: Notice) -> None:
        """Post every part of ``notice`` in order (no record of progress: see the outbox)."""
        for part in range(1, self.parts(notice) + 1):
            self.send_part(notice, part)

    def send_part(self, notice: Notice, part: int) -> None:
        """Post part ``part`` (from 1) of ``notice``, within :attr:`deadline` seconds."""
        messages = self.messages(notice)
        if not 1 <= part <= len(messages):
            raise ValueError(f"part {part} of a notice in {len(messages)}")
        url = _env_url(self.url, "wecom")
        if self._key is not None:
            url = _with_key(url, _reveal(self._key, "wecom"))
        try:
            self.limiter.acquire(timeout=self.limiter.per)
        except TimeoutError:
            raise NotifierError(
                f"wecom: no free slot of the rate limit within {self.limiter.per:g} s"
            ) from None
        headers = {IDEMPOTENCY_HEADER: part_key(notice.key, part, len(messages))}
        payload = {"msgtype": "text", "text": {"content": messages[part - 1]}}
        raw = post_json("wecom", url, payload, headers, self.timeout)
        try:
            reply = json.loads(raw)
            code = reply["errcode"]
        except (ValueError, TypeError, KeyError):
            raise NotifierError("wecom: the reply is not WeCom's JSON") from None
        if code != 0:
            message = str(reply.get("errmsg", ""))[:120]
            raise NotifierError(f"wecom: errcode {code}: {message}")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(timeout={self.timeout:g})"  # the URL holds the robot key


# ---------------------------------------------------------------------------------------------
# e-mail


def message_id(key: str, domain: str) -> str:
    """The ``Message-ID`` of a notice: the same key always gives the same id."""
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:40]
    return f"<{digest}@{domain}>"


class _Watchdog:
    """Shuts an SMTP connection's socket down when the call's deadline passes.

    :mod:`smtplib` bounds each read by its timeout but not the call; shutting the socket down
    wakes a read in progress (it sees the end of the stream), so a server trickling its
    answers fails the call at the deadline.
    """

    def __init__(self, seconds: float) -> None:
        self.client: smtplib.SMTP | None = None
        self._seconds = seconds
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> _Watchdog:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()

    def _watch(self) -> None:
        if self._done.wait(self._seconds):
            return
        # Connecting may still be under way (bounded by the timeout): wait for its socket.
        while not self._done.is_set():
            sock = None if self.client is None else self.client.sock
            if sock is not None:
                with contextlib.suppress(OSError):  # closed meanwhile
                    socket.socket.shutdown(sock, socket.SHUT_RDWR)
                return
            self._done.wait(0.05)


class _WatchedSMTP(smtplib.SMTP):
    def __init__(self, watchdog: _Watchdog, host: str, port: int, timeout: float) -> None:
        watchdog.client = self  # before connecting, so that a slow greeting is cut too
        super().__init__(host, port, timeout=timeout)


class EmailNotifier:
    """Sends each notice as a UTF-8 e-mail over SMTP (``smtplib``), one connection per notice.

    The ``Message-ID`` is derived from the notice's key, so a mail sent twice after a crash has
    the same id and mail systems that track ids show it once. The recipient is ``to`` if set
    (``{recipient}`` in it is replaced by the notice's recipient, as in
    ``{recipient}@school.example.cn``), else the notice's recipient, which must be an address.
    ``timeout`` bounds the whole conversation with the server (``deadline``).

    Settings: ``host`` (required), ``port`` (default 25, or 587 with STARTTLS), ``from``
    (required), ``to``, ``starttls`` (``true``/``false``), ``user`` and ``password_env`` (an
    environment variable holding the password; log in with both, set both or neither),
    ``cafile`` (a CA bundle to trust for STARTTLS), ``timeout`` (seconds, default 30),
    ``message_id_domain`` (default: the domain of ``from``).
    """

    def __init__(
        self,
        host: str,
        sender: str,
        *,
        port: int | None = None,
        to: str | None = None,
        starttls: bool = False,
        user: str | None = None,
        password: Secret | None = None,
        cafile: str | None = None,
        timeout: float = 30.0,
        message_id_domain: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.host = host
        self.port = port if port is not None else (587 if starttls else 25)
        self.sender = sender
        self.to = to
        self.starttls = starttls
        self.user = user
        self._password = password
        self.cafile = cafile
        self.timeout = timeout
        self.domain = message_id_domain or sender.rpartition("@")[2] or "leftbehind.invalid"
        self._clock = clock

    @property
    def deadline(self) -> float:
        """The most seconds one :meth:`send` takes (give or take the shutting down)."""
        return self.timeout

    @classmethod
    def from_config(cls, config: Mapping[str, str]) -> EmailNotifier:
        check_settings("email", config)
        port = config.get("port", "").strip()
        if port and not port.isdigit():
            raise NotifierConfigError("email", "port", "must be a port number")
        user = config.get("user", "").strip() or None
        password = EnvSecret.from_settings("email", config, "password_env")
        if user is not None and password is None:
            raise NotifierConfigError("email", "password_env", "is required with 'user'")
        if password is not None and user is None:
            raise NotifierConfigError("email", "user", "is required with 'password_env'")
        return cls(
            _required(config, "email", "host"),
            _required(config, "email", "from"),
            port=int(port) if port else None,
            to=config.get("to") or None,
            starttls=_flag(config, "starttls"),
            user=user,
            password=password,
            cafile=config.get("cafile") or None,
            timeout=_number(config, "email", "timeout", 30.0),
            message_id_domain=config.get("message_id_domain") or None,
        )

    def address(self, notice: Notice) -> str:
        """Where ``notice`` goes."""
        if self.to:
            return self.to.replace("{recipient}", notice.recipient)
        if "@" not in notice.recipient:
            raise NotifierError(
                "email: the notice's recipient is not an address; set 'to' for this channel"
            )
        return notice.recipient

    def _message(self, notice: Notice) -> EmailMessage:
        msg = EmailMessage()
        msg["From"] = self.sender
        msg["To"] = self.address(notice)
        msg["Subject"] = notice.subject
        msg["Message-ID"] = message_id(notice.key, self.domain)
        msg["Date"] = formatdate(self._clock(), localtime=False)
        msg["X-Leftbehind-Kind"] = notice.kind
        msg.set_content(notice.body, charset="utf-8")
        return msg

    def send(self, notice: Notice) -> None:
        msg = self._message(notice)
        password = None if self._password is None else _reveal(self._password, "email")
        try:
            with _Watchdog(self.timeout) as watchdog:
                smtp = _WatchedSMTP(watchdog, self.host, self.port, self.timeout)
                try:
                    if self.starttls:
                        smtp.starttls(context=ssl.create_default_context(cafile=self.cafile))
                    if self.user and password:
                        smtp.login(self.user, password)
                    smtp.send_message(msg)
                    # Handed over: a failed goodbye does not make the notice a failure.
                    with contextlib.suppress(smtplib.SMTPException, OSError):
                        smtp.quit()
                finally:
                    smtp.close()
        except smtplib.SMTPResponseException as exc:
            raise NotifierError(f"email: the server answered {exc.smtp_code}") from None
        except smtplib.SMTPRecipientsRefused:
            raise NotifierError("email: the server refused the recipient") from None
        except (smtplib.SMTPException, OSError) as exc:
            raise NotifierError(f"email: sending failed ({type(exc).__name__})") from None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(port={self.port}, starttls={self.starttls})"


# ---------------------------------------------------------------------------------------------
# Registration.


@hookimpl(trylast=True)
def leftbehind_notifiers() -> list[NotifierRecord]:
    """The built-in channels: ``log``, ``webhook``, ``wecom`` and ``email``."""
    return [
        NotifierRecord("log", LogNotifier.from_config, "日志：只记通知编号和类别"),
        NotifierRecord("webhook", WebhookNotifier.from_config, "通用 JSON webhook"),
        NotifierRecord("wecom", WecomNotifier.from_config, "企业微信群机器人（文本消息）"),
        NotifierRecord("email", EmailNotifier.from_config, "电子邮件（SMTP）"),
    ]
