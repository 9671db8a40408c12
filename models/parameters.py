"""Dashboard parameters: their definitions, and values that must fit their declared types."""

import datetime
import math
import re
from collections.abc import Callable
from typing import Any

from models.errors import InvalidParameter, InvalidParameters

# Python types a JSON value of each parameter type may take (bool is excluded from numbers).
_FITS: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "date": lambda v: isinstance(v, str) and _is_iso_date(v),
}


def _is_iso_date(text: str) -> bool:
    try:
        datetime.date.fromisoformat(text)
    except ValueError:
        return False
    return len(text) == 10


def fits(kind: str, value: Any) -> bool:
    return _FITS[kind](value)


def validate_definitions(definitions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Unique names, and defaults that fit their type (a list of them for `multiple`)."""
    errors: list[dict[str, str]] = []
    seen = set()
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
            errors.append(
                {
                    "path": f"/parameters/{index}/default",
                    "message": f"default must be {shape}{definition['type']} values",
                }
            )
    if errors:
        raise InvalidParameters("The dashboard parameters are inconsistent.", errors=errors)
    return [_normalized(d) for d in definitions]


def _normalized(definition: dict[str, Any]) -> dict[str, Any]:
    return {"multiple": False, "required": False, **definition}


def _parse(kind: str, text: str) -> Any:
    """A query-string value as its declared type, or ValueError."""
    if kind == "string":
        return text
    if kind == "integer":
        if not re.fullmatch(r"[+-]?\d{1,18}", text):
            raise ValueError("expected an integer")
        return int(text)
    if kind == "number":
        value = float(text)
        if not math.isfinite(value):
            raise ValueError("expected a finite number")
        return int(value) if re.fullmatch(r"[+-]?\d{1,18}", text) else value
    if kind == "boolean":
        if text not in ("true", "false"):
            raise ValueError("expected true or false")
        return text == "true"
    if not _is_iso_date(text):
        raise ValueError("expected a date as YYYY-MM-DD")
    return text


def resolve_values(
    definitions: list[dict[str, Any]], given: dict[str, Any], source: "Source | None" = None
) -> dict[str, Any]:
    """Typed values for every defined parameter, from `given` as `source` reads it: QUERY (the
    default), {name: [raw strings]} from a query string; BODY, {name: a JSON value or a list of
    them} from a request body.

    Unknown names, values that do not fit, a single-valued parameter given twice and a required
    parameter without a value or default are InvalidParameter (400), each at `source`'s path for
    the name. Defaults fill the rest.
    """
    source = source or QUERY
    by_name = {d["name"]: d for d in definitions}
    problems = {name: "the dashboard has no such parameter" for name in given if name not in by_name}
    values: dict[str, Any] = {}
    for name, definition in by_name.items():
        try:
            values[name] = source.value(definition, given.get(name))
        except ValueError as exc:
            problems[name] = str(exc)
    if problems:
        raise InvalidParameter(
            "The render parameters do not fit the dashboard.",
            errors=[{"path": source.path(name), "message": message} for name, message in sorted(problems.items())],
        )
    return values


def _default(definition: dict[str, Any]) -> Any:
    value = definition.get("default")
    if definition.get("required") and value in (None, []):
        raise ValueError("a value is required")
    return value


def _value(definition: dict[str, Any], raw: list[str] | None) -> Any:
    if not raw:
        return _default(definition)
    if len(raw) > 1 and not definition.get("multiple"):
        raise ValueError("takes one value")
    try:
        parsed = [_parse(definition["type"], text) for text in raw]
    except ValueError as exc:
        raise ValueError(f"{exc} ({definition['type']})") from None
    return parsed if definition.get("multiple") else parsed[0]


# What a JSON value of each type must be, in the words the query string's errors use.
_EXPECTED = {
    "string": "expected a string",
    "number": "expected a number",
    "integer": "expected an integer",
    "boolean": "expected true or false",
    "date": "expected a date as YYYY-MM-DD",
}


def _json_value(definition: dict[str, Any], given: Any) -> Any:
    """A body's value: one JSON value of the parameter's type (as its `default` is), or a list of
    them for a `multiple` parameter, which also takes one value as a list of one. Absent, the
    default. (The spec refuses an empty list and null before this is asked.)"""
    if given is None:
        return _default(definition)
    multiple = definition.get("multiple")
    if isinstance(given, list) and not multiple:
        raise ValueError("takes one value, not a list")
    values = given if isinstance(given, list) else [given]
    kind = definition["type"]
    if not all(fits(kind, value) for value in values):
        raise ValueError(f"{_EXPECTED[kind]} ({kind})")
    return list(values) if multiple else values[0]


class Source:
    """Where render values come from: how one is read, and the error path that names it."""

    def __init__(
        self, prefix: str, value: Callable[[dict[str, Any], Any], Any], escape: Callable[[str], str] = str
    ) -> None:
        self.prefix, self.value, self.escape = prefix, value, escape

    def path(self, name: str) -> str:
        return self.prefix + self.escape(name)


# A query string's `param.<name>` (the name as written), or a body's `/parameters/<name>` (a JSON
# Pointer, its `~` and `/` escaped).
QUERY = Source("/query/param.", _value)
BODY = Source("/parameters/", _json_value, lambda name: name.replace("~", "~0").replace("/", "~1"))
