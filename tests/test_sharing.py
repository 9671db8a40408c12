"""Shares, groups, users, tokens and permissions/me: what the access matrix does not show."""

import psycopg
import pytest

from models.content import Share
from models.db import database
from models.identity import ProjectPermission
from tests.conftest import BACKEND, problem


@pytest.fixture
def team(world):
    """An org with an owner (editor role) and a viewer with a private dashboard between them."""
    org = world.org()
    owner, owner_client = world.user(org=org, role="editor")
    viewer, viewer_client = world.user(org=org, role="viewer")
    admin = world.user(org=org, role="admin")[1]
    dashboard = owner_client.post("/dashboards", json={"name": "Private"}).json()
    return org, owner_client, viewer, viewer_client, admin, dashboard


def share(client, dashboard, subject_id, level="viewer", subject_type="user", **kwargs):
    return client.post(
        f"/dashboards/{dashboard['id']}/shares",
        json={"subject_type": subject_type, "subject_id": subject_id, "access_level": level},
        **kwargs,
    )


def test_upsert_creates_then_updates_and_bumps_the_version(team):
    _, owner, viewer, viewer_client, _, d = team
    created = share(owner, d, viewer.id)
    assert created.status_code == 201 and created.headers["etag"] == '"2"'
    assert created.headers["location"] == f"/api/dashboards/{d['id']}/shares/{created.json()['id']}"
    updated = share(owner, d, viewer.id, "editor")
    assert updated.status_code == 200 and updated.json()["id"] == created.json()["id"]
    listed = owner.get(f"/dashboards/{d['id']}/shares").json()
    assert [(s["subject_id"], s["access_level"]) for s in listed["items"]] == [(viewer.id, "editor")]
    assert (listed["total"], listed["limit"], listed["offset"]) == (1, 50, 0)
    assert viewer_client.patch(f"/dashboards/{d['id']}", json={"name": "by the grantee"}).status_code == 200
    assert owner.get(f"/dashboards/{d['id']}").json()["version"] == 4


def test_subjects_must_be_of_the_callers_org(team, world):
    org, owner, *_, d = team
    stranger = world.user()[0]
    foreign_group = world.group(world.org())
    body = problem(share(owner, d, stranger.id), 422, "user_not_found")
    assert body["errors"][0]["path"] == "/subject_id"
    problem(share(owner, d, foreign_group.id, subject_type="group"), 422, "group_not_found")
    assert share(owner, d, world.group(org).id, subject_type="group").status_code == 201
    assert owner.get(f"/dashboards/{d['id']}").json()["version"] == 2


def test_revoking_takes_effect_on_the_next_request_and_honours_if_match(team):
    _, owner, viewer, viewer_client, _, d = team
    grant = share(owner, d, viewer.id).json()
    assert viewer_client.get(f"/dashboards/{d['id']}").status_code == 200
    path = f"/dashboards/{d['id']}/shares/{grant['id']}"
    problem(owner.delete(path, headers={"If-Match": '"1"'}), 412, "precondition_failed")
    response = owner.delete(path, headers={"If-Match": '"2"'})
    assert response.status_code == 204 and response.headers["etag"] == '"3"'
    problem(viewer_client.get(f"/dashboards/{d['id']}"), 404, "dashboard_not_found")
    problem(owner.delete(path), 404, "share_not_found")


def test_a_share_of_another_dashboard_is_not_found(team):
    _, owner, viewer, *_ = team
    d1, d2 = team[-1], owner.post("/dashboards", json={"name": "Other"}).json()
    grant = share(owner, d1, viewer.id).json()
    problem(owner.delete(f"/dashboards/{d2['id']}/shares/{grant['id']}"), 404, "share_not_found")


def test_permissions_me_names_every_layer(team, world):
    org, owner, viewer, viewer_client, admin, d = team
    group = world.group(org)
    admin.put(f"/groups/{group.id}/members/{viewer.id}")
    share(owner, d, viewer.id, "commenter")
    share(owner, d, group.id, "viewer", subject_type="group")
    body = viewer_client.get(f"/dashboards/{d['id']}/permissions/me").json()
    assert body == {
        "view": True,
        "comment": True,
        "edit": False,
        "reasons": {"view": ["user_grant", "group_grant"], "comment": ["user_grant"], "edit": []},
    }
    mine = owner.get(f"/dashboards/{d['id']}/permissions/me").json()
    assert mine["reasons"]["edit"] == ["owner", "legacy_role"]
    assert admin.get(f"/dashboards/{d['id']}/permissions/me").json()["reasons"]["view"] == ["admin"]


