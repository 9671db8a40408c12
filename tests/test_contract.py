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
from models.dataset_tables import create_dataset, create_table, normalize_columns
from models.datasets import Dataset
from models.identity import ApiToken, Org, Project, User

SUCCESSES = collections.Counter()
# The columns the RowsAppend and text/csv examples of openapi.yaml fit.
ANCHOR_COLUMNS = [{"name": "day", "type": "date"}, {"name": "region", "type": "string"}, {"name": "amount", "type": "number"}]


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
        dataset = create_dataset(project, "Orders", ANCHOR_COLUMNS)
        _, token = ApiToken.issue(admin, project)
    yield token, {"dataset_id": dataset.id, "project_id": project.id}
    with store.connection_context():
        from models import schema
        schema.truncate_all()


def restore_anchors(store, anchors):
    """Put back the seeded dataset if an earlier case deleted it (its id is the one generated
    and example path parameters hit first), so that every operation can succeed."""
    with store.connection_context():
        if Dataset.get_or_none(Dataset.id == anchors["dataset_id"]) is None:
            columns = normalize_columns(ANCHOR_COLUMNS)
            Dataset.insert(id=anchors["dataset_id"], project=anchors["project_id"], name="Orders", columns=columns).execute()
            create_table(Dataset.get_by_id(anchors["dataset_id"]))


@pytest.fixture(scope="module")
def api_schema(app, seeded):
    token, _ = seeded
    loaded = schemathesis.openapi.from_asgi("/api/openapi.json", app)

    @loaded.auth()
    class Bearer:
        def get(self, case, ctx):
            return token

        def set(self, case, data, ctx):
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}

    return loaded


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
def test_operation_conforms(case, store, seeded):
    restore_anchors(store, seeded[1])
    response = case.call_and_validate()
    if 200 <= response.status_code < 300:
        SUCCESSES[f"{case.method} {case.path}"] += 1


def test_stateful_links(api_schema):
    class Workflow(api_schema.as_state_machine()):
        def after_call(self, response, case):
            if 200 <= response.status_code < 300:
                SUCCESSES[f"{case.method} {case.path}"] += 1

    run_state_machine_as_test(Workflow, settings=settings(max_examples=25, stateful_step_count=6, deadline=None))


def test_every_operation_succeeded_at_least_once(api_schema):
    """Guard against a run where every case was refused (a bad token passes every check)."""
    operations = {f"{op.method.upper()} {op.path}" for op in (r.ok() for r in api_schema.get_all_operations())}
    missing = sorted(operations - set(SUCCESSES))
    assert not missing, f"no 2xx answer for {missing}"
