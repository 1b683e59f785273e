"""Every built-in backend passes the store contract in :mod:`leftbehind.testing.contract`."""

from __future__ import annotations

import itertools
from pathlib import Path

from leftbehind.backends.memory import MemoryStore
from leftbehind.backends.tinydb import TinyDBStore
from leftbehind.plugins import Plugins
from leftbehind.store import DURABLE, MULTIPROCESS, Store
from leftbehind.testing.contract import StoreContract

_names = itertools.count()


class TestPrivateMemoryStore(StoreContract):
    def make_store(self, path: Path) -> Store:
        return Plugins.load(load_entrypoints=False).open_store("memory://")

    def test_has_no_optional_capabilities(self, store: Store) -> None:
        assert store.capabilities == frozenset()


class TestNamedMemoryStore(StoreContract):
    """``memory://name``: handles on one name share the documents while one is open."""

    def make_store(self, path: Path) -> Store:
        return MemoryStore(f"contract-{next(_names)}")

    def reopen(self, store: Store, path: Path) -> Store:
        assert isinstance(store, MemoryStore)
        again = MemoryStore(store.name)
        store.close()
        return again

    def other_handle(self, store: Store, path: Path) -> Store | None:
        assert isinstance(store, MemoryStore)
        return MemoryStore(store.name)

    def test_named_store_ends_with_its_last_handle(self) -> None:
        name = f"contract-{next(_names)}"
        with MemoryStore(name) as store, store.unit_of_work() as uow:
            uow.put("child", "C001", {})
            uow.commit()
        with MemoryStore(name) as again:
            assert again.count("child") == 0


class TestTinyDBStore(StoreContract):
    def make_store(self, path: Path) -> Store:
        return Plugins.load(load_entrypoints=False).open_store(str(path / "county.json"))

    def reopen(self, store: Store, path: Path) -> Store:
        store.close()
        return TinyDBStore(path / "county.json")

    def other_handle(self, store: Store, path: Path) -> Store | None:
        return Plugins.load(load_entrypoints=False).open_store(f"tinydb://{path}/county.json")

    def test_is_durable_and_multiprocess(self, store: Store) -> None:
        assert {DURABLE, MULTIPROCESS} <= store.capabilities
