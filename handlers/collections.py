from typing import Any

from connexion import NoContent

from handlers import serializers
from handlers.common import Answer, located
from models.access import Principal, require_create_content
from models.content import Collection


def list_collections(user: Principal, limit: int, offset: int, parent_id: int | None = None) -> Answer:
    rows, total = Collection.listed(user.project_id, limit, offset, parent_id)
    return serializers.paged(serializers.collection, rows, total, limit, offset)


def get_collection(user: Principal, collection_id: int) -> Answer:
    return serializers.collection(Collection.in_project(user.project_id, collection_id))


def create_collection(user: Principal, body: dict[str, Any]) -> Answer:
    require_create_content(user)
    parent = Collection.referenced(user.project_id, body.get("parent_id"), "parent_id")
    row = Collection.create(
        project=user.project_id, parent=parent, name=body["name"], description=body.get("description", "")
    )
    return located(serializers.collection(row), f"/dashboards/collections/{row.id}")


def update_collection(user: Principal, collection_id: int, body: dict[str, Any]) -> Answer:
    require_create_content(user)
    row = Collection.in_project(user.project_id, collection_id)
    if "parent_id" in body:
        row.move_under(Collection.referenced(user.project_id, body["parent_id"], "parent_id"))
    for field in ("name", "description"):
        if field in body:
            setattr(row, field, body[field])
    row.save()
    return serializers.collection(row)


def delete_collection(user: Principal, collection_id: int) -> Answer:
    require_create_content(user)
    row = Collection.in_project(user.project_id, collection_id)
    row.ensure_empty()
    row.delete_instance()
    return NoContent, 204
