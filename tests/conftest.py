"""Shared test configuration: Hypothesis profiles chosen by $HYPOTHESIS_PROFILE, and the store
URLs of every backend.

``store_url`` is the one way a test of the county handle gets a store: parametrized over the
backends (``memory``, ``tinydb``, ``sqlite``, ``postgresql``), it gives a fresh, empty store per
test — a file under ``tmp_path``, or a new schema on the PostgreSQL test server of
:mod:`tests.postgres`. ``fresh_store_url`` makes more stores of the same backend in the same test
(an export from one store imported into another). ``module_store_url`` is the same, once per
module and backend, for county data written once and then only read.

A named ``memory://`` store lives while a handle on it is open, so the fixtures keep one open
for as long as the URL is in use: a test may close its handle and open the store again.
"""

from __future__ import annotations

import contextlib
import itertools
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from leftbehind.backends.memory import MemoryStore

settings.register_profile(
    "ci",
    max_examples=60,
    deadline=None,
    derandomize=True,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", max_examples=100, deadline=None)
settings.register_profile("thorough", max_examples=1000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

pytest_plugins = ["tests.postgres"]

__all__ = ["BACKENDS", "new_store_url"]

#: Every storage backend the county handle runs on, as pytest parameters (ids by name).
BACKENDS = [
    pytest.param("memory", id="memory"),
    pytest.param("tinydb", id="tinydb"),
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]

_memory_names = itertools.count()


@contextlib.contextmanager
def new_store_url(backend: str, folder: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh, empty store of ``backend``: a file in ``folder`` (which must exist), a named
    memory store kept alive until the block ends, or a new PostgreSQL schema."""
    if backend == "memory":
        url = f"memory://test-{os.getpid()}-{next(_memory_names)}"
        keeper = MemoryStore(url.removeprefix("memory://"))
        try:
            yield url
        finally:
            keeper.close()
        return
    if backend == "tinydb":
        yield str(folder / "county.json")
        return
    if backend == "sqlite":
        yield f"sqlite:///{folder}/county.db"
        return
    if backend == "postgresql":
        from tests.postgres import new_schema, with_schema

        yield with_schema(request.getfixturevalue("postgres_url"), new_schema())
        return
    msg = f"no such backend {backend!r}"
    raise ValueError(msg)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The backend of this test's stores."""
    return str(request.param)


@pytest.fixture
def fresh_store_url(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Callable[[], str]]:
    """Makes fresh, empty stores of this test's backend, each call a new one."""
    made = itertools.count()
    with contextlib.ExitStack() as stack:

        def make() -> str:
            folder = tmp_path / f"store-{next(made)}"
            folder.mkdir()
            return stack.enter_context(new_store_url(backend, folder, request))

        yield make


@pytest.fixture
def store_url(fresh_store_url: Callable[[], str]) -> str:
    """A fresh, empty store for this test, on each backend in turn."""
    return fresh_store_url()


@pytest.fixture(scope="module", params=BACKENDS)
def module_store_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A fresh store per module and backend, for data written once and read by many tests."""
    folder = tmp_path_factory.mktemp(f"store-{request.param}")
    with new_store_url(str(request.param), folder, request) as url:
        yield url
