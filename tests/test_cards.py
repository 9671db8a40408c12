"""Cards: add, change, move, duplicate, delete; config checks against the project's data; palette."""

import pytest

from models.card_types import CARD_TYPES, DEFAULT_SIZES
from models.datasets import Dataset
from tests.conftest import SPEC, problem

TEXT = {"card_type": "text", "config": {"markdown": "hi"}}


@pytest.fixture
def editor(world):
    return world.user(role="editor")


@pytest.fixture
def board(editor):
    """A dashboard with a `region` parameter, and its URL."""
    _, client = editor
    body = client.post("/dashboards", json={"name": "D", "parameters": [{"name": "region", "type": "string"}]}).json()
    return client, body, f"/dashboards/{body['id']}"


def add(client, url, status=201, **body):
    response = client.post(f"{url}/cards", json={**TEXT, **body})
    assert response.status_code == status, response.text
    return response.json()


def stored(client, url):
    return client.get(url).json()


def test_palette_publishes_every_type_with_schema_and_size(editor):
    _, client = editor
    items = client.get("/card-types").json()["items"]
    assert [item["card_type"] for item in items] == list(CARD_TYPES)
    for item in items:
        assert item["schema"]["type"] == "object"
        assert (item["title"], item["description"]) == (item["schema"]["title"], item["schema"]["description"])
        assert item["default_size"] == DEFAULT_SIZES[item["card_type"]]._asdict()
    assert SPEC["components"]["schemas"]["CardType"]["enum"] == list(CARD_TYPES)


def test_add_without_layout_takes_default_size_at_first_free_spot(board):
    client, _, url = board
    response = client.post(f"{url}/cards", json=TEXT)
    first = response.json()
    assert response.headers["location"] == f"/api{url}/cards/{first['id']}"
    assert response.headers["etag"] == '"2"'
    assert (first["page"], first["layout"]) == (1, {"x": 0, "y": 0, "w": 12, "h": 4})
    assert add(client, url)["layout"] == {"x": 12, "y": 0, "w": 12, "h": 4}
    assert add(client, url, card_type="kpi", config={"dataset_id": 1, "metric": {"agg": "count"}}, status=422)
    assert add(client, url)["layout"] == {"x": 0, "y": 4, "w": 12, "h": 4}
    assert client.get(f"{url}/cards/{first['id']}").json() == first
    assert [c["id"] for c in stored(client, url)["cards"]][0] == first["id"]


def test_add_onto_an_occupied_spot_names_the_conflict(board):
    client, _, url = board
    first = add(client, url, layout={"x": 0, "y": 0, "w": 6, "h": 2})
    body = problem(
        client.post(f"{url}/cards", json={**TEXT, "layout": {"x": 4, "y": 1, "w": 6, "h": 2}}),
        409,
        "card_position_conflict",
    )
    assert body["conflicts"] == [{"card_id": None, "other_card_id": first["id"]}]
    body = problem(
        client.post(f"{url}/cards", json={**TEXT, "layout": {"x": 20, "y": 0, "w": 6, "h": 2}}), 422, "invalid_layout"
    )
    assert [e["path"] for e in body["errors"]] == ["/layout/w"]
    problem(client.post(f"{url}/cards", json={**TEXT, "page": 2}), 422, "page_not_found")
    assert len(stored(client, url)["cards"]) == 1 and stored(client, url)["version"] == 2


def test_config_must_name_what_exists_in_the_project(board, world, editor):
    client, dashboard, url = board
    user, _ = editor
    dataset = Dataset.create(
        project=world.project(user.org),
        name="sales",
        columns=[{"name": "amount", "type": "number", "key": "c0"}, {"name": "region", "type": "string", "key": "c1"}],
    )
    other = Dataset.create(project=world.project(world.org()), name="theirs", columns=[])
    good = {
        "dataset_id": dataset.id,
        "metric": {"agg": "sum", "column": "amount"},
        "filters": [{"column": "region", "op": "eq", "value": {"param": "region"}}],
    }
    assert add(client, url, card_type="kpi", config=good)["config"] == good
    bad = {
        "dataset_id": dataset.id,
        "metric": {"agg": "sum", "column": "nope"},
        "filters": [{"column": "region", "op": "eq", "value": {"param": "missing"}}],
    }
    body = problem(client.post(f"{url}/cards", json={"card_type": "kpi", "config": bad}), 422, "invalid_card_config")
    assert [e["path"] for e in body["errors"]] == ["/config/metric/column", "/config/filters/0/value/param"]
    body = problem(
        client.post(f"{url}/cards", json={"card_type": "kpi", "config": {**good, "dataset_id": other.id}}),
        422,
        "invalid_card_config",
    )
    assert [e["path"] for e in body["errors"]] == ["/config/dataset_id"]
    body = problem(client.post(f"{url}/cards", json={"card_type": "text", "config": {}}), 422, "invalid_card_config")
    assert body["errors"] == [{"path": "/config/markdown", "message": "'markdown' is a required property"}]
    problem(client.post(f"{url}/cards", json={"card_type": "map", "config": {}}), 400, "invalid_request")
    assert len(stored(client, url)["cards"]) == 1


