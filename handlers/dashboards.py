from connexion import NoContent

from handlers import serializers
from handlers.common import conditional, dashboard_to_change, etag, located
from models.access import dashboard_for, dashboard_list, require_create_content
from models.content import Collection, Dashboard
from models.duplicate import duplicate_dashboard as duplicate
from models.parameters import validate_definitions


def list_dashboards(user, limit, offset, collection_id=None, q=None):
    rows, total = dashboard_list(user, limit, offset, collection_id, q)
    return serializers.paged([serializers.dashboard_of(row) for row in rows], total, limit, offset)


def get_dashboard(user, dashboard_id, if_none_match=None):
    row = dashboard_for(user, dashboard_id)
    # The answer is kept encoded by version; a 304 neither reads nor encodes the contents.
    return conditional(if_none_match, etag(row.version), lambda: serializers.dashboard_detail_encoded(row))


def create_dashboard(user, body):
    require_create_content(user)
    row = Dashboard.create_with_first_page(
        project=user.project_id,
        owner=user.user_id,
        collection=Collection.referenced(user.project_id, body.get("collection_id"), "collection_id"),
        name=body["name"],
        description=body.get("description", ""),
        parameters=validate_definitions(body.get("parameters", [])),
        default_audience=body.get("default_audience", "private"),
    )
    return located(serializers.dashboard_detail(row), f"/dashboards/{row.id}", ETag=etag(row.version))


def update_dashboard(user, dashboard_id, body, if_match=None):
    row = dashboard_to_change(user, dashboard_id, if_match)
    row.apply_changes(body)
    return serializers.dashboard_detail(row), 200, {"ETag": etag(row.version)}


def delete_dashboard(user, dashboard_id, if_match=None):
    dashboard_to_change(user, dashboard_id, if_match).delete_instance()
    return NoContent, 204


def duplicate_dashboard(user, dashboard_id, body=None):
    source = dashboard_for(user, dashboard_id)
    require_create_content(user)
    body = body or {}
    collection_id = body["collection_id"] if "collection_id" in body else source.collection_id
    collection = Collection.referenced(user.project_id, collection_id, "collection_id")
    row = duplicate(source, user.user_id, body.get("name"), collection)
    return located(serializers.dashboard_detail(row), f"/dashboards/{row.id}", ETag=etag(row.version))
