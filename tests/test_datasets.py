"""Datasets through the API: create, append (JSON and CSV), preview, delete, and who may write."""

import pytest

from tests.conftest import problem

COLUMNS = [
    {"name": "day", "type": "date"},
    {"name": "region; DROP TABLE dataset;--", "type": "string"},
    {"name": "amount", "type": "number"},
]


@pytest.fixture
def editor(world):
    return world.user(role="editor")[1]


def create(client, **body):
    response = client.post("/datasets", json={"name": "Orders", "columns": COLUMNS, **body})
    assert response.status_code == 201, response.text
    return response.json()


def test_create_with_rows_preview_and_get(editor):
    rows = [["2026-01-05", "EMEA", 120.5], {"day": "2026-01-06", "amount": 80}]
    d = create(editor, rows=rows)
    assert (d["row_count"], d["version"]) == (2, 2)
    assert d["columns"] == COLUMNS
    response = editor.get(f"/datasets/{d['id']}/rows", params={"limit": 1, "offset": 1})
    page = response.json()
    assert page["items"] == [{"day": "2026-01-06", "region; DROP TABLE dataset;--": None, "amount": 80}]
    assert (page["total"], page["limit"], page["offset"]) == (2, 1, 1)
    assert editor.get(f"/datasets/{d['id']}").json() == d
    assert [x["id"] for x in editor.get("/datasets", params={"q": "ORD"}).json()["items"]] == [d["id"]]


def test_append_json_and_csv_bump_version(editor):
    d = create(editor)
    appended = editor.post(f"/datasets/{d['id']}/rows", json={"rows": [["2026-02-01", "APAC", 1]]}).json()
    assert appended == {"appended": 1, "row_count": 1, "version": 2}
    csv_body = 'amount,day,"region; DROP TABLE dataset;--"\n2.5,2026-02-02,"a, ""quoted"" value"\n,2026-02-03,\n'
    response = editor.post(f"/datasets/{d['id']}/rows", content=csv_body.encode(), headers={"Content-Type": "text/csv"})
    assert response.json() == {"appended": 2, "row_count": 3, "version": 3}
    items = editor.get(f"/datasets/{d['id']}/rows").json()["items"]
    assert items[1] == {"day": "2026-02-02", "region; DROP TABLE dataset;--": 'a, "quoted" value', "amount": 2.5}
    assert items[2] == {"day": "2026-02-03", "region; DROP TABLE dataset;--": None, "amount": None}


@pytest.mark.parametrize(
    "rows,path",
    [
        ([["2026-01-05", "EMEA", 1], ["not a date", "EMEA", 1]], "/rows/1/0"),
        ([["2026-01-05", "EMEA", "lots"]], "/rows/0/2"),
        ([{"day": "2026-01-05", "amount": "lots"}], "/rows/0/amount"),
        ([{"day": "2026-01-05", "colour": "red"}], "/rows/0/colour"),
        ([["2026-01-05", "EMEA"]], "/rows/0"),
    ],
)
def test_a_bad_row_is_422_naming_row_and_column_and_stores_nothing(editor, rows, path):
    d = create(editor, rows=[["2026-01-01", "x", 1]])
    body = problem(editor.post(f"/datasets/{d['id']}/rows", json={"rows": [*rows]}), 422, "invalid_rows")
    assert path in [e["path"] for e in body["errors"]]
    assert editor.get(f"/datasets/{d['id']}").json() == d
    assert len(editor.get(f"/datasets/{d['id']}/rows").json()["items"]) == 1
    problem(editor.post("/datasets", json={"name": "n", "columns": COLUMNS, "rows": rows}), 422, "invalid_rows")
    assert editor.get("/datasets").json()["total"] == 1


@pytest.mark.parametrize("body", [b"day,amount\n2026-01-01,1\n", b"", b"\xff\xfe"])
def test_bad_csv_is_refused_and_stores_nothing(editor, body):
    d = create(editor)
    response = editor.post(f"/datasets/{d['id']}/rows", content=body, headers={"Content-Type": "text/csv"})
    assert response.status_code in (400, 422), response.text
    assert editor.get(f"/datasets/{d['id']}").json()["row_count"] == 0


def test_duplicate_column_names_are_refused(editor):
    response = editor.post("/datasets", json={"name": "x", "columns": [COLUMNS[0], COLUMNS[0]]})
    problem(response, 422, "invalid_columns")
    assert editor.get("/datasets").json()["total"] == 0


def test_delete(editor):
    d = create(editor, rows=[["2026-01-01", "x", 1]])
    assert editor.delete(f"/datasets/{d['id']}").status_code == 204
    problem(editor.get(f"/datasets/{d['id']}"), 404, "dataset_not_found")
    problem(editor.get(f"/datasets/{d['id']}/rows"), 404, "dataset_not_found")


def test_reads_for_members_writes_for_editors_and_dataset_edit(world):
    org = world.org()
    _, editor = world.user(org=org, role="editor")
    d = create(editor)
    _, viewer = world.user(org=org, role="viewer")
    assert viewer.get(f"/datasets/{d['id']}").status_code == 200
    assert viewer.get(f"/datasets/{d['id']}/rows").status_code == 200
    problem(viewer.post("/datasets", json={"name": "x", "columns": COLUMNS}), 403, "permission_denied")
    problem(viewer.post(f"/datasets/{d['id']}/rows", json={"rows": [["2026-01-01", "x", 1]]}), 403, "permission_denied")
    problem(viewer.delete(f"/datasets/{d['id']}"), 403, "permission_denied")
    _, granted = world.user(org=org, role="viewer", permissions=("dataset.edit",))
    assert granted.post(f"/datasets/{d['id']}/rows", json={"rows": [["2026-01-01", "x", 1]]}).status_code == 200
    for outsider in (world.user(org=org, role="admin", project="other")[1], world.user(role="admin")[1]):
        problem(outsider.get(f"/datasets/{d['id']}"), 404, "dataset_not_found")
        problem(outsider.delete(f"/datasets/{d['id']}"), 404, "dataset_not_found")
