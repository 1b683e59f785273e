"""The outbox and the notices (R10): never lost, never sent twice once marked, one digest a week.

The outbox functions are tested on the memory store (and a TinyDB file where the file matters);
queueing and delivering through the county handle runs on every backend (``store_url``).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.test_notifiers import KEY_VAR, TOKEN_VAR, HTTPRecorder, Reply, _plugins

import leftbehind
from leftbehind.access import AccessDeniedError, Actor
from leftbehind.backends.memory import open_memory
from leftbehind.backends.notify import IDEMPOTENCY_HEADER, WebhookNotifier, WecomNotifier
from leftbehind.backends.tinydb import open_tinydb
from leftbehind.digest import (
    DutyItem,
    FileGap,
    incomplete_file_notices,
    iso_week,
    overdue_notices,
    school_summary,
    status_notices,
    weekly_digest,
    weekly_digests,
)
from leftbehind.notifiers import Notice, NotifierConfigError
from leftbehind.outbox import (
    KIND,
    Backoff,
    DeliveryReport,
    build_notifiers,
    deliver,
    enqueue,
    enqueue_many,
    failed,
    forget_sent,
    pending,
    retry,
    sent,
)
from leftbehind.plugins import Plugins
from leftbehind.service import County
from leftbehind.store import Store
from leftbehind.testing.synthetic import SyntheticCounty, synthetic_county

T0 = datetime(2025, 3, 10, 8, 0, tzinfo=UTC)


def notice(i: int, kind: str = "duty_digest") -> Notice:
    return Notice(f"n:{i:03d}", f"T{i:03d}", f"主题{i}", f"内容 C{i:06d}", kind)


class Recorder:
    """A notifier that keeps what it was sent, failing while ``fail`` is positive."""

    def __init__(self, fail: int = 0) -> None:
        self.fail = fail
        self.calls = 0
        self.received: list[str] = []

    def send(self, notice: Notice) -> None:
        self.calls += 1
        if self.fail > 0:
            self.fail -= 1
            raise ConnectionError("the gateway is down")
        self.received.append(notice.key)


class Crash(BaseException):
    """Stands for a SIGKILL inside the process: nothing in deliver catches it."""


@pytest.fixture
def store() -> Iterator[Store]:
    with open_memory("memory://") as s:
        yield s


def put(store: Store, *notices: Notice, channel: str = "default") -> None:
    with store.unit_of_work() as uow:
        enqueue_many(uow, notices, channel=channel, at=T0)
        uow.commit()


# ---------------------------------------------------------------------------------------------
# Enqueueing.


def test_a_notice_is_written_with_the_change_or_not_at_all(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.put("child", "C000001", {"grade": 3})
        assert enqueue(uow, notice(1), at=T0)
        assert [k for k, _ in uow.scan(KIND)] == ["n:001"]  # the unit of work sees its own
    assert store.count(KIND) == 0
    assert store.get("child", "C000001") is None  # rolled back together
    with store.unit_of_work() as uow:
        uow.put("child", "C000001", {"grade": 3})
        enqueue(uow, notice(1), at=T0)
        uow.commit()
    assert [e.notice for e in pending(store)] == [notice(1)]
    assert store.get("child", "C000001") == {"grade": 3}


def test_enqueueing_a_key_twice_keeps_the_first(store: Store) -> None:
    put(store, notice(1))
    changed = Notice("n:001", "T999", "改了", "改了", "duty_digest")
    with store.unit_of_work() as uow:
        assert not enqueue(uow, changed, at=T0 + timedelta(days=1))
        assert enqueue_many(uow, [notice(1), notice(2), notice(2)], at=T0) == 1
        uow.commit()
    assert [e.notice for e in pending(store)] == [notice(1), notice(2)]
    deliver(store, {"default": Recorder()}, now=T0)
    with store.unit_of_work() as uow:  # and once sent, it is still recognised
        assert not enqueue(uow, notice(1))
        uow.commit()
    assert [e.notice.key for e in sent(store)] == ["n:001", "n:002"]
    assert pending(store) == []


def test_times_must_be_timezone_aware(store: Store) -> None:
    with store.unit_of_work() as uow, pytest.raises(ValueError, match="timezone"):
        enqueue(uow, notice(1), at=datetime(2025, 3, 10))
    with pytest.raises(ValueError, match="timezone"):
        deliver(store, {}, now=datetime(2025, 3, 10))


# ---------------------------------------------------------------------------------------------
# Delivering.


def test_deliver_sends_due_notices_oldest_first_and_marks_them(store: Store) -> None:
    with store.unit_of_work() as uow:
        enqueue(uow, notice(3), at=T0)
        enqueue(uow, notice(1), at=T0 + timedelta(hours=1))
        enqueue(uow, notice(2), at=T0 + timedelta(days=1))  # not yet due
        uow.commit()
    recorder = Recorder()
    report = deliver(store, {"default": recorder}, now=T0 + timedelta(hours=2))
    assert recorder.received == ["n:003", "n:001"]
    assert report.sent == ("n:003", "n:001")
    assert report.ok
    assert report.next_due == T0 + timedelta(days=1)
    [entry] = pending(store)
    assert entry.notice.key == "n:002"
    assert {e.notice.key: e.sent_at for e in sent(store)} == {
        "n:003": T0 + timedelta(hours=2),
        "n:001": T0 + timedelta(hours=2),
    }
    again = deliver(store, {"default": recorder}, now=T0 + timedelta(hours=3))
    assert again.sent == ()
    assert recorder.received == ["n:003", "n:001"]  # a sent notice is never sent again


def test_each_channel_has_its_notifier_and_one_failing_never_stops_another(store: Store) -> None:
    put(store, notice(1), notice(2), channel="wecom-S01")
    put(store, notice(3), channel="mail")
    put(store, notice(4), channel="sms")  # nobody configured it
    wecom, mail = Recorder(fail=99), Recorder()
    report = deliver(store, {"wecom-S01": wecom, "mail": mail}, now=T0)
    assert report.sent == ("n:003",)
    assert report.retrying == ("n:001", "n:002")
    assert report.unrouted == ("n:004",)
    assert report.errors == {
        "n:001": "ConnectionError: the gateway is down",
        "n:002": "ConnectionError: the gateway is down",
    }
    assert not report.ok
    unrouted = [e for e in pending(store) if e.notice.key == "n:004"]
    assert unrouted[0].attempts == 0  # not counted against it
    report = deliver(store, lambda n, channel: mail, now=T0)  # a router
    assert report.sent == ("n:004",)


def test_failures_back_off_exponentially_with_a_cap(store: Store) -> None:
    assert [Backoff()(n) for n in (1, 2, 3, 4)] == [timedelta(minutes=m) for m in (1, 2, 4, 8)]
    assert Backoff()(10) == Backoff()(10_000) == timedelta(hours=6)
    put(store, notice(1))
    flaky = Recorder(fail=3)
    now = T0
    waits = []
    while deliver(store, {"default": flaky}, now=now).sent == ():
        [entry] = pending(store)
        assert entry.last_error == "ConnectionError: the gateway is down"
        assert entry.due is not None
        assert deliver(store, {"default": flaky}, now=entry.due - timedelta(seconds=1)).sent == ()
        waits.append(entry.due - now)
        now = entry.due
    assert waits == [timedelta(minutes=1), timedelta(minutes=2), timedelta(minutes=4)]
    assert flaky.calls == 4
    assert [(e.notice.key, e.attempts) for e in sent(store)] == [("n:001", 4)]


def test_a_notifier_failing_five_times_then_succeeding_delivers_each_notice_once(
    store: Store,
) -> None:
    put(store, *(notice(i) for i in range(4)))
    with HTTPRecorder() as server:
        server.script.extend(Reply(500, b"{}") for _ in range(5))
        webhook = WebhookNotifier(server.url)
        now, runs = T0, 0
        while pending(store):
            report = deliver(store, {"default": webhook}, now=now)
            assert report.parked == ()
            assert report.next_due is None or report.next_due > now
            now = report.next_due or now
            runs += 1
    assert runs > 1
    assert len(server.requests) == 4 + 5
    assert sorted(server.acknowledged()) == [f"n:{i:03d}" for i in range(4)]  # each exactly once
    assert len(sent(store)) == 4


def test_a_single_notice_failing_five_times_is_delivered_once(store: Store) -> None:
    put(store, notice(1))
    flaky = Recorder(fail=5)
    now = T0
    for _ in range(10):
        report = deliver(store, {"default": flaky}, now=now)
        now += timedelta(hours=7)  # past any backoff
    assert flaky.calls == 6
    assert flaky.received == ["n:001"]
    assert [e.attempts for e in sent(store)] == [6]
    assert report.sent == ()


def test_after_max_attempts_a_notice_is_parked_kept_and_retryable(store: Store) -> None:
    put(store, notice(1), notice(2))
    down = Recorder(fail=6)
    reports = [
        deliver(store, {"default": down}, now=T0 + timedelta(hours=7 * i), max_attempts=3)
        for i in range(4)
    ]
    assert reports[2].parked == ("n:001", "n:002")
    assert reports[3].sent == reports[3].parked == ()
    assert pending(store) == []
    parked = failed(store)
    assert [(e.notice, e.attempts, e.state) for e in parked] == [
        (notice(1), 3, "failed"),
        (notice(2), 3, "failed"),
    ]
    assert store.count(KIND) == 2  # kept
    assert retry(store, ["n:002"], now=T0 + timedelta(days=2)) == ["n:002"]
    report = deliver(store, {"default": down}, now=T0 + timedelta(days=2), max_attempts=3)
    assert report.sent == ("n:002",)
    assert [e.notice.key for e in failed(store)] == ["n:001"]
    assert retry(store, now=T0 + timedelta(days=3)) == ["n:001"]
    assert deliver(store, {"default": down}, now=T0 + timedelta(days=3)).sent == ("n:001",)
    assert down.received == ["n:002", "n:001"]


def test_a_notifier_timing_out_loses_nothing_and_the_receiver_dedupes(store: Store) -> None:
    put(store, notice(1), notice(2))
    with HTTPRecorder() as server:
        server.script.append(Reply(200, b"{}", delay=1.0))  # answers after the client gave up
        webhook = WebhookNotifier(server.url, timeout=0.2)
        first = deliver(store, {"default": webhook}, now=T0)
        assert first.sent == ("n:002",)
        assert first.retrying == ("n:001",)
        assert "NotifierError" in first.errors["n:001"]
        second = deliver(store, {"default": webhook}, now=T0 + timedelta(minutes=1))
        assert second.sent == ("n:001",)
    # The slow request did arrive: the retry carries the same key, so the receiver drops it.
    assert Counter(server.acknowledged()) == {"n:001": 2, "n:002": 1}
    assert [e.notice.key for e in sent(store)] == ["n:002", "n:001"]


class CrashAfterSend:
    """Sends, then dies before ``deliver`` can mark the notice (the process is killed)."""

    def __init__(self, inner: Recorder, crash_on: str) -> None:
        self.inner = inner
        self.crash_on = crash_on

    def send(self, notice: Notice) -> None:
        self.inner.send(notice)
        if notice.key == self.crash_on:
            raise Crash


def test_a_crash_between_send_and_mark_resends_that_one_notice_only(store: Store) -> None:
    put(store, *(notice(i) for i in range(5)))
    receiver = Recorder()
    with pytest.raises(Crash):
        deliver(store, {"default": CrashAfterSend(receiver, "n:002")}, now=T0)
    assert receiver.received == ["n:000", "n:001", "n:002"]
    # Restarted at once: the crashed run's claim on its batch still holds, so nothing goes.
    report = deliver(store, {"default": receiver}, now=T0 + timedelta(minutes=1))
    assert report.sent == ()
    assert report.busy == ()  # claimed notices are not due until the claim lapses
    assert [e.notice.key for e in pending(store)] == ["n:002", "n:003", "n:004"]
    # When the claim lapses they go; only n:002, the one in flight, a second time.
    report = deliver(store, {"default": receiver}, now=T0 + timedelta(minutes=11))
    assert report.sent == ("n:002", "n:003", "n:004")
    assert Counter(receiver.received) == {
        "n:000": 1,
        "n:001": 1,
        "n:002": 2,
        "n:003": 1,
        "n:004": 1,
    }
    assert deliver(store, {"default": receiver}, now=T0 + timedelta(days=1)).sent == ()


def test_two_deliverers_never_send_the_same_claimed_notice(store: Store) -> None:
    put(store, notice(1), notice(2))
    receiver = Recorder()

    class Reentrant:
        """While sending n:001, a second deliverer runs: it must not send n:001."""

        def __init__(self) -> None:
            self.inner: list[str] = []

        def send(self, n: Notice) -> None:
            if n.key == "n:001":
                other = deliver(store, {"default": receiver}, now=T0)
                assert other.sent == ()  # both are claimed by the first deliverer
            receiver.send(n)

    report = deliver(store, {"default": Reentrant()}, now=T0)
    assert report.sent == ("n:001", "n:002")
    assert sorted(receiver.received) == ["n:001", "n:002"]
    # one by one: while the first sends n:001, the second takes n:002 and sends it
    put(store, notice(3), notice(4))
    seen: list[tuple[str, ...]] = []

    class OneByOne:
        def send(self, n: Notice) -> None:
            if n.key == "n:003":
                seen.append(deliver(store, {"default": receiver}, now=T0, batch=1).sent)
            receiver.send(n)

    report = deliver(store, {"default": OneByOne()}, now=T0, batch=1)
    assert (report.sent, report.busy, seen) == (("n:003",), ("n:004",), [("n:004",)])
    assert Counter(receiver.received) == Counter(["n:001", "n:002", "n:003", "n:004"])


def test_a_batch_is_claimed_in_one_commit_and_each_notice_marked_in_one(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    put(store, *(notice(i) for i in range(45)))
    commits = 0
    unit_of_work = store.unit_of_work

    def counted() -> Any:
        uow = unit_of_work()
        commit = uow.commit

        def counting() -> None:
            nonlocal commits
            commits += 1
            commit()

        uow.commit = counting  # type: ignore[method-assign]
        return uow

    monkeypatch.setattr(store, "unit_of_work", counted)
    report = deliver(store, {"default": Recorder()}, now=T0, batch=20)
    assert len(report.sent) == 45
    assert commits == 3 + 45  # three claims (20, 20, 5), then one mark per notice
    with pytest.raises(ValueError, match="batch"):
        deliver(store, {"default": Recorder()}, now=T0, batch=0)


def test_limit_caps_a_run(store: Store) -> None:
    put(store, *(notice(i) for i in range(5)))
    assert deliver(store, {"default": Recorder()}, now=T0, limit=2).sent == ("n:000", "n:001")
    assert len(pending(store)) == 3


def test_forget_sent_blanks_content_but_keeps_the_key(store: Store) -> None:
    put(store, notice(1), notice(2))
    deliver(store, {"default": Recorder(fail=1)}, now=T0)  # n:001 fails, n:002 is sent
    assert forget_sent(store, before=T0 + timedelta(days=30)) == 1
    [done] = sent(store)
    assert (done.notice.key, done.notice.subject, done.notice.body) == ("n:002", "", "")
    assert pending(store)[0].notice == notice(1)  # unsent notices are never touched
    with store.unit_of_work() as uow:
        assert not enqueue(uow, notice(2))


def test_outbox_survives_reopening_a_tinydb_store(tmp_path: Path) -> None:
    path = str(tmp_path / "county.json")
    with open_tinydb(path) as store:
        put(store, notice(1), notice(2))
        deliver(store, {"default": Recorder(fail=1)}, now=T0)
    with open_tinydb(path) as store:
        [waiting] = pending(store)
        assert (waiting.notice, waiting.attempts) == (notice(1), 1)
        assert waiting.last_error == "ConnectionError: the gateway is down"
        assert [e.notice for e in sent(store)] == [notice(2)]
        receiver = Recorder()
        assert deliver(store, {"default": receiver}, now=T0 + timedelta(minutes=1)).sent == (
            "n:001",
        )
    with open_tinydb(path) as store:
        assert pending(store) == []
        assert len(sent(store)) == 2


_KILLED_DELIVERER = textwrap.dedent(
    """
    import os, signal, sys
    from datetime import datetime
    from leftbehind.backends.notify import WebhookNotifier
    from leftbehind.backends.tinydb import open_tinydb
    from leftbehind.outbox import deliver

    path, url, victim, now = sys.argv[1:5]
    webhook = WebhookNotifier(url)

    class KilledAfterSend:
        def send(self, notice):
            webhook.send(notice)
            if notice.key == victim:
                os.kill(os.getpid(), signal.SIGKILL)

    with open_tinydb(path) as store:
        deliver(store, {"default": KilledAfterSend()}, now=datetime.fromisoformat(now))
    """
)


def test_a_process_killed_between_send_and_mark_loses_nothing(tmp_path: Path) -> None:
    path = str(tmp_path / "county.json")
    keys = [f"n:{i:03d}" for i in range(6)]
    with open_tinydb(path) as store:
        put(store, *(notice(i) for i in range(6)))
    with HTTPRecorder() as server:
        done = subprocess.run(
            [sys.executable, "-c", _KILLED_DELIVERER, path, server.url, "n:003", T0.isoformat()],
            capture_output=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == -signal.SIGKILL, done.stderr.decode()
        assert server.acknowledged() == keys[:4]
        with open_tinydb(path) as store:  # a clean restart, after the claim lapsed
            assert [e.notice.key for e in sent(store)] == keys[:3]
            report = deliver(
                store, {"default": WebhookNotifier(server.url)}, now=T0 + timedelta(hours=1)
            )
            assert report.sent == tuple(keys[3:])
            assert (
                deliver(
                    store, {"default": WebhookNotifier(server.url)}, now=T0 + timedelta(days=1)
                ).sent
                == ()
            )
            assert [e.notice.key for e in sent(store)] == keys
            assert pending(store) == failed(store) == []
    acknowledged = Counter(server.acknowledged())
    assert set(acknowledged) == set(keys)  # the receiver, deduping by key, has each once
    assert acknowledged - Counter(keys) == Counter({"n:003": 1})  # only the in-flight one twice
    assert os.path.exists(path)


# ---------------------------------------------------------------------------------------------
# Leases, deadlines and parts (R15): a reply that trickles past the deadline, a notice whose
# middle part fails, two deliverers at once.


class Clock:
    """A monotonic clock moved by hand, for a run whose sends take long."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def wecom_notice(key: str, parts: int = 4) -> Notice:
    """A notice the WeCom robot takes in exactly ``parts`` messages (lines are added until it
    does)."""
    lines: list[str] = []
    for i in range(1000):
        made = Notice(key, "group:S01", "本周", "\n".join(lines), "school_summary")
        if len(WecomNotifier.messages(made)) == parts:
            return made
        lines.append(f"· 第{i:03d}行 三年级2班 待办 {i} 项（3月14日前）")
    raise AssertionError(f"no notice of {parts} parts")


