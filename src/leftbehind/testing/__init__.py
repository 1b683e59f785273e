"""Helpers for testing leftbehind and its plugins.

- :mod:`leftbehind.testing.contract`: the store contract suite any backend can run
  (``class TestOurStore(StoreContract)``).
- :mod:`leftbehind.testing.synthetic`: a deterministic synthetic county.

These modules import pytest and Hypothesis; import them from tests only.
"""
