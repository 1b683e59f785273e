"""Built-in notifiers (通知渠道): ``log``, ``webhook``, ``wecom`` (企業微信群機器人) and ``email``.

A plugin registered like any other through ``leftbehind_notifiers`` (``trylast=True``, so a
county's own channel of the same name is listed first and the duplicate is reported). Build one
with :meth:`leftbehind.plugins.Plugins.notifier`::

    robot = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…"
    wecom = plugins.notifier("wecom", {"url": robot})

Every notifier raises on failure and returns only once the notice was handed over; error messages
name the channel and the fault, never the notice's content, its recipient or a webhook URL (the
URL of a group robot holds its secret key). Configs are ``Mapping[str, str]``; the keys are listed
on each class and in ``docs/notifications.md``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import smtplib
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
from typing import Final

from leftbehind._markers import hookimpl
from leftbehind.errors import LeftbehindError
from leftbehind.hookspecs import NotifierRecord
from leftbehind.notifiers import Notice

__all__ = [
    "WECOM_MAX_BYTES",
    "EmailNotifier",
    "LogNotifier",
    "NotifierConfigError",
    "NotifierError",
    "RateLimiter",
    "WebhookNotifier",
    "WecomNotifier",
    "leftbehind_notifiers",
    "message_id",
    "split_utf8",
]

#: The most bytes (UTF-8) the WeCom group robot accepts in one text message.
WECOM_MAX_BYTES: Final = 2048
IDEMPOTENCY_HEADER: Final = "Idempotency-Key"
_USER_AGENT: Final = "leftbehind-notifier"
_TRUE: Final = frozenset({"1", "true", "yes", "on"})


class NotifierError(LeftbehindError, OSError):
    """A notifier could not hand a notice over (refused, bad answer, unreachable).

    The message names the channel and the fault, never the notice's content or a URL.
    """


class NotifierConfigError(LeftbehindError, ValueError):
    """A channel's settings are missing or malformed; ``key`` names the setting."""

    def __init__(self, channel: str, key: str, problem: str) -> None:
        self.channel = channel
        self.key = key
        super().__init__(f"{channel} notifier: setting {key!r} {problem}")


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


def _http_url(url: str, channel: str) -> str:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise NotifierConfigError(channel, "url", "must be an http:// or https:// URL")
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
# HTTP


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # A redirected POST would be replayed as a GET without its body: refuse, so a 3xx fails.
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


_OPENER: Final = urllib.request.build_opener(_NoRedirect)


def _post_json(
    channel: str, url: str, payload: object, headers: Mapping[str, str], timeout: float
) -> bytes:
    """POST ``payload`` as UTF-8 JSON; the body of a 2xx answer, else :class:`NotifierError`."""
    data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    # The scheme was checked by _http_url when the notifier was made.
    request = urllib.request.Request(url, data=data, method="POST")  # noqa: S310
    request.add_header("Content-Type", "application/json; charset=utf-8")
    request.add_header("User-Agent", _USER_AGENT)
    for name, value in headers.items():
        request.add_header(name, value)
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            status: int = response.status
            body: bytes = response.read()
    except urllib.error.HTTPError as exc:
        exc.close()
        raise NotifierError(f"{channel}: the server answered HTTP {exc.code}") from None
    except TimeoutError:
        raise NotifierError(f"{channel}: no answer within {timeout:g} s") from None
    except urllib.error.URLError as exc:
        reason = exc.reason
        what = "timed out" if isinstance(reason, TimeoutError) else type(reason).__name__
        raise NotifierError(f"{channel}: the server is unreachable ({what})") from None
    except OSError as exc:
        raise NotifierError(f"{channel}: connection failed ({type(exc).__name__})") from None
    if not 200 <= status < 300:
        raise NotifierError(f"{channel}: the server answered HTTP {status}")
    return body


class WebhookNotifier:
    """POSTs each notice as JSON to one URL; any answer but 2xx is a failure.

    The body is ``{"key", "recipient", "subject", "body", "kind"}`` in UTF-8, and the key is
    also sent in the ``Idempotency-Key`` header: a receiver that remembers keys drops the
    duplicate sent after a crash. Redirects are not followed.

    Settings: ``url`` (required), ``timeout`` (seconds, default 10), ``token`` (optional, sent as
    ``Authorization: Bearer …``).
    """

    def __init__(self, url: str, *, timeout: float = 10.0, token: str | None = None) -> None:
        self.url = _http_url(url, "webhook")
        self.timeout = timeout
        self._token = token

    @classmethod
    def from_config(cls, config: Mapping[str, str]) -> WebhookNotifier:
        return cls(
            _required(config, "webhook", "url"),
            timeout=_number(config, "webhook", "timeout", 10.0),
            token=config.get("token") or None,
        )

    def send(self, notice: Notice) -> None:
        headers = {IDEMPOTENCY_HEADER: notice.key}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        payload = {
            "key": notice.key,
            "recipient": notice.recipient,
            "subject": notice.subject,
            "body": notice.body,
            "kind": notice.kind,
        }
        _post_json("webhook", self.url, payload, headers, self.timeout)

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

    def acquire(self) -> None:
        """Wait until one more acquisition keeps within the limit, and take it."""
        with self._lock:
            while True:
                now = self._clock()
                while self._times and self._times[0] <= now - self.per:
                    self._times.popleft()
                if len(self._times) < self.limit:
                    self._times.append(now)
                    return
                self._sleep(self._times[0] + self.per - now)


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


