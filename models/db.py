"""The store's connection: one database proxy, bound once per process from DATABASE_URL."""

import json
from urllib.parse import parse_qsl, unquote, urlsplit

import peewee
from playhouse.pool import PooledPostgresqlDatabase

database = peewee.DatabaseProxy()

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "synchronous": "normal",
    "cache_size": -16000,
}


def open_database(url):
    """Build (but do not connect) the database that DATABASE_URL names."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        path = unquote(url[len("sqlite:///"):]) or ":memory:"
        return peewee.SqliteDatabase(path, pragmas=SQLITE_PRAGMAS, timeout=30)
    if parts.scheme in ("postgres", "postgresql"):
        options = dict(parse_qsl(parts.query))
        return PooledPostgresqlDatabase(
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


def bind(url):
    """Point the model layer at the database DATABASE_URL names and return it."""
    db = open_database(url)
    database.initialize(db)
    return db


def is_sqlite():
    return isinstance(database.obj, peewee.SqliteDatabase)


def write_transaction():
    """A transaction that takes the write lock up front, so SQLite writers queue instead of failing."""
    if is_sqlite():
        return database.atomic("IMMEDIATE")
    return database.atomic()


class JSONField(peewee.TextField):
    """JSON kept as text, so SQLite and PostgreSQL store it alike."""

    def db_value(self, value):
        return None if value is None else json.dumps(value, separators=(",", ":"))

    def python_value(self, value):
        return None if value is None else json.loads(value)
