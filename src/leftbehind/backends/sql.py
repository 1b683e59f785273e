"""SQL through SQLAlchemy Core: ``sqlite:///county.db`` (embedded), ``postgresql://…`` (a server).

Open it by URL like any backend (it registers itself through ``leftbehind_storage_backends``)::

    store = Plugins.load().open_store("sqlite:///srv/guangping.db")
    store = Plugins.load().open_store("postgresql://bureau@db.example/province?schema=guangping")

What it does:

- **Documents** are rows of ``lb_document (kind, key, doc)``; ledger queries read projection
  tables kept beside them in the same transaction (see :mod:`leftbehind.backends.sql_schema`).
  A :class:`Layout` says which kinds and fields feed the projections.
- **One transaction per unit of work.** Writes go in bulk as driver SQL: SQLite's
  ``executemany``; on PostgreSQL, a page of rows as one array per column, unnested by a single
  ``INSERT … SELECT`` (upserts, deletes and projection rows alike). The optimistic read check
  runs inside the write transaction: SQLite begins it with ``BEGIN IMMEDIATE`` (one writer at a
  time; readers go on in WAL mode); PostgreSQL locks the rows it checks with
  ``SELECT … FOR UPDATE`` and inserts documents read as absent without ``ON CONFLICT``, so a
  concurrent insert makes a :class:`~leftbehind.errors.ConflictError`, never a lost update.
  Rows are written in key order, so two writers never deadlock on each other.
- **SQLite** runs with ``journal_mode=WAL``, ``synchronous=FULL``, ``foreign_keys=ON``,
  ``secure_delete=ON`` (a deleted document's bytes are overwritten with zeros, whatever the
  SQLite build's default) and a busy timeout, set on every connection by an event listener.
  Before it connects, the file is checked or created whole by
  :mod:`leftbehind.backends.sqlite_file`: a file that is not a leftbehind store (0 bytes, not
  SQLite, a database without ``lb_meta``) or is damaged is refused with
  :class:`~leftbehind.errors.CorruptStoreError` and left untouched; a missing one is created
  (readable by its owner only, ``0600``) unless ``create=False``. Connections open the file
  read-write and never create it; a file whose mode has no owner-write bit, or that the process
  may not write, is opened read-only (root included), and a commit raises
  :class:`~leftbehind.errors.StoreReadOnlyError`.
- **PostgreSQL** goes through psycopg 3: ``postgresql://`` (or ``postgres://``) becomes
  ``postgresql+psycopg://``. ``?schema=name`` keeps a county's tables in its own schema (created
  if missing), so one server holds many counties.
- **Schema versions.** ``lb_meta`` holds ``schema_version``; opening a store runs the missing
  upgrade steps (:data:`UPGRADES`, one function per version) in one transaction, and refuses a
  store newer than this code with :class:`SchemaVersionError`.
- **Pushdown** (:data:`~leftbehind.store.LEDGER_PUSHDOWN`): :meth:`SQLStore.school_columns`,
  :meth:`SQLStore.served_counts`, :meth:`SQLStore.duty_counts` and :meth:`SQLStore.duty_tallies`
  count in SQL (see :mod:`leftbehind.backends.sql_ledger`); the county handle's county and school
  tables take their duty columns from :meth:`SQLStore.duty_tallies` and never load the records.

Options in the URL's query: ``timeout`` (seconds to wait for a busy database or a row lock,
default :data:`DEFAULT_TIMEOUT`) and, for PostgreSQL, ``schema``; other query parameters are
passed to the driver. Error messages name the database file or host and database, never a
password or a stored value (SQL parameters are hidden from SQLAlchemy's messages too).
"""

from __future__ import annotations

import errno
import json
import os
import re
import sqlite3
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date
from itertools import islice
from pathlib import Path
from typing import Any, Final

from sqlalchemy import (
    BindParameter,
    Connection,
    Engine,
    ScalarResult,
    Select,
    String,
    Table,
    bindparam,
    create_engine,
    delete,
    event,
    func,
    inspect,
    select,
    text,
)
from sqlalchemy import types as sqltypes
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, IntegrityError, NoSuchModuleError

from leftbehind.backends import sql_ledger, sqlite_file
from leftbehind.backends.files import read_only_reason
from leftbehind.backends.sql_schema import (
    ASSIGNMENT_BY_STAFF,
    DEFAULT_LAYOUT,
    KIND_KEYED,
    PROJECTIONS,
    RECORD_BY_CHILD,
    RECORD_BY_OWNER,
    Layout,
    assignment,
    document,
    enrolment,
    meta,
    metadata,
    projected_kinds,
    projections,
    record,
    version,
)
from leftbehind.backends.sql_urls import SCHEMES, scheme_of
from leftbehind.domain.duties import DutyPlan
from leftbehind.errors import (
    ConflictError,
    CorruptStoreError,
    MissingDependencyError,
    StoreBusyError,
    StoreError,
    StoreIOError,
    StoreNotFoundError,
    StoreURLError,
)
from leftbehind.store import (
    DURABLE,
    INDEXED_SCAN,
    LEDGER_PUSHDOWN,
    MULTIPROCESS,
    VERSIONED,
    BaseStore,
    Changes,
    Document,
    JSONScalar,
    check_kind,
    matches,
)

