from typing import Any

from connexion import NoContent

from handlers import serializers
from handlers.common import Answer, conditional, dashboard_to_change, etag, located
from models import render
from models.access import Principal, dashboard_for, dashboard_list, require_create_content
from models.content import Collection, Dashboard, contents_of
from models.duplicate import duplicate_dashboard as duplicate
from models.parameters import validate_definitions


def list_dashboards(
    user: Principal, limit: int, offset: int, collection_id: int | None = None, q: str | None = None
) -> Answer:
    rows, total = dashboard_list(user, limit, offset, collection_id, q)
    return serializers.paged(serializers.dashboard_of, rows, total, limit, offset)


def get_dashboard(user: Principal, dashboard_id: int, if_none_match: str | None = None) -> Answer:
    row = dashboard_for(user, dashboard_id)
    # The answer is kept encoded by version; a 304 neither reads nor encodes the contents.
    return conditional(if_none_match, etag(row.version), lambda: _kept_detail(row))


def _kept_detail(row: Dashboard) -> bytes:
    """GET one dashboard's answer as JSON bytes, kept by the dashboard's version (every change of
    its pages, cards and shares bumps it) and creation time (a store made again reuses ids).

    The contents are read after the row, so an answer kept under a version is never older than
    it: a write racing the read can only make it newer, and a newer version has a key of its own.
    """
    key = f"{row.id}:{row.created_at.isoformat()}:{row.version}"
    return render.renderer().kept("dashboard", key, lambda: (_detail(row), True))


def _detail(row: Dashboard) -> serializers.DashboardDetailBody:
    return serializers.dashboard_detail(row, contents_of(row))


def create_dashboard(user: Principal, body: dict[str, Any]) -> Answer:
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
    return located(_detail(row), f"/dashboards/{row.id}", ETag=etag(row.version))


def update_dashboard(user: Principal, dashboard_id: int, body: dict[str, Any], if_match: str | None = None) -> Answer:
    row = dashboard_to_change(user, dashboard_id, if_match)
    row.apply_changes(body)
    return _detail(row), 200, {"ETag": etag(row.version)}


def delete_dashboard(user: Principal, dashboard_id: int, if_match: str | None = None) -> Answer:
    dashboard_to_change(user, dashboard_id, if_match).delete_instance()
    return NoContent, 204


def duplicate_dashboard(user: Principal, dashboard_id: int, body: dict[str, Any] | None = None) -> Answer:
    source = dashboard_for(user, dashboard_id)
    require_create_content(user)
    body = body or {}
    collection_id = body.get("collection_id", source.collection_id)
    collection = Collection.referenced(user.project_id, collection_id, "collection_id")
    row = duplicate(source, user.user_id, body.get("name"), collection)
    return located(_detail(row), f"/dashboards/{row.id}", ETag=etag(row.version))
