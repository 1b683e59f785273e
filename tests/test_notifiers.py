"""Built-in notifiers against real servers on 127.0.0.1: an HTTP server, aiosmtpd for SMTP."""

from __future__ import annotations

import email
import email.policy
import json
import logging
import re
import socket
import ssl
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from datetime import timedelta
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session
from attrs import define, field, frozen
from hypothesis import given
from hypothesis import strategies as st

from leftbehind.backends import notify
from leftbehind.backends.notify import (
    IDEMPOTENCY_HEADER,
    WECOM_MAX_BYTES,
    WECOM_URL,
    EmailNotifier,
    LogNotifier,
    MissingCredentialError,
    NotifierConfigError,
    NotifierError,
    RateLimiter,
    WebhookNotifier,
    WecomNotifier,
    message_id,
    split_utf8,
)
from leftbehind.errors import UnknownNameError
from leftbehind.notifiers import EnvSecret, Notice, Notifier, PartedNotifier, clear_secrets
from leftbehind.outbox import build_notifiers
from leftbehind.plugins import Plugins, make_plugin_manager

NOTICE = Notice(
    key="digest:T001:2025-W11",
    recipient="T001",
    subject="本周待办 2 项（2025-W11）",
    body="三年级2班\n· C000123 谈心（3月14日前）\n· C000124 温馨家访（3月31日前）",
    kind="duty_digest",
)
WECOM_OK = b'{"errcode":0,"errmsg":"ok"}'
#: Environment variables the tests name in settings (set with monkeypatch where used).
KEY_VAR = "LEFTBEHIND_TEST_WECOM_KEY"
TOKEN_VAR = "LEFTBEHIND_TEST_WEBHOOK_TOKEN"
PASSWORD_VAR = "LEFTBEHIND_TEST_SMTP_PASSWORD"


# ---------------------------------------------------------------------------------------------
# A real HTTP server on 127.0.0.1, started and stopped by the test.


@frozen
class Reply:
    """One answer: ``delay`` seconds before it, then every byte of it (status line included)
    ``trickle`` seconds apart."""

    status: int = 200
    body: bytes = WECOM_OK
    delay: float = 0.0
    trickle: float = 0.0

    @property
    def accepted(self) -> bool:
        """Whether a receiver took the request: a 2xx, and a WeCom ``errcode`` of 0 if any."""
        if not 200 <= self.status < 300:
            return False
        try:
            reply = json.loads(self.body)
        except ValueError:
            return True
        return not isinstance(reply, dict) or reply.get("errcode", 0) == 0


@frozen
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int
    accepted: bool = True

    @property
    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))


@define
class HTTPRecorder:
    """Records every POST and answers from a script of replies (then ``default``).

    ``acknowledged()`` are the keys a receiver that dedupes by ``Idempotency-Key`` has accepted.
    """

    default: Reply = Reply()
    script: deque[Reply] = field(factory=deque)
    requests: list[Received] = field(factory=list)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(factory=threading.Lock)

    def start(self) -> Self:
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with recorder._lock:
                    reply = recorder.script.popleft() if recorder.script else recorder.default
                    recorder.requests.append(
                        Received(
                            self.path,
                            dict(self.headers.items()),
                            body,
                            reply.status,
                            reply.accepted,
                        )
                    )
                if reply.delay:
                    time.sleep(reply.delay)
                try:
                    if reply.trickle:
                        self._trickle(reply)
                        return
                    self.send_response(reply.status)
                    if 300 <= reply.status < 400:
                        self.send_header("Location", "/elsewhere")
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

            def _trickle(self, reply: Reply) -> None:
                head = (
                    f"HTTP/1.1 {reply.status} OK\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(reply.body)}\r\nConnection: close\r\n\r\n"
                ).encode()
                self.close_connection = True
                for byte in head + reply.body:
                    self.wfile.write(bytes([byte]))
                    time.sleep(reply.trickle)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = False  # server_close() joins every handler thread
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}
        )
        self._thread.start()
        return self

    @property
    def url(self) -> str:
        """The address with a secret in it, as a caller may give it from Python."""
        return f"{self.base}?key=SECRET-ROBOT-KEY"

    @property
    def base(self) -> str:
        """The address without a secret, as settings may hold it."""
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/hook"

    def acknowledged(self) -> list[str]:
        """Idempotency keys of the requests accepted (2xx, WeCom errcode 0), in order,
        duplicates included."""
        return [r.headers.get(IDEMPOTENCY_HEADER, "") for r in self.requests if r.accepted]

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


