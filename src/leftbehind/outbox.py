"""The outbox (待發通知): notices kept in the store until a notifier has delivered them.

A notice is written with :func:`enqueue` in the **same unit of work** as the change that causes
it, so either both are stored or neither. :func:`deliver` later sends the due ones one by one::

    with store.unit_of_work() as uow:
        uow.put("child", "C000123", facts)
        enqueue(uow, notice, channel="wecom-S01")
        uow.commit()

    report = deliver(store, {"wecom-S01": wecom, "mail": email}, now=datetime.now(UTC))

What it guarantees:

- **Once per key.** A notice is stored under its idempotency key (``Notice.key``); enqueueing the
  same key again keeps the first and writes nothing.
- **Marked sent only after success.** Each notice is claimed, sent, and marked in units of work
  of its own; a notice is ``sent`` only after its notifier returned.
- **Never lost.** A failure (an exception, a timeout) is recorded with the attempt count and the
  time of the next attempt (exponential backoff with a cap). After ``max_attempts`` failures the
  notice is parked as ``failed``: kept, reported, and sent again after :func:`retry`. Nothing
  unsent is ever deleted.
- **At most one resent after a crash.** Notices are sent one at a time, each marked before the
  next is sent; a process killed between sending and marking leaves only that one notice
  unmarked, and it is sent again once its claim lapses (``lease``), with the same key, which
  notifiers pass on (a webhook header, an e-mail ``Message-ID``) so the receiver can drop the
  duplicate. A notice marked ``sent`` is never sent again.
- **One deliverer per notice.** Two :func:`deliver` runs at once do not send the same notice:
  the claim is a unit of work whose optimistic check lets only one of them win.

Times are parameters (``now``) and must be timezone-aware; they are stored in UTC.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Final, Literal, TypeAlias

from attrs import field, frozen

from leftbehind.errors import ConflictError
from leftbehind.notifiers import Notice, Notifier
from leftbehind.store import Document, Store, UnitOfWork

if TYPE_CHECKING:
    from leftbehind.plugins import Plugins

__all__ = [
    "DEFAULT_CHANNEL",
    "KIND",
    "Backoff",
    "DeliveryReport",
    "OutboxEntry",
    "Router",
    "build_notifiers",
    "deliver",
    "enqueue",
    "enqueue_many",
    "failed",
    "forget_children",
    "forget_sent",
    "pending",
    "retry",
    "sent",
]

#: The store kind holding the outbox.
KIND: Final = "outbox"
#: The channel of a notice enqueued without one.
DEFAULT_CHANNEL: Final = "default"
_VERSION: Final = 1

State: TypeAlias = Literal["pending", "sent", "failed"]
#: Chooses the notifier for a notice and its channel; ``None`` leaves the notice pending.
Router: TypeAlias = Callable[[Notice, str], Notifier | None]


@frozen
class Backoff:
    """The wait after ``n`` failures: ``base * factor**(n-1)``, at most ``cap``.

    The default waits 1, 2, 4 … minutes, never more than 6 hours. No jitter: deliveries run from
    one scheduler, and a deterministic schedule is easier to reason about and to test.
    """

    base: timedelta = timedelta(minutes=1)
    factor: float = 2.0
    cap: timedelta = timedelta(hours=6)

    def __call__(self, failures: int) -> timedelta:
        if failures < 1:
            return timedelta(0)
        # Compare exponents before multiplying, so a large failure count cannot overflow.
        seconds = self.base.total_seconds()
        cap = self.cap.total_seconds()
        for _ in range(failures - 1):
            seconds *= self.factor
            if seconds >= cap:
                return self.cap
        return min(timedelta(seconds=seconds), self.cap)


@frozen
class OutboxEntry:
    """A stored notice and its delivery state, as the query helpers return it.

    ``attempts`` counts the sends tried, the successful one included. ``last_error`` names the
    exception type and the notifier's message (notifiers must keep
    personal data out of their messages; the built-in ones do). ``due`` is the earliest time of
    the next attempt; ``lease`` the end of a deliverer's claim.
    """

    notice: Notice
    channel: str
    state: State
    attempts: int
    created: datetime | None
    due: datetime | None
    sent_at: datetime | None
    last_error: str | None
    lease: datetime | None


@frozen
class DeliveryReport:
    """What one :func:`deliver` run did, by notice key.

    ``sent``: delivered and marked. ``retrying``: failed, will be tried again from its new due
    time. ``parked``: failed for the ``max_attempts``-th time, now ``failed`` (see :func:`retry`).
    ``unrouted``: no notifier for its channel; left pending without counting an attempt.
    ``busy``: claimed by another deliverer. ``errors``: key → error of this run.
    ``next_due``: the earliest due time among notices still pending, or ``None``.
    """

    sent: tuple[str, ...] = ()
    retrying: tuple[str, ...] = ()
    parked: tuple[str, ...] = ()
    unrouted: tuple[str, ...] = ()
    busy: tuple[str, ...] = ()
    errors: Mapping[str, str] = field(factory=dict)
    next_due: datetime | None = None

    @property
    def ok(self) -> bool:
        """Whether every notice tried was delivered and every due notice had a notifier."""
        return not (self.retrying or self.parked or self.unrouted)


# ---------------------------------------------------------------------------------------------
# Writing.


def enqueue(
    uow: UnitOfWork,
    notice: Notice,
    *,
    channel: str = DEFAULT_CHANNEL,
    at: datetime | None = None,
) -> bool:
    """Add ``notice`` to the outbox in the caller's unit of work; ``False`` if its key is there.

    Nothing is written until the caller commits. ``channel`` names the notifier that will send it
    (a key of the mapping given to :func:`deliver`); ``at`` is when it was made and the earliest
    time to send it (``None``: at the next delivery). The key is read in ``uow``: if a deliverer
    marks that very notice before the caller commits, the commit raises
    ``ConflictError``; retry the unit of work.
    """
    if uow.get(KIND, notice.key) is not None:
        return False
    uow.put(KIND, notice.key, _document(notice, channel, at))
    return True


def _document(notice: Notice, channel: str, at: datetime | None) -> Document:
    created = None if at is None else _iso(at)
    return {
        "v": _VERSION,
        "key": notice.key,
        "recipient": notice.recipient,
        "subject": notice.subject,
        "body": notice.body,
        "kind": notice.kind,
        "children": list(notice.children),
        "channel": channel,
        "state": "pending",
        "attempts": 0,
        "created": created,
        "due": created,
        "sent_at": None,
        "last_error": None,
        "lease": None,
    }


def enqueue_many(
    uow: UnitOfWork,
    notices: Iterable[Notice],
    *,
    channel: str = DEFAULT_CHANNEL,
    at: datetime | None = None,
) -> int:
    """:func:`enqueue` each notice (the keys read together where the unit of work can); how
    many were new."""
    todo = list(notices)
    many = getattr(uow, "get_many", None)
    if many is None or len(todo) < 2:
        return sum(enqueue(uow, n, channel=channel, at=at) for n in todo)
    there = many(KIND, [n.key for n in todo])
    new: dict[str, Document] = {}
    for n in todo:
        if n.key not in there and n.key not in new:
            new[n.key] = _document(n, channel, at)
    uow.put_many(KIND, new)
    return len(new)


# ---------------------------------------------------------------------------------------------
# Delivering.


def deliver(
    store: Store,
    notifiers: Mapping[str, Notifier] | Router,
    *,
    now: datetime,
    max_attempts: int = 12,
    backoff: Callable[[int], timedelta] = Backoff(),
    lease: timedelta = timedelta(minutes=10),
    limit: int | None = None,
    batch: int = 20,
) -> DeliveryReport:
    """Send the pending notices due at ``now``, oldest first, ``batch`` at a time.

    ``notifiers`` maps channel names to notifiers, or is a :data:`Router`. Each notice is
    claimed until ``now + lease`` (a notifier's own timeout must be shorter), sent, and marked
    ``sent``; or, when the notifier raises, its failure is recorded and it waits
    ``backoff(failures)``; after ``max_attempts`` failures it is parked as ``failed``. A batch is
    claimed in one unit of work, and each notice marked as soon as it was sent, so a run that
    dies sends again only the notice in flight (the rest of its batch waits for the claim to
    lapse). Only
    :class:`Exception` is caught: an interrupt propagates and leaves the notice claimed, to be
    sent again when the claim lapses. ``limit`` caps how many notices are tried in this run.
    """
    now = _utc(now)
    if max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")
    if batch < 1:
        raise ValueError("batch must be at least 1")
    route = _router(notifiers)
    sent_keys: list[str] = []
    retrying: list[str] = []
    parked: list[str] = []
    unrouted: list[str] = []
    busy: list[str] = []
    errors: dict[str, str] = {}
    tried = 0
    waiting: list[tuple[str, Notice, Notifier]] = []

    def flush() -> None:
        nonlocal tried, waiting
        claimed = set(_claim_many(store, [key for key, _, _ in waiting], now, now + lease))
        batch_, waiting = waiting, []
        for key, notice, notifier in batch_:
            if key not in claimed:
                busy.append(key)
                continue
            tried += 1
            error: str | None = None
            try:
                notifier.send(notice)
            except Exception as exc:
                error = errors[key] = _describe(exc)
            # marked at once, so that a run dying later sends this notice no second time
            if not _record(store, {key: error}, now, max_attempts, backoff)[key]:
                (sent_keys if error is None else retrying).append(key)
            else:
                parked.append(key)

    for key, doc in _due(store, now):
        if limit is not None and tried + len(waiting) >= limit:
            break
        notice = _notice(doc)
        notifier = route(notice, _str(doc.get("channel")) or DEFAULT_CHANNEL)
        if notifier is None:
            unrouted.append(key)
            continue
        waiting.append((key, notice, notifier))
        if len(waiting) >= batch:
            flush()
    if waiting:
        flush()
    return DeliveryReport(
        sent=tuple(sent_keys),
        retrying=tuple(retrying),
        parked=tuple(parked),
        unrouted=tuple(unrouted),
        busy=tuple(busy),
        errors=errors,
        next_due=_next_due(store),
    )


def build_notifiers(
    plugins: Plugins, channels: Mapping[str, Mapping[str, str]]
) -> dict[str, Notifier]:
    """Notifiers by channel name, for :func:`deliver`, from each channel's settings.

    A channel's ``type`` names the registered notifier (``wecom``, ``email``); its other settings
    go to that notifier's factory::

        build_notifiers(plugins, {
            "wecom-S01": {"type": "wecom", "url": "https://qyapi.weixin.qq.com/…"},
            "mail": {"type": "email", "host": "smtp.school.cn", "from": "care@school.cn"},
        })

    A channel without ``type`` raises :class:`ValueError`; an unknown type raises
    ``UnknownNameError`` listing the registered ones.
    """
    built: dict[str, Notifier] = {}
    for name, settings in channels.items():
        kind = settings.get("type", "").strip()
        if not kind:
            raise ValueError(f"notification channel {name!r} has no 'type' setting")
        built[name] = plugins.notifier(kind, {k: v for k, v in settings.items() if k != "type"})
    return built


def _router(notifiers: Mapping[str, Notifier] | Router) -> Router:
    if isinstance(notifiers, Mapping):
        table = dict(notifiers)
        return lambda _notice, channel: table.get(channel)
    return notifiers


def _due(store: Store, now: datetime) -> list[tuple[str, Document]]:
    due = []
    for key, doc in store.scan(KIND, {"state": "pending"}):
        lease, at = _time(doc.get("lease")), _time(doc.get("due"))
        if (lease is None or lease <= now) and (at is None or at <= now):
            due.append((key, doc))
    due.sort(key=lambda kd: (_time(kd[1].get("due")) or _EPOCH, kd[0]))
    return due


def _claim(store: Store, key: str, now: datetime, until: datetime) -> bool:
    """Take the notice for this run; ``False`` if another deliverer has it or it changed."""
    try:
        with store.unit_of_work() as uow:
            doc = uow.get(KIND, key)
            if doc is None or doc.get("state") != "pending":
                return False
            lease = _time(doc.get("lease"))
            if lease is not None and lease > now:
                return False
            doc["lease"] = _iso(until)
            uow.put(KIND, key, doc)
            uow.commit()
    except ConflictError:
        return False
    return True


def _claim_many(store: Store, keys: list[str], now: datetime, until: datetime) -> list[str]:
    """Take the notices of ``keys`` still pending and free, in one unit of work; when another
    writer changed one meanwhile, one by one."""
    if not keys:
        return []
    try:
        with store.unit_of_work() as uow:
            claimed = []
            for key in keys:
                doc = uow.get(KIND, key)
                if doc is None or doc.get("state") != "pending":
                    continue
                lease = _time(doc.get("lease"))
                if lease is not None and lease > now:
                    continue
                doc["lease"] = _iso(until)
                uow.put(KIND, key, doc)
                claimed.append(key)
            uow.commit()
    except ConflictError:
        return [key for key in keys if _claim(store, key, now, until)]
    return claimed


def _record(
    store: Store,
    outcomes: Mapping[str, str | None],
    now: datetime,
    max_attempts: int,
    backoff: Callable[[int], timedelta],
) -> dict[str, bool]:
    """Record claimed notices' outcomes (``None``: sent; else the error) in one unit of work;
    returns, per notice, whether it is now parked as failed."""
    if not outcomes:
        return {}
    for _ in range(10):
        parked: dict[str, bool] = {}
        try:
            with store.unit_of_work() as uow:
                for key, error in outcomes.items():
                    doc = uow.get(KIND, key)
                    if doc is None:  # purged meanwhile
                        parked[key] = False
                        continue
                    attempts = _int(doc) + 1
                    if error is None:
                        doc.update(state="sent", sent_at=_iso(now), lease=None, attempts=attempts)
                        parked[key] = False
                    else:
                        parked[key] = attempts >= max_attempts
                        doc.update(
                            attempts=attempts,
                            last_error=error,
                            lease=None,
                            state="failed" if parked[key] else "pending",
                            due=_iso(now + backoff(attempts)),
                        )
                    uow.put(KIND, key, doc)
                uow.commit()
        except ConflictError:
            continue
        return parked
    raise ConflictError(KIND, next(iter(outcomes)))


def _describe(exc: Exception) -> str:
    text = str(exc).replace("\n", " ").strip()
    name = type(exc).__name__
    return (f"{name}: {text}" if text else name)[:300]


def _next_due(store: Store) -> datetime | None:
    times = [_time(doc.get("due")) for _, doc in store.scan(KIND, {"state": "pending"})]
    if not times:
        return None
    return min(t or _EPOCH for t in times)


# ---------------------------------------------------------------------------------------------
# Looking and repairing.


def pending(store: Store) -> list[OutboxEntry]:
    """Notices not yet sent and not parked, in delivery order."""
    return _entries(store, "pending")


def failed(store: Store) -> list[OutboxEntry]:
    """Notices parked after ``max_attempts`` failures (see :func:`retry`)."""
    return _entries(store, "failed")


def sent(store: Store) -> list[OutboxEntry]:
    """Notices delivered, oldest first."""
    entries = _entries(store, "sent")
    entries.sort(key=lambda e: (e.sent_at or _EPOCH, e.notice.key))
    return entries


def retry(store: Store, keys: Iterable[str] | None = None, *, now: datetime) -> list[str]:
    """Return parked notices (all, or those in ``keys``) to pending, due at ``now``.

    Their attempt count starts again from zero; the last error is kept until the next attempt.
    Returns the keys returned to pending. One unit of work.
    """
    now = _utc(now)
    wanted = None if keys is None else set(keys)
    with store.unit_of_work() as uow:
        back = sorted(
            key for key, _ in uow.scan(KIND, {"state": "failed"}) if wanted is None or key in wanted
        )
        for key in back:
            doc = uow.get(KIND, key)
            if doc is not None:
                doc.update(state="pending", attempts=0, due=_iso(now), lease=None)
                uow.put(KIND, key, doc)
        uow.commit()
    return back


def forget_sent(store: Store, *, before: datetime) -> int:
    """Blank the content of notices sent before ``before``; how many were blanked.

    Recipient, subject and body are emptied (retention limits of personal information); the key,
    kind, state and times stay, so the same key enqueued again is still recognised and never
    sent twice. Unsent notices are never touched. One unit of work.
    """
    before = _utc(before)
    count = 0
    with store.unit_of_work() as uow:
        for key, doc in list(uow.scan(KIND, {"state": "sent"})):
            at = _time(doc.get("sent_at"))
            if at is not None and at < before and (doc.get("subject") or doc.get("body")):
                doc.update(recipient="", subject="", body="")
                uow.put(KIND, key, doc)
                count += 1
        uow.commit()
    return count


def forget_children(uow: UnitOfWork, children: Iterable[str]) -> int:
    """In the caller's unit of work, clear every notice that speaks of one of ``children``.

    A notice about those children only, or not yet sent, is deleted; a sent notice that also
    speaks of other children is blanked as :func:`forget_sent` does (its key, which names no
    child, stays so that it is never sent again). How many were cleared.
    """
    targets = set(children)
    count = 0
    for key, doc in list(uow.scan(KIND)):
        named = set(_strings(doc.get("children")))
        if targets.isdisjoint(named):
            continue
        if doc.get("state") == "sent" and not named <= targets:
            doc.update(recipient="", subject="", body="", children=[])
            uow.put(KIND, key, doc)
        else:
            uow.delete(KIND, key)
        count += 1
    return count


def _entries(store: Store, state: State) -> list[OutboxEntry]:
    entries = [_entry(doc, state) for _, doc in store.scan(KIND, {"state": state})]
    entries.sort(key=lambda e: (e.due or _EPOCH, e.notice.key))
    return entries


def _entry(doc: Document, state: State) -> OutboxEntry:
    return OutboxEntry(
        notice=_notice(doc),
        channel=_str(doc.get("channel")) or DEFAULT_CHANNEL,
        state=state,
        attempts=_int(doc),
        created=_time(doc.get("created")),
        due=_time(doc.get("due")),
        sent_at=_time(doc.get("sent_at")),
        last_error=_str(doc.get("last_error")) or None,
        lease=_time(doc.get("lease")),
    )


# ---------------------------------------------------------------------------------------------
# Documents and times.

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


def _notice(doc: Document) -> Notice:
    return Notice(
        key=_str(doc.get("key")),
        recipient=_str(doc.get("recipient")),
        subject=_str(doc.get("subject")),
        body=_str(doc.get("body")),
        kind=_str(doc.get("kind")),
        children=_strings(doc.get("children")),
    )


def _strings(value: object) -> list[str]:
    return [c for c in value if isinstance(c, str)] if isinstance(value, list) else []


def _str(value: object) -> str:
    return value if isinstance(value, str) else ""


def _int(doc: Document) -> int:
    value = doc.get("attempts")
    return value if type(value) is int else 0


def _utc(when: datetime) -> datetime:
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError("times must be timezone-aware (datetime.now(UTC), not datetime.now())")
    return when.astimezone(UTC)


def _iso(when: datetime) -> str:
    return _utc(when).isoformat()


def _time(value: object) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None
