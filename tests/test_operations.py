"""What an operator probes and reads: health, readiness, metrics and the request log line."""

import json
import logging
import re

import pytest

import telemetry
from models import db, schema
from tests.conftest import BACKEND, SPEC, problem


def sample(text, name, **labels):
    """The value of one sample of the exposition, or 0 when it is absent."""
    wanted = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
    for line in text.splitlines():
        match = re.match(r"^([a-z_]+)(?:\{(.*)\})? (\S+)$", line)
        if match and match[1] == name and ",".join(sorted((match[2] or "").split(","))) == wanted:
            return float(match[3])
    return 0.0


@pytest.fixture
def broken_store(store):
    """The store unreachable for the app, as when the database is down; restored afterwards."""
    if BACKEND == "sqlite":
        broken = db.open_database("sqlite:////nonexistent-directory/store.db")
    else:
        broken = db.open_database("postgresql://postgres@127.0.0.1:1/test")
    db.database.initialize(broken)
    yield
    db.database.initialize(store)


@pytest.fixture
def metrics_token():
    """METRICS_TOKEN set for one test."""
    before = telemetry._metrics_token
    telemetry._metrics_token = "metrics-secret-token"
    yield telemetry._metrics_token
    telemetry._metrics_token = before


@pytest.fixture
def request_lines():
    """The JSON log lines the app writes for requests, as dicts."""
    lines = []

    class Collect(logging.Handler):
        def emit(self, record):
            lines.append(json.loads(telemetry.JsonLines().format(record)))

    handler = Collect()
    telemetry.request_log.addHandler(handler)
    yield lines
    telemetry.request_log.removeHandler(handler)


def test_health_and_ready_answer_without_a_token(world):
    client = world.anonymous()
    assert client.get("/health").json() == {"status": "ok"}
    assert client.get("/ready").json() == {"status": "ready", "schema_version": schema.LATEST}


@pytest.mark.parametrize("path", ["/health", "/ready", "/metrics"])
def test_probes_refuse_an_unknown_query_parameter_as_documented(world, path):
    body = problem(world.anonymous().get(path, params={"verbose": "1"}), 400, "invalid_request")
    assert body["errors"][0]["path"] == "/query/verbose"
    assert "400" in SPEC["paths"][path]["get"]["responses"]


def test_health_answers_and_ready_refuses_when_the_store_is_gone(world, broken_store):
    client = world.anonymous()
    assert client.get("/health").status_code == 200
    body = problem(client.get("/ready"), 503, "service_unavailable")
    assert "127.0.0.1" not in body["detail"] and "nonexistent" not in body["detail"]


def test_ready_refuses_a_store_whose_schema_is_not_current(world):
    versions = list(schema.SchemaVersion.select())
    schema.SchemaVersion.delete().where(schema.SchemaVersion.version == schema.LATEST).execute()
    try:
        body = problem(world.anonymous().get("/ready"), 503, "schema_outdated")
        assert "dashboards-api init" in body["detail"]
    finally:
        schema.SchemaVersion.delete().execute()
        for row in versions:
            schema.SchemaVersion.create(version=row.version, applied_at=row.applied_at)
    assert world.anonymous().get("/ready").status_code == 200


def test_metrics_count_requests_by_operation_and_status(world):
    _, client = world.user()
    labels = {"operation": "getMe", "status": "200"}
    before = sample(world.anonymous().get("/metrics").text, "dashboards_api_requests_total", **labels)
    assert client.get("/me").status_code == 200
    assert client.get("/me").status_code == 200
    problem(world.anonymous().get("/me"), 401, "unauthenticated")
    text = world.anonymous().get("/metrics").text
    assert sample(text, "dashboards_api_requests_total", **labels) == before + 2
    assert sample(text, "dashboards_api_requests_total", operation="getMe", status="401") >= 1
    assert sample(text, "dashboards_api_request_duration_seconds_count", **labels) == before + 2
    # No raw path or id becomes a label: an unknown path is counted as unrouted.
    problem(client.get("/dashboards/123456/nothing-here"), 404, "not_found")
    text = world.anonymous().get("/metrics").text
    assert "123456" not in text
    assert sample(text, "dashboards_api_requests_total", operation="unrouted", status="404") >= 1


def test_metrics_count_render_cache_hits_and_card_queries(world):
    _, client = world.user(role="editor")
    dataset = client.post(
        "/datasets", json={"name": "Sales", "columns": [{"name": "amount", "type": "number"}], "rows": [[1.5], [2.5]]}
    ).json()
    dashboard = client.post("/dashboards", json={"name": "Sales"}).json()
    client.post(
        f"/dashboards/{dashboard['id']}/cards",
        json={
            "card_type": "kpi",
            "config": {"dataset_id": dataset["id"], "metric": {"agg": "sum", "column": "amount"}},
        },
    )
    text = world.anonymous().get("/metrics").text
    hits = sample(text, "dashboards_api_render_cache_total", cache="page", result="hit")
    queries = sample(text, "dashboards_api_card_query_duration_seconds_count", outcome="ok")
    for _ in range(2):
        assert client.get(f"/dashboards/{dashboard['id']}/render").status_code == 200
    text = world.anonymous().get("/metrics").text
    assert sample(text, "dashboards_api_render_cache_total", cache="page", result="hit") == hits + 1
    assert sample(text, "dashboards_api_card_query_duration_seconds_count", outcome="ok") == queries + 1
    assert sample(text, "dashboards_api_render_cache_bytes") >= 1


def test_metrics_require_the_token_when_one_is_set(world, metrics_token):
    anonymous = world.anonymous()
    problem(anonymous.get("/metrics"), 401, "unauthenticated")
    problem(anonymous.get("/metrics", headers={"Authorization": "Bearer not-the-token"}), 401, "unauthenticated")
    _, user = world.user(role="admin")  # an API token is not the metrics token
    problem(user.get("/metrics"), 401, "unauthenticated")
    response = anonymous.get("/metrics", headers={"Authorization": f"Bearer {metrics_token}"})
    assert response.status_code == 200
    assert "dashboards_api_requests_total" in response.text


def test_one_log_line_per_request_with_its_id_and_never_a_token(world, request_lines):
    user, client = world.user()
    response = client.get("/me", headers={"X-Request-ID": "trace-42.a:b"}, params={})
    assert response.headers["x-request-id"] == "trace-42.a:b"
    generated = client.get("/dashboards", params={"q": "secret-search"})
    assert re.fullmatch(r"[0-9a-f]{32}", generated.headers["x-request-id"])
    refused = world.anonymous().get("/me", headers={"X-Request-ID": "bad id\nwith a newline"})
    assert refused.headers["x-request-id"] != "bad id\nwith a newline"

    assert [line["request_id"] for line in request_lines] == [
        "trace-42.a:b",
        generated.headers["x-request-id"],
        refused.headers["x-request-id"],
    ]
    first, second, third = request_lines
    assert {k: first[k] for k in ("operation", "method", "path", "status", "user_id")} == {
        "operation": "getMe",
        "method": "GET",
        "path": "/api/me",
        "status": 200,
        "user_id": user.id,
    }
    assert first["duration_ms"] > 0
    assert (second["operation"], second["path"], second["status"]) == ("listDashboards", "/api/dashboards", 200)
    assert (third["status"], third["user_id"]) == (401, None)
    written = json.dumps(request_lines)
    assert client.token not in written and "secret-search" not in written
