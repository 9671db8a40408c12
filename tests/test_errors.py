"""Every error is a problem document with the right status and code, the framework's own included."""

import logging

import pytest

from tests.conftest import problem


@pytest.fixture
def editor(world):
    return world.user(role="editor")[1]


def test_unknown_route_is_not_found(editor):
    body = problem(editor.get("/no/such/route"), 404, "not_found")
    assert body["type"] == "about:blank" and body["title"]


@pytest.mark.parametrize(
    "path,errors",
    [
        ("/dashboards/abc", [("/path/dashboard_id", "'abc' is not of type 'integer'")]),
        ("/dashboards/1.5", [("/path/dashboard_id", "'1.5' is not of type 'integer'")]),
        ("/dashboards/collections/null,null", [("/path/collection_id", "'null,null' is not of type 'integer'")]),
        (
            "/dashboards/x/cards/y",
            [("/path/dashboard_id", "'x' is not of type 'integer'"), ("/path/card_id", "'y' is not of type 'integer'")],
        ),
        ("/dashboards/1%0A", [("/path/dashboard_id", "'1\\n' is not of type 'integer'")]),
        (
            "/public/dashboards/abc%0Adef/render",
            [("/path/slug", "'abc\\ndef' does not match '^[A-Za-z0-9_-]{16,64}$'")],
        ),
    ],
)
def test_a_path_parameter_the_router_cannot_take_is_invalid_request_as_one_out_of_range_is(editor, path, errors):
    """The router routes an integer path parameter only when it looks like one, and no path with
    a line break; the operation's path with such a parameter is the operation's 400, as `-1`
    is, not an unknown route."""
    body = problem(editor.get(path), 400, "invalid_request")
    assert [(e["path"], e["message"]) for e in body["errors"]] == errors
    body = problem(editor.get("/dashboards/-1"), 400, "invalid_request")
    assert [e["path"] for e in body["errors"]] == ["/path/dashboard_id"]


def test_a_path_without_the_method_is_still_unknown(editor):
    """No operation answers PUT there, whatever the id: the route is unknown."""
    problem(editor.put("/dashboards/abc", json={}), 404, "not_found")
    problem(editor.get("/dashboards/abc/nothing"), 404, "not_found")


def test_wrong_method_lists_every_method_of_the_path(editor):
    response = editor.put("/dashboards/collections", json={})
    problem(response, 405, "method_not_allowed")
    assert set(response.headers["allow"].split(", ")) == {"GET", "POST"}


def test_schema_violation_is_invalid_request_with_every_field(editor):
    body = problem(editor.post("/dashboards", json={"name": "", "colour": "red"}), 400, "invalid_request")
    assert {e["path"] for e in body["errors"]} == {"/colour", "/name"}


def test_unknown_body_field_is_at_its_own_pointer(editor):
    body = problem(editor.post("/dashboards", json={"name": "d", "bogus": 1}), 400, "invalid_request")
    assert body["errors"] == [
        {"path": "/bogus", "message": "Additional properties are not allowed ('bogus' was unexpected)"}
    ]
    assert body["error_count"] == 1
    assert editor.get("/dashboards").json()["total"] == 0


def test_unknown_nested_body_fields_are_at_their_own_pointers(editor):
    dashboard = editor.post("/dashboards", json={"name": "d"}).json()
    card = {"card_type": "text", "config": {"markdown": "hi"}, "layout": {"x": 0, "y": 0, "w": 4, "h": 2, "bogus": 1}}
    body = problem(editor.post(f"/dashboards/{dashboard['id']}/cards", json=card), 400, "invalid_request")
    assert [e["path"] for e in body["errors"]] == ["/layout/bogus"]
    parameters = [{"name": "p", "type": "string"}, {"name": "q", "type": "string", "colour": "red", "a/b~c": 1}]
    body = problem(editor.post("/dashboards", json={"name": "d", "parameters": parameters}), 400, "invalid_request")
    assert [e["path"] for e in body["errors"]] == ["/parameters/1/a~1b~0c", "/parameters/1/colour"]


def test_several_unknown_fields_are_one_error_each_beside_the_others(editor):
    """Each unknown field is its own error at its own pointer; the other errors keep theirs."""
    payload = {"name": 5, "colour": "red", "size": 2, "parameters": [{"name": "P", "type": "string", "shade": 1}]}
    body = problem(editor.post("/dashboards", json=payload), 400, "invalid_request")
    assert {(e["path"], e["message"]) for e in body["errors"]} == {
        ("/colour", "Additional properties are not allowed ('colour' was unexpected)"),
        ("/size", "Additional properties are not allowed ('size' was unexpected)"),
        ("/name", "5 is not of type 'string'"),
        ("/parameters/0/name", "'P' does not match '^[a-z][a-z0-9_]{0,62}$'"),
        ("/parameters/0/shade", "Additional properties are not allowed ('shade' was unexpected)"),
    }
    assert body["error_count"] == 5


def test_query_parameter_violation_names_the_parameter(editor):
    body = problem(editor.get("/dashboards", params={"limit": 500}), 400, "invalid_request")
    assert body["errors"] == [{"path": "/query/limit", "message": "500 is greater than the maximum of 200"}]


def test_unknown_query_parameter_is_rejected(editor):
    body = problem(editor.get("/dashboards", params={"colour": "red"}), 400, "invalid_request")
    assert body["errors"][0]["path"] == "/query/colour"


@pytest.mark.parametrize("payload", [b"{not json", b"\xff\xfe{}", b'{"name": "\\ud800"}'])
def test_undecodable_body_is_invalid_request(editor, payload):
    response = editor.post("/dashboards", content=payload, headers={"Content-Type": "application/json"})
    problem(response, 400, "invalid_request")


def test_wrong_media_type_is_415(editor):
    response = editor.post("/dashboards", content=b"name=x", headers={"Content-Type": "text/plain"})
    problem(response, 415, "unsupported_media_type")


def test_body_over_the_limit_is_413_and_stores_nothing(editor):
    response = editor.post("/dashboards", json={"name": "big", "description": "x" * 70_000})
    problem(response, 413, "payload_too_large")
    assert editor.get("/dashboards").json()["total"] == 0


def test_unhandled_error_is_500_without_a_trace(editor, monkeypatch, caplog):
    def explode(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr("models.content.Dashboard.create_with_first_page", explode)
    with caplog.at_level(logging.ERROR, logger="dashboards_api"):
        response = editor.post("/dashboards", json={"name": "boom"})
    body = problem(response, 500, "internal_error")
    assert "secret" not in response.text and "Traceback" not in response.text
    assert "secret internals" in caplog.text
    assert body["detail"]


def test_missing_token_is_401_with_challenge(world):
    response = world.anonymous().get("/me")
    problem(response, 401, "unauthenticated")
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("header", ["Bearer nope", "Basic dXNlcjpwYXNz", "Bearer", "Token abc"])
def test_bad_token_is_401(world, header):
    response = world.anonymous().get("/me", headers={"Authorization": header})
    problem(response, 401, "unauthenticated")
