"""Where an export may be written (匯出路徑檢查).

:func:`safe_export_path` refuses a path that would overwrite the county store (or its lock,
journal or temporary files), a path that is itself a symbolic link, a folder on the way that is a
symbolic link leading out of the folder holding it, a missing folder, an existing folder, and
(when ``root`` is given) anything outside ``root`` after ``..`` and links are resolved. The
roster and ledger exports both call it before writing.

Messages name the path (a path is not personal data) and a stable ``code``:

======================  ==================================================================
code                    meaning
======================  ==================================================================
``export_over_store``   the path is the store file, or a file the store keeps beside it
``export_symlink``      the path exists and is a symbolic link
``export_link_escape``  a folder on the way is a link leading out of the folder holding it
``export_outside``      the path lies outside ``root``
``export_folder``       the folder does not exist, or the path names a folder
``export_write``        the file could not be written (a full disk, a read-only folder):
                        nothing was left behind (:class:`ExportIOError`)
======================  ==================================================================

"Over the store" means by name (the store file, its lock, journal and temporary files beside
it), by identity (a hard link of any of them, wherever it lies: the same device and inode) and
by content (an existing SQLite database, whoever's it is, is never overwritten by an export).
Every file is written as a hidden temporary file beside its target, readable by its owner only
(0600), flushed to disk and then moved into place (:func:`staged`): a reader never sees half a
file, and a failure leaves the target as it was.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

from leftbehind.domain.errors import LeftbehindError

__all__ = [
    "ExportIOError",
    "ExportPathError",
    "Staged",
    "safe_export_folder",
    "safe_export_path",
    "staged",
    "store_file",
]


class ExportPathError(LeftbehindError, ValueError):
    """An export path was refused; ``code`` says why, ``path`` is the path as given."""

    def __init__(self, path: str | os.PathLike[str], code: str, reason: str) -> None:
        self.path = os.fspath(path)
        self.code = code
        super().__init__(f"refusing to export to {self.path}: {reason} [{code}]")


class ExportIOError(LeftbehindError, OSError):
    """An export could not be written (disk full, no permission, an I/O error); the target is
    as it was and no temporary file is left. ``errno`` is the system's error number."""

    def __init__(self, path: str | os.PathLike[str], cause: OSError) -> None:
        self.path = os.fspath(path)
        self.code = "export_write"
        reason = cause.strerror or type(cause).__name__
        super().__init__(cause.errno, f"could not write {self.path}: {reason} [export_write]")

    def __str__(self) -> str:
        return str(self.args[1])


def store_file(url: str | os.PathLike[str] | None) -> Path | None:
    """The file a store URL writes to, or ``None`` for a store without one (``memory://``).

    ``tinydb://<path>`` (``tinydb:///srv/county.json``), SQLAlchemy's ``sqlite:///<path>``
    (``sqlite:////srv/county.db`` for an absolute path) and plain paths have one.

    >>> store_file("sqlite:////srv/county.db").as_posix()
    '/srv/county.db'
    >>> store_file("tinydb:///srv/county.json?timeout=30").as_posix()
    '/srv/county.json'
    >>> store_file("memory://") is None
    True
    """
    if url is None:
        return None
    text = os.fspath(url)
    if "://" not in text:
        return Path(text)
    for prefix in ("tinydb://", "sqlite:///", "file://"):
        if text.lower().startswith(prefix):
            path = unquote(text[len(prefix) :].partition("?")[0])
            return Path(path) if path and path != ":memory:" else None
    return None


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _belongs_to_store(target: Path, store: Path) -> bool:
    """The store file itself, or a sibling the store keeps (``.lock``, ``-wal``, ``.tmp…``)."""
    if target.parent != store.parent:
        return False
    name, stem = target.name, store.name
    return name == stem or name.startswith((stem + ".", stem + "-", "." + stem))


def _store_files(store: Path) -> list[Path]:
    """The store file and every file the store keeps beside it that exists now."""
    try:
        names = os.listdir(store.parent)
    except OSError:
        return [store]
    return [f for n in names if _belongs_to_store(f := store.parent / n, store)]


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


_SQLITE = b"SQLite format 3\x00"
#: The start of a TinyDB store (leftbehind's or anyone's): an object of tables, each an object
#: of documents, each an object.
_TINYDB = re.compile(rb'\s*\{\s*"[^"]{1,200}"\s*:\s*\{\s*"[^"]{1,200}"\s*:\s*\{')


def _is_database(path: Path) -> bool:
    """Whether ``path`` is an existing database: SQLite (its header) or a TinyDB store (how
    its first bytes are laid out)."""
    try:
        with path.open("rb") as f:
            head = f.read(4096)
    except OSError:
        return False
    return head.startswith(_SQLITE) or _TINYDB.match(head) is not None


