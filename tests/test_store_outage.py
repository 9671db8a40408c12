"""When the store is unreachable, locked or gone: 503 `service_unavailable` with Retry-After,
nothing stored, normal answers as soon as it is back; and `serve` refuses a store it cannot use.

Each test builds its own app over its own address or file (the suite's app must keep working),
and binds the suite's store again afterwards.
"""

import contextlib
import functools
import json
import os
import pathlib
import secrets
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from urllib.parse import urlsplit, urlunsplit

import peewee
import psycopg
import pytest
from starlette.testclient import TestClient

from config import Settings
from models import db, schema
from models.content import Collection, Dashboard
from models.identity import ApiToken, Org, Project, User
from tests.conftest import BACKEND, POSTGRES_URL, ApiClient, _postgres_schema_url, problem

ROOT = pathlib.Path(__file__).resolve().parent.parent
LOCK_TIMEOUT_MS = 300

postgresql_only = pytest.mark.skipif(BACKEND != "postgresql", reason="PostgreSQL store (TEST_DATABASE=postgresql)")
sqlite_only = pytest.mark.skipif(BACKEND != "sqlite", reason="SQLite store (TEST_DATABASE=sqlite)")


def unavailable(response):
    """A 503 problem document that tells the client when to come back, and shows no trace."""
    body = problem(response, 503, "service_unavailable")
    assert int(response.headers["Retry-After"]) >= 1
    assert body["detail"].startswith("The store ") and "Traceback" not in response.text
    return body


def admin_token():
    """An admin of a fresh org, written straight to the bound store; answers its bearer token."""
    with db.database.connection_context():
        org = Org.create(name=f"outage-{secrets.token_hex(4)}")
        project = Project.create(org=org, name="default")
        user = User.create(org=org, email=f"{secrets.token_hex(4)}@example.com", name="Ops", role="admin")
        return ApiToken.issue(user, project)[1]


@pytest.fixture
def serve(store):
    """Builds an app on a database URL with a short lock wait; binds the suite's store again after."""
    from app import create_app

    previous = db.database.obj
    clients = []

    def build(url, **settings):
        app = create_app(
            Settings(database_url=url, validate_responses=True, store_lock_timeout_ms=LOCK_TIMEOUT_MS, **settings)
        )
        client = TestClient(app, raise_server_exceptions=False).__enter__()
        clients.append(client)
        return client

    yield build
    for client in clients:
        client.__exit__(None, None, None)
    bound = db.database.obj
    bound.close_all() if hasattr(bound, "close_all") else bound.close()
    db.database.initialize(previous)


def public_slug(client):
    dashboard = client.post("/dashboards", json={"name": "Outage board"}).json()
    return client.patch(f"/dashboards/{dashboard['id']}", json={"default_audience": "public"}).json()["public_slug"]


def collection_names(client):
    return [item["name"] for item in client.get("/dashboards/collections").json()["items"]]


# --- SQLite ---------------------------------------------------------------------------------------


@pytest.fixture
def sqlite_file(store, tmp_path):
    """A prepared SQLite store in a file of its own."""
    path = tmp_path / "outage.db"
    previous = db.database.obj
    created = db.bind(f"sqlite:///{path}")
    schema.upgrade()
    created.close()
    db.database.initialize(previous)
    return path


