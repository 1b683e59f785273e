"""Every error leftbehind raises derives from :class:`LeftbehindError`.

Subclasses also derive from the built-in exception of the same meaning, so
``except KeyError`` still catches an unknown backend name and ``except TimeoutError`` a busy
store. Context is kept in attributes (``path``, ``name``, ``choices``, ``plugin``); messages name
the culprit (a file, a plugin, a field path) but never a stored value, which may be personal.
"""

from __future__ import annotations

import errno
from collections.abc import Iterable
from pathlib import Path

from leftbehind.domain.errors import Issue, LeftbehindError, ValidationError, describe
from leftbehind.domain.ids import shown_key

__all__ = [
    "ConflictError",
    "CorruptStoreError",
    "DuplicateNameError",
    "FactWarning",
    "InvalidDocumentError",
    "Issue",
    "LeftbehindError",
    "MissingDependencyError",
    "NotFoundError",
    "NothingToExportError",
    "PeriodLockedError",
    "PluginError",
    "PluginLoadError",
    "PluginWarning",
    "StoreBusyError",
    "StoreClosedError",
    "StoreError",
    "StoreIOError",
    "StoreNotFoundError",
    "StoreReadOnlyError",
    "StoreSizeWarning",
    "StoreURLError",
    "UnknownBackendError",
    "UnknownNameError",
    "ValidationError",
]


def _choices(choices: Iterable[str]) -> str:
    listed = ", ".join(sorted(choices))
    return listed or "none registered"


# ---------------------------------------------------------------------------------------------
# The county handle.


class NotFoundError(LeftbehindError, KeyError):
    """No record of that kind has that key, or none the actor may see (the two are reported
    alike). The key is named unless it looks like an ID number or a phone, which is never
    repeated (``<redacted>``)."""

    def __init__(self, kind: str, key: str) -> None:
        self.kind, self.key = kind, shown_key(key)
        super().__init__(f"no {kind} with key {self.key!r}")

    def __str__(self) -> str:
        return str(self.args[0])


class NothingToExportError(LeftbehindError, ValueError):
    """An export to a file found no ledger of that level in the actor's reach on that day (a
    teacher holding no served child, a school without one): no file is written."""

    def __init__(self, level: str) -> None:
        self.level = level
        super().__init__(f"no {level} ledger in the actor's reach on that day: nothing to write")

    def __str__(self) -> str:
        return str(self.args[0])


class PeriodLockedError(LeftbehindError, PermissionError):
    """A write would change what a school reported for a period that is submitted or approved
    (locked, see :mod:`leftbehind.domain.signoff`): nothing was written. ``kind`` and ``key``
    name the first document refused (a key that looks like an ID number or a phone is never
    repeated), ``school_id`` and ``period`` the first locked period it reaches, ``count`` how
    many documents were refused. A role that may correct makes the change inside
    :meth:`leftbehind.County.correction`, with a reason."""

    def __init__(
        self, kind: str, key: str, school_id: str, period: str, count: int, message: str
    ) -> None:
        self.kind, self.key = kind, shown_key(key)
        self.school_id, self.period, self.count = school_id, period, count
        self.code = "period_locked"
        super().__init__(message)

    def __str__(self) -> str:
        return str(self.args[0])


# ---------------------------------------------------------------------------------------------
# Storage.


class StoreError(LeftbehindError):
    """A store could not do what was asked."""


class StoreClosedError(StoreError, ValueError):
    """A store or a unit of work was used after it was closed (like I/O on a closed file)."""


class StoreURLError(StoreError, ValueError):
    """A store URL is malformed for its backend (the message names the scheme, never a password)."""

    def __init__(self, scheme: str, problem: str) -> None:
        self.scheme = scheme
        super().__init__(f"{scheme} store URL {problem}")


class InvalidDocumentError(StoreError, ValueError):
    """A document, kind or key is not storable: not JSON, a lone surrogate, NUL, a huge int.

    ``where`` is the position (``child/$.parents[0].phone``), never the value.
    """

    def __init__(self, where: str, problem: str) -> None:
        self.where = where
        self.problem = problem
        super().__init__(f"{where}: {problem}")


class CorruptStoreError(StoreError, ValueError):
    """A store file cannot be read as a store: empty, truncated, not UTF-8, not the right shape.

    The file is left exactly as found and is never opened as an empty store. The message names
    the file and the fault, never its content.
    """

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"store file {self.path} is unreadable: {problem}; it was left untouched")


class StoreBusyError(StoreError, TimeoutError):
    """Another process held the store's lock for longer than the timeout."""

    def __init__(self, path: str | Path, timeout: float) -> None:
        self.path = Path(path)
        self.timeout = timeout
        super().__init__(
            f"store {self.path} stayed locked by another writer for {timeout:g} s; try again"
        )


class StoreIOError(StoreError, OSError):
    """The operating system refused a read or write (disk full, I/O error, permission).

    Nothing was acknowledged: the store holds either the state before the unit of work or, when
    the failure came after the file was replaced (the folder's fsync), possibly the new state.
    """

    def __init__(self, path: str | Path, step: str, cause: OSError) -> None:
        self.path = Path(path)
        self.step = step
        reason = cause.strerror or type(cause).__name__
        super().__init__(cause.errno, f"{step} failed for store {self.path}: {reason}")


