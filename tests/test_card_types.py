"""The card palette: schema files, config validation with JSON Pointer paths, referenced names."""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from jsonschema.validators import validator_for

from models.card_types import (
    CARD_TYPES,
    DEFAULT_SIZES,
    SCHEMA_DIR,
    palette,
    referenced_names,
    schema,
    validate_config,
)
from models.errors import InvalidCardConfig
from models.grid import Rect, check_bounds

KPI = {"dataset_id": 1, "metric": {"agg": "count"}}
CHART = {"dataset_id": 1, "chart_type": "bar", "x": {"column": "region"}, "metrics": [{"agg": "count"}]}


def raw_schema(card_type):
    return json.loads((SCHEMA_DIR / f"{card_type}.json").read_text())


def error_paths(card_type, config, **kw):
    with pytest.raises(InvalidCardConfig) as caught:
        validate_config(card_type, config, **kw)
    assert caught.value.code == "invalid_card_config"
    return [error["path"] for error in caught.value.errors]


def with_filter(**filter_):
    return {**KPI, "filters": [filter_]}


# --- the schema files ---------------------------------------------------------------------


def test_there_is_one_schema_file_per_card_type():
    assert sorted(path.stem for path in SCHEMA_DIR.glob("*.json")) == sorted(CARD_TYPES)


@pytest.mark.parametrize("card_type", CARD_TYPES)
def test_schema_is_valid_under_its_declared_draft(card_type):
    card_schema = raw_schema(card_type)
    cls = validator_for(card_schema, default=None)
    assert cls is not None, "the schema must state a $schema that jsonschema knows"
    cls.check_schema(card_schema)
    assert card_schema["$id"] == f"https://dashboards-api.dev/card-schemas/{card_type}.json"
    assert card_schema["title"] and card_schema["description"]
    assert card_schema["additionalProperties"] is False


@pytest.mark.parametrize("card_type", CARD_TYPES)
def test_schema_examples_are_valid_configs(card_type):
    examples = raw_schema(card_type)["examples"]
    assert examples
    for example in examples:
        validate_config(card_type, example)


def test_shared_definitions_are_the_same_in_every_file():
    """Each file stands alone, so the shared query vocabulary is copied; the copies must agree."""
    seen = {}
    for card_type in CARD_TYPES:
        for name, definition in raw_schema(card_type).get("$defs", {}).items():
            assert seen.setdefault(name, definition) == definition, f"$defs/{name} differs in {card_type}"


def test_schemas_refer_only_to_themselves():
    for card_type in CARD_TYPES:
        text = (SCHEMA_DIR / f"{card_type}.json").read_text()
        refs = [line for line in text.splitlines() if '"$ref"' in line]
        assert all('"#/$defs/' in ref for ref in refs), card_type


# --- validation ---------------------------------------------------------------------------

