"""Hostile input through HTTP: strict JSON, bounded error bodies, the headers every answer
carries, refused CORS preflights, and a large body that never holds up other requests."""

import asyncio
import json
import threading

import httpx
import pytest

import framework
from config import Settings
from tests.conftest import BASE, problem

COLUMNS = [{"name": "day", "type": "date"}, {"name": "amount", "type": "number"}]


@pytest.fixture
def editor(world):
    return world.user(role="editor")[1]


def post_raw(client, path, text):
    return client.post(path, content=text.encode(), headers={"Content-Type": "application/json"})


def dashboard_with_default(literal):
    return '{"name": "d", "parameters": [{"name": "p", "type": "number", "default": ' + literal + "}]}"


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e309", "-1e309"])
def test_non_finite_parameter_default_is_refused_and_nothing_stored(editor, literal):
    body = problem(post_raw(editor, "/dashboards", dashboard_with_default(literal)), 400, "invalid_request")
    assert [e["path"] for e in body["errors"]] == ["/parameters/0/default"]
    assert body["error_count"] == 1
    listing = editor.get("/dashboards")
    assert listing.json()["total"] == 0
    json.loads(listing.text, parse_constant=lambda c: pytest.fail(f"{c} in a response"))


def test_non_finite_values_are_named_one_by_one(editor):
    text = (
        '{"name": "s", "columns": ' + json.dumps(COLUMNS) + ', "rows": [["2026-01-01", 1.5], '
        '["2026-01-02", NaN], {"day": "2026-01-03", "amount": -Infinity}]}'
    )
    body = problem(post_raw(editor, "/datasets", text), 400, "invalid_request")
    assert [e["path"] for e in body["errors"]] == ["/rows/1/1", "/rows/2/amount"]
    assert editor.get("/datasets").json()["total"] == 0


def test_pointers_escape_slash_and_tilde(editor):
    text = '{"name": "d", "parameters": [], "a/b~c": NaN}'
    body = problem(post_raw(editor, "/dashboards", text), 400, "invalid_request")
    assert body["errors"][0]["path"] == "/a~1b~0c"


def test_integer_over_the_digit_limit_is_400_not_500(editor):
    body = problem(post_raw(editor, "/dashboards", dashboard_with_default("9" * 5000)), 400, "invalid_request")
    assert body["errors"][0]["path"] == "/parameters/0/default"
    assert len(body["errors"][0]["message"]) <= 300
    assert editor.get("/dashboards").json()["total"] == 0


@pytest.mark.parametrize("depth", [framework.MAX_JSON_DEPTH + 1, 1_000, 20_000])
def test_deep_nesting_is_400_not_500(editor, depth):
    text = '{"name": "d", "description": ' + "[" * depth + "]" * depth + "}"
    body = problem(post_raw(editor, "/dashboards", text), 400, "invalid_request")
    assert "nested deeper" in body["errors"][0]["message"]


def test_nesting_within_the_limit_reaches_the_schema(editor):
    depth = framework.MAX_JSON_DEPTH - 2
    text = '{"name": "d", "description": ' + "[" * depth + "]" * depth + "}"
    body = problem(post_raw(editor, "/dashboards", text), 400, "invalid_request")
    assert [e["path"] for e in body["errors"]] == ["/description"]


def test_rows_that_are_not_arrays_or_objects_are_invalid_rows(editor):
    dataset = editor.post("/datasets", json={"name": "s", "columns": COLUMNS}).json()
    response = editor.post(f"/datasets/{dataset['id']}/rows", json={"rows": [["2026-01-01", 1], 5, "x"]})
    body = problem(response, 422, "invalid_rows")
    assert [e["path"] for e in body["errors"]] == ["/rows/1", "/rows/2"]
    assert editor.get(f"/datasets/{dataset['id']}").json()["row_count"] == 0


def test_an_array_over_its_max_items_is_one_error_not_one_per_element():
    validator = framework.BodySchemaValidator({"type": "array", "maxItems": 2, "items": {"type": "string"}})
    errors = list(validator.iter_errors([1, 2, 3]))
    assert [(e.validator, e.message) for e in errors] == [("maxItems", "has 3 items, more than the maximum of 2")]


def test_error_list_is_capped_with_its_total(editor):
    dashboard = editor.post("/dashboards", json={"name": "d"}).json()
    params = {f"param[n{i}]": "x" for i in range(2_000)}
    response = editor.get(f"/dashboards/{dashboard['id']}/render", params=params)
    body = problem(response, 400, "invalid_parameter")
    assert len(body["errors"]) == framework.MAX_ERRORS and body["error_count"] == 2_000
    assert len(response.content) < 20_000


