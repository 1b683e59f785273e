"""leftbehind: run a county's care action for rural left-behind children (留守兒童關愛行動)."""

from __future__ import annotations

from leftbehind import convert
from leftbehind.county import County, NotFoundError, open
from leftbehind.domain.dates import Interval, add_months
from leftbehind.domain.eligibility import (
    Category,
    Change,
    Decision,
    NationalPolicy,
    PlanPolicy,
    Policy,
    Reason,
    Span,
    Timeline,
)
from leftbehind.domain.errors import Issue, LeftbehindError, ValidationError
from leftbehind.domain.model import (
    Absence,
    Child,
    Enrolment,
    Guardian,
    Health,
    LeaveReason,
    Parent,
    ParentRole,
    School,
    Sex,
    Stage,
)

__version__ = "0.1.0"

__all__ = [
    "Absence",
    "Category",
    "Change",
    "Child",
    "County",
    "Decision",
    "Enrolment",
    "Guardian",
    "Health",
    "Interval",
    "Issue",
    "LeaveReason",
    "LeftbehindError",
    "NationalPolicy",
    "NotFoundError",
    "Parent",
    "ParentRole",
    "PlanPolicy",
    "Policy",
    "Reason",
    "School",
    "Sex",
    "Span",
    "Stage",
    "Timeline",
    "ValidationError",
    "__version__",
    "add_months",
    "convert",
    "open",
]
