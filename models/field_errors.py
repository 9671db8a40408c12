"""JSON Schema errors at the field at fault: the request body's schema (framework.py) and each
card type's config schema (models/card_types.py) report through these.

jsonschema puts an unknown property and a missing required one at the object that holds
them (`/layout`), with the name only in the message. Here each is an error of its own at its
own JSON Pointer: `/layout/bogus` where it was sent, `/layout/h` where it belongs.
"""

import re
from collections.abc import Callable, Iterator
from typing import Any

from jsonschema import ValidationError
from jsonschema.protocols import Validator
from jsonschema.validators import extend

# A JSON Schema keyword's check: (validator, the keyword's value, instance, schema) -> errors.
Keyword = Callable[[Validator, Any, Any, dict[str, Any]], Iterator[ValidationError]]


def unknown_properties(additional_properties: Keyword) -> Keyword:
    """`additionalProperties: false` with one error per unknown property, at its own pointer.
    Any other `additionalProperties` (a schema: it descends into each such property) is
    `additional_properties`, the validator's own."""

    def additional(
        validator: Validator, allowed: Any, instance: Any, schema: dict[str, Any]
    ) -> Iterator[ValidationError]:
        if allowed is not False or not validator.is_type(instance, "object"):
            yield from additional_properties(validator, allowed, instance, schema)
            return
        known, patterns = schema.get("properties", {}), schema.get("patternProperties", {})
        for name in instance:
            if name not in known and not any(re.search(pattern, name) for pattern in patterns):
                yield ValidationError(f"Additional properties are not allowed ({name!r} was unexpected)", path=[name])

    return additional


def missing_properties(
    validator: Validator, required: list[str], instance: Any, schema: dict[str, Any]
) -> Iterator[ValidationError]:
    """`required` with each missing property at its own pointer, where it belongs."""
    if not validator.is_type(instance, "object"):
        return
    for name in required:
        if name not in instance:
            yield ValidationError(f"{name!r} is a required property", path=[name])


def missing_dependencies(
    validator: Validator, dependent: dict[str, list[str]], instance: Any, schema: dict[str, Any]
) -> Iterator[ValidationError]:
    """`dependentRequired` (2019-09 and later) with each missing property at its own pointer."""
    if not validator.is_type(instance, "object"):
        return
    for name, needs in dependent.items():
        if name in instance:
            for need in needs:
                if need not in instance:
                    yield ValidationError(f"{need!r} is a dependency of {name!r}", path=[need])


def at_fields(validator_class: type[Validator]) -> type[Validator]:
    """`validator_class` reporting unknown and missing properties at their own pointers."""
    keywords: dict[str, Keyword] = {
        "additionalProperties": unknown_properties(validator_class.VALIDATORS["additionalProperties"]),
        "required": missing_properties,
    }
    if "dependentRequired" in validator_class.VALIDATORS:
        keywords["dependentRequired"] = missing_dependencies
    return extend(validator_class, keywords)