def test_groups_crud_and_membership(team, world):
    org, _, viewer, viewer_client, admin, _ = team
    created = admin.post("/groups", json={"name": "Analysts", "description": "d"})
    assert created.status_code == 201
    group = created.json()
    assert created.headers["location"] == f"/api/groups/{group['id']}" and group["members"] == []
    problem(admin.post("/groups", json={"name": "Analysts"}), 409, "group_name_taken")
    other = admin.post("/groups", json={"name": "Other"}).json()
    problem(admin.patch(f"/groups/{other['id']}", json={"name": "Analysts"}), 409, "group_name_taken")
    path = f"/groups/{group['id']}/members/{viewer.id}"
    assert [m["id"] for m in admin.put(path).json()["members"]] == [viewer.id]
    assert [m["id"] for m in admin.put(path).json()["members"]] == [viewer.id]
    assert [g["name"] for g in viewer_client.get("/me").json()["groups"]] == ["Analysts"]
    problem(admin.put(f"/groups/{group['id']}/members/{world.user()[0].id}"), 404, "user_not_found")
    assert admin.delete(path).status_code == 204 and admin.delete(path).status_code == 204
    assert viewer_client.get(f"/groups/{group['id']}").json()["members"] == []
    names = [g["name"] for g in viewer_client.get("/groups", params={"q": "analy"}).json()["items"]]
    assert names == ["Analysts"]


def test_deleting_a_group_removes_its_grants_and_permissions(team, world):
    org, owner, viewer, viewer_client, admin, d = team
    group = admin.post("/groups", json={"name": "Readers"}).json()
    admin.put(f"/groups/{group['id']}/members/{viewer.id}")
    share(owner, d, group["id"], "editor", subject_type="group")
    ProjectPermission.create(project=world.project(org), group=group["id"], permission="dashboard.view")
    assert viewer_client.get(f"/dashboards/{d['id']}").status_code == 200
    assert admin.delete(f"/groups/{group['id']}").status_code == 204
    problem(viewer_client.get(f"/dashboards/{d['id']}"), 404, "dashboard_not_found")
    assert viewer_client.get("/me").json()["permissions"] == []
    assert Share.select().where(Share.subject_type == "group").count() == 0
    assert owner.get(f"/dashboards/{d['id']}").json()["version"] == 3
    problem(admin.get(f"/groups/{group['id']}"), 404, "group_not_found")


def test_users_lists_org_members_with_q_and_paging(world):
    org = world.org()
    _, client = world.user(org=org)
    world.user()  # another org: never listed
    for name in ("Zoe", "Ana", "Bob"):
        user = world.user(org=org)[0]
        user.name = name
        user.save()
    everyone = client.get("/users").json()
    assert [u["name"] for u in everyone["items"]] == ["Ana", "Bob", "Test User", "Zoe"]
    assert [u["name"] for u in client.get("/users", params={"q": "aN"}).json()["items"]] == ["Ana"]
    email = everyone["items"][0]["email"]
    assert [u["email"] for u in client.get("/users", params={"q": email.upper()}).json()["items"]] == [email]
    page = client.get("/users", params={"limit": 1, "offset": 1}).json()
    assert (len(page["items"]), page["total"], page["limit"], page["offset"]) == (1, 4, 1, 1)


def test_tokens_are_shown_once_listed_by_prefix_and_revoked_at_once(world):
    user, client = world.user()
    other = world.user(org=user.org)[1]
    created = client.post("/tokens")
    assert created.status_code == 201
    token = created.json()
    assert token["token"].startswith(token["prefix"]) and len(token["token"]) >= 47
    listed = client.get("/tokens").json()["items"]
    assert [t["current"] for t in listed] == [True, False]  # oldest first
    assert [t["id"] for t in client.get("/tokens", params={"offset": 1}).json()["items"]] == [token["id"]]
    assert all("token" not in t for t in listed)
    problem(other.delete(f"/tokens/{token['id']}"), 404, "token_not_found")
    assert other.get("/tokens").json()["items"][0]["id"] != token["id"]
    client.token = token["token"]
    assert client.get("/me").status_code == 200
    assert client.delete(f"/tokens/{token['id']}").status_code == 204
    problem(client.get("/me"), 401, "unauthenticated")


def test_the_dashboard_list_costs_the_same_queries_whatever_the_grants(world):
    """The same statements for the page and its total, however many dashboards and grants: one on
    PostgreSQL, a page and a count on SQLite."""
    org = world.org()
    owner, owner_client = world.user(org=org, role="editor")
    group = world.group(org)
    reader, reader_client = world.user(org=org, groups=[group])

    def queries_for_list():
        """Statements as the driver sees them: on PostgreSQL some are sent together in a pipeline,
        past peewee's execute_sql."""
        counted = []
        if BACKEND == "postgresql":
            owner_of, name = psycopg.Cursor, "execute"
        else:
            owner_of, name = database.obj, "execute_sql"
        original = getattr(owner_of, name)

        def counting(*args, **kwargs):
            counted.append(str(args[1] if owner_of is psycopg.Cursor else args[0]))
            return original(*args, **kwargs)

        setattr(owner_of, name, counting)
        try:
            items = reader_client.get("/dashboards").json()["items"]
        finally:
            setattr(owner_of, name, original) if owner_of is psycopg.Cursor else delattr(owner_of, name)
        return len(items), len([sql for sql in counted if "dashboard" in sql.lower()])

    for index in range(3):
        d = owner_client.post("/dashboards", json={"name": f"d{index}"}).json()
        share(owner_client, d, group.id, subject_type="group")
    few = queries_for_list()
    for index in range(12):
        d = owner_client.post("/dashboards", json={"name": f"e{index}"}).json()
        share(owner_client, d, reader.id)
    many = queries_for_list()
    assert (few[0], many[0]) == (3, 15)
    assert few[1] == many[1] == (1 if BACKEND == "postgresql" else 2)
