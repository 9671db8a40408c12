from typing import Any

from connexion import NoContent

from handlers import serializers
from handlers.common import Answer, conditional, dashboard_to_change, etag, located
from models import cards
from models.access import Principal, dashboard_for


def get_card(user: Principal, dashboard_id: int, card_id: int, if_none_match: str | None = None) -> Answer:
    dashboard = dashboard_for(user, dashboard_id)
    card = cards.card_on(dashboard, card_id)  # a card not on the dashboard is 404 whatever the tag
    return conditional(if_none_match, etag(dashboard.version), lambda: serializers.card(card))


def create_card(user: Principal, dashboard_id: int, body: dict[str, Any], if_match: str | None = None) -> Answer:
    dashboard = dashboard_to_change(user, dashboard_id, if_match)
    card = cards.add_card(dashboard, body["card_type"], body["config"], body.get("page", 1), body.get("layout"))
    return located(serializers.card(card), f"/dashboards/{dashboard.id}/cards/{card.id}", ETag=etag(dashboard.version))


def update_card(
    user: Principal, dashboard_id: int, card_id: int, body: dict[str, Any], if_match: str | None = None
) -> Answer:
    dashboard = dashboard_to_change(user, dashboard_id, if_match)
    card = cards.update_card(dashboard, cards.card_on(dashboard, card_id), body)
    return serializers.card(card), 200, {"ETag": etag(dashboard.version)}


def delete_card(user: Principal, dashboard_id: int, card_id: int, if_match: str | None = None) -> Answer:
    dashboard = dashboard_to_change(user, dashboard_id, if_match)
    cards.card_on(dashboard, card_id).delete_instance()
    return NoContent, 204


def duplicate_card(user: Principal, dashboard_id: int, card_id: int, if_match: str | None = None) -> Answer:
    dashboard = dashboard_to_change(user, dashboard_id, if_match)
    copy = cards.duplicate_card(cards.card_on(dashboard, card_id))
    return located(serializers.card(copy), f"/dashboards/{dashboard.id}/cards/{copy.id}", ETag=etag(dashboard.version))
