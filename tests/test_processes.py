"""The service as real processes: a clean shutdown on SIGTERM, metrics summed over `--workers`,
and two servers over one PostgreSQL store acting as one service."""

import json
import signal
import socket
import threading

import httpx
import pytest

from models.content import Dashboard
from tests.conftest import BACKEND, SPEC
from tests.servers import Server
from tests.test_operations import sample


@pytest.fixture
def servers(database_url):
    """Starts servers over the test store; every one is stopped when the test ends."""
    started = []

    def start(**kwargs):
        started.append(Server(database_url, **kwargs))
        return started[-1]

    yield start
    for server in started:
        server.stop()


def _call(base, token, method, path, **kwargs):
    headers = {"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}
    return httpx.request(method, base + path, headers=headers, timeout=30, **kwargs)


def test_sigterm_lets_a_request_in_flight_finish(world, servers):
    user, client = world.user(role="editor")
    server = servers()
    body = json.dumps({"name": "Finished after SIGTERM"}).encode()
    head = (
        f"POST /api/dashboards HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {client.token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nX-Request-ID: in-flight-1\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as connection:
        connection.sendall(head.encode() + body[:10])  # the app now waits for the rest of the body
        for _ in range(150):
            metrics = httpx.get(f"{server.base}/metrics", timeout=5).text
            if sample(metrics, "dashboards_api_requests_in_flight") >= 2:  # ours and this scrape
                break
        else:
            pytest.fail("the request never reached the app")
        server.terminate()
        connection.sendall(body[10:])
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            chunk = connection.recv(65536)
            if not chunk:
                break
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 201 "), answer
    # uvicorn re-raises the signal once it has shut down cleanly, as a supervisor expects.
    assert server.process.wait(timeout=30) in (0, -signal.SIGTERM)
    assert Dashboard.get(Dashboard.name == "Finished after SIGTERM").owner_id == user.id
    lines = [json.loads(line) for line in server.log().splitlines() if line.startswith("{")]
    assert {"request_id": "in-flight-1", "status": 201, "user_id": user.id}.items() <= next(
        line for line in lines if line["request_id"] == "in-flight-1"
    ).items()


def test_serve_workers_sums_metrics_over_its_processes(world, servers):
    _, client = world.user()
    server = servers(workers=2)
    for _ in range(12):
        assert _call(server.base, client.token, "GET", "/me").status_code == 200
    scrapes = [httpx.get(f"{server.base}/metrics", timeout=5).text for _ in range(4)]
    for text in scrapes:  # whichever worker answers the scrape counts every worker's requests
        assert sample(text, "dashboards_api_requests_total", operation="getMe", status="200") == 12


@pytest.mark.skipif(BACKEND != "postgresql", reason="many processes share one store on PostgreSQL")
def test_two_processes_over_one_postgresql_store_act_as_one_service(world, servers):
    owner, editor = world.user(role="editor")
    viewer, viewer_client = world.user(org=owner.org)
    a, b = servers(), servers()
    token = editor.token

    # Concurrent If-Match writers, one through each process: exactly one wins each round.
    dashboard = _call(a.base, token, "POST", "/dashboards", json={"name": "Shared"}).json()
    path = f"/dashboards/{dashboard['id']}"
    for round_ in range(5):
        tag = _call(b.base, token, "GET", path).headers["etag"]
        barrier, answers = threading.Barrier(2), {}

        def write(server, name, barrier=barrier, answers=answers, tag=tag):
            barrier.wait()
            answers[name] = _call(
                server.base, token, "PATCH", path, json={"name": name}, headers={"If-Match": tag}
            ).status_code

        writers = [
            threading.Thread(target=write, args=(server, f"{key}{round_}")) for key, server in (("a", a), ("b", b))
        ]
        for thread in writers:
            thread.start()
        for thread in writers:
            thread.join(timeout=60)
        assert sorted(answers.values()) == [200, 412], answers
        winner = next(name for name, status in answers.items() if status == 200)
        assert _call(a.base, token, "GET", path).json()["name"] == winner
    assert _call(a.base, token, "GET", path).json()["version"] == dashboard["version"] + 5

    # Rows appended through one process are rendered by the other on the next request.
    dataset = _call(
        a.base,
        token,
        "POST",
        "/datasets",
        json={"name": "Sales", "columns": [{"name": "amount", "type": "number"}], "rows": [[1.0], [2.0]]},
    ).json()
    card = _call(
        a.base,
        token,
        "POST",
        f"{path}/cards",
        json={
            "card_type": "kpi",
            "config": {"dataset_id": dataset["id"], "metric": {"agg": "sum", "column": "amount"}},
        },
    )
    assert card.status_code == 201, card.text

    def rendered_sum():
        answer = _call(b.base, token, "GET", f"{path}/render").json()
        return next(c for c in answer["cards"] if c["card_id"] == card.json()["id"])["data"]["value"]

    assert rendered_sum() == pytest.approx(3.0)
    appended = _call(a.base, token, "POST", f"/datasets/{dataset['id']}/rows", json={"rows": [[4.0]]})
    assert appended.status_code in (200, 201), appended.text
    assert rendered_sum() == pytest.approx(7.0)

    # A share revoked through one process is enforced by the other at once.
    share = _call(
        a.base,
        token,
        "POST",
        f"{path}/shares",
        json={"subject_type": "user", "subject_id": viewer.id, "access_level": "viewer"},
    )
    assert share.status_code in (200, 201), share.text
    assert _call(b.base, viewer_client.token, "GET", path).status_code == 200
    assert _call(a.base, token, "DELETE", f"{path}/shares/{share.json()['id']}").status_code == 204
    refused = _call(b.base, viewer_client.token, "GET", path)
    assert (refused.status_code, refused.json()["error"]) == (404, "dashboard_not_found")


def _raw_answer(port, request):
    """The answer to raw bytes on a new connection (httpx refuses URLs over 64 KB itself):
    (the status line and headers, lowercased; the body)."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        connection.sendall(request)
        answer = b""
        while b"\r\n\r\n" not in answer or len(answer.partition(b"\r\n\r\n")[2]) < _length(answer):
            chunk = connection.recv(65536)
            if not chunk:
                break
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    return head.decode("latin-1").lower(), body


def _length(answer):
    for line in answer.partition(b"\r\n\r\n")[0].split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 0


def test_what_the_http_parser_refuses_is_a_problem_document(world, servers):
    """A request target up to 65,535 bytes reaches the app; a longer one is 414 `uri_too_long`
    from the HTTP server itself, and malformed HTTP is 400 `invalid_request`: problem documents
    with the headers of every answer, logged and counted (operation `unrouted`), as the spec says."""
    _, client = world.user(role="editor")
    dashboard = client.post(
        "/dashboards", json={"name": "Long", "parameters": [{"name": "tag", "type": "string", "multiple": True}]}
    ).json()
    server = servers()
    prefix = f"/api/dashboards/{dashboard['id']}/render?"
    values = ["v" * 1000 for _ in range(64)]
    target = prefix + "&".join(f"param[tag]={value}" for value in values)
    values.append("w" * (65_535 - len(target) - len("&param[tag]=")))
    target = prefix + "&".join(f"param[tag]={value}" for value in values)
    assert len(target) == 65_535 and len(values[-1]) <= 1000

    def get(target):
        return _raw_answer(
            server.port,
            (
                f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Authorization: Bearer {client.token}\r\nConnection: close\r\n\r\n"
            ).encode(),
        )

    head, longest = get(target)
    assert head.startswith("http/1.1 200 "), head
    assert json.loads(longest)["dashboard"]["parameters"] == {"tag": values}
    by_body = _call(
        server.base, client.token, "POST", f"/dashboards/{dashboard['id']}/render", json={"parameters": {"tag": values}}
    )
    assert by_body.status_code == 200 and by_body.content == longest

    # Refused as the target arrives, before the rest of the request (here never sent) is read.
    head, body = _raw_answer(server.port, f"GET {target}w".encode())
    assert head.startswith("http/1.1 414 "), head
    fields = dict(line.split(": ", 1) for line in head.split("\r\n")[1:])
    assert fields["content-type"] == "application/problem+json"
    assert fields["x-content-type-options"] == "nosniff" and fields["cache-control"] == "no-store"
    # The answer the spec gives as its example, on every operation that lists it.
    for path in ("/dashboards/{dashboard_id}/render", "/public/dashboards/{slug}/render"):
        answer = SPEC["paths"][path]["get"]["responses"]["414"]["$ref"].rsplit("/", 1)[-1]
        assert (
            json.loads(body)
            == SPEC["components"]["responses"][answer]["content"]["application/problem+json"]["example"]
        )

    head, body = _raw_answer(server.port, b"NOT HTTP AT ALL\r\n\r\n")
    assert head.startswith("http/1.1 400 ") and "content-type: application/problem+json" in head
    assert json.loads(body)["error"] == "invalid_request"

    assert _call(server.base, client.token, "GET", "/me").status_code == 200  # the server goes on
    metrics = httpx.get(f"{server.base}/metrics", timeout=5).text
    assert sample(metrics, "dashboards_api_requests_total", operation="unrouted", status="414") == 1
    assert sample(metrics, "dashboards_api_requests_total", operation="unrouted", status="400") == 1
    lines = [json.loads(line) for line in server.log().splitlines() if line.startswith("{")]
    refused = next(line for line in lines if line.get("request_id") == fields["x-request-id"])
    assert {
        "operation": "unrouted",
        "method": "GET",
        "status": 414,
        "path": f"/api/dashboards/{dashboard['id']}/render",
    }.items() <= refused.items()
