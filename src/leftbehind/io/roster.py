"""Roster in, roster out (花名册导入导出): the template, the import with a dry run, the export.

Schools keep their pupils' facts in Excel. The roster template has one row per child, Chinese
headers in row 1 and English keys in row 2 (``ROSTER_COLUMNS``, following SPEC §3 and the
2016 national registration form)::

    from leftbehind.io.roster import write_template

    write_template("花名册.xlsx")                         # format="csv"; kind="talk", "home_visit"
    report = county.import_roster("花名册.xlsx", dry_run=True)
    for issue in report.issues:                           # sheet, row, column, code, reason
        print(issue)
    if report.ok:
        county.import_roster("花名册.xlsx")                # one unit of work
    county.export_roster("导出.xlsx")                      # IDs and phones masked

Languages: a template, an export and the messages of an import are in the language of the moment
(Simplified Chinese by default; Traditional Chinese, or English, whose headers and choices are
the stable keys such as ``resident_id`` and ``male``; the county handle uses its own language).
A file is read in any of the three, mixed column by column, and in the other spellings clerks
write (身份证号, 男性 …): see :mod:`leftbehind.io.roster_columns`. Names, addresses and free text
are never converted.

Reading (:func:`~leftbehind.io.roster_read.read_roster`): XLSX or CSV, streamed within
:class:`~leftbehind.io.roster_limits.ImportLimits` (a file crossing one is refused with one
issue); CSV in UTF-8 (with or without BOM), UTF-16 with its BOM (Excel's "Unicode text") or
GB18030 (what Chinese Excel writes; tried when UTF-8 fails). Headers match by Chinese header or
English key. Every bad cell of the file is reported at once, each as a
:class:`~leftbehind.io.roster_read.CellIssue` (sheet, row as the sheet numbers it, column
header, stable code, reason); no message repeats a cell's value. Formula cells are refused
(``formula``): a roster holds values. Cells starting with ``=``, ``+``, ``-``
or ``@`` are plain text.

How a row maps to the facts (:class:`~leftbehind.domain.model.Child`):

- **儿童编号** is the child's key. Blank for a new child: the key is made from the school and
  the row (``S001-00012``, then ``S001-00012-2`` when taken), never from the ID number.
  Importing the same file again finds that key and, when the stored child has the same name and
  birth date, updates it instead of making a second child.
- **Matching**: a row whose resident ID is already stored updates that child (a different
  non-blank 儿童编号 on the row is an ``id_conflict``); else a row whose 儿童编号 is stored updates
  that child; else a child is created. Two rows that are the same child: ``duplicate_row``.
- **学校** is a school id, else a school's exact name (a name two schools share:
  ``school_ambiguous``). Export writes the name, or the id when the name is shared.
- **年级** is the grade today (or, for a pupil who left, on the last day at school); the stored
  enrolment keeps the grade at 入学日期, and grades advance each 1 September.
- **The enrolment** (学校, 年级, 班级, 入学日期, 离校日期, 离校原因) is the child's current one.
  On update, stored enrolments at the row's school, and any starting on or after the row's
  入学日期, are replaced by the row's; earlier ones at other schools are kept, and one of them
  still open on the row's 入学日期 is ended that day as a transfer (转学).
- **Each parent's 状态** maps as follows; a blank status means the parent is not recorded
  (``None``), and filling other columns of that parent without a status is an error:

  ==============  ==========================================================================
  在家            a recorded parent; no away spell may cover today
  外出务工        an away spell (外出开始日期, 返回日期 blank or later than today) covers today
  去世            ``deceased_on`` = 状态日期 (required)
  失踪            ``missing_since`` = 状态日期 (required)
  离异不在户      ``divorced_out_on`` = 状态日期 (required)
  不详            ``known=False``
  ==============  ==========================================================================

  监护能力 无 sets ``no_capacity_since`` = 无监护能力日期 (required); 有 or blank leaves it unset.
  Export shows one status: 不详, 去世, 失踪, 离异不在户 in that order of precedence, then
  外出务工 if a spell covers the day, else 在家 (a parent both divorced and deceased shows 去世).
- **One row holds one away spell per parent**: the current (latest) one, 外出开始日期 to 返回日期
  in 务工地点. On update the stored spells that start before it are kept, except the stored
  latest spell when it is still open (the row then restates or corrects the current spell; if
  the parent came home in between, import the return date first). Spells starting on or after
  the row's 外出开始日期 are replaced. Export writes each parent's latest spell.
- **委托监护人** with every column blank is no second guardian (``None``).
- **是否遗弃** 是 needs 遗弃日期; 否 or blank: not abandoned.
- **Absent columns** keep the stored value on update (a school may send only some columns);
  a present column with a blank cell clears it. A parent group is taken from the file only when
  its 状态 column is present, the second guardian only when 委托监护人姓名 is present.

So a child exported and imported again into an empty store gets back every fact except the
history the roster does not carry: enrolments before the current one, away spells before each
parent's latest, a second of death / missing / divorce on one parent, and a second guardian
whose fields are all empty. :func:`roster_facts` gives a child as the roster carries it.

Every issue blocks the whole file (all or nothing): nothing is written, and the report counts
what each row would have done. A dry run writes nothing and gives the same report. The write is
one ``County.put_children`` call, one unit of work.

Export (:meth:`leftbehind.County.export_roster`): text cells are strings (never
formulas), CSV cells that start like a formula get a leading ``'``, ID numbers and phones are
masked unless ``unmasked=True``, and the path is checked by
:func:`~leftbehind.io.paths.safe_export_path`.
"""

