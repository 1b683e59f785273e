"""Helpers for testing leftbehind and its plugins.

- :mod:`leftbehind.testing.contract`: the store contract suite any backend can run
  (``class TestOurStore(StoreContract)``), and the ledger pushdown contract for a backend that
  counts ledgers itself (``class TestOurStore(StoreContract, PushdownContract)``).
- :mod:`leftbehind.testing.worlds`: small but real worlds of a county, their documents as the
  county handle writes them, and what the pure domain counts from them (the pushdown reference).
- ``leftbehind.testing.strategies``: Hypothesis strategies for valid facts (children,
  parents, absences, schools, IDs).
- :mod:`leftbehind.testing.synthetic`: a deterministic synthetic county.

The contract suites import pytest and Hypothesis, the worlds and strategies Hypothesis (use them
from tests); the synthetic county needs neither.
"""
