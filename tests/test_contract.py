"""Schemathesis over the whole contract, in-process: every operation, every check, authenticated.

The data is seeded once for the module (an admin with collections and dashboards), so that
generated and explicit examples reach real objects, and the stateful run follows the spec's links.
"""

import collections

import pytest
import schemathesis
from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test

from models.content import Collection, Dashboard
from models.identity import ApiToken, Org, Project, User

SUCCESSES = collections.Counter()


@pytest.fixture(scope="module")
def seeded(store):
    """An admin's token over a project with a small tree of collections and dashboards."""
    with store.connection_context():
        org = Org.create(name="contract")
        project = Project.create(org=org, name="default")
        admin = User.create(org=org, email="contract-admin@example.com", name="Admin", role="admin")
        top = Collection.create(project=project, name="Top")
        Collection.create(project=project, name="Child", parent=top)
        for index, audience in enumerate(("private", "org", "public")):
            Dashboard.create_with_first_page(
                project=project, owner=admin, collection=top if index else None,
                name=f"Dashboard {index}", description="seeded", parameters=[], default_audience=audience)
        _, token = ApiToken.issue(admin, project)
    yield token
    with store.connection_context():
        from models import schema
        schema.truncate_all()


@pytest.fixture(scope="module")
def api_schema(app, seeded):
    loaded = schemathesis.openapi.from_asgi("/api/openapi.json", app)

    @loaded.auth()
    class Bearer:
        def get(self, case, ctx):
            return seeded

        def set(self, case, data, ctx):
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}

    return loaded


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
def test_operation_conforms(case):
    response = case.call_and_validate()
    if 200 <= response.status_code < 300:
        SUCCESSES[f"{case.method} {case.path}"] += 1


def test_stateful_links(api_schema):
    class Workflow(api_schema.as_state_machine()):
        def after_call(self, response, case):
            if 200 <= response.status_code < 300:
                SUCCESSES[f"{case.method} {case.path}"] += 1

    run_state_machine_as_test(Workflow, settings=settings(max_examples=25, stateful_step_count=6, deadline=None))


def test_walk_along_the_links(api_schema, seeded):
    """One deterministic walk dashboard → card → page → layout with real ids, every answer checked.

    The random runs reach deep operations only by luck; this walk guarantees each is exercised
    with valid data, following the same links a client would.
    """
    def call(operation_id, status, **kwargs):
        case = api_schema.find_operation_by_id(operation_id).Case(headers={"Authorization": f"Bearer {seeded}"}, **kwargs)
        response = case.call_and_validate()
        assert response.status_code == status, response.text
        SUCCESSES[f"{case.method} {case.path}"] += 1
        return response.json() if response.content else None

    dashboard = call("handlers.dashboards.create_dashboard", 201, body={"name": "Walk"})
    at = {"dashboard_id": dashboard["id"]}
    card = call("handlers.cards.create_card", 201, path_parameters=at,
                body={"card_type": "text", "config": {"markdown": "walk"}})
    at_card = {**at, "card_id": card["id"]}
    call("handlers.cards.get_card", 200, path_parameters=at_card)
    call("handlers.cards.update_card", 200, path_parameters=at_card, body={"layout": {"x": 0, "y": 0, "w": 6, "h": 2}})
    copy = call("handlers.cards.duplicate_card", 201, path_parameters=at_card)
    call("handlers.layout.update_layout", 200, path_parameters=at, body=[{"card_id": copy["id"], "x": 6, "y": 0, "w": 6, "h": 2}])
    page = call("handlers.pages.create_page", 201, path_parameters=at, body={"name": "Second"})
    at_page = {**at, "page_number": page["page_number"]}
    call("handlers.pages.get_page", 200, path_parameters=at_page)
    call("handlers.pages.update_page", 200, path_parameters=at_page, body={"name": "Two", "position": 1})
    call("handlers.pages.delete_page", 204, path_parameters=at_page | {"page_number": 1})
    call("handlers.cards.delete_card", 204, path_parameters=at_card)
    call("handlers.dashboards.duplicate_dashboard", 201, path_parameters=at, body={})
    call("handlers.card_types.list_card_types", 200)


def test_every_operation_succeeded_at_least_once(api_schema):
    """Guard against a run where every case was refused (a bad token passes every check)."""
    operations = {f"{op.method.upper()} {op.path}" for op in (r.ok() for r in api_schema.get_all_operations())}
    missing = sorted(operations - set(SUCCESSES))
    assert not missing, f"no 2xx answer for {missing}"