class WecomNotifier:
    """Posts to a WeCom group robot (企業微信群機器人) as ``{"msgtype": "text", ...}``.

    The content is the subject, a blank line and the body. WeCom takes at most 2048 bytes of
    UTF-8 per message: longer content is split at line ends into several messages, each marked
    ``(1/3)`` and within the limit. A robot takes 20 messages a minute: a :class:`RateLimiter`
    (one per notifier; pass a shared one for notifiers on the same robot) waits for a slot. A
    reply whose ``errcode`` is not 0 is a failure. When a later part fails, the parts already
    posted are not posted again by this notifier when the outbox retries the notice.

    The robot has no idempotency key: after a crash between posting and marking, the group may
    see that one notice twice. A group is a group chat: notices to it carry counts and labels,
    never a child's personal details (see :mod:`leftbehind.digest`).

    Settings: ``url`` (required: the robot's webhook address with its key), ``timeout`` (seconds,
    default 10), ``per_minute`` (default 20).
    """

    def __init__(
        self, url: str, *, timeout: float = 10.0, limiter: RateLimiter | None = None
    ) -> None:
        self.url = _http_url(url, "wecom")
        self.timeout = timeout
        self.limiter = limiter or RateLimiter(20, 60.0)
        self._posted: dict[str, int] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_config(cls, config: Mapping[str, str]) -> WecomNotifier:
        per_minute = _number(config, "wecom", "per_minute", 20)
        return cls(
            _required(config, "wecom", "url"),
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

    def send(self, notice: Notice) -> None:
        messages = self.messages(notice)
        with self._lock:
            done = self._posted.get(notice.key, 0)
        for i in range(done, len(messages)):
            self.limiter.acquire()
            self._post(messages[i])
            with self._lock:
                self._posted[notice.key] = i + 1
        with self._lock:
            self._posted.pop(notice.key, None)

    def _post(self, content: str) -> None:
        payload = {"msgtype": "text", "text": {"content": content}}
        raw = _post_json("wecom", self.url, payload, {}, self.timeout)
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


class EmailNotifier:
    """Sends each notice as a UTF-8 e-mail over SMTP (``smtplib``), one connection per notice.

    The ``Message-ID`` is derived from the notice's key, so a mail sent twice after a crash has
    the same id and mail systems that track ids show it once. The recipient is ``to`` if set
    (``{recipient}`` in it is replaced by the notice's recipient, as in
    ``{recipient}@school.example.cn``), else the notice's recipient, which must be an address.

    Settings: ``host`` (required), ``port`` (default 25, or 587 with STARTTLS), ``from``
    (required), ``to``, ``starttls`` (``true``/``false``), ``user`` and ``password`` (log in when
    both are set), ``cafile`` (a CA bundle to trust for STARTTLS), ``timeout`` (seconds, default
    30), ``message_id_domain`` (default: the domain of ``from``).
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
        password: str | None = None,
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

    @classmethod
    def from_config(cls, config: Mapping[str, str]) -> EmailNotifier:
        port = config.get("port", "").strip()
        if port and not port.isdigit():
            raise NotifierConfigError("email", "port", "must be a port number")
        return cls(
            _required(config, "email", "host"),
            _required(config, "email", "from"),
            port=int(port) if port else None,
            to=config.get("to") or None,
            starttls=_flag(config, "starttls"),
            user=config.get("user") or None,
            password=config.get("password") or None,
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
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context(cafile=self.cafile))
                if self.user and self._password:
                    smtp.login(self.user, self._password)
                smtp.send_message(msg)
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
        NotifierRecord("log", LogNotifier.from_config, "日誌：只記通知編號和類別"),
        NotifierRecord("webhook", WebhookNotifier.from_config, "通用 JSON webhook"),
        NotifierRecord("wecom", WecomNotifier.from_config, "企業微信群機器人（文本消息）"),
        NotifierRecord("email", EmailNotifier.from_config, "電子郵件（SMTP）"),
    ]