__all__ = [
    "ANALYZE_AFTER",
    "DEFAULT_TIMEOUT",
    "SCHEMA_VERSION",
    "SCHEMES",
    "UPGRADES",
    "Layout",
    "SQLStore",
    "SchemaVersionError",
    "engine_url",
    "open_sql",
]

#: The schema version this code writes; older stores are upgraded on open.
SCHEMA_VERSION: Final = 5
#: Seconds to wait for a busy database (SQLite) or a locked row (PostgreSQL).
DEFAULT_TIMEOUT: Final = 10.0

_PAGE = 2000  # documents per page of a scan; each page is its own short read
_CHUNK = 500  # keys per IN (...) list
_WRITE_PAGE = 5000  # rows per bulk INSERT or DELETE (PostgreSQL: one array per column)
#: Rows written since the planner's statistics were last gathered, past which a commit runs
#: ``ANALYZE``: an unanalysed store ran the duty tallies 3.8× slower (6.0 s against 1.6 s).
ANALYZE_AFTER = 5000
_UPGRADE_LOCK = 0x6C62_7363  # pg_advisory_xact_lock key held while a schema is upgraded
_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


class SchemaVersionError(StoreError, ValueError):
    """The store was written by a newer leftbehind (its schema version is unknown here).

    Nothing was changed; upgrade leftbehind to open it.
    """

    def __init__(self, where: str, found: int, known: int) -> None:
        self.where = where
        self.found = found
        self.known = known
        super().__init__(
            f"store {where} has schema version {found}, newer than this leftbehind knows "
            f"({known}); upgrade leftbehind to open it (the store was left untouched)"
        )


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


# ---------------------------------------------------------------------------------------------
# URLs.


def engine_url(url: str) -> tuple[URL, dict[str, str]]:
    """The SQLAlchemy URL for a store URL, and leftbehind's own options taken from its query.

    ``postgresql://`` and ``postgres://`` become ``postgresql+psycopg://``; ``sqlite://`` becomes
    ``sqlite+pysqlite://``. Raises :class:`~leftbehind.errors.StoreURLError` (without echoing the
    URL, which may hold a password).
    """
    scheme = scheme_of(url)
    if scheme not in SCHEMES:
        raise StoreURLError(scheme or "sql", f"must start with one of {', '.join(SCHEMES)}://")
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        raise StoreURLError(scheme, "is malformed") from None
    query = dict(parsed.query)
    ours: dict[str, str] = {}
    for name in ("timeout", "schema"):
        if name in query:
            ours[name] = str(query.pop(name))
    if scheme == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            raise StoreURLError(scheme, "needs a file path: sqlite:///county.db")
        if "schema" in ours:
            raise StoreURLError(scheme, "takes no schema option")
        return parsed.set(drivername="sqlite+pysqlite", query=query), ours
    if "schema" in ours and not _SCHEMA_NAME.fullmatch(ours["schema"]):
        raise StoreURLError("postgresql", "schema must match [a-z_][a-z0-9_]* (63 at most)")
    return parsed.set(drivername="postgresql+psycopg", query=query), ours


def _timeout(scheme: str, options: Mapping[str, str]) -> float:
    try:
        timeout = float(options.get("timeout", DEFAULT_TIMEOUT))
    except ValueError:
        raise StoreURLError(scheme, "timeout must be a number of seconds") from None
    if not 0 <= timeout < 86_400:
        raise StoreURLError(scheme, "timeout must be between 0 and 86400 seconds")
    return timeout


# ---------------------------------------------------------------------------------------------
# Engines.