TYPES = "['text', 'image', 'kpi', 'chart', 'table', 'detail', 'filter']"


@pytest.mark.parametrize(
    "method, body, path, message",
    [
        ("POST", {"config": {"markdown": "x"}}, "/card_type", "'card_type' is a required property"),
        ("POST", {"card_type": "map", "config": {}}, "/card_type", f"'map' is not one of {TYPES}"),
        (
            "POST",
            {**TEXT, "layout": {"x": 30, "y": 0, "w": 1, "h": 1}},
            "/layout/x",
            "30 is greater than the maximum of 23",
        ),
        ("POST", {**TEXT, "bogus": 1}, "/bogus", "Additional properties are not allowed ('bogus' was unexpected)"),
        ("POST", {"card_type": "kpi"}, "/config", "'config' is a required property"),
        ("POST", [TEXT], "", "[{'card_type': 'text', 'config': {'mark… is not of type 'object'"),
        ("PATCH", {"card_type": "map", "config": {}}, "/card_type", f"'map' is not one of {TYPES}"),
        ("PATCH", {"layout": {"x": 0, "y": 0, "w": 25, "h": 1}}, "/layout/w", "25 is greater than the maximum of 24"),
        (
            "PATCH",
            {"card_type": "text", "config": {"markdown": "x"}, "page": 0},
            "/page",
            "0 is less than the minimum of 1",
        ),
    ],
)
def test_a_card_body_is_checked_against_the_member_of_its_card_type(board, method, body, path, message):
    """The card bodies are a oneOf with one member per card type; a body that fits none is told
    against the member its `card_type` names (or the one without a type), at the field's pointer."""
    client, _, url = board
    card = add(client, url)
    target = f"{url}/cards" if method == "POST" else f"{url}/cards/{card['id']}"
    body = problem(client.request(method, target, json=body), 400, "invalid_request")
    assert body["errors"] == [{"path": path, "message": message}]


def test_patch_changes_only_what_is_sent_and_revalidates(board):
    client, _, url = board
    card = add(client, url)
    other = add(client, url)
    changed = client.patch(f"{url}/cards/{card['id']}", json={"config": {"markdown": "new"}})
    assert changed.headers["etag"] == '"4"'
    assert changed.json()["config"] == {"markdown": "new"} and changed.json()["layout"] == card["layout"]
    # A new card_type comes with a config of that type: the spec says so (400), the config's
    # fit is checked as a new card's is (422).
    body = problem(client.patch(f"{url}/cards/{card['id']}", json={"card_type": "kpi"}), 400, "invalid_request")
    assert body["errors"] == [{"path": "/config", "message": "'config' is a required property"}]
    body = problem(
        client.patch(f"{url}/cards/{card['id']}", json={"card_type": "kpi", "config": {"markdown": "x"}}),
        422,
        "invalid_card_config",
    )
    assert sorted(body["errors"], key=lambda error: error["path"]) == [
        {"path": "/config/dataset_id", "message": "'dataset_id' is a required property"},
        {"path": "/config/markdown", "message": "Additional properties are not allowed ('markdown' was unexpected)"},
        {"path": "/config/metric", "message": "'metric' is a required property"},
    ]
    body = problem(
        client.patch(f"{url}/cards/{card['id']}", json={"card_type": "map", "config": {}}), 400, "invalid_request"
    )
    assert [e["path"] for e in body["errors"]] == ["/card_type"]
    same = client.patch(f"{url}/cards/{card['id']}", json={"card_type": None, "config": {"markdown": "same type"}})
    assert (same.status_code, same.json()["card_type"], same.json()["config"]) == (
        200,
        "text",
        {"markdown": "same type"},
    )
    body = problem(
        client.patch(f"{url}/cards/{card['id']}", json={"layout": {"x": 6, "y": 0, "w": 12, "h": 4}}),
        409,
        "card_position_conflict",
    )
    assert body["conflicts"] == [{"card_id": card["id"], "other_card_id": other["id"]}]
    moved = client.patch(f"{url}/cards/{card['id']}", json={"layout": {"x": 0, "y": 2, "w": 12, "h": 4}}).json()
    assert moved["layout"] == {"x": 0, "y": 2, "w": 12, "h": 4}


