"""Who may call what: every operation of openapi.yaml × every kind of caller × every audience.

The operations are read from the spec, so a new operation without a row here fails. A row says
what an operation needs; ACTORS say what each caller holds, written out by hand rather than
computed by models/access.py, so the two are checked against each other. Every answer must have
the exact status and error code, lists must hold exactly what the caller may view, and after
every refused write the store must be unchanged, row for row.

The actors and dashboards are built once for the module. A call expected to succeed at a write
gets fresh objects of its own (a dashboard with the same grants, an empty collection, a group),
so the shared ones stay as they were for the next caller.
"""

import itertools
import re
from collections import namedtuple
from functools import cached_property

import pytest

from models import schema
from models.cards import add_card
from models.content import Card, Collection, Dashboard, Share
from models.dataset_tables import create_dataset
from models.identity import ApiToken
from models.pages import add_page
from tests.conftest import SPEC, World

OPERATIONS = {
    op["operationId"]: (method.upper(), path)
    for path, item in SPEC["paths"].items()
    for method, op in item.items()
    if isinstance(op, dict) and "operationId" in op
}
AUDIENCES = ("private", "org", "public")

# How each caller is built, and what it holds.
#   where: which org and project its token acts in (None: no token at all)
#   grant: its share grant on every test dashboard ("group:editor" reaches it through a group)
#   private, shared: its rights on someone else's private / org-or-public dashboard of the
#     project: v(iew), c(omment), e(dit)
#   creates: may create dashboards and collections; admin: may change groups
Actor = namedtuple("Actor", "role where permissions grant private shared creates admin")
# fmt: off
ACTORS = {
    "anonymous":            Actor(None, None, (), None, "", "", False, False),
    "other_org_admin":      Actor("admin", "other_org", (), None, "", "", True, True),
    "other_project_editor": Actor("editor", "other_project", (), None, "", "", True, False),
    "org_viewer":           Actor("viewer", "project", (), None, "", "v", False, False),
    "org_editor":           Actor("editor", "project", (), None, "", "vce", True, False),
    "org_admin":            Actor("admin", "project", (), None, "vce", "vce", True, True),
    "owner":                Actor("viewer", "project", (), "owner", "vce", "vce", False, False),
    "grant_viewer":         Actor("viewer", "project", (), "viewer", "v", "v", False, False),
    "grant_commenter":      Actor("viewer", "project", (), "commenter", "vc", "vc", False, False),
    "grant_editor":         Actor("viewer", "project", (), "editor", "vce", "vce", False, False),
    "group_editor":         Actor("viewer", "project", (), "group:editor", "vce", "vce", False, False),
    "perm_view":            Actor("viewer", "project", ("dashboard.view",), None, "v", "v", False, False),
    "perm_edit":            Actor("viewer", "project", ("dashboard.edit",), None, "vce", "vce", True, False),
}
# fmt: on

# What an operation needs, and where the object its path names lives.
#   needs: "anyone" (with or without a token), "member" (any caller with a token), "creates", "admin",
#     or a dashboard right v/c/e;
#     "template": creates, over a dataset that must be in the caller's project
#   scope: None; ("dashboard",) — 404 dashboard_not_found without view; ("project", code) —
#     404 `code` outside the project; ("org", code) — 404 `code` outside the org
#   ok: the status of success; body: a request body (or a function of the Target)
#   check: on success, "listed" — the answer's items hold the target dashboard iff the actor may
#     view it; "rights" — the answer's view/comment/edit are the actor's rights
Row = namedtuple("Row", "needs scope ok body check", defaults=(None, 200, None, None))
DASHBOARD = ("dashboard",)
_names = itertools.count(1)