def _sqlite_path(url: URL) -> Path:
    """The database file of a SQLite URL, absolute; a symbolic link is resolved once, here, so
    that the file checked, created and opened is the same (SQLite follows links too)."""
    path = Path(str(url.database)).absolute()
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def _sqlite_engine(path: Path, timeout: float, *, read_only: bool = False) -> Engine:
    """An engine on an existing SQLite file, opened read-write (``mode=rw``): a file removed
    after it was checked is an error, never a new empty database made by SQLite. With
    ``read_only`` (``mode=ro``) SQLite refuses every write, root's too."""
    uri = f"{path.as_uri()}?mode={'ro' if read_only else 'rw'}"

    def connect() -> sqlite3.Connection:
        return sqlite3.connect(uri, uri=True, check_same_thread=False, timeout=timeout)

    engine = create_engine(
        URL.create("sqlite+pysqlite", database=str(path)),  # a file: a pool of connections
        creator=connect,
        hide_parameters=True,
        json_serializer=_dumps,
        json_deserializer=json.loads,
    )
    busy_ms = int(timeout * 1000)

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: sqlite3.Connection, record: object) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (see _begin)
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {busy_ms}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = FULL")
            cursor.execute("PRAGMA foreign_keys = ON")
            # A purged child's bytes must leave the file, not wait in freed pages; builds differ
            # in their default.
            cursor.execute("PRAGMA secure_delete = ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        # A write takes the write lock at once, so its read check and its writes see one state.
        # A read is one statement, atomic on its own: no BEGIN, no transaction to end.
        if connection.get_execution_options().get("leftbehind_write", False):
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _postgresql_engine(url: URL, timeout: float, schema: str | None) -> Engine:
    options = f"-c lock_timeout={int(timeout * 1000)}"
    if schema is not None:
        options += f" -c search_path={schema}"
    try:
        # prepare_threshold=None: psycopg never prepares, so PostgreSQL plans each statement
        # with its values. A generic plan cached on a pooled connection while a table was
        # small (a new store's first units) would otherwise be reused for a county's import.
        return create_engine(
            url,
            connect_args={"options": options, "prepare_threshold": None},
            pool_pre_ping=True,
            hide_parameters=True,
            json_serializer=_dumps,
            json_deserializer=json.loads,
        )
    except (NoSuchModuleError, ImportError):
        # psycopg comes with the extra ``leftbehind[postgresql]``, not with leftbehind itself
        raise MissingDependencyError("PostgreSQL stores", "psycopg", "postgresql") from None


# ---------------------------------------------------------------------------------------------
# Schema versions: UPGRADES[n] takes a store at version n - 1 to version n.


def _to_v1(conn: Connection, layout: Layout) -> None:
    """Version 1: the meta table and the documents."""
    metadata.create_all(conn, tables=[meta, document])


def _to_v2(conn: Connection, layout: Layout) -> None:
    """Version 2: projection tables for the ledgers, filled from the stored documents."""
    metadata.create_all(conn, tables=list(PROJECTIONS))
    _rebuild_projections(conn, layout)


def _to_v3(conn: Connection, layout: Layout) -> None:
    """Version 3: the assignments projection (who owes which duty), for the duty pushdown."""
    metadata.create_all(conn, tables=[assignment])
    _fill_projection(conn, layout, assignment)


def _to_v4(conn: Connection, layout: Layout) -> None:
    """Version 4: indexes for a reader of a few children (records by child, assignments by
    staff member), so such a read costs what it returns."""
    for index in (RECORD_BY_CHILD, ASSIGNMENT_BY_STAFF):
        index.create(conn, checkfirst=True)


def _to_v5(conn: Connection, layout: Layout) -> None:
    """Version 5: a count of commits per kind, so that a handle keeps what it read of a kind
    until a commit changes it (:data:`~leftbehind.store.VERSIONED`), and the records' index by
    duty, child, owner and day for the duty tallies of kinds owed per owner."""
    metadata.create_all(conn, tables=[version])
    RECORD_BY_OWNER.create(conn, checkfirst=True)


#: The upgrade step to each schema version from the one before; opening a store runs the steps
#: it is missing, in order, in one transaction.
UPGRADES: Final[Mapping[int, Callable[[Connection, Layout], None]]] = {
    1: _to_v1,
    2: _to_v2,
    3: _to_v3,
    4: _to_v4,
    5: _to_v5,
}


def _migrate(conn: Connection, layout: Layout, found: Mapping[str, str]) -> None:
    """In a write transaction: run the upgrade steps a store at ``found`` (its ``lb_meta``;
    empty for a new store) is missing, rebuild the projections of another layout, and record
    the version and layout."""
    fingerprint = layout.fingerprint()
    version = int(found.get("schema_version", "0"))
    for step in range(version + 1, SCHEMA_VERSION + 1):
        UPGRADES[step](conn, layout)
    if version == SCHEMA_VERSION and found.get("layout") != fingerprint:
        _rebuild_projections(conn, layout)
    if version != SCHEMA_VERSION or found.get("layout") != fingerprint:
        values = {"schema_version": str(SCHEMA_VERSION), "layout": fingerprint}
        _write_meta(conn, values, conn.dialect.name)


def _build_sqlite(layout: Layout, timeout: float) -> Callable[[Path], None]:
    """What writes a new SQLite store's schema into an empty file (see
    :func:`leftbehind.backends.sqlite_file.prepare`)."""

    def build(path: Path) -> None:
        engine = _sqlite_engine(path, timeout)
        try:
            with engine.connect() as conn:
                conn.execution_options(leftbehind_write=True)
                with conn.begin():
                    _migrate(conn, layout, {})
        except DBAPIError as exc:
            orig = exc.orig
            if isinstance(orig, sqlite3.Error):
                raise sqlite_file.translate(path, "creating", orig, timeout) from exc
            raise
        finally:
            engine.dispose()  # the last connection closes: the log is checkpointed and removed

    return build


def _schema_version(where: str, found: Mapping[str, str]) -> int:
    raw = found.get("schema_version", "0")
    if not raw.isascii() or not raw.isdigit():
        raise CorruptStoreError(where, "wrong shape: lb_meta holds no schema version")
    return int(raw)


def _read_meta(conn: Connection) -> dict[str, str]:
    if not inspect(conn).has_table(meta.name):
        return {}
    return {str(n): str(v) for n, v in conn.execute(select(meta.c.name, meta.c.value))}


def _write_meta(conn: Connection, values: Mapping[str, str], dialect: str) -> None:
    rows = [{"name": n, "value": v} for n, v in values.items()]
    if dialect == "postgresql":
        pg = pg_dialect.insert(meta)
        conn.execute(pg.on_conflict_do_update(index_elements=["name"], set_=pg.excluded), rows)
    else:
        lite = sqlite_dialect.insert(meta)
        conn.execute(lite.on_conflict_do_update(index_elements=["name"], set_=lite.excluded), rows)


def _rebuild_projections(conn: Connection, layout: Layout) -> None:
    """Empty the projection tables and fill them again from every document."""
    for table in PROJECTIONS:
        conn.execute(delete(table))
        _fill_projection(conn, layout, table)


def _fill_projection(conn: Connection, layout: Layout, only: Table) -> None:
    """Insert the rows of one projection table from the documents that feed it."""
    names = _columns(only)
    for kind, table in projected_kinds(layout).items():
        if table is only:
            rows = (
                _row(row, names)
                for key, doc in _pages(conn, kind)
                for row in projections(layout, kind, key, doc)
            )
            _insert_rows(conn, table, rows)


# Writes in bulk, as driver SQL: the rows go to the driver as tuples, without SQLAlchemy's
# per-row parameter processing. SQLite takes them through ``executemany`` (a loop in C over one
# prepared statement); PostgreSQL takes a page of rows as one array per column, unnested by a
# single ``INSERT … SELECT`` (one round trip and one short, cached statement per page). Rows are
# inserted in the order given (key order: two writers never wait on each other in a cycle).


def _columns(table: Table) -> tuple[str, ...]:
    return tuple(c.name for c in table.columns)


def _row(row: Mapping[str, Any], names: Sequence[str]) -> tuple[Any, ...]:
    return tuple(row[n] for n in names)


def _pg_array_type(table: Table, name: str) -> str:
    kind = table.c[name].type
    if isinstance(kind, sqltypes.JSON):
        return "json[]"
    if isinstance(kind, sqltypes.Boolean):
        return "boolean[]"
    if isinstance(kind, sqltypes.Integer):
        return "integer[]"
    return "text[]"


_SQL_CACHE: dict[tuple[str, str, str], str] = {}


def _insert_sql(dialect: str, table: Table, upsert: bool) -> str:
    """``INSERT`` of every column of ``table`` (on ``upsert``, a document replaces its row)."""
    at = (dialect, table.name, "upsert" if upsert else "insert")
    sql = _SQL_CACHE.get(at)
    if sql is None:
        names = _columns(table)
        quoted = ", ".join(f'"{n}"' for n in names)
        if dialect == "postgresql":
            arrays = ", ".join(f"%b::{_pg_array_type(table, n)}" for n in names)
            source = f"SELECT * FROM unnest({arrays})"  # noqa: S608 (schema names)
        else:
            source = "VALUES (" + ", ".join("?" for _ in names) + ")"
        sql = f'INSERT INTO "{table.name}" ({quoted}) {source}'
        if upsert:
            sql += ' ON CONFLICT ("kind", "key") DO UPDATE SET "doc" = excluded."doc"'
        _SQL_CACHE[at] = sql
    return sql


def _delete_sql(dialect: str, table: Table, by_kind: bool) -> str:
    """``DELETE`` of the rows of some keys (and, ``by_kind``, of one kind).

    On PostgreSQL the keys are a join with ``unnest`` of an array, not ``key = ANY(array)``:
    once psycopg prepares the statement, a generic plan over a table whose statistics are not
    yet gathered (a first import) would scan the table and compare each row with every key.
    """
    at = (dialect, table.name, "delete-kind" if by_kind else "delete")
    sql = _SQL_CACHE.get(at)
    if sql is None:
        if dialect == "postgresql":
            sql = f'DELETE FROM "{table.name}" t USING unnest(%b::text[]) AS k("key")'  # noqa: S608
            sql += ' WHERE t."key" = k."key"'
            if by_kind:
                sql += ' AND t."kind" = %s'
        else:
            sql = f'DELETE FROM "{table.name}" WHERE "key" = ?'  # noqa: S608
            if by_kind:
                sql += ' AND "kind" = ?'
        _SQL_CACHE[at] = sql
    return sql


def _batches(rows: Iterable[tuple[Any, ...]]) -> Iterator[list[tuple[Any, ...]]]:
    """``rows`` a page of :data:`_WRITE_PAGE` at a time (only one page is ever made at once)."""
    it = iter(rows)
    while page := list(islice(it, _WRITE_PAGE)):
        yield page


def _insert_rows(
    conn: Connection, table: Table, rows: Iterable[tuple[Any, ...]], *, upsert: bool = False
) -> None:
    """Insert ``rows`` (tuples in the table's column order), a page per statement (PostgreSQL)
    or per ``executemany`` (SQLite); see above."""
    dialect = conn.dialect.name
    sql = _insert_sql(dialect, table, upsert)
    for page in _batches(rows):
        if dialect == "postgresql":
            conn.exec_driver_sql(sql, tuple(list(column) for column in zip(*page, strict=True)))
        else:
            conn.exec_driver_sql(sql, page)


def _delete_keys(conn: Connection, table: Table, keys: Sequence[str], kind: str | None) -> None:
    """Delete the rows of ``keys`` (of ``kind`` only, unless ``None``) from ``table``."""
    dialect = conn.dialect.name
    sql = _delete_sql(dialect, table, kind is not None)
    for page in _batches((k,) for k in keys):
        if dialect == "postgresql":
            column = [k for (k,) in page]
            conn.exec_driver_sql(sql, (column,) if kind is None else (column, kind))
        else:
            conn.exec_driver_sql(sql, page if kind is None else [(k, kind) for (k,) in page])


def _page(conn: Connection, kind: str, last: str | None) -> Sequence[Any]:
    """Up to ``_PAGE`` (key, document) rows of ``kind`` after the key ``last``, in key order."""
    if last is None:
        return conn.execute(_FIRST_PAGE, {"kind": kind}).all()
    return conn.execute(_NEXT_PAGE, {"kind": kind, "last": last}).all()


def _pages(conn: Connection, kind: str) -> Iterator[tuple[str, Document]]:
    """Every document of ``kind`` on one connection, a page at a time in key order."""
    last: str | None = None
    while True:
        rows = _page(conn, kind, last)
        yield from ((key, doc) for key, doc in rows)
        if len(rows) < _PAGE:
            return
        last = rows[-1][0]


_KIND: BindParameter[str] = bindparam("kind", type_=String())
_KEY: BindParameter[str] = bindparam("key", type_=String())
_LAST: BindParameter[str] = bindparam("last", type_=String())
_GET = select(document.c.doc).where(document.c.kind == _KIND, document.c.key == _KEY)
_FIRST_PAGE = (
    select(document.c.key, document.c.doc)
    .where(document.c.kind == _KIND)
    .order_by(document.c.key)
    .limit(_PAGE)
)
_NEXT_PAGE = _FIRST_PAGE.where(document.c.key > _LAST)
_COUNT = select(func.count()).select_from(document).where(document.c.kind == _KIND)
_KINDS = select(document.c.kind).distinct()


def _chunks(items: Sequence[str], size: int = _CHUNK) -> Iterator[Sequence[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


# ---------------------------------------------------------------------------------------------
# The store.


class SQLStore(BaseStore):
    """A store in SQLite or PostgreSQL (see the module docs); safe across threads and processes.

    :param url: ``sqlite:///path`` or ``postgresql://…`` (options in the query string).
    :param layout: where the ledger's facts sit in documents (default: the county handle's).
    :param create: ``None`` (the default), a missing store is created; ``False``, it raises
        :class:`~leftbehind.errors.StoreNotFoundError` (a SQLite file that does not exist, a
        PostgreSQL database or schema without ``lb_meta``) and nothing is created; ``True``, an
        empty SQLite file (0 bytes, or a database without any table) is made a store too.
    """

    capabilities: frozenset[str] = frozenset(
        {DURABLE, MULTIPROCESS, LEDGER_PUSHDOWN, INDEXED_SCAN, VERSIONED}
    )

    def __init__(
        self, url: str, *, layout: Layout = DEFAULT_LAYOUT, create: bool | None = None
    ) -> None:
        super().__init__()
        sa_url, options = engine_url(url)
        self.layout = layout
        self.dialect = "sqlite" if sa_url.get_backend_name() == "sqlite" else "postgresql"
        self.timeout = _timeout(self.dialect, options)
        self.schema = options.get("schema")
        if self.dialect == "sqlite":
            path = _sqlite_path(sa_url)
            self.where = str(path)
            # Only an empty file the caller asked to make a store may be given a schema here; a
            # missing one was created whole by prepare().
            may_create = sqlite_file.prepare(
                path,
                create=create,
                timeout=self.timeout,
                known_version=SCHEMA_VERSION,
                tables=metadata.tables.keys(),
                build=_build_sqlite(layout, self.timeout),
            )
            # A file whose mode forbids writing is opened read-only, so that a commit raises
            # StoreReadOnlyError rather than root writing it all the same.
            read_only = read_only_reason(path, "the file") is not None
            self.engine = _sqlite_engine(path, self.timeout, read_only=read_only)
        else:
            may_create = create is not False
            self.where = f"{sa_url.host or 'localhost'}/{sa_url.database or ''}"
            if self.schema:
                self.where += f"?schema={self.schema}"
            self.engine = _postgresql_engine(sa_url, self.timeout, self.schema)
        self._projected = projected_kinds(layout)
        self._unanalysed = 0
        self._versions: dict[str, tuple[int, object]] = {}
        try:
            self._upgrade(may_create)
        except BaseException:
            self.engine.dispose()
            raise

    def __repr__(self) -> str:
        return f"SQLStore({self.dialect}: {self.where})"

    # Connections.

    @contextmanager
    def _reading(self, step: str = "reading") -> Iterator[Connection]:
        try:
            with self.engine.connect() as conn:
                yield conn
        except DBAPIError as exc:
            raise self._translate(exc, step) from exc

    @contextmanager
    def _writing(self, step: str = "writing") -> Iterator[Connection]:
        try:
            with self.engine.connect() as conn:
                conn.execution_options(leftbehind_write=True)
                with conn.begin():
                    yield conn
        except DBAPIError as exc:
            raise self._translate(exc, step) from exc

    def _translate(self, exc: DBAPIError, step: str) -> StoreError:
        orig = exc.orig
        if isinstance(orig, sqlite3.Error):
            return sqlite_file.translate(self.where, step, orig, self.timeout)
        sqlstate = getattr(orig, "sqlstate", None)
        if sqlstate in ("55P03", "40P01", "57014"):  # lock timeout, deadlock, cancelled
            return StoreBusyError(self.where, self.timeout)
        # PostgreSQL's message may quote a value: name the class and SQLSTATE only.
        reason = f"PostgreSQL {type(orig).__name__} (SQLSTATE {sqlstate})"
        return StoreIOError(self.where, step, OSError(errno.EIO, reason))

    # Opening.

    def _upgrade(self, may_create: bool) -> None:
        fingerprint = self.layout.fingerprint()
        with self._reading("opening") as conn:
            found = _read_meta(conn)
        self._check_meta(found, may_create)
        if (
            found.get("schema_version") == str(SCHEMA_VERSION)
            and found.get("layout") == fingerprint
        ):
            return  # up to date: no write lock taken
        with self._writing("opening") as conn:
            if self.dialect == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _UPGRADE_LOCK})
                if self.schema and may_create:
                    conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"'))
            found = _read_meta(conn)
            self._check_meta(found, may_create)
            _migrate(conn, self.layout, found)

    def _check_meta(self, found: Mapping[str, str], may_create: bool) -> None:
        """Refuse a store without ``lb_meta`` unless one may be made here, and a store newer
        than this code."""
        if not found and not may_create:
            if self.dialect == "postgresql":
                raise StoreNotFoundError(self.where)
            # The file was checked before: it changed since (another program wrote it).
            raise CorruptStoreError(self.where, "no lb_meta table: not a leftbehind store")
        version = _schema_version(self.where, found)
        if version > SCHEMA_VERSION:
            raise SchemaVersionError(self.where, version, SCHEMA_VERSION)

    def verify(self) -> None:
        """Check the whole store for damage: SQLite's ``PRAGMA quick_check`` of every page,
        whatever the file's size (about 14 ms per MiB with the file not in the page cache,
        1.2 ms in it), raising :class:`~leftbehind.errors.CorruptStoreError` naming the file.
        On PostgreSQL it checks nothing: the server checks its own pages (with data checksums
        where the cluster has them)."""
        self._open()
        if self.dialect != "sqlite":
            return
        with self._reading("checking") as conn:
            problem = sqlite_file.damage(conn.exec_driver_sql("PRAGMA quick_check(1)").all())
        if problem is not None:
            raise CorruptStoreError(self.where, problem)

    def schema_version(self) -> int:
        """The schema version recorded in the store."""
        self._open()
        with self._reading() as conn:
            return int(_read_meta(conn).get("schema_version", "0"))

    # Reads.

    def _get(self, kind: str, key: str) -> Document | None:
        with self._reading() as conn:
            doc: Document | None = conn.execute(_GET, {"kind": kind, "key": key}).scalar()
        return doc

    def _get_many(self, kind: str, keys: Sequence[str]) -> dict[str, Document]:
        found: dict[str, Document] = {}
        with self._reading() as conn:
            for chunk in _chunks(keys):
                stmt = select(document.c.key, document.c.doc).where(
                    document.c.kind == kind, document.c.key.in_(chunk)
                )
                found.update((key, doc) for key, doc in conn.execute(stmt))
        return found

    def _scan(self, kind: str, where: dict[str, JSONScalar]) -> Iterable[tuple[str, Document]]:
        indexed = self._indexed(kind, where)
        if indexed is not None:
            with self._reading() as conn:
                rows = conn.execute(indexed).all()
            yield from ((key, doc) for key, doc in rows if matches(doc, where))
            return
        # A page at a time, each in its own short read, so that no connection or snapshot is
        # held while the caller works; keyset paging yields each key at most once.
        last: str | None = None
        while True:
            with self._reading() as conn:
                rows = _page(conn, kind, last)
            for key, doc in rows:
                if not where or matches(doc, where):
                    yield key, doc
            if len(rows) < _PAGE:
                return
            last = rows[-1][0]

    def _indexed(self, kind: str, where: dict[str, JSONScalar]) -> Select[Any] | None:
        """The query serving ``where`` through a projection's index (see :data:`INDEXED_SCAN`),
        or ``None`` for a plain scan. The documents it finds are filtered again by ``where``."""
        if len(where) != 1:
            return None
        (field, value), layout = next(iter(where.items())), self.layout
        if not isinstance(value, str):
            return None
        if kind == layout.record_kind and field == layout.record_child:
            keys = select(record.c.key).where(record.c.child == value)
        elif kind == layout.assignment_kind and field in (
            layout.assignment_child,
            layout.assignment_staff,
        ):
            column = assignment.c.child if field == layout.assignment_child else assignment.c.staff
            keys = select(assignment.c.key).where(assignment.c.kind == kind, column == value)
        else:
            return None
        return (
            select(document.c.key, document.c.doc)
            .where(document.c.kind == kind, document.c.key.in_(keys))
            .order_by(document.c.key)
        )

    def record_facts(
        self, children: Sequence[str] | None = None
    ) -> list[tuple[str, str, str, str | None, int]] | None:
        """``(key, duty, child, owner, day ordinal)`` of every record (or of ``children``'s)
        from the record projection, without reading a document. For every record, ``None`` when
        the projection does not hold every record document, so that the caller reads the
        documents instead; a few children's are found through the projection, as
        :data:`~leftbehind.store.INDEXED_SCAN` scans by child are."""
        layout = self.layout
        cols = select(record.c.key, record.c.duty, record.c.child, record.c.owner, record.c.day)
        with self._reading() as conn:
            if children is None:
                projected = conn.execute(select(func.count()).select_from(record)).scalar_one()
                stored = conn.execute(_COUNT, {"kind": layout.record_kind}).scalar_one()
                if projected != stored:
                    return None
                return [tuple(row) for row in conn.execute(cols)]
            out: list[tuple[str, str, str, str | None, int]] = []
            for chunk in _chunks(sorted(set(children))):
                rows = conn.execute(cols.where(record.c.child.in_(chunk)))
                out.extend(tuple(row) for row in rows)
            return out

    def _count(self, kind: str, where: dict[str, JSONScalar]) -> int:
        if where:
            return sum(1 for _ in self._scan(kind, where))
        with self._reading() as conn:
            return int(conn.execute(_COUNT, {"kind": kind}).scalar_one())

    def _kinds(self) -> Iterable[str]:
        with self._reading() as conn:
            kinds: ScalarResult[str] = conn.execute(_KINDS).scalars()
            return list(kinds)

    # Writes.

    def _apply(self, changes: Changes) -> None:
        with self._writing() as conn:
            absent = self._check(conn, changes)
            written = sorted(changes.by_kind().items())
            for kind, writes in written:
                self._write_kind(conn, kind, writes, absent)
            self._bump(conn, [kind for kind, _ in written])
        self._unanalysed += len(changes.writes)
        if self._unanalysed >= ANALYZE_AFTER:
            self.analyze()

    def _bump(self, conn: Connection, kinds: Sequence[str]) -> None:
        """Count one more commit for each kind written (in kind order, as every commit does,
        so that two commits never wait on each other's counts)."""
        insert = (pg_dialect if self.dialect == "postgresql" else sqlite_dialect).insert(version)
        stmt = insert.on_conflict_do_update(
            index_elements=[version.c.kind], set_={"n": version.c.n + 1}
        )
        for kind in kinds:
            conn.execute(stmt, {"kind": kind, "n": 1})

    def version(self, kind: str) -> object:
        """A token for the number of commits that changed ``kind``: the same object while the
        number stays the same (see :data:`~leftbehind.store.VERSIONED`)."""
        self._open()
        kind = check_kind(kind)
        with self._reading() as conn:
            found = conn.execute(select(version.c.n).where(version.c.kind == kind)).scalar()
        n = int(found or 0)
        held = self._versions.get(kind)
        if held is None or held[0] != n:
            held = self._versions[kind] = (n, object())
        return held[1]

    def analyze(self) -> None:
        """Gather the planner's statistics (``ANALYZE``), as a commit does after a bulk write
        of :data:`ANALYZE_AFTER` rows or more. A busy store leaves it for the next commit."""
        try:
            with self.engine.connect() as conn:
                if self.dialect == "sqlite":
                    conn.exec_driver_sql("ANALYZE")
                else:
                    with conn.begin():
                        for table in metadata.sorted_tables:
                            conn.exec_driver_sql(f"ANALYZE {table.name}")
                conn.commit()
        except DBAPIError:
            return
        self._unanalysed = 0

    def _check(self, conn: Connection, changes: Changes) -> set[tuple[str, str]]:
        """Compare what the unit of work read with the rows now (locked on PostgreSQL).

        Returns the (kind, key) pairs read as absent: those written are inserted, never
        upserted, so that one created meanwhile fails the commit.
        """
        absent = {at for at, seen in changes.reads.items() if seen is None}
        # A key read as absent and now written needs no look: its plain INSERT fails if another
        # writer created it meanwhile (see _write_kind).
        created = {at for at in absent if changes.writes.get(at) is not None}
        wanted: dict[str, list[str]] = {}
        for kind, key in sorted(changes.reads):
            if (kind, key) not in created:
                wanted.setdefault(kind, []).append(key)
        current: dict[tuple[str, str], Document] = {}
        for kind, keys in wanted.items():
            for chunk in _chunks(keys):
                stmt = select(document.c.key, document.c.doc).where(
                    document.c.kind == kind, document.c.key.in_(chunk)
                )
                if self.dialect == "postgresql":
                    stmt = stmt.order_by(document.c.key).with_for_update()
                for key, doc in conn.execute(stmt):
                    current[kind, key] = doc
        changes.check(
            lambda kind, key: None if (kind, key) in created else current.get((kind, key))
        )
        return absent

    def _write_kind(
        self,
        conn: Connection,
        kind: str,
        writes: Mapping[str, Document | None],
        absent: set[tuple[str, str]],
    ) -> None:
        keys = sorted(writes)
        puts = [(k, doc) for k in keys if (doc := writes[k]) is not None]
        gone = [k for k in keys if writes[k] is None]
        fresh: list[tuple[str, Document]] = []
        if absent:
            fresh = [(k, doc) for k, doc in puts if (kind, k) in absent]
            if fresh:
                puts = [(k, doc) for k, doc in puts if (kind, k) not in absent]
                try:
                    with conn.begin_nested():
                        self._insert_many(conn, kind, fresh, upsert=False)
                except IntegrityError:  # another writer created it since we saw it absent
                    raise ConflictError(kind, fresh[0][0]) from None
        if puts:
            self._insert_many(conn, kind, puts, upsert=True)
        _delete_keys(conn, document, gone, kind)
        table = self._projected.get(kind)
        if table is None:
            return
        _delete_keys(conn, table, keys, kind if table in KIND_KEYED else None)
        names = _columns(table)
        rows = (
            _row(row, names)
            for key, doc in (*fresh, *puts)
            for row in projections(self.layout, kind, key, doc)
        )
        _insert_rows(conn, table, rows)

    def _insert_many(
        self, conn: Connection, kind: str, docs: Sequence[tuple[str, Document]], *, upsert: bool
    ) -> None:
        """Write documents of ``kind``: replacing any row of the same key on ``upsert``, else
        a plain ``INSERT`` (a row that exists makes an :class:`IntegrityError`)."""
        rows = ((kind, key, _dumps(doc)) for key, doc in docs)
        _insert_rows(conn, document, rows, upsert=upsert)

    def _close(self) -> None:
        self.engine.dispose()

    # Pushdown.

    def served_counts(
        self, as_of: date, *, timeline_kind: str | None = None
    ) -> dict[sql_ledger.ServedKey, int]:
        """Children served on ``as_of`` by (township, school, category, grade, sex, boarding).

        Counted in SQL from the stored timeline spans (``timeline_kind``, default the layout's
        first: the county's policy; ``"national"`` for the 2016 rule). Rows whose ``category``
        is ``None`` count children served in any category (a child in two categories once).
        See :func:`leftbehind.backends.sql_ledger.served_counts`.
        """
        self._open()
        kind = timeline_kind or self.layout.timeline_kinds[0]
        with self._reading("counting") as conn:
            return sql_ledger.served_counts(conn, as_of, kind)

    def school_columns(self, as_of: date, *, national: bool = True) -> dict[str, Counter[str]]:
        """Per school id, the county table's count columns on ``as_of``, counted in SQL.

        ``enrolled``, ``served``, ``primary.*``, ``category.*``, ``sex.*``, ``grade.*``,
        ``stage.*``, ``boarding.*`` and (with ``national``) ``national``: the same numbers as
        :func:`leftbehind.domain.ledger.county_table` puts in each school's row. See
        :func:`leftbehind.backends.sql_ledger.school_columns`.
        """
        self._open()
        kinds = self.layout.timeline_kinds
        national_kind = kinds[1] if national and len(kinds) > 1 else None
        with self._reading("counting") as conn:
            return sql_ledger.school_columns(conn, as_of, kinds[0], national_kind)

    def duty_counts(
        self, plan: DutyPlan, as_of: date, *, timeline_kind: str | None = None
    ) -> dict[str, sql_ledger.DutyCount]:
        """Due, done and overdue occurrences per duty kind of ``plan`` on ``as_of``, in SQL.

        The same numbers as :class:`~leftbehind.domain.duties.DutyBook` counts over the
        stored timelines, assignments (and study groups' guides) and records; see
        :func:`leftbehind.backends.sql_ledger.duty_counts`.
        """
        self._open()
        kind = timeline_kind or self.layout.timeline_kinds[0]
        with self._reading("counting") as conn:
            return sql_ledger.duty_counts(conn, plan, as_of, kind)

    def duty_tallies(
        self,
        plan: DutyPlan,
        as_of: date,
        *,
        timeline_kind: str | None = None,
        children: Collection[str] | None = None,
    ) -> list[sql_ledger.ChildDuty]:
        """Per child (of every child, or of ``children``) and duty kind, the occurrences of
        ``plan`` due, done and overdue on ``as_of``, counted in SQL: what the county and school
        tables sum (owners are not told apart). See
        :func:`leftbehind.backends.sql_ledger.duty_tallies`.
        """
        self._open()
        kind = timeline_kind or self.layout.timeline_kinds[0]
        with self._reading("counting") as conn:
            if children is None:
                return list(sql_ledger.duty_tallies(conn, plan, as_of, kind))
            return [
                tally
                for chunk in _chunks(sorted(set(children)), _CHUNK * 4)
                for tally in sql_ledger.duty_tallies(conn, plan, as_of, kind, chunk)
            ]

    def about_children(self, kind: str, children: Collection[str]) -> list[tuple[str, Document]]:
        """``(key, document)`` of ``kind`` — records, assignments or study groups — naming one
        of ``children`` (a record's or an assignment's child, a group listing the child), in key
        order, found through the projections' indexes by child: what scanning every document
        of the kind and keeping those would find, at the cost of what it returns."""
        self._open()
        layout = self.layout
        if kind == layout.record_kind:
            table, column = record, record.c.child
        elif kind in (layout.assignment_kind, layout.group_kind):
            table, column = assignment, assignment.c.child
        else:
            msg = f"documents of {kind!r} are not found by child"
            raise ValueError(msg)
        wanted = set(children)
        found: dict[str, Document] = {}
        with self._reading() as conn:
            for chunk in _chunks(sorted(wanted)):
                naming = select(table.c.key).where(column.in_(chunk))
                if table is assignment:
                    naming = naming.where(assignment.c.kind == kind)
                stmt = select(document.c.key, document.c.doc).where(
                    document.c.kind == kind, document.c.key.in_(naming)
                )
                found.update((key, doc) for key, doc in conn.execute(stmt))
        named = sorted(key for key, doc in found.items() if _names(layout, kind, doc, wanted))
        return [(key, found[key]) for key in named]

    def enrolled_children(self, schools: Collection[str]) -> list[str]:
        """The keys of the children with an enrolment (past, present or to come) at one of
        ``schools``, in key order, from the enrolment projection."""
        self._open()
        out: set[str] = set()
        with self._reading() as conn:
            for chunk in _chunks(sorted(set(schools))):
                stmt = select(enrolment.c.key).where(enrolment.c.school.in_(chunk)).distinct()
                out.update(conn.execute(stmt).scalars())
        return sorted(out)


def _names(layout: Layout, kind: str, doc: Document, children: set[str]) -> bool:
    """Whether the document of ``kind`` names one of ``children`` (checked on the document
    itself, as a scan's filter is)."""
    if kind == layout.group_kind:
        listed = doc.get(layout.group_children)
        return type(listed) is list and any(c in children for c in listed if type(c) is str)
    field = layout.record_child if kind == layout.record_kind else layout.assignment_child
    return doc.get(field) in children


def open_sql(url: str, *, create: bool | None = None) -> SQLStore:
    """Open ``sqlite:///path`` or ``postgresql://…`` (the factory the SQL plugin registers).

    See :class:`SQLStore`.
    """
    return SQLStore(url, create=create)
