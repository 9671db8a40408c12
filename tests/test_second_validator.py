"""A second, independent validator: real traffic through Prism's validation proxy.

The suite's own checks validate answers with the same library Connexion validates requests with
(jsonschema over the spec Connexion resolved). Prism (`@stoplight/prism-cli`, pinned in
package.json and installed by `npm ci`) reads `openapi.yaml` on its own, with its own parser and
validator. Here it runs as `prism proxy openapi.yaml http://127.0.0.1:PORT/api --errors` in front
of a real `serve` process over a fresh SQLite store, and a frontend's session goes through it:
with `--errors` a request or an answer that breaks the spec comes back as a Prism problem document
(422 for a request, 500 for an answer, an `sl-violations` header naming each violation) instead of
the server's answer. A copy of the spec with one response field typed wrong shows that it would.

Prism matches request paths against the spec's `paths` without the `servers` prefix (`/api`), so
the proxy is addressed without it and the upstream URL carries it.
Independent of the test database, so these run in the SQLite pass only.
"""

import json
import os
import pathlib
import subprocess
import sys

import httpx
import pytest
import yaml

from tests.conftest import BACKEND
from tests.servers import LoggedProcess, Server, free_port

ROOT = pathlib.Path(__file__).resolve().parent.parent
PRISM = ROOT / "node_modules" / ".bin" / "prism"
PRISM_ERROR_TYPE = "https://stoplight.io/prism/errors#"

pytestmark = pytest.mark.skipif(BACKEND != "sqlite", reason="backend-independent; runs in the SQLite pass")


class Prism(LoggedProcess):
    """`prism proxy SPEC UPSTREAM --errors` on a free loopback port; its output goes to the log."""

    def __init__(self, spec, upstream, startup_s=60):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        # Any answer means it listens: the probe goes through the proxy to the upstream's /health.
        super().__init__(
            [
                str(PRISM),
                "proxy",
                str(spec),
                upstream,
                "--errors",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--verboseLevel",
                "warn",
            ],
            name="prism",
            probe_url=f"{self.base}/health",
            startup_s=startup_s,
        )

    def stop(self, timeout=10):
        super().stop(timeout)


def _prism_tool():
    if not PRISM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{PRISM} is missing: `npm ci` (make test runs it) installs it from package-lock.json")
        pytest.skip(f"{PRISM} is missing; run `npm ci`")


