from typing import Any

from handlers import serializers
from handlers.common import Answer, etag, located
from models import templates
from models.access import Principal, require_create_content
from models.content import Collection, contents_of
from models.datasets import Dataset


def list_templates(user: Principal, limit: int, offset: int) -> Answer:
    # Built from files shipped with the code, by id: a handful, summarized whole before the window.
    return serializers.window(serializers.template, templates.all_templates(), limit, offset)


def create_from_template(user: Principal, body: dict[str, Any]) -> Answer:
    require_create_content(user)
    tpl = templates.template(body["template_id"])
    dataset = Dataset.named_in_body(user.project_id, body["dataset_id"], "dataset_id")
    collection = Collection.referenced(user.project_id, body.get("collection_id"), "collection_id")
    row = templates.instantiate(
        tpl,
        dataset,
        body.get("bindings", {}),
        project=user.project_id,
        owner=user.user_id,
        name=body["name"],
        collection=collection,
    )
    return located(serializers.dashboard_detail(row, contents_of(row)), f"/dashboards/{row.id}", ETag=etag(row.version))
