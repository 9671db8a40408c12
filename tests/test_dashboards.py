"""Dashboards: list, get, create, update, delete; access by the SEMANTICS table; versions."""

import pytest

from tests.conftest import problem


@pytest.fixture
def editor(world):
    return world.user(role="editor")


def create(client, **body):
    response = client.post("/dashboards", json={"name": "D", **body})
    assert response.status_code == 201, response.text
    return response.json()


def test_create_answers_the_full_dashboard_with_one_page(editor):
    user, client = editor
    response = client.post(
        "/dashboards", json={"name": "Revenue", "parameters": [{"name": "region", "type": "string"}]}
    )
    assert response.status_code == 201
    body = response.json()
    assert response.headers["location"] == f"/api/dashboards/{body['id']}"
    assert response.headers["etag"] == '"1"'
    assert body["pages"] == [{"page_number": 1, "name": "Page 1"}]
    assert (body["cards"], body["shares"]) == ([], [])
    assert body["owner_id"] == user.id and body["default_audience"] == "private" and body["public_slug"] is None
    assert body["parameters"] == [{"name": "region", "type": "string", "multiple": False, "required": False}]
    assert client.get(f"/dashboards/{body['id']}").json() == body


def test_list_filters_pages_and_orders(editor):
    _, client = editor
    folder = client.post("/dashboards/collections", json={"name": "F"}).json()
    create(client, name="beta", description="Revenue by month")
    create(client, name="Alpha")
    create(client, name="gamma", collection_id=folder["id"])
    create(client, name="100% real_data")
    names = lambda **params: [d["name"] for d in client.get("/dashboards", params=params).json()["items"]]
    assert names() == ["100% real_data", "Alpha", "beta", "gamma"]
    assert names(q="REVENUE") == ["beta"]
    assert names(q="%") == ["100% real_data"]
    assert names(q="_") == ["100% real_data"]
    assert names(collection_id=folder["id"]) == ["gamma"]
    page = client.get("/dashboards", params={"limit": 2, "offset": 1}).json()
    assert [d["name"] for d in page["items"]] == ["Alpha", "beta"]
    assert (page["total"], page["limit"], page["offset"]) == (4, 2, 1)


def test_update_fields_bumps_version_and_etag(editor):
    _, client = editor
    d = create(client)
    folder = client.post("/dashboards/collections", json={"name": "F"}).json()
    response = client.patch(
        f"/dashboards/{d['id']}", json={"name": "New", "description": "x", "collection_id": folder["id"]}
    )
    body = response.json()
    assert (body["name"], body["description"], body["collection_id"], body["version"]) == ("New", "x", folder["id"], 2)
    assert response.headers["etag"] == '"2"'
    assert client.get(f"/dashboards/{d['id']}").json()["version"] == 2


def test_public_slug_lives_while_public(editor, world):
    _, client = editor
    d = create(client)
    slug = client.patch(f"/dashboards/{d['id']}", json={"default_audience": "public"}).json()["public_slug"]
    assert slug and len(slug) >= 22
    again = client.patch(f"/dashboards/{d['id']}", json={"default_audience": "public", "name": "n"}).json()
    assert again["public_slug"] == slug
    assert client.patch(f"/dashboards/{d['id']}", json={"default_audience": "org"}).json()["public_slug"] is None


@pytest.mark.parametrize(
    "parameters,path",
    [
        ([{"name": "a", "type": "string"}, {"name": "a", "type": "number"}], "/parameters/1/name"),
        ([{"name": "n", "type": "integer", "default": 1.5}], "/parameters/0/default"),
        ([{"name": "n", "type": "number", "default": True}], "/parameters/0/default"),
        ([{"name": "d", "type": "date", "default": "2026-13-01"}], "/parameters/0/default"),
        ([{"name": "m", "type": "string", "multiple": True, "default": "x"}], "/parameters/0/default"),
    ],
)
def test_inconsistent_parameters_are_422_and_change_nothing(editor, parameters, path):
    _, client = editor
    d = create(client)
    body = problem(
        client.patch(f"/dashboards/{d['id']}", json={"parameters": parameters, "name": "changed"}),
        422,
        "invalid_parameters",
    )
    assert [e["path"] for e in body["errors"]] == [path]
    assert body["detail"] == "The dashboard parameters are inconsistent."
    assert client.get(f"/dashboards/{d['id']}").json() == d
    problem(client.post("/dashboards", json={"name": "x", "parameters": parameters}), 422, "invalid_parameters")
    assert client.get("/dashboards").json()["total"] == 1


def test_valid_parameter_defaults(editor):
    _, client = editor
    parameters = [
        {"name": "region", "type": "string", "multiple": True, "default": ["EMEA", "APAC"]},
        {"name": "since", "type": "date", "default": "2026-01-31"},
        {"name": "n", "type": "number", "default": 3},
        {"name": "flag", "type": "boolean", "default": False, "required": True},
    ]
    assert create(client, parameters=parameters)["parameters"][0]["default"] == ["EMEA", "APAC"]


def test_unknown_collection_is_422(editor):
    _, client = editor
    body = problem(client.post("/dashboards", json={"name": "x", "collection_id": 424242}), 422, "collection_not_found")
    assert body["errors"][0]["path"] == "/collection_id"


