"""Helpers for testing leftbehind and its plugins.

- :mod:`leftbehind.testing.contract`: the store contract suite any backend can run
  (``class TestOurStore(StoreContract)``).
- :mod:`leftbehind.testing.synthetic`: a deterministic synthetic county.

The contract suite imports pytest and Hypothesis (use it from tests); the synthetic county needs
neither.
"""
