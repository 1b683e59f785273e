"""The document kinds a county keeps in its store, named once.

The service's repository is the only code that reads and writes these kinds; backends that
keep projections of them (the SQL layout) take the names from here, so a renamed kind cannot
leave a projection counting nothing.
"""

from __future__ import annotations

__all__ = [
    "ASSIGNMENT",
    "AUDIT",
    "CHILD",
    "CORRECTION",
    "FOLLOW_UP",
    "GROUP",
    "NATIONAL",
    "RECORD",
    "REPORTED",
    "RESIDENT_ID",
    "SCHOOL",
    "SETTINGS",
    "SIGNOFF",
    "STAFF",
    "TIMELINE",
]

#: The county's settings (one document, key ``county``).
SETTINGS = "settings"
#: Schools (:class:`~leftbehind.domain.model.School`).
SCHOOL = "school"
#: Children's files (:class:`~leftbehind.domain.model.Child`).
CHILD = "child"
#: Each child's timeline under the county's policy.
TIMELINE = "timeline"
#: Each child's timeline under the national 2016 rule.
NATIONAL = "national"
#: Staff, volunteers and student buddies.
STAFF = "staff"
#: Dated assignments of staff to children.
ASSIGNMENT = "assignment"
#: Village study groups.
GROUP = "group"
#: Duty records.
RECORD = "record"
#: The audit log.
AUDIT = "audit"
#: The resident-ID index: one document per ID number in use, keyed by a digest of the number,
#: naming the child that holds it (the uniqueness of an ID is checked inside a unit of work).
RESIDENT_ID = "resident_id"
#: Sign-off of a school's period (:class:`~leftbehind.domain.signoff.SignOff`), key
#: ``SCHOOL@PERIOD``: its state, steps and the tables as reported.
SIGNOFF = "signoff"
#: The tables as reported, each its canonical JSON text keyed by its SHA-256 (never changed).
REPORTED = "reported"
#: Corrections made into locked periods (:class:`~leftbehind.domain.signoff.Correction`).
CORRECTION = "correction"
#: Follow-ups (跟进事项): needs found for a child, each owed by someone, with a due date.
FOLLOW_UP = "follow_up"