@pytest.fixture
def http() -> Iterator[HTTPRecorder]:
    with HTTPRecorder() as server:
        yield server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


# ---------------------------------------------------------------------------------------------
# A real SMTP server (aiosmtpd).


@define
class Mailbox:
    messages: list[EmailMessage] = field(factory=list)
    envelopes: list[tuple[str, list[str]]] = field(factory=list)
    logins: list[str] = field(factory=list)
    refuse: bool = False

    async def handle_RCPT(  # noqa: N802 (aiosmtpd names its hooks)
        self, server: Any, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if self.refuse:
            return "550 no such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802
        self, server: Any, session: Session, envelope: Envelope
    ) -> str:
        raw = envelope.original_content or b""
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        self.envelopes.append((str(envelope.mail_from), list(envelope.rcpt_tos)))
        return "250 OK"

    def authenticate(
        self, server: Any, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            b"school",
            b"s3cret",
        )
        if ok:
            self.logins.append(data.login.decode())
        return AuthResult(success=ok, handled=False)


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


# ---------------------------------------------------------------------------------------------
# Registration and settings.


def _plugins() -> Plugins:
    pm = make_plugin_manager(load_entrypoints=False)
    if not pm.has_plugin(notify.__name__):
        pm.register(notify, name=notify.__name__)
    return Plugins(pm, strict=True)


def test_built_in_channels_are_registered_and_built_from_settings(http: HTTPRecorder) -> None:
    plugins = _plugins()
    assert {"log", "webhook", "wecom", "email"} <= set(plugins.notifiers())
    built: dict[str, Notifier] = {
        "log": plugins.notifier("log"),
        "webhook": plugins.notifier("webhook", {"url": http.base, "timeout": "3"}),
        "wecom": plugins.notifier("wecom", {"key_env": KEY_VAR, "per_minute": "10"}),
        "email": plugins.notifier("email", {"host": "127.0.0.1", "from": "a@school.cn"}),
    }
    assert isinstance(built["log"], LogNotifier)
    assert isinstance(built["webhook"], WebhookNotifier)
    assert built["webhook"].timeout == built["webhook"].deadline == 3
    assert isinstance(built["wecom"], WecomNotifier)
    assert built["wecom"].limiter.limit == 10
    assert built["wecom"].url == WECOM_URL
    assert built["wecom"].deadline == 60 + 10  # a wait for the rate limit, then a post
    assert isinstance(built["email"], EmailNotifier)
    assert built["email"].port == 25
    assert all(isinstance(n, Notifier) for n in built.values())


@pytest.mark.parametrize(
    ("channel", "config", "key"),
    [
        ("webhook", {}, "url"),
        ("webhook", {"url": "file:///etc/passwd"}, "url"),
        ("webhook", {"url": "http://127.0.0.1/", "timeout": "soon"}, "timeout"),
        ("webhook", {"url": "http://127.0.0.1/", "timeout": "-1"}, "timeout"),
        ("wecom", {"url": "ftp://example.cn/", "key_env": KEY_VAR}, "url"),
        ("wecom", {}, "key_env"),
        ("wecom", {"key_env": "the-key-itself"}, "key_env"),
        ("wecom", {"key_env": KEY_VAR, "url_env": "ROBOT_URL"}, "key_env"),
        ("webhook", {"url": "http://127.0.0.1/", "url_env": "HOOK_URL"}, "url"),
        ("email", {"host": "127.0.0.1", "from": "a@school.cn", "user": "school"}, "password_env"),
        ("email", {"host": "127.0.0.1", "from": "a@school.cn", "password_env": "P"}, "user"),
        ("email", {"from": "a@school.cn"}, "host"),
        ("email", {"host": "127.0.0.1"}, "from"),
        ("email", {"host": "127.0.0.1", "from": "a@school.cn", "port": "smtp"}, "port"),
        ("log", {"level": "LOUD"}, "level"),
    ],
)
def test_bad_settings_name_the_setting(channel: str, config: dict[str, str], key: str) -> None:
    with pytest.raises(NotifierConfigError) as info:
        _plugins().notifier(channel, config)
    assert info.value.key == key
    assert isinstance(info.value, ValueError)
    assert "passwd" not in str(info.value)