def part_keys(n: Notice, parts: int) -> list[str]:
    return [f"{n.key}/{i}" for i in range(1, parts + 1)]


def test_a_trickling_webhook_leaves_its_notice_unmarked_and_a_healthy_one_sends_it_once(
    store: Store,
) -> None:
    put(store, notice(1))
    with HTTPRecorder() as slow:
        slow.default = Reply(200, b"{}", trickle=0.2)  # the whole answer would take ~20 s
        webhook = WebhookNotifier(slow.url, timeout=1.0)
        report = deliver(store, {"default": webhook}, now=T0, lease=timedelta(seconds=5))
    assert (report.sent, report.retrying) == ((), ("n:001",))
    assert "no complete answer within 1 s" in report.errors["n:001"]
    [waiting] = pending(store)
    assert (waiting.attempts, waiting.lease) == (1, None)
    with HTTPRecorder() as healthy:
        later = deliver(
            store, {"default": WebhookNotifier(healthy.url)}, now=T0 + timedelta(minutes=1)
        )
        assert later.sent == ("n:001",)
        assert (
            deliver(
                store, {"default": WebhookNotifier(healthy.url)}, now=T0 + timedelta(days=1)
            ).sent
            == ()
        )
    assert healthy.acknowledged() == ["n:001"]
    assert [(e.notice.key, e.attempts) for e in sent(store)] == [("n:001", 2)]


