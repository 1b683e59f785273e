"""A PostgreSQL server for the test session (a pytest plugin, loaded by ``conftest.py``).

``postgres_url`` is ``$LEFTBEHIND_TEST_POSTGRES_URL`` when set, otherwise a server started by
``pgserver`` in a temporary folder and stopped at the end of the session. Tests keep apart by
schema: :func:`with_schema` and :func:`new_schema`.
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest

__all__ = ["POSTGRES_ENV", "new_schema", "postgres_url", "with_schema"]

POSTGRES_ENV = "LEFTBEHIND_TEST_POSTGRES_URL"
_schemas = itertools.count()
_RUN = f"{os.getpid()}_{int(time.time()) % 100_000}"


@pytest.fixture(scope="session")
def postgres_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a PostgreSQL database: ``$LEFTBEHIND_TEST_POSTGRES_URL`` or a pgserver."""
    given_url = os.environ.get(POSTGRES_ENV)
    if given_url:
        yield given_url
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
        import pgserver

        # Run as root, pgserver starts PostgreSQL as another user, who must reach the folder.
        folder = Path(tempfile.mkdtemp(prefix="leftbehind-pg-"))
        folder.chmod(0o755)
        server = pgserver.get_server(folder / "data", cleanup_mode="stop")  # type: ignore[attr-defined]
    try:
        yield server.get_uri()
    finally:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            server.cleanup()
        shutil.rmtree(folder, ignore_errors=True)


def with_schema(url: str, schema: str) -> str:
    """``url`` with ``schema=`` set in its query."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "schema"]
    query.append(("schema", schema))
    return urlunsplit(parts._replace(query=urlencode(query)))


def new_schema() -> str:
    return f"t{_RUN}_{next(_schemas)}"
