"""Dashboard parameters: their definitions, and values that must fit their declared types."""

import datetime

from models.errors import InvalidParameters

# Python types a JSON value of each parameter type may take (bool is excluded from numbers).
_FITS = {
    "string": lambda v: isinstance(v, str),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "date": lambda v: isinstance(v, str) and _is_iso_date(v),
}


def _is_iso_date(text):
    try:
        datetime.date.fromisoformat(text)
    except ValueError:
        return False
    return len(text) == 10


def fits(kind, value):
    return _FITS[kind](value)


def validate_definitions(definitions):
    """Unique names, and defaults that fit their type (a list of them for `multiple`)."""
    errors, seen = [], set()
    for index, definition in enumerate(definitions):
        name = definition["name"]
        if name in seen:
            errors.append({"path": f"/parameters/{index}/name", "message": f"duplicate parameter name {name!r}"})
        seen.add(name)
        default = definition.get("default")
        if default is None:
            continue
        values = default if definition.get("multiple") else [default]
        if definition.get("multiple") and not isinstance(default, list):
            values = [object()]
        if not all(fits(definition["type"], value) for value in values):
            shape = "a list of " if definition.get("multiple") else ""
            errors.append({
                "path": f"/parameters/{index}/default",
                "message": f"default must be {shape}{definition['type']} values",
            })
    if errors:
        raise InvalidParameters("The dashboard parameters are inconsistent.", errors=errors)
    return [_normalized(d) for d in definitions]


def _normalized(definition):
    return {"multiple": False, "required": False, **definition}
