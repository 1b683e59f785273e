"""Imports (导入): files planned against the county's files, then written at once.

A roster alone (:func:`import_roster`), or several sheets of any kind in one run
(:func:`import_files`: schools, staff, children, assignments, groups and duty records, in that
order, in one unit of work). The reports speak the handle's language
(:meth:`leftbehind.County.language`), as its exports do.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence

import attrs

from leftbehind.domain.duties import Record
from leftbehind.domain.i18n import use
from leftbehind.io.roster_import import ImportReport, plan_import
from leftbehind.io.roster_limits import DEFAULT_LIMITS, ImportLimits
from leftbehind.io.roster_read import Progress
from leftbehind.io.sheet_columns import RECORD_KINDS
from leftbehind.io.sheet_import import FilesReport, plan_files
from leftbehind.service import commands, reads
from leftbehind.service.context import Context

__all__ = ["import_files", "import_roster"]

#: What each kind of sheet writes: the permission and the words of its refusal (as the
#: commands that write it say them).
_WRITES = {
    "schools": ("schools.write", "change schools"),
    "staff": ("staff.write", "write staff"),
    "roster": ("children.write", "write children's files"),
    "assignments": ("assignments.write", "assign staff"),
    "groups": ("groups.write", "write study groups"),
    **dict.fromkeys(RECORD_KINDS, ("records.write", "add records")),
}


def import_roster(
    ctx: Context,
    path: str | os.PathLike[str],
    *,
    dry_run: bool,
    progress: Progress | None,
    limits: ImportLimits = DEFAULT_LIMITS,
    strict: bool = False,
) -> ImportReport:
    snap, gate = ctx.begin()
    gate.require("children.write", "import a roster")
    with use(ctx.language(snap)):
        report, to_write = plan_import(
            path,
            children=reads.children(ctx, False),
            schools=snap.schools(),
            today=gate.today,
            dry_run=dry_run,
            progress=progress,
            limits=limits,
            strict=strict,
        )
    # The gate is asked on a dry run too, so a dry run reports what the real one would do.
    for child in to_write:
        gate.check_child(child, snap.child(child.id))
    if dry_run or not to_write:
        return report
    if progress is not None:
        progress("write", 0, len(to_write))
    commands.put_children(ctx, to_write)
    if progress is not None:
        progress("write", len(to_write), len(to_write))
    return attrs.evolve(report, written=True)


def import_files(
    ctx: Context,
    paths: Sequence[str | os.PathLike[str]],
    *,
    dry_run: bool,
    progress: Progress | None,
    limits: ImportLimits = DEFAULT_LIMITS,
    strict: bool = False,
) -> FilesReport:
    """Plan every file, then write the whole plan in one unit of work: each command's checks
    run inside it (on a dry run too, which then leaves without committing), so a problem any
    of them finds raises and nothing is written."""
    snap, gate = ctx.begin()
    gate.require("files.read", "import files")
    # The run is planned against what the actor may reach only (the children whose file they
    # may read, the staff of their office, and the assignments, groups and records of those):
    # a row naming anything else is unknown, as a missing one is, so neither the report's
    # counts (``unchanged`` or ``updated``) nor its issues tell what is stored out of reach,
    # a staff member's phone for one.
    children = {c.id: c for c in reads.children(ctx, False)}
    staff = {k: s for k, s in snap.staff().items() if gate.staff_reachable(k)}
    assignments = {
        k: a
        for k, a in snap.stored_assignments().items()
        if a.child_id in children and a.staff_id in staff
    }
    groups = {k: g for k, g in snap.groups().items() if gate.school_in_scope(g.school_id)}

    def records_of(child_ids: Iterable[str]) -> list[Record]:
        return [r for r in snap.records_of(child_ids) if r.staff_id in staff]

    with use(ctx.language(snap)):
        report, plan = plan_files(
            paths,
            schools=snap.schools(),
            staff=staff,
            children=children,
            assignments=assignments,
            groups=groups,
            records_of=records_of,
            today=gate.today,
            dry_run=dry_run,
            progress=progress,
            limits=limits,
            strict=strict,
        )
    # An actor who may not write a kind hears so for its sheet, whatever the sheet holds
    # (its rows all unchanged, or some of them wrong).
    for kind in dict.fromkeys(f.kind for f in report.files if f.kind is not None):
        gate.require(*_WRITES[kind])
    if not report.ok or not len(plan):
        return report
    if progress is not None:
        progress("write", 0, len(plan))
    with ctx.repo.batch("import") as batch:
        if plan.schools:
            commands.put_schools(ctx, plan.schools, outer=batch)
        if plan.staff:
            commands.put_staff(ctx, plan.staff, outer=batch)
        if plan.children:
            commands.put_children(ctx, plan.children, outer=batch)
        if plan.assignments:
            commands.put_assignments(ctx, plan.assignments, outer=batch)
        if plan.groups:
            commands.put_groups(ctx, plan.groups, outer=batch)
        if plan.records:
            commands.add_records(ctx, plan.records, outer=batch)
        if dry_run:
            return report
        batch.commit()
    if progress is not None:
        progress("write", len(plan), len(plan))
    return attrs.evolve(report, written=True)
