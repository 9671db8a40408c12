"""What a browser frontend relies on: CORS only for configured origins, and Location on every 201."""

import pytest
from starlette.testclient import TestClient

from config import Settings
from models import db
from tests.conftest import BASE, SPEC

ALLOWED = "https://app.example.com"
PREFLIGHT = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type"}


@pytest.fixture(scope="module")
def cors_http(store, database_url):
    """An app built with CORS_ORIGINS set; the session's store is bound again afterwards."""
    from app import create_app

    app = create_app(Settings(database_url=database_url, cors_origins=(ALLOWED,)))
    db.database.initialize(store)  # create_app bound a second connection to the same database
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def test_cors_is_off_by_default(http):
    preflight = http.options(f"{BASE}/dashboards", headers={"Origin": ALLOWED, **PREFLIGHT})
    assert "access-control-allow-origin" not in preflight.headers
    simple = http.get(f"{BASE}/openapi.json", headers={"Origin": ALLOWED})
    assert simple.status_code == 200 and "access-control-allow-origin" not in simple.headers


def test_cors_origins_allows_a_listed_origin(cors_http):
    preflight = cors_http.options(f"{BASE}/dashboards", headers={"Origin": ALLOWED, **PREFLIGHT})
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == ALLOWED
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert {"authorization", "content-type"} <= set(
        preflight.headers["access-control-allow-headers"].lower().split(", ")
    )
    simple = cors_http.get(f"{BASE}/dashboards", headers={"Origin": ALLOWED})
    assert simple.status_code == 401 and simple.headers["access-control-allow-origin"] == ALLOWED
    # A frontend reads ETag for If-Match and Location after a create.
    assert {"etag", "location", "x-request-id"} <= set(
        simple.headers["access-control-expose-headers"].lower().split(", ")
    )


def test_cors_origins_refuses_other_origins(cors_http):
    other = "https://evil.example.com"
    preflight = cors_http.options(f"{BASE}/dashboards", headers={"Origin": other, **PREFLIGHT})
    assert "access-control-allow-origin" not in preflight.headers
    simple = cors_http.get(f"{BASE}/openapi.json", headers={"Origin": other})
    assert "access-control-allow-origin" not in simple.headers


CREATED = [
    (f"{method.upper()} {path}", op["responses"]["201"])
    for path, item in SPEC["paths"].items()
    for method, op in item.items()
    if isinstance(op, dict) and "201" in op.get("responses", {})
]


def test_there_are_created_answers():
    assert len(CREATED) >= 5


@pytest.mark.parametrize("operation,response", CREATED, ids=[name for name, _ in CREATED])
def test_every_201_documents_a_location_header(operation, response):
    headers = response.get("headers", {})
    assert headers.get("Location") == {"$ref": "#/components/headers/Location"}, f"{operation}: no Location header"
