"""The store contract: what every backend must do, as a pytest suite a backend's author can run.

Subclass :class:`StoreContract` in a test module and say how to open your store::

    from leftbehind.testing.contract import StoreContract

    class TestCountyStore(StoreContract):
        def make_store(self, path):
            return CountyStore(path / "archive")

        def reopen(self, store, path):          # durable stores: close, then open again
            store.close()
            return CountyStore(path / "archive")

        def other_handle(self, store, path):    # optional: a second handle on the same data
            return CountyStore(path / "archive")

Every ``test_*`` method then runs against your store, including a Hypothesis state machine that
drives random puts, deletes, commits, rollbacks and reopens against a dict model.

A store that advertises ``ledger-pushdown`` also subclasses :class:`PushdownContract` (with the
same ``make_store``): its ``duty_tallies`` must equal the pure domain's
:class:`~leftbehind.domain.duties.DutyBook` on worlds written as the county handle writes them::

    class TestCountyStore(StoreContract, PushdownContract):
        def make_store(self, path):
            return CountyStore(path / "archive")
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from leftbehind import kinds
from leftbehind.access import Actor
from leftbehind.convert import unstructure
from leftbehind.domain.dates import Interval
from leftbehind.domain.duties import DutyBook, DutyKind, DutyPlan, duty_plan
from leftbehind.domain.ledger import county_table
from leftbehind.domain.model import School
from leftbehind.errors import (
    ConflictError,
    InvalidDocumentError,
    StoreClosedError,
    StoreError,
)
from leftbehind.plugins import Plugins
from leftbehind.service import County
from leftbehind.store import (
    DURABLE,
    JSON,
    LEDGER_PUSHDOWN,
    VERSIONED,
    Document,
    LedgerPushdown,
    Store,
    UnitOfWork,
)
from leftbehind.testing.worlds import (
    COUNTY,
    PUSHDOWN_KINDS,
    World,
    duty_totals,
    duty_worlds,
    empty_store,
    pushed_columns,
    synthetic_world,
    write_world,
)

__all__ = [
    "PushdownContract",
    "SchoolColumns",
    "StoreContract",
    "json_documents",
    "json_values",
]

_counter = itertools.count()

#: Text that has broken stores before: CJK, a character outside the BMP, the middle dot of
#: minority names, combining marks, a bidi control, emoji, quotes and backslashes.
HARD_TEXT = ("李小明", "𠀀𪚥", "阿依古丽·买买提", "e\u0301", "\u202eabc", "😀", '"\\/\n\t')


def json_values(max_leaves: int = 8) -> st.SearchStrategy[JSON]:
    """Storable JSON values: 64-bit ints, finite floats, text without NUL or lone surrogates."""
    text = st.text(st.characters(codec="utf-8", exclude_characters="\x00"))
    scalars: st.SearchStrategy[JSON] = st.none() | st.booleans() | text
    scalars = (
        scalars
        | st.integers(-(2**63), 2**63 - 1)
        | st.floats(allow_nan=False, allow_infinity=False)
    )
    return st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
        max_leaves=max_leaves,
    )


def json_documents() -> st.SearchStrategy[Document]:
    """Small storable documents with a few well-known fields (for filters) and random ones."""
    return st.dictionaries(
        st.sampled_from(["name", "grade", "school", "tags", "note"]), json_values(), max_size=4
    )


def _commit(store: Store, kind: str, docs: dict[str, dict[str, Any]]) -> None:
    with store.unit_of_work() as uow:
        uow.put_many(kind, docs)
        uow.commit()


class StoreContract:
    """The contract suite; override :meth:`make_store` (and :meth:`reopen` when durable)."""

    def make_store(self, path: Path) -> Store:
        """A new, empty store whose files (if any) live under the empty folder ``path``."""
        raise NotImplementedError("override make_store() in your StoreContract subclass")

    def reopen(self, store: Store, path: Path) -> Store:
        """Close ``store`` and open the same store again; a store without files returns itself."""
        return store

    def other_handle(self, store: Store, path: Path) -> Store | None:
        """A second handle on the same data (another connection, another open), if there can be."""
        return None

    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[Store]:
        """A fresh store, closed after the test."""
        store = self.make_store(tmp_path)
        try:
            yield store
        finally:
            store.close()

    # Basics.

    def test_capabilities_are_a_frozenset_of_str(self, store: Store) -> None:
        assert isinstance(store.capabilities, frozenset)
        assert all(isinstance(c, str) for c in store.capabilities)
        assert isinstance(store, Store)
        with store.unit_of_work() as uow:
            assert isinstance(uow, UnitOfWork)

    def test_empty_store(self, store: Store) -> None:
        assert store.get("child", "C001") is None
        assert list(store.scan("child")) == []
        assert store.count("child") == 0
        assert store.kinds() == frozenset()

    def test_commit_makes_writes_visible(self, store: Store) -> None:
        with store.unit_of_work() as uow:
            uow.put("child", "C001", {"name": "李小明", "grade": 3})
            uow.put("school", "S1", {"name": "广平小学"})
            assert store.get("child", "C001") is None
            assert store.count("child") == 0
            uow.commit()
        assert store.get("child", "C001") == {"name": "李小明", "grade": 3}
        assert store.kinds() == {"child", "school"}

    def test_leaving_without_commit_rolls_back(self, store: Store) -> None:
        with store.unit_of_work() as uow:
            uow.put("child", "C001", {"name": "a"})
        assert store.get("child", "C001") is None
        assert store.kinds() == frozenset()

    def test_exception_rolls_back_and_propagates(self, store: Store) -> None:
        _commit(store, "child", {"C001": {"v": 1}})

        def fail() -> None:
            with store.unit_of_work() as uow:
                uow.put("child", "C001", {"v": 2})
                uow.delete("child", "C001")
                uow.put("child", "C002", {"v": 2})
                raise ZeroDivisionError

        with pytest.raises(ZeroDivisionError):
            fail()
        assert dict(store.scan("child")) == {"C001": {"v": 1}}

    def test_rollback_then_commit_applies_only_later_writes(self, store: Store) -> None:
        with store.unit_of_work() as uow:
            uow.put("child", "C001", {"v": 1})
            uow.rollback()
            assert uow.get("child", "C001") is None
            uow.put("child", "C002", {"v": 2})
            uow.commit()
            uow.put("child", "C003", {"v": 3})
            uow.commit()
            uow.put("child", "C004", {"v": 4})
        assert dict(store.scan("child")) == {"C002": {"v": 2}, "C003": {"v": 3}}

    def test_unit_of_work_reads_its_own_writes(self, store: Store) -> None:
        _commit(store, "child", {"C001": {"g": 1}, "C002": {"g": 1}, "C003": {"g": 2}})
        with store.unit_of_work() as uow:
            uow.put("child", "C002", {"g": 2})
            uow.delete("child", "C003")
            uow.put("child", "C004", {"g": 1})
            assert uow.get("child", "C002") == {"g": 2}
            assert uow.get("child", "C003") is None
            assert dict(uow.scan("child", {"g": 1})) == {"C001": {"g": 1}, "C004": {"g": 1}}
            assert uow.count("child") == 3
            assert uow.count("child", {"g": 2}) == 1
            assert uow.count("school") == 0
        assert store.count("child") == 3
        assert store.get("child", "C004") is None

    def test_delete(self, store: Store) -> None:
        _commit(store, "child", {"C001": {}, "C002": {}})
        with store.unit_of_work() as uow:
            uow.delete("child", "C001")
            uow.delete("child", "C999")  # missing: not an error
            uow.delete("school", "S1")
            uow.commit()
        assert dict(store.scan("child")) == {"C002": {}}
        with store.unit_of_work() as uow:
            uow.delete("child", "C002")
            uow.commit()
        assert store.kinds() == frozenset()

    def test_put_replaces_whole_document(self, store: Store) -> None:
        _commit(store, "child", {"C001": {"a": 1, "b": 2}})
        _commit(store, "child", {"C001": {"b": 3}})
        assert store.get("child", "C001") == {"b": 3}

    def test_put_many_takes_a_mapping_or_pairs(self, store: Store) -> None:
        with store.unit_of_work() as uow:
            uow.put_many("child", {"C001": {"n": 1}})
            uow.put_many("child", iter([("C002", {"n": 2}), ("C003", {"n": 3})]))
            uow.commit()
        assert store.count("child") == 3

    def test_bulk_unit_of_work(self, store: Store) -> None:
        docs = {f"C{i:05d}": {"name": f"儿童{i}", "grade": i % 9} for i in range(2000)}
        _commit(store, "child", docs)
        assert store.count("child") == 2000
        assert store.count("child", {"grade": 4}) == sum(1 for i in range(2000) if i % 9 == 4)
        assert dict(store.scan("child")) == docs

    # Copies.

    def test_documents_are_copied_in(self, store: Store) -> None:
        doc: dict[str, Any] = {"tags": ["a"], "parent": {"phone": "1"}}
        with store.unit_of_work() as uow:
            uow.put("child", "C001", doc)
            doc["tags"].append("b")
            doc["parent"]["phone"] = "2"
            assert uow.get("child", "C001") == {"tags": ["a"], "parent": {"phone": "1"}}
            uow.commit()
        assert store.get("child", "C001") == {"tags": ["a"], "parent": {"phone": "1"}}

    def test_documents_are_copied_out(self, store: Store) -> None:
        _commit(store, "child", {"C001": {"tags": ["a"], "parent": {"phone": "1"}}})
        got = store.get("child", "C001")
        assert got is not None
        got["tags"].append("x")  # type: ignore[union-attr]
        got["parent"]["phone"] = "x"  # type: ignore[index,call-overload]
        for _, scanned in store.scan("child"):
            scanned["tags"] = []
        with store.unit_of_work() as uow:
            mine = uow.get("child", "C001")
            assert mine is not None
            mine["new"] = 1
            assert uow.get("child", "C001") == {"tags": ["a"], "parent": {"phone": "1"}}
        assert store.get("child", "C001") == {"tags": ["a"], "parent": {"phone": "1"}}

    # Values.

    def test_hard_text_round_trips(self, store: Store) -> None:
        docs = {f"K{i}": {"text": t, t: [t]} for i, t in enumerate(HARD_TEXT)}
        docs["键𠀀"] = {"name": "键"}
        _commit(store, "child", docs)
        assert dict(store.scan("child")) == docs
        assert store.get("child", "键𠀀") == {"name": "键"}

    def test_values_round_trip(self, store: Store) -> None:
        doc: dict[str, Any] = {
            "big": 2**63 - 1,
            "small": -(2**63),
            "float": 0.1,
            "neg_zero": -0.0,
            "true": True,
            "null": None,
            "empty_list": [],
            "empty_dict": {},
            "nested": {"a": [1, [2, {"b": None}]]},
            "tuple": (1, "2"),
        }
        _commit(store, "child", {"C001": doc})
        got = store.get("child", "C001")
        assert got == {**doc, "tuple": [1, "2"]}
        assert got is not None
        assert type(got["true"]) is bool
        assert type(got["float"]) is float
        assert type(got["big"]) is int

    @pytest.mark.parametrize(
        "doc",
        [
            {"x": float("nan")},
            {"x": float("inf")},
            {"x": 2**63},
            {"x": "\ud800"},
            {"x": "a\x00b"},
            {"x\x00": 1},
            {1: "int field name"},
            {"x": {1, 2}},
            {"x": b"bytes"},
            {"x": object()},
            {"x": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]},
        ],
        ids=lambda d: repr(d)[:20],
    )
    def test_invalid_documents_are_refused_at_put(self, store: Store, doc: Any) -> None:
        with store.unit_of_work() as uow:
            uow.put("child", "C001", {"ok": 1})
            with pytest.raises(InvalidDocumentError) as info:
                uow.put("child", "C002", doc)
            assert isinstance(info.value, ValueError)
            uow.commit()
        assert dict(store.scan("child")) == {"C001": {"ok": 1}}

    def test_non_documents_are_refused(self, store: Store) -> None:
        with store.unit_of_work() as uow:
            for bad in ([1], "text", None):
                with pytest.raises(InvalidDocumentError):
                    uow.put("child", "C001", bad)  # type: ignore[arg-type]

    @pytest.mark.parametrize("kind", ["", "Child", "1child", "child kind", "孩子", "a" * 64])
    def test_invalid_kinds_are_refused(self, store: Store, kind: str) -> None:
        with pytest.raises(InvalidDocumentError):
            store.get(kind, "C001")
        with store.unit_of_work() as uow, pytest.raises(InvalidDocumentError):
            uow.put(kind, "C001", {})

    @pytest.mark.parametrize("key", ["", "a\x00", "\udc80", "k" * 201, 7, None])
    def test_invalid_keys_are_refused(self, store: Store, key: Any) -> None:
        with pytest.raises(InvalidDocumentError):
            store.get("child", key)
        with store.unit_of_work() as uow, pytest.raises(InvalidDocumentError):
            uow.put("child", key, {})

    # Filters.

    @pytest.mark.parametrize(
        ("where", "expected"),
        [
            ({}, {"A", "B", "C", "D", "E"}),
            ({"grade": 3}, {"A", "B"}),
            ({"grade": 3.0}, {"A", "B"}),
            ({"grade": 3, "school": "S1"}, {"A"}),
            ({"flag": True}, {"C"}),
            ({"flag": 1}, {"D"}),
            ({"school": None}, {"C", "D", "E"}),
            ({"grade": "3"}, {"E"}),
            ({"missing": "x"}, set()),
            ({"tags": None}, {"B", "C", "D", "E"}),
        ],
    )
    def test_scan_where_is_top_level_equality(
        self, store: Store, where: dict[str, Any], expected: set[str]
    ) -> None:
        _commit(
            store,
            "child",
            {
                "A": {"grade": 3, "school": "S1", "tags": ["x"]},
                "B": {"grade": 3.0, "school": "S2"},
                "C": {"flag": True, "school": None},
                "D": {"flag": 1},
                "E": {"grade": "3"},
            },
        )
        assert {key for key, _ in store.scan("child", where)} == expected
        assert store.count("child", where) == len(expected)
        with store.unit_of_work() as uow:
            assert {key for key, _ in uow.scan("child", where)} == expected

    @pytest.mark.parametrize("where", [{"tags": ["x"]}, {"d": {}}, {"f": float("nan")}])
    def test_where_takes_scalars_only(self, store: Store, where: dict[str, Any]) -> None:
        with pytest.raises(InvalidDocumentError):
            list(store.scan("child", where))

    # Concurrency.

    def test_conflicting_read_fails_the_commit_and_writes_nothing(self, store: Store) -> None:
        _commit(store, "child", {"C001": {"v": 1}})
        with store.unit_of_work() as first:
            doc = first.get("child", "C001")
            assert doc == {"v": 1}
            _commit(store, "child", {"C001": {"v": 2}})
            first.put("child", "C001", {"v": 10})
            first.put("child", "C002", {"v": 10})
            with pytest.raises(ConflictError) as info:
                first.commit()
            assert (info.value.kind, info.value.key) == ("child", "C001")
            assert isinstance(info.value, StoreError)
        assert dict(store.scan("child")) == {"C001": {"v": 2}}

    def test_reading_a_missing_document_that_appears_conflicts(self, store: Store) -> None:
        with store.unit_of_work() as first:
            assert first.get("child", "C001") is None
            _commit(store, "child", {"C001": {"v": 2}})
            first.put("child", "C001", {"v": 1})
            with pytest.raises(ConflictError):
                first.commit()
        assert store.get("child", "C001") == {"v": 2}

    def test_get_many_reads_committed_and_pending_documents(self, store: Store) -> None:
        if getattr(store, "get_many", None) is None:
            pytest.skip("this store reads one key at a time (get_many is optional)")
        _commit(store, "child", {"C001": {"v": 1}, "C002": {"v": 2}, "C003": {"v": 3}})
        keys = ["C003", "C001", "C009", "C001"]
        assert store.get_many("child", keys) == {"C001": {"v": 1}, "C003": {"v": 3}}  # type: ignore[attr-defined]
        assert store.get_many("child", []) == {}  # type: ignore[attr-defined]
        with store.unit_of_work() as uow:
            uow.put("child", "C009", {"v": 9})
            uow.delete("child", "C003")
            found = uow.get_many("child", keys)  # type: ignore[attr-defined]
            assert found == {"C001": {"v": 1}, "C009": {"v": 9}}
            found["C001"]["v"] = 100  # the caller's to keep
            assert uow.get("child", "C001") == {"v": 1}

    def test_a_conflicting_get_many_read_fails_the_commit(self, store: Store) -> None:
        if getattr(store, "get_many", None) is None:
            pytest.skip("this store reads one key at a time (get_many is optional)")
        _commit(store, "child", {"C001": {"v": 1}})
        with store.unit_of_work() as first:
            assert first.get_many("child", ["C001", "C002"]) == {"C001": {"v": 1}}  # type: ignore[attr-defined]
            _commit(store, "child", {"C002": {"v": 2}})
            first.put("child", "C003", {"v": 3})
            with pytest.raises(ConflictError) as info:
                first.commit()
            assert (info.value.kind, info.value.key) == ("child", "C002")
        assert store.get("child", "C003") is None

    def test_blind_writes_do_not_conflict(self, store: Store) -> None:
        _commit(store, "child", {"C001": {"v": 1}})
        with store.unit_of_work() as first:
            first.put("child", "C001", {"v": 3})
            _commit(store, "child", {"C001": {"v": 2}})
            first.commit()
        assert store.get("child", "C001") == {"v": 3}

    def test_a_handle_sees_each_commit_and_a_version_changes_with_its_kind_only(
        self, store: Store, tmp_path: Path
    ) -> None:
        # Whatever the store advertises, a county handle sees each commit on its next call.
        county = County(
            store, actor=Actor.system("contract"), plugins=Plugins.load(load_entrypoints=False)
        )
        assert county.schools() == {}
        school = School("S1", "一小", "甲镇")
        _commit(store, "school", {"S1": unstructure(school)})
        assert county.schools() == {"S1": school}
        _commit(store, "school", {"S1": unstructure(attrs.evolve(school, name="二小"))})
        assert county.schools()["S1"].name == "二小"
        if VERSIONED not in store.capabilities:
            return
        version = store.version  # type: ignore[attr-defined]
        empty = version("child")
        assert version("child") is empty
        _commit(store, "child", {"C001": {"v": 1}})
        first = version("child")
        assert first is not empty
        assert version("child") is first
        _commit(store, "staff", {"T001": {"v": 1}})
        assert version("child") is first
        with store.unit_of_work() as uow:
            uow.put("child", "C002", {"v": 2})  # not committed
        assert version("child") is first
        other = self.other_handle(store, tmp_path)
        if other is not None:
            try:
                _commit(other, "child", {"C003": {"v": 3}})
            finally:
                other.close()
            assert version("child") is not first

    def test_other_handles_see_commits_only(self, store: Store, tmp_path: Path) -> None:
        other = self.other_handle(store, tmp_path) or store
        try:
            with store.unit_of_work() as uow:
                uow.put("child", "C001", {"v": 1})
                assert other.get("child", "C001") is None
                uow.commit()
            assert other.get("child", "C001") == {"v": 1}
            with other.unit_of_work() as uow:
                assert uow.get("child", "C001") == {"v": 1}
                _commit(store, "child", {"C001": {"v": 2}})
                uow.put("child", "C001", {"v": 3})
                with pytest.raises(ConflictError):
                    uow.commit()
            assert store.get("child", "C001") == {"v": 2}
        finally:
            if other is not store:
                other.close()

    def test_scan_survives_commits_during_iteration(self, store: Store) -> None:
        _commit(store, "child", {f"C{i:03d}": {"i": i} for i in range(50)})
        seen = []
        for n, (key, _) in enumerate(store.scan("child")):
            seen.append(key)
            with store.unit_of_work() as uow:
                uow.put("child", f"N{n:03d}", {"i": n})
                uow.delete("child", f"C{49 - n:03d}")
                uow.commit()
        assert len(seen) == len(set(seen))

    # Lifecycle.

    def test_unit_of_work_is_closed_after_its_block(self, store: Store) -> None:
        with store.unit_of_work() as uow:
            pass
        with pytest.raises(StoreClosedError):
            uow.put("child", "C001", {})
        with pytest.raises(StoreClosedError):
            uow.commit()

    def test_closed_store_refuses_work(self, tmp_path: Path) -> None:
        with self.make_store(tmp_path) as store:
            _commit(store, "child", {"C001": {}})
        store.close()  # closing twice is harmless
        with pytest.raises(StoreClosedError):
            store.get("child", "C001")
        with pytest.raises(StoreClosedError):
            store.unit_of_work()

    def test_reopen_keeps_every_commit(self, tmp_path: Path) -> None:
        store = self.make_store(tmp_path)
        _commit(store, "child", {"C001": {"name": "李小明"}, "C002": {"v": 1}})
        with store.unit_of_work() as uow:
            uow.delete("child", "C002")
            uow.commit()
            uow.put("child", "C003", {"uncommitted": True})
        reopened = self.reopen(store, tmp_path)
        try:
            if DURABLE in reopened.capabilities:
                assert reopened is not store, "a durable store must override reopen()"
            assert dict(reopened.scan("child")) == {"C001": {"name": "李小明"}}
        finally:
            reopened.close()

    # The model.

    def test_matches_a_dict_model(self, tmp_path: Path) -> None:
        """Random puts, deletes, commits, rollbacks and reopens agree with a dict."""
        contract = self

        class Model(RuleBasedStateMachine):
            def __init__(self) -> None:
                super().__init__()
                self.path = tmp_path / f"model{next(_counter)}"
                self.path.mkdir()
                self.store = contract.make_store(self.path)
                self.committed: dict[tuple[str, str], Document] = {}
                self.pending: dict[tuple[str, str], Document | None] = {}
                self.uow: UnitOfWork | None = None

            def _uow(self) -> UnitOfWork:
                if self.uow is None:
                    self.uow = self.store.unit_of_work().__enter__()
                return self.uow

            def _seen(self) -> dict[tuple[str, str], Document]:
                view = dict(self.committed)
                for at, doc in self.pending.items():
                    if doc is None:
                        view.pop(at, None)
                    else:
                        view[at] = doc
                return view

            @rule(
                kind=st.sampled_from(["child", "school"]),
                key=st.sampled_from(["C001", "C002", "键", "𠀀"]),
                doc=json_documents(),
            )
            def put(self, kind: str, key: str, doc: Document) -> None:
                self._uow().put(kind, key, doc)
                self.pending[kind, key] = doc

            @rule(kind=st.sampled_from(["child", "school"]), key=st.sampled_from(["C001", "键"]))
            def delete(self, kind: str, key: str) -> None:
                self._uow().delete(kind, key)
                self.pending[kind, key] = None

            @precondition(lambda self: self.uow is not None)
            @rule()
            def commit(self) -> None:
                self._uow().commit()
                self.committed, self.pending = self._seen(), {}

            @precondition(lambda self: self.uow is not None)
            @rule(leave=st.booleans())
            def rollback(self, leave: bool) -> None:
                uow = self._uow()
                if leave:
                    uow.__exit__(None, None, None)
                    self.uow = None
                else:
                    uow.rollback()
                self.pending = {}

            @precondition(lambda self: self.uow is None)
            @rule()
            def reopen(self) -> None:
                self.store = contract.reopen(self.store, self.path)

            @invariant()
            def store_shows_committed(self) -> None:
                for kind in ("child", "school"):
                    want = {k: d for (c, k), d in self.committed.items() if c == kind}
                    assert dict(self.store.scan(kind)) == want
                    assert self.store.count(kind) == len(want)
                    for key in ("C001", "键"):
                        assert self.store.get(kind, key) == want.get(key)
                assert self.store.kinds() == {c for c, _ in self.committed}

            @invariant()
            def unit_of_work_shows_its_writes(self) -> None:
                if self.uow is not None:
                    seen = self._seen()
                    for kind in ("child", "school"):
                        want = {k: d for (c, k), d in seen.items() if c == kind}
                        assert dict(self.uow.scan(kind)) == want
                        assert self.uow.get(kind, "C001") == want.get("C001")

            def teardown(self) -> None:
                if self.uow is not None:
                    self.uow.__exit__(None, None, None)
                self.store.close()

        run_state_machine_as_test(Model, settings=settings(deadline=None, stateful_step_count=30))


# ---------------------------------------------------------------------------------------------
# The ledger pushdown.


@runtime_checkable
class SchoolColumns(Protocol):
    """A store that also counts the county table's columns per school (as ``SQLStore`` does)."""

    def school_columns(self, as_of: date) -> Mapping[str, Mapping[str, int]]:
        """Per school id, the county table's count columns on ``as_of``."""
        ...