# ---------------------------------------------------------------------------------------------
# log


def test_log_notifier_logs_key_and_kind_only(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="leftbehind.notices"):
        LogNotifier().send(NOTICE)
    assert [r.getMessage() for r in caplog.records] == [
        "notice digest:T001:2025-W11 (duty_digest) delivered to the log"
    ]
    assert "C000123" not in caplog.text
    assert "三年级" not in caplog.text


# ---------------------------------------------------------------------------------------------
# webhook


def test_webhook_posts_the_notice_as_utf8_json_with_its_key(http: HTTPRecorder) -> None:
    WebhookNotifier(http.url, token="tkn").send(NOTICE)
    [request] = http.requests
    assert request.path == "/hook?key=SECRET-ROBOT-KEY"
    assert request.json == {
        "key": NOTICE.key,
        "recipient": "T001",
        "subject": NOTICE.subject,
        "body": NOTICE.body,
        "kind": "duty_digest",
    }
    assert "三年级2班".encode() in request.body  # UTF-8, not \\u escapes
    assert request.headers[IDEMPOTENCY_HEADER] == NOTICE.key
    assert request.headers["Authorization"] == "Bearer tkn"
    assert request.headers["Content-Type"] == "application/json; charset=utf-8"


@pytest.mark.parametrize("status", [500, 503, 404, 400, 302])
def test_webhook_answer_other_than_2xx_is_a_failure(http: HTTPRecorder, status: int) -> None:
    http.default = Reply(status, b"{}")
    with pytest.raises(NotifierError, match=f"HTTP {status}") as info:
        WebhookNotifier(http.url).send(NOTICE)
    assert "SECRET" not in str(info.value)
    assert "C000123" not in str(info.value)
    assert len(http.requests) == 1  # a redirect is not followed


def test_webhook_2xx_without_body_is_a_success(http: HTTPRecorder) -> None:
    http.default = Reply(204, b"")
    WebhookNotifier(http.url).send(NOTICE)
    assert http.acknowledged() == [NOTICE.key]


def test_webhook_timeout_is_a_failure(http: HTTPRecorder) -> None:
    http.default = Reply(200, b"{}", delay=1.0)
    with pytest.raises(NotifierError, match=r"within 0.2 s|timed out"):
        WebhookNotifier(http.url, timeout=0.2).send(NOTICE)


def test_webhook_unreachable_is_a_failure() -> None:
    with pytest.raises(NotifierError, match="unreachable") as info:
        WebhookNotifier(f"http://127.0.0.1:{free_port()}/x?key=SECRET").send(NOTICE)
    assert "SECRET" not in str(info.value)
    assert "SECRET" not in repr(WebhookNotifier("http://127.0.0.1/x?key=SECRET"))


# ---------------------------------------------------------------------------------------------
# WeCom


def test_wecom_posts_a_text_message_with_the_key_as_idempotency_key(http: HTTPRecorder) -> None:
    WecomNotifier(http.url).send(NOTICE)
    [request] = http.requests
    assert request.json == {
        "msgtype": "text",
        "text": {"content": f"{NOTICE.subject}\n\n{NOTICE.body}"},
    }
    assert request.headers[IDEMPOTENCY_HEADER] == NOTICE.key  # one part: the key alone


def _long_notice(lines: int) -> Notice:
    body = "\n".join(f"· 第{i:03d}行 三年级2班 C{i:06d} 谈心（3月14日前）" for i in range(lines))
    return Notice("digest:T009:2025-W11", "group:S01", "本周待办", body, "duty_digest")


