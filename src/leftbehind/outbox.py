"""The outbox (待发通知): notices kept in the store until a notifier has delivered them.

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
  the claim is a unit of work whose optimistic check lets only one of them win. Each claim
  names its run (``holder``) and ends at ``lease``; every later write of that run (a part
  posted, the notice marked) checks in its own unit of work that the claim is still the run's
  and has not lapsed, and writes nothing otherwise, so two runs never both mark a notice.
- **Each part once.** A notice a :class:`~leftbehind.notifiers.PartedNotifier` sends in several
  messages records each part in its entry as it is posted; a retry, by any run in any process,
  posts only the parts missing.

Times are parameters (``now``) and must be timezone-aware; they are stored in UTC.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Final, Literal, TypeAlias

from attrs import field, frozen

from leftbehind.errors import ConflictError
from leftbehind.notifiers import (
    Notice,
    Notifier,
    NotifierConfigError,
    PartedNotifier,
    check_settings,
)
from leftbehind.store import JSON, Document, Store, UnitOfWork

if TYPE_CHECKING:
    from leftbehind.plugins import Plugins

__all__ = [
    "DEFAULT_CHANNEL",
    "DEFAULT_LEASE",
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
#: How long :func:`deliver` claims a notice unless told otherwise.
DEFAULT_LEASE: Final = timedelta(minutes=10)
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
    the next attempt; ``lease`` the end of a deliverer's claim. ``posted`` lists the parts
    (counted from 1) of a notice sent in several messages that were posted already.
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
    posted: tuple[int, ...] = ()


@frozen
class DeliveryReport:
    """What one :func:`deliver` run did, by notice key.

    ``sent``: delivered and marked. ``retrying``: failed, will be tried again from its new due
    time. ``parked``: failed for the ``max_attempts``-th time, now ``failed`` (see :func:`retry`).
    ``unrouted``: no notifier for its channel; left pending without counting an attempt.
    ``busy``: claimed by another deliverer. ``lapsed``: this run's claim lapsed or was taken
    over before the notice was marked; the run wrote nothing more to it, and it is left to the
    deliverer holding it or to the next run (sent again, with the same key, if it was sent).
    ``errors``: key → error of this run. ``next_due``: the earliest due time among notices
    still pending, or ``None``. ``channels``: key → the name of the channel each notice tried
    went through, where the deliverer knows it (the county's :meth:`~leftbehind.County.deliver`
    does).
    """

    sent: tuple[str, ...] = ()
    retrying: tuple[str, ...] = ()
    parked: tuple[str, ...] = ()
    unrouted: tuple[str, ...] = ()
    busy: tuple[str, ...] = ()
    errors: Mapping[str, str] = field(factory=dict)
    next_due: datetime | None = None
    lapsed: tuple[str, ...] = ()
    channels: Mapping[str, str] = field(factory=dict)

    @property
    def ok(self) -> bool:
        """Whether every notice tried was delivered and marked, and every due notice had a
        notifier."""
        return not (self.retrying or self.parked or self.unrouted or self.lapsed)


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
        "holder": None,
        "posted": [],
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
    lease: timedelta = DEFAULT_LEASE,
    limit: int | None = None,
    batch: int = 20,
    clock: Callable[[], float] = time.monotonic,
    progress: Callable[[str], None] | None = None,
) -> DeliveryReport:
    """Send the pending notices due at ``now``, oldest first, ``batch`` at a time.

    ``notifiers`` maps channel names to notifiers, or is a :data:`Router`. Each notice is
    claimed until ``now + lease``, sent, and marked ``sent``; or, when the notifier raises, its
    failure is recorded and it waits ``backoff(failures)``; after ``max_attempts`` failures it
    is parked as ``failed``. A batch is claimed in one unit of work, and each notice marked as
    soon as it was sent, so a run that dies sends again only the notice in flight (the rest of
    its batch waits for the claim to lapse). Only :class:`Exception` is caught: an interrupt
    propagates and leaves the notice claimed, to be sent again when the claim lapses. ``limit``
    caps how many notices are tried in this run. ``progress(key)``, when given, is called as
    each notice tried is settled (sent, failed or lapsed) or found claimed by another run.

    The claim is this run's: marking a notice, or recording a failure or a posted part, checks
    in the same unit of work that the claim is still this run's and has not lapsed (``now`` plus
    the time ``clock``, a monotonic clock in seconds, measured since the run began); when it is
    not, nothing is written and the notice is reported ``lapsed``. A notifier declaring a
    ``deadline`` (seconds) must declare one shorter than ``lease`` (else :class:`ValueError`);
    before each send or part, a claim with less time left than half-way between the deadline
    and the lease (half the lease for a notifier declaring none) is renewed.

    A :class:`~leftbehind.notifiers.PartedNotifier` sends its parts one by one; each is
    recorded in the notice's entry as it succeeds (and the claim renewed), and only the parts
    missing are sent, by this run or any later one.
    """
    now = _utc(now)
    if max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")
    if batch < 1:
        raise ValueError("batch must be at least 1")
    if lease <= timedelta(0):
        raise ValueError("lease must be positive")
    route = _router(notifiers)
    claims = _Claims(store, now, lease, clock)
    outcomes: dict[_Outcome, list[str]] = {o: [] for o in _OUTCOMES}
    unrouted: list[str] = []
    busy: list[str] = []
    errors: dict[str, str] = {}
    margins: dict[int, timedelta] = {}
    tried = 0
    waiting: list[tuple[str, Notice, Notifier, timedelta]] = []

    def margin(notifier: Notifier, channel: str) -> timedelta:
        """The time a claim must have left before a send through ``notifier``."""
        if id(notifier) not in margins:
            deadline = _deadline(notifier)
            if deadline >= lease:
                raise ValueError(
                    f"channel {channel!r}: its notifier's deadline "
                    f"({deadline.total_seconds():g} s) must be shorter than the lease "
                    f"({lease.total_seconds():g} s)"
                )
            margins[id(notifier)] = (lease + deadline) / 2
        return margins[id(notifier)]

    def flush() -> None:
        nonlocal tried, waiting
        claimed = set(claims.take([key for key, _, _, _ in waiting]))
        batch_, waiting = waiting, []
        for key, notice, notifier, need in batch_:
            if key not in claimed:
                busy.append(key)
                if progress is not None:
                    progress(key)
                continue
            tried += 1
            error: str | None = None
            parts: int | None = None
            try:
                parts = _send(claims, key, notice, notifier, need)
            except Exception as exc:
                error = errors[key] = _describe(exc)
            if parts is None and error is None:  # the claim was lost before the end
                outcomes["lapsed"].append(key)
            else:
                # marked at once, so that a run dying later sends this notice no second time
                outcomes[claims.settle(key, error, parts or 1, max_attempts, backoff)].append(key)
            if progress is not None:
                progress(key)

    for key, doc in _due(store, now):
        if limit is not None and tried + len(waiting) >= limit:
            break
        notice = _notice(doc)
        channel = _str(doc.get("channel")) or DEFAULT_CHANNEL
        notifier = route(notice, channel)
        if notifier is None:
            unrouted.append(key)
            continue
        waiting.append((key, notice, notifier, margin(notifier, channel)))
        if len(waiting) >= batch:
            flush()
    if waiting:
        flush()
    return DeliveryReport(
        sent=tuple(outcomes["sent"]),
        retrying=tuple(outcomes["retrying"]),
        parked=tuple(outcomes["parked"]),
        unrouted=tuple(unrouted),
        busy=tuple(busy),
        errors=errors,
        next_due=_next_due(store),
        lapsed=tuple(outcomes["lapsed"]),
    )


def _deadline(notifier: Notifier) -> timedelta:
    """What ``notifier`` declares one send may take at most; zero when it declares nothing."""
    value = getattr(notifier, "deadline", None)
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return timedelta(seconds=value)
    return timedelta(0)


def _send(
    claims: _Claims, key: str, notice: Notice, notifier: Notifier, need: timedelta
) -> int | None:
    """Send ``notice``, or the parts of it not yet posted; how many parts it has, or ``None``
    when the claim was lost before the last of them was sent."""
    if not isinstance(notifier, PartedNotifier):
        if not claims.keep(key, need):
            return None
        notifier.send(notice)
        return 1
    parts = notifier.parts(notice)
    posted = claims.posted.get(key, set())
    missing = [part for part in range(1, parts + 1) if part not in posted]
    for part in missing:
        if not claims.keep(key, need):
            return None
        notifier.send_part(notice, part)
        # The last part is recorded with the mark itself, in one unit of work.
        if part != missing[-1] and not claims.posted_part(key, part):
            return None
    return parts


_Outcome: TypeAlias = Literal["sent", "retrying", "parked", "lapsed"]
_OUTCOMES: Final[tuple[_Outcome, ...]] = ("sent", "retrying", "parked", "lapsed")
#: How often a write of the outbox is tried again after a conflict with another writer.
_TRIES: Final = 10


class _Claims:
    """One run's claims on notices: a holder token written with each lease, and the checks
    every later write of the run makes against it.

    Times: ``now`` is the run's time (due times and ``sent_at`` are computed from it); leases
    are measured from ``now`` plus the time ``clock`` has run since the run began, so that a run
    whose sends took long sees its claims lapse.
    """

    def __init__(
        self, store: Store, now: datetime, lease: timedelta, clock: Callable[[], float]
    ) -> None:
        self.store = store
        self.now = now
        self.lease = lease
        self.holder = secrets.token_hex(8)
        self.posted: dict[str, set[int]] = {}
        #: The end of each claim of the run not yet settled.
        self._open: dict[str, datetime] = {}
        self._clock = clock
        self._start = clock()

    def at(self) -> datetime:
        """The run's time now."""
        return self.now + timedelta(seconds=self._clock() - self._start)

    def held(self, doc: Document | None) -> bool:
        """Whether ``doc`` is pending under this run's claim, not lapsed."""
        if doc is None or doc.get("state") != "pending" or doc.get("holder") != self.holder:
            return False
        until = _time(doc.get("lease"))
        return until is not None and until > self.at()

    def take(self, keys: list[str]) -> list[str]:
        """Claim the notices of ``keys`` still pending and free, in one unit of work; when
        another writer changed one meanwhile, one by one."""
        if not keys:
            return []
        try:
            return self._take(keys)
        except ConflictError:
            taken = []
            for key in keys:
                try:
                    taken += self._take([key])
                except ConflictError:
                    continue
            return taken

    def _take(self, keys: list[str]) -> list[str]:
        with self.store.unit_of_work() as uow:
            at = self.at()
            until = at + self.lease
            taken: dict[str, set[int]] = {}
            for key in keys:
                doc = uow.get(KIND, key)
                if doc is None or doc.get("state") != "pending":
                    continue
                lease = _time(doc.get("lease"))
                if lease is not None and lease > at:
                    continue
                doc.update(lease=_iso(until), holder=self.holder)
                uow.put(KIND, key, doc)
                taken[key] = set(_parts(doc.get("posted")))
            uow.commit()
        for key, posted in taken.items():
            self._open[key] = until
            self.posted[key] = posted
        return list(taken)

    def keep(self, key: str, need: timedelta) -> bool:
        """Whether the claim on ``key`` still holds with ``need`` to spare; when one of the
        run's open claims has less left, all are renewed. ``False`` when it was lost."""
        if key not in self._open:
            return False
        if min(self._open.values()) - self.at() > need:
            return True
        return self._renew(key, None)

    def posted_part(self, key: str, part: int) -> bool:
        """Record ``part`` of ``key`` as posted, renewing the run's open claims; ``False`` when
        the claim on ``key`` was lost (nothing is written to it)."""
        return self._renew(key, part)

    def _renew(self, key: str, part: int | None) -> bool:
        """Renew every open claim of the run that still holds, and record ``part`` of ``key``
        if given, in one unit of work; whether the claim on ``key`` holds."""
        for _ in range(_TRIES):
            try:
                with self.store.unit_of_work() as uow:
                    until = self.at() + self.lease
                    kept = []
                    for open_key in self._open:
                        doc = uow.get(KIND, open_key)
                        if doc is None or not self.held(doc):
                            continue
                        if open_key == key and part is not None:
                            done: list[JSON] = [*sorted({*_parts(doc.get("posted")), part})]
                            doc["posted"] = done
                        doc["lease"] = _iso(until)
                        uow.put(KIND, open_key, doc)
                        kept.append(open_key)
                    uow.commit()
            except ConflictError:
                continue
            # A claim found lost is dropped: its notice is reported lapsed when its turn comes.
            self._open = dict.fromkeys(kept, until)
            if key in self._open and part is not None:
                self.posted.setdefault(key, set()).add(part)
            return key in self._open
        return False

    def settle(
        self,
        key: str,
        error: str | None,
        parts: int,
        max_attempts: int,
        backoff: Callable[[int], timedelta],
    ) -> _Outcome:
        """Mark the notice sent (``error`` is ``None``) or record its failure, in one unit of
        work, if this run's claim still holds; ``lapsed`` when it does not (nothing written)."""
        self._open.pop(key, None)
        for _ in range(_TRIES):
            try:
                with self.store.unit_of_work() as uow:
                    doc = uow.get(KIND, key)
                    if doc is None:  # purged meanwhile
                        return "sent" if error is None else "retrying"
                    if not self.held(doc):
                        return "lapsed"
                    outcome = self._settled(doc, error, parts, max_attempts, backoff)
                    uow.put(KIND, key, doc)
                    uow.commit()
            except ConflictError:
                continue
            return outcome
        raise ConflictError(KIND, key)

    def _settled(
        self,
        doc: Document,
        error: str | None,
        parts: int,
        max_attempts: int,
        backoff: Callable[[int], timedelta],
    ) -> _Outcome:
        attempts = _int(doc) + 1
        doc.update(lease=None, holder=None, attempts=attempts)
        if error is None:
            doc.update(state="sent", sent_at=_iso(self.now), posted=list(range(1, parts + 1)))
            return "sent"
        parked = attempts >= max_attempts
        doc.update(
            last_error=error,
            state="failed" if parked else "pending",
            due=_iso(self.now + backoff(attempts)),
        )
        return "parked" if parked else "retrying"


