"""Writing a synthetic county through the handle, as the tests that need one do."""

from __future__ import annotations

from leftbehind.service import County
from leftbehind.testing.synthetic import SyntheticCounty

__all__ = ["load"]


def load(county: County, data: SyntheticCounty) -> None:
    """Put the county's schools, children, staff, assignments, groups and records, in the
    order their references need."""
    county.put_schools(data.facts.schools)
    county.put_children(data.facts.children)
    county.put_staff(data.staff)
    county.put_assignments(data.assignments)
    county.put_groups(data.groups)
    county.add_records(data.records)
