"""The built-in plugin that registers the SQL backend (SQLite, PostgreSQL).

It is kept apart from :mod:`leftbehind.backends.sql` so that building a plugin manager does not
import SQLAlchemy: the backend module is imported when a SQL store is first opened. The arrow
points one way: this module imports the backend (lazily), the backend never imports this one;
the schemes both need live in :mod:`leftbehind.backends.sql_urls`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from leftbehind._markers import hookimpl
from leftbehind.backends.sql_urls import SCHEMES
from leftbehind.hookspecs import BackendRecord

if TYPE_CHECKING:
    from leftbehind.backends.sql import SQLStore

__all__ = ["SCHEMES", "leftbehind_storage_backends", "open_sql"]


def open_sql(url: str, *, create: bool | None = None) -> SQLStore:
    """Open ``sqlite:///path`` or ``postgresql://…``, importing the backend on first use.

    See :func:`leftbehind.backends.sql.open_sql` and :class:`~leftbehind.backends.sql.SQLStore`.
    """
    from leftbehind.backends import sql

    return sql.open_sql(url, create=create)


@hookimpl(trylast=True)
def leftbehind_storage_backends() -> list[BackendRecord]:
    """SQLite (``sqlite:///path``) and PostgreSQL (``postgresql://…``)."""
    return [
        BackendRecord(
            name="sql",
            schemes=SCHEMES,
            factory=open_sql,
            description="SQLite (embedded, a county) or PostgreSQL (a bureau or province server)",
            takes_create=True,
        )
    ]