# Configs that break their card type's schema, with where (the spec's copy of the schemas must
# refuse each of them too: tests/test_card_schemas_in_spec.py).
INVALID_CONFIGS = [
    ("text", {}, ["/config/markdown"]),  # a missing field where it belongs
    ("text", {"markdown": "x" * 100_001}, ["/config/markdown"]),
    ("text", {"markdown": "hi", "html": "<b>"}, ["/config/html"]),  # an unknown one where it was sent
    ("image", {"url": "ftp://example.com/a.png"}, ["/config/url"]),
    ("image", {"url": "javascript:alert(1)"}, ["/config/url"]),
    ("image", {"url": "https://example.com/a.png", "alt": 3}, ["/config/alt"]),
    ("kpi", {**KPI, "dataset_id": 0}, ["/config/dataset_id"]),
    ("kpi", {**KPI, "dataset_id": True}, ["/config/dataset_id"]),
    ("kpi", {**KPI, "metric": {"agg": "sum"}}, ["/config/metric/column"]),
    ("kpi", {**KPI, "metric": {"agg": "median", "column": "a"}}, ["/config/metric/agg"]),
    ("chart", {**CHART, "chart_type": "donut"}, ["/config/chart_type"]),
    ("chart", {**CHART, "metrics": []}, ["/config/metrics"]),
    ("chart", {**CHART, "metrics": [{"agg": "count"}] * 11}, ["/config/metrics"]),
    ("chart", {**CHART, "x": {"column": "day", "bucket": "hour"}}, ["/config/x/bucket"]),
    ("chart", {**CHART, "series_by": ""}, ["/config/series_by"]),
    ("chart", {**CHART, "limit": 0}, ["/config/limit"]),
    ("chart", {**CHART, "limit": 10_001}, ["/config/limit"]),
    ("chart", {**CHART, "sort": [{"by": "region", "direction": "up"}]}, ["/config/sort/0/direction"]),
    ("chart", {**CHART, "sort": [{"by": "region"}]}, ["/config/sort/0/direction"]),
    ("kpi", with_filter(column="a", op="like", value="x"), ["/config/filters/0/op"]),
    ("kpi", with_filter(column="a" * 256, op="eq", value="x"), ["/config/filters/0/column"]),
    ("kpi", with_filter(column="a", op="eq"), ["/config/filters/0/value"]),
    ("kpi", with_filter(column="a", op="eq", value=[1, 2]), ["/config/filters/0/value"]),
    ("kpi", with_filter(column="a", op="eq", value={"param": "Region"}), ["/config/filters/0/value/param"]),
    ("kpi", with_filter(column="a", op="in", value="x"), ["/config/filters/0/value"]),
    ("kpi", with_filter(column="a", op="in", value=[]), ["/config/filters/0/value"]),
    ("kpi", with_filter(column="a", op="between", value=[1, 2, 3]), ["/config/filters/0/value"]),
    ("kpi", with_filter(column="a", op="is_null", value=None), ["/config/filters/0/value"]),
    ("table", {"dataset_id": 1, "columns": ["a"], "group_by": [{"column": "b"}]}, ["/config/group_by"]),
    ("table", {"dataset_id": 1, "columns": ["a"], "metrics": [{"agg": "count"}]}, ["/config/metrics"]),
    ("table", {"dataset_id": 1, "columns": []}, ["/config/columns"]),
    ("table", {"dataset_id": 1, "columns": ["a", "a"]}, ["/config/columns"]),
    ("detail", {"dataset_id": 1}, ["/config/fields"]),
    ("detail", {"dataset_id": 1, "fields": [f"f{i}" for i in range(51)]}, ["/config/fields"]),
    ("filter", {"parameter": "region", "column": "region"}, ["/config/dataset_id"]),  # dependentRequired
    ("filter", {"parameter": "Region"}, ["/config/parameter"]),
    ("kpi", {**KPI, "dataset_id": 1.0}, ["/config/dataset_id"]),
    ("chart", {**CHART, "limit": 10.0}, ["/config/limit"]),
]


@pytest.mark.parametrize("card_type, config, paths", INVALID_CONFIGS)
def test_invalid_configs_name_the_field(card_type, config, paths):
    assert error_paths(card_type, config) == paths


def test_every_error_is_reported_in_pointer_order():
    metrics = [{"agg": "count"}] * 11
    metrics[2] = metrics[10] = {"agg": "median", "column": "a"}
    config = {**CHART, "dataset_id": -1, "metrics": metrics}
    assert error_paths("chart", config) == [
        "/config/dataset_id",
        "/config/metrics",
        "/config/metrics/2/agg",
        "/config/metrics/10/agg",
    ]


def test_paths_start_at_the_given_prefix():
    assert error_paths("kpi", {**KPI, "dataset_id": 0}, path="/cards/3/config") == ["/cards/3/config/dataset_id"]


@pytest.mark.parametrize("card_type", ["map", "", None])
def test_unknown_card_type_is_an_invalid_config(card_type):
    assert error_paths(card_type, {}) == ["/card_type"]
    with pytest.raises(InvalidCardConfig):
        referenced_names(card_type, {})


SCALARS = st.one_of(st.text(max_size=3), st.integers(), st.booleans())
VALUES = st.one_of(
    SCALARS,
    st.just({"param": "region"}),
    st.lists(SCALARS, max_size=3),
    st.none(),
)
OPS = [
    "eq",
    "ne",
    "gt",
    "gte",
    "lt",
    "lte",
    "contains",
    "starts_with",
    "in",
    "not_in",
    "between",
    "is_null",
    "not_null",
]


def filter_is_valid(op, value, has_value):
    """The filter rules as SEMANTICS states them, written plainly."""
    if op in ("is_null", "not_null"):
        return not has_value
    if not has_value:
        return False
    if op in ("in", "not_in"):  # a list, or a (multiple) parameter
        return (isinstance(value, list) and len(value) >= 1) or value == {"param": "region"}
    if op == "between":
        return isinstance(value, list) and len(value) == 2
    return isinstance(value, (str, int, bool)) or value == {"param": "region"}


