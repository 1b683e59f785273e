"""Copy a county between backends (``leftbehind copy SRC DST``), verified document by document.

:func:`copy_store` reads every document of the source, writes them all to the destination in
one unit of work (all or nothing), then reads both stores again and compares every document by
a digest of its key and canonical JSON, so that memory holds digests, not a second copy::

    with plugins.open_store("county.json") as src, plugins.open_store("sqlite:///county.db") as dst:
        report = copy_store(src, dst)
    report.counts        # {'child': 20000, 'school': 134, 'timeline': 20000, ...}

The destination must be empty unless ``replace=True``, which also deletes the documents it holds
that the source does not (in the same unit of work). The source should not change meanwhile.

A copy never carries a secret: notification channels name the environment variables that hold
their secrets, and a source whose channel settings still hold one in clear (written before
secrets were refused) is not copied until its channels are set again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable

from attrs import frozen

from leftbehind import kinds as stored
from leftbehind.errors import StoreError
from leftbehind.notifiers import clear_secrets
from leftbehind.store import BaseStore, Document, Store

__all__ = ["CopyError", "CopyReport", "copy_store", "digests"]

_SHOWN = 10  # keys named in an error at most


class CopyError(StoreError, ValueError):
    """The copy was refused (a destination not empty) or did not verify.

    ``mismatched`` maps each kind to the keys that differ (at most ten are kept per kind; keys
    carry no personal data, documents are never quoted).
    """

    def __init__(self, message: str, mismatched: dict[str, tuple[str, ...]] | None = None) -> None:
        self.mismatched = mismatched or {}
        super().__init__(message)


@frozen
class CopyReport:
    """What was copied: documents per kind, all verified equal in the destination."""

    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def _digest(key: str, doc: Document) -> bytes:
    text = json.dumps([key, doc], ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()


def digests(store: Store, kind: str) -> dict[str, bytes]:
    """Each key of ``kind`` with a digest of its key and document (canonical JSON)."""
    return {key: _digest(key, doc) for key, doc in store.scan(kind)}


def copy_store(
    src: Store,
    dst: Store,
    *,
    kinds: Iterable[str] | None = None,
    replace: bool = False,
    progress: Callable[[str, int, int], None] | None = None,
) -> CopyReport:
    """Copy every document of ``src`` (or of ``kinds``) to ``dst`` in one unit of work, verified.

    Both stores are checked first (:meth:`~leftbehind.store.BaseStore.verify`: SQLite's
    ``quick_check`` of every page, whatever the file's size), so a damaged store raises
    :class:`~leftbehind.errors.CorruptStoreError` and nothing is written. Raises
    :class:`CopyError` when ``dst`` holds documents and ``replace`` is false, or when the
    county's channel settings hold a secret in clear (the channel and setting are named, never
    the value; nothing is written in either case), or when a document in ``dst`` differs from
    ``src`` after the commit. ``progress(stage, done, total)``, when given, is called as each
    kind is copied (stage ``copying``) and verified (stage ``verifying``), counting kinds.
    """
    for store in (src, dst):  # a damaged page must stop the copy, not be copied around
        if isinstance(store, BaseStore):
            store.verify()
    wanted = sorted(src.kinds() if kinds is None else set(kinds))
    if stored.SETTINGS in wanted and (found := _clear_secrets(src)):
        raise CopyError(
            f"the channel settings hold secrets in clear ({', '.join(found)}); a copy never "
            "carries a secret: set the channels again, naming environment variables for their "
            "secrets (docs/notifications.md), then copy"
        )
    held = dst.kinds()
    if held and not replace:
        raise CopyError(
            f"the destination already holds documents ({', '.join(sorted(held))}); "
            "copy into an empty store, or pass replace=True"
        )
    counts: dict[str, int] = {}
    with dst.unit_of_work() as uow:
        for done, kind in enumerate(wanted):
            if progress is not None:
                progress("copying", done, len(wanted))
            source = dict(src.scan(kind))
            counts[kind] = len(source)
            if replace:
                for key, _ in dst.scan(kind):
                    if key not in source:
                        uow.delete(kind, key)
            uow.put_many(kind, source)
        if replace and kinds is None:
            for kind in held - set(wanted):
                for key, _ in dst.scan(kind):
                    uow.delete(kind, key)
        uow.commit()
    _verify(src, dst, wanted, counts, progress)
    return CopyReport(counts)


def _clear_secrets(src: Store) -> list[str]:
    """``channel.setting`` of each channel setting holding a secret in clear."""
    found = []
    for _, doc in src.scan(stored.SETTINGS):
        channels = doc.get("channels")
        if not isinstance(channels, dict):
            continue
        for name, settings in sorted(channels.items()):
            if isinstance(settings, dict):
                texts = {k: v for k, v in settings.items() if isinstance(v, str)}
                found += [f"{name}.{setting}" for setting in clear_secrets(texts)]
    return found


def _verify(
    src: Store,
    dst: Store,
    kinds: list[str],
    counts: dict[str, int],
    progress: Callable[[str, int, int], None] | None = None,
) -> None:
    mismatched: dict[str, tuple[str, ...]] = {}
    for done, kind in enumerate(kinds):
        if progress is not None:
            progress("verifying", done, len(kinds))
        want, have = digests(src, kind), digests(dst, kind)
        bad = sorted(k for k in want.keys() | have.keys() if want.get(k) != have.get(k))
        if bad or len(want) != counts[kind]:
            mismatched[kind] = tuple(bad[:_SHOWN])
    if mismatched:
        named = "; ".join(
            f"{k}: {', '.join(map(repr, v)) or 'source changed'}" for k, v in mismatched.items()
        )
        raise CopyError(f"the copy differs from the source in {named}", mismatched)
