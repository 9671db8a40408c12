"""The card config schemas in openapi.yaml: bundled from card_schemas/, meaning the same, and
every card union of the spec with one member per card type.

card_schemas/<type>.json (JSON Schema 2020-12) is the one definition of a card's config; the spec
holds a copy in OpenAPI 3.0 terms, made by scripts/bundle_card_schemas.py. These tests fail when
the copy differs from what the script makes of the files now (someone edited one side only), and
when the copy and the original disagree on a config: the script's translation is checked on
every example of the files, every invalid config of tests/test_card_types.py and generated
filters.
"""

import importlib.util
import pathlib
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openapi_schema_validator import OAS30Validator

from models.card_types import CARD_TYPES, validate_config
from models.errors import InvalidCardConfig
from tests.conftest import SPEC
from tests.test_card_types import INVALID_CONFIGS, KPI, OPS, VALUES, raw_schema

ROOT = pathlib.Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "bundle_card_schemas.py"
SCHEMAS = SPEC["components"]["schemas"]

_spec = importlib.util.spec_from_file_location("bundle_card_schemas", SCRIPT)
bundle = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bundle)


def spec_accepts(card_type, config):
    """Does the spec's copy of the card type's config schema accept `config`?"""
    schema = {"$ref": f"#/components/schemas/{bundle.config_name(card_type)}", "components": SPEC["components"]}
    return OAS30Validator(schema).is_valid(config)


def original_accepts(card_type, config):
    try:
        validate_config(card_type, config)
    except InvalidCardConfig:
        return False
    return True


# --- the copy is the script's output -----------------------------------------------------------


