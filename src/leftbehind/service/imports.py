"""Imports (导入): a roster file planned against the county's files, then written at once.

The report speaks the handle's language (:meth:`leftbehind.County.language`), as its exports do.
"""

from __future__ import annotations

import os

import attrs

from leftbehind.domain.i18n import use
from leftbehind.io.roster_import import ImportReport, plan_import
from leftbehind.io.roster_limits import DEFAULT_LIMITS, ImportLimits
from leftbehind.io.roster_read import Progress
from leftbehind.service import commands, reads
from leftbehind.service.context import Context

__all__ = ["import_roster"]


def import_roster(
    ctx: Context,
    path: str | os.PathLike[str],
    *,
    dry_run: bool,
    progress: Progress | None,
    limits: ImportLimits = DEFAULT_LIMITS,
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
