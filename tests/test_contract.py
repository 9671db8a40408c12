"""Schemathesis over the whole contract, in-process: every operation, every check, authenticated.

The data is seeded once for the module (an admin with collections and dashboards), so that
generated and explicit examples reach real objects, and the stateful run follows the spec's links.
"""

import collections

import pytest
import schemathesis
from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test
from schemathesis.core import NOT_SET

from models import schema as store_schema
from models.content import Card, Collection, Dashboard, Page
from models.dataset_tables import create_dataset, create_table, normalize_columns
from models.datasets import Dataset
from models.identity import ApiToken, Group, GroupMember, Org, Project, User
from tests.conftest import SPEC

SUCCESSES = collections.Counter()
# Seeded objects that fit the examples of openapi.yaml: the columns of the RowsAppend and text/csv
# examples, the public render's slug example and the render parameters example.
ANCHOR_COLUMNS = [
    {"name": "day", "type": "date"},
    {"name": "region", "type": "string"},
    {"name": "amount", "type": "number"},
]
ANCHOR_SLUG = SPEC["paths"]["/public/dashboards/{slug}/render"]["parameters"][0]["schema"]["example"]
ANCHOR_PARAMETERS = [{"name": "region", "type": "string", "multiple": True, "required": False}]


class Seed:
    """The contract's data: an admin (in a group) over a small tree of collections, dashboards and
    the anchor dataset and dashboard. `reset()` empties the store and lays the same data again with
    the same ids, so that every stateful scenario starts from the same state."""

    def __init__(self, store):
        self.store = store
        self.reset()

    def reset(self):
        with self.store.connection_context():
            store_schema.truncate_all()
            org = Org.create(name="contract")
            self.project = Project.create(org=org, name="default")
            self.user = User.create(org=org, email="contract-admin@example.com", name="Admin", role="admin")
            GroupMember.create(group=Group.create(org=org, name="Seeded"), user=self.user)
            top = Collection.create(project=self.project, name="Top")
            Collection.create(project=self.project, name="Child", parent=top)
            dataset = create_dataset(self.project, "Orders", ANCHOR_COLUMNS)
            self.anchors = {"dataset_id": dataset.id, "project_id": self.project.id, "owner_id": self.user.id}
            self.anchors["dashboard_id"] = _restore_dashboard(self.anchors)  # first, so its id is 1
            for index, audience in enumerate(("private", "org", "public")):
                Dashboard.create_with_first_page(
                    project=self.project,
                    owner=self.user,
                    collection=top if index else None,
                    name=f"Dashboard {index}",
                    description="seeded",
                    parameters=[],
                    default_audience=audience,
                )
            self.token = ApiToken.issue(self.user, self.project)[1]

    def current(self):
        """The admin's token, reissued once a generated DELETE /tokens/{id} has revoked it."""
        with self.store.connection_context():
            if not ApiToken.select().where(ApiToken.token_hash == ApiToken.hash(self.token)).exists():
                self.token = ApiToken.issue(self.user, self.project)[1]
        return self.token


@pytest.fixture(scope="module")
def seeded(store):
    seed = Seed(store)
    yield seed
    with store.connection_context():
        store_schema.truncate_all()


def restore_anchors(store, anchors):
    """Put back the seeded dataset and public dashboard if earlier cases deleted or changed them
    (their ids are the ones generated and example path parameters hit first), so that every
    operation can succeed."""
    with store.connection_context():
        if Dataset.get_or_none(Dataset.id == anchors["dataset_id"]) is None:
            columns = normalize_columns(ANCHOR_COLUMNS)
            Dataset.insert(
                id=anchors["dataset_id"], project=anchors["project_id"], name="Orders", columns=columns
            ).execute()
            create_table(Dataset.get_by_id(anchors["dataset_id"]))
        _restore_dashboard(anchors)


def _restore_dashboard(anchors):
    """The public dashboard with the example slug, a kpi and a text card on page 1; its id."""
    fields = {
        "project": anchors["project_id"],
        "owner": anchors["owner_id"],
        "name": "Anchor",
        "parameters": ANCHOR_PARAMETERS,
        "default_audience": "public",
        "public_slug": ANCHOR_SLUG,
    }
    dashboard_id = anchors.get("dashboard_id")
    if dashboard_id is None:
        dashboard_id = Dashboard.create(**fields).id
    elif not Dashboard.update(**fields).where(Dashboard.id == dashboard_id).execute():
        Dashboard.insert(id=dashboard_id, **fields).execute()
    dashboard = Dashboard.get_by_id(dashboard_id)
    page = Page.get_or_none((Page.dashboard == dashboard.id) & (Page.position == 1)) or Page.create(
        dashboard=dashboard.id, position=1, name="Page 1"
    )
    if not Card.select().where(Card.page == page.id).exists():
        kpi = {
            "dataset_id": anchors["dataset_id"],
            "metric": {"agg": "sum", "column": "amount"},
            "filters": [{"column": "region", "op": "in", "value": {"param": "region"}}],
        }
        Card.create(dashboard=dashboard.id, page=page.id, card_type="kpi", config=kpi, x=0, y=0, w=6, h=4)
        Card.create(
            dashboard=dashboard.id, page=page.id, card_type="text", config={"markdown": "# Hi"}, x=6, y=0, w=6, h=4
        )
    return dashboard.id