def test_wecom_splits_long_content_on_lines_within_2048_bytes(http: HTTPRecorder) -> None:
    notice = _long_notice(200)
    WecomNotifier(http.url).send(notice)
    contents = [r.json["text"]["content"] for r in http.requests]
    assert len(contents) > 1
    assert all(len(c.encode("utf-8")) <= WECOM_MAX_BYTES for c in contents)
    n = len(contents)
    rebuilt: list[str] = []
    for i, content in enumerate(contents, 1):
        mark, _, rest = content.partition("\n")
        assert mark == f"({i}/{n})"
        rebuilt.extend(rest.split("\n"))
    assert rebuilt == f"{notice.subject}\n\n{notice.body}".split("\n")  # whole lines, in order


def test_wecom_content_of_exactly_2048_bytes_is_one_message(http: HTTPRecorder) -> None:
    body = "留" * ((WECOM_MAX_BYTES - 2) // 3) + "x" * ((WECOM_MAX_BYTES - 2) % 3)
    assert len(body.encode("utf-8")) == WECOM_MAX_BYTES - 2
    WecomNotifier(http.url).send(Notice("k", "g", "", body + "ab", "school_summary"))
    WecomNotifier(http.url).send(Notice("k2", "g", "", body + "abc", "school_summary"))
    sizes = [len(r.json["text"]["content"].encode()) for r in http.requests]
    assert sizes[0] == WECOM_MAX_BYTES
    assert len(sizes) == 3
    assert all(s <= WECOM_MAX_BYTES for s in sizes)


@pytest.mark.parametrize(
    "reply",
    [
        b'{"errcode":93000,"errmsg":"invalid webhook url"}',
        b'{"errcode":45009,"errmsg":"api freq out of limit"}',
        b"<html>not json</html>",
        b'{"ok":true}',
    ],
)
def test_wecom_errcode_or_odd_reply_is_a_failure(http: HTTPRecorder, reply: bytes) -> None:
    http.default = Reply(200, reply)
    with pytest.raises(NotifierError, match=r"errcode|reply") as info:
        WecomNotifier(http.url).send(NOTICE)
    assert "SECRET" not in str(info.value)


def test_wecom_parts_go_one_by_one_each_with_its_own_idempotency_key(http: HTTPRecorder) -> None:
    notice = _long_notice(200)
    wecom = WecomNotifier(http.url)
    n = wecom.parts(notice)
    assert n >= 3
    assert isinstance(wecom, PartedNotifier)
    wecom.send_part(notice, 2)
    [request] = http.requests
    assert request.json["text"]["content"].startswith(f"(2/{n})\n")
    assert request.headers[IDEMPOTENCY_HEADER] == f"{notice.key}/2"
    wecom.send(notice)  # without an outbox: every part, in order
    marks = [r.json["text"]["content"].partition("\n")[0] for r in http.requests[1:]]
    assert marks == [f"({i}/{n})" for i in range(1, n + 1)]
    assert http.acknowledged()[1:] == [f"{notice.key}/{i}" for i in range(1, n + 1)]
    with pytest.raises(ValueError, match="part"):
        wecom.send_part(notice, n + 1)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_rate_limiter_allows_20_a_minute_then_waits() -> None:
    clock = FakeClock()
    limiter = RateLimiter(20, 60.0, clock=clock, sleep=clock.sleep)
    for _ in range(20):
        limiter.acquire()
        clock.now += 1.0
    assert clock.sleeps == []
    limiter.acquire()  # the 21st waits until the first is a minute old
    assert clock.sleeps == [40.0]
    assert clock.now == 1060.0
    stamps: list[float] = []
    for _ in range(100):
        limiter.acquire()
        stamps.append(clock.now)
    window = deque[float]()
    for t in stamps:
        window.append(t)
        while window[0] <= t - 60.0:
            window.popleft()
        assert len(window) <= 20


def test_wecom_respects_the_rate_limit(http: HTTPRecorder) -> None:
    clock = FakeClock()
    wecom = WecomNotifier(http.url, limiter=RateLimiter(20, 60.0, clock=clock, sleep=clock.sleep))
    for i in range(25):
        wecom.send(Notice(f"k{i}", "g", "s", "b", "school_summary"))
    assert len(http.requests) == 25
    assert clock.sleeps == [60.0]  # all 20 in the same instant, then a wait of a minute


@given(
    st.lists(
        st.text(st.characters(blacklist_categories=["Cs"]), max_size=40), min_size=1, max_size=30
    ),
    st.integers(4, 64),
)
def test_split_utf8_keeps_each_piece_within_the_limit_and_loses_nothing(
    lines: list[str], limit: int
) -> None:
    text = "\n".join(lines)
    pieces = split_utf8(text, limit)
    assert all(len(p.encode("utf-8")) <= limit for p in pieces)
    assert "".join(pieces).replace("\n", "") == text.replace("\n", "")
    if all(len(line.encode("utf-8")) <= limit for line in text.split("\n")):
        assert "\n".join(pieces) == text


# ---------------------------------------------------------------------------------------------
# e-mail


def test_email_is_sent_in_utf8_with_a_message_id_from_the_key(
    smtp: tuple[Mailbox, int],
) -> None:
    box, port = smtp
    mailer = EmailNotifier(
        "127.0.0.1", "关爱办 <care@school.cn>", port=port, to="{recipient}@school.cn"
    )
    mailer.send(NOTICE)
    [msg] = box.messages
    assert msg["Subject"] == NOTICE.subject
    assert msg["To"] == "T001@school.cn"
    assert msg["From"] == "关爱办 <care@school.cn>"
    assert msg["Message-ID"] == message_id(NOTICE.key, "school.cn")
    assert msg["X-Leftbehind-Kind"] == "duty_digest"
    assert msg.get_content_charset() == "utf-8"
    body = msg.get_content()
    assert isinstance(body, str)
    assert body.replace("\r\n", "\n").rstrip("\n") == NOTICE.body
    assert box.envelopes == [("care@school.cn", ["T001@school.cn"])]
    mailer.send(NOTICE)  # sent again after a crash: the same Message-ID, so it can be dropped
    assert box.messages[1]["Message-ID"] == msg["Message-ID"]
    assert message_id("other", "school.cn") != msg["Message-ID"]


def test_email_to_the_notices_recipient_when_it_is_an_address(smtp: tuple[Mailbox, int]) -> None:
    box, port = smtp
    mailer = EmailNotifier("127.0.0.1", "care@school.cn", port=port)
    mailer.send(Notice("k1", "head@school.cn", "主题", "内容", "duty_overdue"))
    assert box.envelopes == [("care@school.cn", ["head@school.cn"])]
    with pytest.raises(NotifierError, match="not an address"):
        mailer.send(NOTICE)  # recipient "T001" and no 'to' setting
    assert len(box.messages) == 1


def test_email_refused_or_unreachable_is_a_failure(smtp: tuple[Mailbox, int]) -> None:
    box, port = smtp
    box.refuse = True
    with pytest.raises(NotifierError, match=r"refused|550") as info:
        EmailNotifier("127.0.0.1", "care@school.cn", port=port, to="x@school.cn").send(NOTICE)
    assert "x@school.cn" not in str(info.value)
    with pytest.raises(NotifierError, match="sending failed"):
        EmailNotifier("127.0.0.1", "care@school.cn", port=free_port(), to="x@y.cn").send(NOTICE)
    assert box.messages == []


def _certificate(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


def test_email_starttls_and_login(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cert, key = _certificate(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    box = Mailbox()
    port = free_port()
    controller = Controller(
        box,
        hostname="127.0.0.1",
        port=port,
        tls_context=context,
        require_starttls=True,
        authenticator=box.authenticate,
        auth_require_tls=True,
    )
    controller.start()
    try:
        config = {
            "host": "127.0.0.1",
            "port": str(port),
            "from": "care@school.cn",
            "to": "head@school.cn",
            "starttls": "true",
            "user": "school",
            "password_env": PASSWORD_VAR,
            "cafile": str(cert),
        }
        mailer = _plugins().notifier("email", config)
        monkeypatch.setenv(PASSWORD_VAR, "s3cret")
        mailer.send(NOTICE)
        assert box.logins == ["school"]
        assert [m["Subject"] for m in box.messages] == [NOTICE.subject]
        monkeypatch.setenv(PASSWORD_VAR, "wrong")  # read at each send
        with pytest.raises(NotifierError, match=r"535|sending failed"):
            mailer.send(NOTICE)
        monkeypatch.setenv(PASSWORD_VAR, "s3cret")
        with pytest.raises(NotifierError):  # the server's certificate is not trusted
            _plugins().notifier("email", {**config, "cafile": ""}).send(NOTICE)
        assert len(box.messages) == 1
    finally:
        controller.stop()


# ---------------------------------------------------------------------------------------------
# Hooks into each other: a notifier built through the plugin facade is the protocol's.


def test_every_built_in_notifier_satisfies_the_protocol(
    http: HTTPRecorder, smtp: tuple[Mailbox, int]
) -> None:
    box, port = smtp
    notifiers: list[Callable[[], Notifier]] = [
        LogNotifier,
        lambda: WebhookNotifier(http.url),
        lambda: WecomNotifier(http.url),
        lambda: EmailNotifier("127.0.0.1", "c@s.cn", port=port, to="h@s.cn"),
    ]
    for make in notifiers:
        notifier = make()
        assert isinstance(notifier, Notifier)
        notifier.send(NOTICE)
    assert len(http.requests) == 2
    assert len(box.messages) == 1


def test_build_notifiers_from_channel_settings(http: HTTPRecorder) -> None:
    plugins = _plugins()
    built = build_notifiers(
        plugins,
        {
            "wecom-S01": {"type": "wecom", "url": http.base, "key_env": KEY_VAR},
            "audit": {"type": "log", "logger": "leftbehind.audit"},
        },
    )
    assert isinstance(built["wecom-S01"], WecomNotifier)
    assert isinstance(built["audit"], LogNotifier)
    assert built["audit"].logger.name == "leftbehind.audit"
    with pytest.raises(ValueError, match="'mail' has no 'type'"):
        build_notifiers(plugins, {"mail": {"host": "127.0.0.1"}})
    with pytest.raises(UnknownNameError, match="no notifier named 'sms'"):
        build_notifiers(plugins, {"mail": {"type": "sms"}})
    # A channel whose sends may outlast the outbox's claim on a notice is refused.
    slow = {"hook": {"type": "webhook", "url": http.base, "timeout": "600"}}
    with pytest.raises(NotifierConfigError, match="not less than the outbox's claim") as info:
        build_notifiers(plugins, slow)
    assert info.value.key == "timeout"
    hook = build_notifiers(plugins, slow, lease=timedelta(hours=1))["hook"]
    assert isinstance(hook, WebhookNotifier)
    assert hook.deadline == 600


# ---------------------------------------------------------------------------------------------
# Deadlines: a server trickling its answer fails the call at the deadline (R15).


def test_a_webhook_trickling_its_reply_fails_at_the_deadline(http: HTTPRecorder) -> None:
    # Each byte comes well within the 1 s timeout, the whole reply only after ~20 s: a timeout
    # per read would wait for all of it, and take the notice as delivered.
    http.default = Reply(200, b"{}", trickle=0.2)
    with pytest.raises(NotifierError, match="no complete answer within 1 s") as info:
        WebhookNotifier(http.url, timeout=1.0).send(NOTICE)
    assert "SECRET" not in str(info.value)
    assert len(http.requests) == 1  # it was sent, and is not taken as delivered


def test_wecom_trickling_its_reply_fails_at_the_deadline(http: HTTPRecorder) -> None:
    http.default = Reply(200, WECOM_OK, trickle=0.2)
    with pytest.raises(NotifierError, match="within 1 s"):
        WecomNotifier(http.url, timeout=1.0).send(NOTICE)


class TricklingSMTP:
    """A correct SMTP server on 127.0.0.1 that sends its greeting a byte every ``pause`` s."""

    def __init__(self, pause: float) -> None:
        self.pause = pause
        self.accepted: list[bytes] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(30)  # a test that never connects does not hang
        self.port: int = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._serve)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._thread.join()
        self._listener.close()

    def _serve(self) -> None:
        conn, _ = self._listener.accept()
        with conn, conn.makefile("rb") as lines:
            try:
                for byte in b"220 mail.school.cn ESMTP slow but sure\r\n":
                    conn.sendall(bytes([byte]))
                    time.sleep(self.pause)
                self._converse(conn, lines)
            except OSError:
                pass  # the client gave up

    def _converse(self, conn: socket.socket, lines: Any) -> None:
        while line := lines.readline():
            verb = line[:4].upper()
            if verb == b"DATA":
                conn.sendall(b"354 go on\r\n")
                body = b""
                while (part := lines.readline()) not in (b".\r\n", b""):
                    body += part
                self.accepted.append(body)
                conn.sendall(b"250 OK\r\n")
            elif verb == b"QUIT":
                conn.sendall(b"221 bye\r\n")
                return
            else:
                conn.sendall(b"250 OK\r\n")


def test_an_smtp_server_trickling_its_answers_fails_at_the_deadline() -> None:
    with TricklingSMTP(pause=0.25) as server:  # the greeting alone takes ~10 s
        mailer = EmailNotifier("127.0.0.1", "care@school.cn", port=server.port, to="h@s.cn")
        mailer.timeout = 1.0
        with pytest.raises(NotifierError, match="sending failed"):
            mailer.send(NOTICE)
    assert server.accepted == []


def test_the_trickling_smtp_server_does_deliver_to_a_patient_client() -> None:
    # The server above is a working one: only the deadline makes the difference.
    with TricklingSMTP(pause=0.01) as server:
        EmailNotifier("127.0.0.1", "care@school.cn", port=server.port, to="h@s.cn").send(NOTICE)
    [body] = server.accepted
    assert message_id(NOTICE.key, "school.cn").encode() in body


def test_the_rate_limiter_gives_up_rather_than_wait_past_its_timeout() -> None:
    clock = FakeClock()
    limiter = RateLimiter(1, 60.0, clock=clock, sleep=clock.sleep)
    limiter.acquire(timeout=1.0)
    with pytest.raises(TimeoutError):
        limiter.acquire(timeout=30.0)  # the slot frees in 60 s
    assert clock.sleeps == []
    limiter.acquire(timeout=60.0)
    assert clock.sleeps == [60.0]


# ---------------------------------------------------------------------------------------------
# Credentials: named by environment variables, never held in settings.

ROBOT_KEY = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"


@pytest.mark.parametrize(
    ("channel", "config", "setting"),
    [
        ("webhook", {"url": "http://127.0.0.1/h", "token": ROBOT_KEY}, "token"),
        ("webhook", {"url": f"https://hook.example.cn/x?access_token={ROBOT_KEY}"}, "url"),
        ("webhook", {"url": f"https://care:{ROBOT_KEY}@hook.example.cn/x"}, "url"),
        ("wecom", {"url": f"{WECOM_URL}?key={ROBOT_KEY}"}, "url"),
        ("wecom", {"key": ROBOT_KEY}, "key"),
        (
            "email",
            {"host": "127.0.0.1", "from": "a@s.cn", "user": "school", "password": ROBOT_KEY},
            "password",
        ),
    ],
)
def test_a_secret_in_clear_is_refused_naming_the_setting_not_the_value(
    channel: str, config: dict[str, str], setting: str
) -> None:
    with pytest.raises(NotifierConfigError) as info:
        _plugins().notifier(channel, config)
    assert info.value.key == setting
    assert "in clear" in str(info.value)
    assert ROBOT_KEY not in str(info.value)
    # and whatever the notifier, when a channel is built from settings
    with pytest.raises(NotifierConfigError) as again:
        build_notifiers(_plugins(), {"mail": {"type": "log", **config}})
    assert again.value.key == setting
    assert ROBOT_KEY not in str(again.value)


def test_clear_secrets_tells_secrets_from_their_references() -> None:
    assert clear_secrets({"password": "x", "api_key": "x", "secret_token": "x"}) == [
        "api_key",
        "password",
        "secret_token",
    ]
    harmless = {
        "key_env": KEY_VAR,
        "password_env": "P",
        "token_env": "T",
        "url": "https://hook.example.cn/x?channel=3",
        "host": "smtp.school.cn",
        "user": "care",
        "message_id_domain": "school.cn",
        "password": "",  # nothing held
    }
    assert clear_secrets(harmless) == []


def test_secrets_are_read_from_the_environment_at_each_send(
    http: HTTPRecorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    plugins = _plugins()
    monkeypatch.setenv("LEFTBEHIND_TEST_HOOK_URL", f"{http.base}?sig=abc")
    webhook = plugins.notifier(
        "webhook", {"url_env": "LEFTBEHIND_TEST_HOOK_URL", "token_env": TOKEN_VAR}
    )
    wecom = plugins.notifier("wecom", {"url": http.base, "key_env": KEY_VAR})
    monkeypatch.setenv(TOKEN_VAR, "tkn-1")
    monkeypatch.setenv(KEY_VAR, ROBOT_KEY)
    webhook.send(NOTICE)
    wecom.send(NOTICE)
    monkeypatch.setenv(TOKEN_VAR, "tkn-2")  # a rotated secret is used at once
    webhook.send(NOTICE)
    hook1, robot, hook2 = http.requests
    assert (hook1.path, hook1.headers["Authorization"]) == ("/hook?sig=abc", "Bearer tkn-1")
    assert hook2.headers["Authorization"] == "Bearer tkn-2"
    assert robot.path == f"/hook?key={ROBOT_KEY}"
    assert ROBOT_KEY not in repr(wecom)
    assert "LEFTBEHIND" not in repr(webhook)


def test_a_missing_environment_variable_is_a_typed_failure_of_the_send(
    http: HTTPRecorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(KEY_VAR, raising=False)
    monkeypatch.setenv("LEFTBEHIND_TEST_HOOK_URL", "ftp://nowhere.cn/")
    wecom = _plugins().notifier("wecom", {"url": http.base, "key_env": KEY_VAR})
    with pytest.raises(MissingCredentialError) as info:
        wecom.send(NOTICE)
    assert isinstance(info.value, NotifierError)
    assert (info.value.setting, info.value.variable) == ("key_env", KEY_VAR)
    assert (
        str(info.value)
        == f"wecom: the environment variable {KEY_VAR!r} named by 'key_env' is not set"
    )
    monkeypatch.setenv(KEY_VAR, "")  # empty is missing
    with pytest.raises(MissingCredentialError):
        wecom.send(NOTICE)
    webhook = WebhookNotifier(EnvSecret("LEFTBEHIND_TEST_HOOK_URL", "url_env"))
    with pytest.raises(NotifierError, match="does not hold an http") as bad:
        webhook.send(NOTICE)
    assert "nowhere" not in str(bad.value)
    assert http.requests == []


def test_the_notifier_plugin_of_the_docs_works_as_written(
    http: HTTPRecorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = (Path(__file__).parent.parent / "docs" / "notifications.md").read_text("utf-8")
    [block] = [
        b
        for b in re.findall(r"```python\n(.*?)```", page, flags=re.S)
        if b.startswith("# ourcounty_leftbehind/sms.py")
    ]
    namespace: dict[str, Any] = {}
    exec(compile(block, "sms.py", "exec"), namespace)  # noqa: S102 (our own docs)
    [record] = namespace["leftbehind_notifiers"]()
    sms = record.factory({"gateway": http.base, "token_env": TOKEN_VAR})
    with pytest.raises(MissingCredentialError):
        sms.send(NOTICE)
    monkeypatch.setenv(TOKEN_VAR, "tkn")
    sms.send(NOTICE)
    [request] = http.requests
    assert request.headers[IDEMPOTENCY_HEADER] == NOTICE.key
    assert request.headers["Authorization"] == "Bearer tkn"
    assert request.json == {"to": "T001", "text": NOTICE.body}