def test_a_notifier_that_may_outlast_the_lease_is_refused_before_anything_is_claimed(
    store: Store,
) -> None:
    put(store, notice(1))
    webhook = WebhookNotifier("http://127.0.0.1:9/", timeout=60.0)
    with pytest.raises(
        ValueError, match=re.escape("deadline (60 s) must be shorter than the lease (60 s)")
    ):
        deliver(store, {"default": webhook}, now=T0, lease=timedelta(seconds=60))
    [waiting] = pending(store)
    assert (waiting.attempts, waiting.lease) == (0, None)


def test_a_deliverer_whose_claim_lapsed_marks_nothing_and_the_new_holder_marks_it(
    store: Store,
) -> None:
    put(store, notice(1), notice(2))
    clock = Clock()
    receiver = Recorder()
    others: list[DeliveryReport] = []

    class Stalls:
        """Sending n:001 takes 11 minutes; meanwhile a second deliverer runs, at that time."""

        def send(self, n: Notice) -> None:
            if n.key == "n:001":
                clock.t += 11 * 60
                others.append(deliver(store, {"default": receiver}, now=T0 + timedelta(minutes=11)))
            receiver.send(n)

    report = deliver(store, {"default": Stalls()}, now=T0, clock=clock)
    [other] = others
    assert other.sent == ("n:001", "n:002")  # the first claim had lapsed: the second took both
    assert (report.sent, report.lapsed) == ((), ("n:001", "n:002"))
    assert not report.ok
    # Both sent n:001 (the first before it knew), one marked it; n:002 the first never sent.
    assert Counter(receiver.received) == {"n:001": 2, "n:002": 1}
    assert [(e.notice.key, e.attempts, e.lease) for e in sent(store)] == [
        ("n:001", 1, None),
        ("n:002", 1, None),
    ]


