"""The contract itself: valid OpenAPI 3.0.3, every operation named and resolvable, errors documented."""

import re

import pytest
import yaml
from openapi_spec_validator import validate
from starlette.testclient import TestClient

import framework
from tests.conftest import BASE, SPEC

OPERATIONS = [
    (path, method, op)
    for path, item in SPEC["paths"].items()
    for method, op in item.items()
    if isinstance(op, dict) and "responses" in op
]


def test_spec_is_valid_openapi_303():
    assert SPEC["openapi"] == "3.0.3"
    validate(SPEC)


def test_operation_ids_are_unique():
    ids = [op["operationId"] for _, _, op in OPERATIONS]
    assert len(ids) == len(set(ids))


def _links(node):
    if isinstance(node, dict):
        if "links" in node:
            yield from node["links"].values()
        for value in node.values():
            yield from _links(value)


def test_links_name_operations_of_the_spec():
    ids = {op["operationId"] for _, _, op in OPERATIONS}
    linked = {link["operationId"] for link in _links(SPEC["paths"])}
    assert linked and linked <= ids, linked - ids


@pytest.mark.parametrize("path,method,op", OPERATIONS, ids=[f"{m.upper()} {p}" for p, m, _ in OPERATIONS])
def test_operation_is_complete_and_resolves(path, method, op):
    # A camelCase operationId (what generated clients name their functions after), resolved to the
    # one snake_case handler of that name in handlers/ (framework.HandlerResolver).
    assert re.fullmatch(r"[a-z]+(?:[A-Z][a-z]+)*", op["operationId"]), op["operationId"]
    name = re.sub(r"[A-Z]", lambda m: "_" + m[0].lower(), op["operationId"])
    defined = [
        module
        for module in framework._handler_modules("handlers")
        if getattr(module, name, None) is not None and getattr(module, name).__module__ == module.__name__
    ]
    assert len(defined) == 1, (name, defined)
    assert op.get("summary") and op.get("tags")
    assert "default" in op["responses"]
    secured = op.get("security", SPEC["security"]) != []
    assert ("401" in op["responses"]) == secured
    if "requestBody" in op:
        assert {"400", "413", "415"} <= set(op["responses"])


def _resolve(node):
    while isinstance(node, dict) and "$ref" in node:
        section, name = node["$ref"].split("/")[-2:]
        node = SPEC["components"][section][name]
    return node


QUERY_PARAMETERS = [
    (f"{method.upper()} {path} {parameter['name']}", parameter)
    for path, method, op in OPERATIONS
    for parameter in map(_resolve, op.get("parameters", []))
    if parameter["in"] == "query"
]


@pytest.mark.parametrize("name,parameter", QUERY_PARAMETERS, ids=[name for name, _ in QUERY_PARAMETERS])
def test_query_parameter_example_is_its_default_or_none(name, parameter):
    """Swagger UI's try-it-out fills a query parameter with its example and sends it: an example
    other than the default would filter the answer of a reader who only wanted to look."""
    schema = _resolve(parameter["schema"])
    examples = [
        parameter.get("example"),
        schema.get("example"),
        *(_resolve(example)["value"] for example in parameter.get("examples", {}).values()),
    ]
    assert all(example is None or example == schema.get("default") for example in examples), name


@pytest.mark.parametrize(
    "path,media_type",
    [
        ("/api/openapi.json", "application/json"),
        ("/api/openapi.yaml", "text/yaml"),
        ("/api/ui/", "text/html"),
    ],
)
def test_spec_and_docs_are_served_without_a_token(http, path, media_type):
    response = http.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(media_type)
    if path.endswith(".json"):
        assert response.json()["info"]["title"] == SPEC["info"]["title"]


def _refs(node):
    """How many `$ref`s a document holds."""
    if isinstance(node, dict):
        return ("$ref" in node) + sum(map(_refs, node.values()))
    if isinstance(node, list):
        return sum(map(_refs, node))
    return 0


def test_served_spec_is_the_authored_file(http):
    """The running service serves openapi.yaml as written, `$ref`s and all (not Connexion's
    resolved copy, with every `$ref` inlined), in JSON and in YAML."""
    served = http.get("/api/openapi.json").json()
    assert served == SPEC
    assert yaml.safe_load(http.get("/api/openapi.yaml").text) == SPEC
    assert _refs(served) == _refs(SPEC) > 500
    assert http.get("/api/openapi.json").json() == served  # encoded once, the same every time


def test_swagger_ui_loads_the_served_spec(http):
    assert 'url: "/api/openapi.json"' in http.get("/api/ui/").text


def test_served_spec_behind_a_path_prefix_names_its_server_there(app, http):
    """Behind a proxy that strips a prefix (the server run with that root path), `servers` is
    where the API is from outside, as Connexion sets it; the rest is the file as written."""
    with TestClient(app, root_path="/prefix") as prefixed:
        served = prefixed.get(f"/prefix{BASE}/openapi.json").json()
        assert served == {**SPEC, "servers": [{"url": f"/prefix{BASE}"}]}
        assert yaml.safe_load(prefixed.get(f"/prefix{BASE}/openapi.yaml").text) == served
        assert f'url: "/prefix{BASE}/openapi.json"' in prefixed.get(f"/prefix{BASE}/ui/").text
    assert http.get(f"{BASE}/openapi.json").json()["servers"] == SPEC["servers"]
