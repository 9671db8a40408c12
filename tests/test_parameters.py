"""Render parameters from the query string and from the POST render's body: each declared type,
defaults, and the 400 a client gets for a value that does not fit (the render's
`dashboard.parameters` echoes the typed values)."""

import pytest

from tests.conftest import problem

PARAMETERS = [
    {"name": "ratio", "type": "number"},
    {"name": "on", "type": "boolean"},
    {"name": "n", "type": "integer"},
    {"name": "day", "type": "date"},
    {"name": "tag", "type": "string", "multiple": True},
]


@pytest.fixture
def dashboard(world):
    _, client = world.user(role="editor")
    created = client.post("/dashboards", json={"name": "Typed", "parameters": PARAMETERS})
    assert created.status_code == 201, created.text
    return client, created.json()["id"]


def values(client, dashboard_id, **params):
    response = client.get(
        f"/dashboards/{dashboard_id}/render", params={f"param[{name}]": value for name, value in params.items()}
    )
    assert response.status_code == 200, response.text
    return response.json()["dashboard"]["parameters"]


def test_each_type_is_read_from_the_query_string(dashboard):
    client, dashboard_id = dashboard
    assert values(client, dashboard_id) == {"ratio": None, "on": None, "n": None, "day": None, "tag": None}
    typed = values(client, dashboard_id, ratio="2.5", on="true", n="-7", day="2026-02-28", tag=["a", "b"])
    assert typed == {"ratio": 2.5, "on": True, "n": -7, "day": "2026-02-28", "tag": ["a", "b"]}
    assert values(client, dashboard_id, on="false", n="+5", tag="x") == {
        "ratio": None,
        "on": False,
        "n": 5,
        "day": None,
        "tag": ["x"],
    }


@pytest.mark.parametrize("text,number", [("3", 3), ("-12", -12), ("3.0", 3.0), ("1e2", 100.0), ("-0.25", -0.25)])
def test_a_number_keeps_the_form_it_was_given(dashboard, text, number):
    """A number written without a fraction or exponent is answered as a JSON integer."""
    client, dashboard_id = dashboard
    value = values(client, dashboard_id, ratio=text)["ratio"]
    assert value == number and type(value) is type(number)


@pytest.mark.parametrize(
    "name,text,message",
    [
        ("ratio", "abc", "could not convert string to float: 'abc' (number)"),
        ("ratio", "inf", "expected a finite number (number)"),
        ("ratio", "nan", "expected a finite number (number)"),
        ("on", "yes", "expected true or false (boolean)"),
        ("on", "True", "expected true or false (boolean)"),
        ("n", "1.5", "expected an integer (integer)"),
        ("n", "1234567890123456789", "expected an integer (integer)"),
        ("n", "7 ", "expected an integer (integer)"),
        ("day", "2026-2-28", "expected a date as YYYY-MM-DD (date)"),
        ("day", "20260228", "expected a date as YYYY-MM-DD (date)"),
        ("on", ["true", "false"], "takes one value"),
    ],
)
def test_a_value_that_does_not_fit_is_400_naming_the_parameter(dashboard, name, text, message):
    client, dashboard_id = dashboard
    response = client.get(f"/dashboards/{dashboard_id}/render", params={f"param[{name}]": text})
    body = problem(response, 400, "invalid_parameter")
    assert body["errors"] == [{"path": f"/query/param.{name}", "message": message}]


def body_values(client, dashboard_id, **parameters):
    response = client.post(f"/dashboards/{dashboard_id}/render", json={"parameters": parameters})
    assert response.status_code == 200, response.text
    return response.json()["dashboard"]["parameters"]


def test_each_type_is_read_from_a_body_as_json(dashboard):
    """The body's values are JSON of the parameter's type, and give what the query string gives."""
    client, dashboard_id = dashboard
    assert body_values(client, dashboard_id) == {"ratio": None, "on": None, "n": None, "day": None, "tag": None}
    typed = body_values(client, dashboard_id, ratio=2.5, on=True, n=-7, day="2026-02-28", tag=["a", "b"])
    assert typed == values(client, dashboard_id, ratio="2.5", on="true", n="-7", day="2026-02-28", tag=["a", "b"])
    assert body_values(client, dashboard_id, ratio=3, on=False, n=0, tag="x") == {
        "ratio": 3,
        "on": False,
        "n": 0,
        "day": None,
        "tag": ["x"],
    }