def test_delete(editor):
    _, client = editor
    d = create(client)
    assert client.delete(f"/dashboards/{d['id']}").status_code == 204
    problem(client.get(f"/dashboards/{d['id']}"), 404, "dashboard_not_found")
    problem(client.delete(f"/dashboards/{d['id']}"), 404, "dashboard_not_found")


def test_stale_if_match_is_412_and_changes_nothing(editor):
    _, client = editor
    d = create(client)
    assert client.patch(f"/dashboards/{d['id']}", json={"name": "v2"}, headers={"If-Match": '"1"'}).status_code == 200
    body = problem(
        client.patch(f"/dashboards/{d['id']}", json={"name": "lost"}, headers={"If-Match": '"1"'}),
        412,
        "precondition_failed",
    )
    assert body["current_version"] == 2
    problem(client.delete(f"/dashboards/{d['id']}", headers={"If-Match": '"1"'}), 412, "precondition_failed")
    assert client.get(f"/dashboards/{d['id']}").json()["name"] == "v2"
    problem(
        client.patch(f"/dashboards/{d['id']}", json={"name": "x"}, headers={"If-Match": 'W/"2"'}),
        412,
        "precondition_failed",
    )
    assert (
        client.patch(f"/dashboards/{d['id']}", json={"name": "v3"}, headers={"If-Match": '"7", "2"'}).status_code == 200
    )
    assert client.delete(f"/dashboards/{d['id']}", headers={"If-Match": '"3"'}).status_code == 204


# Who sees and who edits a dashboard owned by someone else, per SEMANTICS' access table.
ACTORS = {
    # name: (role, project permissions, share level or None, via group)
    "viewer": ("viewer", (), None, False),
    "editor": ("editor", (), None, False),
    "admin": ("admin", (), None, False),
    "perm_view": ("viewer", ("dashboard.view",), None, False),
    "perm_edit": ("viewer", ("dashboard.edit",), None, False),
    "grant_viewer": ("viewer", (), "viewer", False),
    "grant_commenter": ("viewer", (), "commenter", False),
    "grant_editor": ("viewer", (), "editor", False),
    "group_editor": ("viewer", (), "editor", True),
}
# audience -> actors who can view (edit follows from the table below)
CAN_EDIT = {"editor", "admin", "perm_edit", "grant_editor", "group_editor"}


def _actor(world, org, dashboard_id, spec):
    from models.content import Share

    role, permissions, level, via_group = spec
    group = world.group(org) if via_group else None
    user, client = world.user(org=org, role=role, permissions=permissions, groups=[group] if group else [])
    if level:
        subject = ("group", group.id) if group else ("user", user.id)
        Share.create(dashboard=dashboard_id, subject_type=subject[0], subject_id=subject[1], access_level=level)
    return client


@pytest.mark.parametrize("audience", ["private", "org", "public"])
@pytest.mark.parametrize("name", sorted(ACTORS))
def test_access_table(world, audience, name):
    org = world.org()
    _, owner = world.user(org=org, role="viewer", permissions=("dashboard.edit",))
    d = create(owner, default_audience=audience)
    client = _actor(world, org, d["id"], ACTORS[name])
    can_view = audience != "private" or name not in {"viewer", "editor"}
    can_edit = name in CAN_EDIT and can_view
    listed = [x["id"] for x in client.get("/dashboards").json()["items"]]
    if not can_view:
        assert listed == []
        problem(client.get(f"/dashboards/{d['id']}"), 404, "dashboard_not_found")
        problem(client.patch(f"/dashboards/{d['id']}", json={"name": "x"}), 404, "dashboard_not_found")
        problem(client.delete(f"/dashboards/{d['id']}"), 404, "dashboard_not_found")
    elif not can_edit:
        assert listed == [d["id"]]
        assert client.get(f"/dashboards/{d['id']}").status_code == 200
        problem(client.patch(f"/dashboards/{d['id']}", json={"name": "x"}), 403, "permission_denied")
        problem(client.delete(f"/dashboards/{d['id']}"), 403, "permission_denied")
    else:
        assert listed == [d["id"]]
        assert client.patch(f"/dashboards/{d['id']}", json={"name": "x"}).json()["name"] == "x"
        assert client.delete(f"/dashboards/{d['id']}").status_code == 204
    if not can_edit:
        assert owner.get(f"/dashboards/{d['id']}").json()["version"] == 1


def test_other_projects_and_orgs_get_404(world, editor):
    user, client = editor
    d = create(client, default_audience="public")
    for outsider in (world.user(org=user.org, role="admin", project="other")[1], world.user(role="admin")[1]):
        assert outsider.get("/dashboards").json()["total"] == 0
        problem(outsider.get(f"/dashboards/{d['id']}"), 404, "dashboard_not_found")
        problem(outsider.delete(f"/dashboards/{d['id']}"), 404, "dashboard_not_found")


def test_viewers_cannot_create(world):
    _, client = world.user(role="viewer")
    problem(client.post("/dashboards", json={"name": "x"}), 403, "permission_denied")
    _, granted = world.user(role="viewer", permissions=("dashboard.edit",))
    assert granted.post("/dashboards", json={"name": "x"}).status_code == 201