def test_a_lapsed_claim_nobody_took_is_left_for_the_next_run(store: Store) -> None:
    put(store, notice(1))
    clock = Clock()
    receiver = Recorder()

    class Slow:
        def send(self, n: Notice) -> None:
            clock.t += 11 * 60
            receiver.send(n)

    report = deliver(store, {"default": Slow()}, now=T0, clock=clock)
    assert (report.sent, report.retrying, report.lapsed) == ((), (), ("n:001",))
    [left] = pending(store)
    assert left.attempts == 0  # nothing was written by the run whose claim lapsed
    later = deliver(store, {"default": receiver}, now=T0 + timedelta(minutes=11))
    assert later.sent == ("n:001",)
    assert receiver.received == ["n:001", "n:001"]  # the same key twice: the receiver drops one


def test_claims_are_renewed_before_a_send_that_could_outlast_them(store: Store) -> None:
    put(store, *(notice(i) for i in range(5)))
    clock = Clock()

    class Slow(Recorder):
        deadline = 120.0  # seconds a send may take

        def send(self, n: Notice) -> None:
            clock.t += 100  # the batch's claim of 5 minutes ends during the third send
            super().send(n)

    slow = Slow()
    report = deliver(store, {"default": slow}, now=T0, clock=clock, lease=timedelta(minutes=5))
    assert report.sent == tuple(f"n:{i:03d}" for i in range(5))
    assert report.lapsed == ()
    assert slow.received == list(report.sent)