def test_moving_to_another_page_lands_at_its_first_free_spot(board):
    client, _, url = board
    client.post(f"{url}/pages", json={"name": "Two"})
    there = add(client, url, page=2)
    card = add(client, url, layout={"x": 0, "y": 10, "w": 12, "h": 4})
    moved = client.patch(f"{url}/cards/{card['id']}", json={"page": 2}).json()
    assert (moved["page"], moved["layout"]) == (2, {"x": 12, "y": 0, "w": 12, "h": 4})
    back = client.patch(
        f"{url}/cards/{there['id']}", json={"page": 1, "layout": {"x": 0, "y": 0, "w": 1, "h": 1}}
    ).json()
    assert (back["page"], back["layout"]) == (1, {"x": 0, "y": 0, "w": 1, "h": 1})
    problem(client.patch(f"{url}/cards/{card['id']}", json={"page": 9}), 422, "page_not_found")


def test_duplicate_and_delete(board, world):
    client, _, url = board
    card = add(client, url, layout={"x": 0, "y": 0, "w": 24, "h": 3})
    response = client.post(f"{url}/cards/{card['id']}/duplicate")
    copy = response.json()
    assert response.status_code == 201 and copy["id"] != card["id"]
    assert (copy["config"], copy["page"], copy["layout"]) == (card["config"], 1, {"x": 0, "y": 3, "w": 24, "h": 3})
    assert client.delete(f"{url}/cards/{card['id']}").status_code == 204
    problem(client.delete(f"{url}/cards/{card['id']}"), 404, "card_not_found")
    assert [c["id"] for c in stored(client, url)["cards"]] == [copy["id"]]


def test_a_card_of_another_dashboard_is_not_found(board):
    client, _, url = board
    card = add(client, url)
    elsewhere = client.post("/dashboards", json={"name": "E"}).json()["id"]
    for response in (
        client.get(f"/dashboards/{elsewhere}/cards/{card['id']}"),
        client.patch(f"/dashboards/{elsewhere}/cards/{card['id']}", json={"config": {"markdown": "x"}}),
        client.delete(f"/dashboards/{elsewhere}/cards/{card['id']}"),
        client.post(f"/dashboards/{elsewhere}/cards/{card['id']}/duplicate"),
    ):
        problem(response, 404, "card_not_found")


def test_access_and_if_match(board, world, editor):
    client, dashboard, url = board
    user, _ = editor
    card = add(client, url)
    _, viewer = world.user(org=user.org, role="viewer")
    problem(viewer.post(f"{url}/cards", json=TEXT), 404, "dashboard_not_found")
    client.patch(url, json={"default_audience": "org"})
    problem(viewer.post(f"{url}/cards", json=TEXT), 403, "permission_denied")
    assert viewer.get(f"{url}/cards/{card['id']}").status_code == 200
    body = problem(client.delete(f"{url}/cards/{card['id']}", headers={"If-Match": '"2"'}), 412, "precondition_failed")
    assert body["current_version"] == 3
    assert client.delete(f"{url}/cards/{card['id']}", headers={"If-Match": '"3"'}).status_code == 204


def test_duplicate_dashboard_copies_content_not_shares(board, world, editor):
    client, dashboard, url = board
    add(client, url, layout={"x": 2, "y": 1, "w": 4, "h": 2})
    client.post(f"{url}/pages", json={"name": "Two"})
    add(client, url, page=2)
    client.patch(url, json={"default_audience": "public"})
    source = stored(client, url)
    response = client.post(f"{url}/duplicate")
    copy = response.json()
    assert response.status_code == 201 and response.headers["location"] == f"/api/dashboards/{copy['id']}"
    assert copy["name"] == "Copy of D" and copy["default_audience"] == "private" and copy["public_slug"] is None
    assert (copy["parameters"], copy["pages"], copy["shares"], copy["version"]) == (
        source["parameters"],
        source["pages"],
        [],
        1,
    )
    shape = lambda cards: [(c["card_type"], c["config"], c["page"], c["layout"]) for c in cards]
    assert shape(copy["cards"]) == shape(source["cards"])
    assert {c["id"] for c in copy["cards"]}.isdisjoint(c["id"] for c in source["cards"])
    folder = client.post("/dashboards/collections", json={"name": "F"}).json()
    named = client.post(f"{url}/duplicate", json={"name": "Mine", "collection_id": folder["id"]}).json()
    assert (named["name"], named["collection_id"]) == ("Mine", folder["id"])
    problem(client.post(f"{url}/duplicate", json={"collection_id": 999999}), 422, "collection_not_found")
    user, _ = editor
    _, viewer = world.user(org=user.org, role="viewer")
    problem(viewer.post(f"{url}/duplicate"), 403, "permission_denied")
    _, other_editor = world.user(org=user.org, role="editor")
    assert other_editor.post(f"{url}/duplicate").json()["owner_id"] != user.id
