"""Data-quality checks (数据质量) through the gate: the registered rules over the facts in the
actor's reach as of a day.

The facts are those of the children whose file the actor may read (a school head: their
school's; a teacher: their own children's), their records, assignments and timelines, so a
finding never names a child out of reach; findings name keys and rules only.

Records keep no entry time of their own: the day a record was entered is the day of the first
audit entry that created it (in China's time, UTC+8). A record whose creation the audit log no
longer holds (purged) is not judged back-dated.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

from leftbehind import kinds
from leftbehind.domain.quality import QualityFacts, QualityReport, run_rules
from leftbehind.errors import NotFoundError
from leftbehind.service.context import Context
from leftbehind.service.repository import Snapshot

__all__ = ["CHINA_TIME", "entry_days", "quality"]

#: China's one time zone: the day an audit stamp (UTC) falls on in the county.
CHINA_TIME = timezone(timedelta(hours=8))


def _day(stamp: str) -> date | None:
    try:
        at = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(CHINA_TIME).date()


def entry_days(snap: Snapshot, keys: set[str]) -> dict[str, date]:
    """The day each record of ``keys`` was first created, by the audit log."""
    out: dict[str, date] = {}
    for entry in snap.audit():
        created = entry.changes.get(kinds.RECORD, {}).get("created") or ()
        found = [k for k in created if k in keys]
        if not found:
            continue
        day = _day(entry.at)
        if day is None:
            continue
        for key in found:
            if key not in out or day < out[key]:
                out[key] = day
    return out


def quality(ctx: Context, as_of: date | None, school: str | None) -> QualityReport:
    snap, gate = ctx.begin()
    gate.require("quality.read", "check data quality")
    day = as_of or ctx.today()
    schools = snap.schools()
    if school is not None and school not in schools:
        raise NotFoundError(kinds.SCHOOL, school)
    children = {key: child for key, (child, _) in gate.files().items()}
    records = snap.duty_records(children) if children else []
    facts = QualityFacts(
        day,
        schools,
        children,
        snap.staff(),
        snap.assignments_of(children) if children else (),
        records,
        snap.timelines_of(children) if children else {},
        entry_days(snap, {r.id for r in records}),
    )
    report = run_rules(ctx.plugins.quality_rules(), facts)
    if school is None:
        return report
    kept = [f for f in report.findings if f.school_id == school]
    return QualityReport(report.as_of, report.rules, kept)
