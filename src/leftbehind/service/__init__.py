"""The service layer: ``open()`` and the :class:`~leftbehind.County` façade over its rooms.

- :mod:`~leftbehind.service.repository`: the only code that knows document kinds and converts
  them (one snapshot per call, one unit of work per command);
- :mod:`~leftbehind.service.gate`: the one access decision (abilities and the record scope);
- the rooms, one use case each: :mod:`~leftbehind.service.commands`,
  :mod:`~leftbehind.service.reads`, :mod:`~leftbehind.service.ledgers`,
  :mod:`~leftbehind.service.exports`, :mod:`~leftbehind.service.imports`,
  :mod:`~leftbehind.service.notices`, :mod:`~leftbehind.service.retention`.

County apps import from :mod:`leftbehind`; the rooms are the service's own.
"""

from __future__ import annotations

from leftbehind.errors import NotFoundError
from leftbehind.service.county import (
    DEFAULT_STORE,
    STORE_ENV,
    County,
    default_store_path,
    open,
)
from leftbehind.service.gate import PERMISSIONS, default_period
from leftbehind.service.retention import RETENTION_YEARS

__all__ = [
    "DEFAULT_STORE",
    "PERMISSIONS",
    "RETENTION_YEARS",
    "STORE_ENV",
    "County",
    "NotFoundError",
    "default_period",
    "default_store_path",
    "open",
]
