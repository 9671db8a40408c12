"""Render: every card's numbers against a Python reference, parameters, card errors, caching,
conditional requests and public dashboards."""

import datetime
import json
import random
import statistics

import pytest
from openapi_schema_validator import OAS30Validator

from models.content import Card, Dashboard, Page
from tests.conftest import SPEC, problem

REGIONS = ["EMEA", "APAC", "AMER", "LATAM"]
COLUMNS = [
    {"name": "day", "type": "date"},
    {"name": "region", "type": "string"},
    {"name": "amount", "type": "number"},
    {"name": "qty", "type": "integer"},
]


def _rows(seed=7, count=240):
    rng = random.Random(seed)
    start = datetime.date(2025, 11, 20)
    rows = []
    for _ in range(count):
        day = start + datetime.timedelta(days=rng.randrange(500))
        amount = None if rng.random() < 0.05 else round(rng.uniform(-50, 500), 2)
        rows.append([day.isoformat(), rng.choice(REGIONS), amount, rng.randrange(0, 20)])
    return rows


ROWS = _rows()


@pytest.fixture
def setup(world):
    """An editor, a dataset of ROWS, and a dashboard with `region` (multiple) and `min_qty` parameters."""
    user, client = world.user(role="editor")
    dataset = client.post("/datasets", json={"name": "Sales", "columns": COLUMNS, "rows": ROWS}).json()
    dashboard = client.post(
        "/dashboards",
        json={
            "name": "Sales",
            "parameters": [
                {"name": "region", "type": "string", "multiple": True},
                {"name": "min_qty", "type": "integer", "default": 0},
                {"name": "since", "type": "date"},
            ],
        },
    ).json()
    return client, dataset["id"], dashboard["id"]


def add_card(client, dashboard_id, card_type, config):
    response = client.post(f"/dashboards/{dashboard_id}/cards", json={"card_type": card_type, "config": config})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def store_card(dashboard_id, card_type, config):
    """A card the API would refuse today, as if left from an older version or a since-changed
    dataset: written to the store directly, bumping the dashboard's version as every change does."""
    page = Page.get((Page.dashboard == dashboard_id) & (Page.position == 1))
    y = 100 + Card.select().where(Card.page == page.id).count() * 4
    card = Card.create(dashboard=dashboard_id, page=page, card_type=card_type, config=config, x=0, y=y, w=6, h=4)
    Dashboard.get_by_id(dashboard_id).bump_version()
    return card.id


