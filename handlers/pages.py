from typing import Any

from connexion import NoContent

from handlers import serializers
from handlers.common import Answer, conditional, dashboard_to_change, etag, located
from models import pages
from models.access import Principal, dashboard_for


def get_page(user: Principal, dashboard_id: int, page_number: int, if_none_match: str | None = None) -> Answer:
    dashboard = dashboard_for(user, dashboard_id)
    page = pages.page_at(dashboard, page_number)  # a page that does not exist is 404 whatever the tag
    return conditional(if_none_match, etag(dashboard.version), lambda: serializers.page(page))


def create_page(user: Principal, dashboard_id: int, body: dict[str, Any], if_match: str | None = None) -> Answer:
    dashboard = dashboard_to_change(user, dashboard_id, if_match)
    page = pages.add_page(dashboard, body["name"], body.get("position"))
    path = f"/dashboards/{dashboard.id}/pages/{page.position}"
    return located(serializers.page(page), path, ETag=etag(dashboard.version))


def update_page(
    user: Principal, dashboard_id: int, page_number: int, body: dict[str, Any], if_match: str | None = None
) -> Answer:
    dashboard = dashboard_to_change(user, dashboard_id, if_match)
    page = pages.page_at(dashboard, page_number)
    if "position" in body:
        pages.move_page(page, body["position"])
    page.name = body.get("name", page.name)
    page.save()
    return serializers.page(page), 200, {"ETag": etag(dashboard.version)}


def delete_page(user: Principal, dashboard_id: int, page_number: int, if_match: str | None = None) -> Answer:
    dashboard = dashboard_to_change(user, dashboard_id, if_match)
    pages.delete_page(pages.page_at(dashboard, page_number))
    return NoContent, 204
