"""The county handle: what a county app or a script calls.

``leftbehind.open(url)`` returns a :class:`County` over a store. Commands add and change schools,
children's facts, staff, assignments and records; each command is one unit of work, validated as
a whole before anything is written. Queries give a child's decision and timeline, due lists and
digests, coverage, and the three ledgers as of any date.

Timelines are derived data: recomputed whenever a child's facts change and stored with the
policy's name and version, so reading a decision never re-derives it, and changing the county's
policy recomputes them all.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import date
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

from leftbehind.convert import structure, unstructure
from leftbehind.domain.eligibility import Decision, Policy, Timeline
from leftbehind.domain.errors import Issue, LeftbehindError, ValidationError
from leftbehind.domain.model import Child, School
from leftbehind.plugins import Plugins
from leftbehind.store import Store, UnitOfWork

__all__ = ["DEFAULT_STORE", "STORE_ENV", "County", "NotFoundError", "open"]

#: The store used when no URL is given and ``$LEFTBEHIND_STORE`` is unset.
DEFAULT_STORE = "leftbehind.json"
#: Environment variable naming the default store URL.
STORE_ENV = "LEFTBEHIND_STORE"

T = TypeVar("T")

# Document kinds this handle writes.
SETTINGS, SCHOOL, CHILD, TIMELINE, NATIONAL = "settings", "school", "child", "timeline", "national"
_SETTINGS_KEY = "county"


class NotFoundError(LeftbehindError, KeyError):
    """No record of that kind has that key (the key is named; keys carry no personal data)."""

    def __init__(self, kind: str, key: str) -> None:
        self.kind, self.key = kind, key
        super().__init__(f"no {kind} with key {key!r}")

    def __str__(self) -> str:
        return str(self.args[0])


def open(
    url: str | os.PathLike[str] | None = None,
    *,
    plugins: Plugins | None = None,
    today: Callable[[], date] = date.today,
) -> County:
    """Open the county store at ``url`` (default ``$LEFTBEHIND_STORE`` or ``./leftbehind.json``).

    ``url`` is a path (the embedded TinyDB store) or a URL whose scheme names a backend:
    ``memory://``, ``tinydb:///path``, ``sqlite:///path``, ``postgresql://…``. ``today`` is the
    clock used to reject future-dated facts; tests and simulations pass their own.
    """
    plugins = plugins or Plugins.load()
    target = os.fspath(url) if url is not None else os.environ.get(STORE_ENV, DEFAULT_STORE)
    return County(plugins.open_store(target), plugins=plugins, today=today, url=target)


class County:
    """A county's care action over one store. Use it as a context manager, or call :meth:`close`."""

    def __init__(
        self,
        store: Store,
        *,
        plugins: Plugins,
        today: Callable[[], date] = date.today,
        url: str = "",
    ) -> None:
        self.store = store
        self.plugins = plugins
        self.url = url
        self._today = today
        self._national: Policy = plugins.policy("national-2016")

    # ------------------------------------------------------------------ lifecycle

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the store; closing twice is harmless."""
        self.store.close()

    def today(self) -> date:
        """Today, by the handle's clock."""
        return self._today()

    # ------------------------------------------------------------------ settings and policy

    def settings(self) -> dict[str, Any]:
        """The county's settings document (policy name, county name)."""
        return self.store.get(SETTINGS, _SETTINGS_KEY) or {"policy": "guangping-plan"}

    @property
    def policy(self) -> Policy:
        """The eligibility policy in force (by default the plan's rule, ``guangping-plan``)."""
        return self.plugins.policy(str(self.settings()["policy"]))

    def set_policy(self, name: str) -> int:
        """Adopt the policy ``name`` and recompute every child's timeline in one unit of work.

        Returns the number of timelines recomputed.
        """
        policy = self.plugins.policy(name)
        schools = self.schools()
        with self.store.unit_of_work() as uow:
            settings = {**self.settings(), "policy": policy.name}
            uow.put(SETTINGS, _SETTINGS_KEY, settings)
            n = 0
            for child in self.children():
                self._write_timelines(uow, child, schools, policy)
                n += 1
            uow.commit()
        return n

    # ------------------------------------------------------------------ schools

    def put_schools(self, schools: Iterable[School | Mapping[str, Any]]) -> list[School]:
        """Add or replace schools; all are validated first and written in one unit of work."""
        checked = self._validate(schools, School, "schools")
        with self.store.unit_of_work() as uow:
            uow.put_many(SCHOOL, [(s.id, unstructure(s)) for s in checked])
            uow.commit()
        return checked

    def school(self, school_id: str) -> School:
        return self._get(SCHOOL, school_id, School)

    def schools(self) -> dict[str, School]:
        """Every school by id."""
        return {key: structure(doc, School) for key, doc in self.store.scan(SCHOOL)}

    # ------------------------------------------------------------------ children

    def put_children(self, children: Iterable[Child | Mapping[str, Any]]) -> list[Child]:
        """Add or replace children's files and recompute their timelines, all in one unit of work.

        Every child is validated before anything is written (future dates by :meth:`today`); one
        :class:`~leftbehind.errors.ValidationError` lists every problem of every child with its
        path (``children[3].father.phone``), and then nothing is written. A child must be enrolled
        in schools the county knows.
        """
        checked = self._validate(children, Child, "children", today=self.today())
        schools = self.schools()
        issues = [
            Issue(f"children[{i}].enrolments[{j}].school_id", "unknown_school", "no such school")
            for i, child in enumerate(checked)
            for j, e in enumerate(child.enrolments)
            if e.school_id not in schools
        ]
        if issues:
            raise ValidationError(issues, subject="children")
        policy = self.policy
        with self.store.unit_of_work() as uow:
            for child in checked:
                uow.put(CHILD, child.id, unstructure(child))
                self._write_timelines(uow, child, schools, policy)
            uow.commit()
        return checked

    def put_child(self, child: Child | Mapping[str, Any]) -> Child:
        """Add or replace one child's file (see :meth:`put_children`)."""
        return self.put_children([child])[0]

    def child(self, child_id: str) -> Child:
        """The child's file; :class:`NotFoundError` if there is none."""
        return self._get(CHILD, child_id, Child)

    def children(self) -> Iterator[Child]:
        """Every child's file, in no particular order."""
        for _, doc in self.store.scan(CHILD):
            yield structure(doc, Child)

    def timeline(self, child_id: str, *, national: bool = False) -> Timeline:
        """The child's stored timeline under the county's policy (or the national rule)."""
        return self._get(NATIONAL if national else TIMELINE, child_id, Timeline)

    def timelines(self, *, national: bool = False) -> dict[str, Timeline]:
        """Every stored timeline by child id."""
        kind = NATIONAL if national else TIMELINE
        return {key: structure(doc, Timeline) for key, doc in self.store.scan(kind)}

    def decision(self, child_id: str, as_of: date | None = None) -> Decision:
        """Who the child is on ``as_of`` (default today): categories, reasons, policy, version."""
        return self.timeline(child_id).decision(as_of or self.today())

    # ------------------------------------------------------------------ internals

    def _write_timelines(
        self, uow: UnitOfWork, child: Child, schools: Mapping[str, School], policy: Policy
    ) -> None:
        uow.put(TIMELINE, child.id, unstructure(policy.timeline(child, schools)))
        uow.put(NATIONAL, child.id, unstructure(self._national.timeline(child, schools)))

    def _get(self, kind: str, key: str, cls: type[T]) -> T:
        doc = self.store.get(kind, key)
        if doc is None:
            raise NotFoundError(kind, key)
        return structure(doc, cls)

    @staticmethod
    def _validate(
        items: Iterable[T | Mapping[str, Any]],
        cls: type[T],
        name: str,
        *,
        today: date | None = None,
    ) -> list[T]:
        """Structure and check every item, collecting every issue before raising once."""
        out: list[T] = []
        issues: list[Issue] = []
        seen: dict[str, int] = {}
        for i, item in enumerate(items):
            data = item if isinstance(item, Mapping) else unstructure(item)
            path = f"{name}[{i}]"
            try:
                value = structure(data, cls, today=today, path=path)
            except ValidationError as exc:
                issues.extend(exc.issues)
                continue
            key = str(getattr(value, "id", ""))
            if key in seen:
                issues.append(
                    Issue(f"{path}.id", "duplicate_id", f"same id as {name}[{seen[key]}]")
                )
            seen[key] = i
            out.append(value)
        if issues:
            raise ValidationError(issues, subject=name)
        return out


def default_store_path() -> Path:
    """Where :func:`open` puts the store when given no URL."""
    return Path(os.environ.get(STORE_ENV, DEFAULT_STORE))