def build_notifiers(
    plugins: Plugins,
    channels: Mapping[str, Mapping[str, str]],
    *,
    lease: timedelta = DEFAULT_LEASE,
) -> dict[str, Notifier]:
    """Notifiers by channel name, for :func:`deliver`, from each channel's settings.

    A channel's ``type`` names the registered notifier (``wecom``, ``email``); its other settings
    go to that notifier's factory. Secrets are named by environment variables, read when a
    notice is sent, never written in the settings::

        build_notifiers(plugins, {
            "wecom-S01": {"type": "wecom", "key_env": "LEFTBEHIND_WECOM_S01_KEY"},
            "mail": {"type": "email", "host": "smtp.school.cn", "from": "care@school.cn"},
        })

    A channel without ``type`` raises :class:`ValueError`; an unknown type raises
    ``UnknownNameError`` listing the registered ones; a setting holding a secret in clear
    (:func:`~leftbehind.notifiers.clear_secrets`), whatever the type, raises
    :class:`~leftbehind.notifiers.NotifierConfigError` naming the setting, never its value; so
    does a notifier whose declared ``deadline`` is not shorter than ``lease`` (the claim
    :func:`deliver` will be given), naming its ``timeout``.
    """
    built: dict[str, Notifier] = {}
    for name, settings in channels.items():
        kind = settings.get("type", "").strip()
        if not kind:
            raise ValueError(f"notification channel {name!r} has no 'type' setting")
        config = {k: v for k, v in settings.items() if k != "type"}
        check_settings(name, config)
        notifier = built[name] = plugins.notifier(kind, config)
        deadline = _deadline(notifier)
        if deadline >= lease:
            raise NotifierConfigError(
                name,
                "timeout",
                f"makes a send take up to {deadline.total_seconds():g} s, not less than the "
                f"outbox's claim on a notice ({lease.total_seconds():g} s)",
            )
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

    Their attempt count starts again from zero; the last error is kept until the next attempt,
    and the parts already posted stay recorded (only the missing ones are sent). Returns the
    keys returned to pending. One unit of work.
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
                doc.update(state="pending", attempts=0, due=_iso(now), lease=None, holder=None)
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
        posted=tuple(_parts(doc.get("posted"))),
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


def _parts(value: object) -> list[int]:
    return [p for p in value if type(p) is int] if isinstance(value, list) else []


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
