"""Fixtures shared by the suite: one store per run (SQLite or PostgreSQL, by TEST_DATABASE)."""

import os
import secrets
from urllib.parse import quote

import peewee
import pytest
from hypothesis import HealthCheck, settings

from models import db, schema

settings.register_profile(
    "ci",
    max_examples=40,
    deadline=None,
    derandomize=True,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.register_profile(
    "fuzz",
    max_examples=400,
    deadline=None,
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


@pytest.fixture(autouse=True)
def fresh_prepared_queries():
    """Each test generates the SQL of the prepared queries it runs (see `db.Prepared.forget`)."""
    db.Prepared.forget()


@pytest.fixture
def clean_store(store):
    yield store
    with store.connection_context():
        schema.truncate_all()


@pytest.fixture
def project(clean_store):
    """A project of a fresh org, with a connection open for the test."""
    with clean_store.connection_context():
        yield Project.create(org=Org.create(name="acme"), name="default")


# --- The application, built once per run, and clients that check every answer against the spec.

import itertools
import pathlib
import re

import yaml
from openapi_schema_validator import OAS30Validator
from starlette.testclient import TestClient

from config import Settings
from models.identity import ApiToken, Group, GroupMember, Org, Project, ProjectPermission, User

SPEC = yaml.safe_load((pathlib.Path(__file__).parent.parent / "openapi.yaml").read_text())
BASE = SPEC["servers"][0]["url"]


def _operation_for(method, path):
    for template, item in sorted(SPEC["paths"].items(), key=lambda kv: kv[0].count("{")):
        pattern = "^" + re.sub(r"\\{[^/]+\\}", "[^/]+", re.escape(BASE + template)) + "$"
        if re.match(pattern, path):
            return item.get(method.lower())
    return None


def _expected_schema(method, path, status):
    """The documented media type and schema for this answer (problem documents for unrouted ones)."""
    operation = _operation_for(method, path)
    if operation is None:
        return "application/problem+json", {"$ref": "#/components/schemas/Problem"}
    response = operation["responses"].get(str(status)) or operation["responses"].get("default")
    assert response is not None, f"{method} {path} answered an undocumented {status}"
    if "$ref" in response:
        response = SPEC["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
    content = response.get("content")
    if not content:
        return None, None
    media_type, body = next(iter(content.items()))
    return media_type, body.get("schema")


def check_against_spec(response):
    request = response.request
    media_type, schema = _expected_schema(request.method, request.url.path, response.status_code)
    if media_type is None:
        assert not response.content, f"{request.method} {request.url.path}: body on a bodiless answer"
        return
    assert response.headers["content-type"].split(";")[0] == media_type, response.text
    if schema is not None:
        body = response.json() if media_type.endswith("json") else response.text
        OAS30Validator(
            {**schema, "components": SPEC["components"]}, format_checker=OAS30Validator.FORMAT_CHECKER
        ).validate(body)


class ApiClient:
    """A test client that sends a caller's token and checks every answer against openapi.yaml."""

    def __init__(self, client, token=None):
        self.client = client
        self.token = token

    def request(self, method, path, *, json=None, headers=None, **kwargs):
        headers = dict(headers or {})
        if self.token:
            headers.setdefault("Authorization", f"Bearer {self.token}")
        response = self.client.request(method, BASE + path, json=json, headers=headers, **kwargs)
        check_against_spec(response)
        return response

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path, json=None, **kwargs):
        return self.request("POST", path, json=json, **kwargs)

    def patch(self, path, json=None, **kwargs):
        return self.request("PATCH", path, json=json, **kwargs)

    def put(self, path, json=None, **kwargs):
        return self.request("PUT", path, json=json, **kwargs)

    def delete(self, path, **kwargs):
        return self.request("DELETE", path, **kwargs)


@pytest.fixture(scope="session")
def app(store, database_url):
    from app import create_app

    return create_app(Settings(database_url=database_url, validate_responses=True, max_body_bytes=64 * 1024))


@pytest.fixture(scope="session")
def http(app):
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


_names = itertools.count(1)


class World:
    """Builds orgs, users and tokens directly in the store, and hands out API clients for them."""

    def __init__(self, http):
        self.http = http

    def org(self, name=None):
        org = Org.create(name=name or f"org-{next(_names)}")
        Project.create(org=org, name="default")
        return org

    def project(self, org, name="default"):
        return Project.get_or_create(org=org, name=name)[0]

    def user(self, org=None, role="viewer", project="default", permissions=(), groups=()):
        """A user with a token bound to `project`; returns (user, client)."""
        org = org or self.org()
        user = User.create(org=org, email=f"u{next(_names)}@example.com", name="Test User", role=role)
        target = self.project(org, project)
        for permission in permissions:
            ProjectPermission.create(project=target, user=user, permission=permission)
        for group in groups:
            GroupMember.create(group=group, user=user)
        _, token = ApiToken.issue(user, target)
        return user, ApiClient(self.http, token)

    def group(self, org, name=None):
        return Group.create(org=org, name=name or f"group-{next(_names)}")

    def anonymous(self):
        return ApiClient(self.http)


@pytest.fixture
def world(http, clean_store):
    with clean_store.connection_context():
        yield World(http)


def problem(response, status, code):
    """Assert a problem document with this status and error code; return its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status and body["error"] == code, body
    return body