ROWS = {
    "getMe": Row("member"),
    "listCollections": Row("member"),
    "createCollection": Row("creates", ok=201, body={"name": "New"}),
    "getCollection": Row("member", ("project", "collection_not_found")),
    "updateCollection": Row("creates", ("project", "collection_not_found"), body={"name": "Renamed"}),
    "deleteCollection": Row("creates", ("project", "collection_not_found"), ok=204),
    "listDashboards": Row("member", check="listed"),
    "createDashboard": Row("creates", ok=201, body={"name": "New"}),
    "getDashboard": Row("v", DASHBOARD),
    "updateDashboard": Row("e", DASHBOARD, body={"name": "Renamed"}),
    "deleteDashboard": Row("e", DASHBOARD, ok=204),
    "listShares": Row("v", DASHBOARD),
    "upsertShare": Row(
        "e",
        DASHBOARD,
        ok=201,
        body=lambda t: {"subject_type": "user", "subject_id": t.user_id, "access_level": "editor"},
    ),
    "deleteShare": Row("e", DASHBOARD, ok=204),
    "getMyPermissions": Row("v", DASHBOARD, check="rights"),
    "listUsers": Row("member"),
    "listGroups": Row("member"),
    "createGroup": Row("admin", ok=201, body=lambda t: {"name": f"New {next(_names)}"}),
    "getGroup": Row("member", ("org", "group_not_found")),
    "updateGroup": Row("admin", ("org", "group_not_found"), body={"description": "changed"}),
    "deleteGroup": Row("admin", ("org", "group_not_found"), ok=204),
    "addGroupMember": Row("admin", ("org", "group_not_found")),
    "removeGroupMember": Row("admin", ("org", "group_not_found"), ok=204),
    "listTokens": Row("member"),
    "createToken": Row("member", ok=201),
    "deleteToken": Row("member", ok=204),  # the caller's own token
    "listDatasets": Row("member"),
    "createDataset": Row("datasets", ok=201, body={"name": "New", "columns": [{"name": "n", "type": "integer"}]}),
    "getDataset": Row("member", ("project", "dataset_not_found")),
    "deleteDataset": Row("datasets", ("project", "dataset_not_found"), ok=204),
    "previewRows": Row("member", ("project", "dataset_not_found")),
    "appendRows": Row("datasets", ("project", "dataset_not_found"), body={"rows": [[1]]}),
    "renderDashboard": Row("v", DASHBOARD),
    "renderDashboardWithBody": Row("v", DASHBOARD, body={"page": 2}),
    "duplicateDashboard": Row("duplicate", DASHBOARD, ok=201, body={}),
    "createCard": Row("e", DASHBOARD, ok=201, body={"card_type": "text", "config": {"markdown": "x"}}),
    "getCard": Row("v", DASHBOARD),
    "updateCard": Row("e", DASHBOARD, body={"config": {"markdown": "changed"}}),
    "deleteCard": Row("e", DASHBOARD, ok=204),
    "duplicateCard": Row("e", DASHBOARD, ok=201),
    "updateLayout": Row("e", DASHBOARD, body=lambda t: [{"card_id": t.card_id, "x": 12, "y": 0, "w": 6, "h": 2}]),
    "createPage": Row("e", DASHBOARD, ok=201, body={"name": "Two"}),
    "getPage": Row("v", DASHBOARD),
    "updatePage": Row("e", DASHBOARD, body={"name": "Renamed"}),
    "deletePage": Row("e", DASHBOARD, ok=204),
    "listCardTypes": Row("member"),
    "renderPublicDashboard": Row("public", DASHBOARD),
    "renderPublicDashboardWithBody": Row("public", DASHBOARD, body={"page": 2}),
    "getHealth": Row("anyone"),
    "getReady": Row("anyone"),
    "getMetrics": Row("anyone"),  # without METRICS_TOKEN, as in the tests
    "listTemplates": Row("member"),
    "createFromTemplate": Row(
        "template",
        ok=201,
        body=lambda t: {"template_id": "kpi-summary", "dataset_id": t.dataset_id, "name": "From template"},
    ),
}


def rights(actor, audience):
    return actor.private if audience == "private" else actor.shared