def _cli(*args, env):
    result = subprocess.run(
        [sys.executable, "-m", "cli", *args],
        env=env,
        cwd=ROOT,
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """A `serve` process over a fresh SQLite store, with an editor's token and a second user's id."""
    database_url = f"sqlite:///{tmp_path_factory.mktemp('prism') / 'live.db'}"
    env = {**os.environ, "DATABASE_URL": database_url}
    _cli("init", env=env)
    editor = json.loads(
        _cli(
            "create-user",
            "--org",
            "acme",
            "--project",
            "default",
            "--email",
            "ana@acme.io",
            "--role",
            "editor",
            env=env,
        )
    )
    viewer = json.loads(
        _cli(
            "create-user", "--org", "acme", "--project", "default", "--email", "bo@acme.io", "--role", "viewer", env=env
        )
    )
    server = Server(database_url)
    try:
        yield server, editor["token"], viewer["user_id"]
    finally:
        server.stop()


@pytest.fixture
def proxy_for():
    """Starts Prism over a given spec in front of a given server; stops every one it started."""
    _prism_tool()
    started = []

    def start(spec, server):
        started.append(Prism(spec, server.base))
        return started[-1]

    yield start
    for prism in started:
        prism.stop()


def _violations(response):
    """What Prism found wrong with one exchange: its header, and its problem document if it answered."""
    found = []
    if "sl-violations" in response.headers:
        found.append(response.headers["sl-violations"])
    if response.headers.get("content-type", "").startswith("application/problem+json"):
        body = response.json()
        if str(body.get("type", "")).startswith(PRISM_ERROR_TYPE):
            found.append(json.dumps(body))
    return found


def test_a_frontend_session_passes_prism_validation(live, proxy_for):
    server, token, other_user = live
    prism = proxy_for(ROOT / "openapi.yaml", server)
    auth = {"Authorization": f"Bearer {token}"}
    seen = []

    def call(method, path, status, *, headers=None, **kwargs):
        response = httpx.request(
            method, f"{prism.base}{path}", headers={**auth, **(headers or {})}, timeout=30, **kwargs
        )
        seen.append(f"{method} {path} {response.status_code}")
        assert not _violations(response), f"{method} {path}: Prism: {_violations(response)}"
        assert response.status_code == status, f"{method} {path}: {response.status_code} {response.text}"
        return response

    call("GET", "/health", 200)
    assert call("GET", "/me", 200).json()["user"]["email"] == "ana@acme.io"
    collection = call("POST", "/dashboards/collections", 201, json={"name": "Sales"}).json()
    call("GET", "/dashboards/collections", 200)

    dataset = call(
        "POST",
        "/datasets",
        201,
        json={
            "name": "Orders",
            "columns": [{"name": "region", "type": "string"}, {"name": "amount", "type": "number"}],
            "rows": [["EMEA", 120.5], ["APAC", 80.0]],
        },
    ).json()
    assert call("POST", f"/datasets/{dataset['id']}/rows", 200, json={"rows": [["AMER", 40.0]]}).json()
    rows = call("GET", f"/datasets/{dataset['id']}/rows", 200, params={"limit": 2})
    assert len(rows.json()["items"]) == 2
    call("GET", f"/datasets/{dataset['id']}", 200)
    call("GET", "/datasets", 200)

    dashboard = call(
        "POST",
        "/dashboards",
        201,
        json={
            "name": "Revenue",
            "collection_id": collection["id"],
            "parameters": [{"name": "region", "type": "string", "multiple": True, "default": ["EMEA", "APAC"]}],
        },
    ).json()
    base = f"/dashboards/{dashboard['id']}"
    text = call(
        "POST",
        f"{base}/cards",
        201,
        json={"card_type": "text", "config": {"markdown": "## Revenue"}, "layout": {"x": 0, "y": 0, "w": 12, "h": 2}},
    ).json()
    kpi = call(
        "POST",
        f"{base}/cards",
        201,
        json={
            "card_type": "kpi",
            "config": {
                "dataset_id": dataset["id"],
                "metric": {"agg": "sum", "column": "amount"},
                "label": "Revenue",
                "filters": [{"column": "region", "op": "in", "value": {"param": "region"}}],
            },
        },
    ).json()
    call("GET", f"{base}/cards/{kpi['id']}", 200)
    call("PATCH", f"{base}/cards/{text['id']}", 200, json={"config": {"markdown": "## Revenue by region"}})
    call("PATCH", f"{base}/layout", 200, json=[{"card_id": kpi["id"], "x": 12, "y": 0, "w": 12, "h": 4}])
    call("GET", "/dashboards", 200, params={"collection_id": collection["id"]})

    rendered = call("GET", f"{base}/render", 200, params=[("param[region]", "EMEA"), ("param[region]", "AMER")])
    assert rendered.json()["dashboard"]["parameters"] == {"region": ["EMEA", "AMER"]}
    tiles = {card["card_id"]: card for card in rendered.json()["cards"]}
    assert tiles[kpi["id"]]["data"]["value"] == pytest.approx(160.5)  # EMEA 120.5 + AMER 40
    by_body = call("POST", f"{base}/render", 200, json={"page": 1, "parameters": {"region": ["EMEA", "AMER"]}})
    assert by_body.content == rendered.content
    call(
        "POST",
        f"{base}/render",
        304,
        json={"parameters": {"region": ["EMEA", "AMER"]}},
        headers={"If-None-Match": rendered.headers["ETag"]},
    )
    one = call("POST", f"{base}/render", 200, json={"parameters": {"region": "APAC"}}).json()
    assert {card["card_id"]: card for card in one["cards"]}[kpi["id"]]["data"]["value"] == pytest.approx(80.0)

    share = call(
        "POST", f"{base}/shares", 201, json={"subject_type": "user", "subject_id": other_user, "access_level": "viewer"}
    ).json()
    call("GET", f"{base}/shares", 200)
    call("DELETE", f"{base}/shares/{share['id']}", 204)

    current = call("GET", base, 200)
    call("GET", base, 304, headers={"If-None-Match": current.headers["ETag"]})
    updated = call(
        "PATCH", base, 200, json={"default_audience": "public"}, headers={"If-Match": current.headers["ETag"]}
    ).json()
    stale = call("PATCH", base, 412, json={"name": "Too late"}, headers={"If-Match": current.headers["ETag"]})
    assert stale.json()["error"] == "precondition_failed"
    public = httpx.get(f"{prism.base}/public/dashboards/{updated['public_slug']}/render", timeout=30)
    assert public.status_code == 200 and not _violations(public)
    public_by_body = httpx.post(
        f"{prism.base}/public/dashboards/{updated['public_slug']}/render",
        json={"parameters": {"region": "EMEA"}},
        timeout=30,
    )
    assert public_by_body.status_code == 200 and not _violations(public_by_body), public_by_body.text

    missing = call("GET", "/dashboards/999999", 404)
    assert missing.headers["content-type"].startswith("application/problem+json")
    assert missing.json()["error"] == "dashboard_not_found"
    overflow = call("PATCH", f"{base}/layout", 422, json=[{"card_id": kpi["id"], "x": 20, "y": 0, "w": 12, "h": 4}])
    assert overflow.json()["error"] == "invalid_layout"

    assert len(seen) >= 25
    log = prism.log()
    assert "Violation" not in log and "error" not in log.lower(), log


def test_prism_refuses_a_request_that_breaks_the_spec(live, proxy_for):
    """Request validation is on: a body with a property the spec forbids never reaches the server."""
    server, token, _ = live
    prism = proxy_for(ROOT / "openapi.yaml", server)
    auth = {"Authorization": f"Bearer {token}"}
    response = httpx.post(
        f"{prism.base}/dashboards", headers=auth, json={"name": "Refused", "colour": "red"}, timeout=30
    )
    assert response.status_code == 422, response.text
    assert response.json()["type"].startswith(PRISM_ERROR_TYPE)
    assert {
        "location": ["body"],
        "severity": "Error",
        "code": "additionalProperties",
        "message": "Request body must NOT have additional properties; found 'colour'",
    } in response.json()["validation"]
    names = [d["name"] for d in httpx.get(f"{server.base}/dashboards", headers=auth, timeout=30).json()["items"]]
    assert "Refused" not in names


def test_prism_reports_an_answer_that_breaks_a_wrong_spec(live, proxy_for, tmp_path):
    """The check can fail: with `Dashboard.version` typed as a string in a copy of the spec, the
    server's real answer (an integer) is a violation Prism reports instead of passing it on."""
    server, token, _ = live
    spec = yaml.safe_load((ROOT / "openapi.yaml").read_text(encoding="utf-8"))
    spec["components"]["schemas"]["Dashboard"]["properties"]["version"]["type"] = "string"
    wrong = tmp_path / "openapi.yaml"
    wrong.write_text(json.dumps(spec), encoding="utf-8")  # JSON is YAML
    prism = proxy_for(wrong, server)
    auth = {"Authorization": f"Bearer {token}"}
    created = httpx.post(f"{server.base}/dashboards", headers=auth, json={"name": "Typed"}, timeout=30).json()
    response = httpx.get(f"{prism.base}/dashboards/{created['id']}", headers=auth, timeout=30)
    assert response.status_code == 500, response.text
    violations = response.json()["validation"]
    assert response.json()["type"].startswith(PRISM_ERROR_TYPE)
    assert {
        "location": ["response", "body", "version"],
        "severity": "Error",
        "code": "type",
        "message": "Response body property version must be string",
    } in violations
    assert "sl-violations" in response.headers