@pytest.fixture(scope="module")
def api_schema(app, seeded):
    loaded = schemathesis.openapi.from_asgi("/api/openapi.json", app)

    # Not cached: a generated DELETE /tokens/{id} may revoke the admin's token, and then the
    # next case needs a fresh one.
    @loaded.auth(refresh_interval=None)
    class Bearer:
        def get(self, case, ctx):
            return seeded.current()

        def set(self, case, data, ctx):
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}

    return loaded


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
def test_operation_conforms(case, store, seeded):
    restore_anchors(store, seeded.anchors)
    response = case.call_and_validate()
    if 200 <= response.status_code < 300:
        SUCCESSES[f"{case.method} {case.path}"] += 1


def test_stateful_links(api_schema, seeded):
    class Workflow(api_schema.as_state_machine()):
        def setup(self):
            # The same starting state for every scenario: Hypothesis replays a scenario and
            # expects the same answers, hence the same choices, each time.
            seeded.reset()

        def after_call(self, response, case):
            if 200 <= response.status_code < 300:
                SUCCESSES[f"{case.method} {case.path}"] += 1

    run_state_machine_as_test(Workflow, settings=settings(max_examples=25, stateful_step_count=6, deadline=None))


def test_composed_calls(api_schema, seeded, store):
    """Calls whose success needs two related objects the generator cannot pair (a dashboard and a
    user of its org, a group and a member, a fresh empty collection): once each, under every check."""
    with store.connection_context():
        dashboard = Dashboard.create_with_first_page(project=seeded.project, owner=seeded.user, name="Composed")
        group = Group.create(org=seeded.user.org_id, name="Composed")
        collection = Collection.create(project=seeded.project, name="Composed")
    admin = seeded.user.id

    def call(method, path, body=NOT_SET, **path_parameters):
        case = api_schema[path][method].Case(
            path_parameters=path_parameters, body=body, headers={"Authorization": f"Bearer {seeded.current()}"}
        )
        response = case.call_and_validate()
        assert 200 <= response.status_code < 300, response.text
        SUCCESSES[f"{method} {path}"] += 1
        return response

    share = call(
        "POST",
        "/dashboards/{dashboard_id}/shares",
        dashboard_id=dashboard.id,
        body={"subject_type": "user", "subject_id": admin, "access_level": "viewer"},
    ).json()
    call("DELETE", "/dashboards/{dashboard_id}/shares/{share_id}", dashboard_id=dashboard.id, share_id=share["id"])
    call("PUT", "/groups/{group_id}/members/{user_id}", group_id=group.id, user_id=admin)
    call("DELETE", "/groups/{group_id}/members/{user_id}", group_id=group.id, user_id=admin)
    call("DELETE", "/dashboards/collections/{collection_id}", collection_id=collection.id)


def test_walk_along_the_links(api_schema, seeded, store):
    """One deterministic walk dashboard → card → page → layout with real ids, every answer checked.

    The random runs reach deep operations only by luck; this walk guarantees each is exercised
    with valid data, following the same links a client would.
    """

    def call(operation_id, status, **kwargs):
        case = api_schema.find_operation_by_id(operation_id).Case(
            headers={"Authorization": f"Bearer {seeded.current()}"}, **kwargs
        )
        response = case.call_and_validate()
        assert response.status_code == status, response.text
        SUCCESSES[f"{case.method} {case.path}"] += 1
        return response.json() if response.content else None

    restore_anchors(store, seeded.anchors)
    call("listTemplates", 200)
    call(
        "createFromTemplate",
        201,
        body={"template_id": "time-series", "dataset_id": seeded.anchors["dataset_id"], "name": "Walk series"},
    )
    dashboard = call("createDashboard", 201, body={"name": "Walk"})
    at = {"dashboard_id": dashboard["id"]}
    card = call("createCard", 201, path_parameters=at, body={"card_type": "text", "config": {"markdown": "walk"}})
    at_card = {**at, "card_id": card["id"]}
    call("getCard", 200, path_parameters=at_card)
    call("updateCard", 200, path_parameters=at_card, body={"layout": {"x": 0, "y": 0, "w": 6, "h": 2}})
    copy = call("duplicateCard", 201, path_parameters=at_card)
    call("updateLayout", 200, path_parameters=at, body=[{"card_id": copy["id"], "x": 6, "y": 0, "w": 6, "h": 2}])
    page = call("createPage", 201, path_parameters=at, body={"name": "Second"})
    at_page = {**at, "page_number": page["page_number"]}
    call("getPage", 200, path_parameters=at_page)
    call("updatePage", 200, path_parameters=at_page, body={"name": "Two", "position": 1})
    call("deletePage", 204, path_parameters=at_page | {"page_number": 1})
    call("deleteCard", 204, path_parameters=at_card)
    call("duplicateDashboard", 201, path_parameters=at, body={})
    call("listCardTypes", 200)


def test_every_operation_succeeded_at_least_once(api_schema):
    """Guard against a run where every case was refused (a bad token passes every check)."""
    operations = {f"{op.method.upper()} {op.path}" for op in (r.ok() for r in api_schema.get_all_operations())}
    missing = sorted(operations - set(SUCCESSES))
    assert not missing, f"no 2xx answer for {missing}"