def expected(row, actor, audience):
    """The (status, error code) this actor must get; the code is None on success."""
    if row.needs == "anyone":  # the operator's probes: no token, no project
        return row.ok, None
    if row.needs == "public":  # no token needed; only the audience decides
        return (row.ok, None) if audience == "public" else (404, "public_dashboard_not_found")
    if actor.where is None:
        return 401, "unauthenticated"
    reach, code = (row.scope + (None,))[:2] if row.scope else (None, None)
    if reach == "dashboard" and "v" not in rights(actor, audience):
        return 404, "dashboard_not_found"
    if (reach == "project" and actor.where != "project") or (reach == "org" and actor.where == "other_org"):
        return 404, code
    if row.needs == "template" and actor.creates and actor.where != "project":
        return 422, "dataset_not_found"  # the body names a dataset of the matrix's project, not the caller's
    allowed = {
        "member": True,
        "creates": actor.creates,
        "admin": actor.admin,
        "template": actor.creates,
        "datasets": actor.role in ("editor", "admin") or "dataset.edit" in actor.permissions,
        "duplicate": actor.creates,  # view is checked above: the copy is the caller's own
    }.get(row.needs, row.needs in rights(actor, audience))
    return (row.ok, None) if allowed else (403, "permission_denied")


class Matrix:
    """The actors, three dashboards (one per audience) with every kind of grant, and spare objects."""

    def __init__(self, world):
        self.world = world
        self.org = world.org()
        self.project = world.project(self.org)
        self.editors = world.group(self.org, "Editors")
        self.group = world.group(self.org, "Target")
        self.owner = None
        self.actors = {name: self._actor(name, spec) for name, spec in ACTORS.items()}
        self.bystander = world.user(org=self.org)[0]  # holds the share that share_id names
        self.spare = world.user(org=self.org)[0]  # the user_id of membership and share requests
        self.dashboards = {audience: self.make_dashboard(audience) for audience in AUDIENCES}
        self.collection = Collection.create(project=self.project, name="Target")
        self.dataset = self.make_dataset()

    def make_dataset(self):
        return create_dataset(self.project, "Target", [{"name": "n", "type": "integer"}])

    def _actor(self, name, spec):
        if spec.where is None:
            return None, self.world.anonymous()
        org = self.world.org() if spec.where == "other_org" else self.org
        project = "other" if spec.where == "other_project" else "default"
        groups = [self.editors] if spec.grant == "group:editor" else []
        user, client = self.world.user(
            org=org, role=spec.role, project=project, permissions=spec.permissions, groups=groups
        )
        if spec.grant == "owner":
            self.owner = user
        return user, client

    def make_dashboard(self, audience):
        """A dashboard of the owner with a card on each of two pages, every actor's grant and the
        bystander's: (dashboard, share)."""
        dashboard = Dashboard.create_with_first_page(
            project=self.project, owner=self.owner, name=f"{audience} dashboard", default_audience=audience
        )
        add_page(dashboard, "Two")
        for number in (1, 2):
            add_card(dashboard, "text", {"markdown": f"page {number}"}, page_number=number)
        for name, spec in ACTORS.items():
            if spec.grant in ("viewer", "commenter", "editor"):
                Share.create(
                    dashboard=dashboard,
                    subject_type="user",
                    subject_id=self.actors[name][0].id,
                    access_level=spec.grant,
                )
        Share.create(dashboard=dashboard, subject_type="group", subject_id=self.editors.id, access_level="editor")
        share = Share.create(
            dashboard=dashboard, subject_type="user", subject_id=self.bystander.id, access_level="viewer"
        )
        return dashboard, share


