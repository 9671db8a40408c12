"""Access rules the matrix cannot show: which subject a grant reaches, where a project permission
comes from and where it stops, and what deleting a group leaves alone."""

from models.content import Share
from models.identity import Group, ProjectPermission
from tests.conftest import problem


def create(client, name):
    response = client.post("/dashboards", json={"name": name})
    assert response.status_code == 201, response.text
    return response.json()


def share(client, dashboard, subject_id, level="viewer", subject_type="user"):
    response = client.post(
        f"/dashboards/{dashboard['id']}/shares",
        json={"subject_type": subject_type, "subject_id": subject_id, "access_level": level},
    )
    assert response.status_code == 201, response.text


def assert_sees_exactly(client, dashboards, visible):
    """The caller lists exactly `visible` among `dashboards`, opens those and gets 404 for the rest."""
    listed = {d["id"] for d in client.get("/dashboards").json()["items"]}
    assert listed == {d["id"] for d in visible}
    for d in dashboards:
        if d in visible:
            assert client.get(f"/dashboards/{d['id']}").status_code == 200
            assert client.get(f"/dashboards/{d['id']}/permissions/me").json()["view"] is True
        else:
            for path in (f"/dashboards/{d['id']}", f"/dashboards/{d['id']}/permissions/me"):
                body = problem(client.get(path), 404, "dashboard_not_found")
                assert body["detail"] == f"Dashboard {d['id']} does not exist."


def test_a_grant_reaches_only_its_user_or_the_members_of_its_group(world):
    org = world.org()
    _, owner = world.user(org=org, role="editor")
    ours, theirs = world.group(org), world.group(org)
    _, member = world.user(org=org, groups=[ours])
    _, in_other_group = world.user(org=org, groups=[theirs])
    grantee, grantee_client = world.user(org=org)
    _, in_no_group = world.user(org=org)
    to_ours, to_theirs, to_grantee = create(owner, "To ours"), create(owner, "To theirs"), create(owner, "To a user")
    share(owner, to_ours, ours.id, subject_type="group")
    share(owner, to_theirs, theirs.id, "editor", "group")
    share(owner, to_grantee, grantee.id)
    every = [to_ours, to_theirs, to_grantee]
    assert_sees_exactly(member, every, [to_ours])
    assert_sees_exactly(in_other_group, every, [to_theirs])
    assert_sees_exactly(grantee_client, every, [to_grantee])
    assert_sees_exactly(in_no_group, every, [])
    mine = member.get(f"/dashboards/{to_ours['id']}/permissions/me").json()
    assert mine["reasons"] == {"view": ["group_grant"], "comment": [], "edit": []}
    problem(member.patch(f"/dashboards/{to_ours['id']}", json={"name": "x"}), 403, "permission_denied")
    assert in_other_group.patch(f"/dashboards/{to_theirs['id']}", json={"name": "x"}).status_code == 200


def test_a_project_permission_held_through_a_group_counts_and_stays_in_its_project(world):
    org = world.org()
    here, elsewhere = world.project(org), world.project(org, "elsewhere")
    _, owner = world.user(org=org, role="editor")
    private = create(owner, "Private")
    readers, writers = world.group(org), world.group(org)
    ProjectPermission.create(project=here, group=readers, permission="dashboard.view")
    ProjectPermission.create(project=here, group=writers, permission="dashboard.edit")
    ProjectPermission.create(project=elsewhere, group=readers, permission="dataset.edit")
    reader, client = world.user(org=org, groups=[readers])
    ProjectPermission.create(project=elsewhere, user=reader, permission="dashboard.edit")
    assert client.get("/me").json() == {
        "user": {"id": reader.id, "email": reader.email, "name": reader.name},
        "org": {"id": org.id, "name": org.name},
        "project": {"id": here.id, "name": "default"},
        "role": "viewer",
        "permissions": ["dashboard.view"],
        "groups": [{"id": readers.id, "name": readers.name}],
    }
    assert_sees_exactly(client, [private], [private])
    reasons = client.get(f"/dashboards/{private['id']}/permissions/me").json()["reasons"]
    assert reasons == {"view": ["project_permission"], "comment": [], "edit": []}
    problem(client.patch(f"/dashboards/{private['id']}", json={"name": "x"}), 403, "permission_denied")
    problem(client.post("/dashboards", json={"name": "Mine"}), 403, "permission_denied")
    problem(
        client.post("/datasets", json={"name": "Mine", "columns": [{"name": "a", "type": "string"}]}),
        403,
        "permission_denied",
    )


def test_a_direct_project_permission_counts_only_in_its_project(world):
    org = world.org()
    _, owner = world.user(org=org, role="editor")
    private = create(owner, "Private")
    _, here = world.user(org=org, permissions=["dashboard.edit"])
    _, elsewhere = world.user(org=org, project="elsewhere", permissions=["dashboard.edit"])
    _, other_holder = world.user(org=org)
    assert here.patch(f"/dashboards/{private['id']}", json={"name": "Renamed"}).status_code == 200
    assert other_holder.get("/me").json()["permissions"] == []
    assert_sees_exactly(other_holder, [private], [])
    assert elsewhere.get("/me").json()["permissions"] == ["dashboard.edit"]
    assert elsewhere.get("/dashboards").json()["items"] == []


