"""Collections: nesting, moves, cycles, emptiness, and 404s across projects and orgs."""

import pytest

from tests.conftest import problem


@pytest.fixture
def editor(world):
    return world.user(role="editor")


def create(client, **body):
    response = client.post("/dashboards/collections", json={"name": "c", **body})
    assert response.status_code == 201, response.text
    return response.json()


def test_create_get_list_nested(editor):
    _, client = editor
    top = create(client, name="Sales", description="Revenue")
    child = create(client, name="EMEA", parent_id=top["id"])
    response = client.post("/dashboards/collections", json={"name": "Z"})
    assert response.headers["location"] == f"/api/dashboards/collections/{response.json()['id']}"
    assert client.get(f"/dashboards/collections/{child['id']}").json()["parent_id"] == top["id"]
    listed = client.get("/dashboards/collections").json()
    assert [c["name"] for c in listed["items"]] == ["EMEA", "Sales", "Z"]
    assert listed["total"] == 3
    children = client.get("/dashboards/collections", params={"parent_id": top["id"]}).json()
    assert [c["id"] for c in children["items"]] == [child["id"]]
    page = client.get("/dashboards/collections", params={"limit": 1, "offset": 1}).json()
    assert [c["name"] for c in page["items"]] == ["Sales"] and page["total"] == 3


def test_rename_and_move(editor):
    _, client = editor
    a, b = create(client, name="A"), create(client, name="B")
    moved = client.patch(f"/dashboards/collections/{b['id']}", json={"name": "B2", "parent_id": a["id"]}).json()
    assert (moved["name"], moved["parent_id"]) == ("B2", a["id"])
    back = client.patch(f"/dashboards/collections/{b['id']}", json={"parent_id": None}).json()
    assert back["parent_id"] is None


def test_moving_under_itself_or_a_descendant_is_a_cycle_and_changes_nothing(editor):
    _, client = editor
    a = create(client, name="A")
    b = create(client, name="B", parent_id=a["id"])
    c = create(client, name="C", parent_id=b["id"])
    for target in (a, c):
        problem(
            client.patch(f"/dashboards/collections/{a['id']}", json={"parent_id": target["id"], "name": "X"}),
            409,
            "collection_cycle",
        )
    assert client.get(f"/dashboards/collections/{a['id']}").json() == a


def test_unknown_parent_is_422_and_nothing_is_created(editor):
    _, client = editor
    body = problem(
        client.post("/dashboards/collections", json={"name": "x", "parent_id": 999999}), 422, "collection_not_found"
    )
    assert body["errors"][0]["path"] == "/parent_id"
    assert client.get("/dashboards/collections").json()["total"] == 0


def test_delete_needs_empty(editor):
    _, client = editor
    a = create(client, name="A")
    b = create(client, name="B", parent_id=a["id"])
    problem(client.delete(f"/dashboards/collections/{a['id']}"), 409, "collection_not_empty")
    d = client.post("/dashboards", json={"name": "D", "collection_id": b["id"]}).json()
    problem(client.delete(f"/dashboards/collections/{b['id']}"), 409, "collection_not_empty")
    assert client.delete(f"/dashboards/{d['id']}").status_code == 204
    assert client.delete(f"/dashboards/collections/{b['id']}").status_code == 204
    assert client.delete(f"/dashboards/collections/{a['id']}").status_code == 204
    problem(client.get(f"/dashboards/collections/{a['id']}"), 404, "collection_not_found")


def test_other_projects_and_orgs_see_nothing(world, editor):
    user, client = editor
    mine = create(client, name="Mine")
    other_project = world.user(org=user.org, role="admin", project="other")[1]
    other_org = world.user(role="admin")[1]
    for outsider in (other_project, other_org):
        assert outsider.get("/dashboards/collections").json()["total"] == 0
        problem(outsider.get(f"/dashboards/collections/{mine['id']}"), 404, "collection_not_found")
        problem(
            outsider.patch(f"/dashboards/collections/{mine['id']}", json={"name": "x"}), 404, "collection_not_found"
        )
        problem(outsider.delete(f"/dashboards/collections/{mine['id']}"), 404, "collection_not_found")
        problem(
            outsider.post("/dashboards/collections", json={"name": "x", "parent_id": mine["id"]}),
            422,
            "collection_not_found",
        )
    assert client.get(f"/dashboards/collections/{mine['id']}").json()["name"] == "Mine"


@pytest.mark.parametrize(
    "role,permissions,allowed",
    [
        ("viewer", (), False),
        ("viewer", ("dashboard.view",), False),
        ("viewer", ("dashboard.edit",), True),
        ("editor", (), True),
        ("admin", (), True),
    ],
)
def test_who_may_change_collections(world, role, permissions, allowed):
    org = world.org()
    _, admin = world.user(org=org, role="admin")
    existing = create(admin, name="Existing")
    _, client = world.user(org=org, role=role, permissions=permissions)
    assert client.get("/dashboards/collections").status_code == 200
    writes = [
        client.post("/dashboards/collections", json={"name": "new"}),
        client.patch(f"/dashboards/collections/{existing['id']}", json={"name": "renamed"}),
    ]
    for response in writes:
        if allowed:
            assert response.status_code in (200, 201)
        else:
            problem(response, 403, "permission_denied")
    if not allowed:
        assert admin.get("/dashboards/collections").json()["items"] == [existing]