class Target:
    """The objects one call's path names: the shared ones, or fresh ones for a call that may change them."""

    def __init__(self, matrix, audience, user, fresh):
        self.matrix, self.audience, self.user, self.fresh = matrix, audience, user, fresh

    @cached_property
    def _dashboard(self):
        audience = self.audience or "private"
        return self.matrix.make_dashboard(audience) if self.fresh else self.matrix.dashboards[audience]

    @property
    def dashboard_id(self):
        return self._dashboard[0].id

    @property
    def card_id(self):
        return Card.select(Card.id).where(Card.dashboard == self.dashboard_id).order_by(Card.id).first().id

    @property
    def page_number(self):
        """Page 2: a dashboard's only page cannot be deleted."""
        return 2

    @property
    def share_id(self):
        return self._dashboard[1].id

    @property
    def collection_id(self):
        return (
            Collection.create(project=self.matrix.project, name="Fresh") if self.fresh else self.matrix.collection
        ).id

    @property
    def group_id(self):
        return (self.matrix.world.group(self.matrix.org) if self.fresh else self.matrix.group).id

    @property
    def dataset_id(self):
        return (self.matrix.make_dataset() if self.fresh else self.matrix.dataset).id

    @property
    def slug(self):
        """The dashboard's public slug, or one of the right shape that names nothing."""
        return self._dashboard[0].public_slug or "no-such-public-dashboard"

    @property
    def user_id(self):
        return self.matrix.spare.id

    @property
    def token_id(self):
        """Always a new token of the caller's own (the owner's for an anonymous call)."""
        owner = self.user or self.matrix.owner
        return ApiToken.issue(owner, ApiToken.select().where(ApiToken.user == owner).first().project)[0].id


def store_snapshot():
    """Every row of every table, to compare before and after a refused write."""
    return {model.__name__: sorted(model.select().tuples(), key=repr) for model in schema.TABLES}


@pytest.fixture(scope="module")
def matrix(http, store):
    with store.connection_context():
        yield Matrix(World(http))
        schema.truncate_all()


def _cases():
    for operation_id in OPERATIONS:
        row = ROWS.get(operation_id)
        per_audience = row is not None and (row.scope == DASHBOARD or row.check)
        for audience in AUDIENCES if per_audience else (None,):
            yield pytest.param(operation_id, audience, id=f"{operation_id}-{audience or 'any'}")


def test_every_row_names_an_operation_of_the_spec():
    assert not set(ROWS) - set(OPERATIONS), f"rows for operations the spec no longer has: {set(ROWS) - set(OPERATIONS)}"


@pytest.mark.parametrize("operation_id,audience", list(_cases()))
def test_access(matrix, operation_id, audience):
    if operation_id not in ROWS:
        pytest.fail(
            f"{operation_id} has no row in ROWS (tests/test_access_matrix.py): add one line saying "
            f"what it needs, e.g. Row('e', DASHBOARD) or Row('member')"
        )
    row = ROWS[operation_id]
    method, template = OPERATIONS[operation_id]
    failures = []
    for name, actor in ACTORS.items():
        user, client = matrix.actors[name]
        status, code = expected(row, actor, audience)
        target = Target(matrix, audience, user, fresh=code is None and method != "GET")
        path = template.format_map({field: getattr(target, field) for field in _fields(template)})
        body = row.body(target) if callable(row.body) else row.body
        before = store_snapshot() if method != "GET" and code is not None else None
        kwargs = {"json": body} if body is not None else {}
        if row.check == "listed":
            kwargs["params"] = {"limit": 200}
        response = client.request(method, path, **kwargs)
        got = (response.status_code, response.json().get("error") if response.status_code >= 400 else None)
        if got != (status, code):
            failures.append(f"{name}: expected {status} {code}, got {got[0]} {got[1]}")
        elif before is not None and store_snapshot() != before:
            failures.append(f"{name}: refused with {status} {code}, but the store changed")
        elif code is None and row.check:
            failures += [f"{name}: {problem}" for problem in CHECKS[row.check](response.json(), target, actor)]
    assert not failures, f"{method} {template} ({audience or 'any audience'}):\n  " + "\n  ".join(failures)


def _listed(body, target, actor):
    listed = target.dashboard_id in {item["id"] for item in body["items"]}
    if listed != ("v" in rights(actor, target.audience)):
        yield f"the {target.audience} dashboard is {'' if listed else 'not '}listed"


def _rights(body, target, actor):
    held = "".join(right[0] for right in ("view", "comment", "edit") if body[right])
    if held != rights(actor, target.audience):
        yield f"permissions/me says {held!r}, expected {rights(actor, target.audience)!r}"


CHECKS = {"listed": _listed, "rights": _rights}


def _fields(template):
    return re.findall(r"{(\w+)}", template)