def _check_links(out: Path, given: str) -> None:
    """Every symbolic link among the folders of ``out`` must stay inside the folder holding it."""
    here = Path(out.anchor)
    for part in out.parent.parts[1:]:
        step = here / part
        if step.is_symlink():
            target = step.resolve()
            if not _inside(target, here.resolve()):
                raise ExportPathError(
                    given,
                    "export_link_escape",
                    f"the folder {step} is a link leading outside {here}",
                )
        here = step


def safe_export_path(
    path: str | os.PathLike[str],
    *,
    store_path: str | os.PathLike[str] | None = None,
    root: str | os.PathLike[str] | None = None,
) -> Path:
    """The absolute path to write an export to, or :class:`ExportPathError`.

    ``store_path`` is the store's file or URL (see :func:`~leftbehind.io.paths.store_file`);
    ``root``, when given, is the folder exports must stay in.
    """
    given = os.fspath(path)
    out = Path(os.path.abspath(given))
    if out.is_symlink():
        raise ExportPathError(given, "export_symlink", "the path is a symbolic link")
    if out.is_dir():
        raise ExportPathError(given, "export_folder", "the path is a folder")
    _check_links(out, given)
    if not out.parent.is_dir():
        raise ExportPathError(given, "export_folder", "the folder does not exist")
    resolved = out.parent.resolve() / out.name
    if root is not None and not _inside(resolved, Path(root).resolve()):
        raise ExportPathError(given, "export_outside", f"the path is outside {os.fspath(root)}")
    store = store_file(store_path)
    if store is not None:
        store_resolved = Path(os.path.abspath(store)).parent.resolve() / store.name
        if _belongs_to_store(resolved, store_resolved):
            raise ExportPathError(given, "export_over_store", "the path is the county store")
        if out.exists() and any(_same_file(out, f) for f in _store_files(store_resolved)):
            reason = "the path is a link of the county store or a file beside it"
            raise ExportPathError(given, "export_over_store", reason)
    if _is_database(out):
        raise ExportPathError(given, "export_over_store", "the path is a database")
    return out


def safe_export_folder(
    folder: str | os.PathLike[str], *, root: str | os.PathLike[str] | None = None
) -> Path:
    """The folder to write exports into, made if missing, or :class:`ExportPathError`: checked
    as :func:`safe_export_path` checks a file's folder *before* anything is made, so a link on
    the way that leads elsewhere is refused rather than followed."""
    given = os.fspath(folder)
    out = Path(os.path.abspath(given))
    if out.is_symlink():
        raise ExportPathError(given, "export_symlink", "the folder is a symbolic link")
    if out.exists() and not out.is_dir():
        raise ExportPathError(given, "export_folder", "the path is a file, not a folder")
    _check_links(out / "x", given)
    if root is not None and not _inside(out.resolve(), Path(root).resolve()):
        raise ExportPathError(given, "export_outside", f"the folder is outside {os.fspath(root)}")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportIOError(given, exc) from None
    return out


class Staged:
    """A file being written: a hidden temporary file beside its target, readable by its owner
    only, that appears under the target's name only when :meth:`publish` is called."""

    def __init__(self, target: Path) -> None:
        self.target = target
        try:
            fd, name = tempfile.mkstemp(
                dir=target.parent, prefix=f".{target.name}.", suffix=".part"
            )
        except OSError as exc:
            raise ExportIOError(target, exc) from None
        os.close(fd)
        self.path = Path(name)
        self.published = False

    def publish(self) -> Path:
        """Flush the file to disk and move it into place (atomically); returns the target."""
        try:
            with self.path.open("rb+") as f:
                os.fsync(f.fileno())
            os.replace(self.path, self.target)
        except OSError as exc:
            raise ExportIOError(self.target, exc) from None
        self.published = True
        with contextlib.suppress(OSError):
            folder = os.open(self.target.parent, os.O_RDONLY)
            try:
                os.fsync(folder)
            finally:
                os.close(folder)
        return self.target


@contextlib.contextmanager
def staged(target: Path) -> Iterator[Staged]:
    """Stage a file for ``target``; one not published when the block ends is removed. The
    system's failure to write it (a full disk) becomes an :class:`ExportIOError`."""
    stage = Staged(target)
    try:
        yield stage
    except OSError as exc:
        # The system's own failure to write (a full disk, a file too large, no permission);
        # an error of the library's (a store's, the audit log's) goes on as it is.
        if isinstance(exc, LeftbehindError) or exc.errno is None:
            raise
        raise ExportIOError(target, exc) from None
    finally:
        if not stage.published:
            with contextlib.suppress(FileNotFoundError):
                stage.path.unlink()
