"""Every built-in backend passes the store contract in :mod:`leftbehind.testing.contract`."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leftbehind.backends.memory import MemoryStore
from leftbehind.backends.tinydb import TinyDBStore
from leftbehind.errors import InvalidDocumentError
from leftbehind.plugins import Plugins
from leftbehind.store import DURABLE, MULTIPROCESS, VERSIONED, Document, Store, to_document
from leftbehind.testing.contract import StoreContract, json_documents, json_values

_names = itertools.count()


class TestPrivateMemoryStore(StoreContract):
    def make_store(self, path: Path) -> Store:
        return Plugins.load(load_entrypoints=False).open_store("memory://")

    def test_is_neither_durable_nor_shared_but_versioned(self, store: Store) -> None:
        assert store.capabilities == frozenset({VERSIONED})


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


@given(doc=json_documents())
def test_validation_copies_json_exactly(doc: Document) -> None:
    copy = to_document(doc)
    assert copy == doc
    assert copy is not doc
    assert json.loads(json.dumps(copy, ensure_ascii=False)) == copy


@given(doc=st.dictionaries(st.text(max_size=3), st.tuples(json_values()) | json_values()))
def test_fast_and_careful_validation_agree(doc: dict[str, Any]) -> None:
    """Tuples take the careful path; the result is the same as for lists."""
    as_lists = json.loads(json.dumps(doc))
    try:
        copy = to_document(doc)
    except InvalidDocumentError:
        with pytest.raises(InvalidDocumentError):
            to_document(as_lists)
    else:
        assert copy == as_lists == to_document(as_lists)
