"""The store's connection: one database proxy, bound once per process from DATABASE_URL.

Every request runs inside `connected()`, which is where the store being unreachable or busy
stops being a driver error and becomes `ServiceUnavailable` (503 with Retry-After): the one
place the model layer tells an outage from a bug.

A server keeps its connections between requests (a pool on either store): opening one costs
more than a request's queries (a SQLite connection runs its pragmas and checkpoints the WAL when
the last one closes; a PostgreSQL one is a new backend). A kept connection is checked without a
round trip when it is handed out, and replaced when it is dead or its SQLite file is gone.
"""

import datetime
import functools
import json
import logging
import math
import os
import select
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

import peewee
import psycopg
from playhouse.pool import MaxConnectionsExceeded, PooledPostgresqlDatabase, PooledSqliteDatabase

from models.errors import ServiceUnavailable

database = peewee.DatabaseProxy()
log = logging.getLogger("dashboards_api.store")

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "synchronous": "normal",
    "cache_size": -16000,
}
# How long the command line waits for SQLite's write lock; serving passes its own, shorter wait.
CLI_LOCK_TIMEOUT_MS = 30_000
# Seconds a client is asked to wait: a lock is usually released within one; a store that is
# down takes longer to come back.
RETRY_AFTER_BUSY, RETRY_AFTER_DOWN = 1, 5


def sqlite_path(url: str) -> str | None:
    """The file a sqlite:/// URL names (":memory:" for none), or None for another store."""
    if urlsplit(url).scheme != "sqlite":
        return None
    return unquote(url[len("sqlite:///") :]) or ":memory:"


def open_database(url: str, *, lock_timeout_ms: float | None = None, create: bool = True) -> peewee.Database:
    """Build (but do not connect) the database that DATABASE_URL names.

    `lock_timeout_ms` bounds how long a statement waits for a lock held elsewhere (SQLite's busy
    timeout; PostgreSQL's lock_timeout, and its connect timeout) instead of hanging the request;
    None keeps the command line's long SQLite wait and no PostgreSQL limit. `create=False` opens
    an existing SQLite file only, so a file that vanished is an error, not a new empty store.
    """
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        path = sqlite_path(url) or ":memory:"
        timeout = (lock_timeout_ms if lock_timeout_ms is not None else CLI_LOCK_TIMEOUT_MS) / 1000
        if create or path == ":memory:":
            return peewee.SqliteDatabase(path, pragmas=SQLITE_PRAGMAS, timeout=timeout)
        return KeptSqliteDatabase(
            f"file:{quote(path)}?mode=rw",
            uri=True,
            pragmas=SQLITE_PRAGMAS,
            timeout=timeout,
            path=path,
            max_connections=64,
            stale_timeout=300,
        )
    if parts.scheme in ("postgres", "postgresql"):
        options = dict(parse_qsl(parts.query))
        if lock_timeout_ms is not None:
            options["options"] = f"{options.get('options', '')} -c lock_timeout={int(lock_timeout_ms)}".strip()
            options.setdefault("connect_timeout", str(max(2, math.ceil(lock_timeout_ms / 1000))))
        return KeptPostgresqlDatabase(
            unquote(parts.path.lstrip("/")),
            host=parts.hostname,
            port=parts.port or 5432,
            user=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            max_connections=int(options.pop("max_connections", 32)),
            stale_timeout=300,
            timeout=30,
            prefer_psycopg3=True,
            **options,
        )
    raise ValueError(f"unsupported DATABASE_URL scheme {parts.scheme!r} (sqlite or postgresql)")


def _file_identity(path: str) -> tuple[int, int] | None:
    """(device, inode) of the file at `path`, None when there is none."""
    try:
        status = os.stat(path)
    except OSError:
        return None
    return status.st_dev, status.st_ino


class KeptSqliteDatabase(PooledSqliteDatabase):
    """Serving's SQLite store (an existing file, `mode=rw`): connections kept between requests,
    the pragmas run once per connection.

    A kept connection would go on reading a file unlinked under it, so each one remembers the
    file it opened (device and inode) and is dropped when the path no longer names that file:
    a new connection then fails to open a missing file (503), or opens the file now there.
    """

    def __init__(self, database: str, *, path: str, **kwargs: Any) -> None:
        self.path = path
        self._opened: dict[Any, tuple[int, int] | None] = {}  # connection key -> identity of the file it opened
        # A kept connection serves one thread at a time, but not always the thread that made it.
        super().__init__(database, check_same_thread=False, **kwargs)

    def _connect(self) -> sqlite3.Connection:
        self.current_file = _file_identity(self.path)  # one stat per hand-out
        return super()._connect()

    def _add_conn_hooks(self, conn: sqlite3.Connection) -> None:
        super()._add_conn_hooks(conn)
        self._opened[self.conn_key(conn)] = _file_identity(self.path)

    def _is_closed(self, conn: sqlite3.Connection) -> bool:
        if self._opened.get(self.conn_key(conn)) != self.current_file or super()._is_closed(conn):
            self._close_raw(conn)
            return True
        return False

    def _close_raw(self, conn: sqlite3.Connection) -> None:
        self._opened.pop(self.conn_key(conn), None)
        super()._close_raw(conn)


