"""Check the built HTML reference: every operation with its summary, description, status codes
and body examples, and the renderer inlined (the page must open without reaching a CDN).

Redoc renders in the browser from the definition embedded in the page, so that definition is
what is checked against openapi.yaml.  Usage: check_docs.py openapi.yaml docs/index.html
"""

import json
import sys
from pathlib import Path

import yaml

MARKER = "const __redoc_definition = "


def deref(document, node):
    while isinstance(node, dict) and "$ref" in node:
        target = document
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def body_examples(document, operation):
    """{(part, media type): example} for the request and every response of an operation."""
    bodies = {"request": operation.get("requestBody", {}), **operation["responses"]}
    found = {}
    for part, body in bodies.items():
        for media_type, content in deref(document, body).get("content", {}).items():
            example = content.get("example", deref(document, content.get("schema", {})).get("example"))
            found[(part, media_type)] = example
    return found


def problems(spec, page):
    if MARKER not in page:
        return ["no embedded definition: not a Redoc page?"]
    definition, _ = json.JSONDecoder().raw_decode(page, page.index(MARKER) + len(MARKER))
    errors = ["the page loads scripts from a CDN"] if '<script src="http' in page else []
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            name = f"{method.upper()} {path}"
            built = definition["paths"].get(path, {}).get(method)
            if built is None:
                errors.append(f"{name}: missing")
                continue
            for field in ("operationId", "summary", "description"):
                if not operation.get(field) or built.get(field) != operation[field]:
                    errors.append(f"{name}: {field} missing or changed")
            if sorted(built["responses"]) != sorted(operation["responses"]):
                errors.append(f"{name}: status codes {sorted(built['responses'])}")
            expected, shown = body_examples(spec, operation), body_examples(definition, built)
            errors += [
                f"{name}: no example for {part} {media}"
                for (part, media), example in expected.items()
                if example is None or shown.get((part, media)) != example
            ]
    return errors


if __name__ == "__main__":
    spec_file, page_file = sys.argv[1:3]
    spec = yaml.safe_load(Path(spec_file).read_text(encoding="utf-8"))
    found = problems(spec, Path(page_file).read_text(encoding="utf-8"))
    for line in found:
        print(f"{page_file}: {line}", file=sys.stderr)
    count = sum(
        1 for item in spec["paths"].values() for op in item.values() if isinstance(op, dict) and "responses" in op
    )
    print(f"{page_file}: {count} operations checked, {len(found)} problems")
    sys.exit(1 if found else 0)
