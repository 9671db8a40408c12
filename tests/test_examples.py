"""Every example in the contract validates against its own schema, and every operation and schema has one.

The examples are what the published docs show and what Schemathesis sends in its explicit-example
phase, so a stale example misleads readers and the contract tests alike.
"""

import pytest
from openapi_schema_validator import OAS30Validator

from tests.conftest import SPEC

COMPONENTS = SPEC["components"]
SCHEMA_KEYS = {"type", "allOf", "oneOf", "anyOf", "properties", "enum", "items", "$ref", "nullable"}


def _resolve(node):
    while isinstance(node, dict) and "$ref" in node:
        section, name = node["$ref"].split("/")[-2:]
        node = COMPONENTS[section][name]
    return node


def _examples(node, where="#"):
    """(where, example, schema) for every example in the spec: schemas' own `example`, and the
    `example`/`examples` of media types and parameters. Example values are not searched."""
    if isinstance(node, list):
        for index, item in enumerate(node):
            yield from _examples(item, f"{where}/{index}")
        return
    if not isinstance(node, dict):
        return
    if "example" in node and "schema" in node:
        yield where, node["example"], node["schema"]
    elif "example" in node and SCHEMA_KEYS & set(node):
        yield where, node["example"], node
    for name, example in node.get("examples", {}).items() if "schema" in node else ():
        yield f"{where}/examples/{name}", _resolve(example)["value"], node["schema"]
    for key, value in node.items():
        if key not in ("example", "examples"):
            yield from _examples(value, f"{where}/{key}")


EXAMPLES = list(_examples(SPEC))


def _has_example(content):
    return "example" in content or "examples" in content or "example" in _resolve(content.get("schema", {}))


OPERATIONS = [
    (f"{method.upper()} {path}", op)
    for path, item in SPEC["paths"].items()
    for method, op in item.items()
    if isinstance(op, dict) and "responses" in op
]


@pytest.mark.parametrize("where,example,schema", EXAMPLES, ids=[where for where, _, _ in EXAMPLES])
def test_example_validates_against_its_schema(where, example, schema):
    validator = OAS30Validator({**schema, "components": COMPONENTS}, format_checker=OAS30Validator.FORMAT_CHECKER)
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(example)]
    assert not errors, errors


@pytest.mark.parametrize("name", sorted(COMPONENTS["schemas"]))
def test_every_component_schema_has_an_example(name):
    assert "example" in COMPONENTS["schemas"][name], f"components.schemas.{name} has no example"


@pytest.mark.parametrize("operation,op", OPERATIONS, ids=[name for name, _ in OPERATIONS])
def test_every_operation_body_has_an_example(operation, op):
    """Request and response bodies, error documents included, each show an example."""
    bodies = {"request": op.get("requestBody", {})} | {
        status: _resolve(response) for status, response in op["responses"].items()
    }
    missing = [
        f"{part} {media_type}"
        for part, body in bodies.items()
        for media_type, content in _resolve(body).get("content", {}).items()
        if not _has_example(content)
    ]
    assert not missing, f"{operation}: no example for {missing}"
    assert any(_resolve(body).get("content") for body in bodies.values())


def test_the_walk_finds_examples():
    """A guard on the walker itself: media-type, parameter and schema examples are all seen."""
    wheres = [where for where, _, _ in EXAMPLES]
    assert any("/content/text~1csv" in w or "text/csv" in w for w in wheres)
    assert any(w.startswith("#/components/schemas/") for w in wheres)
    assert any(w.startswith("#/components/parameters/") for w in wheres)
    assert len(EXAMPLES) > len(COMPONENTS["schemas"])