@pytest.mark.parametrize(
    "name,value,message",
    [
        ("ratio", "2.5", "expected a number (number)"),
        ("ratio", True, "expected a number (number)"),
        ("on", "true", "expected true or false (boolean)"),
        ("on", 1, "expected true or false (boolean)"),
        ("n", 2.0, "expected an integer (integer)"),
        ("n", "3", "expected an integer (integer)"),
        ("day", "2026-2-28", "expected a date as YYYY-MM-DD (date)"),
        ("day", "20260228", "expected a date as YYYY-MM-DD (date)"),
        ("tag", ["a", 1], "expected a string (string)"),
        ("tag", 7, "expected a string (string)"),
        ("on", [True], "takes one value, not a list"),
    ],
)
def test_a_body_value_that_does_not_fit_is_400_at_its_pointer(dashboard, name, value, message):
    client, dashboard_id = dashboard
    response = client.post(f"/dashboards/{dashboard_id}/render", json={"parameters": {name: value}})
    body = problem(response, 400, "invalid_parameter")
    assert body["errors"] == [{"path": f"/parameters/{name}", "message": message}]


def test_every_fault_is_listed_in_name_order(dashboard):
    client, dashboard_id = dashboard
    response = client.get(
        f"/dashboards/{dashboard_id}/render", params={"param[on]": "1", "param[zz]": "x", "param[n]": "x"}
    )
    body = problem(response, 400, "invalid_parameter")
    assert body["detail"] == "The render parameters do not fit the dashboard."
    assert body["errors"] == [
        {"path": "/query/param.n", "message": "expected an integer (integer)"},
        {"path": "/query/param.on", "message": "expected true or false (boolean)"},
        {"path": "/query/param.zz", "message": "the dashboard has no such parameter"},
    ]


def test_defaults_fill_what_is_not_given_and_satisfy_required(world):
    _, client = world.user(role="editor")
    parameters = [
        {"name": "region", "type": "string", "required": True, "default": "EMEA"},
        {"name": "tags", "type": "string", "multiple": True, "default": ["a"]},
        {"name": "limit", "type": "integer", "default": 0},
        {"name": "who", "type": "string", "required": True},
        {"name": "any", "type": "string", "multiple": True, "required": True, "default": []},
    ]
    dashboard_id = client.post("/dashboards", json={"name": "Defaults", "parameters": parameters}).json()["id"]
    path = f"/dashboards/{dashboard_id}/render"
    body = problem(client.get(path), 400, "invalid_parameter")
    assert body["errors"] == [
        {"path": "/query/param.any", "message": "a value is required"},
        {"path": "/query/param.who", "message": "a value is required"},
    ]
    rendered = client.get(path, params={"param[who]": "me", "param[any]": ["x", "y"]})
    assert rendered.status_code == 200, rendered.text
    assert rendered.json()["dashboard"]["parameters"] == {
        "region": "EMEA",
        "tags": ["a"],
        "limit": 0,
        "who": "me",
        "any": ["x", "y"],
    }


def test_a_default_is_one_value_a_list_of_values_or_null(world):
    """The spec states the shape of `default` (ParameterDefault), so a tool that reads the spec
    checks every payload holding a dashboard; whether it fits `type` stays a 422."""
    _, client = world.user(role="editor")
    parameters = [
        {"name": "none", "type": "string", "default": None},
        {"name": "tags", "type": "string", "multiple": True, "default": ["a", "b"]},
        {"name": "on", "type": "boolean", "default": True},
        {"name": "ratio", "type": "number", "default": 0.5},
        {"name": "day", "type": "date", "default": "2026-01-31"},
    ]
    created = client.post("/dashboards", json={"name": "Defaults", "parameters": parameters})
    assert created.status_code == 201, created.text
    assert [p["default"] for p in created.json()["parameters"]] == [None, ["a", "b"], True, 0.5, "2026-01-31"]
    for default in ({"value": "a"}, [["a"]], ["a", None], [{"value": "a"}]):
        parameter = {"name": "tags", "type": "string", "multiple": True, "default": default}
        body = problem(
            client.post("/dashboards", json={"name": "Bad", "parameters": [parameter]}), 400, "invalid_request"
        )
        assert [e["path"] for e in body["errors"]] == ["/parameters/0/default"], body
    assert [d["name"] for d in client.get("/dashboards").json()["items"]] == ["Defaults"]


def test_definitions_list_every_inconsistency(world):
    _, client = world.user(role="editor")
    parameters = [
        {"name": "a", "type": "string"},
        {"name": "n", "type": "integer", "default": 1.5},
        {"name": "a", "type": "number", "default": 2},
        {"name": "tags", "type": "string", "multiple": True, "default": ["x", 1]},
        {"name": "one", "type": "boolean", "multiple": True, "default": True},
        {"name": "d", "type": "date", "default": "2026-02-30"},
    ]
    body = problem(
        client.post("/dashboards", json={"name": "Bad", "parameters": parameters}), 422, "invalid_parameters"
    )
    assert body["errors"] == [
        {"path": "/parameters/1/default", "message": "default must be integer values"},
        {"path": "/parameters/2/name", "message": "duplicate parameter name 'a'"},
        {"path": "/parameters/3/default", "message": "default must be a list of string values"},
        {"path": "/parameters/4/default", "message": "default must be a list of boolean values"},
        {"path": "/parameters/5/default", "message": "default must be date values"},
    ]
    assert client.get("/dashboards").json()["items"] == []