@given(st.sampled_from(OPS), VALUES, st.booleans())
def test_filter_op_and_value_agree_with_the_rules(op, value, has_value):
    filter_ = {"column": "a", "op": op, **({"value": value} if has_value else {})}
    try:
        validate_config("kpi", {**KPI, "filters": [filter_]})
        accepted = True
    except InvalidCardConfig:
        accepted = False
    assert accepted == filter_is_valid(op, value, has_value)


# --- referenced names ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "card_type, config, expected",
    [
        ("text", {"markdown": "column: x"}, {"dataset_id": None, "columns": [], "parameters": []}),
        (
            "kpi",
            {
                "dataset_id": 4,
                "metric": {"agg": "sum", "column": "amount"},
                "filters": [
                    {"column": "region", "op": "eq", "value": {"param": "region"}},
                    {"column": "status", "op": "in", "value": ["paid"]},
                    {"column": "region", "op": "not_in", "value": {"param": "regions"}},
                ],
            },
            {
                "dataset_id": 4,
                "columns": [
                    ("/config/metric/column", "amount"),
                    ("/config/filters/0/column", "region"),
                    ("/config/filters/1/column", "status"),
                    ("/config/filters/2/column", "region"),
                ],
                "parameters": [
                    ("/config/filters/0/value/param", "region"),
                    ("/config/filters/2/value/param", "regions"),
                ],
            },
        ),
        (
            "chart",
            {
                **CHART,
                "x": {"column": "day", "bucket": "week"},
                "series_by": "region",
                "metrics": [{"agg": "count"}, {"agg": "avg", "column": "amount", "label": "avg"}],
                "sort": [{"by": "avg", "direction": "desc"}],
            },
            {
                "dataset_id": 1,
                "columns": [
                    ("/config/x/column", "day"),
                    ("/config/metrics/1/column", "amount"),
                    ("/config/series_by", "region"),
                ],
                "parameters": [],
            },
        ),
        (
            "table",
            {"dataset_id": 2, "columns": ["a", "b"], "sort": [{"by": "a", "direction": "asc"}]},
            {"dataset_id": 2, "columns": [("/config/columns/0", "a"), ("/config/columns/1", "b")], "parameters": []},
        ),
        (
            "table",
            {"dataset_id": 2, "group_by": [{"column": "g"}], "metrics": [{"agg": "max", "column": "m"}]},
            {
                "dataset_id": 2,
                "columns": [("/config/group_by/0/column", "g"), ("/config/metrics/0/column", "m")],
                "parameters": [],
            },
        ),
        (
            "detail",
            {
                "dataset_id": 3,
                "fields": ["name"],
                "filters": [{"column": "id", "op": "eq", "value": {"param": "customer"}}],
            },
            {
                "dataset_id": 3,
                "columns": [("/config/fields/0", "name"), ("/config/filters/0/column", "id")],
                "parameters": [("/config/filters/0/value/param", "customer")],
            },
        ),
        (
            "filter",
            {"parameter": "region", "dataset_id": 1, "column": "region"},
            {
                "dataset_id": 1,
                "columns": [("/config/column", "region")],
                "parameters": [("/config/parameter", "region")],
            },
        ),
    ],
)
def test_referenced_names(card_type, config, expected):
    validate_config(card_type, config)
    assert referenced_names(card_type, config) == expected


# --- palette ------------------------------------------------------------------------------


def test_palette_lists_every_type_with_a_size_that_fits_the_grid():
    entries = palette()
    assert [entry.card_type for entry in entries] == list(CARD_TYPES)
    assert len(CARD_TYPES) == 7
    for entry in entries:
        assert entry.default_size == DEFAULT_SIZES[entry.card_type]
        check_bounds(Rect(None, 0, 0, entry.default_size.w, entry.default_size.h))
        assert entry.schema == raw_schema(entry.card_type)


def test_the_palette_is_served_as_a_page_in_enum_order(world):
    client = world.user()[1]
    body = client.get("/card-types").json()
    assert [entry["card_type"] for entry in body["items"]] == list(CARD_TYPES)
    assert (body["total"], body["limit"], body["offset"]) == (7, 50, 0)
    window = client.get("/card-types", params={"limit": 3, "offset": 5}).json()
    assert [entry["card_type"] for entry in window["items"]] == list(CARD_TYPES[5:])
    assert (window["total"], window["limit"], window["offset"]) == (7, 3, 5)


def test_palette_hands_out_copies():
    palette()[0].schema["properties"].clear()
    schema("text")["required"].append("nothing")
    assert palette()[0].schema == raw_schema(CARD_TYPES[0])
