"""The card palette: each card type's JSON Schema (card_schemas/<type>.json), default size and checks.

The schema files are the one definition of a card config; they are read and compiled once, on
first use, and never handed out as the cached objects themselves.
"""

import copy
import functools
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple, cast
from urllib.parse import urlsplit

from jsonschema.exceptions import ValidationError, best_match
from jsonschema.protocols import Validator
from jsonschema.validators import extend, validator_for

from models import field_errors
from models.errors import InvalidCardConfig

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "card_schemas"


class Size(NamedTuple):
    w: int
    h: int


DEFAULT_SIZES = MappingProxyType(
    {
        "text": Size(12, 4),
        "image": Size(8, 6),
        "kpi": Size(6, 4),
        "chart": Size(12, 8),
        "table": Size(24, 8),
        "detail": Size(12, 8),
        "filter": Size(6, 2),
    }
)
CARD_TYPES = tuple(DEFAULT_SIZES)

# Config keys whose string values (or lists of strings) name dataset columns, and keys naming
# dashboard parameters. Sort `by` is left out: it names an output column (a metric's label too).
_COLUMN_KEYS = frozenset({"column", "series_by"})
_COLUMN_LIST_KEYS = frozenset({"columns", "fields"})
_PARAMETER_KEYS = frozenset({"param", "parameter"})


def _whole_number(_checker: object, instance: object) -> bool:
    return isinstance(instance, int) and not isinstance(instance, bool)


@functools.cache
def _validator(card_type: str) -> Validator:
    loaded = json.loads((SCHEMA_DIR / f"{card_type}.json").read_text(encoding="utf-8"))
    cls = validator_for(loaded)
    cls.check_schema(loaded)  # a broken file fails on first use, not with odd config errors
    # An "integer" is a number written without a fraction (1, not 1.0), as OpenAPI 3.0 and the
    # spec's copy of these schemas read it (JSON Schema 2020-12 alone would take 1.0); unknown
    # and missing fields are reported at their own pointers.
    strict = extend(cls, type_checker=cls.TYPE_CHECKER.redefine("integer", _whole_number))
    return field_errors.at_fields(strict)(loaded)


def schema(card_type: str) -> dict[str, Any]:
    """A copy of the card type's JSON Schema (callers may change it freely)."""
    return copy.deepcopy(cast(dict[str, Any], _known(card_type).schema))  # a card type's schema is an object


class CardTypeEntry(NamedTuple):
    card_type: str
    schema: dict[str, Any]
    default_size: Size


def palette() -> list[CardTypeEntry]:
    """Every card type in enum order, with a copy of its schema and its default size."""
    return [CardTypeEntry(card_type, schema(card_type), DEFAULT_SIZES[card_type]) for card_type in CARD_TYPES]


def validate_config(card_type: str, config: Any, path: str = "/config") -> None:
    """Raise InvalidCardConfig listing every way `config` fails its card type's schema.

    Paths are JSON Pointers under `path` (the config's place in the request body).
    """
    # best_match looks inside oneOf/anyOf failures for the branch the config was meant for.
    found = (best_match([error]) for error in _known(card_type).iter_errors(config))
    errors = {(_pointer(path, error.absolute_path), _message(error)): tuple(error.absolute_path) for error in found}
    if errors:
        ordered = sorted(errors, key=lambda key: (_sort_key(errors[key]), key))
        raise InvalidCardConfig(
            f"The {card_type} card config is invalid.",
            errors=[{"path": pointer, "message": message} for pointer, message in ordered],
        )
    rule_errors = [
        {"path": _pointer(path, parts), "message": message}
        for parts, message in _RULES.get(card_type, lambda _: [])(config)
    ]
    if rule_errors:
        raise InvalidCardConfig(f"The {card_type} card config is invalid.", errors=rule_errors)


def _image_rules(config: dict[str, Any]) -> list[tuple[list[str], str]]:
    """What the image schema's URL pattern cannot state: a real host and a valid port."""
    try:
        parts = urlsplit(config["url"])
        if not parts.hostname:
            return [(["url"], "the URL needs a host.")]
        parts.port  # noqa: B018  (raises ValueError for a port out of range or not a number)
    except ValueError as exc:
        return [(["url"], f"not a valid URL: {exc}.")]
    return []


# Checks a card type's schema cannot state, run once its schema passes: [(path parts, message)].
_RULES: dict[str, Callable[[dict[str, Any]], list[tuple[list[str], str]]]] = {"image": _image_rules}


def referenced_names(card_type: str, config: dict[str, Any], path: str = "/config") -> dict[str, Any]:
    """The dataset, columns and dashboard parameters a valid config refers to.

    Each column and parameter comes with its JSON Pointer, so that a caller that finds one
    missing can answer `invalid_card_config` at the right place.
    """
    _known(card_type)
    names: dict[str, Any] = {"dataset_id": config.get("dataset_id"), "columns": [], "parameters": []}
    for kind, pointer, name in _walk(config, path):
        names[kind].append((pointer, name))
    return names


def _walk(node: Any, pointer: str) -> Iterator[tuple[str, str, str]]:
    if isinstance(node, list):
        for index, item in enumerate(node):
            yield from _walk(item, f"{pointer}/{index}")
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        child = _pointer(pointer, [key])
        if key in _COLUMN_KEYS and isinstance(value, str):
            yield "columns", child, value
        elif key in _COLUMN_LIST_KEYS and isinstance(value, list):
            yield from (("columns", f"{child}/{i}", name) for i, name in enumerate(value))
        elif key in _PARAMETER_KEYS and isinstance(value, str):
            yield "parameters", child, value
        elif key != "sort":
            yield from _walk(value, child)


def _known(card_type: str) -> Validator:
    if card_type not in CARD_TYPES:
        raise InvalidCardConfig(
            f"Unknown card type {card_type!r}.",
            errors=[{"path": "/card_type", "message": f"must be one of: {', '.join(CARD_TYPES)}."}],
        )
    return _validator(card_type)


def _pointer(prefix: str, parts: Iterable[str | int]) -> str:
    escaped = (str(part).replace("~", "~0").replace("/", "~1") for part in parts)
    return "".join([prefix, *(f"/{part}" for part in escaped)])


def _sort_key(parts: Sequence[str | int]) -> list[tuple[int, int, str]]:
    """Orders `/metrics/2` before `/metrics/10`: numbers by value, names by text."""
    return [(0, part, "") if isinstance(part, int) else (1, 0, part) for part in parts]


def _message(error: ValidationError) -> str:
    # A field ruled out by another field is written `{"not": {}, "description": why}`, since
    # jsonschema drops the path of errors from a plain `false` schema.
    schema = cast(dict[str, Any], error.schema)  # the card schemas' subschemas are all objects
    if error.validator == "not" and error.validator_value == {}:
        return str(schema.get("description", "is not allowed here."))
    # A URL's pattern is unreadable in a message; the field's description says what is wanted.
    if error.validator == "pattern" and schema.get("format") == "uri" and "description" in schema:
        return f"does not fit: {schema['description']}"
    return error.message
