"""The audit log and retention (保存期限): reading the log, purging files past their time.

Audit entries are written only by the library's own acts (changes, exports, unmasking,
purges); no public call appends one.
"""

from __future__ import annotations

from datetime import date, datetime

import attrs

from leftbehind import kinds, outbox
from leftbehind.access import AuditEntry
from leftbehind.domain.dates import add_months
from leftbehind.domain.eligibility import Timeline
from leftbehind.domain.model import Child
from leftbehind.service.context import Context
from leftbehind.service.repository import Batch, resident_id_key, stamp

__all__ = ["RETENTION_YEARS", "audit", "purge"]

#: Years after leaving the action before a child's file may be purged, unless told otherwise.
RETENTION_YEARS = 3


def audit(ctx: Context, since: datetime | None, until: datetime | None) -> list[AuditEntry]:
    snap, gate = ctx.begin()
    gate.require("audit.read", "read the audit log")
    low = stamp(since) if since is not None else ""
    high = stamp(until) if until is not None else None
    entries = [e for e in snap.audit() if e.key >= low and (high is None or e.key < high)]
    return sorted(entries, key=lambda e: e.key)


def left_on(child: Child, timeline: Timeline | None) -> date | None:
    """The day a child left the action: no enrolment and no category from then on; ``None``
    while either is still open (or the child has no enrolment at all)."""
    if not child.enrolments or any(e.end is None for e in child.enrolments):
        return None
    last = max(e.end for e in child.enrolments if e.end is not None)
    if timeline is not None:
        for span in timeline.spans:
            if span.end is None:
                return None
            last = max(last, span.end)
    return last


def purge(ctx: Context, older_than_years: int, as_of: date | None) -> list[str]:
    _, gate = ctx.begin()
    gate.require("purge", "purge files")
    if older_than_years < 0:
        msg = "older_than_years must be 0 or more"
        raise ValueError(msg)
    cutoff = add_months(as_of or gate.today, -12 * older_than_years)
    with ctx.repo.batch("purge") as batch:
        view = batch.view
        timelines = view.timelines()
        children = view.children()
        gone = sorted(
            key
            for key, child in children.items()
            if (left := left_on(child, timelines.get(key))) is not None and left <= cutoff
        )
        if not gone:
            return []
        targets = set(gone)
        purged: set[str] = set(targets)
        for cid in gone:
            for kind in (kinds.CHILD, kinds.TIMELINE, kinds.NATIONAL):
                batch.delete(kind, cid)
            rid = children[cid].resident_id
            if rid and view.resident_id_owner(rid) == cid:
                batch.delete(kinds.RESIDENT_ID, resident_id_key(rid))
            for kind in (kinds.RECORD, kinds.ASSIGNMENT, kinds.FOLLOW_UP):
                for key in batch.scan_keys(kind, {"child_id": cid}):
                    batch.delete(kind, key)
                    purged.add(key)
        _forget_in_corrections(batch, purged)
        outbox.forget_children(batch.uow, gone)
        for key, group in view.groups().items():
            kept = tuple(c for c in group.child_ids if c not in targets)
            if kept != group.child_ids:
                batch.put(kinds.GROUP, key, attrs.evolve(group, child_ids=kept))
        batch.commit()
    return gone


def _forget_in_corrections(batch: Batch, purged: set[str]) -> None:
    """The corrections into locked periods keep who corrected what, when and why; the keys of
    the documents purged leave them (the count of documents a correction reached stays as it
    was, in the audit log)."""
    for fix in batch.view.corrections():
        if not purged & set(fix.keys):
            continue
        reached = {p: tuple(k for k in ks if k not in purged) for p, ks in fix.reached.items()}
        kept = tuple(k for k in fix.keys if k not in purged)
        batch.put(kinds.CORRECTION, fix.id, attrs.evolve(fix, keys=kept, reached=reached))