def test_a_split_wecom_notice_whose_second_part_fails_posts_each_part_once(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_VAR, "robot-key")
    long = wecom_notice("digest:T009:2025-W11", parts=4)
    put(store, long, channel="wecom")
    with HTTPRecorder() as robot:
        robot.script.extend(
            [Reply(), Reply(200, b'{"errcode":45009,"errmsg":"api freq out of limit"}')]
        )
        settings = {
            "wecom": {"type": "wecom", "url": robot.base, "key_env": KEY_VAR, "per_minute": "600"}
        }
        # Every run builds its notifiers anew, as county.deliver does: the progress is stored.
        first = deliver(store, build_notifiers(_plugins(), settings), now=T0)
        assert first.retrying == (long.key,)
        [waiting] = pending(store)
        assert waiting.posted == (1,)
        now = T0
        while pending(store):
            now += timedelta(hours=7)
            deliver(store, build_notifiers(_plugins(), settings), now=now)
    accepted = [r for r in robot.requests if r.accepted]
    marks = [r.json["text"]["content"].partition("\n")[0] for r in accepted]
    assert marks == ["(1/4)", "(2/4)", "(3/4)", "(4/4)"]  # each part once, in order
    assert robot.acknowledged() == part_keys(long, 4)
    assert [r.headers[IDEMPOTENCY_HEADER] for r in robot.requests] == [
        f"{long.key}/{i}" for i in (1, 2, 2, 3, 4)
    ]
    assert all(r.path == "/hook?key=robot-key" for r in robot.requests)
    [done] = sent(store)
    assert (done.posted, done.attempts) == ((1, 2, 3, 4), 2)


def test_parked_parts_stay_posted_after_retry(store: Store) -> None:
    long = wecom_notice("long:1", parts=3)
    put(store, long)
    with HTTPRecorder() as robot:
        robot.script.extend([Reply(), Reply(500, b"{}")])
        wecom = WecomNotifier(robot.url)
        assert deliver(store, {"default": wecom}, now=T0, max_attempts=1).parked == (long.key,)
        [parked] = failed(store)
        assert parked.posted == (1,)
        retry(store, now=T0 + timedelta(days=1))
        assert deliver(store, {"default": wecom}, now=T0 + timedelta(days=1)).sent == (long.key,)
    assert robot.acknowledged() == part_keys(long, 3)


class CrashAfterPart:
    """Posts a part, then dies before the outbox records it, on part ``crash_on``."""

    def __init__(self, inner: WecomNotifier, crash_on: int) -> None:
        self.inner = inner
        self.crash_on = crash_on

    def parts(self, n: Notice) -> int:
        return self.inner.parts(n)

    def send(self, n: Notice) -> None:
        self.inner.send(n)

    def send_part(self, n: Notice, part: int) -> None:
        self.inner.send_part(n, part)
        if part == self.crash_on:
            raise Crash


def test_a_crash_between_parts_resends_only_the_part_in_flight(store: Store) -> None:
    long = wecom_notice("long:1", parts=4)
    put(store, long)
    with HTTPRecorder() as robot:
        wecom = WecomNotifier(robot.url)
        with pytest.raises(Crash):
            deliver(store, {"default": CrashAfterPart(wecom, 2)}, now=T0)
        assert pending(store)[0].posted == (1,)
        later = deliver(store, {"default": wecom}, now=T0 + timedelta(minutes=11))
        assert later.sent == (long.key,)
    # Part 2 again, with its own key so a receiver can drop it; part 1 not again.
    assert robot.acknowledged() == [f"{long.key}/{i}" for i in (1, 2, 2, 3, 4)]


_CONCURRENT_DELIVERER = textwrap.dedent(
    """
    import json, os, sys, time
    from datetime import UTC, datetime, timedelta
    from leftbehind.backends.notify import RateLimiter, WebhookNotifier, WecomNotifier
    from leftbehind.notifiers import EnvSecret
    from leftbehind.outbox import deliver, pending
    from leftbehind.plugins import Plugins

    url, hook, robot, go = sys.argv[1:5]
    notifiers = {
        "hook": WebhookNotifier(hook, timeout=5),
        "wecom": WecomNotifier(
            robot,
            key=EnvSecret("LEFTBEHIND_TEST_WECOM_KEY", "key_env"),
            timeout=5,
            limiter=RateLimiter(10_000, 60),
        ),
    }
    marked, lapsed = [], []
    with Plugins.load().open_store(url) as store:
        while not os.path.exists(go):
            time.sleep(0.005)
        end = time.monotonic() + 60
        while pending(store) and time.monotonic() < end:
            report = deliver(
                store, notifiers, now=datetime.now(UTC), batch=2, backoff=lambda n: timedelta(0)
            )
            marked += report.sent
            lapsed += report.lapsed
            if not (report.sent or report.retrying):
                time.sleep(0.01)
    print(json.dumps({"sent": marked, "lapsed": lapsed}))
    """
)


