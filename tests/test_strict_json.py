"""Strict JSON bodies: a large body, decoded value by value so that it never holds the GIL for
long, gives exactly what a small one decoded in one call gives, errors included."""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

import framework
from models.errors import InvalidRequest

PAD = "x" * framework.INLINE_BODY_BYTES  # makes any body large

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text()
values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4), max_leaves=20
)


def large(value, **dumps):
    return json.dumps({"pad": PAD, "value": value, "rows": [value, [value, 1]]}, **dumps).encode()


@given(values, st.sampled_from([{}, {"indent": 2}, {"separators": (",", ":")}, {"ensure_ascii": False}]))
def test_a_large_body_decodes_as_json_loads_does(value, dumps):
    raw = large(value, **dumps)
    assert len(raw) > framework.INLINE_BODY_BYTES
    assert framework.parse_strict_json(raw) == json.loads(raw)


def errors_of(raw):
    with pytest.raises(InvalidRequest) as caught:
        framework.parse_strict_json(raw)
    return caught.value.detail, caught.value.errors


@pytest.mark.parametrize("size", ["small", "large"])
@pytest.mark.parametrize(
    "literal, message",
    [
        ("NaN", "NaN is not a finite number"),
        ("-Infinity", "-Infinity is not a finite number"),
        ("1e309", "1e309 is out of the range of a double"),
        ("9" * 5000, "has too many digits"),
    ],
)
def test_refused_literals_are_named_by_pointer_in_small_and_large_bodies(size, literal, message):
    pad = PAD if size == "large" else ""
    raw = f'{{"pad": "{pad}", "rows": [[1, 2], [3, {literal}], {{"a/b": [{literal}]}}]}}'.encode()
    _, errors = errors_of(raw)
    assert [e["path"] for e in errors] == ["/rows/1/1", "/rows/2/a~1b/0"]
    assert all(e["message"].endswith(message) for e in errors)


@pytest.mark.parametrize("size", ["small", "large"])
@pytest.mark.parametrize("depth, refused", [(60, False), (framework.MAX_JSON_DEPTH + 1, True), (5000, True)])
def test_nesting_is_bounded_in_small_and_large_bodies(size, depth, refused):
    pad = PAD if size == "large" else ""
    inner = "[" * (depth - 2) + "]" * (depth - 2)  # under {"rows": [...]}: two levels more
    raw = f'{{"pad": "{pad}", "rows": [{inner}]}}'.encode()
    if refused:
        assert errors_of(raw) == ("The body is nested too deeply.", [{"path": "", "message": framework.TOO_DEEP}])
    else:
        assert framework.parse_strict_json(raw)["rows"]


@pytest.mark.parametrize(
    "text",
    [
        '{"a": 1} x',
        '{"a": 1 "b": 2}',
        '{"a": [1, 2,]}',
        "{1: 2}",
        '{"a" 1}',
        '{"a": [1 2]}',
        "[",
        "",
    ],
)
def test_malformed_large_bodies_are_invalid_json(text):
    raw = (text.replace("{", '{"pad": "' + PAD + '", ', 1) if text.startswith("{") else text + " " * len(PAD)).encode()
    detail, _ = errors_of(raw)
    assert detail == "The body is not valid JSON."


@pytest.mark.parametrize("pad", ["", PAD])
def test_a_lone_surrogate_is_refused_an_escaped_backslash_is_not(pad):
    assert errors_of(f'{{"pad": "{pad}", "name": "\\ud800"}}'.encode())[0] == "The body is not valid UTF-8."
    assert framework.parse_strict_json(f'{{"pad": "{pad}", "name": "\\\\ud800"}}'.encode())["name"] == "\\ud800"


def test_release_empties_the_long_lists_of_a_body_and_keeps_the_rest():
    rows = [[i] for i in range(framework.RELEASE_SLICE * 3 + 7)]
    body = {"rows": rows, "name": "kept", "few": [1, 2]}
    framework.release(body)
    assert len(rows) <= framework.RELEASE_SLICE and body["name"] == "kept" and body["few"] == [1, 2]
    moves = [{"card_id": i} for i in range(framework.RELEASE_SLICE + 1)]
    framework.release(moves)
    assert len(moves) <= framework.RELEASE_SLICE
    framework.release(None)  # no body: nothing to do