def test_messages_and_detail_are_capped(editor):
    response = editor.post("/dashboards", json={"name": "x" * 60_000})
    body = problem(response, 400, "invalid_request")
    assert body["errors"][0]["path"] == "/name"
    assert len(body["errors"][0]["message"]) <= framework.MAX_MESSAGE_CHARS
    assert len(response.content) < 2_000


def test_unknown_body_fields_in_bulk_stay_small(editor):
    fields = {f"field_{i}": i for i in range(3_000)}
    response = editor.post("/dashboards", json={"name": "d", **fields})
    body = problem(response, 400, "invalid_request")
    assert len(body["errors"]) == framework.MAX_ERRORS  # one per field, each at its own pointer
    assert all(
        e["path"].startswith("/field_") and f"'{e['path'][1:]}' was unexpected" in e["message"] for e in body["errors"]
    )
    assert len(response.content) < 8_000


def test_response_with_a_non_finite_number_is_a_logged_500(editor, monkeypatch, caplog):
    monkeypatch.setattr("handlers.serializers.sorted", lambda values: [float("nan")], raising=False)
    response = editor.get("/me")
    problem(response, 500, "internal_error")
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "NaN" not in response.text
    assert "Out of range float values are not JSON compliant" in caplog.text


# --- Headers


def test_every_answer_says_nosniff(editor, world, http):
    answers = [
        editor.get("/me"),
        editor.get("/no/such/route"),
        world.anonymous().get("/me"),
        http.get(f"{BASE}/openapi.json"),
        http.get(f"{BASE}/ui/"),
    ]
    assert [a.headers.get("x-content-type-options") for a in answers] == ["nosniff"] * len(answers)
    assert all("server" not in a.headers for a in answers)


def test_authenticated_answers_are_private_and_errors_not_stored(editor, world):
    assert editor.get("/me").headers["cache-control"] == "private, no-cache"
    assert editor.get("/dashboards/999999").headers["cache-control"] == "no-store"
    assert world.anonymous().get("/me").headers["cache-control"] == "no-store"