def _differences(got: Counter[Any], want: Counter[Any], limit: int = 12) -> str:
    keys = sorted({*got, *want} - {k for k in got if got[k] == want[k]}, key=repr)
    shown = ", ".join(f"{k}: store {got[k]}, domain {want[k]}" for k in keys[:limit])
    more = f" and {len(keys) - limit} more" if len(keys) > limit else ""
    return f"the store's counts differ from the domain's: {shown}{more}"


class PushdownContract:
    """The ledger-pushdown contract; override :meth:`make_store`.

    The store must advertise :data:`~leftbehind.store.LEDGER_PUSHDOWN` and be a
    :class:`~leftbehind.store.LedgerPushdown`. Each test writes a world's documents as the county
    handle writes them (:meth:`leftbehind.testing.worlds.World.documents`: ``unstructure`` of
    each domain value under the kinds of :mod:`leftbehind.kinds`) and compares the store's
    ``duty_tallies(plan, as_of)`` with what :class:`~leftbehind.domain.duties.DutyBook` counts.
    A Hypothesis property draws small random worlds (:func:`~leftbehind.testing.worlds.duty_worlds`,
    the store emptied between them); a synthetic county checks that the counts are not all zero,
    so a store reading other kinds or fields than the county writes fails instead of counting
    nothing. A store that also has ``school_columns(as_of)`` (:class:`SchoolColumns`) is checked
    against :func:`~leftbehind.domain.ledger.county_table` the same way.
    """

    #: The duty kinds of the plans the store is asked to count (the plan's eight by default).
    #:
    #: :meta hide-value:
    duty_kinds: tuple[DutyKind, ...] = PUSHDOWN_KINDS
    #: Hypothesis examples per property.
    max_examples: int = 60

    def make_store(self, path: Path) -> Store:
        """A new, empty store advertising ``ledger-pushdown``, its files (if any) under ``path``."""
        raise NotImplementedError("override make_store() in your PushdownContract subclass")

    def check_world(self, store: Store, world: World, plan: DutyPlan, book: DutyBook) -> None:
        """Called once the contract's own checks of a world passed; override to check more."""

    @pytest.fixture
    def pushdown_store(self, tmp_path: Path) -> Iterator[Store]:
        """A fresh store of :meth:`make_store`, closed after the test."""
        store = self.make_store(tmp_path)
        try:
            yield store
        finally:
            store.close()

    def _settings(self) -> settings:
        return settings(
            max_examples=self.max_examples,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        )

    def check_duties(self, store: Store, world: World) -> Counter[tuple[str, str, str]]:
        """Assert that ``store`` (holding ``world``) counts its duties as the domain does;
        returns the domain's counts by ``(child, kind, "due" | "done" | "overdue")``."""
        assert isinstance(store, LedgerPushdown)
        plan = duty_plan(world.calendar, self.duty_kinds, world.period)
        book = world.duty_book(self.duty_kinds)
        want = duty_totals(book.tallies(world.period, world.as_of))
        rows = list(store.duty_tallies(plan, world.as_of))
        seen: set[tuple[str, str]] = set()
        for row in rows:
            at = (row.child_id, row.kind)
            assert at not in seen, f"two rows for child {at[0]!r} and kind {at[1]!r}"
            seen.add(at)
            assert row.due > 0, f"a row with nothing due: {at}"
            assert row.done >= 0, at
            assert row.overdue >= 0, at
            assert row.done + row.overdue <= row.due, at
        got = duty_totals(rows)
        assert got == want, _differences(got, want)
        some = {c.id for c in world.children[::2]}
        part = duty_totals(store.duty_tallies(plan, world.as_of, children=some))
        assert part == Counter({k: n for k, n in want.items() if k[0] in some}), (
            "the counts of some children differ from theirs among all"
        )
        assert list(store.duty_tallies(plan, world.as_of, children=())) == []
        self.check_world(store, world, plan, book)
        return want

    def check_children_reads(self, store: Store, world: World) -> None:
        """Assert that ``about_children`` and ``enrolled_children`` find what a scan finds."""
        assert isinstance(store, LedgerPushdown)
        docs = world.documents()
        ids = [c.id for c in world.children]

        def named(kind: str, doc: Document) -> set[Any]:
            listed = doc["child_ids"] if kind == kinds.GROUP else [doc["child_id"]]
            assert isinstance(listed, list)
            return set(listed)

        for some in ({*ids[::3]}, {*ids[1::2], "NO-SUCH-CHILD"}, set(ids), set()):
            for kind in (kinds.RECORD, kinds.ASSIGNMENT, kinds.GROUP):
                found = docs.get(kind, {}).items()
                want = sorted((k, d) for k, d in found if named(kind, d) & some)
                assert store.about_children(kind, some) == want, (kind, sorted(some)[:5])
        for schools in ({s.id for s in world.schools[:1]}, {s.id for s in world.schools}, set()):
            want_ids = sorted(
                c.id for c in world.children if any(e.school_id in schools for e in c.enrolments)
            )
            assert store.enrolled_children(schools) == want_ids, sorted(schools)

    def check_school_columns(self, store: Store, world: World, days: Iterable[date]) -> None:
        """Assert that ``store``'s ``school_columns`` equal the county table's, school by school."""
        assert isinstance(store, SchoolColumns)
        facts = world.ledger_facts()
        for on in days:
            table = county_table(facts, as_of=on, period=Interval(on, on + timedelta(days=1)))
            want = {
                s.id: pushed_columns(table.row((COUNTY, s.township, s.id))) for s in world.schools
            }
            got = store.school_columns(on)
            assert set(got) <= set(want), (
                f"columns of unknown schools on {on}: {set(got) - set(want)}"
            )
            assert {sid: pushed_columns(got.get(sid, {})) for sid in want} == want, on

    # The tests.

    def test_pushdown_is_advertised(self, pushdown_store: Store) -> None:
        assert LEDGER_PUSHDOWN in pushdown_store.capabilities
        assert isinstance(pushdown_store, LedgerPushdown)

    def test_pushdown_of_an_empty_store_counts_nothing(self, pushdown_store: Store) -> None:
        world = synthetic_world(children=20)
        assert isinstance(pushdown_store, LedgerPushdown)
        plan = duty_plan(world.calendar, self.duty_kinds, world.period)
        assert list(pushdown_store.duty_tallies(plan, world.as_of)) == []

    def test_pushdown_counts_a_synthetic_county_as_the_duty_book(
        self, pushdown_store: Store
    ) -> None:
        world = synthetic_world()
        write_world(pushdown_store, world)
        for on in (world.as_of, world.period.start + timedelta(days=136)):
            want = self.check_duties(pushdown_store, attrs.evolve(world, as_of=on))
            totals = Counter({name: n for (_, _, name), n in want.items()})
            # Not all zero: a store that read other kinds than the county writes would count
            # nothing, and equal a domain that counted nothing too.
            assert totals["due"] > 0, totals
            assert totals["done"] > 0, totals
            assert totals["overdue"] > 0, totals
            assert {kind for _, kind, _ in want} == {k.code for k in self.duty_kinds}

    def test_pushdown_duty_tallies_equal_the_duty_book(self, pushdown_store: Store) -> None:
        """Random worlds: per child and kind, the store's duty counts are the DutyBook's."""

        @self._settings()
        @given(world=duty_worlds(self.duty_kinds))
        def check(world: World) -> None:
            empty_store(pushdown_store)
            write_world(pushdown_store, world)
            self.check_duties(pushdown_store, world)
            self.check_children_reads(pushdown_store, world)

        check()

    def test_pushdown_reads_a_synthetic_county_by_child(self, pushdown_store: Store) -> None:
        world = synthetic_world(children=120)
        write_world(pushdown_store, world)
        assert world.records
        assert world.assignments
        assert world.groups
        self.check_children_reads(pushdown_store, world)
        assert isinstance(pushdown_store, LedgerPushdown)
        with pytest.raises(ValueError, match="not found by child"):
            pushdown_store.about_children(kinds.CHILD, {world.children[0].id})

    def test_pushdown_school_columns_of_a_synthetic_county(self, pushdown_store: Store) -> None:
        if not isinstance(pushdown_store, SchoolColumns):
            pytest.skip("the store has no school_columns()")
        world = synthetic_world()
        write_world(pushdown_store, world)
        days = (world.as_of, world.period.start + timedelta(days=136), world.period.start)
        self.check_school_columns(pushdown_store, world, days)
        facts = world.ledger_facts()
        for on in days:
            table = county_table(facts, as_of=on, period=Interval(on, on + timedelta(days=1)))
            got = pushdown_store.school_columns(on)
            for column in ("enrolled", "served", "national"):
                total = sum(cells.get(column, 0) for cells in got.values())
                assert total == table.total.get(column, 0) > 0, (column, on)

    def test_pushdown_school_columns_equal_the_county_table(self, pushdown_store: Store) -> None:
        """Random worlds: the pushed-down columns equal the county table's, school by school."""
        if not isinstance(pushdown_store, SchoolColumns):
            pytest.skip("the store has no school_columns()")
        store = pushdown_store

        @self._settings()
        @given(
            world=duty_worlds(self.duty_kinds),
            days=st.lists(st.dates(date(2014, 1, 1), date(2031, 6, 1)), max_size=4),
        )
        def check(world: World, days: list[date]) -> None:
            empty_store(store)
            write_world(store, world)
            probes = {world.as_of, *days, *(e.start for c in world.children for e in c.enrolments)}
            probes |= {s.start for t in world.timelines().values() for s in t.spans}
            self.check_school_columns(store, world, sorted(probes)[:12])

        check()