def render(client, dashboard_id, **params):
    response = client.get(f"/dashboards/{dashboard_id}/render", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def card_data(body, card_id):
    card = next(c for c in body["cards"] if c["card_id"] == card_id)
    assert card["error"] is None, card["error"]
    return card["data"]


def reference(agg, values):
    values = [v for v in values if v is not None]
    if agg == "count_distinct":
        return len(set(values))
    if not values:
        return None
    return {"sum": sum, "avg": statistics.fmean, "min": min, "max": max}[agg](values)


@pytest.mark.parametrize(
    "agg,column",
    [
        ("count", None),
        ("count_distinct", "region"),
        ("sum", "amount"),
        ("avg", "amount"),
        ("min", "amount"),
        ("max", "amount"),
        ("sum", "qty"),
        ("min", "day"),
        ("max", "region"),
    ],
)
def test_kpi_matches_python_for_every_aggregation(setup, agg, column):
    client, dataset_id, dashboard_id = setup
    metric = {"agg": agg, **({"column": column} if column else {})}
    card = add_card(client, dashboard_id, "kpi", {"dataset_id": dataset_id, "metric": metric, "label": "x"})
    value = card_data(render(client, dashboard_id), card)["value"]
    index = [c["name"] for c in COLUMNS].index(column) if column else None
    expected = len(ROWS) if agg == "count" else reference(agg, [row[index] for row in ROWS])
    assert value == pytest.approx(expected, rel=1e-12) if isinstance(expected, float) else value == expected


def _bucket(day, bucket):
    d = datetime.date.fromisoformat(day)
    start = {
        "day": d,
        "week": d - datetime.timedelta(days=d.weekday()),
        "month": d.replace(day=1),
        "quarter": d.replace(month=3 * ((d.month - 1) // 3) + 1, day=1),
        "year": d.replace(month=1, day=1),
    }[bucket]
    return start.isoformat()


@pytest.mark.parametrize("bucket", ["day", "week", "month", "quarter", "year"])
def test_chart_buckets_match_python(setup, bucket):
    client, dataset_id, dashboard_id = setup
    card = add_card(
        client,
        dashboard_id,
        "chart",
        {
            "dataset_id": dataset_id,
            "chart_type": "bar",
            "x": {"column": "day", "bucket": bucket},
            "metrics": [{"agg": "sum", "column": "qty"}, {"agg": "count"}],
            "limit": 10000,
        },
    )
    data = card_data(render(client, dashboard_id), card)
    expected = {}
    for day, _, _, qty in ROWS:
        total, count = expected.get(_bucket(day, bucket), (0, 0))
        expected[_bucket(day, bucket)] = (total + qty, count + 1)
    assert [c["name"] for c in data["columns"]] == ["day", "sum_qty", "count"]
    assert data["rows"] == [[key, *expected[key]] for key in sorted(expected)]


def test_table_detail_and_filter_cards(setup):
    client, dataset_id, dashboard_id = setup
    table = add_card(
        client,
        dashboard_id,
        "table",
        {
            "dataset_id": dataset_id,
            "columns": ["day", "qty"],
            "limit": 5,
            "filters": [{"column": "region", "op": "eq", "value": "EMEA"}],
            "sort": [{"by": "qty", "direction": "desc"}],
        },
    )
    grouped = add_card(
        client,
        dashboard_id,
        "table",
        {
            "dataset_id": dataset_id,
            "group_by": [{"column": "region"}],
            "metrics": [{"agg": "count"}],
            "limit": 2,
        },
    )
    detail = add_card(
        client,
        dashboard_id,
        "detail",
        {
            "dataset_id": dataset_id,
            "fields": ["region", "qty"],
            "filters": [{"column": "day", "op": "eq", "value": {"param": "since"}}],
        },
    )
    chooser = add_card(
        client, dashboard_id, "filter", {"parameter": "region", "dataset_id": dataset_id, "column": "region"}
    )
    text = add_card(client, dashboard_id, "text", {"markdown": "# Notes"})

    first_day = ROWS[0][0]
    body = render(client, dashboard_id, **{"param.since": first_day, "param.region": ["EMEA", "APAC"]})
    emea = [row for row in ROWS if row[1] == "EMEA"]
    data = card_data(body, table)
    assert data["total"] == len(emea) and len(data["rows"]) == 5
    assert [r[1] for r in data["rows"]] == sorted((r[3] for r in emea), reverse=True)[:5]
    grouped_data = card_data(body, grouped)
    assert grouped_data["total"] == 4 and grouped_data["rows"] == [
        [r, sum(1 for x in ROWS if x[1] == r)] for r in sorted(REGIONS)[:2]
    ]
    record = card_data(body, detail)["record"]
    assert record == {
        "region": next(r[1] for r in ROWS if r[0] == first_day),
        "qty": next(r[3] for r in ROWS if r[0] == first_day),
    }
    assert card_data(body, chooser) == {"parameter": "region", "value": ["EMEA", "APAC"], "options": sorted(REGIONS)}
    assert card_data(body, text) == {"markdown": "# Notes"}
    assert body["dashboard"]["parameters"] == {"region": ["EMEA", "APAC"], "min_qty": 0, "since": first_day}
    assert card_data(render(client, dashboard_id, **{"param.since": "1999-01-01"}), detail) == {"record": None}


def test_every_card_type_answers_data_of_its_own_schema(setup):
    """Each rendered card's `data` fits its type's member of the spec's RenderedCard (the test client
    checks every answer against the spec), the edge shapes too: a kpi's string and null values, a
    detail that matches no row, a filter control without options. The members are strict: a
    card answered with another type's data breaks the spec."""
    client, dataset_id, dashboard_id = setup
    nowhere = [{"column": "region", "op": "eq", "value": "nowhere"}]
    ids = {
        "text": add_card(client, dashboard_id, "text", {"markdown": "# Notes"}),
        "image": add_card(client, dashboard_id, "image", {"url": "https://example.com/a.png"}),
        "kpi": add_card(
            client, dashboard_id, "kpi", {"dataset_id": dataset_id, "metric": {"agg": "min", "column": "day"}}
        ),
        "empty_kpi": add_card(
            client,
            dashboard_id,
            "kpi",
            {
                "dataset_id": dataset_id,
                "metric": {"agg": "sum", "column": "amount"},
                "filters": nowhere,
                "label": "Nothing",
            },
        ),
        "chart": add_card(
            client,
            dashboard_id,
            "chart",
            {
                "dataset_id": dataset_id,
                "chart_type": "line",
                "x": {"column": "day", "bucket": "year"},
                "series_by": "region",
                "metrics": [{"agg": "avg", "column": "amount", "label": "mean"}],
            },
        ),
        "table": add_card(client, dashboard_id, "table", {"dataset_id": dataset_id, "limit": 3}),
        "detail": add_card(
            client, dashboard_id, "detail", {"dataset_id": dataset_id, "fields": ["region"], "filters": nowhere}
        ),
        "filter": add_card(client, dashboard_id, "filter", {"parameter": "min_qty"}),
    }
    body = render(client, dashboard_id)
    cards = {card["card_id"]: card for card in body["cards"]}
    data = {name: cards[card_id]["data"] for name, card_id in ids.items()}
    assert all(cards[card_id]["error"] is None for card_id in ids.values())
    assert data["image"] == {"url": "https://example.com/a.png", "alt": ""}
    assert data["kpi"] == {"value": min(row[0] for row in ROWS), "label": "min_day"}
    assert data["empty_kpi"] == {"value": None, "label": "Nothing"}
    assert [c["name"] for c in data["chart"]["columns"]] == ["day", "region", "mean"]
    assert data["table"]["total"] == len(ROWS) and len(data["table"]["rows"]) == 3
    assert data["detail"] == {"record": None}
    assert data["filter"] == {"parameter": "min_qty", "value": 0, "options": []}

    member = OAS30Validator({"$ref": "#/components/schemas/RenderedCard", "components": SPEC["components"]})
    assert all(member.is_valid(card) for card in body["cards"])
    swapped = [
        {**cards[ids["kpi"]], "data": data["chart"]},
        {**cards[ids["text"]], "data": data["image"]},
        {**cards[ids["table"]], "data": data["chart"]},
        {**cards[ids["detail"]], "data": {"record": [1]}},
        {**cards[ids["filter"]], "data": {**data["filter"], "options": [None]}},
        {**cards[ids["chart"]], "data": None, "error": {"code": "query_lost", "message": "?"}},
    ]
    assert not any(member.is_valid(card) for card in swapped)


def test_a_filter_without_a_value_is_left_out(setup):
    client, dataset_id, dashboard_id = setup
    card = add_card(
        client,
        dashboard_id,
        "kpi",
        {
            "dataset_id": dataset_id,
            "metric": {"agg": "count"},
            "filters": [
                {"column": "day", "op": "gte", "value": {"param": "since"}},
                {"column": "qty", "op": "gte", "value": {"param": "min_qty"}},
            ],
        },
    )
    assert card_data(render(client, dashboard_id), card)["value"] == len(ROWS)
    since = "2026-06-01"
    value = card_data(render(client, dashboard_id, **{"param.since": since, "param[min_qty]": "10"}), card)["value"]
    assert value == sum(1 for row in ROWS if row[0] >= since and row[3] >= 10)


def test_a_multiple_parameter_feeds_in_and_not_in(setup):
    client, dataset_id, dashboard_id = setup
    chosen = add_card(
        client,
        dashboard_id,
        "kpi",
        {
            "dataset_id": dataset_id,
            "metric": {"agg": "count"},
            "filters": [{"column": "region", "op": "in", "value": {"param": "region"}}],
        },
    )
    others = add_card(
        client,
        dashboard_id,
        "kpi",
        {
            "dataset_id": dataset_id,
            "metric": {"agg": "count"},
            "filters": [{"column": "region", "op": "not_in", "value": {"param": "region"}}],
        },
    )
    body = render(client, dashboard_id, **{"param.region": ["EMEA", "APAC"]})
    inside = sum(1 for row in ROWS if row[1] in ("EMEA", "APAC"))
    assert (card_data(body, chosen)["value"], card_data(body, others)["value"]) == (inside, len(ROWS) - inside)
    everything = render(client, dashboard_id)
    assert card_data(everything, chosen)["value"] == card_data(everything, others)["value"] == len(ROWS)


@pytest.mark.parametrize(
    "params,path",
    [
        ({"param.nope": "1"}, "/query/param.nope"),
        ({"param.min_qty": "1.5"}, "/query/param.min_qty"),
        ({"param.min_qty": ["1", "2"]}, "/query/param.min_qty"),
        ({"param.since": "2026-02-30"}, "/query/param.since"),
    ],
)
def test_bad_parameters_are_400(setup, params, path):
    client, _, dashboard_id = setup
    body = problem(client.get(f"/dashboards/{dashboard_id}/render", params=params), 400, "invalid_parameter")
    assert [e["path"] for e in body["errors"]] == [path]


def test_required_parameter_and_unknown_page(setup, world):
    client, _, dashboard_id = setup
    client.patch(
        f"/dashboards/{dashboard_id}", json={"parameters": [{"name": "who", "type": "string", "required": True}]}
    )
    problem(client.get(f"/dashboards/{dashboard_id}/render"), 400, "invalid_parameter")
    assert render(client, dashboard_id, **{"param.who": "x"})["dashboard"]["parameters"] == {"who": "x"}
    problem(
        client.get(f"/dashboards/{dashboard_id}/render", params={"page": 2, "param.who": "x"}), 404, "page_not_found"
    )


def test_one_broken_card_never_fails_the_others(setup):
    client, dataset_id, dashboard_id = setup
    good = add_card(client, dashboard_id, "kpi", {"dataset_id": dataset_id, "metric": {"agg": "count"}})
    gone_column = store_card(
        dashboard_id, "kpi", {"dataset_id": dataset_id, "metric": {"agg": "sum", "column": "vanished"}}
    )
    bad_config = store_card(dashboard_id, "kpi", {"dataset_id": dataset_id, "metric": {"agg": "median"}})
    other = client.post("/datasets", json={"name": "Tmp", "columns": COLUMNS, "rows": ROWS[:3]}).json()["id"]
    gone_dataset = add_card(client, dashboard_id, "kpi", {"dataset_id": other, "metric": {"agg": "count"}})
    assert card_data(render(client, dashboard_id), gone_dataset)["value"] == 3
    assert client.delete(f"/datasets/{other}").status_code == 204
    cards = {c["card_id"]: c for c in render(client, dashboard_id)["cards"]}
    assert cards[good]["data"]["value"] == len(ROWS)
    assert cards[gone_column]["error"]["code"] == "invalid_query"
    assert cards[bad_config]["error"]["code"] == "invalid_card_config"
    assert cards[gone_dataset]["error"]["code"] == "dataset_not_found"
    assert all(cards[c]["data"] is None for c in (gone_column, bad_config, gone_dataset))


def test_new_rows_and_changed_cards_are_seen_at_the_next_render(setup):
    client, dataset_id, dashboard_id = setup
    card = add_card(client, dashboard_id, "kpi", {"dataset_id": dataset_id, "metric": {"agg": "sum", "column": "qty"}})
    total = sum(row[3] for row in ROWS)
    first = client.get(f"/dashboards/{dashboard_id}/render")
    assert card_data(first.json(), card)["value"] == total
    etag = first.headers["etag"]
    again = client.get(f"/dashboards/{dashboard_id}/render", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.headers["etag"] == etag and not again.content

    client.post(f"/datasets/{dataset_id}/rows", json={"rows": [["2026-01-01", "EMEA", 1, 1000]]})
    after_append = client.get(f"/dashboards/{dashboard_id}/render", headers={"If-None-Match": etag})
    assert after_append.status_code == 200 and card_data(after_append.json(), card)["value"] == total + 1000

    changed = client.patch(
        f"/dashboards/{dashboard_id}/cards/{card}",
        json={"config": {"dataset_id": dataset_id, "metric": {"agg": "max", "column": "qty"}}},
    )
    assert changed.status_code == 200, changed.text
    assert card_data(render(client, dashboard_id), card)["value"] == 1000


def test_public_render_matches_the_owner_and_follows_the_audience(setup, world):
    client, dataset_id, dashboard_id = setup
    add_card(client, dashboard_id, "kpi", {"dataset_id": dataset_id, "metric": {"agg": "count"}})
    anonymous = world.anonymous()
    slug = client.patch(f"/dashboards/{dashboard_id}", json={"default_audience": "public"}).json()["public_slug"]
    public = anonymous.get(f"/public/dashboards/{slug}/render", params={"param.region": "EMEA"})
    assert public.status_code == 200
    assert public.json() == render(client, dashboard_id, **{"param.region": "EMEA"})
    assert set(public.json()["dashboard"]) == {"id", "name", "parameters"}
    assert "owner" not in public.text and "share" not in public.text

    client.patch(f"/dashboards/{dashboard_id}", json={"default_audience": "org"})
    problem(anonymous.get(f"/public/dashboards/{slug}/render"), 404, "public_dashboard_not_found")
    new_slug = client.patch(f"/dashboards/{dashboard_id}", json={"default_audience": "public"}).json()["public_slug"]
    assert new_slug != slug
    problem(anonymous.get(f"/public/dashboards/{slug}/render"), 404, "public_dashboard_not_found")
    assert anonymous.get(f"/public/dashboards/{new_slug}/render").status_code == 200
    problem(anonymous.get(f"/dashboards/{dashboard_id}/render"), 401, "unauthenticated")


def test_a_body_render_answers_what_the_query_string_render_answers(setup):
    """POST with typed values: the GET's bytes and ETag, and each one's tag is the other's 304."""
    client, dataset_id, dashboard_id = setup
    card = add_card(
        client,
        dashboard_id,
        "kpi",
        {
            "dataset_id": dataset_id,
            "metric": {"agg": "sum", "column": "qty"},
            "filters": [
                {"column": "region", "op": "in", "value": {"param": "region"}},
                {"column": "qty", "op": "gte", "value": {"param": "min_qty"}},
                {"column": "day", "op": "gte", "value": {"param": "since"}},
            ],
        },
    )
    path = f"/dashboards/{dashboard_id}/render"
    by_query = client.get(
        path, params={"param.region": ["EMEA", "APAC"], "param.min_qty": "10", "param.since": "2026-01-01"}
    )
    by_body = client.post(path, json={"parameters": {"region": ["EMEA", "APAC"], "min_qty": 10, "since": "2026-01-01"}})
    assert by_body.status_code == 200, by_body.text
    assert by_body.content == by_query.content and by_body.headers["etag"] == by_query.headers["etag"]
    assert card_data(by_body.json(), card)["value"] == sum(
        row[3] for row in ROWS if row[1] in ("EMEA", "APAC") and row[3] >= 10 and row[0] >= "2026-01-01"
    )
    assert by_body.json()["dashboard"]["parameters"] == {
        "region": ["EMEA", "APAC"],
        "min_qty": 10,
        "since": "2026-01-01",
    }

    # One value of a `multiple` parameter is a list of one, as one `param.region` is.
    one = client.post(path, json={"parameters": {"region": "LATAM"}, "page": 1})
    assert one.content == client.get(path, params={"param.region": "LATAM"}).content
    assert card_data(one.json(), card)["value"] == sum(row[3] for row in ROWS if row[1] == "LATAM")
    # Without a body, or with an empty one, every parameter takes its default.
    defaults = client.get(path)
    for answer in (client.post(path), client.post(path, json={}), client.post(path, json={"parameters": {}})):
        assert answer.status_code == 200 and answer.content == defaults.content
        assert answer.headers["etag"] == defaults.headers["etag"]

    tag = by_query.headers["etag"]
    repeated = client.post(
        path,
        json={"parameters": {"since": "2026-01-01", "min_qty": 10, "region": ["EMEA", "APAC"]}},
        headers={"If-None-Match": tag},
    )
    assert repeated.status_code == 304 and repeated.headers["etag"] == tag and not repeated.content
    assert (
        client.get(
            path,
            params={"param.region": ["EMEA", "APAC"], "param.min_qty": "10", "param.since": "2026-01-01"},
            headers={"If-None-Match": by_body.headers["etag"]},
        ).status_code
        == 304
    )
    assert (
        client.post(path, json={"parameters": {"region": ["EMEA"]}}, headers={"If-None-Match": tag}).status_code == 200
    )
    client.post(f"/datasets/{dataset_id}/rows", json={"rows": [["2026-03-01", "EMEA", 1, 1000]]})
    after_append = client.post(
        path,
        json={"parameters": {"region": ["EMEA", "APAC"], "min_qty": 10, "since": "2026-01-01"}},
        headers={"If-None-Match": tag},
    )
    assert after_append.status_code == 200 and after_append.headers["etag"] != tag
    assert card_data(after_append.json(), card)["value"] == card_data(by_body.json(), card)["value"] + 1000


@pytest.mark.parametrize(
    "parameters,path,message",
    [
        ({"nope": "1"}, "/parameters/nope", "the dashboard has no such parameter"),
        ({"a/b~c": "1"}, "/parameters/a~1b~0c", "the dashboard has no such parameter"),
        ({"min_qty": "10"}, "/parameters/min_qty", "expected an integer (integer)"),
        ({"min_qty": 1.5}, "/parameters/min_qty", "expected an integer (integer)"),
        ({"min_qty": True}, "/parameters/min_qty", "expected an integer (integer)"),
        ({"min_qty": [1]}, "/parameters/min_qty", "takes one value, not a list"),
        ({"since": "2026-02-30"}, "/parameters/since", "expected a date as YYYY-MM-DD (date)"),
        ({"since": 20260101}, "/parameters/since", "expected a date as YYYY-MM-DD (date)"),
        ({"region": ["EMEA", 3]}, "/parameters/region", "expected a string (string)"),
        ({"region": False}, "/parameters/region", "expected a string (string)"),
    ],
)
def test_a_body_value_that_does_not_fit_is_400_at_its_pointer(setup, parameters, path, message):
    client, _, dashboard_id = setup
    body = problem(
        client.post(f"/dashboards/{dashboard_id}/render", json={"parameters": parameters}), 400, "invalid_parameter"
    )
    assert body["errors"] == [{"path": path, "message": message}]


@pytest.mark.parametrize(
    "request_body,path",
    [
        ({"parameters": {"region": []}}, "/parameters/region"),
        ({"parameters": {"region": None}}, "/parameters/region"),
        ({"parameters": {"region": {"v": "EMEA"}}}, "/parameters/region"),
        ({"parameters": {"region": [["EMEA"]]}}, "/parameters/region"),
        ({"parameters": {"region": "x" * 1001}}, "/parameters/region"),
        ({"page": 0}, "/page"),
        ({"params": {}}, "/params"),
    ],
)
def test_a_body_the_schema_refuses_is_400_invalid_request(setup, request_body, path):
    client, _, dashboard_id = setup
    body = problem(client.post(f"/dashboards/{dashboard_id}/render", json=request_body), 400, "invalid_request")
    assert [e["path"] for e in body["errors"]] == [path]


def test_a_body_render_names_the_page_and_meets_the_same_refusals(setup, world):
    client, _, dashboard_id = setup
    add_card(client, dashboard_id, "text", {"markdown": "# One"})
    second = client.post(f"/dashboards/{dashboard_id}/pages", json={"name": "Two"}).json()["page_number"]
    add_card(client, dashboard_id, "text", {"markdown": "# Two"})  # lands on page 1
    path = f"/dashboards/{dashboard_id}/render"
    assert client.post(path, json={"page": second}).content == client.get(path, params={"page": second}).content
    assert client.post(path, json={"page": second}).json()["page"] == second
    problem(client.post(path, json={"page": second + 1}), 404, "page_not_found")
    client.patch(
        f"/dashboards/{dashboard_id}", json={"parameters": [{"name": "who", "type": "string", "required": True}]}
    )
    body = problem(client.post(path, json={}), 400, "invalid_parameter")
    assert body["errors"] == [{"path": "/parameters/who", "message": "a value is required"}]
    assert client.post(path, json={"parameters": {"who": "x"}}).json()["dashboard"]["parameters"] == {"who": "x"}
    problem(world.anonymous().post(path, json={}), 401, "unauthenticated")
    problem(world.user(role="editor")[1].post(path, json={}), 404, "dashboard_not_found")


def test_a_public_body_render_matches_the_public_query_string_render(setup, world):
    client, dataset_id, dashboard_id = setup
    add_card(
        client,
        dashboard_id,
        "kpi",
        {
            "dataset_id": dataset_id,
            "metric": {"agg": "count"},
            "filters": [{"column": "region", "op": "in", "value": {"param": "region"}}],
        },
    )
    anonymous = world.anonymous()
    slug = client.patch(f"/dashboards/{dashboard_id}", json={"default_audience": "public"}).json()["public_slug"]
    path = f"/public/dashboards/{slug}/render"
    by_query = anonymous.get(path, params={"param.region": ["EMEA", "AMER"]})
    by_body = anonymous.post(path, json={"parameters": {"region": ["EMEA", "AMER"]}})
    assert by_body.status_code == 200 and by_body.content == by_query.content
    assert by_body.headers["etag"] == by_query.headers["etag"]
    assert by_body.headers["cache-control"] == by_query.headers["cache-control"] == "public, no-cache"
    again = anonymous.post(
        path, json={"parameters": {"region": ["EMEA", "AMER"]}}, headers={"If-None-Match": by_body.headers["etag"]}
    )
    assert again.status_code == 304 and again.headers["cache-control"] == "public, no-cache"
    problem(anonymous.post(path, json={"parameters": {"nope": 1}}), 400, "invalid_parameter")
    client.patch(f"/dashboards/{dashboard_id}", json={"default_audience": "org"})
    problem(anonymous.post(path, json={}), 404, "public_dashboard_not_found")


def test_only_the_public_render_is_open():
    open_operations = [
        op["operationId"]
        for item in SPEC["paths"].values()
        for op in item.values()
        if isinstance(op, dict) and "operationId" in op and op.get("security", SPEC["security"]) == []
    ]
    assert sorted(open_operations) == [  # besides the public render, only the operator's probes
        "getHealth",
        "getReady",
        "renderPublicDashboard",
        "renderPublicDashboardWithBody",
    ]


def test_a_query_over_its_time_budget_is_stopped_and_only_its_card_fails(setup):
    from handlers.render import rendered
    from models.dataset_tables import append_rows
    from models.datasets import Dataset
    from models.render import Renderer

    client, dataset_id, dashboard_id = setup
    dataset = Dataset.get_by_id(dataset_id)
    append_rows(dataset, (ROWS[i % len(ROWS)] for i in range(40_000)))
    slow = add_card(
        client,
        dashboard_id,
        "chart",
        {
            "dataset_id": dataset_id,
            "chart_type": "bar",
            "x": {"column": "day", "bucket": "week"},
            "metrics": [{"agg": "count_distinct", "column": "amount"}, {"agg": "avg", "column": "qty"}],
        },
    )
    note = add_card(client, dashboard_id, "text", {"markdown": "still here"})
    impatient = Renderer(workers=2, budget_ms=1)
    payload, _ = rendered(impatient, Dashboard.get_by_id(dashboard_id), 1, {})
    cards = {c["card_id"]: c for c in json.loads(payload)["cards"]}
    assert cards[slow]["error"]["code"] == "query_timeout" and cards[slow]["data"] is None
    assert cards[note]["data"] == {"markdown": "still here"}
    assert not impatient.cache  # a timeout is never kept
    assert card_data(render(client, dashboard_id), slow)["rows"]  # with the normal budget it renders