@sqlite_only
def test_sqlite_locked_past_the_wait_is_503_then_the_write_succeeds(serve, sqlite_file):
    http = serve(f"sqlite:///{sqlite_file}")
    client = ApiClient(http, admin_token())
    render = f"/dashboards/{client.post('/dashboards', json={'name': 'Board'}).json()['id']}/render"
    holder = sqlite3.connect(sqlite_file, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # the write lock, held by another process's connection
    try:
        unavailable(client.post("/dashboards/collections", json={"name": "Finance"}))
        assert client.get("/me").status_code == 200  # readers are not blocked by a writer
        assert client.post(render, json={}).status_code == 200  # nor is a render asked with POST: it writes nothing
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert collection_names(client) == []
    assert client.post("/dashboards/collections", json={"name": "Finance"}).status_code == 201
    assert collection_names(client) == ["Finance"]


@sqlite_only
def test_sqlite_file_removed_while_serving_is_503_and_not_recreated(serve, sqlite_file):
    http = serve(f"sqlite:///{sqlite_file}")
    client = ApiClient(http, admin_token())
    slug = public_slug(client)
    assert ApiClient(http).get(f"/public/dashboards/{slug}/render", params={"page": 1}).status_code == 200
    os.remove(sqlite_file)
    unavailable(client.get("/me"))
    unavailable(client.post("/dashboards/collections", json={"name": "Finance"}))
    unavailable(ApiClient(http).get(f"/public/dashboards/{slug}/render", params={"page": 1}))
    assert not sqlite_file.exists()


@sqlite_only
def test_sqlite_file_replaced_while_serving_is_read_from_the_new_file(serve, sqlite_file):
    """Kept connections would go on reading the unlinked file: each request checks that the path
    still names the file its connection opened."""
    http = serve(f"sqlite:///{sqlite_file}")
    old = ApiClient(http, admin_token())
    assert old.get("/me").status_code == 200
    for leftover in (sqlite_file, *(sqlite_file.with_name(sqlite_file.name + end) for end in ("-wal", "-shm"))):
        leftover.unlink(missing_ok=True)
    unavailable(old.get("/me"))
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{sqlite_file}"}
    run = functools.partial(subprocess.run, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=True)
    run([sys.executable, "-m", "cli", "init"])
    created = json.loads(
        run(
            [
                sys.executable,
                "-m",
                "cli",
                "create-user",
                "--org",
                "new",
                "--project",
                "default",
                "--email",
                "new@example.com",
                "--role",
                "admin",
            ]
        ).stdout
    )
    assert ApiClient(http, created["token"]).get("/me").json()["user"]["email"] == "new@example.com"
    problem(old.get("/me"), 401, "unauthenticated")  # the old file's token is not in the new one


def test_requests_reuse_kept_connections(serve, database_url, clean_store, monkeypatch):
    """Connections are made once and kept, not opened and closed by every request."""
    made = []
    for kind in (peewee.SqliteDatabase, peewee.PostgresqlDatabase):
        monkeypatch.setattr(kind, "_connect", lambda self, make=kind._connect: made.append(self) or make(self))
    http = serve(database_url)
    client = ApiClient(http, admin_token())
    dashboard = client.post("/dashboards", json={"name": "Kept"}).json()
    before = len(made)
    for n in range(15):
        assert client.get(f"/dashboards/{dashboard['id']}").status_code == 200
        assert client.get("/dashboards").status_code == 200
        assert client.patch(f"/dashboards/{dashboard['id']}", json={"name": f"Kept {n}"}).status_code == 200
    assert len(made) - before <= 2  # 45 requests: at most a connection or two more than before


@sqlite_only
def test_a_broken_schema_is_still_500_and_logged_not_503(serve, sqlite_file, caplog):
    """SQLite reports a missing table as an OperationalError too: only availability is 503."""
    http = serve(f"sqlite:///{sqlite_file}")
    client = ApiClient(http, admin_token())
    other = sqlite3.connect(sqlite_file)
    other.execute(f'DROP TABLE "{Collection._meta.table_name}"')
    other.close()
    body = problem(client.get("/dashboards/collections"), 500, "internal_error")
    assert "collection" not in body["detail"]
    assert any(record.exc_info and "no such table" in str(record.exc_info[1]) for record in caplog.records)


# --- PostgreSQL -----------------------------------------------------------------------------------


class Forwarder:
    """A TCP relay in front of PostgreSQL that can be cut and restored, as a network fault would:
    cut, it drops every relayed connection and closes new ones as soon as they arrive."""

    def __init__(self, host, port):
        self.target = (host, port)
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.open = True
        self.links = set()
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            try:
                if not self.open:
                    raise OSError("cut")
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.links |= {client, upstream}
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    def _pipe(self, source, sink):
        """Each socket is read, and finally closed, by one thread; shutting down wakes its partner."""
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                _shutdown(end)
            with self.lock:
                self.links.discard(source)
            source.close()

    def cut(self):
        self.open = False
        with self.lock:
            for end in self.links:
                _shutdown(end)

    def restore(self):
        self.open = True

    def close(self):
        self.cut()
        self.server.close()


def _shutdown(end):
    with contextlib.suppress(OSError):
        end.shutdown(socket.SHUT_RDWR)


def _through(url, port, application_name):
    """The same database URL, reached on 127.0.0.1:`port`, its connections named."""
    parts = urlsplit(url)
    user, _, _ = parts.netloc.rpartition("@")
    netloc = f"{user}@127.0.0.1:{port}" if user else f"127.0.0.1:{port}"
    query = "&".join(filter(None, [parts.query, f"application_name={application_name}"]))
    return urlunsplit(parts._replace(netloc=netloc, query=query))


@pytest.fixture
def relayed(serve, database_url, clean_store):
    """An app whose PostgreSQL connections all go through a Forwarder; its backends are named."""
    parts = urlsplit(database_url)
    forwarder = Forwarder(parts.hostname, parts.port or 5432)
    name = f"outage-{secrets.token_hex(4)}"
    http = serve(_through(database_url, forwarder.port, name))
    yield http, forwarder, name
    forwarder.restore()  # the store is emptied through this app's connections after the test
    # (forwarder sockets close with the process; its threads are daemons)


@postgresql_only
def test_postgresql_unreachable_is_503_and_answers_again_when_back(relayed):
    http, forwarder, _ = relayed
    client, anonymous = ApiClient(http, admin_token()), ApiClient(http)
    slug = public_slug(client)
    render = f"/public/dashboards/{slug}/render"
    assert anonymous.get(render, params={"page": 1}).status_code == 200

    forwarder.cut()
    unavailable(client.get("/me"))  # the bearer-token lookup
    unavailable(anonymous.get(render, params={"page": 1}))  # a read (no token to look up)
    unavailable(client.post("/dashboards/collections", json={"name": "Finance"}))  # a write

    forwarder.restore()
    assert client.get("/me").status_code == 200
    assert anonymous.get(render, params={"page": 1}).status_code == 200
    assert collection_names(client) == []
    assert client.post("/dashboards/collections", json={"name": "Finance"}).status_code == 201
    assert collection_names(client) == ["Finance"]


@postgresql_only
def test_postgresql_terminated_backends_are_replaced_without_an_error(relayed, store):
    http, _, name = relayed
    client = ApiClient(http, admin_token())
    for _ in range(3):  # pooled connections, idle between requests
        assert client.get("/dashboards").status_code == 200
    with store.connection_context():
        store.execute_sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s", (name,))
        deadline = time.monotonic() + 30
        while store.execute_sql(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", (name,)
        ).fetchone()[0]:
            assert time.monotonic() < deadline, "the backends were never terminated"
            time.sleep(0.01)
    statuses = [client.get("/dashboards").status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    assert client.post("/dashboards/collections", json={"name": "Finance"}).status_code == 201


@postgresql_only
def test_postgresql_row_lock_past_the_wait_is_503_then_the_write_succeeds(relayed, database_url):
    http, _, _ = relayed
    client = ApiClient(http, admin_token())
    dashboard = client.post("/dashboards", json={"name": "Before"}).json()
    with psycopg.connect(database_url) as holder:  # another process holding the dashboard's row
        holder.execute(f'SELECT 1 FROM "{Dashboard._meta.table_name}" WHERE id = %s FOR UPDATE', (dashboard["id"],))
        unavailable(client.patch(f"/dashboards/{dashboard['id']}", json={"name": "After"}))
        holder.rollback()
    assert client.get(f"/dashboards/{dashboard['id']}").json()["name"] == "Before"
    assert client.patch(f"/dashboards/{dashboard['id']}", json={"name": "After"}).status_code == 200


# --- `serve` refuses a store it cannot use -------------------------------------------------------


def refused(database_url):
    """Run `dashboards-api serve` on this store; answer its stderr, having checked it exited 2."""
    env = {**os.environ, "DATABASE_URL": database_url}
    done = subprocess.run(
        [sys.executable, "-m", "cli", "serve", "--port", "1"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("dashboards-api: "), done.stderr
    return lines[0]


@sqlite_only
def test_serve_refuses_a_missing_sqlite_file_and_does_not_create_it(tmp_path):
    path = tmp_path / "missing.db"
    assert "run `dashboards-api init`" in refused(f"sqlite:///{path}")
    assert not path.exists()


@sqlite_only
def test_serve_refuses_a_store_init_has_not_prepared(tmp_path):
    path = tmp_path / "empty.db"
    path.touch()
    line = refused(f"sqlite:///{path}")
    assert "has no schema" in line and "run `dashboards-api init`" in line


@postgresql_only
def test_serve_refuses_an_unreachable_postgresql():
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]  # a port nothing listens on once the probe is closed
    line = refused(f"postgresql://postgres@127.0.0.1:{port}/test")
    assert "cannot open the store" in line and str(port) in line


@postgresql_only
def test_serve_refuses_a_postgresql_schema_init_has_not_prepared():
    name, url = _postgres_schema_url()
    try:
        assert "has no schema" in refused(url)
    finally:
        cleanup = db.open_database(POSTGRES_URL)
        cleanup.execute_sql(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        cleanup.close()
