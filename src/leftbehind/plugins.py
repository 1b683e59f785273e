"""The plugin system: one project name, the ``hookimpl`` marker, and a typed facade over pluggy.

(The name and the markers are defined in ``leftbehind._markers``, which the hookspecs and the
built-in plugins import, and re-exported here: plugins import :data:`hookimpl` from this module.)

Write a plugin with :data:`hookimpl` and the hooks in :mod:`leftbehind.hookspecs`; use
:class:`Plugins` to find what the plugins registered::

    plugins = Plugins.load()
    store = plugins.open_store("tinydb:///srv/county.json")
    policy = plugins.policy("guangping-plan")
    kinds = plugins.duty_kinds()
    calendar = plugins.calendar("china", [2025])

:func:`make_plugin_manager` builds a fresh manager on every call (there is no global one):
it adds the hookspecs, registers the built-in plugins (:data:`DEFAULT_PLUGINS`) through the same
``register()`` as third-party ones, loads the entry points of group ``leftbehind`` one by one —
a plugin that fails is named with its distribution and skipped with a :class:`PluginWarning`, or
raises :class:`~leftbehind.errors.PluginLoadError` in strict mode — and finally runs
``check_pending()`` so a misspelled hook fails loudly. Plugins named in
``LEFTBEHIND_DISABLED_PLUGINS`` (comma-separated; built-ins are named by module path, others by
entry-point name) are blocked.

Only this module touches ``pm.hook``.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import re
import warnings
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Final, Protocol, TypeVar, cast

import pluggy

from leftbehind import _markers, hookspecs
from leftbehind.errors import (
    DuplicateNameError,
    PluginError,
    PluginLoadError,
    PluginWarning,
    StoreError,
    StoreURLError,
    UnknownBackendError,
    UnknownNameError,
)
from leftbehind.hookspecs import (
    PLAIN_PATH,
    BackendRecord,
    CalendarRecord,
    DutyKindRecord,
    NotifierRecord,
    PolicyRecord,
    QualityRuleRecord,
)

if TYPE_CHECKING:
    from leftbehind.domain.calendar import SchoolCalendar
    from leftbehind.domain.duties import DutyKind
    from leftbehind.domain.eligibility import Policy
    from leftbehind.domain.quality import QualityRule
    from leftbehind.notifiers import Notifier
    from leftbehind.store import Store

__all__ = [
    "DEFAULT_PLUGINS",
    "DISABLED_PLUGINS_ENV",
    "NAME",
    "PLAIN_SUFFIXES",
    "PluginWarning",
    "Plugins",
    "hookimpl",
    "make_plugin_manager",
    "store_url",
]

#: The project name: pluggy's project, the entry-point group, the hook prefix.
NAME: Final = _markers.NAME
#: Marks a plugin's hook implementations: ``@hookimpl def leftbehind_storage_backends(): ...``.
hookimpl: Final = _markers.hookimpl

#: Modules of the built-in plugins, registered first and named by their module path.
DEFAULT_PLUGINS: Final = (
    "leftbehind.backends.memory",
    "leftbehind.backends.tinydb",
    "leftbehind.backends.sql_plugin",
    "leftbehind.backends.notify",
    "leftbehind.builtins",
)
#: Environment variable: comma-separated names of plugins not to register.
DISABLED_PLUGINS_ENV: Final = "LEFTBEHIND_DISABLED_PLUGINS"

_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")
_R = TypeVar("_R")


class _CreatingFactory(Protocol):
    """The factory of a backend whose record sets ``takes_create``."""

    def __call__(self, url: str, *, create: bool | None) -> Store: ...


def make_plugin_manager(
    *,
    strict: bool = False,
    disabled: Iterable[str] | None = None,
    load_entrypoints: bool = True,
) -> pluggy.PluginManager:
    """A new plugin manager with the hookspecs, the built-ins and (by default) installed plugins.

    :param strict: raise :class:`~leftbehind.errors.PluginLoadError` for a plugin that fails to
        load, instead of warning and skipping it.
    :param disabled: plugin names to block, added to those in ``LEFTBEHIND_DISABLED_PLUGINS``.
    :param load_entrypoints: load the entry points of group ``leftbehind``.
    """
    pm = pluggy.PluginManager(NAME)
    pm.add_hookspecs(hookspecs)
    for name in _disabled(disabled):
        pm.set_blocked(name)
    for path in DEFAULT_PLUGINS:
        if not pm.is_blocked(path):
            pm.register(importlib.import_module(path), name=path)
    if load_entrypoints:
        for ep in sorted(importlib.metadata.entry_points(group=NAME), key=lambda ep: ep.name):
            _load_entrypoint(pm, ep, strict=strict)
    pm.check_pending()
    return pm


def _disabled(extra: Iterable[str] | None) -> set[str]:
    names = {n.strip() for n in os.environ.get(DISABLED_PLUGINS_ENV, "").split(",")}
    names.update(extra or ())
    names.discard("")
    return names


def _distribution(ep: importlib.metadata.EntryPoint) -> str:
    dist = ep.dist
    return f"{dist.name} {dist.version}" if dist is not None else "an unknown distribution"


def _load_entrypoint(
    pm: pluggy.PluginManager, ep: importlib.metadata.EntryPoint, *, strict: bool
) -> None:
    if pm.is_blocked(ep.name):
        return
    try:
        if pm.has_plugin(ep.name):
            raise ValueError("a plugin of that name is already registered")
        plugin = ep.load()
        pm.register(plugin, name=ep.name)
        _check_hooks(pm, plugin)
    except Exception as exc:
        if pm.has_plugin(ep.name) and pm.get_plugin(ep.name) is not None:
            pm.unregister(name=ep.name)
        error = PluginLoadError(ep.name, _distribution(ep), exc)
        if strict:
            raise error from exc
        warnings.warn(f"{error}; skipped", PluginWarning, stacklevel=3)


def _check_hooks(pm: pluggy.PluginManager, plugin: object) -> None:
    """Refuse a plugin with a hook no spec knows (a misspelling), naming the hook."""
    for caller in pm.get_hookcallers(plugin) or ():
        if not caller.has_spec():
            impls = [i for i in caller.get_hookimpls() if i.plugin is plugin]
            if any(not i.optionalhook for i in impls):
                raise PluginError(f"unknown hook {caller.name!r}")


def _scheme_of(url: str) -> str:
    m = _SCHEME.match(url)
    return m.group(1).lower() if m else PLAIN_PATH


def _scheme_label(scheme: str) -> str:
    return f"{scheme}://" if scheme else "a plain path"


#: What a plain path's ending names: the embedded stores. SQLite for a county (``.db``,
#: ``.sqlite``), TinyDB for a school's or a script's human-readable file (``.json``).
PLAIN_SUFFIXES: dict[str, str] = {
    ".db": "sqlite",
    ".sqlite": "sqlite",
    ".sqlite3": "sqlite",
    ".json": "tinydb",
}


def store_url(url: str) -> str:
    """``url`` with its backend's scheme: a plain path becomes ``sqlite:///path`` when it ends
    ``.db``, ``.sqlite`` or ``.sqlite3``, and stays a plain path (TinyDB) when it ends
    ``.json``. Any other plain path is refused (:class:`~leftbehind.errors.StoreURLError`), so a
    typo never opens the wrong kind of store.

    >>> store_url("county/guangping.db"), store_url("school.json")
    ('sqlite:///county/guangping.db', 'school.json')
    """
    if _scheme_of(url) != PLAIN_PATH:
        return url
    suffix = os.path.splitext(url)[1].lower()
    backend = PLAIN_SUFFIXES.get(suffix)
    if backend is None:
        endings = ", ".join(sorted(PLAIN_SUFFIXES))
        raise StoreURLError(
            "a plain path", f"must end in one of {endings} (or name a backend: sqlite:///…)"
        )
    return f"sqlite:///{url}" if backend == "sqlite" else url


class Plugins:
    """What the registered plugins provide, by name: a typed facade over the plugin manager.

    Records are collected on each call, so plugins registered later are seen. A name registered
    by two plugins raises :class:`~leftbehind.errors.DuplicateNameError`; an unknown name raises
    :class:`~leftbehind.errors.UnknownNameError` listing the choices. A plugin whose hook raises
    or returns something other than a list of records is named and skipped with a
    :class:`PluginWarning` (strict: :class:`~leftbehind.errors.PluginError`).
    """

    def __init__(self, manager: pluggy.PluginManager, *, strict: bool = False) -> None:
        self.manager = manager
        self.strict = strict

    @classmethod
    def load(
        cls,
        *,
        strict: bool = False,
        disabled: Iterable[str] | None = None,
        load_entrypoints: bool = True,
    ) -> Plugins:
        """A facade over a new :func:`make_plugin_manager`."""
        pm = make_plugin_manager(
            strict=strict, disabled=disabled, load_entrypoints=load_entrypoints
        )
        return cls(pm, strict=strict)

    # Collection.

    def _records(self, hook: str, kind: type[_R]) -> list[tuple[str, _R]]:
        caller = getattr(self.manager.hook, hook)
        out: list[tuple[str, _R]] = []
        # Registration hooks take no arguments; each plugin is called on its own so a record
        # is attributed to its plugin and one failing plugin does not hide the others.
        for impl in reversed(caller.get_hookimpls()):
            if impl.wrapper or impl.hookwrapper:
                continue
            try:
                result = impl.function()
                if not isinstance(result, list) or not all(isinstance(r, kind) for r in result):
                    raise TypeError(f"must return a list of {kind.__name__}")
            except Exception as exc:
                error = PluginError(
                    f"plugin {impl.plugin_name!r} failed in {hook}: {type(exc).__name__}: {exc}",
                    plugin=impl.plugin_name,
                )
                if self.strict:
                    raise error from exc
                warnings.warn(f"{error}; skipped", PluginWarning, stacklevel=3)
                continue
            out.extend((impl.plugin_name, r) for r in result)
        return out

    @staticmethod
    def _index(
        what: str, pairs: list[tuple[str, _R]], names: Callable[[_R], Iterable[str]]
    ) -> dict[str, _R]:
        by_name: dict[str, _R] = {}
        owner: dict[str, str] = {}
        for plugin, record in pairs:
            for name in names(record):
                if name in by_name:
                    raise DuplicateNameError(what, name, (owner[name], plugin))
                by_name[name], owner[name] = record, plugin
        return by_name

    # Storage.

    def backends(self) -> dict[str, BackendRecord]:
        """Backends by URL scheme (``""`` is a plain path)."""
        pairs = self._records("leftbehind_storage_backends", BackendRecord)
        self._index("storage backend", pairs, lambda r: [r.name])
        return self._index("URL scheme", pairs, lambda r: r.schemes)

    def backend_for(self, url: str) -> BackendRecord:
        """The backend serving ``url``'s scheme (a plain path by its ending: see
        :func:`store_url`)."""
        scheme = _scheme_of(store_url(url))
        backends = self.backends()
        if scheme not in backends:
            raise UnknownBackendError(_scheme_label(scheme), map(_scheme_label, backends))
        return backends[scheme]

    def open_store(self, url: str, *, create: bool | None = None) -> Store:
        """Open the store at ``url`` with the backend that serves its scheme.

        ``create`` says what may be created: ``None`` (the default), a store that does not
        exist is created, and an existing file must be a store; ``False``, nothing is created
        (a missing store raises :class:`~leftbehind.errors.StoreNotFoundError`: a read of a
        mistyped path); ``True``, an existing empty file (0 bytes) is also made a store. A
        file that holds something other than a store is refused whatever ``create`` says
        (:class:`~leftbehind.errors.CorruptStoreError`). A backend whose record does not set
        ``takes_create`` is opened only with ``create=None``
        (:class:`~leftbehind.errors.StoreError` otherwise).
        """
        from leftbehind.store import Store

        url = store_url(url)
        record = self.backend_for(url)
        if record.takes_create:
            store = cast("_CreatingFactory", record.factory)(url, create=create)
        elif create is None:
            store = record.factory(url)
        else:
            raise StoreError(
                f"backend {record.name!r} cannot be told whether to create a store (its record "
                f"does not set takes_create); open it with create=None"
            )
        if not isinstance(store, Store):
            raise PluginError(f"backend {record.name!r} returned something that is not a Store")
        return store

    # Notifiers.

    def notifiers(self) -> dict[str, NotifierRecord]:
        """Notification channels by name."""
        pairs = self._records("leftbehind_notifiers", NotifierRecord)
        return self._index("notifier", pairs, lambda r: [r.name])

    def notifier(self, name: str, config: Mapping[str, str] | None = None) -> Notifier:
        """A notifier of the channel ``name``, configured with ``config``."""
        record = _pick("notifier", name, self.notifiers())
        return record.factory(dict(config or {}))

    # Eligibility policies.

    def policies(self) -> dict[str, PolicyRecord]:
        """Eligibility policies by name."""
        pairs = self._records("leftbehind_eligibility_policies", PolicyRecord)
        return self._index("eligibility policy", pairs, lambda r: [r.name])

    def policy(self, name: str) -> Policy:
        """A fresh policy of the given name; its ``name`` and ``version`` match its record."""
        record = _pick("eligibility policy", name, self.policies())
        policy = record.factory()
        if (policy.name, policy.version) != (record.name, record.version):
            raise PluginError(
                f"policy record {record.name!r} version {record.version!r} built a policy "
                f"named {policy.name!r} version {policy.version!r}"
            )
        return policy

    # Duty kinds.

    def duty_kind_records(self) -> dict[str, DutyKindRecord]:
        """Duty kind records by code, in the order of :meth:`duty_kinds`."""
        from leftbehind.domain.duties import DEFAULT_KINDS

        pairs = self._records("leftbehind_duty_kinds", DutyKindRecord)
        records = self._index("duty kind", pairs, lambda r: [r.name])
        plan = {k.code: i for i, k in enumerate(DEFAULT_KINDS)}
        # The plan's codes keep the plan's order (even when a plugin replaces one), the others
        # follow by code: the same order whatever order the plugins were registered in.
        order = sorted(records, key=lambda code: (plan.get(code, len(plan)), code))
        return {code: records[code] for code in order}

    def duty_kinds(self) -> tuple[DutyKind, ...]:
        """Every registered duty kind: the plan's eight in the plan's order, then the others
        sorted by code. Pass them to :class:`~leftbehind.domain.duties.DutyBook`."""
        return tuple(r.kind for r in self.duty_kind_records().values())

    def duty_kind(self, code: str) -> DutyKind:
        """The duty kind with this code."""
        return _pick("duty kind", code, self.duty_kind_records()).kind

    # Data-quality rules.

    def quality_rule_records(self) -> dict[str, QualityRuleRecord]:
        """Data-quality rule records by code, in the order of :meth:`quality_rules`."""
        from leftbehind.domain.quality import DEFAULT_RULES

        pairs = self._records("leftbehind_quality_rules", QualityRuleRecord)
        records = self._index("quality rule", pairs, lambda r: [r.name])
        builtin = {r.code: i for i, r in enumerate(DEFAULT_RULES)}
        order = sorted(records, key=lambda code: (builtin.get(code, len(builtin)), code))
        return {code: records[code] for code in order}

    def quality_rules(self) -> tuple[QualityRule, ...]:
        """Every registered data-quality rule: the built-in ones in their order, then the
        others sorted by code."""
        return tuple(r.rule for r in self.quality_rule_records().values())

    # Calendars.

    def calendars(self) -> dict[str, CalendarRecord]:
        """School calendars by name."""
        pairs = self._records("leftbehind_calendars", CalendarRecord)
        return self._index("calendar", pairs, lambda r: [r.name])

    def calendar(self, name: str, years: Iterable[int]) -> SchoolCalendar:
        """The calendar ``name`` for the terms beginning in ``years``.

        The built-in ``china`` emits :class:`~leftbehind.calendars.CalendarFallbackWarning` for a
        year ``chinesecalendar`` does not know.
        """
        from leftbehind.domain.calendar import SchoolCalendar

        record = _pick("calendar", name, self.calendars())
        calendar = record.factory(tuple(years))
        if not isinstance(calendar, SchoolCalendar):
            raise PluginError(
                f"calendar {record.name!r} returned something that is not a SchoolCalendar"
            )
        return calendar


def _pick(what: str, name: str, records: Mapping[str, _R]) -> _R:
    if name not in records:
        raise UnknownNameError(what, name, records)
    return records[name]
