"""Fixtures shared by the suite: one store per run (SQLite or PostgreSQL, by TEST_DATABASE)."""

import os
import secrets
from urllib.parse import quote

import peewee
import pytest
from hypothesis import HealthCheck, settings

from models import db, schema

settings.register_profile(
    "ci", max_examples=40, deadline=None, derandomize=True, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.register_profile(
    "fuzz", max_examples=400, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

BACKEND = os.environ.get("TEST_DATABASE", "sqlite")
POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _postgres_schema_url():
    """A private schema in the test database, so parallel runs never see each other's tables."""
    name = f"t_{os.getpid()}_{secrets.token_hex(4)}"
    try:
        probe = db.open_database(POSTGRES_URL)
        probe.connect()
    except peewee.OperationalError as exc:
        if os.environ.get("CI") == "true":
            pytest.exit(f"PostgreSQL is required under CI and is not reachable: {exc}", returncode=3)
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}: {exc}")
    probe.execute_sql(f'CREATE SCHEMA "{name}"')
    probe.close()
    sep = "&" if "?" in POSTGRES_URL else "?"
    return name, f"{POSTGRES_URL}{sep}options={quote(f'-c search_path={name}')}"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    if BACKEND == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('store') / 'test.db'}"
        return
    name, url = _postgres_schema_url()
    yield url
    cleanup = db.open_database(POSTGRES_URL)
    cleanup.execute_sql(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
    cleanup.close()


@pytest.fixture(scope="session")
def store(database_url):
    """The bound database with the current schema; tables are emptied between tests."""
    database = db.bind(database_url)
    schema.upgrade()
    yield database
    database.close_all() if hasattr(database, "close_all") else database.close()


@pytest.fixture
def clean_store(store):
    yield store
    with store.connection_context():
        schema.truncate_all()