class KeptPostgresqlDatabase(PooledPostgresqlDatabase):
    """Serving's PostgreSQL store: connections kept between requests, and checked without a
    round trip when handed out (peewee's pool runs SELECT 1 each time).

    An idle connection has nothing to read: a terminated backend or a cut network shows as bytes
    (the server's goodbye) or end of file waiting on its socket, and such a connection is
    replaced. The goodbye can arrive a moment after the backend is gone, so a connection may
    still die under the first statement of a request: `connected()` then raises
    KeptConnectionLost, and the caller may run the request again on a new one.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._handed_out = threading.local()
        super().__init__(*args, **kwargs)

    def _connect(self) -> psycopg.Connection:
        self._handed_out.kept = bool(self._connections)  # an idle connection is there to reuse
        return super()._connect()

    def _is_closed(self, conn: psycopg.Connection) -> bool:
        if conn.closed or conn.broken or self._adapter.txn_status(conn) != self._adapter.txn_idle:
            self._close_raw(conn)
            return True
        try:
            readable = bool(select.select([conn.fileno()], [], [], 0)[0])
        except (OSError, ValueError, psycopg.Error):
            readable = True
        if readable:
            self._close_raw(conn)
            return True
        return False


class Prepared:
    """A query of a fixed shape whose SQL text is generated once per store, then run with new
    values: peewee builds a query's text on every execution, and for the reads every request
    makes that cost more than running them (README, performance).

    `build(*values)` returns the peewee query; it is called once with stand-in values, which
    are found again among the query's parameters. A value peewee would transform (a LIKE
    pattern) cannot be prepared: building refuses it. Rows come out as the query's own rows
    (models, joined models, tuples, dicts), converted by peewee as usual; the tuples and dicts of
    a one-model query of fields are converted here, column by column, without peewee's per-row
    machinery.
    """

    _STAND_IN = 7_340_000_000_000_000_000  # an id no table reaches, as an int or as text
    _instances: list["Prepared"] = []

    def __init__(self, build: Callable[..., Any]) -> None:
        self.build = build
        self.compiled: dict[tuple[peewee.Database, Any], _Entry] = {}  # (store, shape) -> _Entry
        self.lock = threading.Lock()
        Prepared._instances.append(self)

    @classmethod
    def forget(cls) -> None:
        """Drop every generated SQL text; each is generated again when next used. The tests call
        it before each test, so a query's `build` runs in every test that needs it (a mutant of
        it is seen by those tests, not only by the first test of a run)."""
        for prepared in cls._instances:
            with prepared.lock:
                prepared.compiled.clear()

    def rows(self, *values: Any, shape: Any = None) -> list[Any]:
        """The rows of the query for these values (a list); `shape` names a variant of `build`."""
        store = database.obj
        entry, params = self._bound(store, values, shape)
        return self._rows_of(entry, store.execute_sql(entry[1], params))

    def _bound(self, store: peewee.Database, values: Sequence[Any], shape: Any) -> tuple["_Entry", list[Any]]:
        entry = self.compiled.get((store, shape))
        if entry is None:
            entry = self._compile(store, len(values), shape)
        return entry, [source.value if isinstance(source, _Constant) else values[source] for source in entry[2]]

    @staticmethod
    def _rows_of(entry: "_Entry", cursor: Any) -> list[Any]:
        query, _, _, converters, names = entry
        if converters is None:
            return list(query._get_cursor_wrapper(cursor))
        rows: list[Any] = cursor.fetchall()
        if converters:  # [(column, convert)] of the columns that need it
            rows = [_converted(row, converters) for row in rows]
            if names is None:
                rows = [tuple(row) for row in rows]
        return rows if names is None else [dict(zip(names, row)) for row in rows]

    @staticmethod
    def batch(*calls: tuple["Prepared", Sequence[Any], Any]) -> list[list[Any]]:
        """The rows of several prepared queries, each call `(prepared, values, shape)`: on
        PostgreSQL sent in one pipeline (one round trip instead of one per query), on SQLite run
        one after the other (no round trips to save)."""
        store = database.obj
        bound = [prepared._bound(store, values, shape) for prepared, values, shape in calls]
        if not isinstance(store, peewee.PostgresqlDatabase):
            return [Prepared._rows_of(entry, store.execute_sql(entry[1], params)) for entry, params in bound]
        connection = store.connection()
        with peewee.__exception_wrapper__, connection.pipeline():  # type: ignore[attr-defined]  # not in the stubs
            cursors = [connection.cursor() for _ in bound]
            for cursor, (entry, params) in zip(cursors, bound):
                cursor.execute(entry[1], params)
        return [Prepared._rows_of(entry, cursor) for cursor, (entry, _) in zip(cursors, bound)]

    def execute(self, *values: Any, shape: Any = None) -> int:
        """Run a prepared write (without RETURNING); the number of rows it changed."""
        store = database.obj
        entry, params = self._bound(store, values, shape)
        return store.execute_sql(entry[1], params).rowcount

    def first(self, *values: Any, shape: Any = None) -> Any:
        rows = self.rows(*values, shape=shape)
        return rows[0] if rows else None

    def _compile(self, store: peewee.Database, arity: int, shape: Any) -> "_Entry":
        stand_ins = [self._STAND_IN + i for i in range(arity)]
        # Any: its private members (_row_type, _returning) are not in peewee's stubs.
        query: Any = self.build(*stand_ins) if shape is None else self.build(*stand_ins, shape=shape)
        sql, params = query.sql()
        slots: dict[int | str, int] = {
            **{value: i for i, value in enumerate(stand_ins)},
            **{str(v): i for i, v in enumerate(stand_ins)},
        }
        sources: list[int | _Constant] = []
        for param in params:
            if isinstance(param, (int, str)) and not isinstance(param, bool) and param in slots:
                sources.append(slots[param])
            elif str(self._STAND_IN)[:6] in str(param):
                raise ValueError(f"a prepared query's value was transformed: {param!r}")
            else:
                sources.append(_Constant(param))
        converters: list[tuple[int, Callable[[Any], Any]]] | None = None
        names: list[str] | None = None
        model_select = isinstance(query, peewee.ModelSelect)
        if model_select and query._row_type in (peewee.ROW.TUPLE, peewee.ROW.DICT):
            converters = [(i, c) for i, c in enumerate(_converter(node) for node in query._returning) if c is not None]
            if query._row_type == peewee.ROW.DICT:  # keyed by field name, as a model's __data__
                names = [getattr(node, "_alias", None) or node.name for node in query._returning]
        entry = (query, sql, sources, converters, names)
        with self.lock:
            self.compiled[(store, shape)] = entry
        return entry


# Columns both drivers already return as peewee would convert them (int, str): left as they are.
_DRIVER_TYPED = (peewee.AutoField, peewee.IntegerField, peewee.BigIntegerField, peewee.CharField, peewee.TextField)


def _converter(node: peewee.Node) -> Callable[[Any], Any] | None:
    """What a selected column's values need to be what peewee would make of them (None: nothing).

    A datetime is stored as text on SQLite: `fromisoformat` reads peewee's own format directly,
    and anything else falls back to peewee's parser (PostgreSQL returns datetimes already).
    """
    if isinstance(node, peewee.ForeignKeyField):
        node = node.rel_field
    if not isinstance(node, peewee.Field) or type(node) in _DRIVER_TYPED:
        return None
    if isinstance(node, peewee.DateTimeField):
        return functools.partial(_datetime, node.python_value)
    return node.python_value


def _converted(row: Sequence[Any], converters: list[tuple[int, Callable[[Any], Any]]]) -> list[Any]:
    converted = list(row)
    for column, convert in converters:
        value = converted[column]
        if value is not None:
            converted[column] = convert(value)
    return converted


def _datetime(fallback: Callable[[Any], Any], value: Any) -> Any:
    if type(value) is str:
        try:
            return datetime.datetime.fromisoformat(value)
        except ValueError:
            return fallback(value)
    return value


class _Constant:
    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


# A prepared query once built for a store: (the peewee query, its SQL, where each parameter comes
# from: a position among the values or a constant, the converters of its columns, and its column
# names when it answers dicts; converters None: the query's own rows).
_Entry = tuple[Any, str, list[int | _Constant], list[tuple[int, Callable[[Any], Any]]] | None, list[str] | None]


def bind(url: str, **options: Any) -> peewee.Database:
    """Point the model layer at the database DATABASE_URL names and return it (options as for
    `open_database`)."""
    db = open_database(url, **options)
    database.initialize(db)
    return db


def is_sqlite() -> bool:
    return isinstance(database.obj, peewee.SqliteDatabase)


def write_transaction() -> AbstractContextManager[Any]:
    """A transaction that takes the write lock up front, so SQLite writers queue instead of failing."""
    if is_sqlite():
        return database.atomic("IMMEDIATE")
    return database.atomic()


@contextmanager
def connected() -> Iterator[None]:
    """One request's connection (a write opens its transaction inside, `write_transaction`); an
    unreachable or locked store raises ServiceUnavailable, anything else passes."""
    try:
        with database.connection_context():
            yield
    except (peewee.DatabaseError, psycopg.Error, sqlite3.Error, MaxConnectionsExceeded) as exc:
        kind = outage(exc)
        if kind is None:
            raise
        if kind == "busy":
            log.warning("store %s: %s", kind, first_line(exc))
            raise ServiceUnavailable("The store is busy; try again shortly.", retry_after=RETRY_AFTER_BUSY) from exc
        if _kept_connection():
            raise KeptConnectionLost() from exc
        log.warning("store %s: %s", kind, first_line(exc))
        raise ServiceUnavailable(
            "The store cannot be reached; try again shortly.", retry_after=RETRY_AFTER_DOWN
        ) from exc


class KeptConnectionLost(Exception):
    """Raised by `connected()` when a connection kept from an earlier request turns out dead.

    Nothing was stored through it if it died before the request's transaction began; the caller
    then runs the request again, once, on a new connection (a store really down answers 503 then).
    """


def _kept_connection() -> bool:
    store = database.obj
    return isinstance(store, KeptPostgresqlDatabase) and getattr(store._handed_out, "kept", False)


def unavailable(lost: KeptConnectionLost) -> ServiceUnavailable:
    """The 503 for a request whose kept connection died once its transaction had begun."""
    log.warning("store down: %s", first_line(lost.__cause__))
    return ServiceUnavailable("The store cannot be reached; try again shortly.", retry_after=RETRY_AFTER_DOWN)


# PostgreSQL errors that say the server is busy or gone, not that the SQL is wrong (SQLSTATE).
PG_BUSY = {"55P03", "40P01", "40001", "53300"}  # lock_timeout, deadlock, serialization, too many connections
PG_DOWN_CLASSES = {"08", "53", "58"}  # connection, insufficient resources, system (I/O)
PG_DOWN = {"57P01", "57P02", "57P03", "57P04", "57P05"}  # shut down, crashed, starting, dropped, idle
SQLITE_BUSY = {sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED}
# CANTOPEN: the file is gone (served with mode=rw); READONLY includes READONLY_DBMOVED, a file
# unlinked under an open connection; IOERR and FULL: the disk.
SQLITE_DOWN = {sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL}


def _driver_error(exc: BaseException | None) -> BaseException | None:
    """The DB-API exception behind a Peewee one."""
    return getattr(exc, "orig", None) or exc


def outage(exc: BaseException) -> str | None:
    """Whether a driver error means the store is `busy` or `down`; None when it is not about the
    store's availability (a bug, answered 500)."""
    error = _driver_error(exc)
    if isinstance(error, MaxConnectionsExceeded):
        return "busy"
    if isinstance(error, psycopg.OperationalError):
        state = error.sqlstate
        if state in PG_BUSY:
            return "busy"
        if state is None or state[:2] in PG_DOWN_CLASSES or state in PG_DOWN:
            return "down"  # no SQLSTATE: the client library lost or never had the connection
        return None
    if isinstance(error, sqlite3.OperationalError):
        code = getattr(error, "sqlite_errorcode", 0) & 0xFF
        if code in SQLITE_BUSY:
            return "busy"
        if code in SQLITE_DOWN:
            return "down"
    return None


def first_line(exc: BaseException | None) -> str:
    """A driver message on one line (PostgreSQL's run over several)."""
    return next((line.strip() for line in str(_driver_error(exc)).splitlines() if line.strip()), type(exc).__name__)


class JSONField(peewee.TextField):
    """JSON kept as text, so SQLite and PostgreSQL store it alike."""

    def db_value(self, value: Any) -> str | None:
        return None if value is None else json.dumps(value, separators=(",", ":"))

    def python_value(self, value: str | None) -> Any:
        return None if value is None else json.loads(value)