@pytest.mark.parametrize("backend", ["tinydb", "sqlite"])
def test_two_deliverers_at_once_never_both_mark_a_notice_and_post_each_part_once(
    backend: str, tmp_path: Path
) -> None:
    url = (
        str(tmp_path / "county.json") if backend == "tinydb" else f"sqlite:///{tmp_path}/county.db"
    )
    short = [notice(i) for i in range(12)]
    long = [wecom_notice(f"long:{i}", parts=4) for i in range(4)]
    with Plugins.load().open_store(url) as store:
        put(store, *short, channel="hook")
        put(store, *long, channel="wecom")
    expected = Counter([n.key for n in short] + [k for n in long for k in part_keys(n, 4)])
    go = tmp_path / "go"
    with HTTPRecorder(default=Reply(delay=0.01)) as server:
        # Some requests fail, whichever deliverer sends them: those are retried.
        server.script.extend(
            [Reply(), Reply(500, b"{}"), Reply(), Reply(200, b'{"errcode":45009}'), Reply(502)]
        )
        runs = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    _CONCURRENT_DELIVERER,
                    url,
                    server.base,
                    server.base,
                    str(go),
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env={**os.environ, KEY_VAR: "robot-key"},
            )
            for _ in range(2)
        ]
        go.touch()
        outputs = [run.communicate(timeout=120) for run in runs]
    for run, (_, err) in zip(runs, outputs, strict=True):
        assert run.returncode == 0, err.decode()
    first, second = (json.loads(out) for out, _ in outputs)
    assert set(first["sent"]).isdisjoint(second["sent"])  # never both marked one notice
    assert sorted(first["sent"] + second["sent"]) == sorted(n.key for n in short + long)
    assert first["lapsed"] == second["lapsed"] == []
    assert Counter(server.acknowledged()) == expected  # each (notice, part) accepted once
    assert all(r.headers.get(IDEMPOTENCY_HEADER) in expected for r in server.requests)
    with Plugins.load().open_store(url) as store:
        assert pending(store) == failed(store) == []
        assert len(sent(store)) == len(short) + len(long)
        assert {e.posted for e in sent(store) if e.notice.key.startswith("long:")} == {(1, 2, 3, 4)}


# ---------------------------------------------------------------------------------------------
# The property: whatever fails, every notice ends sent exactly once, or still kept.

OUTCOMES = st.sampled_from(["ok", "ok", "fail", "crash_before", "crash_after"])


@given(
    n=st.integers(1, 6),
    rounds=st.lists(st.tuples(st.integers(0, 500), st.lists(OUTCOMES, max_size=8)), max_size=8),
    max_attempts=st.integers(1, 4),
)
def test_no_notice_is_ever_lost_or_sent_twice_once_marked(
    n: int, rounds: list[tuple[int, list[str]]], max_attempts: int
) -> None:
    keys = [f"n:{i:03d}" for i in range(n)]
    receipts: Counter[str] = Counter()
    resends: Counter[str] = Counter()  # sends after which the process died before marking

    class Scripted:
        def __init__(self, script: list[str]) -> None:
            self.script = list(script)

        def send(self, notice: Notice) -> None:
            outcome = self.script.pop(0) if self.script else "ok"
            if outcome == "fail":
                raise TimeoutError("no answer")
            if outcome == "crash_before":
                raise Crash
            receipts[notice.key] += 1
            if outcome == "crash_after":
                resends[notice.key] += 1
                raise Crash

    def check(store: Store) -> None:
        states = {e.notice.key: e.state for e in pending(store) + failed(store) + sent(store)}
        assert sorted(states) == keys  # nothing lost, nothing duplicated
        for key in keys:
            # Delivered at most once more than the times the process died right after sending.
            assert receipts[key] <= resends[key] + 1
            if states[key] == "sent":
                assert receipts[key] == resends[key] + 1

    with open_memory("memory://") as store:
        put(store, *(notice(i) for i in range(n)))
        now = T0
        for minutes, script in rounds:
            now += timedelta(minutes=minutes)
            with contextlib.suppress(Crash):
                deliver(store, {"default": Scripted(script)}, now=now, max_attempts=max_attempts)
            check(store)
        # Recovery: put parked notices back and let time pass beyond every claim and backoff.
        retry(store, now=now)
        for _ in range(2):
            now += timedelta(hours=7)
            deliver(store, {"default": Scripted([])}, now=now)
        check(store)
        assert sorted(e.notice.key for e in sent(store)) == keys
        assert receipts == Counter(keys) + resends


# ---------------------------------------------------------------------------------------------
# Through the county handle, on every backend.

HANDLE_DAY = date(2026, 1, 9)
SYSTEM = Actor.system("tests")


@pytest.fixture(scope="module")
def county_data() -> SyntheticCounty:
    return synthetic_county(seed=11, children=60, as_of=HANDLE_DAY)


def _open(url: str, actor: Actor = SYSTEM) -> County:
    return leftbehind.open(url, actor=actor, today=lambda: HANDLE_DAY)


def _load(county: County, data: SyntheticCounty) -> None:
    county.put_schools(data.facts.schools)
    county.put_children(data.facts.children)
    county.put_staff(data.staff)
    county.put_assignments(data.assignments)
    county.put_groups(data.groups)
    county.add_records(data.records[:150])


def test_notices_queued_through_the_handle_are_delivered_once(
    store_url: str, county_data: SyntheticCounty
) -> None:
    now = datetime(2026, 1, 9, 8, tzinfo=UTC)
    with _open(store_url) as county, HTTPRecorder() as server:
        _load(county, county_data)
        county.set_channels({"default": {"type": "webhook", "url": server.base}})
        queued = county.queue_week(HANDLE_DAY)
        assert queued > 0
        assert county.queue_week(HANDLE_DAY) == 0, "a second run in the same week queues nothing"
        waiting = {e.notice.key for e in county.notices()["pending"]}
        assert len(waiting) >= queued  # with the status changes the writes queued
        report = county.deliver(now=now)
        assert set(report.sent) == waiting
        assert report.ok
        assert sorted(server.acknowledged()) == sorted(waiting)  # each exactly once
        assert county.deliver(now=now + timedelta(days=1)).sent == ()
        state = county.notices()
        assert state["pending"] == state["failed"] == []
        assert {e.notice.key for e in state["sent"]} == waiting
    names = {c.name for c in county_data.facts.children}
    assert not any(name in r.body.decode() for r in server.requests for name in names)
    # Reopened, the store still knows what was sent: nothing is queued or sent again.
    with _open(store_url) as county:
        assert county.queue_week(HANDLE_DAY) == 0
        assert county.deliver(now=now + timedelta(days=2)).sent == ()
        assert len(county.notices()["sent"]) == len(waiting)