from __future__ import annotations

from datetime import date

import attrs

from leftbehind.domain.model import Child, Parent
from leftbehind.io.paths import ExportPathError, safe_export_path
from leftbehind.io.roster_columns import (
    DECEASED,
    DIVORCED,
    HOME_VISIT_COLUMNS,
    MISSING,
    PARENT_STATUSES,
    ROSTER_COLUMNS,
    TALK_COLUMNS,
    Choice,
    Column,
    Kind,
    current_enrolment,
    latest_absence,
    parent_status,
)
from leftbehind.io.roster_import import ImportReport, plan_import
from leftbehind.io.roster_limits import DEFAULT_LIMITS, ImportLimits
from leftbehind.io.roster_read import CellIssue, Progress, RosterReport, RosterRow, read_roster
from leftbehind.io.roster_write import (
    TEMPLATES,
    roster_rows,
    school_labels,
    template_title,
    write_roster,
    write_template,
)

__all__ = [
    "DEFAULT_LIMITS",
    "HOME_VISIT_COLUMNS",
    "PARENT_STATUSES",
    "ROSTER_COLUMNS",
    "TALK_COLUMNS",
    "TEMPLATES",
    "CellIssue",
    "Choice",
    "Column",
    "ExportPathError",
    "ImportLimits",
    "ImportReport",
    "Kind",
    "Progress",
    "RosterReport",
    "RosterRow",
    "plan_import",
    "read_roster",
    "roster_facts",
    "roster_rows",
    "safe_export_path",
    "school_labels",
    "template_title",
    "write_roster",
    "write_template",
]


def _roster_parent(p: Parent | None, today: date) -> Parent | None:
    if p is None:
        return None
    spell = latest_absence(p)
    status = parent_status(p, today)
    return Parent(
        name=p.name.strip(),
        phone=p.phone,
        absences=() if spell is None else (attrs.evolve(spell, place=spell.place.strip()),),
        deceased_on=p.deceased_on if status == DECEASED else None,
        missing_since=p.missing_since if status == MISSING else None,
        divorced_out_on=p.divorced_out_on if status == DIVORCED else None,
        no_capacity_since=p.no_capacity_since,
        known=p.known,
    )


def roster_facts(child: Child, today: date) -> Child:
    """The child as a roster row written on ``today`` carries it (see the module's notes).

    Only the current enrolment and each parent's latest spell; one status per parent; text
    without surrounding spaces; no second guardian when all its fields are empty.
    """
    e = current_enrolment(child)
    enrolments = () if e is None else (attrs.evolve(e, class_name=e.class_name.strip()),)
    g = child.guardian
    if g is not None:
        g = attrs.evolve(g, name=g.name.strip(), relation=g.relation.strip(),
                         address=g.address.strip())  # fmt: skip
        if not (g.name or g.relation or g.phone or g.address):
            g = None
    return attrs.evolve(
        child,
        name=child.name.strip(),
        ethnicity=child.ethnicity.strip(),
        village=child.village.strip(),
        address=child.address.strip(),
        health_note=child.health_note.strip(),
        personality=child.personality.strip(),
        hobbies=child.hobbies.strip(),
        enrolments=enrolments,
        father=_roster_parent(child.father, today),
        mother=_roster_parent(child.mother, today),
        guardian=g,
    )