class StoreNotFoundError(StoreError, FileNotFoundError):
    """No store exists at the path (or URL) and the caller asked not to create one
    (``create=False``): a mistyped path on a read is reported, never made into an empty store.
    Nothing was created. ``where`` is the path or URL as given, ``path`` the same as a path."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.where = str(path)  # as given: a URL (``memory://x``) is no file path
        super().__init__(errno.ENOENT, f"no store at {self.where}: nothing was created")

    def __str__(self) -> str:
        return str(self.args[1])


class StoreReadOnlyError(StoreError, PermissionError):
    """The store may be read but not written: the file's mode has no owner-write bit, the
    process may not write it, or its folder is not writable. ``reason`` says which; nothing was
    written and the file was not replaced."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(
            errno.EACCES, f"store {self.path} is read-only ({reason}); nothing was written"
        )


class ConflictError(StoreError):
    """Another writer changed a document this unit of work had read; nothing was written.

    Read again and retry: ``kind`` and ``key`` name the first document found changed (the key
    is ``<redacted>`` when it looks like an ID number or a phone).
    """

    def __init__(self, kind: str, key: str) -> None:
        self.kind = kind
        self.key = shown_key(key)
        super().__init__(
            f"another writer changed {kind} {self.key!r} at the same time; nothing was written: "
            "run it again"
        )


class MissingDependencyError(StoreError, ImportError):
    """A feature needs an optional dependency that is not installed: ``package`` (the module
    that failed to import) comes with the extra ``extra`` (``pip install 'leftbehind[extra]'``).
    ``feature`` says what needed it (``PostgreSQL stores``)."""

    def __init__(self, feature: str, package: str, extra: str) -> None:
        self.feature = feature
        self.package = package
        self.extra = extra
        super().__init__(
            f"{feature} need {package}, which is not installed: pip install 'leftbehind[{extra}]'",
            name=package,
        )

    @property
    def install(self) -> str:
        """The command that installs what is missing."""
        return f"pip install 'leftbehind[{self.extra}]'"


class FactWarning(UserWarning):
    """Doubtful facts were stored all the same (see
    :data:`leftbehind.domain.validate.WARNING_CODES`): the sex digit of a resident ID that
    disagrees with the recorded sex, say. ``issues`` names each by its path and code, never the
    value; a roster import reports the same ones in its report."""

    def __init__(self, issues: Iterable[Issue], *, subject: str = "input") -> None:
        self.issues: tuple[Issue, ...] = tuple(issues)
        super().__init__(describe(self.issues, subject, "doubtful fact"))


class StoreSizeWarning(UserWarning):
    """A file store grew past its documented size limit; a SQL store (SQLite) will serve better."""


# ---------------------------------------------------------------------------------------------
# Plugins and named records.


class PluginError(LeftbehindError):
    """A plugin misbehaved: a broken hook, a bad record."""

    def __init__(self, message: str, *, plugin: str | None = None) -> None:
        self.plugin = plugin
        super().__init__(message)


class PluginLoadError(PluginError, ImportError):
    """A plugin's entry point could not be loaded or registered (strict mode)."""

    def __init__(self, plugin: str, distribution: str, cause: BaseException) -> None:
        self.distribution = distribution
        self.cause = cause
        PluginError.__init__(
            self,
            f"plugin {plugin!r} from distribution {distribution} failed to load: "
            f"{type(cause).__name__}: {cause}",
            plugin=plugin,
        )


class PluginWarning(UserWarning):
    """A plugin was skipped because it failed to load or to answer a hook."""


class UnknownNameError(LeftbehindError, KeyError):
    """No registered record of this sort has this name; ``choices`` lists the ones that do."""

    def __init__(self, what: str, name: str, choices: Iterable[str]) -> None:
        self.what = what
        self.name = name
        self.choices = tuple(sorted(choices))
        super().__init__(f"no {what} named {name!r}; choices: {_choices(self.choices)}")

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class UnknownBackendError(UnknownNameError):
    """No storage backend serves this URL's scheme."""

    def __init__(self, scheme: str, choices: Iterable[str]) -> None:
        self.what, self.name, self.choices = "storage backend", scheme, tuple(sorted(choices))
        KeyError.__init__(
            self, f"no storage backend serves {scheme}; choices: {_choices(self.choices)}"
        )


class DuplicateNameError(PluginError, ValueError):
    """Two plugins registered records of one sort under the same name."""

    def __init__(self, what: str, name: str, plugins: Iterable[str]) -> None:
        self.what = what
        self.name = name
        self.plugins = tuple(plugins)
        super().__init__(
            f"{what} {name!r} is registered by more than one plugin: {', '.join(self.plugins)}; "
            f"disable all but one with LEFTBEHIND_DISABLED_PLUGINS",
            plugin=self.plugins[-1] if self.plugins else None,
        )