def test_public_render_may_be_cached_but_is_revalidated(editor, world):
    created = editor.post("/dashboards", json={"name": "p", "default_audience": "public"}).json()
    slug = editor.get(f"/dashboards/{created['id']}").json()["public_slug"]
    anonymous = world.anonymous()
    first = anonymous.get(f"/public/dashboards/{slug}/render")
    assert first.status_code == 200 and first.headers["cache-control"] == "public, no-cache"
    again = anonymous.get(f"/public/dashboards/{slug}/render", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.headers["cache-control"] == "public, no-cache"
    missing = anonymous.get("/public/dashboards/" + "x" * 20 + "/render")
    problem(missing, 404, "public_dashboard_not_found")
    assert missing.headers["cache-control"] == "no-store"


# --- CORS


@pytest.fixture(scope="module")
def cors_http(store, database_url):
    from starlette.testclient import TestClient

    from app import create_app

    settings = Settings(
        database_url=database_url,
        cors_origins=("https://app.example",),
        cors_allow_headers=("Authorization", "Content-Type", "X-Trace"),
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client


def preflight(client, origin, header="Authorization"):
    return client.options(
        f"{BASE}/dashboards",
        headers={"Origin": origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": header},
    )


def test_allowed_preflight_names_the_configured_headers(cors_http):
    response = preflight(cors_http, "https://app.example", "X-Trace")
    assert response.status_code == 200
    assert "x-trace" in response.headers["access-control-allow-headers"].lower()
    assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    "origin, header", [("https://evil.example", "Authorization"), ("https://app.example", "If-Match")]
)
def test_refused_preflight_is_a_problem_document(cors_http, origin, header):
    response = preflight(cors_http, origin, header)
    body = problem(response, 400, "cors_refused")
    assert "Disallowed CORS" in body["detail"]
    assert response.headers["cache-control"] == "no-store"


def test_cors_allow_headers_is_read_from_the_environment():
    assert Settings.from_env({}).cors_allow_headers == ("Authorization", "Content-Type", "If-Match", "If-None-Match")
    assert Settings.from_env({"CORS_ALLOW_HEADERS": "Authorization, X-Trace"}).cors_allow_headers == (
        "Authorization",
        "X-Trace",
    )


# --- The event loop


def test_a_large_body_being_checked_does_not_hold_up_a_light_request(world, app, monkeypatch):
    """The large body's check is held in its worker thread until the light request has been
    answered: were the check on the event loop, the light request could not be answered first."""
    _, client = world.user(role="editor")
    token = client.token
    check, checking, release = framework.BodyValidator._check, threading.Event(), threading.Event()
    events = []

    def held_check(self, raw):
        checking.set()
        release.wait(timeout=30)
        events.append("large body checked")
        return check(self, raw)

    monkeypatch.setattr(framework.BodyValidator, "_check", held_check)
    rows = [["2026-01-01", 1.5]] * 3_000
    assert len(json.dumps(rows)) > framework.INLINE_BODY_BYTES

    async def scenario():
        transport = httpx.ASGITransport(app=app)
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as api:
            large = asyncio.create_task(
                api.post(f"{BASE}/datasets", headers=headers, json={"name": "big", "columns": COLUMNS, "rows": rows})
            )
            await asyncio.to_thread(checking.wait, 30)
            light = await api.get(f"{BASE}/me", headers=headers)
            events.append(f"light answered {light.status_code}")
            release.set()
            answer = await large
            events.append(f"large answered {answer.status_code}")

    asyncio.run(scenario())
    assert events == ["light answered 200", "large body checked", "large answered 201"]
    assert client.get("/datasets").json()["items"][0]["row_count"] == 3_000


def test_a_large_body_is_parsed_only_for_a_known_caller(world, editor):
    """A made-up token of the right shape is 401 before a large body is parsed; a known caller's
    large body is parsed and checked (here: it is not JSON)."""
    from tests.conftest import ApiClient

    stranger = ApiClient(world.http, "dba_" + "A" * 43)
    not_json = "[" + "x" * (framework.INLINE_BODY_BYTES + 1)
    problem(post_raw(stranger, "/datasets", not_json), 401, "unauthenticated")
    assert (
        problem(post_raw(editor, "/datasets", not_json), 400, "invalid_request")["detail"]
        == "The body is not valid JSON."
    )


def test_writes_fill_their_lane_and_reads_pass_them(world, app, monkeypatch):
    """Writes run REQUEST_THREADS at a time (one more waits for a thread of the write lane) and
    reads have a lane of their own: writes held on their threads hold up no read."""
    _, writer = world.user(role="editor")
    _, reader = world.user(role="viewer")
    lane = Settings().request_threads
    caller, release, started, events = framework.caller, threading.Event(), threading.Semaphore(0), []

    def held_caller(token):  # runs on the request's thread, before a write takes the store's lock
        who = "read" if token == reader.token else "write"
        events.append(f"{who} on a thread")
        if who == "write" and not release.is_set():
            started.release()
            release.wait(timeout=30)
        return caller(token)

    monkeypatch.setattr(framework, "caller", held_caller)

    async def scenario():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as api:
            writes = [
                asyncio.create_task(
                    api.post(
                        f"{BASE}/dashboards/collections",
                        json={"name": f"c{n}"},
                        headers={"Authorization": f"Bearer {writer.token}"},
                    )
                )
                for n in range(lane + 1)
            ]
            for _ in range(lane):
                await asyncio.to_thread(started.acquire, timeout=30)
            await asyncio.sleep(0.2)  # time for a write past the lane to reach a thread, were it let
            read = await api.get(f"{BASE}/me", headers={"Authorization": f"Bearer {reader.token}"})
            events.append(f"read answered {read.status_code}")
            release.set()
            for write in writes:
                events.append(f"write answered {(await write).status_code}")

    asyncio.run(scenario())
    assert events[: lane + 2] == ["write on a thread"] * lane + ["read on a thread", "read answered 200"]
    assert sorted(events[lane + 2 :]) == ["write answered 201"] * (lane + 1) + ["write on a thread"]
    assert len(writer.get("/dashboards/collections").json()["items"]) == lane + 1


def test_long_running_handlers_leave_the_lanes_free(world, app, monkeypatch):
    """Renders (card queries under their time budget) run on the shared pool: more renders in
    flight than a lane has threads hold up neither reads nor writes."""
    _, client = world.user(role="editor")
    headers = {"Authorization": f"Bearer {client.token}"}
    dashboard = client.post("/dashboards", json={"name": "Slow cards"}).json()
    many = Settings().request_threads * 2 + 1
    state, release, started, events = render_module().Renderer.state, threading.Event(), threading.Semaphore(0), []

    def held_render(self, *args, **kwargs):  # a render's first read of the store, held
        started.release()
        release.wait(timeout=30)
        return state(self, *args, **kwargs)

    monkeypatch.setattr(render_module().Renderer, "state", held_render)

    async def scenario():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as api:
            renders = [
                asyncio.create_task(api.get(f"{BASE}/dashboards/{dashboard['id']}/render", headers=headers))
                for _ in range(many)
            ]
            for _ in range(many):
                await asyncio.to_thread(started.acquire, timeout=30)
            read = await api.get(f"{BASE}/dashboards/{dashboard['id']}", headers=headers)
            write = await api.post(f"{BASE}/dashboards/collections", headers=headers, json={"name": "c"})
            events.append(f"read {read.status_code}, write {write.status_code}, renders held")
            release.set()
            for task in renders:
                events.append(f"render {(await task).status_code}")

    asyncio.run(scenario())
    assert events == ["read 200, write 201, renders held"] + ["render 200"] * many


def render_module():
    from models import render

    return render
