"""leftbehind: run a county's care action for rural left-behind children (留守兒童關愛行動)."""

from __future__ import annotations

from leftbehind import convert
from leftbehind.access import AccessDeniedError, Actor
from leftbehind.calendars import CalendarFallbackWarning
from leftbehind.convert import from_json, structure, to_json, unstructure
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
from leftbehind.domain.ids import check_phone, check_resident_id, mask_phone, mask_resident_id
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
from leftbehind.domain.validate import check_child, check_children, check_school
from leftbehind.errors import (
    ConflictError,
    CorruptStoreError,
    DuplicateNameError,
    InvalidDocumentError,
    Issue,
    LeftbehindError,
    PluginError,
    PluginLoadError,
    PluginWarning,
    StoreBusyError,
    StoreClosedError,
    StoreError,
    StoreIOError,
    StoreSizeWarning,
    StoreURLError,
    UnknownBackendError,
    UnknownNameError,
    ValidationError,
)
from leftbehind.hookspecs import (
    BackendRecord,
    CalendarRecord,
    DutyKindRecord,
    NotifierRecord,
    PolicyRecord,
)
from leftbehind.notifiers import Notice, Notifier
from leftbehind.plugins import Plugins, hookimpl, make_plugin_manager
from leftbehind.store import Store, UnitOfWork

__version__ = "0.1.0"

__all__ = [
    "Absence",
    "AccessDeniedError",
    "Actor",
    "BackendRecord",
    "CalendarFallbackWarning",
    "CalendarRecord",
    "Category",
    "Change",
    "Child",
    "ConflictError",
    "CorruptStoreError",
    "County",
    "Decision",
    "DuplicateNameError",
    "DutyKindRecord",
    "Enrolment",
    "Guardian",
    "Health",
    "Interval",
    "InvalidDocumentError",
    "Issue",
    "LeaveReason",
    "LeftbehindError",
    "NationalPolicy",
    "NotFoundError",
    "Notice",
    "Notifier",
    "NotifierRecord",
    "Parent",
    "ParentRole",
    "PlanPolicy",
    "PluginError",
    "PluginLoadError",
    "PluginWarning",
    "Plugins",
    "Policy",
    "PolicyRecord",
    "Reason",
    "School",
    "Sex",
    "Span",
    "Stage",
    "Store",
    "StoreBusyError",
    "StoreClosedError",
    "StoreError",
    "StoreIOError",
    "StoreSizeWarning",
    "StoreURLError",
    "Timeline",
    "UnitOfWork",
    "UnknownBackendError",
    "UnknownNameError",
    "ValidationError",
    "__version__",
    "add_months",
    "check_child",
    "check_children",
    "check_phone",
    "check_resident_id",
    "check_school",
    "convert",
    "from_json",
    "hookimpl",
    "make_plugin_manager",
    "mask_phone",
    "mask_resident_id",
    "open",
    "structure",
    "to_json",
    "unstructure",
]
