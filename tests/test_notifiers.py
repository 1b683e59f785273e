"""Built-in notifiers against real servers on 127.0.0.1: an HTTP server, aiosmtpd for SMTP."""

from __future__ import annotations

import email
import email.policy
import json
import logging
import socket
import ssl
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
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
    EmailNotifier,
    LogNotifier,
    NotifierConfigError,
    NotifierError,
    RateLimiter,
    WebhookNotifier,
    WecomNotifier,
    message_id,
    split_utf8,
)
from leftbehind.errors import UnknownNameError
from leftbehind.notifiers import Notice, Notifier
from leftbehind.outbox import build_notifiers
from leftbehind.plugins import Plugins, make_plugin_manager

NOTICE = Notice(
    key="digest:T001:2025-W11",
    recipient="T001",
    subject="本週待辦 2 項（2025-W11）",
    body="三年級2班\n· C000123 談心（3月14日前）\n· C000124 溫馨家訪（3月31日前）",
    kind="duty_digest",
)
WECOM_OK = b'{"errcode":0,"errmsg":"ok"}'


# ---------------------------------------------------------------------------------------------
# A real HTTP server on 127.0.0.1, started and stopped by the test.


@frozen
class Reply:
    status: int = 200
    body: bytes = WECOM_OK
    delay: float = 0.0


@frozen
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int

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
                        Received(self.path, dict(self.headers.items()), body, reply.status)
                    )
                if reply.delay:
                    time.sleep(reply.delay)
                try:
                    self.send_response(reply.status)
                    if 300 <= reply.status < 400:
                        self.send_header("Location", "/elsewhere")
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

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
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/hook?key=SECRET-ROBOT-KEY"

    def acknowledged(self) -> list[str]:
        """Idempotency keys of the requests answered 2xx, in order, duplicates included."""
        return [
            r.headers.get(IDEMPOTENCY_HEADER, "") for r in self.requests if 200 <= r.status < 300
        ]

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
        "webhook": plugins.notifier("webhook", {"url": http.url, "timeout": "3"}),
        "wecom": plugins.notifier("wecom", {"url": http.url, "per_minute": "10"}),
        "email": plugins.notifier("email", {"host": "127.0.0.1", "from": "a@school.cn"}),
    }
    assert isinstance(built["log"], LogNotifier)
    assert isinstance(built["webhook"], WebhookNotifier)
    assert built["webhook"].timeout == 3
    assert isinstance(built["wecom"], WecomNotifier)
    assert built["wecom"].limiter.limit == 10
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
        ("wecom", {"url": "ftp://example.cn/"}, "url"),
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
    assert "三年級" not in caplog.text


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
    assert "三年級2班".encode() in request.body  # UTF-8, not \\u escapes
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


def test_wecom_posts_a_text_message(http: HTTPRecorder) -> None:
    WecomNotifier(http.url).send(NOTICE)
    [request] = http.requests
    assert request.json == {
        "msgtype": "text",
        "text": {"content": f"{NOTICE.subject}\n\n{NOTICE.body}"},
    }


def _long_notice(lines: int) -> Notice:
    body = "\n".join(f"· 第{i:03d}行 三年級2班 C{i:06d} 談心（3月14日前）" for i in range(lines))
    return Notice("digest:T009:2025-W11", "group:S01", "本週待辦", body, "duty_digest")


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


def test_wecom_retry_does_not_repost_the_parts_already_posted(http: HTTPRecorder) -> None:
    notice = _long_notice(200)
    n = len(WecomNotifier.messages(notice))
    assert n >= 3
    http.script.extend([Reply(), Reply(200, b'{"errcode":45009,"errmsg":"freq"}')])
    wecom = WecomNotifier(http.url)
    with pytest.raises(NotifierError):
        wecom.send(notice)
    wecom.send(notice)
    marks = [r.json["text"]["content"].partition("\n")[0] for r in http.requests]
    assert marks == [f"(1/{n})", f"(2/{n})"] + [f"({i}/{n})" for i in range(2, n + 1)]
    wecom.send(notice)  # a notice sent again from the start (a new run) posts every part
    assert len(http.requests) == 2 + (n - 1) + n


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
        "127.0.0.1", "關愛辦 <care@school.cn>", port=port, to="{recipient}@school.cn"
    )
    mailer.send(NOTICE)
    [msg] = box.messages
    assert msg["Subject"] == NOTICE.subject
    assert msg["To"] == "T001@school.cn"
    assert msg["From"] == "關愛辦 <care@school.cn>"
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
    mailer.send(Notice("k1", "head@school.cn", "主題", "內容", "duty_overdue"))
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


def test_email_starttls_and_login(tmp_path: Path) -> None:
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
            "password": "s3cret",
            "cafile": str(cert),
        }
        _plugins().notifier("email", config).send(NOTICE)
        assert box.logins == ["school"]
        assert [m["Subject"] for m in box.messages] == [NOTICE.subject]
        with pytest.raises(NotifierError, match=r"535|sending failed"):
            _plugins().notifier("email", {**config, "password": "wrong"}).send(NOTICE)
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
            "wecom-S01": {"type": "wecom", "url": http.url},
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