def test_the_spec_holds_what_the_script_makes_of_card_schemas():
    result = subprocess.run(
        [sys.executable, SCRIPT, "--check", ROOT / "openapi.yaml"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr or result.stdout
    assert bundle.bundled_into((ROOT / "openapi.yaml").read_text(encoding="utf-8")) == (
        ROOT / "openapi.yaml"
    ).read_text(encoding="utf-8")


def test_the_check_fails_on_a_copy_edited_by_hand(tmp_path):
    spec = tmp_path / "openapi.yaml"
    text = (ROOT / "openapi.yaml").read_text(encoding="utf-8")
    edited = text.replace("enum: [bar, line, area, pie, scatter]", "enum: [bar, line, area, pie, scatter, donut]", 1)
    assert edited != text
    spec.write_text(edited, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, SCRIPT, "--check", spec], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 1 and "make card-schemas" in result.stderr
    subprocess.run([sys.executable, SCRIPT, spec], capture_output=True, check=True, timeout=60)
    assert spec.read_text(encoding="utf-8") == text


@pytest.mark.parametrize("card_type", CARD_TYPES)
def test_every_card_type_has_its_config_in_the_spec(card_type):
    component = SCHEMAS[bundle.config_name(card_type)]
    source = raw_schema(card_type)
    assert component["x-card-type"] == card_type
    assert component["example"] == source["examples"][0]
    assert component["required"] == source["required"] and list(component["properties"]) == list(source["properties"])


def test_translation_rewrites_what_openapi_3_0_lacks():
    assert bundle.translate({"const": "x"}) == {"enum": ["x"]}
    assert bundle.translate({"type": ["string", "number"], "title": "T"}) == {
        "title": "T",
        "anyOf": [{"type": "string"}, {"type": "number"}],
    }
    assert bundle.translate({"$ref": "#/$defs/column", "description": "d"}) == {
        "allOf": [{"$ref": "#/components/schemas/QueryColumn"}],
        "description": "d",
    }
    assert bundle.translate({"if": {"required": ["a"]}, "then": {"required": ["b"]}}) == {
        "anyOf": [{"not": {"required": ["a"]}}, {"required": ["b"]}]
    }
    assert bundle.translate({"type": "object", "dependentRequired": {"a": ["b"]}}) == {
        "type": "object",
        "allOf": [{"anyOf": [{"properties": {"a": {"not": {}}}}, {"required": ["b"]}]}],
    }
    with pytest.raises(ValueError, match="patternProperties"):
        bundle.translate({"patternProperties": {"^x": {}}})


# --- the copy means the same as the original --------------------------------------------------


@pytest.mark.parametrize("card_type", CARD_TYPES)
def test_the_copy_accepts_every_example_of_the_original(card_type):
    for example in raw_schema(card_type)["examples"]:
        assert spec_accepts(card_type, example), example


@pytest.mark.parametrize("card_type, config, paths", INVALID_CONFIGS)
def test_the_copy_refuses_what_the_original_refuses(card_type, config, paths):
    assert not original_accepts(card_type, config)
    assert not spec_accepts(card_type, config), config


@given(st.sampled_from(OPS), VALUES, st.booleans())
def test_copy_and_original_agree_on_filters(op, value, has_value):
    config = {**KPI, "filters": [{"column": "a", "op": op, **({"value": value} if has_value else {})}]}
    assert spec_accepts("kpi", config) == original_accepts("kpi", config)


@given(
    st.fixed_dictionaries(
        {},
        optional={
            "columns": st.lists(st.sampled_from(["a", "b", ""]), max_size=2),
            "group_by": st.lists(
                st.fixed_dictionaries({"column": st.just("a")}, optional={"bucket": st.sampled_from(["day", "hour"])}),
                max_size=1,
            ),
            "metrics": st.lists(
                st.fixed_dictionaries(
                    {"agg": st.sampled_from(["count", "sum", "median"])}, optional={"column": st.just("a")}
                ),
                max_size=2,
            ),
            "limit": st.sampled_from([0, 1, 10_000, 10_001, 5.0]),
        },
    )
)
def test_copy_and_original_agree_on_tables(extra):
    config = {"dataset_id": 1, **extra}
    assert spec_accepts("table", config) == original_accepts("table", config)


@pytest.mark.parametrize(
    "config",
    [
        {"parameter": "region"},
        {"parameter": "region", "dataset_id": 1},
        {"parameter": "region", "column": "region"},
        {"parameter": "region", "dataset_id": 1, "column": "region"},
        {"parameter": "Region"},
    ],
)
def test_copy_and_original_agree_on_filter_controls(config):
    assert spec_accepts("filter", config) == original_accepts("filter", config)


# --- the card unions ---------------------------------------------------------------------------

UNIONS = {"Card": "Card", "CardCreate": "CardCreate", "CardUpdate": "CardUpdate", "RenderedCard": "RenderedCard"}


@pytest.mark.parametrize("union", sorted(UNIONS))
def test_every_card_union_has_one_member_per_card_type(union):
    """One member per type, in the CardType enum's order, each fixing `card_type` to its type;
    a discriminator maps each type to its member (CardUpdate's extra member keeps the type)."""
    members = [ref["$ref"].rsplit("/", 1)[1] for ref in SCHEMAS[union]["oneOf"]]
    typed = [f"{card_type.capitalize()}{UNIONS[union]}" for card_type in CARD_TYPES]
    assert members[: len(typed)] == typed
    assert SCHEMAS["CardType"]["enum"] == list(CARD_TYPES)
    for card_type, name in zip(CARD_TYPES, typed):
        assert SCHEMAS[name]["properties"]["card_type"] == {"type": "string", "enum": [card_type]}
        assert "card_type" in SCHEMAS[name]["required"]
        config = SCHEMAS[name]["properties"].get("config")
        if config is not None:
            assert config == {"$ref": f"#/components/schemas/{bundle.config_name(card_type)}"}
    if union == "CardUpdate":
        assert members[len(typed) :] == ["SameTypeCardUpdate"] and "discriminator" not in SCHEMAS[union]
    else:
        assert len(members) == len(typed)
        assert SCHEMAS[union]["discriminator"] == {
            "propertyName": "card_type",
            "mapping": {card_type: f"#/components/schemas/{name}" for card_type, name in zip(CARD_TYPES, typed)},
        }


@pytest.mark.parametrize("card_type", CARD_TYPES)
def test_rendered_cards_carry_their_type_s_data(card_type):
    member = SCHEMAS[f"{card_type.capitalize()}RenderedCard"]["properties"]
    assert member["data"]["oneOf"] == [
        {"$ref": f"#/components/schemas/{card_type.capitalize()}Data"},
        {"$ref": "#/components/schemas/Nothing"},
    ]
