from typing import Any

from connexion import NoContent

from handlers import serializers
from handlers.common import Answer, conditional, etag, located, long_running
from models import dataset_tables
from models.access import Principal, require_dataset_edit
from models.datasets import Dataset


def list_datasets(user: Principal, limit: int, offset: int, q: str | None = None) -> Answer:
    rows, total = Dataset.listed(user.project_id, limit, offset, q)
    return serializers.paged(serializers.dataset, rows, total, limit, offset)


def get_dataset(user: Principal, dataset_id: int, if_none_match: str | None = None) -> Answer:
    row = Dataset.in_project(user.project_id, dataset_id)
    return conditional(if_none_match, etag(row.version), lambda: serializers.dataset(row))


@long_running
def create_dataset(user: Principal, body: dict[str, Any]) -> Answer:
    require_dataset_edit(user)
    row = dataset_tables.create_dataset(user.project_id, body["name"], body["columns"], body.get("description", ""))
    if body.get("rows"):
        dataset_tables.append_rows(row, body["rows"])
    return located(serializers.dataset(row), f"/datasets/{row.id}")


@long_running
def delete_dataset(user: Principal, dataset_id: int) -> Answer:
    require_dataset_edit(user)
    row = Dataset.in_project(user.project_id, dataset_id)
    dataset_tables.drop_table(row)
    row.delete_instance()
    return NoContent, 204


@long_running
def append_rows(user: Principal, dataset_id: int, body: dict[str, Any] | bytes | str) -> Answer:
    require_dataset_edit(user)
    row = Dataset.in_project(user.project_id, dataset_id)
    # A JSON body arrives validated as {"rows": [...]}; a CSV body as its raw bytes (none: {}).
    if isinstance(body, dict) and body:
        appended = dataset_tables.append_rows(row, body["rows"])
    else:
        csv = body if isinstance(body, (bytes, str)) else b""
        appended = dataset_tables.append_rows(row, dataset_tables.csv_body_rows(csv, row.columns), named_cells=True)
    return serializers.rows_appended(row, appended)


@long_running
def preview_rows(user: Principal, dataset_id: int, limit: int, offset: int, if_none_match: str | None = None) -> Answer:
    """Rows only ever change by an append, which moves the dataset's version: it tags the rows too.
    They are read after the dataset, so an answer is never older than its tag."""
    row = Dataset.in_project(user.project_id, dataset_id)
    return conditional(
        if_none_match,
        etag(row.version),
        lambda: serializers.row_page(row, dataset_tables.preview_rows(row, limit, offset), limit, offset),
    )
