"""The built-in plugin that registers the SQL backend (SQLite, PostgreSQL).

It is kept apart from :mod:`leftbehind.backends.sql` so that building a plugin manager does not
import SQLAlchemy: the backend module is imported when a SQL store is first opened.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from leftbehind.hookspecs import BackendRecord
from leftbehind.plugins import hookimpl

if TYPE_CHECKING:
    from leftbehind.backends.sql import SQLStore

__all__ = ["SCHEMES", "leftbehind_storage_backends", "open_sql"]

#: URL schemes the SQL backend serves.
SCHEMES: Final = ("sqlite", "postgresql", "postgres", "postgresql+psycopg")


def open_sql(url: str) -> SQLStore:
    """Open ``sqlite:///path`` or ``postgresql://…``.

    See :class:`~leftbehind.backends.sql.SQLStore`.
    """
    from leftbehind.backends.sql import SQLStore

    return SQLStore(url)


@hookimpl(trylast=True)
def leftbehind_storage_backends() -> list[BackendRecord]:
    """SQLite (``sqlite:///path``) and PostgreSQL (``postgresql://…``)."""
    return [
        BackendRecord(
            name="sql",
            schemes=SCHEMES,
            factory=open_sql,
            description="SQLite (embedded, a county) or PostgreSQL (a bureau or province server)",
        )
    ]
