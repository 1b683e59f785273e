"""The URL schemes the SQL backend serves, in a module that imports no SQLAlchemy.

Both :mod:`leftbehind.backends.sql_plugin` (the registration, which must stay cheap to import)
and :mod:`leftbehind.backends.sql` (the backend, which parses the URLs) take them from here, so
the plugin imports the backend (when a store is first opened) and never the other way round.
"""

from __future__ import annotations

from typing import Final

__all__ = ["SCHEMES", "scheme_of"]

#: URL schemes the SQL backend serves.
SCHEMES: Final = ("sqlite", "postgresql", "postgres", "postgresql+psycopg")


def scheme_of(url: str) -> str:
    """The scheme of ``url``, lower-cased (``""`` for a URL without ``scheme://``).

    >>> scheme_of("PostgreSQL://bureau@db/province"), scheme_of("county.db")
    ('postgresql', '')
    """
    return url.partition("://")[0].lower() if "://" in url else ""
