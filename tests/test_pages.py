"""Pages: numbered from 1, renumbered on insert, move and delete; a page's cards go with it."""

import pytest

from tests.conftest import problem


@pytest.fixture
def board(world):
    _, client = world.user(role="editor")
    body = client.post("/dashboards", json={"name": "D"}).json()
    return client, f"/dashboards/{body['id']}"


def names(client, url):
    return [p["name"] for p in client.get(url).json()["pages"]]


def test_insert_at_a_position_renumbers_the_rest(board):
    client, url = board
    response = client.post(f"{url}/pages", json={"name": "Last"})
    assert response.status_code == 201 and response.json() == {"page_number": 2, "name": "Last"}
    assert response.headers["location"] == f"/api{url}/pages/2" and response.headers["etag"] == '"2"'
    assert client.post(f"{url}/pages", json={"name": "First", "position": 1}).json()["page_number"] == 1
    assert names(client, url) == ["First", "Page 1", "Last"]
    assert client.get(f"{url}/pages/3").json() == {"page_number": 3, "name": "Last"}
    body = problem(client.post(f"{url}/pages", json={"name": "Far", "position": 5}), 422, "invalid_position")
    assert body["errors"] == [{"path": "/position", "message": "must be at most 4"}]
    problem(client.get(f"{url}/pages/4"), 404, "page_not_found")


@pytest.mark.parametrize(
    "start,to,order",
    [
        (1, 3, ["B", "C", "A", "D"]),
        (4, 2, ["A", "D", "B", "C"]),
        (2, 2, ["A", "B", "C", "D"]),
    ],
)
def test_move_renumbers_between_old_and_new_position(board, start, to, order):
    client, url = board
    client.patch(f"{url}/pages/1", json={"name": "A"})
    for name in "BCD":
        client.post(f"{url}/pages", json={"name": name})
    moved = client.patch(f"{url}/pages/{start}", json={"position": to})
    assert moved.json() == {"page_number": to, "name": order[to - 1]}
    assert names(client, url) == order
    problem(client.patch(f"{url}/pages/1", json={"position": 5}), 422, "invalid_position")


def test_delete_takes_its_cards_and_keeps_the_last_page(board):
    client, url = board
    client.post(f"{url}/pages", json={"name": "Two"})
    client.post(f"{url}/pages", json={"name": "Three"})
    keep = client.post(f"{url}/cards", json={"card_type": "text", "config": {"markdown": "3"}, "page": 3}).json()
    client.post(f"{url}/cards", json={"card_type": "text", "config": {"markdown": "2"}, "page": 2})
    assert client.delete(f"{url}/pages/2").status_code == 204
    body = client.get(url).json()
    assert [p["name"] for p in body["pages"]] == ["Page 1", "Three"]
    assert [(c["id"], c["page"]) for c in body["cards"]] == [(keep["id"], 2)]
    client.delete(f"{url}/pages/1")
    problem(client.delete(f"{url}/pages/1"), 409, "last_page")
    problem(client.delete(f"{url}/pages/7"), 404, "page_not_found")
    assert names(client, url) == ["Three"]


def test_stale_if_match_changes_nothing(board):
    client, url = board
    problem(client.post(f"{url}/pages", json={"name": "X"}, headers={"If-Match": '"9"'}), 412, "precondition_failed")
    problem(
        client.patch(f"{url}/pages/1", json={"name": "X"}, headers={"If-Match": 'W/"1"'}), 412, "precondition_failed"
    )
    assert names(client, url) == ["Page 1"] and client.get(url).json()["version"] == 1
    assert client.patch(f"{url}/pages/1", json={"name": "X"}, headers={"If-Match": '"1"'}).headers["etag"] == '"2"'
