"""Every answer body is built in handlers/serializers.py from what the models loaded: a serializer
never reads the store. Each operation that answers a JSON body runs here while every function of
handlers.serializers is watched; a query made inside one fails the request (500) and is named."""

import functools
import inspect
import threading

import pytest

from handlers import serializers
from models import db
from tests.conftest import SPEC, _operation_for

COLUMNS = [{"name": "day", "type": "date"}, {"name": "region", "type": "string"}, {"name": "amount", "type": "number"}]
ROWS = [["2026-01-05", "EMEA", 120.5], ["2026-01-06", "APAC", 80]]


@pytest.fixture
def watched(monkeypatch):
    """The queries made while a serializer runs (on the handler's worker thread)."""
    inside = threading.local()
    made = []

    def watch(function):
        @functools.wraps(function)
        def watched_function(*args, **kwargs):
            inside.depth = getattr(inside, "depth", 0) + 1
            try:
                return function(*args, **kwargs)
            finally:
                inside.depth -= 1

        return watched_function

    def refuse(what):
        if getattr(inside, "depth", 0):
            made.append(what)
            raise AssertionError(f"a serializer read the store: {what}")

    store = db.database.obj
    execute_sql, batch = store.execute_sql, db.Prepared.batch

    def watched_execute_sql(sql, params=None, *args, **kwargs):
        refuse(sql)
        return execute_sql(sql, params, *args, **kwargs)

    def watched_batch(*calls):
        refuse("Prepared.batch")
        return batch(*calls)

    for name, function in inspect.getmembers(serializers, inspect.isfunction):
        if function.__module__ == serializers.__name__:
            monkeypatch.setattr(serializers, name, watch(function))
    monkeypatch.setattr(store, "execute_sql", watched_execute_sql)
    monkeypatch.setattr(db.Prepared, "batch", staticmethod(watched_batch))
    return made


RAN = set()  # the operations `ok` saw succeed


def ok(response, status=200):
    assert response.status_code == status, response.text
    RAN.add(_operation_for(response.request.method, response.request.url.path)["operationId"])
    return response.json()


def json_operations():
    """Every operation of the spec with a JSON body among its successful answers."""
    return {
        operation["operationId"]
        for item in SPEC["paths"].values()
        for method, operation in item.items()
        if method in ("get", "put", "post", "patch", "delete")
        and any(
            status.startswith("2") and "application/json" in answer.get("content", {})
            for status, answer in operation["responses"].items()
        )
    }


def test_no_serializer_reads_the_store(world, watched):
    RAN.clear()
    org = world.org()
    admin = world.user(org=org, role="admin")[1]
    member, editor = world.user(org=org, role="editor")
    group = ok(admin.post("/groups", json={"name": "Finance"}), 201)
    ok(admin.get(f"/groups/{group['id']}"))
    ok(admin.patch(f"/groups/{group['id']}", json={"description": "Money"}))
    assert ok(admin.put(f"/groups/{group['id']}/members/{member.id}"))["members"][0]["id"] == member.id
    ok(admin.get("/groups"))
    ok(admin.get("/users"))

    collection = ok(editor.post("/dashboards/collections", json={"name": "Sales"}), 201)
    ok(editor.get(f"/dashboards/collections/{collection['id']}"))
    ok(editor.patch(f"/dashboards/collections/{collection['id']}", json={"description": "All of it"}))
    ok(editor.get("/dashboards/collections"))

    dataset = ok(editor.post("/datasets", json={"name": "Orders", "columns": COLUMNS, "rows": ROWS}), 201)
    ok(editor.get(f"/datasets/{dataset['id']}"))
    ok(editor.get("/datasets"))
    ok(editor.post(f"/datasets/{dataset['id']}/rows", json={"rows": ROWS}))
    assert len(ok(editor.get(f"/datasets/{dataset['id']}/rows"))["items"]) == 4

    board = ok(
        editor.post(
            "/dashboards", json={"name": "Board", "collection_id": collection["id"], "default_audience": "public"}
        ),
        201,
    )
    url = f"/dashboards/{board['id']}"
    page = ok(editor.post(f"{url}/pages", json={"name": "Second"}), 201)
    ok(editor.get(f"{url}/pages/{page['page_number']}"))
    ok(editor.patch(f"{url}/pages/{page['page_number']}", json={"name": "Two"}))
    kpi = ok(
        editor.post(
            f"{url}/cards",
            json={
                "card_type": "kpi",
                "config": {"dataset_id": dataset["id"], "metric": {"agg": "sum", "column": "amount"}},
            },
        ),
        201,
    )
    ok(editor.get(f"{url}/cards/{kpi['id']}"))
    ok(editor.patch(f"{url}/cards/{kpi['id']}", json={"page": 2}))
    copy = ok(editor.post(f"{url}/cards/{kpi['id']}/duplicate"), 201)
    assert copy["page"] == 2
    ok(editor.patch(f"{url}/layout", json=[{"card_id": copy["id"], "x": 12, "y": 0, "w": 6, "h": 4}]))
    ok(
        editor.post(
            f"{url}/shares", json={"subject_type": "group", "subject_id": group["id"], "access_level": "viewer"}
        ),
        201,
    )
    ok(editor.get(f"{url}/shares"))
    ok(editor.get(f"{url}/permissions/me"))
    ok(editor.patch(url, json={"name": "The board"}))
    detail = ok(editor.get(url))  # built and kept
    assert ok(editor.get(url)) == detail  # from the answer cache
    assert len(detail["cards"]) == 2 and len(detail["shares"]) == 1
    assert ok(editor.get(f"{url}/render", params={"page": 2}))["cards"][0]["data"]["value"] == 401
    ok(world.anonymous().get(f"/public/dashboards/{detail['public_slug']}/render", params={"page": 2}))
    assert ok(editor.post(f"{url}/render", json={"page": 2}))["cards"][0]["data"]["value"] == 401
    ok(world.anonymous().post(f"/public/dashboards/{detail['public_slug']}/render", json={"page": 2}))
    ok(editor.post(f"{url}/duplicate"), 201)
    ok(editor.get("/dashboards"))

    ok(editor.get("/card-types"))
    template = ok(editor.get("/dashboards/templates"))["items"][0]["id"]
    ok(
        editor.post(
            "/dashboards/from-template",
            json={"template_id": template, "dataset_id": dataset["id"], "name": "From a template"},
        ),
        201,
    )
    ok(editor.get("/me"))
    ok(editor.post("/tokens", json={}), 201)
    ok(editor.get("/tokens"))
    ok(world.anonymous().get("/health"))
    ok(world.anonymous().get("/ready"))
    assert watched == []
    assert json_operations() - RAN == set()  # a new operation answering JSON joins this test