def test_deleting_a_group_leaves_other_groups_grants_and_dashboards_alone(world):
    org = world.org()
    here = world.project(org)
    _, admin = world.user(org=org, role="admin")
    _, owner = world.user(org=org, role="editor")
    member, client = world.user(org=org)
    # The doomed group has the member's id, so a user grant with that subject id must survive it.
    doomed = Group.create(id=member.id, org=org, name="doomed")
    kept = Group.create(id=member.id + 1, org=org, name="kept")
    for group in (doomed, kept):
        assert admin.put(f"/groups/{group.id}/members/{member.id}").status_code == 200
    ProjectPermission.create(project=here, group=kept, permission="dataset.edit")
    ProjectPermission.create(project=here, group=doomed, permission="dashboard.view")
    to_doomed, to_kept, to_member = create(owner, "To doomed"), create(owner, "To kept"), create(owner, "To member")
    share(owner, to_doomed, doomed.id, subject_type="group")
    share(owner, to_kept, kept.id, subject_type="group")
    share(owner, to_member, member.id)
    untouched = create(owner, "Untouched")

    def stamps():
        return {
            d["id"]: (body["version"], body["updated_at"])
            for d in (to_doomed, to_kept, to_member, untouched)
            for body in [owner.get(f"/dashboards/{d['id']}").json()]
        }

    before = stamps()

    assert admin.delete(f"/groups/{doomed.id}").status_code == 204

    assert_sees_exactly(client, [to_doomed, to_kept, to_member, untouched], [to_kept, to_member])
    me = client.get("/me").json()
    assert me["permissions"] == ["dataset.edit"]
    assert [g["id"] for g in me["groups"]] == [kept.id]
    assert [m["id"] for m in admin.get(f"/groups/{kept.id}").json()["members"]] == [member.id]
    after = stamps()
    (version, updated_at), (old_version, old_updated_at) = after.pop(to_doomed["id"]), before.pop(to_doomed["id"])
    assert version == old_version + 1 and updated_at > old_updated_at
    assert after == before
    remaining = {(s.dashboard_id, s.subject_type, s.subject_id) for s in Share.select()}
    assert remaining == {(to_kept["id"], "group", kept.id), (to_member["id"], "user", member.id)}


def test_an_org_audience_grants_view_only_and_says_so(world):
    org = world.org()
    _, owner = world.user(org=org, role="editor")
    _, viewer = world.user(org=org)
    shared = owner.post("/dashboards", json={"name": "Shared", "default_audience": "org"}).json()
    body = viewer.get(f"/dashboards/{shared['id']}/permissions/me").json()
    assert body == {
        "view": True,
        "comment": False,
        "edit": False,
        "reasons": {"view": ["audience"], "comment": [], "edit": []},
    }


def test_refusals_say_what_is_missing(world):
    org = world.org()
    _, viewer = world.user(org=org)
    group = world.group(org)
    _, owner = world.user(org=org, role="editor")
    seen = owner.post("/dashboards", json={"name": "Seen"}).json()
    owner.patch(f"/dashboards/{seen['id']}", json={"default_audience": "org"})
    refusals = [
        (
            viewer.patch(f"/dashboards/{seen['id']}", json={"name": "Mine now"}),
            f"You may view dashboard {seen['id']} but not edit it.",
        ),
        (
            viewer.post("/dashboards", json={"name": "Mine"}),
            "Creating or changing this needs the editor role or dashboard.edit.",
        ),
        (
            viewer.post("/datasets", json={"name": "Mine", "columns": [{"name": "a", "type": "string"}]}),
            "Changing datasets needs the editor role or dataset.edit.",
        ),
        (viewer.patch(f"/groups/{group.id}", json={"name": "Renamed"}), "Only org admins may change groups."),
    ]
    for response, detail in refusals:
        assert problem(response, 403, "permission_denied")["detail"] == detail


def test_dataset_edit_alone_lets_a_viewer_change_datasets_and_nothing_else_does(world):
    org = world.org()
    _, holder = world.user(org, role="viewer", permissions=["dataset.edit"])
    _, other = world.user(org, role="viewer", permissions=["dashboard.edit", "dashboard.view"])
    body = {"name": "Sales", "columns": [{"name": "n", "type": "integer"}]}
    created = holder.post("/datasets", json=body)
    assert created.status_code == 201, created.text
    problem(other.post("/datasets", json=body), 403, "permission_denied")
    assert [d["name"] for d in holder.get("/datasets").json()["items"]] == ["Sales"]


def test_a_group_outside_the_callers_org_is_named_in_the_404(world):
    foreign = world.group(world.org())
    _, member = world.user()
    body = problem(member.get(f"/groups/{foreign.id}"), 404, "group_not_found")
    assert body["detail"] == f"Group {foreign.id} does not exist."
