"""Templates: the files and their schema, the list, binding roles by type and by data, every
template rendering cleanly with the right numbers, precise refusals, bindings, and Hypothesis
over generated datasets (success renders cleanly, refusal names exactly the unmet roles)."""

import datetime
import json
import re
import statistics

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st
from jsonschema.validators import validator_for

from models import templates
from models.content import Card, Dashboard, Page
from tests.conftest import problem

NAMES = ["breakdown", "kpi-summary", "profile-detail", "time-series"]
SALES = [
    {"name": "customer", "type": "string"},
    {"name": "day", "type": "date"},
    {"name": "region", "type": "string"},
    {"name": "id", "type": "integer"},
    {"name": "amount", "type": "number"},
]
REGIONS = ["EMEA", "APAC", "AMER"]


def _sales_rows(count=36):
    start = datetime.date(2026, 1, 15)
    return [
        [
            f"customer {i % 12}",
            (start + datetime.timedelta(days=9 * i)).isoformat(),
            REGIONS[i % 3] if i % 3 else REGIONS[(i // 3) % 2],
            100 + i,
            round(1.5 * i + (i % 7), 2),
        ]
        for i in range(count)
    ]


SALES_ROWS = _sales_rows()


@pytest.fixture
def editor(world):
    return world.user(role="editor")


def dataset(client, columns, rows=(), name="Data"):
    response = client.post("/datasets", json={"name": name, "columns": columns, "rows": list(rows)})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def from_template(client, template_id, dataset_id, **extra):
    return client.post(
        "/dashboards/from-template", json={"template_id": template_id, "dataset_id": dataset_id, "name": "T", **extra}
    )


def created(client, template_id, dataset_id, **extra):
    response = from_template(client, template_id, dataset_id, **extra)
    assert response.status_code == 201, response.text
    body = response.json()
    assert response.headers["location"] == f"/api/dashboards/{body['id']}"
    assert response.headers["etag"] == f'"{body["version"]}"'
    return body


def render_all(client, dashboard, **params):
    """Every page rendered; asserts no card has an error; the cards' data by card id."""
    data = {}
    for page in dashboard["pages"]:
        response = client.get(
            f"/dashboards/{dashboard['id']}/render",
            params={"page": page["page_number"], **{f"param.{k}": v for k, v in params.items()}},
        )
        assert response.status_code == 200, response.text
        for card in response.json()["cards"]:
            assert card["error"] is None, (card, dashboard["cards"])
            data[card["card_id"]] = card["data"]
    return data


def cards_of(dashboard, card_type):
    return [card for card in dashboard["cards"] if card["card_type"] == card_type]


def unmet_roles(response):
    body = problem(response, 422, "template_incompatible")
    return sorted(
        re.search(r"for the (\w+) role", e["message"])[1] for e in body["errors"] if e["path"] == "/dataset_id"
    )


def store_counts():
    return Dashboard.select().count(), Page.select().count(), Card.select().count()


# --- the files ------------------------------------------------------------------------------


def test_every_template_file_fits_the_template_schema():
    schema = json.loads(templates.SCHEMA_FILE.read_text())
    cls = validator_for(schema)
    cls.check_schema(schema)
    files = sorted(path for path in templates.TEMPLATE_DIR.glob("*.json") if path != templates.SCHEMA_FILE)
    assert [path.stem for path in files] == NAMES
    for path in files:
        errors = list(cls(schema).iter_errors(json.loads(path.read_text())))
        assert not errors, (path.name, [e.message for e in errors])
    assert [t.id for t in templates.all_templates()] == NAMES


# --- the list and routing -------------------------------------------------------------------


def test_list_states_roles_requirements_parameters_and_tiles(world):
    _, viewer = world.user(role="viewer")
    response = viewer.get("/dashboards/templates")
    assert response.status_code == 200, response.text
    body = response.json()
    assert [item["id"] for item in body["items"]] == sorted(NAMES)  # by id
    assert (body["total"], body["limit"], body["offset"]) == (len(NAMES), 50, 0)
    items = {item["id"]: item for item in body["items"]}
    series = items["time-series"]
    assert [(r["role"], r["kind"], r["types"]) for r in series["roles"]] == [
        ("date", "date", ["date", "datetime"]),
        ("measure", "measure", ["integer", "number"]),
    ]
    assert series["requirements"] == [
        "date: a date or datetime column",
        "measure: a numeric column (integer or number)",
    ]
    assert [p["name"] for p in series["parameters"]] == ["from", "to"]
    assert [page["name"] for page in series["pages"]] == ["Trend", "By month"]
    assert {"title", "card_type", "layout"} <= set(series["pages"][0]["tiles"][0])
    key = items["profile-detail"]["parameters"][0]
    assert (key["name"], key["type"], key["type_of_role"]) == ("key", None, "key")


def test_literal_paths_win_over_the_dashboard_id_path(editor):
    _, client = editor
    assert client.get("/dashboards/templates").status_code == 200
    for method, path, allow in [
        ("PATCH", "/dashboards/templates", "GET"),
        ("DELETE", "/dashboards/templates", "GET"),
        ("GET", "/dashboards/from-template", "POST"),
    ]:
        response = client.request(method, path)
        problem(response, 405, "method_not_allowed")
        assert response.headers["allow"] == allow


# --- each template over a compatible dataset ------------------------------------------------


@pytest.fixture
def sales(editor):
    _, client = editor
    return client, dataset(client, SALES, SALES_ROWS, name="Sales")


@pytest.mark.parametrize("template_id", NAMES)
def test_every_template_renders_cleanly_and_is_stored_whole(sales, template_id):
    client, dataset_id = sales
    body = created(client, template_id, dataset_id)
    tpl = templates.template(template_id)
    assert [p["name"] for p in body["pages"]] == [page["name"] for page in tpl.pages]
    assert len(body["cards"]) == sum(len(page["cards"]) for page in tpl.pages)
    assert body["default_audience"] == "private" and body["description"] == tpl.description
    assert client.get(f"/dashboards/{body['id']}").json() == body
    render_all(client, body)


def test_kpi_summary_numbers(sales):
    client, dataset_id = sales
    body = created(client, "kpi-summary", dataset_id)
    data = render_all(client, body)
    amounts = [row[4] for row in SALES_ROWS]
    values = {data[card["id"]]["label"]: data[card["id"]]["value"] for card in body["cards"]}
    # `id` is an integer whose values are all different: a key, not a measure; `amount` is chosen.
    assert values["Rows"] == len(SALES_ROWS)
    assert values["Total amount"] == pytest.approx(sum(amounts))
    assert values["Average amount"] == pytest.approx(statistics.fmean(amounts))
    assert (values["Lowest amount"], values["Highest amount"]) == (min(amounts), max(amounts))


def test_time_series_by_month_and_date_range(sales):
    client, dataset_id = sales
    body = created(client, "time-series", dataset_id)
    chart = cards_of(body, "chart")[0]
    assert chart["config"]["x"] == {"column": "day", "bucket": "month"}
    expected = {}
    for row in SALES_ROWS:
        month = row[1][:7] + "-01"
        expected[month] = expected.get(month, 0) + row[4]
    rows = render_all(client, body)[chart["id"]]["rows"]
    assert {month: value for month, value in rows} == pytest.approx(expected)
    ranged = render_all(client, body, **{"from": "2026-03-01", "to": "2026-03-31"})
    total = next(card for card in cards_of(body, "kpi") if card["config"]["metric"]["agg"] == "sum")
    assert ranged[total["id"]]["value"] == pytest.approx(sum(r[4] for r in SALES_ROWS if r[1].startswith("2026-03")))


def test_breakdown_picks_the_category_with_fewest_values_and_sorts_largest_first(sales):
    client, dataset_id = sales
    body = created(client, "breakdown", dataset_id)
    bar = next(card for card in cards_of(body, "chart") if card["config"]["chart_type"] == "bar")
    assert bar["config"]["x"] == {"column": "region"}  # 3 values, against customer's 12
    totals = {}
    for row in SALES_ROWS:
        totals[row[2]] = totals.get(row[2], 0) + row[4]
    rows = render_all(client, body)[bar["id"]]["rows"]
    assert [region for region, _ in rows] == sorted(totals, key=totals.get, reverse=True)
    assert dict(rows) == pytest.approx(totals)
    chosen = render_all(client, body, category="EMEA")[bar["id"]]["rows"]
    assert [region for region, _ in chosen] == ["EMEA"]


def test_profile_detail_opens_on_the_lowest_key_and_filters_by_the_key_parameter(sales):
    client, dataset_id = sales
    body = created(client, "profile-detail", dataset_id)
    assert body["parameters"][0] | {"label": None} == {
        "name": "key",
        "type": "integer",
        "label": None,
        "default": 100,
        "multiple": False,
        "required": False,
    }
    detail, table = cards_of(body, "detail")[0], cards_of(body, "table")[0]
    for card in (detail, table):  # both follow the key parameter
        assert card["config"]["filters"] == [{"column": "id", "op": "eq", "value": {"param": "key"}}]
    names = [c["name"] for c in SALES]
    data = render_all(client, body)
    assert data[detail["id"]]["record"] == dict(zip(names, SALES_ROWS[0]))
    data = render_all(client, body, key="107")
    assert data[detail["id"]]["record"]["id"] == 107
    key_first = [SALES_ROWS[7][3], *SALES_ROWS[7][:3], SALES_ROWS[7][4]]  # roles' columns lead
    assert data[table["id"]]["rows"] == [key_first] and data[table["id"]]["total"] == 1
    assert data[detail["id"]]["record"].keys() == set(names)


def test_an_empty_dataset_still_builds_every_template(editor):
    _, client = editor
    dataset_id = dataset(client, SALES)
    for template_id in NAMES:
        body = created(client, template_id, dataset_id)
        render_all(client, body)
    assert "default" not in body["parameters"][0] or body["parameters"][0]["default"] is None


# --- refusals -------------------------------------------------------------------------------


def test_a_dataset_that_lacks_roles_is_refused_with_every_unmet_role(editor):
    _, client = editor
    notes = dataset(client, [{"name": "note", "type": "boolean"}])
    before = store_counts()
    body = problem(from_template(client, "time-series", notes), 422, "template_incompatible")
    assert body["errors"] == [
        {"path": "/dataset_id", "message": "needs a date or datetime column for the date role (none found)"},
        {
            "path": "/dataset_id",
            "message": "needs a numeric column (integer or number) for the measure role (none found)",
        },
    ]
    assert unmet_roles(from_template(client, "profile-detail", notes)) == ["key"]
    assert store_counts() == before


def test_data_rules_category_cardinality_and_key_uniqueness(editor):
    _, client = editor
    rows = [[f"user {i}", i % 3, float(i)] for i in range(60)] + [["user 0", None, 1.0]]
    many = dataset(
        client,
        [{"name": "user", "type": "string"}, {"name": "n", "type": "integer"}, {"name": "x", "type": "number"}],
        rows,
    )
    body = problem(from_template(client, "breakdown", many), 422, "template_incompatible")
    assert body["errors"] == [
        {
            "path": "/dataset_id",
            "message": "needs a text column with at most 50 distinct values for the category role "
            "(every text column has more than 50 distinct values)",
        }
    ]
    # `user` repeats "user 0"; `n` has a null: neither identifies one record.
    assert problem(from_template(client, "profile-detail", many), 422, "template_incompatible")["errors"][0][
        "message"
    ].endswith("(no text or integer column has unique, non-empty values)")


def test_unknown_template_dataset_and_collection(world, editor):
    _, client = editor
    mine = dataset(client, SALES, SALES_ROWS)
    problem(from_template(client, "no-such-template", mine), 404, "template_not_found")
    body = problem(from_template(client, "kpi-summary", 999999), 422, "dataset_not_found")
    assert body["errors"] == [{"path": "/dataset_id", "message": "no such dataset in this project"}]
    _, stranger = world.user(role="editor")
    problem(from_template(stranger, "kpi-summary", mine), 422, "dataset_not_found")
    body = problem(from_template(client, "kpi-summary", mine, collection_id=999999), 422, "collection_not_found")
    assert body["errors"][0]["path"] == "/collection_id"
    problem(from_template(client, "Bad_Id", mine), 400, "invalid_request")


def test_creating_from_a_template_needs_the_right_to_create_dashboards(world):
    user, viewer = world.user(role="viewer")
    _, editor = world.user(org=user.org, role="editor")
    mine = dataset(editor, SALES, SALES_ROWS)
    problem(from_template(viewer, "kpi-summary", mine), 403, "permission_denied")
    _, permitted = world.user(org=user.org, role="viewer", permissions=["dashboard.edit"])
    body = created(
        permitted,
        "kpi-summary",
        mine,
        collection_id=editor.post("/dashboards/collections", json={"name": "F"}).json()["id"],
    )
    assert body["collection_id"] is not None


def test_a_failure_half_way_stores_nothing(sales, monkeypatch):
    client, dataset_id = sales
    real, calls = templates.add_card, []

    def third_fails(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:  # a failure the operation cannot answer but as a 500
            raise RuntimeError("injected")
        return real(*args, **kwargs)

    monkeypatch.setattr(templates, "add_card", third_fails)
    before = store_counts()
    problem(from_template(client, "time-series", dataset_id), 500, "internal_error")
    assert len(calls) == 3 and store_counts() == before


# --- bindings -------------------------------------------------------------------------------


def test_bindings_override_the_automatic_choice(sales):
    client, dataset_id = sales
    body = created(client, "breakdown", dataset_id, bindings={"category": "customer", "measure": "id"})
    bar = next(card for card in cards_of(body, "chart") if card["config"]["chart_type"] == "bar")
    assert bar["config"]["x"] == {"column": "customer"}
    assert bar["config"]["metrics"][0]["column"] == "id"
    rows = render_all(client, body)[bar["id"]]["rows"]
    assert len(rows) == 12 and sum(value for _, value in rows) == sum(row[3] for row in SALES_ROWS)


def test_bad_bindings_are_all_named_with_the_unmet_roles(editor):
    _, client = editor
    dataset_id = dataset(client, [{"name": "label", "type": "string"}, {"name": "when", "type": "date"}])
    before = store_counts()
    body = problem(
        from_template(
            client, "breakdown", dataset_id, bindings={"category": "when", "colour": "label", "measure": "nope"}
        ),
        422,
        "template_incompatible",
    )
    assert body["errors"] == [
        {"path": "/bindings/colour", "message": "the template has no role 'colour'"},
        {
            "path": "/bindings/category",
            "message": "'when' is a date column; category needs a text column with at most 50 distinct values",
        },
        {"path": "/bindings/measure", "message": "the dataset has no column 'nope'"},
    ]
    body = problem(
        from_template(client, "time-series", dataset_id, bindings={"date": "when"}), 422, "template_incompatible"
    )
    assert body["errors"] == [
        {
            "path": "/dataset_id",
            "message": "needs a numeric column (integer or number) for the measure role (none found)",
        }
    ]
    assert store_counts() == before


# --- column names that could clash with the template's own names -----------------------------


def test_column_names_that_clash_with_labels_or_are_long_still_render(editor):
    _, client = editor
    long = "x" * 255
    columns = [{"name": "Rows", "type": "string"}, {"name": long, "type": "number"}, {"name": "a/b~c", "type": "date"}]
    rows = [["p", 1.5, "2026-01-01"], ["q", 2.5, "2026-02-01"], ["p", 4.0, "2026-02-03"]]
    dataset_id = dataset(client, columns, rows)
    for template_id in ("breakdown", "kpi-summary", "time-series"):
        body = created(client, template_id, dataset_id)
        render_all(client, body)
    table = cards_of(body, "table")[0]
    assert all(len(metric.get("label", "")) <= 255 for metric in table["config"]["metrics"])
    breakdown = created(client, "breakdown", dataset_id)
    labels = [m.get("label") for m in cards_of(breakdown, "table")[0]["config"]["metrics"]]
    assert labels[0] == "Rows (2)"  # the category column is called Rows


# --- generated datasets ---------------------------------------------------------------------

TYPES = ["string", "integer", "number", "boolean", "date", "datetime"]
COLUMN_NAMES = ["id", "amount", "Rows", "count", "Total amount", "region", "day", "sum_amount", "k/ey", "x" * 255]
VALUES = {
    "string": st.sampled_from(["a", "b", "c", "Rows"]),
    "integer": st.integers(-3, 3),
    "number": st.sampled_from([0.5, -1.25, 3.0, 1e6]),
    "boolean": st.booleans(),
    "date": st.sampled_from(["2026-01-31", "2026-02-01", "2025-12-24"]),
    "datetime": st.sampled_from(["2026-01-31T23:59:59Z", "2026-03-01T00:00:00"]),
}


@st.composite
def generated_datasets(draw):
    names = draw(st.lists(st.sampled_from(COLUMN_NAMES), min_size=1, max_size=5, unique=True))
    columns = [{"name": name, "type": draw(st.sampled_from(TYPES))} for name in names]
    cell = lambda column: st.one_of(st.none(), VALUES[column["type"]])
    rows = draw(st.lists(st.tuples(*[cell(column) for column in columns]).map(list), max_size=6))
    return columns, rows


def expected_unmet(tpl, columns, rows):
    """The roles a dataset cannot fill, by the rules stated in the template list, in Python."""

    def values(index):
        return [row[index] for row in rows]

    def fits(kind, index, column):
        if column["type"] not in templates.KINDS[kind].types:
            return False
        present = [v for v in values(index) if v is not None]
        if kind == "category":
            return len(set(present)) <= templates.MAX_CATEGORIES
        if kind == "key":
            return len(present) == len(rows) and len(set(present)) == len(present)
        return True

    return sorted(
        role.name for role in tpl.roles if not any(fits(role.kind, i, column) for i, column in enumerate(columns))
    )


@settings(max_examples=40)
@given(generated=generated_datasets())
def test_generated_datasets_either_render_cleanly_or_are_refused_precisely(editor, generated):
    _, client = editor
    columns, rows = generated
    dataset_id = dataset(client, columns, rows)
    for tpl in templates.all_templates():
        before = store_counts()
        response = from_template(client, tpl.id, dataset_id)
        unmet = expected_unmet(tpl, columns, rows)
        event(f"{tpl.id}: {'refused' if unmet else 'built'}")
        if unmet:
            assert unmet_roles(response) == unmet
            assert store_counts() == before
        else:
            assert response.status_code == 201, response.text
            render_all(client, response.json())
