"""One list envelope: every list operation of the spec answers `{items, total, limit, offset}`
and pages by `limit` and `offset`, with the same bounds and defaults, in a stable order.

The lists are read from the spec (a GET whose 200 holds an `items` array), so a new list that
answers another shape, or lacks the paging parameters, fails here.
"""

import pytest

from tests.conftest import SPEC, problem

PAGE = SPEC["components"]["schemas"]["Page"]
# The preview of a dataset's rows pages the same way, with a larger window of its own (1.0.0: up
# to 1000 rows, 100 by default), which a release cannot narrow.
OWN_LIMIT = {"previewRows"}


def _resolve(node):
    while isinstance(node, dict) and "$ref" in node:
        section, name = node["$ref"].split("/")[-2:]
        node = SPEC["components"][section][name]
    return node


def _merged(schema):
    """A schema's required names and properties, `allOf` parts included."""
    schema = _resolve(schema)
    required, properties = set(schema.get("required", [])), dict(schema.get("properties", {}))
    for part in schema.get("allOf", []):
        part_required, part_properties = _merged(part)
        required |= part_required
        properties.update(part_properties)
    return required, properties


def _is_list(operation):
    answer = _resolve(operation["responses"].get("200", {}))
    schema = answer.get("content", {}).get("application/json", {}).get("schema")
    return schema is not None and _resolve(_merged(schema)[1].get("items", {})).get("type") == "array"


LISTS = {
    operation["operationId"]: (path, operation)
    for path, item in SPEC["paths"].items()
    for method, operation in item.items()
    if method == "get" and _is_list(operation)
}


def test_the_lists_are_found():
    assert set(LISTS) == {
        "listCollections",
        "listDashboards",
        "listDatasets",
        "previewRows",
        "listShares",
        "listUsers",
        "listGroups",
        "listTokens",
        "listCardTypes",
        "listTemplates",
    }


@pytest.mark.parametrize("operation_id", sorted(LISTS))
def test_every_list_declares_the_envelope_and_the_paging_parameters(operation_id):
    _, operation = LISTS[operation_id]
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    required, properties = _merged(schema)
    assert {"items", "total", "limit", "offset"} <= required
    assert {name: properties[name] for name in ("total", "limit", "offset")} == PAGE["properties"]
    parameters = {_resolve(p)["name"]: p for p in operation.get("parameters", [])}
    assert parameters["offset"] == {"$ref": "#/components/parameters/Offset"}
    if operation_id not in OWN_LIMIT:
        assert parameters["limit"] == {"$ref": "#/components/parameters/Limit"}
    assert "400" in operation["responses"]  # a limit or offset out of bounds


@pytest.fixture
def lists(world):
    """An org admin's org and project holding at least three of everything a list shows; the
    path of each list."""
    org = world.org()
    admin, client = world.user(org=org, role="admin")
    for index in range(3):
        world.user(org=org)
        world.group(org)
        client.post("/tokens")
        client.post("/dashboards/collections", json={"name": f"Folder {index}"})
        client.post("/datasets", json={"name": f"Data {index}", "columns": [{"name": "n", "type": "integer"}]})
    dashboard = client.post("/dashboards", json={"name": "Shared"}).json()
    for index in range(3):
        client.post("/dashboards", json={"name": f"Dashboard {index}"})
    users = client.get("/users").json()["items"]
    for user in users[:3]:
        response = client.post(
            f"/dashboards/{dashboard['id']}/shares",
            json={"subject_type": "user", "subject_id": user["id"], "access_level": "viewer"},
        )
        assert response.status_code == 201, response.text
    dataset = client.get("/datasets").json()["items"][0]
    client.post(f"/datasets/{dataset['id']}/rows", json={"rows": [[1], [2], [3], [4]]})
    ids = {"dashboard_id": dashboard["id"], "dataset_id": dataset["id"]}
    return client, {operation_id: path.format(**ids) for operation_id, (path, _) in LISTS.items()}


@pytest.mark.parametrize("operation_id", sorted(LISTS))
def test_limit_and_offset_window_the_list_and_total_counts_all(lists, operation_id):
    client, paths = lists
    whole = client.get(paths[operation_id])
    assert whole.status_code == 200, whole.text
    body = whole.json()
    default_limit = 100 if operation_id in OWN_LIMIT else 50
    assert (body["limit"], body["offset"]) == (default_limit, 0)
    items = body["items"]
    assert len(items) == body["total"] >= 3
    for limit, offset in [(1, 0), (2, 1), (2, len(items) - 1), (200, 2), (5, len(items)), (1, 1000000)]:
        page = client.get(paths[operation_id], params={"limit": limit, "offset": offset})
        assert page.status_code == 200, page.text
        assert page.json() == {
            **page.json(),
            "items": items[offset : offset + limit],
            "total": len(items),
            "limit": limit,
            "offset": offset,
        }


@pytest.mark.parametrize("operation_id", sorted(LISTS))
@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": "x"}, {"offset": -1}, {"offset": 1000001}])
def test_out_of_bounds_paging_is_refused(lists, operation_id, params):
    client, paths = lists
    problem(client.get(paths[operation_id], params=params), 400, "invalid_request")


@pytest.mark.parametrize("operation_id", sorted(set(LISTS) - OWN_LIMIT))
def test_the_largest_page_is_200(lists, operation_id):
    client, paths = lists
    problem(client.get(paths[operation_id], params={"limit": 201}), 400, "invalid_request")
    assert client.get(paths[operation_id], params={"limit": 200}).status_code == 200