def test_a_failing_channel_loses_nothing_through_the_handle(
    store_url: str, county_data: SyntheticCounty
) -> None:
    now = datetime(2026, 1, 9, 8, tzinfo=UTC)
    with _open(store_url) as county, HTTPRecorder() as server:
        _load(county, county_data)
        county.set_channels({"default": {"type": "webhook", "url": server.base}})
        county.queue_week(HANDLE_DAY)
        waiting = {e.notice.key for e in county.notices()["pending"]}
        server.script.extend(Reply(500, b"{}") for _ in range(len(waiting)))
        first = county.deliver(now=now)
        assert first.sent == ()
        assert set(first.retrying) == waiting
        assert {e.attempts for e in county.notices()["pending"]} == {1}
        second = county.deliver(now=now + timedelta(hours=7))
        assert set(second.sent) == waiting
        assert Counter(server.acknowledged()) == Counter(waiting)


def test_channels_name_their_secrets_and_a_missing_one_keeps_the_notices(
    store_url: str, county_data: SyntheticCounty, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "hunter2-7f3a9c"
    now = datetime(2026, 1, 9, 8, tzinfo=UTC)
    with _open(store_url) as county, HTTPRecorder() as server:
        _load(county, county_data)
        with pytest.raises(NotifierConfigError) as refused:
            county.set_channels(
                {"default": {"type": "webhook", "url": server.base, "token": secret}}
            )
        assert refused.value.key == "token"
        assert secret not in str(refused.value)
        assert "channels" not in county.settings()  # nothing stored
        channel = {"type": "webhook", "url": server.base, "token_env": TOKEN_VAR}
        county.set_channels({"default": channel})
        assert county.settings()["channels"] == {"default": channel}
        county.queue_week(HANDLE_DAY)
        waiting = {e.notice.key for e in county.notices()["pending"]}
        monkeypatch.delenv(TOKEN_VAR, raising=False)
        first = county.deliver(now=now)
        assert set(first.retrying) == waiting
        assert server.requests == []
        errors = {e.last_error for e in county.notices()["pending"]}
        assert errors == {
            f"MissingCredentialError: webhook: the environment variable {TOKEN_VAR!r} "
            "named by 'token_env' is not set"
        }
        monkeypatch.setenv(TOKEN_VAR, secret)
        second = county.deliver(now=now + timedelta(hours=7))
        assert set(second.sent) == waiting
        assert {r.headers["Authorization"] for r in server.requests} == {f"Bearer {secret}"}
        assert Counter(server.acknowledged()) == Counter(waiting)


def test_incomplete_files_and_status_changes_are_queued_once(
    store_url: str, county_data: SyntheticCounty
) -> None:
    with _open(store_url) as county:
        _load(county, county_data)
        before = len(county.notices()["pending"])
        files = county.queue_incomplete_files(2026)  # the class teachers of 30 April
        assert files > 0
        assert county.queue_incomplete_files(2026) == 0
        changes = county.queue_status_changes(date(2025, 9, 1), HANDLE_DAY)
        assert changes > 0
        assert county.queue_status_changes(date(2025, 9, 1), HANDLE_DAY) == 0
        pending = county.notices()["pending"]
        assert len(pending) == before + files + changes
        kinds = Counter(e.notice.kind for e in pending)
        assert kinds["file_incomplete"] == files
        assert kinds["child_served"] + kinds["child_left"] == changes
        names = {c.name for c in county_data.facts.children}
        assert not any(name in e.notice.body for e in pending for name in names)


@pytest.mark.parametrize(
    "actor",
    [
        Actor.township_officer("E02", "平固店镇"),
        Actor.school_head("S002-H", "S002"),
        Actor.staff("S002-T01"),
        Actor.volunteer("S002-T02"),
    ],
    ids=lambda a: a.kind.value,
)
def test_only_the_county_queues_delivers_and_reads_notices(store_url: str, actor: Actor) -> None:
    with _open(store_url, Actor.county_officer("E01")) as county:
        county.set_channels({"default": {"type": "log"}})
        assert county.queue_week(HANDLE_DAY) == 0  # an empty county owes nothing
        assert county.notices() == {"pending": [], "sent": [], "failed": []}
    calls: list[Callable[[County], object]] = [
        lambda c: c.queue_week(HANDLE_DAY),
        lambda c: c.queue_incomplete_files(2025),
        lambda c: c.queue_status_changes(date(2025, 9, 1)),
        lambda c: c.notices(),
        lambda c: c.deliver(now=datetime(2026, 1, 9, 8, tzinfo=UTC)),
        lambda c: c.set_channels({"default": {"type": "log"}}),
    ]
    with _open(store_url, actor) as county:
        for call in calls:
            with pytest.raises(AccessDeniedError, match=actor.kind.value):
                call(county)
        assert "channels" not in county.settings()


# ---------------------------------------------------------------------------------------------
# The notices.

MONDAY = date(2025, 3, 10)


def items(*specs: tuple[str, str, int]) -> list[DutyItem]:
    return [
        DutyItem(child, duty, MONDAY + timedelta(days=d), "三年级2班") for child, duty, d in specs
    ]


def test_one_digest_per_person_per_week_not_one_per_duty() -> None:
    digests = weekly_digests(
        [
            ("T001", items(("C000123", "谈心", 4), ("C000124", "温馨家访", 21))),
            ("T002", []),
            ("T001", items(("C000125", "谈心", 4))),
        ],
        week_of=MONDAY + timedelta(days=2),
    )
    [digest] = digests
    assert digest.key == "digest:T001:2025-W11"
    assert digest.recipient == "T001"
    assert digest.kind == "duty_digest"
    assert digest.subject == "本周待办 3 项（2025-W11）"
    assert digest.body.splitlines() == [
        "2025-03-10 至 2025-03-16 应完成 3 项：",
        "3月14日前：",
        "· 三年级2班 C000123 谈心",
        "· 三年级2班 C000125 谈心",
        "3月31日前：",
        "· 三年级2班 C000124 温馨家访",
    ]
    # Built again on another day of the same week: the same key, so nothing new is enqueued.
    again = weekly_digest("T001", items(("C000126", "谈心", 4)), week_of=MONDAY + timedelta(days=6))
    assert again is not None
    assert again.key == digest.key
    assert weekly_digest("T001", [], week_of=MONDAY) is None
    assert iso_week(date(2024, 12, 30)) == "2025-W01"


def test_overdue_goes_to_each_owner_and_a_count_to_the_head() -> None:
    notices = overdue_notices(
        [
            ("T001", items(("C000123", "谈心", -3), ("C000124", "谈心", -3))),
            ("T002", items(("C000123", "温馨家访", -1))),
        ],
        school="S01",
        school_label="城关镇第一小学",
        head="H01",
        as_of=MONDAY,
    )
    assert [(n.key, n.recipient) for n in notices] == [
        ("overdue:T001:2025-W11", "T001"),
        ("overdue:T002:2025-W11", "T002"),
        ("overdue-head:S01:2025-W11:H01", "H01"),
    ]
    head = notices[-1]
    assert head.subject == "城关镇第一小学逾期工作 3 项"
    assert "涉及儿童 2 名" in head.body
    assert "谈心 2、温馨家访 1" in head.body
    assert "C000" not in head.body  # the head gets counts, not a list of children
    assert "应于3月7日前：\n· 三年级2班 C000123 谈心" in notices[0].body
    assert (
        overdue_notices([("T001", [])], school="S01", school_label="", head="H01", as_of=MONDAY)
        == []
    )


def test_served_and_left_go_to_each_recipient_without_a_reason() -> None:
    served = status_notices(
        "C000123",
        change="served",
        on=date(2025, 3, 1),
        recipients=["T002", "T001", "T001"],
        class_label="三年级2班",
        school_label="城关镇第一小学",
    )
    assert [n.key for n in served] == [
        "served:C000123:2025-03-01:T001",
        "served:C000123:2025-03-01:T002",
    ]
    assert served[0].body.startswith("城关镇第一小学三年级2班儿童 C000123 自 2025-03-01 起纳入")
    left = status_notices("C000123", change="left", on=date(2025, 6, 1), recipients=["T001"])
    assert (left[0].kind, left[0].subject) == ("child_left", "不再属于工作对象：C000123")
    for n in served + left:
        assert not re.search("外出|务工|孤儿|单亲|事实无人抚养", n.body)


def test_incomplete_files_listed_per_person_after_the_deadline() -> None:
    [n] = incomplete_file_notices(
        [
            ("T001", [FileGap("C000124", ("监护情况", "联系方式"), "三年级2班")]),
            ("T001", [FileGap("C000123", ("学习情况",), "三年级1班"), FileGap("C000125", ())]),
            ("T002", [FileGap("C000126", ())]),
        ],
        deadline=date(2025, 4, 30),
    )
    assert n.key == "file-incomplete:T001:2025-04-30"
    assert n.subject == "档案未完善 2 名儿童"
    assert n.body.splitlines()[1:] == [
        "三年级1班",
        "· C000123：学习情况",
        "三年级2班",
        "· C000124：监护情况、联系方式",
    ]


def test_the_group_summary_carries_counts_only_and_fits_one_wecom_message() -> None:
    n = school_summary(
        "S01",
        recipient="group:S01",
        school_label="城关镇第一小学",
        week_of=MONDAY,
        served=132,
        due=410,
        overdue=17,
        incomplete=3,
        entered=2,
        left=1,
    )
    assert n.key == "school-week:S01:2025-W11"
    assert "工作对象 132 名；本周新纳入 2 名，退出 1 名。" in n.body
    assert not re.search(r"C\d{6}", n.body)
    assert WecomNotifier.messages(n) == [f"{n.subject}\n\n{n.body}"]


@pytest.mark.parametrize(
    "bad",
    ["李小明", "130432201503011234", "13043220150301123X", "13812345678", "C 001", "", "x" * 65],
)
def test_a_personal_value_instead_of_a_record_key_is_refused_unrepeated(bad: str) -> None:
    builders: list[Callable[[], object]] = [
        lambda: weekly_digest("T001", [DutyItem(bad, "谈心", MONDAY)], week_of=MONDAY),
        lambda: status_notices(bad, change="served", on=MONDAY, recipients=["T001"]),
        lambda: weekly_digest(bad, [DutyItem("C000001", "谈心", MONDAY)], week_of=MONDAY),
    ]
    for build in builders:
        with pytest.raises(ValueError, match="record key") as info:
            build()
        assert bad not in str(info.value) or not bad


def test_a_label_carrying_a_phone_number_is_refused() -> None:
    with pytest.raises(ValueError, match="label") as info:
        weekly_digest("T001", [DutyItem("C000001", "家访 13812345678", MONDAY)], week_of=MONDAY)
    assert "13812345678" not in str(info.value)


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["T001", "T002", "T003"]),
            st.lists(
                st.builds(
                    DutyItem,
                    st.from_regex(r"C[0-9]{6}", fullmatch=True),
                    st.sampled_from(["谈心", "温馨家访", "学习帮扶计划"]),
                    st.dates(date(2025, 3, 10), date(2025, 7, 1)),
                    st.sampled_from(["", "一年级1班", "三年级2班"]),
                ),
                max_size=60,
            ),
        ),
        max_size=6,
    )
)
def test_digests_are_one_per_person_list_every_duty_and_are_deterministic(
    entries: list[tuple[str, list[DutyItem]]],
) -> None:
    digests = weekly_digests(entries, week_of=MONDAY)
    owed: Counter[str] = Counter()
    for staff, listed in entries:
        owed[staff] += len(listed)
    assert [d.recipient for d in digests] == sorted(s for s in owed if owed[s])
    for d in digests:
        assert d.body.count("\n· ") == owed[d.recipient]
        assert all(len(part.encode()) <= 2048 for part in WecomNotifier.messages(d))
    assert weekly_digests(entries, week_of=MONDAY) == digests
